ALTER TABLE "users" RENAME COLUMN "name" TO "display_name";--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "deadline_at" timestamp with time zone DEFAULT CURRENT_TIMESTAMP + INTERVAL '1 DAY';