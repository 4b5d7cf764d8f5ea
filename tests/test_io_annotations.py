"""Annotation readers, label normalization, merge and sidecar discovery."""

from __future__ import annotations

import logging
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from somnomyo.errors import AnnotationError
from somnomyo.io.annotation_readers import (
    SUPPORTED_FORMATS,
    from_edf_annotations,
    merge_annotations,
    read_annotations_file,
    read_nsrr_xml,
    read_stage_lines,
    read_table,
)
from somnomyo.io.annotations import Annotations
from somnomyo.io.discover import find_sidecar, sidecar_candidates
from somnomyo.io.labels import normalize_label, normalize_stage, split_channel

edfio = pytest.importorskip("edfio")


def _edf_triples(path: Path) -> list[tuple[float, float, str]]:
    """Independent EDF+ annotation reader for the tests (edfio)."""
    return [(a.onset, a.duration or 0.0, a.text) for a in edfio.read_edf(path).annotations]


@pytest.fixture
def fake_edf_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand-in for somnomyo.io.edf.read_annotations so the dispatcher is tested on its own."""
    mod = types.ModuleType("somnomyo.io.edf")
    mod.read_annotations = _edf_triples  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "somnomyo.io.edf", mod)


# --------------------------------------------------------------------------- labels
STAGE_TABLE = [
    ("Sleep stage W", "W"),
    ("Sleep stage 1", "N1"),
    ("Sleep stage 2", "N2"),
    ("Sleep stage 3", "N3"),
    ("Sleep stage 4", "N3"),
    ("Sleep stage R", "R"),
    ("Sleep stage ?", "UNS"),
    ("Sleep stage N1", "N1"),
    ("Sleep stage N2", "N2"),
    ("Sleep stage N3", "N3"),
    ("Stage 4", "N3"),
    ("Stage 1", "N1"),
    ("S3", "N3"),
    ("S4", "N3"),
    ("S2", "N2"),
    ("REM", "R"),
    ("Wake", "W"),
    ("NREM1", "N1"),
    ("NREM 2", "N2"),
    ("N3", "N3"),
    ("W", "W"),
    ("R", "R"),
    ("?", "UNS"),
    ("Wake|0", "W"),
    ("Stage 1 sleep|1", "N1"),
    ("Stage 2 sleep|2", "N2"),
    ("Stage 3 sleep|3", "N3"),
    ("Stage 4 sleep|4", "N3"),
    ("REM sleep|5", "R"),
    ("Movement|6", "UNS"),
    ("Unscored|9", "UNS"),
    ("Movement time", "UNS"),
    ("  sleep   STAGE   w ", "W"),
    ("sleep_stage_2", "N2"),
    ("Sleep stage N2@@EEG C4-M1", "N2"),
]

EVENT_TABLE = [
    ("Arousal", ("arousal", "arousal")),
    ("Arousal|Arousal ()", ("arousal", "arousal")),
    ("ASDA arousal|Arousal (ASDA)", ("arousal", "arousal")),
    ("Spontaneous arousal", ("arousal", "arousal")),
    ("Arousal (resp)", ("arousal", "respiratory_arousal")),
    ("LM arousal", ("arousal", "lm_arousal")),
    ("RERA", ("respiratory", "rera")),
    ("Respiratory effort related arousal", ("respiratory", "rera")),
    ("Obstructive apnea", ("respiratory", "obstructive_apnea")),
    ("Obstructive Apnea|Obstructive Apnea", ("respiratory", "obstructive_apnea")),
    ("Central apnea", ("respiratory", "central_apnea")),
    ("Mixed apnea", ("respiratory", "mixed_apnea")),
    ("Apnea", ("respiratory", "apnea")),
    ("Hypopnea", ("respiratory", "hypopnea")),
    ("Obstructive hypopnea", ("respiratory", "hypopnea")),
    ("Unsure|Unsure", ("respiratory", "unsure")),
    ("Limb movement (left)", ("limb", "lm_left")),
    ("Limb Movement (Left)|Limb Movement (Left)", ("limb", "lm_left")),
    ("Limb Movement (Right)|Limb Movement (Right)", ("limb", "lm_right")),
    ("Periodic leg movement", ("limb", "plm")),
    ("PLM (Left)", ("limb", "plm_left")),
    ("Leg movement", ("limb", "lm")),
    ("LM", ("limb", "lm")),
    ("Lights off", ("lights", "lights_off")),
    ("Lights on", ("lights", "lights_on")),
    ("LIGHTS OFF", ("lights", "lights_off")),
    ("Lights off@@EEG F4-A1", ("lights", "lights_off")),
    ("  arousal  ", ("arousal", "arousal")),
    ("Body position change", ("marker", "Body position change")),
    ("SpO2 desaturation|SpO2 desaturation", ("marker", "SpO2 desaturation")),
]


@pytest.mark.parametrize(("text", "stage"), STAGE_TABLE)
def test_normalize_label_maps_stage_spellings_rk_3_and_4_to_n3(text: str, stage: str) -> None:
    assert normalize_label(text) == stage


@pytest.mark.parametrize(("text", "expected"), EVENT_TABLE)
def test_normalize_label_maps_event_spellings_to_category_and_kind(text: str, expected: tuple[str, str]) -> None:
    assert normalize_label(text) == expected


@pytest.mark.parametrize(
    ("code", "stage"),
    [("0", "W"), ("1", "N1"), ("2", "N2"), ("3", "N3"), ("4", "N3"), ("5", "R"), ("6", "UNS"), ("9", "UNS")],
)
def test_numeric_stage_codes_are_stages_only_in_stage_context(code: str, stage: str) -> None:
    assert normalize_stage(code, stages_only=True) == stage
    assert normalize_label(code) == ("marker", code)  # a bare number elsewhere is not a stage


def test_normalize_label_stages_only_rejects_non_stage_with_allowed_list() -> None:
    with pytest.raises(ValueError, match="not a sleep stage; accepted: W, N1"):
        normalize_label("Arousal", stages_only=True)


def test_split_channel_reads_hmc_at_at_suffix() -> None:
    assert split_channel("Lights off@@EEG F4-A1") == ("Lights off", "EEG F4-A1")
    assert split_channel("Arousal") == ("Arousal", None)


# --------------------------------------------------------------------------- real EDF+ files
def test_hmc_scoring_edf_hypnogram_counts_and_lights(real_dir: Path) -> None:
    path = real_dir / "hmc" / "SN001-scoring.edf"
    ann = from_edf_annotations(_edf_triples(path), source=str(path))
    counts = ann.hypnogram.counts()
    assert {k: counts[k] for k in ("W", "N1", "N2", "N3", "R")} == {"W": 151, "N1": 109, "N2": 430, "N3": 23, "R": 141}
    assert counts["UNS"] == 0
    assert ann.lights_off == pytest.approx(33.43)
    assert ann.lights_on == pytest.approx(25618.74)
    assert set(ann.of("lights")["channel"]) == {"EEG F4-A1", "EEG Fpz-Cz"}
    assert ann.warnings == []


def test_sleep_edf_hypnogram_expands_long_stage_annotations_to_2880_epochs(real_dir: Path) -> None:
    path = real_dir / "sleep-edf" / "SC4001EC-Hypnogram.edf"
    triples = _edf_triples(path)
    ann = from_edf_annotations(triples, source=str(path))
    hyp = ann.hypnogram
    assert hyp.n_epochs == 2880 and hyp.start == 0.0 and hyp.epoch_s == 30.0
    # expected epochs per stage, computed from the raw durations; R&K 3 and 4 both -> N3
    secs: dict[str, float] = {}
    for _, dur, text in triples:
        secs[text] = secs.get(text, 0.0) + dur
    ep = {k: int(round(v / 30)) for k, v in secs.items()}
    assert hyp.counts() == {
        "W": ep["Sleep stage W"],
        "N1": ep["Sleep stage 1"],
        "N2": ep["Sleep stage 2"],
        "N3": ep["Sleep stage 3"] + ep["Sleep stage 4"],
        "R": ep["Sleep stage R"],
        "UNS": ep["Sleep stage ?"],
    }
    # each annotation's own epochs carry its stage (spot-check the first N1 and a long W span)
    assert hyp.stage_at(30630.0)[0] == "N1" and hyp.stage_at(30629.9)[0] == "W"
    assert len(ann.events) == 0


def test_sleep_edf_hypnogram_aligns_with_300_s_psg_excerpt(real_dir: Path) -> None:
    psg = edfio.read_edf(real_dir / "sleep-edf" / "short_psg.edf")
    hyp_path = real_dir / "sleep-edf" / "SC4001EC-Hypnogram.edf"
    hyp_edf = edfio.read_edf(hyp_path)
    assert psg.starttime == hyp_edf.starttime  # same clock start: onsets share the timeline
    ann = from_edf_annotations(_edf_triples(hyp_path), source=str(hyp_path), duration_s=psg.duration)
    hyp = ann.hypnogram
    assert psg.duration == 300.0
    assert hyp.n_epochs == 10 and hyp.start == 0.0
    assert list(hyp.stages) == ["W"] * 10
    assert any("after the recording end" in w for w in ann.warnings)


def test_read_annotations_file_dispatches_edf(real_dir: Path, fake_edf_module: None) -> None:
    ann = read_annotations_file(real_dir / "hmc" / "SN001-scoring.edf")
    assert ann.hypnogram.counts()["N2"] == 430
    assert ann.sources == [str(real_dir / "hmc" / "SN001-scoring.edf")]


def test_read_annotations_file_edf_written_by_write_edf(tmp_path: Path, fake_edf_module: None) -> None:
    from somnomyo.io.edf_write import write_edf
    from somnomyo.io.recording import Signal

    anns = [
        (0.0, 30.0, "Sleep stage W"),
        (30.0, 60.0, "Sleep stage N2"),
        (40.0, 12.5, "Obstructive apnea"),
        (50.0, 0.0, "Limb movement (right)"),
    ]
    path = write_edf(tmp_path / "night.edf", [Signal("EMG", np.zeros(900), 10.0)], annotations=anns)
    ann = read_annotations_file(path, duration_s=90.0)
    assert list(ann.hypnogram.stages) == ["W", "N2", "N2"]
    assert list(ann.events["kind"]) == ["obstructive_apnea", "lm_right"]
    assert ann.events["duration"].tolist() == pytest.approx([12.5, 0.0])


def test_read_annotations_file_uses_the_project_edf_reader_when_present(real_dir: Path) -> None:
    pytest.importorskip("somnomyo.io.edf")
    ann = read_annotations_file(real_dir / "sleep-edf" / "SC4001EC-Hypnogram.edf")
    assert ann.hypnogram.n_epochs == 2880


# --------------------------------------------------------------------------- NSRR XML
def _scored(etype: str, concept: str, start: float, dur: float, loc: str = "") -> str:
    sig = f"<SignalLocation>{loc}</SignalLocation>" if loc else ""
    return (
        f"<ScoredEvent><EventType>{etype}</EventType><EventConcept>{concept}</EventConcept>"
        f"<Start>{start}</Start><Duration>{dur}</Duration>{sig}</ScoredEvent>"
    )


def _nsrr(events: list[str], epoch: str = "30") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<PSGAnnotation>'
        f"<SoftwareVersion>Compumedics</SoftwareVersion><EpochLength>{epoch}</EpochLength><ScoredEvents>"
        "<ScoredEvent><EventType/><EventConcept>Recording Start Time</EventConcept><Start>0</Start>"
        "<Duration>600.0</Duration><ClockTime>00.00.00 22.00.00</ClockTime></ScoredEvent>"
        + "".join(events)
        + "</ScoredEvents></PSGAnnotation>"
    )


NSRR_EVENTS = [
    _scored("Stages|Stages", "Wake|0", 0, 60),
    _scored("Stages|Stages", "Stage 1 sleep|1", 60, 30),
    _scored("Stages|Stages", "Stage 2 sleep|2", 90, 60),
    _scored("Stages|Stages", "Stage 3 sleep|3", 150, 30),
    _scored("Stages|Stages", "Stage 4 sleep|4", 180, 30),
    _scored("Stages|Stages", "REM sleep|5", 210, 30),
    _scored("Stages|Stages", "Movement|6", 240, 30),
    _scored("Stages|Stages", "Unscored|9", 270, 30),
    _scored("Arousals|Arousals", "Arousal|Arousal ()", 100.5, 8.0, "C3"),
    _scored("Arousals|Arousals", "ASDA arousal|Arousal (ASDA)", 120.0, 5.0),
    _scored("Respiratory|Respiratory", "Obstructive apnea|Obstructive Apnea", 95.0, 15.0, "Airflow"),
    _scored("Respiratory|Respiratory", "Central apnea|Central Apnea", 160.0, 12.0),
    _scored("Respiratory|Respiratory", "Hypopnea|Hypopnea", 200.0, 20.0, "ABDO RES"),
    _scored("Limb Movement|Limb Movement", "Limb Movement (Left)|Limb Movement (Left)", 130.0, 2.0, "Left Leg"),
    _scored("Lights|Lights", "Lights off", 5.0, 0.0),
    _scored("Lights|Lights", "Lights on", 290.0, 0.0),
]


def test_nsrr_xml_stages_and_events_normalized(tmp_path: Path) -> None:
    path = tmp_path / "night-nsrr.xml"
    path.write_text(_nsrr(NSRR_EVENTS))
    ann = read_annotations_file(path)
    assert list(ann.hypnogram.stages) == ["W", "W", "N1", "N2", "N2", "N3", "N3", "R", "UNS", "UNS"]
    ev = ann.events
    assert list(zip(ev["onset"], ev["category"], ev["kind"])) == [
        (5.0, "lights", "lights_off"),
        (95.0, "respiratory", "obstructive_apnea"),
        (100.5, "arousal", "arousal"),
        (120.0, "arousal", "arousal"),
        (130.0, "limb", "lm_left"),
        (160.0, "respiratory", "central_apnea"),
        (200.0, "respiratory", "hypopnea"),
        (290.0, "lights", "lights_on"),
    ]
    assert ev.loc[ev["kind"] == "hypopnea", "channel"].item() == "ABDO RES"
    assert ev.loc[ev["kind"] == "obstructive_apnea", "label"].item() == "Obstructive apnea|Obstructive Apnea"
    assert "Recording Start Time" not in set(ev["label"])
    assert ann.lights_off == 5.0 and ann.lights_on == 290.0


def test_nsrr_xml_event_type_categorizes_unknown_concepts(tmp_path: Path) -> None:
    path = tmp_path / "a.xml"
    path.write_text(
        _nsrr(
            [
                _scored("Arousals|Arousals", "Arousal (ARO SPONT)|Foo", 10, 3),
                _scored("Respiratory|Respiratory", "Periodic breathing|Periodic breathing", 20, 60),
            ]
        )
    )
    ev = read_nsrr_xml(path).events
    assert list(ev["category"]) == ["arousal", "respiratory"]
    assert ev["kind"].iloc[1] == "periodic_breathing"


def test_nsrr_xml_epoch_length_from_file(tmp_path: Path) -> None:
    path = tmp_path / "a.xml"
    path.write_text(
        _nsrr([_scored("Stages|Stages", "Wake|0", 0, 40), _scored("Stages|Stages", "REM sleep|5", 40, 20)], epoch="20")
    )
    hyp = read_nsrr_xml(path).hypnogram
    assert hyp.epoch_s == 20.0 and list(hyp.stages) == ["W", "W", "R"]


def test_nsrr_xml_entity_expansion_bomb_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        "<PSGAnnotation><ScoredEvents>" + _scored("x", "&lol3;", 0, 1) + "</ScoredEvents></PSGAnnotation>"
    )
    with pytest.raises(AnnotationError, match="XML refused") as info:
        read_annotations_file(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_nsrr_xml_external_entity_refused(tmp_path: Path) -> None:
    path = tmp_path / "xxe.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<PSGAnnotation><ScoredEvents>" + _scored("x", "&x;", 0, 1) + "</ScoredEvents></PSGAnnotation>"
    )
    with pytest.raises(AnnotationError, match="XML refused"):
        read_annotations_file(path)


def test_malformed_xml_raises_one_line_error_with_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.xml"
    path.write_text("<PSGAnnotation><ScoredEvents><ScoredEvent></PSGAnnotation>")
    with pytest.raises(AnnotationError, match="malformed XML") as info:
        read_annotations_file(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_nsrr_xml_bad_start_number_names_event(tmp_path: Path) -> None:
    path = tmp_path / "bad.xml"
    path.write_text(_nsrr([_scored("Arousals|Arousals", "Arousal|Arousal ()", "abc", 3)]))  # type: ignore[arg-type]
    with pytest.raises(
        AnnotationError, match=r"ScoredEvent \d+ \(Arousal\|Arousal \(\)\) Start: 'abc' is not a number"
    ):
        read_annotations_file(path)


def test_unsupported_xml_root_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.xml"
    path.write_text("<Something/>")
    with pytest.raises(AnnotationError, match="unsupported XML"):
        read_annotations_file(path)


def test_compumedics_xml_sleep_stage_list(tmp_path: Path) -> None:
    path = tmp_path / "p.xml"
    path.write_text(
        "<CMPStudyConfig><EpochLength>30</EpochLength><ScoredEvents>"
        "<ScoredEvent><Name>Hypopnea</Name><Start>35.0</Start><Duration>12</Duration>"
        "<Input>NASAL</Input></ScoredEvent>"
        "<ScoredEvent><Name>Arousal (ASDA)</Name><Start>50</Start><Duration>4</Duration></ScoredEvent>"
        "</ScoredEvents><SleepStages>"
        + "".join(f"<SleepStage>{c}</SleepStage>" for c in "0123459")
        + "</SleepStages></CMPStudyConfig>"
    )
    ann = read_annotations_file(path)
    assert list(ann.hypnogram.stages) == ["W", "N1", "N2", "N3", "N3", "R", "UNS"]
    assert list(ann.events["kind"]) == ["hypopnea", "arousal"]
    assert ann.events["channel"].iloc[0] == "NASAL"


# --------------------------------------------------------------------------- CSV / TSV / text
def test_csv_with_case_insensitive_headers_and_description_column(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        "Onset,Duration,Description\n0,30,Sleep stage W\n30,30,Sleep stage N2\n40.5,10,Obstructive apnea\n45,,Arousal\n"
    )
    ann = read_annotations_file(path)
    assert list(ann.hypnogram.stages) == ["W", "N2"]
    assert ann.events[["onset", "duration", "kind"]].values.tolist() == [
        [40.5, 10.0, "obstructive_apnea"],
        [45.0, 0.0, "arousal"],
    ]


def test_tsv_bids_style_with_na_duration_and_channel(tmp_path: Path) -> None:
    path = tmp_path / "a_events.tsv"
    path.write_text("onset\tduration\ttrial_type\tchannel\n12.0\tn/a\tLM\tLAT\n3.0\t1.5\tLights off\tn/a\n")
    ann = read_annotations_file(path)
    assert ann.events[["onset", "duration", "kind"]].values.tolist() == [[3.0, 1.5, "lights_off"], [12.0, 0.0, "lm"]]
    assert ann.events["channel"].isna().tolist() == [True, False]
    assert ann.events["channel"].iloc[1] == "LAT"


def test_semicolon_table_in_txt_is_read_as_table(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("# exported\nEVENT;ONSET;DURATION\nHypopnea;10;15\nCentral apnea;40;11\n")
    ann = read_annotations_file(path)
    assert list(ann.events["kind"]) == ["hypopnea", "central_apnea"]


def test_hmc_style_text_table_with_recording_onset_column(tmp_path: Path) -> None:
    path = tmp_path / "SN001_sleepscoring.txt"
    path.write_text(
        "Date, Time, Recording onset, Duration, Annotation, Linked channel\n"
        "2001-01-01, 23:59:30, 0.0, 30.0, Sleep stage W, \n"
        "2001-01-02, 00:00:03, 33.43, 0.0, Lights off, EEG F4-A1\n"
    )
    ann = read_annotations_file(path)
    assert list(ann.hypnogram.stages) == ["W"]
    assert ann.lights_off == pytest.approx(33.43)
    assert ann.events["channel"].iloc[0] == "EEG F4-A1"


def test_table_bad_number_raises_with_line_number(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("onset,duration,label\n1,2,Arousal\nten,2,Arousal\n")
    with pytest.raises(AnnotationError, match=r"line 3: onset 'ten' is not a number") as info:
        read_table(path)
    assert str(info.value).startswith(str(path))


def test_table_without_label_column_lists_accepted_names(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("onset,duration,foo\n1,2,x\n")
    with pytest.raises(AnnotationError, match="label/description/annotation/event"):
        read_table(path)


def test_stage_per_line_text_with_mixed_spellings(tmp_path: Path) -> None:
    path = tmp_path / "hyp.txt"
    path.write_text("W\nN1\n2\n3\n4\nREM\n?\nWake\n5\n\n0\n")
    ann = read_annotations_file(path)
    assert list(ann.hypnogram.stages) == ["W", "N1", "N2", "N3", "N3", "R", "UNS", "W", "R", "W"]
    assert ann.hypnogram.epoch_s == 30.0 and len(ann.events) == 0


def test_stage_per_line_epoch_length_option(tmp_path: Path) -> None:
    path = tmp_path / "hyp.txt"
    path.write_text("W\nN2\n")
    hyp = read_stage_lines(path, epoch_s=20.0).hypnogram
    assert hyp.epoch_s == 20.0 and hyp.stage_at(25.0)[0] == "N2" and hyp.stage_at(19.9)[0] == "W"


def test_stage_per_line_bad_label_names_line(tmp_path: Path) -> None:
    path = tmp_path / "hyp.txt"
    path.write_text("W\nN1\nbanana\n")
    with pytest.raises(AnnotationError, match=r"line 3: 'banana' is not a sleep stage"):
        read_annotations_file(path)


def test_unknown_format_lists_supported_formats(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('{"onset": 1}')
    with pytest.raises(AnnotationError, match="unsupported annotation format") as info:
        read_annotations_file(path)
    assert all(fmt in str(info.value) for fmt in SUPPORTED_FORMATS)
    assert str(info.value).startswith(str(path))


def test_missing_file_raises_annotation_error(tmp_path: Path) -> None:
    with pytest.raises(AnnotationError, match="not found"):
        read_annotations_file(tmp_path / "nope.xml")


# --------------------------------------------------------------------------- robustness
def test_unsorted_events_are_sorted_with_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="somnomyo"):
        ann = from_edf_annotations([(50.0, 1.0, "Arousal"), (10.0, 1.0, "Hypopnea"), (30.0, 0.0, "LM")], source="x")
    assert ann.events["onset"].tolist() == [10.0, 30.0, 50.0]
    assert any("not sorted" in w for w in ann.warnings)
    assert any("not sorted" in r.getMessage() for r in caplog.records)


def test_sorted_events_give_no_warning() -> None:
    ann = from_edf_annotations([(10.0, 1.0, "Hypopnea"), (30.0, 0.0, "LM")], source="x")
    assert ann.warnings == []


def test_overlapping_stage_annotations_later_wins_with_warning() -> None:
    ann = from_edf_annotations([(0.0, 90.0, "Sleep stage W"), (60.0, 60.0, "Sleep stage 2")], source="x")
    assert list(ann.hypnogram.stages) == ["W", "W", "N2", "N2"]
    assert any("more than one stage annotation" in w for w in ann.warnings)


def test_gap_between_stage_annotations_is_uns() -> None:
    ann = from_edf_annotations([(0.0, 30.0, "Sleep stage W"), (90.0, 30.0, "Sleep stage R")], source="x")
    assert list(ann.hypnogram.stages) == ["W", "UNS", "UNS", "R"]


def test_event_starting_at_recording_end_dropped_just_inside_clipped() -> None:
    triples = [(99.99, 5.0, "Arousal"), (100.0, 1.0, "Hypopnea"), (50.0, 10.0, "LM")]
    ann = from_edf_annotations(triples, source="x", duration_s=100.0)
    assert ann.events["onset"].tolist() == [50.0, 99.99]
    assert ann.events["duration"].tolist() == pytest.approx([10.0, 0.01])
    assert any("dropped" in w for w in ann.warnings) and any("clipped" in w for w in ann.warnings)


def test_event_ending_exactly_at_recording_end_not_clipped() -> None:
    ann = from_edf_annotations([(90.0, 10.0, "Arousal")], source="x", duration_s=100.0)
    assert ann.events["duration"].tolist() == [10.0] and ann.warnings == []


def test_all_annotations_past_end_raise_does_not_fit() -> None:
    with pytest.raises(AnnotationError, match="annotation file does not fit the recording") as info:
        from_edf_annotations(
            [(400.0, 30.0, "Sleep stage W"), (500.0, 3.0, "Arousal")], source="/data/h.edf", duration_s=300.0
        )
    assert str(info.value).startswith("/data/h.edf: ")


def test_hypnogram_shorter_than_recording_rest_is_uns() -> None:
    ann = from_edf_annotations([(0.0, 60.0, "Sleep stage W")], source="x", duration_s=150.0)
    assert list(ann.hypnogram.stages) == ["W", "W", "UNS", "UNS", "UNS"]
    assert any("the rest is UNS" in w for w in ann.warnings)


def test_hypnogram_not_aligned_to_zero_keeps_start_offset() -> None:
    triples = [(15.0, 30.0, "Sleep stage W"), (45.0, 30.0, "Sleep stage 2"), (75.0, 30.0, "Sleep stage R")]
    ann = from_edf_annotations(triples, source="x")
    hyp = ann.hypnogram
    assert hyp.start == 15.0 and list(hyp.stages) == ["W", "N2", "R"]
    assert hyp.stage_at([14.9, 15.0, 44.9, 45.0, 104.9, 105.0]).tolist() == ["UNS", "W", "W", "N2", "R", "UNS"]
    fitted = from_edf_annotations(triples, source="x", duration_s=120.0).hypnogram
    assert fitted.start == 15.0 and list(fitted.stages) == ["W", "N2", "R", "UNS"]


def test_hypnogram_starting_late_on_grid_padded_from_zero() -> None:
    hyp = from_edf_annotations([(60.0, 30.0, "Sleep stage 3")], source="x").hypnogram
    assert hyp.start == 0.0 and list(hyp.stages) == ["UNS", "UNS", "N3"]


def test_empty_annotation_file_gives_empty_model_with_warning() -> None:
    ann = from_edf_annotations([(0.0, 0.0, "")], source="x")
    assert ann.hypnogram is None and len(ann.events) == 0 and ann.warnings == ["no annotations found"]


# --------------------------------------------------------------------------- merge
def test_merge_takes_hypnogram_from_later_and_combines_events() -> None:
    edf_own = from_edf_annotations(
        [(0.0, 30.0, "Sleep stage W"), (40.0, 2.0, "LM"), (10.0, 3.0, "Arousal")], source="night.edf"
    )
    hyp_file = from_edf_annotations(
        [(0.0, 60.0, "Sleep stage 2"), (10.0, 3.0, "Arousal"), (20.0, 5.0, "Hypopnea")], source="hyp.edf"
    )
    merged = merge_annotations(edf_own, hyp_file)
    assert merged.hypnogram is hyp_file.hypnogram
    assert merged.events["onset"].tolist() == [10.0, 20.0, 40.0]  # the duplicate arousal kept once
    assert merged.sources == ["night.edf", "hyp.edf"]
    assert any("several hypnograms" in w for w in merged.warnings)


def test_merge_keeps_earlier_hypnogram_when_later_has_none() -> None:
    a = from_edf_annotations([(0.0, 30.0, "Sleep stage W")], source="a")
    b = from_edf_annotations([(5.0, 3.0, "Arousal")], source="b")
    merged = merge_annotations(a, b)
    assert merged.hypnogram is a.hypnogram and merged.arousals["onset"].tolist() == [5.0]
    assert isinstance(merge_annotations(), Annotations)


# --------------------------------------------------------------------------- discovery
ORDER = [
    "night.xml",
    "night-nsrr.xml",
    "night.edf.XML",
    "night.tsv",
    "night.csv",
    "night_events.tsv",
    "night-annotations.edf",
    "night-Hypnogram.edf",
    "night.txt",
]


def test_find_sidecar_follows_documented_order(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    edf = tmp_path / "night.edf"
    edf.write_bytes(b"")
    for name in ORDER:
        (tmp_path / name).write_text("x")
    with caplog.at_level(logging.INFO, logger="somnomyo"):
        for name in ORDER:
            assert find_sidecar(edf) == tmp_path / name
            (tmp_path / name).unlink()
    assert find_sidecar(edf) is None
    assert any("night.xml" in r.getMessage() and r.levelno == logging.INFO for r in caplog.records)


def test_candidate_list_keeps_required_relative_order() -> None:
    cands = sidecar_candidates("/d/night.edf")
    positions = [cands.index(n) for n in ORDER]
    assert positions == sorted(positions)
    assert cands.index("night-Hypnogram.edf") < cands.index("<sleep-edf>") < cands.index("night.txt")


def test_find_sidecar_sleep_edf_hypnogram_pattern(tmp_path: Path) -> None:
    edf = tmp_path / "SC4001E0-PSG.edf"
    edf.write_bytes(b"")
    (tmp_path / "SC4002EC-Hypnogram.edf").write_text("x")  # other night: 6th character differs
    assert find_sidecar(edf) is None
    (tmp_path / "SC4001EC-Hypnogram.edf").write_text("x")
    assert find_sidecar(edf) == tmp_path / "SC4001EC-Hypnogram.edf"
    (tmp_path / "SC4001E0-PSG.txt").write_text("x")  # .txt comes after the Sleep-EDF pattern
    assert find_sidecar(edf) == tmp_path / "SC4001EC-Hypnogram.edf"


def test_find_sidecar_nsrr_edf_xml_case_insensitive(tmp_path: Path) -> None:
    edf = tmp_path / "shhs1-200001.edf"
    edf.write_bytes(b"")
    (tmp_path / "shhs1-200001.edf.xml").write_text("x")
    assert find_sidecar(edf) == tmp_path / "shhs1-200001.edf.xml"


def test_find_sidecar_never_returns_the_recording_itself(tmp_path: Path) -> None:
    edf = tmp_path / "abcdefgh-Hypnogram.edf"
    edf.write_bytes(b"")
    assert find_sidecar(edf) is None
