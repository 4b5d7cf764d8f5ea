"""report.html and compare.html as a person sees them: headless Chromium renders each page
offline, with no console error, every image decoded, nothing wider than the window, and a
non-blank screenshot. Skipped when /usr/bin/chromium is absent (Debian package ``chromium``)."""

from __future__ import annotations

import json
import re
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
from somnomyo.report import compare_nights, write_report
from somnomyo.simulate import simulate_short

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("browser")
    sim = simulate_short(seed=3, minutes=20)
    night = score_night(sim.write(out / "sim")["edf"])
    night.write(out / "n1")
    paths = write_report(night, out / "n1", exports=False)
    s2 = json.loads((out / "n1" / "summary.json").read_text(encoding="utf-8"))
    s2["plm"]["plms_index"] = 9.0
    (out / "n2").mkdir()
    (out / "n2" / "summary.json").write_text(json.dumps(s2), encoding="utf-8")
    cmp = compare_nights([out / "n1", out / "n2"]).write(out / "cmp")
    return {"report": paths["report"], "compare": cmp["compare_html"], "tmp": out}


def _check_page(page: Path, tmp: Path) -> tuple[str, list[str], Path]:
    """Rendered DOM of a copy with the checker appended, console problems, and a screenshot of the page."""
    dom = render_checked(page, tmp)
    shot = tmp / f"{page.stem}.png"
    res = chromium([f"--screenshot={shot}", f"--window-size={WIDTH},2400", page.as_uri()], tmp / f"ud-{page.stem}")
    return dom.stdout, console_problems(dom.stderr) + console_problems(res.stderr), shot


@pytest.fixture(scope="module")
def rendered(pages: dict[str, Path]) -> dict[str, tuple[str, list[str], Path]]:
    return {name: _check_page(pages[name], pages["tmp"]) for name in ("report", "compare")}


@pytest.mark.parametrize("name", ["report", "compare"])
def test_page_renders_offline_without_console_errors_and_every_image_decodes(rendered: dict, name: str) -> None:
    dom, problems, shot = rendered[name]
    assert problems == []
    assert body_attr(dom, "data-checked") == "yes"
    n_img, n_ok = body_attr(dom, "data-images").split("/")
    assert int(n_img) >= (4 if name == "report" else 1) and n_ok == n_img
    assert body_attr(dom, "data-empty-figures") == "0"
    assert body_attr(dom, "data-overflow") == "false"  # nothing wider than a laptop window
    assert_not_blank(shot)


def test_report_in_the_browser_shows_its_sections_and_the_raster_data(rendered: dict) -> None:
    dom = rendered["report"][0]
    for heading in ("Summary", "Night overview", "Indices", "EMG examples", "Recording and settings"):
        assert f"<h2>{heading}</h2>" in dom
    m = re.search(r'<script type="application/json" id="somnomyo-raster">(.*?)</script>', dom, re.S)
    rows = json.loads(m.group(1).replace("<\\/", "</"))
    assert any(r["trial_type"] == "leg_movement" and any(r["periodic"]) for r in rows)


def test_the_browser_check_catches_a_broken_image_and_a_script_error(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><body><h1>x</h1><figure><img src="data:image/png;base64,AAAA"></figure>'
        "<script>undefined_function();</script></body></html>",
        encoding="utf-8",
    )
    dom, problems, _ = _check_page(page, tmp_path)
    assert any("Uncaught" in p for p in problems)
    assert body_attr(dom, "data-images") == "1/0" and body_attr(dom, "data-empty-figures") == "1"
