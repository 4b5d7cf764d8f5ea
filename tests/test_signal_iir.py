"""Butterworth design, sosfilt and windows without scipy.signal give scipy.signal's results.

:mod:`somnomyo.signal.iir` re-implements ``butter(..., output="sos")`` and ``sosfilt_zi`` and runs
scipy's compiled ``_sosfilt`` kernel without importing the ``scipy.signal`` package (import
time of the ``score`` command); :mod:`somnomyo.signal.windows` the Hann and Tukey windows.
"""

from __future__ import annotations

import logging
import subprocess
import sys

import numpy as np
import pytest
import scipy
from scipy import signal

from somnomyo.errors import SomnomyoError
from somnomyo.signal import iir
from somnomyo.signal.windows import hann, tukey


def _response(sos: np.ndarray, f: np.ndarray, fs: float) -> np.ndarray:
    """H(exp(j w)) of second-order sections, written out (product of the section ratios)."""
    zm1 = np.exp(-2j * np.pi * f / fs)
    h = np.ones(f.size, complex)
    for b0, b1, b2, a0, a1, a2 in sos:
        h *= (b0 + b1 * zm1 + b2 * zm1**2) / (a0 + a1 * zm1 + a2 * zm1**2)
    return h


# ----------------------------------------------------------------------------- design
@pytest.mark.parametrize("order", [1, 2, 3, 4, 5, 6, 8])
@pytest.mark.parametrize("fs", [100.0, 200.0, 256.0, 500.0, 1000.0])
def test_butter_sos_equals_scipy_butter_bit_for_bit_same_sections_same_order(order, fs):
    cases = [(f, "lowpass") for f in (0.5, 10.0, 0.25 * fs, 0.45 * fs, 0.499 * fs)]
    cases += [(f, "highpass") for f in (0.3, 10.0, 0.25 * fs, 0.45 * fs)]
    cases += [(b, "bandpass") for b in ((10.0, 0.45 * fs), (0.5, 40.0), (5.0, 15.0), (0.1 * fs, 0.11 * fs))]
    for cutoff, btype in cases:
        want = signal.butter(order, cutoff, btype=btype, fs=fs, output="sos")
        got = iir.butter_sos(order, cutoff, btype=btype, fs=fs)
        assert got.shape == want.shape, (cutoff, btype)
        np.testing.assert_array_equal(got, want, err_msg=f"{order} {cutoff} {btype} {fs}")


def test_butter_sos_random_edges_equal_scipy_and_response_agrees_to_1e_9():
    rng = np.random.default_rng(7)
    f = np.linspace(0.0, 0.5, 257)
    for _ in range(60):
        order, fs = int(rng.integers(1, 11)), float(rng.choice([128.0, 200.0, 256.0, 512.0]))
        btype = str(rng.choice(iir.BTYPES))
        edges = np.sort(rng.uniform(0.005, 0.495, 2)) * fs
        cutoff = (float(edges[0]), float(edges[1])) if btype == "bandpass" else float(edges[0])
        want = signal.butter(order, cutoff, btype=btype, fs=fs, output="sos")
        got = iir.butter_sos(order, cutoff, btype=btype, fs=fs)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_allclose(
            _response(got, f * fs, fs), signal.sosfreqz(want, worN=f * fs, fs=fs)[1], rtol=0, atol=1e-9
        )


def test_butter_sos_response_is_butterworth_half_power_at_the_edges():
    fs = 256.0
    for order in (2, 4):
        lp = iir.butter_sos(order, 30.0, btype="lowpass", fs=fs)
        hp = iir.butter_sos(order, 10.0, btype="highpass", fs=fs)
        bp = iir.butter_sos(order, (10.0, 100.0), btype="bandpass", fs=fs)
        assert abs(_response(lp, np.array([30.0]), fs)[0]) == pytest.approx(2**-0.5, abs=1e-12)
        assert abs(_response(hp, np.array([10.0]), fs)[0]) == pytest.approx(2**-0.5, abs=1e-12)
        np.testing.assert_allclose(np.abs(_response(bp, np.array([10.0, 100.0]), fs)), 2**-0.5, atol=1e-12)
        assert abs(_response(lp, np.array([0.0]), fs)[0]) == pytest.approx(1.0, abs=1e-12)
        assert abs(_response(hp, np.array([fs / 2]), fs)[0]) == pytest.approx(1.0, abs=1e-12)


def test_butter_sos_edges_just_inside_nyquist_work_and_at_or_outside_raise():
    fs = 200.0
    assert iir.butter_sos(4, 99.999, btype="lowpass", fs=fs).shape == (2, 6)
    assert iir.butter_sos(3, 1e-6, btype="highpass", fs=fs).shape == (2, 6)
    for bad in (100.0, 0.0, -1.0, 150.0):
        with pytest.raises(SomnomyoError, match="fs/2"):
            iir.butter_sos(4, bad, btype="lowpass", fs=fs)
    with pytest.raises(SomnomyoError, match="rise"):
        iir.butter_sos(4, (50.0, 10.0), btype="bandpass", fs=fs)
    with pytest.raises(SomnomyoError, match="2 edges"):
        iir.butter_sos(4, 10.0, btype="bandpass", fs=fs)
    with pytest.raises(SomnomyoError, match="order"):
        iir.butter_sos(0, 10.0, btype="lowpass", fs=fs)
    with pytest.raises(ValueError, match="'lowpass', 'highpass', 'bandpass'"):
        iir.butter_sos(4, 10.0, btype="bandstop", fs=fs)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sosfilt_zi_equals_scipy_and_keeps_the_dtype(dtype):
    for sos in (
        signal.butter(4, [10, 100], btype="bandpass", fs=256, output="sos"),
        signal.butter(3, 5, btype="highpass", fs=200, output="sos"),
        signal.butter(5, 20, fs=500, output="sos"),
    ):
        s = sos.astype(dtype)
        want = signal.sosfilt_zi(s)
        got = iir.sosfilt_zi(s)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


# ----------------------------------------------------------------------------- filtering
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sosfilt_equals_scipy_sosfilt_with_and_without_initial_state(dtype):
    sos = signal.butter(4, [10, 100], btype="bandpass", fs=256, output="sos").astype(dtype)
    x = np.random.default_rng(3).normal(0, 20, 5000).astype(dtype)
    x_before = x.copy()
    y, zf = iir.sosfilt(sos, x)
    np.testing.assert_array_equal(y, signal.sosfilt(sos, x))
    zi = (signal.sosfilt_zi(sos) * x[0]).astype(dtype)
    zi_before = zi.copy()
    y, zf = iir.sosfilt(sos, x[::-1], zi=zi)  # a strided input is copied
    want_y, want_zf = signal.sosfilt(sos, x[::-1], zi=zi)
    assert y.dtype == want_y.dtype == dtype and zf.dtype == want_zf.dtype
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_array_equal(zf, want_zf)
    np.testing.assert_array_equal(x, x_before)  # the inputs are not modified
    np.testing.assert_array_equal(zi, zi_before)


def test_sosfilt_computes_in_float64_when_any_input_is_float64():
    sos = signal.butter(4, 20, fs=256, output="sos")  # float64
    x = np.random.default_rng(4).normal(0, 1, 999).astype(np.float32)
    y, _ = iir.sosfilt(sos, x)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, signal.sosfilt(sos, x))


def test_sosfilt_inplace_over_chunks_carries_the_state_exactly():
    sos = signal.butter(4, [10, 100], btype="bandpass", fs=256, output="sos").astype(np.float32)
    x = np.random.default_rng(5).normal(0, 1, 4321).astype(np.float32)
    zi0 = (iir.sosfilt_zi(sos) * x[0]).astype(np.float32)
    want, want_zf = signal.sosfilt(sos, x, zi=zi0)
    buf, zi = x.copy(), zi0.copy()
    for a in range(0, buf.size, 1000):
        iir.sosfilt_inplace(sos, buf[a : a + 1000], zi)
    np.testing.assert_array_equal(buf, want)
    np.testing.assert_array_equal(zi, want_zf)


def test_sosfilt_inplace_rejects_strided_or_mixed_dtype_buffers():
    sos = signal.butter(2, 20, fs=256, output="sos").astype(np.float32)
    zi = np.zeros((1, 2), np.float32)
    with pytest.raises(ValueError, match="contiguous"):
        iir.sosfilt_inplace(sos, np.zeros(10, np.float32)[::2], zi)
    with pytest.raises(ValueError, match="dtype"):
        iir.sosfilt_inplace(sos, np.zeros(10), zi)


def _require_kernel() -> None:
    """The compiled kernel must load on the scipy releases it was checked on (up to 1.17); a later
    scipy may have moved it: then only the public fallback runs (the results stay the same)."""
    if iir._kernel() is not iir._scipy_kernel:
        return
    version = tuple(int(p) for p in scipy.__version__.split(".")[:2] if p.isdigit())
    if version > (1, 17):
        pytest.skip(f"scipy {scipy.__version__} has no loadable _sosfilt kernel; the public sosfilt is used")
    pytest.fail(f"scipy {scipy.__version__}: the _sosfilt kernel did not load (see somnomyo.signal.iir)")


def test_kernel_and_public_scipy_fallback_give_the_same_result(monkeypatch):
    sos = signal.butter(4, [10, 100], btype="bandpass", fs=256, output="sos").astype(np.float32)
    x = np.random.default_rng(6).normal(0, 5, 3000).astype(np.float32)
    zi = (iir.sosfilt_zi(sos) * x[0]).astype(np.float32)
    _require_kernel()
    fast = iir.sosfilt(sos, x, zi=zi)
    monkeypatch.setattr(iir, "USE_KERNEL", False)
    assert iir._kernel() is iir._scipy_kernel
    slow = iir.sosfilt(sos, x, zi=zi)
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[1], slow[1])


def test_failed_self_test_falls_back_to_scipy_sosfilt_and_logs_it(monkeypatch, caplog):
    monkeypatch.setattr(iir, "_kernel_cache", [])
    monkeypatch.setattr(iir, "_biquad_reference", lambda sos, x, zi: np.zeros_like(x))  # never matches
    with caplog.at_level(logging.DEBUG, logger="somnomyo"):
        assert iir._kernel() is iir._scipy_kernel
    assert "self-test failed" in caplog.text
    monkeypatch.setattr(iir, "_kernel_cache", [])
    monkeypatch.setattr(iir.glob, "glob", lambda pattern: [])  # another scipy layout
    monkeypatch.delitem(sys.modules, iir._KERNEL_NAME, raising=False)
    assert iir._kernel() is iir._scipy_kernel
    sos = signal.butter(2, 20, fs=256, output="sos")
    x = np.arange(50.0)
    np.testing.assert_array_equal(iir.sosfilt(sos, x)[0], signal.sosfilt(sos, x))


def test_loading_the_kernel_does_not_import_the_scipy_signal_package():
    code = (
        "import sys, numpy as np; from somnomyo.signal import iir; "
        "y, _ = iir.sosfilt(iir.butter_sos(4, 20.0, btype='lowpass', fs=256.0), np.ones(64)); "
        "assert iir._kernel() is not iir._scipy_kernel; "
        "print(sorted(m for m in sys.modules if m.startswith(('scipy.signal', 'scipy.stats'))))"
    )
    _require_kernel()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() in ("['scipy.signal._sosfilt']", "[]")  # the kernel module at most


# ----------------------------------------------------------------------------- windows
@pytest.mark.parametrize("m", [0, 1, 2, 3, 8, 9, 256, 257, 512])
def test_hann_equals_scipy_hann_symmetric_and_periodic(m):
    for sym in (True, False):
        np.testing.assert_array_equal(hann(m, sym=sym), signal.windows.hann(m, sym=sym))


@pytest.mark.parametrize("m", [0, 1, 2, 3, 4, 5, 11, 41, 64, 103])
@pytest.mark.parametrize("alpha", [-0.1, 0.0, 0.01, 0.25, 0.5, 0.999, 1.0, 1.5])
def test_tukey_equals_scipy_tukey(m, alpha):
    for sym in (True, False):
        np.testing.assert_array_equal(tukey(m, alpha, sym=sym), signal.windows.tukey(m, alpha, sym=sym))


def test_windows_reject_a_negative_or_fractional_length():
    for bad in (-1, 2.5):
        with pytest.raises(ValueError, match="non-negative integer"):
            hann(bad)
        with pytest.raises(ValueError, match="non-negative integer"):
            tukey(bad, 0.25)
