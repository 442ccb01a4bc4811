"""SQLite: types by storage class, epoch-ms timestamps, 0/1 booleans, and the table rebuild.

SQLite's ALTER TABLE can add, drop and rename columns and rename tables; every other change
(type, nullability, default, keys, checks, foreign keys) is made by drizzle-kit's rebuild:
`__new_<t>`, copy every kept row, drop, rename, re-create indexes.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from agor_schema import ops as o
from agor_schema.dialects.base import (
    Dialect,
    absent_keys,
    columns_from_json,
    compact_json,
    constraints_from_json,
    dependency_order,
    group_by_table,
    string_literal,
    ts_default,
)
from agor_schema.dialects.sqlite_introspect import SQLiteIntrospection
from agor_schema.dialects.sqlite_runtime import SQLiteRuntime
from agor_schema.snapshot import (
    Column,
    Index,
    IndexColumn,
    Snapshot,
    Table,
    without_absent,
)
from agor_schema.spec.types import LogicalType
from agor_schema.ts_literals import custom_const, ts_enum_option, ts_sql, ts_string

NOW_MS_SQL = "CAST(ROUND((JULIANDAY('now') - 2440587.5) * 86400000) AS INTEGER)"
UUID_V4_SQL = (
    "LOWER(HEX(RANDOMBLOB(4))) || '-' || LOWER(HEX(RANDOMBLOB(2))) || '-4' || "
    "SUBSTR(LOWER(HEX(RANDOMBLOB(2))), 2) || '-' || SUBSTR('89ab', 1 + (ABS(RANDOM()) % 4), 1) "
    "|| SUBSTR(LOWER(HEX(RANDOMBLOB(2))), 2) || '-' || LOWER(HEX(RANDOMBLOB(6)))"
)
TYPES = {
    "text": "text",
    "smallint": "integer",
    "integer": "integer",
    "bigint": "integer",
    "serial": "integer",
    "smallserial": "integer",
    "bigserial": "integer",
    "real": "real",
    "double": "real",
    "numeric": "numeric",
    "boolean": "integer",
    "timestamp": "integer",
    "date": "text",
    "json": "text",
    "json_text": "text",
    "uuid": "text(36)",
    "bytes": "blob",
}
TOP_OPTIONAL = ("views", "enums", "_meta", "internal")
TABLE_OPTIONAL = ("compositePrimaryKeys", "uniqueConstraints", "checkConstraints")
FK_OFF = "PRAGMA foreign_keys=OFF;"
FK_ON = "PRAGMA foreign_keys=ON;"


class SQLiteDialect(SQLiteIntrospection, SQLiteRuntime, Dialect):
    name = "sqlite"
    sqlglot_dialect = "sqlite"
    snapshot_version = "6"
    journal_dialect = "sqlite"
    import_journal_dialects = ("sqlite", "turso")
    generated_kinds = frozenset({"stored", "virtual"})
    booleans_are_integers = True
    reserved_name_prefixes = ("sqlite_",)  # "object name reserved for internal use"
    folds_case = True  # `Users` and `users` name one table, `Name` and `name` one column
    references_resolve_late = True
    uniques_are_indexes = True

    def logical_spellings(self, column: Column) -> list[str]:
        from agor_schema.dialects.type_spellings import sqlite_spellings

        return sqlite_spellings(column)

    def type_change_note(self, op) -> str:
        return ("the rebuild copies each value as stored (SQLite applies the new column's "
                "type affinity: numbers become text in a text column); nothing else is converted")

    def unknown_functions(self, names):
        """SQLite has exactly the functions its library lists (no extensions are loaded)."""
        return [n for n in names if n not in sqlite_functions() and n not in ("cast",)]

    # ------------------------------------------------------------------ values
    def column_type(self, lt: LogicalType) -> str:
        if lt.name == "varchar":
            return f"text({lt.length})"
        return TYPES[lt.name]

    def column_type_problem(self, lt: LogicalType, primary_key: bool) -> str | None:
        """SQLite has no sequences: a serial column generates values only as the primary key
        (the rowid)."""
        if lt.is_serial and not primary_key:
            return (f"{lt} generates values only as a primary key in SQLite (which has no "
                    "sequences); make it the primary key, give the column 'only: postgres', "
                    "or override it: sqlite: {type: integer}")
        return None

    def enum_type(self, name: str, schema: str | None) -> tuple[str, str | None]:
        return "text", None

    def array_type(self, element_type: str, dims: int) -> str:
        return "text"  # the array as JSON text

    def array_default(self, value: list, element: LogicalType) -> str:
        return string_literal(compact_json(value))

    def now_default(self) -> str:
        return f"({NOW_MS_SQL})"

    def timestamp_default(self, epoch_ms: int, iso: str) -> int:
        return epoch_ms

    def json_default(self, value: Any, text: bool = False) -> str:
        return string_literal(compact_json(value))

    def wrap_default_expression(self, sql: str) -> str:
        return sql if _is_plain_literal(sql) else f"({sql})"

    def rewrite_expression(self, tree, column_types: Mapping[str, LogicalType]):
        from sqlglot import exp

        from agor_schema.expr import interval_milliseconds, parse

        calendar_functions = (exp.TimestampTrunc, exp.DateTrunc, exp.Extract, exp.TimeToStr,
                              exp.Cast)

        def rewrite(node: exp.Expression) -> exp.Expression:
            if isinstance(node, calendar_functions):
                _refuse_calendar_on_epoch_ms(node, column_types)
            _refuse_array_values(node)
            if isinstance(node, exp.CurrentTimestamp) or (
                isinstance(node, exp.Anonymous) and node.name.lower() == "now"
            ):
                return parse(NOW_MS_SQL).copy()
            if isinstance(node, exp.Uuid):
                return exp.Paren(this=parse(UUID_V4_SQL).copy())
            if isinstance(node, exp.Interval):
                return exp.Literal.number(interval_milliseconds(node))
            if isinstance(node, exp.Boolean):
                return exp.Literal.number(1 if node.this else 0)
            if isinstance(node, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE,
                                 exp.Between, exp.In)):
                _timestamp_literals_to_ms(node, column_types)
            return node

        return tree.transform(rewrite)

    def apply_autoincrement(self, table: str, column: Column, lt: LogicalType) -> None:
        column.autoincrement = True

    def add_unique(self, table: Table, name: str, columns: list[str],
                   nulls_not_distinct: bool = False) -> None:
        """SQLite keeps uniques as unique indexes (as drizzle); NULLs are always distinct."""
        table.indexes[name] = Index(name, [IndexColumn(c) for c in columns], unique=True)

    def generated_json(self, sql: str, kind: str) -> dict:
        """drizzle's SQLite serializer wraps the expression in parentheses."""
        return {"as": f"({sql})", "type": kind}

    # ------------------------------------------------------------------ snapshot JSON
    def snapshot_to_json(self, snapshot: Snapshot) -> dict:
        internal: dict = {}
        tables = {}
        for table in snapshot.tables.values():
            tables[table.name] = self._table_json(table)
            for index in table.indexes.values():
                flagged = {c.expression: {"isExpression": True}
                           for c in index.columns if c.is_expression}
                if flagged:
                    internal[index.name] = {"columns": flagged}
        renames = snapshot.renames or {}
        return without_absent({
            "version": "6",
            "dialect": "sqlite",
            "id": snapshot.id,
            "prevId": snapshot.prev_id,
            "tables": tables,
            "views": snapshot.extra.get("views", {}),
            "enums": {},
            "_meta": _meta_json(renames),
            "internal": {"indexes": internal},
        }, snapshot.absent)

    def _table_json(self, table: Table) -> dict:
        columns = {}
        for c in table.columns.values():
            doc: dict[str, Any] = {
                "name": c.name,
                "type": c.type,
                "primaryKey": c.primary_key,
                "notNull": c.not_null,
                "autoincrement": c.autoincrement,
            }
            if c.generated is not None:
                doc["generated"] = c.generated
            if c.default is not None:
                doc["default"] = c.default
            columns[c.name] = doc
        indexes = {}
        for ix in table.indexes.values():
            doc = {"name": ix.name, "columns": [c.expression for c in ix.columns],
                   "isUnique": ix.unique}
            if ix.where is not None:
                doc["where"] = ix.where
            indexes[ix.name] = doc
        return without_absent({
            "name": table.name,
            "columns": columns,
            "indexes": indexes,
            "foreignKeys": {
                fk.name: {
                    "name": fk.name,
                    "tableFrom": fk.table_from,
                    "tableTo": fk.table_to,
                    "columnsFrom": list(fk.columns_from),
                    "columnsTo": list(fk.columns_to),
                    "onDelete": fk.on_delete,
                    "onUpdate": fk.on_update,
                }
                for fk in table.foreign_keys.values()
            },
            "compositePrimaryKeys": {
                pk.name: {"columns": list(pk.columns), "name": pk.name}
                for pk in table.primary_keys.values()
            },
            "uniqueConstraints": {
                u.name: {"name": u.name, "columns": list(u.columns)}
                for u in table.uniques.values()
            },
            "checkConstraints": {
                ch.name: {"name": ch.name, "value": ch.value} for ch in table.checks.values()
            },
        }, table.absent)

    def snapshot_from_json(self, document: Mapping[str, Any]) -> Snapshot:
        internal = (document.get("internal") or {}).get("indexes") or {}
        tables = {}
        for key, raw in (document.get("tables") or {}).items():
            name = raw.get("name", key)
            table = Table(name=name, absent=absent_keys(raw, TABLE_OPTIONAL))
            table.columns = columns_from_json(raw)
            for iname, ix in (raw.get("indexes") or {}).items():
                flagged = (internal.get(iname) or {}).get("columns") or {}
                table.indexes[iname] = Index(
                    name=ix.get("name", iname),
                    columns=[
                        IndexColumn(c, is_expression=bool((flagged.get(c) or {}).get("isExpression")))
                        for c in ix.get("columns", [])
                    ],
                    unique=bool(ix.get("isUnique", False)),
                    where=ix.get("where"),
                )
            constraints_from_json(raw, table)
            tables[name] = table
        return Snapshot(
            dialect="sqlite",
            tables=tables,
            id=document.get("id", ""),
            prev_id=document.get("prevId", ""),
            extra={"views": document.get("views") or {}},
            renames=dict(document.get("_meta") or {}),
            absent=absent_keys(document, TOP_OPTIONAL),
        )

    # ------------------------------------------------------------------ TypeScript
    ts_module = "drizzle-orm/sqlite-core"
    ts_table_fn = "sqliteTable"

    def ts_imports(self) -> list[str]:
        return ["text", "integer", "real", "blob", "numeric", "customType", "index",
                "uniqueIndex", "primaryKey", "foreignKey", "unique", "check"]

    def ts_preamble(self, builders: str) -> str:
        return ""

    def ts_column(self, column: Column, lt: LogicalType, labels: list[str] | None = None) -> str:
        """The drizzle sqlite-core builder of a column (mode keeps the app-side type; `labels`
        types an enum column's text)."""
        name = ts_string(column.name)
        if lt.name == "custom":
            builder = f"{custom_const(lt.ref or '')}({name})"
        elif labels and lt.name in ("text", "enum"):
            builder = f"text({name}, {{ {ts_enum_option(labels)[2:]} }})"
        elif labels and lt.name == "varchar":
            builder = f"text({name}, {{ length: {lt.length}{ts_enum_option(labels)} }})"
        else:
            builder = {
                "varchar": f"text({name}, {{ length: {lt.length} }})",
                "uuid": f"text({name}, {{ length: 36 }})",
                "smallint": f"integer({name})",
                "integer": f"integer({name})",
                "serial": f"integer({name})",
                "smallserial": f"integer({name})",
                "bigint": f"integer({name}, {{ mode: 'number' }})",
                "bigserial": f"integer({name}, {{ mode: 'number' }})",
                "boolean": f"integer({name}, {{ mode: 'boolean' }})",
                "timestamp": f"integer({name}, {{ mode: 'timestamp_ms' }})",
                "real": f"real({name})",
                "double": f"real({name})",
                "numeric": f"numeric({name})",
                "json": f"text({name}, {{ mode: 'json' }})",
                "json_text": f"text({name}, {{ mode: 'json' }})",
                "array": f"text({name}, {{ mode: 'json' }})",
                "bytes": f"blob({name})",
            }.get(lt.name, f"text({name})")
        if column.primary_key:
            builder += ".primaryKey({ autoIncrement: true })" if column.autoincrement \
                else ".primaryKey()"
        elif column.not_null:
            builder += ".notNull()"
        if column.generated:
            sql = column.generated["as"]  # drizzle adds the parentheses back
            sql = sql[1:-1] if sql.startswith("(") and sql.endswith(")") else sql
            builder += (f".generatedAlwaysAs({ts_sql(sql)}, "
                        f"{{ mode: '{column.generated.get('type', 'virtual')}' }})")
        return builder + ts_default(column.default)

    def ts_declarations(self, spec: Any, snapshot: Snapshot) -> list[str]:
        """customType constants for declared types with a SQLite side."""
        return [f"export const {custom_const(name)} = customType<{{ data: unknown }}>"
                f"({{ dataType() {{ return {ts_string(sql.strip())}; }} }});"
                for name, custom in spec.types.items()
                if (sql := custom.for_dialect(self.name)) is not None]

    # ------------------------------------------------------------------ SQL
    def quote(self, identifier: str) -> str:
        return f"`{identifier}`"

    def _column_sql(self, c: Column) -> str:
        parts = [f"{self.quote(c.name)} {c.type}"]
        if c.primary_key:
            parts.append("PRIMARY KEY")
        if c.autoincrement:
            parts.append("AUTOINCREMENT")
        if c.default is not None:
            parts.append(f"DEFAULT {self.default_sql(c.default)}")
        if c.generated:
            parts.append(f"GENERATED ALWAYS AS {c.generated['as']} {c.generated['type'].upper()}")
        if c.not_null:
            parts.append("NOT NULL")
        return " ".join(parts)

    def create_table_sql(self, table: Table, name: str | None = None) -> str:
        q = self.quote
        lines = [self._column_sql(c) for c in table.columns.values()]
        for pk in table.primary_keys.values():
            lines.append(f"PRIMARY KEY({', '.join(q(c) for c in pk.columns)})")
        for fk in table.foreign_keys.values():
            lines.append(
                f"FOREIGN KEY ({','.join(q(c) for c in fk.columns_from)}) REFERENCES "
                f"{q(fk.table_to)}({','.join(q(c) for c in fk.columns_to)}) "
                f"ON UPDATE {fk.on_update} ON DELETE {fk.on_delete}"
            )
        for u in table.uniques.values():
            lines.append(f"CONSTRAINT {u.name} UNIQUE({','.join(q(c) for c in u.columns)})")
        for ch in table.checks.values():
            lines.append(f'CONSTRAINT "{ch.name}" CHECK({ch.value})')
        return f"CREATE TABLE {q(name or table.name)} (\n\t" + ",\n\t".join(lines) + "\n);\n"

    def create_index_sql(self, table: str, index: Index) -> str:
        parts = ",".join(
            f"({c.expression})" if c.is_expression else self.quote(c.expression)
            for c in index.columns
        )
        unique = "UNIQUE " if index.unique else ""
        where = f" WHERE {index.where}" if index.where else ""
        return f"CREATE {unique}INDEX {self.quote(index.name)} ON {self.quote(table)} ({parts}){where};"

    def render(self, operations: Sequence[o.Op], old: Snapshot, new: Snapshot) -> list[str]:
        statements: list[str] = []
        renames = [op for op in operations if isinstance(op, (o.RenameTable, o.RenameColumn))]
        dropped = [op.definition for op in operations if isinstance(op, o.DropTable)]
        created = [op.definition for op in operations if isinstance(op, o.CreateTable)]
        if dropped:
            statements.append(FK_OFF)
            for table in reversed(dependency_order(dropped)):
                statements.append(f"DROP TABLE {self.quote(table.name)};")
            statements.append(FK_ON)
        for op in renames:
            statements.append(self._rename_sql(op))
        for table in dependency_order(created):
            statements.append(self.create_table_sql(table))
            statements.extend(self.create_index_sql(table.name, ix) for ix in table.indexes.values())
        skip = (o.RenameTable, o.RenameColumn, o.DropTable, o.CreateTable)
        groups = group_by_table([op for op in operations if not isinstance(op, skip)])
        for table_name, table_ops in groups.items():
            statements.extend(self._alter_table(table_name, table_ops, old, new))
        return statements

    def _rename_sql(self, op: o.RenameTable | o.RenameColumn) -> str:
        if isinstance(op, o.RenameTable):
            return f"ALTER TABLE {self.quote(op.old)} RENAME TO {self.quote(op.table)};"
        return f'ALTER TABLE {self.quote(op.table)} RENAME COLUMN "{op.old}" TO "{op.new}";'

    def needs_rebuild(self, table_ops: Sequence[o.Op], old_table: Table | None) -> bool:
        """True when ALTER TABLE cannot express one of the changes of this table."""
        added = {op.column.name for op in table_ops if isinstance(op, o.AddColumn)}
        for op in table_ops:
            if isinstance(op, (o.AlterColumn, o.DropForeignKey, o.AddCheck, o.DropCheck,
                               o.AddPrimaryKey, o.DropPrimaryKey, o.AddUnique, o.DropUnique)):
                return True
            if isinstance(op, o.AddForeignKey) and not (
                len(op.fk.columns_from) == 1 and op.fk.columns_from[0] in added
            ):
                return True
            if isinstance(op, o.AddColumn) and not self._can_add_column(op.column):
                return True
            if isinstance(op, o.DropColumn) and old_table and _column_is_bound(old_table,
                                                                                op.column.name):
                return True
        return False

    def _can_add_column(self, c: Column) -> bool:
        if c.primary_key or c.generated:
            return False
        if c.not_null and c.default is None:
            return False
        return not (isinstance(c.default, str) and c.default.startswith("("))

    def _alter_table(
        self, name: str, table_ops: list[o.Op], old: Snapshot, new: Snapshot
    ) -> list[str]:
        old_table = old.tables.get(name)  # `old` already carries this migration's renames
        new_table = new.tables[name]
        if self.needs_rebuild(table_ops, old_table):
            return self.rebuild_sql(new_table, old_table, table_ops)
        statements = []
        fks = {op.fk.columns_from[0]: op.fk for op in table_ops if isinstance(op, o.AddForeignKey)}
        for op in table_ops:
            if isinstance(op, o.DropIndex):
                statements.append(f"DROP INDEX {self.quote(op.index.name)};")
            elif isinstance(op, o.RenameIndex):
                statements.append(f"DROP INDEX {self.quote(op.old)};")
        for op in table_ops:
            if isinstance(op, o.AddColumn):
                sql = f"ALTER TABLE {self.quote(name)} ADD {self._column_sql(op.column)}"
                fk = fks.get(op.column.name)
                if fk is not None:
                    sql += (f" REFERENCES {self.quote(fk.table_to)}({self.quote(fk.columns_to[0])})"
                            f" ON UPDATE {fk.on_update} ON DELETE {fk.on_delete}")
                statements.append(sql + ";")
        for op in table_ops:
            if isinstance(op, o.CreateIndex):
                statements.append(self.create_index_sql(name, op.index))
            elif isinstance(op, o.RenameIndex):
                statements.append(self.create_index_sql(name, new_table.indexes[op.new]))
        for op in table_ops:
            if isinstance(op, o.DropColumn):
                statements.append(
                    f"ALTER TABLE {self.quote(name)} DROP COLUMN {self.quote(op.column.name)};"
                )
        return statements

    def rebuild_sql(self, new_table: Table, old_table: Table | None,
                    table_ops: Sequence[o.Op]) -> list[str]:
        """drizzle-kit's rebuild: every row kept; NULLs filled where a column became NOT NULL."""
        q = self.quote
        added = {op.column.name for op in table_ops if isinstance(op, o.AddColumn)}
        kept = [c for c in new_table.columns.values()
                if c.name not in added and not c.generated
                and (old_table is None or c.name in old_table.columns)]
        temp = f"__new_{new_table.name}"
        recode = {op.column: op.values for op in table_ops if isinstance(op, o.RecodeValues)}
        targets = ", ".join(f'"{c.name}"' for c in kept)
        sources = ", ".join(self._copy_expression(c, old_table, recode.get(c.name))
                            for c in kept)
        statements = [
            FK_OFF,
            self.create_table_sql(new_table, temp),
            f"INSERT INTO {q(temp)}({targets}) SELECT {sources} FROM {q(new_table.name)};",
            f"DROP TABLE {q(new_table.name)};",
            f"ALTER TABLE {q(temp)} RENAME TO {q(new_table.name)};",
            FK_ON,
        ]
        statements.extend(self.create_index_sql(new_table.name, ix)
                          for ix in new_table.indexes.values())
        return statements

    def _copy_expression(self, column: Column, old_table: Table | None,
                         recode: tuple[tuple[str, str], ...] | None = None) -> str:
        old = old_table.columns.get(column.name) if old_table else None
        value = f'"{column.name}"'
        if recode:  # renamed enum values: rows get the new text as they are copied
            cases = " ".join(f"WHEN {string_literal(a)} THEN {string_literal(b)}"
                             for a, b in recode)
            value = f"CASE {value} {cases} ELSE {value} END"
        if column.not_null and column.default is not None and old is not None and not old.not_null:
            return f'COALESCE({value}, {self.default_sql(column.default)})'
        return value

    def lint(self, operation: o.Op, old: Snapshot, new: Snapshot) -> list[str]:
        """A rebuild of a table that others reference with row-changing ON DELETE actions."""
        old_table = old.tables.get(operation.table)
        if old_table is None or operation.table not in new.tables:
            return []
        if not self._op_rebuilds(operation, old_table):
            return []
        children = sorted(
            {(t.name, fk.on_delete) for t in new.tables.values() if t.name != operation.table
             for fk in t.foreign_keys.values()
             if fk.table_to == operation.table and fk.on_delete in ("cascade", "set null",
                                                                    "set default")}
        )
        if not children:
            return []
        refs = ", ".join(f"{name} (ON DELETE {action})" for name, action in children)
        return [f"SQLite rebuilds '{operation.table}' (copy, DROP TABLE, rename); "
                f"{refs} reference it: with foreign keys on, the "
                "DROP TABLE deletes or changes those child rows. agorschema's runner turns "
                "foreign keys off before the transaction; a runtime that only runs the "
                "migration's PRAGMA inside a transaction (drizzle-orm better-sqlite3) loses them"]

    def _op_rebuilds(self, op: o.Op, old_table: Table) -> bool:
        """Does this operation alone force the table rebuild (see `needs_rebuild`)?"""
        if isinstance(op, o.AddForeignKey):
            return any(c in old_table.columns for c in op.fk.columns_from) \
                or len(op.fk.columns_from) != 1
        return self.needs_rebuild([op], old_table)






def _meta_json(renames: Mapping[str, Any]) -> dict:
    """`_meta` as drizzle-kit writes it; a `_meta` read from a snapshot is written back as is."""
    if not renames:
        return {"schemas": {}, "tables": {}, "columns": {}}
    return {key: dict(value) if isinstance(value, dict) else value
            for key, value in renames.items()}


def _column_is_bound(table: Table, column: str) -> bool:
    """A column SQLite's DROP COLUMN refuses: in a key, foreign key, check or unique."""
    if column in table.primary_key_columns():
        return True
    if any(column in fk.columns_from for fk in table.foreign_keys.values()):
        return True
    if any(column in u.columns for u in table.uniques.values()):
        return True
    if any(column in ch.value for ch in table.checks.values()):
        return True
    if any(c.generated and column in c.generated.get("as", "")
           for c in table.columns.values() if c.name != column):
        return True
    return any(ix.where and column in ix.where for ix in table.indexes.values())


def _is_plain_literal(sql: str) -> bool:
    text = sql.strip()
    if text.upper() in ("CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME", "NULL", "TRUE",
                        "FALSE"):
        return True
    if re.fullmatch(r"'(?:[^']|'')*'", text):  # one string literal, not `'a' || 'b'`
        return True
    try:
        float(text)
        return True
    except ValueError:
        return False


def _refuse_array_values(node) -> None:
    """`'{}'::text[]`, `ARRAY['a']`: SQLite has no array type (an array column holds JSON
    text), and sqlglot would print `CAST('{}' AS ARRAY<TEXT>)`, which SQLite cannot parse."""
    from sqlglot import exp

    from agor_schema.expr import ExpressionError

    if isinstance(node, exp.Array) or (isinstance(node, exp.Cast)
                                       and node.to.is_type(exp.DataType.Type.ARRAY)):
        raise ExpressionError(
            f"{node.sql(dialect='postgres')!r} is a PostgreSQL array value; SQLite has no "
            "arrays (an array column holds JSON text there): write a default as a YAML list "
            "(default: []), or the expression per dialect: {sqlite: ..., postgres: ...}")


def _refuse_calendar_on_epoch_ms(node, column_types: Mapping[str, LogicalType]) -> None:
    """date_trunc / extract / to_char / casts of a timestamp column mean nothing on SQLite's
    epoch-ms integers: ask for per-dialect SQL instead of emitting a wrong expression."""
    from sqlglot import exp

    from agor_schema.expr import ExpressionError, column_type_of

    for column in node.find_all(exp.Column):
        lt = column_type_of(column, column_types)
        if lt is not None and lt.name == "timestamp":
            raise ExpressionError(
                f"{node.sql(dialect='postgres')!r} works on calendar time, but SQLite stores "
                f"'{column.name}' as epoch milliseconds; write it per dialect: "
                "{sqlite: ..., postgres: ...}"
            )


def _timestamp_literals_to_ms(node, column_types: Mapping[str, LogicalType]) -> None:
    """`created_at > '2024-01-01'` (also BETWEEN and IN) compares epoch ms in SQLite storage."""
    from sqlglot import exp

    from agor_schema.expr import timestamp_literals
    from agor_schema.spec.types import timestamp_ms

    for literal in timestamp_literals(node, column_types):
        ms = timestamp_ms(literal.this)
        if ms is not None:
            literal.replace(exp.Literal.number(ms))


@lru_cache(maxsize=1)
def sqlite_functions() -> frozenset[str]:
    """Names of the functions the SQLite library of this Python knows."""
    conn = sqlite3.connect(":memory:")
    try:
        return frozenset(row[0].lower() for row in conn.execute("PRAGMA function_list"))
    finally:
        conn.close()
