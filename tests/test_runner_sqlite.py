"""The runner against real SQLite files: apply, atomicity, FK-safe rebuilds, problems."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from runner_helpers import (
    BASE_WHEN,
    append_migration,
    sql_file,
    sqlite_path,
    sqlite_rows,
    write_folder,
)

from agor_schema.dialects import runtime_for_url
from agor_schema.journal import read_journal, write_journal
from agor_schema.runner import (
    LockTimeoutError,
    MigrationFailed,
    MigrationRefused,
    RunnerInputError,
    migrate,
    status,
)

USERS = (
    "CREATE TABLE `users` (\n\t`id` integer PRIMARY KEY NOT NULL,\n\t`email` text NOT NULL\n);\n"
)
POSTS = (
    "CREATE TABLE `posts` (\n\t`id` integer PRIMARY KEY NOT NULL,\n"
    "\t`user_id` integer NOT NULL,\n\t`title` text,\n"
    "\tFOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade\n"
    ");\n"
)
SEED = "INSERT INTO users VALUES (1, 'a@x'), (2, 'a@x');"
SEED_POSTS = "INSERT INTO posts VALUES (10, 1, 'p1'), (11, 2, 'p2');"


def tables(url: str) -> set[str]:
    rows = sqlite_rows(sqlite_path(url), "SELECT name FROM sqlite_master WHERE type='table'")
    return {r[0] for r in rows}


def records(url: str) -> list[tuple]:
    return sqlite_rows(sqlite_path(url), "SELECT id, hash, created_at FROM __drizzle_migrations")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "drizzle", [
        ("0000_init", sql_file(USERS, POSTS)),
        ("0001_seed", sql_file(SEED, SEED_POSTS)),
    ])


def test_applies_in_order_and_records_like_drizzle(sqlite_url: str, folder: Path) -> None:
    result = migrate(sqlite_url, folder)
    assert result.applied_tags == ["0000_init", "0001_seed"]
    assert {"users", "posts", "__drizzle_migrations"} <= tables(sqlite_url)
    expected = [
        (None, hashlib.sha256((folder / f"{tag}.sql").read_bytes()).hexdigest(), BASE_WHEN + n * 1000)
        for n, tag in enumerate(["0000_init", "0001_seed"])
    ]
    assert records(sqlite_url) == expected
    ddl = sqlite_rows(sqlite_path(sqlite_url),
                      "SELECT sql FROM sqlite_master WHERE name='__drizzle_migrations'")[0][0]
    assert "id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric" in ddl


def test_second_run_is_up_to_date_with_one_bookkeeping_read(
    sqlite_url: str, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate(sqlite_url, folder)
    runtime = runtime_for_url(sqlite_url)
    seen: list[str] = []
    real_connect = type(runtime).connect

    def traced(self, url, **kw):  # the real connection, with SQLite's own statement trace
        conn = real_connect(self, url, **kw)
        conn.set_trace_callback(seen.append)
        return conn

    monkeypatch.setattr(type(runtime), "connect", traced)
    result = migrate(sqlite_url, folder)
    assert result.applied == [] and result.skipped == ["0000_init", "0001_seed"]
    assert seen == ['SELECT id, hash, created_at FROM "__drizzle_migrations"']


def test_pending_is_not_recorded_rather_than_newer(sqlite_url: str, folder: Path) -> None:
    migrate(sqlite_url, folder)
    append_migration(folder, "0002_more", "CREATE TABLE c (x int);")
    assert migrate(sqlite_url, folder).applied_tags == ["0002_more"]
    st = status(sqlite_url, folder)
    assert st.pending == [] and st.applied == ["0000_init", "0001_seed", "0002_more"]


def test_part_way_failure_leaves_no_trace(sqlite_url: str, folder: Path) -> None:
    append_migration(folder, "0002_unique_email", sql_file(
        "CREATE TABLE `audit` (`id` integer);",
        "INSERT INTO audit VALUES (1);",
        "-- emails must be unique from now on\n"
        "CREATE UNIQUE INDEX `users_email_unique` ON `users` (`email`);",
    ))
    with pytest.raises(MigrationFailed) as info:
        migrate(sqlite_url, folder)
    err = info.value
    message = str(err)
    assert "0002_unique_email" in message and "rolled back" in message
    assert f"{folder / '0002_unique_email.sql'}:4" in message  # the statement's line, after its comment
    assert "CREATE UNIQUE INDEX `users_email_unique`" in message
    assert "UNIQUE constraint failed: users.email" in message
    assert err.exit_code == 1 and err.line == 4
    assert err.result is not None and err.result.applied_tags == ["0000_init", "0001_seed"]
    assert "audit" not in tables(sqlite_url)  # no trace of the failed migration
    assert len(records(sqlite_url)) == 2  # earlier migrations of the same run stay applied
    assert status(sqlite_url, folder).pending == ["0002_unique_email"]


def test_multi_statement_chunks_and_trigger_bodies(sqlite_url: str, tmp_path: Path) -> None:
    """Hand-written files with no breakpoints (like Agor's 0001_organic_stick.sql)."""
    text = (
        "CREATE TABLE a (x int);\nCREATE TABLE b (y int); -- two on one chunk\n"
        "CREATE TRIGGER a_copy AFTER INSERT ON a BEGIN\n"
        "  INSERT INTO b VALUES (new.x); INSERT INTO b VALUES (new.x + 1);\nEND;\n"
        "INSERT INTO a VALUES (';'); INSERT INTO a VALUES (1)\n-- trailing comment"
    )
    folder = write_folder(tmp_path / "m", [("0000_hand", text)])
    migrate(sqlite_url, folder)
    assert sqlite_rows(sqlite_path(sqlite_url), "SELECT count(*) FROM b") == [(4,)]


def test_error_line_inside_multi_statement_chunk(sqlite_url: str, tmp_path: Path) -> None:
    text = "CREATE TABLE a (x int);\n\nINSERT INTO a VALUES (1);\nINSERT INTO nope VALUES (2);"
    folder = write_folder(tmp_path / "m", [("0000_hand", text)])
    with pytest.raises(MigrationFailed, match=r"(?s)0000_hand\.sql:4\n.*INSERT INTO nope.*no such table"
                       r": nope") as info:
        migrate(sqlite_url, folder)
    assert info.value.line == 4
    assert "a" not in tables(sqlite_url)


REBUILD_USERS = sql_file(
    "PRAGMA foreign_keys=OFF;",
    "CREATE TABLE `__new_users` (\n\t`id` integer PRIMARY KEY NOT NULL,\n\t`email` text NOT NULL,"
    "\n\t`name` text DEFAULT 'x' NOT NULL\n);\n",
    'INSERT INTO `__new_users`("id", "email") SELECT "id", "email" FROM `users`;',
    "DROP TABLE `users`;",
    "ALTER TABLE `__new_users` RENAME TO `users`;",
    "PRAGMA foreign_keys=ON;",
)


def test_table_rebuild_keeps_cascading_children(sqlite_url: str, folder: Path) -> None:
    """drizzle-kit's rebuild with FKs on inside BEGIN would cascade-delete every post."""
    append_migration(folder, "0002_rebuild_users", REBUILD_USERS)
    migrate(sqlite_url, folder)
    path = sqlite_path(sqlite_url)
    assert sqlite_rows(path, "SELECT count(*) FROM posts") == [(2,)]
    assert sqlite_rows(path, "SELECT name FROM users ORDER BY id") == [("x",), ("x",)]


def test_naive_rebuild_inside_transaction_would_lose_rows(tmp_path: Path) -> None:
    """The hazard the runner avoids, shown on the same SQL (so the test above can fail)."""
    conn = sqlite3.connect(tmp_path / "naive.db", isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    for st in (USERS, POSTS, SEED, SEED_POSTS):
        conn.execute(st)
    conn.execute("BEGIN")
    for chunk in REBUILD_USERS.split("--> statement-breakpoint\n"):
        conn.execute(chunk)  # PRAGMA foreign_keys=OFF is a no-op here
    conn.execute("COMMIT")
    assert conn.execute("SELECT count(*) FROM posts").fetchone() == (0,)


def test_foreign_key_check_aborts_rebuild_that_orphans_rows(sqlite_url: str, folder: Path) -> None:
    bad = REBUILD_USERS.replace('FROM `users`;', 'FROM `users` WHERE "id" <> 1;')
    append_migration(folder, "0002_lossy_rebuild", bad)
    with pytest.raises(MigrationFailed) as info:
        migrate(sqlite_url, folder)
    message = str(info.value)
    assert "0002_lossy_rebuild" in message
    assert "foreign key check failed: 1 row(s)" in message and "posts rowid 10 → users" in message
    assert "PRAGMA foreign_key_check" in message
    path = sqlite_path(sqlite_url)
    assert sqlite_rows(path, "SELECT count(*) FROM users") == [(2,)]
    assert "name" not in {r[1] for r in sqlite_rows(path, "PRAGMA table_info(users)")}


def test_foreign_keys_setting_restored_after_rebuild(sqlite_url: str, folder: Path) -> None:
    runtime = runtime_for_url(sqlite_url)
    append_migration(folder, "0002_rebuild_users", REBUILD_USERS)
    from agor_schema.journal import read_migrations

    _, files = read_migrations(folder)
    conn = runtime.connect(sqlite_url)
    try:
        for value in (1, 0):
            conn.execute(f"PRAGMA foreign_keys={value}")
            statements = runtime.migration_statements(files[2])
            assert [s.note is not None for s in statements] == [True, False, False, False, False,
                                                                True]
            with runtime.migration_transaction(conn, statements):
                assert conn.execute("PRAGMA foreign_keys").fetchone() == (0,)
            assert conn.execute("PRAGMA foreign_keys").fetchone() == (value,)
    finally:
        conn.close()


def test_tampered_file_stops_the_run(sqlite_url: str, folder: Path) -> None:
    migrate(sqlite_url, folder)
    path = folder / "0000_init.sql"
    path.write_text(path.read_text() + "\n-- edited")
    append_migration(folder, "0002_more", "CREATE TABLE c (x int);")
    with pytest.raises(MigrationRefused) as info:
        migrate(sqlite_url, folder)
    message = str(info.value)
    assert "[changed] 0000_init.sql was edited after it was applied" in message
    assert "--allow-changed" in message
    assert "c" not in tables(sqlite_url)
    st = status(sqlite_url, folder)
    assert [m.state for m in st.migrations] == ["changed", "applied", "pending"]
    dry = migrate(sqlite_url, folder, allow_changed=True, dry_run=True)
    assert dry.accepted == ["0000_init"] and [m.tag for m in dry.planned] == ["0002_more"]
    result = migrate(sqlite_url, folder, allow_changed=True)
    assert result.applied_tags == ["0002_more"] and result.accepted == ["0000_init"]
    # accepting records the edited file's hash, so the next start is clean without the flag
    new_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    assert (None, new_hash, BASE_WHEN) in records(sqlite_url)
    assert status(sqlite_url, folder).problems == []
    assert migrate(sqlite_url, folder).warnings == []


def test_out_of_order_entry_is_named_and_stops_the_run(sqlite_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", [("0000_a", "CREATE TABLE a (x);"),
                                           ("0002_c", "CREATE TABLE c (x);")],
                          whens=[BASE_WHEN, BASE_WHEN + 2000])
    migrate(sqlite_url, folder)
    # a branch merged later adds 0001 between them (drizzle-orm would skip it forever)
    (folder / "0001_b.sql").write_text("CREATE TABLE b (x);")
    journal = read_journal(folder)
    from agor_schema.journal import JournalEntry

    journal.entries.insert(1, JournalEntry(1, "6", BASE_WHEN + 1000, "0001_b"))
    write_journal(folder, journal)
    with pytest.raises(MigrationRefused) as info:
        migrate(sqlite_url, folder)
    message = str(info.value)
    assert "[out_of_order] 0001_b is not applied but later migration 0002_c is already applied" \
        in message
    assert "--allow-out-of-order" in message
    assert "b" not in tables(sqlite_url)
    assert status(sqlite_url, folder).migrations[1].state == "out_of_order"
    assert migrate(sqlite_url, folder, allow_out_of_order=True).applied_tags == ["0001_b"]
    assert "b" in tables(sqlite_url)


def test_appended_entry_with_old_when_is_out_of_order(sqlite_url: str, folder: Path) -> None:
    migrate(sqlite_url, folder)
    append_migration(folder, "0002_late", "CREATE TABLE late (x);", when=BASE_WHEN + 500)
    with pytest.raises(MigrationRefused, match="drizzle-orm would skip it forever"):
        migrate(sqlite_url, folder)


def test_record_whose_file_is_gone_is_reported(sqlite_url: str, folder: Path) -> None:
    migrate(sqlite_url, folder)
    journal = read_journal(folder)
    journal.entries.pop()
    write_journal(folder, journal)
    (folder / "0001_seed.sql").unlink()
    st = status(sqlite_url, folder)
    assert [p.kind for p in st.problems] == ["unknown_record"]
    assert f"created_at {BASE_WHEN + 1000}" in st.problems[0].message
    assert "its file was removed" in st.problems[0].message
    result = migrate(sqlite_url, folder)  # not blocking: the database may be ahead
    assert [p.kind for p in result.warnings] == ["unknown_record"]


def test_journal_entry_without_file(sqlite_url: str, folder: Path) -> None:
    migrate(sqlite_url, folder)
    (folder / "0001_seed.sql").unlink()
    st = status(sqlite_url, folder)
    assert st.migrations[1].state == "missing_file"
    assert "recorded as applied, but the file is missing" in st.problems[0].message
    append_migration(folder, "0002_x", "CREATE TABLE x (y);")
    (folder / "0002_x.sql").unlink()
    with pytest.raises(MigrationRefused, match=r"0002_x\.sql is listed in the journal but the "
                                               r"file is missing, and it is not applied yet"):
        migrate(sqlite_url, folder)


def test_dry_run_prints_sql_and_changes_nothing(sqlite_url: str, folder: Path) -> None:
    result = migrate(sqlite_url, folder, dry_run=True)
    assert not Path(sqlite_path(sqlite_url)).exists()
    assert [m.tag for m in result.planned] == ["0000_init", "0001_seed"]
    sql = result.planned[1].sql
    assert sql.startswith("BEGIN IMMEDIATE;") and sql.endswith("COMMIT;")
    assert SEED in sql and "INSERT INTO \"__drizzle_migrations\"" in sql
    migrate(sqlite_url, folder)
    append_migration(folder, "0002_rebuild_users", REBUILD_USERS)
    before = Path(sqlite_path(sqlite_url)).read_bytes()
    planned = migrate(sqlite_url, folder, dry_run=True).planned
    assert Path(sqlite_path(sqlite_url)).read_bytes() == before
    assert planned[0].sql.startswith("PRAGMA foreign_keys=OFF;  -- before BEGIN")
    assert "PRAGMA foreign_key_check;" in planned[0].sql


def test_baseline_records_without_running(sqlite_url: str, tmp_path: Path) -> None:
    conn = sqlite3.connect(sqlite_path(sqlite_url))
    conn.executescript("CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL);")
    conn.close()
    folder = write_folder(tmp_path / "m", [("0000_init", USERS)])  # would fail: table exists
    result = migrate(sqlite_url, folder, baseline=True)
    assert result.baselined == ["0000_init"] and result.applied == []
    assert status(sqlite_url, folder).pending == []
    append_migration(folder, "0001_next", "ALTER TABLE users ADD name text;")
    assert migrate(sqlite_url, folder).applied_tags == ["0001_next"]


def test_empty_and_comment_only_chunks_are_skipped(sqlite_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", [
        ("0000_custom", "-- Custom SQL migration file, put your code below! --\n"
                        "--> statement-breakpoint\nCREATE TABLE s (x);"),
        ("0001_t", "CREATE TABLE t (x);--> statement-breakpoint\n"),
    ])
    result = migrate(sqlite_url, folder)
    assert result.applied_tags == ["0000_custom", "0001_t"]
    assert [m.statements for m in result.applied] == [1, 1]
    # a file with no statement at all is refused: tests/test_journal_rules.py


def test_memory_and_relative_urls(tmp_path: Path, folder: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert migrate("sqlite://:memory:", folder).applied_tags == ["0000_init", "0001_seed"]
    monkeypatch.chdir(tmp_path)
    migrate("sqlite:///rel.db", folder)
    assert (tmp_path / "rel.db").exists()
    with pytest.raises(RunnerInputError, match="three slashes"):
        migrate("sqlite://rel.db", folder)
    with pytest.raises(RunnerInputError, match="unsupported database URL"):
        migrate("mysql://x/y", folder)


def test_defaults_come_from_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.agorschema]\ndatabase = "sqlite:///app.db"\nmigrations = "mig"\n'
        'migrations_table = "schema_history"\n'
    )
    write_folder(tmp_path / "mig" / "sqlite", [("0000_a", "CREATE TABLE a (x);")])
    sub = tmp_path / "src"
    sub.mkdir()
    monkeypatch.chdir(sub)  # relative settings are anchored at the project root, not the cwd
    assert migrate().applied_tags == ["0000_a"]
    assert sqlite_rows(tmp_path / "app.db", "SELECT count(*) FROM schema_history") == [(1,)]
    assert status().pending == []


def test_missing_folder_is_input_error(sqlite_url: str, tmp_path: Path) -> None:
    with pytest.raises(RunnerInputError, match="_journal.json: not found") as info:
        migrate(sqlite_url, tmp_path / "nowhere")
    assert info.value.exit_code == 2


def test_status_does_not_create_the_database(sqlite_url: str, folder: Path) -> None:
    st = status(sqlite_url, folder)
    assert st.pending == ["0000_init", "0001_seed"] and not st.table_exists
    assert not Path(sqlite_path(sqlite_url)).exists()


def test_folder_of_the_other_dialect_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "pg", [("0000_a", "CREATE TABLE a (x int);")],
                          dialect="postgres")
    with pytest.raises(RunnerInputError, match="holds postgresql migrations but the database "
                                                "URL is sqlite"):
        migrate(sqlite_url, folder)


def test_busy_database_is_a_lock_timeout(sqlite_url: str, folder: Path) -> None:
    migrate(sqlite_url, folder)
    append_migration(folder, "0002_more", "CREATE TABLE c (x int);")
    other = sqlite3.connect(sqlite_path(sqlite_url), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
    try:
        with pytest.raises(LockTimeoutError, match="kept the database locked") as info:
            migrate(sqlite_url, folder, migrator_lock_timeout=0.2)
        assert info.value.exit_code == 1
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert migrate(sqlite_url, folder).applied_tags == ["0002_more"]


def test_explicit_url_and_folder_ignore_stray_pyproject(
    sqlite_url: str, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.agorschema]\nnot_a_setting = 1\n")
    monkeypatch.chdir(tmp_path)
    migrate(sqlite_url, folder)  # an app's explicit call never reads the settings file
    assert "__drizzle_migrations" in tables(sqlite_url)
    with pytest.raises(RunnerInputError, match="unknown setting"):
        migrate(sqlite_url, folder, project=tmp_path)
