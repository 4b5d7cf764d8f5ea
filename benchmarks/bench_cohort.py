"""Benchmark: cohort throughput (nights per minute) with 1 and 2 local Dask workers.

Run from the repository root::

    .venv/bin/python benchmarks/bench_cohort.py                       # full: 50 nights of 8 h
    .venv/bin/python benchmarks/bench_cohort.py --nights 8 --hours 1  # a smaller configuration

Simulates ``--nights`` nights of ``--hours`` hours once into ``benchmarks/_work/`` (git-ignored;
reused by later runs, simulation time excluded), lists them in a manifest with their
annotation files, then scores the whole cohort with ``run_cohort`` on a fresh LocalCluster of
1, then 2, worker processes (one thread each), each time into an empty output folder.

Reported per configuration: wall time of ``run_cohort`` (cluster start-up included), nights per
minute, mean per-night scoring time, the scaling ratio (rate with N workers / rate with 1), and
the peak RSS of each worker process (``ru_maxrss``, returned with every night's row) after
its first night and at the end, and how much it grew per night after the second (to show
memory does not grow with the nights a worker has done). The markdown table is printed and written into
benchmarks/RESULTS.md under ``## Cohort`` (other sections are kept).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
SECTION = "## Cohort"
WORK = HERE / "_work"


def _simulate_one(args: tuple[int, float, str]) -> str:
    from somnomyo.simulate import simulate_night

    seed, hours, folder = args
    done = Path(folder) / "done"
    if not done.exists():
        paths = simulate_night(seed=seed, hours=hours).write(folder)
        done.write_text(" ".join(f"{k}={Path(v).name}" for k, v in paths.items()))
    return folder


def make_nights(n: int, hours: float, work: Path, jobs: int) -> Path:
    """Simulate the nights (once; existing ones are kept) and write their manifest."""
    folder = work / f"nights-{hours:g}h"
    folder.mkdir(parents=True, exist_ok=True)
    tasks = [(1000 + i, hours, str(folder / f"night{i:03d}")) for i in range(n)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(_simulate_one, tasks))
    lines = ["id,edf,annotations"]
    for _, _, f in tasks:
        files = dict(kv.split("=", 1) for kv in (Path(f) / "done").read_text().split())
        ann = f"{Path(f).name}/{files['annotations']}" if "annotations" in files else ""
        lines.append(f"{Path(f).name},{Path(f).name}/{files['edf']},{ann}")
    manifest = folder / f"manifest-{n}.csv"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def bench(manifest: Path, workers: int, out: Path) -> dict[str, Any]:
    from somnomyo.cohort import run_cohort

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    res = run_cohort(manifest, out, n_jobs=workers, progress=sys.stderr.isatty())
    wall = time.perf_counter() - t0
    df = res.nights
    ok = df[df["status"] == "ok"]
    # ru_maxrss only grows, so a worker's values sorted ascending are its peak after 1, 2, ... nights
    peaks = [sorted(g.dropna().tolist()) for _, g in df.groupby("worker")["peak_rss_mib"]]
    growth = [(p[-1] - p[1]) / (len(p) - 2) for p in peaks if len(p) > 2]
    return {
        "workers": workers,
        "nights": len(df),
        "ok": len(ok),
        "wall_s": wall,
        "per_min": 60.0 * len(df) / wall,
        "score_s": float(ok["time.total_s"].mean()) if len(ok) else float("nan"),
        "rss_first": max(p[0] for p in peaks),
        "rss_max": max(p[-1] for p in peaks),
        "rss_growth": max(growth) if growth else float("nan"),
        "nights_per_worker": "/".join(str(v) for v in df.groupby("worker").size().tolist()),
    }


def table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    base = rows[0]["per_min"]
    full = args.nights >= 50 and args.hours >= 8
    config = f"{args.nights} simulated nights of {args.hours:g} h"
    lines = [
        SECTION,
        "",
        f"Score a cohort of {config} (the simulator's 11-channel EDF+C at 256 Hz with its annotation files, WASM 2016, "
        "default outputs) with `run_cohort` on a fresh LocalCluster of 1, then 2, worker processes "
        "(one thread each). Simulation time excluded.",
        "",
        f"- command: `.venv/bin/python benchmarks/bench_cohort.py --nights {args.nights} --hours {args.hours:g}`"
        + (
            ""
            if full
            else " (a reduced configuration, run because the full one takes too long on this shared "
            "machine now; full: `.venv/bin/python benchmarks/bench_cohort.py --nights 50 --hours 8`)"
        ),
        f"- date: {dt.date.today().isoformat()}",
        f"- machine: {platform.machine()}, nproc {os.cpu_count()}, Python {platform.python_version()}, "
        f"{platform.system()}, load average (1/5/15 min) {args.load} before the runs (shared with other jobs: "
        "timings are indicative; when the cores are already busy, a second worker cannot scale)",
        "- wall s: the whole `run_cohort` call, cluster start-up included; night s: mean scoring + writing "
        "time of one night on a worker; scaling: nights/min relative to 1 worker",
        "- peak RSS: `ru_maxrss` of a worker process (returned with each night's row; worker imports "
        "included), after its first night and at the end of the run (largest over the workers); growth: "
        "MiB the peak rose per night after a worker's second night (about 0: memory bounded by one night). "
        "Dask's profiler is off in the workers (it otherwise adds a few MiB per night)",
        "",
        "| workers | nights (ok) | nights per worker | wall s | nights/min | night s | scaling | "
        "peak RSS MiB after 1st night | peak RSS MiB at end | growth MiB/night |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['workers']} | {r['nights']} ({r['ok']}) | {r['nights_per_worker']} | {r['wall_s']:.1f} | "
            f"{r['per_min']:.2f} | {r['score_s']:.1f} | {r['per_min'] / base:.2f} | {r['rss_first']:.0f} | "
            f"{r['rss_max']:.0f} | {r['rss_growth']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def update_results(section: str, results: Path = RESULTS) -> None:
    """Replace this script's section of RESULTS.md (or append it), keeping the others."""
    from _results import update_section

    update_section(SECTION, section, results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nights", type=int, default=50)
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2)")
    ap.add_argument("--work", type=Path, default=WORK, help="where nights and outputs go (default benchmarks/_work)")
    ap.add_argument("--no-write", action="store_true", help="print the table only (do not update RESULTS.md)")
    ap.add_argument("--make-only", type=str, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make_only:
        print(make_nights(args.nights, args.hours, args.work, jobs=int(args.make_only)))
        return
    # simulate in a child process, so that this parent (whose peak memory the spawned workers
    # would start from) stays small
    print(
        f"simulating {args.nights} nights of {args.hours:g} h into {args.work} (kept for later runs) ...",
        file=sys.stderr,
    )
    res = subprocess.run(
        [
            sys.executable,
            __file__,
            "--make-only",
            str(os.cpu_count() or 1),
            "--nights",
            str(args.nights),
            "--hours",
            str(args.hours),
            "--work",
            str(args.work),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    manifest = Path(res.stdout.strip().splitlines()[-1])
    args.load = " / ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    rows = []
    for n in (int(x) for x in args.workers.split(",")):
        print(f"scoring with {n} worker(s) ...", file=sys.stderr)
        rows.append(bench(manifest, n, args.work / f"out-{n}w"))
    section = table(rows, args)
    print(section)
    if not args.no_write:
        update_results(section)


if __name__ == "__main__":
    main()
