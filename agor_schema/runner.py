"""Apply drizzle-format migrations safely, at app startup or from the CLI.

Bookkeeping is drizzle-orm's own table (``hash`` = sha256 of the file, ``created_at`` =
journal ``when``), so a database can move between drizzle-orm's migrator and this one.
Beyond drizzle:

* **Matching.** A journal entry is applied when a row has ``created_at == when`` and
  ``hash == sha256(file)``. A row with the same ``when`` but another hash means the file
  was edited after it was applied ("changed": stops the run; ``allow_changed`` accepts
  the edit and records the file's current hash); a row with the same hash but another
  ``created_at`` counts as applied (the journal's ``when`` was edited) and is reported.
  Rows matching no entry are reported as unknown (their file is gone, or the database
  is ahead of this folder). Entries whose file is gone are reported; they stop the run
  only if they still need applying.
* **Pending** means not recorded, not "newer than the newest row". An unrecorded entry
  that comes before a recorded one in the journal, or whose ``when`` is not above the
  newest ``created_at`` (drizzle-orm would skip it forever), is *out of order* and stops
  the run unless allowed.
* **Atomicity.** One transaction per migration, holding its bookkeeping row; a failure
  rolls back that migration only and names file, statement, line and database error.
* **Locking.** A run-wide lock where the database has one (PostgreSQL advisory lock) and
  a per-migration write lock (SQLite ``BEGIN IMMEDIATE``); the bookkeeping table is
  re-read after the lock and again inside each migration's transaction, so concurrent
  starters apply every migration exactly once.
* **Cost.** An up-to-date database costs one bookkeeping read plus reading and hashing
  the files the journal lists; no lock, no DDL.

Everything that differs between SQLite and PostgreSQL is a method of the dialect runtime.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agor_schema.db import (
    CommitCheckFailed,
    ConnectError,
    DatabaseURLError,
    LockTimeout,
    Record,
    Statement,
    redact,
)
from agor_schema.journal import (
    JournalEntry,
    JournalError,
    MigrationFile,
    read_journal,
    read_migration,
)

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


class MigrationFailed(RunnerError):
    """A statement (or the pre-commit check) failed; that migration was rolled back."""

    kind = "failed"

    def __init__(
        self, *, tag: str, file: str, line: int | None, statement: str, error: str,
        result: MigrateResult | None = None,
    ) -> None:
        self.tag = tag
        self.file = file
        self.line = line
        self.statement = statement
        self.error = error
        shown = _shorten(statement)
        message = (
            f"migration {tag} failed and was rolled back\n"
            f"  file:      {file}{'' if line is None else f':{line}'}\n"
            f"  statement: {shown}\n"
            f"  error:     {error}"
        )
        super().__init__(message, result)

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(), "tag": self.tag, "file": self.file, "line": self.line,
            "statement": self.statement, "error": self.error,
        }


class LockTimeoutError(RunnerError):
    """Another run held the migration lock for longer than `lock_timeout`."""

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

    kinds: ``out_of_order``, ``changed``, ``moved``, ``missing_file``, ``unknown_record``.
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
    state: str  # applied | pending | out_of_order | changed | missing_file
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


# --- the runtime a dialect provides ---------------------------------------------------------


class Runtime(Protocol):
    """The dialect runtime methods the runner uses (see dialects/*_runtime.py)."""

    name: str

    def anchor_url(self, url: str, root: Path) -> str: ...
    def connect(self, url: str, *, timeout: float = ..., create: bool = ...) -> Any: ...
    def close_connection(self, conn: Any) -> None: ...
    @property
    def db_errors(self) -> tuple[type[BaseException], ...]: ...
    def describe_db_error(self, exc: BaseException) -> str: ...
    def error_line(self, exc: BaseException, statement: Statement) -> int: ...
    def migrations_table_sql(self, table: str, schema: str | None) -> str: ...
    def read_migration_records(
        self, conn: Any, table: str, schema: str | None
    ) -> list[Record] | None: ...
    def ensure_migrations_table(self, conn: Any, table: str, schema: str | None) -> None: ...
    def record_migration(
        self, conn: Any, table: str, schema: str | None, hash: str, when: int
    ) -> None: ...
    def update_migration_hash(
        self, conn: Any, table: str, schema: str | None, when: int, old: str, new: str
    ) -> None: ...
    def migration_lock(
        self, conn: Any, table: str, schema: str | None, timeout: float
    ) -> Any: ...
    def migration_statements(self, migration: MigrationFile) -> list[Statement]: ...
    def migration_transaction(self, conn: Any, statements: list[Statement]) -> Any: ...
    def execute_statement(self, conn: Any, statement: Statement) -> None: ...
    def dry_run_script(
        self, migration: MigrationFile, statements: list[Statement], table: str,
        schema: str | None,
    ) -> str: ...


# --- settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Resolved inputs of one run: explicit arguments win over [tool.agorschema]."""

    url: str
    runtime: Runtime
    folder: Path
    table: str
    schema: str | None
    lock_timeout: float


def resolve(
    url: str | None, migrations_dir: str | Path | None, table: str | None,
    schema: str | None, lock_timeout: float | None, project: str | Path | None = None,
) -> Settings:
    """Fill unset arguments from [tool.agorschema], or from the built-in defaults.

    The settings file is read only when `url` or `migrations_dir` is missing or `project` is
    given: an app that passes both never reads (or trips over) a pyproject.toml that happens
    to sit above its working directory.
    """
    from agor_schema import config

    cfg: Any = None
    if url is None or migrations_dir is None or project is not None:
        try:
            cfg = config.load_config(Path(project) if project is not None else None)
        except config.ConfigError as exc:
            raise RunnerInputError(str(exc)) from None
    else:
        cfg = _Defaults(config.DEFAULTS)
    from agor_schema.dialects import runtime_for_url

    from_config = url is None
    url = url if url is not None else cfg.database
    try:
        runtime: Runtime = runtime_for_url(url)  # type: ignore[assignment]
        if from_config:
            url = runtime.anchor_url(url, cfg.root)
    except ValueError as exc:  # DatabaseURLError is a ValueError too
        raise RunnerInputError(str(exc)) from None
    return Settings(
        url=url,
        runtime=runtime,
        folder=Path(migrations_dir if migrations_dir is not None
                    else cfg.migrations_dir(runtime.name)),
        table=table if table is not None else cfg.migrations_table,
        schema=schema if schema is not None else cfg.migrations_schema,
        lock_timeout=float(lock_timeout if lock_timeout is not None else cfg.lock_timeout),
    )


class _Defaults:
    """The built-in settings, shaped like a Config for the fields `resolve` reads."""

    def __init__(self, defaults: dict[str, Any]) -> None:
        self.migrations_table = str(defaults["migrations_table"])
        self.migrations_schema = str(defaults["migrations_schema"])
        self.lock_timeout = float(defaults["lock_timeout"])


# --- the folder and the plan ----------------------------------------------------------------


@dataclass
class Item:
    """One journal entry, its file (None when missing) and the row that records it."""

    entry: JournalEntry
    file: MigrationFile | None
    record: Record | None = None
    state: str = "pending"


@dataclass
class Plan:
    items: list[Item]
    unknown: list[Record]
    problems: list[Problem]
    table_exists: bool

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
    if expected and journal.dialect and journal.dialect != expected:
        raise RunnerInputError(
            f"{folder} holds {journal.dialect} migrations but the database URL is "
            f"{expected}: point --migrations at the {expected} folder"
        )
    items = []
    for entry in journal.entries:
        try:
            file: MigrationFile | None = read_migration(folder, entry)
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


def _refuse(problems: list[Problem], result: MigrateResult) -> MigrationRefused:
    lines = "\n".join(f"  - [{p.kind}] {p.message}" for p in problems)
    return MigrationRefused(
        f"refusing to migrate {result.database}: {len(problems)} problem(s)\n{lines}",
        problems, result,
    )


# --- connections ----------------------------------------------------------------------------


@contextmanager
def _connection(settings: Settings, create: bool) -> Iterator[Any]:
    rt = settings.runtime
    try:
        conn = rt.connect(settings.url, timeout=settings.lock_timeout, create=create)
    except ConnectError as exc:
        raise ConnectionFailed(f"{redact(settings.url)}: {exc}") from None
    except DatabaseURLError as exc:
        raise RunnerInputError(str(exc)) from None
    try:
        yield conn
    finally:
        rt.close_connection(conn)


def _read_records(settings: Settings, conn: Any) -> list[Record] | None:
    rt = settings.runtime
    try:
        return rt.read_migration_records(conn, settings.table, settings.schema)
    except rt.db_errors as exc:
        raise ConnectionFailed(
            f"cannot read {rt.migrations_table_sql(settings.table, settings.schema)} in "
            f"{redact(settings.url)}: {rt.describe_db_error(exc)}"
        ) from None


# --- public API -----------------------------------------------------------------------------


def status(
    url: str | None = None,
    migrations_dir: str | Path | None = None,
    *,
    table: str | None = None,
    schema: str | None = None,
    lock_timeout: float | None = None,
    project: str | Path | None = None,
) -> StatusResult:
    """Applied / pending migrations and problems; reads only, takes no lock, creates nothing.

    Unset arguments come from [tool.agorschema] of the pyproject.toml nearest to `project`
    (default: the current directory).
    """
    settings = resolve(url, migrations_dir, table, schema, lock_timeout, project)
    items = read_folder(settings.folder, settings.runtime)
    with _connection(settings, create=False) as conn:
        records = _read_records(settings, conn)
    p = plan(items, records)
    return StatusResult(
        database=redact(settings.url),
        dialect=settings.runtime.name,
        migrations_dir=str(settings.folder),
        migrations=[
            MigrationStatus(
                tag=i.entry.tag,
                when=i.entry.when,
                hash=i.file.hash if i.file else None,
                state=i.state,
                recorded_hash=i.record.hash if i.record else None,
                recorded_created_at=i.record.created_at if i.record else None,
                record_id=i.record.id if i.record else None,
            )
            for i in p.items
        ],
        problems=p.problems,
        unknown_records=p.unknown,
        table_exists=p.table_exists,
    )


def migrate(
    url: str | None = None,
    migrations_dir: str | Path | None = None,
    *,
    dry_run: bool = False,
    allow_out_of_order: bool = False,
    allow_changed: bool = False,
    baseline: bool = False,
    table: str | None = None,
    schema: str | None = None,
    lock_timeout: float | None = None,
    project: str | Path | None = None,
) -> MigrateResult:
    """Apply every pending migration in journal order; raise a RunnerError on refusal/failure.

    `dry_run` returns the SQL each pending migration would run and changes nothing.
    `baseline` records pending migrations as applied without running them (for a database
    that already has the schema). The exception carries `.result` with what was done.
    Unset arguments come from [tool.agorschema] (see `status`).
    """
    started = time.perf_counter()
    settings = resolve(url, migrations_dir, table, schema, lock_timeout, project)
    items = read_folder(settings.folder, settings.runtime)
    result = MigrateResult(
        database=redact(settings.url),
        dialect=settings.runtime.name,
        migrations_dir=str(settings.folder),
        dry_run=dry_run,
        baseline=baseline,
    )
    try:
        with _connection(settings, create=not dry_run) as conn:
            _migrate(settings, conn, items, result, allow_out_of_order, allow_changed)
    finally:
        result.seconds = time.perf_counter() - started
    return result


def _migrate(
    settings: Settings, conn: Any, items: list[Item], result: MigrateResult,
    allow_out_of_order: bool, allow_changed: bool,
) -> None:
    rt = settings.runtime
    first = plan(items, _read_records(settings, conn))  # the one read when up to date
    to_accept = [i.entry.tag for i in first.items if i.state == "changed"] if allow_changed \
        else []
    if not first.todo and not to_accept:
        result.warnings = first.problems
        result.skipped = [i.entry.tag for i in first.items]
        blocking = first.blocking(allow_out_of_order, allow_changed)
        if blocking:
            raise _refuse(blocking, result)
        return
    if result.dry_run:
        result.accepted = to_accept
        _dry_run(settings, first, result, allow_out_of_order, allow_changed)
        return
    try:
        lock = rt.migration_lock(conn, settings.table, settings.schema, settings.lock_timeout)
        with lock:
            _run_locked(settings, conn, items, result, allow_out_of_order, allow_changed)
    except LockTimeout as exc:
        raise LockTimeoutError(f"{redact(settings.url)}: {exc}", result) from None


def _dry_run(
    settings: Settings, p: Plan, result: MigrateResult, allow_out_of_order: bool,
    allow_changed: bool,
) -> None:
    result.warnings = p.problems
    blocking = p.blocking(allow_out_of_order, allow_changed)
    if blocking:
        raise _refuse(blocking, result)
    rt = settings.runtime
    for item in p.todo:
        assert item.file is not None
        statements = [] if result.baseline else rt.migration_statements(item.file)
        result.planned.append(PlannedMigration(
            tag=item.entry.tag, when=item.entry.when, hash=item.file.hash,
            sql=rt.dry_run_script(item.file, statements, settings.table, settings.schema),
        ))


def _run_locked(
    settings: Settings, conn: Any, items: list[Item], result: MigrateResult,
    allow_out_of_order: bool, allow_changed: bool,
) -> None:
    rt = settings.runtime
    try:
        rt.ensure_migrations_table(conn, settings.table, settings.schema)
    except rt.db_errors as exc:
        raise ConnectionFailed(
            f"cannot create {rt.migrations_table_sql(settings.table, settings.schema)}: "
            f"{rt.describe_db_error(exc)}", result,
        ) from None
    current = plan(items, _read_records(settings, conn))  # re-read under the lock
    result.warnings = current.problems
    blocking = current.blocking(allow_out_of_order, allow_changed)
    if blocking:
        raise _refuse(blocking, result)
    result.skipped = [i.entry.tag for i in current.items if i.record is not None]
    if allow_changed:
        for item in current.items:
            if item.state == "changed":
                _accept_changed(settings, conn, item, result)
    for item in current.todo:
        assert item.file is not None
        _apply_one(settings, conn, items, item.file, result)


def _accept_changed(settings: Settings, conn: Any, item: Item, result: MigrateResult) -> None:
    """--allow-changed: record the edited file's hash so later runs are clean again."""
    rt = settings.runtime
    assert item.file is not None and item.record is not None
    try:
        with rt.migration_transaction(conn, []):
            rt.update_migration_hash(conn, settings.table, settings.schema, item.entry.when,
                                     item.record.hash, item.file.hash)
    except rt.db_errors as exc:
        raise MigrationFailed(
            tag=item.entry.tag, file=item.file.filename, line=None,
            statement="(updating the recorded hash)", error=rt.describe_db_error(exc),
            result=result,
        ) from None
    result.accepted.append(item.entry.tag)


class _AlreadyApplied(Exception):
    """Raised inside a migration's transaction to roll it back: another run recorded it."""


def _index_of(items: list[Item], mf: MigrationFile) -> int:
    return next(n for n, i in enumerate(items) if i.file is mf)


def _apply_one(
    settings: Settings, conn: Any, items: list[Item], mf: MigrationFile, result: MigrateResult
) -> None:
    """One migration in one transaction with its bookkeeping row; skip if applied meanwhile."""
    rt = settings.runtime
    statements = [] if result.baseline else rt.migration_statements(mf)
    started = time.perf_counter()
    current: Statement | None = None
    try:
        with rt.migration_transaction(conn, statements):
            # Re-read inside the write transaction: with SQLite's per-migration lock this is
            # what stops two starters from applying the same migration twice.
            records = rt.read_migration_records(conn, settings.table, settings.schema)
            if plan(items, records).items[_index_of(items, mf)].record is not None:
                raise _AlreadyApplied
            for current in statements:
                rt.execute_statement(conn, current)
            current = None
            rt.record_migration(conn, settings.table, settings.schema, mf.hash, mf.when)
    except _AlreadyApplied:
        result.skipped.append(mf.tag)
        return
    except CommitCheckFailed as exc:
        raise MigrationFailed(
            tag=mf.tag, file=str(mf.path), line=None, statement=exc.statement,
            error=str(exc), result=result,
        ) from None
    except rt.db_errors as exc:
        if current is None:
            raise MigrationFailed(
                tag=mf.tag, file=str(mf.path), line=None,
                statement="(bookkeeping row / COMMIT)", error=rt.describe_db_error(exc),
                result=result,
            ) from None
        raise MigrationFailed(
            tag=mf.tag, file=str(mf.path), line=rt.error_line(exc, current),
            statement=current.sql.strip(), error=rt.describe_db_error(exc), result=result,
        ) from None
    if result.baseline:
        result.baselined.append(mf.tag)
    else:
        result.applied.append(AppliedMigration(
            tag=mf.tag, when=mf.when, hash=mf.hash, statements=len(statements),
            seconds=time.perf_counter() - started,
        ))
