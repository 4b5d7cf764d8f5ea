"""One-to-one matching of detections to reference events (somnomyo.validate.match)."""

from __future__ import annotations

import pandas as pd
import pytest

from somnomyo.score.agreement import match_events as greedy_match
from somnomyo.validate.match import MatchRule, match_events, summarize_pairs


def ev(*spans, side=None, channel=None):
    df = pd.DataFrame(spans, columns=["onset", "duration"]) if spans else pd.DataFrame(columns=["onset", "duration"])
    if side is not None:
        df["side"] = side
    if channel is not None:
        df["channel"] = channel
    return df


def counts(pairs):
    s = summarize_pairs(pairs)
    return s["tp"], s["fn"], s["fp"]


def test_iou_threshold_exactly_met_matches_and_just_below_does_not():
    ref = ev((10.0, 2.0))
    assert counts(match_events(ev((10.0, 1.0)), ref)) == (1, 0, 0)  # IoU 1/2 exactly
    assert counts(match_events(ev((10.0, 0.98)), ref)) == (0, 1, 1)  # IoU 0.49
    assert counts(match_events(ev((0.1, 0.1)), ev((0.1, 0.2)))) == (1, 0, 0)  # 0.5 in floating point


def test_one_reference_overlapping_two_detections_matches_one_and_counts_a_false_detection():
    pairs = match_events(ev((10.0, 1.9), (10.1, 1.9)), ev((10.0, 2.0)))
    assert counts(pairs) == (1, 0, 1)
    m = pairs[pairs["outcome"] == "match"].iloc[0]
    assert m["detected_index"] == 0  # the better IoU (0.95 vs 0.90)
    assert pairs[pairs["outcome"] == "false_detection"].iloc[0]["detected_index"] == 1


def test_a_tie_in_iou_goes_to_the_earlier_detection():
    pairs = match_events(ev((9.5, 2.0), (10.5, 2.0)), ev((10.0, 2.0)))  # both IoU 1.5/2.5 = 0.6
    m = pairs[pairs["outcome"] == "match"]
    assert len(m) == 1 and m.iloc[0]["detected_index"] == 0 and m.iloc[0]["iou"] == pytest.approx(0.6)


def test_matching_is_maximal_where_best_first_greedy_matching_loses_a_pair():
    # D1 overlaps R1 (IoU 0.67) and R2 (0.82); D2 overlaps only R2 (0.82)
    det, ref = ev((2.0, 10.0), (4.0, 10.0)), ev((0.0, 10.0), (3.0, 10.0))
    assert greedy_match(det, ref).tp == 1  # D1-R2 first, then D2 and R1 stay alone
    pairs = match_events(det, ref)
    assert counts(pairs) == (2, 0, 0)
    m = pairs[pairs["outcome"] == "match"].sort_values("detected_index")
    assert m["reference_index"].tolist() == [0, 1]


def test_onset_rule_matches_within_the_tolerance_inclusive():
    rule = MatchRule(method="onset", onset_tolerance_s=0.5)
    ref = ev((100.0, 3.0))
    assert counts(match_events(ev((100.5, 0.2)), ref, rule=rule)) == (1, 0, 0)
    assert counts(match_events(ev((99.49, 3.0)), ref, rule=rule)) == (0, 1, 1)
    assert "onsets within 0.5 s" in rule.describe()


def test_onset_rule_pairs_each_detection_with_the_closest_onset():
    rule = MatchRule(method="onset", onset_tolerance_s=1.0)
    pairs = match_events(ev((10.0, 0.1), (10.6, 0.1)), ev((10.5, 0.1), (11.2, 0.1)), rule=rule)
    m = pairs[pairs["outcome"] == "match"].sort_values("detected_index")
    assert m["reference_index"].tolist() == [0, 1]


def test_events_of_different_legs_never_match_with_by_side():
    det = ev((0.0, 1.0), (5.0, 1.0), side=["left", "right"])
    ref = ev((0.0, 1.0), (5.0, 1.0), side=["right", "right"])
    assert counts(match_events(det, ref, by="side")) == (1, 1, 1)
    assert counts(match_events(det, ref)) == (2, 0, 0)


def test_pairs_give_onset_and_offset_differences_detected_minus_reference():
    pairs = match_events(ev((10.2, 2.0), channel=["Leg L"]), ev((10.0, 2.5), channel=["LAT"]))
    m = pairs.iloc[0]
    assert m["outcome"] == "match" and m["detected_channel"] == "Leg L" and m["reference_channel"] == "LAT"
    assert m["onset_diff_s"] == pytest.approx(0.2) and m["offset_diff_s"] == pytest.approx(-0.3)
    s = summarize_pairs(pairs)
    assert s["onset_diff_median_s"] == pytest.approx(0.2) and s["onset_diff_iqr_s"] == 0.0


def test_every_miss_and_false_detection_is_a_row():
    pairs = match_events(ev((0.0, 1.0), (50.0, 1.0)), ev((0.0, 1.0), (20.0, 1.0), (30.0, 1.0)))
    assert pairs["outcome"].tolist() == ["match", "miss", "miss", "false_detection"]  # in time order
    assert pairs["reference_index"].isna().tolist() == [False, False, False, True]


def test_no_reference_events_gives_f1_undefined_not_zero():
    s = summarize_pairs(match_events(ev((1.0, 1.0)), ev()))
    assert (s["n_reference"], s["fp"], s["f1"], s["precision"], s["recall"]) == (0, 1, None, None, None)


def test_empty_tables_give_an_empty_pair_table():
    pairs = match_events(ev(), ev())
    assert len(pairs) == 0 and "outcome" in pairs.columns


def test_an_unknown_match_method_lists_the_allowed_ones():
    with pytest.raises(ValueError, match="'iou', 'onset'"):
        MatchRule(method="overlap")
