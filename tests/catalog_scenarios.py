"""The engine-neutral catalog scenarios: one small schema per feature, checked on both engines.

A scenario is a YAML schema plus a `check(engine, expect)` written once against the neutral
view of `tests/engines.py`; `test_catalog.py::test_scenario` compiles it for both dialects,
applies the engine's `generated/<dialect>.sql` to an empty database and runs the check there.
`expect` is the scenario's per-engine data (how a predicate is spelled back, ...), so what
differs between the engines is data, never a second copy of the check. To add a feature's
catalog test: write a Scenario and append it to SCENARIOS.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines import Engine

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
        engine.apply((generated / f"{engine.name}.sql").read_text(encoding="utf-8"))
        engine.set_foreign_keys(True)
        self.check(engine, self.expect.get(engine.name, {}))


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
