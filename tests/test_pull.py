"""`agorschema pull`: a live database's tables become schema YAML that compiles to an equal
catalog. Each corpus's whole history is applied to an empty real database by agorschema's
runner; `pull` reads it; the pulled schema, compiled into a fresh project, is applied to another
empty database; the two catalogs, read back, hold the same schema (expressions compared by
meaning) except what pull reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from catalog import Project, read_schema
from click.testing import CliRunner
from corpus import AGOR, NAMES, corpus_folder, dialect_of
from pg_cluster import connect, create_database, drop_database

import agor_schema
from agor_schema.cli import main
from agor_schema.dialects import get_dialect
from agor_schema.drift import drift


def _pull(root: Path, url: str, *extra: str) -> dict:
    done = CliRunner().invoke(main, ["pull", "--database", url, "--project", str(root),
                                     "--format", "json", *extra], catch_exceptions=False)
    envelope = json.loads(done.output)
    assert done.exit_code == envelope["exit_code"]
    return envelope


def _round_trip(tmp_path: Path, original: str, rebuilt: str, dialect: str) -> None:
    project = Project(tmp_path / "pulled", dialects=[dialect])
    envelope = _pull(project.root, original)
    assert envelope["exit_code"] == 0, envelope
    assert envelope["result"]["sources"][dialect]["tables"] > 0
    assert all(w.get("dialect") == dialect for w in envelope["warnings"])
    result = project.compile(allow_destructive=True)
    assert result.outputs[dialect].migration is not None
    tags = agor_schema.migrate(rebuilt, project.folder(dialect)).applied_tags
    assert tags == [result.outputs[dialect].migration.tag]
    reported = {(w.get("table"), w.get("name")) for w in envelope["warnings"]}
    reported |= {(w.get("table"), None) for w in envelope["warnings"]}
    found = drift(read_schema(original), read_schema(rebuilt), actual="database", wanted="pulled schema")
    unexplained = [c.message for c in found.changes
                   if (c.table, c.name) not in reported and (c.table, None) not in reported]
    assert not unexplained
    if envelope["result"]["exact"]:
        assert found.empty
    if _dsl_complete():  # with every feature in the DSL each corpus pulls exactly
        assert envelope["warnings"] == [] and found.empty


def _dsl_complete() -> bool:
    from agor_schema.spelling import Prover

    prover = Prover({d: get_dialect(d) for d in ("sqlite", "postgres")})
    return prover.verbatim and all(prover.supports(f) for f in ("parts", "opclass",
                                                                 "named_unique", "named_pk"))


@pytest.mark.parametrize("name", NAMES)
def test_pull_from_a_database_the_corpus_history_built(shared_dir: Path, tmp_path: Path,
                                                        tmp_path_factory, name: str,
                                                        request: pytest.FixtureRequest) -> None:
    dialect = dialect_of(name)
    folder = corpus_folder(name, tmp_path_factory.getbasetemp() / "corpus")
    if dialect == "sqlite":
        original, rebuilt = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
        agor_schema.migrate(original, folder, allow_out_of_order=True)
        _round_trip(tmp_path, original, rebuilt, dialect)
        return
    admin = request.getfixturevalue("pg_admin_url")
    if admin is None:
        pytest.skip("no PostgreSQL")
    original, rebuilt = create_database(admin), create_database(admin)
    try:
        agor_schema.migrate(original, folder, allow_out_of_order=True)
        _round_trip(tmp_path, original, rebuilt, dialect)
    finally:
        drop_database(admin, original)
        drop_database(admin, rebuilt)


def test_pull_agor_history_and_input_errors(shared_dir: Path, tmp_path: Path) -> None:
    original = f"sqlite:///{tmp_path / 'agor.db'}"
    agor_schema.migrate(original, AGOR / "sqlite-2025-11")
    _round_trip(tmp_path, original, f"sqlite:///{tmp_path / 'again.db'}", "sqlite")
    root = tmp_path / "pulled"
    again = _pull(root, original)
    assert again["exit_code"] == 1 and "--force" in again["errors"][0]["message"]
    missing = _pull(root, f"sqlite:///{tmp_path / 'nope.db'}", "--force")
    assert missing["exit_code"] == 2 and "does not exist" in missing["errors"][0]["message"]
    bad = _pull(root, "mysql://x/y", "--force")
    assert bad["exit_code"] == 2


def test_pull_writes_serial_for_a_nextval_default_named_like_drizzles(pg_url: str,
                                                                    tmp_path: Path) -> None:
    """A sequence the catalog does not tie to its column (created on its own) still reads as
    drizzle's serial when the default is nextval('<table>_<column>_seq'); another name stays
    an integer with its default."""
    import yaml

    with connect(pg_url) as conn:
        conn.execute("CREATE SEQUENCE t_n_seq; CREATE SEQUENCE elsewhere; "
                     "CREATE TABLE t (id integer PRIMARY KEY, "
                     "n integer NOT NULL DEFAULT nextval('t_n_seq'), "
                     "m bigint DEFAULT nextval('elsewhere'))")
    envelope = _pull(tmp_path, pg_url)
    assert envelope["exit_code"] == 0, envelope
    [written] = [p for p in envelope["result"]["written"] if p.endswith((".yaml", ".yml"))]
    columns = yaml.safe_load(Path(written).read_text())["tables"]["t"]["columns"]
    # the default project also compiles for SQLite, which has no sequences: the serial type
    # and the nextval default are PostgreSQL's overrides (tests/test_pull_fit.py)
    n, m = ({**columns[c], **columns[c].get("postgres", {})} for c in ("n", "m"))
    assert n["type"] == "serial" and "default" not in n
    assert m["type"] == "bigint" and "elsewhere" in str(m["default"])
    assert columns["n"]["type"] == "integer" and "default" not in columns["m"]
