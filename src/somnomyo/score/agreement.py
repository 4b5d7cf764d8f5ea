"""Event-level agreement between two event lists (detections vs. a reference), and Cohen's kappa.

Two events match when their temporal intersection-over-union (IoU) reaches a
threshold (default 0.5, the usual criterion in LM-detection papers, e.g.
Carvelli et al. 2020). Matching is one-to-one, best IoU first.
:func:`cohen_kappa` is the kappa of a confusion table (used for sleep stages and for
index categories in ``somnomyo validate``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Agreement:
    """Counts and scores of an event matching; ``pairs`` holds (detected, reference) row positions."""

    tp: int
    fp: int
    fn: int
    pairs: tuple[tuple[int, int], ...]

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if (self.tp + self.fp) else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if (self.tp + self.fn) else None

    @property
    def f1(self) -> float | None:
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else None

    def to_dict(self) -> dict[str, float | int | None]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


def iou_matrix(a_on: np.ndarray, a_dur: np.ndarray, b_on: np.ndarray, b_dur: np.ndarray) -> np.ndarray:
    """Temporal IoU of every pair (rows: a, columns: b)."""
    a0, a1 = a_on[:, None], (a_on + a_dur)[:, None]
    b0, b1 = b_on[None, :], (b_on + b_dur)[None, :]
    inter = np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0, None)
    union = np.maximum(a1, b1) - np.minimum(a0, b0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def match_events(
    detected: pd.DataFrame, reference: pd.DataFrame, *, min_iou: float = 0.5, by: str | None = None
) -> Agreement:
    """Match ``detected`` to ``reference`` (both with ``onset``, ``duration``) one-to-one by IoU.

    With ``by`` (e.g. ``"channel"`` or ``"side"``) only events with equal values match.
    """
    d = detected.reset_index(drop=True)
    r = reference.reset_index(drop=True)
    groups = (
        [(d.index.to_numpy(), r.index.to_numpy())]
        if by is None
        else [
            (d.index[d[by] == key].to_numpy(), r.index[r[by] == key].to_numpy())
            for key in pd.unique(pd.concat([d[by], r[by]]).dropna())
        ]
    )
    pairs: list[tuple[int, int]] = []
    for di, ri in groups:
        if di.size == 0 or ri.size == 0:
            continue
        m = iou_matrix(
            d.loc[di, "onset"].to_numpy(float),
            d.loc[di, "duration"].to_numpy(float),
            r.loc[ri, "onset"].to_numpy(float),
            r.loc[ri, "duration"].to_numpy(float),
        )
        cand = np.argwhere(m >= min_iou)
        order = np.argsort(-m[cand[:, 0], cand[:, 1]], kind="stable")
        used_d: set[int] = set()
        used_r: set[int] = set()
        for i, j in cand[order]:
            if i not in used_d and j not in used_r:
                used_d.add(int(i))
                used_r.add(int(j))
                pairs.append((int(di[i]), int(ri[j])))
    tp = len(pairs)
    return Agreement(tp=tp, fp=len(d) - tp, fn=len(r) - tp, pairs=tuple(sorted(pairs)))


def cohen_kappa(confusion: np.ndarray) -> float | None:
    """Cohen's kappa of a square confusion table (rows: one scorer, columns: the other).

    kappa = (p_o - p_e) / (1 - p_e) (Cohen, Educ Psychol Meas 1960), p_o the observed agreement
    (trace / n), p_e the chance agreement from the two marginal distributions. None when the
    table is empty or p_e is 1 (both scorers used one and the same category throughout).
    """
    conf = np.asarray(confusion, dtype=np.int64)
    n = int(conf.sum())
    if n == 0:
        return None
    po = float(np.trace(conf)) / n
    pe = float((conf.sum(axis=1) * conf.sum(axis=0)).sum()) / n**2
    return None if math.isclose(pe, 1.0) else (po - pe) / (1.0 - pe)
