"""Migration folders byte-for-byte as drizzle-kit 0.31 writes them, over several compiles."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from catalog import Project

from agor_schema.journal import BREAKPOINT
from agor_schema.snapshot import ORIGIN_ID

SQLITE_KEYS = ["version", "dialect", "id", "prevId", "tables", "views", "enums", "_meta",
               "internal"]
PG_KEYS = ["id", "prevId", "version", "dialect", "tables", "enums", "schemas", "sequences",
           "roles", "policies", "views", "_meta"]
V1 = {
    "users": {"columns": {"id": {"type": "integer", "primary_key": True},
                          "name": {"type": "text", "not_null": True},
                          "email": "text"},
              "indexes": {"users_name_idx": ["name"]}},
    "posts": {"columns": {"id": {"type": "integer", "primary_key": True},
                          "user_id": {"type": "integer", "references": "users.id",
                                      "on_delete": "cascade"},
                          "title": "text"}},
}


def steps() -> list[dict]:
    v2 = copy.deepcopy(V1)
    v2["users"]["columns"]["bio"] = {"type": "text", "default": "héllo"}
    v3 = copy.deepcopy(v2)
    v3["people"] = v3.pop("users")
    v3["people"]["renamed_from"] = "users"
    v3["people"]["columns"]["email"] = {"type": "text", "not_null": True, "default": "x"}
    v3["people"]["columns"]["mail"] = {**v3["people"]["columns"].pop("email"),
                                       "renamed_from": "email"}
    v3["posts"]["columns"]["user_id"]["references"] = "people.id"
    return [V1, v2, v3]


def _pairs(text: str) -> list:
    return json.loads(text, object_pairs_hook=lambda pairs: pairs)


def _keys(pairs) -> list[str]:
    return [k for k, _ in pairs]


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Project:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # `when` must still increase
    project = Project(tmp_path / "p")
    for doc in steps():
        project.write(doc)
        result = project.compile()
        assert result.changed
    return project


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_folder_layout_and_formats(project: Project, dialect: str) -> None:
    folder = project.folder(dialect)
    journal_text = (folder / "meta" / "_journal.json").read_text(encoding="utf-8")
    journal = json.loads(journal_text)
    # journal: 2-space indent, no trailing newline, drizzle's key order
    assert journal_text == json.dumps(journal, indent=2)
    top = _pairs(journal_text)
    assert _keys(top) == ["version", "dialect", "entries"]
    assert journal["version"] == "7"
    assert journal["dialect"] == ("sqlite" if dialect == "sqlite" else "postgresql")
    entries = journal["entries"]
    assert [e["idx"] for e in entries] == [0, 1, 2]
    for entry in dict(top)["entries"]:
        assert _keys(entry) == ["idx", "version", "when", "tag", "breakpoints"]
    whens = [e["when"] for e in entries]
    assert all(b > a for a, b in zip(whens, whens[1:])), whens
    assert all(e["version"] == ("6" if dialect == "sqlite" else "7") for e in entries)
    assert all(e["breakpoints"] is True for e in entries)
    assert [e["tag"] for e in entries][1] == "0001_add_users_bio"
    assert entries[2]["tag"].startswith("0002_rename_users_to_people")

    previous = ORIGIN_ID
    ids = set()
    for entry in entries:
        tag = entry["tag"]
        assert tag.startswith(f"{entry['idx']:04d}_")
        sql = (folder / f"{tag}.sql").read_text(encoding="utf-8")
        # statements joined by the exact marker plus newline; nothing after the last one
        assert not sql.rstrip().endswith(BREAKPOINT)
        assert sql.count(BREAKPOINT) == sql.count(BREAKPOINT + "\n")
        assert sql.strip() and "--> statement-breakpoint\n--> statement-breakpoint" not in sql
        snapshot_text = (folder / "meta" / f"{tag[:4]}_snapshot.json").read_text(encoding="utf-8")
        snapshot = json.loads(snapshot_text)
        assert snapshot_text == json.dumps(snapshot, indent=2, ensure_ascii=False)
        assert _keys(_pairs(snapshot_text)) == (SQLITE_KEYS if dialect == "sqlite" else PG_KEYS)
        assert snapshot["version"] == ("6" if dialect == "sqlite" else "7")
        assert snapshot["prevId"] == previous
        assert snapshot["id"] not in ids and snapshot["id"] != ORIGIN_ID
        ids.add(snapshot["id"])
        previous = snapshot["id"]
    last = json.loads((folder / "meta" / "0002_snapshot.json").read_text(encoding="utf-8"))
    if dialect == "sqlite":
        assert last["_meta"] == {"schemas": {}, "tables": {'"users"': '"people"'},
                                 "columns": {'"people"."email"': '"people"."mail"'}}
        assert "héllo" in (folder / "meta" / "0001_snapshot.json").read_text(encoding="utf-8")
    else:
        assert _keys(dict(_pairs(json.dumps(last)))["_meta"]) == ["columns", "schemas", "tables"]
        assert "public.people" in last["tables"]
    # renames come first in the file
    sql = (folder / f"{entries[2]['tag']}.sql").read_text(encoding="utf-8")
    statements = sql.split(BREAKPOINT + "\n")
    leading = [s for s in statements[:3] if "RENAME" in s]
    assert "RENAME TO" in statements[0]
    assert any("RENAME COLUMN" in s for s in leading), statements


def test_compile_twice_writes_nothing_and_is_reproducible(project: Project, tmp_path: Path,
                                                          monkeypatch) -> None:
    again = project.compile()
    assert not again.changed and again.written == []
    # a fresh clone compiling the same history reproduces every byte
    clone = Project(tmp_path / "clone")
    for doc in steps():
        clone.write(doc)
        clone.compile()
    for path in sorted((project.root / "drizzle").rglob("*")):
        if path.is_file():
            twin = clone.root / path.relative_to(project.root)
            assert twin.read_bytes() == path.read_bytes(), path


def test_when_increases_even_when_the_clock_goes_back(tmp_path: Path, monkeypatch) -> None:
    project = Project(tmp_path / "p", dialects=["sqlite"])
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1900000000")
    project.write(V1)
    project.compile()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1000000000")
    doc = copy.deepcopy(V1)
    doc["users"]["columns"]["bio"] = "text"
    project.write(doc)
    project.compile(name="add-bio")
    journal = json.loads((project.folder("sqlite") / "meta" / "_journal.json").read_text())
    first, second = journal["entries"]
    assert second["when"] == first["when"] + 1
    assert second["tag"] == "0001_add-bio"


def test_custom_migration_repeats_state_with_new_id(tmp_path: Path) -> None:
    project = Project(tmp_path / "p")
    project.write(V1)
    project.compile()
    result = project.compile(name="backfill", custom=True)
    for dialect in ("sqlite", "postgres"):
        meta = project.folder(dialect) / "meta"
        first = json.loads((meta / "0000_snapshot.json").read_text())
        second = json.loads((meta / "0001_snapshot.json").read_text())
        assert second["prevId"] == first["id"] and second["id"] != first["id"]
        assert second["tables"] == first["tables"]
        assert result.outputs[dialect].migration.tag == "0001_backfill"
        assert (project.folder(dialect) / "0001_backfill.sql").read_text().startswith("--")
    # compiling afterwards sees no change (the custom snapshot repeats the state)
    assert not project.compile().changed


def test_first_snapshot_prev_id_is_origin(tmp_path: Path) -> None:
    project = Project(tmp_path / "p")
    project.write(V1)
    project.compile()
    for dialect in ("sqlite", "postgres"):
        snap = json.loads((project.folder(dialect) / "meta" / "0000_snapshot.json").read_text())
        assert snap["prevId"] == "00000000-0000-0000-0000-000000000000"
