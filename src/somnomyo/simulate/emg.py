"""EMG channels: stage-dependent background, designed bursts, silent periods, ECG leak, hum, drift.

Background: band-limited noise (10 Hz to 0.45 fs) calibrated to an RMS inside the
AASM 10-100 Hz EMG band (settings), times a per-epoch level
``sqrt(floor^2 + tonic(stage)^2)``: resting tibialis ~1-3 µV in sleep, higher in
wake; chin tonic in W/NREM, atonic in REM; arm tonic mainly in wake. Silent
periods (negative myoclonus) drop the level to the noise floor.

Bursts: slices of a calibrated band-limited carrier (20-150 Hz) times an envelope
that rises in ``rise`` s and falls in ``fall`` s (LMs: plateau modulated between
0.85 and 1, so the conditioned, rectified burst stays well above +8 µV from the
truth onset to the truth offset — WASM 2016/AASM LM onset rule).

With ``emg_texture="biosppy"`` the background and the burst carrier are noise with
the spectrum and amplitude distribution fitted to real surface EMG
(:mod:`somnomyo.simulate.texture`) instead of band-limited Gaussian noise; levels
and burst amplitudes are calibrated the same way. The legs' resting activity takes the
resting texture; the tonic activity of chin and arms (a sustained contraction) takes
the activation texture, over the floor with the resting texture. With ``baseline_fluctuation``
the background level varies slowly (log-normal, mean power kept) in
``baseline_fluctuation_stages``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from somnomyo.simulate.options import SimOptions
from somnomyo.simulate.schedule import Burst
from somnomyo.simulate.synth import BurstBank, bandlimited_noise, emg_band, epoch_curve, raised_envelope
from somnomyo.simulate.texture import modulation, shipped_model, texture_noise

ROLE = {"EMG Chin": "chin", "Leg L": "leg", "Leg R": "leg", "Arm L": "arm", "Arm R": "arm"}
TONIC_ROLES = ("chin", "arm")  # texture mode: their background is tonic contraction (activation texture)


def tonic_levels(options: SimOptions) -> dict[str, dict[str, float]]:
    """Tonic/resting activity (µV RMS, 10-100 Hz) per EMG channel and stage."""
    o = options
    levels = {
        "chin": {
            "W": o.chin_tonic_wake_uv,
            "N1": o.chin_tonic_nrem_uv,
            "N2": o.chin_tonic_nrem_uv,
            "N3": o.chin_tonic_nrem_uv,
            "R": o.chin_tonic_rem_uv,
        },
        "leg": {"W": o.leg_rest_wake_uv, **{s: o.leg_rest_sleep_uv for s in ("N1", "N2", "N3", "R")}},
        "arm": {"W": o.arm_tonic_wake_uv, **{s: o.arm_tonic_sleep_uv for s in ("N1", "N2", "N3", "R")}},
    }
    return {ch: levels[role] for ch, role in ROLE.items()}


def _envelope(rng: np.random.Generator, b: Burst, n: int, fs: float) -> np.ndarray:
    env = (
        raised_envelope(n, fs, b.rise, b.fall)
        if b.mode == "rms"
        else raised_envelope(n, fs, 0.3 * n / fs, 0.7 * n / fs)
    )
    if b.mode == "rms" and n / fs > 0.5:
        k = int(n / fs / 0.25) + 2
        mod = np.interp(np.arange(n) / fs, np.arange(k) * 0.25, rng.uniform(0.85, 1.0, k))
        env = env * mod
    return env


class TextureBank(BurstBank):
    """:class:`BurstBank` whose carrier has the burst texture of real surface EMG (``emg_texture``)."""

    def __init__(self, rng: np.random.Generator, fs: float, *, seconds: float = 64.0) -> None:
        self.fs = fs
        self.data = texture_noise(rng, int(seconds * fs), fs, shipped_model().burst, slow=False)
        self.rms = float(np.sqrt(np.mean(self.data**2)))


def fluctuation(rng: np.random.Generator, n: int, fs: float, stages: np.ndarray, options: SimOptions) -> np.ndarray:
    """Slow log-normal factor on the background level (mean square 1) inside ``baseline_fluctuation_stages``."""
    g = np.log(modulation(rng, n, fs, options.baseline_fluctuation, options.baseline_fluctuation_s))
    inside = np.isin(stages.astype(str), options.baseline_fluctuation_stages).astype(float)
    if not inside.all():
        g *= epoch_curve(inside, n, fs)
    return np.exp(g)


def _tonic_texture(
    rng: np.random.Generator,
    n: int,
    fs: float,
    tonic_uv: np.ndarray,
    floor_uv: float,
    silent: list[dict[str, Any]],
    fluct: np.ndarray | None,
) -> np.ndarray:
    """Texture mode, chin and arms: the floor with the resting texture plus tonic activity with the
    activation texture (a sustained contraction), silent periods dropping the tonic part."""
    model = shipped_model()
    x = texture_noise(rng, n, fs, model.rest) * floor_uv
    tonic = epoch_curve(tonic_uv, n, fs)
    for sp in silent:
        i0, i1 = int(round(sp["onset"] * fs)), int(round((sp["onset"] + sp["duration"]) * fs))
        tonic[i0:i1] = 0.0
    x += texture_noise(rng, n, fs, model.burst, slow=False) * tonic
    if fluct is not None:
        x *= fluct
    return x


def emg_channel(
    rng: np.random.Generator,
    label: str,
    n: int,
    fs: float,
    stages: np.ndarray,
    options: SimOptions,
    bursts: list[Burst],
    silent: list[dict[str, Any]],
    *,
    fluctuation_rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Background x stage level (with silent periods) plus every burst of this channel.

    ``fluctuation_rng`` draws the background-level variation (``baseline_fluctuation`` > 0).
    """
    tonic = tonic_levels(options)[label]
    tonic_uv = np.array([tonic.get(str(s), 0.0) for s in stages])
    real = options.emg_texture == "biosppy"
    fluct = None
    if options.baseline_fluctuation > 0:
        if fluctuation_rng is None:
            raise ValueError("baseline_fluctuation > 0 needs a fluctuation_rng")
        fluct = fluctuation(fluctuation_rng, n, fs, stages, options)
    if real and ROLE[label] in TONIC_ROLES:
        x = _tonic_texture(rng, n, fs, tonic_uv, options.emg_floor_uv, silent, fluct)
    else:
        level = np.sqrt(options.emg_floor_uv**2 + tonic_uv**2)
        if real:
            x = texture_noise(rng, n, fs, shipped_model().rest)
        else:
            x = bandlimited_noise(rng, n, fs, emg_band()[0], 0.45 * fs, calibrate=emg_band(), order=2, fast=True)
        gain = epoch_curve(level, n, fs)
        if fluct is not None:
            gain *= fluct
        for sp in silent:
            i0, i1 = int(round(sp["onset"] * fs)), int(round((sp["onset"] + sp["duration"]) * fs))
            gain[i0:i1] = options.emg_floor_uv
        x *= gain
        del gain
    bank = TextureBank(rng, fs) if real else BurstBank(rng, fs)
    for b in bursts:
        i0 = int(round(b.onset * fs))
        m = int(round(b.duration * fs))
        m = min(m, n - i0)
        if m <= 0 or i0 < 0:
            continue
        carrier = bank.take(rng, m)
        w = carrier * _envelope(rng, b, m, fs)
        if b.mode == "peak":
            w *= b.amplitude / max(float(np.max(np.abs(w))), 1e-12)
        else:  # exact RMS per burst: rescale the slice by its own RMS
            w *= b.amplitude / max(float(np.sqrt(np.mean(carrier**2))), 1e-12) * bank.rms
        x[i0 : i0 + m] += w
    return x
