"""`agorschema migrate` and `agorschema status`: thin click commands over agor_schema.runner.

Exit codes: 0 done, 1 a migration failed or was refused (or the database could not be
reached / locked), 2 usage or input error. No tracebacks. The runner is imported inside
the commands so that `agorschema --help` stays fast and never loads a database driver.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import click

FORMAT = click.Choice(["text", "json"])
PROJECT = click.option(
    "--project", type=click.Path(file_okay=False), default=None,
    help="Folder whose pyproject.toml holds the settings (default: nearest above cwd).",
)


def _fail(exc: Any, fmt: str) -> None:
    """Report a RunnerError in the chosen format and exit with its code."""
    if fmt == "json":
        payload = {
            "ok": False,
            "error": exc.to_dict(),
            "result": exc.result.to_dict() if exc.result is not None else None,
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        result = exc.result
        if result is not None:
            _echo_applied(result)
        click.echo(f"error: {exc.message}", err=True)
    raise SystemExit(exc.exit_code)


def _echo_applied(result: Any) -> None:
    for m in result.applied:
        click.echo(f"applied {m.tag} ({m.statements} statements, {m.seconds * 1000:.1f} ms)")
        for note in m.notes:
            click.echo(f"  {note}")
    for tag in result.baselined:
        click.echo(f"recorded {tag} as applied (baseline: its SQL was not run)")
    for tag in result.accepted:
        click.echo(f"accepted the edited file of {tag}: its recorded hash was updated")


def _echo_warnings(problems: list[Any]) -> None:
    for p in problems:
        click.echo(f"warning: [{p.kind}] {p.message}", err=True)


def _when(ms: int | None) -> str:
    if ms is None:
        return "-"
    try:
        moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return str(ms)


@click.command("migrate", short_help="Apply pending migrations safely, one transaction each.")
@click.option("--database", "database", metavar="URL",
              help="Database URL (sqlite:///file.db, postgresql://...); default: from settings.")
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
@click.option("--lock-timeout", type=float, metavar="SECONDS",
              help="Seconds to wait for another migrate run's lock; default: [tool.agorschema].")
@click.option("--format", "fmt", type=FORMAT, default="text", show_default=True,
              help="Output format.")
@PROJECT
def migrate_command(
    database: str | None, migrations: str | None, dry_run: bool, baseline: bool,
    allow_out_of_order: bool, allow_changed: bool, lock_timeout: float | None, fmt: str,
    project: str | None,
) -> None:
    """Apply pending migrations, each in its own transaction, under a lock."""
    from agor_schema.runner import RunnerError, migrate

    try:
        result = migrate(
            database, migrations, dry_run=dry_run, baseline=baseline,
            allow_out_of_order=allow_out_of_order, allow_changed=allow_changed,
            lock_timeout=lock_timeout, project=project or ".",
        )
    except RunnerError as exc:
        _fail(exc, fmt)
        return
    if fmt == "json":
        click.echo(json.dumps({"ok": True, **result.to_dict()}, indent=2))
        return
    _echo_warnings(result.warnings)
    if dry_run:
        for m in result.planned:
            click.echo(f"-- {m.tag}.sql (when {m.when}, sha256 {m.hash})")
            click.echo(m.sql)
            click.echo("")
        for tag in result.accepted:
            click.echo(f"-- would record the current hash of the edited {tag}.sql")
        verb = "recorded as applied" if baseline else "applied"
        click.echo(f"dry run: {len(result.planned)} migration(s) would be {verb} to "
                   f"{result.database}; nothing was changed")
        return
    _echo_applied(result)
    done = len(result.applied) + len(result.baselined)
    if done == 0 and result.accepted:
        click.echo(f"no migration to apply ({result.database})")
    elif done == 0:
        click.echo(f"up to date: {len(result.skipped)} migration(s) already applied "
                   f"({result.database})")
    else:
        verb = "recorded" if baseline else "applied"
        click.echo(f"{verb} {done} migration(s) to {result.database} in {result.seconds:.2f} s; "
                   f"{len(result.skipped)} already applied")


@click.command("status", short_help="Show applied and pending migrations and any problems.")
@click.option("--database", "database", metavar="URL",
              help="Database URL (sqlite:///file.db, postgresql://...); default: from settings.")
@click.option("--migrations", "migrations", metavar="DIR", type=click.Path(file_okay=False),
              help="drizzle migrations folder; default: <migrations>/<dialect of the URL>.")
@click.option("--format", "fmt", type=FORMAT, default="text", show_default=True,
              help="Output format.")
@PROJECT
def status_command(
    database: str | None, migrations: str | None, fmt: str, project: str | None
) -> None:
    """Show which migrations are applied or pending, and any problems (read-only)."""
    from agor_schema.runner import RunnerError, status

    try:
        result = status(database, migrations, project=project or ".")
    except RunnerError as exc:
        _fail(exc, fmt)
        return
    if fmt == "json":
        click.echo(json.dumps({"ok": True, **result.to_dict()}, indent=2))
        return
    click.echo(f"database:   {result.database} ({result.dialect})")
    click.echo(f"migrations: {result.migrations_dir}")
    width = max([len(m.tag) for m in result.migrations] + [3])
    click.echo(f"  {'tag'.ljust(width)}  {'state'.ljust(12)}  recorded created_at (journal when)")
    for m in result.migrations:
        click.echo(f"  {m.tag.ljust(width)}  {m.state.ljust(12)}  {_when(m.recorded_created_at)}")
    for rec in result.unknown_records:
        label = "(unknown)".ljust(width)
        click.echo(f"  {label}  {'not in folder'.ljust(12)}  {_when(rec.created_at)}")
    click.echo(f"{len(result.applied)} applied, {len(result.pending)} pending")
    for p in result.problems:
        click.echo(f"{'problem' if p.blocking else 'note'}: [{p.kind}] {p.message}")
