"""Low-level pieces that the dialects' catalog readers share: SQL text helpers, errors.

Reading a catalog is a method of the dialect (`dialect.introspect(conn)`, see
`dialects/*_introspect.py`); they use the scanners and normalisers here. Nothing here imports
the compiler, the differ or the dialects: comparing a database with the schema (drift) is the
next stage, `drift.py`, so data flows one way (dialects -> introspect; drift -> dialects).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

BOOKKEEPING_TABLE = "__drizzle_migrations"


class IntrospectionError(Exception):
    """The catalog could not be read, or the scratch DDL did not apply."""


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


_TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`|\s+|[^'"`\s]+|.""")


def normalize_sql(text: str | None) -> str | None:
    """SQL text with identifier quoting unified ("x") and runs of whitespace collapsed.

    String literals are kept byte for byte. Both sides of a comparison go through this, so it
    only removes differences that a database introduces on its own (SQLite rewrites a renamed
    column as "new" where the original text had `old`)."""
    if text is None:
        return None
    out: list[str] = []
    for token in _TOKEN.findall(text.strip()):
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
