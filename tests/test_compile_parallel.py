"""`compile` computes its first dialect in a forked child (agor_schema.forked): the files,
messages, JSON envelopes and exit codes are those of the one-process run
(`AGORSCHEMA_JOBS=1`), a child that fails in any way is recomputed in the parent, and no
child outlives an interrupted compile.

The in-process tests wrap `compiler.compile_dialect` so that a call in another process
leaves a mark file: that proves the child computed a dialect (without the fork there is no
mark and the tests fail), and lets a test make the child crash, hang or send garbage."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from test_diff_property import ENUM_V1, schema_pairs

from agor_schema import compiler, forked
from agor_schema.cli import main

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = "[tool.agorschema]\n"


def run(root: Path, *args: str, jobs: str | None = "2") -> tuple[int, str]:
    """The CLI in this process (so the tests' wrappers reach the child): exit code, output.
    AGORSCHEMA_JOBS=2 forks whatever the schema's size; None leaves compile to choose."""
    env = {"AGORSCHEMA_JOBS": jobs}
    result = CliRunner().invoke(main, [*args, "--project", str(root)], env=env,
                                catch_exceptions=False)
    return result.exit_code, result.output


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".agorschema-cache" not in p.parts}


def write_schema(root: Path, tables: dict, enums: dict | None = None) -> None:
    """A schema as JSON (which is YAML)."""
    data = {"enums": enums, "tables": tables} if enums else {"tables": tables}
    (root / "schema").mkdir(parents=True, exist_ok=True)
    (root / "schema" / "app.yaml").write_text(json.dumps(data, indent=1), encoding="utf-8")


def new_project(root: Path, text: str) -> Path:
    (root / "schema").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (root / "schema" / "app.yaml").write_text(text, encoding="utf-8")
    return root


@pytest.fixture(autouse=True)
def _reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.delenv("AGORSCHEMA_JOBS", raising=False)


@pytest.fixture
def child_marks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A folder that gets one file per dialect computed in a forked child."""
    marks = tmp_path / "child-marks"
    marks.mkdir()
    parent = os.getpid()
    original = compiler.compile_dialect

    def marking(job, dialect):
        if os.getpid() != parent:
            (marks / f"{dialect}-{os.getpid()}").write_text("", encoding="utf-8")
        return original(job, dialect)

    monkeypatch.setattr(compiler, "compile_dialect", marking)
    monkeypatch.setenv("AGORSCHEMA_JOBS", "2")
    assert forked.processes(2) == 2, "this test process cannot fork (a thread is running?)"
    monkeypatch.delenv("AGORSCHEMA_JOBS")
    return marks


def children(marks: Path) -> list[str]:
    return sorted(p.name.split("-")[0] for p in marks.iterdir())


def both_ways(root: Path, marks: Path, *args: str) -> tuple[tuple, tuple]:
    """`args` on two copies of `root`: forked, then in one process; (code, output, tree)."""
    serial = root.with_name(root.name + "-serial")
    shutil.copytree(root, serial)
    for p in marks.iterdir():
        p.unlink()
    code, output = run(root, *args)
    assert children(marks) == ["sqlite"], "the first dialect was not computed in a child"
    forked_run = (code, output.replace(str(root), "ROOT"), tree(root))
    code, output = run(serial, *args, jobs="1")
    assert children(marks) == ["sqlite"], "AGORSCHEMA_JOBS=1 forked"
    serial_run = (code, output.replace(str(serial), "ROOT"), tree(serial))
    shutil.rmtree(serial)
    return forked_run, serial_run


def test_the_example_schema_compiles_to_the_same_bytes(tmp_path: Path, child_marks: Path):
    root = tmp_path / "example"
    shutil.copytree(REPO / "schema", root / "schema")
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    settings_block = text[text.index("[tool.agorschema]"):]
    settings_block = settings_block[:settings_block.find("\n[", 1) + 1 or None]
    (root / "pyproject.toml").write_text(settings_block, encoding="utf-8")
    forked_run, serial_run = both_ways(root, child_marks, "compile")
    assert forked_run[0] == 0, forked_run[1]
    assert forked_run == serial_run
    assert "drizzle/agorschema.sum" in forked_run[2]
    assert any(k.startswith("drizzle/postgres/") for k in forked_run[2])


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pair=schema_pairs())
def test_random_evolutions_compile_to_the_same_bytes(pair, tmp_path_factory, child_marks):
    root = tmp_path_factory.mktemp("evolution") / "p"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    write_schema(root, pair.v1, {"e": ENUM_V1})
    first, first_serial = both_ways(root, child_marks, "compile")
    assert first[0] == 0, first[1]
    assert first == first_serial
    write_schema(root, pair.v2, {"e": pair.enums2})
    without, without_serial = both_ways(root, child_marks, "compile", "--format", "json")
    assert without == without_serial  # refused (destructive) or written: the same either way
    second, second_serial = both_ways(root, child_marks, "compile", "--allow-destructive")
    assert second[0] == 0, second[1]
    assert second == second_serial


VERBATIM = """tables:
  users:
    columns:
      id: {type: integer, primary_key: true}
      a: {type: integer, default: {sqlite: {verbatim: "1"}, postgres: {verbatim: "%s"}}}
      b: {type: integer, default: {sqlite: {verbatim: "%s"}, postgres: {verbatim: "2"}}}
"""


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("broken", ["postgres", "sqlite", "both"])
def test_validation_errors_of_one_or_both_dialects_read_the_same(
        tmp_path: Path, child_marks: Path, fmt: str, broken: str):
    pg = "1 +" if broken in ("postgres", "both") else "1"
    lite = "(2" if broken in ("sqlite", "both") else "2"
    root = new_project(tmp_path / "p", VERBATIM % (pg, lite))
    forked_run, serial_run = both_ways(root, child_marks, "compile", "--format", fmt)
    assert forked_run[0] == 2
    assert forked_run == serial_run
    assert forked_run[2] == {"pyproject.toml": PYPROJECT.encode(),
                             "schema/app.yaml": (VERBATIM % (pg, lite)).encode()}
    for text, seen in (("'1 +'", broken != "sqlite"), ("'(2'", broken != "postgres")):
        assert (text in forked_run[1]) == seen


TYPED = """tables:
  users:
    columns:
      id: {type: integer, primary_key: true}
      a: {type: text}
      b: {type: integer}
"""


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_refusals_after_validation_read_the_same(tmp_path: Path, child_marks: Path, fmt: str):
    root = new_project(tmp_path / "p", TYPED)
    assert run(root, "compile")[0] == 0
    schema = root / "schema" / "app.yaml"
    # a type change PostgreSQL (the parent's dialect) refuses
    schema.write_text(TYPED.replace("b: {type: integer}", "b: {type: boolean}"))
    forked_run, serial_run = both_ways(root, child_marks, "compile", "--format", fmt)
    assert forked_run[0] == 2 and "integer to boolean (postgres)" in forked_run[1]
    assert forked_run == serial_run
    # `new` on an edited schema: refused naming the first dialect (the child's)
    schema.write_text(TYPED.replace("a: {type: text}", "a2: {type: text}"))
    forked_run, serial_run = both_ways(root, child_marks, "new", "x", "--format", fmt)
    assert forked_run[0] == 1 and "run `agorschema compile`" in forked_run[1]
    assert forked_run == serial_run
    # a drop in both dialects: destructive, refused with both dialects' findings
    forked_run, serial_run = both_ways(root, child_marks, "compile", "--format", fmt)
    assert forked_run[0] == 1 and "postgres" in forked_run[1] and "sqlite" in forked_run[1]
    assert forked_run == serial_run


def _failing_child(how: str, parent: int, marks: Path):
    """A compile_dialect whose call in a child fails in the way `how` says."""
    original = compiler.compile_dialect

    def failing(job, dialect):
        if os.getpid() == parent:
            return original(job, dialect)
        (marks / f"{dialect}-{os.getpid()}").write_text("", encoding="utf-8")
        if how == "raises":
            raise RuntimeError("a bug in the child")
        if how == "killed":
            os.kill(os.getpid(), signal.SIGKILL)
        if how == "exits":
            os._exit(0)  # success, but nothing sent
        if how == "hangs":
            time.sleep(60)
        if how == "wrong dialect":
            return original(job, "postgres")
        if how in ("garbage", "truncated"):  # (only this child's reference is replaced)
            real = forked.pickle

            def dumps(value, protocol=None):
                data = real.dumps(value, protocol=protocol)
                return data[:len(data) // 2] if how == "truncated" else b"\x80\x05garbage"

            forked.pickle = types.SimpleNamespace(dumps=dumps,
                                                  HIGHEST_PROTOCOL=real.HIGHEST_PROTOCOL)
        return original(job, dialect)

    return failing


@pytest.mark.parametrize("how", ["raises", "killed", "exits", "hangs", "wrong dialect",
                                 "garbage", "truncated"])
def test_a_failing_child_is_recomputed_in_the_parent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, child_marks: Path, how: str):
    root = new_project(tmp_path / "p", TYPED)
    serial = tmp_path / "serial"
    shutil.copytree(root, serial)
    monkeypatch.setattr(compiler, "compile_dialect",
                        _failing_child(how, os.getpid(), child_marks))
    monkeypatch.setattr(forked, "_GRACE_SECONDS", 1.0)
    monkeypatch.setattr(forked, "_GRACE_FACTOR", 1.0)
    started = time.monotonic()
    code, output = run(root, "compile")
    assert time.monotonic() - started < 30
    assert "sqlite" in children(child_marks), "no child computed the first dialect"
    assert code == 0, output
    serial_code, serial_output = run(serial, "compile", jobs="1")
    assert (code, output.replace(str(root), "ROOT")) == \
        (serial_code, serial_output.replace(str(serial), "ROOT"))
    assert tree(root) == tree(serial)
    assert "drizzle/postgres/meta/_journal.json" in tree(root)


def test_the_childs_cache_entries_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          child_marks: Path):
    """The parent saves what the child computed: after a change to one table, the next
    child renders that table's TypeScript only (the others come from the cache)."""
    from agor_schema import typescript

    root = tmp_path / "p"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    tables = {f"t{i}": {"columns": {"id": {"type": "integer", "primary_key": True},
                                    "name": {"type": "text"}}} for i in range(6)}
    write_schema(root, tables)
    assert run(root, "compile")[0] == 0
    rendered = tmp_path / "rendered"
    rendered.mkdir()
    parent, real = os.getpid(), typescript._table_part

    def counting(spec, table, dialect):
        if os.getpid() != parent:
            (rendered / f"{dialect.name}-{table.name}").write_text("", encoding="utf-8")
        return real(spec, table, dialect)

    monkeypatch.setattr(typescript, "_table_part", counting)
    tables["t3"]["columns"]["added"] = {"type": "integer"}
    write_schema(root, tables)
    for p in child_marks.iterdir():
        p.unlink()
    assert run(root, "compile")[0] == 0
    assert children(child_marks) == ["sqlite"]
    assert sorted(p.name for p in rendered.iterdir()) == ["sqlite-t3"]


def test_jobs_setting_must_be_a_positive_number(tmp_path: Path):
    root = new_project(tmp_path / "p", TYPED)
    for bad in ("0", "two", "-1"):
        code, output = run(root, "compile", "--format", "json", jobs=bad)
        envelope = json.loads(output)
        assert code == 2 and envelope["exit_code"] == 2, output
        assert "AGORSCHEMA_JOBS" in envelope["errors"][0]["message"]
    assert tree(root) == {"pyproject.toml": PYPROJECT.encode(),
                          "schema/app.yaml": TYPED.encode()}


# ------------------------------------------------------------- signals (a real CLI process)


def _big_schema(tables: int) -> str:
    lines = ["tables:"]
    for t in range(tables):
        lines += [f"  t{t:04d}:", "    columns:", "      id: {type: integer, primary_key: true}"]
        lines += [f"      c{c}: {{type: text, not_null: true, default: 'x{c}'}}" for c in range(8)]
        lines += ["    indexes:", f"      t{t:04d}_c1_idx: [c1, c2]"]
    return "\n".join(lines) + "\n"


def _children_of(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("sig,group", [(signal.SIGINT, False), (signal.SIGINT, True),
                                       (signal.SIGTERM, False)])
def test_no_child_outlives_an_interrupted_compile(tmp_path: Path, sig: int, group: bool):
    root = new_project(tmp_path / "p", _big_schema(400))
    env = {**os.environ, "AGORSCHEMA_CACHE": "0", "AGORSCHEMA_JOBS": "2"}
    found: list[int] = []
    for _attempt in range(3):  # the child lives for a fraction of a second
        proc = subprocess.Popen([sys.executable, "-c", "from agor_schema.cli import main; main()",
                                 "compile", "--project", str(root)], env=env,
                                start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline and not found:
            found = _children_of(proc.pid)
            time.sleep(0.002)
        if found:
            break
        proc.wait(timeout=60)
        shutil.rmtree(root / "drizzle", ignore_errors=True)
        shutil.rmtree(root / "generated", ignore_errors=True)
    assert found, "compile never forked a child"
    if group:  # Ctrl-C in a terminal: the whole foreground process group
        os.killpg(proc.pid, sig)
    else:
        os.kill(proc.pid, sig)
    proc.wait(timeout=30)
    time.sleep(0.2)
    left = [pid for pid in found if _alive(pid)]
    assert not left, f"a child outlived its parent (exit {proc.returncode}, {found})"
    assert proc.returncode != 0


@pytest.fixture
def idle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine looks idle (compile does not fork by itself on a loaded one)."""
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    if forked.processes(2) < 2:
        pytest.skip("one usable CPU: compile does not fork by itself")


def test_forking_is_off_with_threads_one_job_little_work_or_a_loaded_machine(
        monkeypatch: pytest.MonkeyPatch, idle: None):
    cpus = len(os.sched_getaffinity(0))
    monkeypatch.setattr(os, "getloadavg", lambda: (2.0 * cpus, 0.0, 0.0))
    assert forked.processes(2) == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (2.0 * cpus - 0.5, 0.0, 0.0))
    assert forked.processes(2) == 2
    assert forked.processes(2, worth_it=False) == 1
    assert forked.processes(1) == 1
    monkeypatch.setenv("AGORSCHEMA_JOBS", "1")
    assert forked.processes(2) == 1
    monkeypatch.setenv("AGORSCHEMA_JOBS", "2")
    assert forked.processes(2, worth_it=False) == 2  # asked for
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert forked.processes(2) == 1  # a forked child of a threaded process may deadlock
    finally:
        stop.set()
        thread.join()
    assert forked.processes(2) == 2


@pytest.mark.parametrize("tables", [compiler.FORK_MIN_TABLES - 1, compiler.FORK_MIN_TABLES])
def test_compile_forks_by_itself_for_enough_tables(tmp_path: Path, child_marks: Path,
                                                   tables: int, idle: None):
    root = new_project(tmp_path / "p", _big_schema(tables))
    code, output = run(root, "compile", jobs=None)
    assert code == 0, output
    assert children(child_marks) == (["sqlite"] if tables >= compiler.FORK_MIN_TABLES
                                     else [])
