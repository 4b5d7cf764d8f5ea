"""Seeded night simulator with known truth: :func:`simulate_night`, :func:`simulate_short`.

A night is an EDF+C-ready set of channels ("EEG C3-M2", "EEG C4-M1", "EOG E1-M2",
"EOG E2-M1", "EMG Chin", "ECG II", "Leg L", "Leg R", optionally "Arm L", "Arm R",
and "Airflow"), its scored annotations (stages, arousals, respiratory events,
lights), and ``truth``: every designed event plus the ``expected`` results
(:mod:`somnomyo.simulate.truth`). Same seed and options give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from somnomyo._logging import logger
from somnomyo.io.annotations import SLEEP_STAGES, Hypnogram
from somnomyo.io.atomic import write_text_atomic
from somnomyo.io.edf_write import write_edf
from somnomyo.io.recording import ChannelInfo, Recording, Signal
from somnomyo.simulate import ecg as ecg_mod
from somnomyo.simulate import eeg as eeg_mod
from somnomyo.simulate.emg import emg_channel, tonic_levels
from somnomyo.simulate.hypnogram import simulate_hypnogram
from somnomyo.simulate.infant import RESP_HZ, clusters
from somnomyo.simulate.jerks import fragmentary_myoclonus, hypnic_jerks, myoclonic_jerks, negative_myoclonus, twitches
from somnomyo.simulate.limb import LimbDesigner, spontaneous_arousals
from somnomyo.simulate.options import SimOptions
from somnomyo.simulate.respiration import airflow, design_apneas
from somnomyo.simulate.schedule import Schedule
from somnomyo.simulate.synth import EPOCH_S, axpy, rng_for, slow_wander, times
from somnomyo.simulate.truth import expected, truth_events

START = dt.datetime(2000, 1, 1, 22, 0, 0)
EMG_LABELS = ("EMG Chin", "Leg L", "Leg R", "Arm L", "Arm R")
ECG_LABEL = "ECG II"
AIRFLOW_LABEL = "Airflow"
ECG_R_UV = {"adult": 1000.0, "infant": 700.0}


@dataclass
class SimulatedNight:
    """A simulated recording with its known truth.

    ``signals`` (one :class:`Signal` per channel, each at its own rate), ``annotations``
    (``(onset, duration, text)`` as embedded in the EDF), ``hypnogram`` (30-s epochs),
    ``truth`` (JSON-ready dict, see :func:`simulate_night`) and ``r_peaks`` (ECG R-peak
    times, s).
    """

    seed: int
    hours: float
    options: SimOptions
    signals: list[Signal]
    annotations: list[tuple[float, float, str]]
    hypnogram: Hypnogram
    truth: dict[str, Any]
    r_peaks: np.ndarray
    start: dt.datetime = START

    @property
    def duration(self) -> float:
        return float(self.truth["duration_s"])

    @property
    def labels(self) -> list[str]:
        return [s.label for s in self.signals]

    def signal(self, label: str) -> Signal:
        """The channel called ``label``."""
        for s in self.signals:
            if s.label == label:
                return s
        raise KeyError(f"no channel {label!r}; channels: {', '.join(self.labels)}")

    def to_recording(self) -> Recording:
        """The night as an in-memory :class:`Recording` (what a reader would return)."""
        chans = [
            ChannelInfo(
                label=s.label,
                fs=s.fs,
                unit=s.unit,
                samples_per_record=int(s.fs),
                physical_min=float(s.data.min()),
                physical_max=float(s.data.max()),
            )
            for s in self.signals
        ]
        return Recording(
            path=None,
            start=self.start,
            duration=self.duration,
            channels=chans,
            signals={s.label: s for s in self.signals},
            annotations=list(self.annotations),
            file_type="EDF+C",
        )

    def truth_events(self) -> pd.DataFrame:
        """Designed movement events as the standard event table."""
        return truth_events(self.truth)

    def write(self, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
        """Write ``night.edf`` (EDF+C with annotations), ``truth.json`` and ``night-annotations.tsv``.

        Each file is written atomically (temporary name, then rename). Returns
        ``{"edf": ..., "truth": ..., "annotations": ...}``.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        edf = write_edf(
            out / "night.edf", self.signals, start=self.start, annotations=self.annotations, record_duration=1.0
        )
        truth = write_text_atomic(out / "truth.json", json.dumps(self.truth, indent=1) + "\n")
        lines = ["onset\tduration\tlabel"] + [f"{_num(o)}\t{_num(d)}\t{t}" for o, d, t in self.annotations]
        tsv = write_text_atomic(out / "night-annotations.tsv", "\n".join(lines) + "\n")
        logger.info("simulated night written to %s", out)
        return {"edf": edf, "truth": truth, "annotations": tsv}


def _num(x: float) -> str:
    s = f"{x:.6f}".rstrip("0").rstrip(".")
    return s if s not in ("", "-0") else "0"


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(np.round(float(x), 9))
    return x


def _whole_hz(name: str, v: float) -> float:
    if v <= 0 or float(v) != math.floor(v):
        raise ValueError(f"{name} must be a positive whole number of Hz (1-s EDF records); got {v!r}")
    return float(v)


def channel_rates(fs: float, options: SimOptions) -> dict[str, float]:
    """Sampling rate of every channel of the night."""
    _whole_hz("fs", fs)
    f_emg = options.fs_emg if options.fs_emg is not None else fs
    if not 200.0 <= f_emg <= 512.0:
        raise ValueError(f"EMG rate must be within 200-512 Hz (set fs or options.fs_emg); got {f_emg!r}")
    rates = {label: options.fs_eeg or fs for label in eeg_mod.EEG_LABELS}
    rates.update({label: options.fs_eog or fs for label in eeg_mod.EOG_LABELS})
    rates["EMG Chin"] = f_emg
    if options.ecg_channel:
        rates[ECG_LABEL] = options.fs_ecg or fs
    rates.update({"Leg L": f_emg, "Leg R": f_emg})
    if options.arms:
        rates.update({"Arm L": f_emg, "Arm R": f_emg})
    rates[AIRFLOW_LABEL] = options.fs_resp or fs
    return {k: _whole_hz(k, v) for k, v in rates.items()}


def simulate_night(
    *, seed: int = 0, hours: float = 8.0, fs: float = 256.0, options: SimOptions | None = None
) -> SimulatedNight:
    """Simulate a polysomnogram night with known truth.

    ``fs`` is the rate of every channel unless ``options`` sets one per kind
    (``fs_emg`` 200-512 Hz, ``fs_eeg``, ``fs_eog``, ``fs_ecg``, ``fs_resp``). The
    recording lasts ``hours`` rounded up to whole 30-s epochs.

    ``truth`` keys: ``seed``, ``hours``, ``duration_s``, ``start``, ``fs`` (label ->
    Hz), ``options``, ``stages`` (per epoch), ``lights_off``, ``lights_on``,
    ``leg_movements`` (onset, duration, side, channel, kind = periodic | isolated |
    respiratory | long | bilateral_pair, series_id, pair_id, arousal, respiratory
    (WASM 2016 window), respiratory_aasm, stage, amplitude_uv), ``apneas``,
    ``arousals`` (cause = lm | respiratory | spontaneous | cluster),
    ``fragmentary_myoclonus``, ``hypnic_jerks``, ``myoclonic_jerks`` (extent,
    cortical, eeg_lead_ms, eeg_channels), ``negative_myoclonus``, ``twitches``
    (sub-threshold: never LMs), ``clusters`` (infant; ``leg_jerk_onsets``: the jerks the legs
    joined, each after >= 1 s of leg quiet, so they never sum into an LM), ``ecg`` (mean heart rate,
    leak scales) and ``expected`` (see :func:`somnomyo.simulate.truth.expected`).
    Truth onsets/durations sit on the channel's sample grid: an LM's onset is the
    first sample of its burst envelope and onset + duration the end of it.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int; got {seed!r}")
    if not hours > 0:
        raise ValueError(f"hours must be > 0; got {hours!r}")
    options = options or SimOptions()
    rates = channel_rates(fs, options)
    labels = list(rates)
    f_emg = rates["Leg L"]
    n_epochs = int(math.ceil(hours * 3600.0 / EPOCH_S - 1e-9))
    duration = n_epochs * EPOCH_S
    infant = options.population == "infant"
    resp_hz = RESP_HZ[options.population]

    # --- design (truth) ---------------------------------------------------------------
    hyp = simulate_hypnogram(rng_for(seed, "hypnogram"), n_epochs, options)
    sched = Schedule(hyp)
    apneas = design_apneas(rng_for(seed, "apneas"), hyp, options)
    limb = LimbDesigner(rng_for(seed, "leg_movements"), sched, options, f_emg)
    limb.respiratory(apneas)
    if options.leg_movements:
        limb.series()
        limb.isolated("isolated", options.isolated_lm_per_h, tuple(SLEEP_STAGES), options.lm_duration_s)
        limb.isolated("isolated", options.wake_lm_per_h, ("W",), options.lm_duration_s)
        limb.isolated("long", options.long_lm_per_h, tuple(SLEEP_STAGES), options.long_lm_duration_s)
        limb.pairs()
    rng = rng_for(seed, "arousals")
    limb.lm_arousals(rng)
    limb.apnea_arousals(apneas, rng)
    arousals = limb.arousals
    cl = clusters(rng_for(seed, "clusters"), sched, options, labels, f_emg, arousals)
    spontaneous_arousals(rng_for(seed, "spontaneous_arousals"), sched, options, arousals)
    hj = hypnic_jerks(rng_for(seed, "hypnic"), sched, options, labels, f_emg)
    mj = myoclonic_jerks(rng_for(seed, "myoclonic"), sched, options, labels, f_emg, rates["EEG C3-M2"])
    tw = twitches(rng_for(seed, "twitches"), sched, options, f_emg)
    nm = negative_myoclonus(rng_for(seed, "negative_myoclonus"), sched, options, labels, f_emg, tonic_levels(options))
    fm = fragmentary_myoclonus(rng_for(seed, "fm"), sched, options, labels, f_emg)
    arousals.sort(key=lambda a: a["onset"])
    lms = sorted(limb.lms, key=lambda x: (x["onset"], x["channel"]))
    r_peaks, beat_gain, hr = ecg_mod.heart(
        rng_for(seed, "heart"), duration, hr_range=options.infant_hr_bpm if infant else options.hr_bpm, resp_hz=resp_hz
    )

    # --- signals ------------------------------------------------------------------------
    phase = float(rng_for(seed, "mains").uniform(0, 2 * np.pi))
    hum: dict[float, np.ndarray] = {}

    def add_common(label: str, x: np.ndarray, f: float, rng: np.random.Generator, scale: float = 1.0) -> None:
        if options.mains_hz is not None and options.mains_uv > 0 and options.mains_hz < 0.5 * f:
            if f not in hum:
                hum[f] = np.sin(2 * np.pi * options.mains_hz * times(x.size, f) + phase)
            axpy(x, hum[f], scale * options.mains_uv)
        if options.drift_uv > 0:
            axpy(x, slow_wander(rng, x.size, f, options.drift_uv), scale)

    stages = hyp.stages
    data: dict[str, np.ndarray] = {}
    n_eeg = int(duration * rates["EEG C3-M2"])
    rng = rng_for(seed, "signal:EEG")
    data.update(eeg_mod.eeg_channels(rng, n_eeg, rates["EEG C3-M2"], stages, options, arousals, mj))
    for label in eeg_mod.EEG_LABELS:
        add_common(label, data[label], rates[label], rng)
    rng = rng_for(seed, "signal:EOG")
    data.update(eeg_mod.eog_channels(rng, int(duration * rates["EOG E1-M2"]), rates["EOG E1-M2"], stages, options))
    for label in eeg_mod.EOG_LABELS:
        add_common(label, data[label], rates[label], rng)
    if ECG_LABEL in rates:
        f = rates[ECG_LABEL]
        rng = rng_for(seed, "signal:" + ECG_LABEL)
        x = ecg_mod.ecg_signal(
            r_peaks,
            int(duration * f),
            f,
            r_uv=ECG_R_UV[options.population],
            beat_gain=beat_gain,
            time_scale=float(np.sqrt(60.0 / hr)),
        )
        x += 5.0 * rng.standard_normal(x.size, dtype=np.float32)
        add_common(ECG_LABEL, x, f, rng)
        data[ECG_LABEL] = x
    leak = ecg_mod.leak_uv(options)
    for label in [lab for lab in EMG_LABELS if lab in rates]:
        rng = rng_for(seed, "signal:" + label)
        n = int(duration * rates[label])
        x = emg_channel(
            rng,
            label,
            n,
            rates[label],
            stages,
            options,
            [b for b in sched.bursts if b.channel == label],
            [e for e in nm if e["channel"] == label],
            fluctuation_rng=rng_for(seed, "fluctuation:" + label) if options.baseline_fluctuation > 0 else None,
        )
        ecg_mod.add_qrs_leak(x, r_peaks, rates[label], peak_uv=leak[label], beat_gain=beat_gain)
        add_common(label, x, rates[label], rng)
        data[label] = x
    f = rates[AIRFLOW_LABEL]
    rng = rng_for(seed, "signal:" + AIRFLOW_LABEL)
    x = airflow(rng, int(duration * f), f, apneas, resp_hz=resp_hz)
    add_common(AIRFLOW_LABEL, x, f, rng, scale=1e-3)
    data[AIRFLOW_LABEL] = x
    signals = [Signal(label, data[label], rates[label], "a.u." if label == AIRFLOW_LABEL else "uV") for label in labels]

    # --- annotations and truth ------------------------------------------------------------------
    ann: list[tuple[float, float, str]] = [(i * EPOCH_S, EPOCH_S, f"Sleep stage {s}") for i, s in enumerate(stages)]
    ann += [(e["onset"], e["duration"], e["label"]) for e in apneas]
    ann += [(a["onset"], a["duration"], "Arousal") for a in arousals]
    ann += [(hyp.lights_off, 0.0, "Lights off"), (hyp.lights_on, 0.0, "Lights on")]
    ann.sort(key=lambda a: (a[0], a[2]))
    truth: dict[str, Any] = {
        "seed": int(seed),
        "hours": float(hours),
        "duration_s": duration,
        "start": START.isoformat(),
        "fs": rates,
        "options": options.to_dict(),
        "stages": [str(s) for s in stages],
        "lights_off": hyp.lights_off,
        "lights_on": hyp.lights_on,
        "leg_movements": lms,
        "apneas": apneas,
        "arousals": arousals,
        "fragmentary_myoclonus": fm,
        "hypnic_jerks": hj,
        "myoclonic_jerks": mj,
        "negative_myoclonus": nm,
        "twitches": tw,
        "clusters": cl,
        "ecg": {
            "hr_bpm": round(hr, 3),
            "n_beats": int(r_peaks.size),
            "leak_uv": {k: leak[k] for k in ecg_mod.LEAK_SCALE if k in rates},
        },
    }
    truth = _jsonable(truth)
    truth["expected"] = _jsonable(expected(truth, stages, options))
    logger.info(
        "simulated %.2f h night (seed %d): %d LMs, %d PLM series, %d FM",
        duration / 3600.0,
        seed,
        truth["expected"]["n_lm"],
        truth["expected"]["plms_series"],
        truth["expected"]["n_fm"],
    )
    times.cache_clear()
    hypno = Hypnogram(stages.copy(), epoch_s=EPOCH_S, source="annotations")
    return SimulatedNight(
        seed=int(seed),
        hours=float(hours),
        options=options,
        signals=signals,
        annotations=ann,
        hypnogram=hypno,
        truth=truth,
        r_peaks=r_peaks,
    )


def simulate_short(
    seed: int = 0, minutes: float = 20.0, *, fs: float = 256.0, options: SimOptions | None = None
) -> SimulatedNight:
    """A short dense night for fast tests (default options: :meth:`SimOptions.short`)."""
    return simulate_night(seed=seed, hours=minutes / 60.0, fs=fs, options=options or SimOptions.short())
