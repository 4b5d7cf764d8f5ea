"""Hypnic jerks (sleep starts): multi-muscle jerks in the wake-to-sleep transition.

Source: ICSD-3 "sleep starts" (docs/rules.md §8): brief, simultaneous
contractions of the body or one or more segments **at sleep onset** (wake-N1
transition); usually single; non-propagating and not repetitive in series.

Implementation choices (settings ``hypnic_*``):

* a *sleep onset* is the first N1 or N2 epoch that follows at least
  ``hypnic_min_wake_epochs`` (1) consecutive W epochs - the first sleep onset and every
  return to sleep;
* the *transition window* runs from ``hypnic_before_s`` (30 s, one epoch) before to
  ``hypnic_after_s`` (60 s, two epochs) after that epoch's start (a wider window takes in
  ordinary myoclonic jerks of drowsiness);
* a hypnic jerk is a jerk (see :mod:`somnomyo.detect.jerks`) with onset inside a
  transition window, in a stage of ``hypnic_stages`` (W or N1), involving at least
  ``hypnic_min_muscles`` (2) muscles, at least one a limb when ``hypnic_require_limb``
  (generalized jerks always qualify);
* indices: per sleep onset, per hour of transition-window time (windows merged, so an
  hour is counted once) and per hour of total sleep time.

The hypnic-jerk rows are the subset of the ``myoclonic_jerk`` rows that qualify,
re-labelled ``hypnic_jerk``. :func:`somnomyo.detect.myoclonus.detect_myoclonus` then
re-labels the same rows in the jerk table (``JerkResult.mark_hypnic``), so the combined
event table has one row per jerk and the myoclonic-jerk index leaves hypnic jerks out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import numpy as np
import pandas as pd

from somnomyo._logging import logger, verbose
from somnomyo.detect.jerks import LIMB_ROLES, JerkResult
from somnomyo.events import make_events
from somnomyo.io.annotations import SLEEP_STAGES, Hypnogram
from somnomyo.result import Result
from somnomyo.score.helpers import json_float, per_hour
from somnomyo.settings import Settings, get_settings
from somnomyo.signal.intervals import Spans, merge_intervals, overlaps_any, runs

ONSET_STAGES = ("N1", "N2")


def sleep_onsets(hypnogram: Hypnogram, *, min_wake_epochs: int) -> np.ndarray:
    """Start times (s) of every N1/N2 epoch that directly follows >= ``min_wake_epochs`` W epochs."""
    st = hypnogram.stages
    a, b = runs(st == "W")
    ok = ((b - a) >= min_wake_epochs) & (b < st.size)
    nxt = b[ok]
    nxt = nxt[np.isin(st[nxt], ONSET_STAGES)]
    return hypnogram.start + nxt * hypnogram.epoch_s


class HypnicSummary(TypedDict):
    """Block ``hypnic_jerks`` of summary.json (nulls without a hypnogram)."""

    count: int | None
    n_sleep_onsets: int | None
    per_sleep_onset: float | None
    index_per_h_transition: float | None
    index_per_h_tst: float | None
    transition_hours: float | None


@dataclass
class HypnicResult(Result):
    """Hypnic jerks (``events``) and the sleep-onset transitions (``transitions``)."""

    BLOCK = "hypnic_jerks"
    Summary = HypnicSummary

    events: pd.DataFrame
    transitions: pd.DataFrame | None
    tst_hours: float
    settings: Settings

    def summary_block(self) -> HypnicSummary:
        """JSON-ready block ``hypnic_jerks`` (nulls without a hypnogram)."""
        if self.transitions is None:
            return {
                "count": None,
                "n_sleep_onsets": None,
                "per_sleep_onset": None,
                "index_per_h_transition": None,
                "index_per_h_tst": None,
                "transition_hours": None,
            }
        n = len(self.events)
        n_on = len(self.transitions)
        merged = merge_intervals(
            pd.DataFrame(
                {
                    "onset": self.transitions["window_start"],
                    "duration": self.transitions["window_end"] - self.transitions["window_start"],
                }
            )
        )
        t_h = float(merged["duration"].sum()) / 3600.0 if len(merged) else 0.0
        return {
            "count": int(n),
            "n_sleep_onsets": int(n_on),
            "per_sleep_onset": json_float(n / n_on) if n_on else None,
            "index_per_h_transition": json_float(per_hour(n, t_h)),
            "index_per_h_tst": json_float(per_hour(n, self.tst_hours)),
            "transition_hours": t_h,
        }


@verbose
def detect_hypnic(
    jerks: JerkResult | pd.DataFrame,
    *,
    hypnogram: Hypnogram | None,
    settings: Settings | None = None,
    verbose: bool | str | int | None = None,
) -> HypnicResult:
    """Hypnic jerks among ``jerks`` (a :class:`JerkResult` or its event table)."""
    settings = settings or get_settings()
    m = settings.myoclonus
    ev = jerks.events if isinstance(jerks, JerkResult) else jerks
    if hypnogram is None or hypnogram.source == "none":
        return hypnic_from_events(ev.iloc[0:0], hypnogram=hypnogram, settings=settings)
    win = transition_windows(hypnogram, settings=settings)
    on = ev["onset"].to_numpy(dtype=float)
    in_win = overlaps_any(on, on, *win) if len(ev) else np.zeros(0, bool)
    stage_ok = ev["stage"].astype("object").isin(m.hypnic_stages).to_numpy()
    muscles = ev["muscles"].astype(str).str.split(",")
    n_mus = muscles.map(len).to_numpy()
    has_limb = muscles.map(lambda ms: bool(set(ms) & LIMB_ROLES)).to_numpy()
    enough = (n_mus >= m.hypnic_min_muscles) & (has_limb | (not m.hypnic_require_limb))
    enough |= (ev["extent"].astype("object") == "generalized").to_numpy()
    sel = in_win & stage_ok & enough
    out = ev.loc[sel].copy()
    out["trial_type"] = "hypnic_jerk"
    out = make_events(out)
    logger.info("hypnic jerks: %d in %d sleep-onset transition(s)", len(out), len(win[0]))
    return hypnic_from_events(out, hypnogram=hypnogram, settings=settings)


def transition_windows(hypnogram: Hypnogram, *, settings: Settings) -> Spans:
    """The sleep-onset transition windows as spans: ``hypnic_before_s`` before to
    ``hypnic_after_s`` after each sleep onset (:func:`sleep_onsets`), within the hypnogram."""
    m = settings.myoclonus
    t_on = sleep_onsets(hypnogram, min_wake_epochs=m.hypnic_min_wake_epochs)
    return (np.maximum(t_on - m.hypnic_before_s, hypnogram.start), np.minimum(t_on + m.hypnic_after_s, hypnogram.end))


def hypnic_from_events(events: pd.DataFrame, *, hypnogram: Hypnogram | None, settings: Settings) -> HypnicResult:
    """The :class:`HypnicResult` of the hypnic jerks in ``events`` (``hypnic_jerk`` rows): the
    sleep-onset transitions of the hypnogram and the jerks in each. The scoring step of
    :func:`detect_hypnic`, also used to score a reviewed event table (``somnomyo.rescore``)."""
    if hypnogram is None or hypnogram.source == "none":
        return HypnicResult(events=make_events(events.iloc[0:0]), transitions=None, tst_hours=0.0, settings=settings)
    m = settings.myoclonus
    t_on = sleep_onsets(hypnogram, min_wake_epochs=m.hypnic_min_wake_epochs)
    win = transition_windows(hypnogram, settings=settings)
    counts = np.array(
        [int(((events["onset"] >= a) & (events["onset"] <= b)).sum()) for a, b in zip(*win)], dtype=np.int64
    )  # loop over sleep onsets
    transitions = pd.DataFrame({"sleep_onset": t_on, "window_start": win[0], "window_end": win[1], "n_jerks": counts})
    tst_h = float(np.isin(hypnogram.stages, SLEEP_STAGES).sum() * hypnogram.epoch_s / 3600.0)
    return HypnicResult(events=events, transitions=transitions, tst_hours=tst_h, settings=settings)
