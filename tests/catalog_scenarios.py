"""The engine-neutral catalog scenarios: one small schema per feature, checked on both engines.

A scenario is a YAML schema plus a `check(engine, expect)` written once against the neutral
view of `tests/engines.py`; `test_catalog.py::test_scenario` compiles it for both dialects,
applies the engine's `generated/<dialect>.sql` to an empty database and runs the check there.
`expect` is the scenario's per-engine data (how a predicate is spelled back, ...) plus the
applied DDL under "ddl", so what
differs between the engines is data, never a second copy of the check. To add a feature's
catalog test: write a Scenario and append it to SCENARIOS.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines import Engine, compact

from agor_schema.compiler import compile_project
from agor_schema.config import load_config


def ms(iso: str) -> int:
    """Epoch milliseconds of an ISO timestamp without offset, read as UTC."""
    return int(dt.datetime.fromisoformat(iso).replace(tzinfo=dt.timezone.utc).timestamp() * 1000)


@dataclass(frozen=True)
class Scenario:
    name: str
    yaml: str
    check: Callable[[Engine, dict[str, Any]], None]
    expect: dict[str, dict[str, Any]] = field(default_factory=dict)  # engine -> data
    timezone: str | None = None  # PostgreSQL session TimeZone while the DDL is applied
    dialects: tuple[str, ...] = ("sqlite", "postgres")

    def compile(self, root: Path) -> Path:
        """Compile the scenario into a throwaway project; returns its generated/ folder."""
        (root / "schema").mkdir(parents=True, exist_ok=True)
        (root / "schema" / "schema.yaml").write_text(self.yaml, encoding="utf-8")
        dialects = ", ".join(f'"{d}"' for d in self.dialects)
        (root / "pyproject.toml").write_text(f"[tool.agorschema]\ndialects = [{dialects}]\n",
                                             encoding="utf-8")
        cfg = load_config(root)
        compile_project(cfg)
        return cfg.generated

    def run(self, engine: Engine, tmp_path: Path) -> None:
        generated = self.compile(tmp_path / "project")
        if self.timezone:
            engine.set_timezone(self.timezone)
        ddl = (generated / f"{engine.name}.sql").read_text(encoding="utf-8")
        engine.apply(ddl)
        engine.set_foreign_keys(True)
        self.check(engine, {**self.expect.get(engine.name, {}), "ddl": ddl})


SCENARIOS: list[Scenario] = []


# ----------------------------------------------------------------- timestamps in expressions

EVENTS_YAML = """\
tables:
  events:
    columns:
      id:          {type: integer, primary_key: true}
      happened_at: {type: timestamp, not_null: true}
      label:       {type: text, not_null: true, default: {sql: "'ev' || '-' || 'x'"}}
      flag:        {type: boolean, not_null: true, default: false}
    indexes:
      events_2024_idx:
        columns: [happened_at]
        where: "happened_at BETWEEN '2024-01-01' AND '2024-12-31T23:59:59.999Z'"
      events_flag_idx: {columns: [id], where: "flag = true"}
    checks:
      events_range: "happened_at BETWEEN '2000-01-01' AND '2100-01-01'"
      events_not_epoch: "happened_at NOT IN ('1970-01-01T00:00:00Z', '1999-12-31')"
      events_after_2020: "'2020-01-01' <= happened_at"
"""


def _events(db: Engine, expect: dict[str, Any]) -> None:
    """`=`/`<`/BETWEEN/IN against a timestamp column: a literal without offset means UTC
    (SQLite: epoch ms; PostgreSQL: whatever the session's TimeZone, here UTC+13)."""
    indexes = db.indexes("events")
    for index, predicate in expect["predicates"].items():
        assert indexes[index].predicate == predicate, indexes[index].predicate
    assert expect["not_epoch"] in db.checks("events")["events_not_epoch"]
    insert = "INSERT INTO events(id, happened_at) VALUES (?, ?)"
    db.execute(insert, 1, db.write("timestamp", ms("2024-06-01")))
    db.execute(insert, 2, db.write("timestamp", ms("2020-01-01")))
    # each value violates exactly one check (1990 would violate two: which one an engine
    # names first is its business)
    for i, (when, check) in enumerate([("2100-01-02", "events_range"),
                                       ("2019-12-31T23:59:59", "events_after_2020")]):
        with db.violation("check", check):
            db.execute(insert, 10 + i, db.write("timestamp", ms(when)))
    # An expression default that starts and ends with a quote is still parenthesized.
    assert db.one("SELECT label FROM events WHERE id = 1") == ("ev-x",)
    flag, label = db.one("SELECT flag, label FROM events WHERE id = 2")
    assert (db.read("boolean", flag), label) == (False, "ev-x")


SCENARIOS.append(Scenario(
    "timestamp_literals_are_utc", EVENTS_YAML, _events, timezone="Pacific/Auckland",
    expect={
        "sqlite": {
            "predicates": {
                "events_2024_idx": f'"happened_at" BETWEEN {ms("2024-01-01")} AND '
                                   f'{ms("2024-12-31T23:59:59.999")}',
                "events_flag_idx": '"flag" = 1',
            },
            "not_epoch": f"not happened_at in(0,{ms('1999-12-31')})",
        },
        "postgres": {
            "predicates": {
                "events_2024_idx": "((happened_at >= '2024-01-01 13:00:00+13'::timestamp with "
                                   "time zone) AND (happened_at <= '2025-01-01 12:59:59.999+13'"
                                   "::timestamp with time zone))",
                "events_flag_idx": "(flag = true)",
            },
            "not_epoch": "1970-01-01 12:00:00+12",
        },
    }))


# ----------------------------------------------------------------- the newer column types

TYPES_YAML = """\
enum_check: true
enums:
  mood: [sad, ok, "it's"]
  color: {values: [red, green], schema: paint}
types:
  ci: {postgres: citext, sqlite: text, extension: citext}
  tsv: {postgres: tsvector}
tables:
  t:
    columns:
      id:     {type: serial, primary_key: true}
      at3:    timestamp(3)
      naive:  timestamp without time zone
      naive6: {type: timestamp(6) without time zone, default: "2024-01-02T03:04:05Z"}
      doc:    {type: json_text, default: {a: 1}}
      small:  {type: smallint, default: 3}
      tags:   {type: "text[]", not_null: true, default: [a, 'b"c', "it's"]}
      grid:   "integer[][]"
      ids:    {type: "varchar(36)[]", default: []}
      mood:   {type: enum(mood), not_null: true, default: ok}
      colors: "enum(color)[]"
      name:   ci
      search: {type: tsv, only: postgres}
"""


def _types(db: Engine, expect: dict[str, Any]) -> None:
    """Each type as the engine's catalog spells it; arrays hold lists (JSON text in SQLite);
    an enum column refuses other values (SQLite: the CHECK; PostgreSQL: the enum type)."""
    got = {c.name: (c.type, c.not_null, c.default) for c in db.columns("t")}
    assert got == expect["columns"]
    db.execute("INSERT INTO t (mood, name) VALUES (?, ?)", "sad", "Ann")
    tags, mood, doc = db.one("SELECT tags, mood, doc FROM t")
    decode = lambda v: json.loads(v) if isinstance(v, str) else v  # noqa: E731
    assert (decode(tags), mood, decode(doc)) == (["a", 'b"c', "it's"], "sad", {"a": 1})
    assert db.count("SELECT count(*) FROM t WHERE name = 'ANN'") == expect["ci_matches"]
    try:
        db.execute("INSERT INTO t (mood) VALUES ('bogus')")
    except Exception as exc:  # noqa: BLE001 - the engines raise different classes
        assert expect["bad_enum"] in str(exc), str(exc)
    else:
        raise AssertionError("an enum column took a value outside the enum")


SCENARIOS.append(Scenario(
    "newer_types", TYPES_YAML, _types,
    expect={
        "sqlite": {
            "columns": {
                "id": ("integer", True, None), "at3": ("integer", False, None),
                "naive": ("integer", False, None),
                "naive6": ("integer", False, str(ms("2024-01-02T03:04:05"))),
                "doc": ("text", False, "'{\"a\":1}'"), "small": ("integer", False, "3"),
                "tags": ("text", True, "'[\"a\",\"b\\\"c\",\"it''s\"]'"),
                "grid": ("text", False, None), "ids": ("text", False, "'[]'"),
                "mood": ("text", True, "'ok'"), "colors": ("text", False, None),
                "name": ("text", False, None),
            },
            "ci_matches": 0,  # text compares case-sensitively
            "bad_enum": "t_mood_enum",
        },
        "postgres": {
            "columns": {
                "id": ("integer", True, "nextval('t_id_seq'::regclass)"),
                "at3": ("timestamp(3) with time zone", False, None),
                "naive": ("timestamp without time zone", False, None),
                "naive6": ("timestamp(6) without time zone", False,
                           "'2024-01-02 03:04:05'::timestamp without time zone"),
                "doc": ("json", False, "'{\"a\":1}'::json"), "small": ("smallint", False, "3"),
                "tags": ("text[]", True, "'{a,\"b\\\"c\",it''s}'::text[]"),
                "grid": ("integer[]", False, None),
                "ids": ("character varying(36)[]", False, "'{}'::character varying[]"),
                "mood": ("mood", True, "'ok'::mood"), "colors": ("paint.color[]", False, None),
                "name": ("citext", False, None), "search": ("tsvector", False, None),
            },
            "ci_matches": 1,  # citext
            "bad_enum": 'invalid input value for enum mood: "bogus"',
        },
    }))


# ----------------------------------------------------------------- generated columns

GENERATED_YAML = """\
tables:
  line_items:
    columns:
      id:          {type: integer, primary_key: true}
      price:       {type: integer, not_null: true}
      qty:         {type: integer, not_null: true, default: 1}
      total:       {type: integer, generated: "price * qty"}
      is_big:      {type: boolean, generated: {as: "price * qty > 100", type: stored}}
      label:       text
      label_upper: {type: text, generated: {as: "upper(label)", type: virtual}, only: sqlite}
"""


def _generated(db: Engine, expect: dict[str, Any]) -> None:
    """Stored generated columns in both engines (a boolean one stays 0/1 in SQLite), a virtual
    one in SQLite; values follow their inputs; writing them is refused."""
    assert db.generated("line_items") == expect["generated"]
    db.execute("INSERT INTO line_items(id, price, qty, label) VALUES (1, 30, 2, 'pen')")
    db.execute("INSERT INTO line_items(id, price) VALUES (2, 500)")
    rows = db.rows("SELECT id, total, is_big FROM line_items ORDER BY id")
    assert [(i, t, db.read("boolean", b)) for i, t, b in rows] == \
        [(1, 60, False), (2, 500, True)]
    db.execute("UPDATE line_items SET qty = 4 WHERE id = 1")
    total, big = db.one("SELECT total, is_big FROM line_items WHERE id = 1")
    assert (total, db.read("boolean", big)) == (120, True)
    if "label_upper" in expect["generated"]:
        assert db.one("SELECT label_upper FROM line_items WHERE id = 1") == ("PEN",)
    try:
        db.execute("INSERT INTO line_items(id, price, total) VALUES (3, 1, 99)")
    except Exception as exc:  # noqa: BLE001 - each engine's own error class
        assert re.search(r"generated column|non-DEFAULT", str(exc)), exc
    else:
        raise AssertionError("a generated column accepted a written value")


SCENARIOS.append(Scenario(
    "generated_columns", GENERATED_YAML, _generated,
    expect={"sqlite": {"generated": {"total": "stored", "is_big": "stored",
                                     "label_upper": "virtual"}},
            "postgres": {"generated": {"total": "stored", "is_big": "stored"}}}))


# ----------------------------------------------------------------- named keys and uniques

NAMED_YAML = """\
tables:
  members:
    primary_key: {columns: [org_id, user_id], name: members_org_user_key}
    columns:
      org_id:  {type: integer, not_null: true}
      user_id: {type: integer, not_null: true}
      email:   {type: text, unique: true, unique_name: members_email_key}
      handle:  text
      nick:    text
    unique:
      - {columns: [org_id, handle], name: members_handle_per_org}
      - [org_id, nick]
"""


def _named(db: Engine, expect: dict[str, Any]) -> None:
    """A named composite primary key (PostgreSQL keeps the name, SQLite keeps none) and named
    unique constraints beside a derived one; violations name them."""
    assert db.primary_key("members") == ["org_id", "user_id"]
    assert db.primary_key_name("members") == expect["pk_name"]
    indexes = db.indexes("members")
    want = {"members_email_key": ("email",), "members_handle_per_org": ("org_id", "handle"),
            "members_org_id_nick_unique": ("org_id", "nick")}
    assert {n: ix.keys for n, ix in indexes.items()} == want
    assert all(ix.unique and ix.constraint == db.uniques_are_constraints
               for ix in indexes.values())
    insert = "INSERT INTO members(org_id, user_id, email, handle, nick) VALUES (?, ?, ?, ?, ?)"
    db.execute(insert, 1, 1, "a@x", "ann", "a")
    for row, name in [((1, 1, "b@x", "bob", "b"), "members:primary_key"),
                      ((1, 2, "a@x", "bob", "b"), "members_email_key"),
                      ((1, 2, "b@x", "ann", "b"), "members_handle_per_org"),
                      ((1, 2, "b@x", "bob", "a"), "members_org_id_nick_unique")]:
        with db.violation("unique", name):
            db.execute(insert, *row)
    db.execute(insert, 2, 1, "b@x", "ann", "a")  # another org: same handle and nick are fine


SCENARIOS.append(Scenario(
    "named_primary_key_and_uniques", NAMED_YAML, _named,
    expect={"sqlite": {"pk_name": None}, "postgres": {"pk_name": "members_org_user_key"}}))


# ----------------------------------------------------------------- NULLS NOT DISTINCT

NND_YAML = """\
tables:
  accounts:
    columns:
      id:          {type: integer, primary_key: true}
      external_id: {type: text, unique: true, postgres: {nulls_not_distinct: true}}
      region:      text
      code:        text
      alias:       text
    unique:
      - {columns: [region, code], name: accounts_region_code_key}
    postgres:
      unique:
        - {columns: [region, code], name: accounts_region_code_key, nulls_not_distinct: true}
    indexes:
      accounts_alias_uq: {columns: [alias], unique: true, postgres: {nulls_not_distinct: true}}
"""


def _nulls_not_distinct(db: Engine, expect: dict[str, Any]) -> None:
    """PostgreSQL 15+ `NULLS NOT DISTINCT` (on a column unique, a named table unique and a
    unique index, kept to PostgreSQL by overrides): a repeated NULL is a duplicate there,
    while SQLite, which has no such option, keeps accepting repeated NULLs."""
    indexes = db.indexes("accounts")
    assert set(indexes) == {"accounts_external_id_unique", "accounts_region_code_key",
                            "accounts_alias_uq"}
    # drizzle records NULLS NOT DISTINCT on constraints only: the index becomes one in PG
    assert indexes["accounts_alias_uq"].constraint == db.uniques_are_constraints
    assert ("NULLS NOT DISTINCT" in indexes["accounts_alias_uq"].sql) == expect["nnd"]
    insert = "INSERT INTO accounts(id, external_id, region, code, alias) VALUES (?, ?, ?, ?, ?)"
    db.execute(insert, 1, None, None, "k", None)
    # each row repeats exactly one NULL-holding key of row 1
    for row, name in [((2, None, "eu", "k2", "a2"), "accounts_external_id_unique"),
                      ((3, "e3", None, "k", "a3"), "accounts_region_code_key"),
                      ((4, "e4", "us", "k4", None), "accounts_alias_uq")]:
        if expect["nnd"]:
            with db.violation("unique", name):
                db.execute(insert, *row)
        else:
            db.execute(insert, *row)
    db.execute(insert, 6, "e6", "x", "k6", "a9")
    with db.violation("unique", "accounts_alias_uq"):  # non-NULL duplicates: both engines
        db.execute(insert, 7, "e7", "y", "k7", "a9")


SCENARIOS.append(Scenario(
    "nulls_not_distinct", NND_YAML, _nulls_not_distinct,
    expect={"sqlite": {"nnd": False}, "postgres": {"nnd": True}}))


# ----------------------------------------------------------------- index methods and options

INDEX_OPTIONS_YAML = """\
tables:
  docs:
    columns:
      id:         {type: integer, primary_key: true}
      title:      {type: text, not_null: true}
      body:       {type: json, not_null: true, default: {}}
      created_at: {type: timestamp, not_null: true, default: now}
      rank:       integer
    indexes:
      docs_body_gin:
        parts: [{column: body, opclass: jsonb_path_ops}]
        method: gin
        only: postgres
      docs_title_pattern_idx:
        columns: [title]
        postgres: {parts: [{column: title, opclass: text_pattern_ops}]}
      docs_created_brin:
        columns: [created_at]
        postgres: {method: brin, with: {pages_per_range: 32, autosummarize: true}}
      docs_title_hash: {columns: [title], postgres: {method: HASH}}
      docs_rank_desc:
        columns: [rank, id]
        postgres:
          parts: [{column: rank, desc: true, nulls: last}, {column: id, nulls: first}]
          with: {fillfactor: 70}
"""


def _index_options(db: Engine, expect: dict[str, Any]) -> None:
    """Access methods, operator classes, DESC / NULLS FIRST|LAST and storage parameters read
    back from the catalog (PostgreSQL); SQLite keeps the same indexes as plain btrees."""
    got = {name: db.index_options("docs", name) for name in db.indexes("docs")}
    assert got == expect["options"]
    db.execute("INSERT INTO docs(id, title, rank) VALUES (1, 'a', 2), (2, 'b', NULL)")
    assert db.rows("SELECT id FROM docs WHERE title LIKE 'a%'") == [(1,)]


def _plain(*parts: str) -> dict:
    return {"method": "btree", "with": {}, "parts": [(p, False, None, None) for p in parts]}


SCENARIOS.append(Scenario(
    "index_methods_and_options", INDEX_OPTIONS_YAML, _index_options,
    expect={
        "sqlite": {"options": {
            "docs_title_pattern_idx": _plain("title"),
            "docs_created_brin": _plain("created_at"),
            "docs_title_hash": _plain("title"),
            "docs_rank_desc": _plain("rank", "id"),
        }},
        "postgres": {"options": {
            "docs_body_gin": {"method": "gin", "with": {},
                              "parts": [("body", False, False, "jsonb_path_ops")]},
            "docs_title_pattern_idx": {"method": "btree", "with": {},
                                       "parts": [("title", False, False, "text_pattern_ops")]},
            "docs_created_brin": {"method": "brin",
                                  "with": {"pages_per_range": "32", "autosummarize": "true"},
                                  "parts": [("created_at", False, False, None)]},
            "docs_title_hash": {"method": "hash", "with": {},
                                "parts": [("title", False, False, None)]},
            "docs_rank_desc": {"method": "btree", "with": {"fillfactor": "70"},
                               "parts": [("rank", True, False, None),
                                         ("id", False, True, None)]},
        }},
    }))


# ----------------------------------------------------------------- interleaved index parts

INTERLEAVED_YAML = """\
tables:
  catalog_entries:
    columns:
      id:                 {type: integer, primary_key: true}
      tenant_id:          {type: text, not_null: true}
      owner_user_id:      text
      catalog_entry_name: {type: text, not_null: true}
    indexes:
      catalog_entries_owner_name_uq:
        unique: true
        parts: [tenant_id, {expression: "coalesce(owner_user_id, '')"}, catalog_entry_name]
"""


def _interleaved(db: Engine, expect: dict[str, Any]) -> None:
    """Agor's (tenant_id, coalesce("owner_user_id", ''), catalog_entry_name): a column, an
    expression, a column, in that order; a NULL owner collides with '' through coalesce."""
    index = db.indexes("catalog_entries")["catalog_entries_owner_name_uq"]
    assert (index.unique, index.keys) == (True, ("tenant_id", None, "catalog_entry_name"))
    assert compact(index.expressions) == expect["expression"], index.expressions
    insert = "INSERT INTO catalog_entries(id, tenant_id, owner_user_id, catalog_entry_name) " \
             "VALUES (?, ?, ?, ?)"
    db.execute(insert, 1, "t1", None, "alpha")
    for row in [(2, "t1", None, "alpha"), (3, "t1", "", "alpha")]:
        with db.violation("unique", "catalog_entries_owner_name_uq"):
            db.execute(insert, *row)
    db.execute(insert, 4, "t1", "u1", "alpha")
    db.execute(insert, 5, "t2", None, "alpha")


SCENARIOS.append(Scenario(
    "interleaved_index_parts", INTERLEAVED_YAML, _interleaved,
    expect={"sqlite": {"expression": "coalesceowner_user_id,''"},
            "postgres": {"expression": "coalesceowner_user_id,''::text"}}))


# ----------------------------------------------------------------- verbatim SQL

VERBATIM_YAML = """\
tables:
  jobs:
    columns:
      id:       {type: integer, primary_key: true}
      state:    {type: text, not_null: true, default: queued}
      attempts: {type: integer, not_null: true, default: {verbatim: "(2 - 2)"}}
      done:     {type: boolean, not_null: true, default: false}
    indexes:
      jobs_open_idx:
        columns: [state]
        where:
          sqlite: {verbatim: "done = 0 AND state <> 'failed'"}
          postgres: {verbatim: "NOT done AND state <> 'failed'"}
    checks:
      jobs_attempts_range: {verbatim: "attempts BETWEEN 0 AND 10"}
      jobs_state_known:
        sqlite: {verbatim: "state IN ('queued','done','failed')"}
        postgres: {verbatim: "state = ANY (ARRAY['queued'::text, 'done'::text, 'failed'::text])"}
"""


def _verbatim(db: Engine, expect: dict[str, Any]) -> None:
    """`{verbatim: ...}` reaches the DDL byte for byte (no re-rendering: keyword case, spacing
    and casts exactly as written) and works there."""
    for text in expect["verbatim"]:
        assert text in expect["ddl"], text
    db.execute("INSERT INTO jobs(id) VALUES (1)")
    state, attempts, done = db.one("SELECT state, attempts, done FROM jobs")
    assert (state, attempts, db.read("boolean", done)) == ("queued", 0, False)
    with db.violation("check", "jobs_attempts_range"):
        db.execute("INSERT INTO jobs(id, attempts) VALUES (2, 11)")
    with db.violation("check", "jobs_state_known"):
        db.execute("INSERT INTO jobs(id, state) VALUES (3, 'bogus')")
    assert db.indexes("jobs")["jobs_open_idx"].predicate is not None


SCENARIOS.append(Scenario(
    "verbatim_sql", VERBATIM_YAML, _verbatim,
    expect={
        "sqlite": {"verbatim": ["DEFAULT (2 - 2)", "WHERE done = 0 AND state <> 'failed';",
                                "CHECK(attempts BETWEEN 0 AND 10)",
                                "CHECK(state IN ('queued','done','failed'))"]},
        "postgres": {"verbatim": ["DEFAULT (2 - 2)", "WHERE NOT done AND state <> 'failed';",
                                  "CHECK (attempts BETWEEN 0 AND 10)",
                                  "CHECK (state = ANY (ARRAY['queued'::text, 'done'::text, "
                                  "'failed'::text]))"]},
    }))
