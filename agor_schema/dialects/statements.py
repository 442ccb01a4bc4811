"""Statement-level reading of migration SQL: splitting, transaction control, the marker.

The runner must know where each statement starts and ends (a hand-written file may hold
several statements without `--> statement-breakpoint`) and whether a statement is
transaction control, because such a file runs *as written* (DESIGN.md §11). Both
questions are answered on statement boundaries found by a scanner that knows quotes,
comments, dollar quotes and bodies (PL/pgSQL `DO $$ BEGIN … END $$`, SQLite trigger
`BEGIN … END`, PostgreSQL `BEGIN ATOMIC … END`), so a `BEGIN` or `COMMIT` inside a body or a
string is never mistaken for transaction control.

The lexical rules differ per engine; each runtime picks its splitter. Classification is
the same for both: a statement is transaction control when its first keyword says so.
"""

from __future__ import annotations

import re
import sqlite3

from agor_schema.journal import has_code, skip_space_and_comments

NO_TRANSACTION_MARKER = "-- agorschema:no-transaction"
_MARKER = re.compile(r"\A\ufeff?[ \t]*--[ \t]*agorschema:no-transaction[ \t]*\r?(?:\n|\Z)", re.I)

# kinds of transaction control
BEGIN, COMMIT, ROLLBACK, ROLLBACK_TO, SAVEPOINT, RELEASE, OTHER = (
    "begin", "commit", "rollback", "rollback_to", "savepoint", "release", "other")

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_NOISE = {"WORK", "TRANSACTION", "DEFERRED", "IMMEDIATE", "EXCLUSIVE"}


def has_no_transaction_marker(text: str) -> bool:
    """True when the file's first line is `-- agorschema:no-transaction` (any case)."""
    return _MARKER.match(text) is not None


def code_of(sql: str) -> str:
    """A statement's text from its first keyword (leading comments dropped), stripped."""
    return sql[skip_space_and_comments(sql):].strip()


def _words(sql: str, limit: int) -> list[str]:
    """The first `limit` keywords of a statement, upper-cased, comments skipped."""
    words: list[str] = []
    pos = skip_space_and_comments(sql)
    while len(words) < limit:
        match = _WORD.match(sql, pos)
        if match is None:
            break
        words.append(match.group(0).upper())
        pos = skip_space_and_comments(sql, match.end())
    return words


def transaction_control(sql: str) -> str | None:
    """The kind of transaction control `sql` (one statement) is, or None.

    Covers both engines' spellings: BEGIN [DEFERRED|IMMEDIATE|EXCLUSIVE|WORK|TRANSACTION],
    START TRANSACTION, COMMIT/END [WORK|TRANSACTION] [AND [NO] CHAIN], ROLLBACK/ABORT
    [WORK|TRANSACTION] [TO [SAVEPOINT] name], SAVEPOINT, RELEASE [SAVEPOINT], and
    PostgreSQL's two-phase PREPARE TRANSACTION / COMMIT PREPARED / ROLLBACK PREPARED.
    """
    words = _words(sql, 4)
    if not words:
        return None
    first, rest = words[0], [w for w in words[1:] if w not in _NOISE]
    if first == "BEGIN":
        return BEGIN
    if first == "START" and words[1:2] == ["TRANSACTION"]:
        return BEGIN
    if first in ("COMMIT", "END"):
        return OTHER if rest[:1] == ["PREPARED"] else COMMIT
    if first in ("ROLLBACK", "ABORT"):
        if rest[:1] == ["PREPARED"]:
            return OTHER
        return ROLLBACK_TO if rest[:1] == ["TO"] else ROLLBACK
    if first == "SAVEPOINT":
        return SAVEPOINT
    if first == "RELEASE":
        return RELEASE
    if first == "PREPARE" and words[1:2] == ["TRANSACTION"]:
        return OTHER
    return None


def savepoint_name(sql: str) -> str | None:
    """The savepoint a SAVEPOINT / RELEASE / ROLLBACK TO statement names (case-folded)."""
    words = [w for w in _words(sql, 6)[1:] if w not in _NOISE | {"SAVEPOINT", "TO"}]
    if words:
        return words[0].lower()
    quoted = re.search(r'"((?:[^"]|"")+)"\s*;?\s*\Z', sql)
    return quoted.group(1).replace('""', '"') if quoted else None


# --- SQLite ---------------------------------------------------------------------------------


def split_sqlite(sql: str) -> list[tuple[int, str]]:
    """(offset of code start, text) of each statement, code-less pieces dropped.

    Boundaries are where `sqlite3.complete_statement` (SQLite's own tokenizer: quotes,
    comments, trigger bodies) says a statement is complete.
    """
    pieces: list[tuple[int, str]] = []
    start = 0
    pos = sql.find(";")
    while pos >= 0:
        candidate = sql[start : pos + 1]
        if sqlite3.complete_statement(candidate):
            if has_code(candidate):
                pieces.append((start + skip_space_and_comments(candidate), candidate))
            start = pos + 1
        pos = sql.find(";", pos + 1)
    tail = sql[start:]
    if has_code(tail):
        pieces.append((start + skip_space_and_comments(tail), tail))
    return pieces


# --- PostgreSQL -----------------------------------------------------------------------------

_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*)?\$")
_IDENT_CHAR = re.compile(r"[A-Za-z0-9_$\x80-\uffff]")


def _is_ident_char(ch: str) -> bool:
    return bool(ch) and _IDENT_CHAR.match(ch) is not None


class _PostgresScanner:
    """psql's rules: quotes, E'' escapes, dollar quotes, nested comments, parentheses and
    `BEGIN ATOMIC … END` bodies; a `;` outside all of them ends a statement."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.pos = 0
        self.parens = 0
        self.atomic = 0  # depth of BEGIN ATOMIC bodies
        self.cases = 0  # CASE … END inside an atomic body
        self.previous_word = ""

    def statements(self) -> list[tuple[int, str]]:
        sql, pieces, start = self.sql, [], 0
        n = len(sql)
        while self.pos < n:
            end = self._step()
            if end is not None:
                self._emit(pieces, start, end)
                start = end
        self._emit(pieces, start, n)
        return pieces

    def _emit(self, pieces: list[tuple[int, str]], start: int, end: int) -> None:
        text = self.sql[start:end]
        if has_code(text):
            pieces.append((start + skip_space_and_comments(text), text))

    def _step(self) -> int | None:
        """Advance over one token; return the end offset when it closed a statement."""
        sql, pos = self.sql, self.pos
        ch = sql[pos]
        if ch == "'":
            escapes = pos > 0 and sql[pos - 1] in "eE" and not _is_ident_char(sql[pos - 2 : pos - 1])
            self.pos = self._skip_string(pos + 1, escapes)
        elif ch == '"':
            self.pos = self._skip_quoted(pos + 1, '"')
        elif ch == "-" and sql.startswith("--", pos):
            end = sql.find("\n", pos)
            self.pos = len(sql) if end < 0 else end + 1
        elif ch == "/" and sql.startswith("/*", pos):
            self.pos = self._skip_block_comment(pos)
        elif ch == "$" and not _is_ident_char(sql[pos - 1 : pos] if pos else ""):
            match = _DOLLAR_TAG.match(sql, pos)
            if match:
                end = sql.find(match.group(0), match.end())
                self.pos = len(sql) if end < 0 else end + len(match.group(0))
            else:
                self.pos = pos + 1
        elif ch == "(":
            self.parens += 1
            self.pos = pos + 1
        elif ch == ")":
            self.parens = max(0, self.parens - 1)
            self.pos = pos + 1
        elif ch == ";":
            self.pos = pos + 1
            if self.parens == 0 and self.atomic == 0:
                self.previous_word = ""
                return self.pos
        elif ch.isalpha() or ch == "_":
            match = _WORD.match(sql, pos)
            end = match.end() if match else pos + 1
            while end < len(sql) and _is_ident_char(sql[end]):
                end += 1
            self._word(sql[pos:end].upper())
            self.pos = end
        else:
            self.pos = pos + 1
        return None

    def _word(self, word: str) -> None:
        if word == "ATOMIC" and self.previous_word == "BEGIN":
            self.atomic += 1
        elif self.atomic and word == "CASE":
            self.cases += 1
        elif self.atomic and word == "END":
            if self.cases:
                self.cases -= 1
            else:
                self.atomic -= 1
        self.previous_word = word

    def _skip_string(self, pos: int, escapes: bool) -> int:
        sql, n = self.sql, len(self.sql)
        while pos < n:
            ch = sql[pos]
            if escapes and ch == "\\":
                pos += 2
            elif ch == "'":
                if sql.startswith("''", pos):
                    pos += 2
                else:
                    return pos + 1
            else:
                pos += 1
        return n

    def _skip_quoted(self, pos: int, quote: str) -> int:
        sql, n = self.sql, len(self.sql)
        while pos < n:
            end = sql.find(quote, pos)
            if end < 0:
                return n
            if sql.startswith(quote * 2, end):
                pos = end + 2
            else:
                return end + 1
        return n

    def _skip_block_comment(self, pos: int) -> int:
        sql, n, depth = self.sql, len(self.sql), 0
        while pos < n:
            if sql.startswith("/*", pos):
                depth += 1
                pos += 2
            elif sql.startswith("*/", pos):
                depth -= 1
                pos += 2
                if depth == 0:
                    return pos
            else:
                pos += 1
        return n


def split_postgres(sql: str) -> list[tuple[int, str]]:
    """(offset of code start, text) of each statement, code-less pieces dropped."""
    return _PostgresScanner(sql).statements()
