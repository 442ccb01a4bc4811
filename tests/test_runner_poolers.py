"""Exactly-once apply with 8 starters at the same moment: directly, and through a real
PgBouncer in session and in transaction pooling mode (where no session state survives
between transactions, so a session advisory lock would not keep the starters apart), on a
history with non-idempotent data migrations and a file that runs outside a transaction."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pg_cluster import connect
from runner_helpers import sql_file, write_folder
from test_runner_concurrency import SLOW_RUN_ROW, run_all_at_once

from agor_schema.runner import MigrationFailed, migrate

# Every data step adds to a counter, so running any of them twice shows in the totals.
HISTORY = [
    ("0000_init", sql_file("CREATE TABLE runs (tag text NOT NULL);",
                           "CREATE TABLE counter (n integer NOT NULL);",
                           "INSERT INTO counter VALUES (0);",
                           "CREATE TABLE items (id integer PRIMARY KEY, name text);")),
    ("0001_seed", sql_file(SLOW_RUN_ROW, "UPDATE counter SET n = n + 1;",
                           "INSERT INTO items VALUES (1, 'a'), (2, 'b');")),
    ("0002_add", sql_file("ALTER TABLE items ADD COLUMN qty integer;",
                          "UPDATE counter SET n = n + 10;",
                          "INSERT INTO runs VALUES ('0002');")),
    ("0003_data", sql_file("UPDATE items SET qty = coalesce(qty, 0) + 5;",
                           "UPDATE counter SET n = n + 100;",
                           "INSERT INTO runs VALUES ('0003');")),
    ("0004_more", sql_file("CREATE TABLE extra (x integer);",
                           "INSERT INTO items VALUES (3, 'c', 7);",
                           "UPDATE counter SET n = n + 1000;",
                           "INSERT INTO runs VALUES ('0004');")),
    # runs as written: each statement commits by itself, the row is written at the end
    ("0005_concurrent", "-- agorschema:no-transaction\n"
                        "CREATE INDEX CONCURRENTLY IF NOT EXISTS items_name ON items (name);\n"
                        "UPDATE counter SET n = n + 10000;\n"
                        "INSERT INTO runs VALUES ('0005');\n"),
]
MODES = ["direct", "session", "transaction"]


def target(mode: str, pg_url: str, via_pgbouncer: Any) -> str:
    if mode == "direct":
        return pg_url
    url = via_pgbouncer(mode)
    # `pgbouncer=true` is how a user marks a pooled URL; `auto` then picks the lease lock
    return url + "?pgbouncer=true" if mode == "transaction" else url


@pytest.mark.parametrize("mode", MODES)
def test_eight_starters_apply_each_migration_once(
    mode: str, pg_url: str, via_pgbouncer: Any, tmp_path: Path
) -> None:
    url = target(mode, pg_url, via_pgbouncer)
    folder = write_folder(tmp_path / "m", HISTORY, dialect="postgres")
    outcomes = run_all_at_once(url, folder)
    assert [o for o in outcomes if o[0] != "ok"] == []
    applied = sorted(tag for _, tags in outcomes for tag in tags)
    assert applied == [t for t, _ in HISTORY], "each migration applied by exactly one starter"
    with connect(pg_url) as conn:
        assert conn.execute("SELECT n FROM counter").fetchone() == (11111,)
        assert conn.execute("SELECT tag FROM runs ORDER BY tag").fetchall() == [
            ("0001",), ("0002",), ("0003",), ("0004",), ("0005",)]
        assert conn.execute("SELECT id, qty FROM items ORDER BY id").fetchall() == [
            (1, 5), (2, 5), (3, 7)]
        assert conn.execute(
            "SELECT count(*), count(DISTINCT created_at) FROM drizzle.__drizzle_migrations"
        ).fetchone() == (6, 6)
        assert conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_name'::regclass"
        ).fetchone() == (True,)
        assert conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone() == (0,)
        lease = conn.execute("SELECT to_regclass('drizzle.__drizzle_migrations_lock')")
        if lease.fetchone()[0] is not None:
            assert conn.execute(
                "SELECT count(*) FROM drizzle.__drizzle_migrations_lock").fetchone() == (0,)


def test_transaction_pooling_picks_the_lease_lock(
    pg_url: str, via_pgbouncer: Any, tmp_path: Path
) -> None:
    url = target("transaction", pg_url, via_pgbouncer)
    folder = write_folder(tmp_path / "m", HISTORY[:1], dialect="postgres")
    migrate(url, folder)
    with connect(pg_url) as conn:
        assert conn.execute(
            "SELECT to_regclass('drizzle.__drizzle_migrations_lock') IS NOT NULL"
        ).fetchone() == (True,)


def test_lock_timeout_names_the_blocker_through_transaction_pooling(
    pg_url: str, via_pgbouncer: Any, tmp_path: Path
) -> None:
    url = target("transaction", pg_url, via_pgbouncer)
    folder = write_folder(tmp_path / "m", HISTORY[:1], dialect="postgres")
    migrate(url, folder)
    write_folder(folder, [*HISTORY[:1], ("0001_alter", "ALTER TABLE items ADD COLUMN q int;")],
                 dialect="postgres")
    blocker = connect(pg_url, autocommit=False)
    try:
        pid = blocker.execute("SELECT pg_backend_pid()").fetchone()[0]
        blocker.execute("SELECT * FROM items").fetchall()
        started = time.monotonic()
        with pytest.raises(MigrationFailed) as info:
            migrate(url, folder, ddl_lock_timeout=0.2, ddl_lock_retries=0)
        assert time.monotonic() - started < 5
    finally:
        blocker.rollback()
        blocker.close()
    assert f"backend pid {pid}" in str(info.value)
    assert migrate(url, folder).applied_tags == ["0001_alter"]
