"""`agorschema pull` from PostgreSQL into a project that also compiles for SQLite (the
default `init` project): the pulled schema compiles for both dialects, builds exactly the
catalog pull read in PostgreSQL (drift empty but for what pull reported), and applies on
SQLite. What SQLite lacks (index methods, storage parameters, part ordering and operator
classes, NULLS NOT DISTINCT) sits in `postgres:` overrides; defaults use the DSL's logical
spellings (`now`, `''`, enum labels) that mean the same in SQLite."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import pytest
import yaml
from catalog import Project, read_schema
from click.testing import CliRunner
from corpus import AGOR, NAMES, corpus_folder, dialect_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pg_cluster import connect, create_database, drop_database

import agor_schema
from agor_schema.cli import main
from agor_schema.drift import drift

PROBE = """
CREATE EXTENSION IF NOT EXISTS bloom; CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TYPE mood AS ENUM ('sad','ok');
CREATE TABLE t (id integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY, a integer,
  b text NOT NULL DEFAULT '', tags text[], doc jsonb, m mood DEFAULT 'ok', ts timestamp,
  tz timestamptz DEFAULT now(), u uuid DEFAULT gen_random_uuid(), n numeric(10,2),
  g integer GENERATED ALWAYS AS (a * 2) STORED,
  CONSTRAINT b_len CHECK (char_length(b) < 100),
  CONSTRAINT a_b UNIQUE NULLS NOT DISTINCT (a, b));
CREATE INDEX t_bloom ON t USING bloom (a) WITH (length=80);
CREATE INDEX t_trgm ON t USING gin (b gin_trgm_ops);
CREATE INDEX t_doc ON t USING gin (doc);
CREATE INDEX t_ff ON t (a) WITH (fillfactor=70);
CREATE INDEX t_desc ON t (a DESC NULLS LAST, lower(b));
CREATE INDEX t_part ON t (a) WHERE a > 0;
CREATE UNIQUE INDEX t_nnd ON t (b) NULLS NOT DISTINCT;
"""


def _cli(*args: str) -> dict:
    done = CliRunner().invoke(main, [*args, "--format", "json"], catch_exceptions=False)
    envelope = json.loads(done.output)
    assert done.exit_code == envelope["exit_code"]
    return envelope


def _pull_and_compile(root: Path, url: str) -> tuple[dict, dict]:
    """Pull `url` into a sqlite + postgres project and compile it: (pull envelope, schema)."""
    project = Project(root)
    pulled = _cli("pull", "--database", url, "--project", str(project.root))
    assert pulled["exit_code"] == 0, pulled
    compiled = _cli("compile", "--project", str(project.root))
    assert compiled["exit_code"] == 0, compiled
    [written] = pulled["result"]["written"]
    return pulled, yaml.safe_load(Path(written).read_text(encoding="utf-8"))


def _pg_drift(original: str, rebuilt: str, folder: Path) -> list:
    with connect(rebuilt) as conn:  # an operator class's extension is the database's own
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    agor_schema.migrate(rebuilt, folder)
    found = drift(read_schema(original), read_schema(rebuilt), actual="database", wanted="pulled schema")
    return [(c.table, c.name) for c in found.changes]


def test_probe_schema_compiles_for_both_dialects_and_rebuilds_postgres(
        pg_url: str, pg_admin_url: str, tmp_path: Path) -> None:
    with connect(pg_url) as conn:
        conn.execute(PROBE)
    pulled, schema = _pull_and_compile(tmp_path / "p", pg_url)
    table = schema["tables"]["t"]
    # what SQLite lacks is PostgreSQL's override; the base is the plain index
    assert table["indexes"]["t_bloom"] == {"columns": ["a"], "postgres": {
        "method": "bloom", "with": {"length": 80}, "extension": "bloom"}}
    assert table["indexes"]["t_trgm"] == {"columns": ["b"], "postgres": {
        "method": "gin", "parts": [{"column": "b", "opclass": "gin_trgm_ops"}]}}
    assert table["unique"] == [{"columns": ["a", "b"], "name": "a_b"}]
    assert table["postgres"]["unique"] == [{"columns": ["a", "b"], "name": "a_b",
                                            "nulls_not_distinct": True}]
    # logical defaults: the same meaning in SQLite's epoch-ms / text columns
    columns = table["columns"]
    assert columns["tz"]["default"] == "now" and columns["b"]["default"] == ""
    assert columns["m"]["default"] == "ok"
    # the unique index NULLS NOT DISTINCT cannot be an index in the DSL: reported by name
    warned = {(w.get("table"), w.get("name")): w for w in pulled["warnings"]}
    assert "NULLS NOT DISTINCT" in warned[("t", "t_nnd")]["message"]
    # gin_trgm_ops comes from pg_trgm, which no schema creates: the database needs it first
    assert "extension pg_trgm" in warned[("t", "t_trgm")]["message"]
    fitted = {f["name"] for f in pulled["result"]["fitted"]}
    assert {"t_bloom", "t_trgm", "t_doc", "t_ff", "t_desc", "a_b"} <= fitted
    # PostgreSQL: the same catalog but for what pull reported (GENERATED ALWAYS identity)
    rebuilt = create_database(pg_admin_url)
    try:
        changes = _pg_drift(pg_url, rebuilt, tmp_path / "p" / "drizzle" / "postgres")
        with connect(rebuilt) as conn:  # GENERATED ALWAYS is the nearest: BY DEFAULT
            assert conn.execute("INSERT INTO t (a) VALUES (1) RETURNING id").fetchone() == (1,)
    finally:
        drop_database(pg_admin_url, rebuilt)
    assert set(changes) <= set(warned), changes
    assert columns["id"] == {"type": "integer", "primary_key": True, "autoincrement": True}
    # SQLite: applies, and the defaults mean what they mean in PostgreSQL
    url = f"sqlite:///{tmp_path / 'app.db'}"
    agor_schema.migrate(url, tmp_path / "p" / "drizzle" / "sqlite")
    built = read_schema(url).tables["t"]
    assert {"t_bloom", "t_trgm", "t_doc", "t_ff", "t_desc", "t_part", "t_nnd", "a_b"} <= \
        set(built.indexes) | set(built.uniques)
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.execute("INSERT INTO t (a, tags) VALUES (1, '[]')")
        b, m, tz, u = db.execute("SELECT b, m, tz, u FROM t").fetchone()
    assert (b, m) == ("", "ok")
    assert isinstance(tz, int) and abs(tz - time.time() * 1000) < 60_000
    assert isinstance(u, str) and len(u) == 36 and u[14] == "4"
    # the fit is for the project's other dialects: a PostgreSQL-only project keeps the
    # options where pull found them
    alone = Project(tmp_path / "pg", dialects=["postgres"])
    pulled = _cli("pull", "--database", pg_url, "--project", str(alone.root))
    assert pulled["exit_code"] == 0 and "fitted" not in pulled["result"]
    [written] = pulled["result"]["written"]
    table = yaml.safe_load(Path(written).read_text(encoding="utf-8"))["tables"]["t"]
    assert "postgres" not in table and table["unique"][0]["nulls_not_distinct"] is True
    assert table["indexes"]["t_ff"] == {"columns": ["a"], "with": {"fillfactor": 70}}


# ------------------------------------------------------------------ option combinations

INDEX_FORMS = st.fixed_dictionaries({
    "method": st.sampled_from(["btree", "hash", "gin_trgm", "brin", "bloom"]),
    "desc": st.booleans(),
    "nulls_first": st.booleans(),
    "fillfactor": st.sampled_from([None, 70]),
    "where": st.booleans(),
    "unique": st.booleans(),
    "expression": st.booleans(),
})
UNIQUE_FORMS = st.fixed_dictionaries({
    "columns": st.sampled_from([["a"], ["a", "b"]]),
    "nulls_not_distinct": st.booleans(),
    "named": st.booleans(),
})


def _index_sql(name: str, form: dict) -> str:
    """One CREATE INDEX PostgreSQL accepts for these options (options a method does not
    take are left out)."""
    method = form["method"]
    with_ = []
    if method == "gin_trgm":
        parts, using = ["b gin_trgm_ops"], "gin"
    elif method in ("hash", "brin", "bloom"):
        parts, using = ["a"], method
        if method == "bloom":
            with_.append("length=80")
    else:
        using = "btree"
        order = (" DESC" if form["desc"] else "") + (" NULLS FIRST" if form["nulls_first"]
                                                     else "")
        parts = [f"a{order}"] + (["lower(b)"] if form["expression"] else [])
        if form["fillfactor"]:
            with_.append(f"fillfactor={form['fillfactor']}")
    unique = "UNIQUE " if form["unique"] and using == "btree" else ""
    tail = f" WITH ({', '.join(with_)})" if with_ else ""
    tail += " WHERE a > 0" if form["where"] else ""
    return f"CREATE {unique}INDEX {name} ON t USING {using} ({', '.join(parts)}){tail}"


def _unique_sql(i: int, form: dict) -> str:
    cols = ", ".join(form["columns"])
    name = f"t_u{i}" if form["named"] else f"t_{'_'.join(form['columns'])}_unique"
    nnd = " NULLS NOT DISTINCT" if form["nulls_not_distinct"] else ""
    return f"ALTER TABLE t ADD CONSTRAINT {name} UNIQUE{nnd} ({cols})"


def _reset(url: str) -> None:
    with connect(url) as conn:
        conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public; "
                     "CREATE EXTENSION bloom; CREATE EXTENSION pg_trgm")


@settings(max_examples=int(os.environ.get("PULL_FIT_EXAMPLES", "12")), deadline=None,
          derandomize=os.environ.get("CI") == "true",
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(indexes=st.lists(INDEX_FORMS, min_size=1, max_size=3),
       uniques=st.lists(UNIQUE_FORMS, max_size=2, unique_by=lambda u: tuple(u["columns"])),
       column_nnd=st.booleans())
def test_index_and_unique_options_fit_every_dialect(
        pg_url: str, pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory,
        indexes: list, uniques: list, column_nnd: bool) -> None:
    """Any mix of index methods, storage parameters, part options, partial and unique
    indexes and (named, NULLS NOT DISTINCT) unique constraints: the pulled schema compiles
    for SQLite and PostgreSQL, rebuilds PostgreSQL's catalog exactly and applies on SQLite."""
    _reset(pg_url)
    tmp = tmp_path_factory.mktemp("fit")
    statements = ["CREATE TABLE t (id integer PRIMARY KEY, a integer, b text, c integer"
                  + (", CONSTRAINT t_c_unique UNIQUE NULLS NOT DISTINCT (c)" if column_nnd
                     else "") + ")"]
    statements += [_index_sql(f"t_i{i}", form) for i, form in enumerate(indexes)]
    statements += [_unique_sql(i, form) for i, form in enumerate(uniques)]
    with connect(pg_url) as conn:
        for statement in statements:
            conn.execute(statement)
    pulled, _ = _pull_and_compile(tmp / "p", pg_url)
    # exact, but for the note that gin_trgm_ops needs pg_trgm in the database beforehand
    assert all("extension pg_trgm" in r["message"] for r in pulled["result"]["report"]), \
        (statements, pulled["warnings"])
    rebuilt = create_database(pg_admin_url)
    try:
        changes = _pg_drift(pg_url, rebuilt, tmp / "p" / "drizzle" / "postgres")
    finally:
        drop_database(pg_admin_url, rebuilt)
    assert changes == [], statements
    url = f"sqlite:///{tmp / 'app.db'}"
    agor_schema.migrate(url, tmp / "p" / "drizzle" / "sqlite")
    built = read_schema(url).tables["t"]
    assert {f"t_i{i}" for i in range(len(indexes))} <= set(built.indexes)
# ------------------------------------------------------------------ real projects

@pytest.mark.parametrize("name", [n for n in NAMES if dialect_of(n) == "postgres"])
def test_corpus_database_pulled_into_a_two_dialect_project(
        shared_dir: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
        pg_admin_url: str, name: str) -> None:
    """A real project's PostgreSQL database (its whole drizzle-kit history applied), pulled
    into the default sqlite + postgres project: compiles for both, PostgreSQL rebuilds the
    catalog but for what pull reported, SQLite applies."""
    if pg_admin_url is None:
        pytest.skip("no PostgreSQL")
    folder = corpus_folder(name, tmp_path_factory.getbasetemp() / "corpus")
    original, rebuilt = create_database(pg_admin_url), create_database(pg_admin_url)
    try:
        agor_schema.migrate(original, folder, allow_out_of_order=True)
        pulled, _ = _pull_and_compile(tmp_path / "p", original)
        changes = _pg_drift(original, rebuilt, tmp_path / "p" / "drizzle" / "postgres")
    finally:
        drop_database(pg_admin_url, original)
        drop_database(pg_admin_url, rebuilt)
    reported = {(w.get("table"), w.get("name")) for w in pulled["warnings"]
                if w.get("dialect") == "postgres"}
    tables = {t for t, _ in reported}
    assert [c for c in changes if c not in reported and c[0] not in tables] == []
    url = f"sqlite:///{tmp_path / 'app.db'}"
    agor_schema.migrate(url, tmp_path / "p" / "drizzle" / "sqlite")
    assert read_schema(url).tables


@pytest.mark.parametrize("name", [*[n for n in NAMES if dialect_of(n) == "sqlite"], "agor"])
def test_sqlite_corpus_database_pulled_into_a_two_dialect_project(
        shared_dir: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
        pg_url: str, name: str) -> None:
    """The other way round: a real SQLite database pulled into a sqlite + postgres project
    compiles for both (SQLite-only defaults such as unixepoch() kept to SQLite, TRUE on an
    integer column written as 1), rebuilds SQLite's catalog but for what pull reported, and
    applies on PostgreSQL."""
    folder = AGOR / "sqlite-2025-11" if name == "agor" else \
        corpus_folder(name, tmp_path_factory.getbasetemp() / "corpus")
    original, rebuilt = (f"sqlite:///{tmp_path / f}" for f in ("a.db", "b.db"))
    agor_schema.migrate(original, folder, allow_out_of_order=True)
    pulled, _ = _pull_and_compile(tmp_path / "p", original)
    agor_schema.migrate(rebuilt, tmp_path / "p" / "drizzle" / "sqlite")
    found = drift(read_schema(original), read_schema(rebuilt), actual="database", wanted="pulled schema")
    reported = {(w.get("table"), w.get("name")) for w in pulled["warnings"]
                if w.get("dialect") == "sqlite"}
    tables = {t for t, _ in reported}
    assert [(c.table, c.name) for c in found.changes
            if (c.table, c.name) not in reported and c.table not in tables] == []
    agor_schema.migrate(pg_url, tmp_path / "p" / "drizzle" / "postgres")
    assert read_schema(pg_url).tables


def test_sqlite_refusal_of_a_unique_entry_names_the_form_pull_writes() -> None:
    """A `unique:` entry has no override of its own: SQLite's refusal of its
    nulls_not_distinct points at the table's `postgres: {unique: [...]}`, and that form (the
    one pull writes) compiles for both dialects."""
    from agor_schema.errors import SchemaErrors
    from agor_schema.spec.loader import Document
    from agor_schema.spec.validate import validate_schema

    entry = {"columns": ["a", "b"], "name": "t_ab", "nulls_not_distinct": True}
    table = {"columns": {"a": "integer", "b": "text"}, "unique": [entry]}
    with pytest.raises(SchemaErrors) as refused:
        validate_schema(Document({"tables": {"t": table}}), ("sqlite",))
    [error] = refused.value.errors
    assert error.field == "unique" and "'postgres: {unique: [...]}'" in error.message
    fitted = {"columns": table["columns"], "unique": [{"columns": ["a", "b"], "name": "t_ab"}],
              "postgres": {"unique": [entry]}}
    specs = validate_schema(Document({"tables": {"t": fitted}}), ("sqlite", "postgres"))
    assert specs["postgres"].tables["t"].unique[0].nulls_not_distinct
    assert not specs["sqlite"].tables["t"].unique[0].nulls_not_distinct


def test_sqlite_only_features_pulled_into_a_two_dialect_project(tmp_path: Path,
                                                                pg_url: str) -> None:
    """From SQLite: a VIRTUAL generated column is stored in PostgreSQL (the source keeps
    virtual in its override), unixepoch() stays SQLite's default, TRUE on an integer is 1;
    PostgreSQL applies it and computes the column."""
    db = tmp_path / "a.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(
            "CREATE TABLE t (id integer PRIMARY KEY, a integer NOT NULL DEFAULT TRUE, b text, "
            "created integer DEFAULT (unixepoch()), "
            "v text GENERATED ALWAYS AS (lower(b)) VIRTUAL)")
    pulled, schema = _pull_and_compile(tmp_path / "p", f"sqlite:///{db}")
    columns = schema["tables"]["t"]["columns"]
    assert columns["v"]["sqlite"]["generated"]["type"] == "virtual"
    assert isinstance(columns["v"]["generated"], str)  # stored: the kind both dialects have
    assert columns["a"]["default"] == 1
    assert "default" not in columns["created"] and "sqlite" in columns["created"]
    assert ("t", "created") in {(w["table"], w["name"]) for w in pulled["warnings"]
                                if w["dialect"] == "postgres"}
    agor_schema.migrate(pg_url, tmp_path / "p" / "drizzle" / "postgres")
    with connect(pg_url) as conn:
        assert conn.execute("INSERT INTO t (id, b) VALUES (1, 'AB') RETURNING a, v"
                            ).fetchone() == (1, "ab")
    rebuilt = f"sqlite:///{tmp_path / 'b.db'}"
    agor_schema.migrate(rebuilt, tmp_path / "p" / "drizzle" / "sqlite")
    assert read_schema(rebuilt).tables["t"].columns["v"].generated["type"] == "virtual"


def test_postgres_only_types_keep_their_columns_and_dependents_to_postgres(
        pg_url: str, pg_admin_url: str, tmp_path: Path) -> None:
    """A type only PostgreSQL has (tsvector, inet): the column says `only: postgres`, and the
    index, check and unique constraint over it follow, each listed by name; PostgreSQL
    rebuilds exactly, SQLite gets the table without them."""
    with connect(pg_url) as conn:
        conn.execute(
            "CREATE TABLE t (id integer PRIMARY KEY, doc tsvector, ip inet NOT NULL, label text, "
            "CONSTRAINT ip_u UNIQUE (ip, label), CONSTRAINT t_label_unique UNIQUE (label), "
            "CONSTRAINT ip_chk CHECK (masklen(ip) > 8)); "
            "CREATE INDEX t_doc ON t USING gin (doc); "
            "CREATE INDEX t_ip ON t (ip, doc) WHERE label IS NOT NULL")
    pulled, schema = _pull_and_compile(tmp_path / "p", pg_url)
    table = schema["tables"]["t"]
    assert "only" not in table  # an index refused twice (ip, doc) does not take the table
    assert table["columns"]["doc"]["only"] == table["columns"]["ip"]["only"] == "postgres"
    assert table["indexes"]["t_doc"]["only"] == table["indexes"]["t_ip"]["only"] == "postgres"
    assert table["checks"]["ip_chk"]["only"] == "postgres"
    assert table["columns"]["label"]["unique"] is True
    assert table["postgres"]["unique"] == [{"columns": ["ip", "label"], "name": "ip_u"}]
    lost = {w["name"] for w in pulled["warnings"] if w["dialect"] == "sqlite"}
    assert {"ip_chk", "t_doc", "t_ip", "ip_u"} <= lost
    rebuilt = create_database(pg_admin_url)
    try:
        assert _pg_drift(pg_url, rebuilt, tmp_path / "p" / "drizzle" / "postgres") == []
    finally:
        drop_database(pg_admin_url, rebuilt)
    url = f"sqlite:///{tmp_path / 'app.db'}"
    agor_schema.migrate(url, tmp_path / "p" / "drizzle" / "sqlite")
    built = read_schema(url).tables["t"]
    assert set(built.columns) == {"id", "label"} and "t_label_unique" in built.indexes
