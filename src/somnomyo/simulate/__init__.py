"""Seeded night simulator with known truth (adult and infant nights).

``simulate_night(seed=..., hours=..., fs=..., options=SimOptions(...))`` returns a
:class:`SimulatedNight` whose ``write(out_dir)`` produces ``night.edf`` (EDF+C with
embedded annotations), ``truth.json`` and ``night-annotations.tsv``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from somnomyo.simulate.night import SimulatedNight, simulate_night, simulate_short
    from somnomyo.simulate.options import SimOptions

__all__ = ["simulate_night", "simulate_short", "SimOptions", "SimulatedNight"]

# Imported on first use (PEP 562): the simulator needs scipy.signal and scipy.stats (seconds of
# imports), which the ``somnomyo`` command's option parser, reading only SimOptions, must not pay.
_WHERE = {
    "simulate_night": "somnomyo.simulate.night",
    "simulate_short": "somnomyo.simulate.night",
    "SimulatedNight": "somnomyo.simulate.night",
    "SimOptions": "somnomyo.simulate.options",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
