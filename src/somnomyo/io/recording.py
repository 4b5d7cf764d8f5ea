"""In-memory model of a recording: header facts for every channel, data for the loaded ones."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class ChannelInfo:
    """Header facts of one signal in the file (every channel, loaded or not)."""

    label: str  # label as in the file, trailing spaces stripped
    fs: float  # sampling rate, Hz (samples per record / record duration)
    unit: str  # physical dimension as written in the file
    transducer: str = ""
    prefilter: str = ""
    physical_min: float = 0.0
    physical_max: float = 0.0
    digital_min: int = 0
    digital_max: int = 0
    samples_per_record: int = 0


@dataclass
class Signal:
    """Samples of one loaded channel, converted to µV when its unit is a voltage."""

    label: str
    data: np.ndarray  # float64, one value per sample; gaps (EDF+D) filled with 0
    fs: float
    unit: str = "uV"  # "uV" after conversion; the file's unit if not a voltage

    @property
    def duration(self) -> float:
        return self.data.size / self.fs

    def times(self) -> np.ndarray:
        return np.arange(self.data.size) / self.fs


@dataclass
class Recording:
    """A recording: header of every channel, data of the channels asked for.

    ``annotations`` holds the raw EDF+ annotations ``(onset, duration, text)`` found in
    the file itself; ``gaps`` lists ``(onset, duration)`` of EDF+D discontinuities (data
    there is filled with 0 and must be treated as unscorable).
    """

    path: Path | None
    start: dt.datetime | None
    duration: float  # seconds, continuous timeline
    channels: list[ChannelInfo]  # every signal in the file (no annotation channels)
    signals: dict[str, Signal] = field(default_factory=dict)
    annotations: list[tuple[float, float, str]] = field(default_factory=list)
    gaps: list[tuple[float, float]] = field(default_factory=list)
    file_type: str = "EDF"  # EDF, EDF+C, EDF+D, BDF, BDF+C, BDF+D

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.channels]

    def channel(self, label: str) -> ChannelInfo:
        for c in self.channels:
            if c.label == label:
                return c
        raise KeyError(label)

    def __getitem__(self, label: str) -> Signal:
        return self.signals[label]
