"""The types of a scoring step (:mod:`somnomyo.registry`): the :class:`Night` a ``run`` step
sees, the :class:`Scored` it returns and the registry entry :class:`Detector`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from somnomyo.io.channels import ChannelRoles

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from somnomyo.io.annotations import Annotations, Hypnogram
    from somnomyo.io.recording import Recording
    from somnomyo.rescore import ScoringContext
    from somnomyo.settings import Settings
    from somnomyo.signal.conditioning import ConditionedEMG

Progress = Callable[[str], None]


@dataclass
class Night:
    """What a ``run`` step sees: the recording read and conditioned once for every step.

    ``conditioned``: EMG channels conditioned for the night by label (shared; a step that
    hands them on for reuse removes them, see :func:`somnomyo.detect.myoclonus.emg_traces`);
    ``unscorable``: unscorable time per EMG label from the quality checks; ``events``: the
    event table of the steps run before this one.
    """

    path: Path
    recording: Recording
    roles: ChannelRoles
    hypnogram: Hypnogram
    annotations: Annotations
    settings: Settings
    conditioned: dict[str, ConditionedEMG]
    r_peaks: tuple[np.ndarray, float] | None
    unscorable: dict[str, pd.DataFrame]
    progress: Progress
    events: pd.DataFrame


@dataclass
class Scored:
    """What a step returns: summary ``blocks`` by name, result objects by name, its event rows,
    the JSON-ready ``context`` it needs to be scored again from events (saved in context.json),
    and, when rescoring, the blocks it could not recompute from events (name -> why)."""

    blocks: dict[str, Any]
    results: dict[str, Any] = field(default_factory=dict)
    events: pd.DataFrame | None = None
    context: dict[str, Any] = field(default_factory=dict)
    not_recomputed: dict[str, str] = field(default_factory=dict)


RunStep = Callable[[Night], Scored]
FromEventsStep = Callable[[pd.DataFrame, "ScoringContext", pd.DataFrame], Scored]


@dataclass(frozen=True)
class Detector:
    """One registry entry (see :mod:`somnomyo.registry`).

    ``roles``: the channel roles the step reads (EMG roles are conditioned once for the night);
    ``extra_labels``: further channels it reads, chosen from the roles (e.g. the central EEG);
    ``required_any``: at least one of these roles must have a channel, else the night is refused
    with ``missing`` (+ the file's labels); ``blocks``: the summary blocks it writes, each a key
    of :class:`somnomyo.result.NightSummary`; ``reads_earlier``: ``from_events`` reads the events
    the steps before it scored (``earlier``), not only its own rows (rescoring reuses a step's
    result while everything it reads is unchanged, :func:`somnomyo.rescore.rescore`).
    """

    name: str
    family: str
    roles: tuple[str, ...]
    trial_types: tuple[str, ...]
    blocks: tuple[str, ...]
    run: RunStep
    from_events: FromEventsStep
    required_any: tuple[str, ...] = ()
    missing: str = ""
    extra_labels: Callable[[ChannelRoles], list[str]] | None = None
    reads_earlier: bool = False
