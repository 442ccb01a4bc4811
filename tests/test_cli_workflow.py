"""A new user's first hour (issue 12): `init`, project root discovery, the database URL from
the environment, progress lines, honest `verify` / `status` / `check` summaries, the public
Python names, and the local pre-commit hook blocking a stale commit (real `pre-commit`).

Everything runs the installed `agorschema` command in a subprocess.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import missing
from envelope_helpers import parse_envelope

BIN = Path(sys.executable).parent
AGORSCHEMA = str(BIN / "agorschema")
SQLITE_ONLY = '[tool.agorschema]\ndialects = ["sqlite"]\ndatabase = "sqlite:///app.db"\n'
SCHEMA = "tables:\n  users:\n    columns:\n      id: {type: integer, primary_key: true}\n"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "AGORSCHEMA_DATABASE_URL", "AGORSCHEMA_VERIFY_PG_URL",
                        "AGORSCHEMA_PROGRESS")}
    return {**env, **extra}


def agorschema(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([AGORSCHEMA, *args], cwd=cwd, capture_output=True, text=True,
                          env=clean_env(**env), timeout=180)


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".agorschema-cache" not in p.parts}


# ------------------------------------------------------------------ init


def test_init_in_an_empty_folder_then_compile_and_migrate(tmp_path: Path) -> None:
    first = agorschema(tmp_path, "init")
    assert first.returncode == 0, first.stderr
    assert "repo: local" in first.stdout and "language: system" in first.stdout
    starter = (tmp_path / "schema" / "app.yaml").read_text()
    assert starter.startswith("# yaml-language-server: $schema=../generated/agorschema.schema.json")
    ignored = (tmp_path / ".gitignore").read_text().splitlines()
    for entry in ("/.agorschema-cache/", "/.agorschema.lock", "/app.db", "/app.db-journal",
                  "/app.db-wal", "/app.db-shm"):
        assert entry in ignored
    assert "[tool.agorschema]" in (tmp_path / "pyproject.toml").read_text()
    before = files(tmp_path)
    again = agorschema(tmp_path, "init", "--format", "json")
    doc = parse_envelope(again.stdout, "init", 0)
    assert doc["result"]["changed"] is False and doc["result"]["created"] == []
    assert files(tmp_path) == before  # re-running changes nothing
    assert agorschema(tmp_path, "compile").returncode == 0
    assert agorschema(tmp_path, "migrate").returncode == 0
    assert agorschema(tmp_path, "check").returncode == 0
    with sqlite3.connect(tmp_path / "app.db") as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(users)")]
    assert columns == ["id", "email", "created_at"]
    # the editor schema the starter file points at exists after compile
    assert (tmp_path / "generated" / "agorschema.schema.json").is_file()


def test_init_ignores_only_a_database_file_inside_the_project(tmp_path: Path) -> None:
    """The runtime of the `database` URL names its files: a SQLite file (and its journal
    files) inside the project; nothing for a server, memory, a file elsewhere or a bad URL."""
    from types import SimpleNamespace

    from agor_schema.scaffold import gitignore_entries

    def entries(url: str) -> list[str]:
        return gitignore_entries(SimpleNamespace(database=url, root=tmp_path.resolve()))

    base = ["/.agorschema-cache/", "/.agorschema.lock"]
    assert entries("sqlite:///data/app.db") == [*base, "/data/app.db", "/data/app.db-journal",
                                                "/data/app.db-wal", "/data/app.db-shm"]
    for url in ("postgresql://u@h/db", "sqlite://:memory:", "sqlite:////elsewhere/app.db",
                "sqlite:///", "mysql://x/y"):
        assert entries(url) == base, url


def test_init_appends_to_an_existing_pyproject_and_gitignore(tmp_path: Path) -> None:
    pyproject = '[project]\nname = "blog"\nversion = "1.0"'  # no final newline
    (tmp_path / "pyproject.toml").write_text(pyproject)
    (tmp_path / ".gitignore").write_text("node_modules/\n.agorschema-cache/\n")
    result = agorschema(tmp_path, "init")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "pyproject.toml").read_text()
    assert text.startswith(pyproject + "\n\n[tool.agorschema]\n")
    ignore = (tmp_path / ".gitignore").read_text()
    assert ignore.startswith("node_modules/\n.agorschema-cache/\n")
    assert ignore.count("agorschema-cache") == 1 and "/.agorschema.lock" in ignore
    before = files(tmp_path)
    assert agorschema(tmp_path, "init").returncode == 0
    assert files(tmp_path) == before


def test_init_keeps_existing_settings_and_schema(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(SQLITE_ONLY + 'schema = "db/schema.yaml"\n')
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "schema.yaml").write_text(SCHEMA)
    result = agorschema(tmp_path, "init")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "pyproject.toml").read_text().count("[tool.agorschema]") == 1
    assert (tmp_path / "db" / "schema.yaml").read_text() == SCHEMA
    assert not (tmp_path / "schema").exists()


def test_init_with_a_broken_pyproject_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.agorschema\n")
    result = agorschema(tmp_path, "init")
    assert result.returncode == 2 and "invalid TOML" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]


# ------------------------------------------------------------------ project root discovery


def test_root_is_the_nearest_pyproject_with_the_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(SQLITE_ONLY)
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "app.yaml").write_text(SCHEMA)
    sub = tmp_path / "packages" / "web"
    sub.mkdir(parents=True)
    (sub / "pyproject.toml").write_text('[project]\nname = "web"\n')  # no [tool.agorschema]
    result = agorschema(sub, "compile")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "drizzle" / "sqlite" / "meta" / "_journal.json").is_file()
    assert not (sub / "drizzle").exists()


def test_not_found_messages_name_root_and_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    sub = tmp_path / "src"
    sub.mkdir()
    compiled = agorschema(sub, "compile")
    assert compiled.returncode == 2
    assert f"project root {tmp_path}" in compiled.stderr
    assert f"{tmp_path / 'pyproject.toml'} has no [tool.agorschema]" in compiled.stderr
    assert "agorschema init" in compiled.stderr
    migrated = agorschema(sub, "migrate")
    assert migrated.returncode == 2
    assert f"project root {tmp_path}" in migrated.stderr and "pyproject.toml" in migrated.stderr
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    (tmp_path / "pyproject.toml").unlink()
    bare = agorschema(empty, "compile")
    assert bare.returncode == 2 and "default settings (no pyproject.toml)" in bare.stderr


# ------------------------------------------------------------------ database URL precedence


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    root.mkdir()
    (root / "pyproject.toml").write_text(SQLITE_ONLY)
    (root / "schema").mkdir()
    (root / "schema" / "app.yaml").write_text(SCHEMA)
    assert agorschema(root, "compile").returncode == 0
    return root


def tables(db: Path) -> set[str]:
    if not db.exists():
        return set()
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


@pytest.mark.parametrize("winner", ["option", "AGORSCHEMA_DATABASE_URL", "DATABASE_URL",
                                    "setting"])
def test_database_url_precedence(project: Path, winner: str) -> None:
    dbs = {name: project / f"{name}.db" for name in
           ("option", "AGORSCHEMA_DATABASE_URL", "DATABASE_URL")}
    order = ["option", "AGORSCHEMA_DATABASE_URL", "DATABASE_URL", "setting"]
    present = order[order.index(winner):]  # the winner and every lower source are set
    env = {k: f"sqlite:///{dbs[k]}" for k in ("AGORSCHEMA_DATABASE_URL", "DATABASE_URL")
           if k in present}
    args = ["--database", f"sqlite:///{dbs['option']}"] if "option" in present else []
    result = agorschema(project, "migrate", *args, **env)
    assert result.returncode == 0, result.stderr
    target = dbs.get(winner, project / "app.db")
    assert "users" in tables(target)
    for other in [*dbs.values(), project / "app.db"]:
        if other != target:
            assert "users" not in tables(other), other
    status = parse_envelope(agorschema(project, "status", *args, "--format", "json",
                                       **env).stdout, "status", 0)
    assert status["result"]["database"].endswith(target.name)
    assert status["result"]["pending"] == []
    diff = parse_envelope(agorschema(project, "diff", *args, "--format", "json", **env).stdout,
                          "diff", 0)
    assert diff["result"]["database"].endswith(target.name)


def test_pg_fixture_ignores_database_url() -> None:
    import pg_cluster

    assert "DATABASE_URL" not in pg_cluster.ENV_VARS
    assert pg_cluster.ENV_VARS == ("AGORSCHEMA_TEST_PG_URL",)


# ------------------------------------------------------------------ progress


def test_migrate_progress_lines_and_json_stays_one_object(project: Path) -> None:
    for n in (1, 2):
        assert agorschema(project, "new", f"slow{n}").returncode == 0
        path = next((project / "drizzle" / "sqlite").glob(f"000{n}_slow{n}.sql"))
        path.write_text(path.read_text() + f"\nCREATE TABLE t{n} (x integer);\n")
    result = agorschema(project, "migrate", AGORSCHEMA_PROGRESS="1")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    tags = ["0000_create_users", "0001_slow1", "0002_slow2"]
    expected = [w for tag in tags for w in (f"applying {tag} ...", f"applied {tag} in ")]
    assert [line[: len(w)] for line, w in zip(lines, expected)] == expected, lines
    assert len(lines) == 6
    with sqlite3.connect(project / "app.db") as conn:
        conn.execute("DELETE FROM __drizzle_migrations")
        conn.execute("DROP TABLE users")
        conn.execute("DROP TABLE t1")
        conn.execute("DROP TABLE t2")
    as_json = agorschema(project, "migrate", "--format", "json", AGORSCHEMA_PROGRESS="1")
    assert parse_envelope(as_json.stdout, "migrate", 0)["result"]["applied"]
    assert as_json.stderr == ""  # JSON: one object on stdout, no progress lines


def test_progress_on_a_real_terminal(project: Path) -> None:
    """Without the variable, progress appears when stderr is a terminal (a pty here)."""
    import pty

    out = []

    def read(fd: int) -> bytes:
        data = os.read(fd, 4096)
        out.append(data)
        return data

    os.environ.pop("AGORSCHEMA_PROGRESS", None)
    pid_cwd = os.getcwd()
    try:
        os.chdir(project)
        pty.spawn([AGORSCHEMA, "migrate"], read)
    finally:
        os.chdir(pid_cwd)
    text = b"".join(out).decode()
    assert "applying 0000_create_users ..." in text
    assert "applied 0000_create_users in " in text
    piped = agorschema(project, "migrate")
    assert "applying" not in piped.stderr  # a pipe: no progress lines


def test_verify_and_diff_say_what_they_do(project: Path) -> None:
    verify = agorschema(project, "verify", AGORSCHEMA_PROGRESS="1")
    assert verify.returncode == 0, verify.stderr
    assert "verify: replaying the migrations of sqlite" in verify.stderr
    assert agorschema(project, "migrate").returncode == 0
    diff = agorschema(project, "diff", AGORSCHEMA_PROGRESS="1")
    assert diff.returncode == 0 and "diff: reading the database's catalog" in diff.stderr


# ------------------------------------------------------------------ honest summaries


def test_verify_names_checked_dialects_and_require_postgres(tmp_path: Path) -> None:
    root = tmp_path / "both"
    root.mkdir()
    (root / "pyproject.toml").write_text('[tool.agorschema]\ndatabase = "sqlite:///app.db"\n')
    (root / "schema").mkdir()
    (root / "schema" / "app.yaml").write_text(SCHEMA)
    assert agorschema(root, "compile").returncode == 0
    plain = agorschema(root, "verify")
    assert plain.returncode == 0
    assert "ok for sqlite only: postgres was skipped" in plain.stdout
    assert "everything holds" not in plain.stdout
    doc = parse_envelope(agorschema(root, "verify", "--format", "json").stdout, "verify", 0)
    assert doc["result"]["checked"] == ["sqlite"] and doc["result"]["skipped"] == ["postgres"]
    assert any("postgres: skipped" in w["message"] for w in doc["warnings"])
    required = agorschema(root, "verify", "--require-postgres")
    assert required.returncode == 2
    assert "--require-postgres: PostgreSQL was not checked" in required.stderr
    as_json = agorschema(root, "verify", "--require-postgres", "--format", "json")
    assert parse_envelope(as_json.stdout, "verify", 2)["errors"]


def test_verify_require_postgres_with_a_server(tmp_path: Path, pg_admin_url: str | None) -> None:
    if pg_admin_url is None:
        missing("no PostgreSQL available")
    root = tmp_path / "both"
    root.mkdir()
    (root / "pyproject.toml").write_text('[tool.agorschema]\ndatabase = "sqlite:///app.db"\n')
    (root / "schema").mkdir()
    (root / "schema" / "app.yaml").write_text(SCHEMA)
    assert agorschema(root, "compile").returncode == 0
    result = agorschema(root, "verify", "--require-postgres", "--pg-url", pg_admin_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok: everything holds (checked: sqlite, postgres)" in result.stdout


def test_status_exit_code(project: Path) -> None:
    assert agorschema(project, "status").returncode == 0  # pending, but informative only
    pending = agorschema(project, "status", "--exit-code")
    assert pending.returncode == 1 and "1 pending" in pending.stdout
    doc = parse_envelope(agorschema(project, "status", "--exit-code", "--format", "json").stdout,
                         "status", 1)
    assert "1 pending migration(s)" in doc["errors"][0]["message"]
    assert agorschema(project, "migrate").returncode == 0
    assert agorschema(project, "status", "--exit-code").returncode == 0
    sql = project / "drizzle" / "sqlite" / "0000_create_users.sql"
    sql.write_text(sql.read_text() + "\n-- edited after it was applied\n")
    changed = agorschema(project, "status", "--exit-code")
    assert changed.returncode == 1 and "[changed]" in changed.stdout


def test_check_text_shows_why_it_was_slow(project: Path) -> None:
    schema = project / "schema" / "app.yaml"
    schema.write_text(SCHEMA + "      bio: text\n")
    result = agorschema(project, "check")
    assert result.returncode == 1
    assert "note: the schema files differ from what the last compile recorded, so the schema " \
        "was compiled again" in result.stdout
    assert "schema changed since the last compile" in result.stderr
    schema.write_text("# a comment only\n" + SCHEMA)
    comment = agorschema(project, "check")
    assert comment.returncode == 0
    assert "note: schema sources changed without changing the schema" in comment.stdout


# ------------------------------------------------------------------ public Python names


def test_public_names() -> None:
    code = (
        "import sys, agor_schema\n"
        "from agor_schema import migrate, status, RunnerError, MigrationFailed, "
        "MigrationRefused, LockTimeoutError, ConnectionFailed, RunnerInputError\n"
        "assert all(issubclass(c, RunnerError) for c in (MigrationFailed, MigrationRefused, "
        "LockTimeoutError, ConnectionFailed, RunnerInputError))\n"
        "assert not hasattr(agor_schema, 'Any') and not hasattr(agor_schema, 'annotations')\n"
        "assert 'Any' not in dir(agor_schema) and 'annotations' not in dir(agor_schema)\n"
        "assert set(agor_schema.__all__) <= set(dir(agor_schema))\n"
        "print(agor_schema.__version__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0.2.0"


def test_import_of_the_package_loads_no_driver() -> None:
    code = ("import sys, agor_schema; agor_schema.RunnerError\n"
            "assert 'psycopg' not in sys.modules and 'sqlglot' not in sys.modules\n"
            "assert 'pydantic' not in sys.modules")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr


# ------------------------------------------------------------------ pre-commit


PRE_COMMIT_CONFIG = """\
repos:
  - repo: local
    hooks:
      - id: agorschema-check
        name: agorschema check
        entry: agorschema check
        language: system
        pass_filenames: false
        always_run: true
"""


def test_local_pre_commit_hook_blocks_a_stale_commit(tmp_path: Path) -> None:
    pre_commit = shutil.which("pre-commit", path=str(BIN)) or shutil.which("pre-commit")
    if pre_commit is None or shutil.which("git") is None:
        missing("pre-commit (pip install pre-commit) and git are needed")
    env = clean_env(
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
        GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com",
        GIT_CONFIG_GLOBAL=str(tmp_path / "gitconfig"), GIT_CONFIG_NOSYSTEM="1",
    )
    repo = tmp_path / "repo"
    repo.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), cwd=repo, env=env, capture_output=True, text=True,
                              timeout=180)

    assert run("git", "init", "-q", "-b", "main").returncode == 0
    assert run(AGORSCHEMA, "init").returncode == 0
    (repo / ".pre-commit-config.yaml").write_text(PRE_COMMIT_CONFIG)
    assert run(AGORSCHEMA, "compile").returncode == 0
    assert run(pre_commit, "install").returncode == 0
    run("git", "add", "-A")
    first = run("git", "commit", "-q", "-m", "init")
    assert first.returncode == 0, first.stdout + first.stderr
    schema = repo / "schema" / "app.yaml"
    schema.write_text(schema.read_text() + "      bio: text\n")  # edited, not compiled
    run("git", "add", "-A")
    blocked = run("git", "commit", "-q", "-m", "stale")
    assert blocked.returncode != 0
    assert "schema changed since the last compile" in blocked.stdout + blocked.stderr
    assert run("git", "rev-list", "--count", "HEAD").stdout.strip() == "1"
    assert run(AGORSCHEMA, "compile").returncode == 0
    run("git", "add", "-A")
    ok = run("git", "commit", "-q", "-m", "add bio")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert run("git", "rev-list", "--count", "HEAD").stdout.strip() == "2"


# ------------------------------------------------------------------ README


def test_readme_dsl_example_compiles_as_pasted(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## DSL reference"):]
    start = section.index("```yaml\n") + len("```yaml\n")
    example = section[start: section.index("\n```", start)]
    assert "tables:" in example and "post_tags:" in example
    assert agorschema(tmp_path, "init").returncode == 0
    (tmp_path / "schema" / "app.yaml").write_text(example + "\n")
    compiled = agorschema(tmp_path, "compile")
    assert compiled.returncode == 0, compiled.stderr
    assert agorschema(tmp_path, "migrate").returncode == 0
    with sqlite3.connect(tmp_path / "app.db") as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"users", "posts", "post_tags"} <= names
