"""Generic brief-burst detection on a conditioned EMG envelope, and the event context
(stage, arousal, unscorable time, per-stage hours) shared by the myoclonus detectors.

The EMG itself is conditioned by :func:`somnomyo.signal.conditioning.condition_emg`
(the one conditioning module); this module only works on its output: a rectified
envelope in µV (and optionally the filtered EMG and R-peak sample indices), held in an
:class:`EMGTrace`.

A burst is a run of envelope samples above ``k x background`` (implementation choice,
``settings.myoclonus.burst_k_background``, by analogy with the AASM phasic-REM
">= 4x background" rule); the background is a rolling median of 1-s block medians,
i.e. the channel's robust resting level.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.ndimage import median_filter

from somnomyo.io.annotations import NREM_STAGES, SLEEP_STAGES, STAGES, Annotations, Hypnogram
from somnomyo.signal.intervals import runs

BURST_COLUMNS = ("channel", "role", "onset", "duration", "peak_uv", "amplitude_uv", "background_uv", "ptp_uv")


@dataclass
class EMGTrace:
    """One conditioned EMG channel: envelope (µV) at ``fs``; optional filtered EMG and R peaks.

    ``role`` is the channel role (``leg_left``, ``chin``, ``arm_right``, ``other_emg``...);
    ``r_peak_times`` are ECG R-peak times in seconds (for FM artefact rejection).
    """

    label: str
    envelope: np.ndarray
    fs: float
    role: str = "other_emg"
    filtered: np.ndarray | None = None
    r_peak_times: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.envelope = np.asarray(self.envelope, dtype=float)
        if self.filtered is not None:
            self.filtered = np.asarray(self.filtered, dtype=float)
        if self.r_peak_times is not None:
            self.r_peak_times = np.sort(np.asarray(self.r_peak_times, dtype=float))

    @property
    def duration(self) -> float:
        return self.envelope.size / self.fs


# --------------------------------------------------------------------------- runs
# ``runs(mask)`` (start, exclusive stop of True runs) comes from somnomyo.signal.intervals.
def merge_runs(starts: np.ndarray, stops: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge runs separated by fewer than ``max_gap`` samples (sorted, non-overlapping input)."""
    if starts.size < 2 or max_gap <= 0:
        return starts, stops
    keep_break = (starts[1:] - stops[:-1]) >= max_gap
    first = np.concatenate(([True], keep_break))
    last = np.concatenate((keep_break, [True]))
    return starts[first], stops[last]


def _segment_reduce(x: np.ndarray, starts: np.ndarray, stops: np.ndarray, ufunc: np.ufunc) -> np.ndarray:
    """``ufunc.reduce`` of ``x[start:stop]`` for every run (vectorized with reduceat)."""
    if starts.size == 0:
        return np.zeros(0)
    xp = np.concatenate((x, x[-1:]))
    idx = np.empty(starts.size * 2, dtype=np.int64)
    idx[0::2] = starts
    idx[1::2] = stops
    return ufunc.reduceat(xp, idx)[0::2]


# --------------------------------------------------------------------- background
def robust_background(envelope: np.ndarray, fs: float, *, block_s: float, window_s: float,
                      floor_uv: float) -> np.ndarray:
    """Per-sample robust background: rolling median (``window_s``) of ``block_s`` block medians.

    Implementation choice (settings ``burst_background_*``): brief bursts barely move a
    median, so this is the channel's resting level even on a busy trace.
    """
    env = np.asarray(envelope, dtype=float)
    n = env.size
    if n == 0:
        return env.copy()
    blk = max(1, int(round(block_s * fs)))
    nb = int(np.ceil(n / blk))
    padded = np.full(nb * blk, np.nan)
    padded[:n] = env
    med = np.nanmedian(padded.reshape(nb, blk), axis=1)
    width = max(1, int(round(window_s / block_s)))
    if width > 1 and nb > 1:
        med = median_filter(med, size=min(width, nb) | 1, mode="nearest")
    return np.maximum(np.repeat(med, blk)[:n], floor_uv)


# ------------------------------------------------------------------------- bursts
def detect_bursts(trace: EMGTrace, *, threshold: np.ndarray | float, background: np.ndarray | float,
                  merge_gap_s: float = 0.0, min_duration_s: float = 0.0,
                  max_duration_s: float | None = None, min_amplitude_uv: float = 0.0) -> pd.DataFrame:
    """Runs of ``trace.envelope > threshold`` as a table (one row per burst).

    Columns ``BURST_COLUMNS``: onset and duration (s), ``peak_uv`` (envelope peak),
    ``amplitude_uv`` (peak above ``background``), ``background_uv`` (at the peak),
    ``ptp_uv`` (peak-to-peak of ``trace.filtered`` inside the burst; NaN without it).
    Bursts closer than ``merge_gap_s`` are merged first; then ``min_duration_s <= duration``,
    ``duration <= max_duration_s`` and ``amplitude_uv >= min_amplitude_uv`` are kept.
    """
    env = trace.envelope
    fs = float(trace.fs)
    thr = np.broadcast_to(np.asarray(threshold, dtype=float), env.shape)
    bg = np.broadcast_to(np.asarray(background, dtype=float), env.shape)
    starts, stops = runs(env > thr)
    starts, stops = merge_runs(starts, stops, int(round(merge_gap_s * fs)))
    if starts.size == 0:
        return empty_bursts()
    dur = (stops - starts) / fs
    peak = _segment_reduce(env, starts, stops, np.maximum)
    # sample of the peak: first index in each run where the envelope equals the run's peak
    big = np.repeat(np.arange(starts.size), stops - starts)
    pos = _run_positions(starts, stops)
    at_peak = env[pos] == peak[big]
    _, first = np.unique(big[at_peak], return_index=True)
    first_peak = pos[at_peak][first]
    bgp = bg[first_peak]
    if trace.filtered is not None and trace.filtered.size == env.size:
        ptp = (_segment_reduce(trace.filtered, starts, stops, np.maximum)
               - _segment_reduce(trace.filtered, starts, stops, np.minimum))
    else:
        ptp = np.full(starts.size, np.nan)
    df = pd.DataFrame({
        "channel": trace.label, "role": trace.role, "onset": starts / fs, "duration": dur,
        "peak_uv": peak, "amplitude_uv": peak - bgp, "background_uv": bgp, "ptp_uv": ptp,
        "peak_sample": first_peak,
    })
    keep = (df["duration"] >= min_duration_s - 1e-12) & (df["amplitude_uv"] >= min_amplitude_uv)
    if max_duration_s is not None:
        keep &= df["duration"] <= max_duration_s + 1e-12
    return df.loc[keep].reset_index(drop=True)


def _run_positions(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """All sample indices covered by the runs, concatenated (vectorized)."""
    lengths = stops - starts
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return np.arange(int(lengths.sum())) + offsets


def empty_bursts() -> pd.DataFrame:
    cols: dict[str, pd.Series] = {c: pd.Series(dtype="float64") for c in BURST_COLUMNS}
    cols["channel"] = pd.Series(dtype="object")
    cols["role"] = pd.Series(dtype="object")
    cols["peak_sample"] = pd.Series(dtype="int64")
    return pd.DataFrame(cols)


def trace_bursts(trace: EMGTrace, settings: Any, *, min_duration_s: float = 0.0,
                 max_duration_s: float | None = None, min_amplitude_uv: float = 0.0) -> pd.DataFrame:
    """Bursts of one trace with the generic ``burst_*`` settings (``settings`` is a ``Settings``)."""
    m = settings.myoclonus
    bg = robust_background(trace.envelope, trace.fs, block_s=m.burst_background_block_s,
                           window_s=m.burst_background_window_s, floor_uv=m.burst_background_floor_uv)
    return detect_bursts(trace, threshold=m.burst_k_background * bg, background=bg,
                         merge_gap_s=m.burst_merge_gap_s, min_duration_s=min_duration_s,
                         max_duration_s=max_duration_s, min_amplitude_uv=min_amplitude_uv)


# ------------------------------------------------------------------ event context
Intervals = Sequence[tuple[float, float]] | pd.DataFrame | Mapping[str, Any] | None
"""Unscorable time: ``(onset, duration)`` pairs or a table with those columns (all channels), or a
mapping channel label -> such intervals (per channel, as the pipeline's quality check gives)."""


def as_intervals(intervals: Intervals) -> np.ndarray:
    """``(onset, duration)`` pairs (list or table with those columns) as an (n, 2) array of start/end."""
    if intervals is None:
        return np.zeros((0, 2))
    if isinstance(intervals, pd.DataFrame):
        on = intervals["onset"].to_numpy(dtype=float)
        du = intervals["duration"].to_numpy(dtype=float)
    else:
        arr = np.asarray(list(intervals), dtype=float).reshape(-1, 2)
        on, du = arr[:, 0], arr[:, 1]
    du = np.nan_to_num(du, nan=0.0)
    return np.column_stack((on, on + du))


def channel_unscorable(unscorable: Intervals, label: str) -> np.ndarray:
    """Unscorable (start, end) rows for one channel (global intervals, or the channel's entry)."""
    if isinstance(unscorable, Mapping):
        return as_intervals(unscorable.get(label))
    return as_intervals(unscorable)


def common_unscorable(unscorable: Intervals, labels: Sequence[str]) -> np.ndarray:
    """Time unscorable on every channel of ``labels`` (for denominators), as (start, end) rows."""
    if not isinstance(unscorable, Mapping):
        return as_intervals(unscorable)
    from somnomyo.signal.intervals import subtract_intervals

    common: pd.DataFrame | None = None
    for lab in labels:  # loop over channels
        iv = channel_unscorable(unscorable, lab)
        df = pd.DataFrame({"onset": iv[:, 0], "duration": iv[:, 1] - iv[:, 0]})
        common = df if common is None else subtract_intervals(common, subtract_intervals(common, df))
        if len(common) == 0:
            break
    if common is None or len(common) == 0:
        return np.zeros((0, 2))
    return as_intervals(common[["onset", "duration"]])


def overlaps_any(onset: np.ndarray, end: np.ndarray, intervals: np.ndarray, *, gap: float = 0.0) -> np.ndarray:
    """True where ``[onset, end]`` overlaps, or is closer than ``gap`` to, any interval."""
    onset = np.asarray(onset, dtype=float)
    end = np.asarray(end, dtype=float)
    if intervals.size == 0 or onset.size == 0:
        return np.zeros(onset.shape, dtype=bool)
    order = np.argsort(intervals[:, 0])
    s = intervals[order, 0]
    e_cummax = np.maximum.accumulate(intervals[order, 1])
    # last interval starting before end+gap; overlap if the running max end > onset-gap
    k = np.searchsorted(s, end + gap, side="left") - 1
    ok = k >= 0
    out = np.zeros(onset.shape, dtype=bool)
    out[ok] = e_cummax[k[ok]] > onset[ok] - gap
    return out


def stages_at(onsets: np.ndarray, hypnogram: Hypnogram | None) -> np.ndarray:
    """Stage at each onset; ``UNS`` everywhere without a hypnogram."""
    onsets = np.asarray(onsets, dtype=float)
    if hypnogram is None:
        return np.full(onsets.shape, "UNS", dtype="<U3")
    return hypnogram.stage_at(onsets)


def arousal_flags(onsets: np.ndarray, durations: np.ndarray, annotations: Annotations | None,
                  *, max_gap_s: float) -> np.ndarray | None:
    """Arousal association (WASM 2016/AASM: overlap or < ``max_gap_s`` between them); None without annotations."""
    if annotations is None:
        return None
    ar = as_intervals(annotations.arousals)
    onsets = np.asarray(onsets, dtype=float)
    return overlaps_any(onsets, onsets + np.asarray(durations, dtype=float), ar, gap=max_gap_s)


def drop_unscorable(df: pd.DataFrame, unscorable: np.ndarray) -> pd.DataFrame:
    """Rows whose ``[onset, onset+duration]`` overlaps no unscorable interval."""
    if unscorable.size == 0 or len(df) == 0:
        return df
    on = df["onset"].to_numpy(dtype=float)
    bad = overlaps_any(on, on + df["duration"].to_numpy(dtype=float), unscorable)
    return df.loc[~bad].reset_index(drop=True)


def scorable_epochs(hypnogram: Hypnogram, unscorable: np.ndarray) -> np.ndarray:
    """Per epoch: True unless the epoch overlaps an unscorable interval."""
    start = hypnogram.start + np.arange(hypnogram.n_epochs) * hypnogram.epoch_s
    return ~overlaps_any(start, start + hypnogram.epoch_s - 1e-9, unscorable)


def stage_hours(hypnogram: Hypnogram | None, duration_s: float, unscorable: np.ndarray) -> dict[str, float]:
    """Scorable hours per stage, plus ``sleep`` (TST) and ``nrem``; without a hypnogram all is UNS."""
    if hypnogram is None:
        out = {s: 0.0 for s in STAGES}
        bad = float(np.clip(unscorable[:, 1] - unscorable[:, 0], 0, None).sum()) if unscorable.size else 0.0
        out["UNS"] = max(duration_s - bad, 0.0) / 3600.0
    else:
        ok = scorable_epochs(hypnogram, unscorable)
        out = {s: float(((hypnogram.stages == s) & ok).sum() * hypnogram.epoch_s / 3600.0) for s in STAGES}
    out["sleep"] = sum(out[s] for s in SLEEP_STAGES)
    out["nrem"] = sum(out[s] for s in NREM_STAGES)
    return out


def per_hour(count: int | float, hours: float) -> float | None:
    """``count / hours``, or None when no time (JSON null)."""
    return None if hours <= 0 else float(count) / hours


def index_by_stage(stages: Iterable[str], hours: Mapping[str, float]) -> dict[str, float | None]:
    """Events per hour of each stage (W, N1, N2, N3, R) plus ``sleep`` (per TST hour) and ``nrem``."""
    st = pd.Series(list(stages), dtype="object")
    counts = st.value_counts().to_dict()
    out: dict[str, float | None] = {s: per_hour(counts.get(s, 0), hours[s]) for s in STAGES if s != "UNS"}
    out["sleep"] = per_hour(sum(counts.get(s, 0) for s in SLEEP_STAGES), hours["sleep"])
    out["nrem"] = per_hour(sum(counts.get(s, 0) for s in NREM_STAGES), hours["nrem"])
    if hours.get("UNS", 0) > 0 and not any(hours[s] for s in STAGES if s != "UNS"):
        out["UNS"] = per_hour(counts.get("UNS", 0), hours["UNS"])
    return out


def json_float(x: Any) -> float | None:
    """Plain float, or None for NaN/None (JSON null)."""
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if not np.isfinite(v) else v
