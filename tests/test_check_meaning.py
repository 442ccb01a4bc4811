"""`check` after an edit that changes no meaning (a comment, quoting, layout) answers from
the meaning compile recorded (no recompile); a real change, an unknown cache or a broken
file still recompiles, so the answer never depends on the cache."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from envelope_helpers import parse_envelope

from agor_schema.cli import main

SCHEMA = """\
tables:
  users:
    columns:
      id: {type: integer, primary_key: true}
      email: {type: text, not_null: true}
"""


def run(root: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--project", str(root)], catch_exceptions=False)


def check_json(root: Path, code: int) -> dict:
    result = run(root, "check", "--format", "json")
    return parse_envelope(result.stdout, "check", code)["result"]


@pytest.fixture
def root(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.delenv("AGORSCHEMA_CACHE", raising=False)
    monkeypatch.delenv("AGORSCHEMA_CACHE_DIR", raising=False)
    (tmp_path / "schema").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.agorschema]\n", encoding="utf-8")
    (tmp_path / "schema" / "app.yaml").write_text(SCHEMA, encoding="utf-8")
    assert run(tmp_path, "compile").exit_code == 0
    return tmp_path


EDITS = {
    "comment": lambda s: "# the users of the app\n" + s.replace("true}", "true}  # key", 1),
    "quoting": lambda s: s.replace("type: text", 'type: "text"'),
    "block style": lambda s: s.replace("email: {type: text, not_null: true}",
                                       "email:\n        type: text\n        not_null: true"),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edit_without_meaning_is_a_note_without_recompiling(root: Path, edit: str):
    path = root / "schema" / "app.yaml"
    path.write_text(EDITS[edit](SCHEMA), encoding="utf-8")
    result = check_json(root, 0)
    assert result["recompiled"] is False
    assert result["notes"] == ["schema sources changed without changing the schema; "
                               "`agorschema compile` refreshes the checksum"]
    assert run(root, "check").exit_code == 0  # again, from the digest check saved


def test_the_fast_path_loads_neither_pydantic_nor_sqlglot(root: Path):
    path = root / "schema" / "app.yaml"
    path.write_text("# comment\n" + SCHEMA, encoding="utf-8")
    code = ("import sys; from agor_schema.cli import main\n"
            "try:\n    main(['check', '--project', sys.argv[1]])\n"
            "except SystemExit as e:\n    code = e.code\n"
            "print(code, 'pydantic' in sys.modules, 'sqlglot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True,
                         text=True, check=True).stdout.split()[-3:]
    assert out == ["0", "False", "False"]


def test_a_real_change_is_still_found(root: Path):
    path = root / "schema" / "app.yaml"
    path.write_text("# comment\n" + SCHEMA + "      name: text\n", encoding="utf-8")
    result = check_json(root, 1)
    assert result["recompiled"] is True
    assert any("add_column" in p for p in result["problems"])


def test_without_the_cache_it_recompiles(root: Path):
    shutil.rmtree(root / ".agorschema-cache")
    path = root / "schema" / "app.yaml"
    path.write_text("# comment\n" + SCHEMA, encoding="utf-8")
    result = check_json(root, 0)
    assert result["recompiled"] is True  # same answer, the slow way


def test_a_broken_file_is_reported_not_hidden(root: Path):
    path = root / "schema" / "app.yaml"
    path.write_text(SCHEMA + "  posts: [unclosed\n", encoding="utf-8")
    result = run(root, "check")
    assert result.exit_code == 2
    assert "app.yaml:" in result.stderr
