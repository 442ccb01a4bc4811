"""`diff` compares expressions by meaning: a SQLite database that drizzle-kit built (qualified
columns, no spaces after commas, `= false`) holds the schema that agorschema renders as
`"role" IN ('a', 'b')` and `= 0`, so there is no drift; a real difference still is drift."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from catalog import Project

from agor_schema.drift import database_drift
from agor_schema.sqlnorm import canonical_expression

SCHEMA = {"users": {
    "columns": {"id": {"type": "integer", "primary_key": True},
                "role": {"type": "text", "not_null": True},
                "is_admin": {"type": "boolean", "not_null": True, "default": False}},
    "indexes": {"users_admin_idx": {"columns": ["id"], "where": "is_admin = false"},
                "users_lower_idx": {"expressions": ["lower(role)"]}},
    "checks": {"users_role_check": "role IN ('a', 'b')"},
}}

DRIZZLE_DDL = """
CREATE TABLE `users` (
\t`id` integer PRIMARY KEY NOT NULL,
\t`role` text NOT NULL,
\t`is_admin` integer DEFAULT false NOT NULL,
\tCONSTRAINT "users_role_check" CHECK("users"."role" IN ('a','{other}'))
);
CREATE INDEX `users_admin_idx` ON `users` (`id`) WHERE "users"."is_admin" = false;
CREATE INDEX `users_lower_idx` ON `users` (lower("role"));
"""


def _project(tmp_path: Path) -> Project:
    project = Project(tmp_path / "p", dialects=["sqlite"])
    project.write(SCHEMA)
    project.compile()
    return project


def _database(tmp_path: Path, other: str) -> str:
    path = tmp_path / "drizzle.db"
    conn = sqlite3.connect(str(path))
    conn.executescript(DRIZZLE_DDL.format(other=other))
    conn.close()
    return f"sqlite:///{path}"


def test_equivalent_text_is_not_drift(tmp_path: Path) -> None:
    project = _project(tmp_path)
    assert '"role" IN (\'a\', \'b\')' in project.ddl("sqlite")
    found = database_drift(project.config, _database(tmp_path, "b"))
    assert found.ok, [c.message for c in found.drift.changes]


def test_a_real_difference_is_still_drift(tmp_path: Path) -> None:
    project = _project(tmp_path)
    found = database_drift(project.config, _database(tmp_path, "c"))
    assert not found.ok
    assert [c.name for c in found.drift.changes] == ["users_role_check"]
    # the fix is written with the schema's own text
    assert any("IN ('a', 'b')" in s for s in found.sql)


@pytest.mark.parametrize(("left", "right", "read", "equal"), [
    ('"t"."role" IN (\'a\',\'b\')', "\"role\" IN ('a', 'b')", "sqlite", True),
    ('"x" = false', '"x" = 0', "sqlite", True),
    ("`x` = true", "x = 1", "sqlite", True),
    ('"x" = false', '"x" = 0', "postgres", False),  # not the same thing in PostgreSQL
    ("(role = 'a'::text)", "role = 'a'", "postgres", True),
    ("((a = 1) AND (b = 2))", "a = 1 AND b = 2", "postgres", True),
    ("(a OR b) AND c", "a OR b AND c", "postgres", False),
    ("(a - b) * c", "a - b * c", "postgres", False),
    ("role IN ('a','b')", "role IN ('a','c')", "sqlite", False),
    ("'A'", "'a'", "sqlite", False),
])
def test_canonical_forms(left: str, right: str, read: str, equal: bool) -> None:
    booleans = read == "sqlite"
    assert (canonical_expression(left, read, booleans)
            == canonical_expression(right, read, booleans)) is equal
