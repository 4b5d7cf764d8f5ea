"""Running median and running extremes of 1-D signals, without importing ``scipy.ndimage``.

Why: ``import scipy.ndimage`` drags in ``scipy.special`` (~0.2 s of CPU in the
``somnomyo score --detectors plm`` command), while the leg-movement path needs only a few 1-D
rank filters. Every function here gives exactly the values of its ``scipy.ndimage``
counterpart (a max, min or median picks one of the input values, so no rounding is involved;
tested against ``scipy.ndimage``), for finite input:

* :func:`median_filter`: ``scipy.ndimage.median_filter(x, size=size, mode="nearest")`` of a
  1-D array (an even ``size`` takes rank ``size // 2``, window ``x[i - size//2 : i - size//2 + size]``,
  as ndimage). Small sizes (<= ``_NETWORK_MAX``) by a selection network (Batcher's odd-even
  merge sort pruned to the one output rank: elementwise ``np.minimum``/``np.maximum`` of
  shifted views), larger ones by ``np.partition`` of the sliding windows; both a cache-sized
  chunk at a time. :func:`sliding_median` / :func:`select_ranks` are the building blocks.
* :func:`trailing_max` / :func:`trailing_min`: ``out[i] = max/min(x[i - size + 1 .. i])``, the
  start padded with ``x[0]``: ``scipy.ndimage.maximum_filter1d(x, size, origin=(size - 1) // 2,
  mode="nearest")`` for an odd ``size`` (any ``size`` here). By doubling (extremes over 1, 2,
  4, ... samples, then two overlapping windows of the largest power of two cover ``size``),
  a cache-sized chunk at a time in two reused buffers (fresh memory is slow: every full-length
  temporary is page-faulted in).
* :func:`uniform_filter1d`: ``scipy.ndimage.uniform_filter1d(x, size, mode="nearest")`` bit for
  bit (ndimage's float64 running sum, reproduced with a sequential ``np.cumsum``).

Implementation helpers, not clinical rules (the rules that use them cite their sources).
"""

from __future__ import annotations

from functools import cache

import numpy as np

_CHUNK = 1 << 16  # outputs per chunk of the running extremes (cache-sized; speed only)
_MEDIAN_CHUNK = 1 << 13  # outputs per chunk of the median (its network keeps ~size buffers; speed only)
_NETWORK_MAX = 25  # largest median size done by a selection network (speed only)


# ------------------------------------------------------------------ selection network


def _batcher_pairs(n: int) -> list[tuple[int, int]]:
    """Comparators (lower, upper) of Batcher's odd-even merge sort of ``n`` values (the network for
    the next power of two; comparators touching the padding, +inf at the top, are dropped)."""
    size = 1
    while size < n:
        size *= 2
    pairs: list[tuple[int, int]] = []
    p = 1
    while p < size:  # loops over the network's stages (log^2 n)
        k = p
        while k >= 1:
            for j in range(k % p, size - k, 2 * k):
                for i in range(min(k, size - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return [(a, b) for a, b in pairs if b < n]


@cache
def selection_network(n: int, ranks: tuple[int, ...]) -> tuple[tuple[int, int, bool, bool], ...]:
    """The comparators of :func:`_batcher_pairs` that the values of ranks ``ranks`` (0 = smallest)
    depend on, as ``(lower, upper, min_needed, max_needed)``: after applying them in order
    (``min`` into ``lower``, ``max`` into ``upper``, each only when needed) position ``rank``
    holds the value of that rank, for each of ``ranks``."""
    need = set(ranks)
    kept: list[tuple[int, int, bool, bool]] = []
    for a, b in reversed(_batcher_pairs(n)):  # loop over comparators, not samples
        lo, hi = a in need, b in need
        if lo or hi:
            kept.append((a, b, lo, hi))
            need |= {a, b}
    return tuple(reversed(kept))


def select_ranks(rows: list[np.ndarray], ranks: tuple[int, ...], outs: tuple[np.ndarray, ...]) -> None:
    """Values of ranks ``ranks`` (0 = smallest) of ``rows`` (same-shape float arrays, finite, not
    modified), elementwise, each into its array of ``outs`` (exact: values of ``rows``), by the
    pruned network of :func:`selection_network` (elementwise ``np.minimum`` / ``np.maximum``)."""
    n = len(rows)
    out = outs[0]
    cur: list[np.ndarray] = list(rows)
    owned = [False] * n  # cur[i] is a work buffer (writable)
    free: list[np.ndarray] = []

    def buffer() -> np.ndarray:
        return free.pop() if free else np.empty(out.shape, out.dtype)

    for a, b, need_lo, need_hi in selection_network(n, tuple(ranks)):  # loop over comparators, not samples
        xa, xb = cur[a], cur[b]
        if need_lo and need_hi:
            lo = buffer()  # a's old value is still needed for the max
            hi = xb if owned[b] else buffer()
            np.minimum(xa, xb, out=lo)
            np.maximum(xa, xb, out=hi)
            if owned[a]:
                free.append(xa)
            cur[a], cur[b], owned[a], owned[b] = lo, hi, True, True
        elif need_lo:
            dst = xa if owned[a] else buffer()
            np.minimum(xa, xb, out=dst)
            cur[a], owned[a] = dst, True
            if owned[b]:  # b's value is not needed any more
                free.append(xb)
                owned[b] = False
        else:
            dst = xb if owned[b] else buffer()
            np.maximum(xa, xb, out=dst)
            cur[b], owned[b] = dst, True
            if owned[a]:
                free.append(xa)
                owned[a] = False
    for rank, dst in zip(ranks, outs):
        dst[...] = cur[rank]


def sliding_median(p: np.ndarray, size: int, *, out: np.ndarray | None = None) -> np.ndarray:
    """``out[..., i]`` = the value of rank ``size // 2`` (0 = smallest; the median for an odd
    ``size``) of ``p[..., i : i + size]``, for every full window along the last axis of the
    float array ``p`` (finite values); ``out`` (optional) has ``p``'s shape with the last axis
    ``size - 1`` shorter. Exact (a value of ``p``); no chunking here: pass cache-sized pieces."""
    size = max(1, int(size))
    m = p.shape[-1] - size + 1
    if out is None:
        out = np.empty(p.shape[:-1] + (max(m, 0),), p.dtype)
    if m <= 0:
        return out
    rank = size // 2
    if size <= _NETWORK_MAX:
        select_ranks([p[..., t : t + m] for t in range(size)], (rank,), (out,))
    else:
        win = np.lib.stride_tricks.sliding_window_view(p, size, axis=-1)
        out[...] = np.partition(win, rank, axis=-1)[..., rank]
    return out


def _float_1d(x: np.ndarray) -> np.ndarray:
    """``x`` as a contiguous 1-D float array (integers as float64; float arrays keep their dtype)."""
    a = np.asarray(x)
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    return np.ascontiguousarray(a).reshape(-1)


def padded_chunk(x: np.ndarray, lo: int, hi: int, buf: np.ndarray) -> np.ndarray:
    """``x[lo:hi]`` with indices outside ``[0, n)`` clamped (mode "nearest"), into ``buf``."""
    n = x.size
    p = buf[: hi - lo]
    i0, i1 = min(max(lo, 0), n), max(min(hi, n), 0)
    if i1 > i0:
        p[i0 - lo : i1 - lo] = x[i0:i1]
    if lo < i0:
        p[: i0 - lo] = x[0] if i0 == 0 else x[-1]
    if hi > i1:
        p[max(i1, lo) - lo :] = x[-1]
    return p


def median_filter(x: np.ndarray, size: int) -> np.ndarray:
    """``scipy.ndimage.median_filter(x, size=size, mode="nearest")`` of the 1-D ``x`` (finite
    values), the same values, in ``x``'s dtype (integers as float64). Window of output ``i``:
    ``x[i - size // 2 : i - size // 2 + size]`` (edges: nearest value repeated), rank ``size // 2``."""
    a, size = _float_1d(x), max(1, int(size))
    n = a.size
    if n == 0 or size == 1:
        return a.copy()
    left = size // 2
    out = np.empty(n, a.dtype)
    chunk = min(_MEDIAN_CHUNK if size <= _NETWORK_MAX else max(1, _MEDIAN_CHUNK // size), n)
    pbuf = np.empty(chunk + size - 1, a.dtype)
    for c0 in range(0, n, chunk):  # loop over cache-sized chunks, not samples
        m = min(chunk, n - c0)
        p = padded_chunk(a, c0 - left, c0 + m - left + size - 1, pbuf)
        sliding_median(p, size, out=out[c0 : c0 + m])
    return out


# ------------------------------------------------------------------ running extremes


def _trailing(x: np.ndarray, size: int, op: np.ufunc, out: np.ndarray | None) -> np.ndarray:
    a, size = _float_1d(x), max(1, int(size))
    n = a.size
    if out is None:
        out = np.empty(n, a.dtype)
    elif out.shape != (n,) or np.shares_memory(out, a):
        raise ValueError("out must be a separate 1-D array as long as x")
    if n == 0 or size == 1:
        out[...] = a
        return out
    chunk = min(_CHUNK, n)
    bufs = [np.empty(chunk + size - 1, a.dtype), np.empty(chunk + size - 1, a.dtype)]
    for c0 in range(0, n, chunk):  # loop over cache-sized chunks, not samples
        m = min(chunk, n - c0)
        padded_chunk(a, c0 - size + 1, c0 + m, bufs[0])
        cur, length, width = 0, m + size - 1, 1  # bufs[cur][i] = op over p[i : i + width]
        while 2 * width <= size:  # loop over the doublings (log2 size)
            src, dst = bufs[cur], bufs[1 - cur]
            op(src[: length - width], src[width:length], out=dst[: length - width])
            cur, length, width = 1 - cur, length - width, 2 * width
        src = bufs[cur]  # two windows of ``width`` cover ``size``
        op(src[:m], src[size - width : size - width + m], out=out[c0 : c0 + m])
    return out


def trailing_max(x: np.ndarray, size: int, *, out: np.ndarray | None = None) -> np.ndarray:
    """``out[i] = max(x[max(i - size + 1, 0) .. i])`` (the start padded with ``x[0]``): for an odd
    ``size``, ``scipy.ndimage.maximum_filter1d(x, size, origin=(size - 1) // 2, mode="nearest")``.
    1-D float ``x`` (integers as float64); ``out``: a separate array of ``x``'s length (not ``x``)."""
    return _trailing(x, size, np.maximum, out)


def trailing_min(x: np.ndarray, size: int, *, out: np.ndarray | None = None) -> np.ndarray:
    """``out[i] = min(x[max(i - size + 1, 0) .. i])``: as :func:`trailing_max` with the minimum."""
    return _trailing(x, size, np.minimum, out)


# ------------------------------------------------------------------ running mean (ndimage's arithmetic)


def uniform_filter1d(x: np.ndarray, size: int) -> np.ndarray:
    """``scipy.ndimage.uniform_filter1d(x, size, mode="nearest")`` of the 1-D float ``x``, bit for
    bit: ndimage's own arithmetic, a float64 running sum (the first window summed in order, then
    ``sum += entering - leaving``), each output ``sum / size`` cast to ``x``'s dtype. The running
    sum is a sequential ``np.cumsum`` carried from chunk to chunk (cache-sized; speed only), so
    every value is the one a single pass gives. (:func:`somnomyo.signal.envelope.running_mean`
    is faster but rounds differently.)"""
    a, size = _float_1d(x), max(1, int(size))
    n = a.size
    out = np.empty(n, a.dtype)
    if n == 0:
        return out
    left = size // 2
    chunk = min(_CHUNK, n)
    pbuf = np.empty(chunk + size, a.dtype)
    run = np.empty(chunk + 1, np.float64)
    total = 0.0
    for c0 in range(0, n, chunk):  # loop over cache-sized chunks, not samples
        m = min(chunk, n - c0)
        # padded samples c0 - left - 1 .. c0 - left + m + size - 2: one leaving sample before each output
        p = padded_chunk(a, c0 - left - 1, c0 - left + m + size - 1, pbuf)
        r = run[: m + 1]
        if c0 == 0:
            r[0] = 0.0
            r[1] = np.cumsum(p[1 : size + 1], dtype=np.float64)[-1]  # the first window, in order
            np.subtract(p[size + 1 : size + m], p[1:m], out=r[2:], dtype=np.float64)
        else:
            r[0] = total
            np.subtract(p[size : size + m], p[:m], out=r[1:], dtype=np.float64)
        np.cumsum(r, out=r)
        total = float(r[m])
        np.divide(r[1:], float(size), out=r[1:])
        out[c0 : c0 + m] = r[1:]
    return out
