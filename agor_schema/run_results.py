"""What a migrate or status run reports: its results and its errors (used by the runner and CLI).

Every app start-up returns a MigrateResult, so nothing here is a dataclass (see journal.py):
records are NamedTuples, the two results plain classes; `to_dict()` gives the same JSON data
that `dataclasses.asdict` gave.
"""

from __future__ import annotations

from agor_schema.records import record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (app start-up)

if TYPE_CHECKING:
    from typing import Any

    from agor_schema.db import Record


# --- errors ---------------------------------------------------------------------------------


class RunnerError(Exception):
    """Base of runner errors; `exit_code` is what the CLI exits with."""

    exit_code = 1
    kind = "error"

    def __init__(self, message: str, result: MigrateResult | None = None) -> None:
        # the Python API's callers log these: no password may reach them (a driver's own
        # text may echo the URL it could not parse)
        from agor_schema.redact import redact_secrets

        message = redact_secrets(message)
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
        return {**super().to_dict(), "problems": _plain(self.problems)}


@record
class StatementRef:
    """A statement of a file, as a failure report names it: its number, line and text."""

    number: int
    line: int
    sql: str

    def show(self) -> str:
        return f"statement {self.number} (line {self.line}): {_shorten(self.sql, 120)}"


@record
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
            out["as_written"] = _plain(self.as_written)
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


@record
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


@record
class AppliedMigration:
    tag: str
    when: int
    hash: str
    statements: int
    seconds: float
    mode: str = "whole_file"  # or "as_written" (DESIGN.md §11)
    notes: tuple[str, ...] = ()


@record
class PlannedMigration:
    tag: str
    when: int
    hash: str
    sql: str


def _plain(value: Any) -> Any:
    """JSON-ready data: records (NamedTuples) become dicts in field order, sequences lists."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {key: _plain(item) for key, item in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


class _Result:
    """repr, equality and `to_dict` over `_fields`, in order (what a dataclass would give)."""

    _fields: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({shown})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dataclass with eq

    def to_dict(self) -> dict[str, Any]:
        return {name: _plain(getattr(self, name)) for name in self._fields}

    def to_json(self) -> str:
        import json

        return json.dumps(self.to_dict(), indent=2)


class MigrateResult(_Result):
    """What one `migrate` call did; `to_json()` is what `--format json` prints."""

    _fields = ("database", "dialect", "migrations_dir", "applied", "baselined", "accepted",
               "skipped", "planned", "warnings", "notices", "dry_run", "baseline", "seconds")

    def __init__(
        self, database: str, dialect: str, migrations_dir: str,
        applied: list[AppliedMigration] | None = None, baselined: list[str] | None = None,
        accepted: list[str] | None = None, skipped: list[str] | None = None,
        planned: list[PlannedMigration] | None = None, warnings: list[Problem] | None = None,
        notices: list[str] | None = None, dry_run: bool = False, baseline: bool = False,
        seconds: float = 0.0,
    ) -> None:
        self.database = database
        self.dialect = dialect
        self.migrations_dir = migrations_dir
        self.applied: list[AppliedMigration] = [] if applied is None else applied
        self.baselined: list[str] = [] if baselined is None else baselined
        self.accepted: list[str] = [] if accepted is None else accepted
        self.skipped: list[str] = [] if skipped is None else skipped
        self.planned: list[PlannedMigration] = [] if planned is None else planned
        self.warnings: list[Problem] = [] if warnings is None else warnings
        self.notices: list[str] = [] if notices is None else notices  # deprecated settings, lock-wait retries
        self.dry_run = dry_run
        self.baseline = baseline
        self.seconds = seconds

    @property
    def applied_tags(self) -> list[str]:
        return [m.tag for m in self.applied]


@record
class MigrationStatus:
    tag: str
    when: int
    hash: str | None
    state: str  # applied | pending | out_of_order | changed | missing_file | empty
    recorded_hash: str | None = None
    recorded_created_at: int | None = None
    record_id: int | None = None


class StatusResult(_Result):
    """Applied / pending migrations and problems; `to_json()` is `--format json`."""

    _fields = ("database", "dialect", "migrations_dir", "migrations", "problems",
               "unknown_records", "table_exists")

    def __init__(
        self, database: str, dialect: str, migrations_dir: str,
        migrations: list[MigrationStatus] | None = None, problems: list[Problem] | None = None,
        unknown_records: list[Record] | None = None, table_exists: bool = False,
    ) -> None:
        self.database = database
        self.dialect = dialect
        self.migrations_dir = migrations_dir
        self.migrations: list[MigrationStatus] = [] if migrations is None else migrations
        self.problems: list[Problem] = [] if problems is None else problems
        self.unknown_records: list[Record] = [] if unknown_records is None else unknown_records
        self.table_exists = table_exists

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
        return {**super().to_dict(), "applied": self.applied, "pending": self.pending,
                "up_to_date": self.up_to_date}
