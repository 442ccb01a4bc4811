"""`agorschema undo` through the CLI: it removes exactly what the last compile/new wrote (in
the dialect folders it wrote), restores journals, generated files and checksums, so the
next compile writes the same bytes again; it refuses, changing nothing, when the database
applied the migration or cannot be reached (unless --force)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from envelope_helpers import parse_envelope

from agor_schema.cli import main

V1 = """\
tables:
  users:
    columns:
      id: {type: integer, primary_key: true}
      name: {type: text, not_null: true}
"""
V2 = V1 + "      email: text\n"
PG_ONLY = V1 + "      tags: {type: json, only: postgres}\n"
UNREACHABLE = "postgresql://nobody@127.0.0.1:9/nowhere"


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    for name in ("DATABASE_URL", "AGORSCHEMA_DATABASE_URL", "AGORSCHEMA_CACHE",
                 "AGORSCHEMA_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)


def run(root: Path, *args: str, env: dict | None = None):
    return CliRunner().invoke(main, [*args, "--project", str(root)], env=env,
                              catch_exceptions=False)


def tree(root: Path) -> dict[str, bytes]:
    """What compile writes (and undo restores): every file but the schema, the cache (with
    the undo records) and databases."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.parts[len(root.parts)] not in (".agorschema-cache", "schema")
            and p.suffix != ".db"}


def make(tmp_path: Path, schema: str = V1, settings: str = "") -> Path:
    root = tmp_path / "p"
    (root / "schema").mkdir(parents=True)
    (root / "pyproject.toml").write_text(f"[tool.agorschema]\n{settings}", encoding="utf-8")
    write_schema(root, schema)
    assert run(root, "compile").exit_code == 0
    return root


def write_schema(root: Path, text: str) -> None:
    (root / "schema" / "app.yaml").write_text(text, encoding="utf-8")


def test_undo_then_compile_writes_the_same_bytes_both_dialects(tmp_path: Path):
    root = make(tmp_path)
    before = tree(root)
    write_schema(root, V2)
    assert run(root, "compile").exit_code == 0
    after = tree(root)
    added = sorted(set(after) - set(before))
    assert added == ["drizzle/postgres/0001_add_users_email.sql",
                     "drizzle/postgres/meta/0001_snapshot.json",
                     "drizzle/sqlite/0001_add_users_email.sql",
                     "drizzle/sqlite/meta/0001_snapshot.json"]

    result = run(root, "undo")
    assert result.exit_code == 0, result.output
    assert "sqlite 0001_add_users_email" in result.stdout
    assert tree(root) == before  # journals, generated files and agorschema.sum as before

    checked = run(root, "check")
    assert checked.exit_code == 1
    assert "the schema changed since the last compile (sqlite: add_column)" in checked.stderr
    assert run(root, "compile").exit_code == 0
    assert tree(root) == after  # the same migration again, byte for byte
    assert run(root, "check").exit_code == 0


def test_undo_of_a_compile_that_changed_one_dialect_only(tmp_path: Path):
    root = make(tmp_path)
    before = tree(root)
    write_schema(root, PG_ONLY)
    compiled = run(root, "compile")
    assert "sqlite: no schema change" in compiled.stdout
    assert "postgres: wrote 0001_add_users_tags" in compiled.stdout
    after = tree(root)
    assert {k for k in after if k not in before} == {
        "drizzle/postgres/0001_add_users_tags.sql", "drizzle/postgres/meta/0001_snapshot.json"}

    result = run(root, "undo", "--format", "json")
    assert result.exit_code == 0, result.output
    envelope = parse_envelope(result.stdout, "undo", 0)
    assert envelope["errors"] == []
    assert envelope["result"]["migrations"] == {"postgres": "0001_add_users_tags"}
    assert sorted(envelope["result"]["removed"]) == [
        "drizzle/postgres/0001_add_users_tags.sql", "drizzle/postgres/meta/0001_snapshot.json"]
    assert not any(p.startswith("drizzle/sqlite") for p in envelope["result"]["restored"])
    assert tree(root) == before
    assert run(root, "compile").exit_code == 0
    assert tree(root) == after


def test_undo_steps_back_through_new_and_compile(tmp_path: Path):
    root = make(tmp_path)
    states = [tree(root)]
    write_schema(root, V2)
    assert run(root, "compile").exit_code == 0
    states.append(tree(root))
    assert run(root, "new", "backfill_email").exit_code == 0
    states.append(tree(root))
    assert "drizzle/sqlite/0002_backfill_email.sql" in states[-1]

    assert run(root, "undo").exit_code == 0
    assert tree(root) == states[1]
    assert run(root, "undo").exit_code == 0
    assert tree(root) == states[0]
    assert run(root, "undo").exit_code == 0  # the first compile: back to no migrations at all
    assert not (root / "drizzle").exists() and not (root / "generated").exists()
    nothing = run(root, "undo")
    assert nothing.exit_code == 1
    assert "nothing to undo" in nothing.stderr


def test_undo_keeps_sql_written_into_a_new_migration_unless_forced(tmp_path: Path):
    root = make(tmp_path)
    assert run(root, "new", "backfill").exit_code == 0
    sql = root / "drizzle" / "sqlite" / "0001_backfill.sql"
    sql.write_text("UPDATE users SET name = trim(name);\n", encoding="utf-8")
    edited = tree(root)
    refused = run(root, "undo")
    assert refused.exit_code == 1
    assert "drizzle/sqlite/0001_backfill.sql was edited" in refused.stderr
    assert tree(root) == edited
    forced = run(root, "undo", "--force")
    assert forced.exit_code == 0, forced.output
    assert not sql.exists()
    assert run(root, "check").exit_code == 0


def test_undo_refuses_when_the_journal_changed_since(tmp_path: Path):
    root = make(tmp_path)
    write_schema(root, V2)
    assert run(root, "compile").exit_code == 0
    journal = root / "drizzle" / "sqlite" / "meta" / "_journal.json"
    journal.write_text(journal.read_text().replace('"breakpoints": true', '"breakpoints": false'))
    changed = tree(root)
    for force in ((), ("--force",)):
        result = run(root, "undo", *force)
        assert result.exit_code == 1
        assert "drizzle/sqlite/meta/_journal.json changed after" in result.stderr
        assert tree(root) == changed


@pytest.mark.parametrize("source", ["option", "AGORSCHEMA_DATABASE_URL", "DATABASE_URL",
                                    "setting"])
def test_undo_refuses_a_migration_the_sqlite_database_applied(tmp_path: Path, source: str):
    db = tmp_path / "app.db"
    url = f"sqlite:///{db}"
    root = make(tmp_path, settings=f'database = "{url}"\n' if source == "setting" else "")
    write_schema(root, V2)
    assert run(root, "compile").exit_code == 0
    assert run(root, "migrate", "--database", url).exit_code == 0
    applied = tree(root)
    args: tuple[str, ...] = ("--database", url) if source == "option" else ()
    env = {source: url} if source.endswith("URL") else None
    for force in ((), ("--force",)):  # --force never undoes an applied migration
        result = run(root, "undo", *args, *force, env=env)
        assert result.exit_code == 1, result.output
        assert "has applied 0001_add_users_email" in result.stderr
        assert tree(root) == applied
    envelope = parse_envelope(run(root, "undo", *args, "--format", "json", env=env).stdout,
                              "undo", 1)
    assert envelope["errors"][0]["migration"] == "0001_add_users_email"
    assert envelope["result"]["applied"] == ["0001_add_users_email"]
    with sqlite3.connect(db) as conn:
        assert [r[1] for r in conn.execute("PRAGMA table_info(users)")] == ["id", "name", "email"]


def test_the_option_wins_over_the_environment(tmp_path: Path):
    applied_db, empty_db = tmp_path / "applied.db", tmp_path / "empty.db"
    root = make(tmp_path)
    write_schema(root, V2)
    assert run(root, "compile").exit_code == 0
    assert run(root, "migrate", "--database", f"sqlite:///{applied_db}").exit_code == 0
    env = {"AGORSCHEMA_DATABASE_URL": f"sqlite:///{applied_db}",
           "DATABASE_URL": f"sqlite:///{empty_db}"}
    assert run(root, "undo", env=env).exit_code == 1  # AGORSCHEMA_DATABASE_URL before DATABASE_URL
    assert run(root, "undo", "--database", f"sqlite:///{empty_db}", env=env).exit_code == 0


def test_undo_refuses_an_unreachable_database_unless_forced(tmp_path: Path):
    root = make(tmp_path)
    write_schema(root, V2)
    assert run(root, "compile").exit_code == 0
    after = tree(root)
    refused = run(root, "undo", "--database", UNREACHABLE)
    assert refused.exit_code == 1
    assert "cannot reach the database" in refused.stderr and "--force" in refused.stderr
    assert tree(root) == after
    envelope = parse_envelope(
        run(root, "undo", "--database", UNREACHABLE, "--format", "json").stdout, "undo", 1)
    assert "cannot reach the database" in envelope["errors"][0]["message"]
    forced = run(root, "undo", "--database", UNREACHABLE, "--force")
    assert forced.exit_code == 0, forced.output
    assert "cannot reach the database" in forced.stderr
    assert not (root / "drizzle" / "postgres" / "0001_add_users_email.sql").exists()


def test_a_bad_database_url_is_an_input_error(tmp_path: Path):
    root = make(tmp_path)
    write_schema(root, V2)
    assert run(root, "compile").exit_code == 0
    after = tree(root)
    result = run(root, "undo", "--database", "mysql://x/y", "--format", "json")
    assert result.exit_code == 2
    parse_envelope(result.stdout, "undo", 2)
    assert tree(root) == after


def test_undo_refuses_a_migration_postgres_applied(tmp_path: Path, pg_url: str):
    root = make(tmp_path)
    write_schema(root, V2)
    assert run(root, "compile").exit_code == 0
    assert run(root, "migrate", "--database", pg_url).exit_code == 0
    applied = tree(root)
    result = run(root, "undo", "--database", pg_url)
    assert result.exit_code == 1
    assert "has applied 0001_add_users_email" in result.stderr
    assert tree(root) == applied
    # a PostgreSQL database that has the first migration only: the second can go
    write_schema(root, V2 + "      age: integer\n")
    assert run(root, "compile").exit_code == 0
    assert run(root, "undo", "--database", pg_url).exit_code == 0
    assert tree(root) == applied


def test_postgres_only_migration_is_not_blocked_by_a_sqlite_database(tmp_path: Path):
    db = tmp_path / "app.db"
    root = make(tmp_path)
    assert run(root, "migrate", "--database", f"sqlite:///{db}").exit_code == 0
    before = tree(root)
    write_schema(root, PG_ONLY)
    assert run(root, "compile").exit_code == 0
    assert run(root, "migrate", "--database", f"sqlite:///{db}").exit_code == 0
    result = run(root, "undo", "--database", f"sqlite:///{db}")
    assert result.exit_code == 0, result.output
    assert tree(root) == before


@pytest.mark.parametrize("damage", ["not json", '{"format": 1}',
                                    '{"format": 1, "command": "compile", "created": '
                                    '{"../outside.txt": "x"}, "changed": {}, "sum_before": {}}'])
def test_a_damaged_undo_record_changes_nothing(tmp_path: Path, damage: str):
    root = make(tmp_path)
    (tmp_path / "outside.txt").write_text("keep me")
    write_schema(root, V2)
    assert run(root, "compile").exit_code == 0
    after = tree(root)
    record = max((root / ".agorschema-cache" / "undo").glob("*.json"))
    record.write_text(damage)
    result = run(root, "undo")
    assert result.exit_code == 1
    assert "unreadable undo record" in result.stderr
    assert "Traceback" not in result.output
    assert tree(root) == after
    assert (tmp_path / "outside.txt").read_text() == "keep me"


def test_replaced_bytes_are_kept_once_and_a_missing_blob_refuses(tmp_path: Path):
    root = make(tmp_path)
    blobs = root / ".agorschema-cache" / "undo" / "blobs"
    write_schema(root, V2)
    assert run(root, "compile").exit_code == 0
    kept = sorted(p.name for p in blobs.iterdir())
    assert kept  # the journals and generated files the compile replaced
    after = tree(root)
    for blob in blobs.iterdir():
        blob.unlink()
    result = run(root, "undo")
    assert result.exit_code == 1
    assert "unreadable undo record" in result.stderr
    assert tree(root) == after
