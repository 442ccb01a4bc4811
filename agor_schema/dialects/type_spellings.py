"""Which logical types (DSL spellings) a snapshot column type may stand for, per dialect.

`agorschema import` proposes these and keeps the first that builds the column back exactly;
the dialect classes expose them as `logical_spellings`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agor_schema.snapshot import Column

_PG_TYPES = {"text": "text", "integer": "integer", "bigint": "bigint", "real": "real",
             "double precision": "double", "boolean": "boolean",
             "timestamp with time zone": "timestamp", "date": "date", "jsonb": "json",
             "uuid": "uuid", "bytea": "bytes", "json": "json_text", "smallint": "smallint",
             "serial": "serial", "smallserial": "smallserial", "bigserial": "bigserial",
             "numeric": "numeric", "timestamp": "timestamp without time zone",
             "timestamp without time zone": "timestamp without time zone"}
# logical types a SQLite storage type may stand for, most specific first (tried against the
# PostgreSQL side of a pair)
_SQLITE_MEANINGS = {
    "integer": ["integer", "timestamp", "boolean", "bigint", "smallint", "serial", "bigserial",
                "smallserial", "timestamp without time zone"],
    "text": ["text", "json", "date", "json_text"],
    "real": ["real", "double"],
    "blob": ["bytes"],
    "numeric": ["numeric"],
}


def postgres_spellings(column: Column) -> list[str]:
    """Logical spellings that may build this PostgreSQL column type."""
    t = column.type.strip()
    if column.type_schema is not None:  # an enum (drizzle's pgEnum)
        return [f"enum({t})"]
    array = ""
    while t.endswith("[]"):
        array += "[]"
        t = t[:-2].strip()
    out = []
    m = re.fullmatch(r"timestamp\s*\((\d+)\)(\s+with(out)? time zone)?", t)
    if m:
        p = m.group(1)
        out = [f"timestamp({p})"] if m.group(2) and not m.group(3) \
            else [f"timestamp({p}) without time zone"]
    elif re.fullmatch(r"numeric\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)", t):
        nums = re.findall(r"\d+", t)
        out = [f"numeric({','.join(nums)})"]
    elif re.fullmatch(r"(varchar|character varying)\s*\(\d+\)", t):
        out = [f"varchar({re.findall(r'[0-9]+', t)[0]})"]
    elif t in _PG_TYPES:
        out = [_PG_TYPES[t]]
    return [c + array for c in out] + [column.type]


def sqlite_spellings(column: Column) -> list[str]:
    """Logical spellings that may build this SQLite column type, most specific first."""
    t = column.type.strip().lower()
    if t == "integer" and isinstance(column.default, bool):
        return ["boolean", "integer"]  # drizzle's integer({mode: 'boolean'})
    m = re.fullmatch(r"text\s*\((\d+)\)", t)
    if m:
        return [f"varchar({m.group(1)})", "uuid"] if m.group(1) == "36" else [f"varchar({m.group(1)})"]
    return list(_SQLITE_MEANINGS.get(t, [])) + [t]
