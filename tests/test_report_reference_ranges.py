"""The findings set every headline index against its reference range for the population scored
(ICSD-3 PLMD: PLMS > 15/h adults, > 5/h children, no norm for infants; AASM EFM >= 20 min; SINBAR
>= 18%), and the report shows them in the Findings section (docs/rules.md §15.5)."""

from __future__ import annotations

import re

import pytest

from somnomyo.interpret import interpret
from somnomyo.report.night import _findings_html
from somnomyo.settings import get_settings

NIGHT = {
    "plm": {"plms_index": 4.94, "plmw_index": 0.0, "periodicity_index": 0.48, "tst_h": 7.5},
    "fragmentary_myoclonus": {"efm": False, "efm_minutes": 1.0, "fm_index": 89.3},
    "jerks": {"index": 4.5},
    "rem_emg": {"any_mini_epoch_pct": 0.19, "sinbar_combined_pct": 0.19},
}


def refs(summary: dict, population: str) -> dict:
    return {f.id: f for f in interpret(summary, population=population) if f.id.endswith("_reference")}


def test_every_headline_index_gets_a_reference_row_even_when_nothing_is_abnormal() -> None:
    r = refs(NIGHT, "adult")
    assert set(r) == {
        "plms_index_reference",
        "plmw_index_reference",
        "periodicity_index_reference",
        "efm_minutes_reference",
        "jerk_index_reference",
        "rem_emg_reference",
    }
    plms = r["plms_index_reference"]
    assert plms.text_plain.startswith("PLMS index 4.9/h: below the adult criterion of > 15/h")
    assert plms.evidence["position"] == "below" and plms.evidence["threshold"] == 15.0
    assert plms.level == "info" and "ICSD-3" in plms.source
    assert r["efm_minutes_reference"].evidence["position"] == "below"
    assert r["rem_emg_reference"].evidence["threshold"] == get_settings().myoclonus.rem_sinbar_any_pct
    for rid in ("plmw_index_reference", "periodicity_index_reference", "jerk_index_reference"):
        assert r[rid].evidence["position"] == "no_norm" and "no published reference range" in r[rid].text_plain


@pytest.mark.parametrize(
    "population, idx, position",
    [
        ("adult", 15.0, "below"),
        ("adult", 15.1, "above"),
        ("child", 5.0, "below"),
        ("child", 5.1, "above"),
        ("infant", 40.0, "no_norm"),
    ],
)
def test_plms_index_is_graded_against_the_criterion_of_the_population_scored(
    population: str, idx: float, position: str
) -> None:
    f = refs({"plm": {"plms_index": idx}}, population)["plms_index_reference"]
    assert f.evidence["position"] == position and f.evidence["population"] == population
    assert f.level == ("note" if position == "above" else "info")
    if population == "infant":
        assert "no published reference range for infants" in f.text_plain
        assert f.evidence["threshold"] is None
        # the child criterion is not applied to an infant: no PLMD-range note either
        assert "plms_range" not in {x.id for x in interpret({"plm": {"plms_index": idx}}, population="infant")}


def test_the_thresholds_come_from_the_settings_tree() -> None:
    s = get_settings().with_overrides(interpret={"plms_adult_index": 4.0})
    f = {x.id: x for x in interpret({"plm": {"plms_index": 4.94}}, settings=s)}["plms_index_reference"]
    assert f.evidence["position"] == "above" and "> 4/h" in f.text_plain


def test_the_findings_section_shows_where_the_night_falls_for_each_index() -> None:
    findings = [f.to_dict() for f in interpret(NIGHT, population="adult")]
    html = _findings_html(findings, "adult")
    assert "Where this night falls (adult)" in html
    table = re.search(r'<table class="ranges">(.*?)</table>', html, re.S)
    assert table is not None
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    assert len(rows) == 1 + 6  # header + one row per headline index
    plms = next(r for r in rows if "PLMS index" in r)
    assert "4.9 /h" in plms and "below the adult criterion of &gt; 15/h" in plms
