"""Round-4 speed paths: mains harmonics without hum are not fitted; in-place mains removal and the
chunked running mean give the same values as the plain paths."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import ndimage

from somnomyo.settings import ConditioningSettings
from somnomyo.signal.conditioning import condition_emg
from somnomyo.signal.envelope import _CHUNK, running_mean
from somnomyo.signal.filters import _mains_ratio_db, hum_harmonics, remove_mains

CS = ConditioningSettings()
FS = 256.0


def _hum(seconds: float, harmonic_amp: float, *, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FS)) / FS
    return rng.normal(0, 2, t.size) + 8 * np.sin(2 * np.pi * 50 * t) + harmonic_amp * np.sin(2 * np.pi * 100 * t)


def test_mains_harmonic_without_hum_is_not_fitted():
    assert hum_harmonics(_hum(60, 0.0), FS, mains_hz=50.0, settings=CS) == 1


def test_mains_harmonic_with_hum_is_fitted():
    assert hum_harmonics(_hum(60, 2.0), FS, mains_hz=50.0, settings=CS) == 2


@pytest.mark.parametrize("delta_db, kept", [(-0.5, 2), (0.5, 1)])  # threshold just below / just above the evidence
def test_mains_harmonic_kept_exactly_when_its_evidence_reaches_the_setting(delta_db, kept):
    x = _hum(60, 0.3, seed=1)
    ev = _mains_ratio_db(x.astype(np.float32), FS, 100.0)
    st = dataclasses.replace(CS, mains_harmonic_min_db=ev + delta_db)
    assert hum_harmonics(x, FS, mains_hz=50.0, settings=st) == kept


def test_mains_harmonics_all_kept_on_a_channel_too_short_to_measure():
    assert hum_harmonics(_hum(1.5, 0.0), FS, mains_hz=50.0, settings=CS) == CS.mains_harmonics


def test_conditioning_removes_a_harmonic_that_carries_hum():
    x = _hum(60, 4.0, seed=2)
    y = condition_emg(x, FS, settings=dataclasses.replace(CS, mains_hz=50.0, ecg_removal=False)).filtered
    assert _mains_ratio_db(y, FS, 100.0) < CS.mains_harmonic_min_db + 3.0
    assert _mains_ratio_db(y, FS, 50.0) < CS.mains_detect_min_db


@pytest.mark.parametrize("extra", [0, 11])  # last block full or partial
def test_in_place_mains_removal_equals_the_copying_one(extra):
    x = _hum(600, 1.0, seed=3)[: int(600 * FS) - 26 + extra].astype(np.float32)
    want = remove_mains(x, FS, mains_hz=50.0, settings=CS)
    buf = x.copy()
    got = remove_mains(buf, FS, mains_hz=50.0, settings=CS, overwrite=True)
    assert got is buf
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(remove_mains(x, FS, mains_hz=50.0, settings=CS), want)  # x untouched


@pytest.mark.parametrize("n", [5, 40, _CHUNK - 1, _CHUNK, _CHUNK + 1, 3 * _CHUNK + 7])
@pytest.mark.parametrize("size", [1, 3, 13, 51])
@pytest.mark.parametrize("rectify", [False, True])
def test_chunked_running_mean_equals_the_uniform_filter(n, size, rectify):
    x = np.random.default_rng(n + size).normal(0, 5, n).astype(np.float32)
    want = ndimage.uniform_filter1d(np.abs(x) if rectify else x, size, mode="nearest")
    got = running_mean(x, size, rectify=rectify)
    assert got.dtype == np.float32 and got.shape == x.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_running_mean_does_not_depend_on_where_the_chunks_fall():
    x = np.random.default_rng(7).normal(0, 5, 2 * _CHUNK + 100).astype(np.float32)
    whole = running_mean(x, 13, rectify=True)
    np.testing.assert_array_equal(
        running_mean(x[_CHUNK - 50 :], 13, rectify=True)[60:200], whole[_CHUNK + 10 : _CHUNK + 150]
    )
