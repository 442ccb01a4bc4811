"""Compute independent items of work in forked children, the rest in this process.

`compile` does the same work once per dialect after a shared part (settings, folder checks,
the YAML, the imports). A child forked after that part inherits all of it and computes the
first dialect while this process computes the second: on two CPUs the wall time of the
dialects is that of the slower one, not their sum. The child's result comes back pickled
through a pipe.

Nothing depends on a child: one that crashed, was killed, sent bytes that do not unpickle,
sent something the caller does not accept, or took far too long is simply computed again
here, so the result is always the one the sequential path gives. A child prints nothing
(its stdout and stderr go to /dev/null), writes no files (it only computes) and leaves with
os._exit (no atexit handlers, no flushed buffers, no `finally` of the caller). SIGINT,
SIGTERM and SIGHUP in this process kill the children before the signal takes its course.

`AGORSCHEMA_JOBS=1` turns forking off; `AGORSCHEMA_JOBS=N` forks up to N processes whatever
the CPUs and the amount of work (the tests use it to fork for tiny schemas).
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from agor_schema.errors import InputError

T = TypeVar("T")
R = TypeVar("R")

JOBS_ENV = "AGORSCHEMA_JOBS"
# the signals that end this process: its children must not outlive it
_ENDING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# a child gets at least this long after this process finished its own share, and at least
# this many times that share's time, before it is given up (and its item computed here)
_GRACE_SECONDS = 5.0
_GRACE_FACTOR = 4.0


def processes(items: int, worth_it: bool = True) -> int:
    """How many processes to compute `items` independent items with (1: no fork).

    Forking needs os.fork and no other thread in this process (a child of a threaded
    process can inherit a lock some other thread held). Unless AGORSCHEMA_JOBS asks for
    more processes, it also needs a second usable CPU, a machine not loaded beyond twice its
    CPUs, and work `worth_it` (for little work the fork and the pages it copies cost more
    than they save)."""
    limit = _jobs_setting()  # (checked even when there is nothing to fork for)
    if items < 2 or limit == 1 or not hasattr(os, "fork"):
        return 1
    threading = sys.modules.get("threading")  # not imported: no thread was started by it
    if threading is not None and (threading.active_count() > 1
                                  or threading.current_thread() is not threading.main_thread()):
        return 1
    if any(signal.getsignal(sig) is None for sig in _ENDING):  # a handler we cannot restore
        return 1
    if limit is not None:
        return min(items, limit)
    if not worth_it:
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if not cpus or cpus < 2 or _busy(cpus):
        return 1
    return min(items, cpus)


def _busy(cpus: int) -> bool:
    """Whether the machine is too busy for a child to find a free CPU: the scheduler shares
    the CPUs among sessions fairly (autogroups), so a child would only take turns with this
    process and add the fork's cost (about a tenth more CPU)."""
    try:
        return os.getloadavg()[0] >= 2 * cpus
    except (AttributeError, OSError):
        return False


def _jobs_setting() -> int | None:
    """AGORSCHEMA_JOBS as a positive number, None when unset; anything else is refused."""
    raw = os.environ.get(JOBS_ENV, "").strip()
    if not raw:
        return None
    if raw.isdigit() and int(raw) >= 1:
        return int(raw)
    raise InputError(f"{JOBS_ENV}={raw!r} is not a positive whole number (1 computes the "
                     "dialects one after the other in one process)", field=JOBS_ENV)


def compute_all(items: Sequence[T], compute: Callable[[T], R], *,
                in_child: Callable[[T], Any], from_child: Callable[[T, Any], R | None],
                worth_forking: bool = True) -> list[R]:
    """`[compute(item) for item in items]`, the first items computed in forked children.

    A child runs `in_child(item)` and sends back what it returns (None: send nothing);
    this process turns it into a result with `from_child(item, payload)`, which returns
    None (or raises) to refuse it. A refused or missing result is `compute(item)` here."""
    count = processes(len(items), worth_forking)
    if count == 1:
        return [compute(item) for item in items]
    # the children take the first items, this process the last one: a child also pickles
    # its result, so it gets the lighter item when the caller lists the heavier one last
    theirs, mine = items[:count - 1], items[count - 1:]
    import gc

    gc.freeze()  # the collectors leave what exists now alone: fewer pages copied on write
    try:
        return _compute_all(mine, theirs, compute, in_child, from_child)
    finally:
        gc.unfreeze()  # (a long-lived caller's garbage must stay collectable)


def _compute_all(mine: Sequence[T], theirs: Sequence[T], compute: Callable[[T], R],
                 in_child: Callable[[T], Any], from_child: Callable[[T, Any], R | None],
                 ) -> list[R]:
    children: list[_Child] = []
    with _children_end_with_us(children):
        forks = {index: _fork(lambda item=item: in_child(item), children)
                 for index, item in enumerate(theirs)}
        started = time.monotonic()
        mine_done = [compute(item) for item in mine]
        deadline = time.monotonic() + max(_GRACE_SECONDS,
                                          _GRACE_FACTOR * (time.monotonic() - started))
        results = []
        for index, item in enumerate(theirs):
            child = forks[index]
            result = None if child is None else \
                _accepted(item, child.payload(deadline), from_child)
            results.append(result if result is not None else compute(item))
    return results + mine_done


def _accepted(item: T, payload: Any, from_child: Callable[[T, Any], R | None]) -> R | None:
    """The caller's result from a child's payload, or None when there is none to take."""
    if payload is None:
        return None
    try:
        return from_child(item, payload)
    except Exception:  # garbage from the child: computed again here
        return None


@dataclass
class _Child:
    """A forked child and the read end of the pipe it sends its pickled payload through."""

    pid: int
    fd: int
    done: bool = False

    def payload(self, deadline: float) -> Any:
        """The unpickled payload; None when the child sent none, failed, or is too late."""
        data = self._read(deadline)
        status = self._reap(kill=data is None)
        if data is None or not data or status != 0:
            return None
        try:
            return pickle.loads(data)
        except Exception:
            return None

    def _read(self, deadline: float) -> bytes | None:
        import select

        chunks = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None  # too late: given up
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)

    def _reap(self, *, kill: bool) -> int | None:
        """Wait for the child (killing it first if asked); its exit status."""
        if self.done:
            return None
        self.done = True
        os.close(self.fd)
        if kill:
            _kill(self.pid)
        try:
            _pid, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            return None
        return os.waitstatus_to_exitcode(status)

    def stop(self) -> None:
        self._reap(kill=True)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _fork(work: Callable[[], Any], children: list[_Child]) -> _Child | None:
    """Start a child that runs `work` and sends back its pickled result; add it to
    `children`. None when the system cannot fork now (the item is computed here).

    The ending signals are blocked across the fork, so that neither process can be
    interrupted before `children` holds the child and the child has its own handlers."""
    read, write = os.pipe()
    signal.pthread_sigmask(signal.SIG_BLOCK, _ENDING)
    try:
        try:
            pid = os.fork()
        except OSError:  # no memory or too many processes: not an error of the compile
            os.close(read)
            os.close(write)
            return None
        if pid == 0:
            _child_main(read, write, work)
        os.close(write)
        children.append(_Child(pid, read))
        return children[-1]
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _ENDING)


def _child_main(read: int, write: int, work: Callable[[], Any]) -> NoReturn:
    """The child: die at once on an ending signal, compute, send, and leave with os._exit
    whatever happens, so that no code of the parent's call stack runs a second time."""
    status = 70
    try:
        for sig in _ENDING:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _ENDING)
        os.close(read)
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
        payload = work()
        if payload is not None:
            data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(data)
            while view:
                view = view[os.write(write, view):]
        status = 0
    finally:
        os._exit(status)  # also on any exception: it never reaches the parent's code


@contextmanager
def _children_end_with_us(children: list[_Child]) -> Iterator[None]:
    """Kill and reap the children however this block is left, and before an ending signal
    (SIGTERM, SIGHUP; SIGINT's KeyboardInterrupt leaves the block) takes its course."""

    def end(signum: int, frame: Any) -> None:
        for child in children:
            child.stop()
        signal.signal(signum, previous[signum])
        signal.raise_signal(signum)  # as if we had not been here: the previous handling

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    for sig in previous:
        signal.signal(sig, end)
    try:
        yield
    finally:
        for child in children:
            child.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
