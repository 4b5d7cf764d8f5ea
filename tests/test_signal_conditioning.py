"""EMG conditioning: band-pass, mains removal, ECG removal, envelope, resting baseline."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from somnomyo.detect.leg_movements import detect_lms
from somnomyo.errors import SomnomyoError
from somnomyo.settings import BaselineSettings, ConditioningSettings, get_settings
from somnomyo.signal.baseline import noisy_baseline_intervals, resting_baseline
from somnomyo.signal.conditioning import ConditionedEMG, condition_emg, detect_r_peaks
from somnomyo.signal.ecg import ecg_peaks_in_emg
from somnomyo.signal.envelope import envelope
from somnomyo.signal.filters import band_edges, bandpass, detect_mains, remove_mains

CS = ConditioningSettings()


# ----------------------------------------------------------------------------- synthetic signals
def qrs(t: np.ndarray) -> np.ndarray:
    """QRS-like wavelet (peak 1.6) as it leaks into leg EMG; t in seconds from the R peak."""
    return (
        -np.exp(-(((t + 0.02) / 0.012) ** 2))
        + 1.6 * np.exp(-((t / 0.01) ** 2))
        - 0.9 * np.exp(-(((t - 0.025) / 0.014) ** 2))
        + 0.4 * np.exp(-(((t - 0.06) / 0.015) ** 2))
    )


def beat_times(dur: float, rng: np.random.Generator, rr: float = 0.7) -> np.ndarray:
    """R-peak times (s) with sinus arrhythmia around ``rr``."""
    t = [1.0]
    while t[-1] < dur - 1.0:
        t.append(t[-1] + rr + 0.05 * np.sin(t[-1] / 4) + rng.normal(0, 0.02))
    return np.array(t[:-1])


def ecg_leak(n: int, fs: float, times: np.ndarray, amp: float = 40.0) -> np.ndarray:
    """ECG artefact in the EMG, evaluated at the true (sub-sample) beat times, gain +-10%."""
    x = np.zeros(n)
    tt = np.arange(n) / fs
    for k, t0 in enumerate(times):
        i0, i1 = max(int((t0 - 0.1) * fs), 0), min(int((t0 + 0.12) * fs) + 1, n)
        x[i0:i1] += amp * (1 + 0.1 * np.sin(2 * np.pi * k / 4.5)) * qrs(tt[i0:i1] - t0)
    return x


def ecg_channel(dur: float, fs: float, times: np.ndarray, polarity: float = 1.0) -> np.ndarray:
    """Synthetic ECG: R spike (1 mV) and T wave, with baseline wander."""
    n = int(dur * fs)
    tt = np.arange(n) / fs
    x = 300.0 * np.sin(2 * np.pi * 0.2 * tt)
    for t0 in times:
        i0, i1 = max(int((t0 - 0.3) * fs), 0), min(int((t0 + 0.45) * fs), n)
        s = tt[i0:i1] - t0
        x[i0:i1] += 1000 * np.exp(-((s / 0.01) ** 2)) + 250 * np.exp(-(((s - 0.25) / 0.05) ** 2))
    return polarity * x


def burst(n: int, fs: float, t0: float, t1: float, sd: float, rng: np.random.Generator) -> np.ndarray:
    x = np.zeros(n)
    i0, i1 = int(round(t0 * fs)), int(round(t1 * fs))
    x[i0:i1] = rng.normal(0, sd, i1 - i0)
    return x


def tone_amplitude(x: np.ndarray, fs: float, freq: float) -> float:
    t = np.arange(x.size) / fs
    return float(2 * abs(np.mean(x * np.exp(-2j * np.pi * freq * t))))


# ----------------------------------------------------------------------------- band-pass
def test_band_edges_upper_edge_is_min_of_lowpass_and_0_9_nyquist():
    assert band_edges(256, settings=CS) == (10.0, 100.0)
    assert band_edges(200, settings=CS) == (10.0, pytest.approx(90.0))
    assert band_edges(512, settings=CS) == (10.0, 100.0)


def test_band_edges_rate_too_low_for_emg_raises_one_line_error():
    with pytest.raises(SomnomyoError) as err:
        band_edges(20, settings=CS)
    assert "\n" not in str(err.value) and "20 Hz" in str(err.value)


def test_bandpass_at_200_hz_passes_50_hz_and_stops_5_hz_and_near_nyquist():
    fs = 200
    t = np.arange(20 * fs) / fs
    y50 = bandpass(np.sin(2 * np.pi * 50 * t), fs, settings=CS)
    y5 = bandpass(np.sin(2 * np.pi * 5 * t), fs, settings=CS)
    y98 = bandpass(np.sin(2 * np.pi * 98 * t), fs, settings=CS)
    core = slice(2 * fs, -2 * fs)
    assert np.isfinite(y50).all()
    assert tone_amplitude(y50[core], fs, 50) == pytest.approx(1.0, abs=0.02)
    assert tone_amplitude(y5[core], fs, 5) < 0.01
    assert tone_amplitude(y98[core], fs, 98) < 0.5  # above the 90 Hz edge


# ----------------------------------------------------------------------------- mains
@pytest.mark.parametrize("freq", [50.0, 60.0])
def test_mains_frequency_detected_from_spectrum(freq):
    fs, rng = 256, np.random.default_rng(1)
    t = np.arange(60 * fs) / fs
    x = rng.normal(0, 2, t.size) + 1.0 * np.sin(2 * np.pi * freq * t)
    assert detect_mains(bandpass(x, fs, settings=CS), fs, settings=CS) == freq


def test_mains_not_detected_without_a_clear_peak():
    fs, rng = 256, np.random.default_rng(2)
    x = rng.normal(0, 2, 60 * fs)
    y = bandpass(x, fs, settings=CS)
    assert detect_mains(y, fs, settings=CS) is None
    assert condition_emg(x, fs, settings=CS).mains_hz is None


def test_mains_removal_hum_down_20_db_and_no_ringing_after_50_ms_potential():
    fs, rng = 256, np.random.default_rng(3)
    t = np.arange(20 * fs) / fs
    hum = 20 * np.sin(2 * np.pi * 50.02 * t + 0.3) + 5 * np.sin(2 * np.pi * 100.04 * t)
    x = rng.normal(0, 1, t.size) + hum
    i0, k = 10 * fs, int(0.05 * fs)  # 50-ms, 200-µV biphasic potential
    ph = np.arange(k) / k
    x[i0 : i0 + k] += 200 * np.sin(np.pi * ph) * np.sign(np.sin(4 * np.pi * ph))
    y = bandpass(x, fs, settings=CS)
    z = condition_emg(x, fs, settings=ConditioningSettings(ecg_removal=False))
    assert z.mains_hz == 50.0
    quiet = slice(2 * fs, 8 * fs)
    before = tone_amplitude(y[quiet], fs, 50.02)
    after = tone_amplitude(z.filtered[quiet], fs, 50.02)
    assert 20 * np.log10(before / after) > 20
    post = slice(i0 + k + int(0.2 * fs), i0 + k + int(0.5 * fs))

    def rms(a: np.ndarray) -> float:
        return float(np.sqrt(np.mean(np.square(a, dtype=np.float64))))

    assert rms(z.filtered[post]) < 1.5 * rms(z.filtered[quiet])
    # the criterion is discriminating: a Q=30 IIR notch rings well past 200 ms
    b, a = signal.iirnotch(50, 30, fs)
    notched = signal.filtfilt(b, a, y)
    b, a = signal.iirnotch(100, 30, fs)
    notched = signal.filtfilt(b, a, notched)
    assert rms(notched[post]) > 1.5 * rms(notched[quiet])


def test_mains_removal_follows_slow_amplitude_change():
    fs, rng = 256, np.random.default_rng(4)
    t = np.arange(60 * fs) / fs
    amp = 5 + 15 * t / t[-1]  # 5 -> 20 µV over a minute
    x = rng.normal(0, 1, t.size) + amp * np.sin(2 * np.pi * 50 * t)
    y = remove_mains(bandpass(x, fs, settings=CS), fs, mains_hz=50, settings=CS)
    for s in (slice(5 * fs, 10 * fs), slice(50 * fs, 55 * fs)):
        assert tone_amplitude(y[s], fs, 50) < 0.1 * tone_amplitude(x[s], fs, 50)


# ----------------------------------------------------------------------------- ECG
@pytest.mark.parametrize("polarity", [1.0, -1.0])
def test_detect_r_peaks_finds_every_beat_either_polarity_despite_an_artefact(polarity):
    fs, rng = 500, np.random.default_rng(5)
    times = beat_times(120, rng, rr=0.8)
    ecg = ecg_channel(120, fs, times, polarity) + rng.normal(0, 20, int(120 * fs))
    k = np.searchsorted(times, 60.0)
    t_art = (times[k] + times[k + 1]) / 2  # movement spike between beats
    ecg[int(t_art * fs) : int((t_art + 0.02) * fs)] += 8000 * polarity
    peaks = detect_r_peaks(ecg, fs) / fs
    err = np.abs(peaks[:, None] - times[None, :]).min(axis=0)
    assert (err < 0.01).all()  # every beat found
    assert peaks.size <= times.size + 1  # at most the artefact extra


def test_ecg_self_detection_finds_no_beats_in_clean_emg_with_periodic_bursts():
    fs, rng = 256, np.random.default_rng(6)
    n = 300 * fs
    x = rng.normal(0, 1.5, n)
    for t0 in np.arange(10, 290, 20.0):  # PLM-like bursts every 20 s
        x += burst(n, fs, t0, t0 + 2, 20, rng)
    assert ecg_peaks_in_emg(bandpass(x, fs, settings=CS), fs, settings=CS).size == 0


def _leaky_rest(fs: float, dur: float, seed: int):
    rng = np.random.default_rng(seed)
    times = beat_times(dur, rng)
    n = int(dur * fs)
    return rng.normal(0, 1.5, n) + ecg_leak(n, fs, times), times, rng


@pytest.mark.parametrize("standard", ["aasm", "wasm2016"])
def test_ecg_removal_leaves_no_false_lm_over_10_min_rest(standard):
    fs, dur = 256, 600
    x, times, _ = _leaky_rest(fs, dur, seed=7)
    s = get_settings(standard)
    if standard == "aasm":  # the leak alone fakes LMs
        off = s.with_overrides(conditioning={"ecg_removal": False})
        assert len(detect_lms(x, fs, settings=off).events) > 0
    via_ecg = detect_lms(x, fs, settings=s, ecg=ecg_channel(dur, 500, times), ecg_fs=500)
    assert via_ecg.conditioned.ecg_source == "ecg"
    assert via_ecg.conditioned.r_peaks.size >= 0.98 * times.size
    assert len(via_ecg.events) == 0
    self_found = detect_lms(x, fs, settings=s)
    assert self_found.conditioned.ecg_source == "emg"
    assert self_found.conditioned.r_peaks.size >= 0.9 * times.size
    assert len(self_found.events) == 0


@pytest.mark.parametrize("fs", [200, 256])
@pytest.mark.parametrize("source", ["ecg", "emg"])
def test_ecg_removal_keeps_real_lm_overlapping_heartbeats(fs, source):
    dur = 120
    x, times, rng = _leaky_rest(fs, dur, seed=8)
    x = x + burst(x.size, fs, 60.0, 62.5, 20, rng)  # 2.5-s LM over ~4 beats
    kw = {"ecg": ecg_channel(dur, 500, times), "ecg_fs": 500} if source == "ecg" else {}
    for standard in ("aasm", "wasm2016"):
        det = detect_lms(x, fs, settings=get_settings(standard), **kw)
        assert det.conditioned.ecg_source == source
        ev = det.events
        assert len(ev) == 1
        assert ev.onset.iloc[0] == pytest.approx(60.0, abs=0.1)
        assert ev.onset.iloc[0] + ev.duration.iloc[0] == pytest.approx(62.5, abs=0.1)


def test_ecg_removal_given_r_peaks_are_used_as_is():
    fs, dur = 256, 120
    x, times, _ = _leaky_rest(fs, dur, seed=9)
    peaks = np.round(times * fs).astype(int)
    c = condition_emg(x, fs, settings=CS, r_peaks=peaks)
    assert c.ecg_source == "given"
    assert np.abs(c.r_peaks[:, None] - peaks[None, :]).min(axis=1).max() <= 2
    plain = condition_emg(x, fs, settings=ConditioningSettings(ecg_removal=False))
    beats_ = np.zeros(x.size, bool)
    for p in peaks:
        beats_[p - 10 : p + 15] = True
    assert plain.envelope[beats_].mean() > 5 * c.envelope[beats_].mean()


# ----------------------------------------------------------------------------- envelope
def test_envelope_of_a_sine_is_its_mean_rectified_value():
    fs = 256
    t = np.arange(10 * fs) / fs
    e = envelope(10 * np.sin(2 * np.pi * 40 * t), fs, window_s=0.05)
    assert e[fs:-fs].mean() == pytest.approx(20 / np.pi, rel=0.02)


def test_condition_emg_returns_arrays_of_input_length_at_input_rate():
    fs, rng = 256, np.random.default_rng(10)
    x = rng.normal(0, 2, 30 * fs)
    x[100] = np.nan
    c = condition_emg(x, fs, settings=CS)
    assert isinstance(c, ConditionedEMG)
    assert c.filtered.shape == c.envelope.shape == x.shape and c.fs == fs
    assert np.isfinite(c.filtered).all() and (c.envelope >= 0).all()


# ----------------------------------------------------------------------------- baseline
BS = BaselineSettings()


def test_resting_baseline_follows_slow_drift_and_ignores_bursts():
    fs, rng = 256, np.random.default_rng(11)
    n = 600 * fs
    t = np.arange(n) / fs
    drift = 2.0 + 4.0 * t / t[-1]  # rest level 2 -> 6 µV over 10 min
    rest = rng.normal(0, 1, n) * drift / np.sqrt(2 / np.pi)
    bursts = sum(burst(n, fs, t0, t0 + 3, 60, rng) for t0 in np.arange(30, 590, 25.0))
    b_rest = resting_baseline(envelope(rest, fs, window_s=0.05), fs, settings=BS)
    b = resting_baseline(envelope(rest + bursts, fs, window_s=0.05), fs, settings=BS)
    check = t > 65  # after the first 60-s look-back
    rel = b[check] / drift[check]
    # a resting minimum level: slightly under the mean rectified level, tracking the drift
    assert rel.min() > 0.7 and rel.max() < 1.05
    assert b[t > 550].mean() > 2 * b[(t > 65) & (t < 100)].mean()
    # 3-s bursts of 60 µV every 25 s do not lift it
    assert np.abs(b - b_rest).max() < 0.2
    # a fixed (non-adaptive) baseline cannot follow the drift
    fixed = resting_baseline(envelope(rest, fs, window_s=0.05), fs, settings=BaselineSettings(adaptive=False))
    assert np.ptp(fixed) == 0 and (fixed[check] / drift[check]).min() < 0.7


def test_baseline_below_floor_is_replaced():
    fs = 256
    b = resting_baseline(np.full(120 * fs, 0.4), fs, settings=BS)
    assert np.allclose(b, BS.floor_replacement_uv)
    b = resting_baseline(np.full(120 * fs, 0.6), fs, settings=BS)
    assert np.allclose(b, 0.6)


def test_baseline_above_15_uv_is_unscorable_noisy_baseline():
    fs = 256
    e = np.full(600 * fs, 3.0, np.float32)
    e[200 * fs : 400 * fs] = 15.5  # 200 s of noisy EMG
    e[450 * fs : 550 * fs] = 14.5  # high but scorable
    b = resting_baseline(e, fs, settings=BS)
    iv = noisy_baseline_intervals(b, fs, settings=BS)
    assert list(iv.columns[:3]) == ["onset", "duration", "reason"]
    assert len(iv) == 1 and iv.reason.iloc[0] == "noisy_baseline"
    # look-back min: noisy from 60 s after it starts until it ends
    assert iv.onset.iloc[0] == pytest.approx(260, abs=0.5)
    assert iv.onset.iloc[0] + iv.duration.iloc[0] == pytest.approx(400, abs=0.5)


# ----------------------------------------------------------------------------- real EMG texture
def test_real_emg_activations_found_and_rest_file_quiet(real_dir):
    def load(name: str) -> np.ndarray:
        x = np.loadtxt(real_dir / "biosppy" / name)
        return x - x.mean()  # 12-bit ADC units taken as µV

    s = get_settings("wasm2016")
    act = detect_lms(load("emg_bursts.txt"), 1000.0, settings=s).events
    onsets = act.onset.to_numpy()
    assert ((onsets > 14) & (onsets < 17)).any()  # activation at ~15-17 s
    assert ((onsets > 24) & (onsets < 27)).any()  # activation at ~25-27 s
    assert len(detect_lms(load("emg_rest.txt"), 1000.0, settings=s).events) == 0


# ----------------------------------------------------------------------------- fast paths give the same results
@pytest.mark.parametrize("n", [30 * 256 * 10, 30 * 256 * 10 + 3])  # a multiple of the step and not
def test_resting_level_expands_to_the_baseline_its_median_and_noisy_stretches(n):
    from somnomyo.signal.baseline import expanded_median, noisy_level_intervals, resting_level

    st = BaselineSettings()
    rng = np.random.default_rng(7)
    env = (np.abs(rng.normal(0, 3, n)) + np.repeat([2.0, 25.0, 3.0, 40.0], 90 * 256)[:n]).astype(np.float32)
    base = resting_baseline(env, 256.0, settings=st)
    level, step = resting_level(env, 256.0, settings=st)
    assert np.array_equal(np.repeat(level, step)[:n], base)
    assert expanded_median(level, step, n) == pytest.approx(float(np.median(base)), rel=1e-6)
    noisy = noisy_baseline_intervals(base, 256.0, settings=st)
    assert len(noisy) > 0  # the test exercises both paths
    got = noisy_level_intervals(level, step, n, 256.0, settings=st)
    assert np.allclose(got["onset"], noisy["onset"]) and np.allclose(got["duration"], noisy["duration"])
    assert list(got["reason"]) == list(noisy["reason"])


def test_detect_r_peaks_same_as_find_peaks_with_a_per_sample_threshold():
    from scipy import ndimage

    from somnomyo.signal.ecg import _block_max

    fs, dur = 256.0, 120.0
    rng = np.random.default_rng(3)
    n = int(fs * dur)
    x = 300 * ecg_leak(n, fs, beat_times(dur, rng), amp=1.0) + rng.normal(0, 20, n)
    x[int(60 * fs) : int(60.3 * fs)] += 2000.0  # an artefact
    got = detect_r_peaks(x, fs, settings=CS)
    # the definition: find_peaks(y, height=fraction x interpolated block level, distance=refractory)
    sos = signal.butter(
        3, [CS.ecg_band_low_hz, min(CS.ecg_band_high_hz, 0.45 * fs)], btype="bandpass", fs=fs, output="sos"
    )
    y = signal.sosfiltfilt(sos.astype(np.float32), x.astype(np.float32))
    block = int(round(2.0 * fs))
    if np.median(_block_max(-y, block)) > np.median(_block_max(y, block)):
        y = -y
    level = ndimage.median_filter(_block_max(y, block), size=7, mode="nearest")
    thr = CS.ecg_threshold_fraction * np.interp(np.arange(y.size), (np.arange(level.size) + 0.5) * block, level)
    want, _ = signal.find_peaks(y, height=thr, distance=int(round(CS.ecg_refractory_s * fs)))
    assert want.size > 100 and np.array_equal(got, want)


@pytest.mark.parametrize("k", [1, 4, 19, 20])
def test_template_median_by_sorting_equals_numpy_median(k):
    from somnomyo.signal.ecg import _median_axis1

    a = np.random.default_rng(k).normal(size=(9, k, 51)).astype(np.float32)
    assert np.array_equal(_median_axis1(a), np.median(a, axis=1))
