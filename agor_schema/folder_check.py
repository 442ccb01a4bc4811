"""The migration folders against the manifest: checksums, journals, tags, snapshot chains.

No database and no schema compile: `check` (which may also recompile) and `compile` (which
must not build on inconsistent folders) both read these results, so they live below both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agor_schema.config import Config
from agor_schema.manifest import CUSTOM, file_digest


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


def migration_problems(cfg: Config, manifest) -> tuple[list[str], list[str]]:
    """What `check` reports about the migration folders and their checksums, as (problems,
    notes): what `compile` must not build on. Generated files are left out (compile rewrites
    them), and so is an empty custom migration (a note: compile does not touch it).

    A migration removed completely by hand (its journal entry, SQL file and snapshot) is not
    a problem: its checksums are dropped from `manifest` and the journal's is taken as it
    is now, so the next write of the manifest forgets them."""
    forget_removed_migrations(cfg, manifest)
    result = CheckResult()
    migrations = rel_path(cfg, cfg.migrations).rstrip("/") + "/"
    check_checksums(cfg, manifest, result, only=lambda rel: rel.startswith(migrations))
    for dialect in cfg.dialects:
        check_folder(cfg, dialect, manifest, result, empty_custom=result.notes)
    return result.problems, result.notes


def forget_removed_migrations(cfg: Config, manifest) -> list[str]:
    """Drop the checksums of migrations that are gone whole (no journal entry, no SQL file,
    no snapshot); return the tags forgotten."""
    from agor_schema.journal import JournalError, read_journal

    forgotten: list[str] = []
    for dialect in cfg.dialects:
        before = len(forgotten)
        folder = cfg.migrations_dir(dialect)
        prefix_rel = rel_path(cfg, folder) + "/"
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
        if len(forgotten) > before and rel_path(cfg, journal) in manifest.files:
            manifest.files[rel_path(cfg, journal)] = file_digest(journal)  # the removal stands
    return forgotten


def check_checksums(cfg: Config, manifest, result: CheckResult, only=None) -> None:
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


def check_folder(cfg: Config, dialect: str, manifest, result: CheckResult,
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
        rel = rel_path(cfg, sql)
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
            prev = _prev_id(snap, recorded=rel_path(cfg, snap) in manifest.files)
        except (OSError, JournalError) as exc:
            result.problems.append(f"{rel_path(cfg, snap)}: unreadable snapshot ({exc})")
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
    from agor_schema.journal import read_snapshot

    return read_snapshot(path).get("prevId")


def rel_path(cfg: Config, path) -> str:
    try:
        return path.resolve().relative_to(cfg.root.resolve()).as_posix()
    except ValueError:
        return str(path)
