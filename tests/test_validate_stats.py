"""Every agreement statistic of ``somnomyo validate`` against an independent computation on small
hand-made cases: published values (Shrout & Fleiss 1979 Table 2), the Python standard library,
numpy, scipy, scikit-learn and pingouin (the latter two skipped when not installed)."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from somnomyo.score.agreement import cohen_kappa
from somnomyo.validate.stats import bland_altman, category_agreement, correlations, icc_a1, median_iqr, prf

# Shrout & Fleiss 1979, Table 2: 6 targets rated by 4 judges; their Table 4 gives ICC(2,1) = .29
SF_TABLE_2 = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float)


def test_precision_recall_f1_from_counts():
    assert prf(tp=8, fp=2, fn=4) == {"precision": 0.8, "recall": 8 / 12, "f1": 16 / (16 + 2 + 4)}


def test_f1_is_undefined_not_zero_when_the_reference_has_no_events():
    assert prf(tp=0, fp=5, fn=0) == {"precision": None, "recall": None, "f1": None}


def test_precision_is_undefined_without_detections_but_recall_and_f1_are_zero():
    assert prf(tp=0, fp=0, fn=3) == {"precision": None, "recall": 0.0, "f1": 0.0}


def test_bland_altman_bias_and_limits_match_a_hand_computation():
    det, ref = [3.0, 5.0, 7.0, 9.0, 4.0], [1.0, 2.0, 3.0, 4.0, 4.0]
    d = [a - b for a, b in zip(det, ref)]
    sd = statistics.stdev(d)  # n - 1 denominator (Bland & Altman 1986)
    ba = bland_altman(det, ref)
    assert ba["n_nights"] == 5
    assert ba["bias"] == pytest.approx(statistics.fmean(d))
    assert ba["sd"] == pytest.approx(sd)
    assert ba["loa_low"] == pytest.approx(statistics.fmean(d) - 1.96 * sd)
    assert ba["loa_high"] == pytest.approx(statistics.fmean(d) + 1.96 * sd)


def test_bland_altman_skips_nights_without_both_values_and_needs_two_for_limits():
    ba = bland_altman([1.0, None, 3.0], [0.0, 2.0, float("nan")])
    assert (ba["n_nights"], ba["bias"], ba["sd"], ba["loa_low"]) == (1, 1.0, None, None)


def test_icc_2_1_reproduces_shrout_and_fleiss_table_4():
    out = icc_a1(SF_TABLE_2)
    assert round(out["icc"], 2) == 0.29
    assert out["icc_form"].startswith("ICC(2,1) absolute agreement")


def _anova_by_hand(x: np.ndarray) -> tuple[float, float, float]:
    """Mean squares written out cell by cell (Shrout & Fleiss 1979 Table 1 layout)."""
    n, k = x.shape
    g = sum(map(sum, x.tolist())) / (n * k)
    rows = [sum(r) / k for r in x.tolist()]
    cols = [sum(x[i, j] for i in range(n)) / n for j in range(k)]
    bms = k * sum((r - g) ** 2 for r in rows) / (n - 1)
    jms = n * sum((c - g) ** 2 for c in cols) / (k - 1)
    ems = sum((x[i, j] - rows[i] - cols[j] + g) ** 2 for i in range(n) for j in range(k)) / ((n - 1) * (k - 1))
    return bms, jms, ems


@pytest.mark.parametrize(
    "x",
    [
        SF_TABLE_2,
        np.array([[10.2, 11.0], [3.1, 2.0], [25.0, 22.5], [0.0, 1.2], [15.5, 16.1], [7.0, 9.5], [40.2, 35.0]]),
    ],
    ids=["shrout-fleiss-4-judges", "7-nights-2-scorers"],
)
def test_icc_confidence_interval_matches_the_shrout_fleiss_form_of_the_interval(x):
    """The McGraw & Wong (1996) interval, coded in its a/b form, equals Shrout & Fleiss's (1979)
    form of the same Satterthwaite interval, written out here independently."""
    from scipy.stats import f

    n, k = x.shape
    bms, jms, ems = _anova_by_hand(x)
    icc = (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n)
    fj = jms / ems
    v = (
        (k - 1)
        * (n - 1)
        * (k * icc * fj + n * (1 + (k - 1) * icc) - k * icc) ** 2
        / ((n - 1) * k**2 * icc**2 * fj**2 + (n * (1 + (k - 1) * icc) - k * icc) ** 2)
    )
    fs = f.ppf(0.975, n - 1, v)
    fs2 = f.ppf(0.975, v, n - 1)
    lo = n * (bms - fs * ems) / (fs * (k * jms + (k * n - k - n) * ems) + n * bms)
    hi = n * (fs2 * bms - ems) / (k * jms + (k * n - k - n) * ems + n * fs2 * bms)
    out = icc_a1(x)
    assert out["icc"] == pytest.approx(icc, rel=1e-12)
    assert out["icc_ci"] == pytest.approx([lo, hi], rel=1e-9)


@pytest.mark.parametrize(
    "x",
    [
        SF_TABLE_2,
        np.array([[10.2, 11.0], [3.1, 2.0], [25.0, 22.5], [0.0, 1.2], [15.5, 16.1], [7.0, 9.5], [40.2, 35.0]]),
    ],
    ids=["shrout-fleiss-4-judges", "7-nights-2-scorers"],
)
def test_icc_and_its_interval_match_pingouin(x):
    pg = pytest.importorskip("pingouin", reason="pingouin (dev extra) gives the independent ICC")
    n, k = x.shape
    long = pd.DataFrame([(i, j, x[i, j]) for i in range(n) for j in range(k)], columns=["night", "scorer", "value"])
    old = dict(pg.options)
    pg.options.update({"round": None, "round.column.CI95": None})  # full precision
    try:
        ref = pg.intraclass_corr(long, targets="night", raters="scorer", ratings="value").set_index("Type")
    finally:
        pg.options.clear()
        pg.options.update(old)
    out = icc_a1(x)
    assert out["icc"] == pytest.approx(float(ref.loc["ICC(A,1)", "ICC"]), rel=1e-9)
    assert out["icc_ci"] == pytest.approx(list(ref.loc["ICC(A,1)", "CI95"]), rel=1e-9)


def test_icc_is_undefined_with_one_night_or_no_variance():
    assert icc_a1(np.array([[1.0, 2.0]]))["icc"] is None
    assert icc_a1(np.array([[3.0, 3.0], [3.0, 3.0], [3.0, 3.0]]))["icc"] is None


def test_icc_of_perfect_agreement_is_one_without_an_interval():
    out = icc_a1(np.array([[1.0, 1.0], [5.0, 5.0], [9.0, 9.0]]))
    assert out["icc"] == 1.0 and out["icc_ci"] is None


def test_pearson_and_spearman_match_numpy_and_ranks():
    det = [1.0, 2.5, 2.0, 8.0, 4.0, 7.5]
    ref = [1.2, 2.0, 3.1, 7.0, 3.9, 9.0]
    out = correlations(det, ref)
    assert out["pearson_r"] == pytest.approx(np.corrcoef(det, ref)[0, 1])
    rd, rr = pd.Series(det).rank().to_numpy(), pd.Series(ref).rank().to_numpy()
    assert out["spearman_rho"] == pytest.approx(np.corrcoef(rd, rr)[0, 1])
    assert 0 < out["pearson_p"] < 0.05


def test_correlations_are_undefined_below_three_nights_or_for_a_constant_side():
    assert correlations([1.0, 2.0], [1.0, 2.0])["pearson_r"] is None
    assert correlations([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])["spearman_rho"] is None


def test_cohen_kappa_of_a_2x2_table_by_hand():
    # p_o = 35/50 = 0.7; p_e = (25*30 + 25*20)/50^2 = 0.5; kappa = 0.4
    assert cohen_kappa(np.array([[20, 5], [10, 15]])) == pytest.approx(0.4)


def test_plms_category_kappa_matches_scikit_learn():
    skm = pytest.importorskip("sklearn.metrics", reason="scikit-learn gives the independent kappa")
    det = [3.0, 20.0, 16.0, 14.9, 40.0, 5.0, 15.0, 2.0]
    ref = [4.0, 25.0, 12.0, 16.0, 38.0, 1.0, 15.0, 30.0]
    out = category_agreement(det, ref, threshold=15.0)
    expected = skm.cohen_kappa_score([v >= 15 for v in ref], [v >= 15 for v in det])
    assert out["kappa"] == pytest.approx(expected)
    assert out["n_nights"] == 8 and out["percent_agreement"] == pytest.approx(100 * 5 / 8)


def test_a_plms_index_of_exactly_15_per_h_is_in_the_upper_category():
    out = category_agreement([15.0, 1.0], [15.0, 1.0], threshold=15.0)
    assert out["table"]["reference_high_detected_high"] == 1 and out["kappa"] == pytest.approx(1.0)


def test_kappa_is_undefined_when_every_night_is_in_one_category_on_both_sides():
    assert category_agreement([1.0, 2.0, 3.0], [2.0, 1.0, 0.0], threshold=15.0)["kappa"] is None


def test_median_and_iqr_match_numpy_percentiles():
    med, iqr = median_iqr(np.array([0.1, -0.2, 0.4, 0.0, np.nan]))
    assert med == pytest.approx(0.05)
    assert iqr == pytest.approx(np.percentile([0.1, -0.2, 0.4, 0.0], 75) - np.percentile([0.1, -0.2, 0.4, 0.0], 25))
    assert median_iqr(np.array([])) == (None, None)
    assert math.isclose(median_iqr(np.array([1.0, 2.0, 3.0, 4.0]))[1], 1.5)
