"""`agorschema verify`: the migration history really builds the schema, in every dialect.

For each configured dialect the whole history is replayed into a throwaway database (a
temporary SQLite file; a database created on a PostgreSQL server and dropped afterwards) with
the real runner, introspected, and compared with what it must equal, each side read back from
a scratch database of the same engine (see `introspect.py`):

* `schema`: the fresh DDL of the current schema (`compiler.full_ddl`);
* `generated`: `generated/<dialect>.sql` as committed;
* `snapshot`: the latest `meta/NNNN_snapshot.json` (its own DDL: `diff(empty, snapshot)`).

Then parity: the two dialects hold the same logical schema (tables, columns, index/unique,
check names, foreign keys), except where the schema says `only:`. This is checked on the
validated spec of each dialect and on the two replayed databases.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agor_schema.dialects import DIALECT_NAMES
from agor_schema.snapshot import Snapshot

SKIPPED, OK, FAILED = "skipped", "ok", "failed"


@dataclass
class Mismatch:
    """One thing that does not hold, explained."""

    check: str  # replay | schema | generated | snapshot | parity
    message: str
    dialect: str | None = None
    table: str | None = None
    name: str | None = None

    def __str__(self) -> str:
        where = f"{self.dialect}: " if self.dialect else ""
        return f"{where}[{self.check}] {self.message}"

    def to_json(self) -> dict:
        return {"check": self.check, "dialect": self.dialect, "table": self.table,
                "name": self.name, "message": self.message}


@dataclass
class DialectReport:
    dialect: str
    status: str = OK
    reason: str | None = None
    migrations: list[str] = field(default_factory=list)
    compared: list[str] = field(default_factory=list)  # what the replay was compared with
    mismatches: list[Mismatch] = field(default_factory=list)
    live: Snapshot | None = field(default=None, repr=False)

    def fail(self, mismatch: Mismatch) -> None:
        self.status = FAILED
        self.mismatches.append(mismatch)

    def to_json(self) -> dict:
        return {"dialect": self.dialect, "status": self.status, "reason": self.reason,
                "migrations": self.migrations, "compared": self.compared,
                "mismatches": [m.to_json() for m in self.mismatches]}


@dataclass
class VerifyResult:
    dialects: list[DialectReport]
    parity: list[Mismatch] = field(default_factory=list)
    parity_checked: list[str] = field(default_factory=list)  # "spec", "databases"

    @property
    def ok(self) -> bool:
        return not self.parity and all(r.status != FAILED for r in self.dialects)

    @property
    def mismatches(self) -> list[Mismatch]:
        return [m for r in self.dialects for m in r.mismatches] + self.parity

    def to_json(self) -> dict:
        return {"ok": self.ok, "dialects": [r.to_json() for r in self.dialects],
                "parity": {"checked": self.parity_checked,
                           "mismatches": [m.to_json() for m in self.parity]}}


def verify_project(cfg: Any, servers: Mapping[str, str | None] | None = None) -> VerifyResult:
    """Replay, introspect and compare every configured dialect; then check parity.

    `servers` maps a dialect name to the server a throwaway database is created on (for
    PostgreSQL; default: the dialect's environment variable, AGORSCHEMA_VERIFY_PG_URL).
    Raises ConfigError / SchemaErrors for a bad project and db.ConnectError when a given
    server cannot be reached."""
    from agor_schema.build import build_snapshot
    from agor_schema.compiler import load_specs
    from agor_schema.dialects import get_dialect

    servers = dict(servers or {})
    specs = load_specs(cfg)
    reports = []
    built: dict[str, Snapshot] = {}
    for name in cfg.dialects:
        dialect = get_dialect(name)
        built[name] = build_snapshot(specs[name], dialect)
        server = servers.get(name)
        if not server and dialect.verify_server_env:
            server = os.environ.get(dialect.verify_server_env) or None
        reports.append(_verify_dialect(cfg, dialect, specs[name], built[name], server))
    result = VerifyResult(reports)
    if len(cfg.dialects) >= 2:
        result.parity, result.parity_checked = _parity(cfg, built, reports)
    return result


def _verify_dialect(cfg: Any, dialect: Any, spec: Any, snapshot: Snapshot,
                    server: str | None) -> DialectReport:
    from agor_schema.compiler import full_ddl
    from agor_schema.drift import IntrospectionError, drift, schema_statements
    from agor_schema.migrations import read_folder
    from agor_schema.runner import RunnerError, migrate

    name = dialect.name
    report = DialectReport(name)
    folder = cfg.migrations_dir(name)
    state = read_folder(folder, dialect.journal_dialect)
    report.migrations = [e.tag for e in state.journal.entries]
    if not state.journal.entries:
        report.fail(Mismatch("replay", f"{_rel(folder, cfg.root)} holds no migrations: run "
                             "`agorschema compile`", name))
        return report
    try:
        scope = dialect.throwaway_database(server)
    except IntrospectionError as exc:
        report.status, report.reason = SKIPPED, str(exc)
        return report
    expectations: list[tuple[str, str, list[str]]] = [
        ("schema", "current schema", [full_ddl(snapshot, dialect, spec, "schema")]),
    ]
    generated = cfg.generated / f"{name}.sql"
    if generated.is_file():
        expectations.append(("generated", _rel(generated, cfg.root),
                             [generated.read_text(encoding="utf-8")]))
    if state.last_snapshot is not None:
        last = dialect.snapshot_from_json(state.last_snapshot)
        label = _rel(state.snapshot_files[-1], cfg.root)
        expectations.append(("snapshot", label, schema_statements(last, dialect)))
    with scope as url:
        try:
            migrate(url, folder, table=cfg.migrations_table, schema=cfg.migrations_schema)
        except RunnerError as exc:
            report.fail(Mismatch("replay", f"the history does not replay: {exc.message}", name))
            return report
        conn = dialect.connect(url)
        try:
            live = dialect.introspect(conn, exclude=(cfg.migrations_table,))
            report.live = live
            for check, label, statements in expectations:
                report.compared.append(label)
                try:
                    expected = dialect.scratch_introspect(statements, conn)
                except IntrospectionError as exc:
                    report.fail(Mismatch(check, f"{label}: {exc}", name))
                    continue
                found = drift(live, expected, actual="replayed history", wanted=label)
                for change in found.changes:
                    report.fail(Mismatch(check, change.message, name, change.table, change.name))
        finally:
            dialect.close_connection(conn)
    return report


# ------------------------------------------------------------------ parity

Key = tuple  # ("table", t) | ("column", t, c) | ("index", t, name) | ("check", t, name) | ...


def logical_view(snapshot: Snapshot, cut=lambda name: name) -> set[Key]:
    """What both dialects must agree on: names of tables, columns, indexes and uniques (one
    namespace: SQLite keeps uniques as indexes), checks, and foreign keys by what they link.
    `cut` maps a name to how a database stores it (PostgreSQL keeps 63 bytes)."""
    view: set[Key] = set()
    for t in snapshot.tables.values():
        view.add(("table", t.name))
        view.update(("column", t.name, c) for c in t.columns)
        view.update(("index", t.name, cut(i)) for i in [*t.indexes, *t.uniques])
        view.update(("check", t.name, cut(c)) for c in t.checks)
        view.update(("foreign key", t.name, _fk_signature(fk.columns_from, fk.table_to,
                                                           fk.columns_to))
                    for fk in t.foreign_keys.values())
    return view


def _fk_signature(columns: Iterable[str], target: str, target_columns: Iterable[str]) -> str:
    return f"({', '.join(columns)}) -> {target}({', '.join(target_columns)})"


def _explained(cfg: Any) -> set[Key]:
    """Items the authored schema keeps in one dialect on purpose (`only:`)."""
    from agor_schema.spec.loader import load_sources

    data = load_sources(cfg.schema, cfg.root).data or {}
    keys: set[Key] = set()
    for tname, table in (data.get("tables") or {}).items():
        if not isinstance(table, dict):
            continue
        if table.get("only"):
            keys.add(("table", tname))
        columns = table.get("columns") or {}
        only_columns = {c for c, spec in columns.items()
                        if isinstance(spec, dict) and spec.get("only")}
        for c, spec in columns.items():  # SQLite checks what a PostgreSQL enum type enforces
            kind = spec.get("type") if isinstance(spec, dict) else spec
            if isinstance(kind, str) and kind.strip().lower().startswith("enum("):
                keys.add(("check", tname, f"{tname}_{c}_enum"))
        for c in only_columns:
            keys.add(("column", tname, c))
            keys.add(("index", tname, f"{tname}_{c}_unique"))
            keys.add(("check", tname, f"{tname}_{c}_enum"))
            ref = columns[c].get("references")
            if isinstance(ref, str) and "." in ref:
                target, target_column = ref.split(".", 1)
                keys.add(("foreign key", tname, _fk_signature([c], target, [target_column])))
        for iname, index in (table.get("indexes") or {}).items():
            if isinstance(index, dict) and index.get("only"):
                keys.add(("index", tname, iname))
        for cols in table.get("unique") or []:
            if isinstance(cols, list) and set(cols) & only_columns:
                keys.add(("index", tname, f"{tname}_{'_'.join(cols)}_unique"))
        for cname, check in (table.get("checks") or {}).items():
            if isinstance(check, dict) and (check.get("only") or (
                    "sql" not in check and not (set(DIALECT_NAMES) <= set(check)))):
                keys.add(("check", tname, cname))
        for fk in table.get("foreign_keys") or []:
            if isinstance(fk, dict) and (fk.get("only") or set(fk.get("columns") or [])
                                         & only_columns):
                ref = fk.get("references") or {}
                keys.add(("foreign key", tname, _fk_signature(
                    fk.get("columns") or [], ref.get("table", ""), ref.get("columns") or [])))
    return keys


def _override_explained(cfg: Any, dialects: list[str]) -> set[Key]:
    """Items that differ between the dialects because a `sqlite:` / `postgres:` override block
    says so (`sqlite: {unique: true}`, `postgres: {indexes: ...}`): the logical view of each
    dialect with its overrides, against the same schema with the override blocks taken out
    (an override's own `only:` stays: hiding an item that way is not explaining it)."""
    from agor_schema.build import build_snapshot
    from agor_schema.dialects import get_dialect
    from agor_schema.errors import SchemaErrors
    from agor_schema.spec.loader import load_sources
    from agor_schema.spec.validate import validate_schema

    doc = load_sources(cfg.schema, cfg.root)
    base = doc.derive(_without_overrides(doc.data))
    try:
        full_specs = validate_schema(doc, tuple(dialects))
        base_specs = validate_schema(base, tuple(dialects))
    except SchemaErrors:
        return set()  # a schema that needs its overrides to be valid: nothing explained
    keys: set[Key] = set()
    for name in dialects:
        dialect = get_dialect(name)
        keys |= logical_view(build_snapshot(full_specs[name], dialect)) ^ \
            logical_view(build_snapshot(base_specs[name], dialect))
    return keys


def _without_overrides(data: Any) -> Any:
    """The authored schema with the override blocks of tables, columns and indexes reduced to
    their `only:` (everything else they say is what `_override_explained` explains)."""
    import copy

    def strip(item: Any) -> Any:
        if not isinstance(item, dict):
            return item
        out = {k: v for k, v in item.items() if k not in DIALECT_NAMES}
        for dialect in DIALECT_NAMES:
            block = item.get(dialect)
            if isinstance(block, dict) and "only" in block:
                out[dialect] = {"only": block["only"]}
        return out

    data = copy.deepcopy(data)
    tables = data.get("tables") if isinstance(data, dict) else None
    for tname, table in list((tables or {}).items()):
        if not isinstance(table, dict):
            continue
        table = tables[tname] = strip(table)
        for part in ("columns", "indexes"):
            items = table.get(part)
            if isinstance(items, dict):
                table[part] = {k: strip(v) for k, v in items.items()}
    return data


def _table_only(key: Key, explained: set[Key]) -> bool:
    return ("table", key[1]) in explained


def _parity(cfg: Any, built: Mapping[str, Snapshot],
            reports: list[DialectReport]) -> tuple[list[Mismatch], list[str]]:
    names = list(built)
    first, second = names[0], names[1]
    explained = _explained(cfg) | _override_explained(cfg, names)
    mismatches: list[Mismatch] = []
    views = {n: logical_view(built[n]) for n in names}
    spec_diff = views[first] ^ views[second]
    for key in sorted(spec_diff):
        if key in explained or _table_only(key, explained):
            continue
        has, lacks = (first, second) if key in views[first] else (second, first)
        mismatches.append(Mismatch(
            "parity", f"the {has} schema has {_describe_key(key)} that the {lacks} schema "
            f"lacks, and it is not marked `only: {has}`", table=key[1]))
    checked = ["spec"]
    live = {r.dialect: r.live for r in reports if r.live is not None}
    if len(live) == len(names):
        checked.append("databases")
        cut = _stored_name(names)
        cut_views = {n: logical_view(built[n], cut) for n in names}
        db_views = {n: logical_view(live[n], cut) for n in names}
        for key in sorted(db_views[first] ^ db_views[second]):
            has, lacks = (first, second) if key in db_views[first] else (second, first)
            if key in cut_views[has] and key not in cut_views[lacks]:
                continue  # the schema itself keeps it in one dialect (checked above)
            mismatches.append(Mismatch(
                "parity", f"the replayed {has} database has {_describe_key(key)} that the "
                f"replayed {lacks} database lacks", table=key[1]))
    return mismatches, checked


def _stored_name(names: Iterable[str]):
    """A name as every one of these databases keeps it (the shortest cut wins)."""
    from agor_schema.dialects import get_dialect

    dialects = [get_dialect(n) for n in names]

    def cut(name: str) -> str:
        for dialect in dialects:
            name = dialect.stored_name(name)
        return name
    return cut


def _describe_key(key: Key) -> str:
    kind = key[0]
    if kind == "table":
        return f"table {key[1]}"
    if kind == "column":
        return f"column {key[1]}.{key[2]}"
    if kind == "index":
        return f"index/unique {key[2]} on {key[1]}"
    if kind == "foreign key":
        return f"foreign key {key[1]}{key[2]}"
    return f"{kind} {key[2]} on {key[1]}"


def _rel(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)
