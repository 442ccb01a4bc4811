"""PostgreSQL: native boolean, timestamptz and jsonb, identity columns, ALTER for every change."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from agor_schema import ops as o
from agor_schema.dialects.base import (
    ENUM_REBUILD_SUFFIX,
    Dialect,
    absent_keys,
    columns_from_json,
    compact_json,
    constraints_from_json,
    dependency_order,
    string_literal,
    ts_default,
)
from agor_schema.dialects.capabilities import POSTGRES
from agor_schema.dialects.postgres_introspect import PostgresIntrospection
from agor_schema.dialects.postgres_runtime import PostgresRuntime
from agor_schema.snapshot import (
    Column,
    Enum,
    ForeignKey,
    Index,
    IndexColumn,
    Snapshot,
    Table,
    Unique,
    table_key,
    without_absent,
)
from agor_schema.spec.types import LogicalType
from agor_schema.ts_literals import custom_const, enum_const, schema_const, ts_enum_option, ts_sql, ts_string

TYPES = {
    "text": "text",
    "smallint": "smallint",
    "integer": "integer",
    "bigint": "bigint",
    "serial": "serial",
    "smallserial": "smallserial",
    "bigserial": "bigserial",
    "real": "real",
    "double": "double precision",
    "boolean": "boolean",
    "timestamp": "timestamp with time zone",
    "date": "date",
    "json": "jsonb",
    "json_text": "json",
    "uuid": "uuid",
    "bytes": "bytea",
}
MAX_VALUES = {"smallint": "32767", "integer": "2147483647", "bigint": "9223372036854775807"}
# the integer type behind each serial type (what ALTER ... SET DATA TYPE and sequences use)
SERIAL_BASE = {"smallserial": "smallint", "serial": "integer", "bigserial": "bigint"}
# keys older drizzle-kit versions leave out: kept out again when such a snapshot is written back
TOP_OPTIONAL = ("enums", "schemas", "sequences", "roles", "policies", "views", "_meta")
TABLE_OPTIONAL = ("compositePrimaryKeys", "uniqueConstraints", "policies", "checkConstraints",
                  "isRLSEnabled")
INDEX_OPTIONAL = ("concurrently", "method", "with")
EMPTY_META = {"columns": {}, "schemas": {}, "tables": {}}


class PostgresDialect(PostgresIntrospection, PostgresRuntime, Dialect):
    name = "postgres"
    has_extensions = True
    sqlglot_dialect = "postgres"
    snapshot_version = "7"
    journal_dialect = "postgresql"
    import_journal_dialects = ("postgresql", "pg", "postgres")
    distinct_types = True
    index_options = frozenset({"method", "with", "opclass", "desc", "nulls", "extension"})
    nulls_not_distinct = True
    concurrent_indexes = True
    max_identifier_bytes = POSTGRES.max_identifier_bytes
    reserved_schema_prefixes = ("pg_",)  # "unacceptable schema name": system schemas
    # system columns every table has (oid only up to PostgreSQL 11, refused for those servers)
    reserved_column_names = frozenset({"ctid", "xmin", "xmax", "cmin", "cmax", "tableoid", "oid"})

    def index_method_problem(self, method: str, extension: str | None,
                             declared: frozenset[str]) -> str | None:
        from agor_schema.dialects.postgres_index_options import method_problem

        return method_problem(method, extension, declared)

    def index_method_extension(self, method: str) -> str | None:
        from agor_schema.dialects.postgres_index_options import method_extension

        return method_extension(method)

    def index_parameter_problems(self, method: str, params: Mapping[str, Any],
                                 extension: str | None = None) -> list[tuple[str, str, bool]]:
        from agor_schema.dialects.postgres_index_options import parameter_problems

        return parameter_problems(method, dict(params), extension)

    def logical_spellings(self, column: Column) -> list[str]:
        from agor_schema.dialects.type_spellings import postgres_spellings

        return postgres_spellings(column)

    def unknown_functions(self, names):
        """Functions only SQLite has (a PostgreSQL server may add more with extensions, so a
        name neither engine knows is left to the server)."""
        from agor_schema.dialects.sqlite import sqlite_functions

        known = postgres_functions()
        return [n for n in names if n not in known and n not in _PG_SYNTAX
                and n in sqlite_functions()]

    def relation_names(self, table: Table) -> list[tuple[str, str]]:
        """Tables, indexes, the indexes behind unique and primary key constraints, and the
        sequences of identity and serial columns share one namespace per schema."""
        names = super().relation_names(table)
        inline_pk = any(c.primary_key for c in table.columns.values())
        names += [("primary key", name) for name in table.primary_keys]
        if inline_pk and not table.primary_keys:
            names.append(("primary key", f"{table.name}_pkey"))
        for column in table.columns.values():
            if column.identity and column.identity.get("name"):
                names.append(("sequence", column.identity["name"]))
            elif column.type in SERIAL_BASE:
                names.append(("sequence", _serial_sequence(table.name, column.name)))
        return names

    # ------------------------------------------------------------------ values
    def column_type(self, lt: LogicalType) -> str:
        if lt.name == "varchar":
            return f"varchar({lt.length})"
        if lt.name == "numeric":
            if lt.precision is None:
                return "numeric"
            return f"numeric({lt.precision})" if lt.scale is None else \
                f"numeric({lt.precision}, {lt.scale})"
        if lt.name == "timestamp":  # as drizzle writes it: timestamp (3) with time zone
            precision = f" ({lt.precision})" if lt.precision is not None else ""
            return f"timestamp{precision}{' with time zone' if lt.with_tz else ''}"
        return TYPES[lt.name]

    def enum_type(self, name: str, schema: str | None) -> tuple[str, str | None]:
        return name, schema or "public"

    def array_type(self, element_type: str, dims: int) -> str:
        return element_type + "[]" * dims

    def array_default(self, value: list, element: LogicalType) -> str:
        """A PostgreSQL array literal: '{"a","b"}', '{1,2}', '{{1,2},{3,4}}'."""
        return string_literal(_pg_array_text(value))

    def now_default(self) -> str:
        return "now()"

    def timestamp_default(self, epoch_ms: int, iso: str) -> str:
        return string_literal(iso)

    def json_default(self, value: Any, text: bool = False) -> str:
        return f"{string_literal(compact_json(value))}::{'json' if text else 'jsonb'}"

    def rewrite_expression(self, tree, column_types: Mapping[str, LogicalType]):
        """A timestamp literal without a UTC offset means UTC, as in SQLite's epoch ms (the
        server's TimeZone setting must not change what a predicate or check selects)."""
        import datetime as dt

        from sqlglot import exp

        from agor_schema.expr import timestamp_literals
        from agor_schema.spec.types import timestamp_ms

        def rewrite(node: exp.Expression) -> exp.Expression:
            for literal in timestamp_literals(node, column_types):
                try:
                    naive = dt.datetime.fromisoformat(literal.this).tzinfo is None
                except ValueError:
                    continue  # has an offset (or Z), or is not ISO: PostgreSQL reads it
                ms = timestamp_ms(literal.this)
                if naive and ms is not None:
                    iso = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat(
                        timespec="milliseconds").replace("+00:00", "Z")
                    literal.replace(exp.Literal.string(iso))
            return node

        return tree.transform(rewrite)

    def wrap_default_expression(self, sql: str) -> str:
        """PostgreSQL's DEFAULT takes a restricted expression: boolean logic, IS, IN, LIKE and
        comparisons need parentheses there (they are fine in checks and index predicates)."""
        from agor_schema import cache

        wrap = cache.active().memo("expr", ("postgres-default-parens", sql),
                                   lambda: _default_needs_parens(sql))
        return f"({sql})" if wrap else sql

    def apply_autoincrement(self, table: str, column: Column, lt: LogicalType) -> None:
        column.identity = {
            "type": "byDefault",
            "name": f"{table}_{column.name}_seq",
            "schema": "public",
            "increment": "1",
            "startWith": "1",
            "minValue": "1",
            "maxValue": MAX_VALUES.get(column.type, MAX_VALUES["bigint"]),
            "cache": "1",
            "cycle": False,
        }

    def add_unique(self, table: Table, name: str, columns: list[str],
                   nulls_not_distinct: bool = False) -> None:
        table.uniques[name] = Unique(name, list(columns), nulls_not_distinct)

    # ------------------------------------------------------------------ snapshot JSON
    def snapshot_to_json(self, snapshot: Snapshot) -> dict:
        extra = snapshot.extra
        return without_absent({
            "id": snapshot.id,
            "prevId": snapshot.prev_id,
            "version": "7",
            "dialect": "postgresql",
            "tables": {
                f"{t.schema or 'public'}.{t.name}": self._table_json(t)
                for t in snapshot.tables.values()
            },
            "enums": {key: {"name": e.name, "schema": e.schema, "values": list(e.values)}
                      for key, e in snapshot.enums.items()},
            "schemas": extra.get("schemas", {}),
            "sequences": extra.get("sequences", {}),
            "roles": extra.get("roles", {}),
            "policies": extra.get("policies", {}),
            "views": extra.get("views", {}),
            "_meta": extra.get("_meta", EMPTY_META),
        }, snapshot.absent)

    def _table_json(self, table: Table) -> dict:
        columns = {}
        for c in table.columns.values():
            doc: dict[str, Any] = {"name": c.name, "type": c.type}
            if c.type_schema is not None:
                doc["typeSchema"] = c.type_schema
            doc.update({"primaryKey": c.primary_key, "notNull": c.not_null})
            if c.generated is not None:
                doc["generated"] = c.generated
            if c.identity is not None:
                doc["identity"] = c.identity
            if c.default is not None:
                doc["default"] = c.default
            columns[c.name] = doc
        indexes = {}
        for ix in table.indexes.values():
            doc = {"name": ix.name, "columns": [_index_column_json(c) for c in ix.columns],
                   "isUnique": ix.unique}
            if ix.where is not None:
                doc["where"] = ix.where
            doc.update({"concurrently": ix.concurrently, "method": ix.method, "with": ix.with_})
            indexes[ix.name] = without_absent(doc, ix.absent)
        foreign_keys = {}
        for fk in table.foreign_keys.values():
            doc = {"name": fk.name, "tableFrom": fk.table_from, "tableTo": fk.table_to}
            if fk.schema_to:
                doc["schemaTo"] = fk.schema_to
            doc.update({"columnsFrom": list(fk.columns_from), "columnsTo": list(fk.columns_to),
                        "onDelete": fk.on_delete, "onUpdate": fk.on_update})
            foreign_keys[fk.name] = doc
        return without_absent({
            "name": table.name,
            "schema": table.schema,
            "columns": columns,
            "indexes": indexes,
            "foreignKeys": foreign_keys,
            "compositePrimaryKeys": {
                pk.name: {"name": pk.name, "columns": list(pk.columns)}
                for pk in table.primary_keys.values()
            },
            "uniqueConstraints": {
                u.name: {"name": u.name, "nullsNotDistinct": u.nulls_not_distinct,
                         "columns": list(u.columns)}
                for u in table.uniques.values()
            },
            "policies": table.extra.get("policies", {}),
            "checkConstraints": {
                ch.name: {"name": ch.name, "value": ch.value} for ch in table.checks.values()
            },
            "isRLSEnabled": table.extra.get("isRLSEnabled", False),
        }, table.absent)

    def snapshot_from_json(self, document: Mapping[str, Any]) -> Snapshot:
        tables = {}
        for key, raw in (document.get("tables") or {}).items():
            name = raw.get("name", key.split(".")[-1])
            table = Table(name=name, schema=raw.get("schema", "") or "",
                          extra={"policies": raw.get("policies") or {},
                                 "isRLSEnabled": bool(raw.get("isRLSEnabled", False))},
                          absent=absent_keys(raw, TABLE_OPTIONAL))
            table.columns = columns_from_json(raw)
            for iname, ix in (raw.get("indexes") or {}).items():
                table.indexes[iname] = Index(
                    name=ix.get("name", iname),
                    columns=[_index_column_from_json(c) for c in ix.get("columns", [])],
                    unique=bool(ix.get("isUnique", False)),
                    where=ix.get("where"),
                    method=ix.get("method", "btree"),
                    concurrently=bool(ix.get("concurrently", False)),
                    with_=ix.get("with") or {},
                    absent=absent_keys(ix, INDEX_OPTIONAL),
                )
            constraints_from_json(raw, table)
            tables[table_key(name, table.schema)] = table
        extra = {k: document.get(k) or {} for k in
                 ("schemas", "sequences", "roles", "policies", "views")}
        if document.get("_meta") and document["_meta"] != EMPTY_META:
            extra["_meta"] = document["_meta"]
        enums = {}
        for key, raw in (document.get("enums") or {}).items():
            enum = Enum(raw.get("name", key.split(".")[-1]), raw.get("schema") or "public",
                        [str(v) for v in raw.get("values") or []])
            enums[enum.key] = enum
        return Snapshot(dialect="postgres", tables=tables, id=document.get("id", ""),
                        prev_id=document.get("prevId", ""), extra=extra, enums=enums,
                        absent=absent_keys(document, TOP_OPTIONAL))

    # ------------------------------------------------------------------ TypeScript
    ts_module = "drizzle-orm/pg-core"
    ts_table_fn = "pgTable"

    def ts_imports(self) -> list[str]:
        return ["text", "varchar", "smallint", "integer", "bigint", "serial", "smallserial",
                "bigserial", "real", "doublePrecision", "numeric", "boolean", "timestamp", "date",
                "jsonb", "json", "uuid", "customType", "pgEnum", "pgSchema", "index",
                "uniqueIndex", "primaryKey", "foreignKey", "unique", "check"]

    def ts_preamble(self, builders: str) -> str:
        if "bytea(" not in builders:
            return ""
        return ("const bytea = customType<{ data: Buffer }>({ dataType() { return 'bytea'; } });"
                "\n")

    def ts_column(self, column: Column, lt: LogicalType, labels: list[str] | None = None) -> str:
        """The drizzle pg-core builder of a column; `labels` types an `enum:` text column."""
        name = ts_string(column.name)
        if labels and lt.name == "text":
            builder = f"text({name}, {{ {ts_enum_option(labels)[2:]} }})"
        elif labels and lt.name == "varchar":
            builder = f"varchar({name}, {{ length: {lt.length}{ts_enum_option(labels)} }})"
        else:
            builder = self._ts_builder(name, lt)
        if column.primary_key:
            builder += ".primaryKey()"
        elif column.not_null and not lt.is_serial:  # serial builders are NOT NULL already
            builder += ".notNull()"
        if column.identity:
            # drizzle fills the same defaults we write (name <table>_<column>_seq, 1..max);
            # spelling out a bigint maxValue would lose precision in a JS number
            kind = "Always" if column.identity.get("type") == "always" else "ByDefault"
            builder += f".generated{kind}AsIdentity()"
        if column.generated:
            builder += f".generatedAlwaysAs({ts_sql(column.generated['as'])})"
        if column.default == "now()":
            return builder + ".defaultNow()"
        return builder + ts_default(column.default)

    def _ts_builder(self, name: str, lt: LogicalType) -> str:
        if lt.name == "array" and lt.element is not None:
            return self._ts_builder(name, lt.element) + ".array()" * lt.dims
        if lt.name == "enum":
            return f"{enum_const(lt.ref or '')}({name})"
        if lt.name == "custom":
            return f"{custom_const(lt.ref or '')}({name})"
        if lt.name == "numeric" and lt.precision is not None:
            scale = f", scale: {lt.scale}" if lt.scale is not None else ""
            numeric = f"numeric({name}, {{ precision: {lt.precision}{scale} }})"
        else:
            numeric = f"numeric({name})"
        precision = f", precision: {lt.precision}" if lt.precision is not None else ""
        return {
            "varchar": f"varchar({name}, {{ length: {lt.length} }})",
            "smallint": f"smallint({name})",
            "integer": f"integer({name})",
            "bigint": f"bigint({name}, {{ mode: 'number' }})",
            "serial": f"serial({name})",
            "smallserial": f"smallserial({name})",
            "bigserial": f"bigserial({name}, {{ mode: 'number' }})",
            "real": f"real({name})",
            "double": f"doublePrecision({name})",
            "numeric": numeric,
            "boolean": f"boolean({name})",
            "timestamp": f"timestamp({name}, {{ withTimezone: "
                         f"{'true' if lt.with_tz else 'false'}, mode: 'date'{precision} }})",
            "date": f"date({name}, {{ mode: 'string' }})",
            "json": f"jsonb({name})",
            "json_text": f"json({name})",
            "uuid": f"uuid({name})",
            "bytes": f"bytea({name})",
        }.get(lt.name, f"text({name})")

    def ts_declarations(self, spec: Any, snapshot: Snapshot) -> list[str]:
        """pgEnum / customType constants the column builders use."""
        out = []
        schemas = sorted({e.schema for e in snapshot.enums.values() if e.schema != "public"})
        for schema in schemas:
            out.append(f"const {schema_const(schema)} = pgSchema({ts_string(schema)});")
        for name, enum in spec.enums.items():
            values = ", ".join(ts_string(v) for v in enum.labels)
            schema = enum.schema_ or "public"
            fn = "pgEnum" if schema == "public" else f"{schema_const(schema)}.enum"
            out.append(f"export const {enum_const(name)} = {fn}({ts_string(name)}, [{values}]);")
        for name, custom in spec.types.items():
            sql = custom.for_dialect(self.name)
            if sql is not None:
                out.append(f"export const {custom_const(name)} = customType<{{ data: unknown }}>"
                           f"({{ dataType() {{ return {ts_string(sql.strip())}; }} }});")
        return out

    # ------------------------------------------------------------------ SQL
    def quote(self, identifier: str) -> str:
        return f'"{identifier}"'

    def _identity_sql(self, identity: dict) -> str:
        kind = "ALWAYS" if identity.get("type") == "always" else "BY DEFAULT"
        cycle = " CYCLE" if identity.get("cycle") else ""
        return (
            f'GENERATED {kind} AS IDENTITY (sequence name "{identity["name"]}" '
            f'INCREMENT BY {identity.get("increment", "1")} MINVALUE {identity.get("minValue", "1")} '
            f'MAXVALUE {identity.get("maxValue", MAX_VALUES["bigint"])} '
            f'START WITH {identity.get("startWith", "1")} CACHE {identity.get("cache", "1")}{cycle})'
        )

    def type_sql(self, c: Column) -> str:
        """The column's type in DDL: an enum is quoted (and schema-qualified outside public),
        every other type is written as the snapshot holds it."""
        if c.type_schema is None:
            return c.type
        base = c.type.split("[", 1)[0]
        dims = c.type[len(base):]
        schema = f"{self.quote(c.type_schema)}." if c.type_schema != "public" else ""
        return f"{schema}{self.quote(base)}{dims}"

    def _column_sql(self, c: Column) -> str:
        parts = [f"{self.quote(c.name)} {self.type_sql(c)}"]
        if c.primary_key:
            parts.append("PRIMARY KEY")
        if c.default is not None:
            parts.append(f"DEFAULT {self.default_sql(c.default)}")
        if c.generated:
            parts.append(f"GENERATED ALWAYS AS ({c.generated['as']}) STORED")
        if c.not_null and c.identity is None:
            parts.append("NOT NULL")
        if c.identity is not None:
            parts.append(self._identity_sql(c.identity))
        return " ".join(parts)

    def table_ref(self, table: Table | str, schema: str = "") -> str:
        if isinstance(table, Table):
            table, schema = table.name, table.schema
        return f"{self.quote(schema)}.{self.quote(table)}" if schema else self.quote(table)

    def create_table_sql(self, table: Table) -> str:
        q = self.quote
        lines = [self._column_sql(c) for c in table.columns.values()]
        for pk in table.primary_keys.values():
            lines.append(f'CONSTRAINT {q(pk.name)} PRIMARY KEY({",".join(q(c) for c in pk.columns)})')
        for u in table.uniques.values():
            lines.append(f"CONSTRAINT {q(u.name)} {self._unique_body(u)}")
        for ch in table.checks.values():
            lines.append(f"CONSTRAINT {q(ch.name)} CHECK ({ch.value})")
        return f"CREATE TABLE {self.table_ref(table)} (\n\t" + ",\n\t".join(lines) + "\n);\n"

    def _unique_body(self, u: Unique) -> str:
        nnd = " NULLS NOT DISTINCT" if u.nulls_not_distinct else ""
        return f'UNIQUE{nnd}({",".join(self.quote(c) for c in u.columns)})'

    def add_fk_sql(self, table: Table | str, fk: ForeignKey) -> str:
        q = self.quote
        return (
            f"ALTER TABLE {self.table_ref(table)} ADD CONSTRAINT {q(fk.name)} FOREIGN KEY "
            f'({",".join(q(c) for c in fk.columns_from)}) REFERENCES '
            f'{q(fk.schema_to or "public")}.{q(fk.table_to)}({",".join(q(c) for c in fk.columns_to)}) '
            f"ON DELETE {fk.on_delete} ON UPDATE {fk.on_update};"
        )

    def create_index_sql(self, table: Table | str, index: Index, outside: bool = False) -> str:
        parts = []
        for c in index.columns:
            text = f"({c.expression})" if c.is_expression else self.quote(c.expression)
            if c.opclass:  # drizzle-kit drops DESC/NULLS after an opclass; PostgreSQL keeps them
                text += f" {c.opclass}"
            if not c.asc:
                text += " DESC"
            if not (c.asc and c.nulls == "last") and not (not c.asc and c.nulls == "first"):
                text += f" NULLS {c.nulls.upper()}"
            parts.append(text)
        unique = "UNIQUE " if index.unique else ""
        # CONCURRENTLY only in a file of its own (outside_transaction_sql): inside the
        # migration's transaction PostgreSQL would refuse it
        concurrently = " CONCURRENTLY IF NOT EXISTS" if outside else ""
        with_ = f" WITH ({', '.join(f'{k}={_param(v)}' for k, v in index.with_.items())})" \
            if index.with_ else ""
        where = f" WHERE {index.where}" if index.where else ""
        return (f"CREATE {unique}INDEX{concurrently} {self.quote(index.name)} ON "
                f"{self.table_ref(table)} USING {index.method} ({','.join(parts)}){with_}{where};")

    def render(self, operations: Sequence[o.Op], old: Snapshot, new: Snapshot) -> list[str]:
        q = self.quote
        out: list[str] = []
        of = lambda *kinds: [op for op in operations if isinstance(op, kinds)]  # noqa: E731
        created = dependency_order([op.definition for op in of(o.CreateTable)])
        out += self._enum_sql_first(of)
        out += [self.create_table_sql(t) for t in created]
        out += [f"DROP TABLE {self.table_ref(op.definition)} CASCADE;" for op in of(o.DropTable)]
        for op in of(o.RenameTable):
            out.append(f"ALTER TABLE {q(op.old)} RENAME TO {q(op.table)};")
            table = old.tables.get(op.table)
            if table is not None and any(c.primary_key for c in table.columns.values()):
                # PostgreSQL named the inline key <table>_pkey; keep the name following the table
                out.append(f"ALTER TABLE {q(op.table)} RENAME CONSTRAINT "
                           f"{q(op.old + '_pkey')} TO {q(op.table + '_pkey')};")

        for op in of(o.RenameColumn):
            out.append(f"ALTER TABLE {q(op.table)} RENAME COLUMN {q(op.old)} TO {q(op.new)};")
        out += self._rename_identity_sequences(old, of(o.RenameTable), of(o.RenameColumn))
        out += [s for op in of(o.RebuildEnum) for s in self._rebuild_enum_sql(op, old, new)]

        out += [f"ALTER INDEX {q(op.old)} RENAME TO {q(op.new)};" for op in of(o.RenameIndex)]
        # foreign keys go first: they depend on the unique constraint, primary key or unique
        # index of their target, which PostgreSQL refuses to drop while they exist (2BP01)
        # (DROP TABLE ... CASCADE already removed the foreign keys that pointed at it)
        gone = {op.table for op in of(o.DropTable)}
        out += [f"ALTER TABLE {q(op.table)} DROP CONSTRAINT {q(op.fk.name)};\n"
                for op in of(o.DropForeignKey) if op.fk.table_to not in gone]
        out += [f"ALTER TABLE {q(op.table)} DROP CONSTRAINT {q(op.unique.name)};"
                for op in of(o.DropUnique)]
        out += [f"ALTER TABLE {q(op.table)} DROP CONSTRAINT {q(op.check.name)};"
                for op in of(o.DropCheck)]
        out += [f"DROP INDEX {q(op.index.name)};" for op in of(o.DropIndex)]
        out += [f"ALTER TABLE {q(op.table)} DROP CONSTRAINT {q(op.pk.name)};"
                for op in of(o.DropPrimaryKey)]
        alters = of(o.AlterColumn)
        readded = [op for op in alters if _readds(op)]
        alters = [op for op in alters if not _readds(op)]
        out += [f"ALTER TABLE {q(op.table)} DROP COLUMN {q(op.old.name)};" for op in readded]
        out += [s for op in alters for s in self._alter_column_sql(op, dropping=True)]
        out += [s for op in alters for s in self._alter_column_sql(op, dropping=False)]
        out += [s for op in readded for s in self._readd_column_sql(op, new, operations)]
        out += [f'ALTER TABLE {q(op.table)} ADD CONSTRAINT {q(op.pk.name)} PRIMARY KEY'
                f'({",".join(q(c) for c in op.pk.columns)});' for op in of(o.AddPrimaryKey)]
        out += [f"ALTER TABLE {q(op.table)} ADD COLUMN {self._column_sql(op.column)};"
                for op in of(o.AddColumn)]
        # what a foreign key references (a primary key, a unique constraint or a unique
        # index, 42830 otherwise) exists before it: keys and uniques, then indexes, then FKs
        out += [f"ALTER TABLE {q(op.table)} ADD CONSTRAINT {q(op.unique.name)} "
                f"{self._unique_body(op.unique)};" for op in of(o.AddUnique)]
        out += [self.create_index_sql(t, ix) for t in created for ix in t.indexes.values()]
        out += [self.create_index_sql(op.table, op.index) for op in of(o.CreateIndex)]
        out += [self.add_fk_sql(t, fk) for t in created for fk in t.foreign_keys.values()]
        out += [self.add_fk_sql(op.table, op.fk) for op in of(o.AddForeignKey)]
        out += [f"ALTER TABLE {q(op.table)} DROP COLUMN {q(op.column.name)};"
                for op in of(o.DropColumn)]
        out += [f"ALTER TABLE {q(op.table)} ADD CONSTRAINT {q(op.check.name)} CHECK "
                f"({op.check.value});" for op in of(o.AddCheck)]
        out += [f"DROP TYPE {self.enum_ref(_old_enum(op.old))};" for op in of(o.RebuildEnum)]
        out += [f"DROP TYPE {self.enum_ref(op.enum)};" for op in of(o.DropEnum)]
        return out

    # ------------------------------------------------------------------ enum types
    def enum_ref(self, enum: Enum) -> str:
        """"schema"."name": drizzle always qualifies enum types in their own statements."""
        return f"{self.quote(enum.schema)}.{self.quote(enum.name)}"

    def create_enum_sql(self, enum: Enum) -> str:
        values = ", ".join(string_literal(v) for v in enum.values)
        return f"CREATE TYPE {self.enum_ref(enum)} AS ENUM({values});"

    def _enum_sql_first(self, of) -> list[str]:
        """Schemas, renames, new types and new values: before any table uses them."""
        out = []
        schemas = sorted(({op.enum.schema for op in of(o.CreateEnum)}
                          | {op.new.schema for op in of(o.RenameEnum)}) - {"public"})
        out += [f"CREATE SCHEMA IF NOT EXISTS {self.quote(schema)};" for schema in schemas]
        columns = [c for op in of(o.CreateTable) for c in op.definition.columns.values()]
        columns += [op.column for op in of(o.AddColumn)] + [op.new for op in of(o.AlterColumn)]
        indexes = [op.index for op in of(o.CreateIndex)]
        indexes += [ix for op in of(o.CreateTable) for ix in op.definition.indexes.values()]
        extensions = sorted({c.extension for c in columns if c.extension}
                            | {ix.extension for ix in indexes if ix.extension})
        out += [f"CREATE EXTENSION IF NOT EXISTS {self.quote(name)};" for name in extensions]
        for op in of(o.RenameEnum):
            current = op.old
            if op.old.name != op.new.name:
                out.append(f"ALTER TYPE {self.enum_ref(current)} RENAME TO "
                           f"{self.quote(op.new.name)};")
                current = Enum(op.new.name, op.old.schema, [])
            if op.old.schema != op.new.schema:
                out.append(f"ALTER TYPE {self.enum_ref(current)} SET SCHEMA "
                           f"{self.quote(op.new.schema)};")
        out += [f"ALTER TYPE {self.enum_ref(op.enum)} RENAME VALUE {string_literal(op.old)} TO "
                f"{string_literal(op.new)};" for op in of(o.RenameEnumValue)]
        out += [self.create_enum_sql(op.enum) for op in of(o.CreateEnum)]
        out += [f"ALTER TYPE {self.enum_ref(op.enum)} ADD VALUE {string_literal(op.value)}"
                + (f" BEFORE {string_literal(op.before)}" if op.before else "") + ";"
                for op in of(o.AddEnumValue)]
        return out

    def _rebuild_enum_sql(self, op: o.RebuildEnum, old: Snapshot, new: Snapshot) -> list[str]:
        """Values removed or reordered: rename the old type away, create the new one, convert
        every column through text (a row holding a removed value fails the migration), drop
        the old type at the end of the migration."""
        q = self.quote
        out = [f"ALTER TYPE {self.enum_ref(op.old)} RENAME TO {q(_old_enum(op.old).name)};",
               self.create_enum_sql(op.new)]
        for table_name, column_name in op.columns:
            before = old.tables[table_name].columns[column_name]
            after = new.tables[table_name].columns[column_name]
            head = f"ALTER TABLE {q(table_name)} ALTER COLUMN {q(column_name)}"
            if before.default is not None:
                out.append(f"{head} DROP DEFAULT;")
            dims = "[]" * after.type.count("[")
            out.append(f"{head} SET DATA TYPE {self.type_sql(after)} USING "
                       f"{q(column_name)}::text{dims}::{self.type_sql(after)};")
            if after.default is not None:
                out.append(f"{head} SET DEFAULT {self.default_sql(after.default)};")
        return out

    def _rename_identity_sequences(self, before: Snapshot, table_renames: list,
                                   column_renames: list) -> list[str]:
        """ALTER SEQUENCE for identity sequences whose conventional name (<table>_<column>_seq)
        follows this migration's table and column renames (`before` holds the new names)."""
        old_tables = {op.table: op.old for op in table_renames}
        old_columns = {(op.table, op.new): op.old for op in column_renames}
        out = []
        for name in sorted({*old_tables, *(t for t, _ in old_columns)}):
            table = before.tables.get(name)
            for column in (table.columns.values() if table else []):
                identity = column.identity
                # serial columns own a sequence named the same way
                sequence = identity.get("name") if identity else \
                    _serial_sequence(name, column.name) if column.type in SERIAL_BASE else None
                if sequence != f"{name}_{column.name}_seq":
                    continue
                old_name = (f"{old_tables.get(name, name)}_"
                            f"{old_columns.get((name, column.name), column.name)}_seq")
                if old_name != sequence:
                    out.append(f"ALTER SEQUENCE {self.quote(old_name)} RENAME TO "
                               f"{self.quote(sequence)};")
        return out

    def _readd_column_sql(self, op: o.AlterColumn, new: Snapshot,
                          operations: Sequence[o.Op]) -> list[str]:
        """A column that became generated, or whose expression changed, is dropped and added
        again (PostgreSQL before 17 cannot change a generation expression); the DROP took
        its indexes and unique constraints along, so they are made again."""
        q = self.quote
        out = [f"ALTER TABLE {q(op.table)} ADD COLUMN {self._column_sql(op.new)};"]
        table = new.tables[op.table]
        made = {x.index.name for x in operations if isinstance(x, o.CreateIndex)}
        made |= {x.unique.name for x in operations if isinstance(x, o.AddUnique)}
        name = op.new.name
        for ix in table.indexes.values():
            uses = any((not c.is_expression and c.expression == name) or
                       (c.is_expression and name in c.expression) for c in ix.columns)
            if ix.name not in made and (uses or (ix.where and name in ix.where)):
                out.append(self.create_index_sql(table, ix))
        for u in table.uniques.values():
            if u.name not in made and name in u.columns:
                out.append(f"ALTER TABLE {q(op.table)} ADD CONSTRAINT {q(u.name)} "
                           f"{self._unique_body(u)};")
        return out

    def _alter_column_sql(self, op: o.AlterColumn, *, dropping: bool) -> list[str]:
        """ALTER COLUMN statements; the `dropping` pass removes keys/identity/defaults first."""
        q = self.quote
        head = f"ALTER TABLE {q(op.table)} ALTER COLUMN {q(op.new.name)}"
        old, new = op.old, op.new
        changed = op.changed()
        if dropping:
            out = []
            if old.generated and not new.generated:  # keeps the computed values
                out.append(f"{head} DROP EXPRESSION;")
            if old.primary_key and not new.primary_key:
                out.append(f"ALTER TABLE {q(op.table)} DROP CONSTRAINT {q(op.table + '_pkey')};")
            if old.identity and not new.identity:
                out.append(f"{head} DROP IDENTITY;")
            if old.default is not None and ("type" in changed or new.default is None):
                out.append(f"{head} DROP DEFAULT;")
            if old.type in SERIAL_BASE and new.type not in SERIAL_BASE:
                out.append(f"{head} DROP DEFAULT;")
                out.append(f"DROP SEQUENCE {q(_serial_sequence(op.table, new.name))};")
            return out
        out = []
        if "type" in changed:
            out.extend(self._retype_sql(op, head))
        if new.default is not None and (new.default != old.default or "type" in changed):
            out.append(f"{head} SET DEFAULT {self.default_sql(new.default)};")
        if new.not_null and not old.not_null:
            if new.default is not None:
                out.append(f"UPDATE {q(op.table)} SET {q(new.name)} = "
                           f"{self.default_sql(new.default)} WHERE {q(new.name)} IS NULL;")
            out.append(f"{head} SET NOT NULL;")
        if old.not_null and not new.not_null and not new.primary_key:
            out.append(f"{head} DROP NOT NULL;")
        if new.primary_key and not old.primary_key:
            out.append(f"ALTER TABLE {q(op.table)} ADD PRIMARY KEY ({q(new.name)});")
        if new.identity and not old.identity:
            out.append(f"{head} ADD {self._identity_sql(new.identity)};")
            # existing rows already hold ids: start the new sequence above them
            table_literal = string_literal(q(op.table))
            out.append(f"SELECT setval(pg_get_serial_sequence({table_literal}, "
                       f"{string_literal(new.name)}), COALESCE(MAX({q(new.name)}), 0) + 1, false) "
                       f"FROM {q(op.table)};")
        return out


    def _retype_sql(self, op: o.AlterColumn, head: str) -> list[str]:
        """SET DATA TYPE with a USING that keeps every value: enums via text, a time-zone
        change read as UTC, serial types as their integer type plus their sequence."""
        q = self.quote
        old, new = op.old, op.new
        target = SERIAL_BASE.get(new.type) or self.type_sql(new)
        column = q(new.name)
        special = _using_for(old, new, column, target)
        if special is not None:
            using = special
        elif _zone(old.type) is not None and _zone(new.type) is not None \
                and _zone(old.type) != _zone(new.type):
            using = f"{column} AT TIME ZONE 'UTC'"
        elif old.type_schema or new.type_schema:  # enum <-> text or another enum
            dims = "[]" * old.type.count("[")
            using = f"{column}::text{dims}::{target}"
        else:
            using = f"{column}::{target}"
        out = []
        if SERIAL_BASE.get(old.type, old.type) != target:
            out.append(f"{head} SET DATA TYPE {target} USING {using};")
        sequence = q(_serial_sequence(op.table, new.name))
        if new.type in SERIAL_BASE and old.type in SERIAL_BASE:
            out.append(f"ALTER SEQUENCE {sequence} AS {target};")
        elif new.type in SERIAL_BASE:
            out.append(f"CREATE SEQUENCE {sequence} AS {target} OWNED BY "
                       f"{q(op.table)}.{column};")
            out.append(f"SELECT setval({string_literal(sequence)}, COALESCE(MAX({column}), 0) + 1, "
                       f"false) FROM {q(op.table)};")
            out.append(f"{head} SET DEFAULT nextval({string_literal(sequence)}::regclass);")
        return out

    def type_change_problem(self, op: o.AlterColumn) -> str | None:
        """Why a column's values cannot keep their meaning through this type change in both
        engines (SQLite's rebuild copies each value as stored), or None when they can."""
        before, after = type_family(op.old), type_family(op.new)
        if before is None or after is None or before == after:
            return None
        if (before, after) in _SAME_MEANING:
            return None
        if (before, after) == ("timestamp", "integer") and op.new.type.split("(")[0] != "bigint":
            return ("epoch milliseconds need a bigint column (they overflow "
                    f"{op.new.type})")
        if (before, after) in (("timestamp", "integer"), ("integer", "timestamp")):
            return None  # epoch milliseconds: SQLite keeps them, PostgreSQL converts
        return _WHY_NOT.get((before, after), "the two databases would hold different values")

    def type_change_note(self, op: o.AlterColumn) -> str:
        using = _using_for(op.old, op.new, self.quote(op.new.name),
                           SERIAL_BASE.get(op.new.type) or self.type_sql(op.new))
        note = "existing values are converted " + (f"(USING {using})" if using
                                                    else "by the migration's USING cast")
        if (type_family(op.old), type_family(op.new)) in _FROM_TEXT:
            note += "; a value that is not a number makes the migration fail"
        return note

    def outside_transaction(self, op: o.Op, old: Snapshot, new: Snapshot) -> bool:
        """A `concurrently: true` index built on / dropped from a table that stays: it gets a
        file of its own that runs outside a transaction (on a new or dropped table plain DDL
        in the migration's transaction is what works, and is instant)."""
        if isinstance(op, o.CreateIndex):
            return op.index.concurrently and op.table in old.tables
        if isinstance(op, o.DropIndex):
            return op.index.concurrently and op.table in new.tables
        return False

    def outside_transaction_sql(self, op: o.Op) -> list[str]:
        """The marked, re-runnable statement of such a file (a failed build is retried
        from the top, after the runner dropped the INVALID index it left)."""
        from agor_schema.dialects.statements import NO_TRANSACTION_MARKER

        if isinstance(op, o.CreateIndex):
            sql = self.create_index_sql(op.table, op.index, outside=True)
        else:
            sql = f"DROP INDEX CONCURRENTLY IF EXISTS {self.quote(op.index.name)};"
        return [f"{NO_TRANSACTION_MARKER}\n{sql}"]

    def lint(self, operation: o.Op, old: Snapshot, new: Snapshot) -> list[str]:
        """Operations that rewrite an existing table or hold a long ACCESS EXCLUSIVE lock."""
        op = operation
        if op.table not in old.tables or op.table not in new.tables:
            return []  # created or dropped in this migration: nothing to rewrite
        lock = "ACCESS EXCLUSIVE lock (reads and writes wait)"
        out: list[str] = []
        if isinstance(op, o.AlterColumn):
            if _readds(op):
                out.append(f"'{op.new.name}' is dropped and added again to change its "
                           f"generation expression: the whole table is rewritten under an {lock}")
            if op.old.type != op.new.type and _type_change_rewrites(op.old.type, op.new.type):
                out.append(f"SET DATA TYPE {op.old.type} -> {op.new.type} rewrites the whole "
                           f"table and its indexes under an {lock}")
            if op.old.type.count("[") != op.new.type.count("["):
                out.append(f"{op.old.type} -> {op.new.type} changes the array dimensions: "
                           "PostgreSQL cannot cast the existing values, so the migration fails "
                           "on a table with rows; add a new column and fill it in a custom "
                           "migration instead")
            if op.new.not_null and not op.old.not_null:
                out.append(f"SET NOT NULL scans every row under an {lock}; on a large table "
                           "add a CHECK (... IS NOT NULL) NOT VALID and VALIDATE it first")
            if op.new.identity and not op.old.identity:
                out.append(f"ADD GENERATED AS IDENTITY takes an {lock}")
        elif isinstance(op, o.AddColumn):
            c = op.column
            if c.identity or c.generated or (isinstance(c.default, str)
                                             and _VOLATILE.search(c.default)):
                out.append(f"ADD COLUMN '{c.name}' with a volatile default, identity or "
                           f"generated value rewrites the whole table under an {lock}")
        elif isinstance(op, (o.AddPrimaryKey, o.AddUnique)):
            out.append(f"adding a {'primary key' if isinstance(op, o.AddPrimaryKey) else 'unique'} "
                       f"constraint builds its index under an {lock}; on a large table build "
                       "a unique index CONCURRENTLY first and attach it with USING INDEX")
        elif isinstance(op, o.AddCheck):
            out.append(f"ADD CHECK scans every row under an {lock}; on a large table add it "
                       "NOT VALID and VALIDATE CONSTRAINT separately")
        elif isinstance(op, o.AddForeignKey):
            out.append(f"ADD FOREIGN KEY validates every row while holding SHARE ROW EXCLUSIVE "
                       f"locks on '{op.table}' and '{op.fk.table_to}' (writes wait); on a large "
                       "table add it NOT VALID and VALIDATE CONSTRAINT separately")
        elif isinstance(op, o.CreateIndex) and not op.index.concurrently:
            out.append(f"CREATE INDEX '{op.index.name}' blocks writes to '{op.table}' while it "
                       "builds; on a large table give the index `concurrently: true` (built "
                       "outside a transaction, in a migration file of its own)")
        return [message + LOCK_ADVICE for message in out]


def _readds(op: o.AlterColumn) -> bool:
    """Becoming generated, or a changed generation: DROP COLUMN + ADD COLUMN."""
    return bool(op.new.generated) and op.new.generated != op.old.generated


_VOLATILE = re.compile(r"random|uuid|clock_timestamp|nextval|timeofday", re.I)
_VARCHAR = re.compile(r"^(?:varchar|character varying)\((\d+)\)$")
_NUMERIC = re.compile(r"^numeric\((\d+)(?:,\s*(\d+))?\)$")


def _type_change_rewrites(old: str, new: str) -> bool:
    """False for the binary-coercible changes PostgreSQL makes without touching rows."""
    old_varchar, new_varchar = _VARCHAR.match(old), _VARCHAR.match(new)
    if old_varchar and (new == "text" or (new_varchar and int(new_varchar.group(1))
                                          >= int(old_varchar.group(1)))):
        return False
    if old.startswith("varchar") and new == "text":
        return False
    old_numeric, new_numeric = _NUMERIC.match(old), _NUMERIC.match(new)
    if old_numeric and new == "numeric":
        return False
    if old_numeric and new_numeric:
        same_scale = (old_numeric.group(2) or "0") == (new_numeric.group(2) or "0")
        return not (same_scale and int(new_numeric.group(1)) >= int(old_numeric.group(1)))
    return True


def _old_enum(enum: Enum) -> Enum:
    """The name an enum is renamed to while its replacement is built."""

    return Enum(f"{enum.name}{ENUM_REBUILD_SUFFIX}", enum.schema, enum.values)


def _zone(sql_type: str) -> bool | None:
    """True/False for a timestamp with/without time zone, None for any other type."""
    if not sql_type.startswith("timestamp") or "[" in sql_type:
        return None
    return sql_type.endswith("with time zone")


def _serial_sequence(table: str, column: str) -> str:
    """The sequence PostgreSQL creates for a serial column (<table>_<column>_seq)."""
    return f"{table}_{column}_seq"


def _pg_array_text(value: list) -> str:
    """The text of a PostgreSQL array value; strings double-quoted with \\ and " escaped."""
    items = []
    for item in value:
        if isinstance(item, list):
            items.append(_pg_array_text(item))
        elif isinstance(item, bool):
            items.append("true" if item else "false")
        elif isinstance(item, (int, float)):
            items.append(str(item))
        else:
            items.append('"' + str(item).replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(items) + "}"


LOCK_ADVICE = ("; while it waits for that lock, every new query on the table queues behind "
               "it: `agorschema migrate` caps the wait at ddl_lock_timeout (default 5 s) and "
               "retries ddl_lock_retries times (default 5), so a long transaction on the table "
               "delays the deploy instead of the traffic")


def _param(value: Any) -> str:
    """A storage parameter value as it follows `name=` in WITH (...)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _index_column_json(c: IndexColumn) -> dict:
    if c.is_expression:
        doc = {"expression": c.expression, "asc": c.asc, "isExpression": True, "nulls": c.nulls}
    else:
        doc = {"expression": c.expression, "isExpression": False, "asc": c.asc, "nulls": c.nulls}
    if c.opclass:
        doc["opclass"] = c.opclass
    return doc


def _index_column_from_json(raw: Any) -> IndexColumn:
    if isinstance(raw, str):  # snapshot versions <= 6 stored bare names
        return IndexColumn(raw)
    return IndexColumn(
        expression=raw["expression"],
        is_expression=bool(raw.get("isExpression", False)),
        asc=bool(raw.get("asc", True)),
        nulls=raw.get("nulls", "last"),
        opclass=raw.get("opclass"),
    )


def _default_needs_parens(sql: str) -> bool:
    from sqlglot import exp

    from agor_schema.expr import parse

    try:
        tree = parse(sql)
    except ValueError:
        return True
    return isinstance(tree, (exp.Connector, exp.Not, exp.Is, exp.Predicate, exp.In, exp.Between))


# function-call syntax that is not a pg_proc entry
_PG_SYNTAX = frozenset({"cast", "coalesce", "nullif", "greatest", "least", "extract", "trim",
                        "position", "overlay", "substring", "collation", "row", "array"})


@lru_cache(maxsize=1)
def postgres_functions() -> frozenset[str]:
    """pg_catalog's function names (capability data shipped with agorschema)."""
    from pathlib import Path

    text = Path(__file__).with_name("postgres_functions.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def type_family(column: Column) -> str | None:
    """The logical family of a PostgreSQL column type, for type-change rules (None: an
    array, a declared or unknown type, left to the database)."""
    t = column.type
    if t.endswith("]"):
        return None
    if column.type_schema:
        return "text"  # an enum: its values are text in both engines
    base = t.split("(")[0].strip()
    if base.startswith("timestamp"):
        return "timestamp"
    return {"date": "date", "integer": "integer", "bigint": "integer", "smallint": "integer",
            "serial": "integer", "bigserial": "integer", "smallserial": "integer",
            "real": "float", "double precision": "float", "numeric": "numeric",
            "boolean": "boolean", "text": "text", "varchar": "text", "character varying": "text",
            "jsonb": "json", "json": "json", "uuid": "uuid", "bytea": "bytes"}.get(base)


# Type changes whose values mean the same in both engines after the change: SQLite's rebuild
# copies each value (the new column's affinity turns numbers into text), PostgreSQL casts.
_SAME_MEANING = frozenset({
    ("integer", "float"), ("integer", "numeric"), ("numeric", "float"), ("integer", "text"),
    ("uuid", "text"), ("date", "text"), ("boolean", "integer"),
    # sound when every value is a number written as text: both engines read it as that
    # number; any other text makes PostgreSQL refuse the migration (the warning says so)
    ("text", "integer"), ("text", "float"), ("text", "numeric"),
})
_FROM_TEXT = frozenset({("text", "integer"), ("text", "float"), ("text", "numeric")})
_WHY_NOT = {
    ("timestamp", "date"): "SQLite holds a timestamp as epoch milliseconds and a date as ISO "
                           "text; its rebuild would copy the numbers",
    ("date", "timestamp"): "SQLite holds a date as ISO text and a timestamp as epoch "
                           "milliseconds; its rebuild would copy the text",
    ("integer", "boolean"): "PostgreSQL turns every non-zero number into true while SQLite "
                            "keeps the number",
    ("boolean", "text"): "PostgreSQL would write 'true'/'false' and SQLite '1'/'0'",
    ("timestamp", "text"): "PostgreSQL would write its text form of the time and SQLite the "
                           "epoch milliseconds",
    ("float", "integer"): "PostgreSQL rounds while SQLite keeps the fraction",
    ("numeric", "integer"): "PostgreSQL rounds while SQLite keeps the fraction",
    ("float", "numeric"): "PostgreSQL rounds to the scale while SQLite keeps every digit",
    ("float", "text"): "the engines print floating-point numbers differently (1e+20, "
                       "1.0e+20)",
    ("numeric", "text"): "PostgreSQL writes the scale's zeros (5.00) while SQLite writes 5",
    ("json", "text"): "PostgreSQL writes jsonb in its own form (key order, spacing) while "
                      "SQLite keeps the text as written",
    ("text", "json"): "PostgreSQL parses and rewrites the text (and fails on a row that is "
                      "not JSON) while SQLite keeps it",
    ("text", "uuid"): "PostgreSQL rewrites the text (lower case, and fails on a row that is "
                      "not a UUID) while SQLite keeps it",
}


def _using_for(old: Column, new: Column, column: str, target: str) -> str | None:
    """The USING of a change whose conversion is not a plain cast (epoch milliseconds)."""
    before, after = type_family(old), type_family(new)
    if (before, after) == ("timestamp", "integer"):
        return f"(EXTRACT(EPOCH FROM {column}) * 1000)::{target}"
    if (before, after) == ("integer", "timestamp"):
        if _zone(new.type) == "with":
            return f"to_timestamp({column} / 1000.0)"
        return f"to_timestamp({column} / 1000.0) AT TIME ZONE 'UTC'"
    if (before, after) == ("boolean", "integer"):
        return f"{column}::integer::{target}"
    return None
