"""find_peaks without scipy.signal gives scipy.signal.find_peaks' indices (height, distance).

Known cases (plateau middle rounded down, height and distance just inside and outside their
limits), then property tests against scipy on random and adversarial signals, and the ECG
R-peak refractory selection on candidates equal to the former full-length construction.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage, signal

from somnomyo.errors import SomnomyoError
from somnomyo.settings import ConditioningSettings
from somnomyo.signal import peaks as pk
from somnomyo.signal.ecg import _block_max, _block_min, _r_peaks_in_band
from somnomyo.signal.peaks import find_peaks, select_by_distance


def _scipy(x, height=None, distance=None) -> np.ndarray:
    return signal.find_peaks(x, height=height, distance=distance)[0]


# ----------------------------------------------------------------------------- known cases
def test_plateau_peak_is_its_middle_sample_rounded_down():
    np.testing.assert_array_equal(find_peaks(np.array([0, 1, 1, 0.0])), [1])
    np.testing.assert_array_equal(find_peaks(np.array([0, 2, 2, 2, 0.0])), [2])
    np.testing.assert_array_equal(find_peaks(np.array([0, 3, 3, 3, 3, 0.0])), [2])


def test_first_and_last_samples_and_edge_plateaus_are_never_peaks():
    assert find_peaks(np.array([5, 1, 0, 1, 5.0])).size == 0
    assert find_peaks(np.array([0, 1, 2, 2.0])).size == 0  # plateau runs to the end
    assert find_peaks(np.array([2, 2, 1, 0.0])).size == 0  # plateau from the start
    assert find_peaks(np.array([0, 1, 1, 2, 0.0])).tolist() == [3]  # a shoulder is not a peak


def test_empty_short_all_equal_and_nan_signals():
    for x in (np.zeros(0), np.ones(1), np.array([0, 1.0]), np.full(50, 3.0)):
        assert find_peaks(x, distance=2).size == 0
    np.testing.assert_array_equal(find_peaks(np.array([0, 1, np.nan, 1, 0, 2, 0])), [5])


def test_height_is_a_minimum_kept_when_equal_dropped_just_above():
    x = np.array([0, 1.0, 0, 2.0, 0, 3.0, 0])
    np.testing.assert_array_equal(find_peaks(x, height=2.0), [3, 5])
    np.testing.assert_array_equal(find_peaks(x, height=np.nextafter(2.0, 3.0)), [5])


def test_distance_drops_the_lower_peak_closer_than_ceil_distance_keeps_it_at_the_distance():
    x = np.zeros(20)
    x[[5, 9]] = [2.0, 1.0]  # 4 samples apart
    np.testing.assert_array_equal(find_peaks(x, distance=4), [5, 9])  # just at the distance: both
    np.testing.assert_array_equal(find_peaks(x, distance=5), [5])  # just inside: the higher one
    np.testing.assert_array_equal(find_peaks(x, distance=3.01), [5, 9])  # ceil(3.01) = 4
    np.testing.assert_array_equal(find_peaks(x, distance=4.01), [5])  # ceil(4.01) = 5


def test_distance_cascade_a_dropped_peak_does_not_drop_its_own_neighbours():
    x = np.zeros(30)
    x[[5, 9, 13]] = [3.0, 2.0, 1.0]  # 9 is dropped by 5; 13 survives (only 9 was close)
    np.testing.assert_array_equal(find_peaks(x, distance=5), [5, 13])
    np.testing.assert_array_equal(_scipy(x, distance=5), [5, 13])


def test_distance_below_one_and_non_1d_input_raise():
    with pytest.raises(SomnomyoError, match=">= 1"):
        find_peaks(np.arange(5.0), distance=0.5)
    with pytest.raises(SomnomyoError, match="1-D"):
        find_peaks(np.zeros((3, 3)))


# ----------------------------------------------------------------------------- against scipy
def _signals(rng: np.random.Generator):
    """Random and adversarial signals: noise, few levels (plateaus, ties), NaN, dense peaks,
    monotone chains of peaks, float32, integers."""
    for n in (0, 1, 2, 3, 4, 5, 10, 50, 300):
        yield rng.standard_normal(n)
        yield rng.integers(0, 3, n).astype(float)
        yield np.repeat(rng.integers(0, 4, n), rng.integers(1, 4, n)).astype(np.float32)
        x = np.cumsum(rng.standard_normal(n))
        x[rng.random(n) < 0.05] = np.nan
        yield x
        yield np.where(np.arange(n) % 2, np.arange(n, dtype=float), 0.0)  # rising chain
        yield np.where(np.arange(n) % 2, -np.arange(n, dtype=float), -1e9)  # falling chain
        yield np.where(np.arange(n) % 3 == 1, 1.0, 0.0)  # equal heights
        yield rng.integers(-5, 5, n)  # integers
        yield np.full(n, 7.0)


def test_find_peaks_equals_scipy_on_random_and_adversarial_signals():
    rng = np.random.default_rng(11)
    for x in _signals(rng):
        for height in (None, 0.0, 0.5, -1.0):
            for distance in (None, 1, 1.5, 2, 3, 4.5, 10, 1000):
                np.testing.assert_array_equal(
                    find_peaks(x, height=height, distance=distance),
                    _scipy(x, height, distance),
                    err_msg=f"{x!r} {height} {distance}",
                )


def test_long_chains_finished_by_the_sequential_pass_equal_scipy(monkeypatch):
    rng = np.random.default_rng(12)
    for max_rounds in (0, 1, 2):
        monkeypatch.setattr(pk, "_MAX_ROUNDS", max_rounds)
        for x in _signals(rng):
            for distance in (1, 2, 3, 7):
                np.testing.assert_array_equal(find_peaks(x, distance=distance), _scipy(x, distance=distance))


def test_float32_signal_gives_the_peaks_of_its_float64_copy():
    x = np.random.default_rng(13).standard_normal(5000).astype(np.float32)
    x[100:104] = x[99] + 1  # a float32 plateau
    np.testing.assert_array_equal(
        find_peaks(x, height=0.1, distance=7), find_peaks(x.astype(np.float64), height=0.1, distance=7)
    )
    np.testing.assert_array_equal(find_peaks(x, height=0.1, distance=7), _scipy(x, 0.1, 7))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(-3, 3), max_size=60),
    st.one_of(st.none(), st.integers(-3, 3)),
    st.one_of(st.none(), st.floats(1.0, 20.0)),
)
def test_property_find_peaks_equals_scipy_on_small_integer_signals(values, height, distance):
    x = np.asarray(values, dtype=np.float64)
    np.testing.assert_array_equal(find_peaks(x, height=height, distance=distance), _scipy(x, height, distance))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.floats(-1e6, 1e6, width=32), st.sampled_from([0.0, 1.0, np.nan])), max_size=80),
    st.one_of(st.none(), st.floats(1.0, 30.0)),
)
def test_property_find_peaks_equals_scipy_on_float_signals_with_nan(values, distance):
    x = np.asarray(values, dtype=np.float32)
    np.testing.assert_array_equal(find_peaks(x, distance=distance), _scipy(x, distance=distance))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 3)), max_size=60), st.integers(1, 50))
def test_property_select_by_distance_equals_scipy_on_a_signal_holding_only_those_peaks(pairs, distance):
    pos = np.unique(np.array([2 * p + 1 for p, _ in pairs], dtype=np.intp))  # >= 2 apart, never at an end
    prio = np.array([float(dict(pairs)[(p - 1) // 2]) for p in pos])
    sparse = np.full(2 * 401 + 2, -np.inf)
    sparse[pos] = prio
    np.testing.assert_array_equal(pos[select_by_distance(pos, prio, distance)], _scipy(sparse, distance=distance))


# ----------------------------------------------------------------------------- ECG use
def _r_peaks_reference(y: np.ndarray, fs: float, s: ConditioningSettings) -> np.ndarray:
    """The former R-peak selection: scipy find_peaks on a full-length signal holding only the
    candidates above the local threshold."""
    block = int(round(2.0 * fs))
    if np.median(-_block_min(y, block)) > np.median(_block_max(y, block)):
        y = -y
    bmax = _block_max(y, block)
    level = ndimage.median_filter(bmax, size=min(7, bmax.size), mode="nearest")
    centres = (np.arange(level.size) + 0.5) * block
    cand = _scipy(y, height=s.ecg_threshold_fraction * float(level.min()))
    cand = cand[y[cand] >= s.ecg_threshold_fraction * np.interp(cand, centres, level)]
    sparse = np.full(y.size, -np.inf, dtype=y.dtype)
    sparse[cand] = y[cand]
    return _scipy(sparse, distance=max(1, int(round(s.ecg_refractory_s * fs))))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_r_peak_refractory_selection_on_candidates_equals_the_full_length_construction(seed):
    fs = 64.0
    rng = np.random.default_rng(seed)
    n = int(600 * fs)
    t = np.arange(n) / fs
    beats = np.cumsum(rng.uniform(0.5, 1.3, 1200))
    beats = beats[beats < t[-1] - 1]
    y = rng.normal(0, 0.05, n).astype(np.float32)
    for b in beats:  # a narrow QRS-like spike per beat (test data)
        i = int(b * fs)
        y[i - 1 : i + 2] += np.float32(rng.uniform(0.6, 1.4)) * np.array([0.5, 1.0, 0.4], np.float32)
    y[int(100 * fs) : int(100 * fs) + 6] = 1.0  # a plateau above threshold
    y[rng.integers(0, n, 40)] += 0.8  # extra spikes inside refractory periods
    s = ConditioningSettings()
    got = _r_peaks_in_band(y, fs, s)
    want = _r_peaks_reference(y, fs, s)
    assert got.size > 0.9 * beats.size
    np.testing.assert_array_equal(got, want)
