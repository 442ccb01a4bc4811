"""agorschema: one YAML schema, SQLite and PostgreSQL DDL, drizzle-kit compatible migrations.

The public API is imported lazily so that `agorschema check` and `--help` stay fast.
"""

from __future__ import annotations

from typing import Any

__all__ = ["migrate", "status"]
__version__ = "0.1.0"


def migrate(url: str | None = None, migrations_dir: Any = None, **options: Any) -> Any:
    """Apply every pending migration of the dialect that `url` names (default: the
    `[tool.agorschema] database` setting); see runner.migrate."""
    from agor_schema.runner import migrate as _migrate

    return _migrate(url, migrations_dir=migrations_dir, **options)


def status(url: str | None = None, migrations_dir: Any = None, **options: Any) -> Any:
    """Report applied / pending migrations and problems (see runner.status)."""
    from agor_schema.runner import status as _status

    return _status(url, migrations_dir=migrations_dir, **options)
