"""Write EDF+C / BDF+C files (signals plus an EDF Annotations channel).

Used by the simulator and by exports. Follows the EDF+ specification
(Kemp & Olivan 2003): 256-byte fixed header, 256 bytes per signal, little-endian
16-bit (EDF) or 24-bit (BDF) samples, annotations as TALs in an
"EDF Annotations" / "BDF Annotations" signal.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from somnomyo.io.atomic import atomic_path
from somnomyo.io.recording import Signal
from somnomyo.io.tal import encode_tal


def _field(value: object, width: int) -> bytes:
    s = str(value)
    b = s.encode("ascii", errors="replace")[:width]
    return b.ljust(width, b" ")


def _num(x: float, width: int = 8) -> str:
    """Format a number to fit ``width`` ASCII characters (EDF header numeric fields)."""
    if float(x).is_integer() and len(str(int(x))) <= width:
        return str(int(x))
    for prec in range(width, -1, -1):
        s = f"{x:.{prec}f}"
        if len(s) <= width:
            return s
    raise ValueError(f"{x} does not fit in {width} characters")


def _range_up(m: float) -> float:
    """Smallest number >= ``m`` whose negative fits an 8-character header field (no clipping)."""
    for _ in range(60):
        r = abs(float(_num(-m)))
        if r >= m:
            return r
        m = m + max(abs(m) * 1e-7, abs(m - r) * 2, 1e-300)
    return m


def write_edf(
    path: str | os.PathLike[str],
    signals: Sequence[Signal],
    *,
    start: dt.datetime | None = None,
    annotations: Sequence[tuple[float, float, str]] = (),
    record_duration: float = 1.0,
    bdf: bool = False,
    patient: str = "X X X X",
    recording_id: str | None = None,
    physical_ranges: dict[str, tuple[float, float]] | None = None,
    duration_s: float | None = None,
) -> Path:
    """Write ``signals`` (and ``annotations``) as EDF+C (or BDF+C with ``bdf=True``).

    Each signal keeps its own sampling rate; ``fs * record_duration`` must be an
    integer for every signal. Signals are padded with zeros to whole records.
    Physical ranges default to each signal's min/max (symmetric around 0).
    The file is written atomically.

    With no ``signals`` and a ``duration_s``, an annotations-only EDF+ file is written (only
    the annotation signal, as in Sleep-EDF hypnogram files), ``ceil(duration_s /
    record_duration)`` records long; ``duration_s`` is ignored when signals are given.
    """
    start = start or dt.datetime(2000, 1, 1, 22, 0, 0)
    if not signals and duration_s is None:
        raise ValueError("at least one signal is required (or duration_s for an annotations-only file)")
    nsamp = []
    for s in signals:
        n = s.fs * record_duration
        if abs(n - round(n)) > 1e-9:
            raise ValueError(f"{s.label}: fs {s.fs} * record duration {record_duration} is not an integer")
        nsamp.append(int(round(n)))
    if signals:
        n_records = max(math.ceil(s.data.size / n) for s, n in zip(signals, nsamp))
    else:
        total_s = float(duration_s) if duration_s is not None else 0.0  # not None here: checked above
        n_records = max(1, math.ceil(total_s / record_duration - 1e-9))
    dmin, dmax = (-8388608, 8388607) if bdf else (-32768, 32767)
    width = 3 if bdf else 2

    # annotations: the time-keeping TAL of each record, then the events that start in it
    per_record: list[list[bytes]] = [[encode_tal(r * record_duration, None, [""])] for r in range(n_records)]
    for onset, dur, text in sorted(annotations):
        r = min(max(int(onset // record_duration), 0), n_records - 1)
        per_record[r].append(encode_tal(onset, dur, [text]))
    ann_bytes = max(sum(len(t) for t in tals) for tals in per_record)
    ann_samples = max(int(math.ceil(ann_bytes / width)) + 1, 8)

    labels = [s.label for s in signals] + [("BDF" if bdf else "EDF") + " Annotations"]
    ns = len(labels)
    phys = []
    for s in signals:
        if physical_ranges and s.label in physical_ranges:
            lo, hi = physical_ranges[s.label]
        else:
            m = float(np.max(np.abs(s.data))) if s.data.size else 1.0
            m = m if m > 0 else 1.0
            m = _range_up(m * 1.001 + 1e-12)
            lo, hi = -m, m
        phys.append((lo, hi))

    rec_id = recording_id or f"Startdate {start.strftime('%d-%b-%Y').upper()} X X X"
    hdr = bytearray()
    hdr += b"\xffBIOSEMI" if bdf else _field("0", 8)
    hdr += _field(patient, 80) + _field(rec_id, 80)
    hdr += _field(start.strftime("%d.%m.%y"), 8) + _field(start.strftime("%H.%M.%S"), 8)
    hdr += _field(256 * (ns + 1), 8)
    hdr += _field("BDF+C" if bdf else "EDF+C", 44)
    hdr += _field(n_records, 8) + _field(_num(record_duration), 8) + _field(ns, 4)
    units = [("uV" if s.unit in ("uV", "µV") else s.unit) for s in signals] + [""]
    cols = [
        (labels, 16),
        (["" for _ in labels], 80),
        (units, 8),
        ([_num(p[0]) for p in phys] + ["-1"], 8),
        ([_num(p[1]) for p in phys] + ["1"], 8),
        ([str(dmin)] * ns, 8),
        ([str(dmax)] * ns, 8),
        (["" for _ in labels], 80),
        ([str(n) for n in nsamp] + [str(ann_samples)], 8),
        (["" for _ in labels], 32),
    ]
    for values, w in cols:
        for v in values:
            hdr += _field(v, w)
    assert len(hdr) == 256 * (ns + 1)

    # digital samples, shape (n_records, n_samples_per_record) per signal
    blocks = []
    for s, n, (lo, hi) in zip(signals, nsamp, phys):
        x = np.zeros(n_records * n)
        x[: s.data.size] = s.data
        gain = (hi - lo) / (dmax - dmin)
        d = np.clip(np.round((x - lo) / gain + dmin), dmin, dmax).astype(np.int32)
        blocks.append(d.reshape(n_records, n))
    ann = np.zeros((n_records, ann_samples * width), dtype=np.uint8)
    for r, tals in enumerate(per_record):
        b = b"".join(tals)
        ann[r, : len(b)] = np.frombuffer(b, dtype=np.uint8)

    def to_bytes(d: np.ndarray) -> np.ndarray:
        if not bdf:
            return d.astype("<i2").view(np.uint8).reshape(n_records, -1)
        u = d.astype("<i4").view(np.uint8).reshape(n_records, -1, 4)[:, :, :3]
        return u.reshape(n_records, -1)

    body = np.concatenate([to_bytes(b) for b in blocks] + [ann], axis=1)
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(bytes(hdr))
            fh.write(body.tobytes())
    return path
