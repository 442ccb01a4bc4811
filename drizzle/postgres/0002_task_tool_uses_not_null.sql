ALTER TABLE "tasks" ALTER COLUMN "tool_uses" SET DEFAULT 0;--> statement-breakpoint
UPDATE "tasks" SET "tool_uses" = 0 WHERE "tool_uses" IS NULL;--> statement-breakpoint
ALTER TABLE "tasks" ALTER COLUMN "tool_uses" SET NOT NULL;