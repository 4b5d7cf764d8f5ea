"""Is it benign? Cortical-origin test (jerk-locked EEG back-averaging), state dependence of
the jerks, and the interpretation rule table that turns summary blocks into findings.

Public API:

* :func:`jerk_locked_average` -> :class:`CorticalResult` (``cortical`` block);
* :func:`state_dependence` -> :class:`StateResult` (``state`` block);
* :func:`interpret` -> list of :class:`Finding`; :func:`findings_block` (``interpretation`` block);
* :func:`parse_age`, :func:`population_for`.

The parameters are ``Settings.interpret`` (:class:`InterpretSettings`, defined in
:mod:`somnomyo.settings_interpret`); the rules are in docs/rules.md §15.
"""

from __future__ import annotations

from somnomyo.interpret.cortical import CorticalResult, burst_duration_stats, cluster_eeg_rhythm, jerk_locked_average
from somnomyo.interpret.findings import LEVELS, Finding
from somnomyo.interpret.rules import RULES, Rule, findings_block, interpret, parse_age, population_for
from somnomyo.interpret.state import StateResult, state_dependence
from somnomyo.settings_interpret import InterpretSettings

__all__ = [
    "LEVELS",
    "RULES",
    "CorticalResult",
    "Finding",
    "InterpretSettings",
    "Rule",
    "StateResult",
    "burst_duration_stats",
    "cluster_eeg_rhythm",
    "findings_block",
    "interpret",
    "jerk_locked_average",
    "parse_age",
    "population_for",
    "state_dependence",
]
