"""Agreement statistics, each with its formula and source. ``None`` means undefined, never 0.

* :func:`prf` - precision TP/(TP+FP), recall (sensitivity) TP/(TP+FN), F1 = 2TP/(2TP+FP+FN)
  (van Rijsbergen 1979). All three are undefined (None) when the reference holds no event of
  the kind: agreement cannot be measured against nothing.
* :func:`bland_altman` - bias = mean of d = detected - reference; 95 % limits of agreement
  bias +/- 1.96 SD(d) (SD with n - 1) (Bland & Altman, Lancet 1986;327:307-310).
* :func:`icc_a1` - ICC(2,1) of Shrout & Fleiss (Psychol Bull 1979;86:420-428), = ICC(A,1),
  two-way random effects, absolute agreement, single rater, of McGraw & Wong (Psychol Methods
  1996;1:30-46): ``(MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n)`` from the two-way
  ANOVA without replication (MSR rows = nights, MSC columns = scorers, MSE residual); its
  confidence interval is McGraw & Wong's (Table 7, case 2A) with Satterthwaite's degrees of
  freedom.
* :func:`correlations` - Pearson's r and Spearman's rho with their two-sided p values
  (:func:`scipy.stats.pearsonr`, :func:`scipy.stats.spearmanr`).
* :func:`category_agreement` - Cohen's kappa (Educ Psychol Meas 1960;20:37-46) of a
  dichotomy (e.g. PLMS index < 15 vs >= 15 /h, the ICSD-3 adult PLMD criterion), computed by
  :func:`somnomyo.score.agreement.cohen_kappa` (the same code as the staging agreement).
* :func:`median_iqr` - median and interquartile range (75th minus 25th percentile, linear
  interpolation) of the onset/offset differences of matched events.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["prf", "bland_altman", "icc_a1", "correlations", "category_agreement", "median_iqr", "ICC_FORM"]

#: the form of the ICC reported (Shrout & Fleiss 1979 name, McGraw & Wong 1996 name)
ICC_FORM = "ICC(2,1) absolute agreement, two-way random, single rater (McGraw & Wong ICC(A,1))"


def _num(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def prf(*, tp: int, fp: int, fn: int) -> dict[str, float | None]:
    """Precision, recall and F1; all None when there is no reference event (tp + fn == 0), and
    precision also when there is no detection (tp + fp == 0)."""
    n_ref, n_det = tp + fn, tp + fp
    if n_ref == 0:
        return {"precision": None, "recall": None, "f1": None}
    return {"precision": tp / n_det if n_det else None, "recall": tp / n_ref, "f1": 2.0 * tp / (2 * tp + fp + fn)}


def _pairs(detected: Sequence[float | None], reference: Sequence[float | None]) -> tuple[np.ndarray, np.ndarray]:
    """The nights where both values are known (None/NaN dropped)."""
    a = np.array([np.nan if v is None else float(v) for v in detected], dtype=float)
    b = np.array([np.nan if v is None else float(v) for v in reference], dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"detected and reference differ in length ({a.size} vs {b.size})")
    ok = np.isfinite(a) & np.isfinite(b)
    return a[ok], b[ok]


def bland_altman(
    detected: Sequence[float | None], reference: Sequence[float | None], *, z: float = 1.96
) -> dict[str, float | int | None]:
    """Bias (mean detected - reference), SD of the differences and the limits of agreement
    bias +/- z SD (Bland & Altman 1986). ``sd`` and the limits need >= 2 nights."""
    a, b = _pairs(detected, reference)
    d = a - b
    n = int(d.size)
    bias = float(d.mean()) if n else None
    sd = float(d.std(ddof=1)) if n >= 2 else None
    return {
        "n_nights": n,
        "bias": bias,
        "sd": sd,
        "loa_low": None if sd is None or bias is None else bias - z * sd,
        "loa_high": None if sd is None or bias is None else bias + z * sd,
    }


def _anova2(x: np.ndarray) -> tuple[float, float, float]:
    """Mean squares (rows, columns, residual) of a two-way ANOVA without replication."""
    n, k = x.shape
    grand = x.mean()
    ss_r = k * float(((x.mean(axis=1) - grand) ** 2).sum())
    ss_c = n * float(((x.mean(axis=0) - grand) ** 2).sum())
    ss_e = float(((x - grand) ** 2).sum()) - ss_r - ss_c
    return ss_r / (n - 1), ss_c / (k - 1), ss_e / ((n - 1) * (k - 1))


def icc_a1(ratings: np.ndarray, *, ci_level: float = 0.95) -> dict[str, Any]:
    """ICC(2,1) = ICC(A,1) of an ``n x k`` matrix (rows: nights, columns: scorers) with its CI.

    McGraw & Wong 1996, case 2A: with ``p = icc``, ``a = k p / (n (1 - p))``,
    ``b = 1 + k p (n - 1) / (n (1 - p))``,
    ``v = (a MSC + b MSE)^2 / ((a MSC)^2 / (k - 1) + (b MSE)^2 / ((n - 1)(k - 1)))``,
    ``F_L = F(1 - alpha/2; n - 1, v)``, ``F_U = F(1 - alpha/2; v, n - 1)``:
    ``lower = n (MSR - F_L MSE) / (F_L (k MSC + (k n - k - n) MSE) + n MSR)``,
    ``upper = n (F_U MSR - MSE) / (k MSC + (k n - k - n) MSE + n F_U MSR)``.
    Rows with a missing value are dropped. ``icc`` is None with fewer than 2 complete rows or
    no variance at all; the CI is None when it cannot be formed (``icc`` of 1, fewer than 3 rows).
    """
    from scipy.stats import f as f_dist

    x = np.asarray(ratings, dtype=float)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"ratings must be an n x k matrix with k >= 2 scorers; got shape {x.shape}")
    x = x[np.isfinite(x).all(axis=1)]
    n, k = x.shape
    out: dict[str, Any] = {"icc": None, "icc_ci": None, "icc_form": ICC_FORM, "n_nights": int(n)}
    if n < 2:
        return out
    msr, msc, mse = _anova2(x)
    denom = msr + (k - 1) * mse + k * (msc - mse) / n
    if not denom > 0:
        return out
    p = (msr - mse) / denom
    out["icc"] = float(p)
    if n < 3 or not p < 1.0 or mse <= 0:
        return out
    alpha = 1.0 - ci_level
    a = k * p / (n * (1.0 - p))
    b = 1.0 + k * p * (n - 1) / (n * (1.0 - p))
    v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / ((n - 1) * (k - 1)))
    fl = float(f_dist.ppf(1.0 - alpha / 2.0, n - 1, v))
    fu = float(f_dist.ppf(1.0 - alpha / 2.0, v, n - 1))
    c = k * msc + (k * n - k - n) * mse
    lo = n * (msr - fl * mse) / (fl * c + n * msr)
    hi = n * (fu * msr - mse) / (c + n * fu * msr)
    if math.isfinite(lo) and math.isfinite(hi):
        out["icc_ci"] = [float(lo), float(hi)]
    return out


def correlations(detected: Sequence[float | None], reference: Sequence[float | None]) -> dict[str, float | None]:
    """Pearson's r and Spearman's rho with two-sided p values; None with < 3 nights or a constant side."""
    from scipy.stats import pearsonr, spearmanr

    a, b = _pairs(detected, reference)
    out: dict[str, float | None] = {"pearson_r": None, "pearson_p": None, "spearman_rho": None, "spearman_p": None}
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return out
    r = pearsonr(a, b)
    s = spearmanr(a, b)
    out.update(
        pearson_r=_num(r.statistic), pearson_p=_num(r.pvalue), spearman_rho=_num(s.statistic), spearman_p=_num(s.pvalue)
    )
    return out


def category_agreement(
    detected: Sequence[float | None], reference: Sequence[float | None], *, threshold: float
) -> dict[str, Any]:
    """Agreement on the category ``value >= threshold`` (e.g. PLMS index >= 15 /h): a 2 x 2
    table, percent agreement and Cohen's kappa (None when undefined: no night, or chance
    agreement 1 because both sides put every night in one and the same category)."""
    from somnomyo.score.agreement import cohen_kappa

    a, b = _pairs(detected, reference)
    ha, hb = a >= threshold, b >= threshold
    conf = np.array(
        [[int((~hb & ~ha).sum()), int((~hb & ha).sum())], [int((hb & ~ha).sum()), int((hb & ha).sum())]], dtype=np.int64
    )
    n = int(conf.sum())
    return {
        "threshold": float(threshold),
        "n_nights": n,
        "table": {
            "reference_low_detected_low": int(conf[0, 0]),
            "reference_low_detected_high": int(conf[0, 1]),
            "reference_high_detected_low": int(conf[1, 0]),
            "reference_high_detected_high": int(conf[1, 1]),
        },
        "percent_agreement": (100.0 * float(np.trace(conf)) / n) if n else None,
        "kappa": cohen_kappa(conf),
    }


def median_iqr(values: np.ndarray) -> tuple[float | None, float | None]:
    """Median and IQR (75th - 25th percentile, linear interpolation); None without values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None, None
    q25, q50, q75 = np.percentile(v, [25.0, 50.0, 75.0])
    return float(q50), float(q75 - q25)
