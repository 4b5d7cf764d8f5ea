"""Cohort tables: one row per night (``nights.parquet``/``nights.csv``) and every event (``events.parquet``).

A night's row is built from its ``summary.json`` (see :func:`flatten_summary`): every scalar
of every block, flattened as ``<block>.<key>`` (``plm.plms_index``, ``stages.counts.N2``,
``quality.leg_left.fraction_scorable``, ...). Rows are sorted by id and columns ordered
deterministically, so a rerun gives identical tables. Columns in :data:`RUN_COLUMNS`
(timings, worker, memory) describe how a night was computed, not what was found.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from somnomyo.events import COLUMNS, empty_events, read_events_tsv
from somnomyo.io.atomic import atomic_path

#: Leading columns of ``nights.csv``, in order.
CORE_COLUMNS = ("id", "status", "reason", "edf", "annotations", "hypnogram", "standard", "n_events")
#: How a night was computed (vary between runs; leave them out when comparing results).
RUN_COLUMNS = ("time.score_s", "time.write_s", "time.total_s", "worker", "peak_rss_mib")
#: Summary blocks flattened first (the rest follow alphabetically).
BLOCK_ORDER = ("plm", "fragmentary_myoclonus", "myoclonus")
#: Summary blocks not flattened (``settings`` is summarized by the ``standard`` column).
SKIP_BLOCKS = ("settings", "somnomyo_version")
STATUS_OK = "ok"
STATUS_FAILED = "failed"


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, bool, int, float, np.generic))


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)
    elif isinstance(value, (list, tuple)):
        out[f"{prefix}.n"] = len(value)
        if value and all(isinstance(v, str) for v in value):
            out[prefix] = " | ".join(value)
    elif _scalar(value):
        out[prefix] = value.item() if isinstance(value, np.generic) else value


def _quality_by_role(quality: Mapping[str, Any]) -> dict[str, Any]:
    """Key the per-channel quality block by channel role where the role is unique (else by label)."""
    channels = quality.get("channels")
    if not isinstance(channels, Mapping):
        return dict(quality)
    roles = [c.get("role") for c in channels.values() if isinstance(c, Mapping)]
    keyed: dict[str, Any] = {}
    for label, block in channels.items():
        role = block.get("role") if isinstance(block, Mapping) else None
        name = role if role and roles.count(role) == 1 else str(label)
        keyed[name] = {k: v for k, v in block.items() if k not in ("role",)} if isinstance(block, Mapping) else block
    rest = {k: v for k, v in quality.items() if k != "channels"}
    return {**rest, **keyed}


def flatten_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten a night's ``summary.json`` into scalar columns ``<block>.<key>[.<subkey>]``.

    Every list gives its length (``recording.gaps.n``, ``warnings.n``); a list of strings is
    also joined with ``" | "`` (``warnings``, ``annotations.sources``). The ``settings`` block is left out (its
    standard is the row's ``standard`` column; the full settings stay in summary.json).
    """
    out: dict[str, Any] = {}
    for block, value in summary.items():
        if block in SKIP_BLOCKS:
            continue
        if block == "quality" and isinstance(value, Mapping):
            value = _quality_by_role(value)
        if block == "channels" and isinstance(value, Mapping) and isinstance(value.get("roles"), Mapping):
            value = {
                "roles": {r: labs for r, labs in value["roles"].items() if labs},
                "overridden": value.get("overridden", []),
            }
        _flatten(block, value, out)
    return out


def _column_order(columns: Iterable[str], extras: Iterable[str]) -> list[str]:
    cols = list(dict.fromkeys(columns))
    extra = [c for c in dict.fromkeys(extras) if c in cols and c not in CORE_COLUMNS and c not in RUN_COLUMNS]
    fixed = set(CORE_COLUMNS) | set(RUN_COLUMNS) | set(extra)

    def rank(c: str) -> tuple[int, str]:
        block = c.split(".", 1)[0]
        return (BLOCK_ORDER.index(block) if block in BLOCK_ORDER else len(BLOCK_ORDER), c)

    flat = sorted((c for c in cols if c not in fixed), key=rank)
    return [c for c in CORE_COLUMNS if c in cols] + extra + flat + [c for c in RUN_COLUMNS if c in cols]


def _coerce(col: pd.Series) -> pd.Series:
    """One Arrow-friendly dtype per column: boolean, Int64, float64 or string (never mixed objects)."""
    if col.dtype != object:
        return col
    vals = col.dropna()
    if len(vals) == 0:
        return col.astype("string")
    if all(isinstance(v, (bool, np.bool_)) for v in vals):
        return col.astype("boolean")
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in vals):
        return col.astype("Int64")
    if all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)) for v in vals):
        return col.astype("float64")
    return col.map(lambda v: v if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)).astype("string")


def nights_frame(rows: Iterable[Mapping[str, Any]], *, extras: Iterable[str] = ()) -> pd.DataFrame:
    """The ``nights`` table: one row per night, sorted by id, columns in a fixed order.

    ``extras`` are manifest columns (``age``, ...) placed right after the core columns.
    """
    rows = sorted(rows, key=lambda r: str(r["id"]))
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in ("id", "status", "reason", "edf")})
    df = pd.DataFrame.from_records([dict(r) for r in rows])
    df = df[_column_order(df.columns, extras)]
    for c in df.columns:
        df[c] = _coerce(df[c])
    return df.reset_index(drop=True)


def _typed_extra(col: pd.Series) -> pd.Series:
    """Detector-specific event columns come back from TSV as text: make them boolean/float where they are."""
    vals = col.dropna()
    if len(vals) and set(vals.unique()) <= {"true", "false"}:
        return col.map({"true": True, "false": False}).astype("boolean")
    num = pd.to_numeric(col, errors="coerce")
    if len(vals) and num.notna().sum() == len(vals):
        return num.astype("float64")
    return col.astype("string")


def collect_events(events_files: Mapping[str, str | os.PathLike[str]]) -> pd.DataFrame:
    """All nights' events in one table with a leading ``id`` column, sorted by id then onset.

    ``events_files`` maps night id -> its ``events.tsv``. Standard columns keep their dtypes
    (``somnomyo.events.COLUMNS``); extra detector columns are typed across all nights at once.
    """
    parts = []
    for night_id in sorted(events_files):
        ev = read_events_tsv(events_files[night_id])
        if len(ev):
            ev.insert(0, "id", night_id)
            parts.append(ev)
    if not parts:
        out = empty_events()
        out.insert(0, "id", pd.Series(dtype="string"))
        return out
    df = pd.concat(parts, ignore_index=True)
    df["id"] = df["id"].astype("string")
    for c in df.columns:
        if c != "id" and c not in COLUMNS:
            df[c] = _typed_extra(df[c].astype(object).where(df[c].notna(), None))
    return df


def write_table(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``df`` as Parquet or CSV (by suffix) atomically: temporary name, then rename."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False)
    return path


def read_nights(out_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Read ``DIR/nights.parquet`` back."""
    return pd.read_parquet(Path(out_dir) / "nights.parquet")
