"""Rename hints: a drop and an add of the same shape get a `renamed_from` suggestion that
points at the new element's file:line:col, and the suggested YAML compiles to a rename."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from envelope_helpers import parse_envelope

from agor_schema.cli import main

BEFORE = """\
tables:
  users:
    columns:
      id: {type: integer, primary_key: true}
      email: text
      name: {type: varchar(40), not_null: true}
      age: integer
    indexes:
      users_email_idx: [email]
  posts:
    columns:
      id: {type: integer, primary_key: true}
      title: {type: text, not_null: true}
"""

# email -> email_address (bare type), name -> full_name (mapping), posts -> articles;
# age is dropped and score added with another type: no hint for those two.
AFTER = """\
tables:
  users:
    columns:
      id: {type: integer, primary_key: true}
      email_address: text
      full_name: {type: varchar(40), not_null: true}
      score: real
    indexes:
      users_email_idx: [email_address]
  articles:
    columns:
      id: {type: integer, primary_key: true}
      title: {type: text, not_null: true}
"""


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def make_project(root: Path, schema: str) -> Path:
    (root / "schema").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.agorschema]\n", encoding="utf-8")
    (root / "schema" / "app.yaml").write_text(schema, encoding="utf-8")
    assert run("compile", "--project", str(root)).exit_code == 0
    return root / "schema" / "app.yaml"


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def snapshot_tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".agorschema-cache" not in p.parts}


def test_refused_drop_and_add_name_the_line_and_the_yaml(tmp_path: Path):
    schema = make_project(tmp_path, BEFORE)
    schema.write_text(AFTER, encoding="utf-8")
    before = snapshot_tree(tmp_path)

    result = run("compile", "--project", str(tmp_path))
    assert result.exit_code == 1
    hints = [line for line in result.stderr.splitlines() if line.startswith("hint: ")]
    assert len(hints) == 3, result.stderr
    by_name = {re.search(r"'([\w.]+)' at ", h).group(1): h for h in hints}
    email = by_name["users.email_address"]
    assert f"schema/app.yaml:{line_of(AFTER, 'email_address:')}:7" in email
    assert "'users.email'" in email
    assert "`email_address: {type: text, renamed_from: email}`" in email
    full_name = by_name["users.full_name"]
    assert f"schema/app.yaml:{line_of(AFTER, 'full_name:')}:7" in full_name
    assert "`full_name: {type: varchar(40), not_null: true, renamed_from: name}`" in full_name
    table = by_name["articles"]
    assert f"schema/app.yaml:{line_of(AFTER, 'articles:')}:3" in table
    assert "add `renamed_from: posts`" in table
    assert "score" not in result.stderr.replace("refused", "")  # a different type: no hint
    assert snapshot_tree(tmp_path) == before  # refused: nothing written

    data = parse_envelope(run("compile", "--project", str(tmp_path), "--format", "json").stdout,
                          "compile", 1)["result"]
    located = {(h["table"], h.get("column")): h for h in data["hints"]}
    hint = located[("users", "email_address")]
    assert (hint["file"], hint["line"], hint["col"]) == (
        "schema/app.yaml", line_of(AFTER, "email_address:"), 7)
    assert hint["rename"] == {"kind": "column", "from": "email", "to": "email_address"}


def test_the_suggested_yaml_compiles_to_renames_that_keep_rows(tmp_path: Path):
    schema = make_project(tmp_path, BEFORE)
    db = tmp_path / "app.db"
    assert run("migrate", "--project", str(tmp_path), "--database", f"sqlite:///{db}"
               ).exit_code == 0
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO users (id, email, name, age) VALUES (1, 'a@x', 'Ann', 3)")
        conn.execute("INSERT INTO posts (id, title) VALUES (7, 'hello')")
    schema.write_text(AFTER, encoding="utf-8")
    refused = run("compile", "--project", str(tmp_path), "--format", "json")
    assert refused.exit_code == 1
    text = AFTER
    for hint in parse_envelope(refused.stdout, "compile", 1)["result"]["hints"]:
        lines = text.splitlines()
        index = hint["line"] - 1
        if hint["yaml"].startswith("renamed_from:"):  # a key added to the block mapping
            indent = " " * (hint["col"] + 1)
            lines.insert(index + 1, indent + hint["yaml"])
        else:  # the whole element on its line, in flow style
            lines[index] = " " * (hint["col"] - 1) + hint["yaml"]
        text = "\n".join(lines) + "\n"
    schema.write_text(text, encoding="utf-8")
    compiled = run("compile", "--project", str(tmp_path))
    assert compiled.exit_code == 1, compiled.output  # only `age` is still dropped
    assert "hint:" not in compiled.stderr
    assert "'age'" in compiled.stderr
    assert run("compile", "--project", str(tmp_path), "--allow-destructive").exit_code == 0
    sql = next((tmp_path / "drizzle" / "sqlite").glob("0001_*.sql")).read_text()
    assert re.search(r'RENAME COLUMN .email. TO .email_address.', sql)
    assert re.search(r'RENAME TO .articles.', sql)
    assert run("migrate", "--project", str(tmp_path), "--database", f"sqlite:///{db}"
               ).exit_code == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT id, email_address, full_name FROM users").fetchall() == [
            (1, "a@x", "Ann")]
        assert conn.execute("SELECT id, title FROM articles").fetchall() == [(7, "hello")]


def test_a_renamed_index_is_written_with_a_hint_to_undo(tmp_path: Path):
    schema = make_project(tmp_path, BEFORE)
    schema.write_text(BEFORE.replace("users_email_idx", "users_mail_idx"), encoding="utf-8")
    result = run("compile", "--project", str(tmp_path))
    assert result.exit_code == 0  # dropping an index loses no data: not refused
    hint = next(line for line in result.stdout.splitlines() if line.startswith("hint: "))
    assert f"schema/app.yaml:{line_of(BEFORE, 'users_email_idx')}:7" in hint
    assert "`users_mail_idx: {columns: [email], renamed_from: users_email_idx}`" in hint
    assert "agorschema undo" in hint


@pytest.mark.parametrize("after", [
    BEFORE.replace("email: text", "email_address: integer").replace("[email]", "[age]"),
    BEFORE.replace("      email: text\n", "").replace("[email]", "[age]"),  # a plain drop
], ids=["another-type", "plain-drop"])
def test_no_hint_without_a_same_shaped_pair(tmp_path: Path, after: str):
    schema = make_project(tmp_path, BEFORE)
    schema.write_text(after, encoding="utf-8")
    result = run("compile", "--project", str(tmp_path))
    assert result.exit_code == 1
    assert "drops column 'email'" in result.stderr
    assert "hint:" not in result.stderr
