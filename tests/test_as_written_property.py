"""Property: a failed as-written file's report says exactly what the database holds.

Random files mix `CREATE TABLE tN` with BEGIN, COMMIT, ROLLBACK, SAVEPOINT, ROLLBACK TO and
RELEASE in any order (valid or not for the engine) and end with a failing statement. After
the run, on the real engine, the tables that exist are exactly the CREATE statements the
report lists as committed; those it lists as rolled back do not exist; the canary survives
and the file is not recorded.
"""

from __future__ import annotations

import re
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from catalog import pg_reset
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from runner_helpers import write_folder

from agor_schema.runner import MigrationFailed, migrate

CONTROL = ["BEGIN;", "COMMIT;", "ROLLBACK;", "SAVEPOINT s1;", "SAVEPOINT s2;",
           "ROLLBACK TO SAVEPOINT s1;", "RELEASE SAVEPOINT s1;", "END;"]
CANARY = "CREATE TABLE canary (x integer);\nINSERT INTO canary VALUES (42);"

steps = st.lists(st.one_of(st.just("CREATE"), st.sampled_from(CONTROL)),
                 min_size=1, max_size=12)
# sequences that random draws reach only rarely, always tried first
EXAMPLES = [
    ["SAVEPOINT s1;", "CREATE", "ROLLBACK TO SAVEPOINT s1;", "CREATE", "COMMIT;"],
    ["CREATE", "COMMIT;", "CREATE", "ROLLBACK;", "CREATE"],
    ["COMMIT;", "SAVEPOINT s1;", "CREATE", "RELEASE SAVEPOINT s1;", "CREATE"],
    ["CREATE", "SAVEPOINT s1;", "CREATE", "SAVEPOINT s2;", "CREATE",
     "ROLLBACK TO SAVEPOINT s1;", "CREATE", "END;", "CREATE", "BEGIN;", "CREATE"],
]


def with_examples(test: Any) -> Any:
    for kinds in EXAMPLES:
        test = example(kinds=kinds)(test)
    return test


def build(kinds: list[str]) -> tuple[str, dict[int, str]]:
    """The file (one statement per line, ending in a failure) and statement number → table."""
    lines, tables = ["BEGIN;"], {}  # always as written (transaction control on line 1)
    for kind in kinds:
        if kind == "CREATE":
            tables[len(lines) + 1] = f"t{len(lines) + 1}"
            lines.append(f"CREATE TABLE t{len(lines) + 1} (x integer);")
        else:
            lines.append(kind)
    lines.append("INSERT INTO nope VALUES (1);")
    return "\n".join(lines), tables


def check_report(sql: str, tables: dict[int, str], run: Any, existing: Any) -> None:
    with pytest.raises(MigrationFailed) as info:
        run(sql)
    report = info.value.as_written
    assert report is not None, info.value
    committed = {tables[r.number] for r in report.committed}
    rolled_back = {tables[r.number] for r in report.rolled_back}
    have = existing()
    assert "canary" in have
    assert have - {"canary"} == committed, (sql, str(info.value))
    assert not (rolled_back & have)
    assert all(re.fullmatch(r"CREATE TABLE t\d+ \(x integer\);", r.sql)
               for r in report.committed + report.rolled_back)
    assert "the file was NOT recorded as applied" in str(info.value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@with_examples
@given(kinds=steps)
def test_sqlite_report_matches_the_database(kinds: list[str]) -> None:
    sql, tables = build(kinds)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_folder(Path(tmp) / "m", [("0000_canary", CANARY), ("0001_x", sql)])
        db = Path(tmp) / "app.db"

        def existing() -> set[str]:
            conn = sqlite3.connect(db)
            try:
                names = {r[0] for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")}
                recorded = conn.execute("SELECT count(*) FROM __drizzle_migrations").fetchone()
            finally:
                conn.close()
            assert recorded == (1,)  # the canary only: the file is not recorded
            return names - {"__drizzle_migrations"}

        check_report(sql, tables, lambda _: migrate(f"sqlite:///{db}", folder), existing)


def test_postgres_report_matches_the_database(pg_url: str, pg_conn: Any, tmp_path: Path) -> None:
    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @with_examples
    @given(kinds=steps)
    def prop(kinds: list[str]) -> None:
        pg_reset(pg_conn)
        sql, tables = build(kinds)
        with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
            folder = write_folder(Path(tmp) / "m", [("0000_canary", CANARY), ("0001_x", sql)],
                                  dialect="postgres")

            def existing() -> set[str]:
                assert pg_conn.execute(
                    "SELECT count(*) FROM drizzle.__drizzle_migrations").fetchone() == (1,)
                return {r[0] for r in pg_conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}

            check_report(sql, tables, lambda _: migrate(pg_url, folder), existing)

    prop()
