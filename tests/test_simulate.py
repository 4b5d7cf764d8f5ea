"""Tests of the seeded night simulator (somnomyo.simulate): determinism, channels, artefacts, known truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import signal as sps

from somnomyo.io.annotations import NREM_STAGES, SLEEP_STAGES
from somnomyo.settings import get_settings
from somnomyo.simulate import SimOptions, SimulatedNight, simulate_night, simulate_short
from somnomyo.simulate.hypnogram import simulate_hypnogram
from somnomyo.simulate.synth import rng_for

EPOCH = 30.0
S = get_settings()


# --- shared nights (module scope: each is simulated once) --------------------------------------
@pytest.fixture(scope="module")
def dense() -> SimulatedNight:
    """30-min dense adult night at 256 Hz with every adult ingredient on."""
    return simulate_short(3, minutes=30)


@pytest.fixture(scope="module")
def short15() -> SimulatedNight:
    """15-min dense night in which every switchable adult ingredient occurs."""
    return simulate_short(2, minutes=15)


@pytest.fixture(scope="module")
def quiet_ecg() -> SimulatedNight:
    """Background plus a strong ECG leak only."""
    return simulate_short(1, minutes=10, options=SimOptions.quiet(ecg_artifact_uv=30.0))


@pytest.fixture(scope="module")
def infant() -> SimulatedNight:
    return simulate_night(seed=5, hours=1.0, options=SimOptions.infant(clusters_per_h=20.0))


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, dense: SimulatedNight) -> dict[str, Path]:
    return dense.write(tmp_path_factory.mktemp("night"))


def conditioned(x: np.ndarray, fs: float, *, smooth_s: float = 0.1) -> np.ndarray:
    """Rectified 10-100 Hz EMG (AASM EMG band, settings) with a ``smooth_s`` moving mean."""
    c = S.conditioning
    sos = sps.butter(4, [c.highpass_hz, min(c.lowpass_hz, 0.45 * fs)], "bandpass", fs=fs, output="sos")
    y = np.abs(sps.sosfiltfilt(sos, x))
    w = int(smooth_s * fs)
    return np.convolve(y, np.ones(w) / w, mode="same")


def stage_span(night: SimulatedNight, t0: float, t1: float) -> set[str]:
    st = night.truth["stages"]
    return {st[i] for i in range(int(t0 // EPOCH), int(min(t1, len(st) * EPOCH - 1e-9) // EPOCH) + 1)}


# --- determinism ------------------------------------------------------------------------------------
def test_same_seed_and_options_give_byte_identical_files(tmp_path: Path) -> None:
    a = simulate_short(7, minutes=10).write(tmp_path / "a")
    b = simulate_short(7, minutes=10).write(tmp_path / "b")
    for key in ("edf", "truth", "annotations"):
        assert a[key].read_bytes() == b[key].read_bytes(), key


def test_different_seed_gives_different_edf(tmp_path: Path) -> None:
    a = simulate_short(7, minutes=10).write(tmp_path / "a")
    b = simulate_short(8, minutes=10).write(tmp_path / "b")
    assert a["edf"].read_bytes() != b["edf"].read_bytes()
    ta, tb = json.loads(a["truth"].read_text()), json.loads(b["truth"].read_text())
    assert ta["leg_movements"] != tb["leg_movements"]


def test_default_night_is_deterministic_sample_for_sample() -> None:
    a = simulate_night(seed=11, hours=0.5)
    b = simulate_night(seed=11, hours=0.5)
    assert a.truth == b.truth
    for sa, sb in zip(a.signals, b.signals):
        assert sa.label == sb.label and np.array_equal(sa.data, sb.data)


def test_turning_one_ingredient_off_leaves_the_hypnogram_unchanged() -> None:
    a = simulate_short(4, minutes=10)
    b = simulate_short(4, minutes=10, options=SimOptions.short(fm_per_min=0.0))
    assert a.truth["stages"] == b.truth["stages"]
    assert a.truth["apneas"] == b.truth["apneas"]


# --- channels and rates ------------------------------------------------------------------------------
@pytest.mark.parametrize("fs_emg", [200.0, 256.0, 512.0])
def test_each_channel_keeps_its_own_rate(fs_emg: float) -> None:
    opts = SimOptions.quiet(fs_emg=fs_emg, fs_ecg=200.0 if fs_emg != 200.0 else 256.0, fs_resp=32.0)
    night = simulate_night(seed=0, hours=5 / 60, fs=256.0, options=opts)
    want = {
        "EEG C3-M2": 256.0,
        "EEG C4-M1": 256.0,
        "EOG E1-M2": 256.0,
        "EOG E2-M1": 256.0,
        "EMG Chin": fs_emg,
        "ECG II": opts.fs_ecg,
        "Leg L": fs_emg,
        "Leg R": fs_emg,
        "Arm L": fs_emg,
        "Arm R": fs_emg,
        "Airflow": 32.0,
    }
    assert {s.label: s.fs for s in night.signals} == want
    assert night.truth["fs"] == want
    for s in night.signals:
        assert s.data.size == int(round(night.duration * s.fs))
        assert s.unit == ("a.u." if s.label == "Airflow" else "uV")


def test_arms_are_optional() -> None:
    night = simulate_short(0, minutes=5, options=SimOptions.quiet(arms=False))
    assert "Arm L" not in night.labels and "Arm R" not in night.labels
    assert {"Leg L", "Leg R", "EMG Chin", "ECG II", "Airflow"} <= set(night.labels)


@pytest.mark.parametrize("fs_emg", [199.0, 513.0])
def test_emg_rate_outside_200_to_512_hz_is_rejected(fs_emg: float) -> None:
    with pytest.raises(ValueError, match="200-512"):
        SimOptions(fs_emg=fs_emg)


@pytest.mark.parametrize(
    "field, inside, outside",
    [
        ("fs_emg", 200.0, 199.9),
        ("fs_emg", 512.0, 512.1),
        ("plm_imi_s", (15.0, 40.0), (14.9, 40.0)),
        ("plm_imi_s", (20.0, 60.0), (20.0, 60.1)),
        ("fm_duration_ms", (30.0, 150.0), (30.0, 150.1)),
        ("isolation_s", 90.1, 90.0),
        ("long_lm_duration_s", (10.6, 20.0), (10.5, 20.0)),
        ("plm_series_length", (4, 10), (3, 10)),
    ],
)
def test_option_limits_accept_just_inside_and_reject_just_outside(field: str, inside: object, outside: object) -> None:
    assert getattr(SimOptions().with_(**{field: inside}), field) == inside
    with pytest.raises(ValueError, match=field):
        SimOptions().with_(**{field: outside})


def test_bad_option_values_list_the_allowed_values() -> None:
    with pytest.raises(ValueError, match="'adult', 'infant'"):
        SimOptions(population="elderly")
    with pytest.raises(ValueError, match="50, 60, None"):
        SimOptions(mains_hz=55.0)
    with pytest.raises(ValueError, match="15-60"):
        SimOptions(plm_imi_s=(10.0, 40.0))
    with pytest.raises(ValueError, match="150 ms"):
        SimOptions(fm_duration_ms=(50.0, 160.0))
    with pytest.raises(ValueError, match="unknown SimOptions"):
        SimOptions().with_(not_an_option=1)


# --- ECG and mains -----------------------------------------------------------------------------------
def test_ecg_has_55_to_75_bpm_pqrst_beats(quiet_ecg: SimulatedNight) -> None:
    ecg = quiet_ecg.signal("ECG II")
    peaks, _ = sps.find_peaks(ecg.data, height=500.0, distance=int(0.4 * ecg.fs))
    rate = 60.0 / np.median(np.diff(peaks) / ecg.fs)
    assert 50.0 <= rate <= 80.0
    assert np.std(np.diff(peaks)) > 0  # heart-rate variability
    r = quiet_ecg.r_peaks
    assert np.abs(peaks / ecg.fs - r[: peaks.size]).max() <= 1.0 / ecg.fs + 1e-9
    # a T wave follows each R peak: positive bump 0.15-0.4 s later, well below R
    seg = np.stack([ecg.data[p + int(0.15 * ecg.fs) : p + int(0.4 * ecg.fs)] for p in peaks[1:-1]])
    assert 150.0 < np.median(seg.max(axis=1)) < 600.0


def test_ecg_artefact_in_the_legs_is_time_locked_to_the_ecg_r_peaks(quiet_ecg: SimulatedNight) -> None:
    ecg = quiet_ecg.signal("ECG II")
    r_ecg, _ = sps.find_peaks(ecg.data, height=500.0, distance=int(0.4 * ecg.fs))
    for label, sign in (("Leg R", 1.0), ("Leg L", -1.0)):
        leg = quiet_ecg.signal(label)
        p, _ = sps.find_peaks(sign * leg.data, height=20.0, distance=int(0.4 * leg.fs))
        t_leg, t_ecg = p / leg.fs, r_ecg / ecg.fs
        assert 0.95 * r_ecg.size <= p.size <= r_ecg.size
        nearest = np.abs(t_leg[:, None] - t_ecg[None, :]).min(axis=1)
        assert np.all(nearest <= 2.0 / leg.fs)


def test_no_ecg_artefact_in_the_legs_when_switched_off() -> None:
    night = simulate_short(1, minutes=10, options=SimOptions.quiet())
    leg = night.signal("Leg R")
    p, _ = sps.find_peaks(leg.data, height=25.0)
    assert p.size == 0


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_mains_hum_shows_as_a_spectral_peak_at_mains_hz(mains: float) -> None:
    night = simulate_short(2, minutes=5, options=SimOptions.quiet(mains_hz=mains, mains_uv=3.0))
    for label in ("Leg L", "EEG C3-M2", "ECG II"):
        s = night.signal(label)
        f, p = sps.welch(s.data, fs=s.fs, nperseg=int(4 * s.fs))
        at = p[np.argmin(np.abs(f - mains))]
        ref = np.median(p[(np.abs(f - mains) > 3) & (np.abs(f - mains) < 15)])
        assert at > 10 * ref, label


def test_no_mains_peak_when_mains_is_off() -> None:
    night = simulate_short(2, minutes=5, options=SimOptions.quiet())
    s = night.signal("Leg L")
    f, p = sps.welch(s.data, fs=s.fs, nperseg=int(4 * s.fs))
    at = p[np.argmin(np.abs(f - 50.0))]
    ref = np.median(p[(np.abs(f - 50.0) > 3) & (np.abs(f - 50.0) < 15)])
    assert at < 3 * ref


# --- hypnogram -----------------------------------------------------------------------------------------
def test_hypnogram_has_sleep_onset_cycles_rem_and_lights() -> None:
    opts = SimOptions()
    hyp = simulate_hypnogram(rng_for(0, "hypnogram"), 960, opts)
    st = hyp.stages
    first = int(np.flatnonzero(np.isin(st, SLEEP_STAGES))[0])
    assert hyp.lights_off < first * EPOCH
    assert (first * EPOCH - hyp.lights_off) / 60.0 <= opts.sleep_latency_min[1] + 0.5
    assert np.all(st[:first] == "W") and st[first] == "N1"
    assert "N2" in st[first : first + 10]
    # REM periods (runs of R) recur every ~90 min: 3-6 per night
    r = (st == "R").astype(int)
    assert 3 <= int(np.sum(np.diff(r) == 1)) <= 7
    # N3 is front-loaded
    n3 = np.flatnonzero(st == "N3")
    assert np.mean(n3) < st.size / 2
    assert np.all(st[int(np.ceil(hyp.lights_on / EPOCH)) :] == "W")


# --- leg movements: known truth ---------------------------------------------------------------------------
def test_designed_plm_series_have_imis_within_range_inside_sleep(dense: SimulatedNight) -> None:
    lms = dense.truth["leg_movements"]
    series: dict[int, list[dict]] = {}
    for lm in lms:
        if lm["kind"] == "periodic":
            series.setdefault(lm["series_id"], []).append(lm)
    assert len(series) == dense.truth["expected"]["plms_series"] >= 1
    lo, hi = dense.options.plm_imi_s
    for members in series.values():
        assert len(members) >= S.plm.min_series
        on = np.array(sorted(m["onset"] for m in members))
        imi = np.diff(on)
        assert np.all(imi >= lo - 1e-6) and np.all(imi <= hi + 1e-6)
        span = stage_span(dense, on[0], members[-1]["onset"] + members[-1]["duration"])
        assert span <= set(dense.options.plm_stages)


def test_non_series_lms_are_more_than_90_s_from_any_other_lm(dense: SimulatedNight) -> None:
    lms = dense.truth["leg_movements"]
    onsets = np.array([lm["onset"] for lm in lms])
    for lm in lms:
        if lm["kind"] == "periodic":
            continue
        others = [
            o
            for o, x in zip(onsets, lms)
            if x is not lm and not (lm["pair_id"] is not None and x["pair_id"] == lm["pair_id"])
        ]
        assert np.min(np.abs(np.array(others) - lm["onset"])) > S.plm.imi_max_s


def test_lms_lie_in_sleep_or_wake_as_designed(dense: SimulatedNight) -> None:
    night = simulate_short(6, minutes=30, options=SimOptions.short(wake_lm_per_h=30.0, sleep_latency_min=(8.0, 9.0)))
    for n in (dense, night):
        for lm in n.truth["leg_movements"]:
            span = stage_span(n, lm["onset"], lm["onset"] + lm["duration"])
            if lm["kind"] == "periodic":
                assert span <= set(n.options.plm_stages)
            elif lm["kind"] in ("long", "bilateral_pair"):
                assert span <= set(SLEEP_STAGES)
            elif lm["kind"] == "isolated":  # designed either wholly in sleep or wholly in wake
                assert span <= set(SLEEP_STAGES) or span == {"W"}
                assert (lm["stage"] == "W") == (span == {"W"})
    wake = [lm for lm in night.truth["leg_movements"] if lm["stage"] == "W"]
    assert len(wake) == night.truth["expected"]["n_lm_wake"] >= 1
    assert all(night.truth["lights_off"] <= lm["onset"] <= night.truth["lights_on"] for lm in wake)


def test_lm_bursts_exceed_8_uv_above_baseline_from_truth_onset_to_offset(dense: SimulatedNight) -> None:
    """Envelope = rectified 10-100 Hz EMG smoothed over 0.3 s (MATPLM dt_rev1.m moving mean, settings)."""
    thr = S.lm.onset_above_baseline_uv
    for label in ("Leg L", "Leg R"):
        s = dense.signal(label)
        w = int(S.baseline.smooth_s * s.fs)
        env = conditioned(s.data, s.fs, smooth_s=S.baseline.smooth_s)
        edge = w // 2 + int(0.1 * s.fs)
        for lm in (x for x in dense.truth["leg_movements"] if x["channel"] == label):
            i0, i1 = int(round(lm["onset"] * s.fs)), int(round((lm["onset"] + lm["duration"]) * s.fs))
            base = np.median(env[i0 - int(8 * s.fs) : i0 - w])  # local resting level
            assert env[i0 + edge : i1 - edge].min() > base + thr  # clearly above inside the burst
            assert env[i0 - 2 * w : i0 - w].max() < base + S.lm.offset_above_baseline_uv  # quiet before
            assert env[i1 + w : i1 + 2 * w].max() < base + S.lm.offset_above_baseline_uv  # and after


def test_subthreshold_twitches_stay_below_8_uv_above_baseline(dense: SimulatedNight) -> None:
    tw = dense.truth["twitches"]
    assert len(tw) >= 1 and dense.truth["expected"]["n_detectable_twitches"] == 0
    for t in tw:
        s = dense.signal(t["channel"])
        env = conditioned(s.data, s.fs)
        i0, i1 = int(round(t["onset"] * s.fs)), int(round((t["onset"] + t["duration"]) * s.fs))
        assert env[i0:i1].max() < np.median(env) + S.lm.onset_above_baseline_uv / 2


def test_no_leg_movement_anywhere_when_switched_off() -> None:
    night = simulate_short(3, minutes=30, options=SimOptions.short(leg_movements=False))
    assert night.truth["leg_movements"] == [] and night.truth["expected"]["n_lm"] == 0
    assert not any(a["cause"] == "lm" for a in night.truth["arousals"])
    for label in ("Leg L", "Leg R"):
        s = night.signal(label)
        env = conditioned(s.data, s.fs)
        above = env > np.median(env) + S.lm.onset_above_baseline_uv
        # every supra-threshold stretch is a short designed jerk/FM burst, never >= 0.5 s
        edges = np.flatnonzero(np.diff(np.r_[0, above.astype(int), 0]))
        runs = (edges[1::2] - edges[::2]) / s.fs
        assert runs.size == 0 or runs.max() < S.lm.min_duration_s


def test_lm_arousals_start_0_to_1_s_after_onset_and_others_are_far(dense: SimulatedNight) -> None:
    ar = dense.truth["arousals"]
    assert any(lm["arousal"] for lm in dense.truth["leg_movements"])
    for lm in dense.truth["leg_movements"]:
        a, b = lm["onset"], lm["onset"] + lm["duration"]
        gaps = [max(x["onset"] - b, a - (x["onset"] + x["duration"])) for x in ar]
        associated = [g < S.arousal.max_gap_s for g in gaps]
        assert any(associated) == lm["arousal"]
        if lm["arousal"]:  # a pair shares one arousal, timed from its first LM
            first = min(
                o["onset"]
                for o in dense.truth["leg_movements"]
                if o is lm or (lm["pair_id"] is not None and o["pair_id"] == lm["pair_id"])
            )
            assert any(0.0 <= x["onset"] - first <= 1.0 + 1e-6 and 3.0 <= x["duration"] <= 15.0 for x in ar)


def test_respiratory_lms_start_0_to_5_s_after_event_end_and_others_are_outside_both_windows(
    dense: SimulatedNight,
) -> None:
    ap = dense.truth["apneas"]
    assert any(lm["respiratory"] for lm in dense.truth["leg_movements"])
    r = S.respiratory
    aasm = get_settings("aasm").respiratory
    for lm in dense.truth["leg_movements"]:
        a, b = lm["onset"], lm["onset"] + lm["duration"]
        wasm = any(
            a < e["onset"] + e["duration"] + r.after_s and e["onset"] + e["duration"] - r.before_s < b for e in ap
        )
        in_aasm = any(a < e["onset"] + e["duration"] + aasm.after_s and e["onset"] - aasm.before_s < b for e in ap)
        assert wasm == lm["respiratory"]
        assert in_aasm == lm["respiratory_aasm"]
        if lm["respiratory"]:
            assert any(0.0 <= a - (e["onset"] + e["duration"]) <= 5.0 + 1e-6 for e in ap)


def test_bilateral_pairs_overlap_on_both_legs_within_15_s(dense: SimulatedNight) -> None:
    pairs: dict[int, list[dict]] = {}
    for lm in dense.truth["leg_movements"]:
        if lm["pair_id"] is not None:
            pairs.setdefault(lm["pair_id"], []).append(lm)
    assert len(pairs) == dense.truth["expected"]["n_bilateral_pairs"] >= 1
    for a, b in pairs.values():
        assert {a["side"], b["side"]} == {"left", "right"}
        assert a["onset"] < b["onset"] + b["duration"] and b["onset"] < a["onset"] + a["duration"]
        span = max(a["onset"] + a["duration"], b["onset"] + b["duration"]) - min(a["onset"], b["onset"])
        assert span <= S.clm.bi_max_s


def test_long_lms_last_more_than_10_s(dense: SimulatedNight) -> None:
    longs = [lm for lm in dense.truth["leg_movements"] if lm["kind"] == "long"]
    assert longs and all(lm["duration"] > S.clm.mono_max_s for lm in longs)
    others = [lm for lm in dense.truth["leg_movements"] if lm["kind"] != "long"]
    assert all(S.lm.min_duration_s <= lm["duration"] <= S.clm.mono_max_s for lm in others)
    e = dense.truth["expected"]
    assert e["n_clm"] == e["n_lm"] - e["n_long_lm"] - e["n_bilateral_pairs"]


def test_no_designed_lm_overlaps_another_event_on_the_same_leg(dense: SimulatedNight) -> None:
    tr = dense.truth
    other: list[tuple[str, float, float]] = []
    other += [(e["channel"], e["onset"], e["onset"] + e["duration"]) for e in tr["fragmentary_myoclonus"]]
    other += [(e["channel"], e["onset"], e["onset"] + e["duration"]) for e in tr["twitches"]]
    for j in tr["hypnic_jerks"] + tr["myoclonic_jerks"]:
        for m, lag, d in zip(j["muscles"], j["lags_ms"], j["durations_ms"]):
            other.append((m, j["onset"] + lag / 1000, j["onset"] + (lag + d) / 1000))
    lms = tr["leg_movements"]
    for lm in lms:
        a, b = lm["onset"], lm["onset"] + lm["duration"]
        for ch, x, y in other + [(o["channel"], o["onset"], o["onset"] + o["duration"]) for o in lms if o is not lm]:
            if ch == lm["channel"]:
                assert y + S.lm.offset_quiet_s <= a or b + S.lm.offset_quiet_s <= x


# --- myoclonus --------------------------------------------------------------------------------------------
def test_fragmentary_myoclonus_potentials_are_shorter_than_150_ms_in_nrem(dense: SimulatedNight) -> None:
    fm = dense.truth["fragmentary_myoclonus"]
    assert len(fm) >= 10
    assert {e["channel"] for e in fm} <= set(dense.options.fm_channels)
    band = {}
    for label in {e["channel"] for e in fm}:  # drift removed, burst shape kept
        s = dense.signal(label)
        band[label] = sps.sosfiltfilt(sps.butter(2, 10.0, "highpass", fs=s.fs, output="sos"), s.data)
    for e in fm:
        assert 0 < e["duration"] <= 0.150
        assert stage_span(dense, e["onset"], e["onset"] + e["duration"]) <= set(NREM_STAGES)
        s = dense.signal(e["channel"])
        i0 = int(round(e["onset"] * s.fs))
        seg = band[e["channel"]][i0 : i0 + int(round(e["duration"] * s.fs))]
        assert np.max(np.abs(seg)) > 0.7 * e["amplitude_uv"]


@pytest.mark.parametrize("rate, efm", [(8.0, True), (2.0, False)])
def test_efm_truth_follows_the_aasm_rule(rate: float, efm: bool) -> None:
    night = simulate_short(9, minutes=40, options=SimOptions.short(fm_per_min=rate))
    e = night.truth["expected"]
    assert e["nrem_min"] >= 20.0
    assert e["efm"] is efm
    # recount from the truth: minutes of NREM with >= 5 potentials
    st = np.array(night.truth["stages"])
    on = np.array([x["onset"] for x in night.truth["fragmentary_myoclonus"]])
    counts = np.bincount((on // 60).astype(int), minlength=st.size // 2)[: st.size // 2]
    nrem = np.isin(st[: 2 * (st.size // 2)].reshape(-1, 2), NREM_STAGES).all(axis=1)
    assert int(((counts >= 5) & nrem).sum()) == e["efm_positive_minutes"]


def test_hypnic_jerks_hit_several_muscles_at_sleep_onset(dense: SimulatedNight) -> None:
    hj = dense.truth["hypnic_jerks"]
    assert len(hj) >= 1
    for j in hj:
        assert set(j["muscles"]) == {"EMG Chin", "Arm L", "Arm R", "Leg L", "Leg R"}
        assert min(j["lags_ms"]) == 0.0 and max(j["lags_ms"]) <= 60.0 + 1000.0 / 256
        assert all(100.0 - 4 <= d <= 300.0 + 4 for d in j["durations_ms"])
        assert -10.0 <= j["onset"] - j["sleep_onset"] <= 20.0
        st = dense.truth["stages"]
        k = int(j["sleep_onset"] // EPOCH)
        assert st[k - 1] == "W" and st[k] in SLEEP_STAGES


def test_cortical_transient_precedes_jerks_and_shows_only_on_averaging() -> None:
    opts = SimOptions.quiet(
        myoclonic_jerks_per_h=600.0,
        cortical_fraction=1.0,
        eeg_transient_uv=8.0,
        sleep_latency_min=(1.0, 2.0),
        lights_off_min=(0.5, 1.0),
    )
    night = simulate_short(12, minutes=20, options=opts)
    mj = night.truth["myoclonic_jerks"]
    assert len(mj) >= 60 and all(j["cortical"] for j in mj)
    assert all(10.0 - 4 <= j["eeg_lead_ms"] <= 40.0 + 4 for j in mj)
    eeg = night.signal("EEG C3-M2")
    trig = [j for j in mj if "EEG C3-M2" in j["eeg_channels"]]
    fs = eeg.fs
    idx = np.array([int(round(j["eeg_peak"] * fs)) for j in trig])  # designed transient peaks
    assert all(j["eeg_peak"] < j["onset"] for j in trig)
    win = np.arange(-int(0.2 * fs), int(0.1 * fs))
    hp = sps.sosfiltfilt(sps.butter(2, 5.0, "highpass", fs=fs, output="sos"), eeg.data)
    epochs = hp[idx[:, None] + win[None, :]]
    avg = epochs.mean(axis=0) - epochs.mean(axis=0)[: int(0.1 * fs)].mean()
    assert avg[int(0.2 * fs)] > 0.5 * opts.eeg_transient_uv  # visible in the average
    assert opts.eeg_transient_uv < np.std(eeg.data)  # hidden in single trials


def test_negative_myoclonus_is_a_silent_period_in_tonic_emg(dense: SimulatedNight) -> None:
    nm = dense.truth["negative_myoclonus"]
    assert len(nm) >= 1
    for e in nm:
        assert e["stage"] in ("W", "N1") and 0.05 - 1e-6 <= e["duration"] <= 0.5 + 1e-6
        s = dense.signal(e["channel"])
        sos = sps.butter(4, [20.0, min(100.0, 0.45 * s.fs)], "bandpass", fs=s.fs, output="sos")
        y = sps.sosfiltfilt(sos, s.data)
        i0, i1 = int(round(e["onset"] * s.fs)), int(round((e["onset"] + e["duration"]) * s.fs))
        inside = np.sqrt(np.mean(y[i0 + 3 : i1 - 3] ** 2))
        around = np.sqrt(np.mean(np.r_[y[i0 - int(0.5 * s.fs) : i0], y[i1 : i1 + int(0.5 * s.fs)]] ** 2))
        assert inside < 0.6 * around


@pytest.mark.parametrize(
    "change, key",
    [
        ({"fm_per_min": 0.0}, "fragmentary_myoclonus"),
        ({"hypnic_jerks": False}, "hypnic_jerks"),
        ({"myoclonic_jerks_per_h": 0.0}, "myoclonic_jerks"),
        ({"negative_myoclonus_per_h": 0.0}, "negative_myoclonus"),
        ({"twitches_per_h": 0.0}, "twitches"),
        ({"apneas_per_h": 0.0}, "apneas"),
        ({"spontaneous_arousals_per_h": 0.0, "lm_arousal_prob": 0.0, "apnea_arousal_prob": 0.0}, "arousals"),
        ({"plm_series_per_h": 0.0}, "plm"),
    ],
)
def test_each_ingredient_can_be_turned_off(short15: SimulatedNight, change: dict, key: str) -> None:
    on = short15
    night = simulate_short(2, minutes=15, options=SimOptions.short(**change))  # same night as ``short15``
    if key == "plm":
        assert on.truth["expected"]["plms_series"] >= 1
        assert not any(lm["kind"] == "periodic" for lm in night.truth["leg_movements"])
        assert night.truth["expected"]["plms_series"] == 0
    else:
        assert on.truth[key] != []  # present when on ...
        assert night.truth[key] == []  # ... absent when off
    if key == "apneas":
        assert not any("apnea" in t.lower() or "hypopnea" in t.lower() for _, _, t in night.annotations)
        assert not any(lm["respiratory"] for lm in night.truth["leg_movements"])
    if key == "arousals":
        assert not any(t == "Arousal" for _, _, t in night.annotations)


# --- respiration ----------------------------------------------------------------------------------------
def test_airflow_drops_during_apneas(dense: SimulatedNight) -> None:
    air = dense.signal("Airflow")
    x = air.data
    for e in dense.truth["apneas"]:
        i0, i1 = int((e["onset"] + 2) * air.fs), int((e["onset"] + e["duration"] - 2) * air.fs)
        j0 = int((e["onset"] - 40) * air.fs)
        during, before = np.std(x[i0:i1]), np.std(x[j0 : j0 + int(30 * air.fs)])
        limit = 0.6 if e["kind"] == "hypopnea" else 0.2
        assert during < limit * before


# --- infant ---------------------------------------------------------------------------------------------------
def test_infant_clusters_are_in_sleep_at_1_to_5_hz_and_stop_at_an_arousal(infant: SimulatedNight) -> None:
    cl = infant.truth["clusters"]
    assert len(cl) >= 3 and infant.truth["expected"]["n_clusters"] == len(cl)
    arousals = {a["onset"]: a for a in infant.truth["arousals"]}
    for c in cl:
        assert 1.0 <= c["rate_hz"] <= 5.0 and c["n_jerks"] >= 3
        assert stage_span(infant, c["onset"], c["onset"] + c["duration"]) <= set(SLEEP_STAGES)
        assert c["jerk_onsets"][0] == c["onset"] and len(c["jerk_onsets"]) == c["n_jerks"]
        gaps = np.diff(c["jerk_onsets"])
        assert np.median(gaps) == pytest.approx(1.0 / c["rate_hz"], rel=0.25)
        a = arousals[c["arousal_onset"]]
        assert a["cause"] == "cluster"
        assert 0.0 < a["onset"] - (c["onset"] + c["duration"]) <= 0.6  # the jerks stop as the arousal starts
        assert any(ch.startswith("Arm") for ch in c["channels"])
    assert infant.truth["leg_movements"] == []


def test_infant_heart_rate_is_faster_than_adult(infant: SimulatedNight, quiet_ecg: SimulatedNight) -> None:
    assert infant.truth["ecg"]["hr_bpm"] >= 110.0
    assert quiet_ecg.truth["ecg"]["hr_bpm"] <= 75.0


def test_adult_night_has_no_clusters(dense: SimulatedNight) -> None:
    assert dense.truth["clusters"] == []


# --- files --------------------------------------------------------------------------------------------------
def test_truth_json_round_trips(written: dict[str, Path], dense: SimulatedNight) -> None:
    truth = json.loads(written["truth"].read_text())
    assert truth == dense.truth
    assert SimOptions.from_dict(truth["options"]) == dense.options
    assert set(truth) >= {
        "seed",
        "hours",
        "fs",
        "options",
        "stages",
        "leg_movements",
        "apneas",
        "arousals",
        "fragmentary_myoclonus",
        "hypnic_jerks",
        "myoclonic_jerks",
        "negative_myoclonus",
        "clusters",
        "expected",
    }
    lm = truth["leg_movements"][0]
    assert set(lm) >= {"onset", "duration", "side", "channel", "kind", "series_id", "arousal", "respiratory"}


def test_edf_is_readable_by_edfio_with_annotations(written: dict[str, Path], dense: SimulatedNight) -> None:
    edfio = pytest.importorskip("edfio")
    edf = edfio.read_edf(written["edf"])
    labels = [s.label for s in edf.signals]
    assert labels == dense.labels
    for s in edf.signals:
        ref = dense.signal(s.label)
        assert s.sampling_frequency == ref.fs
        got = s.data[: ref.data.size]
        step = (s.physical_max - s.physical_min) / (s.digital_max - s.digital_min)
        assert np.max(np.abs(got - ref.data)) <= step
    texts = [a.text for a in edf.annotations]
    for want in ("Sleep stage W", "Sleep stage N2", "Lights off", "Lights on", "Arousal"):
        assert want in texts
    stages = [a for a in edf.annotations if a.text.startswith("Sleep stage")]
    assert len(stages) == len(dense.truth["stages"]) and all(a.duration == 30.0 for a in stages)
    kinds = {e["label"] for e in dense.truth["apneas"]}
    assert kinds and kinds <= set(texts)


def test_annotation_tsv_holds_the_same_annotations(written: dict[str, Path], dense: SimulatedNight) -> None:
    lines = written["annotations"].read_text().splitlines()
    assert lines[0] == "onset\tduration\tlabel"
    rows = [ln.split("\t") for ln in lines[1:]]
    assert len(rows) == len(dense.annotations)
    for (o, d, t), (ro, rd, rt) in zip(dense.annotations, rows):
        assert float(ro) == pytest.approx(o, abs=1e-6) and float(rd) == pytest.approx(d, abs=1e-6) and rt == t


def test_write_leaves_no_temporary_files(written: dict[str, Path]) -> None:
    folder = written["edf"].parent
    assert sorted(p.name for p in folder.iterdir()) == ["night-annotations.tsv", "night.edf", "truth.json"]


def test_recording_and_event_table_views(dense: SimulatedNight) -> None:
    rec = dense.to_recording()
    assert rec.labels == dense.labels and rec["Leg L"].fs == dense.signal("Leg L").fs
    ev = dense.truth_events()
    assert (ev["trial_type"] == "leg_movement").sum() == dense.truth["expected"]["n_lm"]
    assert (ev["trial_type"] == "fragmentary_myoclonus").sum() == dense.truth["expected"]["n_fm"]
    assert ev.loc[ev["trial_type"] == "leg_movement", "periodic"].sum() == dense.truth["expected"]["n_plm"]
