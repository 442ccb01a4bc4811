"""Operations behave as the frozen dataclasses they replaced: each class is checked against a
frozen dataclass built from its fields (same repr, equality, hash, defaults, immutability)."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from agor_schema import ops as o

OP_CLASSES = sorted((c for c in vars(o).values()
                     if isinstance(c, type) and issubclass(c, o.Op) and c is not o.Op),
                    key=lambda c: c.__name__)


def _twin(cls: type) -> type:
    """The frozen dataclass that `cls` stands for (fields in order, the same defaults)."""
    fields = [(name, object, dataclasses.field(default=cls._defaults[name]))
              if name in cls._defaults else (name, object) for name in cls._fields]
    return dataclasses.make_dataclass(cls.__name__, fields, frozen=True)


def test_every_operation_is_checked():
    assert len(OP_CLASSES) >= 25
    assert o.AddEnumValue._fields == ("table", "enum", "value", "before")


@pytest.mark.parametrize("cls", OP_CLASSES, ids=lambda c: c.__name__)
def test_operation_matches_a_frozen_dataclass(cls):
    twin = _twin(cls)
    required = [f for f in cls._fields if f not in cls._defaults]
    values = {f: f"{f}-value" for f in cls._fields}
    ours, theirs = cls(**values), twin(**values)
    assert repr(ours) == repr(theirs)
    assert hash(ours) == hash(theirs)
    assert ours == cls(*values.values()) and not ours != cls(*values.values())
    assert ours.__match_args__ == theirs.__match_args__
    # defaults apply when only the required fields are given
    short = {f: values[f] for f in required}
    assert repr(cls(**short)) == repr(twin(**short))
    # a different value or a different class is not equal
    changed = dict(values, table="other")
    assert ours != cls(**changed)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ours.table = "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        del ours.table
    assert copy.deepcopy(ours) == ours and pickle.loads(pickle.dumps(ours)) == ours
    with pytest.raises(TypeError):
        cls(*[None] * (len(cls._fields) + 1))
    with pytest.raises(TypeError):
        cls(**values, unknown=1)
    if required:
        with pytest.raises(TypeError):
            cls()


def test_same_fields_different_class_not_equal():
    assert o.RenameColumn("t", "a", "b") != o.RenameIndex("t", "a", "b")
    assert o.RenameColumn("t", "a", "b").kind == "rename_column"
    with pytest.raises(TypeError):
        o.RenameColumn("t", "a", old="a")  # given twice
