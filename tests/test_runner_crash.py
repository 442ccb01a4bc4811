"""SIGKILL in the middle of a migration: the database stays at the previous migration.

The slow statement reads its size from a `knob` table that the first migration creates, so
the test can make the re-run fast without touching the file (whose hash is recorded).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import time
from pathlib import Path

from pg_cluster import connect
from runner_helpers import slow_migrate_worker, sql_file, sqlite_path, sqlite_rows, write_folder

from agor_schema.runner import migrate, status

SQLITE_SLOW = sql_file(
    "CREATE TABLE big (x integer);",
    "INSERT INTO big WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
    "LIMIT (SELECT n FROM knob)) SELECT x FROM c;",
)
PG_SLOW = sql_file(
    "CREATE TABLE half (x integer);",
    "INSERT INTO half VALUES (1);",
    "SELECT pg_sleep((SELECT n FROM knob));",
)


def start_child(url: str, folder: Path, tmp_path: Path) -> multiprocessing.process.BaseProcess:
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=slow_migrate_worker,
                       args=(url, str(folder), str(tmp_path / "ready")))
    proc.start()
    return proc


def wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the child"
        time.sleep(0.05)


def kill(proc: multiprocessing.process.BaseProcess) -> None:
    assert proc.is_alive(), "the child finished before it could be killed mid-migration"
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    assert proc.exitcode == -signal.SIGKILL


def test_sigkill_mid_migration_sqlite(sqlite_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", [
        ("0000_knob", "CREATE TABLE knob (n integer);--> statement-breakpoint\n"
                      "INSERT INTO knob VALUES (100000000);"),
        ("0001_slow", SQLITE_SLOW),
    ])
    path = sqlite_path(sqlite_url)
    proc = start_child(sqlite_url, folder, tmp_path)

    def first_applied_and_second_running() -> bool:
        try:
            conn = sqlite3.connect(path, timeout=0.05)
            try:
                done = conn.execute("SELECT count(*) FROM __drizzle_migrations").fetchone()[0]
            finally:
                conn.close()
        except sqlite3.OperationalError:  # table not there yet, or the writer holds the file
            return False
        return done == 1 and Path(path + "-journal").exists()

    wait_for(first_applied_and_second_running)
    time.sleep(0.7)  # well inside the 100M-row insert, with pages already spilled to the file
    kill(proc)
    assert Path(path + "-journal").stat().st_size > 0  # a hot journal: the crash was mid-write

    assert sqlite_rows(path, "PRAGMA integrity_check") == [("ok",)]  # hot journal rolled back
    assert sqlite_rows(path, "SELECT count(*) FROM sqlite_master WHERE name = 'big'") == [(0,)]
    assert status(sqlite_url, folder).pending == ["0001_slow"]
    conn = sqlite3.connect(path)
    conn.execute("UPDATE knob SET n = 10")
    conn.commit()
    conn.close()
    assert migrate(sqlite_url, folder).applied_tags == ["0001_slow"]
    assert sqlite_rows(path, "SELECT count(*) FROM big") == [(10,)]


def test_sigkill_mid_migration_postgres(pg_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", [
        ("0000_knob", "CREATE TABLE knob (n integer);--> statement-breakpoint\n"
                      "INSERT INTO knob VALUES (60);"),
        ("0001_slow", PG_SLOW),
    ], dialect="postgres")
    proc = start_child(pg_url, folder, tmp_path)
    with connect(pg_url) as watcher:
        def sleeping() -> bool:
            return watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                "AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()"
            ).fetchone()[0] == 1

        wait_for(sleeping)
        kill(proc)
        # the half-done migration is invisible and its table does not exist
        assert watcher.execute("SELECT to_regclass('half')").fetchone() == (None,)
        assert watcher.execute(
            "SELECT count(*) FROM drizzle.__drizzle_migrations").fetchone() == (1,)
        watcher.execute("UPDATE knob SET n = 0")
    started = time.monotonic()
    result = migrate(pg_url, folder, migrator_lock_timeout=30)
    # the dead run's session ends within ~1 s (client_connection_check_interval), not 60 s
    assert time.monotonic() - started < 15
    assert result.applied_tags == ["0001_slow"]
    with connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM half").fetchone() == (1,)
        assert conn.execute(
            "SELECT count(*) FROM drizzle.__drizzle_migrations").fetchone() == (2,)
