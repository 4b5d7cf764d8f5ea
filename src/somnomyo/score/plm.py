"""PLM scoring entry point: :func:`score_plm` and its :class:`PLMResult`.

Pure functions on event tables (no signal processing): monolateral LMs in, candidate
LMs, PLM series, associations and indices out, to WASM 2016 or AASM as set in
:class:`somnomyo.settings.Settings`. Steps and their sources:

1. LMs outside time in bed or overlapping unscorable time are set aside (not counted;
   that time leaves every denominator) - see :mod:`somnomyo.score.indices`.
2. Bilateral combination and CLM decision - :mod:`somnomyo.score.clm` (WASM 2016 CLM
   definition; AASM rule B.4; MATPLM ``candidate_lms.m``).
3. Stage at onset (``Hypnogram.stage_at``), respiratory relation and arousal association
   of every candidate - :mod:`somnomyo.score.associations` (WASM 2016 / AASM windows).
4. PLM series twice - :mod:`somnomyo.score.series`: the primary analysis without
   respiratory-related CLMs (MATPLM ``CLMnr``, IMIs recomputed) and a second one with them
   (WASM 2016: report PLM both ways).
5. Indices - :func:`somnomyo.score.indices.summarize`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from somnomyo._logging import logger, verbose
from somnomyo.errors import SomnomyoError
from somnomyo.events import make_events
from somnomyo.io.annotations import Annotations, Hypnogram
from somnomyo.result import Result
from somnomyo.score.associations import arousal_associated, respiratory_related
from somnomyo.score.clm import combine_lms, normalize_lms
from somnomyo.score.indices import PLMSummary, TimeBase, summarize, time_base
from somnomyo.score.series import score_series, wake_break_times
from somnomyo.settings import Settings
from somnomyo.signal.intervals import merge_spans, overlaps_any, spans_from

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: extra columns of ``PLMResult.events`` after the standard ones, with their dtypes
EVENT_EXTRA_COLUMNS: dict[str, str] = {
    "bilateral": "boolean",
    "imi_s": "float64",
    "periodic_including_respiratory": "boolean",
    "is_clm": "boolean",
    "reason_not_clm": "string",
}
#: columns of ``PLMResult.clms`` with their dtypes
CLM_COLUMNS: dict[str, str] = {
    "candidate": "int64",
    "clm_id": "Int64",
    "onset": "float64",
    "duration": "float64",
    "side": "string",
    "channel": "string",
    "n_lms": "int64",
    "amplitude_uv": "float64",
    "counted": "bool",
    "is_clm": "bool",
    "reason_not_clm": "string",
    "imi_s": "float64",
    "stage": "string",
    "respiratory": "bool",
    "arousal": "bool",
    "periodic": "bool",
    "series_id": "Int64",
    "imi_s_including_respiratory": "float64",
    "periodic_including_respiratory": "bool",
    "series_id_including_respiratory": "Int64",
}


@dataclass
class PLMResult(Result):
    """Result of :func:`score_plm`.

    ``events``: the standard event table (:func:`somnomyo.events.make_events`), one row per
    monolateral LM, plus ``EVENT_EXTRA_COLUMNS``. ``clms``: one row per candidate after
    bilateral combination (``CLM_COLUMNS``). ``summary()``: the ``plm`` block of summary.json.
    """

    events: pd.DataFrame
    clms: pd.DataFrame
    settings: Settings
    timebase: TimeBase
    duration_s: float
    _summary: dict[str, Any] = field(default_factory=dict, repr=False)
    BLOCK = "plm"
    Summary = PLMSummary

    def summary_block(self) -> PLMSummary:
        """The ``plm`` block of summary.json (plain, JSON-serializable types; see
        :mod:`somnomyo.score.indices` for every definition)."""
        return cast(PLMSummary, copy.deepcopy(self._summary))

    def plot_imi_histogram(self, *, ax: Axes | None = None) -> Figure:
        """IMI histogram (2-s bins to 90 s, Ferri 2006) of the primary analysis; returns the Figure."""
        from somnomyo.score.plots import plot_imi_histogram

        return plot_imi_histogram(self, ax=ax)

    def plot_raster(self, *, ax: Axes | None = None) -> Figure:
        """LMs over time, one row per leg, periodic ones highlighted; returns the Figure."""
        from somnomyo.score.plots import plot_raster

        return plot_raster(self, ax=ax)


def _unscorable_intervals(unscorable: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    if unscorable is None or len(unscorable) == 0:
        return np.empty(0), np.empty(0)
    missing = [c for c in ("onset", "duration") if c not in unscorable.columns]
    if missing:
        raise SomnomyoError(
            f"missing column(s) {', '.join(missing)}; need onset, duration, reason", "unscorable-time table"
        )
    on = pd.to_numeric(unscorable["onset"], errors="coerce").to_numpy(dtype=float)
    du = pd.to_numeric(unscorable["duration"], errors="coerce").to_numpy(dtype=float)
    if not (np.isfinite(on).all() and np.isfinite(du).all()):
        raise SomnomyoError("onset/duration has missing or non-finite values", "unscorable-time table")
    return merge_spans(*spans_from(on, du))


def _leg_movement_rows(lms: pd.DataFrame | None) -> pd.DataFrame | None:
    """Accept a standard event table too: keep leg-movement rows, read side ``bilateral`` as ``both``."""
    if lms is None:
        return None
    df = lms
    if "trial_type" in df.columns:
        keep = df["trial_type"].isna() | (df["trial_type"] == "leg_movement")
        if not bool(keep.all()):
            logger.debug("score_plm: ignoring %d row(s) that are not leg movements", int((~keep).sum()))
        df = df.loc[keep.to_numpy(dtype=bool)]
    if "side" in df.columns and len(df):
        side = df["side"].astype("string").str.strip().str.lower()
        df = df.assign(side=side.where(side != "bilateral", "both"))
    return df


@verbose
def score_plm(
    lms: pd.DataFrame | None,
    *,
    duration_s: float,
    hypnogram: Hypnogram | None,
    annotations: Annotations | None = None,
    unscorable: pd.DataFrame | None = None,
    settings: Settings,
    verbose: bool | str | int | None = None,
) -> PLMResult:
    """Score candidate, periodic, respiratory-related and arousal-associated LMs.

    Parameters
    ----------
    lms : monolateral LMs, columns ``onset, duration, channel, side, amplitude_uv`` (``side``
        ``"left"``, ``"right"`` or ``"both"``; any order; may be empty or None). A standard
        event table is accepted too (only ``leg_movement`` rows are used).
    duration_s : recording length in seconds.
    hypnogram : sleep stages; None means every epoch is unscored (sleep indices are null).
    annotations : respiratory events, arousals and lights-off/on (optional).
    unscorable : time where LMs cannot be scored (``onset, duration, reason``): LMs there are
        not counted, the time leaves the denominators and it breaks PLM series.
    settings : :func:`somnomyo.settings.get_settings` preset, possibly overridden.
    verbose : logging level for this call (see :func:`somnomyo.set_log_level`).
    """
    return _score_plm(
        lms,
        duration_s=duration_s,
        hypnogram=hypnogram,
        annotations=annotations,
        unscorable=unscorable,
        settings=settings,
    )


def _score_plm(
    lms: pd.DataFrame | None,
    *,
    duration_s: float,
    hypnogram: Hypnogram | None,
    annotations: Annotations | None,
    unscorable: pd.DataFrame | None,
    settings: Settings,
) -> PLMResult:
    if not np.isfinite(duration_s) or duration_s < 0:
        raise SomnomyoError(f"recording duration must be a finite number >= 0 s, got {duration_s!r}", "score_plm")
    lm = normalize_lms(_leg_movement_rows(lms))
    uns = _unscorable_intervals(unscorable)
    ann = annotations if annotations is not None else Annotations()
    tb = time_base(
        duration_s=duration_s, hypnogram=hypnogram, lights_off=ann.lights_off, lights_on=ann.lights_on, unscorable=uns
    )

    # 1. set aside LMs outside time in bed or in unscorable time
    lm_on, lm_end = spans_from(lm["onset"], lm["duration"])
    excluded = np.full(len(lm), None, dtype=object)
    excluded[(lm_on < tb.tib_start) | (lm_on >= tb.tib_end)] = "outside_time_in_bed"
    excluded[overlaps_any(lm_on, lm_end, *tb.unscorable, closed=False)] = "unscorable"

    # 2. bilateral combination, CLM decision
    lm, cands = combine_lms(lm, settings=settings.clm, excluded=excluded)

    # 3. stage, respiratory, arousal
    def stage_of(t: np.ndarray) -> np.ndarray:
        if hypnogram is None:
            return np.full(np.shape(t), "UNS", dtype="<U3")
        return hypnogram.stage_at(t)

    cands["stage"] = pd.array(stage_of(cands["onset"].to_numpy(dtype=float)), dtype="string")
    cands["respiratory"] = respiratory_related(
        cands["onset"], cands["duration"], ann.respiratory, settings=settings.respiratory
    )
    cands["arousal"] = arousal_associated(cands["onset"], cands["duration"], ann.arousals, settings=settings.arousal)

    # 4. series: primary (without respiratory-related CLMs) and including them
    brk = dict(
        break_starts=tb.unscorable[0],
        break_ends=tb.unscorable[1],
        break_times=wake_break_times(hypnogram, settings=settings.plm),
    )
    prim = score_series(cands, settings=settings.plm, include_respiratory=False, **brk)
    incl = score_series(cands, settings=settings.plm, include_respiratory=True, **brk)
    cands["imi_s"] = prim["imi_s"]
    cands["periodic"] = prim["periodic"]
    cands["series_id"] = prim["series_id"]
    cands["imi_s_including_respiratory"] = incl["imi_s"]
    cands["periodic_including_respiratory"] = incl["periodic"]
    cands["series_id_including_respiratory"] = incl["series_id"]
    cands["clm_id"] = pd.array(
        [c if ok else pd.NA for c, ok in zip(cands["candidate"], cands["is_clm"])], dtype="Int64"
    )
    clms = cands[list(CLM_COLUMNS)].astype(CLM_COLUMNS)

    # per-LM event table
    by_cand = clms.set_index("candidate")
    per_lm = by_cand.reindex(lm["candidate"].to_numpy())
    side = lm["side"].astype("string").where(lm["side"] != "both", "bilateral")
    events = make_events(
        pd.DataFrame(
            {
                "onset": lm["onset"].to_numpy(dtype=float),
                "duration": lm["duration"].to_numpy(dtype=float),
                "trial_type": "leg_movement",
                "channel": lm["channel"].to_numpy(dtype=object),
                "side": side.to_numpy(dtype=object),
                "stage": stage_of(lm["onset"].to_numpy(dtype=float)),
                "clm_id": per_lm["clm_id"].to_numpy(dtype=object),
                "periodic": per_lm["periodic"].to_numpy(dtype=bool),
                "series_id": per_lm["series_id"].to_numpy(dtype=object),
                "respiratory": per_lm["respiratory"].to_numpy(dtype=bool),
                "arousal": per_lm["arousal"].to_numpy(dtype=bool),
                "amplitude_uv": lm["amplitude_uv"].to_numpy(dtype=float),
                "bilateral": (per_lm["n_lms"] > 1).to_numpy(dtype=bool),
                "imi_s": per_lm["imi_s"].to_numpy(dtype=float),
                "periodic_including_respiratory": per_lm["periodic_including_respiratory"].to_numpy(dtype=bool),
                "is_clm": per_lm["is_clm"].to_numpy(dtype=bool),
                "reason_not_clm": per_lm["reason_not_clm"].to_numpy(dtype=object),
            }
        ),
        **EVENT_EXTRA_COLUMNS,
    )

    # 5. indices
    summary = summarize(
        clms, timebase=tb, settings=settings, mono_lm_count=int(per_lm["counted"].to_numpy(dtype=bool).sum())
    )
    logger.info(
        "PLM (%s): %d LM, %d CLM, %d PLMS (%s/h), %d series",
        settings.standard,
        summary["lm_count"],
        summary["clm_count"],
        summary["plms_count"],
        "n/a" if summary["plms_index"] is None else f"{summary['plms_index']:.1f}",
        summary["plm_series_count"],
    )
    return PLMResult(
        events=events, clms=clms, settings=settings, timebase=tb, duration_s=float(duration_s), _summary=summary
    )
