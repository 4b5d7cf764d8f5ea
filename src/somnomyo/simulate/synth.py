"""Signal-synthesis primitives shared by the simulator modules (all vectorized)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from functools import lru_cache
from typing import overload

import numpy as np
from scipy import signal as sps
from scipy.linalg.blas import daxpy

from somnomyo.settings import get_settings

EPOCH_S = 30.0


def rng_for(seed: int, name: str) -> np.random.Generator:
    """Independent, reproducible generator per ingredient (turning one off leaves the others alone)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode("ascii"))])


@lru_cache(maxsize=4)
def times(n: int, fs: float) -> np.ndarray:
    """Read-only sample times ``arange(n) / fs`` (cached: several channels share a rate)."""
    t = np.arange(n) / fs
    t.flags.writeable = False
    return t


@overload
def quantize(t: float, fs: float) -> float: ...
@overload
def quantize(t: np.ndarray, fs: float) -> np.ndarray: ...
def quantize(t: float | np.ndarray, fs: float) -> np.ndarray | float:
    """Round times to the sample grid of rate ``fs`` (so the truth names exact samples)."""
    return np.round(np.asarray(t, dtype=float) * fs) / fs


@overload
def uniform(rng: np.random.Generator, rng_pair: Sequence[float], size: None = None) -> float: ...
@overload
def uniform(rng: np.random.Generator, rng_pair: Sequence[float], size: int) -> np.ndarray: ...
def uniform(rng: np.random.Generator, rng_pair: Sequence[float], size: int | None = None) -> np.ndarray | float:
    """Draw uniformly from ``(low, high)``: one float, or an array of ``size`` draws."""
    return rng.uniform(rng_pair[0], rng_pair[1], size)


def emg_band() -> tuple[float, float]:
    """EMG conditioning band used to calibrate amplitudes (AASM EMG band-pass 10-100 Hz, settings)."""
    c = get_settings().conditioning
    return c.highpass_hz, c.lowpass_hz


def band_power_gain(sos: np.ndarray, fs: float, band: tuple[float, float]) -> float:
    """Power of unit white noise passed through ``sos``, counted inside ``band`` only."""
    w, h = sps.sosfreqz(sos, worN=8192, fs=fs)
    sel = (w >= band[0]) & (w <= min(band[1], fs / 2))
    if not sel.any():
        return 1.0
    df = w[1] - w[0]
    return float(np.sum(np.abs(h[sel]) ** 2) * df * 2.0 / fs)


def bandlimited_noise(
    rng: np.random.Generator,
    n: int,
    fs: float,
    lo: float,
    hi: float,
    *,
    calibrate: tuple[float, float] | None = None,
    order: int = 4,
    fast: bool = False,
) -> np.ndarray:
    """White noise band-passed ``lo``-``hi`` Hz (``hi`` capped at 0.45 fs), causal, one filter call.

    Scaled to unit RMS inside ``calibrate`` band when given (so that an amplitude
    ``A`` times this array has RMS ``A`` after conditioning), else to unit overall RMS.
    """
    hi = min(hi, 0.45 * fs)
    sos = sps.butter(order, [lo, hi], btype="bandpass", fs=fs, output="sos")
    x = sps.sosfilt(sos, rng.standard_normal(n, dtype=np.float32 if fast else np.float64))
    p = band_power_gain(sos, fs, calibrate if calibrate is not None else (0.0, fs / 2))
    x *= 1.0 / np.sqrt(max(p, 1e-12))
    return x


def lowrate_noise(
    rng: np.random.Generator, n: int, fs: float, lo: float, hi: float, *, src_fs: float = 64.0
) -> np.ndarray:
    """Unit-RMS band-limited noise for slow rhythms (< 20 Hz): made at ``src_fs``, interpolated to ``fs``."""
    src_fs = min(src_fs, fs)
    m = int(np.ceil(n * src_fs / fs)) + 2
    x = bandlimited_noise(rng, m, src_fs, lo, hi)
    return np.interp(times(n, fs), np.arange(m) / src_fs, x)


def hold_block(fs: float) -> int:
    """Samples per block for slow curves held piecewise-constant (~31 ms: invisible steps)."""
    return max(1, int(fs // 32))


def _hold(t_knots: np.ndarray, v_knots: np.ndarray, n: int, fs: float) -> np.ndarray:
    """Linear interpolation of knots evaluated once per block, held within the block (cheap upsampling)."""
    L = hold_block(fs)
    m = int(np.ceil(n / L))
    tb = (np.arange(m) * L + 0.5 * L) / fs
    return np.repeat(np.interp(tb, t_knots, v_knots), L)[:n]


def epoch_curve(values: np.ndarray, n: int, fs: float, *, ramp_s: float = 1.0) -> np.ndarray:
    """Per-sample curve holding ``values[i]`` in epoch ``i`` with linear ramps of ``ramp_s`` at borders."""
    values = np.asarray(values, dtype=float)
    k = np.arange(values.size) * EPOCH_S
    t_knots = np.stack([k + ramp_s, k + EPOCH_S - ramp_s], axis=1).ravel()
    return _hold(t_knots, np.repeat(values, 2), n, fs)


def slow_wander(rng: np.random.Generator, n: int, fs: float, sd: float, *, knot_s: float = 5.0) -> np.ndarray:
    """Baseline drift: smooth random wander (< 0.2 Hz) with standard deviation ``sd``."""
    if sd <= 0:
        return np.zeros(n)
    m = int(np.ceil(n / fs / knot_s)) + 2
    walk = np.cumsum(rng.standard_normal(m))
    walk = sps.lfilter([0.3], [1.0, -0.7], walk - walk.mean())  # smooth, then remove the trend
    walk = walk - np.convolve(walk, np.ones(9) / 9, mode="same")
    walk *= sd / max(float(np.std(walk)), 1e-12)
    return _hold(np.arange(m) * knot_s, walk, n, fs)


def raised_envelope(n: int, fs: float, rise_s: float, fall_s: float) -> np.ndarray:
    """Trapezoid envelope with raised-cosine edges: 0 -> 1 in ``rise_s``, 1 -> 0 in ``fall_s``."""
    env = np.ones(n)
    nr = min(max(int(round(rise_s * fs)), 1), n // 2)
    nf = min(max(int(round(fall_s * fs)), 1), n - nr)
    env[:nr] = 0.5 - 0.5 * np.cos(np.pi * (np.arange(nr) + 1) / (nr + 1))
    env[n - nf :] = 0.5 + 0.5 * np.cos(np.pi * (np.arange(nf) + 1) / (nf + 1))
    return env


def axpy(x: np.ndarray, y: np.ndarray, a: float = 1.0) -> None:
    """``x += a * y`` in place without a temporary array (BLAS daxpy for contiguous float64)."""
    if (
        x.dtype == np.float64
        and y.dtype == np.float64
        and x.flags.c_contiguous
        and y.flags.c_contiguous
        and x.size == y.size
    ):
        daxpy(y, x, a=a)
    else:
        x += a * y


def add_at(x: np.ndarray, starts: np.ndarray, template: np.ndarray, scales: np.ndarray | float = 1.0) -> None:
    """Add ``scales[i] * template`` to ``x`` starting at sample ``starts[i]`` (in place, clipped at edges).

    Vectorized: events are split into groups whose copies cannot overlap, and each
    group is added with one fancy-indexed ``+=``.
    """
    starts = np.asarray(starts, dtype=np.int64)
    if starts.size == 0:
        return
    sc = np.broadcast_to(np.asarray(scales, dtype=float), starts.shape)
    order = np.argsort(starts, kind="stable")
    starts, sc = starts[order], sc[order]
    offs = np.arange(template.size)
    min_gap = int(np.diff(starts).min()) if starts.size > 1 else template.size
    if min_gap == 0:  # coinciding starts: unbuffered add
        idx = starts[:, None] + offs[None, :]
        vals = sc[:, None] * template[None, :]
        ok = (idx >= 0) & (idx < x.size)
        np.add.at(x, idx[ok], vals[ok])
        return
    groups = int(np.ceil(template.size / min_gap))
    for g in range(groups):
        idx = starts[g::groups, None] + offs[None, :]
        vals = sc[g::groups, None] * template[None, :]
        ok = (idx >= 0) & (idx < x.size)
        x[idx[ok]] += vals[ok]


class BurstBank:
    """A bank of band-limited EMG carrier noise; bursts take random slices of it.

    Calibrated so that ``amplitude * slice`` has RMS ``amplitude`` inside the EMG
    conditioning band (AASM 10-100 Hz; settings), which keeps burst amplitudes
    comparable with the +8 µV LM onset rule (WASM 2016 / AASM).
    """

    def __init__(
        self, rng: np.random.Generator, fs: float, *, seconds: float = 64.0, lo: float = 20.0, hi: float = 150.0
    ) -> None:
        self.fs = fs
        n = int(seconds * fs)
        self.data = bandlimited_noise(rng, n + int(fs), fs, lo, hi, calibrate=emg_band())[int(fs) :]
        self.rms = float(np.sqrt(np.mean(self.data**2)))  # full-band RMS whose 10-100 Hz part is 1

    def take(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if n > self.data.size:
            reps = int(np.ceil(n / self.data.size))
            return np.tile(self.data, reps)[:n].copy()
        o = int(rng.integers(0, self.data.size - n + 1))
        return self.data[o : o + n].copy()
