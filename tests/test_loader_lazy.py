"""Lazy marks: a valid schema is read as data only, and the marks that locate a problem are
built from the files' text only when one is reported, at the same file:line:col as ever."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agor_schema import cache
from agor_schema.compiler import compile_project
from agor_schema.config import load_config
from agor_schema.errors import Mark, SchemaError, SchemaErrors
from agor_schema.spec import loader
from agor_schema.spec.loader import load_sources
from agor_schema.spec.resolve import resolve
from agor_schema.spec.validate import validate_schema

REPO = Path(__file__).resolve().parents[1]

USERS = """\
tables:
  users:
    columns:
      id:    {type: integer, primary_key: true}
      email: {type: text, not_null: true, unique: true}
"""
POSTS = """\
tables:
  posts:
    columns:
      id:      {type: integer, primary_key: true}
      user_id: {type: integer, references: users.id}
      title:   {type: text}
"""


@pytest.fixture(autouse=True)
def _no_project_cache(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.delenv("AGORSCHEMA_CACHE", raising=False)
    monkeypatch.delenv("AGORSCHEMA_CACHE_DIR", raising=False)


def write_schema(root: Path, files: dict[str, str]) -> Path:
    folder = root / "schema"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def errors_of(folder: Path, root: Path) -> list[str]:
    with pytest.raises((SchemaError, SchemaErrors)) as info:
        validate_schema(load_sources(folder, root), ("sqlite", "postgres"))
    exc = info.value
    return [str(e) for e in getattr(exc, "errors", [exc])]


def test_a_valid_schema_never_builds_marks(tmp_path):
    folder = write_schema(tmp_path, {"a.yaml": USERS, "b.yaml": POSTS})
    before = loader.marked_parses
    doc = load_sources(folder, tmp_path)
    specs = validate_schema(doc, ("sqlite", "postgres"))
    assert set(specs["postgres"].tables) == {"users", "posts"}
    assert not doc.marks_built
    assert loader.marked_parses == before


def test_a_valid_compile_never_builds_marks_cold_or_warm(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "schema", root / "schema")
    before = loader.marked_parses
    for _ in range(2):  # cold (parses), then warm (data from .agorschema-cache)
        for name in ("generated", "drizzle"):
            shutil.rmtree(root / name, ignore_errors=True)
        compile_project(load_config(root))
    assert loader.marked_parses == before
    assert list((root / cache.CACHE_DIRNAME).glob("yaml-*.pickle"))


def test_marks_are_built_on_first_use_and_shared_with_resolved_documents(tmp_path):
    folder = write_schema(tmp_path, {"a.yaml": USERS, "b.yaml": POSTS})
    doc = load_sources(folder, tmp_path)
    resolved = resolve(doc, "postgres")
    assert not doc.marks_built and not resolved.marks_built
    before = loader.marked_parses
    assert resolved.mark(("tables", "posts", "columns", "title", "type")) == Mark(
        "schema/b.yaml", 6, 23)
    assert doc.marks_built and resolved.marks_built
    assert loader.marked_parses == before + 2  # each file read once with marks, then no more
    assert doc.mark(("tables", "users"), key=True) == Mark("schema/a.yaml", 2, 3)
    assert doc.mark(("tables", "users", "columns", "email", "nope")) == Mark(
        "schema/a.yaml", 5, 14)
    assert ("tables", "posts") in resolved.key_marks
    assert loader.marked_parses == before + 2


def test_error_in_a_later_file_of_a_merged_schema(tmp_path):
    posts = POSTS.replace("title:   {type: text}", "title:   {type: txet}")
    folder = write_schema(tmp_path, {"a.yaml": USERS, "b.yaml": posts})
    (message,) = errors_of(folder, tmp_path)
    assert message.startswith("schema/b.yaml:6:23: table 'posts', column 'title', field 'type'")


def test_error_in_the_first_file_of_a_merged_schema(tmp_path):
    users = USERS.replace("unique: true", "uniqe: true")
    folder = write_schema(tmp_path, {"a.yaml": users, "b.yaml": POSTS})
    (message,) = errors_of(folder, tmp_path)
    assert message.startswith("schema/a.yaml:5:43: table 'users', column 'email'"), message


def test_table_defined_twice_points_at_both_files(tmp_path):
    folder = write_schema(tmp_path, {"a.yaml": USERS, "b.yaml": POSTS, "c.yaml": USERS})
    (message,) = errors_of(folder, tmp_path)
    assert message.startswith("schema/c.yaml:2:3: table 'users': table 'users' is defined "
                              "twice (first at schema/a.yaml:2:3)"), message


def test_setting_set_differently_names_the_earlier_file(tmp_path):
    folder = write_schema(tmp_path, {"a.yaml": "x: 1\n" + USERS, "b.yaml": POSTS,
                                     "c.yaml": "x: 2\n" + POSTS.replace("posts", "notes")})
    with pytest.raises(SchemaErrors) as info:
        load_sources(folder, tmp_path)
    (error,) = info.value.errors
    assert str(error) == ("schema/c.yaml:1:1: 'x' is set differently in two files "
                          "(also at schema/a.yaml:1:1)")


def test_error_inside_an_override_block_points_at_the_override(tmp_path):
    users = USERS + "      nick:  {type: text,\n              postgres: {type: varchar(x)}}\n"
    folder = write_schema(tmp_path, {"a.yaml": POSTS, "b.yaml": users})
    before = loader.marked_parses
    messages = errors_of(folder, tmp_path)
    assert loader.marked_parses == before + 2
    assert len(messages) == 1, messages
    assert messages[0].startswith("schema/b.yaml:7:32: table 'users', column 'nick'"), messages


def test_error_after_data_came_from_the_cache(tmp_path):
    posts = POSTS.replace("title:   {type: text}", "title:   {type: txet}")
    folder = write_schema(tmp_path, {"a.yaml": USERS, "b.yaml": posts})
    store = cache.Store(tmp_path / "cache")
    previous = cache.activate(store)
    try:
        errors_of(folder, tmp_path)
    finally:
        cache.activate(previous)
    store.save()
    previous = cache.activate(cache.Store(tmp_path / "cache"))
    try:
        before = loader.marked_parses
        (message,) = errors_of(folder, tmp_path)
    finally:
        cache.activate(previous)
    assert message.startswith("schema/b.yaml:6:23: table 'posts', column 'title', field 'type'")
    assert loader.marked_parses == before + 2


@pytest.mark.parametrize("text", [
    "a: 1\na: 2\n",
    "tables: {t: {columns: {c: {type: numeric(12,2)}}}}\n",
    "- a\n",
    "",
    "a: [\n",
    "? [a]\n: 1\n",
    # "2024-01-01: x" is no longer a problem: a key is the text written (issue 8, item 16)
    "1: a\n'1': b\n",
])
def test_problem_files_are_judged_by_the_marked_walk(text, tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    before = loader.marked_parses
    with pytest.raises(SchemaError) as lean:
        loader.load_file(path, "x.yaml")
    assert loader.marked_parses == before + 1
    with pytest.raises(SchemaError) as marked:
        loader._parse_file(text.encode(), "x.yaml")
    assert str(lean.value) == str(marked.value)
    assert lean.value.mark is not None and lean.value.mark.file == "x.yaml"


UNUSUAL = """\
base: &b {type: text, nullable: true}
tables:
  t:
    columns:
      a: {<<: *b, default: 1}
      b: *b
      1: x
      1.5: y
      yes: z
      ts: 2024-01-01
      bin: !!binary aGVsbG8=
      s: !!set {a, b}
      o: !!omap [a: 1, b: 2]
      q: !foo {a: 1}
      n: ~
      f: .inf
      i: 0x1F
      l: [1, [2, {x: y}], *b]
      m:
        - <<: [*b, {k: v}]
          k2: 2
"""


@pytest.mark.parametrize("text", [UNUSUAL, USERS, POSTS, "tables:\r\n  t: {}\r\n"])
def test_lean_data_equals_the_marked_walk(text):
    import yaml

    raw = text.encode()
    lean = loader._lean_data(raw, yaml)  # no fallback: the lean walk handles these itself
    marked = loader._parse_file(raw, "x.yaml").data
    assert lean == marked and repr(lean) == repr(marked)
    assert loader._load_data(raw, "x.yaml").data == marked
