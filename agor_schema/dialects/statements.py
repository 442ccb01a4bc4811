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

_ID = r"A-Za-z0-9_$\x80-\U0010ffff"  # characters that continue an identifier
_IDENT_CHAR = re.compile(rf"[{_ID}]")
# the next token that matters; everything between tokens is skipped by the regex engine
_TOKEN = re.compile(r"""['"();$]|--|/\*""")
# only bodies of `BEGIN ATOMIC` functions need keywords; most files have none
_GAP = r"(?:\s|--[^\n]*\n|/\*.*?\*/)+"  # space and comments between two words
_ATOMIC = re.compile(rf"(?<![{_ID}])BEGIN{_GAP}ATOMIC(?![{_ID}])",
                     re.I | re.S)
_TOKEN_ATOMIC = re.compile(
    rf"""['"();$]|--|/\*|(?<![{_ID}])(?:CASE|END)(?![{_ID}])|{_ATOMIC.pattern}""",
    re.I | re.S)
# psql's rule (psqlscan.l): only a statement that starts CREATE [OR REPLACE] FUNCTION|PROCEDURE
# has a BEGIN ... END body
_ROUTINE_HEAD = re.compile(rf"CREATE{_GAP}(?:OR{_GAP}REPLACE{_GAP})?(?:FUNCTION|PROCEDURE)"
                           rf"(?![{_ID}])", re.I | re.S)
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$")
_STRING_BODY = re.compile(r"(?:[^']|'')*'")
_E_STRING_BODY = re.compile(r"(?:[^'\\]|\\.|'')*'", re.S)
_IDENT_BODY = re.compile(r'(?:[^"]|"")*"')
_COMMENT_MARK = re.compile(r"/\*|\*/")


class _PostgresScanner:
    """psql's rules: quotes, E'' escapes, dollar quotes, nested comments, parentheses and
    `BEGIN ATOMIC … END` bodies; a `;` outside all of them ends a statement."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.parens = 0
        self.atomic = 0  # depth of BEGIN ATOMIC bodies
        self.cases = 0  # CASE … END inside an atomic body
        self.start = 0  # where the current statement began

    def statements(self) -> list[tuple[int, str]]:
        sql, pieces, start, pos = self.sql, [], 0, 0
        token = _TOKEN_ATOMIC if _ATOMIC.search(sql) else _TOKEN
        while True:
            match = token.search(sql, pos)
            if match is None:
                break
            pos = self._after(match.group(0), match.start(), match.end())
            if match.group(0) == ";" and self.parens == 0 and self.atomic == 0:
                self._emit(pieces, start, pos)
                start = self.start = pos
        self._emit(pieces, start, len(sql))
        return pieces

    def _emit(self, pieces: list[tuple[int, str]], start: int, end: int) -> None:
        text = self.sql[start:end]
        if has_code(text):
            pieces.append((start + skip_space_and_comments(text), text))

    def _after(self, token: str, start: int, end: int) -> int:
        """The offset after `token` at `start` (strings, comments, dollar quotes whole)."""
        sql = self.sql
        if token == "'":
            escapes = start > 0 and sql[start - 1] in "eE" and (
                start < 2 or _IDENT_CHAR.match(sql, start - 2) is None)
            found = (_E_STRING_BODY if escapes else _STRING_BODY).match(sql, end)
            return found.end() if found else len(sql)
        if token == '"':
            found = _IDENT_BODY.match(sql, end)
            return found.end() if found else len(sql)
        if token == "--":
            newline = sql.find("\n", end)
            return len(sql) if newline < 0 else newline + 1
        if token == "/*":
            return self._skip_block_comment(end)
        if token == "$":
            tag = _DOLLAR_TAG.match(sql, start)
            if tag is None or (start > 0 and _IDENT_CHAR.match(sql, start - 1)):
                return end  # $1 parameters, identifiers containing $
            close = sql.find(tag.group(0), tag.end())
            return len(sql) if close < 0 else close + len(tag.group(0))
        if token == "(":
            self.parens += 1
        elif token == ")":
            self.parens = max(0, self.parens - 1)
        elif token != ";":
            self._keyword(token.upper())
        return end

    def _keyword(self, word: str) -> None:
        """CASE / END / BEGIN ATOMIC, seen only when the file has a BEGIN ATOMIC body; as
        psql does, only outside parentheses and only in a CREATE FUNCTION/PROCEDURE."""
        if self.parens:
            return
        if word.startswith("BEGIN"):
            head = self.start + skip_space_and_comments(self.sql[self.start:])
            self.atomic += _ROUTINE_HEAD.match(self.sql, head) is not None
        elif word == "CASE" and self.atomic:
            self.cases += 1
        elif word == "END" and self.atomic:
            if self.cases:
                self.cases -= 1
            else:
                self.atomic -= 1

    def _skip_block_comment(self, pos: int) -> int:
        """Past the `*/` that closes a comment opened just before `pos` (they nest)."""
        depth = 1
        while depth:
            mark = _COMMENT_MARK.search(self.sql, pos)
            if mark is None:
                return len(self.sql)
            depth += 1 if mark.group(0) == "/*" else -1
            pos = mark.end()
        return pos


def split_postgres(sql: str) -> list[tuple[int, str]]:
    """(offset of code start, text) of each statement, code-less pieces dropped."""
    return _PostgresScanner(sql).statements()
