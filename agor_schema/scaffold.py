"""`agorschema init`: the files a new project needs, written only where missing.

It adds a `[tool.agorschema]` table to pyproject.toml (creating the file when there is none,
appending to it otherwise: the existing bytes are kept as they are), a starter schema file
carrying the editor `$schema` line, and `.gitignore` entries for the cache, the project lock
file and the default SQLite database. Running it again changes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from agor_schema.locking import LOCK_NAME

DATABASE = "sqlite:///app.db"
SETTINGS_TABLE = f"""\
[tool.agorschema]
schema = "schema"                   # a YAML file or a folder of them
generated = "generated"             # full DDL, drizzle-orm schemas, the editor JSON Schema
migrations = "drizzle"              # drizzle/sqlite, drizzle/postgres
dialects = ["sqlite", "postgres"]
database = "{DATABASE}"     # default for migrate/status/diff/undo
"""
STARTER_NAME = "app.yaml"
STARTER = """\
# yaml-language-server: $schema={schema_json}
# The schema of your app. Edit it, then run `agorschema compile` (and commit what it wrote).
tables:
  users:
    comment: People who can sign in.
    columns:
      id:         {{type: integer, primary_key: true, autoincrement: true}}
      email:      {{type: text, not_null: true, unique: true}}
      created_at: {{type: timestamp, not_null: true, default: now}}
"""
GITIGNORE_HEADER = "# agorschema"
PRE_COMMIT = """\
# .pre-commit-config.yaml: refuse commits whose schema, generated files and migrations disagree
repos:
  - repo: local
    hooks:
      - id: agorschema-check
        name: agorschema check
        entry: agorschema check
        language: system
        pass_filenames: false
        always_run: true
"""


@dataclass
class InitResult:
    root: Path
    created: list[str] = field(default_factory=list)   # relative paths written new
    updated: list[str] = field(default_factory=list)   # relative paths appended to
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def to_json(self) -> dict:
        return {"root": str(self.root), "changed": self.changed, "created": self.created,
                "updated": self.updated, "unchanged": self.unchanged,
                "pre_commit": PRE_COMMIT}


def init_project(root: Path) -> InitResult:
    """Create what is missing in `root` (settings, starter schema, .gitignore entries)."""
    from agor_schema.config import load_config
    from agor_schema.writes import all_or_nothing

    root = root.resolve()
    result = InitResult(root)
    # all or nothing: a file refused below (a .gitignore linking out of the project) puts
    # back what was already written
    with all_or_nothing(root, _staying_inside(root, [root / "pyproject.toml",
                                                     root / ".gitignore"])):
        _settings(root, result)
        cfg = load_config(root)  # validates what is there (ConfigError on a bad setting)
        with all_or_nothing(root, _staying_inside(root, [_starter_target(cfg)])):
            _starter_schema(cfg, result)
            _gitignore(cfg, result)
    return result


def _staying_inside(root: Path, paths: list[Path | None]) -> list[Path]:
    """The paths that stay inside the project (the others are refused when written)."""
    return [p for p in paths if p is not None and root in p.resolve().parents]


def _starter_target(cfg) -> Path | None:
    """The starter schema file init would write (None: the schema exists)."""
    schema = cfg.schema
    if schema.exists():
        return None
    return schema if schema.suffix in (".yaml", ".yml") else schema / STARTER_NAME


def _settings(root: Path, result: InitResult) -> None:
    from agor_schema.config import has_agorschema_table

    pyproject = root / "pyproject.toml"
    if not pyproject.exists():
        _refuse_outside(root, pyproject)
        pyproject.write_text(SETTINGS_TABLE, encoding="utf-8")
        result.created.append("pyproject.toml")
    elif has_agorschema_table(pyproject):
        result.unchanged.append("pyproject.toml")
    else:
        text = pyproject.read_text(encoding="utf-8")
        separator = "" if not text else ("\n" if text.endswith("\n") else "\n\n")
        _refuse_outside(root, pyproject)
        pyproject.write_text(text + separator + SETTINGS_TABLE, encoding="utf-8")
        result.updated.append("pyproject.toml")


def _starter_schema(cfg, result: InitResult) -> None:
    target = _starter_target(cfg)
    if target is None:
        result.unchanged.append(_rel(cfg.schema, cfg.root))
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    schema_json = Path(os.path.relpath(cfg.generated / "agorschema.schema.json", target.parent))
    target.write_text(STARTER.format(schema_json=schema_json.as_posix()), encoding="utf-8")
    result.created.append(_rel(target, cfg.root))


def gitignore_entries(cfg) -> list[str]:
    """The cache, the lock file and the default database's files (SQLite: the file and its
    journal files) where they lie inside the project."""
    from agor_schema.db import DatabaseURLError
    from agor_schema.dialects import runtime_for_url

    entries = ["/.agorschema-cache/", f"/{LOCK_NAME}"]
    try:
        runtime = runtime_for_url(cfg.database)
        path = runtime.database_file(cfg.database)
    except (DatabaseURLError, ValueError):
        return entries
    db = _inside(path, cfg.root) if path is not None else None
    if db is not None:
        entries += [f"/{db}{suffix}" for suffix in ("", *runtime.companion_suffixes)]
    return entries


def _inside(path: str, root: Path) -> str | None:
    """The project-relative path of a database file inside the project, else None."""
    full = (root / path).resolve()
    try:
        return full.relative_to(root).as_posix()
    except ValueError:
        return None


def _gitignore(cfg, result: InitResult) -> None:
    path = cfg.root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    present = {line.strip() for line in text.splitlines()}
    missing = [e for e in gitignore_entries(cfg)
               if e not in present and e.lstrip("/") not in present]
    if not missing:
        result.unchanged.append(".gitignore")
        return
    block = "\n".join([GITIGNORE_HEADER, *missing]) + "\n"
    if text and not text.endswith("\n"):
        text += "\n"
    _refuse_outside(cfg.root, path)
    path.write_text(text + ("\n" if text else "") + block, encoding="utf-8")
    (result.updated if text else result.created).append(".gitignore")


def _refuse_outside(root: Path, path: Path) -> None:
    """init writes only inside the project: a .gitignore or pyproject.toml that links
    elsewhere is refused by name (InputError), not appended to."""
    from agor_schema.writes import save_before_writing

    save_before_writing(root, [path])


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
