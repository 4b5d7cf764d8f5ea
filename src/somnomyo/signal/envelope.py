"""Rectification and a short moving-average envelope of conditioned EMG."""
from __future__ import annotations

import numpy as np
from scipy import ndimage


def window_samples(window_s: float, fs: float) -> int:
    """Odd number of samples closest to ``window_s`` at ``fs`` (at least 1)."""
    n = max(1, int(round(window_s * fs)))
    return n if n % 2 else n + 1


def envelope(filtered: np.ndarray, fs: float, *, window_s: float) -> np.ndarray:
    """Rectified EMG smoothed by a centred (zero-phase) moving average of ``window_s``.

    ``window_s`` comes from ``ConditioningSettings.envelope_window_s`` (~50 ms). Same units
    as the input (µV); float32.
    """
    x = np.abs(np.asarray(filtered, dtype=np.float32))
    return ndimage.uniform_filter1d(x, size=window_samples(window_s, fs), mode="nearest")
