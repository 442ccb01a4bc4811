"""Every column type of the real PostgreSQL projects in ../shared/data/corpus, in the DSL.

For the latest snapshot of each project: each column's drizzle type is written in the DSL
spelling (built-in types, `enum(name)` for pgEnum columns, `[]` arrays; anything else a
declared type), the project is compiled, and our snapshot must hold exactly drizzle-kit's
`type` and `typeSchema` for every column, and the same `enums`. The corpus is read in place
(Dokploy's tarball is unpacked into tmp) and never copied into the repository.
"""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path

from catalog import Project

BUILTIN = {"text": "text", "integer": "integer", "bigint": "bigint", "smallint": "smallint",
           "serial": "serial", "bigserial": "bigserial", "smallserial": "smallserial",
           "real": "real", "double precision": "double", "boolean": "boolean", "date": "date",
           "jsonb": "json", "json": "json_text", "uuid": "uuid", "bytea": "bytes",
           "numeric": "numeric"}


def dsl_type(column: dict) -> tuple[str, bool]:
    """(DSL spelling, whether it is a built-in or enum type) of a snapshot column."""
    base, dims = column["type"], 0
    while base.endswith("[]"):
        base, dims = base[:-2], dims + 1
    arrays = "[]" * dims
    if column.get("typeSchema"):
        return f"enum({base}){arrays}", True
    if base in BUILTIN:
        return BUILTIN[base] + arrays, True
    if match := re.fullmatch(r"varchar\((\d+)\)", base):
        return f"varchar({match.group(1)}){arrays}", True
    if match := re.fullmatch(r"numeric\((\d+), ?(\d+)\)", base):
        return f"numeric({match.group(1)},{match.group(2)}){arrays}", True
    if match := re.fullmatch(r"timestamp(?: \((\d)\))?( with time zone)?", base):
        precision = f"({match.group(1)})" if match.group(1) else ""
        zone = "" if match.group(2) else " without time zone"
        return f"timestamp{precision}{zone}{arrays}", True
    return column["type"], False


def _latest(project: Path, tmp_path: Path) -> dict:
    folder = project / "migrations"
    if not folder.is_dir():
        with tarfile.open(project / "migrations.tar.xz") as archive:
            archive.extractall(tmp_path / project.name, filter="data")
        folder = tmp_path / project.name / "migrations"
    latest = sorted((folder / "meta").glob("*_snapshot.json"))[-1]
    return json.loads(latest.read_text(encoding="utf-8"))


def _projects(shared: Path) -> list[Path]:
    return sorted((shared / "data" / "corpus").glob("*__postgresql"))


def test_every_corpus_column_type_is_expressible(shared_dir: Path, tmp_path: Path) -> None:
    projects = _projects(shared_dir)
    assert len(projects) >= 4
    counted = {"built-in or enum": 0, "declared": 0}
    for project in projects:
        snapshot = _latest(project, tmp_path)
        enums = {e["name"]: {"values": e["values"],
                             **({"schema": e["schema"]} if e["schema"] != "public" else {})}
                 for e in (snapshot.get("enums") or {}).values()}
        types, tables = {}, {}
        for table in snapshot["tables"].values():
            columns = {}
            for column in table["columns"].values():
                spelled, known = dsl_type(column)
                counted["built-in or enum" if known else "declared"] += 1
                if not known:  # passed through verbatim as a declared type
                    name = "t_" + re.sub(r"\W", "_", spelled)
                    types[name] = {"postgres": spelled}
                    spelled = name
                spec = {"type": spelled}
                if column.get("notNull") and "serial" not in spelled:
                    spec["not_null"] = True
                columns[column["name"]] = spec
            tables[table["name"]] = {"columns": columns}
        out = Project(tmp_path / f"p-{project.name}", dialects=["postgres"])
        out.write(tables, enums=enums, types=types)
        out.compile()
        ours = json.loads(sorted((out.folder("postgres") / "meta").glob("*_snapshot.json"))[-1]
                          .read_text(encoding="utf-8"))
        for table in snapshot["tables"].values():
            mine = ours["tables"][f"public.{table['name']}"]["columns"]
            for column in table["columns"].values():
                got = mine[column["name"]]
                assert (got["type"], got.get("typeSchema")) == \
                    (column["type"], column.get("typeSchema")), (project.name, table["name"])
        assert ours["enums"] == {k: dict(v) for k, v in (snapshot.get("enums") or {}).items()}
    # the DSL's own types cover all but a handful of real columns
    assert counted["built-in or enum"] >= 1600 and counted["declared"] <= 2, counted
