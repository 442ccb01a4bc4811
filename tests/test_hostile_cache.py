"""A cloned repository that commits files into `.agorschema-cache/` gets no code run and
changes no output.

The attacker compiles the project on their own machine (so every cache file has the name the
victim's agorschema will look for), then replaces each file with a payload that would create
a marker file when loaded: a pickle whose unpickling calls `exec`, an undo record that
deletes the schema and writes a script. Each payload comes in the old unsealed form (what
agorschema read before files were sealed) and sealed with the attacker's own key. The victim
runs the real CLI (`check`, `compile`, `undo`, `migrate`) with their own key: no marker, the
same bytes as a project with no cache at all, the same SQLite catalog.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pickle
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from agor_schema import sealed

AGORSCHEMA = str(Path(sys.executable).with_name("agorschema"))
CACHE = ".agorschema-cache"
SCHEMA = """\
tables:
  users:
    columns:
      id: {type: integer, primary_key: true}
      name: {type: text, not_null: true}
      email: {type: text, default: "''"}
    indexes:
      users_lower_name_idx: {expressions: ["lower(name)"]}
    checks:
      name_not_empty: "length(name) > 0"
"""
EDITED = SCHEMA + "  posts:\n    columns:\n      id: {type: integer, primary_key: true}\n"


def run(root: Path, xdg: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("AGORSCHEMA_CACHE", "AGORSCHEMA_CACHE_DIR", "DATABASE_URL",
                        "AGORSCHEMA_DATABASE_URL")}
    env.update(XDG_CACHE_HOME=str(xdg), SOURCE_DATE_EPOCH="1700000000")
    out = subprocess.run([AGORSCHEMA, *args, "--project", str(root)], capture_output=True,
                         text=True, env=env, timeout=120)
    assert "Traceback" not in out.stderr, out.stderr
    return out


def make(root: Path, schema: str = SCHEMA) -> Path:
    (root / "schema").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[tool.agorschema]\nschema = "schema"\ndialects = ["sqlite", "postgres"]\n')
    (root / "schema" / "app.yaml").write_text(schema)
    return root


def outputs(root: Path) -> dict[str, bytes]:
    """What compile writes: every file outside the cache and the schema."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).parts[0] not in (CACHE, "schema")
            and p.suffix != ".db"}


def catalog(db: Path) -> list:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY 1, 2").fetchall()
    finally:
        conn.close()


# ------------------------------------------------------------------------------ payloads


def exec_pickle(marker: Path) -> bytes:
    """A pickle whose loading runs `open(marker, 'w')`."""

    class Payload:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w').write('pwned')",))

    return pickle.dumps({"__fingerprint__": "x", "k": Payload()}, protocol=2)


def undo_record(root: Path, fmt: int) -> tuple[bytes, bytes]:
    """(record, blob): an undo record that deletes the schema and writes `evil.sh`."""
    blob = b"#!/bin/sh\necho pwned\n"
    schema = (root / "schema" / "app.yaml").read_bytes()
    record = {"format": fmt, "command": "compile", "migrations": {},
              "created": {"schema/app.yaml": hashlib.sha256(schema).hexdigest()},
              "changed": {"evil.sh": {"before": hashlib.sha256(blob).hexdigest(),
                                      "after": None}},
              "source_before": None, "sum_before": {}}
    return json.dumps(record).encode(), blob


def forged(purpose: str, data: bytes, key: bytes = b"k" * 32) -> bytes:
    """`data` sealed with someone else's key (the format is public, the key is not)."""
    mac = hmac.new(key, purpose.encode() + b"\0", hashlib.sha256)
    mac.update(data)
    return b"agorschema-sealed-1\n" + mac.digest() + data


def plant(root: Path, marker: Path, how: str) -> None:
    """Replace every cache file of `root` by a payload, unsealed (`raw`) or forged."""
    cache = root / CACHE
    pickles = sorted(cache.glob("*.pickle"))
    assert {p.name.split("-")[0] for p in pickles} >= {"yaml", "expr", "datahash", "meaning"}
    for path in pickles:
        kind, fingerprint = path.stem.split("-", 1)
        data = exec_pickle(marker)
        path.write_bytes(data if how == "raw" else
                         forged(f"cache {kind} {fingerprint}", data))
    record, blob = undo_record(root, 2 if how == "raw" else 3)
    undo = cache / "undo"
    for old in undo.glob("*.json"):
        old.unlink()
    (undo / "blobs").mkdir(parents=True, exist_ok=True)
    (undo / "blobs" / hashlib.sha256(blob).hexdigest()).write_bytes(blob)
    (undo / "000001.json").write_bytes(record if how == "raw" else
                                       forged("undo record", record))


@pytest.mark.parametrize("how", ["raw", "forged"])
def test_a_poisoned_cache_runs_no_code_and_changes_no_output(tmp_path: Path, how: str):
    marker = tmp_path / "pwned"
    # the clean reference: no cache at all
    clean = make(tmp_path / "clean")
    env_off = tmp_path / "xdg-victim"
    assert run(clean, env_off, "compile").returncode == 0
    shutil.rmtree(clean / CACHE)
    # the attacker compiles (their own key), commits everything and poisons the cache
    hostile = make(tmp_path / "hostile")
    assert run(hostile, tmp_path / "xdg-attacker", "compile").returncode == 0
    plant(hostile, marker, how)
    assert outputs(hostile) == outputs(clean)

    victim = tmp_path / "xdg-victim"
    out = run(hostile, victim, "check")
    assert out.returncode == 0, out.stderr
    codes = []
    for root in (clean, hostile):  # a layout edit: check looks at the meaning records
        (root / "schema" / "app.yaml").write_text(SCHEMA.replace("name: {", "name:  {"))
        codes.append(run(root, victim, "check").returncode)
    assert codes == [0, 0]
    assert not marker.exists()
    for root in (clean, hostile):
        (root / "schema" / "app.yaml").write_text(EDITED)
        out = run(root, victim, "compile")
        assert out.returncode == 0, out.stderr
    assert not marker.exists()
    assert outputs(hostile) == outputs(clean)
    assert run(hostile, victim, "check").returncode == 0
    # the victim's cache replaced the planted files: a warm compile is the same again
    assert run(hostile, victim, "compile").returncode == 0
    assert outputs(hostile) == outputs(clean)
    for root in (clean, hostile):
        assert run(root, victim, "migrate", "--database",
                   f"sqlite:///{root / 'app.db'}").returncode == 0
    assert catalog(hostile / "app.db") == catalog(clean / "app.db")
    assert not marker.exists()


@pytest.mark.parametrize("how", ["raw", "forged"])
def test_a_planted_undo_record_is_refused_unread(tmp_path: Path, how: str):
    marker = tmp_path / "pwned"
    root = make(tmp_path / "p")
    victim = tmp_path / "xdg"
    assert run(root, victim, "compile").returncode == 0
    plant_undo = root / CACHE / "undo"
    record, blob = undo_record(root, 2 if how == "raw" else 3)
    (plant_undo / "blobs").mkdir(exist_ok=True)
    (plant_undo / "blobs" / hashlib.sha256(blob).hexdigest()).write_bytes(blob)
    (plant_undo / "999999.json").write_bytes(record if how == "raw" else
                                             forged("undo record", record))
    before = outputs(root)
    out = run(root, victim, "undo", "--force")
    assert out.returncode == 1
    assert "unreadable undo record" in out.stderr
    assert "not sealed with this user's key" in out.stderr
    assert (root / "schema" / "app.yaml").read_text() == SCHEMA
    assert not (root / "evil.sh").exists()
    assert outputs(root) == before
    assert not marker.exists()


def test_the_key_is_private_and_a_shared_one_is_not_used(tmp_path: Path):
    xdg = tmp_path / "xdg"
    root = make(tmp_path / "p")
    assert run(root, xdg, "compile").returncode == 0
    key = xdg / "agorschema" / "key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(key.read_bytes()) == sealed.KEY_BYTES
    assert list((root / CACHE).glob("*.pickle"))
    first = outputs(root)
    # a key others can read is not a secret: no cache is read or written with it
    shutil.rmtree(root / CACHE)
    key.chmod(0o644)
    for name in ("generated", "drizzle"):
        shutil.rmtree(root / name)
    out = run(root, xdg, "compile")
    assert out.returncode == 0, out.stderr
    assert outputs(root) == first
    assert not list((root / CACHE).glob("*.pickle"))


def test_without_a_key_there_is_no_cache_and_no_undo(tmp_path: Path):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder should be")
    root = make(tmp_path / "p")
    reference = make(tmp_path / "q")
    assert run(reference, tmp_path / "xdg", "compile").returncode == 0
    out = run(root, blocked, "compile")
    assert out.returncode == 0, out.stderr
    assert "note: no undo record was kept (no usable per-user key" in out.stdout, out.stdout
    assert outputs(root) == outputs(reference)
    assert not (root / CACHE).exists()
    out = run(root, blocked, "undo")
    assert out.returncode == 1 and "nothing to undo" in out.stderr


def test_a_file_where_the_cache_folder_should_be_is_said(tmp_path: Path):
    """With a key but `.agorschema-cache` a regular file, compile still writes the same
    files and says that it kept no undo record (text and JSON), rather than nothing."""
    import json

    root, reference = make(tmp_path / "p"), make(tmp_path / "q")
    (root / CACHE).write_text("not a folder")
    out = run(root, tmp_path / "xdg", "compile")
    assert out.returncode == 0, out.stderr
    assert "note: no undo record was kept (cannot write .agorschema-cache/undo/" in out.stdout
    assert run(reference, tmp_path / "xdg", "compile").returncode == 0
    assert outputs(root) == outputs(reference)
    (root / "schema" / "app.yaml").write_text(EDITED)
    doc = json.loads(run(root, tmp_path / "xdg", "compile", "--format", "json").stdout)
    assert doc["ok"] and any("no undo record was kept" in n for n in doc["result"]["notes"])
    assert (root / CACHE).read_text() == "not a folder"


def test_planted_symlinks_in_the_cache_folder_lead_nowhere(tmp_path: Path):
    """A committed `undo/blobs` link must not get an outside folder emptied, nor a dangling
    `.gitignore` link create a file elsewhere."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    root = make(tmp_path / "p")
    cache = root / CACHE
    (cache / "undo").mkdir(parents=True)
    (cache / "undo" / "blobs").symlink_to(outside, target_is_directory=True)
    (cache / ".gitignore").symlink_to(tmp_path / "created-elsewhere")
    xdg = tmp_path / "xdg"
    assert run(root, xdg, "compile").returncode == 0
    (root / "schema" / "app.yaml").write_text(EDITED)
    assert run(root, xdg, "compile").returncode == 0
    assert (outside / "precious.txt").read_text() == "keep me"
    assert sorted(p.name for p in outside.iterdir()) == ["precious.txt"]
    assert not (tmp_path / "created-elsewhere").exists()
