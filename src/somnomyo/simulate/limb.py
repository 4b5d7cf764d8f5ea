"""Designed leg movements (LMs), PLM series, respiratory LMs, and arousals.

Rules the design respects so that the truth is unambiguous under both standards:

* LM duration 0.5-10 s (WASM 2016 CLM, AASM LM); "long" LMs last > 10 s and are
  not CLMs (WASM 2016) nor LMs (AASM, 10 s maximum).
* PLM series: >= 4 LMs with IMIs (onset to onset) inside ``plm_imi_s`` within
  [15, 60] s, entirely in sleep (WASM 2016 10-90 s; AASM 5-90 s).
* Every other LM is > ``isolation_s`` (> 90 s, the IMI maximum) from any LM onset,
  so it can never join or break a series.
* Respiratory LMs start 0-5 s after an apnea/hypopnea end (inside the WASM 2016
  window, 2.0 s before to 10.25 s after the end); all other LMs stay outside
  [event onset - 10 s, event end + 25 s], beyond both the WASM and the AASM
  (0.5 s around the event) windows.
* LM-arousals start 0-1 s after the LM onset (overlap: associated, WASM 2016 and
  AASM); every other arousal is >= 3 s away from any LM (not associated: the
  rule needs overlap or < 0.5 s).
* Bilateral pairs overlap on the two legs (WASM 2016: < 0.5 s gap; AASM: onsets
  < 5 s apart) and last <= 15 s together (WASM 2016 bilateral maximum).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from somnomyo.io.annotations import SLEEP_STAGES
from somnomyo.settings import get_settings
from somnomyo.simulate.options import SimOptions
from somnomyo.simulate.schedule import Burst, Schedule
from somnomyo.simulate.synth import quantize, uniform

LEGS = {"left": "Leg L", "right": "Leg R"}
OTHER = {"left": "right", "right": "left"}
ZONE_BEFORE_S = 10.0  # LM-free zone before a respiratory event onset (> AASM 0.5 s)
ZONE_AFTER_S = 25.0  # LM-free zone after its end (> WASM 2016 10.25 s + arousal span)
AROUSAL_CLEAR_S = 3.0  # unrelated arousals stay this far from any LM (> 0.5 s association gap)


def _n(rng: np.random.Generator, rate_per_h: float, hours: float) -> int:
    """Stochastic rounding of rate x hours (deterministic per seed)."""
    return int(np.floor(rate_per_h * hours + rng.uniform()))


class LimbDesigner:
    """Places every designed LM on the legs and the arousals tied to LMs and breathing."""

    def __init__(self, rng: np.random.Generator, sched: Schedule, options: SimOptions, fs: float) -> None:
        self.rng, self.s, self.o, self.fs = rng, sched, options, fs
        self.lms: list[dict[str, Any]] = []
        self.arousals: list[dict[str, Any]] = []
        self._series = 0
        self._pairs = 0
        self._pad = 1.5  # s kept free around an LM on its leg (> 0.5 s offset quiet period)

    # --- helpers -------------------------------------------------------------------------
    def _lm(self, onset: float, duration: float, side: str, kind: str, **extra: Any) -> dict[str, Any]:
        on = float(quantize(onset, self.fs))
        dur = float(quantize(duration, self.fs))
        amp = float(np.round(uniform(self.rng, self.o.lm_amplitude_uv), 2))
        lm = {
            "onset": on,
            "duration": dur,
            "side": side,
            "channel": LEGS[side],
            "kind": kind,
            "series_id": None,
            "pair_id": None,
            "arousal": False,
            "respiratory": False,
            "respiratory_aasm": False,
            "stage": self.s.stage(on),
            "amplitude_uv": amp,
        }
        lm.update(extra)
        return lm

    def _commit(self, lms: list[dict[str, Any]]) -> None:
        for lm in lms:
            self.lms.append(lm)
            self.s.lm_onsets.append(lm["onset"])
            self.s.occupy(lm["channel"], lm["onset"], lm["onset"] + lm["duration"])
            self.s.bursts.append(
                Burst(
                    lm["channel"],
                    lm["onset"],
                    lm["duration"],
                    lm["amplitude_uv"],
                    "rms",
                    self.o.lm_rise_s,
                    self.o.lm_fall_s,
                )
            )

    def _ok(self, lm: dict[str, Any], stages: tuple[str, ...], *, check_zone: bool = True) -> bool:
        a, b = lm["onset"], lm["onset"] + lm["duration"]
        return (
            self.s.stage_ok(a, b, stages)
            and (not check_zone or not self.s.in_zone(a - 1.0, b + 1.0))
            and self.s.free(lm["channel"], a, b, self._pad)
            and self.s.free(LEGS[OTHER[lm["side"]]], a, b, 1.0)
        )

    def _side(self) -> str:
        return "left" if self.rng.uniform() < 0.5 else "right"

    # --- design steps ----------------------------------------------------------------------
    def respiratory(self, apneas: list[dict[str, Any]]) -> None:
        """Zones around respiratory events; LMs 0-5 s after some event ends (respiratory LMs)."""
        for e in apneas:
            self.s.no_lm_zones.append((e["onset"] - ZONE_BEFORE_S, e["onset"] + e["duration"] + ZONE_AFTER_S))
        if not self.o.leg_movements:
            return
        for e in apneas:
            if self.rng.uniform() >= self.o.respiratory_lm_prob:
                continue
            end = e["onset"] + e["duration"]
            lm = self._lm(
                end + uniform(self.rng, self.o.respiratory_lm_delay_s),
                uniform(self.rng, self.o.lm_duration_s),
                self._side(),
                "respiratory",
                respiratory=True,
            )
            if not (
                self._ok(lm, tuple(SLEEP_STAGES) + ("W",), check_zone=False)
                and self.s.lm_clear(lm["onset"], lm["onset"], self.o.isolation_s)
            ):
                continue
            lm["respiratory_aasm"] = bool(lm["onset"] <= end + 0.5)
            e["lm"] = True
            self._commit([lm])

    def series(self) -> None:
        """PLM series entirely inside ``plm_stages`` with IMIs in ``plm_imi_s``."""
        n = _n(self.rng, self.o.plm_series_per_h, self.s.hours_in(SLEEP_STAGES))
        lo, hi = self.o.plm_series_length
        for _ in range(n):
            for attempt in range(300):
                k = int(self.rng.integers(lo, hi + 1)) if attempt < 150 else lo
                t0 = self.s.random_time(self.rng, self.o.plm_stages)
                if t0 is None:
                    return
                # IMIs drawn one sample inside the range, so rounding to samples keeps them inside
                margin = 1.0 / self.fs
                imis = uniform(self.rng, (self.o.plm_imi_s[0] + margin, self.o.plm_imi_s[1] - margin), k - 1)
                onsets = t0 + np.r_[0.0, np.cumsum(imis)]
                side0 = self._side()
                lms = [
                    self._lm(
                        t,
                        uniform(self.rng, self.o.lm_duration_s),
                        side0 if self.rng.uniform() < 0.8 else OTHER[side0],
                        "periodic",
                        series_id=self._series,
                    )
                    for t in onsets
                ]
                last_end = lms[-1]["onset"] + lms[-1]["duration"]
                if not self.s.stage_ok(lms[0]["onset"], last_end, self.o.plm_stages):
                    continue
                if not self.s.lm_clear(lms[0]["onset"], lms[-1]["onset"], self.o.isolation_s):
                    continue
                if not all(self._ok(lm, self.o.plm_stages) for lm in lms):
                    continue
                self._commit(lms)
                self._series += 1
                break

    def isolated(self, kind: str, rate_per_h: float, stages: tuple[str, ...], duration: tuple[float, float]) -> None:
        """LMs (or long LMs) > ``isolation_s`` from every other LM."""
        n = _n(self.rng, rate_per_h, self.s.hours_in(stages))
        for _ in range(n):
            for _attempt in range(200):
                t = self.s.random_time(self.rng, stages)
                if t is None:
                    return
                lm = self._lm(t, uniform(self.rng, duration), self._side(), kind)
                if self._ok(lm, stages) and self.s.lm_clear(lm["onset"], lm["onset"], self.o.isolation_s):
                    self._commit([lm])
                    break

    def pairs(self) -> None:
        """Bilateral pairs: overlapping LMs on both legs, onsets ``bilateral_lag_s`` apart."""
        n = _n(self.rng, self.o.bilateral_pairs_per_h, self.s.hours_in(SLEEP_STAGES))
        bi_max = get_settings().clm.bi_max_s or 15.0
        for _ in range(n):
            for _attempt in range(200):
                t = self.s.random_time(self.rng, SLEEP_STAGES)
                if t is None:
                    return
                first = self._side()
                d1 = uniform(self.rng, self.o.lm_duration_s)
                lag = uniform(self.rng, self.o.bilateral_lag_s)
                d2 = max(uniform(self.rng, self.o.lm_duration_s), lag + 0.5)
                a = self._lm(t, d1, first, "bilateral_pair", pair_id=self._pairs)
                b = self._lm(t + lag, d2, OTHER[first], "bilateral_pair", pair_id=self._pairs)
                span = max(a["onset"] + a["duration"], b["onset"] + b["duration"]) - a["onset"]
                if span > bi_max:
                    continue
                ok = all(
                    self.s.stage_ok(x["onset"], x["onset"] + x["duration"], SLEEP_STAGES)
                    and not self.s.in_zone(x["onset"] - 1.0, x["onset"] + x["duration"] + 1.0)
                    and self.s.free(x["channel"], x["onset"], x["onset"] + x["duration"], self._pad)
                    for x in (a, b)
                )
                if ok and self.s.lm_clear(a["onset"], b["onset"], self.o.isolation_s):
                    self._commit([a, b])
                    self._pairs += 1
                    break

    def lm_arousals(self, rng: np.random.Generator) -> None:
        """Arousals starting 0-1 s after some LM onsets (pairs: one arousal for both LMs)."""
        groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for i, lm in enumerate(sorted(self.lms, key=lambda x: x["onset"])):
            key = ("pair", lm["pair_id"]) if lm["pair_id"] is not None else ("lm", i)
            groups.setdefault(key, []).append(lm)
        onsets = np.sort(np.asarray(self.s.lm_onsets))
        min_dur = self.o.arousal_duration_s[0]
        for members in groups.values():
            if rng.uniform() >= self.o.lm_arousal_prob:
                continue
            on = min(m["onset"] for m in members)
            a_on = on + uniform(rng, self.o.lm_arousal_delay_s)
            dur = uniform(rng, self.o.arousal_duration_s)
            later = onsets[onsets > on + 0.5]
            later = later[~np.isin(later, [m["onset"] for m in members])]
            if later.size:
                dur = min(dur, later[0] - AROUSAL_CLEAR_S - a_on)
            if dur < min_dur:
                continue
            a_on = max(round(float(a_on), 3), on)  # never before the LM onset
            self.arousals.append({"onset": a_on, "duration": round(float(dur), 3), "cause": "lm"})
            for m in members:
                m["arousal"] = True

    def apnea_arousals(self, apneas: list[dict[str, Any]], rng: np.random.Generator) -> None:
        """Arousals at the end of some respiratory events that have no LM."""
        for e in apneas:
            if e.get("lm") or rng.uniform() >= self.o.apnea_arousal_prob:
                continue
            a_on = e["onset"] + e["duration"] + rng.uniform(-1.0, 2.0)
            dur = uniform(rng, self.o.arousal_duration_s)
            self.arousals.append(
                {"onset": round(float(a_on), 3), "duration": round(float(dur), 3), "cause": "respiratory"}
            )
            e["arousal"] = True


def spontaneous_arousals(
    rng: np.random.Generator, sched: Schedule, options: SimOptions, arousals: list[dict[str, Any]]
) -> None:
    """Arousals unrelated to LMs/breathing: >= 3 s from any leg event and from other arousals, off apnea zones."""
    n = _n(rng, options.spontaneous_arousals_per_h, sched.hours_in(SLEEP_STAGES))
    for _ in range(n):
        for _attempt in range(100):
            t = sched.random_time(rng, SLEEP_STAGES)
            if t is None:
                return
            dur = float(uniform(rng, options.arousal_duration_s))
            a, b = t - AROUSAL_CLEAR_S, t + dur + AROUSAL_CLEAR_S
            if sched.in_zone(a, b) or any(x["onset"] < b and a < x["onset"] + x["duration"] for x in arousals):
                continue
            if not (sched.free("Leg L", a, b, 0.0) and sched.free("Leg R", a, b, 0.0)):
                continue
            arousals.append({"onset": round(t, 3), "duration": round(dur, 3), "cause": "spontaneous"})
            break
