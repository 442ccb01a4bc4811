"""SQLite runtime half of the dialect: connections, bookkeeping, locking (filled by the runner work)."""


class SQLiteRuntime:
    """Runtime behaviour of SQLite used by the runner."""
