"""A ROUGH wake/sleep estimate from chin and leg EMG, for recordings without EEG or hypnogram.

This is not sleep staging. It only separates epochs with sustained muscle activity (taken
as wake) from quiet epochs (taken as sleep), so that sleep-time denominators (PLMS index per
hour of sleep, PLMW) can be approximated when nothing better exists. It cannot tell N1, N2,
N3 and R apart; the sleep label is a documented choice (``sleep_stage``, default N2), so any
per-stage result computed on it is meaningless. Relaxed quiet wake is read as sleep, so
total sleep time is overestimated.

Method (implementation choice, parameters in :class:`EmgWakeSettings`):

1. each chin/leg EMG is band-passed 10-100 Hz (AASM EMG band; edges and order from
   ``settings.conditioning``, the low-pass kept below Nyquist);
2. RMS in 1-s windows; the channel's resting level is a low percentile (10th) of the
   night's window RMS;
3. a window is *active* when its RMS exceeds ``active_ratio`` (2x) times the resting level;
4. per 30-s epoch, the active fraction of each channel; an epoch is W when the most active
   channel is active for more than half the epoch (the AASM epoch rule: an epoch takes the
   state that occupies most of it), else sleep. A leg movement (0.5-10 s, WASM 2016) thus
   never makes a sleep epoch wake on its own, so periodic limb movements in sleep stay sleep.

The trailing part of the recording that does not fill an epoch, and epochs overlapping an
EDF+D gap, are UNS.
"""

from __future__ import annotations

import math

import numpy as np

from somnomyo._logging import logger, verbose
from somnomyo.errors import check_choice
from somnomyo.io.annotations import SLEEP_STAGES, Hypnogram
from somnomyo.io.recording import Recording, Signal
from somnomyo.settings import ConditioningSettings, Settings, get_settings
from somnomyo.settings_staging import EmgWakeSettings
from somnomyo.signal.filters import butter_filtfilt
from somnomyo.stage.channels import RolesLike, gap_epochs, no_staging_channel_error, usable_signals

EMG_STAGING_ROLES = ("chin", "leg_left", "leg_right", "legs")


def _bandpass(sig: Signal, cond: ConditioningSettings) -> np.ndarray:
    """Zero-phase Butterworth band-pass in float64, AASM EMG band (edges from ``ConditioningSettings``;
    :func:`somnomyo.signal.filters.butter_filtfilt`, the numbers of ``scipy.signal.sosfiltfilt``)."""
    high = min(cond.lowpass_hz, cond.lowpass_max_fraction_of_nyquist * (sig.fs / 2.0))
    return butter_filtfilt(
        sig.data, sig.fs, order=cond.filter_order, low_hz=cond.highpass_hz, high_hz=high, double=True
    )


def epoch_activity(
    sig: Signal,
    n_epochs: int,
    *,
    epoch_s: float = 30.0,
    exclude: np.ndarray | None = None,
    settings: Settings | None = None,
    emg_settings: EmgWakeSettings | None = None,
) -> np.ndarray:
    """Fraction (0-1) of each of the first ``n_epochs`` epochs during which ``sig`` is active.

    See the module docstring for the method. ``exclude`` masks epochs (e.g. gaps) left out of
    the resting level; their fraction is still computed. Epochs beyond the data are NaN.
    """
    cfg = emg_settings or (settings.emg_wake if settings is not None else EmgWakeSettings())
    cond = (settings or get_settings("wasm2016")).conditioning
    x = _bandpass(sig, cond)
    wpe = max(1, int(round(epoch_s / cfg.window_s)))  # windows per epoch
    edges = np.round(np.arange(n_epochs * wpe + 1) * (epoch_s / wpe) * sig.fs).astype(np.int64)
    edges = np.minimum(edges, x.size)
    cum = np.concatenate([[0.0], np.cumsum(x**2)])
    power = cum[edges[1:]] - cum[edges[:-1]]
    count = edges[1:] - edges[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        rms = np.sqrt(np.maximum(power, 0.0) / count).reshape(n_epochs, wpe)  # NaN where no samples
    expected = np.diff(np.round(np.arange(n_epochs * wpe + 1) * (epoch_s / wpe) * sig.fs))
    full = (count == expected).reshape(n_epochs, wpe).all(axis=1)
    ref_mask = full if exclude is None else full & ~exclude
    ref_vals = rms[ref_mask]
    rest = float(np.percentile(ref_vals, cfg.rest_percentile)) if ref_vals.size else cfg.rest_floor_uv
    rest = max(rest, cfg.rest_floor_uv)
    active = rms > cfg.active_ratio * rest
    frac = active.mean(axis=1)
    frac[~full] = np.nan
    logger.debug(
        "EMG activity %r: resting level %.3g, %d of %d epochs active > %g",
        sig.label,
        rest,
        int(np.nansum(frac > cfg.wake_active_fraction)),
        n_epochs,
        cfg.wake_active_fraction,
    )
    return frac


@verbose
def stage_from_emg(
    recording: Recording,
    roles: RolesLike,
    *,
    epoch_s: float = 30.0,
    sleep_stage: str = "N2",
    settings: Settings | None = None,
    emg_settings: EmgWakeSettings | None = None,
    verbose: bool | str | int | None = None,
) -> Hypnogram:
    """ROUGH wake/sleep hypnogram from chin/leg EMG activity; use only when there is no EEG.

    Implementation choice, not a validated or standard method (see the module docstring):
    epochs where the most active chin/leg EMG is active (1-s RMS > 2x its resting level) for
    more than half the epoch are W (AASM majority rule for an epoch), the others sleep,
    labelled ``sleep_stage`` (one of N1, N2, N3, R; default N2 because the hypnogram model has
    no plain "sleep" stage: per-stage results are then meaningless). Logs a warning.
    Parameters: ``emg_settings``, else ``settings.emg_wake``, else the defaults of
    :class:`~somnomyo.settings_staging.EmgWakeSettings`; band-pass edges from ``settings.conditioning``.

    Returns a Hypnogram with ``source="emg_estimate"`` and no probabilities; the incomplete
    last epoch and epochs overlapping EDF+D gaps are UNS.

    Raises ``ChannelError`` (one line, listing the file's channels) when no chin or leg EMG
    sampled at ``min_fs_hz`` or more is loaded.
    """
    check_choice("sleep_stage", sleep_stage, SLEEP_STAGES)
    cfg = emg_settings or (settings.emg_wake if settings is not None else EmgWakeSettings())
    sigs = usable_signals(recording, roles, EMG_STAGING_ROLES, min_fs_hz=cfg.min_fs_hz)
    if not sigs:
        raise no_staging_channel_error(recording)
    n_total = int(math.ceil((recording.duration - 1e-9) / epoch_s))
    gap = gap_epochs(recording, n_total, epoch_s)
    frac = np.vstack(
        [epoch_activity(s, n_total, epoch_s=epoch_s, exclude=gap, settings=settings, emg_settings=cfg) for s in sigs]
    )
    complete = ~np.isnan(frac).any(axis=0) & ~gap
    score = np.where(complete, np.nan_to_num(frac, nan=0.0).max(axis=0), np.nan)
    stages = np.full(n_total, "UNS", dtype="<U3")
    stages[complete] = np.where(score[complete] > cfg.wake_active_fraction, "W", sleep_stage)
    logger.warning(
        "no EEG: sleep/wake ROUGHLY estimated from EMG activity (%s): %d W and %d sleep epochs "
        "(sleep labelled %s; per-stage results are not meaningful)",
        ", ".join(repr(s.label) for s in sigs),
        int((stages == "W").sum()),
        int((stages == sleep_stage).sum()),
        sleep_stage,
    )
    return Hypnogram(stages, epoch_s=epoch_s, start=0.0, source="emg_estimate", path=None)
