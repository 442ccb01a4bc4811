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
  A file with transaction control, or marked ``-- agorschema:no-transaction``, runs *as
  written* instead (DESIGN.md §11, ``as_written.py``): recorded only after its last
  statement succeeded; on failure the error lists what was committed.
* **Locking.** A run-wide lock where the database has one (PostgreSQL: session advisory
  lock, or a lease row behind a transaction pooler) and a per-migration write lock (SQLite
  ``BEGIN IMMEDIATE``; PostgreSQL ``pg_advisory_xact_lock``); the bookkeeping table is
  re-read after the lock and again inside each migration's transaction, so concurrent
  starters apply every migration exactly once. Which kind is capability data.
* **Lock waits.** Each one-transaction migration runs with ``ddl_lock_timeout`` and
  ``statement_timeout`` (SET LOCAL); a lock wait that expires rolls the whole migration
  back and retries it after 1, 2, 4 … s (``ddl_lock_retries``), then fails naming the
  blocking backend. Files that run as written get neither, and are not retried.
* **Cost.** An up-to-date database costs one bookkeeping read plus reading and hashing
  the files the journal lists; no lock, no DDL.

Everything that differs between SQLite and PostgreSQL is a method of the dialect runtime.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from agor_schema.db import (
    BadRecord,
    CommitCheckFailed,
    ConnectError,
    DatabaseURLError,
    LeaseLost,
    LockTimeout,
    NoLongerNeeded,
    Record,
    Statement,
    TxLimits,
    redact,
)
from agor_schema.dialects.capabilities import Capabilities, FileMode, run_mode
from agor_schema.journal import MigrationFile
from agor_schema.pending import (
    Item,
    Plan,
    allowed_out_of_order,
    plan,
    read_folder,
    refusal,
)
from agor_schema.records import record
from agor_schema.run_results import (  # noqa: F401 - public names of the runner API
    AppliedMigration,
    ConnectionFailed,
    LockTimeoutError,
    MigrateResult,
    MigrationFailed,
    MigrationRefused,
    MigrationStatus,
    PlannedMigration,
    Problem,
    RunnerError,
    RunnerInputError,
    StatusResult,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (app start-up)

if TYPE_CHECKING:
    from typing import Any, Protocol

    from agor_schema.dialects.capabilities import Capabilities

# --- the runtime a dialect provides ---------------------------------------------------------


if TYPE_CHECKING:  # annotations only: a Protocol would import typing at app start-up
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
        @property
        def capabilities(self) -> Capabilities: ...
        def lock_kind(self, setting: str, url: str) -> str: ...
        def migration_lock(
            self, conn: Any, table: str, schema: str | None, timeout: float, **kw: Any
        ) -> Any: ...
        def migration_statements(self, migration: MigrationFile) -> list[Statement]: ...
        def migration_transaction(
            self, conn: Any, statements: list[Statement], **kw: Any
        ) -> Any: ...
        def is_lock_timeout(self, exc: BaseException) -> bool: ...
        def is_statement_timeout(self, exc: BaseException) -> bool: ...
        def in_transaction(self, conn: Any) -> bool: ...
        def end_transaction(self, conn: Any, commit: bool) -> None: ...
        def as_written_session(self, conn: Any, timeout: float) -> Any: ...
        def prepare_as_written(self, conn: Any, statements: list[Statement]) -> list[str]: ...
        def invalid_indexes(self, conn: Any) -> list[str]: ...
        def execute_statement(self, conn: Any, statement: Statement) -> None: ...
        def dry_run_script(
            self, migration: MigrationFile, statements: list[Statement], table: str,
            schema: str | None,
        ) -> str: ...


# --- settings -------------------------------------------------------------------------------


@record
class Settings:
    """Resolved inputs of one run: explicit arguments win over [tool.agorschema]."""

    url: str
    runtime: Runtime
    folder: Path
    table: str
    schema: str | None
    migrator_lock_timeout: float
    migrator_lock: str = "auto"
    limits: TxLimits = TxLimits()
    ddl_lock_retries: int = 0
    warnings: tuple[str, ...] = ()
    progress: Progress | None = None

    @property
    def lock_timeout(self) -> float:
        """Deprecated name of `migrator_lock_timeout`."""
        return self.migrator_lock_timeout


# progress(event, tag, seconds): event is "start", "end" or "skipped"
Progress = Callable[[str, str, "float | None"], None]

# Keyword arguments of migrate()/status() that override [tool.agorschema] runner settings.
RUN_OPTIONS = ("migrator_lock_timeout", "migrator_lock", "ddl_lock_timeout",
               "ddl_lock_retries", "statement_timeout")


def resolve(
    url: str | None, migrations_dir: str | Path | None, table: str | None,
    schema: str | None, lock_timeout: float | None, project: str | Path | None = None,
    **options: Any,
) -> Settings:
    """Fill unset arguments from [tool.agorschema], or from the built-in defaults.

    The settings file is read only when `url` or `migrations_dir` is missing or `project` is
    given: an app that passes both never reads (or trips over) a pyproject.toml that happens
    to sit above its working directory. `lock_timeout` is the deprecated name of
    `migrator_lock_timeout`; `options` are the RUN_OPTIONS (None = from settings).
    """
    from agor_schema import config

    warnings: list[str] = []
    if lock_timeout is not None:
        warnings.append("lock_timeout= is deprecated: it is the wait for another migrator, "
                        "now migrator_lock_timeout= (the DDL lock wait is ddl_lock_timeout=)")
        if options.get("migrator_lock_timeout") is None:
            options["migrator_lock_timeout"] = lock_timeout
    unknown = sorted(set(options) - set(RUN_OPTIONS))
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(unknown)}")
    cfg: Any = None
    if url is None or migrations_dir is None or project is not None:
        try:
            cfg = config.load_config(Path(project) if project is not None else None)
        except config.ConfigError as exc:
            error = RunnerInputError(str(exc))
            error.file = None if exc.file is None else str(exc.file)  # the setting at fault
            error.field = exc.key
            raise error from None
    else:
        cfg = _Defaults(config.DEFAULTS)
    warnings = [*cfg.warnings, *warnings]
    from agor_schema.dialects import runtime_for_url

    from_config = url is None
    url = url if url is not None else cfg.database
    from agor_schema.redact import remember_secrets

    remember_secrets(url)  # its password stays out of every message (RunnerError masks it)
    try:
        runtime: Runtime = runtime_for_url(url)  # type: ignore[assignment]
        if from_config:
            url = runtime.anchor_url(url, cfg.root)
    except ValueError as exc:  # DatabaseURLError is a ValueError too
        raise RunnerInputError(str(exc)) from None
    values = {key: getattr(cfg, key) if options.get(key) is None else options[key]
              for key in RUN_OPTIONS}
    try:
        run = config.runner_settings(values, "migrate setting",
                                     lambda message, _key: ValueError(message))
        lock_kind = runtime.lock_kind(run["migrator_lock"], url)
    except ValueError as exc:
        raise RunnerInputError(str(exc)) from None
    if migrations_dir is None and not (cfg.migrations_dir(runtime.name) / "meta").is_dir():
        raise RunnerInputError(
            f"migrations folder {cfg.migrations_dir(runtime.name)} not found "
            f"({cfg.describe()}); run `agorschema compile`, or pass --migrations DIR")
    return Settings(
        url=url,
        runtime=runtime,
        folder=Path(migrations_dir if migrations_dir is not None
                    else cfg.migrations_dir(runtime.name)),
        table=table if table is not None else cfg.migrations_table,
        schema=schema if schema is not None else cfg.migrations_schema,
        migrator_lock_timeout=run["migrator_lock_timeout"],
        migrator_lock=lock_kind,
        limits=_limits(runtime.capabilities, run),
        ddl_lock_retries=run["ddl_lock_retries"],
        warnings=tuple(warnings),
    )


def _limits(caps: Capabilities, run: dict[str, Any]) -> TxLimits:
    """The per-transaction limits this engine can honour (the others stay off)."""
    return TxLimits(
        ddl_lock_timeout=run["ddl_lock_timeout"] if caps.ddl_lock_timeout else 0.0,
        statement_timeout=run["statement_timeout"] if caps.statement_timeout else 0.0,
    )


class _Defaults:
    """The built-in settings, shaped like a Config for the fields `resolve` reads."""

    def __init__(self, defaults: dict[str, Any]) -> None:
        self.migrations_table = str(defaults["migrations_table"])
        self.migrations_schema = str(defaults["migrations_schema"])
        self.warnings: tuple[str, ...] = ()
        for key in RUN_OPTIONS:
            setattr(self, key, defaults[key])


# --- connections ----------------------------------------------------------------------------


@contextmanager
def _connection(settings: Settings, create: bool) -> Iterator[Any]:
    rt = settings.runtime
    try:
        conn = rt.connect(settings.url, timeout=settings.migrator_lock_timeout, create=create)
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
    except BadRecord as exc:
        raise RunnerError(f"{redact(settings.url)}: {exc}") from None


# --- public API -----------------------------------------------------------------------------


def status(
    url: str | None = None,
    migrations_dir: str | Path | None = None,
    *,
    table: str | None = None,
    schema: str | None = None,
    lock_timeout: float | None = None,
    project: str | Path | None = None,
    **options: Any,
) -> StatusResult:
    """Applied / pending migrations and problems; reads only, takes no lock, creates nothing.

    Unset arguments come from [tool.agorschema] of the pyproject.toml nearest to `project`
    (default: the current directory).
    """
    settings = resolve(url, migrations_dir, table, schema, lock_timeout, project, **options)
    items = read_folder(settings.folder, settings.runtime)
    with _connection(settings, create=False) as conn:
        records = _read_records(settings, conn)
        invalid = settings.runtime.invalid_indexes(conn) \
            if settings.runtime.capabilities.invalid_indexes else []
    p = plan(items, records)
    p.problems.extend(Problem("invalid_index", None, text, blocking=False) for text in invalid)
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
    migrator_lock_timeout: float | None = None,
    migrator_lock: str | None = None,
    ddl_lock_timeout: float | None = None,
    ddl_lock_retries: int | None = None,
    statement_timeout: float | None = None,
    progress: Progress | None = None,
) -> MigrateResult:
    """Apply every pending migration in journal order; raise a RunnerError on refusal/failure.

    `dry_run` returns the SQL each pending migration would run and changes nothing.
    `baseline` records pending migrations as applied without running them (for a database
    that already has the schema). The exception carries `.result` with what was done.
    Unset arguments come from [tool.agorschema] (see `status`). Seconds: `ddl_lock_timeout`
    bounds each table-lock wait inside a migration (0 = off), retried `ddl_lock_retries`
    times with a doubling backoff; `statement_timeout` bounds each statement (0 = off);
    `migrator_lock_timeout` is the wait for another migrator (`lock_timeout` is its
    deprecated name); `migrator_lock` is auto, session or lease (PostgreSQL).
    `progress(event, tag, seconds)` is called as each migration starts ("start") and ends
    ("end", with its time; "skipped" when another run applied it meanwhile).
    """
    started = time.perf_counter()
    settings = resolve(
        url, migrations_dir, table, schema, lock_timeout, project,
        migrator_lock_timeout=migrator_lock_timeout, migrator_lock=migrator_lock,
        ddl_lock_timeout=ddl_lock_timeout, ddl_lock_retries=ddl_lock_retries,
        statement_timeout=statement_timeout,
    )
    if progress is not None:
        settings = settings._replace(progress=progress)
    items = read_folder(settings.folder, settings.runtime)
    result = MigrateResult(
        database=redact(settings.url),
        dialect=settings.runtime.name,
        migrations_dir=str(settings.folder),
        dry_run=dry_run,
        baseline=baseline,
    )
    result.notices.extend(settings.warnings)
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
    blocking = first.blocking(allow_out_of_order, allow_changed)
    if blocking:  # none of these can go away by waiting for the lock: refuse before writing
        result.warnings = first.problems
        raise refusal(blocking, result)
    if not first.todo and not to_accept:
        result.warnings = first.problems
        result.skipped = [i.entry.tag for i in first.items]
        return
    if result.dry_run:
        result.accepted = to_accept
        _dry_run(settings, first, result, allow_out_of_order, allow_changed)
        return
    try:
        lock = rt.migration_lock(
            conn, settings.table, settings.schema, settings.migrator_lock_timeout,
            kind=settings.migrator_lock, url=settings.url, limits=settings.limits,
            still_needed=lambda: bool(to_accept) or bool(
                plan(items, _read_records(settings, conn)).todo),
        )
        with lock as guard:
            _run_locked(settings, conn, guard, items, result, allow_out_of_order,
                        allow_changed)
    except NoLongerNeeded:  # another starter applied everything while we waited
        done = plan(items, _read_records(settings, conn))
        result.warnings = done.problems
        result.skipped = [i.entry.tag for i in done.items if i.record is not None]
    except (LockTimeout, LeaseLost) as exc:
        raise LockTimeoutError(f"{redact(settings.url)}: {exc}", result) from None


def _warnings(p: Plan, allow_out_of_order: bool) -> list[Problem]:
    """The plan's problems as warnings of a run that goes ahead."""
    if not allow_out_of_order:
        return p.problems
    return [allowed_out_of_order(q) if q.kind == "out_of_order" else q for q in p.problems]


def _dry_run(
    settings: Settings, p: Plan, result: MigrateResult, allow_out_of_order: bool,
    allow_changed: bool,
) -> None:
    result.warnings = _warnings(p, allow_out_of_order)
    blocking = p.blocking(allow_out_of_order, allow_changed)
    if blocking:
        raise refusal(blocking, result)
    rt = settings.runtime
    for item in p.todo:
        assert item.file is not None
        statements = [] if result.baseline else rt.migration_statements(item.file)
        mode = file_mode(rt, item.file, statements)
        if mode.as_written and not result.baseline:
            sql = _as_written_script(settings, item.file, statements, mode)
        else:
            sql = rt.dry_run_script(item.file, statements, settings.table, settings.schema)
        result.planned.append(PlannedMigration(
            tag=item.entry.tag, when=item.entry.when, hash=item.file.hash, sql=sql,
        ))


def file_mode(rt: Runtime, mf: MigrationFile, statements: list[Statement]) -> FileMode:
    """How `mf` runs on this engine: in one transaction, or as written (and why)."""
    # imported here: an up-to-date start-up never classifies a statement
    from agor_schema.dialects.statements import code_of, has_no_transaction_marker

    controls = [(s.line, " ".join(code_of(s.sql).split()[:2]).rstrip(";")) for s in statements
                if s.control is not None]
    return run_mode(rt.capabilities, has_no_transaction_marker(mf.text), controls)


def _as_written_script(
    settings: Settings, mf: MigrationFile, statements: list[Statement], mode: FileMode
) -> str:
    lines = [f"-- runs as written: {mode.reason}; each statement commits by itself outside "
             "the file's own BEGIN ... COMMIT"]
    for st in statements:
        text = st.sql.strip()
        lines.append(text if text.endswith(";") else text + ";")
    lines.append("-- after the last statement succeeded, the bookkeeping row:")
    lines.append(settings.runtime.dry_run_script(mf, [], settings.table, settings.schema))
    return "\n".join(lines)


def _run_locked(
    settings: Settings, conn: Any, guard: Any, items: list[Item], result: MigrateResult,
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
    result.warnings = _warnings(current, allow_out_of_order)
    blocking = current.blocking(allow_out_of_order, allow_changed)
    if blocking:
        raise refusal(blocking, result)
    result.skipped = [i.entry.tag for i in current.items if i.record is not None]
    if guard is not None and (current.todo or allow_changed):
        guard.ensure_started()  # the side connection (lease renewal, blocker watch)
    if allow_changed:
        for item in current.items:
            if item.state == "changed":
                _accept_changed(settings, conn, item, result)
    for item in current.todo:
        assert item.file is not None
        if settings.progress is not None:
            settings.progress("start", item.file.tag, None)
        done = len(result.applied) + len(result.baselined)
        _apply_with_retries(settings, conn, guard, items, item.file, result)
        if settings.progress is not None:
            ran = result.applied[done:]
            settings.progress("end" if len(result.applied) + len(result.baselined) > done
                              else "skipped", item.file.tag, ran[0].seconds if ran else None)


def _accept_changed(settings: Settings, conn: Any, item: Item, result: MigrateResult) -> None:
    """--allow-changed: record the edited file's hash so later runs are clean again."""
    rt = settings.runtime
    assert item.file is not None and item.record is not None
    try:
        with rt.migration_transaction(conn, [], limits=settings.limits):
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


class _TransactionEnded(Exception):
    """A statement the scanner did not see as transaction control ended the transaction."""


def _ended_failure(
    mf: MigrationFile, statements: list[Statement], number: int, result: MigrateResult
) -> MigrationFailed:
    """Say honestly what happened: everything up to `number` is committed, nothing recorded."""
    from agor_schema.as_written import code_of
    from agor_schema.run_results import AsWritten, StatementRef

    done = [StatementRef(n, s.line, code_of(s.sql)) for n, s in enumerate(statements[:number], 1)
            if s.note is None]
    st = statements[number - 1]
    return MigrationFailed(
        tag=mf.tag, file=str(mf.path), line=st.line, statement=st.sql.strip(),
        error="this statement ended the runner's transaction (transaction control the "
              "runner did not recognise); the file was stopped here",
        result=result,
        as_written=AsWritten("it ended the runner's transaction", done, []),
    )


def _index_of(items: list[Item], mf: MigrationFile) -> int:
    return next(n for n, i in enumerate(items) if i.file is mf)


class _LockWaitExpired(Exception):
    """`ddl_lock_timeout` expired inside a migration's transaction (already rolled back)."""

    def __init__(self, statement: Statement, error: str, blockers: list[Any]) -> None:
        super().__init__(error)
        self.statement = statement
        self.error = error
        self.blockers = blockers


RETRY_FIRST_WAIT = 1.0  # seconds; doubles per retry
RETRY_MAX_WAIT = 30.0


def retry_waits(retries: int) -> list[float]:
    """The backoff before each retry: 1, 2, 4, … seconds, capped at 30."""
    return [min(RETRY_FIRST_WAIT * 2 ** n, RETRY_MAX_WAIT) for n in range(retries)]


def _apply_with_retries(
    settings: Settings, conn: Any, guard: Any, items: list[Item], mf: MigrationFile,
    result: MigrateResult,
) -> None:
    """Apply one migration; when its lock wait times out, roll back, wait, run it again."""
    waits = retry_waits(settings.ddl_lock_retries)
    for attempt in range(len(waits) + 1):
        try:
            _apply_one(settings, conn, guard, items, mf, result)
            return
        except _LockWaitExpired as exc:
            if attempt == len(waits):
                raise _lock_wait_failure(settings, mf, exc, attempt + 1, result) from None
            result.notices.append(
                f"{mf.tag}: waited over ddl_lock_timeout={settings.limits.ddl_lock_timeout:g} s "
                f"for a lock ({_blocked_by(exc.blockers)}); rolled back, retrying in "
                f"{waits[attempt]:g} s"
            )
            time.sleep(waits[attempt])


def _blocked_by(blockers: list[Any]) -> str:
    if not blockers:
        return "the blocking backend had already gone when it was looked up"
    return "blocked by " + "; ".join(b.describe() for b in blockers)


def _lock_wait_failure(
    settings: Settings, mf: MigrationFile, exc: _LockWaitExpired, attempts: int,
    result: MigrateResult,
) -> MigrationFailed:
    timeout = settings.limits.ddl_lock_timeout
    return MigrationFailed(
        tag=mf.tag, file=str(mf.path), line=exc.statement.line,
        statement=exc.statement.sql.strip(),
        error=(f"{exc.error}; gave up after {attempts} attempt(s), each waiting "
               f"ddl_lock_timeout={timeout:g} s for a lock: {_blocked_by(exc.blockers)}. "
               "End or wait for that transaction, then run migrate again (or raise "
               "ddl_lock_timeout / ddl_lock_retries)"),
        result=result,
    )


def _apply_one(
    settings: Settings, conn: Any, guard: Any, items: list[Item], mf: MigrationFile,
    result: MigrateResult,
) -> None:
    """One migration, in the mode its file and the engine call for (DESIGN.md §11)."""
    rt = settings.runtime
    statements = [] if result.baseline else rt.migration_statements(mf)
    mode = file_mode(rt, mf, statements)
    if mode.as_written and not result.baseline:
        _apply_as_written(settings, conn, guard, items, mf, statements, mode, result)
    else:
        _apply_whole_file(settings, conn, guard, items, mf, statements, result)


def _apply_whole_file(
    settings: Settings, conn: Any, guard: Any, items: list[Item], mf: MigrationFile,
    statements: list[Statement], result: MigrateResult,
) -> None:
    """One migration in one transaction with its bookkeeping row; skip if applied meanwhile."""
    rt = settings.runtime
    started = time.perf_counter()
    current: Statement | None = None
    try:
        with rt.migration_transaction(conn, statements, limits=settings.limits, guard=guard):
            # Re-read inside the write transaction: with SQLite's per-migration lock this is
            # what stops two starters from applying the same migration twice.
            records = rt.read_migration_records(conn, settings.table, settings.schema)
            if plan(items, records).items[_index_of(items, mf)].record is not None:
                raise _AlreadyApplied
            for number, current in enumerate(statements, 1):
                rt.execute_statement(conn, current)
                if not rt.in_transaction(conn):  # never expected: control makes it as-written
                    raise _TransactionEnded(number)
            current = None
            rt.record_migration(conn, settings.table, settings.schema, mf.hash, mf.when)
    except _AlreadyApplied:
        result.skipped.append(mf.tag)
        return
    except _TransactionEnded as exc:
        raise _ended_failure(mf, statements, exc.args[0], result) from None
    except CommitCheckFailed as exc:
        raise MigrationFailed(
            tag=mf.tag, file=str(mf.path), line=None, statement=exc.statement,
            error=str(exc), result=result,
        ) from None
    except LeaseLost:
        raise
    except rt.db_errors as exc:
        if current is not None and rt.is_lock_timeout(exc):
            raise _LockWaitExpired(current, rt.describe_db_error(exc),
                                   guard.blockers() if guard is not None else []) from None
        if current is None:
            raise MigrationFailed(
                tag=mf.tag, file=str(mf.path), line=None,
                statement="(bookkeeping row / COMMIT)", error=rt.describe_db_error(exc),
                result=result,
            ) from None
        if rt.is_statement_timeout(exc) and settings.limits.statement_timeout > 0:
            raise MigrationFailed(
                tag=mf.tag, file=str(mf.path), line=rt.error_line(exc, current),
                statement=current.sql.strip(),
                error=(f"{rt.describe_db_error(exc)}: the statement ran longer than "
                       f"statement_timeout={settings.limits.statement_timeout:g} s "
                       "(raise it, or set 0 to turn it off)"),
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


def _apply_as_written(
    settings: Settings, conn: Any, guard: Any, items: list[Item], mf: MigrationFile,
    statements: list[Statement], mode: FileMode, result: MigrateResult,
) -> None:
    """Statements in order, each committing by itself outside the file's own transactions;
    the bookkeeping row only after the last one succeeded (DESIGN.md §11).

    No DDL lock timeout, no statement timeout, no automatic retry here: a CREATE INDEX
    CONCURRENTLY must be able to wait for older transactions, and statements that already
    committed are not ours to repeat. Leftovers of an earlier failed concurrent build
    (INVALID indexes) are dropped first, so that the file's IF NOT EXISTS builds again."""
    from agor_schema.as_written import (
        LEFT_OPEN_NOTE,
        Ledger,
        RollbackOutsideTransaction,
        run_statements,
    )

    rt = settings.runtime
    sent = [s._replace(note=None) for s in statements]  # the file controls everything
    ledger, notes = Ledger(), []
    started = time.perf_counter()

    def failed(line: int | None, statement: str, error: str) -> MigrationFailed:
        return MigrationFailed(
            tag=mf.tag, file=str(mf.path), line=line, statement=statement, error=error,
            result=result, as_written=ledger.report(mode.reason, sent),
        )

    with rt.as_written_session(conn, settings.migrator_lock_timeout):
        try:
            records = rt.read_migration_records(conn, settings.table, settings.schema)
        except rt.db_errors as exc:
            raise failed(None, "(re-reading the bookkeeping table before the file)",
                         rt.describe_db_error(exc)) from None
        if plan(items, records).items[_index_of(items, mf)].record is not None:
            result.skipped.append(mf.tag)  # another migrator ran it meanwhile
            return
        try:
            notes.extend(rt.prepare_as_written(conn, sent))
        except rt.db_errors as exc:
            raise failed(None, "(dropping an INVALID index left by a failed build)",
                         rt.describe_db_error(exc)) from None
        try:
            run_statements(rt, conn, sent, ledger, notes)
        except RollbackOutsideTransaction as exc:
            st = sent[exc.args[0] - 1]
            raise failed(st.line, st.sql.strip(),
                         "ROLLBACK with no open transaction: the statements before it were "
                         "already committed, so nothing can be rolled back") from None
        except rt.db_errors as exc:
            current = sent[ledger.current - 1]
            if rt.in_transaction(conn):
                rt.end_transaction(conn, commit=False)
            ledger.failed()
            raise failed(rt.error_line(exc, current), current.sql.strip(),
                         rt.describe_db_error(exc)) from None
        try:
            if rt.in_transaction(conn):  # the file's last BEGIN was never closed
                rt.record_migration(conn, settings.table, settings.schema, mf.hash, mf.when)
                rt.end_transaction(conn, commit=True)
                ledger.after(len(sent), Statement(sql="COMMIT", line=0, control="commit"),
                             False)
                notes.append(LEFT_OPEN_NOTE)
            else:
                with rt.migration_transaction(conn, [], guard=guard):
                    rt.record_migration(conn, settings.table, settings.schema, mf.hash,
                                        mf.when)
        except rt.db_errors as exc:
            if rt.in_transaction(conn):
                rt.end_transaction(conn, commit=False)
            ledger.failed()
            raise failed(None, "(bookkeeping row)", rt.describe_db_error(exc)) from None
    if ledger.rolled_back:
        numbers = ", ".join(f"{n} (line {sent[n - 1].line})" for n in sorted(ledger.rolled_back))
        notes.append(f"the file's own ROLLBACK undid statement(s) {numbers}: their changes are "
                     "not in the database")
    result.applied.append(AppliedMigration(
        tag=mf.tag, when=mf.when, hash=mf.hash, statements=len(sent),
        seconds=time.perf_counter() - started, mode=mode.mode,
        notes=(f"ran as written: {mode.reason}", *notes),
    ))
