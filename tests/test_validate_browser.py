"""validation.html as a person sees it: headless Chromium renders it offline, with no console
error, every plot decoded and drawn, nothing wider than the window. Skipped when
/usr/bin/chromium is absent (Debian package ``chromium``)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from somnomyo.pipeline import score_night
from somnomyo.report.exports import write_events_xml
from somnomyo.simulate import simulate_short
from somnomyo.validate import validate_nights

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="headless browser check needs /usr/bin/chromium (apt-get install chromium)")
WIDTH = 1280
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]
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
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("validate-browser")
    sim = simulate_short(seed=4, minutes=20)
    paths = sim.write(out / "sim")
    score_night(paths["edf"]).write(out / "results")
    xml = write_events_xml(sim.truth_events(), out / "expert.xml", hypnogram=sim.hypnogram, duration_s=sim.duration,
                           start=sim.start)
    v = validate_nights([("truth", out / "results", paths["truth"], None), ("xml", out / "results", xml, None)])
    return v.write(out / "validation")["validation"]


def _chromium(args: list[str], user_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={user_dir}", *args], capture_output=True,
                          text=True, timeout=120)


def _attr(dom: str, name: str) -> str:
    m = re.search(rf'<body[^>]*\s{name}="([^"]*)"', dom)
    assert m is not None, f"{name} missing: the page did not finish loading"
    return m.group(1)


def test_validation_page_renders_offline_with_its_plots_and_tables(page: Path, tmp_path: Path) -> None:
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", CHECKER + "</body>"), encoding="utf-8")
    res = _chromium(["--dump-dom", f"--window-size={WIDTH},2400", probe.as_uri()], tmp_path / "ud")
    dom = res.stdout
    assert [ln for ln in res.stderr.splitlines() if CONSOLE_PROBLEM.search(ln)] == []
    assert _attr(dom, "data-checked") == "yes"
    n_img, n_ok = _attr(dom, "data-images").split("/")
    assert int(n_img) >= 3 and n_ok == n_img                   # a Bland-Altman/scatter figure per index
    assert _attr(dom, "data-empty-figures") == "0"
    assert _attr(dom, "data-overflow") == "false"
    for heading in ("Matching rule", "Event agreement", "Per stage", "Index agreement", "Bland-Altman and scatter plots"):
        assert f"<h2>{heading}</h2>" in dom
    assert "temporal IoU &gt;= 0.5" in dom and "F1 N2" in dom
    assert "http://" not in page.read_text(encoding="utf-8").replace("http://www.w3.org", "")   # nothing fetched


def test_validation_page_screenshot_is_not_blank(page: Path, tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    shot = tmp_path / "validation.png"
    _chromium([f"--screenshot={shot}", f"--window-size={WIDTH},2400", page.as_uri()], tmp_path / "ud2")
    img = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert img.shape[1] == WIDTH and (img < 200).mean() > 0.02 and (img[: img.shape[0] // 6] < 128).any()
