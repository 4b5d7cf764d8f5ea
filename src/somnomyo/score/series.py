"""Inter-movement intervals and PLM series.

Rules (docs/rules.md §3):

* IMI is measured onset-to-onset between consecutive CLMs (WASM 2016 and AASM; MATPLM
  ``getIMI``).
* A PLM series is >= ``min_series`` (4) consecutive CLMs each separated by
  ``imi_min_s <= IMI <= imi_max_s`` (WASM 2016: 10-90 s; AASM: 5-90 s).
* A series ends at (MATPLM ``candidate_lms.m`` / ``periodic_lms.m``, ``inlm = true``):
  an IMI > ``imi_max_s``; an IMI < ``imi_min_s`` (the CLM after the short IMI is a
  breakpoint - it is kept, not deleted, and IMIs are not recomputed); an LM that is not a
  CLM (``non_clm_breaks_series``; the non-CLM itself is left out of the IMI sequence);
  an unscorable stretch; the onset of a wake period longer than
  ``wake_breaks_series_after_s`` (AASM, optional).
* ``short_imi_may_start_series`` (MATPLM default True; [UNCONFIRMED] W16 intent): when
  False, the CLM after a short IMI may not start a series either (MATPLM's commented-out
  breakpoint on the following movement).
* Respiratory-related CLMs: the primary analysis removes them and recomputes IMIs
  (MATPLM ``CLMnr``); the secondary analysis keeps them (WASM 2016 asks for both).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from somnomyo.io.annotations import Hypnogram
from somnomyo.settings import PLMSettings
from somnomyo.signal.intervals import EPS, merge_spans, overlap_seconds


def imi(onsets: object) -> np.ndarray:
    """Onset-to-onset IMI of each movement from the previous one (NaN for the first).

    WASM 2016 and AASM: IMI measured onset to onset (MATPLM ``getIMI``).
    """
    t = np.asarray(onsets, dtype=float).ravel()
    out = np.full(t.size, np.nan)
    out[1:] = np.diff(t)
    return out


def find_series(
    onsets: object,
    *,
    settings: PLMSettings | None = None,
    breaks: np.ndarray | None = None,
    min_interval_s: float | None = None,
    max_interval_s: float | None = None,
    min_count: int | None = None,
    short_interval_may_start: bool | None = None,
    positive_only: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Series in a sorted sequence of onsets: runs of at least ``min_count`` consecutive events
    whose successive intervals all lie in ``[min_interval_s, max_interval_s]`` (``EPS`` either
    side). The one series finder: PLM series and jerk clusters (:mod:`somnomyo.detect.clusters`).

    PLM (``settings``, a ``PLMSettings``, gives the defaults): WASM 2016 / AASM PLM series
    (>= ``min_series`` consecutive CLMs with ``imi_min_s <= IMI <= imi_max_s``); breakpoints
    per MATPLM ``candidate_lms.m``; ``short_imi_may_start_series`` False: a CLM after a
    too-short IMI cannot start a series. ``breaks[i]`` True means something between event
    ``i-1`` and event ``i`` ends any series (a non-CLM LM, an unscorable stretch, a long wake
    period). ``positive_only``: an interval of 0 s (simultaneous onsets) never links.

    Returns ``(imi_s, periodic, series)``: ``series`` is 1-based per series in order, 0 when
    not in a series (see :func:`series_bounds`).
    """
    if settings is not None:
        min_interval_s = settings.imi_min_s if min_interval_s is None else min_interval_s
        max_interval_s = settings.imi_max_s if max_interval_s is None else max_interval_s
        min_count = settings.min_series if min_count is None else min_count
        if short_interval_may_start is None:
            short_interval_may_start = settings.short_imi_may_start_series
    if min_interval_s is None or max_interval_s is None or min_count is None:
        raise TypeError("find_series needs settings or min_interval_s, max_interval_s and min_count")
    lo, hi = min_interval_s, max_interval_s
    t = np.asarray(onsets, dtype=float).ravel()
    n = t.size
    gaps = imi(t)
    if breaks is None:
        breaks = np.zeros(n, dtype=bool)
    breaks = np.asarray(breaks, dtype=bool)
    short = gaps < lo - EPS
    link = (gaps >= lo - EPS) & (gaps <= hi + EPS) & ~breaks
    if positive_only:
        link &= gaps > 0
    if short_interval_may_start is False and n > 1:
        link[1:] &= ~short[:-1]
    run = np.cumsum(~link)  # run number of each CLM (link[0] is False)
    run_len = np.bincount(run)[run] if n else np.empty(0, dtype=np.int64)
    periodic = run_len >= min_count
    series = np.zeros(n, dtype=np.int64)
    if periodic.any():
        starts = periodic & ~link
        series[periodic] = np.cumsum(starts)[periodic]
    return gaps, periodic, series


def series_bounds(series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last (inclusive) index of each series of :func:`find_series` (its ``series``)."""
    idx = np.flatnonzero(np.asarray(series) > 0)
    if idx.size == 0:
        return idx, idx
    new = np.diff(np.asarray(series)[idx]) != 0
    return idx[np.concatenate(([True], new))], idx[np.concatenate((new, [True]))]


def wake_break_times(hypnogram: Hypnogram | None, *, settings: PLMSettings) -> np.ndarray:
    """Onsets of wake periods longer than ``settings.wake_breaks_series_after_s`` (empty when None).

    AASM (secondary source, [UNCONFIRMED]): a wake period <= 90 s does not break a PLMS
    series; when this option is set, a longer wake period ends the series running when it
    begins (CLMs during and after it may form a new series).
    """
    limit = settings.wake_breaks_series_after_s
    if hypnogram is None or limit is None or hypnogram.n_epochs == 0:
        return np.empty(0)
    t0 = hypnogram.start + np.arange(hypnogram.n_epochs) * hypnogram.epoch_s
    wake = hypnogram.stages == "W"
    w0, w1 = merge_spans(t0[wake], t0[wake] + hypnogram.epoch_s)
    return w0[(w1 - w0) > limit + EPS]


def score_series(
    candidates: pd.DataFrame,
    *,
    settings: PLMSettings,
    include_respiratory: bool,
    break_starts: np.ndarray | None = None,
    break_ends: np.ndarray | None = None,
    break_times: np.ndarray | None = None,
) -> pd.DataFrame:
    """IMI, periodicity and series id of each candidate for one analysis.

    ``candidates`` (sorted by onset) needs ``onset, counted, is_clm`` and, unless
    ``include_respiratory``, ``respiratory``. The analysed sequence is the counted CLMs
    (without respiratory-related ones when ``include_respiratory`` is False: WASM 2016 /
    MATPLM ``CLMnr``, IMIs recomputed). Counted non-CLM LMs break series when
    ``settings.non_clm_breaks_series`` (WASM 2016 / MATPLM). ``break_starts/ends`` is a
    merged interval set (unscorable time) that breaks any series it overlaps; ``break_times``
    are instants (onsets of long wake periods) that end the series running across them.

    Returns a frame indexed like ``candidates`` with ``imi_s`` (float, NaN outside the
    sequence), ``periodic`` (bool) and ``series_id`` (Int64, NA when not periodic).
    """
    n = len(candidates)
    counted = candidates["counted"].to_numpy(dtype=bool)
    is_clm = candidates["is_clm"].to_numpy(dtype=bool)
    member = counted & is_clm
    if not include_respiratory:
        member &= ~candidates["respiratory"].to_numpy(dtype=bool)
    breaker = counted & ~is_clm if settings.non_clm_breaks_series else np.zeros(n, dtype=bool)
    pos = np.flatnonzero(member)
    onset = candidates["onset"].to_numpy(dtype=float)
    t = onset[pos]
    breaks = np.zeros(pos.size, dtype=bool)
    if pos.size > 1:
        cum = np.cumsum(breaker)
        breaks[1:] = (cum[pos[1:]] - cum[pos[:-1]]) > 0
        if break_starts is not None and break_ends is not None and np.size(break_starts):
            breaks[1:] |= (
                overlap_seconds(
                    t[:-1], t[1:], np.asarray(break_starts, dtype=float), np.asarray(break_ends, dtype=float)
                )
                > 0
            )
        if break_times is not None and np.size(break_times):
            bt = np.sort(np.asarray(break_times, dtype=float))
            breaks[1:] |= np.searchsorted(bt, t[1:], side="right") > np.searchsorted(bt, t[:-1], side="right")
    gaps, periodic, series = find_series(t, settings=settings, breaks=breaks)
    out = pd.DataFrame(
        {
            "imi_s": np.full(n, np.nan),
            "periodic": np.zeros(n, dtype=bool),
            "series_id": pd.array([pd.NA] * n, dtype="Int64"),
        },
        index=candidates.index,
    )
    out.iloc[pos, out.columns.get_loc("imi_s")] = gaps
    out.iloc[pos, out.columns.get_loc("periodic")] = periodic
    sid = pd.array([pd.NA] * n, dtype="Int64")
    sid[pos[periodic]] = series[periodic]
    out["series_id"] = sid
    return out
