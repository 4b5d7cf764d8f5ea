"""Generic brief-burst detection on a conditioned EMG envelope, shared by the myoclonus detectors.

The EMG itself is conditioned by :func:`somnomyo.signal.conditioning.condition_emg`
(the one conditioning module); this module only works on its output: a rectified
envelope in µV (and optionally the filtered EMG and R-peak sample indices), held in an
:class:`EMGTrace`.

A burst is a run of envelope samples above ``k x background`` (implementation choice,
``settings.myoclonus.burst_k_background``, by analogy with the AASM phasic-REM
">= 4x background" rule); the background is a rolling median of 1-s block medians,
i.e. the channel's robust resting level. The background and the burst table of a trace
are computed once and shared by every detector (``EMGTrace.cache``); thresholds are
compared block by block, so no night-long per-sample threshold array is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from somnomyo.signal.intervals import Spans, as_spans, runs
from somnomyo.signal.rolling import median_filter as _rolling_median

BURST_COLUMNS = ("channel", "role", "onset", "duration", "peak_uv", "amplitude_uv", "background_uv", "ptp_uv")


@dataclass
class EMGTrace:
    """One conditioned EMG channel: envelope (µV) at ``fs``; optional filtered EMG and R peaks.

    ``role`` is the channel role (``leg_left``, ``chin``, ``arm_right``, ``other_emg``...);
    ``r_peak_times`` are ECG R-peak times in seconds (for FM artefact rejection). Floating
    arrays keep their dtype (the conditioning gives float32: no night-long copies).
    ``cache`` holds what is computed once per trace and shared by the detectors (background,
    burst table), keyed by the settings that made it; change the arrays, clear the cache.
    """

    label: str
    envelope: np.ndarray
    fs: float
    role: str = "other_emg"
    filtered: np.ndarray | None = None
    r_peak_times: np.ndarray | None = None
    cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.envelope = _as_float(self.envelope)
        if self.filtered is not None:
            self.filtered = _as_float(self.filtered)
        if self.r_peak_times is not None:
            self.r_peak_times = np.sort(np.asarray(self.r_peak_times, dtype=float))

    @property
    def duration(self) -> float:
        return self.envelope.size / self.fs


def _as_float(x: Any) -> np.ndarray:
    a = np.asarray(x)
    return a if a.dtype in (np.float32, np.float64) else a.astype(np.float64)


# --------------------------------------------------------------------------- runs
def merge_runs(starts: np.ndarray, stops: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge runs separated by fewer than ``max_gap`` samples (sorted, non-overlapping input)."""
    if starts.size < 2 or max_gap <= 0:
        return starts, stops
    keep_break = (starts[1:] - stops[:-1]) >= max_gap
    first = np.concatenate(([True], keep_break))
    last = np.concatenate((keep_break, [True]))
    return starts[first], stops[last]


def _segment_reduce(x: np.ndarray, starts: np.ndarray, stops: np.ndarray, ufunc: np.ufunc) -> np.ndarray:
    """``ufunc.reduce`` of ``x[start:stop]`` for every non-empty run (``start < stop``).

    Only the samples inside the runs are touched (the runs are gathered, then reduced
    with ``reduceat``), so sparse runs on a night-long array cost little.
    """
    starts = np.asarray(starts, dtype=np.int64)
    stops = np.asarray(stops, dtype=np.int64)
    if starts.size == 0:
        return np.zeros(0, dtype=x.dtype)
    lengths = stops - starts
    pos = _run_positions(starts, stops)
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    return ufunc.reduceat(x[pos], offsets)


def _run_positions(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """All sample indices covered by the runs, concatenated (vectorized)."""
    lengths = stops - starts
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return np.arange(int(lengths.sum())) + offsets


# --------------------------------------------------------------------- background
@dataclass(frozen=True)
class BlockBackground:
    """A per-block level: ``values[i]`` holds for samples ``[i * block, (i + 1) * block)`` of ``n``;
    ``raw``: the block medians before the rolling median (when made by :func:`block_background`)."""

    block: int
    values: np.ndarray
    n: int
    raw: np.ndarray | None = None

    def per_sample(self) -> np.ndarray:
        return np.repeat(self.values, self.block)[: self.n]

    def at(self, samples: np.ndarray) -> np.ndarray:
        return self.values[np.asarray(samples, dtype=np.int64) // self.block]

    def scaled(self, k: float) -> BlockBackground:
        return BlockBackground(self.block, k * self.values, self.n, self.raw)


def block_background(
    envelope: np.ndarray, fs: float, *, block_s: float, window_s: float, floor_uv: float, samples_per_block: int = 0
) -> BlockBackground:
    """Robust background: rolling median (``window_s``) of ``block_s`` block medians, floored.

    Implementation choice (settings ``burst_background_*``): brief bursts barely move a
    median, so this is the channel's resting level even on a busy trace. With
    ``samples_per_block > 0`` each block median is taken on about that many evenly spaced
    samples of the (smoothed) envelope rather than on all of them (speed). The block
    median of an even count is the upper median (``np.partition``).
    """
    env = np.asarray(envelope)
    n = env.size
    blk = max(1, int(round(block_s * fs)))
    if n == 0:
        return BlockBackground(blk, np.zeros(0), 0)
    nb = n // blk
    step = max(1, blk // samples_per_block) if samples_per_block > 0 else 1
    med = np.empty(nb + (1 if n % blk else 0))
    if nb:
        full = env[: nb * blk].reshape(nb, blk)[:, ::step]
        k = full.shape[1] // 2
        med[:nb] = np.partition(full, k, axis=1)[:, k]
    if n % blk:
        tail = np.sort(env[nb * blk :])
        med[-1] = tail[tail.size // 2]
    raw = med.copy()
    width = max(1, int(round(window_s / block_s)))
    if width > 1 and med.size > 1:
        med = _median_nearest(med, min(width, med.size) | 1)
    return BlockBackground(blk, np.maximum(med, floor_uv), n, raw)


def _median_nearest(x: np.ndarray, size: int) -> np.ndarray:
    """``scipy.ndimage.median_filter(x, size=size, mode="nearest")``: the same values by
    :func:`somnomyo.signal.rolling.median_filter` (no ``scipy.ndimage`` import) for finite ``x``;
    scipy itself otherwise (its NaN ordering is kept)."""
    if np.isfinite(x).all():
        return _rolling_median(x, size)
    from scipy.ndimage import median_filter

    return median_filter(x, size=size, mode="nearest")


def robust_background(
    envelope: np.ndarray, fs: float, *, block_s: float, window_s: float, floor_uv: float
) -> np.ndarray:
    """Per-sample robust background (:func:`block_background` on every sample of each block)."""
    return block_background(envelope, fs, block_s=block_s, window_s=window_s, floor_uv=floor_uv).per_sample()


def trace_background(trace: EMGTrace, settings: Any) -> BlockBackground:
    """The trace's burst background with the ``burst_background_*`` settings (computed once, cached)."""
    m = settings.myoclonus
    key = (
        "background",
        m.burst_background_block_s,
        m.burst_background_window_s,
        m.burst_background_floor_uv,
        m.burst_background_samples_per_block,
    )
    if key not in trace.cache:
        trace.cache[key] = block_background(
            trace.envelope,
            trace.fs,
            block_s=m.burst_background_block_s,
            window_s=m.burst_background_window_s,
            floor_uv=m.burst_background_floor_uv,
            samples_per_block=m.burst_background_samples_per_block,
        )
    return trace.cache[key]


# ------------------------------------------------------------------------- bursts
def _as_blocks(threshold: np.ndarray | float | BlockBackground, n: int, fs: float) -> BlockBackground | None:
    if isinstance(threshold, BlockBackground):
        return threshold
    if np.ndim(threshold) == 0:
        blk = max(1, int(round(fs)))
        return BlockBackground(blk, np.full(-(-n // blk), float(threshold)), n)
    return None


def runs_above(
    env: np.ndarray, threshold: np.ndarray | float | BlockBackground, *, fs: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Runs of ``env > threshold`` (start, exclusive stop) for a scalar, per-sample or per-block
    threshold. Per block, only the blocks whose maximum exceeds their threshold (and their
    neighbours) are looked at sample by sample: bursts are sparse, so a night costs about one
    pass (block maxima) instead of several night-long temporaries."""
    env = np.asarray(env)
    n = env.size
    blocks = _as_blocks(threshold, n, fs)
    if blocks is None:
        return runs(env > np.asarray(threshold))
    blk = blocks.block
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    nb = n // blk
    nbt = nb + (1 if n % blk else 0)
    vals = np.asarray(blocks.values, dtype=float)[:nbt]
    bmax = np.empty(nbt)
    if nb:
        bmax[:nb] = env[: nb * blk].reshape(nb, blk).max(axis=1)
    if n % blk:
        bmax[-1] = env[nb * blk :].max()
    hot = bmax > vals
    if not hot.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # hot blocks and their neighbours: each range is bounded by quiet blocks (or the array ends),
    # so no run crosses from one gathered range into the next
    near = hot.copy()
    near[1:] |= hot[:-1]
    near[:-1] |= hot[1:]
    ba, bb = runs(near)
    sa, sb = ba * blk, np.minimum(bb * blk, n)
    pos = _run_positions(sa, sb)
    sub = env[pos] > vals[pos // blk].astype(env.dtype)
    rs, re_ = runs(sub)
    return pos[rs], pos[re_ - 1] + 1


def above(env: np.ndarray, threshold: np.ndarray | float | BlockBackground) -> np.ndarray:
    """``env > threshold`` for a scalar, a per-sample array or a per-block threshold."""
    if not isinstance(threshold, BlockBackground):
        return env > np.asarray(threshold)
    blk, n = threshold.block, env.size
    nb = n // blk
    vals = threshold.values.astype(env.dtype)
    out = np.empty(n, dtype=bool)
    out[: nb * blk] = (env[: nb * blk].reshape(nb, blk) > vals[:nb, None]).ravel()
    if n % blk:
        out[nb * blk :] = env[nb * blk :] > vals[-1]
    return out


def detect_bursts(
    trace: EMGTrace,
    *,
    threshold: np.ndarray | float | BlockBackground,
    background: np.ndarray | float | BlockBackground,
    merge_gap_s: float = 0.0,
    min_duration_s: float = 0.0,
    max_duration_s: float | None = None,
    min_amplitude_uv: float = 0.0,
) -> pd.DataFrame:
    """Runs of ``trace.envelope > threshold`` as a table (one row per burst).

    ``threshold`` and ``background``: a scalar, a per-sample array or a :class:`BlockBackground`.
    Columns ``BURST_COLUMNS``: onset and duration (s), ``peak_uv`` (envelope peak),
    ``amplitude_uv`` (peak above ``background``), ``background_uv`` (at the peak),
    ``ptp_uv`` (peak-to-peak of ``trace.filtered`` inside the burst; NaN without it).
    Bursts closer than ``merge_gap_s`` are merged first; then ``min_duration_s <= duration``,
    ``duration <= max_duration_s`` and ``amplitude_uv >= min_amplitude_uv`` are kept.
    """
    env = trace.envelope
    fs = float(trace.fs)
    starts, stops = runs_above(env, threshold, fs=fs)
    starts, stops = merge_runs(starts, stops, int(round(merge_gap_s * fs)))
    if starts.size == 0:
        return empty_bursts()
    dur = (stops - starts) / fs
    pos = _run_positions(starts, stops)
    seg = env[pos]
    offsets = np.concatenate(([0], np.cumsum(stops - starts)[:-1]))
    peak = np.maximum.reduceat(seg, offsets)
    # sample of the peak: first index in each run where the envelope equals the run's peak
    big = np.repeat(np.arange(starts.size), stops - starts)
    at_peak = seg == peak[big]
    _, first = np.unique(big[at_peak], return_index=True)
    first_peak = pos[at_peak][first]
    if isinstance(background, BlockBackground):
        bgp = background.at(first_peak)
    else:
        bgp = np.broadcast_to(np.asarray(background, dtype=float), env.shape)[first_peak]
    if trace.filtered is not None and trace.filtered.size == env.size:
        fseg = trace.filtered[pos]
        ptp = (np.maximum.reduceat(fseg, offsets) - np.minimum.reduceat(fseg, offsets)).astype(float)
    else:
        ptp = np.full(starts.size, np.nan)
    peak = peak.astype(float)
    df = pd.DataFrame(
        {
            "channel": trace.label,
            "role": trace.role,
            "onset": starts / fs,
            "duration": dur,
            "peak_uv": peak,
            "amplitude_uv": peak - bgp,
            "background_uv": bgp,
            "ptp_uv": ptp,
            "peak_sample": first_peak,
        }
    )
    keep = (df["duration"] >= min_duration_s - 1e-12) & (df["amplitude_uv"] >= min_amplitude_uv)
    if max_duration_s is not None:
        keep &= df["duration"] <= max_duration_s + 1e-12
    return df.loc[keep].reset_index(drop=True)


def empty_bursts() -> pd.DataFrame:
    cols: dict[str, pd.Series] = {c: pd.Series(dtype="float64") for c in BURST_COLUMNS}
    cols["channel"] = pd.Series(dtype="object")
    cols["role"] = pd.Series(dtype="object")
    cols["peak_sample"] = pd.Series(dtype="int64")
    return pd.DataFrame(cols)


def channel_bursts(trace: EMGTrace, settings: Any) -> pd.DataFrame:
    """Every burst of the trace above ``burst_k_background x`` its background, runs closer than
    ``burst_merge_gap_s`` merged (computed once per trace and settings and cached: do not modify)."""
    m = settings.myoclonus
    bg = trace_background(trace, settings)
    key = (
        "bursts",
        m.burst_background_block_s,
        m.burst_background_window_s,
        m.burst_background_floor_uv,
        m.burst_background_samples_per_block,
        m.burst_k_background,
        m.burst_merge_gap_s,
    )
    if key not in trace.cache:
        trace.cache[key] = detect_bursts(
            trace, threshold=bg.scaled(m.burst_k_background), background=bg, merge_gap_s=m.burst_merge_gap_s
        )
    return trace.cache[key]


def trace_bursts(
    trace: EMGTrace,
    settings: Any,
    *,
    min_duration_s: float = 0.0,
    max_duration_s: float | None = None,
    min_amplitude_uv: float = 0.0,
) -> pd.DataFrame:
    """Bursts of one trace with the generic ``burst_*`` settings (``settings`` is a ``Settings``)."""
    b = channel_bursts(trace, settings)
    keep = (b["duration"] >= min_duration_s - 1e-12) & (b["amplitude_uv"] >= min_amplitude_uv)
    if max_duration_s is not None:
        keep &= b["duration"] <= max_duration_s + 1e-12
    return b.loc[keep].reset_index(drop=True)


# ------------------------------------------------------------------ event context
def channel_lm_intervals(lm_events: pd.DataFrame | None, label: str) -> Spans | None:
    """Spans of the leg movements in ``lm_events`` on channel ``label`` (rows without a channel,
    or naming it in a comma-separated list, count); None without events."""
    if lm_events is None or len(lm_events) == 0:
        return None
    sel = lm_events
    if "channel" in lm_events.columns:
        ch = lm_events["channel"].astype("object")
        names = ch.fillna("").astype(str).str.split(",")
        sel = lm_events.loc[ch.isna().to_numpy() | names.map(lambda c: label in c).to_numpy()]
    return as_spans(sel[["onset", "duration"]])
