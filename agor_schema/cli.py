"""The `agorschema` command line: parse, call one pipeline function, print, exit.

Exit codes: 0 success / clean, 1 stale, inconsistent or refused (destructive change, failed
migration), 2 usage or input error. Heavy libraries are imported inside commands only, so
`--help` and `check` start fast.
"""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from agor_schema import __version__

FORMAT_OPTION = click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text",
    show_default=True, help="Output for people (text) or programs (json).",
)
PROJECT_OPTION = click.option(
    "--project", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Project folder holding pyproject.toml (default: nearest one above the current folder).",
)


def input_errors(func: Callable) -> Callable:
    """Turn input errors into a message on stderr and exit code 2, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from agor_schema.config import ConfigError
        from agor_schema.errors import SchemaError, SchemaErrors

        try:
            return func(*args, **kwargs)
        except (SchemaError, SchemaErrors, ConfigError) as exc:
            errors = getattr(exc, "errors", [exc])
            for error in errors:
                click.echo(f"error: {error}", err=True)
            if len(errors) > 1:
                click.echo(f"{len(errors)} errors; nothing was written", err=True)
            else:
                click.echo("nothing was written", err=True)
            sys.exit(2)

    return wrapper


def _config(project: Path | None):
    from agor_schema.config import load_config

    return load_config(project)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="agorschema")
def main() -> None:
    """One YAML schema → SQLite and PostgreSQL DDL, drizzle-kit compatible migrations,
    and a safe runner. Settings come from [tool.agorschema] in pyproject.toml."""
    # A short-lived process that builds many long-lived objects (models, snapshots): the
    # cyclic GC would only re-scan them, so collect far less often.
    gc.set_threshold(100_000, 50, 100)


@main.command("compile", short_help="Validate the schema; write generated/ and new migrations.")
@click.option("--name", default=None, help="Slug of the new migration (default: derived from the change).")
@click.option("--allow-destructive", is_flag=True, help="Write migrations that drop tables, columns or data.")
@FORMAT_OPTION
@PROJECT_OPTION
@input_errors
def compile_command(name: str | None, allow_destructive: bool, output_format: str,
                    project: Path | None) -> None:
    """Validate the schema, rewrite generated/ and write the next migration per dialect."""
    from agor_schema.compiler import DestructiveChange, InconsistentFolder, compile_project

    cfg = _config(project)
    try:
        result = compile_project(cfg, name=name, allow_destructive=allow_destructive)
    except InconsistentFolder as exc:
        _inconsistent(exc, output_format)
    except DestructiveChange as exc:
        if output_format == "json":
            click.echo(json.dumps({"changed": False, "refused": True,
                                   "findings": [f.to_json() for f in exc.findings],
                                   "hints": [h.to_json() for h in exc.hints]}, indent=2))
        else:
            for finding in exc.findings:
                click.echo(f"refused: {finding}", err=True)
            for hint in exc.hints:
                click.echo(str(hint), err=True)
            click.echo("destructive changes: nothing was written; rerun with --allow-destructive "
                       "if the data loss is intended", err=True)
        sys.exit(1)
    if output_format == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    for note in result.notes:
        click.echo(f"note: {note}")
    for finding in result.findings:
        click.echo(str(finding))
    for hint in result.hints:
        click.echo(str(hint))
    for dialect, out in result.outputs.items():
        if out.migration is not None:
            click.echo(f"{dialect}: wrote {out.migration.tag} ({len(out.operations)} change(s))")
        else:
            click.echo(f"{dialect}: no schema change")
    for path in result.written:
        click.echo(f"  {_short(path, cfg.root)}")


@main.command("new", short_help="Add a custom (hand-written SQL) migration to every dialect.")
@click.argument("name")
@PROJECT_OPTION
@input_errors
def new_command(name: str, project: Path | None) -> None:
    """Add a custom migration NAME to every dialect folder for hand-written SQL (backfills)."""
    from agor_schema.compiler import InconsistentFolder, compile_project

    cfg = _config(project)
    try:
        result = compile_project(cfg, name=name, custom=True)
    except InconsistentFolder as exc:
        _inconsistent(exc, "text")
    for dialect, out in result.outputs.items():
        click.echo(f"{dialect}: wrote {out.migration.tag}.sql: write its SQL, then commit")


@main.command("check", short_help="Fail when schema, generated files and migrations disagree.")
@FORMAT_OPTION
@PROJECT_OPTION
@input_errors
def check_command(output_format: str, project: Path | None) -> None:
    """Fail (exit 1) when schema, generated/, snapshots, journals or migrations disagree."""
    from agor_schema.check import check_project

    result = check_project(_config(project))
    if output_format == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        for problem in result.problems:
            click.echo(f"stale: {problem}", err=True)
        for note in result.notes:
            click.echo(f"note: {note}")
        if result.ok:
            click.echo("ok: schema, generated files and migrations agree")
    sys.exit(0 if result.ok else 1)


def _inconsistent(exc: Any, output_format: str) -> None:
    """compile/new on folders `check` finds inconsistent: say what check says, exit 1."""
    if output_format == "json":
        click.echo(json.dumps({"changed": False, "refused": True, "problems": exc.problems},
                              indent=2))
    else:
        for problem in exc.problems:
            click.echo(f"stale: {problem}", err=True)
        click.echo("the migration folders are inconsistent (as `agorschema check` reports): "
                   "nothing was written; fix them first (`agorschema undo` reverts the last "
                   "compile or new)", err=True)
    sys.exit(1)


def _short(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _register_runner_commands() -> None:
    try:
        from agor_schema.cli_runner import migrate_command, status_command
    except ImportError:  # the runner commands are optional while being built
        return
    main.add_command(migrate_command, "migrate")
    main.add_command(status_command, "status")
    from agor_schema.cli_verify import diff_command, verify_command

    main.add_command(diff_command, "diff")
    main.add_command(verify_command, "verify")


_register_runner_commands()


def _register_undo() -> None:
    from agor_schema.cli_undo import undo_command

    main.add_command(undo_command, "undo")


_register_undo()
