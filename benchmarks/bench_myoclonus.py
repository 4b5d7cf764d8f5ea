"""Benchmark: every myoclonus detector on an 8-h night with 5 EMG channels, on one core.

Run from the repository root::

    .venv/bin/python benchmarks/bench_myoclonus.py

Simulates an 8-h, 256-Hz night once (``simulate_night(seed=3)``, default options: chin,
two legs, two arms, ECG) and saves its EMG and ECG channels and hypnogram to a temporary
``.npz``. Then, three times, a fresh subprocess (``OMP_NUM_THREADS=1`` and the other BLAS
thread limits) loads it and times, after imports and loading:

* conditioning: :func:`somnomyo.detect.myoclonus.emg_traces` (R peaks from the ECG channel,
  band-pass, mains and ECG removal, 15-ms envelope) - the part shared with LM detection;
* detectors: :func:`somnomyo.detect.myoclonus.detect_myoclonus` on those traces, with the
  per-detector split from ``MyoclonusResult.timings``.

Reports the best of the three runs for each number, prints a markdown table and writes it
into benchmarks/RESULTS.md under ``## Myoclonus detectors`` (other sections are kept).
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
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
SECTION = "## Myoclonus detectors"
HOURS = 8.0
FS = 256.0
SEED = 3
TARGET_S = 2.0
KEEP = ("EMG Chin", "Leg L", "Leg R", "Arm L", "Arm R", "ECG II")
STEPS = ("fragmentary", "jerks", "hypnic", "clusters", "negative", "rem")
ONE_CORE = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}

_CHILD = """
import json, sys, time
import numpy as np
from somnomyo.detect.myoclonus import detect_myoclonus, emg_traces
from somnomyo.io.annotations import Hypnogram
from somnomyo.io.channels import infer_roles
from somnomyo.io.recording import ChannelInfo, Recording, Signal
from somnomyo.settings import get_settings

d = np.load(sys.argv[1])
labels = [str(x) for x in d["labels"]]
fs = float(d["fs"])
sigs = {lab: Signal(lab, d["sig%d" % k], fs, "uV") for k, lab in enumerate(labels)}
chans = [ChannelInfo(lab, fs, "uV") for lab in labels]
rec = Recording(path=None, start=None, duration=float(d["duration"]), channels=chans, signals=sigs)
hyp = Hypnogram(np.asarray([str(s) for s in d["stages"]]), epoch_s=30.0, source="annotations")
settings = get_settings()
roles = infer_roles(rec.labels)
t0 = time.perf_counter()
traces = emg_traces(rec, roles, settings=settings)
t1 = time.perf_counter()
res = detect_myoclonus(rec, roles, hypnogram=hyp, settings=settings, traces=traces)
t2 = time.perf_counter()
s = res.summary()
print(json.dumps({"conditioning_s": t1 - t0, "detectors_s": t2 - t1, "steps": res.timings,
                  "n_traces": len(traces), "n_events": int(len(res.events)),
                  "fm": s["fragmentary_myoclonus"]["count"], "jerks": s["jerks"]["count"],
                  "hypnic": s["hypnic_jerks"]["count"], "nm": s["negative_myoclonus"]["count"]}))
"""


def make_night(path: Path) -> dict:
    """Simulate the night and save the EMG + ECG channels and the hypnogram; return the truth counts."""
    from somnomyo.simulate import SimOptions, simulate_night

    night = simulate_night(seed=SEED, hours=HOURS, fs=FS, options=SimOptions())
    arrays = {f"sig{k}": night.signal(lab).data.astype(np.float32) for k, lab in enumerate(KEEP)}
    np.savez(
        path, labels=np.array(KEEP), fs=FS, duration=night.duration, stages=np.array(night.truth["stages"]), **arrays
    )
    e = night.truth["expected"]
    return {
        "fm": e["n_fm"],
        "jerks": e["n_myoclonic_jerks"],
        "hypnic": e["n_hypnic_jerks"],
        "nm": e["n_negative_myoclonus"],
    }


def run_child(path: Path) -> dict:
    env = dict(os.environ, **ONE_CORE)
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path)], check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(runs: list[dict], truth: dict) -> str:
    best = {
        "conditioning_s": min(r["conditioning_s"] for r in runs),
        "detectors_s": min(r["detectors_s"] for r in runs),
        **{k: min(r["steps"][k] for r in runs) for k in STEPS},
    }
    r0 = runs[0]
    ok = "meets" if best["detectors_s"] <= TARGET_S else "misses"
    lines = [
        SECTION,
        "",
        f"Every myoclonus detector on an {HOURS:g}-h night with {r0['n_traces']} EMG channels (chin, legs, arms) at "
        f"{FS:g} Hz (`simulate_night(seed={SEED})`, default options), in a fresh subprocess on one core "
        "(`OMP_NUM_THREADS=1`), best of "
        f"{len(runs)}.",
        "",
        "- command: `.venv/bin/python benchmarks/bench_myoclonus.py`",
        f"- date: {dt.date.today().isoformat()}",
        f"- machine: {platform.machine()}, nproc {os.cpu_count()}, Python {platform.python_version()}, "
        f"{platform.system()} (shared with other jobs: timings are indicative)",
        "- conditioning: `emg_traces` (R peaks from the ECG channel; band-pass, mains and ECG removal, "
        "15-ms envelope, per channel): `signal/*`, shared with LM detection, reported apart",
        f"- detectors: `detect_myoclonus(..., traces=...)`, everything after conditioning; target <= {TARGET_S:g} s "
        f"({ok} it)",
        f"- counts (detected / designed): FM {r0['fm']} / {truth['fm']}, myoclonic jerks {r0['jerks']} / "
        f"{truth['jerks']}, hypnic jerks {r0['hypnic']} / {truth['hypnic']}, negative myoclonus {r0['nm']} / "
        f"{truth['nm']}; {r0['n_events']} event rows",
        "",
        "| step | seconds |",
        "|---|---:|",
        f"| conditioning (shared) | {best['conditioning_s']:.2f} |",
        f"| **detectors, total** | **{best['detectors_s']:.2f}** |",
    ]
    lines += [f"| - {k} | {best[k]:.3f} |" for k in STEPS]
    return "\n".join(lines) + "\n"


def update_results(section: str, results: Path = RESULTS) -> None:
    """Replace this script's section of RESULTS.md (or append it), keeping the others."""
    from _results import update_section

    update_section(SECTION, section, results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-write", action="store_true", help="print the table only")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="somnomyo_bench_myoclonus_") as tmp:
        path = Path(tmp) / "night8h.npz"
        print(f"simulating an {HOURS:g}-h night ...", file=sys.stderr)
        truth = make_night(path)
        runs = []
        for k in range(args.repeats):
            runs.append(run_child(path))
            print(
                f"  run {k + 1}: conditioning {runs[-1]['conditioning_s']:.2f} s, "
                f"detectors {runs[-1]['detectors_s']:.2f} s",
                file=sys.stderr,
            )
    section = table(runs, truth)
    print(section)
    if not args.no_write:
        update_results(section)


if __name__ == "__main__":
    main()
