"""The low-level drizzle-kit folder format: `meta/_journal.json` and the `<tag>.sql` files.

Shared by the runner (reads) and the migration writer (writes). Byte-exactness matters
on the write side (drizzle-kit rewrites the journal with 2-space JSON and no trailing
newline) and hashing matters on the read side (drizzle-orm stores sha256 of the file).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BREAKPOINT = "--> statement-breakpoint"
JOURNAL_VERSION = "7"
JOURNAL_PATH = Path("meta") / "_journal.json"


class JournalError(Exception):
    """The folder's journal or a file it names is missing or malformed."""


@dataclass(frozen=True)
class JournalEntry:
    """One `entries[]` item; array order is apply order (drizzle never sorts)."""

    idx: int
    version: str
    when: int
    tag: str
    breakpoints: bool = True

    def to_dict(self) -> dict[str, Any]:
        """drizzle-kit's key order: idx, version, when, tag, breakpoints."""
        return {
            "idx": self.idx,
            "version": self.version,
            "when": self.when,
            "tag": self.tag,
            "breakpoints": self.breakpoints,
        }


@dataclass
class Journal:
    """`meta/_journal.json`: the top-level version is always "7" in drizzle-kit 0.2x-0.31."""

    dialect: str
    entries: list[JournalEntry] = field(default_factory=list)
    version: str = JOURNAL_VERSION

    def to_dict(self) -> dict[str, Any]:
        """drizzle-kit's key order: version, dialect, entries."""
        return {
            "version": self.version,
            "dialect": self.dialect,
            "entries": [entry.to_dict() for entry in self.entries],
        }


def journal_path(folder: str | os.PathLike[str]) -> Path:
    """`<folder>/meta/_journal.json`."""
    return Path(folder) / JOURNAL_PATH


def _entry(raw: Any, position: int, path: Path) -> JournalEntry:
    if not isinstance(raw, dict):
        raise JournalError(f"{path}: entries[{position}] is not an object")
    try:
        when = raw["when"]
        tag = raw["tag"]
    except KeyError as exc:
        raise JournalError(f"{path}: entries[{position}] has no {exc.args[0]!r}") from None
    if isinstance(when, bool) or not isinstance(when, (int, float)):
        raise JournalError(f"{path}: entries[{position}].when must be a number, got {when!r}")
    if not isinstance(tag, str) or not tag:
        raise JournalError(f"{path}: entries[{position}].tag must be a non-empty string")
    return JournalEntry(
        idx=int(raw.get("idx", position)),
        version=str(raw.get("version", "")),
        when=int(when),
        tag=tag,
        breakpoints=bool(raw.get("breakpoints", True)),
    )


def read_journal(folder: str | os.PathLike[str]) -> Journal:
    """Parse the journal; any JSON layout is accepted (reformatters rewrite it)."""
    path = journal_path(folder)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise JournalError(
            f"{path}: not found (is {folder} a drizzle migrations folder?)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JournalError(f"{path}: cannot read journal: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise JournalError(f"{path}: expected an object with an 'entries' array")
    entries = [_entry(raw, i, path) for i, raw in enumerate(data["entries"])]
    return Journal(
        dialect=str(data.get("dialect", "")),
        entries=entries,
        version=str(data.get("version", JOURNAL_VERSION)),
    )


def journal_text(journal: Journal) -> str:
    """The exact text drizzle-kit writes (2-space indent, no trailing newline)."""
    return json.dumps(journal.to_dict(), indent=2, ensure_ascii=False)


def write_journal(folder: str | os.PathLike[str], journal: Journal) -> Path:
    """Write `meta/_journal.json` byte-for-byte as drizzle-kit would; return its path."""
    path = journal_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(journal_text(journal).encode("utf-8"))
    return path


def file_hash(data: bytes) -> str:
    """Lowercase sha256 hex: what drizzle-orm stores in `__drizzle_migrations.hash`."""
    return hashlib.sha256(data).hexdigest()


# --- SQL text -----------------------------------------------------------------------------


def skip_space_and_comments(text: str, pos: int = 0) -> int:
    """Offset of the first character at or after `pos` that is not whitespace or a comment."""
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch.isspace():
            pos += 1
        elif text.startswith("--", pos):
            end = text.find("\n", pos)
            pos = n if end < 0 else end + 1
        elif text.startswith("/*", pos):
            end = text.find("*/", pos + 2)
            pos = n if end < 0 else end + 2
        else:
            return pos
    return n


def has_code(text: str) -> bool:
    """False for chunks that are empty, whitespace, comments or stray semicolons only."""
    pos = skip_space_and_comments(text)
    while pos < len(text):
        if text[pos] != ";":
            return True
        pos = skip_space_and_comments(text, pos + 1)
    return False


def line_at(text: str, offset: int) -> int:
    """1-based line number of `offset` in `text`."""
    return text.count("\n", 0, offset) + 1


@dataclass(frozen=True)
class Chunk:
    """A breakpoint-separated piece of a file, verbatim.

    `line` is the file line its code starts on (for messages); `first_line` the line the
    raw piece starts on, so positions inside `sql` map to file lines.
    """

    sql: str
    line: int
    first_line: int


def split_chunks(sql_text: str) -> list[Chunk]:
    """Split on the marker like drizzle-orm (anywhere, untrimmed); drop code-less chunks."""
    chunks: list[Chunk] = []
    offset = 0
    for piece in sql_text.split(BREAKPOINT):
        if has_code(piece):
            start = offset + skip_space_and_comments(piece)
            first = line_at(sql_text, offset)
            chunks.append(Chunk(sql=piece, line=line_at(sql_text, start), first_line=first))
        offset += len(piece) + len(BREAKPOINT)
    return chunks


def split_statements(sql_text: str) -> list[str]:
    """The chunks' SQL only: split on the marker, empty and comment-only chunks dropped."""
    return [chunk.sql for chunk in split_chunks(sql_text)]


# --- migration files ------------------------------------------------------------------------


@dataclass(frozen=True)
class MigrationFile:
    """A journal entry together with its file's bytes and drizzle-compatible hash."""

    entry: JournalEntry
    filename: str  # the path as a string: Path objects cost more than the read at startup
    sql: bytes
    hash: str

    @property
    def path(self) -> Path:
        return Path(self.filename)

    @property
    def tag(self) -> str:
        return self.entry.tag

    @property
    def when(self) -> int:
        return self.entry.when

    @property
    def name(self) -> str:
        """`<tag>.sql`, how messages name the file."""
        return os.path.basename(self.filename)

    @property
    def text(self) -> str:
        """The SQL as text (invalid UTF-8 replaced, as Node would)."""
        return self.sql.decode("utf-8", errors="replace")

    @property
    def chunks(self) -> list[Chunk]:
        """Executable chunks with their starting line numbers in the file."""
        return split_chunks(self.text)


def read_migration(folder: str | os.PathLike[str], entry: JournalEntry) -> MigrationFile:
    """Read one entry's file and hash its bytes."""
    filename = os.path.join(folder, entry.tag + ".sql")
    try:
        with open(filename, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise JournalError(
            f"{filename}: listed in the journal as {entry.tag!r} but the file is missing"
        ) from None
    except OSError as exc:
        raise JournalError(f"{filename}: cannot read: {exc}") from None
    return MigrationFile(entry=entry, filename=filename, sql=data, hash=file_hash(data))


def read_migrations(folder: str | os.PathLike[str]) -> tuple[Journal, list[MigrationFile]]:
    """The journal and every file it lists, in journal order."""
    journal = read_journal(folder)
    return journal, [read_migration(folder, entry) for entry in journal.entries]
