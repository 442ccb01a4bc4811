"""The PostgreSQL-flavoured types of the DSL, on real SQLite and real PostgreSQL.

One engine-neutral scenario set: each scenario states what each engine's catalog must hold
(`EXPECTED`), and the same test body runs on both engines. Also: located validation errors,
and values going in and out (arrays, enum values refused, JSON text).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from catalog import Project

from agor_schema.dialects import get_dialect
from agor_schema.errors import SchemaErrors
from agor_schema.spec.types import TypeParseError, parse_type

DIALECTS = ["sqlite", "postgres"]

TYPES_SCHEMA = {
    "enums": {"mood": ["sad", "ok", "it's"],
              "color": {"values": ["red", "green"], "schema": "paint"}},
    "types": {"ci": {"postgres": "citext", "sqlite": "text", "extension": "citext"},
              "tsv": {"postgres": "tsvector"}},
}
TYPES_TABLE = {
    "columns": {
        "id": {"type": "serial", "primary_key": True},
        "at3": "timestamp(3)",
        "naive": "timestamp without time zone",
        "naive6": {"type": "timestamp(6) without time zone", "default": "2024-01-02T03:04:05Z"},
        "doc": {"type": "json_text", "default": {"a": 1}},
        "small": {"type": "smallint", "default": 3},
        "tags": {"type": "text[]", "not_null": True, "default": ["a", 'b"c', "it's"]},
        "grid": "integer[][]",
        "ids": {"type": "varchar(36)[]", "default": []},
        "mood": {"type": "enum(mood)", "not_null": True, "default": "ok"},
        "colors": "enum(color)[]",
        "name": "ci",
        "search": {"type": "tsv", "only": "postgres"},
    },
}
# What each engine's catalog holds: type as the catalog spells it, not null, default text.
EXPECTED = {
    "sqlite": {
        "id": ("integer", True, None), "at3": ("integer", False, None),
        "naive": ("integer", False, None), "naive6": ("integer", False, "1704164645000"),
        "doc": ("text", False, "'{\"a\":1}'"), "small": ("integer", False, "3"),
        "tags": ("text", True, "'[\"a\",\"b\\\"c\",\"it''s\"]'"), "grid": ("text", False, None),
        "ids": ("text", False, "'[]'"), "mood": ("text", True, "'ok'"),
        "colors": ("text", False, None), "name": ("text", False, None),
    },
    "postgres": {
        "id": ("integer", True, "nextval('t_id_seq'::regclass)"),
        "at3": ("timestamp(3) with time zone", False, None),
        "naive": ("timestamp without time zone", False, None),
        "naive6": ("timestamp(6) without time zone", False,
                   "'2024-01-02 03:04:05'::timestamp without time zone"),
        "doc": ("json", False, "'{\"a\":1}'::json"), "small": ("smallint", False, "3"),
        "tags": ("text[]", True, "'{a,\"b\\\"c\",it''s}'::text[]"), "grid": ("integer[]", False, None),
        "ids": ("character varying(36)[]", False, "'{}'::character varying[]"),
        "mood": ("mood", True, "'ok'::mood"), "colors": ("paint.color[]", False, None),
        "name": ("citext", False, None), "search": ("tsvector", False, None),
    },
}


def _catalog_columns(conn, dialect: str) -> dict[str, tuple]:
    if dialect == "sqlite":
        return {name: (ctype.lower(), bool(notnull), default)
                for _cid, name, ctype, notnull, default, _pk in
                conn.execute('PRAGMA table_info("t")').fetchall()}
    return {name: (ctype, notnull, default) for name, ctype, notnull, default in conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid = 'public.t'::regclass AND a.attnum > 0 AND NOT a.attisdropped"
    ).fetchall()}


@pytest.fixture
def engine(request, tmp_path: Path):
    """(dialect, connection) of an empty database of either engine."""
    dialect = request.param
    if dialect == "sqlite":
        conn = sqlite3.connect(str(tmp_path / "t.db"), isolation_level=None)
        yield dialect, conn
        conn.close()
        return
    conn = request.getfixturevalue("pg_conn")
    yield dialect, conn


def _apply(conn, dialect: str, ddl: str) -> None:
    if dialect == "sqlite":
        conn.executescript(ddl.replace("--> statement-breakpoint", ""))
    else:
        conn.execute(ddl)


@pytest.mark.parametrize("engine", DIALECTS, indirect=True)
def test_every_new_type_in_the_catalog(engine, tmp_path: Path):
    dialect, conn = engine
    project = Project(tmp_path / "p", dialects=[dialect])
    project.write({"t": TYPES_TABLE}, enum_check=True, **TYPES_SCHEMA)
    project.compile()
    _apply(conn, dialect, project.ddl(dialect))
    assert _catalog_columns(conn, dialect) == EXPECTED[dialect]
    # introspection reads the same state back as the schema builds: no drift
    from agor_schema.build import build_snapshot
    from agor_schema.compiler import load_specs
    from agor_schema.drift import drift, expected_snapshot

    live = get_dialect(dialect).introspect(conn)
    built = build_snapshot(load_specs(project.config)[dialect], get_dialect(dialect))
    found = drift(live, expected_snapshot(built, get_dialect(dialect), conn))
    assert found.empty, [c.message for c in found.changes]
    if dialect == "postgres":
        assert live.enums["public.mood"].values == ["sad", "ok", "it's"]
        assert live.enums["paint.color"].values == ["red", "green"]
        assert live.tables["t"].columns["id"].type == "serial"
        assert (live.tables["t"].columns["mood"].type,
                live.tables["t"].columns["mood"].type_schema) == ("mood", "public")


@pytest.mark.parametrize("engine", DIALECTS, indirect=True)
def test_values_in_and_out(engine, tmp_path: Path):
    """Arrays hold lists (JSON text in SQLite), enum columns refuse other values."""
    dialect, conn = engine
    project = Project(tmp_path / "p", dialects=[dialect])
    project.write({"t": TYPES_TABLE}, enum_check=True, **TYPES_SCHEMA)
    project.compile()
    _apply(conn, dialect, project.ddl(dialect))
    mark = "?" if dialect == "sqlite" else "%s"
    conn.execute(f'INSERT INTO "t" ("mood", "name") VALUES ({mark}, {mark})', ("sad", "Ann"))
    tags, mood, doc = conn.execute('SELECT "tags", "mood", "doc" FROM "t"').fetchone()
    if dialect == "sqlite":
        tags, doc = json.loads(tags), json.loads(doc)
    assert tags == ["a", 'b"c', "it's"] and mood == "sad" and doc == {"a": 1}
    if dialect == "postgres":  # citext compares case-insensitively
        assert conn.execute("SELECT count(*) FROM t WHERE name = 'ANN'").fetchone()[0] == 1
        from psycopg import errors

        with pytest.raises(errors.InvalidTextRepresentation):
            conn.execute("INSERT INTO t (mood) VALUES ('bogus')")
    else:
        with pytest.raises(sqlite3.IntegrityError, match="t_mood_enum"):
            conn.execute("INSERT INTO t (mood) VALUES ('bogus')")


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
