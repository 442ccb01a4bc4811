"""`[tool.agorschema]` settings from pyproject.toml, with defaults for a project that has none."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEFAULTS = {
    "schema": "schema",
    "generated": "generated",
    "migrations": "drizzle",
    "dialects": ["sqlite", "postgres"],
    "database": "sqlite:///agor.db",
    "migrations_table": "__drizzle_migrations",
    "migrations_schema": "drizzle",
    "lock_timeout": 60.0,
}


class ConfigError(Exception):
    """A bad [tool.agorschema] setting; the CLI reports it with exit code 2.

    `file` is the pyproject.toml read and `key` the setting at fault (when one is)."""

    def __init__(self, message: str, file: Path | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.key = key


@dataclass(frozen=True)
class Config:
    """Resolved settings; every path is absolute, anchored at the project root."""

    root: Path
    schema: Path
    generated: Path
    migrations: Path
    dialects: tuple[str, ...]
    database: str
    migrations_table: str = "__drizzle_migrations"
    migrations_schema: str = "drizzle"
    lock_timeout: float = 60.0
    source: Path | None = field(default=None)

    def migrations_dir(self, dialect: str) -> Path:
        """drizzle/<dialect>: one drizzle-kit folder per dialect."""
        return self.migrations / dialect


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` holding a pyproject.toml (else `start`)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return here


def load_config(root: Path | None = None) -> Config:
    """Read [tool.agorschema] from <root>/pyproject.toml, falling back to the defaults."""
    root = find_project_root(root)
    pyproject = root / "pyproject.toml"
    settings: dict = {}
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{pyproject}: invalid TOML: {exc}", pyproject) from None
        settings = data.get("tool", {}).get("agorschema", {}) or {}
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        from agor_schema.errors import did_you_mean

        hints = "".join(did_you_mean(name, DEFAULTS) for name in unknown)
        raise ConfigError(
            f"{pyproject}: [tool.agorschema] has unknown setting(s) {', '.join(unknown)};"
            f"{hints} valid: {', '.join(DEFAULTS)}", pyproject, unknown[0]
        )
    merged = {**DEFAULTS, **settings}
    if not isinstance(merged["dialects"], list):
        raise ConfigError(
            f"{pyproject}: [tool.agorschema] dialects must be a list such as "
            f'["sqlite", "postgres"], got {merged["dialects"]!r}', pyproject, "dialects"
        )
    from agor_schema.dialects import DIALECT_NAMES

    dialects = tuple(merged["dialects"])
    for name in dialects:
        if name not in DIALECT_NAMES:
            raise ConfigError(
                f"{pyproject}: [tool.agorschema] dialects has {name!r}; "
                f"valid: {', '.join(DIALECT_NAMES)}", pyproject, "dialects"
            )
    return Config(
        root=root,
        schema=root / merged["schema"],
        generated=root / merged["generated"],
        migrations=root / merged["migrations"],
        dialects=dialects,
        database=str(merged["database"]),
        migrations_table=str(merged["migrations_table"]),
        migrations_schema=str(merged["migrations_schema"]),
        lock_timeout=float(merged["lock_timeout"]),
        source=pyproject if pyproject.is_file() else None,
    )
