"""Exports: events.edf (EDF+ annotations with @@channel), events.xml (NSRR), MNE annotations,
BIDS sidecar; each read back by MNE / edfio / somnomyo's own readers."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from somnomyo.events import make_events
from somnomyo.io.annotation_readers import read_annotations_file
from somnomyo.pipeline import score_night
from somnomyo.report.exports import (
    EVENT_LABELS,
    event_labels,
    nsrr_concepts,
    to_mne_annotations,
    write_events_edf,
    write_events_xml,
    write_exports,
)
from somnomyo.simulate import simulate_short

ONSET_TOL_S = 1e-3


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("exports")
    sim = simulate_short(seed=3, minutes=20)
    files = sim.write(out / "sim")
    night = score_night(files["edf"])
    night.write(out / "scored")
    paths = write_exports(night, out / "scored")
    return {"night": night, "paths": paths, "dir": out / "scored"}


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["onset", "channel", "label"], kind="stable").reset_index(drop=True)


def _expected(night) -> pd.DataFrame:
    """One row per event and channel (events.edf writes one annotation per channel)."""
    ev = night.events
    df = pd.DataFrame(
        {
            "onset": ev["onset"].to_numpy(float),
            "channel": ev["channel"].astype(str).str.split(",").to_numpy(),
            "label": event_labels(ev).astype(str),
        }
    ).explode("channel")
    return _sorted(df.reset_index(drop=True))


# ----------------------------------------------------------------------------- EDF+
def test_events_edf_read_back_by_mne_has_every_event_label_and_channel(exported: dict) -> None:
    mne = pytest.importorskip("mne")
    night = exported["night"]
    ann = mne.read_annotations(exported["paths"]["events_edf"])
    desc = [d.split("@@") for d in ann.description]
    got = _sorted(pd.DataFrame({"onset": ann.onset, "channel": [d[1] for d in desc], "label": [d[0] for d in desc]}))
    exp = _expected(night)
    assert len(got) == len(exp) > len(night.events) > 0  # multi-muscle events: one annotation per channel
    assert np.abs(got["onset"].to_numpy() - exp["onset"].to_numpy()).max() < ONSET_TOL_S
    assert got["label"].tolist() == exp["label"].tolist()
    assert got["channel"].tolist() == exp["channel"].tolist()
    assert {"Leg movement", "Periodic leg movement"} <= set(got["label"])


def test_events_edf_is_annotations_only_and_aligned_with_the_recording(exported: dict) -> None:
    edfio = pytest.importorskip("edfio")
    night = exported["night"]
    edf = edfio.read_edf(exported["paths"]["events_edf"])
    assert edf.num_signals == 0  # annotations only
    assert edf.duration >= night.recording.duration
    assert dt.datetime.combine(edf.startdate, edf.starttime) == night.recording.start
    anns = edf.annotations
    n_chan = night.events["channel"].astype(str).str.count(",").to_numpy() + 1
    assert len(anns) == int(n_chan.sum())
    dur = np.array(sorted(a.duration for a in anns))
    want = np.repeat(night.events["duration"].to_numpy(float), n_chan)
    assert np.allclose(dur, np.sort(want), atol=ONSET_TOL_S)


def test_events_edf_read_back_by_somnomyo_gives_channels_and_limb_kinds(exported: dict) -> None:
    night = exported["night"]
    ann = read_annotations_file(exported["paths"]["events_edf"], duration_s=night.recording.duration)
    got = ann.events.sort_values(["onset", "channel"], kind="stable").reset_index(drop=True)
    ev = night.events.assign(channel=night.events["channel"].astype(str).str.split(",")).explode("channel")
    exp = ev.sort_values(["onset", "channel"], kind="stable").reset_index(drop=True)
    assert len(got) == len(exp)
    assert np.abs(got["onset"].to_numpy(float) - exp["onset"].to_numpy(float)).max() < ONSET_TOL_S
    assert got["channel"].astype(str).tolist() == exp["channel"].astype(str).tolist()
    lm = (exp["trial_type"] == "leg_movement").to_numpy()
    per = exp["periodic"].fillna(False).to_numpy(bool)
    assert (got.loc[lm & per, "kind"] == "plm").all() and (got.loc[lm & ~per, "kind"] == "lm").all()
    # somnomyo reads its own kinds back as what they are, not as unknown markers
    assert (got.loc[~lm, "category"] == "myoclonus").all()
    assert got.loc[~lm, "kind"].tolist() == exp.loc[~lm, "trial_type"].astype(str).tolist()


def test_write_events_edf_of_an_empty_table_is_a_valid_file(tmp_path: Path) -> None:
    mne = pytest.importorskip("mne")
    p = write_events_edf(make_events(None), tmp_path / "empty.edf", duration_s=95.0, record_s=30.0)
    assert len(mne.read_annotations(p)) == 0
    head = p.read_bytes()[:256]
    assert int(head[236:244]) == 4 and float(head[244:252]) == 30.0  # ceil(95 / 30) records of 30 s


# ----------------------------------------------------------------------------- NSRR XML
def test_events_xml_is_nsrr_shaped(exported: dict) -> None:
    root = ET.parse(exported["paths"]["events_xml"]).getroot()
    assert root.tag == "PSGAnnotation"
    assert root.findtext("SoftwareVersion").startswith("somnomyo")
    assert root.findtext("EpochLength") == "30"
    events = root.find("ScoredEvents").findall("ScoredEvent")
    pairs = {(e.findtext("EventType") or "", e.findtext("EventConcept")) for e in events}
    assert ("", "Recording Start Time") in pairs
    assert ("Stages|Stages", "Stage 2 sleep|2") in pairs and ("Stages|Stages", "Wake|0") in pairs
    limb = [c for t, c in pairs if t == "Limb Movement|Limb Movement"]
    assert set(limb) <= {
        "Limb Movement (Left)|Limb Movement (Left)",
        "Limb Movement (Right)|Limb Movement (Right)",
        "Periodic leg movement - left|PLM (Left)",
        "Periodic leg movement - right|PLM (Right)",
    }
    assert any(c.startswith("Periodic leg movement") for c in limb)
    for e in events:
        if e.findtext("EventType") == "Limb Movement|Limb Movement":
            assert e.findtext("SignalLocation") in ("Leg L", "Leg R")


def test_events_xml_read_back_by_the_nsrr_reader_gives_the_same_events_and_stages(exported: dict) -> None:
    night = exported["night"]
    ann = read_annotations_file(exported["paths"]["events_xml"], duration_s=night.recording.duration)
    assert np.array_equal(ann.hypnogram.stages, night.hypnogram.stages)
    got = ann.events.sort_values(["onset", "channel"], kind="stable").reset_index(drop=True)
    exp = night.events.sort_values(["onset", "channel"], kind="stable").reset_index(drop=True)
    assert len(got) == len(exp)
    assert np.abs(got["onset"].to_numpy(float) - exp["onset"].to_numpy(float)).max() < ONSET_TOL_S
    assert np.allclose(got["duration"].to_numpy(float), exp["duration"].to_numpy(float), atol=ONSET_TOL_S)
    assert got["channel"].astype(str).tolist() == exp["channel"].astype(str).tolist()
    lm = (exp["trial_type"] == "leg_movement").to_numpy()
    per = exp["periodic"].fillna(False).to_numpy(bool)
    side = exp["side"].astype("string").fillna("").to_numpy(dtype=object)
    want = np.where(per, "plm_", "lm_").astype(object) + side
    assert got.loc[lm, "kind"].tolist() == want[lm].tolist()
    others = got.loc[~lm]
    assert (others["category"] == "myoclonus").all()  # read back as the project's own concepts
    assert others["kind"].tolist() == exp.loc[~lm, "trial_type"].astype(str).tolist()
    assert set(EVENT_LABELS) >= set(others["kind"])


def test_nsrr_concepts_for_each_side_and_periodicity() -> None:
    ev = make_events(
        [
            {
                "onset": 1.0,
                "duration": 1.0,
                "trial_type": "leg_movement",
                "channel": "Leg L",
                "side": "left",
                "periodic": False,
            },
            {
                "onset": 2.0,
                "duration": 1.0,
                "trial_type": "leg_movement",
                "channel": "Leg R",
                "side": "right",
                "periodic": True,
            },
            {
                "onset": 3.0,
                "duration": 1.0,
                "trial_type": "leg_movement",
                "channel": "Legs",
                "side": "bilateral",
                "periodic": True,
            },
            {"onset": 4.0, "duration": 0.1, "trial_type": "hypnic_jerk", "channel": "Arm L,Leg R"},
        ]
    )
    types, concepts = nsrr_concepts(ev)
    assert list(types) == ["Limb Movement|Limb Movement"] * 3 + ["Myoclonus|Myoclonus"]
    assert list(concepts) == [
        "Limb Movement (Left)|Limb Movement (Left)",
        "Periodic leg movement - right|PLM (Right)",
        "Periodic leg movement|PLM",
        "Hypnic jerk|Hypnic jerk",
    ]


def test_write_events_xml_without_hypnogram_has_no_stage_events(tmp_path: Path) -> None:
    ev = make_events([{"onset": 12.3456, "duration": 0.5, "trial_type": "phasic_emg", "channel": "EMG Chin"}])
    root = ET.parse(write_events_xml(ev, tmp_path / "e.xml", duration_s=60.0)).getroot()
    types = [e.findtext("EventType") for e in root.iter("ScoredEvent")]
    assert "Stages|Stages" not in types
    ev_xml = [e for e in root.iter("ScoredEvent") if e.findtext("EventType") == "Myoclonus|Myoclonus"][0]
    assert ev_xml.findtext("Start") == "12.3456" and ev_xml.findtext("SignalLocation") == "EMG Chin"


# ----------------------------------------------------------------------------- MNE, BIDS sidecar
def test_to_mne_annotations_attach_to_a_raw_with_the_event_channels(exported: dict) -> None:
    mne = pytest.importorskip("mne")
    night = exported["night"]
    ann = to_mne_annotations(night.events)
    assert len(ann) == len(night.events)
    assert list(ann.description) == [str(x) for x in event_labels(night.events)]
    multi = [i for i, c in enumerate(night.events["channel"]) if "," in str(c)]
    for i in multi:
        assert ann.ch_names[i] == tuple(str(night.events["channel"].iloc[i]).split(","))
    labels = list(night.recording.signals)
    info = mne.create_info(labels, 256.0, ch_types="emg")
    raw = mne.io.RawArray(np.zeros((len(labels), int(night.recording.duration * 256))), info, verbose=False)
    raw.set_annotations(to_mne_annotations(night.events, orig_time=raw.info["meas_date"]))
    assert len(raw.annotations) == len(night.events)
    assert np.allclose(np.sort(raw.annotations.onset), np.sort(night.events["onset"].to_numpy(float)), atol=1e-3)


def test_events_sidecar_describes_every_column_of_events_tsv(exported: dict) -> None:
    d = exported["dir"]
    header = (d / "events.tsv").read_text(encoding="utf-8").splitlines()[0].split("\t")
    side = json.loads((d / "events.json").read_text(encoding="utf-8"))
    assert set(side) == set(header)
    for col in header:
        desc = side[col].get("Description", "")
        assert desc and desc != "Detector-specific column.", col
    assert side["onset"]["Units"] == "s" and side["duration"]["Units"] == "s"
    assert set(side["trial_type"]["Levels"]) == set(exported["night"].events["trial_type"].dropna())
