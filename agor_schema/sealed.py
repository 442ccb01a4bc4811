"""Sealed local files: what agorschema reads back from `.agorschema-cache/` must be its own.

The project cache holds pickles (code, when loaded) and undo records that say which files to
delete and what bytes to write back. A cloned repository can commit any of these (`git add
-f` passes the folder's `.gitignore`), so every such file is sealed: an HMAC-SHA256 over a
purpose label and the bytes, keyed by a random per-user secret kept outside every project
(`$XDG_CACHE_HOME/agorschema/key`, else `~/.cache/agorschema/key`, created 0600 and read
only when it is a regular file of the current user that nobody else can read). A file whose
seal does not verify is treated as absent before a single byte of it is interpreted. Without
a usable key (no home folder, a read-only one) nothing is sealed: the cache is off and undo
keeps no records.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import stat
from pathlib import Path

KEY_BYTES = 32
_MAGIC = b"agorschema-sealed-1\n"
_MAC_BYTES = 32


def key_path() -> Path | None:
    """Where the per-user key lives (None: no home folder to keep it in)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if base and os.path.isabs(base):
        return Path(base) / "agorschema" / "key"
    try:
        return Path.home() / ".cache" / "agorschema" / "key"
    except (RuntimeError, KeyError):
        return None


@functools.cache
def user_key() -> bytes | None:
    """The current user's key, created on first use; None when it cannot be had safely."""
    path = key_path()
    if path is None:
        return None
    key = _read_key(path)
    if key is None and not path.exists() and not path.is_symlink():
        try:
            _create_key(path)
        except OSError:
            return None
        key = _read_key(path)
    return key


def _read_key(path: Path) -> bytes | None:
    """The key file's bytes, if it is a regular 0600-ish file of this user (no symlink)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o077:
            return None
        if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
            return None
        data = os.read(fd, KEY_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data if len(data) == KEY_BYTES else None


def _create_key(path: Path) -> None:
    """Write a fresh key next to `path` and link it in place (a racing process's key wins)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                 0o600)
    try:
        os.write(fd, os.urandom(KEY_BYTES))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def available() -> bool:
    return user_key() is not None


def _mac(key: bytes, purpose: str, data: bytes) -> bytes:
    mac = hmac.new(key, purpose.encode("utf-8") + b"\0", hashlib.sha256)
    mac.update(data)
    return mac.digest()


def seal(purpose: str, data: bytes) -> bytes | None:
    """`data` with its seal in front (None: no key, so nothing may be written)."""
    key = user_key()
    if key is None:
        return None
    return _MAGIC + _mac(key, purpose, data) + data


def unseal(purpose: str, blob: bytes) -> bytes | None:
    """The sealed bytes, or None unless this user's key sealed them for `purpose`."""
    key = user_key()
    head = len(_MAGIC) + _MAC_BYTES
    if key is None or len(blob) < head or not blob.startswith(_MAGIC):
        return None
    data = blob[head:]
    if not hmac.compare_digest(blob[len(_MAGIC):head], _mac(key, purpose, data)):
        return None
    return data


def read(purpose: str, path: Path) -> bytes | None:
    """The unsealed content of `path`; None when missing, unreadable or not ours."""
    try:
        with open(path, "rb") as fh:
            blob = fh.read()
    except OSError:
        return None
    return unseal(purpose, blob)


def write(purpose: str, path: Path, data: bytes) -> bool:
    """Seal `data` into `path` (temp file + replace); False when there is no key."""
    from agor_schema.writes import replace_file

    blob = seal(purpose, data)
    if blob is None:
        return False
    replace_file(path, blob)
    return True


def ignore_folder(folder: Path) -> None:
    """Create `folder/.gitignore` ("*") unless something is there already; never through a
    planted symlink (O_EXCL does not follow one)."""
    try:
        fd = os.open(folder / ".gitignore",
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as fh:
        fh.write("*\n")


def no_symlink_below(root: Path, folder: Path) -> bool:
    """Whether `folder` and every folder between `root` and it is a real folder (or absent),
    not a symlink a repository planted to send writes and deletions elsewhere."""
    try:
        rel = folder.relative_to(root)
    except ValueError:
        return True  # not inside the project: a place the user chose
    path = root
    for part in rel.parts:
        path = path / part
        if path.is_symlink():
            return False
    return True
