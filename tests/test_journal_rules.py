"""Journal rules (DESIGN.md §6) and migration-file input rules, through the real CLI.

Malformed or ambiguous journals are refused by name (`migrate`/`status` exit 2, `check` exit 1,
no traceback, nothing written); `when` equal or going backwards is a warning in `check` and
`status`; SQL files that are not UTF-8 or hold no statement are refused by name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from catalog import Project
from click.testing import CliRunner
from runner_helpers import BASE_WHEN, sql_file, sqlite_path, sqlite_rows, write_folder

from agor_schema.cli import main
from agor_schema.manifest import CUSTOM, file_digest, manifest_path, read_manifest

SCHEMA = {"users": {"columns": {"id": {"type": "integer", "primary_key": True},
                                "name": "text"}}}


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    project = Project(tmp_path / "p", dialects=("sqlite",))
    project.write(SCHEMA)
    assert run("compile", "--project", str(project.root)).exit_code == 0
    project.write({**SCHEMA, "posts": {"columns": {"id": {"type": "integer",
                                                           "primary_key": True}}}})
    assert run("compile", "--project", str(project.root)).exit_code == 0
    return project


def accept_as_is(project: Project) -> None:
    """Record the folder's current files as compile would after adopting them (so that
    `check` judges the history itself, not the hand edit)."""
    cfg = project.config
    manifest = read_manifest(cfg)
    assert manifest is not None
    for rel, digest in list(manifest.files.items()):
        if digest != CUSTOM and (cfg.root / rel).is_file():
            manifest.files[rel] = file_digest(cfg.root / rel)
    manifest_path(cfg).write_text(manifest.text(), encoding="utf-8")


def edit_journal(folder: Path, change: Callable[[dict], Any]) -> None:
    path = folder / "meta" / "_journal.json"
    journal = json.loads(path.read_text())
    out = change(journal)
    path.write_text(out if isinstance(out, str) else json.dumps(journal, indent=2))


def set_entry(n: int, key: str, value: Any) -> Callable[[dict], None]:
    return lambda j: j["entries"][n].__setitem__(key, value)


def duplicate_first(j: dict) -> None:
    j["entries"].append({**j["entries"][0], "idx": 2})


def twice_key(j: dict) -> str:
    text = json.dumps(j, indent=2)
    return text.replace('"when":', '"when": 1, "when":', 1)


MALFORMED = [
    ("tag-twice", duplicate_first, "is listed twice (entries[0] and entries[2])"),
    ("idx-text", set_entry(0, "idx", "one"), 'entries[0].idx must be an integer, got "one"'),
    ("idx-float", set_entry(1, "idx", 1.0), "entries[1].idx must be an integer, got 1.0"),
    ("when-huge-float", set_entry(0, "when", 1.5e300),
     "entries[0].when must be an integer, got 1.5e+300"),
    ("when-fraction", set_entry(0, "when", 1.5), "entries[0].when must be an integer, got 1.5"),
    ("when-text", set_entry(0, "when", "1700000000000"),
     'entries[0].when must be an integer, got "1700000000000"'),
    ("when-bool", set_entry(0, "when", True), "entries[0].when must be an integer, got true"),
    ("when-null", set_entry(0, "when", None), "entries[0].when must be an integer, got null"),
    ("when-negative", set_entry(0, "when", -1), "entries[0].when is -1: it must be between 0 "
                                                "and 2^53"),
    ("when-above-2^53", set_entry(1, "when", 2**53 + 1),
     f"entries[1].when is {2**53 + 1}: it must be between 0 and 2^53"),
    ("tag-number", set_entry(0, "tag", 5), "entries[0].tag must be a non-empty string, got 5"),
    ("tag-empty", set_entry(0, "tag", ""), 'entries[0].tag must be a non-empty string, got ""'),
    ("tag-path", set_entry(0, "tag", "../../etc/x"), "is not a file name in this folder"),
    # printed by every message naming the migration: a newline forged whole lines such as
    # "applied 0001_x" or "up to date" in migrate's output
    ("tag-newline", set_entry(0, "tag", "0000_a\nup to date: 0 migration(s) applied"),
     "holds a control or invisible character"),
    ("tag-escape", set_entry(0, "tag", "0000_a\x1b[2K"), "holds a control or invisible character"),
    ("tag-bidi", set_entry(0, "tag", "0000_a\u202etxt.lmth"),
     "holds a control or invisible character"),
    ("breakpoints-text", set_entry(0, "breakpoints", "yes"),
     'entries[0].breakpoints must be true or false, got "yes"'),
    ("version-number", set_entry(0, "version", 6), "entries[0].version must be a string, got 6"),
    ("dialect-number", lambda j: j.__setitem__("dialect", 7), "dialect must be a string, got 7"),
    ("entries-object", lambda j: j.__setitem__("entries", {}),
     "expected an object with an 'entries' array"),
    ("entry-number", lambda j: j["entries"].__setitem__(0, 1), "entries[0] is not an object"),
    ("key-twice", twice_key, "key 'when' appears twice in one object"),
    ("no-when", lambda j: j["entries"][0].pop("when"), "entries[0] has no 'when'"),
]


@pytest.mark.parametrize("change,message", [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_malformed_journal_is_refused_by_name(
    project: Project, change: Callable[[dict], Any], message: str, tmp_path: Path
) -> None:
    folder = project.folder("sqlite")
    edit_journal(folder, change)
    db = tmp_path / "app.db"
    url = f"sqlite:///{db}"
    migrated = run("migrate", "--database", url, "--migrations", str(folder))
    assert migrated.exit_code == 2, migrated.output
    assert message in migrated.stderr and "_journal.json" in migrated.stderr
    assert not db.exists()  # nothing written
    status = run("status", "--database", url, "--migrations", str(folder))
    assert status.exit_code == 2 and message in status.stderr
    checked = run("check", "--project", str(project.root))
    assert checked.exit_code == 1 and message in checked.stderr
    for result in (migrated, status, checked):
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.output


def test_duplicate_tag_never_runs_a_file_twice(tmp_path: Path, sqlite_url: str) -> None:
    """The merge-conflict case of the issue: before, `migrate` ran 0001 twice and exited 0."""
    folder = write_folder(tmp_path / "m", [
        ("0000_init", "CREATE TABLE runs (n integer);"),
        ("0001_seed", "INSERT INTO runs VALUES (1);"),
    ])
    edit_journal(folder, lambda j: j["entries"].append({**j["entries"][1], "idx": 2,
                                                         "when": BASE_WHEN + 5000}))
    result = run("migrate", "--database", sqlite_url, "--migrations", str(folder))
    assert result.exit_code == 2
    assert "tag '0001_seed' is listed twice (entries[1] and entries[2])" in result.stderr
    assert not Path(sqlite_path(sqlite_url)).exists()


# --- warnings: when equal or going backwards --------------------------------------------


def test_equal_and_backward_when_are_warnings(project: Project, tmp_path: Path) -> None:
    folder = project.folder("sqlite")
    first, second = json.loads((folder / "meta" / "_journal.json").read_text())["entries"]
    edit_journal(folder, set_entry(1, "when", first["when"]))
    accept_as_is(project)
    checked = run("check", "--project", str(project.root))
    assert checked.exit_code == 0, checked.output
    expected = (f"sqlite: {second['tag']}: its when {first['when']} equals the when of the "
                f"earlier entry {first['tag']} ({first['when']}); drizzle-orm's runtime would "
                f"skip it on any database where {first['tag']} is already applied")
    assert f"warning: {expected}" in checked.stderr
    url = f"sqlite:///{tmp_path / 'app.db'}"
    status = run("status", "--database", url, "--migrations", str(folder))
    assert status.exit_code == 0
    assert f"warning: [journal_order] {second['tag']}: its when" in status.stdout
    migrated = run("migrate", "--database", url, "--migrations", str(folder))
    assert migrated.exit_code == 0, migrated.output  # a fresh database gets both
    assert sqlite_rows(tmp_path / "app.db", "SELECT count(*) FROM __drizzle_migrations") \
        == [(2,)]

    edit_journal(folder, set_entry(1, "when", first["when"] - 10))
    accept_as_is(project)
    checked = run("check", "--project", str(project.root))
    assert checked.exit_code == 0
    assert f"its when {first['when'] - 10} is before the when of the earlier entry" \
        in checked.stderr


def test_backward_entry_on_a_database_that_has_a_later_one(tmp_path: Path) -> None:
    """Out of order stays refused by name; after --allow-out-of-order it is applied and the
    warning no longer tells to re-run with the flag."""
    db = tmp_path / "app.db"
    url = f"sqlite:///{db}"
    folder = write_folder(tmp_path / "m", [("0000_a", "CREATE TABLE a (x integer);"),
                                           ("0002_c", "CREATE TABLE c (x integer);")])
    assert run("migrate", "--database", url, "--migrations", str(folder)).exit_code == 0
    (folder / "0001_b.sql").write_text("CREATE TABLE b (x integer);")
    edit_journal(folder, lambda j: j["entries"].insert(1, {
        "idx": 1, "version": "6", "when": BASE_WHEN + 500, "tag": "0001_b",
        "breakpoints": True}))
    refused = run("migrate", "--database", url, "--migrations", str(folder))
    assert refused.exit_code == 1
    assert "[out_of_order] 0001_b is not applied but later migration 0002_c is already " \
           "applied" in refused.stderr
    assert "re-run with --allow-out-of-order" in refused.stderr
    done = run("migrate", "--database", url, "--migrations", str(folder),
               "--allow-out-of-order")
    assert done.exit_code == 0, done.output
    assert "applied 0001_b" in done.stdout
    assert "applied anyway because --allow-out-of-order was given" in done.stderr
    assert "re-run with --allow-out-of-order" not in done.output
    assert sqlite_rows(db, "SELECT name FROM sqlite_master WHERE name = 'b'") == [("b",)]


# --- migration files: encoding, empty files ----------------------------------------------


@pytest.mark.parametrize("data,message", [
    (b"CREATE TABLE t (x text);\nINSERT INTO t VALUES ('caf\xe9');\n",
     ":2:27: not valid UTF-8 (byte 0xe9 at offset 51: invalid continuation byte)"),
    (b"CREATE TABLE t (x text);\nINSERT INTO t VALUES ('a\x00b');\n",
     ":2:25: contains a NUL byte (offset 49); SQL text cannot hold one"),
    (b"\xef\xbb\xbfCREATE TABLE t (x text);\n\xc3\x28",
     ":2:1: not valid UTF-8 (byte 0xc3 at offset 28"),
    (b"\xef\xbb\xbfCREATE TABLE t (x text);\n",
     ":1:1: starts with a UTF-8 byte order mark; PostgreSQL reads it as part of the first"),
], ids=["latin1", "nul", "bom-then-truncated", "bom"])
def test_undecodable_sql_is_refused_by_name(project: Project, tmp_path: Path, data: bytes,
                                            message: str) -> None:
    folder = project.folder("sqlite")
    sql = next(folder.glob("0001_*.sql"))
    sql.write_bytes(data)
    db = tmp_path / "app.db"
    for command in ("migrate", "status"):
        result = run(command, "--database", f"sqlite:///{db}", "--migrations", str(folder))
        assert result.exit_code == 2, result.output
        assert f"{sql}{message}" in result.stderr
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not db.exists()
    checked = run("check", "--project", str(project.root))
    assert checked.exit_code == 1
    assert message in checked.stderr
    assert checked.exception is None or isinstance(checked.exception, SystemExit)


@pytest.mark.parametrize("body", [
    "-- Custom SQL migration file, put your code below! --\n",
    "",
    "   \n\n",
    "/* nothing */\n-- still nothing\n;\n",
    sql_file("-- a", "-- b"),
])
def test_migration_without_statement_is_refused(body: str, tmp_path: Path,
                                                sqlite_url: str) -> None:
    folder = write_folder(tmp_path / "m", [("0000_a", "CREATE TABLE a (x integer);"),
                                           ("0001_backfill", body)])
    result = run("migrate", "--database", sqlite_url, "--migrations", str(folder))
    assert result.exit_code == 1, result.output
    assert "[empty] 0001_backfill.sql has no SQL statement (only comments or whitespace)" \
        in result.stderr
    assert sqlite_rows(sqlite_path(sqlite_url), "SELECT name FROM sqlite_master") == []
    status = run("status", "--database", sqlite_url, "--migrations", str(folder))
    assert "0001_backfill" in status.stdout and "empty" in status.stdout
    assert "problem: [empty]" in status.stdout


def test_untouched_custom_migration_is_refused_then_applies(project: Project,
                                                            tmp_path: Path) -> None:
    assert run("new", "backfill", "--project", str(project.root)).exit_code == 0
    folder = project.folder("sqlite")
    custom = next(folder.glob("*_backfill.sql"))
    assert custom.read_text().endswith("\n")  # so `echo ... >>` starts a new line
    url = f"sqlite:///{tmp_path / 'app.db'}"
    refused = run("migrate", "--database", url, "--migrations", str(folder))
    assert refused.exit_code == 1 and f"[empty] {custom.name}" in refused.stderr
    with custom.open("a") as handle:  # what `echo "UPDATE ..." >> file` does
        handle.write('UPDATE "users" SET "name" = trim("name");\n')
    done = run("migrate", "--database", url, "--migrations", str(folder))
    assert done.exit_code == 0, done.output
    assert f"applied {custom.stem} (1 statements" in done.stdout


# --- adopted folders: drizzle-kit 0.x journals and inherited history ----------------------


def test_old_pg_journal_is_accepted_by_the_runner(tmp_path: Path, pg_url: str) -> None:
    """drizzle-kit 0.x wrote `"dialect": "pg"` (journal version 5); drizzle-orm applies it."""
    folder = write_folder(tmp_path / "m", [("0000_a", "CREATE TABLE a (x integer);")],
                          dialect="postgres")
    edit_journal(folder, lambda j: j.update(version="5", dialect="pg") or
                 j["entries"][0].update(version="5"))
    done = run("migrate", "--database", pg_url, "--migrations", str(folder))
    assert done.exit_code == 0, done.output
    assert "applied 0000_a" in done.stdout
    status = run("status", "--database", pg_url, "--migrations", str(folder))
    assert status.exit_code == 0 and "1 applied, 0 pending" in status.stdout
    wrong = run("migrate", "--database", f"sqlite:///{tmp_path / 'x.db'}",
                "--migrations", str(folder))
    assert wrong.exit_code == 2 and "holds pg migrations" in wrong.stderr


def test_check_lints_inherited_history_as_warnings(project: Project) -> None:
    folder = project.folder("sqlite")
    entries = json.loads((folder / "meta" / "_journal.json").read_text())["entries"]
    edit_journal(folder, set_entry(1, "idx", 5))
    (folder / "0007_orphan.sql").write_text("DROP TABLE users;\n")
    snapshot = folder / "meta" / "0001_snapshot.json"
    doc = json.loads(snapshot.read_text())
    doc["prevId"] = "00000000-0000-4000-8000-00000000abcd"
    snapshot.write_text(json.dumps(doc, indent=2))
    accept_as_is(project)
    checked = run("check", "--project", str(project.root))
    assert checked.exit_code == 0, checked.output
    lines = [line for line in checked.stderr.splitlines() if line.startswith("warning: ")]
    assert lines == [
        f"warning: sqlite: {entries[1]['tag']}: idx 5 follows idx 0 (a gap or a jump in the "
        "numbering); harmless to runners, which apply entries in journal order and ignore idx",
        "warning: sqlite: 0007_orphan.sql is not named by any journal entry, so no runner "
        "(drizzle-orm's or agorschema's) will ever apply it: add it to the journal or delete it",
        "warning: sqlite: meta/0001_snapshot.json: prevId 00000000-0000-4000-8000-00000000abcd "
        "is not the id of the previous snapshot meta/0000_snapshot.json "
        f"({json.loads((folder / 'meta' / '0000_snapshot.json').read_text())['id']}): the "
        "snapshot chain is broken here (a regenerated or hand-edited snapshot); runners ignore "
        "snapshots",
    ]
    assert "ok: schema, generated files and migrations agree" in checked.stdout
    as_json = run("check", "--project", str(project.root), "--format", "json")
    envelope = json.loads(as_json.stdout)
    assert envelope["ok"] is True and len(envelope["warnings"]) == 3
    assert envelope["result"]["warnings"][1].startswith("sqlite: 0007_orphan.sql")


def test_check_survives_a_snapshot_that_is_not_utf8(project: Project) -> None:
    (project.folder("sqlite") / "meta" / "0001_snapshot.json").write_bytes(b'{"id": "\xff"}')
    checked = run("check", "--project", str(project.root))
    assert checked.exit_code == 1
    assert "0001_snapshot.json" in checked.stderr and "Traceback" not in checked.output
    assert checked.exception is None or isinstance(checked.exception, SystemExit)


CORPUS_WARNINGS = [
    # corpus, how many warnings, fragments that must be among them
    ("usekaneo__kaneo__postgresql", None, [
        "0006_rename_active_workspace_to_organization: its when 1733703124000 is before the "
        "when of the earlier entry 0005_jittery_monster_badoon (1759234332200); drizzle-orm's "
        "runtime would skip it on any database where 0005_jittery_monster_badoon is already "
        "applied",
        "0006_rename_active_workspace_to_organization has no snapshot (meta/0006_snapshot.json)",
    ]),
    ("Dokploy__dokploy__postgresql", 2, [
        "0130_abandoned_dagger.sql is not named by any journal entry, so no runner",
        "meta/0066_snapshot.json: prevId 9cb79f1e-14c2-4deb-b1ab-a1d038f72356 is not the id of "
        "the previous snapshot meta/0065_snapshot.json",
    ]),
    ("agor/sqlite-2025-11", 1, ["0008_stale_marauders: idx 8 follows idx 5"]),
    ("dittofeed__dittofeed__postgresql", 0, []),
    ("homarr-labs__homarr__sqlite", 0, []),
]


@pytest.mark.parametrize("name,count,fragments", CORPUS_WARNINGS,
                         ids=[c[0] for c in CORPUS_WARNINGS])
def test_real_histories_lint(name: str, count: int | None, fragments: list[str],
                             shared_dir: Path, tmp_path: Path) -> None:
    from test_corpus_histories import corpus_folder

    from agor_schema.history_lint import lint_history
    from agor_schema.journal import read_journal

    folder = corpus_folder(shared_dir, name, tmp_path)
    warnings = lint_history(folder, read_journal(folder))
    if count is not None:
        assert len(warnings) == count, warnings
    for fragment in fragments:
        assert any(fragment in w for w in warnings), (fragment, warnings)
