"""How much does `migrate` cost at app startup when the database is already up to date?

Measures, as medians of N in-process runs (imports and the first call excluded):

* ``connect``: opening (and closing) the SQLite connection the runner uses;
* ``agorschema migrate``: a whole up-to-date ``agor_schema.migrate(url, folder)`` call
  (read journal, hash files, one bookkeeping read);
* ``drizzle-orm migrate`` (when Node and npm work): drizzle-orm's migrator on the same
  history and an up-to-date database, with sql.js (pure wasm; its "connection" is loading
  the file into memory, measured separately).

With --cold-runs, also fresh processes (interpreter start, imports, one call), which is
what a single app start pays. Histories: the real drizzle-kit SQLite history
(../shared/data/agor/sqlite-2025-11, when present) and a synthetic one of --synthetic
migrations. Target (issue 4): agorschema's
overhead over the connection time at most 50 ms. Not asserted anywhere; run:

    python benchmarks/bench_migrate_uptodate.py [--runs 200] [--synthetic 200]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agor_schema.dialects import dialect_for_url  # noqa: E402
from agor_schema.journal import BREAKPOINT, Journal, JournalEntry, write_journal  # noqa: E402
from agor_schema.runner import migrate  # noqa: E402

CORPUS = REPO.parent / "shared" / "data" / "agor" / "sqlite-2025-11"
NPM_PACKAGES = ("drizzle-orm@0.44.7", "sql.js@1.13.0")

NODE_ONCE = r"""
"use strict";
const fs = require("fs");
const initSqlJs = require("sql.js");
const [mode, file, folder] = process.argv.slice(2);
initSqlJs().then((SQL) => {
  const db = new SQL.Database(fs.readFileSync(file));
  if (mode === "migrate") {
    const { drizzle } = require("drizzle-orm/sql-js");
    const { migrate } = require("drizzle-orm/sql-js/migrator");
    migrate(drizzle(db), { migrationsFolder: folder });
  }
  db.close();
});
"""

NODE_BENCH = r"""
"use strict";
const fs = require("fs");
const initSqlJs = require("sql.js");
const { drizzle } = require("drizzle-orm/sql-js");
const { migrate } = require("drizzle-orm/sql-js/migrator");
const [file, folder, runs] = [process.argv[2], process.argv[3], Number(process.argv[4])];
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
(async () => {
  const SQL = await initSqlJs();
  const open = () => new SQL.Database(fs.readFileSync(file));
  const first = open();
  migrate(drizzle(first), { migrationsFolder: folder });   // bring it up to date once
  fs.writeFileSync(file, Buffer.from(first.export()));
  const connect = [], call = [];
  for (let i = 0; i < runs; i++) {
    let t = process.hrtime.bigint();
    const db = open();
    connect.push(Number(process.hrtime.bigint() - t) / 1e6);
    const orm = drizzle(db);
    t = process.hrtime.bigint();
    migrate(orm, { migrationsFolder: folder });
    call.push(Number(process.hrtime.bigint() - t) / 1e6);
    db.close();
  }
  console.log(JSON.stringify({ connect_ms: median(connect), migrate_ms: median(call) }));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up: imports, caches
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def cold_ms(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> float:
    """Median wall time of a fresh process: what one app start really pays."""
    samples = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, env=env, capture_output=True)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples[1:])


def bench_cold(name: str, folder: Path, work: Path, runs: int, modules: Path | None) -> dict:
    """Fresh-process numbers: import + connect + migrate versus import + connect."""
    db = work / f"{name}.db"
    url = f"sqlite:///{db}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    row = {
        "python_connect_cold_ms": cold_ms(
            [sys.executable, "-c", f"import sqlite3; sqlite3.connect({str(db)!r}).close()"],
            runs, env),
        "agorschema_migrate_cold_ms": cold_ms(
            [sys.executable, "-c",
             f"import agor_schema; agor_schema.migrate({url!r}, {str(folder)!r})"], runs, env),
    }
    if modules is not None:
        script = work / "once.cjs"
        script.write_text(NODE_ONCE)
        node_env = {**os.environ, "NODE_PATH": str(modules)}
        theirs = work / f"{name}-drizzle.db"
        shutil.copy(db, theirs)
        row["node_open_cold_ms"] = cold_ms(
            ["node", str(script), "open", str(theirs), str(folder)], runs, node_env)
        row["drizzle_migrate_cold_ms"] = cold_ms(
            ["node", str(script), "migrate", str(theirs), str(folder)], runs, node_env)
    return row


def synthetic_history(folder: Path, count: int) -> Path:
    """`count` small drizzle-style migrations (one table each, an index, a column)."""
    entries = []
    for n in range(count):
        tag = f"{n:04d}_step_{n}"
        sql = BREAKPOINT.join([
            f"CREATE TABLE `t{n}` (\n\t`id` integer PRIMARY KEY NOT NULL,\n\t`v` text\n);\n",
            f"\nCREATE INDEX `t{n}_v_idx` ON `t{n}` (`v`);",
            f"\nALTER TABLE `t{n}` ADD `w` integer;",
        ])
        (folder / f"{tag}.sql").write_text(sql)
        entries.append(JournalEntry(n, "6", 1_700_000_000_000 + n * 1000, tag))
    write_journal(folder, Journal("sqlite", entries))
    return folder


def node_modules(cache_root: Path) -> Path | None:
    npm = shutil.which("npm")
    if not npm or not shutil.which("node"):
        return None
    key = hashlib.sha256(" ".join(NPM_PACKAGES).encode()).hexdigest()[:12]
    cache = cache_root / f"agorschema-npm-bench-{key}"
    modules = cache / "node_modules"
    if not (modules / "drizzle-orm").exists() or not (modules / "sql.js").exists():
        cache.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--save-exact",
                               "--loglevel=error", *NPM_PACKAGES], cwd=cache,
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            print(f"  (npm install failed: {done.stderr.strip()[-300:]})")
            return None
    return modules


def bench_drizzle(modules: Path, folder: Path, work: Path, runs: int) -> dict | None:
    script = work / "bench.cjs"
    script.write_text(NODE_BENCH)
    db = work / "drizzle.db"
    db.unlink(missing_ok=True)
    sqlite3.connect(db).close()
    done = subprocess.run(["node", str(script), str(db), str(folder), str(runs)],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NODE_PATH": str(modules)})
    if done.returncode != 0:
        print(f"  (drizzle-orm run failed: {done.stderr.strip()[-300:]})")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_history(name: str, folder: Path, work: Path, runs: int,
                  modules: Path | None) -> dict:
    db = work / f"{name}.db"
    url = f"sqlite:///{db}"
    migrate(url, folder)  # apply once; every measured call is then up to date
    runtime = dialect_for_url(url)
    raw_connect = median_ms(lambda: sqlite3.connect(db).close(), runs)
    rt_connect = median_ms(lambda: runtime.connect(url).close(), runs)
    ours = median_ms(lambda: migrate(url, folder), runs)
    row = {
        "history": name,
        "migrations": sum(1 for _ in folder.glob("*.sql")),
        "sqlite3_connect_ms": raw_connect,
        "runner_connect_ms": rt_connect,
        "agorschema_migrate_ms": ours,
        "agorschema_overhead_ms": ours - rt_connect,
    }
    if modules is not None:
        theirs = bench_drizzle(modules, folder, work, runs)
        if theirs is not None:
            row["drizzle_connect_ms"] = theirs["connect_ms"]
            row["drizzle_migrate_ms"] = theirs["migrate_ms"]
            row["ratio_agorschema_over_drizzle"] = ours / theirs["migrate_ms"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="measured runs per number")
    parser.add_argument("--synthetic", type=int, default=200,
                        help="size of the synthetic history")
    parser.add_argument("--cold-runs", type=int, default=15,
                        help="fresh-process runs per number (0 to skip)")
    parser.add_argument("--no-node", action="store_true", help="skip drizzle-orm")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    modules = None if args.no_node else node_modules(Path(tempfile.gettempdir()))
    results = []
    with tempfile.TemporaryDirectory(prefix="agorschema-bench-") as tmp:
        work = Path(tmp)
        histories = []
        if CORPUS.is_dir():
            histories.append(("agor-sqlite-2025-11", Path(shutil.copytree(CORPUS, work / "c"))))
        synthetic = work / "s"
        synthetic.mkdir()
        histories.append((f"synthetic-{args.synthetic}", synthetic_history(synthetic,
                                                                             args.synthetic)))
        for name, folder in histories:
            row = bench_history(name, folder, work, args.runs, modules)
            if args.cold_runs:
                row.update(bench_cold(name, folder, work, args.cold_runs, modules))
            results.append(row)

    print(f"migrate on an up-to-date SQLite database, median of {args.runs} runs (ms)")
    for r in results:
        print(f"\n{r['history']} ({r['migrations']} migrations)")
        print(f"  sqlite3.connect + close         {r['sqlite3_connect_ms']:8.3f}")
        print(f"  runner connect + close          {r['runner_connect_ms']:8.3f}")
        print(f"  agorschema migrate (whole call) {r['agorschema_migrate_ms']:8.3f}")
        print(f"  agorschema over connection      {r['agorschema_overhead_ms']:8.3f}"
              f"   (target <= 50)")
        if "drizzle_migrate_ms" in r:
            print(f"  drizzle-orm load db (sql.js)    {r['drizzle_connect_ms']:8.3f}")
            print(f"  drizzle-orm migrate (sql.js)    {r['drizzle_migrate_ms']:8.3f}")
            print(f"  ratio agorschema / drizzle      {r['ratio_agorschema_over_drizzle']:8.2f}")
        else:
            print("  drizzle-orm: not measured (Node/npm unavailable or --no-node)")
        if "agorschema_migrate_cold_ms" in r:
            print("  fresh process (interpreter start + imports + call):")
            print(f"    python: import sqlite3, connect  {r['python_connect_cold_ms']:8.1f}")
            print(f"    python: agor_schema.migrate      {r['agorschema_migrate_cold_ms']:8.1f}"
                  f"   (+{r['agorschema_migrate_cold_ms'] - r['python_connect_cold_ms']:.1f})")
        if "drizzle_migrate_cold_ms" in r:
            print(f"    node: sql.js open                {r['node_open_cold_ms']:8.1f}")
            print(f"    node: drizzle-orm migrate        {r['drizzle_migrate_cold_ms']:8.1f}"
                  f"   (+{r['drizzle_migrate_cold_ms'] - r['node_open_cold_ms']:.1f})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
