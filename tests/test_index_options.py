"""Index methods and storage parameters: `compile` refuses exactly what PostgreSQL 15 would
refuse when the migration runs (agor_schema.dialects.postgres_index_options).

A table of cases goes through the real CLI (exit 2 at file:line:col naming table, index
and field, nothing written) and, as the same `CREATE INDEX ... USING ... WITH (...)` text,
through a live PostgreSQL inside a rolled-back transaction: the two must agree case by case.
hypothesis then draws more parameter/value pairs for the same comparison. What compile
accepts is migrated for real and read back from pg_class.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hostile_helpers import cli, make_project, tree_digest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pg_cluster import connect

from agor_schema.dialects.postgres import _param
from agor_schema.dialects.postgres_index_options import PARAMETERS, parameter_problems

PYPROJECT = '[tool.agorschema]\nschema = "schema"\ndialects = ["sqlite", "postgres"]\n'
HEAD = """\
types:
  tsv: {postgres: tsvector, sqlite: text}
tables:
  docs:
    columns:
      id: {type: integer, primary_key: true}
      n: {type: integer}
      s: {type: text}
      tags: {type: "integer[]"}
      body: {type: tsv}
    indexes:
"""
COLUMN = {"btree": "n", "hash": "n", "gist": "body", "gin": "tags", "brin": "n",
          "spgist": "s", "bloom": "n"}
PG_TABLE = "CREATE TABLE docs (id integer, n integer, s text, tags integer[], body tsvector)"

# (method, `with` as YAML flow text, its value as Python sees it, compile refuses it?)
CASES = [
    ("btree", "{fillfactor: 9}", {"fillfactor": 9}, True),
    ("btree", "{fillfactor: 10}", {"fillfactor": 10}, False),
    ("btree", "{fillfactor: 100}", {"fillfactor": 100}, False),
    ("btree", "{fillfactor: 101}", {"fillfactor": 101}, True),
    ("btree", "{fillfactor: -5}", {"fillfactor": -5}, True),
    ("btree", "{fillfactor: 9.5}", {"fillfactor": 9.5}, False),  # rounds to 10
    ("btree", "{fillfactor: 100.5}", {"fillfactor": 100.5}, False),  # half to even: 100
    ("btree", "{fillfactor: 100.6}", {"fillfactor": 100.6}, True),
    ("btree", "{fillfactor: abc}", {"fillfactor": "abc"}, True),
    ("btree", "{fillfactor: true}", {"fillfactor": True}, True),
    ("btree", "{FILLFACTOR: 70}", {"FILLFACTOR": 70}, False),
    ("btree", "{fillfactor: 70, FillFactor: 80}", {"fillfactor": 70, "FillFactor": 80}, True),
    ("btree", "{deduplicate_items: false}", {"deduplicate_items": False}, False),
    ("btree", "{deduplicate_items: 1}", {"deduplicate_items": 1}, False),
    ("btree", "{deduplicate_items: 2}", {"deduplicate_items": 2}, True),
    ("btree", "{deduplicate_items: ye}", {"deduplicate_items": "ye"}, False),
    ("btree", "{deduplicate_items: of}", {"deduplicate_items": "of"}, False),
    ("btree", "{deduplicate_items: o}", {"deduplicate_items": "o"}, True),
    ("btree", "{deduplicate_items: auto}", {"deduplicate_items": "auto"}, True),
    ("btree", "{deduplicate_items: 1.0}", {"deduplicate_items": 1.0}, True),
    ("btree", "{buffering: auto}", {"buffering": "auto"}, True),
    ("btree", "{pages_per_range: 4}", {"pages_per_range": 4}, True),
    ("btree", "{bogus: 1}", {"bogus": 1}, True),
    ("hash", "{fillfactor: 10}", {"fillfactor": 10}, False),
    ("hash", "{fillfactor: 9}", {"fillfactor": 9}, True),
    ("hash", "{deduplicate_items: true}", {"deduplicate_items": True}, True),
    ("gist", "{fillfactor: 50, buffering: auto}", {"fillfactor": 50, "buffering": "auto"},
     False),
    ("gist", "{buffering: 'on'}", {"buffering": "on"}, False),
    ("gist", "{buffering: OFF}", {"buffering": False}, True),  # YAML: the boolean false
    ("gist", "{buffering: Auto}", {"buffering": "Auto"}, False),
    ("gist", "{buffering: maybe}", {"buffering": "maybe"}, True),
    ("gist", "{buffering: 1}", {"buffering": 1}, True),
    ("gin", "{fastupdate: false, gin_pending_list_limit: 64}",
     {"fastupdate": False, "gin_pending_list_limit": 64}, False),
    ("gin", "{gin_pending_list_limit: 63}", {"gin_pending_list_limit": 63}, True),
    ("gin", "{gin_pending_list_limit: 2147483647}", {"gin_pending_list_limit": 2147483647},
     False),
    ("gin", "{gin_pending_list_limit: 2147483648}", {"gin_pending_list_limit": 2147483648},
     True),
    ("gin", "{fillfactor: 50}", {"fillfactor": 50}, True),
    ("brin", "{pages_per_range: 0}", {"pages_per_range": 0}, True),
    ("brin", "{pages_per_range: 1, autosummarize: yes}",
     {"pages_per_range": 1, "autosummarize": True}, False),
    ("brin", "{pages_per_range: 131072}", {"pages_per_range": 131072}, False),
    ("brin", "{pages_per_range: 131073}", {"pages_per_range": 131073}, True),
    ("spgist", "{fillfactor: 100}", {"fillfactor": 100}, False),
    ("spgist", "{fillfactor: 101}", {"fillfactor": 101}, True),
    ("spgist", "{buffering: auto}", {"buffering": "auto"}, True),
    # bloom (contrib): its own parameters, checked as the built-in ones are
    ("bloom", "{length: 80, col1: 4}", {"length": 80, "col1": 4}, False),
    ("bloom", "{length: 4096, col32: 4095}", {"length": 4096, "col32": 4095}, False),
    ("bloom", "{length: 4097}", {"length": 4097}, True),
    ("bloom", "{length: 0}", {"length": 0}, True),
    ("bloom", "{col1: 4096}", {"col1": 4096}, True),
    ("bloom", "{col33: 2}", {"col33": 2}, True),
    ("bloom", "{fillfactor: 70}", {"fillfactor": 70}, True),
]


def pg_refuses(conn, method: str, params: dict) -> bool:
    """Whether PostgreSQL refuses the index agorschema would write, in a rolled-back
    transaction."""
    import psycopg

    with_ = ", ".join(f"{k}={_param(v)}" for k, v in params.items())
    try:
        with conn.transaction():
            conn.execute(f"CREATE INDEX ON docs USING {method} ({COLUMN[method]}) "
                         f"WITH ({with_})")
            raise psycopg.Rollback()
    except psycopg.Error:
        return True
    return False


@pytest.fixture(scope="module")
def pg(pg_admin_url: str | None):
    from pg_cluster import create_database, drop_database

    if pg_admin_url is None:
        pytest.skip("no PostgreSQL available")
    url = create_database(pg_admin_url)
    conn = connect(url)
    try:
        conn.execute(PG_TABLE)
        conn.execute("CREATE EXTENSION IF NOT EXISTS bloom")  # contrib, as in the tests below
        version = conn.execute("SHOW server_version_num").fetchone()[0]
        if not str(version).startswith("15"):
            pytest.skip(f"the parameter table is PostgreSQL 15's; this server is {version}")
        yield pg_admin_url, url, conn
    finally:
        conn.close()
        drop_database(pg_admin_url, url)


def schema_with(method: str, with_: str) -> str:
    extension = "" if method in PARAMETERS else f", extension: {method}"
    return HEAD + (f"      docs_idx:\n        columns: [{COLUMN[method]}]\n"
                   f"        postgres: {{method: {method}, with: {with_}{extension}}}\n")


@pytest.mark.parametrize(("method", "with_", "params", "refused"), CASES,
                         ids=[f"{m}-{w}" for m, w, _p, _r in CASES])
def test_compile_refuses_what_postgresql_refuses(tmp_path: Path, pg, method: str, with_: str,
                                                 params: dict, refused: bool):
    _admin, _url, conn = pg
    assert pg_refuses(conn, method, params) == refused, "the case table is wrong"
    schema = schema_with(method, with_)
    root = make_project(tmp_path / "p", schema, PYPROJECT)
    before = tree_digest(root)
    code, out = cli("compile", root=root)
    if not refused:
        assert code == 0, out
        return
    assert code == 2, out
    line = schema.count("\n", 0, schema.index("postgres: {method")) + 1
    assert re.search(rf"schema/app\.yaml:{line}:\d+: table 'docs', index 'docs_idx', "
                     r"field 'with': storage parameter", out), out
    assert "nothing was written" in out
    assert tree_digest(root) == before


@settings(max_examples=80, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(sorted(PARAMETERS)),
       name=st.sampled_from(sorted({n for p in PARAMETERS.values() for n in p}
                                   | {"length", "lists", "toast_tuple_target"})),
       value=st.one_of(st.integers(-3, 140000), st.sampled_from([2**31 - 1, 2**31, -2**31]),
                       st.floats(-20, 200, allow_nan=False).map(lambda f: round(f, 2)),
                       st.booleans(),
                       st.sampled_from(["auto", "on", "off", "of", "o", "t", "tr", "n", "no",
                                        "yes", "y", "f", "FALSE", "Auto", "maybe", "x"])))
def test_any_parameter_value_is_judged_as_postgresql_judges_it(pg, method, name, value):
    _admin, _url, conn = pg
    params = {name: value}
    assert bool(parameter_problems(method, params)) == pg_refuses(conn, method, params), \
        (method, params)


@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["length", "col1", "col17", "col32", "col33", "col0", "fillfactor"]),
       value=st.one_of(st.integers(-3, 5000), st.floats(-5, 4200, allow_nan=False)
                       .map(lambda f: round(f, 1)), st.booleans(),
                       st.sampled_from(["x", "on", "auto"])))
def test_bloom_parameters_are_judged_as_postgresql_judges_them(pg, name, value):
    _admin, _url, conn = pg
    params = {name: value}
    assert bool(parameter_problems("bloom", params, "bloom")) == \
        pg_refuses(conn, "bloom", params), params


@pytest.mark.parametrize(("method", "params", "refused"), [
    ("hnsw", {"m": 16, "ef_construction": 64}, False),
    ("hnsw", {"m": 2, "ef_construction": 4}, False),
    ("hnsw", {"m": 1}, True),
    ("hnsw", {"m": 101, "ef_construction": 1000}, True),
    ("hnsw", {"ef_construction": 1001}, True),
    ("hnsw", {"m": 40}, True),  # ef_construction's default 64 < 2 * 40
    ("hnsw", {"m": 16, "ef_construction": 31}, True),
    ("hnsw", {"lists": 100}, True),
    ("ivfflat", {"lists": 1}, False),
    ("ivfflat", {"lists": 32768}, False),
    ("ivfflat", {"lists": 32769}, True),
    ("ivfflat", {"m": 16}, True),
])
def test_pgvector_parameters_follow_its_ranges(method: str, params: dict, refused: bool):
    """pgvector is not installed here: its ranges (add_int_reloption in hnsw.c/ivfflat.c,
    0.5-0.8) and the ef_construction >= 2 * m build check, as a table."""
    assert bool(parameter_problems(method, params)) == refused
    assert bool(parameter_problems(method, params, "vector")) == refused
    assert parameter_problems(method, params, "pgvecto_rs") == []  # another extension's own


def test_unknown_and_extension_methods(tmp_path: Path, pg):
    """A method PostgreSQL lacks is refused at `method`; one from an extension the index
    names is created with the extension (bloom ships with PostgreSQL's contrib)."""
    admin, _url, conn = pg
    for method, extra, says in [
        ("hnsw", "", "unknown index method 'hnsw'"),
        ("heap", "", "unknown index method 'heap'"),
        ("bloom", ", extension: vector", "extension vector provides the index method(s)"),
        ("gin", ", extension: bloom", "method gin is built into PostgreSQL"),
    ]:
        schema = HEAD + (f"      docs_idx:\n        columns: [n]\n"
                         f"        postgres: {{method: {method}{extra}}}\n")
        root = make_project(tmp_path / method, schema, PYPROJECT)
        code, out = cli("compile", root=root)
        assert code == 2, out
        line = schema.count("\n", 0, schema.index("postgres: {method")) + 1
        assert f"schema/app.yaml:{line}:" in out and "table 'docs'" in out, out
        assert says in out, out
        assert not (root / "drizzle").exists()
    # declared: the vector type names its extension, so hnsw is accepted
    vector = HEAD.replace("  tsv:", "  embedding: {postgres: \"vector(3)\", extension: vector}\n"
                          "  tsv:") + ("      docs_idx:\n        columns: [n]\n"
                                       "        postgres: {method: hnsw}\n")
    root = make_project(tmp_path / "vector", vector, PYPROJECT)
    assert cli("compile", root=root)[0] == 0
    # bloom from its extension, applied for real
    schema = HEAD + ("      docs_bloom_idx:\n        columns: [n]\n"
                     "        postgres: {method: bloom, extension: bloom, with: {length: 80}}\n"
                     "      docs_n_idx:\n        columns: [n]\n"
                     "        postgres: {with: {fillfactor: 70, deduplicate_items: off}}\n"
                     "      docs_tags_idx:\n        columns: [tags]\n"
                     "        postgres: {method: gin, with: {fastupdate: false, "
                     "gin_pending_list_limit: 128}}\n")
    root = make_project(tmp_path / "bloom", schema, PYPROJECT)
    code, out = cli("compile", root=root)
    assert code == 0, out
    sql = next((root / "drizzle" / "postgres").glob("0000_*.sql")).read_text()
    assert 'CREATE EXTENSION IF NOT EXISTS "bloom";' in sql
    from pg_cluster import create_database, drop_database

    target = create_database(admin)
    try:
        code, out = cli("migrate", "--database", target, root=root)
        assert code == 0, out
        with connect(target) as db:
            rows = dict(db.execute(
                "SELECT c.relname, array_to_string(c.reloptions, ',') FROM pg_class c "
                "WHERE c.relname LIKE 'docs_%_idx' ORDER BY 1").fetchall())
            methods = dict(db.execute(
                "SELECT c.relname, a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam "
                "WHERE c.relname LIKE 'docs_%_idx'").fetchall())
    finally:
        drop_database(admin, target)
    assert rows == {"docs_bloom_idx": "length=80",
                    "docs_n_idx": "fillfactor=70,deduplicate_items=false",
                    "docs_tags_idx": "fastupdate=false,gin_pending_list_limit=128"}
    assert methods == {"docs_bloom_idx": "bloom", "docs_n_idx": "btree",
                       "docs_tags_idx": "gin"}


def test_index_extension_is_a_postgresql_option(tmp_path: Path):
    """SQLite has no extensions: `extension:` outside a `postgres:` override is refused at
    its key, saying how to keep it to PostgreSQL; without a method it names nothing."""
    for index, says in [
        ("{columns: [n], method: bloom, extension: bloom}",
         "index option 'method' does not exist in sqlite"),
        ("{columns: [n], postgres: {extension: bloom}}",
         "'extension' names the extension that provides the index 'method'"),
    ]:
        schema = HEAD + f"      docs_idx: {index}\n"
        root = make_project(tmp_path / str(len(says)), schema, PYPROJECT)
        before = tree_digest(root)
        code, out = cli("compile", root=root)
        assert code == 2, out
        assert says in out and "table 'docs', index 'docs_idx'" in out, out
        assert tree_digest(root) == before


def test_pull_names_the_extension_of_an_index_method(tmp_path: Path, pg):
    """A live bloom index is pulled with `extension: bloom`, so the schema compiles (an
    extension's method without it is refused) and migrates a fresh database to the same."""
    from pg_cluster import create_database, drop_database

    admin, _url, _conn = pg
    source, target = create_database(admin), create_database(admin)
    try:
        with connect(source) as db:
            db.execute("CREATE EXTENSION bloom")
            db.execute("CREATE TABLE t (id integer PRIMARY KEY, n integer)")
            db.execute("CREATE INDEX t_b_idx ON t USING bloom (n) WITH (length=80)")
        root = tmp_path / "p"
        root.mkdir()
        (root / "pyproject.toml").write_text('[tool.agorschema]\ndialects = ["postgres"]\n')
        code, out = cli("pull", "--database", source, root=root)
        assert code == 0, out
        assert "method: bloom" in (root / "schema" / "schema.yaml").read_text()
        assert "extension: bloom" in (root / "schema" / "schema.yaml").read_text()
        assert cli("compile", root=root)[0] == 0
        code, out = cli("migrate", "--database", target, root=root)
        assert code == 0, out
        with connect(target) as db:
            row = db.execute("SELECT a.amname, array_to_string(c.reloptions, ',') FROM pg_class c "
                             "JOIN pg_am a ON a.oid = c.relam WHERE c.relname = 't_b_idx'"
                             ).fetchone()
        assert row == ("bloom", "length=80")
    finally:
        drop_database(admin, source)
        drop_database(admin, target)
