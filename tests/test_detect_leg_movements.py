"""Leg-movement detection rules (WASM 2016 / AASM, docs/rules.md §1.3) and the recording API."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from somnomyo.detect.leg_movements import LMDetection, detect_leg_movements, detect_lms, find_lms
from somnomyo.errors import ChannelError
from somnomyo.events import COLUMNS
from somnomyo.io.recording import ChannelInfo, Recording, Signal
from somnomyo.settings import BaselineSettings, get_settings
from somnomyo.signal.baseline import resting_baseline

FS = 256
WASM = get_settings("wasm2016")
AASM = get_settings("aasm")
REST_UV = 2.0  # constructed resting envelope level


# ----------------------------------------------------------------------------- helpers
def envelope_with(plateaus: list[tuple[float, float, float]], dur: float = 150.0) -> np.ndarray:
    """Constant resting envelope with plateaus (start_s, stop_s, µV above rest)."""
    e = np.full(int(dur * FS), REST_UV)
    for t0, t1, above in plateaus:
        e[int(round(t0 * FS)) : int(round(t1 * FS))] = REST_UV + above
    return e


def lms_in(e: np.ndarray, settings=WASM, rectified: np.ndarray | None = None) -> pd.DataFrame:
    base = resting_baseline(e, FS, settings=settings.baseline)
    return find_lms(e, base, FS, settings=settings.lm, rectified=rectified)


def burst(n: int, fs: float, t0: float, t1: float, sd: float, rng: np.random.Generator) -> np.ndarray:
    x = np.zeros(n)
    i0, i1 = int(round(t0 * fs)), int(round(t1 * fs))
    x[i0:i1] = rng.normal(0, sd, i1 - i0)
    return x


# ----------------------------------------------------------------------------- onset / offset
def test_lm_onset_requires_8_uv_above_baseline():
    assert len(lms_in(envelope_with([(80, 82, 7.9)]))) == 0
    got = lms_in(envelope_with([(80, 82, 8.1)]))
    assert len(got) == 1
    assert got.onset.iloc[0] == pytest.approx(80.0, abs=1 / FS)
    assert got.duration.iloc[0] == pytest.approx(2.0, abs=1 / FS)
    # exactly +8 µV counts ("rises 8 µV above"); baseline given explicitly to keep it exact
    e = envelope_with([(80, 82, 8.0)])
    assert len(find_lms(e, np.full(e.size, REST_UV), FS, settings=WASM.lm)) == 1


def test_lm_onset_is_first_sample_at_8_uv_not_the_earlier_rise():
    # rises to +5 µV at 80 s, reaches +10 µV at 80.4 s: onset is 80.4 s, offset at the end of activity
    got = lms_in(envelope_with([(80, 82, 5.0), (80.4, 81.5, 10.0)]))
    assert got.onset.iloc[0] == pytest.approx(80.4, abs=1 / FS)
    assert got.onset.iloc[0] + got.duration.iloc[0] == pytest.approx(82.0, abs=1 / FS)


@pytest.mark.parametrize("dip_s, n_lms", [(0.49, 1), (0.51, 2)])
def test_lm_offset_needs_0_5_s_quiet_at_or_below_2_uv(dip_s, n_lms):
    # 1 s at +20 µV, a dip to exactly +2 µV, then 1 s at +20 µV
    e = envelope_with([(80, 81, 20.0), (81, 81 + dip_s, 2.0), (81 + dip_s, 82 + dip_s, 20.0)])
    got = lms_in(e)
    assert len(got) == n_lms
    assert got.onset.iloc[0] == pytest.approx(80.0, abs=1 / FS)
    if n_lms == 1:
        assert got.duration.iloc[0] == pytest.approx(2 + dip_s, abs=1 / FS)
    else:
        assert got.duration.iloc[0] == pytest.approx(1.0, abs=1 / FS)  # ends where the dip starts
        assert got.onset.iloc[1] == pytest.approx(81 + dip_s, abs=1 / FS)


def test_lm_offset_dip_just_above_2_uv_is_not_quiet():
    e = envelope_with([(80, 81, 20.0), (81, 82, 2.1), (82, 83, 20.0)])  # 1 s at +2.1 µV
    got = lms_in(e)
    assert len(got) == 1 and got.duration.iloc[0] == pytest.approx(3.0, abs=1 / FS)


@pytest.mark.parametrize("dur_s, kept", [(0.49, False), (0.51, True)])
def test_lm_shorter_than_0_5_s_is_rejected(dur_s, kept):
    for settings in (WASM, AASM):
        got = lms_in(envelope_with([(80, 80 + dur_s, 10.0)]), settings)
        assert (len(got) == 1) is kept
        if kept:
            assert got.duration.iloc[0] == pytest.approx(dur_s, abs=1 / FS)


@pytest.mark.parametrize("dur_s, aasm_kept", [(9.9, True), (10.1, False), (30.0, False)])
def test_aasm_lm_longer_than_10_s_is_rejected_wasm_keeps_it(dur_s, aasm_kept):
    e = envelope_with([(80, 80 + dur_s, 10.0)])
    assert (len(lms_in(e, AASM)) == 1) is aasm_kept
    wasm = lms_in(e, WASM)  # WASM 2016: no maximum for an LM
    assert len(wasm) == 1 and wasm.duration.iloc[0] == pytest.approx(dur_s, abs=1 / FS)


def test_lm_amplitude_is_peak_and_mean_above_baseline():
    got = lms_in(envelope_with([(80, 81, 10.0), (81, 82, 30.0)]))
    assert got.amplitude_uv.iloc[0] == pytest.approx(30.0, rel=1e-5)
    assert got.mean_uv.iloc[0] == pytest.approx(20.0, rel=1e-3)


def test_lm_still_active_at_recording_end_ends_at_the_end():
    e = envelope_with([(148, 150, 10.0)])
    got = lms_in(e)
    assert len(got) == 1 and got.onset.iloc[0] + got.duration.iloc[0] == pytest.approx(150.0)


# ----------------------------------------------------------------------------- morphology (WASM 2016)
@pytest.mark.parametrize("median_above, kept", [(1.9, False), (2.1, True)])
def test_wasm2016_morphology_median_of_rectified_emg_must_reach_2_uv(median_above, kept):
    e = envelope_with([(80, 81, 10.0)])
    rect = np.full(e.size, REST_UV)
    rect[80 * FS : 81 * FS] = REST_UV + median_above  # 1 s whose median is +1.9 / +2.1 µV
    assert (len(lms_in(e, WASM, rectified=rect)) == 1) is kept
    assert len(lms_in(e, AASM, rectified=rect)) == 1  # AASM: no morphology rule


def test_wasm2016_morphology_rule_rejects_spiky_noise():
    rng = np.random.default_rng(20)
    n = 150 * FS
    x = rng.normal(0, 1.0, n)
    for t0 in np.arange(60, 63, 1 / 3):  # 3 s of 8-ms, 100-µV spikes at 3 Hz
        i = int(t0 * FS)
        x[i : i + 2] += 100 * np.array([1.0, -1.0])
    x += burst(n, FS, 100.0, 102.0, 20, rng)  # and one true 2-s LM
    wasm = detect_lms(x, FS, settings=WASM).events
    aasm = detect_lms(x, FS, settings=AASM).events
    assert len(aasm) == 2 and aasm.onset.iloc[0] == pytest.approx(60.0, abs=0.1)
    assert len(wasm) == 1 and wasm.onset.iloc[0] == pytest.approx(100.0, abs=0.1)


# ----------------------------------------------------------------------------- unscorable
def test_noisy_baseline_over_15_uv_is_unscorable_and_its_lms_dropped():
    rng = np.random.default_rng(21)
    n = 400 * FS
    x = rng.normal(0, 1.5, n)
    x += burst(n, FS, 100, 300, 35, rng)  # 200 s of noisy EMG (rest > 15 µV)
    x += burst(n, FS, 200, 202, 150, rng)  # an "LM" inside the noise
    x += burst(n, FS, 350, 352, 20, rng)  # a clean LM afterwards
    det = detect_lms(x, FS, settings=WASM, label="LAT")
    noisy = det.unscorable[det.unscorable.reason == "noisy_baseline"]
    assert len(noisy) == 1
    assert noisy.onset.iloc[0] == pytest.approx(160, abs=1) and noisy.channel.iloc[0] == "LAT"
    assert noisy.onset.iloc[0] + noisy.duration.iloc[0] == pytest.approx(300, abs=1)
    on = det.events.onset.to_numpy()
    assert not ((on > 160) & (on < 300)).any()
    assert np.isclose(on, 350, atol=0.1).any()


def test_lms_overlapping_given_unscorable_stretches_are_dropped():
    rng = np.random.default_rng(22)
    n = 200 * FS
    x = rng.normal(0, 1.5, n) + burst(n, FS, 80, 82, 20, rng) + burst(n, FS, 120, 122, 20, rng)
    unsc = pd.DataFrame({"onset": [81.5], "duration": [10.0], "reason": ["flat"]})
    det = detect_lms(x, FS, settings=WASM, unscorable=unsc)
    assert det.events.onset.to_numpy() == pytest.approx([120.0], abs=0.1)
    assert "flat" in set(det.unscorable.reason)
    edge = pd.DataFrame({"onset": [82.3], "duration": [10.0]})  # starts just after the LM: kept
    assert len(detect_lms(x, FS, settings=WASM, unscorable=edge).events) == 2


# ----------------------------------------------------------------------------- raw signal, tables
@pytest.mark.parametrize("fs", [200, 256, 500])
def test_raw_emg_lm_onset_and_offset_end_to_end(fs):
    rng = np.random.default_rng(23)
    n = int(120 * fs)
    t = np.arange(n) / fs
    x = rng.normal(0, 1.5, n) + 10 * np.sin(2 * np.pi * 50 * t) + burst(n, fs, 70.0, 71.5, 30, rng)
    det = detect_lms(x, fs, settings=WASM, label="RAT", side="right")
    ev = det.events
    assert len(ev) == 1
    assert ev.onset.iloc[0] == pytest.approx(70.0, abs=0.1)
    assert ev.onset.iloc[0] + ev.duration.iloc[0] == pytest.approx(71.5, abs=0.1)
    assert ev.amplitude_uv.iloc[0] > 8 and ev.mean_uv.iloc[0] > 2
    assert (ev.trial_type == "leg_movement").all() and ev.channel.iloc[0] == "RAT" and ev.side.iloc[0] == "right"
    assert det.conditioned.mains_hz == 50.0
    assert 0.5 < det.baseline_median_uv < 3.0


def test_empty_result_has_all_columns():
    rng = np.random.default_rng(24)
    det = detect_lms(rng.normal(0, 1.5, 90 * FS), FS, settings=WASM)
    assert isinstance(det, LMDetection)
    assert len(det.events) == 0
    assert list(det.events.columns) == list(COLUMNS) + ["mean_uv"]
    for col, (dtype, _) in COLUMNS.items():
        assert str(det.events[col].dtype) == dtype
    assert str(det.events["mean_uv"].dtype) == "float64"
    assert list(det.unscorable.columns) == ["onset", "duration", "reason", "channel"]
    assert len(det.unscorable) == 0


# ----------------------------------------------------------------------------- recording API
def _recording(signals: dict[str, np.ndarray], fs: dict[str, float], gaps=()) -> Recording:
    chans = [ChannelInfo(label=k, fs=fs[k], unit="uV") for k in signals]
    sigs = {k: Signal(label=k, data=v, fs=fs[k]) for k, v in signals.items()}
    dur = max(v.size / fs[k] for k, v in signals.items())
    return Recording(path=Path("night.edf"), start=None, duration=dur, channels=chans, signals=sigs, gaps=list(gaps))


def test_detect_leg_movements_two_legs_with_ecg_channel():
    rng = np.random.default_rng(25)
    dur, fs = 180, 256
    n = dur * fs
    times = np.arange(1.0, dur - 1, 0.85)
    leak = np.zeros(n)
    for t0 in times:  # 30-µV spikes on both legs
        i = int(round(t0 * fs))
        leak[i - 3 : i + 4] += 30 * np.array([-0.5, -1, 0.5, 1.6, 0.5, -1, -0.5])
    ecg = np.zeros(int(dur * 500))
    ecg[np.round(times * 500).astype(int)] = 1000.0
    left = rng.normal(0, 1.5, n) + leak + burst(n, fs, 60, 62, 20, rng) + burst(n, fs, 100, 101, 20, rng)
    right = rng.normal(0, 1.5, n) + leak + burst(n, fs, 60.3, 62, 20, rng)
    rec = _recording(
        {"LAT": left, "RAT": right, "ECG": ecg}, {"LAT": fs, "RAT": fs, "ECG": 500.0}, gaps=[(150.0, 10.0)]
    )
    det = detect_leg_movements(rec, legs={"left": "LAT", "right": "RAT"}, ecg_label="ECG", settings=WASM)
    ev = det.events
    assert list(ev.side) == ["left", "right", "left"]
    assert list(ev.channel) == ["LAT", "RAT", "LAT"]
    assert ev.onset.to_numpy() == pytest.approx([60.0, 60.3, 100.0], abs=0.1)
    assert set(det.per_side) == {"left", "right"}
    assert det.per_side["left"].conditioned.ecg_source == "given"
    assert det.per_side["left"].conditioned.r_peaks.size >= 0.95 * times.size
    gaps = det.unscorable[det.unscorable.reason == "recording_gap"]
    assert sorted(gaps.channel) == ["LAT", "RAT"]
    assert det.conditioned is None
    assert det.baseline_median_uv == max(d.baseline_median_uv for d in det.per_side.values())


def test_detect_leg_movements_single_bipolar_channel_is_side_both():
    rng = np.random.default_rng(26)
    n = 120 * FS
    x = rng.normal(0, 1.5, n) + burst(n, FS, 70, 72, 20, rng)
    rec = _recording({"Legs": x}, {"Legs": FS})
    ev = detect_leg_movements(rec, legs={"both": "Legs"}, settings=AASM).events
    assert list(ev.side) == ["both"] and list(ev.channel) == ["Legs"]


def test_detect_leg_movements_missing_channel_is_a_one_line_channel_error():
    rec = _recording({"LAT": np.zeros(60 * FS)}, {"LAT": FS})
    with pytest.raises(ChannelError) as err:
        detect_leg_movements(rec, legs={"left": "LAT", "right": "RAT"}, settings=WASM)
    msg = str(err.value)
    assert msg.startswith("night.edf:") and "'RAT'" in msg and "\n" not in msg


def test_detect_leg_movements_bad_side_lists_the_allowed_values():
    rec = _recording({"LAT": np.zeros(60 * FS)}, {"LAT": FS})
    with pytest.raises(ValueError, match="'left', 'right', 'both'"):
        detect_leg_movements(rec, legs={"up": "LAT"}, settings=WASM)
    with pytest.raises(ValueError, match="both"):
        detect_leg_movements(rec, legs={"both": "LAT", "left": "LAT"}, settings=WASM)


def test_adaptive_baseline_absorbs_a_lasting_rise_in_rest_level_fixed_does_not():
    # the rest level steps from 2 to 12 µV at 150 s: the adaptive baseline (60-s look-back min)
    # takes it as the new rest after 60 s; a fixed baseline sees activity to the end
    e = np.full(300 * FS, 2.0)
    e[150 * FS :] = 12.0
    adapt = find_lms(e, resting_baseline(e, FS, settings=BaselineSettings()), FS, settings=WASM.lm)
    fixed_base = resting_baseline(e, FS, settings=BaselineSettings(adaptive=False))
    fixed = find_lms(e, fixed_base, FS, settings=WASM.lm)
    assert len(adapt) == 1 and adapt.duration.iloc[0] == pytest.approx(60, abs=0.5)
    assert len(fixed) == 1 and fixed.duration.iloc[0] == pytest.approx(150, abs=0.5)


# ----------------------------------------------------------------------------- fast paths give the same LMs
def _find_lms_by_definition(e, b, fs, st, rect):
    """Whole-record reference of the LM rules (every run of quiet samples, running median count)."""
    above = e.astype(np.float64) - b
    n = above.size
    m = np.concatenate([[False], above <= st.offset_above_baseline_uv, [False]]).astype(np.int8)
    qs, qe = np.flatnonzero(np.diff(m) == 1), np.flatnonzero(np.diff(m) == -1)
    q_min = int(np.ceil(st.offset_quiet_s * fs - 1e-6))
    long_ = (qe - qs) >= q_min
    seg = zip(np.concatenate([[0], qe[long_]]), np.concatenate([qs[long_], [n]]))
    w = int(np.ceil(st.morphology_window_s * fs - 1e-6))
    w += (w + 1) % 2
    out = []
    for a, z in seg:  # reference: plain loops are fine here
        hi = np.flatnonzero(above[a:z] >= st.onset_above_baseline_uv)
        if not hi.size:
            continue
        s0 = a + hi[0]
        if z - s0 < int(np.ceil(st.min_duration_s * fs - 1e-6)):
            continue
        if st.max_duration_s is not None and (z - s0) / fs > st.max_duration_s + 1e-9:
            continue
        if st.morphology_rule:
            r = np.abs(rect[s0:z]) - b[s0:z] >= st.morphology_above_baseline_uv
            if not any(r[k : k + w].sum() >= (w + 1) // 2 for k in range(0, z - s0 - w + 1)):
                continue
        out.append((s0, z, above[s0:z].max(), above[s0:z].mean()))
    return out


@pytest.mark.parametrize("settings", [WASM, AASM], ids=["wasm2016", "aasm"])
def test_find_lms_same_as_the_rules_applied_by_definition(settings):
    rng = np.random.default_rng(9)
    n = 600 * FS
    e = np.abs(rng.normal(0, 0.6, n)) + REST_UV
    spans = []
    for t0 in rng.uniform(0, 590, 60):  # bursts of many lengths and heights
        i0, i1 = int(t0 * FS), int((t0 + rng.uniform(0.2, 12)) * FS)
        e[i0:i1] += rng.uniform(3, 30) * np.abs(np.sin(np.linspace(0, rng.uniform(1, 20), i1 - i0)))
        spans.append((i0, i1))
    rect = e + rng.normal(0, 1.0, n)
    for i0, i1 in spans[::3]:  # rectified EMG near +2 µV: morphology decides
        rect[i0:i1] = REST_UV + 1.9 + rng.normal(0, 0.3, i1 - i0)
    base = np.full(n, REST_UV)
    want = _find_lms_by_definition(e, base, FS, settings.lm, rect)
    for dtype in (np.float64, np.float32):
        got = find_lms(e.astype(dtype), base.astype(dtype), FS, settings=settings.lm, rectified=rect.astype(dtype))
        assert len(want) > 10 and len(got) == len(want)
        if settings.lm.morphology_rule:  # the rule did reject some here
            loose = find_lms(e, base, FS, settings=dataclasses.replace(settings.lm, morphology_rule=False))
            assert len(loose) > len(want)
        assert np.array_equal(got[["start", "stop"]].to_numpy(), np.array([w[:2] for w in want]))
        assert np.allclose(got["amplitude_uv"], [w[2] for w in want], rtol=1e-5)
        assert np.allclose(got["mean_uv"], [w[3] for w in want], rtol=1e-5)


@pytest.mark.parametrize("n_extra", [0, 3])
def test_find_lms_against_a_decimated_baseline_equals_the_per_sample_baseline(n_extra):
    rng = np.random.default_rng(21)
    step = 5
    n = 300 * FS + n_extra  # a ragged last step when n_extra > 0
    level = (REST_UV + 0.5 * np.sin(np.arange(-(-n // step)) / 500.0)).astype(np.float32)
    base = np.repeat(level, step)[:n]
    e = (base + np.abs(rng.normal(0, 0.6, n))).astype(np.float32)
    for t0 in rng.uniform(0, 290, 25):
        i0 = int(t0 * FS)
        e[i0 : i0 + int(rng.uniform(0.3, 8) * FS)] += rng.uniform(5, 25)
    rect = e + rng.normal(0, 1.0, n).astype(np.float32)
    for settings in (WASM, AASM):
        want = find_lms(e, base, FS, settings=settings.lm, rectified=rect)
        got = find_lms(e, level, FS, settings=settings.lm, rectified=rect, step=step)
        assert len(want) > 5
        pd.testing.assert_frame_equal(got, want)


def test_find_lms_of_an_empty_envelope_is_an_empty_table_and_a_wrong_baseline_length_is_refused():
    for base in (1.0, np.zeros(0)):
        out = find_lms(np.zeros(0, np.float32), base, FS, settings=WASM.lm)
        assert len(out) == 0 and list(out.columns) == ["start", "stop", "onset", "duration", "amplitude_uv", "mean_uv"]
    with pytest.raises(ValueError, match="one value per 5 sample"):
        find_lms(np.zeros(100, np.float32), np.zeros(7), FS, settings=WASM.lm, step=5)
