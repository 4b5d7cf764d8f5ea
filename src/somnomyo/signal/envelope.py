"""Rectification and a short moving-average envelope of conditioned EMG.

Running sums are built from shifted float32 additions (``sum of w = sums of 1, 2, 4, ...``:
about ``2 log2(w)`` passes over the data, no float64 copy), or, when only every ``step``-th
value is wanted, from block sums of ``step`` samples (float64 cumulative sum over the blocks).
"""
from __future__ import annotations

import numpy as np


def window_samples(window_s: float, fs: float) -> int:
    """Odd number of samples closest to ``window_s`` at ``fs`` (at least 1)."""
    n = max(1, int(round(window_s * fs)))
    return n if n % 2 else n + 1


def _pad_nearest(x: np.ndarray, half: int) -> np.ndarray:
    """``x`` with ``half`` copies of its first and last value added at each end."""
    out = np.empty(x.size + 2 * half, dtype=x.dtype)
    out[half: half + x.size] = x
    out[:half] = x[0]
    out[half + x.size:] = x[-1]
    return out


def running_mean(x: np.ndarray, size: int, *, rectify: bool = False) -> np.ndarray:
    """Centred moving average over an odd ``size`` (edges: nearest value repeated), in ``x``'s float
    dtype; equals ``scipy.ndimage.uniform_filter1d(x, size, mode="nearest")`` up to rounding.
    ``rectify``: of ``|x|`` (rectified into the padded work buffer, no extra copy).

    Memory: the padded buffer, one buffer of partial sums (the two swapped as the window doubles)
    and the output; no temporaries of the signal's length beyond these.
    """
    a = np.asarray(x)
    a = a if a.dtype in (np.float32, np.float64) else a.astype(np.float64)
    size = max(1, int(size))
    size += (size + 1) % 2
    if a.size == 0 or size == 1:
        return np.abs(a) if rectify else a.copy()
    half = size // 2
    p = np.empty(a.size + 2 * half, dtype=a.dtype)
    body = p[half: half + a.size]
    if rectify:
        np.abs(a, out=body)
    else:
        body[...] = a
    p[:half] = body[0]
    p[half + a.size:] = body[-1]
    n_out = a.size
    out: np.ndarray | None = None
    bufs: list[np.ndarray | None] = [p, None]     # partial sums live in one, the next doubling in the other
    cur, length, width, off, w = 0, p.size, 1, 0, size   # bufs[cur][i] = sum p[i : i + width]
    while w:                                      # loop over the bits of the window length
        part = bufs[cur]
        assert part is not None
        if w & 1:
            seg = part[off: off + n_out]
            out = seg.copy() if out is None else np.add(out, seg, out=out)
            off += width
        w >>= 1
        if w:
            other = bufs[1 - cur]
            if other is None:
                other = bufs[1 - cur] = np.empty(p.size, dtype=a.dtype)
            np.add(part[: length - width], part[width: length], out=other[: length - width])
            cur, length, width = 1 - cur, length - width, width * 2
    assert out is not None
    out *= out.dtype.type(1.0 / size)
    return out


def strided_running_mean(x: np.ndarray, size: int, step: int) -> np.ndarray:
    """``running_mean(x, size)[::step]`` computed at those points only.

    The padded signal is cut into blocks of ``step``; the window of output ``m`` starts at block
    ``m``, so it is ``q`` whole blocks (a float64 cumulative sum over block sums) plus the first
    ``r`` samples of the next block (``size = q * step + r``).
    """
    a = np.asarray(x)
    a = a if a.dtype in (np.float32, np.float64) else a.astype(np.float64)
    size = max(1, int(size))
    size += (size + 1) % 2
    step = max(1, int(step))
    n = a.size
    if n == 0:
        return np.zeros(0, a.dtype)
    half = size // 2
    q, r = divmod(size, step)
    m = (n - 1) // step + 1                          # outputs
    nb = m + q + 1                                   # blocks read
    p = np.empty(nb * step, a.dtype)
    p[:half] = a[0]
    p[half: half + n] = a
    p[half + n:] = a[-1]
    blocks = p.reshape(nb, step)
    bsum = blocks[:, 0].copy()
    for k in range(1, step):                         # loop over the few columns of a block
        if k == r:
            part = bsum[q: q + m].astype(np.float64)  # the first r samples of block m + q
        bsum += blocks[:, k]
    c = np.zeros(nb + 1, np.float64)
    np.cumsum(bsum, dtype=np.float64, out=c[1:])
    out = c[q: q + m] - c[:m]
    if r:
        out += part
    return (out / size).astype(a.dtype)


def envelope(filtered: np.ndarray, fs: float, *, window_s: float) -> np.ndarray:
    """Rectified EMG smoothed by a centred (zero-phase) moving average of ``window_s``.

    ``window_s`` comes from ``ConditioningSettings.envelope_window_s`` (~50 ms). Same units
    as the input (µV); float32.
    """
    return running_mean(np.asarray(filtered, dtype=np.float32), window_samples(window_s, fs), rectify=True)
