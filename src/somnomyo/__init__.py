"""somnomyo: find and characterize sleep myoclonus in polysomnograms.

Scores leg movements and periodic limb movements to WASM 2016 or AASM, and
relates every event to sleep stage, arousals and breathing. It supports
clinical decisions; it never diagnoses.
"""

from __future__ import annotations

__version__ = "0.1.0"

from somnomyo._logging import logger, set_log_level
from somnomyo.errors import SomnomyoError
from somnomyo.settings import Settings, get_settings

__all__ = ["__version__", "logger", "set_log_level", "SomnomyoError", "Settings", "get_settings"]
