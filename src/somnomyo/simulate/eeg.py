"""EEG and EOG: 1/f background with stage-dependent rhythms, spindles, arousals, eye movements.

Plausible, not physiological models: alpha (8-12 Hz) in W and arousals, theta in
N1/REM, delta in N2/N3 (N3 dominant), 11-15 Hz spindles in N2/N3; EOG with
blinks in W, slow eye movements in N1 and rapid eye movements in REM (AASM
staging features). Cortical premyoclonic transients (JLBA, Shibasaki 1992) are
added where designed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import signal as sps

from somnomyo.simulate.options import SimOptions
from somnomyo.simulate.synth import EPOCH_S, add_at, bandlimited_noise, epoch_curve, lowrate_noise, times, uniform

# relative amplitude of each rhythm per stage
_RHYTHMS = {
    "alpha": ((8.0, 12.0), {"W": 1.0, "N1": 0.3, "N2": 0.15, "N3": 0.1, "R": 0.25}),
    "theta": ((4.0, 7.0), {"W": 0.2, "N1": 0.6, "N2": 0.4, "N3": 0.3, "R": 0.6}),
    "delta": ((0.5, 2.0), {"W": 0.1, "N1": 0.25, "N2": 0.7, "N3": 1.8, "R": 0.2}),
}
# Kellet's pinking filter (approximate 1/f power spectrum)
_PINK_B = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
_PINK_A = [1.0, -2.494956002, 2.017265875, -0.522189400]
EEG_LABELS = ("EEG C3-M2", "EEG C4-M1")
SRC_FS = 128.0  # rate at which slow rhythms are generated
EOG_LABELS = ("EOG E1-M2", "EOG E2-M1")


_PINK_SOS = sps.tf2sos(_PINK_B, _PINK_A)
_PINK_RMS = float(np.sqrt(np.sum(sps.sosfilt(_PINK_SOS, np.r_[1.0, np.zeros(1 << 16)]) ** 2)))


def _pink(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-RMS approximately 1/f noise."""
    x = sps.sosfilt(_PINK_SOS, rng.standard_normal(n, dtype=np.float32))
    x *= 1.0 / _PINK_RMS
    return x


def _stage_gain(stages: np.ndarray, table: dict[str, float]) -> np.ndarray:
    return np.array([table.get(str(s), 0.0) for s in stages])


def eeg_channels(
    rng: np.random.Generator,
    n: int,
    fs: float,
    stages: np.ndarray,
    options: SimOptions,
    arousals: list[dict[str, Any]],
    jerks: list[dict[str, Any]],
) -> dict[str, np.ndarray]:
    """Both central EEG derivations; rhythms are shared sources mixed with channel-specific 1/f noise."""
    amp = options.eeg_uv
    # rhythms are made at a low rate (shared by both channels) and interpolated once per channel
    src_fs = min(SRC_FS, fs)
    m = int(np.ceil(n * src_fs / fs)) + 2
    rhythm = np.zeros(m)
    for name, (band, table) in _RHYTHMS.items():
        g = epoch_curve(_stage_gain(stages, table), m, src_fs, ramp_s=5.0)
        if name == "alpha":  # arousals: abrupt shift to alpha/faster frequencies (AASM arousal rule)
            for a in arousals:
                i0, i1 = int(a["onset"] * src_fs), int((a["onset"] + a["duration"]) * src_fs)
                g[i0:i1] = np.maximum(g[i0:i1], 1.0)
        rhythm += g * bandlimited_noise(rng, m, src_fs, *band)
    rhythm *= 0.6 * amp
    t_src = np.arange(m) / src_fs
    # spindles in N2/N3 (also made at the low rate)
    sp = np.zeros(m)
    nrem = np.flatnonzero(np.isin(stages, ("N2", "N3")))
    if options.spindles_per_min > 0 and nrem.size:
        k = int(nrem.size * EPOCH_S / 60.0 * options.spindles_per_min)
        ep = nrem[rng.integers(0, nrem.size, k)]
        t = ep * EPOCH_S + rng.uniform(0, EPOCH_S - 2.0, k)
        for ti, d, f, a in zip(
            t, uniform(rng, (0.5, 2.0), k), uniform(rng, (11.0, 15.0), k), uniform(rng, (0.5, 1.0), k)
        ):
            ms = int(d * src_fs)
            i0 = int(ti * src_fs)
            seg = a * amp * np.hanning(ms) * np.sin(2 * np.pi * f * np.arange(ms) / src_fs)
            sp[i0 : i0 + ms] += seg[: max(0, min(ms, m - i0))]
    out = {}
    for j, label in enumerate(EEG_LABELS):
        x = np.interp(times(n, fs), t_src, (1.0 - 0.1 * j) * rhythm + (0.9 + 0.1 * j) * sp)
        x += 0.6 * amp * _pink(rng, n)
        out[label] = x
    # cortical premyoclonic transients: biphasic, positive peak at the designed time
    half = int(0.06 * fs)
    tt = np.arange(-half, half + 1) / fs
    tpl = np.exp(-0.5 * (tt / 0.006) ** 2) - 0.6 * np.exp(-0.5 * ((tt - 0.016) / 0.008) ** 2)
    tpl /= np.max(np.abs(tpl))
    for label in EEG_LABELS:
        peaks = [j["eeg_peak"] for j in jerks if j.get("cortical") and label in j["eeg_channels"]]
        amps = [j["eeg_uv"] for j in jerks if j.get("cortical") and label in j["eeg_channels"]]
        add_at(out[label], np.round(np.asarray(peaks) * fs).astype(np.int64) - half, tpl, np.asarray(amps))
    return out


def eog_channels(
    rng: np.random.Generator, n: int, fs: float, stages: np.ndarray, options: SimOptions
) -> dict[str, np.ndarray]:
    """E1/E2: eye movements opposite in sign on the two sides, blinks the same, plus frontal EEG leak."""
    src_fs = min(64.0, fs)
    m = int(np.ceil(n * src_fs / fs)) + 2
    t_src = np.arange(m) / src_fs
    ep = np.minimum((t_src // EPOCH_S).astype(np.int64), stages.size - 1)
    is_r, is_n1, is_w = ((stages == s)[ep] for s in ("R", "N1", "W"))
    # rapid eye movements (REM): impulses integrated with an AC-coupling decay -> saccade steps
    imp = (is_r & (rng.uniform(size=m) < 0.6 / src_fs)) * rng.choice([-1.0, 1.0], m) * rng.uniform(40.0, 150.0, m)
    decay = np.exp(-1.0 / (1.0 * src_fs))
    horiz = sps.lfilter([1.0], [1.0, -decay], imp)
    horiz = np.convolve(horiz, np.ones(3) / 3, mode="same")
    # slow eye movements (N1, drowsy W)
    sem_gain = np.where(is_n1, 60.0, np.where(is_w, 15.0, 0.0))
    horiz += sem_gain * lowrate_noise(rng, m, src_fs, 0.1, 0.5, src_fs=4.0)
    # blinks (W): same sign on both channels
    blink_imp = (is_w & (rng.uniform(size=m) < 0.25 / src_fs)) * rng.uniform(80.0, 200.0, m)
    k = np.exp(-0.5 * (np.arange(-int(0.2 * src_fs), int(0.2 * src_fs) + 1) / (0.06 * src_fs)) ** 2)
    blink = np.convolve(blink_imp, k, mode="same")
    frontal = 0.3 * options.eeg_uv * bandlimited_noise(rng, m, src_fs, 0.5, 7.0)
    t = times(n, fs)
    return {
        EOG_LABELS[0]: np.interp(t, t_src, horiz + blink + frontal) + 3.0 * rng.standard_normal(n, dtype=np.float32),
        EOG_LABELS[1]: np.interp(t, t_src, -horiz + blink + frontal) + 3.0 * rng.standard_normal(n, dtype=np.float32),
    }
