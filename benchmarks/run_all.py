"""Run every ``benchmarks/bench_*.py`` in turn (each updates its own section of RESULTS.md).

Run from the repository root::

    .venv/bin/python benchmarks/run_all.py                 # all of them
    .venv/bin/python benchmarks/run_all.py score psg       # only those whose name contains a word

Each benchmark runs in its own interpreter with this one's Python; a failing one is reported and
the others still run. Exit status 1 when any failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("only", nargs="*", help="run only the benchmarks whose file name contains one of these")
    args = ap.parse_args()
    scripts = sorted(p for p in HERE.glob("bench_*.py") if not args.only or any(w in p.name for w in args.only))
    failed = []
    for script in scripts:
        print(f"=== {script.name}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.run([sys.executable, str(script)], cwd=HERE.parent).returncode
        print(
            f"=== {script.name}: {'ok' if rc == 0 else f'FAILED (exit {rc})'} in {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
        if rc:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
