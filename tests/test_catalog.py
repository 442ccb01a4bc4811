"""`generated/<dialect>.sql` applied to real SQLite and real PostgreSQL, read back from the catalog.

Every test runs once per engine (`engine` is parametrized) through the engine-neutral view in
`tests/engines.py`. Expectations come from the validated spec (`load_specs`) and the type table
of DESIGN.md section 4, not from the DDL, so a drift between what the YAML says and what either
database ends up holding fails here. Where the engines legitimately differ (how a predicate is
spelled back, which names a catalog keeps) the difference is data keyed by engine below, never a
second copy of a test. Small self-contained schemas (one feature each) live in
`tests/catalog_scenarios.py` and run through `test_scenario`.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from catalog_scenarios import SCENARIOS, Scenario
from engines import Engine, ForeignKey, compact
from sqlglot import exp

from agor_schema.compiler import compile_project, load_specs
from agor_schema.config import load_config

REPO = Path(__file__).resolve().parents[1]
UUID_V4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
DAY_MS = 86_400_000
R1 = "11111111-1111-4111-8111-111111111111"

# DESIGN.md section 4: logical type -> declared type as each catalog spells it.
TYPES = {
    "sqlite": {
        "text": "text", "integer": "integer", "bigint": "integer", "real": "real",
        "double": "real", "numeric": "numeric", "boolean": "integer", "timestamp": "integer",
        "date": "text", "json": "text", "uuid": "text(36)", "bytes": "blob",
    },
    "postgres": {
        "text": "text", "integer": "integer", "bigint": "bigint", "real": "real",
        "double": "double precision", "boolean": "boolean",
        "timestamp": "timestamp with time zone", "date": "date", "json": "jsonb",
        "uuid": "uuid", "bytes": "bytea",
    },
}
# Values of SQL expression defaults, read back neutrally (timestamps as epoch ms).
SQL_DEFAULTS = {
    "gen_random_uuid()": lambda value, now_ms: bool(UUID_V4.match(value)),
    "now() + interval '1 day'": lambda value, now_ms: abs(value - (now_ms + DAY_MS)) < 5000,
}

# ------------------------------------------------------------------ per-engine expectations
# A table that exists in one dialect only (`only:`), and what the other must lack.
ONLY_TABLE = {"sqlite": ("local_cache", "audit_log"), "postgres": ("audit_log", "local_cache")}
# How each engine records an autoincrement column.
IDENTITY = {"sqlite": "autoincrement", "postgres": ("d", "YES", "BY DEFAULT")}
# Per-dialect overrides in the example schema: (table, column, default seen by that dialect).
DEFAULT_OVERRIDE = {
    "sqlite": ("local_cache", "hits", 1),
    "postgres": ("audit_log", "request_id", {"sql": "gen_random_uuid()"}),
}
# Tables holding the PostgreSQL-only `tenant_id` column (at least these).
TENANT_TABLES = {"sqlite": set(),
                 "postgres": {"users", "repos", "sessions", "mcp_servers", "audit_log"}}
_CUTOFF = int(dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc).timestamp() * 1000)
# Partial-index predicates as each catalog gives them back (type-aware rewrites, DESIGN §4).
PREDICATES = {
    "sqlite": {
        "users_admin_recent_idx": '"is_admin" = 1',
        "worktrees_repo_name_uq": '"archived" = 0',
        "messages_recent_idx": f'"created_at" > {_CUTOFF}',
    },
    "postgres": {
        "users_admin_recent_idx": "(is_admin = true)",
        "sessions_active_idx": "(status <> 'completed'::text)",
    },
}
# `sessions_active_idx` has a `sqlite:` override of its where: it names 'failed' there only.
SESSIONS_ACTIVE_NAMES_FAILED = {"sqlite": True, "postgres": False}
# A query that must be able to use the partial index users_admin_recent_idx (SQLite's
# planner matches the predicate as stored, `= 1`; INDEXED BY fails if it cannot use it).
ADMIN_QUERY = {"sqlite": "users INDEXED BY users_admin_recent_idx WHERE is_admin = 1",
               "postgres": "users WHERE is_admin"}


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    """A copy of the repo's pyproject.toml and schema/, compiled; the repo is never touched."""
    root = tmp_path_factory.mktemp("project")
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "schema", root / "schema")
    cfg = load_config(root)
    compile_project(cfg)
    return cfg


@pytest.fixture(scope="module")
def specs(project):
    return load_specs(project)


@pytest.fixture
def spec(specs, engine):
    return specs[engine.name]


@pytest.fixture
def db(project, engine: Engine) -> Engine:
    """The example schema's generated DDL applied to an empty database of this engine."""
    engine.apply((project.generated / f"{engine.name}.sql").read_text(encoding="utf-8"))
    engine.set_foreign_keys(True)  # SQLite: as the runner does; PostgreSQL always enforces
    return engine


# ----------------------------------------------------------------------------- helpers


def expected_type(dialect: str, lt) -> str:
    if lt.name == "varchar":
        return f"text({lt.length})" if dialect == "sqlite" else f"character varying({lt.length})"
    if lt.name == "numeric" and dialect == "postgres" and lt.precision is not None:
        return f"numeric({lt.precision},{lt.scale or 0})"
    return TYPES[dialect][lt.name]


def pk_columns(table) -> list[str]:
    if table.primary_key_columns:
        return table.primary_key_columns
    return [name for name, c in table.columns.items() if c.primary_key]


def checked_in_test_types(column) -> bool:
    """Columns of the newer types (enums, arrays, declared types, serials, timestamp variants,
    json_text, smallint) are covered by the engine-neutral scenarios of tests/test_types.py."""
    lt = column.logical_type
    return lt.name in ("enum", "array", "custom", "json_text", "smallint") or lt.is_serial or (
        lt.name == "timestamp" and (lt.precision is not None or not lt.with_tz))


def uses_newer_types(table) -> bool:
    return any(checked_in_test_types(c) for c in table.columns.values())


def enum_checked(schema, table, column) -> bool:
    if not column.enum:
        return False
    if column.enum_check is not None:
        return column.enum_check
    return bool(table.enum_check if table.enum_check is not None else schema.enum_check)


def columns_named(sql: str, dialect: str) -> set[str]:
    return {c.name for c in sqlglot.parse_one(sql, read=dialect).find_all(exp.Column)}


def uncast(sql: str | None) -> str | None:
    """Without the casts PostgreSQL adds to what it stores (`''::character varying`)."""
    return None if sql is None else re.sub(r"::[a-z][a-z ]*(\(\d+\))?", "", sql)


def now_ms(db: Engine) -> int:
    return db.read("timestamp", db.write("timestamp", int(time.time() * 1000)))


def check_default(db: Engine, where: str, column, default_sql: str | None) -> str | None:
    """None if the catalog default `default_sql` is what the spec says, else a complaint."""
    if not column.has_default:
        return None if default_sql is None else f"{where}: unexpected default {default_sql}"
    if default_sql is None:
        return f"{where}: default {column.default!r} missing"
    want, lt = column.default, column.logical_type
    raw = db.evaluate(default_sql)
    value = db.read(lt.name, raw)
    now = int(time.time() * 1000)
    if isinstance(want, dict) and set(want) == {"sql"}:
        judge = SQL_DEFAULTS.get(want["sql"])
        if judge is None:
            return f"{where}: no expectation for SQL default {want['sql']!r}; add one to the test"
        ok = judge(value, now)
    elif lt.name == "json":
        ok = value == want and type(value) is type(want)
    elif lt.name == "timestamp" and want == "now":
        ok = isinstance(value, int) and abs(value - now) < 5000
    elif lt.name == "boolean":
        ok = value is bool(want)
    elif isinstance(want, (int, float)):
        ok = value == want and isinstance(raw, (int, float))
    else:
        ok = value == str(want)
    return None if ok else f"{where}: default evaluates to {raw!r}, spec says {want!r}"


# ----------------------------------------------------------------------------- catalog


def test_tables_are_the_spec_tables(db, spec):
    tables = db.tables()
    assert tables == set(spec.tables)
    present, absent = ONLY_TABLE[db.name]
    assert present in tables
    assert absent not in tables


def test_columns_types_nullability_and_primary_keys(db, spec):
    problems = []
    for name, table in spec.tables.items():
        found = db.columns(name)
        assert [c.name for c in found] == list(table.columns), f"{name}: column order"
        pk = pk_columns(table)
        if db.primary_key(name) != pk:
            problems.append(f"{name}: primary key {db.primary_key(name)}, expected {pk}")
        for col in found:
            column = table.columns[col.name]
            if checked_in_test_types(column):
                continue
            want = expected_type(db.name, column.logical_type)
            if col.type != want:
                problems.append(f"{name}.{col.name}: type {col.type}, expected {want} "
                                f"({column.type})")
            if col.not_null != (column.not_null or col.name in pk):
                problems.append(f"{name}.{col.name}: not null = {col.not_null}")
            if col.identity != column.autoincrement:
                problems.append(f"{name}.{col.name}: identity = {col.identity}")
            if column.autoincrement and db.identity_kind(name, col.name) != IDENTITY[db.name]:
                problems.append(f"{name}.{col.name}: {db.identity_kind(name, col.name)!r}")
    assert not problems, "\n".join(problems)


def test_composite_primary_keys(db, spec):
    composite = {n: t for n, t in spec.tables.items() if t.primary_key}
    assert set(composite) >= {"session_mcp_servers", "session_tags"}
    for name, table in composite.items():
        columns = table.primary_key_columns
        assert db.primary_key(name) == list(columns), name
        # PostgreSQL keeps the given or drizzle's derived name; SQLite keeps no name at all.
        given = table.primary_key_name or f"{name}_{'_'.join(columns)}_pk"
        assert db.primary_key_name(name) == (given if db.keeps_constraint_names else None)
    single = [n for n, t in spec.tables.items() if not t.primary_key]
    for name in single:  # an inline single-column key: the engine's own name (or none)
        assert db.primary_key_name(name) == (f"{name}_pkey" if db.keeps_constraint_names else None)


def test_autoincrement_never_reuses_an_id(db, spec):
    seen = sum(c.autoincrement for t in spec.tables.values() for c in t.columns.values())
    assert seen >= 2
    db.set_foreign_keys(False)
    for i in range(2):
        db.execute("INSERT INTO tag_notes(session_id, tag, note) VALUES ('s', 't', ?)", str(i))
    db.execute("DELETE FROM tag_notes WHERE note_id = 2")
    db.execute("INSERT INTO tag_notes(session_id, tag, note) VALUES ('s', 't', 'x')")
    assert [r[0] for r in db.rows("SELECT note_id FROM tag_notes ORDER BY 1")] == [1, 3]


def test_dialect_only_columns(db, spec, specs):
    tenant = {n for n in db.tables() if "tenant_id" in {c.name for c in db.columns(n)}}
    assert tenant == {n for n, t in spec.tables.items() if "tenant_id" in t.columns}
    assert TENANT_TABLES[db.name] <= tenant
    assert not any("tenant_id" in t.columns for t in specs["sqlite"].tables.values())
    if "tenant_id" in spec.tables["users"].columns:
        last = db.columns("users")[-1]
        assert (last.name, last.type, last.not_null) == ("tenant_id", "text", True)
        assert db.evaluate(last.default) == "default"
    assert ("users_tenant_idx" in db.indexes("users")) == bool(TENANT_TABLES[db.name])


def test_defaults(db, spec):
    problems = []
    for name, table in spec.tables.items():
        for col in db.columns(name):
            if checked_in_test_types(table.columns[col.name]):
                continue
            problem = check_default(db, f"{name}.{col.name}", table.columns[col.name], col.default)
            if problem:
                problems.append(problem)
    assert not problems, "\n".join(problems)
    table, column, default = DEFAULT_OVERRIDE[db.name]
    assert spec.tables[table].columns[column].default == default


def expected_foreign_keys(table) -> dict[str, ForeignKey]:
    """name -> foreign key, from the spec (names as drizzle derives them)."""
    out = {}
    for col, column in table.columns.items():
        if column.references:
            target, target_col = column.references.split(".")
            out[f"{{t}}_{col}_{target}_{target_col}_fk"] = ForeignKey(
                (col,), target, (target_col,), column.on_update or "no action",
                column.on_delete or "no action")
    for fk in table.foreign_keys:
        name = fk.name or (f"{{t}}_{'_'.join(fk.columns)}_{fk.references.table}_"
                           f"{'_'.join(fk.references.columns)}_fk")
        out[name] = ForeignKey(tuple(fk.columns), fk.references.table,
                               tuple(fk.references.columns), fk.on_update or "no action",
                               fk.on_delete or "no action")
    return out


def test_foreign_keys_and_actions(db, spec):
    for name, table in spec.tables.items():
        expected = {k.replace("{t}", name): v for k, v in expected_foreign_keys(table).items()}
        assert db.foreign_keys(name) == sorted(expected.values(), key=repr), name
        names = db.foreign_key_names(name)
        if names is not None:
            assert names == expected, name
    # The interesting ones, spelled out.
    assert ForeignKey(("parent_session_id",), "sessions", ("session_id",), "no action",
                      "set null") in db.foreign_keys("sessions")
    assert db.foreign_keys("tag_notes") == [
        ForeignKey(("session_id", "tag"), "session_tags", ("session_id", "tag"), "no action",
                   "cascade")]
    assert ForeignKey(("session_id",), "sessions", ("session_id",), "cascade", "cascade") \
        in db.foreign_keys("tasks")


def test_indexes_unique_keys_partial_and_expression(db, spec):
    problems = []
    for name, table in spec.tables.items():
        uniques: dict[str, tuple] = {}
        for col, column in table.columns.items():
            if column.unique:
                uniques[column.unique_name or f"{name}_{col}_unique"] = (col,)
        for unique in table.unique_specs():
            columns = unique.columns
            uniques[unique.name or f"{name}_{'_'.join(columns)}_unique"] = tuple(columns)
        # NULLS NOT DISTINCT indexes are unique constraints (drizzle keeps the flag only there)
        indexes = {n: ix for n, ix in table.indexes.items() if not ix.nulls_not_distinct}
        uniques.update({n: tuple(p.column for p in ix.key_parts())
                        for n, ix in table.indexes.items() if ix.nulls_not_distinct})
        actual = db.indexes(name)
        if set(actual) != set(uniques) | set(indexes):
            problems.append(f"{name}: indexes {sorted(actual)}, expected "
                            f"{sorted(set(uniques) | set(indexes))}")
            continue
        for index_name, cols in uniques.items():
            got = actual[index_name]
            if (got.unique, got.keys, got.predicate) != (True, cols, None):
                problems.append(f"{index_name}: {got}")
            if got.constraint != db.uniques_are_constraints:
                problems.append(f"{index_name}: constraint={got.constraint}")
        for index_name, index in indexes.items():
            got = actual[index_name]
            parts = index.key_parts()
            keys = tuple(p.column for p in parts)  # None for an expression part
            expressions = [p.expression for p in parts if p.expression is not None]
            if got.unique != index.unique or got.keys != keys or got.constraint:
                problems.append(f"{index_name}: unique={got.unique} keys={got.keys}")
            if any(not isinstance(e, str) for e in expressions):
                pass  # verbatim expressions: compared byte for byte by the scenario tests
            elif compact(uncast(got.expressions)) != (compact(", ".join(expressions)) or None):
                problems.append(f"{index_name}: expressions {got.expressions!r}")
            if bool(got.predicate) != bool(index.where):
                problems.append(f"{index_name}: predicate {got.predicate!r}")
            elif got.predicate:
                where = index.where if isinstance(index.where, str) else index.where.verbatim
                if columns_named(got.predicate, db.name) != columns_named(where, db.name):
                    problems.append(f"{index_name}: WHERE {got.predicate!r} vs {where!r}")
                tree = sqlglot.parse_one(got.predicate, read=db.name)
                if db.integer_booleans and list(tree.find_all(exp.Boolean)):
                    problems.append(f"{index_name}: boolean literal left in {got.predicate!r}")
    assert not problems, "\n".join(problems)
    # The type-aware rewrites, spelled out (DESIGN.md section 4).
    for index_name, predicate in PREDICATES[db.name].items():
        table = index_name.split("_")[0]
        assert db.indexes(table)[index_name].predicate == predicate
    active = db.indexes("sessions")["sessions_active_idx"].predicate
    assert ("'failed'" in active) == SESSIONS_ACTIVE_NAMES_FAILED[db.name]
    lower = db.indexes("users")["users_email_lower_idx"]
    assert (lower.unique, lower.keys, compact(lower.expressions)) == (True, (None,), "loweremail")
    assert db.indexes("worktrees")["worktrees_repo_name_uq"].keys == ("repo_id", "name")


def test_checks_are_named_as_the_spec_says(db, spec):
    for name, table in spec.tables.items():
        enum_checks = {f"{name}_{col}_enum": col for col, column in table.columns.items()
                       if enum_checked(spec, table, column)}
        actual = db.checks(name)
        if uses_newer_types(table):  # enum(name) columns: SQLite CHECK, PostgreSQL enum type
            actual = {k: v for k, v in actual.items() if k not in {
                f"{name}_{c}_enum" for c, column in table.columns.items()
                if column.logical_type.name == "enum"}}
        assert set(actual) == set(table.checks) | set(enum_checks), name
        for check, col in enum_checks.items():
            assert col in actual[check], (check, actual[check])
    assert "sessions_status_enum" in db.checks("sessions")


# ----------------------------------------------------------------------------- rows


def dummy(lt, i: int = 0) -> Any:
    """A neutral value of the column's type that passes the example schema's checks."""
    return {
        "text": f"#{i}@x", "varchar": f"#{i}@", "integer": 1 + i, "bigint": 1 + i,
        "real": 1.0, "double": 1.0, "numeric": 1, "boolean": True,
        "timestamp": int(time.time() * 1000), "date": "2024-01-01", "json": {},
        "uuid": "00000000-0000-4000-8000-00000000000" + str(i), "bytes": b"x",
    }[lt.name]


def test_every_table_takes_a_row_and_enum_checks_reject_bad_values(db, spec):
    db.set_foreign_keys(False)
    checked = 0
    for name, table in spec.tables.items():
        if uses_newer_types(table):
            continue  # tests/test_types.py writes and reads those values
        cols = [c for c, column in table.columns.items()
                if not column.autoincrement and column.generated is None]
        types = {c: table.columns[c].logical_type.name for c in cols}
        row = {c: db.write(types[c], (table.columns[c].enum or
                                      [dummy(table.columns[c].logical_type)])[0])
               for c in cols}
        insert = (f'INSERT INTO "{name}" ({", ".join(cols)}) '
                  f'VALUES ({", ".join("?" * len(cols))})')
        db.execute(insert, *[row[c] for c in cols])
        db.execute(f'DELETE FROM "{name}"')
        for col, column in table.columns.items():
            if not column.enum:
                continue
            for value in column.enum:
                db.execute(insert, *[value if c == col else row[c] for c in cols])
                db.execute(f'DELETE FROM "{name}"')
            if enum_checked(spec, table, column):
                checked += 1
                with db.violation("check", f"{name}_{col}_enum"):
                    db.execute(insert, *["bogus" if c == col else row[c] for c in cols])
    assert checked >= 8


def seed(db: Engine) -> None:
    r1 = db.write("uuid", R1)
    db.execute("INSERT INTO users(user_id, email) VALUES ('u1', 'ada@example.com')")
    db.execute("INSERT INTO repos(repo_id, slug, created_by) VALUES (?, 'agor', 'u1')", r1)
    db.execute("INSERT INTO worktrees(worktree_id, repo_id, name, path) "
               "VALUES ('w1', ?, 'main', '/src/agor')", r1)
    db.execute("INSERT INTO sessions(session_id, worktree_id, agentic_tool) "
               "VALUES ('s1', 'w1', 'claude-code')")
    db.execute("INSERT INTO sessions(session_id, parent_session_id, agentic_tool) "
               "VALUES ('s2', 's1', 'codex')")
    db.execute("INSERT INTO tasks(task_id, session_id, prompt) VALUES ('t1', 's1', 'fix it')")
    db.execute("INSERT INTO messages(session_id, task_id, queue_position, role) "
               "VALUES ('s1', 't1', 1, 'user')")
    db.execute("INSERT INTO session_tags(session_id, tag) VALUES ('s1', 'bug')")
    db.execute("INSERT INTO tag_notes(session_id, tag, note) VALUES ('s1', 'bug', 'flaky')")
    db.execute("INSERT INTO mcp_servers(mcp_server_id, name, command) VALUES ('m1', 'fs', 'mcp-fs')")
    db.execute("INSERT INTO session_mcp_servers(session_id, mcp_server_id) VALUES ('s1', 'm1')")
    db.execute("INSERT INTO boards(board_id, name, slug) VALUES ('b1', 'Main', 'main')")
    db.execute("INSERT INTO board_objects(object_id, board_id, session_id, kind) "
               "VALUES ('o1', 'b1', 's1', 'session')")
    db.execute("INSERT INTO board_comments(comment_id, board_id, author_id, body) "
               "VALUES ('c1', 'b1', 'u1', 'hi')")
    db.execute("INSERT INTO board_comments(comment_id, board_id, parent_comment_id, body) "
               "VALUES ('c2', 'b1', 'c1', 'reply')")


def test_defaults_on_inserted_rows(db, spec):
    before = now_ms(db)
    seed(db)
    if "local_cache" in spec.tables:
        db.execute("INSERT INTO local_cache(cache_key, value) VALUES ('k', ?)", b"\x01")
        assert db.one("SELECT hits FROM local_cache") == (1,)
    after = int(time.time() * 1000)

    is_admin, role, prefs, created = db.one(
        "SELECT is_admin, role, preferences, created_at FROM users")
    assert (db.read("boolean", is_admin), role) == (False, "member")
    assert db.read("json", prefs) == {"theme": "system", "notifications": True}
    assert before - 5000 <= db.read("timestamp", created) <= after + 5000
    if "tenant_id" in spec.tables["users"].columns:
        assert db.one("SELECT tenant_id FROM users") == ("default",)

    repo_id, size, repo_type, branch = db.one(
        "SELECT repo_id, size_bytes, repo_type, default_branch FROM repos")
    assert (db.read("uuid", repo_id), size, repo_type, branch) == (R1, 0, "remote", "main")
    db.execute("INSERT INTO repos(slug) VALUES ('generated-id')")
    (generated,) = db.one("SELECT repo_id FROM repos WHERE slug = 'generated-id'")
    assert UUID_V4.match(db.read("uuid", generated))

    archived, ref, data = db.one("SELECT archived, ref, data FROM worktrees")
    assert (db.read("boolean", archived), ref, db.read("json", data)) == (False, "main", {})
    ready, status, cost, data = db.one(
        "SELECT ready_for_prompt, status, cost_usd, data FROM sessions WHERE session_id='s1'")
    assert (db.read("boolean", ready), status, cost, db.read("json", data)) == \
        (True, "idle", 0, {})
    status, uses, created, deadline = db.one(
        "SELECT status, tool_uses, created_at, deadline_at FROM tasks")
    assert (status, uses) == ("pending", 0)
    assert db.read("timestamp", deadline) - db.read("timestamp", created) == DAY_MS
    content, tokens = db.one("SELECT content, tokens FROM messages")
    assert (db.read("json", content), tokens) == ([], 0)
    icon, color, board_data = db.one("SELECT icon, color, data FROM boards")
    assert (icon, color) == ("📋", "#3b82f6")
    assert db.read("json", board_data) == {"layout": "grid", "zoom": 1.0}
    resolved, reactions = db.one(
        "SELECT resolved, reactions FROM board_comments WHERE comment_id='c1'")
    assert (db.read("boolean", resolved), db.read("json", reactions)) == (False, [])
    enabled, env, transport = db.one("SELECT enabled, env, transport FROM mcp_servers")
    assert (db.read("boolean", enabled), db.read("json", env), transport) == (True, {}, "stdio")
    if "audit_log" in spec.tables:
        db.execute("INSERT INTO audit_log(action) VALUES ('login'), ('logout')")
        audit = db.rows("SELECT audit_id, tenant_id, payload, request_id FROM audit_log "
                        "ORDER BY 1")
        assert [(a, t, db.read("json", p)) for a, t, p, _ in audit] == \
            [(1, "default", {}), (2, "default", {})]
        assert all(UUID_V4.match(db.read("uuid", r[3])) for r in audit)


def test_booleans_timestamps_and_json_round_trip(db):
    seed(db)
    prefs = {"theme": "dark", "keys": [1, 2.5, None], "nested": {"ok": True}, "emoji": "🚀"}
    when = 1704067200123  # 2024-01-01T00:00:00.123Z, millisecond precision kept
    db.execute("INSERT INTO users(user_id, email, is_admin, preferences, created_at) "
               "VALUES ('u2', 'root@example.com', ?, ?, ?)", db.write("boolean", True),
               db.write("json", prefs), db.write("timestamp", when))
    is_admin, stored, created = db.one(
        "SELECT is_admin, preferences, created_at FROM users WHERE user_id='u2'")
    assert (db.read("boolean", is_admin), db.read("json", stored),
            db.read("timestamp", created)) == (True, prefs, when)
    # The partial index predicate `is_admin = true` selects the admin (SQLite: through 0/1).
    rows = db.rows(f"SELECT user_id FROM {ADMIN_QUERY[db.name]} AND created_at > ?",
                   db.write("timestamp", 0))
    assert rows == [("u2",)]


def test_timestamps_are_current(db):
    seed(db)
    (created,) = db.one("SELECT created_at FROM users")
    assert abs(db.read("timestamp", created) - time.time() * 1000) < 5000


def test_checks_reject_bad_rows(db):
    seed(db)
    ts = lambda ms: db.write("timestamp", ms)  # noqa: E731
    bad = [
        ("INSERT INTO users(user_id, email) VALUES ('u9', 'no-at-sign')", (),
         "users_email_has_at"),
        ("INSERT INTO sessions(session_id, agentic_tool, status) VALUES ('s9', 'codex', 'zzz')",
         (), "sessions_status_enum"),
        ("INSERT INTO sessions(session_id, agentic_tool, cost_usd) VALUES ('s9', 'codex', -1)",
         (), "sessions_cost_nonnegative"),
        ("INSERT INTO sessions(session_id, agentic_tool, temperature) VALUES ('s9', 'codex', 3)",
         (), "sessions_temperature_range"),
        ("INSERT INTO board_objects(object_id, board_id, kind) VALUES ('o9', 'b1', 'session')",
         (), "board_objects_has_target"),
        ("INSERT INTO mcp_servers(mcp_server_id, name) VALUES ('m9', 'none')", (),
         "mcp_servers_has_endpoint"),
        ("INSERT INTO tasks(task_id, session_id, prompt, started_at, finished_at) "
         "VALUES ('t9', 's1', 'p', ?, ?)", (ts(7_200_000), ts(3_600_000)),
         "tasks_finished_after_start"),
    ]
    for sql, args, check in bad:
        with db.violation("check", check):
            db.execute(sql, *args)
    with db.violation("not_null", "prompt"):
        db.execute("INSERT INTO tasks(task_id, session_id) VALUES ('t9', 's1')")


def test_unique_indexes_reject_duplicates(db):
    seed(db)
    r1 = db.write("uuid", R1)
    for sql, args, name in [
        ("INSERT INTO users(user_id, email) VALUES ('u2', 'ADA@example.com')", (),
         "users_email_lower_idx"),
        ("INSERT INTO repos(slug) VALUES ('agor')", (), "repos_slug_unique"),
        ("INSERT INTO worktrees(worktree_id, repo_id, name, path) VALUES ('w2', ?, 'main', '/x')",
         (r1,), "worktrees_repo_name_uq"),
        ("INSERT INTO session_tags(session_id, tag) VALUES ('s1', 'bug')", (),
         "session_tags:primary_key"),
    ]:
        with db.violation("unique", name):
            db.execute(sql, *args)
    for wid in ("w2", "w3"):  # partial unique index: any number of archived ones
        db.execute("INSERT INTO worktrees(worktree_id, repo_id, name, path, archived) "
                   "VALUES (?, ?, 'main', '/x', true)", wid, r1)
    db.execute("INSERT INTO session_tags(session_id, tag) VALUES ('s2', 'bug')")
    # An exact duplicate email violates both unique indexes; which one an engine reports first
    # is its business, so the expression index goes and the column's own unique answers.
    db.execute("DROP INDEX users_email_lower_idx")
    with db.violation("unique", "users_email_unique"):
        db.execute("INSERT INTO users(user_id, email) VALUES ('u2', 'ada@example.com')")


def test_foreign_keys_reject_orphans(db):
    seed(db)
    for sql, name in [
        ("INSERT INTO tasks(task_id, session_id, prompt) VALUES ('t9', 'nope', 'p')",
         "tasks_session_id_sessions_session_id_fk"),
        ("INSERT INTO sessions(session_id, parent_session_id, agentic_tool) "
         "VALUES ('s9', 'nope', 'codex')", "sessions_parent_session_id_sessions_session_id_fk"),
        ("INSERT INTO tag_notes(session_id, tag, note) VALUES ('s1', 'no-such-tag', 'x')",
         "tag_notes_session_id_tag_session_tags_session_id_tag_fk"),
        ("INSERT INTO session_mcp_servers(session_id, mcp_server_id) VALUES ('s1', 'nope')",
         "session_mcp_servers_mcp_server_id_mcp_servers_mcp_server_id_fk"),
    ]:
        with db.violation("foreign_key", name):
            db.execute(sql)


def test_on_delete_cascade_and_set_null(db):
    seed(db)
    db.execute("DELETE FROM tasks WHERE task_id = 't1'")  # messages.task_id: set null
    assert db.one("SELECT task_id FROM messages") == (None,)
    db.execute("INSERT INTO tasks(task_id, session_id, prompt) VALUES ('t1', 's1', 'again')")

    db.execute("DELETE FROM sessions WHERE session_id = 's1'")
    assert db.one("SELECT parent_session_id FROM sessions WHERE session_id = 's2'") == (None,)
    for child in ("tasks", "messages", "session_tags", "tag_notes", "session_mcp_servers",
                  "board_objects"):
        assert db.count(f"SELECT count(*) FROM {child}") == 0, child
    assert db.count("SELECT count(*) FROM mcp_servers") == 1

    db.execute("DELETE FROM board_comments WHERE comment_id = 'c1'")  # self-reference cascade
    assert db.count("SELECT count(*) FROM board_comments") == 0
    db.execute("INSERT INTO board_comments(comment_id, board_id, author_id, body) "
               "VALUES ('c3', 'b1', 'u1', 'x')")
    db.execute("DELETE FROM users WHERE user_id = 'u1'")
    assert db.one("SELECT author_id FROM board_comments") == (None,)
    assert db.one("SELECT created_by FROM repos") == (None,)

    db.execute("INSERT INTO sessions(session_id, worktree_id, agentic_tool) "
               "VALUES ('s3', 'w1', 'gemini')")
    db.execute("DELETE FROM repos")  # repos -> worktrees -> sessions
    assert db.count("SELECT count(*) FROM worktrees") == 0
    assert db.rows("SELECT session_id FROM sessions") == [("s2",)]


def test_on_update_cascade(db):
    seed(db)
    db.execute("INSERT INTO sessions(session_id, agentic_tool) VALUES ('s3', 'codex')")
    db.execute("INSERT INTO tasks(task_id, session_id, prompt) VALUES ('t3', 's3', 'p')")
    db.execute("UPDATE sessions SET session_id = 's4' WHERE session_id = 's3'")
    assert db.one("SELECT session_id FROM tasks WHERE task_id = 't3'") == ("s4",)
    # messages.session_id (and sessions.parent_session_id) are `no action` on update:
    # renaming s1, which has messages and a child session, fails.
    with db.violation("foreign_key"):
        db.execute("UPDATE sessions SET session_id = 's5' WHERE session_id = 's1'")


# ----------------------------------------------------------------------------- scenarios


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_scenario(scenario: Scenario, engine: Engine, tmp_path: Path):
    """A small schema compiled for both dialects, applied to this engine, checked there."""
    scenario.run(engine, tmp_path)
