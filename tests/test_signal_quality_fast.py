"""The fast paths of the signal-quality checks give the flags of the direct computations.

One pass over the windows, masks only where needed, the ECG envelope's low-passes as block matrix
products, the autocorrelation as one matrix product at the lags wanted: each is checked against
the straightforward computation it replaces, and at the limits of the rules it serves.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft

from somnomyo.signal.iir import butter_sos
from somnomyo.signal.intervals import total_duration
from somnomyo.signal.quality import QualitySettings, assess_quality
from somnomyo.signal.quality_ecg import (
    _ac_basis,
    _ecg_envelope,
    _ecg_windows,
    _sosfilt32,
    _square_lowpass_decimate,
)

S = QualitySettings()


def only(df, reason):
    return df[df["reason"] == reason]


def _ecg_windows_direct(win: np.ndarray, fs: float, s: QualitySettings, up: int) -> np.ndarray:
    """The ECG window test computed the direct way: full zero-padded inverse transform, running minimum."""
    n_win, w_d = win.shape
    w = w_d * up
    lag_lo = int(round(s.ecg_lag_s[0] * fs))
    lag_hi = min(int(round(s.ecg_lag_s[1] * fs)), w - 1)
    x = (win - win.mean(axis=1, keepdims=True)).astype(np.float32)
    nfft = scipy.fft.next_fast_len(w_d + -(-lag_hi // up) + 1, real=True)
    fx = scipy.fft.rfft(x, nfft, axis=1)
    ac = scipy.fft.irfft(fx.real**2 + fx.imag**2, nfft * up, axis=1)[:, : lag_hi + 1].astype(np.float64)
    ac /= w - np.arange(lag_hi + 1)
    ac /= ac[:, :1]
    rows = np.arange(n_win)
    k = np.argmax(ac[:, lag_lo:], axis=1) + lag_lo
    low = np.minimum.accumulate(ac[:, 1:], axis=1)
    trough = np.where(k >= 2, low[rows, np.maximum(k - 2, 0)], np.inf)
    peak = ac[rows, k]
    return (peak >= s.ecg_min_autocorr) & (peak - trough >= s.ecg_min_prominence)


@pytest.mark.parametrize(("nfft", "up"), [(486, 4), (485, 4), (486, 1), (485, 1), (250, 3)])
def test_autocorrelation_basis_equals_the_zero_padded_inverse_transform(nfft: int, up: int) -> None:
    power = np.random.default_rng(1).random((5, nfft // 2 + 1)).astype(np.float32)
    lags = min(nfft * up, 600)
    want = scipy.fft.irfft(power.astype(np.float64), nfft * up, axis=1)[:, :lags]
    got = power.astype(np.float64) @ _ac_basis(nfft, up, lags).astype(np.float64)
    assert np.allclose(got, want, rtol=0, atol=1e-6 * np.abs(want).max())


def test_ecg_window_test_equals_the_direct_computation_on_spikes_noise_and_bursts() -> None:
    fs, up = 256.0, 4
    rng = np.random.default_rng(2)
    w_d = int(5 * fs) // up
    t = np.arange(w_d) / (fs / up)
    wins = []
    for period in np.linspace(0.45, 2.6, 40):  # beat spacing either side of 0.5-2.5 s
        for width in (0.01, 0.03):
            beat = np.exp(-0.5 * ((t % period) / width) ** 2)
            for noise in (0.05, 0.3, 1.0, 3.0):  # from clear ECG to no ECG at all
                wins.append(beat + noise * rng.random(w_d))
    wins.append(np.where(t < 2.0, 5.0, 0.1) + 0.05 * rng.random(w_d))  # one long burst
    win = np.array(wins)
    want = _ecg_windows_direct(win, fs, S, up)
    assert 0 < want.sum() < len(want)  # both outcomes represented
    assert np.array_equal(_ecg_windows(win, fs, S, up=up), want)


@pytest.mark.parametrize(("fs", "n"), [(256.0, 300_000), (256.0, 1_001), (200.0, 123_457), (512.0, 200_003)])
def test_ecg_envelope_equals_the_recursive_low_passes(fs: float, n: int) -> None:
    q = 4 if fs == 256.0 else 3
    x = np.random.default_rng(3).normal(0, 20, n).astype(np.float32)
    x[n // 3 : n // 3 + 500] *= 30  # a burst: large dynamic range
    sos = butter_sos(4, S.ecg_envelope_lowpass_hz, btype="lowpass", fs=fs)
    sos_d = butter_sos(4, S.ecg_envelope_lowpass_hz, btype="lowpass", fs=fs / q)
    want = _sosfilt32(sos_d, _square_lowpass_decimate(x, sos, q)[::-1])[::-1].astype(np.float64)
    got = _ecg_envelope(x, sos, sos_d, q)
    assert got.shape == want.shape and got.dtype == np.float32
    scale = np.maximum(np.abs(want), 1e-3 * np.abs(want).max())
    assert np.max(np.abs(got - want) / scale) < 1e-4


def emg(seconds: float, fs: float = 256.0, seed: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 10.0, int(seconds * fs))


def test_float32_data_give_the_flags_of_the_same_values_in_float64() -> None:
    fs = 256.0
    x = emg(300).astype(np.float32)
    x[int(60 * fs) : int(90 * fs)] = 0.0  # flat
    x[int(120 * fs) : int(125 * fs)] = 500.0  # clipped
    t = np.arange(x.size) / fs
    x[int(200 * fs) : int(240 * fs)] += (80 * np.sin(2 * np.pi * 50 * t[int(200 * fs) : int(240 * fs)])).astype(
        np.float32
    )
    kw = dict(label="Leg L", role="leg_left", physical_min=-500.0, physical_max=500.0)
    a = assess_quality(x, fs, **kw)
    b = assess_quality(x.astype(np.float64), fs, **kw)
    assert a.flags.equals(b.flags) and a.unit_warning == b.unit_warning
    assert {"flat", "clipping", "mains"} <= set(a.flags["reason"])


@pytest.mark.parametrize(("length", "flat"), [(256, True), (255, False)])
def test_identical_run_across_a_window_edge_is_flat_only_when_long_enough(length: int, flat: bool) -> None:
    fs = 256.0  # run_len = 1 s = 256 samples
    x = emg(60, fs)
    edge = int(10 * fs)  # between windows 2 and 3
    x[edge - length // 2 : edge - length // 2 + length] = 3.25  # half in each window
    got = only(assess_quality(x, fs, label="Leg L", role="leg_left").flags, "flat")
    assert (total_duration(got) == 10.0) if flat else got.empty


@pytest.mark.parametrize(("length", "flat"), [(256, True), (255, False)])
def test_identical_run_in_the_last_partial_window_is_flat_only_when_long_enough(length: int, flat: bool) -> None:
    fs = 256.0
    x = emg(62, fs)  # 12 full windows + 2 s
    x[-length:] = -1.5
    got = only(assess_quality(x, fs, label="Leg L", role="leg_left").flags, "flat")
    assert (not got.empty and got["onset"].iloc[-1] + got["duration"].iloc[-1] == 62.0) if flat else got.empty


@pytest.mark.parametrize(("spike", "flat"), [(1.5, True), (1.8, False)])
def test_sd_floor_decides_a_quiet_window_with_one_spike(spike: float, flat: bool) -> None:
    # SD of 0.02-µV noise plus one spike, over 5 s at 256 Hz: about 0.047 µV (1.5 µV), 0.054 µV (1.8 µV)
    # against the 0.05-µV floor, though the window's range is far above it
    fs = 256.0
    x = np.random.default_rng(6).normal(0, 0.02, int(20 * fs))
    x[int(7 * fs)] += spike
    got = only(assess_quality(x, fs, label="Leg L", role="leg_left").flags, "flat")
    assert (total_duration(got) == 20.0) if flat else total_duration(got) == 15.0


@pytest.mark.parametrize("offset", [0.0, 2000.0])
@pytest.mark.parametrize(("amp", "mains"), [(9.5, True), (6.5, False)])
def test_mains_ratio_limit_holds_with_a_large_dc_offset(offset: float, amp: float, mains: bool) -> None:
    # white noise SD 7 µV at 256 Hz: ~34.5 µV^2 in 10-100 Hz, ~0.8 in 49-51 Hz; a 50-Hz sine of amplitude
    # A adds A^2 / 2 to both: the ratio passes 0.5 at A ~ 8.1 µV (0.56 at 9.5 µV, 0.42 at 6.5 µV)
    fs = 256.0
    x = np.random.default_rng(8).normal(0, 7.0, int(60 * fs))
    t = np.arange(x.size) / fs
    x += amp * np.sin(2 * np.pi * 50 * t) + offset
    got = only(assess_quality(x, fs, label="Chin", role="chin").flags, "mains")
    assert (total_duration(got) == 60.0) if mains else got.empty
