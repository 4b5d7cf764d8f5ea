"""Bookkeeping for event placement: busy intervals per channel, LM onsets, zones kept free of LMs.

Keeps the known truth honest: no designed event lands on another one on the same
channel unless it is meant to (bilateral pairs use two channels).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from somnomyo.simulate.hypnogram import SimHypnogram
from somnomyo.simulate.synth import EPOCH_S


@dataclass
class Burst:
    """One EMG burst to synthesize: ``mode`` "rms" (calibrated RMS, LM-like trapezoid) or "peak" (jerk)."""

    channel: str
    onset: float
    duration: float
    amplitude: float
    mode: str = "rms"
    rise: float = 0.05
    fall: float = 0.08


@dataclass
class Schedule:
    """Placement state shared by the event designers."""

    hyp: SimHypnogram
    busy: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    lm_onsets: list[float] = field(default_factory=list)
    no_lm_zones: list[tuple[float, float]] = field(default_factory=list)
    bursts: list[Burst] = field(default_factory=list)
    _masks: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict, repr=False)
    _eligible: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict, repr=False)

    def _mask(self, stages: Sequence[str]) -> np.ndarray:
        key = tuple(stages)
        if key not in self._masks:
            self._masks[key] = np.isin(self.hyp.stages, list(key))
        return self._masks[key]

    def _lit(self, stages: Sequence[str]) -> np.ndarray:
        """Indices of epochs in ``stages`` whose middle lies between lights off and lights on."""
        key = tuple(stages)
        if key not in self._eligible:
            mid = (np.arange(self.hyp.stages.size) + 0.5) * EPOCH_S
            self._eligible[key] = np.flatnonzero(
                self._mask(key) & (mid >= self.hyp.lights_off) & (mid <= self.hyp.lights_on)
            )
        return self._eligible[key]

    @property
    def total(self) -> float:
        return self.hyp.stages.size * EPOCH_S

    def stage(self, t: float) -> str:
        i = int(min(max(t, 0.0), self.total - 1e-9) // EPOCH_S)
        return str(self.hyp.stages[i])

    def stage_ok(self, t0: float, t1: float, stages: Sequence[str], *, lights: bool = True) -> bool:
        """Every epoch touched by [t0, t1] is in ``stages`` (and inside lights off-on)."""
        if t0 < 0 or t1 > self.total:
            return False
        if lights and (t0 < self.hyp.lights_off or t1 > self.hyp.lights_on):
            return False
        i0, i1 = int(t0 // EPOCH_S), int(min(t1, self.total - 1e-9) // EPOCH_S)
        return bool(self._mask(stages)[i0 : i1 + 1].all())

    def hours_in(self, stages: Sequence[str]) -> float:
        """Hours of ``stages`` between lights off and lights on."""
        return float(self._lit(stages).size) * EPOCH_S / 3600.0

    def random_time(self, rng: np.random.Generator, stages: Sequence[str]) -> float | None:
        """A uniform random time inside an epoch of ``stages`` (lights period); None if there is none."""
        ok = self._lit(stages)
        if ok.size == 0:
            return None
        return float(ok[rng.integers(0, ok.size)] * EPOCH_S + rng.uniform(0, EPOCH_S))

    def free(self, channel: str, t0: float, t1: float, pad: float) -> bool:
        return not any(a < t1 + pad and t0 - pad < b for a, b in self.busy[channel])

    def occupy(self, channel: str, t0: float, t1: float) -> None:
        self.busy[channel].append((t0, t1))

    def merged(self, channel: str) -> tuple[np.ndarray, np.ndarray]:
        """Busy intervals of ``channel`` merged and sorted: (starts, ends), both increasing."""
        iv = sorted(self.busy[channel])
        starts: list[float] = []
        ends: list[float] = []
        for a, b in iv:
            if starts and a <= ends[-1]:
                ends[-1] = max(ends[-1], b)
            else:
                starts.append(a)
                ends.append(b)
        return np.asarray(starts), np.asarray(ends)

    def free_many(self, channel: str, t0: np.ndarray, t1: np.ndarray, pad: float) -> np.ndarray:
        """Vectorized :meth:`free` for many candidate intervals."""
        starts, ends = self.merged(channel)
        if starts.size == 0:
            return np.ones(np.shape(t0), dtype=bool)
        idx = np.searchsorted(ends, np.asarray(t0) - pad, side="right")
        hit = (idx < starts.size) & (starts[np.minimum(idx, starts.size - 1)] < np.asarray(t1) + pad)
        return ~hit

    def lm_clear(self, t0: float, t1: float, gap: float) -> bool:
        """No LM onset within ``gap`` s of [t0, t1] (onset-to-onset isolation, WASM 2016 IMI > 90 s)."""
        return not any(t0 - gap < o < t1 + gap for o in self.lm_onsets)

    def in_zone(self, t0: float, t1: float) -> bool:
        return any(a < t1 and t0 < b for a, b in self.no_lm_zones)
