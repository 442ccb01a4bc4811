"""Per-table memoization (TypeScript declarations) never changes what
compile writes: after any sequence of edits, a compile that keeps its cache writes the same
bytes (and refuses the same way) as one with the cache switched off.

The edits are chosen to move what a table's cached result depends on: its own data, the
tables its foreign keys name, the top-level settings (enums, types, enum_check), the
dialect-only parts and the names TypeScript derives from table names.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agor_schema.compiler import compile_project
from agor_schema.config import load_config
from agor_schema.errors import SchemaErrors

REPO = Path(__file__).resolve().parents[1]
Schema = dict[str, dict]  # file name -> its data
Edit = Callable[[Schema, int], None]


def _tables(schema: Schema) -> list[tuple[str, str]]:
    return [(f, t) for f in sorted(schema) for t in schema[f].get("tables", {})]


def _table(schema: Schema, i: int) -> dict:
    file, name = _tables(schema)[i % len(_tables(schema))]
    return schema[file]["tables"][name]


def add_text_column(schema: Schema, i: int) -> None:
    _table(schema, i)["columns"][f"added_{i}"] = {"type": "text", "default": f"v{i}"}


def add_reference_to_users(schema: Schema, i: int) -> None:
    _table(schema, i)["columns"][f"ref_user_{i}"] = {"type": "varchar(36)",
                                                      "references": "users.user_id"}


def add_column_to_users(schema: Schema, i: int) -> None:
    """users is the target of many foreign keys: its referrers' keys must see the change."""
    schema["01_core.yaml"]["tables"]["users"]["columns"][f"extra_{i}"] = "integer"


def add_enum_value(schema: Schema, i: int) -> None:
    values = schema["05_labels.yaml"]["enums"]["label_scope"]
    values.append(f"scope_{i}")


def toggle_enum_check(schema: Schema, i: int) -> None:
    core = schema["01_core.yaml"]
    core["enum_check"] = not core.get("enum_check", False)


def add_custom_typed_column(schema: Schema, i: int) -> None:
    _table(schema, i)["columns"][f"ci_{i}"] = {"type": "ci_text"}


def add_enum_column(schema: Schema, i: int) -> None:
    _table(schema, i)["columns"][f"color_{i}"] = {"type": "enum(label_color)",
                                                   "default": "gray"}


def add_check(schema: Schema, i: int) -> None:
    table = _table(schema, i)
    first = next(iter(table["columns"]))
    table.setdefault("checks", {})[f"check_{i}"] = f'"{first}" IS NOT NULL'


def change_comment(schema: Schema, i: int) -> None:
    _table(schema, i)["comment"] = f"comment {i} */ with `backticks` and 'quotes'"


def add_postgres_only_index(schema: Schema, i: int) -> None:
    table = _table(schema, i)
    first = next(iter(table["columns"]))
    table.setdefault("indexes", {})[f"pg_only_{i}_idx"] = {"columns": [first],
                                                           "only": "postgres"}


def add_table_named_like_a_const(schema: Schema, i: int) -> None:
    """A new table whose TypeScript const collides with an existing table's derived const."""
    schema["01_core.yaml"]["tables"][f"Users_{i}"] = {
        "columns": {"id": {"type": "integer", "primary_key": True}}}


EDITS: list[Edit] = [add_text_column, add_reference_to_users, add_column_to_users,
                     add_enum_value, toggle_enum_check, add_custom_typed_column,
                     add_enum_column, add_check, change_comment, add_postgres_only_index,
                     add_table_named_like_a_const]


def _read_schema(root: Path) -> Schema:
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted((root / "schema").glob("*.yaml"))}


def _write_schema(root: Path, schema: Schema) -> None:
    for name, data in schema.items():
        (root / "schema" / name).write_text(yaml.safe_dump(data, sort_keys=False))


def _compile(root: Path, cached: bool) -> object:
    """Compile; the written files, or the refusal's messages."""
    previous = os.environ.get("AGORSCHEMA_CACHE")
    os.environ["AGORSCHEMA_CACHE"] = "1" if cached else "0"
    try:
        compile_project(load_config(root), allow_destructive=True)
    except SchemaErrors as exc:
        return ("refused", [str(e) for e in exc.errors])
    finally:
        if previous is None:
            os.environ.pop("AGORSCHEMA_CACHE", None)
        else:
            os.environ["AGORSCHEMA_CACHE"] = previous
    return {str(p.relative_to(root)): p.read_bytes()
            for folder in ("generated", "drizzle") for p in sorted((root / folder).rglob("*"))
            if p.is_file()}


def _project(root: Path) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "schema", root / "schema")
    return root


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(EDITS), st.integers(0, 40)), min_size=1, max_size=3))
def test_a_cached_compile_writes_what_an_uncached_one_writes(tmp_path, monkeypatch, edits):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.delenv("AGORSCHEMA_CACHE_DIR", raising=False)
    cached, uncached = _project(tmp_path / "cached"), _project(tmp_path / "uncached")
    assert _compile(cached, True) == _compile(uncached, False)
    schema = _read_schema(cached)
    for edit, i in edits:
        edit(schema, i)
        _write_schema(cached, schema)
        _write_schema(uncached, schema)
        warm = _compile(cached, True)
        assert warm == _compile(uncached, False), (edit.__name__, i)
    assert any((cached / ".agorschema-cache").glob("tstable*-*.pickle"))


def test_a_changed_table_is_rendered_and_the_others_come_from_the_cache(tmp_path, monkeypatch):
    """The memo is used: after one table no other references changes, a compile renders
    exactly that table's TypeScript."""
    from agor_schema import typescript

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    root = _project(tmp_path / "p")
    _compile(root, True)
    schema = _read_schema(root)
    leaf = [name for _file, name in _tables(schema)].index("audit_log")
    add_text_column(schema, leaf)
    _write_schema(root, schema)
    rendered: list[str] = []
    real = typescript._table_part

    def counting(spec, table, dialect):
        rendered.append(table.name)
        return real(spec, table, dialect)

    monkeypatch.setattr(typescript, "_table_part", counting)
    _compile(root, True)
    assert rendered and set(rendered) == {"audit_log"}


def test_a_referrer_follows_a_change_of_its_targets_typescript_const(tmp_path, monkeypatch):
    """A table's TypeScript declaration names the consts of the tables it references. A table
    named `table` gets the const `tableTable` (`table` is reserved); when a table named
    `tableTable` is added before it, the target becomes `tableTable2` and the referrer's
    cached declaration must not be reused (no top-level setting changed)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    cached, uncached = _project(tmp_path / "cached"), _project(tmp_path / "uncached")
    schema = _read_schema(cached)
    target = {"columns": {"id": {"type": "integer", "primary_key": True}}}
    referrer = {"columns": {"id": {"type": "integer", "primary_key": True},
                            "target_id": {"type": "integer", "references": "table.id"}}}
    for step in ("before", "after"):
        if step == "after":
            schema["00_first.yaml"] = {"tables": {"tableTable": {
                "columns": {"id": {"type": "integer", "primary_key": True}}}}}
        schema["06_last.yaml"] = {"tables": {"table": target, "referrer": referrer}}
        _write_schema(cached, schema)
        _write_schema(uncached, schema)
        warm = _compile(cached, True)
        assert warm == _compile(uncached, False), step
    assert "tableTable2.id" in warm["generated/schema.postgres.ts"].decode()
