"""Time bases, PLM indices, periodicity index and IMI histograms.

Definitions (docs/rules.md §5):

* Time in bed (TIB): lights-off to lights-on when both are annotated, else the whole
  recording. Everything outside TIB, and all unscorable time, is left out of every
  denominator; LMs there are not counted.
* TST: time in sleep epochs (N1, N2, N3, R) within TIB; ``scorable_tst_h`` subtracts the
  unscorable time and is the denominator of every "per hour of sleep" index.
* PLMS index = periodic CLMs in sleep / scorable TST (WASM 2016 §"indices"; AASM). The
  primary analysis excludes respiratory-related CLMs (WASM 2016; MATPLM ``PLMnr``); the
  ``*_including_respiratory`` fields keep them.
* PLMW index = periodic CLMs in wake / wake time. ``plmw_denominator="waso"`` (WASM 2016,
  [UNCONFIRMED]) uses wake within the sleep period and then counts only PLMW within the
  sleep period; ``"wake"`` uses all wake in TIB and all PLMW.
* LM counts are candidates after bilateral combination (one bilateral LM counts once).
  ``lm_count`` is every counted LM (any stage), ``lms_count``/``lmw_count`` those in
  sleep/wake, and ``lm_index = lms_count / scorable TST``. ``mono_lm_count`` counts the
  monolateral LMs before combination.
* ``short_imi_count``: CLMs in sleep whose IMI (primary analysis) is < ``imi_min_s``;
  ``isolated_lm_count``: non-periodic CLMs in sleep without a short IMI (primary analysis).
* Periodicity index (Ferri 2006, definition [UNCONFIRMED]): IMIs that belong to a run of
  >= 3 consecutive IMIs each in [10, 90] s, divided by all IMIs. It and the IMI histograms
  use the IMIs (primary analysis) of the CLMs in sleep, in order.
* IMI histogram: 2-s bins from 0 to 90 s, IMIs > 90 s counted in ``over_max`` (Ferri 2006;
  bin width [UNCONFIRMED]); the log histogram uses log-spaced bins (Ferri's later papers).
* ``plm_count`` (any stage) and ``plm_index_time_in_bed`` (per scorable hour in bed) are
  usable without a hypnogram; ``plm_series_count`` and ``mean_series_length`` (CLMs per
  series) describe the primary analysis, all stages.
* Indices are ``None`` when their denominator is 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from somnomyo.errors import check_choice
from somnomyo.io.annotations import SLEEP_STAGES, Hypnogram
from somnomyo.settings import PLMW_DENOMINATORS, IndexSettings, Settings
from somnomyo.signal.intervals import EPS, interval_difference, interval_intersection, overlap_seconds

REPORT_STAGES = ("N1", "N2", "N3", "R", "W")
SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class TimeBase:
    """Epochs with their scorable seconds inside time in bed.

    ``epoch_start/epoch_end``: epoch bounds (s, clipped to the recording); ``stages``: stage
    of each epoch; ``in_tib_s``: seconds inside TIB; ``scorable_s``: seconds inside TIB and
    not unscorable; ``unscorable``: merged unscorable intervals within TIB; ``scorable``:
    merged TIB-minus-unscorable intervals.
    """

    tib_start: float
    tib_end: float
    epoch_start: np.ndarray
    epoch_end: np.ndarray
    stages: np.ndarray
    in_tib_s: np.ndarray
    scorable_s: np.ndarray
    unscorable: tuple[np.ndarray, np.ndarray]
    scorable: tuple[np.ndarray, np.ndarray]

    @property
    def sleep_mask(self) -> np.ndarray:
        return np.isin(self.stages, SLEEP_STAGES)

    def sleep_period(self) -> tuple[float, float] | None:
        """First sleep epoch start to last sleep epoch end, within TIB; None without sleep."""
        idx = np.flatnonzero(self.sleep_mask & (self.in_tib_s > 0))
        if idx.size == 0:
            return None
        return (max(float(self.epoch_start[idx[0]]), self.tib_start), min(float(self.epoch_end[idx[-1]]), self.tib_end))

    def epoch_in_sleep_period(self) -> np.ndarray:
        sp = self.sleep_period()
        if sp is None:
            return np.zeros(self.stages.size, dtype=bool)
        return (self.epoch_start >= sp[0] - EPS) & (self.epoch_end <= sp[1] + EPS)

    def seconds(self, stages: tuple[str, ...], *, scorable: bool = True, within_sleep_period: bool = False) -> float:
        sel = np.isin(self.stages, stages)
        if within_sleep_period:
            sel &= self.epoch_in_sleep_period()
        vals = self.scorable_s if scorable else self.in_tib_s
        return float(vals[sel].sum())

    def sleep_intervals(self) -> tuple[np.ndarray, np.ndarray]:
        """Merged scorable sleep time (sleep epochs within TIB, minus unscorable)."""
        m = self.sleep_mask
        return interval_intersection(self.epoch_start[m], self.epoch_end[m], *self.scorable)


def time_base(
    *,
    duration_s: float,
    hypnogram: Hypnogram | None,
    lights_off: float | None = None,
    lights_on: float | None = None,
    unscorable: tuple[np.ndarray, np.ndarray] | None = None,
) -> TimeBase:
    """Build the :class:`TimeBase` of a recording (see module docstring for the definitions)."""
    duration_s = max(float(duration_s), 0.0)
    t0 = 0.0 if lights_off is None else min(max(float(lights_off), 0.0), duration_s)
    t1 = duration_s if lights_on is None else min(max(float(lights_on), 0.0), duration_s)
    if t1 <= t0:
        t0, t1 = 0.0, duration_s
    hyp = (
        (hypnogram if hypnogram is not None else Hypnogram.unscored(duration_s)).fit_to(duration_s)
        if duration_s > 0
        else Hypnogram(np.empty(0, dtype="<U3"), source="none")
    )
    es = np.arange(hyp.n_epochs) * hyp.epoch_s
    ee = np.minimum(es + hyp.epoch_s, duration_s)
    in_tib = np.clip(np.minimum(ee, t1) - np.maximum(es, t0), 0.0, None)
    u0, u1 = (np.empty(0), np.empty(0)) if unscorable is None else unscorable
    uns = interval_intersection(u0, u1, [t0], [t1])
    scor = interval_difference([t0], [t1], *uns)
    return TimeBase(
        tib_start=t0,
        tib_end=t1,
        epoch_start=es,
        epoch_end=ee,
        stages=hyp.stages,
        in_tib_s=in_tib,
        scorable_s=overlap_seconds(es, ee, *scor),
        unscorable=uns,
        scorable=scor,
    )


def periodicity_index(imis: object, *, settings: IndexSettings) -> float | None:
    """Periodicity index (Ferri 2006, [UNCONFIRMED] definition from memory).

    Number of IMIs that belong to a run of >= ``periodicity_min_run`` consecutive IMIs each
    within [``periodicity_imi_min_s``, ``periodicity_imi_max_s``], divided by the number of
    IMIs. ``None`` when there are no IMIs. NaN values are dropped first.
    """
    x = np.asarray(imis, dtype=float).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return None
    ok = (x >= settings.periodicity_imi_min_s - EPS) & (x <= settings.periodicity_imi_max_s + EPS)
    run = np.cumsum(np.concatenate([[True], ok[1:] != ok[:-1]]))
    run_len = np.bincount(run)[run]
    return float((ok & (run_len >= settings.periodicity_min_run)).sum() / x.size)


def imi_histogram(imis: object, *, settings: IndexSettings) -> dict[str, Any]:
    """Linear IMI histogram (Ferri 2006): ``histogram_bin_s`` bins from 0 to ``histogram_max_s``.

    Bins are ``[a, b)`` except the last, which includes ``histogram_max_s``; longer IMIs are
    counted in ``over_max``.
    """
    x = np.asarray(imis, dtype=float).ravel()
    x = x[np.isfinite(x)]
    n_bins = int(np.ceil(settings.histogram_max_s / settings.histogram_bin_s - EPS))
    edges = np.arange(n_bins + 1) * settings.histogram_bin_s
    edges[-1] = settings.histogram_max_s
    counts, _ = np.histogram(x[x <= settings.histogram_max_s], bins=edges)
    return {
        "bin_edges_s": [float(e) for e in edges],
        "counts": [int(c) for c in counts],
        "over_max": int((x > settings.histogram_max_s).sum()),
    }


def imi_histogram_log(imis: object, *, settings: IndexSettings) -> dict[str, Any]:
    """Log-spaced IMI histogram (Ferri's later papers): ``histogram_log_bins`` bins between
    ``histogram_log_min_s`` and ``histogram_log_max_s``; outside values in ``under_min``/``over_max``.
    """
    x = np.asarray(imis, dtype=float).ravel()
    x = x[np.isfinite(x)]
    lo, hi = settings.histogram_log_min_s, settings.histogram_log_max_s
    edges = np.logspace(np.log10(lo), np.log10(hi), settings.histogram_log_bins + 1)
    edges[0], edges[-1] = lo, hi
    inside = (x >= lo) & (x <= hi)
    counts, _ = np.histogram(x[inside], bins=edges)
    return {
        "bin_edges_s": [float(e) for e in edges],
        "counts": [int(c) for c in counts],
        "under_min": int((x < lo).sum()),
        "over_max": int((x > hi).sum()),
    }


def _per_hour(count: int, seconds: float) -> float | None:
    return None if seconds <= EPS else float(count / (seconds / SECONDS_PER_HOUR))


def _hours(seconds: float) -> float:
    return float(seconds / SECONDS_PER_HOUR)


class PLMSummary(TypedDict):
    """Block ``plm`` of summary.json (definitions in the module docstring)."""

    standard: str
    tst_h: float
    time_in_bed_h: float
    sleep_period_h: float
    waso_h: float
    wake_h: float
    scorable_tst_h: float
    unscorable_h: float
    plmw_denominator: str
    plmw_denominator_h: float
    lm_count: int
    mono_lm_count: int
    lms_count: int
    lmw_count: int
    clm_count: int
    clms_count: int
    clmw_count: int
    plm_count: int
    plms_count: int
    plmw_count: int
    plms_count_including_respiratory: int
    plms_arousal_count: int
    respiratory_lm_count: int
    short_imi_count: int
    isolated_lm_count: int
    lm_index: float | None
    clm_index: float | None
    plms_index: float | None
    plms_index_including_respiratory: float | None
    plms_arousal_index: float | None
    respiratory_lm_index: float | None
    short_imi_index: float | None
    isolated_lm_index: float | None
    plmw_index: float | None
    plm_index_time_in_bed: float | None
    plm_series_count: int
    mean_series_length: float | None
    periodicity_index: float | None
    imi_histogram: dict[str, Any]
    imi_histogram_log: dict[str, Any]
    by_stage: dict[str, dict[str, Any]]
    by_hour: list[dict[str, Any]]


def summarize(clms: pd.DataFrame, *, timebase: TimeBase, settings: Settings, mono_lm_count: int = 0) -> dict[str, Any]:
    """The ``plm`` block of summary.json from the candidate table (see module docstring).

    ``clms`` needs ``onset, counted, is_clm, stage, respiratory, arousal, periodic,
    periodic_including_respiratory, series_id, imi_s``. Every value is a plain Python type.
    """
    check_choice("plmw_denominator", settings.indices.plmw_denominator, PLMW_DENOMINATORS)
    tb = timebase
    isets = settings.indices
    counted = clms["counted"].to_numpy(dtype=bool)
    is_clm = clms["is_clm"].to_numpy(dtype=bool) & counted
    stage = clms["stage"].astype(str).to_numpy()
    onset = clms["onset"].to_numpy(dtype=float)
    resp = clms["respiratory"].to_numpy(dtype=bool)
    arousal = clms["arousal"].to_numpy(dtype=bool)
    periodic = clms["periodic"].to_numpy(dtype=bool) & is_clm
    periodic_r = clms["periodic_including_respiratory"].to_numpy(dtype=bool) & is_clm
    imis = clms["imi_s"].to_numpy(dtype=float)
    sleep = np.isin(stage, SLEEP_STAGES)
    wake = stage == "W"

    sp = tb.sleep_period()
    in_sp = np.zeros(onset.size, dtype=bool) if sp is None else (onset >= sp[0]) & (onset < sp[1])
    tst_s = tb.seconds(SLEEP_STAGES, scorable=False)
    scor_tst_s = tb.seconds(SLEEP_STAGES)
    wake_s = tb.seconds(("W",), scorable=False)
    waso_s = tb.seconds(("W",), scorable=False, within_sleep_period=True)
    if settings.indices.plmw_denominator == "waso":
        plmw_den = tb.seconds(("W",), within_sleep_period=True)
        plmw_sel = periodic & wake & in_sp
    else:
        plmw_den = tb.seconds(("W",))
        plmw_sel = periodic & wake

    primary = is_clm & ~resp
    short = primary & (imis < settings.plm.imi_min_s - EPS)
    sleep_imis = imis[primary & sleep]
    sleep_imis = sleep_imis[np.isfinite(sleep_imis)]
    n_series = int(pd.Series(clms["series_id"]).dropna().nunique())
    n_periodic = int(periodic.sum())

    counts = {
        "lm_count": int(counted.sum()),
        "mono_lm_count": int(mono_lm_count),
        "lms_count": int((counted & sleep).sum()),
        "lmw_count": int((counted & wake).sum()),
        "clm_count": int(is_clm.sum()),
        "clms_count": int((is_clm & sleep).sum()),
        "clmw_count": int((is_clm & wake).sum()),
        "plm_count": n_periodic,
        "plms_count": int((periodic & sleep).sum()),
        "plmw_count": int(plmw_sel.sum()),
        "plms_count_including_respiratory": int((periodic_r & sleep).sum()),
        "plms_arousal_count": int((periodic & sleep & arousal).sum()),
        "respiratory_lm_count": int((is_clm & resp & sleep).sum()),
        "short_imi_count": int((short & sleep).sum()),
        "isolated_lm_count": int((primary & sleep & ~periodic & ~short).sum()),
    }
    sleep_idx = (
        "lms_count",
        "clms_count",
        "plms_count",
        "plms_count_including_respiratory",
        "plms_arousal_count",
        "respiratory_lm_count",
        "short_imi_count",
        "isolated_lm_count",
    )
    names = {
        "lms_count": "lm_index",
        "clms_count": "clm_index",
        "plms_count": "plms_index",
        "plms_count_including_respiratory": "plms_index_including_respiratory",
        "plms_arousal_count": "plms_arousal_index",
        "respiratory_lm_count": "respiratory_lm_index",
        "short_imi_count": "short_imi_index",
        "isolated_lm_count": "isolated_lm_index",
    }
    indices = {names[k]: _per_hour(counts[k], scor_tst_s) for k in sleep_idx}
    indices["plmw_index"] = _per_hour(counts["plmw_count"], plmw_den)
    scorable_tib_s = float(tb.scorable_s.sum()) if tb.scorable_s.size else 0.0
    indices["plm_index_time_in_bed"] = _per_hour(n_periodic, scorable_tib_s)

    series_len = pd.Series(clms["series_id"]).dropna().value_counts()
    out: dict[str, Any] = {
        "standard": settings.standard,
        "tst_h": _hours(tst_s),
        "time_in_bed_h": _hours(tb.tib_end - tb.tib_start),
        "sleep_period_h": _hours(0.0 if sp is None else sp[1] - sp[0]),
        "waso_h": _hours(waso_s),
        "wake_h": _hours(wake_s),
        "scorable_tst_h": _hours(scor_tst_s),
        "unscorable_h": _hours(float((tb.unscorable[1] - tb.unscorable[0]).sum())),
        "plmw_denominator": settings.indices.plmw_denominator,
        "plmw_denominator_h": _hours(plmw_den),
        **counts,
        **indices,
        "plm_series_count": n_series,
        "mean_series_length": float(series_len.mean()) if n_series else None,
        "periodicity_index": periodicity_index(sleep_imis, settings=isets),
        "imi_histogram": imi_histogram(sleep_imis, settings=isets),
        "imi_histogram_log": imi_histogram_log(sleep_imis, settings=isets),
        "by_stage": _by_stage(tb, stage, counted, periodic),
        "by_hour": _by_hour(tb, onset, periodic & sleep),
    }
    return out


def _by_stage(tb: TimeBase, stage: np.ndarray, counted: np.ndarray, periodic: np.ndarray) -> dict[str, Any]:
    out = {}
    for s in REPORT_STAGES:
        sec = tb.seconds((s,))
        n_plm = int((periodic & (stage == s)).sum())
        n_lm = int((counted & (stage == s)).sum())
        out[s] = {
            "minutes": float(sec / 60.0),
            "plm_count": n_plm,
            "plm_index": _per_hour(n_plm, sec),
            "lm_count": n_lm,
            "lm_index": _per_hour(n_lm, sec),
        }
    return out


def _by_hour(tb: TimeBase, onset: np.ndarray, plms: np.ndarray) -> list[dict[str, Any]]:
    """Per clock hour from sleep onset to the end of the sleep period: scorable sleep minutes,
    PLMS count and index (WASM 2016 recommends reporting by hour of sleep)."""
    sp = tb.sleep_period()
    if sp is None:
        return []
    n = int(np.ceil((sp[1] - sp[0]) / SECONDS_PER_HOUR - EPS))
    h0 = sp[0] + np.arange(n) * SECONDS_PER_HOUR
    h1 = np.minimum(h0 + SECONDS_PER_HOUR, sp[1])
    sleep_s = overlap_seconds(h0, h1, *tb.sleep_intervals())
    hour = np.floor((onset[plms] - sp[0]) / SECONDS_PER_HOUR).astype(np.int64)
    cnt = np.bincount(hour[(hour >= 0) & (hour < n)], minlength=n)
    return [
        {
            "hour": i + 1,
            "sleep_min": float(sleep_s[i] / 60.0),
            "plms_count": int(cnt[i]),
            "plms_index": _per_hour(int(cnt[i]), float(sleep_s[i])),
        }
        for i in range(n)
    ]
