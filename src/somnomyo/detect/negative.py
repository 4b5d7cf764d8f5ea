"""Negative myoclonus: brief silent periods in otherwise tonic EMG (chin, arms).

Sources (``clinical_rules.md`` §4.4 and checklist row 43):

* negative myoclonus is a brief, sudden interruption of tonic EMG activity (silent
  period) **not preceded by a positive jerk** (Rubboli 2006; Tassinari 1995);
* silent periods of **50-500 ms**, reported in bins **50-69, 70-100, 101-500 ms**
  (wearable NM monitoring, Clin Neurophysiol 2023);
* it needs sustained background (tonic) activity, so it is looked for on chin and arm EMG.

Implementation choices (settings ``nm_*``, flagged [UNCONFIRMED] where so): the tonic level
is the mean envelope over the ``nm_tonic_window_s`` (1 s) before each sample; a silent
period is a run where the envelope is below ``nm_drop_fraction`` (35%) of that level,
lasting ``nm_min_duration_s``-``nm_max_duration_s``; the level before must be at least
``nm_min_tonic_uv``; the mean envelope over ``nm_after_window_s`` after the silent period
must recover to ``nm_resume_fraction`` of the tonic level; and no envelope peak above
``nm_jerk_ratio`` x the tonic level may occur in the ``nm_jerk_window_s`` before it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from somnomyo._logging import logger, set_log_level
from somnomyo.detect.bursts import (
    EMGTrace, Intervals, _run_positions, _segment_reduce, arousal_flags, channel_unscorable, common_unscorable,
    drop_unscorable, fast_runs, index_by_stage, json_float, merge_runs, per_hour, stage_hours, stages_at,
)
from somnomyo.events import make_events
from somnomyo.io.annotations import Annotations, Hypnogram
from somnomyo.settings import Settings, get_settings

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
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in
                         ("onset", "duration", "tonic_uv", "depth", "after_uv")}).assign(
        channel=pd.Series(dtype="object"), role=pd.Series(dtype="object"))


def silent_periods(trace: EMGTrace, *, settings: Settings) -> pd.DataFrame:
    """Silent periods of one trace: ``onset``, ``duration``, ``tonic_uv`` (level before),
    ``depth`` (mean envelope inside / tonic level), ``after_uv`` (mean level after).

    Two passes (implementation, for speed on a night): candidates are found on the envelope
    taken every ``nm_step_s`` (the envelope is already smoothed, so a >= 50-ms silence is
    seen on that grid), with the tonic level = mean of that grid over the preceding
    ``nm_tonic_window_s``; then, around each candidate only, the silent period is delimited
    sample by sample (envelope < ``nm_drop_fraction`` x the tonic level before it, gaps
    < ``burst_merge_gap_s`` bridged) and checked against the rules of the module docstring.
    """
    m = settings.myoclonus
    env = trace.envelope
    fs = float(trace.fs)
    n = env.size
    step = max(1, int(round(m.nm_step_s * fs)))
    grid = env[::step].astype(np.float64)
    ng = grid.size
    nw = max(1, int(round(m.nm_tonic_window_s * fs / step)))
    if ng <= nw:
        return _empty_silent()
    csum = np.concatenate(([0.0], np.cumsum(grid)))
    level = np.full(ng, np.nan)
    level[nw:] = (csum[nw:ng] - csum[:ng - nw]) / nw       # mean of grid[i-nw:i]
    with np.errstate(invalid="ignore"):
        low = grid < m.nm_drop_fraction * level
    ga, gb = fast_runs(low)
    if ga.size == 0:
        return _empty_silent()
    ga, gb = merge_runs(ga, gb, 2)
    tonic_c = level[ga]
    ok = (tonic_c >= m.nm_min_tonic_uv) & ((gb - ga) * step >= m.nm_min_duration_s * fs - 2 * step)
    ok &= (gb - ga) * step <= m.nm_max_duration_s * fs + 2 * step
    ga, gb, tonic_c = ga[ok], gb[ok], tonic_c[ok]
    if ga.size == 0:
        return _empty_silent()
    # sample-level windows around the candidates (one grid step either side), merged if they touch
    wa = np.maximum(ga * step - step, 0)
    wb = np.minimum(gb * step + step, n)
    keep_w = np.concatenate(([True], wa[1:] >= wb[:-1]))
    grp = np.cumsum(keep_w) - 1
    wa_m = wa[keep_w]
    wb_m = np.maximum.reduceat(wb, np.flatnonzero(keep_w))
    thr_w = m.nm_drop_fraction * tonic_c[keep_w]
    lens = wb_m - wa_m
    pos = _run_positions(wa_m, wb_m)
    win = np.repeat(np.arange(wa_m.size), lens)
    sub_low = env[pos] < thr_w[win]
    # a separator between windows: a low run never joins two windows
    cut = np.zeros(pos.size, dtype=bool)
    cut[np.cumsum(lens)[:-1]] = True
    rs, re_ = fast_runs(sub_low)
    # split runs at window borders
    if cut.any():
        border = np.flatnonzero(cut)
        inside = np.searchsorted(border, rs, side="right") != np.searchsorted(border, re_ - 1, side="right")
        if inside.any():
            extra_s, extra_e = [], []
            for r0, r1 in zip(rs[inside], re_[inside]):  # loop over the rare runs crossing a border
                bs = border[(border > r0) & (border < r1)]
                edges = np.r_[r0, bs, r1]
                extra_s.extend(edges[:-1].tolist())
                extra_e.extend(edges[1:].tolist())
            rs = np.r_[rs[~inside], np.asarray(extra_s, dtype=np.int64)]
            re_ = np.r_[re_[~inside], np.asarray(extra_e, dtype=np.int64)]
            o = np.argsort(rs, kind="stable")
            rs, re_ = rs[o], re_[o]
    s = pos[rs]
    e = pos[re_ - 1] + 1
    wid = win[rs]
    # bridge gaps < burst_merge_gap_s inside a window
    gap = int(round(m.burst_merge_gap_s * fs))
    if s.size > 1 and gap > 0:
        brk = ((s[1:] - e[:-1]) >= gap) | (wid[1:] != wid[:-1])
        first = np.concatenate(([True], brk))
        last = np.concatenate((brk, [True]))
        s, e, wid = s[first], e[last], wid[first]
    tonic = tonic_c[keep_w][wid]
    dur = (e - s) / fs
    keep = (dur >= m.nm_min_duration_s - 1e-12) & (dur <= m.nm_max_duration_s + 1e-12)
    na = max(1, int(round(m.nm_after_window_s * fs)))
    full_after = (e + na) <= n
    keep &= full_after
    s, e, dur, tonic = s[keep], e[keep], dur[keep], tonic[keep]
    if s.size == 0:
        return _empty_silent()
    env64 = env.astype(np.float64, copy=False) if env.dtype == np.float64 else env
    inside = _segment_reduce(env64, s, e, np.add) / (e - s)
    after = _segment_reduce(env64, e, e + na, np.add) / na
    nj = max(1, int(round(m.nm_jerk_window_s * fs)))
    pre_a = np.maximum(s - nj, 0)
    pre_peak = _segment_reduce(env, pre_a, np.maximum(s, pre_a + 1), np.maximum)
    keep = after >= m.nm_resume_fraction * tonic
    keep &= pre_peak <= m.nm_jerk_ratio * tonic
    return pd.DataFrame({
        "channel": trace.label, "role": trace.role, "onset": s[keep] / fs, "duration": dur[keep],
        "tonic_uv": tonic[keep], "depth": inside[keep] / tonic[keep], "after_uv": after[keep],
    })


@dataclass
class NegativeResult:
    """Negative-myoclonus silent periods (``events``) and the time base for indices."""

    events: pd.DataFrame
    hours: dict[str, float]
    settings: Settings
    has_hypnogram: bool = True
    n_channels: int = 0

    def summary(self) -> dict[str, Any]:
        """JSON-ready block ``negative_myoclonus`` (index per hour; duration bins of Clin Neurophysiol 2023)."""
        ev = self.events
        stages = ev["stage"].astype("object").fillna("UNS").tolist()
        by_stage = index_by_stage(stages, self.hours)
        index = by_stage["sleep"] if self.has_hypnogram else per_hour(len(ev), self.hours.get("UNS", 0.0))
        ms = ev["duration"].to_numpy(dtype=float) * 1000.0
        bins = {name: int(((ms >= lo - 1e-6) & (ms < hi - 1e-6)).sum())
                for name, (lo, hi) in zip(DURATION_BIN_NAMES, DURATION_BINS_MS)}
        return {
            "count": int(len(ev)),
            "n_channels": int(self.n_channels),
            "index": json_float(index) if self.n_channels else None,
            "index_by_stage": {k: json_float(v) for k, v in by_stage.items()},
            "duration_bins_ms": bins,
            "median_duration_ms": json_float(np.median(ms)) if ms.size else None,
        }


def detect_negative(traces: Sequence[EMGTrace], *, hypnogram: Hypnogram | None = None,
                    annotations: Annotations | None = None, settings: Settings | None = None,
                    unscorable: Intervals = None, duration_s: float | None = None,
                    verbose: bool | str | int | None = None) -> NegativeResult:
    """Negative myoclonus on ``traces`` (the entry point passes the ``nm_roles`` channels)."""
    old = set_log_level(verbose)
    try:
        settings = settings or get_settings()
        bad = common_unscorable(unscorable, [tr.label for tr in traces])
        parts = [drop_unscorable(silent_periods(tr, settings=settings), channel_unscorable(unscorable, tr.label))
                 for tr in traces]  # loop over channels
        sp = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["onset", "duration"])
        if len(sp):
            on = sp["onset"].to_numpy(dtype=float)
            dur = sp["duration"].to_numpy(dtype=float)
            ar = arousal_flags(on, dur, annotations, max_gap_s=settings.arousal.max_gap_s)
            events = make_events(pd.DataFrame({
                "onset": on, "duration": dur, "trial_type": "negative_myoclonus",
                "channel": sp["channel"].astype(str).to_numpy(), "stage": stages_at(on, hypnogram),
                "arousal": pd.array(ar, dtype="boolean") if ar is not None else pd.NA,
                "amplitude_uv": sp["tonic_uv"].to_numpy(dtype=float),
                "muscles": sp["role"].astype(str).to_numpy(), "extent": "focal",
                "depth": sp["depth"].to_numpy(dtype=float),
            }), depth="float64")
        else:
            events = make_events(None).assign(depth=pd.Series(dtype="float64"))
        if duration_s is None:
            duration_s = max((tr.duration for tr in traces), default=0.0)
        hours = stage_hours(hypnogram, duration_s, bad)
        logger.info("negative myoclonus: %d silent periods on %d channel(s)", len(events), len(traces))
        return NegativeResult(events=events, hours=hours, settings=settings,
                              has_hypnogram=hypnogram is not None and hypnogram.source != "none",
                              n_channels=len(traces))
    finally:
        set_log_level(old)
