"""Shared driver for data-preserving migration tests: v1 project -> rows -> v2 -> compare.

`run_case` builds a database at v1 with agorschema's own migrations, inserts rows, compiles v2,
applies the new migration with `agor_schema.migrate`, then checks that the catalog equals the
catalog of a fresh database built from v2's generated DDL and that every kept row is unchanged.
"""

from __future__ import annotations

import copy
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog import (
    Project,
    apply_ddl_sqlite,
    insert_rows,
    pg_catalog,
    pg_reset,
    select_rows,
    sqlite_catalog,
)

import agor_schema
from agor_schema.compiler import DestructiveChange


@dataclass
class Case:
    id: str
    v1: dict
    rows: dict[str, list[dict]]
    v2: dict
    destructive: bool = False
    # (table, column) in v2 -> function(old value) giving the expected value after migrating
    transform: dict[tuple[str, str], Callable[[Any], Any]] = field(default_factory=dict)
    after: Callable[[Any, str], None] | None = None  # extra assertions: (conn, dialect)
    top: dict = field(default_factory=dict)  # extra top-level schema keys (enum_check)
    # (table, column) in v2 -> function(old row) giving the value after migrating (generated
    # columns: computed from the row, never inserted)
    computed: dict[tuple[str, str], Callable[[dict], Any]] = field(default_factory=dict)


def sources(v1: Mapping, v2: Mapping) -> dict[str, tuple[str, dict[str, str]]]:
    """v2 table -> (v1 table, {v2 column: v1 column}) for tables and columns that were kept."""
    result = {}
    for name, table in v2.items():
        old_name = table.get("renamed_from") or name
        if old_name not in v1:
            continue
        old_cols = v1[old_name]["columns"]
        mapping = {}
        for cname, spec in table["columns"].items():
            source = spec.get("renamed_from", cname) if isinstance(spec, dict) else cname
            if source in old_cols:
                mapping[cname] = source
        result[name] = (old_name, mapping)
    return result


def expected_rows(case: Case, table: str, mapping: dict[str, str], old: str,
                  normalise: Callable[[str, str, Any], Any]) -> list[tuple]:
    out = []
    for row in case.rows.get(old, []):
        values = []
        for new_col, old_col in mapping.items():
            value = row.get(old_col)
            fn = case.transform.get((table, new_col))
            value = fn(value) if fn else value
            compute = case.computed.get((table, new_col))
            value = compute(row) if compute else value
            values.append(normalise(table, new_col, value))
        out.append(tuple(values))
    return sorted(out, key=lambda r: tuple((v is None, str(v)) for v in r))


def _sort(rows: list[tuple]) -> list[tuple]:
    return sorted(rows, key=lambda r: tuple((v is None, str(v)) for v in r))


def run_case(case: Case, dialect: str, tmp_path: Path, pg_url: str | None = None) -> dict:
    """Run one case on one dialect; returns timings/info for reporting."""
    project = Project(tmp_path / "project", dialects=[dialect])
    project.write(copy.deepcopy(case.v1), **case.top)
    first = project.compile()
    assert first.outputs[dialect].migration is not None
    folder = project.folder(dialect)
    url = f"sqlite:///{tmp_path / 'migrated.db'}" if dialect == "sqlite" else pg_url
    agor_schema.migrate(url, folder)
    conn = _connect(url, dialect)
    try:
        for table, rows in case.rows.items():
            insert_rows(conn, dialect, table, rows)
        if dialect == "sqlite":
            conn.commit()
    finally:
        conn.close()

    project.write(copy.deepcopy(case.v2), **case.top)
    if case.destructive:
        try:
            project.compile()
        except DestructiveChange as exc:
            assert exc.findings
        else:
            raise AssertionError(f"{case.id}: compile accepted a destructive change")
    result = project.compile(allow_destructive=case.destructive)
    migration = result.outputs[dialect].migration
    assert migration is not None, f"{case.id}: no migration generated"
    applied = agor_schema.migrate(url, folder)
    assert applied.applied_tags == [migration.tag]
    # compiling again changes nothing
    again = project.compile()
    assert not again.changed and again.written == []

    conn = _connect(url, dialect)
    try:
        migrated = _catalog(conn, dialect)
        kept = sources(case.v1, case.v2)
        for table, (old, mapping) in kept.items():
            if not mapping or old not in case.rows:
                continue
            # a column that became generated holds computed values, compared only if given
            mapping = {c: o for c, o in mapping.items()
                       if (table, c) in case.computed or not _is_generated(case.v2, table, c)}
            cols = list(mapping)
            got = _sort(select_rows(conn, table, cols, cols))
            want = expected_rows(case, table, mapping, old, lambda t, c, v: v)
            assert got == want, f"{case.id}/{dialect}: rows of {table} changed"
        if case.after:
            case.after(conn, dialect)
            if dialect == "sqlite":
                conn.commit()
        if dialect == "sqlite":
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            fresh = _fresh_sqlite(project.ddl(dialect), tmp_path / "fresh.db")
        else:
            pg_reset(conn)
            conn.execute(project.ddl(dialect))
            fresh = pg_catalog(conn)
    finally:
        conn.close()
    assert migrated == fresh, f"{case.id}/{dialect}: catalog after migration != fresh v2 DDL"
    return {"statements": migration.sql}


def _is_generated(schema: Mapping, table: str, column: str) -> bool:
    spec = schema[table]["columns"].get(column)
    return isinstance(spec, dict) and "generated" in spec


def _fresh_sqlite(ddl: str, path: Path) -> dict:
    apply_ddl_sqlite(path, ddl)
    return sqlite_catalog(path)


def _connect(url: str, dialect: str):
    if dialect == "sqlite":
        conn = sqlite3.connect(url.split("sqlite:///", 1)[1])
        conn.execute("PRAGMA foreign_keys=ON")
        return conn
    import psycopg

    return psycopg.connect(url, autocommit=True)


def _catalog(conn, dialect: str) -> dict:
    return sqlite_catalog(conn) if dialect == "sqlite" else pg_catalog(conn)
