"""The review journal: one scorer's edits, append-only, durable before they are acknowledged.

``review/<scorer-slug>/journal.jsonl`` inside a results folder holds one JSON object per line
(docs/review.md, "Provenance"). :meth:`Journal.append` writes a line, flushes it and calls
``os.fsync`` before it returns, so an edit the server has acknowledged survives a ``kill -9`` or
a power cut. :func:`read_journal` replays a journal; a torn last line (a crash in the middle of a
write) is ignored with a warning, any other unreadable line is an error. The journal is locked
(``fcntl.flock``) while a server writes it, so that two servers cannot interleave one layer.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

from somnomyo._logging import logger
from somnomyo.errors import SomnomyoError

__all__ = ["Journal", "JOURNAL_NAME", "REVIEW_DIR", "OPS", "read_journal", "scorer_slug", "journal_path"]

REVIEW_DIR = "review"
JOURNAL_NAME = "journal.jsonl"
FORMAT_VERSION = 1
OPS = ("status", "adjust", "add", "undo")
_SLUG_MAX = 64


def scorer_slug(name: str) -> str:
    """Folder name of a scorer's layer: lower case, runs of characters other than ``a-z0-9``
    replaced by ``-`` ("A. Tech" -> "a-tech"). Raises SomnomyoError for a name without any."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")[:_SLUG_MAX].strip("-")
    if not slug or slug == "automatic":
        raise SomnomyoError(f"--scorer {name!r}: a scorer name needs a letter or digit and may not be 'automatic'")
    return slug


def journal_path(folder: str | os.PathLike[str], slug: str) -> Path:
    return Path(folder) / REVIEW_DIR / slug / JOURNAL_NAME


def now_iso() -> str:
    """The current time, ISO 8601 in UTC."""
    return dt.datetime.now(dt.timezone.utc).isoformat()


def read_journal(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every complete entry of a journal, in order (missing file: none).

    A last line without its newline that is not valid JSON is a write torn by a crash: it was
    never acknowledged and is ignored (logged). Any other line that is not a JSON object with
    ``seq`` and a known ``op`` raises SomnomyoError naming the file and the line.
    """
    path = Path(path)
    if not path.is_file():
        return []
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    torn = lines[-1] if lines and lines[-1] else b""
    out: list[dict[str, Any]] = []
    for n, line in enumerate(lines[:-1], start=1):
        if not line.strip():
            continue
        out.append(_entry(line, path, n))
    if torn.strip():
        try:
            out.append(_entry(torn, path, len(lines)))
        except SomnomyoError:
            logger.warning("%s: the last line is incomplete (a write interrupted by a crash); ignored", path)
    return out


def _entry(line: bytes, path: Path, n: int) -> dict[str, Any]:
    try:
        obj = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SomnomyoError(f"{path}: line {n} is not JSON; the journal is damaged") from None
    if not isinstance(obj, dict) or obj.get("op") not in OPS or not isinstance(obj.get("seq"), int):
        raise SomnomyoError(
            f"{path}: line {n} is not a review journal entry (needs 'seq' and 'op' one of {', '.join(OPS)})"
        )
    return obj


class Journal:
    """One scorer's journal opened for appending (locked until :meth:`close`)."""

    def __init__(self, path: str | os.PathLike[str], *, scorer: str, readonly: bool = False) -> None:
        self.path = Path(path)
        self.scorer = scorer
        self._fd = -1
        if readonly:  # read the entries only (an export; no lock, nothing written)
            self.entries = read_journal(self.path)
            self.next_seq = max((e["seq"] for e in self.entries), default=0) + 1
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_torn_tail()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # no fcntl (Windows): no lock
            pass
        except OSError:
            os.close(self._fd)
            raise SomnomyoError(
                f"{self.path}: another 'somnomyo review' is editing this scorer's layer; close it first"
            ) from None
        _fsync_dir(self.path.parent)
        self.entries = read_journal(self.path)
        self.next_seq = max((e["seq"] for e in self.entries), default=0) + 1

    def _repair_torn_tail(self) -> None:
        """Cut a torn last line (no newline; a crash during a write) so the next entry starts on a
        line of its own. Only an unterminated tail is cut: it was never acknowledged."""
        if not self.path.is_file():
            return
        with open(self.path, "rb+") as fh:
            data = fh.read()
            if data and not data.endswith(b"\n"):
                cut = data.rfind(b"\n") + 1
                logger.warning(
                    "%s: removing an incomplete last line left by a crash (%d bytes)", self.path, len(data) - cut
                )
                fh.truncate(cut)
                fh.flush()
                os.fsync(fh.fileno())

    def append(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Add ``seq``, ``v``, ``time``, ``scorer`` to ``entry``, write it as one line and fsync.
        Returns the entry as written."""
        full = {"v": FORMAT_VERSION, "seq": self.next_seq, "time": now_iso(), "scorer": self.scorer, **entry}
        return self.append_entry(full)

    def append_entry(self, full: dict[str, Any]) -> dict[str, Any]:
        """Write a complete entry (its ``seq`` must be :attr:`next_seq`) as one line and fsync."""
        if self._fd < 0:
            raise SomnomyoError(f"{self.path}: the journal is open read-only")
        if full.get("seq") != self.next_seq:
            raise ValueError(f"journal entry seq {full.get('seq')!r}; expected {self.next_seq}")
        data = (json.dumps(full, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n").encode("utf-8")
        end = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            os.fsync(self._fd)
        except BaseException:
            try:  # no half line left behind for the next entry (disk full, ...)
                os.ftruncate(self._fd, end)
            except OSError:
                pass
            raise
        self.entries.append(full)
        self.next_seq += 1
        return full

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # releases the lock
            self._fd = -1

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fsync_dir(path: Path) -> None:
    """Make a new file's directory entry durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
