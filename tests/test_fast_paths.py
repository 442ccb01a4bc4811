"""Every fast path gives the slow path's answer (tests/differential.py runs the real CLI on
three copies of a project: no cache and one process, a cold cache, a warm cache).

hypothesis draws sequences of schema edits that move what a cached or memoized result
depends on: columns and tables added, dropped and renamed (renamed_from), types, defaults and
nullability changed, a table others reference edited, top-level enums and types changed,
index and unique names clashing across tables, an error introduced and later fixed, comment
lines added anywhere (also inside multi-line scalars), a table moved to another file, a file
edited keeping its length and mtime. After each edit `check`, `compile` and `check` again
run in all three copies, as text or JSON, and everything they print and write must agree.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from corpus import AGOR, NAMES, corpus_folder, dialect_of
from differential import CACHE, PYPROJECT, Copies, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
CORE = """\
# core tables
enums:
  status: [active, inactive]
types:
  ci_text: {postgres: citext, sqlite: text}
tables:
  users:
    columns:
      id: {type: integer, primary_key: true}
      email: {type: varchar(120), not_null: true, unique: true}
      status: {type: enum(status), default: active}
      bio:
        type: text
        default: |
          multi
          # not a comment
          line
  posts:
    columns:
      id: {type: integer, primary_key: true}
      user_id: {type: integer, references: users.id, on_delete: cascade}
      title: {type: text, not_null: true}
    indexes:
      posts_user_idx: {columns: [user_id]}
"""
EXTRA = """\
tables:
  tags:
    columns:
      id: {type: integer, primary_key: true}
      name: {type: ci_text, not_null: true}
      note: "text"
    unique: [[name]]
"""
# enough tables that compile forks its second dialect (perf-fork: from 20 tables on)
FILLER = "".join(f"  f{n}:\n    columns:\n      id: {{type: integer, primary_key: true}}\n"
                 f"      v{n}: {{type: text, default: 'f{n}'}}\n"
                 + ("      user_id: {type: integer, references: users.id}\n" if n % 4 == 0 else "")
                 for n in range(18))
TYPES = ["text", "integer", "bigint", "boolean", "varchar(36)", "varchar(37)", "json",
         "timestamp", "enum(status)", "text[]", "ci_text", "smallint"]


def _data(text: str) -> dict:
    data = yaml.safe_load(text)
    return data if isinstance(data, dict) else {}


def _dump(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


class Project:
    """The schema files as text (the edits' model), written into the three copies."""

    def __init__(self, copies: Copies) -> None:
        self.copies = copies
        self.files = {"schema/01_core.yaml": CORE, "schema/02_extra.yaml": EXTRA,
                      "schema/09_filler.yaml": "tables:\n" + FILLER}
        self.before_break: dict[str, str] | None = None

    def write(self, keep_stat: str | None = None) -> None:
        for root in self.copies.roots.values():
            folder = root / "schema"
            for old in folder.glob("*.yaml"):
                if f"schema/{old.name}" not in self.files:
                    old.unlink()
            for rel, text in self.files.items():
                path = root / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                before = path.stat() if keep_stat == rel and path.exists() else None
                path.write_text(text, encoding="utf-8")
                if before is not None:
                    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
                    assert path.stat().st_size == before.st_size

    def tables(self) -> list[tuple[str, str]]:
        return [(rel, name) for rel in sorted(self.files)
                for name in (_data(self.files[rel]).get("tables") or {})]

    def edit_table(self, i: int, change) -> None:
        found = self.tables()
        if not found:
            return
        rel, name = found[i % len(found)]
        data = _data(self.files[rel])
        change(data, name, data["tables"][name])
        self.files[rel] = _dump(data)

    def edit_file(self, rel: str, change) -> None:
        data = _data(self.files[rel])
        change(data)
        self.files[rel] = _dump(data)


def _column(table: dict, i: int) -> str | None:
    columns = [c for c in table.get("columns") or {} if c != "id"]
    return columns[i % len(columns)] if columns else None


# ------------------------------------------------------------------ the edits


def add_column(p: Project, i: int) -> None:
    def change(_data, _name, table):
        spec: dict = {"type": TYPES[i % len(TYPES)]}
        if i % 3 == 0:
            spec["not_null"] = True
        if TYPES[i % len(TYPES)] in ("text", "integer", "boolean") and i % 2:
            spec["default"] = {"text": "x", "integer": 7, "boolean": True}[spec["type"]]
        table["columns"][f"c{i}"] = spec
    p.edit_table(i, change)


def drop_column(p: Project, i: int) -> None:
    def change(_data, _name, table):
        column = _column(table, i)
        if column:
            del table["columns"][column]
    p.edit_table(i, change)


def rename_column(p: Project, i: int) -> None:
    def change(_data, _name, table):
        column = _column(table, i)
        if column:
            spec = table["columns"].pop(column)
            spec = spec if isinstance(spec, dict) else {"type": spec}
            table["columns"][f"r{i}_{column}"[:40]] = {**spec, "renamed_from": column}
    p.edit_table(i, change)


def change_column(p: Project, i: int) -> None:
    """A type, a default or the nullability of one column."""
    def change(_data, _name, table):
        column = _column(table, i)
        if not column:
            return
        spec = table["columns"][column]
        spec = spec if isinstance(spec, dict) else {"type": spec}
        what = i % 3
        if what == 0:
            spec["type"] = TYPES[(i // 3) % len(TYPES)]
            spec.pop("default", None)
        elif what == 1:
            spec["not_null"] = not spec.get("not_null", False)
        elif spec.get("type") == "text":
            spec["default"] = f"d{i}"
        else:
            spec.pop("default", None)
        table["columns"][column] = spec
    p.edit_table(i, change)


def add_table(p: Project, i: int) -> None:
    rel = sorted(p.files)[i % len(p.files)]

    def change(data):
        data.setdefault("tables", {})[f"t{i}"] = {"columns": {
            "id": {"type": "integer", "primary_key": True},
            "user_id": {"type": "integer", "references": "users.id"}}}
    p.edit_file(rel, change)


def drop_table(p: Project, i: int) -> None:
    def change(data, name, _table):
        del data["tables"][name]
    p.edit_table(i, change)


def rename_table(p: Project, i: int) -> None:
    def change(data, name, table):
        tables = data["tables"]
        new = {}
        for key, value in tables.items():
            if key == name:
                new[f"{name}_{i}"[:50]] = {**value, "renamed_from": name}
            else:
                new[key] = value
        data["tables"] = new
    p.edit_table(i, change)


def edit_users(p: Project, i: int) -> None:
    """users is referenced: a change of its id type moves every foreign key to it."""
    def change(data):
        users = data["tables"].get("users")
        if not users:
            return
        users["columns"]["id"] = {"type": ("bigint", "integer", "varchar(36)")[i % 3],
                                  "primary_key": True}
        users["columns"][f"u{i}"] = "text"
    p.edit_file("schema/01_core.yaml", change)


def edit_top_level(p: Project, i: int) -> None:
    """Top-level enums, types and enum_check (every table's result may depend on them)."""
    def change(data):
        what = i % 4
        if what == 0:
            data.setdefault("enums", {}).setdefault("status", []).append(f"s{i}")
        elif what == 1:
            data.setdefault("types", {})["ci_text"] = {"postgres": f"varchar({i % 90 + 10})",
                                                       "sqlite": "text"}
        elif what == 2:
            data["enum_check"] = not data.get("enum_check", False)
        else:
            values = data.setdefault("enums", {}).get("status") or ["active"]
            data["enums"]["status"] = list(reversed(values))
    p.edit_file("schema/01_core.yaml", change)


def clash_names(p: Project, i: int) -> None:
    """The same index or unique name in two tables (an error: names are per schema)."""
    def change(_data, _name, table):
        column = _column(table, i) or "id"
        if i % 2:
            table.setdefault("indexes", {})["shared_idx"] = {"columns": [column]}
        else:
            spec = table["columns"][column]
            spec = spec if isinstance(spec, dict) else {"type": spec}
            table["columns"][column] = {**spec, "unique": True, "unique_name": "shared_uq"}
    p.edit_table(i, change)
    p.edit_table(i + 1, change)


def break_schema(p: Project, i: int) -> None:
    """An error (remembered, so `fix_schema` can take it back)."""
    if p.before_break is None:
        p.before_break = dict(p.files)

    def change(_data, _name, table):
        column = _column(table, i) or "id"
        table["columns"][column] = (
            {"type": "nonsense"}, {"type": "integer", "references": "nowhere.id"},
            {"type": "text", "defualt": "x"}, "varchar(")[i % 4]
    p.edit_table(i, change)


def fix_schema(p: Project, i: int) -> None:
    if p.before_break is not None:
        p.files, p.before_break = p.before_break, None


def comment_line(p: Project, i: int) -> None:
    """A comment or blank line inserted at any line (also inside a multi-line scalar, where
    it is text of the value), or a comment line removed."""
    rel = sorted(p.files)[i % len(p.files)]
    lines = p.files[rel].split("\n")
    comments = [n for n, line in enumerate(lines) if line.lstrip().startswith("#")]
    if i % 3 == 2 and comments:
        del lines[comments[i % len(comments)]]
    else:
        indent = " " * ((i // 7) % 5)
        lines.insert(i % (len(lines) + 1), indent + ("" if i % 5 == 0 else f"# note {i}"))
    p.files[rel] = "\n".join(lines)


def move_table(p: Project, i: int) -> None:
    """A table moved to another file (a new one, or the next one)."""
    found = p.tables()
    if not found:
        return
    rel, name = found[i % len(found)]
    data = _data(p.files[rel])
    table = data["tables"].pop(name)
    p.files[rel] = _dump(data)
    target = sorted(p.files)[(sorted(p.files).index(rel) + 1) % len(p.files)] \
        if i % 2 else f"schema/0{3 + i % 5}_moved.yaml"
    other = _data(p.files.get(target, ""))
    other.setdefault("tables", {})[name] = table
    p.files[target] = _dump(other)


def same_length_and_mtime(p: Project, i: int) -> None:
    """One digit of a file changed in place; written back with the old size and mtime."""
    rel = sorted(p.files)[i % len(p.files)]
    text = p.files[rel]
    digits = [n for n, ch in enumerate(text) if ch.isdigit()]
    if not digits:
        return
    n = digits[i % len(digits)]
    p.files[rel] = text[:n] + str((int(text[n]) + 1 + i % 8) % 10) + text[n + 1:]
    p.write(keep_stat=rel)


def add_expression(p: Project, i: int) -> None:
    """A check, an expression index or a partial index reading a column (rendered per
    dialect by the types of the columns it reads: a later type change must re-render it)."""
    def change(_data, name, table):
        column = _column(table, i) or "id"
        what = i % 3
        if what == 0:
            table.setdefault("checks", {})[f"{name}_c{i}"[:40]] = f'"{column}" IS NOT NULL'
        elif what == 1:
            table.setdefault("indexes", {})[f"{name}_e{i}"[:40]] = {
                "expressions": [f'lower(CAST("{column}" AS TEXT))']}
        else:
            table.setdefault("indexes", {})[f"{name}_w{i}"[:40]] = {
                "columns": [column], "where": f'"{column}" IS NOT NULL'}
    p.edit_table(i, change)


def dialect_only(p: Project, i: int) -> None:
    """A column or a table for one dialect only, or a per-dialect override."""
    def change(_data, _name, table):
        column = _column(table, i)
        what = i % 3
        if what == 0:
            table["only"] = ("sqlite", "postgres")[i % 2]
        elif column:
            spec = table["columns"][column]
            spec = spec if isinstance(spec, dict) else {"type": spec}
            if what == 1:
                spec["only"] = ("sqlite", "postgres")[i % 2]
            else:
                spec["postgres"] = {"type": "varchar(64)"}
            table["columns"][column] = spec
    p.edit_table(i, change)


def enum_value_used(p: Project, i: int) -> None:
    """A new enum value that a default uses in the same migration (PostgreSQL: the value
    goes in a file of its own first), or the enum renamed."""
    def change(data):
        enums = data.setdefault("enums", {})
        users = (data.get("tables") or {}).get("users")
        if i % 2 and "status" in enums and isinstance(enums["status"], list):
            enums[f"status_{i}"] = {"values": enums.pop("status"), "renamed_from": "status"}
            for table in (data.get("tables") or {}).values():
                for spec in (table.get("columns") or {}).values():
                    if isinstance(spec, dict) and spec.get("type") == "enum(status)":
                        spec["type"] = f"enum(status_{i})"
        elif isinstance(enums.get("status"), list) and users:
            enums["status"].append(f"v{i}")
            users["columns"]["status"] = {"type": "enum(status)", "default": f"v{i}"}
    p.edit_file("schema/01_core.yaml", change)


ODD_NAMES = ["Users", "USERS", "caf\u00e9", "cafe\u0301", "t" * 63, "x" * 200, "table",
             "tableTable", "a b", "\u0130", "i\u0307", "\ufb01", "fi"]


def add_odd_table(p: Project, i: int) -> None:
    """A table whose name differs from another's only by case or unicode normalization,
    or is long, reserved in TypeScript, or odd (errors must agree as well)."""
    rel = sorted(p.files)[i % len(p.files)]

    def change(data):
        data.setdefault("tables", {})[ODD_NAMES[i % len(ODD_NAMES)]] = {"columns": {
            "id": {"type": "integer", "primary_key": True},
            f"c{i}": {"type": "text", "unique": True},
            "user_id": {"type": "integer", "references": "users.id"}}}
    p.edit_file(rel, change)


EDITS = [add_odd_table, add_expression, dialect_only, enum_value_used, add_column,
         drop_column, rename_column, change_column, add_table, drop_table, rename_table,
         edit_users, edit_top_level, clash_names, break_schema, fix_schema, comment_line,
         move_table, same_length_and_mtime]

EDIT_STEPS = st.lists(
    st.tuples(st.sampled_from(EDITS), st.integers(0, 60), st.booleans(), st.booleans(),
              st.sampled_from([False, False, False, True])),
    min_size=1, max_size=4)


def compare_step(copies: Copies, json_out: bool, destructive: bool, undo: bool,
                 context: object) -> None:
    """check, compile, check; with `undo`, then undo the compile and check again (undo's
    records live in the cache folder, which the cold copy loses at every command)."""
    fmt = ("--format", "json") if json_out else ()
    copies.same("check", *fmt, context=context)
    copies.same("compile", *fmt, *(("--allow-destructive",) if destructive else ()),
                context=context)
    copies.same("check", *fmt, context=context)
    if undo:
        copies.same("undo", *fmt, context=context, ways=("warm",))
        copies.same("check", *fmt, context=context)


@settings(max_examples=int(os.environ.get("AGORSCHEMA_TEST_EXAMPLES", "5")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=EDIT_STEPS)
def test_fast_paths_answer_as_the_slow_path(tmp_path_factory, steps) -> None:
    base = tmp_path_factory.mktemp("diff")
    copies = Copies(base, base / "xdg")
    copies.make({"pyproject.toml": PYPROJECT.encode()})
    project = Project(copies)
    project.write()
    copies.same("compile", "--format", "json")
    for n, (edit, i, json_out, destructive, undo) in enumerate(steps):
        edit(project, i)
        project.write()
        compare_step(copies, json_out, destructive, undo, (n, edit.__name__, i))
    shutil.rmtree(base, ignore_errors=True)


def test_the_harness_sees_a_difference(tmp_path: Path) -> None:
    """The comparison can fail: a copy whose generated file was edited differs."""
    copies = Copies(tmp_path, tmp_path / "xdg")
    copies.make({"pyproject.toml": PYPROJECT.encode(), "schema/01_core.yaml": CORE.encode()})
    copies.same("compile")
    (copies.roots["warm"] / "generated" / "sqlite.sql").write_text("-- edited\n")
    with pytest.raises(AssertionError, match="'warm', \\('check',\\)"):
        copies.same("check")  # check reports the edit in that copy only
    with pytest.raises(AssertionError, match="files differ"):
        copies.same("--version")


def test_the_example_schema(tmp_path: Path) -> None:
    copies = Copies(tmp_path, tmp_path / "xdg")
    copies.make({"pyproject.toml": (REPO / "pyproject.toml").read_bytes(),
                 **{f"schema/{p.name}": p.read_bytes() for p in (REPO / "schema").iterdir()
                    if p.is_file()}})
    copies.same("compile", "--format", "json")
    copies.same("check")
    core = copies.roots["slow"] / "schema" / "01_core.yaml"
    text = core.read_text(encoding="utf-8") + "\n# a comment at the end\n"
    copies.make({"schema/01_core.yaml": text.encode()})
    copies.same("check", "--format", "json")
    copies.same("compile")
    copies.same("check")


# ------------------------------------------------------------------ the real corpora


def _imported(tmp: Path, xdg: Path, folders: dict[str, Path]) -> Path:
    root = tmp / "imported"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "imported"\n', encoding="utf-8")
    args = []
    for dialect, source in folders.items():
        target = root / "drizzle" / dialect
        shutil.copytree(source, target)
        args += [f"--{dialect}", str(target)]
    code, stdout, stderr = run(root, "slow", xdg, "import", *args)
    assert code == 0, (stdout, stderr)
    shutil.rmtree(root / CACHE, ignore_errors=True)
    return root


def _corpus_edits(copies: Copies) -> None:
    """Compile as imported; then add a table, change the first table, add a comment."""
    copies.same("compile", "--format", "json", "--allow-destructive")
    schema = next(copies.roots["slow"].joinpath("schema").glob("*.yaml"))
    rel = schema.relative_to(copies.roots["slow"]).as_posix()
    data = _data(schema.read_text(encoding="utf-8"))
    data["tables"]["agorschema_probe"] = {"columns": {
        "probe_id": {"type": "integer", "primary_key": True}, "note": "text"}}
    first = next(iter(data["tables"].values()))
    first["columns"]["probe_extra"] = {"type": "text", "default": "x"}
    copies.make({rel: ("# edited\n" + _dump(data)).encode()})
    copies.same("check", "--format", "json")
    copies.same("compile", "--allow-destructive")
    copies.same("check")


@pytest.mark.parametrize("name", NAMES)
def test_corpus_schemas(shared_dir: Path, tmp_path: Path, tmp_path_factory, name: str) -> None:
    source = corpus_folder(name, tmp_path_factory.getbasetemp() / "corpus")
    xdg = tmp_path / "xdg"
    root = _imported(tmp_path, xdg, {dialect_of(name): source})
    copies = Copies(tmp_path / "copies", xdg)
    copies.copy_from(root)
    _corpus_edits(copies)


def test_agor_schema(shared_dir: Path, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    root = _imported(tmp_path, xdg, {"sqlite": AGOR / "sqlite-latest-snapshot",
                                     "postgres": AGOR / "postgres-latest-snapshot"})
    copies = Copies(tmp_path / "copies", xdg)
    copies.copy_from(root)
    _corpus_edits(copies)



# ------------------------------------------------------------------ found by the harness


@pytest.mark.parametrize("comment", [False, True])
def test_check_sees_a_dialect_folder_moved(tmp_path: Path, comment: bool) -> None:
    """`migration_folders` is part of what compile recorded: moving one dialect's folder to
    an empty one makes the schema uncompiled there. check's cached 'same meaning' answer
    left the setting out and said ok (exit 0) where the slow path says stale (exit 1)."""
    copies = Copies(tmp_path, tmp_path / "xdg")
    copies.make({"pyproject.toml": PYPROJECT.encode(), "schema/01_core.yaml": CORE.encode()})
    copies.same("compile")
    moved = PYPROJECT + 'migration_folders = {sqlite = "drizzle/lite"}\n'
    copies.make({"pyproject.toml": moved.encode()})
    if comment:
        copies.make({"schema/01_core.yaml": ("# edited\n" + CORE).encode()})
    code, _out, err = copies.same("check")
    assert code == 1 and "sqlite: create_table" in err
    code, _out, _err = copies.same("check", "--format", "json")
    assert code == 1


def _odd_schema(names: list[str], added: str | None = None) -> bytes:
    """A chain of tables with `names`, each referencing the one before (`added`: one more
    column in the first)."""
    tables: dict = {}
    for n, name in enumerate(names):
        tables[name] = {"columns": {"id": {"type": "integer", "primary_key": True},
                                    "v": {"type": "text", "unique": True}}}
        if n:
            tables[name]["columns"]["ref"] = {"type": "integer",
                                              "references": f"{names[n - 1]}.id"}
    if added:
        tables[names[0]]["columns"][added] = "text"
    return _dump({"tables": tables}).encode()


def test_names_that_differ_by_case_or_normalization(tmp_path: Path) -> None:
    """Tables whose names differ only by case or unicode normalization (distinct to
    PostgreSQL; the same to SQLite, an error there), names whose TypeScript consts are
    derived, deduplicated or shifted by a table added before them: every way agrees."""
    names = ["Users", "USERS", "users", "caf\u00e9", "cafe\u0301", "table", "\u0130",
             "i\u0307", "\ufb01", "fi", "select", "1abc", "__proto__", "\u9ed8\u8ba4"]
    copies = Copies(tmp_path, tmp_path / "xdg")
    pg_only = PYPROJECT.replace('["sqlite", "postgres"]', '["postgres"]')
    copies.make({"pyproject.toml": pg_only.encode(), "schema/a.yaml": _odd_schema(names)})
    copies.same("compile", "--format", "json")
    ts = (copies.roots["slow"] / "generated" / "schema.postgres.ts").read_text("utf-8")
    assert "pgTable('caf\u00e9'" in ts and "pgTable('cafe\u0301'" in ts
    # a table whose const takes `table`'s, before it; a column added to one of the cases
    copies.make({"schema/0.yaml": _odd_schema(["tableTable", "cafe\u0301_x"]),
                 "schema/a.yaml": _odd_schema(names, added="w")})
    code, stdout, _err = copies.same("compile", "--format", "json")
    ts = (copies.roots["warm"] / "generated" / "schema.postgres.ts").read_text("utf-8")
    assert code == 0 and "tableTable2 = pgTable('table'" in ts, stdout
    copies.same("check")
    # both dialects: the case clashes are errors, the same in every way
    copies.make({"pyproject.toml": PYPROJECT.encode()})
    code, stdout, _err = copies.same("compile", "--format", "json")
    assert code == 2 and "ignores case" in stdout
