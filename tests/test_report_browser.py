"""report.html and compare.html as a person sees them: headless Chromium renders each page
offline, with no console error, every image decoded, nothing wider than the window, and a
non-blank screenshot. Skipped when /usr/bin/chromium is absent (Debian package ``chromium``)."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from somnomyo.pipeline import score_night
from somnomyo.report import compare_nights, write_report
from somnomyo.simulate import simulate_short

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="headless browser check needs /usr/bin/chromium (apt-get install chromium)")
WIDTH = 1280
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]
# after the page has loaded: count decoded images and empty figures, measure the layout width
CHECKER = """<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0 && i.naturalHeight > 0; });
  var figs = Array.prototype.slice.call(document.querySelectorAll("figure"));
  var empty = figs.filter(function (f) { var i = f.querySelector("img"); return !i || i.getBoundingClientRect().height < 50; });
  var b = document.body;
  b.setAttribute("data-images", imgs.length + "/" + ok.length);
  b.setAttribute("data-empty-figures", String(empty.length));
  b.setAttribute("data-overflow", String(document.documentElement.scrollWidth > window.innerWidth + 1));
  b.setAttribute("data-checked", "yes");
});
</script>"""
CONSOLE_PROBLEM = re.compile(r"CONSOLE|Uncaught|Failed to load resource|net::ERR_|Not allowed to load", re.I)


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


def _chromium(args: list[str], user_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={user_dir}", *args], capture_output=True,
                          text=True, timeout=120)


def _console_problems(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if CONSOLE_PROBLEM.search(ln)]


def _check_page(page: Path, tmp: Path) -> tuple[str, list[str], Path]:
    """Rendered DOM of a copy with the checker appended, console problems, and a screenshot of the page."""
    probe = tmp / f"probe-{page.name}"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", CHECKER + "</body>"), encoding="utf-8")
    dom = _chromium(["--dump-dom", f"--window-size={WIDTH},2400", probe.as_uri()], tmp / f"ud-dom-{page.stem}")
    shot = tmp / f"{page.stem}.png"
    res = _chromium([f"--screenshot={shot}", f"--window-size={WIDTH},2400", page.as_uri()], tmp / f"ud-{page.stem}")
    return dom.stdout, _console_problems(dom.stderr) + _console_problems(res.stderr), shot


@pytest.fixture(scope="module")
def rendered(pages: dict[str, Path]) -> dict[str, tuple[str, list[str], Path]]:
    return {name: _check_page(pages[name], pages["tmp"]) for name in ("report", "compare")}


def _attr(dom: str, name: str) -> str:
    m = re.search(rf'<body[^>]*\s{name}="([^"]*)"', dom)
    assert m is not None, f"{name} missing: the page did not finish loading"
    return m.group(1)


def _assert_not_blank(shot: Path) -> None:
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert img.shape[1] == WIDTH
    assert (img < 200).mean() > 0.02          # text, tables and figures drawn
    top = img[: img.shape[0] // 6]
    assert (top < 128).any()                  # the title is there


@pytest.mark.parametrize("name", ["report", "compare"])
def test_page_renders_offline_without_console_errors_and_every_image_decodes(rendered: dict, name: str) -> None:
    dom, problems, shot = rendered[name]
    assert problems == []
    assert _attr(dom, "data-checked") == "yes"
    n_img, n_ok = _attr(dom, "data-images").split("/")
    assert int(n_img) >= (4 if name == "report" else 1) and n_ok == n_img
    assert _attr(dom, "data-empty-figures") == "0"
    assert _attr(dom, "data-overflow") == "false"   # nothing wider than a laptop window
    _assert_not_blank(shot)


def test_report_in_the_browser_shows_its_sections_and_the_raster_data(rendered: dict) -> None:
    dom = rendered["report"][0]
    for heading in ("Summary", "Night overview", "Indices", "EMG examples", "Recording and settings"):
        assert f"<h2>{heading}</h2>" in dom
    m = re.search(r'<script type="application/json" id="somnomyo-raster">(.*?)</script>', dom, re.S)
    rows = json.loads(m.group(1).replace("<\\/", "</"))
    assert any(r["trial_type"] == "leg_movement" and any(r["periodic"]) for r in rows)


def test_the_browser_check_catches_a_broken_image_and_a_script_error(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><body><h1>x</h1><figure><img src="data:image/png;base64,AAAA"></figure>'
                    "<script>undefined_function();</script></body></html>", encoding="utf-8")
    dom, problems, _ = _check_page(page, tmp_path)
    assert any("Uncaught" in p for p in problems)
    assert _attr(dom, "data-images") == "1/0" and _attr(dom, "data-empty-figures") == "1"
