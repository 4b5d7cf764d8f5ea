"""Time relations of leg movements with other events: respiratory events and arousals.

All times are seconds from the recording start; interval sets are spans ``(starts, ends)``
(:mod:`somnomyo.signal.intervals`, which holds the interval operations).

Rules (docs/rules.md §4):

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
from somnomyo.io.annotations import Annotations
from somnomyo.settings import RESPIRATORY_ANCHORS as ANCHORS
from somnomyo.settings import ArousalSettings, RespiratorySettings
from somnomyo.signal.intervals import EPS, Spans, as_spans, merge_spans, overlaps_any, spans_from


def respiratory_windows(events: pd.DataFrame | None, *, settings: RespiratorySettings) -> Spans:
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
    on, end = spans_from(ev["onset"], ev["duration"])
    if settings.anchor == "end":
        w0, w1 = end - settings.before_s, end + settings.after_s
    else:
        w0, w1 = on - settings.before_s, end + settings.after_s
    return merge_spans(w0, w1)


def respiratory_related(
    onsets: object, durations: object, events: pd.DataFrame | None, *, settings: RespiratorySettings
) -> np.ndarray:
    """Whether each movement is respiratory-related: any part of it meets a respiratory window.

    WASM 2016, rLM definition (T3; MATPLM ``lb1 = 2``, ``ub1 = 10.25`` around the event END);
    AASM (NSRR manual): 0.5 s before the event onset to 0.5 s after its end. See
    :func:`respiratory_windows`. Touching the window edge counts (MATPLM compares samples
    inclusively).
    """
    a0, a1 = spans_from(onsets, durations)
    w0, w1 = respiratory_windows(events, settings=settings)
    return overlaps_any(a0, a1, w0, w1, closed=True)


def arousal_associated(
    onsets: object, durations: object, arousals: pd.DataFrame | None, *, settings: ArousalSettings
) -> np.ndarray:
    """Whether each movement is associated with an arousal.

    WASM 2016 and AASM (T3): the movement and the arousal overlap, or less than
    ``settings.max_gap_s`` (0.5 s) separates the end of one from the onset of the other,
    in either order (MATPLM ``lb2 = ub2 = 0.5``).
    """
    a0, a1 = spans_from(onsets, durations)
    if arousals is None or len(arousals) == 0:
        return np.zeros(a0.size, dtype=bool)
    on, end = spans_from(arousals["onset"], arousals["duration"])
    w0, w1 = merge_spans(on - settings.max_gap_s + EPS, end + settings.max_gap_s - EPS)
    return overlaps_any(a0, a1, w0, w1, closed=False)


def arousal_flags(
    onsets: np.ndarray, durations: np.ndarray, annotations: Annotations | None, *, max_gap_s: float
) -> np.ndarray | None:
    """Arousal association of myoclonus events (WASM 2016/AASM: overlap or < ``max_gap_s`` between
    them, strictly, on the arousals as given); None without annotations. Unlike
    :func:`arousal_associated` (the LM rule) the window is not shrunk by ``EPS``."""
    if annotations is None:
        return None
    s, e = as_spans(annotations.arousals)
    onsets = np.asarray(onsets, dtype=float)
    return overlaps_any(onsets, onsets + np.asarray(durations, dtype=float), s, e, gap=max_gap_s)
