"""One engine-neutral view of a live SQLite or PostgreSQL database, for the catalog tests.

Each catalog scenario is written once against `Engine` and runs on both databases. An engine
answers catalog questions in one normalised shape (columns, keys, indexes, checks), converts
neutral Python values to and from its storage (booleans, epoch-ms timestamps, JSON, UUIDs) and
turns a constraint violation into (kind, constraint name). What differs legitimately between
the two (a where clause spelled `= 1` vs `= true`) stays as per-engine expectation data in the
tests, never as a second copy of the test.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from catalog import BOOKKEEPING, sqlite_checks

UTC = dt.timezone.utc


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool
    default: str | None  # the catalog's default expression, as the engine spells it
    identity: bool  # SQLite AUTOINCREMENT / PostgreSQL identity


@dataclass(frozen=True)
class Index:
    """Any named, non-primary-key index or unique constraint.

    `keys` lists the key parts in order: a column name, or None for an expression part.
    `columns` is the whole key text (columns and expressions) without quotes and spaces.
    """

    unique: bool
    keys: tuple[str | None, ...]
    expressions: str | None
    predicate: str | None
    constraint: bool  # a table constraint (PG UNIQUE, SQLite inline UNIQUE), not an index
    sql: str = ""  # the engine's own definition text (CREATE INDEX / constraint definition)


@dataclass
class Violation:
    kind: str | None = None  # check | unique | foreign_key | not_null
    name: str | None = None  # constraint (or, for not_null, column) the engine reported
    message: str = ""


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    table: str
    ref_columns: tuple[str, ...]
    on_update: str
    on_delete: str


def compact(sql: str | None) -> str | None:
    """SQL without identifier quotes, parentheses, whitespace and case (for containment)."""
    if sql is None:
        return None
    return re.sub(r"[\s`\"()]", "", sql).lower()


def _ms(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000)


@dataclass
class Engine:
    """Base class: the shared value conversions; subclasses read their own catalog."""

    name: str
    conn: Any
    keeps_constraint_names: bool = True  # primary key / foreign key names survive in the catalog
    uniques_are_constraints: bool = True  # drizzle's uniques: PG constraints, SQLite indexes
    integer_booleans: bool = False  # booleans stored (and predicates rewritten) as 0/1

    # -- statements
    def execute(self, sql: str, *args: Any) -> Any:
        raise NotImplementedError

    def rows(self, sql: str, *args: Any) -> list[tuple]:
        return [tuple(r) for r in self.execute(sql, *args).fetchall()]

    def one(self, sql: str, *args: Any) -> tuple:
        row = self.execute(sql, *args).fetchone()
        assert row is not None, sql
        return tuple(row)

    def count(self, sql: str, *args: Any) -> int:
        return self.one(sql, *args)[0]

    def apply(self, ddl: str) -> None:
        raise NotImplementedError

    @contextmanager
    def violation(self, kind: str, name: str | None = None) -> Iterator[Violation]:
        """Expect the block to violate a constraint of `kind` (named `name`, when the engine
        reports names for that kind)."""
        got = Violation()
        try:
            yield got
        except Exception as exc:  # noqa: BLE001 - classified below, re-raised if foreign
            kind_name = self.classify(exc)
            if kind_name is None:
                raise
            got.kind, got.name = kind_name
            got.message = str(exc)
        else:
            raise AssertionError(f"expected a {kind} violation ({name}), the statement passed")
        assert got.kind == kind, f"expected a {kind} violation, got {got.kind}: {got.message}"
        if name is not None and (got.name is not None or self.names_violations(kind)):
            assert got.name == name, f"{kind} violation of {got.name!r}, expected {name!r}"

    def classify(self, exc: Exception) -> tuple[str, str | None] | None:
        raise NotImplementedError

    def names_violations(self, kind: str) -> bool:
        return True

    # -- neutral values <-> storage
    def write(self, logical: str, value: Any) -> Any:
        """A neutral Python value as a parameter for a column of logical type `logical`:
        booleans, timestamps as epoch ms, json as Python data, uuid and date as strings."""
        return value

    def read(self, logical: str, value: Any) -> Any:
        """The stored value of a column of logical type `logical` as a neutral Python value."""
        return value


@dataclass
class SqliteEngine(Engine):
    keeps_constraint_names: bool = False
    uniques_are_constraints: bool = False
    integer_booleans: bool = True

    def execute(self, sql: str, *args: Any) -> Any:
        return self.conn.execute(sql, args)

    def apply(self, ddl: str) -> None:
        self.conn.executescript(ddl.replace("--> statement-breakpoint", ""))

    def set_foreign_keys(self, on: bool) -> None:
        self.conn.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")

    def set_timezone(self, zone: str) -> None:
        """SQLite has no session time zone (timestamps are epoch ms); nothing to set."""

    # -- catalog
    def tables(self) -> set[str]:
        return {r[0] for r in self.rows(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "AND name <> ?", BOOKKEEPING)}

    def table_sql(self, table: str) -> str:
        return self.one("SELECT sql FROM sqlite_master WHERE type='table' AND name=?", table)[0]

    def columns(self, table: str) -> list[Column]:
        auto = re.findall(r"[`\"](\w+)[`\"] integer PRIMARY KEY AUTOINCREMENT",
                          self.table_sql(table))
        pk = self.primary_key(table)
        return [Column(name, decl.lower(), bool(notnull) or name in pk, default, name in auto)
                for _cid, name, decl, notnull, default, _pk, _hidden
                in self.rows(f"PRAGMA table_xinfo(`{table}`)")]

    def primary_key(self, table: str) -> list[str]:
        info = self.rows(f"PRAGMA table_info(`{table}`)")
        return [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]

    def primary_key_name(self, table: str) -> str | None:
        """SQLite keeps no primary key name (drizzle writes `PRIMARY KEY(a, b)`)."""
        return None

    def identity_kind(self, table: str, column: str) -> str | None:
        found = re.search(rf"[`\"]{re.escape(column)}[`\"] integer PRIMARY KEY AUTOINCREMENT",
                          self.table_sql(table))
        return "autoincrement" if found else None

    def foreign_keys(self, table: str) -> list[ForeignKey]:
        groups: dict[int, list] = {}
        for row in self.rows(f"PRAGMA foreign_key_list(`{table}`)"):
            groups.setdefault(row[0], []).append(row)
        out = []
        for rows in groups.values():
            rows.sort(key=lambda r: r[1])
            out.append(ForeignKey(tuple(r[3] for r in rows), rows[0][2],
                                  tuple(r[4] for r in rows), rows[0][5].lower(),
                                  rows[0][6].lower()))
        return sorted(out, key=repr)

    def foreign_key_names(self, table: str) -> set[str] | None:
        """SQLite foreign keys are inline and unnamed (drizzle's form)."""
        return None

    def index_sql(self, name: str) -> str | None:
        row = self.execute("SELECT sql FROM sqlite_master WHERE type='index' AND name=?",
                           name).fetchone()
        return row[0] if row else None

    def indexes(self, table: str) -> dict[str, Index]:
        out = {}
        for _seq, iname, unique, origin, _partial in self.rows(f"PRAGMA index_list(`{table}`)"):
            if origin == "pk":
                continue
            keys = tuple(r[2] for r in self.rows(f"PRAGMA index_xinfo(`{iname}`)") if r[5])
            sql = self.index_sql(iname) or ""
            expressions = where = None
            if sql:
                where = _where(sql)
                body = _key_text(sql)
                parts = [p for p in _split_top(body)]
                exprs = [p for p, k in zip(parts, keys) if k is None]
                expressions = ", ".join(exprs) if exprs else None
            out[iname] = Index(bool(unique), keys, expressions, where, origin == "u", sql)
        return out

    def checks(self, table: str) -> dict[str, str]:
        return sqlite_checks(self.table_sql(table))

    def generated(self, table: str) -> dict[str, str]:
        """Generated columns -> 'stored' | 'virtual' (table_xinfo's hidden 3 / 2)."""
        kinds = {2: "virtual", 3: "stored"}
        return {r[1]: kinds[r[6]] for r in self.rows(f"PRAGMA table_xinfo(`{table}`)")
                if r[6] in kinds}

    def index_options(self, table: str, name: str) -> dict[str, Any]:
        """Access method, storage parameters and per-part (key, desc, nulls first, opclass):
        SQLite has one method, no parameters, no operator classes, NULLs sort first."""
        parts = [(r[2], bool(r[3]), None, None)
                 for r in self.rows(f"PRAGMA index_xinfo(`{name}`)") if r[5]]
        return {"method": "btree", "with": {}, "parts": parts}

    # -- violations
    def classify(self, exc: Exception) -> tuple[str, str | None] | None:
        if not isinstance(exc, sqlite3.IntegrityError):
            return None
        message = str(exc)
        if message.startswith("CHECK constraint failed: "):
            return "check", message.split(": ", 1)[1]
        if message.startswith("NOT NULL constraint failed: "):
            return "not_null", message.split(": ", 1)[1].split(".", 1)[1]
        if message.startswith("FOREIGN KEY constraint failed"):
            return "foreign_key", None
        if message.startswith("UNIQUE constraint failed: "):
            return "unique", self._unique_name(message.split(": ", 1)[1])
        return None

    def names_violations(self, kind: str) -> bool:
        return kind != "foreign_key"

    def _unique_name(self, detail: str) -> str | None:
        """SQLite names either `index 'x'` or the columns `t.a, t.b`; map the columns back to
        the one unique index (or the primary key, named by its table) holding exactly them."""
        m = re.match(r"index '(.+)'$", detail)
        if m:
            return m.group(1)
        pairs = [p.strip().split(".", 1) for p in detail.split(",")]
        table, cols = pairs[0][0], tuple(c for _, c in pairs)
        if tuple(self.primary_key(table)) == cols:
            return f"{table}:primary_key"
        names = [n for n, ix in self.indexes(table).items() if ix.unique and ix.keys == cols]
        return names[0] if len(names) == 1 else None

    # -- values
    def write(self, logical: str, value: Any) -> Any:
        if value is None:
            return None
        if logical == "boolean":
            return int(bool(value))
        if logical == "json":
            return json.dumps(value)
        if logical == "timestamp" and isinstance(value, dt.datetime):
            return _ms(value)
        return str(value) if isinstance(value, uuid.UUID) else value

    def read(self, logical: str, value: Any) -> Any:
        if value is None:
            return None
        if logical == "boolean":
            assert type(value) is int and value in (0, 1), f"boolean stored as {value!r}"
            return bool(value)
        if logical == "json":
            assert isinstance(value, str), f"json stored as {type(value).__name__}"
            return json.loads(value)
        if logical == "timestamp":
            assert type(value) is int, f"timestamp stored as {value!r}"
        return value

    def evaluate(self, default_sql: str) -> Any:
        return self.one(f"SELECT {default_sql}")[0]


@dataclass
class PostgresEngine(Engine):
    def execute(self, sql: str, *args: Any) -> Any:
        if args:
            return self.conn.execute(sql.replace("?", "%s"), args)
        return self.conn.execute(sql)

    def apply(self, ddl: str) -> None:
        self.conn.execute(ddl)

    def set_foreign_keys(self, on: bool) -> None:
        """PostgreSQL always enforces them; switching off drops them (test databases only)."""
        if on:
            return
        for table, con in self.rows(
                "SELECT conrelid::regclass::text, conname FROM pg_constraint "
                "WHERE contype = 'f' AND connamespace = 'public'::regnamespace"):
            self.conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{con}"')

    def set_timezone(self, zone: str) -> None:
        self.conn.execute(f"SET TimeZone = '{zone}'")

    # -- catalog
    def tables(self) -> set[str]:
        return {r[0] for r in self.rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_name <> ?", BOOKKEEPING)}

    def columns(self, table: str) -> list[Column]:
        return [Column(name, type_, notnull, default, bool(ident))
                for name, type_, notnull, default, ident in self.rows("""
            SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END,
                   a.attidentity <> ''
            FROM pg_attribute a
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attrelid = ('public.' || quote_ident(?))::regclass
              AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum""", table)]

    def identity_kind(self, table: str, column: str) -> tuple:
        """(attidentity, is_identity, identity_generation) from both catalogs."""
        return self.one("""
            SELECT a.attidentity, c.is_identity, c.identity_generation
            FROM pg_attribute a JOIN information_schema.columns c
              ON c.table_schema = 'public' AND c.table_name = ? AND c.column_name = a.attname
            WHERE a.attrelid = ('public.' || quote_ident(?))::regclass AND a.attname = ?""",
                        table, table, column)

    def _constraints(self, table: str, kinds: str) -> list[tuple]:
        return self.rows("""
            SELECT con.conname::text, con.contype,
                   ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n
                         ORDER BY k.i),
                   f.relname::text,
                   ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n
                         ORDER BY k.i),
                   con.confdeltype, con.confupdtype, pg_get_constraintdef(con.oid)
            FROM pg_constraint con
            LEFT JOIN pg_class f ON f.oid = con.confrelid
            WHERE con.conrelid = ('public.' || quote_ident(?))::regclass
              AND position(con.contype in ?) > 0
            ORDER BY con.conname""", table, kinds)

    def primary_key(self, table: str) -> list[str]:
        found = self._constraints(table, "p")
        return list(found[0][2]) if found else []

    def primary_key_name(self, table: str) -> str | None:
        found = self._constraints(table, "p")
        return found[0][0] if found else None

    def foreign_keys(self, table: str) -> list[ForeignKey]:
        return sorted((ForeignKey(tuple(cols), target, tuple(ref), _ACTIONS[upd], _ACTIONS[dele])
                       for _n, _k, cols, target, ref, dele, upd, _d
                       in self._constraints(table, "f")), key=repr)

    def foreign_key_names(self, table: str) -> dict[str, ForeignKey]:
        return {n: ForeignKey(tuple(cols), target, tuple(ref), _ACTIONS[upd], _ACTIONS[dele])
                for n, _k, cols, target, ref, dele, upd, _d in self._constraints(table, "f")}

    def index_sql(self, name: str) -> str | None:
        row = self.execute("SELECT pg_get_indexdef(('public.' || quote_ident(?))::regclass)",
                           name).fetchone()
        return row[0] if row else None

    def indexes(self, table: str) -> dict[str, Index]:
        out = {}
        for name, unique, keys, exprs, pred, constraint, sql in self.rows("""
            SELECT ic.relname::text, ix.indisunique,
                   ARRAY(SELECT CASE WHEN k.n = 0 THEN NULL ELSE a.attname::text END
                         FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(n, i)
                         LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.n
                         WHERE k.i <= ix.indnkeyatts
                         ORDER BY k.i),
                   pg_get_expr(ix.indexprs, ix.indrelid), pg_get_expr(ix.indpred, ix.indrelid),
                   EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid
                           AND c.conrelid = ix.indrelid AND c.contype = 'u'),
                   pg_get_indexdef(ix.indexrelid)
            FROM pg_index ix
            JOIN pg_class ic ON ic.oid = ix.indexrelid
            WHERE ix.indrelid = ('public.' || quote_ident(?))::regclass
              AND NOT ix.indisprimary""", table):
            out[name] = Index(unique, tuple(keys), exprs, pred, constraint, sql)
        return out

    def checks(self, table: str) -> dict[str, str]:
        from catalog import norm_sql

        return {n: norm_sql(d) for n, *_r, d in self._constraints(table, "c")}

    def generated(self, table: str) -> dict[str, str]:
        kinds = {"s": "stored", "v": "virtual"}
        return {n: kinds[g] for n, g in self.rows("""
            SELECT attname::text, attgenerated::text FROM pg_attribute
            WHERE attrelid = ('public.' || quote_ident(?))::regclass AND attnum > 0
              AND NOT attisdropped AND attgenerated <> ''""", table)}

    def index_options(self, table: str, name: str) -> dict[str, Any]:
        """Access method, storage parameters and per-part (key, desc, nulls first, opclass;
        the opclass only when it is not the type's default) from pg_index / pg_opclass."""
        method, options, keys, flags, classes = self.one("""
            SELECT am.amname::text, coalesce(i.reloptions, '{}'),
                   ARRAY(SELECT CASE WHEN k.n = 0 THEN NULL ELSE a.attname::text END
                         FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(n, p)
                         LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.n
                         WHERE k.p <= ix.indnkeyatts ORDER BY k.p),
                   ix.indoption::int2[],
                   ARRAY(SELECT CASE WHEN o.opcdefault THEN NULL ELSE o.opcname::text END
                         FROM unnest(ix.indclass::oid[]) WITH ORDINALITY u(oid, p)
                         JOIN pg_opclass o ON o.oid = u.oid ORDER BY u.p)
            FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
            JOIN pg_am am ON am.oid = i.relam
            WHERE ix.indexrelid = ('public.' || quote_ident(?))::regclass""", name)
        parts = [(k, bool(f & 1), bool(f & 2), c) for k, f, c in zip(keys, flags, classes)]
        with_ = dict(o.split("=", 1) for o in options)
        return {"method": method, "with": with_, "parts": parts}

    # -- violations
    def classify(self, exc: Exception) -> tuple[str, str | None] | None:
        from psycopg import errors as pg_errors

        kinds = {pg_errors.CheckViolation: "check", pg_errors.UniqueViolation: "unique",
                 pg_errors.ForeignKeyViolation: "foreign_key",
                 pg_errors.NotNullViolation: "not_null"}
        for cls, kind in kinds.items():
            if isinstance(exc, cls):
                diag = exc.diag
                name = diag.column_name if kind == "not_null" else diag.constraint_name
                if kind == "unique" and name and name == self._pk_constraint(diag.table_name):
                    name = f"{diag.table_name}:primary_key"
                return kind, name
        return None

    def _pk_constraint(self, table: str | None) -> str | None:
        return self.primary_key_name(table) if table else None

    # -- values
    def write(self, logical: str, value: Any) -> Any:
        if value is None:
            return None
        if logical == "json":
            from psycopg.types.json import Jsonb

            return Jsonb(value)
        if logical == "timestamp" and isinstance(value, int):
            return dt.datetime.fromtimestamp(value / 1000, UTC)
        if logical == "uuid" and isinstance(value, str):
            return uuid.UUID(value)
        if logical == "date" and isinstance(value, str):
            return dt.date.fromisoformat(value)
        return value

    def read(self, logical: str, value: Any) -> Any:
        if value is None:
            return None
        if logical == "boolean":
            assert isinstance(value, bool), f"boolean read as {value!r}"
        if logical == "timestamp":
            assert isinstance(value, dt.datetime) and value.utcoffset() is not None, value
            return _ms(value)
        if logical == "uuid":
            assert isinstance(value, uuid.UUID), value
            return str(value)
        if logical == "date" and isinstance(value, dt.date):
            return value.isoformat()
        return value

    def evaluate(self, default_sql: str) -> Any:
        return self.one(f"SELECT {default_sql}")[0]


_ACTIONS = {"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}


def _where(sql: str) -> str | None:
    match = re.search(r"\)\s+WHERE\s+(.*?);?\s*$", sql, re.S | re.I)
    return match.group(1) if match else None


def _key_text(sql: str) -> str:
    """The text inside the key parentheses of a CREATE INDEX (quotes respected)."""
    from catalog import _balanced

    on = re.search(r"\bON\s+[`\"]?[^\s(`\"]+[`\"]?\s*\(", sql, re.I)
    return _balanced(sql, on.end() - 1)[0]


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses and quotes."""
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts
