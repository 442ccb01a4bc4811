"""Per-table memoization (checks, TypeScript declarations) never changes what
compile writes: after any sequence of edits, a compile that keeps its cache writes the same
bytes (and refuses the same way, with the same messages) as one with the cache switched off.

The edits are chosen to move what a table's cached result depends on: its own data, the
tables its foreign keys name, the top-level settings (enums, types, enum_check), the
dialect-only parts, the names TypeScript derives from table names, and the names shared
across tables (indexes, constraints, renamed_from) whose clashes land on an unchanged table.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
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


def reuse_an_index_name(schema: Schema, i: int) -> None:
    """An index named like another table's index: refused at whichever comes later."""
    names = [(t, ix) for _f, t in _tables(schema)
             for ix in (_table_by_name(schema, t).get("indexes") or {})]
    owner, name = names[i % len(names)]
    table = _table(schema, i)
    first = next(iter(table["columns"]))
    table.setdefault("indexes", {})[name] = [first]


def rename_a_table_from(schema: Schema, i: int) -> None:
    """renamed_from naming another table that still exists (refused), or none."""
    tables = [t for _f, t in _tables(schema)]
    _table(schema, i)["renamed_from"] = tables[(i * 7) % len(tables)] if i % 2 else f"gone_{i}"


def _table_by_name(schema: Schema, name: str) -> dict:
    return next(schema[f]["tables"][t] for f, t in _tables(schema) if t == name)


EDITS: list[Edit] = [add_text_column, add_reference_to_users, add_column_to_users,
                     add_enum_value, toggle_enum_check, add_custom_typed_column,
                     add_enum_column, add_check, change_comment, add_postgres_only_index,
                     add_table_named_like_a_const, reuse_an_index_name, rename_a_table_from]


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
    for kind in ("tstable", "tablecheck"):
        assert any((cached / ".agorschema-cache").glob(f"{kind}*-*.pickle")), kind


def test_a_changed_table_is_rendered_and_the_others_come_from_the_cache(tmp_path, monkeypatch):
    """The memo is used: after one table no other references changes, a compile renders
    exactly that table's TypeScript."""
    from agor_schema import typescript

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("AGORSCHEMA_JOBS", "1")  # counted in this process (a forked child's
    # cache entries: test_compile_parallel.py)
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


# ------------------------------------------- edits whose problem lands on an unchanged table
# Each scenario is a list of steps; after each step a cached and an uncached compile must
# agree. The last step makes a table that was checked clean (and memoized) wrong without
# touching its own data, so a memo whose key or cross-table pass missed the cause would
# keep the old, clean verdict.


def _core(schema: Schema) -> dict:
    return schema["01_core.yaml"]["tables"]


def referenced_column_changes_type(schema: Schema) -> None:
    """repos.created_by (varchar(36)) references users.user_id: its type must still match."""
    _core(schema)["users"]["columns"]["user_id"]["type"] = "integer"


def referenced_table_becomes_sqlite_only(schema: Schema) -> None:
    _core(schema)["users"]["only"] = "sqlite"


def earlier_table_takes_an_index_name(schema: Schema) -> None:
    """worktrees_repo_idx belongs to worktrees, which comes after users: the clash is
    reported at worktrees."""
    _core(schema)["users"]["indexes"]["worktrees_repo_idx"] = ["created_at"]


def table_named_like_an_index(schema: Schema) -> None:
    schema["00_first.yaml"] = {"tables": {"worktrees_repo_idx": {
        "columns": {"id": {"type": "integer", "primary_key": True}}}}}


def rename_repos_from_old_repos(schema: Schema) -> None:
    _core(schema)["repos"]["renamed_from"] = "old_repos"


def table_old_repos_appears(schema: Schema) -> None:
    schema["00_first.yaml"] = {"tables": {"old_repos": {
        "columns": {"id": {"type": "integer", "primary_key": True}}}}}


def worktrees_gets_a_named_unique(schema: Schema) -> None:
    _core(schema)["worktrees"]["columns"]["path"]["unique"] = True
    _core(schema)["worktrees"]["columns"]["path"]["unique_name"] = "shared_name"


def earlier_table_takes_the_unique_name(schema: Schema) -> None:
    _core(schema)["users"]["indexes"]["shared_name"] = ["created_at"]


def enum_loses_the_default_value(schema: Schema) -> None:
    """labels.colors defaults to [gray]: a top-level edit only."""
    schema["05_labels.yaml"]["enums"]["label_color"]["values"].remove("gray")


def custom_type_loses_its_postgres_side(schema: Schema) -> None:
    """labels.name is a ci_text: without a postgres side it cannot exist there."""
    del schema["05_labels.yaml"]["types"]["ci_text"]["postgres"]


def enum_moves_to_a_schema(schema: Schema) -> None:
    """The built labels table records the enum type's schema (a top-level edit only)."""
    schema["05_labels.yaml"]["enums"]["label_color"]["schema"] = "palette"


def custom_type_changes_its_sql(schema: Schema) -> None:
    schema["05_labels.yaml"]["types"]["ci_text"]["sqlite"] = "blob"


def table_named_like_a_primary_key_index(schema: Schema) -> None:
    """PostgreSQL names users' inline primary key's index users_pkey: a new table of that
    name clashes there only (a cached table's names must be PostgreSQL's)."""
    schema["06_last.yaml"] = {"tables": {"users_pkey": {
        "columns": {"id": {"type": "integer", "primary_key": True}}}}}


def name_the_role_unique_like_its_enum_check(schema: Schema) -> None:
    """users.role's unique constraint gets the name enum_check would give its CHECK; with
    enum_check off, there is no CHECK and no clash."""
    schema["01_core.yaml"]["enum_check"] = False
    role = _core(schema)["users"]["columns"]["role"]
    role.update({"unique": True, "unique_name": "users_role_enum"})


def enum_check_on(schema: Schema) -> None:
    """A top-level edit only: users now has a CHECK and a unique of one name."""
    schema["01_core.yaml"]["enum_check"] = True


SCENARIOS = {
    "a referenced column's type": [referenced_column_changes_type],
    "a referenced table's only:": [referenced_table_becomes_sqlite_only],
    "an index name taken earlier": [earlier_table_takes_an_index_name],
    "a table named like an index": [table_named_like_an_index],
    "renamed_from naming a new table": [rename_repos_from_old_repos, table_old_repos_appears],
    "a unique_name taken earlier": [worktrees_gets_a_named_unique,
                                    earlier_table_takes_the_unique_name],
    "an enum value (top-level)": [enum_loses_the_default_value],
    "a custom type's side (top-level)": [custom_type_loses_its_postgres_side],
    "an enum's schema (top-level, built table)": [enum_moves_to_a_schema],
    "a custom type's SQL (top-level, built table)": [custom_type_changes_its_sql],
    "a table named like a primary key's index (names)": [table_named_like_a_primary_key_index],
    "a derived CHECK named like a unique (top-level, names)": [
        name_the_role_unique_like_its_enum_check, enum_check_on],
}


@pytest.mark.parametrize("steps", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_a_cached_table_follows_what_it_reads_elsewhere(tmp_path, monkeypatch, steps):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.delenv("AGORSCHEMA_CACHE_DIR", raising=False)
    cached, uncached = _project(tmp_path / "cached"), _project(tmp_path / "uncached")
    first = _compile(cached, True)
    assert first == _compile(uncached, False)
    schema = _read_schema(cached)
    results = []
    for step in steps:
        step(schema)
        _write_schema(cached, schema)
        _write_schema(uncached, schema)
        results.append(_compile(cached, True))
        assert results[-1] == _compile(uncached, False), step.__name__
    assert results[-1] != first  # the last step changed what compile says


def _count_calls(monkeypatch, module, name: str, label) -> list[str]:
    seen: list[str] = []
    real = getattr(module, name)

    def counting(self_or_name, *args, **kwargs):
        seen.append(label(self_or_name, *args))
        return real(self_or_name, *args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return seen


def test_only_the_changed_table_is_checked_again(tmp_path, monkeypatch):
    """The check memo is used: after an edit of repos, compile checks repos and worktrees
    (whose foreign key reads repos) only, once per dialect."""
    from agor_schema.spec import validate

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("AGORSCHEMA_JOBS", "1")  # both dialects counted in this process
    root = _project(tmp_path / "p")
    _compile(root, True)
    schema = _read_schema(root)
    add_text_column(schema, [name for _f, name in _tables(schema)].index("repos"))
    _write_schema(root, schema)
    checked = _count_calls(monkeypatch, validate._Checker, "check_table",
                           lambda _self, name, *_: name)
    _compile(root, True)
    assert sorted(checked) == ["repos", "repos", "worktrees", "worktrees"]
