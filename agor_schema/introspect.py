"""Low-level pieces that the dialects' catalog readers share: SQL text helpers, errors.

Reading a catalog is a method of the dialect (`dialect.introspect(conn)`, see
`dialects/*_introspect.py`); they use the scanners and normalisers here. Nothing here imports
the compiler, the differ or the dialects: comparing a database with the schema (drift) is the
next stage, `drift.py`, so data flows one way (dialects -> introspect; drift -> dialects).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

BOOKKEEPING_TABLE = "__drizzle_migrations"


class IntrospectionError(Exception):
    """The catalog could not be read, or the scratch DDL did not apply."""


# ------------------------------------------------------------------ scratch DDL gate

# The only statements a scratch database runs (the expected side of `diff`/`verify` is the
# project's DDL text: generated files and snapshots, which a pull request can edit).
_SCRATCH_VERBS = (("CREATE", "TABLE"), ("CREATE", "INDEX"), ("CREATE", "UNIQUE", "INDEX"),
                  ("CREATE", "TYPE"), ("CREATE", "SEQUENCE"), ("ALTER", "TABLE"),
                  ("ALTER", "TYPE"), ("ALTER", "SEQUENCE"), ("COMMENT", "ON"))
# Words that would run a query, evaluate expressions on existing rows, or reach another
# table or database while a scratch statement runs.
_SCRATCH_FORBIDDEN = frozenset({
    "SELECT", "PARTITION", "INHERITS", "ATTACH", "DETACH", "DATABASE", "EXECUTE", "PRAGMA",
    "VACUUM", "COPY", "DO", "CALL", "OWNER", "GRANT", "REVOKE", "ROLE", "TRIGGER",
    "FUNCTION", "PROCEDURE", "EXTENSION", "SERVER", "TABLESPACE", "LOAD", "COMMIT",
    "ROLLBACK", "BEGIN", "SAVEPOINT", "RELEASE", "PREPARE", "INSERT", "TRUNCATE", "LOCK",
    "NOTIFY", "LISTEN",
})
_SCRATCH_TARGETS = frozenset({"TABLE", "ON", "REFERENCES", "COLUMN"})
_SCRATCH_SKIP = frozenset({"IF", "NOT", "EXISTS", "ONLY"})


def scratch_statements(text_or_statements: Sequence[str] | str, dialect: str,
                       home: tuple[str, ...] = ("public",),
                       forward_references: bool = False) -> list[str]:
    """The statements of DDL text, split one per item, each checked to be safe to run in a
    scratch database: a CREATE/ALTER of a table, index, type or sequence, or a COMMENT; that
    only touches tables created by the same text (so no expression is ever evaluated on an
    existing row); with no query, transaction control or second database. IntrospectionError
    names the first statement that is not. `dialect` is the sqlglot tokenizer's name;
    `forward_references` (the dialect's `references_resolve_late`) lets a CREATE TABLE name a
    table the same text creates later."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import SqlglotError
    from sqlglot.tokens import TokenType

    texts = [text_or_statements] if isinstance(text_or_statements, str) else text_or_statements
    tokenizer = Dialect.get_or_raise(dialect)
    out: list[str] = []
    created: set[str] = set()
    # an engine that resolves an inline REFERENCES only when rows are written lets a CREATE
    # TABLE name a table the same DDL creates later (foreign key cycles); one that resolves
    # it at once (and would find the user's table) needs it created first
    later = _created_tables(texts, tokenizer, home) if forward_references else set()
    for text in texts:
        try:
            tokens = tokenizer.tokenize(text)
        except SqlglotError:
            raise IntrospectionError(
                f"the expected DDL cannot be read (an unclosed quote or comment): "
                f"{text.strip()[:300]}") from None
        statement: list = []
        for token in [*tokens, None]:
            if token is not None and token.token_type != TokenType.SEMICOLON:
                statement.append(token)
                continue
            if statement:
                sql = text[statement[0].start: statement[-1].end + 1]
                _check_scratch_statement(sql, statement, created, home, later)
                out.append(sql)
            statement = []
    return out


def _created_tables(texts: Sequence[str], tokenizer, home: tuple[str, ...]) -> set[str]:
    """Names of every table the DDL creates (CREATE TABLE anywhere in it)."""
    from sqlglot.errors import SqlglotError
    from sqlglot.tokens import TokenType

    names: set[str] = set()
    for text in texts:
        try:
            tokens = tokenizer.tokenize(text)
        except SqlglotError:
            continue  # refused with its reason by the main pass
        for i in range(len(tokens) - 2):
            first = tokens[i - 1] if i else None
            if (first is None or first.token_type == TokenType.SEMICOLON) and \
                    tokens[i].text.upper() == "CREATE" and tokens[i + 1].text.upper() == "TABLE":
                j = i + 2
                while j < len(tokens) and tokens[j].text.upper() in _SCRATCH_SKIP:
                    j += 1
                parts = _dotted(tokens, j)
                if parts and (len(parts) == 1 or parts[0] in home):
                    names.add(parts[-1])
    return names


def _check_scratch_statement(sql: str, tokens: list, created: set[str],
                             home: tuple[str, ...], later: set[str] = frozenset()) -> None:
    from sqlglot.tokens import TokenType

    def refuse(why: str) -> None:
        raise IntrospectionError(f"refusing to run this statement in the scratch database "
                                 f"({why}): {sql.strip()[:300]}")

    literal = (TokenType.STRING, TokenType.IDENTIFIER, TokenType.HEREDOC_STRING,
               TokenType.NATIONAL_STRING, TokenType.BYTE_STRING, TokenType.HEX_STRING,
               TokenType.BIT_STRING, TokenType.RAW_STRING)
    words = [None if t.token_type in literal else t.text.upper() for t in tokens]
    if not any(tuple(words[:len(verb)]) == verb for verb in _SCRATCH_VERBS):
        refuse("only CREATE/ALTER of tables, indexes, types and sequences may run there")
    depth = 0
    for token, word in zip(tokens, words):
        depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(token.token_type, 0)
        # a bare word (VAR) is a keyword only outside parentheses: inside, it is a column
        if word in _SCRATCH_FORBIDDEN and (token.token_type != TokenType.VAR or depth == 0):
            refuse(f"it contains {word}")
    if words[:2] == ["CREATE", "TABLE"]:
        name = _name_after(tokens, words, 2, home, refuse)
        created.add(name)
    if words[0] == "COMMENT":
        kind = words[2] if len(words) > 2 else None
        if kind in ("TABLE", "COLUMN"):
            parts = _dotted(tokens, 3)
            if kind == "COLUMN":
                parts = parts[:-1]
            _check_target(parts, created, home, refuse)
        elif kind not in ("INDEX", "TYPE", "SEQUENCE", "CONSTRAINT"):
            refuse("only comments on tables, columns, indexes, types and constraints")
        return
    for i, word in enumerate(words):
        if word in ("TABLE", "REFERENCES") or (word == "ON" and words[1] in ("INDEX", "UNIQUE")
                                               and i + 1 < len(words)
                                               and words[i + 1] not in ("DELETE", "UPDATE")):
            j = i + 1
            while j < len(words) and words[j] in _SCRATCH_SKIP:
                j += 1
            forward = created | later if word == "REFERENCES" and words[:2] == [
                "CREATE", "TABLE"] else created
            _check_target(_dotted(tokens, j), forward, home, refuse)


def _dotted(tokens: list, i: int) -> list[str]:
    """The parts of a dotted name starting at token `i` (`a`, `a.b`, `a.b.c`)."""
    from sqlglot.tokens import TokenType

    parts = [tokens[i].text] if i < len(tokens) else []
    while i + 2 < len(tokens) and tokens[i + 1].token_type == TokenType.DOT:
        parts.append(tokens[i + 2].text)
        i += 2
    return parts


def _check_target(parts: list[str], created: set[str], home: tuple[str, ...], refuse) -> None:
    """A table a statement touches must be one the same DDL created (in the scratch)."""
    if not parts or len(parts) > 2:
        refuse("cannot tell which table it touches")
    if len(parts) == 2 and parts[0] not in home:
        refuse(f"it names schema '{parts[0]}'")
    if parts[-1] not in created:
        refuse(f"'{parts[-1]}' is not a table created by the same DDL")


def _name_after(tokens: list, words: list, i: int, home: tuple[str, ...], refuse) -> str:
    """The table name a CREATE TABLE creates (after IF NOT EXISTS); a qualifier must be one
    of `home` (the schema the scratch stands in for)."""
    while i < len(words) and words[i] in _SCRATCH_SKIP:
        i += 1
    parts = _dotted(tokens, i)
    if not parts or len(parts) > 2 or (len(parts) == 2 and parts[0] not in home):
        refuse("it creates a table outside the scratch schema")
    return parts[-1]


# ------------------------------------------------------------------ SQL text helpers


def _unquoted(text: str, start: int = 0) -> Iterator[tuple[int, str, int]]:
    """(index, character, parenthesis depth after it) for characters outside quotes."""
    depth = 0
    quote: str | None = None
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in "'\"`[":
            quote = "]" if ch == "[" else ch
            continue
        depth += (ch == "(") - (ch == ")")
        yield i, ch, depth


def balanced(text: str, start: int) -> tuple[str, int]:
    """The text inside the parenthesis opening at `start` (quotes respected) and its end."""
    for i, ch, depth in _unquoted(text, start):
        if ch == ")" and depth == 0:
            return text[start + 1:i], i
    raise IntrospectionError(f"unbalanced parentheses in {text!r}")


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split at `sep` outside quotes and parentheses; parts stripped, empty ones dropped."""
    parts: list[str] = []
    start = 0
    for i, ch, depth in _unquoted(text):
        if ch == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


# compiled (and cached) by `re` on first use: compile never runs it
_TOKEN = r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`|\s+|[^'"`\s]+|."""


def normalize_sql(text: str | None) -> str | None:
    """SQL text with identifier quoting unified ("x") and runs of whitespace collapsed.

    String literals are kept byte for byte. Both sides of a comparison go through this, so it
    only removes differences that a database introduces on its own (SQLite rewrites a renamed
    column as "new" where the original text had `old`)."""
    if text is None:
        return None
    out: list[str] = []
    for token in re.findall(_TOKEN, text.strip()):
        if token.isspace():
            out.append(" ")
        elif token[0] == "`":
            out.append('"' + token[1:-1].replace("``", "`").replace('"', '""') + '"')
        else:
            out.append(token)
    text = "".join(out)
    text = re.sub(r"\(\s+", "(", text)
    text = re.sub(r"\s+\)", ")", text)
    return text


def strip_parens(text: str) -> str:
    """`(expr)` → `expr` when the outer parentheses enclose the whole text (repeatedly)."""
    text = text.strip()
    while text.startswith("("):
        inner, end = balanced(text, 0)
        if end != len(text) - 1:
            break
        text = inner.strip()
    return text


def unquote_identifier(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"`":
        return text[1:-1].replace(text[0] * 2, text[0])
    if len(text) >= 2 and text[0] == "[" and text[-1] == "]":
        return text[1:-1]
    return text
