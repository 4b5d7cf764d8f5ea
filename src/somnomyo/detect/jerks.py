"""Myoclonic jerks across muscles: brief bursts on every EMG channel grouped into jerks.

Sources (docs/rules.md §7; Hallett 1979): myoclonic EMG bursts last from about 10-50 ms
(cortical) to a few hundred ms (subcortical/spinal); a burst of 0.5 s or more is a leg
movement (WASM 2016/AASM LM minimum duration), so a jerk burst lasts
``jerk_min_duration_s <= d < jerk_max_duration_s`` (20-500 ms by default).

Implementation choices (settings ``jerk_*``): bursts on different channels that start
within ``jerk_group_window_s`` (100 ms) of the first burst of a jerk are one jerk (the
window is anchored on the first onset; a channel counts once). A jerk involves >= 2
muscles, or is a single-muscle burst longer than the FM maximum (``fm_max_duration_s``,
150 ms): a single-muscle burst of <= 150 ms meets the AASM fragmentary-myoclonus potential
definition (docs/rules.md §6.2) and is scored as FM, not as a jerk (``jerk_focal_excludes_fm``), so no
burst is counted twice (see :mod:`.fragmentary`). Extent:

* ``focal``: one muscle;
* ``generalized``: a left muscle AND a right muscle (legs or arms) AND an axial muscle
  (chin), and, when arms and legs are both recorded, an arm AND a leg (the whole body);
  a combined ``legs`` channel is a limb of unknown side, so it cannot prove
  bilaterality on its own;
* ``multifocal``: several muscles, not generalized.

Arousal association uses the WASM 2016/AASM LM-arousal rule (overlap or < 0.5 s).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from somnomyo._logging import logger, verbose
from somnomyo.detect.bursts import EMGTrace, channel_bursts, channel_lm_intervals, empty_bursts, trace_background
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
    overlaps_any,
    runs,
)

LEFT_ROLES = frozenset({"leg_left", "arm_left"})
RIGHT_ROLES = frozenset({"leg_right", "arm_right"})
LIMB_ROLES = frozenset({"leg_left", "leg_right", "legs", "arm_left", "arm_right"})
ARM_ROLES = frozenset({"arm_left", "arm_right"})
LEG_ROLES = frozenset({"leg_left", "leg_right", "legs"})
AXIAL_ROLES = frozenset({"chin"})
EXTENTS = ("focal", "multifocal", "generalized")


def classify_extent(roles: Sequence[str], *, recorded: Collection[str] | None = None) -> str:
    """``focal`` / ``multifocal`` / ``generalized`` for the muscles (roles) of one jerk.

    Generalized = axial (chin) AND both sides (a left and a right limb muscle); when the
    recording has both arm and leg channels (``recorded``: the roles recorded), also an upper
    AND a lower limb - i.e. the whole recorded body (trunk and all four limbs), not a
    segment such as chin + both arms. Each entry of ``roles`` is one muscle (channel).
    Implementation choice (no scoring manual defines jerk extent).
    """
    if len(roles) <= 1:
        return "focal"
    rs = set(roles)
    if rs & LEFT_ROLES and rs & RIGHT_ROLES and rs & AXIAL_ROLES:
        if recorded is not None:
            rec = set(recorded)
            if rec & ARM_ROLES and rec & LEG_ROLES and not (rs & ARM_ROLES and rs & LEG_ROLES):
                return "multifocal"
        return "generalized"
    return "multifocal"


def _side(roles: Sequence[str]) -> str:
    rs = set(roles)
    left, right = bool(rs & LEFT_ROLES), bool(rs & RIGHT_ROLES)
    if left and right:
        return "bilateral"
    return "left" if left else ("right" if right else "")


def group_onsets(onsets: np.ndarray, *, window_s: float) -> np.ndarray:
    """Group ids for sorted ``onsets``: a group takes every onset within ``window_s`` of its first.

    Vectorized where onsets are isolated (gap > ``window_s``: a group of its own); the
    anchored chaining loops only over the onsets that have a neighbour within the window.
    """
    onsets = np.asarray(onsets, dtype=float)
    n = onsets.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    w = window_s + 1e-9
    close = np.diff(onsets) <= w  # i+1 may join the group of i
    new_group = np.concatenate(([True], ~close))
    # runs of linked onsets: only inside them can the anchored rule split a run
    a, b = runs(close)  # close[a:b] True -> onsets a..b linked
    for s0, s1 in zip(a.tolist(), (b + 1).tolist()):  # loop over linked runs (rare, short)
        i = s0
        while i < s1:
            j = int(np.searchsorted(onsets, onsets[i] + w, side="right"))
            j = min(j, s1)
            new_group[i] = True
            new_group[i + 1 : j] = False
            i = j
    return np.cumsum(new_group) - 1


def jerk_bursts(trace: EMGTrace, *, settings: Settings, lm_intervals: Spans | None = None) -> pd.DataFrame:
    """Bursts of one trace that may belong to a jerk: ``jerk_min_duration_s <= d < jerk_max_duration_s``
    (bursts of 0.5 s or more are LMs, WASM 2016/AASM), amplitude >= ``jerk_min_amplitude_uv``, and
    not within ``fm_lm_exclusion_margin_s`` (the 0.5-s LM offset period, WASM 2016/AASM) of a leg
    movement on the channel (a burst >= the LM minimum duration, or ``lm_intervals`` rows start, end)."""
    m = settings.myoclonus
    b = channel_bursts(trace, settings)
    on = b["onset"].to_numpy(dtype=float)
    dur = b["duration"].to_numpy(dtype=float)
    keep = (dur >= m.jerk_min_duration_s - 1e-12) & (dur < m.jerk_max_duration_s - 1e-12)
    keep &= b["amplitude_uv"].to_numpy(dtype=float) >= m.jerk_min_amplitude_uv
    is_lm = dur >= settings.lm.min_duration_s - 1e-12
    lms = (on[is_lm], on[is_lm] + dur[is_lm])
    if lm_intervals is not None and lm_intervals[0].size:
        lms = (np.concatenate((lms[0], lm_intervals[0])), np.concatenate((lms[1], lm_intervals[1])))
    if lms[0].size and keep.any():
        keep[keep] &= ~overlaps_any(on[keep], on[keep] + dur[keep], *lms, gap=m.fm_lm_exclusion_margin_s)
    out = b.loc[keep].reset_index(drop=True)
    out["burst"] = np.flatnonzero(keep)
    return out


def group_bursts(bursts: pd.DataFrame, *, settings: Settings) -> pd.DataFrame:
    """Jerk bursts of all channels grouped (anchored ``jerk_group_window_s`` window), sorted by onset,
    with ``group`` and ``n_muscles`` (channels in the group) columns."""
    if len(bursts) == 0:
        return bursts.assign(group=pd.Series(dtype="int64"), n_muscles=pd.Series(dtype="int64"))
    b = bursts.sort_values(["onset", "channel"], kind="stable").reset_index(drop=True)
    b["group"] = group_onsets(b["onset"].to_numpy(dtype=float), window_s=settings.myoclonus.jerk_group_window_s)
    codes = pd.factorize(b["channel"])[0]
    pair = np.unique(np.column_stack((b["group"].to_numpy(), codes)), axis=0)
    n_mus = np.bincount(pair[:, 0], minlength=int(b["group"].iloc[-1]) + 1)
    b["n_muscles"] = n_mus[b["group"].to_numpy()]
    return b


def jerk_groups(bursts: pd.DataFrame, *, settings: Settings) -> pd.DataFrame:
    """The grouped bursts (:func:`group_bursts`) that make jerks: groups of >= 2 muscles, and
    single-muscle bursts longer than ``fm_max_duration_s`` when ``jerk_focal_excludes_fm`` (a
    single-muscle burst of <= 150 ms is a fragmentary-myoclonus potential, AASM; docs/rules.md §6.2)."""
    m = settings.myoclonus
    g = bursts if "n_muscles" in bursts.columns else group_bursts(bursts, settings=settings)
    if len(g) == 0 or not m.jerk_focal_excludes_fm:
        return g
    dur_max = g.groupby("group")["duration"].transform("max").to_numpy()
    keep = (g["n_muscles"].to_numpy() >= 2) | (dur_max > m.fm_max_duration_s + 1e-12)
    return g.loc[keep].reset_index(drop=True)


def join_weak_muscles(
    groups: pd.DataFrame, traces: Sequence[EMGTrace], *, settings: Settings, unscorable: IntervalsLike = None
) -> pd.DataFrame:
    """Add to every multi-muscle jerk the other muscles whose envelope rises above
    ``jerk_join_k_background x`` their background within ``jerk_group_window_s`` of the jerk's
    first onset, for at least ``fm_min_duration_s`` (implementation: a lower, confirming
    threshold once the jerk is established on >= 2 muscles, as onset/offset hysteresis; a
    small burst in a muscle with strong tonic activity, e.g. the chin in wake, stays below
    the ``burst_k_background`` detection threshold). Rows get ``joined = True``."""
    m = settings.myoclonus
    out = groups.assign(joined=False)
    if len(groups) == 0 or m.jerk_join_k_background <= 0:
        return out
    multi = groups.loc[groups["n_muscles"].to_numpy() >= 2]
    if len(multi) == 0:
        return out
    first = multi.groupby("group", sort=True)["onset"].min()
    g_ids = first.index.to_numpy()
    t0 = first.to_numpy(dtype=float)
    have = set(zip(multi["group"].to_numpy().tolist(), multi["channel"].astype(str).tolist()))
    rows = []
    for tr in traces:  # loop over channels
        fs = float(tr.fs)
        env = tr.envelope
        bg = trace_background(tr, settings)
        need = np.array([(g, tr.label) not in have for g in g_ids.tolist()], dtype=bool)
        if not need.any():
            continue
        s0 = np.round(t0[need] * fs).astype(np.int64)
        ok = (s0 >= 0) & (s0 < env.size)
        s0, gid = s0[ok], g_ids[need][ok]
        w = max(1, int(round(m.jerk_group_window_s * fs)) + 1)
        lim = w + int(round(m.jerk_max_duration_s * fs))
        idx = np.minimum(s0[:, None] + np.arange(lim)[None, :], env.size - 1)
        thr = m.jerk_join_k_background * bg.at(s0)
        seg = env[idx]
        hot = seg > thr[:, None].astype(seg.dtype)
        start = np.argmax(hot[:, :w], axis=1)
        has = hot[:, :w].any(axis=1)
        after = ~hot & (np.arange(lim)[None, :] > start[:, None])
        stop = np.where(after.any(axis=1), np.argmax(after, axis=1), lim)
        dur = (stop - start) / fs
        keep = has & (dur >= m.fm_min_duration_s - 1e-12) & (dur < m.jerk_max_duration_s - 1e-12)
        if not keep.any():
            continue
        rr = np.flatnonzero(keep)
        peak = np.array([seg[i, start[i] : stop[i]].max() for i in rr.tolist()], dtype=float)  # loop over joins
        rows.append(
            pd.DataFrame(
                {
                    "channel": tr.label,
                    "role": tr.role,
                    "onset": (s0[rr] + start[rr]) / fs,
                    "duration": dur[rr],
                    "peak_uv": peak,
                    "amplitude_uv": peak - bg.at(s0[rr]),
                    "background_uv": bg.at(s0[rr]),
                    "ptp_uv": np.nan,
                    "peak_sample": s0[rr] + start[rr],
                    "burst": -1,
                    "group": gid[rr],
                    "joined": True,
                }
            )
        )
    if not rows:
        return out
    add = pd.concat(rows, ignore_index=True)
    bad = [
        drop_overlapping(add.loc[add["channel"] == tr.label], channel_unscorable(unscorable, tr.label)) for tr in traces
    ]  # loop over channels
    add = pd.concat(bad, ignore_index=True)
    out = pd.concat([out, add], ignore_index=True).sort_values(["group", "onset", "channel"], kind="stable")
    n_mus = out.groupby("group")["channel"].transform("nunique").to_numpy()
    return out.assign(n_muscles=n_mus).reset_index(drop=True)


def jerk_muscle_bursts(
    traces: Sequence[EMGTrace],
    *,
    settings: Settings,
    unscorable: IntervalsLike = None,
    lm_events: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per muscle burst of every jerk (``group`` = jerk id): :func:`grouped_jerk_bursts`,
    kept by :func:`jerk_groups`, weak muscles joined by :func:`join_weak_muscles`. Shared by the
    jerk and the FM detectors, so that a burst is part of a jerk or an FM potential, never both."""
    grouped = grouped_jerk_bursts(traces, settings=settings, unscorable=unscorable, lm_events=lm_events)
    kept = jerk_groups(grouped, settings=settings)
    return join_weak_muscles(kept, traces, settings=settings, unscorable=unscorable)


def jerks_from_bursts(
    bursts: pd.DataFrame,
    *,
    settings: Settings,
    hypnogram: Hypnogram | None = None,
    annotations: Annotations | None = None,
    recorded: Collection[str] | None = None,
) -> pd.DataFrame:
    """Group a burst table (``channel``, ``role``, ``onset``, ``duration``, ``amplitude_uv``) into
    jerk events (``trial_type = myoclonic_jerk``) with muscles, extent, lags, stage, arousal.
    ``recorded``: roles of every channel looked at (for :func:`classify_extent`)."""
    if len(bursts) == 0:
        return _empty_jerks()
    if "group" in bursts.columns:
        b = bursts.sort_values(["group", "onset", "channel"], kind="stable").reset_index(drop=True)
    else:
        b = bursts.sort_values(["onset", "channel"], kind="stable").reset_index(drop=True)
        b["group"] = group_onsets(b["onset"].to_numpy(dtype=float), window_s=settings.myoclonus.jerk_group_window_s)
    b = b.drop_duplicates(["group", "channel"], keep="first")
    b["muscle"] = np.where(b["role"].astype(str) == "other_emg", b["channel"].astype(str), b["role"].astype(str))
    b["end"] = b["onset"] + b["duration"]
    g = b.groupby("group", sort=True)
    onset = g["onset"].min()
    first = onset.reindex(b["group"]).to_numpy()
    b["lag"] = (b["onset"].to_numpy() - first) * 1000.0
    lag_txt = b["lag"].map(lambda v: f"{v:.1f}".rstrip("0").rstrip("."))
    b["lag_txt"] = lag_txt
    agg = pd.DataFrame(
        {
            "onset": onset,
            "duration": g["end"].max() - onset,
            "channel": g["channel"].agg(lambda s: ",".join(map(str, s))),
            "muscles": g["muscle"].agg(lambda s: ",".join(map(str, s))),
            "lag_ms": g["lag_txt"].agg(",".join),
            "amplitude_uv": g["amplitude_uv"].max(),
            "burst_ms": g["duration"].first() * 1000.0,  # EMG burst of the leading muscle (sorted by onset)
            "n_muscles": g["channel"].size(),
            "roles": g["role"].agg(list),
        }
    ).reset_index(drop=True)
    agg["extent"] = agg["roles"].map(lambda r: classify_extent(r, recorded=recorded))
    agg["side"] = agg["roles"].map(_side)
    agg["axial"] = agg["roles"].map(lambda r: bool(set(r) & AXIAL_ROLES))
    agg["limb"] = agg["roles"].map(lambda r: bool(set(r) & LIMB_ROLES))
    on = agg["onset"].to_numpy(dtype=float)
    agg["stage"] = stages_at(on, hypnogram)
    ar = arousal_flags(on, agg["duration"].to_numpy(dtype=float), annotations, max_gap_s=settings.arousal.max_gap_s)
    agg["arousal"] = pd.array(ar, dtype="boolean") if ar is not None else pd.NA
    agg["trial_type"] = "myoclonic_jerk"
    agg = agg.drop(columns="roles")
    return make_events(agg, n_muscles="int64", axial="bool", limb="bool", burst_ms="float64")


def _empty_jerks() -> pd.DataFrame:
    return make_events(None).assign(
        burst_ms=pd.Series(dtype="float64"),
        n_muscles=pd.Series(dtype="int64"),
        axial=pd.Series(dtype="bool"),
        limb=pd.Series(dtype="bool"),
    )


def _texts(col: pd.Series) -> list[str]:
    """The cells of a text column as strings, a missing cell (NA, NaN, None) as ``""``."""
    return ["" if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v) for v in col.tolist()]


class JerkSummary(TypedDict):
    """Block ``jerks`` of summary.json: myoclonic jerks (hypnic jerks are in ``hypnic_jerks``)."""

    count: int
    index: float | None
    index_by_stage: dict[str, float | None]
    by_extent: dict[str, int]
    with_arousal: int | None
    muscles: dict[str, int]
    leading_muscle: dict[str, int]
    median_lag_ms: float | None


@dataclass
class JerkResult(Result):
    """Jerks (``events``, one row per jerk) and the time base for indices."""

    BLOCK = "jerks"
    Summary = JerkSummary

    events: pd.DataFrame
    hours: dict[str, float]
    settings: Settings
    has_hypnogram: bool = True

    def summary_block(self) -> JerkSummary:
        """JSON-ready block ``jerks``: myoclonic jerks only (rows re-labelled ``hypnic_jerk`` by
        :meth:`mark_hypnic` are counted in the ``hypnic_jerks`` block, not here)."""
        ev = self.myoclonic
        stages = ev["stage"].astype("object").fillna("UNS").tolist()
        by_stage = index_by_stage(stages, self.hours)
        index = by_stage["sleep"] if self.has_hypnogram else per_hour(len(ev), self.hours.get("UNS", 0.0))
        muscles: dict[str, int] = {}
        leading: dict[str, int] = {}
        lags: list[float] = []
        # a row without muscles or lags (an event of another kind made a jerk in a review) adds none
        for m_txt, lag_txt in zip(_texts(ev["muscles"]), _texts(ev["lag_ms"])):  # loop over jerks
            parts = [p for p in m_txt.split(",") if p]
            for p in parts:
                muscles[p] = muscles.get(p, 0) + 1
            if parts:
                leading[parts[0]] = leading.get(parts[0], 0) + 1
            lags.extend(float(x) for x in lag_txt.split(",")[1:] if x)
        ar = ev["arousal"]
        return {
            "count": int(len(ev)),
            "index": json_float(index),
            "index_by_stage": {k: json_float(v) for k, v in by_stage.items()},
            "by_extent": {e: int((ev["extent"] == e).sum()) for e in EXTENTS},
            "with_arousal": None if ar.isna().all() and len(ev) else int(ar.fillna(False).sum()),
            "muscles": muscles,
            "leading_muscle": leading,
            "median_lag_ms": json_float(np.median(lags)) if lags else None,
        }

    @property
    def myoclonic(self) -> pd.DataFrame:
        """The rows that are myoclonic jerks (not hypnic jerks)."""
        return self.events.loc[self.events["trial_type"] == "myoclonic_jerk"].reset_index(drop=True)

    def mark_hypnic(self, onsets: Sequence[float] | np.ndarray) -> None:
        """Re-label the jerks starting at ``onsets`` as ``hypnic_jerk`` (one row per jerk: the hypnic
        row replaces the myoclonic one in the combined event table)."""
        on = self.events["onset"].to_numpy(dtype=float)
        sel = np.isin(on, np.asarray(onsets, dtype=float))
        if sel.any():
            ev = self.events.copy()
            ev.loc[sel, "trial_type"] = "hypnic_jerk"
            self.events = ev

    def plot_jerks(self, *, ax: Any = None) -> Any:
        """Raster of jerks over time, one row per muscle, colour by extent."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(10, 3))
        ev = self.events
        names = sorted({p for s in ev["muscles"].astype(str) for p in s.split(",")}) if len(ev) else []
        row = {n: i for i, n in enumerate(names)}
        colors = {"focal": "tab:blue", "multifocal": "tab:orange", "generalized": "tab:red"}
        for extent, sub in ev.groupby(ev["extent"].astype(str)):
            xs, ys = [], []
            for t, ms in zip(sub["onset"], sub["muscles"].astype(str)):
                for p in ms.split(","):
                    xs.append(t / 60.0)
                    ys.append(row[p])
            ax.plot(xs, ys, "|", color=colors.get(extent, "k"), label=extent, ms=12)
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names)
        ax.set_xlabel("time (min)")
        if len(ev):
            ax.legend(loc="upper right", fontsize="small")
        return ax


def grouped_jerk_bursts(
    traces: Sequence[EMGTrace],
    *,
    settings: Settings,
    unscorable: IntervalsLike = None,
    lm_events: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The jerk bursts (:func:`jerk_bursts`) of every trace outside its unscorable time, grouped
    across channels (:func:`group_bursts`). Shared by the jerk and the FM detectors, so that a
    burst is part of a jerk or an FM candidate, never both."""
    parts = [
        drop_overlapping(
            jerk_bursts(tr, settings=settings, lm_intervals=channel_lm_intervals(lm_events, tr.label)),
            channel_unscorable(unscorable, tr.label),
        )
        for tr in traces
    ]  # loop over channels
    parts = [p for p in parts if len(p)]
    bursts = pd.concat(parts, ignore_index=True) if parts else empty_bursts().assign(burst=pd.Series(dtype="int64"))
    return group_bursts(bursts, settings=settings)


@verbose
def detect_jerks(
    traces: Sequence[EMGTrace],
    *,
    hypnogram: Hypnogram | None = None,
    annotations: Annotations | None = None,
    settings: Settings | None = None,
    lm_events: pd.DataFrame | None = None,
    unscorable: IntervalsLike = None,
    duration_s: float | None = None,
    verbose: bool | str | int | None = None,
) -> JerkResult:
    """Myoclonic jerks on all ``traces`` (each a muscle with its role).

    A jerk is a group of bursts starting within ``jerk_group_window_s`` on >= 2 muscles, or a
    single-muscle burst longer than the FM maximum (150 ms) when ``jerk_focal_excludes_fm``
    (shorter single-muscle bursts are FM potentials, :mod:`.fragmentary`). ``lm_events``: leg
    movements already scored; bursts within 0.5 s of them belong to them.
    """
    settings = settings or get_settings()
    bad = common_unscorable(unscorable, [tr.label for tr in traces])
    kept = jerk_muscle_bursts(traces, settings=settings, unscorable=unscorable, lm_events=lm_events)
    events = jerks_from_bursts(
        kept, settings=settings, hypnogram=hypnogram, annotations=annotations, recorded={tr.role for tr in traces}
    )
    if duration_s is None:
        duration_s = max((tr.duration for tr in traces), default=0.0)
    logger.info("jerks: %d jerks from %d bursts on %d channel(s)", len(events), len(kept), len(traces))
    return jerks_from_events(events, hypnogram=hypnogram, settings=settings, unscorable=bad, duration_s=duration_s)


def jerks_from_events(
    events: pd.DataFrame, *, hypnogram: Hypnogram | None, settings: Settings, unscorable: Spans, duration_s: float
) -> JerkResult:
    """The :class:`JerkResult` of the jerks in ``events`` (``myoclonic_jerk`` and ``hypnic_jerk``
    rows) with its time base: scorable hours per stage outside ``unscorable`` (spans
    unscorable on every channel). The scoring step of :func:`detect_jerks`, also used to score a
    reviewed event table (``somnomyo.rescore``)."""
    return JerkResult(
        events=events,
        hours=stage_hours(hypnogram, duration_s, unscorable),
        settings=settings,
        has_hypnogram=hypnogram is not None and hypnogram.source != "none",
    )
