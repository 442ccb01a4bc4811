"""SQLite half of introspection: the catalog (sqlite_master, PRAGMAs) → `Snapshot`.

What SQLite's PRAGMAs do not expose is read from the CREATE statements it stores verbatim:
CHECK constraints (and their names), AUTOINCREMENT, generated columns, constraint names of
UNIQUE table constraints, index expressions and partial-index predicates. Names SQLite does not
keep (foreign keys, composite primary keys, `sqlite_autoindex_*`) get drizzle's conventional
names so that two databases holding the same schema read the same.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from agor_schema.db import MEMORY, DatabaseURLError
from agor_schema.dialects.sqlite_runtime import sqlite_path
from agor_schema.introspect import (
    BOOKKEEPING_TABLE,
    IntrospectionError,
    balanced,
    normalize_sql,
    scratch_statements,
    split_top_level,
    strip_parens,
    unquote_identifier,
)
from agor_schema.snapshot import (
    Check,
    Column,
    ForeignKey,
    Index,
    IndexColumn,
    PrimaryKey,
    Snapshot,
    Table,
    Unique,
)

# pattern strings, compiled (and cached) by `re` on first use: compile never runs them
_CONSTRAINT_START = r"(?i)^(CONSTRAINT|PRIMARY|UNIQUE|CHECK|FOREIGN)\b"
_NAME = r"""("(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]|[^\s(]+)"""
_CHECK = r"(?i)(?:\bCONSTRAINT\s+" + _NAME + r"\s+)?\bCHECK\s*\("
_UNIQUE = r"(?i)(?:\bCONSTRAINT\s+" + _NAME + r"\s+)?\bUNIQUE\s*\("
_GENERATED = r"(?i)\b(?:GENERATED\s+ALWAYS\s+)?AS\s*\("
_STORED = r"(?i)^\s*(STORED|VIRTUAL)\b"
_ON = r"(?i)\bON\s+" + _NAME + r"\s*\("


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SQLiteIntrospection:
    """Read a SQLite database's schema (mixed into the SQLite dialect)."""

    # ------------------------------------------------------------------ catalog → Snapshot
    def introspect(self, conn: sqlite3.Connection, *, schema: str | None = None,
                   exclude: Iterable[str] = (BOOKKEEPING_TABLE,)) -> Snapshot:
        """Every user table of the `main` database (internal and bookkeeping tables left out)."""
        skip = set(exclude) | {BOOKKEEPING_TABLE}
        snapshot = Snapshot(dialect="sqlite")
        rows = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid").fetchall()
        for name, create_sql in rows:
            if name in skip or create_sql is None:
                continue
            snapshot.tables[name] = self._introspect_table(conn, name, create_sql)
        return snapshot

    def _introspect_table(self, conn: sqlite3.Connection, name: str, create_sql: str) -> Table:
        table = Table(name=name)
        body, _ = balanced(create_sql, create_sql.index("("))
        definitions = split_top_level(body)
        column_defs = {}
        for definition in definitions:
            if not re.match(_CONSTRAINT_START, definition):
                column_defs[unquote_identifier(_first_word(definition))] = definition
        pk: list[tuple[int, str]] = []
        for _cid, cname, ctype, notnull, default, pkpos, hidden in \
                conn.execute(f"PRAGMA table_xinfo({_q(name)})"):
            definition = column_defs.get(cname, "")
            column = Column(name=cname, type=(ctype or "").lower(), not_null=bool(notnull))
            if default is not None:  # dflt_value drops the parentheses DDL needs back
                column.default = self.wrap_default_expression(normalize_sql(default))
            if hidden in (2, 3):
                column.generated = _generated(definition, hidden)
            elif hidden:
                continue  # hidden columns of virtual tables
            if pkpos:
                pk.append((pkpos, cname))
            if re.search(r"\bAUTOINCREMENT\b", definition, re.I):
                column.autoincrement = True
            table.columns[cname] = column
        pk_columns = [c for _, c in sorted(pk)]
        if len(pk_columns) == 1:
            table.columns[pk_columns[0]].primary_key = True
        elif pk_columns:
            pk_name = f"{name}_{'_'.join(pk_columns)}_pk"
            table.primary_keys[pk_name] = PrimaryKey(pk_name, pk_columns)
        self._introspect_indexes(conn, table, definitions)
        self._introspect_foreign_keys(conn, table)
        for check in _checks(name, definitions):
            table.checks[check.name] = check
        return table

    def _introspect_indexes(self, conn: sqlite3.Connection, table: Table,
                            definitions: Sequence[str]) -> None:
        named_uniques = _unique_names(definitions)
        for _seq, iname, unique, origin, _partial in \
                conn.execute(f"PRAGMA index_list({_q(table.name)})").fetchall():
            if origin == "pk":
                continue
            info = [r for r in conn.execute(f"PRAGMA index_xinfo({_q(iname)})").fetchall()
                    if r[5]]  # key columns only (the rowid tail has key = 0)
            if origin == "u":
                columns = [r[2] for r in info]
                uname = named_uniques.get(tuple(columns),
                                          f"{table.name}_{'_'.join(columns)}_unique")
                table.uniques[uname] = Unique(uname, columns)
                continue
            sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
                               (iname,)).fetchone()[0] or ""
            on = re.search(_ON, sql)
            if on is None:
                raise IntrospectionError(f"cannot read index {iname!r}: {sql!r}")
            parts_sql, end = balanced(sql, on.end() - 1)
            parts_text = split_top_level(parts_sql)
            rest = sql[end + 1:].strip().rstrip(";").strip()
            where = None
            if rest[:5].upper() == "WHERE":
                where = normalize_sql(rest[5:].strip())
            parts = []
            for position, row in enumerate(info):
                _seqno, cid, cname, desc = row[0], row[1], row[2], row[3]
                if cid == -2:  # an expression: its text comes from the CREATE INDEX statement
                    text = parts_text[position] if position < len(parts_text) else "?"
                    text = re.sub(r"\s+(ASC|DESC)\s*$", "", text, flags=re.I)
                    text = re.sub(r"\s+COLLATE\s+\S+\s*$", "", text, flags=re.I)
                    parts.append(IndexColumn(normalize_sql(strip_parens(text)),
                                             is_expression=True, asc=not desc))
                else:
                    parts.append(IndexColumn(cname if cid != -1 else "rowid", asc=not desc))
            table.indexes[iname] = Index(iname, parts, unique=bool(unique), where=where)

    def _introspect_foreign_keys(self, conn: sqlite3.Connection, table: Table) -> None:
        groups: dict[int, list[tuple]] = {}
        for row in conn.execute(f"PRAGMA foreign_key_list({_q(table.name)})").fetchall():
            groups.setdefault(row[0], []).append(row)
        for fid in sorted(groups, reverse=True):  # PRAGMA lists the last declared first
            rows = sorted(groups[fid], key=lambda r: r[1])
            target = rows[0][2]
            columns_from = [r[3] for r in rows]
            columns_to = [r[4] for r in rows]
            if any(c is None for c in columns_to):  # REFERENCES t without columns: its key
                columns_to = self._primary_key_of(conn, target) or columns_to
            name = f"{table.name}_{'_'.join(columns_from)}_{target}_{'_'.join(map(str, columns_to))}_fk"
            table.foreign_keys[name] = ForeignKey(
                name=name, table_from=table.name, table_to=target, columns_from=columns_from,
                columns_to=list(columns_to), on_update=(rows[0][5] or "no action").lower(),
                on_delete=(rows[0][6] or "no action").lower())

    def _primary_key_of(self, conn: sqlite3.Connection, table: str) -> list[str]:
        rows = conn.execute(f"PRAGMA table_info({_q(table)})").fetchall()
        return [r[1] for r in sorted(rows, key=lambda r: r[5]) if r[5]]

    # ------------------------------------------------------------------ scratch database
    def scratch_introspect(self, statements: Sequence[str], conn: Any = None) -> Snapshot:
        """Apply DDL to a private in-memory database and read it back (`conn` is not used)."""
        safe = scratch_statements([s.replace("--> statement-breakpoint", "")
                                   for s in statements], self.sqlglot_dialect, home=("main",),
                                  forward_references=self.references_resolve_late)
        scratch = sqlite3.connect(MEMORY, isolation_level=None)
        scratch.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)  # no other database file, ever
        try:
            for statement in safe:
                try:
                    scratch.execute(statement)  # one statement per call
                except sqlite3.Error as exc:
                    raise IntrospectionError(
                        f"the expected DDL does not apply to SQLite: {exc}: "
                        f"{statement.strip()[:300]}") from None
            return self.introspect(scratch)
        finally:
            scratch.close()

    def require_existing_database(self, url: str) -> None:
        """A file URL must name an existing database: a typo must not read as an empty one."""
        from pathlib import Path

        path = sqlite_path(url)
        if path != MEMORY and not Path(path).is_file():
            raise DatabaseURLError(f"SQLite database {path} does not exist")

    # ------------------------------------------------------------------ throwaway database
    verify_server_env: str | None = None

    def throwaway_database(self, server_url: str | None = None):
        """A context manager yielding the URL of an empty database file, deleted afterwards."""
        import contextlib
        import tempfile

        @contextlib.contextmanager
        def scope():
            with tempfile.TemporaryDirectory(prefix="agorschema-verify-") as folder:
                yield f"sqlite:///{folder}/verify.db"

        return scope()


def _first_word(definition: str) -> str:
    match = re.match(_NAME, definition.strip())
    return match.group(1) if match else definition.split()[0]


def _generated(definition: str, hidden: int) -> dict | None:
    match = re.search(_GENERATED, definition)
    if match is None:
        return {"as": "?", "type": "stored" if hidden == 3 else "virtual"}
    inner, end = balanced(definition, match.end() - 1)
    return {"as": f"({normalize_sql(inner)})", "type": "stored" if hidden == 3 else "virtual"}


def _checks(table: str, definitions: Sequence[str]) -> list[Check]:
    """CHECKs of table constraints and column definitions; unnamed ones get a stable name."""
    found: list[Check] = []
    unnamed = 0
    for definition in definitions:
        position = 0
        while True:
            match = re.compile(_CHECK).search(definition, position)
            if match is None:
                break
            if _inside_literal(definition, match.start()):
                position = match.end()
                continue
            inner, end = balanced(definition, match.end() - 1)
            position = end + 1
            if match.group(1):
                name = unquote_identifier(match.group(1))
            else:
                unnamed += 1
                name = f"{table}_check_{unnamed}"
            found.append(Check(name, normalize_sql(inner)))
    return found


def _unique_names(definitions: Sequence[str]) -> dict[tuple[str, ...], str]:
    """Columns of named UNIQUE table constraints → their names."""
    names = {}
    for definition in definitions:
        match = re.match(_UNIQUE, definition)
        if match and match.group(1):
            inner, _ = balanced(definition, match.end() - 1)
            columns = tuple(unquote_identifier(re.split(r"\s+", c.strip())[0])
                            for c in split_top_level(inner))
            names[columns] = unquote_identifier(match.group(1))
    return names


def _inside_literal(text: str, offset: int) -> bool:
    """Is `offset` inside a quoted string or identifier?"""
    quote = None
    for ch in text[:offset]:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
    return quote is not None
