"""Differential runs of the real CLI: one project, three copies, each command run three ways.

- `slow`: `AGORSCHEMA_CACHE=0` and `AGORSCHEMA_JOBS=1` (no cache, one process): the reference;
- `cold`: the project's cache folder removed before every command, and `AGORSCHEMA_JOBS=2`
  (the second dialect computed in a forked child, however small the schema);
- `warm`: the defaults, with the cache kept from run to run.

Every fast path (the sealed cache, per-table memos, parallel dialects, check's comment-line
shortcut) must give what the slow path gives: the same exit code, the same stdout and
stderr (text and `--format json`), the same files on disk. The only allowed difference is
check's note that it compiled the schema again (it says which path was taken).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# AGORSCHEMA_TEST_CLI: another `agorschema` executable to compare (e.g. a branch's checkout)
AGORSCHEMA = os.environ.get("AGORSCHEMA_TEST_CLI") or str(Path(sys.executable).with_name("agorschema"))
CACHE = ".agorschema-cache"
WAYS = ("slow", "cold", "warm")
RECOMPILED_NOTE = "so the schema was compiled again to compare"
# the projects the differential tests compile: both dialects, the default folders
PYPROJECT = ('[tool.agorschema]\nschema = "schema"\ngenerated = "generated"\n'
             'migrations = "drizzle"\ndialects = ["sqlite", "postgres"]\n')


def env_for(way: str, xdg: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AGORSCHEMA_") and k not in ("DATABASE_URL",)}
    env.update(XDG_CACHE_HOME=str(xdg), SOURCE_DATE_EPOCH="1700000000", NO_COLOR="1",
               COLUMNS="200")
    if way == "slow":
        env.update(AGORSCHEMA_CACHE="0", AGORSCHEMA_JOBS="1")
    elif way == "cold":
        env.update(AGORSCHEMA_JOBS="2")
    return env


def run(root: Path, way: str, xdg: Path, *args: str, timeout: float = 120
        ) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `agorschema ARGS --project ROOT`, the root's path
    replaced by `<root>` so that copies at different paths compare."""
    if way == "cold":
        shutil.rmtree(root / CACHE, ignore_errors=True)
    out = subprocess.run([AGORSCHEMA, *args, "--project", str(root)], capture_output=True,
                         text=True, env=env_for(way, xdg), timeout=timeout, cwd=root)
    assert "Traceback" not in out.stderr, out.stderr
    real = str(root.resolve())
    return (out.returncode, out.stdout.replace(real, "<root>").replace(str(root), "<root>"),
            out.stderr.replace(real, "<root>").replace(str(root), "<root>"))


def tree(root: Path) -> dict[str, bytes]:
    """Every file of the project but the cache (generated/, migration folders, checksums,
    the schema itself)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and CACHE not in p.relative_to(root).parts}


def _without_recompiled_note(args: tuple[str, ...], result: tuple[int, str, str]
                             ) -> tuple[int, str, str]:
    """check says when it compiled the schema again: the one thing a fast path may change."""
    if args[:1] != ("check",):
        return result
    code, stdout, stderr = result
    if "--format" in args:
        doc = json.loads(stdout)
        payload = doc.get("result") or {}
        if isinstance(payload.get("notes"), list):
            payload["notes"] = [n for n in payload["notes"] if RECOMPILED_NOTE not in n]
        payload.pop("recompiled", None)
        stdout = json.dumps(doc, indent=1, sort_keys=True)
    else:
        stdout = "\n".join(line for line in stdout.splitlines() if RECOMPILED_NOTE not in line)
        stderr = "\n".join(line for line in stderr.splitlines() if RECOMPILED_NOTE not in line)
    return code, stdout, stderr


class Copies:
    """The same project at three paths, one per way."""

    def __init__(self, base: Path, xdg: Path) -> None:
        self.roots = {way: base / way for way in WAYS}
        self.xdg = xdg

    def make(self, files: dict[str, bytes]) -> None:
        """Write the same files (relative path -> bytes) into every copy."""
        for root in self.roots.values():
            for rel, data in files.items():
                path = root / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)

    def copy_from(self, source: Path, only: str | None = None) -> None:
        """Every copy (or the `only` one) becomes `source` (but its cache)."""
        for way, root in self.roots.items():
            if only is not None and way != only:
                continue
            shutil.rmtree(root, ignore_errors=True)
            shutil.copytree(source, root, symlinks=True,
                            ignore=shutil.ignore_patterns(CACHE))

    def run_all(self, *args: str) -> dict[str, tuple[int, str, str]]:
        with ThreadPoolExecutor(len(WAYS)) as pool:
            futures = {way: pool.submit(run, root, way, self.xdg, *args)
                       for way, root in self.roots.items()}
            return {way: _without_recompiled_note(args, f.result())
                    for way, f in futures.items()}

    def same(self, *args: str, context: object = None,
             ways: tuple[str, ...] = ("cold", "warm")) -> tuple[int, str, str]:
        """Run `args` in every copy; assert identical outputs and trees; the slow result.
        `ways`: the copies compared with the slow one (a command whose records live in the
        cache folder, `undo`, cannot run in the cold one: it is then given the slow one's
        files afterwards)."""
        results = self.run_all(*args)
        for way in ways:
            assert results[way] == results["slow"], (way, args, context)
        trees = {way: tree(root) for way, root in self.roots.items()}
        for way in ways:
            if trees[way] != trees["slow"]:
                differ = sorted(k for k in set(trees[way]) | set(trees["slow"])
                                if trees[way].get(k) != trees["slow"].get(k))
                raise AssertionError((way, args, context, "files differ", differ))
        for way in set(self.roots) - {"slow", *ways}:
            self.copy_from(self.roots["slow"], only=way)
        return results["slow"]
