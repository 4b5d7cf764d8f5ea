"""The night overview of GET /api/overview (docs/review.md): hypnogram, event density per kind
and channel, PLM series, arousals, respiratory events, unscorable time, indices, quality flags."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from somnomyo.review.state import _cell

__all__ = ["overview"]


def _intervals(df: pd.DataFrame | None, *, label: bool = False) -> list[list[Any]]:
    if df is None or not len(df):
        return []
    on = df["onset"].to_numpy(dtype=float)
    du = np.nan_to_num(df["duration"].to_numpy(dtype=float))
    if not label:
        return [[_cell(a), _cell(b)] for a, b in zip(on, du)]
    col = "label" if "label" in df.columns else ("reason" if "reason" in df.columns else None)
    texts = df[col].astype(object).tolist() if col else [None] * len(df)
    return [[_cell(a), _cell(b), None if t is None or t is pd.NA else str(t)] for a, b, t in zip(on, du, texts)]


def _density(view: pd.DataFrame, bin_s: float, n_bins: int) -> list[dict[str, Any]]:
    live = view.loc[view["status"].to_numpy(dtype=object) != "rejected"]
    if not len(live):
        return []
    onset = live["onset"].to_numpy(dtype=float)
    b = np.clip((onset // bin_s).astype(np.int64), 0, max(0, n_bins - 1))
    kinds = live["trial_type"].astype(object).to_numpy()
    chans = live["channel"].astype(object).fillna("").to_numpy()
    periodic = live["periodic"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    rows: dict[tuple[str, str], list[int]] = {}
    for i, (k, c) in enumerate(zip(kinds, chans)):  # group rows by (kind, channel part)
        for part in str(c).split(",") if c else [""]:
            rows.setdefault((str(k), part), []).append(i)
    out = []
    for (k, c), idx in sorted(rows.items()):
        ix = np.asarray(idx)
        out.append(
            {
                "trial_type": k,
                "channel": c,
                "counts": np.bincount(b[ix], minlength=n_bins).tolist(),
                "periodic": np.bincount(b[ix], weights=periodic[ix].astype(float), minlength=n_bins)
                .astype(np.int64)
                .tolist(),
            }
        )
    return out


def _series(view: pd.DataFrame) -> list[dict[str, Any]]:
    live = view.loc[(view["status"].to_numpy(dtype=object) != "rejected") & view["series_id"].notna().to_numpy()]
    if not len(live):
        return []
    g = pd.DataFrame(
        {
            "s": live["series_id"].astype("int64").to_numpy(),
            "on": live["onset"].to_numpy(dtype=float),
            "end": live["_end"].to_numpy(dtype=float),
        }
    ).groupby("s")
    agg = g.agg(onset=("on", "min"), end=("end", "max"), n=("on", "size"))
    return [
        {"series_id": int(s), "onset": float(r.onset), "end": float(r.end), "n": int(r.n)} for s, r in agg.iterrows()
    ]


def overview(session: Any, *, bin_s: float | None = None) -> dict[str, Any]:
    """The body of GET /api/overview for ``session`` (a :class:`somnomyo.review.session.ReviewSession`)."""
    ctx = session.context
    hyp = ctx.hypnogram
    duration = float(ctx.duration_s)
    bin_s = float(bin_s or hyp.epoch_s or 30.0)
    n_bins = max(1, int(math.ceil(duration / bin_s)))
    night = session.night
    rec = session.automatic_summary.get("recording") or {}
    ann = ctx.annotations
    channels = (
        session.signals.channels()
        if session.signals is not None
        else [
            {"label": lab, "role": role, "lm": role in ("leg_left", "leg_right", "legs"), "scored": True}
            for lab, role in session.roles.items()
        ]
    )
    return {
        "recording": {
            "start": ctx.start,
            "duration_s": duration,
            "file_type": rec.get("file_type"),
            "path": rec.get("path"),
        },
        "scorer": {"name": session.scorer, "slug": session.slug},
        "standard": ctx.settings.standard,
        "hypnogram": {
            "epoch_s": float(hyp.epoch_s),
            "start": float(getattr(hyp, "start", 0.0)),
            "source": hyp.source,
            "stages": [str(s) for s in hyp.stages],
        },
        "bin_s": bin_s,
        "n_bins": n_bins,
        "density": _density(night.view, bin_s, n_bins),
        "plm_series": _series(night.view),
        "arousals": _intervals(ann.arousals),
        "respiratory": _intervals(ann.respiratory, label=True),
        "lights": {"off": _cell(ann.lights_off), "on": _cell(ann.lights_on)},
        "unscorable": {lab: _intervals(df, label=True) for lab, df in ctx.unscorable.items()},
        "headline": night.headline(),
        "quality": session.automatic_summary.get("quality", {}),
        "warnings": list(session.automatic_summary.get("warnings", [])),
        "channels": channels,
        "kinds": list(session.kinds),
        "editable_kinds": list(getattr(session, "editable_kinds", session.kinds)),
        "events_total": int(len(night.view)),
    }
