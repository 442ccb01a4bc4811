"""`migration_folders`: each dialect's drizzle-kit folder named on its own, inside the project;
the checksum file follows the folders; `import` writes these settings and keeps the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from agor_schema.adopt import settings_lines, write_settings
from agor_schema.config import ConfigError, load_config


def _project(root: Path, settings: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(f"[tool.agorschema]\n{settings}\n", encoding="utf-8")
    return root


def test_default_layout_is_unchanged(tmp_path: Path) -> None:
    cfg = load_config(_project(tmp_path, ""))
    assert cfg.migrations_dir("sqlite") == tmp_path / "drizzle" / "sqlite"
    assert cfg.manifest_path == tmp_path / "drizzle" / "agorschema.sum"


def test_folders_named_per_dialect_and_the_checksum_file_follows(tmp_path: Path) -> None:
    cfg = load_config(_project(tmp_path, 'migration_folders = {sqlite = "db/lite", '
                                         'postgres = "db/pg/migrations"}'))
    assert cfg.migrations_dir("sqlite") == tmp_path / "db" / "lite"
    assert cfg.migrations_dir("postgres") == tmp_path / "db" / "pg" / "migrations"
    assert cfg.manifest_path == tmp_path / "db" / "agorschema.sum"
    single = load_config(_project(tmp_path / "one", 'dialects = ["postgres"]\n'
                                                    'migration_folders = {postgres = "drizzle"}'))
    assert single.migrations_dir("postgres") == tmp_path / "one" / "drizzle"
    assert single.manifest_path == tmp_path / "one" / "drizzle" / "agorschema.sum"


@pytest.mark.parametrize(("value", "message"), [
    ('{sqlite = "../elsewhere"}', "outside the project"),
    ('{sqlite = "/tmp"}', "outside the project"),
    ('{sqlite = "."}', "not its root"),
    ('{sqlite = "x", postgres = "x/"}', "one folder for two dialects"),
    ('{mysql = "x"}', "not in dialects"),
    ('{sqlite = 3}', "must be a folder path"),
    ('"drizzle"', "must be a table"),
])
def test_bad_folders_are_refused(tmp_path: Path, value: str, message: str) -> None:
    root = _project(tmp_path, f"migration_folders = {value}")
    with pytest.raises(ConfigError, match=message):
        load_config(root)


def test_import_settings_keep_the_rest_of_pyproject(tmp_path: Path) -> None:
    root = tmp_path
    (root / "pyproject.toml").write_text(
        '[project]\nname = "app"\n\n[tool.agorschema]\ndatabase = "sqlite:///app.db"\n'
        'schema = "old"\n\n[tool.other]\nx = 1\n', encoding="utf-8")
    (root / "src" / "db").mkdir(parents=True)
    lines = settings_lines(root, root / "db" / "schema.yaml", {"sqlite": root / "src" / "db"})
    write_settings(root, lines)
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    assert 'name = "app"' in text and "[tool.other]\nx = 1" in text
    assert 'schema = "old"' not in text
    cfg = load_config(root)
    assert cfg.schema == root / "db" / "schema.yaml"
    assert cfg.database == "sqlite:///app.db"
    assert cfg.dialects == ("sqlite",)
    assert cfg.migrations_dir("sqlite") == root / "src" / "db"
