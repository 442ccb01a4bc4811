"""What the runner assumes about an engine, as data (DESIGN.md §11).

A dialect runtime carries one `Capabilities` value; the runner reads it instead of asking
which engine it talks to, so a PostgreSQL-compatible engine (CockroachDB: DDL commits per
statement, no advisory locks; YugabyteDB; Citus) or an edge SQLite is a new profile (a
table entry here) plus the runner tests, which are parametrized over `lock_kinds` and
`transaction_modes`, not new branches. `run_mode` is the one place that decides how a
migration file runs. Profiles are NamedTuples (a variant: `POSTGRES._replace(...)`): every
app start-up imports this module (see journal.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from agor_schema.records import record

# how a file's statements and its bookkeeping row are committed
WHOLE_FILE = "whole_file"  # one transaction: all of the file and its row, or nothing
PER_STATEMENT = "per_statement"  # DDL commits statement by statement (CockroachDB)
AS_WRITTEN = "as_written"  # statements in order, each committing unless the file opened a txn
NO_TRANSACTIONS = "none"

# lock kinds: what serializes concurrent migrators
SESSION_ADVISORY = "session_advisory"  # PostgreSQL pg_try_advisory_lock held for the run
TRANSACTION_ADVISORY = "transaction_advisory"  # pg_advisory_xact_lock: one transaction only
LEASE = "lease"  # a lease row (owner, expiry) in the bookkeeping schema: no session state
WRITE_TRANSACTION = "write_transaction"  # SQLite BEGIN IMMEDIATE per file (a lock table)
NO_LOCK = "none"

# `migrator_lock` setting values -> lock kinds ("auto": the runtime decides per URL)
LOCK_SETTINGS = {"session": SESSION_ADVISORY, "lease": LEASE, "table": WRITE_TRANSACTION}
LOCK_SETTING_VALUES = ("auto", *LOCK_SETTINGS)


def setting_for(kind: str) -> str:
    """The `migrator_lock` value that selects lock kind `kind`."""
    return next(k for k, v in LOCK_SETTINGS.items() if v == kind)

# URL hints that a pooler sits in front of PostgreSQL (session state does not survive
# between transactions there): PgBouncer's and Supabase's pooler ports, Supabase / Neon
# pooler host names, and the `pgbouncer=true` query parameter Prisma users already set.
POOLER_PORTS = (6432, 6543)
POOLER_HOST_MARKERS = ("pooler", "pgbouncer")


@record
class Capabilities:
    """One engine profile.

    `transactional_ddl`: how a file without transaction control runs (WHOLE_FILE where DDL
    is transactional). `lock_kind`: the default way migrators serialize; `lock_kinds` all
    that work (the runner tests run each). `foreign_keys_switch`: foreign keys can (and
    must) be switched off outside the transaction for table rebuilds. `ddl_lock_timeout` /
    `statement_timeout`: the engine can bound lock waits / statements per transaction.
    `invalid_indexes`: a failed concurrent index build leaves an INVALID index behind.
    `journal_dialects`: the `dialect` values of `_journal.json` this engine's folders carry
    (drizzle-kit 0.x wrote `pg`). `max_identifier_bytes`: longer names are cut by the engine.
    """

    name: str
    transactional_ddl: str
    lock_kind: str
    foreign_keys_switch: bool
    journal_dialects: tuple[str, ...] = ()
    lock_kinds: tuple[str, ...] = ()
    transaction_modes: tuple[str, ...] = (WHOLE_FILE, AS_WRITTEN)
    ddl_lock_timeout: bool = False
    statement_timeout: bool = False
    invalid_indexes: bool = False
    max_identifier_bytes: int | None = None

    @property
    def usable_locks(self) -> tuple[str, ...]:
        return self.lock_kinds or (self.lock_kind,)

    def lock_for_setting(self, setting: str) -> str:
        """The lock kind a `migrator_lock` value names, if this engine has it."""
        kind = LOCK_SETTINGS.get(setting, setting)
        if kind not in self.usable_locks:
            names = [k for k, v in LOCK_SETTINGS.items() if v in self.usable_locks]
            raise ValueError(
                f"migrator_lock {setting!r} is not available on {self.name}; "
                f"use one of: auto, {', '.join(names)}"
            )
        return kind


POSTGRES = Capabilities(
    name="PostgreSQL",
    transactional_ddl=WHOLE_FILE,
    lock_kind=SESSION_ADVISORY,
    foreign_keys_switch=False,
    lock_kinds=(SESSION_ADVISORY, LEASE),
    ddl_lock_timeout=True,
    statement_timeout=True,
    invalid_indexes=True,
    journal_dialects=("postgresql", "pg"),
    max_identifier_bytes=63,  # NAMEDATALEN - 1
)

SQLITE = Capabilities(
    name="SQLite",
    transactional_ddl=WHOLE_FILE,
    lock_kind=WRITE_TRANSACTION,
    foreign_keys_switch=True,
    journal_dialects=("sqlite",),
)

ENGINES = (SQLITE, POSTGRES)


def shortest_name_limit() -> tuple[int, str]:
    """(bytes, engine name) of the shortest identifier limit of any engine: a schema names
    things once for every dialect, so its names are held to it even where only SQLite runs."""
    return min((e.max_identifier_bytes, e.name) for e in ENGINES
               if e.max_identifier_bytes is not None)


@record
class FileMode:
    """How one file runs, and why (the reason is shown to the user)."""

    mode: str
    reason: str

    @property
    def as_written(self) -> bool:
        return self.mode == AS_WRITTEN


def run_mode(
    caps: Capabilities, marked: bool, controls: Sequence[tuple[int, str]]
) -> FileMode:
    """The mode of a file: marked or holding transaction control → as written.

    `controls` lists (file line, first words) of the file's transaction-control statements.
    """
    if marked:
        return FileMode(AS_WRITTEN, "its first line is -- agorschema:no-transaction")
    if controls:
        line, text = controls[0]
        return FileMode(AS_WRITTEN, f"it contains transaction control ({text} at line {line})")
    if caps.transactional_ddl != WHOLE_FILE:
        return FileMode(AS_WRITTEN, f"{caps.name} cannot run DDL in a transaction")
    return FileMode(WHOLE_FILE, "one transaction with its bookkeeping row")
