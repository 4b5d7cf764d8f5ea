"""Seeded night simulator with known truth (adult and infant nights).

``simulate_night(seed=..., hours=..., fs=..., options=SimOptions(...))`` returns a
:class:`SimulatedNight` whose ``write(out_dir)`` produces ``night.edf`` (EDF+C with
embedded annotations), ``truth.json`` and ``night-annotations.tsv``.
"""

from __future__ import annotations

from somnomyo.simulate.night import SimulatedNight, simulate_night, simulate_short
from somnomyo.simulate.options import SimOptions

__all__ = ["simulate_night", "simulate_short", "SimOptions", "SimulatedNight"]
