"""Everything that differs between SQLite and PostgreSQL, as methods of a dialect object.

A dialect has two halves: DDL (types, literals, expressions, statements; see `base.Dialect`)
and runtime (connections, bookkeeping table, locks, transactions; see `*_runtime.py`).
Outside this package no code asks which dialect it holds.
"""

from __future__ import annotations

from functools import cache

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (app start-up)

if TYPE_CHECKING:
    from agor_schema.dialects.base import Dialect
    from agor_schema.dialects.postgres_runtime import PostgresRuntime
    from agor_schema.dialects.sqlite_runtime import SQLiteRuntime

    Runtime = SQLiteRuntime | PostgresRuntime

DIALECT_NAMES = ("sqlite", "postgres")


@cache
def get_dialect(name: str) -> Dialect:
    """The dialect object for a configured dialect name ('sqlite' or 'postgres')."""
    if name == "sqlite":
        from agor_schema.dialects.sqlite import SQLiteDialect

        return SQLiteDialect()
    if name in ("postgres", "postgresql"):
        from agor_schema.dialects.postgres import PostgresDialect

        return PostgresDialect()
    raise ValueError(f"unknown dialect {name!r}; valid: {', '.join(DIALECT_NAMES)}")


def _name_for_url(url: str) -> str:
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        return "postgres"
    raise ValueError(
        f"unsupported database URL {url!r}: use sqlite:///file.db, sqlite:////abs/file.db, "
        "sqlite://:memory: or postgresql://user:pass@host:port/db"
    )


def dialect_for_url(url: str) -> Dialect:
    """The dialect a database URL names: sqlite:// or postgresql:// / postgres://."""
    return get_dialect(_name_for_url(url))


@cache
def _runtime(name: str) -> Runtime:
    if name == "sqlite":
        from agor_schema.dialects.sqlite_runtime import SQLiteRuntime

        return SQLiteRuntime()
    from agor_schema.dialects.postgres_runtime import PostgresRuntime

    return PostgresRuntime()


def runtime_for_url(url: str) -> Runtime:
    """Only the runtime half of the dialect a URL names (connections, bookkeeping, locks):
    what the runner needs, without the DDL half's imports (ops, snapshots, spec types)."""
    return _runtime(_name_for_url(url))
