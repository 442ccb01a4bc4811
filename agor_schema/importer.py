"""Snapshots → schema YAML: take over a drizzle-kit project (`import`) or a live database (`pull`).

The reverse of `build.py`. For each dialect's latest snapshot (or introspected catalog) every
table, column, key, index and check is turned into the DSL; with two dialects each element is
written once, with its logical type recovered from the pair (integer + timestamptz →
`timestamp`, integer + boolean → `boolean`, text + jsonb → `json`, …), `only:` for what one
dialect lacks and `sqlite:` / `postgres:` overrides for what differs. Every choice is proved
with the compiler's own functions (a candidate spelling is kept only when it builds exactly
the source value), and at the end the whole document is validated and built again and
compared with the sources: whatever does not come back equal is listed in the report, never
silently dropped.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agor_schema.dialects import DIALECT_NAMES
from agor_schema.snapshot import Column, ForeignKey, Index, Snapshot, Table
from agor_schema.spelling import (
    FALLBACK_TYPES,
    Prover,
    custom_name,
    expression_candidates,
    neutral,
    strip_outer_parens,
    type_for,
    validates,
)


class ImportError_(Exception):  # noqa: N801 - not the builtin ImportError
    """The sources cannot be imported at all (no journal, no snapshot, wrong dialect)."""


@dataclass
class ReportItem:
    """Something the DSL cannot say exactly: where, what, and why."""

    message: str
    dialect: str | None = None
    table: str | None = None
    name: str | None = None

    def to_json(self) -> dict:
        out: dict[str, Any] = {"message": self.message}
        for key in ("dialect", "table", "name"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    def __str__(self) -> str:
        where = ".".join(p for p in (self.table, self.name) if p)
        prefix = f"[{self.dialect}] " if self.dialect else ""
        return f"{prefix}{where + ': ' if where else ''}{self.message}"


@dataclass
class Source:
    """One dialect's input: its latest snapshot and where it came from."""

    dialect: str
    snapshot: Snapshot
    label: str  # file or database it was read from
    folder: Path | None = None
    entries: int = 0
    live: bool = False  # read from a database: its SQL is the engine's own spelling


@dataclass
class ImportResult:
    document: dict
    text: str
    sources: dict[str, Source]
    report: list[ReportItem] = field(default_factory=list)
    # what the project's other dialects get differently (see import_fit): not inexact
    fitted: list[Any] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return not self.report

    def to_json(self) -> dict:
        return {
            "exact": self.exact,
            "tables": len(self.document.get("tables") or {}),
            "sources": {d: {"from": s.label, "tables": len(s.snapshot.tables),
                            "journal_entries": s.entries}
                        for d, s in self.sources.items()},
            "report": [r.to_json() for r in self.report],
            **({"fitted": [f.to_json() for f in self.fitted]} if self.fitted else {}),
        }


# ------------------------------------------------------------------ reading folders


def read_source(folder: Path, dialect_name: str) -> Source:
    """The latest snapshot of a drizzle-kit 0.x folder (any journal variant, messy history:
    drizzle-kit itself diffs against the lexicographically last snapshot file)."""
    from agor_schema.dialects import get_dialect
    from agor_schema.journal import JournalError, read_journal

    dialect = get_dialect(dialect_name)
    try:
        journal = read_journal(folder)
    except JournalError as exc:
        raise ImportError_(str(exc)) from None
    if journal.dialect and journal.dialect not in dialect.import_journal_dialects:
        raise ImportError_(f"{folder}/meta/_journal.json is a {journal.dialect!r} journal, not "
                           f"{dialect_name}")
    meta = folder / "meta"
    files = sorted(p for p in meta.glob("*.json") if not p.name.startswith("_"))
    if not files:
        raise ImportError_(f"{meta} holds no snapshot (NNNN_snapshot.json): nothing to import")
    path = files[-1]
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ImportError_(f"{path}: cannot read snapshot: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("tables"), dict):
        raise ImportError_(f"{path}: not a drizzle-kit snapshot (no 'tables' object)")
    version = str(document.get("version", ""))
    if version != dialect.snapshot_version:
        raise ImportError_(f"{path}: snapshot version {version!r}; agorschema reads version "
                           f"{dialect.snapshot_version!r}: run `drizzle-kit up` first")
    try:
        snapshot = dialect.snapshot_from_json(document)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ImportError_(f"{path}: malformed snapshot ({type(exc).__name__}: {exc})") from None
    return Source(dialect_name, snapshot, str(path), folder, len(journal.entries))


# ------------------------------------------------------------------ snapshots → document


def import_snapshots(sources: Mapping[str, Source], *, origin: str = "",
                     command: str = "import", targets: Iterable[str] = ()) -> ImportResult:
    """The schema document for these sources, its YAML text and the report. Snapshots are
    reproduced exactly (as data); a live database's SQL, which the engine rewrote, by
    meaning. `targets`: the project's dialects; with one source, what the others lack is
    kept to the source's overrides (import_fit) so the schema compiles for each."""
    from agor_schema.dialects import get_dialect
    from agor_schema.import_fit import fit_document

    dialects = {name: get_dialect(name) for name in sources}
    loose = any(s.live for s in sources.values())
    converter = _Converter({n: s.snapshot for n, s in sources.items()}, dialects, loose)
    document = converter.document()
    fitted = fit_document(document, next(iter(sources)), targets) if len(sources) == 1 else []
    report = converter.report
    known = {(r.dialect, r.table, r.name) for r in report}
    report += [r for r in _prove(document, {n: s.snapshot for n, s in sources.items()},
                                 dialects, loose)
               if (r.dialect, r.table, r.name) not in known]
    return ImportResult(document, dump_yaml(document, origin, command), dict(sources), report,
                        fitted)


def pull_source(url: str) -> Source:
    """A live database's tables as a `Source` (the bookkeeping table left out)."""
    from agor_schema.db import DatabaseURLError, redact
    from agor_schema.dialects import dialect_for_url

    try:
        dialect = dialect_for_url(url)
    except ValueError as exc:
        raise DatabaseURLError(str(exc)) from None
    dialect.require_existing_database(url)
    conn = dialect.connect(url, create=False)
    try:
        snapshot = dialect.as_drizzle_wrote(dialect.introspect(conn))
    except dialect.db_errors as exc:  # e.g. a file that is not a SQLite database
        from agor_schema.introspect import IntrospectionError

        raise IntrospectionError(f"{redact(url)}: cannot read the database's catalog: "
                                 f"{dialect.describe_db_error(exc)}") from None
    finally:
        dialect.close_connection(conn)
    return Source(dialect.name, snapshot, redact(url), live=True)


class _Converter:
    def __init__(self, snapshots: Mapping[str, Snapshot], dialects: Mapping[str, Any],
                 loose: bool = False):
        self.snapshots = dict(snapshots)
        self.dialects = dict(dialects)
        self.names = [d for d in DIALECT_NAMES if d in snapshots]
        self.prove = Prover(dialects, loose)
        self.report: list[ReportItem] = []
        self.enums: dict[str, Any] = {}
        self.types: dict[str, dict] = {}  # declared custom types (`types:`)
        self._schema: Any = None
        self.prove.context = lambda: {k: v for k, v in (("enums", self.enums),
                                                        ("types", self.types)) if v}

    def note(self, message: str, dialect: str | None = None, table: str | None = None,
             name: str | None = None) -> None:
        self.report.append(ReportItem(message, dialect, table, name))

    # ---- whole document
    def document(self) -> dict:
        for name, snap in self.snapshots.items():
            self._top_level(name, snap)
        tables: dict[str, Any] = {}
        for tname in _merged_order([list(self.snapshots[d].tables) for d in self.names]):
            sides = {d: self.snapshots[d].tables[tname] for d in self.names
                     if tname in self.snapshots[d].tables}
            if any(t.schema not in ("", "public") for t in sides.values()):
                where, schema = next((d, t.schema) for d, t in sides.items() if t.schema)
                self.note(f"table is in PostgreSQL schema {schema!r}; the DSL has no schemas",
                          where, tname)
                continue
            tables[tname.split(".")[-1]] = self._table(tname, sides)
        doc: dict[str, Any] = {}
        if self.enums:
            doc["enums"] = self.enums
        if self.types:
            doc["types"] = self.types
        doc["tables"] = tables
        return doc

    @property
    def schema(self) -> Any:
        """The enums and declared types found so far, as the compiler sees them."""
        if self._schema is None:
            from agor_schema.spec.models import SchemaSpec

            try:
                self._schema = SchemaSpec.model_validate({"enums": self.enums,
                                                          "types": self.types})
            except Exception:  # noqa: BLE001 - a version without enums/types
                self._schema = SchemaSpec.model_validate({})
        return self._schema

    def _declare(self, dialect: str, column: Column) -> str | None:
        """A declared type passing this dialect's column type through verbatim."""
        if not self.prove.supports("types"):
            return None
        for name, spec in self.types.items():
            if spec == {dialect: column.type}:
                return name
        name = custom_name(column.type, [*self.types, *self.enums])
        probe = {"types": {name: {dialect: column.type}},
                 "tables": {"t": {"columns": {"c": {"type": name}}}}}
        if not validates(probe, (dialect,)):
            return None  # not one plain type name (quotes, comments, ...): reported instead
        self.types[name] = {dialect: column.type}
        self._schema = None
        return name

    def _top_level(self, dialect: str, snap: Snapshot) -> None:
        for key in ("views", "sequences", "roles", "policies", "schemas"):
            for name in (snap.extra.get(key) or {}):
                self.note(f"{key[:-1] if key != 'policies' else 'policy'} {name!r} is not "
                          "expressible in the DSL (keep it in a custom migration)", dialect,
                          None, str(name))
        for key, enum in _enums_of(snap).items():
            if not self.prove.supports("enums"):
                self.note(f"enum type {key} {enum.get('values')} is not accepted by this "
                          "version of the DSL", dialect, None, key)
                continue
            name = enum.get("name", key.split(".")[-1])
            spec: dict[str, Any] = {"values": list(enum.get("values") or [])}
            if enum.get("schema") not in (None, "", "public"):
                spec["schema"] = enum["schema"]
            # no `only:`: a column both dialects hold may use it (SQLite stores it as text)
            self.enums[name] = spec if len(spec) > 1 else spec["values"]

    # ---- tables
    def _table(self, tname: str, sides: Mapping[str, Table]) -> dict:
        out: dict[str, Any] = {}
        single = len(sides) == 1 and len(self.names) > 1
        columns = self._columns(tname, sides)
        out["columns"] = columns
        self._primary_key(tname, sides, out)
        self._uniques(tname, sides, out)
        self._indexes(tname, sides, out)
        self._foreign_keys(tname, sides, out)
        self._checks(tname, sides, out)
        _finalize_columns(columns, list(sides))
        for dialect, table in sides.items():
            if table.extra.get("isRLSEnabled") or table.extra.get("policies"):
                self.note("row level security and policies are not expressible in the DSL",
                          dialect, tname)
        if single:
            out = {"only": next(iter(sides)), **out}
        return out

    # ---- columns
    def _columns(self, tname: str, sides: Mapping[str, Table]) -> dict:
        order = _merged_order([list(t.columns) for t in sides.values()])
        self._logical: dict[str, dict[str, str]] = {}
        columns: dict[str, Any] = {}
        for cname in order:
            present = {d: t.columns[cname] for d, t in sides.items() if cname in t.columns}
            columns[cname] = self._column(tname, cname, present, sides)
        # defaults are proved with the types of every column of the table (expressions)
        return columns

    def _column(self, tname: str, cname: str, present: Mapping[str, Column],
                sides: Mapping[str, Table]) -> Any:
        shared, per = type_for(present, self.dialects, self.schema, self.prove.loose)
        for d, logical in list(per.items()):
            if logical:
                continue
            column = present[d]
            declared = self._declare(d, column)
            if declared is None:
                per[d] = FALLBACK_TYPES.get(column.type, "text")
                self.note(f"type {column.type!r} has no logical type in this version of the "
                          f"DSL (written as {per[d]})", d, tname, cname)
            else:
                per[d] = declared
        if len(per) == 1:
            shared, per = next(iter(per.values())), {}
        specs = {}
        for d, column in present.items():
            logical = per.get(d, shared)
            specs[d] = self._column_fields(tname, d, column, logical, sides[d])
        out = _merge_fields(specs, self.names if len(sides) > 1 else list(specs))
        declared_one_side = len(present) == 1 and len(self.types.get(out.get("type"), {})) == 1
        if len(present) == 1 and (len(sides) > 1 or declared_one_side):
            # a type declared for one dialect only: its column says so (and a project with
            # both dialects still compiles)
            out = {**out, "only": next(iter(present))}
        return out

    def _column_fields(self, tname: str, dialect: str, column: Column, logical: str,
                       table: Table) -> dict:
        from agor_schema.spec.types import parse_type

        fields: dict[str, Any] = {"type": logical}
        if column.primary_key:
            fields["primary_key"] = True
        elif column.not_null:
            fields["not_null"] = True
        if column.autoincrement:
            fields["autoincrement"] = True
        if column.identity is not None:
            expected = self._identity_of(tname, dialect, column, logical)
            if self.prove.loose and expected is not None:  # the catalog does not say "schema"
                expected = {k: v for k, v in expected.items() if k in column.identity}
            if expected == column.identity:
                fields["autoincrement"] = True
            elif expected is not None and self._autoincrement_fits(fields, logical):
                # the nearest the DSL says: still generated by the database (inserts without
                # the key keep working), with drizzle's settings
                fields["autoincrement"] = True
                differs = {k: v for k, v in expected.items() if column.identity.get(k) != v}
                self.note(f"identity column settings {column.identity} are not expressible; "
                          f"written as autoincrement, the nearest (it differs in {differs})",
                          dialect, tname, column.name)
            else:
                self.note(f"identity column settings {column.identity} are not expressible "
                          "(the DSL's autoincrement writes drizzle's defaults)", dialect,
                          tname, column.name)
        if column.generated is not None:
            feature = "generated" if column.generated.get("type", "stored") == "stored" \
                else "generated_virtual"
            if self.prove.supports(feature):
                fields["generated"] = self._generated(tname, dialect, column, table)
            else:
                self.note(f"generated column ({column.generated}) is not accepted by this "
                          "version of the DSL", dialect, tname, column.name)
        if column.default is not None:
            types = self._table_types(table, dialect)
            try:
                parse_type(logical)
            except ValueError:
                types = {}
            found, value = self.prove.default_spelling(column.default, logical, dialect, types,
                                                       column.type)
            if found:
                fields["default"] = value
            else:
                nearest = self._nearest_default(column, logical, dialect)
                kept = "written as the nearest valid spelling" if nearest is not None \
                    else "left out (no valid spelling)"
                self.note(f"default {column.default!r} cannot be written so that it builds "
                          f"exactly; {kept}", dialect, tname, column.name)
                if nearest is not None:
                    fields["default"] = nearest
        if column.type_schema not in (None, "", "public"):
            self.note(f"enum type in schema {column.type_schema!r}", dialect, tname,
                      column.name)
        return fields

    @staticmethod
    def _autoincrement_fits(fields: Mapping[str, Any], logical: str) -> bool:
        """Does the DSL take `autoincrement` on this column (an integer primary key)?"""
        from agor_schema.spec.types import parse_type

        try:
            lt = parse_type(logical)
        except ValueError:
            return False
        return bool(fields.get("primary_key")) and lt.is_integer and not lt.is_serial

    def _nearest_default(self, column: Column, logical: str, dialect: str) -> Any:
        """A valid default meaning (about) the same, when none builds the text exactly:
        `ARRAY[]::text[]` → [], an expression as neutral SQL."""
        text = str(column.default)
        candidates: list[Any] = []
        if re.fullmatch(r"(?i)\s*(?:'\{\}'|ARRAY\[\s*\])(?:::[\w\s\[\]\"]+)?\s*", text):
            candidates.append([])
        candidates.append({"sql": neutral(text, self.dialects[dialect]) if self.prove.loose
                           else strip_outer_parens(text)})
        for candidate in candidates:
            if self.prove.valid_default(logical, candidate, dialect):
                return candidate
        return None

    def _identity_of(self, tname: str, dialect: str, column: Column, logical: str
                     ) -> dict | None:
        from agor_schema.spec.types import parse_type

        probe = Column(column.name, column.type)
        try:
            self.dialects[dialect].apply_autoincrement(tname, probe, parse_type(logical))
        except Exception:  # noqa: BLE001
            return None
        return probe.identity

    def _generated(self, tname: str, dialect: str, column: Column, table: Table) -> Any:
        gen = column.generated or {}
        text = str(gen.get("as", ""))
        inner = strip_outer_parens(text)
        kind = gen.get("type", "stored")
        ok, spelled = self.prove.expression_spelling(inner, dialect,
                                                     self._table_types(table, dialect))
        value = spelled if ok else inner
        return value if kind == "stored" else {"as": value, "type": kind}

    def _table_types(self, table: Table, dialect: str) -> dict[str, Any]:
        """Logical types of a table's columns for expression rendering (one dialect)."""
        from agor_schema.spec.types import parse_type

        types = {}
        for name, column in table.columns.items():
            shared, per = type_for({dialect: column}, {dialect: self.dialects[dialect]},
                                    self.schema, self.prove.loose)
            try:
                types[name] = parse_type(per.get(dialect) or shared or "text")
            except ValueError:
                continue
        return types

    # ---- keys and constraints
    def _primary_key(self, tname: str, sides: Mapping[str, Table], out: dict) -> None:
        per: dict[str, Any] = {}
        for d, table in sides.items():
            for pk in table.primary_keys.values():
                derived = f"{table.name}_{'_'.join(pk.columns)}_pk"
                if self._derived(d, pk.name, derived):
                    pk.name = derived
                per[d] = list(pk.columns) if pk.name == derived \
                    else {"columns": list(pk.columns), "name": pk.name}
                if pk.name != derived and not self.prove.supports("named_pk"):
                    self.note(f"primary key name {pk.name} (not {derived}) is not accepted by "
                              "this version of the DSL", d, tname, pk.name)
                    per[d] = list(pk.columns)
        _set_table_field(out, "primary_key", per, list(sides))

    def _uniques(self, tname: str, sides: Mapping[str, Table], out: dict) -> None:
        found: dict[str, list[tuple[str, list[str], bool]]] = {}
        for d, table in sides.items():
            uniques = [(u.name, list(u.columns), u.nulls_not_distinct)
                       for u in table.uniques.values()]
            if self.dialects[d].uniques_are_indexes:  # drizzle writes them as *_unique indexes
                uniques += [(ix.name, [c.expression for c in ix.columns], False)
                            for ix in table.indexes.values() if _is_sqlite_unique(table, ix)]
            found[d] = []
            for name, cols, nnd in uniques:
                derived = f"{table.name}_{'_'.join(cols)}_unique"
                found[d].append((derived if self._derived(d, name, derived) else name, cols,
                                 nnd))
        per: dict[str, list] = {}
        self._unique_indexes: dict[str, dict] = {}
        self._left_to_indexes: set[str] = set()
        for d, uniques in found.items():
            entries: list[Any] = []
            for name, cols, nnd in uniques:
                shared = all((name, cols, nnd) in found[o] for o in sides)
                if not shared and any(name in t.indexes for o, t in sides.items() if o != d):
                    self._left_to_indexes.add(name)  # the other dialect has it as an index
                    continue
                if not shared and self.dialects[d].booleans_are_integers and not nnd:
                    # one dialect only: SQLite's unique is a unique index, which says `only:`
                    self._unique_indexes[name] = {"columns": cols, "unique": True, "only": d}
                    continue
                entries.append(self._unique_entry(tname, d, name, cols, nnd, out, sides))
            per[d] = [e for e in entries if e is not None]
        if any(per.values()):
            _set_table_field(out, "unique", per, list(sides), empty=[])

    def _unique_entry(self, tname: str, d: str, name: str, cols: list[str], nnd: bool,
                      out: dict, sides: Mapping[str, Table]) -> Any:
        derived = f"{tname.split('.')[-1]}_{'_'.join(cols)}_unique"
        if len(cols) == 1 and name == derived and not nnd:
            column = out["columns"].get(cols[0])
            if isinstance(column, dict):
                _set_column_flag(column, "unique", d, list(sides))
                return None
        if name == derived and not nnd:
            return cols
        if not self.prove.supports("named_unique"):
            self.note(f"unique constraint {name} ({', '.join(cols)}) needs a name or "
                      "NULLS NOT DISTINCT, which this version of the DSL does not "
                      "accept; written with the derived name", d, tname, name)
            return cols
        entry: dict[str, Any] = {"columns": cols, "name": name}
        if nnd and self.prove.supports("nulls_not_distinct"):
            entry["nulls_not_distinct"] = True
        elif nnd:
            self.note("NULLS NOT DISTINCT is not accepted by this version of the DSL", d,
                      tname, name)
        return entry

    def _indexes(self, tname: str, sides: Mapping[str, Table], out: dict) -> None:
        names = _merged_order([[n for n, ix in t.indexes.items()
                                if not (self.dialects[d].uniques_are_indexes
                                        and _is_sqlite_unique(t, ix))
                                or n in self._left_to_indexes]
                               for d, t in sides.items()])
        indexes: dict[str, Any] = {}
        for name in names:
            specs = {d: self._index(tname, d, t, t.indexes[name]) for d, t in sides.items()
                     if name in t.indexes}
            merged = _merge_fields(specs, list(sides))
            if len(specs) == 1 and len(sides) > 1:
                merged = {**merged, "only": next(iter(specs))}
            indexes[name] = merged
        indexes.update(self._unique_indexes)
        if indexes:
            out["indexes"] = indexes

    def _index(self, tname: str, dialect: str, table: Table, ix: Index) -> dict:
        types = self._table_types(table, dialect)
        spec: dict[str, Any] = {}
        plain = all(c.asc and c.nulls == "last" and not c.opclass for c in ix.columns) \
            or not self.dialects[dialect].index_options  # its snapshots keep no part options
        kinds = [c.is_expression for c in ix.columns]
        in_order = kinds == sorted(kinds)  # columns first, then expressions
        if not (plain and in_order) and not self.prove.supports("parts"):
            self.note("index parts " + ("in this order" if not in_order else "with ordering "
                      "or operator classes") + " need `parts:`, which this version of the DSL "
                      "does not accept; written as columns then expressions", dialect, tname,
                      ix.name)
            plain = in_order = True
        if plain and in_order:
            cols = [c.expression for c in ix.columns if not c.is_expression]
            exprs = [self._expression(tname, dialect, types, c.expression, ix.name)
                     for c in ix.columns if c.is_expression]
            if cols:
                spec["columns"] = cols
            if exprs:
                spec["expressions"] = exprs
        else:
            parts = []
            for c in ix.columns:
                part: dict[str, Any] = {"expression": self._expression(
                    tname, dialect, types, c.expression, ix.name)} if c.is_expression \
                    else {"column": c.expression}
                if not c.asc:
                    part["desc"] = True
                if c.nulls != "last":  # drizzle's default is NULLS LAST in either direction
                    part["nulls"] = c.nulls
                if c.opclass and self.prove.supports("opclass"):
                    part["opclass"] = c.opclass
                elif c.opclass:
                    self.note(f"operator class {c.opclass} is not accepted by this version of "
                              "the DSL", dialect, tname, ix.name)
                parts.append(part if len(part) > 1 or c.is_expression else c.expression)
            spec["parts"] = parts
        if ix.unique:
            spec["unique"] = True
        if ix.nulls_not_distinct:
            self.note("unique index is NULLS NOT DISTINCT; the DSL builds `nulls_not_distinct` "
                      "on an index as a UNIQUE constraint of that name (drizzle's snapshot "
                      "records it on constraints only), so it is written as a plain unique "
                      "index: add `postgres: {nulls_not_distinct: true}` to it for the "
                      "constraint (compile then replaces the index)", dialect, tname, ix.name)
        if ix.where:
            spec["where"] = self._expression(tname, dialect, types, ix.where, ix.name)
        for key, value, feature in (("method", ix.method if ix.method != "btree" else None,
                                     "index_options"),
                                    ("with", dict(ix.with_) if ix.with_ else None, "index_with"),
                                    ("concurrently", True if ix.concurrently else None,
                                     "concurrently")):
            if value is None:
                continue
            if self.prove.supports(feature):
                spec[key] = value
            else:
                self.note(f"index option {key}: {value!r} is not accepted by this version of "
                          "the DSL", dialect, tname, ix.name)
        if "method" in spec:  # a method from an extension says which (compile requires it)
            extension = self.dialects[dialect].index_method_extension(spec["method"])
            if extension is not None:
                spec["extension"] = extension
        for c in ix.columns:
            if c.opclass and c.extension and c.extension != spec.get("extension"):
                self.note(f"operator class {c.opclass} comes from the extension {c.extension}, "
                          "which the schema does not create (an index's `extension:` names "
                          f"the extension of its method): the database needs {c.extension} "
                          "before the migration that creates this index (CREATE EXTENSION in "
                          "a custom migration, or by the database's owner)", dialect, tname,
                          ix.name)
        return spec

    def _expression(self, tname: str, dialect: str, types: Mapping[str, Any], text: str,
                    name: str) -> Any:
        ok, spelled = self.prove.expression_spelling(text, dialect, types)
        if not ok:
            self.note(f"expression {text!r} cannot be written so that it builds exactly "
                      "(needs {verbatim: ...})", dialect, tname, name)
            return expression_candidates(text)[0]
        return spelled

    def _foreign_keys(self, tname: str, sides: Mapping[str, Table], out: dict) -> None:
        per_table: dict[str, list] = {}
        signatures = {d: {_fk_signature(fk) for fk in t.foreign_keys.values()}
                      for d, t in sides.items()}
        for d, table in sides.items():
            entries = []
            for fk in table.foreign_keys.values():
                if fk.schema_to not in (None, "", "public"):
                    self.note(f"foreign key to schema {fk.schema_to!r}", d, tname, fk.name)
                if not self._target_is_unique(d, fk):
                    self.note(f"foreign key {fk.name} references {fk.table_to}"
                              f"({', '.join(fk.columns_to)}), which no primary key, unique "
                              "constraint or unique index covers in the snapshot (it was "
                              "probably created in hand-written SQL): the database refuses it "
                              "(PostgreSQL 42830); left out - add the unique index its target "
                              "needs, then the foreign key", d, tname, fk.name)
                    continue
                derived = _derived_fk_name(fk)
                if self._derived(d, fk.name, derived):
                    fk = ForeignKey(**{**fk.__dict__, "name": derived})
                column = out["columns"].get(fk.columns_from[0]) \
                    if len(fk.columns_from) == 1 else None
                holders = [column["only"]] if isinstance(column, dict) and "only" in column \
                    else list(sides)
                everywhere = all(_fk_signature(fk) in signatures[h] for h in holders)
                if fk.name == derived and isinstance(column, dict) and len(fk.columns_to) == 1 \
                        and everywhere:
                    ref: dict[str, Any] = {"references": f"{fk.table_to}.{fk.columns_to[0]}"}
                    if fk.on_delete != "no action":
                        ref["on_delete"] = fk.on_delete
                    if fk.on_update != "no action":
                        ref["on_update"] = fk.on_update
                    for key, value in ref.items():
                        _set_column_value(column, key, value, d, list(sides))
                    continue
                entry: dict[str, Any] = {"columns": list(fk.columns_from),
                                         "references": {"table": fk.table_to,
                                                        "columns": list(fk.columns_to)}}
                if fk.on_delete != "no action":
                    entry["on_delete"] = fk.on_delete
                if fk.on_update != "no action":
                    entry["on_update"] = fk.on_update
                if fk.name != derived:
                    entry["name"] = fk.name
                entries.append(entry)
            per_table[d] = entries
        merged: list[dict] = []
        all_entries = [e for d in sides for e in per_table[d]]
        seen: list[dict] = []
        for entry in all_entries:
            if entry in seen:
                continue
            seen.append(entry)
            holders = [d for d in sides if entry in per_table[d]]
            merged.append(entry if len(holders) == len(sides) or len(sides) == 1
                          else {**entry, "only": holders[0]})
        if merged:
            out["foreign_keys"] = merged

    def _derived(self, dialect: str, name: str, derived: str) -> bool:
        """Is `name` drizzle's derived name, possibly as a database cut it (63 bytes)?"""
        return name == derived or name == self.dialects[dialect].stored_name(derived)

    def _target_is_unique(self, dialect: str, fk: ForeignKey) -> bool:
        """Does a key, unique constraint or plain unique index cover the FK's target?"""
        if not self.dialects[dialect].max_identifier_bytes:
            return True  # only PostgreSQL checks this when the key is created
        target = self.snapshots[dialect].tables.get(fk.table_to)
        if target is None:
            return True  # reported as a missing table by the proof
        wanted = set(fk.columns_to)
        keys = [set(target.primary_key_columns())]
        keys += [set(u.columns) for u in target.uniques.values()]
        keys += [{c.expression for c in ix.columns} for ix in target.indexes.values()
                 if ix.unique and not ix.where and not any(c.is_expression for c in ix.columns)]
        return wanted in keys

    def _checks(self, tname: str, sides: Mapping[str, Table], out: dict) -> None:
        names = _merged_order([list(t.checks) for t in sides.values()])
        checks: dict[str, Any] = {}
        for name in names:
            per = {}
            for d, table in sides.items():
                if name in table.checks:
                    types = self._table_types(table, d)
                    per[d] = self._expression(tname, d, types, table.checks[name].value, name)
            values = list(per.values())
            if len(per) == len(sides) and all(v == values[0] for v in values):
                checks[name] = values[0]
            elif len(per) == 1 and len(sides) > 1:
                d, value = next(iter(per.items()))
                checks[name] = {**_check_body(value), "only": d}
            else:
                checks[name] = {d: v for d, v in per.items()}
        if checks:
            out["checks"] = checks


def _enums_of(snapshot: Snapshot) -> dict[str, dict]:
    """A snapshot's enum types as drizzle writes them: key -> {name, schema, values}."""
    found = {}
    for key, enum in (getattr(snapshot, "enums", None) or {}).items():
        found[key] = {"name": enum.name, "schema": enum.schema, "values": list(enum.values)}
    for key, enum in (snapshot.extra.get("enums") or {}).items():
        if isinstance(enum, dict):
            found.setdefault(key, enum)
    return found


def _check_body(value: Any) -> dict:
    return value if isinstance(value, dict) else {"sql": value}


def _is_sqlite_unique(table: Table, ix: Index) -> bool:
    """A SQLite unique index that drizzle wrote for a unique constraint (`*_unique`)."""
    cols = [c.expression for c in ix.columns]
    return ix.unique and not ix.where and not any(c.is_expression for c in ix.columns) \
        and ix.name == f"{table.name}_{'_'.join(cols)}_unique"


def _fk_signature(fk: ForeignKey) -> tuple:
    return (tuple(fk.columns_from), fk.table_to, tuple(fk.columns_to), fk.on_delete,
            fk.on_update, fk.name == _derived_fk_name(fk))


def _derived_fk_name(fk: ForeignKey) -> str:
    return (f"{fk.table_from}_{'_'.join(fk.columns_from)}_{fk.table_to}_"
            f"{'_'.join(fk.columns_to)}_fk")


def _merged_order(orders: list[list[str]]) -> list[str]:
    """Names in the first list's order; a name only a later list has follows the name before
    it there (or comes first when nothing precedes it)."""
    result: list[str] = []
    for order in orders:
        for i, name in enumerate(order):
            if name in result:
                continue
            previous = next((order[j] for j in range(i - 1, -1, -1) if order[j] in result),
                            None)
            result.insert(result.index(previous) + 1 if previous is not None else 0, name)
    return result


_NEUTRAL = {"not_null": False, "primary_key": False, "unique": False, "autoincrement": False,
            "default": None, "references": None, "on_delete": None, "on_update": None,
            "where": None, "generated": None, "columns": [], "expressions": [], "parts": None,
            "method": None, "with": None, "concurrently": False}


def _merge_fields(specs: Mapping[str, dict], dialects: list[str]) -> dict:
    """One mapping: fields every dialect agrees on, the rest in `sqlite:` / `postgres:`."""
    if len(specs) == 1:
        return dict(next(iter(specs.values())))
    first, second = (specs[d] for d in dialects if d in specs)
    base: dict[str, Any] = {}
    overrides: dict[str, dict] = {d: {} for d in specs}
    for key in _merged_order([list(first), list(second)]):
        a, b = first.get(key, _NEUTRAL.get(key)), second.get(key, _NEUTRAL.get(key))
        if a == b:
            if key in first or key in second:
                base[key] = a
            continue
        if key == "type":
            base[key] = a  # the first dialect's type is the base; the other overrides it
            overrides[dialects[1]][key] = b
            continue
        for d, value in zip(dialects, (a, b)):
            overrides[d][key] = value
    for d in dialects:
        if overrides[d]:
            base[d] = overrides[d]
    return base


def _set_column_flag(column: dict, key: str, dialect: str, dialects: list[str]) -> None:
    _set_column_value(column, key, True, dialect, dialects)


def _set_column_value(column: dict, key: str, value: Any, dialect: str,
                      dialects: list[str]) -> None:
    """Set `key` for one dialect; when every dialect has the same value it is shared."""
    pending = column.setdefault("__per__", {}).setdefault(key, {})
    pending[dialect] = value


def _set_table_field(out: dict, key: str, per: Mapping[str, Any], dialects: list[str],
                     empty: Any = None) -> None:
    if not per:
        return
    values = [per.get(d, empty) for d in dialects]
    if all(v == values[0] for v in values):
        if values[0] != empty:
            out[key] = values[0]
        return
    for d, value in zip(dialects, values):
        if value != empty:
            out.setdefault(d, {})[key] = value


def _finalize_columns(columns: dict, dialects: list[str]) -> None:
    """Fold values set per dialect (references, unique) into shared fields or overrides."""
    for column in columns.values():
        if not isinstance(column, dict) or "__per__" not in column:
            continue
        per = column.pop("__per__")
        holders = [column["only"]] if "only" in column else dialects
        for key, values in per.items():
            present = [values.get(d, _NEUTRAL.get(key)) for d in holders]
            if all(v == present[0] for v in present):
                column[key] = present[0]
                continue
            for d in holders:
                column.setdefault(d, {})[key] = values.get(d, _NEUTRAL.get(key))
        for d in DIALECT_NAMES:  # overrides last, in a fixed order
            if d in column:
                column[d] = column.pop(d)


# ------------------------------------------------------------------ YAML and the proof

HEADER = ("# yaml-language-server: $schema=../generated/agorschema.schema.json\n"
          "# Written by `agorschema {command}`{origin}. From here on this file is the schema:\n"
          "# edit it and run `agorschema compile`.\n")


def dump_yaml(document: dict, origin: str = "", command: str = "import") -> str:
    """Deterministic YAML: block style for tables, one line per column or index."""
    import yaml

    body = yaml.safe_dump(document, sort_keys=False, default_flow_style=None,
                          allow_unicode=True, width=100_000)
    return HEADER.format(command=command, origin=f" from {origin}" if origin else "") + body


def _prove(document: dict, snapshots: Mapping[str, Snapshot],
           dialects: Mapping[str, Any], loose: bool = False) -> list[ReportItem]:
    """Validate and build the document as `compile` will, and compare with the sources."""
    import tempfile

    from agor_schema.build import build_snapshot
    from agor_schema.diff import diff
    from agor_schema.drift import describe
    from agor_schema.errors import SchemaErrors
    from agor_schema.spec.loader import load_sources
    from agor_schema.spec.validate import validate_schema

    with tempfile.TemporaryDirectory(prefix="agorschema-import-") as folder:
        path = Path(folder) / "schema.yaml"
        path.write_text(dump_yaml(document), encoding="utf-8")
        try:
            specs = validate_schema(load_sources(path, Path(folder)), tuple(snapshots))
        except SchemaErrors as exc:  # names or values no schema may hold: nothing written
            shown = "; ".join(str(e) for e in exc.errors[:5])
            raise ImportError_(f"the source holds what no schema file may: {shown}"
                               + (f" (and {len(exc.errors) - 5} more)" if len(exc.errors) > 5
                                  else "")) from None
    items = []
    for name, source in snapshots.items():
        dialect = dialects[name]
        built = build_snapshot(specs[name], dialect)
        wanted = dataclasses.replace(source, tables={k: t for k, t in source.tables.items()
                                                     if t.schema in ("", "public")})
        if loose:  # a catalog: names as the engine cut them, SQL as it rewrote it
            from agor_schema.drift import align_expressions

            built = _as_stored(built, dialect)
            wanted = align_expressions(wanted, built, dialect)
            for table in wanted.tables.values():
                for column in table.columns.values():
                    other = built.tables.get(table.name)
                    mine = other.columns.get(column.name) if other else None
                    if mine is not None:
                        _align_column(column, mine, dialect)
        plan = diff(wanted, built)
        for change in describe(plan.operations, actual="snapshot", wanted="imported schema"):
            items.append(ReportItem(f"compiles differently: {change.message}", name,
                                    change.table, change.name))
    return items


def _align_column(live: Column, built: Column, dialect: Any) -> None:
    """What a catalog spells its own way but means the same: `timestamp(3) without time
    zone`, a default `100` or `false` read back as text, identity settings without the
    sequence's schema (`live` is a copy: it takes the built spelling)."""
    from agor_schema.spelling import same_default, type_key

    if live.type != built.type and type_key(live.type) == type_key(built.type) and \
            (live.type_schema or "public") == (built.type_schema or "public"):
        live.type, live.type_schema = built.type, built.type_schema
    if live.default != built.default and isinstance(live.default, str) \
            and built.default is not None:
        if same_default(dialect, built.default, live.default, live.type):
            live.default = built.default
    if built.identity and live.identity:
        built.identity = {k: v for k, v in built.identity.items() if k in live.identity}


def _as_stored(snapshot: Snapshot, dialect: Any) -> Snapshot:
    """A copy with constraint and index names as the engine keeps them (cut at 63 bytes)."""
    import copy

    out = copy.deepcopy(snapshot)
    cut = dialect.stored_name
    for table in out.tables.values():
        for attr in ("indexes", "foreign_keys", "uniques", "checks", "primary_keys"):
            items = getattr(table, attr)
            renamed = {}
            for item in items.values():
                item.name = cut(item.name)
                renamed[item.name] = item
            setattr(table, attr, renamed)
    return out
