"""The table of reference label spellings (somnomyo.validate.labels) and reading a reference with it."""

from __future__ import annotations

import pytest

from somnomyo.errors import SomnomyoError
from somnomyo.validate.labels import LabelTable
from somnomyo.validate.reference import align, read_scoring


@pytest.mark.parametrize(
    "label, trial_type, side, periodic",
    [
        ("Limb Movement (Left)", "leg_movement", "left", None),
        ("Limb Movement (Right)|Limb Movement (Right)", "leg_movement", "right", None),
        ("Limb movement - left", "leg_movement", "left", None),
        ("LM", "leg_movement", None, None),
        ("lm  (RIGHT)", "leg_movement", "right", None),
        ("PLM", "leg_movement", None, True),
        ("Periodic leg movement", "leg_movement", None, True),
        ("Periodic leg movement - left|PLM (Left)", "leg_movement", "left", True),
        ("PLM (Right)", "leg_movement", "right", True),
        ("Leg movement@@Leg L", "leg_movement", None, None),
        ("Fragmentary myoclonus|Fragmentary myoclonus", "fragmentary_myoclonus", None, None),
        ("Hypnic jerk", "hypnic_jerk", None, None),
    ],
)
def test_default_table_reads_the_spellings_of_nsrr_clinical_and_somnomyo_exports(label, trial_type, side, periodic):
    rule = LabelTable.default().lookup(label)
    assert rule is not None, label
    assert (rule.trial_type, rule.side, rule.periodic) == (trial_type, side, periodic)


def test_a_label_not_in_the_table_is_unknown():
    assert LabelTable.default().lookup("Wiggle") is None


def test_a_label_file_adds_and_replaces_rows_and_can_ignore_a_label(tmp_path):
    f = tmp_path / "labels.csv"
    f.write_text(
        "# lab spellings\nlabel,trial_type,side,periodic\nBein links,leg_movement,left,\n"
        "LM,ignore,,\nPLM,leg_movement,,false\n"
    )
    t = LabelTable.from_file(f)
    assert t.lookup("bein links").side == "left"
    assert t.lookup("LM").trial_type == "ignore"
    assert t.lookup("PLM").periodic is False
    assert t.lookup("Limb Movement (Left)").side == "left"  # defaults kept


@pytest.mark.parametrize(
    "text, problem",
    [
        ("label,kind\nx,leg_movement\n", "needs the columns label, trial_type"),
        ("label,trial_type\nx,leg\n", "trial_type 'leg' must be one of leg_movement"),
        ("label,trial_type,side\nx,leg_movement,up\n", "side 'up' must be one of left, right, both"),
        ("label,trial_type,periodic\nx,leg_movement,maybe\n", "periodic 'maybe' must be true, false or empty"),
        ("label,trial_type,colour\nx,leg_movement,red\n", "unknown column(s) 'colour'"),
    ],
)
def test_a_bad_label_file_is_one_line_naming_the_problem(tmp_path, text, problem):
    f = tmp_path / "labels.csv"
    f.write_text(text)
    with pytest.raises(SomnomyoError, match=problem.replace("(", r"\(").replace(")", r"\)")) as err:
        LabelTable.from_file(f)
    assert str(f) in str(err.value) and "\n" not in str(err.value)


def test_reference_table_lists_unknown_labels_with_counts_and_keeps_context_events_out(tmp_path):
    f = tmp_path / "ref.tsv"
    f.write_text(
        "onset\tduration\tlabel\tchannel\n10\t1.0\tLM\tLeg L\n40\t1.5\tLM\tRAT\n70\t1\tWiggle\t\n"
        "90\t1\tWiggle\t\n100\t12\tObstructive apnea\t\n130\t0\tLights on\t\n"
    )
    sc = read_scoring(f)
    assert sc.unknown_labels == {"Wiggle": 2}
    assert sc.events["side"].tolist() == ["left", "right"]  # from the channel names
    assert "side" in sc.defined and not sc.plm_labelled
    assert any("Wiggle" in w for w in sc.warnings)


def test_a_plm_label_on_top_of_an_lm_label_is_one_periodic_lm(tmp_path):
    f = tmp_path / "ref.csv"
    f.write_text("onset,duration,label\n10,1.0,Limb movement - left\n10,1.0,PLM (Left)\n50,1.0,Limb movement - left\n")
    sc = read_scoring(f)
    assert sc.plm_labelled and len(sc.events) == 2
    assert sc.events["periodic"].tolist() == [True, False]


def test_a_reference_without_a_start_longer_than_the_recording_is_refused(tmp_path):
    f = tmp_path / "ref.csv"
    f.write_text("onset,duration,label\n10,1,LM\n5000,1,LM\n")
    with pytest.raises(SomnomyoError, match="past the recording end"):
        align(read_scoring(f), start=None, duration_s=3600.0)
    assert len(align(read_scoring(f), start=None, duration_s=7200.0).events) == 2
