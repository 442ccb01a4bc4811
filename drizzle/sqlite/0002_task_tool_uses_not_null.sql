PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_tasks` (
	`task_id` text(36) PRIMARY KEY NOT NULL,
	`session_id` text(36) NOT NULL,
	`prompt` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`tool_uses` integer DEFAULT 0 NOT NULL,
	`report` text,
	`started_at` integer,
	`finished_at` integer,
	`deadline_at` integer DEFAULT (CAST(ROUND((JULIANDAY('now') - 2440587.5) * 86400000) AS INTEGER) + 86400000),
	`created_at` integer DEFAULT (CAST(ROUND((JULIANDAY('now') - 2440587.5) * 86400000) AS INTEGER)) NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`session_id`) ON UPDATE cascade ON DELETE cascade,
	CONSTRAINT "tasks_finished_after_start" CHECK("finished_at" IS NULL OR "started_at" IS NULL OR "finished_at" >= "started_at"),
	CONSTRAINT "tasks_status_enum" CHECK("status" IN ('pending', 'running', 'done', 'failed'))
);
--> statement-breakpoint
INSERT INTO `__new_tasks`("task_id", "session_id", "prompt", "status", "tool_uses", "report", "started_at", "finished_at", "deadline_at", "created_at") SELECT "task_id", "session_id", "prompt", "status", COALESCE("tool_uses", 0), "report", "started_at", "finished_at", "deadline_at", "created_at" FROM `tasks`;--> statement-breakpoint
DROP TABLE `tasks`;--> statement-breakpoint
ALTER TABLE `__new_tasks` RENAME TO `tasks`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `tasks_session_idx` ON `tasks` (`session_id`);