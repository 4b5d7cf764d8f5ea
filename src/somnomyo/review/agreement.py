"""Agreement between two review layers on the automatic events (docs/review.md, GET /api/agreement).

Per automatic event, each layer's status (unreviewed, accepted, rejected; the automatic layer
counts every event as accepted). Over the events both layers decided, the observed agreement and
Cohen's kappa (Cohen J., "A coefficient of agreement for nominal scales", Educ Psychol Meas
1960;20:37-46): kappa = (p_o - p_e) / (1 - p_e), p_e from each layer's marginal proportions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from somnomyo.review.layer import Layer

__all__ = ["agreement", "cohen_kappa"]

_DECIDED = ("accepted", "rejected")
_ROWS = ("accepted", "rejected", "unreviewed")


def cohen_kappa(
    a: Sequence[str] | np.ndarray, b: Sequence[str] | np.ndarray, *, categories: Sequence[str] = _DECIDED
) -> float | None:
    """Cohen's kappa of two raters' labels (same length); None when undefined (no items, or
    chance agreement p_e = 1, e.g. both raters gave every item the same label)."""
    xa, xb = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    if xa.size == 0:
        return None
    po = float(np.mean(xa == xb))
    pe = float(sum(np.mean(xa == c) * np.mean(xb == c) for c in categories))
    if pe >= 1.0:
        return None
    return (po - pe) / (1.0 - pe)


def _statuses(layer: Layer) -> np.ndarray:
    if layer.slug == "automatic":
        return np.full(len(layer.base), "accepted", dtype=object)
    return layer.status_array()


def _added(layer: Layer) -> list[dict[str, Any]]:
    return [a for a in layer.added.values() if a.get("status") == "added"]


def _overlap(x: dict[str, Any], y: dict[str, Any]) -> bool:
    return (
        x["channel"] == y["channel"]
        and x["trial_type"] == y["trial_type"]
        and x["onset"] < y["onset"] + y["duration"]
        and y["onset"] < x["onset"] + x["duration"]
    )


def agreement(a: Layer, b: Layer) -> dict[str, Any]:
    """The agreement block between layers ``a`` and ``b`` (docs/review.md)."""
    sa, sb = _statuses(a), _statuses(b)
    table = {ra: {rb: int(np.sum((sa == ra) & (sb == rb))) for rb in _ROWS} for ra in _ROWS}
    both = np.isin(sa, _DECIDED) & np.isin(sb, _DECIDED)
    n_both = int(both.sum())
    n_agree = int(np.sum(both & (sa == sb)))
    added_a, added_b = _added(a), _added(b)
    adj_a = {e for e in a.overrides if a.adjusted(e)}
    adj_b = {e for e in b.overrides if b.adjusted(e)}
    return {
        "a": a.slug,
        "b": b.slug,
        "n_events": int(len(a.base)),
        "table": table,
        "n_both_reviewed": n_both,
        "n_agree": n_agree,
        "percent_agreement": (100.0 * n_agree / n_both) if n_both else None,
        "kappa": cohen_kappa(sa[both], sb[both]),
        "added": {
            "a": len(added_a),
            "b": len(added_b),
            "matched": sum(1 for x in added_a if any(_overlap(x, y) for y in added_b)),
        },
        "adjusted": {"a": len(adj_a), "b": len(adj_b), "both": len(adj_a & adj_b)},
    }
