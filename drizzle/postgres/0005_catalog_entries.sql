CREATE TABLE "catalog_entries" (
	"workspace_id" text NOT NULL,
	"entry_id" varchar(36) NOT NULL,
	"owner_user_id" varchar(36),
	"catalog_entry_name" text NOT NULL,
	"kind" text DEFAULT 'prompt' NOT NULL,
	"slug" text,
	"body" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"uses" integer DEFAULT 0 NOT NULL,
	"stars" integer DEFAULT 0 NOT NULL,
	"score" integer GENERATED ALWAYS AS ("uses" + 10 * "stars") STORED,
	"is_public" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "catalog_entries_key" PRIMARY KEY("workspace_id","entry_id"),
	CONSTRAINT "catalog_entries_slug_key" UNIQUE NULLS NOT DISTINCT("slug"),
	CONSTRAINT "catalog_entries_kind_name_key" UNIQUE("workspace_id","kind","catalog_entry_name"),
	CONSTRAINT "catalog_entries_uses_nonnegative" CHECK (uses >= 0),
	CONSTRAINT "catalog_entries_kind_enum" CHECK ("kind" IN ('prompt', 'preset', 'mcp'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "catalog_entries_owner_name_uq" ON "catalog_entries" USING btree ("workspace_id",(COALESCE("owner_user_id", '')),"catalog_entry_name");--> statement-breakpoint
CREATE INDEX "catalog_entries_body_idx" ON "catalog_entries" USING gin ("body" jsonb_path_ops);--> statement-breakpoint
CREATE INDEX "catalog_entries_top_idx" ON "catalog_entries" USING btree ("workspace_id","score" DESC NULLS LAST) WITH (fillfactor=80);--> statement-breakpoint
CREATE INDEX "catalog_entries_name_prefix_idx" ON "catalog_entries" USING btree ("catalog_entry_name" text_pattern_ops);--> statement-breakpoint
CREATE INDEX "catalog_entries_public_idx" ON "catalog_entries" USING btree ("workspace_id") WHERE is_public IS TRUE;--> statement-breakpoint
CREATE INDEX "catalog_entries_created_brin" ON "catalog_entries" USING brin ("created_at");--> statement-breakpoint
ALTER TABLE "catalog_entries" ADD CONSTRAINT "catalog_entries_owner_user_id_users_user_id_fk" FOREIGN KEY ("owner_user_id") REFERENCES "public"."users"("user_id") ON DELETE set null ON UPDATE no action;