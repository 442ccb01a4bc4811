"""`[tool.agorschema]` settings from pyproject.toml, with defaults for a project that has none."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def _tomllib():
    """The TOML parser, imported when a pyproject.toml is read (an app that passes its URL
    and folder to `migrate()` never reads one)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib


DEFAULTS = {
    "schema": "schema",
    "generated": "generated",
    "migrations": "drizzle",
    "dialects": ["sqlite", "postgres"],
    "database": "sqlite:///agor.db",
    "migrations_table": "__drizzle_migrations",
    "migrations_schema": "drizzle",
    "migrator_lock_timeout": 60.0,
    "migrator_lock": "auto",
    "ddl_lock_timeout": 5.0,
    "ddl_lock_retries": 5,
    "statement_timeout": 0.0,
    "migration_folders": {},
}

# Old names still accepted, with a warning: `lock_timeout` was the wait for another migrator,
# easily confused with PostgreSQL's lock_timeout (now `ddl_lock_timeout`).
ALIASES = {"lock_timeout": "migrator_lock_timeout"}
MAX_SECONDS = 86_400.0
MAX_RETRIES = 100


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
    migrator_lock_timeout: float = 60.0
    migrator_lock: str = "auto"
    ddl_lock_timeout: float = 5.0
    ddl_lock_retries: int = 5
    statement_timeout: float = 0.0
    source: Path | None = field(default=None)
    warnings: tuple[str, ...] = ()
    # a dialect's own folder (e.g. an adopted drizzle-kit project's `src/db/migrations`)
    migration_folders: dict[str, Path] = field(default_factory=dict)

    def migrations_dir(self, dialect: str) -> Path:
        """One drizzle-kit folder per dialect: `migration_folders[dialect]` when set, else
        `<migrations>/<dialect>`."""
        return self.migration_folders.get(dialect) or self.migrations / dialect

    @property
    def manifest_path(self) -> Path:
        """`agorschema.sum` sits beside the migration folders: in the folder they share
        (`drizzle/` for `drizzle/sqlite` + `drizzle/postgres`), or in the only one."""
        import os

        folders = [self.migrations_dir(d) for d in self.dialects] or [self.migrations]
        if len(folders) == 1:
            return folders[0] / "agorschema.sum"
        common = Path(os.path.commonpath([str(f) for f in folders]))
        return common / "agorschema.sum"


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
        tomllib = _tomllib()
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{pyproject}: invalid TOML: {exc}", pyproject) from None
        settings = data.get("tool", {}).get("agorschema", {}) or {}
    settings, warnings, shown = _apply_aliases(settings, pyproject)
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
    folders = _migration_folders(merged["migration_folders"], root, dialects, pyproject)
    return Config(
        root=root,
        schema=root / merged["schema"],
        generated=root / merged["generated"],
        migrations=root / merged["migrations"],
        dialects=dialects,
        database=str(merged["database"]),
        migrations_table=str(merged["migrations_table"]),
        migrations_schema=str(merged["migrations_schema"]),
        source=pyproject if pyproject.is_file() else None,
        warnings=tuple(warnings),
        **runner_settings(merged, f"{pyproject}: [tool.agorschema]",
                          lambda message, key: ConfigError(message, pyproject, key), shown),
        migration_folders=folders,
    )


def _apply_aliases(settings: dict, pyproject: Path
                   ) -> tuple[dict, list[str], dict[str, str]]:
    """Rename deprecated keys to their new names; say so (both given: the new one wins).
    Also returns how to name a renamed key in an error: `lock_timeout (now ...)`."""
    out = dict(settings)
    warnings = []
    shown: dict[str, str] = {}
    for old, new in ALIASES.items():
        if old in out:
            value = out.pop(old)
            if new not in out:
                shown[new] = f"{old} (now {new})"
            out.setdefault(new, value)
            warnings.append(f"{pyproject}: [tool.agorschema] {old} is deprecated: it is the "
                            f"wait for another migrator, now called {new} (the DDL lock wait "
                            "is ddl_lock_timeout); rename it")
    return out, warnings, shown


def runner_settings(values: dict, where: str, fail: Callable[[str, str], Exception],
                    shown: dict[str, str] | None = None) -> dict:
    """The runner's timeout/lock settings from `values`, validated. A bad value raises
    `fail(message, key)`; `shown` names a key as the user wrote it (a deprecated alias)."""
    from agor_schema.dialects.capabilities import LOCK_SETTING_VALUES

    def name(key: str) -> str:
        return (shown or {}).get(key, key)

    out: dict = {}
    for key, zero in (("migrator_lock_timeout", "0 = do not wait"),
                      ("ddl_lock_timeout", "0 turns it off"),
                      ("statement_timeout", "0 turns it off")):
        value = values[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not 0 <= value <= MAX_SECONDS:
            raise fail(f"{where} {name(key)} must be a number of seconds from 0 to "
                       f"{MAX_SECONDS:g} ({zero}), got {value!r}", key)
        out[key] = float(value)
    retries = values["ddl_lock_retries"]
    if isinstance(retries, bool) or not isinstance(retries, int) \
            or not 0 <= retries <= MAX_RETRIES:
        raise fail(f"{where} ddl_lock_retries must be a whole number from 0 to {MAX_RETRIES}, "
                   f"got {retries!r}", "ddl_lock_retries")
    out["ddl_lock_retries"] = retries
    lock = values["migrator_lock"]
    if lock not in LOCK_SETTING_VALUES:
        raise fail(f"{where} migrator_lock must be one of {', '.join(LOCK_SETTING_VALUES)}, "
                   f"got {lock!r}", "migrator_lock")
    out["migrator_lock"] = lock
    return out


def _migration_folders(raw: object, root: Path, dialects: tuple[str, ...],
                       pyproject: Path) -> dict[str, Path]:
    """`migration_folders = {sqlite = "drizzle", postgres = "db/pg"}`: each a folder inside
    the project (compile writes there; nothing may land outside the project)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{pyproject}: [tool.agorschema] migration_folders must be a table "
                          f'such as {{sqlite = "drizzle/sqlite"}}, got {raw!r}', pyproject,
                          "migration_folders")
    folders = {}
    for dialect, folder in raw.items():
        if dialect not in dialects:
            raise ConfigError(f"{pyproject}: [tool.agorschema] migration_folders has "
                              f"{dialect!r}, which is not in dialects {list(dialects)}",
                              pyproject, "migration_folders")
        if not isinstance(folder, str) or not folder.strip():
            raise ConfigError(f"{pyproject}: [tool.agorschema] migration_folders.{dialect} "
                              f"must be a folder path, got {folder!r}", pyproject,
                              "migration_folders")
        path = (root / folder).resolve()
        if path != root.resolve() and root.resolve() not in path.parents:
            raise ConfigError(f"{pyproject}: [tool.agorschema] migration_folders.{dialect} = "
                              f"{folder!r} is outside the project {root}", pyproject,
                              "migration_folders")
        if path == root.resolve():
            raise ConfigError(f"{pyproject}: [tool.agorschema] migration_folders.{dialect} "
                              "must be a sub-folder of the project, not its root", pyproject,
                              "migration_folders")
        folders[dialect] = root / folder
    paths = [str(p.resolve()) for p in folders.values()]
    if len(set(paths)) != len(paths):
        raise ConfigError(f"{pyproject}: [tool.agorschema] migration_folders names one "
                          "folder for two dialects; each dialect needs its own", pyproject,
                          "migration_folders")
    return folders
