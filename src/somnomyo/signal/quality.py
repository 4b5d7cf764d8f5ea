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

All thresholds live in :class:`~somnomyo.settings_quality.QualitySettings` (``settings.quality`` of
:class:`somnomyo.settings.Settings`, re-exported here); they are implementation choices, not
standards, and are marked ``unconfirmed`` in their field metadata.

Speed (an 8-h 256-Hz channel in about a tenth of a second on one core): one pass over the data,
a batch of windows at a time (:mod:`somnomyo.signal.quality_windows`), gives each window's max and
min, its count of equal neighbouring samples and its mains spectrum; per-sample masks are made only
for the rare channels that need them (gaps, identical runs), rail samples are looked for only in the
windows that reach the rails, and the exact SD only where the range does not rule out a flat window.
The ECG check (:mod:`somnomyo.signal.quality_ecg`) reuses the conditioning's band-pass when the
pipeline hands it over (``filtered=``) and works on a decimated envelope. The unit check's medians
use a fixed random sample of ``_UNIT_MAX_SAMPLES`` samples, partitioned in place. ``float32`` data
are used as they are (no double-precision copy).

Modules: this one holds the public API and the orchestration; the window scan is in
:mod:`somnomyo.signal.quality_windows`, the ECG check in :mod:`somnomyo.signal.quality_ecg`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from somnomyo._logging import logger
from somnomyo.errors import check_choice
from somnomyo.io.channels import ROLES
from somnomyo.settings_quality import QualitySettings
from somnomyo.signal.intervals import (
    empty_intervals,
    intervals_from_mask,
    mask_from_intervals,
    merge_intervals,
    runs,
    subtract_intervals,
    total_duration,
)
from somnomyo.signal.quality_ecg import _ecg_check
from somnomyo.signal.quality_windows import (
    _count_per_window,
    _in_long_runs,
    _per_window,
    _samples_at,
    _scan_windows,
    _sd_below,
    _stuck_mask,
)

__all__ = ["REASONS", "ChannelQuality", "QualitySettings", "assess_quality"]

REASONS: tuple[str, ...] = ("flat", "clipping", "mains", "ecg", "gap")
# roles whose signal is not EMG-like voltage (constant stretches are normal there)
_NON_VOLTAGE_ROLES = ("position", "respiratory", "other")
_EMG_ROLES = ("leg_left", "leg_right", "legs", "chin", "arm_left", "arm_right", "other_emg")
_MICROVOLT_UNITS = ("uv", "µv", "μv")
# Implementation detail for speed (not a clinical value):
_UNIT_MAX_SAMPLES = 1 << 18  # the unit check's medians use a fixed random sample of at most this many samples


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
def _sample(n: int, limit: int) -> np.ndarray | slice:
    """Indices of a fixed pseudo-random sample of at most ``limit`` of ``n`` samples (all when fewer)."""
    if n <= limit:
        return slice(None)
    return np.random.default_rng(0).integers(0, n, size=limit)


def _window_intervals(flag: np.ndarray, starts: np.ndarray, stops: np.ndarray, fs: float, reason: str) -> pd.DataFrame:
    a, b = runs(flag)
    if not a.size:
        return empty_intervals()
    onset = starts[a] / fs
    end = stops[b - 1] / fs
    return pd.DataFrame(
        {"onset": onset, "duration": end - onset, "reason": pd.array([reason] * a.size, dtype="string")}
    )


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
    return pd.DataFrame(
        {
            "onset": onset[order],
            "duration": (end - onset)[order],
            "reason": pd.array(list(reason[order]), dtype="string"),
        }
    )


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
    v = x[usable]  # a copy: the medians below work in place
    np.abs(np.subtract(v, _median_inplace(v), out=v), out=v)
    amp = _median_inplace(v)
    if amp <= 0:
        return None
    if amp < s.unit_min_uv:
        return (
            f"{label}: median absolute amplitude {amp:.3g} µV is implausibly small for a voltage channel; "
            f"the data are probably in volts (or mV) but labelled µV - check the EDF physical dimension"
        )
    if amp > s.unit_max_uv:
        return (
            f"{label}: median absolute amplitude {amp:.3g} µV is implausibly large for a voltage channel; "
            f"the data are probably in nV (or scaled 1000x wrongly) but labelled µV - check the EDF "
            f"physical dimension"
        )
    return None


# --------------------------------------------------------------------------- main entry
def assess_quality(
    data: np.ndarray,
    fs: float,
    *,
    label: str,
    role: str | None = None,
    window_s: float = 5.0,
    physical_min: float | None = None,
    physical_max: float | None = None,
    unit: str = "uV",
    gaps: Sequence[tuple[float, float]] | None = None,
    settings: QualitySettings | None = None,
    filtered: np.ndarray | None = None,
) -> ChannelQuality:
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
    if x.dtype != np.float32:  # float32 kept as is (no full-length float64 copy)
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
            rail = np.union1d(_in_long_runs(ups, s.clip_min_run_samples), _in_long_runs(downs, s.clip_min_run_samples))
    if gap is not None and rail.size:
        rail = rail[~gap[rail]]

    # runs of identical values (a value that does not change for run_len samples); None: no such run.
    # A run within the full windows leaves at least (run_len - 1) // 2 pairs of equal neighbours in one
    # of them (it spans two, or covers a whole one); a run reaching the last partial window lies in the
    # last run_len samples before it and that window: only then is the exact search needed.
    stuck = None
    if equal >= min((run_len - 1) // 2, w - 1) or (
        n % w and _stuck_mask(x[max(0, n_full * w - run_len) :], run_len) is not None
    ):
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
        if rail.size:  # a lookup table over the span of the rail samples
            at = (np.arange(n) if isinstance(pick, slice) else pick) - rail[0]
            table = np.zeros(int(rail[-1] - rail[0]) + 1, dtype=bool)
            table[rail - rail[0]] = True
            inside = (at >= 0) & (at < table.size)
            bad[inside] |= table[at[inside]]
        unit_warning = _unit_check(xp, ~bad, label, s)
    if unit_warning:
        logger.warning(unit_warning)
    too_small = unit_warning is not None and "small" in unit_warning

    clip_win = _count_per_window(rail, n, w) / w >= s.clip_fraction if rail.size else np.zeros(n_win, dtype=bool)
    ptp = wmax - wmin
    flat_win = np.zeros(n_win, dtype=bool)
    if role not in _NON_VOLTAGE_ROLES:
        if stuck is not None:
            flat_win |= _per_window(stuck, w, lambda m: m.any(axis=1))
        flat_win |= ptp == 0
        if not too_small and fs >= s.flat_std_min_fs_hz:  # a channel in volts would look flat everywhere
            flat_win |= _sd_below(x, w, ptp, s.flat_std_uv)
        flat_win &= ~clip_win

    ecg_win = np.zeros(n_win, dtype=bool)
    if fs >= s.ecg_min_fs_hz and (role is None or role in _EMG_ROLES):
        ecg_win = _ecg_check(x, fs, w, s, filtered=filtered)
        ecg_win &= ~flat_win & ~clip_win

    # --- interval tables
    parts = [
        _window_intervals(flag, starts, stops, fs, reason)
        for flag, reason in ((flat_win, "flat"), (clip_win, "clipping"), (mains_win, "mains"), (ecg_win, "ecg"))
    ]
    parts = [p for p in parts if len(p)]
    if gap is None:
        flags = _interval_table(parts)
    else:
        gap_iv = intervals_from_mask(gap, fs, "gap")
        windowed = subtract_intervals(pd.concat(parts, ignore_index=True), gap_iv) if parts else empty_intervals()
        flags = (
            merge_intervals(pd.concat([p for p in (windowed, gap_iv) if len(p)], ignore_index=True))
            if len(windowed) or len(gap_iv)
            else empty_intervals()
        )
    excluded = {"flat", "clipping", "gap"} | ({"mains"} if s.mains_unscorable else set())
    unscorable = flags[flags["reason"].isin(sorted(excluded))].reset_index(drop=True)

    if len(flags) and logger.isEnabledFor(logging.INFO):
        logger.info(
            "%s: quality flags %s",
            label,
            ", ".join(
                f"{r} {total_duration(flags[flags['reason'] == r]):.0f} s"
                for r in REASONS
                if (flags["reason"] == r).any()
            ),
        )
    return ChannelQuality(
        label=label, fs=float(fs), n_samples=n, flags=flags, unscorable=unscorable, unit_warning=unit_warning, role=role
    )
