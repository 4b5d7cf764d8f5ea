"""Event agreement of one night, per kind x side x stage (the rows of ``agreement.tsv``).

Kinds (the ``kind`` column; the first is the ``trial_type`` of events.tsv, the next three are
subsets of it):

* ``leg_movement``: every monolateral LM (WASM 2016), matched within the leg (``side``) when
  both scorings state the leg;
* ``candidate_leg_movement``: candidate LMs, the LMs sharing a ``clm_id`` joined into one
  event from the first onset to the last end (WASM 2016 bilateral CLM rule; side
  ``bilateral`` when both legs take part); needs CLM ids on both sides (a reference without
  them gets them from rescoring its LMs, see :mod:`somnomyo.validate.run`);
* ``periodic_leg_movement``: LMs that belong to a PLM series (``periodic``);
* ``arousal_leg_movement``: LMs associated with an arousal (``arousal``), where both sides
  state it;
* every other ``trial_type`` found on either side (``fragmentary_myoclonus``, ``hypnic_jerk``,
  ...); fragmentary myoclonus matches within the channel when both sides name channels.

Rows: ``side`` ``all`` (everything of the kind), then, for the leg-movement kinds, each side
found (``left``, ``right``, ``both``, ``bilateral``: both tables restricted to that side and
matched again); ``stage``
``all`` (the whole night), then W, N1, N2, N3, R (and UNS when events lie there): a match and
a miss count in the stage of the reference event, a false detection in the stage of the
detection (``n_detected`` of a stage row = its tp + fp).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from somnomyo.events import TRIAL_TYPES
from somnomyo.validate.match import MatchRule, match_events, summarize_pairs
from somnomyo.validate.settings import STAGES_REPORTED, ValidateSettings

__all__ = ["KINDS_LM", "event_sets", "compare_events", "AGREEMENT_COLUMNS"]

LM, CLM, PLM, AROUSAL = "leg_movement", "candidate_leg_movement", "periodic_leg_movement", "arousal_leg_movement"
KINDS_LM = (LM, CLM, PLM, AROUSAL)
AGREEMENT_COLUMNS: dict[str, str] = {
    "night": "night id (``all``: every night pooled, when there are several)",
    "kind": "event kind: a trial_type of events.tsv or a subset of leg_movement (see docs/validation.md)",
    "side": "all, or the leg: left, right, both (one bipolar legs channel), bilateral (a CLM of both legs)",
    "stage": "all (the whole night) or the sleep stage W, N1, N2, N3, R, UNS",
    "n_reference": "reference events (tp + fn)",
    "n_detected": "detected events (tp + fp)",
    "tp": "matched pairs",
    "fn": "reference events without a detection (misses)",
    "fp": "detections without a reference event (false detections)",
    "precision": "tp / (tp + fp); empty when undefined",
    "recall": "tp / (tp + fn) (sensitivity); empty when the reference has no event of the kind",
    "f1": "2 tp / (2 tp + fp + fn); empty when the reference has no event of the kind",
    "onset_diff_median_s": "median of detected minus reference onset over the matches, s",
    "onset_diff_iqr_s": "interquartile range of the onset differences, s",
    "offset_diff_median_s": "median of detected minus reference end over the matches, s",
    "offset_diff_iqr_s": "interquartile range of the end differences, s",
    "matched_within": "side or channel when pairs had to share it; empty otherwise",
    "reference_basis": "where the reference's value of the kind comes from: scored (as the reference "
    "states it), labelled (its PLM labels), rescored (its LMs scored by somnomyo's rules)",
    "rule": "the matching rule",
    "note": "why a figure is undefined",
}
_SIDES = ("left", "right", "both", "bilateral")


def _bool(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df.columns:
        return np.zeros(len(df), dtype=bool)
    return df[col].astype("boolean").fillna(False).to_numpy(dtype=bool)


def clm_events(lms: pd.DataFrame) -> pd.DataFrame:
    """One event per CLM id: first onset to last end, sides joined (``bilateral`` for both legs)."""
    if "clm_id" not in lms.columns:
        return lms.iloc[0:0]
    x = lms[lms["clm_id"].notna()]
    if not len(x):
        return x.iloc[0:0].assign(row=pd.Series(dtype="int64"))
    end = x["onset"].to_numpy(float) + np.nan_to_num(x["duration"].to_numpy(float))
    g = pd.DataFrame(
        {
            "clm_id": x["clm_id"].to_numpy(),
            "onset": x["onset"].to_numpy(float),
            "end": end,
            "side": x["side"].astype("string").fillna("").to_numpy(dtype=object),
            "channel": x["channel"].astype("string").fillna("").to_numpy(dtype=object),
            "stage": x["stage"].astype("string").to_numpy(dtype=object) if "stage" in x else None,
            "label": x["label"].astype("string").to_numpy(dtype=object) if "label" in x else None,
            "row": x["row"].to_numpy() if "row" in x else x.index.to_numpy(),
        }
    )
    g = g.sort_values("onset", kind="stable")

    def sides(s: pd.Series) -> str:
        u = sorted({v for v in s if v})
        return "bilateral" if ("left" in u and "right" in u) else (u[0] if u else "")

    agg = g.groupby("clm_id", sort=False).agg(
        onset=("onset", "min"),
        end=("end", "max"),
        side=("side", sides),
        channel=("channel", lambda s: ",".join(dict.fromkeys(v for v in s if v))),
        stage=("stage", "first"),
        label=("label", "first"),
        row=("row", "first"),
    )
    out = pd.DataFrame(
        {
            "onset": agg["onset"].to_numpy(float),
            "duration": (agg["end"] - agg["onset"]).to_numpy(float),
            "trial_type": CLM,
            "channel": pd.array(agg["channel"].to_numpy(), dtype="string"),
            "side": pd.array(agg["side"].replace("", pd.NA).to_numpy(), dtype="string"),
            "stage": pd.array(agg["stage"].to_numpy(), dtype="string"),
            "label": pd.array(agg["label"].to_numpy(), dtype="string"),
            "row": agg["row"].to_numpy(),
        }
    )
    return out.sort_values("onset", kind="stable").reset_index(drop=True)


def event_sets(events: pd.DataFrame, defined: frozenset[str]) -> dict[str, pd.DataFrame]:
    """The events of each kind (``row``: the position in ``events``)."""
    ev = events.reset_index(drop=True).assign(row=np.arange(len(events)))
    lms = ev[ev["trial_type"] == LM]
    out: dict[str, pd.DataFrame] = {LM: lms}
    if "clm_id" in defined:
        out[CLM] = clm_events(lms)
    if "periodic" in defined:
        out[PLM] = lms[_bool(lms, "periodic")]
    if "arousal" in defined:
        out[AROUSAL] = lms[_bool(lms, "arousal")]
    for t in TRIAL_TYPES:
        if t != LM:
            out[t] = ev[ev["trial_type"] == t]
    return out


def _within(
    kind: str,
    d: pd.DataFrame,
    r: pd.DataFrame,
    det_defined: frozenset[str],
    ref_defined: frozenset[str],
    settings: ValidateSettings,
) -> str | None:
    if kind in (LM, PLM, AROUSAL):
        ok = settings.match_side and "side" in det_defined and "side" in ref_defined
        return "side" if ok else None
    if kind in settings.match_channel_kinds and len(d) and len(r):
        dc, rc = d["channel"].dropna(), r["channel"].dropna()
        if len(dc) == len(d) and len(rc) == len(r) and set(dc) & set(rc):
            return "channel"
    return None


def _stage_col(df: pd.DataFrame) -> np.ndarray:
    if "stage" not in df.columns:
        return np.full(len(df), "UNS", dtype=object)
    return df["stage"].astype("string").fillna("UNS").to_numpy(dtype=object)


def _annotate(pairs: pd.DataFrame, d: pd.DataFrame, r: pd.DataFrame) -> pd.DataFrame:
    """Add stage (reference's for matches and misses, detection's otherwise), sides, labels, rows."""
    has_r = pairs["reference_index"].notna().to_numpy()
    has_d = pairs["detected_index"].notna().to_numpy()
    ri = pairs["reference_index"].fillna(0).to_numpy(dtype=np.int64)
    di = pairs["detected_index"].fillna(0).to_numpy(dtype=np.int64)
    rs, ds = _stage_col(r), _stage_col(d)
    n = len(pairs)
    stage = np.full(n, "UNS", dtype=object)
    if len(r):
        stage[has_r] = rs[ri[has_r]]
    if len(d):
        stage[~has_r & has_d] = ds[di[~has_r & has_d]]

    def take(df: pd.DataFrame, col: str, idx: np.ndarray, ok: np.ndarray) -> pd.arrays.StringArray:
        out = np.full(n, pd.NA, dtype=object)
        if col in df.columns and len(df):
            out[ok] = df[col].astype("string").to_numpy(dtype=object)[idx[ok]]
        return pd.array(out, dtype="string")

    out = pairs.copy()
    out["stage"] = pd.array(stage, dtype="string")
    out["detected_side"] = take(d, "side", di, has_d)
    out["reference_side"] = take(r, "side", ri, has_r)
    out["reference_label"] = take(r, "label", ri, has_r)
    # row numbers in the full event tables (events.tsv order), not within the kind
    for name, df, idx, ok in (("detected_index", d, di, has_d), ("reference_index", r, ri, has_r)):
        rows = np.zeros(n, dtype=np.int64)
        if len(df):
            rows[ok] = df["row"].to_numpy(dtype=np.int64)[idx[ok]]
        out[name] = pd.array(np.where(ok, rows, 0), dtype="Int64")
        out.loc[~ok, name] = pd.NA
    return out


def compare_events(
    detected: pd.DataFrame,
    det_defined: frozenset[str],
    reference: pd.DataFrame,
    ref_defined: frozenset[str],
    *,
    night: str,
    rule: MatchRule,
    settings: ValidateSettings,
    reference_basis: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(agreement rows, pairs with a ``side`` column) of one night, every kind both sides can be compared on."""
    dsets, rsets = event_sets(detected, det_defined), event_sets(reference, ref_defined)
    kinds = [k for k in dsets if k in rsets and (k in (LM,) or k in KINDS_LM or len(dsets[k]) or len(rsets[k]))]
    rows: list[dict[str, Any]] = []
    all_pairs: list[pd.DataFrame] = []
    basis = reference_basis or {}
    for kind in kinds:
        d, r = dsets[kind].reset_index(drop=True), rsets[kind].reset_index(drop=True)
        within = _within(kind, d, r, det_defined, ref_defined, settings)
        sides = ["all"]
        if kind in KINDS_LM:
            sides += [s for s in _SIDES if any(len(x) and "side" in x and bool((x["side"] == s).any()) for x in (d, r))]
        for side in sides:
            if side == "all":
                ds, rs = d, r
            else:
                ds = d[(d["side"] == side).fillna(False).to_numpy()] if "side" in d else d.iloc[0:0]
                rs = r[(r["side"] == side).fillna(False).to_numpy()] if "side" in r else r.iloc[0:0]
                ds, rs = ds.reset_index(drop=True), rs.reset_index(drop=True)
            pairs = _annotate(match_events(ds, rs, rule=rule, by=within), ds, rs)
            pairs.insert(0, "side", side)
            pairs.insert(0, "kind", kind)
            pairs.insert(0, "night", night)
            all_pairs.append(pairs)
            stages = ["all", *STAGES_REPORTED] + (["UNS"] if (pairs["stage"] == "UNS").any() else [])
            for stage in stages:
                p = pairs if stage == "all" else pairs[(pairs["stage"] == stage).to_numpy()]
                s = summarize_pairs(p)
                note = ""
                if s["n_reference"] == 0:
                    note = (
                        f"the reference has no {kind} events"
                        + ("" if stage == "all" else f" in {stage}")
                        + ": precision, recall and F1 undefined"
                    )
                rows.append(
                    {
                        "night": night,
                        "kind": kind,
                        "side": side,
                        "stage": stage,
                        **s,
                        "matched_within": within or "",
                        "reference_basis": basis.get(kind, "scored"),
                        "rule": rule.describe(),
                        "note": note,
                    }
                )
    agreement = pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS))
    pairs_df = pd.concat(all_pairs, ignore_index=True) if all_pairs else pd.DataFrame()
    return agreement, pairs_df
