"""Infant night ingredients: benign-sleep-myoclonus-of-infancy (BSMI)-like jerk clusters.

BSMI (ICSD-3; Maurer 2010; Fernandez-Alvarez; docs/rules.md §15.7): repetitive
jerks in clusters at 1-5 Hz over seconds, mostly bilateral and synchronous,
arms > legs, only in sleep, stopping abruptly at an arousal. Single-jerk EMG
duration is [UNCONFIRMED] (no stored source): ``cluster_jerk_ms`` is a setting.
Infant physiology used elsewhere: heart rate 120-150 bpm, breathing ~0.6 Hz.

The clusters design no leg movement (LM), so their leg EMG must not meet the LM rule
(WASM 2016/AASM, docs/rules.md §1.3): an LM ends only at >= 0.5 s at <= +2 µV above
baseline, so 50-200 ms jerks at 1-5 Hz (0-0.45 s apart) on one leg would sum into one
LM of the cluster's length. Arms carry every jerk; the legs (arms > legs) join a jerk only
after ``JERK_PAD_S`` (1 s) of quiet since their last burst, and a cluster needs an arm
channel (legs alone cannot jerk at 1-5 Hz below the LM rule). The jerks of a cluster are
discrete: each lasts at most ``JERK_MAX_PERIOD_FRACTION`` of the jerk period (a 200-ms jerk
at 5 Hz would fuse with the next into continuous activity).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from somnomyo.io.annotations import SLEEP_STAGES
from somnomyo.simulate.jerks import JERK_PAD_S
from somnomyo.simulate.limb import AROUSAL_CLEAR_S, _n
from somnomyo.simulate.options import SimOptions
from somnomyo.simulate.schedule import Burst, Schedule
from somnomyo.simulate.synth import quantize, uniform

RESP_HZ = {"adult": 0.25, "infant": 0.6}
JERK_MAX_PERIOD_FRACTION = 0.5  # [UNCONFIRMED] implementation: a cluster jerk lasts <= half the jerk period


def clusters(
    rng: np.random.Generator,
    sched: Schedule,
    options: SimOptions,
    channels: Sequence[str],
    fs: float,
    arousals: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Jerk clusters in sleep, each ending at an arousal (infant population only; needs an arm channel).

    Legs take part in a jerk only after ``JERK_PAD_S`` of quiet since their last burst (module
    docstring): their bursts never sum into an LM, which the truth does not design.
    """
    if options.population != "infant":
        return []
    arms = [c for c in ("Arm L", "Arm R") if c in channels]
    legs = [c for c in ("Leg L", "Leg R") if c in channels]
    if not arms:
        return []
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
            chans = list(arms) + (list(legs) if rng.uniform() < 0.5 else [])
            # discrete jerks: each ends before the next (<= half the period; at 5 Hz <= 100 ms)
            jd = np.minimum(uniform(rng, options.cluster_jerk_ms, k) / 1000.0, JERK_MAX_PERIOD_FRACTION * period)
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
            leg_onsets: list[float] = []
            starts: list[float] = []
            ends: list[float] = []
            leg_end = -np.inf
            for tj, dj in zip(jt, jd):  # one jerk: all channels within 0-20 ms (synchronous)
                first_of_jerk = leg_first = np.inf
                with_legs = tj - leg_end >= JERK_PAD_S  # legs quiet long enough to end an LM
                for c in chans:
                    if c in legs and not with_legs:
                        continue
                    o = float(quantize(tj + rng.uniform(0.0, 0.02), fs))
                    d = float(max(quantize(dj, fs), 2.0 / fs))
                    sched.bursts.append(Burst(c, o, d, float(np.round(uniform(rng, options.jerk_uv), 1)), "peak"))
                    starts.append(o)
                    ends.append(o + d)
                    first_of_jerk = min(first_of_jerk, o)
                    if c in legs:
                        leg_first, leg_end = min(leg_first, o), max(leg_end, o + d)
                if leg_first < np.inf:
                    leg_onsets.append(leg_first)
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
                    "leg_jerk_onsets": [float(x) for x in leg_onsets],
                    "arousal_onset": arousal["onset"],
                    "cluster_id": cid,
                    "stage": sched.stage(first),
                }
            )
            break
    return out
