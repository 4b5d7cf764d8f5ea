"""State dependence of jerks: rate per stage, response to arousals and awakenings, to
stimuli and position changes; jerk clusters and spasm-like series around awakenings.

Sources (docs/rules.md §15.3, §15.7, §15.8):

* BSMI (ICSD-3 criteria C and D): jerks only during sleep; they stop abruptly and
  consistently when the infant is aroused; rocking, sound or restraint can evoke them
  (Maurer 2010). Features to compute: state at the event, response to arousal
  (jerks stop within seconds -> BSMI).
* Epileptic (infantile) spasms (ILAE): contractions of 0.5-2 s in
  clusters on or after awakening, spasms every 5-30 s [interval UNCONFIRMED].
* Myoclonic seizures and jitteriness occur in wakefulness.

Window lengths, ratios and keyword lists are implementation choices in
``settings.interpret`` (``state_*``, ``spasm_*``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict, cast

import numpy as np
import pandas as pd

from somnomyo._logging import logger, verbose
from somnomyo.io.annotations import SLEEP_STAGES, Annotations, Hypnogram
from somnomyo.io.recording import Signal
from somnomyo.result import Result
from somnomyo.settings import Settings, get_settings

REPORT_STAGES = ("W", "N1", "N2", "N3", "R")
JERK_TYPES = ("myoclonic_jerk",)
SPASM_TYPES = ("myoclonic_jerk", "hypnic_jerk", "leg_movement", "spasm")


def _num(x: Any, nd: int = 3) -> float | None:
    if x is None:
        return None
    v = float(x)
    return None if not np.isfinite(v) else round(v, nd)


def _window_counts(onsets: np.ndarray, times: np.ndarray, window_s: float) -> tuple[int, int]:
    """Jerks in ``[t - w, t)`` and ``[t, t + w)`` summed over ``times`` (``onsets`` sorted)."""
    if times.size == 0 or onsets.size == 0:
        return 0, 0
    before = np.searchsorted(onsets, times, "left") - np.searchsorted(onsets, times - window_s, "left")
    after = np.searchsorted(onsets, times + window_s, "left") - np.searchsorted(onsets, times, "left")
    return int(before.sum()), int(after.sum())


def _response(onsets: np.ndarray, times: np.ndarray, window_s: float) -> dict[str, Any]:
    b, a = _window_counts(onsets, times, window_s)
    minutes = times.size * window_s / 60.0
    return {
        "n_events": int(times.size),
        "window_s": window_s,
        "before": b,
        "after": a,
        "rate_before_per_min": _num(b / minutes) if minutes else None,
        "rate_after_per_min": _num(a / minutes) if minutes else None,
        "ratio": _num(a / b) if b else None,
    }


def awakenings(hypnogram: Hypnogram | None) -> np.ndarray:
    """Start times (s) of W epochs that follow a sleep epoch (awakenings from sleep)."""
    if hypnogram is None or hypnogram.n_epochs < 2:
        return np.empty(0)
    st = hypnogram.stages
    i = np.flatnonzero((st[1:] == "W") & np.isin(st[:-1], SLEEP_STAGES)) + 1
    return hypnogram.start + i * hypnogram.epoch_s


def position_changes(position: Signal | None, *, settings: Settings | None = None) -> np.ndarray:
    """Times (s) where the body-position signal steps to a new level held >= the dwell time.

    Per-second medians are quantised to steps of ``state_position_change_fraction`` of the
    channel's 1-99 percentile range; runs shorter than ``state_position_min_dwell_s`` are
    ignored (implementation choice: position channels code positions as levels).
    """
    s = (settings or get_settings()).interpret
    if position is None or position.data.size == 0:
        return np.empty(0)
    fs = float(position.fs)
    step = max(int(round(fs)), 1)
    n = position.data.size // step
    if n < 2:
        return np.empty(0)
    sec = np.median(position.data[: n * step].reshape(n, step), axis=1)
    lo, hi = np.percentile(sec, [1, 99])
    q = s.state_position_change_fraction * (hi - lo)
    if not q > 0:
        return np.empty(0)
    level = np.round((sec - lo) / q).astype(np.int64)
    edges = np.flatnonzero(np.diff(level)) + 1
    starts = np.concatenate(([0], edges))
    lengths = np.diff(np.concatenate((starts, [n])))
    keep = lengths * step / fs >= s.state_position_min_dwell_s
    k_start, k_level = starts[keep], level[starts[keep]]
    change = np.flatnonzero(np.diff(k_level) != 0) + 1
    return k_start[change] * step / fs


def _series(onsets: np.ndarray, max_interval_s: float, min_count: int) -> list[tuple[int, int]]:
    """(first, last) indices of runs of sorted onsets with intervals <= max_interval_s, >= min_count long."""
    if onsets.size == 0:
        return []
    brk = np.flatnonzero(np.diff(onsets) > max_interval_s)
    first = np.concatenate(([0], brk + 1))
    last = np.concatenate((brk, [onsets.size - 1]))
    ok = last - first + 1 >= min_count
    return list(zip(first[ok].tolist(), last[ok].tolist()))


def _near_awakening(t: np.ndarray, wake_times: np.ndarray, before_s: float, after_s: float) -> np.ndarray:
    """True where ``t`` lies in ``[w - before_s, w + after_s]`` of some awakening ``w``."""
    if t.size == 0 or wake_times.size == 0:
        return np.zeros(t.size, dtype=bool)
    w = np.sort(wake_times)
    j = np.searchsorted(w, t - after_s, "left")  # first awakening >= t - after
    jj = np.minimum(j, w.size - 1)
    return (j < w.size) & (w[jj] <= t + before_s)


class ResponseSummary(TypedDict):
    """Jerks in the window before and after each event of a kind (arousals, awakenings, ...)."""

    n_events: int
    window_s: float
    before: int
    after: int
    rate_before_per_min: float | None
    rate_after_per_min: float | None
    ratio: float | None


class WakingSummary(ResponseSummary):
    """``state.waking``: the response to arousals and awakenings together, and whether jerks stop."""

    n_arousals: int
    n_awakenings: int
    stop_window_s: float
    before_stop_window: int
    after_stop_window: int
    stops_on_waking: bool | None


class StimulusSummary(ResponseSummary, total=False):
    """``state.stimulus``: the response to stimulus markers (and their labels)."""

    labels: list[str]


class StateClusterSummary(TypedDict):
    """``state.clusters``: jerk clusters in sleep, in wake and on awakening."""

    count: int
    in_sleep: int | None
    in_wake: int | None
    on_awakening: int | None
    median_rate_hz: float | None
    median_cv: float | None


class SpasmSummary(TypedDict):
    """``state.spasm_clusters``: series of spasm-like contractions (0.5-2 s, ILAE)."""

    n_spasm_like: int
    count: int
    on_awakening: int | None
    in_wake: int | None
    median_spasms_per_cluster: float | None


class StateSummary(TypedDict):
    """Block ``state`` of summary.json (nulls where undefined, e.g. without a hypnogram)."""

    n_jerks: int
    has_hypnogram: bool
    count_per_stage: dict[str, int] | None
    hours_per_stage: dict[str, float | None] | None
    rate_per_stage_h: dict[str, float | None] | None
    sleep_rate_h: float | None
    wake_count: int | None
    wake_fraction: float | None
    waking: WakingSummary
    arousals: ResponseSummary
    awakenings: ResponseSummary
    stimulus: StimulusSummary | None
    position: ResponseSummary | None
    clusters: StateClusterSummary
    spasm_clusters: SpasmSummary
    notes: list[str]


@dataclass
class StateResult(Result):
    """Result of :func:`state_dependence`; ``summary()`` is the ``state`` block."""

    BLOCK = "state"
    Summary = StateSummary

    n_jerks: int
    counts: dict[str, int]
    hours: dict[str, float]
    waking: dict[str, Any]
    arousals: dict[str, Any]
    awakenings: dict[str, Any]
    stimulus: dict[str, Any] | None
    position: dict[str, Any] | None
    clusters: dict[str, Any]
    spasm_clusters: dict[str, Any]
    has_hypnogram: bool = True
    notes: list[str] = field(default_factory=list)
    settings: Settings | None = None
    events: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["onset", "duration", "trial_type"]), repr=False
    )
    """The events it was computed on (every row given)."""

    @property
    def rate_per_stage_h(self) -> dict[str, float | None]:
        return {st: (_num(self.counts[st] / self.hours[st]) if self.hours[st] > 0 else None) for st in REPORT_STAGES}

    @property
    def wake_fraction(self) -> float | None:
        tot = self.counts["W"] + sum(self.counts[st] for st in SLEEP_STAGES)
        return _num(self.counts["W"] / tot) if tot else None

    def summary_block(self) -> StateSummary:
        """JSON-ready ``state`` block (nulls where undefined, e.g. without a hypnogram)."""
        sleep_n = sum(self.counts[st] for st in SLEEP_STAGES)
        sleep_h = sum(self.hours[st] for st in SLEEP_STAGES)
        return cast(
            StateSummary,
            {
                "n_jerks": int(self.n_jerks),
                "has_hypnogram": self.has_hypnogram,
                "count_per_stage": dict(self.counts) if self.has_hypnogram else None,
                "hours_per_stage": {k: _num(v, 4) for k, v in self.hours.items()} if self.has_hypnogram else None,
                "rate_per_stage_h": self.rate_per_stage_h if self.has_hypnogram else None,
                "sleep_rate_h": (_num(sleep_n / sleep_h) if sleep_h > 0 else None) if self.has_hypnogram else None,
                "wake_count": int(self.counts["W"]) if self.has_hypnogram else None,
                "wake_fraction": self.wake_fraction if self.has_hypnogram else None,
                "waking": dict(self.waking),
                "arousals": dict(self.arousals),
                "awakenings": dict(self.awakenings),
                "stimulus": None if self.stimulus is None else dict(self.stimulus),
                "position": None if self.position is None else dict(self.position),
                "clusters": dict(self.clusters),
                "spasm_clusters": dict(self.spasm_clusters),
                "notes": list(self.notes),
            },
        )


@verbose
def state_dependence(
    events: pd.DataFrame | None = None,
    *,
    hypnogram: Hypnogram | None,
    annotations: Annotations | None = None,
    jerk_onsets_s: Any = None,
    position: Signal | None = None,
    position_changes_s: Any = None,
    trial_types: Sequence[str] = JERK_TYPES,
    spasm_trial_types: Sequence[str] = SPASM_TYPES,
    settings: Settings | None = None,
    verbose: bool | str | int | None = None,
) -> StateResult:
    """Does the jerking depend on the state? (BSMI: sleep only, stops on arousal, ICSD-3.)

    * rate per stage (W, N1, N2, N3, R) per hour in that stage (hypnogram);
    * jerks in the ``state_window_s`` before vs after each arousal (``annotations``) and
      each awakening (first W epoch after sleep): counts, rates and their ratio;
      ``stops_on_waking`` compares the shorter ``state_stop_window_s`` before and after
      (BSMI jerks stop within seconds): >= ``state_min_before`` jerks before and jerks
      after <= ``state_stop_ratio`` x jerks before;
    * the same after stimulus markers (labels naming sound, noise, touch, stimulus,
      position change ...) and after position changes of a ``position`` channel;
    * jerk clusters (rows ``jerk_cluster``) in sleep, in W and on awakening, and series of
      spasm-like contractions (0.5-2 s, ILAE) <= ``spasm_max_interval_s`` apart on awakening.

    Jerk onsets come from ``events`` rows of ``trial_types`` or from ``jerk_onsets_s``.
    ``position_changes_s``: the times of the position changes when already known
    (:func:`position_changes` of the ``position`` channel, e.g. kept to score a reviewed night
    again); used instead of ``position``.
    """
    settings = settings or get_settings()
    s = settings.interpret
    ev = events if events is not None else pd.DataFrame(columns=["onset", "duration", "trial_type"])
    tt = ev["trial_type"].astype(str) if "trial_type" in ev.columns else pd.Series("", index=ev.index)
    if jerk_onsets_s is not None:
        on = np.asarray(jerk_onsets_s, dtype=float).ravel()
    else:
        on = ev.loc[tt.isin(list(trial_types)), "onset"].to_numpy(dtype=float)
    on = np.sort(on[np.isfinite(on)])
    has_hyp = hypnogram is not None and hypnogram.source != "none"
    notes: list[str] = []

    counts = {st: 0 for st in REPORT_STAGES}
    hours = {st: 0.0 for st in REPORT_STAGES}
    if hypnogram is not None and has_hyp:
        st_on = hypnogram.stage_at(on)
        counts = {st: int((st_on == st).sum()) for st in REPORT_STAGES}
        hours = {st: hypnogram.seconds_in(st) / 3600.0 for st in REPORT_STAGES}
    else:
        notes.append("no hypnogram: rates per stage and awakenings not evaluated")

    w = s.state_window_s
    ar = annotations.arousals["onset"].to_numpy(dtype=float) if annotations is not None else np.empty(0)
    aw = awakenings(hypnogram) if has_hyp else np.empty(0)
    r_ar, r_aw = _response(on, ar, w), _response(on, aw, w)
    t_wake = np.sort(np.concatenate((ar, aw)))
    waking = _response(on, t_wake, w)
    waking["n_arousals"], waking["n_awakenings"] = int(ar.size), int(aw.size)
    b_stop, a_stop = _window_counts(on, t_wake, s.state_stop_window_s)
    waking["stop_window_s"] = s.state_stop_window_s
    waking["before_stop_window"], waking["after_stop_window"] = b_stop, a_stop
    waking["stops_on_waking"] = None if b_stop < s.state_min_before else bool(a_stop <= s.state_stop_ratio * b_stop)

    stimulus = None
    if annotations is not None and len(annotations.markers):
        mk = annotations.markers
        pat = re.compile("|".join(map(re.escape, s.state_stimulus_words)), re.IGNORECASE)
        sel = mk["label"].astype(str).map(lambda x: bool(pat.search(x))).to_numpy(dtype=bool)
        t = np.sort(mk.loc[sel, "onset"].to_numpy(dtype=float))
        if t.size:
            stimulus = _response(on, t, s.state_stimulus_window_s)
            stimulus["labels"] = sorted(set(mk.loc[sel, "label"].astype(str)))
    pos = None
    if position_changes_s is not None:
        pos = _response(on, np.asarray(position_changes_s, dtype=float), s.state_stimulus_window_s)
    elif position is not None:
        t = position_changes(position, settings=settings)
        pos = _response(on, t, s.state_stimulus_window_s)

    clusters = _cluster_block(ev, tt, hypnogram if has_hyp else None, aw, s)
    spasms = _spasm_block(ev, tt, spasm_trial_types, hypnogram if has_hyp else None, aw, s)
    logger.info(
        "state: %d jerks; wake fraction %s; waking ratio %s",
        on.size,
        None if not has_hyp else counts["W"],
        waking["ratio"],
    )
    return StateResult(
        n_jerks=int(on.size),
        counts=counts,
        hours=hours,
        waking=waking,
        arousals=r_ar,
        awakenings=r_aw,
        stimulus=stimulus,
        position=pos,
        clusters=clusters,
        spasm_clusters=spasms,
        has_hypnogram=has_hyp,
        notes=notes,
        settings=settings,
        events=ev,
    )


def _cluster_block(ev: pd.DataFrame, tt: pd.Series, hyp: Hypnogram | None, aw: np.ndarray, s: Any) -> dict[str, Any]:
    cl = ev.loc[tt == "jerk_cluster"]
    t = cl["onset"].to_numpy(dtype=float) if len(cl) else np.empty(0)
    st = hyp.stage_at(t) if hyp is not None else np.full(t.size, "UNS")
    rate = pd.to_numeric(cl["rate_hz"], errors="coerce") if "rate_hz" in cl.columns else pd.Series(dtype=float)
    cv = pd.to_numeric(cl["cv"], errors="coerce") if "cv" in cl.columns else pd.Series(dtype=float)
    near = _near_awakening(t, aw, s.spasm_awakening_before_s, s.spasm_awakening_after_s)
    return {
        "count": int(t.size),
        "in_sleep": int(np.isin(st, SLEEP_STAGES).sum()) if hyp is not None else None,
        "in_wake": int((st == "W").sum()) if hyp is not None else None,
        "on_awakening": int(near.sum()) if hyp is not None else None,
        "median_rate_hz": _num(rate.median()) if rate.notna().any() else None,
        "median_cv": _num(cv.median()) if cv.notna().any() else None,
    }


def _spasm_block(
    ev: pd.DataFrame, tt: pd.Series, types: Sequence[str], hyp: Hypnogram | None, aw: np.ndarray, s: Any
) -> dict[str, Any]:
    lo, hi = s.spasm_duration_s
    sel = tt.isin(list(types)).to_numpy(dtype=bool).copy()
    if "duration" in ev.columns and len(ev):
        d = ev["duration"].to_numpy(dtype=float)
        sel &= (d >= lo) & (d <= hi)
    else:
        sel &= False
    on = np.sort(ev.loc[sel, "onset"].to_numpy(dtype=float)) if sel.any() else np.empty(0)
    runs = _series(on, s.spasm_max_interval_s, s.spasm_min_count)
    first = np.array([on[a] for a, _ in runs], dtype=float)
    near = _near_awakening(first, aw, s.spasm_awakening_before_s, s.spasm_awakening_after_s)
    st = hyp.stage_at(first) if hyp is not None else np.full(first.size, "UNS")
    return {
        "n_spasm_like": int(on.size),
        "count": len(runs),
        "on_awakening": int(near.sum()) if hyp is not None else None,
        "in_wake": int((st == "W").sum()) if hyp is not None else None,
        "median_spasms_per_cluster": (_num(np.median([b - a + 1 for a, b in runs])) if runs else None),
    }
