"""The newer types of the DSL (enum types, arrays, declared types, serials, timestamp
variants, json_text, smallint): introspection on real SQLite and PostgreSQL, type parsing and
located validation errors. Their catalog test is the "newer_types" scenario of
tests/catalog_scenarios.py (run by tests/test_catalog.py on both engines).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from catalog import Project
from catalog_scenarios import TYPES_YAML

from agor_schema.dialects import get_dialect
from agor_schema.errors import SchemaErrors
from agor_schema.spec.types import TypeParseError, parse_type

# the project of the "newer_types" catalog scenario (tests/catalog_scenarios.py), as data
TYPES_SCHEMA = {k: v for k, v in yaml.safe_load(TYPES_YAML).items() if k != "tables"}
TYPES_TABLE = yaml.safe_load(TYPES_YAML)["tables"]["t"]


def test_introspection_reads_back_what_the_schema_builds(engine, tmp_path: Path):
    """The newer types leave no drift between a database built from the DDL and the schema:
    enum types (also outside public), serials, arrays and declared types read back as built."""
    from agor_schema.build import build_snapshot
    from agor_schema.compiler import load_specs
    from agor_schema.drift import drift, expected_snapshot

    dialect = get_dialect(engine.name)
    project = Project(tmp_path / "p", dialects=[engine.name])
    project.write({"t": TYPES_TABLE}, **TYPES_SCHEMA)
    project.compile()
    engine.apply(project.ddl(engine.name))
    live = dialect.introspect(engine.conn)
    built = build_snapshot(load_specs(project.config)[engine.name], dialect)
    found = drift(live, expected_snapshot(built, dialect, engine.conn))
    assert found.empty, [c.message for c in found.changes]
    if engine.name == "postgres":
        assert live.enums["public.mood"].values == ["sad", "ok", "it's"]
        assert live.enums["paint.color"].values == ["red", "green"]
        column = live.tables["t"].columns
        assert column["id"].type == "serial" and column["id"].default is None
        assert (column["mood"].type, column["mood"].type_schema) == ("mood", "public")
        assert (column["colors"].type, column["colors"].type_schema) == ("color[]", "paint")
        assert column["name"].extension == "citext"


# ------------------------------------------------------------------ parsing and errors


def test_parse_type_forms():
    assert parse_type("timestamp(3)").precision == 3
    assert parse_type("timestamp(3)").with_tz
    assert not parse_type("timestamp without time zone").with_tz
    assert parse_type("timestamp with time zone") == parse_type("timestamp")
    lt = parse_type("varchar(36)[][]")
    assert (lt.name, lt.dims, str(lt.element)) == ("array", 2, "varchar(36)")
    assert parse_type("enum(status)").ref == "status"
    assert parse_type("embedding", {"embedding"}).name == "custom"
    for bad in ("timestamp(9)", "serial[]", "enum(a b)", "embedding", "timestamp(x)"):
        with pytest.raises(TypeParseError):
            parse_type(bad)


def _errors(tmp_path: Path, tables: dict, **top) -> list:
    project = Project(tmp_path / "p")
    project.write(tables, **top)
    with pytest.raises(SchemaErrors) as info:
        project.compile()
    assert not (tmp_path / "p" / "drizzle").exists()  # nothing written
    return info.value.errors


@pytest.mark.parametrize("tables, top, field, message", [
    ({"t": {"columns": {"id": {"type": "integer", "primary_key": True},
                        "m": "enum(mod)"}}},
     {"enums": {"mood": ["a"]}}, "type", "did you mean 'mood'"),
    ({"t": {"columns": {"id": {"type": "integer", "primary_key": True}, "v": "vec"}}},
     {"types": {"vec": {"postgres": "vector(3)"}}}, "type", "only: postgres"),
    ({"t": {"columns": {"id": {"type": "integer", "primary_key": True},
                        "n": "serial"}}}, {}, "type", "only as a primary key in SQLite"),
    ({"t": {"columns": {"id": {"type": "integer", "primary_key": True},
                        "m": {"type": "enum(mood)", "default": "happy"}}}},
     {"enums": {"mood": ["a", "b"]}}, "default", "not a value of enum mood"),
    ({"t": {"columns": {"id": {"type": "integer", "primary_key": True},
                        "a": {"type": "integer[]", "default": ["x"]}}}},
     {}, "default", "whole number"),
    ({"t": {"columns": {"id": {"type": "integer", "primary_key": True},
                        "a": {"type": "smallint", "default": 40000}}}},
     {}, "default", "does not fit smallint"),
    ({"t": {"columns": {"id": {"type": "integer", "primary_key": True}}}},
     {"types": {"bad": {"postgres": "text; DROP TABLE t"}}}, "postgres", "one SQL type name"),
    ({"t": {"columns": {"id": {"type": "integer", "primary_key": True}}}},
     {"enums": {"mood": ["a", "a"]}}, "values", "listed twice"),
    ({"t": {"columns": {"id": {"type": "integer", "primary_key": True}}}},
     {"enums": {"text": ["a"]}}, None, "already a type name"),
    ({"t": {"columns": {"id": {"type": "integer", "primary_key": True},
                        "d": {"type": "json_text", "unique": True}}}},
     {}, "unique", "no equality operator"),
    ({"t": {"columns": {"id": {"type": "integer", "primary_key": True},
                        "m": "enum(mood)"}}},
     {"enums": {"mood": {"values": ["a"], "only": "postgres"}}}, "type",
     "give this column the same 'only:'"),
    ({"t": {"columns": {"id": {"type": "integer", "primary_key": True},
                        "m": {"type": "enum(mood)", "enum": ["a"]}}}},
     {"enums": {"mood": ["a"]}}, "enum", "come from enums.mood"),
    ({"t": {"columns": {"id": {"type": "integer", "primary_key": True}}}},
     {"enums": {"mood": ["a", {"name": "b", "renamed_from": "a"}]}}, "values",
     "still a value"),
])
def test_located_errors(tmp_path: Path, tables, top, field, message):
    errors = _errors(tmp_path, tables, **top)
    assert any(message in e.message and e.field == field for e in errors), \
        [str(e) for e in errors]
    error = next(e for e in errors if message in e.message)
    assert error.mark is not None and error.mark.line > 0
    assert str(error).startswith(str(error.mark.file))


def test_typescript_constants_of_enums_and_types_never_clash_with_tables(tmp_path: Path):
    """A table whose const would be an enum's or a declared type's gets another name; labels
    are escaped; every builder the module calls is imported."""
    project = Project(tmp_path / "p", dialects=["postgres", "sqlite"])
    project.write({
        "moodEnum": {"columns": {"id": {"type": "serial", "primary_key": True},
                                 "m": "enum(mood)", "k": "enum(kind)[]", "v": "vec"}},
        "serial": {"columns": {"id": {"type": "smallserial", "primary_key": True}}},
    }, enums={"mood": ["a'b", "c\\d"], "kind": {"values": ["x"], "schema": "9 s"}},
        types={"vec": {"postgres": "vector(3)", "sqlite": "blob"}})
    project.compile()
    ts = (tmp_path / "p" / "generated" / "schema.postgres.ts").read_text(encoding="utf-8")
    assert "export const moodEnum = pgEnum('mood', ['a\\'b', 'c\\\\d']);" in ts
    assert "export const moodEnum2 = pgTable('moodEnum'," in ts
    assert "export const serialTable = pgTable('serial'," in ts
    assert "Schema.enum('kind', ['x']);" in ts and "pgSchema('9 s')" in ts
    assert "export const vecType = customType<{ data: unknown }>({ dataType() { return " \
           "'vector(3)'; } });" in ts
    imported = ts.split("import {", 2)[2].split("}")[0]
    for builder in ("pgEnum", "pgSchema", "customType", "serial", "smallserial"):
        assert builder in imported
    sqlite_ts = (tmp_path / "p" / "generated" / "schema.sqlite.ts").read_text(encoding="utf-8")
    assert "return 'blob';" in sqlite_ts and "pgEnum" not in sqlite_ts
    # SQLite stores an enum as text: the builder still types it with the values
    assert "m: text('m', { enum: ['a\\'b', 'c\\\\d'] })," in sqlite_ts


def test_lint_of_the_newer_types(tmp_path: Path):
    """Narrowing serial types is destructive; a scalar <-> array change and an enum reorder
    warn; removing an enum value is destructive and names the rows that would fail."""
    from agor_schema.compiler import DestructiveChange

    project = Project(tmp_path / "p", dialects=["postgres"])
    columns = {"id": {"type": "bigserial", "primary_key": True}, "a": "text",
               "m": "enum(mood)"}
    project.write({"t": {"columns": columns}}, enums={"mood": ["x", "y"]})
    project.compile()
    project.write({"t": {"columns": {**columns, "id": {"type": "serial", "primary_key": True},
                                     "a": "text[]"}}}, enums={"mood": ["y", "x"]})
    with pytest.raises(DestructiveChange) as info:
        project.compile()
    assert [f.message for f in info.value.findings] == [
        "narrows type bigserial -> serial: values that do not fit are lost or make the "
        "migration fail"]
    found = [f.message for f in project.compile(allow_destructive=True).findings]
    assert any("changes the array dimensions" in m for m in found)
    assert any("reorders the values of enum 'mood'" in m for m in found)
    project.write({"t": {"columns": {**columns, "id": {"type": "serial", "primary_key": True},
                                     "a": "text[]"}}}, enums={"mood": ["y"]})
    with pytest.raises(DestructiveChange) as info:
        project.compile()
    assert "removes value(s) x of enum 'mood'" in info.value.findings[0].message
