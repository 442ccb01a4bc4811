"""Logical column types of the DSL: parsing `varchar(36)`, `numeric(12,2)` and friends.

Besides the scalar names, a type can be an array (`text[]`, `integer[][]`), an enum declared
in the top-level `enums:` (`enum(status)`), or a custom type declared in `types:` (its bare
name). Timestamps take a precision and a time-zone clause: `timestamp(3)`,
`timestamp without time zone`, `timestamp(6) with time zone`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# name -> how it is written (shown in errors)
LOGICAL_TYPES: dict[str, str] = {
    "text": "text",
    "varchar": "varchar(n)",
    "integer": "integer",
    "smallint": "smallint",
    "bigint": "bigint",
    "serial": "serial",
    "smallserial": "smallserial",
    "bigserial": "bigserial",
    "real": "real",
    "double": "double",
    "numeric": "numeric(p,s)",
    "boolean": "boolean",
    "timestamp": "timestamp[(p)] [without time zone]",
    "date": "date",
    "json": "json",
    "json_text": "json_text",
    "uuid": "uuid",
    "bytes": "bytes",
}
VALID_TYPES_TEXT = ", ".join(LOGICAL_TYPES.values()) + \
    ", enum(<name>), <type>[] (array), or a name declared under types:"
INTEGER_TYPES = ("smallint", "integer", "bigint", "serial", "smallserial", "bigserial")
SERIAL_TYPES = ("serial", "smallserial", "bigserial")
# Names from other languages and databases, so a typo of them still gets a suggestion.
TYPE_ALIASES: dict[str, str] = {
    "string": "text", "str": "text", "char": "varchar", "int": "integer", "int4": "integer",
    "int2": "smallint", "int8": "bigint", "long": "bigint", "float": "real",
    "float8": "double", "double precision": "double", "decimal": "numeric", "bool": "boolean",
    "datetime": "timestamp", "timestamptz": "timestamp", "jsonb": "json", "blob": "bytes",
    "bytea": "bytes", "binary": "bytes", "serial4": "serial", "serial8": "bigserial",
    "serial2": "smallserial",
}
_TYPE_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z_ ]*?)\s*(?:\(\s*([^)]*)\s*\))?\s*$")
_ARRAY_RE = re.compile(r"^(.*?)\s*((?:\[\s*\])+)\s*$")
_ENUM_RE = re.compile(r"^\s*enum\s*\(\s*([^()]*?)\s*\)\s*$", re.I)
_TIMESTAMP_RE = re.compile(
    r"^\s*timestamp\s*(?:\(\s*([^)]*?)\s*\))?\s*(?:(with|without)\s+time\s+zone)?\s*$", re.I)
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_TIMESTAMP_PRECISION = 6


class TypeParseError(ValueError):
    """A type string that is not one of the logical types."""


@dataclass(frozen=True)
class LogicalType:
    """A parsed logical type: its name and optional length / precision / scale.

    `name` is a scalar name, "array" (then `element` and `dims` say of what), "enum" or
    "custom" (then `ref` names the declared enum or type). `with_tz` only matters for
    timestamps (False for `timestamp without time zone`)."""

    name: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    with_tz: bool = True
    ref: str | None = None
    element: LogicalType | None = None
    dims: int = 0

    @property
    def is_integer(self) -> bool:
        return self.name in INTEGER_TYPES

    @property
    def is_serial(self) -> bool:
        return self.name in SERIAL_TYPES

    def __str__(self) -> str:
        if self.name == "array" and self.element is not None:
            return f"{self.element}" + "[]" * self.dims
        if self.name in ("enum", "custom"):
            return f"enum({self.ref})" if self.name == "enum" else str(self.ref)
        if self.name == "timestamp":
            p = f"({self.precision})" if self.precision is not None else ""
            return f"timestamp{p}" + ("" if self.with_tz else " without time zone")
        if self.length is not None:
            return f"{self.name}({self.length})"
        if self.precision is not None:
            scale = f",{self.scale}" if self.scale is not None else ""
            return f"{self.name}({self.precision}{scale})"
        return self.name


def parse_type(text: str, custom: frozenset[str] | tuple = ()) -> LogicalType:
    """Parse a DSL type string; raise TypeParseError with the nearest valid name.

    `custom` holds the names declared under `types:`; without it a bare unknown name is an
    error (with a suggestion)."""
    if not isinstance(text, str):
        raise TypeParseError(f"type must be a string such as 'text', got {text!r}")
    return _parse_type(text, frozenset(custom))


@lru_cache(maxsize=512)  # a schema repeats a handful of type strings thousands of times
def _parse_type(text: str, custom: frozenset[str]) -> LogicalType:
    array = _ARRAY_RE.match(text)
    if array:
        element = _parse_type(array.group(1), custom)
        if element.is_serial:
            raise TypeParseError(f"type '{text}': {element.name} cannot be an array element; "
                                 "use integer[] (serial types generate one value per row)")
        return LogicalType("array", element=element, dims=array.group(2).count("["))
    enum = _ENUM_RE.match(text)
    if enum:
        if not NAME_RE.match(enum.group(1)):
            raise TypeParseError(f"type '{text}': write enum(<name>) with a name declared "
                                 "under enums:, e.g. enum(status)")
        return LogicalType("enum", ref=enum.group(1))
    timestamp = _TIMESTAMP_RE.match(text)
    if timestamp:
        return _timestamp(text, timestamp.group(1), timestamp.group(2))
    stripped = text.strip()
    if stripped in custom:
        return LogicalType("custom", ref=stripped)
    match = _TYPE_RE.match(text)
    if not match:
        raise TypeParseError(f"cannot read type {text!r}; valid: {VALID_TYPES_TEXT}")
    name, args = match.group(1).strip().lower(), match.group(2)
    if name not in LOGICAL_TYPES:
        raise TypeParseError(
            f"unknown type '{text}';{_suggest_type(name, custom)} valid: {VALID_TYPES_TEXT}"
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


def _timestamp(text: str, args: str | None, zone: str | None) -> LogicalType:
    numbers = _parse_args(text, args)
    if args is not None and (len(numbers) != 1
                             or not 0 <= numbers[0] <= MAX_TIMESTAMP_PRECISION):
        raise TypeParseError(f"type '{text}': the precision of a timestamp is one whole number "
                             f"from 0 to {MAX_TIMESTAMP_PRECISION}, e.g. timestamp(3)")
    return LogicalType("timestamp", precision=numbers[0] if numbers else None,
                       with_tz=(zone or "with").lower() == "with")


def _suggest_type(name: str, custom: frozenset[str] = frozenset()) -> str:
    """' did you mean X?' for the logical type nearest to `name` (directly or via an alias)."""
    import difflib

    candidates = {**{t: LOGICAL_TYPES[t] for t in LOGICAL_TYPES},
                  **{a: LOGICAL_TYPES[t] for a, t in TYPE_ALIASES.items()},
                  **{c: c for c in custom}}
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    if not matches:
        return ""
    return f" did you mean '{candidates[matches[0]]}'?"


def _parse_args(text: str, args: str | None) -> list[int]:
    if args is None:
        return []
    try:
        return [int(part) for part in args.split(",")]
    except ValueError:
        raise TypeParseError(f"type '{text}': parameters must be whole numbers") from None


def timestamp_ms(value: Any) -> int | None:
    """Epoch milliseconds of an ISO time (naive times are UTC), or None if unreadable."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    try:  # in UTC it must still be a time Python (and so the SQL rendering) can hold
        moment.astimezone(dt.timezone.utc)
    except (OverflowError, ValueError):
        return None
    return int(round(moment.timestamp() * 1000))
