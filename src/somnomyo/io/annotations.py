"""One normalized annotation model for every reader.

``Annotations`` holds a :class:`Hypnogram` and one event table with columns
``onset, duration, category, kind, label, channel``:

* ``category``: ``arousal``, ``respiratory``, ``limb``, ``lights``, ``marker``
* ``kind``: normalized subtype, e.g. ``obstructive_apnea``, ``central_apnea``,
  ``mixed_apnea``, ``apnea``, ``hypopnea``, ``rera`` (respiratory); ``arousal``,
  ``respiratory_arousal``, ``lm_arousal`` (arousal); ``lm``, ``plm``, ``lm_left``,
  ``lm_right`` (limb); ``lights_off``, ``lights_on`` (lights); the label itself
  for markers.
* ``label``: the text as written in the source file.

Stages: W, N1, N2, N3, R, UNS (R&K S3+S4 -> N3, "?"/movement -> UNS).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

STAGES = ("W", "N1", "N2", "N3", "R", "UNS")
SLEEP_STAGES = ("N1", "N2", "N3", "R")
NREM_STAGES = ("N1", "N2", "N3")
CATEGORIES = ("arousal", "respiratory", "limb", "lights", "myoclonus", "marker")
EVENT_COLUMNS = ("onset", "duration", "category", "kind", "label", "channel")


def empty_annotation_events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "onset": pd.Series(dtype="float64"),
            "duration": pd.Series(dtype="float64"),
            "category": pd.Series(dtype="string"),
            "kind": pd.Series(dtype="string"),
            "label": pd.Series(dtype="string"),
            "channel": pd.Series(dtype="string"),
        }
    )


@dataclass
class Hypnogram:
    """Sleep stages in fixed epochs: ``stages[i]`` covers ``[start + i*epoch_s, start + (i+1)*epoch_s)``.

    ``source`` is ``"annotations"`` (scored by a person, from a file), ``"auto"`` (YASA),
    ``"emg_estimate"`` (rough wake/sleep estimate from EMG activity) or
    ``"none"`` (no hypnogram: every epoch UNS). ``probabilities`` may hold per-epoch
    stage probabilities for automatic staging.
    """

    stages: np.ndarray  # dtype '<U3', values in STAGES
    epoch_s: float = 30.0
    start: float = 0.0  # seconds from recording start of epoch 0
    source: str = "annotations"
    path: str | None = None
    probabilities: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        self.stages = np.asarray(self.stages, dtype="<U3")
        bad = set(np.unique(self.stages)) - set(STAGES)
        if bad:
            raise ValueError(f"unknown stage labels {sorted(bad)}; allowed: {', '.join(STAGES)}")

    @classmethod
    def unscored(cls, duration_s: float, epoch_s: float = 30.0) -> Hypnogram:
        n = int(np.ceil(duration_s / epoch_s))
        return cls(np.full(n, "UNS"), epoch_s=epoch_s, source="none")

    @property
    def n_epochs(self) -> int:
        return int(self.stages.size)

    @property
    def end(self) -> float:
        return self.start + self.n_epochs * self.epoch_s

    def stage_at(self, t: np.ndarray | float) -> np.ndarray:
        """Stage at time(s) ``t`` (s from recording start); UNS outside the hypnogram."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        idx = np.floor((t - self.start) / self.epoch_s).astype(np.int64)
        ok = (idx >= 0) & (idx < self.n_epochs)
        out = np.full(t.shape, "UNS", dtype="<U3")
        out[ok] = self.stages[idx[ok]]
        return out

    def fit_to(self, duration_s: float) -> Hypnogram:
        """Epoch-aligned copy covering ``[0, duration_s)``: missing epochs UNS, extra dropped."""
        n = int(np.ceil((duration_s - 1e-9) / self.epoch_s))
        times = np.arange(n) * self.epoch_s + self.epoch_s / 2
        return Hypnogram(
            self.stage_at(times),
            epoch_s=self.epoch_s,
            start=0.0,
            source=self.source,
            path=self.path,
            probabilities=self.probabilities,
        )

    def seconds_in(self, stages: tuple[str, ...] | str) -> float:
        stages = (stages,) if isinstance(stages, str) else stages
        return float(np.isin(self.stages, stages).sum() * self.epoch_s)

    def sleep_period(self) -> tuple[float, float] | None:
        """(start, end) s of the sleep period: first to last sleep epoch, or None if no sleep."""
        idx = np.flatnonzero(np.isin(self.stages, SLEEP_STAGES))
        if idx.size == 0:
            return None
        return (self.start + idx[0] * self.epoch_s, self.start + (idx[-1] + 1) * self.epoch_s)

    def counts(self) -> dict[str, int]:
        return {s: int((self.stages == s).sum()) for s in STAGES}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "onset": self.start + np.arange(self.n_epochs) * self.epoch_s,
                "duration": self.epoch_s,
                "stage": self.stages,
            }
        )


@dataclass
class Annotations:
    """Everything scored on a recording, normalized (see module docstring)."""

    hypnogram: Hypnogram | None = None
    events: pd.DataFrame = field(default_factory=empty_annotation_events)
    sources: list[str] = field(default_factory=list)  # files the annotations came from
    warnings: list[str] = field(default_factory=list)  # problems found and handled
    # (role, path) of the separate files read: "annotations" or "hypnogram" (for the results manifest)
    inputs: list[tuple[str, Path]] = field(default_factory=list)

    def of(self, category: str, kinds: tuple[str, ...] | None = None) -> pd.DataFrame:
        ev = self.events
        sel = ev["category"] == category
        if kinds is not None:
            sel &= ev["kind"].isin(kinds)
        return ev.loc[sel.fillna(False)].reset_index(drop=True)

    @property
    def arousals(self) -> pd.DataFrame:
        return self.of("arousal")

    @property
    def respiratory(self) -> pd.DataFrame:
        return self.of("respiratory")

    @property
    def limb_movements(self) -> pd.DataFrame:
        return self.of("limb")

    @property
    def markers(self) -> pd.DataFrame:
        return self.of("marker")

    @property
    def lights_off(self) -> float | None:
        ev = self.of("lights", ("lights_off",))
        return float(ev["onset"].min()) if len(ev) else None

    @property
    def lights_on(self) -> float | None:
        ev = self.of("lights", ("lights_on",))
        return float(ev["onset"].max()) if len(ev) else None

    def counts(self) -> dict[str, int]:
        """Counts per category plus stage epochs (for ``somnomyo info``)."""
        out = {c: int((self.events["category"] == c).sum()) for c in CATEGORIES}
        if self.hypnogram is not None:
            out.update({f"stage_{k}": v for k, v in self.hypnogram.counts().items()})
        return out
