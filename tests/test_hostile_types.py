"""Type changes with rows in both databases: either both engines hold the same logical values
afterwards, or compile refuses the change naming table, column, from and to.

hypothesis draws a (from, to) pair of logical types and a few rows of values of the first;
the rows are written into a real SQLite file and a real PostgreSQL database (each in its own
storage: epoch ms, 0/1, ISO text in SQLite), the column's type is changed in the YAML, and
`compile` + `migrate` run through the real CLI. The values read back from both engines are
then compared as logical values of the new type.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from hostile_helpers import cli, make_project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pg_cluster import connect, create_database, drop_database

TYPES = ["integer", "bigint", "real", "numeric(12,2)", "text", "boolean", "timestamp", "date",
         "json", "uuid"]
UTC = dt.timezone.utc


def _values(kind: str) -> st.SearchStrategy:
    if kind == "integer":
        return st.integers(-10**6, 10**6)
    if kind == "bigint":
        return st.integers(0, 4 * 10**12)  # epoch milliseconds up to ~2096
    if kind == "real":
        return st.integers(-4000, 4000).map(lambda n: n / 4)  # exact in float4
    if kind == "numeric(12,2)":
        return st.integers(-10**6, 10**6).map(lambda n: Decimal(n) / 100)
    if kind == "text":
        return st.text("abcxyz019 -", max_size=12)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.integers(0, 4 * 10**12).map(
            lambda ms: dt.datetime.fromtimestamp(ms / 1000, UTC).replace(
                microsecond=(ms % 1000) * 1000))
    if kind == "date":
        return st.dates(dt.date(1970, 1, 1), dt.date(2100, 12, 31))
    if kind == "json":
        return st.dictionaries(st.sampled_from("abc"), st.integers(0, 9), max_size=3)
    return st.uuids(version=4)


@st.composite
def changes(draw):
    before = draw(st.sampled_from(TYPES))
    after = draw(st.sampled_from([t for t in TYPES if t != before]))
    values = _values(before)
    if before == "text" and after in ("integer", "bigint", "real", "numeric(12,2)"):
        # the change is sound for numbers written as text (other text: PostgreSQL refuses
        # the migration, see test_text_to_number_refused_by_postgresql_for_other_text)
        values = st.integers(0, 9999).map(str)
    rows = draw(st.lists(st.one_of(st.none(), values), min_size=1, max_size=4))
    return before, after, rows


def _sqlite_value(kind: str, value):
    if value is None:
        return None
    if kind == "timestamp":
        return round(value.timestamp() * 1000)
    if kind == "boolean":
        return int(value)
    if kind in ("date", "uuid"):
        return str(value)
    if kind == "json":
        return json.dumps(value)
    if kind == "numeric(12,2)":
        return float(value)
    return value


def _pg_value(kind: str, value):
    from psycopg.types.json import Jsonb

    if kind == "json" and value is not None:
        return Jsonb(value)
    return value


def _logical(kind: str, value, engine: str):
    """A value read back, as the logical value of `kind` (both engines map to the same)."""
    if value is None:
        return None
    if kind in ("integer", "bigint"):
        return int(value)
    if kind in ("real", "numeric(12,2)"):
        return round(float(value), 2)
    if kind == "boolean":
        return bool(value)
    if kind == "timestamp":
        if engine == "sqlite":
            return int(value)
        return round(value.timestamp() * 1000)
    if kind == "date":
        return str(value)
    if kind == "json":
        return json.loads(value) if isinstance(value, str) else value
    if kind == "uuid":
        return str(value).lower()
    return str(value)


def _schema(kind: str) -> str:
    return ("tables:\n  t:\n    columns:\n      id: {type: integer, primary_key: true}\n"
            f'      c: {{type: "{kind}"}}\n')


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(change=changes())
def test_type_change_keeps_the_same_values_in_both_engines_or_is_refused(
        change, tmp_path_factory, pg_admin_url) -> None:
    if pg_admin_url is None:
        pytest.skip("no PostgreSQL")
    before, after, rows = change
    base = tmp_path_factory.mktemp("typechange")
    root = make_project(base / "project", _schema(before))
    assert cli("compile", root=root)[0] == 0
    db = base / "app.db"
    url = create_database(pg_admin_url)
    try:
        for target in (f"sqlite:///{db}", url):
            code, out = cli("migrate", "--database", target, root=root)
            assert code == 0, out
        lite = sqlite3.connect(db)
        lite.executemany("INSERT INTO t VALUES (?, ?)",
                         [(i, _sqlite_value(before, v)) for i, v in enumerate(rows)])
        lite.commit()
        lite.close()
        conn = connect(url)
        try:
            for i, v in enumerate(rows):
                conn.execute("INSERT INTO t VALUES (%s, %s)", (i, _pg_value(before, v)))
        finally:
            conn.close()
        (root / "schema" / "app.yaml").write_text(_schema(after), encoding="utf-8")
        code, out = cli("compile", "--allow-destructive", root=root)
        if code == 2:  # refused: the message names table, column, from and to
            assert "table 't', column 'c', field 'type'" in out, out
            assert "changing the type from" in out and "would not keep the values" in out
            return
        assert code == 0, out
        for line in out.splitlines():  # SQLite copies values: its warning never says converted
            if line.startswith("[sqlite]") or "[sqlite] warning" in line:
                assert "existing values are converted" not in line, line
        for target in (f"sqlite:///{db}", url):
            code, out = cli("migrate", "--database", target, root=root)
            assert code == 0, f"{before} -> {after}: {out}"
        lite = sqlite3.connect(db)
        sqlite_rows = [_logical(after, v, "sqlite") for (v,) in
                       lite.execute("SELECT c FROM t ORDER BY id")]
        lite.close()
        conn = connect(url)
        try:
            pg_rows = [_logical(after, v, "postgres") for (v,) in
                       conn.execute("SELECT c FROM t ORDER BY id")]
        finally:
            conn.close()
        assert sqlite_rows == pg_rows, f"{before} -> {after}: {rows}"
    finally:
        drop_database(pg_admin_url, url)


@pytest.mark.parametrize("before, after, says", [
    ("timestamp", "date", "from timestamp with time zone to date"),
    ("date", "timestamp", "from date to timestamp with time zone"),
    ("integer", "boolean", "from integer to boolean"),
    ("timestamp", "integer", "epoch milliseconds need a bigint column"),
])
def test_refused_type_change_names_table_column_from_and_to(before, after, says,
                                                            tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", _schema(before))
    assert cli("compile", root=root)[0] == 0
    text = _schema(after)
    (root / "schema" / "app.yaml").write_text(text, encoding="utf-8")
    code, out = cli("compile", root=root)
    assert code == 2, out
    line = text.splitlines().index(f'      c: {{type: "{after}"}}') + 1
    assert out.startswith(f"error: schema/app.yaml:{line}:17: table 't', column 'c', "
                          "field 'type': changing the type"), out
    assert says in out and "nothing was written" in out


def test_timestamp_to_bigint_keeps_epoch_milliseconds(tmp_path: Path, pg_url: str) -> None:
    """PostgreSQL timestamp -> bigint gets a working USING (epoch ms, what SQLite stores)."""
    root = make_project(tmp_path / "project", _schema("timestamp"))
    assert cli("compile", root=root)[0] == 0
    assert cli("migrate", "--database", pg_url, root=root)[0] == 0
    conn = connect(pg_url)
    try:
        conn.execute("INSERT INTO t VALUES (1, '2024-01-02T03:04:05.678Z')")
        (root / "schema" / "app.yaml").write_text(_schema("bigint"), encoding="utf-8")
        code, out = cli("compile", root=root)
        assert code == 0, out
        assert "USING (EXTRACT(EPOCH FROM" in out or "EXTRACT(EPOCH" in \
            next((root / "drizzle" / "postgres").glob("0001_*.sql")).read_text()
        code, out = cli("migrate", "--database", pg_url, root=root)
        assert code == 0, out
        assert conn.execute("SELECT c FROM t").fetchone()[0] == 1704164645678
    finally:
        conn.close()


def test_text_to_number_refused_by_postgresql_for_other_text(tmp_path: Path,
                                                             pg_url: str) -> None:
    root = make_project(tmp_path / "project", _schema("text"))
    assert cli("compile", root=root)[0] == 0
    assert cli("migrate", "--database", pg_url, root=root)[0] == 0
    conn = connect(pg_url)
    try:
        conn.execute("INSERT INTO t VALUES (1, '12'), (2, 'twelve')")
        (root / "schema" / "app.yaml").write_text(_schema("integer"), encoding="utf-8")
        code, out = cli("compile", root=root)
        assert code == 0 and "a value that is not a number makes the migration fail" in out
        code, out = cli("migrate", "--database", pg_url, root=root)
        assert code == 1 and "0001_" in out and "twelve" in out, out
        assert conn.execute("SELECT c FROM t ORDER BY id").fetchall() == [("12",), ("twelve",)]
    finally:
        conn.close()
