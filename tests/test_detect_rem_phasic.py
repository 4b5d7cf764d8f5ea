"""REM EMG: AASM phasic mini-epochs and tonic epochs, SINBAR percentages (docs/rules.md §11)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from somnomyo.detect.bursts import EMGTrace
from somnomyo.detect.rem_phasic import detect_rem_emg
from somnomyo.io.annotations import Hypnogram
from somnomyo.settings import get_settings

FS = 100.0
BG_UV = 2.0
NREM_UV = 5.0


def night(
    stages: list[str], bursts: list[tuple[float, float, float]], *, role: str = "chin", label: str = "EMG Chin"
) -> tuple[EMGTrace, Hypnogram]:
    """Envelope: NREM epochs at NREM_UV, REM (and W) at BG_UV, plus bursts (onset s, duration s, µV)."""
    hyp = Hypnogram(np.array(stages))
    env = np.repeat(np.where(np.isin(hyp.stages, ["N1", "N2", "N3"]), NREM_UV, BG_UV), int(30 * FS))
    for t, d, a in bursts:
        s = int(round(t * FS))
        env[s : s + int(round(d * FS))] = a
    return EMGTrace(label, env.astype(float), FS, role=role), hyp


def in_minis(epoch: int, n: int, *, d: float = 0.5, a: float = 20.0) -> list[tuple[float, float, float]]:
    return [(epoch * 30.0 + j * 3.0 + 1.0, d, a) for j in range(n)]


def test_rem_epoch_phasic_with_5_of_10_mini_epochs_not_4():
    tr, hyp = night(["N2", "R", "R"], in_minis(1, 4) + in_minis(2, 5))
    res = detect_rem_emg([tr], hypnogram=hyp)
    ep = res.epochs()
    assert ep["phasic_mini_epochs"].tolist() == [4, 5]
    assert ep["phasic"].tolist() == [False, True]
    s = res.summary()
    assert s["phasic_epochs"] == 1 and s["phasic_epoch_pct"] == pytest.approx(50.0)
    assert s["phasic_mini_epoch_pct"] == pytest.approx(45.0)
    assert s["n_mini_epochs"] == 20
    assert (res.events["trial_type"] == "phasic_emg").all() and len(res.events) == 9


@pytest.mark.parametrize("dur, kept", [(0.09, False), (0.11, True), (4.9, True), (5.1, False)])
def test_phasic_burst_lasts_0_1_to_5_s(dur: float, kept: bool):
    tr, hyp = night(["N2", "R"], [(31.0, dur, 20.0)])
    assert len(detect_rem_emg([tr], hypnogram=hyp).events) == int(kept)


@pytest.mark.parametrize("ratio, kept", [(3.9, False), (4.1, True)])
def test_phasic_burst_at_least_4x_background(ratio: float, kept: bool):
    tr, hyp = night(["N2", "R"], [(31.0, 0.5, ratio * BG_UV)])
    res = detect_rem_emg([tr], hypnogram=hyp)
    assert len(res.events) == int(kept)
    assert res.summary()["background_uv"] == pytest.approx(BG_UV)


def test_burst_across_a_mini_epoch_boundary_marks_both():
    tr, hyp = night(["N2", "R"], [(32.8, 0.4, 20.0)])
    assert detect_rem_emg([tr], hypnogram=hyp).epochs()["phasic_mini_epochs"].tolist() == [2]


def test_phasic_bursts_outside_rem_are_ignored():
    tr, hyp = night(["R", "N2"], [(40.0, 0.5, 40.0)])
    assert len(detect_rem_emg([tr], hypnogram=hyp).events) == 0


@pytest.mark.parametrize("fraction, tonic", [(0.49, False), (0.51, True)])
def test_tonic_epoch_needs_half_the_epoch_above_the_nrem_minimum(fraction: float, tonic: bool):
    tr, hyp = night(["N2", "R"], [(30.0, 30.0 * fraction, NREM_UV + 1.0)])
    # the raised stretch is > 5 s, so it is not phasic
    s = detect_rem_emg([tr], hypnogram=hyp).summary()
    assert s["nrem_min_uv"] == pytest.approx(NREM_UV)
    assert s["tonic_epochs"] == int(tonic)
    assert s["any_mini_epoch_pct"] == pytest.approx(100.0 if tonic else 0.0)


def test_sinbar_any_mentalis_18_percent_and_combined_with_arm_phasic():
    stages = ["N2"] + ["R"] * 10  # 100 REM mini-epochs
    chin, hyp = night(stages, [(30.0 + 3.0 * k + 1.0, 0.5, 20.0) for k in range(17)])
    arm, _ = night(stages, [(30.0 + 3.0 * k + 1.0, 0.5, 20.0) for k in range(50, 66)], role="arm_left", label="Arm L")
    s = detect_rem_emg([chin, arm], hypnogram=hyp).summary()
    json.dumps(s)
    assert s["any_mini_epoch_pct"] == pytest.approx(17.0)
    assert s["sinbar_any_mentalis_exceeds"] is False
    assert s["sinbar_combined_pct"] == pytest.approx(33.0)
    assert s["sinbar_combined_exceeds"] is True
    chin18, _ = night(stages, [(30.0 + 3.0 * k + 1.0, 0.5, 20.0) for k in range(18)])
    assert detect_rem_emg([chin18], hypnogram=hyp).summary()["sinbar_any_mentalis_exceeds"] is True


def test_unscorable_rem_epoch_not_evaluated():
    tr, hyp = night(["N2", "R", "R"], in_minis(1, 6) + in_minis(2, 6))
    res = detect_rem_emg([tr], hypnogram=hyp, unscorable=[(35.0, 1.0)])
    assert res.summary()["n_rem_epochs"] == 1
    assert res.epochs()["onset"].tolist() == [60.0]


def test_no_hypnogram_gives_null_rem_summary():
    tr, _ = night(["R"], [])
    s = detect_rem_emg([tr], hypnogram=None).summary()
    json.dumps(s)
    assert s["n_rem_epochs"] is None and s["phasic_mini_epoch_pct"] is None


def test_k_background_setting_is_used():
    st = get_settings()
    st = replace(st, myoclonus=replace(st.myoclonus, rem_k_background=2.0))
    tr, hyp = night(["N2", "R"], [(31.0, 0.5, 3.0 * BG_UV)])
    assert len(detect_rem_emg([tr], hypnogram=hyp, settings=st).events) == 1
    assert len(detect_rem_emg([tr], hypnogram=hyp).events) == 0
