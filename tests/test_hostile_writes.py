"""`import`, `pull` and `undo` write all or nothing when the file system refuses a write
part way (agor_schema.writes, the mechanism compile uses).

As root, permission bits do not stop a write, so a write is made to fail the ways root
meets too: a folder where a file must go, or an immutable file (`chattr +i`, skipped where
the file system has no such flag). Each case runs the real CLI and checks that every file
of the project is byte-identical afterwards, that the error names the file (exit 2), and
that the command works once the obstacle is gone.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from hostile_helpers import tree_digest

from agor_schema.cli import main

V1 = """\
tables:
  users:
    columns:
      id: {type: integer, primary_key: true}
      name: {type: text, not_null: true}
"""
V2 = V1 + "      email: {type: text}\n"


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    for name in ("DATABASE_URL", "AGORSCHEMA_DATABASE_URL", "AGORSCHEMA_CACHE",
                 "AGORSCHEMA_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)


def run(root: Path, *args: str) -> tuple[int, dict]:
    done = CliRunner().invoke(main, [*args, "--project", str(root), "--format", "json"])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    assert "Traceback" not in done.output, done.output
    envelope = json.loads(done.stdout)
    assert envelope["exit_code"] == done.exit_code
    return done.exit_code, envelope


def project(root: Path, schema: str = V1, settings: str = "") -> Path:
    (root / "schema").mkdir(parents=True)
    (root / "pyproject.toml").write_text(f"[project]\nname = \"x\"\n\n[tool.agorschema]\n"
                                         f"{settings}", encoding="utf-8")
    (root / "schema" / "app.yaml").write_text(schema, encoding="utf-8")
    return root


def everything(root: Path) -> dict[str, str]:
    """Every file and folder of the project, the cache with the undo records included."""
    digest = tree_digest(root)
    cache = root / ".agorschema-cache"
    digest.update({f"cache/{k}": v for k, v in tree_digest(cache).items()} if cache.is_dir()
                  else {})
    return digest


@contextmanager
def immutable(path: Path) -> Iterator[None]:
    """`path` cannot be written, replaced or deleted (even by root) while inside."""
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"no immutable files here: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def blocked(path: Path) -> None:
    """Put a non-empty folder where the file `path` is."""
    path.unlink()
    path.mkdir()
    (path / "keep").write_text("a folder where a file must go")


def unblock(path: Path, data: bytes) -> None:
    shutil.rmtree(path)
    path.write_bytes(data)


# ---------------------------------------------------------------------------------- import


def drizzle_folders(tmp_path: Path) -> Path:
    """A project holding drizzle-kit folders (compiled by agorschema from V2) and no schema."""
    source = project(tmp_path / "source", V2, 'dialects = ["sqlite", "postgres"]\n')
    code, envelope = run(source, "compile")
    assert code == 0, envelope
    root = tmp_path / "adopter"
    root.mkdir()
    shutil.copytree(source / "drizzle", root / "drizzle")
    (root / "drizzle" / "agorschema.sum").unlink()
    (root / "pyproject.toml").write_text('[project]\nname = "adopter"\n', encoding="utf-8")
    return root


def test_import_whose_settings_write_fails_leaves_no_schema(tmp_path: Path):
    """The schema is written first; pyproject.toml cannot be replaced: the schema goes."""
    root = drizzle_folders(tmp_path)
    before = everything(root)
    args = ("import", "--sqlite", str(root / "drizzle" / "sqlite"),
            "--postgres", str(root / "drizzle" / "postgres"))
    with immutable(root / "pyproject.toml"):
        code, envelope = run(root, *args)
        assert code == 2, envelope
        error = envelope["errors"][0]
        assert "nothing was written" in error["message"]
        assert error["file"] == str(root / "pyproject.toml")
        assert everything(root) == before
        assert not (root / "schema").exists()
    code, envelope = run(root, *args)
    assert code == 0, envelope
    assert (root / "schema" / "schema.yaml").is_file()
    assert "migration_folders" in (root / "pyproject.toml").read_text()


def test_import_onto_a_folder_in_place_of_the_schema_file_writes_nothing(tmp_path: Path):
    root = drizzle_folders(tmp_path)
    (root / "schema" / "schema.yaml").mkdir(parents=True)
    (root / "schema" / "schema.yaml" / "keep").write_text("x")
    before = everything(root)
    code, envelope = run(root, "import", "--sqlite", str(root / "drizzle" / "sqlite"),
                         "--force")
    assert code == 2, envelope
    assert envelope["errors"][0]["file"] == str(root / "schema" / "schema.yaml")
    assert everything(root) == before


# ------------------------------------------------------------------------------------ pull


def test_pull_onto_an_unwritable_schema_file_keeps_it(tmp_path: Path):
    db = tmp_path / "app.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE things (id integer PRIMARY KEY, label text NOT NULL)")
    conn.close()
    root = project(tmp_path / "p")
    target = root / "schema" / "app.yaml"
    before = everything(root)
    with immutable(target):
        code, envelope = run(root, "pull", "--database", f"sqlite:///{db}", "--out",
                             str(target), "--force")
        assert code == 2, envelope
        assert envelope["errors"][0]["file"] == str(target)
        assert everything(root) == before  # no temp file left beside it either
    blocked(target)
    before = everything(root)
    code, envelope = run(root, "pull", "--database", f"sqlite:///{db}", "--out",
                         str(target), "--force")
    assert code == 2, envelope
    assert everything(root) == before
    unblock(target, V1.encode())
    code, envelope = run(root, "pull", "--database", f"sqlite:///{db}", "--out",
                         str(target), "--force")
    assert code == 0, envelope
    assert "things:" in target.read_text()


# ------------------------------------------------------------------------------------ undo


def compiled_twice(tmp_path: Path) -> tuple[Path, str]:
    """V1 compiled and applied to a real SQLite file, then V2 compiled (not applied)."""
    root = project(tmp_path / "p", V1, 'dialects = ["sqlite", "postgres"]\n')
    assert run(root, "compile")[0] == 0
    url = f"sqlite:///{tmp_path / 'app.db'}"
    assert run(root, "migrate", "--database", url)[0] == 0
    (root / "schema" / "app.yaml").write_text(V2, encoding="utf-8")
    code, envelope = run(root, "compile")
    assert code == 0, envelope
    assert (root / "drizzle" / "sqlite" / "0001_add_users_email.sql").is_file()
    return root, url


def test_undo_that_cannot_restore_a_file_puts_everything_back(tmp_path: Path):
    """The created migrations are deleted and the journals restored before generated/ is
    written: a folder in place of a generated file stops it there, and all comes back."""
    root, url = compiled_twice(tmp_path)
    generated = root / "generated" / "schema.sqlite.ts"
    data = generated.read_bytes()
    blocked(generated)
    before = everything(root)
    code, envelope = run(root, "undo", "--database", url)
    assert code == 2, envelope
    assert envelope["errors"][0]["file"] == str(generated)
    assert "nothing was changed" in envelope["errors"][0]["message"]
    assert everything(root) == before
    unblock(generated, data)
    code, envelope = run(root, "undo", "--database", url)
    assert code == 0, envelope
    assert not (root / "drizzle" / "sqlite" / "0001_add_users_email.sql").exists()
    assert run(root, "compile")[0] == 0  # the same migration again, then it applies
    assert run(root, "migrate", "--database", url)[0] == 0
    conn = sqlite3.connect(tmp_path / "app.db")
    assert [r[1] for r in conn.execute("PRAGMA table_info(users)")] == ["id", "name", "email"]
    conn.close()


def test_undo_whose_checksum_write_fails_puts_everything_back(tmp_path: Path):
    """The checksum file is written last, after every deletion and restore."""
    root, url = compiled_twice(tmp_path)
    migration = root / "drizzle" / "sqlite" / "0001_add_users_email.sql"
    written = migration.read_bytes()
    before = everything(root)
    with immutable(root / "drizzle" / "agorschema.sum"):
        code, envelope = run(root, "undo", "--database", url)
        assert code == 2, envelope
        assert envelope["errors"][0]["file"] == str(root / "drizzle" / "agorschema.sum")
        assert everything(root) == before
    code, envelope = run(root, "undo", "--database", url)
    assert code == 0, envelope
    assert not migration.exists()
    assert run(root, "compile")[0] == 0
    assert migration.read_bytes() == written
