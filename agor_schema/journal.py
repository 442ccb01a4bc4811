"""The low-level drizzle-kit folder format: `meta/_journal.json` and the `<tag>.sql` files.

Shared by the runner (reads) and the migration writer (writes). Byte-exactness matters
on the write side (drizzle-kit rewrites the journal with 2-space JSON and no trailing
newline) and hashing matters on the read side (drizzle-orm stores sha256 of the file).

Every app start-up reads this module (the runner's up-to-date check), so its records are
NamedTuples and plain classes, not dataclasses: on Python 3.11 importing `dataclasses`
(it imports `inspect`) and generating each class's methods cost more than the whole check.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from agor_schema.records import record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (app start-up)

if TYPE_CHECKING:
    from typing import Any

BREAKPOINT = "--> statement-breakpoint"
JOURNAL_VERSION = "7"
JOURNAL_PATH = Path("meta") / "_journal.json"


class JournalError(Exception):
    """The folder's journal or a file it names is missing or malformed. `where` holds the
    envelope fields that apply (file, line, col, field, migration)."""

    def __init__(self, message: str = "", **where: Any) -> None:
        super().__init__(message)
        self.where = {k: v for k, v in where.items() if v is not None}


class JournalWhenError(JournalError):
    """A `when` drizzle-orm cannot compare exactly (negative, beyond 2^53), or no room above
    the newest one: an input error at the value's file:line:col (exit 2)."""


@record
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


class Journal:
    """`meta/_journal.json`: the top-level version is always "7" in drizzle-kit 0.2x-0.31."""

    def __init__(self, dialect: str, entries: list[JournalEntry] | None = None,
                 version: str = JOURNAL_VERSION) -> None:
        self.dialect = dialect
        self.entries: list[JournalEntry] = [] if entries is None else entries
        self.version = version

    def __repr__(self) -> str:
        return f"Journal(dialect={self.dialect!r}, entries={self.entries!r}, " \
            f"version={self.version!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Journal):
            return NotImplemented
        return (self.dialect, self.entries, self.version) == \
            (other.dialect, other.entries, other.version)

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


MAX_WHEN = 2**53  # drizzle-orm reads `when` as a JavaScript number: larger is not exact


class EncodingError(JournalError):
    """A migration file that is not valid UTF-8 (refused by name, never "repaired")."""


def _int_field(raw: dict, key: str, position: int, path: Path) -> int:
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise JournalError(
            f"{path}: entries[{position}].{key} must be an integer, got {json.dumps(value)}")
    return value


def when_location(path: Path, position: int, text: str | None = None) -> dict[str, Any]:
    """file, line and col of entries[position].when in the journal text (1-based), as far as
    they can be found (the n-th `"when":` key; entries hold one each)."""
    import re

    where: dict[str, Any] = {"file": str(path), "field": "when"}
    try:
        text = text if text is not None else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return where
    found = list(re.finditer(r'(?<!\\)"when"\s*:\s*', text))
    if position < len(found):
        offset = found[position].end()
        where["line"] = text.count("\n", 0, offset) + 1
        where["col"] = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return where


def located(where: dict[str, Any]) -> str:
    """`file:line:col` (or as much of it as is known)."""
    return ":".join(str(where[k]) for k in ("file", "line", "col") if k in where)


def _entry(raw: Any, position: int, path: Path, text: str | None = None) -> JournalEntry:
    """One entry, checked field by field: a wrong type anywhere is refused by name."""
    if not isinstance(raw, dict):
        raise JournalError(f"{path}: entries[{position}] is not an object")
    for key in ("when", "tag"):
        if key not in raw:
            raise JournalError(f"{path}: entries[{position}] has no {key!r}")
    when = _int_field(raw, "when", position, path)
    if not 0 <= when <= MAX_WHEN:
        tag = raw.get("tag") if isinstance(raw.get("tag"), str) else None
        where = when_location(path, position, text)
        raise JournalWhenError(
            f"{located(where)}: entries[{position}].when is {when}: it must be between 0 and "
            "2^53 (milliseconds since 1970; drizzle-orm reads it as a JavaScript number and "
            "compares it with the newest applied one)", migration=tag, **where)
    idx = _int_field(raw, "idx", position, path) if "idx" in raw else position
    tag = raw["tag"]
    if not isinstance(tag, str) or not tag.strip():
        raise JournalError(
            f"{path}: entries[{position}].tag must be a non-empty string, got {json.dumps(tag)}")
    if "/" in tag or "\\" in tag or tag.startswith(".") or "\x00" in tag:
        raise JournalError(
            f"{path}: entries[{position}].tag {tag!r} is not a file name in this folder")
    if not tag.isprintable():  # a newline, an escape, a bidi override: forged output lines
        raise JournalError(
            f"{path}: entries[{position}].tag {tag!r} holds a control or invisible character; "
            "every message naming the migration would print it: rename the file and the tag")
    version = raw.get("version", "")
    if not isinstance(version, str):
        raise JournalError(f"{path}: entries[{position}].version must be a string, got "
                           f"{json.dumps(version)}")
    breakpoints = raw.get("breakpoints", True)
    if not isinstance(breakpoints, bool):
        raise JournalError(f"{path}: entries[{position}].breakpoints must be true or false, "
                           f"got {json.dumps(breakpoints)}")
    return JournalEntry(idx=idx, version=version, when=when, tag=tag, breakpoints=breakpoints)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise JournalError(f"key {twice[0]!r} appears twice in one object")
    return dict(pairs)


def read_journal(folder: str | os.PathLike[str]) -> Journal:
    """Parse and validate the journal; any JSON layout is accepted (reformatters rewrite it).

    Malformed or ambiguous journals are refused by name (DESIGN.md §6): wrong JSON types,
    `idx`/`when` not integers, `when` outside 0..2^53, a tag listed twice, a key twice.
    """
    path = journal_path(folder)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except FileNotFoundError:
        raise JournalError(
            f"{path}: not found (is {folder} a drizzle migrations folder?)"
        ) from None
    except JournalError as exc:
        raise JournalError(f"{path}: {exc}") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise JournalError(f"{path}: cannot read journal: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise JournalError(f"{path}: expected an object with an 'entries' array")
    for key in ("version", "dialect"):
        if key in data and not isinstance(data[key], str):
            raise JournalError(f"{path}: {key} must be a string, got {json.dumps(data[key])}")
    entries = [_entry(raw, i, path, text) for i, raw in enumerate(data["entries"])]
    first: dict[str, int] = {}
    for n, entry in enumerate(entries):
        if entry.tag in first:
            raise JournalError(
                f"{path}: tag {entry.tag!r} is listed twice (entries[{first[entry.tag]}] and "
                f"entries[{n}]), so its migration would run twice; remove one entry (a git "
                "merge of _journal.json often leaves such a duplicate)")
        first[entry.tag] = n
    return Journal(
        dialect=str(data.get("dialect", "")),
        entries=entries,
        version=str(data.get("version", JOURNAL_VERSION)),
    )


def journal_warnings(entries: list[JournalEntry]) -> list[tuple[str, str]]:
    """(tag, message) for entries whose `when` is not above every earlier entry's.

    Not refusals: agorschema matches entries by identity and applies them. drizzle-orm's
    migrator applies an entry only when its `when` is above the newest applied
    `created_at`, so it skips such an entry on a database that already has the earlier one.
    """
    out: list[tuple[str, str]] = []
    top: JournalEntry | None = None
    for entry in entries:
        if top is not None and entry.when <= top.when:
            how = "equals" if entry.when == top.when else "is before"
            out.append((entry.tag, (
                f"{entry.tag}: its when {entry.when} {how} the when of the earlier entry "
                f"{top.tag} ({top.when}); drizzle-orm's runtime would skip it on any database "
                f"where {top.tag} is already applied (agorschema matches entries by identity "
                "and applies it)")))
        if top is None or entry.when > top.when:
            top = entry
    return out


def journal_text(journal: Journal) -> str:
    """The exact text drizzle-kit writes (2-space indent, no trailing newline)."""
    return json.dumps(journal.to_dict(), indent=2, ensure_ascii=False)


def write_journal(folder: str | os.PathLike[str], journal: Journal) -> Path:
    """Write `meta/_journal.json` byte-for-byte as drizzle-kit would; return its path."""
    path = journal_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(journal_text(journal).encode("utf-8"))
    return path


# Which SHA-256 computes the (identical) digest is a start-up cost question: `hashlib` loads
# OpenSSL (~3 ms) but then hashes ~5x faster than CPython's built-in module, which imports in
# microseconds (the standard library's `random` imports its SHA-512 the same way). A typical
# history (tens of files, a few hundred KB) is hashed with the built-in one; once a process
# has hashed more than HASHLIB_AFTER bytes, OpenSSL's repays its import.
try:
    from _sha2 import sha256 as _builtin_sha256  # Python 3.12+
except ImportError:  # pragma: no cover - depends on the Python version and build
    try:
        from _sha256 import sha256 as _builtin_sha256  # Python 3.11
    except ImportError:
        from hashlib import sha256 as _builtin_sha256

HASHLIB_AFTER = 512 * 1024
_hashed_bytes = 0


def file_hash(data: bytes) -> str:
    """Lowercase sha256 hex: what drizzle-orm stores in `__drizzle_migrations.hash`."""
    global _hashed_bytes
    _hashed_bytes += len(data)
    if _hashed_bytes <= HASHLIB_AFTER:
        return _builtin_sha256(data).hexdigest()
    import hashlib

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


def read_snapshot(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A snapshot file's JSON object; JournalError naming the file when it cannot be read,
    is not UTF-8 JSON, nests too deep for the parser, or is not an object (a hand edit or a
    hostile commit must be refused by name, never crash a command)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise JournalError(f"{path}: cannot read snapshot: {exc}") from None
    if not isinstance(data, dict):
        raise JournalError(f"{path}: a snapshot must be a JSON object, got "
                           f"{type(data).__name__}")
    return data


def line_at(text: str, offset: int) -> int:
    """1-based line number of `offset` in `text`."""
    return text.count("\n", 0, offset) + 1


@record
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


@record
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
        """The SQL as text (read_migration refused files that are not valid UTF-8)."""
        return self.sql.decode("utf-8", errors="replace")

    @property
    def has_statements(self) -> bool:
        """False for a file of comments and whitespace only (e.g. an untouched template)."""
        return has_code(self.text)

    @property
    def chunks(self) -> list[Chunk]:
        """Executable chunks with their starting line numbers in the file."""
        return split_chunks(self.text)


def _position(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    return line, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


def check_sql_bytes(filename: str, data: bytes) -> None:
    """Refuse bytes that are not UTF-8 text a database accepts, naming line and column:
    invalid UTF-8 (drizzle-orm would silently replace it with U+FFFD and run something else
    than the file says), a leading byte order mark (the engines disagree about it) and NUL
    bytes (neither SQLite nor PostgreSQL take them in SQL)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _position(data, exc.start)
        raise EncodingError(
            f"{filename}:{line}:{col}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}: {exc.reason}); save the file as UTF-8") from None
    if data.startswith(b"\xef\xbb\xbf"):
        raise EncodingError(
            f"{filename}:1:1: starts with a UTF-8 byte order mark; PostgreSQL reads it as part "
            "of the first statement (a syntax error) while SQLite skips it, so the engines would "
            "disagree: save the file as UTF-8 without BOM")
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _position(data, nul)
        raise EncodingError(
            f"{filename}:{line}:{col}: contains a NUL byte (offset {nul}); SQL text cannot "
            "hold one (write it as an escape, e.g. '\\x00'::bytea or char(0))")


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
    check_sql_bytes(filename, data)
    return MigrationFile(entry=entry, filename=filename, sql=data, hash=file_hash(data))


def read_migrations(folder: str | os.PathLike[str]) -> tuple[Journal, list[MigrationFile]]:
    """The journal and every file it lists, in journal order."""
    journal = read_journal(folder)
    return journal, [read_migration(folder, entry) for entry in journal.entries]
