"""Typed schema-change operations: what the differ produces and the dialects render.

One operation means the same logical change in every dialect; how it becomes SQL (an ALTER,
a SQLite table rebuild, a PostgreSQL identity change) is the dialect's business.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import Any, ClassVar

from agor_schema.snapshot import Check, Column, Enum, ForeignKey, Index, PrimaryKey, Table, Unique


class Op:
    """Base of every operation: the (new) name of the table it touches.

    Operations are immutable records, as frozen dataclasses would be: built from their fields
    by position or name (a subclass lists its own after its base's; `= value` gives a
    default), equal when of the same class with equal fields, hashed and shown by their
    fields. The methods are shared here instead of generated per class: @dataclass compiles
    six methods for each of the classes below, about 5% of every `compile`'s instructions."""

    table: str
    _fields: ClassVar[tuple[str, ...]] = ("table",)
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = tuple(cls.__dict__.get("__annotations__", ()))
        cls._fields = (*cls._fields, *own)
        cls._defaults = {**cls._defaults,
                         **{name: cls.__dict__[name] for name in own if name in cls.__dict__}}
        cls.__match_args__ = cls._fields

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields, name = self._fields, type(self).__name__
        if len(args) > len(fields):
            raise TypeError(f"{name}() takes {len(fields)} arguments, got {len(args)}")
        given = dict(zip(fields, args))
        for key, value in kwargs.items():
            if key not in fields or key in given:
                raise TypeError(f"{name}() got an unexpected or repeated argument {key!r}")
            given[key] = value
        state = self.__dict__
        for field in fields:
            if field in given:
                state[field] = given[field]
            elif field in self._defaults:
                state[field] = self._defaults[field]
            else:
                raise TypeError(f"{name}() missing required argument: {field!r}")

    def _values(self) -> tuple:
        return tuple(self.__dict__[field] for field in self._fields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values() == other._values()  # type: ignore[attr-defined]
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{field}={self.__dict__[field]!r}" for field in self._fields)
        return f"{type(self).__qualname__}({shown})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    @property
    def kind(self) -> str:
        """snake_case operation name, e.g. 'add_column' (used in JSON output and slugs)."""
        name = type(self).__name__
        return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


class CreateTable(Op):
    definition: Table


class DropTable(Op):
    definition: Table


class RenameTable(Op):
    old: str


class AddColumn(Op):
    column: Column


class DropColumn(Op):
    column: Column


class RenameColumn(Op):
    old: str
    new: str


class AlterColumn(Op):
    """Type, nullability, default, key or identity of a column changed."""

    old: Column
    new: Column

    def changed(self) -> list[str]:
        """Which properties differ: type, not_null, default, primary_key, autoincrement, ..."""
        fields = ("type", "not_null", "default", "primary_key", "autoincrement", "identity",
                  "generated")
        return [f for f in fields if getattr(self.old, f) != getattr(self.new, f)]


class CreateIndex(Op):
    index: Index


class DropIndex(Op):
    index: Index


class RenameIndex(Op):
    old: str
    new: str


class AddForeignKey(Op):
    fk: ForeignKey


class DropForeignKey(Op):
    fk: ForeignKey


class AddUnique(Op):
    unique: Unique


class DropUnique(Op):
    unique: Unique


class AddCheck(Op):
    check: Check


class DropCheck(Op):
    check: Check


class AddPrimaryKey(Op):
    pk: PrimaryKey


class DropPrimaryKey(Op):
    pk: PrimaryKey


class RecodeValues(Op):
    """Rows of a text-stored enum column get the renamed values: ((old, new), ...)."""

    column: str
    values: tuple[tuple[str, str], ...]


# ---------------------------------------------------------------- enum types (PostgreSQL)
# `table` holds the enum's key ("<schema>.<name>"): enum operations touch no table.


class CreateEnum(Op):
    enum: Enum


class DropEnum(Op):
    enum: Enum


class RenameEnum(Op):
    """ALTER TYPE ... RENAME TO (same schema) or SET SCHEMA (schema changed)."""

    old: Enum
    new: Enum


class AddEnumValue(Op):
    enum: Enum
    value: str
    before: str | None = None  # the existing value it goes before; None = at the end


class RenameEnumValue(Op):
    enum: Enum
    old: str
    new: str


class RebuildEnum(Op):
    """Values removed or reordered: a new type, every column converted, the old type dropped.
    `columns` are the (table, column) pairs that use the type before and after."""

    old: Enum
    new: Enum
    columns: tuple[tuple[str, str], ...] = ()

    @property
    def removed(self) -> list[str]:
        return [v for v in self.old.values if v not in self.new.values]
