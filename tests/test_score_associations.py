"""Respiratory-related LMs and LM-arousal association (WASM 2016 / AASM windows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from somnomyo.io.annotations import Annotations, Hypnogram
from somnomyo.score.associations import arousal_associated, respiratory_related
from somnomyo.score.plm import score_plm
from somnomyo.settings import get_settings
from somnomyo.signal.intervals import interval_difference, interval_intersection, merge_spans, overlap_seconds

WASM = get_settings("wasm2016")
AASM = get_settings("aasm")
# apnea from 100 s to 120 s
APNEA = pd.DataFrame(
    {
        "onset": [100.0],
        "duration": [20.0],
        "category": ["respiratory"],
        "kind": ["obstructive_apnea"],
        "label": ["OA"],
        "channel": [""],
    }
)
AROUSAL = pd.DataFrame(
    {
        "onset": [50.0],
        "duration": [3.0],
        "category": ["arousal"],
        "kind": ["arousal"],
        "label": ["Arousal"],
        "channel": [""],
    }
)


def related(onset: float, end: float, settings=WASM, events=APNEA) -> bool:
    return bool(respiratory_related([onset], [end - onset], events, settings=settings.respiratory)[0])


@pytest.mark.parametrize("end_before, rlm", [(2.01, False), (1.99, True)])
def test_wasm2016_lm_ending_just_before_the_window_start_2_s_before_apnea_end(end_before, rlm):
    assert related(110.0, 120.0 - end_before) is rlm


@pytest.mark.parametrize("start_after, rlm", [(10.24, True), (10.26, False)])
def test_wasm2016_lm_starting_up_to_10_25_s_after_apnea_end_is_respiratory(start_after, rlm):
    assert related(120.0 + start_after, 121.0 + start_after) is rlm


def test_wasm2016_lm_during_the_apnea_but_before_the_end_window_is_not_respiratory():
    assert not related(101.0, 103.0)  # inside the event but > 2 s before its end
    assert related(101.0, 125.0)  # covering the whole window


@pytest.mark.parametrize("end_before_onset, rlm", [(0.49, True), (0.51, False)])
def test_aasm_lm_ending_within_0_5_s_before_the_event_is_respiratory(end_before_onset, rlm):
    assert related(95.0, 100.0 - end_before_onset, settings=AASM) is rlm


@pytest.mark.parametrize("start_after_end, rlm", [(0.49, True), (0.51, False)])
def test_aasm_lm_starting_within_0_5_s_after_the_event_is_respiratory(start_after_end, rlm):
    assert related(120.0 + start_after_end, 122.0 + start_after_end, settings=AASM) is rlm


def test_aasm_lm_during_the_event_is_respiratory():
    assert related(101.0, 103.0, settings=AASM)


def test_only_event_kinds_of_the_standard_count():
    rera = APNEA.assign(kind="rera")
    assert related(120.5, 121.5, settings=AASM, events=rera)  # AASM includes RERA
    assert not related(120.5, 121.5, settings=WASM, events=rera)  # WASM 2016: apneas and hypopneas
    assert not related(120.5, 121.5, events=APNEA.iloc[:0])


def test_unknown_respiratory_anchor_error_lists_the_allowed_values():
    with pytest.raises(ValueError, match="'end', 'event'"):  # refused already when the settings are built
        bad = WASM.with_overrides(respiratory={"anchor": "middle"})
        respiratory_related([0.0], [1.0], APNEA, settings=bad.respiratory)


def assoc(onset: float, end: float) -> bool:
    return bool(arousal_associated([onset], [end - onset], AROUSAL, settings=WASM.arousal)[0])


@pytest.mark.parametrize("gap, associated", [(0.49, True), (0.51, False)])
def test_lm_ending_before_the_arousal_onset_is_associated_when_gap_under_0_5_s(gap, associated):
    assert assoc(45.0, 50.0 - gap) is associated


@pytest.mark.parametrize("gap, associated", [(0.49, True), (0.51, False)])
def test_lm_starting_after_the_arousal_end_is_associated_when_gap_under_0_5_s(gap, associated):
    assert assoc(53.0 + gap, 55.0 + gap) is associated


def test_overlapping_lm_and_arousal_are_associated():
    assert assoc(49.0, 51.0) and assoc(51.0, 52.0) and assoc(45.0, 60.0)
    assert not arousal_associated([51.0], [1.0], None, settings=WASM.arousal).any()


def test_score_plm_marks_respiratory_and_arousal_on_clms_and_their_lms():
    ann = Annotations(events=pd.concat([APNEA, AROUSAL], ignore_index=True))
    lms = pd.DataFrame(
        {
            "onset": [49.0, 119.0, 119.2, 200.0],
            "duration": [1.0, 2.0, 1.0, 1.0],
            "channel": ["LAT", "LAT", "RAT", "LAT"],
            "side": ["left", "left", "right", "left"],
            "amplitude_uv": [10.0] * 4,
        }
    )
    res = score_plm(lms, duration_s=600.0, hypnogram=Hypnogram(np.full(20, "N2")), annotations=ann, settings=WASM)
    assert res.clms["respiratory"].tolist() == [False, True, False]
    assert res.clms["arousal"].tolist() == [True, False, False]
    assert res.events["respiratory"].tolist() == [False, True, True, False]  # both LMs of the bilateral CLM
    assert res.events["arousal"].tolist() == [True, False, False, False]
    s = res.summary()
    assert s["respiratory_lm_count"] == 1
    assert s["respiratory_lm_index"] == pytest.approx(1 / (600 / 3600))


def test_interval_helpers_merge_cover_and_subtract():
    s, e = merge_spans([5, 0, 2, 10], [6, 3, 4, 10])  # the empty one is dropped
    assert s.tolist() == [0, 5] and e.tolist() == [4, 6]
    assert overlap_seconds([0, 3.5, 7], [10, 5.5, 8], s, e).tolist() == [5.0, 1.0, 0.0]
    ds, de = interval_difference([0], [10], [2, 5], [3, 7])
    assert ds.tolist() == [0, 3, 7] and de.tolist() == [2, 5, 10]
    is_, ie = interval_intersection([0, 8], [4, 12], [3], [9])
    assert is_.tolist() == [3, 8] and ie.tolist() == [4, 9]
