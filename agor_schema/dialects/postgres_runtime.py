"""PostgreSQL runtime half of the dialect: connections, bookkeeping, locking, transactions.

Design notes (why, not what):

* psycopg 3 is imported inside the methods, so SQLite users and ``--help`` never load it.
* The connection is in autocommit mode and the runner sends ``BEGIN``/``COMMIT`` itself,
  so the bookkeeping read and the advisory lock live outside any migration transaction.
* A *session* advisory lock, taken with ``pg_try_advisory_lock`` in a polling loop (a
  blocking ``pg_advisory_lock`` could not time out cleanly), is held for the whole run.
  The key is derived from the bookkeeping table's name, so independent histories in one
  database do not block each other. The lock is released in ``finally``; a killed
  process releases it implicitly when its session ends.
* Each chunk is sent whole (simple query protocol, no parameters, so ``%`` and ``$$``
  bodies pass untouched); PostgreSQL reports an error position, which maps back to a
  line in the file.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agor_schema.db import ConnectError, LockTimeout, Record, Statement, postgres_conninfo
from agor_schema.dialects.capabilities import SESSION_ADVISORY, WHOLE_FILE, Capabilities
from agor_schema.dialects.statements import split_postgres, transaction_control

if TYPE_CHECKING:
    from agor_schema.journal import MigrationFile

LOCK_POLL_SECONDS = 0.05


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lock_key(table: str, schema: str | None) -> int:
    """A stable signed 64-bit advisory-lock key for one bookkeeping table."""
    digest = hashlib.sha256(f"agorschema migrate {schema}.{table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresRuntime:
    """Runtime behaviour of PostgreSQL used by the runner (mixed into the PostgreSQL dialect)."""

    name = "postgres"
    journal_dialect = "postgresql"  # the `dialect` drizzle writes in _journal.json
    capabilities = Capabilities(
        name="PostgreSQL", transactional_ddl=WHOLE_FILE, lock_kind=SESSION_ADVISORY,
        foreign_keys_switch=False, journal_dialects=("postgresql", "pg"),
    )

    # --- connections -----------------------------------------------------------------------

    def anchor_url(self, url: str, root: Path) -> str:
        """Server URLs are not file paths: nothing to anchor."""
        return url

    def connect(self, url: str, *, timeout: float = 60.0, create: bool = True) -> Any:
        """An autocommit psycopg 3 connection (no server-side prepares: chunks are raw SQL)."""
        import psycopg

        try:
            return psycopg.connect(
                postgres_conninfo(url),
                autocommit=True,
                prepare_threshold=None,
                connect_timeout=max(1, int(min(timeout, 30))),
            )
        except psycopg.Error as exc:
            raise ConnectError(f"cannot connect to PostgreSQL: {_first_line(exc)}") from None

    def close_connection(self, conn: Any) -> None:
        conn.close()

    @property
    def db_errors(self) -> tuple[type[BaseException], ...]:
        import psycopg

        return (psycopg.Error,)

    def describe_db_error(self, exc: BaseException) -> str:
        """SQLSTATE, message and detail/hint; psycopg's LINE/caret echo is left out."""
        diag = getattr(exc, "diag", None)
        if diag is None or diag.message_primary is None:
            return _first_line(exc)
        parts = [f"{diag.sqlstate or ''} {diag.message_primary}".strip()]
        if diag.message_detail:
            parts.append(f"DETAIL: {diag.message_detail}")
        if diag.message_hint:
            parts.append(f"HINT: {diag.message_hint}")
        return "; ".join(parts)

    def error_line(self, exc: BaseException, statement: Statement) -> int:
        """The file line of PostgreSQL's error position, else the statement's first line."""
        diag = getattr(exc, "diag", None)
        position = getattr(diag, "statement_position", None) if diag is not None else None
        if not position:
            return statement.line
        first = statement.line - statement.sql.count("\n", 0, _code_start(statement.sql))
        return first + statement.sql.count("\n", 0, int(position) - 1)

    # --- bookkeeping -----------------------------------------------------------------------

    def migrations_table_sql(self, table: str, schema: str | None) -> str:
        return f"{_quote(schema)}.{_quote(table)}" if schema else _quote(table)

    def read_migration_records(
        self, conn: Any, table: str, schema: str | None
    ) -> list[Record] | None:
        """All bookkeeping rows, or None when the schema or table does not exist (one query)."""
        import psycopg

        try:
            rows = conn.execute(
                f"SELECT id, hash, created_at FROM {self.migrations_table_sql(table, schema)}"
            ).fetchall()
        except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
            return None
        return [Record(row[0], str(row[1]), int(row[2])) for row in rows]

    def ensure_migrations_table(self, conn: Any, table: str, schema: str | None) -> None:
        """drizzle-orm's DDL; run under the advisory lock, so concurrent starters cannot race."""
        if schema:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(schema)}")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.migrations_table_sql(table, schema)} "
            "(id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)"
        )

    def record_migration(
        self, conn: Any, table: str, schema: str | None, hash: str, when: int
    ) -> None:
        conn.execute(
            f'INSERT INTO {self.migrations_table_sql(table, schema)} ("hash", "created_at") '
            "VALUES (%s, %s)",
            (hash, when),
        )

    def update_migration_hash(
        self, conn: Any, table: str, schema: str | None, when: int, old: str, new: str
    ) -> None:
        """Accept an edited file (--allow-changed): drizzle-orm never reads `hash` back."""
        conn.execute(
            f"UPDATE {self.migrations_table_sql(table, schema)} SET hash = %s "
            "WHERE created_at = %s AND hash = %s",
            (new, when, old),
        )

    # --- locking and transactions ------------------------------------------------------------

    @contextmanager
    def migration_lock(
        self, conn: Any, table: str, schema: str | None, timeout: float
    ) -> Iterator[None]:
        """Hold a session advisory lock for the run; poll so that the wait can time out."""
        key = lock_key(table, schema)
        deadline = time.monotonic() + timeout
        while not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
            if time.monotonic() >= deadline:
                raise LockTimeout(
                    f"another migrate run has held the migration lock for over {timeout:g} s "
                    f"({self._lock_holder(conn, key)}); retry later, raise lock_timeout, or "
                    "end that session if it is stuck"
                )
            time.sleep(LOCK_POLL_SECONDS)
        self._abort_if_client_dies(conn)
        try:
            yield
        finally:
            if not conn.closed:
                try:
                    if conn.info.transaction_status != 0:  # not idle: leave the failed txn
                        conn.execute("ROLLBACK")
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
                except Exception:  # the session is gone; the server released the lock
                    pass

    def _abort_if_client_dies(self, conn: Any) -> None:
        """PostgreSQL >= 14: end this session soon after our process dies (even mid-statement).

        Without it a killed migrator's backend keeps running its statement, and keeps the
        lock and the open transaction, until it next talks to the vanished client.
        """
        try:
            conn.execute("SELECT set_config('client_connection_check_interval', '1000', false)")
        except Exception:  # older server: the parameter does not exist; nothing to do
            pass

    def _lock_holder(self, conn: Any, key: int) -> str:
        unsigned = key & 0xFFFFFFFFFFFFFFFF
        try:
            row = conn.execute(
                "SELECT l.pid, a.application_name, a.backend_start FROM pg_locks l "
                "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted "
                "AND l.classid = %s AND l.objid = %s AND l.objsubid = 1",
                (unsigned >> 32, unsigned & 0xFFFFFFFF),
            ).fetchone()
        except Exception:
            return "holder unknown"
        if row is None:
            return "holder unknown"
        return f"held by backend pid {row[0]}, connected since {row[2]:%Y-%m-%d %H:%M:%S}"

    def migration_statements(self, migration: MigrationFile) -> list[Statement]:
        """One Statement per SQL statement (split with psql's lexical rules), so errors
        name the statement and transaction control is seen wherever it stands."""
        out: list[Statement] = []
        for chunk in migration.chunks:
            for offset, sql in split_postgres(chunk.sql):
                line = chunk.first_line + chunk.sql.count("\n", 0, offset)
                out.append(Statement(sql=sql, line=line, control=transaction_control(sql)))
        return out

    def in_transaction(self, conn: Any) -> bool:
        return conn.info.transaction_status != 0  # 0 = IDLE

    def end_transaction(self, conn: Any, commit: bool) -> None:
        """COMMIT or ROLLBACK the transaction a file that runs as written left open."""
        conn.execute("COMMIT" if commit else "ROLLBACK")

    @contextmanager
    def as_written_session(self, conn: Any, timeout: float) -> Iterator[None]:
        """The run-wide advisory lock already keeps other migrators out; only make sure the
        session is not left inside a file's transaction."""
        try:
            yield
        finally:
            if not conn.closed and conn.info.transaction_status != 0:
                conn.execute("ROLLBACK")

    @contextmanager
    def migration_transaction(self, conn: Any, statements: list[Statement]) -> Iterator[None]:
        """BEGIN … COMMIT; DDL is transactional in PostgreSQL, so a failure leaves no trace."""
        conn.execute("BEGIN")
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            if not conn.closed and conn.info.transaction_status != 0:
                conn.execute("ROLLBACK")
            raise

    def execute_statement(self, conn: Any, statement: Statement) -> None:
        if statement.note is None:
            conn.execute(statement.sql)

    # --- dry run -------------------------------------------------------------------------------

    def dry_run_script(
        self, migration: MigrationFile, statements: list[Statement], table: str,
        schema: str | None,
    ) -> str:
        """The SQL the runner would send for one migration, in order."""
        lines = ["BEGIN;"]
        for st in statements:
            text = st.sql.strip()
            lines.append(text if text.endswith(";") else text + ";")
        lines.append(
            f'INSERT INTO {self.migrations_table_sql(table, schema)} ("hash", "created_at") '
            f"VALUES ('{migration.hash}', {migration.when});"
        )
        lines.append("COMMIT;")
        return "\n".join(lines)


def _code_start(sql: str) -> int:
    from agor_schema.journal import skip_space_and_comments

    return skip_space_and_comments(sql)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
