"""Fragmentary myoclonus (FM) potentials and the AASM excessive-FM (EFM) rule.

Sources (docs/rules.md §6):

* AASM EFM (optional rule): EMG potentials of **maximum 150 ms**, **>= 5 per minute**,
  sustained for **>= 20 minutes of NREM sleep**; any muscle. Whether the 20 minutes must
  be consecutive is [UNCONFIRMED]: ``fm_efm_mode`` (default cumulative).
* Research FM potential (Lins et al.; Frauscher et al., Sleep 2014): **75-150 ms**,
  **> 50 µV**; ``fm_definition="research"``.
* FM index = potentials per hour, by stage (Frauscher 2014).

Implementation choices (settings ``fm_*``, flagged in their metadata): a potential is a
burst above ``k x`` the channel's robust background whose amplitude clears an absolute floor
and stands ``fm_min_background_ratio`` x above that background (:func:`amplitude_ok`); potentials
within ``fm_ecg_window_s`` of an ECG R peak whose burst recurs at the same latency after
the neighbouring beats are cardiac artefact (:func:`ecg_like`), potentials above
``fm_pop_max_uv`` are electrode pops or DC steps, and bursts within the LM offset
period (0.5 s, WASM 2016/AASM) of a leg movement (any burst >= 0.5 s on the same channel,
or a given LM event) belong to the LM. A burst that is part of a multi-muscle jerk
(:mod:`.jerks`) is not FM (asynchronous, Lins et al./Frauscher 2014), and a single-muscle
burst of <= 150 ms is FM, never a focal jerk (``jerk_focal_excludes_fm``): each burst is
counted once. Potentials are pooled over all channels for the per-minute count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from somnomyo._logging import logger, verbose
from somnomyo.detect.bursts import EMGTrace, channel_bursts, channel_lm_intervals
from somnomyo.errors import check_choice
from somnomyo.events import make_events
from somnomyo.io.annotations import NREM_STAGES, Annotations, Hypnogram
from somnomyo.result import Result
from somnomyo.score.associations import arousal_flags
from somnomyo.score.helpers import index_by_stage, json_float, per_hour, scorable_epochs, stage_hours, stages_at
from somnomyo.settings import Settings, get_settings
from somnomyo.settings_myoclonus import EFM_MODES, FM_DEFINITIONS
from somnomyo.signal.intervals import (
    IntervalsLike,
    Spans,
    channel_unscorable,
    common_unscorable,
    drop_overlapping,
    overlaps_any,
    runs,
)

MINUTE_COLUMNS = ("onset", "duration", "stage", "count", "positive")


class FragmentarySummary(TypedDict):
    """Block ``fragmentary_myoclonus`` of summary.json (nulls where undefined)."""

    definition: str
    count: int
    fm_index: float | None
    fm_index_by_stage: dict[str, float | None]
    efm: bool | None
    efm_minutes: float | None
    efm_longest_run_minutes: float | None
    efm_mode: str
    nrem_minutes_evaluated: float | None
    rejected: dict[str, int]


@dataclass
class FragmentaryResult(Result):
    """FM potentials (``events``), the 1-min NREM windows of the EFM rule (``minutes``)."""

    BLOCK = "fragmentary_myoclonus"
    Summary = FragmentarySummary

    events: pd.DataFrame
    minutes: pd.DataFrame | None
    hours: dict[str, float]
    settings: Settings
    rejected: dict[str, int] = field(default_factory=dict)
    has_hypnogram: bool = True

    def summary_block(self) -> FragmentarySummary:
        """JSON-ready block ``fragmentary_myoclonus`` (nulls where undefined)."""
        m = self.settings.myoclonus
        stages = self.events["stage"].astype("object").fillna("UNS").tolist()
        by_stage = index_by_stage(stages, self.hours)
        if self.has_hypnogram:
            fm_index = by_stage["sleep"]
        else:
            fm_index = per_hour(len(self.events), self.hours.get("UNS", 0.0))
        efm_minutes = longest = evaluated = None
        efm: bool | None = None
        if self.minutes is not None:
            w_min = m.fm_efm_window_s / 60.0
            pos = self.minutes["positive"].to_numpy(dtype=bool)
            efm_minutes = float(pos.sum() * w_min)
            longest = float(_longest_adjacent_run(self.minutes) * w_min)
            evaluated = float(len(self.minutes) * w_min)
            total = efm_minutes if m.fm_efm_mode == "cumulative" else longest
            efm = bool(total >= m.fm_efm_min_minutes)
        return {
            "definition": m.fm_definition,
            "count": int(len(self.events)),
            "fm_index": json_float(fm_index),
            "fm_index_by_stage": {k: json_float(v) for k, v in by_stage.items()},
            "efm": efm,
            "efm_minutes": efm_minutes,
            "efm_longest_run_minutes": longest,
            "efm_mode": m.fm_efm_mode,
            "nrem_minutes_evaluated": evaluated,
            "rejected": {k: int(v) for k, v in self.rejected.items()},
        }

    def plot_fm_per_minute(self, *, ax: Any = None) -> Any:
        """Bar plot of potentials per 1-min NREM window with the AASM 5/min line."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(10, 3))
        if self.minutes is not None and len(self.minutes):
            mins = self.minutes
            colors = np.where(mins["positive"].to_numpy(bool), "tab:red", "tab:gray")
            ax.bar(mins["onset"] / 60.0, mins["count"], width=mins["duration"] / 60.0, align="edge", color=colors)
        ax.axhline(self.settings.myoclonus.fm_efm_min_per_minute, color="k", ls="--", lw=0.8)
        ax.set_xlabel("time (min)")
        ax.set_ylabel("FM potentials / min (NREM)")
        return ax


def _longest_adjacent_run(minutes: pd.DataFrame) -> int:
    """Longest run of positive windows that follow each other without a gap."""
    if len(minutes) == 0:
        return 0
    pos = minutes["positive"].to_numpy(dtype=bool)
    on = minutes["onset"].to_numpy(dtype=float)
    end = on + minutes["duration"].to_numpy(dtype=float)
    adjacent = np.concatenate(([False], np.abs(on[1:] - end[:-1]) < 1e-6))
    # a run breaks at a negative window or at a gap between windows
    block = np.cumsum(~adjacent | ~pos)
    if not pos.any():
        return 0
    return int(np.bincount(block[pos]).max())


def efm_minutes(
    onsets: np.ndarray, hypnogram: Hypnogram, *, settings: Settings, unscorable: Spans | None = None
) -> pd.DataFrame:
    """AASM EFM windows: consecutive ``fm_efm_window_s`` (1-min) windows laid from the start of
    each stretch of scorable NREM epochs; ``count`` potentials in each; ``positive`` when
    ``count >= fm_efm_min_per_minute`` (AASM EFM: >= 5 potentials per minute).
    """
    m = settings.myoclonus
    unscorable = (np.zeros(0), np.zeros(0)) if unscorable is None else unscorable
    ok = np.isin(hypnogram.stages, NREM_STAGES) & scorable_epochs(hypnogram, unscorable)
    a, b = runs(ok)
    w = float(m.fm_efm_window_s)
    st_on = hypnogram.start + a * hypnogram.epoch_s
    n_win = np.floor((b - a) * hypnogram.epoch_s / w + 1e-9).astype(np.int64)
    if n_win.sum() == 0:
        return pd.DataFrame(
            {c: pd.Series(dtype=t) for c, t in zip(MINUTE_COLUMNS, ("float64", "float64", "object", "int64", "bool"))}
        )
    first = np.repeat(st_on, n_win)
    k = np.arange(int(n_win.sum())) - np.repeat(np.cumsum(n_win) - n_win, n_win)
    win_on = first + k * w
    srt = np.sort(np.asarray(onsets, dtype=float))
    count = np.searchsorted(srt, win_on + w, side="left") - np.searchsorted(srt, win_on, side="left")
    return pd.DataFrame(
        {
            "onset": win_on,
            "duration": w,
            "stage": hypnogram.stage_at(win_on),
            "count": count.astype(np.int64),
            "positive": count >= m.fm_efm_min_per_minute,
        }
    )


def fm_candidates(
    trace: EMGTrace,
    *,
    settings: Settings,
    lm_intervals: Spans | None = None,
) -> tuple[pd.DataFrame, dict[str, int], pd.DataFrame]:
    """FM potentials of one channel, the counts rejected per reason (``ecg``, ``pop``, ``lm``) and
    every brief (< LM) burst of the channel (for the synchronous-burst check across channels).

    AASM: duration <= 150 ms; research definition: 75-150 ms and > 50 µV (peak-to-peak of the
    filtered EMG where given, else the envelope peak). Bursts >= the LM minimum duration
    (WASM 2016/AASM 0.5 s) on the channel are LMs; potentials within ``fm_lm_exclusion_margin_s``
    of an LM are dropped.
    """
    m = settings.myoclonus
    check_choice("fm_definition", m.fm_definition, FM_DEFINITIONS)
    bursts = channel_bursts(trace, settings)
    on = bursts["onset"].to_numpy(dtype=float)
    dur = bursts["duration"].to_numpy(dtype=float)
    is_lm = dur >= settings.lm.min_duration_s - 1e-12
    lms = (on[is_lm], on[is_lm] + dur[is_lm])
    if lm_intervals is not None and lm_intervals[0].size:
        lms = (np.concatenate((lms[0], lm_intervals[0])), np.concatenate((lms[1], lm_intervals[1])))
    min_d = m.fm_research_min_duration_s if m.fm_definition == "research" else m.fm_min_duration_s
    keep = (dur <= m.fm_max_duration_s + 1e-12) & (dur >= min_d - 1e-12)
    keep &= amplitude_ok(bursts, settings=settings)
    if m.fm_definition == "research":
        ptp = bursts["ptp_uv"].to_numpy(dtype=float)
        amp = np.where(np.isfinite(ptp), ptp, bursts["amplitude_uv"].to_numpy(dtype=float))
        keep &= amp > m.fm_research_min_amplitude_uv
    rejected = {"pop": 0, "ecg": 0, "lm": 0}
    pop = keep & (bursts["peak_uv"].to_numpy(dtype=float) > m.fm_pop_max_uv)
    rejected["pop"] = int(pop.sum())
    keep &= ~pop
    if trace.r_peak_times is not None and trace.r_peak_times.size and keep.any():
        t_peak = bursts["peak_sample"].to_numpy(dtype=float) / trace.fs
        ecg = np.zeros(keep.size, dtype=bool)
        ecg[keep] = ecg_like(t_peak[keep], np.sort(t_peak), trace.r_peak_times, settings=settings)
        rejected["ecg"] = int(ecg.sum())
        keep &= ~ecg
    if lms[0].size:
        in_lm = keep & overlaps_any(on, on + dur, *lms, gap=m.fm_lm_exclusion_margin_s)
        rejected["lm"] = int(in_lm.sum())
        keep &= ~in_lm
    cand = bursts.loc[keep].reset_index(drop=True)
    cand["burst"] = np.flatnonzero(keep)
    return cand, rejected, bursts.loc[~is_lm].reset_index(drop=True)


def amplitude_ok(bursts: pd.DataFrame, *, settings: Settings) -> np.ndarray:
    """True where a burst is tall enough to be an FM potential (settings ``fm_*``, implementation
    choices, [UNCONFIRMED]; AASM: potentials typically 50 to a few hundred µV): its amplitude (envelope
    peak above the background) is at least ``fm_min_background_ratio`` x the background at its peak,
    and at least ``fm_min_amplitude_uv``, or at least ``fm_clear_min_amplitude_uv`` where it stands
    ``fm_clear_background_ratio`` x above the background. The ratio keeps bursts of a fluctuating
    or textured background out (they cross the burst threshold of ``burst_k_background`` x the
    background by little); the clear-potential tier keeps brief potentials whose envelope peak the
    15-ms envelope and the 100-Hz conditioning band lower below the absolute floor."""
    m = settings.myoclonus
    amp = bursts["amplitude_uv"].to_numpy(dtype=float)
    bg = bursts["background_uv"].to_numpy(dtype=float)
    ratio = np.divide(amp, bg, out=np.full(amp.shape, np.inf), where=bg > 0)
    tall = (amp >= m.fm_min_amplitude_uv) | (
        (amp >= m.fm_clear_min_amplitude_uv) & (ratio >= m.fm_clear_background_ratio)
    )
    return tall & (ratio >= m.fm_min_background_ratio)


def ecg_like(t_peak: np.ndarray, all_peaks: np.ndarray, r_peaks: np.ndarray, *, settings: Settings) -> np.ndarray:
    """True where a potential (peak time ``t_peak``) is ECG artefact: its peak lies within
    ``fm_ecg_window_s`` of an R peak AND the channel has a burst (peak times ``all_peaks``,
    sorted) at the same latency (± ``fm_ecg_latency_tol_s``) after at least
    ``fm_ecg_recur_fraction`` of the ``fm_ecg_neighbour_beats`` beats on each side.

    Implementation, after MATPLM ``removeEKG.m`` (heart-like spikes are *periodic*): the
    conditioning already subtracts the QRS, so a real potential that merely happens to fall
    near a beat (about 12% of the time at 60 bpm with a ±60-ms window) is kept; a residual
    artefact repeats beat after beat and is rejected.
    """
    m = settings.myoclonus
    r = np.asarray(r_peaks, dtype=float)
    t = np.asarray(t_peak, dtype=float)
    if r.size == 0 or t.size == 0:
        return np.zeros(t.shape, dtype=bool)
    j = np.clip(np.searchsorted(r, t), 0, r.size - 1)
    jm = np.maximum(j - 1, 0)
    j = np.where(np.abs(t - r[jm]) < np.abs(t - r[j]), jm, j)  # nearest beat
    lat = t - r[j]
    near = np.abs(lat) <= m.fm_ecg_window_s + 1e-12
    k = int(m.fm_ecg_neighbour_beats)
    if k <= 0:
        return near
    offs = np.r_[np.arange(-k, 0), np.arange(1, k + 1)]
    jj = j[:, None] + offs[None, :]
    valid = (jj >= 0) & (jj < r.size)
    target = r[np.clip(jj, 0, r.size - 1)] + lat[:, None]
    tol = m.fm_ecg_latency_tol_s
    lo = np.searchsorted(all_peaks, target - tol - 1e-12, side="left")
    hi = np.searchsorted(all_peaks, target + tol + 1e-12, side="right")
    hit = (hi > lo) & valid
    n_valid = valid.sum(axis=1)
    frac = np.divide(hit.sum(axis=1), n_valid, out=np.zeros(t.size), where=n_valid > 0)
    return near & (frac >= m.fm_ecg_recur_fraction - 1e-12)


def synchronous_mask(candidates: pd.DataFrame, jerk_bursts: pd.DataFrame) -> np.ndarray:
    """True for candidates that are part of a multi-muscle jerk: they overlap, on their channel,
    a muscle burst of a jerk of >= 2 muscles (``jerk_bursts``:
    :func:`somnomyo.detect.jerks.jerk_muscle_bursts`). Lins et al./Frauscher 2014: FM
    potentials are asynchronous."""
    if len(candidates) == 0 or len(jerk_bursts) == 0:
        return np.zeros(len(candidates), dtype=bool)
    multi = jerk_bursts.loc[jerk_bursts["n_muscles"].to_numpy() >= 2]
    out = np.zeros(len(candidates), dtype=bool)
    ch_c = candidates["channel"].astype(str).to_numpy()
    ch_m = multi["channel"].astype(str).to_numpy()
    on = candidates["onset"].to_numpy(dtype=float)
    end = on + candidates["duration"].to_numpy(dtype=float)
    for ch in np.unique(ch_c):  # loop over channels
        sel = ch_c == ch
        mb = multi.loc[ch_m == ch]
        if len(mb) == 0:
            continue
        out[sel] = overlaps_any(
            on[sel], end[sel], mb["onset"].to_numpy(dtype=float), (mb["onset"] + mb["duration"]).to_numpy(dtype=float)
        )
    return out


def in_jerk_clusters(candidates: pd.DataFrame, jerk_bursts: pd.DataFrame, *, settings: Settings) -> np.ndarray:
    """True for candidates within the span (first onset to last end, any channel) of a cluster of
    jerks (``jerk_bursts`` grouped by ``group``; runs of >= ``cluster_min_jerks`` jerk onsets at most
    ``cluster_max_interval_s`` apart, as :func:`somnomyo.detect.clusters.detect_clusters` finds them),
    or within ``cluster_max_interval_s`` of it (the candidate would extend the cluster's chain).
    BSMI (ICSD-3; Fernandez-Alvarez): repetitive jerks in 1-5 Hz clusters; a short single-muscle
    burst among them is one of the cluster's jerks, not a sporadic FM potential (Frauscher 2014)."""
    from somnomyo.detect.clusters import cluster_bounds

    if len(candidates) == 0 or len(jerk_bursts) == 0 or "group" not in jerk_bursts:
        return np.zeros(len(candidates), dtype=bool)
    m = settings.myoclonus
    jb = jerk_bursts.assign(end=jerk_bursts["onset"] + jerk_bursts["duration"])
    g = jb.groupby("group", sort=False).agg(onset=("onset", "min"), end=("end", "max")).sort_values("onset")
    on, end = g["onset"].to_numpy(dtype=float), g["end"].to_numpy(dtype=float)
    first, last = cluster_bounds(
        on, min_interval_s=0.0, max_interval_s=m.cluster_max_interval_s, min_events=m.cluster_min_jerks
    )
    if len(first) == 0:
        return np.zeros(len(candidates), dtype=bool)
    span_on = on[np.asarray(first, dtype=int)]
    span_end = np.array([end[int(a) : int(b) + 1].max() for a, b in zip(first, last)])
    c_on = candidates["onset"].to_numpy(dtype=float)
    c_end = c_on + candidates["duration"].to_numpy(dtype=float)
    return overlaps_any(c_on, c_end, span_on, span_end, gap=m.cluster_max_interval_s)


@verbose
def detect_fragmentary(
    traces: Sequence[EMGTrace],
    *,
    hypnogram: Hypnogram | None = None,
    annotations: Annotations | None = None,
    settings: Settings | None = None,
    lm_events: pd.DataFrame | None = None,
    unscorable: IntervalsLike = None,
    duration_s: float | None = None,
    verbose: bool | str | int | None = None,
) -> FragmentaryResult:
    """Fragmentary myoclonus on every trace, FM index by stage and the AASM EFM rule.

    ``lm_events``: leg movements already scored (``onset``, ``duration``, optional ``channel``);
    potentials near them are excluded. ``unscorable``: ``(onset, duration)`` intervals.
    ``duration_s``: recording length for the index without a hypnogram (default: longest trace).
    """
    settings = settings or get_settings()
    m = settings.myoclonus
    check_choice("fm_efm_mode", m.fm_efm_mode, EFM_MODES)
    bad = common_unscorable(unscorable, [tr.label for tr in traces])
    rows: list[pd.DataFrame] = []
    rejected = {"pop": 0, "ecg": 0, "lm": 0, "synchronous": 0, "cluster": 0}
    for tr in traces:  # loop over channels
        cand, rej, _ = fm_candidates(tr, settings=settings, lm_intervals=channel_lm_intervals(lm_events, tr.label))
        for k, v in rej.items():
            rejected[k] += v
        rows.append(drop_overlapping(cand, channel_unscorable(unscorable, tr.label)))
    bursts = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["onset", "duration"])
    if m.fm_exclude_synchronous and len(traces) > 1:
        from somnomyo.detect.jerks import jerk_muscle_bursts

        jb = jerk_muscle_bursts(traces, settings=settings, unscorable=unscorable, lm_events=lm_events)
        sync = synchronous_mask(bursts, jb)
        rejected["synchronous"] = int(sync.sum())
        bursts = bursts.loc[~sync].reset_index(drop=True)
        if m.fm_exclude_in_clusters and m.cluster_mode == "myoclonic":
            inside = in_jerk_clusters(bursts, jb, settings=settings)
            rejected["cluster"] = int(inside.sum())
            bursts = bursts.loc[~inside].reset_index(drop=True)
    events = _to_events(bursts, hypnogram=hypnogram, annotations=annotations, settings=settings)
    if duration_s is None:
        duration_s = max((tr.duration for tr in traces), default=0.0)
    logger.info(
        "fragmentary myoclonus: %d potentials on %d channel(s); rejected %s", len(events), len(traces), rejected
    )
    return fragmentary_from_events(
        events, hypnogram=hypnogram, settings=settings, unscorable=bad, duration_s=duration_s, rejected=rejected
    )


def fragmentary_from_events(
    events: pd.DataFrame,
    *,
    hypnogram: Hypnogram | None,
    settings: Settings,
    unscorable: Spans,
    duration_s: float,
    rejected: dict[str, int] | None = None,
) -> FragmentaryResult:
    """FM index by stage and the AASM EFM rule (>= 5 potentials/min over >= 20 min of NREM) of the
    FM potentials in ``events``: the scoring step of :func:`detect_fragmentary`, also used to score
    a reviewed event table (``somnomyo.rescore``). ``unscorable``: spans unscorable on
    every channel (they leave the denominators); ``rejected``: candidate counts set aside by the
    detector, per reason (reported as given)."""
    has_hypnogram = hypnogram is not None and hypnogram.source != "none"
    hours = stage_hours(hypnogram, duration_s, unscorable)
    minutes = None
    if hypnogram is not None and has_hypnogram:
        minutes = efm_minutes(
            events["onset"].to_numpy(dtype=float), hypnogram, settings=settings, unscorable=unscorable
        )
    return FragmentaryResult(
        events=events,
        minutes=minutes,
        hours=hours,
        settings=settings,
        rejected=dict(rejected or {}),
        has_hypnogram=has_hypnogram,
    )


def _to_events(
    bursts: pd.DataFrame, *, hypnogram: Hypnogram | None, annotations: Annotations | None, settings: Settings
) -> pd.DataFrame:
    if len(bursts) == 0:
        return make_events(None).assign(ptp_uv=pd.Series(dtype="float64"))
    on = bursts["onset"].to_numpy(dtype=float)
    dur = bursts["duration"].to_numpy(dtype=float)
    ar = arousal_flags(on, dur, annotations, max_gap_s=settings.arousal.max_gap_s)
    df = pd.DataFrame(
        {
            "onset": on,
            "duration": dur,
            "trial_type": "fragmentary_myoclonus",
            "channel": bursts["channel"].astype(str).to_numpy(),
            "stage": stages_at(on, hypnogram),
            "arousal": pd.array(ar, dtype="boolean") if ar is not None else pd.NA,
            "amplitude_uv": bursts["amplitude_uv"].to_numpy(dtype=float),
            "muscles": bursts["role"].astype(str).to_numpy(),
            "extent": "focal",
            "ptp_uv": bursts["ptp_uv"].to_numpy(dtype=float),
        }
    )
    return make_events(df, ptp_uv="float64")
