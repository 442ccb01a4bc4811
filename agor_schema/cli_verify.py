"""`agorschema diff` and `agorschema verify`: thin click commands over introspect / verify.

Exit codes: 0 no drift / everything holds, 1 drift or a mismatch, 2 usage or input error (bad
settings or schema, bad URL, unreachable database). No tracebacks.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

FORMAT = click.option("--format", "output_format", type=click.Choice(["text", "json"]),
                      default="text", show_default=True,
                      help="Output for people (text) or programs (json).")
PROJECT = click.option(
    "--project", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Project folder holding pyproject.toml (default: nearest one above the current folder).")


def _input_errors(func: Callable) -> Callable:
    """Bad settings, schema, URL or connection: a message on stderr and exit code 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from agor_schema.config import ConfigError
        from agor_schema.db import DatabaseURLError, RuntimeDBError
        from agor_schema.errors import SchemaError, SchemaErrors
        from agor_schema.introspect import IntrospectionError

        try:
            return func(*args, **kwargs)
        except (SchemaError, SchemaErrors, ConfigError) as exc:
            for error in getattr(exc, "errors", [exc]):
                click.echo(f"error: {error}", err=True)
            sys.exit(2)
        except (DatabaseURLError, RuntimeDBError, IntrospectionError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper


@click.command("diff", short_help="Compare a live database with the schema (drift).")
@click.option("--database", "database", metavar="URL", default=None,
              help="Database URL (sqlite:///file.db, postgresql://...); default: settings.")
@FORMAT
@PROJECT
@_input_errors
def diff_command(database: str | None, output_format: str, project: Path | None) -> None:
    """Compare the live database at URL with the schema. Prints each difference and the SQL
    that would remove it; exit 0 when there is none, 1 when the database drifted."""
    from agor_schema.config import load_config
    from agor_schema.drift import database_drift

    result = database_drift(load_config(project), database)
    if output_format == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
    elif result.ok:
        click.echo(f"ok: {result.database} matches the {result.dialect} schema (no drift)")
    else:
        click.echo(f"drift: {result.database} differs from the {result.dialect} schema "
                   f"({len(result.drift.changes)} difference(s))")
        for change in result.drift.changes:
            click.echo(f"  - {change.message}")
        click.echo("SQL that would bring the database to the schema:")
        for statement in result.sql:
            click.echo("  " + statement.strip().replace("\n", "\n  "))
    sys.exit(0 if result.ok else 1)


@click.command("verify", short_help="Replay every dialect's history and prove it matches.")
@click.option("--pg-url", "pg_url", metavar="URL", default=None, envvar="AGORSCHEMA_VERIFY_PG_URL",
              help="PostgreSQL server to create a throwaway database on (admin URL); default: "
                   "env AGORSCHEMA_VERIFY_PG_URL. Without one PostgreSQL is skipped.")
@FORMAT
@PROJECT
@_input_errors
def verify_command(pg_url: str | None, output_format: str, project: Path | None) -> None:
    """Replay each dialect's migrations into a throwaway database and prove the result equals
    the current schema, generated/ and the latest snapshot, and that both dialects hold the
    same logical schema (except `only:` items). Exit 0 when all hold, 1 otherwise."""
    from agor_schema.config import load_config
    from agor_schema.verify import FAILED, SKIPPED, verify_project

    result = verify_project(load_config(project), {"postgres": pg_url})
    if output_format == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
        sys.exit(0 if result.ok else 1)
    for report in result.dialects:
        if report.status == SKIPPED:
            click.echo(f"{report.dialect}: skipped ({report.reason})")
            continue
        head = f"{report.dialect}: replayed {len(report.migrations)} migration(s)"
        if report.status == FAILED:
            click.echo(f"{head}: {len(report.mismatches)} mismatch(es)")
            for mismatch in report.mismatches:
                click.echo(f"  - [{mismatch.check}] {mismatch.message}")
        else:
            click.echo(f"{head}: equals {', '.join(report.compared)}")
    if result.parity:
        click.echo(f"parity: {len(result.parity)} mismatch(es)")
        for mismatch in result.parity:
            click.echo(f"  - {mismatch.message}")
    elif result.parity_checked:
        click.echo(f"parity: the dialects hold the same logical schema "
                   f"(checked: {', '.join(result.parity_checked)})")
    click.echo("ok: everything holds" if result.ok else "verify failed")
    sys.exit(0 if result.ok else 1)
