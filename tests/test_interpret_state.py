"""State dependence: jerk rate per stage, response to arousals/awakenings, stimuli, position
changes, clusters and spasm-like series on awakening. Synthetic event tables with known truth."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from somnomyo.events import make_events
from somnomyo.interpret.state import awakenings, position_changes, state_dependence
from somnomyo.io.annotations import Annotations, Hypnogram
from somnomyo.io.recording import Signal
from somnomyo.settings import get_settings


def jerks(onsets, duration: float = 0.1, trial_type: str = "myoclonic_jerk") -> pd.DataFrame:
    return make_events([{"onset": float(t), "duration": duration, "trial_type": trial_type} for t in onsets])


def annotations(hyp: Hypnogram | None = None, arousals=(), markers=()) -> Annotations:
    rows = [
        {
            "onset": float(t),
            "duration": 5.0,
            "category": "arousal",
            "kind": "arousal",
            "label": "Arousal",
            "channel": "",
        }
        for t in arousals
    ]
    rows += [
        {"onset": float(t), "duration": 0.0, "category": "marker", "kind": lab, "label": lab, "channel": ""}
        for t, lab in markers
    ]
    ev = pd.DataFrame(rows, columns=["onset", "duration", "category", "kind", "label", "channel"])
    return Annotations(
        hypnogram=hyp,
        events=ev.astype({"category": "string", "kind": "string", "label": "string", "channel": "string"}),
    )


HYP = Hypnogram(np.array(["W"] * 10 + ["N2"] * 20 + ["R"] * 10))  # 5 min W, 10 min N2, 5 min R


def test_rate_per_stage_is_per_hour_in_that_stage() -> None:
    on = np.concatenate([np.linspace(301, 899, 30), np.linspace(901, 1190, 5)])  # 30 in N2, 5 in R
    st = state_dependence(jerks(on), hypnogram=HYP).summary()
    assert st["count_per_stage"] == {"W": 0, "N1": 0, "N2": 30, "N3": 0, "R": 5}
    assert st["rate_per_stage_h"]["N2"] == pytest.approx(30 / (600 / 3600))
    assert st["rate_per_stage_h"]["R"] == pytest.approx(5 / (300 / 3600))
    assert st["rate_per_stage_h"]["W"] == 0.0
    assert st["rate_per_stage_h"]["N1"] is None  # no N1 time
    assert st["wake_fraction"] == 0.0
    json.dumps(st)


def test_wake_fraction_counts_jerks_in_w() -> None:
    on = np.concatenate([np.linspace(10, 290, 6), np.linspace(301, 899, 4)])
    st = state_dependence(jerks(on), hypnogram=HYP).summary()
    assert st["wake_count"] == 6
    assert st["wake_fraction"] == pytest.approx(0.6)


def test_only_jerk_rows_are_counted() -> None:
    ev = pd.concat([jerks([400.0, 500.0]), jerks([600.0], trial_type="fragmentary_myoclonus")])
    assert state_dependence(make_events(ev), hypnogram=HYP).n_jerks == 2


def test_awakenings_are_w_epochs_after_sleep() -> None:
    hyp = Hypnogram(np.array(["W", "N1", "N2", "W", "W", "N2", "R", "W", "UNS", "W"]))
    assert awakenings(hyp).tolist() == [90.0, 210.0]


def test_jerks_stopping_at_arousal_give_stops_on_waking() -> None:
    ar = np.array([400.0, 600.0, 800.0])
    on = np.concatenate([a - np.arange(1, 11) * 0.9 for a in ar])  # 10 jerks in the 9 s before each
    st = state_dependence(jerks(on), hypnogram=HYP, annotations=annotations(HYP, ar)).summary()
    w = st["waking"]
    assert w["before"] == 30 and w["after"] == 0
    assert w["before_stop_window"] == 30 and w["after_stop_window"] == 0
    assert w["ratio"] == 0.0
    assert w["stops_on_waking"] is True
    assert w["n_arousals"] == 3 and w["n_awakenings"] == 0


def test_jerks_continuing_after_arousal_do_not_stop() -> None:
    ar = np.array([400.0, 600.0, 800.0])
    on = np.concatenate([np.concatenate([a - np.arange(1, 11) * 0.9, a + np.arange(0, 10) * 0.9]) for a in ar])
    st = state_dependence(jerks(on), hypnogram=HYP, annotations=annotations(HYP, ar)).summary()
    assert st["waking"]["ratio"] == pytest.approx(1.0)
    assert st["waking"]["stops_on_waking"] is False


def test_a_new_cluster_30_s_after_arousal_does_not_undo_the_stop() -> None:
    """BSMI jerks stop within seconds; a later cluster still counts in the 60-s numbers only."""
    on = np.concatenate([500.0 - np.arange(1, 11) * 0.9, 530.0 + np.arange(10) * 0.5])
    w = state_dependence(jerks(on), hypnogram=HYP, annotations=annotations(HYP, [500.0])).summary()["waking"]
    assert w["after"] == 10 and w["after_stop_window"] == 0
    assert w["stops_on_waking"] is True


@pytest.mark.parametrize("n_after, expected", [(2, True), (3, False)])
def test_stop_ratio_edge_0_2(n_after: int, expected: bool) -> None:
    """10 before; 2 after = ratio 0.2 (just inside the limit), 3 after = 0.3 (outside)."""
    on = np.concatenate([500.0 - np.arange(1, 11) * 0.9, 500.0 + 0.5 + np.arange(n_after) * 2.0])
    st = state_dependence(jerks(on), hypnogram=HYP, annotations=annotations(HYP, [500.0])).summary()
    assert st["waking"]["stops_on_waking"] is expected


@pytest.mark.parametrize("n_before, expected", [(4, None), (5, True)])
def test_stops_on_waking_needs_5_jerks_before(n_before: int, expected: bool | None) -> None:
    on = 500.0 - np.arange(1, n_before + 1) * 1.5
    st = state_dependence(jerks(on), hypnogram=HYP, annotations=annotations(HYP, [500.0])).summary()
    assert st["waking"]["stops_on_waking"] is expected


@pytest.mark.parametrize("gap, stops", [(10.01, True), (9.99, False)])
def test_stop_window_is_10_s(gap: float, stops: bool) -> None:
    """5 jerks after the arousal: outside the 10-s window they do not count, inside they do."""
    on = np.concatenate([500.0 - np.arange(1, 11) * 0.9, 500.0 + gap + np.arange(5) * 0.001])
    st = state_dependence(jerks(on), hypnogram=HYP, annotations=annotations(HYP, [500.0])).summary()
    assert st["waking"]["stops_on_waking"] is stops


def test_window_edges_before_inclusive_after_exclusive() -> None:
    on = np.array([440.0, 439.99, 560.0, 559.99])  # arousal at 500, 60-s windows
    st = state_dependence(jerks(on), hypnogram=HYP, annotations=annotations(HYP, [500.0])).summary()
    assert st["waking"]["before"] == 1  # 440.0 in [440, 500); 439.99 out
    assert st["waking"]["after"] == 1  # 559.99 in [500, 560); 560.0 out


def test_awakenings_enter_the_waking_response() -> None:
    hyp = Hypnogram(np.array(["N2"] * 20 + ["W"] * 4 + ["N2"] * 16))  # awakening at 600 s
    on = 600.0 - np.arange(1, 9) * 1.0
    st = state_dependence(jerks(on), hypnogram=hyp).summary()
    assert st["awakenings"]["n_events"] == 1 and st["awakenings"]["before"] == 8
    assert st["waking"]["stops_on_waking"] is True


def test_stimulus_markers_are_matched_by_label() -> None:
    marks = [(300.0, "Sound stimulus"), (700.0, "Touch"), (900.0, "Position change"), (1000.0, "Lights test")]
    on = np.array([301.0, 302.0, 705.0, 1001.0])
    st = state_dependence(jerks(on), hypnogram=HYP, annotations=annotations(HYP, markers=marks)).summary()
    assert st["stimulus"]["n_events"] == 3
    assert st["stimulus"]["labels"] == ["Position change", "Sound stimulus", "Touch"]
    assert st["stimulus"]["after"] == 3  # the jerk after "Lights test" is not counted
    assert state_dependence(jerks(on), hypnogram=HYP).summary()["stimulus"] is None


def test_position_changes_ignore_brief_blips() -> None:
    fs = 10.0
    x = np.concatenate([np.full(600, 1.0), np.full(50, 3.0), np.full(600, 1.0), np.full(600, 2.0)])  # s at 10 Hz
    t = position_changes(Signal("Pos", x, fs))
    assert t.tolist() == [125.0]  # the 5-s blip at 60 s is below the 10-s dwell
    st = state_dependence(jerks([126.0, 130.0]), hypnogram=None, position=Signal("Pos", x, fs)).summary()
    assert st["position"]["n_events"] == 1 and st["position"]["after"] == 2


def test_no_hypnogram_leaves_stage_rates_null() -> None:
    st = state_dependence(jerks([10.0, 20.0]), hypnogram=None).summary()
    assert st["rate_per_stage_h"] is None and st["wake_fraction"] is None
    assert st["notes"]


def test_clusters_in_sleep_and_in_wake() -> None:
    cl = make_events(
        [
            {"onset": 400.0, "duration": 5.0, "trial_type": "jerk_cluster", "rate_hz": 2.0, "cv": 0.3},
            {"onset": 100.0, "duration": 5.0, "trial_type": "jerk_cluster", "rate_hz": 3.0, "cv": 0.1},
        ],
        rate_hz="float64",
        cv="float64",
    )
    st = state_dependence(cl, hypnogram=HYP).summary()["clusters"]
    assert st == {
        "count": 2,
        "in_sleep": 1,
        "in_wake": 1,
        "on_awakening": 0,
        "median_rate_hz": 2.5,
        "median_cv": pytest.approx(0.2),
    }


# --- spasm-like series on awakening (ILAE: 0.5-2 s contractions in clusters on awakening) -------
HYP_WAKE = Hypnogram(np.array(["N2"] * 20 + ["W"] * 30))  # awakening at 600 s


@pytest.mark.parametrize(
    "duration, interval, start, expected",
    [
        (1.0, 10.0, 630.0, 1),  # 1-s spasms every 10 s, 30 s after awakening
        (0.3, 10.0, 630.0, 0),  # brief jerks are not spasms
        (2.1, 10.0, 630.0, 0),  # just outside 0.5-2 s
        (0.5, 10.0, 630.0, 1),  # just inside
        (1.0, 31.0, 630.0, 0),  # too far apart (> 30 s)
        (1.0, 10.0, 1199.0, 1),  # starts 9 min 59 s after awakening (inside 10 min)
        (1.0, 10.0, 1201.0, 0),  # starts 10 min 1 s after awakening
        (1.0, 10.0, 541.0, 1),  # starts 59 s before the scored awakening (inside 60 s)
        (1.0, 10.0, 539.0, 0),  # 61 s before
    ],
)
def test_spasm_clusters_on_awakening(duration: float, interval: float, start: float, expected: int) -> None:
    on = start + np.arange(5) * interval
    st = state_dependence(jerks(on, duration=duration), hypnogram=HYP_WAKE).summary()["spasm_clusters"]
    assert st["on_awakening"] == expected


def test_spasm_cluster_needs_3_spasms() -> None:
    st = state_dependence(jerks([630.0, 640.0], duration=1.0), hypnogram=HYP_WAKE).summary()["spasm_clusters"]
    assert st["count"] == 0
    st = state_dependence(jerks([630.0, 640.0, 650.0], duration=1.0), hypnogram=HYP_WAKE).summary()
    assert st["spasm_clusters"]["count"] == 1


def test_settings_change_the_window() -> None:
    s = get_settings().with_overrides(interpret={"state_window_s": 10.0})
    on = 500.0 - np.array([5.0, 20.0, 30.0])
    st = state_dependence(jerks(on), hypnogram=HYP, annotations=annotations(HYP, [500.0]), settings=s).summary()
    assert st["waking"]["before"] == 1 and st["waking"]["window_s"] == 10.0
