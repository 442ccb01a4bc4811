CREATE TABLE `users` (
	`user_id` text(36) PRIMARY KEY NOT NULL,
	`email` text NOT NULL,
	`name` text,
	`is_admin` integer DEFAULT false NOT NULL,
	`role` text DEFAULT 'member' NOT NULL,
	`preferences` text DEFAULT '{"theme":"system","notifications":true}' NOT NULL,
	`avatar` blob,
	`created_at` integer DEFAULT (CAST(ROUND((JULIANDAY('now') - 2440587.5) * 86400000) AS INTEGER)) NOT NULL,
	`updated_at` integer,
	CONSTRAINT "users_email_has_at" CHECK("email" LIKE '%@%'),
	CONSTRAINT "users_role_enum" CHECK("role" IN ('owner', 'admin', 'member', 'viewer'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_email_unique` ON `users` (`email`);--> statement-breakpoint
CREATE INDEX `users_created_idx` ON `users` (`created_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `users_email_lower_idx` ON `users` ((LOWER("email")));--> statement-breakpoint
CREATE INDEX `users_admin_recent_idx` ON `users` (`created_at`) WHERE "is_admin" = 1;--> statement-breakpoint
CREATE TABLE `repos` (
	`repo_id` text(36) PRIMARY KEY DEFAULT ((LOWER(HEX(RANDOMBLOB(4))) || '-' || LOWER(HEX(RANDOMBLOB(2))) || '-4' || SUBSTRING(LOWER(HEX(RANDOMBLOB(2))), 2) || '-' || SUBSTRING('89ab', 1 + (ABS(RANDOM()) % 4), 1) || SUBSTRING(LOWER(HEX(RANDOMBLOB(2))), 2) || '-' || LOWER(HEX(RANDOMBLOB(6))))) NOT NULL,
	`slug` text(120) NOT NULL,
	`remote_url` text,
	`repo_type` text DEFAULT 'remote' NOT NULL,
	`default_branch` text DEFAULT 'main' NOT NULL,
	`size_bytes` integer DEFAULT 0 NOT NULL,
	`created_by` text(36),
	`created_at` integer DEFAULT (CAST(ROUND((JULIANDAY('now') - 2440587.5) * 86400000) AS INTEGER)) NOT NULL,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`user_id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "repos_repo_type_enum" CHECK("repo_type" IN ('remote', 'local'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `repos_slug_unique` ON `repos` (`slug`);--> statement-breakpoint
CREATE INDEX `repos_type_idx` ON `repos` (`repo_type`);--> statement-breakpoint
CREATE TABLE `worktrees` (
	`worktree_id` text(36) PRIMARY KEY NOT NULL,
	`repo_id` text(36) NOT NULL,
	`name` text NOT NULL,
	`path` text NOT NULL,
	`ref` text DEFAULT 'main' NOT NULL,
	`archived` integer DEFAULT false NOT NULL,
	`archived_at` integer,
	`created_at` integer DEFAULT (CAST(ROUND((JULIANDAY('now') - 2440587.5) * 86400000) AS INTEGER)) NOT NULL,
	`data` text DEFAULT '{}' NOT NULL,
	FOREIGN KEY (`repo_id`) REFERENCES `repos`(`repo_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `worktrees_repo_idx` ON `worktrees` (`repo_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `worktrees_repo_name_uq` ON `worktrees` (`repo_id`,`name`) WHERE "archived" = 0;--> statement-breakpoint
CREATE TABLE `sessions` (
	`session_id` text(36) PRIMARY KEY NOT NULL,
	`parent_session_id` text(36),
	`worktree_id` text(36),
	`created_by` text(36) DEFAULT 'anonymous' NOT NULL,
	`agentic_tool` text NOT NULL,
	`status` text DEFAULT 'idle' NOT NULL,
	`title` text,
	`ready_for_prompt` integer DEFAULT true NOT NULL,
	`cost_usd` numeric DEFAULT 0 NOT NULL,
	`temperature` real,
	`latency_ms` real,
	`started_on` text,
	`last_active_at` integer DEFAULT (CAST(ROUND((JULIANDAY('now') - 2440587.5) * 86400000) AS INTEGER)) NOT NULL,
	`created_at` integer DEFAULT (CAST(ROUND((JULIANDAY('now') - 2440587.5) * 86400000) AS INTEGER)) NOT NULL,
	`data` text DEFAULT '{}' NOT NULL,
	FOREIGN KEY (`parent_session_id`) REFERENCES `sessions`(`session_id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`worktree_id`) REFERENCES `worktrees`(`worktree_id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "sessions_cost_nonnegative" CHECK("cost_usd" >= 0),
	CONSTRAINT "sessions_temperature_range" CHECK("temperature" IS NULL OR ("temperature" >= 0 AND "temperature" <= 2)),
	CONSTRAINT "sessions_agentic_tool_enum" CHECK("agentic_tool" IN ('claude-code', 'codex', 'gemini', 'opencode')),
	CONSTRAINT "sessions_status_enum" CHECK("status" IN ('idle', 'running', 'completed', 'failed'))
);
--> statement-breakpoint
CREATE INDEX `sessions_status_idx` ON `sessions` (`status`);--> statement-breakpoint
CREATE INDEX `sessions_worktree_idx` ON `sessions` (`worktree_id`);--> statement-breakpoint
CREATE INDEX `sessions_parent_idx` ON `sessions` (`parent_session_id`);--> statement-breakpoint
CREATE INDEX `sessions_active_idx` ON `sessions` (`last_active_at`) WHERE NOT "status" IN ('completed', 'failed');--> statement-breakpoint
CREATE TABLE `tasks` (
	`task_id` text(36) PRIMARY KEY NOT NULL,
	`session_id` text(36) NOT NULL,
	`prompt` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`tool_uses` integer,
	`report` text,
	`started_at` integer,
	`finished_at` integer,
	`created_at` integer DEFAULT (CAST(ROUND((JULIANDAY('now') - 2440587.5) * 86400000) AS INTEGER)) NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`session_id`) ON UPDATE cascade ON DELETE cascade,
	CONSTRAINT "tasks_finished_after_start" CHECK("finished_at" IS NULL OR "started_at" IS NULL OR "finished_at" >= "started_at"),
	CONSTRAINT "tasks_status_enum" CHECK("status" IN ('pending', 'running', 'done', 'failed'))
);
--> statement-breakpoint
CREATE INDEX `tasks_session_idx` ON `tasks` (`session_id`);--> statement-breakpoint
CREATE TABLE `messages` (
	`message_id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`session_id` text(36) NOT NULL,
	`task_id` text(36),
	`queue_position` integer NOT NULL,
	`role` text NOT NULL,
	`content` text DEFAULT '[]' NOT NULL,
	`content_preview` text,
	`tokens` integer DEFAULT 0 NOT NULL,
	`created_at` integer DEFAULT (CAST(ROUND((JULIANDAY('now') - 2440587.5) * 86400000) AS INTEGER)) NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`session_id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`task_id`) REFERENCES `tasks`(`task_id`) ON UPDATE no action ON DELETE set null,
	CONSTRAINT "messages_role_enum" CHECK("role" IN ('user', 'assistant', 'system', 'tool'))
);
--> statement-breakpoint
CREATE INDEX `messages_queue_idx` ON `messages` (`session_id`,`queue_position`);--> statement-breakpoint
CREATE INDEX `messages_recent_idx` ON `messages` (`created_at`) WHERE "created_at" > 1704067200000;--> statement-breakpoint
CREATE TABLE `boards` (
	`board_id` text(36) PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`slug` text NOT NULL,
	`icon` text DEFAULT '📋',
	`color` text(7) DEFAULT '#3b82f6',
	`created_by` text(36) DEFAULT 'anonymous' NOT NULL,
	`created_at` integer DEFAULT (CAST(ROUND((JULIANDAY('now') - 2440587.5) * 86400000) AS INTEGER)) NOT NULL,
	`data` text DEFAULT '{"layout":"grid","zoom":1.0}' NOT NULL,
	CONSTRAINT "boards_color_hex" CHECK("color" IS NULL OR "color" LIKE '#%')
);
--> statement-breakpoint
CREATE UNIQUE INDEX `boards_slug_unique` ON `boards` (`slug`);--> statement-breakpoint
CREATE TABLE `board_objects` (
	`object_id` text(36) PRIMARY KEY NOT NULL,
	`board_id` text(36) NOT NULL,
	`session_id` text(36),
	`worktree_id` text(36),
	`kind` text NOT NULL,
	`x` real DEFAULT 0 NOT NULL,
	`y` real DEFAULT 0 NOT NULL,
	`created_at` integer DEFAULT (CAST(ROUND((JULIANDAY('now') - 2440587.5) * 86400000) AS INTEGER)) NOT NULL,
	FOREIGN KEY (`board_id`) REFERENCES `boards`(`board_id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`session_id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`worktree_id`) REFERENCES `worktrees`(`worktree_id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "board_objects_has_target" CHECK("kind" IN ('note', 'zone') OR "session_id" IS NOT NULL OR "worktree_id" IS NOT NULL),
	CONSTRAINT "board_objects_kind_enum" CHECK("kind" IN ('session', 'worktree', 'note', 'zone'))
);
--> statement-breakpoint
CREATE INDEX `board_objects_board_idx` ON `board_objects` (`board_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `board_objects_session_uq` ON `board_objects` (`board_id`,`session_id`) WHERE "session_id" IS NOT NULL;--> statement-breakpoint
CREATE TABLE `board_comments` (
	`comment_id` text(36) PRIMARY KEY NOT NULL,
	`board_id` text(36) NOT NULL,
	`parent_comment_id` text(36),
	`author_id` text(36),
	`body` text NOT NULL,
	`resolved` integer DEFAULT false NOT NULL,
	`reactions` text DEFAULT '[]' NOT NULL,
	`created_at` integer DEFAULT (CAST(ROUND((JULIANDAY('now') - 2440587.5) * 86400000) AS INTEGER)) NOT NULL,
	FOREIGN KEY (`board_id`) REFERENCES `boards`(`board_id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`parent_comment_id`) REFERENCES `board_comments`(`comment_id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`author_id`) REFERENCES `users`(`user_id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `board_comments_board_idx` ON `board_comments` (`board_id`);--> statement-breakpoint
CREATE INDEX `board_comments_open_idx` ON `board_comments` (`board_id`) WHERE "resolved" = 0;--> statement-breakpoint
CREATE TABLE `mcp_servers` (
	`mcp_server_id` text(36) PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`transport` text DEFAULT 'stdio' NOT NULL,
	`command` text,
	`url` text,
	`enabled` integer DEFAULT true NOT NULL,
	`env` text DEFAULT '{}' NOT NULL,
	`created_at` integer DEFAULT (CAST(ROUND((JULIANDAY('now') - 2440587.5) * 86400000) AS INTEGER)) NOT NULL,
	CONSTRAINT "mcp_servers_has_endpoint" CHECK("command" IS NOT NULL OR "url" IS NOT NULL),
	CONSTRAINT "mcp_servers_transport_enum" CHECK("transport" IN ('stdio', 'http', 'sse'))
);
--> statement-breakpoint
CREATE INDEX `mcp_servers_name_idx` ON `mcp_servers` (`name`);--> statement-breakpoint
CREATE INDEX `mcp_servers_enabled_idx` ON `mcp_servers` (`enabled`) WHERE "enabled" = 1;--> statement-breakpoint
CREATE TABLE `session_mcp_servers` (
	`session_id` text(36) NOT NULL,
	`mcp_server_id` text(36) NOT NULL,
	`added_at` integer DEFAULT (CAST(ROUND((JULIANDAY('now') - 2440587.5) * 86400000) AS INTEGER)) NOT NULL,
	PRIMARY KEY(`session_id`, `mcp_server_id`),
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`session_id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`mcp_server_id`) REFERENCES `mcp_servers`(`mcp_server_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `session_mcp_servers_server_idx` ON `session_mcp_servers` (`mcp_server_id`);--> statement-breakpoint
CREATE TABLE `session_tags` (
	`session_id` text(36) NOT NULL,
	`tag` text NOT NULL,
	`color` text(7),
	PRIMARY KEY(`session_id`, `tag`),
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`session_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `tag_notes` (
	`note_id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`session_id` text(36) NOT NULL,
	`tag` text NOT NULL,
	`note` text NOT NULL,
	FOREIGN KEY (`session_id`,`tag`) REFERENCES `session_tags`(`session_id`,`tag`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `local_cache` (
	`cache_key` text PRIMARY KEY NOT NULL,
	`value` blob NOT NULL,
	`expires_at` integer,
	`hits` integer DEFAULT 1 NOT NULL
);
