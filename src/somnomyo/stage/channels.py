"""Channels for sleep staging, shared by both methods (:mod:`somnomyo.stage.auto`, YASA on EEG, and
:mod:`somnomyo.stage.emg_wake`, the EMG wake/sleep estimate): which loaded signals of a role are
usable, the epochs lost to recording gaps, and the error when no channel can stage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from somnomyo._logging import logger
from somnomyo.errors import ChannelError
from somnomyo.io.channels import ChannelRoles
from somnomyo.io.recording import Recording, Signal
from somnomyo.signal.intervals import overlaps_any, spans_from

RolesLike = ChannelRoles | Mapping[str, str | Sequence[str]]
"""Channel roles: a :class:`~somnomyo.io.channels.ChannelRoles` or a plain ``{role: [labels]}`` mapping."""


def role_labels(roles: RolesLike, role: str) -> list[str]:
    """Labels given to ``role`` by a ``ChannelRoles`` object or a plain ``{role: [labels]}`` dict."""
    if isinstance(roles, Mapping):
        val = roles.get(role) or []
        return [val] if isinstance(val, str) else list(val)
    return list(roles.all(role))


def usable_signals(
    recording: Recording, roles: RolesLike, role_names: Sequence[str], *, min_fs_hz: float
) -> list[Signal]:
    """Loaded signals of the given roles sampled at ``min_fs_hz`` or more (others are logged and skipped)."""
    out: list[Signal] = []
    for role in role_names:
        for label in role_labels(roles, role):
            sig = recording.signals.get(label)
            if sig is None:
                logger.info("staging: %s channel %r is not loaded; skipped", role, label)
            elif sig.fs < min_fs_hz:
                logger.warning(
                    "staging: %s channel %r is sampled at %g Hz (< %g Hz); skipped", role, label, sig.fs, min_fs_hz
                )
            elif all(s.label != label for s in out):
                out.append(sig)
    return out


def no_staging_channel_error(recording: Recording) -> ChannelError:
    """The one-line error when neither EEG nor chin/leg EMG is available."""
    labels = ", ".join(recording.labels) or "none"
    return ChannelError(
        "no hypnogram and no usable EEG or chin/leg EMG channel to estimate one; "
        f"stage-dependent indices need a hypnogram; channels in the file: {labels}",
        recording.path,
    )


def gap_epochs(recording: Recording, n_epochs: int, epoch_s: float) -> np.ndarray:
    """Boolean mask of epochs overlapping an EDF+D gap (data there is zero-filled, not scorable)."""
    if not (recording.gaps and n_epochs):
        return np.zeros(n_epochs, dtype=bool)
    gaps = np.asarray(recording.gaps, dtype=float).reshape(-1, 2)
    starts = np.arange(n_epochs) * epoch_s
    return overlaps_any(starts, starts + epoch_s, *spans_from(gaps[:, 0], gaps[:, 1], clip_negative=False))
