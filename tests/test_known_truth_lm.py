"""Known-truth simulated nights: leg-movement detection and PLM scoring end to end.

The evidence bars: at 200, 256 and 512 Hz, with strong ECG artefact, mains hum,
fragmentary myoclonus and apneas, LM F1 >= 0.95 (temporal IoU >= 0.5), PLMS index
within max(1/h, 5%) of truth, and respiratory-related LMs flagged.
"""

from __future__ import annotations

import pandas as pd
import pytest

from somnomyo.pipeline import score_night
from somnomyo.score.agreement import match_events
from somnomyo.simulate import SimOptions, simulate_night

HARD = dict(
    ecg_artifact_uv=30.0, mains_uv=5.0, fm_per_min=4.0, apneas_per_h=8.0, plm_series_per_h=2.0, respiratory_lm_prob=0.8
)


@pytest.fixture(
    scope="module",
    params=[(200.0, 50.0, 11), (256.0, 60.0, 12), (512.0, 50.0, 13)],
    ids=["200Hz-50Hz", "256Hz-60Hz", "512Hz-50Hz"],
)
def scored(request, tmp_path_factory):
    fs, mains, seed = request.param
    night = simulate_night(seed=seed, hours=2.0, fs=fs, options=SimOptions().with_(mains_hz=mains, **HARD))
    out = tmp_path_factory.mktemp(f"night{int(fs)}")
    paths = night.write(out)
    result = score_night(paths["edf"], detectors=("plm",))
    return night, result


def test_lm_detection_f1_at_least_0_95_with_strong_ecg_mains_and_fm(scored):
    night, result = scored
    truth = pd.DataFrame(night.truth["leg_movements"])
    det = result.events[result.events["trial_type"] == "leg_movement"]
    assert len(truth) >= 15
    agreement = match_events(det, truth, min_iou=0.5, by="channel")
    assert agreement.f1 >= 0.95, agreement.to_dict()


def test_plms_index_within_1_per_h_or_5_percent_of_truth(scored):
    night, result = scored
    expected = night.truth["expected"]["plms_index"]
    got = result.blocks["plm"]["plms_index"]
    assert expected > 5
    assert abs(got - expected) <= max(1.0, 0.05 * expected), (got, expected)


def test_respiratory_related_lms_are_flagged(scored):
    night, result = scored
    truth = pd.DataFrame(night.truth["leg_movements"])
    det = result.events[result.events["trial_type"] == "leg_movement"].reset_index(drop=True)
    agreement = match_events(det, truth, min_iou=0.5, by="channel")
    pairs = [(i, j) for i, j in agreement.pairs if bool(truth.loc[j, "respiratory"])]
    assert len(pairs) >= 2
    assert all(bool(det.loc[i, "respiratory"]) for i, _ in pairs)
    flagged = [i for i, j in agreement.pairs if bool(det.loc[i, "respiratory"])]
    assert all(bool(truth.loc[j, "respiratory"]) for i, j in agreement.pairs if i in flagged)
