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
    """Cache keys for per-table results (checks, TypeScript declarations), built
    from the schema's data as read from the YAML files: the dialect, every top-level
    setting, the table's own data and that of the tables it names (pickled, so types and
    order count). Equal keys mean equal validated inputs, so a memoized result can be reused.

    Each table's data is pickled and hashed once per document (`_digest`), however many
    stages and dialects ask for keys: a key is then a hash of a few short digests."""

    def __init__(self, raw: dict, dialect: str) -> None:
        import hashlib
        import pickle

        self._tables = raw.get("tables") if isinstance(raw.get("tables"), dict) else {}
        self._prefix = hashlib.sha1(pickle.dumps(
            (dialect, [(k, v) for k, v in raw.items() if k != "tables"]), protocol=5)).digest()
        self._digests = _digests_of(self._tables)

    def _digest(self, table: str) -> bytes:
        digest = self._digests.get(table)
        if digest is None:
            import hashlib
            import pickle

            digest = hashlib.sha1(pickle.dumps((table, self._tables.get(table)),
                                               protocol=5)).digest()
            self._digests[table] = digest
        return digest

    def key(self, table: str, related: set[str], *extra: object) -> bytes:
        """The key of `table`'s result when it also reads the tables in `related`."""
        import hashlib
        import pickle

        names = sorted({table, *related})
        return hashlib.sha1(b"".join([self._prefix, *map(self._digest, names),
                                      pickle.dumps(extra, protocol=5)])).digest()

    @staticmethod
    def usable(raw: object) -> bool:
        return isinstance(raw, dict) and isinstance(raw.get("tables"), dict)


# (the running compile's cache store, its tables mapping, their digests): the dialects and
# stages of one compile share the digests; a new compile (a new store) starts afresh, so a
# mapping edited between two compiles in one process is hashed again
_DIGESTS: list = [None, None, {}]


def _digests_of(tables: dict) -> dict[str, bytes]:
    """The digest cache of `tables` in the running compile."""
    from agor_schema import cache

    store = cache.active()
    if _DIGESTS[0] is not store or _DIGESTS[1] is not tables:
        _DIGESTS[:] = [store, tables, {}]
    return _DIGESTS[2]
