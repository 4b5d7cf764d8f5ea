"""Night plots read in clock time, signal-quality rows explain themselves, and a caption names only
what its plot draws."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from somnomyo.pipeline import score_night
from somnomyo.report import build_report
from somnomyo.report.night import _has_band, _quality_text
from somnomyo.simulate import simulate_short


@pytest.fixture(scope="module")
def rep(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("clock")
    files = simulate_short(seed=3, minutes=20).write(out / "sim")
    night = score_night(files["edf"])
    report = build_report(night, png=False)
    return {"night": night, "report": report, "svg": {r.name: r.svg.decode() for r in report.rendered}}


def caption(html: str, name: str) -> str:
    m = re.search(rf'<figure id="fig-{name}">.*?<figcaption>(.*?)</figcaption>', html, re.S)
    assert m is not None, name
    return m.group(1)


def test_the_night_overview_is_drawn_in_clock_time(rep: dict) -> None:
    night, svg = rep["night"], rep["svg"]["overview"]
    start = night.recording.start
    assert start is not None
    assert "clock time (recording started" in svg and "time from recording start" not in svg
    first_hour = (start + dt.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    if first_hour - start < dt.timedelta(seconds=night.recording.duration):
        assert first_hour.strftime("%H:%M") in svg
    assert "time axis: clock time" in caption(rep["report"].html, "overview")


def test_without_a_start_time_the_axis_says_hours_from_the_start(rep: dict) -> None:
    from somnomyo.report import figures as F

    night = rep["night"]
    rows = F.raster_rows(night.events, channel_order=list(night.recording.signals))
    fig = F.plot_overview(night.hypnogram, rows, duration_s=night.recording.duration, start=None)
    assert fig.axes[-1].get_xlabel() == "time from recording start (h)"
    fig = F.plot_overview(night.hypnogram, rows, duration_s=3 * 3600.0, start=dt.datetime(2020, 1, 1, 22, 40, 0))
    ax = fig.axes[-1]
    ticks = list(ax.get_xticks())
    assert ticks[0] == pytest.approx(20 / 60)  # 23:00 is 20 min after 22:40
    assert ax.xaxis.get_major_formatter()(ticks[0], 0) == "23:00"


def test_quality_rows_say_why_and_how_long_in_words() -> None:
    assert _quality_text({"ecg": 24975.0, "mains": 0.0}, 28800.0) == (
        "heartbeat (ECG) artefact: 6 h 56 min (87% of the recording)"
    )
    assert _quality_text({"flat": 30.0}, 28800.0) == "flat signal (electrode off or dead): 30 s (0% of the recording)"
    assert _quality_text({}, 28800.0) == "none"


def test_the_quality_table_headers_explain_left_out_versus_flagged(rep: dict) -> None:
    html = rep["report"].html
    assert "<th>left out of scoring (why, how long)</th>" in html
    assert "<th>flagged but scored (why, how long)</th>" in html
    assert not re.search(r"<td>[^<]*\b(ecg|mains|flat|clipping|gap) \d+ s\b", html)  # no bare "ecg 24975 s"
    assert "% of the recording)" in html or "<td>none</td><td>none</td>" in html


def test_the_jerk_locked_caption_names_the_chance_band_only_when_it_is_drawn(rep: dict) -> None:
    night, html = rep["night"], rep["report"].html
    cortical = night.results.get("cortical")
    if cortical is None or "fig-jerk_locked_eeg" not in html:
        pytest.skip("this night has no jerk-locked average figure")
    cap = caption(html, "jerk_locked_eeg")
    if _has_band(cortical):
        assert "band expected by chance" in cap
    else:
        assert "band expected by chance" not in cap and "no chance band is drawn" in cap


def test_has_band_reads_the_surrogate_band_of_the_result() -> None:
    class R:
        band_lo = {"EEG": []}

    assert _has_band(R()) is False
    R.band_lo = {"EEG": [0.1, 0.2]}
    assert _has_band(R()) is True
