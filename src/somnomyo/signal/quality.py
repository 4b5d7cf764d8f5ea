"""Per-channel signal quality: stretches too poor to score are flagged and excluded.

:func:`assess_quality` looks at one channel in fixed windows (default 5 s) and flags

* ``flat``     - disconnected or dead electrode: window SD below a floor, exactly
  constant, or holding a long run of identical samples;
* ``clipping`` - amplifier saturation: a notable fraction of samples at the channel's
  physical limits (or, without them, in runs at the data's own max/min);
* ``mains``    - power-line interference: the 50 or 60 Hz band holds most of the
  10-100 Hz power;
* ``ecg``      - ECG contamination: periodic peaks 0.4-2 Hz apart in the rectified,
  high-passed signal (a flag only; ECG removal is the conditioning step's job);
* ``gap``      - EDF+D discontinuities or missing (NaN) samples.

Flat, clipped and gap time is *unscorable*: excluded from the denominators of the
indices (WASM 2016 asks that artefact-contaminated time be excluded from the time
used for indices) and reported. Mains time is unscorable only if configured. A
whole-channel check warns about µV/V/nV mix-ups.

All thresholds live in :class:`QualitySettings`; they are implementation choices,
not standards, and are marked ``unconfirmed`` in their field metadata.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
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


def _mains_windows(win: np.ndarray, fs: float, s: QualitySettings) -> np.ndarray:
    """Mains-dominated windows: 50/60 Hz band power over 10-100 Hz power > ratio."""
    w = win.shape[1]
    freqs = np.fft.rfftfreq(w, 1.0 / fs)
    lo, hi = s.mains_band_hz
    band = (freqs >= lo) & (freqs <= min(hi, fs / 2))
    taper = np.hanning(w)
    spec = np.abs(np.fft.rfft((win - win.mean(axis=1, keepdims=True)) * taper, axis=1)) ** 2
    total = spec[:, band].sum(axis=1)
    hit = np.zeros(len(win), dtype=bool)
    for f in s.mains_hz:  # two frequencies, not samples
        if f + s.mains_half_width_hz >= fs / 2:
            continue
        part = spec[:, band & (np.abs(freqs - f) <= s.mains_half_width_hz)].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            hit |= (total > 0) & (part / np.where(total > 0, total, 1.0) > s.mains_ratio)
    return hit


def _ecg_windows(win: np.ndarray, fs: float, s: QualitySettings) -> np.ndarray:
    """ECG-dominated windows: a prominent autocorrelation peak of the rectified signal
    at a lag of 0.5-2.5 s (beats 0.4-2 Hz apart)."""
    n_win, w = win.shape
    lag_lo = int(round(s.ecg_lag_s[0] * fs))
    lag_hi = min(int(round(s.ecg_lag_s[1] * fs)), w - 1)
    if lag_hi <= lag_lo + 1:
        return np.zeros(n_win, dtype=bool)
    x = win - win.mean(axis=1, keepdims=True)
    nfft = 1 << int(np.ceil(np.log2(2 * w)))
    fx = np.fft.rfft(x, nfft, axis=1)
    r = np.fft.irfft(np.abs(fx) ** 2, nfft, axis=1)[:, :lag_hi + 1]
    lags = np.arange(lag_hi + 1)
    r = r / (w - lags)                                    # unbiased
    r0 = r[:, :1]
    with np.errstate(invalid="ignore", divide="ignore"):
        ac = np.where(r0 > 0, r / np.where(r0 > 0, r0, 1.0), 0.0)
    seg = ac[:, lag_lo:lag_hi + 1]
    k = np.argmax(seg, axis=1) + lag_lo
    peak = ac[np.arange(n_win), k]
    # lowest autocorrelation between lag 1 and the peak lag
    idx = np.arange(lag_hi + 1)[None, :]
    trough = np.where((idx >= 1) & (idx < k[:, None]), ac, np.inf).min(axis=1)
    return (peak >= s.ecg_min_autocorr) & (peak - trough >= s.ecg_min_prominence)


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
                   settings: QualitySettings | None = None) -> ChannelQuality:
    """Flag the stretches of one channel that are too poor to score.

    ``data`` is one channel (µV for voltage channels, as :class:`~somnomyo.io.recording.Signal`
    holds it) sampled at ``fs`` Hz. ``physical_min``/``physical_max`` are the channel's
    physical limits *in the unit of data* (convert the EDF header values first); without
    them clipping is detected as runs at the data's own max/min. ``gaps`` are
    ``(onset, duration)`` pairs in seconds (``Recording.gaps``); NaN samples count as gaps.
    ``role`` (see :mod:`somnomyo.io.channels`) tailors the checks: no flat check for
    position/respiratory/other channels, no ECG check on the ECG channel, unit check only
    for voltage channels.

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
    if n == 0:
        return ChannelQuality(label, float(fs), 0, empty_intervals(), empty_intervals(), None, role)

    # --- per-sample masks
    gap = np.isnan(x)
    if gap.any():
        x = np.where(gap, 0.0, x)
    if gaps:
        gap |= mask_from_intervals(pd.DataFrame(list(gaps), columns=["onset", "duration"]), n, fs)

    if physical_min is not None:
        tol = s.clip_tolerance * (physical_max - physical_min)  # type: ignore[operator]
        at_rail = (x >= physical_max - tol) | (x <= physical_min + tol)  # type: ignore[operator]
    else:
        good = x[~gap]
        lo, hi = (float(good.min()), float(good.max())) if good.size else (0.0, 0.0)
        if hi > lo:
            eps = 1e-9 * (hi - lo)
            at_rail = _runs_at_least((x >= hi - eps), s.clip_min_run_samples) | \
                _runs_at_least((x <= lo + eps), s.clip_min_run_samples)
        else:
            at_rail = np.zeros(n, dtype=bool)
    at_rail &= ~gap

    run_len = max(int(round(s.flat_run_s * fs)), s.flat_run_min_samples)
    # runs of identical values (a value that does not change for run_len samples)
    stuck = np.zeros(n, dtype=bool)
    if n >= run_len:
        change = np.concatenate(([True], np.diff(x) != 0))
        seg_id = np.cumsum(change)
        seg_len = np.bincount(seg_id)[seg_id]
        stuck = seg_len >= run_len
    stuck &= ~gap & ~at_rail

    # --- whole-channel unit check (voltage channels only)
    voltage = unit.strip().lower() in _MICROVOLT_UNITS and role not in _NON_VOLTAGE_ROLES
    unit_warning = _unit_check(x, ~gap & ~stuck & ~at_rail, label, s) if voltage else None
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

    clip_win = _per_window(at_rail, w, lambda m: m.mean(axis=1)) >= s.clip_fraction
    flat_win = np.zeros(clip_win.size, dtype=bool)
    if role not in _NON_VOLTAGE_ROLES:
        flat_win = _per_window(stuck, w, lambda m: m.any(axis=1))
        flat_win |= _per_window(x, w, lambda v: np.ptp(v, axis=1) == 0)
        if not too_small and fs >= s.flat_std_min_fs_hz:  # a channel in volts would look flat everywhere
            flat_win |= _per_window(x, w, lambda v: v.std(axis=1) < s.flat_std_uv)
        flat_win &= ~clip_win

    mains_win = np.zeros(clip_win.size, dtype=bool)
    if voltage or role is None:
        mains_win = _per_window(x, w, _batched(lambda v: _mains_windows(v, fs, s)))

    ecg_win = np.zeros(clip_win.size, dtype=bool)
    if fs >= s.ecg_min_fs_hz and (role is None or role in _EMG_ROLES):
        env = x
        if s.ecg_highpass_hz < 0.45 * fs and n > 27:
            env = sps.sosfiltfilt(sps.butter(4, s.ecg_highpass_hz, btype="highpass", fs=fs, output="sos"), env)
        env = env * env   # squared, not abs: no harmonics above 2x mains to alias down
        if s.ecg_envelope_lowpass_hz < 0.45 * fs and n > 27:
            env = sps.sosfiltfilt(sps.butter(4, s.ecg_envelope_lowpass_hz, fs=fs, output="sos"), env)
        ecg_win = _per_window(env, w, _batched(lambda v: _ecg_windows(v, fs, s)))
        ecg_win &= ~flat_win & ~clip_win

    # --- interval tables
    gap_iv = intervals_from_mask(gap, fs, "gap")
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
