"""`generated/postgres.sql` applied to a real PostgreSQL, read back from pg_catalog.

The example schema is compiled into a throwaway copy of the project; expectations come from
the validated spec (`load_specs`) and the type table of DESIGN.md section 4, not from the
DDL, so a drift between what the YAML says and what PostgreSQL ends up holding fails here.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from agor_schema.compiler import compile_project, load_specs
from agor_schema.config import load_config

psycopg = pytest.importorskip("psycopg")
from psycopg import errors as pg_errors  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
UUID_V4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
DAY = dt.timedelta(days=1)
SLACK = dt.timedelta(seconds=5)

# DESIGN.md section 4: logical type -> PostgreSQL type as format_type() spells it.
PG_TYPES = {
    "text": "text", "integer": "integer", "bigint": "bigint", "real": "real",
    "double": "double precision", "boolean": "boolean", "timestamp": "timestamp with time zone",
    "date": "date", "json": "jsonb", "uuid": "uuid", "bytes": "bytea",
}
ACTIONS = {"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}
# Values of SQL expression defaults as PostgreSQL evaluates them (now is the current time).
SQL_DEFAULTS = {
    "gen_random_uuid()": lambda value, now: isinstance(value, uuid.UUID) and value.version == 4,
    "now() + interval '1 day'": lambda value, now: abs(value - (now + DAY)) < SLACK,
}

R1 = uuid.UUID("11111111-1111-4111-8111-111111111111")


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
def spec(project):
    return load_specs(project)["postgres"]


@pytest.fixture
def db(project, pg_conn):
    pg_conn.execute((project.generated / "postgres.sql").read_text(encoding="utf-8"))
    return pg_conn


# ----------------------------------------------------------------------------- helpers


def expected_type(lt) -> str:
    if lt.name == "varchar":
        return f"character varying({lt.length})"
    if lt.name == "numeric":
        if lt.precision is None:
            return "numeric"
        return f"numeric({lt.precision},{lt.scale or 0})"
    return PG_TYPES[lt.name]


def pk_columns(table) -> list[str]:
    if table.primary_key:
        return list(table.primary_key)
    return [name for name, c in table.columns.items() if c.primary_key]


def enum_checked(schema, table, column) -> bool:
    if not column.enum:
        return False
    if column.enum_check is not None:
        return column.enum_check
    return bool(table.enum_check if table.enum_check is not None else schema.enum_check)


def rows(db, sql: str, *args) -> list[tuple]:
    return db.execute(sql, args).fetchall()


def one(db, sql: str, *args) -> tuple:
    row = db.execute(sql, args).fetchone()
    assert row is not None, sql
    return row


def columns_of(db, table: str) -> list[tuple]:
    """(name, type, not null, default expression, identity, is_identity) in column order."""
    return rows(db, """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               c.column_default, a.attidentity, c.is_identity, c.identity_generation
        FROM pg_attribute a
        JOIN information_schema.columns c
          ON c.table_schema = 'public' AND c.table_name = %s AND c.column_name = a.attname
        WHERE a.attrelid = ('public.' || quote_ident(%s))::regclass
          AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum""", table, table)


def constraints(db, table: str) -> dict[str, tuple]:
    """name -> (contype, columns, referenced table, referenced columns, on delete, on update)."""
    found = rows(db, """
        SELECT con.conname, con.contype,
               ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n
                     ORDER BY k.i),
               f.relname::text,
               ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n
                     ORDER BY k.i),
               con.confdeltype, con.confupdtype
        FROM pg_constraint con
        LEFT JOIN pg_class f ON f.oid = con.confrelid
        WHERE con.conrelid = ('public.' || quote_ident(%s))::regclass
          AND con.contype IN ('p', 'f', 'u', 'c')""", table)
    return {name: tuple(rest) for name, *rest in found}


def indexes(db, table: str) -> dict[str, tuple]:
    """Indexes not backing a primary key or unique constraint:
    name -> (unique, key columns with None for expressions, expressions, predicate)."""
    found = rows(db, """
        SELECT ic.relname::text, ix.indisunique,
               ARRAY(SELECT CASE WHEN k.n = 0 THEN NULL ELSE a.attname::text END
                     FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(n, i)
                     LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.n
                     ORDER BY k.i),
               pg_get_expr(ix.indexprs, ix.indrelid), pg_get_expr(ix.indpred, ix.indrelid)
        FROM pg_index ix
        JOIN pg_class ic ON ic.oid = ix.indexrelid
        WHERE ix.indrelid = ('public.' || quote_ident(%s))::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid
                          AND c.conrelid = ix.indrelid AND c.contype IN ('p', 'u'))""", table)
    return {name: tuple(rest) for name, *rest in found}


def columns_named(sql: str) -> set[str]:
    return {c.name for c in sqlglot.parse_one(sql, read="postgres").find_all(exp.Column)}


def normalized(sql: str) -> str:
    return re.sub(r"[\s`\"()]", "", sql).lower()


def check_default(db, where: str, column, default_sql: str | None) -> str | None:
    """None if the catalog default `default_sql` is what the spec says, else a complaint."""
    if not column.has_default:
        return None if default_sql is None else f"{where}: unexpected default {default_sql}"
    if default_sql is None:
        return f"{where}: default {column.default!r} missing"
    value, now = one(db, f"SELECT {default_sql}, now()")
    want, lt = column.default, column.logical_type
    if isinstance(want, dict) and set(want) == {"sql"}:
        judge = SQL_DEFAULTS.get(want["sql"])
        if judge is None:
            return f"{where}: no expectation for SQL default {want['sql']!r}; add one to the test"
        ok = judge(value, now)
    elif lt.name == "json":
        ok = value == want and type(value) is type(want)
    elif lt.name == "timestamp" and want == "now":
        ok = isinstance(value, dt.datetime) and abs(value - now) < SLACK
    elif lt.name == "boolean":
        ok = value is bool(want)
    elif isinstance(want, (int, float)):
        ok = value == want and not isinstance(value, str)
    else:
        ok = value == str(want)
    return None if ok else f"{where}: default evaluates to {value!r}, spec says {want!r}"


# ----------------------------------------------------------------------------- catalog


def test_tables_are_the_spec_tables(db, spec):
    tables = {r[0] for r in rows(
        db, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
    assert tables == set(spec.tables)
    assert "audit_log" in tables  # only: postgres
    assert "local_cache" not in tables  # only: sqlite


def test_columns_types_nullability_and_identity(db, spec):
    problems = []
    for name, table in spec.tables.items():
        found = columns_of(db, name)
        assert [r[0] for r in found] == list(table.columns), f"{name}: column order"
        pk = pk_columns(table)
        for col, type_, not_null, _default, attidentity, is_identity, generation in found:
            column = table.columns[col]
            want = expected_type(column.logical_type)
            if type_ != want:
                problems.append(f"{name}.{col}: type {type_}, expected {want} ({column.type})")
            if not_null != (column.not_null or col in pk):
                problems.append(f"{name}.{col}: not null = {not_null}")
            if column.autoincrement:
                if (attidentity, is_identity, generation) != ("d", "YES", "BY DEFAULT"):
                    problems.append(f"{name}.{col}: identity {attidentity!r} {generation!r}")
            elif attidentity or is_identity != "NO":
                problems.append(f"{name}.{col}: unexpected identity")
    assert not problems, "\n".join(problems)


def test_postgres_only_tenant_id(db, spec, project):
    sqlite_spec = load_specs(project)["sqlite"]
    tenant_tables = {r[0] for r in rows(
        db, "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'tenant_id'")}
    assert tenant_tables == {n for n, t in spec.tables.items() if "tenant_id" in t.columns}
    assert {"users", "repos", "sessions", "mcp_servers", "audit_log"} <= tenant_tables
    assert not any("tenant_id" in t.columns for t in sqlite_spec.tables.values())
    assert columns_of(db, "users")[-1][:4] == ("tenant_id", "text", True, "'default'::text")
    assert "users_tenant_idx" in indexes(db, "users")


def test_defaults(db, spec):
    problems = []
    for name, table in spec.tables.items():
        for col, _type, _nn, default, *_ in columns_of(db, name):
            problem = check_default(db, f"{name}.{col}", table.columns[col], default)
            if problem:
                problems.append(problem)
    assert not problems, "\n".join(problems)
    # Per-dialect default: audit_log.request_id has one on PostgreSQL only.
    assert spec.tables["audit_log"].columns["request_id"].default == {"sql": "gen_random_uuid()"}


def expected_constraints(name: str, table, schema) -> dict[str, tuple]:
    out: dict[str, tuple] = {}
    pk = pk_columns(table)
    pk_name = f"{name}_{'_'.join(pk)}_pk" if table.primary_key else f"{name}_pkey"
    out[pk_name] = ("p", pk, None, [], " ", " ")
    for col, column in table.columns.items():
        if column.unique:
            out[f"{name}_{col}_unique"] = ("u", [col], None, [], " ", " ")
        if column.references:
            target, target_col = column.references.split(".")
            out[f"{name}_{col}_{target}_{target_col}_fk"] = (
                "f", [col], target, [target_col], column.on_delete or "no action",
                column.on_update or "no action")
    for columns in table.unique:
        out[f"{name}_{'_'.join(columns)}_unique"] = ("u", list(columns), None, [], " ", " ")
    for fk in table.foreign_keys:
        fk_name = fk.name or (f"{name}_{'_'.join(fk.columns)}_{fk.references.table}_"
                              f"{'_'.join(fk.references.columns)}_fk")
        out[fk_name] = ("f", list(fk.columns), fk.references.table, list(fk.references.columns),
                        fk.on_delete or "no action", fk.on_update or "no action")
    for check in table.checks:
        out[check] = ("c", None, None, [], " ", " ")
    for col, column in table.columns.items():
        if enum_checked(schema, table, column):
            out[f"{name}_{col}_enum"] = ("c", [col], None, [], " ", " ")
    return out


def test_keys_uniques_foreign_keys_and_checks(db, spec):
    problems = []
    for name, table in spec.tables.items():
        expected = expected_constraints(name, table, spec)
        actual = constraints(db, name)
        if set(actual) != set(expected):
            problems.append(f"{name}: constraints {sorted(actual)}, expected {sorted(expected)}")
            continue
        for con, (kind, cols, target, target_cols, on_delete, on_update) in expected.items():
            a_kind, a_cols, a_target, a_target_cols, a_del, a_upd = actual[con]
            a_del, a_upd = ACTIONS.get(a_del, a_del), ACTIONS.get(a_upd, a_upd)
            if kind == "c" and cols is None:  # a named check reads whatever its SQL names
                a_cols = None
            got = (a_kind, a_cols, a_target, a_target_cols or [], a_del, a_upd)
            if got != (kind, cols, target, target_cols, on_delete, on_update):
                problems.append(f"{con}: {got}")
    assert not problems, "\n".join(problems)
    # The interesting ones, spelled out.
    sessions = constraints(db, "sessions")
    assert sessions["sessions_parent_session_id_sessions_session_id_fk"] == (
        "f", ["parent_session_id"], "sessions", ["session_id"], "n", "a")
    assert constraints(db, "tag_notes")["tag_notes_session_id_tag_session_tags_session_id_tag_fk"] \
        == ("f", ["session_id", "tag"], "session_tags", ["session_id", "tag"], "c", "a")
    assert constraints(db, "tasks")["tasks_session_id_sessions_session_id_fk"][4:] == ("c", "c")
    assert constraints(db, "session_tags")["session_tags_session_id_tag_pk"][:2] == \
        ("p", ["session_id", "tag"])


def test_indexes_unique_partial_and_expression(db, spec):
    problems = []
    for name, table in spec.tables.items():
        actual = indexes(db, name)
        if set(actual) != set(table.indexes):
            problems.append(f"{name}: indexes {sorted(actual)}, expected {sorted(table.indexes)}")
            continue
        for index_name, index in table.indexes.items():
            unique, keys, expressions, predicate = actual[index_name]
            want_keys = list(index.columns) + [None] * len(index.expressions)
            if unique != index.unique or keys != want_keys:
                problems.append(f"{index_name}: unique={unique} keys={keys}")
            if bool(expressions) != bool(index.expressions) or (
                    expressions and normalized(expressions) != normalized(
                        ", ".join(index.expressions))):
                problems.append(f"{index_name}: expressions {expressions!r}")
            if bool(predicate) != bool(index.where):
                problems.append(f"{index_name}: predicate {predicate!r}")
            elif predicate and columns_named(predicate) != columns_named(index.where):
                problems.append(f"{index_name}: predicate {predicate!r} vs {index.where!r}")
    assert not problems, "\n".join(problems)
    users = indexes(db, "users")
    assert users["users_admin_recent_idx"][3] == "(is_admin = true)"
    assert users["users_email_lower_idx"][:3] == (True, [None], "lower(email)")
    assert indexes(db, "sessions")["sessions_active_idx"][3] == "(status <> 'completed'::text)"
    assert indexes(db, "worktrees")["worktrees_repo_name_uq"][:2] == (True, ["repo_id", "name"])


# ----------------------------------------------------------------------------- rows


def dummy(lt, i: int = 0) -> Any:
    """A value of the column's type that passes the example schema's checks."""
    return {
        "text": f"#{i}@x", "varchar": f"#{i}@", "integer": 1 + i, "bigint": 1 + i,
        "real": 1.0, "double": 1.0, "numeric": 1, "boolean": True,
        "timestamp": dt.datetime.now(dt.timezone.utc), "date": dt.date(2024, 1, 1),
        "json": Jsonb({}), "uuid": uuid.uuid4(), "bytes": b"x",
    }[lt.name]


def test_every_table_takes_a_row_and_enum_checks_reject_bad_values(db, spec):
    for table, con in rows(db, "SELECT conrelid::regclass::text, conname FROM pg_constraint "
                               "WHERE contype = 'f' AND connamespace = 'public'::regnamespace"):
        db.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{con}"')
    checked = 0
    for name, table in spec.tables.items():
        cols = [c for c, column in table.columns.items() if not column.autoincrement]
        row = {c: (table.columns[c].enum or [dummy(table.columns[c].logical_type)])[0]
               for c in cols}
        insert = (f'INSERT INTO "{name}" ({", ".join(cols)}) '
                  f'VALUES ({", ".join(["%s"] * len(cols))})')
        db.execute(insert, [row[c] for c in cols])
        db.execute(f'DELETE FROM "{name}"')
        for col, column in table.columns.items():
            if not column.enum:
                continue
            for value in column.enum:
                db.execute(insert, [value if c == col else row[c] for c in cols])
                db.execute(f'DELETE FROM "{name}"')
            if enum_checked(spec, table, column):
                checked += 1
                with pytest.raises(pg_errors.CheckViolation) as info:
                    db.execute(insert, ["bogus" if c == col else row[c] for c in cols])
                assert info.value.diag.constraint_name == f"{name}_{col}_enum"
    assert checked >= 8


def seed(db) -> None:
    db.execute("INSERT INTO users(user_id, email) VALUES ('u1', 'ada@example.com')")
    db.execute("INSERT INTO repos(repo_id, slug, created_by) VALUES (%s, 'agor', 'u1')", (R1,))
    db.execute("INSERT INTO worktrees(worktree_id, repo_id, name, path) "
               "VALUES ('w1', %s, 'main', '/src/agor')", (R1,))
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


def test_defaults_on_inserted_rows(db):
    seed(db)
    (now,) = one(db, "SELECT now()")
    is_admin, role, prefs, created, tenant = one(
        db, "SELECT is_admin, role, preferences, created_at, tenant_id FROM users")
    assert (is_admin, role, tenant) == (False, "member", "default")
    assert prefs == {"theme": "system", "notifications": True}
    assert isinstance(created, dt.datetime) and created.utcoffset() is not None
    assert abs(created - now) < SLACK

    db.execute("INSERT INTO repos(slug) VALUES ('generated-id')")
    repo_id, size, repo_type = one(
        db, "SELECT repo_id, size_bytes, repo_type FROM repos WHERE slug = 'generated-id'")
    assert isinstance(repo_id, uuid.UUID) and UUID_V4.match(str(repo_id))
    assert (size, repo_type) == (0, "remote")

    assert one(db, "SELECT archived, ref, data FROM worktrees") == (False, "main", {})
    assert one(db, "SELECT ready_for_prompt, status, cost_usd, data FROM sessions "
                   "WHERE session_id = 's1'") == (True, "idle", 0, {})
    status, uses, created, deadline = one(
        db, "SELECT status, tool_uses, created_at, deadline_at FROM tasks")
    assert (status, uses) == ("pending", 0)
    assert deadline - created == DAY
    assert one(db, "SELECT content, tokens FROM messages") == ([], 0)
    assert one(db, "SELECT icon, color, data FROM boards") == \
        ("📋", "#3b82f6", {"layout": "grid", "zoom": 1.0})
    assert one(db, "SELECT resolved, reactions FROM board_comments WHERE comment_id = 'c1'") == \
        (False, [])
    assert one(db, "SELECT enabled, env, transport FROM mcp_servers") == (True, {}, "stdio")
    db.execute("INSERT INTO audit_log(action) VALUES ('login'), ('logout')")
    audit = rows(db, "SELECT audit_id, tenant_id, payload, request_id FROM audit_log ORDER BY 1")
    assert [r[:3] for r in audit] == [(1, "default", {}), (2, "default", {})]
    assert all(isinstance(r[3], uuid.UUID) for r in audit)


def test_booleans_timestamps_and_json_round_trip(db):
    seed(db)
    prefs = {"theme": "dark", "keys": [1, 2.5, None], "nested": {"ok": True}, "emoji": "🚀"}
    when = dt.datetime(2024, 1, 1, 0, 0, 0, 123000, tzinfo=dt.timezone.utc)
    db.execute("INSERT INTO users(user_id, email, is_admin, preferences, created_at) "
               "VALUES ('u2', 'root@example.com', true, %s, %s)", (Jsonb(prefs), when))
    assert one(db, "SELECT is_admin, preferences, created_at FROM users WHERE user_id = 'u2'") \
        == (True, prefs, when)
    assert rows(db, "SELECT user_id FROM users WHERE is_admin") == [("u2",)]


def test_checks_reject_bad_rows(db):
    seed(db)
    bad = [
        ("INSERT INTO users(user_id, email) VALUES ('u9', 'no-at-sign')", "users_email_has_at"),
        ("INSERT INTO sessions(session_id, agentic_tool, status) VALUES ('s9', 'codex', 'zzz')",
         "sessions_status_enum"),
        ("INSERT INTO sessions(session_id, agentic_tool, cost_usd) VALUES ('s9', 'codex', -1)",
         "sessions_cost_nonnegative"),
        ("INSERT INTO sessions(session_id, agentic_tool, temperature) VALUES ('s9', 'codex', 3)",
         "sessions_temperature_range"),
        ("INSERT INTO board_objects(object_id, board_id, kind) VALUES ('o9', 'b1', 'session')",
         "board_objects_has_target"),
        ("INSERT INTO mcp_servers(mcp_server_id, name) VALUES ('m9', 'none')",
         "mcp_servers_has_endpoint"),
        ("INSERT INTO tasks(task_id, session_id, prompt, started_at, finished_at) "
         "VALUES ('t9', 's1', 'p', now(), now() - interval '1 hour')",
         "tasks_finished_after_start"),
    ]
    for sql, check in bad:
        with pytest.raises(pg_errors.CheckViolation) as info:
            db.execute(sql)
        assert info.value.diag.constraint_name == check
    with pytest.raises(pg_errors.NotNullViolation):
        db.execute("INSERT INTO tasks(task_id, session_id) VALUES ('t9', 's1')")


def test_unique_indexes_reject_duplicates(db):
    seed(db)
    for sql, name in [
        ("INSERT INTO users(user_id, email) VALUES ('u2', 'ada@example.com')",
         "users_email_unique"),
        ("INSERT INTO users(user_id, email) VALUES ('u2', 'ADA@example.com')",
         "users_email_lower_idx"),
        ("INSERT INTO repos(slug) VALUES ('agor')", "repos_slug_unique"),
        ("INSERT INTO worktrees(worktree_id, repo_id, name, path) VALUES ('w2', %s, 'main', '/x')",
         "worktrees_repo_name_uq"),
        ("INSERT INTO session_tags(session_id, tag) VALUES ('s1', 'bug')",
         "session_tags_session_id_tag_pk"),
    ]:
        with pytest.raises(pg_errors.UniqueViolation) as info:
            db.execute(sql, (R1,) if "%s" in sql else None)
        assert info.value.diag.constraint_name == name
    for wid in ("w2", "w3"):  # partial unique index: any number of archived ones
        db.execute("INSERT INTO worktrees(worktree_id, repo_id, name, path, archived) "
                   "VALUES (%s, %s, 'main', '/x', true)", (wid, R1))


def test_foreign_keys_reject_orphans(db):
    seed(db)
    for sql, name in [
        ("INSERT INTO tasks(task_id, session_id, prompt) VALUES ('t9', 'nope', 'p')",
         "tasks_session_id_sessions_session_id_fk"),
        ("INSERT INTO sessions(session_id, parent_session_id, agentic_tool) "
         "VALUES ('s9', 'nope', 'codex')", "sessions_parent_session_id_sessions_session_id_fk"),
        ("INSERT INTO tag_notes(session_id, tag, note) VALUES ('s1', 'no-such-tag', 'x')",
         "tag_notes_session_id_tag_session_tags_session_id_tag_fk"),
    ]:
        with pytest.raises(pg_errors.ForeignKeyViolation) as info:
            db.execute(sql)
        assert info.value.diag.constraint_name == name


def count(db, sql: str) -> int:
    return one(db, sql)[0]


def test_on_delete_cascade_and_set_null(db):
    seed(db)
    db.execute("DELETE FROM tasks WHERE task_id = 't1'")  # messages.task_id: set null
    assert one(db, "SELECT task_id FROM messages") == (None,)
    db.execute("INSERT INTO tasks(task_id, session_id, prompt) VALUES ('t1', 's1', 'again')")

    db.execute("DELETE FROM sessions WHERE session_id = 's1'")
    assert one(db, "SELECT parent_session_id FROM sessions WHERE session_id = 's2'") == (None,)
    for child in ("tasks", "messages", "session_tags", "tag_notes", "session_mcp_servers",
                  "board_objects"):
        assert count(db, f"SELECT count(*) FROM {child}") == 0, child
    assert count(db, "SELECT count(*) FROM mcp_servers") == 1

    db.execute("DELETE FROM board_comments WHERE comment_id = 'c1'")  # self-reference cascade
    assert count(db, "SELECT count(*) FROM board_comments") == 0
    db.execute("INSERT INTO board_comments(comment_id, board_id, author_id, body) "
               "VALUES ('c3', 'b1', 'u1', 'x')")
    db.execute("DELETE FROM users WHERE user_id = 'u1'")
    assert one(db, "SELECT author_id FROM board_comments") == (None,)
    assert one(db, "SELECT created_by FROM repos") == (None,)

    db.execute("INSERT INTO sessions(session_id, worktree_id, agentic_tool) "
               "VALUES ('s3', 'w1', 'gemini')")
    db.execute("DELETE FROM repos")  # repos -> worktrees -> sessions
    assert count(db, "SELECT count(*) FROM worktrees") == 0
    assert rows(db, "SELECT session_id FROM sessions") == [("s2",)]


def test_on_update_cascade(db):
    seed(db)
    db.execute("INSERT INTO sessions(session_id, agentic_tool) VALUES ('s3', 'codex')")
    db.execute("INSERT INTO tasks(task_id, session_id, prompt) VALUES ('t3', 's3', 'p')")
    db.execute("UPDATE sessions SET session_id = 's4' WHERE session_id = 's3'")
    assert one(db, "SELECT session_id FROM tasks WHERE task_id = 't3'") == ("s4",)
    with pytest.raises(pg_errors.ForeignKeyViolation):  # messages: on update no action
        db.execute("UPDATE sessions SET session_id = 's5' WHERE session_id = 's1'")


def test_timestamps_are_current(db):
    seed(db)
    (created,) = one(db, "SELECT created_at FROM users")
    assert abs(created.timestamp() - time.time()) < 5


# ----------------------------------------------------------------------------- expressions

EVENTS_YAML = """\
tables:
  events:
    columns:
      id:          {type: integer, primary_key: true}
      happened_at: {type: timestamp, not_null: true}
      label:       {type: text, not_null: true, default: {sql: "'ev' || '-' || 'x'"}}
    indexes:
      events_2024_idx:
        columns: [happened_at]
        where: "happened_at BETWEEN '2024-01-01' AND '2024-12-31T23:59:59.999Z'"
    checks:
      events_range: "happened_at BETWEEN '2000-01-01' AND '2100-01-01'"
      events_after_2020: "'2020-01-01' <= happened_at"
"""


def test_timestamp_literals_without_offset_mean_utc(tmp_path: Path, pg_conn):
    """As in SQLite's epoch ms, '2020-01-01' is UTC midnight whatever the server's TimeZone."""
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "events.yaml").write_text(EVENTS_YAML, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[tool.agorschema]\ndialects = ["postgres"]\n')
    cfg = load_config(tmp_path)
    compile_project(cfg)
    pg_conn.execute("SET TimeZone = 'Pacific/Auckland'")  # UTC+13 in January
    pg_conn.execute((cfg.generated / "postgres.sql").read_text(encoding="utf-8"))
    utc = dt.timezone.utc
    insert = "INSERT INTO events(id, happened_at) VALUES (%s, %s)"
    pg_conn.execute(insert, (1, dt.datetime(2020, 1, 1, tzinfo=utc)))
    assert one(pg_conn, "SELECT label FROM events WHERE id = 1") == ("ev-x",)
    with pytest.raises(pg_errors.CheckViolation) as info:
        pg_conn.execute(insert, (2, dt.datetime(2019, 12, 31, 23, 0, tzinfo=utc)))
    assert info.value.diag.constraint_name == "events_after_2020"
    (predicate,) = one(pg_conn, "SELECT pg_get_expr(indpred, indrelid) FROM pg_index "
                                "WHERE indexrelid = 'events_2024_idx'::regclass")
    assert "2024-01-01 13:00:00+13" in predicate  # UTC midnight, shown in the session zone
