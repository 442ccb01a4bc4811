"""Run a migration file *as written* (DESIGN.md §11) and account for what it committed.

A file with transaction control, or marked `-- agorschema:no-transaction`, cannot run in
the runner's own transaction: its statements run in order on one connection, each
committing by itself outside the file's own BEGIN … COMMIT blocks. The `Ledger` follows
the connection's transaction state after every statement, so that a failure report says
exactly which statements were committed and which were rolled back, never more.

Two rules keep reports honest: a COMMIT/END with no open transaction is a no-op (it asks
for what already happened; homarr's SQLite `0001` starts with one), and a ROLLBACK with no
open transaction fails the file (what it wanted to undo has already been committed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agor_schema.db import Statement
from agor_schema.dialects.statements import (
    COMMIT,
    RELEASE,
    ROLLBACK,
    ROLLBACK_TO,
    SAVEPOINT,
    code_of,
    savepoint_name,
)
from agor_schema.run_results import AsWritten, StatementRef

if TYPE_CHECKING:
    from agor_schema.runner import Runtime

COMMIT_NOTE = "not sent: no transaction is open, so there is nothing to commit"
LEFT_OPEN_NOTE = ("the file left a transaction open after its last statement: it was "
                  "committed together with the bookkeeping row")


class RollbackOutsideTransaction(Exception):
    """The file asks to roll back, but everything before it has already been committed."""


@dataclass
class Ledger:
    """Statement numbers (1-based) by fate: committed, still in an open transaction, undone."""

    committed: list[int] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)
    rolled_back: list[int] = field(default_factory=list)
    savepoints: list[tuple[str | None, int]] = field(default_factory=list)
    current: int = 0  # the statement being sent

    def after(self, number: int, statement: Statement, in_transaction: bool) -> None:
        """Account for statement `number`, which succeeded and left the connection
        `in_transaction` (or not)."""
        control = statement.control
        if control == ROLLBACK:
            self._undo(0)
            self.savepoints.clear()
        elif control == ROLLBACK_TO:
            at = self._savepoint(savepoint_name(statement.sql))
            if at is not None:
                self._undo(self.savepoints[at][1])
                del self.savepoints[at + 1 :]
        elif control == RELEASE:
            at = self._savepoint(savepoint_name(statement.sql))
            if at is not None:
                del self.savepoints[at:]
        elif control == SAVEPOINT:
            self.savepoints.append((savepoint_name(statement.sql), len(self.pending)))
        elif control == COMMIT:
            self._commit()
        elif control is None:
            (self.pending if in_transaction else self.committed).append(number)
        if not in_transaction:  # e.g. SQLite: RELEASE of the outermost savepoint commits
            self._commit()

    def failed(self) -> None:
        """The runner rolls back whatever the file had open when a statement failed."""
        self._undo(0)
        self.savepoints.clear()

    def _commit(self) -> None:
        self.committed += self.pending
        self.pending = []
        self.savepoints.clear()

    def _undo(self, keep: int) -> None:
        self.rolled_back += self.pending[keep:]
        del self.pending[keep:]

    def _savepoint(self, name: str | None) -> int | None:
        for at in range(len(self.savepoints) - 1, -1, -1):
            if name is None or self.savepoints[at][0] == name:
                return at
        return None

    def report(self, reason: str, statements: list[Statement]) -> AsWritten:
        def refs(numbers: list[int]) -> list[StatementRef]:
            return [StatementRef(n, statements[n - 1].line, code_of(statements[n - 1].sql))
                    for n in sorted(numbers)]

        return AsWritten(reason=reason, committed=refs(self.committed),
                         rolled_back=refs(self.rolled_back))


def run_statements(
    rt: Runtime, conn: Any, statements: list[Statement], ledger: Ledger, notes: list[str]
) -> None:
    """Send each statement as written; the ledger follows. Raises the driver's error (with
    the failing statement as `current`) or RollbackOutsideTransaction."""
    for number, statement in enumerate(statements, 1):
        ledger.current = number
        if statement.control in (COMMIT, ROLLBACK) and not rt.in_transaction(conn):
            if statement.control == ROLLBACK:
                raise RollbackOutsideTransaction(number)
            notes.append(f"line {statement.line}: {COMMIT_NOTE}")
            continue
        rt.execute_statement(conn, statement)
        ledger.after(number, statement, rt.in_transaction(conn))
