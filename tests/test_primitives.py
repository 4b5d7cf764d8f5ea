"""The one vocabulary of primitives: each folded helper reproduces, bit for bit, every contract it
replaced (the earlier implementations are copied here as the reference), and the ``@verbose``
decorator sets the log level for one call only."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from scipy import signal

from somnomyo._logging import logger, set_log_level, verbose
from somnomyo.score.series import find_series, series_bounds
from somnomyo.settings import get_settings
from somnomyo.signal import iir
from somnomyo.signal.filters import butter_filtfilt
from somnomyo.signal.intervals import (
    EPS,
    as_spans,
    merge_intervals,
    merge_spans,
    overlaps_any,
    runs,
    spans_from,
    total_duration,
)


# ----------------------------------------------------------------- the replaced implementations
def old_scoring_merge(starts, ends):
    """``score.associations.merge_intervals`` before the fold: empty intervals dropped, exact touching."""
    s = np.asarray(starts, dtype=float).ravel()
    e = np.asarray(ends, dtype=float).ravel()
    keep = np.isfinite(s) & np.isfinite(e) & (e > s)
    s, e = s[keep], e[keep]
    if s.size == 0:
        return np.empty(0), np.empty(0)
    order = np.argsort(s, kind="stable")
    s, e = s[order], e[order]
    run_end = np.maximum.accumulate(e)
    new = np.ones(s.size, dtype=bool)
    new[1:] = s[1:] > run_end[:-1]
    group = np.cumsum(new) - 1
    out_s = s[new]
    out_e = np.full(out_s.size, -np.inf)
    np.maximum.at(out_e, group, e)
    return out_s, out_e


def old_table_union(onset, end, gap):
    """``signal.intervals._union`` before the fold: empty intervals kept, 1e-9 s tolerance."""
    order = np.argsort(onset, kind="mergesort")
    o, e = onset[order], end[order]
    run_end = np.maximum.accumulate(e)
    new = np.ones(o.size, bool)
    new[1:] = o[1:] > run_end[:-1] + gap + 1e-9
    first = np.flatnonzero(new)
    return o[first], np.maximum.reduceat(e, first) if first.size else e[:0]


def old_burst_overlaps(onset, end, intervals, gap=0.0):
    """``detect.bursts.overlaps_any`` before the fold ((n, 2) rows, any order, strict, with a gap)."""
    onset = np.asarray(onset, dtype=float)
    end = np.asarray(end, dtype=float)
    if intervals.size == 0 or onset.size == 0:
        return np.zeros(onset.shape, dtype=bool)
    order = np.argsort(intervals[:, 0])
    s = intervals[order, 0]
    e_cummax = np.maximum.accumulate(intervals[order, 1])
    k = np.searchsorted(s, end + gap, side="left") - 1
    ok = k >= 0
    out = np.zeros(onset.shape, dtype=bool)
    out[ok] = e_cummax[k[ok]] > onset[ok] - gap
    return out


def old_merged_overlaps(a_starts, a_ends, starts, ends, *, closed):
    """``score.associations.overlaps_any`` before the fold (a merged set)."""
    a0 = np.asarray(a_starts, dtype=float).ravel()
    a1 = np.asarray(a_ends, dtype=float).ravel()
    if starts.size == 0 or a0.size == 0:
        return np.zeros(a0.size, dtype=bool)
    k = np.searchsorted(starts, a1, side="right" if closed else "left")
    prev = np.clip(k - 1, 0, None)
    hit = (a0 <= ends[prev]) if closed else (a0 < ends[prev])
    return (k > 0) & hit


def old_runs_int8(mask):
    """``signal.intervals.runs`` (and the leg-movement / baseline copies) before the fold."""
    m = np.asarray(mask, dtype=bool).ravel()
    edges = np.diff(np.concatenate(([0], m.view(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def old_cluster_series(onsets, *, min_interval_s, max_interval_s, min_events):
    """``detect.clusters.find_series`` before the fold."""
    d = np.diff(np.asarray(onsets, dtype=float))
    ok = (d >= min_interval_s - 1e-9) & (d <= max_interval_s + 1e-9) & (d > 0)
    a, b = old_runs_int8(ok)
    keep = (b - a + 1) >= min_events
    return a[keep], b[keep]


def random_intervals(rng, n):
    """Intervals on a coarse grid (many exact touches and ties), some empty or negative."""
    on = rng.integers(0, 60, n) / 4.0
    du = rng.integers(-2, 12, n) / 4.0
    return on, on + du


# ----------------------------------------------------------------- intervals
@pytest.mark.parametrize("seed", range(30))
def test_merge_spans_with_scoring_options_drops_empty_intervals_and_merges_exact_touches(seed):
    rng = np.random.default_rng(seed)
    s, e = random_intervals(rng, int(rng.integers(0, 40)))
    if seed % 5 == 0 and s.size:
        s[0], e[-1] = np.nan, np.inf  # not finite: dropped
    got, want = merge_spans(s, e), old_scoring_merge(s, e)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("gap", [0.0, 0.25, 1.0])
def test_merge_spans_with_table_options_keeps_empty_intervals_and_touches_within_eps(seed, gap):
    rng = np.random.default_rng(seed)
    s, e = random_intervals(rng, int(rng.integers(1, 40)))
    e = e + rng.choice([0.0, 5e-10, -5e-10, 2e-9], s.size)  # edges just inside / outside the tolerance
    got = merge_spans(s, e, gap=gap, tol=EPS, drop_empty=False)
    want = old_table_union(s, e, gap)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_merge_spans_options_differ_where_the_old_twins_differed():
    s, e = np.array([0.0, 3.0, 5.0]), np.array([3.0 - 5e-10, 3.0, 6.0])
    assert merge_spans(s, e)[0].tolist() == [0.0, 5.0]  # [3, 3] empty: dropped
    assert merge_spans(s, e, tol=EPS, drop_empty=False)[0].tolist() == [0.0, 5.0]
    assert merge_spans([0.0, 1.0 + 5e-10], [1.0, 2.0])[0].size == 2  # exact touching only
    assert merge_spans([0.0, 1.0 + 5e-10], [1.0, 2.0], tol=EPS, drop_empty=False)[0].size == 1


def test_table_merge_and_total_duration_go_through_merge_spans():
    df = pd.DataFrame(
        {"onset": [0.0, 1.0 + 5e-10, 4.0], "duration": [1.0, 1.0, 0.0], "reason": ["flat", "flat", "flat"]}
    )
    out = merge_intervals(df)
    assert out["onset"].tolist() == [0.0, 4.0] and out["duration"].tolist()[1] == 0.0  # kept, joined
    assert total_duration(df) == pytest.approx(2.0 + 5e-10)


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("gap", [0.0, 0.5])
def test_overlaps_any_equals_the_detector_rule_on_unsorted_overlapping_rows(seed, gap):
    rng = np.random.default_rng(seed)
    s, e = random_intervals(rng, int(rng.integers(0, 30)))
    a0, a1 = random_intervals(rng, 50)
    rows = np.column_stack((s, e))
    assert np.array_equal(overlaps_any(a0, a1, s, e, gap=gap), old_burst_overlaps(a0, a1, rows, gap))


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("closed", [False, True])
def test_overlaps_any_equals_the_scoring_rule_on_merged_sets_open_and_closed(seed, closed):
    rng = np.random.default_rng(seed)
    s, e = merge_spans(*random_intervals(rng, int(rng.integers(0, 30))))
    a0, a1 = random_intervals(rng, 50)
    assert np.array_equal(overlaps_any(a0, a1, s, e, closed=closed), old_merged_overlaps(a0, a1, s, e, closed=closed))


def test_spans_from_clips_negative_durations_and_as_spans_zeroes_missing_ones():
    s, e = spans_from([1.0, 2.0, 3.0], [-1.0, np.nan, 2.0])
    assert s.tolist() == [1.0, 2.0, 3.0] and e[0] == 1.0 and np.isnan(e[1]) and e[2] == 5.0
    s, e = as_spans(pd.DataFrame({"onset": [1.0, 2.0], "duration": [np.nan, -0.5]}))
    assert e.tolist() == [1.0, 1.5]  # NaN -> 0, negative kept
    assert [a.size for a in as_spans(None)] == [0, 0]
    assert as_spans([(1.0, 2.0)])[1].tolist() == [3.0]


# ----------------------------------------------------------------- runs
@pytest.mark.parametrize("seed", range(40))
def test_runs_equal_the_padded_difference_runs_of_every_earlier_copy(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 300))
    mask = rng.random(n) < rng.uniform(0.05, 0.95)
    got, want = runs(mask), old_runs_int8(mask)
    assert got[0].dtype == np.int64 and got[1].dtype == np.int64
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_runs_at_both_ends_and_of_an_empty_mask():
    a, b = runs(np.array([True, True, False, True]))
    assert a.tolist() == [0, 3] and b.tolist() == [2, 4]
    assert [x.size for x in runs(np.zeros(0, bool))] == [0, 0]


# ----------------------------------------------------------------- series
@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("mode", [(0.0, 1.0), (5.0, 30.0)])
def test_find_series_gives_the_jerk_cluster_bounds_of_the_former_cluster_finder(seed, mode):
    rng = np.random.default_rng(seed)
    on = np.sort(np.round(rng.exponential(mode[1] / 2, 80).cumsum(), 1))
    on[rng.integers(0, 80, 5)] = on[rng.integers(0, 80, 5)]  # simultaneous onsets
    on = np.sort(on)
    for min_events in (1, 2, 3, 5):
        _, _, series = find_series(
            on, min_interval_s=mode[0], max_interval_s=mode[1], min_count=max(min_events, 2), positive_only=True
        )
        got = series_bounds(series)
        want = old_cluster_series(on, min_interval_s=mode[0], max_interval_s=mode[1], min_events=min_events)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_find_series_explicit_options_override_the_plm_settings():
    plm = get_settings("wasm2016").plm
    on = [0.0, 20.0, 40.0, 60.0]
    assert find_series(on, settings=plm)[2].tolist() == [1, 1, 1, 1]
    assert find_series(on, settings=plm, min_count=5)[2].tolist() == [0, 0, 0, 0]
    with pytest.raises(TypeError, match="min_count"):
        find_series(on, min_interval_s=5.0, max_interval_s=90.0)


# ----------------------------------------------------------------- band-pass design and filtering
def test_butter_design_is_cached_per_rate_band_and_order_and_read_only():
    a = iir.butter_design(256.0, (10.0, 100.0), order=4)
    assert a is iir.butter_design(256, (10, 100), order=4)
    assert a is not iir.butter_design(512.0, (10.0, 100.0), order=4)
    assert not a.flags.writeable
    np.testing.assert_array_equal(a, signal.butter(4, [10.0, 100.0], btype="bandpass", fs=256.0, output="sos"))
    np.testing.assert_array_equal(
        iir.butter_design(256.0, (None, 30.0), order=2), signal.butter(2, 30.0, btype="lowpass", fs=256.0, output="sos")
    )
    np.testing.assert_array_equal(
        iir.butter_design(256.0, (1.0, None), order=2), signal.butter(2, 1.0, btype="highpass", fs=256.0, output="sos")
    )


@pytest.mark.parametrize("fs", [100.0, 200.0, 256.0])
def test_emg_wake_band_pass_equals_scipy_butter_on_normalized_edges_and_sosfiltfilt(fs):
    """The EMG wake estimate's former filter: scipy ``butter`` on edges / Nyquist, ``sosfiltfilt`` in float64."""
    from somnomyo.io.recording import Signal
    from somnomyo.stage.emg_wake import _bandpass

    cond = get_settings("wasm2016").conditioning
    x = np.random.default_rng(int(fs)).normal(0, 10, 5000).astype(np.float32)
    nyq = fs / 2.0
    high = min(cond.lowpass_hz, cond.lowpass_max_fraction_of_nyquist * nyq)
    sos = signal.butter(cond.filter_order, [cond.highpass_hz / nyq, high / nyq], btype="bandpass", output="sos")
    want = signal.sosfiltfilt(sos, np.asarray(x, dtype=float))
    np.testing.assert_array_equal(_bandpass(Signal("Chin", x, fs), cond), want)


@pytest.mark.parametrize("n", [30, 1000, (1 << 17) + 5])
def test_butter_filtfilt_double_equals_scipy_sosfiltfilt_bit_for_bit(n):
    x = np.random.default_rng(n).normal(0, 5, n)
    want = signal.sosfiltfilt(signal.butter(2, [0.5, 30.0], btype="bandpass", fs=200.0, output="sos"), x)
    np.testing.assert_array_equal(butter_filtfilt(x, 200.0, order=2, low_hz=0.5, high_hz=30.0, double=True), want)


def test_sosfilt_inplace_with_a_state_accepts_a_read_only_cached_design():
    sos = iir.butter_design(256.0, (10.0, 100.0), order=4).astype(np.float32)
    sos.flags.writeable = False
    x = np.random.default_rng(1).normal(0, 1, 3000).astype(np.float32)
    zi = (iir.sosfilt_zi(sos) * x[0]).astype(np.float32)
    want = signal.sosfilt(sos.copy(), x, zi=zi)[0]
    np.testing.assert_array_equal(iir.sosfilt_inplace(sos, x.copy(), zi.copy()), want)
    with pytest.raises(ValueError, match="forwards"):
        iir.sosfilt_inplace(sos, x.copy(), zi.copy(), backward=True)


# ----------------------------------------------------------------- @verbose
@verbose
def _logs_at(*, verbose: bool | str | int | None = None, fail: bool = False) -> int:
    if fail:
        raise RuntimeError("boom")
    return logger.getEffectiveLevel()


def test_verbose_decorator_sets_the_level_for_the_call_and_restores_it_even_on_error():
    old = set_log_level(logging.ERROR)
    try:
        assert _logs_at(verbose="debug") == logging.DEBUG
        assert _logs_at(verbose=True) == logging.INFO
        assert _logs_at() == logging.ERROR  # None: left as is
        assert logger.level == logging.ERROR
        with pytest.raises(RuntimeError):
            _logs_at(verbose="info", fail=True)
        assert logger.level == logging.ERROR
        with pytest.raises(ValueError, match="verbose must be"):
            _logs_at(verbose="loud")
        assert _logs_at.__name__ == "_logs_at"
    finally:
        set_log_level(old)


def test_verbose_decorator_refuses_a_function_without_a_verbose_parameter():
    with pytest.raises(TypeError, match="verbose"):
        verbose(lambda x: x)


@pytest.mark.parametrize("seed", range(20))
def test_gap_epochs_are_the_epochs_a_recording_gap_overlaps_strictly(seed):
    from types import SimpleNamespace

    from somnomyo.stage.channels import gap_epochs

    rng = np.random.default_rng(seed)
    gaps = [(float(rng.integers(0, 40) * 7.5), float(rng.integers(0, 8) * 7.5)) for _ in range(rng.integers(0, 5))]
    n, epoch_s = int(rng.integers(0, 12)), 30.0
    want = np.zeros(n, dtype=bool)  # the former pairwise comparison
    if gaps and n:
        g = np.asarray(gaps, dtype=float).reshape(-1, 2)
        starts = np.arange(n) * epoch_s
        want = (
            (starts[:, None] < (g[:, 0] + g[:, 1])[None, :]) & ((starts + epoch_s)[:, None] > g[:, 0][None, :])
        ).any(axis=1)
    assert np.array_equal(gap_epochs(SimpleNamespace(gaps=gaps), n, epoch_s), want)
