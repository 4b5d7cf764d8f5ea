"""JSON forms of the tables a step keeps for rescoring (floats written by ``json`` round-trip exactly)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def _num(v: Any) -> float | None:
    f = float(v)
    return f if math.isfinite(f) else None


def intervals_to_json(df: pd.DataFrame | None) -> dict[str, list[Any]]:
    """An interval table (``onset``, ``duration``, optional ``reason``) as columns of plain lists."""
    if df is None or len(df) == 0:
        return {"onset": [], "duration": [], "reason": []}
    reason = (
        df["reason"].astype("object").where(df["reason"].notna(), None).tolist()
        if "reason" in df.columns
        else [None] * len(df)
    )
    return {
        "onset": [float(v) for v in df["onset"].to_numpy(dtype=float)],
        "duration": [float(v) for v in df["duration"].to_numpy(dtype=float)],
        "reason": [None if r is None else str(r) for r in reason],
    }


def intervals_from_json(d: dict[str, list[Any]] | None) -> pd.DataFrame:
    """The table :func:`intervals_to_json` wrote (columns ``onset``, ``duration``, ``reason``)."""
    d = d or {}
    on = d.get("onset", [])
    return pd.DataFrame(
        {
            "onset": np.asarray(on, dtype=float),
            "duration": np.asarray(d.get("duration", []), dtype=float),
            "reason": pd.array(d.get("reason", [None] * len(on)), dtype="string"),
        }
    )


def floats(values: Any) -> list[float | None]:
    """Plain floats (NaN -> None) of an array."""
    return [_num(v) for v in np.asarray(values, dtype=float).ravel()]
