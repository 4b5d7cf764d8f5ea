"""Candidate leg movements (CLM): bilateral combination of monolateral LMs.

Input is a table of monolateral LMs (``onset, duration, channel, side, amplitude_uv``;
``side`` is ``"left"``, ``"right"`` or ``"both"`` - the last for a channel that records
both legs). Output is one row per candidate after combination, with whether it is a CLM
and, if not, why.

Rules (docs/rules.md §2):

* WASM 2016, CLM definition (``bilateral_rule="gap"``): LMs on the two legs are combined
  into one bilateral LM when they overlap or the gap offset-to-onset is < 0.5 s; a further
  LM that overlaps or is < 0.5 s from the combined LM joins it too (MATPLM
  ``candidate_lms.m`` ``rOV2``, which compares with the combined movement). LMs on the
  same leg are never combined with each other alone (the detector already separated them
  by its 0.5-s offset rule). A CLM is a monolateral LM of 0.5-10 s or a bilateral LM of
  0.5-15 s made of at most 4 monolateral LMs. A monolateral LM > 10 s, a bilateral LM
  > 15 s or of > 4 LMs, or a bilateral LM containing a monolateral LM > 10 s is not a CLM
  (MATPLM ``candidate_lms.m``: ``maxdur``, ``bmaxdur``, ``maxcomb``, break code 3/4/5);
  it still counts as an LM and breaks PLM series (see :mod:`somnomyo.score.series`).
* AASM rule B.4 (``bilateral_rule="onset"``, NSRR manual): LMs on the two legs whose
  onsets are < 5 s apart count as one LM. AASM LMs last at most 10 s: a longer event is
  not an LM at all, so it is set aside before combination and not counted. No 15-s or
  4-LM limit.
* LMs shorter than 0.5 s are not LMs (WASM 2016 and AASM minimum duration; MATPLM drops
  them before combining) and are kept only for traceability (``counted`` False).
* A channel recording both legs gives LMs with ``side="both"``; each such LM is treated
  as one monolateral movement (as MATPLM does with a single leg array) and may combine
  with LMs from the leg channels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from somnomyo.errors import SomnomyoError, check_choice
from somnomyo.settings import BILATERAL_RULES, CLMSettings
from somnomyo.signal.intervals import EPS

LM_SIDES = ("left", "right", "both")
#: why a candidate is not a CLM
REASONS = (
    "too_short",
    "unscorable",
    "outside_time_in_bed",
    "monolateral_too_long",
    "contains_long_lm",
    "too_many_lms",
    "bilateral_too_long",
)
#: reasons for which the movement does not count as an LM at all
NOT_LM_REASONS = ("too_short", "unscorable", "outside_time_in_bed")

CANDIDATE_COLUMNS: dict[str, str] = {
    "candidate": "int64",
    "onset": "float64",
    "duration": "float64",
    "side": "string",
    "n_lms": "int64",
    "channel": "string",
    "amplitude_uv": "float64",
    "counted": "bool",
    "is_clm": "bool",
    "reason_not_clm": "string",
}


def normalize_lms(lms: pd.DataFrame | None, *, name: str = "leg-movement table") -> pd.DataFrame:
    """Check and tidy a monolateral LM table: columns ``onset, duration, channel, side, amplitude_uv``.

    ``channel`` and ``amplitude_uv`` may be absent (filled with missing values). Rows are
    sorted by onset, then end. Raises :class:`SomnomyoError` naming ``name`` for a missing
    column, a non-numeric/non-finite onset or duration, a negative duration or an unknown side.
    """
    cols = ["onset", "duration", "channel", "side", "amplitude_uv"]
    if lms is None or (len(lms) == 0 and not {"onset", "duration", "side"} <= set(lms.columns)):
        return pd.DataFrame(
            {
                "onset": pd.Series(dtype="float64"),
                "duration": pd.Series(dtype="float64"),
                "channel": pd.Series(dtype="string"),
                "side": pd.Series(dtype="string"),
                "amplitude_uv": pd.Series(dtype="float64"),
            }
        )
    if not isinstance(lms, pd.DataFrame):
        raise SomnomyoError(f"expected a pandas DataFrame, got {type(lms).__name__}", name)
    if _is_normalized(lms, cols):  # e.g. combine_lms given what score_plm normalized
        return lms.copy(deep=False)
    missing = [c for c in ("onset", "duration", "side") if c not in lms.columns]
    if missing:
        raise SomnomyoError(
            f"missing column(s) {', '.join(missing)}; need onset, duration, side (channel, amplitude_uv optional)", name
        )
    df = pd.DataFrame(index=range(len(lms)))
    for c in ("onset", "duration", "amplitude_uv"):
        if c in lms.columns:
            vals = pd.to_numeric(lms[c].reset_index(drop=True), errors="coerce").astype("float64")
        else:
            vals = pd.Series(np.nan, index=df.index, dtype="float64")
        df[c] = vals
    for c in ("onset", "duration"):
        bad = ~np.isfinite(df[c].to_numpy())
        if bad.any():
            raise SomnomyoError(f"column {c} has {int(bad.sum())} missing or non-finite value(s)", name)
    if (df["duration"] < 0).any():
        raise SomnomyoError(f"column duration has {int((df['duration'] < 0).sum())} negative value(s)", name)
    df["channel"] = (
        lms["channel"].reset_index(drop=True).astype("string")
        if "channel" in lms.columns
        else pd.Series(pd.NA, index=df.index, dtype="string")
    )
    side = lms["side"].reset_index(drop=True).astype("string").str.strip().str.lower()
    bad_side = sorted(set(side.dropna()) - set(LM_SIDES)) + (["<missing>"] if side.isna().any() else [])
    if bad_side:
        raise SomnomyoError(
            f"column side has value(s) {', '.join(map(str, bad_side))}; allowed: {', '.join(LM_SIDES)}", name
        )
    df["side"] = side
    df = df[cols]
    end = df["onset"] + df["duration"]
    order = np.lexsort((end.to_numpy(), df["onset"].to_numpy()))
    return df.iloc[order].reset_index(drop=True)


_NORMAL_DTYPES = ("float64", "float64", "string", "string", "float64")


def _is_normalized(lms: pd.DataFrame, cols: list[str]) -> bool:
    """True when ``lms`` is already what :func:`normalize_lms` returns: exactly its columns and
    dtypes, a 0..n-1 index, finite onsets and durations >= 0, known sides, sorted by onset then end."""
    if list(lms.columns) != cols or [str(t) for t in lms.dtypes] != list(_NORMAL_DTYPES):
        return False
    if not isinstance(lms.index, pd.RangeIndex) or lms.index.start != 0 or lms.index.step != 1:
        return False
    on = lms["onset"].to_numpy(dtype=float)
    du = lms["duration"].to_numpy(dtype=float)
    if not (np.isfinite(on).all() and np.isfinite(du).all()) or (du < 0).any():
        return False
    side = lms["side"]
    if side.isna().any() or not set(side.unique()) <= set(LM_SIDES):
        return False
    if any(str(v) != str(v).strip().lower() for v in side.unique()):
        return False
    end = on + du
    return bool(((np.diff(on) > 0) | ((np.diff(on) == 0) & (np.diff(end) >= 0))).all())


def _group(onset: np.ndarray, end: np.ndarray, side: np.ndarray, *, settings: CLMSettings) -> np.ndarray:
    """Group index (0-based, increasing) of each LM; LMs sorted by onset.

    WASM 2016 ``gap`` rule / AASM rule B.4 ``onset`` rule, see module docstring. A loop over
    movements (not samples): each decision depends on the group built so far.
    """
    n = onset.size
    grp = np.empty(n, dtype=np.int64)
    g = -1
    g_end = -np.inf
    last_onset: dict[str, float] = {}
    gap = settings.bilateral_gap_s
    onset_s = settings.bilateral_onset_s
    gap_rule = settings.bilateral_rule == "gap"
    for i in range(n):
        s = side[i]
        if g < 0:
            join = False
        elif gap_rule:
            join = onset[i] - g_end < gap - EPS and any(k != s for k in last_onset)
        else:
            join = any(onset[i] - t < onset_s - EPS for k, t in last_onset.items() if k != s)
        if join:
            g_end = max(g_end, end[i])
        else:
            g += 1
            g_end = end[i]
            last_onset = {}
        grp[i] = g
        last_onset[s] = onset[i]
    return grp


def _aggregate(
    grp: np.ndarray,
    onset: np.ndarray,
    end: np.ndarray,
    side: np.ndarray,
    too_long: np.ndarray,
    amplitude: np.ndarray,
    reason: np.ndarray,
    channel: np.ndarray,
) -> pd.DataFrame:
    """Per group (index ``grp``, ascending): first onset, last end, number of LMs, first side, any LM too
    long, largest amplitude (missing ignored), first reason, and the group's distinct channels joined
    by commas in order of appearance. LMs of a group keep their order (sorted by onset)."""
    order = np.argsort(grp, kind="stable")
    g = grp[order]
    n = g.size
    starts = np.flatnonzero(np.concatenate(([True], g[1:] != g[:-1]))) if n else np.zeros(0, np.int64)
    bounds = np.append(starts, n)
    amp = amplitude[order]
    with np.errstate(invalid="ignore"):
        peak = np.fmax.reduceat(amp, starts) if n else amp
    chans = channel[order]
    joined = [
        ",".join(dict.fromkeys(c for c in chans[a:b] if c is not None))  # loop over groups
        for a, b in zip(bounds[:-1], bounds[1:])
    ]
    return pd.DataFrame(
        {
            "onset": np.minimum.reduceat(onset[order], starts) if n else onset,
            "end": np.maximum.reduceat(end[order], starts) if n else end,
            "n_lms": np.diff(bounds),
            "first_side": side[order][starts],
            "any_too_long": np.logical_or.reduceat(too_long[order], starts) if n else too_long,
            "amplitude_uv": peak,
            "reason": reason[order][starts],
            "channel": np.array(joined, dtype=object),
        },
        index=pd.Index(g[starts], name="grp"),
    )


def combine_lms(
    lms: pd.DataFrame | None, *, settings: CLMSettings, excluded: np.ndarray | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Combine monolateral LMs into candidates and decide which are CLMs.

    WASM 2016, CLM definition; AASM rule B.4; MATPLM ``candidate_lms.m`` (details in the
    module docstring). ``excluded`` optionally gives, per row of ``normalize_lms(lms)``, a
    reason (``"unscorable"``, ``"outside_time_in_bed"``) or ``None``: excluded LMs are not
    combined and not counted.

    Returns ``(lms, candidates)``: the normalized LM table with a ``candidate`` column
    (1-based id of the candidate it belongs to) and the candidate table with columns
    ``CANDIDATE_COLUMNS`` sorted by onset (``side`` is ``left``/``right``/``bilateral``;
    ``counted`` False for movements that are not LMs at all).
    """
    check_choice("bilateral_rule", settings.bilateral_rule, BILATERAL_RULES)
    df = normalize_lms(lms)
    n = len(df)
    onset = df["onset"].to_numpy(dtype=float)
    dur = df["duration"].to_numpy(dtype=float)
    end = onset + dur
    side = df["side"].to_numpy(dtype=object)
    reason = np.full(n, None, dtype=object)
    if excluded is not None:
        ex = np.asarray(excluded, dtype=object)
        if ex.shape != (n,):
            raise ValueError(f"excluded must have one entry per LM ({n}), got shape {ex.shape}")
        reason[:] = ex
    reason[(dur < settings.min_duration_s - EPS) & (reason == None)] = "too_short"  # noqa: E711
    too_long = dur > settings.mono_max_s + EPS
    if settings.bilateral_rule == "onset":
        # AASM: an event longer than the LM maximum is not an LM; it does not combine.
        reason[too_long & (reason == None)] = "monolateral_too_long"  # noqa: E711
    eligible = np.flatnonzero(reason == None)  # noqa: E711
    others = np.flatnonzero(reason != None)  # noqa: E711

    grp = np.empty(n, dtype=np.int64)
    grp[eligible] = _group(onset[eligible], end[eligible], side[eligible], settings=settings)
    n_groups = int(grp[eligible].max()) + 1 if eligible.size else 0
    grp[others] = n_groups + np.arange(others.size)

    agg = _aggregate(
        grp,
        onset,
        end,
        side,
        too_long,
        df["amplitude_uv"].to_numpy(dtype=float),
        reason,
        df["channel"].to_numpy(dtype=object, na_value=None),
    )
    agg = agg.sort_values(["onset", "end"], kind="stable")
    cand_id = pd.Series(np.arange(1, len(agg) + 1), index=agg.index)

    duration = (agg["end"] - agg["onset"]).to_numpy(dtype=float)
    n_lms = agg["n_lms"].to_numpy(dtype=np.int64)
    bilateral = n_lms > 1
    out_reason = np.array([r if isinstance(r, str) else None for r in agg["reason"]], dtype=object)
    free = out_reason == None  # noqa: E711
    any_long = agg["any_too_long"].to_numpy(dtype=bool)
    rules = [
        (~bilateral & any_long, "monolateral_too_long"),
        (bilateral & any_long, "contains_long_lm"),
        (bilateral & (settings.bi_max_lms is not None) & (n_lms > (settings.bi_max_lms or 0)), "too_many_lms"),
        (
            bilateral & (settings.bi_max_s is not None) & (duration > (settings.bi_max_s or 0.0) + EPS),
            "bilateral_too_long",
        ),
    ]
    for mask, why in rules:
        sel = free & mask
        out_reason[sel] = why
        free &= ~sel
    first_side = agg["first_side"].to_numpy(dtype=object)
    cand_side = np.where(bilateral | (first_side == "both"), "bilateral", first_side)
    counted = ~np.isin(out_reason.astype(str), NOT_LM_REASONS)
    if settings.bilateral_rule == "onset":
        counted &= ~(~bilateral & any_long)
    cands = pd.DataFrame(
        {
            "candidate": cand_id.to_numpy(dtype=np.int64),
            "onset": agg["onset"].to_numpy(dtype=float),
            "duration": duration,
            "side": pd.array(cand_side.astype(str) if len(agg) else [], dtype="string"),
            "n_lms": n_lms,
            "channel": pd.array([c if c else pd.NA for c in agg["channel"]], dtype="string"),
            "amplitude_uv": agg["amplitude_uv"].to_numpy(dtype=float),
            "counted": counted.astype(bool),
            "is_clm": out_reason == None,  # noqa: E711
            "reason_not_clm": pd.array([r if r is not None else pd.NA for r in out_reason], dtype="string"),
        }
    )
    cands = cands.astype({k: v for k, v in CANDIDATE_COLUMNS.items()})
    out_lms = df.copy()
    out_lms["candidate"] = cand_id.reindex(grp).to_numpy(dtype=np.int64) if n else np.empty(0, dtype=np.int64)
    return out_lms, cands.reset_index(drop=True)
