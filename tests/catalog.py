"""Test helpers: read a live database's catalog into a comparable structure, build tmp projects.

`sqlite_catalog` and `pg_catalog` return plain dicts (tables -> columns, indexes, foreign keys,
uniques, checks, primary key) normalised so that two databases holding the same schema compare
equal however they got there (fresh DDL or a chain of migrations): quoting, whitespace and the
order of columns are ignored, names that the database invents (SQLite autoindexes) are replaced
by what they index. Column order is left out on purpose: ADD COLUMN appends in both databases.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from agor_schema.config import load_config

BOOKKEEPING = "__drizzle_migrations"


def norm_sql(text: str | None) -> str | None:
    """SQL text without identifier quotes, case and whitespace differences."""
    if text is None:
        return None
    text = re.sub(r'[`"]', "", text)
    text = re.sub(r"\s+", " ", text).strip().lower()
    text = re.sub(r"\s*([(),=<>])\s*", r"\1", text)
    return text


# --------------------------------------------------------------------------------- SQLite


def _balanced(text: str, start: int) -> tuple[str, int]:
    """The text inside the parenthesis opening at `start` (quotes respected) and its end."""
    depth = 0
    i = start
    quote = None
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return text[start + 1:i], i
        i += 1
    raise ValueError(f"unbalanced parentheses in {text!r}")


def sqlite_checks(create_sql: str) -> dict[str, str]:
    """CHECK constraints of a CREATE TABLE, keyed by constraint name (normalised SQL)."""
    checks = {}
    for match in re.finditer(r'CONSTRAINT\s+["`]?([^"`\s]+)["`]?\s+CHECK\s*\(', create_sql, re.I):
        body, _ = _balanced(create_sql, match.end() - 1)
        checks[match.group(1)] = norm_sql(body)
    return checks


def sqlite_catalog(conn_or_path: sqlite3.Connection | str | Path) -> dict:
    conn = conn_or_path if isinstance(conn_or_path, sqlite3.Connection) \
        else sqlite3.connect(str(conn_or_path))
    try:
        return _sqlite_catalog(conn)
    finally:
        if conn is not conn_or_path:
            conn.close()


def _sqlite_catalog(conn: sqlite3.Connection) -> dict:
    tables = {}
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name <> ?", (BOOKKEEPING,)).fetchall()
    for name, create_sql in rows:
        q = '"' + name.replace('"', '""') + '"'
        columns = {}
        pk = []
        for _cid, cname, ctype, notnull, default, pkpos, hidden in \
                conn.execute(f"PRAGMA table_xinfo({q})"):
            columns[cname] = {"type": ctype.lower(), "not_null": bool(notnull),
                              "default": norm_sql(default),
                              "generated": {2: "virtual", 3: "stored"}.get(hidden)}
            if pkpos:
                pk.append((pkpos, cname))
        indexes, uniques = {}, set()
        for _seq, iname, unique, origin, _partial in conn.execute(f"PRAGMA index_list({q})"):
            parts = [r[2] for r in conn.execute(f'PRAGMA index_info("{iname}")')]
            if origin == "pk":
                continue
            if origin == "u":
                uniques.add(tuple(parts))
                continue
            sql = conn.execute("SELECT sql FROM sqlite_master WHERE type='index' AND name=?",
                               (iname,)).fetchone()[0]
            where = None
            m = re.search(r"\)\s+WHERE\s+(.*?);?\s*$", sql, re.S | re.I)
            if m:
                where = norm_sql(m.group(1))
            on = re.search(r"\bON\s+[`\"]?[^\s(`\"]+[`\"]?\s*\(", sql, re.I)
            body, _ = _balanced(sql, on.end() - 1)
            indexes[iname] = {"unique": bool(unique), "columns": norm_sql(body), "where": where}
        fks: dict[int, dict] = {}
        for fid, _seq, target, src, dst, on_update, on_delete, _match in \
                conn.execute(f"PRAGMA foreign_key_list({q})"):
            fk = fks.setdefault(fid, {"table": target, "from": [], "to": [],
                                      "on_update": on_update.lower(),
                                      "on_delete": on_delete.lower()})
            fk["from"].append(src)
            fk["to"].append(dst)
        tables[name] = {
            "columns": columns,
            "primary_key": [c for _, c in sorted(pk)],
            "autoincrement": bool(re.search(r"\bAUTOINCREMENT\b", create_sql, re.I)),
            "indexes": indexes,
            "uniques": sorted(uniques),
            "foreign_keys": sorted((tuple(f["from"]), f["table"], tuple(f["to"]), f["on_update"],
                                    f["on_delete"]) for f in fks.values()),
            "checks": sqlite_checks(create_sql),
        }
    return tables


# --------------------------------------------------------------------------------- PostgreSQL

_PG_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = %s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
"""
_PG_CONSTRAINTS = """
SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid)
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s
"""
_PG_INDEXES = """
SELECT t.relname, i.relname, ix.indisunique, pg_get_indexdef(ix.indexrelid)
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = %s
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = ix.indexrelid
                  AND k.contype IN ('p', 'u', 'x'))
"""


def pg_catalog(conn: Any, schema: str = "public") -> dict:
    tables: dict[str, dict] = {}

    def table(name: str) -> dict:
        return tables.setdefault(name, {"columns": {}, "primary_key": None, "indexes": {},
                                        "uniques": {}, "foreign_keys": {}, "checks": {}})

    for tname, cname, ctype, notnull, default, identity, generated in \
            conn.execute(_PG_COLUMNS, (schema,)).fetchall():
        if tname == BOOKKEEPING:
            continue
        table(tname)["columns"][cname] = {
            "type": ctype, "not_null": notnull, "default": norm_sql(default),
            "identity": identity or None, "generated": generated or None,
        }
    for tname, conname, contype, definition in conn.execute(_PG_CONSTRAINTS, (schema,)).fetchall():
        if tname not in tables:
            continue
        t = tables[tname]
        definition = norm_sql(definition)
        if contype == "p":
            # inline single-column keys are named <table>_pkey by PostgreSQL, named ones by us
            t["primary_key"] = (None if conname.endswith("_pkey") else conname, definition)
        elif contype == "u":
            t["uniques"][conname] = definition
        elif contype == "f":
            t["foreign_keys"][conname] = definition
        elif contype == "c":
            t["checks"][conname] = definition
    for tname, iname, unique, definition in conn.execute(_PG_INDEXES, (schema,)).fetchall():
        if tname not in tables:
            continue
        tables[tname]["indexes"][iname] = {"unique": unique,
                                           "definition": norm_sql(definition).split(" using ", 1)[1]}
    return tables


def pg_reset(conn: Any) -> None:
    """Drop everything: the public schema and the runner's bookkeeping schema."""
    conn.execute("DROP SCHEMA IF EXISTS drizzle CASCADE")
    conn.execute("DROP SCHEMA public CASCADE")
    conn.execute("CREATE SCHEMA public")


# --------------------------------------------------------------------------------- projects


class Project:
    """A throwaway agorschema project: one YAML file, compiled in place."""

    def __init__(self, root: Path, dialects: Sequence[str] = ("sqlite", "postgres")):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "schema").mkdir(exist_ok=True)
        dialect_list = ", ".join(f'"{d}"' for d in dialects)
        (self.root / "pyproject.toml").write_text(
            f'[tool.agorschema]\nschema = "schema"\ndialects = [{dialect_list}]\n',
            encoding="utf-8")

    @property
    def config(self):
        return load_config(self.root)

    def write(self, tables: Mapping[str, Any], **top: Any) -> None:
        doc = {**top, "tables": dict(tables)}
        (self.root / "schema" / "schema.yaml").write_text(
            yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")

    def compile(self, **options: Any):
        from agor_schema.compiler import compile_project

        return compile_project(self.config, **options)

    def folder(self, dialect: str) -> Path:
        return self.root / "drizzle" / dialect

    def ddl(self, dialect: str) -> str:
        return (self.root / "generated" / f"{dialect}.sql").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------- rows


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def insert_rows(conn: Any, dialect: str, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
    mark = "?" if dialect == "sqlite" else "%s"
    for row in rows:
        cols = ", ".join(quote(c) for c in row)
        marks = ", ".join(mark for _ in row)
        conn.execute(f"INSERT INTO {quote(table)} ({cols}) VALUES ({marks})", tuple(row.values()))


def select_rows(conn: Any, table: str, columns: Sequence[str], order_by: Sequence[str]) -> list:
    cols = ", ".join(quote(c) for c in columns)
    order = ", ".join(quote(c) for c in order_by)
    return [tuple(r) for r in
            conn.execute(f"SELECT {cols} FROM {quote(table)} ORDER BY {order}").fetchall()]


def apply_ddl_sqlite(path: str | Path, ddl: str) -> None:
    conn = sqlite3.connect(str(path))
    try:
        conn.executescript(ddl.replace("--> statement-breakpoint", ""))
    finally:
        conn.close()


def read_schema(url: str):
    """A live database's schema as agorschema's introspection reads it (a Snapshot)."""
    from agor_schema.dialects import dialect_for_url

    dialect = dialect_for_url(url)
    conn = dialect.connect(url, create=False)
    try:
        return dialect.introspect(conn)
    finally:
        dialect.close_connection(conn)
