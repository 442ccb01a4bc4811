"""Every change kind, on real SQLite and real PostgreSQL, with rows in the tables.

Each case builds the database at v1 through agorschema's own migrations, inserts rows, compiles
v2 and applies the generated migration with `agor_schema.migrate`. The catalog must then equal
a fresh database built from v2's generated DDL, and every kept row and value must be unchanged.
"""

from __future__ import annotations

import copy

import pytest
from migration_cases import Case, run_case

DIALECTS = ["sqlite", "postgres"]


def users(**extra_columns) -> dict:
    columns = {
        "id": {"type": "integer", "primary_key": True},
        "name": {"type": "varchar(20)", "not_null": True},
        "email": "text",
        "score": {"type": "integer", "not_null": True, "default": 0},
    }
    for key, value in extra_columns.items():
        if value is None:
            columns.pop(key, None)
        else:
            columns[key] = value
    return {"columns": columns}


def posts(target: str = "users", on_delete: str = "cascade", **extra) -> dict:
    table = {
        "columns": {
            "id": {"type": "integer", "primary_key": True},
            "user_id": {"type": "integer", "not_null": True, "references": f"{target}.id",
                        "on_delete": on_delete},
            "title": {"type": "text", "not_null": True},
        },
        "indexes": {"posts_user_idx": ["user_id"]},
    }
    table.update(extra)
    return table


USER_ROWS = [
    {"id": 1, "name": "ann", "email": "ann@example.com", "score": 5},
    {"id": 2, "name": "bob", "email": None, "score": 0},
    {"id": 3, "name": "o'neil", "email": "o@example.com", "score": 12},
]
POST_ROWS = [
    {"id": 10, "user_id": 1, "title": "hello"},
    {"id": 11, "user_id": 1, "title": "again"},
    {"id": 12, "user_id": 3, "title": "world"},
]
BOTH = {"users": USER_ROWS, "posts": POST_ROWS}


def with_(table: dict, **changes) -> dict:
    """A deep copy of a table spec with column specs replaced/added (None removes)."""
    out = copy.deepcopy(table)
    for key, value in changes.items():
        if value is None:
            out["columns"].pop(key, None)
        else:
            out["columns"][key] = value
    return out


def table_with(table: dict, **keys) -> dict:
    out = copy.deepcopy(table)
    for key, value in keys.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _next_id_is_fresh(conn, dialect: str) -> None:
    """After adding autoincrement, an insert without id gets an id above every existing one."""
    if dialect == "sqlite":
        conn.execute("INSERT INTO \"users\" (\"name\") VALUES ('new')")
    else:
        conn.execute("INSERT INTO \"users\" (\"name\") VALUES ('new')")
    new_id = conn.execute("SELECT \"id\" FROM \"users\" WHERE \"name\" = 'new'").fetchone()[0]
    assert new_id > 3
    conn.execute("DELETE FROM \"users\" WHERE \"name\" = 'new'")


def _backfilled(value):
    return "none@example.com" if value is None else value


CASES = [
    # ---------------------------------------------------------------- tables
    Case("create_table", {"users": users()}, {"users": USER_ROWS},
         {"users": users(), "posts": posts()}),
    Case("drop_table", {"users": users(), "posts": posts()}, BOTH,
         {"users": users()}, destructive=True),
    Case("rename_table", {"users": users(), "posts": posts()}, BOTH,
         {"people": {**users(), "renamed_from": "users"}, "posts": posts("people")}),
    Case("rename_child_table", {"users": users(), "posts": posts()}, BOTH,
         {"users": users(), "articles": {**posts(), "renamed_from": "posts",
                                         "indexes": {"articles_user_idx": ["user_id"]}}}),
    # ---------------------------------------------------------------- columns
    Case("add_column_nullable", {"users": users()}, {"users": USER_ROWS},
         {"users": users(bio="text")}),
    Case("add_column_not_null_default", {"users": users()}, {"users": USER_ROWS},
         {"users": users(active={"type": "boolean", "not_null": True, "default": True},
                         role={"type": "text", "not_null": True, "default": "member"})}),
    Case("add_column_with_fk", {"users": users(), "posts": posts()}, BOTH,
         {"users": users(), "posts": with_(posts(), editor_id={
             "type": "integer", "references": "users.id", "on_delete": "set null"})}),
    Case("add_column_expression_default", {"users": users()}, {"users": USER_ROWS},
         {"users": users(created_at={"type": "timestamp", "not_null": True, "default": "now"})}),
    Case("drop_column", {"users": users()}, {"users": USER_ROWS},
         {"users": users(email=None)}, destructive=True),
    Case("drop_fk_column", {"users": users(), "posts": with_(posts(), editor_id={
             "type": "integer", "references": "users.id"})},
         {"users": USER_ROWS, "posts": [{**r, "editor_id": 2} for r in POST_ROWS]},
         {"users": users(), "posts": posts()}, destructive=True),
    Case("rename_column", {"users": table_with(users(), indexes={"users_email_idx": ["email"]})},
         {"users": USER_ROWS},
         {"users": table_with(users(email=None, mail={"type": "text", "renamed_from": "email"}),
                              indexes={"users_email_idx": ["mail"]})}),
    Case("rename_referenced_column", {"users": users(), "posts": posts()}, BOTH,
         {"users": {"columns": {"user_id": {"type": "integer", "primary_key": True,
                                            "renamed_from": "id"},
                                **{k: v for k, v in users()["columns"].items() if k != "id"}}},
          "posts": with_(posts(), user_id={"type": "integer", "not_null": True,
                                           "references": "users.user_id",
                                           "on_delete": "cascade"})}),
    # ---------------------------------------------------------------- types
    Case("type_widen", {"users": users(ratio={"type": "real"}, big="integer")},
         {"users": [{**r, "ratio": 1.5, "big": r["id"] * 1000} for r in USER_ROWS]},
         {"users": users(name={"type": "text", "not_null": True}, ratio={"type": "double"},
                         big="bigint")}),
    Case("type_varchar_longer", {"users": users()}, {"users": USER_ROWS},
         {"users": users(name={"type": "varchar(200)", "not_null": True})}),
    Case("type_text_to_integer", {"users": users(code="text")},
         {"users": [{**r, "code": str(r["id"] * 7)} for r in USER_ROWS]},
         {"users": users(code="integer")}, transform={("users", "code"): int}),
    Case("type_varchar_narrow", {"users": users()}, {"users": USER_ROWS},
         {"users": users(name={"type": "varchar(10)", "not_null": True})}, destructive=True),
    # ---------------------------------------------------------------- nullability
    Case("not_null_to_nullable", {"users": users()}, {"users": USER_ROWS},
         {"users": users(name={"type": "varchar(20)"})}),
    Case("nullable_to_not_null_default", {"users": users()}, {"users": USER_ROWS},
         {"users": users(email={"type": "text", "not_null": True,
                                "default": "none@example.com"})},
         transform={("users", "email"): _backfilled}),
    Case("nullable_to_not_null_no_nulls", {"users": users()},
         {"users": [{**r, "email": r["email"] or "x"} for r in USER_ROWS]},
         {"users": users(email={"type": "text", "not_null": True})}),
    # ---------------------------------------------------------------- defaults
    Case("default_set", {"users": users()}, {"users": USER_ROWS},
         {"users": users(email={"type": "text", "default": "it's@example.com"})}),
    Case("default_change", {"users": users()}, {"users": USER_ROWS},
         {"users": users(score={"type": "integer", "not_null": True, "default": 42})}),
    Case("default_drop", {"users": users()}, {"users": USER_ROWS},
         {"users": users(score={"type": "integer", "not_null": True})}),
    # ---------------------------------------------------------------- indexes
    Case("create_index", {"users": users()}, {"users": USER_ROWS},
         {"users": table_with(users(), indexes={
             "users_name_idx": ["name"],
             "users_email_lower_uq": {"expressions": ["lower(email)"], "unique": True},
             "users_scored_idx": {"columns": ["score"], "where": "score > 0"}})}),
    Case("drop_index", {"users": table_with(users(), indexes={"users_name_idx": ["name"]})},
         {"users": USER_ROWS}, {"users": users()}),
    Case("rename_index", {"users": table_with(users(), indexes={"users_name_idx": ["name"]})},
         {"users": USER_ROWS},
         {"users": table_with(users(), indexes={
             "users_by_name": {"columns": ["name"], "renamed_from": "users_name_idx"}})}),
    # ---------------------------------------------------------------- foreign keys
    Case("add_fk", {"users": users(), "posts": with_(posts(), user_id={
             "type": "integer", "not_null": True})}, BOTH,
         {"users": users(), "posts": posts()}),
    Case("drop_fk", {"users": users(), "posts": posts()}, BOTH,
         {"users": users(), "posts": with_(posts(), user_id={"type": "integer", "not_null": True})}),
    Case("change_fk_action", {"users": users(), "posts": posts()}, BOTH,
         {"users": users(), "posts": posts(on_delete="restrict")}),
    Case("add_composite_fk",
         {"pairs": {"columns": {"a": {"type": "integer", "not_null": True},
                                "b": {"type": "integer", "not_null": True}},
                    "primary_key": ["a", "b"]},
          "links": {"columns": {"id": {"type": "integer", "primary_key": True},
                                "a": "integer", "b": "integer"}}},
         {"pairs": [{"a": 1, "b": 2}, {"a": 3, "b": 4}],
          "links": [{"id": 1, "a": 1, "b": 2}, {"id": 2, "a": None, "b": None}]},
         {"pairs": {"columns": {"a": {"type": "integer", "not_null": True},
                                "b": {"type": "integer", "not_null": True}},
                    "primary_key": ["a", "b"]},
          "links": {"columns": {"id": {"type": "integer", "primary_key": True},
                                "a": "integer", "b": "integer"},
                    "foreign_keys": [{"columns": ["a", "b"],
                                      "references": {"table": "pairs", "columns": ["a", "b"]},
                                      "on_delete": "cascade"}]}}),
    # ---------------------------------------------------------------- uniques
    Case("add_unique", {"users": users()}, {"users": USER_ROWS},
         {"users": users(email={"type": "text", "unique": True})}),
    Case("drop_unique", {"users": users(email={"type": "text", "unique": True})},
         {"users": USER_ROWS}, {"users": users()}),
    Case("add_composite_unique", {"users": users()}, {"users": USER_ROWS},
         {"users": table_with(users(), unique=[["name", "email"]])}),
    # ---------------------------------------------------------------- checks
    Case("add_check", {"users": users()}, {"users": USER_ROWS},
         {"users": table_with(users(), checks={"users_score_positive": "score >= 0"})}),
    Case("drop_check", {"users": table_with(users(), checks={"users_score_positive": "score >= 0"})},
         {"users": USER_ROWS}, {"users": users()}),
    Case("change_check", {"users": table_with(users(), checks={"users_score_positive": "score >= 0"})},
         {"users": USER_ROWS},
         {"users": table_with(users(), checks={"users_score_positive": "score >= 0 AND score < 100"})}),
    Case("enum_add_value", {"users": users(role={"type": "text", "enum": ["a", "b"]})},
         {"users": [{**r, "role": "a"} for r in USER_ROWS]},
         {"users": users(role={"type": "text", "enum": ["a", "b", "c"]})},
         top={"enum_check": True}),
    Case("enum_remove_value", {"users": users(role={"type": "text", "enum": ["a", "b", "c"]})},
         {"users": [{**r, "role": "a"} for r in USER_ROWS]},
         {"users": users(role={"type": "text", "enum": ["a", "b"]})},
         top={"enum_check": True}, destructive=True),
    # ---------------------------------------------------------------- primary keys
    Case("add_composite_pk",
         {"memberships": {"columns": {"user_id": {"type": "integer", "not_null": True},
                                      "team_id": {"type": "integer", "not_null": True},
                                      "role": "text"}}},
         {"memberships": [{"user_id": 1, "team_id": 1, "role": "x"},
                          {"user_id": 1, "team_id": 2, "role": None}]},
         {"memberships": {"columns": {"user_id": {"type": "integer", "not_null": True},
                                      "team_id": {"type": "integer", "not_null": True},
                                      "role": "text"},
                          "primary_key": ["user_id", "team_id"]}}),
    Case("drop_composite_pk",
         {"memberships": {"columns": {"user_id": {"type": "integer", "not_null": True},
                                      "team_id": {"type": "integer", "not_null": True},
                                      "role": "text"},
                          "primary_key": ["user_id", "team_id"]}},
         {"memberships": [{"user_id": 1, "team_id": 1, "role": "x"},
                          {"user_id": 1, "team_id": 2, "role": None}]},
         {"memberships": {"columns": {"user_id": {"type": "integer", "not_null": True},
                                      "team_id": {"type": "integer", "not_null": True},
                                      "role": "text"}}}),
    Case("change_composite_pk",
         {"memberships": {"columns": {"user_id": {"type": "integer", "not_null": True},
                                      "team_id": {"type": "integer", "not_null": True},
                                      "role": {"type": "text", "not_null": True}},
                          "primary_key": ["user_id", "team_id"]}},
         {"memberships": [{"user_id": 1, "team_id": 1, "role": "x"},
                          {"user_id": 1, "team_id": 2, "role": "y"}]},
         {"memberships": {"columns": {"user_id": {"type": "integer", "not_null": True},
                                      "team_id": {"type": "integer", "not_null": True},
                                      "role": {"type": "text", "not_null": True}},
                          "primary_key": ["user_id", "role"]}}),
    Case("add_single_pk", {"tags": {"columns": {"tag": {"type": "text", "not_null": True},
                                                "n": "integer"}}},
         {"tags": [{"tag": "a", "n": 1}, {"tag": "b", "n": None}]},
         {"tags": {"columns": {"tag": {"type": "text", "primary_key": True}, "n": "integer"}}}),
    Case("add_autoincrement", {"users": users()}, {"users": USER_ROWS},
         {"users": users(id={"type": "integer", "primary_key": True, "autoincrement": True})},
         after=_next_id_is_fresh),
    # ---------------------------------------------------------------- several at once
    Case("combined", {"users": table_with(users(), indexes={"users_name_idx": ["name"]}),
                      "posts": posts()}, BOTH,
         {"people": table_with(
             users(email=None, mail={"type": "text", "renamed_from": "email"},
                   bio={"type": "text", "not_null": True, "default": ""},
                   score={"type": "bigint", "not_null": True, "default": 1}),
             renamed_from="users",
             indexes={"people_mail_idx": ["mail"]},
             checks={"people_score_positive": "score >= 0"}),
          "posts": posts("people", on_delete="set null",
                         columns={"id": {"type": "integer", "primary_key": True},
                                  "user_id": {"type": "integer", "references": "people.id",
                                              "on_delete": "set null"},
                                  "title": {"type": "text", "not_null": True}})}),
]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_change_kind_preserves_rows(case: Case, dialect: str, tmp_path, request) -> None:
    pg_url = request.getfixturevalue("pg_url") if dialect == "postgres" else None
    run_case(case, dialect, tmp_path, pg_url)
