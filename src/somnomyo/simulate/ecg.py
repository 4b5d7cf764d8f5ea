"""ECG: R-peak times with heart-rate variability, a P-QRS-T waveform, and its QRS leak into EMG.

The waveform is a sum of Gaussian waves (after McSharry et al., IEEE TBME 2003,
"A dynamical model for generating synthetic electrocardiogram signals"). The
leak into leg/chin/arm EMG is the QRS part only, time-locked to the same R peaks
(the cardiac artefact that WASM 2016 asks to remove; MATPLM ``removeEKG.m``).
"""

from __future__ import annotations

import numpy as np

from somnomyo.simulate.options import SimOptions
from somnomyo.simulate.synth import add_at, uniform

# (offset from R in s at RR = 1 s, amplitude relative to R, width sigma in s)
_WAVES = {
    "P": (-0.20, 0.12, 0.025),
    "Q": (-0.028, -0.12, 0.008),
    "R": (0.0, 1.0, 0.009),
    "S": (0.030, -0.25, 0.009),
    "T": (0.26, 0.30, 0.045),
}
_QRS = ("Q", "R", "S")

# per-channel scale and polarity of the QRS leak, relative to ``ecg_artifact_uv`` (legs ~ 1)
LEAK_SCALE = {"Leg L": -0.8, "Leg R": 1.0, "EMG Chin": 0.5, "Arm L": -1.4, "Arm R": 1.2}


def leak_uv(options: SimOptions) -> dict[str, float]:
    """Signed peak of the QRS leak per EMG channel, µV: ``ecg_artifact_uv`` x scale, or ``ecg_leak_uv``'s value."""
    out = {k: options.ecg_artifact_uv * v for k, v in LEAK_SCALE.items()}
    out.update({label: float(uv) for label, uv in options.ecg_leak_uv})
    return out


def r_peak_times(rng: np.random.Generator, duration: float, *, hr_bpm: float, resp_hz: float) -> np.ndarray:
    """R-peak times (s) over ``duration``: mean rate ``hr_bpm`` with slow drift, RSA and beat jitter."""
    rr0 = 60.0 / hr_bpm
    n = int(duration / rr0 * 1.3) + 10
    t_approx = np.arange(n) * rr0
    n_knots = int(duration / 120.0) + 3
    drift = np.interp(t_approx, np.arange(n_knots) * 120.0, rng.normal(0.0, 0.04, n_knots))
    rsa = 0.03 * np.sin(2 * np.pi * resp_hz * t_approx + rng.uniform(0, 2 * np.pi))
    jitter = rng.normal(0.0, 0.01, n)
    rr = rr0 * (1.0 + drift + rsa + jitter)
    rr = np.clip(rr, rr0 * 0.7, rr0 * 1.4)
    t = np.cumsum(rr) + rng.uniform(0.1, 0.6) * rr0
    return t[t < duration - 0.6]


def _template(fs: float, waves: tuple[str, ...], time_scale: float) -> tuple[np.ndarray, int]:
    """Template sampled at ``fs`` and the index of the R peak inside it."""
    lo = min(_WAVES[w][0] - 4 * _WAVES[w][2] for w in waves) * time_scale
    hi = max(_WAVES[w][0] + 4 * _WAVES[w][2] for w in waves) * time_scale
    i0 = int(np.floor(lo * fs))
    t = np.arange(i0, int(np.ceil(hi * fs)) + 1) / fs
    y = np.zeros(t.size)
    for w in waves:
        off, amp, sd = _WAVES[w]
        # QRS width does not scale with heart rate; P/T timing does
        s = time_scale if w in ("P", "T") else 1.0
        y += amp * np.exp(-0.5 * ((t - off * s) / (sd * (s if w in ("P", "T") else 1.0))) ** 2)
    return y, -i0


def ecg_signal(
    r_times: np.ndarray, n: int, fs: float, *, r_uv: float, beat_gain: np.ndarray, time_scale: float = 1.0
) -> np.ndarray:
    """P-QRS-T waveform (R peak ``r_uv`` µV) at every R peak, sampled at ``fs`` (n samples)."""
    tpl, r_idx = _template(fs, tuple(_WAVES), time_scale)
    x = np.zeros(n)
    add_at(x, np.round(r_times * fs).astype(np.int64) - r_idx, tpl, r_uv * beat_gain)
    return x


def add_qrs_leak(x: np.ndarray, r_times: np.ndarray, fs: float, *, peak_uv: float, beat_gain: np.ndarray) -> None:
    """Add a QRS-like spike of ``peak_uv`` (signed) at every R peak to ``x`` (rate ``fs``): the ECG artefact in EMG."""
    if peak_uv == 0:
        return
    tpl, r_idx = _template(fs, _QRS, 1.0)
    add_at(x, np.round(r_times * fs).astype(np.int64) - r_idx, tpl, peak_uv * beat_gain)


def heart(
    rng: np.random.Generator, duration: float, *, hr_range: tuple[float, float], resp_hz: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """R peaks, per-beat amplitude gain (breathing modulation), and the mean heart rate (bpm, drawn from ``hr_range``)."""
    hr = float(uniform(rng, hr_range))
    r = r_peak_times(rng, duration, hr_bpm=hr, resp_hz=resp_hz)
    gain = 1.0 + 0.05 * np.sin(2 * np.pi * resp_hz * r) + rng.normal(0, 0.02, r.size)
    return r, gain, hr
