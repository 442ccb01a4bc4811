"""The project lock: every command that writes into the project (compile, new, import, undo, init)
holds it, so two runs at the same moment cannot interleave their reads and writes of
generated/, the migration folders and the manifest (the second waits, then sees the first's
result).

The lock is an OS file lock (flock) on `<project root>/.agorschema.lock`, git-ignored by
`agorschema init`. The file exists only while a command holds it: the holder removes it before
releasing, and a waiter that then acquires the removed file (not the one the path names now)
starts again, so removal never lets two holders in. A process that dies releases its lock
with its file descriptor (and leaves the empty file, which the next run reuses).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".agorschema.lock"
POLL_SECONDS = 0.05


class ProjectLockTimeout(Exception):
    """Another agorschema command kept the project lock for longer than the timeout."""


def lock_path(root: Path) -> Path:
    return Path(root) / LOCK_NAME


@contextmanager
def project_lock(root: Path, timeout: float = 60.0) -> Iterator[Path]:
    """Hold the project's write lock for the `with` block; wait up to `timeout` seconds."""
    path = lock_path(root)
    deadline = time.monotonic() + timeout
    fd = _locked_fd(path, deadline, timeout)
    try:
        yield path
    finally:
        try:  # removed while still held: a waiter then finds a new file and retries
            os.unlink(path)
        except OSError:
            pass
        _release(fd)
        os.close(fd)


def _locked_fd(path: Path, deadline: float, timeout: float) -> int:
    """An fd holding the lock on the file that `path` names right now. A waiter whose file
    was removed by the previous holder (its fd points at an unlinked inode) starts again."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _acquire(fd, path, deadline, timeout)
        except BaseException:
            os.close(fd)
            raise
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        held = os.fstat(fd)
        if current is not None and (current.st_ino, current.st_dev) == (held.st_ino, held.st_dev):
            return fd
        _release(fd)
        os.close(fd)


def _acquire(fd: int, path: Path, deadline: float, timeout: float) -> None:
    while not _try_lock(fd):
        if time.monotonic() >= deadline:
            raise ProjectLockTimeout(
                f"another agorschema command has held the project lock {path} for over "
                f"{timeout:g} s; wait for it to finish and retry")
        time.sleep(POLL_SECONDS)


try:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _release(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _release(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
