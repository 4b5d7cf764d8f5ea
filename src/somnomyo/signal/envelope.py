"""Rectification and a short moving-average envelope of conditioned EMG.

Running sums are built from shifted float32 additions (``sum of w = sums of 1, 2, 4, ...``:
about ``2 log2(w)`` passes over the data, no float64 copy), or, when only every ``step``-th
value is wanted, from block sums of ``step`` samples (float64 cumulative sum over the blocks).
"""

from __future__ import annotations

import numpy as np

from somnomyo.signal.rolling import padded_chunk

_CHUNK = 1 << 16  # outputs per chunk of :func:`running_mean` (cache-sized; speed only, not a clinical value)


def window_samples(window_s: float, fs: float) -> int:
    """Odd number of samples closest to ``window_s`` at ``fs`` (at least 1)."""
    n = max(1, int(round(window_s * fs)))
    return n if n % 2 else n + 1


def _pad_nearest(x: np.ndarray, half: int) -> np.ndarray:
    """``x`` with ``half`` copies of its first and last value added at each end."""
    out = np.empty(x.size + 2 * half, dtype=x.dtype)
    out[half : half + x.size] = x
    out[:half] = x[0]
    out[half + x.size :] = x[-1]
    return out


def running_mean(x: np.ndarray, size: int, *, rectify: bool = False, out: np.ndarray | None = None) -> np.ndarray:
    """Centred moving average over an odd ``size`` (edges: nearest value repeated), in ``x``'s float
    dtype; equals ``scipy.ndimage.uniform_filter1d(x, size, mode="nearest")`` up to rounding.
    ``rectify``: of ``|x|`` (rectified into the padded work buffer, no extra copy). ``out``: an
    array to write the result into (same size and float dtype as the result, writeable, not
    overlapping ``x``), e.g. a buffer no longer needed, whose memory is already paged in; the
    values are the same as without it.

    Memory: the output and, per chunk of ``_CHUNK`` outputs (cache-sized; speed only), a padded
    work buffer and one buffer of partial sums (the two swapped as the window doubles); no other
    array of the signal's length (fresh memory costs time: each full-length buffer is page-faulted
    in). Every output is the same sum of the same samples in the same order whatever the chunking,
    so the result does not depend on it.
    """
    a = np.asarray(x)
    a = a if a.dtype in (np.float32, np.float64) else a.astype(np.float64)
    size = max(1, int(size))
    size += (size + 1) % 2
    if out is not None:
        _check_out(out, a)
    if a.size == 0 or size == 1:
        if out is None:
            return np.abs(a) if rectify else a.copy()
        if rectify:
            np.abs(a, out=out)
        else:
            out[...] = a
        return out
    half = size // 2
    n = a.size
    if out is None:
        out = np.empty(n, dtype=a.dtype)
    chunk = max(_CHUNK, 4 * size)
    p = np.empty(min(n, chunk) + 2 * half, dtype=a.dtype)
    other = np.empty_like(p)
    for a0 in range(0, n, chunk):  # loop over cache-sized chunks, not samples
        m = min(chunk, n - a0)
        lo, hi = a0 - half, a0 + m + half  # padded window, in signal coordinates
        i0, i1 = max(lo, 0), min(hi, n)
        seg = p[i0 - lo : i1 - lo]
        if rectify:
            np.abs(a[i0:i1], out=seg)
        else:
            seg[...] = a[i0:i1]
        if lo < 0:
            p[:-lo] = p[-lo]
        if hi > n:
            p[i1 - lo : hi - lo] = p[i1 - lo - 1]
        _running_sum(p[: m + 2 * half], other, m, size, out[a0 : a0 + m])
    out *= out.dtype.type(1.0 / size)
    return out


def _check_out(out: np.ndarray, a: np.ndarray) -> None:
    """``out`` must be a writeable 1-D array of ``a``'s size and dtype that does not overlap ``a``
    (the running sums read samples after those already written)."""
    if not isinstance(out, np.ndarray) or out.ndim != 1 or out.size != a.size or out.dtype != a.dtype:
        raise ValueError(f"out must be a 1-D {a.dtype} array of {a.size} samples")
    if not out.flags.writeable:
        raise ValueError("out must be writeable")
    if np.may_share_memory(out, a):
        raise ValueError("out must not overlap the input")


def _running_sum(p: np.ndarray, other: np.ndarray, n_out: int, size: int, out: np.ndarray) -> None:
    """``out[i] = sum p[i : i + size]`` (``p`` holds ``n_out + size - 1`` samples and is overwritten;
    ``other``: a work buffer at least as long), by doubling: sums of 1, 2, 4, ... samples."""
    bufs = [p, other]  # partial sums live in one, the next doubling in the other
    cur, length, width, off, w = 0, p.size, 1, 0, size  # bufs[cur][i] = sum p[i : i + width]
    first = True
    while w:  # loop over the bits of the window length
        part = bufs[cur]
        if w & 1:
            seg = part[off : off + n_out]
            if first:
                out[...] = seg
                first = False
            else:
                np.add(out, seg, out=out)
            off += width
        w >>= 1
        if w:
            nxt = bufs[1 - cur]
            np.add(part[: length - width], part[width:length], out=nxt[: length - width])
            cur, length, width = 1 - cur, length - width, width * 2


def strided_running_mean(x: np.ndarray, size: int, step: int) -> np.ndarray:
    """``running_mean(x, size)[::step]`` computed at those points only.

    The padded signal is cut into blocks of ``step``; the window of output ``m`` starts at block
    ``m``, so it is ``q`` whole blocks (differences of a float64 cumulative sum of block sums) plus
    the first ``r`` samples of the next block (``size = q * step + r``). Everything is done a
    cache-sized chunk of outputs at a time from small work buffers (the chunk's blocks and the
    ``q`` after them); the cumulative sum is carried from chunk to chunk, so every value is the
    one a single whole-record cumulative sum gives. No padded copy of the signal and no
    full-length temporary (fresh memory costs time: each new buffer is page-faulted in).
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
    m = (n - 1) // step + 1  # outputs
    out = np.empty(m, a.dtype)
    per = max(1, _CHUNK // step)  # outputs per chunk
    nblk = min(per, m) + q + 1  # blocks a chunk reads
    buf = np.empty(nblk * step, a.dtype)
    bsum = np.empty(nblk, a.dtype)
    first_r = np.empty(nblk, a.dtype)  # sum of each block's first r samples
    csum = np.empty(nblk + 1, np.float64)
    carry = 0.0  # sum of the blocks before the chunk
    for b0 in range(0, m, per):  # loop over cache-sized chunks of outputs
        b1 = min(b0 + per, m)
        k = b1 - b0 + q + 1  # blocks b0 .. b1 + q
        lo = b0 * step - half  # those blocks in signal coordinates
        blocks = padded_chunk(a, lo, lo + k * step, buf).reshape(k, step)
        bs = bsum[:k]
        bs[...] = blocks[:, 0]
        for j in range(1, step):  # loop over the few columns of a block
            if j == r:
                first_r[:k] = bs
            bs += blocks[:, j]
        c = csum[: k + 1]
        c[0] = carry
        c[1:] = bs
        np.cumsum(c, out=c)  # sequential: the whole-record cumulative sum
        carry = float(c[b1 - b0])
        w = c[q : q + b1 - b0] - c[: b1 - b0]
        if r:
            w += first_r[q : q + b1 - b0]
        w /= size
        out[b0:b1] = w
    return out


def envelope(filtered: np.ndarray, fs: float, *, window_s: float, out: np.ndarray | None = None) -> np.ndarray:
    """Rectified EMG smoothed by a centred (zero-phase) moving average of ``window_s``.

    ``window_s`` comes from ``ConditioningSettings.envelope_window_s`` (~50 ms). Same units
    as the input (µV); float32. ``out``: a float32 buffer of the input's size to write the
    envelope into (see :func:`running_mean`; e.g. an envelope no longer needed).
    """
    return running_mean(np.asarray(filtered, dtype=np.float32), window_samples(window_s, fs), rectify=True, out=out)
