"""`agorschema undo`: a thin click command over agor_schema.undo.

Exit codes: 0 undone, 1 refused (nothing to undo, a migration applied, the database out of
reach without --force, files changed since), 2 usage or input error. Nothing is changed
unless the whole undo can be done.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from agor_schema.envelope import Report, envelope_command


@envelope_command("undo", short_help="Revert the last compile or new (its unapplied migration).")
@click.option("--database", "database", metavar="URL",
              help="Database that must not have applied the migration; default: "
                   "AGORSCHEMA_DATABASE_URL, DATABASE_URL, then [tool.agorschema] database.")
@click.option("--force", is_flag=True,
              help="Undo although the database cannot be reached, or the files were edited.")
@click.option("--project", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Project folder holding pyproject.toml (default: nearest one above).")
def undo_command(report: Report, database: str | None, force: bool,
                 project: Path | None) -> int:
    """Revert the last `compile` or `new` that wrote a migration: delete exactly the files it
    added (in every dialect folder it wrote), restore the journals, generated files and
    checksums as they were, so that `compile` writes the same migration again. Refused
    when the database has applied it, or cannot be reached (unless --force)."""
    from agor_schema.config import database_url, load_config
    from agor_schema.locking import project_lock

    cfg = load_config(project)  # a ConfigError is an input error (exit 2)
    with project_lock(cfg.root, cfg.migrator_lock_timeout):  # no compile/new in between
        return _undo(report, cfg, database_url(database), force)


def _undo(report: Report, cfg: Any, url: str | None, force: bool) -> int:
    from agor_schema.undo import NothingToUndo, apply_undo, plan_undo

    try:
        plan = plan_undo(cfg)
    except NothingToUndo as exc:
        report.error(str(exc), text=f"refused: {exc}")
        return 1
    report.result = {**plan.to_json(), "database": None, "applied": [], "undone": False}
    for message in plan.warnings:
        report.warn(message)
    for message in plan.refusals:
        report.error(message, text=f"refused: {message}")
    for message in plan.forceable:
        if force:
            report.warn(message)
        else:
            report.error(message, text=f"refused: {message}")
    code = 1 if report.errors else _check_database(cfg, plan, url, force, report)
    if report.errors:
        report.say("nothing was changed", err=True)
        return code
    try:
        apply_undo(cfg, plan)
    except OSError as exc:  # part way: agor_schema.writes put every file back
        name = exc.filename if exc.filename is not None else ""
        report.error(f"cannot read or write {name}: {exc.strerror or exc}; every file was put "
                     "back, nothing was changed", file=None if not name else str(name))
        return 2
    report.result["undone"] = True
    tags = ", ".join(f"{d} {', '.join(plan.tags(d))}" for d in sorted(plan.migrations))
    report.say(f"undid `agorschema {plan.command}`: removed {tags} "
               f"({len(plan.remove)} file(s) removed, {len(plan.restore)} restored)")
    return 0


def _check_database(cfg: Any, plan: Any, url: str | None, force: bool, report: Report) -> int:
    """Refuse when the database applied one of the migrations, or cannot be asked; the exit
    code of a refusal (2 for a bad URL)."""
    from agor_schema.run_results import ConnectionFailed, RunnerError
    from agor_schema.undo import applied_here

    try:
        shown, applied = applied_here(cfg, plan, url)
    except ConnectionFailed as exc:
        message = (f"cannot reach the database to tell whether it applied "
                   f"{_tags(plan)}: {exc.message}")
        if force:
            report.warn(message + " (--force: undone anyway)")
        else:
            message += "; rerun with --force if you know it did not"
            report.error(message, text=f"refused: {message}")
        return 1
    except RunnerError as exc:  # a bad URL (exit 2), a lock, an unreadable folder
        report.error(exc.message)
        return exc.exit_code
    report.result["database"] = shown
    report.result["applied"] = applied
    for tag in applied:
        message = (f"{shown} has applied {tag}: undo would leave the database with a "
                   "migration its folder no longer has; write a new migration that reverts "
                   "the change instead")
        report.error(message, text=f"refused: {message}", migration=tag)
    return 1


def _tags(plan: Any) -> str:
    return ", ".join(sorted({t for d in plan.migrations for t in plan.tags(d)})) or \
        "the migration"
