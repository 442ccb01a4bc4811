"""SQLite runtime half of the dialect: connections, bookkeeping, locking, transactions.

Design notes (why, not what):

* The connection uses ``isolation_level=None`` so Python's sqlite3 never opens or commits
  transactions behind our back; every migration is ``BEGIN IMMEDIATE`` … ``COMMIT``.
  ``BEGIN IMMEDIATE`` takes the write lock up front, so concurrent starters queue on the
  busy timeout instead of failing on a lock upgrade, and each re-reads the bookkeeping
  table inside its own write transaction (that re-read is what makes "exactly once" hold).
* ``PRAGMA foreign_keys`` is a no-op inside a transaction. drizzle-kit's table rebuilds
  put ``PRAGMA foreign_keys=OFF`` inside the migration, which SQLite ignores, so
  ``DROP TABLE`` of a parent cascades into its children. For a migration that rebuilds
  tables the runner therefore switches foreign keys off *before* ``BEGIN``, skips the
  PRAGMA lines, runs ``PRAGMA foreign_key_check`` before ``COMMIT`` and restores the
  previous setting afterwards. Other migrations run with foreign keys enforced.
* Python's sqlite3 runs one statement per ``execute()``; chunks holding several
  statements are split at the boundaries ``sqlite3.complete_statement`` recognises
  (it understands quotes, comments and trigger bodies). ``executescript`` is never
  used: it commits the open transaction.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

from agor_schema.db import (
    MEMORY,
    CommitCheckFailed,
    ConnectError,
    DatabaseURLError,
    LockTimeout,
    Record,
    Statement,
    scheme_of,
    to_record,
)
from agor_schema.dialects.capabilities import SQLITE, Capabilities
from agor_schema.journal import skip_space_and_comments

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (app start-up)

if TYPE_CHECKING:
    from typing import Any

    from agor_schema.journal import MigrationFile

# pattern strings, compiled (and cached) by `re` on first use: an up-to-date start-up runs none
_FK_PRAGMA = r"(?i)^\s*PRAGMA\s+(?:main\.)?foreign_keys\s*(?:=\s*\S+?)?\s*;?\s*$"
_FK_ON = r"(?i)=\s*(on|1|true|yes)\b"
_REBUILD = r"(?i)__new_"
FK_NOTE = "not sent: foreign keys are switched off before BEGIN for this migration"
FK_ON_NOTE = "not sent: foreign keys are restored after COMMIT"


def sqlite_path(url: str) -> str:
    """The file path (or ':memory:') a sqlite:// URL names; the query string is ignored."""
    if scheme_of(url) != "sqlite":
        raise DatabaseURLError(f"not a sqlite URL: {url!r}")
    rest = url.split("://", 1)[1].split("?", 1)[0]
    if rest in (MEMORY, "/" + MEMORY):
        return MEMORY
    if not rest.lstrip("/").strip():  # also blanks: a file named "   " is no database
        raise DatabaseURLError(
            f"sqlite URL {url!r} names no file (SQLite would use a temporary database that "
            "vanishes when the connection closes): use sqlite:///app.db, "
            "sqlite:////absolute/app.db, or sqlite://:memory: for a deliberate in-memory one"
        )
    if not rest.startswith("/"):
        raise DatabaseURLError(
            f"bad sqlite URL {url!r}: use sqlite:///relative.db (three slashes), "
            "sqlite:////absolute.db (four) or sqlite://:memory:"
        )
    return unquote(rest[1:])


def _lock_timeout(exc: sqlite3.OperationalError) -> LockTimeout | None:
    """SQLITE_BUSY after the busy timeout: another writer kept the database."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return LockTimeout(
            f"another writer kept the database locked for longer than the busy timeout "
            f"({text}); retry later or raise migrator_lock_timeout"
        )
    return None


@contextmanager
def _file_lock(path: str, timeout: float) -> Iterator[None]:
    """An exclusive flock on `path` (nothing for in-memory databases), polled to time out."""
    if not path:
        yield
        return
    import fcntl
    import time

    deadline = time.monotonic() + timeout
    with open(path, "a+b") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"another migrate run held {path} for longer than {timeout:g} s "
                        "while running a file as written; retry later or raise migrator_lock_timeout"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SQLiteRuntime:
    """Runtime behaviour of SQLite used by the runner (mixed into the SQLite dialect)."""

    name = "sqlite"
    journal_dialect = "sqlite"  # the `dialect` drizzle writes in _journal.json
    capabilities: Capabilities = SQLITE

    # --- connections -----------------------------------------------------------------------

    def anchor_url(self, url: str, root: Path) -> str:
        """Relative file URLs from settings are relative to the project root, not the cwd."""
        path = sqlite_path(url)
        if path == MEMORY or Path(path).is_absolute():
            return url
        return "sqlite:///" + str((root / path).resolve())

    # the files beside the database file that SQLite writes (rollback journal, WAL, its index)
    companion_suffixes = ("-journal", "-wal", "-shm")

    def database_file(self, url: str) -> str | None:
        """The file the URL's database lives in (None: in memory); DatabaseURLError when
        the URL names none."""
        path = sqlite_path(url)
        return None if path == MEMORY else path

    def connect(
        self, url: str, *, timeout: float = 60.0, create: bool = True
    ) -> sqlite3.Connection:
        """Open the file in autocommit mode with a busy timeout and foreign keys enforced.

        With ``create=False`` (status, dry run) a missing file is not created: an empty
        in-memory database stands in for it, which correctly reports nothing applied.
        """
        path = sqlite_path(url)
        if not create and path != MEMORY and not Path(path).exists():
            path = MEMORY
        try:
            conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            raise ConnectError(f"cannot open SQLite database {path!r}: {exc}") from None
        return conn

    def close_connection(self, conn: sqlite3.Connection) -> None:
        conn.close()

    @property
    def db_errors(self) -> tuple[type[BaseException], ...]:
        """Exceptions that mean "the database refused a statement"."""
        return (sqlite3.Error,)

    def describe_db_error(self, exc: BaseException) -> str:
        return f"{type(exc).__name__}: {exc}"

    def error_line(self, exc: BaseException, statement: Statement) -> int:
        """SQLite reports no position; the statement's first line is the best we know."""
        return statement.line

    # --- bookkeeping -----------------------------------------------------------------------

    def migrations_table_sql(self, table: str, schema: str | None) -> str:
        """drizzle-orm ignores `migrationsSchema` for SQLite: the table lives in main."""
        return _quote(table)

    def read_migration_records(
        self, conn: sqlite3.Connection, table: str, schema: str | None
    ) -> list[Record] | None:
        """All bookkeeping rows, or None when the table does not exist yet (one query)."""
        try:
            rows = conn.execute(
                f"SELECT id, hash, created_at FROM {self.migrations_table_sql(table, schema)}"
            ).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise
        shown = self.migrations_table_sql(table, schema)
        return [to_record(row, shown) for row in rows]

    def ensure_migrations_table(
        self, conn: sqlite3.Connection, table: str, schema: str | None
    ) -> None:
        """drizzle-orm's own DDL (SERIAL is not a rowid alias: id stays NULL, as in drizzle)."""
        try:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self.migrations_table_sql(table, schema)} "
                "(id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)"
            )
        except sqlite3.OperationalError as exc:
            raise _lock_timeout(exc) or exc from None

    def record_migration(
        self, conn: sqlite3.Connection, table: str, schema: str | None, hash: str, when: int
    ) -> None:
        conn.execute(
            f'INSERT INTO {self.migrations_table_sql(table, schema)} ("hash", "created_at") '
            "VALUES (?, ?)",
            (hash, when),
        )

    def update_migration_hash(
        self, conn: Any, table: str, schema: str | None, when: int, old: str, new: str
    ) -> None:
        """Accept an edited file (--allow-changed): drizzle-orm never reads `hash` back."""
        conn.execute(
            f"UPDATE {self.migrations_table_sql(table, schema)} SET hash = ? "
            "WHERE created_at = ? AND hash = ?",
            (new, when, old),
        )

    # --- locking and transactions ------------------------------------------------------------

    def lock_kind(self, setting: str, url: str) -> str:
        """SQLite has one kind: the database write lock per migration."""
        return self.capabilities.lock_for_setting("table" if setting == "auto" else setting)

    @contextmanager
    def migration_lock(
        self, conn: sqlite3.Connection, table: str, schema: str | None, timeout: float,
        **_: Any,
    ) -> Iterator[None]:
        """No run-wide lock: each migration's BEGIN IMMEDIATE (busy timeout) serializes writers."""
        yield

    def is_lock_timeout(self, exc: BaseException) -> bool:
        """SQLite has no per-statement lock wait limit (busy waits are a LockTimeout)."""
        return False

    def is_statement_timeout(self, exc: BaseException) -> bool:
        return False

    def migration_statements(self, migration: MigrationFile) -> list[Statement]:
        """One Statement per SQL statement; PRAGMA foreign_keys lines carry a note instead
        (a file that runs as written sends them: it controls its own transactions)."""
        # imported here: an up-to-date start-up never splits a file
        from agor_schema.dialects.statements import split_sqlite, transaction_control

        out: list[Statement] = []
        for chunk in migration.chunks:
            for offset, sql in split_sqlite(chunk.sql):
                line = chunk.first_line + chunk.sql.count("\n", 0, offset)
                note = None
                if re.match(_FK_PRAGMA, sql[skip_space_and_comments(sql):]):
                    note = FK_ON_NOTE if re.search(_FK_ON, sql) else FK_NOTE
                out.append(Statement(sql=sql, line=line, note=note,
                                     control=transaction_control(sql)))
        return out

    def in_transaction(self, conn: sqlite3.Connection) -> bool:
        return conn.in_transaction

    def end_transaction(self, conn: sqlite3.Connection, commit: bool) -> None:
        """COMMIT or ROLLBACK the transaction a file that runs as written left open."""
        conn.execute("COMMIT" if commit else "ROLLBACK")

    @contextmanager
    def as_written_session(
        self, conn: sqlite3.Connection, timeout: float
    ) -> Iterator[None]:
        """Around a file that runs as written: an exclusive lock file beside the database
        (its statements commit one by one, so BEGIN IMMEDIATE cannot keep a second migrator
        out), and the connection's foreign_keys setting restored afterwards."""
        path = next((row[2] for row in conn.execute("PRAGMA database_list")
                     if row[1] == "main"), "")
        previous = conn.execute("PRAGMA foreign_keys").fetchone()[0]
        with _file_lock(path + ".agorschema-lock" if path else "", timeout):
            try:
                yield
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                conn.execute(f"PRAGMA foreign_keys={'ON' if previous else 'OFF'}")

    def _rebuilds_tables(self, statements: list[Statement]) -> bool:
        return any(s.note is not None or re.search(_REBUILD, s.sql) for s in statements)

    @contextmanager
    def migration_transaction(
        self, conn: sqlite3.Connection, statements: list[Statement], **_: Any,
    ) -> Iterator[None]:
        """BEGIN IMMEDIATE … COMMIT, foreign keys off around it for table rebuilds."""
        fk_off = self._rebuilds_tables(statements)
        previous = conn.execute("PRAGMA foreign_keys").fetchone()[0]
        secure_delete = conn.execute("PRAGMA secure_delete").fetchone()[0]
        if fk_off:
            conn.execute("PRAGMA foreign_keys=OFF")
            if secure_delete == 1:
                # A rebuild copies every row before dropping the old table, so zeroing the
                # freed pages (Debian builds default to secure_delete=ON) protects nothing
                # but doubles the cost of the DROP; FAST still zeroes in-page content.
                conn.execute("PRAGMA secure_delete=FAST")
        try:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise _lock_timeout(exc) or exc from None
            try:
                yield
                if fk_off:
                    self._foreign_key_check(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        finally:
            if fk_off:
                conn.execute(f"PRAGMA foreign_keys={'ON' if previous else 'OFF'}")
                conn.execute(f"PRAGMA secure_delete={secure_delete}")

    def _foreign_key_check(self, conn: sqlite3.Connection) -> None:
        rows = conn.execute("PRAGMA foreign_key_check").fetchall()
        if not rows:
            return
        shown = "; ".join(
            f"{table} rowid {rowid} → {parent} (foreign key #{fkid})"
            for table, rowid, parent, fkid in rows[:5]
        )
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        raise CommitCheckFailed(
            f"foreign key check failed: {len(rows)} row(s) reference missing parents: "
            f"{shown}{more}",
            statement="PRAGMA foreign_key_check (run before COMMIT)",
        )

    def invalid_indexes(self, conn: sqlite3.Connection) -> list[str]:
        """SQLite indexes are built in one step: never invalid."""
        return []

    def prepare_as_written(self, conn: sqlite3.Connection, statements: list[Statement]
                           ) -> list[str]:
        """SQLite builds indexes in one step: no INVALID leftovers to clean up."""
        return []

    def execute_statement(self, conn: sqlite3.Connection, statement: Statement) -> None:
        if statement.note is None:
            conn.execute(statement.sql).fetchall()

    # --- dry run -------------------------------------------------------------------------------

    def dry_run_script(
        self, migration: MigrationFile, statements: list[Statement], table: str,
        schema: str | None,
    ) -> str:
        """The SQL the runner would send for one migration, in order."""
        lines: list[str] = []
        fk_off = self._rebuilds_tables(statements)
        if fk_off:
            lines.append("PRAGMA foreign_keys=OFF;  -- before BEGIN: it rebuilds tables")
        lines.append("BEGIN IMMEDIATE;")
        for st in statements:
            text = st.sql.strip()
            if st.note:
                lines.append(f"-- line {st.line}: {text}  -- {st.note}")
            else:
                lines.append(text if text.endswith(";") else text + ";")
        if fk_off:
            lines.append("PRAGMA foreign_key_check;  -- any row aborts the migration")
        lines.append(
            f'INSERT INTO {self.migrations_table_sql(table, schema)} ("hash", "created_at") '
            f"VALUES ('{migration.hash}', {migration.when});"
        )
        lines.append("COMMIT;")
        if fk_off:
            lines.append("PRAGMA foreign_keys=<previous setting>;")
        return "\n".join(lines)
