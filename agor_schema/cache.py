"""A persistent, deterministic cache of pure computations, in `<project>/.agorschema-cache/`.

`compile` caches what only depends on its inputs and on the code that computes it: the
data of each schema file (keyed by its bytes and display name; not the marks that locate
errors, which the loader rebuilds from the file's text only when one is reported: unpickling
them cost more than parsing the data), what sqlglot says about
each SQL expression (referenced columns, per-dialect rendering keyed by the types of the
columns it reads) and each table's TypeScript declaration. A warm compile therefore never
imports sqlglot nor re-parses an unchanged file, and its output is byte-identical to a cold one.

Every cache file is named after a fingerprint of the code: agorschema's version and the
size/mtime of its source files, and the installed sqlglot, PyYAML and Python versions. A
missing, unreadable or corrupt file is simply recomputed. Every file is sealed with the
user's key (agor_schema.sealed) and unpickled only after its seal verifies: a pickle runs
code, and a cloned repository can commit files into this folder. Without a key there is no
cache. Entries not used by a run are
dropped when the file is rewritten, so the cache does not grow with history.
`AGORSCHEMA_CACHE=0` turns it off; `AGORSCHEMA_CACHE_DIR` moves it.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any

CACHE_DIRNAME = ".agorschema-cache"
_FORMAT = 2  # 2: the yaml kind holds data only, no marks


def cache_dir(root: Path) -> Path | None:
    """Where a project's cache lives, or None when caching is switched off."""
    if os.environ.get("AGORSCHEMA_CACHE", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    from agor_schema import sealed

    if not sealed.available():  # nothing could be verified: run without cache
        return None
    override = os.environ.get("AGORSCHEMA_CACHE_DIR")
    if override:
        return Path(override)
    folder = Path(root) / CACHE_DIRNAME
    return folder if sealed.no_symlink_below(Path(root), folder) else None


def _package_stamp(module: str) -> str:
    """The installed version of a top-level package, without importing it."""
    from importlib.util import find_spec

    try:
        spec = find_spec(module)
    except (ImportError, ValueError):
        return f"{module}:absent"
    if spec is None or not spec.origin:
        return f"{module}:absent"
    folder = Path(spec.origin).parent
    parts = [module]
    for name in ("_version.py", "__init__.py"):
        try:  # the text, not size/mtime: stores such as Nix give every file the same mtime
            text = (folder / name).read_bytes()
        except OSError:
            continue
        parts.append(f"{name}:{hashlib.sha256(text).hexdigest()}")
    return "|".join(parts)


def _file_stamps(folder: str, prefix: str) -> list[str]:
    """`path:size:mtime` of every file below `folder` except bytecode (os.scandir: its
    entries carry what pathlib would stat again)."""
    stamps = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return stamps
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    stamps += _file_stamps(entry.path, f"{prefix}{entry.name}/")
            elif entry.is_file():
                st = entry.stat()
                stamps.append(f"{prefix}{entry.name}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            continue
    return stamps


def code_fingerprint() -> str:
    """Changes whenever agorschema's code or a library that shapes cached values changes."""
    from agor_schema import version

    parts = [f"agorschema {version.__version__}", f"format {_FORMAT}", sys.version]
    parts += sorted(_file_stamps(os.path.dirname(__file__), ""))  # code, templates, data
    parts += [_package_stamp("sqlglot"), _package_stamp("yaml")]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


class Store:
    """One pickled dict per `kind`, loaded lazily and rewritten with the entries used."""

    def __init__(self, folder: Path | None, fingerprint: str | None = None) -> None:
        self.folder = folder
        self._fingerprint = fingerprint
        self._old: dict[str, dict] = {}
        self._used: dict[str, dict] = {}
        self._dirty: set[str] = set()

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = code_fingerprint()
        return self._fingerprint

    def _path(self, kind: str) -> Path:
        assert self.folder is not None
        return self.folder / f"{kind}-{self.fingerprint}.pickle"

    def _purpose(self, kind: str) -> str:
        return f"cache {kind} {self.fingerprint}"

    def _table(self, kind: str) -> dict:
        if kind not in self._old:
            self._old[kind] = self._read(kind)
            self._used[kind] = {}
        return self._old[kind]

    def _read(self, kind: str) -> dict:
        from agor_schema import sealed

        if self.folder is None:
            return {}
        data = sealed.read(self._purpose(kind), self._path(kind))
        if data is None:  # missing, unreadable, or not written by this user: never unpickled
            return {}
        try:
            value = pickle.loads(data)
        except Exception:  # our own file, but from another Python: recompute
            return {}
        if not isinstance(value, dict) or value.get("__fingerprint__") != self.fingerprint:
            return {}
        return value

    def get(self, kind: str, key: Any) -> Any:
        """The cached value, or None (values are never None)."""
        table = self._table(kind)
        used = self._used[kind]
        try:
            value = used.get(key)
            if value is None:
                value = table.get(key)
                if value is not None:
                    used[key] = value
        except TypeError:  # an unhashable key: not cacheable
            return None
        return value

    def put(self, kind: str, key: Any, value: Any) -> None:
        self._table(kind)
        self._used[kind][key] = value
        self._dirty.add(kind)

    def memo(self, kind: str, key: Any, compute: Any) -> Any:
        """`compute()` once per key (results must be deterministic and not None)."""
        value = self.get(kind, key)
        if value is None:
            value = compute()
            self.put(kind, key, value)
        return value

    def mark(self) -> dict[str, set]:
        """The keys used so far, per kind: what a forked child need not send back."""
        return {kind: set(used) for kind, used in self._used.items()}

    def used_since(self, mark: dict[str, set]) -> dict[str, tuple[dict, list, bool]]:
        """What a forked child used since `mark`, for the parent to `merge` and save as one
        cache: per kind, the entries it computed, the keys of those it read from the file
        (the parent reads the same file: no need to send their values back) and whether
        the kind gained entries."""
        shares = {}
        for kind, used in self._used.items():
            old, seen = self._old.get(kind, {}), mark.get(kind, ())
            computed, read = {}, []
            for key, value in used.items():
                if key not in seen:
                    if old.get(key) is value:
                        read.append(key)
                    else:
                        computed[key] = value
            shares[kind] = (computed, read, kind in self._dirty)
        return shares

    def merge(self, shares: dict[str, tuple[dict, list, bool]]) -> None:
        """Take a forked child's `used_since` as if this process had used those entries."""
        for kind, (computed, read, dirty) in shares.items():
            old = self._table(kind)
            used = self._used[kind]
            for key in read:
                value = old.get(key)
                if value is not None:  # (gone from the file since: just not kept)
                    used.setdefault(key, value)
            for key, value in computed.items():
                used.setdefault(key, value)
            if dirty:
                self._dirty.add(kind)

    def save(self) -> None:
        """Write every kind that gained or lost entries; errors are ignored (it is a cache)."""
        from agor_schema import sealed

        if self.folder is None:
            return
        for kind, used in self._used.items():
            old = self._old.get(kind, {})
            if kind not in self._dirty and len(used) == len(old) - ("__fingerprint__" in old):
                continue
            data = dict(used)
            data["__fingerprint__"] = self.fingerprint
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                sealed.ignore_folder(self.folder)
                target = self._path(kind)
                blob = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
                if not sealed.write(self._purpose(kind), target, blob):
                    continue
                for stale in self.folder.glob(f"{kind}-*.pickle"):
                    if stale != target:
                        stale.unlink(missing_ok=True)
            except OSError:
                continue
        self._dirty.clear()


_NULL = Store(None, "none")
_active: Store = _NULL


def active() -> Store:
    """The store of the running compile (an in-memory one outside compile)."""
    return _active


def activate(store: Store | None) -> Store:
    """Make `store` the active one; returns the previous store (to restore it)."""
    global _active
    previous = _active
    _active = store if store is not None else _NULL
    return previous


def for_project(root: Path) -> Store:
    return Store(cache_dir(root))
