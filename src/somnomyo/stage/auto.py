"""Automatic sleep staging when the recording comes without a hypnogram.

:func:`stage_auto` runs YASA's pre-trained sleep-staging classifier (Vallat & Walker,
eLife 2021;10:e70092, ``yasa.SleepStaging``) on one EEG channel, with one EOG and one chin
EMG when present, and returns a :class:`~somnomyo.io.annotations.Hypnogram` with
``source="auto"`` and the per-epoch stage probabilities. YASA is an optional dependency
(``pip install 'somnomyo[staging]'``); its classifiers ship inside its wheel, so staging
runs offline. Without a usable EEG channel, :func:`stage_auto` falls back to the rough
EMG wake/sleep estimate of :mod:`somnomyo.stage.emg_wake`.

:func:`agreement` compares two hypnograms epoch by epoch (accuracy, Cohen's kappa,
confusion counts), e.g. an automatic one against an expert's.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
from scipy.signal import resample_poly

from somnomyo._logging import logger, verbose
from somnomyo.errors import SomnomyoError
from somnomyo.io.annotations import Hypnogram
from somnomyo.io.recording import Recording, Signal
from somnomyo.settings import Settings
from somnomyo.settings_staging import AutoStagingSettings
from somnomyo.stage.channels import RolesLike, gap_epochs, usable_signals
from somnomyo.stage.emg_wake import stage_from_emg

MISSING_EXTRA = "automatic staging needs the 'staging' extra: pip install 'somnomyo[staging]'"
MODEL_STAGES = ("W", "N1", "N2", "N3", "R")
# YASA writes Wake/REM as "W"/"R" (<= 0.6) or "WAKE"/"REM" (>= 0.7); ART/UNS are not predicted.
_YASA_TO_OURS = {
    "W": "W",
    "WAKE": "W",
    "N1": "N1",
    "N2": "N2",
    "N3": "N3",
    "R": "R",
    "REM": "R",
    "ART": "UNS",
    "UNS": "UNS",
}


# --------------------------------------------------------------------------- EEG choice
def _eeg_rank(label: str, preferred: tuple[str, ...]) -> int:
    """0: preferred derivation (C4-M1, C3-M2, ...); 1: other central; 2: frontal; 3: any other EEG."""
    name = re.sub(r"^EEG", "", re.sub(r"[\s_]", "", label.upper()))
    name = re.sub(r"[:/]", "-", name)
    if name in {p.upper() for p in preferred}:
        return 0
    first = name.split("-")[0]
    if first.startswith("C"):
        return 1
    if first.startswith("F"):
        return 2
    return 3


def pick_eeg(
    signals: Sequence[Signal], *, preferred: tuple[str, ...] = AutoStagingSettings.eeg_preferred
) -> Signal | None:
    """The EEG to stage on: C4-M1/C3-M2 first, then any central, then frontal, then the first EEG.

    YASA SleepStaging docs recommend a central derivation referenced to the mastoid.
    """
    if not signals:
        return None
    ranks = [_eeg_rank(s.label, preferred) for s in signals]
    return signals[int(np.argmin(ranks))]


# --------------------------------------------------------------------------- staging


def _import_yasa() -> tuple[Any, Any]:
    try:
        import mne
        import yasa
    except ImportError as exc:
        raise SomnomyoError(MISSING_EXTRA) from exc
    return yasa, mne


def _resample(data: np.ndarray, fs: float, target: float) -> np.ndarray:
    """Polyphase resampling of ``data`` from ``fs`` to ``target`` Hz (scipy ``resample_poly``)."""
    if fs == target:
        return np.asarray(data, dtype=float)
    ratio = (Fraction(target) / Fraction(fs)).limit_denominator(1000)
    out = resample_poly(np.asarray(data, dtype=float), ratio.numerator, ratio.denominator)
    n = int(round(data.size * target / fs))
    return out[:n]


@verbose
def stage_auto(
    recording: Recording,
    roles: RolesLike,
    *,
    epoch_s: float = 30.0,
    min_confidence: float = 0.5,
    settings: AutoStagingSettings | Settings | None = None,
    verbose: bool | str | int | None = None,
) -> Hypnogram:
    """Sleep stages from EEG (+ EOG, chin EMG) with YASA's pre-trained classifier.

    Source: Vallat R. & Walker M.P., "An open-source, high-performance tool for automated
    sleep staging", eLife 2021;10:e70092 (``yasa.SleepStaging``; LightGBM trained on ~3000
    NSRR nights scored to AASM rules). One EEG is used (C4-M1/C3-M2 preferred, else any
    central, else frontal, else the first EEG), plus the first EOG and chin EMG sampled fast
    enough. Channels are resampled to 100 Hz. YASA labels W/N1/N2/N3/R map to ours.

    Parameters
    ----------
    recording : the recording, with the EEG/EOG/chin channels loaded.
    roles : a ``ChannelRoles`` (``somnomyo.io.channels.infer_roles``) or ``{"eeg": [...],
        "eog": [...], "chin": [...]}`` (leg roles are used by the EMG fallback).
    epoch_s : epoch length; YASA's classifiers only support 30 s.
    min_confidence : epochs whose top probability is below this are flagged in
        ``probabilities["low_confidence"]`` (their stage is kept).
    settings : the full :class:`~somnomyo.settings.Settings` (its ``staging`` group, and for the
        EMG fallback its ``emg_wake`` and ``conditioning`` groups, are used), or an
        :class:`AutoStagingSettings` (defaults when None).

    Returns
    -------
    Hypnogram with ``source="auto"`` and ``probabilities``: one row per epoch, columns W, N1,
    N2, N3, R, ``confidence`` (the top probability) and ``low_confidence``. The end of the
    recording that does not fill a 30-s epoch, and epochs overlapping an EDF+D gap, are UNS
    (probabilities NaN, ``low_confidence`` True).

    Without a usable EEG channel this returns :func:`somnomyo.stage.emg_wake.stage_from_emg`
    (``source="emg_estimate"``, a rough wake/sleep estimate; a warning is logged).

    Raises
    ------
    SomnomyoError : the ``staging`` extra (YASA) is not installed; the EEG is shorter than
        5 min; neither EEG nor chin/leg EMG is available (``ChannelError``).
    """
    full = None if settings is None or isinstance(settings, AutoStagingSettings) else settings
    cfg: AutoStagingSettings = (
        full.staging
        if full is not None
        else settings
        if isinstance(settings, AutoStagingSettings)
        else AutoStagingSettings()
    )
    if not math.isclose(epoch_s, cfg.epoch_s):
        raise ValueError(f"epoch_s must be one of {cfg.epoch_s!r} (YASA's classifiers); got {epoch_s!r}")
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be between 0 and 1; got {min_confidence!r}")
    eeg = pick_eeg(usable_signals(recording, roles, ("eeg",), min_fs_hz=cfg.min_fs_hz), preferred=cfg.eeg_preferred)
    if eeg is None:
        logger.info("no usable EEG channel for automatic staging; trying the EMG wake/sleep estimate")
        return stage_from_emg(recording, roles, epoch_s=epoch_s, settings=full)
    return _stage_yasa(recording, roles, eeg, epoch_s=epoch_s, min_confidence=min_confidence, cfg=cfg)


def _stage_yasa(
    recording: Recording,
    roles: RolesLike,
    eeg: Signal,
    *,
    epoch_s: float,
    min_confidence: float,
    cfg: AutoStagingSettings,
) -> Hypnogram:
    yasa, mne = _import_yasa()
    eog = usable_signals(recording, roles, ("eog",), min_fs_hz=cfg.min_fs_hz)
    chin = usable_signals(recording, roles, ("chin",), min_fs_hz=cfg.min_fs_hz)
    chosen = [(eeg, "eeg")] + [(s[0], t) for s, t in ((eog, "eog"), (chin, "emg")) if s]
    fs = cfg.model_fs_hz
    series = [_resample(sig.data, sig.fs, fs) for sig, _ in chosen]
    spe = int(round(epoch_s * fs))
    n_model = min(x.size for x in series) // spe
    n_total = int(math.ceil((recording.duration - 1e-9) / epoch_s))
    n_model = min(n_model, n_total)
    if n_model * epoch_s < cfg.min_duration_s:
        raise SomnomyoError(
            f"automatic staging needs at least {cfg.min_duration_s / 60:g} min of EEG; "
            f"{eeg.label!r} gives {n_model * epoch_s / 60:g} min of whole {epoch_s:g}-s epochs",
            recording.path,
        )
    data = np.vstack([x[: n_model * spe] for x in series]) * 1e-6  # µV -> V for MNE
    names = [sig.label for sig, _ in chosen]
    info = mne.create_info(names, fs, [t for _, t in chosen], verbose=False)
    raw = mne.io.RawArray(data, info, verbose=False)
    logger.info(
        "automatic staging with YASA %s on %s (%d epochs)",
        getattr(yasa, "__version__", "?"),
        ", ".join(f"{t}={n!r}" for n, (_, t) in zip(names, chosen)),
        n_model,
    )
    kinds = {t: sig.label for sig, t in chosen}
    with warnings.catch_warnings():
        # YASA's shipped classifiers were pickled with an older scikit-learn; harmless here.
        warnings.filterwarnings("ignore", message=".*unpickle estimator.*")
        sls = yasa.SleepStaging(raw, eeg_name=kinds["eeg"], eog_name=kinds.get("eog"), emg_name=kinds.get("emg"))
        pred = sls.predict()
        proba = getattr(pred, "proba", None)
        if proba is None:  # YASA < 0.7: array of labels + predict_proba()
            proba = sls.predict_proba()
    labels = np.asarray(getattr(pred, "hypno", pred)).astype(str)
    stages = np.full(n_total, "UNS", dtype="<U3")
    stages[:n_model] = [_YASA_TO_OURS.get(v.upper(), "UNS") for v in labels[:n_model]]
    proba = pd.DataFrame(proba).rename(columns=lambda c: _YASA_TO_OURS.get(str(c).upper(), str(c)))
    probs = np.full((n_total, len(MODEL_STAGES)), np.nan)
    probs[:n_model] = proba.reindex(columns=list(MODEL_STAGES)).to_numpy(dtype=float)[:n_model]
    gap = gap_epochs(recording, n_total, epoch_s)
    stages[gap] = "UNS"
    probs[gap] = np.nan
    frame = pd.DataFrame(probs, columns=list(MODEL_STAGES))
    frame.index.name = "epoch"
    frame["confidence"] = frame[list(MODEL_STAGES)].max(axis=1, skipna=False)
    frame["low_confidence"] = ~(frame["confidence"] >= min_confidence)  # NaN (UNS) -> True
    n_low = int((frame["confidence"] < min_confidence).sum())
    if n_low:
        logger.info("automatic staging: %d of %d epochs below confidence %g", n_low, n_model, min_confidence)
    return Hypnogram(stages, epoch_s=epoch_s, start=0.0, source="auto", path=None, probabilities=frame)


# --------------------------------------------------------------------------- agreement


def agreement(auto: Hypnogram, expert: Hypnogram) -> dict[str, Any]:
    """Epoch-by-epoch agreement of ``auto`` with ``expert`` (accuracy, Cohen's kappa, confusion).

    Each epoch of ``auto`` is compared with the expert stage at its centre (so differing
    starts or epoch lengths are handled by time). Only epochs scored in both (neither UNS)
    count. Cohen's kappa = (p_o - p_e) / (1 - p_e) (Cohen, Educ Psychol Meas 1960), with p_e
    from the two marginal distributions over W, N1, N2, N3, R.

    Returns ``{"n_epochs", "accuracy", "kappa", "stages", "confusion"}``: ``confusion[e][a]``
    counts epochs the expert scored ``e`` and ``auto`` scored ``a``. ``accuracy`` is None
    when no epoch is scored in both, and ``kappa`` also when chance agreement is 1 (both
    scorers used one and the same stage throughout: kappa is undefined).
    """
    centres = auto.start + (np.arange(auto.n_epochs) + 0.5) * auto.epoch_s
    a = auto.stages
    e = expert.stage_at(centres)
    both = (a != "UNS") & (e != "UNS")
    stages = list(MODEL_STAGES)
    order = np.argsort(stages)  # stage codes: index into MODEL_STAGES
    ai = order[np.searchsorted(stages, a[both], sorter=order)]
    ei = order[np.searchsorted(stages, e[both], sorter=order)]
    k = len(stages)
    conf = np.bincount(ei * k + ai, minlength=k * k).reshape(k, k)
    n = int(conf.sum())
    accuracy: float | None = None
    kappa: float | None = None
    if n:
        from somnomyo.score.agreement import cohen_kappa  # one kappa for stages and index categories

        accuracy = float(np.trace(conf)) / n
        kappa = cohen_kappa(conf)
    return {
        "n_epochs": n,
        "accuracy": accuracy,
        "kappa": kappa,
        "stages": stages,
        "confusion": {s: {t: int(conf[i, j]) for j, t in enumerate(stages)} for i, s in enumerate(stages)},
    }
