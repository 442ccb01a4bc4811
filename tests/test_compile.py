"""`agorschema compile` on the example project: deterministic bytes, idempotence, the editor
JSON Schema, and an example schema that exercises every DSL feature."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from envelope_helpers import parse_envelope

from agor_schema.cli import main
from agor_schema.compiler import compile_project, load_specs
from agor_schema.config import load_config
from agor_schema.spec.types import LOGICAL_TYPES, parse_type

REPO = Path(__file__).resolve().parents[1]
SCHEMA_FILES = sorted((REPO / "schema").glob("*.yaml")) + sorted((REPO / "schema").glob("*.yml"))
SCHEMA_LINE = "# yaml-language-server: $schema="


def make_project(root: Path) -> Path:
    """A copy of the repo's pyproject.toml and schema/ (nothing generated yet)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "schema", root / "schema")
    return root


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file compile may write (generated/ and the migrations folder), by relative path."""
    cfg = load_config(root)
    out = {}
    for folder in (cfg.generated, cfg.migrations):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                out[str(path.relative_to(root))] = path.read_bytes()
    return out


def raw_tables() -> dict[str, dict]:
    """The example schema as authored (before dialect resolution), all files merged."""
    tables: dict[str, dict] = {}
    for path in SCHEMA_FILES:
        tables.update((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("tables", {}))
    return tables


@pytest.fixture(scope="module")
def schema_json() -> dict:
    from agor_schema.jsonschema import dsl_json_schema_text

    return json.loads(dsl_json_schema_text())


# ----------------------------------------------------------------------------- compile


def test_compile_is_byte_for_byte_deterministic(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = make_project(tmp_path / "a")
    second = make_project(tmp_path / "b")
    compile_project(load_config(first))
    compile_project(load_config(second))
    a, b = tree_bytes(first), tree_bytes(second)
    assert {"generated/sqlite.sql", "generated/postgres.sql",
            "generated/agorschema.schema.json"} <= set(a)
    assert any(p.endswith("_journal.json") for p in a)
    assert any(p.endswith("_snapshot.json") for p in a)
    assert sorted(a) == sorted(b)
    for path in a:
        assert a[path] == b[path], f"{path} differs between two compiles of the same schema"
    # SOURCE_DATE_EPOCH fixes the journal's `when`.
    journal = json.loads(a["drizzle/sqlite/meta/_journal.json"])
    assert journal["entries"][0]["when"] == 1_700_000_000_000


def test_generated_files_of_the_repo_are_current(tmp_path: Path):
    project = make_project(tmp_path / "p")
    compile_project(load_config(project))
    for name in ("sqlite.sql", "postgres.sql", "agorschema.schema.json"):
        assert (project / "generated" / name).read_bytes() == \
            (REPO / "generated" / name).read_bytes(), f"generated/{name} is stale"


def test_second_compile_writes_nothing(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    project = make_project(tmp_path / "p")
    first = compile_project(load_config(project))
    assert first.changed and first.written
    before = tree_bytes(project)
    mtimes = {p: os.stat(project / p).st_mtime_ns for p in before}
    second = compile_project(load_config(project))
    assert not second.changed
    assert second.written == []
    assert all(out.migration is None and not out.operations for out in second.outputs.values())
    assert tree_bytes(project) == before
    assert {p: os.stat(project / p).st_mtime_ns for p in before} == mtimes


def test_second_compile_on_the_command_line_reports_no_change(tmp_path: Path):
    project = make_project(tmp_path / "p")
    runner = CliRunner()
    first = runner.invoke(main, ["compile", "--project", str(project)])
    assert first.exit_code == 0, first.output
    assert "wrote" in first.output
    second = runner.invoke(main, ["compile", "--project", str(project), "--format", "json"])
    assert second.exit_code == 0, second.output
    report = parse_envelope(second.output, "compile", 0)["result"]
    assert report["changed"] is False
    assert report["written"] == [] and report["migrations"] == {}
    text = runner.invoke(main, ["compile", "--project", str(project)])
    assert text.exit_code == 0
    assert "sqlite: no schema change" in text.output
    assert "postgres: no schema change" in text.output


# ----------------------------------------------------------------------------- JSON Schema


def test_dsl_json_schema_is_a_valid_json_schema(schema_json):
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.validators.validator_for(schema_json)
    validator.check_schema(schema_json)
    committed = json.loads((REPO / "generated" / "agorschema.schema.json").read_text())
    assert committed == schema_json


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_json_schema_accepts_every_example_file(schema_json, path: Path):
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.validators.validator_for(schema_json)(schema_json)
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("where", ["column", "table", "index", "top"])
def test_json_schema_rejects_unknown_keys(schema_json, where: str):
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.validators.validator_for(schema_json)(schema_json)
    document: dict[str, Any] = {"tables": {"users": {
        "columns": {"user_id": {"type": "text", "primary_key": True}, "email": "text"},
        "indexes": {"users_email_idx": {"columns": ["email"]}},
    }}}
    assert not list(validator.iter_errors(document))
    target = {
        "column": document["tables"]["users"]["columns"]["user_id"],
        "table": document["tables"]["users"],
        "index": document["tables"]["users"]["indexes"]["users_email_idx"],
        "top": document,
    }[where]
    target["nullable"] = True  # not a DSL key anywhere
    errors = list(validator.iter_errors(document))
    assert errors and any("nullable" in e.message for e in errors)


def test_every_example_file_points_editors_at_the_json_schema():
    assert SCHEMA_FILES
    for path in SCHEMA_FILES:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith(SCHEMA_LINE), path.name
        target = (path.parent / first[len(SCHEMA_LINE):].strip()).resolve()
        assert target == (REPO / "generated" / "agorschema.schema.json").resolve(), path.name


# ----------------------------------------------------------------------------- example schema


def columns_of(tables: dict) -> list[tuple[str, str, Any]]:
    return [(t, c, spec) for t, table in tables.items()
            for c, spec in (table.get("columns") or {}).items()]


def is_per_dialect(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= {"sqlite", "postgres"}


def test_example_schema_has_at_least_twelve_tables():
    specs = load_specs(load_config(REPO))
    assert len(raw_tables()) >= 12
    assert all(len(spec.tables) >= 12 for spec in specs.values())
    for name in ("sessions", "tasks", "messages", "boards", "board_objects", "board_comments",
                 "repos", "worktrees", "users", "mcp_servers", "session_mcp_servers"):
        assert name in raw_tables()


def test_example_schema_uses_every_dsl_feature():
    tables = raw_tables()
    cols = columns_of(tables)
    mappings = [(t, c, s) for t, c, s in cols if isinstance(s, dict)]
    indexes = [ix for t in tables.values() for ix in (t.get("indexes") or {}).values()]
    index_maps = [ix for ix in indexes if isinstance(ix, dict)]
    checks = [ch for t in tables.values() for ch in (t.get("checks") or {}).values()]
    declared = frozenset(t for p in SCHEMA_FILES
                         for t in (yaml.safe_load(p.read_text(encoding="utf-8")) or {}).get(
                             "types") or {})
    parsed = [parse_type(s if isinstance(s, str) else s["type"], declared) for _, _, s in cols]
    type_names = {lt.name for lt in parsed} | {lt.element.name for lt in parsed if lt.element}
    timestamps = {(lt.precision is not None, lt.with_tz) for lt in parsed
                  if lt.name == "timestamp"}
    json_defaults = [s["default"] for _, _, s in mappings
                     if "default" in s and parse_type(s["type"]).name == "json"]
    top_level_enum_check = any(
        (yaml.safe_load(p.read_text(encoding="utf-8")) or {}).get("enum_check") for p in SCHEMA_FILES)

    features = {
        "every logical type": set(LOGICAL_TYPES) <= type_names,
        "enum type column": "enum" in type_names,
        "array column": "array" in type_names,
        "multi-dimensional array": any(lt.dims > 1 for lt in parsed),
        "array of an enum": any(lt.element and lt.element.name == "enum" for lt in parsed),
        "declared custom type": "custom" in type_names,
        "timestamp precision and without time zone": timestamps >= {
            (False, True), (True, True), (False, False), (True, False)},
        "shorthand column": any(isinstance(s, str) for _, _, s in cols),
        "shorthand index": any(isinstance(ix, list) for ix in indexes),
        "composite primary key": any(isinstance(t.get("primary_key"), list) for t in tables.values()),
        "self-referencing foreign key": any(
            str(s.get("references", "")).split(".")[0] == t for t, _, s in mappings),
        "partial unique index": any(ix.get("unique") and ix.get("where") for ix in index_maps),
        "expression index": any(ix.get("expressions") for ix in index_maps),
        "JSON default {}": {} in json_defaults,
        "JSON default []": [] in json_defaults,
        "JSON default object": any(isinstance(d, dict) and d for d in json_defaults),
        "only: on a table": any(t.get("only") for t in tables.values()),
        "only: on a column": any(s.get("only") for _, _, s in mappings),
        "only: on an index": any(ix.get("only") for ix in index_maps),
        "sqlite:/postgres: override on a table": any(
            "sqlite" in t or "postgres" in t for t in tables.values()),
        "sqlite:/postgres: override on a column": any(
            "sqlite" in s or "postgres" in s for _, _, s in mappings),
        "enum": any(s.get("enum") for _, _, s in mappings),
        "enum_check": top_level_enum_check or any(s.get("enum_check") for _, _, s in mappings),
        "per-dialect default": any(is_per_dialect(s.get("default")) for _, _, s in mappings),
        "per-dialect check": any(is_per_dialect(ch) for ch in checks),
        "{sql: ...} default": any(isinstance(s.get("default"), dict) and "sql" in s["default"]
                                  for _, _, s in mappings),
        "default: now": any(s.get("default") == "now" for _, _, s in mappings),
        "renamed_from": any(s.get("renamed_from") for _, _, s in mappings)
        or any(t.get("renamed_from") for t in tables.values()),
        "table-level foreign key": any(t.get("foreign_keys") for t in tables.values()),
        "composite foreign key": any(len(fk["columns"]) > 1 for t in tables.values()
                                     for fk in t.get("foreign_keys") or []),
        "on_delete cascade": any(s.get("on_delete") == "cascade" for _, _, s in mappings),
        "on_delete set null": any(s.get("on_delete") == "set null" for _, _, s in mappings),
        "on_update": any(s.get("on_update") for _, _, s in mappings),
        "autoincrement": any(s.get("autoincrement") for _, _, s in mappings),
        "unique column": any(s.get("unique") for _, _, s in mappings),
        "composite unique": any(t.get("unique") for t in tables.values()),
        "checks": bool(checks),
        "table comment": any(t.get("comment") for t in tables.values()),
        "quoted numeric(p,s)": any(isinstance(s, dict) and "," in s.get("type", "")
                                   for _, _, s in cols),
    }
    missing = [name for name, used in features.items() if not used]
    assert not missing, f"the example schema does not use: {', '.join(missing)}"


def test_example_schema_dialect_specific_parts():
    specs = load_specs(load_config(REPO))
    sqlite, postgres = specs["sqlite"], specs["postgres"]
    assert "audit_log" in postgres.tables and "audit_log" not in sqlite.tables
    assert "local_cache" in sqlite.tables and "local_cache" not in postgres.tables
    assert "tenant_id" in postgres.tables["users"].columns
    assert "tenant_id" not in sqlite.tables["users"].columns
    assert postgres.tables["messages"].columns["content_preview"].type == "varchar(200)"
    assert sqlite.tables["messages"].columns["content_preview"].type == "text"
    assert postgres.tables["sessions"].indexes["sessions_active_idx"].where != \
        sqlite.tables["sessions"].indexes["sessions_active_idx"].where
