"""DDL lock timeout with retries, statement_timeout, and the settings that control them,
on a real PostgreSQL with a real long-running transaction in the way."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pg_cluster import connect
from runner_helpers import sql_file, write_folder

from agor_schema import runner
from agor_schema.runner import MigrationFailed, RunnerInputError, migrate

ITEMS = "CREATE TABLE items (id integer PRIMARY KEY, name text);"
ALTER = "ALTER TABLE items ADD COLUMN qty integer;"


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries wait 0.1, 0.2, … s instead of 1, 2, … s (the doubling itself is unchanged)."""
    monkeypatch.setattr(runner, "RETRY_FIRST_WAIT", 0.1)


def two_step(tmp_path: Path, pg_url: str) -> Path:
    """0000 creates `items` (applied now); 0001 alters it (applied by the test)."""
    folder = write_folder(tmp_path / "m", [("0000_init", ITEMS)], dialect="postgres")
    migrate(pg_url, folder)
    write_folder(folder, [("0000_init", ITEMS), ("0001_alter", sql_file(
        "INSERT INTO items VALUES (1, 'a');", ALTER))], dialect="postgres")
    return folder


def hold_table(url: str) -> tuple[Any, int]:
    """An open transaction that has read `items` (ACCESS SHARE lock), like a long report."""
    conn = connect(url, autocommit=False)
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    conn.execute("SELECT count(*) FROM items /* the long report */").fetchone()
    return conn, pid


def columns(conn: Any) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'items' "
        "ORDER BY ordinal_position").fetchall()]


def recorded(conn: Any) -> int:
    return conn.execute("SELECT count(*) FROM drizzle.__drizzle_migrations").fetchone()[0]


def test_lock_timeout_retries_then_names_the_blocker(
    pg_url: str, pg_conn: Any, tmp_path: Path, fast_backoff: None
) -> None:
    folder = two_step(tmp_path, pg_url)
    blocker, pid = hold_table(pg_url)
    try:
        started = time.monotonic()
        with pytest.raises(MigrationFailed) as info:
            migrate(pg_url, folder, ddl_lock_timeout=0.2, ddl_lock_retries=2)
        elapsed = time.monotonic() - started
    finally:
        blocker.rollback()
        blocker.close()
    message = str(info.value)
    assert f"backend pid {pid}" in message
    assert "the long report" in message, "the blocker's query is shown"
    assert "transaction has run for" in message
    assert "after 3 attempt(s)" in message and "ddl_lock_timeout=0.2 s" in message
    assert info.value.tag == "0001_alter" and info.value.statement == ALTER
    notes = info.value.result.notices
    assert len([n for n in notes if "retrying in" in n]) == 2
    assert "retrying in 0.1 s" in notes[0] and "retrying in 0.2 s" in notes[1]
    # 3 waits of 0.2 s plus backoff 0.1 + 0.2: far below what the blocker would have cost
    assert 0.8 < elapsed < 5
    # the whole transaction was rolled back: no row inserted, no column, no record
    assert columns(pg_conn) == ["id", "name"]
    assert pg_conn.execute("SELECT count(*) FROM items").fetchone() == (0,)
    assert recorded(pg_conn) == 1
    assert migrate(pg_url, folder).applied_tags == ["0001_alter"]
    assert columns(pg_conn) == ["id", "name", "qty"]


def test_a_retry_succeeds_once_the_blocker_ends(
    pg_url: str, pg_conn: Any, tmp_path: Path, fast_backoff: None
) -> None:
    folder = two_step(tmp_path, pg_url)
    blocker, _ = hold_table(pg_url)
    timer = threading.Timer(0.5, blocker.rollback)
    timer.start()
    try:
        result = migrate(pg_url, folder, ddl_lock_timeout=0.2, ddl_lock_retries=5)
    finally:
        timer.join()
        blocker.close()
    assert result.applied_tags == ["0001_alter"]
    assert any("retrying in" in n for n in result.notices)
    assert pg_conn.execute("SELECT id, name, qty FROM items").fetchall() == [(1, "a", None)]
    assert recorded(pg_conn) == 2


def test_lock_timeout_off_waits_for_the_blocker(
    pg_url: str, pg_conn: Any, tmp_path: Path
) -> None:
    folder = two_step(tmp_path, pg_url)
    blocker, _ = hold_table(pg_url)
    timer = threading.Timer(1.0, blocker.rollback)
    timer.start()
    try:
        started = time.monotonic()
        result = migrate(pg_url, folder, ddl_lock_timeout=0)
        elapsed = time.monotonic() - started
    finally:
        timer.join()
        blocker.close()
    assert result.applied_tags == ["0001_alter"] and result.notices == []
    assert elapsed >= 0.9, "with the timeout off the ALTER queued behind the reader"


def test_lock_timeout_is_set_per_transaction_not_per_session(
    pg_url: str, pg_conn: Any, tmp_path: Path
) -> None:
    """A migration sees lock_timeout inside its own transaction; the session keeps 0."""
    folder = write_folder(tmp_path / "m", [
        ("0000_probe", "CREATE TABLE seen AS SELECT current_setting('lock_timeout') AS lt, "
                       "current_setting('statement_timeout') AS st;"),
    ], dialect="postgres")
    migrate(pg_url, folder, ddl_lock_timeout=1.5, statement_timeout=20)
    assert pg_conn.execute("SELECT lt, st FROM seen").fetchone() == ("1500ms", "20s")


def test_statement_timeout_stops_a_slow_migration(
    pg_url: str, pg_conn: Any, tmp_path: Path
) -> None:
    folder = write_folder(tmp_path / "m", [
        ("0000_slow", sql_file("CREATE TABLE t (x integer);", "SELECT pg_sleep(2.5);")),
    ], dialect="postgres")
    started = time.monotonic()
    with pytest.raises(MigrationFailed) as info:
        migrate(pg_url, folder, statement_timeout=0.3)
    assert time.monotonic() - started < 2.2, "stopped by the timeout, not by the sleep's end"
    assert "statement_timeout=0.3 s" in str(info.value)
    assert "pg_sleep" in info.value.statement
    assert pg_conn.execute("SELECT to_regclass('public.t')").fetchone() == (None,)
    assert migrate(pg_url, folder, statement_timeout=0).applied_tags == ["0000_slow"]


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("ddl_lock_timeout", '"abc"', "ddl_lock_timeout must be a number of seconds"),
    ("ddl_lock_timeout", "-1", "ddl_lock_timeout must be a number of seconds"),
    ("statement_timeout", "true", "statement_timeout must be a number of seconds"),
    ("ddl_lock_retries", "2.5", "ddl_lock_retries must be a whole number"),
    ("migrator_lock_timeout", "1e9", "migrator_lock_timeout must be a number of seconds"),
    ("migrator_lock", '"mutex"', "migrator_lock must be one of"),
    ("lock_timeout", '"abc"', "lock_timeout (now migrator_lock_timeout) must be a number"),
])
def test_bad_settings_exit_2_naming_file_and_key(
    tmp_path: Path, key: str, value: str, expected: str
) -> None:
    folder = write_folder(tmp_path / "drizzle" / "sqlite", [("0000_init", ITEMS)])
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.agorschema]\ndatabase = "sqlite:///x.db"\n{key} = {value}\n')
    proc = run_cli("migrate", "--migrations", str(folder), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr
    assert str(tmp_path / "pyproject.toml") in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "x.db").exists(), "nothing written"


def test_deprecated_lock_timeout_still_works_and_warns(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "drizzle" / "sqlite", [("0000_init", ITEMS)])
    (tmp_path / "pyproject.toml").write_text(
        '[tool.agorschema]\ndatabase = "sqlite:///x.db"\nlock_timeout = 7\n')
    proc = run_cli("migrate", "--migrations", str(folder), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "lock_timeout is deprecated" in proc.stderr and "migrator_lock_timeout" in proc.stderr
    proc = run_cli("migrate", "--migrations", str(folder), "--lock-timeout", "3", cwd=tmp_path)
    assert proc.returncode == 0 and "deprecated" in proc.stderr
    settings = runner.resolve(None, folder, None, None, None, tmp_path)
    assert settings.migrator_lock_timeout == 7.0


def test_bad_cli_values_exit_2(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", [("0000_init", ITEMS)])
    proc = run_cli("migrate", "--database", f"sqlite:///{tmp_path}/x.db", "--migrations",
                   str(folder), "--ddl-lock-timeout", "-3", cwd=tmp_path)
    assert proc.returncode == 2 and "ddl_lock_timeout must be" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_api_rejects_bad_values(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", [("0000_init", ITEMS)])
    with pytest.raises(RunnerInputError, match="ddl_lock_retries"):
        migrate(f"sqlite:///{tmp_path}/x.db", folder, ddl_lock_retries=-1)
    with pytest.raises(RunnerInputError, match="not available on SQLite"):
        migrate(f"sqlite:///{tmp_path}/x.db", folder, migrator_lock="lease")


def test_backoff_doubles_from_one_second_capped_at_30() -> None:
    assert runner.retry_waits(7) == [1, 2, 4, 8, 16, 30, 30]
    assert runner.retry_waits(0) == []


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run([str(Path(sys.executable).parent / "agorschema"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_a_lease_left_by_a_dead_run_is_taken_over_when_it_expires(
    pg_url: str, pg_conn: Any, tmp_path: Path
) -> None:
    folder = write_folder(tmp_path / "m", [("0000_init", ITEMS)], dialect="postgres")
    migrate(pg_url, folder, migrator_lock="lease")  # creates the lease table
    pg_conn.execute(
        "INSERT INTO drizzle.__drizzle_migrations_lock VALUES ('__drizzle_migrations', "
        "'dead-host:1:x', now(), now() + interval '0.8 s')")
    write_folder(folder, [("0000_init", ITEMS), ("0001_alter", ALTER)], dialect="postgres")
    with pytest.raises(runner.LockTimeoutError) as info:
        migrate(pg_url, folder, migrator_lock="lease", migrator_lock_timeout=0.2)
    assert "held by dead-host:1:x" in str(info.value)
    started = time.monotonic()
    result = migrate(pg_url, folder, migrator_lock="lease", migrator_lock_timeout=10)
    assert result.applied_tags == ["0001_alter"]
    assert time.monotonic() - started < 5
    assert pg_conn.execute(
        "SELECT count(*) FROM drizzle.__drizzle_migrations_lock").fetchone() == (0,)


@pytest.mark.parametrize(("url", "kind"), [
    ("postgresql://u@db.example.com:5432/app", "session_advisory"),
    ("postgresql://u@db.example.com:6432/app", "lease"),  # PgBouncer's port
    ("postgresql://u@aws-0-eu.pooler.supabase.com:6543/postgres", "lease"),
    ("postgresql://u@ep-x-pooler.eu-central-1.aws.neon.tech/app", "lease"),
    ("postgresql://u@db.example.com/app?pgbouncer=true&sslmode=require", "lease"),
])
def test_auto_lock_kind_from_the_url(url: str, kind: str) -> None:
    from agor_schema.dialects import runtime_for_url
    from agor_schema.dialects.postgres_runtime import postgres_conninfo

    assert runtime_for_url(url).lock_kind("auto", url) == kind
    assert runtime_for_url(url).lock_kind("session", url) == "session_advisory"
    assert "pgbouncer" not in postgres_conninfo(url)  # libpq would refuse the parameter


def test_a_profile_without_lock_timeouts_gets_none(
    pg_url: str, pg_conn: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Capabilities are data: an engine profile that cannot bound lock waits (a distributed
    engine, say) is one table entry, and the runner then sets no limit."""
    from agor_schema.dialects import runtime_for_url
    from agor_schema.dialects.capabilities import POSTGRES

    runtime = runtime_for_url(pg_url)
    monkeypatch.setattr(type(runtime), "capabilities",
                        POSTGRES._replace(ddl_lock_timeout=False, statement_timeout=False))
    folder = write_folder(tmp_path / "m", [
        ("0000_probe", "CREATE TABLE seen AS SELECT current_setting('lock_timeout') AS lt, "
                       "current_setting('statement_timeout') AS st;"),
    ], dialect="postgres")
    migrate(pg_url, folder, ddl_lock_timeout=1.5, statement_timeout=20)
    assert pg_conn.execute("SELECT lt, st FROM seen").fetchone() == ("0", "0")
