"""Scoring helpers shared by the detectors' summaries: the stage of each event, scorable hours
per stage (the denominators), events per hour of each stage, and JSON-safe numbers.

Unscorable time is given as spans ``(starts, ends)`` (:mod:`somnomyo.signal.intervals`); an epoch
overlapping unscorable time is left out of every denominator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from somnomyo.io.annotations import NREM_STAGES, SLEEP_STAGES, STAGES, Hypnogram
from somnomyo.signal.intervals import Spans, overlaps_any


def stages_at(onsets: np.ndarray, hypnogram: Hypnogram | None) -> np.ndarray:
    """Stage at each onset; ``UNS`` everywhere without a hypnogram."""
    onsets = np.asarray(onsets, dtype=float)
    if hypnogram is None:
        return np.full(onsets.shape, "UNS", dtype="<U3")
    return hypnogram.stage_at(onsets)


def scorable_epochs(hypnogram: Hypnogram, unscorable: Spans) -> np.ndarray:
    """Per epoch: True unless the epoch overlaps an unscorable interval."""
    start = hypnogram.start + np.arange(hypnogram.n_epochs) * hypnogram.epoch_s
    return ~overlaps_any(start, start + hypnogram.epoch_s - 1e-9, *unscorable)


def stage_hours(hypnogram: Hypnogram | None, duration_s: float, unscorable: Spans) -> dict[str, float]:
    """Scorable hours per stage, plus ``sleep`` (TST) and ``nrem``; without a hypnogram all is UNS."""
    if hypnogram is None:
        out = {s: 0.0 for s in STAGES}
        starts, ends = unscorable
        bad = float(np.clip(ends - starts, 0, None).sum()) if starts.size else 0.0
        out["UNS"] = max(duration_s - bad, 0.0) / 3600.0
    else:
        ok = scorable_epochs(hypnogram, unscorable)
        out = {s: float(((hypnogram.stages == s) & ok).sum() * hypnogram.epoch_s / 3600.0) for s in STAGES}
    out["sleep"] = sum(out[s] for s in SLEEP_STAGES)
    out["nrem"] = sum(out[s] for s in NREM_STAGES)
    return out


def per_hour(count: int | float, hours: float) -> float | None:
    """``count / hours``, or None when no time (JSON null)."""
    return None if hours <= 0 else float(count) / hours


def index_by_stage(stages: Iterable[str], hours: Mapping[str, float]) -> dict[str, float | None]:
    """Events per hour of each stage (W, N1, N2, N3, R) plus ``sleep`` (per TST hour) and ``nrem``."""
    st = pd.Series(list(stages), dtype="object")
    counts = st.value_counts().to_dict()
    out: dict[str, float | None] = {s: per_hour(counts.get(s, 0), hours[s]) for s in STAGES if s != "UNS"}
    out["sleep"] = per_hour(sum(counts.get(s, 0) for s in SLEEP_STAGES), hours["sleep"])
    out["nrem"] = per_hour(sum(counts.get(s, 0) for s in NREM_STAGES), hours["nrem"])
    if hours.get("UNS", 0) > 0 and not any(hours[s] for s in STAGES if s != "UNS"):
        out["UNS"] = per_hour(counts.get("UNS", 0), hours["UNS"])
    return out


def json_float(x: Any) -> float | None:
    """Plain float, or None for NaN/None (JSON null)."""
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if not np.isfinite(v) else v
