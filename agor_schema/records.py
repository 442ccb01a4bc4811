"""`@record`: `typing.NamedTuple`'s class syntax without importing `typing`.

An app that calls `agor_schema.migrate()` at start-up pays for every module the runner
imports; `typing` alone is about 16 M instructions (~4 ms) of a fresh process, and the
runner's records were its only run-time use. `@record` turns

    @record
    class Entry:
        \"\"\"Docs.\"\"\"
        idx: int
        tag: str = ""

        def label(self) -> str: ...

into a `collections.namedtuple` subclass with the same fields, defaults, methods and
docstring: a tuple with `_fields`, `_replace`, `_asdict`, equality and pickling by value,
exactly what `typing.NamedTuple` builds. Annotations stay as written (strings, under
`from __future__ import annotations`) and are never evaluated.
"""

from __future__ import annotations

from collections import namedtuple

_CLASS_ONLY = frozenset({"__dict__", "__weakref__", "__annotations__"})


def record(cls: type) -> type:
    """The NamedTuple of `cls`'s annotated fields, keeping its methods and docstring."""
    own = cls.__dict__
    fields = tuple(own.get("__annotations__", {}))
    defaults = [own[name] for name in fields if name in own]
    if defaults and any(name not in own for name in fields[len(fields) - len(defaults):]):
        raise TypeError(f"{cls.__name__}: a field without a default follows one with a default")
    base = namedtuple(cls.__name__, fields, defaults=defaults or None, module=cls.__module__)
    namespace = {key: value for key, value in own.items()
                 if key not in fields and key not in _CLASS_ONLY}
    namespace["__slots__"] = ()
    namespace["__annotations__"] = dict(own.get("__annotations__", {}))
    made = type(cls.__name__, (base,), namespace)
    made.__qualname__ = cls.__qualname__
    return made
