"""`[tool.agorschema]` settings from pyproject.toml, with defaults for a project that has none.

Every setting is declared once in `SETTINGS` (key, default, what it must be, a validator), and
the whole table is validated before any command does anything: a mistyped or invalid value is
a ConfigError naming pyproject.toml, the key and the expected type (exit 2), never a traceback
later. Other modules add their settings with `register_setting` (e.g. runner lock timeouts);
their values are read as attributes of `Config` (`cfg.ddl_lock_timeout`).

The project root is the nearest folder at or above the start folder whose pyproject.toml has a
`[tool.agorschema]` table; when none has one, the nearest folder with a pyproject.toml (or the
start folder itself) with the defaults. Path settings must stay inside that root.

`Setting` and `Config` are NamedTuples, not dataclasses: the runner imports this module at
every app start-up (see journal.py).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType

from agor_schema.records import record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (app start-up)

if TYPE_CHECKING:
    from typing import Any


def _tomllib():
    """The TOML parser, imported when a pyproject.toml is read (an app that passes its URL
    and folder to `migrate()` never reads one)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib


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


class SettingValueError(ValueError):
    """Raised by a validator: the message says what the value must be."""


@record
class Setting:
    """One `[tool.agorschema]` key: its default, the type it must have (for messages) and the
    validator that turns the TOML value into the Config value (given the project root)."""

    key: str
    default: Any
    expected: str
    validate: Callable[[Any, Path], Any]


SETTINGS: dict[str, Setting] = {}


def register_setting(key: str, default: Any, expected: str,
                     validate: Callable[[Any, Path], Any]) -> None:
    """Declare a setting (other modules call this at import; later calls replace earlier)."""
    SETTINGS[key] = Setting(key, default, expected, validate)


# --- validators ---------------------------------------------------------------------------------


def text_value(value: Any, root: Path) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise SettingValueError("a non-empty string")
    if "\x00" in value:
        raise SettingValueError("a string without NUL characters")
    return value


def seconds_setting(zero: str) -> Callable[[Any, Path], float]:
    """A number of seconds from 0 up to one day (`zero` says what 0 means)."""

    def validate(value: Any, root: Path) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not 0 <= value <= MAX_SECONDS:
            raise SettingValueError(f"a number of seconds from 0 to {MAX_SECONDS:g} ({zero}; "
                                    "a TOML number, not a string)")
        return float(value)

    return validate


def table_value(value: Any, root: Path) -> dict:
    """A TOML table (checked further where its keys are known)."""
    if not isinstance(value, dict):
        raise SettingValueError('a table such as {sqlite = "drizzle/sqlite"}')
    return value


def retries_setting(value: Any, root: Path) -> int:
    """A whole number of retries."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RETRIES:
        raise SettingValueError(f"a whole number from 0 to {MAX_RETRIES}")
    return value


def lock_kind_setting(value: Any, root: Path) -> str:
    """How the migrator lock is taken (see dialects.capabilities)."""
    from agor_schema.dialects.capabilities import LOCK_SETTING_VALUES

    if value not in LOCK_SETTING_VALUES:
        raise SettingValueError(f"one of {', '.join(LOCK_SETTING_VALUES)}")
    return value


def path_value(kind: str) -> Callable[[Any, Path], Path]:
    """A path inside the project root; `kind` is "folder" (must not be a file) or "any"."""

    def validate(value: Any, root: Path) -> Path:
        text = text_value(value, root)
        path = inside_root(root, text)
        if kind == "folder" and path.exists() and not path.is_dir():
            raise SettingValueError(f"a folder, but {text!r} is a file")
        return path

    return validate


def inside_root(root: Path, text: str) -> Path:
    """`root / text`, refused unless it resolves (symlinks followed) inside `root`."""
    root = root.resolve()
    candidate = Path(text)
    path = candidate if candidate.is_absolute() else root / candidate
    resolved = path.resolve()
    if resolved != root and root not in resolved.parents:
        raise SettingValueError(
            f"a path inside the project root {root}, but {text!r} resolves to {resolved}")
    if resolved == root:
        raise SettingValueError(f"a path below the project root {root}, not the root itself")
    return root / resolved.relative_to(root)


def dialects_value(value: Any, root: Path) -> tuple[str, ...]:
    """A non-empty list of distinct dialect names."""
    from agor_schema.dialects import DIALECT_NAMES

    valid = ", ".join(f'"{n}"' for n in DIALECT_NAMES)
    if not isinstance(value, list) or not value:
        raise SettingValueError(f"a non-empty list such as [{valid}]")
    for name in value:
        if name not in DIALECT_NAMES:
            raise SettingValueError(f"a list of dialect names ({valid}); {name!r} is not one")
    if len(set(value)) != len(value):
        raise SettingValueError("a list naming each dialect once")
    return tuple(value)


def url_value(value: Any, root: Path) -> str:
    """A database URL string; its form is checked where it is used."""
    if not isinstance(value, str) or "://" not in value:
        raise SettingValueError("a database URL string such as \"sqlite:///app.db\"")
    return value


register_setting("schema", "schema", "a YAML file or folder inside the project",
                 path_value("any"))
register_setting("generated", "generated", "a folder inside the project", path_value("folder"))
register_setting("migrations", "drizzle", "a folder inside the project", path_value("folder"))
register_setting("dialects", ["sqlite", "postgres"], 'a list such as ["sqlite", "postgres"]',
                 dialects_value)
register_setting("database", "sqlite:///agor.db", "a database URL string", url_value)
register_setting("migrations_table", "__drizzle_migrations", "a table name string", text_value)
register_setting("migrations_schema", "drizzle", "a schema name string", text_value)
register_setting("migrator_lock_timeout", 60.0, "a number of seconds",
                 seconds_setting("0 = do not wait"))
register_setting("migrator_lock", "auto", "a lock kind", lock_kind_setting)
register_setting("ddl_lock_timeout", 5.0, "a number of seconds",
                 seconds_setting("0 turns it off"))
register_setting("ddl_lock_retries", 5, "a whole number", retries_setting)
register_setting("statement_timeout", 0.0, "a number of seconds",
                 seconds_setting("0 turns it off"))
register_setting("migration_folders", {}, "a table of dialect = folder", table_value)

# the built-in values (the runner without a project reads them)
DEFAULTS: dict[str, Any] = {key: s.default for key, s in SETTINGS.items()}


def runner_settings(values: dict, where: str, fail: Callable[[str, str], Exception],
                    shown: dict[str, str] | None = None) -> dict:
    """The runner's timeout/lock settings from `values` (settings or `migrate()` arguments),
    validated by the same table. A bad value raises `fail(message, key)`; `shown` names a
    key as the user wrote it (a deprecated alias)."""
    out: dict = {}
    for key in ("migrator_lock_timeout", "ddl_lock_timeout", "statement_timeout",
                "ddl_lock_retries", "migrator_lock"):
        try:
            out[key] = SETTINGS[key].validate(values[key], Path("."))
        except SettingValueError as exc:
            name = (shown or {}).get(key, key)
            raise fail(f"{where} {name} must be {exc}, got {values[key]!r}", key) from None
    return out


# --- the resolved settings ------------------------------------------------------------------


@record
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
    source: Path | None = None
    warnings: tuple[str, ...] = ()
    # a dialect's own folder (e.g. an adopted drizzle-kit project's `src/db/migrations`)
    migration_folders: Mapping[str, Path] = MappingProxyType({})
    # values of settings registered by other modules (read as attributes, see __getattr__)
    values: Mapping[str, Any] = MappingProxyType({})

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

    def __getattr__(self, name: str) -> Any:
        """Settings registered by other modules (not fields)."""
        if name in self.values:
            return self.values[name]
        raise AttributeError(name)

    def describe(self) -> str:
        """'project root X, settings from Y' for "not found" messages."""
        where = f"settings from {self.source} [tool.agorschema]" if self.source and \
            has_agorschema_table(self.source) else (
                f"default settings ({self.source} has no [tool.agorschema])" if self.source
                else "default settings (no pyproject.toml)")
        return f"project root {self.root}, {where}"


# --- the database a command works on -------------------------------------------------------

DATABASE_ENV = ("AGORSCHEMA_DATABASE_URL", "DATABASE_URL")


def database_url(option: str | None) -> str | None:
    """The URL for migrate/status/diff/undo: `--database`, else AGORSCHEMA_DATABASE_URL, else
    DATABASE_URL; None means the `[tool.agorschema] database` setting. (The Python API takes
    its URL from the caller only.)"""
    import os

    if option is not None:  # given, even empty: an empty --database is an input error
        return option
    for name in DATABASE_ENV:
        if os.environ.get(name):  # an empty variable counts as unset
            return os.environ[name]
    return None


# --- finding the project ----------------------------------------------------------------------


def has_agorschema_table(pyproject: Path) -> bool:
    """Whether this pyproject.toml has a [tool.agorschema] table (invalid TOML: ConfigError)."""
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if "agorschema" not in text:
        return False
    return "agorschema" in _parse(pyproject, text).get("tool", {})


def _parse(pyproject: Path, text: str) -> dict:
    tomllib = _tomllib()
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject}: invalid TOML: {exc}", pyproject) from None


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` whose pyproject.toml has [tool.agorschema];
    else the nearest one with any pyproject.toml; else `start` itself. A given `start` that
    is not a folder is a ConfigError."""
    if start is not None and not Path(start).is_dir():
        # a mistyped --project must not silently fall back to defaults (or to a project above)
        raise ConfigError(f"project folder {start} does not exist (or is not a folder)")
    here = (start or Path.cwd()).resolve()
    nearest: Path | None = None
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            if has_agorschema_table(pyproject):
                return folder
            nearest = nearest or folder
    return nearest or here


def load_config(root: Path | None = None) -> Config:
    """Read and validate [tool.agorschema] of the project found from `root` (default: cwd)."""
    root = find_project_root(root)
    pyproject = root / "pyproject.toml"
    settings: dict = {}
    if pyproject.is_file():
        try:
            text = pyproject.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{pyproject}: cannot read: {exc}", pyproject) from None
        table = _parse(pyproject, text).get("tool", {}).get("agorschema", {})
        if not isinstance(table, dict):
            raise ConfigError(f"{pyproject}: [tool.agorschema] must be a table", pyproject)
        settings = table
    settings, warnings, renamed = _apply_aliases(settings, pyproject)
    values = validate_settings(settings, root, pyproject, renamed)
    from agor_schema.redact import remember_secrets

    remember_secrets(str(values["database"]))  # never printed, whichever message shows it
    values["migration_folders"] = _migration_folders(values["migration_folders"], root,
                                                     values["dialects"], pyproject)
    known = set(Config._fields) - {"root", "source", "warnings", "values"}
    return Config(
        root=root,
        source=pyproject if pyproject.is_file() else None,
        warnings=tuple(warnings),
        values={k: v for k, v in values.items() if k not in known},
        **{k: values[k] for k in known},
    )


def _apply_aliases(settings: dict, pyproject: Path) -> tuple[dict, list[str], dict[str, str]]:
    """Rename deprecated keys to their new names; say so (both given: the new one wins).
    Also returns {new name: old name written} so errors name the key in the file."""
    out = dict(settings)
    warnings = []
    renamed: dict[str, str] = {}
    for old, new in ALIASES.items():
        if old in out:
            value = out.pop(old)
            if new not in out:
                out[new] = value
                renamed[new] = old
            warnings.append(f"{pyproject}: [tool.agorschema] {old} is deprecated: it is the "
                            f"wait for another migrator, now called {new} (the DDL lock wait "
                            "is ddl_lock_timeout); rename it")
    return out, warnings, renamed


def validate_settings(settings: dict, root: Path, pyproject: Path,
                      renamed: dict[str, str] | None = None) -> dict[str, Any]:
    """Every setting validated (defaults for missing ones); the first problem is raised."""
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        from agor_schema.errors import did_you_mean

        hints = "".join(did_you_mean(name, SETTINGS) for name in unknown)
        raise ConfigError(
            f"{pyproject}: [tool.agorschema] has unknown setting(s) {', '.join(unknown)};"
            f"{hints} valid: {', '.join(SETTINGS)}", pyproject, unknown[0])
    values: dict[str, Any] = {}
    for key, setting in SETTINGS.items():
        raw = settings.get(key, setting.default)
        try:
            values[key] = setting.validate(raw, root)
        except SettingValueError as exc:
            written = (renamed or {}).get(key)
            name = f"{written} (now {key})" if written else key
            raise ConfigError(
                f"{pyproject}: [tool.agorschema] {name} must be {exc}; got {_show(raw)}",
                pyproject, written or key) from None
    return values


def _show(value: Any) -> str:
    from agor_schema.redact import redact_secrets

    text = redact_secrets(repr(value))
    return text if len(text) <= 80 else text[:77] + "..."


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
