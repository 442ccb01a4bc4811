CREATE EXTENSION IF NOT EXISTS "citext";--> statement-breakpoint
CREATE TYPE "public"."label_color" AS ENUM('gray', 'red', 'green', 'blue');--> statement-breakpoint
CREATE TYPE "public"."label_scope" AS ENUM('board', 'session', 'worktree');--> statement-breakpoint
CREATE TABLE "labels" (
	"label_id" serial PRIMARY KEY NOT NULL,
	"name" citext NOT NULL,
	"scope" "label_scope" DEFAULT 'board' NOT NULL,
	"colors" "label_color"[] DEFAULT '{"gray"}' NOT NULL,
	"aliases" text[] DEFAULT '{}' NOT NULL,
	"owner_ids" varchar(36)[],
	"weights" integer[][],
	"position" smallint DEFAULT 0 NOT NULL,
	"meta" json DEFAULT '{}'::json NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"local_day" timestamp,
	"touched_at" timestamp (6) DEFAULT now(),
	"search" tsvector,
	CONSTRAINT "labels_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "label_events" (
	"event_id" bigserial PRIMARY KEY NOT NULL,
	"label_id" integer NOT NULL,
	"batch_no" smallserial NOT NULL,
	"happened_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "labels_scope_idx" ON "labels" USING btree ("scope");--> statement-breakpoint
ALTER TABLE "label_events" ADD CONSTRAINT "label_events_label_id_labels_label_id_fk" FOREIGN KEY ("label_id") REFERENCES "public"."labels"("label_id") ON DELETE cascade ON UPDATE no action;