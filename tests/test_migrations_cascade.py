"""A SQLite rebuild of a parent table with ON DELETE CASCADE children loses no child row.

The rebuild drops the parent table. With foreign keys on, SQLite's DROP TABLE deletes the
children through the cascade; `PRAGMA foreign_keys=OFF` inside a transaction is ignored. The
runner switches foreign keys off before the transaction (DESIGN.md section 6), so applying the
generated migration with `agor_schema.migrate` keeps every row. The contrast test replays the
same file the way drizzle-orm's better-sqlite3 migrator does (one transaction, foreign keys
on) and shows the rows that would be lost, so the first test cannot pass by accident.
"""

from __future__ import annotations

import sqlite3

from catalog import Project, insert_rows, sqlite_catalog

import agor_schema
from agor_schema.journal import split_statements

V1 = {
    "users": {"columns": {"id": {"type": "integer", "primary_key": True},
                          "name": {"type": "text", "not_null": True},
                          "email": "text"}},
    "posts": {"columns": {"id": {"type": "integer", "primary_key": True},
                          "user_id": {"type": "integer", "not_null": True,
                                      "references": "users.id", "on_delete": "cascade"},
                          "title": {"type": "text", "not_null": True}},
              "indexes": {"posts_user_idx": ["user_id"]}},
    "comments": {"columns": {"id": {"type": "integer", "primary_key": True},
                             "post_id": {"type": "integer", "not_null": True,
                                         "references": "posts.id", "on_delete": "cascade"},
                             "author_id": {"type": "integer", "references": "users.id",
                                           "on_delete": "set null"},
                             "body": {"type": "text", "not_null": True}}},
}


def v2() -> dict:
    """users and posts change in ways SQLite can only make by rebuilding the table."""
    import copy

    doc = copy.deepcopy(V1)
    doc["users"]["columns"]["email"] = {"type": "text", "not_null": True, "default": "unknown"}
    doc["users"]["checks"] = {"users_name_not_empty": "name <> ''"}
    doc["posts"]["columns"]["title"] = {"type": "text", "not_null": True, "default": "untitled"}
    return doc


ROWS = {
    "users": [{"id": i, "name": f"user{i}", "email": None if i % 2 else f"u{i}@x"}
              for i in range(1, 6)],
    "posts": [{"id": 100 + i, "user_id": 1 + i % 5, "title": f"post {i}"} for i in range(20)],
    "comments": [{"id": 1000 + i, "post_id": 100 + i % 20, "author_id": 1 + i % 5,
                  "body": f"c{i}"} for i in range(60)],
}


def _counts(path) -> dict:
    conn = sqlite3.connect(str(path))
    try:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in ROWS}
    finally:
        conn.close()


def _setup(tmp_path):
    project = Project(tmp_path / "project", dialects=["sqlite"])
    project.write(V1)
    project.compile()
    db = tmp_path / "app.db"
    url = f"sqlite:///{db}"
    agor_schema.migrate(url, project.folder("sqlite"))
    conn = sqlite3.connect(str(db))
    conn.execute("PRAGMA foreign_keys=ON")
    for table in ("users", "posts", "comments"):
        insert_rows(conn, "sqlite", table, ROWS[table])
    conn.commit()
    conn.close()
    project.write(v2())
    result = project.compile()
    return project, db, url, result


def test_rebuild_of_cascade_parent_keeps_every_child_row(tmp_path) -> None:
    project, db, url, result = _setup(tmp_path)
    sql = result.outputs["sqlite"].migration.sql
    assert "CREATE TABLE `__new_users`" in sql and "CREATE TABLE `__new_posts`" in sql
    assert sql.startswith("PRAGMA foreign_keys=OFF;")
    # the risk is reported, naming the parent and its cascading children
    messages = [f for f in result.findings if f.dialect == "sqlite"]
    users_finding = [f for f in messages if f.table == "users" and "rebuilds" in f.message]
    assert len(users_finding) == 1
    assert "posts (ON DELETE cascade)" in users_finding[0].message
    assert "comments (ON DELETE set null)" in users_finding[0].message
    assert any(f.table == "posts" and "comments (ON DELETE cascade)" in f.message
               for f in messages)

    before = _counts(db)
    applied = agor_schema.migrate(url, project.folder("sqlite"))
    assert len(applied.applied_tags) == 1
    assert _counts(db) == before == {"users": 5, "posts": 20, "comments": 60}

    conn = sqlite3.connect(str(db))
    try:
        # set null children kept their parent id, NULL emails were backfilled
        assert conn.execute('SELECT count(*) FROM "comments" WHERE "author_id" IS NULL'
                            ).fetchone()[0] == 0
        assert conn.execute('SELECT "id", "email" FROM "users" ORDER BY "id"').fetchall() == [
            (1, "unknown"), (2, "u2@x"), (3, "unknown"), (4, "u4@x"), (5, "unknown")]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        # the foreign keys survived the rebuild: cascades still fire
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute('DELETE FROM "users" WHERE "id" = 1')
        conn.commit()
        assert conn.execute('SELECT count(*) FROM "posts" WHERE "user_id" = 1').fetchone()[0] == 0
        assert conn.execute('SELECT count(*) FROM "comments" WHERE "author_id" = 1'
                            ).fetchone()[0] == 0
    finally:
        conn.close()
    fresh = tmp_path / "fresh.db"
    sqlite3.connect(str(fresh)).executescript(project.ddl("sqlite")).close()
    assert sqlite_catalog(db) == sqlite_catalog(fresh)


def test_same_file_in_one_transaction_with_foreign_keys_on_loses_rows(tmp_path) -> None:
    """What drizzle-orm's better-sqlite3 migrator does with the same file: children vanish."""
    project, db, _url, result = _setup(tmp_path)
    statements = split_statements(result.outputs["sqlite"].migration.sql)
    conn = sqlite3.connect(str(db), isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("BEGIN")
    for statement in statements:
        conn.execute(statement)  # the PRAGMAs inside the transaction are no-ops
    conn.execute("COMMIT")
    conn.close()
    counts = _counts(db)
    assert counts["users"] == 5
    assert counts["posts"] < 20 or counts["comments"] < 60
