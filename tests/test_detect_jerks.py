"""Myoclonic jerks across muscles, hypnic jerks, and the detect_myoclonus entry point."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from somnomyo.detect.bursts import EMGTrace
from somnomyo.detect.hypnic import detect_hypnic, sleep_onsets
from somnomyo.detect.jerks import classify_extent, detect_jerks
from somnomyo.io.annotations import Annotations, Hypnogram
from somnomyo.io.recording import ChannelInfo, Recording, Signal
from somnomyo.settings import get_settings

FS = 1000.0
BASE_UV = 2.0


def env(seconds: float, bursts: list[tuple[float, float]], *, fs: float = FS, amp: float = 60.0) -> np.ndarray:
    x = np.full(int(round(seconds * fs)), BASE_UV)
    for t, d in bursts:
        s = int(round(t * fs))
        x[s : s + int(round(d * fs))] = amp
    return x


def traces(seconds: float, spec: dict[tuple[str, str], list[tuple[float, float]]], *, fs: float = FS):
    return [EMGTrace(label, env(seconds, b, fs=fs), fs, role=role) for (label, role), b in spec.items()]


def test_bursts_starting_99_ms_apart_are_one_jerk_101_ms_apart_two():
    # 30.0/30.101 last 200 ms (> the 150-ms FM maximum), so each alone is a focal jerk
    tr = traces(
        60.0,
        {("Leg L", "leg_left"): [(10.0, 0.05), (30.0, 0.2)], ("Leg R", "leg_right"): [(10.099, 0.05), (30.101, 0.2)]},
    )
    ev = detect_jerks(tr).events
    assert ev["onset"].round(3).tolist() == [10.0, 30.0, 30.101]
    first = ev.iloc[0]
    assert first["muscles"] == "leg_left,leg_right"
    assert first["channel"] == "Leg L,Leg R"
    assert first["lag_ms"] == "0,99"
    assert first["duration"] == pytest.approx(0.149)
    assert ev["extent"].tolist() == ["multifocal", "focal", "focal"]


def test_group_window_is_anchored_on_the_first_burst():
    # 0, 60 and 120 ms: the third starts 120 ms after the first -> a new jerk
    tr = traces(
        30.0,
        {
            ("Leg L", "leg_left"): [(10.0, 0.03)],
            ("Leg R", "leg_right"): [(10.06, 0.03)],
            ("Chin", "chin"): [(10.12, 0.2)],
        },
    )
    ev = detect_jerks(tr).events
    assert ev["muscles"].tolist() == ["leg_left,leg_right", "chin"]


@pytest.mark.parametrize("dur, kept", [(0.019, False), (0.021, True), (0.499, True), (0.501, False)])
def test_multi_muscle_jerk_bursts_last_20_to_500_ms(dur: float, kept: bool):
    tr = traces(30.0, {("Leg L", "leg_left"): [(10.0, dur)], ("Arm L", "arm_left"): [(10.01, dur)]})
    assert len(detect_jerks(tr).events) == int(kept)


@pytest.mark.parametrize("dur, jerk", [(0.149, False), (0.151, True), (0.499, True), (0.501, False)])
def test_single_muscle_burst_up_to_150_ms_is_fm_not_a_focal_jerk(dur: float, jerk: bool):
    from somnomyo.detect.fragmentary import detect_fragmentary

    tr = traces(30.0, {("Leg L", "leg_left"): [(10.0, dur)]})
    ev = detect_jerks(tr).events
    assert len(ev) == int(jerk)
    if jerk:
        assert ev["extent"].iloc[0] == "focal"
    fm = detect_fragmentary(tr).events
    assert len(fm) == int(dur <= 0.15)  # each burst counted once: FM or jerk
    off = replace(get_settings(), myoclonus=replace(get_settings().myoclonus, jerk_focal_excludes_fm=False))
    assert len(detect_jerks(tr, settings=off).events) == int(dur < 0.5)


def test_multi_muscle_burst_is_a_jerk_not_fm():
    from somnomyo.detect.fragmentary import detect_fragmentary

    tr = traces(30.0, {("Leg L", "leg_left"): [(10.0, 0.08), (20.0, 0.08)], ("Chin", "chin"): [(10.03, 0.08)]})
    assert detect_jerks(tr).events["onset"].tolist() == [10.0]
    assert detect_fragmentary(tr).events["onset"].tolist() == [20.0]


@pytest.mark.parametrize(
    "roles, extent",
    [
        (["leg_left"], "focal"),
        (["leg_left", "leg_right"], "multifocal"),
        (["chin", "leg_left"], "multifocal"),
        (["chin", "legs"], "multifocal"),
        (["chin", "leg_left", "arm_right"], "generalized"),
        (["chin", "arm_left", "arm_right"], "generalized"),
        (["leg_left", "leg_right", "arm_left", "arm_right"], "multifocal"),
    ],
)
def test_extent_generalized_needs_both_sides_and_axial(roles: list[str], extent: str):
    assert classify_extent(roles) == extent


def test_jerk_extent_lags_side_and_stage_from_envelopes():
    spec = {
        ("Leg L", "leg_left"): [(40.0, 0.1)],
        ("Arm R", "arm_right"): [(40.03, 0.1)],
        ("Chin", "chin"): [(40.07, 0.1)],
    }
    hyp = Hypnogram(np.array(["W", "N2", "N2"]))
    ev = detect_jerks(traces(90.0, spec), hypnogram=hyp).events
    assert len(ev) == 1
    j = ev.iloc[0]
    assert j["extent"] == "generalized"
    assert j["muscles"] == "leg_left,arm_right,chin"
    assert j["lag_ms"] == "0,30,70"
    assert j["side"] == "bilateral"
    assert j["stage"] == "N2"
    assert j["amplitude_uv"] == pytest.approx(60.0 - BASE_UV)


def test_jerk_arousal_association_overlap_or_under_0_5_s():
    arousals = pd.DataFrame(
        {
            "onset": [10.5, 20.7],
            "duration": [3.0, 3.0],
            "category": "arousal",
            "kind": "arousal",
            "label": "Arousal",
            "channel": "",
        }
    )
    ann = Annotations(events=arousals)
    # focal jerk 10.0-10.16 ends 0.34 s before the first arousal; 20.0-20.16 ends 0.54 s before the second
    tr = traces(40.0, {("Leg L", "leg_left"): [(10.0, 0.16), (20.0, 0.16)]})
    ev = detect_jerks(tr, annotations=ann).events
    assert ev["arousal"].tolist() == [True, False]
    assert detect_jerks(tr).events["arousal"].isna().all()


def test_jerk_summary_is_json_and_counts_extents():
    spec = {("Leg L", "leg_left"): [(10.0, 0.2), (20.0, 0.1)], ("Leg R", "leg_right"): [(20.02, 0.1)]}
    s = detect_jerks(traces(60.0, spec)).summary()
    json.dumps(s)
    assert s["count"] == 2
    assert s["by_extent"] == {"focal": 1, "multifocal": 1, "generalized": 0}
    assert s["median_lag_ms"] == pytest.approx(20.0)
    assert s["index"] == pytest.approx(2 / (60.0 / 3600.0))


# -------------------------------------------------------------------- hypnic jerks
def test_sleep_onsets_after_wake_only():
    hyp = Hypnogram(np.array(["N2", "N2", "W", "W", "N1", "N2", "W", "R", "W", "N2"]))
    assert sleep_onsets(hyp, min_wake_epochs=1).tolist() == [120.0, 270.0]
    assert sleep_onsets(hyp, min_wake_epochs=2).tolist() == [120.0]


def test_hypnic_jerk_only_in_the_sleep_onset_transition_window():
    # W 0-300 s, N1 300-330 s, N2 330-900 s: sleep onset 300 s, window 270-360 s (W or N1 only)
    hyp = Hypnogram(np.array(["W"] * 10 + ["N1"] * 1 + ["N2"] * 19))
    multi = [265.0, 280.0, 320.0, 340.0, 365.0]  # before, W inside, N1 inside, N2 inside, after
    spec = {
        ("Leg L", "leg_left"): [(t, 0.1) for t in multi] + [(285.0, 0.2)],  # 285: one muscle only
        ("Chin", "chin"): [(t + 0.02, 0.1) for t in multi],
    }
    jerks = detect_jerks(traces(900.0, spec, fs=200.0), hypnogram=hyp)
    assert len(jerks.events) == 6
    res = detect_hypnic(jerks, hypnogram=hyp)
    assert res.events["onset"].tolist() == [280.0, 320.0]
    assert (res.events["trial_type"] == "hypnic_jerk").all()
    s = res.summary()
    json.dumps(s)
    assert s["count"] == 2 and s["n_sleep_onsets"] == 1
    assert s["transition_hours"] == pytest.approx(90.0 / 3600.0)
    assert s["index_per_h_tst"] == pytest.approx(2 / (600.0 / 3600.0))
    # one row per jerk: the hypnic row replaces the myoclonic one, the jerk count leaves it out
    jerks.mark_hypnic(res.events["onset"])
    kinds = jerks.events["trial_type"].tolist()
    assert kinds.count("hypnic_jerk") == 2 and kinds.count("myoclonic_jerk") == 4
    assert jerks.summary()["count"] == 4


def test_hypnic_jerk_needs_a_limb_muscle_by_default():
    hyp = Hypnogram(np.array(["W"] * 4 + ["N1"] * 4))
    spec = {("Chin", "chin"): [(100.0, 0.1)], ("Other", "other_emg"): [(100.02, 0.1)]}
    jerks = detect_jerks(traces(240.0, spec, fs=200.0), hypnogram=hyp)
    assert len(detect_hypnic(jerks, hypnogram=hyp).events) == 0


def test_hypnic_summary_null_without_hypnogram():
    jerks = detect_jerks(traces(30.0, {("Leg L", "leg_left"): [(10.0, 0.1)]}))
    s = detect_hypnic(jerks, hypnogram=None).summary()
    assert s["count"] is None and s["index_per_h_tst"] is None


# ------------------------------------------------------------------- entry point
def synthetic_recording(seconds: float = 600.0, fs: float = 500.0, seed: int = 3) -> Recording:
    """Raw EMG (µV): 1.5 µV noise, plus a generalized jerk at 200 s (leg L, arm R, chin,
    100 ms, 20 ms lags) and FM potentials of 60 ms on the left leg every 10 s from 300 s."""
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    labels = ["Leg L", "Arm R", "EMG Chin"]
    data = {lab: rng.normal(0.0, 1.5, n) for lab in labels}

    def burst(lab: str, t: float, d: float, sd: float = 80.0) -> None:
        s = int(t * fs)
        data[lab][s : s + int(d * fs)] += rng.normal(0.0, sd, int(d * fs))

    for k, lab in enumerate(labels):
        burst(lab, 200.0 + 0.02 * k, 0.1)
    for t in np.arange(300.0, 590.0, 10.0):
        burst("Leg L", t, 0.06)
    chans = [ChannelInfo(lab, fs, "uV") for lab in labels]
    sigs = {lab: Signal(lab, data[lab], fs) for lab in labels}
    return Recording(path=Path("synthetic.edf"), start=None, duration=seconds, channels=chans, signals=sigs)


def test_detect_myoclonus_runs_every_detector_on_a_recording():
    from somnomyo.detect.myoclonus import detect_myoclonus
    from somnomyo.io.channels import infer_roles
    from somnomyo.settings import get_settings

    rec = synthetic_recording()
    roles = infer_roles(rec.labels)
    hyp = Hypnogram(np.array(["W"] * 4 + ["N2"] * 16))
    res = detect_myoclonus(rec, roles, hypnogram=hyp, settings=get_settings())
    s = res.summary()
    json.dumps(s)
    assert set(s) == {"fragmentary_myoclonus", "jerks", "hypnic_jerks", "clusters", "negative_myoclonus", "rem_emg"}
    gen = res.jerks.events[res.jerks.events["extent"] == "generalized"]
    assert gen["onset"].tolist() == pytest.approx([200.0], abs=0.02)
    assert gen["muscles"].iloc[0] == "leg_left,arm_right,chin"
    fm = res.fragmentary.events
    # 29 FM potentials on the left leg; the jerk's synchronous 100-ms bursts are a jerk, not FM
    assert fm["channel"].value_counts().to_dict() == {"Leg L": 29}
    assert s["fragmentary_myoclonus"]["count"] == 29
    assert s["fragmentary_myoclonus"]["rejected"]["synchronous"] == 3
    assert s["fragmentary_myoclonus"]["efm"] is False
    assert s["rem_emg"]["n_rem_epochs"] == 0
    kinds = set(res.events["trial_type"])
    assert {"fragmentary_myoclonus", "myoclonic_jerk"} <= kinds


def test_plots_draw_on_given_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from somnomyo.detect.fragmentary import detect_fragmentary

    hyp = Hypnogram(np.array(["N2"] * 4))
    tr = traces(120.0, {("Leg L", "leg_left"): [(10.0, 0.1), (70.0, 0.1)], ("Chin", "chin"): [(10.02, 0.1)]}, fs=200.0)
    fig, (a1, a2) = plt.subplots(2)
    assert detect_fragmentary(tr, hypnogram=hyp).plot_fm_per_minute(ax=a1) is a1
    assert detect_jerks(tr, hypnogram=hyp).plot_jerks(ax=a2) is a2
    assert len(a1.patches) == 2
    plt.close(fig)


@pytest.mark.parametrize("seed", range(5))
def test_group_onsets_matches_the_anchored_rule(seed: int):
    from somnomyo.detect.jerks import group_onsets

    rng = np.random.default_rng(seed)
    on = np.sort(np.concatenate([rng.uniform(0, 60, 80), rng.uniform(10, 10.5, 12)]))
    ref = np.empty(on.size, dtype=np.int64)
    g, anchor = -1, -np.inf
    for i, t in enumerate(on):  # the rule, one onset at a time
        if t > anchor + 0.1 + 1e-9:
            g, anchor = g + 1, t
        ref[i] = g
    assert np.array_equal(group_onsets(on, window_s=0.1), ref)


def test_generalized_needs_arm_and_leg_when_both_are_recorded():
    recorded = {"chin", "arm_left", "arm_right", "leg_left", "leg_right"}
    assert classify_extent(["chin", "arm_left", "arm_right"], recorded=recorded) == "multifocal"
    assert classify_extent(["chin", "leg_left", "leg_right"], recorded=recorded) == "multifocal"
    assert classify_extent(["chin", "arm_left", "leg_right"], recorded=recorded) == "generalized"
    assert (
        classify_extent(["chin", "leg_left", "leg_right"], recorded={"chin", "leg_left", "leg_right"}) == "generalized"
    )
