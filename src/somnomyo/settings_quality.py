"""Signal-quality thresholds (flat, clipping, mains, ECG, unit checks). Part of
:class:`somnomyo.settings.Settings` as ``settings.quality``; used by
:func:`somnomyo.signal.quality.assess_quality`.

Every value is an implementation choice, not a standard, so each field is marked
``unconfirmed`` in its metadata and names what it is for; only the 10-100 Hz EMG band and the
10-Hz high-pass come from AASM. The fields are flat so that ``Settings.to_dict``,
``Settings.sources`` and ``Settings.with_overrides(quality={...})`` work on them like on every
other group.
"""

from __future__ import annotations

from dataclasses import dataclass

from somnomyo._param import param as _f


@dataclass(frozen=True)
class QualitySettings:
    """Thresholds of the signal-quality checks (implementation choices, not standards)."""

    flat_std_uv: float = _f(
        0.05, "implementation: a window SD below this is a flat/disconnected channel", unit="µV", unconfirmed=True
    )
    flat_std_min_fs_hz: float = _f(
        50.0,
        "implementation: the SD floor applies to raw signals only; slower channels (1 Hz envelopes such "
        "as Sleep-EDF 'EMG submental') are smooth by design",
        unit="Hz",
        unconfirmed=True,
    )
    flat_run_s: float = _f(
        1.0, "implementation: a run of identical samples this long marks a dead channel", unit="s", unconfirmed=True
    )
    flat_run_min_samples: int = _f(
        5, "implementation: minimum identical-sample run, for low sampling rates", unconfirmed=True
    )
    clip_fraction: float = _f(
        0.01, "implementation: fraction of a window's samples at the rails that flags clipping", unconfirmed=True
    )
    clip_tolerance: float = _f(
        0.001,
        "implementation: distance from a physical limit, as a fraction of the range, that still counts as at the rail",
        unconfirmed=True,
    )
    clip_min_run_samples: int = _f(
        3,
        "implementation: without physical limits, runs of at least this many samples at the data max/min "
        "count as clipped",
        unconfirmed=True,
    )
    mains_hz: tuple[float, ...] = _f(
        (50.0, 60.0),
        "implementation: mains frequencies checked (50 Hz Europe/Asia, 60 Hz Americas)",
        unit="Hz",
        unconfirmed=True,
    )
    mains_half_width_hz: float = _f(1.0, "implementation: half width of the mains band", unit="Hz", unconfirmed=True)
    mains_band_hz: tuple[float, float] = _f(
        (10.0, 100.0), "AASM EMG band 10-100 Hz, used as the reference power", unit="Hz", unconfirmed=True
    )
    mains_ratio: float = _f(
        0.5, "implementation: mains-band power over 10-100 Hz power above this flags mains", unconfirmed=True
    )
    mains_unscorable: bool = _f(
        False, "implementation: mains-dominated time excluded from denominators if True", unconfirmed=True
    )
    ecg_lag_s: tuple[float, float] = _f(
        (0.5, 2.5), "implementation: ECG beat spacing searched, 0.4-2 Hz", unit="s", unconfirmed=True
    )
    ecg_min_autocorr: float = _f(
        0.5, "implementation: autocorrelation peak of the rectified signal that flags ECG", unconfirmed=True
    )
    ecg_min_prominence: float = _f(
        0.3,
        "implementation: the ECG autocorrelation peak must rise this much above the trough before it "
        "(rejects single long bursts)",
        unconfirmed=True,
    )
    ecg_highpass_hz: float = _f(
        10.0, "AASM EMG high-pass 10 Hz, applied before the ECG check", unit="Hz", unconfirmed=True
    )
    ecg_envelope_lowpass_hz: float = _f(
        20.0,
        "implementation: low-pass of the rectified (squared) signal before the ECG autocorrelation "
        "(removes the 100/120 Hz ripple of squared mains)",
        unit="Hz",
        unconfirmed=True,
    )
    ecg_min_fs_hz: float = _f(
        50.0, "implementation: no ECG check below this sampling rate", unit="Hz", unconfirmed=True
    )
    unit_min_uv: float = _f(
        0.01,
        "implementation: a median absolute amplitude below this suggests volts written as µV",
        unit="µV",
        unconfirmed=True,
    )
    unit_max_uv: float = _f(
        10000.0,
        "implementation: a median absolute amplitude above this suggests nV (or a mV/V scale error) written as µV",
        unit="µV",
        unconfirmed=True,
    )
    annotation_start_tolerance_s: float = _f(
        1.0,
        "implementation: an annotation/hypnogram file whose own start date-time (EDF header, NSRR "
        "ClockTime) is further than this from the recording's belongs to another recording or counts "
        "from another time 0, and is refused (EDF start times have a resolution of 1 s)",
        unit="s",
        unconfirmed=True,
    )
