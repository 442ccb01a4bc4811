"""`agorschema undo`: a thin click command over agor_schema.undo.

Exit codes: 0 undone, 1 refused (nothing to undo, a migration applied, the database out of
reach without --force, files changed since), 2 usage or input error. Nothing is changed
unless the whole undo can be done.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click


def database_url(option: str | None) -> str | None:
    """--database, else AGORSCHEMA_DATABASE_URL, else DATABASE_URL; None: the setting."""
    for value in (option, os.environ.get("AGORSCHEMA_DATABASE_URL"),
                  os.environ.get("DATABASE_URL")):
        if value:
            return value
    return None


class _Report:
    """Collects messages and prints them once, as text or as the JSON envelope."""

    def __init__(self, output_format: str) -> None:
        self.json = output_format == "json"
        self.errors: list[dict[str, Any]] = []
        self.warnings: list[dict[str, Any]] = []
        self.result: dict[str, Any] = {}
        self.exit_code = 1  # of a refusal; 2 for an input error

    def finish(self, exit_code: int, done: str = "") -> None:
        if self.json:
            click.echo(json.dumps({
                "ok": exit_code == 0, "command": "undo", "exit_code": exit_code,
                "errors": self.errors, "warnings": self.warnings, "result": self.result,
            }, indent=2))
        else:
            for w in self.warnings:
                click.echo(f"warning: {w['message']}", err=True)
            for e in self.errors:
                click.echo(f"{'error' if exit_code == 2 else 'refused'}: {e['message']}",
                           err=True)
            if done:
                click.echo(done)
            elif exit_code == 1 and self.result.get("migrations"):
                click.echo("nothing was changed", err=True)
        sys.exit(exit_code)


@click.command("undo", short_help="Revert the last compile or new (its unapplied migration).")
@click.option("--database", "database", metavar="URL",
              help="Database that must not have applied the migration; default: "
                   "AGORSCHEMA_DATABASE_URL, DATABASE_URL, then [tool.agorschema] database.")
@click.option("--force", is_flag=True,
              help="Undo although the database cannot be reached, or the files were edited.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output for people (text) or programs (json).")
@click.option("--project", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Project folder holding pyproject.toml (default: nearest one above).")
def undo_command(database: str | None, force: bool, output_format: str,
                 project: Path | None) -> None:
    """Revert the last `compile` or `new` that wrote a migration: delete exactly the files it
    added (in every dialect folder it wrote), restore the journals, generated files and
    checksums as they were, so that `compile` writes the same migration again. Refused
    when the database has applied it, or cannot be reached (unless --force)."""
    from agor_schema.config import ConfigError, load_config
    from agor_schema.undo import NothingToUndo, apply_undo, plan_undo

    report = _Report(output_format)
    try:
        cfg = load_config(project)
    except ConfigError as exc:
        report.errors.append({"message": str(exc)})
        report.finish(2)
        return
    try:
        plan = plan_undo(cfg)
    except NothingToUndo as exc:
        report.errors.append({"message": str(exc)})
        report.finish(1)
        return
    report.result = {**plan.to_json(), "database": None, "applied": [], "undone": False}
    report.warnings += [{"message": m} for m in plan.warnings]
    for message in plan.refusals:
        report.errors.append({"message": message})
    for message in plan.forceable:
        (report.warnings if force else report.errors).append({"message": message})
    if not report.errors:
        _check_database(cfg, plan, database_url(database), force, report)
    if report.errors:
        report.finish(report.exit_code)
        return
    apply_undo(cfg, plan)
    report.result["undone"] = True
    tags = ", ".join(f"{d} {t}" for d, t in sorted(plan.migrations.items()))
    report.finish(0, f"undid `agorschema {plan.command}`: removed {tags} "
                     f"({len(plan.remove)} file(s) removed, {len(plan.restore)} restored)")


def _check_database(cfg: Any, plan: Any, url: str | None, force: bool, report: _Report) -> None:
    """Refuse when the database applied one of the migrations, or cannot be asked."""
    from agor_schema.run_results import ConnectionFailed, RunnerError
    from agor_schema.undo import applied_here

    try:
        shown, applied = applied_here(cfg, plan, url)
    except ConnectionFailed as exc:
        message = (f"cannot reach the database to tell whether it applied "
                   f"{_tags(plan)}: {exc.message}")
        if force:
            report.warnings.append({"message": message + " (--force: undone anyway)"})
        else:
            report.errors.append({"message": message + "; rerun with --force if you know it "
                                  "did not"})
        return
    except RunnerError as exc:  # a bad URL (exit 2), a lock, an unreadable folder
        report.errors.append({"message": exc.message})
        report.exit_code = exc.exit_code
        return
    report.result["database"] = shown
    report.result["applied"] = applied
    for tag in applied:
        report.errors.append({
            "message": f"{shown} has applied {tag}: undo would leave the database with a "
                       "migration its folder no longer has; write a new migration that "
                       "reverts the change instead",
            "migration": tag,
        })


def _tags(plan: Any) -> str:
    return ", ".join(sorted(set(plan.migrations.values()))) or "the migration"
