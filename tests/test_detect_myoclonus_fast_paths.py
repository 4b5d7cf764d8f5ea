"""Cheaper paths of the myoclonus detectors, each checked against the slow path it replaces:
the brief-burst envelope written into a spent envelope buffer (``emg_traces(reuse_envelopes=True)``,
``envelope(out=...)``) and the burst background's rolling median without ``scipy.ndimage``."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from somnomyo.detect.bursts import block_background
from somnomyo.detect.myoclonus import emg_traces
from somnomyo.io.channels import infer_roles
from somnomyo.io.recording import Recording, Signal
from somnomyo.settings import get_settings
from somnomyo.signal.conditioning import condition_recording
from somnomyo.signal.envelope import envelope, running_mean, window_samples


def _recording(fs: float = 256.0, dur: float = 60.0) -> Recording:
    rng = np.random.default_rng(7)
    n = int(fs * dur)
    sigs = {}
    for lab in ("Leg L", "Leg R", "Chin"):
        x = rng.normal(0.0, 2.0, n)
        for t0 in (0.2 * dur, 0.52 * dur, 0.8 * dur):  # brief 60-ms bursts of ~60 µV
            i = int(t0 * fs)
            x[i : i + int(0.06 * fs)] += rng.normal(0.0, 60.0, int(0.06 * fs))
        sigs[lab] = Signal(label=lab, data=x.astype(np.float32), fs=fs, unit="uV")
    return Recording(path=None, start=None, duration=dur, channels=[], signals=sigs)


@pytest.mark.parametrize("size", [1, 5, 13, 77])
@pytest.mark.parametrize("n", [1, 9, 70000])
def test_running_mean_into_out_buffer_gives_the_same_values(size, n):
    x = np.random.default_rng(size + n).normal(0.0, 5.0, n).astype(np.float32)
    want = running_mean(x, size, rectify=True)
    buf = np.full(n, np.nan, np.float32)
    got = running_mean(x, size, rectify=True, out=buf)
    assert got is buf
    np.testing.assert_array_equal(got, want)


def test_envelope_out_must_not_overlap_the_input_and_must_match_its_size_and_dtype():
    x = np.random.default_rng(0).normal(0.0, 5.0, 1000).astype(np.float32)
    with pytest.raises(ValueError, match="overlap"):
        envelope(x, 256.0, window_s=0.015, out=x)
    with pytest.raises(ValueError, match="1-D float32 array of 1000 samples"):
        envelope(x, 256.0, window_s=0.015, out=np.empty(999, np.float32))
    with pytest.raises(ValueError, match="1-D float32"):
        envelope(x, 256.0, window_s=0.015, out=np.empty(1000, np.float64))


def test_emg_traces_reusing_envelopes_gives_the_same_traces_in_the_old_envelope_memory():
    st = get_settings("wasm2016")
    rec = _recording()
    roles = infer_roles(list(rec.signals))
    labels = list(rec.signals)
    fresh = emg_traces(rec, roles, settings=st, conditioned=condition_recording(rec, labels, settings=st.conditioning))
    shared = condition_recording(rec, labels, settings=st.conditioning)
    old = {lab: c.envelope for lab, c in shared.items()}
    lm_env = {lab: c.envelope.copy() for lab, c in shared.items()}
    reused = emg_traces(rec, roles, settings=st, conditioned=shared, reuse_envelopes=True)
    assert [t.label for t in reused] == [t.label for t in fresh] and len(reused) == 3
    for a, b in zip(fresh, reused):
        np.testing.assert_array_equal(a.envelope, b.envelope)
        np.testing.assert_array_equal(a.filtered, b.filtered)
        assert b.envelope is old[b.label]  # written into the spent LM envelope
        # the brief-burst (15 ms) envelope differs from the LM (50 ms) one it replaced
        assert not np.array_equal(b.envelope, lm_env[b.label])
        w = window_samples(st.myoclonus.burst_envelope_window_s, b.fs)
        np.testing.assert_array_equal(b.envelope, running_mean(b.filtered, w, rectify=True))


def test_emg_traces_without_reuse_leaves_the_given_envelopes_untouched():
    st = get_settings("wasm2016")
    rec = _recording(dur=30.0)
    shared = condition_recording(rec, list(rec.signals), settings=st.conditioning)
    before = {lab: c.envelope.copy() for lab, c in shared.items()}
    traces = emg_traces(rec, infer_roles(list(rec.signals)), settings=st, conditioned=shared)
    for t in traces:
        np.testing.assert_array_equal(shared[t.label].envelope, before[t.label])
        assert not np.shares_memory(t.envelope, shared[t.label].envelope)


@pytest.mark.parametrize("n_blocks", [2, 3, 30, 61, 480])
def test_burst_background_rolling_median_equals_scipy_ndimage_median_filter(n_blocks):
    st = get_settings("wasm2016").myoclonus
    fs = 64.0
    rng = np.random.default_rng(n_blocks)
    env = rng.gamma(2.0, 3.0, int(n_blocks * st.burst_background_block_s * fs) + 5).astype(np.float32)
    env[rng.random(env.size) < 0.3] = 2.5  # ties among block medians
    bg = block_background(
        env, fs, block_s=st.burst_background_block_s, window_s=st.burst_background_window_s, floor_uv=0.0
    )
    width = max(1, int(round(st.burst_background_window_s / st.burst_background_block_s)))
    raw = bg.raw
    assert width > 1
    want = np.maximum(ndimage.median_filter(raw, size=min(width, raw.size) | 1, mode="nearest"), 0.0)
    np.testing.assert_array_equal(bg.values, want)


def test_burst_background_with_nan_block_falls_back_to_scipy_ordering():
    env = np.abs(np.random.default_rng(3).normal(0.0, 4.0, 64 * 40)).astype(np.float32)
    env[64 * 5 : 64 * 7] = np.nan
    bg = block_background(env, 64.0, block_s=1.0, window_s=9.0, floor_uv=0.0)
    want = np.maximum(ndimage.median_filter(bg.raw, size=9, mode="nearest"), 0.0)
    got = bg.values
    assert np.isnan(got).any()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(got[~np.isnan(got)], want[~np.isnan(want)])
