"""Benchmark: somnomyo's PLM scoring side by side with psgscoring's, on simulated nights.

Run from the repository root::

    .venv/bin/python benchmarks/bench_vs_psgscoring.py            # --seeds 1 2 3 --hours 8

psgscoring is never installed into the project's environment: it runs in its own virtual
environment, ``--psg-python`` (default: ``benchmarks/_work/venv-psg/bin/python``, else
``/tmp/venv-psg/bin/python``; when neither exists, ``benchmarks/_work/venv-psg`` is created
with ``python3 -m venv`` and ``pip install psgscoring``, which needs the network, and the
script says so). ``benchmarks/_work/`` is git-ignored.

For every seed one night is simulated (``simulate_night(seed=..., hours=...)``, 256 Hz;
not timed). Both tools get the same data: the two leg EMG arrays in µV as somnomyo reads them
(saved as .npy for psgscoring), the simulator's hypnogram and its apneas/hypopneas
(``resp_events``); somnomyo reads the same stages and respiratory events from the EDF+
annotations. Each run is a fresh subprocess on one core (``OMP/OPENBLAS/MKL_NUM_THREADS=1``):

* PLM part: somnomyo ``detect_leg_movements`` (R peaks once + 2 legs) + ``score_plm``;
  psgscoring ``psgscoring.plm.analyze_plm(leg_l, leg_r, sf, hypno, resp_events,
  leg_unit="uV", event_list_cap=None)`` (its LM detection included);
* whole: somnomyo ``score_night(path, detectors=("plm",))`` in a fresh interpreter (imports,
  EDF read, quality checks, LM, PLM); psgscoring: a fresh interpreter (imports, loading the
  two arrays, ``analyze_plm``; it reads no EDF);
* LM agreement (``somnomyo.score.agreement.match_events``, IoU >= 0.5, per leg): somnomyo's
  monolateral LMs vs psgscoring's per-leg LMs (``psgscoring.plm._detect_lm_channel``, the
  function ``analyze_plm`` runs on each leg, same defaults), and each against the simulator's
  truth (``truth.json`` ``leg_movements``, every simulated LM);
* PLMS index of each vs ``truth["expected"]["plms_index"]``.

The markdown table is printed and written into benchmarks/RESULTS.md under
``## psgscoring side by side`` (other sections are kept).
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
SECTION = "## psgscoring side by side"
ONE_CORE = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
PSG_VENV = WORK / "venv-psg"
PSG_FALLBACK = Path("/tmp/venv-psg")

_SIMULATE = """
import sys
from somnomyo.simulate import simulate_night
simulate_night(seed=int(sys.argv[1]), hours=float(sys.argv[2])).write(sys.argv[3])
"""

# somnomyo, PLM part: load as score_night does (not timed), then LM detection + PLM scoring (timed).
_OURS = """
import json, sys, time
from pathlib import Path
import numpy as np
from somnomyo.detect.leg_movements import detect_leg_movements
from somnomyo.io.channels import infer_roles
from somnomyo.io.edf import read_annotations, read_edf, read_header
from somnomyo.pipeline import EMG_ROLES, _leg_unscorable, load_annotations
from somnomyo.score.plm import score_plm
from somnomyo.settings import get_settings
from somnomyo.signal.ecg import detect_r_peaks
from somnomyo.signal.quality import assess_quality

path, standard, npy_dir = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
settings = get_settings(standard)
header = read_header(path)
roles = infer_roles(header.labels)
header.annotations = read_annotations(path)
ann = load_annotations(path, header)
legs = {"left": roles.get("leg_left"), "right": roles.get("leg_right")}
ecg_label = roles.get("ecg")
rec = read_edf(path, channels=list(legs.values()) + [ecg_label], annotations=False)
rec.annotations = header.annotations
hyp = ann.hypnogram.fit_to(rec.duration)
quality = {}
for lab in legs.values():
    sig, info = rec.signals[lab], rec.channel(lab)
    quality[lab] = assess_quality(sig.data, sig.fs, label=lab, role=roles.role_of.get(lab),
                                  physical_min=info.physical_min, physical_max=info.physical_max).unscorable
for side, lab in legs.items():                 # the arrays psgscoring gets (µV, float64)
    np.save(npy_dir / f"leg_{side}.npy", np.asarray(rec.signals[lab].data, dtype=np.float64))
w, c = time.perf_counter(), time.process_time()
ecg = rec.signals[ecg_label]
peaks = (detect_r_peaks(ecg.data, ecg.fs, settings=settings.conditioning), ecg.fs)
det = detect_leg_movements(rec, legs=legs, ecg_label=ecg_label, settings=settings, r_peaks=peaks)
plm = score_plm(det.events, duration_s=rec.duration, hypnogram=hyp, annotations=ann,
                unscorable=_leg_unscorable(det.unscorable, quality, legs), settings=settings)
wall, cpu = time.perf_counter() - w, time.process_time() - c
ev = det.events
print(json.dumps({"wall": wall, "cpu": cpu, "fs": float(rec.signals[legs["left"]].fs),
                  "plms_index": plm.summary().get("plms_index"),
                  "lms": {"onset": ev["onset"].tolist(), "duration": ev["duration"].tolist(),
                          "side": ev["side"].astype(str).tolist()}}))
"""

_OURS_WHOLE = """
import json, sys
from somnomyo.pipeline import score_night
night = score_night(sys.argv[1], standard=sys.argv[2], detectors=("plm",))
print(json.dumps({"plms_index": night.blocks["plm"].get("plms_index")}))
"""

# psgscoring, in its own environment: whole = this process; PLM part = analyze_plm.
_PSG = """
import json, sys, time
import numpy as np
from psgscoring import plm as P
npy_dir, fs = sys.argv[1], float(sys.argv[2])
night = json.load(open(sys.argv[3]))
leg_l = np.load(npy_dir + "/leg_left.npy")
leg_r = np.load(npy_dir + "/leg_right.npy")
w, c = time.perf_counter(), time.process_time()
res = P.analyze_plm(leg_l, leg_r, fs, night["hypno"], resp_events=night["resp_events"], leg_unit="uV",
                    event_list_cap=None)
wall, cpu = time.perf_counter() - w, time.process_time() - c
if not res.get("success"):
    raise SystemExit("analyze_plm failed: " + str(res.get("error")))
lms = {"onset": [], "duration": [], "side": []}
if len(sys.argv) > 4:    # per-leg LMs, as analyze_plm finds them (not timed)
    for side, x in (("left", leg_l), ("right", leg_r)):
        for lm in P._detect_lm_channel(x, fs, unit="uV"):
            lms["onset"].append(lm["onset_s"]); lms["duration"].append(lm["duration_s"]); lms["side"].append(side)
print(json.dumps({"wall": wall, "cpu": cpu, "plms_index": res["summary"].get("plm_index"),
                  "n_plm": res["summary"].get("n_plm"), "lms": lms}))
"""

SLEEP = ("N1", "N2", "N3", "R")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(ONE_CORE)
    return env


def run_child(argv: list[str]) -> tuple[dict, float, float]:
    """Run ``argv``; return (its last stdout line as JSON, wall s, child CPU s)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=_env(), cwd=ROOT)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status):
            raise RuntimeError(f"{argv[:3]} failed: {err.read().decode()[-2000:]}")
        lines = out.read().decode().strip().splitlines()
    return (json.loads(lines[-1]) if lines else {}), wall, ru.ru_utime + ru.ru_stime


def psg_python(arg: Path | None) -> Path:
    """psgscoring's interpreter; creates benchmarks/_work/venv-psg when none is found."""
    if arg is not None:
        return arg
    for venv in (PSG_VENV, PSG_FALLBACK):
        py = venv / "bin" / "python"
        if py.exists() and subprocess.run([str(py), "-c", "import psgscoring"], capture_output=True).returncode == 0:
            return py
    print(
        f"psgscoring not found: creating {PSG_VENV} (python3 -m venv; pip install psgscoring; needs the "
        "network) - it is never installed into the project's environment",
        file=sys.stderr,
    )
    subprocess.run(["python3", "-m", "venv", str(PSG_VENV)], check=True)
    subprocess.run([str(PSG_VENV / "bin" / "pip"), "install", "psgscoring"], check=True)
    return PSG_VENV / "bin" / "python"


def simulate(seed: int, hours: float) -> Path:
    out = WORK / f"sim-{hours:g}h-seed{seed}"
    if not (out / "night.edf").exists():
        print(f"simulating an {hours:g}-h night (seed {seed}) ...", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-c", _SIMULATE, str(seed), str(hours), str(out)], check=True, env=_env(), cwd=ROOT
        )
    return out


def f1(detected: dict, reference: dict) -> float | None:
    import pandas as pd

    from somnomyo.score.agreement import match_events

    return match_events(pd.DataFrame(detected), pd.DataFrame(reference), min_iou=0.5, by="side").f1


def bench_seed(seed: int, hours: float, psg: Path, repeats: int) -> dict:
    night = simulate(seed, hours)
    edf = night / "night.edf"
    truth = json.loads((night / "truth.json").read_text())
    inputs = night / "psg-input.json"
    inputs.write_text(
        json.dumps(
            {
                "hypno": [s if s in SLEEP else "W" for s in truth["stages"]],
                "resp_events": [{"onset_s": a["onset"], "duration_s": a["duration"]} for a in truth["apneas"]],
            }
        )
    )
    ref = {
        "onset": [m["onset"] for m in truth["leg_movements"]],
        "duration": [m["duration"] for m in truth["leg_movements"]],
        "side": [m["side"] for m in truth["leg_movements"]],
    }
    row: dict = {"seed": seed, "truth_plmsi": truth["expected"].get("plms_index"), "n_truth_lm": len(ref["onset"])}
    for standard in ("wasm2016", "aasm"):
        part = [run_child([sys.executable, "-c", _OURS, str(edf), standard, str(night)])[0] for _ in range(repeats)]
        best = {**min(part, key=lambda r: r["wall"]), "cpu": min(r["cpu"] for r in part)}
        whole = [run_child([sys.executable, "-c", _OURS_WHOLE, str(edf), standard]) for _ in range(repeats)]
        row[standard] = {
            "plm_wall": best["wall"],
            "plm_cpu": best["cpu"],
            "plmsi": best["plms_index"],
            "whole_wall": min(w for _, w, _ in whole),
            "whole_cpu": min(c for _, _, c in whole),
            "lms": best["lms"],
            "fs": best["fs"],
        }
        print(
            f"  seed {seed} somnomyo {standard}: {best['wall']:.2f} s PLM part, "
            f"{row[standard]['whole_wall']:.2f} s whole",
            file=sys.stderr,
        )
    fs = row["wasm2016"]["fs"]
    runs = [run_child([str(psg), "-c", _PSG, str(night), str(fs), str(inputs)]) for _ in range(repeats)]
    first = run_child([str(psg), "-c", _PSG, str(night), str(fs), str(inputs), "lms"])[0]  # + per-leg LMs, not timed
    row["psg"] = {
        "plm_wall": min(r["wall"] for r, _, _ in runs),
        "plm_cpu": min(r["cpu"] for r, _, _ in runs),
        "whole_wall": min(w for _, w, _ in runs),
        "whole_cpu": min(c for _, _, c in runs),
        "plmsi": first["plms_index"],
        "lms": first["lms"],
    }
    print(
        f"  seed {seed} psgscoring: {row['psg']['plm_wall']:.2f} s PLM part, {row['psg']['whole_wall']:.2f} s whole",
        file=sys.stderr,
    )
    for key in ("wasm2016", "aasm", "psg"):
        row[key]["f1_truth"] = f1(row[key]["lms"], ref)
        row[key]["n_lm"] = len(row[key]["lms"]["onset"])
    for key in ("wasm2016", "aasm"):
        row[key]["f1_psg"] = f1(row[key]["lms"], row["psg"]["lms"])
    for key in ("wasm2016", "aasm", "psg"):
        del row[key]["lms"]
    return row


def _settings_text(standard: str) -> str:
    """The LM/CLM/PLM/respiratory settings that differ between the standards, from the settings object."""
    from somnomyo.settings import get_settings

    st = get_settings(standard)
    lm_max = "no maximum" if st.lm.max_duration_s is None else f"<= {st.lm.max_duration_s:g} s"
    bil = (
        f"bilateral LMs combined when < {st.clm.bilateral_gap_s:g} s apart (offset to onset)"
        if st.clm.bilateral_rule == "gap"
        else f"bilateral LMs combined when onsets < {st.clm.bilateral_onset_s:g} s apart"
    )
    resp = f"respiratory exclusion {st.respiratory.before_s:g} s before to {st.respiratory.after_s:g} s after " + (
        "the event's end" if st.respiratory.anchor == "end" else "the event"
    )
    return (
        f"`--standard {standard}` (LM >= {st.lm.min_duration_s:g} s, {lm_max}"
        f"{', morphology rule' if st.lm.morphology_rule else ''}; {bil}; IMI {st.plm.imi_min_s:g}-"
        f"{st.plm.imi_max_s:g} s, series >= {st.plm.min_series}; {resp})"
    )


def _fmt(v: float | None, spec: str = ".2f") -> str:
    return "n/a" if v is None else format(v, spec)


def table(rows: list[dict], hours: float, repeats: int, psg: Path, psg_version: str) -> str:
    lines = [
        SECTION,
        "",
        f"psgscoring {psg_version} (its own venv, `{psg}`) and somnomyo on the same simulated {hours:g}-h nights "
        f"(seeds {', '.join(str(r['seed']) for r in rows)}; 2 legs at 256 Hz): the same leg arrays in µV, the "
        "simulator's hypnogram and apneas/hypopneas. Fresh subprocess per run, one core "
        f"(`OMP/OPENBLAS/MKL_NUM_THREADS=1`), best of {repeats}.",
        "",
        "- command: `.venv/bin/python benchmarks/bench_vs_psgscoring.py`",
        f"- date: {dt.date.today().isoformat()}",
        f"- machine: {platform.machine()}, nproc {os.cpu_count()}, Python {platform.python_version()}, "
        f"{platform.system()}; **shared with other jobs and noisy** (load average "
        f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}): times are indicative, the ratio more than the seconds",
        "- PLM part: somnomyo `detect_leg_movements` (R peaks once, band-pass, mains and ECG removal, "
        'adaptive baseline, LM rules) + `score_plm`; psgscoring `analyze_plm(..., leg_unit="uV", '
        "event_list_cap=None)` (its LM detection included). Whole: a fresh interpreter; somnomyo "
        '`score_night(detectors=("plm",))` (imports, EDF read of legs + ECG + other EMG, quality checks '
        "of 5 EMG channels, LM, PLM); psgscoring: imports, `np.load` of the two arrays, `analyze_plm` (no EDF "
        "read, no quality checks)",
        "- LM F1: `match_events`, IoU >= 0.5, per leg; truth = every simulated LM of `truth.json` "
        "(`leg_movements`, incl. wake and > 10 s LMs); psgscoring's per-leg LMs from "
        "`psgscoring.plm._detect_lm_channel` (what `analyze_plm` runs on each leg)",
        f"- settings: somnomyo {_settings_text('wasm2016')}; somnomyo {_settings_text('aasm')}; "
        "both: 10-100 Hz band-pass, mains and ECG removal, adaptive resting baseline (60-s look-back), "
        "onset +8 µV, offset after 0.5 s at <= +2 µV; psgscoring: AASM-based, 10-100 Hz band-pass, RMS "
        "of 0.1-s windows (25 samples at 256 Hz), one resting level per night (10th percentile of the RMS), "
        "LM while RMS > rest + 8 µV (offset at the same threshold: `offset_aasm=False`), 0.5-10 s, bilateral "
        "merge when onsets <= 0.5 s apart, wake LMs dropped, respiratory exclusion -0.5/+0.5 s "
        '(`resp_exclusion="aasm"`), series >= 4 with IMI 5-90 s, index per hour of non-wake epochs; '
        "no ECG or mains removal",
        "",
        "| seed | tool | PLM part wall s | PLM part CPU s | whole wall s | whole CPU s | psgscoring / somnomyo (PLM part CPU) "
        "| LMs | LM F1 vs truth | LM F1 vs psgscoring | PLMS index | truth PLMS index |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        psg_cpu = r["psg"]["plm_cpu"]
        for key, name in (("wasm2016", "somnomyo wasm2016"), ("aasm", "somnomyo aasm"), ("psg", "psgscoring")):
            d = r[key]
            ratio = _fmt(psg_cpu / d["plm_cpu"], ".1f") + "x" if key != "psg" and d["plm_cpu"] > 0 else ""
            lines.append(
                f"| {r['seed']} | {name} | {d['plm_wall']:.2f} | {d['plm_cpu']:.2f} | {d['whole_wall']:.2f} | "
                f"{d['whole_cpu']:.2f} | {ratio} | {d['n_lm']} | {_fmt(d['f1_truth'])} | "
                f"{_fmt(d.get('f1_psg')) if key != 'psg' else ''} | {_fmt(d['plmsi'], '.1f')} | "
                f"{_fmt(r['truth_plmsi'], '.1f')} |"
            )
    return "\n".join(lines) + "\n"


def update_results(section: str, results: Path = RESULTS) -> None:
    """Replace this script's section of RESULTS.md (or append it), keeping the others."""
    from _results import update_section

    update_section(SECTION, section, results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--repeats", type=int, default=1, help="runs per measurement (best kept)")
    ap.add_argument("--psg-python", type=Path, help="python of an environment with psgscoring")
    ap.add_argument("--save", type=Path, help="also write the rows as JSON here")
    ap.add_argument("--no-write", action="store_true", help="print the table only, leave RESULTS.md alone")
    args = ap.parse_args()
    WORK.mkdir(exist_ok=True)
    psg = psg_python(args.psg_python)
    version = subprocess.run(
        [str(psg), "-c", "import importlib.metadata as m; print(m.version('psgscoring'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    rows = [bench_seed(seed, args.hours, psg, args.repeats) for seed in args.seeds]
    if args.save:
        args.save.write_text(json.dumps(rows, indent=1))
    section = table(rows, args.hours, args.repeats, psg, version)
    print(section)
    if not args.no_write:
        update_results(section)


if __name__ == "__main__":
    main()
