"""Fragmentary myoclonus potentials and the AASM EFM rule (docs/rules.md §6)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from somnomyo.detect.bursts import EMGTrace, trace_bursts
from somnomyo.detect.fragmentary import detect_fragmentary, efm_minutes
from somnomyo.io.annotations import Hypnogram
from somnomyo.settings import get_settings

BASE_UV = 2.0


def trace(
    fs: float,
    seconds: float,
    bursts: list[tuple[float, float, float]],
    *,
    label: str = "Leg L",
    role: str = "leg_left",
    r_peaks: np.ndarray | None = None,
) -> EMGTrace:
    """Synthetic envelope: flat BASE_UV background with rectangular bursts (onset s, duration s, µV)."""
    env = np.full(int(round(seconds * fs)), BASE_UV)
    for t, d, a in bursts:
        s = int(round(t * fs))
        env[s : s + int(round(d * fs))] = a
    return EMGTrace(label, env, fs, role=role, r_peak_times=r_peaks)


def with_fm(**changes: object):
    s = get_settings()
    return replace(s, myoclonus=replace(s.myoclonus, **changes))


def n2(minutes: float) -> Hypnogram:
    return Hypnogram(np.array(["N2"] * int(round(minutes * 2))))


# ----------------------------------------------------------------- single potentials
def test_aasm_fm_potential_149_ms_kept_151_ms_rejected():
    tr = trace(1000.0, 60.0, [(10.0, 0.149, 60.0), (30.0, 0.151, 60.0)])
    ev = detect_fragmentary([tr], hypnogram=n2(1)).events
    assert ev["onset"].tolist() == [10.0]
    assert ev["duration"].iloc[0] == pytest.approx(0.149)
    assert (ev["trial_type"] == "fragmentary_myoclonus").all()
    assert ev["stage"].iloc[0] == "N2"


def test_fm_amplitude_floor_20_uv_above_background():
    tr = trace(1000.0, 60.0, [(10.0, 0.1, BASE_UV + 19.9), (30.0, 0.1, BASE_UV + 20.1)])
    ev = detect_fragmentary([tr]).events
    assert ev["onset"].tolist() == [30.0]
    assert ev["amplitude_uv"].iloc[0] == pytest.approx(20.1)


def test_fm_potential_needs_8x_its_background_a_crossing_of_a_noisy_background_is_not_fm():
    """Amplitude >= fm_min_background_ratio (8) x the background at the peak: 30 µV over a 5-µV
    background (6x) is background crossing the burst threshold, 30 µV over 2 µV (15x) is FM."""
    fs = 1000.0
    env = np.full(int(240 * fs), BASE_UV)
    env[int(80 * fs) :] = 5.0  # a noisier background from 80 s
    env[int(20 * fs) : int(20.08 * fs)] = BASE_UV + 30.0
    env[int(180 * fs) : int(180.08 * fs)] = 5.0 + 30.0
    ev = detect_fragmentary([EMGTrace("Leg L", env, fs, role="leg_left")]).events
    assert ev["onset"].tolist() == [20.0]
    assert ev["amplitude_uv"].iloc[0] == pytest.approx(30.0)
    # without the ratio both are potentials (the 20-µV floor alone)
    st = with_fm(fm_min_background_ratio=0.0)
    assert detect_fragmentary([EMGTrace("Leg L", env, fs, role="leg_left")], settings=st).events["onset"].tolist() == [
        20.0,
        180.0,
    ]


def test_fm_brief_potential_below_20_uv_counts_from_10_uv_when_15x_above_its_background():
    """fm_clear_min_amplitude_uv (10 µV) with fm_clear_background_ratio (15): 16 µV over a 1-µV
    background (16x) counts; 16 µV over 2 µV (8x) and 9 µV over 0.6 µV (the background floored
    at burst_background_floor_uv, 1 µV: 9x) do not."""
    fs = 1000.0
    quiet = np.full(int(60 * fs), 1.0)
    quiet[int(10 * fs) : int(10.04 * fs)] = 1.0 + 16.0
    quiet[int(30 * fs) :] = 0.6
    quiet[int(45 * fs) : int(45.04 * fs)] = 0.6 + 9.0
    noisy = trace(fs, 60.0, [(20.0, 0.04, BASE_UV + 16.0)], label="Leg R", role="leg_right")
    traces = [EMGTrace("Leg L", quiet, fs, role="leg_left"), noisy]
    ev = detect_fragmentary(traces).events
    assert ev["onset"].tolist() == [10.0] and ev["channel"].tolist() == ["Leg L"]
    # the absolute 20-µV floor alone keeps none of them
    st = with_fm(fm_clear_min_amplitude_uv=20.0)
    assert detect_fragmentary([EMGTrace("Leg L", quiet, fs, role="leg_left"), noisy], settings=st).events.empty


def test_research_fm_definition_needs_75_ms_and_over_50_uv():
    st = with_fm(fm_definition="research")
    tr = trace(
        1000.0,
        60.0,
        [(5.0, 0.074, 80.0), (15.0, 0.076, 80.0), (25.0, 0.1, BASE_UV + 49.0), (35.0, 0.1, BASE_UV + 51.0)],
    )
    ev = detect_fragmentary([tr], settings=st).events
    assert ev["onset"].tolist() == [15.0, 35.0]
    # the AASM definition keeps all four (all <= 150 ms and above the 20 µV floor)
    assert len(detect_fragmentary([tr]).events) == 4


def test_fm_potential_within_60_ms_of_ecg_r_peak_rejected_when_it_recurs_every_beat():
    r = np.arange(1.0, 60.0, 1.0)  # 60 bpm
    # ECG residue: a 20-ms burst 59 ms after every R peak from 5 s to 15 s; a lone potential
    # 59 ms after the beat at 30 s; a recurring burst 61 ms after each beat from 40 to 50 s
    ecg = [(t + 0.059, 0.02, 60.0) for t in np.arange(5.0, 16.0)]
    late = [(t + 0.061, 0.02, 60.0) for t in np.arange(40.0, 51.0)]
    tr = trace(1000.0, 60.0, ecg + [(30.059, 0.02, 60.0)] + late, r_peaks=r)
    res = detect_fragmentary([tr])
    on = res.events["onset"].round(3).tolist()
    assert 30.059 in on  # near a beat but alone: a real potential
    assert not any(5.0 < t < 16.0 for t in on)  # within 60 ms of the beat, at every beat: ECG
    assert sum(40.0 < t < 51.0 for t in on) == 11  # 61 ms after the beat: outside the window
    assert res.rejected["ecg"] == 11
    # without R peaks the residue is kept
    tr.r_peak_times = None
    tr.cache.clear()
    assert len(detect_fragmentary([tr]).events) == 23


@pytest.mark.parametrize("hits, rejected", [(2, False), (3, True)])
def test_ecg_recurrence_needs_half_of_the_6_neighbouring_beats(hits: int, rejected: bool):
    r = np.arange(1.0, 60.0, 1.0)
    # candidate 30 ms after the beat at 30 s; bursts at the same latency after `hits` of the
    # 3 + 3 neighbouring beats (27-29 s, 31-33 s)
    others = [27.0, 31.0, 28.0, 32.0][:hits]
    tr = trace(1000.0, 60.0, [(30.02, 0.02, 60.0)] + [(t + 0.02, 0.02, 60.0) for t in others], r_peaks=r)
    on = detect_fragmentary([tr]).events["onset"].round(3).tolist()
    assert (30.02 not in on) is rejected


def test_electrode_pop_above_1_mv_rejected():
    tr = trace(1000.0, 60.0, [(10.0, 0.02, 999.0), (30.0, 0.02, 1001.0)])
    res = detect_fragmentary([tr])
    assert res.events["onset"].tolist() == [10.0]
    assert res.rejected["pop"] == 1


def test_fm_within_0_5_s_of_a_leg_movement_belongs_to_it():
    # LM 10-11 s (>= 0.5 s); brief bursts 0.4 s and 0.6 s after its end
    tr = trace(
        1000.0, 60.0, [(10.0, 1.0, 60.0), (11.4, 0.05, 60.0), (21.0, 0.05, 60.0), (30.0, 0.6, 60.0), (31.1, 0.05, 60.0)]
    )
    res = detect_fragmentary([tr])
    assert res.events["onset"].round(3).tolist() == [21.0, 31.1]
    assert res.rejected["lm"] == 1
    # an LM scored elsewhere (given as an event table) excludes nearby potentials too
    lm = pd.DataFrame({"onset": [20.0], "duration": [0.8], "channel": ["Leg L"]})
    assert detect_fragmentary([tr], lm_events=lm).events["onset"].round(3).tolist() == [31.1]
    lm_other = lm.assign(channel="Leg R")
    assert len(detect_fragmentary([tr], lm_events=lm_other).events) == 2


def test_unscorable_time_drops_potentials():
    tr = trace(1000.0, 60.0, [(10.0, 0.05, 60.0), (30.0, 0.05, 60.0)])
    assert detect_fragmentary([tr], unscorable=[(29.0, 2.0)]).events["onset"].tolist() == [10.0]
    per_channel = {"Leg L": [(9.0, 2.0)], "Leg R": [(29.0, 2.0)]}
    assert detect_fragmentary([tr], unscorable=per_channel).events["onset"].tolist() == [30.0]


# ------------------------------------------------------------------------ EFM rule
def spaced(start: float, stop: float, per_min: float, d: float = 0.1, a: float = 60.0):
    step = 60.0 / per_min
    return [(t, d, a) for t in np.arange(start + 1.0, stop - d, step)]


def test_efm_minute_positive_with_5_potentials_not_4():
    hyp = n2(21)
    four = [(m * 60.0 + 5.0 + 10.0 * k, 0.1, 60.0) for m in range(21) for k in range(4)]
    five = [(m * 60.0 + 5.0 + 10.0 * k, 0.1, 60.0) for m in range(21) for k in range(5)]
    s4 = detect_fragmentary([trace(100.0, 21 * 60.0, four)], hypnogram=hyp).summary()
    s5 = detect_fragmentary([trace(100.0, 21 * 60.0, five)], hypnogram=hyp).summary()
    assert s4["efm_minutes"] == 0.0 and s4["efm"] is False
    assert s5["efm_minutes"] == 21.0 and s5["efm"] is True


def test_efm_rate_4_9_vs_5_1_per_minute_over_21_nrem_minutes():
    hyp = n2(21)
    s49 = detect_fragmentary([trace(100.0, 1260.0, spaced(0.0, 1260.0, 4.9))], hypnogram=hyp).summary()
    s51 = detect_fragmentary([trace(100.0, 1260.0, spaced(0.0, 1260.0, 5.1))], hypnogram=hyp).summary()
    assert s49["efm"] is False and s49["efm_minutes"] < 20.0
    assert s51["efm"] is True and s51["efm_minutes"] == 21.0


@pytest.mark.parametrize("nrem_min, expected", [(19.5, False), (20.5, True)])
def test_efm_needs_20_minutes_of_nrem(nrem_min: float, expected: bool):
    stages = ["W"] * 4 + ["N2"] * int(nrem_min * 2) + ["W"] * 6
    hyp = Hypnogram(np.array(stages))
    total = len(stages) * 30.0
    res = detect_fragmentary([trace(100.0, total, spaced(0.0, total, 6.0))], hypnogram=hyp)
    s = res.summary()
    assert s["efm"] is expected
    assert s["efm_minutes"] == float(int(nrem_min))  # whole NREM minutes only; W minutes never count
    assert (res.minutes["stage"] == "N2").all()


def test_efm_contiguous_mode_needs_20_consecutive_minutes():
    stages = ["N2"] * 20 + ["W"] * 2 + ["N2"] * 22  # 10 + 11 NREM minutes around a 1-min wake
    hyp = Hypnogram(np.array(stages))
    tr = trace(100.0, len(stages) * 30.0, spaced(0.0, len(stages) * 30.0, 6.0))
    cum = detect_fragmentary([tr], hypnogram=hyp).summary()
    con = detect_fragmentary([tr], hypnogram=hyp, settings=with_fm(fm_efm_mode="contiguous")).summary()
    assert cum["efm_minutes"] == 21.0 and cum["efm"] is True
    assert con["efm_longest_run_minutes"] == 11.0 and con["efm"] is False


def test_efm_windows_count_potentials_per_nrem_minute():
    hyp = Hypnogram(np.array(["W", "W", "N1", "N1", "N3", "R", "N2", "N2"]))
    m = efm_minutes(np.array([59.9, 61.0, 70.0, 119.9, 120.0, 170.0, 185.0, 239.9]), hyp, settings=get_settings())
    # NREM stretch 60-150 s -> one full minute [60, 120) (the last half minute is no window);
    # stretch 180-240 s -> [180, 240); W and R potentials never count
    assert m["onset"].tolist() == [60.0, 180.0]
    assert m["count"].tolist() == [3, 2]


def test_fm_index_by_stage_per_hour():
    hyp = Hypnogram(np.array(["N2"] * 4 + ["R"] * 2))  # 2 min N2, 1 min R
    tr = trace(100.0, 180.0, [(10.0, 0.1, 60.0), (70.0, 0.1, 60.0), (100.0, 0.1, 60.0), (130.0, 0.1, 60.0)])
    s = detect_fragmentary([tr], hypnogram=hyp).summary()
    assert s["count"] == 4
    assert s["fm_index_by_stage"]["N2"] == pytest.approx(3 / (2 / 60))
    assert s["fm_index_by_stage"]["R"] == pytest.approx(1 / (1 / 60))
    assert s["fm_index_by_stage"]["N3"] is None
    assert s["fm_index"] == pytest.approx(4 / (3 / 60))


def test_summary_without_hypnogram_is_json_with_null_efm():
    tr = trace(100.0, 120.0, [(10.0, 0.1, 60.0)])
    s = detect_fragmentary([tr]).summary()
    json.dumps(s)
    assert s["efm"] is None and s["efm_minutes"] is None
    assert s["fm_index"] == pytest.approx(30.0)  # per hour of recording
    assert s["fm_index_by_stage"]["N2"] is None


# ----------------------------------------------------------------------- real EMG
def load_biosppy(path: Path) -> np.ndarray:
    """BioSPPy text file (1000 Hz, 12-bit ADC) to µV with an ASSUMED gain: BITalino/PLUX EMG
    sensor, VCC 3.3 V, gain 1009 -> (ADC - midscale) x 3.3 / 4096 / 1009 V (~0.8 µV per unit).
    The muscle and the true gain are not documented."""
    x = np.loadtxt(path, comments="#")
    return (x - np.median(x)) * 3.3 / 4096 / 1009 * 1e6


def real_trace(path: Path) -> EMGTrace:
    from somnomyo.signal.conditioning import condition_emg

    st = get_settings()
    cond = replace(st.conditioning, envelope_window_s=st.myoclonus.burst_envelope_window_s)
    c = condition_emg(load_biosppy(path), 1000.0, settings=cond)
    return EMGTrace(
        path.stem, c.envelope, c.fs, role="other_emg", filtered=c.filtered, r_peak_times=np.asarray(c.r_peaks) / c.fs
    )


def test_real_emg_activations_found_as_bursts(real_dir: Path):
    tr = real_trace(real_dir / "biosppy" / "emg_bursts.txt")
    b = trace_bursts(tr, get_settings(), min_duration_s=0.1)
    onsets = b["onset"].to_numpy()
    # activations visible in the 1-s mean rectified trace at ~1.5 s, ~15.5 s and ~25.7-26.4 s
    for t in (1.5, 15.5, 25.7):
        assert np.any(np.abs(onsets - t) < 0.5), (t, onsets)
    assert (b["amplitude_uv"] > 50.0).all()


def test_real_resting_emg_has_no_fragmentary_myoclonus(real_dir: Path):
    tr = real_trace(real_dir / "biosppy" / "emg_rest.txt")
    res = detect_fragmentary([tr])
    assert len(res.events) == 0


def test_synchronous_bursts_on_two_channels_are_a_jerk_not_fm():
    left = trace(1000.0, 60.0, [(10.0, 0.1, 60.0), (20.0, 0.1, 60.0), (30.0, 0.1, 60.0)])
    right = trace(1000.0, 60.0, [(10.099, 0.1, 60.0), (20.101, 0.1, 60.0)], label="Leg R", role="leg_right")
    res = detect_fragmentary([left, right])
    # 10.0/10.099 start within the 100-ms jerk window -> excluded; 20.0 and 20.101 are asynchronous
    assert res.events["onset"].round(3).tolist() == [20.0, 20.101, 30.0]
    assert res.rejected["synchronous"] == 2
    off = with_fm(fm_exclude_synchronous=False)
    assert len(detect_fragmentary([left, right], settings=off).events) == 5


@pytest.mark.parametrize("seed", range(5))
def test_block_threshold_runs_equal_sample_by_sample_runs(seed: int):
    from somnomyo.detect.bursts import BlockBackground, runs_above
    from somnomyo.signal.intervals import runs

    rng = np.random.default_rng(seed)
    n, blk = int(rng.integers(500, 5000)), int(rng.integers(1, 300))
    env = rng.random(n)
    thr = BlockBackground(blk, rng.uniform(0.6, 1.05, -(-n // blk)), n)
    want = runs(env > thr.per_sample())
    got = runs_above(env, thr)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_background_is_the_resting_level_despite_bursts():
    from somnomyo.detect.bursts import block_background

    rng = np.random.default_rng(0)
    env = np.abs(rng.normal(3.0, 0.3, 120 * 256))
    env[:: 256 * 3] = 500.0  # a spike every 3 s
    bg = block_background(env, 256.0, block_s=1.0, window_s=60.0, floor_uv=1.0, samples_per_block=64)
    assert np.allclose(bg.values, 3.0, rtol=0.05)
