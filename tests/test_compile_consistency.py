"""`compile` on folders `check` finds inconsistent reports what check reports (exit 1,
nothing written) instead of "no schema change"; a migration removed whole is accepted."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from envelope_helpers import parse_envelope

from agor_schema.cli import main

V1 = "tables:\n  users:\n    columns:\n      id: {type: integer, primary_key: true}\n"
V2 = V1 + "      email: text\n"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".agorschema-cache" not in p.parts}


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    (tmp_path / "schema").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.agorschema]\n", encoding="utf-8")
    (tmp_path / "schema" / "app.yaml").write_text(V1, encoding="utf-8")
    assert run("compile", "--project", str(tmp_path)).exit_code == 0
    (tmp_path / "schema" / "app.yaml").write_text(V2, encoding="utf-8")
    assert run("compile", "--project", str(tmp_path)).exit_code == 0
    return tmp_path


def drop_journal_entry(folder: Path, tag: str) -> None:
    path = folder / "meta" / "_journal.json"
    journal = json.loads(path.read_text())
    journal["entries"] = [e for e in journal["entries"] if e["tag"] != tag]
    path.write_text(json.dumps(journal, indent=2))


@pytest.mark.parametrize("removed", ["sql", "sql+journal", "sql+snapshot"])
def test_compile_reports_what_check_reports_on_a_half_removed_migration(
        project: Path, removed: str):
    for dialect in ("sqlite", "postgres"):
        folder = project / "drizzle" / dialect
        sql = next(folder.glob("0001_*.sql"))
        sql.unlink()
        if "journal" in removed:
            drop_journal_entry(folder, sql.stem)
        if "snapshot" in removed:
            (folder / "meta" / "0001_snapshot.json").unlink()
    before = tree(project)
    checked = run("check", "--project", str(project))
    assert checked.exit_code == 1
    stale = [line for line in checked.stderr.splitlines() if line.startswith("stale: ")]
    assert stale

    compiled = run("compile", "--project", str(project))
    assert compiled.exit_code == 1
    assert "no schema change" not in compiled.output
    reported = [line for line in compiled.stderr.splitlines() if line.startswith("stale: ")]
    assert reported == stale  # the same sentences check prints
    assert "nothing was written" in compiled.stderr
    assert tree(project) == before
    as_json = parse_envelope(run("compile", "--project", str(project), "--format", "json").stdout,
                             "compile", 1)["result"]
    assert as_json["refused"] is True
    assert as_json["problems"] == [line[len("stale: "):] for line in stale]
    assert run("new", "backfill", "--project", str(project)).exit_code == 1
    assert tree(project) == before


def test_a_migration_removed_whole_is_written_again(project: Path):
    written = tree(project)
    for dialect in ("sqlite", "postgres"):
        folder = project / "drizzle" / dialect
        sql = next(folder.glob("0001_*.sql"))
        sql.unlink()
        (folder / "meta" / "0001_snapshot.json").unlink()
        drop_journal_entry(folder, sql.stem)
    checked = run("check", "--project", str(project))
    assert checked.exit_code == 1
    assert re.search(r"the schema changed since the last compile \(sqlite: add_column\)",
                     checked.stderr), checked.stderr
    compiled = run("compile", "--project", str(project))
    assert compiled.exit_code == 0, compiled.output
    assert "sqlite: wrote 0001_add_users_email" in compiled.stdout
    assert tree(project) == written  # byte-identical, checksums included
    assert run("check", "--project", str(project)).exit_code == 0
