"""Validation on simulated nights: agreement of `score_night` with the simulator's truth, per night kind.

Run from the repository root::

    .venv/bin/python benchmarks/bench_validation.py            # ~2 min on 2 cores
    .venv/bin/python benchmarks/bench_validation.py --hours 8  # longer nights

Simulates one night per kind (default 2 h; seeds fixed) with :func:`somnomyo.simulate.simulate_night`,
writes it to a temporary EDF, scores it with :func:`somnomyo.pipeline.score_night` (both
detector families, the stages from the file) and measures agreement with the designed
events through :func:`somnomyo.validate.match.match_events` (one-to-one, maximal assignment):

* LM: monolateral leg movements, temporal IoU >= 0.5 on the same channel (the usual
  criterion of LM-detection papers, e.g. Carvelli et al. 2020; ``somnomyo validate``'s default);
* PLMS index: detected minus designed (``summary.json`` ``plm.plms_index`` against
  ``truth.json`` ``expected.plms_index``), /h of sleep;
* FM: fragmentary myoclonus potentials, onsets within 0.1 s on the same channel.

F1 is undefined ("-") where the night designs no event of the kind (the infant night):
then the false detections are the figure. Prints a markdown table and writes it into
benchmarks/RESULTS.md under ``## Validation on simulated nights`` (other sections kept).
The detectors are not tuned on these nights; the table shows where they are weak.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

HERE = Path(__file__).resolve().parent
SECTION = "## Validation on simulated nights"
LM_IOU = 0.5
FM_ONSET_S = 0.1
STRONG_ECG_UV = 50.0  # QRS leak peak into the legs, µV (default night: 10 µV)
FAST_HR_BPM = (120.0, 180.0)
FLUCTUATION = 0.5  # SD of the log background level (background_fluctuation)


@dataclass(frozen=True)
class Kind:
    """One night kind: simulator options, rate, seed, and how it is scored."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    fs: float = 256.0
    seed: int = 1
    age: str | None = None
    preset: str = "default"  # SimOptions constructor: default | infant
    same_night_as: str | None = None  # score the night of another kind again (other scoring options)


KINDS = (
    Kind("default (synthetic texture)", seed=1),
    Kind("real-EMG texture (biosppy)", {"emg_texture": "biosppy"}, seed=1),
    Kind("strong ECG leak, 200 Hz", {"ecg_artifact_uv": STRONG_ECG_UV}, fs=200.0, seed=2),
    Kind("strong ECG leak, 256 Hz", {"ecg_artifact_uv": STRONG_ECG_UV}, fs=256.0, seed=3),
    Kind("strong ECG leak, 512 Hz", {"ecg_artifact_uv": STRONG_ECG_UV}, fs=512.0, seed=4),
    Kind("fast heart 120-180 bpm, no ECG channel", {"hr_bpm": FAST_HR_BPM, "ecg_channel": False}, seed=5),
    Kind("same, scored with --age 5y", same_night_as="fast heart 120-180 bpm, no ECG channel", age="5y"),
    Kind("fluctuating baseline", {"baseline_fluctuation": FLUCTUATION}, seed=6),
    Kind(
        "real texture + ECG 30 µV + fluctuation 0.3, 512 Hz",
        {"emg_texture": "biosppy", "ecg_artifact_uv": 30.0, "baseline_fluctuation": 0.3},
        fs=512.0,
        seed=7,
    ),
    Kind("infant (ECG channel, scored with --age 6m)", preset="infant", seed=8, age="6m"),
)


def _matcher():
    from somnomyo.validate.match import MatchRule, match_events, summarize_pairs

    return MatchRule, match_events, summarize_pairs


def agreement(detected: pd.DataFrame, truth: pd.DataFrame, *, method: str, tol: float) -> dict[str, Any]:
    """Counts, precision, recall, F1 of ``detected`` against ``truth`` on the same channel, and
    ``fp_wake``: false detections in stage W (from the detections' ``stage``)."""
    MatchRule, match_events, summarize_pairs = _matcher()
    rule = MatchRule(method=method, min_iou=tol) if method == "iou" else MatchRule(method=method, onset_tolerance_s=tol)
    cols = ["onset", "duration", "channel"]
    det = detected.reset_index(drop=True)
    pairs = match_events(det[cols], truth[cols].reset_index(drop=True), rule=rule, by="channel")
    out = summarize_pairs(pairs)
    fp = pairs.loc[pairs["outcome"] == "false_detection", "detected_index"].astype(int).to_numpy()
    out["fp_wake"] = int((det["stage"].astype(str).to_numpy()[fp] == "W").sum()) if fp.size else 0
    return out


def simulate(kind: Kind, hours: float, out: Path) -> tuple[Any, Path]:
    from somnomyo.simulate import SimOptions, simulate_night

    base = SimOptions.infant() if kind.preset == "infant" else SimOptions()
    night = simulate_night(seed=kind.seed, hours=hours, fs=kind.fs, options=base.with_(**kind.options))
    return night, Path(night.write(out)["edf"])


def measure(kind: Kind, night: Any, edf: Path) -> dict[str, Any]:
    from somnomyo.pipeline import score_night

    t0 = time.perf_counter()
    result = score_night(edf, age=kind.age)
    score_s = time.perf_counter() - t0
    ev = result.events
    truth = night.truth_events()
    s = result.summary()
    lm = agreement(
        ev[ev["trial_type"] == "leg_movement"], truth[truth["trial_type"] == "leg_movement"], method="iou", tol=LM_IOU
    )
    fm = agreement(
        ev[ev["trial_type"] == "fragmentary_myoclonus"],
        truth[truth["trial_type"] == "fragmentary_myoclonus"],
        method="onset",
        tol=FM_ONSET_S,
    )
    exp = night.truth["expected"]
    plms = s["plm"].get("plms_index")
    return {
        "kind": kind.name,
        "fs": night.truth["fs"]["Leg L"],
        "hr": night.truth["ecg"]["hr_bpm"],
        "ecg": "ECG II" in night.labels,
        "age": kind.age or "-",
        "lm": lm,
        "fm": fm,
        "plms_truth": exp["plms_index"],
        "plms_det": plms,
        "plms_err": None if plms is None else plms - exp["plms_index"],
        "score_s": score_s,
    }


def _f1(a: dict[str, Any]) -> str:
    if a["f1"] is None:
        return "-"
    return f"{a['f1']:.3f} ({a['precision']:.2f}/{a['recall']:.2f})"


def table(rows: list[dict[str, Any]], hours: float, wall_s: float) -> str:
    lines = [
        SECTION,
        "",
        f"Agreement of `score_night` with the simulator's truth on one {hours:g}-h night per kind "
        "(`somnomyo.simulate`, seeds fixed; nothing here is tuned on these nights). Matching through "
        "`somnomyo.validate.match.match_events`, one-to-one (maximal assignment) on the same channel: "
        f"LM temporal IoU >= {LM_IOU:g}; FM onsets within {FM_ONSET_S:g} s. F1 (precision/recall); "
        "'-' = undefined (no designed event of the kind: false detections are the figure). PLMS index "
        "error = detected - designed, /h of sleep. Strong ECG leak = "
        f"{STRONG_ECG_UV:g} µV QRS peak in the legs (default 10 µV); fluctuating baseline = SD "
        f"{FLUCTUATION:g} of the log background level, 10-s correlation time. What these nights are "
        "and are not: docs/validation.md.",
        "",
        "- command: `.venv/bin/python benchmarks/bench_validation.py`",
        f"- date: {dt.date.today().isoformat()}",
        f"- machine: {platform.machine()}, Python {platform.python_version()}, {platform.system()}; "
        f"{wall_s:.0f} s in all",
        "",
        "| night kind | EMG Hz | heart bpm | ECG ch. | age | LMs | LM F1 (P/R) | LM FP (in W) | PLMS index "
        "designed | detected | error | FM | FM F1 (P/R) | FM FP (in W) |",
        "|---|---:|---:|:-:|:-:|---:|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        det = "-" if r["plms_det"] is None else f"{r['plms_det']:.1f}"
        err = "-" if r["plms_err"] is None else f"{r['plms_err']:+.1f}"
        lines.append(
            f"| {r['kind']} | {r['fs']:g} | {r['hr']:.0f} | {'yes' if r['ecg'] else 'no'} | {r['age']} | "
            f"{r['lm']['n_reference']} | {_f1(r['lm'])} | {r['lm']['fp']} ({r['lm']['fp_wake']}) | "
            f"{r['plms_truth']:.1f} | {det} | {err} | {r['fm']['n_reference']} | {_f1(r['fm'])} | "
            f"{r['fm']['fp']} ({r['fm']['fp_wake']}) |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=2.0, help="length of every night, h (default 2)")
    ap.add_argument("--only", nargs="*", default=None, help="run only kinds whose name contains a word")
    ap.add_argument("--no-write", action="store_true", help="print the table only")
    args = ap.parse_args()
    kinds = [k for k in KINDS if not args.only or any(w in k.name for w in args.only)]
    t_all = time.perf_counter()
    rows = []
    nights: dict[str, tuple[Any, Path]] = {}
    with tempfile.TemporaryDirectory(prefix="somnomyo_bench_validation_") as tmp:
        for i, kind in enumerate(kinds):
            if kind.same_night_as is not None:
                if kind.same_night_as not in nights:
                    base = next(k for k in KINDS if k.name == kind.same_night_as)
                    nights[base.name] = simulate(base, args.hours, Path(tmp) / f"n{i}b")
                night, edf = nights[kind.same_night_as]
            else:
                night, edf = simulate(kind, args.hours, Path(tmp) / f"n{i}")
                nights[kind.name] = (night, edf)
            rows.append(measure(kind, night, edf))
            r = rows[-1]
            print(
                f"  {kind.name}: LM F1 {r['lm']['f1']}, PLMS err {r['plms_err']}, FM F1 {r['fm']['f1']} "
                f"({r['score_s']:.1f} s scoring)",
                file=sys.stderr,
            )
    section = table(rows, args.hours, time.perf_counter() - t_all)
    print(section)
    if not args.no_write:
        sys.path.insert(0, str(HERE))
        from _results import update_section

        update_section(SECTION, section)


if __name__ == "__main__":
    main()
