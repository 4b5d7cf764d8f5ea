"""General EMG conditioning: band-pass, mains removal, ECG removal, rectified envelope.

One pipeline shared by every EMG detector (leg movements, fragmentary myoclonus, jerks)::

    raw -> band-pass (zero phase) -> mains + harmonics that carry hum removed (ringless running sinusoid)
        -> ECG artefact subtracted (local median QRS template) -> |x| -> moving average

Parameters come from :class:`somnomyo.settings.ConditioningSettings`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from somnomyo._logging import logger
from somnomyo.settings import ConditioningSettings
from somnomyo.signal.ecg import detect_r_peaks, ecg_peaks_in_emg, resample_peaks, subtract_ecg
from somnomyo.signal.envelope import envelope as _envelope
from somnomyo.signal.filters import (
    bandpass,
    choose_mains,
    detect_mains,
    hum_harmonics,
    mains_evidence_db,
    remove_mains,
)

__all__ = ["ConditionedEMG", "condition_emg", "condition_recording", "detect_r_peaks"]


@dataclass
class ConditionedEMG:
    """Result of :func:`condition_emg` (arrays float32, µV, one value per input sample).

    ``filtered``: band-passed, mains and ECG removed. ``envelope``: rectified ``filtered``
    smoothed over ``envelope_window_s``. ``r_peaks``: sample indices (at ``fs``) of the beats
    subtracted (empty when no ECG removal was done). ``mains_hz``: mains frequency removed, or
    ``None``. ``ecg_source``: ``"given"``, ``"ecg"``, ``"emg"`` or ``""`` (none).
    ``mains_harmonics``: how many harmonics of ``mains_hz`` (the fundamental counted) were removed,
    or ``None`` when no mains removal was done (recorded so a viewer can filter exactly as scored).
    """

    filtered: np.ndarray
    envelope: np.ndarray
    fs: float
    r_peaks: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    mains_hz: float | None = None
    ecg_source: str = ""
    mains_harmonics: int | None = None

    @property
    def rectified(self) -> np.ndarray:
        return np.abs(self.filtered)

    def with_envelope(self, window_s: float) -> ConditionedEMG:
        """The same conditioned EMG (arrays shared, not copied) with the envelope over ``window_s``."""
        return replace(self, envelope=_envelope(self.filtered, self.fs, window_s=window_s))


def condition_emg(
    data: np.ndarray,
    fs: float,
    *,
    settings: ConditioningSettings,
    ecg: np.ndarray | None = None,
    ecg_fs: float | None = None,
    r_peaks: np.ndarray | None = None,
) -> ConditionedEMG:
    """Condition one EMG channel (µV) sampled at ``fs``.

    ECG removal (``settings.ecg_removal``; WASM 2016 recommends it, MATPLM ``removeEKG.m``):
    R peaks are taken from ``r_peaks`` (sample indices **at this EMG rate**) when given, else
    detected in ``ecg`` (sampled at ``ecg_fs``, default ``fs``) and moved to this rate, else
    looked for in the EMG itself (heart-like periodic spikes). Non-finite samples are set to 0.
    """
    y = _bandpassed(data, fs, settings=settings)
    mains = None
    if settings.mains_removal:
        mains = settings.mains_hz if settings.mains_hz is not None else detect_mains(y, fs, settings=settings)
    peaks, source = None, ""
    if settings.ecg_removal:
        if r_peaks is not None:
            peaks, source = np.asarray(r_peaks, dtype=np.int64), "given"
        elif ecg is not None:
            efs = fs if ecg_fs is None else ecg_fs
            peaks = resample_peaks(detect_r_peaks(ecg, efs, settings=settings), efs, fs, y.size)
            source = "ecg"
    return _finish(y, fs, settings=settings, mains=mains, peaks=peaks, source=source)


def _bandpassed(data: np.ndarray, fs: float, *, settings: ConditioningSettings) -> np.ndarray:
    """Non-finite samples set to 0 (logged), then :func:`bandpass`."""
    if fs < 200:
        logger.warning("EMG sampled at %g Hz, below the 200 Hz AASM minimum; low-pass edge lowered", fs)
    return bandpass(data, fs, settings=settings, finite=True)


def _finish(
    y: np.ndarray,
    fs: float,
    *,
    settings: ConditioningSettings,
    mains: float | None,
    peaks: np.ndarray | None,
    source: str,
) -> ConditionedEMG:
    """Mains removal at ``mains`` (None: none), ECG removal (``peaks`` at ``fs``; None: looked for
    in the EMG itself when ``ecg_removal``), envelope."""
    harmonics: int | None = None
    if settings.mains_removal and mains is not None:
        harmonics = hum_harmonics(y, fs, mains_hz=mains, settings=settings)
        y = remove_mains(
            y,
            fs,
            mains_hz=mains,
            settings=settings,
            overwrite=True,  # y is ours
            harmonics=harmonics,
        )
    else:
        mains = None
    used = np.zeros(0, np.int64)
    if settings.ecg_removal:
        if peaks is None:
            peaks, source = ecg_peaks_in_emg(y, fs, settings=settings), "emg"
        if peaks.size:
            y, used = subtract_ecg(y, fs, peaks, settings=settings, overwrite=True)  # y is ours
        if used.size == 0:
            source = ""
        logger.debug("ECG removal: %d beats subtracted (source %s)", used.size, source or "none")
    else:
        source = ""
    env = _envelope(y, fs, window_s=settings.envelope_window_s)
    return ConditionedEMG(
        filtered=y,
        envelope=env,
        fs=float(fs),
        r_peaks=used,
        mains_hz=mains,
        ecg_source=source,
        mains_harmonics=harmonics,
    )


def condition_recording(
    recording: Any,
    labels: Sequence[str],
    *,
    settings: ConditioningSettings,
    r_peaks: tuple[np.ndarray, float] | None = None,
    on_bandpassed: Callable[[str, np.ndarray], None] | None = None,
) -> dict[str, ConditionedEMG]:
    """Condition the EMG channels ``labels`` of ``recording`` once, for every detector of a night.

    Same steps as :func:`condition_emg`, except that the mains frequency is a property of the
    recording: unless ``settings.mains_hz`` fixes it, it is detected ONCE, as the candidate with
    the strongest spectral evidence over all the channels (a weak hum under tonic EMG is missed
    on a channel alone), and removed from every channel. ``r_peaks``: ECG R peaks as
    ``(sample indices, ECG fs)``, moved to each channel's rate; without them each channel is
    searched for heart-like spikes. Returns label -> :class:`ConditionedEMG` (envelope over
    ``settings.envelope_window_s``; :meth:`ConditionedEMG.with_envelope` gives other windows
    from the same filtered EMG). ``on_bandpassed(label, band_passed)``, when given, is called once per
    channel with its band-passed float32 signal (before mains and ECG removal; not to be modified
    or kept), e.g. for the quality checks (:func:`somnomyo.signal.quality.assess_quality`
    ``filtered=``), so that no channel is filtered twice.
    """
    sigs = {lab: recording.signals[lab] for lab in dict.fromkeys(labels)}
    band = {lab: _bandpassed(sig.data, sig.fs, settings=settings) for lab, sig in sigs.items()}
    mains = settings.mains_hz
    if settings.mains_removal and mains is None and band:
        mains = choose_mains([mains_evidence_db(y, sigs[lab].fs) for lab, y in band.items()], settings=settings)
        logger.debug("mains detection over %d channel(s): %s", len(band), "none" if mains is None else f"{mains:g} Hz")
    out: dict[str, ConditionedEMG] = {}
    for lab in list(band):  # loop over channels
        y = band.pop(lab)  # the band-passed copy is freed as we go
        fs = float(sigs[lab].fs)
        if on_bandpassed is not None:
            on_bandpassed(lab, y)
        peaks, source = None, ""
        if settings.ecg_removal and r_peaks is not None:
            peaks = resample_peaks(np.asarray(r_peaks[0]), float(r_peaks[1]), fs, y.size)
            source = "ecg"
        out[lab] = _finish(y, fs, settings=settings, mains=mains, peaks=peaks, source=source)
    return out
