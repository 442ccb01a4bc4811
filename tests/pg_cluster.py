"""Where the tests get a real PostgreSQL from (DESIGN.md section 8).

Sources, tried in order:

1. ``AGORSCHEMA_TEST_PG_URL``: an existing server; a fresh database is created in it for
   every test. ``DATABASE_URL`` is deliberately NOT read: the CLI takes its database from it,
   so a developer's environment must not redirect the tests (they clear it for the CLI).
2. Local server binaries (``pg_config --bindir``, ``/usr/lib/postgresql/*/bin`` or
   ``initdb`` on PATH): a throwaway cluster started once per test session. ``initdb``
   and ``postgres`` refuse to run as root, so under root the cluster runs as the
   ``postgres`` system user, in a data directory under /dev/shm that this user owns.
3. testcontainers, when a Docker engine answers.

Each source yields an *admin URL*; tests get a fresh empty database created from it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ENV_VARS = ("AGORSCHEMA_TEST_PG_URL",)
CLUSTER_USER = "postgres"


class NoPostgres(Exception):
    """No PostgreSQL source is usable; the message says what was tried."""


def connect(url: str, autocommit: bool = True) -> Any:
    """A psycopg 3 connection for catalog reads and setup in tests."""
    import psycopg

    return psycopg.connect(url, autocommit=autocommit, connect_timeout=10)


def with_database(url: str, dbname: str) -> str:
    """`url` with its database part replaced by `dbname`."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def create_database(admin_url: str) -> str:
    """Create an empty database with a unique name; return its URL."""
    name = "agorschema_test_" + uuid.uuid4().hex[:12]
    with connect(admin_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    """Drop a database made by `create_database`, disconnecting leftovers (PG >= 13)."""
    name = urlsplit(url).path.lstrip("/")
    with contextlib.suppress(Exception), connect(admin_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_bindir() -> Path | None:
    """A directory holding initdb, pg_ctl and postgres, if this machine has one."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            if out:
                candidates.append(Path(out))

    def version_key(path: str) -> float:
        try:
            return float(Path(path).parent.name)
        except ValueError:
            return 0.0

    for found in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version_key, reverse=True):
        candidates.append(Path(found))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(os.path.realpath(initdb)).parent)
    for cand in candidates:
        if all((cand / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return cand
    return None


# Runs beside the test session and stops the cluster if the session dies without cleaning
# up (killed by a timeout or SIGKILL), so no orphaned postgres keeps running.
WATCHDOG = """
import os, shutil, subprocess, sys, time
parent, pg_ctl, data, root, as_root = sys.argv[1:6]
while os.path.isdir(data):
    try:
        os.kill(int(parent), 0)
    except ProcessLookupError:
        cmd = [pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"]
        if as_root == "1":
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
        break
    time.sleep(1)
"""


class LocalCluster:
    """A throwaway PostgreSQL cluster: trust auth, 127.0.0.1 on a free port, fsync off."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        base = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
        self.root = Path(tempfile.mkdtemp(prefix="agorschema-pg-", dir=base))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self.started = False
        self.watchdog: subprocess.Popen[bytes] | None = None

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", CLUSTER_USER, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    def start(self) -> str:
        """initdb + pg_ctl start; return the admin URL."""
        self.sock.mkdir()
        if self.as_root:
            try:
                user = pwd.getpwnam(CLUSTER_USER)
            except KeyError:
                raise NoPostgres(
                    f"running as root and there is no {CLUSTER_USER!r} system user to own "
                    "a throwaway cluster (initdb refuses root)"
                ) from None
            for path in (self.root, self.sock):
                os.chown(path, user.pw_uid, user.pw_gid)
        init = self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
            "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C.UTF-8",
        )
        if init.returncode != 0:
            init = self._run(
                str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C",
            )
        if init.returncode != 0:
            raise NoPostgres(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
        opts = (
            f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        start = self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-o", opts, "-w", "-t", "60", "start",
        )
        if start.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise NoPostgres(f"pg_ctl start failed: {start.stderr.strip()} {log[-2000:]}")
        self.started = True
        self.watchdog = subprocess.Popen(
            [sys.executable, "-c", WATCHDOG, str(os.getpid()), str(self.bindir / "pg_ctl"),
             str(self.data), str(self.root), "1" if self.as_root else "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        """Stop the server (immediate: nothing in it is worth keeping) and delete its files."""
        if self.started:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                      "-w", "stop")
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)
        if self.watchdog is not None:
            self.watchdog.terminate()
            self.watchdog.wait(10)
            self.watchdog = None


def _wait_ready(url: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with connect(url) as conn:
                conn.execute("SELECT 1")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _docker_answers() -> bool:
    docker = shutil.which("docker")
    if docker is None and not os.environ.get("DOCKER_HOST"):
        return False
    try:
        import docker as docker_sdk  # testcontainers depends on it

        client = docker_sdk.from_env(timeout=5)
        client.ping()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def admin_url() -> Iterator[str]:
    """Yield an admin URL of a usable PostgreSQL server, cleaning up afterwards."""
    tried: list[str] = []
    for var in ENV_VARS:
        url = os.environ.get(var)
        if url:
            url = "postgresql://" + url.split("://", 1)[1] if "://" in url else url
            try:
                _wait_ready(url, 10.0)
            except Exception as exc:
                raise NoPostgres(f"{var} is set but the server does not answer: {exc}") from None
            yield url
            return
    tried.append(f"no {' / '.join(ENV_VARS)} set")

    bindir = find_bindir()
    if bindir is not None:
        cluster = LocalCluster(bindir)
        try:
            url = cluster.start()
            _wait_ready(url)
        except Exception as exc:
            cluster.stop()
            tried.append(f"local cluster from {bindir} failed: {exc}")
        else:
            try:
                yield url
            finally:
                cluster.stop()
            return
    else:
        tried.append("no server binaries (pg_config --bindir, /usr/lib/postgresql/*/bin)")

    if _docker_answers():
        try:
            from testcontainers.postgres import PostgresContainer
        except ImportError:
            tried.append("Docker answers but testcontainers is not installed")
        else:
            with PostgresContainer("postgres:16-alpine", driver=None) as container:
                url = container.get_connection_url()
                url = "postgresql://" + url.split("://", 1)[1]
                _wait_ready(url)
                yield url
            return
    else:
        tried.append("no Docker engine answers (testcontainers)")
    raise NoPostgres("no PostgreSQL available: " + "; ".join(tried))
