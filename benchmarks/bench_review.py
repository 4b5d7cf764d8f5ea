"""Benchmark of the review server (`somnomyo review`) on an 8-h night, 12 channels at 256 Hz.

A night is simulated (the simulator's 11 channels plus a 12th EEG derivation), scored, and
served by a real `somnomyo review --no-browser` process; then, over HTTP with its token:

* time to first overview: process start -> GET /api/overview answered (the server checks the
  folder and the recording's SHA-256, replays the journal and rescores before it listens);
* signal window latency (GET /api/signal, every channel, width 1600): 30-s and 5-min windows at
  positions spread over the night, p50 / p95;
* rescoring latency after an edit (PATCH /api/events/{id} round trip, the reviewed night rescored
  by somnomyo.rescore before the answer), p50 / p95;
* server memory: resident set (VmRSS) and its peak (VmHWM) after the requests, beside the size
  of the 12 channels of the whole night as float32 (what loading them all would take);
* key press -> drawn in the browser (headless Chromium via Playwright, the page's own
  ``window.somnomyoReview.latencies``: from the keydown to the epoch drawn): ``N_KEYS`` presses of
  the right arrow (next 30-s page) and ``N_KEYS`` of ``j`` with the j/k filter on leg movements
  (jumps to the next LM, most of them on a page not yet shown), ``KEY_PAUSE_S`` apart (a scorer
  looks at each page; the page prefetches meanwhile), p50 / p95.

The same is measured with 20,000 events on the night: fragmentary-myoclonus events are
synthesized into events.tsv (the manifest rebuilt), as excessive fragmentary myoclonus yields.

    .venv/bin/python benchmarks/bench_review.py            # prints the table, updates RESULTS.md
    .venv/bin/python benchmarks/bench_review.py --hours 1  # a quick look (not written)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work" / "review"
N_EVENTS_LARGE = 20_000
WIDTH = 1600
N_WINDOWS = 12
N_EDITS = 10  # of each kind in EDIT_KINDS
EDIT_KINDS = ("accept", "reject", "adjust", "add")
N_KEYS = 20
KEY_PAUSE_S = 0.5
CHROMIUM = Path("/usr/bin/chromium")
LOAD_AT_START: list[float] = []


def _prepare(hours: float, seed: int) -> Path:
    """Simulate (12 channels), score; returns the results folder (cached in benchmarks/_work)."""
    from somnomyo.cli import main
    from somnomyo.io.recording import Signal
    from somnomyo.simulate import simulate_night

    root = WORK / f"h{hours:g}-s{seed}"
    res = root / "results"
    if (res / "manifest.json").is_file():
        return res
    shutil.rmtree(root, ignore_errors=True)
    night = simulate_night(seed=seed, hours=hours)
    c3 = next(s for s in night.signals if s.label.startswith("EEG C3"))
    rng = np.random.default_rng(seed)
    night.signals.append(Signal("EEG O1-M2", c3.data * 0.8 + rng.normal(0, 5, c3.data.size), c3.fs, unit=c3.unit))
    paths = night.write(root / "sim")
    edf = Path(paths["edf"]) if "edf" in paths else root / "sim" / "night.edf"
    t = time.perf_counter()
    assert main(["score", str(edf), "--out", str(res), "--no-report", "-q"]) == 0
    print(f"scored the {hours:g}-h night in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return res


def _with_many_events(res: Path, n_total: int, seed: int) -> Path:
    """A copy of ``res`` whose events.tsv holds ``n_total`` events (fragmentary myoclonus added in
    sleep on the EMG channels); the manifest is rebuilt so the folder checks out."""
    from somnomyo.events import concat_events, read_events_tsv, write_events_tsv
    from somnomyo.io.results_folder import MANIFEST_FILE, build_manifest
    from somnomyo.rescore import ScoringContext

    dst = res.parent / f"results-{n_total}"
    if (dst / MANIFEST_FILE).is_file():
        return dst
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(res, dst, ignore=shutil.ignore_patterns("review"))
    ev = read_events_tsv(dst / "events.tsv")
    ctx = ScoringContext.from_folder(dst)
    n_new = max(0, n_total - len(ev))
    hyp = ctx.hypnogram
    stages = np.asarray(hyp.stages)
    sleep_epochs = np.flatnonzero(np.isin(stages, ["N1", "N2", "N3", "R"]))
    rng = np.random.default_rng(seed)
    ep = rng.choice(sleep_epochs, n_new)
    onset = np.round(hyp.start + ep * hyp.epoch_s + rng.uniform(0, hyp.epoch_s - 0.2, n_new), 4)
    roles = {r: labs for r, labs in ctx.roles.by_role.items() if labs}
    emg = [(lab, r) for r in ("leg_left", "leg_right", "chin", "arm_left", "arm_right") for lab in roles.get(r, [])]
    pick = rng.integers(0, len(emg), n_new)
    import pandas as pd

    fm = pd.DataFrame(
        {
            "onset": onset,
            "duration": np.round(rng.uniform(0.02, 0.14, n_new), 4),
            "trial_type": "fragmentary_myoclonus",
            "channel": [emg[i][0] for i in pick],
            "stage": stages[ep],
            "amplitude_uv": np.round(rng.uniform(30, 200, n_new), 4),
            "muscles": [emg[i][1] for i in pick],
            "extent": "focal",
            "arousal": False,
        }
    )
    write_events_tsv(concat_events([ev, fm]), dst / "events.tsv")
    man = json.loads((dst / MANIFEST_FILE).read_text())
    new = build_manifest(
        dst,
        recording=man["recording"]["path"],
        recording_sha256=man["recording"]["sha256"],
        standard=man.get("standard"),
        command=man.get("command"),
    )
    new["inputs"] = man.get("inputs", [])
    (dst / MANIFEST_FILE).write_text(json.dumps(new, indent=1))
    return dst


class _Server:
    def __init__(self, folder: Path, scorer: str) -> None:
        shutil.rmtree(folder / "review", ignore_errors=True)
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from somnomyo.cli import main; sys.exit(main())",
                "review",
                str(folder),
                "--no-browser",
                "--scorer",
                scorer,
                "-q",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        url = self.proc.stdout.readline().strip()
        if "?token=" not in url:
            raise RuntimeError(f"server did not start: {url!r} {self.proc.stderr.read() if self.proc.stderr else ''}")
        self.t_url = time.perf_counter()
        self.base, self.token = url.split("/?token=")

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", **({"Content-Type": "application/json"} if data else {})},
        )
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read())

    def memory_mb(self) -> tuple[float, float]:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        kb = {ln.split(":")[0]: float(ln.split()[1]) for ln in status.splitlines() if ln.startswith(("VmRSS", "VmHWM"))}
        return kb.get("VmRSS", float("nan")) / 1024, kb.get("VmHWM", float("nan")) / 1024

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _ms(samples: list[float]) -> tuple[float, float]:
    a = np.asarray(samples) * 1000.0
    return float(np.percentile(a, 50)), float(np.percentile(a, 95))


def measure(folder: Path) -> dict[str, Any]:
    srv = _Server(folder, "Bench Scorer")
    try:
        ov = srv.call("GET", "/api/overview")
        t_overview = time.perf_counter() - srv.t0
        t_after_url = time.perf_counter() - srv.t_url
        duration = ov["recording"]["duration_s"]
        channels = [c["label"] for c in ov["channels"]]
        out: dict[str, Any] = {
            "events": ov["events_total"],
            "channels": len(channels),
            "hours": duration / 3600,
            "overview_s": t_overview,
            "overview_after_url_s": t_after_url,
        }
        rng = np.random.default_rng(0)
        q = "&".join("channels=" + urllib.request.quote(c) for c in channels)
        srv.call("GET", f"/api/signal?start=60&duration=30&width={WIDTH}&{q}")  # first window (night mains)
        for win in (30.0, 300.0):
            times = []
            for start in rng.uniform(0, duration - win, N_WINDOWS):
                t = time.perf_counter()
                body = srv.call("GET", f"/api/signal?start={start:.2f}&duration={win:g}&width={WIDTH}&{q}")
                times.append(time.perf_counter() - t)
                assert len(body["channels"]) == len(channels)
            out[f"signal_{int(win)}s_ms"] = _ms(times)
        lms = srv.call("GET", "/api/events?kind=leg_movement")
        times: dict[str, list[float]] = {kind: [] for kind in EDIT_KINDS}
        for i in range(N_EDITS):  # each kind of edit in turn, each on another LM
            for k, kind in enumerate(EDIT_KINDS):
                lm = lms[(7 * (len(EDIT_KINDS) * i + k)) % len(lms)]
                t = time.perf_counter()
                if kind == "add":  # a missed LM 12 s after this one, on its channel
                    new = {"onset": lm["onset"] + 12.0, "duration": 1.2, "trial_type": "leg_movement"}
                    srv.call("POST", "/api/events", {**new, "channel": lm["channel"]})
                elif kind == "adjust":  # its offset dragged 0.2 s later
                    srv.call("PATCH", f"/api/events/{lm['id']}", {"duration": lm["duration"] + 0.2})
                else:
                    srv.call(
                        "PATCH", f"/api/events/{lm['id']}", {"status": "rejected" if kind == "reject" else "accepted"}
                    )
                times[kind].append(time.perf_counter() - t)
        out["edit_ms"] = _ms([x for v in times.values() for x in v])
        for kind, v in times.items():
            out[kind + "_ms"] = _ms(v)
        t = time.perf_counter()
        srv.call("GET", "/api/events?start=3600&end=3630")
        out["events_page_ms"] = (time.perf_counter() - t) * 1000
        out["keys_ms"] = _browser_keys(srv)
        out["rss_mb"], out["peak_mb"] = srv.memory_mb()
        out["channels_f32_mb"] = len(channels) * duration * 256 * 4 / 2**20
        return out
    finally:
        srv.close()


def _browser_keys(srv: _Server) -> dict[str, tuple[float, float]]:
    """Key press -> drawn (ms, p50 / p95) for paging and for j-jumps, measured by the page itself."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("playwright not installed: no key-press figures", file=sys.stderr)
        return {}
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} missing: no key-press figures", file=sys.stderr)
        return {}
    out: dict[str, tuple[float, float]] = {}
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = b.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(f"{srv.base}/?token={srv.token}")
            page.wait_for_selector("body[data-ready=yes]")
            page.wait_for_timeout(1000)
            page.select_option("#jk-kind", "leg_movement")
            for name, key in (("page", "ArrowRight"), ("jump", "j")):
                page.focus("#epoch")
                page.keyboard.press("Home")
                page.wait_for_timeout(int(KEY_PAUSE_S * 1000))
                n0 = len(page.evaluate("window.somnomyoReview.latencies"))
                for _ in range(N_KEYS):
                    before = int(page.get_attribute("body", "data-draws") or 0)
                    page.keyboard.press(key)
                    try:
                        page.wait_for_function("(n) => +document.body.dataset.draws > n", arg=before, timeout=20_000)
                    except Exception:  # nothing drawn: no further event (a short night)
                        break
                    page.wait_for_timeout(int(KEY_PAUSE_S * 1000))
                lat = page.evaluate("window.somnomyoReview.latencies")[n0:]
                out[name] = (float(np.percentile(lat, 50)), float(np.percentile(lat, 95))) if lat else (np.nan, np.nan)
                out[name + "_n"] = (float(len(lat)), 0.0)
        finally:
            b.close()
    return out


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| events | first overview (s) | 30-s window p50 / p95 (ms) | 5-min window p50 / p95 (ms) | "
        "edit + rescore p50 / p95 (ms) | events of a 30-s page (ms) | server RSS / peak (MB) | "
        "12 channels as float32 (MB) | key -> drawn, next page p50 / p95 (ms) | key -> drawn, j to next LM "
        "p50 / p95 (ms; pages changed) |\n|---|---|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r['events']} | {r['overview_s']:.2f} ({r['overview_after_url_s']:.2f} after the URL) | "
        f"{r['signal_30s_ms'][0]:.0f} / {r['signal_30s_ms'][1]:.0f} | {r['signal_300s_ms'][0]:.0f} / "
        f"{r['signal_300s_ms'][1]:.0f} | {r['edit_ms'][0]:.0f} / {r['edit_ms'][1]:.0f} "
        f"({_edits(r)}) | "
        f"{r['events_page_ms']:.0f} | "
        f"{r['rss_mb']:.0f} / {r['peak_mb']:.0f} | {r['channels_f32_mb']:.0f} | "
        f"{_pair(r.get('keys_ms', {}).get('page'))} | {_pair(r.get('keys_ms', {}).get('jump'))}"
        f" ({int(r.get('keys_ms', {}).get('jump_n', (0, 0))[0])}) |\n"
        for r in rows
    )
    return head + body


def _edits(r: dict[str, Any]) -> str:
    return ", ".join(f"{k} {r[k + '_ms'][0]:.0f} / {r[k + '_ms'][1]:.0f}" for k in EDIT_KINDS)


def _pair(v: tuple[float, float] | None) -> str:
    return "n/a" if not v else f"{v[0]:.0f} / {v[1]:.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--no-write", action="store_true", help="print only, do not update RESULTS.md")
    args = ap.parse_args()
    LOAD_AT_START[:] = os.getloadavg()
    res = _prepare(args.hours, args.seed)
    rows = [measure(res), measure(_with_many_events(res, N_EVENTS_LARGE, args.seed))]
    tab = table(rows)
    print(tab)
    if args.no_write or args.hours != 8.0:
        return
    sys.path.insert(0, str(HERE))
    from _results import update_section

    cpu = os.cpu_count()
    load = ", ".join(f"{x:.1f}" for x in LOAD_AT_START)
    section = (
        "## Review server\n\n"
        f"`benchmarks/bench_review.py`: an {args.hours:g}-h simulated night, 12 channels at 256 Hz, served by "
        "`somnomyo review --no-browser` (uvicorn, one process), requests over HTTP on 127.0.0.1 from another "
        f"process; {cpu} CPU cores (load average {load} at the start). First overview: from starting the process "
        "(folder and recording SHA-256 checked, journal replayed, night rescored) to GET /api/overview "
        f"answered. Windows: GET /api/signal of all 12 channels at width {WIDTH} (min/max per column; leg "
        "channels with envelope, baseline and thresholds), conditioned as scored, "
        f"{N_WINDOWS} positions each. Edit: PATCH accept / reject / adjust (offset +0.2 s) of an LM and POST of a new LM, "
        f"answered after rescoring (somnomyo.rescore) and the journal fsync, {N_EDITS} edits of each kind. Key -> drawn: headless Chromium "
        f"(Playwright), 1600x1000, the page's own measure from keydown to the epoch drawn, {N_KEYS} right-arrow "
        f"presses and {N_KEYS} `j` presses (j/k filter: leg movements; only those that changed page are "
        f"timed), {KEY_PAUSE_S:g} s apart. 20,000 events: fragmentary "
        "myoclonus synthesized into events.tsv. The server warms the rescoring once the overview is answered "
        "(one rescoring of the automatic table fills the scoring steps' memo), so the first edit, like every "
        "later one, rescores only the steps whose events it changes; an accept rescores nothing.\n\n" + tab
    )
    update_section("## Review server", section)


if __name__ == "__main__":
    main()
