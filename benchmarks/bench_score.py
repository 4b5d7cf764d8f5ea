"""Benchmark: scoring one 8-h night (2 legs at 256 Hz), stage by stage, on one core.

Run from the repository root::

    .venv/bin/python benchmarks/bench_score.py            # --repeats 3 --seed 3

Simulates one 8-h night (``somnomyo.simulate.simulate_night(seed=..., hours=8)``, written to
``benchmarks/_work/``; not timed), then runs every measurement in fresh subprocesses with
``OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1``, best of ``--repeats``:

* stages, called the way ``somnomyo.pipeline.score_night`` calls them, each timed alone:
  EDF read of the channels the pipeline needs, quality checks (every EMG channel), LM
  detection (R peaks once + both legs), PLM scoring, LM + PLM together, and the myoclonus
  detectors (5 EMG channels);
* whole processes (interpreter start, imports, everything): ``score_night(detectors=("plm",))``,
  ``score_night(detectors=("myoclonus",))``, the ``somnomyo score NIGHT --out DIR --detectors plm
  --no-report`` command (the "whole score command", target <= 3 s) and the default
  ``somnomyo score`` command (every detector, outputs and figures); peak RSS is
  the child's own ``ru_maxrss`` (``os.wait4``), the parent stays small (no numpy import).

The markdown table is printed and written into benchmarks/RESULTS.md under ``## Scoring``
(other sections are kept).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "_work"
RESULTS = HERE / "RESULTS.md"
SECTION = "## Scoring"
ONE_CORE = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
TARGETS = {"lm_plm": 1.0, "cli_plm": 3.0, "myoclonus": 2.0}

_SIMULATE = """
import sys
from somnomyo.simulate import simulate_night
simulate_night(seed=int(sys.argv[1]), hours=float(sys.argv[2])).write(sys.argv[3])
"""

# One child: load the night the way score_night does, then time each stage alone (wall and CPU).
_STAGES = """
import json, resource, sys, time
t_start = time.perf_counter()
from pathlib import Path
import numpy as np, pandas as pd
from somnomyo.detect.leg_movements import detect_leg_movements
from somnomyo.detect.myoclonus import detect_myoclonus
from somnomyo.io.channels import infer_roles
from somnomyo.io.edf import read_annotations, read_edf, read_header
from somnomyo.pipeline import EMG_ROLES, _leg_unscorable, load_annotations
from somnomyo.score.plm import score_plm
from somnomyo.settings import get_settings
from somnomyo.signal.ecg import detect_r_peaks
from somnomyo.signal.quality import assess_quality

path, standard = Path(sys.argv[1]), sys.argv[2]
settings = get_settings(standard)
times = {}
def timed(name, f):
    w, c = time.perf_counter(), time.process_time()
    out = f()
    times[name] = {"wall": time.perf_counter() - w, "cpu": time.process_time() - c}
    return out

header = read_header(path)
roles = infer_roles(header.labels)
header.annotations = read_annotations(path)
ann = load_annotations(path, header)
wanted = []
for role in EMG_ROLES + ("ecg",):
    wanted += [lab for lab in roles.all(role) if lab not in wanted]
rec = timed("read", lambda: read_edf(path, channels=wanted, annotations=False))
rec.annotations = header.annotations
hyp = ann.hypnogram.fit_to(rec.duration)

# as score_night: the quality checks reuse each channel's band-pass from the conditioning (its cost
# is in the conditioning, timed with LM detection / myoclonus), so it is done here before the timer
emg_labels = [label for label, sig in rec.signals.items()
              if sig.unit == "uV" and roles.role_of.get(label) in EMG_ROLES]
try:
    from somnomyo.signal.conditioning import _bandpassed
    band = {label: _bandpassed(rec.signals[label].data, rec.signals[label].fs, settings=settings.conditioning)
            for label in emg_labels}
except ImportError:   # older code (a --before run)
    band = {}

def quality():
    out = {}
    for label in emg_labels:
        sig, info = rec.signals[label], rec.channel(label)
        kw = {"filtered": band[label]} if label in band else {}
        try:
            q = assess_quality(sig.data, sig.fs, label=label, role=roles.role_of.get(label),
                               physical_min=info.physical_min, physical_max=info.physical_max, **kw)
        except TypeError:   # older code (a --before run): no filtered=
            q = assess_quality(sig.data, sig.fs, label=label, role=roles.role_of.get(label),
                               physical_min=info.physical_min, physical_max=info.physical_max)
        out[label] = q.unscorable
    return out
unscorable = timed("quality", quality)
band.clear()
ecg = rec.signals[roles.get("ecg")]
legs = {"left": roles.get("leg_left"), "right": roles.get("leg_right")}

def r_peaks():
    try:
        return (detect_r_peaks(ecg.data, ecg.fs, settings=settings.conditioning, max_rate_hz=128.0), ecg.fs)
    except TypeError:   # older code (a --before run)
        return (detect_r_peaks(ecg.data, ecg.fs, settings=settings.conditioning), ecg.fs)

def lm():
    peaks = r_peaks()
    try:   # as score_night: the legs conditioned once (shared with the myoclonus detectors)
        from somnomyo.signal.conditioning import condition_recording
        cond = condition_recording(rec, list(legs.values()), settings=settings.conditioning, r_peaks=peaks)
        det = detect_leg_movements(rec, legs=legs, ecg_label=roles.get("ecg"), settings=settings, r_peaks=peaks,
                                   conditioned=cond)
    except (ImportError, TypeError):   # older code (a --before run)
        cond = {}
        det = detect_leg_movements(rec, legs=legs, ecg_label=roles.get("ecg"), settings=settings, r_peaks=peaks)
    return det, peaks, cond
det, peaks, leg_cond = timed("lm", lm)
def plm(det):
    uns = _leg_unscorable(det.unscorable, unscorable, legs)
    return score_plm(det.events, duration_s=rec.duration, hypnogram=hyp, annotations=ann, unscorable=uns,
                     settings=settings)
res = timed("plm", lambda: plm(det))
timed("lm_plm", lambda: plm(lm()[0]))

def myoclonus():
    # as score_night with every detector: the legs come conditioned from LM detection, the other
    # EMG channels are conditioned here (same recording-wide mains), then the detectors
    try:
        from somnomyo.detect.myoclonus import emg_traces
        from somnomyo.signal.conditioning import condition_recording
        others = [lab for lab, sig in rec.signals.items() if roles.role_of.get(lab) in EMG_ROLES
                  and lab not in leg_cond]
        cond = dict(leg_cond)
        cond.update(condition_recording(rec, others, settings=settings.conditioning, r_peaks=peaks))
        traces = emg_traces(rec, roles, settings=settings, r_peaks=peaks, conditioned=cond)
    except (ImportError, TypeError):
        traces = None
    return detect_myoclonus(rec, roles, hypnogram=hyp, annotations=ann, settings=settings,
                            unscorable=unscorable, r_peaks=peaks, traces=traces)
timed("myoclonus", myoclonus)
print(json.dumps({"times": times, "n_lm": int(len(det.events)), "plms_index": res.summary().get("plms_index"),
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "channels": len(wanted)}))
"""

_SCORE_NIGHT = """
import sys
from somnomyo.pipeline import score_night
score_night(sys.argv[1], standard=sys.argv[2], detectors=tuple(sys.argv[3].split(",")))
"""


# What a plm-only score_night imports (interpreter start + imports: the floor of every process row).
# (scipy.signal and scipy.ndimage are not among them: the LM path uses its own filter design and
# scipy's compiled sosfilt kernel alone, see somnomyo.signal.iir; the myoclonus detectors import them.)
_IMPORTS = (
    "import somnomyo.cli, somnomyo.pipeline, somnomyo.io.edf, somnomyo.io.annotation_readers, "
    "somnomyo.detect.leg_movements, somnomyo.score.plm, somnomyo.signal.quality, "
    "somnomyo.signal.conditioning, somnomyo.interpret"
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(ONE_CORE)
    return env


def run_child(argv: list[str]) -> tuple[str, float, float, float]:
    """Run ``argv``; return (stdout, wall s, child CPU s, child peak RSS MiB) from ``os.wait4``."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=_env(), cwd=ROOT)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text = out.read().decode()
        if proc.returncode:
            raise RuntimeError(f"{argv[:3]} failed ({proc.returncode}): {err.read().decode()[-2000:]}")
    return text, wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024


def simulate(seed: int, hours: float, out: Path) -> Path:
    edf = out / "night.edf"
    if not edf.exists():
        print(f"simulating an {hours:g}-h night (seed {seed}) into {out} ...", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-c", _SIMULATE, str(seed), str(hours), str(out)], check=True, env=_env(), cwd=ROOT
        )
    return edf


def bench(edf: Path, repeats: int, standard: str) -> dict:
    py = sys.executable
    stage_runs = []
    for k in range(repeats):
        text, wall, cpu, rss = run_child([py, "-c", _STAGES, str(edf), standard])
        stage_runs.append(json.loads(text.strip().splitlines()[-1]))
        print(f"  stages run {k + 1}: {json.dumps(stage_runs[-1]['times'])}", file=sys.stderr)
    stages = {
        name: {m: min(r["times"][name][m] for r in stage_runs) for m in ("wall", "cpu")}
        for name in stage_runs[0]["times"]
    }
    procs = {}
    cli = [str(Path(py).with_name("somnomyo")), "-q", "score", str(edf), "--standard", standard]
    for name, argv in (
        ("imports", [py, "-c", _IMPORTS]),
        ("plm_process", [py, "-c", _SCORE_NIGHT, str(edf), standard, "plm"]),
        ("myoclonus_process", [py, "-c", _SCORE_NIGHT, str(edf), standard, "myoclonus"]),
        ("cli_plm", ["--detectors", "plm", "--no-report"]),
        ("cli", []),
    ):
        best = None
        for _ in range(repeats):
            with tempfile.TemporaryDirectory(dir=WORK) as out:
                cmd = argv if name not in ("cli", "cli_plm") else cli + ["--out", out] + argv
                _, wall, cpu, rss = run_child(cmd)
            best = (wall, cpu, rss) if best is None else (min(best[0], wall), min(best[1], cpu), min(best[2], rss))
        procs[name] = {"wall": best[0], "cpu": best[1], "rss_mib": best[2]}
        print(f"  {name}: {procs[name]}", file=sys.stderr)
    return {"stages": stages, "procs": procs, "first": stage_runs[0]}


def table(res: dict, edf: Path, repeats: int, seed: int, standard: str, before: dict | None) -> str:
    st, pr = res["stages"], res["procs"]
    size_mib = edf.stat().st_size / 2**20
    rows = [
        ("EDF read (the channels the pipeline needs)", st["read"], None, "read"),
        (
            "quality checks (every EMG channel; the ECG check on the conditioning's band-pass)",
            st["quality"],
            None,
            "quality",
        ),
        ("LM detection (R peaks once + conditioning of 2 legs + LM rules)", st["lm"], None, "lm"),
        ("PLM scoring", st["plm"], None, "plm"),
        ("LM detection + PLM scoring", st["lm_plm"], TARGETS["lm_plm"], "lm_plm"),
        (
            "myoclonus detectors (5 EMG channels; conditioning of the 3 non-leg channels, legs shared from LM)",
            st["myoclonus"],
            TARGETS["myoclonus"],
            "myoclonus",
        ),
        (
            "process: interpreter start + the imports of a plm-only score (pandas, somnomyo)",
            pr["imports"],
            None,
            "imports",
        ),
        ('process: `score_night(detectors=("plm",))`', pr["plm_process"], None, "plm_process"),
        ('process: `score_night(detectors=("myoclonus",))`', pr["myoclonus_process"], None, "myoclonus_process"),
        (
            "process: `somnomyo score NIGHT --out DIR --detectors plm --no-report` (the whole score command)",
            pr["cli_plm"],
            TARGETS["cli_plm"],
            "cli_plm",
        ),
        (
            "process: `somnomyo score NIGHT --out DIR` (default: every detector, outputs, figures)",
            pr["cli"],
            None,
            "cli",
        ),
    ]
    lines = [
        SECTION,
        "",
        f"One simulated {res['hours']:g}-h night (seed {seed}; `simulate_night(seed={seed}, hours={res['hours']:g})`, "
        f"EDF+C {size_mib:.0f} MiB, {res['first']['channels']} channels read: 5 EMG incl. 2 legs + ECG, all "
        f"256 Hz), `--standard {standard}`, each measurement in a fresh subprocess on one core "
        "(`OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1`), best of "
        f"{repeats}. {res['first']['n_lm']} LMs on the two legs, PLMS index "
        f"{'n/a' if res['first']['plms_index'] is None else format(res['first']['plms_index'], '.2f')}/h.",
        "",
        "- command: `.venv/bin/python benchmarks/bench_score.py`",
        f"- date: {dt.date.today().isoformat()}",
        f"- machine: {platform.machine()}, nproc {os.cpu_count()}, Python {platform.python_version()}, "
        f"{platform.system()}; **shared with other jobs and noisy** (load average "
        f"{res['load']}): wall times are inflated by waiting for a CPU, CPU s (user + system of the stage "
        "or child) is the steadier figure",
        "- stage rows: the call alone, after imports and after the earlier stages (as `score_night` runs "
        "them); process rows: the whole child (interpreter start, imports, EDF read, ...), wall and CPU of "
        "the child, peak RSS = the child's own `ru_maxrss`",
        "",
        "| stage | wall s | CPU s | target s | peak RSS MiB |"
        + (" before: wall s | before: CPU s |" if before else ""),
        "|---|---:|---:|---:|---:|" + ("---:|---:|" if before else ""),
    ]
    for label, t, target, key in rows:
        rss = f"{t['rss_mib']:.0f}" if "rss_mib" in t else ""
        line = f"| {label} | {t['wall']:.2f} | {t['cpu']:.2f} | {'' if target is None else f'<= {target:g}'} | {rss} |"
        if before:
            b = before.get(key)
            line += f" {b['wall']:.2f} | {b['cpu']:.2f} |" if b else " | |"
        lines.append(line)
    if before:
        lines += ["", f"- before: {before.get('_note', 'the same script on the code before this work')}"]
    return "\n".join(lines) + "\n"


def update_results(section: str, results: Path = RESULTS) -> None:
    """Replace this script's section of RESULTS.md (or append it), keeping the others."""
    from _results import update_section

    update_section(SECTION, section, results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--standard", default="wasm2016", choices=("wasm2016", "aasm"))
    ap.add_argument("--before", type=Path, help="JSON of earlier results (from --save) to show beside")
    ap.add_argument("--save", type=Path, help="also write the results as JSON here")
    ap.add_argument("--no-write", action="store_true", help="print the table only, leave RESULTS.md alone")
    args = ap.parse_args()
    WORK.mkdir(exist_ok=True)
    edf = simulate(args.seed, args.hours, WORK / f"sim-{args.hours:g}h-seed{args.seed}")
    res = bench(edf, args.repeats, args.standard)
    res["hours"] = args.hours
    res["load"] = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    if args.save:
        flat = {**res["stages"], **res["procs"]}
        args.save.write_text(json.dumps(flat, indent=1))
    before = json.loads(args.before.read_text()) if args.before else None
    section = table(res, edf, args.repeats, args.seed, args.standard, before)
    print(section)
    if not args.no_write:
        update_results(section)


if __name__ == "__main__":
    main()
