"""Parse `--format json` output: exactly one envelope object, with the shared shape."""

from __future__ import annotations

import json
from typing import Any

KEYS = {"ok", "command", "exit_code", "errors", "warnings", "result"}
WHERE = {"message", "file", "line", "col", "table", "column", "field", "migration", "statement",
         "kind", "dialect", "name"}


def parse_envelope(stdout: str, command: str | None = None,
                   exit_code: int | None = None) -> dict[str, Any]:
    """The one JSON object on stdout; asserts its keys, types and consistency."""
    doc = json.loads(stdout)  # fails on a second object or trailing text
    assert isinstance(doc, dict) and set(doc) == KEYS, doc
    assert isinstance(doc["ok"], bool) and isinstance(doc["exit_code"], int)
    assert doc["ok"] is (doc["exit_code"] == 0), doc
    assert isinstance(doc["result"], dict)
    for entry in doc["errors"] + doc["warnings"]:
        assert isinstance(entry, dict) and isinstance(entry.get("message"), str), entry
        assert set(entry) <= WHERE, entry
    if command is not None:
        assert doc["command"] == command, doc
    if exit_code is not None:
        assert doc["exit_code"] == exit_code, doc
    if doc["exit_code"] != 0 and doc["exit_code"] != 1:
        assert doc["errors"], doc
    return doc
