"""The report speaks in plain names with units, keeps the machine tables behind disclosures, and
every count says what it counts, with one value for one quantity everywhere on the page."""

from __future__ import annotations

import html as H
import re

import pytest

from somnomyo.pipeline import score_night
from somnomyo.report import build_report
from somnomyo.report.text import night_sentences
from somnomyo.simulate import simulate_short

SNAKE = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("plain")
    files = simulate_short(seed=3, minutes=20).write(out / "sim")
    night = score_night(files["edf"])
    return {"night": night, "html": build_report(night, png=False).html}


def section(html: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}">(.*?)</section>', html, re.S)
    assert m is not None, sid
    return m.group(1)


def without_disclosures(text: str) -> str:
    return re.sub(r"<details.*?</details>", "", text, flags=re.S)


def cells(text: str) -> list[str]:
    return [H.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", text, re.S)]


def test_indices_show_no_machine_keys_outside_the_disclosures(page: dict) -> None:
    idx = section(page["html"], "indices")
    shown = without_disclosures(idx)
    keys = [c for c in cells(shown) if SNAKE.search(c)]
    assert keys == [], keys
    # ... and the machine tables are still there, folded
    folded = "".join(re.findall(r"<details.*?</details>", idx, re.S))
    for key in ("efm_minutes", "rejected.synchronous", "sinbar_combined_pct", "hours_per_stage.W"):
        assert key in folded
    # the ~80-row state table is not open on the page
    state = re.search(r"<h3>Jerks by sleep state</h3>(.*?)</div>", shown, re.S)
    assert state is not None and len(re.findall(r"<tr>", state.group(1))) < 12


def test_every_plain_quantity_row_has_a_unit_column(page: dict) -> None:
    shown = without_disclosures(section(page["html"], "indices"))
    tables = re.findall(r"<table><thead><tr><th>quantity</th><th>value</th><th>unit</th></tr>", shown)
    assert len(tables) >= 4
    row = re.search(r"<td>fragmentary myoclonus index \(potentials per hour of sleep\)</td>.*?</tr>", shown, re.S)
    assert row is not None and "<td>/h</td>" in row.group(0)
    row = re.search(r"<td>NREM minutes with &gt;= 5 potentials per minute \(EFM minutes\)</td>.*?</tr>", shown, re.S)
    assert row is not None and "<td>min</td>" in row.group(0)


def test_leg_movement_counts_say_what_they_count_and_agree(page: dict) -> None:
    night, html = page["night"], page["html"]
    plm = night.blocks["plm"]
    ev = night.events
    per_leg = int((ev["trial_type"] == "leg_movement").sum())
    assert per_leg == plm["mono_lm_count"]
    assert plm["lms_count"] != per_leg  # the night has bilateral movements: the two counts differ
    text = " ".join(night_sentences(night.summary()))
    assert f"{plm['lms_count']} leg movements were counted during sleep" in text
    assert f"the event table lists {per_leg} per-leg movements in sleep and wake" in text
    over = section(html, "overview")
    lm_row = re.search(
        r"<td>leg movements \(per leg: a movement of both legs is 2 rows\), sleep and wake</td>(.*?)</tr>", over
    )
    assert lm_row is not None and f'<td class="num">{per_leg}</td>' in lm_row.group(1).split("<td")[-1].join(
        ["<td", ""]
    )
    idx = without_disclosures(section(html, "indices"))
    for label, key in (
        ("leg movements in sleep (both legs merged: a bilateral movement counts once)", "lms_count"),
        ("leg movements in sleep and wake (both legs merged)", "lm_count"),
        ("leg movements per leg, sleep and wake (leg-movement rows of the event table)", "mono_lm_count"),
    ):
        assert f'<td>{label}</td><td class="num">{plm[key]}</td>' in idx, label


def test_stage_minutes_say_their_time_base_and_match_the_epoch_counts(page: dict) -> None:
    night, html = page["night"], page["html"]
    rec = section(html, "recording")
    counts = night.summary()["stages"]["counts"]
    assert "Sleep stages, every epoch of the recording" in rec
    w_min = counts["W"] * night.hypnogram.epoch_s / 60.0
    assert f'<td>minutes</td><td class="num">{w_min:.2f}</td>' in rec
    # the state block's hours per stage are the same epochs: one value for W everywhere
    hours_w = night.blocks["state"]["hours_per_stage"]["W"]
    assert hours_w * 60.0 == pytest.approx(w_min, abs=0.06)  # hours are kept to 3 decimals
    # the per-stage table under Indices names its own time base (scorable time in bed)
    assert "<th>scorable minutes in bed</th>" in section(html, "indices")
