"""Migration folders in drizzle-kit's layout: next tag, SQL file, snapshot, journal entry.

`drizzle/<dialect>/NNNN_<slug>.sql`, `meta/NNNN_snapshot.json`, `meta/_journal.json`, as
drizzle-kit 0.31 writes them, plus `drizzle/agorschema.sum`, the checksums of everything
compile wrote, so `check` can tell a hand edit from a generated file.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from agor_schema import ops as o
from agor_schema.journal import (
    BREAKPOINT,
    MAX_WHEN,
    Journal,
    JournalEntry,
    JournalError,
    JournalWhenError,
    journal_path,
    located,
    read_journal,
    read_snapshot,
    when_location,
)
from agor_schema.snapshot import ORIGIN_ID, Snapshot, chain, dump_snapshot_json

CUSTOM_PLACEHOLDER = "-- Custom SQL migration file, put your code below! --"
_SLUG_UNSAFE = re.compile(r"[^a-z0-9_]+")


@dataclass
class FolderState:
    """What a dialect's migration folder holds now."""

    folder: Path
    journal: Journal
    last_snapshot: dict | None  # JSON of the lexicographically last meta/*_snapshot.json
    snapshot_files: list[Path] = field(default_factory=list)

    @property
    def last_id(self) -> str:
        return (self.last_snapshot or {}).get("id", ORIGIN_ID)

    def followed_by(self, files: MigrationFiles) -> FolderState:
        """The folder as it will be once `files` are written (for a second new migration)."""
        journal = Journal(dialect=self.journal.dialect, version=self.journal.version,
                          entries=[*self.journal.entries, files.entry])
        snapshots = [p for p in files.paths(self.folder) if p.suffix == ".json"]
        return FolderState(self.folder, journal, json.loads(files.snapshot),
                           [*self.snapshot_files, *snapshots])


@dataclass
class MigrationFiles:
    """The files of one new migration, as bytes, before anything is written."""

    dialect: str
    tag: str
    entry: JournalEntry
    sql: str
    snapshot: str
    custom: bool = False

    def paths(self, folder: Path) -> dict[Path, str]:
        prefix = self.tag.split("_", 1)[0]
        return {
            folder / f"{self.tag}.sql": self.sql,
            folder / "meta" / f"{prefix}_snapshot.json": self.snapshot,
        }


def read_folder(folder: Path, journal_dialect: str) -> FolderState:
    """Journal and last snapshot of a folder; an absent folder is an empty history."""
    try:
        journal = read_journal(folder)
    except JournalError:
        if (folder / "meta" / "_journal.json").exists():
            raise
        journal = Journal(dialect=journal_dialect)
    meta = folder / "meta"
    files = sorted(p for p in meta.glob("*.json") if not p.name.startswith("_")) \
        if meta.is_dir() else []
    last = read_snapshot(files[-1]) if files else None
    return FolderState(folder, journal, last, files)


def next_when(journal: Journal, folder: Path | None = None) -> int:
    """Now in epoch ms (or SOURCE_DATE_EPOCH, for reproducible output), above every `when`;
    refused (JournalWhenError) when that is beyond 2^53, where drizzle-orm's JavaScript
    numbers stop telling it from the one before."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    now = int(epoch) * 1000 if epoch and epoch.isdigit() else int(time.time() * 1000)
    latest = max((e.when for e in journal.entries), default=0)
    when = max(now, latest + 1)
    if when > MAX_WHEN:
        where: dict = {"field": "when"}
        if now <= latest and folder is not None:
            position = max(range(len(journal.entries)), key=lambda i: journal.entries[i].when)
            where.update(when_location(journal_path(folder), position),
                         migration=journal.entries[position].tag)
            why = (f"the newest when ({latest}) leaves no room below 2^53 for a later one; "
                   "lower it (milliseconds since 1970)")
        else:
            why = "SOURCE_DATE_EPOCH is beyond 2^53 milliseconds; unset it or lower it"
        at = f"{located(where)}: " if "file" in where else ""
        raise JournalWhenError(f"{at}the next migration's when would be {when}: {why} "
                               "(drizzle-orm compares them as JavaScript numbers)", **where)
    return when


def next_tag(journal: Journal, slug: str) -> tuple[int, str]:
    idx = journal.entries[-1].idx + 1 if journal.entries else 0
    return idx, f"{idx:04d}_{slug}"


SLUG_MAX = 64
SLUG_RULE = f"letters, digits, '_' and '-' only, 1 to {SLUG_MAX} characters"
_SLUG = re.compile(rf"[A-Za-z0-9_-]{{1,{SLUG_MAX}}}")


def slug_problem(name: str) -> str | None:
    """Why `name` is not a migration slug (it becomes part of a file name), or None."""
    if _SLUG.fullmatch(name):
        return None
    shown = name if len(name) <= 80 else name[:77] + "..."
    return f"{shown!r} is not a migration name: use {SLUG_RULE} (e.g. backfill_emails)"


def slug_for(operations: list[o.Op], name: str | None = None) -> str:
    """--name, else a name derived from the change: add_users_email, create_posts, ..."""
    if name:
        return name
    if operations and all(isinstance(op, o.CreateTable) for op in operations) \
            and len(operations) > 3:
        return "init"
    first = operations[0]
    words = {
        o.CreateTable: lambda op: f"create_{op.table}",
        o.DropTable: lambda op: f"drop_{op.table}",
        o.RenameTable: lambda op: f"rename_{op.old}_to_{op.table}",
        o.AddColumn: lambda op: f"add_{op.table}_{op.column.name}",
        o.DropColumn: lambda op: f"drop_{op.table}_{op.column.name}",
        o.RenameColumn: lambda op: f"rename_{op.table}_{op.old}_to_{op.new}",
        o.AlterColumn: lambda op: f"alter_{op.table}_{op.new.name}",
        o.CreateIndex: lambda op: f"add_index_{op.index.name}",
        o.DropIndex: lambda op: f"drop_index_{op.index.name}",
        o.RenameIndex: lambda op: f"rename_index_{op.old}",
        o.AddCheck: lambda op: f"add_check_{op.check.name}",
        o.DropCheck: lambda op: f"drop_check_{op.check.name}",
        o.AddForeignKey: lambda op: f"add_fk_{op.table}_{'_'.join(op.fk.columns_from)}",
        o.DropForeignKey: lambda op: f"drop_fk_{op.table}_{'_'.join(op.fk.columns_from)}",
        o.AddUnique: lambda op: f"add_unique_{op.unique.name}",
        o.DropUnique: lambda op: f"drop_unique_{op.unique.name}",
        o.AddPrimaryKey: lambda op: f"add_pk_{op.table}",
        o.CreateEnum: lambda op: f"create_enum_{op.enum.name}",
        o.DropEnum: lambda op: f"drop_enum_{op.enum.name}",
        o.RenameEnum: lambda op: f"rename_enum_{op.old.name}_to_{op.new.name}",
        o.AddEnumValue: lambda op: f"add_{op.enum.name}_{op.value}",
        o.RenameEnumValue: lambda op: f"rename_{op.enum.name}_{op.old}_to_{op.new}",
        o.RebuildEnum: lambda op: f"rebuild_enum_{op.new.name}",
        o.DropPrimaryKey: lambda op: f"drop_pk_{op.table}",
    }
    make = words.get(type(first), lambda op: f"{op.kind}_{op.table}")
    slug = make(first)
    if len(operations) > 1:
        slug += "_and_more"
    slug = _SLUG_UNSAFE.sub("_", slug.lower()).strip("_")
    return slug[:60].rstrip("_") or "migration"


def sql_text(statements: list[str]) -> str:
    """Statements joined by drizzle's breakpoint marker plus newline, nothing after the last."""
    return (BREAKPOINT + "\n").join(statements)


def meta_renames(renamed_tables: dict, renamed_columns: dict) -> dict:
    """SQLite `_meta` records of this migration's renames, as drizzle-kit writes them."""
    return {
        "schemas": {},
        "tables": {f'"{old}"': f'"{new}"' for old, new in renamed_tables.items()},
        "columns": {f'"{t}"."{old}"': f'"{t}"."{new}"' for (t, old), new in renamed_columns.items()},
    }


def migration_files(dialect, state: FolderState, snapshot: Snapshot, statements: list[str],
                    slug: str, *, custom: bool = False, renames: dict | None = None
                    ) -> MigrationFiles:
    """Everything one new migration consists of; ids chain from the folder's last snapshot."""
    idx, tag = next_tag(state.journal, slug)
    snapshot.renames = renames or {}
    document = chain(snapshot, dialect, state.last_id, salt=tag if custom else "")
    entry = JournalEntry(idx=idx, version=dialect.snapshot_version,
                         when=next_when(state.journal, state.folder), tag=tag, breakpoints=True)
    # the template ends with a newline, so SQL appended to it (`echo ... >>`) starts a line
    text = CUSTOM_PLACEHOLDER + "\n" if custom else sql_text(statements)
    return MigrationFiles(dialect.name, tag, entry, text, dump_snapshot_json(document), custom)


def migration_sequence(dialect, state: FolderState, steps: list) -> list[MigrationFiles]:
    """Several new migrations in a row, each chained to the one before it (nothing written):
    `steps` are (snapshot, statements, slug, renames)."""
    journal = Journal(dialect=state.journal.dialect, entries=list(state.journal.entries),
                      version=state.journal.version)
    last = state.last_snapshot
    out: list[MigrationFiles] = []
    for i, (snapshot, statements, slug, renames) in enumerate(steps):
        files = migration_files(dialect, FolderState(state.folder, journal, last), snapshot,
                                statements, slug, renames=renames)
        journal.entries.append(files.entry)
        if i + 1 < len(steps):  # the next file chains to this one (parsing is not free)
            last = json.loads(files.snapshot)
        out.append(files)
    return out


def write_migration(state: FolderState, files: MigrationFiles) -> list[Path]:
    """Write the SQL file, the snapshot and the updated journal; return the paths written."""
    from agor_schema.journal import write_journal

    written = []
    for path, text in files.paths(state.folder).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        written.append(path)
    state.journal.entries.append(files.entry)
    written.append(write_journal(state.folder, state.journal))
    return written
