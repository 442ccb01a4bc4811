"""All-or-nothing file writes for the commands that change a project (compile, new, import,
pull, undo).

Before writing, the bytes of every target are saved (absent ones, and the folders that
would be made for them, are noted); when anything fails part way (a folder where a file
should be, an immutable file, a full disk), every target is put back as it was and the
error is raised. Each file is written through a temp file and a rename, so no reader (and
no crash) ever sees half a file.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path


def replace_file(path: Path, data: bytes) -> None:
    """Write `path` through a fresh temp file and a rename; nothing planted under the temp
    name (a symlink) is written through."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                 0o666)
    try:
        with contextlib.suppress(OSError):  # a replaced file keeps its permissions
            os.fchmod(fd, stat.S_IMODE(os.stat(path).st_mode))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # name the file the user knows, not the temp file
            exc.filename, exc.filename2 = str(path), None
        raise


def write_file(path: Path, data: bytes) -> None:
    """`replace_file`, making the folders on the way."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, data)


def save_before_writing(root: Path, targets: Iterable[Path]) -> dict[Path, bytes | None]:
    """The bytes each target holds now (None: absent, with the folders that would be made);
    refuses a target that resolves outside the project. A target that is something else
    than a file (a folder) is left alone: writing it fails, putting back has nothing to do."""
    from agor_schema.errors import InputError

    base = root.resolve()
    saved: dict[Path, bytes | None] = {}
    for path in targets:
        resolved = path.resolve()
        if base not in resolved.parents:
            raise InputError(f"{path} resolves to {resolved}, outside the project {root} "
                             "(a symlink?): agorschema writes only inside the project; "
                             "nothing was written", file=str(path))
        if path.is_file():
            saved[path] = path.read_bytes()
        elif not path.exists() and not path.is_symlink():
            saved[path] = None
        for parent in path.parents:
            if parent.exists() or parent in saved:
                break
            saved[parent] = None
    return saved


def put_back(saved: dict[Path, bytes | None]) -> None:
    """Undo a failed write: restore saved bytes, remove created files and empty folders."""
    for path in sorted(saved, key=lambda p: len(p.parts)):  # folders first, for restores
        data = saved[path]
        if data is not None:
            with contextlib.suppress(OSError):
                if not path.is_file() or path.read_bytes() != data:
                    write_file(path, data)
    for path in sorted(saved, key=lambda p: len(p.parts), reverse=True):
        if saved[path] is None:
            with contextlib.suppress(OSError):
                if path.is_dir() and not path.is_symlink():
                    path.rmdir()
                elif path.is_file() or path.is_symlink():
                    path.unlink()


@contextlib.contextmanager
def all_or_nothing(root: Path, targets: Iterable[Path]) -> Iterator[dict[Path, bytes | None]]:
    """Run the body's writes of `targets`; on any exception put them all back first."""
    saved = save_before_writing(root, targets)
    try:
        yield saved
    except BaseException:
        put_back(saved)
        raise
