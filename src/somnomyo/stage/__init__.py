"""Sleep staging when a recording has no hypnogram.

* :func:`stage_auto`: YASA's pre-trained classifier on EEG (+ EOG, chin EMG); needs the
  ``staging`` extra (``pip install 'somnomyo[staging]'``). Falls back to
  :func:`stage_from_emg` when there is no usable EEG.
* :func:`stage_from_emg`: a ROUGH wake/sleep estimate from chin/leg EMG activity.
* :func:`agreement`: accuracy, Cohen's kappa and confusion counts of two hypnograms.

Parameters: ``Settings.staging`` and ``Settings.emg_wake`` (:mod:`somnomyo.settings_staging`).
"""

from __future__ import annotations

from somnomyo.settings_staging import AutoStagingSettings, EmgWakeSettings
from somnomyo.stage.auto import agreement, pick_eeg, stage_auto
from somnomyo.stage.emg_wake import epoch_activity, stage_from_emg

__all__ = [
    "AutoStagingSettings",
    "EmgWakeSettings",
    "agreement",
    "epoch_activity",
    "pick_eeg",
    "stage_auto",
    "stage_from_emg",
]
