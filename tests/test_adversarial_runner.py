"""Adversarial review of the runner through the real CLI, in a real process, on a real
PostgreSQL: what an interrupted run prints and leaves behind."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from envelope_helpers import parse_envelope
from hostile_helpers import pg_canary, pg_fingerprint
from pg_cluster import connect
from runner_helpers import write_folder

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


def test_an_interrupted_migrate_prints_one_envelope_and_claims_nothing(
        tmp_path: Path, pg_url: str) -> None:
    """Ctrl-C (or a CI job cancelled) in the middle of a migration. Before: click's bare
    "Aborted!" on stderr and nothing on stdout, although `--format json` promises exactly one
    envelope on every path. The migration that was running is rolled back and not recorded."""
    folder = write_folder(tmp_path / "m", [("0000_init", "CREATE TABLE a (x integer);"),
                                           ("0001_slow", SLOW)], dialect="postgresql")
    with connect(pg_url) as conn:
        pg_canary(conn)
    proc = subprocess.Popen(
        [sys.executable, "-c", "import signal; signal.signal(signal.SIGINT, "
         "signal.default_int_handler); from agor_schema.cli import main; main()",
         "migrate", "--database", pg_url, "--migrations", str(folder), "--format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_query(pg_url, "pg_sleep(60)")
        proc.send_signal(signal.SIGINT)
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
    json.dumps(doc)  # (the envelope is plain JSON data)
