"""The runner against a real PostgreSQL: bookkeeping, atomicity, advisory lock, problems."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from pg_cluster import connect
from runner_helpers import BASE_WHEN, append_migration, sql_file, write_folder

from agor_schema.dialects import runtime_for_url
from agor_schema.dialects.postgres_runtime import lock_key
from agor_schema.runner import (
    ConnectionFailed,
    LockTimeoutError,
    MigrationFailed,
    MigrationRefused,
    migrate,
    status,
)

USERS = 'CREATE TABLE "users" (\n\t"id" integer PRIMARY KEY NOT NULL,\n\t"email" text NOT NULL\n);\n'
POSTS = (
    'CREATE TABLE "posts" (\n\t"id" integer PRIMARY KEY NOT NULL,\n\t"user_id" integer NOT NULL\n);\n'
)
FK = (
    'ALTER TABLE "posts" ADD CONSTRAINT "posts_user_id_users_id_fk" FOREIGN KEY ("user_id") '
    'REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;'
)
SEED = "INSERT INTO users VALUES (1, 'a@x'), (2, 'a@x');\nINSERT INTO posts VALUES (10, 1);"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "pg", [
        ("0000_init", sql_file(USERS, POSTS, FK)),
        ("0001_seed", SEED),
    ], dialect="postgres")


def relations(conn: Any) -> set[str]:
    rows = conn.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
    ).fetchall()
    return {r[0] for r in rows}


def test_applies_and_records_like_drizzle(pg_url: str, pg_conn: Any, folder: Path) -> None:
    result = migrate(pg_url, folder)
    assert result.applied_tags == ["0000_init", "0001_seed"]
    assert {"public.users", "public.posts", "drizzle.__drizzle_migrations"} <= relations(pg_conn)
    rows = pg_conn.execute(
        "SELECT id, hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id"
    ).fetchall()
    assert rows == [
        (1, hashlib.sha256((folder / "0000_init.sql").read_bytes()).hexdigest(), BASE_WHEN),
        (2, hashlib.sha256((folder / "0001_seed.sql").read_bytes()).hexdigest(), BASE_WHEN + 1000),
    ]
    types = dict(pg_conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'drizzle' AND table_name = '__drizzle_migrations'"
    ).fetchall())
    assert types == {"id": "integer", "hash": "text", "created_at": "bigint"}
    assert migrate(pg_url.replace("postgresql://", "postgres://", 1), folder).applied == []


def test_up_to_date_costs_one_query(pg_url: str, folder: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    migrate(pg_url, folder)
    runtime = runtime_for_url(pg_url)
    sent: list[str] = []
    real_connect = type(runtime).connect

    class Counting:
        def __init__(self, conn: Any) -> None:
            self._conn = conn

        def execute(self, query: Any, *args: Any) -> Any:
            sent.append(str(query))
            return self._conn.execute(query, *args)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._conn, name)

    monkeypatch.setattr(type(runtime), "connect",
                        lambda self, url, **kw: Counting(real_connect(self, url, **kw)))
    assert migrate(pg_url, folder).applied == []
    assert sent == ['SELECT id, hash, created_at FROM "drizzle"."__drizzle_migrations"']


def test_part_way_failure_leaves_no_trace(pg_url: str, pg_conn: Any, folder: Path) -> None:
    append_migration(folder, "0002_unique_email", sql_file(
        'CREATE TABLE "audit" ("id" integer);',
        "INSERT INTO audit VALUES (1);\n"
        "\n"
        'ALTER TABLE "users" ADD CONSTRAINT "users_email_unique" UNIQUE("email");',
    ))
    with pytest.raises(MigrationFailed) as info:
        migrate(pg_url, folder)
    message = str(info.value)
    assert "migration 0002_unique_email failed and was rolled back" in message
    assert "0002_unique_email.sql:4" in message  # the failing statement, not its chunk
    assert "23505 could not create unique index \"users_email_unique\"" in message
    assert "DETAIL: Key (email)=(a@x) is duplicated." in message
    assert "public.audit" not in relations(pg_conn)
    assert pg_conn.execute("SELECT count(*) FROM drizzle.__drizzle_migrations").fetchone() == (2,)
    # the lock was released on the failure path
    key = lock_key("__drizzle_migrations", "drizzle")
    assert pg_conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone() == (True,)
    pg_conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


def test_error_position_maps_to_file_line(pg_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "pg", [
        ("0000_a", "-- hand written\nCREATE TABLE a (x int);\n\nINSERT INTO nope\n  VALUES (1);"),
    ], dialect="postgres")
    with pytest.raises(MigrationFailed) as info:
        migrate(pg_url, folder)
    assert info.value.line == 4
    assert '42P01 relation "nope" does not exist' in str(info.value)


def test_dollar_quoted_bodies_and_percent_signs(pg_url: str, pg_conn: Any, tmp_path: Path) -> None:
    body = (
        "CREATE TABLE t (email text CHECK (email LIKE '%@%'));\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$;"
    )
    folder = write_folder(tmp_path / "pg", [("0000_fn", body)], dialect="postgres")
    migrate(pg_url, folder)
    assert pg_conn.execute("SELECT f()").fetchone() == (1,)


def test_lock_timeout_names_the_holder(pg_url: str, folder: Path) -> None:
    key = lock_key("__drizzle_migrations", "drizzle")
    with connect(pg_url) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))
        pid = holder.execute("SELECT pg_backend_pid()").fetchone()[0]
        with pytest.raises(LockTimeoutError) as info:
            migrate(pg_url, folder, migrator_lock_timeout=0.3, migrator_lock="session")
        assert f"held by backend pid {pid}" in str(info.value)
        assert "over 0.3 s" in str(info.value)
        assert info.value.exit_code == 1
    assert migrate(pg_url, folder, migrator_lock_timeout=5).applied_tags == [
        "0000_init", "0001_seed"]


def test_custom_table_and_schema(pg_url: str, pg_conn: Any, folder: Path) -> None:
    migrate(pg_url, folder, table="history", schema="ops")
    assert "ops.history" in relations(pg_conn)
    assert "drizzle.__drizzle_migrations" not in relations(pg_conn)
    assert status(pg_url, folder, table="history", schema="ops").pending == []
    assert status(pg_url, folder).pending == ["0000_init", "0001_seed"]


def test_tampered_and_out_of_order(pg_url: str, folder: Path) -> None:
    migrate(pg_url, folder)
    (folder / "0001_seed.sql").write_text(SEED + "\n-- edited")
    with pytest.raises(MigrationRefused, match=r"0001_seed\.sql was edited after it was applied"):
        migrate(pg_url, folder)
    append_migration(folder, "0002_late", "CREATE TABLE late (x int);", when=BASE_WHEN + 10)
    with pytest.raises(MigrationRefused) as info:
        migrate(pg_url, folder, allow_changed=True)
    assert [p.kind for p in info.value.problems] == ["out_of_order"]
    assert "0002_late is not applied" in str(info.value)
    result = migrate(pg_url, folder, allow_changed=True, allow_out_of_order=True)
    assert result.accepted == ["0001_seed"] and result.applied_tags == ["0002_late"]
    st = status(pg_url, folder)
    assert st.pending == []
    assert [p.kind for p in st.problems] == ["journal_order"]  # its `when` is still behind


def test_dry_run_changes_nothing(pg_url: str, pg_conn: Any, folder: Path) -> None:
    result = migrate(pg_url, folder, dry_run=True)
    assert [m.tag for m in result.planned] == ["0000_init", "0001_seed"]
    assert result.planned[0].sql.startswith("BEGIN;")
    assert 'INSERT INTO "drizzle"."__drizzle_migrations"' in result.planned[0].sql
    assert relations(pg_conn) == set()
    assert pg_conn.execute(
        "SELECT count(*) FROM pg_namespace WHERE nspname = 'drizzle'"
    ).fetchone() == (0,)


def test_unreachable_server_is_a_clear_error(folder: Path) -> None:
    with pytest.raises(ConnectionFailed, match=r"cannot connect to PostgreSQL") as info:
        migrate("postgresql://nobody:secret@127.0.0.1:1/none", folder, migrator_lock_timeout=1)
    assert "secret" not in str(info.value) and "***" in str(info.value)
