"""The compile cache (`.agorschema-cache/`): never changes output, survives corruption,
is invalidated by a new agorschema version, and makes a warm compile skip sqlglot and PyYAML."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import agor_schema
from agor_schema import cache, expr
from agor_schema.compiler import compile_project
from agor_schema.config import load_config
from agor_schema.dialects import get_dialect
from agor_schema.spec.types import parse_type

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _reproducible(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.delenv("AGORSCHEMA_CACHE", raising=False)
    monkeypatch.delenv("AGORSCHEMA_CACHE_DIR", raising=False)


def make_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "schema", root / "schema")
    return root


def compile_fresh(root: Path) -> dict[str, bytes]:
    """Compile from nothing (no generated/, no migrations) and return every written file."""
    for name in ("generated", "drizzle"):
        shutil.rmtree(root / name, ignore_errors=True)
    compile_project(load_config(root))
    out = {}
    for folder in ("generated", "drizzle"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file():
                out[str(path.relative_to(root))] = path.read_bytes()
    return out


def cache_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / cache.CACHE_DIRNAME).rglob("*") if p.is_file())


def test_warm_and_cold_compile_give_identical_bytes(tmp_path, monkeypatch):
    root = make_project(tmp_path / "p")
    cold = compile_fresh(root)
    kinds = {p.name.split("-")[0] for p in cache_files(root)}
    assert {"yaml", "expr"} <= kinds
    warm = compile_fresh(root)
    assert warm == cold
    monkeypatch.setenv("AGORSCHEMA_CACHE", "0")
    uncached = compile_fresh(make_project(tmp_path / "q"))
    assert uncached == cold
    # no cache entries; the folder holds only what `agorschema undo` needs
    assert [p.relative_to(tmp_path / "q" / cache.CACHE_DIRNAME).parts[0]
            for p in cache_files(tmp_path / "q")] == [".gitignore", "undo"]
    # the repository's own committed output is what a cached compile produces
    for rel in ("generated/sqlite.sql", "generated/postgres.sql", "generated/schema.sqlite.ts",
                "generated/schema.postgres.ts", "generated/agorschema.schema.json"):
        assert warm[rel] == (REPO / rel).read_bytes(), rel


def test_corrupt_cache_files_are_ignored(tmp_path):
    root = make_project(tmp_path / "p")
    cold = compile_fresh(root)
    files = cache_files(root)
    assert files
    for path in files:
        path.write_bytes(b"\x80\x04garbage, not a pickle nor bytecode")
    assert compile_fresh(root) == cold
    # and the corrupt files were replaced by good ones
    assert compile_fresh(root) == cold


def test_truncated_cache_file_is_ignored(tmp_path):
    root = make_project(tmp_path / "p")
    cold = compile_fresh(root)
    for path in cache_files(root):
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    assert compile_fresh(root) == cold


def test_a_new_agorschema_version_invalidates_the_cache(tmp_path, monkeypatch):
    root = make_project(tmp_path / "p")
    cold = compile_fresh(root)
    old = {p.name for p in cache_files(root) if p.suffix == ".pickle"}
    store = cache.for_project(root)
    before = store.fingerprint
    assert store._read("yaml")  # entries under the current version
    monkeypatch.setattr(agor_schema.version, "__version__", "999.0.0")
    store = cache.for_project(root)
    assert store.fingerprint != before
    assert store._read("yaml") == {}  # nothing is served across versions
    assert compile_fresh(root) == cold
    new = {p.name for p in cache_files(root) if p.suffix == ".pickle"}
    assert new.isdisjoint(old)  # rewritten under the new fingerprint, the old files pruned


def test_render_cache_key_includes_the_column_types(tmp_path):
    store = cache.Store(tmp_path / "c")
    previous = cache.activate(store)
    try:
        sqlite = get_dialect("sqlite")
        sql = "created_at > '2024-01-01'"
        as_ts = expr.render(sql, sqlite, {"created_at": parse_type("timestamp")})
        as_text = expr.render(sql, sqlite, {"created_at": parse_type("text")})
        assert as_ts != as_text
        assert "1704067200000" in as_ts
        store.save()
    finally:
        cache.activate(previous)
    warm = cache.Store(tmp_path / "c")
    previous = cache.activate(warm)
    try:
        assert expr.render(sql, sqlite, {"created_at": parse_type("text")}) == as_text
        assert expr.render(sql, sqlite, {"created_at": parse_type("timestamp")}) == as_ts
    finally:
        cache.activate(previous)


def test_a_warm_compile_imports_neither_sqlglot_nor_yaml_nor_jinja2(tmp_path):
    root = make_project(tmp_path / "p")
    compile_fresh(root)
    (root / "schema" / "zz_extra.yaml").write_text(
        "tables:\n  extra_things:\n    columns:\n      id: {type: integer, primary_key: true}\n"
    )
    compile_fresh(root)  # the new file is cached too
    shutil.rmtree(root / "generated")
    shutil.rmtree(root / "drizzle")
    script = (
        "import sys\n"
        "from agor_schema.compiler import compile_project\n"
        "from pathlib import Path\n"
        "from agor_schema.config import load_config\n"
        f"compile_project(load_config(Path({str(root)!r})))\n"
        "print(sorted(m for m in ('sqlglot', 'yaml', 'jinja2') if m in sys.modules))\n"
    )
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_the_shipped_json_schema_is_generated_from_the_models():
    from agor_schema.jsonschema import SHIPPED, dsl_json_schema_text, shipped_json_schema_text

    assert SHIPPED.read_text(encoding="utf-8") == dsl_json_schema_text(), (
        "refresh it with: python -m agor_schema.jsonschema"
    )
    assert shipped_json_schema_text() == dsl_json_schema_text()


def test_the_app_facing_migrate_imports_no_compiler_libraries(tmp_path):
    db = tmp_path / "app.db"
    script = (
        "import sys, agor_schema\n"
        f"agor_schema.migrate('sqlite:///{db}', {str(REPO / 'drizzle' / 'sqlite')!r})\n"
        "heavy = ('pydantic', 'sqlglot', 'jinja2', 'yaml', 'click', 'agor_schema.ops',\n"
        "         'agor_schema.snapshot', 'agor_schema.spec', 'agor_schema.dialects.base',\n"
        "         'agor_schema.dialects.sqlite')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, cwd=tmp_path)
    assert out.stdout.strip() == "[]"


def test_the_yaml_cache_holds_data_only_no_marks(tmp_path):
    import pickle

    from agor_schema.errors import Mark

    root = make_project(tmp_path / "p")
    compile_fresh(root)
    entries = cache.for_project(root)._read("yaml")
    entries.pop("__fingerprint__")
    assert entries
    for (name, _digest), blob in entries.items():
        data = pickle.loads(blob)
        assert isinstance(data, dict) and "tables" in data, name
        assert "Mark" not in repr(data) and Mark.__name__.encode() not in blob


def test_a_library_upgrade_that_keeps_sizes_and_mtimes_invalidates_the_cache(tmp_path):
    """Package stores such as Nix give every file the same mtime, and a version bump can keep
    a file's size (30.30.0 -> 30.31.0): the library's stamp follows its text."""
    pkg = tmp_path / "site" / "fakelib"
    pkg.mkdir(parents=True)
    version = pkg / "_version.py"
    version.write_text('__version__ = "30.30.0"\n')
    (pkg / "__init__.py").write_text("from ._version import __version__\n")
    os.utime(version, ns=(1_000_000_000, 1_000_000_000))
    sys.path.insert(0, str(tmp_path / "site"))
    try:
        before = cache._package_stamp("fakelib")
        version.write_text('__version__ = "30.31.0"\n')  # same size
        os.utime(version, ns=(1_000_000_000, 1_000_000_000))  # same mtime
        assert cache._package_stamp("fakelib") != before
    finally:
        sys.path.remove(str(tmp_path / "site"))
