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
    ("default-verbatim-second-statement", default('{verbatim: "1; DROP TABLE victim"}'),
     '"1; DROP', ("column 'n'", "verbatim SQL", "contains ';'")),
    ("where-verbatim-per-dialect-comment", index(
        '{columns: [name], where: {sqlite: {verbatim: "n > 0 --"}, postgres: "n > 0"}}'),
     '{verbatim', ("field 'where'", "contains an SQL comment")),
    ("check-verbatim-backslash-quote", check(
        '{verbatim: "name = ' + "'a\\\\' ; DROP TABLE victim; --'" + '"}'),
     '"name = ', ("check 'users_ok'", "verbatim SQL")),
    ("generated-second-statement", BASE.replace(
        "n:     {type: integer}",
        'n:     {type: integer, generated: "id + 1; DROP TABLE victim"}'),
     '"id + 1;', ("column 'n'", "contains ';'")),
    ("generated-subquery", BASE.replace(
        "n:     {type: integer}", 'n:     {type: integer, generated: "(SELECT 1)"}'),
     '"(SELECT 1)', ("column 'n'", "subquery")),
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


@pytest.mark.parametrize("case", INJECTIONS[:6] + INJECTIONS[16:], ids=lambda c: c[0])
def test_diff_database_with_hostile_schema_leaves_it_unchanged(
        case, installed: Installed, tmp_path: Path) -> None:
    _, schema, needle, says = case
    root = copy_project(installed, tmp_path)
    for database in (installed.sqlite_url(), installed.pg_url):
        assert_refused_unchanged(installed, root, schema, 2, says,
                                 command=("diff", "--database", database))


# ---------------------------------------------------------------- 2. the scratch database

SCRATCH_ATTACKS = [
    ("commit-then-drop", ['CREATE TABLE "t" ("a" integer);\nCOMMIT;\nDROP TABLE victim;']),
    ("commit-alone", ['CREATE TABLE "t" ("a" integer);', "COMMIT;", "DROP TABLE victim;"]),
    ("drop-victim", ["DROP TABLE victim;"]),
    ("alter-user-table", ['ALTER TABLE "canary" DROP COLUMN "note";']),
    ("alter-public-table", ['ALTER TABLE "public"."canary" ADD COLUMN "x" integer;']),
    ("index-on-user-table", ['CREATE INDEX "i" ON "canary" ("note");']),
    ("other-schema", ['CREATE TABLE "pg_temp"."t" ("a" integer);']),
    ("create-table-as", ['CREATE TABLE "t" AS SELECT 1 AS "a";']),
    ("references-user-table", ['CREATE TABLE "t" ("a" integer REFERENCES "victim"("id"));']),
    ("insert", ["INSERT INTO canary VALUES (2, 'x');"]),
    ("delete", ["DELETE FROM canary;"]),
    ("do-block", ["DO $$ BEGIN DROP TABLE victim; END $$;"]),
    ("unclosed-quote", ["CREATE TABLE \"t\" (\"a\" text DEFAULT 'x);"]),
]


@pytest.mark.parametrize("case", SCRATCH_ATTACKS, ids=lambda c: c[0])
@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_scratch_database_never_touches_the_users_database(
        case, engine: str, installed: Installed) -> None:
    """diff --database builds its expected side in a scratch (a schema of the user's
    PostgreSQL database, rolled back): whatever DDL it is given, the user's database stays
    exactly as it was and the statement is refused by name."""
    from agor_schema.dialects import get_dialect
    from agor_schema.introspect import IntrospectionError

    dialect = get_dialect(engine)
    before = installed.fingerprints()
    conn = dialect.connect(installed.sqlite_url() if engine == "sqlite" else installed.pg_url)
    try:
        with pytest.raises(IntrospectionError, match="refusing|cannot be read"):
            dialect.scratch_introspect(case[1], conn)
    finally:
        dialect.close_connection(conn)
    assert installed.fingerprints() == before


def test_scratch_sqlite_cannot_attach_a_file(installed: Installed, tmp_path: Path) -> None:
    from agor_schema.dialects import get_dialect
    from agor_schema.introspect import IntrospectionError

    before = installed.fingerprints()
    attack = [f"ATTACH DATABASE '{installed.sqlite_path}' AS u;", "DROP TABLE u.victim;",
              f"VACUUM INTO '{tmp_path / 'copy.db'}';"]
    with pytest.raises(IntrospectionError, match="refusing"):
        get_dialect("sqlite").scratch_introspect(attack)
    assert installed.fingerprints() == before and not (tmp_path / "copy.db").exists()


def test_verify_with_hand_edited_generated_file_commits_nothing(
        installed: Installed, tmp_path: Path, pg_admin_url: str) -> None:
    """`verify` replays into a throwaway database; a generated file edited to COMMIT and then
    create a role must not reach the server (roles are shared by every database)."""
    import uuid

    role = f"agorschema_evil_{uuid.uuid4().hex[:8]}"
    root = copy_project(installed, tmp_path)
    generated = root / "generated" / "postgres.sql"
    generated.write_text(generated.read_text() + f"\nCOMMIT;\nCREATE ROLE {role};\n",
                         encoding="utf-8")
    before = tree_digest(root)
    code, out = cli("verify", "--pg-url", pg_admin_url, root=root)
    assert code == 1, out
    assert "refusing to run this statement in the scratch database" in out
    assert tree_digest(root) == before
    conn = connect(pg_admin_url)
    try:
        roles = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        assert roles.fetchall() == []
    finally:
        conn.close()


# ---------------------------------------------------------------- 10. YAML resource bounds

def _laughs(levels: int = 12, width: int = 10) -> str:
    lines = ['a0: &a0 "lol"']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\ntables: {}\n"


YAML_BOMBS = [
    ("billion-laughs", _laughs(), "expands to more than"),
    ("deep-flow-list", "x: " + "[" * 5000 + "]" * 5000 + "\ntables: {}\n", "nests deeper than"),
    ("deep-mapping", "".join(f"{'  ' * i}k{i}:\n" for i in range(800)) + "tables: {}\n",
     "nests deeper than"),
    ("recursive-alias", "x: &x [1, *x]\ntables: {}\n", "recursive alias"),
    ("huge-file", "tables: {}\n" + "# padding\n" * 900_000, "may hold at most"),
]


@pytest.mark.parametrize("case", YAML_BOMBS, ids=lambda c: c[0])
def test_yaml_bombs_refused_after_bounded_work(case, tmp_path: Path) -> None:
    """Run as a subprocess under a timeout: the guard is the timeout, not a measured time."""
    import subprocess
    import sys

    _, text, says = case
    root = make_project(tmp_path / "project", text)
    before = tree_digest(root)
    proc = subprocess.run(
        [sys.executable, "-c", "from agor_schema.cli import main; main()", "compile",
         "--project", str(root)], capture_output=True, text=True, timeout=60,
        env={**__import__("os").environ, "AGORSCHEMA_CACHE": "0"})
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "Error" not in proc.stderr.split(":")[0]
    assert proc.stderr.startswith(f"error: {FILE}:"), proc.stderr[:500]
    assert says in proc.stderr
    assert tree_digest(root) == before


# ---------------------------------------------------------------- 16. YAML 1.1 keys

def test_yaml_11_keys_are_the_text_written(installed: Installed, tmp_path: Path) -> None:
    """`on:` is the table "on", `no:` the column "no"; 0x10, 1_000, 1:30, ~ and null keys
    stay text; both databases get exactly those names."""
    from agor_schema.dialects import get_dialect

    schema = (
        "tables:\n"
        "  on:\n"
        "    columns:\n"
        "      no: {type: integer, primary_key: true}\n"
        "      yes: text\n"
        "      0x10: integer\n"
        "      1_000: integer\n"
        "      1:30: text\n"
        "      null: text\n"
        "      ~: text\n"
        "      1e3: text\n"
        "      .inf: text\n"
        "    indexes:\n"
        "      off: [\"yes\"]\n"
    )
    root = make_project(tmp_path / "project", schema)
    code, out = cli("compile", root=root)
    assert code == 0, out
    expected = ["no", "yes", "0x10", "1_000", "1:30", "null", "~", "1e3", ".inf"]
    db = tmp_path / "keys.db"
    pg = installed.pg_url
    for url in (f"sqlite:///{db}", pg):
        code, out = cli("migrate", "--database", url, root=root)
        assert code == 0, out
        dialect = get_dialect("sqlite" if url.startswith("sqlite") else "postgres")
        conn = dialect.connect(url)
        try:
            live = dialect.introspect(conn, exclude=("__drizzle_migrations",))
        finally:
            dialect.close_connection(conn)
        assert list(live.tables["on"].columns) == expected
        assert "off" in live.tables["on"].indexes
    # leave the shared PostgreSQL database as the other cases expect it
    installed.pg_conn.execute('DROP TABLE "on"; DROP TABLE IF EXISTS "__drizzle_migrations_x"')


@pytest.mark.parametrize("value, shown", [("yes", '"yes"'), ("0x10", '"0x10"'),
                                          ("on", '"on"'), ("1_000", '"1_000"')])
def test_yaml_11_values_where_text_is_expected_show_the_quoting(
        value: str, shown: str, tmp_path: Path) -> None:
    schema = BASE.replace("n:     {type: integer}",
                          f"n:     {{type: text, enum: [a, {value}]}}")
    root = make_project(tmp_path / "project", schema)
    before = tree_digest(root)
    code, out = cli("compile", root=root)
    assert code == 2, out
    assert f"error: {at(schema, value + ']')}:" in out
    assert "column 'n'" in out and "field 'enum" in out
    assert shown in out, out
    assert tree_digest(root) == before


def test_lone_surrogate_escape_is_an_input_error(tmp_path: Path) -> None:
    schema = BASE + '      "bad\\ud83c": text\n'
    root = make_project(tmp_path / "project", schema)
    before = tree_digest(root)
    code, out = cli("compile", root=root)
    assert code == 2, out
    assert f"error: {at(schema, chr(34) + 'bad')}:" in out and "lone UTF-16 surrogate" in out
    assert tree_digest(root) == before


# ---------------------------------------------------------------- 15. names and values the
# databases would refuse later: compile-time errors at their place

def table(name: str, columns: str = "      id: {type: integer, primary_key: true}\n",
          extra: str = "") -> str:
    return f"  {name}:\n    columns:\n{columns}{extra}"


def column(line: str) -> str:
    return BASE + f"      {line}\n"


T30 = "t" * 30
C40 = "c" * 40
LATE_REFUSALS = [
    ("tables-differ-in-case", BASE + table("Users"), "Users:",
     ("table 'Users'", "table 'users'", "same name to sqlite (it ignores case)")),
    ("columns-differ-in-case", column("Name: text"), "Name:",
     ("column 'Name'", "columns 'name' and 'Name' are the same name to sqlite")),
    ("index-named-like-a-table", BASE + table("t", extra="    indexes:\n      T: [id]\n"),
     "T: [id]", ("index 'T'", "same name to sqlite")),
    ("index-named-like-derived-unique",
     BASE.replace("name:  {type: text, not_null: true}",
                  "name:  {type: text, not_null: true, unique: true}")
     + "    indexes:\n      users_name_unique: [n]\n", "users_name_unique:",
     ("'users_name_unique'", "share one namespace")),
    ("index-named-like-pkey", BASE + "    indexes:\n      users_pkey: [n]\n", "users_pkey:",
     ("'users_pkey'", "same name to postgres")),
    ("derived-names-collide-after-63-bytes",
     BASE + table(T30, f"      id: {{type: integer, primary_key: true}}\n"
                  f"      {C40}_x: {{type: text, unique: true}}\n"
                  f"      {C40}_y: {{type: text, unique: true}}\n"), f"{T30}:",
     ("after it cuts names at 63 bytes",)),
    ("sqlite-reserved-table", BASE + table("sqlite_stats"), "sqlite_stats:",
     ("table name 'sqlite_stats' starts with 'sqlite_'",)),
    ("sqlite-reserved-index", BASE + "    indexes:\n      SQLite_idx: [n]\n", "SQLite_idx:",
     ("starts with 'sqlite_'",)),
    ("bookkeeping-table", BASE + table("__drizzle_migrations"), "__drizzle_migrations:",
     ("reserved for agorschema's and drizzle's bookkeeping table",)),
    ("system-column-xmin", column("xmin: integer"), "xmin:",
     ("column 'xmin'", "postgres system column")),
    ("system-column-ctid", column("CTID: text"), "CTID:", ("postgres system column",)),
    ("default-nan", column("r: {type: real, default: .nan}"), ".nan",
     ("column 'r'", "field 'default'", "not a finite number")),
    ("default-inf", column("r: {type: double, default: -.inf}"), "-.inf",
     ("not a finite number",)),
    ("default-json-nan", column("j: {type: json, default: {a: .NaN}}"), "{a: .NaN}",
     ("not a finite number",)),
    ("default-integer-range", column("i: {type: integer, default: 2147483648}"), "2147483648",
     ("does not fit integer (-2147483648..2147483647)",)),
    ("default-bigint-range", column(f"b: {{type: bigint, default: {2**63}}}"), str(2**63),
     ("does not fit bigint",)),
    ("default-pg-sleep-on-sqlite", column('s: {type: integer, default: {sql: "pg_sleep(1)"}}'),
     '{sql: "pg_sleep', ("pg_sleep() does not exist in sqlite",)),
    ("default-randomblob-on-postgres",
     column('s: {type: bytes, default: {sql: "randomblob(4)"}}'), '{sql: "randomblob',
     ("randomblob() does not exist in postgres",)),
    ("check-md5-on-sqlite", check('"md5(name) <> \'\'"'), '"md5', ("md5() does not exist in sqlite",)),
    ("where-sqlite-only-function", index('{columns: [name], where: "unixepoch() > 0"}'),
     '"unixepoch', ("unixepoch() does not exist in postgres",)),
]


@pytest.mark.parametrize("case", LATE_REFUSALS, ids=lambda c: c[0])
def test_late_database_refusals_are_compile_errors(case, installed: Installed,
                                                   tmp_path: Path) -> None:
    _, schema, needle, says = case
    root = copy_project(installed, tmp_path)
    out = assert_refused_unchanged(installed, root, schema, 2,
                                   (f"error: {at(schema, needle)}:", *says))
    assert "nothing was written" in out


def test_long_derived_name_is_a_warning_not_an_error(tmp_path: Path) -> None:
    schema = BASE + table(T30, f"      id: {{type: integer, primary_key: true}}\n"
                          f"      {C40}_x: {{type: text, unique: true}}\n")
    root = make_project(tmp_path / "project", schema)
    code, out = cli("compile", root=root)
    assert code == 0, out
    assert "keeps the first 63" in out


def test_postgres_function_list_matches_the_server(installed: Installed) -> None:
    """The shipped pg_catalog function names (capability data) are the server's."""
    from agor_schema.dialects.postgres import postgres_functions

    shipped = postgres_functions()
    header = (Path(__file__).parents[1] / "agor_schema" / "dialects" /
              "postgres_functions.txt").read_text().splitlines()[0]
    live = {row[0].lower() for row in installed.pg_conn.execute(
        "SELECT DISTINCT proname FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace "
        "AND prokind IN ('f', 'a', 'w')")}
    version = installed.pg_conn.execute("SHOW server_version").fetchone()[0].split()[0]
    if header.startswith(f"# Functions of PostgreSQL {version.split('.')[0]}."):
        assert live == set(shipped)
    else:  # another major version: most names are common
        assert len(live & shipped) > 0.9 * len(shipped)
    assert "pg_sleep" in shipped and "randomblob" not in shipped


def test_rename_hint_for_a_column_with_a_mapping_default_does_not_crash(tmp_path: Path) -> None:
    """A drop and an add of the same shape get a rename hint; a value the hint cannot write
    on one line (a JSON default) must not crash it (found by the property test)."""
    v1 = BASE + "      a: {type: json, default: {k: 1}}\n"
    root = make_project(tmp_path / "project", v1)
    assert cli("compile", root=root)[0] == 0
    (root / "schema" / "app.yaml").write_text(v1.replace("      a:", "      b:"))
    before = tree_digest(root)
    code, out = cli("compile", root=root)
    assert code == 1, out
    assert "renamed_from: a" in out
    assert tree_digest(root) == before


# ---------------------------------------------------------------- migration folders: refused
# before anything runs (the databases hold the first migration; the second never applies)

def _journal(folder: Path, change) -> None:
    import json

    path = folder / "meta" / "_journal.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def _entry(data: dict, i: int, key: str, value) -> None:
    data["entries"][i][key] = value


FOLDER_CASES = [
    ("tag-listed-twice", lambda f: _journal(f, lambda j: j["entries"].append(
        dict(j["entries"][-1]))), 2, ("is listed twice", "would run twice")),
    ("idx-not-integer", lambda f: _journal(f, lambda j: _entry(j, 0, "idx", "one")), 2,
     ("entries[0].idx must be an integer",)),
    ("when-huge-float", lambda f: _journal(f, lambda j: _entry(j, 0, "when", 1.5e300)), 2,
     ("entries[0].when must be an integer",)),
    ("when-negative", lambda f: _journal(f, lambda j: _entry(j, 0, "when", -1)), 2,
     ("between 0 and 2^53",)),
    ("tag-is-a-path", lambda f: _journal(f, lambda j: _entry(j, 1, "tag", "../../../x")), 2,
     ("'../../../x' is not a file name in this folder",)),
    ("journal-not-json", lambda f: (f / "meta" / "_journal.json").write_text("{not json"), 2,
     ("cannot read journal",)),
    ("journal-missing", lambda f: (f / "meta" / "_journal.json").unlink(), 2,
     ("_journal.json: not found",)),
    ("listed-file-missing", lambda f: next(f.glob("0001_*.sql")).unlink(), 1,
     ("[missing_file]", "listed in the journal but the file is missing")),
    ("sql-not-utf8", lambda f: next(f.glob("0001_*.sql")).write_bytes(
        b"ALTER TABLE users ADD caf\xe9 text;"), 2, ("not valid UTF-8 (byte 0xe9",)),
    ("journal-other-dialect", lambda f: _journal(f, lambda j: j.__setitem__(
        "dialect", "mysql")), 2, ("mysql",)),
]


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
@pytest.mark.parametrize("case", FOLDER_CASES, ids=lambda c: c[0])
def test_malformed_migration_folder_refused_database_unchanged(
        case, engine: str, installed: Installed, tmp_path: Path) -> None:
    _, spoil, code_wanted, says = case
    root = copy_project(installed, tmp_path)
    (root / "schema" / "app.yaml").write_text(BASE + "      extra: text\n", encoding="utf-8")
    assert cli("compile", root=root)[0] == 0
    spoil(root / "drizzle" / engine)
    before = installed.fingerprints()
    url = installed.sqlite_url() if engine == "sqlite" else installed.pg_url
    code, out = cli("migrate", "--database", url, root=root)
    assert code == code_wanted, out
    for text in says:
        assert text in out, out
    assert installed.fingerprints() == before


def test_empty_custom_migration_refused(installed: Installed, tmp_path: Path) -> None:
    root = copy_project(installed, tmp_path)
    assert cli("new", "custom_step", root=root)[0] == 0
    before = installed.fingerprints()
    for url in (installed.sqlite_url(), installed.pg_url):
        code, out = cli("migrate", "--database", url, root=root)
        assert code == 1 and "[empty]" in out and "has no SQL statement" in out, out
    assert installed.fingerprints() == before


# ---------------------------------------------------------------- settings, URLs, arguments

SETTINGS = [
    ("invalid-toml", "[tool.agorschema\n", ("invalid TOML",)),
    ("unknown-setting", '[tool.agorschema]\nschema = "schema"\nshema = "x"\n',
     ("unknown setting(s) shema",)),
    ("lock-timeout-text", '[tool.agorschema]\nmigrator_lock_timeout = "abc"\n',
     ("migrator_lock_timeout must be a number of seconds",)),
    ("dialect-unknown", '[tool.agorschema]\ndialects = ["mysql"]\n',
     ("dialects must be a list of dialect names", "'mysql' is not one")),
    ("schema-missing", '[tool.agorschema]\nschema = "nowhere"\n',
     ("nowhere not found (project root",)),
]


@pytest.mark.parametrize("case", SETTINGS, ids=lambda c: c[0])
def test_hostile_settings(case, tmp_path: Path) -> None:
    _, pyproject, says = case
    root = make_project(tmp_path / "project", pyproject=pyproject)
    before = tree_digest(root)
    code, out = cli("compile", root=root)
    assert code == 2, out
    assert f"error: {root / 'pyproject.toml'}:" in out or "error: " in out
    for text in says:
        assert text in out, out
    assert "nothing was written" in out
    assert tree_digest(root) == before


SECRET = "hunter2-secret"
URLS = [
    ("password-in-userinfo", f"postgresql://u:{SECRET}@127.0.0.1:1/db", 1),
    ("password-in-query", f"postgresql://u@127.0.0.1:1/db?password={SECRET}", 1),
    ("malformed-with-password", f"postgresql://u:{SECRET}@[bad/db", 1),
    ("unsupported-scheme", f"mysql://u:{SECRET}@h/db", 2),
    ("empty-url", "", 2),
]


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("case", URLS, ids=lambda c: c[0])
def test_hostile_urls_never_print_the_secret(case, fmt: str, installed: Installed,
                                             tmp_path: Path) -> None:
    _, url, code_wanted = case
    root = copy_project(installed, tmp_path)
    before = tree_digest(root)
    code, out = cli("migrate", "--database", url, "--format", fmt, root=root)
    assert code == code_wanted, out
    assert SECRET not in out
    if fmt == "json":
        import json

        payload = json.loads(out)
        assert payload["ok"] is False and payload["exit_code"] == code_wanted
    assert tree_digest(root) == before


ARGUMENTS = [
    (("migrate", "--lock-timeout", "-5"), 2, "must be a number of seconds"),
    (("migrate", "--lock-timeout", "nan"), 2, "must be a number of seconds"),
    (("migrate", "--format", "xml"), 2, "'xml' is not one of"),
    (("compile", "--bogus"), 2, "No such option"),
    (("diff", "--database", "sqlite:///does-not-exist.db"), 2, "does not exist"),
]


@pytest.mark.parametrize("case", ARGUMENTS, ids=lambda c: " ".join(c[0]))
def test_hostile_arguments(case, installed: Installed, tmp_path: Path) -> None:
    args, code_wanted, says = case
    root = copy_project(installed, tmp_path)
    extra = ("--database", installed.sqlite_url()) if args[0] == "migrate" else ()
    before_tree, before_db = tree_digest(root), installed.fingerprints()
    code, out = cli(*args, *extra, root=root)
    assert code == code_wanted, out
    assert says in out, out
    assert tree_digest(root) == before_tree and installed.fingerprints() == before_db
    assert not (root / "does-not-exist.db").exists()


def test_at_least_sixty_distinct_hostile_inputs() -> None:
    ids = [c[0] for c in (*INJECTIONS, *SCRATCH_ATTACKS, *YAML_BOMBS, *LATE_REFUSALS,
                          *FOLDER_CASES, *SETTINGS, *URLS)]
    ids += [" ".join(a[0]) for a in ARGUMENTS] + [" ".join(a[0]) for a in CLI_NAMES]
    ids += [c[0] for c in PATH_SETTINGS]
    assert len(set(ids)) == len(ids) >= 60


# ---------------------------------------------------------------- helper `cli`'s rules
# (issue 8 items 8, 11, 12, 17): paths, names, settings, URLs — exit 2, nothing written,
# the databases unchanged

CLI_NAMES = [
    (("new", "../../x"), "'../../x' is not a migration name"),
    (("new", "a/b"), "'a/b' is not a migration name"),
    (("new", "bad name!"), "'bad name!' is not a migration name"),
    (("new", "x" * 65), "1 to 64 characters"),
    (("compile", "--name", "../evil"), "'../evil' is not a migration name"),
    (("compile", "--name", "a" * 300), "is not a migration name"),
]


@pytest.mark.parametrize("case", CLI_NAMES, ids=lambda c: " ".join(c[0])[:40])
def test_migration_names_are_slugs(case, installed: Installed, tmp_path: Path) -> None:
    args, says = case
    root = copy_project(installed, tmp_path)
    (root / "schema" / "app.yaml").write_text(BASE + "      extra: text\n", encoding="utf-8")
    before = tree_digest(root)
    code, out = cli(*args, root=root)
    assert code == 2, out
    assert says in out and "letters, digits, '_' and '-'" in out
    assert tree_digest(root) == before
    assert not (tmp_path / "x.sql").exists() and not (root / "drizzle" / "evil.sql").exists()


PATH_SETTINGS = [
    ("schema-not-text", '[tool.agorschema]\nschema = 5\n', "schema must be a non-empty string"),
    ("generated-is-a-file", '[tool.agorschema]\ngenerated = "pyproject.toml"\n',
     "generated must be a folder, but 'pyproject.toml' is a file"),
    ("schema-outside-root", '[tool.agorschema]\nschema = "../outside"\n',
     "schema must be a path inside the project root"),
    ("migrations-outside-root", '[tool.agorschema]\nmigrations = "../mig"\n',
     "migrations must be a path inside the project root"),
    ("generated-absolute-elsewhere", '[tool.agorschema]\ngenerated = "/tmp/agorschema-x"\n',
     "generated must be a path inside the project root"),
    ("dialects-empty", '[tool.agorschema]\ndialects = []\n',
     "dialects must be a non-empty list"),
]


@pytest.mark.parametrize("case", PATH_SETTINGS, ids=lambda c: c[0])
def test_path_settings_stay_inside_the_project(case, tmp_path: Path) -> None:
    _, pyproject, says = case
    root = make_project(tmp_path / "box" / "project", pyproject=pyproject)
    before = tree_digest(tmp_path)
    code, out = cli("compile", root=root)
    assert code == 2, out
    assert f"error: {root / 'pyproject.toml'}: [tool.agorschema] " in out and says in out, out
    assert "nothing was written" in out
    assert tree_digest(tmp_path) == before  # nothing beside the project either
    assert not Path("/tmp/agorschema-x").exists()


def test_empty_sqlite_path_is_refused(installed: Installed, tmp_path: Path) -> None:
    root = copy_project(installed, tmp_path)
    code, out = cli("migrate", "--database", "sqlite:///", root=root)
    assert code == 2 and "names no file" in out, out


def test_drizzle_kit_1_folders_are_not_continued(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project")
    legacy = root / "drizzle" / "sqlite" / "20240101000000_init"
    legacy.mkdir(parents=True)
    (legacy / "migration.sql").write_text("CREATE TABLE x (a integer);")
    before = tree_digest(root)
    code, out = cli("compile", root=root)
    assert code == 2 and "drizzle-kit 1.0 migration folders" in out, out
    assert tree_digest(root) == before


def test_new_refuses_a_stale_schema(installed: Installed, tmp_path: Path) -> None:
    root = copy_project(installed, tmp_path)
    (root / "schema" / "app.yaml").write_text(BASE + "      extra: text\n", encoding="utf-8")
    before = tree_digest(root)
    code, out = cli("new", "step", root=root)
    assert code == 1 and "the schema changed since the last compile" in out, out
    assert tree_digest(root) == before
