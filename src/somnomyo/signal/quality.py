"""Per-channel signal quality: stretches too poor to score are flagged and excluded.

:func:`assess_quality` looks at one channel in fixed windows (default 5 s) and flags

* ``flat``     - disconnected or dead electrode: window SD below a floor, exactly
  constant, or holding a long run of identical samples;
* ``clipping`` - amplifier saturation: a notable fraction of samples at the channel's
  physical limits (or, without them, in runs at the data's own max/min);
* ``mains``    - power-line interference: the 50 or 60 Hz band holds most of the
  10-100 Hz power;
* ``ecg``      - ECG contamination: periodic peaks 0.4-2 Hz apart in the squared signal
  band-passed for EMG (10-100 Hz, the conditioning's band-pass; a flag only, ECG removal is
  the conditioning step's job);
* ``gap``      - EDF+D discontinuities or missing (NaN) samples.

Flat, clipped and gap time is *unscorable*: excluded from the denominators of the
indices (WASM 2016 asks that artefact-contaminated time be excluded from the time
used for indices) and reported. Mains time is unscorable only if configured. A
whole-channel check warns about µV/V/nV mix-ups.

All thresholds live in :class:`QualitySettings`; they are implementation choices,
not standards, and are marked ``unconfirmed`` in their field metadata.

Speed (an 8-h 256-Hz channel in about a tenth of a second on one core): one pass over the data,
a batch of windows at a time, gives each window's max and min (range, rails), its count of equal
neighbouring samples (the identical-run search runs only where a run is possible) and its mains
spectrum (single precision); per-sample masks are made only for the rare channels that need them
(gaps, identical runs), rail samples are looked for only in the windows that reach the rails, and
the exact SD only where the range does not rule out a flat window. The ECG check reuses the
conditioning's band-pass when the pipeline hands it over (``filtered=``), applies the envelope
low-passes as their (cut) impulse responses by block matrix products, computed only at the
decimated samples (:func:`_ecg_envelope`), and evaluates each window's autocorrelation at full lag
resolution as one matrix product with the zero-padded inverse transform's basis
(:func:`_ecg_windows`); the unit check's medians use a fixed random sample of ``_UNIT_MAX_SAMPLES``
samples, partitioned in place. ``float32`` data are used as they are (no double-precision copy).
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import scipy.fft
from somnomyo.signal.iir import butter_sos, sosfilt, sosfilt_zi

from somnomyo._logging import logger
from somnomyo.errors import check_choice
from somnomyo.io.channels import ROLES
from somnomyo.signal.intervals import (
    empty_intervals, intervals_from_mask, mask_from_intervals, merge_intervals, runs,
    subtract_intervals, total_duration,
)

REASONS: tuple[str, ...] = ("flat", "clipping", "mains", "ecg", "gap")
# roles whose signal is not EMG-like voltage (constant stretches are normal there)
_NON_VOLTAGE_ROLES = ("position", "respiratory", "other")
_EMG_ROLES = ("leg_left", "leg_right", "legs", "chin", "arm_left", "arm_right", "other_emg")
_MICROVOLT_UNITS = ("uv", "µv", "μv")
_CHUNK_WINDOWS = 256   # windows per FFT batch (bounds memory, not a clinical value)
# Implementation details for speed (not clinical values):
_UNIT_MAX_SAMPLES = 1 << 18   # the unit check's medians use a fixed random sample of at most this many samples
_ECG_RATE_PER_LOWPASS = 3.2   # the ECG envelope (low-passed) is decimated to >= this x its low-pass edge
_ECG_CHUNK = 1 << 17          # samples squared and low-passed per call (cache-sized, no full-length copy)
_ECG_FIR_ROWS = 32            # ECG envelope outputs per row of the block matrix products
_ECG_FIR_TAIL = 1e-9          # the envelope low-passes are cut where less than this of their response is left
_ECG_FIR_MAX_TAPS = 2048      # longer responses (very high sampling rates): recursive passes instead
_SCAN_WINDOWS = 64            # windows per batch of the one pass over the data (cache-sized)
_SD_MARGIN = 2.0              # the exact SD is computed where the range does not rule out a low SD (x2 for rounding)


def _q(default: Any, source: str, *, unit: str = "", unconfirmed: bool = True) -> Any:
    return field(default=default, metadata={"source": source, "unit": unit, "unconfirmed": unconfirmed})


@dataclass(frozen=True)
class QualitySettings:
    """Thresholds of the signal-quality checks (implementation choices, not standards)."""

    flat_std_uv: float = _q(0.05, "implementation: a window SD below this is a flat/disconnected channel", unit="µV")
    flat_std_min_fs_hz: float = _q(50.0, "implementation: the SD floor applies to raw signals only; slower channels "
                                         "(1 Hz envelopes such as Sleep-EDF 'EMG submental') are smooth by design",
                                   unit="Hz")
    flat_run_s: float = _q(1.0, "implementation: a run of identical samples this long marks a dead channel", unit="s")
    flat_run_min_samples: int = _q(5, "implementation: minimum identical-sample run, for low sampling rates")
    clip_fraction: float = _q(0.01, "implementation: fraction of a window's samples at the rails that flags clipping")
    clip_tolerance: float = _q(0.001, "implementation: distance from a physical limit, as a fraction of the range, "
                                      "that still counts as at the rail")
    clip_min_run_samples: int = _q(3, "implementation: without physical limits, runs of at least this many samples "
                                      "at the data max/min count as clipped")
    mains_hz: tuple[float, ...] = _q((50.0, 60.0), "implementation: mains frequencies checked (50 Hz Europe/Asia, "
                                                   "60 Hz Americas)", unit="Hz")
    mains_half_width_hz: float = _q(1.0, "implementation: half width of the mains band", unit="Hz")
    mains_band_hz: tuple[float, float] = _q((10.0, 100.0), "AASM EMG band 10-100 Hz, used as the reference power",
                                            unit="Hz")
    mains_ratio: float = _q(0.5, "implementation: mains-band power over 10-100 Hz power above this flags mains")
    mains_unscorable: bool = _q(False, "implementation: mains-dominated time excluded from denominators if True")
    ecg_lag_s: tuple[float, float] = _q((0.5, 2.5), "implementation: ECG beat spacing searched, 0.4-2 Hz", unit="s")
    ecg_min_autocorr: float = _q(0.5, "implementation: autocorrelation peak of the rectified signal that flags ECG")
    ecg_min_prominence: float = _q(0.3, "implementation: the ECG autocorrelation peak must rise this much above "
                                        "the trough before it (rejects single long bursts)")
    ecg_highpass_hz: float = _q(10.0, "AASM EMG high-pass 10 Hz, applied before the ECG check", unit="Hz")
    ecg_envelope_lowpass_hz: float = _q(20.0, "implementation: low-pass of the rectified (squared) signal before the "
                                              "ECG autocorrelation (removes the 100/120 Hz ripple of squared mains)",
                                        unit="Hz")
    ecg_min_fs_hz: float = _q(50.0, "implementation: no ECG check below this sampling rate", unit="Hz")
    unit_min_uv: float = _q(0.01, "implementation: a median absolute amplitude below this suggests volts "
                                  "written as µV", unit="µV")
    unit_max_uv: float = _q(10000.0, "implementation: a median absolute amplitude above this suggests nV (or a "
                                     "mV/V scale error) written as µV", unit="µV")


@dataclass
class ChannelQuality:
    """Quality of one channel: flagged stretches, unscorable stretches, unit warning.

    ``flags`` and ``unscorable`` are interval tables (``onset``, ``duration`` in seconds,
    ``reason`` in :data:`REASONS`), adjacent windows of one reason merged.
    """

    label: str
    fs: float
    n_samples: int
    flags: pd.DataFrame
    unscorable: pd.DataFrame
    unit_warning: str | None = None
    role: str | None = None

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    def summary(self) -> dict[str, Any]:
        """Seconds flagged and unscorable per reason, and the fraction of time scorable."""
        def per_reason(df: pd.DataFrame) -> dict[str, float]:
            return {r: round(total_duration(df[df["reason"] == r]), 6) for r in REASONS}

        lost = min(total_duration(self.unscorable), self.duration_s)
        return {
            "label": self.label,
            "role": self.role,
            "duration_s": self.duration_s,
            "flagged_s": per_reason(self.flags),
            "unscorable_s": per_reason(self.unscorable),
            "unscorable_total_s": lost,
            "fraction_scorable": 1.0 - lost / self.duration_s if self.duration_s > 0 else 0.0,
            "unit_warning": self.unit_warning,
        }

    def scorable_mask(self, n_samples: int | None = None) -> np.ndarray:
        """Boolean mask at the channel's rate, ``True`` where the signal may be scored."""
        n = self.n_samples if n_samples is None else int(n_samples)
        return ~mask_from_intervals(self.unscorable, n, self.fs)


# --------------------------------------------------------------------------- helpers
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
    if nb == 0 or not eq[:nb * b].reshape(nb, b).all(axis=1).any():
        return None
    start, stop = runs(eq)                       # runs of equal neighbours
    keep = (stop - start) >= need
    if not keep.any():
        return None
    delta = np.zeros(n + 1, dtype=np.int64)
    np.add.at(delta, start[keep], 1)             # samples start .. stop (inclusive) are identical
    np.add.at(delta, stop[keep] + 1, -1)
    return np.cumsum(delta[:-1]) > 0


def _sample(n: int, limit: int) -> np.ndarray | slice:
    """Indices of a fixed pseudo-random sample of at most ``limit`` of ``n`` samples (all when fewer)."""
    if n <= limit:
        return slice(None)
    return np.random.default_rng(0).integers(0, n, size=limit)


def _ecg_decimation(fs: float, w: int, s: "QualitySettings") -> int:
    """Largest factor dividing the window length that keeps the ECG envelope's rate at or above
    ``_ECG_RATE_PER_LOWPASS`` x ``ecg_envelope_lowpass_hz`` (1 = no decimation)."""
    q_max = int(fs // (_ECG_RATE_PER_LOWPASS * s.ecg_envelope_lowpass_hz))
    for q in range(max(q_max, 1), 1, -1):
        if w % q == 0:
            return q
    return 1


def _per_window(x: np.ndarray, w: int, func: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply ``func`` to the 2-D array of full windows (and to the last ``w`` samples when
    the data does not end on a window edge) and concatenate the per-window results."""
    n_full = x.size // w
    out = [func(x[:n_full * w].reshape(n_full, w))]
    if x.size % w:
        out.append(func(x[x.size - w:][None, :]))
    return np.concatenate(out)


def _batched(func: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """Run ``func`` on batches of windows (bounds the memory of the FFTs)."""
    def run(win: np.ndarray) -> np.ndarray:
        if not len(win):
            return np.zeros(0, dtype=bool)
        return np.concatenate([func(win[i:i + _CHUNK_WINDOWS]) for i in range(0, len(win), _CHUNK_WINDOWS)])
    return run


def _mains_band(w: int, fs: float, s: QualitySettings) -> tuple[np.ndarray, int, int, list[tuple[int, int]]] | None:
    """What the mains test of a ``w``-sample window needs: Hann taper (float32), first and last bin of
    the reference band, and the bins of each mains band (relative to the first); ``None``: no band."""
    freqs = np.fft.rfftfreq(w, 1.0 / fs)
    lo, hi = s.mains_band_hz
    band = (freqs >= lo) & (freqs <= min(hi, fs / 2))
    if not band.any():
        return None
    k0, k1 = (int(k) for k in np.flatnonzero(band)[[0, -1]])
    freqs = freqs[k0:k1 + 1]
    parts = []
    for f in s.mains_hz:  # two frequencies, not samples
        if f + s.mains_half_width_hz >= fs / 2:
            continue
        sel = np.flatnonzero(np.abs(freqs - f) <= s.mains_half_width_hz)   # contiguous bins
        parts.append((int(sel[0]), int(sel[-1]) + 1) if sel.size else (0, 0))
    return np.hanning(w).astype(np.float32), k0, k1, parts


def _mains_hits(v: np.ndarray, band: tuple[np.ndarray, int, int, list[tuple[int, int]]],
                s: QualitySettings) -> np.ndarray:
    """Mains-dominated windows among the rows of ``v``: 50/60 Hz band power over 10-100 Hz power >
    ``mains_ratio``. Hann-tapered spectrum of each mean-removed window (mean in double precision, the
    rest in single precision: ample for a ratio)."""
    taper, k0, k1, parts = band
    c = v.astype(np.float32)
    c -= v.mean(axis=1, dtype=np.float64).astype(np.float32)[:, None]
    c *= taper
    spec = scipy.fft.rfft(c, axis=1).view(np.float32)[:, 2 * k0:2 * k1 + 2]   # re, im of each bin
    total = np.einsum("ij,ij->i", spec, spec).astype(np.float64)
    hit = np.zeros(len(v), dtype=bool)
    ok = total > 0
    for a, b in parts:
        part = np.einsum("ij,ij->i", spec[:, 2 * a:2 * b], spec[:, 2 * a:2 * b]).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            hit |= ok & (part / np.where(ok, total, 1.0) > s.mains_ratio)
    return hit


def _scan_windows(x: np.ndarray, w: int, fs: float, s: QualitySettings, *, mains: bool
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
        b = min(a + _SCAN_WINDOWS, n_full) if a < n_full else n_win   # batches of windows, then the last
        v = x[a * w:b * w].reshape(b - a, w) if a < n_full else x[x.size - w:][None, :]
        wmax[a:b], wmin[a:b] = v.max(axis=1), v.min(axis=1)
        if a < n_full and w > 1:
            same = v[:, 1:] == v[:, :-1]
            if np.count_nonzero(same) > equal:            # per window only when the batch has that many
                equal = max(equal, int(np.count_nonzero(same, axis=1).max()))
        if band is not None:
            hit[a:b] = _mains_hits(v, band, s)
    return wmax, wmin, hit, equal


def _window_sd(x: np.ndarray, w: int, which: np.ndarray) -> np.ndarray:
    """Standard deviation of the windows ``which`` (indices as in :func:`_scan_windows`)."""
    n_full = x.size // w
    full = which[which < n_full]
    v = x[:n_full * w].reshape(n_full, w)[full]
    if full.size < which.size:
        v = np.concatenate([v, x[x.size - w:][None, :]])
    v = v.astype(np.float64, copy=False)
    c = v - v.mean(axis=1, keepdims=True)
    return np.sqrt(np.einsum("ij,ij->i", c, c) / w)


def _samples_at(x: np.ndarray, w: int, wmax: np.ndarray, wmin: np.ndarray, hi: float, lo: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """Sorted indices of the samples ``>= hi`` and of those ``<= lo`` (in double precision), looked for
    only in the windows whose max/min reach there (``wmax``/``wmin`` from :func:`_scan_windows`)."""
    n = x.size
    n_full = n // w
    cand = np.flatnonzero((wmax[:n_full] >= hi) | (wmin[:n_full] <= lo))
    full = x[:n_full * w].reshape(n_full, w)
    ups, downs = [], []
    for a in range(0, cand.size, _SCAN_WINDOWS):      # loop over batches of candidate windows
        rows = cand[a:a + _SCAN_WINDOWS]
        v = full[rows].astype(np.float64, copy=False)
        for out, m in ((ups, v >= hi), (downs, v <= lo)):
            r, c = np.nonzero(m)
            out.append(rows[r] * w + c)
    tail = x[n_full * w:].astype(np.float64, copy=False)
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


@functools.lru_cache(maxsize=8)
def _ac_basis(nfft: int, up: int, lags: int) -> np.ndarray:
    """``P @ _ac_basis(nfft, up, lags)`` = ``scipy.fft.irfft(P, nfft * up)[..., :lags]`` for the
    ``nfft // 2 + 1`` bins ``P`` of a real power spectrum (float32, read-only): the inverse transform,
    zero-padded to ``up`` x the lag resolution, evaluated only at the lags wanted."""
    m = nfft * up
    k = np.arange(nfft // 2 + 1)
    weight = np.where((k == 0) | (2 * k == m), 1.0, 2.0) / m
    phase = (k[:, None] * np.arange(lags)[None, :]) % m       # exact integer angles
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
    nfft = scipy.fft.next_fast_len(w_d + -(-lag_hi // up) + 1, real=True)   # no circular wrap up to lag_hi
    fx = scipy.fft.rfft(x, nfft, axis=1)
    power = fx.real ** 2 + fx.imag ** 2
    basis = _ac_basis(nfft, up, lag_hi + 1)
    scale = (1.0 / (w - np.arange(lag_hi + 1))).astype(np.float32)          # unbiased
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


def _ecg_check(x: np.ndarray, fs: float, w: int, s: QualitySettings,
               filtered: np.ndarray | None = None) -> np.ndarray:
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
        sos = butter_sos(4, s.ecg_envelope_lowpass_hz, btype="lowpass", fs=fs)
        sos_d = butter_sos(4, s.ecg_envelope_lowpass_hz, btype="lowpass", fs=fs_d)
        env = _ecg_envelope(filtered, sos, sos_d, q)
    else:
        env = np.square(filtered[::q], dtype=np.float32)
    flags = _per_window(env, w // q, _batched(lambda v: _ecg_windows(v, fs, s, up=q)))
    n_win = -(-n // w)
    if flags.size < n_win:    # the last partial window was lost to decimation: use the last full one
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
        sos = butter_sos(4, s.ecg_highpass_hz, btype="highpass", fs=fs)
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
    z = np.exp(-2j * np.pi * np.fft.rfftfreq(nfft))          # z^-1 on the unit circle
    resp = np.ones(z.size, dtype=complex)
    for b0, b1, b2, c0, c1, c2 in sos:                       # loop over the (two) sections
        resp *= (b0 + b1 * z + b2 * z * z) / (c0 + c1 * z + c2 * z * z)
    h = np.fft.irfft(resp, nfft)
    rest = np.cumsum(np.abs(h)[::-1])[::-1]                   # rest[i] = sum of |h[j]|, j >= i
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
    for r0 in range(0, n_rows, chunk):                # loop over cache-sized chunks, not samples
        r1 = min(r0 + chunk, n_rows)
        first = (r0 - nb + 1) * width                 # sample index of buf[0]
        seg = buf[:(r1 - r0 + nb - 1) * width]
        a, b = max(first, 0), min(r1 * width, n)
        seg[:a - first] = s0
        np.square(x[a:b], out=seg[a - first:b - first], dtype=np.float32)
        seg[b - first:] = 0.0                         # only feeds outputs past the end
        blocks = seg.reshape(-1, width)
        acc, tmp = y[:r1 - r0], part[:r1 - r0]
        np.matmul(blocks[nb - 1:nb - 1 + r1 - r0], mats[0], out=acc)
        for t in range(1, nb):                        # a few block matrices
            acc += np.matmul(blocks[nb - 1 - t:nb - 1 - t + r1 - r0], mats[t], out=tmp)
        m = min(r1 * k_out, out.size) - r0 * k_out
        out[r0 * k_out:r0 * k_out + m] = acc.ravel()[:m]


def _fir_backward(buf: np.ndarray, size: int, h: np.ndarray) -> None:
    """``buf[m] = sum_j h[j] buf[m + j]`` for ``m < size``, with ``buf[i >= size] = buf[size - 1]``, in
    place: the causal filter with impulse response ``h`` run backward from the steady state of the
    last sample (as ``_sosfilt32(sos, y[::-1])[::-1]``), as block matrix products like
    :func:`_square_fir_decimate`. ``buf`` holds at least :func:`_fir_backward_size` samples."""
    k_out = _ECG_FIR_ROWS
    mats = _fir_blocks(h, k_out, k_out, 1, -1)
    nb = len(mats)
    n_rows = -(-size // k_out)
    buf[size:(n_rows + nb - 1) * k_out] = buf[size - 1]
    blocks = buf[:(n_rows + nb - 1) * k_out].reshape(-1, k_out)
    chunk = max(1, _ECG_CHUNK // k_out)
    part = np.empty((min(chunk, n_rows), k_out), np.float32)
    e = np.empty((min(chunk, n_rows), k_out), np.float32)
    for r0 in range(0, n_rows, chunk):                # loop over cache-sized chunks, not samples
        r1 = min(r0 + chunk, n_rows)                  # rows r0.. are read before they are overwritten
        acc, tmp = e[:r1 - r0], part[:r1 - r0]
        np.matmul(blocks[r0:r1], mats[0], out=acc)
        for t in range(1, nb):                        # a few block matrices
            acc += np.matmul(blocks[r0 + t:r1 + t], mats[t], out=tmp)
        blocks[r0:r1] = acc


def _fir_backward_size(size: int, h: np.ndarray) -> int:
    """Samples :func:`_fir_backward` needs in its buffer for ``size`` values and the response ``h``."""
    return (-(-size // _ECG_FIR_ROWS) + len(_fir_blocks(h, _ECG_FIR_ROWS, _ECG_FIR_ROWS, 1, -1)) - 1) \
        * _ECG_FIR_ROWS


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
    chunk = max(q, _ECG_CHUNK // q * q)               # a multiple of q: the decimation phase is kept
    out = np.empty(-(-n // q), np.float32)
    for a in range(0, n, chunk):                      # loop over cache-sized chunks, not samples
        y, zi = sosfilt(sos32, np.square(x[a: a + chunk], dtype=np.float32), zi=zi)
        out[a // q: a // q + -(-y.size // q)] = y[::q]
    return out


def _sosfilt32(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """One causal pass in float32, started in the steady state of the first sample (no edge step)."""
    sos32 = sos.astype(np.float32)
    zi = (sosfilt_zi(sos) * float(x[0])).astype(np.float32)
    return sosfilt(sos32, x, zi=zi)[0]


def _filtfilt32(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Forward-backward (zero-phase) pass in float32, each started in the steady state."""
    return _sosfilt32(sos, _sosfilt32(sos, x)[::-1])[::-1]


def _window_intervals(flag: np.ndarray, starts: np.ndarray, stops: np.ndarray, fs: float,
                      reason: str) -> pd.DataFrame:
    a, b = runs(flag)
    if not a.size:
        return empty_intervals()
    onset = starts[a] / fs
    end = stops[b - 1] / fs
    return pd.DataFrame({"onset": onset, "duration": end - onset,
                         "reason": pd.array([reason] * a.size, dtype="string")})


def _interval_table(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The windowed interval tables (each reason's runs of windows, at least a window apart) as one
    table sorted by onset, then reason: what :func:`merge_intervals` makes of them, without its
    group-bys (no gaps to subtract, nothing to merge)."""
    if not parts:
        return empty_intervals()
    onset = np.concatenate([p["onset"].to_numpy(float) for p in parts])
    end = onset + np.concatenate([p["duration"].to_numpy(float) for p in parts])
    reason = np.concatenate([p["reason"].to_numpy(dtype=str) for p in parts])
    order = np.lexsort((reason, onset))
    return pd.DataFrame({"onset": onset[order], "duration": (end - onset)[order],
                         "reason": pd.array(list(reason[order]), dtype="string")})


def _median_inplace(v: np.ndarray) -> float:
    """``np.median(v)`` (1-D, no NaN), partitioning ``v`` in place instead of a copy."""
    k = v.size // 2
    if v.size % 2:
        v.partition(k)
        return float(v[k])
    v.partition([k - 1, k])
    return float((v[k - 1] + v[k]) / 2)


def _unit_check(x: np.ndarray, usable: np.ndarray, label: str, s: QualitySettings) -> str | None:
    if not usable.any():
        return None
    v = x[usable]                                     # a copy: the medians below work in place
    np.abs(np.subtract(v, _median_inplace(v), out=v), out=v)
    amp = _median_inplace(v)
    if amp <= 0:
        return None
    if amp < s.unit_min_uv:
        return (f"{label}: median absolute amplitude {amp:.3g} µV is implausibly small for a voltage channel; "
                f"the data are probably in volts (or mV) but labelled µV - check the EDF physical dimension")
    if amp > s.unit_max_uv:
        return (f"{label}: median absolute amplitude {amp:.3g} µV is implausibly large for a voltage channel; "
                f"the data are probably in nV (or scaled 1000x wrongly) but labelled µV - check the EDF "
                f"physical dimension")
    return None


# --------------------------------------------------------------------------- main entry
def assess_quality(data: np.ndarray, fs: float, *, label: str, role: str | None = None,
                   window_s: float = 5.0, physical_min: float | None = None,
                   physical_max: float | None = None, unit: str = "uV",
                   gaps: Sequence[tuple[float, float]] | None = None,
                   settings: QualitySettings | None = None,
                   filtered: np.ndarray | None = None) -> ChannelQuality:
    """Flag the stretches of one channel that are too poor to score.

    ``data`` is one channel (µV for voltage channels, as :class:`~somnomyo.io.recording.Signal`
    holds it) sampled at ``fs`` Hz. ``physical_min``/``physical_max`` are the channel's
    physical limits *in the unit of data* (convert the EDF header values first); without
    them clipping is detected as runs at the data's own max/min. ``gaps`` are
    ``(onset, duration)`` pairs in seconds (``Recording.gaps``); NaN samples count as gaps.
    ``role`` (see :mod:`somnomyo.io.channels`) tailors the checks: no flat check for
    position/respiratory/other channels, no ECG check on the ECG channel, unit check only
    for voltage channels.

    ``filtered``: the same channel band-passed for EMG (same length and rate; e.g. the band-passed
    stage of :func:`somnomyo.signal.conditioning.condition_recording`, before mains and ECG
    removal); the ECG check then uses it instead of high-passing ``data`` itself (one filtering
    of each channel per night). Flat, clipping, gap, mains and unit checks always use ``data``.

    The windowed checks are implementation choices (not standards); see
    :class:`QualitySettings`. Unscorable = flat, clipping and gap (and mains if
    ``settings.mains_unscorable``): WASM 2016 excludes artefact time from index denominators.
    """
    s = settings or QualitySettings()
    x = np.asarray(data)
    if x.dtype != np.float32:           # float32 kept as is (no full-length float64 copy)
        x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"{label}: data must be one channel (1-D), got shape {x.shape}")
    if not fs > 0:
        raise ValueError(f"{label}: fs must be positive, got {fs!r}")
    if not window_s > 0:
        raise ValueError(f"{label}: window_s must be positive, got {window_s!r}")
    if role is not None:
        check_choice("role", role, ROLES)
    if (physical_min is None) != (physical_max is None):
        raise ValueError(f"{label}: give both physical_min and physical_max, or neither")
    if physical_min is not None and not physical_max > physical_min:  # type: ignore[operator]
        raise ValueError(f"{label}: physical_max ({physical_max}) must exceed physical_min ({physical_min})")
    n = x.size
    if filtered is not None:
        filtered = np.asarray(filtered)
        if filtered.shape != x.shape:
            raise ValueError(f"{label}: filtered has shape {filtered.shape}, data has {x.shape}")
    if n == 0:
        return ChannelQuality(label, float(fs), 0, empty_intervals(), empty_intervals(), None, role)

    # --- windows
    w = max(1, min(int(round(window_s * fs)), n))
    n_full = n // w
    starts = np.arange(n_full) * w
    if n % w:
        starts = np.append(starts, n_full * w)
    stops = np.minimum(starts + w, n)
    n_win = starts.size
    run_len = max(int(round(s.flat_run_s * fs)), s.flat_run_min_samples)
    voltage = unit.strip().lower() in _MICROVOLT_UNITS and role not in _NON_VOLTAGE_ROLES
    check_mains = voltage or role is None
    # one pass over the windows: max, min, mains flag, equal neighbours (per-sample masks only where needed)
    wmax, wmin, mains_win, equal = _scan_windows(x, w, fs, s, mains=check_mains)

    # --- gaps: missing (NaN) samples, set to 0, and the recording's gaps; None when there are none
    gap: np.ndarray | None = None
    if np.isnan(wmax).any() or np.isnan(wmin).any():
        gap = np.isnan(x)
        x = np.where(gap, x.dtype.type(0), x)
        wmax, wmin, mains_win, equal = _scan_windows(x, w, fs, s, mains=check_mains)
    if gaps:
        given = mask_from_intervals(pd.DataFrame(list(gaps), columns=["onset", "duration"]), n, fs)
        gap = given if gap is None else gap | given
    if gap is not None and not gap.any():
        gap = None

    # --- samples at the rails (sorted indices), looked for only in the windows that reach them
    rail = np.zeros(0, dtype=np.int64)
    if physical_min is not None:
        tol = s.clip_tolerance * (physical_max - physical_min)  # type: ignore[operator]
        rail = np.union1d(*_samples_at(x, w, wmax, wmin, physical_max - tol, physical_min + tol))  # type: ignore[operator]
    else:
        good = x[~gap] if gap is not None else None
        if good is None:
            lo, hi = float(wmin.min()), float(wmax.max())
        else:
            lo, hi = (float(good.min()), float(good.max())) if good.size else (0.0, 0.0)
        if hi > lo:
            eps = 1e-9 * (hi - lo)
            ups, downs = _samples_at(x, w, wmax, wmin, hi - eps, lo + eps)
            rail = np.union1d(_in_long_runs(ups, s.clip_min_run_samples),
                              _in_long_runs(downs, s.clip_min_run_samples))
    if gap is not None and rail.size:
        rail = rail[~gap[rail]]

    # runs of identical values (a value that does not change for run_len samples); None: no such run.
    # A run within the full windows leaves at least (run_len - 1) // 2 pairs of equal neighbours in one
    # of them (it spans two, or covers a whole one); a run reaching the last partial window lies in the
    # last run_len samples before it and that window: only then is the exact search needed.
    stuck = None
    if equal >= min((run_len - 1) // 2, w - 1) or \
            (n % w and _stuck_mask(x[max(0, n_full * w - run_len):], run_len) is not None):
        stuck = _stuck_mask(x, run_len)
        if stuck is not None:
            if gap is not None:
                stuck &= ~gap
            stuck[rail] = False
            if not stuck.any():
                stuck = None

    # --- whole-channel unit check (voltage channels only), on a fixed sample of the usable samples
    unit_warning = None
    if voltage:
        pick = _sample(n, _UNIT_MAX_SAMPLES)
        xp = np.asarray(x[pick], dtype=np.float64)
        bad = np.zeros(xp.size, dtype=bool)
        for m in (gap, stuck):
            if m is not None:
                bad |= m[pick]
        if rail.size:                                 # a lookup table over the span of the rail samples
            at = (np.arange(n) if isinstance(pick, slice) else pick) - rail[0]
            table = np.zeros(int(rail[-1] - rail[0]) + 1, dtype=bool)
            table[rail - rail[0]] = True
            inside = (at >= 0) & (at < table.size)
            bad[inside] |= table[at[inside]]
        unit_warning = _unit_check(xp, ~bad, label, s)
    if unit_warning:
        logger.warning(unit_warning)
    too_small = unit_warning is not None and "small" in unit_warning

    clip_win = (_count_per_window(rail, n, w) / w >= s.clip_fraction if rail.size
                else np.zeros(n_win, dtype=bool))
    ptp = wmax - wmin
    flat_win = np.zeros(n_win, dtype=bool)
    if role not in _NON_VOLTAGE_ROLES:
        if stuck is not None:
            flat_win |= _per_window(stuck, w, lambda m: m.any(axis=1))
        flat_win |= ptp == 0
        if not too_small and fs >= s.flat_std_min_fs_hz:  # a channel in volts would look flat everywhere
            # SD >= range / sqrt(2 w): only windows of small range can fall below the floor
            low = np.flatnonzero(~(ptp >= _SD_MARGIN * s.flat_std_uv * np.sqrt(2.0 * w)))
            if low.size:
                flat_win[low] |= _window_sd(x, w, low) < s.flat_std_uv
        flat_win &= ~clip_win

    ecg_win = np.zeros(n_win, dtype=bool)
    if fs >= s.ecg_min_fs_hz and (role is None or role in _EMG_ROLES):
        ecg_win = _ecg_check(x, fs, w, s, filtered=filtered)
        ecg_win &= ~flat_win & ~clip_win

    # --- interval tables
    parts = [_window_intervals(flag, starts, stops, fs, reason)
             for flag, reason in ((flat_win, "flat"), (clip_win, "clipping"), (mains_win, "mains"), (ecg_win, "ecg"))]
    parts = [p for p in parts if len(p)]
    if gap is None:
        flags = _interval_table(parts)
    else:
        gap_iv = intervals_from_mask(gap, fs, "gap")
        windowed = subtract_intervals(pd.concat(parts, ignore_index=True), gap_iv) if parts else empty_intervals()
        flags = merge_intervals(pd.concat([p for p in (windowed, gap_iv) if len(p)], ignore_index=True)) \
            if len(windowed) or len(gap_iv) else empty_intervals()
    excluded = {"flat", "clipping", "gap"} | ({"mains"} if s.mains_unscorable else set())
    unscorable = flags[flags["reason"].isin(sorted(excluded))].reset_index(drop=True)

    if len(flags) and logger.isEnabledFor(logging.INFO):
        logger.info("%s: quality flags %s", label,
                    ", ".join(f"{r} {total_duration(flags[flags['reason'] == r]):.0f} s"
                              for r in REASONS if (flags["reason"] == r).any()))
    return ChannelQuality(label=label, fs=float(fs), n_samples=n, flags=flags, unscorable=unscorable,
                          unit_warning=unit_warning, role=role)
