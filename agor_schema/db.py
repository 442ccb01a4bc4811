"""Database URLs → connections, and the small types the runner and the dialect runtimes share.

Supported URLs: ``sqlite:///relative.db``, ``sqlite:////absolute.db``, ``sqlite://:memory:``,
``postgresql://user:pass@host:port/db`` and ``postgres://...`` (psycopg 3, imported lazily so
that SQLite-only use never pays for it). Connecting itself is a method of the dialect runtime.
The small records are NamedTuples: every app start-up imports this module (see journal.py).
"""

from __future__ import annotations

from agor_schema.records import record

MEMORY = ":memory:"


class DatabaseURLError(ValueError):
    """A URL this tool cannot use; the message shows the accepted forms."""


class RuntimeDBError(Exception):
    """A condition a dialect runtime reports to the runner (not a failed SQL statement)."""


class ConnectError(RuntimeDBError):
    """The database could not be opened or reached."""


class LockTimeout(RuntimeDBError):
    """Another migrate run held the lock for longer than the configured timeout."""


class NoLongerNeeded(RuntimeDBError):
    """While this run waited for the migrator lock, another run applied everything."""


class LeaseLost(RuntimeDBError):
    """The migration lease was taken over by another run (ours expired): stop applying."""


@record
class TxLimits:
    """Limits set inside each one-transaction migration (SET LOCAL); 0 means off.

    `ddl_lock_timeout` bounds each wait for a table lock, `statement_timeout` each statement.
    They are never sent as connection startup parameters (a default PgBouncer refuses those)
    and never set for the session (under transaction pooling that leaks to other clients).
    """

    ddl_lock_timeout: float = 0.0
    statement_timeout: float = 0.0


class CommitCheckFailed(RuntimeDBError):
    """A check run just before COMMIT (e.g. SQLite `PRAGMA foreign_key_check`) failed."""

    def __init__(self, message: str, statement: str) -> None:
        super().__init__(message)
        self.statement = statement


@record
class Record:
    """One bookkeeping row: drizzle's (id, hash, created_at); created_at is the journal `when`."""

    id: int | None
    hash: str
    created_at: int


class BadRecord(RuntimeDBError):
    """A bookkeeping row whose created_at is not a number (a hand-inserted row)."""


def to_record(row: tuple, table: str) -> Record:
    """A bookkeeping row as a Record; BadRecord naming the row when created_at is no number
    (NULL, text): nothing can say which journal entry it records."""
    try:
        return Record(row[0], str(row[1]), int(row[2]))
    except (TypeError, ValueError, OverflowError):
        raise BadRecord(
            f"{table}: the row with id {row[0]} (hash {str(row[1])[:16]}…) has created_at "
            f"{row[2]!r}, not the journal `when` of a migration (milliseconds): set it to the "
            "`when` of the migration it records, or delete the row") from None


@record
class Statement:
    """One unit sent to the database, with the 1-based file line its code starts on.

    `note` set means the runner does not send it and explains why (for example a
    `PRAGMA foreign_keys` line that SQLite would ignore inside a transaction); a file that
    runs as written sends it anyway. `control` is the kind of transaction control the
    statement is (see dialects/statements.py), or None.
    """

    sql: str
    line: int
    note: str | None = None
    control: str | None = None


_SCHEMES = "sqlite:///relative.db, sqlite:////absolute/path.db, sqlite://:memory:, " \
    "postgresql://user:pass@host:port/db"


def scheme_of(url: str) -> str:
    """Lower-case URL scheme without a driver suffix (`postgresql+psycopg` → `postgresql`)."""
    if "://" not in url:
        raise DatabaseURLError(f"not a database URL: {url!r}; use one of: {_SCHEMES}")
    return url.split("://", 1)[0].lower().split("+", 1)[0]


def redact(url: str) -> str:
    """The URL with any password replaced by ***, for messages and JSON output."""
    from agor_schema.redact import redact as _redact

    return _redact(url)
