"""Read a time window of some channels of an EDF/EDF+/BDF file without reading the rest.

:func:`somnomyo.io.edf.read_edf` decodes whole channels. A viewer needs a few seconds of a
few channels at a time: :class:`EdfWindowReader` parses the header once, maps the data records
(:class:`numpy.memmap`, pages are read by the operating system only when touched) and decodes, for
each call, only the records that overlap the window and only the channels asked for. The values
are those :func:`~somnomyo.io.edf.read_edf` gives for the same samples (same scaling, same
rounding, EDF+D records placed at their time-keeping onsets with gaps filled with 0).

Format: European Data Format (Kemp et al. 1992), EDF+ (Kemp & Olivan 2003), BioSemi BDF.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from somnomyo.errors import RecordingError
from somnomyo.io import edf as _edf
from somnomyo.io.recording import Recording

__all__ = ["EdfWindowReader", "Window", "read_window"]

_DTYPES = ("float64", "float32")
_EPS = 1e-9  # tolerance on sample times (s * Hz) so that an exact boundary is not lost to rounding


@dataclass(frozen=True)
class Window:
    """Samples ``data`` of channel ``label`` from sample ``first`` on (time ``first / fs`` s)."""

    label: str
    data: np.ndarray
    fs: float
    first: int
    unit: str

    @property
    def t0(self) -> float:
        """Time of the first sample, seconds from the recording start."""
        return self.first / self.fs if self.fs > 0 else 0.0


class EdfWindowReader:
    """A recording opened for windowed reads (header parsed once, data records memory-mapped).

    ``reader.read(["Leg L"], start=3600, duration=30)`` returns ``{label: Window}``: the samples
    whose time ``k / fs`` lies in ``[start, start + duration)``, clipped to the recording.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lay = _edf._layout(self.path)
        lay = self._lay
        self._starts: np.ndarray | None = None
        self.gaps: list[tuple[float, float]] = []
        if lay.file_type.endswith("+D"):
            rows = _edf._annotation_bytes(lay)
            self.gaps, self._starts = _edf._timeline(lay, _edf._record_onsets(lay, rows))
        self.header: Recording = _edf._recording(lay)
        if self._starts is not None:
            self.header.duration = float(self._starts[-1] + lay.record_duration)
        self.header.gaps = list(self.gaps)
        self._raw: np.memmap | None = None
        if lay.n_records > 0:
            self._raw = np.memmap(
                self.path, dtype=np.uint8, mode="r", offset=lay.header_bytes, shape=(lay.n_records, lay.record_bytes)
            )
        self._scaling: dict[int, tuple[float, float, str]] = {}

    @property
    def duration(self) -> float:
        """Seconds from the start to the end of the last record."""
        return float(self.header.duration)

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.header.channels]

    def close(self) -> None:
        """Release the mapping (later reads fail)."""
        self._raw = None

    def __enter__(self) -> EdfWindowReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _scale(self, i: int) -> tuple[float, float, str]:
        if i not in self._scaling:
            gain, offset = _edf._check_scaling(self._lay, i)
            c = self._lay.infos[i]
            s = _edf.unit_scale_to_uv(c.unit)
            self._scaling[i] = (gain * (s or 1.0), offset * (s or 1.0), "uV" if s else c.unit)
        return self._scaling[i]

    def n_samples(self, label: str) -> int:
        """Samples of ``label`` over the whole recording (as :func:`read_edf` returns them)."""
        i = _edf._select(self._lay, [label])[0]
        spr = self._lay.infos[i].samples_per_record
        if self._starts is None:
            return spr * self._lay.n_records
        return int(round(self._starts[-1] * self._lay.infos[i].fs)) + spr

    def read(
        self, channels: Sequence[str], *, start: float, duration: float, dtype: str | np.dtype = "float32"
    ) -> dict[str, Window]:
        """Samples of ``channels`` with times in ``[start, start + duration)`` (clipped to the recording).

        Raises :class:`~somnomyo.errors.RecordingError` for an unknown channel (one line, listing
        the file's channels) and ``ValueError`` for a non-finite window or an unknown dtype.
        """
        out_type = np.dtype(dtype)
        if out_type.name not in _DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(map(repr, _DTYPES))}; got {dtype!r}")
        if not (math.isfinite(start) and math.isfinite(duration)) or duration < 0:
            raise ValueError(f"window start {start!r} / duration {duration!r} must be finite, duration >= 0")
        if self._raw is None and self._lay.n_records > 0:
            raise RecordingError("reader is closed", self.path)
        lay = self._lay
        index = _edf._select(lay, list(channels))
        out: dict[str, Window] = {}
        for i in index:
            c = lay.infos[i]
            total = self.n_samples(c.label)
            k0 = min(total, max(0, math.ceil(start * c.fs - _EPS)))
            k1 = min(total, max(k0, math.ceil((start + duration) * c.fs - _EPS)))
            data = self._samples(i, k0, k1, out_type)
            out[c.label] = Window(label=c.label, data=data, fs=c.fs, first=k0, unit=self._scale(i)[2])
        return out

    def _samples(self, i: int, k0: int, k1: int, out_type: np.dtype) -> np.ndarray:
        """Samples ``k0:k1`` of signal ``i`` (scaled as read_edf does)."""
        lay = self._lay
        spr = lay.infos[i].samples_per_record
        out = np.zeros(k1 - k0, dtype=out_type)
        if k1 <= k0 or self._raw is None:
            return out
        if self._starts is None:
            firsts = None
            r0, r1 = k0 // spr, -(-k1 // spr)
        else:
            firsts = np.round(self._starts * lay.infos[i].fs).astype(np.int64)
            r0 = max(0, int(np.searchsorted(firsts, k0, side="right")) - 1)
            r1 = int(np.searchsorted(firsts, k1, side="left"))
        if r1 <= r0:
            return out
        rec_dtype = _edf._record_dtype(lay, [i])
        block = self._raw[r0:r1].reshape(-1).view(rec_dtype)
        dig = _edf._digital(block["s0"], lay.bdf)  # (records, spr)
        gain, offset, _ = self._scale(i)
        if out_type == np.float64:
            vals = np.multiply(dig, gain)
            vals += offset
        else:
            vals = np.multiply(dig, gain, dtype=np.float64)
            vals += offset
            vals = vals.astype(out_type)
        if firsts is None:
            flat = vals.reshape(-1)
            base = r0 * spr
            out[:] = flat[k0 - base : k1 - base]
        else:
            idx = firsts[r0:r1, None] + np.arange(spr)  # sample index of every value
            keep = (idx >= k0) & (idx < k1)
            out[idx[keep] - k0] = vals[keep]
        return out


def read_window(
    path: str | os.PathLike[str],
    channels: Sequence[str],
    *,
    start: float,
    duration: float,
    dtype: str | np.dtype = "float32",
) -> dict[str, Window]:
    """One window of ``channels`` (see :meth:`EdfWindowReader.read`); opens and closes the file."""
    with EdfWindowReader(path) as reader:
        return reader.read(channels, start=start, duration=duration, dtype=dtype)
