"""validation.html as a person sees it: headless Chromium renders it offline, with no console
error, every plot decoded and drawn, nothing wider than the window. Skipped when
/usr/bin/chromium is absent (Debian package ``chromium``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_helpers import (
    WIDTH,
    assert_not_blank,
    body_attr,
    chromium,
    console_problems,
    needs_chromium,
    render_checked,
)

from somnomyo.pipeline import score_night
from somnomyo.report.exports import write_events_xml
from somnomyo.simulate import simulate_short
from somnomyo.validate import validate_nights

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("validate-browser")
    sim = simulate_short(seed=4, minutes=20)
    paths = sim.write(out / "sim")
    score_night(paths["edf"]).write(out / "results")
    xml = write_events_xml(
        sim.truth_events(), out / "expert.xml", hypnogram=sim.hypnogram, duration_s=sim.duration, start=sim.start
    )
    v = validate_nights([("truth", out / "results", paths["truth"], None), ("xml", out / "results", xml, None)])
    return v.write(out / "validation")["validation"]


def test_validation_page_renders_offline_with_its_plots_and_tables(page: Path, tmp_path: Path) -> None:
    res = render_checked(page, tmp_path)
    dom = res.stdout
    assert console_problems(res.stderr) == []
    assert body_attr(dom, "data-checked") == "yes"
    n_img, n_ok = body_attr(dom, "data-images").split("/")
    assert int(n_img) >= 3 and n_ok == n_img  # a Bland-Altman/scatter figure per index
    assert body_attr(dom, "data-empty-figures") == "0"
    assert body_attr(dom, "data-overflow") == "false"
    for heading in (
        "Matching rule",
        "Event agreement",
        "Per stage",
        "Index agreement",
        "Bland-Altman and scatter plots",
    ):
        assert f"<h2>{heading}</h2>" in dom
    assert "temporal IoU &gt;= 0.5" in dom and "F1 N2" in dom
    assert "http://" not in page.read_text(encoding="utf-8").replace("http://www.w3.org", "")  # nothing fetched


def test_validation_page_screenshot_is_not_blank(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "validation.png"
    chromium([f"--screenshot={shot}", f"--window-size={WIDTH},2400", page.as_uri()], tmp_path / "ud2")
    assert_not_blank(shot)
