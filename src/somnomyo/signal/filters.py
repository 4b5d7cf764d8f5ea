"""EMG band-pass and mains-hum removal (zero-phase, vectorized).

* :func:`band_edges` / :func:`bandpass`: Butterworth band-pass, ``sosfiltfilt``
  (AASM EMG 10-100 Hz [UNCONFIRMED in a stored source]; the upper edge is kept below
  ``lowpass_max_fraction_of_nyquist`` x Nyquist so 200 Hz recordings work).
* :func:`detect_mains`: 50 vs 60 Hz from the averaged spectrum, only when a clear peak exists.
* :func:`hum_harmonics`: which harmonics of the mains carry hum on a channel (others are not fitted).
* :func:`remove_mains`: subtracts a running sinusoid estimate of the hum and its harmonics.
  The hum phasor is fitted by least squares in short blocks (``mains_block_s``) and smoothed by
  a running **median** over ``mains_track_s``; a brief potential spoils one or two blocks, which
  the median ignores, so nothing rings after it (a narrow IIR notch rings for hundreds of ms).

Computation is done in float32 (ample for µV-scale EMG; halves the time of an 8-h channel).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage

from somnomyo._logging import logger
from somnomyo.errors import SomnomyoError
from somnomyo.settings import ConditioningSettings
from somnomyo.signal import iir
from somnomyo.signal.windows import hann

MAINS_CANDIDATES_HZ = (50.0, 60.0)
_SOS_CHUNK = 1 << 17   # samples per sosfilt call in :func:`sosfilt_inplace` (cache-sized; speed only)


def band_edges(fs: float, *, settings: ConditioningSettings) -> tuple[float, float]:
    """(high-pass, low-pass) edges in Hz for sampling rate ``fs``.

    Upper edge = min(``lowpass_hz``, ``lowpass_max_fraction_of_nyquist`` x fs/2) (AASM EMG
    band-pass 10-100 Hz [UNCONFIRMED]; MATPLM ``getInput2.m`` keeps it at 0.45 fs).
    Raises :class:`SomnomyoError` when the rate leaves no usable band.
    """
    nyq = fs / 2.0
    hi = min(settings.lowpass_hz, settings.lowpass_max_fraction_of_nyquist * nyq)
    lo = settings.highpass_hz
    if not hi > lo * 1.5:
        raise SomnomyoError(
            f"sampling rate {fs:g} Hz is too low for EMG: band-pass {lo:g}-{hi:g} Hz is empty "
            f"(EMG needs >= 200 Hz sampling)")
    return lo, hi


def bandpass(data: np.ndarray, fs: float, *, settings: ConditioningSettings,
             finite: bool = False) -> np.ndarray:
    """Zero-phase Butterworth band-pass (``filter_order``, as ``sosfiltfilt``); returns a new
    contiguous float32 array (see :func:`sosfiltfilt32`). ``finite``: non-finite samples are set
    to 0 first (logged)."""
    lo, hi = band_edges(fs, settings=settings)
    sos = iir.butter_sos(settings.filter_order, (lo, hi), btype="bandpass", fs=fs)
    if np.asarray(data).size <= 3 * (2 * sos.shape[0] + 1):
        raise SomnomyoError(f"signal of {np.asarray(data).size} samples is too short to filter")
    return sosfiltfilt32(sos, data, finite=finite)


def sosfiltfilt32(sos: np.ndarray, data: np.ndarray, *, finite: bool = False) -> np.ndarray:
    """``scipy.signal.sosfiltfilt(sos, data)`` in float32 (the same result as with float32 ``sos``
    and data: odd padding of ``3 x (2 x sections + 1)`` samples, each pass started in the steady
    state of its first sample), as a new contiguous array, in ONE full-length buffer: the data
    are cast straight into the padded buffer and both passes run in place over cache-sized
    chunks (:func:`sosfilt_inplace`). ``finite``: non-finite samples are set to 0 first (logged).
    The signal must be longer than the padding.
    """
    sos = np.asarray(sos).astype(np.float32)
    x = np.asarray(data)
    n = x.size
    edge = 3 * (2 * sos.shape[0] + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum())))
    if n <= edge:
        raise SomnomyoError(f"signal of {n} samples is too short to filter")
    ext = np.empty(n + 2 * edge, np.float32)
    body = ext[edge: edge + n]
    body[...] = x
    if finite:
        bad = ~np.isfinite(body)
        if bad.any():
            logger.warning("EMG: %d non-finite samples set to 0", int(bad.sum()))
            body[bad] = 0.0
        del bad
    if edge:   # odd extension (a 180-degree rotation about each end point), as scipy's ``odd_ext``
        ext[:edge] = 2 * body[0] - body[edge:0:-1]
        ext[edge + n:] = 2 * body[-1] - body[-2: -(edge + 2): -1]
    sosfilt_inplace(sos, ext)
    sosfilt_inplace(sos, ext, backward=True)
    return body


def sosfilt_inplace(sos: np.ndarray, buf: np.ndarray, *, backward: bool = False,
                    chunk: int = _SOS_CHUNK) -> np.ndarray:
    """One causal ``sosfilt`` pass (float32 ``sos``) over the contiguous 1-D float32 ``buf``, in place,
    forwards or (``backward``) from the end, started in the steady state of the first sample
    visited; the same result as one ``scipy.signal.sosfilt`` call, computed ``chunk`` samples at
    a time with the filter state carried over (:func:`somnomyo.signal.iir.sosfilt_inplace`: the
    forward pass filters ``buf`` itself, the backward pass one reversed chunk copy at a time; no
    full-length copy). Returns ``buf``."""
    n = buf.size
    if n == 0:
        return buf
    dt = np.result_type(sos, buf)                     # float32 for float32 ``sos`` (as scipy)
    zi = np.ascontiguousarray(iir.sosfilt_zi(sos).astype(np.float32) * (buf[-1] if backward else buf[0]), dtype=dt)
    sos = np.ascontiguousarray(sos, dtype=dt)
    if not backward and dt == buf.dtype and buf.flags.c_contiguous:
        for a in range(0, n, chunk):                  # loop over cache-sized chunks, not samples
            iir.sosfilt_inplace(sos, buf[a: a + chunk], zi)
        return buf
    tmp = np.empty(min(chunk, n), dt)
    for a in (range(n - 1, -1, -chunk) if backward else range(0, n, chunk)):   # chunks, not samples
        seg = buf[max(a - chunk + 1, 0): a + 1][::-1] if backward else buf[a: a + chunk]
        t = tmp[: seg.size]
        t[...] = seg
        iir.sosfilt_inplace(sos, t, zi)
        seg[...] = t
    return buf


def _mains_ratio_db(x: np.ndarray, fs: float, freq: float) -> float:
    """Power at ``freq`` over the median power 2-6 Hz either side, in dB (averaged spectrum)."""
    nper = int(round(2.0 * fs))                       # 0.5-Hz resolution
    nseg_max = 64
    n_seg = min(nseg_max, x.size // nper)
    if n_seg < 1:
        return -np.inf
    starts = np.linspace(0, x.size - nper, n_seg).astype(np.int64)
    segs = x[starts[:, None] + np.arange(nper)].astype(np.float64)
    win = hann(nper, sym=False)
    psd = (np.abs(np.fft.rfft((segs - segs.mean(axis=1, keepdims=True)) * win, axis=1)) ** 2).mean(axis=0)
    f = np.fft.rfftfreq(nper, 1.0 / fs)
    peak = psd[np.abs(f - freq) <= 0.5].max()
    side = psd[(np.abs(f - freq) >= 2.0) & (np.abs(f - freq) <= 6.0)]
    ref = np.median(side) if side.size else 0.0
    if ref <= 0:
        return np.inf if peak > 0 else -np.inf
    return float(10.0 * np.log10(peak / ref))


def mains_evidence_db(data: np.ndarray, fs: float) -> dict[float, float]:
    """For each mains candidate (50, 60 Hz) below 0.95 x Nyquist (with 6 Hz to spare): its peak over
    the median spectrum 2-6 Hz either side, in dB (see :func:`detect_mains`)."""
    x = np.asarray(data, dtype=np.float32)
    return {freq: _mains_ratio_db(x, fs, freq) for freq in MAINS_CANDIDATES_HZ if freq + 6.0 < 0.95 * fs / 2.0}


def choose_mains(evidence: list[dict[float, float]], *, settings: ConditioningSettings) -> float | None:
    """The mains frequency with the strongest evidence (dB, from :func:`mains_evidence_db`) over
    several channels of one recording, when it reaches ``mains_detect_min_db``; else ``None``."""
    best, best_db = None, settings.mains_detect_min_db
    for ev in evidence:                                # loop over channels
        for freq in MAINS_CANDIDATES_HZ:
            db = ev.get(freq, -np.inf)
            if db >= best_db and (best is None or db > best_db):
                best, best_db = freq, db
    return best


def detect_mains(data: np.ndarray, fs: float, *, settings: ConditioningSettings) -> float | None:
    """Mains frequency (50 or 60 Hz) if a clear spectral peak exists, else ``None``.

    A candidate must lie below 0.95 x Nyquist and stand ``mains_detect_min_db`` above the
    median spectrum 2-6 Hz either side (spectrum averaged over up to 64 two-second segments
    spread over the record). The larger of the two qualifying peaks wins.
    """
    x = np.asarray(data, dtype=np.float32)
    best, best_db = None, settings.mains_detect_min_db
    for freq in MAINS_CANDIDATES_HZ:
        if freq + 6.0 >= 0.95 * fs / 2.0:
            continue
        db = _mains_ratio_db(x, fs, freq)
        if db >= best_db:
            best, best_db = freq, db
    logger.debug("mains detection: %s", "none" if best is None else f"{best:g} Hz ({best_db:.1f} dB)")
    return best


def _hum_coefficients(proj: np.ndarray, block: int, tail: int, fs: float,
                      freqs: Sequence[float], n_med: int) -> tuple[np.ndarray, int]:
    """Reconstruction coefficients of the robust running sinusoids at ``freqs``.

    ``proj`` (2F x blocks): each block's sums ``sum x cos(w i)``, ``sum x sin(w i)`` (``i`` = sample
    within the block); every block holds ``block`` samples except the last, which holds ``tail``
    when ``tail`` > 0. Per block b the hum is ``Re(A_b exp(j w t))`` with ``t = b*L + i``, so the
    phasor factorises as ``rot_b[b] * rot_i[i]``. Least-squares phasor for ``x ~ Re(A P)`` (exact
    for a pure tone in any block length): with ``z = sum x conj(P)``, ``g = sum P^2``, ``N`` valid
    samples, ``A = 2 (N z - conj(g) conj(z)) / (N^2 - |g|^2)``; as ``g = rot_b^2 G`` this is
    ``A = 2 conj(rot_b) (N (zc - j zs) - conj(G) (zc + j zs)) / den``. The phasors are smoothed by
    a running median over ``n_med`` blocks (robust: a brief potential spoils <= 2 blocks) and made
    piecewise linear between block centres (slope towards the previous centre in a block's first
    half, towards the next in its second half).

    Returns (coef, mid): ``coef`` (8F x blocks, float32) for the basis of :func:`_hum_basis`;
    ``mid`` = first sample of a block's second half.
    """
    nb = proj.shape[1]
    u = (np.arange(block) - (block - 1) / 2.0) / block
    mid = int(np.searchsorted(u, 0.0))
    bidx = np.arange(nb, dtype=np.float64)
    coef = np.empty((8 * len(freqs), nb), np.float32)
    for k, freq in enumerate(freqs):                               # loop over the few harmonics
        w = 2.0 * np.pi * freq / fs
        theta = bidx * np.mod(w * block, 2.0 * np.pi)              # phase at each block start
        rc, rs = np.cos(theta), np.sin(theta)
        zc, zs = proj[2 * k].astype(np.float64), proj[2 * k + 1].astype(np.float64)
        # P = N (zc - j zs) - conj(G) (zc + j zs), scaled by 2 / den, per block length
        re, im = np.zeros(nb), np.zeros(nb)
        ok = np.ones(nb, bool)
        for sl, m in ((slice(0, nb - 1 if tail else nb), block), (slice(nb - 1, nb), tail)):
            if m == 0 or sl.start >= sl.stop:
                continue
            G = np.exp(2j * w * np.arange(m)).sum()
            den = float(m) ** 2 - abs(G) ** 2
            if not den > 1e-6 * float(m) ** 2:
                ok[sl] = False
                continue
            s2 = 2.0 / den
            re[sl] = (s2 * (m - G.real)) * zc[sl] - (s2 * G.imag) * zs[sl]
            im[sl] = (s2 * G.imag) * zc[sl] - (s2 * (m + G.real)) * zs[sl]
        a_re = rc * re
        a_re += rs * im                                             # A = conj(rot_b) P
        a_im = rc * im
        a_im -= rs * re
        if not ok.all():                                            # too-short last block: its neighbour
            last = np.flatnonzero(ok)
            a_re[~ok] = a_re[last[-1]] if last.size else 0.0
            a_im[~ok] = a_im[last[-1]] if last.size else 0.0
        m_re = ndimage.median_filter(a_re, size=n_med, mode="nearest")
        m_im = ndimage.median_filter(a_im, size=n_med, mode="nearest")
        c = coef[8 * k: 8 * k + 8]
        # B = Am rot_b (rows 0-1 and 4-5: B.re, -B.im); slopes D = dAm rot_b (rows 2-3, 6-7)
        np.subtract(m_re * rc, m_im * rs, out=c[0])
        np.add(m_re * rs, m_im * rc, out=c[1])
        np.negative(c[1], out=c[1])
        c[4:6] = c[0:2]
        for row, d_re, d_im in ((2, m_re[1:] - m_re[:-1], m_im[1:] - m_im[:-1]),):
            # left half: D = (Am[b] - Am[b-1]) rot_b (0 at b = 0); right: (Am[b+1] - Am[b]) rot_b
            c[2, 0] = c[3, 0] = 0.0
            np.subtract(d_re * rc[1:], d_im * rs[1:], out=c[2, 1:])
            np.add(d_re * rs[1:], d_im * rc[1:], out=c[3, 1:])
            np.negative(c[3, 1:], out=c[3, 1:])
            c[6, -1] = c[7, -1] = 0.0
            np.subtract(d_re * rc[:-1], d_im * rs[:-1], out=c[6, :-1])
            np.add(d_re * rs[:-1], d_im * rc[:-1], out=c[7, :-1])
            np.negative(c[7, :-1], out=c[7, :-1])
    return coef, mid


def _hum_basis(block: int, fs: float, freqs: Sequence[float], mid: int) -> np.ndarray:
    """Basis (8F x block, float32) for :func:`_hum_coefficients`: per harmonic, rows
    ``cos, sin, u cos, u sin`` on the first half of the block (zero on the second half), then the
    same on the second half; ``Re((B + u D) rot_i) = B.re cos - B.im sin + u (D.re cos - D.im sin)``."""
    i = np.arange(block)
    u = (i - (block - 1) / 2.0) / block
    basis = np.zeros((8 * len(freqs), block), np.float32)
    for k, freq in enumerate(freqs):                                # loop over the few harmonics
        w = 2.0 * np.pi * freq / fs
        rows = np.stack([np.cos(w * i), np.sin(w * i), u * np.cos(w * i), u * np.sin(w * i)])
        basis[8 * k: 8 * k + 4, :mid] = rows[:, :mid]
        basis[8 * k + 4: 8 * k + 8, mid:] = rows[:, mid:]
    return basis


def hum_harmonics(data: np.ndarray, fs: float, *, mains_hz: float, settings: ConditioningSettings) -> int:
    """How many multiples of ``mains_hz`` :func:`remove_mains` should remove from this channel: the
    fundamental always, a harmonic (up to ``mains_harmonics``, below 0.95 x Nyquist) only when its
    spectral peak stands ``mains_harmonic_min_db`` above the median spectrum 2-6 Hz either side
    (as :func:`detect_mains` measures it), up to the last harmonic that carries hum. An
    implementation choice (speed: a harmonic without hum costs a fit and adds only the noise of
    the fit); harmonics too close to Nyquist for the measure, or a channel too short for it, are kept.
    """
    n_max = settings.mains_harmonics
    x = np.asarray(data)
    if n_max <= 1 or x.size < int(round(2.0 * fs)):
        return n_max
    keep = 1
    for k in range(2, n_max + 1):                     # loop over the few harmonics
        f = k * mains_hz
        if f >= 0.95 * fs / 2.0:
            break
        if f + 6.0 >= fs / 2.0 or _mains_ratio_db(x, fs, f) >= settings.mains_harmonic_min_db:
            keep = k
    return keep


def remove_mains(data: np.ndarray, fs: float, *, mains_hz: float,
                 settings: ConditioningSettings, harmonics: int | None = None,
                 overwrite: bool = False) -> np.ndarray:
    """Remove mains hum at ``mains_hz`` and its harmonics (up to ``harmonics``, default
    ``mains_harmonics``, below 0.95 x Nyquist; see :func:`hum_harmonics`) by subtracting a robust
    running sinusoid estimate; returns float32.

    Ringless by construction: the estimate at any time depends only on blocks within
    ``mains_track_s / 2`` and is a median, so a brief potential does not leak into it.
    One read of the data for every harmonic's block sums (a BLAS product on the block view),
    one product writing the estimate into the output and one subtraction in place.
    ``overwrite``: a contiguous float32 ``data`` is cleaned in place (the caller owns it; no
    full-length output array: the estimate is made and subtracted a chunk of blocks at a time,
    the same values) and returned.
    """
    x = np.ascontiguousarray(data, dtype=np.float32)
    in_place = overwrite and x is data and x.flags.writeable
    n = x.size
    block = max(2, int(round(settings.mains_block_s * fs)))
    n_med = max(1, int(round(settings.mains_track_s / settings.mains_block_s)))
    n_med += (n_med + 1) % 2                               # odd
    n_h = settings.mains_harmonics if harmonics is None else harmonics
    freqs = [k * mains_hz for k in range(1, n_h + 1) if k * mains_hz < 0.95 * fs / 2.0]
    if not freqs or n < 2 * block:
        return x if in_place else x.copy()
    nf, tail = divmod(n, block)
    i = np.arange(block)
    trig = np.empty((block, 2 * len(freqs)), np.float32)   # columns cos(w i), sin(w i) per harmonic
    for k, freq in enumerate(freqs):
        trig[:, 2 * k] = np.cos(2.0 * np.pi * freq / fs * i)
        trig[:, 2 * k + 1] = np.sin(2.0 * np.pi * freq / fs * i)
    X = x[: nf * block].reshape(nf, block)
    proj = np.empty((2 * len(freqs), nf + (tail > 0)), np.float32)
    np.matmul(trig.T, X.T, out=proj[:, :nf])
    if tail:
        proj[:, nf] = trig[:tail].T @ x[nf * block:]
    coef, mid = _hum_coefficients(proj, block, tail, fs, freqs, n_med)
    basis = _hum_basis(block, fs, freqs, mid)
    if in_place:
        step = max(1, _SOS_CHUNK // block)
        for b0 in range(0, nf, step):                      # loop over cache-sized chunks of blocks
            Xc = X[b0: b0 + step]
            Xc -= coef[:, b0: b0 + Xc.shape[0]].T @ basis
        if tail:
            x[nf * block:] -= coef[:, nf] @ basis[:, :tail]
        return x
    out = np.empty(n, np.float32)
    Y = out[: nf * block].reshape(nf, block)
    np.matmul(coef[:, :nf].T, basis, out=Y)                # the hum estimate ...
    np.subtract(X, Y, out=Y)                               # ... subtracted in place
    if tail:
        out[nf * block:] = x[nf * block:] - coef[:, nf] @ basis[:, :tail]
    return out
