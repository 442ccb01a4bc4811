"""`agorschema diff` and `agorschema verify`: thin click commands over introspect / verify.

Exit codes: 0 no drift / everything holds, 1 drift or a mismatch, 2 usage or input error (bad
settings or schema, bad URL, unreachable database). No tracebacks.
"""

from __future__ import annotations

from pathlib import Path

import click

from agor_schema.envelope import Report, envelope_command, problem

PROJECT = click.option(
    "--project", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Project folder holding pyproject.toml (default: nearest one above the current folder).")


@envelope_command("diff", short_help="Compare a live database with the schema (drift).")
@click.option("--database", "database", metavar="URL", default=None,
              help="Database URL (sqlite:///file.db, postgresql://...); default: "
                   "AGORSCHEMA_DATABASE_URL, DATABASE_URL, then [tool.agorschema] database.")
@PROJECT
def diff_command(report: Report, database: str | None, project: Path | None) -> int:
    """Compare the live database at URL with the schema. Prints each difference and the SQL
    that would remove it; exit 0 when there is none, 1 when the database drifted."""
    from agor_schema.config import database_url, load_config
    from agor_schema.drift import database_drift

    cfg = load_config(project)
    report.progress("diff: reading the database's catalog and building the schema in a scratch "
                    "database to compare...")
    result = database_drift(cfg, database_url(database))
    report.result = result.to_json()
    for text in result.invalid_indexes:
        report.warn(text)
    if result.ok:
        report.say(f"ok: {result.database} matches the {result.dialect} schema (no drift)")
        return 0
    for change in result.drift.changes:
        report.errors.append(problem(change.message, table=change.table))
    report.say(f"drift: {result.database} differs from the {result.dialect} schema "
               f"({len(result.drift.changes)} difference(s))")
    for change in result.drift.changes:
        report.say(f"  - {change.message}")
    report.say("SQL that would bring the database to the schema:")
    for statement in result.sql:
        report.say("  " + statement.strip().replace("\n", "\n  "))
    return 1


@envelope_command("verify", short_help="Replay every dialect's history and prove it matches.")
@click.option("--pg-url", "pg_url", metavar="URL", default=None, envvar="AGORSCHEMA_VERIFY_PG_URL",
              help="PostgreSQL server to create a throwaway database on (admin URL); default: "
                   "env AGORSCHEMA_VERIFY_PG_URL. Without one PostgreSQL is skipped.")
@click.option("--require-postgres", is_flag=True,
              help="Fail (exit 2) instead of skipping PostgreSQL when no server is given.")
@PROJECT
def verify_command(report: Report, pg_url: str | None, require_postgres: bool,
                   project: Path | None) -> int:
    """Replay each dialect's migrations into a throwaway database and prove the result equals
    the current schema, generated/ and the latest snapshot, and that both dialects hold the
    same logical schema (except `only:` items). Exit 0 when all hold, 1 otherwise."""
    from agor_schema.config import load_config
    from agor_schema.verify import FAILED, SKIPPED, verify_project

    cfg = load_config(project)
    if require_postgres and "postgres" not in cfg.dialects:
        report.error(f"--require-postgres: [tool.agorschema] dialects of {cfg.source or cfg.root} "
                     f"has no postgres ({', '.join(cfg.dialects)})", field="dialects")
        return 2
    report.progress(f"verify: replaying the migrations of {', '.join(cfg.dialects)} into "
                    "throwaway databases and comparing them with the schema...")
    result = verify_project(cfg, {"postgres": pg_url})
    checked = [r.dialect for r in result.dialects if r.status != SKIPPED]
    skipped = [r for r in result.dialects if r.status == SKIPPED]
    report.result = {**result.to_json(), "checked": checked,
                     "skipped": [r.dialect for r in skipped]}
    for mismatch in result.mismatches:
        report.errors.append(problem(str(mismatch), table=mismatch.table))
    for report_ in result.dialects:
        if report_.status == SKIPPED:
            report.warnings.append(problem(f"{report_.dialect}: skipped ({report_.reason})"))
            report.say(f"{report_.dialect}: skipped ({report_.reason})")
            continue
        head = f"{report_.dialect}: replayed {len(report_.migrations)} migration(s)"
        if report_.status == FAILED:
            report.say(f"{head}: {len(report_.mismatches)} mismatch(es)")
            for mismatch in report_.mismatches:
                report.say(f"  - [{mismatch.check}] {mismatch.message}")
        else:
            report.say(f"{head}: equals {', '.join(report_.compared)}")
    if result.parity:
        report.say(f"parity: {len(result.parity)} mismatch(es)")
        for mismatch in result.parity:
            report.say(f"  - {mismatch.message}")
    elif result.parity_checked:
        report.say(f"parity: the dialects hold the same logical schema "
                   f"(checked: {', '.join(result.parity_checked)})")
    if require_postgres and any(r.dialect == "postgres" for r in skipped):
        report.error("--require-postgres: PostgreSQL was not checked: pass --pg-url URL or set "
                     "AGORSCHEMA_VERIFY_PG_URL (an admin URL allowed to CREATE DATABASE)")
        return 2
    if not result.ok:
        report.say(f"verify failed (checked: {', '.join(checked) or 'nothing'})")
        return 1
    if skipped:
        report.say(f"ok for {', '.join(checked)} only: {', '.join(r.dialect for r in skipped)} "
                   "was skipped (not checked; --require-postgres makes that an error)")
    else:
        report.say(f"ok: everything holds (checked: {', '.join(checked)})")
    return 0
