"""Attacks on compile's fast paths through the real CLI: whatever happens to the cache or to a
run, the next answers are the slow path's (tests/differential.py: the `slow` copy runs with
no cache and in one process).

- the cache folder is a regular file, or sits where nothing can be written;
- compiles and checks run at the same time on one project and one cache;
- a compile is killed (SIGKILL) at some point of its run: whatever it left, the next
  compile and check with the warm cache answer as the slow path from the same files.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from differential import AGORSCHEMA, CACHE, PYPROJECT, Copies, env_for, run, tree

SCHEMA = """\
enums:
  status: [active, inactive]
tables:
  users:
    columns:
      id: {type: integer, primary_key: true}
      email: {type: varchar(120), not_null: true, unique: true}
      status: {type: enum(status), default: active}
  posts:
    columns:
      id: {type: integer, primary_key: true}
      user_id: {type: integer, references: users.id}
      title: {type: text, not_null: true}
    checks:
      title_not_empty: "length(title) > 0"
"""


def with_table(n: int) -> bytes:
    """SCHEMA with tables t0..t{n-1} added (each compile of a bigger one adds a migration)."""
    extra = "".join(f"  t{k}:\n    columns:\n      id: {{type: integer, primary_key: true}}\n"
                    f"      v: {{type: text, default: 'x{k}'}}\n" for k in range(n))
    return (SCHEMA + extra).encode()


@pytest.fixture
def copies(tmp_path: Path) -> Copies:
    made = Copies(tmp_path, tmp_path / "xdg")
    made.make({"pyproject.toml": PYPROJECT.encode(), "schema/app.yaml": SCHEMA.encode()})
    made.same("compile")
    return made


def _agree_from_warm_files(copies: Copies) -> None:
    """Give the other copies the warm copy's files (not its cache), then compare the next
    check, compile and check."""
    for way in ("slow", "cold"):
        shutil.rmtree(copies.roots[way])
        shutil.copytree(copies.roots["warm"], copies.roots[way],
                        ignore=shutil.ignore_patterns(CACHE))
    copies.same("check", "--format", "json")
    copies.same("compile", "--format", "json")


@pytest.mark.parametrize("where", ["file", "unwritable"])
def test_an_unusable_cache_location_changes_no_answer(copies: Copies, tmp_path: Path,
                                                      where: str) -> None:
    """A regular file where the cache folder should be, or AGORSCHEMA_CACHE_DIR below a
    read-only file system (/proc): compile writes the same files and says the same."""
    root = copies.roots["warm"]
    shutil.rmtree(root / CACHE, ignore_errors=True)
    env = env_for("warm", copies.xdg)
    if where == "file":
        (root / CACHE).write_text("not a folder\n")
    else:
        env["AGORSCHEMA_CACHE_DIR"] = "/proc/self/agorschema-cache"
    copies.make({"schema/app.yaml": with_table(2)})
    ran = {}
    for way, args in (("slow", ()), ("warm", ("--project", str(root)))):
        if way == "slow":
            ran[way] = run(copies.roots["slow"], "slow", copies.xdg, "compile")
            continue
        out = subprocess.run([AGORSCHEMA, "compile", *args], capture_output=True, text=True,
                             env=env, timeout=120, cwd=root)
        ran[way] = (out.returncode, out.stdout.replace(str(root), "<root>"), out.stderr)
    if where == "file":  # where undo records live too: it says it kept none, and only that
        code, stdout, stderr = ran["warm"]
        note, _, rest = stdout.partition("\n")
        assert note.startswith("note: no undo record was kept (cannot write "
                               ".agorschema-cache/undo/"), stdout
        ran["warm"] = (code, rest, stderr)
    assert ran["warm"] == ran["slow"]
    assert ran["warm"][0] == 0 and "0001_create_t0" in ran["warm"][1]
    slow = tree(copies.roots["slow"])
    warm = {k: v for k, v in tree(root).items() if k != CACHE}
    assert warm == slow


def test_compiles_and_checks_at_the_same_time_answer_as_one_at_a_time(copies: Copies) -> None:
    """Two compiles and three checks started together on one project and one cache: the
    compiles take turns (the project lock); the checks, which take no lock, write cache
    files meanwhile. The files then are what one slow compile writes, and every later
    answer agrees."""
    root = copies.roots["warm"]
    for n in (1,):
        copies.make({"schema/app.yaml": with_table(n)})
        procs = [subprocess.Popen([AGORSCHEMA, command, "--project", str(root)],
                                  env=env_for("warm", copies.xdg), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for command in ("compile", "check", "compile", "check", "check")]
        results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
        assert not any("Traceback" in err for _code, _out, err in results)
        assert results[0][0] == results[2][0] == 0
        assert {code for code, _out, _err in results[1::2]} <= {0, 1}  # before or after
        run(copies.roots["slow"], "slow", copies.xdg, "compile")
        run(copies.roots["cold"], "cold", copies.xdg, "compile")
        copies.same("check", "--format", "json")


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_compile_killed_anywhere_leaves_nothing_the_next_one_trips_on(copies: Copies) -> None:
    """SIGKILL at several moments of a warm compile (while it reads, computes, writes files
    or saves its cache): the warm copy then checks and compiles as the slow path does from
    the same files."""
    root = copies.roots["warm"]
    for n, delay in enumerate((0.2, 0.45), start=1):
        copies.make({"schema/app.yaml": with_table(n)})
        proc = subprocess.Popen([AGORSCHEMA, "compile", "--project", str(root)],
                                env=env_for("warm", copies.xdg), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(delay)
        kids = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        for kid in kids:  # a child of the killed compile (perf-fork) must not write later
            try:
                os.kill(kid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _agree_from_warm_files(copies)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("how", ["SIGKILL", "SIGSEGV"])
def test_a_killed_dialect_child_changes_no_answer(copies: Copies, how: str) -> None:
    """compile may compute a dialect in a forked child (AGORSCHEMA_JOBS=2 forces it): a
    child killed mid-way is computed again in the parent, which answers and writes exactly
    what the slow path does, and leaves no child behind."""
    pytest.importorskip("agor_schema.forked", reason="compile does not fork in this version")
    root = copies.roots["warm"]
    env = {**env_for("warm", copies.xdg), "AGORSCHEMA_JOBS": "2"}
    killed: list[int] = []
    for n in range(25, 28):
        copies.make({"schema/app.yaml": with_table(n)})
        proc = subprocess.Popen([AGORSCHEMA, "compile", "--format", "json", "--project",
                                 str(root)], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        mine: list[int] = []
        while proc.poll() is None and not mine:
            for kid in _children(proc.pid):
                os.kill(kid, getattr(signal, how))
                mine.append(kid)
            time.sleep(0.001)
        out, err = proc.communicate(timeout=120)
        killed += mine
        assert "Traceback" not in err
        assert not [kid for kid in mine if Path(f"/proc/{kid}").exists()]
        slow = run(copies.roots["slow"], "slow", copies.xdg, "compile", "--format", "json")
        assert (proc.returncode, out.replace(str(root), "<root>"), err) == slow
        run(copies.roots["cold"], "cold", copies.xdg, "compile", "--format", "json")
        copies.same("check")
    assert killed, "no forked child was seen"
