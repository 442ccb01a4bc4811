"""`agorschema check` (exit 0 clean, 1 stale/inconsistent, 2 bad input) and the destructive guard."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from catalog import Project
from click.testing import CliRunner
from envelope_helpers import parse_envelope

from agor_schema.cli import main

SCHEMA = {
    "users": {"columns": {"id": {"type": "integer", "primary_key": True},
                          "name": {"type": "varchar(40)", "not_null": True},
                          "email": "text",
                          "role": {"type": "text", "enum": ["admin", "member", "guest"]},
                          "score": {"type": "integer"}},
              "indexes": {"users_name_idx": ["name"]}},
    "posts": {"columns": {"id": {"type": "integer", "primary_key": True},
                          "user_id": {"type": "integer", "not_null": True,
                                      "references": "users.id", "on_delete": "cascade"},
                          "title": {"type": "text", "not_null": True},
                          "body": "text"}},
}


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    project = Project(tmp_path / "p")
    project.write(SCHEMA, enum_check=True)
    result = run("compile", "--project", str(project.root))
    assert result.exit_code == 0, result.output
    return project


def check(project: Project, *extra: str):
    return run("check", "--project", str(project.root), *extra)


def changed(**tables) -> dict:
    doc = copy.deepcopy(SCHEMA)
    for name, table in tables.items():
        if table is None:
            doc.pop(name)
        else:
            doc[name] = table
    return doc


def users_with(**columns) -> dict:
    table = copy.deepcopy(SCHEMA["users"])
    for key, value in columns.items():
        if value is None:
            table["columns"].pop(key)
        else:
            table["columns"][key] = value
    return table


# ------------------------------------------------------------------ check: clean and stale


def test_clean_project_passes(project: Project) -> None:
    result = check(project)
    assert result.exit_code == 0, result.output
    assert "ok" in result.output


def test_clean_project_json(project: Project) -> None:
    result = check(project, "--format", "json")
    assert result.exit_code == 0
    doc = parse_envelope(result.stdout, "check", 0)
    assert doc["result"] == {"ok": True, "problems": [], "notes": [], "warnings": [],
                             "recompiled": False}


def test_schema_changed_without_compile(project: Project) -> None:
    project.write(changed(users=users_with(bio="text")), enum_check=True)
    result = check(project)
    assert result.exit_code == 1
    assert "schema changed since the last compile" in result.stderr
    assert "agorschema compile" in result.stderr
    doc = parse_envelope(check(project, "--format", "json").stdout, "check", 1)
    assert doc["ok"] is False and doc["result"]["recompiled"] is True
    assert any("add_column" in p for p in doc["result"]["problems"])
    assert [e["message"] for e in doc["errors"]] == doc["result"]["problems"]
    # compiling fixes it
    assert run("compile", "--project", str(project.root)).exit_code == 0
    assert check(project).exit_code == 0


def test_reformatted_schema_without_change_is_only_a_note(project: Project) -> None:
    path = project.root / "schema" / "schema.yaml"
    path.write_text("# a comment\n" + path.read_text())
    result = check(project)
    assert result.exit_code == 0, result.output
    assert "note:" in result.output


def test_generated_file_edited(project: Project) -> None:
    ddl = project.root / "generated" / "sqlite.sql"
    ddl.write_text(ddl.read_text() + "\n-- hand edit\n")
    result = check(project)
    assert result.exit_code == 1
    assert "generated/sqlite.sql was edited by hand" in result.stderr


def test_generated_migration_edited(project: Project) -> None:
    sql = next(project.folder("postgres").glob("0000_*.sql"))
    sql.write_text(sql.read_text().replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))
    result = check(project)
    assert result.exit_code == 1
    assert f"drizzle/postgres/{sql.name} was edited by hand" in result.stderr


def test_snapshot_edited(project: Project) -> None:
    snap = project.folder("sqlite") / "meta" / "0000_snapshot.json"
    snap.write_text(snap.read_text() + "\n")
    result = check(project)
    assert result.exit_code == 1
    assert "0000_snapshot.json was edited by hand" in result.stderr


def _second_migration(project: Project) -> None:
    project.write(changed(users=users_with(bio="text")), enum_check=True)
    assert run("compile", "--project", str(project.root)).exit_code == 0


def _edit_journal(project: Project, dialect: str, fn) -> None:
    path = project.folder(dialect) / "meta" / "_journal.json"
    journal = json.loads(path.read_text())
    fn(journal)
    path.write_text(json.dumps(journal, indent=2))


def test_previd_collision(project: Project) -> None:
    _second_migration(project)
    meta = project.folder("sqlite") / "meta"
    first = json.loads((meta / "0000_snapshot.json").read_text())
    twin = json.loads((meta / "0001_snapshot.json").read_text())
    twin["id"] = "11111111-1111-4111-8111-111111111111"
    (meta / "0002_snapshot.json").write_text(json.dumps(twin, indent=2))
    assert twin["prevId"] == first["id"]
    result = check(project)
    assert result.exit_code == 1
    assert "share prevId" in result.stderr and "0002_snapshot.json" in result.stderr


def test_repeated_prefix(project: Project) -> None:
    _second_migration(project)
    folder = project.folder("sqlite")

    def duplicate(journal):
        entry = dict(journal["entries"][-1])
        entry.update(idx=2, when=entry["when"] + 10, tag="0001_other_branch")
        journal["entries"].append(entry)
    _edit_journal(project, "sqlite", duplicate)
    (folder / "0001_other_branch.sql").write_text("SELECT 1;")
    result = check(project)
    assert result.exit_code == 1
    assert "share the prefix 0001" in result.stderr


def test_when_not_increasing(project: Project) -> None:
    _second_migration(project)

    def rewind(journal):
        journal["entries"][1]["when"] = journal["entries"][0]["when"]
    _edit_journal(project, "postgres", rewind)
    result = check(project)
    assert result.exit_code == 1  # the journal was edited by hand after compile wrote it
    assert "_journal.json was edited by hand" in result.stderr
    # the equal `when` itself is a warning (DESIGN.md §6): see tests/test_journal_rules.py
    assert "equals the when of the earlier entry" in result.stderr


def test_journal_entry_file_missing(project: Project) -> None:
    _second_migration(project)
    sql = next(project.folder("sqlite").glob("0001_*.sql"))
    sql.unlink()
    result = check(project)
    assert result.exit_code == 1
    assert f"journal entry {sql.stem} has no file" in result.stderr


def test_custom_migration_needs_a_statement(project: Project) -> None:
    result = run("new", "backfill_names", "--project", str(project.root))
    assert result.exit_code == 0, result.output
    result = check(project)
    assert result.exit_code == 1
    assert "custom migration with no statement" in result.stderr
    for dialect in ("sqlite", "postgres"):
        path = project.folder(dialect) / "0001_backfill_names.sql"
        path.write_text(path.read_text() + "\nUPDATE \"users\" SET \"name\" = trim(\"name\");")
    result = check(project)
    assert result.exit_code == 0, result.output


def test_missing_manifest(project: Project) -> None:
    (project.root / "drizzle" / "agorschema.sum").unlink()
    result = check(project)
    assert result.exit_code == 1
    assert "agorschema.sum is missing" in result.stderr


def test_invalid_schema_exits_2(project: Project) -> None:
    (project.root / "schema" / "schema.yaml").write_text(
        "tables:\n  users:\n    columns:\n      id: {type: intger}\n")
    result = check(project)
    assert result.exit_code == 2
    assert "error:" in result.stderr and "intger" in result.stderr
    result = run("compile", "--project", str(project.root))
    assert result.exit_code == 2


def test_bad_config_exits_2(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.agorschema]\nnope = 1\n")
    result = run("check", "--project", str(tmp_path))
    assert result.exit_code == 2
    assert "unknown setting" in result.stderr


def test_stale_copy_of_the_repository_fails(tmp_path: Path) -> None:
    """The repo's own schema passes check; a copy whose schema moved on without compile fails."""
    repo = Path(__file__).resolve().parents[1]
    copy_root = tmp_path / "repo"
    copy_root.mkdir()
    shutil.copy(repo / "pyproject.toml", copy_root / "pyproject.toml")
    for part in ("schema", "generated", "drizzle"):
        if not (repo / part).is_dir():
            pytest.skip(f"repository has no {part}/ yet")
        shutil.copytree(repo / part, copy_root / part)
    result = run("check", "--project", str(copy_root))
    assert result.exit_code == 0, result.output
    first = sorted((copy_root / "schema").glob("*.yaml"))[0]
    first.write_text(first.read_text().replace("tables:\n", "tables:\n  stale_probe:\n"
                                               "    columns:\n      id: integer\n", 1))
    result = run("check", "--project", str(copy_root))
    assert result.exit_code == 1
    assert "schema changed since the last compile" in result.stderr


# ------------------------------------------------------------------ compile: destructive guard


def _refused(project: Project, doc: dict) -> list[dict]:
    before = {p: p.read_bytes() for p in project.root.rglob("*") if p.is_file()}
    project.write(doc, enum_check=True)
    schema_file = project.root / "schema" / "schema.yaml"
    before[schema_file] = schema_file.read_bytes()
    result = run("compile", "--project", str(project.root), "--format", "json")
    assert result.exit_code == 1, result.output
    doc_out = parse_envelope(result.stdout, "compile", 1)["result"]
    assert doc_out["refused"] is True and doc_out["changed"] is False
    after = {p: p.read_bytes() for p in project.root.rglob("*") if p.is_file()}
    assert after == before, "a refused compile wrote files"
    text = run("compile", "--project", str(project.root))
    assert text.exit_code == 1 and "--allow-destructive" in text.stderr
    return doc_out["findings"]


def _allowed(project: Project) -> dict:
    result = run("compile", "--project", str(project.root), "--allow-destructive",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    doc = parse_envelope(result.stdout, "compile", 0)["result"]
    assert doc["changed"] is True and doc["written"]
    assert check(project).exit_code == 0
    return doc


def test_drop_table_refused(project: Project) -> None:
    findings = _refused(project, changed(posts=None))
    assert {(f["dialect"], f["table"], f["severity"]) for f in findings} == {
        ("sqlite", "posts", "destructive"), ("postgres", "posts", "destructive")}
    assert "drops table 'posts'" in findings[0]["message"]
    _allowed(project)


def test_drop_column_refused(project: Project) -> None:
    findings = _refused(project, changed(users=users_with(email=None)))
    assert all(f["column"] == "email" for f in findings)
    assert "drops column 'email'" in findings[0]["message"]


def test_narrowing_type_refused(project: Project) -> None:
    findings = _refused(project, changed(users=users_with(
        name={"type": "varchar(10)", "not_null": True})))
    assert {f["dialect"] for f in findings} == {"sqlite", "postgres"}
    assert all("narrows type" in f["message"] for f in findings)


def test_removing_enum_value_refused(project: Project) -> None:
    findings = _refused(project, changed(users=users_with(
        role={"type": "text", "enum": ["admin", "member"]})))
    assert any("removes enum value(s) guest" in f["message"] for f in findings)
    # adding one is fine
    project.write(changed(users=users_with(
        role={"type": "text", "enum": ["admin", "member", "guest", "owner"]})), enum_check=True)
    assert run("compile", "--project", str(project.root)).exit_code == 0


def test_warnings_are_reported_but_do_not_refuse(project: Project) -> None:
    users = users_with(score={"type": "integer", "not_null": True},
                       name={"type": "text", "not_null": True},
                       nick={"type": "text", "not_null": True})
    users["checks"] = {"users_score_positive": "score >= 0"}
    project.write(changed(users=users), enum_check=True)
    result = run("compile", "--project", str(project.root), "--format", "json")
    assert result.exit_code == 0, result.output
    findings = parse_envelope(result.stdout, "compile", 0)["result"]["findings"]
    messages = [(f["dialect"], f["table"], f["column"], f["message"]) for f in findings]
    assert all(f["severity"] == "warning" for f in findings)

    def has(dialect, column, text):
        return any(d == dialect and c == column and text in m for d, _t, c, m in messages)
    # NOT NULL without a default, on an existing column and a new column
    assert has("sqlite", "score", "NOT NULL without a default")
    assert has("postgres", "nick", "without a default")
    # SQLite rebuilds users, which posts references with ON DELETE CASCADE
    assert sum("posts (ON DELETE cascade)" in m for d, t, _c, m in messages
               if d == "sqlite" and t == "users") == 1
    # PostgreSQL: SET NOT NULL scan, CHECK scan, varchar -> text needs no rewrite
    assert has("postgres", "score", "SET NOT NULL scans every row under an ACCESS EXCLUSIVE")
    assert any(d == "postgres" and "ADD CHECK scans" in m for d, _t, _c, m in messages)
    assert not has("postgres", "name", "rewrites")


def test_postgres_rewrite_reported(project: Project) -> None:
    project.write(changed(users=users_with(score="bigint")), enum_check=True)
    result = run("compile", "--project", str(project.root), "--format", "json")
    assert result.exit_code == 0
    findings = parse_envelope(result.stdout, "compile", 0)["result"]["findings"]
    assert any(f["dialect"] == "postgres" and f["column"] == "score"
               and "rewrites the whole table" in f["message"] for f in findings)


def test_compile_json_shape(project: Project) -> None:
    project.write(changed(users=users_with(bio="text")), enum_check=True)
    result = run("compile", "--project", str(project.root), "--format", "json")
    doc = parse_envelope(result.stdout, "compile", 0)["result"]
    assert set(doc) == {"changed", "migrations", "operations", "findings", "hints", "notes",
                         "written"}
    assert doc["migrations"] == {"sqlite": "0001_add_users_bio", "postgres": "0001_add_users_bio"}
    assert doc["operations"]["sqlite"] == ["add_column:users"]
    again = parse_envelope(run("compile", "--project", str(project.root), "--format",
                               "json").stdout, "compile", 0)["result"]
    assert again == {"changed": False, "migrations": {},
                     "operations": {"sqlite": [], "postgres": []}, "findings": [], "hints": [],
                     "notes": [], "written": []}
