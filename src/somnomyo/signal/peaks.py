"""Peak finding without importing ``scipy.signal`` (its import costs ~0.55 s; see
:mod:`somnomyo.signal.iir`).

* :func:`find_peaks`: ``scipy.signal.find_peaks(x, height=..., distance=...)[0]``, the same
  indices: local maxima including flat plateaus (the middle sample, rounded down), a minimum
  height, then the distance rule.
* :func:`select_by_distance`: scipy's distance rule on given peak positions and priorities
  (higher priority first; equal priorities in the order of ``np.argsort``, as scipy does), so a
  caller holding candidate positions need not build a full-length signal for it.

Vectorised with numpy: local maxima from the runs of equal samples; the distance rule in
rounds over the undecided peaks (a peak ranked highest among the undecided peaks within the
distance is kept, and the undecided peaks within the distance of a kept one are dropped), which
gives exactly the result of scipy's sequential greedy pass. Long monotone chains of peaks need
one round per link; after ``_MAX_ROUNDS`` rounds the remaining few peaks are finished by that
sequential pass (a loop over peaks, not samples; the same result).
"""

from __future__ import annotations

import math

import numpy as np

from somnomyo.errors import SomnomyoError

_MAX_ROUNDS = 32


def local_maxima(x: np.ndarray) -> np.ndarray:
    """Indices of the local maxima of the 1-D ``x``, as scipy's ``_local_maxima_1d``: a sample
    higher than both neighbours, or a run of equal samples higher than both its neighbours (its
    middle sample, ``(first + last) // 2``); the first and last samples never count and NaN is
    never part of a peak. Comparisons only, so float32 gives what its float64 copy gives."""
    n = x.size
    if n < 3:
        return np.zeros(0, np.intp)
    up = x[:-1] < x[1:]  # up[i]: x[i] < x[i + 1]
    down = x[:-1] > x[1:]
    peaks = np.flatnonzero(up[:-1] & down[1:]) + 1
    if np.count_nonzero(up) + np.count_nonzero(down) == n - 1:
        return peaks.astype(np.intp)  # no equal neighbours (nor NaN)
    e = np.flatnonzero(x[:-1] == x[1:])  # plateaus: runs of equal neighbours
    if e.size:
        brk = np.flatnonzero(np.diff(e) != 1)
        first = e[np.concatenate(([0], brk + 1))]
        last = e[np.concatenate((brk, [e.size - 1]))] + 1
        inner = (first >= 1) & (last <= n - 2)
        first, last = first[inner], last[inner]
        top = up[first - 1] & down[last]
        peaks = np.sort(np.concatenate((peaks, (first[top] + last[top]) // 2)))
    return peaks.astype(np.intp)


def _range_max(s: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``max(s[lo[i]:hi[i]])`` for every i (non-empty ranges), by a sparse table."""
    length = hi - lo
    levels = [s]
    for k in range(1, int(length.max()).bit_length()):  # log2 of the widest range
        h = 1 << (k - 1)
        levels.append(np.maximum(levels[-1][:-h], levels[-1][h:]))
    kk = np.frexp(length.astype(np.float64))[1] - 1  # floor(log2(length)), exact
    out = np.empty(s.size, s.dtype)
    for k in np.unique(kk):  # loop over the few levels
        sel = kk == k
        lvl = levels[k]
        out[sel] = np.maximum(lvl[lo[sel]], lvl[hi[sel] - (1 << int(k))])
    return out


def _greedy(pos: np.ndarray, rank: np.ndarray, dist: float) -> np.ndarray:
    """scipy's sequential distance pass over peaks ``pos`` (sorted) by decreasing ``rank``."""
    keep = np.ones(pos.size, bool)
    for j in np.argsort(rank)[::-1]:  # loop over the remaining peaks
        if not keep[j]:
            continue
        k = j - 1
        while k >= 0 and pos[j] - pos[k] < dist:
            keep[k] = False
            k -= 1
        k = j + 1
        while k < pos.size and pos[k] - pos[j] < dist:
            keep[k] = False
            k += 1
    return keep


def select_by_distance(peaks: np.ndarray, priority: np.ndarray, distance: float) -> np.ndarray:
    """Boolean mask of the peaks kept by scipy's distance rule (``find_peaks(distance=...)``).

    ``peaks``: increasing sample indices; ``priority``: one value per peak (as float64, usually
    the peak heights). Peaks are visited from the highest priority down (ties in the order
    ``np.argsort(priority)`` gives them, as scipy: the later one first); a visited peak that is
    still kept drops every peak closer than ``ceil(distance)`` samples.
    """
    peaks = np.asarray(peaks, dtype=np.intp)
    m = peaks.size
    if not distance >= 1:
        raise SomnomyoError(f"peak distance must be >= 1 sample; got {distance!r}")
    keep = np.zeros(m, bool)
    if m == 0:
        return keep
    d = float(math.ceil(distance)) if math.isfinite(distance) else math.inf
    rank = np.empty(m, np.intp)
    rank[np.argsort(np.asarray(priority, dtype=np.float64))] = np.arange(m)
    und = np.arange(m)  # undecided peaks (indices into peaks)
    for _ in range(_MAX_ROUNDS):  # rounds over the undecided peaks
        if und.size == 0:
            return keep
        q, s = peaks[und], rank[und]
        lo = np.searchsorted(q, q - d + 1, side="left")
        hi = np.searchsorted(q, q + d - 1, side="right")
        won = s == _range_max(s, lo, hi)  # highest-ranked undecided in reach
        keep[und[won]] = True
        n_won = np.concatenate(([0], np.cumsum(won)))  # kept peaks in reach of each one
        und = und[n_won[hi] == n_won[lo]]  # kept ones are in their own reach
    if und.size:
        keep[und] = _greedy(peaks[und], rank[und], d)
    return keep


def find_peaks(x: np.ndarray, *, height: float | None = None, distance: float | None = None) -> np.ndarray:
    """Indices of the peaks of the 1-D ``x``: ``scipy.signal.find_peaks(x, height=height,
    distance=distance)[0]``. ``height``: minimum peak value (scalar); ``distance``: minimum
    number of samples between kept peaks (>= 1), the higher peak winning (see
    :func:`select_by_distance`)."""
    xa = np.asarray(x)
    if xa.dtype not in (np.float32, np.float64):  # as scipy: compared as float64
        xa = xa.astype(np.float64)
    if xa.ndim != 1:
        raise SomnomyoError(f"find_peaks takes a 1-D signal; got {xa.ndim} dimensions")
    if distance is not None and not distance >= 1:
        raise SomnomyoError(f"peak distance must be >= 1 sample; got {distance!r}")
    peaks = local_maxima(xa)  # float32 compares as its float64 copy
    if height is not None:
        peaks = peaks[xa[peaks].astype(np.float64) >= height]
    if distance is not None:
        peaks = peaks[select_by_distance(peaks, xa[peaks], distance)]
    return peaks
