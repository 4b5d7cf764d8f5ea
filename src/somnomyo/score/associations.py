"""Time relations of leg movements with other events: respiratory events and arousals.

Also holds the small, vectorized interval helpers the PLM engine shares (merging,
coverage, overlap, difference of interval sets). All times are seconds from the
recording start; an interval set is a pair of arrays ``(starts, ends)``.

Rules (see ``shared/docs/clinical_rules.md`` §1.4-1.5):

* :func:`respiratory_related` - WASM 2016 (T3 table; MATPLM ``candidate_lms.m``
  ``event_assoc`` with ``lb1 = 2``, ``ub1 = 10.25``) and AASM (rule as quoted in the
  NSRR reading-centre manual: 0.5 s before to 0.5 s after an apnea/hypopnea/RERA).
* :func:`arousal_associated` - WASM 2016 and AASM (T3): overlap or < 0.5 s between the
  end of one and the onset of the other, either order (MATPLM ``lb2 = ub2 = 0.5``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from somnomyo.errors import check_choice
from somnomyo.settings import ArousalSettings, RespiratorySettings

#: numerical tolerance for comparisons of times computed by float arithmetic (not a clinical value)
EPS = 1e-9

ANCHORS = ("end", "event")

FloatArray = np.ndarray


def as_intervals(onsets: object, durations: object) -> tuple[FloatArray, FloatArray]:
    """``(starts, ends)`` float arrays from onsets and durations (negative durations -> 0)."""
    on = np.asarray(onsets, dtype=float).ravel()
    du = np.clip(np.asarray(durations, dtype=float).ravel(), 0.0, None)
    return on, on + du


def merge_intervals(starts: object, ends: object) -> tuple[FloatArray, FloatArray]:
    """Union of intervals as sorted, disjoint ``(starts, ends)``; empty intervals are dropped.

    Touching intervals (end of one == start of the next) are merged.
    """
    s = np.asarray(starts, dtype=float).ravel()
    e = np.asarray(ends, dtype=float).ravel()
    keep = np.isfinite(s) & np.isfinite(e) & (e > s)
    s, e = s[keep], e[keep]
    if s.size == 0:
        return np.empty(0), np.empty(0)
    order = np.argsort(s, kind="stable")
    s, e = s[order], e[order]
    run_end = np.maximum.accumulate(e)
    new = np.ones(s.size, dtype=bool)
    new[1:] = s[1:] > run_end[:-1]
    group = np.cumsum(new) - 1
    out_s = s[new]
    out_e = np.full(out_s.size, -np.inf)
    np.maximum.at(out_e, group, e)
    return out_s, out_e


def covered_before(t: object, starts: FloatArray, ends: FloatArray) -> FloatArray:
    """Seconds of the merged interval set ``(starts, ends)`` that lie before time(s) ``t``."""
    t = np.asarray(t, dtype=float)
    if starts.size == 0:
        return np.zeros(t.shape)
    cum = np.concatenate([[0.0], np.cumsum(ends - starts)])
    k = np.searchsorted(starts, t, side="right")          # intervals starting at or before t
    prev = np.clip(k - 1, 0, None)
    partial = np.where(k > 0, np.clip(np.minimum(t, ends[prev]) - starts[prev], 0.0, None), 0.0)
    return cum[prev] * (k > 0) + partial


def overlap_seconds(a_starts: object, a_ends: object, starts: FloatArray, ends: FloatArray) -> FloatArray:
    """Seconds of each interval ``[a_starts[i], a_ends[i]]`` covered by the merged set ``(starts, ends)``."""
    a0 = np.asarray(a_starts, dtype=float)
    a1 = np.maximum(np.asarray(a_ends, dtype=float), a0)
    return covered_before(a1, starts, ends) - covered_before(a0, starts, ends)


def overlaps_any(a_starts: object, a_ends: object, starts: FloatArray, ends: FloatArray, *,
                 closed: bool) -> np.ndarray:
    """Whether each interval ``a`` meets the merged set ``(starts, ends)``.

    ``closed=True``: touching counts (``a_start <= end`` and ``a_end >= start``);
    ``closed=False``: strict overlap (``a_start < end`` and ``a_end > start``).
    """
    a0 = np.asarray(a_starts, dtype=float).ravel()
    a1 = np.asarray(a_ends, dtype=float).ravel()
    if starts.size == 0 or a0.size == 0:
        return np.zeros(a0.size, dtype=bool)
    k = np.searchsorted(starts, a1, side="right" if closed else "left")
    prev = np.clip(k - 1, 0, None)
    hit = (a0 <= ends[prev]) if closed else (a0 < ends[prev])
    return (k > 0) & hit


def interval_difference(a_starts: object, a_ends: object, b_starts: object,
                        b_ends: object) -> tuple[FloatArray, FloatArray]:
    """Merged set ``A \\ B`` (both given as arbitrary intervals)."""
    a0, a1 = merge_intervals(a_starts, a_ends)
    b0, b1 = merge_intervals(b_starts, b_ends)
    if a0.size == 0 or b0.size == 0:
        return a0, a1
    edges = np.unique(np.concatenate([a0, a1, b0, b1]))
    lo, hi = edges[:-1], edges[1:]
    mid = (lo + hi) / 2
    in_a = _inside(mid, a0, a1)
    in_b = _inside(mid, b0, b1)
    keep = in_a & ~in_b
    return merge_intervals(lo[keep], hi[keep])


def interval_intersection(a_starts: object, a_ends: object, b_starts: object,
                          b_ends: object) -> tuple[FloatArray, FloatArray]:
    """Merged set ``A ∩ B`` (both given as arbitrary intervals)."""
    a0, a1 = merge_intervals(a_starts, a_ends)
    b0, b1 = merge_intervals(b_starts, b_ends)
    if a0.size == 0 or b0.size == 0:
        return np.empty(0), np.empty(0)
    edges = np.unique(np.concatenate([a0, a1, b0, b1]))
    lo, hi = edges[:-1], edges[1:]
    mid = (lo + hi) / 2
    keep = _inside(mid, a0, a1) & _inside(mid, b0, b1)
    return merge_intervals(lo[keep], hi[keep])


def _inside(t: FloatArray, starts: FloatArray, ends: FloatArray) -> np.ndarray:
    """Whether each time ``t`` lies inside the merged set (start <= t < end)."""
    if starts.size == 0:
        return np.zeros(t.shape, dtype=bool)
    k = np.searchsorted(starts, t, side="right")
    prev = np.clip(k - 1, 0, None)
    return (k > 0) & (t < ends[prev])


def respiratory_windows(events: pd.DataFrame | None, *,
                        settings: RespiratorySettings) -> tuple[FloatArray, FloatArray]:
    """Merged windows around respiratory events in which a movement is respiratory-related.

    WASM 2016 (``anchor="end"``, T3; MATPLM ``event_assoc``): from ``before_s`` (2.0 s) before
    to ``after_s`` (10.25 s) after the END of each apnea/hypopnea.
    AASM (``anchor="event"``, rule as quoted in the NSRR manual): from ``before_s`` (0.5 s)
    before the ONSET to ``after_s`` (0.5 s) after the end of the event.
    Only events whose ``kind`` is in ``settings.event_kinds`` are used (when the table
    has a ``kind`` column).
    """
    check_choice("respiratory anchor", settings.anchor, ANCHORS)
    if events is None or len(events) == 0:
        return np.empty(0), np.empty(0)
    ev = events
    if "kind" in ev.columns:
        ev = ev.loc[ev["kind"].isin(settings.event_kinds).fillna(False).to_numpy(dtype=bool)]
    on, end = as_intervals(ev["onset"], ev["duration"])
    if settings.anchor == "end":
        w0, w1 = end - settings.before_s, end + settings.after_s
    else:
        w0, w1 = on - settings.before_s, end + settings.after_s
    return merge_intervals(w0, w1)


def respiratory_related(onsets: object, durations: object, events: pd.DataFrame | None, *,
                        settings: RespiratorySettings) -> np.ndarray:
    """Whether each movement is respiratory-related: any part of it meets a respiratory window.

    WASM 2016, rLM definition (T3; MATPLM ``lb1 = 2``, ``ub1 = 10.25`` around the event END);
    AASM (NSRR manual): 0.5 s before the event onset to 0.5 s after its end. See
    :func:`respiratory_windows`. Touching the window edge counts (MATPLM compares samples
    inclusively).
    """
    a0, a1 = as_intervals(onsets, durations)
    w0, w1 = respiratory_windows(events, settings=settings)
    return overlaps_any(a0, a1, w0, w1, closed=True)


def arousal_associated(onsets: object, durations: object, arousals: pd.DataFrame | None, *,
                       settings: ArousalSettings) -> np.ndarray:
    """Whether each movement is associated with an arousal.

    WASM 2016 and AASM (T3): the movement and the arousal overlap, or less than
    ``settings.max_gap_s`` (0.5 s) separates the end of one from the onset of the other,
    in either order (MATPLM ``lb2 = ub2 = 0.5``).
    """
    a0, a1 = as_intervals(onsets, durations)
    if arousals is None or len(arousals) == 0:
        return np.zeros(a0.size, dtype=bool)
    on, end = as_intervals(arousals["onset"], arousals["duration"])
    w0, w1 = merge_intervals(on - settings.max_gap_s + EPS, end + settings.max_gap_s - EPS)
    return overlaps_any(a0, a1, w0, w1, closed=False)
