"""``somnomyo validate`` end to end on a known-truth simulated night: the simulator's truth, an
NSRR XML and a CSV of the same events, a reviewed folder, a manifest, two scorers, bad input."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from somnomyo.cli import main
from somnomyo.events import read_events_tsv, write_events_tsv
from somnomyo.pipeline import score_night
from somnomyo.report.exports import write_events_edf, write_events_xml
from somnomyo.simulate import simulate_night
from somnomyo.validate import validate_night
from somnomyo.validate.kinds import AGREEMENT_COLUMNS
from somnomyo.validate.outputs import PAIRS_COLUMNS
from somnomyo.validate.run import INDEX_COLUMNS


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("validate")
    sim = simulate_night(seed=21, hours=2.0)
    paths = sim.write(out / "sim")
    scored = score_night(paths["edf"])
    scored.write(out / "results")
    truth = sim.truth_events()
    lms = truth[truth["trial_type"] == "leg_movement"].reset_index(drop=True)
    xml = write_events_xml(truth, out / "expert.xml", hypnogram=sim.hypnogram, duration_s=sim.duration, start=sim.start)
    csv = out / "lms.csv"
    pd.DataFrame(
        {"onset": lms["onset"], "duration": lms["duration"], "label": ["Limb movement - " + s for s in lms["side"]]}
    ).to_csv(csv, index=False)
    return {
        "out": out,
        "sim": sim,
        "truth": paths["truth"],
        "results": out / "results",
        "xml": xml,
        "csv": csv,
        "lms": lms,
    }


def _row(v, kind: str, side: str = "all", stage: str = "all") -> pd.Series:
    a = v.agreement
    return a[(a["kind"] == kind) & (a["side"] == side) & (a["stage"] == stage)].iloc[0]


def test_known_truth_night_validated_against_truth_json_gives_lm_f1_at_least_0_95(night):
    v = validate_night(night["results"], night["truth"])
    lm = _row(v, "leg_movement")
    assert lm["n_reference"] == len(night["lms"]) >= 15
    assert lm["f1"] >= 0.95 and lm["matched_within"] == "side"
    assert _row(v, "periodic_leg_movement")["f1"] >= 0.95
    assert _row(v, "candidate_leg_movement")["reference_basis"] == "rescored"


def test_truth_plms_index_rescored_by_the_score_rules_equals_the_designed_one(night):
    v = validate_night(night["results"], night["truth"])
    ind = v.indices.set_index(["index", "reference_basis"])
    expected = night["sim"].truth["expected"]["plms_index"]
    assert ind.loc[("plms_index", "truth"), "reference"] == pytest.approx(expected)
    assert ind.loc[("plms_index", "rescored"), "reference"] == pytest.approx(expected, abs=max(1.0, 0.05 * expected))


def test_nsrr_xml_in_somnomyos_own_export_spelling_is_read_with_legs_and_plm_labels(night):
    v = validate_night(night["results"], night["xml"])
    assert v.reference.unknown_labels == {}
    used = {u["label"] for u in v.reference.labels_used}
    assert "Limb Movement (Left)|Limb Movement (Left)" in used
    assert any(lab.startswith("Periodic leg movement - ") and "|PLM (" in lab for lab in used)
    assert v.reference.offset_s == 0.0 and v.reference.start_clock_only
    assert _row(v, "leg_movement")["f1"] >= 0.95
    assert _row(v, "periodic_leg_movement")["reference_basis"] == "labelled"
    bases = set(v.indices.loc[v.indices["index"] == "plms_index", "reference_basis"])
    assert {"labelled", "rescored"} <= bases


def test_a_reference_without_fragmentary_myoclonus_gives_its_f1_undefined_not_zero(night, tmp_path):
    v = validate_night(night["results"], night["csv"])
    fm = _row(v, "fragmentary_myoclonus")
    assert fm["n_reference"] == 0 and fm["n_detected"] > 0
    assert pd.isna(fm["f1"]) and pd.isna(fm["precision"]) and "no fragmentary_myoclonus" in fm["note"]
    v.write(tmp_path / "val", html=False)
    summary = json.loads((tmp_path / "val" / "summary.json").read_text())
    assert summary["events"]["fragmentary_myoclonus"]["f1"] is None
    agreement = pd.read_csv(tmp_path / "val" / "agreement.tsv", sep="\t", keep_default_na=False)
    cell = agreement[(agreement["kind"] == "fragmentary_myoclonus") & (agreement["stage"] == "all")]["f1"].iloc[0]
    assert cell == "n/a"


def test_unknown_reference_labels_are_listed_never_silently_dropped(night, tmp_path, capsys):
    csv = tmp_path / "ref.csv"
    text = night["csv"].read_text() + "100.0,0.5,Wiggle\n200.0,0.5,Wiggle\n300.0,1.0,Obstructive apnea\n"
    csv.write_text(text)
    assert main(["validate", str(night["results"]), "--reference", str(csv), "--out", str(tmp_path / "v")]) == 0
    out = capsys.readouterr()
    assert "'Wiggle' (2)" in out.out
    summary = json.loads((tmp_path / "v" / "summary.json").read_text())
    assert summary["unknown_labels"] == {"Wiggle": 2}  # the apnea is context, not unknown
    assert "Wiggle" in (tmp_path / "v" / "validation.html").read_text()


def test_a_label_file_adds_spellings_to_the_table(night, tmp_path):
    csv = tmp_path / "ref.csv"
    csv.write_text(
        "onset,duration,label,channel\n"
        + "".join(
            f"{o},{d},Beinbewegung,{'Leg L' if s == 'left' else 'Leg R'}\n"
            for o, d, s in zip(night["lms"]["onset"], night["lms"]["duration"], night["lms"]["side"])
        )
    )
    labels = tmp_path / "labels.tsv"
    labels.write_text("label\ttrial_type\tside\tperiodic\nBeinbewegung\tleg_movement\t\t\n")
    v = validate_night(night["results"], csv, labels=labels)
    assert v.reference.unknown_labels == {}
    assert _row(v, "leg_movement")["f1"] >= 0.95 and _row(v, "leg_movement")["matched_within"] == "side"
    bad = tmp_path / "bad.tsv"
    bad.write_text("label\ttrial_type\nBeinbewegung\tleg\n")
    with pytest.raises(Exception, match="trial_type 'leg' must be one of leg_movement"):
        validate_night(night["results"], csv, labels=bad)


def _edf_reference(night, path: Path, start_shift_s: float, onset_shift_s: float = 0.0) -> Path:
    """The truth LMs as an EDF+ annotation file whose start is ``start_shift_s`` after the recording's."""
    lms = night["lms"]
    ev = lms[lms["onset"] > onset_shift_s].assign(onset=lambda d: d["onset"] - onset_shift_s)
    return write_events_edf(
        ev, path, duration_s=night["sim"].duration, start=night["sim"].start + dt.timedelta(seconds=start_shift_s)
    )


def test_a_reference_with_another_start_date_is_refused_with_one_line(night, tmp_path, capsys):
    ref = _edf_reference(night, tmp_path / "other-day.edf", 86400.0 * 3)
    out = tmp_path / "v"
    assert main(["validate", str(night["results"]), "--reference", str(ref), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("somnomyo: error: ") and "none of its events falls within the recording" in err[-1]
    assert "Traceback" not in "\n".join(err) and not out.exists()


def test_a_reference_starting_later_is_aligned_by_its_start_date_time(night, tmp_path):
    ref = _edf_reference(night, tmp_path / "later.edf", 60.0, onset_shift_s=60.0)  # same events, later clock
    v = validate_night(night["results"], ref)
    assert v.reference.offset_s == pytest.approx(60.0)
    assert _row(v, "leg_movement")["f1"] >= 0.95


def test_a_reference_running_past_the_recording_without_a_start_is_refused(night, tmp_path):
    csv = tmp_path / "long.csv"
    csv.write_text(night["csv"].read_text() + f"{night['sim'].duration + 600},1.0,LM\n")
    with pytest.raises(Exception, match="past the recording end .* no start date-time to align it by"):
        validate_night(night["results"], csv)


def test_output_files_have_exactly_the_documented_columns_and_keys(night, tmp_path):
    paths = validate_night(night["results"], night["truth"]).write(tmp_path / "v")
    assert sorted(p.name for p in paths.values()) == sorted(
        ["agreement.tsv", "pairs.tsv", "indices.tsv", "summary.json", "validation.html"]
    )

    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(tmp_path / "v" / name, sep="\t", nrows=1)

    assert list(read("agreement.tsv").columns) == list(AGREEMENT_COLUMNS)
    assert list(read("pairs.tsv").columns) == list(PAIRS_COLUMNS)
    assert list(read("indices.tsv").columns) == list(INDEX_COLUMNS)
    s = json.loads((tmp_path / "v" / "summary.json").read_text())
    assert s["matching"]["method"] == "iou" and s["matching"]["min_iou"] == 0.5
    for name in ("plms_index", "plmw_index", "lm_index", "periodicity_index", "fm_index"):
        assert {"bias", "loa_low", "loa_high", "icc", "icc_ci", "icc_form", "n_nights"} <= set(s["indices"][name])
    pairs = pd.read_csv(tmp_path / "v" / "pairs.tsv", sep="\t")
    assert set(pairs["outcome"]) <= {"match", "miss", "false_detection"}


def test_a_manifest_of_nights_gives_bland_altman_icc_and_pooled_rows(night, tmp_path):
    man = tmp_path / "nights.csv"
    man.write_text(
        f"night,results,reference\nn1,{night['results']},{night['truth']}\n"
        f"n2,{night['results']},{night['xml']}\nn3,{night['results']},{night['csv']}\n"
    )
    assert main(["validate", "--manifest", str(man), "--out", str(tmp_path / "v"), "-q"]) == 0
    s = json.loads((tmp_path / "v" / "summary.json").read_text())
    assert s["n_nights"] == 3 and s["indices"]["plms_index"]["n_nights"] == 3
    assert s["indices"]["plms_index"]["loa_low"] is not None
    agreement = pd.read_csv(tmp_path / "v" / "agreement.tsv", sep="\t")
    assert {"n1", "n2", "n3", "all"} == set(agreement["night"])
    pooled = agreement[
        (agreement["night"] == "all")
        & (agreement["kind"] == "leg_movement")
        & (agreement["side"] == "all")
        & (agreement["stage"] == "all")
    ].iloc[0]
    assert pooled["n_reference"] == 3 * len(night["lms"])


def test_two_scorers_of_one_night_are_compared_with_against(night, tmp_path):
    b = tmp_path / "b.csv"
    lines = night["csv"].read_text().splitlines()
    b.write_text("\n".join(lines[:1] + lines[2:]) + "\n")  # scorer B missed the first LM
    v = validate_night(night["results"], night["csv"], against=b)
    lm = _row(v, "leg_movement")
    assert v.mode == "two-scorer" and (lm["tp"], lm["fn"], lm["fp"]) == (len(night["lms"]) - 1, 1, 0)
    v2 = validate_night(None, night["csv"], against=b)  # no results folder: still the events
    assert _row(v2, "leg_movement")["fn"] == 1


def test_a_reviewed_folder_is_a_reference(night, tmp_path):
    reviewed = tmp_path / "reviewed"
    reviewed.mkdir()
    ev = read_events_tsv(night["results"] / "events.tsv")
    first_lm = ev.index[ev["trial_type"] == "leg_movement"][0]
    write_events_tsv(ev.drop(index=first_lm), reviewed / "events_reviewed.tsv")  # the scorer rejected one LM
    shutil.copy(night["results"] / "summary.json", reviewed / "summary_reviewed.json")
    v = validate_night(night["results"], reviewed)
    lm = _row(v, "leg_movement")
    assert v.reference.format == "reviewed" and (lm["fn"], lm["fp"]) == (0, 1)
    fd = v.pairs[(v.pairs["kind"] == "leg_movement") & (v.pairs["outcome"] == "false_detection")].iloc[0]
    assert fd["detected_index"] == first_lm  # row of events.tsv: where to look in review


def test_validate_of_a_folder_that_is_not_somnomyo_output_is_one_line(night, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["validate", str(tmp_path / "empty"), "--reference", str(night["truth"])]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not somnomyo output" in err[0]


def test_demo_ends_with_the_validation_against_the_simulators_truth(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--hours", "0.25"]) == 0
    out = capsys.readouterr().out
    assert "validated against the simulator's truth" in out and "leg_movement" in out
    assert (tmp_path / "demo" / "validation" / "summary.json").is_file()
