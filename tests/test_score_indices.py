"""PLM indices, time bases, periodicity index, IMI histograms and the summary block."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from somnomyo.events import COLUMNS
from somnomyo.io.annotations import Annotations, Hypnogram
from somnomyo.score.indices import imi_histogram, imi_histogram_log, periodicity_index
from somnomyo.score.plm import CLM_COLUMNS, score_plm
from somnomyo.settings import get_settings

WASM = get_settings("wasm2016")
AASM = get_settings("aasm")
H = 3600.0

# W 0-600 s, N2 600-3600, W 3600-4200 (WASO), N2 4200-7200, W 7200-7500
STAGES = ["W"] * 20 + ["N2"] * 100 + ["W"] * 20 + ["N2"] * 100 + ["W"] * 10
SERIES_W, SERIES_N2, SERIES_WASO = [100, 120, 140, 160], [700, 720, 740, 760], [3700, 3720, 3740, 3760]


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


def night(settings=WASM, annotations=None, **kw):
    return score_plm(
        left_lms(SERIES_W + SERIES_N2 + SERIES_WASO),
        duration_s=7500.0,
        hypnogram=Hypnogram(np.array(STAGES)),
        annotations=annotations,
        settings=settings,
        **kw,
    )


def plain_types_only(x) -> bool:
    if isinstance(x, dict):
        return all(isinstance(k, str) and plain_types_only(v) for k, v in x.items())
    if isinstance(x, list):
        return all(plain_types_only(v) for v in x)
    return x is None or type(x) in (str, int, float, bool)


def test_plms_vs_plmw_by_stage_with_waso_denominator():
    s = night().summary()
    assert s["tst_h"] == pytest.approx(6000 / H) and s["scorable_tst_h"] == pytest.approx(6000 / H)
    assert s["sleep_period_h"] == pytest.approx(6600 / H)
    assert s["waso_h"] == pytest.approx(600 / H) and s["wake_h"] == pytest.approx(1500 / H)
    assert s["plms_count"] == 4 and s["plms_index"] == pytest.approx(4 / (6000 / H))
    assert s["plmw_count"] == 4 and s["plmw_index"] == pytest.approx(4 / (600 / H))  # WASO only
    assert s["plm_count"] == 12 and s["plm_series_count"] == 3 and s["mean_series_length"] == 4.0
    assert s["lm_count"] == 12 and s["lms_count"] == 4 and s["lmw_count"] == 8
    assert s["lm_index"] == pytest.approx(4 / (6000 / H))
    assert s["by_stage"]["N2"] == {
        "minutes": 100.0,
        "plm_count": 4,
        "plm_index": pytest.approx(2.4),
        "lm_count": 4,
        "lm_index": pytest.approx(2.4),
    }
    assert s["by_stage"]["W"]["plm_count"] == 8 and s["by_stage"]["W"]["minutes"] == 25.0
    assert s["by_stage"]["N3"]["minutes"] == 0.0 and s["by_stage"]["N3"]["plm_index"] is None


def test_plmw_with_all_wake_denominator_counts_every_plm_in_wake():
    s = night(settings=WASM.with_overrides(indices={"plmw_denominator": "wake"})).summary()
    assert s["plmw_count"] == 8 and s["plmw_index"] == pytest.approx(8 / (1500 / H))


def test_unknown_plmw_denominator_error_lists_the_allowed_values():
    with pytest.raises(ValueError, match="'waso', 'wake'"):
        night(settings=WASM.with_overrides(indices={"plmw_denominator": "sleep"}))


def test_lights_off_to_on_is_time_in_bed_and_lms_outside_are_not_counted():
    lights = pd.DataFrame(
        {
            "onset": [600.0, 7200.0],
            "duration": [0.0, 0.0],
            "category": ["lights", "lights"],
            "kind": ["lights_off", "lights_on"],
            "label": ["Lights off", "Lights on"],
            "channel": ["", ""],
        }
    )
    res = night(
        annotations=Annotations(events=lights), settings=WASM.with_overrides(indices={"plmw_denominator": "wake"})
    )
    s = res.summary()
    assert s["time_in_bed_h"] == pytest.approx(6600 / H) and s["wake_h"] == pytest.approx(600 / H)
    assert s["lm_count"] == 8 and s["plmw_count"] == 4
    assert set(res.clms.loc[res.clms["onset"] < 600, "reason_not_clm"]) == {"outside_time_in_bed"}


def test_by_hour_of_sleep_counts_plms_from_sleep_onset():
    s = night().summary()
    assert [h["hour"] for h in s["by_hour"]] == [1, 2]
    first, second = s["by_hour"]
    assert first["sleep_min"] == pytest.approx(50.0) and first["plms_count"] == 4
    assert first["plms_index"] == pytest.approx(4 / (50 / 60))
    assert second["sleep_min"] == pytest.approx(50.0) and second["plms_count"] == 0


def test_plms_index_excludes_respiratory_lms_and_is_also_reported_including_them():
    # CLMs 700, 720, 725, 740, 760 s; an apnea ending at 728 s makes 725 s respiratory (726-738.25 s)
    apnea = pd.DataFrame(
        {
            "onset": [710.0],
            "duration": [18.0],
            "category": ["respiratory"],
            "kind": ["hypopnea"],
            "label": ["Hypopnea"],
            "channel": [""],
        }
    )
    res = score_plm(
        left_lms([700, 720, 725, 740, 760]),
        duration_s=7500.0,
        hypnogram=Hypnogram(np.array(STAGES)),
        annotations=Annotations(events=apnea),
        settings=WASM,
    )
    s = res.summary()
    assert s["plms_count"] == 4 and s["plms_index"] == pytest.approx(4 / (6000 / H))
    assert s["plms_count_including_respiratory"] == 0  # the 5-s IMI breaks the series
    assert s["plms_index_including_respiratory"] == 0.0
    assert s["respiratory_lm_count"] == 1
    assert s["short_imi_count"] == 0 and s["isolated_lm_count"] == 0


def test_plms_arousal_short_imi_and_isolated_counts():
    arousal = pd.DataFrame(
        {
            "onset": [720.5],
            "duration": [3.0],
            "category": ["arousal"],
            "kind": ["arousal"],
            "label": ["Arousal"],
            "channel": [""],
        }
    )
    res = score_plm(
        left_lms([700, 720, 740, 760, 765, 2000]),
        duration_s=7500.0,
        hypnogram=Hypnogram(np.array(STAGES)),
        annotations=Annotations(events=arousal),
        settings=WASM,
    )
    s = res.summary()
    assert s["plms_count"] == 4 and s["plms_arousal_count"] == 1
    assert s["plms_arousal_index"] == pytest.approx(1 / (6000 / H))
    assert s["short_imi_count"] == 1 and s["isolated_lm_count"] == 1  # 765 s (IMI 5) and 2000 s
    assert s["short_imi_index"] == pytest.approx(1 / (6000 / H))


def test_periodicity_index_on_a_hand_computed_example():
    # in range: F T T T F T T F T T T T -> runs of >= 3: 3 + 4 = 7 of 12 IMIs
    imis = [5, 20, 30, 40, 95, 20, 30, 8, 20, 30, 40, 50]
    assert periodicity_index(imis, settings=WASM.indices) == pytest.approx(7 / 12)
    assert periodicity_index([10.0, 90.0, 45.0], settings=WASM.indices) == 1.0  # bounds inclusive
    assert periodicity_index([9.9, 90.0, 45.0], settings=WASM.indices) == 0.0
    assert periodicity_index([], settings=WASM.indices) is None


def test_periodicity_index_in_the_summary_uses_sleep_imis():
    s = night().summary()
    assert s["periodicity_index"] == pytest.approx(3 / 4)  # N2 CLMs: IMIs 540 (from 160 s), 20, 20, 20


def test_imi_histogram_bin_counts():
    h = imi_histogram([0.5, 1.99, 2.0, 10.0, 89.9, 90.0, 90.1, 200.0], settings=WASM.indices)
    assert len(h["bin_edges_s"]) == 46 and h["bin_edges_s"][:3] == [0.0, 2.0, 4.0] and h["bin_edges_s"][-1] == 90.0
    counts = h["counts"]
    assert counts[0] == 2 and counts[1] == 1 and counts[5] == 1 and counts[-1] == 2
    assert sum(counts) == 6 and h["over_max"] == 2


def test_imi_histogram_log_has_log_spaced_bins_and_tails():
    h = imi_histogram_log([0.5, 1.0, 30.0, 900.0, 1000.0], settings=WASM.indices)
    edges = np.array(h["bin_edges_s"])
    assert edges[0] == pytest.approx(1.0) and edges[-1] == pytest.approx(900.0)
    assert np.allclose(np.diff(np.log10(edges)), np.log10(900) / 30)
    assert sum(h["counts"]) == 3 and h["under_min"] == 1 and h["over_max"] == 1


def test_indices_are_null_when_tst_is_zero():
    res = score_plm(
        left_lms([100, 120, 140, 160]), duration_s=600.0, hypnogram=Hypnogram(np.full(20, "W")), settings=WASM
    )
    s = res.summary()
    assert s["tst_h"] == 0.0 and s["plm_count"] == 4 and s["lmw_count"] == 4
    for k in (
        "lm_index",
        "clm_index",
        "plms_index",
        "plms_index_including_respiratory",
        "plms_arousal_index",
        "respiratory_lm_index",
        "short_imi_index",
        "isolated_lm_index",
        "plmw_index",
    ):
        assert s[k] is None, k
    assert s["periodicity_index"] is None and s["by_hour"] == []


def test_no_hypnogram_means_unscored_stages_and_null_sleep_indices():
    res = score_plm(left_lms([100, 120, 140, 160]), duration_s=600.0, hypnogram=None, settings=AASM)
    assert set(res.events["stage"]) == {"UNS"}
    s = res.summary()
    assert s["plms_count"] == 0 and s["plmw_count"] == 0 and s["plm_count"] == 4
    assert s["plms_index"] is None and s["plm_index_time_in_bed"] == pytest.approx(4 / (600 / H))


@pytest.mark.parametrize("lms", [None, left_lms([])])
def test_empty_input_gives_complete_empty_tables_and_a_zero_summary(lms):
    res = score_plm(lms, duration_s=0.0, hypnogram=None, settings=WASM)
    assert len(res.events) == 0 and list(res.events.columns)[: len(COLUMNS)] == list(COLUMNS)
    assert {"bilateral", "imi_s", "periodic_including_respiratory", "is_clm"} <= set(res.events.columns)
    assert len(res.clms) == 0 and list(res.clms.columns) == list(CLM_COLUMNS)
    s = res.summary()
    assert s["lm_count"] == 0 and s["plms_count"] == 0 and s["plm_series_count"] == 0
    assert s["plms_index"] is None and s["mean_series_length"] is None and s["periodicity_index"] is None
    assert sum(s["imi_histogram"]["counts"]) == 0 and s["by_hour"] == []
    json.dumps(s)


def test_summary_is_json_serializable_with_plain_python_types():
    unscorable = pd.DataFrame({"onset": [5000.0], "duration": [60.0], "reason": ["flat"]})
    s = night(unscorable=unscorable).summary()
    assert plain_types_only(s)
    assert json.loads(json.dumps(s)) == s
    assert s["standard"] == "wasm2016"
    required = {
        "standard",
        "tst_h",
        "time_in_bed_h",
        "sleep_period_h",
        "waso_h",
        "wake_h",
        "scorable_tst_h",
        "unscorable_h",
        "lm_count",
        "lm_index",
        "lms_count",
        "lmw_count",
        "clm_count",
        "clm_index",
        "plms_count",
        "plms_index",
        "plmw_count",
        "plmw_index",
        "plms_index_including_respiratory",
        "plms_count_including_respiratory",
        "plms_arousal_count",
        "plms_arousal_index",
        "respiratory_lm_count",
        "respiratory_lm_index",
        "short_imi_count",
        "short_imi_index",
        "isolated_lm_count",
        "isolated_lm_index",
        "plm_series_count",
        "mean_series_length",
        "periodicity_index",
        "imi_histogram",
        "imi_histogram_log",
        "by_stage",
        "by_hour",
    }
    assert required <= set(s)
    assert s["scorable_tst_h"] == pytest.approx((6000 - 60) / H)


def test_summary_returns_a_copy():
    res = night()
    res.summary()["plms_count"] = -1
    assert res.summary()["plms_count"] == 4


def test_plots_return_figures():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    res = night()
    fig = res.plot_imi_histogram()
    assert isinstance(fig, Figure)
    fig2, ax = plt.subplots()
    assert res.plot_raster(ax=ax) is fig2
    assert len(ax.collections) >= 1
    plt.close("all")
