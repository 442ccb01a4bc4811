"""Shared pieces of the hostile-input suite: throwaway projects, the real CLI, and catalog
fingerprints that prove a database was not changed.

A "canary" table (and a "victim" table every injection tries to drop) is created in each
database before anything runs; `db_fingerprint` reads the whole catalog (every schema,
relation, column, constraint and index) plus the canary's rows, so a test can compare the
database before and after a command byte for byte.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from agor_schema.cli import main

PYPROJECT = """\
[project]
name = "hostile-fixture"

[tool.agorschema]
schema = "schema"
generated = "generated"
migrations = "drizzle"
dialects = ["sqlite", "postgres"]
"""

BASE = """\
tables:
  users:
    columns:
      id:    {type: integer, primary_key: true}
      name:  {type: text, not_null: true}
      n:     {type: integer}
"""

CANARY_SQL = (
    "CREATE TABLE canary (id integer PRIMARY KEY, note text NOT NULL)",
    "INSERT INTO canary VALUES (1, 'still here')",
    "CREATE TABLE victim (id integer PRIMARY KEY)",
)


def make_project(root: Path, schema: str | bytes = BASE, pyproject: str = PYPROJECT,
                 name: str = "app.yaml") -> Path:
    """A project folder: pyproject.toml and schema/<name>."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    (root / "schema").mkdir(exist_ok=True)
    target = root / "schema" / name
    if isinstance(schema, bytes):
        target.write_bytes(schema)
    else:
        target.write_text(schema, encoding="utf-8")
    return root


def cli(*args: str, root: Path | None = None) -> tuple[int, str]:
    """Run the real CLI in-process; (exit code, stdout + stderr). A crash fails the test."""
    argv = list(args) + (["--project", str(root)] if root is not None else [])
    result = CliRunner().invoke(main, argv)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"crashed: {result.exception!r}\n{result.output}") \
            from result.exception
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under `root` (the cache folder aside) and a hash of its bytes."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts and rel.parts[0] == ".agorschema-cache":
            continue
        out[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "/"
    return out


def sqlite_canary(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        for statement in CANARY_SQL:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def sqlite_fingerprint(path: Path) -> tuple:
    """sqlite_master and the canary's rows (the whole schema of the file)."""
    conn = sqlite3.connect(path)
    try:
        master = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()
        rows = conn.execute("SELECT * FROM canary ORDER BY id").fetchall()
        version = conn.execute("PRAGMA schema_version").fetchone()
    finally:
        conn.close()
    return master, rows, version


def pg_canary(conn: Any) -> None:
    for statement in CANARY_SQL:
        conn.execute(statement)


PG_CATALOG = (
    "SELECT nspname FROM pg_namespace ORDER BY 1",
    "SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n "
    "ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2",
    "SELECT table_schema, table_name, column_name, data_type, column_default, is_nullable "
    "FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', "
    "'information_schema') ORDER BY 1, 2, ordinal_position",
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE connamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)"
    " ORDER BY 1",
    "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i "
    "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1",
    "SELECT proname FROM pg_proc WHERE pronamespace NOT IN ('pg_catalog'::regnamespace, "
    "'information_schema'::regnamespace) ORDER BY 1",
    "SELECT * FROM canary ORDER BY id",
)


def pg_fingerprint(conn: Any) -> tuple:
    """Schemas, relations, columns, constraints, indexes, functions and the canary's rows."""
    return tuple(tuple(conn.execute(query).fetchall()) for query in PG_CATALOG)
