"""Shared per-night conditioning (``condition_recording``) and the fast envelope/R-peak paths."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from somnomyo.detect.leg_movements import detect_lms
from somnomyo.io.recording import Recording, Signal
from somnomyo.settings import get_settings
from somnomyo.signal.conditioning import condition_emg, condition_recording
from somnomyo.signal.ecg import detect_r_peaks
from somnomyo.signal.envelope import running_mean, strided_running_mean


def _leg(fs: float, dur: float, rng: np.random.Generator, hum_uv: float) -> np.ndarray:
    n = int(fs * dur)
    t = np.arange(n) / fs
    x = rng.normal(0, 1.0, n) + hum_uv * np.sin(2 * np.pi * 50 * t)
    for t0 in [t for t in (20.0, 45.0, 70.0) if t + 1 < dur]:  # 1-s LMs of ~40 µV
        i = int(t0 * fs)
        x[i : i + int(fs)] += rng.normal(0, 40.0, int(fs))
    return x


@pytest.mark.parametrize("size", [1, 3, 13, 77])
@pytest.mark.parametrize("n", [1, 7, 500])
def test_running_means_equal_uniform_filter_with_nearest_edges(size, n):
    x = np.abs(np.random.default_rng(n + size).normal(0, 5, n)).astype(np.float32)
    want = ndimage.uniform_filter1d(x, size, mode="nearest")
    np.testing.assert_allclose(running_mean(x, size), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(strided_running_mean(x, size, 5), want[::5], rtol=1e-5, atol=1e-5)


def test_shared_conditioning_gives_the_same_lms_as_conditioning_each_leg():
    st = get_settings("wasm2016")
    fs, rng = 256.0, np.random.default_rng(1)
    data = _leg(fs, 90.0, rng, hum_uv=5.0)
    rec = Recording(
        path=None,
        start=None,
        duration=90.0,
        channels=[],
        signals={"Leg L": Signal(label="Leg L", data=data, fs=fs, unit="uV")},
    )
    shared = condition_recording(rec, ["Leg L"], settings=st.conditioning)
    alone = detect_lms(data, fs, settings=st, label="Leg L")
    given = detect_lms(data, fs, settings=st, label="Leg L", conditioned=shared["Leg L"])
    assert len(alone.events) == 3
    np.testing.assert_array_equal(alone.events["onset"].to_numpy(), given.events["onset"].to_numpy())
    np.testing.assert_array_equal(alone.events["duration"].to_numpy(), given.events["duration"].to_numpy())


def test_mains_detected_once_per_recording_and_removed_on_a_channel_with_weak_hum():
    st = get_settings("wasm2016").conditioning
    fs, rng = 256.0, np.random.default_rng(2)
    strong, weak = _leg(fs, 60.0, rng, hum_uv=20.0), _leg(fs, 60.0, rng, hum_uv=0.0)
    assert condition_emg(weak, fs, settings=st).mains_hz is None  # alone: no hum to find
    rec = Recording(
        path=None,
        start=None,
        duration=60.0,
        channels=[],
        signals={
            "A": Signal(label="A", data=strong, fs=fs, unit="uV"),
            "B": Signal(label="B", data=weak, fs=fs, unit="uV"),
        },
    )
    out = condition_recording(rec, ["A", "B"], settings=st)
    assert out["A"].mains_hz == 50.0 and out["B"].mains_hz == 50.0


def test_r_peaks_on_the_decimated_ecg_within_one_sample_of_full_rate():
    fs, rng = 256.0, np.random.default_rng(4)
    n = int(fs * 120)
    t = np.arange(n) / fs
    beats = 1.0 + 0.8 * np.arange(148) + rng.uniform(-0.05, 0.05, 148)
    ecg = 200 * np.sin(2 * np.pi * 0.2 * t) + rng.normal(0, 5, n)
    for b in beats:
        ecg += 1000 * np.exp(-(((t - b) / 0.01) ** 2))
    full = detect_r_peaks(ecg, fs)
    dec = detect_r_peaks(ecg, fs, max_rate_hz=128.0)
    assert full.size == dec.size == beats.size
    assert np.abs(full - dec).max() <= 1  # sample indices at fs
    assert np.abs(dec / fs - beats).max() < 0.01
