"""`concurrently: true` indexes: compile puts each concurrent build/drop in a file of its own
marked `-- agorschema:no-transaction`; the runner applies it outside a transaction on a real
PostgreSQL, cleans up the INVALID index a failed build leaves, and status/diff report it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from runner_helpers import write_folder

from agor_schema.cli import main
from agor_schema.compiler import compile_project
from agor_schema.config import load_config
from agor_schema.journal import read_journal
from agor_schema.runner import MigrationFailed, migrate, status

REPO = Path(__file__).resolve().parents[1]
MARKER = "-- agorschema:no-transaction"


def project(root: Path, tables: dict) -> Path:
    """A PostgreSQL-only test project (the example schema in schema/ must not use it)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        '[tool.agorschema]\ndialects = ["postgres"]\ndatabase = "sqlite:///unused.db"\n')
    (root / "schema").mkdir(exist_ok=True)
    (root / "schema" / "app.yaml").write_text(yaml.safe_dump({"tables": tables}))
    return root


def items(**indexes: Any) -> dict:
    return {"items": {"columns": {"id": {"type": "integer", "primary_key": True},
                                  "name": "text", "qty": "integer"},
                      "indexes": indexes}}


def compiled(root: Path) -> list[str]:
    result = compile_project(load_config(root))
    return [str(f) for f in result.findings]


def files(root: Path) -> dict[str, str]:
    folder = root / "drizzle" / "postgres"
    return {e.tag: (folder / f"{e.tag}.sql").read_text() for e in read_journal(folder).entries}


def test_compile_puts_each_concurrent_build_and_drop_in_a_file_of_its_own(
    tmp_path: Path
) -> None:
    root = project(tmp_path / "p", items())
    compiled(root)
    tables = items(items_name_idx={"columns": ["name"], "concurrently": True},
                   items_qty_idx={"columns": ["qty"], "unique": True, "concurrently": True})
    tables["items"]["columns"]["note"] = "text"
    (root / "schema" / "app.yaml").write_text(yaml.safe_dump({"tables": tables}))
    findings = compiled(root)
    sql = files(root)
    tags = list(sql)
    assert len(tags) == 4, tags
    assert MARKER not in sql[tags[1]] and "ADD COLUMN" in sql[tags[1]]
    assert "CONCURRENTLY" not in sql[tags[1]]
    for tag, name in ((tags[2], "items_name_idx"), (tags[3], "items_qty_idx")):
        assert sql[tag].startswith(MARKER + "\n")
        assert re.search(rf'CREATE (UNIQUE )?INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON',
                         sql[tag]), sql[tag]
        assert sum(line.strip().endswith(";") for line in sql[tag].splitlines()) == 1
        assert any(f"{tag}.sql builds index '{name}' CONCURRENTLY" in f and "drizzle-orm" in f
                   for f in findings), findings
    # the snapshot chain is exact: nothing left to compile, and check passes
    assert compile_project(load_config(root), write=False).changed is False
    assert CliRunner().invoke(main, ["check", "--project", str(root)]).exit_code == 0
    # dropping it is concurrent too, in its own file
    tables = items(items_qty_idx={"columns": ["qty"], "unique": True, "concurrently": True})
    tables["items"]["columns"]["note"] = "text"
    (root / "schema" / "app.yaml").write_text(yaml.safe_dump({"tables": tables}))
    compiled(root)
    last = list(files(root).values())[-2:]
    assert any(t.startswith(MARKER) and 'DROP INDEX CONCURRENTLY IF EXISTS "items_name_idx";'
               in t for t in last), last


def test_an_index_on_a_new_table_is_built_in_the_table_s_transaction(tmp_path: Path) -> None:
    """CONCURRENTLY buys nothing on an empty new table, and cannot run in its transaction."""
    root = project(tmp_path / "p", items(items_name_idx={"columns": ["name"],
                                                         "concurrently": True}))
    compiled(root)
    (only,) = files(root).values()
    assert MARKER not in only and "CONCURRENTLY" not in only
    assert 'CREATE INDEX "items_name_idx"' in only


def test_toggling_concurrently_alone_changes_nothing(tmp_path: Path) -> None:
    root = project(tmp_path / "p", items(items_name_idx=["name"]))
    compiled(root)
    (root / "schema" / "app.yaml").write_text(yaml.safe_dump({"tables": items(
        items_name_idx={"columns": ["name"], "concurrently": True})}))
    assert compile_project(load_config(root), write=False).changed is False


def test_example_schema_does_not_use_concurrently() -> None:
    """drizzle-orm's migrator cannot apply such files; the example stays drizzle-portable."""
    for path in sorted((REPO / "schema").glob("*.y*ml")):
        assert "concurrently" not in path.read_text(encoding="utf-8"), path


# --- the runner on a real PostgreSQL --------------------------------------------------------


def index_state(conn: Any, name: str) -> bool | None:
    """indisvalid of index `name`, None when it does not exist."""
    row = conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)",
                       (f'"{name}"',)).fetchone()
    return None if row is None else row[0]


def applied_project(tmp_path: Path, pg_url: str) -> tuple[Path, Path]:
    root = project(tmp_path / "p", items())
    compiled(root)
    migrate(pg_url, root / "drizzle" / "postgres")
    (root / "schema" / "app.yaml").write_text(yaml.safe_dump({"tables": items(
        items_name_uq={"columns": ["name"], "unique": True, "concurrently": True})}))
    compiled(root)
    return root, root / "drizzle" / "postgres"


def test_concurrent_build_runs_outside_a_transaction(
    pg_url: str, pg_conn: Any, tmp_path: Path
) -> None:
    root, folder = applied_project(tmp_path, pg_url)
    pg_conn.execute("INSERT INTO items VALUES (1, 'a', 1), (2, 'b', 2)")
    result = migrate(pg_url, folder)
    (applied,) = result.applied
    assert applied.mode == "as_written"
    assert index_state(pg_conn, "items_name_uq") is True
    assert status(pg_url, folder).problems == []


def test_a_failed_concurrent_build_is_cleaned_up_and_rebuilt(
    pg_url: str, pg_conn: Any, tmp_path: Path
) -> None:
    root, folder = applied_project(tmp_path, pg_url)
    pg_conn.execute("INSERT INTO items VALUES (1, 'dup', 1), (2, 'dup', 2)")
    with pytest.raises(MigrationFailed) as info:
        migrate(pg_url, folder)
    assert "23505" in info.value.error  # unique_violation
    assert index_state(pg_conn, "items_name_uq") is False, "the failed build left it INVALID"
    report = status(pg_url, folder)
    assert report.pending == [info.value.tag], "not recorded after a failed statement"
    assert [p.kind for p in report.problems] == ["invalid_index"]
    assert "index public.items_name_uq on public.items is INVALID" in report.problems[0].message
    drift = CliRunner().invoke(main, ["diff", "--project", str(root), "--database", pg_url])
    assert "INVALID" in drift.output and "items_name_uq" in drift.output
    pg_conn.execute("UPDATE items SET name = 'other' WHERE id = 2")
    result = migrate(pg_url, folder)
    assert result.applied_tags == [info.value.tag]
    assert any("dropped INVALID index" in n for n in result.applied[0].notes)
    assert index_state(pg_conn, "items_name_uq") is True
    assert status(pg_url, folder).problems == []


def test_a_role_lock_timeout_reaching_a_concurrent_build_is_warned_about(
    pg_url: str, pg_conn: Any, tmp_path: Path
) -> None:
    """The trap: lock_timeout cancels a concurrent build waiting for older snapshots."""
    folder = write_folder(tmp_path / "m", [
        ("0000_init", "CREATE TABLE t (x integer);"),
        ("0001_ix", f"{MARKER}\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_x ON t (x);"),
    ], dialect="postgres")
    dbname = pg_url.rsplit("/", 1)[1]
    pg_conn.execute(f'ALTER DATABASE "{dbname}" SET lock_timeout = \'2s\'')
    result = migrate(pg_url, folder)
    notes = result.applied[1].notes
    assert any("lock_timeout applies to CREATE INDEX CONCURRENTLY" in n and "2s" in n
               for n in notes), notes
    assert index_state(pg_conn, "t_x") is True


def test_concurrent_build_gets_no_ddl_lock_timeout(
    pg_url: str, pg_conn: Any, tmp_path: Path
) -> None:
    """A concurrent build waits for an older open transaction longer than ddl_lock_timeout
    (which would have cancelled it) and succeeds once that transaction ends."""
    import threading

    folder = write_folder(tmp_path / "m", [
        ("0000_init", "CREATE TABLE t (x integer);"),
    ], dialect="postgres")
    migrate(pg_url, folder)
    write_folder(folder, [
        ("0000_init", "CREATE TABLE t (x integer);"),
        ("0001_ix", f"{MARKER}\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_x ON t (x);"),
    ], dialect="postgres")
    from pg_cluster import connect

    old = connect(pg_url, autocommit=False)
    old.execute("INSERT INTO t VALUES (1)")  # a writer the build must wait for
    timer = threading.Timer(1.0, old.rollback)
    timer.start()
    try:
        result = migrate(pg_url, folder, ddl_lock_timeout=0.2)
    finally:
        timer.join()
        old.close()
    assert result.applied_tags == ["0001_ix"]
    assert result.applied[0].seconds >= 0.8
    assert index_state(pg_conn, "t_x") is True


def test_lint_lock_advice_names_the_runner_settings(tmp_path: Path) -> None:
    root = project(tmp_path / "p", items())
    compiled(root)
    tables = items(items_name_idx=["name"])
    tables["items"]["columns"]["qty"] = {"type": "integer", "not_null": True, "default": 0}
    (root / "schema" / "app.yaml").write_text(yaml.safe_dump({"tables": tables}))
    findings = compiled(root)
    locking = [f for f in findings if "SET NOT NULL" in f or "CREATE INDEX 'items" in f]
    assert len(locking) == 2, findings
    for finding in locking:
        assert "ddl_lock_timeout" in finding and "ddl_lock_retries" in finding
    assert any("`concurrently: true`" in f for f in locking)
