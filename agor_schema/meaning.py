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

An edited file that is the compiled one with comment or blank lines added or removed
(agor_schema.comment_lines) is not even parsed: compile also keeps the text of each file it
compiled, and its data digest carries over. Every entry read is bound to the bytes it was
made from (a text to its sha256, which keys its digest and the lines of its multi-line
scalars), so a stale entry cannot be mistaken for the current one; like the digests, those
lines are what agorschema computed when it parsed that text (entries of the wrong shape are
ignored).
"""

from __future__ import annotations

import hashlib
from typing import Any

from agor_schema.config import Config
from agor_schema.version import __version__

DATA_KIND = "datahash"  # (display name, sha256 of the bytes) -> sha256 of the pickled data
MEANING_KIND = "meaning"  # source hash -> meaning hash
TEXT_KIND = "compiledtext"  # display name -> bytes of the file the last compile read
LINES_KIND = "scalarlines"  # (display name, sha256) -> multi-line scalars' lines (spec.loader)


def data_digest(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def meaning_of(cfg: Config, store: Any, *, parse: bool,
               sources: list[tuple[str, bytes | None]] | None = None) -> str | None:
    """The meaning hash of the schema as it is now (`sources`: `_sources(cfg)` when read
    already); None when a file's data is unknown and `parse` is False, or a file cannot be
    read or parsed cleanly."""
    from agor_schema.manifest import output_settings

    h = hashlib.sha256(f"agorschema {__version__}\n".encode())
    h.update(output_settings(cfg))
    for display, raw in _sources(cfg) if sources is None else sources:
        if raw is None:
            return None
        key = (display, hashlib.sha256(raw).hexdigest())
        compiled = _compiled(store, display, raw, key) if parse else None
        digest = store.get(DATA_KIND, key)
        if digest is None:
            if not parse:
                return None
            digest = _comment_edit_digest(compiled, raw)  # not saved: cheaper than a write
            if digest is None:
                digest = _parse_digest(raw, display)
                if digest is None:
                    return None
                store.put(DATA_KIND, key, digest)
        h.update(f"\n{display}\n{digest}".encode())
    return h.hexdigest()


def _sources(cfg: Config) -> list[tuple[str, bytes | None]]:
    """(display name, bytes or None when unreadable) of every schema file."""
    from agor_schema.spec import display_name, schema_files

    out: list[tuple[str, bytes | None]] = []
    for path in schema_files(cfg.schema):
        try:
            raw = path.read_bytes()
        except OSError:
            raw = None
        out.append((display_name(path, cfg.root), raw))
    return out


def _compiled(store: Any, display: str, raw: bytes, raw_key: tuple) -> tuple | None:
    """The text compile last read as `display`, its data digest and the lines of its
    multi-line scalars, when all are known (read here, so kept for the next check too)."""
    old = store.get(TEXT_KIND, display)
    if not isinstance(old, bytes):
        return None
    key = raw_key if old == raw else (display, hashlib.sha256(old).hexdigest())
    digest, scalar_lines = store.get(DATA_KIND, key), store.get(LINES_KIND, key)
    if not isinstance(digest, str) or not _valid_lines(scalar_lines):
        return None
    return old, digest, scalar_lines


def _comment_edit_digest(compiled: tuple[bytes, str, tuple] | None, raw: bytes) -> str | None:
    """The compiled file's data digest when `raw` is that file with only comment or blank
    lines added or removed (judged from the text, no parsing); else None."""
    from agor_schema import comment_lines
    from agor_schema.spec import MAX_FILE_BYTES

    if compiled is None or len(raw) > MAX_FILE_BYTES:
        return None
    old, digest, scalar_lines = compiled
    old_lines, new_lines = comment_lines.normalised_lines(old), comment_lines.normalised_lines(raw)
    if old_lines is None or new_lines is None:
        return None
    if not comment_lines.only_comment_lines_differ(old_lines, new_lines, scalar_lines):
        return None
    return digest


def _valid_lines(value: Any) -> bool:
    return isinstance(value, tuple) and all(
        isinstance(span, tuple) and len(span) == 2
        and all(type(n) is int and n >= 0 for n in span) for span in value)


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
    from agor_schema.manifest import read_manifest, source_hash

    manifest = read_manifest(cfg)
    sources = _sources(cfg)
    if manifest is None or manifest.source != source_hash(cfg):
        return  # a file was saved while compile ran (or since): not what was compiled
    meaning = meaning_of(cfg, store, parse=False, sources=sources)
    if manifest.source and meaning is not None:
        store.put(MEANING_KIND, manifest.source, meaning)
        for display, raw in sources:  # the texts, for `check` to compare an edited file with
            if raw is not None and store.get(TEXT_KIND, display) != raw:
                store.put(TEXT_KIND, display, raw)


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

