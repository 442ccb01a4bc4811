"""The statement scanner behind the transaction model: splitting and transaction control.

Property test: files built from statements that hide `;`, `BEGIN`, `COMMIT` and `END` inside
strings, identifiers, comments, dollar quotes, DO blocks, trigger and function bodies split
back into exactly those statements, and only real transaction control is classified as
such. Then the same files run on the real engines (whole-file mode) to prove the pieces are
statements the engine accepts.
"""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agor_schema.dialects.statements import (
    BEGIN,
    COMMIT,
    RELEASE,
    ROLLBACK,
    ROLLBACK_TO,
    SAVEPOINT,
    code_of,
    has_no_transaction_marker,
    savepoint_name,
    split_postgres,
    split_sqlite,
    transaction_control,
)

COMMON = [
    ("SELECT 'a;b COMMIT; END;' AS x;", None),
    ('SELECT 1 AS "COMMIT;";', None),
    ("SELECT 1 -- ; COMMIT;\n;", None),
    ("/* BEGIN; */ SELECT 2;", None),
    ("SELECT 'it''s; ROLLBACK';", None),
    ("BEGIN;", BEGIN),
    ("begin transaction;", BEGIN),
    ("COMMIT;", COMMIT),
    ("end;", COMMIT),
    ("Commit Transaction;", COMMIT),
    ("ROLLBACK;", ROLLBACK),
    ("SAVEPOINT s1;", SAVEPOINT),
    ("RELEASE SAVEPOINT s1;", RELEASE),
    ("ROLLBACK TO SAVEPOINT s1;", ROLLBACK_TO),
    ("-- lead\n/* in */ COMMIT -- tail\n;", COMMIT),
]
SQLITE_ONLY = [
    ("CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  INSERT INTO b VALUES (1);\n"
     "  UPDATE b SET x = 'END;';\nEND;", None),
    ("BEGIN IMMEDIATE;", BEGIN),
    ("BEGIN EXCLUSIVE TRANSACTION;", BEGIN),
    ("END TRANSACTION;", COMMIT),
    ("SELECT [semi;colon] FROM t;", None),
    ("SELECT `back;tick` FROM t;", None),
]
POSTGRES_ONLY = [
    ("DO $$ BEGIN PERFORM 1; COMMIT; END $$;", None),
    ("DO $body$ BEGIN RAISE NOTICE '$$;'; END $body$;", None),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n"
     "  SELECT CASE WHEN true THEN 1 END;\n  SELECT 2;\nEND;", None),
    ("SELECT E'back\\'slash;';", None),
    ("SELECT 1 /* outer /* inner; */ still; */;", None),
    ("CREATE RULE r AS ON INSERT TO a DO ALSO (INSERT INTO b VALUES (1); "
     "INSERT INTO b VALUES (2));", None),
    ("START TRANSACTION ISOLATION LEVEL SERIALIZABLE;", BEGIN),
    ("ABORT;", ROLLBACK),
    ("COMMIT AND CHAIN;", COMMIT),
    ("SELECT $1;", None),
    # `begin atomic` here is a column and its alias, not a function body
    ("SELECT begin atomic FROM (SELECT 1 AS begin) s;", None),
    ("SELECT x$y, 'end', $a$ ; $a$ FROM (SELECT 1 AS x$y) s;", None),
    # psql's rule: only CREATE [OR REPLACE] FUNCTION|PROCEDURE has a body, and only a BEGIN
    # outside parentheses opens it: a column `begin` of a domain `atomic` does not
    ("CREATE TABLE atomic_t (begin atomic);", None),
    ("CREATE VIEW atomic_v AS SELECT begin atomic FROM (SELECT 1 AS begin) s;", None),
    ("CREATE OR REPLACE PROCEDURE atomic_p() LANGUAGE sql\nBEGIN ATOMIC\n"
     "  SELECT (CASE WHEN true THEN 1 END);\n  SELECT 2;\nEND;", None),
    ("create /* c */ or replace -- r\n function atomic_f() returns int language sql\n"
     "begin atomic select case when true then 1 else 2 end; end;", None),
]

SEPARATORS = st.sampled_from(["\n", " ", "\n\n", "\n-- note; BEGIN;\n", "\n/* ; */\n",
                              "\n--> statement-breakpoint\n"])


def build(pool: list[tuple[str, str | None]], picks: list[int], seps: list[str]) -> str:
    return "".join(pool[i][0] + seps[n] for n, i in enumerate(picks))


@pytest.mark.parametrize("splitter,pool", [
    (split_sqlite, COMMON + SQLITE_ONLY),
    (split_postgres, COMMON + POSTGRES_ONLY),
], ids=["sqlite", "postgres"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_split_and_classify(splitter, pool, data) -> None:
    picks = data.draw(st.lists(st.integers(0, len(pool) - 1), min_size=1, max_size=8))
    seps = data.draw(st.lists(SEPARATORS, min_size=len(picks), max_size=len(picks)))
    text = build(pool, picks, seps).replace("\n--> statement-breakpoint\n", "\n")
    pieces = splitter(text)
    assert [code_of(sql) for _, sql in pieces] == [code_of(pool[i][0]) for i in picks]
    assert [transaction_control(sql) for _, sql in pieces] == [pool[i][1] for i in picks]
    for offset, sql in pieces:  # offsets point at each statement's first keyword
        assert text[offset:].startswith(code_of(sql)[:6])


def test_savepoint_names() -> None:
    assert [savepoint_name(sql) for sql in (
        "SAVEPOINT s1;", "ROLLBACK TO SAVEPOINT s1;", "rollback transaction to S2",
        "RELEASE s1;", "release savepoint s1", 'SAVEPOINT "My sp";',
    )] == ["s1", "s1", "s2", "s1", "s1", "My sp"]


def test_marker_is_the_first_line_only() -> None:
    assert has_no_transaction_marker("-- agorschema:no-transaction\nCREATE INDEX ...;")
    assert has_no_transaction_marker("--agorschema:no-transaction  \r\nSELECT 1;")
    assert has_no_transaction_marker("\ufeff-- AGORSCHEMA:no-transaction")
    assert not has_no_transaction_marker("SELECT 1;\n-- agorschema:no-transaction\n")
    assert not has_no_transaction_marker("-- agorschema:no-transaction please\nSELECT 1;")


@settings(max_examples=25, deadline=None)
@given(picks=st.lists(st.integers(0, 4), min_size=1, max_size=6))
def test_split_pieces_are_statements_sqlite_accepts(picks: list[int]) -> None:
    """Whatever the mix, each piece is one statement SQLite runs on its own."""
    pool = [s for s, control in COMMON if control is None]
    text = "\n".join(pool[i % len(pool)] for i in picks)
    conn = sqlite3.connect(":memory:")
    try:
        for _, sql in split_sqlite(text):
            conn.execute(sql)  # raises "You can only execute one statement at a time" if not
    finally:
        conn.close()


def test_split_pieces_are_statements_postgres_accepts(pg_conn) -> None:
    """Each piece is one statement: PostgreSQL's extended protocol (prepare=True) refuses a
    string holding several ("cannot insert multiple commands into a prepared statement")."""
    pg_conn.execute("CREATE TABLE a (x integer); CREATE TABLE b (x integer); "
                    "CREATE DOMAIN atomic AS integer")
    pool = [s for s, control in COMMON + POSTGRES_ONLY if control is None and "$1" not in s]
    pieces = split_postgres("\n".join(pool))
    assert len(pieces) == len(pool)
    for _, sql in pieces:
        pg_conn.execute(sql, prepare=True)
    with pytest.raises(Exception, match="multiple commands"):
        pg_conn.execute("SELECT 1; SELECT 2", prepare=True)  # the check can fail
