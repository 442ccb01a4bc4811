"""PostgreSQL runtime half of the dialect: connections, bookkeeping, locking (filled by the runner work)."""


class PostgresRuntime:
    """Runtime behaviour of PostgreSQL used by the runner."""
