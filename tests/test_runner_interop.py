"""Interop with drizzle-kit folders and drizzle-orm's own migrator.

* The real drizzle-kit SQLite history (../shared/data/agor/sqlite-2025-11) applies from an
  empty database, and the bookkeeping rows are the ones drizzle-orm writes.
* Where Node and npm work, drizzle-orm's migrator (sql.js and postgres-js, pure JS/wasm,
  installed with npm into a cache dir under /tmp) and agorschema continue each other's
  databases. Under CI=true a missing npm fails instead of skipping.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import missing, shared_missing
from pg_cluster import connect
from runner_helpers import append_migration, sql_file, sqlite_path, sqlite_rows, write_folder

from agor_schema.journal import read_journal
from agor_schema.runner import migrate, status

NPM_PACKAGES = ("drizzle-orm@0.44.7", "sql.js@1.13.0", "postgres@3.4.7")
SCRIPT = Path(__file__).parent / "js" / "drizzle_migrate.cjs"


def corpus(shared_dir: Path, tmp_path: Path) -> Path:
    source = shared_dir / "data" / "agor" / "sqlite-2025-11"
    if not source.is_dir():
        pytest.skip(shared_missing(source))
    return Path(shutil.copytree(source, tmp_path / "sqlite-2025-11"))


def expected_rows(folder: Path) -> list[tuple]:
    """What drizzle-orm's SQLite migrator writes: (NULL id, sha256 of the file, when)."""
    return [
        (None, hashlib.sha256((folder / f"{e.tag}.sql").read_bytes()).hexdigest(), e.when)
        for e in read_journal(folder).entries
    ]


def schema_objects(path: str | Path) -> list[tuple]:
    return sqlite_rows(path, "SELECT type, name, tbl_name, sql FROM sqlite_master "
                             "WHERE name NOT LIKE '%drizzle_migrations' ORDER BY type, name")


def test_real_drizzle_kit_history_applies(shared_dir: Path, tmp_path: Path,
                                          sqlite_url: str) -> None:
    folder = corpus(shared_dir, tmp_path)
    result = migrate(sqlite_url, folder)
    assert len(result.applied) == 9
    path = sqlite_path(sqlite_url)
    assert sqlite_rows(path, "SELECT id, hash, created_at FROM __drizzle_migrations") \
        == expected_rows(folder)
    # the final schema has the last snapshot's tables and columns (ALTER TABLE ADD appends, so
    # column order follows the history). Indexes are not compared: Agor's hand-written 0009
    # recreates session indexes under other names than its snapshot lists (upstream drift);
    # the Node test below compares the whole schema with drizzle-orm's own result instead.
    snapshot = json.loads((folder / "meta" / "0010_snapshot.json").read_text())
    for name, table in snapshot["tables"].items():
        columns = [r[1] for r in sqlite_rows(path, f"PRAGMA table_info(`{name}`)")]
        assert sorted(columns) == sorted(table["columns"]), name
    user_tables = {r[0] for r in sqlite_rows(
        path, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_\\_%' "
              "ESCAPE '\\'")}
    assert user_tables == set(snapshot["tables"])
    assert status(sqlite_url, folder).problems == []


# --- drizzle-orm's migrator (Node) ---------------------------------------------------------


@pytest.fixture(scope="session")
def drizzle_node() -> Path:
    """NODE_PATH of a cache dir holding drizzle-orm, sql.js and postgres (npm, pure JS)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        missing("Node.js/npm not installed: cannot run drizzle-orm's migrator")
    key = hashlib.sha256(" ".join(NPM_PACKAGES).encode()).hexdigest()[:12]
    cache = Path("/tmp") / f"agorschema-npm-{key}"
    modules = cache / "node_modules"
    if not all((modules / p.rsplit("@", 1)[0] / "package.json").exists() for p in NPM_PACKAGES):
        cache.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--save-exact", "--loglevel=error",
                 *NPM_PACKAGES],
                cwd=cache, capture_output=True, text=True, timeout=300,
            )
        except subprocess.TimeoutExpired:
            missing("npm install of drizzle-orm timed out")
        if done.returncode != 0:
            missing(f"npm install {' '.join(NPM_PACKAGES)} failed: {done.stderr.strip()[-500:]}")
    return modules


def drizzle_migrate(modules: Path, dialect: str, target: str, folder: Path) -> None:
    env = {**os.environ, "NODE_PATH": str(modules)}
    done = subprocess.run(["node", str(SCRIPT), dialect, target, str(folder)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr


def test_corpus_rows_equal_drizzle_orm_rows(drizzle_node: Path, shared_dir: Path,
                                            tmp_path: Path) -> None:
    folder = corpus(shared_dir, tmp_path)
    ours, theirs = tmp_path / "ours.db", tmp_path / "theirs.db"
    migrate(f"sqlite:///{ours}", folder)
    drizzle_migrate(drizzle_node, "sqlite", str(theirs), folder)
    query = "SELECT id, hash, created_at FROM __drizzle_migrations ORDER BY created_at"
    assert sqlite_rows(ours, query) == sqlite_rows(theirs, query) == expected_rows(folder)
    assert schema_objects(ours) == schema_objects(theirs)


SQLITE_HISTORY = [
    ("0000_users", sql_file(
        "CREATE TABLE `users` (\n\t`id` integer PRIMARY KEY NOT NULL,\n\t`email` text NOT NULL\n);\n",
        "CREATE UNIQUE INDEX `users_email_unique` ON `users` (`email`);",
    )),
    ("0001_posts", sql_file(
        "CREATE TABLE `posts` (\n\t`id` integer PRIMARY KEY NOT NULL,\n\t`user_id` integer,\n"
        "\tFOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action "
        "ON DELETE cascade\n);\n",
    )),
]
SQLITE_NEXT = ("0002_bio", "ALTER TABLE `users` ADD `bio` text;")
SQLITE_LAST = ("0003_tags", "CREATE TABLE `tags` (\n\t`name` text PRIMARY KEY NOT NULL\n);\n")


def test_sqlite_drizzle_then_agorschema_then_drizzle(drizzle_node: Path, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", SQLITE_HISTORY)
    db = tmp_path / "app.db"
    url = f"sqlite:///{db}"
    drizzle_migrate(drizzle_node, "sqlite", str(db), folder)  # drizzle-orm applies 0000-0001
    st = status(url, folder)
    assert st.pending == [] and st.problems == []
    append_migration(folder, *SQLITE_NEXT)
    assert migrate(url, folder).applied_tags == ["0002_bio"]  # agorschema continues
    append_migration(folder, *SQLITE_LAST)
    drizzle_migrate(drizzle_node, "sqlite", str(db), folder)  # and drizzle-orm after it
    assert status(url, folder).pending == []
    assert sqlite_rows(db, "SELECT id, hash, created_at FROM __drizzle_migrations "
                           "ORDER BY created_at") == expected_rows(folder)
    assert "bio" in {r[1] for r in sqlite_rows(db, "PRAGMA table_info(users)")}
    assert sqlite_rows(db, "SELECT count(*) FROM sqlite_master WHERE name = 'tags'") == [(1,)]


def test_sqlite_agorschema_folder_accepted_by_drizzle(drizzle_node: Path, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", SQLITE_HISTORY)
    db = tmp_path / "app.db"
    migrate(f"sqlite:///{db}", folder)
    drizzle_migrate(drizzle_node, "sqlite", str(db), folder)  # sees everything applied: no-op
    assert len(sqlite_rows(db, "SELECT * FROM __drizzle_migrations")) == 2
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


PG_HISTORY = [
    ("0000_users", sql_file(
        'CREATE TABLE "users" (\n\t"id" serial PRIMARY KEY NOT NULL,\n\t"email" text NOT NULL\n);\n',
        'CREATE UNIQUE INDEX "users_email_unique" ON "users" USING btree ("email");',
    )),
    ("0001_posts", sql_file(
        'CREATE TABLE "posts" (\n\t"id" serial PRIMARY KEY NOT NULL,\n\t"user_id" integer\n);\n',
        'ALTER TABLE "posts" ADD CONSTRAINT "posts_user_id_users_id_fk" FOREIGN KEY ("user_id") '
        'REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;',
    )),
]


def test_postgres_both_directions(drizzle_node: Path, pg_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "pg", PG_HISTORY, dialect="postgres")
    drizzle_migrate(drizzle_node, "postgres", pg_url, folder)
    st = status(pg_url, folder)
    assert st.pending == [] and st.problems == []
    append_migration(folder, "0002_bio", 'ALTER TABLE "users" ADD COLUMN "bio" text;')
    assert migrate(pg_url, folder).applied_tags == ["0002_bio"]
    append_migration(folder, "0003_tags", 'CREATE TABLE "tags" ("name" text PRIMARY KEY);')
    drizzle_migrate(drizzle_node, "postgres", pg_url, folder)
    with connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT id, hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id"
        ).fetchall()
    assert rows == [
        (n + 1, hashlib.sha256((folder / f"{e.tag}.sql").read_bytes()).hexdigest(), e.when)
        for n, e in enumerate(read_journal(folder).entries)
    ]
    assert status(pg_url, folder).pending == []
