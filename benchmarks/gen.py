"""Deterministic synthetic schemas for the benchmarks, in three equivalent forms.

One model (`make_schema`) is rendered as
* an agorschema YAML project (schema/*.yaml + pyproject.toml),
* drizzle TypeScript schemas (sqlite-core and pg-core) with drizzle-kit configs,
* a SQLAlchemy model (Core tables) for Alembic.

Every table has an integer primary key `id`, 1-2 foreign keys to earlier tables (the first
table has none), 8-15 columns in all cycling through every logical type, and 2-3 indexes.
The same seed always gives the same bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

TYPES = ["text", "varchar(80)", "integer", "bigint", "real", "double", "numeric(12,2)",
         "boolean", "timestamp", "date", "json", "uuid", "bytes"]
TABLES_PER_FILE = 50
ADDED_COLUMN = "bench_added"
SQLITE_NOW_MS = "(CAST(ROUND((JULIANDAY('now') - 2440587.5) * 86400000) AS INTEGER))"


@dataclass
class Column:
    name: str
    type: str
    not_null: bool = False
    default: object = None  # None, 'x', 0, False, 'now'
    references: str | None = None  # table name (column is always id)
    on_delete: str | None = None


@dataclass
class Index:
    name: str
    columns: list[str]
    unique: bool = False


@dataclass
class Table:
    name: str
    columns: list[Column] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)


def _ident(type_: str) -> str:
    return type_.split("(")[0]


def make_schema(n_tables: int, seed: int = 20240) -> list[Table]:
    rng = random.Random(seed * 100003 + n_tables)
    tables: list[Table] = []
    type_cursor = 0
    for i in range(n_tables):
        t = Table(f"t{i:04d}")
        t.columns.append(Column("id", "integer", not_null=True))
        fks: list[Column] = []
        if i > 0:
            for k in range(rng.randint(1, 2)):
                target = tables[rng.randrange(i)].name
                not_null = rng.random() < 0.5
                fks.append(Column(f"ref{k}_id", "integer", not_null=not_null, references=target,
                                  on_delete="cascade" if not_null else "set null"))
        t.columns += fks
        total = rng.randint(8, 15)
        for j in range(total - len(t.columns)):
            type_ = TYPES[type_cursor % len(TYPES)]
            type_cursor += 1
            col = Column(f"c{j}_{_ident(type_)}", type_)
            if rng.random() < 0.4:
                col.not_null = True
                col.default = {"text": "x", "integer": 0, "bigint": 0, "boolean": False,
                               "timestamp": "now", "varchar": "x"}.get(_ident(type_))
            t.columns.append(col)
        plain = [c for c in t.columns[1 + len(fks):] if c.type not in ("json", "bytes")]
        if fks:
            t.indexes.append(Index(f"{t.name}_{fks[0].name}_idx", [fks[0].name]))
        picks = rng.sample(plain, 3)
        t.indexes.append(Index(f"{t.name}_{picks[0].name}_idx", [picks[0].name]))
        if not fks or rng.random() < 0.5:
            t.indexes.append(Index(f"{t.name}_{picks[1].name}_{picks[2].name}_uq",
                                   [picks[1].name, picks[2].name], unique=True))
        tables.append(t)
    return tables


def changed_table(tables: list[Table]) -> str:
    """The table that gets the added column in the 'one change' runs (in the middle)."""
    return tables[len(tables) // 2].name


# --- agorschema YAML ---------------------------------------------------------------------


def _yaml_default(value: object) -> str:
    if value is False:
        return "false"
    if value == "now":
        return "now"
    return str(value)


def _yaml_table(t: Table, extra: bool) -> list[str]:
    lines = [f"  {t.name}:", "    columns:"]
    for c in t.columns:
        parts = [f"type: {c.type!s}" if "," not in c.type else f'type: "{c.type}"']
        if c.name == "id":
            parts.append("primary_key: true")
        elif c.not_null:
            parts.append("not_null: true")
        if c.default is not None:
            parts.append(f"default: {_yaml_default(c.default)}")
        if c.references:
            parts.append(f"references: {c.references}.id, on_delete: {c.on_delete}")
        lines.append(f"      {c.name}: {{{', '.join(parts)}}}")
    if extra:
        lines.append(f"      {ADDED_COLUMN}: text")
    lines.append("    indexes:")
    for ix in t.indexes:
        if ix.unique:
            lines.append(f"      {ix.name}: {{columns: [{', '.join(ix.columns)}], unique: true}}")
        else:
            lines.append(f"      {ix.name}: [{', '.join(ix.columns)}]")
    return lines


def yaml_files(tables: list[Table], extra_in: str | None = None) -> dict[str, str]:
    """schema/NN_part.yaml -> text; `extra_in` names the table that gets the added column."""
    files: dict[str, str] = {}
    for start in range(0, len(tables), TABLES_PER_FILE):
        chunk = tables[start:start + TABLES_PER_FILE]
        lines = [f"# Synthetic benchmark schema, tables {chunk[0].name}..{chunk[-1].name}.", "tables:"]
        for t in chunk:
            lines += _yaml_table(t, extra=t.name == extra_in)
        files[f"{start // TABLES_PER_FILE:03d}_part.yaml"] = "\n".join(lines) + "\n"
    return files


def file_of(tables: list[Table], table: str) -> str:
    index = [t.name for t in tables].index(table)
    return f"{index // TABLES_PER_FILE:03d}_part.yaml"


PYPROJECT = """[project]
name = "agorschema-bench"
version = "0"

[tool.agorschema]
schema = "schema"
generated = "generated"
migrations = "drizzle"
dialects = ["sqlite", "postgres"]
database = "sqlite:///bench.db"
"""


def write_yaml_project(root: Path, tables: list[Table]) -> None:
    (root / "schema").mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    for name, text in yaml_files(tables).items():
        (root / "schema" / name).write_text(text)


# --- drizzle TypeScript --------------------------------------------------------------------


def _ts_sqlite_column(c: Column) -> str:
    kind = _ident(c.type)
    base = {
        "text": "text('{n}')", "varchar": "text('{n}', {{ length: 80 }})",
        "integer": "integer('{n}')", "bigint": "integer('{n}')", "real": "real('{n}')",
        "double": "real('{n}')", "numeric": "numeric('{n}')",
        "boolean": "integer('{n}', {{ mode: 'boolean' }})",
        "timestamp": "integer('{n}', {{ mode: 'timestamp_ms' }})", "date": "text('{n}')",
        "json": "text('{n}', {{ mode: 'json' }})", "uuid": "text('{n}', {{ length: 36 }})",
        "bytes": "blob('{n}')",
    }[kind].format(n=c.name)
    return base + _ts_modifiers(c, sqlite=True)


def _ts_pg_column(c: Column) -> str:
    kind = _ident(c.type)
    base = {
        "text": "text('{n}')", "varchar": "varchar('{n}', {{ length: 80 }})",
        "integer": "integer('{n}')", "bigint": "bigint('{n}', {{ mode: 'number' }})",
        "real": "real('{n}')", "double": "doublePrecision('{n}')",
        "numeric": "numeric('{n}', {{ precision: 12, scale: 2 }})", "boolean": "boolean('{n}')",
        "timestamp": "timestamp('{n}', {{ withTimezone: true, mode: 'date' }})",
        "date": "date('{n}')", "json": "jsonb('{n}')", "uuid": "uuid('{n}')",
        "bytes": "bytea('{n}')",
    }[kind].format(n=c.name)
    return base + _ts_modifiers(c, sqlite=False)


def _ts_modifiers(c: Column, sqlite: bool) -> str:
    out = ""
    if c.name == "id":
        return out + ".primaryKey()"
    if c.not_null:
        out += ".notNull()"
    if c.default == "now":
        out += f".default(sql`{SQLITE_NOW_MS}`)" if sqlite else ".defaultNow()"
    elif c.default is False:
        out += ".default(false)"
    elif c.default is not None:
        out += f".default({c.default!r})"
    if c.references:
        out += f".references((): AnySQLiteColumn => {c.references}.id, {{ onDelete: '{c.on_delete}' }})" \
            if sqlite else \
            f".references((): AnyPgColumn => {c.references}.id, {{ onDelete: '{c.on_delete}' }})"
    return out


def drizzle_schema(tables: list[Table], dialect: str, extra_in: str | None = None) -> str:
    sqlite = dialect == "sqlite"
    if sqlite:
        head = ["import { sql } from 'drizzle-orm';",
                "import { sqliteTable, text, integer, real, numeric, blob, index, uniqueIndex, "
                "type AnySQLiteColumn } from 'drizzle-orm/sqlite-core';", ""]
        table_fn, column = "sqliteTable", _ts_sqlite_column
    else:
        head = ["import { pgTable, text, varchar, integer, bigint, real, doublePrecision, numeric, "
                "boolean, timestamp, date, jsonb, uuid, customType, index, uniqueIndex, "
                "type AnyPgColumn } from 'drizzle-orm/pg-core';", "",
                "const bytea = customType<{ data: Buffer }>({ dataType() { return 'bytea'; } });", ""]
        table_fn, column = "pgTable", _ts_pg_column
    lines = list(head)
    for t in tables:
        lines.append(f"export const {t.name} = {table_fn}('{t.name}', {{")
        for c in t.columns:
            lines.append(f"  {c.name}: {column(c)},")
        if t.name == extra_in:
            lines.append(f"  {ADDED_COLUMN}: text('{ADDED_COLUMN}'),")
        lines.append("}, (t) => [")
        for ix in t.indexes:
            fn = "uniqueIndex" if ix.unique else "index"
            cols = ", ".join(f"t.{c}" for c in ix.columns)
            lines.append(f"  {fn}('{ix.name}').on({cols}),")
        lines.append("]);")
        lines.append("")
    return "\n".join(lines)


DRIZZLE_CONFIG = """import {{ defineConfig }} from 'drizzle-kit';

export default defineConfig({{
  dialect: '{dialect}',
  schema: './schema.{short}.ts',
  out: './out/{short}',
}});
"""


def write_drizzle_project(root: Path, tables: list[Table]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for short, dialect in (("sqlite", "sqlite"), ("pg", "postgresql")):
        (root / f"schema.{short}.ts").write_text(drizzle_schema(tables, short))
        (root / f"drizzle.{short}.config.ts").write_text(
            DRIZZLE_CONFIG.format(dialect=dialect, short=short))


# --- SQLAlchemy / Alembic ----------------------------------------------------------------


def _sa_type(type_: str) -> str:
    return {
        "text": "Text()", "varchar": "String(80)", "integer": "Integer()",
        "bigint": "BigInteger()", "real": "REAL()", "double": "Double()",
        "numeric": "Numeric(12, 2)", "boolean": "Boolean()",
        "timestamp": "DateTime(timezone=True)", "date": "Date()", "json": "JSON()",
        "uuid": "Uuid()", "bytes": "LargeBinary()",
    }[_ident(type_)]


def _sa_column(c: Column) -> str:
    args = [repr(c.name), _sa_type(c.type)]
    if c.references:
        args.append(f"ForeignKey('{c.references}.id', ondelete='{c.on_delete.upper()}')")
    if c.name == "id":
        args.append("primary_key=True, autoincrement=False")
    else:
        args.append(f"nullable={not c.not_null}")
    if c.default == "now":
        args.append(f"server_default=text({SQLITE_NOW_MS!r})")
    elif c.default is False:
        args.append("server_default=text('0')")
    elif c.default is not None:
        args.append(f"server_default={str(c.default)!r}")
    return f"Column({', '.join(args)})"


def sqlalchemy_model(tables: list[Table], extra_in: str | None = None) -> str:
    lines = ["from sqlalchemy import (JSON, REAL, BigInteger, Boolean, Column, Date, DateTime, Double,",
             "                        ForeignKey, Index, Integer, LargeBinary, MetaData, Numeric, String,",
             "                        Table, Text, Uuid, text)", "", "metadata = MetaData()", ""]
    for t in tables:
        lines.append(f"Table({t.name!r}, metadata,")
        for c in t.columns:
            lines.append(f"      {_sa_column(c)},")
        if t.name == extra_in:
            lines.append(f"      Column({ADDED_COLUMN!r}, Text(), nullable=True),")
        for ix in t.indexes:
            cols = ", ".join(repr(c) for c in ix.columns)
            lines.append(f"      Index({ix.name!r}, {cols}, unique={ix.unique}),")
        lines.append("      )")
    return "\n".join(lines) + "\n"


ALEMBIC_INI = """[alembic]
script_location = %(here)s
sqlalchemy.url = sqlite:///%(here)s/alembic.db
"""

ALEMBIC_ENV = """import importlib
import os

from alembic import context
from sqlalchemy import create_engine

models = importlib.import_module(os.environ.get("BENCH_MODEL", "models_base"))
config = context.config


def run() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=models.metadata,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
"""

ALEMBIC_MAKO = '''"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
"""
from alembic import op
import sqlalchemy as sa
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
'''


def write_alembic_project(root: Path, tables: list[Table]) -> None:
    (root / "versions").mkdir(parents=True, exist_ok=True)
    (root / "alembic.ini").write_text(ALEMBIC_INI)
    (root / "env.py").write_text(ALEMBIC_ENV)
    (root / "script.py.mako").write_text(ALEMBIC_MAKO)
    (root / "models_base.py").write_text(sqlalchemy_model(tables))
    (root / "models_changed.py").write_text(sqlalchemy_model(tables, changed_table(tables)))
