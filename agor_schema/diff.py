"""Old snapshot × new snapshot → operations, with renames only where `renamed_from` says.

Renames are applied to a copy of the old state first (`Plan.before`), so the rest of the
comparison, and the dialects rendering it, see old and new under the same names. Tables,
columns and indexes are matched by name through dicts: cost grows linearly with the schema.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from agor_schema import ops as o
from agor_schema.snapshot import Snapshot, Table


@dataclass
class Renames:
    """Rename hints from the spec: new name -> old name."""

    tables: dict[str, str] = field(default_factory=dict)
    columns: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, new) -> old
    indexes: dict[str, str] = field(default_factory=dict)
    enums: dict[str, str] = field(default_factory=dict)  # new enum key -> old enum name
    enum_values: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> {new: old}
    # (table, column) of an enum(name) column -> {new value: old value}: where a database keeps
    # the value as text (SQLite), the rows are rewritten
    column_values: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)


@dataclass
class Plan:
    """The operations of one migration and the states they go between."""

    operations: list[o.Op]
    before: Snapshot  # the old state with this migration's renames applied
    after: Snapshot
    renamed_tables: dict[str, str] = field(default_factory=dict)  # old -> new
    renamed_columns: dict[tuple[str, str], str] = field(default_factory=dict)  # (t, old) -> new

    @property
    def empty(self) -> bool:
        return not self.operations


def renames_from_spec(spec) -> Renames:
    """Collect `renamed_from` hints of tables, columns and indexes from a SchemaSpec."""
    renames = Renames()
    for name, table in spec.tables.items():
        if table.renamed_from:
            renames.tables[name] = table.renamed_from
        for column_name, column in table.columns.items():
            if column.renamed_from:
                renames.columns[(name, column_name)] = column.renamed_from
        for index_name, index in table.indexes.items():
            if index.renamed_from:
                renames.indexes[index_name] = index.renamed_from
    for name, enum in spec.enums.items():
        key = f"{enum.schema_ or 'public'}.{name}"
        if enum.renamed_from:
            renames.enums[key] = enum.renamed_from
        if enum.value_renames:
            renames.enum_values[key] = dict(enum.value_renames)
    with_renamed_values = {name for name, enum in spec.enums.items() if enum.value_renames}
    if not with_renamed_values:  # no column's values need recoding
        return renames
    for name, table in spec.tables.items():
        for column_name, column in table.columns.items():
            lt = column.logical_type
            if lt.name == "enum" and lt.ref in with_renamed_values:
                renames.column_values[(name, column_name)] = spec.enums[lt.ref].value_renames
    return renames


def diff(old: Snapshot, new: Snapshot, renames: Renames | None = None) -> Plan:
    """The operations that turn `old` into `new`."""
    renames = renames or Renames()
    # renames rewrite the old state: copy it only then (a deep copy costs as much as the diff)
    before = copy.deepcopy(old) if _renames_apply(old, new, renames) or old.enums else old
    operations: list[o.Op] = []
    dropped_enums = _diff_enums(before, new, renames, operations)
    table_renames = _rename_tables(before, new, renames, operations)
    column_renames = _rename_columns(before, new, renames, operations)
    for name, table in new.tables.items():
        if name not in before.tables:
            operations.append(o.CreateTable(name, table))
    for name, table in before.tables.items():
        if name not in new.tables:
            operations.append(o.DropTable(name, table))
    for name, table in new.tables.items():
        if name in before.tables:
            operations.extend(_diff_table(before.tables[name], table, renames))
    operations.extend(dropped_enums)
    return Plan(operations, before, new, table_renames, column_renames)


# ------------------------------------------------------------------ enum types


def uses_enum(column, enum) -> bool:
    """Is the column (or its array elements) of this enum type?"""
    return column.type_schema == enum.schema and column.type.split("[", 1)[0] == enum.name


def rename_enum_in(snapshot: Snapshot, old_key: str, new) -> None:
    """What ALTER TYPE ... RENAME / SET SCHEMA does: the type and every column follow."""
    old = snapshot.enums.pop(old_key)
    snapshot.enums[new.key] = type(old)(new.name, new.schema, list(old.values))
    for table in snapshot.tables.values():
        for column in table.columns.values():
            if uses_enum(column, old):
                column.type = new.name + column.type[len(old.name):]
                column.type_schema = new.schema


def merged_values(current: list[str], wanted: list[str]) -> list[tuple[str, str | None]]:
    """(value, the existing value it goes before) for each value of `wanted` missing from
    `current`, in the order ADD VALUE must add them; None = at the end."""
    present = list(current)
    added = []
    for i, value in enumerate(wanted):
        if value in present:
            continue
        following = next((w for w in wanted[i + 1:] if w in present), None)
        added.append((value, following))
        present.insert(present.index(following) if following else len(present), value)
    return added


def _diff_enums(before: Snapshot, new: Snapshot, renames: Renames, ops: list) -> list[o.Op]:
    """Enum operations (renames, creates, values) into `ops`; drops are returned to go last.
    `before` is changed to show the renames."""
    for key, enum in new.enums.items():
        if key in before.enums:
            continue
        wanted_name = renames.enums.get(key, enum.name)
        sources = [k for k, e in before.enums.items() if e.name == wanted_name
                   and k not in new.enums]
        if len(sources) == 1:
            old = before.enums[sources[0]]
            ops.append(o.RenameEnum(key, copy.deepcopy(old), enum))
            rename_enum_in(before, sources[0], enum)
    for key, enum in new.enums.items():
        current = before.enums.get(key)
        if current is None:
            ops.append(o.CreateEnum(key, enum))
            continue
        for new_value, old_value in renames.enum_values.get(key, {}).items():
            if old_value in current.values and new_value not in current.values \
                    and new_value in enum.values:
                ops.append(o.RenameEnumValue(key, enum, old_value, new_value))
                current.values = [new_value if v == old_value else v for v in current.values]
        if current.values == enum.values:
            continue
        kept_old = [v for v in current.values if v in enum.values]
        kept_new = [v for v in enum.values if v in current.values]
        if kept_old != kept_new or len(kept_old) != len(current.values):
            columns = tuple((t.name, c.name) for t in new.tables.values()
                            if t.name in before.tables for c in t.columns.values()
                            if uses_enum(c, enum) and c.name in before.tables[t.name].columns
                            and uses_enum(before.tables[t.name].columns[c.name], enum))
            ops.append(o.RebuildEnum(key, copy.deepcopy(current), enum, columns))
        else:
            for value, following in merged_values(current.values, enum.values):
                ops.append(o.AddEnumValue(key, enum, value, following))
        current.values = list(enum.values)
    return [o.DropEnum(key, enum) for key, enum in before.enums.items() if key not in new.enums]


def _renames_apply(old: Snapshot, new: Snapshot, renames: Renames) -> bool:
    """Would `_rename_tables` or `_rename_columns` change anything? (same tests, read-only)"""
    for new_name, old_name in renames.tables.items():
        if new_name in new.tables and new_name not in old.tables and old_name in old.tables:
            return True
    for (table_name, new_col), old_col in renames.columns.items():
        table, target = old.tables.get(table_name), new.tables.get(table_name)
        if table is not None and target is not None and new_col in target.columns \
                and new_col not in table.columns and old_col in table.columns:
            return True
    return False


def _rename_tables(before: Snapshot, new: Snapshot, renames: Renames, ops: list) -> dict:
    done = {}
    for new_name, old_name in renames.tables.items():
        if new_name in new.tables and new_name not in before.tables and old_name in before.tables:
            table = before.tables.pop(old_name)
            table.name = new_name
            before.tables[new_name] = table
            for other in before.tables.values():
                for fk in other.foreign_keys.values():
                    if fk.table_to == old_name:
                        fk.table_to = new_name
                    if fk.table_from == old_name:
                        fk.table_from = new_name
            for column in table.columns.values():
                _follow_identity_name(column, old_name, column.name, new_name, column.name)
            ops.append(o.RenameTable(new_name, old_name))
            done[old_name] = new_name
    return done


def _rename_columns(before: Snapshot, new: Snapshot, renames: Renames, ops: list) -> dict:
    done = {}
    for (table_name, new_col), old_col in renames.columns.items():
        table = before.tables.get(table_name)
        target = new.tables.get(table_name)
        if table is None or target is None or new_col not in target.columns:
            continue
        if new_col in table.columns or old_col not in table.columns:
            continue
        _rename_column_in(before, table, old_col, new_col)
        ops.append(o.RenameColumn(table_name, old_col, new_col))
        done[(table_name, old_col)] = new_col
    return done


def _rename_column_in(snapshot: Snapshot, table: Table, old: str, new: str) -> None:
    """What the database itself does on RENAME COLUMN: keys, indexes and FKs follow."""
    table.columns = {(new if k == old else k): v for k, v in table.columns.items()}
    table.columns[new].name = new
    _follow_identity_name(table.columns[new], table.name, old, table.name, new)
    swap = lambda names: [new if n == old else n for n in names]  # noqa: E731
    for ix in table.indexes.values():
        for part in ix.columns:
            if not part.is_expression and part.expression == old:
                part.expression = new
    for pk in table.primary_keys.values():
        pk.columns = swap(pk.columns)
    for u in table.uniques.values():
        u.columns = swap(u.columns)
    for fk in table.foreign_keys.values():
        fk.columns_from = swap(fk.columns_from)
    for other in snapshot.tables.values():
        for fk in other.foreign_keys.values():
            if fk.table_to == table.name:
                fk.columns_to = swap(fk.columns_to)


def _follow_identity_name(column, old_table: str, old_column: str, new_table: str,
                          new_column: str) -> None:
    """An identity sequence named by convention (<table>_<column>_seq) is renamed with its
    table or column (the dialect renders that), so it is not seen as a new identity."""
    identity = column.identity
    if identity and identity.get("name") == f"{old_table}_{old_column}_seq":
        column.identity = {**identity, "name": f"{new_table}_{new_column}_seq"}


def _diff_table(old: Table, new: Table, renames: Renames) -> list[o.Op]:
    name = new.name
    result: list[o.Op] = []
    for column_name, column in new.columns.items():
        previous = old.columns.get(column_name)
        if previous is None:
            result.append(o.AddColumn(name, column))
        elif previous != column:
            result.append(o.AlterColumn(name, previous, column))
    for column_name, column in old.columns.items():
        if column_name not in new.columns:
            result.append(o.DropColumn(name, column))
    result.extend(_diff_indexes(old, new, renames))
    result.extend(_diff_named(name, old.foreign_keys, new.foreign_keys,
                              o.AddForeignKey, o.DropForeignKey))
    result.extend(_diff_named(name, old.uniques, new.uniques, o.AddUnique, o.DropUnique))
    result.extend(_diff_named(name, old.checks, new.checks, o.AddCheck, o.DropCheck))
    result.extend(_diff_named(name, old.primary_keys, new.primary_keys,
                              o.AddPrimaryKey, o.DropPrimaryKey))
    result.extend(_recoded_values(old, new, renames))
    return result


def _recoded_values(old: Table, new: Table, renames: Renames) -> list[o.Op]:
    """Enum value renames a text-stored enum column must apply to its rows: seen where its
    values CHECK (`<table>_<column>_enum`) goes from listing the old value to the new one."""
    result: list[o.Op] = []
    for (table, column), values in renames.column_values.items():
        if table != new.name or column not in new.columns or column not in old.columns:
            continue
        before = old.checks.get(f"{table}_{column}_enum")
        after = new.checks.get(f"{table}_{column}_enum")
        if before is None or after is None:
            continue
        pairs = tuple((old_value, new_value) for new_value, old_value in values.items()
                      if _quoted(old_value) in before.value and _quoted(new_value) not in
                      before.value and _quoted(new_value) in after.value
                      and _quoted(old_value) not in after.value)
        if pairs:
            result.append(o.RecodeValues(table, column, pairs))
    return result


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _diff_indexes(old: Table, new: Table, renames: Renames) -> list[o.Op]:
    result: list[o.Op] = []
    consumed: set[str] = set()
    for index_name, index in new.indexes.items():
        if index_name in old.indexes:
            continue
        source = renames.indexes.get(index_name)
        if source and source in old.indexes and source not in new.indexes:
            previous = copy.copy(old.indexes[source])
            previous.name = index_name
            if previous == index:
                result.append(o.RenameIndex(new.name, source, index_name))
                consumed.add(source)
    renamed_to = {op.new for op in result if isinstance(op, o.RenameIndex)}
    for index_name, index in old.indexes.items():
        if index_name in consumed:
            continue
        if index_name not in new.indexes or new.indexes[index_name] != index:
            result.append(o.DropIndex(new.name, index))
    for index_name, index in new.indexes.items():
        if index_name in renamed_to:
            continue
        if index_name not in old.indexes or old.indexes[index_name] != index:
            result.append(o.CreateIndex(new.name, index))
    return result


def _diff_named(table: str, old: dict, new: dict, add, drop) -> list[o.Op]:
    """Constraints are matched by name; a changed one is dropped and added again."""
    result = [drop(table, item) for key, item in old.items() if new.get(key) != item]
    result += [add(table, item) for key, item in new.items() if old.get(key) != item]
    return result
