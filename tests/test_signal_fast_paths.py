"""Fast, low-memory signal paths give the results of their plain definitions.

One band-pass per channel per night, reused by the quality checks; the lean zero-phase filter
(equal to ``scipy.signal.sosfiltfilt``); the one-pass mains fit (equal to a per-block
least-squares fit, running median and piecewise-linear phasor written out plainly); the
rectifying running mean; in-place ECG subtraction; R peaks from float64 data.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage, signal

from somnomyo.io.recording import Recording, Signal
from somnomyo.settings import ConditioningSettings, get_settings
from somnomyo.signal.conditioning import condition_recording
from somnomyo.signal.ecg import detect_r_peaks, subtract_ecg
from somnomyo.signal.envelope import running_mean
from somnomyo.signal.filters import bandpass, remove_mains, sosfiltfilt32
from somnomyo.signal.iir import sosfilt_inplace
from somnomyo.signal.quality import assess_quality

CS = ConditioningSettings()


# ----------------------------------------------------------------------------- zero-phase filter
@pytest.mark.parametrize("fs", [200.0, 256.0, 512.0])
@pytest.mark.parametrize("n", [28, 29, 1000, (1 << 17) + 1])  # just above the padding; a chunk edge
def test_bandpass_equals_scipy_sosfiltfilt_in_float32_and_is_contiguous(fs, n):
    x = np.random.default_rng(n).normal(0, 10, n)
    lo, hi = CS.highpass_hz, min(CS.lowpass_hz, CS.lowpass_max_fraction_of_nyquist * fs / 2)
    sos = signal.butter(CS.filter_order, [lo, hi], btype="bandpass", fs=fs, output="sos").astype(np.float32)
    y = bandpass(x, fs, settings=CS)
    assert y.dtype == np.float32 and y.flags.c_contiguous and y.size == n
    np.testing.assert_array_equal(y, signal.sosfiltfilt(sos, x.astype(np.float32)))


def test_bandpass_one_sample_too_short_raises_and_non_finite_samples_become_zero():
    sos = signal.butter(4, [10, 100], btype="bandpass", fs=256, output="sos")
    with pytest.raises(Exception, match="too short"):
        sosfiltfilt32(sos, np.zeros(27))  # padding 3 x (2 x 4 + 1) = 27
    x = np.random.default_rng(0).normal(0, 5, 5000)
    bad = x.copy()
    bad[100], bad[200] = np.nan, np.inf
    clean = x.copy()
    clean[[100, 200]] = 0.0
    np.testing.assert_array_equal(bandpass(bad, 256.0, settings=CS, finite=True), bandpass(clean, 256.0, settings=CS))


@pytest.mark.parametrize("backward", [False, True])
@pytest.mark.parametrize("chunk", [1, 7, 1000, 5000])
def test_sosfilt_in_place_over_chunks_equals_one_sosfilt_call(backward, chunk):
    sos = signal.butter(4, 20, fs=256, output="sos").astype(np.float32)
    x = np.random.default_rng(chunk).normal(0, 1, 4321).astype(np.float32)
    src = x[::-1] if backward else x
    zi = signal.sosfilt_zi(sos).astype(np.float32) * src[0]
    want = signal.sosfilt(sos, src, zi=zi)[0]
    got = sosfilt_inplace(sos, x.copy(), backward=backward, chunk=chunk)
    np.testing.assert_array_equal(got[::-1] if backward else got, want)


# ----------------------------------------------------------------------------- mains hum
def _plain_hum(x: np.ndarray, fs: float, freqs: list[float], st: ConditioningSettings) -> np.ndarray:
    """The hum estimate written out plainly: per-block least squares, running median, linear phasor."""
    block = max(2, int(round(st.mains_block_s * fs)))
    n_med = max(1, int(round(st.mains_track_s / st.mains_block_s)))
    n_med += (n_med + 1) % 2
    nb = -(-x.size // block)
    t = np.arange(x.size)
    hum = np.zeros(x.size)
    for f in freqs:
        w = 2 * np.pi * f / fs
        A = np.zeros(nb, complex)
        for b in range(nb):  # a loop over blocks: a slow reference
            s = slice(b * block, min((b + 1) * block, x.size))
            M = np.stack([np.cos(w * t[s]), -np.sin(w * t[s])], axis=1)  # x ~ Re(A) cos - Im(A) sin
            re, im = np.linalg.lstsq(M, x[s].astype(float), rcond=None)[0]
            A[b] = re + 1j * im
        Am = ndimage.median_filter(A.real, size=n_med, mode="nearest") + 1j * ndimage.median_filter(
            A.imag, size=n_med, mode="nearest"
        )
        b = t // block
        u = (t % block - (block - 1) / 2.0) / block
        prev, nxt = Am[np.maximum(b - 1, 0)], Am[np.minimum(b + 1, nb - 1)]
        phasor = np.where(u < 0, Am[b] + u * (Am[b] - prev), Am[b] + u * (nxt - Am[b]))
        hum += (phasor * np.exp(1j * w * t)).real
    return hum


@pytest.mark.parametrize("fs, seconds", [(256.0, 30.0), (256.0, 30.05), (200.0, 20.0), (500.0, 12.3)])
def test_one_pass_mains_fit_equals_the_plain_least_squares_running_median_estimate(fs, seconds):
    rng = np.random.default_rng(int(fs))
    t = np.arange(int(seconds * fs)) / fs
    amp = 5 + 10 * t / t[-1]
    x = rng.normal(0, 2, t.size) + amp * np.sin(2 * np.pi * 50.05 * t + 0.4) + 2 * np.sin(2 * np.pi * 100 * t)
    x[int(5 * fs) : int(5.05 * fs)] += 300.0  # a brief potential (median ignores it)
    freqs = [k * 50.0 for k in range(1, CS.mains_harmonics + 1) if k * 50.0 < 0.95 * fs / 2]
    got = x.astype(np.float32) - remove_mains(x, fs, mains_hz=50.0, settings=CS)
    want = _plain_hum(x.astype(np.float32), fs, freqs, CS)
    np.testing.assert_allclose(got, want, atol=2e-3 * np.abs(want).max())


@pytest.mark.parametrize("extra", [0, 11, 25])  # last block: full, 11 or 25 of 26 samples
def test_mains_fit_removes_a_pure_tone_exactly_whatever_the_last_block_length(extra):
    fs, fundamental_only = 256.0, dataclasses.replace(CS, mains_harmonics=1)
    t = np.arange(int(10 * fs) + extra) / fs
    x = 7.0 * np.sin(2 * np.pi * 50 * t + 1.0)
    assert np.abs(remove_mains(x, fs, mains_hz=50.0, settings=fundamental_only)).max() < 1e-4
    assert np.abs(remove_mains(x, fs, mains_hz=60.0, settings=fundamental_only)).max() > 1.0  # not a 60-Hz hum


# ----------------------------------------------------------------------------- envelope, ECG, R peaks
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1, 2, 13, 64])
def test_rectifying_running_mean_equals_running_mean_of_abs_and_uniform_filter(dtype, size):
    x = np.random.default_rng(size).normal(0, 5, 999).astype(dtype)
    got = running_mean(x, size, rectify=True)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, running_mean(np.abs(x), size))
    odd = size + (size + 1) % 2
    np.testing.assert_allclose(got, ndimage.uniform_filter1d(np.abs(x), odd, mode="nearest"), rtol=1e-5, atol=1e-5)


def _ecg_like(fs: float, seconds: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = int(fs * seconds)
    t = np.arange(n) / fs
    beats = np.arange(0.5, seconds - 0.5, 0.85) + rng.uniform(-0.03, 0.03, np.arange(0.5, seconds - 0.5, 0.85).size)
    ecg = rng.normal(0, 5, n)
    for b in beats:
        ecg += 800 * np.exp(-(((t - b) / 0.012) ** 2))
    return ecg, beats


def test_subtract_ecg_in_place_gives_the_copying_result_and_leaves_foreign_input_alone():
    fs, rng = 256.0, np.random.default_rng(3)
    ecg, _ = _ecg_like(fs, 60.0, rng)
    emg = (rng.normal(0, 2, ecg.size) + 0.05 * ecg).astype(np.float32)
    peaks = detect_r_peaks(ecg, fs)
    keep = emg.copy()
    copied, used = subtract_ecg(emg, fs, peaks, settings=CS)
    np.testing.assert_array_equal(emg, keep)  # default: the input is untouched
    mine = emg.copy()
    inplace, used2 = subtract_ecg(mine, fs, peaks, settings=CS, overwrite=True)
    assert inplace is mine
    np.testing.assert_array_equal(inplace, copied)
    np.testing.assert_array_equal(used, used2)
    assert used.size > 60


@pytest.mark.parametrize("max_rate_hz", [None, 128.0])
def test_r_peaks_from_float64_data_equal_those_from_the_float32_cast(max_rate_hz):
    ecg, beats = _ecg_like(512.0, 60.0, np.random.default_rng(5))
    a = detect_r_peaks(ecg, 512.0, max_rate_hz=max_rate_hz)
    b = detect_r_peaks(ecg.astype(np.float32), 512.0, max_rate_hz=max_rate_hz)
    np.testing.assert_array_equal(a, b)
    assert a.size == beats.size


# ----------------------------------------------------------------------------- quality from the conditioning
def _contaminated(fs: float, seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(fs * seconds)
    t = np.arange(n) / fs
    x = rng.normal(0, 3, n)
    beats = (np.arange(0, seconds, 0.9) * fs).astype(int)
    idx = np.clip(beats[:, None] + np.arange(10)[None, :], 0, n - 1)
    x[idx[: beats.size // 2]] += 40 * (1 - np.abs(np.arange(10) - 5) / 5)  # ECG in the first half
    hum = slice(int(0.6 * n), int(0.7 * n))
    x[hum] += 25 * np.sin(2 * np.pi * 50 * t[hum])  # mains in one stretch
    x[int(0.8 * n) : int(0.85 * n)] = 0.0  # flat stretch
    return x


@pytest.mark.parametrize("fs", [200.0, 256.0, 512.0])
def test_quality_flags_from_the_conditioning_band_pass_equal_those_from_raw_data(fs):
    x = _contaminated(fs, 120.0, int(fs))
    raw = assess_quality(x, fs, label="Leg L", role="leg_left")
    reused = assess_quality(x, fs, label="Leg L", role="leg_left", filtered=bandpass(x, fs, settings=CS))
    pd.testing.assert_frame_equal(raw.flags, reused.flags)
    assert set(raw.flags["reason"]) == {"ecg", "mains", "flat"}


def test_quality_given_a_band_pass_of_another_length_raises():
    x = _contaminated(256.0, 30.0, 1)
    with pytest.raises(ValueError, match="Leg L: filtered has shape"):
        assess_quality(x, 256.0, label="Leg L", filtered=np.zeros(x.size - 1, np.float32))


def test_condition_recording_hands_each_channel_band_pass_once_before_mains_and_ecg_removal():
    fs, st = 256.0, get_settings("wasm2016").conditioning
    rng = np.random.default_rng(9)
    data = {
        lab: rng.normal(0, 2, int(60 * fs)) + 20 * np.sin(2 * np.pi * 50 * np.arange(int(60 * fs)) / fs)
        for lab in ("Leg L", "Chin")
    }
    rec = Recording(
        path=None,
        start=None,
        duration=60.0,
        channels=[],
        signals={lab: Signal(label=lab, data=x, fs=fs, unit="uV") for lab, x in data.items()},
    )
    seen: dict[str, np.ndarray] = {}

    def keep(label: str, band: np.ndarray) -> None:
        assert label not in seen
        seen[label] = band.copy()

    out = condition_recording(rec, ["Leg L", "Chin", "Leg L"], settings=st, on_bandpassed=keep)
    assert list(seen) == ["Leg L", "Chin"]
    for lab, x in data.items():
        np.testing.assert_array_equal(seen[lab], bandpass(x, fs, settings=st))  # before mains removal
        assert out[lab].mains_hz == 50.0
        assert np.std(out[lab].filtered) < 0.5 * np.std(seen[lab])  # the hum went afterwards
