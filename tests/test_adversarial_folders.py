"""Adversarial review of what the commands read from migration folders (a hand edit, a bad
merge or a hostile commit): each damaged file is refused by name in exactly one JSON
envelope, no traceback, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_helpers import make_project, tree_digest
from test_adversarial import run_json

DEEP = 100_000  # far beyond the JSON parser's recursion limit

DAMAGED = [
    # (id, bytes of the latest snapshot, words of the message (or of either message))
    ("truncated", lambda good: good[:50], "cannot read snapshot"),
    ("not-utf8", lambda good: b'{"x": "\xff"}', "cannot read snapshot"),
    ("array", lambda good: b"[1]", ("must be a JSON object", "not a drizzle-kit snapshot")),
    ("deeply-nested", lambda good: b'{"tables": {}, "x": ' + b"[" * DEEP + b"]" * DEEP + b"}",
     "maximum recursion depth"),
]
# what each command must answer: exit code (check, compile and new list the damage among
# the folder's problems; verify and import cannot read the folder at all)
COMMANDS = {"check": ("check",), "compile": ("compile",), "new": ("new", "backfill"),
            "verify": ("verify",), "import": ("import", "--sqlite", "drizzle/sqlite",
                                              "--out", "schema/imported.yaml")}
EXIT = {"check": 1, "compile": 1, "new": 1, "verify": 2, "import": 2}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "AGORSCHEMA_DATABASE_URL", "AGORSCHEMA_VERIFY_PG_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("case", DAMAGED, ids=[c[0] for c in DAMAGED])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_damaged_latest_snapshot_is_refused_by_name(case, command: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: check, compile and new crashed with a traceback (no envelope) on a snapshot
    that is a JSON array or nests deeper than the parser's recursion limit; verify also on a
    truncated or non-UTF-8 one; import on the deeply nested one."""
    _id, damage, words = case
    root = make_project(tmp_path / "project")
    assert run_json(root, "compile")[0] == 0
    snapshot = root / "drizzle" / "sqlite" / "meta" / "0000_snapshot.json"
    snapshot.write_bytes(damage(snapshot.read_bytes()))
    monkeypatch.chdir(root)
    before = tree_digest(root)
    code, doc = run_json(root, *COMMANDS[command])
    assert code == EXIT[command], doc
    words = (words,) if isinstance(words, str) else words
    assert any(any(w in e["message"] for w in words) and "0000_snapshot.json" in e["message"]
               for e in doc["errors"]), doc
    assert tree_digest(root) == before


# --- verify never changes a user's database ------------------------------------------------


@pytest.mark.parametrize("spelling", ["dbname", "%64bname"])
def test_verify_never_replays_into_the_database_a_url_parameter_names(
        spelling: str, tmp_path: Path, pg_admin_url: str, pg_url: str) -> None:
    """`--pg-url postgresql://admin@host/postgres?dbname=app` names the server; libpq lets
    the query's dbname (also percent-encoded) win over the path. Before: verify swapped only
    the path for its throwaway database's name, so it replayed the whole history into `app`
    (and compared `app`, not the replay)."""
    from urllib.parse import urlsplit

    from hostile_helpers import pg_canary, pg_fingerprint
    from pg_cluster import connect, with_database

    root = make_project(tmp_path / "project")
    assert run_json(root, "compile")[0] == 0
    with connect(pg_url) as conn:
        pg_canary(conn)
        before = pg_fingerprint(conn)
    server = with_database(pg_admin_url, "postgres")
    user_db = urlsplit(pg_url).path.lstrip("/")
    server += ("&" if "?" in server else "?") + f"{spelling}={user_db}"
    code, doc = run_json(root, "verify", "--pg-url", server)
    assert code == 0, doc
    with connect(pg_url) as conn:
        assert pg_fingerprint(conn) == before  # no users table, no bookkeeping schema


# --- a new migration never overwrites a file that is already there ---------------------------

IN_THE_WAY = [
    # (command, the file a user wrote by hand before running it)
    (("new", "backfill"), "drizzle/sqlite/0001_backfill.sql"),
    (("compile",), "drizzle/postgres/0001_add_users_extra.sql"),
]


@pytest.mark.parametrize("command, rel", IN_THE_WAY, ids=["new", "compile"])
def test_a_hand_written_file_in_the_way_of_a_new_migration_is_never_overwritten(
        command: tuple[str, ...], rel: str, tmp_path: Path) -> None:
    """Before: `new backfill` replaced a hand-written drizzle/sqlite/0001_backfill.sql (not
    yet in the journal) with the empty template, and compile replaced a file of the same
    name with its generated SQL, both saying only `wrote ...`."""
    from hostile_helpers import BASE

    root = make_project(tmp_path / "project")
    assert run_json(root, "compile")[0] == 0
    (root / "schema" / "app.yaml").write_text(
        BASE + ("      extra: {type: text}\n" if command == ("compile",) else ""))
    mine = root / rel
    mine.write_text("UPDATE users SET n = 42;  -- my backfill\n", encoding="utf-8")
    before = tree_digest(root)
    code, doc = run_json(root, *command)
    assert code == 1, doc
    [error] = doc["errors"]
    assert "already exists but no journal entry names it" in error["message"], error
    assert error["file"] == str(mine) and error["migration"] == mine.stem, error
    assert tree_digest(root) == before
    mine.unlink()  # moved away: the command works
    assert run_json(root, *command)[0] == 0


# --- a database URL naming a file that is not a database -------------------------------------

NOT_A_DATABASE = {"migrate": 1, "status": 1, "diff": 2, "pull": 2}


@pytest.mark.parametrize("command", list(NOT_A_DATABASE))
def test_a_file_that_is_not_a_sqlite_database_is_refused_by_name(command: str,
                                                                  tmp_path: Path) -> None:
    """Before: diff and pull crashed with `sqlite3.DatabaseError: file is not a database`
    (a traceback, no envelope); migrate and status already said so."""
    root = make_project(tmp_path / "project")
    assert run_json(root, "compile")[0] == 0
    notes = root / "notes.db"
    notes.write_text("these are my notes, not a database\n" * 100, encoding="utf-8")
    before = tree_digest(root)
    args = [command, "--database", f"sqlite:///{notes}"]
    if command == "pull":
        args += ["--out", str(root / "schema" / "pulled.yaml")]
    code, doc = run_json(root, *args)
    assert code == NOT_A_DATABASE[command], doc
    assert "file is not a database" in doc["errors"][0]["message"], doc
    assert tree_digest(root) == before
