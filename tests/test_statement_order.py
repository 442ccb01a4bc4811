"""Statements come in an order the database accepts: a foreign key whose target columns are
covered by a unique *index* (Agor's tenant-composite keys) is created after that index, and
dropped before it; uniques exist before the keys that reference them. Full DDL and migrations,
applied to real SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from catalog import Project, pg_catalog, sqlite_catalog

import agor_schema

USERS = {
    "columns": {"user_id": {"type": "varchar(36)", "primary_key": True},
                "tenant_id": {"type": "text", "not_null": True}},
    "indexes": {"users_tenant_user_uq": {"columns": ["tenant_id", "user_id"], "unique": True}},
}
BOARDS = {
    "columns": {"board_id": {"type": "varchar(36)", "primary_key": True},
                "tenant_id": {"type": "text", "not_null": True},
                "owner": {"type": "varchar(36)", "not_null": True}},
    "foreign_keys": [{"columns": ["tenant_id", "owner"], "name": "boards_tenant_owner_fk",
                      "references": {"table": "users", "columns": ["tenant_id", "user_id"]}}],
}
# the child sorts first and is defined first: only a dependency order puts the index first
SCHEMA = {"boards": BOARDS, "users": USERS}


def _apply(project: Project, url: str) -> list[str]:
    return agor_schema.migrate(url, project.folder("postgres" if url.startswith("postgres")
                                                   else "sqlite")).applied_tags


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_fk_over_unique_index_full_ddl_and_migration(tmp_path: Path, dialect: str,
                                                     request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("pg_url") if dialect == "postgres" \
        else f"sqlite:///{tmp_path / 'a.db'}"
    project = Project(tmp_path / "p", dialects=[dialect])
    project.write(SCHEMA)
    project.compile()
    ddl = project.ddl(dialect)
    assert ddl.index("users_tenant_user_uq") < ddl.index("boards_tenant_owner_fk") \
        if dialect == "postgres" else True
    assert _apply(project, url)
    catalog = _catalog(url, dialect)
    assert "boards_tenant_owner_fk" in str(catalog["boards"]) or dialect == "sqlite"
    assert catalog["boards"]["foreign_keys"]


def test_fk_over_unique_index_added_and_dropped_later_pg(tmp_path: Path, pg_url: str) -> None:
    project = Project(tmp_path / "p", dialects=["postgres"])
    users = {**USERS, "indexes": {}}
    boards = {**BOARDS, "foreign_keys": []}
    project.write({"boards": boards, "users": users})
    project.compile()
    project.write(SCHEMA)  # index and FK in one migration: index first
    project.compile(name="add_fk")
    project.write({"boards": boards, "users": users})  # both dropped: FK first
    project.compile(name="drop_fk", allow_destructive=True)
    assert _apply(project, pg_url)[-2:] == ["0001_add_fk", "0002_drop_fk"]
    assert not _catalog(pg_url, "postgres")["boards"]["foreign_keys"]


def test_fk_over_unique_constraint_added_in_the_same_migration_pg(tmp_path: Path,
                                                                   pg_url: str) -> None:
    project = Project(tmp_path / "p", dialects=["postgres"])
    users = {"columns": {"user_id": {"type": "integer", "primary_key": True},
                         "email": {"type": "text"}}}
    posts = {"columns": {"id": {"type": "integer", "primary_key": True},
                         "author_email": {"type": "text"}}}
    project.write({"posts": posts, "users": users})
    project.compile()
    users2 = {"columns": {**users["columns"], "email": {"type": "text", "unique": True}}}
    posts2 = {"columns": {**posts["columns"],
                          "author_email": {"type": "text", "references": "users.email"}}}
    project.write({"posts": posts2, "users": users2})
    project.compile(name="fk_on_unique")
    assert _apply(project, pg_url)[-1] == "0001_fk_on_unique"
    # dropping both again: the FK must go before the unique constraint it depends on
    project.write({"posts": posts, "users": users})
    project.compile(name="drop_both", allow_destructive=True)
    assert _apply(project, pg_url) == ["0002_drop_both"]


def _catalog(url: str, dialect: str) -> dict:
    if dialect == "sqlite":
        return sqlite_catalog(url.removeprefix("sqlite:///"))
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return pg_catalog(conn)


def test_foreign_key_cycle_verifies_on_sqlite(tmp_path: Path) -> None:
    """SQLite keeps foreign keys inline, so in a cycle one CREATE TABLE names a table created
    after it; the scratch database of diff/verify accepts that (SQLite resolves it on write)."""
    from agor_schema.dialects import get_dialect
    from agor_schema.introspect import IntrospectionError, scratch_statements
    from agor_schema.verify import verify_project

    project = Project(tmp_path / "p", dialects=["sqlite"])
    project.write({
        "boards": {"columns": {"id": {"type": "integer", "primary_key": True},
                               "main_branch": {"type": "integer", "references": "branches.id"}}},
        "branches": {"columns": {"id": {"type": "integer", "primary_key": True},
                                 "board": {"type": "integer", "references": "boards.id"}}},
    })
    project.compile()
    result = verify_project(project.config)
    assert result.ok, [str(m) for m in result.mismatches]
    forward = ['CREATE TABLE "a" ("x" integer REFERENCES "b"("id"));',
               'CREATE TABLE "b" ("id" integer PRIMARY KEY);']
    late = {name: get_dialect(name).references_resolve_late for name in ("sqlite", "postgres")}
    assert late == {"sqlite": True, "postgres": False}
    assert len(scratch_statements(forward, "sqlite", forward_references=late["sqlite"])) == 2
    with pytest.raises(IntrospectionError, match="'b' is not a table created"):
        # PostgreSQL would find the user's table
        scratch_statements(forward, "postgres", forward_references=late["postgres"])
    with pytest.raises(IntrospectionError, match="'b' is not a table created"):
        scratch_statements(['ALTER TABLE "b" ADD COLUMN "y" integer;', forward[1]], "sqlite",
                           forward_references=True)
