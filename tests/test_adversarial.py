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

BAD_SETTINGS = [
    # (id, pyproject line, setting named in the error, words of the message)
    ("generated-parent", 'generated = "../outside"', "generated", "outside the project"),
    ("migrations-parent", 'migrations = "../outside"', "migrations", "outside the project"),
    ("schema-parent", 'schema = "../outside"', "schema", "outside the project"),
    ("generated-absolute", 'generated = "{outside}"', "generated", "outside the project"),
    ("migrations-absolute", 'migrations = "{outside}"', "migrations", "outside the project"),
    ("generated-symlink", 'generated = "link"', "generated", "outside the project"),
    ("migrations-symlink", 'migrations = "link"', "migrations", "outside the project"),
    ("schema-number", "schema = 5", "schema", "must be a path inside the project"),
    ("generated-empty", 'generated = ""', "generated", "must be a path inside the project"),
    ("migrations-list", 'migrations = ["a"]', "migrations", "must be a path inside the project"),
    ("generated-is-a-file", 'generated = "pyproject.toml"', "generated", "is a file"),
    ("migrations-is-a-file", 'migrations = "pyproject.toml"', "migrations", "is a file"),
    ("dialects-empty", "dialects = []", "dialects", "dialects is empty"),
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
        assert "not valid UTF-8" in doc["errors"][0]["message"], doc
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
