"""Leg movements and periodic limb movements (family ``plm``).

``run``: LMs detected on the leg EMG (:func:`somnomyo.detect.leg_movements.detect_leg_movements`),
then scored (:func:`somnomyo.score.plm.score_plm`: CLMs, PLM series, respiratory and arousal
association, indices; WASM 2016 or AASM per the settings). ``from_events``: the same
:func:`~somnomyo.score.plm.score_plm` on the given monolateral ``leg_movement`` rows (their
derived columns - CLM ids, series, periodicity, stage, associations - are dropped and
recomputed), with the unscorable leg time the night was scored with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from somnomyo.steps._context import intervals_from_json, intervals_to_json
from somnomyo.steps.base import Detector, Night, Scored

if TYPE_CHECKING:  # pragma: no cover
    from somnomyo.io.channels import ChannelRoles
    from somnomyo.rescore import ScoringContext

LEG_ROLES = ("leg_left", "leg_right", "legs")
MISSING = (
    "no usable leg EMG channel (need leg_left/leg_right or a bipolar 'legs' channel; "
    "override with --channel leg_left=LABEL)"
)


def leg_channels(roles: ChannelRoles) -> dict[str, str]:
    """``{side: label}`` of the leg EMG: ``left``/``right``, else one bipolar ``both`` channel."""
    legs: dict[str, str] = {}
    left, right = roles.get("leg_left"), roles.get("leg_right")
    if left:
        legs["left"] = left
    if right:
        legs["right"] = right
    both = roles.get("legs")
    if not legs and both:
        legs["both"] = both
    return legs


def leg_unscorable(
    detector: pd.DataFrame | None, quality: dict[str, pd.DataFrame], legs: dict[str, str]
) -> pd.DataFrame:
    """Time unscorable for leg movements: the union over the leg channels (noisy baseline, flat, clipping, gaps)."""
    from somnomyo.signal.intervals import empty_intervals, merge_intervals

    parts = [df for df in [detector] + [quality.get(lab) for lab in legs.values()] if df is not None and len(df)]
    if not parts:
        return empty_intervals()
    return merge_intervals(pd.concat([p[["onset", "duration", "reason"]] for p in parts], ignore_index=True))


_SIDE_OF_ROLE = {"leg_left": "left", "leg_right": "right", "legs": "both"}


def _with_sides(events: pd.DataFrame, roles: ChannelRoles) -> pd.DataFrame:
    """LM rows without a ``side`` (e.g. added in a review) take it from their channel's role."""
    if len(events) == 0 or ("side" in events.columns and not events["side"].isna().any()):
        return events
    side = (
        events["side"].astype("string")
        if "side" in events.columns
        else pd.Series(pd.NA, index=events.index, dtype="string")
    )
    from_role = events["channel"].astype("object").map(lambda lab: _SIDE_OF_ROLE.get(roles.role_of.get(lab, "")))
    return events.assign(side=side.fillna(from_role.astype("string")))


def run(night: Night) -> Scored:
    """Detect LMs on the conditioned leg EMG and score them."""
    from somnomyo.detect.leg_movements import detect_leg_movements
    from somnomyo.score.plm import score_plm

    night.progress("detecting leg movements")
    legs = leg_channels(night.roles)
    det = detect_leg_movements(
        night.recording,
        legs=legs,
        ecg_label=night.roles.get("ecg"),
        settings=night.settings,
        r_peaks=night.r_peaks,
        conditioned=night.conditioned,
    )
    unscorable = leg_unscorable(det.unscorable, night.unscorable, legs)
    night.progress("scoring periodic limb movements")
    plm = score_plm(
        det.events,
        duration_s=night.recording.duration,
        hypnogram=night.hypnogram,
        annotations=night.annotations,
        unscorable=unscorable,
        settings=night.settings,
    )
    return Scored(
        blocks={"plm": plm.summary()},
        results={"plm": plm},
        events=plm.events,
        context={"unscorable": intervals_to_json(unscorable)},
    )


def from_events(events: pd.DataFrame, context: ScoringContext, earlier: pd.DataFrame) -> Scored:
    """Score the given ``leg_movement`` rows as :func:`run` scores the detected ones."""
    from somnomyo.score.plm import score_plm

    own = context.step("plm")
    plm = score_plm(
        _with_sides(events, context.roles),
        duration_s=context.duration_s,
        hypnogram=context.hypnogram,
        annotations=context.annotations,
        unscorable=intervals_from_json(own.get("unscorable")),
        settings=context.settings,
    )
    return Scored(blocks={"plm": plm.summary()}, results={"plm": plm}, events=plm.events, context=own)


DETECTOR = Detector(
    name="plm",
    family="plm",
    roles=LEG_ROLES,
    trial_types=("leg_movement",),
    blocks=("plm",),
    run=run,
    from_events=from_events,
    required_any=LEG_ROLES,
    missing=MISSING,
)
