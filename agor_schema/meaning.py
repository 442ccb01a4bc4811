"""Did an edit change what the schema *says*, or only how its files are written?

`check` skips recompiling when the schema files are byte-identical to the last compile's
(the source hash in `agorschema.sum`). An edit to a comment, quoting or layout changes the
bytes but not the data YAML reads, so the compile output cannot change either. To tell
such edits apart without compiling, compile records in the project cache the *meaning*
of the sources it compiled: a hash of each file's name and parsed data (the same pickled
data the YAML cache holds) plus the settings, keyed by the source hash it wrote. `check`
recomputes it (parsing only the edited files, with libyaml; no pydantic, no sqlglot) and
compares. Anything unknown (a fresh clone, another agorschema version: the cache is keyed
by the code) falls back to recompiling, so the answer never depends on the cache.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from agor_schema.config import Config
from agor_schema.version import __version__

DATA_KIND = "datahash"  # (display name, sha256 of the bytes) -> sha256 of the pickled data
MEANING_KIND = "meaning"  # source hash -> meaning hash


def data_digest(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def meaning_of(cfg: Config, store: Any, *, parse: bool) -> str | None:
    """The meaning hash of the schema as it is now; None when a file's data is unknown and
    `parse` is False, or a file cannot be read or parsed cleanly."""
    from agor_schema.spec import schema_files
    from agor_schema.spec.loader import _display

    h = hashlib.sha256(f"agorschema {__version__}\n".encode())
    h.update(repr((cfg.dialects, _rel(cfg, cfg.generated), _rel(cfg, cfg.migrations))).encode())
    for path in schema_files(cfg.schema):
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        display = _display(path, cfg.root)
        key = (display, hashlib.sha256(raw).hexdigest())
        digest = store.get(DATA_KIND, key)
        if digest is None:
            if not parse:
                return None
            digest = _parse_digest(raw, display)
            if digest is None:
                return None
            store.put(DATA_KIND, key, digest)
        h.update(f"\n{display}\n{digest}".encode())
    return h.hexdigest()


def _parse_digest(raw: bytes, display: str) -> str | None:
    """The data digest of one file as compile would compute it; None on any problem (the
    recompile that follows reports it)."""
    import pickle

    from agor_schema.spec.loader import _load_data

    try:
        doc = _load_data(raw, display)
    except Exception:  # noqa: BLE001 - any input problem: let the full compile judge it
        return None
    return data_digest(pickle.dumps(doc.data, protocol=pickle.HIGHEST_PROTOCOL))


def record(cfg: Config, store: Any) -> None:
    """After a compile: remember the meaning of the sources under the source hash written."""
    from agor_schema.manifest import read_manifest

    manifest = read_manifest(cfg)
    meaning = meaning_of(cfg, store, parse=False)
    if manifest is not None and manifest.source and meaning is not None:
        store.put(MEANING_KIND, manifest.source, meaning)


def unchanged_since(cfg: Config, recorded_source: str) -> bool:
    """Whether the sources mean what they meant when compile wrote `recorded_source`."""
    from agor_schema import cache

    store = cache.for_project(cfg.root)
    recorded = store.get(MEANING_KIND, recorded_source)
    if recorded is None:
        return False
    same = meaning_of(cfg, store, parse=True) == recorded
    if same:
        store.save()  # keep the edited files' digests for the next check
    return same


def _rel(cfg: Config, path: Path) -> str:
    try:
        return path.resolve().relative_to(cfg.root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
