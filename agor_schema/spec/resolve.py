"""One dialect's view of the authored schema.

Applies `sqlite:`/`postgres:` override blocks (deep merge: mappings merge key by key, other
values replace), drops items whose `only:` names the other dialect, and picks the dialect's
side of `{sqlite: ..., postgres: ...}` values. Paths of merged values are aliased to the
override block so errors still point at the line the user wrote.
"""

from __future__ import annotations

import copy
from typing import Any

from agor_schema.dialects import DIALECT_NAMES as DIALECTS
from agor_schema.errors import SchemaError, did_you_mean, path_context
from agor_schema.spec.loader import Document, Path_


def is_per_dialect(value: Any) -> bool:
    """True for `{sqlite: ..., postgres: ...}` (a non-empty mapping with only those keys)."""
    return isinstance(value, dict) and bool(value) and set(value) <= set(DIALECTS)


def resolve(doc: Document, dialect: str) -> Document:
    """The document as `dialect` sees it; marks are shared with `doc`."""
    out = doc.derive()  # the marks stay unbuilt unless a problem is reported
    errors: list[SchemaError] = []
    data = {k: v for k, v in doc.data.items() if k != "tables"}
    enums = doc.data.get("enums")
    if isinstance(enums, dict):  # an enum with `only:` for the other dialect is left out
        data["enums"] = {name: raw for name, raw in enums.items()
                         if not isinstance(raw, dict)
                         or _kept(raw, ("enums", name), dialect, out, errors)}
    tables = doc.data.get("tables")
    if isinstance(tables, dict):
        data["tables"] = _resolve_tables(tables, dialect, out, errors)
    else:
        data["tables"] = tables
    if errors:
        from agor_schema.errors import SchemaErrors

        raise SchemaErrors(errors)
    out.data = data
    return out


def _resolve_tables(tables: dict, dialect: str, doc: Document, errors: list) -> dict:
    result = {}
    for name, raw in tables.items():
        path = ("tables", name)
        if not isinstance(raw, dict):
            result[name] = raw
            continue
        table = _apply_override(raw, path, dialect, doc, errors)
        if not _kept(table, path, dialect, doc, errors):
            continue
        if isinstance(table.get("columns"), dict):
            table["columns"] = _resolve_columns(table["columns"], (*path, "columns"), dialect, doc,
                                                errors)
        if isinstance(table.get("indexes"), dict):
            table["indexes"] = _resolve_indexes(table["indexes"], (*path, "indexes"), dialect, doc,
                                                errors)
        if isinstance(table.get("checks"), dict):
            table["checks"] = _resolve_checks(table["checks"], (*path, "checks"), dialect, doc,
                                              errors)
        if isinstance(table.get("foreign_keys"), list):
            table["foreign_keys"] = [
                fk for i, fk in enumerate(table["foreign_keys"])
                if not isinstance(fk, dict)
                or _kept(fk, (*path, "foreign_keys", i), dialect, doc, errors)
            ]
        result[name] = table
    return result


def _resolve_columns(columns: dict, path: Path_, dialect: str, doc: Document, errors: list) -> dict:
    result = {}
    for name, raw in columns.items():
        if not isinstance(raw, dict):
            result[name] = raw
            continue
        column = _apply_override(raw, (*path, name), dialect, doc, errors)
        if not _kept(column, (*path, name), dialect, doc, errors):
            continue
        if is_per_dialect(column.get("default")):
            picked = column["default"].get(dialect)
            if picked is None:
                column.pop("default")
            else:  # per-dialect defaults are SQL, as in {sqlite: "...", postgres: "..."}
                column["default"] = {"sql": picked} if isinstance(picked, str) else picked
                doc.aliases.setdefault((*path, name, "default"), (*path, name, "default", dialect))
        generated = column.get("generated")
        if is_per_dialect(generated):
            column["generated"] = generated.get(dialect)
            if column["generated"] is None:
                column.pop("generated")
            else:
                doc.aliases.setdefault((*path, name, "generated"),
                                       (*path, name, "generated", dialect))
        elif isinstance(generated, dict) and is_per_dialect(generated.get("as")):
            column["generated"] = {**generated, "as": generated["as"].get(dialect)}
            doc.aliases.setdefault((*path, name, "generated", "as"),
                                   (*path, name, "generated", "as", dialect))
        result[name] = column
    return result


def _resolve_indexes(indexes: dict, path: Path_, dialect: str, doc: Document, errors: list) -> dict:
    result = {}
    for name, raw in indexes.items():
        if not isinstance(raw, dict):
            result[name] = raw
            continue
        index = _apply_override(raw, (*path, name), dialect, doc, errors)
        if not _kept(index, (*path, name), dialect, doc, errors):
            continue
        override = raw.get(dialect)
        if isinstance(override, dict):  # an override's key parts replace the base's, either form
            if "parts" in override and not {"columns", "expressions"} & set(override):
                index.pop("columns", None)
                index.pop("expressions", None)
            elif {"columns", "expressions"} & set(override) and "parts" not in override:
                index.pop("parts", None)
        if is_per_dialect(index.get("where")):
            picked = index["where"].get(dialect)
            if picked is None:
                index.pop("where")
            else:
                index["where"] = picked
                doc.aliases.setdefault((*path, name, "where"), (*path, name, "where", dialect))
        if isinstance(index.get("expressions"), list):
            picked_list = []
            for item in index["expressions"]:
                if is_per_dialect(item):
                    item = item.get(dialect)
                    if item is None:
                        continue
                picked_list.append(item)
            index["expressions"] = picked_list
        if isinstance(index.get("parts"), list):
            parts = []
            for i, part in enumerate(index["parts"]):
                if isinstance(part, dict) and is_per_dialect(part.get("expression")):
                    picked = part["expression"].get(dialect)
                    if picked is None:
                        continue  # this part exists in the other dialect only
                    part = {**part, "expression": picked}
                    doc.aliases.setdefault((*path, name, "parts", len(parts), "expression"),
                                           (*path, name, "parts", i, "expression", dialect))
                parts.append(part)
            index["parts"] = parts
        result[name] = index
    return result


def _resolve_checks(checks: dict, path: Path_, dialect: str, doc: Document, errors: list) -> dict:
    result = {}
    for name, raw in checks.items():
        if not isinstance(raw, dict):
            result[name] = raw
            continue
        if not _kept(raw, (*path, name), dialect, doc, errors):
            continue
        if "verbatim" in raw and not set(raw) & set(DIALECTS) and "sql" not in raw:
            # {verbatim: "..."} (plus only:) is the check's SQL, untouched
            rest = {k: v for k, v in raw.items() if k != "verbatim"}
            result[name] = {"sql": {"verbatim": raw["verbatim"]}, **rest}
            doc.aliases.setdefault((*path, name, "sql"), (*path, name))
            continue
        if set(raw) & set(DIALECTS):
            sql = raw.get(dialect, raw.get("sql"))
            if sql is None:
                continue
            rest = {k: v for k, v in raw.items() if k not in DIALECTS and k != "sql"}
            result[name] = {"sql": sql, **rest}
            if dialect in raw:
                doc.aliases.setdefault((*path, name, "sql"), (*path, name, dialect))
            continue
        result[name] = raw
    return result


# copy.copy returns these unchanged; skipping the call for them (most of a schema's values)
# saves a dispatch per key of every table and column
_IMMUTABLE = frozenset({str, int, bool, float, type(None)})


def _apply_override(raw: dict, path: Path_, dialect: str, doc: Document, errors: list) -> dict:
    base = {k: v if type(v) in _IMMUTABLE else copy.copy(v)
            for k, v in raw.items() if k not in DIALECTS}
    override = raw.get(dialect)
    if override is None:
        return base
    if not isinstance(override, dict):
        errors.append(
            SchemaError(
                f"'{dialect}:' must be a mapping of fields that replace the ones above "
                f"for {dialect}, e.g. {dialect}: {{type: text}}; got {type(override).__name__} "
                f"{override!r}",
                mark=doc.mark((*path, dialect)),
                **path_context((*path, dialect)),
            )
        )
        return base
    return _deep_merge(base, override, path, (*path, dialect), doc)


def _deep_merge(base: dict, over: dict, out_path: Path_, over_path: Path_, doc: Document) -> dict:
    result = dict(base)
    for key, value in over.items():
        if isinstance(result.get(key), dict) and isinstance(value, dict):
            result[key] = _deep_merge(result[key], value, (*out_path, key), (*over_path, key), doc)
        else:
            result[key] = value
            doc.aliases[(*out_path, key)] = (*over_path, key)
    return result


def _kept(item: dict, path: Path_, dialect: str, doc: Document, errors: list) -> bool:
    only = item.get("only")
    if only is None:
        return True
    if only not in DIALECTS:
        errors.append(
            SchemaError(
                f"'only: {only}' is not a dialect;{did_you_mean(str(only), DIALECTS)} "
                "valid: sqlite, postgres",
                mark=doc.mark((*path, "only")),
                **path_context((*path, "only")),
            )
        )
        return False
    return only == dialect
