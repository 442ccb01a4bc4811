"""TypeScript literals and names: the small pieces both dialects' drizzle builders and the
schema module (`typescript.py`) write with, below both so a dialect needs no upper stage."""

from __future__ import annotations

import hashlib
import re

_JS_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t",
               "\u2028": "\\u2028", "\u2029": "\\u2029"}


def ts_string(text: str) -> str:
    """A single-quoted JavaScript string literal of exactly `text`: quotes, backslashes,
    every control character and the line separators U+2028/U+2029 are escaped."""
    out = []
    for ch in text:
        escaped = _JS_ESCAPES.get(ch)
        if escaped is None and (ord(ch) < 0x20 or 0x7f <= ord(ch) < 0xa0):
            escaped = f"\\u{ord(ch):04x}"
        out.append(escaped or ch)
    return "'" + "".join(out) + "'"


def ts_sql(text: str) -> str:
    """A drizzle sql`...` template holding raw SQL."""
    return "sql`" + text.replace("\\", "\\\\").replace("`", "\\`").replace("${", "\\${") + "`"


def ts_enum_option(labels: list[str] | None) -> str:
    """`, enum: ['a', 'b']` for a text builder's options (typing only: drizzle keeps it out of
    snapshots and DDL), or nothing."""
    return f", enum: [{', '.join(ts_string(v) for v in labels)}]" if labels else ""


def ts_identifier(name: str) -> str:
    """`name` as identifier text: other characters replaced (plus a hash of the name, so two
    names that map to the same text stay apart), never starting with a digit."""
    const = re.sub(r"[^A-Za-z0-9_$]", "_", name)
    if const != name:
        const = f"{const}_{hashlib.sha256(name.encode()).hexdigest()[:6]}"
    return "_" + const if const[:1].isdigit() else const


def enum_const(name: str) -> str:
    """The TypeScript constant of a declared enum: `status` -> `statusEnum`."""
    return ts_identifier(name) + "Enum"


def custom_const(name: str) -> str:
    """The TypeScript constant of a declared custom type: `embedding` -> `embeddingType`."""
    return ts_identifier(name) + "Type"


def schema_const(schema: str) -> str:
    """TypeScript constant of a pgSchema (enums outside public)."""
    return ts_identifier(schema) + "Schema"
