"""The runner's transaction model (DESIGN.md §11) as a table of files and expected outcomes.

Each case is one migration file (one statement per line, so statement N is on line N unless
said otherwise) applied after a canary migration, and what must follow: which tables exist,
whether the file is recorded, and the exact lines the failure report must hold. The same
table runs on every engine profile (tests/test_runner_transactions.py); a new profile is a
new fixture parameter, not new cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    id: str
    sql: str
    recorded: bool
    tables: set[str]  # user tables that must exist afterwards (besides canary)
    absent: set[str] = field(default_factory=set)  # tables that must not exist
    mode: str = "as_written"  # how the file runs
    committed: tuple[str, ...] = ()  # exact "statement N (line L): SQL" lines, in order
    rolled_back: tuple[str, ...] = ()
    failing_line: int | None = None
    error: str = ""  # a fragment of the error (engine-neutral)
    notes: tuple[str, ...] = ()  # fragments of the success notes


FAIL = "INSERT INTO nope VALUES (1);"  # fails on every engine: the table does not exist

CASES = [
    Case(
        "begin-commit-then-failure",
        "BEGIN;\nCREATE TABLE a (x integer);\nCOMMIT;\nCREATE TABLE b (x integer);\n" + FAIL,
        recorded=False, tables={"a", "b"},
        committed=("statement 2 (line 2): CREATE TABLE a (x integer);",
                   "statement 4 (line 4): CREATE TABLE b (x integer);"),
        failing_line=5, error="nope",
    ),
    Case(
        "mid-file-commit-then-failure",
        "CREATE TABLE a (x integer);\nCOMMIT;\n" + FAIL,
        recorded=False, tables={"a"},
        committed=("statement 1 (line 1): CREATE TABLE a (x integer);",),
        failing_line=3, error="nope",
    ),
    Case(
        "failure-inside-the-files-transaction",
        "CREATE TABLE a (x integer);\nBEGIN;\nCREATE TABLE b (x integer);\n" + FAIL + "\nCOMMIT;",
        recorded=False, tables={"a"}, absent={"b"},
        committed=("statement 1 (line 1): CREATE TABLE a (x integer);",),
        rolled_back=("statement 3 (line 3): CREATE TABLE b (x integer);",),
        failing_line=4, error="nope",
    ),
    Case(
        "rollback-outside-a-transaction",
        "CREATE TABLE a (x integer);\nROLLBACK;\nCREATE TABLE b (x integer);",
        recorded=False, tables={"a"}, absent={"b"},
        committed=("statement 1 (line 1): CREATE TABLE a (x integer);",),
        failing_line=2, error="ROLLBACK with no open transaction",
    ),
    Case(
        "files-own-rollback",
        "BEGIN;\nCREATE TABLE a (x integer);\nROLLBACK;\nCREATE TABLE b (x integer);",
        recorded=True, tables={"b"}, absent={"a"},
        notes=("the file's own ROLLBACK undid statement(s) 2 (line 2): their changes are not "
               "in the database",),
    ),
    Case(
        "savepoint-rollback-to",
        "BEGIN;\nCREATE TABLE a (x integer);\nSAVEPOINT s1;\nCREATE TABLE b (x integer);\n"
        "ROLLBACK TO SAVEPOINT s1;\nRELEASE SAVEPOINT s1;\nCREATE TABLE c (x integer);\n"
        "COMMIT;",
        recorded=True, tables={"a", "c"}, absent={"b"},
        notes=("the file's own ROLLBACK undid statement(s) 4 (line 4)",),
    ),
    Case(
        "savepoint-rollback-to-then-commit-then-failure",
        "BEGIN;\nCREATE TABLE a (x integer);\nSAVEPOINT s1;\nCREATE TABLE b (x integer);\n"
        "ROLLBACK TO SAVEPOINT s1;\nCOMMIT;\n" + FAIL,
        recorded=False, tables={"a"}, absent={"b"},
        committed=("statement 2 (line 2): CREATE TABLE a (x integer);",),
        rolled_back=("statement 4 (line 4): CREATE TABLE b (x integer);",),  # by the file
        failing_line=7, error="nope",
    ),
    Case(
        "homarr-style-commit-first-begin-last",
        "COMMIT TRANSACTION;\nCREATE TABLE a (x integer);\nBEGIN TRANSACTION;\n"
        "CREATE TABLE b (x integer);\nCOMMIT TRANSACTION;\nBEGIN TRANSACTION;",
        recorded=True, tables={"a", "b"},
        notes=("line 1: not sent: no transaction is open",
               "left a transaction open after its last statement"),
    ),
    Case(
        "lower-case-and-comments",
        "/* c */ begin -- x\n;\ncreate table a (x integer);\n  end;\n" + FAIL,
        recorded=False, tables={"a"},
        committed=("statement 2 (line 3): create table a (x integer);",),
        failing_line=5, error="nope",
    ),
    Case(
        "marker-then-failure",
        "-- agorschema:no-transaction\nCREATE TABLE a (x integer);\n" + FAIL,
        recorded=False, tables={"a"},
        committed=("statement 1 (line 2): CREATE TABLE a (x integer);",),
        failing_line=3, error="nope",
    ),
    Case(
        "marker-success",
        "-- agorschema:no-transaction\nCREATE TABLE a (x integer);\nCREATE TABLE b (x integer);",
        recorded=True, tables={"a", "b"},
        notes=("its first line is -- agorschema:no-transaction",),
    ),
    Case(
        "whole-file-by-default",
        "CREATE TABLE a (x text);\nINSERT INTO a VALUES ('x; COMMIT; y');\n" + FAIL,
        recorded=False, tables=set(), absent={"a"}, mode="whole_file",
        failing_line=3, error="nope",
    ),
    Case(
        "commit-only-in-a-comment-or-string",
        "-- COMMIT;\nCREATE TABLE a (x text);\n/* BEGIN; */ INSERT INTO a VALUES ('ROLLBACK;');\n"
        "CREATE TABLE \"COMMIT\" (x integer);",
        recorded=True, tables={"a", "COMMIT"}, mode="whole_file",
    ),
]
