"""Candidate LMs: bilateral combination and the CLM definition (WASM 2016; AASM rule B.4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from somnomyo.errors import SomnomyoError
from somnomyo.io.annotations import Hypnogram
from somnomyo.score.clm import combine_lms, normalize_lms
from somnomyo.score.plm import score_plm
from somnomyo.settings import get_settings

WASM = get_settings("wasm2016")
AASM = get_settings("aasm")


def lms(*rows: tuple[float, float, str]) -> pd.DataFrame:
    """Monolateral LM table from (onset, duration, side) rows."""
    return pd.DataFrame(
        {
            "onset": [r[0] for r in rows],
            "duration": [r[1] for r in rows],
            "channel": [{"left": "LAT", "right": "RAT", "both": "Legs"}[r[2]] for r in rows],
            "side": [r[2] for r in rows],
            "amplitude_uv": np.arange(len(rows), dtype=float) + 10.0,
        }
    )


def sleep(duration_s: float = 3600.0) -> Hypnogram:
    return Hypnogram(np.full(int(np.ceil(duration_s / 30)), "N2"))


def score(table: pd.DataFrame, settings=WASM, duration_s: float = 3600.0, **kw):
    return score_plm(table, duration_s=duration_s, hypnogram=sleep(duration_s), settings=settings, **kw)


# --- WASM 2016 bilateral combination -----------------------------------------------------------


@pytest.mark.parametrize("gap, merged", [(0.49, True), (0.51, False)])
def test_wasm2016_bilateral_lms_merge_when_closer_than_0_5_s(gap, merged):
    _, cands = combine_lms(lms((10.0, 2.0, "left"), (12.0 + gap, 1.0, "right")), settings=WASM.clm)
    if merged:
        assert len(cands) == 1
        row = cands.iloc[0]
        assert row["side"] == "bilateral" and row["n_lms"] == 2 and row["is_clm"]
        assert row["onset"] == 10.0 and row["duration"] == pytest.approx(3.0 + gap)
        assert row["channel"] == "LAT,RAT"
    else:
        assert len(cands) == 2
        assert list(cands["side"]) == ["left", "right"] and list(cands["n_lms"]) == [1, 1]


def test_wasm2016_overlapping_bilateral_lms_merge():
    _, cands = combine_lms(lms((10.0, 3.0, "left"), (11.0, 4.0, "right")), settings=WASM.clm)
    assert len(cands) == 1
    assert cands.loc[0, "duration"] == pytest.approx(5.0) and cands.loc[0, "n_lms"] == 2


def test_wasm2016_lm_close_to_the_combined_movement_joins_it():
    # L [0,3] + R [2,6] combine; a second left LM 0.3 s after the combined end joins (chain).
    table = lms((0.0, 3.0, "left"), (2.0, 4.0, "right"), (6.3, 1.0, "left"), (7.9, 1.0, "right"))
    out, cands = combine_lms(table, settings=WASM.clm)
    assert len(cands) == 2  # the last one is 0.6 s after 7.3: separate
    assert cands.loc[0, "n_lms"] == 3 and cands.loc[0, "duration"] == pytest.approx(7.3)
    assert list(out["candidate"]) == [1, 1, 1, 2]


def test_wasm2016_lms_on_the_same_leg_closer_than_0_5_s_are_not_combined():
    _, cands = combine_lms(lms((0.0, 1.0, "left"), (1.3, 1.0, "left")), settings=WASM.clm)
    assert list(cands["n_lms"]) == [1, 1] and cands["is_clm"].all()


def _periodic_run_with_bilateral(duration_of_bilateral: float):
    # monolateral CLMs every 20 s, a bilateral LM at 180 s, then 3 more CLMs
    rows = [(t, 1.0, "left") for t in (100, 120, 140, 160)]
    rows += [(180.0, 8.0, "left"), (187.9, duration_of_bilateral - 7.9, "right")]
    rows += [(t, 1.0, "left") for t in (200, 220, 240)]
    return score(lms(*rows))


def test_wasm2016_bilateral_clm_longer_than_15_s_is_not_a_clm_and_breaks_series():
    ok = _periodic_run_with_bilateral(14.9)
    bil = ok.clms[ok.clms["n_lms"] == 2].iloc[0]
    assert bil["is_clm"] and bil["duration"] == pytest.approx(14.9)
    assert ok.clms["periodic"].all() and ok.clms["series_id"].nunique() == 1
    assert ok.summary()["plms_count"] == 8

    long = _periodic_run_with_bilateral(15.1)
    bil = long.clms[long.clms["n_lms"] == 2].iloc[0]
    assert not bil["is_clm"] and bil["reason_not_clm"] == "bilateral_too_long"
    assert bil["counted"]  # still an LM
    after = long.clms[long.clms["onset"] >= 200]
    before = long.clms[long.clms["onset"] < 180]
    assert before["periodic"].all() and not after["periodic"].any()
    s = long.summary()
    assert s["plms_count"] == 4 and s["plm_series_count"] == 1
    assert s["lm_count"] == 8 and s["clm_count"] == 7


@pytest.mark.parametrize("n, is_clm", [(4, True), (5, False)])
def test_wasm2016_bilateral_of_5_lms_is_not_a_clm(n, is_clm):
    sides = ["left", "right"] * 3
    table = lms(*[(0.95 * i, 1.0, sides[i]) for i in range(n)])
    _, cands = combine_lms(table, settings=WASM.clm)
    assert len(cands) == 1 and cands.loc[0, "n_lms"] == n
    assert bool(cands.loc[0, "is_clm"]) is is_clm
    if not is_clm:
        assert cands.loc[0, "reason_not_clm"] == "too_many_lms"


@pytest.mark.parametrize("duration, is_clm", [(10.0, True), (10.1, False)])
def test_wasm2016_monolateral_lm_longer_than_10_s_is_not_a_clm(duration, is_clm):
    _, cands = combine_lms(lms((0.0, duration, "right")), settings=WASM.clm)
    assert bool(cands.loc[0, "is_clm"]) is is_clm
    assert cands.loc[0, "counted"]
    if not is_clm:
        assert cands.loc[0, "reason_not_clm"] == "monolateral_too_long"


@pytest.mark.parametrize("duration, is_clm", [(9.9, True), (10.2, False)])
def test_wasm2016_bilateral_containing_a_monolateral_lm_longer_than_10_s_is_not_a_clm(duration, is_clm):
    _, cands = combine_lms(lms((0.0, duration, "left"), (5.0, 1.0, "right")), settings=WASM.clm)
    assert len(cands) == 1 and cands.loc[0, "duration"] < 15.0
    assert bool(cands.loc[0, "is_clm"]) is is_clm
    if not is_clm:
        assert cands.loc[0, "reason_not_clm"] == "contains_long_lm"


def test_wasm2016_monolateral_lm_over_10_s_breaks_series_unless_disabled():
    rows = [(t, 1.0, "left") for t in (0, 20, 40, 60, 100, 120, 140)] + [(75.0, 12.0, "right")]
    broken = score(lms(*rows))
    assert broken.summary()["plms_count"] == 4  # 0-60 only; 100-140 is 3 CLMs
    kept = score(lms(*rows), settings=WASM.with_overrides(plm={"non_clm_breaks_series": False}))
    assert kept.summary()["plms_count"] == 7


@pytest.mark.parametrize("duration, counted", [(0.49, False), (0.5, True)])
def test_lm_shorter_than_0_5_s_is_not_an_lm(duration, counted):
    _, cands = combine_lms(lms((0.0, duration, "left")), settings=WASM.clm)
    assert bool(cands.loc[0, "counted"]) is counted and bool(cands.loc[0, "is_clm"]) is counted
    if not counted:
        assert cands.loc[0, "reason_not_clm"] == "too_short"


# --- AASM ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("onset_gap, n_candidates", [(4.9, 1), (5.1, 2)])
def test_aasm_bilateral_onsets_within_5_s_count_as_one(onset_gap, n_candidates):
    _, cands = combine_lms(lms((10.0, 1.0, "left"), (10.0 + onset_gap, 1.0, "right")), settings=AASM.clm)
    assert len(cands) == n_candidates and cands["is_clm"].all()
    if n_candidates == 1:
        assert cands.loc[0, "side"] == "bilateral"
        assert cands.loc[0, "duration"] == pytest.approx(onset_gap + 1.0)


def test_aasm_has_no_15_s_or_4_lm_limit_for_bilateral_lms():
    sides = ["left", "right"] * 4
    table = lms(*[(2.0 * i, 9.0, sides[i]) for i in range(6)])  # 6 LMs, 19 s in all
    _, cands = combine_lms(table, settings=AASM.clm)
    assert len(cands) == 1 and cands.loc[0, "n_lms"] == 6 and cands.loc[0, "is_clm"]
    _, wasm = combine_lms(table, settings=WASM.clm)
    assert not wasm.loc[0, "is_clm"]


def test_aasm_event_longer_than_10_s_is_not_an_lm_and_does_not_combine():
    _, cands = combine_lms(lms((0.0, 10.5, "left"), (2.0, 1.0, "right")), settings=AASM.clm)
    assert len(cands) == 2
    long = cands[cands["side"] == "left"].iloc[0]
    assert not long["counted"] and long["reason_not_clm"] == "monolateral_too_long"
    assert cands[cands["side"] == "right"].iloc[0]["is_clm"]


# --- table handling ------------------------------------------------------------------------------


def test_lm_from_a_both_legs_channel_is_one_movement_and_combines_with_leg_channels():
    _, cands = combine_lms(lms((0.0, 2.0, "both")), settings=WASM.clm)
    assert cands.loc[0, "side"] == "bilateral" and cands.loc[0, "n_lms"] == 1 and cands.loc[0, "is_clm"]
    _, cands = combine_lms(lms((0.0, 11.0, "both")), settings=WASM.clm)
    assert cands.loc[0, "reason_not_clm"] == "monolateral_too_long"  # treated as one movement


def test_events_have_one_row_per_monolateral_lm_sharing_the_clm_id():
    res = score(lms((10.0, 2.0, "left"), (11.0, 2.0, "right"), (40.0, 1.0, "left"), (60.0, 12.0, "left")))
    ev = res.events
    assert len(ev) == 4 and (ev["trial_type"] == "leg_movement").all()
    assert list(ev["channel"]) == ["LAT", "RAT", "LAT", "LAT"]
    assert ev.loc[0, "clm_id"] == ev.loc[1, "clm_id"] and ev.loc[2, "clm_id"] != ev.loc[0, "clm_id"]
    assert pd.isna(ev.loc[3, "clm_id"]) and not ev.loc[3, "is_clm"]
    assert list(ev["bilateral"]) == [True, True, False, False]
    assert list(ev["amplitude_uv"]) == [10.0, 11.0, 12.0, 13.0]
    assert list(ev["stage"]) == ["N2"] * 4
    assert res.to_dataframe() is res.events


def test_input_in_any_order_gives_the_same_candidates():
    table = lms((10.0, 2.0, "left"), (12.3, 1.0, "right"), (40.0, 1.0, "left"))
    _, a = combine_lms(table, settings=WASM.clm)
    _, b = combine_lms(table.iloc[::-1], settings=WASM.clm)
    pd.testing.assert_frame_equal(a, b)


def test_missing_column_is_a_one_line_error_naming_the_table():
    with pytest.raises(SomnomyoError, match="leg-movement table: missing column.*side") as err:
        normalize_lms(pd.DataFrame({"onset": [1.0], "duration": [1.0]}))
    assert "\n" not in str(err.value)


def test_unknown_side_error_lists_the_allowed_values():
    with pytest.raises(SomnomyoError, match="left, right, both"):
        normalize_lms(pd.DataFrame({"onset": [1.0], "duration": [1.0], "side": ["middle"]}))


def test_unknown_bilateral_rule_error_lists_the_allowed_values():
    with pytest.raises(ValueError, match="'gap', 'onset'"):  # refused already when the settings are built
        bad = WASM.with_overrides(clm={"bilateral_rule": "sideways"})
        combine_lms(lms((0.0, 1.0, "left")), settings=bad.clm)
