"""EMG band-pass and mains-hum removal (zero-phase, vectorized).

* :func:`band_edges` / :func:`bandpass`: Butterworth band-pass, ``sosfiltfilt``
  (AASM EMG 10-100 Hz [UNCONFIRMED in a stored source]; the upper edge is kept below
  ``lowpass_max_fraction_of_nyquist`` x Nyquist so 200 Hz recordings work).
* :func:`detect_mains`: 50 vs 60 Hz from the averaged spectrum, only when a clear peak exists.
* :func:`remove_mains`: subtracts a running sinusoid estimate of the hum and its harmonics.
  The hum phasor is fitted by least squares in short blocks (``mains_block_s``) and smoothed by
  a running **median** over ``mains_track_s``; a brief potential spoils one or two blocks, which
  the median ignores, so nothing rings after it (a narrow IIR notch rings for hundreds of ms).

Computation is done in float32 (ample for µV-scale EMG; halves the time of an 8-h channel).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage, signal

from somnomyo._logging import logger
from somnomyo.errors import SomnomyoError
from somnomyo.settings import ConditioningSettings

MAINS_CANDIDATES_HZ = (50.0, 60.0)


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


def bandpass(data: np.ndarray, fs: float, *, settings: ConditioningSettings) -> np.ndarray:
    """Zero-phase Butterworth band-pass (``filter_order``, ``sosfiltfilt``); returns float32."""
    lo, hi = band_edges(fs, settings=settings)
    sos = signal.butter(settings.filter_order, [lo, hi], btype="bandpass", fs=fs, output="sos")
    x = np.asarray(data, dtype=np.float32)
    if x.size <= 3 * (2 * sos.shape[0] + 1):
        raise SomnomyoError(f"signal of {x.size} samples is too short to filter")
    return signal.sosfiltfilt(sos.astype(np.float32), x).astype(np.float32, copy=False)


def _mains_ratio_db(x: np.ndarray, fs: float, freq: float) -> float:
    """Power at ``freq`` over the median power 2-6 Hz either side, in dB (averaged spectrum)."""
    nper = int(round(2.0 * fs))                       # 0.5-Hz resolution
    nseg_max = 64
    n_seg = min(nseg_max, x.size // nper)
    if n_seg < 1:
        return -np.inf
    starts = np.linspace(0, x.size - nper, n_seg).astype(np.int64)
    segs = x[starts[:, None] + np.arange(nper)].astype(np.float64)
    win = signal.windows.hann(nper, sym=False)
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


def _hum_terms(X: np.ndarray, n_valid: int, fs: float, freq: float, n_med: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients and basis of the robust running sinusoid at ``freq`` on the block view ``X``.

    Per block b the hum is ``Re(A_b exp(j w t))``; with ``t = b*L + i`` the phasor factorises as
    ``rot_b[b] * rot_i[i]``, so the per-sample work is a BLAS product ``coef @ basis``. Returns
    (coef_left, basis_left, coef_right, basis_right) for the first and second half of each block.
    """
    nb, block = X.shape
    pad = nb * block - n_valid
    w = 2.0 * np.pi * freq / fs
    rot_b = np.exp(1j * w * block * np.arange(nb))          # phase at each block start
    i = np.arange(block)
    cos_i, sin_i = np.cos(w * i), np.sin(w * i)
    # Least-squares phasor A per block for x ~ Re(A P), P = rot_b rot_i (exact for a pure tone
    # in any block length): z = sum x conj(P), g = sum P^2, N = valid samples,
    # A = 2 (N z - conj(g) conj(z)) / (N^2 - |g|^2).
    z = np.conj(rot_b) * (X @ cos_i.astype(np.float32) - 1j * (X @ sin_i.astype(np.float32)))
    rot_i2 = np.exp(2j * w * i)
    g = rot_b ** 2 * rot_i2.sum()
    N = np.full(nb, float(block))
    if pad:
        N[-1] = block - pad
        g[-1] = rot_b[-1] ** 2 * rot_i2[: block - pad].sum()
    den = N ** 2 - np.abs(g) ** 2
    ok = den > 1e-6 * N ** 2
    A = np.zeros(nb, np.complex128)
    A[ok] = 2.0 * (N[ok] * z[ok] - np.conj(g[ok]) * np.conj(z[ok])) / den[ok]
    if not ok.all():                                   # too-short last block: take its neighbour
        A[~ok] = A[ok][-1] if ok.any() else 0.0
    # Robust tracking: running median over blocks (a brief potential spoils <= 2 blocks).
    Am = (ndimage.median_filter(A.real, size=n_med, mode="nearest")
          + 1j * ndimage.median_filter(A.imag, size=n_med, mode="nearest"))
    # Piecewise-linear phasor between block centres: A(b, u) = Am_b + u * slope, u in [-0.5, 0.5),
    # slope towards the previous centre in the first half, towards the next in the second half.
    u = (i - (block - 1) / 2.0) / block
    mid = int(np.searchsorted(u, 0.0))
    B = Am * rot_b
    out = []
    for sl, slope in ((slice(0, mid), (Am - np.insert(Am[:-1], 0, Am[:1])) * rot_b),
                      (slice(mid, block), (np.append(Am[1:], Am[-1:]) - Am) * rot_b)):
        # Re((B + u D) rot_i) = B.re cos - B.im sin + u (D.re cos - D.im sin)
        out.append(np.stack([B.real, -B.imag, slope.real, -slope.imag], axis=1).astype(np.float32))
        c, s_, uu = cos_i[sl], sin_i[sl], u[sl]
        out.append(np.stack([c, s_, uu * c, uu * s_]).astype(np.float32))
    return out[0], out[1], out[2], out[3]


def remove_mains(data: np.ndarray, fs: float, *, mains_hz: float,
                 settings: ConditioningSettings) -> np.ndarray:
    """Remove mains hum at ``mains_hz`` and its harmonics (up to ``mains_harmonics``, below
    0.95 x Nyquist) by subtracting a robust running sinusoid estimate; returns float32.

    Ringless by construction: the estimate at any time depends only on blocks within
    ``mains_track_s / 2`` and is a median, so a brief potential does not leak into it.
    """
    x = np.asarray(data, dtype=np.float32)
    n = x.size
    block = max(2, int(round(settings.mains_block_s * fs)))
    n_med = max(1, int(round(settings.mains_track_s / settings.mains_block_s)))
    n_med += (n_med + 1) % 2                               # odd
    freqs = [k * mains_hz for k in range(1, settings.mains_harmonics + 1) if k * mains_hz < 0.95 * fs / 2.0]
    if not freqs or n < 2 * block:
        return x.copy()
    nb = -(-n // block)
    X = np.concatenate([x, np.zeros(nb * block - n, np.float32)]).reshape(nb, block)
    terms = [_hum_terms(X, n, fs, f, n_med) for f in freqs]
    # one contiguous GEMM: left-half basis rows are zero on the right half and vice versa
    mid = terms[0][1].shape[1]
    coef = np.concatenate([np.concatenate([t[0], t[2]], axis=1) for t in terms], axis=1)
    basis = np.zeros((coef.shape[1], block), np.float32)
    for k, t in enumerate(terms):
        basis[8 * k: 8 * k + 4, :mid] = t[1]
        basis[8 * k + 4: 8 * k + 8, mid:] = t[3]
    X -= coef @ basis
    return X.reshape(-1)[:n]
