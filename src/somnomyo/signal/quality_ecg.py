"""The ECG check of the signal-quality checks (:mod:`somnomyo.signal.quality`): windows whose EMG
holds periodic peaks 0.4-2 Hz apart (ECG contamination; a flag only, ECG removal is the conditioning
step's job).

The channel band-passed for EMG (AASM 10-100 Hz; the conditioning's band-pass when the pipeline hands
it over) is squared and low-passed (the envelope), and each window's autocorrelation must show a
prominent peak at a lag of 0.5-2.5 s (thresholds in :class:`~somnomyo.settings_quality.QualitySettings`).

Speed: the autocorrelation depends on the low-pass magnitude only, so the envelope low-pass runs forward
at the full rate and backward after decimation to about ``_ECG_RATE_PER_LOWPASS`` x its edge, both
applied as their (cut) impulse responses by block matrix products computed only at the decimated
samples (:func:`_ecg_envelope`; recursive passes for very long responses), ``_ECG_CHUNK`` samples at a
time (no full-length copy); each window's autocorrelation is evaluated at full lag resolution as one
matrix product with the zero-padded inverse transform's basis at the lags wanted (:func:`_ecg_windows`,
:func:`_ac_basis`), in single precision, ``_CHUNK_WINDOWS`` windows at a time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import scipy.fft

from somnomyo.settings_quality import QualitySettings
from somnomyo.signal.iir import butter_design, sosfilt, sosfilt_zi
from somnomyo.signal.quality_windows import _per_window

# Implementation details for speed (not clinical values):
_CHUNK_WINDOWS = 256  # windows per FFT batch (bounds memory)
_ECG_RATE_PER_LOWPASS = 3.2  # the ECG envelope (low-passed) is decimated to >= this x its low-pass edge
_ECG_CHUNK = 1 << 17  # samples squared and low-passed per call (cache-sized, no full-length copy)
_ECG_FIR_ROWS = 32  # ECG envelope outputs per row of the block matrix products
_ECG_FIR_TAIL = 1e-9  # the envelope low-passes are cut where less than this of their response is left
_ECG_FIR_MAX_TAPS = 2048  # longer responses (very high sampling rates): recursive passes instead


def _ecg_decimation(fs: float, w: int, s: QualitySettings) -> int:
    """Largest factor dividing the window length that keeps the ECG envelope's rate at or above
    ``_ECG_RATE_PER_LOWPASS`` x ``ecg_envelope_lowpass_hz`` (1 = no decimation)."""
    q_max = int(fs // (_ECG_RATE_PER_LOWPASS * s.ecg_envelope_lowpass_hz))
    for q in range(max(q_max, 1), 1, -1):
        if w % q == 0:
            return q
    return 1


def _batched(func: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """Run ``func`` on batches of windows (bounds the memory of the FFTs)."""

    def run(win: np.ndarray) -> np.ndarray:
        if not len(win):
            return np.zeros(0, dtype=bool)
        return np.concatenate([func(win[i : i + _CHUNK_WINDOWS]) for i in range(0, len(win), _CHUNK_WINDOWS)])

    return run


@functools.lru_cache(maxsize=8)
def _ac_basis(nfft: int, up: int, lags: int) -> np.ndarray:
    """``P @ _ac_basis(nfft, up, lags)`` = ``scipy.fft.irfft(P, nfft * up)[..., :lags]`` for the
    ``nfft // 2 + 1`` bins ``P`` of a real power spectrum (float32, read-only): the inverse transform,
    zero-padded to ``up`` x the lag resolution, evaluated only at the lags wanted."""
    m = nfft * up
    k = np.arange(nfft // 2 + 1)
    weight = np.where((k == 0) | (2 * k == m), 1.0, 2.0) / m
    phase = (k[:, None] * np.arange(lags)[None, :]) % m  # exact integer angles
    basis = (weight[:, None] * np.cos(2 * np.pi * phase / m)).astype(np.float32)
    basis.flags.writeable = False
    return basis


def _ecg_windows(win: np.ndarray, fs: float, s: QualitySettings, *, up: int = 1) -> np.ndarray:
    """ECG-dominated windows: a prominent autocorrelation peak of the rectified signal
    at a lag of 0.5-2.5 s (beats 0.4-2 Hz apart).

    ``win`` holds the windows sampled at ``fs / up``; the autocorrelation is evaluated at
    every lag of ``1 / fs`` up to 2.5 s by zero-padding its spectrum (band-limited interpolation:
    the signal is low-passed well below ``fs / (2 up)``), as one matrix product with the
    inverse transform's basis at those lags only (:func:`_ac_basis`), in single precision.
    """
    n_win, w_d = win.shape
    w = w_d * up
    lag_lo = int(round(s.ecg_lag_s[0] * fs))
    lag_hi = min(int(round(s.ecg_lag_s[1] * fs)), w - 1)
    if lag_hi <= lag_lo + 1:
        return np.zeros(n_win, dtype=bool)
    x = (win - win.mean(axis=1, keepdims=True)).astype(np.float32, copy=False)
    nfft = scipy.fft.next_fast_len(w_d + -(-lag_hi // up) + 1, real=True)  # no circular wrap up to lag_hi
    fx = scipy.fft.rfft(x, nfft, axis=1)
    power = fx.real**2 + fx.imag**2
    basis = _ac_basis(nfft, up, lag_hi + 1)
    scale = (1.0 / (w - np.arange(lag_hi + 1))).astype(np.float32)  # unbiased
    r0 = (power @ basis[:, 0]) * scale[0]
    pos = r0 > 0
    # the peak: lags lag_lo..lag_hi of every window
    ac = power @ basis[:, lag_lo:]
    ac *= scale[lag_lo:]
    # (1 / r0 may overflow on a near-silent window: inf/NaN there, as with the full inverse transform)
    with np.errstate(over="ignore", invalid="ignore"):
        norm = np.where(pos, 1.0 / np.where(pos, r0, 1.0), 0.0).astype(np.float32)
        ac *= norm[:, None]
        k = np.argmax(ac, axis=1)
        peak = ac[np.arange(n_win), k]
        hit = peak >= s.ecg_min_autocorr
        # the trough (lowest autocorrelation from lag 1 to the peak lag), where the peak is high enough
        rows = np.flatnonzero(hit)
        if not rows.size:
            return hit
        lags = np.arange(lag_lo, lag_hi + 1)[None, :]
        before = (lags >= 1) & (lags < lag_lo + k[rows, None])
        trough = np.where(before, ac[rows], np.inf).min(axis=1)
        if lag_lo > 1:
            low = power[rows] @ basis[:, 1:lag_lo]
            low *= scale[1:lag_lo]
            low *= norm[rows, None]
            trough = np.minimum(trough, low.min(axis=1))
        hit[rows] = peak[rows] - trough >= s.ecg_min_prominence
    return hit


def _ecg_check(x: np.ndarray, fs: float, w: int, s: QualitySettings, filtered: np.ndarray | None = None) -> np.ndarray:
    """ECG flag per window: high-pass, square, low-pass, then the autocorrelation test.

    ``filtered``: the channel already band-passed for EMG (the conditioning's zero-phase band-pass,
    whose lower edge is the AASM 10-Hz high-pass), used instead of high-passing ``x`` here.

    The test looks at the autocorrelation of the low-passed squared signal, which depends on
    the low-pass magnitude response only, not its phase; so (an implementation shortcut, in
    single precision) the low-pass runs forward at ``fs``, the result is decimated to about
    ``_ECG_RATE_PER_LOWPASS`` x ``ecg_envelope_lowpass_hz`` and the low-pass runs backward at
    that rate (the same ``|H|^2`` as one zero-phase pass, in the band), both computed only at the
    decimated samples (:func:`_ecg_envelope`); the autocorrelation is taken from the decimated
    windows and interpolated back to every lag of ``1 / fs``. The high-pass before squaring is
    zero-phase (forward-backward): the QRS shape matters there.
    """
    n = x.size
    if filtered is None:
        filtered = _emg_band(x, fs, s)
    q = _ecg_decimation(fs, w, s)
    fs_d = fs / q
    if s.ecg_envelope_lowpass_hz < 0.45 * fs and n > 27:
        sos = butter_design(fs, (None, s.ecg_envelope_lowpass_hz), order=4)
        sos_d = butter_design(fs_d, (None, s.ecg_envelope_lowpass_hz), order=4)
        env = _ecg_envelope(filtered, sos, sos_d, q)
    else:
        env = np.square(filtered[::q], dtype=np.float32)
    flags = _per_window(env, w // q, _batched(lambda v: _ecg_windows(v, fs, s, up=q)))
    n_win = -(-n // w)
    if flags.size < n_win:  # the last partial window was lost to decimation: use the last full one
        flags = np.append(flags, np.repeat(flags[-1:], n_win - flags.size))
    return flags[:n_win]


def _emg_band(x: np.ndarray, fs: float, s: QualitySettings) -> np.ndarray:
    """``x`` band-passed for EMG as the conditioning does it (:func:`somnomyo.signal.filters.bandpass`,
    AASM 10-100 Hz, the lower edge ``ecg_highpass_hz``), so that the ECG check gives the same flags
    whether or not the pipeline hands it the conditioning's band-passed signal; a zero-phase
    high-pass alone where the rate leaves no EMG band (or too few samples to band-pass)."""
    from somnomyo.errors import SomnomyoError
    from somnomyo.settings import ConditioningSettings
    from somnomyo.signal.filters import bandpass

    try:
        return bandpass(x, fs, settings=ConditioningSettings(highpass_hz=s.ecg_highpass_hz))
    except SomnomyoError:
        pass
    x32 = np.asarray(x, dtype=np.float32)
    if s.ecg_highpass_hz < 0.45 * fs and x32.size > 27:
        sos = butter_design(fs, (s.ecg_highpass_hz, None), order=4)
        return _filtfilt32(sos, x32)
    return x32


def _impulse_response(sos: np.ndarray) -> np.ndarray:
    """Impulse response (float64) of the causal filter ``sos``, cut where the rest of its absolute sum
    falls below ``_ECG_FIR_TAIL`` x the whole (far below single-precision rounding): evaluated from the
    frequency response on a grid long enough that time aliasing is negligible."""
    sos = np.asarray(sos, dtype=np.float64)
    # pole radius of each section: roots of 1 + a1 z^-1 + a2 z^-2
    a1, a2 = sos[:, 4] / sos[:, 3], sos[:, 5] / sos[:, 3]
    disc = np.sqrt((a1 * a1 - 4 * a2).astype(complex))
    r = float(np.max(np.abs(np.concatenate([(-a1 + disc) / 2, (-a1 - disc) / 2]))))
    if not r < 1:
        raise ValueError("the ECG envelope low-pass is unstable")
    need = 16 + int(np.ceil(np.log(_ECG_FIR_TAIL * 1e-6) / np.log(r))) if r > 0 else 16
    nfft = 1 << int(np.ceil(np.log2(4 * need)))
    z = np.exp(-2j * np.pi * np.fft.rfftfreq(nfft))  # z^-1 on the unit circle
    resp = np.ones(z.size, dtype=complex)
    for b0, b1, b2, c0, c1, c2 in sos:  # loop over the (two) sections
        resp *= (b0 + b1 * z + b2 * z * z) / (c0 + c1 * z + c2 * z * z)
    h = np.fft.irfft(resp, nfft)
    rest = np.cumsum(np.abs(h)[::-1])[::-1]  # rest[i] = sum of |h[j]|, j >= i
    keep = int(np.argmax(rest <= _ECG_FIR_TAIL * rest[0])) or nfft
    return h[:keep]


def _fir_blocks(h: np.ndarray, rows: int, cols: int, step: int, sign: int) -> np.ndarray:
    """Matrices ``m[t]`` (float32, ``rows`` x ``cols``) that apply the FIR ``h`` block by block:
    ``m[t][c, i] = h[step * i + t * rows - c]`` (``sign`` 1, causal) or ``h[t * rows + c - i]``
    (``sign`` -1, anticausal), zero outside ``h``."""
    nb = 1 + -(-(h.size - 1) // rows)
    t, c, i = np.ogrid[:nb, :rows, :cols]
    k = step * i + t * rows - c if sign > 0 else t * rows + c - i
    ok = (k >= 0) & (k < h.size)
    return np.where(ok, h[np.where(ok, k, 0)], 0.0).astype(np.float32)


def _square_fir_decimate(x: np.ndarray, h: np.ndarray, q: int, out: np.ndarray) -> None:
    """``out[m] = sum_k h[k] x[q m - k]**2`` (float32) for ``m < out.size``, with ``x[i < 0] = x[0]``
    (the steady state of the first sample, as :func:`_sosfilt32`): the causal low-pass of the squared
    signal, computed only at the kept samples. Blocks of ``_ECG_FIR_ROWS`` outputs are matrix products
    (BLAS) with the rows of ``q * _ECG_FIR_ROWS`` squared samples before them; ``_ECG_CHUNK`` samples
    are squared at a time (no full-length copy)."""
    n, k_out = x.size, _ECG_FIR_ROWS
    width = q * k_out
    mats = _fir_blocks(h, width, k_out, q, 1)
    nb = len(mats)
    n_rows = -(-out.size // k_out)
    chunk = max(1, _ECG_CHUNK // width)
    buf = np.empty((min(chunk, n_rows) + nb - 1) * width, np.float32)
    part = np.empty((min(chunk, n_rows), k_out), np.float32)
    y = np.empty((min(chunk, n_rows), k_out), np.float32)
    s0 = np.square(x[0], dtype=np.float32)
    for r0 in range(0, n_rows, chunk):  # loop over cache-sized chunks, not samples
        r1 = min(r0 + chunk, n_rows)
        first = (r0 - nb + 1) * width  # sample index of buf[0]
        seg = buf[: (r1 - r0 + nb - 1) * width]
        a, b = max(first, 0), min(r1 * width, n)
        seg[: a - first] = s0
        np.square(x[a:b], out=seg[a - first : b - first], dtype=np.float32)
        seg[b - first :] = 0.0  # only feeds outputs past the end
        blocks = seg.reshape(-1, width)
        acc, tmp = y[: r1 - r0], part[: r1 - r0]
        np.matmul(blocks[nb - 1 : nb - 1 + r1 - r0], mats[0], out=acc)
        for t in range(1, nb):  # a few block matrices
            acc += np.matmul(blocks[nb - 1 - t : nb - 1 - t + r1 - r0], mats[t], out=tmp)
        m = min(r1 * k_out, out.size) - r0 * k_out
        out[r0 * k_out : r0 * k_out + m] = acc.ravel()[:m]


def _fir_backward(buf: np.ndarray, size: int, h: np.ndarray) -> None:
    """``buf[m] = sum_j h[j] buf[m + j]`` for ``m < size``, with ``buf[i >= size] = buf[size - 1]``, in
    place: the causal filter with impulse response ``h`` run backward from the steady state of the
    last sample (as ``_sosfilt32(sos, y[::-1])[::-1]``), as block matrix products like
    :func:`_square_fir_decimate`. ``buf`` holds at least :func:`_fir_backward_size` samples."""
    k_out = _ECG_FIR_ROWS
    mats = _fir_blocks(h, k_out, k_out, 1, -1)
    nb = len(mats)
    n_rows = -(-size // k_out)
    buf[size : (n_rows + nb - 1) * k_out] = buf[size - 1]
    blocks = buf[: (n_rows + nb - 1) * k_out].reshape(-1, k_out)
    chunk = max(1, _ECG_CHUNK // k_out)
    part = np.empty((min(chunk, n_rows), k_out), np.float32)
    e = np.empty((min(chunk, n_rows), k_out), np.float32)
    for r0 in range(0, n_rows, chunk):  # loop over cache-sized chunks, not samples
        r1 = min(r0 + chunk, n_rows)  # rows r0.. are read before they are overwritten
        acc, tmp = e[: r1 - r0], part[: r1 - r0]
        np.matmul(blocks[r0:r1], mats[0], out=acc)
        for t in range(1, nb):  # a few block matrices
            acc += np.matmul(blocks[r0 + t : r1 + t], mats[t], out=tmp)
        blocks[r0:r1] = acc


def _fir_backward_size(size: int, h: np.ndarray) -> int:
    """Samples :func:`_fir_backward` needs in its buffer for ``size`` values and the response ``h``."""
    return (-(-size // _ECG_FIR_ROWS) + len(_fir_blocks(h, _ECG_FIR_ROWS, _ECG_FIR_ROWS, 1, -1)) - 1) * _ECG_FIR_ROWS


def _ecg_envelope(x: np.ndarray, sos: np.ndarray, sos_d: np.ndarray, q: int) -> np.ndarray:
    """The ECG check's envelope: ``x`` squared, low-passed forward (``sos`` at the full rate), every
    ``q``-th sample kept, low-passed backward (``sos_d`` at the kept rate), in single precision.

    Both low-passes are applied as their impulse responses cut where what is left is below
    ``_ECG_FIR_TAIL`` of the whole (the same result as the recursive passes of
    :func:`_square_lowpass_decimate` and :func:`_sosfilt32`, to single-precision rounding), computed
    only at the kept samples; the recursive passes are used when the responses are longer than
    ``_ECG_FIR_MAX_TAPS`` (very high sampling rates)."""
    h, h_d = _impulse_response(sos), _impulse_response(sos_d)
    if max(h.size, h_d.size) > _ECG_FIR_MAX_TAPS:
        return _sosfilt32(sos_d, _square_lowpass_decimate(x, sos, q)[::-1])[::-1]
    size = -(-x.size // q)
    buf = np.empty(max(size, _fir_backward_size(size, h_d)), np.float32)
    _square_fir_decimate(x, h, q, buf[:size])
    _fir_backward(buf, size, h_d)
    return buf[:size]


def _square_lowpass_decimate(x: np.ndarray, sos: np.ndarray, q: int) -> np.ndarray:
    """``_sosfilt32(sos, x ** 2)[::q]`` (float32) without a full-length copy: squared and filtered
    ``_ECG_CHUNK`` samples at a time, the filter state carried over, every ``q``-th output kept."""
    n = x.size
    sos32 = sos.astype(np.float32)
    zi = (sosfilt_zi(sos) * float(np.square(x[0], dtype=np.float32))).astype(np.float32)
    chunk = max(q, _ECG_CHUNK // q * q)  # a multiple of q: the decimation phase is kept
    out = np.empty(-(-n // q), np.float32)
    for a in range(0, n, chunk):  # loop over cache-sized chunks, not samples
        y, zi = sosfilt(sos32, np.square(x[a : a + chunk], dtype=np.float32), zi=zi)
        out[a // q : a // q + -(-y.size // q)] = y[::q]
    return out


def _sosfilt32(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """One causal pass in float32, started in the steady state of the first sample (no edge step)."""
    sos32 = sos.astype(np.float32)
    zi = (sosfilt_zi(sos) * float(x[0])).astype(np.float32)
    return sosfilt(sos32, x, zi=zi)[0]


def _filtfilt32(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Forward-backward (zero-phase) pass in float32, each started in the steady state."""
    return _sosfilt32(sos, _sosfilt32(sos, x)[::-1])[::-1]
