"""Clusters and series of jerks (BSMI-like 1-5 Hz clusters; epileptic-spasm series).

Sources (docs/rules.md §9; ICSD-3, Fernandez-Alvarez, ILAE): benign sleep myoclonus of infancy shows
repetitive jerks in clusters at **1-5 Hz** (2-3 per second) over several seconds;
epileptic spasms come in clusters every **5-30 s** [UNCONFIRMED interval]. Features to
compute: inter-jerk interval distribution, rhythmicity (CV of intervals, spectral
peak), cluster length.

Implementation choices (settings ``cluster_*``): consecutive jerk onsets whose interval
lies in the mode's range (``myoclonic``: 0 < interval <= ``cluster_max_interval_s``;
``spasm``: ``cluster_spasm_min_interval_s`` <= interval <= ``cluster_spasm_max_interval_s``)
chain into a series; a series of at least ``cluster_min_jerks`` (3) jerks is a cluster.
Per cluster: ``rate_hz`` = 1 / median interval, ``cv`` = SD / mean of the intervals,
``peak_hz`` = frequency in [0.5, 1.5] x ``rate_hz`` where the jerk train's power
``|sum_k exp(-2 pi i f t_k)|^2`` peaks (a periodogram of the onset times).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import numpy as np
import pandas as pd

from somnomyo._logging import logger, verbose
from somnomyo.detect.jerks import JerkResult
from somnomyo.errors import check_choice
from somnomyo.events import make_events
from somnomyo.result import Result
from somnomyo.score.helpers import json_float, per_hour
from somnomyo.score.series import find_series, series_bounds
from somnomyo.settings import Settings, get_settings
from somnomyo.settings_myoclonus import CLUSTER_MODES

_N_FREQ = 512


def interval_range(settings: Settings) -> tuple[float, float]:
    """(min, max) inter-onset interval of a series for ``cluster_mode``."""
    m = settings.myoclonus
    check_choice("cluster_mode", m.cluster_mode, CLUSTER_MODES)
    if m.cluster_mode == "spasm":
        return m.cluster_spasm_min_interval_s, m.cluster_spasm_max_interval_s
    return 0.0, m.cluster_max_interval_s


def cluster_bounds(
    onsets: np.ndarray, *, min_interval_s: float, max_interval_s: float, min_events: int
) -> tuple[np.ndarray, np.ndarray]:
    """First and last (inclusive) index of each run of sorted ``onsets`` whose successive
    intervals are all in ``[min_interval_s, max_interval_s]`` (``> 0``), with >= ``min_events``
    (and at least two: a cluster is a chain of intervals); :func:`somnomyo.score.series.find_series`."""
    _, _, series = find_series(
        onsets,
        min_interval_s=min_interval_s,
        max_interval_s=max_interval_s,
        min_count=max(min_events, 2),
        positive_only=True,
    )
    return series_bounds(series)


def spectral_peak_hz(times: np.ndarray, *, f_lo: float, f_hi: float) -> float:
    """Frequency in ``[f_lo, f_hi]`` maximizing ``|sum exp(-2 pi i f t_k)|^2`` of an event train."""
    t = np.asarray(times, dtype=float) - float(times[0])
    f = np.linspace(f_lo, f_hi, _N_FREQ)
    ph = np.exp(-2j * np.pi * np.outer(f, t))
    p = np.abs(ph.sum(axis=1)) ** 2
    return float(f[int(np.argmax(p))])


class ClusterSummary(TypedDict):
    """Block ``clusters`` of summary.json."""

    mode: str
    count: int
    index: float | None
    jerks_in_clusters: int
    fraction_of_jerks_in_clusters: float | None
    median_rate_hz: float | None
    median_peak_hz: float | None
    median_cv: float | None
    median_duration_s: float | None
    max_duration_s: float | None
    by_stage: dict[str, int]


@dataclass
class ClusterResult(Result):
    """Jerk clusters (``events``: one row per cluster with ``n_jerks``, ``rate_hz``, ``peak_hz``, ``cv``)."""

    BLOCK = "clusters"
    Summary = ClusterSummary

    events: pd.DataFrame
    settings: Settings
    n_jerks_total: int
    hours: float | None = None

    def summary_block(self) -> ClusterSummary:
        """JSON-ready block ``clusters``."""
        ev = self.events
        n = len(ev)
        stages = ev["stage"].astype("object").fillna("UNS")
        # the index is per hour of sleep, so it counts the clusters that start in sleep; without
        # sleep stages (every row UNS) it counts them all over the recording's hours
        staged = bool(n) and bool((stages != "UNS").any())
        n_index = int(stages.isin(("N1", "N2", "N3", "R")).sum()) if staged else n
        return {
            "mode": self.settings.myoclonus.cluster_mode,
            "count": int(n),
            "index": json_float(per_hour(n_index, self.hours)) if self.hours is not None else None,
            "jerks_in_clusters": int(ev["n_jerks"].sum()) if n else 0,
            "fraction_of_jerks_in_clusters": (
                json_float(ev["n_jerks"].sum() / self.n_jerks_total) if self.n_jerks_total else None
            ),
            "median_rate_hz": json_float(ev["rate_hz"].median()) if n else None,
            "median_peak_hz": json_float(ev["peak_hz"].median()) if n else None,
            "median_cv": json_float(ev["cv"].median()) if n else None,
            "median_duration_s": json_float(ev["duration"].median()) if n else None,
            "max_duration_s": json_float(ev["duration"].max()) if n else None,
            "by_stage": (
                {str(k): int(v) for k, v in ev["stage"].astype("object").fillna("UNS").value_counts().items()}
                if n
                else {}
            ),
        }


@verbose
def detect_clusters(
    jerks: JerkResult | pd.DataFrame,
    *,
    settings: Settings | None = None,
    hours: float | None = None,
    verbose: bool | str | int | None = None,
) -> ClusterResult:
    """Clusters of jerks (a :class:`JerkResult` or any event table with ``onset``/``duration``).

    ``hours``: time base for the cluster index (default: TST of a ``JerkResult``, if any).
    """
    settings = settings or get_settings()
    lo, hi = interval_range(settings)
    if isinstance(jerks, JerkResult):
        if hours is None:
            hours = jerks.hours["sleep"] if jerks.has_hypnogram else jerks.hours.get("UNS")
        ev = jerks.events
    else:
        ev = jerks
    ev = ev.sort_values("onset", kind="stable").reset_index(drop=True)
    on = ev["onset"].to_numpy(dtype=float)
    first, last = cluster_bounds(
        on, min_interval_s=lo, max_interval_s=hi, min_events=settings.myoclonus.cluster_min_jerks
    )
    rows = []
    durs = ev["duration"].to_numpy(dtype=float)
    chan_l = ev["channel"].astype(str).tolist()
    mus_l = ev["muscles"].astype(str).tolist() if "muscles" in ev else [""] * len(ev)
    stage_l = ev["stage"].astype("object").tolist() if "stage" in ev else [pd.NA] * len(ev)
    amp = ev["amplitude_uv"].to_numpy(dtype=float) if "amplitude_uv" in ev else np.full(len(ev), np.nan)
    ar = ev["arousal"].astype("boolean") if "arousal" in ev else pd.Series(pd.NA, index=ev.index, dtype="boolean")
    ar_known = ar.notna().to_numpy()
    ar_true = ar.fillna(False).to_numpy(dtype=bool)
    for a, b in zip(first, last):  # loop over clusters
        sl = slice(int(a), int(b) + 1)
        t = on[sl]
        d = np.diff(t)
        rate = 1.0 / float(np.median(d))
        chans = sorted({c for s in chan_l[sl] for c in s.split(",")})
        mus = sorted({c for s in mus_l[sl] for c in s.split(",") if c})
        rows.append(
            {
                "onset": t[0],
                "duration": float(np.max(t + durs[sl])) - t[0],
                "trial_type": "jerk_cluster",
                "channel": ",".join(chans),
                "muscles": ",".join(mus),
                "stage": stage_l[int(a)],
                "arousal": bool(ar_true[sl].any()) if ar_known[sl].any() else pd.NA,
                "amplitude_uv": float(np.nanmax(amp[sl])) if np.isfinite(amp[sl]).any() else np.nan,
                "n_jerks": int(b - a + 1),
                "rate_hz": rate,
                "peak_hz": spectral_peak_hz(t, f_lo=0.5 * rate, f_hi=1.5 * rate),
                "cv": float(np.std(d) / np.mean(d)),
            }
        )
    extra = {"n_jerks": "int64", "rate_hz": "float64", "peak_hz": "float64", "cv": "float64"}
    events = (
        make_events(rows, **extra)
        if rows
        else make_events(None).assign(**{k: pd.Series(dtype=v) for k, v in extra.items()})
    )
    logger.info("clusters (%s): %d from %d jerks", settings.myoclonus.cluster_mode, len(events), len(ev))
    return ClusterResult(events=events, settings=settings, n_jerks_total=int(len(ev)), hours=hours)
