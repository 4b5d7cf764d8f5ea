"""Atomic outputs: write to a temporary name in the same folder, then rename.

Folders are built under a temporary sibling ``.<name>.tmp-<hex>`` that holds an owner file
(:data:`OWNER_FILE`: process id, host, start time) until it is swapped in; a folder whose owner
process is gone is what a killed run left, and :func:`remove_stale` removes it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

#: the owner file inside a temporary folder (pid, host, created): what marks it as ours
OWNER_FILE = ".somnomyo-owner.json"
#: a temporary folder whose owner runs on another host is treated as dead after this long (a
#: shared file system cannot tell whether a remote process still runs)
STALE_AFTER_S = 24 * 3600.0
_HEX = 12


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    On error the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp_path, path)
    except OSError as err:  # "File too large", "No space left on device": name the file it hit
        if err.filename is None:
            err.filename = str(path)
        raise
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def _leftover_pattern(path: Path, old_prefix: str = ".") -> re.Pattern[str]:
    """Names of the temporary (``.<name>.tmp-<hex>``) and replaced (``.<name>.old-<hex>``) folders
    of ``path``."""
    return re.compile(rf"^{re.escape(old_prefix)}{re.escape(path.name)}\.(tmp|old)-[0-9a-f]{{{_HEX}}}$")


def replace_dir(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, old_prefix: str = ".") -> None:
    """Move the finished folder ``src`` onto ``dst``, replacing an existing ``dst`` only after the
    move (the old one is renamed to ``<old_prefix><name>.old-<hex>`` first, then removed)."""
    src, dst = Path(src), Path(dst)
    if dst.exists():
        old = dst.with_name(f"{old_prefix}{dst.name}.old-{uuid.uuid4().hex[:_HEX]}")
        os.replace(dst, old)
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dst)


def make_temp_dir(path: str | os.PathLike[str]) -> Path:
    """Create the temporary sibling ``.<name>.tmp-<hex>`` of ``path`` with its owner file inside."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:_HEX]}")
        try:
            tmp.mkdir(mode=0o700)
            break
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue
    owner = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    (tmp / OWNER_FILE).write_text(json.dumps(owner), encoding="utf-8")
    return tmp


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # another user's process: alive
        return True
    return True


def _owner_gone(folder: Path) -> bool:
    """True if the owner file of ``folder`` names a process that no longer runs (or is unreadable:
    a run killed while writing it)."""
    try:
        owner = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
        pid, host = int(owner["pid"]), str(owner["host"])
    except (OSError, ValueError, KeyError, TypeError):
        try:  # no readable owner file: a folder just created, or one killed at birth
            return time.time() - folder.stat().st_mtime > 60.0
        except OSError:
            return False
    if host == socket.gethostname():
        return not _pid_alive(pid)
    try:
        return time.time() - (folder / OWNER_FILE).stat().st_mtime > STALE_AFTER_S
    except OSError:
        return False


def remove_stale(path: str | os.PathLike[str], *, old_prefix: str = ".") -> list[Path]:
    """Remove what a killed run into ``path`` left beside it; return what was removed.

    * ``.<name>.tmp-<hex>`` folders holding :data:`OWNER_FILE` whose process is gone;
    * ``.<name>.old-<hex>`` folders (an earlier ``path`` being replaced when the run died):
      removed when ``path`` exists; when it does not, the newest is put back as ``path``.

    Folders of a run still going on (its process alive) and anything not matching the names are
    left alone.
    """
    path = Path(path)
    parent = path.parent
    if not parent.is_dir():
        return []
    pattern = _leftover_pattern(path, old_prefix)
    removed: list[Path] = []
    olds: list[Path] = []
    for p in parent.iterdir():
        m = pattern.match(p.name)
        if m is None or p.is_symlink() or not p.is_dir():
            continue
        if m.group(1) == "old":
            olds.append(p)
        elif (p / OWNER_FILE).exists() and _owner_gone(p):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    if olds and not path.exists():
        newest = max(olds, key=lambda p: p.stat().st_mtime)
        os.replace(newest, path)
        olds.remove(newest)
    for p in olds:
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str], *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary directory ``.<name>.tmp-<hex>`` beside ``path``; move it onto ``path`` on
    success (one rename; an existing ``path`` is replaced only then).

    Nothing is left at ``path`` if the body raises (no half-written output folder). The owner
    file inside the temporary folder is removed once the folder is in place.
    """
    path = Path(path)
    tmp = make_temp_dir(path)
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists")
        replace_dir(tmp, path)
        with contextlib.suppress(OSError):
            (path / OWNER_FILE).unlink()
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
