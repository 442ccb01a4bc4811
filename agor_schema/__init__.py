"""agorschema: one YAML schema, SQLite and PostgreSQL DDL, drizzle-kit compatible migrations.

Public names: `migrate`, `status`, the results they return (`MigrateResult`,
`StatusResult`) and the errors `migrate` raises (`RunnerError` and its subclasses
`MigrationFailed`, `MigrationRefused`, `LockTimeoutError`, `ConnectionFailed`,
`RunnerInputError`). They are imported lazily so that `agorschema check` and `--help` stay
fast and importing the package loads no database driver.
"""

from agor_schema.version import __version__ as __version__

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (app start-up)

if TYPE_CHECKING:
    import os

    from agor_schema.run_results import MigrateResult, StatusResult
del TYPE_CHECKING  # not a public name

__all__ = [
    "ConnectionFailed", "LockTimeoutError", "MigrateResult", "MigrationFailed",
    "MigrationRefused", "RunnerError", "RunnerInputError", "StatusResult", "migrate", "status",
]

_FROM_RUN_RESULTS = frozenset(__all__) - {"migrate", "status"}


def migrate(url: "str | None" = None, migrations_dir: "str | os.PathLike[str] | None" = None,
            **options: object) -> "MigrateResult":
    """Apply every pending migration of the dialect that `url` names (default: the
    `[tool.agorschema] database` setting); returns a MigrateResult, raises a RunnerError.
    Options: dry_run, baseline, allow_out_of_order, allow_changed, table, schema,
    lock_timeout, project, progress (see agor_schema.runner.migrate)."""
    from agor_schema.runner import migrate as _migrate

    return _migrate(url, migrations_dir=migrations_dir, **options)


def status(url: "str | None" = None, migrations_dir: "str | os.PathLike[str] | None" = None,
           **options: object) -> "StatusResult":
    """Applied / pending migrations and problems, read-only; returns a StatusResult."""
    from agor_schema.runner import status as _status

    return _status(url, migrations_dir=migrations_dir, **options)


def __getattr__(name: str) -> object:  # PEP 562: lazy attributes
    if name in _FROM_RUN_RESULTS:
        from agor_schema import run_results

        return getattr(run_results, name)
    raise AttributeError(f"module 'agor_schema' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*__all__, "__version__"])
