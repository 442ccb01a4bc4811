"""`check`: do schema, generated files, snapshots, journals and migration files agree?

No database is needed. When the schema sources hash to what the last compile recorded, the
schema is not recompiled (no pydantic, no sqlglot): only checksums and journals are read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from agor_schema.config import Config
from agor_schema.manifest import CUSTOM, file_digest, manifest_path, read_manifest, source_hash


@dataclass
class CheckResult:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # inherited history: check still passes
    recompiled: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict:
        return {"ok": self.ok, "problems": self.problems, "notes": self.notes,
                "warnings": self.warnings, "recompiled": self.recompiled}


def check_project(cfg: Config) -> CheckResult:
    """Every inconsistency, each as one actionable sentence (SchemaErrors on bad input)."""
    result = CheckResult()
    manifest = read_manifest(cfg)
    if manifest is None:
        result.problems.append(
            f"{_rel(cfg, manifest_path(cfg))} is missing: run `agorschema compile` and commit")
        return result
    forgotten = forget_removed_migrations(cfg, manifest)
    edited = manifest.source != source_hash(cfg)
    if edited and not forgotten and _same_meaning(cfg, manifest):
        result.notes.append(_REFRESH_NOTE)
    elif edited or forgotten:
        result.recompiled = True
        _check_schema_compiled(cfg, result)
    _check_checksums(cfg, manifest, result)
    for dialect in cfg.dialects:
        _check_folder(cfg, dialect, manifest, result)
    return result


def _check_schema_compiled(cfg: Config, result: CheckResult) -> None:
    from agor_schema.compiler import DestructiveChange, compile_project

    try:
        compiled = compile_project(cfg, write=False, allow_destructive=True)
    except DestructiveChange:  # pragma: no cover - allow_destructive=True
        return
    for dialect, out in compiled.outputs.items():
        if out.migration is not None:
            kinds = ", ".join(sorted({op.kind for op in out.operations}))
            result.problems.append(
                f"the schema changed since the last compile ({dialect}: {kinds}): "
                "run `agorschema compile` and commit the new migration")
    for path, text in compiled.files.items():
        if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
            result.problems.append(
                f"{_rel(cfg, path)} is stale: run `agorschema compile` (do not edit it by hand)")
    if not result.problems:
        result.notes.append(_REFRESH_NOTE)


_REFRESH_NOTE = ("schema sources changed without changing the schema; "
                 "`agorschema compile` refreshes the checksum")


def _same_meaning(cfg: Config, manifest) -> bool:
    """Only comments or layout changed since compile (known from the project cache)?"""
    from agor_schema.meaning import unchanged_since

    return unchanged_since(cfg, manifest.source)


def migration_problems(cfg: Config, manifest) -> tuple[list[str], list[str]]:
    """What `check` reports about the migration folders and their checksums, as (problems,
    notes): what `compile` must not build on. Generated files are left out (compile rewrites
    them), and so is an empty custom migration (a note: compile does not touch it).

    A migration removed completely by hand (its journal entry, SQL file and snapshot) is not
    a problem: its checksums are dropped from `manifest` and the journal's is taken as it
    is now, so the next write of the manifest forgets them."""
    forget_removed_migrations(cfg, manifest)
    result = CheckResult()
    migrations = _rel(cfg, cfg.migrations).rstrip("/") + "/"
    _check_checksums(cfg, manifest, result, only=lambda rel: rel.startswith(migrations))
    for dialect in cfg.dialects:
        _check_folder(cfg, dialect, manifest, result, empty_custom=result.notes)
    return result.problems, result.notes


def forget_removed_migrations(cfg: Config, manifest) -> list[str]:
    """Drop the checksums of migrations that are gone whole (no journal entry, no SQL file,
    no snapshot); return the tags forgotten."""
    from agor_schema.journal import JournalError, read_journal

    forgotten: list[str] = []
    for dialect in cfg.dialects:
        before = len(forgotten)
        folder = cfg.migrations_dir(dialect)
        prefix_rel = _rel(cfg, folder) + "/"
        try:
            tags = {e.tag for e in read_journal(folder).entries}
        except JournalError:
            continue
        prefixes = {t.split("_", 1)[0] for t in tags}
        for rel in sorted(manifest.files):
            if not rel.startswith(prefix_rel) or (cfg.root / rel).exists():
                continue
            name = rel[len(prefix_rel):]
            if name.endswith(".sql") and "/" not in name:
                tag = name[:-4]
                prefix = tag.split("_", 1)[0]
            elif name.startswith("meta/") and name.endswith("_snapshot.json"):
                tag = prefix = name[len("meta/"):-len("_snapshot.json")]
            else:
                continue
            if tag in tags or prefix in prefixes or any(folder.glob(f"{prefix}_*.sql")) or \
                    (folder / "meta" / f"{prefix}_snapshot.json").exists():
                continue
            del manifest.files[rel]
            forgotten.append(tag)
        journal = folder / "meta" / "_journal.json"
        if len(forgotten) > before and _rel(cfg, journal) in manifest.files:
            manifest.files[_rel(cfg, journal)] = file_digest(journal)  # the removal stands
    return forgotten


def _check_checksums(cfg: Config, manifest, result: CheckResult, only=None) -> None:
    for rel, digest in sorted(manifest.files.items()):
        if only is not None and not only(rel):
            continue
        path = cfg.root / rel
        if not path.is_file():
            result.problems.append(f"{rel} is recorded by compile but missing")
        elif digest != CUSTOM and file_digest(path) != digest:
            result.problems.append(
                f"{rel} was edited by hand after `agorschema compile` wrote it; revert it "
                "(git checkout) and change the schema instead, or use `agorschema new` for SQL")


def _check_folder(cfg: Config, dialect: str, manifest, result: CheckResult,
                  empty_custom: list[str] | None = None) -> None:
    from agor_schema.journal import JournalError, has_code, read_journal

    folder = cfg.migrations_dir(dialect)
    if not (folder / "meta" / "_journal.json").exists():
        return
    try:
        journal = read_journal(folder)
    except JournalError as exc:
        result.problems.append(str(exc))
        return
    prefixes: dict[str, str] = {}
    for entry in journal.entries:
        prefix = entry.tag.split("_", 1)[0]
        if prefix in prefixes:
            result.problems.append(
                f"{dialect}: tags {prefixes[prefix]} and {entry.tag} share the prefix {prefix} "
                "(parallel branches?): renumber one and regenerate")
        prefixes[prefix] = entry.tag
        sql = folder / f"{entry.tag}.sql"
        rel = _rel(cfg, sql)
        if not sql.is_file():
            result.problems.append(f"{dialect}: journal entry {entry.tag} has no file {rel}")
            continue
        text = _sql_text(sql, result)
        if text is not None and manifest.files.get(rel) == CUSTOM and not has_code(text):
            (result.problems if empty_custom is None else empty_custom).append(
                f"{rel} is a custom migration with no statement yet: write its SQL (an empty "
                "file breaks SQLite runtimes)")
    from agor_schema.history_lint import lint_history

    result.warnings.extend(lint_history(folder, journal, dialect))
    seen: dict[str, str] = {}
    for snap in sorted((folder / "meta").glob("*_snapshot.json")):
        try:
            prev = _prev_id(snap, recorded=_rel(cfg, snap) in manifest.files)
        except (OSError, ValueError) as exc:  # JSONDecodeError, UnicodeDecodeError
            result.problems.append(f"{_rel(cfg, snap)}: unreadable snapshot ({exc})")
            continue
        if prev in seen:
            result.problems.append(
                f"{dialect}: snapshots {seen[prev]} and {snap.name} share prevId {prev} "
                "(a collision from parallel branches): drop one and regenerate")
        seen[prev] = snap.name


def _sql_text(path, result: CheckResult) -> str | None:
    """A migration's text; invalid UTF-8 or a NUL byte is a problem named by file, line and
    column."""
    from agor_schema.journal import JournalError, check_sql_bytes

    data = path.read_bytes()
    try:
        check_sql_bytes(str(path), data)
    except JournalError as exc:
        result.problems.append(str(exc))
        return None
    return data.decode("utf-8")


_HEAD_PREV_ID = re.compile(
    r'\A\s*\{\s*(?:"(?:version|dialect|id)"\s*:\s*"[^"\\]*"\s*,\s*)*"prevId"\s*:\s*"([^"\\]*)"')


def _prev_id(path, recorded: bool):
    """A snapshot's prevId. A file compile recorded (its checksum is checked above) is valid
    JSON in drizzle's key order, so its head suffices; anything else is parsed whole."""
    if recorded:
        with path.open("rb") as fh:
            match = _HEAD_PREV_ID.match(fh.read(1024).decode("utf-8", "replace"))
        if match:
            return match.group(1)
    return json.loads(path.read_text(encoding="utf-8")).get("prevId")


def _rel(cfg: Config, path) -> str:
    try:
        return path.resolve().relative_to(cfg.root.resolve()).as_posix()
    except ValueError:
        return str(path)
