"""The batched window scan of the signal-quality checks (:mod:`somnomyo.signal.quality`).

One pass over a channel's windows, a batch at a time, gives each window's max and min (range, rails),
its count of equal neighbouring samples and its mains flag (50/60 Hz band power over the AASM 10-100 Hz
EMG band, :class:`~somnomyo.settings_quality.QualitySettings`); then the exact searches that only some
channels need: the window SD where the range does not rule out a flat window, the samples at the rails
in the windows that reach them, and the runs of identical samples.

Speed: the windows are read ``_SCAN_WINDOWS`` at a time (cache-sized) in one pass; the mains spectrum
is taken in single precision (ample for a power ratio); rail samples are looked for only in the windows
whose max/min reach the rails, the exact SD only in windows of small range (SD >= range / sqrt(2 w)),
and the identical-run search (:func:`_stuck_mask`) rules the common case (no run) out by a cheap block
test. ``float32`` data are read as they are (no double-precision copy of the channel).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.fft

from somnomyo.settings_quality import QualitySettings
from somnomyo.signal.intervals import runs

# Implementation details for speed (not clinical values):
_SCAN_WINDOWS = 64  # windows per batch of the one pass over the data (cache-sized)
_SD_MARGIN = 2.0  # the exact SD is computed where the range does not rule out a low SD (x2 for rounding)


def _stuck_mask(x: np.ndarray, run_len: int) -> np.ndarray | None:
    """Samples inside runs of at least ``run_len`` identical values; ``None`` when there are none.

    Runs of ``L`` identical samples are runs of ``L - 1`` equal neighbours; such a run of
    at least ``run_len - 1`` always covers an aligned block of ``ceil((run_len - 1) / 2)``
    equal neighbours, so a cheap block test rules the common case (no run) out first.
    """
    n = x.size
    if n < run_len:
        return None
    if run_len <= 1:
        return np.ones(n, dtype=bool)
    eq = x[1:] == x[:-1]
    need = run_len - 1
    b = (need + 1) // 2
    nb = eq.size // b
    if nb == 0 or not eq[: nb * b].reshape(nb, b).all(axis=1).any():
        return None
    start, stop = runs(eq)  # runs of equal neighbours
    keep = (stop - start) >= need
    if not keep.any():
        return None
    delta = np.zeros(n + 1, dtype=np.int64)
    np.add.at(delta, start[keep], 1)  # samples start .. stop (inclusive) are identical
    np.add.at(delta, stop[keep] + 1, -1)
    return np.cumsum(delta[:-1]) > 0


def _per_window(x: np.ndarray, w: int, func: Callable[[np.ndarray], Any]) -> np.ndarray:
    """Apply ``func`` to the 2-D array of full windows (and to the last ``w`` samples when
    the data does not end on a window edge) and concatenate the per-window results."""
    n_full = x.size // w
    out = [func(x[: n_full * w].reshape(n_full, w))]
    if x.size % w:
        out.append(func(x[x.size - w :][None, :]))
    return np.concatenate(out)


def _mains_band(w: int, fs: float, s: QualitySettings) -> tuple[np.ndarray, int, int, list[tuple[int, int]]] | None:
    """What the mains test of a ``w``-sample window needs: Hann taper (float32), first and last bin of
    the reference band, and the bins of each mains band (relative to the first); ``None``: no band."""
    freqs = np.fft.rfftfreq(w, 1.0 / fs)
    lo, hi = s.mains_band_hz
    band = (freqs >= lo) & (freqs <= min(hi, fs / 2))
    if not band.any():
        return None
    k0, k1 = (int(k) for k in np.flatnonzero(band)[[0, -1]])
    freqs = freqs[k0 : k1 + 1]
    parts = []
    for f in s.mains_hz:  # two frequencies, not samples
        if f + s.mains_half_width_hz >= fs / 2:
            continue
        sel = np.flatnonzero(np.abs(freqs - f) <= s.mains_half_width_hz)  # contiguous bins
        parts.append((int(sel[0]), int(sel[-1]) + 1) if sel.size else (0, 0))
    return np.hanning(w).astype(np.float32), k0, k1, parts


def _mains_hits(
    v: np.ndarray, band: tuple[np.ndarray, int, int, list[tuple[int, int]]], s: QualitySettings
) -> np.ndarray:
    """Mains-dominated windows among the rows of ``v``: 50/60 Hz band power over 10-100 Hz power >
    ``mains_ratio``. Hann-tapered spectrum of each mean-removed window (mean in double precision, the
    rest in single precision: ample for a ratio)."""
    taper, k0, k1, parts = band
    c = v.astype(np.float32)
    c -= v.mean(axis=1, dtype=np.float64).astype(np.float32)[:, None]
    c *= taper
    spec = scipy.fft.rfft(c, axis=1).view(np.float32)[:, 2 * k0 : 2 * k1 + 2]  # re, im of each bin
    total = np.einsum("ij,ij->i", spec, spec).astype(np.float64)
    hit = np.zeros(len(v), dtype=bool)
    ok = total > 0
    for a, b in parts:
        part = np.einsum("ij,ij->i", spec[:, 2 * a : 2 * b], spec[:, 2 * a : 2 * b]).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            hit |= ok & (part / np.where(ok, total, 1.0) > s.mains_ratio)
    return hit


def _scan_windows(
    x: np.ndarray, w: int, fs: float, s: QualitySettings, *, mains: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """One pass over the windows (the full ones, then the last ``w`` samples when ``x`` does not end on
    a window edge), ``_SCAN_WINDOWS`` at a time: per window its max, min and mains flag; and the most
    pairs of equal neighbouring samples in one full window."""
    n_full = x.size // w
    n_win = n_full + int(x.size % w > 0)
    wmax, wmin = np.empty(n_win), np.empty(n_win)
    hit = np.zeros(n_win, dtype=bool)
    band = _mains_band(w, fs, s) if mains else None
    equal = 0
    for a in list(range(0, n_full, _SCAN_WINDOWS)) + ([n_full] if n_win > n_full else []):
        b = min(a + _SCAN_WINDOWS, n_full) if a < n_full else n_win  # batches of windows, then the last
        v = x[a * w : b * w].reshape(b - a, w) if a < n_full else x[x.size - w :][None, :]
        wmax[a:b], wmin[a:b] = v.max(axis=1), v.min(axis=1)
        if a < n_full and w > 1:
            same = v[:, 1:] == v[:, :-1]
            if np.count_nonzero(same) > equal:  # per window only when the batch has that many
                equal = max(equal, int(np.count_nonzero(same, axis=1).max()))
        if band is not None:
            hit[a:b] = _mains_hits(v, band, s)
    return wmax, wmin, hit, equal


def _window_sd(x: np.ndarray, w: int, which: np.ndarray) -> np.ndarray:
    """Standard deviation of the windows ``which`` (indices as in :func:`_scan_windows`)."""
    n_full = x.size // w
    full = which[which < n_full]
    v = x[: n_full * w].reshape(n_full, w)[full]
    if full.size < which.size:
        v = np.concatenate([v, x[x.size - w :][None, :]])
    v = v.astype(np.float64, copy=False)
    c = v - v.mean(axis=1, keepdims=True)
    return np.sqrt(np.einsum("ij,ij->i", c, c) / w)


def _sd_below(x: np.ndarray, w: int, ptp: np.ndarray, floor: float) -> np.ndarray:
    """Windows (as in :func:`_scan_windows`, ``ptp`` their ranges) whose SD is below ``floor``; the exact SD
    (:func:`_window_sd`) only where the range does not rule it out (SD >= range / sqrt(2 w))."""
    out = np.zeros(ptp.size, dtype=bool)
    low = np.flatnonzero(~(ptp >= _SD_MARGIN * floor * np.sqrt(2.0 * w)))
    if low.size:
        out[low] = _window_sd(x, w, low) < floor
    return out


def _samples_at(
    x: np.ndarray, w: int, wmax: np.ndarray, wmin: np.ndarray, hi: float, lo: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted indices of the samples ``>= hi`` and of those ``<= lo`` (in double precision), looked for
    only in the windows whose max/min reach there (``wmax``/``wmin`` from :func:`_scan_windows`)."""
    n = x.size
    n_full = n // w
    cand = np.flatnonzero((wmax[:n_full] >= hi) | (wmin[:n_full] <= lo))
    full = x[: n_full * w].reshape(n_full, w)
    ups: list[np.ndarray] = []
    downs: list[np.ndarray] = []
    for a in range(0, cand.size, _SCAN_WINDOWS):  # loop over batches of candidate windows
        rows = cand[a : a + _SCAN_WINDOWS]
        v = full[rows].astype(np.float64, copy=False)
        for out, m in ((ups, v >= hi), (downs, v <= lo)):
            r, c = np.nonzero(m)
            out.append(rows[r] * w + c)
    tail = x[n_full * w :].astype(np.float64, copy=False)
    ups.append(np.flatnonzero(tail >= hi) + n_full * w)
    downs.append(np.flatnonzero(tail <= lo) + n_full * w)
    return np.concatenate(ups), np.concatenate(downs)


def _in_long_runs(idx: np.ndarray, length: int) -> np.ndarray:
    """The sorted sample indices ``idx`` that lie in runs of at least ``length`` consecutive indices."""
    if length <= 1 or idx.size == 0:
        return idx
    cut = np.flatnonzero(np.diff(idx) != 1) + 1
    size = np.diff(np.concatenate(([0], cut, [idx.size])))
    return idx[np.repeat(size >= length, size)]


def _count_per_window(idx: np.ndarray, n: int, w: int) -> np.ndarray:
    """Samples ``idx`` per window (the full windows, then the last ``w`` samples if ``n % w``)."""
    n_full = n // w
    counts = np.bincount(idx[idx < n_full * w] // w, minlength=n_full)
    if n % w:
        counts = np.append(counts, np.count_nonzero(idx >= n - w))
    return counts
