"""Accuracy benchmark: how tall a fragmentary-myoclonus (FM) potential must be, on hard simulated nights.

Run from the repository root::

    .venv/bin/python benchmarks/bench_fm_amplitude.py            # prints the tables, updates RESULTS.md
    .venv/bin/python benchmarks/bench_fm_amplitude.py --hours 1  # a quick look (not written)

Two questions, on simulated 2-h adult nights with known truth (``somnomyo.simulate``):

1. **Where the FM potentials missed under strong ECG leak go.** One night design (seed 4) made
   at 256 and 512 Hz with QRS leaks of 10 (default), 50 and 100 µV into the EMG, scored as
   ``score`` does before the amplitude rules below: the potentials missed, the same ones whatever
   the leak, and the envelope amplitude the detector measured on them.
2. **The amplitude rules** (``myoclonus.fm_min_background_ratio``, ``fm_clear_min_amplitude_uv``,
   ``fm_clear_background_ratio``) against the 20-µV floor alone (``fm_min_background_ratio = 0``,
   ``fm_clear_min_amplitude_uv = 20``), on the night kinds of ``bench_validation.py`` that have FM.

FM matched one-to-one on the same channel, onsets within 0.1 s (``somnomyo.validate.match``).
The tables go into benchmarks/RESULTS.md under ``## Fragmentary myoclonus amplitude``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work" / "fm_amplitude"
SECTION = "## Fragmentary myoclonus amplitude"
FM = "fragmentary_myoclonus"
LEAKS = ((256.0, 10.0), (512.0, 10.0), (512.0, 50.0), (512.0, 100.0))  # (EMG Hz, QRS leak µV)
KIND_NAMES = (
    "default (synthetic texture)",
    "real-EMG texture (biosppy)",
    "strong ECG leak, 200 Hz",
    "strong ECG leak, 256 Hz",
    "strong ECG leak, 512 Hz",
    "fast heart 120-180 bpm, no ECG channel",
    "fluctuating baseline",
    "real texture + ECG 30 µV + fluctuation 0.3, 512 Hz",
)


def _floor_only() -> Any:
    from somnomyo.settings import get_settings

    return get_settings().with_overrides(myoclonus={"fm_min_background_ratio": 0.0, "fm_clear_min_amplitude_uv": 20.0})


def _fm_pairs(events: Any, truth: Any) -> Any:
    from somnomyo.validate.match import MatchRule, match_events

    cols = ["onset", "duration", "channel"]
    return match_events(
        events.loc[events["trial_type"] == FM, cols].reset_index(drop=True),
        truth.loc[truth["trial_type"] == FM, cols].reset_index(drop=True),
        rule=MatchRule(method="onset", onset_tolerance_s=0.1),
        by="channel",
    )


def _counts(events: Any, truth: Any) -> dict[str, Any]:
    pairs = _fm_pairs(events, truth)
    oc = pairs["outcome"].astype(str).to_numpy()
    tp, fn, fp = int((oc == "match").sum()), int((oc == "miss").sum()), int((oc == "false_detection").sum())
    det = events.loc[events["trial_type"] == FM].reset_index(drop=True)
    fp_rows = pairs.loc[pairs["outcome"] == "false_detection", "detected_index"].astype(int).to_numpy()
    fp_w = int((det["stage"].astype(str).to_numpy()[fp_rows] == "W").sum()) if fp_rows.size else 0
    f1 = 2 * tp / max(1, 2 * tp + fp + fn)
    p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return {"tp": tp, "fn": fn, "fp": fp, "fp_w": fp_w, "f1": f1, "p": p, "r": r, "pairs": pairs}


def leak_sweep(hours: float) -> list[dict[str, Any]]:
    """Question 1: the misses of one design at two rates and three leaks (floor-only rules)."""
    import somnomyo.detect.fragmentary as fragmentary
    from somnomyo.detect.bursts import channel_bursts
    from somnomyo.pipeline import score_night
    from somnomyo.simulate import SimOptions, simulate_night

    bursts: dict[str, Any] = {}
    original = fragmentary.fm_candidates

    def recording(trace: Any, *, settings: Any, lm_intervals: Any = None) -> Any:
        out = original(trace, settings=settings, lm_intervals=lm_intervals)
        bursts[trace.label] = channel_bursts(trace, settings)
        return out

    rows = []
    fragmentary.fm_candidates = recording
    try:
        for fs, leak in LEAKS:
            bursts.clear()
            night = simulate_night(seed=4, hours=hours, fs=fs, options=SimOptions().with_(ecg_artifact_uv=leak))
            edf = night.write(WORK / f"leak-{fs:g}-{leak:g}-{hours:g}")["edf"]
            ev = score_night(edf, settings=_floor_only()).events
            truth = night.truth_events()
            c = _counts(ev, truth)
            fm_t = truth.loc[truth["trial_type"] == FM].reset_index(drop=True)
            missed = c["pairs"].loc[c["pairs"]["outcome"] == "miss", "reference_index"].astype(int).to_numpy()
            amps, keys = [], set()
            for i in missed:
                t = fm_t.iloc[i]
                b = bursts.get(str(t["channel"]))
                keys.add((str(t["channel"]), round(float(t["onset"]), 2)))
                if b is None or b.empty:
                    continue
                near = (b["onset"] < t["onset"] + t["duration"] + 0.1) & (b["onset"] + b["duration"] > t["onset"] - 0.1)
                if near.any():
                    amps.append(float(b.loc[near, "amplitude_uv"].max()))
            rows.append({"fs": fs, "leak": leak, **c, "keys": keys, "amps": amps, "n_ref": len(fm_t)})
    finally:
        fragmentary.fm_candidates = original
    return rows


def rules(hours: float) -> list[dict[str, Any]]:
    """Question 2: the floor alone against the amplitude rules, per night kind."""
    sys.path.insert(0, str(HERE))
    import bench_validation as bv

    from somnomyo.pipeline import score_night
    from somnomyo.settings import get_settings

    rows = []
    for kind in bv.KINDS:
        if kind.name not in KIND_NAMES:
            continue
        night, edf = bv.simulate(kind, hours, WORK / f"kind-{bv.KINDS.index(kind)}-{hours:g}")
        truth = night.truth_events()
        row: dict[str, Any] = {"kind": kind.name, "fs": kind.fs}
        for name, st in (("floor", _floor_only()), ("rules", get_settings())):
            row[name] = _counts(score_night(edf, age=kind.age, settings=st).events, truth)
        rows.append(row)
    return rows


def _fmt(c: dict[str, Any]) -> str:
    return f"{c['f1']:.3f} ({c['p']:.2f}/{c['r']:.2f})"


def tables(sweep: list[dict[str, Any]], kinds: list[dict[str, Any]]) -> str:
    first = sweep[1]["keys"] if len(sweep) > 1 else set()
    out = [
        "| EMG Hz | QRS leak µV | FM designed | missed | missed that the 10-µV 512-Hz night misses too | "
        "envelope amplitude of the missed, µV (min-max) | FM F1 (P/R) |",
        "|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in sweep:
        same = len(r["keys"] & first) if r["fs"] == 512.0 else "-"
        amp = f"{min(r['amps']):.0f}-{max(r['amps']):.0f}" if r["amps"] else "-"
        out.append(f"| {r['fs']:g} | {r['leak']:g} | {r['n_ref']} | {r['fn']} | {same} | {amp} | {_fmt(r)} |")
    out += [
        "",
        "| night kind | EMG Hz | FM F1 (P/R), 20-µV floor alone | FP (in W) | FM F1 (P/R), amplitude rules | FP (in W) |",
        "|---|---:|---|---:|---|---:|",
    ]
    for r in kinds:
        a, b = r["floor"], r["rules"]
        out.append(
            f"| {r['kind']} | {r['fs']:g} | {_fmt(a)} | {a['fp']} ({a['fp_w']}) | {_fmt(b)} | {b['fp']} ({b['fp_w']}) |"
        )
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--no-write", action="store_true", help="print only, do not update RESULTS.md")
    args = ap.parse_args()
    t0 = time.perf_counter()
    sweep = leak_sweep(args.hours)
    kinds = rules(args.hours)
    tab = tables(sweep, kinds)
    print(tab)
    if args.no_write or args.hours != 2.0:
        return 0
    import platform

    misses = [r["fn"] for r in sweep]
    section = (
        f"{SECTION}\n\n"
        "How tall a fragmentary-myoclonus potential must be (docs/rules.md §6.2), on simulated 2-h adult nights "
        "with known truth; FM matched one-to-one on the same channel, onsets within 0.1 s.\n\n"
        "- command: `.venv/bin/python benchmarks/bench_fm_amplitude.py`\n"
        f"- date: {dt.date.today().isoformat()}\n"
        f"- machine: {platform.machine()}, Python {platform.python_version()}, {platform.system()}; "
        f"{time.perf_counter() - t0:.0f} s in all\n"
        "- first table (one night design, seed 4, at two rates and three QRS leaks; scored with the 20-µV floor "
        f"alone): the potentials missed under a strong ECG leak ({', '.join(map(str, misses))} missed) are "
        "the same ones at every leak: the leak is not the cause. They are brief potentials whose envelope peak "
        "(15-ms envelope of the 10-100 Hz conditioned EMG) stays under the 20-µV floor although they stand well "
        "above a quiet background; at 512 Hz more of a potential's power lies above the 100-Hz conditioning "
        "band than at 256 Hz (where the recording itself stops at 115 Hz), so the same design loses more of "
        "them\n"
        "- second table: the amplitude rules (a potential stands >= 8 x its background; from 10 µV where it "
        "stands >= 15 x) against the floor alone. Crossings of a fluctuating or textured background (3-6 x "
        "their background; FM potentials stand 25-70 x) were most false detections there\n\n" + tab
    )
    sys.path.insert(0, str(HERE))
    from _results import update_section

    update_section(SECTION, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
