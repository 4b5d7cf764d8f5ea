"""Short EMG events: hypnic jerks, myoclonic jerks, fragmentary myoclonus, silent periods, twitches.

Sources for the shapes (see docs/rules.md §6-§10):

* Fragmentary myoclonus (FM): potentials <= 150 ms, 50 to a few hundred µV, in any
  muscle; AASM EFM = >= 5 potentials/min sustained for >= 20 min of NREM (AASM
  optional rule; ATS Quick Hits).
* Hypnic jerks (sleep starts, ICSD-3): simultaneous bursts of several muscles at
  the wake-sleep transition, 75-250 ms typical [UNCONFIRMED]; here 100-300 ms with
  0-60 ms lags.
* Myoclonic jerks: 20-250 ms bursts; cortical ones preceded by a small EEG
  transient ~10-40 ms before the EMG onset (Shibasaki 1992: ~20 ms for hand
  muscles; legs longer [UNCONFIRMED]).
* Negative myoclonus: silent periods 50-500 ms in tonic EMG (Clin Neurophysiol 2023;
  [UNCONFIRMED numbers]).
* Twitches below the +8 µV LM onset rule (WASM 2016 and AASM): must not be detected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from somnomyo.io.annotations import SLEEP_STAGES
from somnomyo.simulate.limb import LEGS, _n
from somnomyo.simulate.options import SimOptions
from somnomyo.simulate.schedule import Burst, Schedule
from somnomyo.simulate.synth import EPOCH_S, quantize, uniform

JERK_PAD_S = 1.0  # kept free around a jerk on its channel (> 0.5 s LM offset quiet period)
SIDE_EEG = {"Leg L": "EEG C4-M1", "Arm L": "EEG C4-M1", "Leg R": "EEG C3-M2", "Arm R": "EEG C3-M2"}


def _jerk_bursts(
    sched: Schedule,
    rng: np.random.Generator,
    muscles: list[str],
    onset: float,
    lags_s: np.ndarray,
    durs_s: np.ndarray,
    fs: float,
    amp: tuple[float, float],
) -> dict[str, Any] | None:
    """Quantize, check every muscle is free, commit bursts; return the jerk's truth fields or None."""
    ons = quantize(onset + lags_s, fs)
    durs = np.maximum(quantize(durs_s, fs), 2.0 / fs)
    if not all(sched.free(m, o, o + d, JERK_PAD_S) for m, o, d in zip(muscles, ons, durs)):
        return None
    amps = np.round(uniform(rng, amp, len(muscles)), 1)
    for m, o, d, a in zip(muscles, ons, durs, amps):
        sched.occupy(m, o, o + d)
        sched.bursts.append(Burst(m, float(o), float(d), float(a), "peak"))
    t0 = float(ons.min())
    return {
        "onset": t0,
        "duration": float(np.round(max(ons + durs) - t0, 6)),
        "muscles": muscles,
        "lags_ms": [float(np.round((o - t0) * 1000.0, 3)) for o in ons],
        "durations_ms": [float(np.round(d * 1000.0, 3)) for d in durs],
        "amplitudes_uv": [float(a) for a in amps],
        "stage": sched.stage(t0),
    }


def hypnic_jerks(
    rng: np.random.Generator, sched: Schedule, options: SimOptions, channels: Sequence[str], fs: float
) -> list[dict[str, Any]]:
    """One hypnic jerk near each sleep onset (W -> sleep transition), in all hypnic muscles at once."""
    if not options.hypnic_jerks:
        return []
    muscles = [m for m in options.hypnic_muscles if m in channels]
    if not muscles:
        return []
    out: list[dict[str, Any]] = []
    for t_s in sched.hyp.sleep_onsets():
        for _attempt in range(30):
            t = t_s + rng.uniform(-10.0, 20.0)
            if not sched.stage_ok(t - 1.0, t + 1.0, ("W",) + tuple(SLEEP_STAGES)):
                continue
            lags = uniform(rng, options.hypnic_lag_ms, len(muscles)) / 1000.0
            lags -= lags.min()
            durs = uniform(rng, options.hypnic_duration_ms, len(muscles)) / 1000.0
            jerk = _jerk_bursts(sched, rng, muscles, t, lags, durs, fs, options.jerk_uv)
            if jerk is not None:
                jerk["sleep_onset"] = t_s
                out.append(jerk)
                break
    return out


def myoclonic_jerks(
    rng: np.random.Generator, sched: Schedule, options: SimOptions, channels: Sequence[str], fs: float, fs_eeg: float
) -> list[dict[str, Any]]:
    """Brief jerks (focal, multifocal or generalized); some with a cortical EEG transient before them."""
    emg = [c for c in ("EMG Chin", "Arm L", "Arm R", "Leg L", "Leg R") if c in channels]
    n = _n(rng, options.myoclonic_jerks_per_h, sched.hours_in(options.myoclonic_stages))
    out: list[dict[str, Any]] = []
    for _ in range(n):
        for _attempt in range(50):
            t = sched.random_time(rng, options.myoclonic_stages)
            if t is None:
                return out
            extent = str(rng.choice(["focal", "multifocal", "generalized"], p=[0.4, 0.3, 0.3]))
            if extent == "focal":
                muscles = [str(rng.choice(emg))]
                lags = np.zeros(1)
            elif extent == "multifocal":
                muscles = [str(m) for m in rng.choice(emg, size=min(len(emg), int(rng.integers(2, 4))), replace=False)]
                lags = rng.uniform(0.0, 0.2, len(muscles))  # asynchronous
            else:
                muscles = list(emg)
                lags = rng.uniform(0.0, 0.03, len(muscles))  # near-synchronous
            lags -= lags.min()
            durs = uniform(rng, options.myoclonic_duration_ms, len(muscles)) / 1000.0
            jerk = _jerk_bursts(sched, rng, muscles, t, lags, durs, fs, options.jerk_uv)
            if jerk is None:
                continue
            jerk["extent"] = extent
            cortical = bool(rng.uniform() < options.cortical_fraction and options.eeg_transient_uv > 0)
            jerk["cortical"] = cortical
            jerk["eeg_lead_ms"] = None
            jerk["eeg_channels"] = []
            if cortical:
                lead = float(uniform(rng, options.eeg_lead_ms))
                first = muscles[int(np.argmin(jerk["lags_ms"]))]
                eeg = (
                    ["EEG C3-M2", "EEG C4-M1"]
                    if extent == "generalized" or first not in SIDE_EEG
                    else [SIDE_EEG[first]]
                )
                peak = float(quantize(jerk["onset"] - lead / 1000.0, fs_eeg))
                jerk["eeg_lead_ms"] = float(np.round((jerk["onset"] - peak) * 1000.0, 3))
                jerk["eeg_peak"] = peak
                jerk["eeg_channels"] = eeg
                jerk["eeg_uv"] = options.eeg_transient_uv
            out.append(jerk)
            break
    return out


def twitches(rng: np.random.Generator, sched: Schedule, options: SimOptions, fs: float) -> list[dict[str, Any]]:
    """Sub-threshold leg bursts in sleep (RMS ``twitch_uv`` << 8 µV above baseline): NOT leg movements."""
    n = _n(rng, options.twitches_per_h, sched.hours_in(SLEEP_STAGES))
    out: list[dict[str, Any]] = []
    for _ in range(n):
        for _attempt in range(50):
            t = sched.random_time(rng, SLEEP_STAGES)
            if t is None:
                return out
            ch = LEGS["left" if rng.uniform() < 0.5 else "right"]
            on = float(quantize(t, fs))
            dur = float(quantize(uniform(rng, options.twitch_duration_s), fs))
            if not (sched.stage_ok(on, on + dur, SLEEP_STAGES) and sched.free(ch, on, on + dur, 1.5)):
                continue
            amp = float(np.round(uniform(rng, options.twitch_uv), 2))
            sched.occupy(ch, on, on + dur)
            sched.bursts.append(Burst(ch, on, dur, amp, "rms", 0.1, 0.1))
            out.append({"onset": on, "duration": dur, "channel": ch, "amplitude_uv": amp, "stage": sched.stage(on)})
            break
    return out


def negative_myoclonus(
    rng: np.random.Generator,
    sched: Schedule,
    options: SimOptions,
    channels: Sequence[str],
    fs: float,
    tonic: dict[str, dict[str, float]],
) -> list[dict[str, Any]]:
    """Silent periods in tonic chin/arm EMG during W/N1, only where the tonic level is >= 3x the floor."""
    stages = ("W", "N1")
    n = _n(rng, options.negative_myoclonus_per_h, sched.hours_in(stages))
    out: list[dict[str, Any]] = []
    for _ in range(n):
        for _attempt in range(50):
            t = sched.random_time(rng, stages)
            if t is None:
                return out
            st = sched.stage(t)
            ok = [
                c
                for c in ("EMG Chin", "Arm L", "Arm R")
                if c in channels and tonic[c][st] >= 3.0 * max(options.emg_floor_uv, 1e-6)
            ]
            if not ok:
                continue
            ch = str(rng.choice(ok))
            on = float(quantize(t, fs))
            dur = float(quantize(uniform(rng, options.nm_duration_ms) / 1000.0, fs))
            if not (sched.stage_ok(on - 0.5, on + dur + 0.5, (st,)) and sched.free(ch, on, on + dur, JERK_PAD_S)):
                continue
            sched.occupy(ch, on, on + dur)
            out.append({"onset": on, "duration": dur, "channel": ch, "stage": st})
            break
    return out


def fragmentary_myoclonus(
    rng: np.random.Generator, sched: Schedule, options: SimOptions, channels: Sequence[str], fs: float
) -> list[dict[str, Any]]:
    """FM potentials at ``fm_per_min`` (all channels together), jittered-regular so minute counts stay near the rate."""
    chans = [c for c in options.fm_channels if c in channels]
    if options.fm_per_min <= 0 or not chans:
        return []
    t0, t1 = sched.hyp.lights_off, sched.hyp.lights_on
    mean = 60.0 / options.fm_per_min
    n = int((t1 - t0) / mean * 1.5) + 10
    t = t0 + rng.uniform(0, mean) + np.cumsum(mean * rng.uniform(0.6, 1.4, n))
    dur = uniform(rng, options.fm_duration_ms, n) / 1000.0
    ch = rng.integers(0, len(chans), n)
    amp = np.round(uniform(rng, options.fm_uv, n), 1)
    keep = t + dur < t1
    stages = sched.hyp.stages
    i0 = np.minimum((t // EPOCH_S).astype(np.int64), stages.size - 1)
    i1 = np.minimum(((t + dur) // EPOCH_S).astype(np.int64), stages.size - 1)
    keep &= np.isin(stages[i0], options.fm_stages) & np.isin(stages[i1], options.fm_stages)
    out: list[dict[str, Any]] = []
    for k, c in enumerate(chans):
        sel = np.flatnonzero(keep & (ch == k))
        on = quantize(t[sel], fs)
        d = np.maximum(quantize(dur[sel], fs), 2.0 / fs)
        ok = sched.free_many(c, on, on + d, JERK_PAD_S)
        gap_prev = np.r_[np.inf, on[1:] - (on[:-1] + d[:-1])]
        ok &= gap_prev > JERK_PAD_S  # two potentials on one channel never merge into an LM
        for o, dd, a in zip(on[ok], d[ok], amp[sel][ok]):
            sched.occupy(c, float(o), float(o + dd))
            sched.bursts.append(Burst(c, float(o), float(dd), float(a), "peak"))
            out.append({"onset": float(o), "duration": float(dd), "channel": c, "amplitude_uv": float(a)})
    out.sort(key=lambda e: (e["onset"], e["channel"]))
    return out
