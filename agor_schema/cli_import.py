"""`agorschema import` and `agorschema pull`: thin click commands over importer / adopt.

Exit codes: 0 written (what the DSL cannot say exactly is listed as warnings), 1 refused (an
existing schema without --force), 2 usage or input error (no folder, unreadable journal or
snapshot, bad URL, a folder outside the project); nothing is written unless the exit code
is 0. `--format json` prints the one JSON envelope.
"""

from __future__ import annotations

from pathlib import Path

import click

from agor_schema.envelope import Report, envelope_command, problem

PROJECT = click.option(
    "--project", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Project folder holding pyproject.toml (default: nearest one above the current folder).")
OUT = click.option("--out", type=click.Path(path_type=Path), default=None,
                   help="Schema file (.yaml) or folder to write (default: the project's "
                        "`schema` setting).")
FORCE = click.option("--force", is_flag=True, help="Overwrite an existing schema file.")


@envelope_command("import", short_help="Take over drizzle-kit folders: write the schema YAML.")
@click.option("--sqlite", "sqlite_dir", type=click.Path(path_type=Path), default=None,
              help="drizzle-kit folder of the SQLite migrations (holds meta/_journal.json).")
@click.option("--postgres", "postgres_dir", type=click.Path(path_type=Path), default=None,
              help="drizzle-kit folder of the PostgreSQL migrations.")
@OUT
@FORCE
@PROJECT
def import_command(report: Report, sqlite_dir: Path | None, postgres_dir: Path | None,
                   out: Path | None, force: bool, project: Path | None) -> int:
    """Read the latest snapshot of each drizzle-kit folder and write one schema YAML that
    compiles back to them; the folders stay where they are and become the project's
    migration folders (pyproject.toml [tool.agorschema] is updated)."""
    folders = {d: p for d, p in (("sqlite", sqlite_dir), ("postgres", postgres_dir)) if p}
    if not folders:
        report.error("name at least one drizzle-kit folder: --sqlite DIR and/or --postgres DIR")
        return 2
    return _write_schema(report, lambda: _do_import(folders, out, force, project), settings=True)


def _write_schema(report: Report, work, settings: bool) -> int:
    """Run import or pull's `work` (-> result, written files) and report it: exit 1 when an
    existing schema refuses the write, 2 for unreadable input, 0 when written."""
    from agor_schema.adopt import Refused
    from agor_schema.importer import ImportError_

    try:
        result, written = work()
    except Refused as exc:
        report.error(f"{exc}; nothing was written")
        return 1
    except ImportError_ as exc:
        report.error(f"{exc}; nothing was written")
        return 2
    except OSError as exc:  # a write failed part way: agor_schema.writes put everything back
        report.error(_cannot_write(exc, "nothing was written"),
                     file=None if exc.filename is None else str(exc.filename))
        return 2
    _report(report, result, written, settings=settings)
    return 0


def _do_import(folders: dict[str, Path], out: Path | None, force: bool,
               project: Path | None):
    from agor_schema.adopt import adopt_files, check_writable, inside, settings_lines
    from agor_schema.config import find_project_root, load_config
    from agor_schema.importer import import_snapshots, read_source
    from agor_schema.locking import project_lock

    root = find_project_root(project)
    for dialect, folder in folders.items():
        folders[dialect] = inside(root, folder.absolute(), f"--{dialect} folder")
    out = out.absolute() if out is not None else load_config(root).schema
    inside(root, out, "--out")
    check_writable(root, out, force)
    sources = {d: read_source(f, d) for d, f in folders.items()}
    origin = ", ".join(_rel(f, root) for f in folders.values())
    result = import_snapshots(sources, origin=origin)
    with project_lock(root):  # no compile/new/undo writing at the same moment
        written = adopt_files(root, out, result.text, settings_lines(root, out, folders))
    return result, written


@envelope_command("pull", short_help="Write the schema YAML from a live database.")
@click.option("--database", "database", metavar="URL", required=True,
              help="Database URL (sqlite:///file.db, postgresql://...).")
@OUT
@FORCE
@PROJECT
def pull_command(report: Report, database: str, out: Path | None, force: bool,
                 project: Path | None) -> int:
    """Read a live SQLite or PostgreSQL database's tables and write the schema YAML that
    compiles to the same catalog (what cannot be expressed is listed as warnings)."""
    return _write_schema(report, lambda: _do_pull(database, out, force, project),
                         settings=False)


def _do_pull(database: str, out: Path | None, force: bool, project: Path | None):
    from agor_schema.adopt import adopt_files, check_writable, inside
    from agor_schema.config import find_project_root, load_config
    from agor_schema.importer import import_snapshots, pull_source
    from agor_schema.locking import project_lock

    root = find_project_root(project)
    target = out.absolute() if out is not None else load_config(root).schema
    inside(root, target, "--out")
    check_writable(root, target, force)
    source = pull_source(database)
    result = import_snapshots({source.dialect: source}, origin=source.label, command="pull",
                              targets=load_config(root).dialects)
    with project_lock(root):  # no compile/new/undo writing at the same moment
        written = adopt_files(root, target, result.text, None)
    return result, written


def _report(report: Report, result, written: list[Path], settings: bool) -> None:
    for dialect, source in result.sources.items():
        report.say(f"{dialect}: {len(source.snapshot.tables)} table(s) from {source.label}")
    for path in written:
        report.say(f"wrote {path}")
    for item in result.report:
        report.warnings.append(problem(item.message, table=item.table, column=None,
                                       field=item.name, dialect=item.dialect, name=item.name))
        report.say(f"warning: {item}")
    for fitted in result.fitted:  # another dialect of the project gets it differently
        if fitted.lost:  # ... or not at all: a warning
            report.warnings.append(problem(fitted.message, table=fitted.table, column=None,
                                           field=fitted.name, dialect=fitted.dialect,
                                           name=fitted.name))
        report.say(f"{'warning' if fitted.lost else 'note'}: {fitted}")
    if result.exact:
        report.say("ok: the schema compiles back to exactly what was read")
    else:
        report.say(f"{len(result.report)} thing(s) the schema cannot say exactly (above): "
                   "until the schema says them, `agorschema compile` would write a migration "
                   "for each difference; review them first")
    report.result = {**result.to_json(), "written": [str(p) for p in written]}
    if settings:
        report.say("[tool.agorschema] now names the schema and the migration folders")


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _cannot_write(exc: OSError, outcome: str) -> str:
    name = exc.filename if exc.filename is not None else ""
    return f"cannot read or write {name}: {exc.strerror or exc}; {outcome}"
