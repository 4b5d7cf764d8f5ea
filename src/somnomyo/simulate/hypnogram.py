"""Simulated hypnogram: lights off, sleep onset W -> N1 -> N2, NREM/REM cycles, awakenings, lights on.

Adult architecture follows the usual textbook shape (AASM staging; cycles of
~90 min, N3 front-loaded, REM lengthening across the night). Infant nights use
~50-min cycles with about half REM ("active sleep") — plausible, not normative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from somnomyo.io.annotations import SLEEP_STAGES
from somnomyo.simulate.options import SimOptions
from somnomyo.simulate.synth import EPOCH_S, uniform


@dataclass(frozen=True)
class SimHypnogram:
    """Per-epoch stages plus lights times (s from recording start)."""

    stages: np.ndarray  # '<U3', one per 30-s epoch
    lights_off: float
    lights_on: float

    def sleep_onsets(self) -> list[float]:
        """Times of every W -> sleep transition after lights off (sleep onset and returns to sleep)."""
        sleep = np.isin(self.stages, SLEEP_STAGES)
        idx = np.flatnonzero(sleep[1:] & ~sleep[:-1]) + 1
        if sleep.size and sleep[0]:
            idx = np.r_[0, idx]
        return [float(i * EPOCH_S) for i in idx if i * EPOCH_S >= self.lights_off]


def _adult_cycles(rng: np.random.Generator, n_epochs: int) -> list[str]:
    out: list[str] = []
    cycle = 0
    while len(out) < n_epochs:
        length = int(uniform(rng, (80.0, 110.0)) * 2)  # epochs
        rem = int(min(10 + 8 * cycle, 40) * 2 * uniform(rng, (0.7, 1.2)))
        n3 = int(max(30 - 9 * cycle, 0) * 2 * uniform(rng, (0.6, 1.2)))
        nrem = max(length - rem, 20)
        n2a = max(int((nrem - n3) * 0.6), 4)
        n2b = max(nrem - n3 - n2a, 2)
        out += ["N2"] * n2a + ["N3"] * n3 + ["N2"] * n2b + ["N1"] * int(rng.integers(0, 3)) + ["R"] * rem
        cycle += 1
    return out[:n_epochs]


def _infant_cycles(rng: np.random.Generator, n_epochs: int) -> list[str]:
    out: list[str] = []
    while len(out) < n_epochs:
        length = int(uniform(rng, (45.0, 60.0)) * 2)
        rem = int(length * uniform(rng, (0.4, 0.6)))
        nrem = length - rem
        n3 = nrem // 2
        out += ["N2"] * (nrem - n3) + ["N3"] * n3 + ["R"] * rem
    return out[:n_epochs]


def simulate_hypnogram(rng: np.random.Generator, n_epochs: int, options: SimOptions) -> SimHypnogram:
    """Stages of ``n_epochs`` 30-s epochs plus lights off/on, per ``options`` (population, latencies, awakenings)."""
    total = n_epochs * EPOCH_S
    lights_off = float(np.round(uniform(rng, options.lights_off_min) * 60.0))
    lights_on = float(np.round(total - uniform(rng, options.lights_on_before_end_min) * 60.0))
    lights_off = min(lights_off, total / 4)
    lights_on = max(lights_on, lights_off + EPOCH_S)
    onset_ep = int(np.ceil((lights_off + uniform(rng, options.sleep_latency_min) * 60.0) / EPOCH_S))
    end_ep = int(np.floor(lights_on / EPOCH_S)) - 1 - int(rng.integers(1, 4))  # final awakening before lights on
    stages = np.full(n_epochs, "W", dtype="<U3")
    if end_ep - onset_ep >= 2:
        n_sleep = end_ep - onset_ep
        cyc = _infant_cycles(rng, n_sleep) if options.population == "infant" else _adult_cycles(rng, n_sleep)
        n1 = int(rng.integers(2, 5))
        cyc[:n1] = ["N1"] * min(n1, len(cyc))
        stages[onset_ep:end_ep] = cyc
        n_awake = int(np.floor(options.awakenings_per_h * n_sleep * EPOCH_S / 3600.0 + rng.uniform()))
        for _ in range(n_awake):
            # brief awakening: 1-4 epochs of W, then 1-2 epochs of N1 (return to sleep)
            at = int(rng.integers(onset_ep + 10, max(end_ep - 6, onset_ep + 11)))
            w = int(rng.integers(1, 5))
            stages[at : at + w] = "W"
            stages[at + w : at + w + int(rng.integers(1, 3))] = "N1"
        stages[end_ep:] = "W"
    return SimHypnogram(stages=stages, lights_off=lights_off, lights_on=lights_on)
