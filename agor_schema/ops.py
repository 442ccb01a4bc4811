"""Typed schema-change operations: what the differ produces and the dialects render.

One operation means the same logical change in every dialect; how it becomes SQL (an ALTER,
a SQLite table rebuild, a PostgreSQL identity change) is the dialect's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from agor_schema.snapshot import Check, Column, Enum, ForeignKey, Index, PrimaryKey, Table, Unique


@dataclass(frozen=True)
class Op:
    """Base of every operation: the (new) name of the table it touches."""

    table: str

    @property
    def kind(self) -> str:
        """snake_case operation name, e.g. 'add_column' (used in JSON output and slugs)."""
        name = type(self).__name__
        return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


@dataclass(frozen=True)
class CreateTable(Op):
    definition: Table


@dataclass(frozen=True)
class DropTable(Op):
    definition: Table


@dataclass(frozen=True)
class RenameTable(Op):
    old: str


@dataclass(frozen=True)
class AddColumn(Op):
    column: Column


@dataclass(frozen=True)
class DropColumn(Op):
    column: Column


@dataclass(frozen=True)
class RenameColumn(Op):
    old: str
    new: str


@dataclass(frozen=True)
class AlterColumn(Op):
    """Type, nullability, default, key or identity of a column changed."""

    old: Column
    new: Column

    def changed(self) -> list[str]:
        """Which properties differ: type, not_null, default, primary_key, autoincrement, ..."""
        fields = ("type", "not_null", "default", "primary_key", "autoincrement", "identity",
                  "generated")
        return [f for f in fields if getattr(self.old, f) != getattr(self.new, f)]


@dataclass(frozen=True)
class CreateIndex(Op):
    index: Index


@dataclass(frozen=True)
class DropIndex(Op):
    index: Index


@dataclass(frozen=True)
class RenameIndex(Op):
    old: str
    new: str


@dataclass(frozen=True)
class AddForeignKey(Op):
    fk: ForeignKey


@dataclass(frozen=True)
class DropForeignKey(Op):
    fk: ForeignKey


@dataclass(frozen=True)
class AddUnique(Op):
    unique: Unique


@dataclass(frozen=True)
class DropUnique(Op):
    unique: Unique


@dataclass(frozen=True)
class AddCheck(Op):
    check: Check


@dataclass(frozen=True)
class DropCheck(Op):
    check: Check


@dataclass(frozen=True)
class AddPrimaryKey(Op):
    pk: PrimaryKey


@dataclass(frozen=True)
class DropPrimaryKey(Op):
    pk: PrimaryKey


@dataclass(frozen=True)
class RecodeValues(Op):
    """Rows of a text-stored enum column get the renamed values: ((old, new), ...)."""

    column: str
    values: tuple[tuple[str, str], ...]


# ---------------------------------------------------------------- enum types (PostgreSQL)
# `table` holds the enum's key ("<schema>.<name>"): enum operations touch no table.


@dataclass(frozen=True)
class CreateEnum(Op):
    enum: Enum


@dataclass(frozen=True)
class DropEnum(Op):
    enum: Enum


@dataclass(frozen=True)
class RenameEnum(Op):
    """ALTER TYPE ... RENAME TO (same schema) or SET SCHEMA (schema changed)."""

    old: Enum
    new: Enum


@dataclass(frozen=True)
class AddEnumValue(Op):
    enum: Enum
    value: str
    before: str | None = None  # the existing value it goes before; None = at the end


@dataclass(frozen=True)
class RenameEnumValue(Op):
    enum: Enum
    old: str
    new: str


@dataclass(frozen=True)
class RebuildEnum(Op):
    """Values removed or reordered: a new type, every column converted, the old type dropped.
    `columns` are the (table, column) pairs that use the type before and after."""

    old: Enum
    new: Enum
    columns: tuple[tuple[str, str], ...] = ()

    @property
    def removed(self) -> list[str]:
        return [v for v in self.old.values if v not in self.new.values]
