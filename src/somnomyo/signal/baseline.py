"""Noise-adaptive resting EMG baseline (WASM 2016 noise-adapted thresholds; MATPLM ``dt_rev1.m``).

The resting level at time t is the **minimum over the last** ``lookback_min_s`` (60 s) of the
**maximum over the last** ``lookback_max_s`` (0.5 s) of the ``smooth_s`` (0.3 s) moving mean of the
envelope. The look-back max spreads brief spikes (ECG residue) so they cannot pull the level
down between them; the look-back min ignores bursts shorter than a minute and follows slow
drifts over the night. A baseline below ``floor_uv`` is replaced by ``floor_replacement_uv``;
above ``max_scorable_uv`` detection is switched off (:func:`noisy_baseline_intervals`, reason
``"noisy_baseline"``).

**Noise term** (``noise_k`` > 0; MATPLM ``dt_rev1.m``, Ferri R et al., Sleep 2005;28:998-1004,
which adds 5 x a moving variance-like term; WASM 2016 noise-adapted thresholds): ``noise_k`` x
the moving standard deviation of the rectified conditioned EMG over ``noise_window_s`` is added
to the moving mean *before* the look-back filters, so the look-back minimum keeps bursts shorter
than a minute out of it as it keeps them out of the mean. A fluctuating background (whose
rectified SD grows with it) then raises the level, so its high stretches do not hold LM offsets
up. ``noise_applies_to`` says which LM rules use the raised level: ``"offset"`` (the offset rule
only; onset, amplitude and morphology stay relative to the resting level) or
``"onset_and_offset"`` (MATPLM: every rule). For Gaussian-like EMG the rectified SD is a fixed
fraction (~0.75) of the rectified mean, so the term scales the level rather than measuring its
fluctuation: k = 5 raises an onset threshold by ~4x the resting level and misses small LMs.
The ``max_scorable_uv`` rule always looks at the level *without* the term
(:attr:`BaselineLevels.resting`): the term never switches detection off (MATPLM's baseline with
its noise term did, and lost most LMs of a night with a strong ECG leak).

**Off by default** (``noise_k = 0``; benchmarks/RESULTS.md, "LM baseline noise term"). On
simulated 8-h nights k = 3 over 2 s on the offset rule raised LM F1 on the hard nights
(fluctuating background, ECG leak, real-EMG texture) from 0.93 to 0.96 and lost nothing on the
default and small-LM (10-25 µV) nights; MATPLM's form (k = 5, every rule) did better on the hard
nights (0.99) but missed 7-14 % of the small LMs (PLMS index 0.8-2.7/h low). But on the real
BioSPPy recording every k from 1 to 5 (offset rule) cut one of its two activations (two bursts
0.3 s apart) into pieces shorter than 0.5 s, so it was lost: a raised offset level ends real,
uneven bursts early.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd

from somnomyo.settings import BaselineSettings
from somnomyo.signal.envelope import strided_running_mean, window_samples
from somnomyo.signal.intervals import intervals_from_mask, runs
from somnomyo.signal.rolling import trailing_max, trailing_min

# The smoothed level has no detail faster than smooth_s, so the look-back filters run on it
# decimated to this step (implementation detail, not a clinical parameter).
_STEP_S = 0.02
_CHUNK = 1 << 16  # samples per chunk of the noise term's block sums (cache-sized; speed only)


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


class BaselineLevels(NamedTuple):
    """The baselines of :func:`resting_levels`, one float32 value per ``step`` samples.

    ``onset``: the level the LM onset (+8 µV), amplitude and morphology rules are relative to;
    ``offset``: the level of the offset rule (+2 µV for 0.5 s); ``resting``: the level without
    the noise term (the ``max_scorable_uv`` rule). Arrays are shared where equal (no noise term:
    all three are one array)."""

    onset: np.ndarray
    offset: np.ndarray
    resting: np.ndarray
    step: int


def resting_level(
    envelope: np.ndarray, fs: float, *, settings: BaselineSettings, rectified: np.ndarray | None = None
) -> tuple[np.ndarray, int]:
    """The resting baseline before expansion: one value per ``step`` samples of ``envelope``
    (``step`` = ``_STEP_S`` at ``fs``), floor rule applied; ``np.repeat(level, step)[:n]`` is
    :func:`resting_baseline` (adaptive case). Same rules as :func:`resting_baseline`: the
    :attr:`BaselineLevels.onset` level of :func:`resting_levels` (the noise term is computed only
    when it applies to the onset rule)."""
    if settings.noise_k > 0 and settings.noise_applies_to == "offset":
        settings = dataclasses.replace(settings, noise_k=0.0)
    levels = resting_levels(envelope, fs, settings=settings, rectified=rectified)
    return levels.onset, levels.step


def resting_levels(
    envelope: np.ndarray, fs: float, *, settings: BaselineSettings, rectified: np.ndarray | None = None
) -> BaselineLevels:
    """The LM baselines (:class:`BaselineLevels`): the resting level (min over ``lookback_min_s``
    of the max over ``lookback_max_s`` of the ``smooth_s`` moving mean) and, when
    ``settings.noise_k`` > 0, the same with the noise term added to the moving mean, used by the
    rules ``noise_applies_to`` names; floor rule applied to each.

    ``rectified``: the conditioned EMG (its absolute value is taken) whose moving SD is the
    noise term, same length as ``envelope``; without it the SD of the envelope is used (a
    smoother signal: a smaller term), so callers that have the conditioned EMG pass it.
    """
    st = settings
    e = np.asarray(envelope, dtype=np.float32)
    step = max(1, int(round(_STEP_S * fs)))
    if e.size == 0:
        empty = np.zeros(0, np.float32)
        return BaselineLevels(empty, empty, empty, step)
    # two buffers of the decimated length, used in turn (no other temporaries: fresh memory is slow)
    mean = strided_running_mean(e, window_samples(st.smooth_s, fs), step)  # moving mean, every step-th value
    fs_d = fs / step
    n_max, n_min = int(round(st.lookback_max_s * fs_d)), int(round(st.lookback_min_s * fs_d))
    resting = None
    if st.noise_k > 0:
        src = e if rectified is None else np.asarray(rectified)
        if src.size != e.size:
            raise ValueError(f"rectified must have the envelope's {e.size} samples, got {src.size}")
        sd = moving_sd_rectified(src, step, max(1, int(round(st.noise_window_s * fs_d))))
        resting = _lookback(trailing_min, _lookback(trailing_max, mean, n_max), n_min)
        mean += np.float32(st.noise_k) * sd  # sd's buffer is free again: reused below
        peak = _lookback(trailing_max, mean, n_max, out=sd)
    else:
        peak = _lookback(trailing_max, mean, n_max)
    lvl = _lookback(trailing_min, peak, n_min, out=mean)
    if not st.adaptive:
        lvl[...] = expanded_median(lvl, step, e.size)
        if resting is not None:
            resting[...] = expanded_median(resting, step, e.size)
    lvl = _floor(lvl, st)
    if resting is None:
        return BaselineLevels(lvl, lvl, lvl, step)
    resting = _floor(resting, st)
    return BaselineLevels(resting if st.noise_applies_to == "offset" else lvl, lvl, resting, step)


def moving_sd_rectified(x: np.ndarray, step: int, size: int) -> np.ndarray:
    """Standard deviation of ``|x|`` over ``size`` blocks of ``step`` samples centred on each
    block (``size`` made odd; fewer blocks at the record's ends), one float32 value per block
    (``ceil(n / step)`` values, the grid of :func:`resting_level`).

    The block sums of ``|x|`` and ``x**2`` are made a cache-sized chunk at a time (no
    full-length temporary), then the windows are differences of their float64 cumulative sums.
    """
    a = np.asarray(x)
    a = a if a.dtype in (np.float32, np.float64) else a.astype(np.float32)
    n = a.size
    step = max(1, int(step))
    m = -(-n // step)
    s1 = np.zeros(m + 1, np.float64)  # cumulative sums, s[0] = 0
    s2 = np.zeros(m + 1, np.float64)
    per = max(1, _CHUNK // step)  # blocks per chunk
    ab = np.empty(per * step, a.dtype)  # |x| of a chunk
    sq = np.empty(per * step, a.dtype)  # x**2 of a chunk
    for b0 in range(0, m, per):  # loop over cache-sized chunks of blocks
        b1 = min(b0 + per, m)
        seg = a[b0 * step : min(b1 * step, n)]
        k = seg.size // step  # whole blocks in the chunk
        u, v = ab[: k * step], sq[: k * step]
        np.abs(seg[: k * step], out=u)
        np.multiply(u, u, out=v)
        c1, c2 = u[0::step].astype(np.float64), v[0::step].astype(np.float64)
        for j in range(1, step):  # loop over the few columns of a block
            c1 += u[j::step]
            c2 += v[j::step]
        s1[b0 + 1 : b0 + 1 + k] = c1
        s2[b0 + 1 : b0 + 1 + k] = c2
        if k * step < seg.size:  # the record's ragged last block
            tail = np.abs(seg[k * step :].astype(np.float64))
            s1[b0 + 1 + k] = tail.sum()
            s2[b0 + 1 + k] = (tail * tail).sum()
    np.cumsum(s1, out=s1)
    np.cumsum(s2, out=s2)
    size = max(1, int(size))
    half = size // 2
    lo = np.maximum(np.arange(m) - half, 0)
    hi = np.minimum(np.arange(m) + half + 1, m)
    count = np.minimum(hi * step, n) - lo * step
    mu = (s1[hi] - s1[lo]) / count
    var = (s2[hi] - s2[lo]) / count - mu * mu
    return np.sqrt(np.maximum(var, 0.0)).astype(np.float32)


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


def resting_baseline(
    envelope: np.ndarray, fs: float, *, settings: BaselineSettings, rectified: np.ndarray | None = None
) -> np.ndarray:
    """Resting EMG baseline (µV) for every sample of ``envelope`` (MATPLM ``dt_rev1.m``).

    WASM 2016 allows noise-adapted baselines for computer scoring. With ``adaptive=False`` the
    baseline is one constant: the median of the adaptive one (MATPLM's static alternative
    uses its mode). Floor rule: values below ``floor_uv`` become ``floor_replacement_uv``.
    ``rectified``: the conditioned EMG for the noise term (``noise_k`` > 0; see
    :func:`resting_levels`).
    """
    level, step = resting_level(envelope, fs, settings=settings, rectified=rectified)
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
