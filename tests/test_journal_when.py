"""Journal `when` values drizzle-orm cannot compare exactly: `compile` refuses to build on
them (exit 2 at the value's file:line:col, field `when`, nothing written), and never writes
one past 2^53 itself. drizzle-orm's migrator reads `when` as a JavaScript number and skips
an entry whose `when` is not above the newest applied one: beyond 2^53 two neighbours can
read as equal, a negative one as before every other.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from hostile_helpers import cli, make_project, tree_digest

MAX = 2**53
PYPROJECT = '[tool.agorschema]\nschema = "schema"\ndialects = ["sqlite", "postgres"]\n'
V1 = "tables:\n  users:\n    columns:\n      id: {type: integer, primary_key: true}\n"
V2 = V1 + "      email: {type: text}\n"


def set_when(root: Path, dialect: str, when: int) -> Path:
    journal = root / "drizzle" / dialect / "meta" / "_journal.json"
    data = json.loads(journal.read_text())
    data["entries"][-1]["when"] = when
    journal.write_text(json.dumps(data, indent=2))
    return journal


def value_at(journal: Path, when: int) -> str:
    text = journal.read_text()
    offset = text.index(str(when))
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"{journal}:{line}:{col}"


@pytest.mark.parametrize("when", [MAX + 1, 2**63, -1])
def test_compile_refuses_to_build_on_a_when_drizzle_orm_cannot_compare(tmp_path: Path,
                                                                       when: int):
    root = make_project(tmp_path / "p", V1, PYPROJECT)
    assert cli("compile", root=root)[0] == 0
    journal = set_when(root, "postgres", when)
    (root / "schema" / "app.yaml").write_text(V2)
    before = tree_digest(root)
    code, out = cli("compile", "--format", "json", root=root)
    assert code == 2, out
    error = json.loads(out)["errors"][0]
    assert error["message"].startswith(f"{value_at(journal, when)}: entries[0].when is {when}")
    assert (error["file"], error["field"], error["migration"]) == (
        str(journal), "when", "0000_create_users")
    assert f"{error['file']}:{error['line']}:{error['col']}" == value_at(journal, when)
    assert tree_digest(root) == before


def test_no_when_past_2_53_is_written(tmp_path: Path):
    """A drizzle-kit folder whose newest `when` is 2^53 leaves no room for a later one."""
    root = make_project(tmp_path / "p", V1, PYPROJECT)
    assert cli("compile", root=root)[0] == 0
    (root / "drizzle" / "agorschema.sum").unlink()  # as a folder drizzle-kit wrote
    journal = set_when(root, "sqlite", MAX)
    (root / "schema" / "app.yaml").write_text(V2)
    before = tree_digest(root)
    code, out = cli("compile", root=root)
    assert code == 2, out
    assert re.search(rf"{re.escape(value_at(journal, MAX))}: the next migration's when would "
                     rf"be {MAX + 1}: the newest when \({MAX}\) leaves no room", out), out
    assert tree_digest(root) == before


def test_a_when_just_below_2_53_is_built_on_and_applies(tmp_path: Path, pg_url: str):
    root = make_project(tmp_path / "p", V1, PYPROJECT)
    assert cli("compile", root=root)[0] == 0
    (root / "drizzle" / "agorschema.sum").unlink()
    for dialect in ("sqlite", "postgres"):
        set_when(root, dialect, MAX - 10)
    (root / "schema" / "app.yaml").write_text(V2)
    code, out = cli("compile", root=root)
    assert code == 0, out
    for dialect in ("sqlite", "postgres"):
        entries = json.loads((root / "drizzle" / dialect / "meta" / "_journal.json")
                             .read_text())["entries"]
        assert [e["when"] for e in entries] == [MAX - 10, MAX - 9]
    db = tmp_path / "app.db"
    for url in (f"sqlite:///{db}", pg_url):
        code, out = cli("migrate", "--database", url, root=root)
        assert code == 0, out
    conn = sqlite3.connect(db)
    assert [r[1] for r in conn.execute("PRAGMA table_info(users)")] == ["id", "email"]
    conn.close()
