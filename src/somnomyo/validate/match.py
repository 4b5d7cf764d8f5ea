"""One-to-one matching of detected events to reference events.

The rule (:class:`MatchRule`):

* ``iou`` (default): a detection and a reference event may be paired when their temporal
  intersection-over-union is at least ``min_iou`` (0.5, the usual LM-detection criterion,
  e.g. Carvelli et al. 2020; ``somnomyo.score.agreement`` uses the same);
* ``onset``: when their onsets differ by at most ``onset_tolerance_s``.

A value exactly at the threshold qualifies (compared within 1e-9, float rounding).
Among the candidate pairs the matching is one-to-one and *maximal*: the largest number of
pairs, and among those the largest summed IoU (``iou``) or the smallest summed onset
difference (``onset``); this is an assignment problem solved exactly
(:func:`scipy.optimize.linear_sum_assignment`) on each cluster of mutually overlapping
candidates. Remaining ties are broken towards the earlier detection. With ``by`` (e.g.
``"side"``) only events with the same value are paired.

Every pair, miss and false detection is one row of the table :func:`match_events` returns
(``PAIR_COLUMNS``); :func:`summarize_pairs` turns it into counts, precision, recall, F1 and
the onset/offset bias (median and IQR of detected minus reference, s).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from somnomyo.errors import check_choice
from somnomyo.validate.settings import MATCH_METHODS, ValidateSettings
from somnomyo.validate.stats import median_iqr, prf

__all__ = ["MatchRule", "match_events", "summarize_pairs", "PAIR_COLUMNS", "OUTCOMES"]

OUTCOMES = ("match", "miss", "false_detection")
#: columns of the table :func:`match_events` returns, with their meaning
PAIR_COLUMNS: dict[str, str] = {
    "outcome": "match (a detection paired with a reference event), miss (a reference event without a "
    "detection) or false_detection (a detection without a reference event)",
    "detected_index": "row of the event in the detected table (0-based; events.tsv order); empty for a miss",
    "reference_index": "row of the event in the reference table (0-based); empty for a false detection",
    "detected_onset": "onset of the detection, s from the recording start",
    "detected_duration": "duration of the detection, s",
    "detected_channel": "channel(s) of the detection",
    "reference_onset": "onset of the reference event, s from the recording start",
    "reference_duration": "duration of the reference event, s",
    "reference_channel": "channel(s) of the reference event",
    "iou": "temporal intersection-over-union of the pair",
    "onset_diff_s": "detected onset minus reference onset, s (positive: detected later)",
    "offset_diff_s": "detected end minus reference end, s (positive: detected ends later)",
}
_EPS = 1e-9  # threshold comparisons: float rounding
_TIE = 1e-7  # tie-break weight towards earlier detections (far below any real IoU difference)


@dataclass(frozen=True)
class MatchRule:
    """The matching rule (see the module docstring)."""

    method: Literal["iou", "onset"] = "iou"
    min_iou: float = 0.5
    onset_tolerance_s: float = 0.5

    def __post_init__(self) -> None:
        check_choice("method", self.method, MATCH_METHODS)

    @classmethod
    def from_settings(cls, settings: ValidateSettings) -> MatchRule:
        return cls(method=settings.match_method, min_iou=settings.min_iou, onset_tolerance_s=settings.onset_tolerance_s)

    def describe(self) -> str:
        """One line naming the rule, printed beside every figure."""
        crit = (
            f"temporal IoU >= {self.min_iou:g}"
            if self.method == "iou"
            else f"onsets within {self.onset_tolerance_s:g} s"
        )
        return f"one-to-one matching, {crit} (maximal assignment)"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"method": self.method, "description": self.describe()}
        if self.method == "iou":
            d["min_iou"] = self.min_iou
        else:
            d["onset_tolerance_s"] = self.onset_tolerance_s
        return d


def _intervals(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    on = df["onset"].to_numpy(dtype=float)
    du = np.nan_to_num(df["duration"].to_numpy(dtype=float), nan=0.0) if "duration" in df else np.zeros(on.size)
    return on, np.maximum(du, 0.0)


def _iou(a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray) -> np.ndarray:
    inter = np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0.0, None)
    union = np.maximum(a1, b1) - np.minimum(a0, b0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return np.where((union == 0) & (a0 == b0), 1.0, out)  # two zero-length events at the same time


def _candidates(
    d_on: np.ndarray, d_du: np.ndarray, r_on: np.ndarray, r_du: np.ndarray, rule: MatchRule
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate pairs (detected i, reference j, weight); weights larger = better."""
    order = np.argsort(d_on, kind="stable")
    son = d_on[order]
    if rule.method == "iou":
        max_du = float(d_du.max()) if d_du.size else 0.0
        lo = np.searchsorted(son, r_on - max_du - _EPS, side="left")
        hi = np.searchsorted(son, r_on + r_du + _EPS, side="right")
    else:
        lo = np.searchsorted(son, r_on - rule.onset_tolerance_s - _EPS, side="left")
        hi = np.searchsorted(son, r_on + rule.onset_tolerance_s + _EPS, side="right")
    counts = hi - lo
    jj = np.repeat(np.arange(r_on.size), counts)
    start = np.repeat(lo - np.cumsum(np.r_[0, counts[:-1]]), counts)
    ii = order[np.arange(int(counts.sum())) + start]
    iou = _iou(d_on[ii], d_on[ii] + d_du[ii], r_on[jj], r_on[jj] + r_du[jj])
    if rule.method == "iou":
        keep = iou >= rule.min_iou - _EPS
        w = iou
    else:
        diff = np.abs(d_on[ii] - r_on[jj])
        keep = diff <= rule.onset_tolerance_s + _EPS
        w = 1.0 - diff / (rule.onset_tolerance_s + 1.0)  # closer onsets weigh more, always > 0
    return ii[keep], jj[keep], w[keep]


def _assign(ii: np.ndarray, jj: np.ndarray, w: np.ndarray, n_d: int, n_r: int) -> list[tuple[int, int]]:
    """Maximum-cardinality, then maximum-weight one-to-one pairs among the candidates."""
    if ii.size == 0:
        return []
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(ii.size), (ii, n_d + jj)), shape=(n_d + n_r, n_d + n_r))
    _, comp = connected_components(graph, directed=False)
    cand_comp = comp[ii]
    edges = np.bincount(cand_comp, minlength=int(comp.max()) + 1)
    single = edges[cand_comp] == 1  # one detection, one reference event: a pair
    pairs: list[tuple[int, int]] = list(zip(ii[single].tolist(), jj[single].tolist()))
    multi = np.flatnonzero(~single)
    order = multi[np.argsort(cand_comp[multi], kind="stable")]
    bounds = np.flatnonzero(np.r_[True, np.diff(cand_comp[order]) != 0, True]) if order.size else np.zeros(1, int)
    for a, b in zip(bounds[:-1], bounds[1:]):  # loop over clusters of competing candidates
        sel = order[a:b]
        ci, cj, cw = ii[sel], jj[sel], w[sel]
        ud, di = np.unique(ci, return_inverse=True)
        ur, rj = np.unique(cj, return_inverse=True)
        # 2 per pair makes every extra pair outweigh any weight gain (weights are in (0, 1]);
        # the small rank term prefers earlier detections among equal weights
        rank = di / max(ud.size, 1)
        gain = np.zeros((ud.size, ur.size))
        gain[di, rj] = 2.0 + cw - _TIE * rank
        rows, cols = linear_sum_assignment(gain, maximize=True)
        ok = gain[rows, cols] > 0
        pairs += [(int(ud[r]), int(ur[c])) for r, c in zip(rows[ok], cols[ok])]
    return pairs


def _col(df: pd.DataFrame, name: str, idx: np.ndarray) -> np.ndarray:
    if name not in df.columns or idx.size == 0:
        return np.full(idx.size, pd.NA, dtype=object)
    return df[name].astype("string").to_numpy(dtype=object)[idx]


def match_events(
    detected: pd.DataFrame, reference: pd.DataFrame, *, rule: MatchRule | None = None, by: str | None = None
) -> pd.DataFrame:
    """Match ``detected`` to ``reference`` one-to-one (rule: module docstring; default IoU >= 0.5).

    Both tables need ``onset`` and ``duration`` (s); ``channel`` is copied when present. With
    ``by``, only events whose ``by`` values are equal are paired (rows with a missing value
    pair with nothing). Returns one row per match, miss and false detection (``PAIR_COLUMNS``),
    sorted by time; ``detected_index``/``reference_index`` are row positions in the inputs.
    """
    rule = rule or MatchRule()
    d = detected.reset_index(drop=True)
    r = reference.reset_index(drop=True)
    d_on, d_du = _intervals(d)
    r_on, r_du = _intervals(r)
    if by is None:
        groups = [(np.arange(len(d)), np.arange(len(r)))]
    else:
        dk = d[by].astype("string") if by in d.columns else pd.Series(pd.NA, index=d.index, dtype="string")
        rk = r[by].astype("string") if by in r.columns else pd.Series(pd.NA, index=r.index, dtype="string")
        keys = pd.unique(pd.concat([dk, rk]).dropna())
        groups = [
            (np.flatnonzero((dk == k).fillna(False).to_numpy()), np.flatnonzero((rk == k).fillna(False).to_numpy()))
            for k in keys
        ]
    pairs: list[tuple[int, int]] = []
    for di, ri in groups:
        if di.size == 0 or ri.size == 0:
            continue
        ii, jj, w = _candidates(d_on[di], d_du[di], r_on[ri], r_du[ri], rule)
        pairs += [(int(di[i]), int(ri[j])) for i, j in _assign(ii, jj, w, di.size, ri.size)]
    return _pair_table(d, r, d_on, d_du, r_on, r_du, pairs)


def _pair_table(
    d: pd.DataFrame,
    r: pd.DataFrame,
    d_on: np.ndarray,
    d_du: np.ndarray,
    r_on: np.ndarray,
    r_du: np.ndarray,
    pairs: list[tuple[int, int]],
) -> pd.DataFrame:
    pi = np.array([p[0] for p in pairs], dtype=np.int64)
    pj = np.array([p[1] for p in pairs], dtype=np.int64)
    miss = np.setdiff1d(np.arange(len(r)), pj)
    fals = np.setdiff1d(np.arange(len(d)), pi)
    n_m, n_miss, n_f = pi.size, miss.size, fals.size
    di = np.r_[pi, np.full(n_miss, -1), fals]
    rj = np.r_[pj, miss, np.full(n_f, -1)]
    has_d, has_r = di >= 0, rj >= 0
    don = np.where(has_d, d_on[np.clip(di, 0, None)] if len(d) else np.nan, np.nan)
    ddu = np.where(has_d, d_du[np.clip(di, 0, None)] if len(d) else np.nan, np.nan)
    ron = np.where(has_r, r_on[np.clip(rj, 0, None)] if len(r) else np.nan, np.nan)
    rdu = np.where(has_r, r_du[np.clip(rj, 0, None)] if len(r) else np.nan, np.nan)
    dch = np.full(di.size, pd.NA, dtype=object)
    rch = np.full(di.size, pd.NA, dtype=object)
    dch[has_d] = _col(d, "channel", di[has_d])
    rch[has_r] = _col(r, "channel", rj[has_r])
    both = has_d & has_r
    iou = np.full(di.size, np.nan)
    iou[both] = _iou(don[both], don[both] + ddu[both], ron[both], ron[both] + rdu[both])
    out = pd.DataFrame(
        {
            "outcome": pd.array(["match"] * n_m + ["miss"] * n_miss + ["false_detection"] * n_f, dtype="string"),
            "detected_index": pd.array(np.where(has_d, di, 0), dtype="Int64"),
            "reference_index": pd.array(np.where(has_r, rj, 0), dtype="Int64"),
            "detected_onset": don,
            "detected_duration": ddu,
            "detected_channel": pd.array(dch, dtype="string"),
            "reference_onset": ron,
            "reference_duration": rdu,
            "reference_channel": pd.array(rch, dtype="string"),
            "iou": iou,
            "onset_diff_s": np.where(both, don - ron, np.nan),
            "offset_diff_s": np.where(both, (don + ddu) - (ron + rdu), np.nan),
        }
    )
    out.loc[~has_d, "detected_index"] = pd.NA
    out.loc[~has_r, "reference_index"] = pd.NA
    t = np.where(has_r, ron, don)
    return out.iloc[np.lexsort((np.where(has_d, don, np.inf), t))].reset_index(drop=True)


def summarize_pairs(pairs: pd.DataFrame) -> dict[str, Any]:
    """Counts, precision/recall/F1 (None when undefined; all three None without reference
    events, see :func:`somnomyo.validate.stats.prf`) and the onset/offset bias of the matches."""
    oc = pairs["outcome"]
    tp, fn, fp = int((oc == "match").sum()), int((oc == "miss").sum()), int((oc == "false_detection").sum())
    out: dict[str, Any] = {"n_reference": tp + fn, "n_detected": tp + fp, "tp": tp, "fn": fn, "fp": fp}
    out.update(prf(tp=tp, fp=fp, fn=fn))
    m = pairs[oc == "match"]
    for name in ("onset", "offset"):
        med, iqr = median_iqr(m[f"{name}_diff_s"].to_numpy(dtype=float))
        out[f"{name}_diff_median_s"] = med
        out[f"{name}_diff_iqr_s"] = iqr
    return out
