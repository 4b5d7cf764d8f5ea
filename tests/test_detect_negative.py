"""Negative myoclonus: silent periods 50-500 ms in tonic EMG (docs/rules.md §10)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from somnomyo.detect.bursts import EMGTrace
from somnomyo.detect.negative import detect_negative
from somnomyo.io.annotations import Hypnogram

FS = 1000.0
TONIC_UV = 30.0


def tonic_trace(
    seconds: float,
    silences: list[tuple[float, float]],
    *,
    level: float = TONIC_UV,
    silent_uv: float = 1.0,
    seed: int = 0,
) -> EMGTrace:
    """Tonic envelope (level ± 10%) with silent periods (onset s, duration s) at ``silent_uv``."""
    rng = np.random.default_rng(seed)
    env = np.abs(rng.normal(level, 0.1 * level, int(seconds * FS)))
    for t, d in silences:
        s = int(round(t * FS))
        env[s : s + int(round(d * FS))] = silent_uv
    return EMGTrace("EMG Chin", env, FS, role="chin")


@pytest.mark.parametrize("dur, kept", [(0.049, False), (0.051, True), (0.499, True), (0.501, False)])
def test_silent_period_bounds_50_to_500_ms(dur: float, kept: bool):
    ev = detect_negative([tonic_trace(20.0, [(10.0, dur)])]).events
    assert len(ev) == int(kept)
    if kept:
        assert ev["onset"].iloc[0] == pytest.approx(10.0)
        assert ev["duration"].iloc[0] == pytest.approx(dur)
        assert ev["trial_type"].iloc[0] == "negative_myoclonus"
        assert ev["amplitude_uv"].iloc[0] == pytest.approx(TONIC_UV, rel=0.05)


def test_drop_must_fall_below_35_percent_of_tonic_level():
    # tonic level ±10% noise, so the exact level before the drop is 30 µV within a few percent
    deep = detect_negative([tonic_trace(20.0, [(10.0, 0.2)], silent_uv=0.3 * TONIC_UV)]).events
    shallow = detect_negative([tonic_trace(20.0, [(10.0, 0.2)], silent_uv=0.4 * TONIC_UV)]).events
    assert len(deep) == 1 and len(shallow) == 0


def test_no_negative_myoclonus_without_tonic_background():
    # 2 µV minimum tonic level: a 1.9-µV background is not tonic, 2.1 µV is
    assert len(detect_negative([tonic_trace(20.0, [(10.0, 0.2)], level=1.9, silent_uv=0.2)]).events) == 0
    assert len(detect_negative([tonic_trace(20.0, [(10.0, 0.2)], level=2.1, silent_uv=0.2)]).events) == 1


@pytest.mark.parametrize("dur, silent, kept", [(0.08, 0.2, True), (0.08, 0.3, False), (0.12, 0.3, True)])
def test_silences_under_100_ms_must_average_below_25_percent(dur: float, silent: float, kept: bool):
    tr = tonic_trace(20.0, [(10.0, dur)], silent_uv=silent * TONIC_UV)
    assert len(detect_negative([tr]).events) == int(kept)


def test_negative_myoclonus_scored_in_wake_and_n1_only():
    hyp = Hypnogram(np.array(["W", "N1", "N2", "R"]))
    tr = tonic_trace(120.0, [(10.0, 0.2), (40.0, 0.2), (70.0, 0.2), (100.0, 0.2)])
    assert detect_negative([tr], hypnogram=hyp).events["stage"].tolist() == ["W", "N1"]
    assert len(detect_negative([tr]).events) == 4  # no hypnogram: every silence


def test_tonic_level_is_robust_to_a_burst_in_the_second_before():
    # an FM-like 100-µV, 100-ms burst 0.5 s before a silence must not inflate the tonic level
    tr = tonic_trace(20.0, [(10.0, 0.2)])
    tr.envelope[int(9.5 * FS) : int(9.6 * FS)] = 100.0
    ev = detect_negative([tr]).events
    assert ev["amplitude_uv"].tolist() == pytest.approx([TONIC_UV], rel=0.05)


def test_activity_must_resume_after_the_silent_period():
    tr = tonic_trace(20.0, [(10.0, 0.3)])
    tr.envelope[int(10.3 * FS) : int(12.0 * FS)] = (
        0.45 * TONIC_UV
    )  # weak return: not silent (> 35%) but below 50% of tonic
    assert len(detect_negative([tr]).events) == 0


def test_silent_period_after_a_positive_jerk_is_not_negative_myoclonus():
    tr = tonic_trace(30.0, [(10.0, 0.2), (20.0, 0.2)])
    tr.envelope[int(9.95 * FS) : int(10.0 * FS)] = 5 * TONIC_UV  # jerk right before the first silence
    ev = detect_negative([tr]).events
    assert ev["onset"].tolist() == pytest.approx([20.0])


def test_index_by_stage_and_duration_bins():
    hyp = Hypnogram(np.array(["W", "N1"]))
    tr = tonic_trace(60.0, [(5.0, 0.06), (15.0, 0.08), (40.0, 0.3)])
    s = detect_negative([tr], hypnogram=hyp).summary()
    json.dumps(s)
    assert s["count"] == 3
    assert s["duration_bins_ms"] == {"50-69": 1, "70-100": 1, "101-500": 1}
    assert s["index_by_stage"]["W"] == pytest.approx(2 / (30 / 3600))
    assert s["index_by_stage"]["N1"] == pytest.approx(1 / (30 / 3600))
    # scored in W and N1 only (tonic activity needed): the index is per hour of those stages
    assert s["index_stages"] == ["W", "N1"]
    assert s["index"] == pytest.approx(3 / (60 / 3600))


def test_no_channels_gives_null_index():
    s = detect_negative([]).summary()
    assert s["count"] == 0 and s["index"] is None
