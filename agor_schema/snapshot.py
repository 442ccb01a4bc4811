"""Schema state per dialect in drizzle-kit's snapshot shape, and its JSON form.

`Snapshot` is the typed form of a drizzle-kit snapshot (SQLite v6 / PostgreSQL v7) that the
differ compares. It is built from a validated spec (`build_snapshot`) or read from a
`meta/NNNN_snapshot.json` written by drizzle-kit or by us (`Dialect.snapshot_from_json`).
Ids are derived from the content and the previous id, so output is deterministic.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agor_schema.dialects.base import Dialect

ORIGIN_ID = "00000000-0000-0000-0000-000000000000"


@dataclass
class Column:
    """A column as the snapshot records it: the dialect's SQL type and default fragment."""

    name: str
    type: str
    primary_key: bool = False
    not_null: bool = False
    autoincrement: bool = False
    default: Any = None  # SQL fragment, or a JSON bool/number; None = no default
    identity: dict | None = None  # PostgreSQL identity column settings
    generated: dict | None = None  # {"as": sql, "type": "stored"|"virtual"}
    type_schema: str | None = None  # PostgreSQL: schema of an enum (or other user) type
    # extension providing a declared type (not in snapshots: CREATE EXTENSION IF NOT EXISTS
    # goes with each migration that adds a column of the type)
    extension: str | None = field(default=None, compare=False)


@dataclass
class IndexColumn:
    """One part of an index: a column name or a raw SQL expression."""

    expression: str
    is_expression: bool = False
    asc: bool = True
    nulls: str = "last"
    opclass: str | None = None
    # the extension providing `opclass` (read from a catalog; snapshots have no place for it)
    extension: str | None = field(default=None, compare=False)


@dataclass
class Index:
    name: str
    columns: list[IndexColumn]
    unique: bool = False
    where: str | None = None
    method: str = "btree"
    concurrently: bool = field(default=False, compare=False)  # how it is built, not what
    with_: dict = field(default_factory=dict)
    # extension providing the method (not in snapshots: CREATE EXTENSION IF NOT EXISTS goes
    # with the migration that creates the index)
    extension: str | None = field(default=None, compare=False)
    # a live unique index built NULLS NOT DISTINCT (PostgreSQL 15+): drizzle's snapshot has no
    # place for it on an index (the DSL makes it a constraint); read so `pull` can say so
    nulls_not_distinct: bool = field(default=False, compare=False)
    # keys a snapshot written by an older drizzle-kit left out; not part of the schema
    absent: tuple[str, ...] = field(default=(), compare=False)


@dataclass
class ForeignKey:
    name: str
    table_from: str
    table_to: str
    columns_from: list[str]
    columns_to: list[str]
    on_delete: str = "no action"
    on_update: str = "no action"
    schema_to: str | None = None


@dataclass
class PrimaryKey:
    """A composite primary key (single-column keys live on the column)."""

    name: str
    columns: list[str]


@dataclass
class Unique:
    name: str
    columns: list[str]
    nulls_not_distinct: bool = False


@dataclass
class Check:
    name: str
    value: str


@dataclass
class Table:
    name: str
    columns: dict[str, Column] = field(default_factory=dict)
    indexes: dict[str, Index] = field(default_factory=dict)
    foreign_keys: dict[str, ForeignKey] = field(default_factory=dict)
    primary_keys: dict[str, PrimaryKey] = field(default_factory=dict)
    uniques: dict[str, Unique] = field(default_factory=dict)
    checks: dict[str, Check] = field(default_factory=dict)
    schema: str = ""
    extra: dict = field(default_factory=dict)  # policies, isRLSEnabled: kept on round trips
    absent: tuple[str, ...] = field(default=(), compare=False)  # keys the source left out

    def primary_key_columns(self) -> list[str]:
        """Columns of the primary key, composite or single."""
        for pk in self.primary_keys.values():
            return list(pk.columns)
        return [c.name for c in self.columns.values() if c.primary_key]


@dataclass
class Enum:
    """A PostgreSQL enum type (snapshot `enums`, keyed "<schema>.<name>")."""

    name: str
    schema: str
    values: list[str]

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class Snapshot:
    """One dialect's whole schema state, as in `meta/NNNN_snapshot.json`."""

    dialect: str
    tables: dict[str, Table] = field(default_factory=dict)
    id: str = ORIGIN_ID
    prev_id: str = ""
    extra: dict = field(default_factory=dict)  # views, sequences, ... kept verbatim
    enums: dict[str, Enum] = field(default_factory=dict)  # "<schema>.<name>" -> Enum
    renames: dict = field(default_factory=dict)  # SQLite `_meta`: {"tables": {}, "columns": {}}
    absent: tuple[str, ...] = ()  # top-level keys the source document left out


def table_key(name: str, schema: str = "") -> str:
    """How `Snapshot.tables` keys a table: the bare name in the default schema, else
    `schema.name` (so `public.users` and `auth.users` do not collide)."""
    return name if schema in ("", "public") else f"{schema}.{name}"


def without_absent(document: dict, absent: tuple[str, ...]) -> dict:
    """`document` minus the keys its source did not have (round trips stay equal as data)."""
    if not absent:
        return document
    return {k: v for k, v in document.items() if k not in absent}


def derive_id(prev_id: str, content: Any) -> str:
    """A UUID-shaped id from the previous id and the content: same input, same id."""
    digest = hashlib.sha256(
        (prev_id + "\n" + _sorted_json(content)).encode()
    ).hexdigest()
    # shape it as a version-4 UUID so tools that expect one are satisfied
    variant = "89ab"[int(digest[16], 16) % 4]
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-{variant}{digest[17:20]}-{digest[20:32]}"


def _sorted_json(content: Any) -> str:
    """json.dumps(content, sort_keys=True, ensure_ascii=False), byte for byte; a snapshot's
    tables come from `_table_texts` (unchanged tables are not serialised again)."""
    tables = content.get("tables") if isinstance(content, dict) else None
    if not isinstance(tables, dict) or not tables or \
            not all(isinstance(k, str) for k in (*content, *tables)):
        return json.dumps(content, sort_keys=True, ensure_ascii=False)
    parts = []
    for key in sorted(content):
        value = content[key]
        if key == "tables":
            inner = ", ".join(_encode_str(name) + ": " + _table_texts(tables[name])[1]
                              for name in sorted(tables))
            parts.append('"tables": {' + inner + "}")
        else:
            parts.append(_encode_str(key) + ": " +
                         json.dumps(value, sort_keys=True, ensure_ascii=False))
    return "{" + ", ".join(parts) + "}"


_TABLE_NEWLINE = "\n    "  # a table's indentation inside a snapshot's "tables"


def _table_texts(table: Any) -> tuple[str, str]:
    """One table's JSON as the snapshot file holds it (indented at its depth) and sorted
    compact (for its id), memoized in the project cache by content: a compile that changes
    one table serialises that table only. The key is a hash of the pickled table (C-fast,
    about twice as fast as its compact JSON, and both texts are functions of it: pickle keeps
    types and key order); it is computed once per table object and run (the id and the file
    text are made from the same document)."""
    seen = _TEXTS.get(id(table))
    if seen is not None and seen[0] is table:
        return seen[1]
    from agor_schema import cache

    def both() -> tuple[str, str]:
        out: list[str] = []
        _dump_indented(table, _TABLE_NEWLINE, out)
        return "".join(out), json.dumps(table, sort_keys=True, ensure_ascii=False)

    key = hashlib.sha1(pickle.dumps(table, protocol=5)).digest()
    # 16 cache files by key: a compile that changes one table rewrites one or two of them
    texts = cache.active().memo(f"snapjson{key[0] >> 4:x}", key, both)
    if len(_TEXTS) > 20_000:
        _TEXTS.clear()
    _TEXTS[id(table)] = (table, texts)
    return texts


# table object id -> (the object, its texts): within one document's id and dump; the object
# is kept so its id cannot be reused while the entry lives (cleared by `chain`)
_TEXTS: dict[int, tuple[Any, tuple[str, str]]] = {}


def dump_snapshot_json(document: dict) -> str:
    """drizzle-kit's serialisation: JSON.stringify(obj, null, 2), no trailing newline.

    Byte-identical to json.dumps(document, indent=2, ensure_ascii=False), whose indented
    form runs the pure-Python encoder; this walks dicts and lists itself and leaves the
    scalars to the C encoder (about twice as fast on a 1000-table snapshot), and takes each
    table's text from `_table_texts`."""
    parts: list[str] = []
    tables = document.get("tables") if isinstance(document, dict) else None
    if not isinstance(tables, dict) or not tables or \
            not all(isinstance(k, str) for k in (*document, *tables)):
        _dump_indented(document, "\n", parts)
        return "".join(parts)
    sep = "{\n  "
    for key, value in document.items():
        parts.append(sep + _encode_str(key) + ": ")
        if key == "tables":
            inner = "{" + _TABLE_NEWLINE
            for name, table in value.items():
                parts.append(inner + _encode_str(name) + ": " + _table_texts(table)[0])
                inner = "," + _TABLE_NEWLINE
            parts.append("\n  }")
        else:
            _dump_indented(value, "\n  ", parts)
        sep = ",\n  "
    parts.append("\n}")
    return "".join(parts)


_scalar_json = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode


_encode_str = json.encoder.encode_basestring  # the C function when _json is available
_CONSTANTS = {True: "true", False: "false", None: "null"}


def _dump_indented(value: Any, newline: str, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(_encode_str(value))
    elif kind is bool or value is None:
        out.append(_CONSTANTS[value])
    elif kind is int:
        out.append(int.__repr__(value))
    elif isinstance(value, dict) and value:
        inner = newline + "  "
        sep = "{" + inner
        for key, item in value.items():
            if not isinstance(key, str):  # json's key coercion (int, float, bool, None)
                key = next(iter(json.loads(_scalar_json({key: 0}))))
            kind = type(item)
            if kind is str:  # scalars inline: most of a snapshot's items
                out.append(sep + _encode_str(key) + ": " + _encode_str(item))
            elif kind is bool or item is None:
                out.append(sep + _encode_str(key) + ": " + _CONSTANTS[item])
            else:
                out.append(sep + _encode_str(key) + ": ")
                _dump_indented(item, inner, out)
            sep = "," + inner
        out.append(newline + "}")
    elif isinstance(value, (list, tuple)) and value:
        inner = newline + "  "
        sep = "[" + inner
        for item in value:
            out.append(sep)
            _dump_indented(item, inner, out)
            sep = "," + inner
        out.append(newline + "]")
    else:  # scalars, and empty containers ({} and [] as json.dumps writes them)
        out.append(_scalar_json(value))


def chain(snapshot: Snapshot, dialect: Dialect, prev_id: str, salt: str = "") -> dict:
    """The snapshot's JSON document with id/prevId set, id derived from content + prev_id."""
    snapshot.prev_id = prev_id
    snapshot.id = ORIGIN_ID
    _TEXTS.clear()
    body = dialect.snapshot_to_json(snapshot)
    snapshot.id = derive_id(prev_id + salt, body)
    if body.get("id") == ORIGIN_ID:  # what snapshot_to_json would give now, without a rebuild
        body["id"] = snapshot.id
        return body
    return dialect.snapshot_to_json(snapshot)
