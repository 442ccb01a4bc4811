"""Rename hints: a drop and an add that look like one renamed element.

Renames are never guessed (a guess that is wrong loses data, and no command asks a
question), so a column renamed without `renamed_from` compiles to a drop plus an add,
which `compile` refuses as destructive. These hints turn that refusal into the fix: where
the new element is written (file:line:col) and the YAML that declares the rename.

`rename_candidates` reads one dialect's operations (pure, cheap); `rename_hints` locates
the candidates of every dialect in the schema files, which builds the YAML marks, so it
runs only when there is a candidate.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from agor_schema import ops as o
from agor_schema.errors import Mark

COLUMN, TABLE, INDEX = "column", "table", "index"


@dataclass(frozen=True)
class Candidate:
    """`old` (dropped) and `new` (added) of the same kind and shape in one table."""

    kind: str  # column | table | index
    table: str  # the table holding it (for a table: the new table's name)
    old: str
    new: str
    # what they share, for the message ("both text", "the same 4 column(s)"); dialects
    # differ in it (text(40) / varchar(40)), so it is not part of the candidate's identity
    detail: str = field(default="", compare=False)


@dataclass(frozen=True)
class RenameHint:
    """One suggestion, merged over the dialects that produced it."""

    candidate: Candidate
    dialects: tuple[str, ...]
    mark: Mark | None
    yaml: str  # the YAML to write at `mark`
    written: bool = False  # the drop/add migration was written (compile was not refused)

    @property
    def message(self) -> str:
        c = self.candidate
        where = f" at {self.mark}" if self.mark else ""
        if c.kind == TABLE:
            what, old = f"table '{c.new}'", f"table '{c.old}'"
        elif c.kind == INDEX:
            what, old = f"index '{c.new}' on '{c.table}'", f"index '{c.old}'"
        else:
            what, old = f"column '{c.table}.{c.new}'", f"'{c.table}.{c.old}'"
        return (f"{what}{where} looks like {old} renamed ({c.detail}; dropped and added in "
                f"{', '.join(self.dialects)}): if it is a rename, {self.fix}, then "
                f"{'run `agorschema undo` and ' if self.written else ''}compile again")

    @property
    def fix(self) -> str:
        if self.yaml.startswith("renamed_from:"):
            return f"add `{self.yaml}` to its mapping"
        return f"write it as `{self.yaml}`"

    def __str__(self) -> str:
        return f"hint: {self.message}"

    def to_json(self) -> dict[str, Any]:
        """An envelope warning: message plus where it points."""
        c = self.candidate
        out: dict[str, Any] = {"message": self.message, "kind": "rename_hint"}
        if self.mark:
            out.update(file=self.mark.file, line=self.mark.line, col=self.mark.column)
        out["table"] = c.table
        if c.kind == COLUMN:
            out["column"] = c.new
        out.update(rename={"kind": c.kind, "from": c.old, "to": c.new}, yaml=self.yaml)
        return out


def rename_candidates(operations: list[o.Op]) -> list[Candidate]:
    """Drop/add pairs of one migration that could be renames, best name match first."""
    drops: dict[tuple[str, str], list] = {}
    adds: dict[tuple[str, str], list] = {}
    for op in operations:
        if isinstance(op, o.DropColumn):
            drops.setdefault((COLUMN, op.table), []).append((op.column.name, op.column.type))
        elif isinstance(op, o.AddColumn):
            adds.setdefault((COLUMN, op.table), []).append((op.column.name, op.column.type))
        elif isinstance(op, o.DropTable):
            drops.setdefault((TABLE, ""), []).append((op.table, _table_shape(op.definition)))
        elif isinstance(op, o.CreateTable):
            adds.setdefault((TABLE, ""), []).append((op.table, _table_shape(op.definition)))
        elif isinstance(op, o.DropIndex):
            drops.setdefault((INDEX, op.table), []).append((op.index.name, _index_shape(op.index)))
        elif isinstance(op, o.CreateIndex):
            adds.setdefault((INDEX, op.table), []).append((op.index.name, _index_shape(op.index)))
    result: list[Candidate] = []
    for (kind, table), added in adds.items():
        dropped = drops.get((kind, table))
        if dropped:
            result.extend(_pair(kind, table, dropped, added))
    return result


def _table_shape(table: Any) -> tuple:
    return tuple(sorted((c.name, c.type) for c in table.columns.values()))


def _index_shape(index: Any) -> tuple:
    parts = tuple((p.expression, p.is_expression, p.asc, p.nulls, p.opclass)
                  for p in index.columns)
    return (parts, index.unique, index.where, index.method, tuple(sorted(index.with_.items())))


def _pair(kind: str, table: str, dropped: list, added: list) -> list[Candidate]:
    """Greedy pairing of same-shaped drops and adds, most similar names first."""
    pairs = sorted(
        ((-difflib.SequenceMatcher(None, old, new).ratio(), old, new, shape)
         for old, shape in dropped for new, new_shape in added if new_shape == shape),
        key=lambda p: p[:3],
    )
    used_old: set[str] = set()
    used_new: set[str] = set()
    out = []
    for _, old, new, shape in pairs:
        if old in used_old or new in used_new:
            continue
        used_old.add(old)
        used_new.add(new)
        out.append(Candidate(kind, new if kind == TABLE else table, old, new,
                             _detail(kind, shape)))
    return out


def _detail(kind: str, shape: Any) -> str:
    if kind == COLUMN:
        return f"both {shape}"
    if kind == TABLE:
        return f"the same {len(shape)} column(s)"
    return "the same definition"


def rename_hints(per_dialect: dict[str, list[Candidate]], doc: Any) -> list[RenameHint]:
    """Each candidate once, with the dialects it came from, located in the schema files."""
    merged: dict[Candidate, list[str]] = {}
    for dialect, candidates in per_dialect.items():
        for candidate in candidates:
            merged.setdefault(candidate, []).append(dialect)
    tables = doc.data.get("tables") or {}
    hints = []
    for c, dialects in merged.items():
        path, raw = _where(c, tables)
        mark = doc.mark(path, key=True)
        if c.kind == COLUMN:  # the type as the schema spells it, not one dialect's
            spelled = raw if isinstance(raw, str) else (raw or {}).get("type")
            if isinstance(spelled, str):
                c = Candidate(c.kind, c.table, c.old, c.new, f"both {spelled}")
        hints.append(RenameHint(c, tuple(dialects), mark, _yaml(c, raw)))
    hints.sort(key=lambda h: (h.mark or Mark("", 0, 0), h.candidate.kind, h.candidate.new))
    return hints


def _where(c: Candidate, tables: dict) -> tuple[tuple, Any]:
    """The data path of the new element and its raw value in the merged document."""
    table = tables.get(c.table) if isinstance(tables, dict) else None
    table = table if isinstance(table, dict) else {}
    if c.kind == TABLE:
        return ("tables", c.new), table
    section = "columns" if c.kind == COLUMN else "indexes"
    items = table.get(section)
    raw = items.get(c.new) if isinstance(items, dict) else None
    return ("tables", c.table, section, c.new), raw


def _yaml(c: Candidate, raw: Any) -> str:
    """The YAML that declares the rename: the element in flow style with `renamed_from`
    added when it is simple enough to write on one line, else the key to add."""
    if c.kind == COLUMN and isinstance(raw, str):
        raw = {"type": raw}
    elif c.kind == INDEX and isinstance(raw, list):
        raw = {"columns": raw}
    if c.kind != TABLE and isinstance(raw, dict) and "renamed_from" not in raw:
        pairs = [(_flow(k), _flow(v)) for k, v in raw.items()]
        items = [f"{k}: {v}" for k, v in pairs if k is not None and v is not None]
        if len(items) == len(pairs):
            items.append(f"renamed_from: {_flow(c.old)}")
            return f"{_flow(c.new)}: {{{', '.join(items)}}}"
    return f"renamed_from: {_flow(c.old)}"


_PLAIN_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "~", ""}
_SPECIAL = set(":,{}[]#&*!|>'\"%@`")


def _flow(value: Any) -> Any:
    """A scalar or a list of scalars in YAML flow style; None when not that simple."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        plain = (value.lower() not in _PLAIN_WORDS and value == value.strip()
                 and not _SPECIAL & set(value) and value[0] not in "-?."
                 and not value[0].isdigit())
        if plain or (value[:1].isalpha() and "(" in value and not _SPECIAL & set(value)):
            return value
        return json.dumps(value, ensure_ascii=False)  # a double-quoted YAML scalar
    if isinstance(value, list):
        items = [_flow(v) for v in value]
        return None if None in items or any(isinstance(v, list) for v in value) \
            else "[" + ", ".join(items) + "]"
    return None
