"""The one event table every detector returns (BIDS ``events.tsv`` shaped).

Columns, in order (``COLUMNS`` holds dtype and description of each):

=================  ========  ===============================================================
column             dtype     meaning
=================  ========  ===============================================================
onset              float64   seconds from recording start
duration           float64   seconds
trial_type         string    event kind, one of ``TRIAL_TYPES``
channel            string    EDF label of the channel (``"A,B"`` when several)
side               string    ``left`` / ``right`` / ``both`` (one bipolar legs channel) / ``bilateral`` / empty
stage              string    W, N1, N2, N3, R or UNS at onset
clm_id             Int64     id shared by the LMs combined into one CLM; empty if not a CLM
periodic           boolean   part of a PLM series
series_id          Int64     PLM series id; empty if not periodic
respiratory        boolean   respiratory-related (WASM 2016 / AASM window)
arousal            boolean   associated with an arousal (overlap or < 0.5 s)
amplitude_uv       float64   peak envelope amplitude above baseline, µV
muscles            string    comma-separated roles/labels involved (jerks)
extent             string    focal / multifocal / generalized (jerks)
lag_ms             string    comma-separated onset lags per muscle, ms (jerks)
=================  ========  ===============================================================

Booleans are written ``true``/``false`` and missing values ``n/a`` in TSV (BIDS).
An empty table still has every column with its dtype.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TRIAL_TYPES = (
    "leg_movement",
    "fragmentary_myoclonus",
    "myoclonic_jerk",
    "hypnic_jerk",
    "jerk_cluster",
    "negative_myoclonus",
    "phasic_emg",
)

# name -> (pandas dtype, description)
COLUMNS: dict[str, tuple[str, str]] = {
    "onset": ("float64", "Onset of the event in seconds from the start of the recording."),
    "duration": ("float64", "Duration of the event in seconds."),
    "trial_type": ("string", "Kind of event: " + ", ".join(TRIAL_TYPES) + "."),
    "channel": ("string", "EDF label(s) of the channel(s) the event was detected on."),
    "side": (
        "string",
        "left, right, both (a single bipolar legs channel) or bilateral for limb events; empty otherwise.",
    ),
    "stage": ("string", "Sleep stage at the event onset (W, N1, N2, N3, R, UNS)."),
    "clm_id": (
        "Int64",
        "Candidate-LM id shared by the monolateral LMs combined into one CLM; empty if not part of a CLM.",
    ),
    "periodic": ("boolean", "True if the event belongs to a PLM series."),
    "series_id": ("Int64", "PLM series id; empty if not periodic."),
    "respiratory": ("boolean", "True if respiratory-related (WASM 2016 or AASM window, per settings)."),
    "arousal": ("boolean", "True if associated with an arousal (overlap or < 0.5 s gap)."),
    "amplitude_uv": ("float64", "Peak envelope amplitude above the resting baseline, in microvolts."),
    "muscles": ("string", "Comma-separated muscles (channel roles) involved, for jerks."),
    "extent": ("string", "focal, multifocal or generalized, for jerks."),
    "lag_ms": ("string", "Comma-separated onset lags of each muscle after the first, in milliseconds."),
}
BOOL_COLUMNS = tuple(k for k, (t, _) in COLUMNS.items() if t == "boolean")


_EMPTY: list[pd.DataFrame] = []  # the empty table, made once (copies are handed out)


def empty_events() -> pd.DataFrame:
    """An empty event table with every column and dtype."""
    if not _EMPTY:
        _EMPTY.append(pd.DataFrame({k: pd.Series(dtype=t) for k, (t, _) in COLUMNS.items()}))
    return _EMPTY[0].copy()


def _missing(dtype: str, n: int) -> Any:
    """A column of ``n`` missing values of ``dtype``."""
    return np.full(n, np.nan) if dtype == "float64" else pd.array([pd.NA] * n, dtype=dtype)


def make_events(rows: pd.DataFrame | Iterable[Mapping[str, Any]] | None = None, **extra_columns: str) -> pd.DataFrame:
    """Coerce ``rows`` into the standard table: add missing columns, order, set dtypes.

    Columns not in ``COLUMNS`` are kept after the standard ones (their dtype may
    be given in ``extra_columns``). Rows are sorted by onset (then channel; stable).
    """
    if rows is None:
        return empty_events()
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    n = len(df)
    data: dict[str, Any] = {}  # built column by column, one DataFrame at the end
    for k, (t, _) in COLUMNS.items():
        if k not in df.columns:
            data[k] = _missing(t, n)
        else:
            col = df[k]
            data[k] = (col if str(col.dtype) == t else col.astype(t)).array
    for k in df.columns:
        if k not in COLUMNS:
            col = df[k]
            data[k] = (col.astype(extra_columns[k]) if k in extra_columns else col).array
    out = pd.DataFrame(data)
    onset = out["onset"].to_numpy()
    if n > 1 and not (np.isfinite(onset).all() and (np.diff(onset) > 0).all()):  # else already in order
        order = onset_order(out)
        if order is None:
            out = out.sort_values(["onset", "channel"], kind="stable", na_position="last")
        else:
            out = out.take(order)
        out = out.reset_index(drop=True)
    return out


def onset_order(table: pd.DataFrame) -> np.ndarray | None:
    """The row order of ``table.sort_values(["onset", "channel"], kind="stable",
    na_position="last")`` (onset, then channel, missing channels last, ties kept in row order),
    found with NumPy's stable sorts; None when an onset is not finite (the caller sorts with
    pandas). Equal onsets are rare, so the channels are compared only where there are some."""
    onset = table["onset"].to_numpy(dtype=float)
    if not np.isfinite(onset).all():
        return None
    order = np.argsort(onset, kind="stable")
    s = onset[order]
    if not (s[1:] == s[:-1]).any():
        return order
    codes, _ = pd.factorize(table["channel"], sort=True, use_na_sentinel=True)
    codes = np.where(codes < 0, np.iinfo(np.int64).max, codes.astype(np.int64))  # missing last
    return np.lexsort((codes, onset))


def concat_events(tables: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate event tables into one standard table sorted by onset."""
    tables = [t for t in tables if t is not None and len(t)]
    if not tables:
        return empty_events()
    return make_events(pd.concat(tables, ignore_index=True))


def _tsv_value(v: Any) -> Any:
    """BIDS TSV cell: ``n/a`` for missing, ``true``/``false`` for booleans, floats with 4 decimals."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return "n/a"
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)):
        return "n/a" if not np.isfinite(v) else f"{float(v):.4f}"
    if isinstance(v, str) and v == "":
        return "n/a"
    return v


def _tsv_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = make_events(df).astype(object)
    for c in out.columns:
        out[c] = [_tsv_value(v) for v in out[c]]
    return out


def write_events_tsv(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write the table as BIDS TSV (atomically: temporary name, then rename)."""
    from somnomyo.io.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        _tsv_frame(df).to_csv(tmp, sep="\t", index=False)
    return path


def read_events_tsv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a table written by :func:`write_events_tsv` back with standard dtypes."""
    df = pd.read_csv(path, sep="\t", na_values=["n/a"], keep_default_na=False, dtype=str)
    for c in df.columns:
        t = COLUMNS.get(c, (None,))[0]
        if t == "boolean":
            df[c] = df[c].map({"true": True, "false": False}).astype("boolean")
        elif t in ("float64", "Int64"):
            df[c] = pd.to_numeric(df[c]).astype(t)
    return make_events(df)
