CREATE TABLE `labels` (
	`label_id` integer PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`scope` text DEFAULT 'board' NOT NULL,
	`colors` text DEFAULT '["gray"]' NOT NULL,
	`aliases` text DEFAULT '[]' NOT NULL,
	`owner_ids` text,
	`weights` text,
	`position` integer DEFAULT 0 NOT NULL,
	`meta` text DEFAULT '{}' NOT NULL,
	`created_at` integer DEFAULT (CAST(ROUND((JULIANDAY('now') - 2440587.5) * 86400000) AS INTEGER)) NOT NULL,
	`local_day` integer,
	`touched_at` integer DEFAULT (CAST(ROUND((JULIANDAY('now') - 2440587.5) * 86400000) AS INTEGER)),
	CONSTRAINT "labels_scope_enum" CHECK("scope" IN ('board', 'session', 'worktree'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `labels_name_unique` ON `labels` (`name`);--> statement-breakpoint
CREATE INDEX `labels_scope_idx` ON `labels` (`scope`);--> statement-breakpoint
CREATE TABLE `label_events` (
	`event_id` integer PRIMARY KEY NOT NULL,
	`label_id` integer NOT NULL,
	`happened_at` integer DEFAULT (CAST(ROUND((JULIANDAY('now') - 2440587.5) * 86400000) AS INTEGER)) NOT NULL,
	FOREIGN KEY (`label_id`) REFERENCES `labels`(`label_id`) ON UPDATE no action ON DELETE cascade
);
