"""`agorschema migrate` and `agorschema status`: thin click commands over agor_schema.runner.

Exit codes: 0 done, 1 a migration failed or was refused (or the database could not be
reached / locked), 2 usage or input error. No tracebacks. The runner is imported inside
the commands so that `agorschema --help` stays fast and never loads a database driver.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import click

from agor_schema.envelope import Report, envelope_command

PROJECT = click.option(
    "--project", type=click.Path(file_okay=False), default=None,
    help="Folder whose pyproject.toml holds the settings (default: nearest above cwd).",
)


def _echo_applied(report: Report, result: Any) -> None:
    for m in result.applied:
        if not report.show_progress:  # else its progress line said it already
            report.say(f"applied {m.tag} ({m.statements} statements, {m.seconds * 1000:.1f} ms)")
        for note in m.notes:
            report.say(f"  {m.tag}: {note}" if report.show_progress else f"  {note}")
    for tag in result.baselined:
        report.say(f"recorded {tag} as applied (baseline: its SQL was not run)")
    for tag in result.accepted:
        report.say(f"accepted the edited file of {tag}: its recorded hash was updated")


def _warnings(report: Report, problems: list[Any]) -> None:
    for p in problems:
        report.warn(f"[{p.kind}] {p.message}", migration=p.tag)


def _when(ms: int | None) -> str:
    if ms is None:
        return "-"
    try:
        moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return str(ms)


def _progress(report: Report) -> Any:
    """One stderr line as each migration starts and one when it ends, with its time."""

    def show(event: str, tag: str, seconds: float | None) -> None:
        if event == "start":
            report.progress(f"applying {tag} ...")
        elif event == "end":
            report.progress(f"applied {tag} in {seconds or 0:.2f} s")
        else:
            report.progress(f"{tag} was applied meanwhile by another run")

    return show


def _failed(report: Report, exc: Any) -> int:
    """A RunnerError: what was done before it (text), then the error; its exit code."""
    if exc.result is not None:
        report.result = exc.result.to_dict()
        for note in getattr(exc.result, "notices", ()):
            report.warn(note)
        _echo_applied(report, exc.result)
    from agor_schema.envelope import handle_exception

    return handle_exception(report, exc) or 1


@envelope_command("migrate", short_help="Apply pending migrations safely, one transaction each.")
@click.option("--database", "database", metavar="URL",
              help="Database URL (sqlite:///file.db, postgresql://...); default: "
                   "AGORSCHEMA_DATABASE_URL, DATABASE_URL, then [tool.agorschema] database.")
@click.option("--migrations", "migrations", metavar="DIR", type=click.Path(file_okay=False),
              help="drizzle migrations folder; default: <migrations>/<dialect of the URL>.")
@click.option("--dry-run", is_flag=True,
              help="Print the SQL each pending migration would run; change nothing.")
@click.option("--baseline", is_flag=True,
              help="Record pending migrations as applied without running their SQL.")
@click.option("--allow-out-of-order", is_flag=True,
              help="Apply unapplied migrations that sort before already-applied ones.")
@click.option("--allow-changed", is_flag=True,
              help="Accept edited applied migrations: record their files' current hash.")
@click.option("--ddl-lock-timeout", type=float, metavar="SECONDS",
              help="Longest wait for a table lock inside a migration before it is rolled back "
                   "and retried (PostgreSQL lock_timeout; 0 = off; default 5).")
@click.option("--ddl-lock-retries", type=int, metavar="N",
              help="Retries after a DDL lock wait timed out (waits 1, 2, 4… s; default 5).")
@click.option("--statement-timeout", type=float, metavar="SECONDS",
              help="Longest run of one statement in a migration (0 = off, the default).")
@click.option("--migrator-lock-timeout", type=float, metavar="SECONDS",
              help="Seconds to wait for another migrate run to finish (default 60).")
@click.option("--migrator-lock", type=click.Choice(["auto", "session", "lease", "table"]),
              help="How concurrent migrators are kept apart (PostgreSQL: session advisory lock "
                   "or lease row; auto = lease when the URL looks pooled).")
@click.option("--lock-timeout", type=float, metavar="SECONDS", hidden=True,
              help="Deprecated name of --migrator-lock-timeout.")
@PROJECT
def migrate_command(
    report: Report, database: str | None, migrations: str | None, dry_run: bool, baseline: bool,
    allow_out_of_order: bool, allow_changed: bool, ddl_lock_timeout: float | None,
    ddl_lock_retries: int | None, statement_timeout: float | None,
    migrator_lock_timeout: float | None, migrator_lock: str | None,
    lock_timeout: float | None, project: str | None,
) -> int:
    """Apply pending migrations, each in its own transaction, under a lock."""
    from agor_schema.config import database_url
    from agor_schema.runner import RunnerError, migrate

    try:
        result = migrate(
            database_url(database), migrations, dry_run=dry_run, baseline=baseline,
            allow_out_of_order=allow_out_of_order, allow_changed=allow_changed,
            lock_timeout=lock_timeout, project=project or ".",
            ddl_lock_timeout=ddl_lock_timeout, ddl_lock_retries=ddl_lock_retries,
            statement_timeout=statement_timeout, migrator_lock=migrator_lock,
            migrator_lock_timeout=migrator_lock_timeout,
            progress=_progress(report) if report.show_progress else None,
        )
    except RunnerError as exc:
        return _failed(report, exc)
    report.result = result.to_dict()
    _warnings(report, result.warnings)
    for note in result.notices:
        report.warn(note)
    if dry_run:
        for m in result.planned:
            report.say(f"-- {m.tag}.sql (when {m.when}, sha256 {m.hash})")
            report.say(m.sql)
            report.say("")
        for tag in result.accepted:
            report.say(f"-- would record the current hash of the edited {tag}.sql")
        verb = "recorded as applied" if baseline else "applied"
        report.say(f"dry run: {len(result.planned)} migration(s) would be {verb} to "
                   f"{result.database}; nothing was changed")
        return 0
    _echo_applied(report, result)
    done = len(result.applied) + len(result.baselined)
    if done == 0 and result.accepted:
        report.say(f"no migration to apply ({result.database})")
    elif done == 0:
        report.say(f"up to date: {len(result.skipped)} migration(s) already applied "
                   f"({result.database})")
    else:
        verb = "recorded" if baseline else "applied"
        report.say(f"{verb} {done} migration(s) to {result.database} in {result.seconds:.2f} s; "
                   f"{len(result.skipped)} already applied")
    return 0


@envelope_command("status", short_help="Show applied and pending migrations and any problems.")
@click.option("--database", "database", metavar="URL",
              help="Database URL (sqlite:///file.db, postgresql://...); default: "
                   "AGORSCHEMA_DATABASE_URL, DATABASE_URL, then [tool.agorschema] database.")
@click.option("--migrations", "migrations", metavar="DIR", type=click.Path(file_okay=False),
              help="drizzle migrations folder; default: <migrations>/<dialect of the URL>.")
@click.option("--exit-code", "exit_code", is_flag=True,
              help="Exit 1 when a migration is pending or anything is wrong (for scripts).")
@PROJECT
def status_command(
    report: Report, database: str | None, migrations: str | None, exit_code: bool,
    project: str | None,
) -> int:
    """Show which migrations are applied or pending, and any problems (read-only)."""
    from agor_schema.config import database_url
    from agor_schema.runner import RunnerError, status

    try:
        result = status(database_url(database), migrations, project=project or ".")
    except RunnerError as exc:
        return _failed(report, exc)
    report.result = result.to_dict()
    for p in result.problems:
        report.warnings.append({"message": f"[{p.kind}] {p.message}",
                                **({"migration": p.tag} if p.tag else {})})
    report.say(f"database:   {result.database} ({result.dialect})")
    report.say(f"migrations: {result.migrations_dir}")
    width = max([len(m.tag) for m in result.migrations] + [3])
    report.say(f"  {'tag'.ljust(width)}  {'state'.ljust(12)}  recorded created_at (journal when)")
    for m in result.migrations:
        report.say(f"  {m.tag.ljust(width)}  {m.state.ljust(12)}  {_when(m.recorded_created_at)}")
    for rec in result.unknown_records:
        label = "(unknown)".ljust(width)
        report.say(f"  {label}  {'not in folder'.ljust(12)}  {_when(rec.created_at)}")
    report.say(f"{len(result.applied)} applied, {len(result.pending)} pending")
    for p in result.problems:
        report.say(f"{'problem' if p.blocking else 'warning'}: [{p.kind}] {p.message}")
    if exit_code and (result.pending or result.problems):
        report.errors.append({"message": f"{len(result.pending)} pending migration(s), "
                                         f"{len(result.problems)} problem(s)"})
        return 1
    return 0
