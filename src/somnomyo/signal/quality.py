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

Speed (an 8-h channel in a fraction of a second): window statistics and the mains spectrum
share one pass over batches of windows (spectra in single precision); the ECG check reuses
the conditioning's band-pass when the pipeline hands it over (``filtered=``), squares and
low-passes it in cache-sized chunks keeping only the decimated envelope, and interpolates its
autocorrelation back to full lag resolution (:func:`_ecg_check`); the unit check's medians use a fixed random sample of
``_UNIT_MAX_SAMPLES`` samples; a cheap block test skips the identical-run search when no
run can exist.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import scipy.fft
from scipy import signal as sps

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
def _runs_at_least(mask: np.ndarray, length: int) -> np.ndarray:
    """Keep only the runs of ``True`` that are at least ``length`` samples long."""
    start, stop = runs(mask)
    keep = (stop - start) >= length
    delta = np.zeros(mask.size + 1, dtype=np.int64)
    np.add.at(delta, start[keep], 1)
    np.add.at(delta, stop[keep], -1)
    return np.cumsum(delta[:-1]) > 0


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


def _window_stats(x: np.ndarray, w: int, fs: float, s: "QualitySettings", *, mains: bool
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per window: peak-to-peak, standard deviation and the mains flag, in batches of windows
    (one centring pass shared by the SD and the mains spectrum)."""
    def batch(v: np.ndarray) -> np.ndarray:
        ptp = v.max(axis=1) - v.min(axis=1)
        c = v - v.mean(axis=1, keepdims=True)
        sd = np.sqrt(np.einsum("ij,ij->i", c, c) / v.shape[1])
        hit = _mains_windows(c, fs, s, centred=True) if mains else np.zeros(len(v), dtype=bool)
        return np.stack([ptp, sd, hit.astype(float)], axis=1)

    def run(win: np.ndarray) -> np.ndarray:
        return np.concatenate([batch(win[i:i + _CHUNK_WINDOWS]) for i in range(0, len(win), _CHUNK_WINDOWS)])

    out = _per_window(x, w, run)
    return out[:, 0], out[:, 1], out[:, 2] > 0


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


def _mains_windows(win: np.ndarray, fs: float, s: QualitySettings, *, centred: bool = False) -> np.ndarray:
    """Mains-dominated windows: 50/60 Hz band power over 10-100 Hz power > ratio.

    Hann-tapered spectrum of each (mean-removed) window, in single precision (ample for a ratio)."""
    w = win.shape[1]
    freqs = np.fft.rfftfreq(w, 1.0 / fs)
    lo, hi = s.mains_band_hz
    band = (freqs >= lo) & (freqs <= min(hi, fs / 2))
    if not band.any():
        return np.zeros(len(win), dtype=bool)
    k0, k1 = np.flatnonzero(band)[[0, -1]]
    taper = np.hanning(w).astype(np.float32)
    c = win if centred else win - win.mean(axis=1, keepdims=True)
    spec_c = scipy.fft.rfft(c.astype(np.float32) * taper, axis=1)[:, k0:k1 + 1]
    spec = spec_c.real.astype(np.float64) ** 2 + spec_c.imag.astype(np.float64) ** 2
    freqs = freqs[k0:k1 + 1]
    total = spec.sum(axis=1)
    hit = np.zeros(len(win), dtype=bool)
    for f in s.mains_hz:  # two frequencies, not samples
        if f + s.mains_half_width_hz >= fs / 2:
            continue
        part = spec[:, np.abs(freqs - f) <= s.mains_half_width_hz].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            hit |= (total > 0) & (part / np.where(total > 0, total, 1.0) > s.mains_ratio)
    return hit


def _ecg_windows(win: np.ndarray, fs: float, s: QualitySettings, *, up: int = 1) -> np.ndarray:
    """ECG-dominated windows: a prominent autocorrelation peak of the rectified signal
    at a lag of 0.5-2.5 s (beats 0.4-2 Hz apart).

    ``win`` holds the windows sampled at ``fs / up``; the autocorrelation is evaluated at
    every lag of ``1 / fs`` by zero-padding its spectrum (band-limited interpolation: the
    signal is low-passed well below ``fs / (2 up)``), in single precision.
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
    ac = scipy.fft.irfft(fx.real ** 2 + fx.imag ** 2, nfft * up, axis=1)[:, :lag_hi + 1]
    ac *= (1.0 / (w - np.arange(lag_hi + 1))).astype(np.float32)          # unbiased
    r0 = ac[:, 0].copy()
    pos = r0 > 0
    ac *= np.where(pos, 1.0 / np.where(pos, r0, 1.0), 0.0).astype(np.float32)[:, None]
    rows = np.arange(n_win)
    k = np.argmax(ac[:, lag_lo:], axis=1) + lag_lo
    peak = ac[rows, k]
    # lowest autocorrelation between lag 1 and the peak lag (running minimum from lag 1)
    low = np.minimum.accumulate(ac[:, 1:], axis=1)
    trough = np.where(k >= 2, low[rows, np.maximum(k - 2, 0)], np.inf)
    return (peak >= s.ecg_min_autocorr) & (peak - trough >= s.ecg_min_prominence)


def _ecg_check(x: np.ndarray, fs: float, w: int, s: QualitySettings,
               filtered: np.ndarray | None = None) -> np.ndarray:
    """ECG flag per window: high-pass, square, low-pass, then the autocorrelation test.

    ``filtered``: the channel already band-passed for EMG (the conditioning's zero-phase band-pass,
    whose lower edge is the AASM 10-Hz high-pass), used instead of high-passing ``x`` here.

    The test looks at the autocorrelation of the low-passed squared signal, which depends on
    the low-pass magnitude response only, not its phase; so (an implementation shortcut, in
    single precision) the low-pass runs forward at ``fs``, the result is decimated to about
    ``_ECG_RATE_PER_LOWPASS`` x ``ecg_envelope_lowpass_hz`` and the low-pass runs backward at
    that rate (the same ``|H|^2`` as one zero-phase pass, in the band); the autocorrelation is
    taken from the decimated windows and interpolated back to every lag of ``1 / fs``. The
    high-pass before squaring is zero-phase (forward-backward): the QRS shape matters there.
    """
    n = x.size
    if filtered is None:
        filtered = _emg_band(x, fs, s)
    q = _ecg_decimation(fs, w, s)
    fs_d = fs / q
    if s.ecg_envelope_lowpass_hz < 0.45 * fs and n > 27:
        sos = sps.butter(4, s.ecg_envelope_lowpass_hz, fs=fs, output="sos")
        env = _square_lowpass_decimate(filtered, sos, q)
        sos_d = sps.butter(4, s.ecg_envelope_lowpass_hz, fs=fs_d, output="sos")
        env = _sosfilt32(sos_d, env[::-1])[::-1]
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
        sos = sps.butter(4, s.ecg_highpass_hz, btype="highpass", fs=fs, output="sos")
        return _filtfilt32(sos, x32)
    return x32


def _square_lowpass_decimate(x: np.ndarray, sos: np.ndarray, q: int) -> np.ndarray:
    """``_sosfilt32(sos, x ** 2)[::q]`` (float32) without a full-length copy: squared and filtered
    ``_ECG_CHUNK`` samples at a time, the filter state carried over, every ``q``-th output kept."""
    n = x.size
    sos32 = sos.astype(np.float32)
    zi = (sps.sosfilt_zi(sos) * float(np.square(x[0], dtype=np.float32))).astype(np.float32)
    chunk = max(q, _ECG_CHUNK // q * q)               # a multiple of q: the decimation phase is kept
    out = np.empty(-(-n // q), np.float32)
    for a in range(0, n, chunk):                      # loop over cache-sized chunks, not samples
        y, zi = sps.sosfilt(sos32, np.square(x[a: a + chunk], dtype=np.float32), zi=zi)
        out[a // q: a // q + -(-y.size // q)] = y[::q]
    return out


def _sosfilt32(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """One causal pass in float32, started in the steady state of the first sample (no edge step)."""
    sos32 = sos.astype(np.float32)
    zi = (sps.sosfilt_zi(sos) * float(x[0])).astype(np.float32)
    return sps.sosfilt(sos32, x, zi=zi)[0]


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


def _unit_check(x: np.ndarray, usable: np.ndarray, label: str, s: QualitySettings) -> str | None:
    if not usable.any():
        return None
    v = x[usable]
    amp = float(np.median(np.abs(v - np.median(v))))
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
    x = np.asarray(data, dtype=float)
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

    # --- per-sample masks
    gap = np.isnan(x)
    if gap.any():
        x = np.where(gap, 0.0, x)
    if gaps:
        gap |= mask_from_intervals(pd.DataFrame(list(gaps), columns=["onset", "duration"]), n, fs)
    any_gap = bool(gap.any())

    if physical_min is not None:
        tol = s.clip_tolerance * (physical_max - physical_min)  # type: ignore[operator]
        at_rail = (x >= physical_max - tol) | (x <= physical_min + tol)  # type: ignore[operator]
    else:
        good = x[~gap] if any_gap else x
        lo, hi = (float(good.min()), float(good.max())) if good.size else (0.0, 0.0)
        if hi > lo:
            eps = 1e-9 * (hi - lo)
            at_rail = _runs_at_least((x >= hi - eps), s.clip_min_run_samples) | \
                _runs_at_least((x <= lo + eps), s.clip_min_run_samples)
        else:
            at_rail = np.zeros(n, dtype=bool)
    if any_gap:
        at_rail &= ~gap
    any_rail = bool(at_rail.any())

    run_len = max(int(round(s.flat_run_s * fs)), s.flat_run_min_samples)
    # runs of identical values (a value that does not change for run_len samples); None: no such run
    stuck = _stuck_mask(x, run_len)
    if stuck is not None:
        stuck &= ~gap & ~at_rail
        if not stuck.any():
            stuck = None

    # --- whole-channel unit check (voltage channels only), on a fixed sample of the usable samples
    voltage = unit.strip().lower() in _MICROVOLT_UNITS and role not in _NON_VOLTAGE_ROLES
    unit_warning = None
    if voltage:
        pick = _sample(n, _UNIT_MAX_SAMPLES)
        bad = [m[pick] for m in (gap if any_gap else None, at_rail if any_rail else None, stuck) if m is not None]
        usable = ~np.logical_or.reduce(bad) if bad else np.ones(x[pick].size, dtype=bool)
        unit_warning = _unit_check(x[pick], usable, label, s)
    if unit_warning:
        logger.warning(unit_warning)
    too_small = unit_warning is not None and "small" in unit_warning

    # --- windows
    w = max(1, min(int(round(window_s * fs)), n))
    n_full = n // w
    starts = np.arange(n_full) * w
    if n % w:
        starts = np.append(starts, n_full * w)
    stops = np.minimum(starts + w, n)
    n_win = starts.size

    clip_win = (_per_window(at_rail, w, lambda m: np.count_nonzero(m, axis=1) / w) >= s.clip_fraction
                if any_rail else np.zeros(n_win, dtype=bool))
    check_mains = voltage or role is None
    ptp, sd, mains_win = _window_stats(x, w, fs, s, mains=check_mains)
    flat_win = np.zeros(n_win, dtype=bool)
    if role not in _NON_VOLTAGE_ROLES:
        if stuck is not None:
            flat_win |= _per_window(stuck, w, lambda m: m.any(axis=1))
        flat_win |= ptp == 0
        if not too_small and fs >= s.flat_std_min_fs_hz:  # a channel in volts would look flat everywhere
            flat_win |= sd < s.flat_std_uv
        flat_win &= ~clip_win

    ecg_win = np.zeros(n_win, dtype=bool)
    if fs >= s.ecg_min_fs_hz and (role is None or role in _EMG_ROLES):
        ecg_win = _ecg_check(x, fs, w, s, filtered=filtered)
        ecg_win &= ~flat_win & ~clip_win

    # --- interval tables
    gap_iv = intervals_from_mask(gap, fs, "gap") if any_gap else empty_intervals()
    parts = [_window_intervals(flag, starts, stops, fs, reason)
             for flag, reason in ((flat_win, "flat"), (clip_win, "clipping"), (mains_win, "mains"), (ecg_win, "ecg"))]
    windowed = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) \
        else empty_intervals()
    windowed = subtract_intervals(windowed, gap_iv)
    flags = merge_intervals(pd.concat([p for p in (windowed, gap_iv) if len(p)], ignore_index=True)) \
        if len(windowed) or len(gap_iv) else empty_intervals()
    excluded = {"flat", "clipping", "gap"} | ({"mains"} if s.mains_unscorable else set())
    unscorable = flags[flags["reason"].isin(sorted(excluded))].reset_index(drop=True)

    if len(flags):
        logger.info("%s: quality flags %s", label,
                    ", ".join(f"{r} {total_duration(flags[flags['reason'] == r]):.0f} s"
                              for r in REASONS if (flags["reason"] == r).any()))
    return ChannelQuality(label=label, fs=float(fs), n_samples=n, flags=flags, unscorable=unscorable,
                          unit_warning=unit_warning, role=role)
