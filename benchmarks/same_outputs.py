"""Check that a change leaves every scoring output as it was (speed work must not move results).

Run from the repository root, before and after a change::

    .venv/bin/python benchmarks/same_outputs.py --save /tmp/before      # on the old code
    .venv/bin/python benchmarks/same_outputs.py --against /tmp/before   # on the new code

Scores the simulated 8-h nights of ``benchmarks/_work/sim-8h-seed{1,2,3}`` (simulated first when
missing; ``--seeds`` to choose) with ``somnomyo score NIGHT --out DIR --no-report`` and, with
``--against``, lists every difference from the saved outputs: event counts per ``trial_type``,
the largest onset/duration shift per kind, and every value of ``summary.json`` (floats to a
relative 1e-6; file paths ignored; differing ``settings`` keys, and the citation text of the
findings (``interpretation[i].source``), are listed apart, as they are not results). Exit status 1 when a result differs, 0 otherwise. This is how
the speed rounds showed bit-identical events and summaries (see RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "_work"
_SIMULATE = (
    "import sys; from somnomyo.simulate import simulate_night; "
    "simulate_night(seed=int(sys.argv[1]), hours=8).write(sys.argv[2])"
)
_IGNORED = ("sources", "path", "somnomyo_version")  # summary keys that name files or versions


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(d, list) and len(d) < 200:
        out = {}
        for i, v in enumerate(d):
            out.update(_flat(v, f"{prefix}[{i}]"))
        return out
    return {prefix: d}


def score(seed: int, out: Path) -> None:
    night = WORK / f"sim-8h-seed{seed}"
    if not (night / "night.edf").exists():
        print(f"simulating seed {seed} into {night} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-c", _SIMULATE, str(seed), str(night)], check=True)
    if out.exists():
        shutil.rmtree(out)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "somnomyo.cli",
            "score",
            str(night / "night.edf"),
            "--out",
            str(out),
            "--no-report",
            "--quiet",
        ],
        check=True,
        cwd=ROOT,
    )


def differences(old: Path, new: Path) -> list[str]:
    import pandas as pd

    out = []
    a = pd.read_csv(old / "events.tsv", sep="\t")
    b = pd.read_csv(new / "events.tsv", sep="\t")
    for kind in sorted(set(a["trial_type"]) | set(b["trial_type"])):
        ea, eb = a[a["trial_type"] == kind], b[b["trial_type"] == kind]
        if len(ea) != len(eb):
            out.append(f"{kind}: {len(ea)} -> {len(eb)} events")
            continue
        for col in ("onset", "duration"):
            shift = float((ea[col].to_numpy() - eb[col].to_numpy()).__abs__().max()) if len(ea) else 0.0
            if shift > 1e-9:
                out.append(f"{kind}: {col} moved by up to {shift:.4f} s")
    ja = _flat(json.loads((old / "summary.json").read_text()))
    jb = _flat(json.loads((new / "summary.json").read_text()))
    for key in sorted(set(ja) | set(jb)):
        if any(part in key for part in _IGNORED):
            continue
        va, vb = ja.get(key, "<missing>"), jb.get(key, "<missing>")
        if isinstance(va, float) and isinstance(vb, float):
            same = (math.isnan(va) and math.isnan(vb)) or math.isclose(va, vb, rel_tol=1e-6, abs_tol=1e-9)
        else:
            same = va == vb
        if not same:
            out.append(f"summary {key}: {va!r} -> {vb!r}")
    return out


def _is_setting(diff: str) -> bool:
    """A difference in a parameter or in a finding's citation text (not a result)."""
    key = diff.split(":")[0]
    return key.startswith("summary settings.") or bool(re.fullmatch(r"summary interpretation\[\d+\]\.source", key))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", type=Path, help="score the nights into this folder")
    group.add_argument("--against", type=Path, help="score the nights and compare with this saved folder")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = ap.parse_args()
    if args.save:
        for seed in args.seeds:
            score(seed, args.save / f"seed{seed}")
        print(f"saved the outputs of seeds {args.seeds} in {args.save}")
        return 0
    total, settings = 0, set()
    with_tmp = args.against.parent / (args.against.name + ".new")
    for seed in args.seeds:
        new = with_tmp / f"seed{seed}"
        score(seed, new)
        diffs = differences(args.against / f"seed{seed}", new)
        settings.update(d.split(":")[0].removeprefix("summary ") for d in diffs if _is_setting(d))
        results = [d for d in diffs if not _is_setting(d)]
        total += len(results)
        for d in results:
            print(f"seed {seed}: {d}")
    if settings:  # new or changed parameters are not results; listed apart
        print(
            f"settings and citations that differ (not results): {len(settings)}: {', '.join(sorted(settings)[:8])}"
            f"{', ...' if len(settings) > 8 else ''}"
        )
    print(f"differences: {total}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
