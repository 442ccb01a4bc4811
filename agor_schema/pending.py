"""Which migrations are pending: journal entries × recorded rows → a plan (no database access).

A row matches an entry by `when` and hash; what matches nothing, what was edited after it
was applied and what drizzle-orm would skip for ever (out of order) become Problems.
"""

from __future__ import annotations

from pathlib import Path

from agor_schema.db import Record
from agor_schema.journal import (
    EncodingError,
    JournalEntry,
    JournalError,
    MigrationFile,
    journal_warnings,
    read_journal,
    read_migration,
)
from agor_schema.run_results import MigrateResult, MigrationRefused, Problem, RunnerInputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (app start-up)

if TYPE_CHECKING:
    from agor_schema.runner import Runtime


# --- the folder and the plan ----------------------------------------------------------------


# Plain classes, not dataclasses: every app start-up builds a plan (see journal.py).


class Item:
    """One journal entry, its file (None when missing) and the row that records it."""

    __slots__ = ("entry", "file", "record", "state")

    def __init__(self, entry: JournalEntry, file: MigrationFile | None,
                 record: Record | None = None, state: str = "pending") -> None:
        self.entry = entry
        self.file = file
        self.record = record
        self.state = state

    def __repr__(self) -> str:
        return f"Item({self.entry.tag!r}, state={self.state!r}, record={self.record!r})"


class Plan:
    """The journal's entries matched with the recorded rows, and what is wrong."""

    def __init__(self, items: list[Item], unknown: list[Record], problems: list[Problem],
                 table_exists: bool) -> None:
        self.items = items
        self.unknown = unknown
        self.problems = problems
        self.table_exists = table_exists

    @property
    def todo(self) -> list[Item]:
        """Unrecorded entries in journal order."""
        return [i for i in self.items if i.record is None]

    def blocking(self, allow_out_of_order: bool, allow_changed: bool) -> list[Problem]:
        allowed = set()
        if allow_out_of_order:
            allowed.add("out_of_order")
        if allow_changed:
            allowed.add("changed")
        return [p for p in self.problems if p.blocking and p.kind not in allowed]


def read_folder(folder: Path, runtime: Runtime | None = None) -> list[Item]:
    """Journal entries with their files; a missing file is kept as None (judged later)."""
    try:
        journal = read_journal(folder)
    except JournalError as exc:
        raise RunnerInputError(str(exc)) from None
    expected = getattr(runtime, "journal_dialect", "")
    accepted = runtime.capabilities.journal_dialects if runtime is not None else ()
    if expected and journal.dialect and journal.dialect not in accepted:
        raise RunnerInputError(
            f"{folder} holds {journal.dialect} migrations but the database URL is "
            f"{expected}: point --migrations at the {expected} folder"
        )
    items = []
    for entry in journal.entries:
        try:
            file: MigrationFile | None = read_migration(folder, entry)
        except EncodingError as exc:
            raise RunnerInputError(str(exc)) from None
        except JournalError:
            file = None
        items.append(Item(entry=entry, file=file))
    return items


def plan(items: list[Item], records: list[Record] | None) -> Plan:
    """Match rows to entries and list the problems (pure: no database access)."""
    items = [Item(entry=i.entry, file=i.file) for i in items]
    pool = _RecordPool(records or [])
    problems: list[Problem] = []

    for item in items:  # 1. exact: same when and same hash
        if item.file is not None:
            item.record = pool.take((item.entry.when, item.file.hash))
            if item.record:
                item.state = "applied"
    for item in items:  # 2. same when, other hash (or file gone: hash unknowable)
        if item.record is None:
            item.record = pool.take(item.entry.when)
            if item.record and item.file is not None:
                item.state = "changed"
                problems.append(Problem(
                    "changed", item.entry.tag,
                    f"{item.file.name} was edited after it was applied: recorded sha256 "
                    f"{item.record.hash[:16]}…, file now {item.file.hash[:16]}…; restore the "
                    "applied version and put the change in a new migration "
                    "(or pass --allow-changed to accept the file as it is)",
                    blocking=True,
                ))
    for item in items:  # 3. same hash, other when: the journal's `when` was edited
        if item.record is None and item.file is not None:
            item.record = pool.take(item.file.hash)
            if item.record:
                item.state = "applied"
                problems.append(Problem(
                    "moved", item.entry.tag,
                    f"{item.entry.tag} is recorded with created_at {item.record.created_at} "
                    f"but the journal says when {item.entry.when}; counted as applied",
                    blocking=False,
                ))
    for item in items:
        if item.file is None:
            if item.record is not None:
                item.state = "missing_file"
                problems.append(Problem(
                    "missing_file", item.entry.tag,
                    f"{item.entry.tag}.sql is listed in the journal and recorded as applied, "
                    "but the file is missing; its hash cannot be verified (restore the file)",
                    blocking=False,
                ))
            else:
                item.state = "missing_file"
                problems.append(Problem(
                    "missing_file", item.entry.tag,
                    f"{item.entry.tag}.sql is listed in the journal but the file is missing, "
                    "and it is not applied yet: restore the file or remove the journal entry",
                    blocking=True,
                ))
    _mark_out_of_order(items, records or [], problems)
    _mark_empty(items, problems)
    problems.extend(Problem("journal_order", tag, message, blocking=False)
                    for tag, message in journal_warnings([i.entry for i in items]))
    left = pool.remaining()
    for rec in left:
        problems.append(Problem(
            "unknown_record", None,
            f"the database records a migration this folder does not have (created_at "
            f"{rec.created_at}, sha256 {rec.hash[:16]}…): its file was removed, or the "
            "database was migrated from a newer version of this folder",
            blocking=False,
        ))
    return Plan(items=items, unknown=left, problems=problems, table_exists=records is not None)


class _RecordPool:
    """Bookkeeping rows not yet matched, indexed by (when, hash), by when and by hash."""

    def __init__(self, records: list[Record]) -> None:
        self._left: dict[int, Record] = dict(enumerate(records))
        self._index: dict[object, list[int]] = {}
        for n, rec in self._left.items():
            for key in ((rec.created_at, rec.hash), rec.created_at, rec.hash):
                self._index.setdefault(key, []).append(n)

    def take(self, key: object) -> Record | None:
        """Remove and return the first unmatched row under `key` (rows keep DB order)."""
        for n in self._index.get(key, ()):
            if n in self._left:
                return self._left.pop(n)
        return None

    def remaining(self) -> list[Record]:
        return list(self._left.values())


def _mark_out_of_order(items: list[Item], records: list[Record], problems: list[Problem]) -> None:
    """Unrecorded entries that drizzle-orm would skip, or that precede an applied one."""
    newest = max((r.created_at for r in records), default=None)
    last_applied = max((n for n, i in enumerate(items) if i.record is not None), default=-1)
    for n, item in enumerate(items):
        if item.record is not None or item.file is None:
            continue
        later = [i.entry.tag for i in items[n + 1 :] if i.record is not None]
        if n < last_applied or (newest is not None and item.entry.when <= newest):
            item.state = "out_of_order"
            why = (f"later migration {later[0]} is already applied" if later
                   else f"its when {item.entry.when} is not above the newest applied "
                        f"created_at {newest} (drizzle-orm would skip it forever)")
            problems.append(Problem(
                "out_of_order", item.entry.tag,
                f"{item.entry.tag} is not applied but {why}; check it does not conflict with "
                "what ran after it, then re-run with --allow-out-of-order "
                "(or give it a new `when` after the newest applied migration)",
                blocking=True,
            ))


def _mark_empty(items: list[Item], problems: list[Problem]) -> None:
    """A pending file without a single statement (an untouched `agorschema new` template):
    recording it would claim a change that was never written."""
    for item in items:
        if item.record is None and item.file is not None and not item.file.has_statements:
            item.state = "empty"
            problems.append(Problem(
                "empty", item.entry.tag,
                f"{item.file.name} has no SQL statement (only comments or whitespace): write "
                "its SQL, or remove the migration (its journal entry, file and snapshot)",
                blocking=True,
            ))


def allowed_out_of_order(problem: Problem) -> Problem:
    """The warning left after --allow-out-of-order was given: no advice to give it again."""
    message = problem.message.split("; check it does not conflict")[0]
    return Problem(
        "out_of_order", problem.tag,
        f"{message}; applied anyway because --allow-out-of-order was given (drizzle-orm's "
        "runtime would have skipped it)", blocking=False,
    )


def refusal(problems: list[Problem], result: MigrateResult) -> MigrationRefused:
    lines = "\n".join(f"  - [{p.kind}] {p.message}" for p in problems)
    return MigrationRefused(
        f"refusing to migrate {result.database}: {len(problems)} problem(s)\n{lines}",
        problems, result,
    )
