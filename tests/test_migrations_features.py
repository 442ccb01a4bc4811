"""Change kinds of generated columns, named keys and uniques, NULLS NOT DISTINCT, index
options, interleaved index parts and verbatim SQL, with rows in the tables.

Same driver as test_migrations_changes.py: the database is built at v1 by agorschema's own
migrations, rows are inserted, v2 is compiled and its migration applied; the catalog must equal
a fresh database built from v2's DDL and every kept row must be unchanged (generated columns:
recomputed from the row). PostgreSQL-only options (written in `postgres:` overrides) give
SQLite no migration at all, so those cases run on PostgreSQL only.
"""

from __future__ import annotations

import copy

import pytest
from migration_cases import Case, run_case

BOTH = ("sqlite", "postgres")
PG = ("postgres",)


def items(**columns) -> dict:
    table = {"columns": {
        "id": {"type": "integer", "primary_key": True},
        "price": {"type": "integer", "not_null": True},
        "qty": {"type": "integer", "not_null": True, "default": 1},
        "sku": "text",
        "owner": "text",
    }}
    for key, value in columns.items():
        if value is None:
            table["columns"].pop(key)
        else:
            table["columns"][key] = value
    return table


def extra(table: dict, **keys) -> dict:
    out = copy.deepcopy(table)
    out.update(keys)
    return out


ROWS = {"items": [
    {"id": 1, "price": 30, "qty": 2, "sku": "a-1", "owner": "ann"},
    {"id": 2, "price": 5, "qty": 1, "sku": "b-2", "owner": None},
    {"id": 3, "price": 0, "qty": 7, "sku": None, "owner": "bob"},
]}
TOTAL = {("items", "total"): lambda row: row["price"] * row["qty"]}


def _totals(offset: int = 0):
    def check(conn, dialect: str) -> None:
        got = conn.execute("SELECT id, total FROM items ORDER BY id").fetchall()
        want = [(r["id"], r["price"] * r["qty"] + offset) for r in ROWS["items"]]
        assert [tuple(r) for r in got] == want
        conn.execute("UPDATE items SET qty = qty + 1 WHERE id = 1")
        (total,) = conn.execute("SELECT total FROM items WHERE id = 1").fetchone()
        assert total == 30 * 3 + offset  # still computed after the migration
    return check


def _rejects_repeated_null(conn, dialect: str) -> None:
    import psycopg

    # row 3 already holds a NULL sku
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO items(id, price, sku) VALUES (11, 1, NULL)")


CASES = [
    # ------------------------------------------------------------ generated columns
    (Case("add_generated_column", {"items": items()}, ROWS,
          {"items": items(total={"type": "integer", "generated": "price * qty"})},
          after=_totals()), BOTH),
    (Case("add_virtual_generated_column", {"items": items()}, ROWS,
          {"items": items(total={"type": "integer", "only": "sqlite",
                                 "generated": {"as": "price * qty", "type": "virtual"}})},
          after=_totals()), ("sqlite",)),
    (Case("drop_generated_column",
          {"items": items(total={"type": "integer", "generated": "price * qty"})}, ROWS,
          {"items": items()}), BOTH),
    (Case("change_generation_expression",
          {"items": items(total={"type": "integer", "generated": "price * qty"})}, ROWS,
          {"items": extra(items(total={"type": "integer", "generated": "price * qty + 1"}),
                          indexes={"items_total_idx": ["total"]})},
          computed={("items", "total"): lambda row: row["price"] * row["qty"] + 1},
          after=_totals(1)), BOTH),
    (Case("change_generation_expression_keeps_index",
          {"items": extra(items(total={"type": "integer", "generated": "price * qty"}),
                          indexes={"items_total_idx": ["total"]})}, ROWS,
          {"items": extra(items(total={"type": "integer", "generated": "price * qty + 1"}),
                          indexes={"items_total_idx": ["total"]})},
          computed={("items", "total"): lambda row: row["price"] * row["qty"] + 1},
          after=_totals(1)), BOTH),
    (Case("generated_to_plain_keeps_values",
          {"items": items(total={"type": "integer", "generated": "price * qty"})}, ROWS,
          {"items": items(total="integer")}, computed=TOTAL), BOTH),
    (Case("plain_to_generated_is_destructive", {"items": items(total="integer")},
          {"items": [dict(r, total=99) for r in ROWS["items"]]},
          {"items": items(total={"type": "integer", "generated": "price * qty"})},
          destructive=True, computed=TOTAL, after=_totals()), BOTH),
    # ------------------------------------------------------------ named keys and uniques
    (Case("name_a_table_unique", {"items": extra(items(), unique=[["sku", "owner"]])}, ROWS,
          {"items": extra(items(), unique=[{"columns": ["sku", "owner"],
                                            "name": "items_sku_owner_key"}])}), BOTH),
    (Case("name_a_column_unique", {"items": items(sku={"type": "text", "unique": True})}, ROWS,
          {"items": items(sku={"type": "text", "unique": True, "unique_name": "items_sku_key"})}),
     BOTH),
    (Case("name_the_composite_primary_key",
          {"items": extra(items(id={"type": "integer", "not_null": True},
                                sku={"type": "text", "not_null": True}),
                          primary_key=["id", "sku"])},
          {"items": [dict(r, sku=r["sku"] or "none") for r in ROWS["items"]]},
          {"items": extra(items(id={"type": "integer", "not_null": True},
                                sku={"type": "text", "not_null": True}),
                          primary_key={"columns": ["id", "sku"], "name": "items_key"})}), BOTH),
    (Case("nulls_not_distinct_on",
          {"items": items(sku={"type": "text", "unique": True})}, ROWS,
          {"items": items(sku={"type": "text", "unique": True,
                               "postgres": {"nulls_not_distinct": True}})},
          after=_rejects_repeated_null), PG),
    (Case("unique_index_becomes_nulls_not_distinct",
          {"items": extra(items(), indexes={"items_sku_uq": {"columns": ["sku"],
                                                             "unique": True}})}, ROWS,
          {"items": extra(items(), indexes={"items_sku_uq": {
              "columns": ["sku"], "unique": True, "postgres": {"nulls_not_distinct": True}}})},
          after=_rejects_repeated_null), PG),
    # ------------------------------------------------------------ index options
    (Case("index_method_btree_to_hash",
          {"items": extra(items(), indexes={"items_sku_idx": ["sku"]})}, ROWS,
          {"items": extra(items(), indexes={"items_sku_idx": {
              "columns": ["sku"], "postgres": {"method": "hash"}}})}), PG),
    (Case("index_opclass_desc_nulls_with",
          {"items": extra(items(), indexes={"items_sku_idx": ["sku", "price"]})}, ROWS,
          {"items": extra(items(), indexes={"items_sku_idx": {
              "columns": ["sku", "price"],
              "postgres": {"parts": [{"column": "sku", "opclass": "text_pattern_ops"},
                                     {"column": "price", "desc": True, "nulls": "last"}],
                           "with": {"fillfactor": 60}}}})}), PG),
    (Case("index_parts_interleaved",
          {"items": extra(items(), indexes={"items_owner_uq": {
              "columns": ["sku", "price"], "unique": True}})}, ROWS,
          {"items": extra(items(), indexes={"items_owner_uq": {
              "unique": True,
              "parts": ["sku", {"expression": "coalesce(owner, '')"}, "price"]}})}), BOTH),
    (Case("where_becomes_verbatim",
          {"items": extra(items(), indexes={"items_paid_idx": {
              "columns": ["sku"], "where": "price > 0"}})}, ROWS,
          {"items": extra(items(), indexes={"items_paid_idx": {
              "columns": ["sku"], "where": {"sqlite": {"verbatim": "price >= 1"},
                                           "postgres": {"verbatim": "price >= 1"}}}})}), BOTH),
]


RUNS = [(case, dialect) for case, dialects in CASES for dialect in dialects]


@pytest.mark.parametrize(("case", "dialect"), RUNS, ids=[f"{c.id}-{d}" for c, d in RUNS])
def test_feature_change_preserves_rows(case: Case, dialect: str, tmp_path, request) -> None:
    pg_url = request.getfixturevalue("pg_url") if dialect == "postgres" else None
    run_case(case, dialect, tmp_path, pg_url)
