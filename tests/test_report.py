"""Per-night report: report.html contents, figures, raster data against the event table and truth."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from somnomyo.events import TRIAL_TYPES, make_events
from somnomyo.pipeline import score_night
from somnomyo.report import build_report, write_report
from somnomyo.report.figures import raster_rows
from somnomyo.report.night import EVENTS_DATA_ID, RASTER_DATA_ID
from somnomyo.report.snippets import decimate_minmax, pick_representative
from somnomyo.report.text import night_sentences
from somnomyo.simulate import simulate_short

FIGURES = ("overview", "imi_histogram", "lm_examples", "other_examples")


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("night")
    sim = simulate_short(seed=3, minutes=20)
    files = sim.write(out / "sim")
    night = score_night(files["edf"])
    paths = write_report(night, out / "scored", pdf=True)
    return {
        "night": night,
        "paths": paths,
        "truth": json.loads(Path(files["truth"]).read_text()),
        "html": Path(paths["report"]).read_text(encoding="utf-8"),
    }


def _json_block(html: str, element_id: str) -> object:
    m = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    assert m is not None, element_id
    return json.loads(m.group(1).replace("<\\/", "</"))


# ----------------------------------------------------------------------------- files
def test_write_report_returns_every_output_and_writes_figures_as_png_and_svg(scored: dict) -> None:
    paths = scored["paths"]
    assert set(paths) >= {"report", "figures", "events_edf", "events_xml", "report_pdf"}
    for name in FIGURES:
        png = paths["figures"] / f"{name}.png"
        svg = paths["figures"] / f"{name}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert ET.fromstring(svg.read_bytes()).tag.endswith("svg"), name
    assert paths["report_pdf"].read_bytes()[:5] == b"%PDF-"
    leftovers = [p.name for p in paths["report"].parent.rglob("*.tmp")]
    assert leftovers == []


def test_report_html_is_self_contained_no_external_resources(scored: dict) -> None:
    html = scored["html"]
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "<link" not in html and "@import" not in html
    assert not re.search(r"<script(?![^>]*application/json)", html)  # no executable script at all
    imgs = re.findall(r'<img src="([^"]+)"', html)
    drawn = sorted(p.stem for p in scored["paths"]["figures"].glob("*.svg"))
    assert set(FIGURES) <= set(drawn) and len(imgs) == len(drawn)
    for src in imgs:
        assert src.startswith("data:image/svg+xml;base64,")
        svg = base64.b64decode(src.split(",", 1)[1])
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg") and len(list(root.iter())) > 50  # a drawn figure, not an empty one
    assert "@media print" in html


def test_report_states_recording_settings_roles_and_quality(scored: dict) -> None:
    html, night = scored["html"], scored["night"]
    assert "Recording and settings" in html
    assert night.settings.standard in html
    for role in ("leg_left", "leg_right", "chin"):
        assert f"<td>{role}</td><td>{', '.join(night.roles.all(role))}</td>" in html
    for label in night.quality["channels"]:
        assert f"<td>{label}</td>" in html
    assert "scorable sleep time" in html
    assert "every setting, with its source" in html and "WASM 2016" in html or "W16" in html


def test_report_index_tables_show_the_summary_values(scored: dict) -> None:
    html, plm = scored["html"], scored["night"].blocks["plm"]
    assert plm["plms_count"] > 0
    assert f'<td class="num">{plm["plms_index"]:.2f}</td>' in html
    for stage in ("W", "N1", "N2", "N3", "R"):
        assert f"<td>{stage}</td>" in html
    n2 = plm["by_stage"]["N2"]
    assert f'<td class="num">{n2["plm_index"]:.2f}</td>' in html
    assert "Leg movements by hour of the night" in html  # plain names, not block keys


def test_plain_summary_uses_the_numbers_and_supportive_wording(scored: dict) -> None:
    night = scored["night"]
    sentences = night_sentences(night.summary())
    text = " ".join(sentences)
    plm = night.blocks["plm"]
    assert f"PLMS index of {plm['plms_index']:.1f}/h" in text
    assert f"{plm['lms_count']} leg movements were counted during sleep" in text
    assert "do not replace" in text
    assert "diagnos" not in scored["html"].lower()


# ----------------------------------------------------------------------------- raster vs table vs truth
def test_report_raster_data_is_the_event_table(scored: dict) -> None:
    night, html = scored["night"], scored["html"]
    rows = _json_block(html, RASTER_DATA_ID)
    ev = night.events
    expected = set()
    for tt, ch, on in zip(ev["trial_type"], ev["channel"], ev["onset"]):
        for c in str(ch).split(","):
            expected.add((tt, c.strip(), round(float(on), 4)))
    drawn = {(r["trial_type"], r["channel"], on) for r in rows for on in r["onset"]}
    assert drawn == expected
    per_type = [TRIAL_TYPES.index(r["trial_type"]) for r in rows]
    assert per_type == sorted(per_type)  # rows grouped by event type in the standard order
    table_periodic = ev.loc[ev["trial_type"] == "leg_movement", "periodic"].fillna(False).astype(bool).sum()
    assert sum(sum(r["periodic"]) for r in rows if r["trial_type"] == "leg_movement") == table_periodic
    listed = _json_block(html, EVENTS_DATA_ID)
    assert len(listed["onset"]) == len(ev)
    assert np.allclose(listed["onset"], ev["onset"].to_numpy(float), atol=1e-4)


def test_report_raster_shows_the_simulated_leg_movements_where_they_were_put(scored: dict) -> None:
    rows = _json_block(scored["html"], RASTER_DATA_ID)
    lm_rows = {r["channel"]: r for r in rows if r["trial_type"] == "leg_movement"}
    truth = scored["truth"]["leg_movements"]
    assert truth
    for t in truth:
        r = lm_rows[t["channel"]]
        on, du = np.asarray(r["onset"]), np.asarray(r["duration"])
        inside = (on - 0.25 <= t["onset"]) & (t["onset"] <= on + du)
        assert inside.any(), (t["channel"], t["onset"])


def test_raster_rows_put_a_multi_muscle_event_in_each_muscle_row() -> None:
    ev = make_events(
        [
            {"onset": 10.0, "duration": 0.2, "trial_type": "myoclonic_jerk", "channel": "Arm L,Leg R"},
            {"onset": 5.0, "duration": 2.0, "trial_type": "leg_movement", "channel": "Leg R", "periodic": True},
            {"onset": 50.0, "duration": 2.0, "trial_type": "leg_movement", "channel": "Leg R", "periodic": False},
        ]
    )
    rows = raster_rows(ev, channel_order=["Leg R", "Arm L"])
    assert [(r["trial_type"], r["channel"]) for r in rows] == [
        ("leg_movement", "Leg R"),
        ("myoclonic_jerk", "Leg R"),
        ("myoclonic_jerk", "Arm L"),
    ]
    assert rows[0]["onset"] == [5.0, 50.0] and rows[0]["periodic"] == [True, False]
    assert rows[1]["onset"] == rows[2]["onset"] == [10.0]
    assert raster_rows(make_events(None)) == []


# ----------------------------------------------------------------------------- banners, generic blocks
def test_banner_when_stages_were_scored_automatically_not_when_scored_by_a_person(scored: dict) -> None:
    night = scored["night"]
    assert 'class="banner"' not in scored["html"]
    auto = dataclasses.replace(night, hypnogram=dataclasses.replace(night.hypnogram, source="auto"))
    html = build_report(auto, png=False).html
    assert 'class="banner"' in html and "AUTOMATICALLY" in html
    assert (
        "hypnogram (AUTOMATIC)"
        in base64.b64decode(
            re.search(r'id="fig-overview"><img src="data:image/svg\+xml;base64,([^"]+)"', html).group(1)
        ).decode()
    )


class _FakeCortical:
    """Stands in for the jerk-locked average result (times_ms, average per channel, band)."""

    times_ms = np.linspace(-300, 200, 129)
    average = {"EEG C3-M2": np.sin(np.linspace(0, 6, 129)), "EEG C4-M1": np.cos(np.linspace(0, 6, 129))}
    band_lo = -np.ones(129)
    band_hi = np.ones(129)


def test_interpretation_findings_and_cortical_result_are_rendered_when_present(scored: dict) -> None:
    night = scored["night"]
    findings = [
        {
            "id": "plms_range",
            "level": "note",
            "text_plain": "Leg movements in the range described for PLMD",
            "text_clinical": "PLMS index 20.0/h > 15/h (ICSD-3)",
            "evidence": {"plms_index": 20.0},
        },
        {
            "id": "cortical_transient",
            "level": "review",
            "text_plain": "An EEG change before jerks warrants review",
            "text_clinical": "p = 0.01",
            "evidence": {"p_value": 0.01, "latency_ms": 22.0},
        },
    ]
    blocks = dict(
        night.blocks,
        interpretation=findings,
        cortical={"transient_found": True, "n_jerks": 60, "latency_ms": 22.0, "channel": "EEG C3-M2", "p_value": 0.01},
    )
    rich = dataclasses.replace(night, blocks=blocks, results=dict(night.results, cortical=_FakeCortical()))
    rep = build_report(rich, png=False)
    html = rep.html
    assert "Findings" in html and "Leg movements in the range described for PLMD" in html
    assert html.index("cortical_transient") < html.index("plms_range")  # 'review' findings first
    assert "latency_ms" in html and "evidence" in html
    assert "Jerk-locked EEG average" in html and 'id="fig-jerk_locked_eeg"' in html
    assert "jerk_locked_eeg" in {r.name for r in rep.rendered}
    assert "EEG C3-M2" in next(r for r in rep.rendered if r.name == "jerk_locked_eeg").svg.decode()


# ----------------------------------------------------------------------------- helpers
def test_pick_representative_prefers_periodic_typical_amplitudes_on_loaded_channels() -> None:
    ev = make_events(
        [
            {
                "onset": float(i),
                "duration": 1.0,
                "trial_type": "leg_movement",
                "channel": ch,
                "amplitude_uv": a,
                "periodic": p,
            }
            for i, (ch, a, p) in enumerate(
                [
                    ("Leg L", 10.0, True),
                    ("Leg L", 50.0, True),
                    ("Leg L", 52.0, True),
                    ("Leg L", 500.0, True),
                    ("Leg L", 51.0, False),
                    ("Gone", 51.0, True),
                ]
            )
        ]
    )
    picked = pick_representative(ev, 2, loaded=["Leg L"])
    assert picked["amplitude_uv"].tolist() == [50.0, 52.0]  # near the periodic median, time order
    assert picked["onset"].is_monotonic_increasing
    assert len(pick_representative(ev, 3, loaded=[])) == 0


def test_decimate_minmax_keeps_peaks_within_the_point_budget() -> None:
    t = np.arange(100_000) / 1000.0
    y = np.zeros_like(t)
    y[12_345], y[67_890] = 900.0, -700.0
    td, yd = decimate_minmax(t, y, 1000)
    assert yd.size <= 1000 and yd.max() == 900.0 and yd.min() == -700.0
    assert np.all(np.diff(td) >= 0)
    t2, y2 = decimate_minmax(t[:500], y[:500], 1000)
    assert y2.size == 500


def test_report_of_a_night_without_events_hypnogram_or_plm_result_still_renders(scored: dict) -> None:
    from somnomyo.events import empty_events
    from somnomyo.io.annotations import Hypnogram

    night = scored["night"]
    bare = dataclasses.replace(
        night,
        events=empty_events(),
        results={},
        blocks={},
        quality={},
        hypnogram=Hypnogram.unscored(night.recording.duration),
    )
    rep = build_report(bare, png=False)
    assert [r.name for r in rep.rendered] == ["overview"]
    assert "No events were detected." in rep.html and "No hypnogram" in rep.html
    assert "No quality check was run." in rep.html
    assert _json_block(rep.html, RASTER_DATA_ID) == []


def test_snippet_segments_are_band_passed_with_the_conditioning_filter_design() -> None:
    from somnomyo.report.snippets import filtered_segment
    from somnomyo.settings import get_settings
    from somnomyo.signal.filters import bandpass

    st = get_settings("wasm2016").conditioning
    for fs in (200.0, 256.0, 512.0):  # the design is cached per rate: each rate gets its own filter
        x = np.random.default_rng(int(fs)).normal(0.0, 20.0, int(fs * 60)).astype(np.float32)
        t, y = filtered_segment(x, fs, 20.0, 23.0, pad_s=2.0, settings=st)
        a, b, pa = int(20.0 * fs), int(23.0 * fs), int(18.0 * fs)
        want = bandpass(np.asarray(x[pa : int(25.0 * fs)], dtype=float), fs, settings=st)[a - pa : a - pa + b - a]
        np.testing.assert_array_equal(y, want)
        np.testing.assert_array_equal(t, np.arange(a, b) / fs)


def test_snippet_too_short_to_filter_is_drawn_unfiltered_around_its_median() -> None:
    from somnomyo.report.snippets import filtered_segment
    from somnomyo.settings import get_settings

    st = get_settings("wasm2016").conditioning
    x = np.arange(40, dtype=float)  # the 4-section band-pass needs more than 3 x (2 x 4 + 1) = 27 samples
    t, y = filtered_segment(x[:27], 256.0, 0.0, 1.0, pad_s=0.0, settings=st)
    np.testing.assert_array_equal(y, x[:27] - np.median(x[:27]))
    t, y = filtered_segment(x[:28], 256.0, 0.0, 1.0, pad_s=0.0, settings=st)  # one more sample: filtered
    assert y.size == 28 and not np.array_equal(y, x[:28] - np.median(x[:28]))
