"""The chunked mains fit, ECG subtraction, R-peak search and look-back baseline give, bit for bit,
the values of their whole-record formulations (the earlier implementations, written out here
with numpy and scipy.ndimage): a cache-sized chunk at a time changes the speed, never a value.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import ndimage, signal

from somnomyo.settings import BaselineSettings, ConditioningSettings
from somnomyo.signal import ecg as ecg_mod
from somnomyo.signal import filters
from somnomyo.signal.baseline import resting_level
from somnomyo.signal.ecg import _peaks_above, detect_r_peaks, subtract_ecg
from somnomyo.signal.envelope import strided_running_mean, window_samples
from somnomyo.signal.windows import tukey

CS = ConditioningSettings()


# ----------------------------------------------------------------------------- mains hum
def _whole_record_hum_coefficients(proj, block, tail, fs, freqs, n_med):
    """The hum coefficients of every block at once, the phasors smoothed by scipy.ndimage."""
    nb = proj.shape[1]
    bidx = np.arange(nb, dtype=np.float64)
    coef = np.empty((8 * len(freqs), nb), np.float32)
    for k, freq in enumerate(freqs):
        w = 2.0 * np.pi * freq / fs
        theta = bidx * np.mod(w * block, 2.0 * np.pi)
        rc, rs = np.cos(theta), np.sin(theta)
        zc, zs = proj[2 * k].astype(np.float64), proj[2 * k + 1].astype(np.float64)
        re, im = np.zeros(nb), np.zeros(nb)
        for sl, m in ((slice(0, nb - 1 if tail else nb), block), (slice(nb - 1, nb), tail)):
            if m == 0 or sl.start >= sl.stop:
                continue
            G = np.exp(2j * w * np.arange(m)).sum()
            s2 = 2.0 / (float(m) ** 2 - abs(G) ** 2)
            re[sl] = (s2 * (m - G.real)) * zc[sl] - (s2 * G.imag) * zs[sl]
            im[sl] = (s2 * G.imag) * zc[sl] - (s2 * (m + G.real)) * zs[sl]
        a_re = rc * re
        a_re += rs * im
        a_im = rc * im
        a_im -= rs * re
        m_re = ndimage.median_filter(a_re, size=n_med, mode="nearest")
        m_im = ndimage.median_filter(a_im, size=n_med, mode="nearest")
        c = coef[8 * k : 8 * k + 8]
        np.subtract(m_re * rc, m_im * rs, out=c[0])
        np.add(m_re * rs, m_im * rc, out=c[1])
        np.negative(c[1], out=c[1])
        c[4:6] = c[0:2]
        d_re, d_im = m_re[1:] - m_re[:-1], m_im[1:] - m_im[:-1]
        c[2, 0] = c[3, 0] = 0.0
        np.subtract(d_re * rc[1:], d_im * rs[1:], out=c[2, 1:])
        np.add(d_re * rs[1:], d_im * rc[1:], out=c[3, 1:])
        np.negative(c[3, 1:], out=c[3, 1:])
        c[6, -1] = c[7, -1] = 0.0
        np.subtract(d_re * rc[:-1], d_im * rs[:-1], out=c[6, :-1])
        np.add(d_re * rs[:-1], d_im * rc[:-1], out=c[7, :-1])
        np.negative(c[7, :-1], out=c[7, :-1])
    return coef


def _whole_record_remove_mains(x, fs, mains_hz, st, harmonics):
    x = x.astype(np.float32)
    block = max(2, int(round(st.mains_block_s * fs)))
    n_med = max(1, int(round(st.mains_track_s / st.mains_block_s)))
    n_med += (n_med + 1) % 2
    freqs = [k * mains_hz for k in range(1, harmonics + 1) if k * mains_hz < 0.95 * fs / 2.0]
    nf, tail = divmod(x.size, block)
    i = np.arange(block)
    trig = np.empty((block, 2 * len(freqs)), np.float32)
    for k, freq in enumerate(freqs):
        trig[:, 2 * k] = np.cos(2.0 * np.pi * freq / fs * i)
        trig[:, 2 * k + 1] = np.sin(2.0 * np.pi * freq / fs * i)
    X = x[: nf * block].reshape(nf, block)
    proj = np.empty((2 * len(freqs), nf + (tail > 0)), np.float32)
    np.matmul(trig.T, X.T, out=proj[:, :nf])
    if tail:
        proj[:, nf] = trig[:tail].T @ x[nf * block :]
    coef = _whole_record_hum_coefficients(proj, block, tail, fs, freqs, n_med)
    basis = filters._hum_basis(block, fs, freqs, int(np.searchsorted((i - (block - 1) / 2.0) / block, 0.0)))
    out = np.empty(x.size, np.float32)
    Y = out[: nf * block].reshape(nf, block)
    np.matmul(coef[:, :nf].T, basis, out=Y)
    np.subtract(X, Y, out=Y)
    if tail:
        out[nf * block :] = x[nf * block :] - coef[:, nf] @ basis[:, :tail]
    return out


def _hummy(fs: float, seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    x = rng.normal(0, 3, t.size) + (8 + 4 * np.sin(0.3 * t)) * np.sin(2 * np.pi * 50.02 * t + 0.3)
    x += 2 * np.sin(2 * np.pi * 150 * t)
    x[t.size // 3 : t.size // 3 + 15] += 250.0  # a brief potential
    return x.astype(np.float32)


@pytest.mark.parametrize("fs, seconds", [(256.0, 40.0), (256.0, 40.05), (200.0, 33.3), (512.0, 20.01)])
@pytest.mark.parametrize("harmonics", [1, 3])
def test_chunked_mains_removal_equals_the_whole_record_fit(monkeypatch, fs, seconds, harmonics):
    # float32 GEMM: OpenBLAS picks its kernel by CPU and matrix shape, so a chunked product may differ from
    # the whole-record one in the last bit; a wrong chunk boundary or coefficient is off by far more.
    x = _hummy(fs, seconds, int(fs))
    want = _whole_record_remove_mains(x, fs, 50.0, CS, harmonics)
    for chunk in (filters._SOS_CHUNK, 1000, 20000):  # many chunks of blocks, or one
        monkeypatch.setattr(filters, "_SOS_CHUNK", chunk)
        got = filters.remove_mains(x, fs, mains_hz=50.0, settings=CS, harmonics=harmonics)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * float(np.abs(want).max()))
        mine = x.copy()
        assert filters.remove_mains(mine, fs, mains_hz=50.0, settings=CS, harmonics=harmonics, overwrite=True) is mine
        np.testing.assert_array_equal(mine, got)  # in place: the same arithmetic, bit for bit


@pytest.mark.parametrize("track_s", [0.1, 0.3, 2.5])  # median over 1, 3 and 25 blocks
def test_mains_running_median_span_setting_is_honoured_exactly(track_s):
    st = dataclasses.replace(CS, mains_track_s=track_s)
    x = _hummy(256.0, 30.0, 7)
    np.testing.assert_array_equal(
        filters.remove_mains(x, 256.0, mains_hz=50.0, settings=st, harmonics=2),
        _whole_record_remove_mains(x, 256.0, 50.0, st, 2),
    )


# ----------------------------------------------------------------------------- ECG subtraction
def _whole_night_subtract_ecg(filtered, fs, r_peaks, st):
    """subtract_ecg written for the whole night at once: per-beat templates, one einsum per lag,
    one np.subtract.at."""
    x = filtered.astype(np.float32).copy()
    half = max(1, int(round(st.ecg_half_window_s * fs)))
    shift = max(0, int(round(st.ecg_max_shift_s * fs)))
    r = np.unique(np.asarray(r_peaks, dtype=np.int64))
    r = r[(r - half - 2 * shift >= 0) & (r + half + 2 * shift < x.size)]
    if r.size < 5:
        return x, r
    segs = ecg_mod._segments(x, r, half)
    tpl = ecg_mod._templates(segs, st.ecg_template_beats)
    width = 2 * half + 1
    for max_lag in (shift, min(shift, 2)):
        if max_lag == 0:
            continue
        wide = ecg_mod._segments(x, r, half + max_lag)
        lags = np.arange(-max_lag, max_lag + 1)
        score = np.empty((r.size, lags.size))
        for j in range(lags.size):
            seg = wide[:, j : j + width]
            score[:, j] = np.einsum("ij,ij->i", seg, tpl) / np.sqrt(np.einsum("ij,ij->i", seg, seg) + 1e-12)
        r = np.unique(r + lags[np.argmax(score, axis=1)])
        segs = ecg_mod._segments(x, r, half)
        tpl = ecg_mod._templates(segs, st.ecg_template_beats)
    d = np.gradient(tpl, axis=1)
    tt, dd, td = (np.einsum("ij,ij->i", p, q) for p, q in ((tpl, tpl), (d, d), (tpl, d)))
    st_, sd = np.einsum("ij,ij->i", segs, tpl), np.einsum("ij,ij->i", segs, d)
    det = tt * dd - td**2
    good = det > 1e-12 * np.maximum(tt * dd, 1e-30)
    a, b = np.ones(r.size), np.zeros(r.size)
    a[good] = (st_[good] * dd[good] - sd[good] * td[good]) / det[good]
    b[good] = (sd[good] * tt[good] - st_[good] * td[good]) / det[good]
    skip = ~good | (a < 0.5)
    big = a > 2.0
    shift_samples = np.clip(np.where(skip, 0.0, b / np.where(skip, 1.0, a)), -1.0, 1.0)
    a = np.where(skip, 0.0, np.minimum(a, 2.0))
    b = np.where(big, 0.0, shift_samples * a)
    est = (a[:, None] * tpl + b[:, None] * d) * tukey(width, 0.25)[None, :]
    np.subtract.at(x, (r[:, None] + np.arange(-half, half + 1)).ravel(), est.ravel().astype(np.float32))
    return x, r


def _emg_with_beats(fs: float, seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(fs * seconds)
    beats = np.cumsum(rng.uniform(0.55, 1.2, int(seconds)))
    beats = beats[beats < seconds - 1.0]
    x = rng.normal(0, 3, n)
    for bt in beats:  # a loop over beats builds the test signal
        i = int(bt * fs)
        x[i - 6 : i + 7] += np.hanning(13) * rng.uniform(20, 60)
    x[n // 2 : n // 2 + int(fs)] += rng.normal(0, 80, int(fs))  # an EMG burst over some beats
    peaks = (beats * fs).astype(np.int64) + rng.integers(-3, 4, beats.size)
    return x.astype(np.float32), peaks


@pytest.mark.parametrize("fs", [200.0, 256.0])
@pytest.mark.parametrize("template_beats", [7, 20, 30])  # odd, even, beyond the selection network
def test_chunked_ecg_subtraction_equals_the_whole_night_one_bit_for_bit(monkeypatch, fs, template_beats):
    st = dataclasses.replace(CS, ecg_template_beats=template_beats)
    x, peaks = _emg_with_beats(fs, 300.0, int(fs) + template_beats)
    want, want_r = _whole_night_subtract_ecg(x, fs, peaks, st)
    for chunk in (ecg_mod._BEAT_CHUNK, 7):  # one chunk, or many
        monkeypatch.setattr(ecg_mod, "_BEAT_CHUNK", chunk)
        got, got_r = subtract_ecg(x, fs, peaks, settings=st)
        np.testing.assert_array_equal(got_r, want_r)
        np.testing.assert_array_equal(got, want)


def test_ecg_subtraction_of_overlapping_beats_equals_the_whole_night_one_bit_for_bit():
    fs = 256.0
    x, peaks = _emg_with_beats(fs, 200.0, 11)
    dense = np.concatenate([peaks, peaks[::3] + int(0.12 * fs)])  # segments of neighbours overlap
    want, want_r = _whole_night_subtract_ecg(x, fs, dense, CS)
    assert (np.diff(want_r) < 2 * int(round(CS.ecg_half_window_s * fs)) + 1).any()
    got, got_r = subtract_ecg(x, fs, dense, settings=CS)
    np.testing.assert_array_equal(got_r, want_r)
    np.testing.assert_array_equal(got, want)


# ----------------------------------------------------------------------------- R peaks
@pytest.mark.parametrize("negate", [False, True])
def test_r_peak_candidates_equal_find_peaks_with_a_height_of_either_polarity(negate):
    y = np.random.default_rng(2).normal(size=300_000).astype(np.float32)
    height = float(y[12345]) if not negate else -float(y[12345])  # a sample exactly at the height
    want, _ = signal.find_peaks(-y if negate else y, height=height)
    got = _peaks_above(y, height, negate=negate)
    np.testing.assert_array_equal(got, want)


def test_r_peak_candidates_just_above_or_at_the_height_and_on_plateaus():
    y = np.array([0, 1, 0, 2, 2, 2, 0, 3, 0, 1, 1, 0], np.float32)  # plateaus: the general rule
    for height in (1.0, np.nextafter(1.0, 2.0), 2.0, 3.0, 3.5):
        want, _ = signal.find_peaks(y, height=height)
        np.testing.assert_array_equal(_peaks_above(y, height), want)


@pytest.mark.parametrize("polarity", [1.0, -1.0])
def test_r_peaks_of_either_polarity_equal_find_peaks_with_the_interpolated_threshold(polarity):
    fs, rng = 256.0, np.random.default_rng(9)
    n = int(120 * fs)
    t = np.arange(n) / fs
    x = rng.normal(0, 20, n)
    for bt in np.arange(0.5, 119.0, 0.83):
        x += polarity * 900 * np.exp(-(((t - bt) / 0.012) ** 2))
    got = detect_r_peaks(x, fs, settings=CS)
    sos = signal.butter(3, [CS.ecg_band_low_hz, CS.ecg_band_high_hz], btype="bandpass", fs=fs, output="sos")
    y = signal.sosfiltfilt(sos.astype(np.float32), x.astype(np.float32))
    block = int(round(2.0 * fs))
    bmax = y[: y.size // block * block].reshape(-1, block).max(axis=1)
    bmin = y[: y.size // block * block].reshape(-1, block).min(axis=1)
    if np.median(-bmin) > np.median(bmax):
        y, bmax = -y, -bmin
    level = ndimage.median_filter(bmax, size=7, mode="nearest")
    thr = CS.ecg_threshold_fraction * np.interp(np.arange(y.size), (np.arange(level.size) + 0.5) * block, level)
    want, _ = signal.find_peaks(y, height=thr, distance=int(round(CS.ecg_refractory_s * fs)))
    assert want.size > 100
    np.testing.assert_array_equal(got, want)


# ----------------------------------------------------------------------------- resting baseline
def test_resting_level_equals_the_ndimage_look_back_filters_bit_for_bit():
    fs, st = 256.0, BaselineSettings()
    rng = np.random.default_rng(4)
    env = np.abs(rng.normal(2, 1, int(600 * fs))).astype(np.float32)
    env[int(100 * fs) : int(103 * fs)] += 40.0  # a burst
    level, step = resting_level(env, fs, settings=st)
    mean = strided_running_mean(env, window_samples(st.smooth_s, fs), step)
    fs_d = fs / step

    def odd(k: int) -> int:
        k = max(1, k)
        return k + (k + 1) % 2

    k1, k2 = odd(int(round(st.lookback_max_s * fs_d))), odd(int(round(st.lookback_min_s * fs_d)))
    peak = ndimage.maximum_filter1d(mean, k1, origin=(k1 - 1) // 2, mode="nearest")
    want = ndimage.minimum_filter1d(peak, k2, origin=(k2 - 1) // 2, mode="nearest")
    want[want < st.floor_uv] = np.float32(st.floor_replacement_uv)
    np.testing.assert_array_equal(level, want)
