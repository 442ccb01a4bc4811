"""Input errors that point at the place in a schema file where the problem is.

Every error the user can cause by editing a schema file or a setting is a `SchemaError`:
the CLI prints `file:line:col: table 'x', column 'y', field 'z': message` and exits 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, fields


@dataclass(frozen=True, order=True)
class Mark:
    """Where a YAML node starts: file path and 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass
class SchemaError(Exception):
    """One input problem, located at a file/line/column and a table/column/field."""

    message: str
    mark: Mark | None = None
    table: str | None = None
    column: str | None = None
    field: str | None = None
    kind: str | None = None  # e.g. "index", "check", "foreign key"
    item: str | None = None  # the index / check / foreign key name

    def __reduce__(self) -> tuple:
        """Pickled by its fields (a forked compile sends its errors back as data)."""
        return (type(self), tuple(getattr(self, f.name) for f in fields(self)))

    def __str__(self) -> str:
        where = f"{self.mark}: " if self.mark else ""
        parts = []
        if self.table:
            parts.append(f"table '{self.table}'")
        if self.column:
            parts.append(f"column '{self.column}'")
        if self.kind and self.item:
            parts.append(f"{self.kind} '{self.item}'")
        if self.field:
            parts.append(f"field '{self.field}'")
        context = ", ".join(parts)
        return f"{where}{context + ': ' if context else ''}{self.message}"


class SchemaErrors(Exception):
    """All problems found in one validation pass, reported together and sorted by place."""

    def __init__(self, errors: Iterable[SchemaError]):
        unique: dict[str, SchemaError] = {}
        for error in errors:
            unique.setdefault(str(error), error)
        self.errors = sorted(unique.values(), key=_sort_key)
        super().__init__("\n".join(str(e) for e in self.errors))

    def __reduce__(self) -> tuple:
        """Pickled by its errors (a forked compile sends its errors back as data)."""
        return (type(self), (self.errors,))


def _sort_key(error: SchemaError) -> tuple:
    mark = error.mark or Mark("", 0, 0)
    return (mark.file, mark.line, mark.column, error.message)


KINDS = {"indexes": "index", "checks": "check", "foreign_keys": "foreign key"}
TOP_KINDS = {"enums": "enum", "types": "type"}


def path_context(path: tuple) -> dict[str, str]:
    """table / column / kind / item / field named by a data path such as
    ("tables", "users", "columns", "email", "type"), as SchemaError keyword arguments."""
    ctx: dict[str, str] = {}
    if len(path) >= 2 and path[0] == "tables":
        ctx["table"] = str(path[1])
        rest = path[2:]
        if len(rest) >= 2 and rest[0] == "columns":
            ctx["column"] = str(rest[1])
            rest = rest[2:]
        elif len(rest) >= 2 and rest[0] in KINDS:
            ctx["kind"], ctx["item"] = KINDS[rest[0]], str(rest[1])
            rest = rest[2:]
        if rest:
            ctx["field"] = ".".join(str(p) for p in rest)
    elif len(path) >= 2 and path[0] in TOP_KINDS:  # enums: / types: entries
        ctx["kind"], ctx["item"] = TOP_KINDS[path[0]], str(path[1])
        if path[2:]:
            ctx["field"] = ".".join(str(p) for p in path[2:])
    elif path:
        ctx["field"] = ".".join(str(p) for p in path)
    return ctx


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A ' did you mean X?' suffix naming the closest candidate, or '' when none is close."""
    matches = difflib.get_close_matches(str(word), list(candidates), n=1, cutoff=0.6)
    return f" did you mean '{matches[0]}'?" if matches else ""


class InputError(Exception):
    """A bad input that is not in a schema file (an argument, a folder): exit code 2 unless
    `exit_code` says otherwise. `where` holds the envelope fields that apply (file, field,
    migration, ...)."""

    exit_code = 2

    def __init__(self, message: str, *, exit_code: int | None = None, **where: object) -> None:
        super().__init__(message)
        self.message = message
        self.where = {k: v for k, v in where.items() if v is not None}
        if exit_code is not None:
            self.exit_code = exit_code
