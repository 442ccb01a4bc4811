"""`agorschema import` and `agorschema pull`: thin click commands over importer / adopt.

Exit codes: 0 written (what the DSL cannot say exactly is listed as warnings), 1 refused
(an existing schema without --force), 2 usage or input error (no folder, unreadable journal
or snapshot, bad URL). `--format json` prints one envelope object.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

FORMAT = click.option("--format", "output_format", type=click.Choice(["text", "json"]),
                      default="text", show_default=True,
                      help="Output for people (text) or programs (json).")
PROJECT = click.option(
    "--project", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Project folder holding pyproject.toml (default: nearest one above the current folder).")
OUT = click.option("--out", type=click.Path(path_type=Path), default=None,
                   help="Schema file or folder to write (default: the project's `schema` "
                        "setting).")
FORCE = click.option("--force", is_flag=True, help="Overwrite an existing schema file.")


def _emit(command: str, output_format: str, code: int, *, errors: list[dict] | None = None,
          warnings: list[dict] | None = None, result: dict | None = None,
          lines: list[str] | None = None) -> None:
    """Print the outcome (one JSON envelope, or text) and exit with `code`."""
    errors, warnings = errors or [], warnings or []
    if output_format == "json":
        click.echo(json.dumps({"ok": code == 0, "command": command, "exit_code": code,
                               "errors": errors, "warnings": warnings,
                               "result": result or {}}, indent=2, ensure_ascii=False))
    else:
        for line in lines or []:
            click.echo(line)
        for warning in warnings:
            click.echo(f"warning: {_where(warning)}{warning['message']}")
        for error in errors:
            click.echo(f"error: {_where(error)}{error['message']}", err=True)
    sys.exit(code)


def _where(item: dict) -> str:
    parts = [item.get("dialect"), ".".join(p for p in (item.get("table"), item.get("name"))
                                             if p)]
    text = " ".join(f"[{p}]" if i == 0 else p for i, p in enumerate(parts) if p)
    return f"{text}: " if text else ""


def _failures(command: str, output_format: str, func, *args: Any) -> Any:
    from agor_schema.adopt import Refused
    from agor_schema.config import ConfigError
    from agor_schema.db import DatabaseURLError, RuntimeDBError
    from agor_schema.importer import ImportError_
    from agor_schema.introspect import IntrospectionError

    try:
        return func(*args)
    except Refused as exc:
        _emit(command, output_format, 1, errors=[{"message": f"{exc}; nothing was written"}])
    except (ConfigError, ImportError_, DatabaseURLError, RuntimeDBError,
            IntrospectionError) as exc:
        _emit(command, output_format, 2, errors=[{"message": f"{exc}; nothing was written"}])


@click.command("import", short_help="Take over drizzle-kit folders: write the schema YAML.")
@click.option("--sqlite", "sqlite_dir", type=click.Path(path_type=Path), default=None,
              help="drizzle-kit folder of the SQLite migrations (holds meta/_journal.json).")
@click.option("--postgres", "postgres_dir", type=click.Path(path_type=Path), default=None,
              help="drizzle-kit folder of the PostgreSQL migrations.")
@OUT
@FORCE
@FORMAT
@PROJECT
def import_command(sqlite_dir: Path | None, postgres_dir: Path | None, out: Path | None,
                   force: bool, output_format: str, project: Path | None) -> None:
    """Read the latest snapshot of each drizzle-kit folder and write one schema YAML that
    compiles back to them; the folders stay where they are and become the project's
    migration folders (pyproject.toml [tool.agorschema] is updated)."""
    folders = {d: p for d, p in (("sqlite", sqlite_dir), ("postgres", postgres_dir)) if p}
    if not folders:
        _emit("import", output_format, 2, errors=[{
            "message": "name at least one drizzle-kit folder: --sqlite DIR and/or "
                       "--postgres DIR"}])
    outcome = _failures("import", output_format, _do_import, folders, out, force, project)
    result, target, settings = outcome
    _report("import", output_format, result, target, settings)


def _do_import(folders: dict[str, Path], out: Path | None, force: bool,
               project: Path | None):
    from agor_schema.adopt import (
        check_writable,
        inside,
        settings_lines,
        write_schema,
        write_settings,
    )
    from agor_schema.config import find_project_root, load_config
    from agor_schema.importer import import_snapshots, read_source

    root = find_project_root(project)
    for dialect, folder in folders.items():
        folders[dialect] = inside(root, folder.absolute(), f"--{dialect} folder")
    out = (out.absolute() if out is not None else load_config(root).schema)
    inside(root, out, "--out")
    check_writable(out, force)
    sources = {d: read_source(f, d) for d, f in folders.items()}
    origin = ", ".join(_rel(f, root) for f in folders.values())
    result = import_snapshots(sources, origin=origin)
    target = write_schema(out, result.text)
    settings = write_settings(root, settings_lines(root, out, folders))
    return result, target, settings


@click.command("pull", short_help="Write the schema YAML from a live database.")
@click.option("--database", "database", metavar="URL", required=True,
              help="Database URL (sqlite:///file.db, postgresql://...).")
@OUT
@FORCE
@FORMAT
@PROJECT
def pull_command(database: str, out: Path | None, force: bool, output_format: str,
                 project: Path | None) -> None:
    """Read a live SQLite or PostgreSQL database's tables and write the schema YAML that
    compiles to the same catalog (what cannot be expressed is listed as warnings)."""
    result, target = _failures("pull", output_format, _do_pull, database, out, force, project)
    _report("pull", output_format, result, target, None)


def _do_pull(url: str, out: Path | None, force: bool, project: Path | None):
    from agor_schema.adopt import check_writable, inside, write_schema
    from agor_schema.config import find_project_root, load_config
    from agor_schema.importer import import_snapshots, pull_source

    root = find_project_root(project)
    out = (out.absolute() if out is not None else load_config(root).schema)
    inside(root, out, "--out")
    check_writable(out, force)
    source = pull_source(url)
    result = import_snapshots({source.dialect: source}, origin=source.label, command="pull")
    return result, write_schema(out, result.text)


def _report(command: str, output_format: str, result, target: Path,
            settings: Path | None) -> None:
    root = target.parent
    lines = [f"{d}: {len(s.snapshot.tables)} table(s) from {s.label}"
             for d, s in result.sources.items()]
    lines.append(f"wrote {target}")
    if settings is not None:
        lines.append(f"updated {settings} [tool.agorschema] (schema, dialects, "
                     "migration_folders)")
    if result.exact:
        lines.append("ok: the schema compiles back to exactly what was read")
    else:
        lines.append(f"{len(result.report)} thing(s) the schema cannot say exactly (below); "
                     "review them before `agorschema compile`")
    payload = {**result.to_json(), "written": [str(target)]
               + ([str(settings)] if settings else [])}
    del root
    _emit(command, output_format, 0, warnings=[r.to_json() for r in result.report],
          result=payload, lines=lines)


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
