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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# --- comment lines: no YAML parsing at all (agor_schema.comment_lines) --------------------

BLOCK_SCHEMA = """\
tables:
  users:
    comment: |
      People who sign in.
      # this line is part of the comment

    columns:
      id: {type: integer, primary_key: true}
      email: {type: text, not_null: true}
"""


def check_in_process(root: Path) -> tuple[int, bool, bool]:
    """Exit code of `check` and whether it imported PyYAML / pydantic (a fresh process)."""
    code = ("import sys; from agor_schema.cli import main\n"
            "try:\n    main(['check', '--project', sys.argv[1]])\n"
            "except SystemExit as e:\n    code = e.code\n"
            "print(code, 'yaml' in sys.modules, 'pydantic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True,
                         text=True, check=True).stdout.split()[-3:]
    return int(out[0]), out[1] == "True", out[2] == "True"


@pytest.fixture
def block_root(root: Path) -> Path:
    (root / "schema" / "app.yaml").write_text(BLOCK_SCHEMA, encoding="utf-8")
    assert run(root, "compile").exit_code == 0
    return root


def test_each_new_comment_line_is_judged_without_parsing(block_root: Path):
    path = block_root / "schema" / "app.yaml"
    for n in range(3):  # every check meets a comment it has not seen
        path.write_text(f"# edit {n}\n" + BLOCK_SCHEMA.replace("      email:", f"\n    # n{n}\n"
                                                              "      email:"), encoding="utf-8")
        assert check_in_process(block_root) == (0, False, False)
        assert check_json(block_root, 0)["recompiled"] is False


@pytest.mark.parametrize(("edit", "changed"), [
    (lambda s: s.replace("      # this line", "      # another line\n      # this line"), True),
    (lambda s: s.replace("People who sign in.\n", "People who sign in.\n\n"), True),
    (lambda s: s.replace("      # this line is part of the comment\n", ""), True),
    (lambda s: s.replace("# this line", "#  this line"), True),
    (lambda s: s.replace("\n\n    columns:", "\n    columns:"), False),  # `|` clips that line
])
def test_a_comment_looking_line_in_a_block_scalar_is_a_change(block_root: Path, edit, changed):
    path = block_root / "schema" / "app.yaml"
    path.write_text(edit(BLOCK_SCHEMA), encoding="utf-8")
    expected = _uncached_answer(block_root)
    assert expected["code"] == (1 if changed else 0)
    result = check_json(block_root, expected["code"])
    assert result["problems"] == expected["problems"]
    assert result["recompiled"] is changed


def _uncached_answer(root: Path) -> dict:
    """What check says with no cache at all (the reference)."""
    code = ("import os, sys; os.environ['AGORSCHEMA_CACHE'] = '0'\n"
            "from agor_schema.cli import main\n"
            "main(['check', '--format', 'json', '--project', sys.argv[1]])\n")
    proc = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True)
    doc = parse_envelope(proc.stdout, "check")
    return {"code": doc["exit_code"], "problems": doc["result"].get("problems")}


POISON = {  # what a cache file may hold that agorschema did not compute for these bytes
    "compiledtext": {"wrong type": "text", "empty": b"", "another file": b"tables: {}\n"},
    "scalarlines": {"wrong type": [(0, 1)], "bad shape": ((0,),), "negative": ((-1, 2),)},
}


def _poison(root: Path, kind: str, how: str) -> None:
    import pickle

    (target,) = (root / ".agorschema-cache").glob(f"{kind}-*.pickle")
    if how == "garbage":
        target.write_bytes(b"\x80\x05not a pickle")
        return
    if how == "truncated":
        target.write_bytes(target.read_bytes()[:-7])
        return
    # sealed with this user's key (agor_schema.sealed): wrong values the cache itself wrote
    from agor_schema import sealed

    purpose = f"cache {kind} {target.stem.split('-', 1)[1]}"
    table = pickle.loads(sealed.unseal(purpose, target.read_bytes()))
    for key in [k for k in table if k != "__fingerprint__"]:
        table[key] = POISON[kind][how]
    target.write_bytes(sealed.seal(purpose, pickle.dumps(table)))


@pytest.mark.parametrize(("kind", "how"), [
    (kind, how) for kind in POISON for how in ["garbage", "truncated", *POISON[kind]]])
@pytest.mark.parametrize("edit", [
    lambda s: "# a comment\n" + s,  # no change
    lambda s: s.replace("      # this line", "      # another line\n      # this line"),
])
def test_a_poisoned_cache_gives_the_uncached_answer(block_root: Path, kind: str, how: str,
                                                     edit):
    _poison(block_root, kind, how)
    path = block_root / "schema" / "app.yaml"
    path.write_text(edit(BLOCK_SCHEMA), encoding="utf-8")
    expected = _uncached_answer(block_root)
    result = check_json(block_root, expected["code"])
    assert result["problems"] == expected["problems"]


def test_a_stale_text_from_an_earlier_compile_gives_the_uncached_answer(block_root: Path):
    path = block_root / "schema" / "app.yaml"
    changed = BLOCK_SCHEMA + "      name: text\n"
    path.write_text(changed, encoding="utf-8")
    assert check_json(block_root, 1)["recompiled"] is True  # caches the changed file's data
    path.write_text("# back, with a comment\n" + BLOCK_SCHEMA, encoding="utf-8")
    assert check_json(block_root, 0)["recompiled"] is False
    path.write_text("# a comment\n" + changed, encoding="utf-8")
    result = check_json(block_root, 1)
    assert result["recompiled"] is True and any("add_column" in p for p in result["problems"])


# --- any sequence of small edits: the cached answer is the uncached one ---------------------

EDIT_SCHEMA = """\
tables:
  users:
    comment: |
      People who sign in.
      # part of the comment
    columns:
      id: {type: integer, primary_key: true}
      email: {type: text, not_null: true}
      # a comment line
      name: text
"""

SMALL_EDITS = {  # edit, and what it does: same data / same meaning, other data / a change
    "comment on top": (lambda s, n: f"# top {n}\n" + s, "same"),
    "comment line": (lambda s, n: s.replace("      name:", f"      # c{n}\n      name:"), "same"),
    "blank line": (lambda s, n: s.replace("    columns:", "\n    columns:", 1), "same"),
    "drop comment": (lambda s, n: s.replace("      # a comment line\n", ""), "same"),
    "trailing comment": (lambda s, n: s.replace("name: text", f"name: text  # {n}"), "same"),
    "quoting": (lambda s, n: s.replace("name: text", 'name: "text"'), "same"),
    "key order": (lambda s, n: s.replace("{type: text, not_null: true}",
                                          "{not_null: true, type: text}"), "other data"),
    "value": (lambda s, n: s.replace("not_null: true", "not_null: false"), "change"),
    "type": (lambda s, n: s.replace("id: {type: integer", "id: {type: bigint"), "change"),
    "line in block": (lambda s, n: s.replace("      # part", f"      # {n}\n      # part"),
                      "change"),
    "blank in block": (lambda s, n: s.replace("sign in.\n", "sign in.\n\n"), "change"),
}


@pytest.fixture(scope="module")
def edit_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("edits")
    (root / "schema").mkdir()
    (root / "pyproject.toml").write_text("[tool.agorschema]\n", encoding="utf-8")
    (root / "schema" / "app.yaml").write_text(EDIT_SCHEMA, encoding="utf-8")
    assert run(root, "compile").exit_code == 0
    return root


def _check_answer(root: Path, cache: bool) -> tuple[int, list, bool]:
    import os

    before = os.environ.pop("AGORSCHEMA_CACHE", None)
    if not cache:
        os.environ["AGORSCHEMA_CACHE"] = "0"
    try:
        result = run(root, "check", "--format", "json")
    finally:
        os.environ.pop("AGORSCHEMA_CACHE", None)
        if before is not None:
            os.environ["AGORSCHEMA_CACHE"] = before
    doc = parse_envelope(result.stdout, "check")
    return doc["exit_code"], doc["result"]["problems"], doc["result"]["recompiled"]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(names=st.lists(st.sampled_from(sorted(SMALL_EDITS)), min_size=1, max_size=3, unique=True),
       n=st.integers(0, 10**6))
def test_after_any_small_edits_the_cached_answer_is_the_uncached_one(edit_root: Path, names, n):
    text = EDIT_SCHEMA
    for i, name in enumerate(names):  # one check after each edit: the cache carries over
        edited = SMALL_EDITS[name][0](text, n + i)
        assert edited != text or SMALL_EDITS[name][1] != "change"  # every change applies
        text = edited
        (edit_root / "schema" / "app.yaml").write_text(text, encoding="utf-8")
        code, problems, recompiled = _check_answer(edit_root, cache=True)
        assert (code, problems) == _check_answer(edit_root, cache=False)[:2], names[: i + 1]
        kinds = {SMALL_EDITS[m][1] for m in names[: i + 1]}
        assert code == (1 if "change" in kinds else 0), names[: i + 1]
        assert recompiled is (kinds != {"same"}), names[: i + 1]  # only same data skips it
    (edit_root / "schema" / "app.yaml").write_text(EDIT_SCHEMA, encoding="utf-8")


@pytest.mark.parametrize("comment_edit", [False, True], ids=["same bytes", "comment edit"])
def test_a_setting_compile_refuses_is_not_answered_from_the_last_compile(root: Path,
                                                                        comment_edit: bool):
    """`migrations_table` naming a schema table makes compile refuse the schema: `check`
    must say so after the setting changed, with or without an edit that keeps the meaning
    (the source and meaning hashes carry the settings that shape compile's answer)."""
    pyproject = root / "pyproject.toml"
    pyproject.write_text('[tool.agorschema]\nmigrations_table = "users"\n', encoding="utf-8")
    if comment_edit:
        path = root / "schema" / "app.yaml"
        path.write_text("# a comment\n" + SCHEMA, encoding="utf-8")
    result = run(root, "check")
    assert result.exit_code == 2, result.output
    assert "reserved for agorschema's and drizzle's bookkeeping table" in result.output
    pyproject.write_text("[tool.agorschema]\n", encoding="utf-8")
    assert run(root, "check").exit_code == 0


def test_moving_a_dialect_folder_with_a_comment_edit_is_not_meaningless(root: Path):
    """`migration_folders` decides where compile writes: a comment edit together with a new
    folder is a change `check` must not answer from the recorded meaning."""
    (root / "pyproject.toml").write_text(
        '[tool.agorschema]\nmigration_folders = {sqlite = "db/sqlite"}\n', encoding="utf-8")
    (root / "schema" / "app.yaml").write_text("# a comment\n" + SCHEMA, encoding="utf-8")
    assert check_json(root, 1)["ok"] is False
