"""Adversarial review of features built in parallel, through the real CLI and real databases.

Each test here reproduces something that broke on main when the features met (settings,
paths, output contract, schema values the databases refuse later, secrets) and states the
exact outcome: exit code, message, one JSON envelope, nothing written, database unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from envelope_helpers import parse_envelope
from hostile_helpers import BASE, PYPROJECT, make_project, tree_digest

from agor_schema.cli import main

COMMANDS = (
    ("compile",), ("new", "backfill"), ("check",), ("undo", "--force"),
    ("migrate", "--database", "sqlite:///app.db"), ("status", "--database", "sqlite:///app.db"),
    ("diff", "--database", "sqlite:///app.db"), ("verify",),
)


def run_json(root: Path, *args: str) -> tuple[int, dict]:
    """The real CLI with --format json: exactly one envelope on stdout, no traceback."""
    result = CliRunner().invoke(main, [*args, "--format", "json", "--project", str(root)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"crashed: {result.exception!r}\n{result.output}") \
            from result.exception
    assert "Traceback" not in result.output, result.output
    doc = parse_envelope(result.stdout, command=args[0], exit_code=result.exit_code)
    return result.exit_code, doc


def with_setting(line: str) -> str:
    """PYPROJECT with one [tool.agorschema] line replaced or added."""
    key = line.split("=", 1)[0].strip()
    lines = [ln for ln in PYPROJECT.splitlines() if ln.split("=", 1)[0].strip() != key]
    at = lines.index("[tool.agorschema]") + 1
    return "\n".join([*lines[:at], line, *lines[at:]]) + "\n"


# --- settings: every path setting stays inside the project ------------------------------------

INSIDE = "must be a path inside the project root"
BAD_SETTINGS = [
    # (id, pyproject line, setting named in the error, words of the message)
    ("generated-parent", 'generated = "../outside"', "generated", INSIDE),
    ("migrations-parent", 'migrations = "../outside"', "migrations", INSIDE),
    ("schema-parent", 'schema = "../outside"', "schema", INSIDE),
    ("generated-absolute", 'generated = "{outside}"', "generated", INSIDE),
    ("migrations-absolute", 'migrations = "{outside}"', "migrations", INSIDE),
    ("generated-symlink", 'generated = "link"', "generated", INSIDE),
    ("migrations-symlink", 'migrations = "link"', "migrations", INSIDE),
    ("schema-number", "schema = 5", "schema", "must be a non-empty string"),
    ("generated-empty", 'generated = ""', "generated", "must be a non-empty string"),
    ("migrations-list", 'migrations = ["a"]', "migrations", "must be a non-empty string"),
    ("generated-is-a-file", 'generated = "pyproject.toml"', "generated", "is a file"),
    ("migrations-is-a-file", 'migrations = "pyproject.toml"', "migrations", "is a file"),
    ("dialects-empty", "dialects = []", "dialects", "must be a non-empty list"),
]


@pytest.mark.parametrize("case", BAD_SETTINGS, ids=[c[0] for c in BAD_SETTINGS])
@pytest.mark.parametrize("command", [c[0] for c in COMMANDS])
def test_path_settings_outside_the_project_are_refused(case, command: str,
                                                       tmp_path: Path) -> None:
    _id, line, key, words = case
    outside = tmp_path / "outside"
    root = make_project(tmp_path / "project",
                        pyproject=with_setting(line.format(outside=outside)))
    (root / "link").symlink_to(outside, target_is_directory=True)
    before = tree_digest(tmp_path)
    args = next(c for c in COMMANDS if c[0] == command)
    code, doc = run_json(root, *args)
    assert code == 2, doc
    [error] = doc["errors"]
    assert words in error["message"] and key in error["message"], error
    assert error["field"] == key and error["file"].endswith("pyproject.toml"), error
    assert tree_digest(tmp_path) == before  # nothing written, inside or outside
    assert not outside.exists()


def test_pyproject_that_is_not_utf8_is_an_input_error(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project")
    (root / "pyproject.toml").write_bytes(PYPROJECT.encode() + b'database = "\xff"\n')
    before = tree_digest(root)
    for args in COMMANDS:
        code, doc = run_json(root, *args)
        assert code == 2, doc
        assert "cannot read" in doc["errors"][0]["message"], doc
        assert "can't decode byte 0xff" in doc["errors"][0]["message"], doc
        assert doc["errors"][0]["file"] == str(root / "pyproject.toml")
    assert tree_digest(root) == before


# --- compile writes all or nothing, and only inside the project -------------------------------


def test_compile_refuses_to_write_through_a_symlink_leaving_the_project(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project")
    assert run_json(root, "compile")[0] == 0
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me", encoding="utf-8")
    target = root / "generated" / "sqlite.sql"
    target.unlink()
    target.symlink_to(precious)
    (root / "schema" / "app.yaml").write_text(BASE + "      extra: {type: text}\n")
    before = tree_digest(root)
    code, doc = run_json(root, "compile")
    assert code == 2, doc
    assert "outside the project" in doc["errors"][0]["message"], doc
    assert doc["errors"][0]["file"] == str(target)
    assert precious.read_text(encoding="utf-8") == "keep me"
    assert tree_digest(root) == before


def test_compile_that_fails_part_way_puts_back_what_it_wrote(tmp_path: Path) -> None:
    """The postgres folder is a file: sqlite's migration and generated/ were written first."""
    root = make_project(tmp_path / "project")
    (root / "drizzle").mkdir()
    (root / "drizzle" / "postgres").write_text("not a folder", encoding="utf-8")
    before = tree_digest(root)
    code, doc = run_json(root, "compile")
    assert code == 2, doc
    assert doc["errors"][0]["file"] == str(root / "drizzle" / "postgres"), doc
    assert "File exists" in doc["errors"][0]["message"]
    assert tree_digest(root) == before
    assert not (root / "generated").exists()
    os.remove(root / "drizzle" / "postgres")
    assert run_json(root, "compile")[0] == 0  # and once fixed, compile works


# --- schema values compile accepts but a database refuses later -------------------------------


def table_with(column: str, extra: str = "") -> str:
    return (f"{extra}tables:\n  t:\n    columns:\n      id: {{type: integer, primary_key: true}}\n"
            f"      a: {{type: text}}\n      {column}\n")


LATE_REFUSALS = [
    # (id, schema, where the error points, words of the message)
    ("custom-type-primary-key",
     table_with("e: {type: evil}", 'types:\n  evil: {postgres: "integer primary key", '
                'sqlite: integer}\n'), "2:20", "must be one SQL type name"),
    ("custom-type-check",
     table_with("e: {type: evil}", 'types:\n  evil: {postgres: text, sqlite: "text check '
                '(false)"}\n'), "2:34", "must be one SQL type name"),
    ("custom-type-references",
     table_with("e: {type: evil, only: postgres}", 'types:\n  evil: {postgres: "integer '
                'references victim(id)"}\n'), "2:20", "must be one SQL type name"),
    ("custom-type-not-null", table_with("e: {type: evil}", 'types:\n  evil: {postgres: '
                                        '"text not null", sqlite: text}\n'), "2:20",
     "must be one SQL type name"),
    ("custom-type-collate", table_with("e: {type: evil}", 'types:\n  evil: {postgres: '
                                       '"text collate C", sqlite: text}\n'), "2:20",
     "must be one SQL type name"),
    ("custom-type-default-word", table_with("e: {type: evil}", 'types:\n  evil: {postgres: '
                                            '"text default now", sqlite: text}\n'), "2:20",
     "must be one SQL type name"),
    ("date-month-13", table_with('d: {type: date, default: "2024-13-01"}'), "6:32",
     "ISO date"),
    ("date-february-30", table_with('d: {type: date, default: "2024-02-30"}'), "6:32",
     "ISO date"),
    ("date-array-element", table_with('d: {type: "date[]", default: ["2023-02-29"]}'), "6:36",
     "ISO date"),
    ("real-too-large", table_with("r: {type: real, default: 1.0e+39}"), "6:32",
     "does not fit real"),
    ("real-too-small", table_with("r: {type: real, default: -1.0e-50}"), "6:32",
     "does not fit real"),
    ("real-array-too-large", table_with('r: {type: "real[]", default: [1.0e+39]}'), "6:36",
     "does not fit real"),
    ("timestamp-after-9999-in-utc",
     table_with('s: {type: timestamp, default: "9999-12-31T23:59:59-14:00"}'), "6:37",
     "a timestamp default must be"),
    ("timestamp-before-year-1-in-utc",
     table_with('s: {type: "timestamp without time zone", default: '
                '"0001-01-01T00:00:00+14:00"}'), "6:57", "a timestamp default must be"),
    ("generated-now", table_with('g: {type: text, generated: "now()"}'), "6:34",
     "calls now()"),
    ("generated-random", table_with('g: {type: double, generated: "random() * 2"}'), "6:36",
     "calls random()"),
    ("generated-sqlite-now",
     table_with("g: {type: text, generated: {sqlite: {verbatim: \"date('now')\"}, "
                'postgres: "upper(a)"}}'), "6:43", "calls 'now'"),
    ("enum-named-like-a-table", table_with("s: {type: enum(t)}", "enums:\n  t: [a, b]\n"),
     "2:3", "every table has a row type"),
    ("enum-in-a-pg-schema",
     table_with("s: {type: enum(st)}", "enums:\n  st: {values: [a], schema: pg_mine}\n"),
     "2:3", "reserves schema names starting with 'pg_'"),
    ("generated-gen-random-uuid",
     table_with('g: {type: uuid, generated: "gen_random_uuid()", only: postgres}'), "6:34",
     "calls gen_random_uuid()"),
]


@pytest.mark.parametrize("case", LATE_REFUSALS, ids=[c[0] for c in LATE_REFUSALS])
def test_values_a_database_would_refuse_are_compile_errors(case, tmp_path: Path) -> None:
    _id, schema, where, words = case
    root = make_project(tmp_path / "project", schema)
    before = tree_digest(root)
    code, doc = run_json(root, "compile")
    assert code == 2, doc
    messages = [e["message"] for e in doc["errors"]]
    assert any(words in m for m in messages), messages
    line, col = map(int, where.split(":"))
    assert any(e.get("file") == "schema/app.yaml" and e.get("line") == line
               and e.get("col") == col for e in doc["errors"]), doc["errors"]
    assert tree_digest(root) == before


ACCEPTED_NEIGHBOURS = table_with(
    'd: {type: date, default: "2024-02-29"}', 'types:\n  dp: {postgres: "double precision", '
    'sqlite: real}\n  cv: {postgres: "character varying(10)", sqlite: text}\n'
    "enums:\n  t_kind: [a]\n  t: {values: [a], schema: other, only: postgres}\n"
) + (
    "      r: {type: real, default: 3.4e+38}\n"
    "      r2: {type: real, default: 1.5e-45}\n"
    '      s: {type: timestamp, default: "9999-12-31T23:59:59Z"}\n'
    '      s2: {type: "timestamp without time zone", default: "0001-01-01T00:00:00Z"}\n'
    "      x: {type: dp}\n      y: {type: cv}\n"
    "      z: {type: enum(t_kind)}\n      w: {type: enum(t), only: postgres}\n"
    '      g: {type: text, generated: "upper(a)"}\n'
)


def test_the_boundary_values_compile_and_both_databases_take_them(tmp_path: Path,
                                                                   pg_url: str) -> None:
    """What stays accepted next to each refusal above really is accepted: both databases
    create the table and insert a row of defaults."""
    import sqlite3

    from pg_cluster import connect

    root = make_project(tmp_path / "project", ACCEPTED_NEIGHBOURS)
    assert run_json(root, "compile")[0] == 0
    db = tmp_path / "app.db"
    for url in (f"sqlite:///{db}", pg_url):
        code, doc = run_json(root, "migrate", "--database", url)
        assert code == 0, doc
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO t (id, a) VALUES (1, 'x')")
    assert conn.execute("SELECT d, g FROM t").fetchall() == [("2024-02-29", "X")]
    conn.close()
    with connect(pg_url) as pg:
        pg.execute("INSERT INTO t (id, a) VALUES (1, 'x')")
        row = pg.execute("SELECT d::text, r, g, s::text FROM t").fetchone()
    assert row[0] == "2024-02-29" and row[2] == "X" and row[3].startswith("9999-12-31")


# --- secrets: a password never reaches any output ----------------------------------------------

# passwords the patterns alone missed: a quote, a space (libpq echoes it in its own message),
# a backtick, a double quote; each case gets a password of its own (`{n}`), so that one case
# cannot pass on what an earlier one taught the process.
SECRET_URLS = [
    ("single-quote", "postgresql://app:'Pw{n}secret'@127.0.0.1:1/db"),
    ("space", "postgresql://app:Pw{n} secret@127.0.0.1:1/db"),
    ("backtick", "postgresql://app:Pw{n}`secret@127.0.0.1:1/db"),
    ("double-quote", 'postgresql://app:Pw{n}"secret@127.0.0.1:1/db'),
    ("quoted-keyword", "postgresql://app@127.0.0.1:1/db?password='Pw{n} secret'"),
    # libpq decodes parameter names too: both set the password (before: printed as given)
    ("percent-encoded-name", "postgresql://app@127.0.0.1:1/db?%70assword=Pw{n}secret"),
    ("percent-encoded-name-2", "postgresql://app@127.0.0.1:1/db?sslmode=disable&pass%77ord=Pw{n}"
                               "secret"),
]
SECRET_COMMANDS = [("migrate", "--database"), ("status", "--database"), ("diff", "--database"),
                   ("undo", "--database"), ("verify", "--pg-url")]
# where each command takes its URL from (today: the environment is read by undo and verify)
SOURCES = {"migrate": ("option", "pyproject"), "status": ("option", "pyproject"),
           "diff": ("option", "pyproject"), "undo": ("option", "env", "pyproject"),
           "verify": ("option", "env")}
SECRET_CASES = [(case, command, source) for case in SECRET_URLS for command in SECRET_COMMANDS
                for source in SOURCES[command[0]]]


@pytest.mark.parametrize("case, command, source", SECRET_CASES,
                         ids=[f"{c[0]}-{m[0]}-{s}" for c, m, s in SECRET_CASES])
def test_no_password_in_any_output(case, command, source: str, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    n = 10**7 + SECRET_CASES.index((case, command, source))
    url = case[1].format(n=n)
    name, option = command
    toml_url = url.replace("\\", "\\\\").replace('"', '\\"')
    pyproject = with_setting(f'database = "{toml_url}"') if source == "pyproject" else PYPROJECT
    root = make_project(tmp_path / "project", pyproject=pyproject)
    assert run_json(root, "compile")[0] == 0
    for variable in ("AGORSCHEMA_DATABASE_URL", "DATABASE_URL", "AGORSCHEMA_VERIFY_PG_URL"):
        monkeypatch.delenv(variable, raising=False)
    args = [name]
    if source == "option":
        args += [option, url]
    elif source == "env":
        monkeypatch.setenv("AGORSCHEMA_VERIFY_PG_URL" if name == "verify"
                           else "AGORSCHEMA_DATABASE_URL", url)
    for fmt in ("json", "text"):
        result = CliRunner().invoke(main, [*args, "--format", fmt, "--project", str(root)])
        assert not isinstance(result.exception, Exception) or \
            isinstance(result.exception, SystemExit), result.exception
        shown = result.output
        assert "Traceback" not in shown
        assert result.exit_code != 0 or name == "verify", shown  # nothing reachable
        assert f"Pw{n}" not in shown and "secret" not in shown, (fmt, shown)


# --- concurrent writers: the project lock ------------------------------------------------------


def _compile_process(root: Path, *args: str):
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-c", "from agor_schema.cli import main; main()", *args,
         "--project", str(root)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_concurrent_compiles_leave_one_consistent_history(tmp_path: Path) -> None:
    """Four compiles of the same change at the same moment, three rounds: each round adds
    exactly one migration per dialect and `check` passes (without the lock, journals and
    checksums interleaved and `check` failed in about half the rounds)."""
    root = make_project(tmp_path / "project")
    assert run_json(root, "compile")[0] == 0
    for round_ in range(1, 4):
        with (root / "schema" / "app.yaml").open("a", encoding="utf-8") as fh:
            fh.write(f"      extra_{round_}: {{type: integer}}\n")
        procs = [_compile_process(root, "compile") for _ in range(4)]
        outputs = [p.communicate(timeout=120)[0] for p in procs]
        assert all(p.returncode == 0 for p in procs), outputs
        assert sum("sqlite: wrote" in out for out in outputs) == 1, outputs
        code, doc = run_json(root, "check")
        assert code == 0, doc
        for dialect in ("sqlite", "postgres"):
            assert len(list((root / "drizzle" / dialect).glob("*.sql"))) == round_ + 1


def test_compile_waits_for_the_project_lock(tmp_path: Path) -> None:
    import threading
    import time

    from agor_schema.locking import project_lock

    root = make_project(tmp_path / "project")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with project_lock(root):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    proc = _compile_process(root, "compile")
    time.sleep(1.5)
    assert proc.poll() is None  # still waiting
    assert not (root / "generated").exists() and not (root / "drizzle").exists()
    release.set()
    holder.join()
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 0, out
    assert (root / "drizzle" / "sqlite" / "meta" / "_journal.json").is_file()


# --- migration names are slugs ----------------------------------------------------------------

BAD_NAMES = ["../../x", "a/b", ".", "..", "", "x\ny", "bad name!", "ünïcode", "a" * 65,
             "x;y", "a\\b"]
BAD_NAME_IDS = ["parent", "slash", "dot", "dotdot", "empty", "newline", "space-bang", "unicode",
                "65-chars", "semicolon", "backslash"]


@pytest.mark.parametrize("command", ["new", "compile"])
@pytest.mark.parametrize("name", BAD_NAMES, ids=BAD_NAME_IDS)
def test_migration_names_must_be_slugs(name: str, command: str, tmp_path: Path) -> None:
    root = make_project(tmp_path / "project")
    assert run_json(root, "compile")[0] == 0
    if command == "compile":
        (root / "schema" / "app.yaml").write_text(BASE + "      extra: {type: text}\n")
    before = tree_digest(tmp_path)
    args = ["new", "--", name] if command == "new" else ["compile", "--name", name]
    result = CliRunner().invoke(main, [*args[:1], "--format", "json", "--project", str(root),
                                       *args[1:]])
    assert not isinstance(result.exception, Exception) or \
        isinstance(result.exception, SystemExit), result.exception
    doc = parse_envelope(result.stdout, command=command, exit_code=2)
    assert "is not a migration name: use letters, digits, '_' and '-' only" in \
        doc["errors"][0]["message"], doc
    assert tree_digest(tmp_path) == before


@pytest.mark.parametrize("name", ["backfill_users", "Add-Index-2", "a" * 64, "0001"])
def test_slug_names_are_used_as_written(name: str, tmp_path: Path) -> None:
    root = make_project(tmp_path / "project")
    assert run_json(root, "compile")[0] == 0
    code, doc = run_json(root, "new", name)
    assert code == 0, doc
    for dialect in ("sqlite", "postgres"):
        assert (root / "drizzle" / dialect / f"0001_{name}.sql").is_file()


# --- database URLs that name no database --------------------------------------------------------


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///   ", "sqlite:///?mode=rw"],
                         ids=["no-path", "empty-path", "blank-path", "query-only"])
@pytest.mark.parametrize("command", ["migrate", "status", "diff"])
def test_a_sqlite_url_without_a_file_is_refused(url: str, command: str, tmp_path: Path) -> None:
    """Before: migrate 'applied' every migration to a throwaway in-memory database (exit 0)
    or to a file named by blanks; `sqlite://:memory:` says so explicitly instead."""
    root = make_project(tmp_path / "project")
    assert run_json(root, "compile")[0] == 0
    before = tree_digest(tmp_path)
    code, doc = run_json(root, command, "--database", url)
    assert code == 2, doc
    assert "names no file" in doc["errors"][0]["message"], doc
    assert tree_digest(tmp_path) == before


# the Python API: an app logs the exception of a failed start-up migrate; its message must not
# carry the password either (before: libpq's own text and the unsupported-URL messages did)
API_SECRET_URLS = [
    ("unsupported-scheme", "mysql://app:Pw{n}secret@127.0.0.1/db"),
    ("one-slash", "postgresql:/app:Pw{n}secret@127.0.0.1/db"),
    ("space-echoed-by-libpq", "postgresql://app:Pw{n} secret@127.0.0.1:1/db"),
    ("bracket-echoed-by-libpq", "postgresql://app:Pw{n}secret@[::1/db"),
    ("percent-encoded-name", "postgresql://app@127.0.0.1:1/db?%70assword=Pw{n}secret"),
]


@pytest.mark.parametrize("call", ["migrate", "status"])
@pytest.mark.parametrize("case", API_SECRET_URLS, ids=[c[0] for c in API_SECRET_URLS])
def test_no_password_in_python_api_errors(case, call: str, tmp_path: Path) -> None:
    import agor_schema

    n = 2 * 10**7 + 2 * API_SECRET_URLS.index(case) + (call == "status")
    url = case[1].format(n=n)
    root = make_project(tmp_path / "project")
    assert run_json(root, "compile")[0] == 0
    with pytest.raises(agor_schema.RunnerError) as info:
        getattr(agor_schema, call)(url, root / "drizzle" / "postgres")
    exc = info.value
    for shown in (str(exc), repr(exc), exc.message, str(exc.to_dict())):
        assert f"Pw{n}" not in shown and "secret" not in shown, shown
