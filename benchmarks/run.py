#!/usr/bin/env python
"""agorschema benchmarks, side by side with drizzle-kit / drizzle-orm and Alembic.

    python benchmarks/run.py            # full run: 10, 100, 1000 tables (~10-15 min, 2 cores)
    python benchmarks/run.py --quick    # 10 and 100 tables, 3 runs, 100k-row rebuild

Every figure is a whole process (subprocess wall time) measured several times after one
discarded warm-up run; medians and min-max are reported. Peers are installed into
benchmarks/work/ (npm, pip) when possible and skipped with the reason otherwise. The
report goes to benchmarks/RESULTS.md and the table into README.md; it is also printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import gen  # noqa: E402

WORK = HERE / "work"
NODE = WORK / "node"
NODE_PACKAGES = ["drizzle-kit@0.31", "drizzle-orm", "better-sqlite3"]
PY = sys.executable  # runs the peers' Python side (Alembic); agorschema gets its own venv
VENV = WORK / "venv"


# --- measuring --------------------------------------------------------------------------


@dataclass
class Stat:
    samples: list[float] = field(default_factory=list)  # seconds, wall
    error: str | None = None
    cpu: list[float] = field(default_factory=list)  # seconds, user + sys of the process tree

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu) if self.cpu else None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def cell(self) -> str:
        if not self.ok:
            return "failed"
        return f"{ms(self.median)} ({ms(min(self.samples))}-{ms(max(self.samples))}, n={len(self.samples)})"


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


class Bench:
    def __init__(self, runs: int, log) -> None:
        self.runs = runs
        self.log = log

    def time(self, label: str, cmd: list[str], cwd: Path, setup=None, env: dict | None = None,
             runs: int | None = None, check_output=None) -> Stat:
        """Median of whole-process wall times; one warm-up run first (not counted)."""
        stat = Stat()
        full_env = {**os.environ, **(env or {})}
        wanted = runs or self.runs
        i = -1
        while i < wanted:
            if setup:
                setup()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            if proc.returncode != 0 or (check_output and not check_output(proc.stdout + proc.stderr)):
                stat.error = (f"exit {proc.returncode}: "
                              + (proc.stderr.strip() or proc.stdout.strip())[-600:])
                self.log(f"  {label}: FAILED {stat.error}")
                return stat
            if i >= 0:
                stat.samples.append(elapsed)
                stat.cpu.append(cpu)
            elif elapsed > 3 and runs is None:  # slow: fewer runs keep the whole run bounded
                wanted = min(wanted, 5)  # (never below 5: the targets compare medians of >= 5)
            i += 1
        self.log(f"  {label}: {stat.cell()}")
        return stat


def reset_dirs(root: Path, base: Path, names: tuple[str, ...]) -> None:
    for name in names:
        shutil.rmtree(root / name, ignore_errors=True)
        if (base / name).exists():
            shutil.copytree(base / name, root / name)


# --- environment ------------------------------------------------------------------------


def machine_info() -> dict:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    return {"cpu": cpu, "cores": os.cpu_count(), "ram": ram, "os": platform.platform(),
            "load": " ".join(f"{x:.2f}" for x in load)}


def _agor_versions() -> str:
    """agorschema and its libraries as installed where agorschema is measured."""
    names = ("agorschema", "pydantic", "sqlglot", "PyYAML")
    script = ("import importlib.metadata as m, sys\n"
              "for n in sys.argv[1:]:\n"
              "    try: print(n, m.version(n))\n"
              "    except m.PackageNotFoundError: print(n, '-')")
    proc = subprocess.run([AGOR_PY, "-c", script, *names], capture_output=True, text=True)
    found = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    return ", ".join(f"{n} {found.get(n, '?')}" for n in names)


def pkg_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "-"


def node_version(package: str) -> str:
    try:
        return json.loads((NODE / "node_modules" / package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "-"


def setup_node(log) -> str | None:
    """Install the drizzle packages into benchmarks/work/node; return a skip reason or None."""
    if not shutil.which("node") or not shutil.which("npm"):
        return "node/npm not found on PATH"
    NODE.mkdir(parents=True, exist_ok=True)
    if not (NODE / "package.json").exists():
        (NODE / "package.json").write_text('{"name": "agorschema-bench", "private": true}\n')
    if all((NODE / "node_modules" / p.split("@")[0]).exists() for p in NODE_PACKAGES):
        ok = subprocess.run(["node", "-e", "require('better-sqlite3')"], cwd=NODE,
                            capture_output=True).returncode == 0
        if ok:
            return None
    log("installing drizzle-kit, drizzle-orm, better-sqlite3 (npm) ...")
    proc = subprocess.run(["npm", "install", "--no-audit", "--no-fund", *NODE_PACKAGES], cwd=NODE,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return "npm install failed: " + proc.stderr.strip()[-300:]
    return None


def setup_alembic(log) -> str | None:
    try:
        import alembic  # noqa: F401
        import sqlalchemy  # noqa: F401
        return None
    except ImportError:
        pass
    log("installing alembic, sqlalchemy (pip) ...")
    proc = subprocess.run([PY, "-m", "pip", "install", "-q", "alembic", "sqlalchemy"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return "pip install alembic sqlalchemy failed: " + proc.stderr.strip()[-300:]
    return None


# --- agorschema per size ------------------------------------------------------------------

MIGRATE_INPROC = r"""
import json, sqlite3, statistics, sys, time
path, folder = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
import agor_schema.runner as runner
t_import = time.perf_counter() - t0
def connect():
    t = time.perf_counter(); c = sqlite3.connect(path); c.execute("select 1").fetchall(); c.close()
    return time.perf_counter() - t
def read():  # connect + the one bookkeeping read: SQLite loads the whole schema on first use
    t = time.perf_counter(); c = sqlite3.connect(path)
    c.execute("select hash, created_at from __drizzle_migrations").fetchall(); c.close()
    return time.perf_counter() - t
def mig():
    t = time.perf_counter(); r = runner.migrate("sqlite:///" + path, folder)
    assert not r.applied, r.applied
    return time.perf_counter() - t
mig(); connect()
print(json.dumps({"import": t_import, "connect": statistics.median(connect() for _ in range(25)),
                  "read": statistics.median(read() for _ in range(25)),
                  "migrate": statistics.median(mig() for _ in range(25))}))
"""


def agorschema_exe() -> str:
    """The console script pip installed into the benchmark venv (not a PATH shim such as
    pyenv's, whose bash + `pyenv exec` would add ~70 ms that is no part of agorschema)."""
    return str(Path(AGOR_PY).parent / "agorschema")


AGOR_PY = PY  # the Python agorschema is measured with: the benchmark venv's, once set up


def setup_agorschema_venv(log) -> str:
    """Install this checkout into a venv of its own, as a user's `pip install` would: a
    regular (not editable) install with its bytecode compiled, and no system site-packages,
    so that a development machine's extras (an editable-install finder, `.pth` hooks of other
    packages) are not counted as agorschema's startup. Returns how it was installed."""
    global AGOR_PY
    python = VENV / "bin" / "python"
    repo = HERE.parent
    steps = []
    if not python.is_file():
        steps.append([sys.executable, "-m", "venv", str(VENV)])
        steps.append([str(python), "-m", "pip", "install", "-q", str(repo)])
    steps.append([str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall",
                  str(repo)])
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            log(f"  benchmark venv: {' '.join(cmd[:4])} failed; measuring agorschema in "
                f"this Python instead\n{proc.stderr[-400:]}")
            return f"in the running Python ({sys.executable}): the benchmark venv failed"
    AGOR_PY = str(python)
    return (f"pip-installed (regular install, bytecode compiled) into {VENV.relative_to(HERE)}, "
            "a venv without system site-packages")


def agorschema_size(bench: Bench, n: int, tables: list, log) -> dict:
    exe = agorschema_exe()
    root, base = WORK / f"agor-{n}", WORK / f"agor-{n}-base"
    for path in (root, base):
        shutil.rmtree(path, ignore_errors=True)
    gen.write_yaml_project(root, tables)
    out: dict = {}
    state = ("drizzle", "generated")

    out["compile_initial"] = bench.time(
        "compile, initial schema (both dialects)", [exe, "compile"], root,
        setup=lambda: [shutil.rmtree(root / d, ignore_errors=True) for d in state])
    base.mkdir(parents=True)
    for d in state:
        shutil.copytree(root / d, base / d)

    out["check"] = bench.time("check, nothing changed", [exe, "check"], root)

    changed = gen.changed_table(tables)
    fname = gen.file_of(tables, changed)
    base_yaml = (root / "schema" / fname).read_text()
    edits = iter(range(1, 1_000_000))

    def comment_edit() -> None:  # a new comment each run: every check meets an unseen file
        (root / "schema" / fname).write_text(f"# edited comment {next(edits)}\n" + base_yaml)

    out["check_comment"] = bench.time(
        "check after a comment-only edit", [exe, "check"], root, setup=comment_edit,
        check_output=lambda s: "without changing the schema" in s)
    (root / "schema" / fname).write_text(base_yaml)
    changed_yaml = gen.yaml_files(tables, extra_in=changed)[fname]

    def one_change() -> None:
        reset_dirs(root, base, state)
        (root / "schema" / fname).write_text(changed_yaml)

    out["compile_change"] = bench.time(
        "compile, one added column (both dialects)", [exe, "compile"], root, setup=one_change,
        check_output=lambda s: "add_" in s)

    def one_change_cold() -> None:
        one_change()
        shutil.rmtree(root / ".agorschema-cache", ignore_errors=True)

    out["compile_change_cold"] = bench.time(
        "compile, one added column, no .agorschema-cache", [exe, "compile"], root,
        setup=one_change_cold, check_output=lambda s: "add_" in s)
    reset_dirs(root, base, state)
    (root / "schema" / fname).write_text(base_yaml)

    db = root / "bench.db"
    db.unlink(missing_ok=True)
    subprocess.run([exe, "migrate", "--database", f"sqlite:///{db}"], cwd=root, check=True,
                   capture_output=True)
    out["migrate"] = bench.time("migrate, up to date (SQLite)",
                                [exe, "migrate", "--database", f"sqlite:///{db}"], root,
                                check_output=lambda s: "up to date" in s)
    folder = root / "drizzle" / "sqlite"
    out["migrate_api_proc"] = bench.time(
        "python: import agor_schema + migrate(), up to date",
        [AGOR_PY, "-c", "import sys, agor_schema; agor_schema.migrate(sys.argv[1], sys.argv[2])",
         f"sqlite:///{db}", str(folder)], root)
    out["python_pass"] = bench.time("python -c pass (process floor)", [AGOR_PY, "-c", "pass"], root)
    out["help"] = bench.time("agorschema --help", [exe, "--help"], root)
    out["sqlite_connect_proc"] = bench.time(
        "python: open SQLite + select 1 (process floor)",
        [AGOR_PY, "-c", "import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute('select 1').fetchall()",
         str(db)], root)
    proc = subprocess.run([AGOR_PY, "-c", MIGRATE_INPROC, str(db), str(root / "drizzle" / "sqlite")],
                          capture_output=True, text=True)
    if proc.returncode == 0:
        out["migrate_inproc"] = json.loads(proc.stdout.strip().splitlines()[-1])
        log(f"  in-process: migrate() {ms(out['migrate_inproc']['migrate'])}, "
            f"connect {ms(out['migrate_inproc']['connect'])}")
    else:
        log(f"  in-process migrate failed: {proc.stderr[-400:]}")
    out["paths"] = {"root": root, "base": base, "db": db}
    return out


# --- drizzle ------------------------------------------------------------------------------

DRIZZLE_MIGRATE = r"""
const t0 = performance.now();
const Database = require('better-sqlite3');
const { drizzle } = require('drizzle-orm/better-sqlite3');
const { migrate } = require('drizzle-orm/better-sqlite3/migrator');
const t1 = performance.now();
const sqlite = new Database(process.argv[2]);
sqlite.prepare('select 1').get();
const t2 = performance.now();
migrate(drizzle(sqlite), { migrationsFolder: process.argv[3] });
const t3 = performance.now();
console.log(JSON.stringify({
  import: (t1 - t0) / 1000, connect: (t2 - t1) / 1000, migrate: (t3 - t2) / 1000 }));
"""


def drizzle_size(bench: Bench, n: int, tables: list, agor: dict, log) -> dict:
    kit = [("node"), str(NODE / "node_modules" / "drizzle-kit" / "bin.cjs")]
    root = NODE / f"p{n}"
    base = NODE / f"p{n}-base"
    for path in (root, base):
        shutil.rmtree(path, ignore_errors=True)
    gen.write_drizzle_project(root, tables)
    out: dict = {}
    changed = gen.changed_table(tables)
    for short in ("sqlite", "pg"):
        cfg = ["--config", f"drizzle.{short}.config.ts"]
        out[f"generate_initial_{short}"] = bench.time(
            f"drizzle-kit generate, initial ({short})", kit + ["generate", *cfg], root,
            setup=lambda s=short: shutil.rmtree(root / "out" / s, ignore_errors=True))
        if not (root / "out" / short).exists():
            continue
        shutil.copytree(root / "out" / short, base / "out" / short)
        out[f"check_{short}"] = bench.time(f"drizzle-kit check ({short})", kit + ["check", *cfg], root)
        schema_file = root / f"schema.{short}.ts"
        base_ts = schema_file.read_text()
        changed_ts = gen.drizzle_schema(tables, short, extra_in=changed)

        def one_change(s=short, text=changed_ts) -> None:
            shutil.rmtree(root / "out" / s, ignore_errors=True)
            shutil.copytree(base / "out" / s, root / "out" / s)
            (root / f"schema.{s}.ts").write_text(text)

        out[f"generate_change_{short}"] = bench.time(
            f"drizzle-kit generate, one added column ({short})", kit + ["generate", *cfg], root,
            setup=one_change, check_output=lambda s: "migration" in s.lower())
        schema_file.write_text(base_ts)

    # drizzle-orm's migrator on agorschema's history, on an up-to-date database
    script = NODE / "migrate.cjs"
    script.write_text(DRIZZLE_MIGRATE)
    db = root / "orm.db"
    shutil.copyfile(agor["paths"]["db"], db)
    folder = str(agor["paths"]["root"] / "drizzle" / "sqlite")
    out["orm_migrate"] = bench.time("drizzle-orm migrator, up to date (better-sqlite3)",
                                    ["node", str(script), str(db), folder], NODE)
    out["node_connect_proc"] = bench.time(
        "node: open SQLite + select 1 (process floor)",
        ["node", "-e", "new (require('better-sqlite3'))(process.argv[1]).prepare('select 1').get()",
         str(db)], NODE)
    proc = subprocess.run(["node", str(script), str(db), folder], cwd=NODE, capture_output=True,
                          text=True)
    if proc.returncode == 0:
        out["orm_inproc"] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


# --- alembic ------------------------------------------------------------------------------


def alembic_size(bench: Bench, n: int, tables: list, log) -> dict:
    root = WORK / f"alembic-{n}"
    shutil.rmtree(root, ignore_errors=True)
    gen.write_alembic_project(root, tables)
    env = {"PYTHONPATH": str(root)}
    subprocess.run([PY, "-c", "import models_base as m, sqlalchemy as sa; "
                    "m.metadata.create_all(sa.create_engine('sqlite:///alembic.db'))"],
                   cwd=root, env={**os.environ, **env}, check=True)
    alembic = [PY, "-m", "alembic", "-c", str(root / "alembic.ini")]
    out = {}
    out["check"] = bench.time("alembic check (model = database)", alembic + ["check"], root,
                              env={**env, "BENCH_MODEL": "models_base"})

    def clean() -> None:
        for f in (root / "versions").glob("*.py"):
            f.unlink()

    out["autogenerate"] = bench.time(
        "alembic revision --autogenerate, one added column",
        alembic + ["revision", "--autogenerate", "-m", "add"], root,
        env={**env, "BENCH_MODEL": "models_changed"}, setup=clean,
        check_output=lambda s: "Generating" in s)
    revisions = list((root / "versions").glob("*.py"))
    if out["autogenerate"].ok and not any("add_column" in f.read_text() for f in revisions):
        out["autogenerate"].error = "the revision did not add the column"
    clean()
    return out


# --- SQLite rebuild of a big table --------------------------------------------------------

REBUILD_YAML = """tables:
  big:
    columns:
      id: {type: integer, primary_key: true}
      a: {type: text, not_null: true}
      b: {type: integer, not_null: true}
      c: real
      d: {type: timestamp, not_null: true, default: now}
      e: %s
    indexes:
      big_b_idx: [b]
"""

REBUILD_INPROC = r"""
import json, sys, time
import agor_schema.runner as runner
t = time.perf_counter()
r = runner.migrate("sqlite:///" + sys.argv[1], sys.argv[2])
assert len(r.applied) == 1, r
print(json.dumps({"seconds": time.perf_counter() - t}))
"""

# The floors, by how much of a rebuild they do: "0" copy only, "1" copy + index, "2" the
# whole rebuild by hand (copy, drop the old table, rename, index): what any tool's rebuild
# costs SQLite, without a runner around it.
FLOOR_INPROC = r"""
import json, sqlite3, sys, time
path, level = sys.argv[1], int(sys.argv[2])
con = sqlite3.connect(path, isolation_level=None)
ddl = con.execute("select sql from sqlite_master where name = 'big'").fetchone()[0]
ix = con.execute("select sql from sqlite_master where name = 'big_b_idx'").fetchone()[0]
t = time.perf_counter()
con.execute("BEGIN")
con.execute(ddl.replace("`big`", "`big_copy`", 1).replace('"big"', '"big_copy"', 1))
con.execute("INSERT INTO big_copy SELECT * FROM big")
if level == 2:
    con.execute("DROP TABLE big")
    con.execute("ALTER TABLE big_copy RENAME TO big")
    con.execute(ix)
elif level == 1:
    ix = ix.replace("big_b_idx", "big_copy_b_idx").replace("`big`", "`big_copy`")
    con.execute(ix.replace('"big"', '"big_copy"'))
con.execute("COMMIT")
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


def _secure_delete() -> bool:
    """Whether this SQLite overwrites deleted content (a build option; on in Debian's)."""
    con = sqlite3.connect(":memory:")
    try:
        return bool(con.execute("PRAGMA secure_delete").fetchone()[0])
    finally:
        con.close()


def _secure_delete_note() -> str:
    if not _secure_delete():
        return "This SQLite has `secure_delete` off."
    return ("This SQLite has `secure_delete` on (Debian builds it so): DROP TABLE overwrites "
            "every page it frees, which is most of what the rebuild adds to the copy.")


def rebuild(bench: Bench, rows: int, runs: int, log) -> dict:
    exe = agorschema_exe()
    root = WORK / "rebuild"
    shutil.rmtree(root, ignore_errors=True)
    (root / "schema").mkdir(parents=True)
    (root / "pyproject.toml").write_text(gen.PYPROJECT)
    (root / "schema" / "big.yaml").write_text(REBUILD_YAML % "text")
    subprocess.run([exe, "compile"], cwd=root, check=True, capture_output=True)
    seed = root / "seed.db"
    subprocess.run([exe, "migrate", "--database", f"sqlite:///{seed}"], cwd=root, check=True,
                   capture_output=True)
    con = sqlite3.connect(seed)
    con.execute(
        "INSERT INTO big (id, a, b, c, d, e) WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL "
        f"SELECT i + 1 FROM s WHERE i < {rows}) SELECT i, 'name-' || i, i % 1000, i * 0.5, "
        "1700000000000 + i, CASE WHEN i % 3 = 0 THEN NULL ELSE 'note ' || i END FROM s")
    con.commit()
    con.close()
    (root / "schema" / "big.yaml").write_text(REBUILD_YAML % "{type: text, not_null: true, default: ''}")
    subprocess.run([exe, "compile", "--allow-destructive"], cwd=root, check=True, capture_output=True)
    sql_files = sorted((root / "drizzle" / "sqlite").glob("0001_*.sql"))
    sql = sql_files[0].read_text() if sql_files else ""
    out: dict = {"rows": rows, "rebuild_sql": "__new_big" in sql}
    db = root / "run.db"
    folder = str(root / "drizzle" / "sqlite")

    def fresh() -> None:
        shutil.copyfile(seed, db)

    def interleaved(scripts: dict[str, tuple[str, ...]]) -> dict[str, Stat]:
        """Each script once per round, in turn, from a fresh copy of the database: the
        machine's load then weighs on all of them alike (one warm-up round discarded)."""
        stats = {key: Stat() for key in scripts}
        for i in range(runs + 1):
            for key, (script, *args) in scripts.items():
                if stats[key].error:
                    continue
                fresh()
                proc = subprocess.run([AGOR_PY, "-c", script, str(db), *args],
                                      capture_output=True, text=True)
                if proc.returncode != 0:
                    stats[key].error = proc.stderr[-600:]
                elif i:
                    stats[key].samples.append(
                        json.loads(proc.stdout.strip().splitlines()[-1])["seconds"])
        return stats

    out["migrate_proc"] = bench.time(f"agorschema migrate, rebuild of {rows:,} rows (process)",
                                     [exe, "migrate", "--database", f"sqlite:///{db}"], root,
                                     setup=fresh, runs=runs)
    out.update(interleaved({"migrate": (REBUILD_INPROC, folder),
                            "floor_copy": (FLOOR_INPROC, "0"),
                            "floor_copy_index": (FLOOR_INPROC, "1"),
                            "floor_rebuild": (FLOOR_INPROC, "2")}))
    for key in ("migrate", "floor_copy", "floor_copy_index", "floor_rebuild"):
        log(f"  rebuild {key}: {out[key].cell() if out[key].ok else out[key].error}")
    db.unlink(missing_ok=True)
    return out


# --- report -------------------------------------------------------------------------------


def ratio(a: Stat | None, b: Stat | None) -> str:
    if a is None or b is None or not a.ok or not b.ok:
        return "-"
    return f"{a.median / b.median:.2f}x"


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def report(args, info: dict, sizes: list[int], agor: dict, drz: dict, alb: dict, reb: dict | None,
           skipped: list[str], started: float) -> str:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["# agorschema benchmark results", "",
             f"Generated by `python benchmarks/run.py{' --quick' if args.quick else ''}` on {now} "
             f"in {time.perf_counter() - started:.0f} s.", "",
             f"- Machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM, {info['os']}; "
             f"load average at start {info['load']} (other work on the machine adds noise).",
             f"- Versions: Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
             f"{_agor_versions()}; "
             f"node {_node_v()}, drizzle-kit {node_version('drizzle-kit')}, "
             f"drizzle-orm {node_version('drizzle-orm')}, better-sqlite3 {node_version('better-sqlite3')}; "
             f"alembic {pkg_version('alembic')}, SQLAlchemy {pkg_version('SQLAlchemy')}.",
             "- Method: each figure is the wall time of a whole process (startup included), "
             "median (min-max, n runs) after one discarded warm-up run. Schemas are synthetic and "
             "deterministic (seed 20240): 8-15 columns per table cycling through all 13 logical "
             "types, 1-2 foreign keys to earlier tables, 2-3 indexes. \"One change\" adds a nullable "
             "text column to the middle table. agorschema is "
             f"{info['install']}, and runs as that venv's console script (no PATH shim); compile "
             "keeps its cache (`.agorschema-cache/`) between runs, as on a developer's machine, "
             "except in the \"cold\" row.", ""]
    cols = [f"{n} tables" for n in sizes]
    growth = 100 in sizes and 1000 in sizes
    head = "| agorschema | " + " | ".join(cols) + (" | growth 100→1000 |" if growth else " |")
    lines += ["## agorschema", "", head, "|---" * (len(cols) + 1 + growth) + "|"]
    rows = [("`check`, nothing changed", "check"),
            ("`check` after a comment-only edit", "check_comment"),
            ("`compile`, one added column (both dialects)", "compile_change"),
            ("`compile`, one added column, cold (no `.agorschema-cache`)", "compile_change_cold"),
            ("`compile`, initial schema from nothing (both dialects)", "compile_initial"),
            ("`migrate`, up-to-date SQLite database", "migrate"),
            ("python: open SQLite + `select 1` (process floor)", "sqlite_connect_proc"),
            ("python: `import agor_schema` + `migrate()`, up to date", "migrate_api_proc"),
            ("`python -c pass` (process floor)", "python_pass"),
            ("`agorschema --help`", "help")]
    for title, key in rows:
        cells = [agor[n][key].cell() if key in agor[n] else "-" for n in sizes]
        g = f" | {ratio(agor[1000].get(key), agor[100].get(key))}" if growth else ""
        lines.append(f"| {title} | " + " | ".join(cells) + g + " |")
    cells = []
    for n in sizes:
        m = agor[n].get("migrate_inproc")
        cells.append(f"{ms(m['migrate'])} (connect {ms(m['connect'])}, connect + bookkeeping "
                     f"read {ms(m['read'])})" if m else "-")
    lines.append("| `agor_schema.migrate()` in-process, up to date (median of 25) | "
                 + " | ".join(cells) + (" | |" if growth else " |"))
    lines += ["", "Growth is the ratio of medians from 100 to 1000 tables (10x the schema): "
              "below 10x means sub-linear; process startup is a fixed part of every figure.", ""]

    if drz or alb:
        lines += ["## Side by side (same run)", "",
                  "Ratio = peer median / agorschema median; above 1 means agorschema is faster.", "",
                  "| size | peer command | peer | agorschema counterpart | agorschema | ratio |",
                  "|---|---|---|---|---|---|"]
        for n in sizes:
            a = agor[n]
            d = drz.get(n, {})
            pairs = [
                ("drizzle-kit generate, one added column (sqlite)", d.get("generate_change_sqlite"),
                 "compile, one added column, both dialects", a["compile_change"]),
                ("drizzle-kit generate, one added column (postgresql)", d.get("generate_change_pg"),
                 "compile, one added column, both dialects", a["compile_change"]),
                ("drizzle-kit generate, initial (sqlite)", d.get("generate_initial_sqlite"),
                 "compile, initial, both dialects", a["compile_initial"]),
                ("drizzle-kit generate, initial (postgresql)", d.get("generate_initial_pg"),
                 "compile, initial, both dialects", a["compile_initial"]),
                ("drizzle-kit check (sqlite)", d.get("check_sqlite"), "check", a["check"]),
                ("drizzle-kit check (postgresql)", d.get("check_pg"), "check", a["check"]),
                ("drizzle-orm migrator, up to date (process)", d.get("orm_migrate"),
                 "migrate, up to date (process)", a["migrate"]),
                ("node: open SQLite + select 1 (process floor)", d.get("node_connect_proc"),
                 "python: open SQLite + select 1", a["sqlite_connect_proc"]),
                ("alembic check", alb.get(n, {}).get("check"), "check", a["check"]),
                ("alembic revision --autogenerate, one added column",
                 alb.get(n, {}).get("autogenerate"), "compile, one added column, both dialects",
                 a["compile_change"]),
            ]
            for peer_title, peer, agor_title, agor_stat in pairs:
                if peer is None:
                    continue
                lines.append(f"| {n} | {peer_title} | {peer.cell()} | {agor_title} | "
                             f"{agor_stat.cell()} | {ratio(peer, agor_stat)} |")
            inproc = d.get("orm_inproc")
            if inproc and a.get("migrate_inproc"):
                mi = a["migrate_inproc"]
                lines.append(f"| {n} | drizzle-orm migrate() in-process (one call) | "
                             f"{ms(inproc['migrate'])} (connect {ms(inproc['connect'])}) | "
                             f"agor_schema.migrate() in-process | {ms(mi['migrate'])} "
                             f"(connect {ms(mi['connect'])}) | "
                             f"{inproc['migrate'] / mi['migrate']:.2f}x |")
        lines.append("")

    if reb:
        lines += [f"## SQLite table rebuild, {reb['rows']:,} rows", "",
                  "Changing `e` from nullable to NOT NULL with a default makes agorschema rebuild "
                  "the table (`__new_big`, copy, drop, rename, re-create the index"
                  f"{'' if reb['rebuild_sql'] else ' — **the migration did not rebuild**'}). "
                  "Timed in-process around `agor_schema.migrate()` (the runner's transaction, "
                  "foreign-key handling and `foreign_key_check` included) and around the "
                  "floors, each in one transaction: a bare `CREATE TABLE` + `INSERT INTO ... "
                  "SELECT` copy, the copy + `CREATE INDEX`, and the same rebuild written by hand "
                  "(copy, `DROP TABLE`, `ALTER TABLE ... RENAME`, `CREATE INDEX`: what SQLite "
                  "itself spends on any tool's rebuild). Each run starts from a fresh copy of the "
                  "database file; the in-process runs take turns, round by round. "
                  + _secure_delete_note(), "",
                  "| what | median (min-max) | ratio to migrate |", "|---|---|---|"]
        for title, key in (("agorschema migrate (in-process)", "migrate"),
                           ("floor: INSERT INTO ... SELECT copy", "floor_copy"),
                           ("floor: copy + CREATE INDEX", "floor_copy_index"),
                           ("floor: the rebuild by hand (copy, drop, rename, index)",
                            "floor_rebuild"),
                           ("agorschema migrate (whole process)", "migrate_proc")):
            stat = reb[key]
            lines.append(f"| {title} | {stat.cell()} | {ratio(reb['migrate'], stat)} |")
        lines.append("")

    lines += ["## Targets (measured, not asserted)", "", "| target | measured | verdict |",
              "|---|---|---|"]
    for n, limit in ((100, 0.2), (1000, 0.6)):
        if n in agor and agor[n]["check"].ok:
            med = agor[n]["check"].median
            lines.append(f"| check, no change, {n} tables ≤ {limit * 1000:.0f} ms | {ms(med)} | "
                         f"{verdict(med <= limit)} |")
    lines += _issue12_targets(sizes, agor, drz)
    if growth:
        worst = max(agor[1000][k].median / agor[100][k].median
                    for k in ("check", "compile_change", "compile_initial", "migrate")
                    if agor[1000][k].ok and agor[100][k].ok)
        lines.append(f"| growth 100→1000 tables at most linear (≤ 10x) | worst {worst:.2f}x | "
                     f"{verdict(worst <= 10)} |")
    if reb and reb["migrate"].ok and reb["floor_copy_index"].ok:
        r1 = reb["migrate"].median / reb["floor_copy"].median
        r2 = reb["migrate"].median / reb["floor_copy_index"].median
        lines.append(f"| rebuild ≤ 1.3x the bare copy | {r1:.2f}x the copy, {r2:.2f}x copy + index "
                     f"| {verdict(r2 <= 1.3)} (against copy + index) |")
        if reb.get("floor_rebuild") and reb["floor_rebuild"].ok:
            r3 = reb["migrate"].median / reb["floor_rebuild"].median
            lines.append(f"| the runner's cost over the same rebuild by hand ≤ 1.1x | {r3:.2f}x "
                         f"| {verdict(r3 <= 1.1)} |")
    for n in sizes:
        m = agor[n].get("migrate_inproc")
        if m:
            over = m["migrate"] - m["connect"]
            lines.append(f"| migrate up to date ≤ 50 ms above connecting, {n} tables (in-process) | "
                         f"{ms(over)} above | {verdict(over <= 0.05)} |")
            if "read" in m:
                lines.append(f"| same, above connect + the bookkeeping read (SQLite parses the "
                             f"schema on first use), {n} tables | {ms(m['migrate'] - m['read'])} "
                             f"above | {verdict(m['migrate'] - m['read'] <= 0.05)} |")
        if agor[n]["migrate"].ok and agor[n]["sqlite_connect_proc"].ok:
            over = agor[n]["migrate"].median - agor[n]["sqlite_connect_proc"].median
            lines.append(f"| same, whole process vs a python process that only connects, {n} "
                         f"tables | {ms(over)} above | {verdict(over <= 0.05)} |")
    lines.append("")
    if skipped:
        lines += ["## Skipped", ""] + [f"- {s}" for s in skipped] + [""]
    return "\n".join(lines)


def _cpu_ratio(a: list, b: Stat) -> str:
    """CPU (user + sys) ratio of the medians: load-independent work, for reference."""
    if not b.cpu_median or not all(x is not None and x.cpu_median for x in a):
        return ""
    return f"; CPU {sum(x.cpu_median for x in a) / b.cpu_median:.2f}x"


def _cpu_over(a: Stat, b: Stat) -> str:
    if a.cpu_median is None or b.cpu_median is None:
        return ""
    return f"; CPU {ms(a.cpu_median - b.cpu_median)} above"


def _issue12_targets(sizes: list[int], agor: dict, drz: dict) -> list[str]:
    """Issue 12's speed targets; verdicts on wall-clock medians (CPU shown for reference:
    on a loaded machine wall time multiplies what the process itself costs)."""
    lines = []
    for n in sizes:  # >= 4x drizzle-kit's two generate runs for the same change
        gens = [drz.get(n, {}).get(k) for k in ("generate_change_sqlite", "generate_change_pg")]
        a = agor[n]["compile_change"]
        if n in (100, 1000) and all(g is not None and g.ok for g in gens) and a.ok:
            both = sum(g.median for g in gens)
            speed = both / a.median
            lines.append(f"| compile one change (both dialects), {n} tables, ≥ 4x faster than "
                         f"drizzle-kit's two generate runs ({ms(both)}) | {speed:.2f}x "
                         f"({ms(a.median)}{_cpu_ratio(gens, a)}) | {verdict(speed >= 4)} |")
    for n in sizes:
        a = agor[n]
        if a.get("check_comment") and a["check_comment"].ok and a["check"].ok:
            r = a["check_comment"].median / a["check"].median
            lines.append(f"| check after a comment-only edit within 1.5x a clean check, {n} "
                         f"tables | {r:.2f}x{_cpu_ratio([a['check_comment']], a['check'])} | "
                         f"{verdict(r <= 1.5)} |")
    above_floor = [  # (measurement, seconds allowed above `python -c pass`, target text)
        ("help", 0.06, "`agorschema --help` within 60 ms of `python -c pass` ({n}-table run)"),
        ("migrate_api_proc", 0.03, "fresh process: `import agor_schema` + `migrate()` on an "
         "up-to-date SQLite database within 30 ms of `python -c pass`, {n} tables"),
    ]
    for key, allowed, text in above_floor:
        for n in sizes:
            a = agor[n]
            if a.get(key) and a[key].ok and a["python_pass"].ok:
                over = a[key].median - a["python_pass"].median
                lines.append(f"| {text.format(n=n)} | {ms(over)} above"
                             f"{_cpu_over(a[key], a['python_pass'])} | {verdict(over <= allowed)} |")
    return lines


def _node_v() -> str:
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "-"


def _production_block() -> str:
    """The block bench_production.py keeps in RESULTS.md (its own run), carried over."""
    path = HERE / "RESULTS.md"
    old = path.read_text() if path.exists() else ""
    start, end = "<!-- production:start -->", "<!-- production:end -->"
    if start not in old or end not in old:
        return ""
    return "\n" + start + old.split(start, 1)[1].split(end, 1)[0] + end + "\n"


def _replace_between(readme: Path, start: str, end: str, block: str) -> None:
    """Put `block` between the two marker lines of `readme` (unchanged when either is missing)."""
    if not readme.exists():
        return
    text = readme.read_text()
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        readme.write_text(f"{head}{start}\n{block}\n{end}{tail}")


def update_readme(table: str) -> None:
    """The results into benchmarks/README.md and, headings one level down, the project's
    README (its Benchmarks section), so both always show the same run."""
    _replace_between(HERE / "README.md", "<!-- results:start -->", "<!-- results:end -->", table)
    demoted = re.sub(r"^(#+) ", r"#\1 ", table, flags=re.M)
    _replace_between(HERE.parent / "README.md", "<!-- bench:start -->", "<!-- bench:end -->",
                     demoted)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="10 and 100 tables, 3 runs, 100k-row rebuild (a few minutes)")
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                        help="comma-separated table counts (default 10,100,1000)")
    parser.add_argument("--runs", type=int, help="runs per measurement (default 7, quick 3)")
    parser.add_argument("--rows", type=int, help="rows in the rebuild table (default 1,000,000)")
    parser.add_argument("--no-peers", action="store_true", help="skip drizzle and alembic")
    parser.add_argument("--no-alembic", action="store_true", help="skip alembic only")
    parser.add_argument("--no-rebuild", action="store_true", help="skip the big-table rebuild")
    args = parser.parse_args(argv)
    sizes = args.sizes or ([10, 100] if args.quick else [10, 100, 1000])
    runs = args.runs or (3 if args.quick else 7)
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    started = time.perf_counter()
    WORK.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    info = machine_info()
    info["install"] = setup_agorschema_venv(log)
    bench = Bench(runs, log)
    skipped: list[str] = []
    node_skip = alembic_skip = "--no-peers given" if args.no_peers else None
    if not args.no_peers:
        node_skip = setup_node(log)
        alembic_skip = "--no-alembic given" if args.no_alembic else setup_alembic(log)
    if node_skip:
        skipped.append(f"drizzle-kit / drizzle-orm: {node_skip}")
    if alembic_skip:
        skipped.append(f"Alembic: {alembic_skip}")
    agor: dict = {}
    drz: dict = {}
    alb: dict = {}
    for n in sizes:
        tables = gen.make_schema(n)
        log(f"== {n} tables ==")
        agor[n] = agorschema_size(bench, n, tables, log)
        if not node_skip:
            drz[n] = drizzle_size(bench, n, tables, agor[n], log)
        if not alembic_skip:
            alb[n] = alembic_size(bench, n, tables, log)
    reb = None
    if args.no_rebuild:
        skipped.append("SQLite rebuild: --no-rebuild given")
    else:
        log(f"== rebuild of {rows:,} rows ==")
        reb = rebuild(bench, rows, 3, log)
    text = report(args, info, sizes, agor, drz, alb, reb, skipped, started)
    (HERE / "RESULTS.md").write_text(text + _production_block())
    update_readme(text.split("\n", 2)[2])
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
