"""`agorschema verify` and `agorschema diff --database` against real databases.

The repo's own example project (pyproject.toml, schema/, drizzle/, generated/) is copied to a
tmp folder; every test works on that copy, so the repo is never touched.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from envelope_helpers import parse_envelope

import agor_schema
from agor_schema.cli_verify import diff_command, verify_command
from agor_schema.dialects import get_dialect

REPO = Path(__file__).resolve().parents[1]
BREAK = "--> statement-breakpoint\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    for folder in ("schema", "drizzle", "generated"):
        shutil.copytree(REPO / folder, root / folder)
    return root


@pytest.fixture(autouse=True)
def _no_env_server(monkeypatch):
    monkeypatch.delenv("AGORSCHEMA_VERIFY_PG_URL", raising=False)


def run(command, *args: str):
    result = CliRunner().invoke(command, list(args))
    assert not (result.exception and not isinstance(result.exception, SystemExit)), result.output
    return result


def last_sql(project: Path, dialect: str) -> Path:
    return sorted((project / "drizzle" / dialect).glob("*.sql"))[-1]


def append_sql(project: Path, dialect: str, sql: str) -> None:
    path = last_sql(project, dialect)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.rstrip("\n") + BREAK + sql, encoding="utf-8")


def pg_server_leftovers(conn) -> list:
    return conn.execute("SELECT datname FROM pg_database WHERE datname LIKE "
                        "'agorschema_verify_%'").fetchall()


# ----------------------------------------------------------------------------- verify


def test_verify_example_is_clean_on_both_engines(project, pg_url, pg_conn):
    result = run(verify_command, "--project", str(project), "--pg-url", pg_url,
                 "--format", "json")
    report = parse_envelope(result.stdout)["result"]
    assert result.exit_code == 0, result.output
    assert report["ok"] is True
    statuses = {d["dialect"]: d["status"] for d in report["dialects"]}
    assert statuses == {"sqlite": "ok", "postgres": "ok"}
    for d in report["dialects"]:
        assert len(d["compared"]) == 3  # current schema, generated/, latest snapshot
    assert report["parity"] == {"checked": ["spec", "databases"], "mismatches": []}
    assert pg_server_leftovers(pg_conn) == []  # the throwaway database was dropped


def test_verify_text_output_and_env_server(project, pg_url, monkeypatch):
    monkeypatch.setenv("AGORSCHEMA_VERIFY_PG_URL", pg_url)
    result = run(verify_command, "--project", str(project))
    assert result.exit_code == 0, result.output
    count = {d: len(json.loads((Path(project) / "drizzle" / d / "meta" / "_journal.json")
                              .read_text())["entries"]) for d in ("sqlite", "postgres")}
    assert count["postgres"] > count["sqlite"] >= 3  # a postgres-only check has its own file
    assert f"sqlite: replayed {count['sqlite']} migration(s): equals current schema" \
        in result.output
    assert f"postgres: replayed {count['postgres']} migration(s)" in result.output
    assert "ok: everything holds" in result.output


def test_verify_without_postgres_server_skips_it(project):
    result = run(verify_command, "--project", str(project))
    assert result.exit_code == 0, result.output
    assert "postgres: skipped (no PostgreSQL server: pass --pg-url or set " \
           "AGORSCHEMA_VERIFY_PG_URL)" in result.output
    assert "sqlite: replayed" in result.output


def test_verify_fails_on_hand_added_column_sqlite(project):
    append_sql(project, "sqlite", "ALTER TABLE `users` ADD `x` integer;")
    result = run(verify_command, "--project", str(project), "--format", "json")
    assert result.exit_code == 1
    report = parse_envelope(result.stdout)["result"]
    sqlite = next(d for d in report["dialects"] if d["dialect"] == "sqlite")
    assert sqlite["status"] == "failed"
    checks = {m["check"] for m in sqlite["mismatches"]}
    assert checks == {"schema", "generated", "snapshot"}
    assert all(m["table"] == "users" and m["name"] == "x" for m in sqlite["mismatches"])
    assert "users.x: replayed history has column x" in sqlite["mismatches"][0]["message"]


def test_verify_fails_on_hand_added_column_postgres(project, pg_url):
    append_sql(project, "postgres", 'ALTER TABLE "users" ADD COLUMN "x" integer;')
    result = run(verify_command, "--project", str(project), "--pg-url", pg_url)
    assert result.exit_code == 1
    assert "[schema] users.x: replayed history has column x (integer)" in result.output
    # the two databases no longer agree either
    assert "the replayed postgres database has column users.x that the replayed sqlite " \
           "database lacks" in result.output
    assert "verify failed" in result.output


def test_verify_fails_on_dropped_index_postgres(project, pg_url):
    append_sql(project, "postgres", 'DROP INDEX "users_created_idx";')
    result = run(verify_command, "--project", str(project), "--pg-url", pg_url,
                 "--format", "json")
    assert result.exit_code == 1
    report = parse_envelope(result.stdout)["result"]
    pg = next(d for d in report["dialects"] if d["dialect"] == "postgres")
    assert {(m["check"], m["table"], m["name"]) for m in pg["mismatches"]} == {
        (check, "users", "users_created_idx") for check in ("schema", "generated", "snapshot")}


def test_verify_fails_when_history_does_not_replay(project):
    append_sql(project, "sqlite", "ALTER TABLE `nope` ADD `x` integer;")
    result = run(verify_command, "--project", str(project))
    assert result.exit_code == 1
    assert "[replay] the history does not replay" in result.output


def test_verify_parity_flags_unmarked_dialect_override(project):
    schema = project / "schema" / "01_core.yaml"
    text = schema.read_text(encoding="utf-8")
    text = text.replace("      updated_at:   timestamp\n",
                        "      updated_at:   timestamp\n"
                        "      legacy:       {type: text, postgres: {only: sqlite}}\n")
    schema.write_text(text, encoding="utf-8")
    result = run(verify_command, "--project", str(project), "--format", "json")
    report = parse_envelope(result.stdout)["result"]
    assert result.exit_code == 1
    messages = [m["message"] for m in report["parity"]["mismatches"]]
    assert any("column users.legacy" in m and "not marked `only: sqlite`" in m
               for m in messages), messages


def test_verify_parity_accepts_documented_overrides(project):
    """`sqlite: {unique: true}` and an index kept to PostgreSQL through `postgres:` options
    are what the schema says, not parity failures (both dialects replayed: PostgreSQL when a
    server is configured, the spec views always)."""
    from agor_schema.compiler import compile_project
    from agor_schema.config import load_config

    schema = project / "schema" / "01_core.yaml"
    text = schema.read_text(encoding="utf-8")
    text = text.replace("      updated_at:   timestamp\n",
                        "      updated_at:   timestamp\n"
                        "      nickname:     {type: text, sqlite: {unique: true}}\n"
                        "      handle:       {type: text, postgres: {unique: true, "
                        "unique_name: users_handle_key}}\n")
    schema.write_text(text, encoding="utf-8")
    compile_project(load_config(project))
    result = run(verify_command, "--project", str(project), "--format", "json")
    report = parse_envelope(result.stdout)["result"]
    assert report["parity"]["mismatches"] == [], report["parity"]
    assert result.exit_code == 0, result.output
    # the same difference without an override is still reported
    text = text.replace("{type: text, sqlite: {unique: true}}",
                        "{type: text, postgres: {only: sqlite}}")
    schema.write_text(text, encoding="utf-8")
    report = parse_envelope(run(verify_command, "--project", str(project), "--format",
                                "json").stdout)["result"]
    assert any("column users.nickname" in m["message"] for m in report["parity"]["mismatches"])


# ----------------------------------------------------------------------------- diff: SQLite


def sqlite_migrated(project: Path, url: str) -> None:
    agor_schema.migrate(url, project / "drizzle" / "sqlite")


def diff_json(project: Path, url: str):
    result = run(diff_command, "--project", str(project), "--database", url, "--format", "json")
    return result.exit_code, parse_envelope(result.stdout)["result"]


def test_diff_sqlite_no_drift_then_exact_drift(project, sqlite_url):
    sqlite_migrated(project, sqlite_url)
    code, report = diff_json(project, sqlite_url)
    assert (code, report["drift"], report["changes"]) == (0, False, [])
    path = sqlite_url[len("sqlite:///"):]
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE users ADD COLUMN nickname text")
    conn.commit()
    code, report = diff_json(project, sqlite_url)
    assert code == 1
    assert [(c["kind"], c["table"], c["name"]) for c in report["changes"]] == \
        [("drop_column", "users", "nickname")]
    conn.execute("ALTER TABLE users DROP COLUMN nickname")
    conn.execute("DROP INDEX users_created_idx")
    conn.execute("CREATE INDEX extra_idx ON tasks (prompt)")
    conn.commit()
    code, report = diff_json(project, sqlite_url)
    assert code == 1
    assert sorted((c["kind"], c["table"], c["name"]) for c in report["changes"]) == [
        ("create_index", "users", "users_created_idx"), ("drop_index", "tasks", "extra_idx")]
    # the SQL printed fixes exactly that
    for statement in report["sql"]:
        conn.execute(statement)
    conn.commit()
    conn.close()
    assert diff_json(project, sqlite_url)[0] == 0


def test_diff_sqlite_dropped_check(project, sqlite_url):
    sqlite_migrated(project, sqlite_url)
    conn = sqlite3.connect(sqlite_url[len("sqlite:///"):])
    (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'boards'").fetchone()
    start = sql.index(',\n\tCONSTRAINT "boards_color_hex"')
    end = sql.index("\n", start + 2)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'boards'",
                 (sql[:start] + sql[end:],))
    conn.commit()
    conn.close()
    code, report = diff_json(project, sqlite_url)
    assert code == 1
    assert [(c["kind"], c["table"], c["name"]) for c in report["changes"]] == \
        [("add_check", "boards", "boards_color_hex")]
    assert "boards: check boards_color_hex is missing from the database" in \
        report["changes"][0]["message"]


def test_diff_text_output_and_default_database(project):
    sqlite_migrated(project, f"sqlite:///{project / 'agor.db'}")  # settings: sqlite:///agor.db
    result = run(diff_command, "--project", str(project))
    assert result.exit_code == 0, result.output
    assert "no drift" in result.output
    conn = sqlite3.connect(project / "agor.db")
    conn.execute("DROP INDEX repos_type_idx")
    conn.commit()
    conn.close()
    result = run(diff_command, "--project", str(project))
    assert result.exit_code == 1
    assert "repos: index repos_type_idx is missing from the database" in result.output
    assert "CREATE INDEX `repos_type_idx` ON `repos` (`repo_type`);" in result.output


def test_diff_bad_input_exits_2(project, tmp_path):
    result = run(diff_command, "--project", str(project), "--database", "mysql://x/y")
    assert result.exit_code == 2
    assert "unsupported database URL" in result.output
    missing = f"sqlite:///{tmp_path / 'missing.db'}"
    result = run(diff_command, "--project", str(project), "--database", missing)
    assert result.exit_code == 2
    assert "does not exist" in result.output


# ----------------------------------------------------------------------------- diff: PostgreSQL


def test_diff_postgres_no_drift_then_exact_drift(project, pg_url, pg_conn):
    agor_schema.migrate(pg_url, project / "drizzle" / "postgres")
    code, report = diff_json(project, pg_url)
    assert (code, report["changes"]) == (0, [])
    pg_conn.execute('ALTER TABLE "users" ADD COLUMN "nickname" text')
    code, report = diff_json(project, pg_url)
    assert [(c["kind"], c["table"], c["name"]) for c in report["changes"]] == \
        [("drop_column", "users", "nickname")]
    assert report["sql"] == ['ALTER TABLE "users" DROP COLUMN "nickname";']
    pg_conn.execute('ALTER TABLE "users" DROP COLUMN "nickname"')
    pg_conn.execute('DROP INDEX "users_created_idx"')
    pg_conn.execute('CREATE INDEX "extra_idx" ON "tasks" ("prompt")')
    pg_conn.execute('ALTER TABLE "boards" DROP CONSTRAINT "boards_color_hex"')
    code, report = diff_json(project, pg_url)
    assert code == 1
    assert sorted((c["kind"], c["table"], c["name"]) for c in report["changes"]) == [
        ("add_check", "boards", "boards_color_hex"),
        ("create_index", "users", "users_created_idx"),
        ("drop_index", "tasks", "extra_idx"),
    ]
    for statement in report["sql"]:
        pg_conn.execute(statement)
    assert diff_json(project, pg_url)[0] == 0
    leftovers = pg_conn.execute("SELECT nspname FROM pg_namespace "
                                "WHERE nspname LIKE 'agorschema_scratch%'").fetchall()
    assert leftovers == []


def test_diff_postgres_changed_column(project, pg_url, pg_conn):
    agor_schema.migrate(pg_url, project / "drizzle" / "postgres")
    pg_conn.execute('ALTER TABLE "users" ALTER COLUMN "role" DROP DEFAULT')
    pg_conn.execute('ALTER TABLE "users" ALTER COLUMN "display_name" SET NOT NULL')
    result = run(diff_command, "--project", str(project), "--database", pg_url)
    assert result.exit_code == 1
    assert "users.role: column differs: default none in the database, 'member'::text in " \
           "the schema" in result.output
    assert "users.display_name: column differs: not_null True in the database, False in " \
           "the schema" in result.output


def test_diff_postgres_reads_index_options_generated_and_nulls_not_distinct(
        project, pg_url, pg_conn):
    """Introspection reads method, opclass, DESC/NULLS, WITH, NULLS NOT DISTINCT and the
    generation expression back from pg_catalog: losing any of them is drift, and the SQL
    printed puts it back."""
    agor_schema.migrate(pg_url, project / "drizzle" / "postgres")
    assert diff_json(project, pg_url)[0] == 0
    drifts = [
        # ordering and storage parameter lost
        ('DROP INDEX "catalog_entries_top_idx"; CREATE INDEX "catalog_entries_top_idx" ON '
         '"catalog_entries" ("workspace_id", "score")',
         {("index_differs", "catalog_entries_top_idx")},
         "has (workspace_id, score), schema has (workspace_id, score desc nulls last) with "
         "(fillfactor=80)"),
        # opclass lost
        ('DROP INDEX "catalog_entries_name_prefix_idx"; CREATE INDEX '
         '"catalog_entries_name_prefix_idx" ON "catalog_entries" ("catalog_entry_name")',
         {("index_differs", "catalog_entries_name_prefix_idx")},
         "schema has (catalog_entry_name text_pattern_ops)"),
        # access method changed
        ('DROP INDEX "catalog_entries_created_brin"; CREATE INDEX "catalog_entries_created_brin"'
         ' ON "catalog_entries" USING btree ("created_at")',
         {("index_differs", "catalog_entries_created_brin")}, "schema has (created_at) using brin"),
        # NULLS NOT DISTINCT lost
        ('ALTER TABLE "catalog_entries" DROP CONSTRAINT "catalog_entries_slug_key"; '
         'ALTER TABLE "catalog_entries" ADD CONSTRAINT "catalog_entries_slug_key" UNIQUE ("slug")',
         {("unique_differs", "catalog_entries_slug_key")},
         "has unique (slug), schema has unique nulls not distinct (slug)"),
        # generation expression lost (the column keeps its values as a plain column)
        ('ALTER TABLE "catalog_entries" ALTER COLUMN "score" DROP EXPRESSION',
         {("alter_column", "score")}, "generated none in the database"),
    ]
    for sql, expected, says in drifts:
        pg_conn.execute(sql)
        code, report = diff_json(project, pg_url)
        assert code == 1, sql
        got = {(c["kind"], c["name"]) for c in report["changes"]}
        assert got == expected, (sql, report["changes"])
        assert says in report["changes"][0]["message"], report["changes"]
        for statement in report["sql"]:
            pg_conn.execute(statement)
        assert diff_json(project, pg_url)[0] == 0, (sql, report["sql"])


def test_introspect_ignores_bookkeeping(project, sqlite_url):
    sqlite_migrated(project, sqlite_url)
    conn = sqlite3.connect(sqlite_url[len("sqlite:///"):])
    try:
        assert "__drizzle_migrations" not in get_dialect("sqlite").introspect(conn).tables
    finally:
        conn.close()
