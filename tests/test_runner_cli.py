"""`agorschema migrate` / `status` commands: output, JSON, exit codes, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from envelope_helpers import parse_envelope
from runner_helpers import append_migration, sql_file, sqlite_path, write_folder

from agor_schema.cli_runner import migrate_command, status_command

INIT = sql_file("CREATE TABLE a (x integer);", "INSERT INTO a VALUES (1), (1);")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "m", [("0000_init", INIT)])


def run(command, *args: str):
    return CliRunner().invoke(command, list(args))


def test_migrate_then_up_to_date(sqlite_url: str, folder: Path) -> None:
    first = run(migrate_command, "--database", sqlite_url, "--migrations", str(folder))
    assert first.exit_code == 0, first.output
    assert "applied 0000_init (2 statements" in first.stdout
    assert "applied 1 migration(s)" in first.stdout
    again = run(migrate_command, "--database", sqlite_url, "--migrations", str(folder))
    assert again.exit_code == 0
    assert "up to date: 1 migration(s) already applied" in again.stdout


def test_failed_migration_exit_1_no_traceback(sqlite_url: str, folder: Path) -> None:
    append_migration(folder, "0001_unique", "CREATE UNIQUE INDEX a_x ON a (x);")
    result = run(migrate_command, "--database", sqlite_url, "--migrations", str(folder))
    assert result.exit_code == 1
    assert "applied 0000_init" in result.stdout  # what did happen is still reported
    assert "error: migration 0001_unique failed and was rolled back" in result.stderr
    assert "0001_unique.sql:1" in result.stderr
    assert "UNIQUE constraint failed: a.x" in result.stderr
    assert "Traceback" not in result.output


def test_refused_exit_1_and_json(sqlite_url: str, folder: Path) -> None:
    run(migrate_command, "--database", sqlite_url, "--migrations", str(folder))
    (folder / "0000_init.sql").write_text(INIT + " -- edited")
    result = run(migrate_command, "--database", sqlite_url, "--migrations", str(folder),
                 "--format", "json")
    assert result.exit_code == 1
    payload = parse_envelope(result.stdout, "migrate", 1)
    assert payload["ok"] is False and payload["errors"][-1]["kind"] == "refused"
    assert payload["errors"][0]["kind"] == "changed"
    assert payload["errors"][0]["migration"] == "0000_init"
    ok = run(migrate_command, "--database", sqlite_url, "--migrations", str(folder),
             "--allow-changed")
    assert ok.exit_code == 0 and "warning: [changed]" in ok.stderr
    assert "accepted the edited file of 0000_init" in ok.stdout


def test_usage_errors_exit_2(tmp_path: Path, folder: Path) -> None:
    bad_url = run(migrate_command, "--database", "mysql://x/y", "--migrations", str(folder))
    assert bad_url.exit_code == 2 and "unsupported database URL" in bad_url.stderr
    no_folder = run(status_command, "--database", f"sqlite:///{tmp_path / 'x.db'}",
                    "--migrations", str(tmp_path / "missing"))
    assert no_folder.exit_code == 2 and "_journal.json: not found" in no_folder.stderr
    bad_flag = run(migrate_command, "--format", "xml")
    assert bad_flag.exit_code == 2
    for result in (bad_url, no_folder, bad_flag):
        assert "Traceback" not in result.output


def test_dry_run_prints_sql(sqlite_url: str, folder: Path) -> None:
    result = run(migrate_command, "--database", sqlite_url, "--migrations", str(folder),
                 "--dry-run")
    assert result.exit_code == 0
    assert "-- 0000_init.sql (when" in result.stdout
    assert "CREATE TABLE a (x integer);" in result.stdout
    assert "nothing was changed" in result.stdout
    assert not Path(sqlite_path(sqlite_url)).exists()


def test_baseline_and_status(sqlite_url: str, folder: Path) -> None:
    result = run(migrate_command, "--database", sqlite_url, "--migrations", str(folder),
                 "--baseline")
    assert result.exit_code == 0
    assert "recorded 0000_init as applied (baseline" in result.stdout
    append_migration(folder, "0001_next", "CREATE TABLE b (y);")
    text = run(status_command, "--database", sqlite_url, "--migrations", str(folder))
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert any(line.split()[:2] == ["0000_init", "applied"] and "2023-11-14" in line
               for line in lines)
    assert any(line.split()[:3] == ["0001_next", "pending", "-"] for line in lines)
    assert "1 applied, 1 pending" in text.stdout
    data = parse_envelope(run(status_command, "--database", sqlite_url, "--migrations",
                              str(folder), "--format", "json").stdout, "status", 0)["result"]
    assert data["applied"] == ["0000_init"] and data["pending"] == ["0001_next"]
    assert data["migrations"][0]["state"] == "applied"


def test_every_option_has_help() -> None:
    for command in (migrate_command, status_command):
        for param in command.params:
            assert getattr(param, "help", None), f"{command.name} {param.name} lacks help"


def test_import_loads_no_heavy_modules() -> None:
    code = ("import sys, agor_schema.cli_runner; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('psycopg', 'sqlglot', 'jinja2')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_project_option_reads_its_settings(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[tool.agorschema]\ndatabase = "sqlite:///app.db"\nmigrations = "mig"\n')
    write_folder(project / "mig" / "sqlite", [("0000_init", INIT)])
    result = run(migrate_command, "--project", str(project))
    assert result.exit_code == 0, result.output
    assert (project / "app.db").exists()
    assert "0 pending" in run(status_command, "--project", str(project)).stdout



def test_json_records_are_objects_in_field_order(sqlite_url: str, folder: Path) -> None:
    """The results are NamedTuples and plain classes (no dataclasses on the start-up path):
    `--format json` still shows every record as an object with its fields in order."""
    applied = parse_envelope(run(migrate_command, "--database", sqlite_url, "--migrations",
                                 str(folder), "--format", "json").stdout, "migrate", 0)
    assert list(applied["result"]) == [
        "database", "dialect", "migrations_dir", "applied", "baselined", "accepted", "skipped",
        "planned", "warnings", "notices", "dry_run", "baseline", "seconds"]
    assert list(applied["result"]["applied"][0]) == [
        "tag", "when", "hash", "statements", "seconds", "mode", "notes"]
    assert applied["result"]["applied"][0]["notes"] == []
    gone = write_folder(folder.parent / "other", [("0000_other", "CREATE TABLE b (y text);")],
                        whens=[1])
    status = parse_envelope(run(status_command, "--database", sqlite_url, "--migrations",
                                str(gone), "--format", "json").stdout, "status", 0)
    result = status["result"]
    assert [list(r) for r in result["unknown_records"]] == [["id", "hash", "created_at"]]
    assert list(result["migrations"][0]) == [
        "tag", "when", "hash", "state", "recorded_hash", "recorded_created_at", "record_id"]
    kinds = {p["kind"]: list(p) for p in result["problems"]}
    assert kinds["unknown_record"] == ["kind", "tag", "message", "blocking"]
    assert kinds["out_of_order"] == ["kind", "tag", "message", "blocking"]
    refused = parse_envelope(run(migrate_command, "--database", sqlite_url, "--migrations",
                                 str(gone), "--format", "json").stdout, "migrate", 1)
    problems = refused["result"]["error"]["problems"]
    assert [p["kind"] for p in problems] == ["out_of_order"]
    assert problems[0]["blocking"] is True and problems[0]["tag"] == "0000_other"
