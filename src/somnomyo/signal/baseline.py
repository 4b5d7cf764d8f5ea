"""Noise-adaptive resting EMG baseline (WASM 2016 noise-adapted thresholds; MATPLM ``dt_rev1.m``).

The resting level at time t is the **minimum over the last** ``lookback_min_s`` (60 s) of the
**maximum over the last** ``lookback_max_s`` (0.5 s) of the ``smooth_s`` (0.3 s) moving mean of the
envelope. The look-back max spreads brief spikes (ECG residue) so they cannot pull the level
down between them; the look-back min ignores bursts shorter than a minute and follows slow
drifts over the night. MATPLM's extra "5 x moving variance" term is not used (the envelope
is already a smoothed rectified signal). A baseline below ``floor_uv`` is replaced by
``floor_replacement_uv``; above ``max_scorable_uv`` detection is switched off
(:func:`noisy_baseline_intervals`, reason ``"noisy_baseline"``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from somnomyo.settings import BaselineSettings
from somnomyo.signal.envelope import strided_running_mean, window_samples
from somnomyo.signal.intervals import intervals_from_mask, runs
from somnomyo.signal.rolling import trailing_max, trailing_min

# The smoothed level has no detail faster than smooth_s, so the look-back filters run on it
# decimated to this step (implementation detail, not a clinical parameter).
_STEP_S = 0.02


def _lookback(
    filter1d: Callable[..., np.ndarray], x: np.ndarray, size: int, out: np.ndarray | None = None
) -> np.ndarray:
    """Trailing-window filter (:func:`somnomyo.signal.rolling.trailing_max` / ``trailing_min``):
    output[i] uses x[i-size+1 .. i], ``size`` made odd (the values of ``scipy.ndimage``'s
    ``maximum_filter1d`` / ``minimum_filter1d`` with ``origin=(size - 1) // 2``, used before);
    into ``out`` when given (a buffer other than ``x``)."""
    size = max(1, size)
    size += (size + 1) % 2
    return filter1d(x, size, out=out)


def resting_level(envelope: np.ndarray, fs: float, *, settings: BaselineSettings) -> tuple[np.ndarray, int]:
    """The resting baseline before expansion: one value per ``step`` samples of ``envelope``
    (``step`` = ``_STEP_S`` at ``fs``), floor rule applied; ``np.repeat(level, step)[:n]`` is
    :func:`resting_baseline` (adaptive case). Same rules as :func:`resting_baseline`."""
    st = settings
    e = np.asarray(envelope, dtype=np.float32)
    step = max(1, int(round(_STEP_S * fs)))
    if e.size == 0:
        return np.zeros(0, np.float32), step
    # two buffers of the decimated length, used in turn (no other temporaries: fresh memory is slow)
    mean = strided_running_mean(e, window_samples(st.smooth_s, fs), step)  # moving mean, every step-th value
    fs_d = fs / step
    peak = _lookback(trailing_max, mean, int(round(st.lookback_max_s * fs_d)))
    lvl = _lookback(trailing_min, peak, int(round(st.lookback_min_s * fs_d)), out=mean)
    if not st.adaptive:
        lvl[...] = expanded_median(lvl, step, e.size)
    return _floor(lvl, st), step


def _floor(level: np.ndarray, st: BaselineSettings) -> np.ndarray:
    """The floor rule, in place on a float32 ``level`` (a copy otherwise)."""
    out = level if level.dtype == np.float32 else level.astype(np.float32)
    out[out < st.floor_uv] = np.float32(st.floor_replacement_uv)
    return out


def expanded_median(level: np.ndarray, step: int, n: int) -> float:
    """``np.median(np.repeat(level, step)[:n])`` without building the repeated array when
    every value repeats ``step`` times."""
    m = level.size
    if m == 0 or n <= 0:
        return float("nan")
    if n != m * step:
        return float(np.median(np.repeat(level, step)[:n]))
    i1, i2 = ((n - 1) // 2) // step, (n // 2) // step
    part = np.partition(level, sorted({i1, i2}))
    return float((np.float64(part[i1]) + np.float64(part[i2])) / 2.0)


def resting_baseline(envelope: np.ndarray, fs: float, *, settings: BaselineSettings) -> np.ndarray:
    """Resting EMG baseline (µV) for every sample of ``envelope`` (MATPLM ``dt_rev1.m``).

    WASM 2016 allows noise-adapted baselines for computer scoring. With ``adaptive=False`` the
    baseline is one constant: the median of the adaptive one (MATPLM's static alternative
    uses its mode). Floor rule: values below ``floor_uv`` become ``floor_replacement_uv``.
    """
    level, step = resting_level(envelope, fs, settings=settings)
    return np.repeat(level, step)[: np.size(envelope)]


def noisy_level_intervals(
    level: np.ndarray, step: int, n: int, fs: float, *, settings: BaselineSettings
) -> pd.DataFrame:
    """:func:`noisy_baseline_intervals` of ``np.repeat(level, step)[:n]``, from the level itself."""
    a, z = runs(np.asarray(level) > settings.max_scorable_uv)
    a, z = a * step, np.minimum(z * step, n)
    return pd.DataFrame(
        {"onset": a / fs, "duration": (z - a) / fs, "reason": pd.Series(["noisy_baseline"] * a.size, dtype="string")}
    )


def noisy_baseline_intervals(baseline: np.ndarray, fs: float, *, settings: BaselineSettings) -> pd.DataFrame:
    """Stretches where the baseline exceeds ``max_scorable_uv`` (MATPLM ``dt_rev1.m``: detection is
    switched off there), as (onset, duration, reason="noisy_baseline") in seconds."""
    return intervals_from_mask(np.asarray(baseline) > settings.max_scorable_uv, fs, "noisy_baseline")
