"""Is it benign? Cortical-origin test (jerk-locked EEG back-averaging), state dependence of
the jerks, and the interpretation rule table that turns summary blocks into findings.

Public API (imported lazily, so that ``somnomyo.settings`` can import
:mod:`somnomyo.interpret.settings` without a cycle):

* :func:`jerk_locked_average` -> :class:`CorticalResult` (``cortical`` block);
* :func:`state_dependence` -> :class:`StateResult` (``state`` block);
* :func:`interpret` -> list of :class:`Finding`; :func:`findings_block` (``interpretation`` block);
* :func:`parse_age`, :func:`population_for`.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "InterpretSettings": "somnomyo.interpret.settings",
    "CorticalResult": "somnomyo.interpret.cortical",
    "jerk_locked_average": "somnomyo.interpret.cortical",
    "burst_duration_stats": "somnomyo.interpret.cortical",
    "cluster_eeg_rhythm": "somnomyo.interpret.cortical",
    "StateResult": "somnomyo.interpret.state",
    "state_dependence": "somnomyo.interpret.state",
    "Finding": "somnomyo.interpret.findings",
    "LEVELS": "somnomyo.interpret.findings",
    "Rule": "somnomyo.interpret.rules",
    "RULES": "somnomyo.interpret.rules",
    "interpret": "somnomyo.interpret.rules",
    "findings_block": "somnomyo.interpret.rules",
    "parse_age": "somnomyo.interpret.rules",
    "population_for": "somnomyo.interpret.rules",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'somnomyo.interpret' has no attribute {name!r}")
