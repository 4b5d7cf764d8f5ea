"""Accuracy benchmark: ECG artefact in the EMG without an ECG channel, at heart rates from 60 to 150 bpm.

Run from the repository root::

    .venv/bin/python benchmarks/bench_fast_heart.py          # prints the table, updates RESULTS.md

Simulated 1-h adult nights without their ECG channel (the heart still leaks into every EMG
channel; ``SimOptions(hr_bpm=..., ecg_artifact_uv=..., ecg_channel=False)``) are scored twice:
with MATPLM's fixed heart-like interval window (0.7-1.3 s, 46-86 bpm;
``conditioning.ecg_self_estimate_period = False``) and with the heart period estimated from the
EMG (the default). F1 against the simulator's truth by ``somnomyo validate`` (IoU >= 0.5). The
table is written into benchmarks/RESULTS.md under ``## Fast heart without an ECG channel``.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work" / "fast_heart"
SECTION = "## Fast heart without an ECG channel"
KINDS = ("leg_movement", "fragmentary_myoclonus", "myoclonic_jerk", "negative_myoclonus")
# (heart-rate range bpm, QRS leak peak into the legs µV, seed)
CASES = (((60.0, 70.0), 15.0, 6), ((90.0, 100.0), 10.0, 10), ((100.0, 110.0), 20.0, 7), ((120.0, 130.0), 20.0, 9),
         ((140.0, 150.0), 15.0, 4), ((140.0, 150.0), 30.0, 5))  # fmt: skip


def _f1(out: Path, truth: Path) -> dict[str, str]:
    somnomyo = str(Path(sys.executable).with_name("somnomyo"))
    r = subprocess.run([somnomyo, "validate", str(out), "--reference", str(truth)], capture_output=True, text=True)
    rows = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if parts and parts[0] in KINDS:
            rows[parts[0]] = f"{parts[-1]} ({parts[2]}/{parts[1]})"  # F1 (detected/reference)
    return rows


def main() -> int:
    from somnomyo.pipeline import score_night
    from somnomyo.settings import get_settings
    from somnomyo.simulate import SimOptions, simulate_night

    lines = [
        "| heart rate bpm | QRS leak µV | ECG in EMG | " + " | ".join(f"{k} F1 (det/ref)" for k in KINDS) + " |",
        "|---|---:|---|" + "---|" * len(KINDS),
    ]
    for hr, leak, seed in CASES:
        d = WORK / f"hr{int(hr[0])}-{int(hr[1])}-leak{int(leak)}-s{seed}"
        if not (d / "sim" / "night.edf").exists():
            opts = SimOptions().with_(hr_bpm=hr, ecg_artifact_uv=leak, ecg_channel=False)
            simulate_night(seed=seed, hours=1.0, options=opts).write(d / "sim")
        for est in (False, True):
            out = d / f"out-{'estimated' if est else 'fixed'}"
            shutil.rmtree(out, ignore_errors=True)
            st = get_settings().with_overrides(conditioning={"ecg_self_estimate_period": est})
            score_night(d / "sim" / "night.edf", settings=st).write(out)
            f1 = _f1(out, d / "sim" / "truth.json")
            how = "period estimated from the EMG" if est else "MATPLM fixed 0.7-1.3 s"
            lines.append(
                f"| {hr[0]:g}-{hr[1]:g} | {leak:g} | {how} | " + " | ".join(f1.get(k, "n/a") for k in KINDS) + " |"
            )
            print(lines[-1], flush=True)
    md = "\n".join(lines) + "\n"
    section = (
        f"{SECTION}\n\n"
        "Simulated 1-h adult nights without their ECG channel (the heart still leaks into the EMG), scored "
        "with MATPLM's fixed heart-like interval window and with the heart period estimated from the EMG's "
        "QRS envelope (the default); F1 against the truth by `somnomyo validate` (IoU >= 0.5); 1-h nights "
        "hold 5-15 leg movements, so one LM moves the LM F1 by 0.05-0.1.\n\n"
        "- command: `.venv/bin/python benchmarks/bench_fast_heart.py`\n"
        f"- date: {dt.date.today().isoformat()}\n"
        "- reading: above ~110 bpm the fixed window finds few or no beats (LM F1 0.00-0.06 at 120-150 bpm, "
        "FM F1 0.11 at a 30-µV leak: the QRS leak read as 1,068 FM potentials); the estimated period finds "
        "them (LM 0.96-0.97 at 100-130 bpm and at 140-150 bpm with a 30-µV leak, FM 0.79 there) and nothing "
        "changes at 60-70 bpm. Where an LM or EMG burst in a 30-s window spoils that window's own estimate, "
        "the median of its neighbours' estimates is tried (`conditioning.ecg_self_period_neighbours`): "
        "without it the beats of that window stayed in the EMG while the neighbours' were subtracted, and "
        "the QRS held LM offsets up (LM F1 0.32 at 120-130 bpm, 0.77 at 100-110 bpm before). Not solved: FM "
        "F1 0.79-0.87 above 90 bpm (residue of the subtraction read as potentials) and jerks\n\n" + md
    )
    print(md)
    sys.path.insert(0, str(HERE))
    from _results import update_section

    update_section(SECTION, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
