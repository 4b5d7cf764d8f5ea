"""Respiratory events (apneas, hypopneas) and the airflow channel that shows them.

Airflow drops to <= 10 % of its amplitude in an apnea and to ~40 % in a
hypopnea (AASM respiratory scoring: apnea >= 90 % drop, hypopnea >= 30 % drop,
each >= 10 s), with 1-2 s ramps and a few larger recovery breaths after.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from somnomyo.io.annotations import SLEEP_STAGES
from somnomyo.simulate.hypnogram import SimHypnogram
from somnomyo.simulate.options import SimOptions
from somnomyo.simulate.synth import EPOCH_S, lowrate_noise, times, uniform

LABELS = {"obstructive_apnea": "Obstructive apnea", "central_apnea": "Central apnea", "hypopnea": "Hypopnea"}
_DEPTH = {"obstructive_apnea": 0.06, "central_apnea": 0.02, "hypopnea": 0.4}


def _in_stages(hyp: SimHypnogram, t0: float, t1: float, stages: tuple[str, ...]) -> bool:
    """True when every epoch touched by [t0, t1] is in ``stages`` and inside lights off-on."""
    if t0 < hyp.lights_off or t1 > hyp.lights_on:
        return False
    i0, i1 = int(t0 // EPOCH_S), int(min(t1, hyp.stages.size * EPOCH_S - 1e-9) // EPOCH_S)
    return bool(np.isin(hyp.stages[i0 : i1 + 1], stages).all())


def design_apneas(rng: np.random.Generator, hyp: SimHypnogram, options: SimOptions) -> list[dict[str, Any]]:
    """Place apneas/hypopneas inside sleep, at least ``apnea_min_gap_s`` apart."""
    sleep_h = float(np.isin(hyp.stages, SLEEP_STAGES).sum()) * EPOCH_S / 3600.0
    n = int(np.floor(options.apneas_per_h * sleep_h + rng.uniform()))
    if n == 0:
        return []
    out: list[dict[str, Any]] = []
    tries = 0
    total = hyp.stages.size * EPOCH_S
    while len(out) < n and tries < 200 * n:
        tries += 1
        dur = float(np.round(uniform(rng, options.apnea_duration_s), 1))
        t0 = float(np.round(rng.uniform(0, total - dur), 1))
        if not _in_stages(hyp, t0, t0 + dur, SLEEP_STAGES):
            continue
        if any(
            t0 < e["onset"] + e["duration"] + options.apnea_min_gap_s
            and e["onset"] < t0 + dur + options.apnea_min_gap_s
            for e in out
        ):
            continue
        if rng.uniform() < options.hypopnea_fraction:
            kind = "hypopnea"
        else:
            kind = "central_apnea" if rng.uniform() < options.central_fraction else "obstructive_apnea"
        out.append({"onset": t0, "duration": dur, "kind": kind, "label": LABELS[kind], "lm": False, "arousal": False})
    return sorted(out, key=lambda e: e["onset"])


def airflow(rng: np.random.Generator, n: int, fs: float, events: list[dict[str, Any]], *, resp_hz: float) -> np.ndarray:
    """Airflow (a.u., amplitude ~1): breathing at ``resp_hz`` with rate/amplitude wander, drops at events."""
    src_fs = 8.0  # breathing rate/amplitude and event envelopes are slow: made at 8 Hz, interpolated
    m = int(np.ceil(n / fs * src_fs)) + 2
    t_src = np.arange(m) / src_fs
    f_wander = 1.0 + 0.08 * lowrate_noise(rng, m, src_fs, 0.002, 0.02, src_fs=1.0)
    phase = 2 * np.pi * np.cumsum(resp_hz * f_wander) / src_fs
    amp = 1.0 + 0.1 * lowrate_noise(rng, m, src_fs, 0.005, 0.05, src_fs=1.0)
    knots_t = [0.0]
    knots_v = [1.0]
    for e in events:
        a, b = e["onset"], e["onset"] + e["duration"]
        d = _DEPTH[e["kind"]]
        knots_t += [a - 1.0, a + 1.0, b - 1.0, b + 0.5, b + 3 / resp_hz, b + 5 / resp_hz]
        knots_v += [1.0, d, d, 1.6, 1.3, 1.0]
    knots_t.append(n / fs)
    knots_v.append(1.0)
    env = np.interp(t_src, np.asarray(knots_t), np.asarray(knots_v)) * amp
    t = times(n, fs)
    x = np.interp(t, t_src, env) * np.sin(np.interp(t, t_src, phase))
    x += 0.02 * rng.standard_normal(n, dtype=np.float32)
    return x
