"""The `agorschema` command line: parse, call one pipeline function, print, exit.

Exit codes: 0 success / clean, 1 stale, inconsistent or refused (destructive change, failed
migration), 2 usage or input error. Heavy libraries are imported inside commands only, so
`--help` and `check` start fast.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import click

from agor_schema.envelope import EnvelopeGroup, Report, envelope_command
from agor_schema.envelope import problem as entry
from agor_schema.version import __version__

PROJECT_OPTION = click.option(
    "--project", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Project folder holding pyproject.toml (default: nearest one above the current folder).",
)


def _config(project: Path | None):
    from agor_schema.config import load_config

    return load_config(project)


def _slug(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A migration name becomes part of a file name: a slug, checked before anything runs."""
    from agor_schema.migrations import slug_problem

    if value is not None and slug_problem(value):
        raise click.BadParameter(slug_problem(value), ctx=ctx, param=param)
    return value


@click.group(cls=EnvelopeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="agorschema")
def main() -> None:
    """One YAML schema → SQLite and PostgreSQL DDL, drizzle-kit compatible migrations,
    and a safe runner. Settings come from [tool.agorschema] in pyproject.toml."""
    # A short-lived process that builds many long-lived objects (models, snapshots): the
    # cyclic GC would only re-scan them, so collect far less often.
    gc.set_threshold(100_000, 50, 100)


def _compiling() -> None:
    """The compile pipeline makes no cyclic garbage worth collecting (peak memory at 1000
    tables is the same without the cyclic GC) while every collection re-scans its
    long-lived objects (~7% of a compile): switch the cyclic GC off for its process."""
    gc.disable()
    _no_pydantic_plugins()


PYDANTIC_PLUGIN_LOADER = "pydantic.plugin._loader"


def _no_pydantic_plugins() -> None:
    """The DSL's pydantic models are agorschema's own: no pydantic plugin (an observability
    hook found through installed packages' entry points) is meant to see them. Looking
    plugins up imports importlib.metadata (zipfile, email, shutil, ...) and reads the
    metadata of every installed distribution: ~80 M instructions, 7% of a compile at 100
    tables. In the command's process (an app importing agor_schema as a library keeps its
    plugins) pydantic's loader is replaced by one that finds none, as
    PYDANTIC_DISABLE_PLUGINS=__all__ would, without that import. Any other name pydantic
    asks the loader for comes from the real module."""
    import sys
    import types

    if PYDANTIC_PLUGIN_LOADER in sys.modules:  # too late: a validator may have been built
        return
    loader = types.ModuleType(PYDANTIC_PLUGIN_LOADER, _no_pydantic_plugins.__doc__)
    loader.get_plugins = lambda: ()  # type: ignore[attr-defined]
    loader.__getattr__ = _real_plugin_loader_attribute  # type: ignore[attr-defined]
    sys.modules[PYDANTIC_PLUGIN_LOADER] = loader


def _real_plugin_loader_attribute(name: str) -> Any:
    """`name` from pydantic's real plugin loader, loaded apart from sys.modules."""
    if name.startswith("__"):  # the import system probing (__path__, ...): a plain module
        raise AttributeError(name)
    import importlib.machinery
    import importlib.util

    import pydantic.plugin

    spec = importlib.machinery.PathFinder.find_spec(PYDANTIC_PLUGIN_LOADER,
                                                    list(pydantic.plugin.__path__))
    if spec is None or spec.loader is None:
        raise AttributeError(name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


@envelope_command("compile", short_help="Validate the schema; write generated/ and new migrations.")
@click.option("--name", default=None, callback=_slug,
              help="Slug of the new migration: letters, digits, _ and -, at most 64 "
                   "(default: derived from the change).")
@click.option("--allow-destructive", is_flag=True, help="Write migrations that drop tables, columns or data.")
@PROJECT_OPTION
def compile_command(report: Report, name: str | None, allow_destructive: bool,
                    project: Path | None) -> int:
    """Validate the schema, rewrite generated/ and write the next migration per dialect."""
    _compiling()
    from agor_schema.compiler import DestructiveChange, InconsistentFolder, compile_project
    from agor_schema.locking import project_lock

    cfg = _config(project)
    try:
        with project_lock(cfg.root, cfg.migrator_lock_timeout):
            result = compile_project(cfg, name=name, allow_destructive=allow_destructive)
    except InconsistentFolder as exc:
        return _inconsistent(report, exc)
    except DestructiveChange as exc:
        report.result = {"changed": False, "refused": True,
                         "findings": [f.to_json() for f in exc.findings],
                         "hints": [h.to_json() for h in exc.hints]}
        for finding in exc.findings:
            report.error(finding.message, text=f"refused: {finding}", dialect=finding.dialect,
                         table=finding.table, column=finding.column)
        for hint in exc.hints:
            _hint_warning(report, hint)
            report.say(str(hint), err=True)
        report.say("destructive changes: nothing was written; rerun with --allow-destructive "
                   "if the data loss is intended", err=True)
        return 1
    report.result = result.to_json()
    for note in result.notes:
        report.say(f"note: {note}")
    for finding in result.findings:
        report.warnings.append(entry(finding.message, dialect=finding.dialect,
                                     table=finding.table, column=finding.column))
        report.say(str(finding))
    for hint in result.hints:
        _hint_warning(report, hint)
        report.say(str(hint))
    for dialect, out in result.outputs.items():
        if out.migration is not None:
            report.say(f"{dialect}: wrote {out.migration.tag} ({len(out.operations)} change(s))")
            for more in out.more_migrations:
                report.say(f"{dialect}: wrote {more.tag} (runs outside a transaction)")
        else:
            report.say(f"{dialect}: no schema change")
    for path in result.written:
        report.say(f"  {_short(path, cfg.root)}")
    return 0


@envelope_command("new", short_help="Add a custom (hand-written SQL) migration to every dialect.")
@click.argument("name", callback=_slug)
@PROJECT_OPTION
def new_command(report: Report, name: str, project: Path | None) -> int:
    """Add a custom migration NAME to every dialect folder for hand-written SQL (backfills)."""
    _compiling()
    from agor_schema.compiler import InconsistentFolder, compile_project
    from agor_schema.locking import project_lock

    cfg = _config(project)
    try:
        with project_lock(cfg.root, cfg.migrator_lock_timeout):
            result = compile_project(cfg, name=name, custom=True)
    except InconsistentFolder as exc:
        return _inconsistent(report, exc)
    report.result = result.to_json()
    for dialect, out in result.outputs.items():
        report.say(f"{dialect}: wrote {out.migration.tag}.sql: write its SQL, then commit")
    return 0


@envelope_command("check", short_help="Fail when schema, generated files and migrations disagree.")
@PROJECT_OPTION
def check_command(report: Report, project: Path | None) -> int:
    """Fail (exit 1) when schema, generated/, snapshots, journals or migrations disagree."""
    _compiling()  # check compiles in memory when a file's meaning may have changed
    from agor_schema.check import check_project

    result = check_project(_config(project))
    report.result = result.to_json()
    for problem in result.problems:
        report.error(problem, text=f"stale: {problem}")
    for note in result.notes:
        report.say(f"note: {note}")
    for warning in result.warnings:
        report.warn(warning)
    if result.ok:
        report.say("ok: schema, generated files and migrations agree")
    return 0 if result.ok else 1


def _hint_warning(report: Report, hint: Any) -> None:
    """A rename hint as an envelope warning, located at the new element."""
    where = {k: v for k, v in hint.to_json().items()
             if k in ("file", "line", "col", "table", "column") and v is not None}
    report.warnings.append({"message": str(hint), **where})


def _inconsistent(report: Report, exc: Any) -> int:
    """compile/new on folders `check` finds inconsistent: say what check says, exit 1."""
    report.result = {"changed": False, "refused": True, "problems": exc.problems}
    for problem in exc.problems:
        report.error(problem, text=f"stale: {problem}")
    report.say("the migration folders are inconsistent (as `agorschema check` reports): "
               "nothing was written; fix them first (`agorschema undo` reverts the last "
               "compile or new)", err=True)
    return 1


def _short(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


@envelope_command("init", short_help="Start a project: settings, a starter schema, .gitignore.")
@click.option("--project", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to initialize (default: the current folder).")
def init_command(report: Report, project: Path | None) -> int:
    """Add [tool.agorschema] to pyproject.toml (or create one), a schema/ folder with a
    starter file, and .gitignore entries for the cache, the lock file and the default
    database; print the pre-commit hook to add. Running it again changes nothing."""
    from agor_schema.locking import project_lock
    from agor_schema.scaffold import PRE_COMMIT, init_project

    root = (project or Path.cwd()).resolve()
    if not root.is_dir():
        report.error(f"{root} is not a folder", file=str(root))
        return 2
    with project_lock(root):
        result = init_project(root)
    report.result = result.to_json()
    for path in result.created:
        report.say(f"created {path}")
    for path in result.updated:
        report.say(f"updated {path}")
    if not result.changed:
        report.say(f"already initialized: {root} (nothing changed)")
    report.say("")
    report.say("Next: edit the schema, then `agorschema compile` and `agorschema migrate`.")
    report.say("Add the guard to .pre-commit-config.yaml (https://pre-commit.com):")
    report.say("")
    report.say(PRE_COMMIT.rstrip("\n"))
    return 0


for _command in (init_command, compile_command, new_command, check_command):
    main.add_command(_command)


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
    from agor_schema.cli_import import import_command, pull_command

    main.add_command(import_command, "import")
    main.add_command(pull_command, "pull")


_register_runner_commands()


def _register_undo() -> None:
    from agor_schema.cli_undo import undo_command

    main.add_command(undo_command, "undo")


_register_undo()
