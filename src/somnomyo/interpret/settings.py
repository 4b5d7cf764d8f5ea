"""Re-export of the interpretation settings, which live in :mod:`somnomyo.settings_interpret`
(so that :mod:`somnomyo.settings` does not import from the interpretation layer).

Kept for existing imports: ``from somnomyo.interpret.settings import InterpretSettings``.
"""

from __future__ import annotations

from somnomyo.settings_interpret import POPULATION_CHOICES, POPULATIONS, InterpretSettings, Population

__all__ = ["POPULATIONS", "POPULATION_CHOICES", "InterpretSettings", "Population"]
