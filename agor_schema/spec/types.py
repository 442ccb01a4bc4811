"""Logical column types of the DSL: parsing `varchar(36)`, `numeric(12,2)` and friends."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# name -> (number of required parameters, description shown in errors)
LOGICAL_TYPES: dict[str, str] = {
    "text": "text",
    "varchar": "varchar(n)",
    "integer": "integer",
    "bigint": "bigint",
    "real": "real",
    "double": "double",
    "numeric": "numeric(p,s)",
    "boolean": "boolean",
    "timestamp": "timestamp",
    "date": "date",
    "json": "json",
    "uuid": "uuid",
    "bytes": "bytes",
}
VALID_TYPES_TEXT = ", ".join(LOGICAL_TYPES.values())
# Names from other languages and databases, so a typo of them still gets a suggestion.
TYPE_ALIASES: dict[str, str] = {
    "string": "text", "str": "text", "char": "varchar", "int": "integer", "int4": "integer",
    "smallint": "integer", "int8": "bigint", "long": "bigint", "float": "real",
    "float8": "double", "double precision": "double", "decimal": "numeric", "bool": "boolean",
    "datetime": "timestamp", "timestamptz": "timestamp", "jsonb": "json", "blob": "bytes",
    "bytea": "bytes", "binary": "bytes",
}
_TYPE_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z_ ]*?)\s*(?:\(\s*([^)]*)\s*\))?\s*$")


class TypeParseError(ValueError):
    """A type string that is not one of the logical types."""


@dataclass(frozen=True)
class LogicalType:
    """A parsed logical type: its name and optional length / precision / scale."""

    name: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None

    @property
    def is_integer(self) -> bool:
        return self.name in ("integer", "bigint")

    def __str__(self) -> str:
        if self.length is not None:
            return f"{self.name}({self.length})"
        if self.precision is not None:
            scale = f",{self.scale}" if self.scale is not None else ""
            return f"{self.name}({self.precision}{scale})"
        return self.name


def parse_type(text: str) -> LogicalType:
    """Parse a DSL type string; raise TypeParseError with the nearest valid name."""
    if not isinstance(text, str):
        raise TypeParseError(f"type must be a string such as 'text', got {text!r}")
    return _parse_type(text)


@lru_cache(maxsize=512)  # a schema repeats a handful of type strings thousands of times
def _parse_type(text: str) -> LogicalType:
    match = _TYPE_RE.match(text)
    if not match:
        raise TypeParseError(f"cannot read type {text!r}; valid: {VALID_TYPES_TEXT}")
    name, args = match.group(1).strip().lower(), match.group(2)
    if name not in LOGICAL_TYPES:
        raise TypeParseError(
            f"unknown type '{text}';{_suggest_type(name)} valid: {VALID_TYPES_TEXT}"
        )
    numbers = _parse_args(text, args)
    if name == "varchar":
        if len(numbers) != 1 or numbers[0] < 1:
            raise TypeParseError(f"type '{text}': varchar needs a length, e.g. varchar(36)")
        return LogicalType("varchar", length=numbers[0])
    if name == "numeric":
        if len(numbers) > 2 or (numbers and numbers[0] < 1):
            raise TypeParseError(f"type '{text}': write numeric, numeric(p) or numeric(p,s)")
        if len(numbers) == 2 and not 0 <= numbers[1] <= numbers[0]:
            raise TypeParseError(f"type '{text}': scale must be between 0 and the precision")
        return LogicalType(
            "numeric",
            precision=numbers[0] if numbers else None,
            scale=numbers[1] if len(numbers) == 2 else None,
        )
    if numbers:
        raise TypeParseError(f"type '{text}': {name} takes no parameters")
    return LogicalType(name)


def _suggest_type(name: str) -> str:
    """' did you mean X?' for the logical type nearest to `name` (directly or via an alias)."""
    import difflib

    candidates = {**{t: t for t in LOGICAL_TYPES}, **TYPE_ALIASES}
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    if not matches:
        return ""
    logical = LOGICAL_TYPES[candidates[matches[0]]]
    return f" did you mean '{logical}'?"


def _parse_args(text: str, args: str | None) -> list[int]:
    if args is None:
        return []
    try:
        return [int(part) for part in args.split(",")]
    except ValueError:
        raise TypeParseError(f"type '{text}': parameters must be whole numbers") from None
