"""Per-channel signal quality (flat, clipping, mains, ECG, gaps, unit mix-ups) and interval helpers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from somnomyo.signal.intervals import (
    intervals_from_mask,
    mask_from_intervals,
    merge_intervals,
    subtract_intervals,
    total_duration,
)
from somnomyo.signal.quality import REASONS, QualitySettings, assess_quality

FS = 256.0
WIN = 5.0


def emg(seconds: float, fs: float = FS, sd: float = 3.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, sd, int(round(seconds * fs)))


def times(x: np.ndarray, fs: float = FS) -> np.ndarray:
    return np.arange(x.size) / fs


def only(flags: pd.DataFrame, reason: str) -> pd.DataFrame:
    return flags[flags["reason"] == reason].reset_index(drop=True)


def window_with_std(std: float, fs: float = FS, seed: int = 1) -> np.ndarray:
    v = np.random.default_rng(seed).normal(0, 1, int(WIN * fs))
    return (v - v.mean()) / v.std() * std


# ------------------------------------------------------------------ clean signal
def test_clean_emg_has_no_flags_and_is_fully_scorable() -> None:
    x = emg(600)
    q = assess_quality(x, FS, label="Leg L", role="leg_left")
    assert q.flags.empty and q.unscorable.empty and q.unit_warning is None
    s = q.summary()
    assert s["fraction_scorable"] == 1.0 and all(v == 0 for v in s["unscorable_s"].values())
    assert q.scorable_mask(x.size).all()
    assert list(q.flags.columns) == ["onset", "duration", "reason"]


def test_real_surface_emg_has_no_flat_or_clipping_flags(real_dir) -> None:
    for name in ("emg_bursts.txt", "emg_rest.txt"):
        x = np.loadtxt(real_dir / "biosppy" / name)
        q = assess_quality(x - np.median(x), 1000.0, label=name, unit="adc")
        assert q.unscorable.empty, (name, q.flags)


def test_sleep_edf_1hz_emg_envelope_is_not_called_flat(real_dir) -> None:
    edfio = pytest.importorskip("edfio")
    sig = next(
        s for s in edfio.read_edf(real_dir / "sleep-edf" / "short_psg.edf").signals if s.label == "EMG submental"
    )
    q = assess_quality(
        sig.data,
        sig.sampling_frequency,
        label=sig.label,
        role="chin",
        physical_min=sig.physical_min,
        physical_max=sig.physical_max,
    )
    assert q.flags.empty and q.unit_warning is None


# ------------------------------------------------------------------ flat
def test_flat_hour_is_flagged_flat_within_one_window() -> None:
    fs = 128.0
    x = emg(3 * 3600, fs=fs)
    t = times(x, fs)
    start, stop = 3601.7, 7201.7
    x[(t >= start) & (t < stop)] = 0.0
    q = assess_quality(x, fs, label="Leg L", role="leg_left")
    flat = only(q.flags, "flat")
    assert len(flat) == 1
    onset, end = flat.onset[0], flat.onset[0] + flat.duration[0]
    assert start - WIN <= onset <= start and stop <= end <= stop + WIN
    assert set(q.flags["reason"]) == {"flat"}
    mask = q.scorable_mask(x.size)
    assert not mask[(t >= start) & (t < stop)].any()
    assert mask[(t < start - WIN) | (t >= stop + WIN)].all()
    assert q.summary()["unscorable_s"]["flat"] == pytest.approx(end - onset)
    assert q.summary()["fraction_scorable"] == pytest.approx(1 - (end - onset) / (3 * 3600))


def test_near_flat_low_noise_hour_is_flagged_flat() -> None:
    x = emg(1800)
    t = times(x)
    quiet = (t >= 600) & (t < 1200)
    x[quiet] = np.random.default_rng(5).normal(0, 0.01, quiet.sum())
    flat = only(assess_quality(x, FS, label="Leg R").flags, "flat")
    assert len(flat) == 1 and flat.onset[0] == pytest.approx(600) and flat.duration[0] == pytest.approx(600)


def test_flat_std_floor_just_below_and_just_above() -> None:
    floor = QualitySettings().flat_std_uv
    x = np.concatenate(
        [
            emg(20),
            window_with_std(floor * 0.98),
            emg(10, seed=2),
            window_with_std(floor * 1.02, seed=3),
            emg(20, seed=4),
        ]
    )
    flat = only(assess_quality(x, FS, label="Leg L").flags, "flat")
    assert list(flat.onset) == [20.0] and list(flat.duration) == [5.0]


def test_run_of_identical_samples_is_flat_only_when_long_enough() -> None:
    run_s = QualitySettings().flat_run_s
    x = emg(60)
    n = int(run_s * FS)
    x[int(10 * FS) : int(10 * FS) + n + 1] = 7.0  # just longer than flat_run_s
    x[int(40 * FS) : int(40 * FS) + n - 2] = 7.0  # just shorter
    flat = only(assess_quality(x, FS, label="Leg L").flags, "flat")
    assert list(flat.onset) == [10.0]


def test_position_channel_constant_is_not_flagged_flat() -> None:
    x = np.full(int(600 * 10), 3.0)
    q = assess_quality(x, 10.0, label="Position", role="position", unit="")
    assert q.flags.empty


# ------------------------------------------------------------------ clipping
def test_clipped_stretch_flagged_with_physical_limits() -> None:
    x = emg(300)
    t = times(x)
    burst = (t >= 100) & (t < 130)
    x[burst] += 800 * np.sin(2 * np.pi * 3 * t[burst])
    x = np.clip(x, -500, 500)
    q = assess_quality(x, FS, label="Leg L", physical_min=-500, physical_max=500)
    clip = only(q.flags, "clipping")
    assert len(clip) == 1 and clip.onset[0] == pytest.approx(100) and clip.duration[0] == pytest.approx(30)
    assert "clipping" in set(q.unscorable["reason"])
    assert not q.scorable_mask()[burst].any()


def test_clipped_stretch_flagged_without_physical_limits() -> None:
    x = emg(300)
    t = times(x)
    burst = (t >= 200) & (t < 215)
    x[burst] += 800 * np.sin(2 * np.pi * 3 * t[burst])
    x = np.clip(x, -420, 380)
    clip = only(assess_quality(x, FS, label="Leg L").flags, "clipping")
    assert len(clip) == 1 and clip.onset[0] == pytest.approx(200) and clip.duration[0] == pytest.approx(15)


def test_clip_fraction_just_below_and_just_above() -> None:
    frac = QualitySettings().clip_fraction
    w = int(WIN * FS)
    x = emg(30)
    above, below = int(np.ceil(frac * w * 1.1)), int(np.floor(frac * w * 0.9))
    x[int(5 * FS) : int(5 * FS) + above] = 500.0  # window 5-10 s: just above the fraction
    x[int(20 * FS) : int(20 * FS) + below] = 500.0  # window 20-25 s: just below
    clip = only(assess_quality(x, FS, label="Leg L", physical_min=-500, physical_max=500).flags, "clipping")
    assert list(clip.onset) == [5.0]


# ------------------------------------------------------------------ mains
@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_mains_dominated_stretch_flagged(mains: float) -> None:
    x = emg(300)
    t = times(x)
    hum = (t >= 120) & (t < 180)
    x[hum] += 20 * np.sin(2 * np.pi * mains * t[hum])
    q = assess_quality(x, FS, label="Leg L", role="leg_left")
    m = only(q.flags, "mains")
    assert len(m) == 1 and m.onset[0] == pytest.approx(120) and m.duration[0] == pytest.approx(60)
    assert set(q.flags["reason"]) == {"mains"}
    assert q.unscorable.empty  # mains is a flag, not excluded, by default


def test_55_hz_is_not_mains() -> None:
    x = emg(60)
    x += 20 * np.sin(2 * np.pi * 55 * times(x))
    assert only(assess_quality(x, FS, label="Leg L").flags, "mains").empty


def test_mains_ratio_just_below_and_just_above() -> None:
    ratio = QualitySettings().mains_ratio
    t = np.arange(int(20 * FS)) / FS
    other = np.sin(2 * np.pi * 30 * t)  # in the 10-100 Hz band, outside the mains band

    def mains_share(share: float) -> np.ndarray:  # power share of 50 Hz in the band
        a = np.sqrt(share / (1 - share))
        return a * np.sin(2 * np.pi * 50 * t) + other

    x = np.concatenate([mains_share(ratio - 0.03), mains_share(ratio + 0.03)])
    m = only(assess_quality(x, FS, label="Leg L").flags, "mains")
    assert list(m.onset) == [20.0] and list(m.duration) == [20.0]


def test_mains_unscorable_setting_excludes_mains_time() -> None:
    x = emg(60)
    x[: int(30 * FS)] += 20 * np.sin(2 * np.pi * 50 * times(x)[: int(30 * FS)])
    q = assess_quality(x, FS, label="Leg L", settings=QualitySettings(mains_unscorable=True))
    assert list(q.unscorable["reason"]) == ["mains"]
    assert q.summary()["fraction_scorable"] == pytest.approx(0.5)


def test_mains_not_checked_when_sampling_too_slow() -> None:
    x = emg(60, fs=100.0)
    x += 20 * np.sin(2 * np.pi * 50 * times(x, 100.0) + 0.3)
    assert only(assess_quality(x, 100.0, label="Leg L").flags, "mains").empty


# ------------------------------------------------------------------ ECG
def add_ecg(x: np.ndarray, period: float, amp: float = 40.0, fs: float = FS) -> np.ndarray:
    y = x.copy()
    beats = (np.arange(0, x.size / fs, period) * fs).astype(int)
    qrs = amp * (1 - np.abs(np.arange(10) - 5) / 5)  # 40 ms triangular QRS
    idx = np.clip(beats[:, None] + np.arange(10)[None, :], 0, x.size - 1)
    y[idx] += qrs[None, :]
    return y


@pytest.mark.parametrize("period", [0.6, 1.0, 2.0])
def test_periodic_ecg_spikes_flagged_ecg_but_stay_scorable(period: float) -> None:
    x = add_ecg(emg(120), period)
    q = assess_quality(x, FS, label="Chin", role="chin")
    ecg = only(q.flags, "ecg")
    assert total_duration(ecg) >= 110
    assert q.unscorable.empty and q.summary()["fraction_scorable"] == 1.0


def test_ecg_channel_itself_is_not_flagged_ecg() -> None:
    x = add_ecg(emg(60), 1.0)
    assert only(assess_quality(x, FS, label="ECG", role="ecg").flags, "ecg").empty


@pytest.mark.parametrize("seconds", [1.5, 2.5])
def test_single_long_leg_movement_burst_is_not_ecg(seconds: float) -> None:
    x = emg(60)
    t = times(x)
    burst = (t >= 21) & (t < 21 + seconds)
    x[burst] += 40 * np.sin(2 * np.pi * 80 * t[burst])  # smooth envelope: autocorrelation decays, no peak
    assert assess_quality(x, FS, label="Leg L").flags.empty
    # it is the prominence rule that tells a burst from periodic beats
    no_prominence = QualitySettings(ecg_min_prominence=-1.0)
    assert not only(assess_quality(x, FS, label="Leg L", settings=no_prominence).flags, "ecg").empty


# ------------------------------------------------------------------ gaps
def test_nan_samples_and_recording_gaps_flagged_gap_and_unscorable() -> None:
    x = emg(120)
    t = times(x)
    x[(t >= 30) & (t < 32.5)] = np.nan
    q = assess_quality(x, FS, label="Leg L", gaps=[(60.0, 10.0)])
    gap = only(q.flags, "gap")
    assert list(gap.onset) == pytest.approx([30.0, 60.0]) and list(gap.duration) == pytest.approx([2.5, 10.0])
    x2 = np.where(np.isnan(x), 0.0, x)
    x2[(t >= 60) & (t < 70)] = 0.0  # EDF+D gaps are zero-filled
    q2 = assess_quality(x2, FS, label="Leg L", gaps=[(30.0, 2.5), (60.0, 10.0)])
    # zero-filled gap time is reported once, as gap, not also as flat
    assert set(q2.flags["reason"]) == {"gap"}
    assert total_duration(only(q2.flags, "gap")) == pytest.approx(12.5)
    assert q.summary()["unscorable_s"]["gap"] == pytest.approx(12.5)
    assert q.scorable_mask().sum() == x.size - int(12.5 * FS)


# ------------------------------------------------------------------ units
def test_channel_in_volts_gets_unit_warning() -> None:
    q = assess_quality(emg(120) * 1e-6, FS, label="Leg L", role="leg_left")
    assert q.unit_warning is not None and "volts" in q.unit_warning and "Leg L" in q.unit_warning
    assert only(q.flags, "flat").empty  # not every window called flat because of the unit


def test_channel_in_nanovolts_gets_unit_warning() -> None:
    q = assess_quality(emg(120) * 1e4, FS, label="Leg L", role="leg_left")
    assert q.unit_warning is not None and "nV" in q.unit_warning


def test_unit_limits_just_inside_and_just_outside() -> None:
    s = QualitySettings()
    square = np.tile([1.0, -1.0], int(30 * FS) // 2)  # median absolute amplitude = 1
    assert assess_quality(square * s.unit_min_uv * 1.1, FS, label="A").unit_warning is None
    assert assess_quality(square * s.unit_min_uv * 0.9, FS, label="A").unit_warning is not None
    assert assess_quality(square * s.unit_max_uv * 0.9, FS, label="A").unit_warning is None
    assert assess_quality(square * s.unit_max_uv * 1.1, FS, label="A").unit_warning is not None


def test_non_voltage_channel_gets_no_unit_warning() -> None:
    assert assess_quality(emg(60) * 1e-6, FS, label="SpO2", role="respiratory").unit_warning is None
    assert assess_quality(emg(60) * 1e-6, FS, label="X", unit="%").unit_warning is None


# ------------------------------------------------------------------ API details
def test_last_partial_window_is_checked_and_clipped_to_the_end() -> None:
    x = emg(62.5)
    x[int(60 * FS) :] = 0.0
    flat = only(assess_quality(x, FS, label="Leg L").flags, "flat")
    assert flat.onset[0] + flat.duration[0] == pytest.approx(62.5)
    assert flat.onset[0] >= 55.0


def test_bad_arguments_raise_value_error() -> None:
    with pytest.raises(ValueError, match="fs"):
        assess_quality(emg(10), 0.0, label="A")
    with pytest.raises(ValueError, match="1-D"):
        assess_quality(np.zeros((2, 10)), FS, label="A")
    with pytest.raises(ValueError, match="physical"):
        assess_quality(emg(10), FS, label="A", physical_min=-1)
    with pytest.raises(ValueError, match="leg_left"):
        assess_quality(emg(10), FS, label="A", role="left_leg")


def test_empty_channel_is_empty_result() -> None:
    q = assess_quality(np.array([]), FS, label="A")
    assert q.flags.empty and q.scorable_mask(0).size == 0


def test_quality_settings_are_frozen_and_carry_sources() -> None:
    s = QualitySettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.flat_std_uv = 1.0  # type: ignore[misc]
    for f in dataclasses.fields(QualitySettings):
        assert f.metadata["source"] and "unconfirmed" in f.metadata
    assert set(REASONS) == {"flat", "clipping", "mains", "ecg", "gap"}


# ------------------------------------------------------------------ interval helpers
def test_intervals_from_mask_gives_onset_and_duration() -> None:
    mask = np.array([0, 1, 1, 0, 0, 1, 1, 1, 1, 0], dtype=bool)
    df = intervals_from_mask(mask, 2.0, "flat")
    assert list(df.onset) == [0.5, 2.5] and list(df.duration) == [1.0, 2.0] and list(df.reason) == ["flat", "flat"]
    assert intervals_from_mask(np.zeros(5, bool), 2.0, "flat").empty
    assert list(intervals_from_mask(np.ones(3, bool), 1.0, "gap").duration) == [3.0]


def test_mask_from_intervals_roundtrip() -> None:
    mask = np.random.default_rng(0).random(1000) > 0.7
    df = intervals_from_mask(mask, 256.0, "x")
    assert np.array_equal(mask_from_intervals(df, mask.size, 256.0), mask)


def test_merge_intervals_joins_touching_same_reason_only() -> None:
    df = pd.DataFrame(
        {
            "onset": [0.0, 5.0, 12.0, 5.0, 3.0],
            "duration": [5.0, 5.0, 1.0, 2.0, 1.0],
            "reason": ["flat", "flat", "flat", "mains", "flat"],
        }
    )
    out = merge_intervals(df)
    assert out.to_dict("list") == {
        "onset": [0.0, 5.0, 12.0],
        "duration": [10.0, 2.0, 1.0],
        "reason": ["flat", "mains", "flat"],
    }
    assert len(merge_intervals(df, gap=2.0)[lambda d: d.reason == "flat"]) == 1
    # 0.001 s apart stays separate without a gap allowance
    two = pd.DataFrame({"onset": [0.0, 1.001], "duration": [1.0, 1.0], "reason": ["a", "a"]})
    assert len(merge_intervals(two)) == 2


def test_subtract_intervals_and_total_duration() -> None:
    df = pd.DataFrame({"onset": [0.0, 20.0], "duration": [10.0, 5.0], "reason": ["flat", "mains"]})
    cut = pd.DataFrame({"onset": [2.0, 22.0], "duration": [3.0, 10.0]})
    out = subtract_intervals(df, cut)
    assert out.to_dict("list") == {
        "onset": [0.0, 5.0, 20.0],
        "duration": [2.0, 5.0, 2.0],
        "reason": ["flat", "flat", "mains"],
    }
    assert total_duration(pd.DataFrame({"onset": [0.0, 5.0], "duration": [10.0, 10.0]})) == 15.0


# ------------------------------------------------------------------ fast paths (decimated ECG check, sampled unit check)
@pytest.mark.parametrize("fs", [200.0, 512.0, 1000.0])
def test_periodic_ecg_spikes_flagged_at_other_sampling_rates(fs: float) -> None:
    clean = emg(120, fs=fs)
    assert only(assess_quality(clean, fs, label="Chin", role="chin").flags, "ecg").empty
    k = int(round(0.02 * fs))  # 40 ms triangular QRS, 40 µV
    y = clean.copy()
    beats = (np.arange(0, 119, 0.8) * fs).astype(int)
    y[beats[:, None] + np.arange(2 * k)[None, :]] += 40 * (1 - np.abs(np.arange(2 * k) - k) / k)
    assert total_duration(only(assess_quality(y, fs, label="Chin", role="chin").flags, "ecg")) >= 110


def test_unit_limits_on_a_long_channel_just_inside_and_just_outside() -> None:
    s = QualitySettings()
    fs, n = 1000.0, 600_000  # more samples than the unit check's sample
    x = np.random.default_rng(11).normal(0, 1, n)
    x /= np.median(np.abs(x - np.median(x)))  # median absolute amplitude = 1 exactly
    assert assess_quality(x * s.unit_min_uv * 1.1, fs, label="A").unit_warning is None
    assert assess_quality(x * s.unit_min_uv * 0.9, fs, label="A").unit_warning is not None
    assert assess_quality(x * s.unit_max_uv * 0.9, fs, label="A").unit_warning is None
    assert assess_quality(x * s.unit_max_uv * 1.1, fs, label="A").unit_warning is not None


def test_identical_sample_runs_found_exactly_as_defined() -> None:
    from somnomyo.signal.quality_windows import _stuck_mask

    rng = np.random.default_rng(4)
    x = np.round(rng.normal(0, 2, 20_000))  # quantised: many short runs of equal values
    for start, length in ((100, 255), (1000, 256), (5000, 257), (9000, 600), (19_800, 200)):
        x[start : start + length] = 5.5
    for run_len in (5, 256, 257):
        seg = np.cumsum(np.concatenate(([True], np.diff(x) != 0)))
        want = np.bincount(seg)[seg] >= run_len
        got = _stuck_mask(x, run_len)
        assert np.array_equal(np.zeros(x.size, bool) if got is None else got, want), run_len
