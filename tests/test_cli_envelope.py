"""`--format json`: every command, on every exit code, prints exactly one envelope object.

Runs the installed `agorschema` command in a subprocess (the real CLI: entry point, click
parsing, stdout/stderr as a user sees them) on a small SQLite project.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from envelope_helpers import parse_envelope

AGORSCHEMA = str(Path(sys.executable).with_name("agorschema"))
PYPROJECT = """\
[tool.agorschema]
dialects = ["sqlite"]
database = "sqlite:///app.db"
"""
SCHEMA = """\
tables:
  users:
    columns:
      id: {type: integer, primary_key: true}
      name: text
"""


def agorschema(project: Path, *args: str) -> subprocess.CompletedProcess:
    """The real command line, run in `project`, with no database URL from the environment."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "AGORSCHEMA_DATABASE_URL", "AGORSCHEMA_VERIFY_PG_URL")}
    return subprocess.run([AGORSCHEMA, *args], cwd=project,
                          capture_output=True, text=True, env=env, timeout=120)


def make(root: Path, schema: str = SCHEMA) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "schema").mkdir(exist_ok=True)
    (root / "schema" / "app.yaml").write_text(schema)
    return root


@pytest.fixture
def compiled(tmp_path: Path) -> Path:
    project = make(tmp_path / "p")
    assert agorschema(project, "compile").returncode == 0
    return project


def envelope(project: Path, command: str, code: int, *args: str) -> dict:
    """Run `command --format json *args`; assert exit code, one object on stdout, no traceback."""
    result = agorschema(project, command, *args, "--format", "json")
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return parse_envelope(result.stdout, command, code)


# --------------------------------------------------------------------------- compile


def test_compile_0_1_2(tmp_path: Path) -> None:
    project = make(tmp_path / "p")
    doc = envelope(project, "compile", 0)
    assert doc["result"]["migrations"] == {"sqlite": "0000_create_users"}
    assert doc["errors"] == []
    (project / "schema" / "app.yaml").write_text(SCHEMA.replace("      name: text\n", ""))
    refused = envelope(project, "compile", 1)
    assert refused["result"]["refused"] is True
    assert refused["errors"][0]["table"] == "users"
    assert refused["errors"][0]["column"] == "name"
    (project / "schema" / "app.yaml").write_text(SCHEMA.replace("name: text", "name: strng"))
    bad = envelope(project, "compile", 2)
    err = bad["errors"][0]
    assert err["file"].endswith("app.yaml") and err["line"] == 5 and err["col"] == 13
    assert (err["table"], err["column"]) == ("users", "name")
    assert "unknown type 'strng'" in err["message"]
    usage = envelope(project, "compile", 2, "--bogus")
    assert "No such option '--bogus'" in usage["errors"][0]["message"]


def test_compile_warnings_are_listed(compiled: Path) -> None:
    (compiled / "schema" / "app.yaml").write_text(
        SCHEMA + "      age: {type: integer, not_null: true}\n")
    doc = envelope(compiled, "compile", 0)
    assert any(w.get("column") == "age" and "NOT NULL" in w["message"] for w in doc["warnings"])


# --------------------------------------------------------------------------- new


def test_new_0_and_2(compiled: Path) -> None:
    doc = envelope(compiled, "new", 0, "backfill")
    assert doc["result"]["migrations"] == {"sqlite": "0001_backfill"}
    missing = envelope(compiled, "new", 2)
    assert "Missing argument 'NAME'" in missing["errors"][0]["message"]
    (compiled / "schema" / "app.yaml").write_text("tables: [")
    broken = envelope(compiled, "new", 2, "x")
    assert broken["errors"][0]["file"].endswith("app.yaml")


# --------------------------------------------------------------------------- check


def test_check_0_1_2(compiled: Path) -> None:
    assert envelope(compiled, "check", 0)["result"]["problems"] == []
    ddl = compiled / "generated" / "sqlite.sql"
    ddl.write_text(ddl.read_text() + "-- edited\n")
    stale = envelope(compiled, "check", 1)
    assert stale["errors"] and "sqlite.sql" in stale["errors"][0]["message"]
    (compiled / "pyproject.toml").write_text(PYPROJECT + 'shema = "x"\n')
    bad = envelope(compiled, "check", 2)
    assert "shema" in bad["errors"][0]["message"]
    assert bad["errors"][0]["file"].endswith("pyproject.toml")


# --------------------------------------------------------------------------- migrate / status


def test_migrate_0_1_2(compiled: Path) -> None:
    doc = envelope(compiled, "migrate", 0)
    assert [m["tag"] for m in doc["result"]["applied"]] == ["0000_create_users"]
    assert envelope(compiled, "new", 0, "broken")["ok"]
    custom = compiled / "drizzle" / "sqlite" / "0001_broken.sql"
    custom.write_text(custom.read_text() + "\nINSERT INTO nowhere VALUES (1);\n")
    failed = envelope(compiled, "migrate", 1)
    err = failed["errors"][-1]
    assert err["kind"] == "failed" and err["migration"] == "0001_broken"
    assert err["file"].endswith("0001_broken.sql") and "nowhere" in err["statement"]
    bad = envelope(compiled, "migrate", 2, "--database", "mysql://x/y")
    assert "mysql" in bad["errors"][0]["message"]
    usage = envelope(compiled, "migrate", 2, "--lock-timeout", "soon")
    assert "soon" in usage["errors"][0]["message"]


def test_status_0_1_2(compiled: Path) -> None:
    doc = envelope(compiled, "status", 0)
    assert doc["result"]["pending"] == ["0000_create_users"]
    (compiled / "app.db").write_bytes(b"this is not a database" * 100)
    unreadable = envelope(compiled, "status", 1)
    assert unreadable["errors"][0]["kind"] == "connect"
    bad = envelope(compiled, "status", 2, "--database", "nonsense")
    assert "unsupported database URL" in bad["errors"][0]["message"]


# --------------------------------------------------------------------------- diff / verify


def test_diff_0_1_2(compiled: Path) -> None:
    assert envelope(compiled, "migrate", 0)["ok"]
    assert envelope(compiled, "diff", 0)["result"]["drift"] is False
    with sqlite3.connect(compiled / "app.db") as conn:
        conn.execute("ALTER TABLE users ADD COLUMN nickname text")
    drift = envelope(compiled, "diff", 1)
    assert drift["errors"][0]["table"] == "users"
    assert "nickname" in drift["errors"][0]["message"]
    bad = envelope(compiled, "diff", 2, "--database", "nonsense")
    assert bad["errors"]


def test_verify_0_1_2(compiled: Path) -> None:
    doc = envelope(compiled, "verify", 0)
    assert doc["result"]["dialects"][0]["status"] == "ok"
    sql = compiled / "drizzle" / "sqlite" / "0000_create_users.sql"
    sql.write_text(sql.read_text() + "--> statement-breakpoint\nALTER TABLE `users` ADD `x` integer;")
    failed = envelope(compiled, "verify", 1)
    assert any(e.get("table") == "users" for e in failed["errors"])
    (compiled / "schema" / "app.yaml").write_text(SCHEMA.replace("text", "txt"))
    assert envelope(compiled, "verify", 2)["errors"][0]["column"] == "name"


# --------------------------------------------------------------------------- the group


def test_unknown_command_and_text_mode(compiled: Path) -> None:
    unknown = agorschema(compiled, "frobnicate", "--format", "json")
    assert unknown.returncode == 2
    assert parse_envelope(unknown.stdout, "frobnicate", 2)["errors"]
    equals = agorschema(compiled, "check", "--format=json")
    assert parse_envelope(equals.stdout, "check", 0)["ok"]
    text = agorschema(compiled, "compile", "--bogus")
    assert text.returncode == 2 and text.stdout == "" and "No such option" in text.stderr


def test_new_1_on_a_stale_schema(compiled: Path) -> None:
    (compiled / "schema" / "app.yaml").write_text(SCHEMA + "      email: text\n")
    stale = envelope(compiled, "new", 1, "backfill")
    assert "schema changed since the last compile" in stale["errors"][0]["message"]


def test_init_0_and_2(tmp_path: Path) -> None:
    doc = envelope(tmp_path, "init", 0)
    assert "pyproject.toml" in doc["result"]["created"]
    assert "repo: local" in doc["result"]["pre_commit"]
    again = envelope(tmp_path, "init", 0)
    assert again["result"]["changed"] is False
    (tmp_path / "pyproject.toml").write_text("[tool.agorschema\n")
    broken = envelope(tmp_path, "init", 2)
    assert "invalid TOML" in broken["errors"][0]["message"]
    assert broken["errors"][0]["file"].endswith("pyproject.toml")


def test_undo_0_1_2(compiled: Path) -> None:
    nothing = compiled.parent / "empty"
    make(nothing)
    assert envelope(nothing, "undo", 1)["errors"]  # nothing to undo
    (compiled / "schema" / "app.yaml").write_text(SCHEMA + "      email: text\n")
    assert envelope(compiled, "compile", 0)["ok"]
    bad = envelope(compiled, "undo", 2, "--database", "nonsense")
    assert bad["errors"]
    done = envelope(compiled, "undo", 0)
    assert done["result"]["undone"] is True


def test_help_with_json_is_the_envelope_for_every_command(tmp_path: Path) -> None:
    """`--help`/`-h` with `--format json` is one envelope whose result is the help text, for
    every command and the group; without JSON it stays click's text."""
    from agor_schema.cli import main

    for command in sorted(main.commands):
        flag = "-h" if command < "m" else "--help"
        doc = envelope(tmp_path, command, 0, flag)
        assert doc["result"]["help"].startswith(f"Usage: agorschema {command} "), doc
    group = agorschema(tmp_path, "--help", "--format=json")
    assert group.returncode == 0, group.stderr
    assert "COMMAND" in parse_envelope(group.stdout, "agorschema", 0)["result"]["help"]
    text = agorschema(tmp_path, "compile", "--help")
    assert text.returncode == 0 and text.stdout.startswith("Usage: agorschema compile")


def test_per_dialect_findings_name_their_dialect(tmp_path: Path) -> None:
    """A destructive change refused in both dialects is two errors that say which engine
    each is about (the text says `[sqlite]` / `[postgres]`)."""
    project = make(tmp_path / "p")
    (project / "pyproject.toml").write_text(PYPROJECT.replace('["sqlite"]',
                                                              '["sqlite", "postgres"]'))
    assert agorschema(project, "compile").returncode == 0
    (project / "schema" / "app.yaml").write_text(SCHEMA.replace("      name: text\n", ""))
    doc = envelope(project, "compile", 1)
    assert [(e["dialect"], e["table"], e["column"]) for e in doc["errors"]] == [
        ("sqlite", "users", "name"), ("postgres", "users", "name")]
