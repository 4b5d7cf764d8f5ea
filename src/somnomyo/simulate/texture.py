"""Real-EMG texture: a compact model fitted from real surface EMG, and noise synthesised from it.

The model of one kind of activity (``rest``: the resting background; ``burst``: a
muscle activation) is a Gaussian scale mixture, the usual description of surface
EMG as amplitude-modulated Gaussian noise:

* ``psd``: the shape of the power spectral density on a grid of ``psd_step_hz``
  from 0 Hz (Welch, 0.256-s Hann windows), with mains and other narrow lines
  removed by a running median across frequency, normalized to a mean of 1 over the
  EMG conditioning band (AASM 10-100 Hz, ``Settings.conditioning``);
* ``fast_sd``: standard deviation of the log of a fast amplitude modulation with
  correlation time ``fast_tau_s`` (motor-unit firing makes EMG heavier-tailed than
  Gaussian: kurtosis ``3 exp(4 (fast_sd^2 + slow_sd^2))`` for log-normal scales);
* ``slow_sd`` / ``slow_tau_s``: standard deviation and correlation time of the log
  of the slow (seconds) variation of the level, from 1-s RMS values.

Noise with that texture is white Gaussian noise shaped by a linear-phase FIR with
the model's spectrum (below the model's 10 Hz high-pass like the synthetic
background), times ``exp(sd * g - sd^2)`` for each modulation ``g`` (unit-variance
AR(1) processes), so that its mean power inside 10-100 Hz is exactly 1.

The shipped model (:func:`shipped_model`, numbers in
:mod:`somnomyo.simulate._texture_biosppy`) was fitted by ``scripts/fit_emg_texture.py``
from the two example surface-EMG recordings of the BioSPPy project (BSD-3-Clause;
see LICENSE and docs/validation.md): ``emg.txt`` (100 s at rest) and ``emg_1.txt``
(64 s with activations). Only the fitted numbers are shipped, not the recordings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal as sps
from scipy.stats import kurtosis

from somnomyo.simulate.synth import emg_band

WELCH_S = 0.256  # Welch window of the fitted spectrum, s (3.9-Hz bins at 1000 Hz)
LINE_MEDIAN_HZ = 30.0  # running-median width that removes mains and other narrow lines, Hz
ENV_WINDOW_S = 0.2  # moving-RMS window used to find activations, s
ACTIVE_FACTOR = 4.0  # an activation is a moving RMS above this many times the file's median
MIN_ACTIVE_S = 0.2  # shortest activation kept, s
SLOW_BLOCK_S = 1.0  # block length of the slow level variation, s
FAST_TAU_S = 0.025  # correlation time of the fast modulation, s: at the motor-unit scale, too
#                          close to the carrier's own correlation to be separated in these files
HIGHPASS_HZ = 10.0  # background high-pass, as the synthetic background (10 Hz, order 2)
HIGHPASS_ORDER = 2
FIR_S = 0.25  # shaping-filter length, s (4-Hz resolution, as the fitted spectrum)


@dataclass(frozen=True)
class TextureKind:
    """Fitted texture of one kind of EMG activity (see the module docstring)."""

    psd_step_hz: float
    psd: tuple[float, ...]
    fast_sd: float
    fast_tau_s: float
    slow_sd: float
    slow_tau_s: float
    kurtosis: float  # measured kurtosis (Pearson, Gaussian = 3) of the 10-100 Hz signal
    seconds: float  # how much signal the fit used, s

    def freqs(self) -> np.ndarray:
        return np.arange(len(self.psd)) * self.psd_step_hz

    def psd_at(self, f: np.ndarray) -> np.ndarray:
        """The spectrum shape at frequencies ``f`` (linear interpolation; beyond the grid: the last value)."""
        return np.interp(f, self.freqs(), np.asarray(self.psd))


@dataclass(frozen=True)
class TextureModel:
    """Texture of the resting background and of activations, with where it came from."""

    rest: TextureKind
    burst: TextureKind
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TextureModel:
        def kind(k: dict[str, Any]) -> TextureKind:
            return TextureKind(**{**k, "psd": tuple(float(v) for v in k["psd"])})

        return cls(rest=kind(d["rest"]), burst=kind(d["burst"]), source=str(d["source"]))


# --- fitting -------------------------------------------------------------------------------------
def read_text_emg(path: str | Path) -> tuple[np.ndarray, float]:
    """A BioSPPy "Simple Text Format" file: ``#`` header lines (``# Sampling Rate (Hz):= 1000.00``), one sample a line."""
    p = Path(path)
    fs = None
    with p.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            if "Sampling Rate" in line and ":=" in line:
                fs = float(line.split(":=")[1])
    if fs is None:
        raise ValueError(f"{p}: no '# Sampling Rate (Hz):= ...' header line")
    return np.loadtxt(p, comments="#", dtype=float), fs


def _bandpassed(x: np.ndarray, fs: float) -> np.ndarray:
    lo, hi = emg_band()
    sos = sps.butter(4, [lo, min(hi, 0.45 * fs)], btype="bandpass", fs=fs, output="sos")
    return sps.sosfiltfilt(sos, x - np.median(x))


def activations(x: np.ndarray, fs: float) -> list[tuple[int, int]]:
    """Sample ranges where the 10-100 Hz moving RMS exceeds ``ACTIVE_FACTOR`` x its median for >= ``MIN_ACTIVE_S``."""
    y = _bandpassed(x, fs)
    w = max(int(ENV_WINDOW_S * fs), 1)
    env = np.sqrt(np.convolve(y**2, np.ones(w) / w, mode="same"))
    act = env > ACTIVE_FACTOR * np.median(env)
    d = np.diff(np.r_[0, act.astype(np.int8), 0])
    on, off = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return [(int(a), int(b)) for a, b in zip(on, off) if b - a >= MIN_ACTIVE_S * fs]


def _psd_shape(parts: list[np.ndarray], fs: float) -> tuple[float, np.ndarray]:
    nper = int(round(WELCH_S * fs))
    acc, weight = None, 0.0
    for p in parts:
        if p.size < nper:
            continue
        f, pxx = sps.welch(p - np.mean(p), fs, nperseg=nper)
        k = 1 + (p.size - nper) // (nper // 2)  # windows in this part
        acc = pxx * k if acc is None else acc + pxx * k
        weight += k
    if acc is None:
        raise ValueError("no segment long enough for a spectrum")
    step = float(f[1] - f[0])
    from scipy.ndimage import median_filter

    width = max(3, int(round(LINE_MEDIAN_HZ / step)) | 1)
    smooth = median_filter(acc / weight, size=width, mode="mirror")
    lo, hi = emg_band()
    sel = (f >= lo) & (f <= hi)
    return step, smooth / float(np.mean(smooth[sel]))


def _slow(y: np.ndarray, fs: float) -> tuple[float, float]:
    """SD of log 1-s RMS and its correlation time (first lag where the autocorrelation drops below 1/e)."""
    b = int(SLOW_BLOCK_S * fs)
    m = y.size // b
    if m < 4:
        return 0.0, SLOW_BLOCK_S
    r = np.log(np.sqrt(np.mean(y[: m * b].reshape(m, b) ** 2, axis=1)))
    r = r - r.mean()
    sd = float(np.std(r))
    if sd == 0:
        return 0.0, SLOW_BLOCK_S
    ac = np.array([1.0] + [float(np.mean(r[:-k] * r[k:])) / sd**2 for k in range(1, m // 2)])
    below = np.flatnonzero(ac < np.exp(-1.0))
    lag = float(below[0]) if below.size else float(m // 2)
    return sd, max(lag, 1.0) * SLOW_BLOCK_S


def fit_kind(parts: list[np.ndarray], fs: float, *, slow: bool) -> TextureKind:
    """Fit one texture kind from raw signal ``parts`` (each a contiguous stretch) at rate ``fs``."""
    step, psd = _psd_shape(parts, fs)
    ys = [_bandpassed(p, fs) for p in parts]
    yn = np.concatenate([y / np.std(y) for y in ys])  # each part at its own level
    k = float(kurtosis(yn, fisher=False))
    slow_sd, slow_tau = _slow(max(ys, key=len), fs) if slow else (0.0, SLOW_BLOCK_S)
    total = max(np.log(max(k, 3.0) / 3.0) / 4.0, 0.0)  # kurtosis = 3 exp(4 sigma^2)
    fast_sd = float(np.sqrt(max(total - slow_sd**2, 0.0)))
    return TextureKind(
        psd_step_hz=step,
        psd=tuple(float(np.round(v, 5)) for v in psd),
        fast_sd=round(fast_sd, 4),
        fast_tau_s=FAST_TAU_S,
        slow_sd=round(slow_sd, 4),
        slow_tau_s=round(slow_tau, 3),
        kurtosis=round(k, 3),
        seconds=round(sum(p.size for p in parts) / fs, 3),
    )


def fit_texture(rest: np.ndarray, bursts: np.ndarray, fs: float, *, source: str) -> TextureModel:
    """Fit the model: ``rest`` (a resting recording, activations cut out) and the activations of ``bursts``."""
    cut = activations(rest, fs)
    keep = np.ones(rest.size, dtype=bool)
    for a, b in cut:
        keep[a:b] = False
    edges = np.flatnonzero(np.diff(np.r_[0, keep.astype(np.int8), 0]))
    rest_parts = [rest[a:b] for a, b in zip(edges[::2], edges[1::2])]
    burst_parts = [bursts[a:b] for a, b in activations(bursts, fs)]
    if not burst_parts:
        raise ValueError("the burst recording has no activation")
    return TextureModel(
        rest=fit_kind(rest_parts, fs, slow=True), burst=fit_kind(burst_parts, fs, slow=False), source=source
    )


# --- the shipped model and synthesis ----------------------------------------------------------------


@lru_cache(maxsize=1)
def shipped_model() -> TextureModel:
    """The model fitted from BioSPPy's example surface EMG (see the module docstring)."""
    from somnomyo.simulate._texture_biosppy import MODEL

    return TextureModel.from_dict(MODEL)


@lru_cache(maxsize=16)
def shaping_filter(kind: TextureKind, fs: float) -> tuple[np.ndarray, float]:
    """FIR taps with the kind's spectrum at rate ``fs`` (10-Hz high-pass below) and their 10-100 Hz power gain."""
    n = int(FIR_S * fs) | 1
    f = np.linspace(0.0, fs / 2.0, 257)
    hp = 1.0 / np.sqrt(1.0 + (HIGHPASS_HZ / np.maximum(f, 1e-9)) ** (2 * HIGHPASS_ORDER))
    gain = np.sqrt(kind.psd_at(f)) * hp
    taps = sps.firwin2(n, f, gain, fs=fs)
    w, h = sps.freqz(taps, worN=8192, fs=fs)
    lo, hi = emg_band()
    sel = (w >= lo) & (w <= min(hi, fs / 2))
    power = float(np.sum(np.abs(h[sel]) ** 2) * (w[1] - w[0]) * 2.0 / fs)
    return taps, power


def _ar1(rng: np.random.Generator, n: int, fs: float, tau_s: float) -> np.ndarray:
    """Unit-variance AR(1) noise with correlation time ``tau_s`` at rate ``fs``."""
    a = float(np.exp(-1.0 / (tau_s * fs)))
    e = rng.standard_normal(n) * np.sqrt(1.0 - a * a)
    e[0] = rng.standard_normal()
    return sps.lfilter([1.0], [1.0, -a], e)


def modulation(rng: np.random.Generator, n: int, fs: float, sd: float, tau_s: float) -> np.ndarray:
    """Log-normal amplitude modulation ``exp(sd * g - sd^2)`` (mean square 1), slow ones made at 16 Hz."""
    if sd <= 0:
        return np.ones(n)
    src_fs = fs if tau_s * fs < 64.0 else 16.0
    m = int(np.ceil(n * src_fs / fs)) + 2
    g = _ar1(rng, m, src_fs, tau_s)
    if src_fs != fs:
        g = np.interp(np.arange(n) / fs, np.arange(m) / src_fs, g)
    return np.exp(sd * g[:n] - sd * sd)


def texture_noise(rng: np.random.Generator, n: int, fs: float, kind: TextureKind, *, slow: bool = True) -> np.ndarray:
    """Noise with the kind's spectrum and amplitude modulation, unit mean power inside 10-100 Hz."""
    taps, power = shaping_filter(kind, fs)
    pad = taps.size
    x = sps.lfilter(taps, [1.0], rng.standard_normal(n + pad, dtype=np.float32))[pad:].astype(np.float32)
    x *= np.float32(1.0 / np.sqrt(max(power, 1e-12)))
    x *= modulation(rng, n, fs, kind.fast_sd, kind.fast_tau_s).astype(np.float32)
    if slow:
        x *= modulation(rng, n, fs, kind.slow_sd, kind.slow_tau_s).astype(np.float32)
    return x.astype(np.float64)
