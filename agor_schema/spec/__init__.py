"""The schema DSL: loading, resolving per dialect, validating.

`schema_files` and `display_name` live here, free of PyYAML, so `agorschema check` can hash
the sources without importing the YAML stack.
"""

from __future__ import annotations

from pathlib import Path

SCHEMA_SUFFIXES = (".yaml", ".yml")
MAX_FILE_BYTES = 8 * 1024 * 1024  # a schema file is text a person writes


def schema_files(source: Path) -> list[Path]:
    """The YAML files of a schema: the file itself, or every *.yaml/*.yml in the folder, sorted."""
    if source.is_dir():
        return sorted(p for p in source.iterdir() if p.suffix in SCHEMA_SUFFIXES and p.is_file())
    return [source]


def display_name(path: Path, root: Path | None) -> str:
    """How errors and the cache name a schema file: relative to the project root if inside."""
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


class TableKeys:
    """Cache keys for per-table results (TypeScript declarations), built
    from the schema's data as read from the YAML files: the dialect, every top-level
    setting, the table's own data and that of the tables it names (pickled, so types and
    order count). Equal keys mean equal validated inputs, so a memoized result can be reused.
    """

    def __init__(self, raw: dict, dialect: str) -> None:
        import pickle

        self._tables = raw.get("tables") if isinstance(raw.get("tables"), dict) else {}
        self._prefix = (dialect, pickle.dumps([(k, v) for k, v in raw.items() if k != "tables"],
                                              protocol=5))

    def key(self, table: str, related: set[str], *extra: object) -> bytes:
        """The key of `table`'s result when it also reads the tables in `related`."""
        import hashlib
        import pickle

        names = sorted({table, *related})
        return hashlib.sha1(pickle.dumps(
            (*self._prefix, [(n, self._tables.get(n)) for n in names], extra),
            protocol=5)).digest()

    @staticmethod
    def usable(raw: object) -> bool:
        return isinstance(raw, dict) and isinstance(raw.get("tables"), dict)
