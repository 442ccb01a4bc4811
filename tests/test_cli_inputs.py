"""Hostile and mistyped input at the command line and in [tool.agorschema] (issue 8 items 8, 11,
12, 13, 14, 17): exit 2 (or 1 for a refusal) with a message, never a traceback, nothing written,
no secret printed. Runs the real `agorschema` command in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from envelope_helpers import parse_envelope

AGORSCHEMA = str(Path(sys.executable).with_name("agorschema"))
BASE = '[tool.agorschema]\ndialects = ["sqlite"]\ndatabase = "sqlite:///app.db"\n'
SCHEMA = """\
tables:
  users:
    columns:
      id: {type: integer, primary_key: true}
      name: text
"""


def agorschema(project: Path, *args: str, env: dict | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("DATABASE_URL", "AGORSCHEMA_DATABASE_URL", "AGORSCHEMA_VERIFY_PG_URL")}
    return subprocess.run([AGORSCHEMA, *args], cwd=project, capture_output=True, text=True,
                          env={**clean, **(env or {})}, timeout=timeout)


def make(root: Path, pyproject: str = BASE) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(pyproject)
    (root / "schema").mkdir(exist_ok=True)
    (root / "schema" / "app.yaml").write_text(SCHEMA)
    return root


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root except the cache, by relative path (the lock file is gone
    once a command ends)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".agorschema-cache" not in p.parts}


@pytest.fixture
def compiled(tmp_path: Path) -> Path:
    project = make(tmp_path / "p")
    assert agorschema(project, "compile").returncode == 0
    return project


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


# ------------------------------------------------------------------ item 8: new on a stale schema


def test_new_refuses_on_a_stale_schema(compiled: Path) -> None:
    (compiled / "schema" / "app.yaml").write_text(SCHEMA + "      email: text\n")
    before = tree(compiled)
    result = agorschema(compiled, "new", "backfill")
    no_traceback(result)
    assert result.returncode == 1
    assert "schema changed since the last compile" in result.stderr
    assert "agorschema compile" in result.stderr
    assert tree(compiled) == before  # generated/, the migrations and the hash untouched
    assert agorschema(compiled, "check").returncode == 1  # the guard still sees the change
    assert agorschema(compiled, "compile").returncode == 0
    assert agorschema(compiled, "new", "backfill").returncode == 0


# ------------------------------------------------------------------ item 12: migration names


@pytest.mark.parametrize("name", [
    "../../x", "a/b", "bad name!", "x" * 65, "x" * 300, "", "émoji", "a\nb", "-",
])
@pytest.mark.parametrize("command", ["new", "compile"])
def test_migration_names_are_slugs(tmp_path: Path, command: str, name: str) -> None:
    project = make(tmp_path / "p")
    if command == "new":
        assert agorschema(project, "compile").returncode == 0
    before = tree(project)
    args = ["new", name] if command == "new" else ["compile", "--name", name]
    result = agorschema(project, *args)
    no_traceback(result)
    if name == "-":  # a legal slug: accepted
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 2, result.stderr
    assert "letters, digits, '_' and '-' only, 1 to 64 characters" in result.stderr
    assert tree(project) == before
    assert not (tmp_path / "x.sql").exists() and not list(tmp_path.glob("*.sql"))


def test_a_64_character_name_is_accepted(compiled: Path) -> None:
    result = agorschema(compiled, "new", "n" * 64)
    assert result.returncode == 0, result.stderr
    assert (compiled / "drizzle" / "sqlite" / f"0001_{'n' * 64}.sql").is_file()


# ------------------------------------------------------------------ item 11: settings, no traceback


@pytest.mark.parametrize("line, key, expected", [
    ("schema = 5", "schema", "must be a non-empty string"),
    ('lock_timeout = "abc"', "lock_timeout", "must be a number of seconds"),
    ("lock_timeout = -1", "lock_timeout", "from 0 to 86400"),
    ("lock_timeout = true", "lock_timeout", "must be a number of seconds"),
    ('ddl_lock_timeout = "5s"', "ddl_lock_timeout", "must be a number of seconds"),
    ("ddl_lock_retries = 1.5", "ddl_lock_retries", "a whole number from 0 to 100"),
    ('migrator_lock = "global"', "migrator_lock", "must be one of auto"),
    ('generated = "pyproject.toml"', "generated", "must be a folder"),
    ('migrations = "pyproject.toml"', "migrations", "must be a folder"),
    ("generated = []", "generated", "must be a non-empty string"),
    ('schema = ""', "schema", "must be a non-empty string"),
    ("migrations_table = 3", "migrations_table", "must be a non-empty string"),
    ("migrations_schema = {a = 1}", "migrations_schema", "must be a non-empty string"),
    ("database = 5", "database", "must be a database URL string"),
    ('dialects = "sqlite"', "dialects", "must be a non-empty list"),
    ('dialects = ["sqlite", "mysql"]', "dialects", "'mysql' is not one"),
    ('dialects = ["sqlite", "sqlite"]', "dialects", "each dialect once"),
    ('shema = "schema"', "shema", "did you mean 'schema'"),
])
def test_mistyped_settings_exit_2_naming_key_and_type(tmp_path: Path, line: str, key: str,
                                                      expected: str) -> None:
    body = "".join(f"{line_}\n" for line_ in BASE.splitlines() if not line_.startswith(key + " "))
    project = make(tmp_path / "p", body + line + "\n")
    before = tree(project)
    commands = ("compile", "check", "new", "migrate", "status", "diff", "verify") \
        if key in ("schema", "lock_timeout") else ("compile", "migrate")
    for command in commands:
        args = [command, "x"] if command == "new" else [command]
        result = agorschema(project, *args)
        no_traceback(result)
        assert result.returncode == 2, (command, result.stderr)
        assert "pyproject.toml" in result.stderr and key in result.stderr, result.stderr
        assert expected in result.stderr, result.stderr
    doc = parse_envelope(agorschema(project, "compile", "--format", "json").stdout, "compile", 2)
    assert doc["errors"][0]["file"].endswith("pyproject.toml")
    assert doc["errors"][0]["field"] == key
    assert tree(project) == before


def test_dialects_empty_is_an_error(tmp_path: Path) -> None:
    project = make(tmp_path / "p", '[tool.agorschema]\ndialects = []\n')
    result = agorschema(project, "compile")
    assert result.returncode == 2 and "dialects must be a non-empty list" in result.stderr
    assert not (project / "generated").exists()


# ------------------------------------------------------------------ item 12: paths stay inside


@pytest.mark.parametrize("line", [
    'schema = "../outside"', 'schema = "/etc"', 'generated = "../gen"',
    'migrations = "../../drizzle"', 'generated = "/tmp/agorschema-escape"',
    'migrations = "sub/../../x"', 'schema = "link"', 'generated = "link/gen"', 'generated = "."',
])
def test_path_settings_stay_inside_the_project(tmp_path: Path, line: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    project = make(tmp_path / "p", BASE + line + "\n")
    (project / "link").symlink_to(outside, target_is_directory=True)
    result = agorschema(project, "compile")
    no_traceback(result)
    assert result.returncode == 2, result.stderr
    assert "inside the project root" in result.stderr or "below the project root" in result.stderr
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "gen").exists() and not (tmp_path / "drizzle").exists()


def test_path_inside_through_a_symlink_is_fine(tmp_path: Path) -> None:
    project = make(tmp_path / "p", BASE + 'generated = "link/gen"\n')
    (project / "real").mkdir()
    (project / "link").symlink_to(project / "real", target_is_directory=True)
    assert agorschema(project, "compile").returncode == 0
    assert (project / "real" / "gen" / "sqlite.sql").is_file()


# ------------------------------------------------------------------ item 13: never print a secret

SECRET = "Sup3rS3cretPw"
SECRET_URLS = [
    f"postgresql://agor:{SECRET}@127.0.0.1:1/db",
    f"postgresql://agor@127.0.0.1:1/db?password={SECRET}",
    f"postgresql://agor@127.0.0.1:1/db?sslmode=disable&password={SECRET}",
    f"postgresql://agor:{SECRET}@127.0.0.1:notaport/db",
    f"postgresql://agor:{SECRET}@[::1/db",
    f"postgres:/agor:{SECRET}@127.0.0.1/db",
    f"agor:{SECRET}@127.0.0.1/db",
    f"mysql://agor:{SECRET}@127.0.0.1/db",
    f"postgresql://agor:p@ss{SECRET}@127.0.0.1:1/db",
]


@pytest.mark.parametrize("url", SECRET_URLS)
def test_secrets_never_printed(compiled: Path, url: str) -> None:
    runs = [
        agorschema(compiled, "migrate", "--database", url, "--migrations", "drizzle/sqlite"),
        agorschema(compiled, "migrate", "--database", url, "--migrations", "drizzle/sqlite",
                   "--format", "json"),
        agorschema(compiled, "status", "--database", url, "--migrations", "drizzle/sqlite",
                   "--format", "json"),
        agorschema(compiled, "diff", "--database", url),
    ]
    (compiled / "pyproject.toml").write_text(BASE.replace("sqlite:///app.db", url))
    runs.append(agorschema(compiled, "migrate"))
    runs.append(agorschema(compiled, "check", "--format", "json"))
    for result in runs:
        no_traceback(result)
        assert result.returncode != 0 or "check" in result.args
        assert SECRET not in result.stdout + result.stderr, result.args


def test_secret_in_pyproject_database_setting_error(tmp_path: Path) -> None:
    project = make(tmp_path / "p", BASE.replace('"sqlite:///app.db"', f'["{SECRET}"]'))
    result = agorschema(project, "compile", "--format", "json")
    assert result.returncode == 2
    # a wrong type is shown, but a URL-looking secret inside it is still redacted
    project2 = make(tmp_path / "q", BASE.replace(
        '"sqlite:///app.db"', f'"postgresql://u:{SECRET}@h/db"') + "lock_timeout = 'x'\n")
    for result in (agorschema(project2, "status"), agorschema(project2, "migrate")):
        assert result.returncode == 2 and SECRET not in result.stdout + result.stderr


# ------------------------------------------------------------------ item 14: the project lock


def test_concurrent_compiles_are_serialized(compiled: Path) -> None:
    for round_ in range(2):
        column = f"c{round_}"
        schema = compiled / "schema" / "app.yaml"
        schema.write_text(schema.read_text() + f"      {column}: text\n")
        procs = [subprocess.Popen([AGORSCHEMA, "compile", "--format", "json"], cwd=compiled,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
        outputs = [p.communicate(timeout=120) for p in procs]
        assert all(p.returncode == 0 for p in procs), outputs
        docs = [json.loads(out) for out, _err in outputs]
        assert sum(bool(d["result"]["migrations"]) for d in docs) == 1, docs
        sql = sorted((compiled / "drizzle" / "sqlite").glob("*.sql"))
        assert len(sql) == round_ + 2, sql
        check = agorschema(compiled, "check")
        assert check.returncode == 0, check.stderr
    assert not (compiled / ".agorschema.lock").exists()  # removed by its last holder


def test_lock_is_exposed_for_other_writers(compiled: Path) -> None:
    """A holder of the lock (as import/undo do) makes compile wait; compile then runs."""
    released = compiled / "released"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time, pathlib; from agor_schema.locking import project_lock\n"
         f"with project_lock(pathlib.Path({str(compiled)!r})):\n"
         "    print('held', flush=True); time.sleep(3)\n"
         f"    pathlib.Path({str(released)!r}).write_text('x')"],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    (compiled / "schema" / "app.yaml").write_text(SCHEMA + "      email: text\n")
    result = agorschema(compiled, "compile")
    holder.wait(timeout=30)
    assert result.returncode == 0, result.stderr
    written = compiled / "drizzle" / "sqlite" / "0001_add_users_email.sql"
    assert written.stat().st_mtime_ns >= released.stat().st_mtime_ns  # it waited


# ------------------------------------------------------------------ item 17


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite://", "sqlite:///?mode=ro"])
def test_sqlite_url_without_a_path_is_refused(compiled: Path, url: str) -> None:
    for command in ("migrate", "status", "diff"):
        result = agorschema(compiled, command, "--database", url)
        no_traceback(result)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert "names no file" in result.stderr


def test_drizzle_kit_v1_subfolders_are_refused(compiled: Path) -> None:
    v1 = compiled / "drizzle" / "sqlite" / "20250101120000_init"
    v1.mkdir()
    (v1 / "migration.sql").write_text("CREATE TABLE t (x integer);\n")
    (compiled / "schema" / "app.yaml").write_text(SCHEMA + "      email: text\n")
    before = tree(compiled)
    for args in (["compile"], ["new", "x"]):
        result = agorschema(compiled, *args)
        no_traceback(result)
        assert result.returncode == 2, result.stderr
        assert "drizzle-kit 1.0 migration folders (20250101120000_init/migration.sql)" \
            in result.stderr
    assert tree(compiled) == before


# --- a mistyped --project -------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["check"], ["compile"], ["new", "backfill"], ["status"], ["migrate"], ["diff"], ["undo"],
    ["verify"], ["import", "--sqlite", "drizzle"], ["pull", "--database", "sqlite:///app.db"],
])
def test_a_project_folder_that_does_not_exist_is_an_input_error(compiled: Path, args):
    """`--project` naming no folder is exit 2 naming it, for every command: before, the
    commands fell back to defaults in that path (check said 'stale', migrate looked for a
    default database) as if it were an empty project."""
    missing = compiled / "no-such-project"
    before = tree(compiled)
    result = agorschema(compiled, *args, "--project", str(missing), "--format", "json")
    no_traceback(result)
    assert result.returncode == 2, (args, result.stdout, result.stderr)
    doc = parse_envelope(result.stdout, args[0], 2)
    assert any(f"project folder {missing} does not exist" in e["message"]
               for e in doc["errors"]), doc
    assert not missing.exists()
    assert tree(compiled) == before


def test_the_python_api_refuses_a_project_folder_that_does_not_exist(tmp_path: Path):
    import agor_schema

    with pytest.raises(agor_schema.RunnerInputError, match="does not exist"):
        agor_schema.migrate(f"sqlite:///{tmp_path / 'app.db'}", None,
                            project=tmp_path / "missing")
    assert not (tmp_path / "app.db").exists()
