"""Hann and Tukey windows with numpy, the same values as ``scipy.signal.windows.hann`` and
``scipy.signal.windows.tukey`` (same formulas, same operation order), without importing
``scipy.signal`` (its import costs ~0.55 s; see :mod:`somnomyo.signal.iir`)."""

from __future__ import annotations

import math

import numpy as np


def _check_length(m: int) -> None:
    if int(m) != m or m < 0:
        raise ValueError(f"window length must be a non-negative integer; got {m!r}")


def hann(m: int, *, sym: bool = True) -> np.ndarray:
    """Hann window of ``m`` samples (float64); ``sym=False``: the periodic (DFT-even) window for
    spectral analysis, i.e. the first ``m`` samples of the symmetric window of ``m + 1``."""
    _check_length(m)
    if m <= 1:
        return np.ones(int(m))
    n = int(m) + (0 if sym else 1)
    fac = np.linspace(-np.pi, np.pi, n)
    w = np.zeros(n)
    w += 0.5 * np.cos(0 * fac)
    w += 0.5 * np.cos(fac)
    return w if sym else w[:-1]


def tukey(m: int, alpha: float = 0.5, *, sym: bool = True) -> np.ndarray:
    """Tukey (tapered cosine) window of ``m`` samples (float64): flat in the middle, a half
    cosine over ``alpha / 2`` of the length at each end (``alpha`` <= 0: rectangular; >= 1: Hann)."""
    _check_length(m)
    if m <= 1 or alpha <= 0:
        return np.ones(int(m))
    if alpha >= 1.0:
        return hann(m, sym=sym)
    big = int(m) + (0 if sym else 1)
    n = np.arange(0, big, dtype=np.float64)
    width = int(math.floor(alpha * (big - 1) / 2.0))
    n1 = n[0 : width + 1]
    n2 = n[width + 1 : big - width - 1]
    n3 = n[big - width - 1 :]
    w1 = 0.5 * (1 + np.cos(np.pi * (-1 + 2.0 * n1 / alpha / (big - 1))))
    w2 = np.ones(n2.shape)
    w3 = 0.5 * (1 + np.cos(np.pi * (-2.0 / alpha + 1 + 2.0 * n3 / alpha / (big - 1))))
    w = np.concatenate((w1, w2, w3))
    return w if sym else w[:-1]
