"""The PostgreSQL fixture gives each test its own real, empty database."""

from __future__ import annotations

import pytest
from pg_cluster import connect, with_database

_seen: list[str] = []


@pytest.mark.parametrize("run", [1, 2])
def test_pg_url_is_fresh_empty_database(pg_url: str, run: int) -> None:
    assert pg_url.startswith("postgresql://")
    with connect(pg_url) as conn:
        name = conn.execute("SELECT current_database()").fetchone()[0]
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()[0]
        assert tables == 0
        conn.execute("CREATE TABLE leftover (id integer)")
    assert name not in _seen, "each test must get its own database"
    _seen.append(name)


def test_pg_conn_reads_catalog(pg_conn) -> None:
    version = pg_conn.execute("SHOW server_version_num").fetchone()[0]
    assert int(version) >= 120000


def test_with_database_replaces_only_the_path() -> None:
    url = "postgresql://u:p@h:5433/old?sslmode=disable"
    assert with_database(url, "new") == "postgresql://u:p@h:5433/new?sslmode=disable"
