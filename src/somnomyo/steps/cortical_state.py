"""Is it benign? The cortical-origin test and the state dependence of the jerks (family ``myoclonus``;
:mod:`somnomyo.interpret`).

``run``: jerk-locked EEG back-averaging on the myoclonic jerks (Shibasaki 1992; Latorre 2023) over
the central EEG, and the state dependence of every event scored before it (ICSD-3 BSMI: sleep
only, stops on arousal). ``from_events``: the state dependence again from the given events (with
the position changes found on the position channel when the night was scored); the cortical
block needs the EEG signal and is kept as scored (marked not recomputed).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pandas as pd

from somnomyo.steps._context import floats
from somnomyo.steps.base import Detector, Night, Scored

if TYPE_CHECKING:  # pragma: no cover
    from somnomyo.io.channels import ChannelRoles
    from somnomyo.rescore import ScoringContext

_VOLT_UNITS = ("uv", "µv", "μv")
NOT_RECOMPUTED = "jerk-locked EEG back-averaging needs the EEG signal; kept as scored"


def jlba_eeg_labels(roles: ChannelRoles) -> list[str]:
    """EEG channels for jerk-locked averaging: the central (sensorimotor) derivations C3/C4/Cz where
    present (premyoclonic spike over the sensorimotor cortex, Shibasaki 1992), else the first two."""
    eeg = list(roles.all("eeg"))
    central = [lab for lab in eeg if re.search(r"(?<![a-z])c[34z](?![0-9])", lab, re.IGNORECASE)]
    return central or eeg[:2]


def run(night: Night) -> Scored:
    """Jerk-locked EEG back-averaging on the myoclonic jerks and their state dependence."""
    from somnomyo.interpret import jerk_locked_average, state_dependence
    from somnomyo.interpret.state import position_changes

    night.progress("testing cortical origin and state dependence")
    recording, events, settings = night.recording, night.events, night.settings
    eeg = [
        recording.signals[lab]
        for lab in jlba_eeg_labels(night.roles)
        if lab in recording.signals and str(recording.signals[lab].unit).lower() in _VOLT_UNITS
    ]
    jerks = events.loc[events["trial_type"].astype(str) == "myoclonic_jerk"]
    bursts_s = (
        jerks["burst_ms"].to_numpy(dtype=float) / 1000.0
        if "burst_ms" in jerks
        else jerks["duration"].to_numpy(dtype=float)
    )
    cortical = jerk_locked_average(
        eeg,
        jerks["onset"].to_numpy(dtype=float),
        hypnogram=night.hypnogram,
        burst_durations_s=bursts_s,
        clusters=events,
        settings=settings,
    )
    cortical.events = jerks.reset_index(drop=True)
    pos_label = night.roles.get("position")
    position = recording.signals.get(pos_label) if pos_label else None
    # state dependence sees every event (leg movements of 0.5-2 s count for the spasm pattern)
    changes = position_changes(position, settings=settings) if position is not None else None
    state = state_dependence(
        events, hypnogram=night.hypnogram, annotations=night.annotations, position_changes_s=changes, settings=settings
    )
    return Scored(
        blocks={"cortical": cortical.summary(), "state": state.summary()},
        results={"cortical": cortical, "state": state},
        context={"cortical": cortical.summary(), "position_changes_s": None if changes is None else floats(changes)},
    )


def from_events(events: pd.DataFrame, context: ScoringContext, earlier: pd.DataFrame) -> Scored:
    """The state dependence of the events scored before (``earlier``); the cortical block as scored."""
    from somnomyo.interpret import state_dependence

    own = context.step("cortical_state")
    state = state_dependence(
        earlier,
        hypnogram=context.hypnogram,
        annotations=context.annotations,
        position_changes_s=own.get("position_changes_s"),
        settings=context.settings,
    )
    return Scored(
        blocks={"cortical": own.get("cortical"), "state": state.summary()},
        results={"state": state},
        context=own,
        not_recomputed={"cortical": NOT_RECOMPUTED},
    )


DETECTOR = Detector(
    name="cortical_state",
    family="myoclonus",
    roles=("position",),
    trial_types=(),
    blocks=("cortical", "state"),
    run=run,
    from_events=from_events,
    extra_labels=jlba_eeg_labels,
    reads_earlier=True,
)
