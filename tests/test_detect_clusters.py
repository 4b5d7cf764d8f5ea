"""Clusters and series of jerks (BSMI 1-5 Hz clusters; spasm series), docs/rules.md §9."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from somnomyo.detect.bursts import EMGTrace
from somnomyo.detect.clusters import cluster_bounds, detect_clusters, spectral_peak_hz
from somnomyo.detect.jerks import detect_jerks
from somnomyo.settings import get_settings


def jerk_table(onsets: list[float] | np.ndarray, dur: float = 0.1) -> pd.DataFrame:
    on = np.asarray(onsets, dtype=float)
    return pd.DataFrame(
        {
            "onset": on,
            "duration": dur,
            "channel": "Leg L",
            "muscles": "leg_left",
            "stage": "N2",
            "arousal": pd.array([pd.NA] * on.size, dtype="boolean"),
            "amplitude_uv": 50.0,
        }
    )


def with_cluster(**changes: object):
    s = get_settings()
    return replace(s, myoclonus=replace(s.myoclonus, **changes))


def test_cluster_rate_within_0_2_hz_of_a_jittered_2_hz_train():
    rng = np.random.default_rng(7)
    t = 100.0 + np.arange(12) * 0.5 + rng.uniform(-0.04, 0.04, 12)
    res = detect_clusters(jerk_table(t))
    assert len(res.events) == 1
    c = res.events.iloc[0]
    assert c["n_jerks"] == 12
    assert abs(c["rate_hz"] - 2.0) < 0.2
    assert abs(c["peak_hz"] - 2.0) < 0.2
    assert 0.0 < c["cv"] < 0.2
    assert c["trial_type"] == "jerk_cluster"


def test_cluster_from_envelopes_of_a_2_hz_jerk_train():
    fs = 500.0
    env = np.full(int(60 * fs), 2.0)
    for k in range(8):
        s = int((20.0 + 0.5 * k) * fs)
        env[s : s + int(0.08 * fs)] = 60.0
    # bilateral arm jerks (BSMI-like): two muscles, so jerks and not FM potentials
    jerks = detect_jerks(
        [EMGTrace("Arm L", env, fs, role="arm_left"), EMGTrace("Arm R", env.copy(), fs, role="arm_right")]
    )
    res = detect_clusters(jerks)
    assert res.events["n_jerks"].tolist() == [8]
    assert res.events["rate_hz"].iloc[0] == pytest.approx(2.0, abs=0.2)
    assert res.events["duration"].iloc[0] == pytest.approx(3.58, abs=0.01)
    assert res.events["cv"].iloc[0] == pytest.approx(0.0, abs=1e-6)


def test_cluster_needs_at_least_3_jerks():
    assert len(detect_clusters(jerk_table([10.0, 10.5])).events) == 0
    assert detect_clusters(jerk_table([10.0, 10.5, 11.0])).events["n_jerks"].tolist() == [3]


def test_cluster_intervals_up_to_1_2_s():
    # 1-Hz BSMI trains jitter: intervals up to 1 s + 20% chain, longer ones do not
    assert len(detect_clusters(jerk_table([10.0, 11.19, 12.38])).events) == 1
    assert len(detect_clusters(jerk_table([10.0, 11.21, 12.42])).events) == 0


def test_separate_clusters_split_at_a_long_interval():
    on = [10.0, 10.4, 10.8, 11.2, 20.0, 20.3, 20.6]
    ev = detect_clusters(jerk_table(on)).events
    assert ev["onset"].tolist() == [10.0, 20.0]
    assert ev["n_jerks"].tolist() == [4, 3]


def test_spasm_mode_series_with_5_to_30_s_intervals():
    st = with_cluster(cluster_mode="spasm")
    series = [100.0, 110.0, 122.0, 140.0]
    assert detect_clusters(jerk_table(series, dur=1.0), settings=st).events["n_jerks"].tolist() == [4]
    # a 4.9-s or a 30.1-s interval breaks the series
    assert len(detect_clusters(jerk_table([100.0, 104.9, 110.0], dur=1.0), settings=st).events) == 0
    assert len(detect_clusters(jerk_table([100.0, 130.1, 140.0], dur=1.0), settings=st).events) == 0
    # myoclonic clusters are not spasm series
    assert len(detect_clusters(jerk_table([10.0, 10.5, 11.0]), settings=st).events) == 0


def test_bad_cluster_mode_lists_allowed_values():
    with pytest.raises(ValueError, match="myoclonic"):
        detect_clusters(jerk_table([1.0]), settings=with_cluster(cluster_mode="bursts"))


def test_irregular_cluster_has_higher_cv():
    regular = detect_clusters(jerk_table([0.0, 0.5, 1.0, 1.5])).events["cv"].iloc[0]
    irregular = detect_clusters(jerk_table([0.0, 0.2, 1.0, 1.3])).events["cv"].iloc[0]
    assert regular == pytest.approx(0.0, abs=1e-9)
    assert irregular > 0.4


def test_find_series_and_spectral_peak():
    first, last = cluster_bounds(
        np.array([0.0, 0.3, 0.6, 5.0, 5.2]), min_interval_s=0.0, max_interval_s=1.0, min_events=2
    )
    assert first.tolist() == [0, 3] and last.tolist() == [2, 4]
    t = np.arange(10) / 3.0
    assert spectral_peak_hz(t, f_lo=1.5, f_hi=4.5) == pytest.approx(3.0, abs=0.02)


def test_cluster_summary_json():
    s = detect_clusters(jerk_table([10.0, 10.5, 11.0, 50.0]), hours=1.0).summary()
    json.dumps(s)
    assert s["count"] == 1 and s["jerks_in_clusters"] == 3
    assert s["fraction_of_jerks_in_clusters"] == pytest.approx(0.75)
    assert s["index"] == pytest.approx(1.0)
    empty = detect_clusters(jerk_table([])).summary()
    assert empty["count"] == 0 and empty["median_rate_hz"] is None


def test_cluster_index_counts_clusters_in_sleep_per_hour_of_sleep():
    sleep = 100.0 + np.arange(6) * 0.5
    wake = 300.0 + np.arange(6) * 0.5
    jerks = jerk_table(np.concatenate([sleep, wake]))
    jerks.loc[6:, "stage"] = "W"
    s = detect_clusters(jerks, hours=2.0).summary()
    assert s["count"] == 2 and s["by_stage"] == {"N2": 1, "W": 1}
    assert s["index"] == pytest.approx(0.5)  # 1 cluster in sleep / 2 h of sleep
    unstaged = jerk_table(np.concatenate([sleep, wake])).assign(stage="UNS")
    assert detect_clusters(unstaged, hours=2.0).summary()["index"] == pytest.approx(1.0)
