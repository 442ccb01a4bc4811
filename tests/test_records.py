"""`@record` builds what `typing.NamedTuple` builds (the runner's records use it so that an
app's start-up does not import `typing`): compared here field by field with the real thing."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from agor_schema.records import record


@record
class Entry:
    """An entry."""

    idx: int
    tag: str
    breakpoints: bool = True
    notes: tuple[str, ...] = ()

    def label(self) -> str:
        return f"{self.idx}:{self.tag}"

    @property
    def loud(self) -> str:
        return self.tag.upper()


class TypedEntry(NamedTuple):
    """An entry."""

    idx: int
    tag: str
    breakpoints: bool = True
    notes: tuple[str, ...] = ()


def test_a_record_behaves_as_the_namedtuple_it_replaces() -> None:
    ours, theirs = Entry(1, "a"), TypedEntry(1, "a")
    assert ours == theirs == (1, "a", True, ())
    assert Entry._fields == TypedEntry._fields
    assert Entry._field_defaults == TypedEntry._field_defaults
    assert ours._asdict() == theirs._asdict()
    assert repr(ours) == repr(theirs).replace("TypedEntry", "Entry")
    assert ours._replace(tag="b") == Entry(1, "b") and type(ours._replace(tag="b")) is Entry
    assert Entry._make([2, "c", False, ("x",)]).label() == "2:c"
    assert ours.loud == "A" and Entry.__doc__ == "An entry." and Entry.__name__ == "Entry"
    assert Entry(idx=3, tag="t", notes=("n",)).notes == ("n",)
    assert hash(ours) == hash(theirs) and isinstance(ours, tuple)
    with pytest.raises(AttributeError):
        ours.extra = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        Entry(1)  # type: ignore[call-arg]
    copy = pickle.loads(pickle.dumps(ours))
    assert copy == ours and type(copy) is Entry


def test_a_field_without_default_after_one_with_default_is_refused() -> None:
    with pytest.raises(TypeError, match="without a default follows"):
        @record
        class Bad:
            a: int = 0
            b: int


def test_the_app_start_up_path_does_not_import_typing() -> None:
    probe = ("import sys, agor_schema.runner, agor_schema.dialects.sqlite_runtime, "
             "agor_schema.config, agor_schema.redact\n"
             "print('typing' in sys.modules)")
    # -S: no site hooks (an editable install's finder imports typing itself)
    out = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"
