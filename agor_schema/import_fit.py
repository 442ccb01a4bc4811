"""Fit a pulled schema to every dialect of the project (`pull` into a multi-dialect project).

`pull` reads one engine, so the document the importer writes says everything in that
dialect's terms, while `compile` builds it for each dialect the project names. What another
dialect lacks is moved into an override of the source dialect, asked of the dialects'
capability data (index options, part options, NULLS NOT DISTINCT, generated column kinds):
the source dialect resolves to exactly the document the importer proved, the others get the
nearest plain form. Whatever the validator still refuses for another dialect is then kept to
the source (`only:`, or the one field moved into the source's override) and listed, so the
written schema compiles for every dialect of the project and nothing is dropped silently.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from agor_schema.dialects import DIALECT_NAMES, get_dialect

PART_OPTIONS = ("desc", "nulls", "opclass")
INDEX_OPTIONS = ("method", "with", "extension")
# the nearest type every dialect takes, for a type one dialect restricts (SQLite's serial
# must be the primary key); the source keeps its own in its override
NEAREST_TYPES = {"serial": "integer", "smallserial": "smallint", "bigserial": "bigint"}
ROUNDS = 12  # each round keeps at least one more element to the source; tables bound it


@dataclass
class Fitted:
    """One thing another dialect gets differently from the source (or not at all)."""

    message: str
    dialect: str  # the dialect that lacks it
    table: str | None = None
    name: str | None = None
    lost: bool = False  # that dialect goes without it (not just a plainer form of it)

    def to_json(self) -> dict:
        out: dict[str, Any] = {"message": self.message, "dialect": self.dialect}
        for key in ("table", "name"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    def __str__(self) -> str:
        where = ".".join(p for p in (self.table, self.name) if p)
        return f"[{self.dialect}] {where + ': ' if where else ''}{self.message}"


def fit_document(document: dict, source: str, targets: Iterable[str]) -> list[Fitted]:
    """Make `document` (written for `source`) compile for every dialect in `targets` too, in
    place; what the others get differently is returned."""
    others = [d for d in DIALECT_NAMES if d in set(targets) and d != source]
    if not others:
        return []
    fit = _Fit(document, source, others)
    for tname, table in (document.get("tables") or {}).items():
        if isinstance(table, dict) and table.get("only") in (None, *others):
            fit.table(tname, table)
    fit.until_valid()
    return fit.items


class _Fit:
    def __init__(self, document: dict, source: str, others: Sequence[str]):
        self.document = document
        self.source = source
        self.others = list(others)
        self.items: list[Fitted] = []

    def lacking(self, has) -> list[str]:
        """The other dialects for which `has(dialect)` is false."""
        return [d for d in self.others if not has(get_dialect(d))]

    def kept(self, message: str, lacking: Sequence[str], table: str | None,
             name: str | None, lost: bool = False) -> None:
        for d in lacking:
            self.items.append(Fitted(message, d, table, name, lost))

    # ---- capability fits: the source keeps exactly what it had, in its override
    def table(self, tname: str, table: dict) -> None:
        for cname, column in (table.get("columns") or {}).items():
            if isinstance(column, dict) and column.get("only") is None:
                self.column(tname, cname, column)
        for iname, index in (table.get("indexes") or {}).items():
            if isinstance(index, dict) and index.get("only") is None:
                self.index(tname, iname, index)
        self.uniques(tname, table)

    def column(self, tname: str, cname: str, column: dict) -> None:
        if str(column.get("type", "")).endswith("[]") and isinstance(column.get("default"), dict):
            # an array's SQL default is the source's array text; SQLite keeps arrays as JSON
            # text, so only a YAML list default means the same in every dialect
            _override(column, self.source, {"default": column.pop("default")})
            self.kept(f"the SQL default of an array column kept to {self.source} (write it as a "
                      "YAML list to have it here too)", self.others, tname, cname, lost=True)
        if column.get("nulls_not_distinct"):
            lacking = self.lacking(lambda d: d.nulls_not_distinct)
            if lacking:
                _override(column, self.source, {"nulls_not_distinct":
                                                column.pop("nulls_not_distinct")})
                self.kept("NULLS NOT DISTINCT kept to "
                          f"{self.source} (repeated NULLs allowed here)", lacking, tname, cname)
        generated = column.get("generated")
        if generated is not None:
            kind = generated.get("type", "stored") if isinstance(generated, dict) \
                else "stored"
            lacking = self.lacking(lambda d: kind in d.generated_kinds)
            if lacking:
                self.generated(tname, cname, column, kind, lacking)

    def generated(self, tname: str, cname: str, column: dict, kind: str,
                  lacking: list[str]) -> None:
        """A generated kind another dialect lacks: the base takes a kind every dialect has
        (reads the same), the source its own."""
        common = [k for k in ("stored", "virtual")
                  if all(k in get_dialect(d).generated_kinds for d in self.others)]
        original = column.pop("generated")
        _override(column, self.source, {"generated": original})
        expression = original.get("as") if isinstance(original, dict) else original
        if common:
            column["generated"] = expression if common[0] == "stored" \
                else {"as": expression, "type": common[0]}
            _to_end(column, self.source)
            self.kept(f"generated column is {kind} in {self.source}; {common[0]} here",
                      lacking, tname, cname)
        else:
            self.kept(f"a {kind} generated column in {self.source}; a plain column here",
                      lacking, tname, cname, lost=True)

    def index(self, tname: str, iname: str, index: dict) -> None:
        moved: dict[str, Any] = {}
        lacking: set[str] = set()
        for key in INDEX_OPTIONS:
            missing = self.lacking(lambda d, key=key: key in d.index_options)
            if key in index and missing:
                moved[key] = index.pop(key)
                lacking.update(missing)
        parts = index.get("parts")
        if isinstance(parts, list):
            used = {k for p in parts if isinstance(p, dict) for k in PART_OPTIONS if k in p}
            missing = sorted({d for k in used
                              for d in self.lacking(lambda d, k=k: k in d.index_options)})
            if missing:
                moved["parts"] = index.pop("parts")
                _plain_parts(index, parts)
                lacking.update(missing)
        if index.get("nulls_not_distinct"):
            missing = self.lacking(lambda d: d.nulls_not_distinct)
            if missing:
                moved["nulls_not_distinct"] = index.pop("nulls_not_distinct")
                lacking.update(missing)
        if moved:
            _override(index, self.source, moved)
            shown = ", ".join(moved)
            self.kept(f"index {shown} kept to {self.source} (a plain index here)",
                      sorted(lacking), tname, iname)

    def uniques(self, tname: str, table: dict) -> None:
        """Table unique entries with NULLS NOT DISTINCT: the base list without it, the
        source's override the whole list (a list in an override replaces the base's)."""
        entries = table.get("unique")
        if not isinstance(entries, list):
            return
        marked = [e for e in entries if isinstance(e, dict) and e.get("nulls_not_distinct")]
        lacking = self.lacking(lambda d: d.nulls_not_distinct) if marked else []
        if not lacking:
            return
        table["unique"] = [{k: v for k, v in e.items() if k != "nulls_not_distinct"}
                           if isinstance(e, dict) else e for e in entries]
        _override(table, self.source, {"unique": entries})
        for entry in marked:
            self.kept(f"NULLS NOT DISTINCT kept to {self.source} (repeated NULLs allowed here)",
                      lacking, tname, entry.get("name") or "_".join(entry.get("columns", [])))

    # ---- what the validator still refuses: keep it to the source
    def until_valid(self) -> None:
        for _ in range(ROUNDS):
            errors = _errors(self.document, self.others)
            if not errors:
                return
            changed, handled = False, set()
            for dialect, error in errors:
                # one element refused twice (two missing columns) is kept to the source once
                key = (error.table, error.kind, error.item, error.column,
                       (error.field or "").split(".")[0] if not (error.kind or error.column)
                       else None)
                if key in handled or (error.table, None, None, None, None) in handled:
                    continue
                if self.keep_to_source(dialect, error):
                    changed = True
                    handled.add(key)
                    if _only(self.document["tables"].get(error.table)):
                        handled.add((error.table, None, None, None, None))
            if not changed:
                break
        for dialect, error in _errors(self.document, self.others):
            self.items.append(Fitted(f"compile refuses this for {dialect}: {error.message}; "
                                     "fix it in the schema", dialect, error.table,
                                     error.item or error.column, lost=True))

    def keep_to_source(self, dialect: str, error: Any) -> bool:
        """Keep what `error` is about to the source dialect; False when nothing changed."""
        tables = self.document.get("tables") or {}
        table = tables.get(error.table) if error.table else None
        if not isinstance(table, dict):
            return False
        if table.get("only") == self.source:
            return False
        field = (error.field or "").split(".")[0]
        why = f"{dialect} refuses it ({error.message})"
        if error.kind and error.item is not None:
            if self.keep_item(table, error.kind, error.item, dialect):
                self.kept(f"{error.kind} kept to {self.source}: {why}", [dialect],
                          error.table, error.item, lost=True)
                return True
        elif error.column:
            column = (table.get("columns") or {}).get(error.column)
            if column is not None and self.keep_column_field(table, error.column, field):
                self.kept(f"{field} kept to {self.source}: {why}", [dialect], error.table,
                          error.column, lost=True)
                return True
            if column is not None and not _only(column):
                table["columns"][error.column] = _with_only(column, self.source)
                self.kept(f"column kept to {self.source}: {why}", [dialect], error.table,
                          error.column, lost=True)
                return True
        elif field == "unique" and (dropped := self.keep_unique_entries(table)):
            for name in dropped:
                self.kept(f"unique constraint kept to {self.source}: {why}", [dialect],
                          error.table, name, lost=True)
            return True
        elif field in ("unique", "primary_key", "foreign_keys") and field in table:
            _override(table, self.source, {field: table.pop(field)})
            self.kept(f"{field} kept to {self.source}: {why}", [dialect], error.table, None,
                      lost=True)
            return True
        tables[error.table] = _with_only(table, self.source)
        self.kept(f"table kept to {self.source}: {why}", [dialect], error.table, None,
                  lost=True)
        return True

    def keep_unique_entries(self, table: dict) -> list[str]:
        """Drop from the base list the entries naming a column the other dialect lacks (kept
        to the source); the source's override holds the whole list (a list in an override
        replaces the base's). The names of the entries dropped."""
        entries = table.get("unique")
        columns = table.get("columns") or {}
        if not isinstance(entries, list):
            return []

        def lacks(entry: Any) -> bool:
            names = entry if isinstance(entry, list) else entry.get("columns", []) \
                if isinstance(entry, dict) else []
            return any(c not in columns or _only(columns[c]) for c in names)
        dropped = [e for e in entries if lacks(e)]
        if not dropped:
            return []
        override = table.get(self.source)
        if not (isinstance(override, dict) and "unique" in override):
            _override(table, self.source, {"unique": entries})
        table["unique"] = [e for e in entries if not lacks(e)]
        if not table["unique"]:
            del table["unique"]
        return [e.get("name") or "_".join(e.get("columns", [])) if isinstance(e, dict)
                else "_".join(e) for e in dropped]

    def keep_item(self, table: dict, kind: str, item: str, dialect: str) -> bool:
        if kind == "foreign key":
            kept = [fk for fk in table.get("foreign_keys") or []
                    if not (isinstance(fk, dict) and fk.get("only") not in (None, dialect))]
            if not item.isdigit() or int(item) >= len(kept) or _only(kept[int(item)]):
                return False
            kept[int(item)]["only"] = self.source
            return True
        group = {"index": "indexes", "check": "checks"}.get(kind)
        items = table.get(group) if group else None
        if not isinstance(items, dict) or item not in items or _only(items[item]):
            return False
        value = items[item]
        if kind == "check" and not isinstance(value, dict):
            value = {"sql": value}
        items[item] = _with_only(value, self.source)
        return True

    def keep_column_field(self, table: dict, cname: str, field: str) -> bool:
        """Move one refused column field into the source's override; a type one dialect
        restricts becomes the nearest plain type in the base."""
        column = table["columns"][cname]
        if not isinstance(column, dict) or _only(column) or field in ("", "only", *DIALECT_NAMES):
            return False
        if field == "type":
            nearest = NEAREST_TYPES.get(str(column.get("type")))
            if nearest is None:
                return False
            _override(column, self.source, {"type": column["type"]})
            column["type"] = nearest
            return True
        if field not in column or field in ("primary_key", "not_null"):
            return False
        _override(column, self.source, {field: column.pop(field)})
        return True


def _errors(document: dict, dialects: Sequence[str]) -> list[tuple[str, Any]]:
    """(dialect, SchemaError) for every problem the validator finds, dialect by dialect."""
    from agor_schema.errors import SchemaErrors
    from agor_schema.spec.loader import Document
    from agor_schema.spec.validate import validate_schema

    found = []
    for dialect in dialects:
        try:
            validate_schema(Document(document), (dialect,))
        except SchemaErrors as exc:
            found += [(dialect, e) for e in exc.errors]
    return found


def _plain_parts(index: dict, parts: list) -> None:
    """The index's key parts without ordering or operator classes, in the plainest form:
    `columns:` (then `expressions:`) when that keeps their order, else `parts:`."""
    plain = [p if not isinstance(p, dict) else
             (p["column"] if "column" in p else {"expression": p["expression"]})
             for p in parts]
    kinds = [isinstance(p, dict) for p in plain]
    if kinds == sorted(kinds):
        columns = [p for p in plain if not isinstance(p, dict)]
        expressions = [p["expression"] for p in plain if isinstance(p, dict)]
        head = {**({"columns": columns} if columns else {}),
                **({"expressions": expressions} if expressions else {})}
    else:
        head = {"parts": plain}
    rest = dict(index)
    index.clear()
    index.update(head)
    index.update(rest)


def _override(mapping: dict, dialect: str, values: dict) -> None:
    """Set `values` in `mapping`'s override for `dialect`, the overrides kept last (a copy:
    YAML would write a value shared with the base as an anchor and an alias)."""
    mapping.setdefault(dialect, {}).update(copy.deepcopy(values))
    for d in DIALECT_NAMES:
        if d in mapping:
            _to_end(mapping, d)


def _to_end(mapping: dict, key: str) -> None:
    if key in mapping:
        mapping[key] = mapping.pop(key)


def _only(value: Any) -> bool:
    return isinstance(value, dict) and value.get("only") is not None


def _with_only(value: Any, dialect: str) -> dict:
    """`value` (a mapping, or a bare column type) marked `only: dialect`, the mark first."""
    body = value if isinstance(value, dict) else {"type": value}
    return {"only": dialect, **{k: v for k, v in body.items() if k != "only"}}
