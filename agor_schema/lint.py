"""Findings about a migration's operations: destructive changes stop `compile`.

Generic rules (data loss) live here; what a change costs in one database (a SQLite rebuild
under cascading foreign keys, a PostgreSQL rewrite or long lock) is `Dialect.lint`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from agor_schema import ops as o
from agor_schema.diff import Plan

DESTRUCTIVE = "destructive"
WARNING = "warning"
_QUOTED = re.compile(r"'((?:[^']|'')*)'")
_TEXT_WIDTH = re.compile(r"^(?:varchar|text)\((\d+)\)$")
_NARROWER = {("bigint", "integer"), ("double precision", "real"), ("text", "varchar")}
# integer widths, serial types counted as their integer type
_INTEGER_RANK = {"smallint": 1, "smallserial": 1, "integer": 2, "serial": 2, "bigint": 3,
                 "bigserial": 3}


_CONVERTED = "existing values are converted"


@dataclass(frozen=True)
class Finding:
    severity: str  # "destructive" | "warning"
    dialect: str
    table: str
    column: str | None
    message: str

    def to_json(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        return f"[{self.dialect}] {self.severity}: {where}: {self.message}"


def lint_plan(plan: Plan, dialect) -> list[Finding]:
    """Every finding for one dialect's migration, generic rules first."""
    findings: list[Finding] = []
    for op in plan.operations:
        for severity, message, column in _generic(op, plan):
            if message.endswith(_CONVERTED) and isinstance(op, o.AlterColumn):
                message = message[: -len(_CONVERTED)] + dialect.type_change_note(op)
            findings.append(Finding(severity, dialect.name, op.table, column, message))
        for message in dialect.lint(op, plan.before, plan.after):
            finding = Finding(WARNING, dialect.name, op.table, _column_of(op), message)
            # table-level findings (a SQLite rebuild) come once per table, not once per op
            if not any(f.table == finding.table and f.message == message for f in findings):
                findings.append(finding)
    return findings


def _column_of(op: o.Op) -> str | None:
    if isinstance(op, (o.AddColumn, o.DropColumn)):
        return op.column.name
    if isinstance(op, o.AlterColumn):
        return op.new.name
    return None


def _generic(op: o.Op, plan: Plan) -> list[tuple[str, str, str | None]]:
    if isinstance(op, o.DropTable):
        return [(DESTRUCTIVE, f"drops table '{op.table}' and every row in it", None)]
    if isinstance(op, o.DropColumn):
        if op.column.generated:  # computed from other columns: no stored data is lost
            return [(WARNING, f"drops generated column '{op.column.name}' (its values are "
                     "computed, none is lost)", op.column.name)]
        return [(DESTRUCTIVE, f"drops column '{op.column.name}' and its values", op.column.name)]
    if isinstance(op, o.AlterColumn):
        return _alter_findings(op, plan)
    if isinstance(op, o.RebuildEnum):
        columns = ", ".join(f"{t}.{c}" for t, c in op.columns) or "no column"
        if op.removed:
            return [(DESTRUCTIVE, f"removes value(s) {', '.join(op.removed)} of enum "
                     f"'{op.new.name}': the type is rebuilt and {columns} converted; rows holding "
                     "a removed value make the migration fail (update them first)", None)]
        return [(WARNING, f"reorders the values of enum '{op.new.name}': the type is rebuilt and "
                 f"{columns} rewritten under an ACCESS EXCLUSIVE lock", None)]
    if isinstance(op, o.AddColumn) and op.column.not_null and op.column.default is None \
            and op.column.identity is None:
        return [(WARNING, f"adds NOT NULL column '{op.column.name}' without a default: fails "
                 "when the table has rows; give it a default", op.column.name)]
    if isinstance(op, o.AddUnique) and op.unique.nulls_not_distinct:
        return [(WARNING, f"unique '{op.unique.name}' treats NULLs as equal: fails when rows "
                 "already repeat a NULL in its columns", None)]
    if isinstance(op, o.AddCheck) and op.check.name.endswith("_enum"):
        before = plan.before.tables.get(op.table)
        old = before.checks.get(op.check.name) if before else None
        if old is not None:
            renamed = {a.replace("'", "''") for r in plan.operations  # as _QUOTED finds them
                       if isinstance(r, o.RecodeValues) and r.table == op.table
                       for a, _b in r.values}
            removed = sorted(set(_QUOTED.findall(old.value)) - set(_QUOTED.findall(op.check.value))
                             - renamed)
            if removed:
                return [(DESTRUCTIVE, f"removes enum value(s) {', '.join(removed)}: rows holding "
                         "them make the migration fail", None)]
    return []


def _alter_findings(op: o.AlterColumn, plan: Plan) -> list[tuple[str, str, str | None]]:
    out = []
    column = op.new.name
    if op.new.generated and not op.old.generated:
        out.append((DESTRUCTIVE, f"makes '{column}' a generated column: its stored values are "
                    "replaced by the computed ones", column))
    if op.old.type != op.new.type and _narrows(op.old.type, op.new.type):
        out.append((DESTRUCTIVE, f"narrows type {op.old.type} -> {op.new.type}: values that do "
                    "not fit are lost or make the migration fail", column))
    elif op.old.type != op.new.type:
        out.append((WARNING, f"changes type {op.old.type} -> {op.new.type}: existing values "
                    "are converted", column))
    if op.new.not_null and not op.old.not_null and op.new.default is None:
        out.append((WARNING, f"makes '{column}' NOT NULL without a default: fails if any row "
                    "holds NULL", column))
    return out


def _narrows(old: str, new: str) -> bool:
    old_base, new_base = old.split("(")[0], new.split("(")[0]
    if (old_base, new_base) in _NARROWER:
        return True
    if old_base in _INTEGER_RANK and new_base in _INTEGER_RANK:
        return _INTEGER_RANK[new_base] < _INTEGER_RANK[old_base]
    old_width, new_width = _TEXT_WIDTH.match(old), _TEXT_WIDTH.match(new)
    if old_width and new_width:
        return int(new_width.group(1)) < int(old_width.group(1))
    if old == "text" and new_width:
        return True
    if old_base == new_base == "numeric":
        old_p = re.findall(r"\d+", old)
        new_p = re.findall(r"\d+", new)
        return bool(new_p) and (not old_p or [int(x) for x in new_p] < [int(x) for x in old_p])
    return False


def long_name_findings(snapshot, dialect) -> list[Finding]:
    """Names the database will cut (PostgreSQL: 63 bytes). drizzle-style derived foreign key
    names in real schemas exceed it; the cut name is what the catalog holds afterwards."""
    if dialect.max_identifier_bytes is None:
        return []
    findings = []
    for table in snapshot.tables.values():
        named = [("table", table.name, None)]
        named += [("column", c.name, c.name) for c in table.columns.values()]
        named += [("index", n, None) for n in table.indexes]
        named += [("foreign key", n, None) for n in table.foreign_keys]
        named += [("unique constraint", n, None) for n in table.uniques]
        named += [("check", n, None) for n in table.checks]
        named += [("primary key", n, None) for n in table.primary_keys]
        named += [("identity sequence", c.identity["name"], c.name) for c in table.columns.values()
                  if c.identity and c.identity.get("name")]
        for kind, name, column in named:
            stored = dialect.stored_name(name)
            if stored != name:
                findings.append(Finding(
                    WARNING, dialect.name, table.name, column,
                    f"{kind} name '{name}' is {len(name.encode('utf-8'))} bytes; "
                    f"{dialect.name} keeps the first {dialect.max_identifier_bytes}: "
                    f"'{stored}' (give it a shorter name to avoid surprises)"))
    return findings
