"""Running median / extremes / mean of somnomyo.signal.rolling give exactly scipy.ndimage's values.

They replace ``scipy.ndimage`` on the leg-movement path (its import drags in ``scipy.special``),
so every value must be the one ndimage gives (no tolerance): checked on random data of many
lengths and sizes, edges, ties, and chunk boundaries (the chunk made tiny).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from scipy import ndimage

from somnomyo.signal import rolling

_values = hs.lists(hs.integers(-6, 6), min_size=1, max_size=120)  # small integers: many ties


@settings(max_examples=150, deadline=None)
@given(_values, hs.integers(1, 30), hs.sampled_from([np.float32, np.float64]))
def test_median_filter_equals_ndimage_median_filter_nearest_any_size_even_or_odd(vals, size, dtype):
    x = np.asarray(vals, dtype) * dtype(0.37)
    want = ndimage.median_filter(x, size=size, mode="nearest")
    got = rolling.median_filter(x, size)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("size", [2, 7, 11, 25, 26, 40])  # network (<= 25) and partition (> 25) paths
def test_median_filter_same_values_whatever_the_chunk_boundaries(monkeypatch, size):
    x = np.random.default_rng(size).normal(size=1001)
    want = ndimage.median_filter(x, size=size, mode="nearest")
    for chunk in (1, 13, 1000, 1 << 13):
        monkeypatch.setattr(rolling, "_MEDIAN_CHUNK", chunk)
        np.testing.assert_array_equal(rolling.median_filter(x, size), want)


@pytest.mark.parametrize("n", list(range(1, 13)))
def test_selection_network_gives_every_rank_of_every_0_1_input(n):
    # 0-1 principle: a comparator network that selects correctly on all 0/1 inputs does on all inputs
    bits = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(np.float64)
    srt = np.sort(bits, axis=1)
    for ranks in [(k,) for k in range(n)] + [(k, k + 1) for k in range(n - 1)]:
        outs = tuple(np.empty(bits.shape[0]) for _ in ranks)
        rolling.select_ranks([bits[:, i] for i in range(n)], ranks, outs)
        for k, o in zip(ranks, outs):
            np.testing.assert_array_equal(o, srt[:, k])


def test_select_ranks_leaves_its_input_rows_untouched():
    rows = [np.random.default_rng(i).normal(size=50) for i in range(9)]
    keep = [r.copy() for r in rows]
    out = np.empty(50)
    rolling.select_ranks(rows, (4,), (out,))
    for r, k in zip(rows, keep):
        np.testing.assert_array_equal(r, k)
    np.testing.assert_array_equal(out, np.median(np.stack(keep), axis=0))


def test_sliding_median_filters_each_row_of_a_2d_array_along_its_last_axis():
    p = np.random.default_rng(5).normal(size=(2, 60))
    got = rolling.sliding_median(p, 11)
    assert got.shape == (2, 50)
    for row, g in zip(p, got):
        np.testing.assert_array_equal(g, np.median(np.lib.stride_tricks.sliding_window_view(row, 11), axis=1))


@settings(max_examples=150, deadline=None)
@given(_values, hs.integers(0, 20).map(lambda k: 2 * k + 1), hs.sampled_from([np.float32, np.float64]))
def test_trailing_max_and_min_equal_ndimage_filters_with_a_trailing_origin(vals, size, dtype):
    x = np.asarray(vals, dtype) * dtype(1.7)
    origin = (size - 1) // 2
    np.testing.assert_array_equal(
        rolling.trailing_max(x, size), ndimage.maximum_filter1d(x, size, origin=origin, mode="nearest")
    )
    np.testing.assert_array_equal(
        rolling.trailing_min(x, size), ndimage.minimum_filter1d(x, size, origin=origin, mode="nearest")
    )


@pytest.mark.parametrize("size", [1, 2, 25, 3001])  # any size; the baseline's 25 and 3001
def test_trailing_extremes_are_the_plain_look_back_definition_across_chunks(monkeypatch, size):
    x = np.random.default_rng(size).normal(size=7000).astype(np.float32)
    pad = np.concatenate([np.full(size - 1, x[0]), x])
    win = np.lib.stride_tricks.sliding_window_view(pad, size)
    for chunk in (1, 999, 1 << 16):
        monkeypatch.setattr(rolling, "_CHUNK", chunk)
        np.testing.assert_array_equal(rolling.trailing_max(x, size), win.max(axis=1))
        np.testing.assert_array_equal(rolling.trailing_min(x, size), win.min(axis=1))


def test_trailing_max_writes_into_a_given_buffer_but_not_into_its_input():
    x = np.arange(10.0)
    out = np.empty(10)
    assert rolling.trailing_max(x[::-1], 3, out=out) is out
    np.testing.assert_array_equal(out, [9, 9, 9, 8, 7, 6, 5, 4, 3, 2])
    with pytest.raises(ValueError):
        rolling.trailing_min(x, 3, out=x)


@pytest.mark.parametrize("n, size", list(itertools.product([1, 2, 5, 700, 1 << 12], [1, 2, 3, 4, 5, 8, 13])))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_filter1d_equals_ndimage_bit_for_bit_across_chunks(monkeypatch, n, size, dtype):
    x = (np.abs(np.random.default_rng(n + size).normal(size=n)) * 100).astype(dtype)
    want = ndimage.uniform_filter1d(x, size, mode="nearest")
    for chunk in (1, 97, 1 << 16):
        monkeypatch.setattr(rolling, "_CHUNK", chunk)
        got = rolling.uniform_filter1d(x, size)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_empty_and_single_sample_inputs_pass_through():
    for f in (
        lambda x: rolling.median_filter(x, 5),
        lambda x: rolling.trailing_max(x, 5),
        lambda x: rolling.trailing_min(x, 5),
        lambda x: rolling.uniform_filter1d(x, 5),
    ):
        assert f(np.zeros(0)).size == 0
        np.testing.assert_array_equal(f(np.array([3.5])), [3.5])
