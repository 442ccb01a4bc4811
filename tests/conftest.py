"""Shared fixtures: a fresh SQLite URL and a fresh, empty real PostgreSQL database per test.

The PostgreSQL source (environment URL, local throwaway cluster, testcontainers) is
described in ``tests/pg_cluster.py``. With ``CI=true`` a missing PostgreSQL fails the
test instead of skipping it, so CI can never pass by skipping every PostgreSQL test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from pg_cluster import NoPostgres, admin_url, connect, create_database, drop_database

SHARED = Path(__file__).resolve().parents[2] / "shared"


def in_ci() -> bool:
    """True when the environment says this is a CI run (missing services must fail)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing(reason: str) -> None:
    """Skip locally, fail under CI=true."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: required, not skipped)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _no_database_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI takes its database from AGORSCHEMA_DATABASE_URL / DATABASE_URL: a developer's
    environment must not redirect the tests (tests that want them set them)."""
    monkeypatch.delenv("AGORSCHEMA_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a not-yet-existing SQLite file in this test's tmp dir (absolute form)."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str | None]:
    """Admin URL of the session's PostgreSQL server, or None (reason in `_pg_problem`)."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(admin_url())
        except NoPostgres as exc:
            _pg_problem.append(str(exc))
            yield None
            return
        yield url


_pg_problem: list[str] = []


@pytest.fixture
def pg_url(pg_admin_url: str | None) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test, as a postgresql:// URL."""
    if pg_admin_url is None:
        missing(_pg_problem[-1] if _pg_problem else "no PostgreSQL available")
        return
    url = create_database(pg_admin_url)
    try:
        yield url
    finally:
        drop_database(pg_admin_url, url)


_bouncers: dict[str, int] = {}


@pytest.fixture(scope="session")
def _bouncer_stack(pg_admin_url: str | None) -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


@pytest.fixture
def via_pgbouncer(pg_url: str, pg_admin_url: str, _bouncer_stack: ExitStack) -> Any:
    """`via_pgbouncer(mode)`: `pg_url` reached through a real PgBouncer in pool_mode `mode`
    (session or transaction), one PgBouncer per mode per test session. Missing PgBouncer:
    skipped locally, failed under CI=true."""
    from pgbouncer import NoPgBouncer, pgbouncer, through

    def url(mode: str) -> str:
        if mode not in _bouncers:
            try:
                _bouncers[mode] = _bouncer_stack.enter_context(pgbouncer(pg_admin_url, mode))
            except NoPgBouncer as exc:
                missing(str(exc))
        return through(pg_url, _bouncers[mode])

    return url


@pytest.fixture
def pg_conn(pg_url: str) -> Iterator[Any]:
    """An autocommit psycopg connection to `pg_url`, for catalog reads in assertions."""
    conn = connect(pg_url)
    try:
        yield conn
    finally:
        conn.close()


def shared_missing(path: Path) -> str:
    """The skip reason of every test that reads ../shared: says what is needed and why."""
    return (f"needs ../shared: reads the real drizzle projects in {path}, which live beside "
            "the repo (never copied into it) and are not present here")


@pytest.fixture
def shared_dir() -> Path:
    """The ../shared folder beside the repo (read-only corpus); skipped when absent."""
    if not SHARED.is_dir():
        pytest.skip(shared_missing(SHARED))
    return SHARED


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """An empty database of each engine behind the engine-neutral view of tests/engines.py.

    PostgreSQL is only started when a postgres-parametrized test runs."""
    from engines import PostgresEngine, SqliteEngine

    if request.param == "postgres":
        yield PostgresEngine("postgres", request.getfixturevalue("pg_conn"))
        return
    import sqlite3

    conn = sqlite3.connect(tmp_path / "engine.db", isolation_level=None)
    try:
        yield SqliteEngine("sqlite", conn)
    finally:
        conn.close()
