"""What the runner assumes about an engine, as data (DESIGN.md §11).

A dialect runtime carries one `Capabilities` value; the runner reads it instead of asking
which engine it talks to, so a PostgreSQL-compatible engine or an edge SQLite is a new
profile (a table entry), not new branches. `run_mode` is the one place that decides how a
migration file runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# how a file's statements and its bookkeeping row are committed
WHOLE_FILE = "whole_file"  # one transaction: all of the file and its row, or nothing
AS_WRITTEN = "as_written"  # statements in order, each committing unless the file opened a txn

# lock kinds: what serializes concurrent migrators
SESSION_ADVISORY = "session_advisory"  # PostgreSQL pg_try_advisory_lock held for the run
WRITE_TRANSACTION = "write_transaction"  # SQLite BEGIN IMMEDIATE per file (+ a file lock
#                                          around files that run as written)


@dataclass(frozen=True)
class Capabilities:
    """One engine profile.

    `transactional_ddl`: how a file without transaction control runs (WHOLE_FILE where DDL
    is transactional; AS_WRITTEN where it is not). `lock_kind`: how migrators serialize.
    `foreign_keys_switch`: foreign keys can (and must) be switched off outside the
    transaction for table rebuilds. `journal_dialects`: the `dialect` values of
    `_journal.json` this engine's folders carry (drizzle-kit 0.x wrote `pg`).
    """

    name: str
    transactional_ddl: str
    lock_kind: str
    foreign_keys_switch: bool
    journal_dialects: tuple[str, ...]


@dataclass(frozen=True)
class FileMode:
    """How one file runs, and why (the reason is shown to the user)."""

    mode: str
    reason: str

    @property
    def as_written(self) -> bool:
        return self.mode == AS_WRITTEN


def run_mode(
    caps: Capabilities, marked: bool, controls: Sequence[tuple[int, str]]
) -> FileMode:
    """The mode of a file: marked or holding transaction control → as written.

    `controls` lists (file line, first words) of the file's transaction-control statements.
    """
    if marked:
        return FileMode(AS_WRITTEN, "its first line is -- agorschema:no-transaction")
    if controls:
        line, text = controls[0]
        return FileMode(AS_WRITTEN, f"it contains transaction control ({text} at line {line})")
    if caps.transactional_ddl != WHOLE_FILE:
        return FileMode(AS_WRITTEN, f"{caps.name} cannot run DDL in a transaction")
    return FileMode(WHOLE_FILE, "one transaction with its bookkeeping row")
