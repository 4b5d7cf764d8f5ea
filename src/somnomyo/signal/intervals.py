"""Time intervals, in the two forms the package uses, and their operations (the one place).

* **Tables** (``onset``, ``duration`` in seconds, ``reason``): what the quality checks and
  artefact rejection produce and the outputs hold. :func:`intervals_from_mask` and
  :func:`mask_from_intervals` turn a boolean mask into intervals and back;
  :func:`merge_intervals` merges touching intervals of the same reason,
  :func:`subtract_intervals` removes one set from another, :func:`total_duration` measures them.
* **Spans** (:data:`Spans`: two float arrays ``(starts, ends)``, seconds): the form scoring
  computes with. :func:`spans_from` and :func:`as_spans` build them, :func:`merge_spans` is the
  union (the one merge: tables merge through it too), :func:`overlaps_any`,
  :func:`covered_before`, :func:`overlap_seconds`, :func:`interval_difference` and
  :func:`interval_intersection` relate them, :func:`drop_overlapping` drops the table rows that
  meet them; :func:`channel_unscorable` and :func:`common_unscorable` read the per-channel
  unscorable time (:data:`IntervalsLike`).
* **Runs** of ``True`` in a boolean mask (sample indices): :func:`runs`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

INTERVAL_COLUMNS = ("onset", "duration", "reason")

#: numerical tolerance (s) for comparisons of times computed by float arithmetic (not a clinical
#: value); also the tolerance under which two table interval edges count as touching
EPS = 1e-9

Spans: TypeAlias = tuple[np.ndarray, np.ndarray]
"""An interval set as two float arrays ``(starts, ends)`` in seconds from the recording start."""

IntervalsLike: TypeAlias = Sequence[tuple[float, float]] | pd.DataFrame | Mapping[str, Any] | None
"""Unscorable time as callers give it: ``(onset, duration)`` pairs or a table with those columns
(all channels), or a mapping channel label -> such intervals (per channel, as the pipeline's
quality check gives)."""


def empty_intervals() -> pd.DataFrame:
    """An interval table with no rows (columns ``onset``, ``duration``, ``reason``)."""
    return pd.DataFrame(
        {
            "onset": pd.Series(dtype="float64"),
            "duration": pd.Series(dtype="float64"),
            "reason": pd.Series(dtype="string"),
        }
    )


def _table(onset: np.ndarray, duration: np.ndarray, reason: np.ndarray | str) -> pd.DataFrame:
    onset = np.asarray(onset, dtype=float)
    reasons = np.broadcast_to(np.asarray(reason, dtype=object), onset.shape)
    return pd.DataFrame(
        {
            "onset": onset,
            "duration": np.asarray(duration, dtype=float),
            "reason": pd.array(list(reasons), dtype="string"),
        }
    )


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start (inclusive) and stop (exclusive) indices (int64) of the runs of ``True`` in ``mask``
    (flattened), found in one comparison pass of neighbours (no padded copy of the mask)."""
    m = np.asarray(mask, dtype=bool).ravel()
    if m.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    edges = np.flatnonzero(m[1:] != m[:-1]) + 1
    if m[0]:
        edges = np.concatenate(([0], edges))
    if m[-1]:
        edges = np.concatenate((edges, [m.size]))
    return edges[0::2].astype(np.int64), edges[1::2].astype(np.int64)


def intervals_from_mask(mask: np.ndarray, fs: float, reason: str) -> pd.DataFrame:
    """Intervals covered by the runs of ``True`` in ``mask`` sampled at ``fs`` Hz.

    Sample ``i`` covers ``[i / fs, (i + 1) / fs)``; a run of samples ``a..b-1`` gives
    ``onset = a / fs`` and ``duration = (b - a) / fs``.
    """
    if fs <= 0:
        raise ValueError(f"fs must be positive, got {fs!r}")
    start, stop = runs(mask)
    return _table(start / fs, (stop - start) / fs, reason)


def merge_intervals(df: pd.DataFrame, *, gap: float = 0.0) -> pd.DataFrame:
    """Merge intervals of the same ``reason`` that overlap, touch or are <= ``gap`` s apart.

    Without a ``reason`` column every interval is merged with every other. The result
    is sorted by onset (then reason) and has a fresh index.
    """
    if df is None or len(df) == 0:
        out = empty_intervals()
        return out if df is None or "reason" in df.columns else out.drop(columns="reason")
    has_reason = "reason" in df.columns
    onset = df["onset"].to_numpy(float)
    end = onset + df["duration"].to_numpy(float)
    reason = (
        df["reason"].astype("string").to_numpy(dtype=object, na_value="<NA>")
        if has_reason
        else np.full(onset.size, "", dtype=object)
    )
    names, code = np.unique(reason.astype(str), return_inverse=True)
    parts_on, parts_end, parts_code = [], [], []
    for k in range(names.size):  # loop over the few reasons, not intervals
        sel = code == k
        o, e = merge_spans(onset[sel], end[sel], gap=gap, tol=EPS, drop_empty=False)
        parts_on.append(o)
        parts_end.append(e)
        parts_code.append(np.full(o.size, k))
    o, e, c = np.concatenate(parts_on), np.concatenate(parts_end), np.concatenate(parts_code)
    order = np.lexsort((c, o))  # by onset, then reason
    out = _table(o[order], (e - o)[order], names[c[order]].astype(object))
    return out if has_reason else out.drop(columns="reason")


def subtract_intervals(df: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """The intervals of ``df`` with the time covered by ``other`` removed (reasons kept)."""
    if len(df) == 0 or len(other) == 0:
        return df.reset_index(drop=True).copy()
    cut = merge_intervals(other[["onset", "duration"]])
    c_on = cut["onset"].to_numpy(float)
    c_end = c_on + cut["duration"].to_numpy(float)
    onset = df["onset"].to_numpy(float)
    end = onset + df["duration"].to_numpy(float)
    # elementary boundaries: every edge of df and of the cuts
    edges = np.unique(np.concatenate((onset, end, c_on, c_end)))
    mid = (edges[:-1] + edges[1:]) / 2
    in_cut = np.zeros(mid.size, dtype=bool)
    k = np.searchsorted(c_on, mid, side="right") - 1
    ok = k >= 0
    in_cut[ok] = mid[ok] < c_end[k[ok]]
    pieces = []
    reasons = df["reason"].astype("string").to_numpy() if "reason" in df.columns else None
    for i in range(len(df)):  # loop over intervals, not samples
        keep = (mid > onset[i]) & (mid < end[i]) & ~in_cut
        a, b = runs(keep)
        if a.size:
            pieces.append(_table(edges[a], edges[b] - edges[a], reasons[i] if reasons is not None else ""))
    out = merge_intervals(pd.concat(pieces, ignore_index=True) if pieces else empty_intervals())
    return out if reasons is not None else out.drop(columns="reason")


def total_duration(df: pd.DataFrame) -> float:
    """Seconds covered by the union of the intervals (overlaps counted once)."""
    if len(df) == 0:
        return 0.0
    onset = df["onset"].to_numpy(float)
    o, e = merge_spans(onset, onset + df["duration"].to_numpy(float), tol=EPS, drop_empty=False)
    return float((e - o).sum())


def mask_from_intervals(df: pd.DataFrame, n_samples: int, fs: float) -> np.ndarray:
    """Boolean mask of ``n_samples`` samples at ``fs`` Hz, ``True`` where a sample's time
    ``i / fs`` falls in some interval ``[onset, onset + duration)``."""
    mask = np.zeros(int(n_samples), dtype=bool)
    if len(df) == 0 or n_samples == 0:
        return mask
    onset = df["onset"].to_numpy(float)
    end = onset + df["duration"].to_numpy(float)
    start = np.clip(np.ceil(onset * fs - 1e-6).astype(np.int64), 0, n_samples)
    stop = np.clip(np.ceil(end * fs - 1e-6).astype(np.int64), 0, n_samples)
    good = stop > start
    delta = np.zeros(int(n_samples) + 1, dtype=np.int64)
    np.add.at(delta, start[good], 1)
    np.add.at(delta, stop[good], -1)
    return np.cumsum(delta[:-1]) > 0


# --------------------------------------------------------------------------- spans
def spans_from(onsets: object, durations: object, *, clip_negative: bool = True, nan_to_zero: bool = False) -> Spans:
    """``(starts, ends)`` float arrays (flattened) from onsets and durations.

    ``clip_negative``: negative durations count as 0 (a NaN duration stays NaN);
    ``nan_to_zero``: durations go through ``np.nan_to_num`` first (NaN -> 0, ±inf -> ±largest float).
    """
    on = np.asarray(onsets, dtype=float).ravel()
    du = np.asarray(durations, dtype=float).ravel()
    if nan_to_zero:
        du = np.nan_to_num(du, nan=0.0)
    if clip_negative:
        du = np.clip(du, 0.0, None)
    return on, on + du


def as_spans(intervals: Sequence[tuple[float, float]] | pd.DataFrame | None) -> Spans:
    """Spans of ``(onset, duration)`` pairs or of a table with those columns (None: no spans); a
    missing (NaN) duration counts as 0 (``spans_from(..., clip_negative=False, nan_to_zero=True)``)."""
    if intervals is None:
        return np.zeros(0), np.zeros(0)
    if isinstance(intervals, pd.DataFrame):
        on = intervals["onset"].to_numpy(dtype=float)
        du = intervals["duration"].to_numpy(dtype=float)
    else:
        arr = np.asarray(list(intervals), dtype=float).reshape(-1, 2)
        on, du = arr[:, 0], arr[:, 1]
    return spans_from(on, du, clip_negative=False, nan_to_zero=True)


def merge_spans(starts: object, ends: object, *, gap: float = 0.0, tol: float = 0.0, drop_empty: bool = True) -> Spans:
    """Union of intervals as sorted, disjoint ``(starts, ends)``: intervals that overlap, touch or
    lie at most ``gap + tol`` s apart are merged (sorted by start, stable).

    ``drop_empty``: intervals that are empty (``end <= start``) or not finite are dropped first
    (scoring: touching means ``end == start`` exactly, ``tol = 0``). The tables
    (:func:`merge_intervals`, :func:`total_duration`) keep them and use ``tol = EPS``.
    """
    s = np.asarray(starts, dtype=float).ravel()
    e = np.asarray(ends, dtype=float).ravel()
    if drop_empty:
        keep = np.isfinite(s) & np.isfinite(e) & (e > s)
        s, e = s[keep], e[keep]
    if s.size == 0:
        return np.empty(0), np.empty(0)
    order = np.argsort(s, kind="stable")
    s, e = s[order], e[order]
    run_end = np.maximum.accumulate(e)
    new = np.ones(s.size, dtype=bool)
    new[1:] = s[1:] > run_end[:-1] + gap + tol
    first = np.flatnonzero(new)
    return s[first], np.maximum.reduceat(e, first)


def overlaps_any(
    a_starts: object, a_ends: object, starts: object, ends: object, *, closed: bool = False, gap: float = 0.0
) -> np.ndarray:
    """Whether each interval ``[a_starts[i], a_ends[i]]`` meets the set ``(starts, ends)`` (any
    intervals, merged or not), or comes within ``gap`` s of it.

    ``closed=False``: strict overlap (``start < a_end + gap`` and ``end > a_start - gap``);
    ``closed=True``: touching counts too (``<=``, ``>=``).
    """
    a0 = np.asarray(a_starts, dtype=float)
    a1 = np.asarray(a_ends, dtype=float)
    s = np.asarray(starts, dtype=float).ravel()
    e = np.asarray(ends, dtype=float).ravel()
    if s.size == 0 or a0.size == 0:
        return np.zeros(a0.shape, dtype=bool)
    order = np.argsort(s)
    s = s[order]
    run_end = np.maximum.accumulate(e[order])  # union-safe: the furthest end so far
    # last interval starting before (at or before, closed) a_end + gap
    k = np.searchsorted(s, a1 + gap, side="right" if closed else "left") - 1
    ok = k >= 0
    out = np.zeros(a0.shape, dtype=bool)
    out[ok] = (run_end[k[ok]] >= a0[ok] - gap) if closed else (run_end[k[ok]] > a0[ok] - gap)
    return out


def covered_before(t: object, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Seconds of the merged interval set ``(starts, ends)`` that lie before time(s) ``t``."""
    t = np.asarray(t, dtype=float)
    if starts.size == 0:
        return np.zeros(t.shape)
    cum = np.concatenate([[0.0], np.cumsum(ends - starts)])
    k = np.searchsorted(starts, t, side="right")  # intervals starting at or before t
    prev = np.clip(k - 1, 0, None)
    partial = np.where(k > 0, np.clip(np.minimum(t, ends[prev]) - starts[prev], 0.0, None), 0.0)
    return cum[prev] * (k > 0) + partial


def overlap_seconds(a_starts: object, a_ends: object, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Seconds of each interval ``[a_starts[i], a_ends[i]]`` covered by the merged set ``(starts, ends)``."""
    a0 = np.asarray(a_starts, dtype=float)
    a1 = np.maximum(np.asarray(a_ends, dtype=float), a0)
    return covered_before(a1, starts, ends) - covered_before(a0, starts, ends)


def interval_difference(a_starts: object, a_ends: object, b_starts: object, b_ends: object) -> Spans:
    """Merged set ``A \\ B`` (both given as arbitrary intervals)."""
    a0, a1 = merge_spans(a_starts, a_ends)
    b0, b1 = merge_spans(b_starts, b_ends)
    if a0.size == 0 or b0.size == 0:
        return a0, a1
    edges = np.unique(np.concatenate([a0, a1, b0, b1]))
    lo, hi = edges[:-1], edges[1:]
    mid = (lo + hi) / 2
    keep = _inside(mid, a0, a1) & ~_inside(mid, b0, b1)
    return merge_spans(lo[keep], hi[keep])


def interval_intersection(a_starts: object, a_ends: object, b_starts: object, b_ends: object) -> Spans:
    """Merged set ``A ∩ B`` (both given as arbitrary intervals)."""
    a0, a1 = merge_spans(a_starts, a_ends)
    b0, b1 = merge_spans(b_starts, b_ends)
    if a0.size == 0 or b0.size == 0:
        return np.empty(0), np.empty(0)
    edges = np.unique(np.concatenate([a0, a1, b0, b1]))
    lo, hi = edges[:-1], edges[1:]
    mid = (lo + hi) / 2
    keep = _inside(mid, a0, a1) & _inside(mid, b0, b1)
    return merge_spans(lo[keep], hi[keep])


def _inside(t: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Whether each time ``t`` lies inside the merged set (start <= t < end)."""
    if starts.size == 0:
        return np.zeros(t.shape, dtype=bool)
    k = np.searchsorted(starts, t, side="right")
    prev = np.clip(k - 1, 0, None)
    return (k > 0) & (t < ends[prev])


def channel_unscorable(unscorable: IntervalsLike, label: str) -> Spans:
    """Unscorable spans of one channel (global intervals, or the channel's entry of a mapping)."""
    if isinstance(unscorable, Mapping):
        return as_spans(unscorable.get(label))
    return as_spans(unscorable)


def common_unscorable(unscorable: IntervalsLike, labels: Sequence[str]) -> Spans:
    """Time unscorable on every channel of ``labels`` (for denominators), as spans."""
    if not isinstance(unscorable, Mapping):
        return as_spans(unscorable)
    common: pd.DataFrame | None = None
    for lab in labels:  # loop over channels
        s, e = channel_unscorable(unscorable, lab)
        df = pd.DataFrame({"onset": s, "duration": e - s})
        common = df if common is None else subtract_intervals(common, subtract_intervals(common, df))
        if len(common) == 0:
            break
    if common is None or len(common) == 0:
        return np.zeros(0), np.zeros(0)
    return as_spans(common[["onset", "duration"]])


def drop_overlapping(df: pd.DataFrame, spans: Spans) -> pd.DataFrame:
    """The rows of ``df`` whose ``[onset, onset + duration]`` overlaps no interval of ``spans``
    (strictly), with a fresh index; ``df`` itself when nothing can overlap."""
    if spans[0].size == 0 or len(df) == 0:
        return df
    on = df["onset"].to_numpy(dtype=float)
    bad = overlaps_any(on, on + df["duration"].to_numpy(dtype=float), *spans)
    return df.loc[~bad].reset_index(drop=True)
