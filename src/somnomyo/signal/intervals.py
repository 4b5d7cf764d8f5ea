"""Time-interval tables: ``onset``, ``duration`` (seconds) and ``reason``.

Small helpers shared by the quality checks, artefact rejection and scoring
denominators: turn a boolean mask into intervals and back, merge touching
intervals of the same reason, subtract one set of intervals from another and
measure the time they cover.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

INTERVAL_COLUMNS = ("onset", "duration", "reason")

# tolerance (s) under which two interval edges count as touching
_EDGE_TOL = 1e-9


def empty_intervals() -> pd.DataFrame:
    """An interval table with no rows (columns ``onset``, ``duration``, ``reason``)."""
    return pd.DataFrame({"onset": pd.Series(dtype="float64"),
                         "duration": pd.Series(dtype="float64"),
                         "reason": pd.Series(dtype="string")})


def _table(onset: np.ndarray, duration: np.ndarray, reason: np.ndarray | str) -> pd.DataFrame:
    onset = np.asarray(onset, dtype=float)
    reasons = np.broadcast_to(np.asarray(reason, dtype=object), onset.shape)
    return pd.DataFrame({"onset": onset,
                         "duration": np.asarray(duration, dtype=float),
                         "reason": pd.array(list(reasons), dtype="string")})


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start (inclusive) and stop (exclusive) indices of the runs of ``True`` in ``mask``."""
    m = np.asarray(mask, dtype=bool).ravel()
    edges = np.diff(np.concatenate(([0], m.view(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def intervals_from_mask(mask: np.ndarray, fs: float, reason: str) -> pd.DataFrame:
    """Intervals covered by the runs of ``True`` in ``mask`` sampled at ``fs`` Hz.

    Sample ``i`` covers ``[i / fs, (i + 1) / fs)``; a run of samples ``a..b-1`` gives
    ``onset = a / fs`` and ``duration = (b - a) / fs``.
    """
    if fs <= 0:
        raise ValueError(f"fs must be positive, got {fs!r}")
    start, stop = runs(mask)
    return _table(start / fs, (stop - start) / fs, reason)


def _union(onset: np.ndarray, end: np.ndarray, gap: float) -> tuple[np.ndarray, np.ndarray]:
    """Merged (onset, end) of intervals that overlap, touch or are <= ``gap`` s apart, by onset."""
    order = np.argsort(onset, kind="mergesort")
    o, e = onset[order], end[order]
    run_end = np.maximum.accumulate(e)
    new = np.ones(o.size, bool)
    new[1:] = o[1:] > run_end[:-1] + gap + _EDGE_TOL
    first = np.flatnonzero(new)
    return o[first], np.maximum.reduceat(e, first) if first.size else e[:0]


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
    reason = (df["reason"].astype("string").to_numpy(dtype=object, na_value="<NA>") if has_reason
              else np.full(onset.size, "", dtype=object))
    names, code = np.unique(reason.astype(str), return_inverse=True)
    parts_on, parts_end, parts_code = [], [], []
    for k in range(names.size):                   # loop over the few reasons, not intervals
        sel = code == k
        o, e = _union(onset[sel], end[sel], gap)
        parts_on.append(o)
        parts_end.append(e)
        parts_code.append(np.full(o.size, k))
    o, e, c = np.concatenate(parts_on), np.concatenate(parts_end), np.concatenate(parts_code)
    order = np.lexsort((c, o))                    # by onset, then reason
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
    o, e = _union(onset, onset + df["duration"].to_numpy(float), 0.0)
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
