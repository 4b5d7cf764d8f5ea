"""What the results-folder guarantees cost: hashing the recording (SHA-256, 1-MiB blocks) and
building the manifest of a scored folder.

    .venv/bin/python benchmarks/bench_results_folder.py            # prints a table, updates RESULTS.md
    .venv/bin/python benchmarks/bench_results_folder.py --no-save

Uses the simulated 8-h night of ``benchmarks/_work/sim-8h-seed1`` (run ``same_outputs.py`` or
``bench_score.py`` first to simulate it). Each step is timed ``--repeat`` times; the first
(cold page cache, possibly) and the best are shown.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NIGHT = HERE / "_work" / "sim-8h-seed1" / "night.edf"


def _time(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-save", action="store_true", help="do not update RESULTS.md")
    args = ap.parse_args(argv)
    if not NIGHT.exists():
        print(f"{NIGHT} is missing: run benchmarks/same_outputs.py (it simulates it) first", file=sys.stderr)
        return 2
    from somnomyo.io.results_folder import build_manifest, results_writer, sha256_file

    size_mb = NIGHT.stat().st_size / 1e6
    hashing = _time(lambda: sha256_file(NIGHT), args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        with results_writer(out, recording=NIGHT) as folder:  # a folder the size of a full run
            (folder / "report.html").write_bytes(b"x" * 600_000)
            (folder / "events.tsv").write_bytes(b"x" * 400_000)
            (folder / "summary.json").write_text(json.dumps({"k": "v" * 30_000}))
            (folder / "figures").mkdir()
            for i in range(12):
                (folder / "figures" / f"f{i}.png").write_bytes(b"x" * 60_000)
        sha = sha256_file(NIGHT)
        manifest = _time(lambda: build_manifest(out, recording=NIGHT, recording_sha256=sha), args.repeat)
    rows = [
        (f"SHA-256 of the recording ({size_mb:.0f} MB, 8-h night)", hashing),
        ("manifest of a full results folder (~1.8 MB of outputs)", manifest),
    ]
    lines = [
        "## Results folder",
        "",
        f"`benchmarks/bench_results_folder.py`, Python {platform.python_version()}, {platform.machine()}, "
        f"{args.repeat} runs each (shared development machine).",
        "",
        "| step | first | best |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {t[0]:.3f} s | {min(t):.3f} s |" for name, t in rows]
    section = "\n".join(lines) + "\n"
    print(section)
    if not args.no_save:
        sys.path.insert(0, str(HERE))
        from _results import update_section

        update_section("## Results folder", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
