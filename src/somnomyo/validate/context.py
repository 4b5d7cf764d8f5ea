"""The recording's scoring context for a validation: its hypnogram, and rescoring a reference.

A reference that gives LMs but no CLMs or PLM series (an NSRR XML, a CSV, the simulator's
truth) gets them from the same rules code ``somnomyo score`` runs, with the recording's
stages, respiratory events, arousals and unscorable time: :func:`somnomyo.rescore.rescore`
on the results folder's scoring context (``context.json``, :class:`somnomyo.rescore.ScoringContext`).
No second PLM scorer exists here. Without a context (an older results folder) those reference
values stay undefined and the validation says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from somnomyo._logging import logger
from somnomyo.errors import SomnomyoError
from somnomyo.io.annotations import Hypnogram

#: the reference's events rescored: what the indices compared come from (PLM and FM blocks)
RESCORED_KINDS = ("leg_movement", "fragmentary_myoclonus")

__all__ = ["RESCORED_KINDS", "load_context", "context_hypnogram", "summary_hypnogram", "rescore_events", "leg_channels"]


def load_context(results_dir: Path | None) -> tuple[Any | None, str]:
    """(ScoringContext or None, why not) of a results folder."""
    if results_dir is None:
        return None, "no results folder"
    try:
        from somnomyo.rescore import ScoringContext
    except ImportError:
        return None, "this somnomyo has no rescoring (somnomyo.rescore)"
    if not (Path(results_dir) / "context.json").is_file():
        return None, f"{results_dir} has no context.json (scored by an older somnomyo; score it again)"
    try:
        return ScoringContext.from_folder(results_dir), ""
    except SomnomyoError as err:
        return None, str(err)


def context_hypnogram(ctx: Any) -> Hypnogram | None:
    """The hypnogram a ScoringContext holds (a Hypnogram, or a dict with ``stages``/``epoch_s``)."""
    hyp = getattr(ctx, "hypnogram", None)
    if isinstance(hyp, Hypnogram):
        return hyp
    if isinstance(hyp, dict) and hyp.get("stages") is not None:
        return Hypnogram(
            np.asarray(hyp["stages"], dtype="<U3"),
            epoch_s=float(hyp.get("epoch_s", 30.0)),
            start=float(hyp.get("start", 0.0)),
            source=str(hyp.get("source", "annotations")),
        )
    return None


def summary_hypnogram(summary: dict[str, Any] | None) -> Hypnogram | None:
    """The hypnogram a results folder was scored with, read again from the file summary.json names."""
    if not summary:
        return None
    st = summary.get("stages") or {}
    path = st.get("path")
    if st.get("source") != "annotations" or not path or not Path(str(path)).is_file():
        return None
    from somnomyo.io.annotation_readers import read_annotations_file

    dur = (summary.get("recording") or {}).get("duration_s")
    try:
        return read_annotations_file(path, duration_s=dur, epoch_s=float(st.get("epoch_s") or 30.0)).hypnogram
    except SomnomyoError as err:
        logger.warning("cannot read the hypnogram %s again: %s", path, err)
        return None


def leg_channels(summary: dict[str, Any] | None) -> dict[str, str]:
    """side -> the recording's leg channel label (from summary.json channel roles)."""
    roles = ((summary or {}).get("channels") or {}).get("roles") or {}
    out: dict[str, str] = {}
    for role, side in (("leg_left", "left"), ("leg_right", "right"), ("legs", "both")):
        labels = roles.get(role) or []
        if labels:
            out[side] = str(labels[0])
    return out


def rescore_events(events: pd.DataFrame, ctx: Any, *, channels: dict[str, str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``events`` (a reference's LMs and FM, ``RESCORED_KINDS``) scored again by somnomyo's rules
    on the recording's context: (the rescored event table, its summary with summary.json's
    keys; blocks of other kinds score an empty table). LMs are put on the
    recording's leg channel of their side, so that its unscorable time applies to them."""
    from somnomyo.events import make_events
    from somnomyo.rescore import rescore

    ev = events.copy()
    if channels and "side" in ev.columns:
        lm = (ev["trial_type"] == "leg_movement").to_numpy()
        side = ev["side"].astype("string").fillna("").to_numpy(dtype=object)
        for s, label in channels.items():
            sel = lm & (side == s)
            if sel.any():
                ev.loc[sel, "channel"] = label
    from somnomyo.registry import for_families, trial_types

    allowed = set(trial_types(for_families(list(ctx.detectors)))) & set(RESCORED_KINDS)
    ev = ev[ev["trial_type"].isin(allowed).fillna(False).to_numpy()]
    keep = [
        c
        for c in ("onset", "duration", "trial_type", "channel", "side", "amplitude_uv", "muscles", "label")
        if c in ev.columns
    ]
    res = rescore(make_events(ev[keep], label="string"), ctx)
    return res.events.reset_index(drop=True), res.summary()
