"""Helpers for tests that render a self-contained page in headless Chromium (Debian's ``chromium``):
the browser flags, a checker script appended to a copy of the page, and readers of what it found."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="headless browser check needs /usr/bin/chromium (apt-get install chromium)"
)
WIDTH = 1280
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]
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


def chromium(args: list[str], user_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with ``args`` and a fresh profile in ``user_dir``."""
    return subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={user_dir}", *args], capture_output=True, text=True, timeout=120
    )


def console_problems(stderr: str) -> list[str]:
    """The lines of Chromium's log that report a script error or a failed load."""
    return [ln for ln in stderr.splitlines() if CONSOLE_PROBLEM.search(ln)]


def render_checked(page: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    """The rendered DOM (stdout) of a copy of ``page`` with ``CHECKER`` appended."""
    probe = tmp / f"probe-{page.name}"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", CHECKER + "</body>"), encoding="utf-8")
    return chromium(["--dump-dom", f"--window-size={WIDTH},2400", probe.as_uri()], tmp / f"ud-dom-{page.stem}")


def body_attr(dom: str, name: str) -> str:
    """An attribute the checker set on ``<body>``."""
    m = re.search(rf'<body[^>]*\s{name}="([^"]*)"', dom)
    assert m is not None, f"{name} missing: the page did not finish loading"
    return m.group(1)


def assert_not_blank(shot: Path) -> None:
    """A screenshot with text, tables and figures drawn and a title at the top."""
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert img.shape[1] == WIDTH
    assert (img < 200).mean() > 0.02  # text, tables and figures drawn
    top = img[: img.shape[0] // 6]
    assert (top < 128).any()  # the title is there
