"""`agorschema undo`: revert the last `compile` or `new` that wrote a migration.

How undo knows what that was: each such run leaves an *undo record* in
`<project>/.agorschema-cache/undo/NNNNNN.json`: the files it created (with their sha256)
and, for each file it changed (journals, generated files), the bytes from before and the
sha256 it wrote (the old bytes themselves are kept once per content in `undo/blobs/`), plus
the schema hash the checksum file held before. Each record is sealed with the user's key
(agor_schema.sealed): one committed by a repository, or edited, is refused unread, since it
would name files to delete and bytes to write. The record is local
and git-ignored on purpose: it describes what *this checkout* wrote. A committed record
would let a teammate's `undo` revert your migration after a pull, and would conflict on
every merge. Losing it (deleting the cache folder) only loses the ability to undo; the
folders stay consistent.

Undo then deletes the created files, writes the old bytes back, and edits
`drizzle/agorschema.sum` (the created files' lines go, the changed files get their old
checksums, the schema hash its old value), so a following `compile` writes the same
migration again, byte for byte. It refuses, changing nothing, when:
- a journal it would restore changed since (a later migration, a merge): restoring it would
  lose that;
- a created file was edited since (the SQL written into a `new` migration) — `--force`
  discards the edits;
- the database has applied one of the migrations (never overridden: the database would
  record a migration its folder no longer has), or cannot be reached to tell (`--force`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agor_schema import sealed
from agor_schema.config import Config
from agor_schema.writes import all_or_nothing, replace_file, write_file

RECORD_DIR = Path(".agorschema-cache") / "undo"
FORMAT = 3  # 2: previous bytes in blobs/<sha256>; 3: sealed records
SEAL = "undo record"
_BLOB_NAME = re.compile(r"[0-9a-f]{64}")
KEEP = 20  # records kept (undo can step back this many compiles)


def record_dir(cfg: Config) -> Path:
    """Where the records live: always the project's own cache folder (not
    AGORSCHEMA_CACHE_DIR, which may be shared by projects, nor off with AGORSCHEMA_CACHE=0)."""
    return cfg.root / RECORD_DIR


def not_kept_reason(cfg: Config) -> str | None:
    """Why a compile's undo record cannot be kept (said to the user), or None when it can."""
    if not sealed.available():
        where = sealed.key_path()
        return (f"no usable per-user key ({where or 'no home folder'}: it must be a regular "
                "file of this user that nobody else can read, in a folder agorschema can "
                "create it in)")
    if not sealed.no_symlink_below(cfg.root, record_dir(cfg) / "blobs"):
        return f"a symlink on the way to {RECORD_DIR.as_posix()}/"
    return None


def _usable(cfg: Config) -> bool:
    """Records can be kept: there is a key to seal them, and no folder on the way to them
    is a symlink (which would send writes and blob deletions out of the project)."""
    return sealed.available() and sealed.no_symlink_below(cfg.root, record_dir(cfg) / "blobs")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _rel(cfg: Config, path: Path) -> str:
    try:
        return path.resolve().relative_to(cfg.root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


# --- recording (compile / new) -------------------------------------------------------------


class Recorder:
    """Collects what one compile writes; `save` stores it as the newest undo record."""

    def __init__(self, cfg: Config, command: str, manifest: Any) -> None:
        """`manifest`: the checksum file as compile read it (None: there was none)."""
        self.cfg = cfg
        self.command = command
        self.failure = "it could not be written"  # why save() returned None, for the note
        self.source_before = manifest.source if manifest is not None else None
        self.sum_before = dict(manifest.files) if manifest is not None else {}
        self.before: dict[str, bytes | None] = {}  # changed files: old bytes (None: absent)
        self.created: list[str] = []
        self.migrations: dict[str, str] = {}
        self.tags: dict[str, list[str]] = {}  # every migration written, per dialect

    def changing(self, path: Path, old: bytes | None | bool = False) -> None:
        """`path` is about to be written; `old` is its current bytes if already read."""
        rel = _rel(self.cfg, path)
        if rel in self.before or rel in self.created:
            return
        if old is False:
            old = path.read_bytes() if path.is_file() else None
        self.before[rel] = old  # type: ignore[assignment]

    def creating(self, path: Path) -> None:
        """`path` is a new migration file (an existing one counts as changed)."""
        if path.exists():
            self.changing(path)
        else:
            self.created.append(_rel(self.cfg, path))

    def save(self) -> Path | None:
        """Write the record next to earlier ones; keep the newest KEEP. Errors are ignored:
        undo is a convenience, compile has already succeeded."""
        root = self.cfg.root
        record = {
            "format": FORMAT,
            "command": self.command,
            "migrations": self.migrations,
            "tags": self.tags,
            "created": {rel: _sha((root / rel).read_bytes()) for rel in self.created},
            "changed": {
                rel: {"before": None if old is None else _sha(old),
                      "after": _sha((root / rel).read_bytes())
                      if (root / rel).is_file() else None}
                for rel, old in self.before.items()
            },
            # the checksum file before: its schema hash (None: there was none) and the lines
            # of the files above
            "source_before": self.source_before,
            "sum_before": {rel: self.sum_before.get(rel) for rel in [*self.created, *self.before]},
        }
        folder = record_dir(self.cfg)
        if not _usable(self.cfg):
            return None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            sealed.ignore_folder(folder.parent)
            for old in self.before.values():
                if old is not None:
                    _write_blob(folder, old)
            existing = _records(self.cfg)
            number = int(existing[-1].stem) + 1 if existing else 1
            path = folder / f"{number:06d}.json"
            sealed.write(SEAL, path, json.dumps(record, ensure_ascii=False).encode("utf-8"))
            for old in existing[:-KEEP + 1] if len(existing) >= KEEP else []:
                old.unlink(missing_ok=True)
            _drop_unused_blobs(self.cfg)
            return path
        except OSError as exc:  # e.g. a file where the cache folder should be
            self.failure = f"cannot write {_rel(self.cfg, folder)}/: {exc.strerror or exc}"
            return None


# The bytes a compile replaced are kept once per content in undo/blobs/<sha256>: a compile
# that rewrites a large generated file after another stores that file once, not once per
# record, and a rerun of the same change stores nothing new.


def _write_blob(folder: Path, data: bytes) -> None:
    blob = folder / "blobs" / _sha(data)
    if blob.is_file():
        return
    blob.parent.mkdir(exist_ok=True)
    replace_file(blob, data)


def _read_blob(cfg: Config, digest: str) -> bytes:
    data = (record_dir(cfg) / "blobs" / digest).read_bytes()
    if _sha(data) != digest:
        raise ValueError(f"undo blob {digest[:12]} is damaged")
    return data


def _drop_unused_blobs(cfg: Config) -> None:
    """Delete blobs no kept record names (records are small: their `before` digests); only
    files named like a blob, in a blobs folder that is no planted symlink."""
    blobs = record_dir(cfg) / "blobs"
    if not blobs.is_dir() or not _usable(cfg):
        return
    used: set[str] = set()
    for path in _records(cfg):
        record = _load(path)
        if record is None:
            return  # unsure what is used: keep everything
        try:
            used.update(c.get("before") for c in record.get("changed", {}).values())
        except AttributeError:
            return
    for blob in blobs.iterdir():
        if _BLOB_NAME.fullmatch(blob.name) and blob.name not in used:
            blob.unlink(missing_ok=True)


def _load(path: Path) -> dict | None:
    """A record's content; None when unreadable, not JSON or not sealed by this user."""
    data = sealed.read(SEAL, path)
    if data is None:
        return None
    try:
        record = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("format") == FORMAT else None


def _records(cfg: Config) -> list[Path]:
    folder = record_dir(cfg)
    if not folder.is_dir() or not sealed.no_symlink_below(cfg.root, folder):
        return []
    return sorted((p for p in folder.glob("*.json") if p.stem.isdigit()),
                  key=lambda p: int(p.stem))


# --- planning and applying -----------------------------------------------------------------


class NothingToUndo(Exception):
    """No record: no compile or new wrote a migration in this checkout (or it was undone)."""


@dataclass
class UndoPlan:
    """What undo would do, and why it may not."""

    record_path: Path
    command: str
    migrations: dict[str, str]  # dialect -> tag
    remove: list[str]  # created files still present
    restore: dict[str, bytes | None]  # changed file -> old bytes (None: delete it)
    sum_edit: dict[str, str | None]  # checksum line -> old digest (None: drop the line)
    source_before: str | None
    all_tags: dict[str, list[str]] = field(default_factory=dict)  # dialect -> every tag
    refusals: list[str] = field(default_factory=list)  # never overridden
    forceable: list[str] = field(default_factory=list)  # overridden by --force
    warnings: list[str] = field(default_factory=list)

    def tags(self, dialect: str) -> list[str]:
        """Every migration the run wrote in `dialect`'s folder (a compile may write an
        enum-values file or a no-transaction file besides the migration)."""
        tag = self.migrations.get(dialect)
        return self.all_tags.get(dialect) or ([tag] if tag else [])

    def to_json(self) -> dict[str, Any]:
        return {"command": self.command, "migrations": self.migrations,
                "tags": {d: self.tags(d) for d in sorted(self.migrations)},
                "removed": self.remove, "restored": sorted(self.restore)}


def plan_undo(cfg: Config) -> UndoPlan:
    """The newest record, checked against the files as they are now."""
    records = _records(cfg)
    if not records:
        raise NothingToUndo(
            "nothing to undo: no `agorschema compile` or `agorschema new` has written a "
            f"migration in this checkout since its undo records ({RECORD_DIR.as_posix()}/) "
            "began; remove a migration by hand (its SQL file, snapshot and journal entry)")
    path = records[-1]
    record = _load(path)
    if record is None:
        why = ("no key to verify it: see agor_schema.sealed" if not sealed.available() else
               "damaged, from another agorschema version, or not written by agorschema for "
               "this user: it is not sealed with this user's key")
        raise NothingToUndo(f"{_rel(cfg, path)}: unreadable undo record ({why}); delete it "
                            "and remove the migration by hand")
    try:
        return _plan(cfg, path, record)
    except (KeyError, TypeError, AttributeError, ValueError, OSError) as exc:
        raise NothingToUndo(f"{_rel(cfg, path)}: unreadable undo record ({exc!r}); delete it "
                            "and remove the migration by hand") from None


def _inside(rel: str) -> str:
    """A record's path, refused unless it stays inside the project."""
    parts = Path(rel).parts
    if not rel or Path(rel).is_absolute() or ".." in parts or parts[:1] == (".git",):
        raise ValueError(f"path outside the project: {rel!r}")
    return rel


def _leaves_project(cfg: Config, rel: str) -> bool:
    """True when `rel` resolves (symlinks followed) outside the project: undo deletes and
    writes there, so a link planted since the compile must not carry that elsewhere."""
    root = cfg.root.resolve()
    return root not in (cfg.root / rel).resolve().parents


def _refuse_links_out(cfg: Config, plan: UndoPlan) -> None:
    from agor_schema.manifest import manifest_path

    rels = [*plan.remove, *plan.restore, _rel(cfg, manifest_path(cfg))]
    for rel in rels:
        if _leaves_project(cfg, rel):
            plan.refusals.append(
                f"{rel} resolves to {(cfg.root / rel).resolve()}, outside the project (a "
                "symlink?): undo deletes and writes only inside the project; remove the link")


def _plan(cfg: Config, path: Path, record: dict) -> UndoPlan:
    plan = _read_plan(cfg, path, record)
    _refuse_links_out(cfg, plan)
    return plan


def _read_plan(cfg: Config, path: Path, record: dict) -> UndoPlan:
    root = cfg.root
    plan = UndoPlan(path, str(record["command"]), dict(record.get("migrations") or {}), [], {},
                    {}, record.get("source_before"))
    plan.all_tags = {str(d): [str(t) for t in tags]
                     for d, tags in (record.get("tags") or {}).items()}
    for rel, digest in sorted(record["created"].items()):
        file = root / _inside(rel)
        if not file.is_file():
            plan.warnings.append(f"{rel} was already removed")
        else:
            if _sha(file.read_bytes()) != digest:
                plan.forceable.append(
                    f"{rel} was edited after `agorschema {plan.command}` wrote it; undo would "
                    "delete the edits (--force discards them)")
            plan.remove.append(rel)
    for rel, change in sorted(record["changed"].items()):
        file = root / _inside(rel)
        current = _sha(file.read_bytes()) if file.is_file() else None
        if rel.endswith("/meta/_journal.json") and current != change["after"]:
            plan.refusals.append(
                f"{rel} changed after `agorschema {plan.command}` wrote it (a later migration, "
                "a merge or a hand edit); restoring it would lose that: remove the migration "
                "by hand instead")
        before = change["before"]
        plan.restore[rel] = None if before is None else _read_blob(cfg, before)
    plan.sum_edit = {_inside(rel): digest for rel, digest in record["sum_before"].items()}
    return plan


def applied_here(cfg: Config, plan: UndoPlan, url: str | None) -> tuple[str, list[str]]:
    """(the database as shown, the record's migrations it has applied), read-only.

    Raises the runner's errors: ConnectionFailed when it cannot be reached,
    RunnerInputError for a bad URL or folder."""
    from agor_schema.db import redact
    from agor_schema.dialects import runtime_for_url
    from agor_schema.run_results import RunnerInputError
    from agor_schema.runner import status

    try:
        dialect = runtime_for_url(url if url is not None else cfg.database).name
    except ValueError as exc:
        raise RunnerInputError(str(exc)) from None
    tags = set(plan.tags(dialect))
    if not tags:
        return redact(url or cfg.database), []
    result = status(url, cfg.migrations_dir(dialect), project=cfg.root)
    applied = [m.tag for m in result.migrations
               if m.tag in tags and m.recorded_created_at is not None]
    return result.database, applied


def apply_undo(cfg: Config, plan: UndoPlan) -> None:
    """Delete the created files, write the old bytes back, edit the checksum file, and
    drop the record. Folders left empty by the deletions go too.

    All or nothing (agor_schema.writes): when a deletion or write fails part way, every
    file is put back as it was and the error is raised; the record stays."""
    from agor_schema.manifest import manifest_path, read_manifest

    root = cfg.root
    emptied: set[Path] = set()
    targets = [root / rel for rel in [*plan.remove, *plan.restore]] + [manifest_path(cfg)]
    with all_or_nothing(root, targets):
        for rel in plan.remove:
            (root / rel).unlink(missing_ok=True)
            emptied.add((root / rel).parent)
        for rel, data in plan.restore.items():
            path = root / rel
            if data is None:
                path.unlink(missing_ok=True)
                emptied.add(path.parent)
            else:
                write_file(path, data)
        manifest = read_manifest(cfg)
        if manifest is not None:
            if plan.source_before is None:  # the record's compile wrote the first checksums
                manifest_path(cfg).unlink(missing_ok=True)
                emptied.add(manifest_path(cfg).parent)
            else:
                for rel, digest in plan.sum_edit.items():
                    if digest is None:
                        manifest.files.pop(rel, None)
                    else:
                        manifest.files[rel] = digest
                manifest.source = plan.source_before
                replace_file(manifest_path(cfg), manifest.text().encode("utf-8"))
    for folder in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
        _remove_empty(folder, root)
    plan.record_path.unlink(missing_ok=True)
    _drop_unused_blobs(cfg)


def _remove_empty(folder: Path, root: Path) -> None:
    """Remove `folder` and its parents while empty, never `root` or above."""
    root = root.resolve()
    folder = folder.resolve()
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
