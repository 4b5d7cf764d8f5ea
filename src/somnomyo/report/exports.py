"""Exports of the event table for other tools.

* ``events.edf``: EDF+ with annotations only (no ordinary signals, like the Sleep-EDF
  hypnogram files), one annotation per event and channel, text ``"<label>@@<channel>"`` (the EDF+
  channel-specific annotation convention read by EDFbrowser, MNE and HMC files), so the
  detections can be laid over the recording in a viewer.
* ``events.xml``: NSRR XML (``<PSGAnnotation>``; NSRR "Stages|Stages" and "Limb
  Movement|Limb Movement" vocabulary, PLMs as "Periodic leg movement - left|PLM (Left)").
* :func:`to_mne_annotations`: an ``mne.Annotations`` (MNE imported lazily).

``events.tsv`` and its BIDS sidecar ``events.json`` are written by
:meth:`somnomyo.pipeline.NightResult.write`.
"""

from __future__ import annotations

import datetime as dt
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from somnomyo import __version__
from somnomyo.io.annotations import Hypnogram
from somnomyo.io.atomic import atomic_path

if TYPE_CHECKING:  # pragma: no cover
    import mne

    from somnomyo.pipeline import NightResult

__all__ = [
    "event_labels",
    "event_channels",
    "edf_annotations",
    "write_events_edf",
    "nsrr_concepts",
    "write_events_xml",
    "to_mne_annotations",
    "EVENT_LABELS",
    "NSRR_STAGE_CONCEPTS",
]

#: readable label of each ``trial_type`` (EDF+ annotation text, MNE description)
EVENT_LABELS: dict[str, str] = {
    "leg_movement": "Leg movement",
    "fragmentary_myoclonus": "Fragmentary myoclonus",
    "myoclonic_jerk": "Myoclonic jerk",
    "hypnic_jerk": "Hypnic jerk",
    "jerk_cluster": "Jerk cluster",
    "negative_myoclonus": "Negative myoclonus",
    "phasic_emg": "Phasic EMG",
}
PLM_LABEL = "Periodic leg movement"

#: NSRR stage concepts (NSRR XML ``Stages|Stages`` events; R&K codes 0-5, 9 unscored)
NSRR_STAGE_CONCEPTS: dict[str, str] = {
    "W": "Wake|0",
    "N1": "Stage 1 sleep|1",
    "N2": "Stage 2 sleep|2",
    "N3": "Stage 3 sleep|3",
    "R": "REM sleep|5",
    "UNS": "Unscored|9",
}
_NSRR_LIMB_TYPE = "Limb Movement|Limb Movement"
_NSRR_OTHER_TYPE = "Myoclonus|Myoclonus"


def _str_column(events: pd.DataFrame, name: str) -> np.ndarray:
    if name not in events.columns:
        return np.full(len(events), "", dtype=object)
    return events[name].astype("string").fillna("").str.strip().to_numpy(dtype=object)


def _periodic(events: pd.DataFrame) -> np.ndarray:
    if "periodic" not in events.columns:
        return np.zeros(len(events), dtype=bool)
    return events["periodic"].astype("boolean").fillna(False).to_numpy(dtype=bool)


def event_labels(events: pd.DataFrame) -> np.ndarray:
    """Readable label of each event: ``EVENT_LABELS`` by ``trial_type``; periodic LMs are
    ``"Periodic leg movement"``; an unknown type is written out (``"new_type"`` -> ``"New type"``)."""
    tt = _str_column(events, "trial_type")
    labels = np.array([EVENT_LABELS.get(t, t.replace("_", " ").capitalize() or "Event") for t in tt], dtype=object)
    labels[(tt == "leg_movement") & _periodic(events)] = PLM_LABEL
    return labels


def event_channels(events: pd.DataFrame) -> np.ndarray:
    """Channel text of each event (``"A,B"`` for several channels, ``""`` when none)."""
    ch = _str_column(events, "channel")
    return np.array([",".join(c.strip() for c in s.split(",") if c.strip()) for s in ch], dtype=object)


def edf_annotations(events: pd.DataFrame) -> list[tuple[float, float, str]]:
    """``(onset, duration, text)`` of every event on every channel it was seen on, text
    ``"<label>@@<channel>"``: one annotation per channel, as the EDF+ ``@@channel`` convention
    (EDFbrowser, MNE, HMC files) expects, so each kind has one stable label per channel (an event
    on several muscles gives one annotation on each, in the recording's channel order as written
    in the event table); no ``@@`` when the event has no channel."""
    labels, chans = event_labels(events), event_channels(events)
    on = events["onset"].to_numpy(dtype=float).tolist()
    du = np.nan_to_num(events["duration"].to_numpy(dtype=float), nan=0.0).tolist()
    out: list[tuple[float, float, str]] = []
    for o, d, lab, ch in zip(on, du, labels, chans):
        if not ch:
            out.append((o, d, str(lab)))
            continue
        out += [(o, d, f"{lab}@@{c}") for c in ch.split(",")]
    return out


def write_events_edf(
    events: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    duration_s: float,
    start: dt.datetime | None = None,
    record_s: float = 60.0,
) -> Path:
    """Write ``events`` as an annotations-only EDF+C file (atomically).

    ``duration_s`` (the recording length) sets the file length; ``start`` its start date and
    time (that of the recording, so a viewer aligns the annotations with it).
    """
    from somnomyo.io.edf_write import write_edf

    return write_edf(
        path, [], start=start, annotations=edf_annotations(events), duration_s=duration_s, record_duration=record_s
    )


def nsrr_concepts(events: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """NSRR ``(EventType, EventConcept)`` of each event.

    Leg movements: ``Limb Movement|Limb Movement`` with ``Limb Movement (Left)|Limb Movement
    (Left)`` (Right; no side for a single both-legs channel); periodic ones ``Periodic leg
    movement - left|PLM (Left)``. Other events (no NSRR concept exists): ``Myoclonus|Myoclonus``
    with ``<Label>|<Label>``.
    """
    tt = _str_column(events, "trial_type")
    side = _str_column(events, "side")
    periodic = _periodic(events)
    labels = event_labels(events)
    types = np.where(tt == "leg_movement", _NSRR_LIMB_TYPE, _NSRR_OTHER_TYPE).astype(object)
    concepts = np.array([f"{lab}|{lab}" for lab in labels], dtype=object)
    for s in ("left", "right"):
        cap = s.capitalize()
        lm = (tt == "leg_movement") & (side == s)
        concepts[lm & ~periodic] = f"Limb Movement ({cap})|Limb Movement ({cap})"
        concepts[lm & periodic] = f"Periodic leg movement - {s}|PLM ({cap})"
    lm_other = (tt == "leg_movement") & ~np.isin(side, ("left", "right"))
    concepts[lm_other & ~periodic] = "Limb Movement|Limb Movement"
    concepts[lm_other & periodic] = "Periodic leg movement|PLM"
    return types, concepts


def _stage_runs(hyp: Hypnogram) -> list[tuple[float, float, str]]:
    """Runs of equal stages ``(onset, duration, stage)`` (NSRR writes one event per run)."""
    st = np.asarray(hyp.stages)
    if st.size == 0:
        return []
    change = np.flatnonzero(np.r_[True, st[1:] != st[:-1]])
    ends = np.r_[change[1:], st.size]
    return [(hyp.start + a * hyp.epoch_s, (b - a) * hyp.epoch_s, str(st[a])) for a, b in zip(change, ends)]


def _num(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".") or "0"


def write_events_xml(
    events: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    hypnogram: Hypnogram | None = None,
    duration_s: float | None = None,
    start: dt.datetime | None = None,
) -> Path:
    """Write ``events`` (and the stages of ``hypnogram``) as NSRR XML (atomically).

    Layout: ``<PSGAnnotation><SoftwareVersion/><EpochLength>30</EpochLength><ScoredEvents>``
    with a "Recording Start Time" event, then one ``<ScoredEvent>`` (``EventType``,
    ``EventConcept``, ``Start``, ``Duration``, ``SignalLocation``) per event and per run of
    equal stages (``Stages|Stages``).
    """
    root = ET.Element("PSGAnnotation")
    ET.SubElement(root, "SoftwareVersion").text = f"somnomyo {__version__}"
    epoch = hypnogram.epoch_s if hypnogram is not None else 30.0
    ET.SubElement(root, "EpochLength").text = _num(epoch)
    scored = ET.SubElement(root, "ScoredEvents")

    def add(
        etype: str | None, concept: str, onset: float, dur: float, where: str = "", clock: str | None = None
    ) -> None:
        ev = ET.SubElement(scored, "ScoredEvent")
        t = ET.SubElement(ev, "EventType")
        if etype:
            t.text = etype
        ET.SubElement(ev, "EventConcept").text = concept
        ET.SubElement(ev, "Start").text = _num(onset)
        ET.SubElement(ev, "Duration").text = _num(dur)
        if where:
            ET.SubElement(ev, "SignalLocation").text = where
        if clock:
            ET.SubElement(ev, "ClockTime").text = clock

    clock = f"00.00.00 {start.strftime('%H.%M.%S')}" if start is not None else None
    add(None, "Recording Start Time", 0.0, float(duration_s or 0.0), clock=clock)
    types, concepts = nsrr_concepts(events)
    rows = list(
        zip(
            events["onset"].to_numpy(dtype=float).tolist(),
            np.nan_to_num(events["duration"].to_numpy(dtype=float), nan=0.0).tolist(),
            types.tolist(),
            concepts.tolist(),
            event_channels(events).tolist(),
        )
    )
    if hypnogram is not None:
        rows += [
            (onset, dur, "Stages|Stages", NSRR_STAGE_CONCEPTS[stage], "")
            for onset, dur, stage in _stage_runs(hypnogram)
        ]
    rows.sort(key=lambda r: r[0])  # one time-ordered list, stages among the events (stable sort)
    for o, d, etype, concept, ch in rows:
        add(etype, concept, float(o), float(d), ch)
    ET.indent(root)
    path = Path(path)
    with atomic_path(path) as tmp:
        ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True)
    return path


def to_mne_annotations(events: pd.DataFrame, *, orig_time: Any = None) -> mne.Annotations:
    """The events as ``mne.Annotations``: description = readable label (periodic LMs
    ``"Periodic leg movement"``), ``ch_names`` = the event's channel(s).

    ``orig_time``: the recording start (e.g. ``raw.info["meas_date"]``), or None for
    onsets relative to the first sample. Needs MNE (``pip install mne``).
    """
    import mne

    chans = event_channels(events)
    return mne.Annotations(
        onset=events["onset"].to_numpy(dtype=float),
        duration=np.nan_to_num(events["duration"].to_numpy(dtype=float), nan=0.0),
        description=[str(x) for x in event_labels(events)],
        orig_time=orig_time,
        ch_names=[tuple(c.split(",")) if c else () for c in chans],
    )


def write_exports(night: NightResult, out_dir: str | os.PathLike[str], *, record_s: float = 60.0) -> dict[str, Path]:
    """Write ``events.edf`` and ``events.xml`` of ``night`` into ``out_dir``."""
    out = Path(out_dir)
    rec = night.recording
    return {
        "events_edf": write_events_edf(
            night.events, out / "events.edf", duration_s=rec.duration, start=rec.start, record_s=record_s
        ),
        "events_xml": write_events_xml(
            night.events, out / "events.xml", hypnogram=night.hypnogram, duration_s=rec.duration, start=rec.start
        ),
    }
