"""Adversarial review of `agorschema undo` (and what it shares with import): through the real
CLI, each test reproduces something that broke on main and states the exact outcome: exit
code, one JSON envelope, nothing changed inside or outside the project."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_helpers import BASE, make_project, tree_digest
from test_adversarial import run_json


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "AGORSCHEMA_DATABASE_URL", "AGORSCHEMA_CACHE",
                 "AGORSCHEMA_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)


def _compiled_twice(tmp_path: Path) -> Path:
    """A project with two compiles: the second (an added column) is what undo reverts."""
    root = make_project(tmp_path / "project")
    assert run_json(root, "compile")[0] == 0
    (root / "schema" / "app.yaml").write_text(BASE + "      extra: {type: text}\n")
    assert run_json(root, "compile")[0] == 0
    return root


# where a symlink planted after the compile points out of the project: a file undo restores
# (a generated file, a journal, the checksum file) or a folder holding a file it deletes
SYMLINKED = [
    ("generated-file", "generated/sqlite.sql", False),
    ("journal", "drizzle/postgres/meta/_journal.json", False),
    ("checksum-file", "drizzle/agorschema.sum", False),
    ("migration-folder", "drizzle/sqlite", True),
]


@pytest.mark.parametrize("case", SYMLINKED, ids=[c[0] for c in SYMLINKED])
@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_undo_never_writes_or_deletes_through_a_symlink_leaving_the_project(
        case, force: bool, tmp_path: Path) -> None:
    """Before: undo wrote the old bytes of generated/sqlite.sql into the file outside the
    project the symlink named (and deleted migration files through a symlinked folder)."""
    _id, rel, is_folder = case
    root = _compiled_twice(tmp_path)
    outside = tmp_path / "outside"
    link = root / rel
    if is_folder:
        link.rename(outside)  # the same files, now outside, reached through the link
    else:
        outside.write_bytes(link.read_bytes())
        link.unlink()
    link.symlink_to(outside, target_is_directory=is_folder)
    before = tree_digest(tmp_path)
    code, doc = run_json(root, "undo", *(["--force"] if force else []))
    assert code == 1, doc
    assert any("outside the project" in e["message"] and rel in e["message"]
               for e in doc["errors"]), doc
    assert doc["result"]["undone"] is False
    assert tree_digest(tmp_path) == before  # nothing changed, inside or outside


@pytest.mark.parametrize("command", ["import", "pull"])
def test_import_and_pull_never_write_the_schema_through_a_symlink_leaving_the_project(
        command: str, tmp_path: Path) -> None:
    """Before: `import --force` (and `pull --force`) wrote the YAML into the file outside
    the project that schema/schema.yaml linked to (only `--out` itself was checked)."""
    root = make_project(tmp_path / "project")
    assert run_json(root, "compile")[0] == 0
    assert run_json(root, "migrate", "--database", f"sqlite:///{root / 'app.db'}")[0] == 0
    (root / "schema" / "app.yaml").unlink()
    outside = tmp_path / "precious.yaml"
    outside.write_text("keep me\n", encoding="utf-8")
    (root / "schema" / "schema.yaml").symlink_to(outside)
    before = tree_digest(tmp_path)
    args = (["import", "--sqlite", str(root / "drizzle" / "sqlite")] if command == "import"
            else ["pull", "--database", f"sqlite:///{root / 'app.db'}"])
    code, doc = run_json(root, *args, "--force")
    assert code == 2, doc
    [error] = doc["errors"]
    assert "outside the project" in error["message"], error
    assert error["file"] == str(root / "schema" / "schema.yaml"), error
    assert outside.read_text(encoding="utf-8") == "keep me\n"
    assert tree_digest(tmp_path) == before


ENUM_V1 = """\
enums:
  status: [a]
tables:
  t:
    columns:
      id: {type: integer, primary_key: true}
"""
# the new value is used in the same change: compile writes it in a file of its own first
ENUM_V2 = ENUM_V1.replace("[a]", "[a, b]") + "      s: {type: enum(status), default: b}\n"


def test_undo_refuses_when_postgres_applied_the_first_file_of_a_two_file_compile(
        tmp_path: Path, pg_url: str) -> None:
    """One compile wrote 0001_add_status_b (the new enum value) and 0002_add_t_s. migrate
    applied 0001, then 0002 failed. Before: undo asked the database about 0002 only, said
    nothing was applied and deleted both files, leaving PostgreSQL with a recorded
    migration (and an enum value) its folder no longer had."""
    from pg_cluster import connect

    pyproject = "[tool.agorschema]\ndialects = [\"postgres\"]\n"
    root = make_project(tmp_path / "project", ENUM_V1, pyproject=pyproject)
    assert run_json(root, "compile")[0] == 0
    assert run_json(root, "migrate", "--database", pg_url)[0] == 0
    (root / "schema" / "app.yaml").write_text(ENUM_V2, encoding="utf-8")
    code, doc = run_json(root, "compile")
    assert code == 0, doc
    folder = root / "drizzle" / "postgres"
    assert sorted(p.name for p in folder.glob("000[12]_*.sql")) == \
        ["0001_add_status_b.sql", "0002_add_t_s.sql"]
    with connect(pg_url) as conn:  # 0002's ADD COLUMN will fail on this
        conn.execute("ALTER TABLE t ADD COLUMN s text")
    code, doc = run_json(root, "migrate", "--database", pg_url)
    assert code == 1 and doc["errors"][0]["migration"] == "0002_add_t_s", doc
    before = tree_digest(root)
    code, doc = run_json(root, "undo", "--database", pg_url)
    assert code == 1, doc
    assert doc["result"]["applied"] == ["0001_add_status_b"], doc
    assert [e.get("migration") for e in doc["errors"]] == ["0001_add_status_b"], doc
    assert tree_digest(root) == before
    with connect(pg_url) as conn:  # the database is as migrate left it
        assert conn.execute("SELECT enum_range(NULL::status)::text").fetchone()[0] == "{a,b}"
        assert conn.execute("SELECT count(*) FROM drizzle.__drizzle_migrations").fetchone()[0] \
            == 2


# --- import edits any valid [tool.agorschema] ------------------------------------------------

KEEP = 'database = "sqlite:///keep.db"\n'
PYPROJECTS = [
    # (id, [tool.agorschema] as a user (or a TOML formatter) wrote it)
    ("header-comment", "[tool.agorschema]  # agorschema's settings\n" + KEEP),
    ("multi-line-array", '[tool.agorschema]\ndialects = [\n  "sqlite",\n  "postgres",\n]\n'
                         + KEEP),
    ("quoted-key", '[tool.agorschema]\n"dialects" = ["sqlite"]\n' + KEEP),
    ("spaced-header", "[ tool.agorschema ]\n" + KEEP),
]


def _project_with_drizzle_folders(tmp_path: Path, table: str) -> Path:
    """A project holding a drizzle folder pair (written by compile elsewhere) and this
    [tool.agorschema] text between two other tables."""
    import shutil

    source = make_project(tmp_path / "source")
    assert run_json(source, "compile")[0] == 0
    root = tmp_path / "project"
    for dialect in ("sqlite", "postgres"):
        shutil.copytree(source / "drizzle" / dialect, root / "drizzle" / dialect)
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n\n' + table +
                                         '\n[tool.other]\nkeep = 1\n', encoding="utf-8")
    return root


@pytest.mark.parametrize("case", PYPROJECTS, ids=[c[0] for c in PYPROJECTS])
def test_import_sets_its_settings_in_any_valid_table(case, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: import exit 2 on these valid files ('Cannot declare (tool, agorschema) twice',
    a multi-line array cut in half), and left an empty schema/ folder behind although it said
    nothing was written."""
    import tomllib

    root = _project_with_drizzle_folders(tmp_path, case[1])
    monkeypatch.chdir(root)
    code, doc = run_json(root, "import", "--sqlite", "drizzle/sqlite", "--postgres",
                         "drizzle/postgres")
    assert code == 0, doc
    settings = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert settings["tool"]["agorschema"] == {
        "schema": "schema", "dialects": ["sqlite", "postgres"],
        "migration_folders": {"sqlite": "drizzle/sqlite", "postgres": "drizzle/postgres"},
        "database": "sqlite:///keep.db"}
    assert settings["tool"]["other"] == {"keep": 1}
    assert run_json(root, "compile")[0] == 0
    assert run_json(root, "check")[0] == 0


@pytest.mark.parametrize("table", ['[tool]\nagorschema = {database = "sqlite:///x.db"}\n',
                                   '[tool]\nagorschema.database = "sqlite:///x.db"\n'],
                         ids=["inline-table", "dotted-key"])
def test_import_refuses_an_agorschema_table_it_cannot_edit_and_writes_nothing(
        table: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project_with_drizzle_folders(tmp_path, table)
    monkeypatch.chdir(root)
    before = tree_digest(root)
    code, doc = run_json(root, "import", "--sqlite", "drizzle/sqlite")
    assert code == 2, doc
    assert "inline table or dotted keys" in doc["errors"][0]["message"], doc
    assert "migration_folders = {sqlite = " in doc["errors"][0]["message"], doc
    assert tree_digest(root) == before and not (root / "schema").exists()


@pytest.mark.parametrize("linked", [".gitignore", "pyproject.toml"])
def test_init_never_appends_through_a_link_leaving_the_project(linked: str,
                                                               tmp_path: Path) -> None:
    """Before: `init` appended its .gitignore block (or its settings) to the file outside
    the project that the link named, and kept the files it had written before."""
    root = tmp_path / "project"
    root.mkdir()
    outside = tmp_path / "shared"
    outside.write_text('[project]\nname = "x"\n' if linked == "pyproject.toml" else "keep\n",
                       encoding="utf-8")
    (root / linked).symlink_to(outside)
    before = tree_digest(tmp_path)
    code, doc = run_json(root, "init")
    assert code == 2, doc
    assert "outside the project" in doc["errors"][0]["message"], doc
    assert doc["errors"][0]["file"] == str(root / linked), doc
    assert tree_digest(tmp_path) == before  # nothing written, inside or outside
