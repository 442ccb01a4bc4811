"""PostgreSQL half of introspection: pg_catalog → `Snapshot`.

Types come from format_type, defaults, check and index expressions from pg_get_expr (the
database's own spelling, e.g. `'member'::text`), constraints from pg_constraint (columns from
conkey/confkey, not parsed from text), identity columns with their sequence settings, indexes
that back no constraint from pg_index. The scratch database is a schema created inside a
transaction on the same server and rolled back, so nothing is left behind.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from agor_schema.introspect import (
    BOOKKEEPING_TABLE,
    IntrospectionError,
    normalize_sql,
    scratch_statements,
    unquote_identifier,
)
from agor_schema.snapshot import (
    Check,
    Column,
    Enum,
    ForeignKey,
    Index,
    IndexColumn,
    PrimaryKey,
    Snapshot,
    Table,
    Unique,
)

ACTIONS = {"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}
VERIFY_ENV = "AGORSCHEMA_VERIFY_PG_URL"

_TABLES = """
SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.oid
"""
_COLUMNS = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
       pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname), a.attname),
       et.typtype = 'e', et.typname, etn.nspname, t.typcategory = 'A', a.attndims,
       (SELECT e.extname FROM pg_depend dep JOIN pg_extension e ON e.oid = dep.refobjid
        WHERE dep.classid = 'pg_type'::regclass AND dep.objid = et.oid AND dep.deptype = 'e'
        LIMIT 1)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type et ON et.oid = CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE t.oid END
JOIN pg_namespace etn ON etn.oid = et.typnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""
# enum types of the schema, and those its columns use from other schemas
_ENUMS = """
SELECT n.nspname, t.typname,
       ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid
             ORDER BY e.enumsortorder)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'e' AND (n.nspname = %s OR t.oid IN (
    SELECT CASE WHEN at.typcategory = 'A' THEN at.typelem ELSE at.oid END
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace cn ON cn.oid = c.relnamespace JOIN pg_type at ON at.oid = a.atttypid
    WHERE cn.nspname = %s AND a.attnum > 0))
ORDER BY n.nspname, t.typname
"""
_SERIAL_TYPES = {"smallint": "smallserial", "integer": "serial", "bigint": "bigserial"}
_SEQUENCE = """
SELECT s.relname, p.seqincrement, p.seqstart, p.seqmin, p.seqmax, p.seqcache, p.seqcycle
FROM pg_sequence p JOIN pg_class s ON s.oid = p.seqrelid WHERE p.seqrelid = %s::regclass
"""
_CONSTRAINTS = """
SELECT k.conrelid, k.conname, k.contype,
       ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(num, pos)
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num ORDER BY u.pos),
       t.relname, tn.nspname,
       ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(num, pos)
             JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.num ORDER BY u.pos),
       k.confdeltype, k.confupdtype, pg_get_expr(k.conbin, k.conrelid),
       pg_get_constraintdef(k.oid)
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class t ON t.oid = k.confrelid
LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
WHERE n.nspname = %s AND k.contype IN ('p', 'f', 'u', 'c')
ORDER BY k.conrelid, k.conname
"""
# pg_index.indnullsnotdistinct exists from PostgreSQL 15 on: read through to_jsonb, so an
# older server (no such column) answers false instead of failing the query
_INDEXES = """
SELECT ix.indrelid, i.relname, ix.indisunique, am.amname, pg_get_expr(ix.indpred, ix.indrelid),
       ix.indnkeyatts, ix.indkey::int2[], ix.indoption::int2[],
       ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k, true)
             FROM generate_series(1, ix.indnkeyatts) k ORDER BY k),
       ARRAY(SELECT CASE WHEN o.opcdefault THEN '' ELSE o.opcname END
             FROM unnest(ix.indclass::oid[]) WITH ORDINALITY u(oid, pos)
             JOIN pg_opclass o ON o.oid = u.oid ORDER BY u.pos),
       ARRAY(SELECT coalesce((SELECT e.extname FROM pg_depend d
                              JOIN pg_extension e ON e.oid = d.refobjid
                              WHERE d.classid = 'pg_opclass'::regclass AND d.objid = u.oid
                                AND d.refclassid = 'pg_extension'::regclass
                                AND d.deptype = 'e' LIMIT 1), '')
             FROM unnest(ix.indclass::oid[]) WITH ORDINALITY u(oid, pos) ORDER BY u.pos),
       i.reloptions, coalesce(to_jsonb(ix) ->> 'indnullsnotdistinct', '') = 'true'
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = i.relam
WHERE n.nspname = %s
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = ix.indexrelid
                  AND k.contype IN ('p', 'u', 'x'))
ORDER BY ix.indrelid, i.relname
"""


def _storage_parameters(reloptions: list[str] | None) -> dict:
    """pg_class.reloptions (`{fillfactor=70}`) as the snapshot's `with` mapping."""
    out: dict = {}
    for item in reloptions or []:
        key, _, value = item.partition("=")
        if re.fullmatch(r"-?\d+", value):
            out[key] = int(value)
        elif re.fullmatch(r"-?\d+\.\d*", value):
            out[key] = float(value)
        elif value.lower() in ("true", "on", "false", "off"):
            out[key] = value.lower() in ("true", "on")
        else:
            out[key] = value
    return out


def _type_name(formatted: str) -> str:
    """format_type's spelling, with `character varying(n)` shortened as DDL writes it."""
    formatted = re.sub(r"^character varying", "varchar", formatted)
    return re.sub(r"^numeric\((\d+),(\d+)\)$", r"numeric(\1, \2)", formatted)


class PostgresIntrospection:
    """Read a PostgreSQL schema's tables (mixed into the PostgreSQL dialect)."""

    verify_server_env: str | None = VERIFY_ENV

    # ------------------------------------------------------------------ catalog → Snapshot
    def as_drizzle_wrote(self, snapshot: Snapshot) -> Snapshot:
        """A catalog shows a serial column as integer + nextval('<t>_<c>_seq'); a snapshot (and
        the DSL) says `serial`. Rewrite those columns as drizzle-kit would have written them."""
        for table in snapshot.tables.values():
            for column in table.columns.values():
                default = column.default if isinstance(column.default, str) else ""
                seq = re.fullmatch(r"nextval\('\"?(.+?)\"?'(?:::regclass)?\)", default)
                if seq and column.type in _SERIAL_TYPES and \
                        seq.group(1) == f"{table.name}_{column.name}_seq":
                    column.type, column.default = _SERIAL_TYPES[column.type], None
        return snapshot

    def introspect(self, conn: Any, *, schema: str | None = None,
                   exclude: Iterable[str] = (BOOKKEEPING_TABLE,),
                   schema_names: dict[str, str] | None = None) -> Snapshot:
        """The tables of `schema` (default: the connection's current schema); `schema_names`
        renames other schemas as they are reported (scratch twins back to their names)."""
        names = schema_names or {}
        if schema is None:
            schema = conn.execute("SELECT current_schema()").fetchone()[0]
            if schema is None:
                raise IntrospectionError("the connection has no current schema (search_path)")
        skip = set(exclude) | {BOOKKEEPING_TABLE}
        snapshot = Snapshot(dialect="postgres", extra={})
        by_oid: dict[int, Table] = {}
        for oid, name in conn.execute(_TABLES, (schema,)).fetchall():
            if name in skip:
                continue
            by_oid[oid] = snapshot.tables[name] = Table(
                name=name, extra={"policies": {}, "isRLSEnabled": False})
        for nsp, tname, labels in conn.execute(_ENUMS, (schema, schema)).fetchall():
            enum = Enum(tname, "public" if nsp == schema else names.get(nsp, nsp), list(labels))
            snapshot.enums[enum.key] = enum
        for (oid, cname, ctype, notnull, default, identity, generated, sequence, is_enum,
             element, element_schema, is_array, dims, extension) in \
                conn.execute(_COLUMNS, (schema,)).fetchall():
            table = by_oid.get(oid)
            if table is None:
                continue
            column = Column(name=cname, type=_type_name(ctype), not_null=bool(notnull),
                            extension=extension)
            if is_enum:  # as a snapshot holds it: bare name, typeSchema, [] per dimension
                column.type = element + ("[]" * max(dims, 1) if is_array else "")
                column.type_schema = "public" if element_schema == schema \
                    else names.get(element_schema, element_schema)
            if (not identity and sequence and column.type in _SERIAL_TYPES and default
                    and default.startswith("nextval(")):
                column.type, default = _SERIAL_TYPES[column.type], None  # a serial column
            if generated:
                column.generated = {"as": f"({default})" if default else "?", "type": "stored"}
            elif default is not None:
                column.default = normalize_sql(default)
            if identity:
                column.identity = self._identity(conn, identity, sequence)
            table.columns[cname] = column
        for (oid, conname, contype, columns, target, target_schema, target_columns, on_delete,
             on_update, expression, definition) in conn.execute(_CONSTRAINTS, (schema,)).fetchall():
            table = by_oid.get(oid)
            if table is None:
                continue
            columns = list(columns)
            if contype == "p":
                if len(columns) == 1 and conname == f"{table.name}_pkey":
                    table.columns[columns[0]].primary_key = True
                else:
                    table.primary_keys[conname] = PrimaryKey(conname, columns)
            elif contype == "u":
                table.uniques[conname] = Unique(conname, columns,
                                                "NULLS NOT DISTINCT" in (definition or ""))
            elif contype == "f":
                table.foreign_keys[conname] = ForeignKey(
                    name=conname, table_from=table.name, table_to=target,
                    columns_from=columns, columns_to=list(target_columns),
                    on_delete=ACTIONS.get(on_delete, on_delete),
                    on_update=ACTIONS.get(on_update, on_update),
                    schema_to=None if target_schema == schema else target_schema)
            elif contype == "c":
                value = expression if expression is not None else definition
                table.checks[conname] = Check(conname, normalize_sql(value))
        for (oid, iname, unique, method, predicate, nkey, keys, options, texts,
             opclasses, extensions, reloptions, distinct_nulls) in \
                conn.execute(_INDEXES, (schema,)).fetchall():
            table = by_oid.get(oid)
            if table is None:
                continue
            parts = []
            for position in range(nkey):
                attnum = keys[position]
                option = options[position] or 0
                desc, nulls_first = bool(option & 1), bool(option & 2)
                text = texts[position]
                parts.append(IndexColumn(
                    expression=unquote_identifier(text) if attnum else normalize_sql(text),
                    is_expression=not attnum,
                    asc=not desc,
                    nulls="first" if nulls_first else "last",
                    opclass=opclasses[position] or None if position < len(opclasses) else None,
                    extension=extensions[position] or None if position < len(extensions)
                    else None,
                ))
            table.indexes[iname] = Index(iname, parts, unique=bool(unique),
                                         where=normalize_sql(predicate), method=method,
                                         with_=_storage_parameters(reloptions),
                                         nulls_not_distinct=bool(distinct_nulls))
        return snapshot

    def _identity(self, conn: Any, kind: str, sequence: str | None) -> dict:
        identity: dict[str, Any] = {"type": "always" if kind == "a" else "byDefault"}
        if sequence:
            row = conn.execute(_SEQUENCE, (sequence,)).fetchone()
            if row:
                name, increment, start, minimum, maximum, cache, cycle = row
                identity.update({"name": name, "increment": str(increment),
                                 "startWith": str(start), "minValue": str(minimum),
                                 "maxValue": str(maximum), "cache": str(cache),
                                 "cycle": bool(cycle)})
        return identity

    # ------------------------------------------------------------------ scratch database
    def scratch_introspect(self, statements: Sequence[str], conn: Any = None) -> Snapshot:
        """Apply DDL in a scratch schema inside a transaction on `conn`'s server, read it back
        and roll everything back. References qualified with "public" are pointed at the
        scratch schema."""
        if conn is None:
            raise IntrospectionError("a PostgreSQL scratch schema needs a connection")
        scratch = f"agorschema_scratch_{uuid.uuid4().hex[:12]}"
        quoted = self.quote(scratch)
        import psycopg

        # the schemas enum types live in get scratch twins (created here, not by the DDL);
        # extensions are not created in a scratch: their types must already be installed
        others = sorted({m for st in statements for m in re.findall(_CREATED_SCHEMA, st)})
        twins = {name: f"{scratch}_{i}" for i, name in enumerate(others)}
        safe = scratch_statements([re.sub(_SETUP_LINE, "", s.replace("--> statement-breakpoint", ""))
                                   for s in statements], self.sqlglot_dialect,
                                  forward_references=self.references_resolve_late)
        try:
            with conn.transaction(force_rollback=True):
                # only the scratch schema is searched for tables (pg_catalog stays implicit),
                # and a statement stuck on a lock or a slow function is cut short
                conn.execute("SET LOCAL statement_timeout = '60s'; "
                             "SET LOCAL lock_timeout = '5s'")
                conn.execute(f"CREATE SCHEMA {quoted}")
                conn.execute(f"SET LOCAL search_path TO {quoted}, public")
                for twin in twins.values():
                    conn.execute(f"CREATE SCHEMA {self.quote(twin)}")
                twin_names = {self.quote(k): self.quote(v) for k, v in twins.items()}
                for statement in safe:
                    self._scratch_execute(conn, _retarget(statement, quoted, twin_names))
                return self.introspect(conn, schema=scratch,
                                       schema_names={v: k for k, v in twins.items()})
        except psycopg.Error as exc:
            raise IntrospectionError(f"scratch schema failed: {str(exc).splitlines()[0]}") from None

    @staticmethod
    def _scratch_execute(conn: Any, sql: str) -> None:
        """Run ONE statement (a prepared statement: PostgreSQL refuses a second command in
        it) and make sure the transaction is still open afterwards, so nothing the scratch
        runs can ever be committed to the user's database."""
        import psycopg
        from psycopg.pq import TransactionStatus

        try:
            conn.execute(sql, prepare=True)
        except psycopg.Error as exc:
            raise IntrospectionError(
                f"the expected DDL does not apply to PostgreSQL: "
                f"{str(exc).splitlines()[0]}: {sql.strip()[:300]}") from None
        if conn.info.transaction_status != TransactionStatus.INTRANS:
            raise IntrospectionError(f"the scratch transaction ended unexpectedly after: "
                                     f"{sql.strip()[:300]}")

    def require_existing_database(self, url: str) -> None:
        """Nothing to check before connecting: a missing database fails to connect."""

    # ------------------------------------------------------------------ throwaway database
    def throwaway_database(self, server_url: str | None = None):
        """A context manager yielding the URL of a new empty database on `server_url`'s server,
        dropped afterwards. Raises IntrospectionError when no server is given."""
        import contextlib

        if not server_url:
            raise IntrospectionError(
                f"no PostgreSQL server: pass --pg-url or set {VERIFY_ENV}")

        @contextlib.contextmanager
        def scope():
            name = f"agorschema_verify_{uuid.uuid4().hex[:12]}"
            admin = self.connect(server_url)
            try:
                admin.execute(f"CREATE DATABASE {self.quote(name)}")
                yield _database_url(server_url, name)
            finally:
                try:
                    admin.execute(f"DROP DATABASE IF EXISTS {self.quote(name)} WITH (FORCE)")
                except Exception:  # noqa: BLE001 - PostgreSQL < 13 has no FORCE
                    admin.execute(f"DROP DATABASE IF EXISTS {self.quote(name)}")
                finally:
                    admin.close()

        return scope()


def _database_url(server_url: str, name: str) -> str:
    """`server_url` pointed at database `name`: the path replaced and every `dbname` query
    parameter dropped (libpq decodes parameter names and lets the query win over the path,
    so `?dbname=app` or `?%64bname=app` would otherwise name the user's database)."""
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(server_url)
    query = "&".join(p for p in parts.query.split("&")
                     if p and unquote(p.split("=", 1)[0]) != "dbname")
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, query, parts.fragment))


# pattern strings, compiled (and cached) by `re` on first use: compile never runs them
_PUBLIC = r'"public"\.|\bpublic\.(?=["A-Za-z_])'


_CREATED_SCHEMA = r'CREATE SCHEMA IF NOT EXISTS "((?:[^"]|"")+)"'
# the setup lines agorschema writes before enum types and declared types
_SETUP_LINE = r'(?m)^CREATE (?:SCHEMA|EXTENSION) IF NOT EXISTS "(?:[^"]|"")+";[ \t]*$'


def _retarget(sql: str, quoted_schema: str, twins: dict[str, str] | None = None) -> str:
    """Point `"public".` / `public.` qualifiers at the scratch schema, and other quoted schema
    names at their scratch twins (outside literals)."""
    out = []
    for token in re.findall(r"'(?:[^']|'')*'|[^']+|'", sql):
        if token.startswith("'") and len(token) > 1:
            out.append(token)
            continue
        token = re.sub(_PUBLIC, quoted_schema + ".", token)
        for name, twin in (twins or {}).items():
            token = token.replace(name + ".", twin + ".").replace(
                f"SCHEMA IF NOT EXISTS {name}", f"SCHEMA IF NOT EXISTS {twin}").replace(
                f"SET SCHEMA {name}", f"SET SCHEMA {twin}")
        out.append(token)
    return "".join(out)
