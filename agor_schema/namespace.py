"""Names the database would refuse or merge, found before anything is written.

A schema can be valid YAML and valid DSL and still fail in the database: SQLite treats
`Users` and `users` as one table and refuses names starting with `sqlite_`; PostgreSQL keeps
tables, indexes, the indexes of unique and primary key constraints and identity sequences
in one namespace per schema, cuts every name at 63 bytes, and reserves system column names.
This stage reads the built snapshot (where derived names such as `<table>_<col>_unique`
exist) and reports each clash with the data path of the schema item that caused it, so the
compiler can point at the file, line and column.
"""

from __future__ import annotations

from dataclasses import dataclass

from agor_schema.snapshot import Snapshot

RESERVED_TABLES = ("__drizzle_migrations",)  # the runner's bookkeeping table


@dataclass(frozen=True)
class NameProblem:
    """One clash: where it is in the schema (a data path) and what is wrong."""

    path: tuple
    message: str
    table: str
    column: str | None = None


def name_problems(snapshot: Snapshot, dialect, reserved_tables: tuple[str, ...] = (),
                  raw: dict | None = None) -> list[NameProblem]:
    """Every name in `snapshot` that `dialect`'s database would refuse or confuse. `raw`, the
    schema's data as read from the YAML files, lets each table's own names come from the
    project cache (`_names_of`); the checks across tables always run."""
    problems: list[NameProblem] = _type_problems(snapshot, dialect)
    reserved = {dialect.name_key(t) for t in (*RESERVED_TABLES, *reserved_tables)}
    seen: dict[str, tuple] = {}  # name key -> (kind, name, table, path)
    names_of = _names_of(dialect, raw)
    for table in snapshot.tables.values():
        local, relations = names_of(table)
        problems += local
        for kind, name, key, prefix in relations:
            path = _path(table.name, kind, name)
            if kind == "table" and key in reserved:
                problems.append(NameProblem(
                    path, f"table name '{name}' is reserved for agorschema's and drizzle's "
                    "bookkeeping table; rename the table", table.name))
            if prefix is not None:
                problems.append(NameProblem(
                    path, f"{kind} name '{name}' starts with '{prefix}', which {dialect.name} "
                    "reserves for itself; rename it", table.name))
            first = seen.get(key)
            if first is None:
                seen[key] = (kind, name, table.name, path)
                continue
            # point at whichever of the two the user wrote (an index), else at the later one
            where = first[3] if len(first[3]) > len(path) else path
            problems.append(NameProblem(where, _clash(dialect, (kind, name, table.name),
                                                      first[:3]), where[1]))
    return problems


# a table's names in the schema-wide namespace: (kind, name, name key, reserved prefix)
Relation = tuple[str, str, str, "str | None"]


def _table_names(table, dialect) -> tuple[list[NameProblem], tuple[Relation, ...]]:
    """What needs no other table: the problems of a table's columns and constraint names,
    and its relation names with their keys and the reserved prefix each starts with."""
    relations = tuple(
        (kind, name, dialect.name_key(name),
         next((p for p in dialect.reserved_name_prefixes if name.lower().startswith(p)), None))
        for kind, name in dialect.relation_names(table))
    return _column_problems(table, dialect) + _constraint_problems(table, dialect), relations


def _names_of(dialect, raw: dict | None):
    """`_table_names` of a table; with `raw` and a persistent cache, memoized per table by
    what the built table is made of (spec.TableKeys: its data, the top-level settings, the
    dialect), for tables with no problem of their own only (problems are never cached):
    a hit is a few strings per table."""
    from agor_schema import cache
    from agor_schema.spec import TableKeys

    store = cache.active()
    if store.folder is None or not TableKeys.usable(raw):
        return lambda table: _table_names(table, dialect)
    keys = TableKeys(raw, dialect.name)

    def names_of(table) -> tuple[list[NameProblem], tuple[Relation, ...]]:
        key = keys.key(table.name, set(), "names")
        relations = store.get("tablenames", key)
        if relations is not None:
            return [], relations
        local, relations = _table_names(table, dialect)
        if not local and all(prefix is None for *_rest, prefix in relations):
            store.put("tablenames", key, relations)
        return local, relations

    return names_of


def _type_problems(snapshot: Snapshot, dialect) -> list[NameProblem]:
    """Enum types: not in a schema the engine reserves, and not named like a table of their
    schema (PostgreSQL gives every table a row type of the table's name)."""
    problems = []
    tables = {(t.schema or "public", dialect.name_key(t.name)): t.name
              for t in snapshot.tables.values()}
    for enum in snapshot.enums.values():
        path = ("enums", enum.name)
        prefix = next((p for p in dialect.reserved_schema_prefixes
                       if enum.schema.lower().startswith(p)), None)
        if prefix is not None:
            problems.append(NameProblem(
                path, f"enum '{enum.name}' is in schema '{enum.schema}', but {dialect.name} "
                f"reserves schema names starting with '{prefix}' for itself; choose another "
                "schema", ""))
        table = tables.get((enum.schema or "public", dialect.name_key(enum.name)))
        if table is not None:
            problems.append(NameProblem(
                path, f"enum type '{enum.name}' and table '{table}' are the same name to "
                f"{dialect.name}{_why(dialect, enum.name, table)}: every table has a row type "
                "of its own name, so the second CREATE would fail; rename the enum (or the "
                "table)", ""))
    return problems


def _column_problems(table, dialect) -> list[NameProblem]:
    problems = []
    seen: dict[str, str] = {}
    for column in table.columns:
        path = ("tables", table.name, "columns", column)
        if column.lower() in dialect.reserved_column_names:
            problems.append(NameProblem(
                path, f"column name '{column}' is a {dialect.name} system column of every "
                "table; rename the column", table.name, column))
        key = dialect.name_key(column)
        if key in seen:
            problems.append(NameProblem(
                path, f"columns '{seen[key]}' and '{column}' are the same name to "
                f"{dialect.name}{_why(dialect, seen[key], column)}; rename one",
                table.name, column))
        seen.setdefault(key, column)
    return problems


def _constraint_problems(table, dialect) -> list[NameProblem]:
    """Constraint names of one table (foreign keys, checks, uniques, primary key) must differ
    as the engine stores them."""
    problems = []
    seen: dict[str, tuple[str, str]] = {}
    named = [("foreign key", n) for n in table.foreign_keys]
    named += [("check", n) for n in table.checks]
    named += [("unique constraint", n) for n in table.uniques]
    named += [("primary key", n) for n in table.primary_keys]
    for kind, name in named:
        key = dialect.name_key(name)
        first = seen.get(key)
        if first is None:
            seen[key] = (kind, name)
            continue
        path = ("tables", table.name, "checks", name) if kind == "check" else ("tables",
                                                                               table.name)
        problems.append(NameProblem(
            path, f"{kind} '{name}' and {first[0]} '{first[1]}' of table '{table.name}' are "
            f"the same constraint name to {dialect.name}{_why(dialect, name, first[1])}; "
            "give one a shorter or different name (name: / unique_name:)", table.name))
    return problems


def _clash(dialect, this: tuple[str, str, str], first: tuple[str, str, str]) -> str:
    kind, name, table = this
    first_kind, first_name, first_table = first
    where = f" of table '{first_table}'" if first_kind != "table" else ""
    return (f"{kind} '{name}' of table '{table}' and {first_kind} '{first_name}'{where} are "
            f"the same name to {dialect.name}{_why(dialect, name, first_name)} (tables, indexes, "
            "unique and primary key constraints and sequences share one namespace); rename "
            "one, e.g. with unique_name / name")


def _why(dialect, a: str, b: str) -> str:
    if a == b:
        return ""
    if dialect.stored_name(a) == dialect.stored_name(b) and a != dialect.stored_name(a):
        return f" after it cuts names at {dialect.max_identifier_bytes} bytes"
    return " (it ignores case)"


def _path(table: str, kind: str, name: str) -> tuple:
    if kind == "index":
        return ("tables", table, "indexes", name)
    return ("tables", table)
