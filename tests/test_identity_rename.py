"""Renaming a table or column whose PostgreSQL identity sequence has the conventional name
(<table>_<column>_seq) renames the sequence too, so the state matches a fresh database and
the next compile sees no change; the ids keep counting from where they were."""

from __future__ import annotations

from pathlib import Path

import pytest
from catalog import Project

import agor_schema

V1 = {"items": {"columns": {
    "id": {"type": "integer", "primary_key": True, "autoincrement": True},
    "name": {"type": "text", "not_null": True}}}}


def _v2(rename_table: bool, rename_column: bool) -> dict:
    table = "products" if rename_table else "items"
    key = "product_id" if rename_column else "id"
    key_spec = {"type": "integer", "primary_key": True, "autoincrement": True}
    if rename_column:
        key_spec["renamed_from"] = "id"
    spec = {"columns": {key: key_spec, "name": {"type": "text", "not_null": True}}}
    if rename_table:
        spec["renamed_from"] = "items"
    return {table: spec}


@pytest.mark.parametrize(("rename_table", "rename_column"),
                         [(True, False), (False, True), (True, True)],
                         ids=["table", "column", "table-and-column"])
def test_identity_sequence_follows_renames(tmp_path: Path, pg_url: str, pg_conn,
                                           rename_table: bool, rename_column: bool) -> None:
    project = Project(tmp_path / "p", dialects=("postgres",))
    project.write(V1)
    project.compile()
    agor_schema.migrate(pg_url, project.folder("postgres"))
    pg_conn.execute("INSERT INTO items (name) VALUES ('a'), ('b')")

    project.write(_v2(rename_table, rename_column))
    result = project.compile()
    table = "products" if rename_table else "items"
    key = "product_id" if rename_column else "id"
    sql = (project.folder("postgres") / f"{result.outputs['postgres'].migration.tag}.sql"
           ).read_text(encoding="utf-8")
    assert f'ALTER SEQUENCE "items_id_seq" RENAME TO "{table}_{key}_seq";' in sql
    assert "IDENTITY" not in sql  # renamed, not dropped and re-created
    agor_schema.migrate(pg_url, project.folder("postgres"))

    sequence = pg_conn.execute("SELECT pg_get_serial_sequence(%s, %s)", (table, key)).fetchone()
    assert sequence == (f"public.{table}_{key}_seq",)
    pg_conn.execute(f'INSERT INTO "{table}" (name) VALUES (%s)', ("c",))
    ids = pg_conn.execute(f'SELECT "{key}", name FROM "{table}" ORDER BY 1').fetchall()
    assert ids == [(1, "a"), (2, "b"), (3, "c")]
    assert project.compile().outputs["postgres"].migration is None  # nothing left to change
