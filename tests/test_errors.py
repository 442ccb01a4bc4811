"""Invalid input: one clear, located message, exit code 2, no traceback, nothing written.

Every case runs the real CLI (`agorschema compile --project <tmp>`) on a throwaway project
and asserts the exact `file:line:col`, the table / column / field named, and the hint at what
would be valid. A few cases also run `agorschema check` and a subprocess, and the last tests
make sure `--help` documents every option.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from agor_schema.cli import main

PYPROJECT = """\
[project]
name = "errors-fixture"

[tool.agorschema]
schema = "schema"
generated = "generated"
migrations = "drizzle"
dialects = ["sqlite", "postgres"]
"""

# Lines 1-5 of most cases; extra columns start on line 6 at column 7, extra tables on line 6.
USERS = """\
tables:
  users:
    columns:
      id:    {type: integer, primary_key: true}
      email: {type: text, not_null: true, unique: true}
"""


@dataclass(frozen=True)
class Case:
    """One kind of invalid input and what its message must say."""

    id: str
    files: dict[str, str | bytes]  # schema/<name> -> YAML text (bytes: written as is)
    at: str | None  # exact "file:line:col" the message starts with
    says: tuple[str, ...]  # substrings the message must contain
    also_at: tuple[str, ...] = field(default=())  # further locations the message names


def users_plus(extra: str) -> str:
    """USERS plus the lines of `extra` after their `|` margin (indented as YAML needs)."""
    lines = [line.strip()[1:] for line in extra.splitlines() if line.strip().startswith("|")]
    return USERS + "".join(line + "\n" for line in lines)


def column(line: str) -> str:
    """USERS with one extra column line (line 6, column 7)."""
    return USERS + "      " + line + "\n"


A = "schema/a.yaml"

CASES: list[Case] = [
    # ----------------------------------------------------------------- types
    Case("unknown-type", {"a.yaml": column("photo: {type: picture}")}, f"{A}:6:21",
         ("table 'users'", "column 'photo'", "field 'type'", "unknown type 'picture'",
          "valid: text, varchar(n), integer")),
    Case("misspelled-type-suggests", {"a.yaml": column("age: {type: intger}")}, f"{A}:6:19",
         ("table 'users'", "column 'age'", "field 'type'", "did you mean 'integer'?")),
    Case("type-alias-string-suggests-text", {"a.yaml": column("name: {type: strng}")},
         f"{A}:6:20",
         ("table 'users'", "column 'name'", "field 'type'", "did you mean 'text'?")),
    Case("shorthand-type-typo", {"a.yaml": column("flag: boolen")}, f"{A}:6:13",
         ("table 'users'", "column 'flag'", "field 'type'", "did you mean 'boolean'?")),
    Case("numeric-default-too-many-decimals",
         {"a.yaml": column('price: {type: "numeric(6,2)", default: 1.234}')}, f"{A}:6:46",
         ("table 'users'", "column 'price'", "field 'default'", "3 decimal place(s)",
          "numeric(6,2) keeps 2")),
    Case("numeric-default-too-large",
         {"a.yaml": column('price: {type: "numeric(6,2)", default: 12345.5}')}, f"{A}:6:46",
         ("column 'price'", "does not fit numeric(6,2)", "at most 4 digit(s)")),
    Case("calendar-function-on-sqlite-timestamp",
         {"a.yaml": users_plus("""
            |      seen_at: timestamp
            |    indexes:
            |      users_day_idx: {expressions: ["date_trunc('day', seen_at)"]}
         """)}, f"{A}:8:37",
         ("table 'users'", "index 'users_day_idx'", "field 'expressions'",
          "SQLite stores 'seen_at' as epoch milliseconds", "{sqlite: ..., postgres: ...}")),
    Case("varchar-without-length", {"a.yaml": column("code: varchar")}, f"{A}:6:13",
         ("table 'users'", "column 'code'", "field 'type'", "varchar needs a length",
          "varchar(36)")),
    Case("varchar-non-numeric-length", {"a.yaml": column("code: varchar(abc)")}, f"{A}:6:13",
         ("table 'users'", "column 'code'", "field 'type'", "whole numbers")),
    Case("numeric-bad-scale", {"a.yaml": column('price: {type: "numeric(4,6)"}')}, f"{A}:6:21",
         ("table 'users'", "column 'price'", "field 'type'",
          "scale must be between 0 and the precision")),
    Case("type-missing", {"a.yaml": column("nick: {not_null: true}")}, f"{A}:6:13",
         ("table 'users'", "column 'nick'", "missing required key 'type'",
          "valid types: text, varchar(n)")),
    Case("numeric-flow-split", {"a.yaml": column("price: {type: numeric(12,2), not_null: true}")},
         f"{A}:6:32",
         ('{type: "numeric(12,2)"}', "quote the value", "table 'users'", "column 'price'")),
    # ----------------------------------------------------------------- keys
    Case("unknown-column-key", {"a.yaml": column("nick: {type: text, not_nul: true}")},
         f"{A}:6:26",
         ("table 'users'", "column 'nick'", "unknown key 'not_nul'", "did you mean 'not_null'?",
          "valid keys: type, not_null")),
    Case("unknown-table-key", {"a.yaml": users_plus("""\
        |    coment: People.
        """)}, f"{A}:6:5",
         ("table 'users'", "unknown key 'coment'", "did you mean 'comment'?", "valid keys:")),
    Case("unknown-top-level-key", {"a.yaml": "enum_checks: true\n" + USERS}, f"{A}:1:1",
         ("unknown key 'enum_checks'", "did you mean 'enum_check'?", "valid keys: tables")),
    Case("unknown-index-key", {"a.yaml": users_plus("""\
        |    indexes:
        |      users_email_idx: {colums: [email]}
        """)}, f"{A}:7:25",
         ("table 'users'", "index 'users_email_idx'", "unknown key 'colums'",
          "did you mean 'columns'?")),
    Case("not-null-not-a-boolean", {"a.yaml": column("nick: {type: text, not_null: maybe}")},
         f"{A}:6:36",
         ("table 'users'", "column 'nick'", "field 'not_null'", "must be true or false")),
    Case("tables-not-a-mapping", {"a.yaml": "tables: [users, posts]\n"}, f"{A}:1:9",
         ("'tables' must be a mapping of table names",)),
    Case("table-not-a-mapping", {"a.yaml": USERS + "  posts: text\n"}, f"{A}:6:10",
         ("table 'posts'", "must be a mapping")),
    # ----------------------------------------------------------------- defaults
    Case("default-boolean", {"a.yaml": column("active: {type: boolean, default: 1}")},
         f"{A}:6:40",
         ("table 'users'", "column 'active'", "field 'default'", "must be true or false", "1")),
    Case("default-integer", {"a.yaml": column("visits: {type: integer, default: ten}")},
         f"{A}:6:40",
         ("table 'users'", "column 'visits'", "field 'default'", "whole number", "'ten'")),
    Case("default-text", {"a.yaml": column("motto: {type: text, default: 42}")}, f"{A}:6:36",
         ("table 'users'", "column 'motto'", "field 'default'", "must be a string", "(quote it)")),
    Case("default-timestamp", {"a.yaml": column("seen_at: {type: timestamp, default: yesterday}")},
         f"{A}:6:43",
         ("table 'users'", "column 'seen_at'", "field 'default'", "now", "ISO 8601",
          "'yesterday'")),
    Case("default-date", {"a.yaml": column("born: {type: date, default: 31/01/2024}")},
         f"{A}:6:35",
         ("table 'users'", "column 'born'", "field 'default'", "'2024-01-31'", "'31/01/2024'")),
    Case("default-uuid", {"a.yaml": column("token: {type: uuid, default: not-a-uuid}")},
         f"{A}:6:36",
         ("table 'users'", "column 'token'", "field 'default'", "gen_random_uuid()",
          "'not-a-uuid'")),
    Case("default-bytes", {"a.yaml": column("blob: {type: bytes, default: abc}")}, f"{A}:6:36",
         ("table 'users'", "column 'blob'", "field 'default'", "{sql: ...}")),
    Case("default-varchar-too-long", {"a.yaml": column("code: {type: varchar(3), default: abcdef}")},
         f"{A}:6:41",
         ("table 'users'", "column 'code'", "field 'default'", "longer than varchar(3)")),
    Case("default-not-in-enum",
         {"a.yaml": column("role: {type: text, enum: [admin, member], default: owner}")},
         f"{A}:6:58",
         ("table 'users'", "column 'role'", "field 'default'", "'owner'",
          "enum values: admin, member")),
    Case("default-now-on-date", {"a.yaml": column("born: {type: date, default: now}")},
         f"{A}:6:35",
         ("table 'users'", "column 'born'", "field 'default'", "only a default for timestamp",
          "date")),
    Case("default-sql-unparsable", {"a.yaml": column('n: {type: integer, default: {sql: "1 +"}}')},
         f"{A}:6:35",
         ("table 'users'", "column 'n'", "field 'default'", "cannot parse SQL expression '1 +'",
          "incomplete")),
    Case("default-sql-reads-column",
         {"a.yaml": column('nick: {type: text, default: {sql: "lower(email)"}}')}, f"{A}:6:35",
         ("table 'users'", "column 'nick'", "field 'default'", "cannot read columns")),
    # ----------------------------------------------------------------- enums
    Case("enum-on-integer", {"a.yaml": column("level: {type: integer, enum: [a, b]}")},
         f"{A}:6:36",
         ("table 'users'", "column 'level'", "field 'enum'", "text or varchar column")),
    Case("enum-empty", {"a.yaml": column("kind: {type: text, enum: []}")}, f"{A}:6:32",
         ("table 'users'", "column 'kind'", "field 'enum'", "at least one value")),
    Case("enum-check-without-enum", {"a.yaml": column("kind: {type: text, enum_check: true}")},
         f"{A}:6:38",
         ("table 'users'", "column 'kind'", "field 'enum_check'", "needs an 'enum:' list")),
    # ----------------------------------------------------------------- foreign keys
    Case("fk-missing-table", {"a.yaml": column("boss: {type: integer, references: user.id}")},
         f"{A}:6:41",
         ("table 'users'", "column 'boss'", "field 'references'", "table 'user'",
          "does not exist", "did you mean 'users'?")),
    Case("fk-missing-column", {"a.yaml": column("boss: {type: integer, references: users.idd}")},
         f"{A}:6:41",
         ("table 'users'", "column 'boss'", "field 'references'", "'users.idd'",
          "did you mean 'id'?", "columns: id, email")),
    Case("fk-type-mismatch", {"a.yaml": column("boss: {type: text, references: users.id}")},
         f"{A}:6:38",
         ("table 'users'", "column 'boss'", "field 'references'", "type text",
          "does not match type integer", "'users.id'")),
    Case("fk-non-unique-target", {"a.yaml": users_plus("""\
        |      nick: text
        |  posts:
        |    columns:
        |      id: {type: integer, primary_key: true}
        |      by_nick: {type: text, references: users.nick}
        """)}, f"{A}:10:41",
         ("table 'posts'", "column 'by_nick'", "field 'references'", "'users(nick)'",
          "not a primary key or unique")),
    Case("references-not-dotted", {"a.yaml": column("boss: {type: integer, references: users}")},
         f"{A}:6:41",
         ("table 'users'", "column 'boss'", "field 'references'", "'table.column'", "'users'")),
    Case("on-delete-without-references",
         {"a.yaml": column("boss: {type: integer, on_delete: cascade}")}, f"{A}:6:40",
         ("table 'users'", "column 'boss'", "field 'on_delete'", "needs 'references:")),
    Case("invalid-on-delete", {"a.yaml": column(
        "boss: {type: integer, references: users.id, on_delete: cascde}")}, f"{A}:6:62",
         ("table 'users'", "column 'boss'", "field 'on_delete'", "'cascde'",
          "did you mean 'cascade'?", "valid: cascade, set null")),
    Case("set-null-on-not-null", {"a.yaml": column(
        "boss: {type: integer, not_null: true, references: users.id, on_delete: set null}")},
         f"{A}:6:78",
         ("table 'users'", "column 'boss'", "field 'on_delete'", "not_null",
          "use cascade, restrict or no action")),
    Case("composite-fk-count-mismatch", {"a.yaml": users_plus("""\
        |  members:
        |    columns:
        |      user_id: {type: integer, not_null: true}
        |      team: {type: text, not_null: true}
        |    foreign_keys:
        |      - columns: [user_id, team]
        |        references: {table: users, columns: [id]}
        """)}, f"{A}:12:21",
         ("table 'members'", "foreign key 'user_id,team'", "field 'references'",
          "2 column(s) (user_id, team) reference 1 column(s) of 'users' (id)",
          "as many referenced columns as columns")),
    Case("fk-to-table-of-other-dialect", {"a.yaml": users_plus("""\
        |  tenants:
        |    only: postgres
        |    columns:
        |      id: {type: integer, primary_key: true}
        |  sites:
        |    columns:
        |      tenant_id: {type: integer, references: tenants.id}
        """)}, f"{A}:12:46",
         ("table 'sites'", "column 'tenant_id'", "field 'references'", "table 'tenants'",
          "does not exist in sqlite", "the same 'only:'")),
    Case("composite-fk-missing-own-column", {"a.yaml": users_plus("""\
        |  members:
        |    columns:
        |      user_id: {type: integer, not_null: true}
        |    foreign_keys:
        |      - columns: [usr_id]
        |        references: {table: users, columns: [id]}
        """)}, f"{A}:10:19",
         ("table 'members'", "foreign key 'usr_id'", "field 'columns'",
          "did you mean 'user_id'?")),
    # ----------------------------------------------------------------- names
    Case("duplicate-table-across-files", {
        "a.yaml": USERS,
        "b.yaml": "tables:\n  users:\n    columns:\n      id: integer\n",
    }, "schema/b.yaml:2:3", ("table 'users'", "defined twice"), also_at=(f"{A}:2:3",)),
    Case("table-name-too-long", {"a.yaml": USERS + "  " + "t" * 64 + ":\n    columns:\n"
                                 "      id: integer\n"}, f"{A}:6:3",
         ("table '" + "t" * 64 + "'", "longer than 63 bytes")),
    Case("column-name-too-long", {"a.yaml": column("c" * 64 + ": text")}, f"{A}:6:7",
         ("table 'users'", "column '" + "c" * 64 + "'", "longer than 63 bytes")),
    Case("renamed-from-existing-column", {"a.yaml": column("mail: {type: text, renamed_from: email}")},
         f"{A}:6:40",
         ("table 'users'", "column 'mail'", "field 'renamed_from'", "'email'", "still exists")),
    Case("table-without-columns", {"a.yaml": USERS + "  posts:\n    columns: {}\n"}, f"{A}:7:14",
         ("table 'posts'", "field 'columns'", "at least one column")),
    Case("table-columns-key-missing", {"a.yaml": USERS + "  posts:\n    comment: x\n"},
         f"{A}:7:5", ("table 'posts'", "missing required key 'columns'")),
    Case("duplicate-key-in-mapping", {"a.yaml": column("email: {type: text}")}, f"{A}:6:7",
         ("table 'users'", "column 'email'", "key 'email' appears twice",
          "first at line 5", "remove or rename one")),
    # ----------------------------------------------------------------- primary keys
    Case("autoincrement-on-text",
         {"a.yaml": "tables:\n  tags:\n    columns:\n"
                    "      tag: {type: text, primary_key: true, autoincrement: true}\n"},
         f"{A}:4:59",
         ("table 'tags'", "column 'tag'", "field 'autoincrement'", "integer or bigint")),
    Case("column-and-table-primary-key", {"a.yaml": users_plus("""\
        |    primary_key: [id, email]
        """)}, f"{A}:6:18",
         ("table 'users'", "field 'primary_key'", "keep one")),
    Case("two-primary-key-columns", {"a.yaml": column("code: {type: text, primary_key: true}")},
         f"{A}:6:39",
         ("table 'users'", "column 'code'", "field 'primary_key'", "primary_key: [id, code]")),
    Case("primary-key-missing-column",
         {"a.yaml": "tables:\n  tags:\n    primary_key: [tag, post]\n    columns:\n"
                    "      tag: text\n"},
         f"{A}:3:24",
         ("table 'tags'", "field 'primary_key'", "column 'post' does not exist")),
    # ----------------------------------------------------------------- indexes
    Case("index-missing-column", {"a.yaml": users_plus("""\
        |    indexes:
        |      users_mail_idx: [emial]
        """)}, f"{A}:7:24",
         ("table 'users'", "index 'users_mail_idx'", "field 'columns'", "column 'emial'",
          "did you mean 'email'?")),
    Case("composite-unique-missing-column", {"a.yaml": users_plus("""\
        |    unique:
        |      - [id, emial]
        """)}, f"{A}:7:14",
         ("table 'users'", "field 'unique'", "column 'emial'", "did you mean 'email'?")),
    Case("index-named-like-a-table", {"a.yaml": users_plus("""\
        |    indexes:
        |      users: [email]
        """)}, f"{A}:7:7", ("table 'users'", "index 'users'", "also a table name")),
    Case("index-without-parts", {"a.yaml": users_plus("""\
        |    indexes:
        |      users_x_idx: {unique: true}
        """)}, f"{A}:7:20",
         ("table 'users'", "index 'users_x_idx'", "needs 'columns', 'expressions' or 'parts'")),
    Case("duplicate-index-name-across-tables", {"a.yaml": users_plus("""\
        |    indexes:
        |      by_email: [email]
        |  posts:
        |    columns:
        |      email: text
        |    indexes:
        |      by_email: [email]
        """)}, f"{A}:12:7",
         ("table 'posts'", "index 'by_email'", "already used by table 'users' (at schema/a.yaml:7:7)",
          "rename one")),
    # ----------------------------------------------------------------- expressions
    Case("unparsable-check", {"a.yaml": users_plus("""\
        |    checks:
        |      email_ok: "(email LIKE '%@%'"
        """)}, f"{A}:7:17",
         ("table 'users'", "check 'email_ok'", "cannot parse SQL expression", "Expecting )")),
    Case("unparsable-where", {"a.yaml": users_plus("""\
        |    indexes:
        |      users_email_idx: {columns: [email], where: "email ="}
        """)}, f"{A}:7:50",
         ("table 'users'", "index 'users_email_idx'", "field 'where'",
          "cannot parse SQL expression")),
    Case("unparsable-index-expression", {"a.yaml": users_plus("""\
        |    indexes:
        |      users_lower_idx: {expressions: ["lower("]}
        """)}, f"{A}:7:39",
         ("table 'users'", "index 'users_lower_idx'", "field 'expressions'",
          "cannot parse SQL expression")),
    Case("expression-missing-column", {"a.yaml": users_plus("""\
        |    checks:
        |      email_ok: "emial LIKE '%@%'"
        """)}, f"{A}:7:17",
         ("table 'users'", "check 'email_ok'", "column 'emial'", "did you mean 'email'?")),
    Case("expression-is-a-statement", {"a.yaml": users_plus("""\
        |    checks:
        |      email_ok: "SELECT 1"
        """)}, f"{A}:7:17",
         ("table 'users'", "check 'email_ok'", "is a statement")),
    # ----------------------------------------------------------------- dialects
    Case("bad-only-value", {"a.yaml": column("tenant: {type: text, only: postgress}")},
         f"{A}:6:34",
         ("table 'users'", "column 'tenant'", "field 'only'", "did you mean 'postgres'?",
          "valid: sqlite, postgres")),
    Case("bad-only-on-table",
         {"a.yaml": "tables:\n  t:\n    only: mysql\n    columns:\n      id: integer\n"},
         f"{A}:3:11", ("table 't'", "field 'only'", "only: mysql", "valid: sqlite, postgres")),
    Case("unknown-check-key", {"a.yaml": users_plus("""\
        |    checks:
        |      positive: {sqll: "id > 0"}
        """)}, f"{A}:7:18",
         ("table 'users'", "check 'positive'", "unknown key 'sqll'", "did you mean 'sql'?")),
    Case("override-not-a-mapping", {"a.yaml": column("nick: {type: text, sqlite: varchar}")},
         f"{A}:6:34",
         ("table 'users'", "column 'nick'", "field 'sqlite'", "must be a mapping", "str")),
    Case("override-with-bad-type", {"a.yaml": column("nick: {type: text, sqlite: {type: strng}}")},
         f"{A}:6:41",
         ("table 'users'", "column 'nick'", "field 'type'", "did you mean 'text'?")),
    Case("override-with-bad-key", {"a.yaml": column("nick: {type: text, postgres: {tpye: uuid}}")},
         f"{A}:6:37",
         ("table 'users'", "column 'nick'", "unknown key 'tpye'", "did you mean 'type'?")),
    # ----------------------------------------------------------------- files
    Case("yaml-syntax-error", {"a.yaml": USERS + "      name: {type: text\n"}, f"{A}:7:1",
         ("YAML syntax error", "expected ',' or '}'", "the end of the file",
          "flow mapping that starts at line 6, column 13", "close every '{' with '}'")),
    Case("yaml-bad-indentation", {"a.yaml": USERS + "     bad: text\n"}, f"{A}:6:6",
         ("YAML syntax error", "check the indentation of this line")),
    Case("yaml-tab-indentation", {"a.yaml": "tables:\n  users:\n\tcolumns: {}\n"}, f"{A}:3:1",
         ("YAML syntax error", "'\\t'", "indent with spaces, not tabs")),
    Case("yaml-unclosed-quote", {"a.yaml": USERS + '      name: "text\n'}, f"{A}:7:1",
         ("YAML syntax error", "quoted scalar that starts at line 6, column 13", "close the quote")),
    Case("empty-file", {"a.yaml": "# nothing yet\n"}, f"{A}:1:1", ("the file is empty", "'tables:'")),
    Case("zero-byte-file", {"a.yaml": ""}, f"{A}:1:1", ("the file is empty", "'tables:'")),
    Case("not-utf8", {"a.yaml": USERS.encode() + b"      caf\xe9: text\n"}, f"{A}:6:10",
         ("not UTF-8 text", "byte 0xe9", "save it as UTF-8")),
    Case("file-is-a-list", {"a.yaml": "- users\n- posts\n"}, f"{A}:1:1",
         ("must be a mapping with a 'tables:' key", "not a list")),
    Case("top-level-set-differently", {"a.yaml": "enum_check: true\n" + USERS,
                                       "b.yaml": "enum_check: false\ntables: {}\n"},
         "schema/b.yaml:1:1", ("'enum_check' is set differently in two files", f"{A}:1:1")),
]


# ----------------------------------------------------------------- helpers


def make_project(root: Path, files: dict[str, str | bytes], pyproject: str = PYPROJECT) -> None:
    (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    (root / "schema").mkdir()
    for name, text in files.items():
        target = root / "schema" / name
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text, encoding="utf-8")


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def run_cli(root: Path, command: str = "compile") -> tuple[int, str]:
    """Run the real CLI in-process; returns (exit code, stdout + stderr)."""
    result = CliRunner().invoke(main, [command, "--project", str(root)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"crashed: {result.exception!r}\n{result.output}") \
            from result.exception
    return result.exit_code, result.output


def assert_input_error(root: Path, before: set[str], code: int, output: str) -> list[str]:
    """Exit 2, no traceback, nothing written; returns the `error:` lines."""
    assert code == 2, output
    assert "Traceback" not in output, output
    assert tree(root) == before, f"files were written: {sorted(tree(root) - before)}"
    assert not (root / "generated").exists() and not (root / "drizzle").exists()
    assert "nothing was written" in output
    return [line for line in output.splitlines() if line.startswith("error: ")]


# ----------------------------------------------------------------- the cases


def test_enough_distinct_kinds() -> None:
    assert len({case.id for case in CASES}) == len(CASES) >= 35


def assert_case_refused(case: Case, root: Path) -> None:
    """Compile `case` in `root`: exactly one located message saying what the case says."""
    make_project(root, case.files)
    before = tree(root)
    code, output = run_cli(root)
    errors = assert_input_error(root, before, code, output)
    assert len(errors) == 1, f"expected one message, got:\n{output}"
    message = errors[0]
    if case.at is not None:
        assert message.startswith(f"error: {case.at}: "), message
    for text in case.says:
        assert text in message, f"{text!r} missing from: {message}"
    for where in case.also_at:
        assert where in message, f"{where!r} missing from: {message}"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_invalid_schema(case: Case, tmp_path: Path) -> None:
    assert_case_refused(case, tmp_path)


@pytest.mark.parametrize("case", [c for c in CASES if c.id in {
    "misspelled-type-suggests", "fk-missing-column", "yaml-syntax-error"}],
    ids=lambda c: c.id)
def test_check_command_reports_the_same(case: Case, tmp_path: Path) -> None:
    """A compiled project whose schema was then broken: `check` recompiles and reports it."""
    make_project(tmp_path, {"a.yaml": USERS})
    code, output = run_cli(tmp_path)
    assert code == 0, output
    for name, text in case.files.items():
        (tmp_path / "schema" / name).write_text(str(text), encoding="utf-8")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    code, output = run_cli(tmp_path, "check")
    assert code == 2 and "Traceback" not in output, output
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert errors and errors[0].startswith(f"error: {case.at}: "), output


def test_several_problems_reported_together(tmp_path: Path) -> None:
    make_project(tmp_path, {"a.yaml": USERS + "      a: {type: strng}\n      b: {type: bool}\n"})
    before = tree(tmp_path)
    code, output = run_cli(tmp_path)
    errors = assert_input_error(tmp_path, before, code, output)
    assert [e.split(": ")[1] for e in errors] == [f"{A}:6:17", f"{A}:7:17"], output
    assert "did you mean 'text'?" in errors[0] and "did you mean 'boolean'?" in errors[1]
    assert "2 errors; nothing was written" in output


def test_subprocess_reports_without_traceback(tmp_path: Path) -> None:
    make_project(tmp_path, {"a.yaml": column("age: {type: intger}")})
    before = tree(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", "from agor_schema.cli import main; main()",
         "compile", "--project", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.startswith(f"error: {A}:6:19: table 'users', column 'age', field 'type'")
    assert "did you mean 'integer'?" in proc.stderr
    assert tree(tmp_path) == before


# ----------------------------------------------------------------- settings


SETTINGS_CASES = [
    pytest.param('[tool.agorschema]\nschema = "schema"\nmigration = "drizzle"\n',
                 ("unknown setting(s) migration", "did you mean 'migrations'?", "valid:"),
                 id="unknown-setting"),
    pytest.param('[tool.agorschema]\ndialects = ["sqlite", "mysql"]\n',
                 ("dialects must be a list of dialect names", '("sqlite", "postgres")',
                  "'mysql' is not one"), id="bad-dialect"),
    pytest.param('[tool.agorschema]\nschema = "schema\n', ("invalid TOML",), id="invalid-toml"),
    pytest.param('[tool.agorschema]\nschema = "nowhere"\n', ("nowhere", "not found"),
                 id="missing-schema"),
    pytest.param('[tool.agorschema]\ndialects = "sqlite"\n', ("dialects", "list"),
                 id="dialects-not-a-list"),
]


@pytest.mark.parametrize(("pyproject", "says"), SETTINGS_CASES)
def test_invalid_settings(pyproject: str, says: tuple[str, ...], tmp_path: Path) -> None:
    make_project(tmp_path, {"a.yaml": USERS}, pyproject)
    before = tree(tmp_path)
    code, output = run_cli(tmp_path)
    errors = assert_input_error(tmp_path, before, code, output)
    assert len(errors) == 1, output
    assert "pyproject.toml" in errors[0] or "nowhere" in errors[0], errors[0]
    for text in says:
        assert text in errors[0], f"{text!r} missing from: {errors[0]}"


# ----------------------------------------------------------------- help


@pytest.mark.parametrize("command", [(), ("compile",), ("check",)], ids=["main", "compile", "check"])
def test_help_lists_every_option_with_a_description(command: tuple[str, ...]) -> None:
    import click

    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())  # undo click's line wrapping
    cmd: click.Command = main
    for name in command:
        cmd = main.commands[name]  # type: ignore[attr-defined]
    ctx = click.Context(cmd, info_name="agorschema")
    options = [p for p in cmd.get_params(ctx) if isinstance(p, click.Option) and not p.hidden]
    assert {"--help"} <= {o for p in options for o in p.opts}
    for param in options:
        record = param.get_help_record(ctx)
        assert record is not None, f"{param.opts} is not shown"
        names, description = record
        assert names in flat, f"{names} not in help of {command or 'agorschema'}"
        description = " ".join(description.split())
        assert description, f"{param.opts} has no description"
        assert "\n" not in (param.help or "").strip(), f"{param.opts}: description is not one line"
        assert description in flat, f"{param.opts}: {description!r} not in help"
    if not command:
        for name, sub in main.commands.items():  # type: ignore[attr-defined]
            assert sub.get_short_help_str().strip(), f"command {name} has no description"
            listed = [line.split(None, 1) for line in result.output.splitlines()
                      if line.strip().startswith(name + " ")]
            assert listed and len(listed[0]) == 2, f"command {name} not listed with a description"
