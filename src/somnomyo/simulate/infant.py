"""Infant night ingredients: benign-sleep-myoclonus-of-infancy (BSMI)-like jerk clusters.

BSMI (ICSD-3; Maurer 2010; Fernandez-Alvarez; docs/rules.md §15.7): repetitive
jerks in clusters at 1-5 Hz over seconds, mostly bilateral and synchronous,
arms > legs, only in sleep, stopping abruptly at an arousal. Single-jerk EMG
duration is [UNCONFIRMED] (no stored source): ``cluster_jerk_ms`` is a setting.
Infant physiology used elsewhere: heart rate 120-150 bpm, breathing ~0.6 Hz.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from somnomyo.io.annotations import SLEEP_STAGES
from somnomyo.simulate.limb import AROUSAL_CLEAR_S, _n
from somnomyo.simulate.options import SimOptions
from somnomyo.simulate.schedule import Burst, Schedule
from somnomyo.simulate.synth import quantize, uniform

RESP_HZ = {"adult": 0.25, "infant": 0.6}


def clusters(
    rng: np.random.Generator,
    sched: Schedule,
    options: SimOptions,
    channels: Sequence[str],
    fs: float,
    arousals: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Jerk clusters in sleep, each ending at an arousal (infant population only)."""
    if options.population != "infant":
        return []
    arms = [c for c in ("Arm L", "Arm R") if c in channels]
    legs = [c for c in ("Leg L", "Leg R") if c in channels]
    n = _n(rng, options.clusters_per_h, sched.hours_in(SLEEP_STAGES))
    out: list[dict[str, Any]] = []
    for cid in range(n):
        for _attempt in range(100):
            t = sched.random_time(rng, SLEEP_STAGES)
            if t is None:
                return out
            rate = float(np.round(uniform(rng, options.cluster_rate_hz), 3))
            dur = float(uniform(rng, options.cluster_duration_s))
            k = max(int(dur * rate), 3)
            period = 1.0 / rate
            jt = t + np.arange(k) * period + rng.uniform(-0.1, 0.1, k) * period
            chans = list(arms) + (list(legs) if (not arms or rng.uniform() < 0.5) else [])
            if not chans:
                return out
            jd = uniform(rng, options.cluster_jerk_ms, k) / 1000.0
            last_end = float(jt[-1] + jd[-1] + 0.03)
            a_on = last_end + rng.uniform(0.1, 0.5)
            a_dur = float(uniform(rng, options.arousal_duration_s))
            span = (t - 2.0, a_on + a_dur + AROUSAL_CLEAR_S)
            if not sched.stage_ok(t - 2.0, last_end + 2.0, SLEEP_STAGES):
                continue
            if any(not sched.free(c, *span, 0.0) for c in set(chans) | set(legs)):
                continue
            if any(x["onset"] < span[1] and span[0] < x["onset"] + x["duration"] for x in arousals):
                continue
            onsets: list[float] = []
            starts: list[float] = []
            ends: list[float] = []
            for tj, dj in zip(jt, jd):  # one jerk: all channels within 0-20 ms (synchronous)
                first_of_jerk = np.inf
                for c in chans:
                    o = float(quantize(tj + rng.uniform(0.0, 0.02), fs))
                    d = float(max(quantize(dj, fs), 2.0 / fs))
                    sched.bursts.append(Burst(c, o, d, float(np.round(uniform(rng, options.jerk_uv), 1)), "peak"))
                    starts.append(o)
                    ends.append(o + d)
                    first_of_jerk = min(first_of_jerk, o)
                onsets.append(first_of_jerk)
            first, last_end = min(starts), max(ends)
            for c in chans:
                sched.occupy(c, first, last_end)
            arousal = {"onset": round(float(a_on), 3), "duration": round(a_dur, 3), "cause": "cluster"}
            arousals.append(arousal)
            out.append(
                {
                    "onset": first,
                    "duration": float(np.round(last_end - first, 6)),
                    "rate_hz": rate,
                    "n_jerks": k,
                    "channels": chans,
                    "jerk_onsets": [float(x) for x in onsets],
                    "arousal_onset": arousal["onset"],
                    "cluster_id": cid,
                    "stage": sched.stage(first),
                }
            )
            break
    return out
