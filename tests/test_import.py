"""`agorschema import`: real drizzle-kit folders become one schema YAML that compiles back to
their latest snapshots (as data), except what the report names with a reason.

Agor's latest SQLite + PostgreSQL snapshot pair (two commits apart, so `only:` and overrides
carry the differences) imports into one YAML; compiled into a fresh project both migrations
apply to empty real databases, `verify` passes, and `diff` against databases built from
drizzle-kit's own DDL for those snapshots (drizzle-kit/api) reports no drift. Each of the six
corpora imports; after import `compile` continues each existing journal and the new migration
applies on top of the real history. Reads ../shared in place (skips when absent).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
import yaml
from catalog import Project
from click.testing import CliRunner
from corpus import AGOR, NAMES, corpus_folder, dialect_of
from pg_cluster import create_database, drop_database
from test_drizzle_kit import drizzle_kit  # noqa: F401 - the npm-installed drizzle-kit fixture
from test_runner_interop import drizzle_migrate, drizzle_node  # noqa: F401 - drizzle-orm

import agor_schema
from agor_schema.build import build_snapshot
from agor_schema.cli import main
from agor_schema.compiler import load_specs
from agor_schema.config import load_config
from agor_schema.dialects import get_dialect

JS = Path(__file__).parent / "js" / "drizzle_snapshot_sql.cjs"
PARTS = ("columns", "indexes", "foreignKeys", "compositePrimaryKeys", "uniqueConstraints",
         "checkConstraints")


def _import(root: Path, *args: str) -> dict:
    done = CliRunner().invoke(main, ["import", *args, "--project", str(root),
                                     "--format", "json"], catch_exceptions=False)
    envelope = json.loads(done.output)
    assert envelope["command"] == "import"
    assert done.exit_code == envelope["exit_code"], done.output
    return envelope


def _latest(folder: Path) -> dict:
    files = sorted(p for p in (folder / "meta").glob("*.json") if not p.name.startswith("_"))
    return json.loads(files[-1].read_text(encoding="utf-8"))


def _unexplained(root: Path, sources: dict[str, Path], warnings: list[dict]) -> list[tuple]:
    """Elements where the compiled schema's snapshot differs from the source snapshot and the
    report does not name them."""
    cfg = load_config(root)
    specs = load_specs(cfg)
    reported = {(w.get("dialect"), w.get("table"), w.get("name")) for w in warnings}
    reported |= {(w.get("dialect"), w.get("table"), None) for w in warnings}
    missing = []
    for dialect_name, folder in sources.items():
        dialect = get_dialect(dialect_name)
        built = dialect.snapshot_to_json(build_snapshot(specs[dialect_name], dialect))["tables"]
        source = _latest(folder)["tables"]
        for key in sorted(set(built) | set(source)):
            table = (source.get(key) or built.get(key))["name"]
            if key not in built or key not in source:
                if (dialect_name, table, None) not in reported:
                    missing.append((dialect_name, table, "table"))
                continue
            for part in PARTS:
                have, want = built[key].get(part, {}), source[key].get(part, {})
                for name in sorted(set(have) | set(want)):
                    if have.get(name) != want.get(name) and \
                            (dialect_name, table, name) not in reported:
                        missing.append((dialect_name, table, part, name, have.get(name),
                                        want.get(name)))
    return missing


# ------------------------------------------------------------------ Agor's pair


@pytest.fixture
def agor(shared_dir: Path, tmp_path: Path) -> tuple[Path, dict]:
    root = tmp_path / "agor"
    for dialect, source in (("sqlite", "sqlite-latest-snapshot"),
                            ("postgres", "postgres-latest-snapshot")):
        shutil.copytree(AGOR / source, root / "packages" / "core" / "drizzle" / dialect)
    (root / "pyproject.toml").write_text('[project]\nname = "agor"\n', encoding="utf-8")
    folders = {d: root / "packages" / "core" / "drizzle" / d for d in ("sqlite", "postgres")}
    envelope = _import(root, "--sqlite", str(folders["sqlite"]), "--postgres",
                       str(folders["postgres"]))
    return root, {"envelope": envelope, "folders": folders}


def test_agor_pair_imports_into_one_yaml(agor: tuple[Path, dict]) -> None:
    root, info = agor
    envelope, folders = info["envelope"], info["folders"]
    assert envelope["ok"] and envelope["exit_code"] == 0
    doc = yaml.safe_load((root / "schema" / "schema.yaml").read_text(encoding="utf-8"))
    assert len(doc["tables"]) == 53
    # what one dialect lacks is `only:`, what differs an override, each column written once
    columns = [c for t in doc["tables"].values() for c in t["columns"].values()]
    assert sum(1 for c in columns if c.get("only") == "postgres") >= 40  # tenant_id
    assert any("postgres" in c and c["postgres"].get("type") == "varchar(36)" for c in columns)
    types = {c["type"] for c in columns}
    assert {"timestamp", "boolean", "json", "varchar(36)", "bigint", "bytes"} <= types
    # settings point at the folders where they are; the checksum file follows them
    cfg = load_config(root)
    assert cfg.migrations_dir("sqlite") == folders["sqlite"]
    assert cfg.migrations_dir("postgres") == folders["postgres"]
    assert cfg.manifest_path == root / "packages" / "core" / "drizzle" / "agorschema.sum"
    # everything that does not come back exactly is in the report, with its reason
    warnings = envelope["warnings"]
    assert not _unexplained(root, folders, warnings)
    assert all(w.get("table") and w.get("dialect") for w in warnings)
    assert not any("does not validate" in w["message"] for w in warnings)
    columns_reported = {(w["table"], w.get("name")) for w in warnings}
    for name, table in doc["tables"].items():  # no column is approximate
        assert not {(name, c) for c in table["columns"]} & columns_reported
    if _dsl_has("parts") and _verbatim():
        # what is left: the two foreign keys no unique covers in the snapshot (42830)
        assert sorted(w["name"] for w in warnings) == [
            "mcp_oauth_pending_flows_tenant_server_fk", "user_mcp_oauth_tokens_tenant_server_fk"]
        assert all("42830" in w["message"] for w in warnings)


def _dsl_has(feature: str) -> bool:
    from agor_schema.spelling import Prover

    return Prover({d: get_dialect(d) for d in ("sqlite", "postgres")}).supports(feature)


def _verbatim() -> bool:
    from agor_schema.spelling import Prover

    return Prover({d: get_dialect(d) for d in ("sqlite", "postgres")}).verbatim


def test_import_refuses_to_overwrite_without_force(agor: tuple[Path, dict]) -> None:
    root, info = agor
    schema = root / "schema" / "schema.yaml"
    schema.write_text("# mine\n", encoding="utf-8")
    again = _import(root, "--sqlite", str(info["folders"]["sqlite"]))
    assert again["exit_code"] == 1 and "--force" in again["errors"][0]["message"]
    assert schema.read_text(encoding="utf-8") == "# mine\n"
    forced = _import(root, "--sqlite", str(info["folders"]["sqlite"]), "--force")
    assert forced["exit_code"] == 0
    assert schema.read_text(encoding="utf-8") != "# mine\n"


def test_import_input_errors(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    assert _import(tmp_path)["exit_code"] == 2
    empty = tmp_path / "drizzle"
    (empty / "meta").mkdir(parents=True)
    (empty / "meta" / "_journal.json").write_text('{"entries": []}', encoding="utf-8")
    out = _import(tmp_path, "--sqlite", str(empty))
    assert out["exit_code"] == 2 and "no snapshot" in out["errors"][0]["message"]
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    shutil.copytree(empty, outside)
    out = _import(tmp_path, "--sqlite", str(outside))
    assert out["exit_code"] == 2 and "outside the project" in out["errors"][0]["message"]
    assert not (tmp_path / "schema").exists()


def _drizzle_statements(cache: Path, dialect: str, snapshot: Path) -> list[str]:
    done = subprocess.run(["node", str(JS), dialect, str(snapshot)], capture_output=True,
                          text=True, timeout=120, env={"NODE_PATH": str(cache / "node_modules"),
                                                       "PATH": "/usr/bin:/bin:/usr/local/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def _apply_in_any_order(execute, statements: list[str]) -> list[str]:
    """Apply drizzle-kit's statements, retrying those that wait for a later one (its own FK
    before unique-index order); return the ones that never apply."""
    pending = list(statements)
    while pending:
        failed = []
        for statement in pending:
            try:
                execute(statement)
            except Exception:  # noqa: BLE001 - retried below, reported if it never applies
                failed.append(statement)
        if len(failed) == len(pending):
            return failed
        pending = failed
    return []


def test_agor_pair_applies_verifies_and_has_no_drift_against_drizzle_kit(
        agor: tuple[Path, dict], tmp_path: Path, pg_admin_url: str | None,
        drizzle_kit: Path) -> None:  # noqa: F811
    if pg_admin_url is None:
        pytest.skip("no PostgreSQL")
    import psycopg

    from agor_schema.drift import database_drift
    from agor_schema.verify import verify_project

    root, info = agor
    fresh = Project(tmp_path / "fresh")
    shutil.copy(root / "schema" / "schema.yaml", fresh.root / "schema" / "schema.yaml")
    result = fresh.compile()
    assert {d: o.migration.tag for d, o in result.outputs.items()} == \
        {"sqlite": "0000_init", "postgres": "0000_init"}
    sqlite_url = f"sqlite:///{tmp_path / 'ours.db'}"
    assert agor_schema.migrate(sqlite_url, fresh.folder("sqlite")).applied_tags == ["0000_init"]
    verified = verify_project(fresh.config, {"postgres": pg_admin_url})
    assert verified.ok, [str(m) for m in verified.mismatches]
    assert [r.status for r in verified.dialects] == ["ok", "ok"]

    # databases built from drizzle-kit's own DDL for the two snapshots
    snapshots = {"sqlite": info["folders"]["sqlite"] / "meta" / "0103_snapshot.json",
                 "postgres": info["folders"]["postgres"] / "meta" / "0100_snapshot.json"}
    kit_db = tmp_path / "drizzle-kit.db"
    conn = sqlite3.connect(str(kit_db), isolation_level=None)
    statements = _drizzle_statements(drizzle_kit, "sqlite", snapshots["sqlite"])
    # drizzle-kit/api back-quotes SQLite index expressions (its `internal` flags are not
    # consulted there): undo that one bug so the index exists as the snapshot describes it
    statements = [s.replace('`coalesce("owner_user_id"`,` \'\')`',
                            'coalesce("owner_user_id", \'\')') for s in statements]
    left = _apply_in_any_order(conn.execute, statements)
    conn.close()
    assert left == []
    pg_kit = create_database(pg_admin_url)
    try:
        with psycopg.connect(pg_kit, autocommit=True) as pg:
            left = _apply_in_any_order(pg.execute, _drizzle_statements(
                drizzle_kit, "postgresql", snapshots["postgres"]))
        # only the two foreign keys whose target no unique covers (reported by import)
        assert len(left) == 2 and all("_tenant_server_fk" in s for s in left)
        cfg = fresh.config
        reported = {(w.get("dialect"), w.get("table"), w.get("name"))
                    for w in info["envelope"]["warnings"]}
        for url in (f"sqlite:///{kit_db}", pg_kit):
            found = database_drift(cfg, url)
            # no drift but what the import reported (index part order until `parts:`)
            unexplained = [c.message for c in found.drift.changes
                           if (found.dialect, c.table, c.name) not in reported]
            assert not unexplained
            if _dsl_has("parts") and _verbatim():  # the import is exact but for the 2 FKs
                assert found.ok, [c.message for c in found.drift.changes]
    finally:
        drop_database(pg_admin_url, pg_kit)


# ------------------------------------------------------------------ the six corpora

LAYOUT = {  # where each project keeps its folder (each dialect's folder named on its own)
    "homarr-labs__homarr__sqlite": "packages/db/migrations/sqlite",
    "homarr-labs__homarr__postgresql": "packages/db/migrations/postgresql",
    "richardr1126__openreader__sqlite": "drizzle",
    "dittofeed__dittofeed__postgresql": "packages/backend-lib/drizzle",
    "usekaneo__kaneo__postgresql": "src/db/migrations",
    "Dokploy__dokploy__postgresql": "apps/dokploy/drizzle",
}
PROBE = {"agorschema_probe": {"columns": {"probe_id": {"type": "integer", "primary_key": True},
                                          "note": "text"}}}


@pytest.mark.parametrize("name", NAMES)
def test_corpus_imports_and_the_journal_continues(shared_dir: Path, tmp_path: Path,
                                                  tmp_path_factory, name: str,
                                                  request: pytest.FixtureRequest) -> None:
    dialect = dialect_of(name)
    source = corpus_folder(name, tmp_path_factory.getbasetemp() / "corpus")
    root = tmp_path / "project"
    folder = root / LAYOUT[name]
    shutil.copytree(source, folder)
    envelope = _import(root, f"--{dialect}", str(folder))
    assert envelope["exit_code"] == 0, envelope
    assert not _unexplained(root, {dialect: folder}, envelope["warnings"])
    assert all(w.get("dialect") == dialect and w["message"] for w in envelope["warnings"])
    if _dsl_has("parts") and _verbatim():
        # exact, but for Dokploy's `ARRAY[]::text[]` defaults: the DSL takes an array default
        # only as a list ([] builds '{}', the same value spelled differently)
        assert all("ARRAY[]::text[]" in w["message"] for w in envelope["warnings"])
        assert envelope["result"]["exact"] or name == "Dokploy__dokploy__postgresql"
    cfg = load_config(root)
    assert cfg.migrations_dir(dialect) == folder
    before = json.loads((folder / "meta" / "_journal.json").read_text(encoding="utf-8"))

    from agor_schema.compiler import InconsistentFolder, compile_project

    def compile_or_xfail(**options):
        try:
            return compile_project(load_config(root), allow_destructive=True, **options)
        except InconsistentFolder as exc:  # kaneo: `when` goes backwards 3 times upstream
            pytest.xfail(f"compile refuses inherited history faults until check reports them "
                         f"as warnings (DESIGN §6): {exc}")

    first = compile_or_xfail()
    if envelope["result"]["exact"]:
        assert first.outputs[dialect].migration is None  # nothing to migrate after import
    assert cfg.manifest_path.is_file()
    # the next schema change is the next entry of the existing journal
    schema = root / "schema" / "schema.yaml"
    doc = yaml.safe_load(schema.read_text(encoding="utf-8"))
    doc["tables"].update(PROBE)
    schema.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    second = compile_or_xfail(name="add_probe")
    after = json.loads((folder / "meta" / "_journal.json").read_text(encoding="utf-8"))
    new = after["entries"][len(before["entries"]):]
    assert after["entries"][:len(before["entries"])] == before["entries"]
    assert (after["dialect"], after["version"]) == (before["dialect"], before["version"])
    assert new[0]["idx"] == before["entries"][-1]["idx"] + 1
    assert new[-1]["tag"].endswith("_add_probe") and second.outputs[dialect].migration
    assert all(e["when"] > max(b["when"] for b in before["entries"]) for e in new)
    # the continued folder applies: the real history, then the new entries
    url = f"sqlite:///{tmp_path / 'corpus.db'}" if dialect == "sqlite" \
        else request.getfixturevalue("pg_url")
    applied = agor_schema.migrate(url, folder, allow_out_of_order=True).applied_tags
    assert applied[-1] == new[-1]["tag"]
    assert len(applied) == len(after["entries"])


# ------------------------------------------------------------------ hand-over from drizzle-orm

HANDOVER = {"sqlite": "richardr1126__openreader__sqlite",
            "postgres": "homarr-labs__homarr__postgresql"}


@pytest.mark.parametrize("dialect", sorted(HANDOVER))
def test_database_drizzle_orm_migrated_continues_with_agorschema(
        shared_dir: Path, tmp_path: Path, tmp_path_factory, dialect: str,
        request: pytest.FixtureRequest) -> None:
    """drizzle-orm's own migrator applied the real history; after `import` and one schema
    change, agorschema's runner applies only the new migration to that database."""
    modules = request.getfixturevalue("drizzle_node")
    name = HANDOVER[dialect]
    root = tmp_path / "project"
    folder = root / LAYOUT[name]
    shutil.copytree(corpus_folder(name, tmp_path_factory.getbasetemp() / "corpus"), folder)
    if dialect == "sqlite":
        db = tmp_path / "app.db"
        url, target = f"sqlite:///{db}", str(db)
    else:
        url = target = request.getfixturevalue("pg_url")
    drizzle_migrate(modules, dialect, target, folder)
    assert agor_schema.status(url, folder).pending == []
    assert _import(root, f"--{dialect}", str(folder))["exit_code"] == 0
    schema = root / "schema" / "schema.yaml"
    doc = yaml.safe_load(schema.read_text(encoding="utf-8"))
    doc["tables"].update(PROBE)
    schema.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    from agor_schema.compiler import compile_project

    tag = compile_project(load_config(root), name="add_probe",
                          allow_destructive=True).outputs[dialect].migration.tag
    assert agor_schema.migrate(url, folder).applied_tags == [tag]
    assert agor_schema.status(url, folder).pending == []
