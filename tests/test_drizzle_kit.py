"""drizzle-kit itself accepts what agorschema writes.

* `drizzle-kit check` finds the committed drizzle/sqlite and drizzle/postgres folders valid
  (snapshot versions, strict snapshot schemas, no prevId collisions).
* `drizzle-kit generate`, given the generated drizzle-orm TypeScript schemas, sees exactly our
  latest snapshots: "No schema changes" and no file written, for both dialects.

drizzle-kit is installed with npm into a cache dir under /tmp; without Node/npm the tests
skip (and fail under CI=true).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import missing

REPO = Path(__file__).resolve().parents[1]
NPM_PACKAGES = ("drizzle-kit@0.31.5", "drizzle-orm@0.44.7")
FOLDERS = {"sqlite": "sqlite", "postgresql": "postgres"}


@pytest.fixture(scope="session")
def drizzle_kit() -> Path:
    """A cache dir whose node_modules holds drizzle-kit and drizzle-orm."""
    npm = shutil.which("npm")
    if not shutil.which("node") or not npm:
        missing("Node.js/npm not installed: cannot run drizzle-kit")
    key = hashlib.sha256(" ".join(NPM_PACKAGES).encode()).hexdigest()[:12]
    cache = Path("/tmp") / f"agorschema-drizzle-kit-{key}"
    if not (cache / "node_modules" / ".bin" / "drizzle-kit").exists():
        cache.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", *NPM_PACKAGES],
            cwd=cache, capture_output=True, text=True, timeout=300,
        )
        if done.returncode != 0:
            missing(f"npm install {' '.join(NPM_PACKAGES)} failed: {done.stderr[-500:]}")
    return cache


def _workspace(cache: Path, tmp_path: Path) -> Path:
    """A folder inside the cache (so `drizzle-orm` resolves) holding copies of our outputs."""
    work = cache / "work" / tmp_path.name
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(REPO / "drizzle", work / "drizzle")
    for ts in (REPO / "generated").glob("schema.*.ts"):
        shutil.copy(ts, work / ts.name)
    return work


def _kit(cache: Path, work: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(cache / "node_modules" / ".bin" / "drizzle-kit"), *args],
                          cwd=work, capture_output=True, text=True, timeout=180)


def _listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("dialect", sorted(FOLDERS))
def test_drizzle_kit_check_accepts_our_folders(drizzle_kit: Path, tmp_path: Path,
                                               dialect: str) -> None:
    work = _workspace(drizzle_kit, tmp_path)
    done = _kit(drizzle_kit, work, "check", "--dialect", dialect,
                "--out", f"drizzle/{FOLDERS[dialect]}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Everything's fine" in done.stdout + done.stderr


@pytest.mark.parametrize("dialect", sorted(FOLDERS))
def test_drizzle_kit_generate_sees_no_change(drizzle_kit: Path, tmp_path: Path,
                                             dialect: str) -> None:
    work = _workspace(drizzle_kit, tmp_path)
    folder = work / "drizzle" / FOLDERS[dialect]
    before = _listing(folder)
    done = _kit(drizzle_kit, work, "generate", "--dialect", dialect,
                "--schema", f"./schema.{FOLDERS[dialect]}.ts", "--out", f"drizzle/{FOLDERS[dialect]}")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "No schema changes" in output, output
    assert _listing(folder) == before


@pytest.mark.parametrize("dialect", sorted(FOLDERS))
def test_drizzle_kit_sees_no_change_for_every_new_type(drizzle_kit: Path, tmp_path: Path,
                                                       dialect: str) -> None:
    """A project with every type of tests/test_types.py (enums also outside public, arrays of
    enums, declared types, serials, timestamp variants), compiled in two steps (a new enum
    value and a rename in the second): drizzle-kit reads our TypeScript as our snapshot."""
    import copy

    from catalog import Project
    from test_types import TYPES_SCHEMA, TYPES_TABLE

    work = drizzle_kit / "work" / f"types-{tmp_path.name}"
    shutil.rmtree(work, ignore_errors=True)
    project = Project(work)
    project.write({"t": TYPES_TABLE}, **TYPES_SCHEMA)
    project.compile()
    later = copy.deepcopy(TYPES_SCHEMA)
    later["enums"]["mood"] = ["sad", "fine", "ok", {"name": "its", "renamed_from": "it's"}]
    project.write({"t": TYPES_TABLE}, **later)
    project.compile()
    folder = project.folder(FOLDERS[dialect])
    before = _listing(folder)
    done = _kit(drizzle_kit, work, "generate", "--dialect", dialect,
                "--schema", f"./generated/schema.{FOLDERS[dialect]}.ts",
                "--out", f"drizzle/{FOLDERS[dialect]}")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "No schema changes" in output, output
    assert _listing(folder) == before
    shutil.rmtree(work, ignore_errors=True)
