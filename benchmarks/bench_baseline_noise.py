"""Accuracy benchmark: the LM baseline with and without its noise term (``baseline.noise_k``).

Run from the repository root::

    .venv/bin/python benchmarks/bench_baseline_noise.py             # 8-h nights, seeds 1-2
    .venv/bin/python benchmarks/bench_baseline_noise.py --hours 4   # shorter nights

Simulated adult nights with known truth (:func:`somnomyo.simulate.simulate_night`, written to
EDF under ``benchmarks/_work/baseline_noise/`` and reused) are scored by
:func:`somnomyo.pipeline.score_night` (PLM detectors only) with the resting baseline of
:mod:`somnomyo.signal.baseline` without a noise term (``noise_k = 0``) and with k x the moving
SD of the rectified EMG added (MATPLM ``dt_rev1.m`` adds 5 x), for every LM rule or for the
offset rule only (``baseline.noise_applies_to``). Nights: default; small LMs (10-25 µV RMS,
20/h of wake, 4 awakenings/h);
fluctuating EMG background (``baseline_fluctuation``, in wake and sleep); strong ECG leak (50 µV
QRS peak in the legs, ECG channel recorded); ECG leak without an ECG channel (30 µV, the beats
found in the EMG); real-EMG texture (``emg_texture="biosppy"``). The first two must not get
worse; the others are the hard nights. Figures, against the truth through
:func:`somnomyo.validate.match.match_events` (one-to-one, same channel):

* LM F1 (precision/recall), temporal IoU >= 0.5 (as ``benchmarks/bench_validation.py``), and
  the false LMs (those in stage W);
* PLMS index error: ``summary.json`` ``plm.plms_index`` minus ``truth.json``
  ``expected.plms_index``, /h of sleep;
* median |offset error| of the IoU matches, s, and the LMs whose offset runs > 0.5 s late
  (onsets matched within 0.5 s, so LMs too long for the IoU rule are counted too).

Prints a markdown table and writes it into benchmarks/RESULTS.md under
``## LM baseline noise term`` (other sections kept).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work" / "baseline_noise"
SECTION = "## LM baseline noise term"
LM_IOU = 0.5
ONSET_TOL_S = 0.5
LATE_S = 0.5
#: (noise_k, noise_window_s, noise_applies_to) scored on every night; k = 0: no noise term
VARIANTS: tuple[tuple[float, float, str], ...] = (
    (0.0, 2.0, "offset"),
    (5.0, 0.5, "onset_and_offset"),
    (5.0, 2.0, "onset_and_offset"),
    (3.0, 2.0, "offset"),
    (5.0, 0.5, "offset"),
    (5.0, 2.0, "offset"),
)
SMALL_LM_UV = (10.0, 25.0)
#: real surface EMG (BioSPPy example recordings, as tests/test_signal_conditioning.py reads them)
REAL = HERE.parent.parent / "shared" / "data" / "real" / "biosppy"
REAL_FS = 1000.0
REAL_ACTIVATIONS_S = ((14.0, 17.0), (24.0, 27.0))  # onsets of the two activations of emg_bursts.txt
SEEDS = (1, 2)
FLUCTUATION = 0.5  # SD of the log background level
#: (name, simulator options, hard night?); the not-hard nights must not get worse
NIGHTS: tuple[tuple[str, dict[str, Any], bool], ...] = (
    ("default", {}, False),
    (
        f"small LMs {SMALL_LM_UV[0]:g}-{SMALL_LM_UV[1]:g} µV, many in wake",
        {"lm_amplitude_uv": SMALL_LM_UV, "wake_lm_per_h": 20.0, "awakenings_per_h": 4.0},
        False,
    ),
    ("fluctuating background 0.5 (W and sleep)", {"baseline_fluctuation": FLUCTUATION}, True),
    ("strong ECG leak 50 µV", {"ecg_artifact_uv": 50.0}, True),
    ("ECG leak 30 µV, no ECG channel", {"ecg_artifact_uv": 30.0, "ecg_channel": False}, True),
    ("real-EMG texture (biosppy)", {"emg_texture": "biosppy"}, True),
)


def night_files(name: str, options: dict[str, Any], seed: int, hours: float) -> tuple[Path, pd.DataFrame, float]:
    """The night's EDF (simulated once, then reused), its truth events and designed PLMS index."""
    from somnomyo.simulate import SimOptions, simulate_night
    from somnomyo.simulate.truth import truth_events

    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    d = WORK / f"{slug}-s{seed}-{hours:g}h"
    if not (d / "night.edf").exists() or not (d / "truth.json").exists():
        simulate_night(seed=seed, hours=hours, options=SimOptions().with_(**options)).write(d)
    truth = json.loads((d / "truth.json").read_text(encoding="utf-8"))
    return d / "night.edf", truth_events(truth), float(truth["expected"]["plms_index"])


def lm_figures(detected: pd.DataFrame, truth: pd.DataFrame) -> dict[str, Any]:
    """LM agreement of ``detected`` with ``truth`` (see the module docstring)."""
    from somnomyo.validate.match import MatchRule, match_events, summarize_pairs

    cols = ["onset", "duration", "channel"]
    det = detected.reset_index(drop=True)
    ref = truth[cols].reset_index(drop=True)
    pairs = match_events(det[cols], ref, rule=MatchRule(method="iou", min_iou=LM_IOU), by="channel")
    out = summarize_pairs(pairs)
    fp = pairs.loc[pairs["outcome"] == "false_detection", "detected_index"].astype(int).to_numpy()
    out["fp_wake"] = int((det["stage"].astype(str).to_numpy()[fp] == "W").sum()) if fp.size else 0
    off = np.abs(pairs.loc[pairs["outcome"] == "match", "offset_diff_s"].to_numpy(float))
    out["offset_abs_median_s"] = float(np.median(off)) if off.size else float("nan")
    by_onset = match_events(det[cols], ref, rule=MatchRule(method="onset", onset_tolerance_s=ONSET_TOL_S), by="channel")
    late = by_onset.loc[by_onset["outcome"] == "match", "offset_diff_s"].to_numpy(float)
    out["late"] = int((late > LATE_S).sum())
    return out


def score(edf: Path, k: float, window_s: float, scope: str) -> tuple[pd.DataFrame, float | None, float]:
    """LM events and PLMS index of ``edf`` scored with noise term ``k`` over ``window_s`` for the
    rules ``scope`` names (``baseline.noise_applies_to``), and the seconds it took."""
    from somnomyo.pipeline import score_night
    from somnomyo.settings import get_settings

    st = get_settings().with_overrides(baseline={"noise_k": k, "noise_window_s": window_s, "noise_applies_to": scope})
    t0 = time.perf_counter()
    result = score_night(edf, settings=st, detectors=("plm",))
    wall = time.perf_counter() - t0
    ev = result.events
    return ev[ev["trial_type"] == "leg_movement"], result.summary()["plm"].get("plms_index"), wall


def real_recordings(v: tuple[float, float, str]) -> dict[str, Any] | None:
    """LMs in the real BioSPPy recordings with variant ``v``: how many of the two activations of
    ``emg_bursts.txt`` an LM starts in, the LMs found there, and the LMs in ``emg_rest.txt`` (none
    expected); None when the files are absent."""
    from somnomyo.detect.leg_movements import detect_lms
    from somnomyo.settings import get_settings

    if not (REAL / "emg_bursts.txt").exists():
        return None
    st = get_settings().with_overrides(baseline={"noise_k": v[0], "noise_window_s": v[1], "noise_applies_to": v[2]})
    out: dict[str, Any] = {}
    for name in ("emg_bursts", "emg_rest"):
        x = np.loadtxt(REAL / f"{name}.txt")
        ev = detect_lms(x - x.mean(), REAL_FS, settings=st).events  # 12-bit ADC units taken as µV
        out[name] = [(float(o), float(o + d)) for o, d in zip(ev["onset"], ev["duration"])]
    out["found"] = sum(any(lo < o < hi for o, _ in out["emg_bursts"]) for lo, hi in REAL_ACTIVATIONS_S)
    return out


def _spans(lms: list[tuple[float, float]]) -> str:
    return ", ".join(f"{a:.1f}-{b:.1f}" for a, b in lms) or "none"


def _label(v: tuple[float, float, str]) -> str:
    return "off" if v[0] == 0 else f"k = {v[0]:g}, {v[1]:g} s, {v[2].replace('_', ' ')}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=8.0, help="length of every night, h (default 8)")
    ap.add_argument("--seeds", type=int, nargs="*", default=list(SEEDS), help="simulator seeds (default 1 2)")
    ap.add_argument("--no-write", action="store_true", help="print the table only")
    args = ap.parse_args()
    t_all = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for name, options, hard in NIGHTS:
        for seed in args.seeds:
            edf, truth, plms_truth = night_files(name, options, seed, args.hours)
            tl = truth[truth["trial_type"] == "leg_movement"]
            for v in VARIANTS:
                lms, plms, wall = score(edf, *v)
                f = lm_figures(lms, tl)
                rows.append(
                    {"night": name, "hard": hard, "seed": seed, "v": v, "plms_truth": plms_truth, "plms": plms, **f}
                )
                print(
                    f"  {name} s{seed} {_label(v)}: LM F1 {f['f1']:.3f} fp {f['fp']} late {f['late']} "
                    f"PLMS {plms} (truth {plms_truth:.1f}) [{wall:.0f} s]",
                    file=sys.stderr,
                    flush=True,
                )
    real = {v: real_recordings(v) for v in VARIANTS}
    section = table(rows, real, args.hours, args.seeds, time.perf_counter() - t_all)
    print(section)
    if not args.no_write:
        sys.path.insert(0, str(HERE))
        from _results import update_section

        update_section(SECTION, section)
    return 0


def _verdict(
    rows: list[dict[str, Any]], real: dict[tuple[float, float, str], dict[str, Any] | None]
) -> tuple[tuple[float, float, str] | None, str]:
    """The best variant: better LM F1 on the hard nights (mean over nights and seeds) with a PLMS
    |error| not worse there, and on every not-hard night (default, small LMs; each seed) LM F1
    within 0.005 and PLMS |error| not worse, and on the real recordings as many activations found
    and no more LMs at rest as without the term; None when no variant qualifies."""
    df = pd.DataFrame(rows)
    df["plms_abs"] = (df["plms"].astype(float) - df["plms_truth"]).abs()
    df["vi"] = [VARIANTS.index(v) for v in df["v"]]
    g = df.groupby(["hard", "vi"])[["f1", "plms_abs"]].mean()
    easy = df[~df["hard"]].groupby(["night", "vi"])[["f1", "plms_abs"]].mean()
    each = df[~df["hard"]].set_index(["night", "seed", "vi"])[["f1", "plms_abs"]]
    nights = each.index.droplevel("vi").unique()
    off_hard = g.loc[(True, 0)]
    best, best_f1 = None, float(off_hard["f1"])
    for i, v in enumerate(VARIANTS[1:], start=1):
        h = g.loc[(True, i)]
        ok_easy = all(
            each.loc[(night, seed, i), "f1"] >= each.loc[(night, seed, 0), "f1"] - 0.005
            and each.loc[(night, seed, i), "plms_abs"] <= each.loc[(night, seed, 0), "plms_abs"] + 1e-9
            for night, seed in nights
        )
        r, r0 = real[v], real[VARIANTS[0]]
        ok_real = r is None or r0 is None or (r["found"] >= r0["found"] and len(r["emg_rest"]) <= len(r0["emg_rest"]))
        if ok_easy and ok_real and h["f1"] > best_f1 and h["plms_abs"] <= off_hard["plms_abs"] + 1e-9:
            best, best_f1 = v, float(h["f1"])
    top = int(g.loc[True]["f1"].idxmax())
    if VARIANTS[top] != best:
        worse = "; ".join(
            f"{night}: LM F1 {easy.loc[(night, top), 'f1']:.3f} (off {easy.loc[(night, 0), 'f1']:.3f}), "
            f"PLMS |error| {easy.loc[(night, top), 'plms_abs']:.2f}/h (off {easy.loc[(night, 0), 'plms_abs']:.2f})"
            for night in easy.index.get_level_values("night").unique()
        )
        rejected = (
            f"; the best on the hard nights, {_label(VARIANTS[top])}, is worse where it must not be "
            f"(means over seeds): {worse}"
        )
    else:
        rejected = ""
    means = "; ".join(
        f"{'hard' if hard else 'default and small-LM'} nights {_label(VARIANTS[i])}: LM F1 {r['f1']:.3f}, "
        f"PLMS |error| {r['plms_abs']:.2f}/h"
        for (hard, i), r in g.iterrows()
    )
    return best, means + rejected


def table(
    rows: list[dict[str, Any]],
    real: dict[tuple[float, float, str], dict[str, Any] | None],
    hours: float,
    seeds: list[int],
    wall_s: float,
) -> str:
    best, means = _verdict(rows, real)
    lines = [
        "| night | seed | noise term | LMs | LM F1 (P/R) | LM FP (in W) | PLMS index designed | error | "
        "median abs offset error s | offsets > 0.5 s late |",
        "|---|---:|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        err = "-" if r["plms"] is None else f"{round(float(r['plms']) - r['plms_truth'], 2) + 0.0:+.2f}"
        f1 = "-" if r["f1"] is None else f"{r['f1']:.3f} ({r['precision']:.2f}/{r['recall']:.2f})"
        lines.append(
            f"| {r['night']} | {r['seed']} | {_label(r['v'])} | {r['n_reference']} | {f1} | {r['fp']} ({r['fp_wake']}) "
            f"| {r['plms_truth']:.1f} | {err} | {r['offset_abs_median_s']:.3f} | {r['late']} |"
        )
    verdict = (
        f"adopted: `baseline.noise_k = {best[0]:g}`, `noise_window_s = {best[1]:g}`, `noise_applies_to = "
        f'"{best[2]}"` are the defaults (better LM F1 on the hard nights, not worse on any default or '
        "small-LM night, and the best on the hard nights of those that are not)"
        if best is not None
        else "not adopted: no variant is better on the hard nights without being worse on a default or "
        "small-LM night or on the real recordings; `baseline.noise_k` stays 0 (off)"
    )
    real_lines = [
        "",
        f"Real surface EMG (BioSPPy example recordings `emg_bursts.txt`, `emg_rest.txt`, {REAL_FS:g} Hz, "
        "12-bit ADC units taken as µV; the recordings of tests/test_signal_conditioning.py): activations "
        "starting at 14-17 s and 24-27 s expected in the first, no LM in the second.",
        "",
        "| noise term | activations found (of 2) | LMs in emg_bursts, s | LMs in emg_rest |",
        "|---|---:|---|---:|",
    ] + [
        f"| {_label(v)} | {r['found']} | {_spans(r['emg_bursts'])} | {len(r['emg_rest'])} |"
        for v, r in real.items()
        if r is not None
    ]
    if all(r is None for r in real.values()):
        real_lines = ["", f"Real recordings not checked ({REAL} absent)."]
    head = [
        SECTION,
        "",
        f"Simulated {hours:g}-h adult nights (seeds {', '.join(map(str, seeds))}) scored (PLM detectors) with the "
        "LM resting baseline without a noise term and with k x the moving SD of the rectified conditioned EMG "
        "over a window (0.5 or 2 s) added before the look-back filters (`baseline.noise_k`, `noise_window_s`; "
        "MATPLM dt_rev1.m adds 5 x), used by every LM rule ('onset and offset', MATPLM) or by the offset rule "
        "only ('offset': the +8 µV onset, amplitude and morphology stay relative to the resting level); the "
        "15-µV unscorable rule looks at the level without the term. Small LMs: "
        f"{SMALL_LM_UV[0]:g}-{SMALL_LM_UV[1]:g} µV RMS (default 30-100), 20 LMs per hour of wake (default 4) and "
        "4 awakenings per hour of sleep (default 1.5). LM F1 "
        f"(precision/recall) by `somnomyo.validate.match.match_events`, IoU >= {LM_IOU:g} on the same channel; "
        "PLMS index error = detected - designed, /h of sleep; offset error over the IoU matches; late offsets "
        f"counted over onset matches (within {ONSET_TOL_S:g} s). Fluctuating background = SD {FLUCTUATION:g} of "
        "the log background level, 10-s correlation time, in every stage.",
        "",
        "- command: `.venv/bin/python benchmarks/bench_baseline_noise.py"
        + ("" if hours == 8 else f" --hours {hours:g}")
        + "`",
        f"- date: {dt.date.today().isoformat()}",
        f"- machine: {platform.machine()}, Python {platform.python_version()}, {platform.system()}; "
        f"{wall_s:.0f} s in all",
        f"- means over seeds: {means}",
        f"- verdict: {verdict}",
        "- reading: the rectified SD of Gaussian-like EMG is ~0.75 x its rectified mean, so the term scales the "
        "level (k = 3: ~3x the resting level) more than it measures the background's fluctuation. It ends offsets "
        "that a fluctuating background held up (late offsets 7-14 -> 0-3 per night) and removes most false LMs "
        "of the real-EMG texture, but on every rule (MATPLM) it misses small LMs, and on the offset rule alone "
        "it cuts uneven real bursts (the BioSPPy activation of two bursts 0.3 s apart) into pieces under 0.5 s",
        "",
    ]
    return "\n".join(head + lines + real_lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
