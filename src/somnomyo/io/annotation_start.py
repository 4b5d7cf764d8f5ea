"""Does an annotation or hypnogram file belong to the recording? Compare their start times.

Files that carry a start date-time of their own:

* EDF/EDF+/BDF annotation files (hypnograms of Sleep-EDF, HMC scorings): the header's start
  date and time (EDF spec, Kemp et al. 1992; EDF+ ``Startdate``, Kemp & Olivan 2003);
* NSRR XML: the ``ClockTime`` of its "Recording Start Time" event (``dd.mm.yy hh.mm.ss``; NSRR
  writes the date as ``00.00.00``, so only the time of day is compared then).

CSV/TSV and stage-per-line files carry none and are not checked. A start more than
``tolerance_s`` away from the recording's (``settings.quality.annotation_start_tolerance_s``)
means the file was scored on another recording, or counts its onsets from another time 0:
:func:`check_start` refuses it with one line naming both times.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

from somnomyo.errors import AnnotationError, SomnomyoError

__all__ = ["FileStart", "file_start", "check_start"]

_CLOCK = re.compile(r"^\s*(?:(\d{1,2})\.(\d{1,2})\.(\d{2,4})\s+)?(\d{1,2})[.:](\d{1,2})[.:](\d{1,2})\s*$")
_DAY_S = 86400.0


class FileStart:
    """A start time read from a file: ``when`` (a datetime; its date is meaningless when
    ``has_date`` is False) and what it was read from (``what``)."""

    def __init__(self, when: dt.datetime, *, has_date: bool, what: str) -> None:
        self.when, self.has_date, self.what = when, has_date, what

    def text(self) -> str:
        return self.when.isoformat(sep=" ") if self.has_date else self.when.strftime("%H:%M:%S") + " (time of day)"


def _kind(path: Path) -> str | None:
    ext = path.suffix.lower()
    if ext in (".edf", ".bdf", ".rec"):
        return "edf"
    if ext == ".xml":
        return "xml"
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return None
    if head[:8] in (b"0       ", b"\xffBIOSEMI"):
        return "edf"
    return "xml" if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") else None


def _xml_start(path: Path) -> FileStart | None:
    from somnomyo.io.annotation_readers import _parse_xml, _text

    root = _parse_xml(path)
    if root.tag != "PSGAnnotation":
        return None
    for ev in root.iter("ScoredEvent"):
        if _text(ev, "EventConcept").lower() != "recording start time":
            continue
        m = _CLOCK.match(_text(ev, "ClockTime"))
        if m is None:
            return None
        d, mo, y, hh, mm, ss = m.groups()
        try:
            clock = dt.time(int(hh), int(mm), int(ss))
        except ValueError:
            return None
        when, has_date = dt.datetime.combine(dt.date(2000, 1, 1), clock), False
        if d is not None and int(d) > 0 and int(mo) > 0:
            year = int(y) + (0 if len(y) == 4 else 1900 if int(y) >= 85 else 2000)
            try:
                when, has_date = dt.datetime.combine(dt.date(year, int(mo), int(d)), clock), True
            except ValueError:
                pass
        return FileStart(when, has_date=has_date, what="its Recording Start Time ClockTime")
    return None


def file_start(path: str | os.PathLike[str]) -> FileStart | None:
    """The start date-time ``path`` declares (EDF header, NSRR ClockTime), or None."""
    p = Path(path)
    kind = _kind(p)
    if kind == "edf":
        from somnomyo.io.edf import read_header

        try:
            start = read_header(p).start
        except SomnomyoError:
            return None  # the annotation reader says what is wrong with the file
        return None if start is None else FileStart(start, has_date=True, what="its header")
    if kind == "xml":
        try:
            return _xml_start(p)
        except SomnomyoError:
            return None
    return None


def _apart(seconds: float) -> str:
    s = abs(seconds)
    days, rest = divmod(int(round(s)), 86400)
    h, rest = divmod(rest, 3600)
    m, sec = divmod(rest, 60)
    parts = [f"{days} d"] if days else []
    parts += [f"{h} h"] if h else []
    parts += [f"{m} min"] if m else []
    parts += [f"{sec} s"] if sec or not parts else []
    return " ".join(parts) + (" later" if seconds > 0 else " earlier")


def check_start(
    recording_start: dt.datetime | None,
    recording: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    tolerance_s: float,
) -> None:
    """Raise :class:`AnnotationError` when ``path`` declares a start more than ``tolerance_s``
    away from ``recording_start`` (both must be known; a time of day alone is compared modulo
    24 h). The message names both times and the options that accept the file."""
    if recording_start is None:
        return
    fs = file_start(path)
    if fs is None:
        return
    rec = recording_start.replace(tzinfo=None)
    if fs.has_date:
        diff = (fs.when - rec).total_seconds()
    else:
        diff = (fs.when - dt.datetime.combine(fs.when.date(), rec.time())).total_seconds()
        diff = (diff + _DAY_S / 2) % _DAY_S - _DAY_S / 2
    if abs(diff) <= tolerance_s:
        return
    rec_text = rec.isoformat(sep=" ") if fs.has_date else rec.strftime("%H:%M:%S")
    raise AnnotationError(
        f"starts at {fs.text()} ({fs.what}) but the recording {Path(recording)} starts at {rec_text}: "
        f"{_apart(diff)}, more than the {tolerance_s:g} s allowed, so it may belong to another recording; "
        f"give --annotation-offset SECONDS if its time 0 lies SECONDS into the recording, or "
        f"--force-annotations to use it as it is",
        path,
    )
