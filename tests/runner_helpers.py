"""Helpers for runner tests: hand-written drizzle folders and spawn-safe worker functions.

Worker functions live here (not in test modules) so that multiprocessing's spawn start
method can import them in child processes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agor_schema.journal import BREAKPOINT, Journal, JournalEntry, read_journal, write_journal

BASE_WHEN = 1_700_000_000_000


def sql_file(*statements: str) -> str:
    """Statements joined like drizzle-kit: marker plus newline, nothing after the last."""
    return (BREAKPOINT + "\n").join(statements)


def write_folder(
    folder: Path,
    migrations: Sequence[tuple[str, str]],
    dialect: str = "sqlite",
    whens: Sequence[int] | None = None,
) -> Path:
    """Write `<tag>.sql` files and a journal listing them in order; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for n, (tag, sql) in enumerate(migrations):
        (folder / f"{tag}.sql").write_text(sql, encoding="utf-8")
        when = whens[n] if whens is not None else BASE_WHEN + n * 1000
        version = "6" if dialect == "sqlite" else "7"
        entries.append(JournalEntry(idx=n, version=version, when=when, tag=tag))
    write_journal(folder, Journal(dialect="sqlite" if dialect == "sqlite" else "postgresql",
                                  entries=entries))
    return folder


def append_migration(folder: Path, tag: str, sql: str, when: int | None = None) -> None:
    """Add one migration at the end of an existing folder's journal."""
    journal = read_journal(folder)
    last = journal.entries[-1] if journal.entries else None
    idx = last.idx + 1 if last else 0
    when = when if when is not None else (last.when + 1000 if last else BASE_WHEN)
    version = last.version if last else "6"
    (folder / f"{tag}.sql").write_text(sql, encoding="utf-8")
    journal.entries.append(JournalEntry(idx=idx, version=version, when=when, tag=tag))
    write_journal(folder, journal)


def sqlite_rows(path: str | Path, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    """Run a read query on a SQLite file with a fresh connection."""
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def sqlite_path(url: str) -> str:
    return url.split("sqlite:///", 1)[1]


# --- spawn workers -------------------------------------------------------------------------


def migrate_worker(
    url: str, folder: str, start: Any, queue: Any, options: dict[str, Any] | None = None
) -> None:
    """Wait at the barrier, run migrate, report ("ok", applied tags) or ("error", msg).

    Imports happen before the barrier, so all workers really start together.
    """
    from agor_schema.dialects import runtime_for_url
    from agor_schema.runner import migrate

    runtime_for_url(url)
    start.wait(60)
    try:
        result = migrate(url, folder, migrator_lock_timeout=60, **(options or {}))
        queue.put(("ok", result.applied_tags))
    except Exception as exc:  # reported to the parent, which asserts on it
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


def slow_migrate_worker(url: str, folder: str, ready_file: str) -> None:
    """Run migrate (the test's slow migration makes it block); the parent kills us."""
    from agor_schema.runner import migrate

    Path(ready_file).write_text("started")
    migrate(url, folder, migrator_lock_timeout=60)


def dump_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True)
