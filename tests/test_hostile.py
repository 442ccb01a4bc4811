"""Hostile and malformed input through the real CLI, against real SQLite and PostgreSQL.

Every case states its exact outcome: the exit code, what the message must say (file:line:col,
table, field), that nothing in the project was written, and, for anything that could reach a
database, that the database is unchanged (a canary table and a victim table survive, the
whole catalog compares equal before and after).

The databases are set up once per module (a benign schema compiled and migrated onto a
SQLite file and a PostgreSQL database that already hold the canary); each case works on a
copy of that project, so a case that wrongly writes a migration would get it applied by the
`migrate` that follows, and the fingerprint comparison would catch it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from hostile_helpers import (
    BASE,
    cli,
    make_project,
    pg_canary,
    pg_fingerprint,
    sqlite_canary,
    sqlite_fingerprint,
    tree_digest,
)
from pg_cluster import connect, create_database, drop_database

FILE = "schema/app.yaml"


def at(schema: str, needle: str) -> str:
    """`file:line:col` of the first occurrence of `needle` in `schema` (1-based)."""
    offset = schema.index(needle)
    line = schema.count("\n", 0, offset) + 1
    col = offset - (schema.rfind("\n", 0, offset) + 1) + 1
    return f"{FILE}:{line}:{col}"


@dataclass
class Installed:
    """A project compiled and migrated onto both databases, each holding the canary."""

    root: Path
    sqlite_path: Path
    pg_url: str
    pg_conn: object

    def sqlite_url(self) -> str:
        return f"sqlite:///{self.sqlite_path}"

    def fingerprints(self) -> tuple:
        return sqlite_fingerprint(self.sqlite_path), pg_fingerprint(self.pg_conn)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, pg_admin_url: str | None):
    if pg_admin_url is None:
        from conftest import missing

        missing("no PostgreSQL available")
    base = tmp_path_factory.mktemp("installed")
    root = make_project(base / "project")
    db = base / "app.db"
    sqlite_canary(db)
    url = create_database(pg_admin_url)
    conn = connect(url)
    try:
        pg_canary(conn)
        code, out = cli("compile", root=root)
        assert code == 0, out
        for database in (f"sqlite:///{db}", url):
            code, out = cli("migrate", "--database", database, root=root)
            assert code == 0, out
        yield Installed(root, db, url, conn)
    finally:
        conn.close()
        drop_database(pg_admin_url, url)


def copy_project(installed: Installed, target: Path) -> Path:
    root = target / "project"
    shutil.copytree(installed.root, root)
    return root


def assert_refused_unchanged(installed: Installed, root: Path, schema: str, code_wanted: int,
                             says: tuple[str, ...], command: tuple[str, ...] = ("compile",)
                             ) -> str:
    """Write `schema`, run `command`: exit `code_wanted`, every text of `says` in the output,
    no file written; then `migrate` both databases: nothing applied, catalogs unchanged."""
    (root / "schema" / "app.yaml").write_text(schema, encoding="utf-8")
    before_tree = tree_digest(root)
    before_db = installed.fingerprints()
    code, out = cli(*command, root=root)
    assert code == code_wanted, out
    for text in says:
        assert text in out, f"{text!r} missing from:\n{out}"
    assert tree_digest(root) == before_tree, "the project changed"
    for database in (installed.sqlite_url(), installed.pg_url):
        code, migrated = cli("migrate", "--database", database, root=root)
        assert code == 0 and "up to date" in migrated, migrated
    assert installed.fingerprints() == before_db, "a database changed"
    return out


# ---------------------------------------------------------------- 1. exactly one expression

def index(where_or_exprs: str) -> str:
    return BASE + "    indexes:\n      users_name_idx: " + where_or_exprs + "\n"


def default(value: str) -> str:
    return BASE.replace("n:     {type: integer}", f"n:     {{type: integer, default: {value}}}")


def check(sql: str) -> str:
    return BASE + "    checks:\n      users_ok: " + sql + "\n"


INJECTIONS = [
    # (id, schema, location, message parts)
    ("where-semicolon-drop", index("""{columns: [name], where: "name = 'a'; DROP TABLE victim; --"}"""),
     '"name = \'a\'', ("index 'users_name_idx'", "field 'where'", "contains ';' outside a string")),
    ("where-commit", index('{columns: [name], where: "true; COMMIT; DROP TABLE victim"}'),
     '"true; COMMIT', ("field 'where'", "contains ';'")),
    ("where-per-dialect-sqlite", index(
        '{columns: [name], where: {sqlite: "n > 0; DROP TABLE victim", postgres: "n > 0"}}'),
     '"n > 0; DROP', ("field 'where'", "contains ';'")),
    ("where-trailing-comment", index('{columns: [name], where: "n > 0 --"}'),
     '"n > 0 --"', ("contains an SQL comment",)),
    ("where-block-comment", index('{columns: [name], where: "n > 0 /* swallow */"}'),
     '"n > 0 /* swallow */"', ("contains an SQL comment",)),
    ("where-unclosed-comment", index('{columns: [name], where: "n > 0 /* swallow"}'),
     '"n > 0 /* swallow"', ("is not closed",)),
    ("where-alias", index('{columns: [name], where: "n > 0 victim"}'),
     '"n > 0 victim"', ("an alias",)),
    ("where-statement-commit", index('{columns: [name], where: "COMMIT"}'),
     '"COMMIT"', ("is a statement (COMMIT)",)),
    ("where-subquery", index('{columns: [name], where: "n IN (SELECT id FROM victim)"}'),
     '"n IN', ("contains a subquery",)),
    ("index-expression-escape", index(
        '{expressions: ["lower(name)); DROP TABLE victim; --"]}'),
     '"lower(name)); DROP', ("field 'expressions'", "contains ';'")),
    ("index-expression-paren-escape", index('{expressions: ["lower(name)) WHERE (true"]}'),
     '"lower(name)) WHERE', ("field 'expressions'", "cannot parse SQL expression")),
    ("check-unbalanced-paren", check('"n > 0) OR (1 = 1"'),
     '"n > 0) OR', ("check 'users_ok'", "cannot parse SQL expression")),
    ("check-unclosed-quote", check('''"name = 'x"'''),
     '"name = \'x"', ("check 'users_ok'", "is not closed")),
    ("check-exists", check('"EXISTS (SELECT 1 FROM victim)"'),
     '"EXISTS', ("check 'users_ok'", "contains a subquery")),
    ("check-drop-statement", check('"DROP TABLE victim"'),
     '"DROP TABLE victim"', ("check 'users_ok'", "is a statement")),
    ("check-per-dialect", check('{sqlite: "n > 0", postgres: "n > 0; DROP TABLE victim"}'),
     '"n > 0; DROP', ("check 'users_ok'", "contains ';'")),
    ("default-sql-second-statement", default('{sql: "1; DROP TABLE victim"}'),
     '{sql: "1;', ("column 'n'", "field 'default'", "contains ';'")),
    ("default-per-dialect", default('{sqlite: "0; DROP TABLE victim", postgres: "0"}'),
     '"0; DROP', ("column 'n'", "field 'default'", "contains ';'")),
    ("default-dollar-unclosed", default('{sql: "$$x"}'),
     '{sql: "$$x"}', ("column 'n'", "is not closed")),
    ("default-subquery", default('{sql: "(SELECT max(id) FROM victim)"}'),
     '{sql: "(SELECT', ("column 'n'", "is a subquery")),
]


@pytest.mark.parametrize("case", INJECTIONS, ids=[c[0] for c in INJECTIONS])
def test_expression_injection_refused(case, installed: Installed, tmp_path: Path) -> None:
    _, schema, needle, says = case
    root = copy_project(installed, tmp_path)
    where = at(schema, needle) if needle else None
    out = assert_refused_unchanged(installed, root, schema, 2,
                                   (f"error: {where}:" if where else "error: ", *says))
    assert "nothing was written" in out
