"""Negative myoclonus: brief silent periods in otherwise tonic EMG (chin, arms).

Sources (docs/rules.md §10):

* negative myoclonus is a brief, sudden interruption of tonic EMG activity (silent
  period) **not preceded by a positive jerk** (Rubboli 2006; Tassinari 1995);
* silent periods of **50-500 ms**, reported in bins **50-69, 70-100, 101-500 ms**
  (wearable NM monitoring, Clin Neurophysiol 2023);
* it needs sustained background (tonic) activity, so it is looked for on chin and arm EMG.

Implementation choices (settings ``nm_*``, flagged [UNCONFIRMED] where so; details in
:func:`silent_periods`): the tonic level is the median envelope of the 1-s background
block before the silence (robust to a brief burst); a silent period runs while the
envelope, smoothed over ``nm_smooth_s``, stays below ``nm_edge_fraction`` (50%) of it, its
mean envelope must be below ``nm_drop_fraction`` (35%; ``nm_short_drop_fraction``, 25%,
under ``nm_short_s``, 100 ms: tonic EMG noise alone dips to 30-35% for 50-70 ms) and it
lasts ``nm_min_duration_s``-``nm_max_duration_s``; the tonic level must be at least
``nm_min_tonic_uv``; the mean envelope over ``nm_after_window_s`` after it must recover to
``nm_resume_fraction`` of the tonic level; no envelope peak above ``nm_jerk_ratio`` x the
tonic level may occur in the ``nm_jerk_window_s`` before it; with a hypnogram, silences
are scored in ``nm_stages`` (W, N1: tonic activity present) only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
import pandas as pd

from somnomyo._logging import logger, verbose
from somnomyo.detect.bursts import EMGTrace, _segment_reduce, trace_background
from somnomyo.events import make_events
from somnomyo.io.annotations import Annotations, Hypnogram
from somnomyo.result import Result
from somnomyo.score.associations import arousal_flags
from somnomyo.score.helpers import index_by_stage, json_float, per_hour, stage_hours, stages_at
from somnomyo.settings import Settings, get_settings
from somnomyo.signal.intervals import (
    IntervalsLike,
    Spans,
    channel_unscorable,
    common_unscorable,
    drop_overlapping,
    runs,
)

DURATION_BINS_MS = ((50.0, 70.0), (70.0, 101.0), (101.0, 501.0))
DURATION_BIN_NAMES = ("50-69", "70-100", "101-500")


def _window_mean(csum: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean of x[a:b] from its cumulative sum ``csum`` (``csum[0] = 0``); NaN where empty."""
    n = b - a
    out = np.full(a.shape, np.nan)
    ok = n > 0
    out[ok] = (csum[b[ok]] - csum[a[ok]]) / n[ok]
    return out


def _empty_silent() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="float64") for c in ("onset", "duration", "tonic_uv", "depth", "after_uv")}
    ).assign(channel=pd.Series(dtype="object"), role=pd.Series(dtype="object"))


def silent_periods(trace: EMGTrace, *, settings: Settings) -> pd.DataFrame:
    """Silent periods of one trace: ``onset``, ``duration``, ``tonic_uv`` (level before),
    ``depth`` (mean envelope inside / tonic level), ``after_uv`` (mean level after).

    Implementation (two passes, for speed and robustness on a night):

    1. tonic level before a sample = median envelope of the last whole background block
       (``burst_background_block_s``, 1 s) before the one it lies in (robust to a brief FM
       potential or jerk in that second);
    2. candidates: the envelope taken every ``nm_step_s`` and smoothed over ``nm_smooth_s``
       on that grid stays below ``nm_edge_fraction`` x the tonic level;
    3. edges refined sample by sample: onset = first sample, within half a smoothing span of
       the grid onset, below that edge threshold; offset = after the last such sample near
       the grid offset;
    4. kept when the *mean* envelope inside is below ``nm_drop_fraction`` x tonic (the
       silence proper: a short dip of tonic noise rarely averages that low), it lasts
       ``nm_min_duration_s``-``nm_max_duration_s``, the tonic level is >= ``nm_min_tonic_uv``,
       activity resumes and no jerk precedes it (module docstring).
    """
    m = settings.myoclonus
    env = trace.envelope
    fs = float(trace.fs)
    n = env.size
    step = max(1, int(round(m.nm_step_s * fs)))
    bg = trace_background(trace, settings)
    grid = env[::step]
    ng = grid.size
    ks = max(1, int(round(m.nm_smooth_s * fs / step)))
    if ng <= ks or bg.raw is None or bg.raw.size < 2:
        return _empty_silent()
    # per grid point: edge threshold from the tonic level of the block before its block
    prev = np.concatenate(([np.nan], bg.raw[:-1])) * m.nm_edge_fraction
    first_g = -(-np.arange(bg.raw.size + 1) * bg.block // step)  # first grid point of each block
    counts = np.diff(np.minimum(first_g, ng))
    thr_g = np.repeat(prev.astype(np.float32), counts)
    csum = np.cumsum(grid, dtype=np.float64)
    h = ks // 2
    smooth = np.full(ng, np.inf, dtype=np.float32)
    smooth[h + 1 : ng - ks + 1 + h] = (csum[ks:] - csum[:-ks]) / ks  # centred mean of ks grid points
    with np.errstate(invalid="ignore"):
        low = smooth < thr_g
    ga, gb = runs(low)
    if ga.size == 0:
        return _empty_silent()
    gblk = (ga * step) // bg.block - 1
    tonic = np.where(gblk >= 0, bg.raw[np.clip(gblk, 0, bg.raw.size - 1)], np.nan)
    ok = np.isfinite(tonic) & (tonic >= m.nm_min_tonic_uv)
    ok &= (gb - ga) * step >= m.nm_min_duration_s * fs - (ks + 1) * step
    ok &= (gb - ga) * step <= m.nm_max_duration_s * fs + 2 * ks * step
    ga, gb, tonic = ga[ok], gb[ok], tonic[ok]
    if ga.size == 0:
        return _empty_silent()
    thr = m.nm_edge_fraction * tonic
    span = (h + 1) * step
    offs = np.arange(-span, span)
    on_idx = np.clip(ga[:, None] * step + offs[None, :], 0, n - 1)
    off_idx = np.clip((gb[:, None] - 1) * step + offs[None, :], 0, n - 1)
    low_on = env[on_idx] < thr[:, None]
    low_off = env[off_idx] < thr[:, None]
    rows = np.arange(ga.size)
    s = np.where(low_on.any(axis=1), on_idx[rows, np.argmax(low_on, axis=1)], ga * step)
    last = off_idx.shape[1] - 1 - np.argmax(low_off[:, ::-1], axis=1)
    e = np.where(low_off.any(axis=1), off_idx[rows, last] + 1, np.minimum(gb * step, n))
    dur = (e - s) / fs
    na = max(1, int(round(m.nm_after_window_s * fs)))
    keep = (e > s) & (dur >= m.nm_min_duration_s - 1e-12) & (dur <= m.nm_max_duration_s + 1e-12)
    keep &= (e + na) <= n
    s, e, dur, tonic = s[keep], e[keep], dur[keep], tonic[keep]
    if s.size == 0:
        return _empty_silent()
    inside = _segment_reduce(env, s, e, np.add).astype(float) / (e - s)
    after = _segment_reduce(env, e, e + na, np.add).astype(float) / na
    nj = max(1, int(round(m.nm_jerk_window_s * fs)))
    pre_a = np.maximum(s - nj, 0)
    pre_peak = _segment_reduce(env, pre_a, np.maximum(s, pre_a + 1), np.maximum)
    drop = np.where(dur < m.nm_short_s - 1e-12, m.nm_short_drop_fraction, m.nm_drop_fraction)
    keep = inside <= drop * tonic + 1e-12
    keep &= after >= m.nm_resume_fraction * tonic
    keep &= pre_peak <= m.nm_jerk_ratio * tonic
    return pd.DataFrame(
        {
            "channel": trace.label,
            "role": trace.role,
            "onset": s[keep] / fs,
            "duration": dur[keep],
            "tonic_uv": tonic[keep],
            "depth": inside[keep] / tonic[keep],
            "after_uv": after[keep],
        }
    )


class NegativeSummary(TypedDict):
    """Block ``negative_myoclonus`` of summary.json."""

    count: int
    n_channels: int
    index: float | None
    index_stages: list[str]
    index_by_stage: dict[str, float | None]
    duration_bins_ms: dict[str, int]
    median_duration_ms: float | None


@dataclass
class NegativeResult(Result):
    """Negative-myoclonus silent periods (``events``) and the time base for indices."""

    BLOCK = "negative_myoclonus"
    Summary = NegativeSummary

    events: pd.DataFrame
    hours: dict[str, float]
    settings: Settings
    has_hypnogram: bool = True
    n_channels: int = 0

    def summary_block(self) -> NegativeSummary:
        """JSON-ready block ``negative_myoclonus`` (index per hour; duration bins of Clin Neurophysiol 2023)."""
        ev = self.events
        stages = ev["stage"].astype("object").fillna("UNS").tolist()
        by_stage = index_by_stage(stages, self.hours)
        # scored only in the stages with tonic activity (nm_stages, W and N1 by default): the index is
        # per scorable hour of those stages, not of all sleep (docs/rules.md §10)
        scored = tuple(self.settings.myoclonus.nm_stages)
        index = (
            per_hour(len(ev), sum(self.hours.get(st, 0.0) for st in scored))
            if self.has_hypnogram
            else per_hour(len(ev), self.hours.get("UNS", 0.0))
        )
        ms = ev["duration"].to_numpy(dtype=float) * 1000.0
        bins = {
            name: int(((ms >= lo - 1e-6) & (ms < hi - 1e-6)).sum())
            for name, (lo, hi) in zip(DURATION_BIN_NAMES, DURATION_BINS_MS)
        }
        return {
            "count": int(len(ev)),
            "n_channels": int(self.n_channels),
            "index": json_float(index) if self.n_channels else None,
            "index_stages": list(scored) if self.has_hypnogram else [],
            "index_by_stage": {k: json_float(v) for k, v in by_stage.items()},
            "duration_bins_ms": bins,
            "median_duration_ms": json_float(np.median(ms)) if ms.size else None,
        }


@verbose
def detect_negative(
    traces: Sequence[EMGTrace],
    *,
    hypnogram: Hypnogram | None = None,
    annotations: Annotations | None = None,
    settings: Settings | None = None,
    unscorable: IntervalsLike = None,
    duration_s: float | None = None,
    verbose: bool | str | int | None = None,
) -> NegativeResult:
    """Negative myoclonus on ``traces`` (the entry point passes the ``nm_roles`` channels)."""
    settings = settings or get_settings()
    bad = common_unscorable(unscorable, [tr.label for tr in traces])
    parts = [
        drop_overlapping(silent_periods(tr, settings=settings), channel_unscorable(unscorable, tr.label))
        for tr in traces
    ]  # loop over channels
    sp = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["onset", "duration"])
    if len(sp) and hypnogram is not None and hypnogram.source != "none":
        st = stages_at(sp["onset"].to_numpy(dtype=float), hypnogram)
        sp = sp.loc[np.isin(st, settings.myoclonus.nm_stages)].reset_index(drop=True)
    if len(sp):
        on = sp["onset"].to_numpy(dtype=float)
        dur = sp["duration"].to_numpy(dtype=float)
        ar = arousal_flags(on, dur, annotations, max_gap_s=settings.arousal.max_gap_s)
        events = make_events(
            pd.DataFrame(
                {
                    "onset": on,
                    "duration": dur,
                    "trial_type": "negative_myoclonus",
                    "channel": sp["channel"].astype(str).to_numpy(),
                    "stage": stages_at(on, hypnogram),
                    "arousal": pd.array(ar, dtype="boolean") if ar is not None else pd.NA,
                    "amplitude_uv": sp["tonic_uv"].to_numpy(dtype=float),
                    "muscles": sp["role"].astype(str).to_numpy(),
                    "extent": "focal",
                    "depth": sp["depth"].to_numpy(dtype=float),
                }
            ),
            depth="float64",
        )
    else:
        events = make_events(None).assign(depth=pd.Series(dtype="float64"))
    if duration_s is None:
        duration_s = max((tr.duration for tr in traces), default=0.0)
    logger.info("negative myoclonus: %d silent periods on %d channel(s)", len(events), len(traces))
    return negative_from_events(
        events, hypnogram=hypnogram, settings=settings, unscorable=bad, duration_s=duration_s, n_channels=len(traces)
    )


def negative_from_events(
    events: pd.DataFrame,
    *,
    hypnogram: Hypnogram | None,
    settings: Settings,
    unscorable: Spans,
    duration_s: float,
    n_channels: int,
) -> NegativeResult:
    """The :class:`NegativeResult` of the silent periods in ``events`` on ``n_channels`` channels,
    with scorable hours per stage outside ``unscorable`` (spans unscorable on every
    channel). The scoring step of :func:`detect_negative`, also used to score a reviewed event
    table (``somnomyo.rescore``)."""
    return NegativeResult(
        events=events,
        hours=stage_hours(hypnogram, duration_s, unscorable),
        settings=settings,
        has_hypnogram=hypnogram is not None and hypnogram.source != "none",
        n_channels=n_channels,
    )
