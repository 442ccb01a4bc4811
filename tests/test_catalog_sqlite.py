"""`generated/sqlite.sql` applied to a real SQLite file, read back from the catalog.

The example schema is compiled into a throwaway copy of the project; expectations come from
the validated spec (`load_specs`) and the type table of DESIGN.md section 4, not from the
DDL, so a drift between what the YAML says and what SQLite ends up holding fails here.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from agor_schema.compiler import compile_project, load_specs
from agor_schema.config import load_config

REPO = Path(__file__).resolve().parents[1]
UUID_V4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
DAY_MS = 86_400_000

# DESIGN.md section 4: logical type -> SQLite declared type.
SQLITE_TYPES = {
    "text": "text", "integer": "integer", "bigint": "integer", "real": "real", "double": "real",
    "numeric": "numeric", "boolean": "integer", "timestamp": "integer", "date": "text",
    "json": "text", "uuid": "text(36)", "bytes": "blob",
}
# Values of SQL expression defaults, evaluated in SQLite storage (now_ms is the current time).
SQL_DEFAULTS = {
    "gen_random_uuid()": lambda value, now_ms: bool(UUID_V4.match(value)),
    "now() + interval '1 day'": lambda value, now_ms: abs(value - (now_ms + DAY_MS)) < 5000,
}


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
    return load_specs(project)["sqlite"]


@pytest.fixture
def db(project, tmp_path: Path):
    conn = sqlite3.connect(tmp_path / "catalog.db", isolation_level=None)
    conn.executescript((project.generated / "sqlite.sql").read_text(encoding="utf-8"))
    conn.execute("PRAGMA foreign_keys=ON")
    try:
        yield conn
    finally:
        conn.close()


# ----------------------------------------------------------------------------- helpers


def expected_type(lt) -> str:
    if lt.name == "varchar":
        return f"text({lt.length})"
    return SQLITE_TYPES[lt.name]


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


def table_sql(conn, name: str) -> str:
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name=?",
                       (name,)).fetchone()
    assert row is not None, f"table {name} missing"
    return row[0]


def index_sql(conn, name: str) -> str | None:
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type='index' AND name=?",
                       (name,)).fetchone()
    return row[0] if row else None


def where_clause(sql: str) -> str | None:
    match = re.search(r"\)\s+WHERE\s+(.*?);?\s*$", sql, re.S | re.I)
    return match.group(1) if match else None


def columns_named(sql: str, dialect: str) -> set[str]:
    return {c.name for c in sqlglot.parse_one(sql, read=dialect).find_all(exp.Column)}


def normalized(sql: str) -> str:
    return re.sub(r"[\s`\"]", "", sql).lower()


def now_ms() -> int:
    return int(time.time() * 1000)


def check_default(conn, table: str, name: str, column, default_sql: str | None) -> str | None:
    """None if the catalog default `default_sql` is what the spec says, else a complaint."""
    where = f"{table}.{name}"
    if not column.has_default:
        return None if default_sql is None else f"{where}: unexpected default {default_sql}"
    if default_sql is None:
        return f"{where}: default {column.default!r} missing"
    (value,) = conn.execute(f"SELECT {default_sql}").fetchone()
    want, lt = column.default, column.logical_type
    if isinstance(want, dict) and set(want) == {"sql"}:
        judge = SQL_DEFAULTS.get(want["sql"])
        if judge is None:
            return f"{where}: no expectation for SQL default {want['sql']!r}; add one to the test"
        ok = judge(value, now_ms())
    elif lt.name == "json":
        ok = isinstance(value, str) and json.loads(value) == want
    elif lt.name == "timestamp" and want == "now":
        ok = isinstance(value, int) and abs(value - now_ms()) < 5000
    elif lt.name == "boolean":
        ok = value == (1 if want else 0) and type(value) is int
    elif isinstance(want, (int, float)):
        ok = value == want and isinstance(value, (int, float))
    else:
        ok = value == str(want)
    return None if ok else f"{where}: default evaluates to {value!r}, spec says {want!r}"


# ----------------------------------------------------------------------------- catalog


def test_tables_are_the_spec_tables(db, spec):
    tables = {r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")}
    assert tables == set(spec.tables)
    assert "local_cache" in tables  # only: sqlite
    assert "audit_log" not in tables  # only: postgres


def test_columns_types_nullability_and_primary_keys(db, spec):
    problems = []
    for name, table in spec.tables.items():
        info = db.execute(f"PRAGMA table_info(`{name}`)").fetchall()
        assert [r[1] for r in info] == list(table.columns), f"{name}: column order"
        pk = pk_columns(table)
        for _cid, col, decl, notnull, _dflt, pk_pos in info:
            column = table.columns[col]
            if decl.lower() != expected_type(column.logical_type):
                problems.append(f"{name}.{col}: type {decl}, expected "
                                f"{expected_type(column.logical_type)} ({column.type})")
            if bool(notnull) != (column.not_null or col in pk):
                problems.append(f"{name}.{col}: notnull={notnull}")
            want_pos = pk.index(col) + 1 if col in pk else 0
            if pk_pos != want_pos:
                problems.append(f"{name}.{col}: pk position {pk_pos}, expected {want_pos}")
    assert not problems, "\n".join(problems)
    assert "tenant_id" not in [r[1] for r in db.execute("PRAGMA table_info(users)")]


def test_composite_primary_keys(db, spec):
    composite = {n: t.primary_key for n, t in spec.tables.items() if t.primary_key}
    assert set(composite) >= {"session_mcp_servers", "session_tags"}
    for name, columns in composite.items():
        pk_indexes = [r for r in db.execute(f"PRAGMA index_list(`{name}`)") if r[3] == "pk"]
        assert len(pk_indexes) == 1, name
        info = db.execute(f"PRAGMA index_info(`{pk_indexes[0][1]}`)").fetchall()
        assert [r[2] for r in info] == list(columns)


def test_autoincrement_columns(db, spec):
    seen = 0
    for name, table in spec.tables.items():
        for col, column in table.columns.items():
            declared = re.search(rf"`{col}` integer PRIMARY KEY AUTOINCREMENT", table_sql(db, name))
            assert bool(declared) == column.autoincrement, f"{name}.{col}"
            seen += column.autoincrement
    assert seen >= 2
    # AUTOINCREMENT never reuses an id, even the highest one after a delete.
    db.execute("INSERT INTO local_cache(cache_key, value) VALUES ('k', x'00')")
    db.execute("PRAGMA foreign_keys=OFF")
    for i in range(2):
        db.execute("INSERT INTO tag_notes(session_id, tag, note) VALUES ('s', 't', ?)", (str(i),))
    db.execute("DELETE FROM tag_notes WHERE note_id = 2")
    db.execute("INSERT INTO tag_notes(session_id, tag, note) VALUES ('s', 't', 'x')")
    assert [r[0] for r in db.execute("SELECT note_id FROM tag_notes ORDER BY 1")] == [1, 3]


def test_defaults(db, spec):
    problems = []
    for name, table in spec.tables.items():
        for _cid, col, _decl, _nn, dflt, _pk in db.execute(f"PRAGMA table_info(`{name}`)"):
            problem = check_default(db, name, col, table.columns[col], dflt)
            if problem:
                problems.append(problem)
    assert not problems, "\n".join(problems)
    # Per-dialect override: `hits` defaults to 0, but to 1 on SQLite.
    assert spec.tables["local_cache"].columns["hits"].default == 1


def test_foreign_keys_and_actions(db, spec):
    for name, table in spec.tables.items():
        expected = []
        for col, column in table.columns.items():
            if column.references:
                target, target_col = column.references.split(".")
                expected.append(((col,), target, (target_col,), column.on_update or "no action",
                                 column.on_delete or "no action"))
        for fk in table.foreign_keys:
            expected.append((tuple(fk.columns), fk.references.table, tuple(fk.references.columns),
                             fk.on_update or "no action", fk.on_delete or "no action"))
        groups: dict[int, list] = {}
        for row in db.execute(f"PRAGMA foreign_key_list(`{name}`)"):
            groups.setdefault(row[0], []).append(row)
        actual = []
        for rows in groups.values():
            rows.sort(key=lambda r: r[1])
            actual.append((tuple(r[3] for r in rows), rows[0][2], tuple(r[4] for r in rows),
                           rows[0][5].lower(), rows[0][6].lower()))
        assert sorted(actual) == sorted(expected), name
    # The two interesting ones, spelled out.
    sessions = db.execute("PRAGMA foreign_key_list(sessions)").fetchall()
    assert ("sessions", "parent_session_id", "session_id", "NO ACTION", "SET NULL") in \
        [r[2:7] for r in sessions]
    notes = db.execute("PRAGMA foreign_key_list(tag_notes)").fetchall()
    assert [(r[1], r[2], r[3], r[4], r[6]) for r in notes] == [
        (0, "session_tags", "session_id", "session_id", "CASCADE"),
        (1, "session_tags", "tag", "tag", "CASCADE"),
    ]


def test_indexes_unique_partial_and_expression(db, spec):
    problems = []
    for name, table in spec.tables.items():
        expected: dict[str, tuple[bool, list, Any]] = {}
        for col, column in table.columns.items():
            if column.unique:
                expected[f"{name}_{col}_unique"] = (True, [col], None)
        for columns in table.unique:
            expected[f"{name}_{'_'.join(columns)}_unique"] = (True, list(columns), None)
        for index_name, index in table.indexes.items():
            parts = list(index.columns) + [None] * len(index.expressions)
            expected[index_name] = (index.unique, parts, index)
        actual = {r[1]: r for r in db.execute(f"PRAGMA index_list(`{name}`)") if r[3] != "pk"}
        if set(actual) != set(expected):
            problems.append(f"{name}: indexes {sorted(actual)}, expected {sorted(expected)}")
            continue
        for index_name, (unique, parts, index) in expected.items():
            _seq, _n, is_unique, _origin, partial = actual[index_name]
            keys = [r[2] for r in db.execute(f"PRAGMA index_xinfo(`{index_name}`)") if r[5]]
            if bool(is_unique) != unique or keys != parts:
                problems.append(f"{index_name}: unique={is_unique} keys={keys}")
            sql = index_sql(db, index_name)
            where = where_clause(sql)
            if bool(partial) != bool(index is not None and index.where):
                problems.append(f"{index_name}: partial={partial}")
            if index is None:
                continue
            for expression in index.expressions:
                if normalized(expression) not in normalized(sql):
                    problems.append(f"{index_name}: expression {expression!r} not in {sql}")
            if index.where:
                if columns_named(where, "sqlite") != columns_named(index.where, "postgres"):
                    problems.append(f"{index_name}: WHERE {where!r} vs spec {index.where!r}")
                tree = sqlglot.parse_one(where, read="sqlite")
                if list(tree.find_all(exp.Boolean)):
                    problems.append(f"{index_name}: boolean literal left in {where!r}")
    assert not problems, "\n".join(problems)
    # The type-aware rewrites, spelled out (DESIGN.md section 4).
    cutoff = int(dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc).timestamp() * 1000)
    assert where_clause(index_sql(db, "users_admin_recent_idx")) == '"is_admin" = 1'
    assert where_clause(index_sql(db, "worktrees_repo_name_uq")) == '"archived" = 0'
    assert where_clause(index_sql(db, "messages_recent_idx")) == f'"created_at" > {cutoff}'
    # sqlite: override of the index's where.
    assert "'failed'" in where_clause(index_sql(db, "sessions_active_idx"))
    assert "lower(email)" in normalized(index_sql(db, "users_email_lower_idx"))


def test_checks_are_named_as_the_spec_says(db, spec):
    for name, table in spec.tables.items():
        expected = set(table.checks) | {
            f"{name}_{col}_enum" for col, column in table.columns.items()
            if enum_checked(spec, table, column)
        }
        actual = set(re.findall(r'CONSTRAINT "(\w+)" CHECK\(', table_sql(db, name)))
        assert actual == expected, name
    assert "sessions_status_enum" in re.findall(r'"(\w+)" CHECK', table_sql(db, "sessions"))


# ----------------------------------------------------------------------------- rows


def dummy(lt, i: int = 0) -> Any:
    """A value of the column's storage that passes the example schema's checks."""
    return {
        "text": f"#{i}@x", "varchar": f"#{i}@", "integer": 1 + i, "bigint": 1 + i,
        "real": 1.0, "double": 1.0, "numeric": 1, "boolean": 1, "timestamp": now_ms(),
        "date": "2024-01-01", "json": "{}", "uuid": "00000000-0000-4000-8000-00000000000" + str(i),
        "bytes": b"x",
    }[lt.name]


def test_every_table_takes_a_row_and_enum_checks_reject_bad_values(db, spec):
    db.execute("PRAGMA foreign_keys=OFF")
    checked = 0
    for name, table in spec.tables.items():
        cols = [c for c, column in table.columns.items() if not column.autoincrement]
        row = {c: (table.columns[c].enum or [dummy(table.columns[c].logical_type)])[0]
               for c in cols}
        insert = f"INSERT INTO `{name}` ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        db.execute(insert, [row[c] for c in cols])
        db.execute(f"DELETE FROM `{name}`")
        for col, column in table.columns.items():
            if not column.enum:
                continue
            for value in column.enum:
                db.execute(insert, [value if c == col else row[c] for c in cols])
                db.execute(f"DELETE FROM `{name}`")
            if enum_checked(spec, table, column):
                checked += 1
                with pytest.raises(sqlite3.IntegrityError, match=f"{name}_{col}_enum"):
                    db.execute(insert, ["bogus" if c == col else row[c] for c in cols])
    assert checked >= 8


def seed(db) -> None:
    db.execute("INSERT INTO users(user_id, email) VALUES ('u1', 'ada@example.com')")
    db.execute("INSERT INTO repos(repo_id, slug, created_by) VALUES ('r1', 'agor', 'u1')")
    db.execute("INSERT INTO worktrees(worktree_id, repo_id, name, path) "
               "VALUES ('w1', 'r1', 'main', '/src/agor')")
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


def one(db, sql: str, *args) -> tuple:
    row = db.execute(sql, args).fetchone()
    assert row is not None, sql
    return row


def test_defaults_on_inserted_rows(db):
    before = now_ms()
    seed(db)
    db.execute("INSERT INTO local_cache(cache_key, value) VALUES ('k', x'01')")
    after = now_ms()

    is_admin, kind, role, prefs, created, kind_c = one(
        db, "SELECT is_admin, typeof(is_admin), role, preferences, created_at, typeof(created_at) "
            "FROM users")
    assert (is_admin, kind, role) == (0, "integer", "member")
    assert json.loads(prefs) == {"theme": "system", "notifications": True}
    assert kind_c == "integer" and before - 5 <= created <= after + 5

    repo_id, size, repo_type, branch = one(
        db, "SELECT repo_id, size_bytes, repo_type, default_branch FROM repos")
    assert (repo_id, size, repo_type, branch) == ("r1", 0, "remote", "main")
    db.execute("INSERT INTO repos(slug) VALUES ('generated-id')")
    (generated,) = one(db, "SELECT repo_id FROM repos WHERE slug = 'generated-id'")
    assert UUID_V4.match(generated)

    assert one(db, "SELECT archived, ref, data FROM worktrees") == (0, "main", "{}")
    ready, status, cost, data = one(
        db, "SELECT ready_for_prompt, status, cost_usd, data FROM sessions WHERE session_id='s1'")
    assert (ready, status, cost, json.loads(data)) == (1, "idle", 0, {})

    status, uses, created, deadline = one(
        db, "SELECT status, tool_uses, created_at, deadline_at FROM tasks")
    assert (status, uses) == ("pending", 0)
    assert deadline - created == DAY_MS
    assert one(db, "SELECT content, tokens FROM messages") == ("[]", 0)
    icon, color, board_data = one(db, "SELECT icon, color, data FROM boards")
    assert (icon, color) == ("📋", "#3b82f6")
    assert json.loads(board_data) == {"layout": "grid", "zoom": 1.0}
    assert one(db, "SELECT resolved, reactions FROM board_comments WHERE comment_id='c1'") == \
        (0, "[]")
    assert one(db, "SELECT enabled, env, transport FROM mcp_servers") == (1, "{}", "stdio")
    assert one(db, "SELECT hits FROM local_cache") == (1,)


def test_booleans_timestamps_and_json_round_trip(db):
    seed(db)
    prefs = {"theme": "dark", "keys": [1, 2.5, None], "nested": {"ok": True}, "emoji": "🚀"}
    db.execute("INSERT INTO users(user_id, email, is_admin, preferences, created_at) "
               "VALUES ('u2', 'root@example.com', 1, ?, 1704067200123)", (json.dumps(prefs),))
    is_admin, stored, created = one(
        db, "SELECT is_admin, preferences, created_at FROM users WHERE user_id='u2'")
    assert (is_admin, json.loads(stored), created) == (1, prefs, 1704067200123)
    # The partial index predicate `is_admin = true` selects the admin through SQLite's 0/1.
    rows = db.execute("SELECT user_id FROM users INDEXED BY users_admin_recent_idx "
                      "WHERE is_admin = 1 AND created_at > 0").fetchall()
    assert rows == [("u2",)]


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
         "VALUES ('t9', 's1', 'p', 2, 1)", "tasks_finished_after_start"),
    ]
    for sql, check in bad:
        with pytest.raises(sqlite3.IntegrityError, match=check):
            db.execute(sql)
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
        db.execute("INSERT INTO tasks(task_id, session_id) VALUES ('t9', 's1')")


def test_unique_indexes_reject_duplicates(db):
    seed(db)
    with pytest.raises(sqlite3.IntegrityError, match="users.email"):
        db.execute("INSERT INTO users(user_id, email) VALUES ('u2', 'ada@example.com')")
    # Expression unique index: lower(email).
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        db.execute("INSERT INTO users(user_id, email) VALUES ('u2', 'ADA@example.com')")
    with pytest.raises(sqlite3.IntegrityError, match="repos.slug"):
        db.execute("INSERT INTO repos(repo_id, slug) VALUES ('r2', 'agor')")
    # Partial unique index: only one live worktree of a name per repo, any number archived.
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        db.execute("INSERT INTO worktrees(worktree_id, repo_id, name, path) "
                   "VALUES ('w2', 'r1', 'main', '/x')")
    for wid in ("w2", "w3"):
        db.execute("INSERT INTO worktrees(worktree_id, repo_id, name, path, archived) "
                   "VALUES (?, 'r1', 'main', '/x', 1)", (wid,))
    # Composite primary key.
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        db.execute("INSERT INTO session_tags(session_id, tag) VALUES ('s1', 'bug')")
    db.execute("INSERT INTO session_tags(session_id, tag) VALUES ('s2', 'bug')")


def test_foreign_keys_reject_orphans(db):
    seed(db)
    orphans = [
        "INSERT INTO tasks(task_id, session_id, prompt) VALUES ('t9', 'nope', 'p')",
        "INSERT INTO sessions(session_id, parent_session_id, agentic_tool) "
        "VALUES ('s9', 'nope', 'codex')",
        "INSERT INTO tag_notes(session_id, tag, note) VALUES ('s1', 'no-such-tag', 'x')",
        "INSERT INTO session_mcp_servers(session_id, mcp_server_id) VALUES ('s1', 'nope')",
    ]
    for sql in orphans:
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            db.execute(sql)


def count(db, sql: str, *args) -> int:
    return db.execute(sql, args).fetchone()[0]


def test_on_delete_cascade_and_set_null(db):
    seed(db)
    db.execute("DELETE FROM tasks WHERE task_id = 't1'")  # messages.task_id: set null
    assert one(db, "SELECT task_id FROM messages") == (None,)
    db.execute("INSERT INTO tasks(task_id, session_id, prompt) VALUES ('t1', 's1', 'again')")

    db.execute("DELETE FROM sessions WHERE session_id = 's1'")
    assert one(db, "SELECT parent_session_id FROM sessions WHERE session_id='s2'") == (None,)
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
    assert one(db, "SELECT created_by FROM repos WHERE repo_id='r1'") == (None,)

    db.execute("INSERT INTO sessions(session_id, worktree_id, agentic_tool) "
               "VALUES ('s3', 'w1', 'gemini')")
    db.execute("DELETE FROM repos WHERE repo_id = 'r1'")  # repos -> worktrees -> sessions
    assert count(db, "SELECT count(*) FROM worktrees") == 0
    assert [r[0] for r in db.execute("SELECT session_id FROM sessions")] == ["s2"]


def test_on_update_cascade(db):
    seed(db)
    db.execute("INSERT INTO sessions(session_id, agentic_tool) VALUES ('s3', 'codex')")
    db.execute("INSERT INTO tasks(task_id, session_id, prompt) VALUES ('t3', 's3', 'p')")
    db.execute("UPDATE sessions SET session_id = 's4' WHERE session_id = 's3'")
    assert one(db, "SELECT session_id FROM tasks WHERE task_id='t3'") == ("s4",)
    # messages.session_id is `no action` on update: renaming s1 (which has messages) fails.
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        db.execute("UPDATE sessions SET session_id = 's5' WHERE session_id = 's1'")


# ----------------------------------------------------------------------------- expressions

EVENTS_YAML = """\
tables:
  events:
    columns:
      id:          {type: integer, primary_key: true}
      happened_at: {type: timestamp, not_null: true}
      label:       {type: text, not_null: true, default: {sql: "'ev' || '-' || 'x'"}}
      flag:        {type: boolean, not_null: true, default: false}
    indexes:
      events_2024_idx:
        columns: [happened_at]
        where: "happened_at BETWEEN '2024-01-01' AND '2024-12-31T23:59:59.999Z'"
      events_flag_idx: {columns: [id], where: "flag = true"}
    checks:
      events_range: "happened_at BETWEEN '2000-01-01' AND '2100-01-01'"
      events_not_epoch: "happened_at NOT IN ('1970-01-01T00:00:00Z', '1999-12-31')"
      events_after_2020: "'2020-01-01' <= happened_at"
"""


def ms(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso).replace(tzinfo=dt.timezone.utc).timestamp() * 1000)


def test_timestamp_literals_compare_as_epoch_ms(tmp_path: Path):
    """`=`/`<`/BETWEEN/IN against a timestamp column: the literal becomes epoch ms (UTC)."""
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "events.yaml").write_text(EVENTS_YAML, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[tool.agorschema]\ndialects = ["sqlite"]\n')
    cfg = load_config(tmp_path)
    compile_project(cfg)
    conn = sqlite3.connect(tmp_path / "events.db", isolation_level=None)
    conn.executescript((cfg.generated / "sqlite.sql").read_text(encoding="utf-8"))
    assert where_clause(index_sql(conn, "events_2024_idx")) == \
        f'"happened_at" BETWEEN {ms("2024-01-01")} AND {ms("2024-12-31T23:59:59.999")}'
    assert where_clause(index_sql(conn, "events_flag_idx")) == '"flag" = 1'
    insert = "INSERT INTO events(id, happened_at) VALUES (?, ?)"
    conn.execute(insert, (1, ms("2024-06-01")))
    conn.execute(insert, (2, ms("2020-01-01")))
    for i, (when, check) in enumerate([("1990-01-01", "events_range"),
                                       ("2100-01-02", "events_range"),
                                       ("2019-12-31T23:59:59", "events_after_2020")]):
        with pytest.raises(sqlite3.IntegrityError, match=check):
            conn.execute(insert, (10 + i, ms(when)))
    # An expression default that starts and ends with a quote is still parenthesized.
    assert conn.execute("SELECT label FROM events WHERE id = 1").fetchone() == ("ev-x",)
    (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events'").fetchone()
    assert f'NOT "happened_at" IN (0, {ms("1999-12-31")})' in sql
    conn.close()
