"""Everything that differs between SQLite and PostgreSQL, as methods of a dialect object.

A dialect has two halves: DDL (types, literals, expressions, statements; see `base.Dialect`)
and runtime (connections, bookkeeping table, locks, transactions; see `*_runtime.py`).
Outside this package no code asks which dialect it holds.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agor_schema.dialects.base import Dialect

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


def dialect_for_url(url: str) -> Dialect:
    """The dialect a database URL names: sqlite:// or postgresql:// / postgres://."""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        return get_dialect("sqlite")
    if scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        return get_dialect("postgres")
    raise ValueError(
        f"unsupported database URL {url!r}: use sqlite:///file.db, sqlite:////abs/file.db, "
        "sqlite://:memory: or postgresql://user:pass@host:port/db"
    )
