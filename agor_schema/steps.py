"""One schema change → one or more migration files: operations that cannot run inside a
transaction (PostgreSQL `CREATE/DROP INDEX CONCURRENTLY`) each get a file of their own.

The runner applies every other file in one transaction with its bookkeeping row; a file
whose first line is `-- agorschema:no-transaction` runs as written (DESIGN.md §11). So the
transactional part of the change comes first, then one file per concurrent drop, then one
per concurrent build, each with the snapshot of the state it reaches, so the drizzle-kit
snapshot chain stays exact.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from agor_schema import ops as o
from agor_schema.diff import Plan
from agor_schema.snapshot import Snapshot


@dataclass
class Step:
    """The operations of one migration file and the schema state after it."""

    operations: list[o.Op]
    snapshot: Snapshot
    statements: list[str]
    no_transaction: bool = False


def plan_steps(plan: Plan, snapshot: Snapshot, dialect) -> list[Step]:
    """The files `plan` (previous → `snapshot`) needs, in apply order."""
    outside = [op for op in plan.operations
               if dialect.outside_transaction(op, plan.before, plan.after)]
    if not outside:
        return [Step(plan.operations, snapshot,
                     dialect.render(plan.operations, plan.before, plan.after))]
    moved = {id(op) for op in outside}
    inside = [op for op in plan.operations if id(op) not in moved]
    state = copy.deepcopy(snapshot)
    for op in outside:  # the state once only the transactional part ran
        if isinstance(op, o.CreateIndex):
            state.tables[op.table].indexes.pop(op.index.name, None)
    for op in outside:
        if isinstance(op, o.DropIndex):
            state.tables[op.table].indexes[op.index.name] = copy.deepcopy(op.index)
    steps: list[Step] = []
    if inside:
        steps.append(Step(inside, copy.deepcopy(state),
                          dialect.render(inside, plan.before, state)))
    ordered = [op for op in outside if isinstance(op, o.DropIndex)] + \
        [op for op in outside if isinstance(op, o.CreateIndex)]
    for n, op in enumerate(ordered):
        if isinstance(op, o.DropIndex):
            state.tables[op.table].indexes.pop(op.index.name, None)
        else:
            state.tables[op.table].indexes[op.index.name] = copy.deepcopy(op.index)
        after = snapshot if n == len(ordered) - 1 else copy.deepcopy(state)
        steps.append(Step([op], after, dialect.outside_transaction_sql(op), True))
    return steps


def drizzle_orm_warning(tag: str, op: o.Op) -> str:
    """What compile says about a file drizzle-orm's migrator cannot apply."""
    verb = "builds" if isinstance(op, o.CreateIndex) else "drops"
    name = op.index.name if isinstance(op, (o.CreateIndex, o.DropIndex)) else op.table
    return (f"{tag}.sql {verb} index '{name}' CONCURRENTLY outside a transaction "
            "(-- agorschema:no-transaction): agorschema's runner applies it, drizzle-orm's "
            "migrator cannot (it runs every file inside a transaction, drizzle-orm #860). No "
            "lock_timeout must reach it: a timed-out wait cancels the build and leaves an "
            "INVALID index (the runner sets none there and warns about a role's default)")
