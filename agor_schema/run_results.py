"""What a migrate or status run reports: its results and its errors (used by the runner and CLI)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agor_schema.db import Record


# --- errors ---------------------------------------------------------------------------------


class RunnerError(Exception):
    """Base of runner errors; `exit_code` is what the CLI exits with."""

    exit_code = 1
    kind = "error"

    def __init__(self, message: str, result: MigrateResult | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.result = result

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message}


class RunnerInputError(RunnerError):
    """Bad URL, missing or malformed journal, unreadable folder: exit code 2."""

    exit_code = 2
    kind = "input"


class MigrationRefused(RunnerError):
    """The folder and the database disagree (out of order, changed file, missing file)."""

    kind = "refused"

    def __init__(
        self, message: str, problems: list[Problem], result: MigrateResult | None = None
    ) -> None:
        super().__init__(message, result)
        self.problems = problems

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "problems": [asdict(p) for p in self.problems]}


@dataclass(frozen=True)
class StatementRef:
    """A statement of a file, as a failure report names it: its number, line and text."""

    number: int
    line: int
    sql: str

    def show(self) -> str:
        return f"statement {self.number} (line {self.line}): {_shorten(self.sql, 120)}"


@dataclass(frozen=True)
class AsWritten:
    """What a failed file that ran as written left behind (DESIGN.md §11)."""

    reason: str
    committed: list[StatementRef]
    rolled_back: list[StatementRef]


class MigrationFailed(RunnerError):
    """A statement (or the pre-commit check) failed.

    A file that ran in one transaction was rolled back whole. A file that ran as written
    (`as_written` set) was not: the message lists exactly what was committed and says the
    file was not recorded, so the next run starts it from the top.
    """

    kind = "failed"

    def __init__(
        self, *, tag: str, file: str, line: int | None, statement: str, error: str,
        result: MigrateResult | None = None, as_written: AsWritten | None = None,
    ) -> None:
        self.tag = tag
        self.file = file
        self.line = line
        self.statement = statement
        self.error = error
        self.as_written = as_written
        shown = _shorten(statement)
        head = (f"migration {tag} failed and was rolled back" if as_written is None else
                f"migration {tag} failed part-way; it ran as written ({as_written.reason}), "
                "so it was not rolled back as a whole")
        message = (
            f"{head}\n"
            f"  file:      {file}{'' if line is None else f':{line}'}\n"
            f"  statement: {shown}\n"
            f"  error:     {error}"
        )
        if as_written is not None:
            message += "\n" + _as_written_report(as_written)
        super().__init__(message, result)

    def to_dict(self) -> dict[str, Any]:
        out = {
            **super().to_dict(), "tag": self.tag, "file": self.file, "line": self.line,
            "statement": self.statement, "error": self.error, "recorded": False,
            "rolled_back_whole_file": self.as_written is None,
        }
        if self.as_written is not None:
            out["as_written"] = asdict(self.as_written)
        return out


def _as_written_report(aw: AsWritten) -> str:
    lines = ["  committed before the failure (these changes stay in the database):"]
    lines += [f"    - {ref.show()}" for ref in aw.committed] or ["    (none)"]
    if aw.rolled_back:
        lines.append("  rolled back (they were inside a transaction the file opened):")
        lines += [f"    - {ref.show()}" for ref in aw.rolled_back]
    lines.append(
        "  the file was NOT recorded as applied: the next run starts it again from the top, "
        "so make it re-runnable (e.g. IF NOT EXISTS) or undo the committed statements first"
    )
    return "\n".join(lines)


class LockTimeoutError(RunnerError):
    """Another run held the migration lock for longer than `migrator_lock_timeout`."""

    kind = "lock_timeout"


class ConnectionFailed(RunnerError):
    """The database could not be reached or opened."""

    kind = "connect"


def _shorten(sql: str, limit: int = 400) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Something about the folder versus the database that a human should know.

    kinds: ``out_of_order``, ``changed``, ``moved``, ``missing_file``, ``unknown_record``,
    ``empty`` (a pending file with no statement), ``journal_order`` (a `when` not above an
    earlier entry's: drizzle-orm would skip it).
    ``blocking`` problems stop ``migrate`` unless the matching ``allow_*`` is given.
    """

    kind: str
    tag: str | None
    message: str
    blocking: bool


@dataclass
class AppliedMigration:
    tag: str
    when: int
    hash: str
    statements: int
    seconds: float
    mode: str = "whole_file"  # or "as_written" (DESIGN.md §11)
    notes: list[str] = field(default_factory=list)


@dataclass
class PlannedMigration:
    tag: str
    when: int
    hash: str
    sql: str


@dataclass
class MigrateResult:
    """What one `migrate` call did; `to_json()` is what `--format json` prints."""

    database: str
    dialect: str
    migrations_dir: str
    applied: list[AppliedMigration] = field(default_factory=list)
    baselined: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    planned: list[PlannedMigration] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # deprecated settings, lock-wait retries
    dry_run: bool = False
    baseline: bool = False
    seconds: float = 0.0

    @property
    def applied_tags(self) -> list[str]:
        return [m.tag for m in self.applied]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


@dataclass
class MigrationStatus:
    tag: str
    when: int
    hash: str | None
    state: str  # applied | pending | out_of_order | changed | missing_file | empty
    recorded_hash: str | None = None
    recorded_created_at: int | None = None
    record_id: int | None = None


@dataclass
class StatusResult:
    """Applied / pending migrations and problems; `to_json()` is `--format json`."""

    database: str
    dialect: str
    migrations_dir: str
    migrations: list[MigrationStatus] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unknown_records: list[Record] = field(default_factory=list)
    table_exists: bool = False

    @property
    def applied(self) -> list[str]:
        return [m.tag for m in self.migrations if m.recorded_created_at is not None]

    @property
    def pending(self) -> list[str]:
        return [m.tag for m in self.migrations if m.recorded_created_at is None]

    @property
    def up_to_date(self) -> bool:
        return not self.pending

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "applied": self.applied, "pending": self.pending,
                "up_to_date": self.up_to_date}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)
