"""Adversarial review of `check`'s fast paths: it must never say "ok" while a schema file
holds a change that no migration adds. Here the file is saved (a real write, at a real
moment: an audit hook fires when compile opens its first output) while compile runs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hostile_helpers import BASE, make_project
from test_adversarial import run_json

_ARMED: list[tuple[str, Path, str]] = []  # (file compile opens, schema file, text to save)


def _save_while_compiling(event: str, args: tuple) -> None:
    """When compile opens the watched output for writing, save the schema file (once)."""
    if event != "open" or not _ARMED or not isinstance(args[0], (str, os.PathLike)):
        return
    watched, schema, text = _ARMED[0]
    mode = args[1] if isinstance(args[1], str) else ""
    if os.fspath(args[0]).endswith(watched) and ("w" in mode or "a" in mode):
        _ARMED.clear()
        schema.write_text(text, encoding="utf-8")


sys.addaudithook(_save_while_compiling)  # inert unless armed (audit hooks cannot be removed)


@pytest.fixture(autouse=True)
def _disarm():
    yield
    _ARMED.clear()


@pytest.mark.parametrize("command", ["compile", "new"])
def test_a_schema_saved_while_compile_runs_is_never_taken_as_compiled(
        command: str, tmp_path: Path) -> None:
    """compile read the file with column `extra`; while it wrote its outputs the editor saved
    a version that also adds `more`. Before: the checksum file recorded the hash of the
    saved bytes, so `check` said ok and `more` never got a migration."""
    root = make_project(tmp_path / "project")
    assert run_json(root, "compile")[0] == 0
    schema = root / "schema" / "app.yaml"
    if command == "compile":
        schema.write_text(BASE + "      extra: {type: text}\n", encoding="utf-8")
    saved = schema.read_text(encoding="utf-8") + "      more: {type: integer}\n"
    _ARMED.append(("generated/sqlite.sql" if command == "compile" else "_journal.json",
                   schema, saved))
    args = ("compile",) if command == "compile" else ("new", "backfill")
    code, doc = run_json(root, *args)
    assert code == 0, doc
    assert not _ARMED, "the save did not happen while compile ran"
    assert schema.read_text(encoding="utf-8") == saved
    for sql in root.glob("drizzle/*/0001_backfill.sql"):  # new: its SQL is written
        sql.write_text("UPDATE users SET n = 1;\n", encoding="utf-8")
    code, doc = run_json(root, "check")
    assert code == 1, doc
    assert any("the schema changed since the last compile" in e["message"]
               for e in doc["errors"]), doc
    code, doc = run_json(root, "compile")
    assert code == 0, doc
    [added] = (root / "drizzle" / "sqlite").glob("0002_*.sql")
    assert "`more`" in added.read_text(encoding="utf-8")
    assert run_json(root, "check")[0] == 0
