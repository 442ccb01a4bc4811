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


def name_problems(snapshot: Snapshot, dialect, reserved_tables: tuple[str, ...] = ()
                  ) -> list[NameProblem]:
    """Every name in `snapshot` that `dialect`'s database would refuse or confuse."""
    problems: list[NameProblem] = _type_problems(snapshot, dialect)
    reserved = {dialect.name_key(t) for t in (*RESERVED_TABLES, *reserved_tables)}
    seen: dict[str, tuple] = {}  # name key -> (kind, name, table, path)
    for table in snapshot.tables.values():
        problems += _column_problems(table, dialect)
        problems += _constraint_problems(table, dialect)
        for kind, name in dialect.relation_names(table):
            path = _path(table.name, kind, name)
            key = dialect.name_key(name)
            if kind == "table" and key in reserved:
                problems.append(NameProblem(
                    path, f"table name '{name}' is reserved for agorschema's and drizzle's "
                    "bookkeeping table; rename the table", table.name))
            prefix = next((p for p in dialect.reserved_name_prefixes
                           if name.lower().startswith(p)), None)
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
