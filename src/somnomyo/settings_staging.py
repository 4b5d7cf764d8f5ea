"""Sleep-staging parameters: YASA-based automatic staging and the rough EMG wake/sleep
estimate. Part of :class:`somnomyo.settings.Settings` as ``settings.staging`` and
``settings.emg_wake``; used by :mod:`somnomyo.stage.auto` and :mod:`somnomyo.stage.emg_wake`
(see docs/rules.md §14).

The fields are flat so that ``Settings.to_dict``, ``Settings.sources`` and
``Settings.with_overrides(staging={...})`` work on them like on every other group.
"""

from __future__ import annotations

from dataclasses import dataclass

from somnomyo._param import param as _f


@dataclass(frozen=True)
class AutoStagingSettings:
    """Parameters of the YASA-based staging (Vallat & Walker, eLife 2021; YASA ``SleepStaging``)."""

    epoch_s: float = _f(30.0, "YASA classifiers are trained on 30-s epochs (AASM scoring epoch)", unit="s")
    model_fs_hz: float = _f(100.0, "YASA SleepStaging computes its features at 100 Hz", unit="Hz")
    min_duration_s: float = _f(
        300.0,
        "YASA SleepStaging: at least 5 min of data, otherwise results may be unreliable "
        "(its features use 7.5-min rolling windows)",
        unit="s",
    )
    min_fs_hz: float = _f(
        60.0,
        "implementation: YASA features use the 0.4-30 Hz band, so a channel needs Nyquist > 30 Hz",
        unit="Hz",
        unconfirmed=True,
    )
    eeg_preferred: tuple[str, ...] = _f(
        ("C4-M1", "C3-M2", "C4-A1", "C3-A2"),
        "YASA SleepStaging docs: a central EEG referenced to the contralateral mastoid (C4-M1 or C3-M2)",
    )


@dataclass(frozen=True)
class EmgWakeSettings:
    """Parameters of the rough EMG wake/sleep estimate (implementation choices, not a standard)."""

    window_s: float = _f(1.0, "implementation: RMS window for the activity measure", unit="s", unconfirmed=True)
    rest_percentile: float = _f(
        10.0,
        "implementation: a channel's resting level = this percentile of the night's window RMS",
        unit="%",
        unconfirmed=True,
    )
    rest_floor_uv: float = _f(
        0.5,
        "implementation: resting level never below this (MATPLM baseline floor 0.5 µV)",
        unit="µV",
        unconfirmed=True,
    )
    active_ratio: float = _f(
        2.0, "implementation: a window is active above this multiple of the resting level", unconfirmed=True
    )
    wake_active_fraction: float = _f(
        0.5,
        "AASM epoch rule (an epoch takes the state occupying most of it): W when active for more "
        "than this fraction of the epoch",
        unconfirmed=True,
    )
    min_fs_hz: float = _f(
        50.0,
        "implementation: below this rate a 10-100 Hz EMG band cannot be formed (e.g. 1-Hz envelopes)",
        unit="Hz",
        unconfirmed=True,
    )
