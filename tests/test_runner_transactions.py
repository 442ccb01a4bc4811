"""The transaction model of DESIGN.md §11 through the real CLI, on real SQLite and PostgreSQL.

Every case of tests/transaction_cases.py runs on every engine profile: a canary migration
first (its table and row must survive), then the case's file. Asserted from the database
catalog and the bookkeeping table: which tables exist, whether the file was recorded, and the
exact report (which statements were committed, which rolled back, "NOT recorded").
"""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from envelope_helpers import parse_envelope
from pg_cluster import connect
from runner_helpers import append_migration, sql_file, write_folder
from transaction_cases import CASES, Case

from agor_schema.cli_runner import migrate_command, status_command

CANARY = sql_file("CREATE TABLE canary (x integer);", "INSERT INTO canary VALUES (42);")


@dataclass
class Engine:
    """One engine profile: how to reach it and read its catalog back."""

    name: str
    url: str
    dialect: str  # write_folder's dialect
    options: tuple[str, ...] = ()  # CLI options of this profile (e.g. the lock kind)

    def query(self, sql: str) -> list[tuple]:
        if self.name == "sqlite":
            conn = sqlite3.connect(self.url.split("sqlite:///", 1)[1])
            try:
                return conn.execute(sql).fetchall()
            finally:
                conn.close()
        with connect(self.url) as conn:
            return conn.execute(sql).fetchall()

    def tables(self) -> set[str]:
        if self.name == "sqlite":
            rows = self.query("SELECT name FROM sqlite_master WHERE type = 'table' "
                              "AND name NOT LIKE '\\_\\_%' ESCAPE '\\'")
        else:
            rows = self.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r[0] for r in rows}

    def recorded_hashes(self) -> list[str]:
        table = "__drizzle_migrations" if self.name == "sqlite" \
            else "drizzle.__drizzle_migrations"
        return [r[0] for r in self.query(f"SELECT hash FROM {table} ORDER BY created_at")]


# engine profiles: each runs every case (a new engine or lock kind is one more entry)
PROFILES = {
    "sqlite": ("sqlite", ()),
    "postgres": ("postgres", ()),  # session advisory lock
    "postgres-lease": ("postgres", ("--migrator-lock", "lease")),  # no session state
}


@pytest.fixture(params=list(PROFILES))
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    kind, options = PROFILES[request.param]
    if kind == "sqlite":
        return Engine("sqlite", f"sqlite:///{tmp_path / 'app.db'}", "sqlite", options)
    return Engine("postgres", request.getfixturevalue("pg_url"), "postgres", options)


def migrate_cli(engine: Engine, folder: Path, *extra: str) -> Any:
    return CliRunner().invoke(
        migrate_command,
        ["--database", engine.url, "--migrations", str(folder), *engine.options, *extra])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_transaction_model(engine: Engine, case: Case, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", [("0000_canary", CANARY)], dialect=engine.dialect)
    assert migrate_cli(engine, folder).exit_code == 0
    append_migration(folder, "0001_case", case.sql)
    digest = hashlib.sha256(case.sql.encode()).hexdigest()

    out = migrate_cli(engine, folder, "--format", "json")
    payload = parse_envelope(out.stdout, "migrate", out.exit_code)["result"]
    text = migrate_cli(engine, folder) if not case.recorded else None

    assert engine.query("SELECT x FROM canary") == [(42,)]
    tables = engine.tables()
    assert case.tables | {"canary"} <= tables, tables
    assert not (case.absent & tables), tables
    assert (digest in engine.recorded_hashes()) is case.recorded
    assert len(engine.recorded_hashes()) == 1 + case.recorded
    if case.recorded:
        assert out.exit_code == 0, out.output
        applied = payload["applied"][0]
        assert applied["tag"] == "0001_case" and applied["mode"] == case.mode
        for fragment in case.notes:
            assert any(fragment in n for n in applied["notes"]), applied["notes"]
        return
    assert out.exit_code == 1, out.output
    error = payload["error"]
    assert error["kind"] == "failed" and error["recorded"] is False
    assert error["line"] == case.failing_line
    assert case.error in error["error"]
    if case.mode == "whole_file":
        assert error["rolled_back_whole_file"] is True
        assert "failed and was rolled back" in error["message"]
        assert text is not None and "failed and was rolled back" in text.stderr
        return
    assert error["rolled_back_whole_file"] is False
    shown = [f"statement {r['number']} (line {r['line']}): {r['sql']}"
             for r in error["as_written"]["committed"]]
    assert shown == list(case.committed)
    undone = [f"statement {r['number']} (line {r['line']}): {r['sql']}"
              for r in error["as_written"]["rolled_back"]]
    assert undone == list(case.rolled_back)
    message = error["message"]  # what text output prints after "error: "
    assert "failed part-way; it ran as written" in message
    assert "was not rolled back as a whole" in message
    assert "failed and was rolled back" not in message  # never claim a rollback
    assert f"0001_case.sql:{case.failing_line}" in message or case.committed
    committed_block = message.split("committed before the failure")[1].split("the file was")[0]
    for line in case.committed:
        assert f"    - {line}" in committed_block
    assert "the file was NOT recorded as applied: the next run starts it again from the top" \
        in message
    # the second run (text output) starts the file from the top again and fails again
    assert text is not None and text.exit_code == 1
    assert "error: migration 0001_case failed" in text.stderr
    assert "the file was NOT recorded as applied" in text.stderr
    assert "Traceback" not in text.output


def test_failed_file_starts_from_the_top_next_run(engine: Engine, tmp_path: Path) -> None:
    """Not recorded means re-run from statement 1; a re-runnable file then completes."""
    folder = write_folder(tmp_path / "m", [("0000_canary", CANARY)], dialect=engine.dialect)
    append_migration(folder, "0001_fix", "BEGIN;\nCREATE TABLE IF NOT EXISTS a (x integer);\n"
                                         "COMMIT;\n" + "INSERT INTO gone VALUES (1);")
    first = migrate_cli(engine, folder)
    assert first.exit_code == 1 and "applied 0000_canary" in first.stdout
    assert "a" in engine.tables()
    (folder / "gone.sql").write_text("")  # unrelated file: ignored
    sql = "BEGIN;\nCREATE TABLE IF NOT EXISTS a (x integer);\nCOMMIT;\nCREATE TABLE gone (x int);"
    (folder / "0001_fix.sql").write_text(sql)
    second = migrate_cli(engine, folder)
    assert second.exit_code == 0, second.output
    assert "applied 0001_fix" in second.stdout and "ran as written" in second.stdout
    assert hashlib.sha256(sql.encode()).hexdigest() in engine.recorded_hashes()


def test_dry_run_shows_the_as_written_plan(engine: Engine, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", [("0000_a", "BEGIN;\nCREATE TABLE a (x integer);\n"
                                                      "COMMIT;")], dialect=engine.dialect)
    out = migrate_cli(engine, folder, "--dry-run")
    assert out.exit_code == 0, out.output
    assert "-- runs as written: it contains transaction control (BEGIN at line 1)" in out.stdout
    assert "-- after the last statement succeeded, the bookkeeping row:" in out.stdout
    assert engine.tables() <= {"canary"}  # nothing ran


def test_sqlite_trigger_body_is_not_transaction_control(tmp_path: Path) -> None:
    engine = Engine("sqlite", f"sqlite:///{tmp_path / 'app.db'}", "sqlite")
    sql = ("CREATE TABLE a (x integer);\nCREATE TABLE log (x integer);\n"
           "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  INSERT INTO log VALUES (new.x);\nEND;\n"
           "INSERT INTO a VALUES (1);\n" + FAIL_SQL)
    folder = write_folder(tmp_path / "m", [("0000_t", sql)])
    out = migrate_cli(engine, folder)
    assert out.exit_code == 1 and "failed and was rolled back" in out.stderr
    assert engine.tables() == set()  # one transaction: the trigger file left nothing


def test_commit_before_create_index_concurrently(pg_url: str, tmp_path: Path) -> None:
    """What real projects write to leave drizzle-orm's transaction before a concurrent build."""
    engine = Engine("postgres", pg_url, "postgres")
    folder = write_folder(tmp_path / "m", [("0000_t", sql_file(
        "CREATE TABLE a (x integer);",
        "COMMIT;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS a_x ON a (x);",
    ))], dialect="postgres")
    out = migrate_cli(engine, folder)
    assert out.exit_code == 0, out.output
    assert "ran as written: it contains transaction control (COMMIT at line 2)" in out.stdout
    assert "line 2: not sent: no transaction is open, so there is nothing to commit" \
        in out.stdout
    assert engine.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'a_x'::regclass") \
        == [(True,)]


def test_postgres_do_block_and_atomic_body_are_not_transaction_control(
    pg_url: str, tmp_path: Path
) -> None:
    engine = Engine("postgres", pg_url, "postgres")
    sql = ("DO $$ BEGIN CREATE TABLE a (x integer); COMMIT; END $$;\n"
           "CREATE FUNCTION f() RETURNS integer LANGUAGE sql\nBEGIN ATOMIC\n"
           "  SELECT CASE WHEN true THEN 1 END;\nEND;\n" + FAIL_SQL)
    folder = write_folder(tmp_path / "m", [("0000_t", sql)], dialect="postgres")
    out = migrate_cli(engine, folder)
    assert out.exit_code == 1 and "failed and was rolled back" in out.stderr
    # DO ... COMMIT inside a transaction block is refused by PostgreSQL; the file ran in one
    # transaction (not as written), so nothing stayed
    assert engine.tables() == set()
    ok = ("DO $$ BEGIN CREATE TABLE a (x integer); END $$;\n"
          "CREATE FUNCTION f() RETURNS integer LANGUAGE sql\nBEGIN ATOMIC\n"
          "  SELECT CASE WHEN true THEN 1 END;\nEND;\nCREATE TABLE b (x integer);")
    (folder / "0000_t.sql").write_text(ok)
    out = migrate_cli(engine, folder)
    assert out.exit_code == 0, out.output
    assert "ran as written" not in out.stdout
    assert engine.tables() == {"a", "b"}
    assert engine.query("SELECT f()") == [(1,)]


FAIL_SQL = "INSERT INTO nope VALUES (1);"


def test_cli_subprocess_reports_committed_statements(tmp_path: Path) -> None:
    """The installed entry point, end to end: exit 1, the report on stderr, no traceback."""
    db = tmp_path / "app.db"
    folder = write_folder(tmp_path / "m", [
        ("0000_canary", CANARY),
        ("0001_x", "CREATE TABLE a (x integer);\nCOMMIT;\n" + FAIL_SQL),
    ])
    done = subprocess.run(
        [str(Path(sys.executable).parent / "agorschema"), "migrate", "--database", f"sqlite:///{db}",
         "--migrations", str(folder)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "applied 0000_canary" in done.stdout
    assert "    - statement 1 (line 1): CREATE TABLE a (x integer);" in done.stderr
    assert "the file was NOT recorded as applied" in done.stderr
    assert "Traceback" not in done.stderr
    status = CliRunner().invoke(status_command, ["--database", f"sqlite:///{db}",
                                                 "--migrations", str(folder)])
    assert "0001_x" in status.stdout and "1 applied, 1 pending" in status.stdout
