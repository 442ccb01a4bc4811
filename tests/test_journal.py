"""The drizzle folder format: journal bytes, statement splitting, hashes, line numbers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agor_schema.journal import (
    BREAKPOINT,
    HASHLIB_AFTER,
    Journal,
    JournalEntry,
    JournalError,
    file_hash,
    journal_text,
    read_journal,
    read_migration,
    read_migrations,
    split_chunks,
    split_statements,
    write_journal,
)

CORPUS_JOURNALS = [
    "sqlite-2025-11",
    "sqlite-latest-snapshot",
    "postgres-latest-snapshot",
]


def test_write_journal_exact_drizzle_bytes(tmp_path: Path) -> None:
    journal = Journal(
        dialect="sqlite",
        entries=[JournalEntry(idx=0, version="6", when=1762029611425, tag="0000_pretty_mac_gargan")],
    )
    write_journal(tmp_path, journal)
    raw = (tmp_path / "meta" / "_journal.json").read_bytes()
    assert raw == (
        b'{\n  "version": "7",\n  "dialect": "sqlite",\n  "entries": [\n    {\n'
        b'      "idx": 0,\n      "version": "6",\n      "when": 1762029611425,\n'
        b'      "tag": "0000_pretty_mac_gargan",\n      "breakpoints": true\n    }\n  ]\n}'
    )


def test_empty_journal_keeps_key_order(tmp_path: Path) -> None:
    write_journal(tmp_path, Journal(dialect="postgresql"))
    text = (tmp_path / "meta" / "_journal.json").read_text()
    assert text == '{\n  "version": "7",\n  "dialect": "postgresql",\n  "entries": []\n}'


def test_non_ascii_tag_written_unescaped(tmp_path: Path) -> None:
    write_journal(tmp_path, Journal("sqlite", [JournalEntry(0, "6", 1, "0000_café")]))
    assert "0000_café" in (tmp_path / "meta" / "_journal.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", CORPUS_JOURNALS)
def test_real_journals_round_trip(shared_dir: Path, name: str) -> None:
    """drizzle-kit's own journals re-serialise to the same bytes (their final newline aside)."""
    folder = shared_dir / "data" / "agor" / name
    raw = (folder / "meta" / "_journal.json").read_bytes()
    journal = read_journal(folder)
    assert journal.version == "7"
    assert journal_text(journal).encode() == raw.rstrip(b"\n")


def test_real_journal_entries_in_array_order_with_gaps(shared_dir: Path) -> None:
    journal = read_journal(shared_dir / "data" / "agor" / "sqlite-2025-11")
    assert [e.idx for e in journal.entries] == [0, 1, 2, 3, 4, 5, 8, 9, 10]
    assert journal.entries[7].tag == "0009_reconcile-missing-columns"
    assert journal.entries[0] == JournalEntry(0, "6", 1762029611425, "0000_pretty_mac_gargan")


def test_reformatted_journal_is_read(tmp_path: Path) -> None:
    (tmp_path / "meta").mkdir()
    data = {"entries": [{"tag": "0000_a", "when": 5, "breakpoints": False, "idx": 3,
                         "version": "6"}], "dialect": "sqlite", "version": "7"}
    (tmp_path / "meta" / "_journal.json").write_text(json.dumps(data, separators=(",", ":")))
    assert read_journal(tmp_path).entries == [JournalEntry(3, "6", 5, "0000_a", False)]


def test_missing_and_broken_journal_messages(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="_journal.json: not found"):
        read_journal(tmp_path)
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "_journal.json").write_text('{"entries": [{"tag": "x"}]}')
    with pytest.raises(JournalError, match=r"entries\[0\] has no 'when'"):
        read_journal(tmp_path)
    (tmp_path / "meta" / "_journal.json").write_text("{nope")
    with pytest.raises(JournalError, match="cannot read journal"):
        read_journal(tmp_path)


def test_missing_sql_file_names_it(tmp_path: Path) -> None:
    write_journal(tmp_path, Journal("sqlite", [JournalEntry(0, "6", 1, "0000_gone")]))
    with pytest.raises(JournalError, match=r"0000_gone\.sql.*file is missing"):
        read_migrations(tmp_path)


def test_file_hash_is_sha256_of_bytes(shared_dir: Path) -> None:
    folder = shared_dir / "data" / "agor" / "sqlite-2025-11"
    journal = read_journal(folder)
    mf = read_migration(folder, journal.entries[0])
    assert mf.hash.startswith("04157dfe6d277573")  # the corpus README's sha256 prefix
    assert mf.hash == hashlib.sha256(mf.path.read_bytes()).hexdigest()
    assert file_hash(b"") == hashlib.sha256(b"").hexdigest()


def test_split_drops_empty_and_comment_only_chunks() -> None:
    text = (
        "CREATE TABLE a (x int);--> statement-breakpoint\n"
        "-- Custom SQL migration file, put your code below! --\n"
        "--> statement-breakpoint\n"
        "   \n--> statement-breakpoint\n"
        "/* block */ ;\n--> statement-breakpoint\n"
        "CREATE INDEX i ON a (x);--> statement-breakpoint\n"
    )
    assert [s.strip() for s in split_statements(text)] == [
        "CREATE TABLE a (x int);",
        "CREATE INDEX i ON a (x);",
    ]


def test_split_is_verbatim_like_drizzle() -> None:
    text = "SELECT '-- not a comment';" + BREAKPOINT + "\nSELECT 2;"
    assert split_statements(text) == ["SELECT '-- not a comment';", "\nSELECT 2;"]


def test_chunk_lines_point_at_code_not_leading_comments() -> None:
    text = (
        "-- header\n"                                   # 1
        "CREATE TABLE a (x int);--> statement-breakpoint\n"  # 2
        "\n"                                            # 3
        "-- explain\n"                                  # 4
        "INSERT INTO a VALUES (1);"                     # 5
    )
    chunks = split_chunks(text)
    assert [(c.line, c.first_line) for c in chunks] == [(2, 1), (5, 2)]


def test_real_file_without_breakpoints_is_one_chunk(shared_dir: Path) -> None:
    folder = shared_dir / "data" / "agor" / "sqlite-2025-11"
    mf = read_migration(folder, read_journal(folder).entries[6])  # 0008_stale_marauders
    assert len(mf.chunks) == 1


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=4096), hashed_before=st.sampled_from([0, HASHLIB_AFTER]))
def test_file_hash_is_sha256_whichever_implementation_computes_it(
    data: bytes, hashed_before: int
) -> None:
    """A process hashes its first HASHLIB_AFTER bytes with CPython's built-in SHA-256 (no
    OpenSSL import at app start-up) and the rest with hashlib's: drizzle-orm's recorded
    hashes must come out the same either way."""
    import agor_schema.journal as journal

    saved, journal._hashed_bytes = journal._hashed_bytes, hashed_before
    try:
        assert file_hash(data) == hashlib.sha256(data).hexdigest()
        assert journal._hashed_bytes == hashed_before + len(data)
    finally:
        journal._hashed_bytes = saved
