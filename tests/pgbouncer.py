"""A real PgBouncer in front of the test PostgreSQL, like the cluster in pg_cluster.py.

PgBouncer (Debian's ``pgbouncer`` package; ``.ci/run`` installs it) runs as the ``postgres``
user when the tests run as root, with its config, pid file and socket directory in a
private folder under /dev/shm, on a free port of 127.0.0.1. Every database of the server
is reachable through it (``* =`` wildcard), so a test's fresh database works unchanged.
The pool is deliberately smaller than the number of test clients, so that clients really
share server connections in ``transaction`` mode.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

CANDIDATES = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer")


class NoPgBouncer(Exception):
    """No pgbouncer binary, or it did not start; the message says why."""


def find_pgbouncer() -> str | None:
    found = shutil.which("pgbouncer")
    if found:
        return found
    return next((c for c in CANDIDATES if os.access(c, os.X_OK)), None)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def through(url: str, port: int) -> str:
    """`url` (a database of the test server) rewritten to go through PgBouncer's port."""
    parts = urlsplit(url)
    netloc = f"{parts.username}@127.0.0.1:{port}" if parts.username else f"127.0.0.1:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@contextlib.contextmanager
def pgbouncer(server_url: str, pool_mode: str, pool_size: int = 4) -> Iterator[int]:
    """Run PgBouncer in `pool_mode` in front of `server_url`'s server; yield its port."""
    binary = find_pgbouncer()
    if binary is None:
        raise NoPgBouncer("pgbouncer is not installed (apt-get install pgbouncer)")
    server = urlsplit(server_url)
    base = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
    root = Path(tempfile.mkdtemp(prefix=f"agorschema-pgb-{pool_mode}-", dir=base))
    port = _free_port()
    ini = root / "pgbouncer.ini"
    ini.write_text(
        "[databases]\n"
        f"* = host={server.hostname} port={server.port}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\n"
        f"unix_socket_dir = {root}\n"
        f"pidfile = {root / 'pgbouncer.pid'}\nlogfile = {root / 'pgbouncer.log'}\n"
        "auth_type = trust\n"
        f"auth_file = {root / 'users.txt'}\n"
        f"pool_mode = {pool_mode}\n"
        f"default_pool_size = {pool_size}\nmin_pool_size = 0\nreserve_pool_size = 0\n"
        "max_client_conn = 500\nmax_db_connections = 0\n"
        "server_reset_query = DISCARD ALL\n"
        "ignore_startup_parameters = \n"
    )
    (root / "users.txt").write_text('"postgres" ""\n')
    cmd = [binary, str(ini)]
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for path in (root, ini, root / "users.txt"):
            os.chown(path, user.pw_uid, user.pw_gid)
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    watchdog = subprocess.Popen(
        [sys.executable, "-c", WATCHDOG, str(os.getpid()), str(proc.pid), str(root)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_listening(port, proc, root)
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)  # SIGINT: shut down now, close connections
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)
        watchdog.terminate()
        watchdog.wait(10)


# Stops PgBouncer if the test session dies without cleaning up (killed by a timeout).
WATCHDOG = """
import os, shutil, signal, sys, time
parent, child, root = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
while True:
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        try:
            os.killpg(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
        shutil.rmtree(root, ignore_errors=True)
        break
    time.sleep(1)
"""


def _wait_listening(port: int, proc: subprocess.Popen[bytes], root: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = (root / "pgbouncer.log")
            text = log.read_text(errors="replace") if log.exists() else ""
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise NoPgBouncer(f"pgbouncer exited with {proc.returncode}: {err} {text[-1500:]}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise NoPgBouncer("pgbouncer did not listen within 15 s")
