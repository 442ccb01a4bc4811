"""PostgreSQL migrator locks and the watcher that names whoever blocks a migration.

Two run-wide lock kinds (capabilities.POSTGRES.lock_kinds):

* ``session``: ``pg_try_advisory_lock`` polled until ``migrator_lock_timeout``. Sound on a
  direct connection or a session-pooled one; under PgBouncer transaction pooling the lock
  lands on one server connection and the next transaction on another, so it is not used.
* ``lease``: a row (owner, expiry) in ``<bookkeeping table>_lock`` in the bookkeeping schema,
  taken and released with one short statement each, renewed by a side connection while the
  run lasts. No session state, so it works through any pooler. A killed migrator's lease
  runs out after LEASE_SECONDS and the next starter takes over.

Either way each one-transaction migration first takes ``pg_advisory_xact_lock`` (released
by COMMIT, so it survives transaction pooling) and only then re-reads the bookkeeping table:
two runs can never both see a migration as pending and both apply it, even if a lease ran
out under a stalled process.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from agor_schema.db import LeaseLost, LockTimeout, NoLongerNeeded

LOCK_POLL_SECONDS = 0.05
LEASE_SECONDS = 30.0
STILL_NEEDED_EVERY = 0.25
MAX_QUERY_SHOWN = 200


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lease_table_sql(table: str, schema: str | None) -> str:
    name = _quote(table + "_lock")
    return f"{_quote(schema)}.{name}" if schema else name


class Waiting:
    """While a starter polls for the lock: every STILL_NEEDED_EVERY s, ask whether there is
    still work (another run may have applied everything); if not, stop waiting."""

    def __init__(self, still_needed: Callable[[], bool] | None) -> None:
        self.still_needed = still_needed
        self.next = time.monotonic() + STILL_NEEDED_EVERY

    def check(self) -> None:
        if self.still_needed is None or time.monotonic() < self.next:
            return
        self.next = time.monotonic() + STILL_NEEDED_EVERY
        if not self.still_needed():
            raise NoLongerNeeded("another run applied every migration while this one waited")


def poll_for_lock(take: Callable[[], bool], timeout: float,
                  still_needed: Callable[[], bool] | None, timed_out: Callable[[], str]) -> None:
    """Try `take` until it succeeds; between tries, stop when no work is left (Waiting) and
    raise LockTimeout with `timed_out()` (which names the holder) once `timeout` s passed."""
    deadline = time.monotonic() + timeout
    waiting = Waiting(still_needed)
    while not take():
        waiting.check()
        if time.monotonic() >= deadline:
            raise LockTimeout(timed_out())
        time.sleep(poll_pause())


class Blocker:
    """A backend that held a lock a migration waited for."""

    def __init__(self, pid: int, state: str | None, query: str | None, xact_seconds: float | None,
                 application: str | None) -> None:
        self.pid = pid
        self.state = state or "unknown"
        self.query = " ".join((query or "").split())
        self.xact_seconds = xact_seconds
        self.application = application or ""

    def describe(self) -> str:
        query = self.query if len(self.query) <= MAX_QUERY_SHOWN \
            else self.query[: MAX_QUERY_SHOWN - 3] + "..."
        age = "" if self.xact_seconds is None \
            else f", its transaction has run for {self.xact_seconds:.1f} s"
        app = f", application {self.application!r}" if self.application else ""
        return f"backend pid {self.pid} ({self.state}{age}{app}; query: {query!r})"


class RunGuard:
    """What the runner holds while it migrates: the lock, plus a side connection that
    renews the lease and watches which backends block the current migration."""

    def __init__(self, key: int, poll: float) -> None:
        self.key = key
        self.poll = poll
        self._pid: int | None = None
        self._seen: list[Blocker] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._side: Any = None
        self._renew: tuple[str, str, str] | None = None  # (sql table, name, owner)
        self.lost = False

    # --- used by the runtime inside each migration's transaction ---------------------------

    def on_transaction(self, conn: Any) -> None:
        """Fence (transaction advisory lock) and start watching this backend for blockers."""
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.key,))
        if self.lost:
            raise LeaseLost("the migration lease ran out and another run took it over; "
                            "this run stops (the other one continues)")
        if self._thread is not None:
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            with self._lock:
                self._pid, self._seen = pid, []

    def end_transaction(self) -> None:
        with self._lock:
            self._pid = None

    def blockers(self) -> list[Blocker]:
        with self._lock:
            return list(self._seen)

    # --- the side connection ---------------------------------------------------------------

    def deferred_start(self, connect: Callable[[], Any],
                       renew: tuple[str, str, str] | None) -> None:
        """Open the side connection only once there is work (`ensure_started`)."""
        self._connect, self._renew = connect, renew

    def ensure_started(self) -> None:
        """Called by the runner before it applies the first migration of the run."""
        connect = getattr(self, "_connect", None)
        if connect is not None and self._thread is None:
            self.start(connect(), self._renew)

    def start(self, side: Any, renew: tuple[str, str, str] | None) -> None:
        self._side, self._renew = side, renew
        self._thread = threading.Thread(target=self._loop, name="agorschema-guard", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        if self._side is not None:
            try:
                self._side.close()
            except Exception:
                pass

    def _loop(self) -> None:
        next_renew = time.monotonic() + LEASE_SECONDS / 3
        while not self._stop.wait(self.poll):
            try:
                with self._lock:
                    pid = self._pid
                if pid is not None:
                    found = self._blockers_of(pid)
                    if found:
                        with self._lock:
                            if self._pid == pid:
                                self._seen = found
                if self._renew is not None and time.monotonic() >= next_renew:
                    next_renew = time.monotonic() + LEASE_SECONDS / 3
                    self._renew_lease()
            except Exception:  # the side connection is gone; the fence still protects
                if self._side is None or self._side.closed:
                    return

    def _blockers_of(self, pid: int) -> list[Blocker]:
        rows = self._side.execute(
            "SELECT a.pid, a.state, a.query, "
            "extract(epoch FROM clock_timestamp() - a.xact_start)::float8, a.application_name "
            "FROM pg_stat_activity a WHERE a.pid = ANY(pg_blocking_pids(%s)) ORDER BY a.pid",
            (pid,),
        ).fetchall()
        return [Blocker(*row) for row in rows]

    def _renew_lease(self) -> None:
        assert self._renew is not None
        table, name, owner = self._renew
        cur = self._side.execute(
            f"UPDATE {table} SET expires_at = now() + make_interval(secs => %s) "
            "WHERE name = %s AND owner = %s",
            (LEASE_SECONDS, name, owner),
        )
        if cur.rowcount == 0:
            self.lost = True


def poll_pause() -> float:
    """50-100 ms between tries: many starters polling at once spread out (a pooler with a
    few server connections carries every try)."""
    return LOCK_POLL_SECONDS * (1 + random.random())


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def ensure_lease_table(conn: Any, table: str, schema: str | None, key: int) -> None:
    """Create the lease table once; a transaction advisory lock keeps starters from racing."""
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        if schema:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(schema)}")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {lease_table_sql(table, schema)} ("
            "name text PRIMARY KEY, owner text NOT NULL, acquired_at timestamptz NOT NULL, "
            "expires_at timestamptz NOT NULL)"
        )
        conn.execute("COMMIT")
    except BaseException:
        if not conn.closed and conn.info.transaction_status != 0:
            conn.execute("ROLLBACK")
        raise


def _take_lease(conn: Any, table: str, schema: str | None, key: int, owner: str) -> bool:
    """One try: insert the lease row, or take over an expired one (one statement)."""
    import psycopg

    sql_table = lease_table_sql(table, schema)
    for attempt in (1, 2):
        try:
            return _lease_statement(conn, sql_table, table, owner) is not None
        except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
            if attempt == 2:
                raise
            ensure_lease_table(conn, table, schema, key)
    return False


def _lease_statement(conn: Any, sql_table: str, table: str, owner: str) -> Any:
    return conn.execute(
        f"INSERT INTO {sql_table} AS l (name, owner, acquired_at, expires_at) "
        "VALUES (%s, %s, now(), now() + make_interval(secs => %s)) "
        "ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, "
        "acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at "
        "WHERE l.expires_at < now() RETURNING owner",
        (table, owner, LEASE_SECONDS),
    ).fetchone()


@contextmanager
def lease_lock(conn: Any, table: str, schema: str | None, key: int, timeout: float,
               owner: str, still_needed: Callable[[], bool] | None = None) -> Iterator[str]:
    """Take the lease row (one autocommit statement per try), yield its table, delete it."""
    sql_table = lease_table_sql(table, schema)
    poll_for_lock(
        lambda: _take_lease(conn, table, schema, key, owner), timeout, still_needed,
        lambda: f"another migrate run has held the migration lease for over {timeout:g} s "
                f"({_lease_holder(conn, sql_table, table)}); retry later, raise "
                "migrator_lock_timeout, or wait for a crashed run's lease to expire")
    try:
        yield sql_table
    finally:
        if not conn.closed:
            try:
                if conn.info.transaction_status != 0:
                    conn.execute("ROLLBACK")
                conn.execute(f"DELETE FROM {sql_table} WHERE name = %s AND owner = %s",
                             (table, owner))
            except Exception:  # connection gone: the lease runs out by itself
                pass


def _lease_holder(conn: Any, sql_table: str, name: str) -> str:
    try:
        row = conn.execute(
            f"SELECT owner, acquired_at, extract(epoch FROM expires_at - now())::float8 "
            f"FROM {sql_table} WHERE name = %s", (name,),
        ).fetchone()
    except Exception:
        return "holder unknown"
    if row is None:
        return "holder unknown"
    return (f"held by {row[0]} since {row[1]:%Y-%m-%d %H:%M:%S %Z}, lease runs out in "
            f"{max(row[2], 0):.0f} s unless renewed")
