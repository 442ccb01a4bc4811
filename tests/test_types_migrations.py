"""Every change kind of the new types, on real SQLite and PostgreSQL, with rows kept.

Enum types: create, add a value (at the end, in the middle), rename a value, rename the type,
remove a value (destructive: the type is rebuilt), reorder, drop; columns changed to and from
an enum; serial types; time-zone changes; json -> json_text; arrays; custom types. Each case
goes v1 -> rows -> v2 through `migration_cases.run_case` (catalog equals a fresh v2, rows
unchanged). A new enum value used in the same migration goes to a file of its own.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest
from catalog import Project
from migration_cases import Case

import agor_schema

TOP = {"enum_check": True}


def items(status: str | None = "enum(status)", **columns) -> dict:
    spec = {"columns": {
        "id": {"type": "integer", "primary_key": True},
        "status": {"type": status, "not_null": True, "default": "a"},
        "note": "text",
    }}
    if status is None:
        spec["columns"].pop("status")
    for key, value in columns.items():
        if value is None:
            spec["columns"].pop(key, None)
        else:
            spec["columns"][key] = value
    return spec


ROWS = {"items": [{"id": 1, "status": "a", "note": "x"}, {"id": 2, "status": "b", "note": None},
                  {"id": 3, "status": "a", "note": "it's"}]}
ONLY_A = {"items": [{"id": 1, "status": "a", "note": "x"}, {"id": 3, "status": "a", "note": None}]}


def enums_of(conn) -> dict[str, list[str]]:
    found = conn.execute(
        "SELECT t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_type t "
        "JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname").fetchall()
    return {name: list(labels) for name, labels in found}


def expect_enums(wanted: dict[str, list[str]]):
    def check(conn, dialect: str) -> None:
        if dialect == "postgres":
            assert enums_of(conn) == wanted
    return check


def case(id_: str, v1: dict, v2: dict, rows=ROWS, enums1=None, enums2=None, **kw) -> Case:
    top1 = {**TOP, "enums": enums1 or {"status": ["a", "b"]}}
    top2 = {**TOP, "enums": enums2 or {"status": ["a", "b"]}}
    c = Case(id_, v1, copy.deepcopy(rows), v2, **kw)
    c.top = top1
    c.top2 = top2  # type: ignore[attr-defined]
    return c


CASES = [
    case("create_enum_and_column", {"items": items(status="text")},
         {"items": items(status="text", kind={"type": "enum(status)", "default": "b"})},
         rows={"items": [{"id": 1, "status": "z", "note": None}]},
         enums2={"status": ["a", "b"]}, after=expect_enums({"status": ["a", "b"]})),
    case("add_value_at_end", {"items": items()}, {"items": items()},
         enums2={"status": ["a", "b", "c"]}, after=expect_enums({"status": ["a", "b", "c"]})),
    case("add_value_in_the_middle", {"items": items()}, {"items": items()},
         enums2={"status": ["a", "c", "b", "d"]},
         after=expect_enums({"status": ["a", "c", "b", "d"]})),
    case("remove_value", {"items": items()}, {"items": items()}, rows=ONLY_A,
         enums2={"status": ["a"]}, destructive=True, after=expect_enums({"status": ["a"]})),
    case("reorder_values", {"items": items()}, {"items": items()},
         enums2={"status": ["b", "a"]}, after=expect_enums({"status": ["b", "a"]})),
    case("text_to_enum", {"items": items(status="text")}, {"items": items()},
         enums1={"status": ["a", "b"]}),
    case("enum_to_text", {"items": items()}, {"items": items(status="text")},
         enums2={"status": ["a", "b"]}),
    case("drop_enum_column_and_type", {"items": items()},
         {"items": items(status=None)}, enums2={"other": ["x"]}, destructive=True,
         after=expect_enums({"other": ["x"]})),
    case("rename_enum_value", {"items": items()}, {"items": items()},
         enums2={"status": ["a", {"name": "bee", "renamed_from": "b"}]},
         transform={("items", "status"): lambda v: "bee" if v == "b" else v},
         after=expect_enums({"status": ["a", "bee"]})),
    case("add_array_and_custom_columns", {"items": items()},
         {"items": items(tags={"type": "text[]", "not_null": True, "default": ["x", "y'z"]},
                         grid="integer[][]", label="ci")}),
]
PG_ONLY_CASES = [
    case("rename_enum_type", {"items": items()}, {"items": items(status="enum(state)")},
         enums2={"state": {"values": ["a", "b"], "renamed_from": "status"}},
         after=expect_enums({"state": ["a", "b"]})),
    case("integer_to_serial_and_serial_to_bigserial",
         {"items": items(), "seq": {"columns": {"id": {"type": "integer", "primary_key": True},
                                                "big": {"type": "serial", "only": "postgres"}}}},
         {"items": items(), "seq": {"columns": {"id": {"type": "serial", "primary_key": True},
                                                "big": {"type": "bigserial",
                                                        "only": "postgres"}}}},
         rows={**ROWS, "seq": [{"id": 5, "big": 7}, {"id": 9, "big": 8}]}),
    case("timestamptz_to_timestamp", {"items": items(at="timestamp")},
         {"items": items(at="timestamp(3) without time zone")},
         rows={"items": [{"id": 1, "status": "a", "note": None,
                          "at": dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)}]},
         transform={("items", "at"): lambda v: v.replace(tzinfo=None)}),
    case("varchar_array_to_text_array", {"items": items(ids="varchar(36)[]")},
         {"items": items(ids="text[]")},
         rows={"items": [{"id": 1, "status": "a", "note": None, "ids": ["a", "b"]}]}),
]


def _run(c: Case, dialect: str, tmp_path: Path, pg_url: str | None) -> dict:
    """run_case with the v2 top-level keys (enums) swapped in after v1 was built."""
    import migration_cases

    original = Project.write
    calls = {"n": 0}

    def write(self, tables, **top):
        calls["n"] += 1
        return original(self, tables, **(top if calls["n"] == 1 else c.top2))

    Project.write = write  # type: ignore[method-assign]
    try:
        return migration_cases.run_case(c, dialect, tmp_path, pg_url)
    finally:
        Project.write = original  # type: ignore[method-assign]


TYPES = {"ci": {"postgres": "citext", "sqlite": "text", "extension": "citext"}}
for c in CASES + PG_ONLY_CASES:
    c.top = {**c.top, "types": TYPES}
    c.top2 = {**c.top2, "types": TYPES}  # type: ignore[attr-defined]


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_change_keeps_rows(c: Case, dialect: str, tmp_path: Path, request) -> None:
    pg_url = request.getfixturevalue("pg_url") if dialect == "postgres" else None
    _run(c, dialect, tmp_path, pg_url)


@pytest.mark.parametrize("c", PG_ONLY_CASES, ids=[c.id for c in PG_ONLY_CASES])
def test_postgres_change_keeps_rows(c: Case, tmp_path: Path, pg_url: str) -> None:
    _run(c, "postgres", tmp_path, pg_url)


def test_serial_continues_above_existing_rows(tmp_path: Path, pg_url: str, pg_conn) -> None:
    c = next(c for c in PG_ONLY_CASES if c.id.startswith("integer_to_serial"))
    project = Project(tmp_path / "again", dialects=["postgres"])
    project.write(c.v1, **c.top)
    project.compile()
    agor_schema.migrate(pg_url, project.folder("postgres"))
    pg_conn.execute('INSERT INTO "seq" ("id", "big") VALUES (5, 7), (9, 8)')
    project.write(c.v2, **c.top2)
    result = project.compile()
    sql = result.outputs["postgres"].migration.sql
    assert 'CREATE SEQUENCE "seq_id_seq" AS integer OWNED BY "seq"."id"' in sql
    assert 'ALTER SEQUENCE "seq_big_seq" AS bigint' in sql
    agor_schema.migrate(pg_url, project.folder("postgres"))
    new_id = pg_conn.execute('INSERT INTO "seq" DEFAULT VALUES RETURNING "id", "big"').fetchone()
    assert new_id[0] == 10 and new_id[1] > 0


def test_json_to_json_text_keeps_documents(tmp_path: Path, pg_url: str, pg_conn) -> None:
    project = Project(tmp_path / "p", dialects=["postgres"])
    project.write({"items": items(doc="json")}, **TOP, enums={"status": ["a", "b"]})
    project.compile()
    agor_schema.migrate(pg_url, project.folder("postgres"))
    pg_conn.execute("""INSERT INTO items (id, doc) VALUES (1, '{"b": [1, "it''s"]}')""")
    project.write({"items": items(doc="json_text")}, **TOP, enums={"status": ["a", "b"]})
    sql = project.compile().outputs["postgres"].migration.sql
    assert 'SET DATA TYPE json USING "doc"::json' in sql
    agor_schema.migrate(pg_url, project.folder("postgres"))
    assert pg_conn.execute("SELECT doc, pg_typeof(doc)::text FROM items").fetchone() == (
        {"b": [1, "it's"]}, "json")


def test_new_enum_value_used_in_the_same_change_gets_its_own_file(tmp_path: Path,
                                                                  pg_url: str) -> None:
    """ALTER TYPE ... ADD VALUE cannot be used before its transaction commits: the value is
    added in one migration file, the default that uses it comes in the next."""
    project = Project(tmp_path / "p", dialects=["sqlite", "postgres"])
    project.write({"items": items()}, **TOP, enums={"status": ["a", "b"]})
    project.compile()
    agor_schema.migrate(pg_url, project.folder("postgres"))
    v2 = items()
    v2["columns"]["status"]["default"] = "c"
    project.write({"items": v2}, **TOP, enums={"status": ["a", "b", "c"]})
    result = project.compile()
    pg = result.outputs["postgres"]
    assert [f.tag for _s, f in pg.earlier] == ["0001_add_status_c"]
    assert pg.earlier[0][1].sql == """ALTER TYPE "public"."status" ADD VALUE 'c';"""
    assert "ADD VALUE" not in pg.migration.sql and "SET DEFAULT 'c'" in pg.migration.sql
    assert pg.migration.tag.startswith("0002_")
    assert result.outputs["sqlite"].earlier == []  # SQLite has no enum types: one file
    applied = agor_schema.migrate(pg_url, project.folder("postgres"))
    assert applied.applied_tags == ["0001_add_status_c", pg.migration.tag]
    assert not project.compile().changed
    # without a use of the new value it stays one file
    project.write({"items": v2}, **TOP, enums={"status": ["a", "b", "c", "d"]})
    result = project.compile()
    assert result.outputs["postgres"].earlier == []
    assert "ADD VALUE 'd'" in result.outputs["postgres"].migration.sql


def test_undo_removes_the_enum_values_file_too(tmp_path: Path, monkeypatch) -> None:
    """`agorschema undo` after a compile that wrote two files (new values, then the rest)
    restores the folder as it was before that compile."""
    from click.testing import CliRunner

    from agor_schema.cli import main

    monkeypatch.delenv("AGORSCHEMA_CACHE", raising=False)
    project = Project(tmp_path / "p", dialects=["postgres"])
    project.write({"items": items()}, **TOP, enums={"status": ["a", "b"]})
    project.compile()
    folder = project.folder("postgres")
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    v2 = items()
    v2["columns"]["status"]["default"] = "c"
    project.write({"items": v2}, **TOP, enums={"status": ["a", "b", "c"]})
    result = project.compile()
    assert result.outputs["postgres"].earlier
    done = CliRunner().invoke(main, ["undo", "--project", str(project.root)],
                              catch_exceptions=False)
    assert done.exit_code == 0, done.output
    after = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before
