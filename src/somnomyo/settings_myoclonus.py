"""Myoclonus-detector parameters (fragmentary myoclonus, jerks, hypnic jerks, clusters,
negative myoclonus, REM phasic EMG). Part of :class:`somnomyo.settings.Settings`
as ``settings.myoclonus``. Every field names its source (AASM, papers in
shared/docs/clinical_rules.md); implementation choices say so.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MyoclonusSettings:
    """Filled in by the myoclonus work (issue 4)."""
