"""From authored YAML to a validated `SchemaSpec` per dialect, with located errors.

Two layers: pydantic checks the shape (keys, types of values), then `_Checker` checks what
spans several places (foreign key targets, index columns, expressions, defaults vs types).
Every problem becomes a SchemaError naming file:line:col, table, column and field.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from pydantic import BaseModel, ValidationError

from agor_schema.dialects import DIALECT_NAMES
from agor_schema.dialects.base import ENUM_REBUILD_SUFFIX
from agor_schema.dialects.capabilities import shortest_name_limit
from agor_schema.errors import SchemaError, SchemaErrors, did_you_mean, path_context
from agor_schema.spec.loader import Document, Path_, written_text
from agor_schema.spec.models import (
    IDENTIFIER_RE,
    QUALIFIED_RE,
    CheckSpec,
    ColumnSpec,
    CustomTypeSpec,
    EnumSpec,
    ForeignKeySpec,
    ForeignKeyTarget,
    IndexPart,
    IndexSpec,
    SchemaSpec,
    TableSpec,
    UniqueSpec,
    Verbatim,
)
from agor_schema.spec.resolve import resolve
from agor_schema.spec.types import (
    LOGICAL_TYPES,
    NAME_RE,
    TYPE_ALIASES,
    VALID_TYPES_TEXT,
    LogicalType,
    timestamp_ms,
)

TYPE_FAMILIES = {"varchar": "text", "bigint": "integer", "double": "real", "smallint": "integer",
                 "serial": "integer", "smallserial": "integer", "bigserial": "integer"}
# names are held to the shortest limit of any engine (PostgreSQL's), which cuts longer ones
NAME_MAX, NAME_CUTTER = shortest_name_limit()
SMALLINT_RANGE = (-32768, 32767)
NO_EQUALITY = ("column '{column}' is json_text (PostgreSQL json), which has no equality "
               "operator, so it cannot be in a {what}; use json (jsonb) instead")
# a verbatim custom type: one type name with optional arguments and array brackets, e.g.
# citext, vector(1536), geometry(Point, 4326), double precision, tsvector[]
_VERBATIM_TYPE = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?(?: [A-Za-z_][A-Za-z0-9_]*)*"
    r"(?:\s*\(\s*[A-Za-z0-9_]+(?:\s*,\s*[A-Za-z0-9_]+)*\s*\))?(?:\s*\[\d*\])*$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Words with which a column definition goes on after its type (constraints, collation,
# storage): a declared type holding one would smuggle a constraint no snapshot records.
_CONSTRAINT_WORDS = frozenset({
    "constraint", "primary", "key", "not", "null", "unique", "check", "default", "collate",
    "references", "generated", "as", "identity", "always", "stored", "virtual", "deferrable",
    "initially", "on", "storage", "compression", "autoincrement", "asc", "desc", "conflict",
})
REAL_MAX = 3.4028234663852886e38  # float4: PostgreSQL refuses anything larger (or 0 < x < min)
REAL_MIN = 1.401298464324817e-45


def validate_schema(doc: Document, dialects: tuple[str, ...]) -> dict[str, SchemaSpec]:
    """Validate the merged document once per dialect; raise SchemaErrors with every problem."""
    specs: dict[str, SchemaSpec] = {}
    errors: list[SchemaError] = []
    for dialect in dialects:
        try:
            resolved = resolve(doc, dialect)
        except SchemaErrors as exc:
            errors.extend(exc.errors)
            continue
        types = resolved.data.get("types") if isinstance(resolved.data, dict) else None
        context = {"custom_types": frozenset(types) if isinstance(types, dict) else frozenset()}
        try:
            spec = SchemaSpec.model_validate(resolved.data, context=context)
        except ValidationError as exc:
            errors.extend(_translate(exc, resolved))
            continue
        found = _Checker(spec, resolved, dialect).run(_table_keys(doc.data, dialect))
        if found:
            errors.extend(found)
            continue
        specs[dialect] = spec
    if errors:
        raise SchemaErrors(errors)
    return specs


def _table_keys(raw: Any, dialect: str) -> Any:
    """Per-table cache keys (spec.TableKeys) when a persistent cache is on, else None."""
    from agor_schema import cache
    from agor_schema.spec import TableKeys

    if cache.active().folder is None or not TableKeys.usable(raw):
        return None
    return TableKeys(raw, dialect)


def referenced_tables(table: TableSpec) -> set[str]:
    """The tables a table's foreign keys name (what its checks read besides itself)."""
    named = {c.references.split(".")[0] for c in table.columns.values()
             if isinstance(c.references, str)}
    return named | {fk.references.table for fk in table.foreign_keys}


# ---------------------------------------------------------------- pydantic errors


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """Which DSL model the location `loc` sits in (for listing valid keys)."""
    model: type[BaseModel] | None = SchemaSpec
    i = 0
    while i < len(loc) and model is not None:
        key = loc[i]
        step = {
            (SchemaSpec, "tables"): TableSpec,
            (SchemaSpec, "enums"): EnumSpec,
            (SchemaSpec, "types"): CustomTypeSpec,
            (TableSpec, "columns"): ColumnSpec,
            (TableSpec, "indexes"): IndexSpec,
            (TableSpec, "checks"): CheckSpec,
            (TableSpec, "foreign_keys"): ForeignKeySpec,
            (TableSpec, "unique"): UniqueSpec,
            (IndexSpec, "parts"): IndexPart,
        }.get((model, key))
        if step is not None:
            if i + 1 >= len(loc) - 1:
                return step if i + 2 == len(loc) else model
            model, i = step, i + 2
            continue
        if (model, key) == (ForeignKeySpec, "references"):
            model, i = ForeignKeyTarget, i + 1
            continue
        return model
    return model


def _context(loc: tuple) -> dict[str, Any]:
    """table / column / kind / item / field named by a location."""
    return dict(path_context(loc))


def _translate(exc: ValidationError, doc: Document) -> list[SchemaError]:
    result = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        kind = err["type"]
        # an unknown key is named in the message, not repeated as the field
        ctx = _context(loc[:-1] if kind == "extra_forbidden" else loc)
        mark = doc.mark(loc, key=kind == "extra_forbidden")
        value = err.get("input")
        if kind == "extra_forbidden":
            model = _model_at(loc[:-1]) or SchemaSpec
            valid = [f.alias or name for name, f in model.model_fields.items()]
            message = (
                f"unknown key '{loc[-1]}';{did_you_mean(str(loc[-1]), valid)} "
                f"valid keys: {', '.join(valid)}"
            )
        elif kind == "missing":
            message = f"missing required key '{loc[-1]}'"
            if loc[-1] == "type":
                message += f"; valid types: {VALID_TYPES_TEXT}"
        elif kind == "literal_error":
            expected = err.get("ctx", {}).get("expected", "")
            options = re.findall(r"'([^']*)'", expected)
            message = (
                f"{value!r} is not valid here;{did_you_mean(str(value), options)} "
                f"valid: {', '.join(options)}"
            )
        elif kind in ("bool_type", "bool_parsing"):
            message = f"must be true or false, got {value!r}"
        elif kind in ("string_type",):
            message = f"must be a string, got {_describe(value)}"
            written = written_text(mark) if isinstance(value, (bool, int, float)) else None
            if written is not None:
                message += (f"; YAML reads {written} as a {type(value).__name__}: quote it, "
                            f'"{written}"')
        elif kind in ("list_type",):
            message = f"must be a list, got {_describe(value)}"
        elif kind in ("dict_type", "model_type", "model_attributes_type"):
            message = f"must be a mapping, got {_describe(value)}"
        elif kind == "too_short" and loc[-1:] == ("columns",):
            message = "a table needs at least one column"
        elif kind == "value_error":
            message = str(err["msg"]).removeprefix("Value error, ")
        else:
            message = err["msg"]
        if kind == "value_error" and ctx.get("field") is None and loc and loc[-1] == "type":
            ctx["field"] = "type"
        result.append(SchemaError(message, mark=mark, **ctx))
    return result


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


# ---------------------------------------------------------------- cross-reference checks


class _Checker:
    """Checks that need the whole schema: references, names, expressions, defaults."""

    def __init__(self, spec: SchemaSpec, doc: Document, dialect: str):
        from agor_schema.dialects import get_dialect

        self.spec, self.doc, self.dialect = spec, doc, dialect
        self.dialect_rules = get_dialect(dialect)
        self.errors: list[SchemaError] = []
        self.index_owner: dict[str, str] = {}

    def error(self, message: str, path: Path_, *, key: bool = False, **ctx: Any) -> None:
        self.errors.append(SchemaError(message, mark=self.doc.mark(path, key=key), **ctx))

    def run(self, keys: Any = None) -> list[SchemaError]:
        """Every problem, in document order. With `keys` (spec.TableKeys), a table checked
        clean before with the same inputs skips the checks of its own data."""
        for name, enum in self.spec.enums.items():
            self.check_enum(name, enum)
        for name, custom in self.spec.types.items():
            self.check_custom_type(name, custom)
        for name, table in self.spec.tables.items():
            if keys is None:
                self.check_table(name, table)
            else:
                self.check_table_memo(name, table, keys)
        return self.errors

    def check_table_memo(self, name: str, table: TableSpec, keys: Any) -> None:
        """`check_table`, remembered per table in the project cache, which records only
        tables that checked clean (errors are never cached). Its key holds all a table's
        checks read except the names of other tables: the table's data, that of the tables
        it references, the top-level settings and the dialect. The checks against the other
        tables' names always run (`clean_across_tables`); when one finds a problem, the
        table is checked again in full, so the messages and their order are a full check's."""
        from agor_schema import cache

        store = cache.active()
        key = keys.key(name, referenced_tables(table), "check")
        if store.get("tablecheck", key) and self.clean_across_tables(name, table):
            return
        before = len(self.errors)
        self.check_table(name, table)
        if len(self.errors) == before:
            store.put("tablecheck", key, True)

    def clean_across_tables(self, name: str, table: TableSpec) -> bool:
        """What `check_table` finds against other tables' names: renamed_from naming a
        table that still exists, an index named like a table, an index or constraint name
        another table (or this one) already uses. True when nothing: the names are then
        claimed for `name` as `check_table` claims them; False claims nothing."""
        if table.renamed_from and table.renamed_from in self.spec.tables:
            return False
        if any(index in self.spec.tables for index in table.indexes):
            return False
        names = [c.unique_name for c in table.columns.values() if c.unique_name is not None]
        if table.primary_key_name is not None:
            names.append(table.primary_key_name)
        names += [u.name for u in table.unique_specs() if u.name is not None]
        names += table.indexes
        if len(set(names)) < len(names) or any(n in self.index_owner for n in names):
            return False
        for claimed in names:
            self.index_owner[claimed] = name
        return True

    def check_table(self, name: str, table: TableSpec) -> None:
        path = ("tables", name)
        self.check_identifier(name, path, table=name)
        if table.renamed_from and table.renamed_from in self.spec.tables:
            self.error(
                f"renamed_from '{table.renamed_from}' names a table that still exists",
                (*path, "renamed_from"), table=name, field="renamed_from",
            )
        pk_columns = [c for c, s in table.columns.items() if s.primary_key]
        if table.primary_key and pk_columns:
            self.error(
                "both 'primary_key:' on the table and 'primary_key: true' on column "
                f"'{pk_columns[0]}'; keep one", (*path, "primary_key"), table=name,
                field="primary_key",
            )
        if len(pk_columns) > 1:
            self.error(
                f"columns {', '.join(pk_columns)} are each marked primary_key; for a composite "
                f"key write 'primary_key: [{', '.join(pk_columns)}]' on the table",
                (*path, "columns", pk_columns[1], "primary_key"), table=name,
                column=pk_columns[1], field="primary_key",
            )
        for column, spec in table.columns.items():
            self.check_column(name, table, column, spec)
        raw_table = (self.doc.data.get("tables") or {}).get(name) or {}
        pk_path = (*path, "primary_key")
        if isinstance(raw_table.get("primary_key"), dict):  # long form (else the list itself)
            pk_path = (*pk_path, "columns")
        if table.primary_key_name is not None:
            self.check_constraint_name(name, table.primary_key_name,
                                       (*path, "primary_key", "name"), "primary_key")
        self.check_column_list(name, table, table.primary_key_columns, pk_path, "primary_key")
        raw_uniques = raw_table.get("unique") if isinstance(raw_table.get("unique"), list) else []
        for i, unique in enumerate(table.unique_specs()):
            upath = (*path, "unique", i)
            raw = raw_uniques[i] if i < len(raw_uniques) else None
            self.check_column_list(name, table, unique.columns,
                                   (*upath, "columns") if isinstance(raw, dict) else upath,
                                   "unique")
            if unique.name is not None:
                self.check_constraint_name(name, unique.name, (*upath, "name"), "unique")
            if unique.nulls_not_distinct:  # an entry has no override of its own
                self.check_nulls_not_distinct(
                    (*upath, "nulls_not_distinct"), table=name, field="unique",
                    fix="Write the entry in the table's 'postgres: {unique: [...]}' (that list "
                    "replaces the table's unique: for PostgreSQL; the base keeps the entry "
                    "without it)")
        for index_name, index in table.indexes.items():
            self.check_index(name, table, index_name, index)
        for check_name, check in table.checks.items():
            self.check_expression(
                name, table, check.sql or "", (*path, "checks", check_name, "sql"),
                kind="check", item=check_name,
            )
        for i, fk in enumerate(table.foreign_keys):
            self.check_foreign_key(name, table, fk, (*path, "foreign_keys", i))

    def check_enum(self, name: str, enum: EnumSpec) -> None:
        """Names and labels PostgreSQL accepts; renames that still make sense."""
        path = ("enums", name)
        ctx = {"kind": "enum", "item": name}
        self.check_identifier(name, path, **ctx)
        builtin = set(LOGICAL_TYPES) | set(TYPE_ALIASES) | set(self.spec.types)
        if not NAME_RE.match(name):
            self.error(f"enum name {name!r} must be letters, digits and _ (not starting with a "
                       "digit), so that columns can say enum(<name>)", path, key=True, **ctx)
        elif name.lower() in builtin:
            self.error(f"enum name '{name}' is already a type name; choose another",
                       path, key=True, **ctx)
        elif len(name.encode()) > NAME_MAX - len(ENUM_REBUILD_SUFFIX):
            self.error(f"enum name '{name}' is longer than "
                       f"{NAME_MAX - len(ENUM_REBUILD_SUFFIX)} bytes: a rebuild renames "
                       f"the type to <name>{ENUM_REBUILD_SUFFIX}, which {NAME_CUTTER} would cut",
                       path, key=True, **ctx)
        if enum.schema_ is not None:
            self.check_identifier(enum.schema_, (*path, "schema"), field="schema", **ctx)
        if enum.renamed_from and enum.renamed_from in self.spec.enums:
            self.error(f"renamed_from '{enum.renamed_from}' names an enum that still exists",
                       (*path, "renamed_from"), field="renamed_from", **ctx)
        labels = enum.labels
        raw = (self.doc.data.get("enums") or {}).get(name)
        values_path = path if isinstance(raw, list) else (*path, "values")
        for i, label in enumerate(labels):
            if not label or len(label.encode()) > NAME_MAX:
                self.error(f"enum value {label!r} must have 1 to {NAME_MAX} bytes "
                           f"({NAME_CUTTER}'s limit for enum labels)", (*values_path, i),
                           field="values", **ctx)
            if label in labels[:i]:
                self.error(f"enum value {label!r} is listed twice", (*values_path, i),
                           field="values", **ctx)
        for new, old in enum.value_renames.items():
            if old in labels:
                i = labels.index(new)
                self.error(f"value {new!r} says renamed_from {old!r}, but {old!r} is still a "
                           "value; drop renamed_from, or drop the old value",
                           (*values_path, i, "renamed_from"), field="values", **ctx)

    def check_custom_type(self, name: str, custom: CustomTypeSpec) -> None:
        """A declared type is one name (not a built-in one) with verbatim SQL per dialect."""
        path = ("types", name)
        ctx = {"kind": "type", "item": name}
        builtin = set(LOGICAL_TYPES) | set(TYPE_ALIASES) | {"enum"}
        if not NAME_RE.match(name) or name.lower() in builtin:
            self.error(f"type name {name!r} must be a plain name (letters, digits, _) that is not "
                       f"a built-in type ({', '.join(LOGICAL_TYPES)})", path, key=True, **ctx)
        if custom.extension is not None:
            self.check_identifier(custom.extension, (*path, "extension"), field="extension",
                                  **ctx)
            if not NAME_RE.match(custom.extension.replace("-", "_")):
                self.error(f"extension {custom.extension!r} must be an extension name such as "
                           "citext or vector", (*path, "extension"), field="extension", **ctx)
        for side in DIALECT_NAMES:
            sql = custom.for_dialect(side)
            if sql is not None and (not _VERBATIM_TYPE.match(sql.strip())
                                    or _CONSTRAINT_WORDS & set(re.findall(r"[a-z_]+",
                                                                          sql.lower()))):
                self.error(f"{side} type {sql!r} must be one SQL type name, optionally with "
                           "arguments, e.g. vector(1536) or citext (no ';', quotes or comments)",
                           (*path, side), field=side, **ctx)

    def check_column_type(self, table: str, name: str, col: ColumnSpec, path: Path_,
                          ctx: dict) -> None:
        """Enum and custom types must be declared for this dialect; serial rules."""
        lt = col.logical_type
        base = lt.element if lt.name == "array" and lt.element is not None else lt
        if base.name == "enum" and base.ref not in self.spec.enums:
            # enums of every dialect (the marks are shared with the unresolved document)
            declared = {p[1] for p in self.doc.key_marks if len(p) == 2 and p[0] == "enums"}
            if base.ref in declared:
                hint = (f" in {self.dialect} (it has 'only:' for the other dialect); give this "
                        "column the same 'only:'")
            else:
                names = ", ".join(self.spec.enums) or "none declared"
                hint = (f";{did_you_mean(base.ref or '', self.spec.enums)} declare it under the "
                        f"top-level enums: (enums: {names})")
            self.error(f"enum type '{base.ref}' does not exist{hint}", (*path, "type"),
                       field="type", **ctx)
        if base.name == "custom":
            custom = self.spec.types[base.ref or ""]
            if custom.for_dialect(self.dialect) is None:
                other = next(d for d in DIALECT_NAMES if d != self.dialect)
                self.error(f"type '{base.ref}' has no {self.dialect} side, so this column cannot "
                           f"exist in {self.dialect}: give the column 'only: "
                           f"{other}', or give "
                           f"the type a {self.dialect}: SQL type", (*path, "type"),
                           field="type", **ctx)
        if base.name == "enum" and col.enum is not None:
            self.error(f"the values of an enum({base.ref}) column come from enums.{base.ref}; "
                       "drop 'enum:'", (*path, "enum"), field="enum", **ctx)
        if lt.is_serial and col.autoincrement:
            self.error(f"{lt} already generates its values; drop autoincrement",
                       (*path, "autoincrement"), field="autoincrement", **ctx)
        problem = self.dialect_rules.column_type_problem(lt, col.primary_key)
        if problem:
            self.error(problem, (*path, "type"), field="type", **ctx)

    def check_identifier(self, ident: str, path: Path_, **ctx: Any) -> None:
        if len(ident.encode()) > NAME_MAX:
            self.error(
                f"name '{ident}' is longer than {NAME_MAX} bytes; {NAME_CUTTER} would "
                "truncate it", path, key=True, **ctx,
            )
        if not ident or "`" in ident or '"' in ident or "\x00" in ident:
            self.error(f"name {ident!r} must not be empty or contain quotes", path, key=True,
                       **ctx)

    def check_column_list(
        self, table: str, spec: TableSpec, columns: list[str], path: Path_, field: str
    ) -> None:
        for i, column in enumerate(columns):
            if column not in spec.columns:
                self.error(
                    f"column '{column}' does not exist in table '{table}';"
                    f"{did_you_mean(column, spec.columns)} columns: {', '.join(spec.columns)}",
                    (*path, i), table=table, field=field,
                )
            elif spec.columns[column].logical_type.name == "json_text":
                self.error(NO_EQUALITY.format(column=column, what=field), (*path, i),
                           table=table, field=field)

    def check_column(self, table: str, spec: TableSpec, name: str, col: ColumnSpec) -> None:
        path = ("tables", table, "columns", name)
        ctx = {"table": table, "column": name}
        self.check_identifier(name, path, **ctx)
        lt = col.logical_type
        self.check_column_type(table, name, col, path, ctx)
        if lt.name == "json_text" and (col.unique or col.primary_key):
            which = "unique" if col.unique else "primary_key"
            self.error(NO_EQUALITY.format(column=name, what=which), (*path, which), field=which,
                       **ctx)
        if col.autoincrement and not (col.primary_key and lt.is_integer):
            self.error("autoincrement needs an integer or bigint column with primary_key: true",
                       (*path, "autoincrement"), field="autoincrement", **ctx)
        if col.renamed_from and col.renamed_from in spec.columns:
            self.error(f"renamed_from '{col.renamed_from}' names a column that still exists",
                       (*path, "renamed_from"), field="renamed_from", **ctx)
        if col.enum is not None:
            if lt.name not in ("text", "varchar"):
                self.error(f"enum needs a text or varchar column, not {lt}", (*path, "enum"),
                           field="enum", **ctx)
            if not col.enum:
                self.error("enum needs at least one value", (*path, "enum"), field="enum", **ctx)
        elif col.enum_check:
            self.error("enum_check needs an 'enum:' list of values", (*path, "enum_check"),
                       field="enum_check", **ctx)
        if (col.on_delete or col.on_update) and not col.references:
            which = "on_delete" if col.on_delete else "on_update"
            self.error(f"{which} needs 'references: table.column'", (*path, which),
                       field=which, **ctx)
        if col.on_delete == "set null" and col.not_null:
            self.error("on_delete: set null on a not_null column would fail on every delete; "
                       "use cascade, restrict or no action, or drop not_null",
                       (*path, "on_delete"), field="on_delete", **ctx)
        if col.has_default:
            problem = default_problem(col.default, lt, col, spec, self.spec)
            if problem is None and isinstance(col.default, dict) and set(col.default) == {"sql"}:
                problem = self.default_function_problem(col.default["sql"])
            if problem:
                self.error(problem, (*path, "default"), field="default", **ctx)
            elif isinstance(col.default, dict) and set(col.default) == {"verbatim"}:
                self.check_verbatim(table, spec, Verbatim(verbatim=col.default["verbatim"]),
                                    (*path, "default", "verbatim"), field="default",
                                    reads_columns=False, column=name)
        if col.unique_name is not None or col.nulls_not_distinct:
            which = "unique_name" if col.unique_name is not None else "nulls_not_distinct"
            if not col.unique:
                self.error(f"{which} needs 'unique: true' on the column", (*path, which),
                           field=which, **ctx)
            if col.unique_name is not None:
                self.check_constraint_name(table, col.unique_name, (*path, "unique_name"),
                                           "unique_name", column=name)
            if col.nulls_not_distinct:
                self.check_nulls_not_distinct((*path, "nulls_not_distinct"),
                                              field="nulls_not_distinct", **ctx)
        if col.generated is not None:
            self.check_generated(table, spec, name, col, (*path, "generated"), ctx)
        if col.references:
            self.check_reference(table, spec, [name], col.references, (*path, "references"), ctx)

    def check_reference(
        self, table: str, spec: TableSpec, columns: list[str], target: str | ForeignKeyTarget,
        path: Path_, ctx: dict,
    ) -> None:
        if isinstance(target, str):
            if target.count(".") != 1 or not all(target.split(".")):
                self.error(f"references must be 'table.column', got {target!r}", path,
                           field="references", **ctx)
                return
            target_table, target_column = target.split(".")
            target_columns = [target_column]
        else:
            target_table, target_columns = target.table, target.columns
        ref = self.spec.tables.get(target_table)
        if ref is None:
            if target_table in self._all_tables():
                hint = (f" in {self.dialect} (it has 'only:' for the other dialect); give this "
                        f"column or table the same 'only:', or drop it from '{target_table}'")
            else:
                hint = (f";{did_you_mean(target_table, self.spec.tables)} tables: "
                        f"{', '.join(self.spec.tables)}")
            self.error(f"references table '{target_table}', which does not exist{hint}",
                       path, field="references", **ctx)
            return
        if len(target_columns) != len(columns):
            self.error(f"{len(columns)} column(s) ({', '.join(columns)}) reference "
                       f"{len(target_columns)} column(s) of '{target_table}' "
                       f"({', '.join(target_columns)}); list as many referenced columns as "
                       "columns, in the same order", path, field="references", **ctx)
            return
        for own, other in zip(columns, target_columns):
            other_spec = ref.columns.get(other)
            if other_spec is None:
                self.error(
                    f"references column '{target_table}.{other}', which does not exist;"
                    f"{did_you_mean(other, ref.columns)} columns: {', '.join(ref.columns)}",
                    path, field="references", **ctx,
                )
                return
            own_spec = spec.columns.get(own)
            if own_spec is None:
                continue
            if _family(own_spec.logical_type) != _family(other_spec.logical_type):
                self.error(
                    f"type {own_spec.type} of '{table}.{own}' does not match type "
                    f"{other_spec.type} of the referenced column '{target_table}.{other}'",
                    path, field="references", **ctx,
                )
        if not _is_key(ref, target_columns):
            self.error(
                f"'{target_table}({', '.join(target_columns)})' is not a primary key or unique; "
                "a foreign key must reference one (PostgreSQL requires it)",
                path, field="references", **ctx,
            )

    def _all_tables(self) -> set[str]:
        """Tables of every dialect (the marks are shared with the unresolved document)."""
        return {p[1] for p in self.doc.key_marks if len(p) == 2 and p[0] == "tables"}

    def check_index(self, table: str, spec: TableSpec, name: str, index: IndexSpec) -> None:
        path = ("tables", table, "indexes", name)
        ctx = {"kind": "index", "item": name}
        self.check_identifier(name, path, table=table, **ctx)
        owner = self.index_owner.get(name)
        if owner is not None:
            first = self.doc.mark(("tables", owner, "indexes", name), key=True)
            self.error(f"index name '{name}' is already used by table '{owner}' (at {first}); "
                       "index names are shared by the whole database: rename one", path, key=True,
                       table=table, **ctx)
        self.index_owner[name] = table
        if name in self.spec.tables:
            self.error(f"index name '{name}' is also a table name", path, key=True, table=table,
                       **ctx)
        raw = (self.doc.data.get("tables") or {}).get(table, {}).get("indexes", {}).get(name)
        columns_path = path if isinstance(raw, list) else (*path, "columns")  # shorthand: a list
        for i, column in enumerate(index.columns):
            if column not in spec.columns:
                self.error(
                    f"column '{column}' does not exist in table '{table}';"
                    f"{did_you_mean(column, spec.columns)} columns: {', '.join(spec.columns)}",
                    (*columns_path, i), field="columns", table=table, **ctx,
                )
        for i, sql in enumerate(index.expressions):
            self.check_expression(table, spec, sql, (*path, "expressions", i),
                                  field="expressions", **ctx)
        for i, part in enumerate(index.parts):
            self.check_index_part(table, spec, part, (*path, "parts", i), ctx)
        if index.where is not None:
            self.check_expression(table, spec, index.where, (*path, "where"), field="where",
                                  **ctx)
        self.check_index_options(table, spec, index, path, ctx)

    def check_index_part(self, table: str, spec: TableSpec, part: IndexPart, path: Path_,
                         ctx: dict) -> None:
        raw = (((self.doc.data.get("tables") or {}).get(table) or {}).get("indexes") or {})
        raw_parts = (raw.get(ctx["item"]) or {}).get("parts") if isinstance(
            raw.get(ctx["item"]), dict) else None
        shorthand = isinstance(raw_parts, list) and len(raw_parts) > path[-1] and \
            isinstance(raw_parts[path[-1]], str)
        column = part.column
        at = path if shorthand else (*path, "column")
        if column is not None and column not in spec.columns:
            self.error(
                f"column '{column}' does not exist in table '{table}';"
                f"{did_you_mean(column, spec.columns)} columns: {', '.join(spec.columns)}",
                at, field="parts", table=table, **ctx)
        if part.expression is not None:
            self.check_expression(table, spec, part.expression, (*path, "expression"),
                                  field="parts", **ctx)
            for option in ("desc", "nulls", "opclass"):
                if option in part.model_fields_set:
                    self.error(
                        f"'{option}' on an expression part: drizzle records no ordering or "
                        "operator class for an index expression, so it could not round-trip; "
                        "use it on a column part", (*path, option), field="parts",
                        table=table, **ctx)
        if part.opclass is not None and not re.match(QUALIFIED_RE, part.opclass):
            self.error(f"opclass {part.opclass!r} must be an operator class name such as "
                       "gin_trgm_ops (letters, digits, _; optionally schema.name)",
                       (*path, "opclass"), field="parts", table=table, **ctx)
        for option in ("desc", "nulls", "opclass"):
            if option in part.model_fields_set and getattr(part, option) not in (None, False):
                self.require_index_option(option, (*path, option), table=table, **ctx)

    def check_index_options(self, table: str, spec: TableSpec, index: IndexSpec, path: Path_,
                            ctx: dict) -> None:
        """method / with / nulls_not_distinct: valid names and values, and this dialect has
        them (a PostgreSQL-only option on SQLite says how to keep it to PostgreSQL)."""
        if index.method is not None:
            if not re.match(IDENTIFIER_RE, index.method):
                self.error(f"method {index.method!r} must be an index access method name such "
                           "as btree, gin, gist, hash, brin or hnsw (letters, digits, _)",
                           (*path, "method"), field="method", table=table, **ctx)
            elif index.method.lower() != "btree":
                self.require_index_option("method", (*path, "method"), table=table, **ctx)
        if index.extension is not None:
            self.check_index_extension(table, index, path, ctx)
        for key, value in index.with_.items():
            where = (*path, "with", key)
            if not re.match(IDENTIFIER_RE, key):
                self.error(f"storage parameter {key!r} must be a name such as fillfactor",
                           where, key=True, field="with", table=table, **ctx)
            elif isinstance(value, str) and not re.match(IDENTIFIER_RE, value):
                self.error(f"storage parameter {key} = {value!r}: a value is a number, true/false "
                           "or a bare word such as auto", where, field="with", table=table, **ctx)
            elif isinstance(value, float) and value != value:  # NaN
                self.error(f"storage parameter {key} must be a number", where, field="with",
                           table=table, **ctx)
        if index.with_:
            self.require_index_option("with", (*path, "with"), table=table, **ctx)
        self.check_index_method(table, index, path, ctx)
        if index.nulls_not_distinct:
            at = (*path, "nulls_not_distinct")
            parts = index.key_parts()
            plain = all(p.column is not None and not (p.desc or p.nulls or p.opclass)
                        for p in parts)
            if not index.unique:
                self.error("nulls_not_distinct needs 'unique: true'", at,
                           field="nulls_not_distinct", table=table, **ctx)
            elif not plain or index.where is not None or index.with_ or \
                    (index.method or "btree").lower() != "btree":
                self.error("nulls_not_distinct works on a unique index of plain columns only "
                           "(no expressions, where, method, with or part options): drizzle's "
                           "snapshot records NULLS NOT DISTINCT on unique constraints, not on "
                           "indexes, so agorschema writes this index as one",
                           at, field="nulls_not_distinct", table=table, **ctx)
            else:
                self.check_nulls_not_distinct(at, field="nulls_not_distinct", table=table,
                                              **ctx)

    def check_index_extension(self, table: str, index: IndexSpec, path: Path_,
                              ctx: dict) -> None:
        """`extension:` names the extension providing a method: a name, with a method."""
        at = (*path, "extension")
        assert index.extension is not None
        if not NAME_RE.match(index.extension.replace("-", "_")):
            self.error(f"extension {index.extension!r} must be an extension name such as "
                       "bloom or vector", at, field="extension", table=table, **ctx)
        elif index.method is None:
            self.error("'extension' names the extension that provides the index 'method': "
                       "set the method too (e.g. method: bloom, extension: bloom)", at,
                       field="extension", table=table, **ctx)
        else:
            self.require_index_option("extension", at, table=table, **ctx)

    def check_index_method(self, table: str, index: IndexSpec, path: Path_,
                           ctx: dict) -> None:
        """What PostgreSQL would refuse only when the migration runs: a method it does not
        have (built in, or from an extension the schema names), storage parameters the
        method does not take or values outside their range (agor_schema.dialects)."""
        dialect = self._dialect()
        method = index.method or "btree"
        if "method" not in dialect.index_options or not re.match(IDENTIFIER_RE, method):
            return  # refused above, with the reason
        declared = frozenset(t.extension.lower() for t in self.spec.types.values()
                             if t.extension)
        problem = dialect.index_method_problem(method, index.extension, declared)
        if problem is not None and index.method is not None:
            self.error(problem, (*path, "method"), field="method", table=table, **ctx)
            return
        if "with" not in dialect.index_options:
            return
        problems = dialect.index_parameter_problems(method, {  # what passed the checks above
            k: v for k, v in index.with_.items() if re.match(IDENTIFIER_RE, k)
            and not (isinstance(v, str) and not re.match(IDENTIFIER_RE, v)) and v == v},
            index.extension)
        for key, message, on_key in problems:
            self.error(message, (*path, "with", key), key=on_key, field="with", table=table,
                       **ctx)

    def _dialect(self):
        from agor_schema.dialects import get_dialect

        return get_dialect(self.dialect)

    def require_index_option(self, option: str, path: Path_, **ctx: Any) -> None:
        if option in self._dialect().index_options:
            return
        self.error(
            f"index option '{option}' does not exist in {self.dialect} (drizzle's {self.dialect} "
            f"snapshot has no place for it); keep it to PostgreSQL: write it inside "
            f"'postgres: {{...}}' on the index, or mark the index 'only: postgres'",
            path, field=ctx.pop("field", option), **ctx)

    def check_nulls_not_distinct(self, path: Path_, fix: str = "Write it as 'postgres: "
                                 "{nulls_not_distinct: true}'", **ctx: Any) -> None:
        if self._dialect().nulls_not_distinct:
            return
        self.error(
            f"nulls_not_distinct (NULLS NOT DISTINCT, PostgreSQL 15+) does not exist in "
            f"{self.dialect}: its unique indexes always let several rows hold NULL. "
            f"{fix} (SQLite then allows repeated NULLs), or make the columns not_null", path,
            **ctx)

    def check_constraint_name(self, table: str, name: str, path: Path_, field: str,
                              **ctx: Any) -> None:
        """A given constraint name: a valid identifier, unique among indexes and constraints."""
        self.check_identifier(name, path, table=table, field=field, **ctx)
        owner = self.index_owner.get(name)
        if owner is not None:
            self.error(f"name '{name}' is already used by an index or constraint of table "
                       f"'{owner}'; names of indexes and constraints must differ", path,
                       table=table, field=field, **ctx)
        self.index_owner[name] = table

    def check_generated(self, table: str, spec: TableSpec, name: str, col: ColumnSpec,
                        path: Path_, ctx: dict) -> None:
        gen = col.generated_spec
        ctx = {k: v for k, v in ctx.items() if k != "table"}
        raw = (((self.doc.data.get("tables") or {}).get(table) or {}).get("columns") or {}) \
            .get(name)
        long_form = isinstance(raw, dict) and isinstance(raw.get("generated"), dict) \
            and "as" in raw["generated"]
        expr_path = (*path, "as") if long_form else path
        for flag, what in (("primary_key", "a primary key"), ("autoincrement", "autoincrement"),
                           ("has_default", "a default")):
            if getattr(col, flag):
                self.error(f"a generated column cannot also have {what}: its value is computed",
                           path, table=table, field="generated", **ctx)
        if gen.type not in self._dialect().generated_kinds:
            self.error(
                f"generated type '{gen.type}' does not exist in {self.dialect} (PostgreSQL "
                "stores generated columns); use type: stored, or keep the column to SQLite "
                "with 'only: sqlite' / a 'sqlite:' override", (*path, "type"),
                table=table, field="generated", **ctx)
        before = len(self.errors)
        self.check_expression(table, spec, gen.as_, expr_path, field="generated", **ctx)
        if len(self.errors) > before:
            return
        from agor_schema.expr import columns_read_in, not_immutable_calls

        changing = not_immutable_calls(gen.as_, self._dialect())
        if changing:
            self.error(
                f"generated column '{name}' calls {', '.join(changing)}, whose value is not "
                "fixed by the row; PostgreSQL refuses it (a generation expression must be "
                "immutable) and SQLite at the first write: use a default instead",
                expr_path, table=table, field="generated", **ctx)
            return
        for other in columns_read_in(gen.as_, self._dialect()):
            other_spec = spec.columns.get(other)
            if other == name or (other_spec is not None and other_spec.generated is not None):
                self.error(
                    f"generated column '{name}' reads '{other}', "
                    + ("itself" if other == name else "another generated column")
                    + "; PostgreSQL computes a generated column from plain columns only",
                    expr_path, table=table, field="generated", **ctx)

    def check_verbatim(self, table: str, spec: TableSpec, sql: Verbatim, path: Path_,
                       reads_columns: bool = True, **ctx: Any) -> None:
        from agor_schema.expr import ExpressionError, check_columns_in

        try:
            check_columns_in(sql, self._dialect(), spec.columns if reads_columns else {})
        except ExpressionError as exc:
            self.error(str(exc), path, table=table, **ctx)

    def check_expression(
        self, table: str, spec: TableSpec, sql: str | Verbatim, path: Path_, **ctx: Any
    ) -> None:
        from agor_schema.dialects import get_dialect
        from agor_schema.expr import ExpressionError, check_columns, render

        if isinstance(sql, Verbatim):
            self.check_verbatim(table, spec, sql, (*path, "verbatim"), **ctx)
            return
        try:
            check_columns(sql, spec.columns)
            # rendering for this dialect can refuse what it cannot express (e.g. calendar
            # functions on SQLite's epoch-ms timestamps): report it here, with the location
            self.check_functions(render(sql, get_dialect(self.dialect), {
                name: column.logical_type for name, column in spec.columns.items()}))
        except ExpressionError as exc:
            self.error(str(exc), path, table=table, **ctx)

    def default_function_problem(self, sql: str) -> str | None:
        from agor_schema.dialects import get_dialect
        from agor_schema.expr import ExpressionError, render

        try:
            self.check_functions(render(sql, get_dialect(self.dialect), {}))
        except ExpressionError as exc:
            return str(exc)
        return None

    def check_functions(self, rendered: str) -> None:
        """ExpressionError when the rendered expression calls a function this dialect's
        engine does not have (pg_sleep on SQLite, randomblob on PostgreSQL)."""
        from agor_schema import cache
        from agor_schema.dialects import get_dialect
        from agor_schema.expr import ExpressionError, functions_called

        dialect = get_dialect(self.dialect)
        called = cache.active().memo("expr", ("functions", dialect.name, rendered),
                                     lambda: tuple(functions_called(rendered,
                                                                    dialect.sqlglot_dialect)))
        missing = dialect.unknown_functions(called)
        if missing:
            raise ExpressionError(
                f"{', '.join(f'{n}()' for n in missing)} does not exist in {dialect.name} "
                f"(the expression becomes {rendered!r} there); write it per dialect: "
                "{sqlite: \"...\", postgres: \"...\"}")

    def check_foreign_key(
        self, table: str, spec: TableSpec, fk: ForeignKeySpec, path: Path_
    ) -> None:
        ctx = {"table": table, "kind": "foreign key", "item": fk.name or ",".join(fk.columns)}
        for i, column in enumerate(fk.columns):
            if column not in spec.columns:
                self.error(
                    f"column '{column}' does not exist in table '{table}';"
                    f"{did_you_mean(column, spec.columns)}",
                    (*path, "columns", i), field="columns", **ctx,
                )
                return
        self.check_reference(table, spec, fk.columns, fk.references, (*path, "references"), ctx)


def _family(lt: LogicalType) -> str:
    if lt.name == "array" and lt.element is not None:
        return f"{_family(lt.element)}{'[]' * lt.dims}"
    if lt.name in ("enum", "custom"):
        return f"{lt.name}:{lt.ref}"
    return TYPE_FAMILIES.get(lt.name, lt.name)


def _is_key(table: TableSpec, columns: list[str]) -> bool:
    """True when `columns` are exactly the table's primary key or a unique set."""
    wanted = set(columns)
    pk = set(table.primary_key_columns or [c for c, s in table.columns.items() if s.primary_key])
    if wanted == pk:
        return True
    if len(columns) == 1 and table.columns.get(columns[0]) and table.columns[columns[0]].unique:
        return True
    if any(set(u.columns) == wanted for u in table.unique_specs()):
        return True
    return any(
        ix.unique and ix.where is None and all(p.column for p in ix.key_parts())
        and {p.column for p in ix.key_parts()} == wanted
        for ix in table.indexes.values()
    )


def default_problem(value: Any, lt: LogicalType, col: ColumnSpec, table: TableSpec,
                    schema: SchemaSpec | None = None) -> str | None:
    """Why `value` cannot be the default of a column of type `lt`, or None when it can."""
    if lt.is_serial:
        return f"a {lt} column gets its values from a sequence; drop the default"
    if lt.name == "array" and not (isinstance(value, dict) and set(value) == {"sql"}):
        return _array_default_problem(value, lt, col, table, schema)
    if lt.name == "custom" and not (isinstance(value, dict) and set(value) == {"sql"}):
        return f"a {lt.ref} column's default must be {{sql: ...}} (its type is passed through)"
    if lt.name == "enum" and not isinstance(value, dict):
        labels = schema.enums[lt.ref].labels if schema and lt.ref in schema.enums else None
        if not isinstance(value, str) or (labels is not None and value not in labels):
            return (f"default {value!r} is not a value of enum {lt.ref}"
                    + (f": {', '.join(labels)}" if labels else ""))
        return None
    if isinstance(value, dict):
        if set(value) == {"verbatim"}:
            if not isinstance(value["verbatim"], str):
                return "{verbatim: ...} needs the SQL text as a string"
            return None  # checked as one expression of the dialect by the checker
        if set(value) == {"sql"} and isinstance(value["sql"], str):
            from agor_schema.expr import ExpressionError, columns_read

            try:
                read = columns_read(value["sql"])
            except ExpressionError as exc:
                return str(exc)
            if read:
                return (
                    f"a default cannot read columns, but {value['sql']!r} names "
                    f"{', '.join(repr(c) for c in read)}; use a constant or a function such as "
                    "{sql: \"now()\"}"
                )
            return None
        if lt.name not in ("json", "json_text"):
            return (
                "a mapping default must be {sql: \"...\"}, {verbatim: \"...\"} or "
                "{sqlite: ..., postgres: ...}, "
                f"got keys {', '.join(map(str, value))}"
            )
    name = lt.name
    if _non_finite(value):
        return (f"default {value!r} is not a finite number: neither JSON, drizzle's snapshots "
                "nor both databases can hold NaN or infinity; use a number or {sql: ...}")
    if value == "now" and name != "timestamp":
        return f"'now' is only a default for timestamp columns; this column is {lt}"
    if name == "boolean" and not isinstance(value, bool):
        return f"a boolean column's default must be true or false, got {value!r}"
    if lt.is_integer and (isinstance(value, bool) or not isinstance(value, int)):
        return f"an {name} column's default must be a whole number, got {value!r}"
    if name in ("real", "double", "numeric") and (
        isinstance(value, bool) or not isinstance(value, (int, float))
    ):
        return f"a {name} column's default must be a number, got {value!r}"
    if name == "real" and isinstance(value, float) and value != 0 and not (
            REAL_MIN <= abs(value) <= REAL_MAX):
        return (f"default {value!r} does not fit real (4-byte float: {REAL_MIN:g} to "
                f"{REAL_MAX:g} either side of 0); PostgreSQL would refuse every insert, use "
                "double")
    limits = INTEGER_RANGES.get(name)
    if limits and isinstance(value, int) and not isinstance(value, bool) and not (
            limits[0] <= value <= limits[1]):
        return f"default {value} does not fit {name} ({limits[0]}..{limits[1]})"
    if name == "smallint" and isinstance(value, int) and not (
            SMALLINT_RANGE[0] <= value <= SMALLINT_RANGE[1]):
        return f"default {value} does not fit smallint ({SMALLINT_RANGE[0]}..{SMALLINT_RANGE[1]})"
    if name == "numeric" and lt.precision is not None:
        problem = _numeric_fit(value, lt)
        if problem:
            return problem
    if name in ("text", "varchar") and not isinstance(value, str):
        return f"a {name} column's default must be a string, got {value!r} (quote it)"
    if name == "varchar" and isinstance(value, str) and len(value) > (lt.length or 0):
        return f"default {value!r} is longer than {lt}"
    if col.enum and isinstance(value, str) and value not in col.enum:
        return f"default {value!r} is not one of the enum values: {', '.join(col.enum)}"
    if name == "timestamp" and value != "now":
        if not isinstance(value, (str, dt.datetime, dt.date)) or timestamp_ms(value) is None:
            return (
                f"a timestamp default must be now, an ISO 8601 time such as "
                f"'2024-01-01T00:00:00Z', or {{sql: ...}}; got {value!r}"
            )
    if name == "date" and not (
        isinstance(value, dt.date) or (isinstance(value, str) and _ISO_DATE.match(value)
                                       and _calendar_date(value))
    ):
        return f"a date default must be an ISO date such as '2024-01-31', got {value!r}"
    if name == "uuid":
        try:
            uuid.UUID(str(value))
        except ValueError:
            return f"a uuid default must be a UUID or {{sql: gen_random_uuid()}}, got {value!r}"
    if name == "bytes":
        return "a bytes column's default must be {sql: ...}"
    return None


INTEGER_RANGES = {"integer": (-2**31, 2**31 - 1), "bigint": (-2**63, 2**63 - 1)}


def _non_finite(value: Any) -> bool:
    """True when `value` is or holds (in a JSON default) a NaN or an infinity."""
    if isinstance(value, float):
        return value != value or value in (float("inf"), float("-inf"))
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_non_finite(v) for v in value)
    return False


def _array_default_problem(value: Any, lt: LogicalType, col: ColumnSpec, table: TableSpec,
                           schema: SchemaSpec | None) -> str | None:
    """An array default is a YAML list (of lists, for more dimensions) of element defaults."""
    element = lt.element
    assert element is not None
    if not isinstance(value, list):
        return f"a {lt} column's default must be a list such as [] or [a, b], got {value!r}"
    if element.name in ("json", "json_text", "bytes", "custom"):
        if value:
            return f"a {lt} column's default must be [] or {{sql: ...}}"
        return None
    inner = LogicalType("array", element=element, dims=lt.dims - 1) if lt.dims > 1 else element
    lengths = {len(item) for item in value if isinstance(item, list)}
    if lt.dims > 1 and len(lengths) > 1:
        return f"the inner lists of a {lt} default must all have the same length"
    for item in value:
        if item is None or isinstance(item, dict):
            return f"a {lt} default holds plain values, got {item!r}"
        if item == "now":
            return f"'now' cannot be an element of a {lt} default"
        problem = default_problem(item, inner, col, table, schema)
        if problem:
            return f"element {item!r}: {problem}"
    return None


def _numeric_fit(value: int | float, lt: LogicalType) -> str | None:
    """Why a numeric default does not fit numeric(p,s) (PostgreSQL would round or reject it,
    SQLite would keep it as written, so the dialects would disagree)."""
    from decimal import Decimal

    scale = lt.scale or 0
    digits = Decimal(str(value)).as_tuple()
    decimals = max(0, -int(digits.exponent))
    whole = len(digits.digits) - decimals
    if decimals > scale:
        return (f"default {value!r} has {decimals} decimal place(s) but {lt} keeps {scale}; "
                "PostgreSQL would round it while SQLite keeps it")
    if whole > lt.precision - scale:
        return f"default {value!r} does not fit {lt} (at most {lt.precision - scale} digit(s) " \
               "before the decimal point)"
    return None


def _calendar_date(text: str) -> bool:
    """True for a date that exists (no 2024-02-30, no month 13)."""
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True
