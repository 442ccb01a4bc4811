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
  Behind a transaction pooler the run holds a lease row instead (postgres_locks.py); the
  lock kind comes from the `migrator_lock` setting and the capability profile.
* Lock and statement timeouts are ``SET LOCAL`` inside each one-transaction migration,
  never startup parameters (PgBouncer refuses them) nor session settings (they would leak
  to the pooled connection's next client). A lock wait that times out is retried by the
  runner; a side connection names the backend that blocked it (``pg_blocking_pids``).
* Each chunk is sent whole (simple query protocol, no parameters, so ``%`` and ``$$``
  bodies pass untouched); PostgreSQL reports an error position, which maps back to a
  line in the file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agor_schema.db import (
    ConnectError,
    DatabaseURLError,
    Record,
    Statement,
    TxLimits,
    scheme_of,
    to_record,
)
from agor_schema.dialects.capabilities import (
    LEASE,
    POOLER_HOST_MARKERS,
    POOLER_PORTS,
    POSTGRES,
    SESSION_ADVISORY,
    Capabilities,
)
from agor_schema.dialects.postgres_locks import (
    RunGuard,
    lease_lock,
    new_owner,
    poll_for_lock,
)

if TYPE_CHECKING:
    from agor_schema.journal import MigrationFile



def postgres_conninfo(url: str) -> str:
    """A libpq URL for psycopg: any postgres/postgresql[+driver] scheme → postgresql://."""
    if scheme_of(url) not in ("postgres", "postgresql"):
        raise DatabaseURLError(f"not a PostgreSQL URL: {url!r}")
    rest = url.split("://", 1)[1]
    if "?" in rest:  # `pgbouncer=true` (a pooler hint, see looks_pooled) is not for libpq
        base, query = rest.split("?", 1)
        kept = [p for p in query.split("&") if p.split("=", 1)[0].lower() != "pgbouncer"]
        rest = base + ("?" + "&".join(kept) if kept else "")
    return "postgresql://" + rest


def looks_pooled(url: str) -> bool:
    """True when the URL hints at a pooler (PgBouncer port, pooler host, pgbouncer=true)."""
    from urllib.parse import parse_qs, urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    query = {k.lower(): v for k, v in parse_qs(parts.query).items()}
    return (port in POOLER_PORTS or any(m in host for m in POOLER_HOST_MARKERS)
            or query.get("pgbouncer", [""])[-1].lower() in ("true", "1"))


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
    capabilities: Capabilities = POSTGRES

    # --- connections -----------------------------------------------------------------------

    def anchor_url(self, url: str, root: Path) -> str:
        """Server URLs are not file paths: nothing to anchor."""
        return url

    companion_suffixes: tuple[str, ...] = ()

    def database_file(self, url: str) -> str | None:
        """A server's database is no file of the project."""
        return None

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
        shown = self.migrations_table_sql(table, schema)
        return [to_record(row, shown) for row in rows]

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

    def lock_kind(self, setting: str, url: str) -> str:
        """The migrator lock for `setting` (auto: lease when the URL looks pooled)."""
        if setting != "auto":
            return self.capabilities.lock_for_setting(setting)
        return LEASE if looks_pooled(url) else SESSION_ADVISORY

    @contextmanager
    def migration_lock(
        self, conn: Any, table: str, schema: str | None, timeout: float, *,
        kind: str = SESSION_ADVISORY, url: str | None = None,
        limits: TxLimits | None = None, still_needed: Callable[[], bool] | None = None,
    ) -> Iterator[RunGuard]:
        """Hold the run-wide lock (session advisory or lease) and yield the run's guard.

        A side connection (a lease to renew, or a DDL lock timeout whose blocker must be
        named) starts when the runner has work to do (`RunGuard.ensure_started`). While
        waiting, `still_needed()` is asked now and then: when another run has applied
        everything meanwhile, NoLongerNeeded ends the wait (no hand-off of the lock through
        every waiting starter).
        """
        key = lock_key(table, schema)
        ddl_timeout = limits.ddl_lock_timeout if limits else 0.0
        guard = RunGuard(key, poll=max(0.02, min(0.25, ddl_timeout / 4 or 0.25)))
        owner = new_owner()
        with ExitStack() as stack:
            if kind == LEASE:
                sql_table = stack.enter_context(lease_lock(conn, table, schema, key, timeout,
                                                           owner, still_needed))
                renew: tuple[str, str, str] | None = (sql_table, table, owner)
            else:
                stack.enter_context(self._session_lock(conn, key, timeout, still_needed))
                renew = None
            if url is not None and (renew is not None or ddl_timeout > 0):
                guard.deferred_start(lambda: self.connect(url, timeout=10.0), renew)
                stack.callback(guard.stop)
            yield guard

    @contextmanager
    def _session_lock(self, conn: Any, key: int, timeout: float,
                      still_needed: Callable[[], bool] | None = None) -> Iterator[None]:
        """Hold a session advisory lock for the run; poll so that the wait can time out."""
        poll_for_lock(
            lambda: conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0],
            timeout, still_needed,
            lambda: f"another migrate run has held the migration lock for over {timeout:g} s "
                    f"({self._lock_holder(conn, key)}); retry later, raise "
                    "migrator_lock_timeout, or end that session if it is stuck")
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
        lock and the open transaction, until it next talks to the vanished client. Only
        for the session lock: a session setting would leak to others through a pooler.
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
        # imported here: compile, check and an up-to-date start-up never split a file
        from agor_schema.dialects.statements import split_postgres, transaction_control

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
    def migration_transaction(
        self, conn: Any, statements: list[Statement], *, limits: TxLimits | None = None,
        guard: RunGuard | None = None,
    ) -> Iterator[None]:
        """BEGIN … COMMIT; DDL is transactional in PostgreSQL, so a failure leaves no trace.

        The limits are SET LOCAL: they end with the transaction, never reach a pooled
        server connection's next client, and never touch files that run as written (a
        CREATE INDEX CONCURRENTLY must not inherit a lock timeout).
        """
        conn.execute("BEGIN")
        try:
            if guard is not None:
                guard.on_transaction(conn)
            for name, seconds in self._limit_settings(limits):
                conn.execute(f"SET LOCAL {name} = '{int(round(seconds * 1000))}ms'")
            if conn.info.server_version >= 140000:
                # a killed migrator's backend stops within ~1 s instead of running on
                conn.execute("SET LOCAL client_connection_check_interval = '1s'")
            yield
            conn.execute("COMMIT")
        except BaseException:
            if not conn.closed and conn.info.transaction_status != 0:
                conn.execute("ROLLBACK")
            raise
        finally:
            if guard is not None:
                guard.end_transaction()

    def _limit_settings(self, limits: TxLimits | None) -> list[tuple[str, float]]:
        if limits is None:
            return []
        return [(name, seconds) for name, seconds in
                (("lock_timeout", limits.ddl_lock_timeout),
                 ("statement_timeout", limits.statement_timeout)) if seconds > 0]

    def is_lock_timeout(self, exc: BaseException) -> bool:
        """SQLSTATE 55P03 lock_not_available: `lock_timeout` expired waiting for a lock."""
        return getattr(getattr(exc, "diag", None), "sqlstate", None) == "55P03"

    def is_statement_timeout(self, exc: BaseException) -> bool:
        """SQLSTATE 57014 query_canceled (statement_timeout)."""
        return getattr(getattr(exc, "diag", None), "sqlstate", None) == "57014"

    def invalid_indexes(self, conn: Any) -> list[str]:
        """INVALID indexes (a failed or running CREATE INDEX CONCURRENTLY), as messages."""
        rows = conn.execute(
            "SELECT format('%I.%I', n.nspname, c.relname), format('%I.%I', tn.nspname, t.relname) "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace "
            "WHERE NOT i.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "ORDER BY 1"
        ).fetchall()
        return [f"index {name} on {table} is INVALID: a CREATE INDEX CONCURRENTLY failed (or "
                "is still running); queries do not use it but writes still maintain it. "
                "`migrate` drops and rebuilds it when its migration runs again; or drop it: "
                f"DROP INDEX CONCURRENTLY {name};" for name, table in rows]

    def prepare_as_written(self, conn: Any, statements: list[Statement]) -> list[str]:
        """Before a file runs as written: drop INVALID indexes its concurrent builds would
        skip (`IF NOT EXISTS` sees the failed build's leftover), and warn when a lock
        timeout would reach those builds. Returns notes for the user."""
        builds = [(s, name) for s in statements if (name := concurrent_index_name(s.sql))]
        if not builds:
            return []
        notes: list[str] = []
        for _, name in builds:
            row = conn.execute(
                "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(%s)",
                (name,),
            ).fetchone()
            if row is not None and not row[0]:
                conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
                notes.append(f"dropped INVALID index {name} left by an earlier failed "
                             "CREATE INDEX CONCURRENTLY; building it again")
        inherited = conn.execute("SELECT current_setting('lock_timeout')").fetchone()[0]
        own = [s for s in statements if re.match(_SET_LOCK_TIMEOUT, _code(s.sql))
               and not re.search(_ZERO_TIMEOUT, s.sql)]
        if inherited not in ("0", "0ms") or own:
            where = f"line {own[0].line} of the file sets it" if own else \
                f"it is {inherited} for this role or database"
            notes.append(
                f"lock_timeout applies to CREATE INDEX CONCURRENTLY here ({where}): a "
                "concurrent build that waits for older transactions is then cancelled and "
                "leaves an INVALID index. Set lock_timeout = 0 for concurrent builds (the "
                "runner's ddl_lock_timeout never reaches files that run as written)")
        return notes

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


_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
# pattern strings, compiled (and cached) by `re` on first use: compile never runs them
_CONCURRENT_INDEX = (
    r"(?i)CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    rf"({_IDENT}(?:\s*\.\s*{_IDENT})?)\s+ON\b")
_SET_LOCK_TIMEOUT = r"(?i)SET\s+(?:SESSION\s+|LOCAL\s+)?lock_timeout\b"
_ZERO_TIMEOUT = r"(?i)(?:=|\bTO)\s*'?0(?:ms|s)?'?\s*;?\s*$"


def _code(sql: str) -> str:
    return sql[_code_start(sql):]


def concurrent_index_name(sql: str) -> str | None:
    """The (quoted as written) name a `CREATE INDEX CONCURRENTLY` statement builds."""
    match = re.match(_CONCURRENT_INDEX, _code(sql))
    return match.group(1) if match else None


def _code_start(sql: str) -> int:
    from agor_schema.journal import skip_space_and_comments

    return skip_space_and_comments(sql)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
