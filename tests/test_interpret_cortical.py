"""Jerk-locked EEG back-averaging (JLBA), EMG burst durations and the cluster EEG-rhythm check.

Truth: synthetic EEG-like 1/f noise (30 µV RMS) with a biphasic transient of known size,
channel and latency before each jerk; and simulated nights (somnomyo.simulate) using the
TRUTH jerk onsets, so the tests do not depend on the jerk detector.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import signal as sps

from somnomyo.interpret.cortical import (
    _candidate_onsets,
    burst_duration_stats,
    cluster_eeg_rhythm,
    jerk_locked_average,
)
from somnomyo.io.annotations import Hypnogram
from somnomyo.io.recording import Signal
from somnomyo.settings import get_settings

FS = 256.0
_PINK_B = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
_PINK_A = [1.0, -2.494956002, 2.017265875, -0.522189400]


def pink(rng: np.random.Generator, n: int, rms: float) -> np.ndarray:
    x = sps.lfilter(_PINK_B, _PINK_A, rng.standard_normal(n))
    return rms * x / x.std()


def transient(fs: float) -> tuple[np.ndarray, int]:
    """Biphasic premyoclonic spike (positive peak at index ``half``), peak 1."""
    half = int(0.06 * fs)
    tt = np.arange(-half, half + 1) / fs
    tpl = np.exp(-0.5 * (tt / 0.006) ** 2) - 0.6 * np.exp(-0.5 * ((tt - 0.016) / 0.008) ** 2)
    return tpl / np.abs(tpl).max(), half


def make_eeg(
    seed: int,
    n_jerks: int,
    amp_uv: float,
    *,
    lead_ms: float = 20.0,
    hours: float = 0.5,
    noise_uv: float = 30.0,
    channel: str = "C3",
) -> tuple[list[Signal], np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(hours * 3600 * FS)
    data = {lab: pink(rng, n, noise_uv) for lab in ("C3", "C4")}
    onsets = np.sort(rng.uniform(5.0, hours * 3600 - 5.0, n_jerks))
    tpl, half = transient(FS)
    for t in onsets:
        i = int(round((t - lead_ms / 1000.0) * FS)) - half
        data[channel][i : i + tpl.size] += amp_uv * tpl
    return [Signal(k, v, FS) for k, v in data.items()], onsets


# --- detection ------------------------------------------------------------------------------
def test_jlba_finds_8uv_transient_20ms_before_150_jerks_on_right_channel() -> None:
    sigs, on = make_eeg(1, 150, 8.0)
    assert np.std(sigs[0].data) > 3 * 8.0  # invisible in single trials
    r = jerk_locked_average(sigs, on, n_surrogates=400, seed=1)
    assert r.transient_found is True
    assert r.p_value < 0.05
    assert r.channel == "C3"
    assert abs(r.latency_ms - 20.0) <= 10.0
    assert r.amplitude_uv > 0  # positive peak of the biphasic spike
    assert r.n_jerks == 150


@pytest.mark.parametrize("seed", [2, 3])
def test_jlba_finds_12uv_transient_at_50_jerks(seed: int) -> None:
    sigs, on = make_eeg(seed, 50, 12.0, lead_ms=30.0, channel="C4")
    r = jerk_locked_average(sigs, on, n_surrogates=400, seed=seed)
    assert r.transient_found is True and r.p_value < 0.05
    assert r.channel == "C4"
    assert abs(r.latency_ms - 30.0) <= 10.0


def test_jlba_no_transient_is_not_found() -> None:
    sigs, on = make_eeg(4, 150, 0.0)
    r = jerk_locked_average(sigs, on, n_surrogates=400, seed=4)
    assert r.transient_found is False
    assert r.p_value > 0.05
    assert r.latency_ms is None and r.channel is None
    assert r.summary()["transient_found"] is False


def test_jlba_false_positive_rate_over_seeds_is_low() -> None:
    hits = 0
    for seed in range(10):
        sigs, on = make_eeg(100 + seed, 60, 0.0, hours=0.25)
        r = jerk_locked_average(sigs, on, n_surrogates=200, seed=seed)
        hits += bool(r.transient_found)
    assert hits <= 2  # alpha = 0.05 family-wise: ~0.5 expected in 10


# --- min jerks and artefacts -----------------------------------------------------------------
def test_jlba_declines_with_20_jerks() -> None:
    sigs, on = make_eeg(5, 20, 12.0)
    r = jerk_locked_average(sigs, on, n_surrogates=100)
    assert r.transient_found is None
    assert r.p_value is None
    assert r.reason == "too few jerks: 20 < 50; no conclusion"
    s = r.summary()
    assert s["transient_found"] is None and s["n_jerks"] == 20
    assert r.average["C3"].shape == r.times_ms["C3"].shape  # average kept for the report


def test_jlba_min_jerks_edge_49_declines_50_tests() -> None:
    sigs, on = make_eeg(6, 50, 0.0, hours=0.25)
    assert jerk_locked_average(sigs, on[:49], n_surrogates=50).transient_found is None
    assert jerk_locked_average(sigs, on, n_surrogates=50).transient_found is not None


def test_jlba_artifact_rejection_drops_epochs_over_the_peak_to_peak_limit() -> None:
    settings = get_settings().with_overrides(interpret={"jlba_highpass_hz": None, "jlba_lowpass_hz": None})
    rng = np.random.default_rng(7)
    n = int(600 * FS)
    x = rng.normal(0.0, 1.0, n)
    on = np.arange(60) * 9.0 + 10.0
    # 151 µV peak-to-peak (just outside) at 5 jerks, 140 µV (inside) at 5 others, 50 ms before onset
    for k, t in enumerate(on[:10]):
        i = int(round((t - 0.05) * FS))
        x[i] += 151.0 if k < 5 else 140.0
    r = jerk_locked_average([Signal("C3", x, FS)], on, settings=settings, n_surrogates=50)
    assert r.n_rejected == 5
    assert r.n_jerks == 55


def test_jlba_epochs_out_of_bounds_are_skipped() -> None:
    sigs, on = make_eeg(8, 60, 0.0, hours=0.25)
    on = np.concatenate([on, [0.1, sigs[0].duration - 0.05, np.nan]])
    r = jerk_locked_average(sigs, on, n_surrogates=50)
    assert r.n_jerks == 60


def test_jlba_no_eeg_gives_no_conclusion() -> None:
    r = jerk_locked_average([], np.arange(100.0), n_surrogates=10)
    assert r.transient_found is None and "no EEG" in r.reason


def test_jlba_bad_windows_raise_value_error() -> None:
    sigs, on = make_eeg(9, 60, 0.0, hours=0.1)
    with pytest.raises(ValueError, match="window_s"):
        jerk_locked_average(sigs, on, baseline_s=(-0.5, -0.1))


# --- stage-matched surrogates -------------------------------------------------------------
def _staged_eeg(seed: int) -> tuple[list[Signal], np.ndarray, Hypnogram]:
    """Quiet N2 (5 µV) and very noisy W (60 µV) halves; jerks in N2 with a 3 µV transient."""
    rng = np.random.default_rng(seed)
    stages = np.array(["N2"] * 40 + ["W"] * 40)  # 20 min N2, 20 min W
    n = int(stages.size * 30 * FS)
    x = pink(rng, n, 1.0)
    gain = np.where(np.repeat(stages, int(30 * FS)) == "N2", 5.0, 60.0)
    x = x * gain
    on = np.sort(rng.uniform(10.0, 1190.0, 100))
    tpl, half = transient(FS)
    for t in on:
        i = int(round((t - 0.02) * FS)) - half
        x[i : i + tpl.size] += 3.0 * tpl
    return [Signal("C3", x, FS)], on, Hypnogram(stages)


def test_jlba_surrogates_are_stage_matched() -> None:
    settings = get_settings().with_overrides(interpret={"jlba_artifact_uv": 1e6})
    sigs, on, hyp = _staged_eeg(11)
    matched = jerk_locked_average(sigs, on, hypnogram=hyp, n_surrogates=300, settings=settings)
    assert matched.transient_found is True
    assert abs(matched.latency_ms - 20.0) <= 10.0
    unmatched = jerk_locked_average(sigs, on, n_surrogates=300, settings=settings)  # any-time surrogates
    width_m = np.median(matched.band_hi["C3"] - matched.band_lo["C3"])
    width_u = np.median(unmatched.band_hi["C3"] - unmatched.band_lo["C3"])
    assert width_u > 3 * width_m


def test_surrogate_triggers_keep_the_margin_and_the_stage() -> None:
    hyp = Hypnogram(np.array(["W", "N2"] * 20))
    jerks = np.sort(np.random.default_rng(0).uniform(0, 1200, 100))
    t = _candidate_onsets(
        np.random.default_rng(1), "N2", 500, hypnogram=hyp, duration=1200.0, jerks_sorted=jerks, margin=1.0
    )
    assert t.size == 500
    assert np.all(hyp.stage_at(t) == "N2")
    assert np.min(np.abs(t[:, None] - jerks[None, :])) >= 1.0


# --- burst duration ---------------------------------------------------------------------------
def test_burst_duration_45ms_cutoff_needs_10_bursts() -> None:
    s = get_settings()
    inside = burst_duration_stats(np.full(10, 0.044), settings=s)
    outside = burst_duration_stats(np.full(10, 0.046), settings=s)
    few = burst_duration_stats(np.full(9, 0.030), settings=s)
    assert inside["suggests_cortical"] is True
    assert outside["suggests_cortical"] is False
    assert few["suggests_cortical"] is None
    assert inside["median_ms"] == pytest.approx(44.0)


def test_burst_duration_fractions_below_50_and_100_ms() -> None:
    st = burst_duration_stats(np.array([0.040, 0.049, 0.050, 0.099, 0.100, 0.200]))
    assert st["fraction_below_50_ms"] == pytest.approx(2 / 6, abs=1e-3)
    assert st["fraction_below_100_ms"] == pytest.approx(4 / 6, abs=1e-3)
    assert burst_duration_stats(None)["median_ms"] is None


# --- summary and plot -------------------------------------------------------------------------
def test_cortical_summary_is_json_ready_with_block_keys() -> None:
    sigs, on = make_eeg(12, 60, 12.0, hours=0.25)
    r = jerk_locked_average(sigs, on, n_surrogates=100, burst_durations_s=np.full(60, 0.03))
    s = r.summary()
    for key in (
        "transient_found",
        "n_jerks",
        "latency_ms",
        "amplitude_uv",
        "channel",
        "p_value",
        "reason",
        "burst_duration_ms_median",
    ):
        assert key in s
    assert s["burst_duration_ms_median"] == pytest.approx(30.0)
    json.dumps(s)
    assert r.band_lo["C3"].shape == r.average["C3"].shape == r.times_ms["C3"].shape
    assert np.all(r.band_lo["C3"] <= r.band_hi["C3"])


def test_cortical_plot_draws_average_and_band() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sigs, on = make_eeg(13, 60, 12.0, hours=0.25)
    r = jerk_locked_average(sigs, on, n_surrogates=100)
    fig = r.plot()
    ax = fig.axes[0]
    assert len(ax.lines) >= 2 and len(ax.collections) == 2
    plt.close(fig)


# --- EEG rhythm during clusters ----------------------------------------------------------------
def _cluster_eeg(rhythm_uv: float) -> tuple[list[Signal], pd.DataFrame]:
    rng = np.random.default_rng(21)
    n = int(1200 * FS)
    x = pink(rng, n, 30.0)
    starts = np.arange(6) * 180.0 + 60.0
    t = np.arange(n) / FS
    for s0 in starts:
        m = (t >= s0) & (t < s0 + 10.0)
        x[m] += rhythm_uv * np.sin(2 * np.pi * 2.0 * (t[m] - s0))
    cl = pd.DataFrame({"onset": starts, "duration": 10.0, "trial_type": "jerk_cluster", "rate_hz": 2.0})
    return [Signal("C3", x, FS)], cl


def test_cluster_eeg_rhythm_found_with_rhythm_at_jerk_rate() -> None:
    sigs, cl = _cluster_eeg(40.0)
    out = cluster_eeg_rhythm(sigs, cl)
    assert out is not None and out["found"] is True and out["n_clusters"] == 6


def test_cluster_eeg_rhythm_absent_without_rhythm() -> None:
    sigs, cl = _cluster_eeg(0.0)
    out = cluster_eeg_rhythm(sigs, cl)
    assert out is not None and out["found"] is False
    assert cluster_eeg_rhythm(sigs, cl.assign(duration=3.0)) is None  # shorter than 4 s: not tested


# --- simulated nights (truth jerk onsets) ----------------------------------------------------------
def _sim_jlba(cortical_fraction: float) -> tuple:
    from somnomyo.simulate import SimOptions, simulate_night

    opts = SimOptions.quiet(
        myoclonic_jerks_per_h=300.0,
        cortical_fraction=cortical_fraction,
        eeg_transient_uv=12.0,
        eeg_lead_ms=(20.0, 25.0),
    )
    night = simulate_night(seed=5, hours=0.75, options=opts)
    mj = night.truth["myoclonic_jerks"]
    on = np.array([j["onset"] for j in mj])
    eeg = [night.signal("EEG C3-M2"), night.signal("EEG C4-M1")]
    r = jerk_locked_average(
        eeg,
        on,
        stages_of_jerks=[j["stage"] for j in mj],
        hypnogram=night.hypnogram,
        burst_durations_s=[min(j["durations_ms"]) / 1000.0 for j in mj],
        n_surrogates=300,
    )
    return r, mj


def test_simulated_night_with_cortical_transient_is_found() -> None:
    r, mj = _sim_jlba(1.0)
    assert len(mj) >= 50
    assert r.transient_found is True and r.p_value < 0.05
    lead = np.mean([j["eeg_lead_ms"] for j in mj])
    assert abs(r.latency_ms - lead) <= 10.0
    assert r.channel in {c for j in mj for c in j["eeg_channels"]}


def test_simulated_night_without_cortical_transient_is_not_found() -> None:
    r, mj = _sim_jlba(0.0)
    assert not any(j["cortical"] for j in mj)
    assert r.transient_found is False and r.p_value > 0.05


# --- the EEG filter: scipy's numbers without importing scipy.signal --------------------------
@pytest.mark.parametrize("n", [64, 65, 1000, (1 << 15) + 15, (1 << 16) + 31, 200_001])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("band", [(0.5, 40.0), (1.0, None), (None, 30.0)])
def test_jlba_eeg_band_pass_equals_scipy_butter_sosfiltfilt_bit_for_bit(n, dtype, band) -> None:
    from somnomyo.interpret.cortical import _bandpass

    x = (np.random.default_rng(n).standard_normal(n) * 30.0 + 7.0).astype(dtype)
    lo, hi = band
    got = _bandpass(x, FS, lo, hi)
    if lo is not None and hi is not None:
        sos = sps.butter(2, [lo, hi], btype="bandpass", fs=FS, output="sos")
    elif lo is not None:
        sos = sps.butter(2, lo, btype="highpass", fs=FS, output="sos")
    else:
        sos = sps.butter(2, hi, btype="lowpass", fs=FS, output="sos")
    want = sps.sosfiltfilt(sos, np.asarray(x, dtype=float))
    assert got.dtype == np.float64 and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_jlba_eeg_band_pass_skips_edges_outside_0_and_0_45_fs_and_short_signals() -> None:
    from somnomyo.interpret.cortical import _bandpass

    x = np.random.default_rng(0).standard_normal(5000).astype(np.float32)
    # a low-pass edge at 0.45 fs (115.2 Hz at 256 Hz) is skipped: high-pass only
    want = sps.sosfiltfilt(sps.butter(2, 1.0, btype="highpass", fs=FS, output="sos"), x.astype(float))
    np.testing.assert_array_equal(_bandpass(x, FS, 1.0, 0.45 * FS), want)
    # just inside 0.45 fs it is kept
    inside = 0.45 * FS - 0.5
    want = sps.sosfiltfilt(sps.butter(2, [1.0, inside], btype="bandpass", fs=FS, output="sos"), x.astype(float))
    np.testing.assert_array_equal(_bandpass(x, FS, 1.0, inside), want)
    np.testing.assert_array_equal(_bandpass(x[:63], FS, 1.0, 30.0), x[:63].astype(float))  # < 64 samples
    np.testing.assert_array_equal(_bandpass(x, FS, None, None), x.astype(float))


def test_jlba_without_a_surrogate_test_does_not_import_scipy_signal() -> None:
    """import scipy.signal costs ~0.6 s of CPU; the JLBA of a night with too few jerks needs none of it."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from somnomyo.interpret.cortical import jerk_locked_average\n"
        "from somnomyo.io.recording import Signal\n"
        "x = np.random.default_rng(0).standard_normal(256 * 120).astype(np.float32)\n"
        "r = jerk_locked_average([Signal('C3', x, 256.0)], np.arange(10.0, 100.0, 10.0))\n"
        "assert r.transient_found is None and r.n_jerks == 9, r\n"
        "print('scipy.signal' in sys.modules, 'scipy.sparse' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
