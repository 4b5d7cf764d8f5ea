"""The detector registry: every scoring step ``score`` runs, and how each one is scored again
from an event table (``somnomyo.rescore``).

An entry (:class:`Detector`) names the step, the detector family it belongs to (the values of
``--detectors``: ``plm``, ``myoclonus``), the channel roles it reads, the event kinds
(``trial_type``) it owns, the summary blocks it writes, and its two steps:

* ``run(night)``: from the conditioned recording (:class:`Night`) to a :class:`Scored`;
* ``from_events(events, context, earlier)``: from the rows of its event kinds and the
  night's :class:`somnomyo.rescore.ScoringContext` to a :class:`Scored`, by the same
  scoring code (what a step measured on the signal and cannot get from events, e.g. the
  REM tonic epochs, travels in ``Scored.context`` and comes back through the context).

:func:`somnomyo.pipeline.score_night` runs the entries of the requested families in registry
order; :func:`somnomyo.rescore.rescore` runs their ``from_events`` steps in the same order. A
new detector is one module in :mod:`somnomyo.steps` plus one entry in :data:`DETECTORS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from somnomyo.errors import check_choice
from somnomyo.io.channels import EMG_ROLES, ChannelRoles
from somnomyo.steps.base import Detector, FromEventsStep, Night, Progress, RunStep, Scored

if TYPE_CHECKING:  # pragma: no cover
    from somnomyo.settings import Settings

__all__ = [
    "DETECTORS",
    "FAMILIES",
    "Detector",
    "FromEventsStep",
    "Night",
    "Progress",
    "RunStep",
    "Scored",
    "emg_roles",
    "for_families",
    "interpret_blocks",
    "labels_to_read",
    "trial_types",
]


def _entries() -> tuple[Detector, ...]:
    from somnomyo.steps import cortical_state, myoclonus, plm

    return (plm.DETECTOR, myoclonus.DETECTOR, cortical_state.DETECTOR)


DETECTORS: tuple[Detector, ...] = _entries()
#: the detector families (``--detectors``), in registry order
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(d.family for d in DETECTORS))


def for_families(families: Sequence[str]) -> tuple[Detector, ...]:
    """The entries of ``families`` in registry order (raises on an unknown family)."""
    for f in families:
        check_choice("detector", f, FAMILIES)
    return tuple(d for d in DETECTORS if d.family in families)


def emg_roles(entries: Sequence[Detector]) -> tuple[str, ...]:
    """The EMG roles the entries read, in :data:`somnomyo.io.channels.EMG_ROLES` order."""
    used = {r for d in entries for r in d.roles}
    return tuple(r for r in EMG_ROLES if r in used)


def labels_to_read(entries: Sequence[Detector], roles: ChannelRoles, *, auto_staging: bool) -> list[str]:
    """Channels to read for ``entries``: their EMG, the ECG (R peaks for ECG removal), EEG/EOG
    when staging automatically, their other roles, then their extra labels; each once."""
    order = list(emg_roles(entries)) + ["ecg"] + (["eeg", "eog"] if auto_staging else [])
    order += [r for d in entries for r in d.roles if r not in EMG_ROLES and r not in order]
    wanted: list[str] = []
    for role in order:
        wanted += [lab for lab in roles.all(role) if lab not in wanted]
    for d in entries:
        if d.extra_labels is not None:
            wanted += [lab for lab in d.extra_labels(roles) if lab not in wanted]
    return wanted


def interpret_blocks(
    blocks: dict[str, Any],
    results: dict[str, Any],
    *,
    age_days: float | None,
    population: str,
    subject_population: str,
    settings: Settings,
) -> None:
    """Add the ``subject`` block and the ``interpretation`` (the rule table of
    :mod:`somnomyo.interpret.rules` on the blocks) to ``blocks``; the findings to ``results``.
    The last step of scoring and of rescoring."""
    from somnomyo.interpret import findings_block, interpret

    blocks["subject"] = {"age_days": age_days, "population": subject_population}
    findings = interpret(blocks, population=population, age_days=age_days, settings=settings)
    results["interpretation"] = findings
    blocks["interpretation"] = findings_block(findings)


def trial_types(entries: Sequence[Detector] | None = None) -> tuple[str, ...]:
    """Every event kind owned by ``entries`` (default: all)."""
    return tuple(t for d in (DETECTORS if entries is None else entries) for t in d.trial_types)
