"""Lint what real drizzle-kit histories get wrong (DESIGN.md §6): warnings, not refusals.

An adopted folder carries its past: idx gaps, entries without snapshots, SQL files no entry
names, broken `prevId` chains, `when` going backwards. None of them stops agorschema (it
matches entries by identity and needs only the latest snapshot), so each is a warning that
says why it matters, in particular what drizzle-orm's runtime would do with it.
"""

from __future__ import annotations

import re
from pathlib import Path

from agor_schema.journal import Journal, JournalError, journal_warnings, read_snapshot

_HEAD_IDS = re.compile(r'"(id|prevId)"\s*:\s*"([^"\\]*)"')


def _snapshot_ids(path: Path) -> tuple[str | None, str | None]:
    """(id, prevId) of a snapshot: drizzle-kit writes both in the first lines, so the head
    usually suffices (check must stay fast on 186-snapshot folders); else parse it whole."""
    with path.open("rb") as handle:
        head = handle.read(1024).decode("utf-8", "replace")
    found = dict(_HEAD_IDS.findall(head.split('"tables"', 1)[0]))
    if "id" in found and "prevId" in found:
        return found["id"], found["prevId"]
    data = read_snapshot(path)
    return data.get("id"), data.get("prevId")


def lint_history(folder: Path, journal: Journal, label: str = "") -> list[str]:
    """Every warning for one migration folder, each with its reason."""
    at = f"{label}: " if label else ""
    out = [f"{at}{message}" for _, message in journal_warnings(journal.entries)]
    entries = journal.entries
    for before, entry in zip(entries, entries[1:]):
        if entry.idx != before.idx + 1:
            out.append(
                f"{at}{entry.tag}: idx {entry.idx} follows idx {before.idx} (a gap or a jump in "
                "the numbering); harmless to runners, which apply entries in journal order "
                "and ignore idx")
    tags = {e.tag for e in entries}
    for sql in sorted(folder.glob("*.sql")):
        if sql.stem not in tags:
            out.append(
                f"{at}{sql.name} is not named by any journal entry, so no runner (drizzle-orm's "
                "or agorschema's) will ever apply it: add it to the journal or delete it")
    out += _snapshot_chain(folder, journal, at)
    return out


def _snapshot_chain(folder: Path, journal: Journal, at: str) -> list[str]:
    out: list[str] = []
    previous: tuple[str, str | None] | None = None  # (snapshot name, its id)
    for entry in journal.entries:
        prefix = entry.tag.split("_", 1)[0]
        snap = folder / "meta" / f"{prefix}_snapshot.json"
        if not snap.is_file():
            out.append(
                f"{at}{entry.tag} has no snapshot (meta/{snap.name}): runners only need the "
                "SQL, and agorschema diffs from the latest snapshot, but drizzle-kit cannot "
                "rebuild the schema at this point of the history")
            continue
        try:
            ident, prev = _snapshot_ids(snap)
        except (OSError, JournalError) as exc:
            out.append(f"{at}meta/{snap.name} cannot be read ({exc})")
            continue
        if previous is not None and prev != previous[1]:
            out.append(
                f"{at}meta/{snap.name}: prevId {prev} is not the id of the previous snapshot "
                f"meta/{previous[0]} ({previous[1]}): the snapshot chain is broken here "
                "(a regenerated or hand-edited snapshot); runners ignore snapshots")
        previous = (snap.name, ident)
    return out
