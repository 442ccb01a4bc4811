"""PostgreSQL 15's index access methods and their storage parameters (`CREATE INDEX ... USING
method ... WITH (name = value)`), so that `compile` refuses what PostgreSQL would refuse
only when the migration runs.

The parameters, types and ranges are those of PostgreSQL 15's "Index Storage Parameters"
(checked against a live server in tests/test_index_options.py). Values are judged as
PostgreSQL parses the text agorschema writes for them: an integer parameter takes a number,
rounded half to even, within its range; a boolean one true/false, 0/1 or PostgreSQL's
spellings (on, off, yes, no and their prefixes); `buffering` auto, on or off.

Methods outside the built-in six come from extensions. Such a method is accepted when the
index says which extension provides it (`extension: bloom`), or when the schema declares a
type of an extension known to provide it (a `vector` type allows hnsw and ivfflat). The
parameters of bloom (contrib; checked against a live server too) and of pgvector's hnsw and
ivfflat (their `add_int_reloption` ranges, pgvector 0.5-0.8) are checked the same way; any
other extension method's parameters are its own business and pass unchecked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

BUILTIN_METHODS = ("btree", "hash", "gist", "gin", "spgist", "brin")
INT_MAX = 2**31 - 1


@dataclass(frozen=True)
class Parameter:
    kind: str  # "integer", "boolean" or "enum"
    low: int = 0
    high: int = 0
    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind == "integer":
            return f"an integer from {self.low} to {self.high}"
        if self.kind == "boolean":
            return "true or false"
        return " or ".join(f"'{c}'" for c in self.choices)


_FILLFACTOR = Parameter("integer", 10, 100)
PARAMETERS: dict[str, dict[str, Parameter]] = {
    "btree": {"fillfactor": _FILLFACTOR, "deduplicate_items": Parameter("boolean")},
    "hash": {"fillfactor": _FILLFACTOR},
    "gist": {"fillfactor": _FILLFACTOR, "buffering": Parameter("enum",
                                                               choices=("auto", "on", "off"))},
    "gin": {"fastupdate": Parameter("boolean"),
            "gin_pending_list_limit": Parameter("integer", 64, INT_MAX)},  # kB
    "brin": {"pages_per_range": Parameter("integer", 1, 131072),
             "autosummarize": Parameter("boolean")},
    "spgist": {"fillfactor": _FILLFACTOR},
}

_BLOOM_BITS = Parameter("integer", 1, 4095)  # bits per column, below the signature length
# (extension, method) -> the storage parameters the extension registers for it
EXTENSION_PARAMETERS: dict[tuple[str, str], dict[str, Parameter]] = {
    ("bloom", "bloom"): {"length": Parameter("integer", 1, 4096),
                         **{f"col{n}": _BLOOM_BITS for n in range(1, 33)}},
    ("vector", "hnsw"): {"m": Parameter("integer", 2, 100),
                         "ef_construction": Parameter("integer", 4, 1000)},
    ("vector", "ivfflat"): {"lists": Parameter("integer", 1, 32768)},
}

# extension -> the index methods it adds (the common ones; any other needs `extension:`)
EXTENSION_METHODS: dict[str, tuple[str, ...]] = {
    "vector": ("hnsw", "ivfflat"),
    "vectorscale": ("diskann",),
    "bloom": ("bloom",),
    "rum": ("rum",),
    "pgroonga": ("pgroonga",),
    "pg_search": ("bm25",),
    "zombodb": ("zombodb",),
}


def method_problem(method: str, extension: str | None, declared: frozenset[str]) -> str | None:
    """Why PostgreSQL would not know index method `method`, or None.

    `extension`: the index's own `extension:`; `declared`: extensions the schema's types name."""
    name = method.lower()
    if name in BUILTIN_METHODS:
        if extension is not None:
            return (f"method {method} is built into PostgreSQL: drop 'extension: {extension}' "
                    "(it names the extension that provides a method)")
        return None
    if extension is not None:
        known = EXTENSION_METHODS.get(extension.lower())
        if known is not None and name not in known:
            return (f"extension {extension} provides the index method(s) {', '.join(known)}, "
                    f"not {method}")
        return None
    providers = sorted(e for e, methods in EXTENSION_METHODS.items() if name in methods)
    if any(p in declared for p in providers):
        return None
    hint = (f"it comes from the extension {' or '.join(providers)}: write "
            f"'extension: {providers[0]}' on the index (or declare a type with "
            f"'extension: {providers[0]}')") if providers else (
        "if an extension provides it, name it on the index: 'extension: <name>'")
    return (f"unknown index method {method!r}: PostgreSQL 15 has {', '.join(BUILTIN_METHODS)}; "
            f"{hint}")


def method_extension(method: str) -> str | None:
    """The extension known to provide `method` (None: built in, or not known)."""
    if method.lower() in BUILTIN_METHODS:
        return None
    return next((e for e, methods in sorted(EXTENSION_METHODS.items())
                 if method.lower() in methods), None)


def _known_parameters(method: str, extension: str | None) -> tuple[dict, str] | None:
    """The parameters `method` takes and how messages name it; None when unknown."""
    name = method.lower()
    if name in PARAMETERS:
        return PARAMETERS[name], f"{name} indexes in PostgreSQL 15"
    provider = (extension or method_extension(name) or "").lower()
    known = EXTENSION_PARAMETERS.get((provider, name))
    return None if known is None else (known, f"{name} indexes of the extension {provider}")


def parameter_problems(method: str, params: dict[str, Any], extension: str | None = None
                       ) -> list[tuple[str, str, bool]]:
    """(parameter, why PostgreSQL would refuse it with `method`, whether the name rather than
    the value is wrong); built-in methods and the extension methods known above only."""
    found = _known_parameters(method, extension)
    if found is None:
        return []
    known, what = found
    problems: list[tuple[str, str, bool]] = []
    seen: dict[str, str] = {}
    for name, value in params.items():
        lower = name.lower()
        if lower in seen:
            problems.append((name, f"storage parameter {name} is {seen[lower]} again: "
                                   "PostgreSQL names are case-insensitive", True))
            continue
        seen[lower] = name
        spec = known.get(lower)
        if spec is None:
            names = ", ".join(known)
            problems.append((name, f"storage parameter {name!r} does not exist for "
                                   f"{what} (they take: {names})", True))
            continue
        if not _accepts(spec, value):
            hint = " (YAML reads a bare on/off as true/false: quote it, 'on')" \
                if spec.kind == "enum" and isinstance(value, bool) else ""
            problems.append((name, f"storage parameter {name} = {_shown(value)}: PostgreSQL "
                                   f"takes {spec.describe()}{hint}", False))
    if known is EXTENSION_PARAMETERS[("vector", "hnsw")]:
        problems += _hnsw_problems(known, params)
    return problems


def _hnsw_problems(known: dict, params: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """pgvector refuses to build an hnsw index whose ef_construction is below 2 * m."""
    given = {k.lower(): v for k, v in params.items()}
    m, ef = given.get("m", 16), given.get("ef_construction", 64)  # pgvector's defaults
    if all(_accepts(known[k], v) for k, v in (("m", m), ("ef_construction", ef))) \
            and round(ef) < 2 * round(m):
        return [("ef_construction", f"storage parameter ef_construction = {_shown(ef)}: "
                 f"pgvector builds hnsw only with ef_construction >= 2 * m ({2 * round(m)})",
                 False)]
    return []


def _accepts(spec: Parameter, value: Any) -> bool:
    if spec.kind == "integer":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        return spec.low <= round(value) <= spec.high  # PostgreSQL rounds half to even too
    if spec.kind == "boolean":
        if isinstance(value, bool):
            return True
        if isinstance(value, int):
            return value in (0, 1)
        return isinstance(value, str) and _pg_bool(value)
    return isinstance(value, str) and value.lower() in spec.choices


def _pg_bool(text: str) -> bool:
    """Whether PostgreSQL's parse_bool takes `text` (true/false/yes/no by any prefix, on,
    off and of, case-insensitive)."""
    t = text.lower()
    if not t:
        return False
    if any(word.startswith(t) for word in ("true", "false", "yes", "no")):
        return True
    return t == "on" or (len(t) >= 2 and "off".startswith(t))


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)
