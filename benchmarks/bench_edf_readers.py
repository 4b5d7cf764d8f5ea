"""Benchmark: read 2 of 12 channels from an 8-h, 256-Hz EDF+ with four readers.

Run from the repository root::

    .venv/bin/python benchmarks/bench_edf_readers.py

Writes an 8-h, 12-channel, 256-Hz EDF+C file (1-s records) to /tmp, then, for each
reader (somnomyo, edfio, pyedflib, mne), reads the two leg channels as physical
float64 arrays in a fresh subprocess, three times. Reports the best read time (the
read call only, after imports), the best whole-subprocess wall time (interpreter
start + imports + read), and the peak RSS of the child (``ru_maxrss``) minus that of
an interpreter that only imports numpy. The markdown table is printed and written
into benchmarks/RESULTS.md under ``## EDF reader`` (other sections are kept).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from somnomyo.io.edf_write import write_edf
from somnomyo.io.recording import Signal

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
SECTION = "## EDF reader"
LABELS = [
    "EEG C3-M2",
    "EEG C4-M1",
    "EEG O1-M2",
    "EOG E1-M2",
    "EOG E2-M2",
    "EMG Chin",
    "ECG",
    "Leg L",
    "Leg R",
    "Airflow",
    "Thorax",
    "Abdomen",
]
WANTED = ["Leg L", "Leg R"]
FS = 256
HOURS = 8
PHYS = 500.0  # µV, physical range ±PHYS for every channel

# Each child reads WANTED from sys.argv[1], prints JSON: read time, ru_maxrss (KiB), a checksum
# and the first 1000 samples of each channel in µV (to check the readers agree).
_CHILD = {
    "somnomyo": """
from somnomyo.io.edf import read_edf
def read(path, labels):
    rec = read_edf(path, labels)
    return [rec[l].data for l in labels], 1.0
""",
    "edfio": """
import edfio
def read(path, labels):
    edf = edfio.read_edf(path, lazy_load_data=True)
    return [edf.get_signal(l).data for l in labels], 1.0
""",
    "pyedflib": """
import pyedflib
def read(path, labels):
    f = pyedflib.EdfReader(str(path))
    try:
        have = f.getSignalLabels()
        return [f.readSignal(have.index(l)) for l in labels], 1.0
    finally:
        f.close()
""",
    "mne": """
import mne
def read(path, labels):
    raw = mne.io.read_raw_edf(path, include=labels, preload=True, verbose="error")
    data = raw.get_data(picks=labels)
    return list(data), 1e6
""",
}
_CHILD_MAIN = """
import json, resource, sys, time
import numpy as np
{body}
path, labels = sys.argv[1], sys.argv[2].split(",")
t0 = time.perf_counter()
arrays, to_uv = read(path, labels)
arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
for a in arrays:
    if to_uv != 1.0:
        a *= to_uv  # in place: the benchmark itself must not add a copy to the peak RSS
t1 = time.perf_counter()
print(json.dumps({{"read_s": t1 - t0,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "n": [int(a.size) for a in arrays],
                  "head": [a[:1000].tolist() for a in arrays]}}))
"""
_BASELINE = (
    "import json, resource, numpy; "
    "print(json.dumps({'maxrss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))"
)


def make_file(path: Path) -> Path:
    """Write the 8-h EDF+C in chunks (header from ``write_edf``, records streamed)."""
    n_records = HOURS * 3600
    template = path.with_suffix(".template.edf")
    one = [Signal(lab, np.zeros(FS), float(FS)) for lab in LABELS]
    write_edf(
        template, one, start=dt.datetime(2024, 1, 1, 22, 0, 0), physical_ranges={lab: (-PHYS, PHYS) for lab in LABELS}
    )
    raw = template.read_bytes()
    template.unlink()
    ns = len(LABELS) + 1
    header = bytearray(raw[: 256 * (ns + 1)])
    header[236:244] = str(n_records).ljust(8).encode()
    ann_bytes = len(raw) - len(header) - len(LABELS) * FS * 2  # annotation signal bytes per record
    rng = np.random.default_rng(1)
    t = np.arange(FS) / FS
    with open(path, "wb") as fh:
        fh.write(bytes(header))
        for r0 in range(0, n_records, 600):
            n = min(600, n_records - r0)
            # low-amplitude noise plus a per-channel sine; digital units, ±32767 == ±PHYS µV
            base = np.sin(2 * np.pi * (1 + np.arange(len(LABELS)))[:, None] * t) * 3000
            noise = rng.normal(0, 800, (n, len(LABELS), FS))
            dig = np.clip(np.round(base + noise), -32768, 32767).astype("<i2").reshape(n, -1)
            ann = np.zeros((n, ann_bytes), dtype=np.uint8)
            for k in range(n):
                tal = f"+{r0 + k}\x14\x14\x00".encode()
                ann[k, : len(tal)] = np.frombuffer(tal, dtype=np.uint8)
            fh.write(np.concatenate([dig.view(np.uint8), ann], axis=1).tobytes())
    return path


def run_child(code: str, path: Path) -> tuple[dict, float]:
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), ",".join(WANTED)], check=True, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    return json.loads(out.stdout.strip().splitlines()[-1]), wall


def bench(path: Path, repeats: int) -> list[dict]:
    base = min(
        json.loads(
            subprocess.run([sys.executable, "-c", _BASELINE], check=True, capture_output=True, text=True).stdout
        )["maxrss_kib"]
        for _ in range(3)
    )
    buf = bytearray(1 << 20)
    with open(path, "rb") as fh:  # warm the page cache so every reader starts equal
        while fh.readinto(buf):
            pass
    rows, ref = [], None
    for name, body in _CHILD.items():
        code = _CHILD_MAIN.format(body=body)
        runs = [run_child(code, path) for _ in range(repeats)]
        res = [r for r, _ in runs]
        head = np.asarray(res[0]["head"])
        ref = head if ref is None else ref
        rows.append(
            {
                "reader": name,
                "read_s": min(r["read_s"] for r in res),
                "wall_s": min(w for _, w in runs),
                "rss_mib": (min(r["maxrss_kib"] for r in res) - base) / 1024,
                "samples": res[0]["n"],
                "max_diff_uv": float(np.max(np.abs(head - ref))),
            }
        )
        print(f"  {name}: {rows[-1]['read_s']:.3f} s read, {rows[-1]['rss_mib']:.0f} MiB", file=sys.stderr)
    return rows


def table(rows: list[dict], path: Path, repeats: int) -> str:
    size_mib = path.stat().st_size / 2**20
    lines = [
        SECTION,
        "",
        f"Read 2 of 12 channels ({', '.join(WANTED)}) as physical float64 from an {HOURS}-h, "
        f"{len(LABELS)}-channel, {FS}-Hz EDF+C ({size_mib:.0f} MiB, 1-s records), "
        f"each read in a fresh subprocess, best of {repeats}.",
        "",
        "- command: `.venv/bin/python benchmarks/bench_edf_readers.py`",
        f"- date: {dt.date.today().isoformat()}",
        f"- machine: {platform.machine()}, nproc {os.cpu_count()}, Python {platform.python_version()}, "
        f"{platform.system()} (shared with other jobs: timings are indicative)",
        "- read s: the read call only, after imports; wall s: whole subprocess (start, imports, read); "
        "peak RSS: child ru_maxrss minus an interpreter that only imports numpy "
        "(the parent stays at baseline size, since Linux children inherit its ru_maxrss; "
        "the two float64 outputs alone are "
        f"{2 * HOURS * 3600 * FS * 8 / 2**20:.0f} MiB)",
        "- max |Δ|: largest difference from somnomyo over the first 1000 samples, µV",
        "",
        "| reader | read s | wall s | peak RSS MiB | samples per channel | max abs diff µV |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['reader']} | {r['read_s']:.3f} | {r['wall_s']:.2f} | {r['rss_mib']:.0f} | "
            f"{r['samples'][0]} | {r['max_diff_uv']:.2g} |"
        )
    return "\n".join(lines) + "\n"


def update_results(section: str, results: Path = RESULTS) -> None:
    """Replace this script's section of RESULTS.md (or append it), keeping the others."""
    from _results import update_section

    update_section(SECTION, section, results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=Path("/tmp/somnomyo_bench_8h_12ch.edf"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the test file")
    ap.add_argument("--make-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make_only:
        make_file(args.file)
        return
    # Linux keeps a process's ru_maxrss across exec, and children start from this process's
    # peak: write the big file in a subprocess so this parent stays as small as the baseline.
    print(f"writing {args.file} ...", file=sys.stderr)
    subprocess.run([sys.executable, __file__, "--make-only", "--file", str(args.file)], check=True)
    try:
        rows = bench(args.file, args.repeats)
        section = table(rows, args.file, args.repeats)
    finally:
        if not args.keep:
            args.file.unlink(missing_ok=True)
    print(section)
    update_results(section)


if __name__ == "__main__":
    main()
