"""8 processes start `migrate` at the same moment on one fresh database: each migration once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from pg_cluster import connect
from runner_helpers import migrate_worker, sql_file, sqlite_path, sqlite_rows, write_folder

from agor_schema.dialects.capabilities import POSTGRES, setting_for

WORKERS = 8


# ~50 ms of work in both dialects, so that the racing runs really overlap
SLOW_RUN_ROW = (
    "INSERT INTO runs SELECT '0001' FROM (WITH RECURSIVE c(x) AS "
    "(SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) SELECT max(x) AS m FROM c) AS t;"
)


def history(dialect: str) -> list[tuple[str, str]]:
    """Migrations that fail loudly if applied twice (CREATE TABLE) and count their runs."""
    return [
        ("0000_init", sql_file("CREATE TABLE runs (tag text NOT NULL);",
                               "CREATE TABLE items (id integer PRIMARY KEY, name text);")),
        ("0001_seed", sql_file(SLOW_RUN_ROW,
                               "INSERT INTO items VALUES (1, 'a'), (2, 'b');")),
        ("0002_add", sql_file("ALTER TABLE items ADD COLUMN qty integer;",
                              "INSERT INTO runs VALUES ('0002');")),
        ("0003_index", sql_file("CREATE UNIQUE INDEX items_name ON items (name);",
                                "INSERT INTO runs VALUES ('0003');")),
        ("0004_more", sql_file("CREATE TABLE extra (x integer);",
                               "INSERT INTO items VALUES (3, 'c', 7);",
                               "INSERT INTO runs VALUES ('0004');")),
    ]


def run_all_at_once(
    url: str, folder: Path, options: dict[str, Any] | None = None, workers: int = WORKERS
) -> list[tuple[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(workers)
    queue = ctx.Queue()
    procs = [ctx.Process(target=migrate_worker, args=(url, str(folder), start, queue, options))
             for _ in range(workers)]
    for p in procs:
        p.start()
    outcomes = [queue.get(timeout=90) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    return outcomes


def check_outcomes(outcomes: list[tuple[str, Any]]) -> None:
    errors = [o[1] for o in outcomes if o[0] != "ok"]
    assert errors == [], errors
    applied = [tag for _, tags in outcomes for tag in tags]
    assert sorted(applied) == [t for t, _ in history("any")], "each migration applied exactly once"


def test_eight_processes_sqlite(sqlite_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", history("sqlite"))
    check_outcomes(run_all_at_once(sqlite_url, folder))
    path = sqlite_path(sqlite_url)
    assert sqlite_rows(path, "SELECT tag FROM runs ORDER BY tag") == [("0001",), ("0002",),
                                                                      ("0003",), ("0004",)]
    assert sqlite_rows(path, "SELECT count(*), count(DISTINCT created_at) "
                             "FROM __drizzle_migrations") == [(5, 5)]
    assert sqlite_rows(path, "SELECT id, name, qty FROM items ORDER BY id") == [
        (1, "a", None), (2, "b", None), (3, "c", 7)]


@pytest.mark.parametrize("lock", [setting_for(kind) for kind in POSTGRES.usable_locks])
def test_eight_processes_postgres(pg_url: str, tmp_path: Path, lock: str) -> None:
    folder = write_folder(tmp_path / "m", history("postgres"), dialect="postgres")
    check_outcomes(run_all_at_once(pg_url, folder, {"migrator_lock": lock}))
    with connect(pg_url) as conn:
        assert conn.execute("SELECT tag FROM runs ORDER BY tag").fetchall() == [
            ("0001",), ("0002",), ("0003",), ("0004",)]
        assert conn.execute(
            "SELECT array_agg(id ORDER BY id), count(DISTINCT created_at) "
            "FROM drizzle.__drizzle_migrations"
        ).fetchone() == ([1, 2, 3, 4, 5], 5)
        assert conn.execute("SELECT id, name, qty FROM items ORDER BY id").fetchall() == [
            (1, "a", None), (2, "b", None), (3, "c", 7)]
        assert conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
        ).fetchone() == (0,), "every run released its lock"
        if lock == "lease":
            assert conn.execute(
                "SELECT count(*) FROM drizzle.__drizzle_migrations_lock").fetchone() == (0,)


AS_WRITTEN = ("0005_as_written", "BEGIN;\nINSERT INTO runs VALUES ('0005');\nCOMMIT;\n"
              + SLOW_RUN_ROW.replace("'0001'", "'0005b'"))


def check_as_written_once(outcomes: list[tuple[str, Any]], tags: list[tuple]) -> None:
    """The as-written file (statements commit one by one) also ran exactly once."""
    errors = [o[1] for o in outcomes if o[0] != "ok"]
    assert errors == [], errors
    applied = sorted(tag for _, done in outcomes for tag in done)
    assert applied == sorted([t for t, _ in history("any")] + [AS_WRITTEN[0]])
    assert tags == [("0001",), ("0002",), ("0003",), ("0004",), ("0005",), ("0005b",)]


def test_eight_processes_sqlite_as_written_file(sqlite_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", [*history("sqlite"), AS_WRITTEN])
    outcomes = run_all_at_once(sqlite_url, folder)
    path = sqlite_path(sqlite_url)
    check_as_written_once(outcomes, sqlite_rows(path, "SELECT tag FROM runs ORDER BY tag"))
    assert sqlite_rows(path, "SELECT count(*) FROM __drizzle_migrations") == [(6,)]


@pytest.mark.parametrize("lock", [setting_for(kind) for kind in POSTGRES.usable_locks])
def test_eight_processes_postgres_as_written_file(
    pg_url: str, tmp_path: Path, lock: str
) -> None:
    """Every lock kind x transaction mode the profile lists (whole file above, as written
    here): a new engine profile runs the same two tests over its own table entries."""
    folder = write_folder(tmp_path / "m", [*history("postgres"), AS_WRITTEN], dialect="postgres")
    outcomes = run_all_at_once(pg_url, folder, {"migrator_lock": lock})
    with connect(pg_url) as conn:
        tags = conn.execute("SELECT tag FROM runs ORDER BY tag").fetchall()
        assert conn.execute("SELECT count(*) FROM drizzle.__drizzle_migrations").fetchone() \
            == (6,)
    check_as_written_once(outcomes, tags)
