"""Real drizzle-kit snapshots from Agor (../shared/data/agor): read, write back, diff, continue.

The corpus is read in place and copied only into tmp dirs; the test skips when it is absent.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from catalog import Project, sqlite_catalog
from conftest import shared_missing

from agor_schema import ops as o
from agor_schema.dialects import get_dialect
from agor_schema.diff import diff
from agor_schema.journal import split_statements
from agor_schema.snapshot import ORIGIN_ID

AGOR = Path(__file__).resolve().parents[2] / "shared" / "data" / "agor"
HISTORY = AGOR / "sqlite-2025-11"
pytestmark = pytest.mark.skipif(not AGOR.is_dir(), reason=shared_missing(AGOR))


def _snapshots() -> list[Path]:
    return sorted(AGOR.glob("*/meta/*_snapshot.json")) if AGOR.is_dir() else []


def _dialect_of(document: dict):
    return get_dialect("sqlite" if document["dialect"] == "sqlite" else "postgres")


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", _snapshots(), ids=lambda p: f"{p.parents[1].name}/{p.name}")
def test_round_trip_preserves_everything(path: Path) -> None:
    document = _load(path)
    dialect = _dialect_of(document)
    written = dialect.snapshot_to_json(dialect.snapshot_from_json(document))
    assert written["tables"] == document["tables"]
    for name, table in document["tables"].items():
        out = written["tables"][name]
        for part in ("columns", "indexes", "foreignKeys", "compositePrimaryKeys",
                     "uniqueConstraints", "checkConstraints"):
            assert out[part] == table[part], (name, part)
    # the rest of the document too (ids, views, enums, internal flags)
    assert written == document
    # layout does not matter: a reformatted file reads the same
    compact = json.loads(json.dumps(document, separators=(",", ":")))
    assert dialect.snapshot_to_json(dialect.snapshot_from_json(compact)) == document


def test_corpus_is_big_enough_to_mean_something() -> None:
    latest = _load(AGOR / "sqlite-latest-snapshot" / "meta" / "0103_snapshot.json")
    tables = latest["tables"].values()
    assert len(latest["tables"]) >= 50
    assert any(ix.get("where") for t in tables for ix in t["indexes"].values())
    assert any(t["checkConstraints"] for t in tables)
    assert any(t["compositePrimaryKeys"] for t in tables)
    pg = _load(AGOR / "postgres-latest-snapshot" / "meta" / "0100_snapshot.json")
    assert any(len(fk["columnsFrom"]) > 1 for t in pg["tables"].values()
               for fk in t["foreignKeys"].values())


def _history() -> list[tuple[str, Path]]:
    journal = _load(HISTORY / "meta" / "_journal.json")
    return [(e["tag"], HISTORY / "meta" / f"{e['tag'][:4]}_snapshot.json")
            for e in journal["entries"]]


_ADD = re.compile(r"ALTER TABLE `(\w+)` ADD `(\w+)`")
_INDEX = re.compile(r"CREATE (?:UNIQUE )?INDEX `(\w+)`")


def test_consecutive_snapshots_diff_sensibly() -> None:
    dialect = get_dialect("sqlite")
    history = _history()
    for (_, prev_path), (tag, path) in zip(history, history[1:]):
        old, new = dialect.snapshot_from_json(_load(prev_path)), \
            dialect.snapshot_from_json(_load(path))
        plan = diff(old, new)
        sql = (HISTORY / f"{tag}.sql").read_text(encoding="utf-8")
        for op in plan.operations:
            assert op.table in new.tables, (tag, op)
            assert not isinstance(op, (o.DropTable, o.DropColumn, o.RenameTable)), (tag, op)
        added = {(op.table, op.column.name) for op in plan.operations
                 if isinstance(op, o.AddColumn)}
        created = {op.index.name for op in plan.operations if isinstance(op, o.CreateIndex)}
        if tag == "0009_reconcile-missing-columns":
            # a hand-written migration: drizzle's snapshot repeats the previous state
            assert plan.empty
            continue
        assert not plan.empty, tag
        if "__new_" not in sql and "PRAGMA" not in sql:  # plain ALTERs: same set of changes
            extra = added - set(_ADD.findall(sql))
            assert set(_ADD.findall(sql)) <= added, tag
            # columns the hand-written 0009 added while its snapshot repeated the old state
            # show up in the next diff, which is what drizzle-kit would generate too
            custom_sql = (HISTORY / "0009_reconcile-missing-columns.sql").read_text()
            assert all(f"`{column}`" in custom_sql for _, column in extra), (tag, extra)
            assert not extra or tag == "0010_add_archive_columns", (tag, extra)
            assert created == set(_INDEX.findall(sql)), tag
            assert all(isinstance(op, (o.AddColumn, o.CreateIndex)) for op in plan.operations)
        else:
            assert {op.table for op in plan.operations if not isinstance(op, o.CreateIndex)} \
                <= set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?`(?:__new_)?(\w+?)(?:_new)?`",
                                  sql)), tag


def _apply(db: Path, statements: list[str]) -> None:
    conn = sqlite3.connect(str(db), isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("BEGIN")
        for statement in statements:
            conn.execute(statement)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        conn.execute("COMMIT")
    finally:
        conn.close()


def test_our_rendering_replays_the_history(tmp_path: Path) -> None:
    """Real 0000, then each later step rendered by us from the snapshot diff: the database ends
    equal to a fresh one created from the last snapshot, with the seeded rows still there."""
    dialect = get_dialect("sqlite")
    history = _history()
    db = tmp_path / "replayed.db"
    _apply(db, split_statements((HISTORY / f"{history[0][0]}.sql").read_text(encoding="utf-8")))
    conn = sqlite3.connect(str(db))
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    conn.close()
    for (_, prev_path), (_tag, path) in zip(history, history[1:]):
        plan = diff(dialect.snapshot_from_json(_load(prev_path)),
                    dialect.snapshot_from_json(_load(path)))
        _apply(db, dialect.render(plan.operations, plan.before, plan.after))
    last = dialect.snapshot_from_json(_load(history[-1][1]))
    fresh_plan = diff(dialect.empty_snapshot(), last)
    fresh = tmp_path / "fresh.db"
    _apply(fresh, dialect.render(fresh_plan.operations, fresh_plan.before, fresh_plan.after))
    assert sqlite_catalog(db) == sqlite_catalog(fresh)
    assert set(tables) <= set(sqlite_catalog(db))


SCHEMA = {"tables": {"notes": {"columns": {"id": {"type": "integer", "primary_key": True},
                                           "body": "text"}}}}


def _continue(tmp_path: Path, source: Path) -> tuple[Project, dict, dict]:
    project = Project(tmp_path / "p", dialects=["sqlite"])
    shutil.copytree(source, project.folder("sqlite"))
    before = _load(project.folder("sqlite") / "meta" / "_journal.json")
    project.write(SCHEMA["tables"])
    result = project.compile(allow_destructive=True, name="add_notes")
    assert result.outputs["sqlite"].migration is not None
    return project, before, _load(project.folder("sqlite") / "meta" / "_journal.json")


def test_continuing_the_real_folder(tmp_path: Path) -> None:
    project, before, after = _continue(tmp_path, HISTORY)
    assert after["entries"][:-1] == before["entries"]
    entry = after["entries"][-1]
    assert entry["idx"] == 11 and entry["tag"] == "0011_add_notes"  # after the 6/7 gap
    assert entry["when"] > max(e["when"] for e in before["entries"])
    meta = project.folder("sqlite") / "meta"
    new = _load(meta / "0011_snapshot.json")
    assert new["prevId"] == _load(meta / "0010_snapshot.json")["id"] != ORIGIN_ID
    # earlier files untouched
    for path in HISTORY.rglob("*"):
        if path.is_file() and path.name != "_journal.json":
            assert (project.folder("sqlite") / path.relative_to(HISTORY)).read_bytes() == \
                path.read_bytes()
    # the continued folder applies on top of the real history with agorschema's runner
    import agor_schema

    url = f"sqlite:///{tmp_path / 'agor.db'}"
    result = agor_schema.migrate(url, project.folder("sqlite"))
    assert result.applied_tags[-1] == "0011_add_notes"
    assert set(sqlite_catalog(tmp_path / "agor.db")) == {"notes"}


def test_continuing_a_folder_with_hand_written_entries(tmp_path: Path) -> None:
    """Agor's newer folder: journal entries beyond the last snapshot file (no snapshots)."""
    project, before, after = _continue(tmp_path, AGOR / "sqlite-latest-snapshot")
    last = before["entries"][-1]
    entry = after["entries"][-1]
    assert entry["idx"] == last["idx"] + 1
    assert entry["tag"] == f"{last['idx'] + 1:04d}_add_notes"
    assert entry["when"] > max(e["when"] for e in before["entries"])
    meta = project.folder("sqlite") / "meta"
    new = _load(meta / f"{entry['tag'][:4]}_snapshot.json")
    assert new["prevId"] == _load(meta / "0103_snapshot.json")["id"]
