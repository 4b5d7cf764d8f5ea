"""Which way to draw the review page's epoch view: plain canvas min/max columns or uPlot.

Draws 12 channels (one epoch page) in headless Chromium, the way the page gets them from
``GET /api/signal`` (min/max per pixel column for long windows, raw samples for short ones),
and times draw-to-pixels with ``performance.now()`` (p50 and p95 over the repetitions, each
including a ``setTimeout(0)`` so that deferred drawing is counted). The candidates:

* ``canvas``: one 2-D canvas, a vertical stroke per pixel column (min..max), joined; raw
  windows as a polyline (what ``somnomyo/review/static/app.js`` does);
* ``uplot``: one uPlot instance per channel (uPlot 1.6, MIT), ``setData`` on each page.

uPlot is not part of the package; the benchmark uses ``npm pack uplot`` (needs npm and the npm
registry) into benchmarks/_work/uplot, or ``--uplot DIR`` holding ``uPlot.iife.min.js``.

    python benchmarks/bench_review_plot.py [--reps 40] [--uplot DIR]

Prints a table and writes it to benchmarks/RESULTS.md (section "## Review page plotting").
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work" / "uplot"
CHROMIUM = Path("/usr/bin/chromium")
N_CHANNELS = 12
WIDTH = 1200
ROW_H = 80
FS = 256

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<script src="uPlot.iife.min.js"></script><script src="bench.js"></script></head>
<body style="margin:0"><div id="u"></div><canvas id="c"></canvas></body></html>"""

BENCH_JS = """
const NCH = %(nch)d, W = %(width)d, H = %(rowh)d;
function gen(n, seed) {            // a deterministic noisy trace
  const a = new Float32Array(n); let s = seed;
  for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) & 0x7fffffff; a[i] = Math.sin(i / 20) * 30 + ((s / 0x7fffffff) - 0.5) * 40; }
  return a;
}
function minmax(a, cols) {         // what GET /api/signal sends for long windows
  const mn = new Float32Array(cols), mx = new Float32Array(cols), per = a.length / cols;
  for (let c = 0; c < cols; c++) {
    let lo = Infinity, hi = -Infinity; const e = Math.min(a.length, Math.floor((c + 1) * per));
    for (let i = Math.floor(c * per); i < e; i++) { const v = a[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
    mn[c] = lo; mx[c] = hi;
  }
  return [mn, mx];
}
const tick = () => new Promise((r) => setTimeout(r, 0));
window.bench = async function (nsamp, mode, reps) {
  const raw = nsamp <= 2 * W;
  const pages = [];
  for (let r = 0; r < reps; r++) {
    const chans = [];
    for (let k = 0; k < NCH; k++) { const d = gen(nsamp, r * 13 + k + 1); chans.push(raw ? d : minmax(d, W)); }
    pages.push(chans);
  }
  const times = [];
  if (mode === "uplot") {
    const root = document.getElementById("u"); root.replaceChildren();
    const n = raw ? nsamp : 2 * W;
    const x = new Float64Array(n); for (let i = 0; i < n; i++) x[i] = i;
    const asLine = (c) => { if (raw) return c; const y = new Float32Array(2 * W); for (let i = 0; i < W; i++) { y[2 * i] = c[0][i]; y[2 * i + 1] = c[1][i]; } return y; };
    const plots = [];
    for (let k = 0; k < NCH; k++) plots.push(new uPlot({ width: W, height: H, legend: { show: false }, cursor: { show: false },
      scales: { x: { time: false } }, axes: [{ show: k === NCH - 1 }, { size: 40 }],
      series: [{}, { stroke: "#111", width: 1, points: { show: false } }] }, [x, asLine(pages[0][k])], root));
    await tick();
    for (let r = 0; r < reps; r++) {
      const ys = pages[r].map(asLine);
      const t0 = performance.now();
      for (let k = 0; k < NCH; k++) plots[k].setData([x, ys[k]]);
      await tick();
      plots.forEach((p) => p.ctx.getImageData(0, 0, 1, 1));
      times.push(performance.now() - t0);
    }
    plots.forEach((p) => p.destroy());
  } else {
    const cv = document.getElementById("c"); cv.width = W; cv.height = NCH * H;
    const ctx = cv.getContext("2d");
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, NCH * H);
      for (let k = 0; k < NCH; k++) {
        const c = pages[r][k], y0 = k * H + H / 2;
        ctx.beginPath(); ctx.strokeStyle = "#111"; ctx.lineWidth = 1;
        if (raw) { const sx = W / nsamp; ctx.moveTo(0, y0 - c[0] * 0.5); for (let i = 1; i < nsamp; i++) ctx.lineTo(i * sx, y0 - c[i] * 0.5); }
        else { for (let i = 0; i < W; i++) { ctx.lineTo(i + 0.5, y0 - c[1][i] * 0.5); ctx.lineTo(i + 0.5, y0 - c[0][i] * 0.5 + 0.5); } }
        ctx.stroke();
      }
      await tick();
      ctx.getImageData(0, 0, 1, 1);
      times.push(performance.now() - t0);
    }
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(reps / 2)], p95: times[Math.min(reps - 1, Math.round(0.95 * (reps - 1)))] };
};
"""

CASES = [
    (8, "8 s window (raw samples)"),
    (30, "30 s window (min/max columns)"),
    (300, "5 min window (min/max columns)"),
]


def _uplot_dir(given: str | None) -> Path | None:
    if given:
        return Path(given)
    if (WORK / "package" / "dist" / "uPlot.iife.min.js").exists():
        return WORK / "package" / "dist"
    npm = shutil.which("npm")
    if not npm:
        return None
    WORK.mkdir(parents=True, exist_ok=True)
    out = subprocess.run([npm, "pack", "uplot@1.6", "--silent"], cwd=WORK, capture_output=True, text=True, timeout=120)
    tgz = WORK / out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else None
    if not tgz or not tgz.exists():
        return None
    with tarfile.open(tgz) as tf:
        tf.extractall(WORK, filter="data")
    return WORK / "package" / "dist"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--uplot", help="folder holding uPlot.iife.min.js (default: npm pack uplot)")
    ap.add_argument("--no-results", action="store_true", help="do not write benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    if not CHROMIUM.exists():
        print("needs /usr/bin/chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    up = _uplot_dir(args.uplot)
    site = HERE / "_work" / "review_plot"
    site.mkdir(parents=True, exist_ok=True)
    (site / "bench.html").write_text(PAGE, encoding="utf-8")
    (site / "bench.js").write_text(BENCH_JS % {"nch": N_CHANNELS, "width": WIDTH, "rowh": ROW_H}, encoding="utf-8")
    modes = ["canvas"]
    if up is not None:
        shutil.copy(up / "uPlot.iife.min.js", site / "uPlot.iife.min.js")
        modes.append("uplot")
    else:
        (site / "uPlot.iife.min.js").write_text("", encoding="utf-8")
        print("uPlot not found (no npm?): timing the canvas only", file=sys.stderr)
    rows = []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = b.new_page(viewport={"width": WIDTH + 80, "height": N_CHANNELS * ROW_H + 40})
        page.goto((site / "bench.html").as_uri())
        for dur, label in CASES:
            for m in modes:
                page.evaluate(f"bench({int(dur * FS)}, '{m}', 5)")  # warm-up (JIT, fonts)
                r = page.evaluate(f"bench({int(dur * FS)}, '{m}', {args.reps})")
                rows.append((label, m, r["p50"], r["p95"]))
        version = b.version
        b.close()
    head = "| window | drawing | p50 ms | p95 ms |\n|---|---|---|---|\n"
    table = head + "".join(f"| {a} | {m} | {p50:.1f} | {p95:.1f} |\n" for a, m, p50, p95 in rows)
    print(table)
    if not args.no_results:
        sys.path.insert(0, str(HERE))
        from _results import update_section

        update_section(
            "## Review page plotting",
            "## Review page plotting\n\n"
            f"`python benchmarks/bench_review_plot.py --reps {args.reps}`: {N_CHANNELS} channels, {WIDTH} px "
            f"wide, {FS} Hz, headless Chromium {version}; draw to pixels, {args.reps} pages each.\n\n" + table,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
