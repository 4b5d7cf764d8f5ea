"""EMG band-pass and mains-hum removal (zero-phase, vectorized).

* :func:`band_edges` / :func:`bandpass`: Butterworth band-pass, ``sosfiltfilt``
  (AASM EMG 10-100 Hz [UNCONFIRMED in a stored source]; the upper edge is kept below
  ``lowpass_max_fraction_of_nyquist`` x Nyquist so 200 Hz recordings work).
* :func:`butter_filtfilt`: the one zero-phase Butterworth band-/high-/low-pass (EMG, ECG, EEG),
  its design cached per (rate, band, order) (:func:`somnomyo.signal.iir.butter_design`), run by
  :func:`sosfiltfilt32` (float32) or :func:`sosfiltfilt64` (float64).
* :func:`detect_mains`: 50 vs 60 Hz from the averaged spectrum, only when a clear peak exists.
* :func:`hum_harmonics`: which harmonics of the mains carry hum on a channel (others are not fitted).
* :func:`remove_mains`: subtracts a running sinusoid estimate of the hum and its harmonics.
  The hum phasor is fitted by least squares in short blocks (``mains_block_s``) and smoothed by
  a running **median** over ``mains_track_s``; a brief potential spoils one or two blocks, which
  the median ignores, so nothing rings after it (a narrow IIR notch rings for hundreds of ms).

Computation is done in float32 (ample for µV-scale EMG; halves the time of an 8-h channel).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from somnomyo._logging import logger
from somnomyo.errors import SomnomyoError
from somnomyo.settings import ConditioningSettings
from somnomyo.signal import iir, rolling
from somnomyo.signal.windows import hann

MAINS_CANDIDATES_HZ = (50.0, 60.0)
_SOS_CHUNK = iir.CHUNK  # samples per chunk of :func:`remove_mains` (cache-sized; speed only)


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
            f"(EMG needs >= 200 Hz sampling)"
        )
    return lo, hi


def bandpass(data: np.ndarray, fs: float, *, settings: ConditioningSettings, finite: bool = False) -> np.ndarray:
    """Zero-phase Butterworth band-pass (``filter_order``, as ``sosfiltfilt``); returns a new
    contiguous float32 array (see :func:`sosfiltfilt32`). ``finite``: non-finite samples are set
    to 0 first (logged)."""
    lo, hi = band_edges(fs, settings=settings)
    sos = iir.butter_design(fs, (lo, hi), order=settings.filter_order)
    if np.asarray(data).size <= 3 * (2 * sos.shape[0] + 1):
        raise SomnomyoError(f"signal of {np.asarray(data).size} samples is too short to filter")
    return sosfiltfilt32(sos, data, finite=finite)


def butter_filtfilt(
    data: np.ndarray,
    fs: float,
    *,
    order: int,
    low_hz: float | None = None,
    high_hz: float | None = None,
    double: bool = False,
    finite: bool = False,
) -> np.ndarray:
    """Zero-phase Butterworth filter of ``order``: band-pass with both edges, high-pass with
    ``low_hz`` alone, low-pass with ``high_hz`` alone; the same numbers as ``scipy.signal.butter``
    + ``sosfiltfilt``, in float32 (:func:`sosfiltfilt32`; ``finite``: non-finite samples set to 0
    first) or, with ``double``, float64 (:func:`sosfiltfilt64`). The design is cached per
    (rate, band, order) (:func:`somnomyo.signal.iir.butter_design`)."""
    sos = iir.butter_design(fs, (low_hz, high_hz), order=order)
    return sosfiltfilt64(sos, data) if double else sosfiltfilt32(sos, data, finite=finite)


def sosfiltfilt32(sos: np.ndarray, data: np.ndarray, *, finite: bool = False) -> np.ndarray:
    """``scipy.signal.sosfiltfilt(sos, data)`` in float32 (the same result as with float32 ``sos``
    and data: odd padding of ``3 x (2 x sections + 1)`` samples, each pass started in the steady
    state of its first sample), as a new contiguous array, in ONE full-length buffer: the data
    are cast straight into the padded buffer and both passes run in place over cache-sized
    chunks (:func:`somnomyo.signal.iir.sosfilt_inplace`). ``finite``: non-finite samples are set to 0
    first (logged).
    The signal must be longer than the padding.
    """
    sos = np.asarray(sos).astype(np.float32)
    x = np.asarray(data)
    n = x.size
    edge = 3 * (2 * sos.shape[0] + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum())))
    if n <= edge:
        raise SomnomyoError(f"signal of {n} samples is too short to filter")
    ext = np.empty(n + 2 * edge, np.float32)
    body = ext[edge : edge + n]
    body[...] = x
    if finite:
        bad = ~np.isfinite(body)
        if bad.any():
            logger.warning("EMG: %d non-finite samples set to 0", int(bad.sum()))
            body[bad] = 0.0
        del bad
    if edge:  # odd extension (a 180-degree rotation about each end point), as scipy's ``odd_ext``
        ext[:edge] = 2 * body[0] - body[edge:0:-1]
        ext[edge + n :] = 2 * body[-1] - body[-2 : -(edge + 2) : -1]
    iir.sosfilt_inplace(sos, ext)
    iir.sosfilt_inplace(sos, ext, backward=True)
    return body


def sosfiltfilt64(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``scipy.signal.sosfiltfilt(sos, x)`` in float64, bit for bit, in ONE padded buffer.

    The same steps as scipy (odd extension of ``3 x (2 x sections + 1 - ...)`` samples, forward
    pass started in the steady state of the first sample, backward pass in that of the last),
    run in place by :func:`somnomyo.signal.iir.sosfilt_inplace` (scipy's own kernel; the backward
    pass one reversed cache-sized chunk at a time, the filter state carried over) without
    importing ``scipy.signal`` and without scipy's full-length copies (first touch of fresh
    memory costs more than the arithmetic). Returns a contiguous view of the padded buffer.
    """
    sos = np.array(sos, dtype=np.float64, order="C")
    x = np.asarray(x)
    n = x.size
    edge = 3 * (2 * sos.shape[0] + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum())))
    if n <= edge:
        raise ValueError(f"The length of the input vector x must be greater than padlen, which is {edge}.")
    ext = np.empty(n + 2 * edge, np.float64)
    body = ext[edge : edge + n]
    body[...] = x
    if edge:  # odd extension (scipy ``odd_ext``)
        ext[:edge] = 2 * body[0] - body[edge:0:-1]
        ext[edge + n :] = 2 * body[-1] - body[-2 : -(edge + 2) : -1]
    iir.sosfilt_inplace(sos, ext)  # forward pass, in place
    iir.sosfilt_inplace(sos, ext, backward=True)  # backward pass, from the end
    return body


def _mains_ratio_db(x: np.ndarray, fs: float, freq: float) -> float:
    """Power at ``freq`` over the median power 2-6 Hz either side, in dB (averaged spectrum)."""
    nper = int(round(2.0 * fs))  # 0.5-Hz resolution
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
    for ev in evidence:  # loop over channels
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


class _HumFit:
    """Per-block constants of the least-squares hum phasor fit at ``freqs`` (see
    :func:`_hum_coefficients`): for each harmonic, the phase step per block and, for blocks of
    ``block`` samples and for the last block of ``tail`` samples (when ``tail`` > 0), the real
    factors of ``P = N (zc - j zs) - conj(G) (zc + j zs)`` scaled by ``2 / den`` (``None`` when
    the fit is ill-conditioned for that block length)."""

    def __init__(self, block: int, tail: int, nb: int, fs: float, freqs: Sequence[float]) -> None:
        self.nb, self.tail = nb, tail
        self.dtheta: list[float] = []
        self.full: list[tuple[float, float, float] | None] = []
        self.last: list[tuple[float, float, float] | None] = []
        for freq in freqs:  # loop over the few harmonics
            w = 2.0 * np.pi * freq / fs
            self.dtheta.append(np.mod(w * block, 2.0 * np.pi))
            self.full.append(self._factors(w, block))
            self.last.append(self._factors(w, tail) if tail else None)

    @staticmethod
    def _factors(w: float, m: int) -> tuple[float, float, float] | None:
        G = np.exp(2j * w * np.arange(m)).sum()
        den = float(m) ** 2 - abs(G) ** 2
        if not den > 1e-6 * float(m) ** 2:
            return None
        s2 = 2.0 / den
        return s2 * (m - G.real), s2 * G.imag, s2 * (m + G.real)

    def last_ok(self, k: int) -> int | None:
        """The last block whose length is well conditioned for harmonic ``k`` (None: none is)."""
        if self.tail and self.last[k] is not None:
            return self.nb - 1
        n_full = self.nb - 1 if self.tail else self.nb
        return n_full - 1 if self.full[k] is not None and n_full > 0 else None


def _hum_phasors(proj: np.ndarray, fit: _HumFit, k: int, b0: int, b1: int, out: np.ndarray, rcs: np.ndarray) -> None:
    """Least-squares phasors ``A_b`` of harmonic ``k`` for blocks ``b0 .. b1 - 1`` (inside
    ``[0, nb)``): real parts into ``out[0]``, imaginary into ``out[1]`` (float64, ``b1 - b0`` long);
    ``rcs[0]``, ``rcs[1]``: ``cos``, ``sin`` of the phase at each block start. Every value is
    computed elementwise, so it does not depend on the range (see :func:`_hum_coefficients`)."""
    nb, tail = fit.nb, fit.tail
    m = b1 - b0
    theta = np.arange(b0, b1, dtype=np.float64)
    theta *= fit.dtheta[k]  # phase at each block start
    rc, rs = rcs[0, :m], rcs[1, :m]
    np.cos(theta, out=rc)
    np.sin(theta, out=rs)
    zc, zs = proj[2 * k, b0:b1].astype(np.float64), proj[2 * k + 1, b0:b1].astype(np.float64)
    re, im = np.zeros(m), np.zeros(m)
    ok = np.ones(m, bool)
    n_full = nb - 1 if tail else nb  # blocks of ``block`` samples
    for lo, hi, fac in ((b0, min(b1, n_full), fit.full[k]), (max(b0, n_full), b1, fit.last[k])):
        if lo >= hi:
            continue
        sl = slice(lo - b0, hi - b0)
        if fac is None:
            ok[sl] = False
            continue
        f_re, f_cross, f_im = fac
        re[sl] = f_re * zc[sl] - f_cross * zs[sl]
        im[sl] = f_cross * zc[sl] - f_im * zs[sl]
    a_re, a_im = out[0, :m], out[1, :m]
    np.multiply(rc, re, out=a_re)
    a_re += rs * im  # A = conj(rot_b) P
    np.multiply(rc, im, out=a_im)
    a_im -= rs * re
    if not ok.all():  # an ill-conditioned block length:
        last = fit.last_ok(k)  # the last well-fitted block's phasor
        src = np.zeros((2, 1))
        if last is not None:
            _hum_phasors(proj, fit, k, last, last + 1, src, np.empty((2, 1)))
        out[:, :m][:, ~ok] = src


def _hum_coefficients(
    proj: np.ndarray,
    block: int,
    tail: int,
    fs: float,
    freqs: Sequence[float],
    n_med: int,
    b0: int = 0,
    b1: int | None = None,
    fit: _HumFit | None = None,
) -> tuple[np.ndarray, int]:
    """Reconstruction coefficients of the robust running sinusoids at ``freqs``, for the blocks
    ``b0 .. b1 - 1`` (default: all).

    ``proj`` (2F x blocks): each block's sums ``sum x cos(w i)``, ``sum x sin(w i)`` (``i`` = sample
    within the block); every block holds ``block`` samples except the last, which holds ``tail``
    when ``tail`` > 0. Per block b the hum is ``Re(A_b exp(j w t))`` with ``t = b*L + i``, so the
    phasor factorises as ``rot_b[b] * rot_i[i]``. Least-squares phasor for ``x ~ Re(A P)`` (exact
    for a pure tone in any block length): with ``z = sum x conj(P)``, ``g = sum P^2``, ``N`` valid
    samples, ``A = 2 (N z - conj(g) conj(z)) / (N^2 - |g|^2)``; as ``g = rot_b^2 G`` this is
    ``A = 2 conj(rot_b) (N (zc - j zs) - conj(G) (zc + j zs)) / den``. The phasors are smoothed by
    a running median over ``n_med`` blocks (robust: a brief potential spoils <= 2 blocks; edges:
    nearest block repeated) and made piecewise linear between block centres (slope towards the
    previous centre in a block's first half, towards the next in its second half).

    Only the blocks the requested ones depend on are fitted (``n_med // 2 + 1`` either side), so
    a record is done a cache-sized range at a time, with the same values as all at once.
    Returns (coef, mid): ``coef`` (8F x (b1 - b0), float32) for the basis of :func:`_hum_basis`;
    ``mid`` = first sample of a block's second half.
    """
    nb = proj.shape[1]
    b1 = nb if b1 is None else b1
    fit = fit if fit is not None else _HumFit(block, tail, nb, fs, freqs)
    u = (np.arange(block) - (block - 1) / 2.0) / block
    mid = int(np.searchsorted(u, 0.0))
    h = n_med // 2
    m = b1 - b0
    lo, hi = b0 - 1 - h, b1 + 1 + h  # phasors needed (padded range)
    c_lo, c_hi = max(lo, 0), min(hi, nb)
    A = np.empty((2, hi - lo))  # re, im rows, edge-padded
    rcs = np.empty((2, c_hi - c_lo))
    Am = np.empty((2, m + 2))  # median phasors, blocks b0-1 .. b1
    coef = np.empty((8 * len(freqs), m), np.float32)
    t64 = np.empty(m)
    for k in range(len(freqs)):  # loop over the few harmonics
        _hum_phasors(proj, fit, k, c_lo, c_hi, A[:, c_lo - lo : c_hi - lo], rcs)
        if lo < c_lo:
            A[:, : c_lo - lo] = A[:, c_lo - lo : c_lo - lo + 1]
        if hi > c_hi:
            A[:, c_hi - lo :] = A[:, c_hi - lo - 1 : c_hi - lo]
        rolling.sliding_median(A, n_med, out=Am)
        rc, rs = rcs[0, b0 - c_lo : b1 - c_lo], rcs[1, b0 - c_lo : b1 - c_lo]
        m_re, m_im = Am[0, 1 : m + 1], Am[1, 1 : m + 1]
        c = coef[8 * k : 8 * k + 8]
        # B = Am rot_b (rows 0-1 and 4-5: B.re, -B.im); slopes D = dAm rot_b (rows 2-3, 6-7)
        np.subtract(np.multiply(m_re, rc, out=t64), m_im * rs, out=c[0])
        np.add(np.multiply(m_re, rs, out=t64), m_im * rc, out=c[1])
        np.negative(c[1], out=c[1])
        c[4:6] = c[0:2]
        # left half: D = (Am[b] - Am[b-1]) rot_b (0 at b = 0); right: (Am[b+1] - Am[b]) rot_b (0 at the last)
        for row, d_re, d_im in (
            (2, Am[0, 1 : m + 1] - Am[0, :m], Am[1, 1 : m + 1] - Am[1, :m]),
            (6, Am[0, 2:] - Am[0, 1 : m + 1], Am[1, 2:] - Am[1, 1 : m + 1]),
        ):
            np.subtract(np.multiply(d_re, rc, out=t64), d_im * rs, out=c[row])
            np.add(np.multiply(d_re, rs, out=t64), d_im * rc, out=c[row + 1])
            np.negative(c[row + 1], out=c[row + 1])
        if b0 == 0:
            c[2, 0] = c[3, 0] = 0.0
        if b1 == nb:
            c[6, -1] = c[7, -1] = 0.0
    return coef, mid


def _hum_basis(block: int, fs: float, freqs: Sequence[float], mid: int) -> np.ndarray:
    """Basis (8F x block, float32) for :func:`_hum_coefficients`: per harmonic, rows
    ``cos, sin, u cos, u sin`` on the first half of the block (zero on the second half), then the
    same on the second half; ``Re((B + u D) rot_i) = B.re cos - B.im sin + u (D.re cos - D.im sin)``."""
    i = np.arange(block)
    u = (i - (block - 1) / 2.0) / block
    basis = np.zeros((8 * len(freqs), block), np.float32)
    for k, freq in enumerate(freqs):  # loop over the few harmonics
        w = 2.0 * np.pi * freq / fs
        rows = np.stack([np.cos(w * i), np.sin(w * i), u * np.cos(w * i), u * np.sin(w * i)])
        basis[8 * k : 8 * k + 4, :mid] = rows[:, :mid]
        basis[8 * k + 4 : 8 * k + 8, mid:] = rows[:, mid:]
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
    for k in range(2, n_max + 1):  # loop over the few harmonics
        f = k * mains_hz
        if f >= 0.95 * fs / 2.0:
            break
        if f + 6.0 >= fs / 2.0 or _mains_ratio_db(x, fs, f) >= settings.mains_harmonic_min_db:
            keep = k
    return keep


def remove_mains(
    data: np.ndarray,
    fs: float,
    *,
    mains_hz: float,
    settings: ConditioningSettings,
    harmonics: int | None = None,
    overwrite: bool = False,
) -> np.ndarray:
    """Remove mains hum at ``mains_hz`` and its harmonics (up to ``harmonics``, default
    ``mains_harmonics``, below 0.95 x Nyquist; see :func:`hum_harmonics`) by subtracting a robust
    running sinusoid estimate; returns float32.

    Ringless by construction: the estimate at any time depends only on blocks within
    ``mains_track_s / 2`` and is a median, so a brief potential does not leak into it.
    One read of the data for every harmonic's block sums (a BLAS product on the block view);
    then, a cache-sized chunk of blocks at a time, the chunk's coefficients
    (:func:`_hum_coefficients`, with the running median of
    :func:`somnomyo.signal.rolling.sliding_median`), its hum estimate and the subtraction in
    place: no full-length temporary besides the block sums, the values of a whole-record fit.
    ``overwrite``: a contiguous float32 ``data`` is cleaned in place (the caller owns it; no
    output array) and returned; otherwise a copy is cleaned.
    """
    x = np.ascontiguousarray(data, dtype=np.float32)
    in_place = overwrite and x is data and x.flags.writeable
    n = x.size
    block = max(2, int(round(settings.mains_block_s * fs)))
    n_med = max(1, int(round(settings.mains_track_s / settings.mains_block_s)))
    n_med += (n_med + 1) % 2
    n_h = settings.mains_harmonics if harmonics is None else harmonics
    freqs = [k * mains_hz for k in range(1, n_h + 1) if k * mains_hz < 0.95 * fs / 2.0]
    if not freqs or n < 2 * block:
        return x if in_place else x.copy()
    nf, tail = divmod(n, block)
    i = np.arange(block)
    trig = np.empty((block, 2 * len(freqs)), np.float32)  # columns cos(w i), sin(w i) per harmonic
    for k, freq in enumerate(freqs):
        trig[:, 2 * k] = np.cos(2.0 * np.pi * freq / fs * i)
        trig[:, 2 * k + 1] = np.sin(2.0 * np.pi * freq / fs * i)
    X = x[: nf * block].reshape(nf, block)
    nb = nf + (tail > 0)
    proj = np.empty((2 * len(freqs), nb), np.float32)
    np.matmul(trig.T, X.T, out=proj[:, :nf])
    if tail:
        proj[:, nf] = trig[:tail].T @ x[nf * block :]
    fit = _HumFit(block, tail, nb, fs, freqs)
    basis = _hum_basis(block, fs, freqs, int(np.searchsorted((i - (block - 1) / 2.0) / block, 0.0)))
    out = x if in_place else x.copy()
    Xo = out[: nf * block].reshape(nf, block)
    step = max(1, _SOS_CHUNK // block)
    # a cache-sized chunk of blocks at a time: its coefficients (from the block sums of the
    # original data, all computed above), the hum estimate, subtracted in place
    for b0 in range(0, nf, step):  # loop over chunks of blocks, not samples
        b1 = min(b0 + step, nf)
        coef, _ = _hum_coefficients(proj, block, tail, fs, freqs, n_med, b0, b1 + (tail > 0 and b1 == nf), fit)
        Xc = Xo[b0:b1]
        Xc -= coef[:, : b1 - b0].T @ basis
        if tail and b1 == nf:
            out[nf * block :] -= coef[:, b1 - b0] @ basis[:, :tail]
    return out
