CREATE TABLE `catalog_entries` (
	`workspace_id` text NOT NULL,
	`entry_id` text(36) NOT NULL,
	`owner_user_id` text(36),
	`catalog_entry_name` text NOT NULL,
	`kind` text DEFAULT 'prompt' NOT NULL,
	`slug` text,
	`body` text DEFAULT '{}' NOT NULL,
	`uses` integer DEFAULT 0 NOT NULL,
	`stars` integer DEFAULT 0 NOT NULL,
	`score` integer GENERATED ALWAYS AS ("uses" + 10 * "stars") STORED,
	`name_key` text GENERATED ALWAYS AS (LOWER("catalog_entry_name")) VIRTUAL,
	`is_public` integer DEFAULT false NOT NULL,
	`created_at` integer DEFAULT (CAST(ROUND((JULIANDAY('now') - 2440587.5) * 86400000) AS INTEGER)) NOT NULL,
	PRIMARY KEY(`workspace_id`, `entry_id`),
	FOREIGN KEY (`owner_user_id`) REFERENCES `users`(`user_id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "catalog_entries_uses_nonnegative" CHECK(uses >= 0),
	CONSTRAINT "catalog_entries_kind_enum" CHECK("kind" IN ('prompt', 'preset', 'mcp'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `catalog_entries_slug_key` ON `catalog_entries` (`slug`);--> statement-breakpoint
CREATE UNIQUE INDEX `catalog_entries_kind_name_key` ON `catalog_entries` (`workspace_id`,`kind`,`catalog_entry_name`);--> statement-breakpoint
CREATE UNIQUE INDEX `catalog_entries_owner_name_uq` ON `catalog_entries` (`workspace_id`,(COALESCE("owner_user_id", '')),`catalog_entry_name`);--> statement-breakpoint
CREATE INDEX `catalog_entries_top_idx` ON `catalog_entries` (`workspace_id`,`score`);--> statement-breakpoint
CREATE INDEX `catalog_entries_name_prefix_idx` ON `catalog_entries` (`catalog_entry_name`);--> statement-breakpoint
CREATE INDEX `catalog_entries_public_idx` ON `catalog_entries` (`workspace_id`) WHERE is_public = 1;