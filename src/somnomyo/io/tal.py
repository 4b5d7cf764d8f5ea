"""EDF+ Time-stamped Annotation Lists (TAL), EDF+ specification section 2.2."""

from __future__ import annotations

import re

_TAL = re.compile(rb"([+-]\d+(?:\.\d*)?)(?:\x15(\d+(?:\.\d*)?))?\x14(.*?)\x14\x00", re.DOTALL)


def parse_tal(raw: bytes) -> list[tuple[float, float, str]]:
    """Parse the bytes of EDF+ annotation signal(s) into ``(onset, duration, text)``.

    Each TAL is ``+onset[\\x15duration]\\x14text\\x14[text\\x14...]\\x00``. The record
    time-keeping TAL (empty first text) is returned with text ``""`` only when it is
    not followed by annotations; callers drop empty texts. Duration is 0 when absent.
    Text is decoded as UTF-8 (invalid bytes replaced).
    """
    out: list[tuple[float, float, str]] = []
    for m in _TAL.finditer(raw):
        onset = float(m.group(1))
        duration = float(m.group(2)) if m.group(2) else 0.0
        for text in m.group(3).split(b"\x14"):
            t = text.decode("utf-8", errors="replace").strip()
            if t:
                out.append((onset, duration, t))
    return out


def record_onsets(raw_records: list[bytes]) -> list[float]:
    """Onset (s) of each data record from the first TAL of its annotation signal (EDF+D)."""
    onsets = []
    for rec in raw_records:
        m = re.match(rb"\x00*([+-]\d+(?:\.\d*)?)\x14\x14", rec)
        if m is None:
            raise ValueError("data record without a time-keeping annotation")
        onsets.append(float(m.group(1)))
    return onsets


def encode_tal(onset: float, duration: float | None, texts: list[str]) -> bytes:
    """Encode one TAL (used by the writer)."""
    head = f"{onset:+.6f}".rstrip("0").rstrip(".")
    if not head[1:]:
        head += "0"
    if duration is not None and duration > 0:
        d = f"{duration:.6f}".rstrip("0").rstrip(".")
        head += "\x15" + d
    body = "".join(t.replace("\x14", " ").replace("\x00", " ") + "\x14" for t in texts)
    return (head + "\x14" + body).encode("utf-8") + b"\x00"
