"""Adversarial review of the runner through the real CLI, in a real process, on a real
PostgreSQL: what an interrupted run prints and leaves behind."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from envelope_helpers import parse_envelope
from hostile_helpers import make_project, pg_canary, pg_fingerprint
from pg_cluster import connect
from runner_helpers import write_folder
from test_adversarial import run_json

import agor_schema

SLOW = "CREATE TABLE t (x integer);\n--> statement-breakpoint\nSELECT pg_sleep(60);"


def _wait_for_query(url: str, words: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    with connect(url) as conn:
        while time.monotonic() < deadline:
            if conn.execute("SELECT 1 FROM pg_stat_activity WHERE query LIKE %s AND pid <> "
                            "pg_backend_pid()", (f"%{words}%",)).fetchone():
                return
            time.sleep(0.1)
    raise AssertionError(f"no session ran {words!r}")


@pytest.mark.parametrize("lock", ["session", "lease"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_migrate_prints_one_envelope_and_claims_nothing(
        sig: int, lock: str, tmp_path: Path, pg_url: str) -> None:
    """Ctrl-C (or a CI job cancelled, a container stopped) in the middle of a migration.
    Before: click's bare "Aborted!" on stderr (SIGTERM: nothing at all) and nothing on
    stdout, although `--format json` promises exactly one envelope on every path; a lease
    stayed held for 30 s. The migration that was running is rolled back and not recorded."""
    folder = write_folder(tmp_path / "m", [("0000_init", "CREATE TABLE a (x integer);"),
                                           ("0001_slow", SLOW)], dialect="postgresql")
    with connect(pg_url) as conn:
        pg_canary(conn)
    proc = subprocess.Popen(
        [sys.executable, "-c", "import signal; signal.signal(signal.SIGINT, "
         "signal.default_int_handler); from agor_schema.cli import main; main()",
         "migrate", "--database", pg_url, "--migrations", str(folder), "--format", "json",
         "--migrator-lock", lock],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_query(pg_url, "pg_sleep(60)")
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    doc = parse_envelope(out, command="migrate", exit_code=1)
    [error] = doc["errors"]
    assert error["message"].startswith("interrupted: `agorschema migrate` stopped"), error
    assert "applied whole or not at all" in error["message"], error
    assert "Traceback" not in err and "Aborted!" not in err, err
    with connect(pg_url) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()}
        assert tables == {"a", "canary", "victim"}  # 0000 applied, 0001 rolled back
        rows = conn.execute("SELECT count(*) FROM drizzle.__drizzle_migrations").fetchone()
        assert rows[0] == 1
        assert pg_fingerprint(conn)[-1] == ((1, "still here"),)
    # the lock or lease was released on the way out: the next run starts at once
    (folder / "0001_slow.sql").write_text("CREATE TABLE t (x integer);", encoding="utf-8")
    started = time.monotonic()
    rerun = subprocess.run(
        [sys.executable, "-c", "from agor_schema.cli import main; main()", "migrate",
         "--database", pg_url, "--migrations", str(folder), "--format", "json",
         "--migrator-lock", lock, "--migrator-lock-timeout", "20"],
        capture_output=True, text=True, timeout=120)
    assert parse_envelope(rerun.stdout, exit_code=0)["result"]["applied"][0]["tag"] == \
        "0001_slow"
    assert time.monotonic() - started < 15
    json.dumps(doc)  # (the envelope is plain JSON data)


# --- a bookkeeping row agorschema cannot read ------------------------------------------------


def _bookkeeping_row(url: str, created_at: str) -> None:
    """drizzle's bookkeeping table with one hand-inserted row (created_at may be NULL: the
    column is nullable in drizzle-orm's own DDL)."""
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.execute('CREATE TABLE "__drizzle_migrations" (id SERIAL PRIMARY KEY, '
                     "hash text NOT NULL, created_at numeric)")
        conn.execute("INSERT INTO __drizzle_migrations (id, hash, created_at) "
                     f"VALUES (7, 'abc', {created_at})")
        conn.commit()
        conn.close()
        return
    with connect(url) as conn:
        conn.execute("CREATE SCHEMA drizzle")
        conn.execute("CREATE TABLE drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, "
                     "hash text NOT NULL, created_at bigint)")
        conn.execute("INSERT INTO drizzle.__drizzle_migrations (id, hash, created_at) "
                     f"VALUES (7, 'abc', {created_at})")


@pytest.mark.parametrize("engine, created_at", [("sqlite", "NULL"), ("sqlite", "'soon'"),
                                                ("postgres", "NULL")],
                         ids=["sqlite-null", "sqlite-text", "postgres-null"])
def test_a_bookkeeping_row_without_a_number_is_refused_by_name(
        engine: str, created_at: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Before: status, migrate and undo crashed with `int() argument must be ... not
    'NoneType'` (a traceback, no envelope; the Python API raised a TypeError)."""
    url = (f"sqlite:///{tmp_path / 'app.db'}" if engine == "sqlite"
           else request.getfixturevalue("pg_url"))
    root = make_project(tmp_path / "project")
    assert run_json(root, "compile")[0] == 0
    _bookkeeping_row(url, created_at)
    for command in ("status", "migrate", "undo"):
        code, doc = run_json(root, command, "--database", url)
        assert code == 1, doc
        message = doc["errors"][0]["message"]
        assert "the row with id 7" in message and "not the journal `when`" in message, doc
    folder = root / "drizzle" / engine
    with pytest.raises(agor_schema.RunnerError, match="the row with id 7"):
        agor_schema.migrate(url, folder)
    if engine == "sqlite":
        import sqlite3

        conn = sqlite3.connect(tmp_path / "app.db")
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        conn.close()
    else:
        with connect(url) as conn:
            names = {r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert "users" not in names  # nothing was applied
