"""Every real history in ../shared/data applies with agorschema's runner exactly as with
drizzle-orm 0.44.7's migrator: same catalog, same bookkeeping rows.

The corpora (../shared/data/corpus and Agor's complete SQLite folder) hold what real teams
write: dittofeed's `BEGIN; … COMMIT;` file, homarr's SQLite `COMMIT TRANSACTION; PRAGMA
foreign_keys = OFF; BEGIN TRANSACTION;` files, kaneo's `when` going backwards, Dokploy's
drizzle-kit 0.x `"dialect": "pg"` journal with 186 entries. Each is applied to an empty real
database twice, once by each migrator, and the catalogs are compared object by object.
Skipped cleanly when ../shared is absent.
"""

from __future__ import annotations

import sqlite3
import tarfile
from pathlib import Path
from typing import Any

import pytest
from pg_cluster import connect, create_database, drop_database
from test_runner_interop import drizzle_migrate, drizzle_node  # noqa: F401 - fixture

from agor_schema.journal import read_journal
from agor_schema.runner import migrate, status

CORPORA = [
    ("homarr-labs__homarr__sqlite", "sqlite"),
    ("richardr1126__openreader__sqlite", "sqlite"),
    ("agor/sqlite-2025-11", "sqlite"),
    ("dittofeed__dittofeed__postgresql", "postgres"),
    ("homarr-labs__homarr__postgresql", "postgres"),
    ("usekaneo__kaneo__postgresql", "postgres"),
    ("Dokploy__dokploy__postgresql", "postgres"),
]


def corpus_folder(shared_dir: Path, name: str, tmp_path: Path) -> Path:
    """The migrations folder of one corpus (the large one is unpacked into tmp_path)."""
    if name.startswith("agor/"):
        folder = shared_dir / "data" / name
    else:
        root = shared_dir / "data" / "corpus" / name
        folder = root / "migrations"
        archive = root / "migrations.tar.xz"
        if not folder.is_dir() and archive.is_file():
            with tarfile.open(archive) as tar:
                tar.extractall(tmp_path / "corpus", filter="data")
            folder = tmp_path / "corpus" / "migrations"
    if not (folder / "meta" / "_journal.json").is_file():
        pytest.skip(f"{folder} not present")
    return folder


# --- catalogs ----------------------------------------------------------------------------


def sqlite_dump(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master "
            "WHERE name NOT LIKE '%drizzle_migrations%' ORDER BY type, name").fetchall()
    finally:
        conn.close()


def sqlite_rows(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT hash, created_at FROM __drizzle_migrations "
                            "ORDER BY created_at, hash").fetchall()
    finally:
        conn.close()


_USER = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'drizzle', 'pg_toast')"
PG_DUMP = {
    "relations": f"""
        SELECT n.nspname, c.relname, c.relkind FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_USER}""",
    "columns": f"""
        SELECT n.nspname, c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
               a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE {_USER} AND c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0
          AND NOT a.attisdropped""",
    "constraints": f"""
        SELECT n.nspname, c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_USER}""",
    "indexes": f"""
        SELECT n.nspname, i.relname, pg_get_indexdef(ix.indexrelid), ix.indisvalid
        FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
        JOIN pg_namespace n ON n.oid = i.relnamespace WHERE {_USER}""",
    "enums": f"""
        SELECT n.nspname, t.typname, e.enumsortorder, e.enumlabel
        FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
        JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {_USER}""",
    "functions": f"""
        SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), p.prosrc
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {_USER}""",
    "triggers": f"""
        SELECT n.nspname, c.relname, t.tgname, pg_get_triggerdef(t.oid)
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_USER} AND NOT t.tgisinternal""",
    "extensions": "SELECT extname FROM pg_extension",
}


def pg_dump(url: str) -> dict[str, list[tuple]]:
    with connect(url) as conn:
        return {kind: sorted(conn.execute(sql).fetchall(), key=repr)
                for kind, sql in PG_DUMP.items()}


def pg_rows(url: str) -> list[tuple]:
    with connect(url) as conn:
        return conn.execute("SELECT hash, created_at FROM drizzle.__drizzle_migrations "
                            "ORDER BY created_at, hash").fetchall()


# --- the comparison ------------------------------------------------------------------------


@pytest.mark.parametrize("name,dialect", CORPORA, ids=[c[0] for c in CORPORA])
def test_history_applies_like_drizzle_orm(
    name: str, dialect: str, shared_dir: Path, tmp_path: Path, drizzle_node: Path,  # noqa: F811
    request: pytest.FixtureRequest,
) -> None:
    folder = corpus_folder(shared_dir, name, tmp_path)
    entries = read_journal(folder).entries
    if dialect == "sqlite":
        ours, theirs = tmp_path / "ours.db", tmp_path / "theirs.db"
        result = migrate(f"sqlite:///{ours}", folder)
        drizzle_migrate(drizzle_node, "sqlite", str(theirs), folder)
        assert sqlite_dump(ours) == sqlite_dump(theirs)
        assert sum(1 for row in sqlite_dump(ours) if row[0] == "table") >= 8
        assert sqlite_rows(ours) == sqlite_rows(theirs)
        assert len(sqlite_rows(ours)) == len(entries)
        after = status(f"sqlite:///{ours}", folder)
    else:
        admin = request.getfixturevalue("pg_admin_url")
        if admin is None:
            request.getfixturevalue("pg_url")  # skips (or fails under CI) with the reason
        ours_url, theirs_url = create_database(admin), create_database(admin)
        try:
            result = migrate(ours_url, folder)
            drizzle_migrate(drizzle_node, "postgres", theirs_url, folder)
            ours, theirs = pg_dump(ours_url), pg_dump(theirs_url)
            for kind in PG_DUMP:
                assert ours[kind] == theirs[kind], kind
            assert sum(1 for row in ours["relations"] if row[2] == "r") >= 8
            assert pg_rows(ours_url) == pg_rows(theirs_url)
            assert len(pg_rows(ours_url)) == len(entries)
            after = status(ours_url, folder)
        finally:
            drop_database(admin, ours_url)
            drop_database(admin, theirs_url)
    assert len(result.applied) == len(entries)
    assert after.pending == []
    assert not [p for p in after.problems if p.blocking]


def test_files_with_transaction_control_run_as_written(shared_dir: Path, tmp_path: Path) -> None:
    """homarr's SQLite files that end drizzle-orm's transaction run as written, and say so."""
    folder = corpus_folder(shared_dir, "homarr-labs__homarr__sqlite", tmp_path)
    result = migrate(f"sqlite:///{tmp_path / 'h.db'}", folder)
    as_written = {m.tag: m.notes for m in result.applied if m.mode == "as_written"}
    assert "0001_mixed_titanium_man" in as_written
    notes = as_written["0001_mixed_titanium_man"]
    assert notes[0] == ("ran as written: it contains transaction control "
                        "(COMMIT TRANSACTION at line 1)")
    assert any("left a transaction open" in n for n in notes)
    conn = sqlite3.connect(tmp_path / "h.db")
    try:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()


def pg_only(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue("pg_url")


def test_dittofeed_begin_commit_file_runs_as_written(
    shared_dir: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    folder = corpus_folder(shared_dir, "dittofeed__dittofeed__postgresql", tmp_path)
    url = pg_only(request)
    result = migrate(url, folder)
    modes = {m.tag: m.mode for m in result.applied}
    assert modes.pop("0002_spicy_inertia") == "as_written"
    assert set(modes.values()) == {"whole_file"}  # DO $$ BEGIN … END $$ is not control
