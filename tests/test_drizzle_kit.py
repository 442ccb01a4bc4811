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


def _scenario_project(root: Path) -> Path:
    """Every catalog scenario's schema (tests/catalog_scenarios.py) merged into one project,
    compiled for both dialects: each DSL feature in one drizzle round trip."""
    import yaml
    from catalog_scenarios import SCENARIOS

    from agor_schema.compiler import compile_project
    from agor_schema.config import load_config

    merged: dict = {}
    for scenario in SCENARIOS:
        for key, value in (yaml.safe_load(scenario.yaml) or {}).items():
            if isinstance(value, dict):
                overlap = set(merged.get(key, {})) & set(value)
                assert not overlap, f"scenario {scenario.name} reuses {key} {sorted(overlap)}"
                merged.setdefault(key, {}).update(value)
            else:
                merged[key] = value
    (root / "schema").mkdir(parents=True)
    (root / "schema" / "scenarios.yaml").write_text(
        yaml.safe_dump(merged, sort_keys=False, allow_unicode=True), encoding="utf-8")
    (root / "pyproject.toml").write_text('[tool.agorschema]\ndialects = ["sqlite", "postgres"]\n',
                                         encoding="utf-8")
    compile_project(load_config(root))
    return root


@pytest.mark.parametrize("dialect", sorted(FOLDERS))
def test_drizzle_kit_round_trips_every_scenario(drizzle_kit: Path, tmp_path: Path,
                                                dialect: str) -> None:
    """Generated columns, named keys, NULLS NOT DISTINCT, index methods/opclasses/ordering/
    storage parameters, interleaved parts, verbatim SQL (and whatever scenarios others add):
    drizzle-kit accepts our folder and, given our TypeScript, sees exactly our snapshot."""
    project = _scenario_project(tmp_path / "project")
    work = drizzle_kit / "work" / f"scenarios-{tmp_path.name}"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(project / "drizzle", work / "drizzle")
    for ts in (project / "generated").glob("schema.*.ts"):
        shutil.copy(ts, work / ts.name)
    out = f"drizzle/{FOLDERS[dialect]}"
    done = _kit(drizzle_kit, work, "check", "--dialect", dialect, "--out", out)
    assert done.returncode == 0 and "Everything's fine" in done.stdout + done.stderr, \
        done.stdout + done.stderr
    before = _listing(work / out)
    done = _kit(drizzle_kit, work, "generate", "--dialect", dialect,
                "--schema", f"./schema.{FOLDERS[dialect]}.ts", "--out", out)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "No schema changes" in output, output
    assert _listing(work / out) == before
