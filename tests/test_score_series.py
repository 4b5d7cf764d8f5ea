"""IMI and PLM series (WASM 2016 / AASM; MATPLM breakpoints)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from somnomyo.io.annotations import Annotations, Hypnogram
from somnomyo.score.plm import score_plm
from somnomyo.score.series import find_series, imi
from somnomyo.settings import get_settings

WASM = get_settings("wasm2016")
AASM = get_settings("aasm")


def left_lms(onsets, duration: float = 1.0) -> pd.DataFrame:
    onsets = list(onsets)
    return pd.DataFrame(
        {
            "onset": onsets,
            "duration": [duration] * len(onsets),
            "channel": ["LAT"] * len(onsets),
            "side": ["left"] * len(onsets),
            "amplitude_uv": [20.0] * len(onsets),
        }
    )


def score(table, settings=WASM, duration_s=3600.0, stages=None, **kw):
    hyp = Hypnogram(np.full(int(np.ceil(duration_s / 30)), "N2") if stages is None else np.asarray(stages))
    return score_plm(table, duration_s=duration_s, hypnogram=hyp, settings=settings, **kw)


def test_imi_is_onset_to_onset_and_nan_for_the_first():
    out = imi([3.0, 13.5, 40.0])
    assert np.isnan(out[0]) and out[1:].tolist() == [10.5, 26.5]


def test_three_clms_are_not_a_series_but_four_are():
    _, periodic, series = find_series([0, 20, 40], settings=WASM.plm)
    assert not periodic.any() and (series == 0).all()
    _, periodic, series = find_series([0, 20, 40, 60], settings=WASM.plm)
    assert periodic.all() and (series == 1).all()


@pytest.mark.parametrize(
    "gap, expected",
    [
        (10.1, [1, 1, 1, 1, 1, 1, 1, 1]),
        (9.9, [1, 1, 1, 1, 2, 2, 2, 2]),  # the short-IMI CLM ends series 1 and starts series 2
    ],
)
def test_wasm2016_imi_9_9_s_breaks_series_10_1_s_continues(gap, expected):
    onsets = [0, 20, 40, 60] + [60 + gap + 20 * k for k in range(4)]
    gaps, periodic, series = find_series(onsets, settings=WASM.plm)
    assert series.tolist() == expected and periodic.all()
    assert gaps[4] == pytest.approx(gap)


@pytest.mark.parametrize("gap, n_series", [(90.0, 1), (90.1, 2)])
def test_imi_90_1_s_breaks_series_90_0_s_continues(gap, n_series):
    onsets = [0, 20, 40, 60] + [60 + gap + 20 * k for k in range(4)]
    _, periodic, series = find_series(onsets, settings=WASM.plm)
    assert periodic.all() and series.max() == n_series


def test_short_imi_clm_may_not_start_a_series_when_the_flag_is_off():
    onsets = [0, 20, 40, 60, 65] + [85 + 20 * k for k in range(4)]
    plm = WASM.with_overrides(plm={"short_imi_may_start_series": False}).plm
    _, periodic, series = find_series(onsets, settings=plm)
    assert series.tolist() == [1, 1, 1, 1, 0, 2, 2, 2, 2]
    # with only 3 CLMs after it, the short-IMI CLM is what decides whether there is a second series
    onsets = [0, 20, 40, 60, 65, 85, 105, 125]
    assert find_series(onsets, settings=plm)[2].tolist() == [1, 1, 1, 1, 0, 0, 0, 0]
    assert find_series(onsets, settings=WASM.plm)[2].tolist() == [1, 1, 1, 1, 2, 2, 2, 2]


def test_breaks_end_a_series_between_two_clms():
    onsets = [0, 20, 40, 60, 80, 100, 120, 140]
    breaks = np.zeros(8, dtype=bool)
    breaks[4] = True
    assert find_series(onsets, settings=WASM.plm, breaks=breaks)[2].tolist() == [1, 1, 1, 1, 2, 2, 2, 2]
    breaks[2] = True
    assert find_series(onsets, settings=WASM.plm, breaks=breaks)[2].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_empty_sequence_gives_empty_arrays():
    gaps, periodic, series = find_series([], settings=WASM.plm)
    assert gaps.size == periodic.size == series.size == 0


@pytest.mark.parametrize("gap, plms", [(4.9, 4), (5.1, 7)])
def test_aasm_imi_window_is_5_to_90_s(gap, plms):
    onsets = [100, 106, 112, 118] + [118 + gap + 6 * k for k in range(3)]
    res = score(left_lms(onsets), settings=AASM)
    assert res.summary()["plms_count"] == plms
    assert res.summary()["short_imi_count"] == (1 if gap < 5 else 0)
    wasm = score(left_lms(onsets), settings=WASM)
    assert wasm.summary()["plms_count"] == 0  # 6-s IMIs are short for WASM 2016


def test_unscorable_stretch_breaks_series_and_lms_in_it_are_not_counted():
    onsets = [100 + 20 * k for k in range(8)] + [170.0]
    unscorable = pd.DataFrame({"onset": [165.0], "duration": [10.0], "reason": ["noisy baseline"]})
    res = score(left_lms(onsets), unscorable=unscorable)
    clms = res.clms
    assert clms.loc[clms["onset"] == 170.0, "reason_not_clm"].item() == "unscorable"
    assert not clms.loc[clms["onset"] == 170.0, "counted"].item()
    assert clms["series_id"].dropna().tolist() == [1, 1, 1, 1, 2, 2, 2, 2]
    s = res.summary()
    assert s["lm_count"] == 8 and s["plm_series_count"] == 2
    assert s["unscorable_h"] == pytest.approx(10 / 3600)
    assert s["scorable_tst_h"] == pytest.approx(1.0 - 10 / 3600)
    whole = score(left_lms(onsets[:8]))
    assert whole.summary()["plm_series_count"] == 1


def test_non_clm_lm_is_left_out_of_the_imi_sequence():
    # the 12-s LM at 75 s breaks the series but the IMI of the CLM at 100 s is measured from 60 s
    res = score(
        left_lms([0, 20, 40, 60, 100]).pipe(
            lambda d: pd.concat([d, left_lms([75.0], duration=12.0)], ignore_index=True)
        )
    )
    clms = res.clms.set_index("onset")
    assert clms.loc[100.0, "imi_s"] == pytest.approx(40.0)
    assert np.isnan(clms.loc[75.0, "imi_s"])


def test_respiratory_clms_are_removed_and_imis_recomputed_in_the_primary_analysis():
    # apnea ending at 28 s makes the CLM at 25 s respiratory-related (window 26-38.25 s)
    ann = Annotations(
        events=pd.DataFrame(
            {
                "onset": [10.0],
                "duration": [18.0],
                "category": ["respiratory"],
                "kind": ["obstructive_apnea"],
                "label": ["Obstructive Apnea"],
                "channel": [""],
            }
        )
    )
    res = score(left_lms([0, 20, 25, 40, 60]), annotations=ann)
    c = res.clms.set_index("onset")
    assert c["respiratory"].tolist() == [False, False, True, False, False]
    assert c.loc[40.0, "imi_s"] == pytest.approx(20.0)  # recomputed without 25 s
    assert c.loc[40.0, "imi_s_including_respiratory"] == pytest.approx(15.0)
    assert c["periodic"].tolist() == [True, True, False, True, True]
    assert not c["periodic_including_respiratory"].iloc[:2].any()  # 5-s IMI breaks it
    assert pd.isna(c.loc[25.0, "series_id"])


@pytest.mark.parametrize("wake_epochs, n_series", [(3, 1), (4, 2)])
def test_wake_longer_than_the_limit_breaks_series_when_set(wake_epochs, n_series):
    stages = ["N2"] * 4 + ["W"] * wake_epochs + ["N2"] * (120 - 4 - wake_epochs)
    onsets = [30, 50, 70, 90, 110, 195, 215, 235, 255]  # wake from 120 s; IMI 85 s
    plm = WASM.with_overrides(plm={"wake_breaks_series_after_s": 90.0})
    res = score(left_lms(onsets), settings=plm, stages=stages)
    assert res.clms["series_id"].max() == n_series
    default = score(left_lms(onsets), stages=stages)
    assert default.clms["series_id"].max() == 1
