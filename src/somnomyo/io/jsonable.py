"""Plain JSON values from numpy/pandas results (the one converter for summary.json, context.json
and the validation outputs)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["jsonable"]


def jsonable(obj: Any) -> Any:
    """Convert numpy/pandas scalars and containers into plain JSON types.

    Dicts get string keys; lists, tuples, sets and arrays become lists; numpy booleans, integers
    and floats become Python ones; a non-finite float, ``pd.NA`` and ``pd.NaT`` become ``None``
    (JSON has no NaN); dates become ISO 8601 text and paths strings. Anything else is returned as
    it is.
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, (dt.datetime, dt.date)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if obj is pd.NA or obj is pd.NaT:
        return None
    return obj
