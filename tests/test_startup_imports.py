"""What a fresh process loads to find an up-to-date SQLite database up to date: the start-up
path of an app (`import agor_schema; agor_schema.migrate(url, folder)`) and of `--help`
stays free of the parsing, validation and statement-splitting machinery."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from agor_schema.cli import main

HEAVY = ("pydantic", "sqlglot", "yaml", "jinja2", "psycopg", "tomllib",
         "agor_schema.dialects.statements", "agor_schema.as_written", "agor_schema.spec")
# What an app's start-up must not load either, beyond what the bare interpreter already has:
# the CLI, `dataclasses` (it imports `inspect`; its records cost ~0.5 ms each to build) and
# OpenSSL's `hashlib` (a small history is hashed with CPython's built-in SHA-256), nor `typing`
# (~16 M instructions; the records are agor_schema.records namedtuples).
STARTUP_HEAVY = (*HEAVY, "click", "agor_schema.cli", "agor_schema.envelope", "dataclasses",
                 "inspect", "hashlib", "_hashlib", "typing")


def loaded_after(code: str, *args: str) -> set[str]:
    probe = code + "\nimport sys; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True,
                         check=True)
    return set(out.stdout.split())


def heavy(modules: set[str], names: tuple[str, ...] = HEAVY) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in names))


def test_up_to_date_migrate_loads_no_heavy_module(tmp_path: Path) -> None:
    (tmp_path / "schema").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.agorschema]\n")
    (tmp_path / "schema" / "app.yaml").write_text(
        "tables:\n  users:\n    columns:\n      id: {type: integer, primary_key: true}\n")
    url = f"sqlite:///{tmp_path / 'app.db'}"
    runner = CliRunner()
    assert runner.invoke(main, ["compile", "--project", str(tmp_path)]).exit_code == 0
    assert runner.invoke(main, ["migrate", "--project", str(tmp_path), "--database", url]
                         ).exit_code == 0
    modules = loaded_after(
        "import sys, agor_schema\n"
        "result = agor_schema.migrate(sys.argv[1], sys.argv[2])\n"
        "assert not result.applied and len(result.skipped) == 1, result",
        url, str(tmp_path / "drizzle" / "sqlite"))
    assert "agor_schema.runner" in modules
    assert heavy(modules - loaded_after("pass"), STARTUP_HEAVY) == []


def test_help_loads_no_heavy_module() -> None:
    modules = loaded_after("from agor_schema.cli import main\n"
                           "try:\n    main(['--help'])\nexcept SystemExit:\n    pass")
    assert heavy(modules) == []


def test_compile_stages_load_no_runner_machinery() -> None:
    modules = loaded_after("import agor_schema.compiler, agor_schema.check\n"
                           "from agor_schema.dialects import get_dialect\n"
                           "get_dialect('sqlite'); get_dialect('postgres')")
    assert not {"agor_schema.dialects.statements", "agor_schema.as_written", "psycopg",
                "agor_schema.runner"} & modules


COMPILE_PROBE = """\
import sys
from agor_schema.cli import main
try:
    main(["compile", "--project", sys.argv[1]])
except SystemExit as exc:
    assert exc.code == 0, exc.code
"""


def test_compile_looks_up_no_pydantic_plugin(tmp_path: Path) -> None:
    """The command's pydantic models need no plugin lookup (importlib.metadata and every
    installed distribution's metadata); the output is the one a library call gives."""
    (tmp_path / "schema").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.agorschema]\n")
    (tmp_path / "schema" / "app.yaml").write_text(
        "tables:\n  users:\n    columns:\n      id: {type: integer, primary_key: true}\n")
    env_free = loaded_after("import pydantic.main")  # what pydantic loads without validators
    modules = loaded_after(COMPILE_PROBE, str(tmp_path))
    assert "agor_schema.spec.models" in modules
    assert "importlib.metadata" not in modules - env_free
    assert (tmp_path / "generated" / "sqlite.sql").is_file()


def test_a_library_caller_keeps_pydantic_plugins(tmp_path: Path) -> None:
    """Only the command's own process does without the lookup: an app compiling through the
    Python API gets pydantic's real loader (its plugins, if any, see the models)."""
    probe = ("import sys\nimport agor_schema.spec.models\n"
             "loader = sys.modules['pydantic.plugin._loader']\n"
             "print(hasattr(loader, 'PYDANTIC_ENTRY_POINT_GROUP'))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "True"


def test_the_replaced_loader_answers_other_names_from_the_real_one() -> None:
    probe = ("import sys\nfrom agor_schema import cli\ncli._no_pydantic_plugins()\n"
             "loader = sys.modules['pydantic.plugin._loader']\n"
             "assert list(loader.get_plugins()) == []\n"
             "print(loader.PYDANTIC_ENTRY_POINT_GROUP)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "pydantic"
