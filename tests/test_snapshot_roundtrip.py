"""Every real snapshot (six corpora and Agor) reads and writes back equal as data: enum
`typeSchema`, SQLite `_meta` renames, keys older drizzle-kit versions left out, and tables of
non-public PostgreSQL schemas keyed apart from public ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from corpus import AGOR, NAMES, corpus_folder

from agor_schema.dialects import get_dialect


def _dialect_of(document: dict):
    return get_dialect("sqlite" if document["dialect"] == "sqlite" else "postgres")


def _round_trip(path: Path) -> tuple[dict, dict]:
    document = json.loads(path.read_text(encoding="utf-8"))
    dialect = _dialect_of(document)
    return document, dialect.snapshot_to_json(dialect.snapshot_from_json(document))


@pytest.mark.parametrize("name", NAMES)
def test_every_corpus_snapshot_round_trips(shared_dir: Path, tmp_path_factory, name: str) -> None:
    folder = corpus_folder(name, tmp_path_factory.getbasetemp() / "corpus")
    files = sorted((folder / "meta").glob("*_snapshot.json"))
    assert files
    for path in files:
        document, written = _round_trip(path)
        assert written == document, path.name


def test_agor_snapshots_round_trip(shared_dir: Path) -> None:
    files = sorted(AGOR.glob("*/meta/*_snapshot.json")) + sorted(AGOR.glob("*/*/meta/*.json"))
    assert len(files) >= 10
    for path in files:
        if path.name.startswith("_"):
            continue
        document, written = _round_trip(path)
        assert written == document, path


def test_enum_type_schema_and_sqlite_renames_are_kept() -> None:
    pg = get_dialect("postgres")
    column = {"name": "m", "type": "mood", "typeSchema": "public", "primaryKey": False,
              "notNull": False}
    doc = {"id": "a", "prevId": "b", "version": "7", "dialect": "postgresql",
           "tables": {"public.t": {"name": "t", "schema": "", "columns": {"m": column},
                                   "indexes": {}, "foreignKeys": {}, "compositePrimaryKeys": {},
                                   "uniqueConstraints": {}, "policies": {},
                                   "checkConstraints": {}, "isRLSEnabled": False}},
           "enums": {"public.mood": {"name": "mood", "schema": "public", "values": ["a"]}},
           "schemas": {}, "sequences": {}, "roles": {}, "policies": {}, "views": {},
           "_meta": {"columns": {}, "schemas": {}, "tables": {}}}
    snap = pg.snapshot_from_json(doc)
    assert snap.tables["t"].columns["m"].type_schema == "public"
    assert pg.snapshot_to_json(snap) == doc
    sqlite = get_dialect("sqlite")
    meta = {"schemas": {}, "tables": {}, "columns": {'"t"."old"': '"t"."new"'}}
    sdoc = {"version": "6", "dialect": "sqlite", "id": "a", "prevId": "b", "tables": {},
            "views": {}, "enums": {}, "_meta": meta, "internal": {"indexes": {}}}
    assert sqlite.snapshot_to_json(sqlite.snapshot_from_json(sdoc))["_meta"] == meta


def test_same_table_name_in_two_pg_schemas_does_not_collide() -> None:
    pg = get_dialect("postgres")

    def table(schema: str) -> dict:
        return {"name": "users", "schema": schema,
                "columns": {"id": {"name": "id", "type": "integer", "primaryKey": True,
                                   "notNull": True}},
                "indexes": {}, "foreignKeys": {}, "compositePrimaryKeys": {},
                "uniqueConstraints": {}, "policies": {}, "checkConstraints": {},
                "isRLSEnabled": False}

    doc = {"id": "a", "prevId": "b", "version": "7", "dialect": "postgresql",
           "tables": {"public.users": table(""), "auth.users": table("auth")},
           "enums": {}, "schemas": {"auth": "auth"}, "sequences": {}, "roles": {},
           "policies": {}, "views": {}, "_meta": {"columns": {}, "schemas": {}, "tables": {}}}
    snap = pg.snapshot_from_json(doc)
    assert len(snap.tables) == 2
    assert pg.snapshot_to_json(snap) == doc
