"""Make the screenshots of the review page shown in docs/review.md.

Simulates and scores the demo night (``somnomyo demo``: seed 3, 8 h), starts
``somnomyo review --no-browser`` on it, and photographs the page in headless Chromium
(Playwright pointed at /usr/bin/chromium):

* ``review-overview.png``: the night overview and the indices, on opening;
* ``review-epoch.png``: the whole page with the epoch view on a leg movement of a PLM series,
  selected and rejected (its span, the LM baseline and onset/offset thresholds, the indices
  before -> after).

    python docs/img/review_screenshots.py [--hours 8] [--work DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

HERE = Path(__file__).resolve().parent
VIEWPORT = {"width": 1600, "height": 1000}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--work", help="folder for the simulated night and its results (default: a temporary one)")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from somnomyo.pipeline import score_night
    from somnomyo.simulate import simulate_night

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="somnomyo-shots-"))
    results = work / "results"
    if not (results / "manifest.json").exists():
        edf = simulate_night(seed=args.seed, hours=args.hours).write(work / "simulated")["edf"]
        score_night(edf).write(results)
    cmd = [
        sys.executable,
        "-c",
        "import sys; from somnomyo.cli import main; sys.exit(main())",
        "review",
        str(results),
        "--scorer",
        "A. Tech",
        "--no-browser",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip() if proc.stdout else ""
        token = parse_qs(urlparse(url).query)["token"][0]
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = b.new_page(viewport=VIEWPORT)
            page.set_default_timeout(60000)
            page.goto(url)
            page.wait_for_selector("body[data-ready=yes]")
            # open the first PLM series in N2 and select one of its LMs
            lm = page.evaluate(
                """async (token) => {
                const r = await fetch('/api/events?kind=leg_movement&periodic=true&stage=N2',
                                      {headers: {Authorization: 'Bearer ' + token}});
                const ev = await r.json(); return ev[Math.min(ev.length - 1, 5)] || null; }""",
                token,
            )
            page.select_option("#f-kind", "leg_movement")
            if lm:
                page.evaluate("(id) => window.somnomyoReview.revealInList(id)", lm["id"])
                page.click(f'#list .row[data-id="{lm["id"]}"]')
                page.wait_for_function("(id) => window.somnomyoReview.selected() === id", arg=lm["id"])
            time.sleep(1.0)
            ov = page.locator("#overview-section").bounding_box()
            page.screenshot(
                path=str(HERE / "review-overview.png"),
                clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": ov["y"] + ov["height"]},
            )
            if lm:  # one edit: reject the selected LM (indices before -> after)
                page.uncheck("#advance")
                page.focus("#epoch")
                page.keyboard.press("r")
                page.wait_for_function("() => window.somnomyoReview.saves > 0")
            time.sleep(2.0)
            page.screenshot(path=str(HERE / "review-epoch.png"))
            if lm:
                page.keyboard.press("u")  # leave the layer as it was
                page.wait_for_function("() => window.somnomyoReview.saves > 1")
            b.close()
    finally:
        proc.terminate()
        proc.wait(10)
    print(HERE / "review-overview.png")
    print(HERE / "review-epoch.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
