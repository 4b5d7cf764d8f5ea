"""Fuzz the somnomyo input parsers with mutated valid files (hypothesis-driven, time-bounded).

Targets: ``read_header``, ``read_edf``, ``read_annotations`` (somnomyo.io.edf),
``read_annotations_file`` (somnomyo.io.annotation_readers: EDF+, NSRR/Compumedics XML,
CSV/TSV, stage text), ``parse_tal`` (somnomyo.io.tal) and ``check_start``
(somnomyo.io.annotation_start: the start date-time an annotation file declares, compared with
a recording's).

Before the loop, fixed cases that once hung or crashed are run through every file target: a
FIFO given as the file (must be refused, not waited on), a header claiming 10^6 records over a
sparse file sized to match and a record count of -1 on an 8-GB sparse file (refused naming the
memory needed, not MemoryError, under the address-space limit), a record duration of 1e-7 s
(GHz sampling rates), and the BDF signature over 16-bit samples and the reverse. In the loop,
the "width" mutation swaps the EDF/BDF signature and the "grow" step extends an EDF seed into
a multi-GB sparse file.

Valid seed files are built at start (EDF+C, BDF+C, EDF+D with a gap, annotation-only
EDF+, XML, CSV, TSV, stage lines, raw TALs); every iteration applies a few mutations
drawn by hypothesis (bit flips, header fields set to awkward numbers, truncation,
inserted/deleted bytes, text tokens replaced by ``nan``/``1e400``/..., lines
duplicated or dropped) and calls one target.

A *crash* is any exception that is not a ``SomnomyoError`` subclass (``parse_tal``:
any exception at all), a ``SomnomyoError`` whose message does not name the file, or a
call that runs longer than ``--hang-s``. Each distinct crash (exception type + place)
is saved once under ``--out`` (default ``/tmp/somnomyo-fuzz/crashes``) as the input
file plus a ``.txt`` traceback.

    .venv/bin/python fuzz/fuzz_parsers.py --seconds 600
    .venv/bin/python fuzz/fuzz_parsers.py --replay /tmp/somnomyo-fuzz/crashes   # recheck saved crashes

Exit status: 0 when no crash was found, 1 otherwise. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import logging
import os
import re
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from somnomyo._logging import logger
from somnomyo.errors import SomnomyoError
from somnomyo.io.annotation_readers import read_annotations_file
from somnomyo.io.annotation_start import check_start
from somnomyo.io.edf import read_annotations, read_edf, read_header
from somnomyo.io.edf_write import write_edf
from somnomyo.io.recording import Signal
from somnomyo.io.tal import encode_tal, parse_tal

TARGETS = ("read_header", "read_edf", "read_annotations", "read_annotations_file", "parse_tal", "check_start")
#: the recording start that ``check_start`` compares annotation files with
REC_START = dt.datetime(2020, 2, 3, 23, 0, 0)

# awkward values for numeric header fields and text tokens
AWKWARD = [
    "-1",
    "0",
    "-0",
    "1",
    "2",
    "99999999",
    "-9999999",
    "1e99",
    "9e9999",
    "1e-320",
    "1e-9",
    "nan",
    "inf",
    "-inf",
    "+1",
    "0.5",
    "1.5",
    "32767",
    "-32768",
    "8388607",
    "-8388608",
    "",
    " ",
    "abc",
    "1_000",
    "0x10",
    "\u00b5V",
    "\xff\xfe",
    "1,5",
    "1e400",
    "-1e308",
    "1e308",
    "1e-7",
    "1000000",
    "100001",
    "31.12.99",
    "29.02.01",
    "24.00.00",
    "00.00.00",
]
TAL_BITS = [
    b"+0\x14\x14\x00",
    b"+99999999999999999\x14\x14\x00",
    b"-5\x14\x14\x00",
    b"+1\x159e999\x14x\x14\x00",
    b"+1\x14\xff\xfe\x14\x00",
    b"+" + b"9" * 400 + b"\x14a\x14\x00",
    b"\x14\x14\x00",
    b"+1.\x15.\x14\x14",
    b"+3\x14\x14\x00",
]
TEXT_BITS = [
    "nan",
    "inf",
    "-inf",
    "1e400",
    "-1e308",
    "n/a",
    "",
    "\x00",
    "\u00e9",
    ",",
    "\t",
    ";",
    "|",
    "@@",
    "<",
    ">",
    "&amp;",
    "&x;",
    '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    "onset",
    "Onset",
    "duration",
    "label",
    "-1",
    "9" * 40,
    "0.0000001",
    "Sleep stage 4",
    "Stages|Stages",
    "EpochLength",
    "1e-300",
    "99999999999",
]


@dataclass
class Seed:
    name: str
    ext: str
    data: bytes
    binary: bool
    fields: list[tuple[int, int]] = field(default_factory=list)  # (offset, width) of header fields
    data_start: int = 0  # first byte after the header


def _header_fields(raw: bytes) -> tuple[list[tuple[int, int]], int]:
    """(offset, width) of every EDF header field, and the header length."""
    glob = [(0, 8), (8, 80), (88, 80), (168, 8), (176, 8), (184, 8), (192, 44), (236, 8), (244, 8), (252, 4)]
    ns = int(raw[252:256])
    widths = [16, 80, 8, 8, 8, 8, 8, 80, 8, 32]
    out = list(glob)
    pos = 256
    for w in widths:
        out += [(pos + i * w, w) for i in range(ns)]
        pos += w * ns
    return out, pos


def _annotation_only_edf(texts: list[tuple[float, float, str]], record_duration: float = 0.0) -> bytes:
    """An EDF+C file whose only signal is 'EDF Annotations' (like Sleep-EDF hypnograms)."""
    tals = [encode_tal(0.0, None, [""]) + b"".join(encode_tal(o, d, [t]) for o, d, t in texts)]
    spr = (max(len(t) for t in tals) + 1) // 2 + 4

    def f(v: object, w: int) -> bytes:
        return str(v).encode("ascii").ljust(w)[:w]

    hdr = (
        f("0", 8)
        + f("X X X X", 80)
        + f("Startdate 01-JAN-2000 X X X", 80)
        + f("01.01.00", 8)
        + f("22.00.00", 8)
        + f(512, 8)
        + f("EDF+C", 44)
        + f(len(tals), 8)
        + f(record_duration, 8)
        + f(1, 4)
    )
    hdr += (
        f("EDF Annotations", 16)
        + f("", 80)
        + f("", 8)
        + f(-1, 8)
        + f(1, 8)
        + f(-32768, 8)
        + f(32767, 8)
        + f("", 80)
        + f(spr, 8)
        + f("", 32)
    )
    body = b"".join(t.ljust(spr * 2, b"\x00") for t in tals)
    return hdr + body


def build_seeds(folder: Path) -> list[Seed]:
    rng = np.random.default_rng(0)
    sigs = [
        Signal("Leg L", rng.normal(0, 30, 32 * 3), 32.0),
        Signal("Leg R", rng.normal(0, 30, 16 * 3), 16.0),
        Signal("SpO2", np.full(3, 95.0), 1.0, unit="%"),
    ]
    ann = [(0.0, 30.0, "Sleep stage W"), (1.5, 0.5, "LM"), (2.0, 0.0, "Arousal@@EEG C3")]
    start = dt.datetime(2020, 2, 3, 23, 0, 0)
    seeds: list[Seed] = []
    for name, bdf in (("edfc", False), ("bdfc", True)):
        p = folder / f"{name}.{'bdf' if bdf else 'edf'}"
        write_edf(p, sigs, start=start, annotations=ann, bdf=bdf)
        raw = p.read_bytes()
        fields, hb = _header_fields(raw)
        seeds.append(Seed(name, p.suffix, raw, True, fields, hb))
    # EDF+D: record 1 moved to t = 3 s (a 2-s gap)
    p = folder / "edfd.edf"
    write_edf(p, sigs, start=start, annotations=[(0.5, 0.0, "Sleep stage 2")])
    raw = bytearray(p.read_bytes())
    raw[192:197] = b"EDF+D"
    i = raw.find(b"+1\x14\x14\x00")
    raw[i : i + 2] = b"+3"
    fields, hb = _header_fields(bytes(raw))
    seeds.append(Seed("edfd", ".edf", bytes(raw), True, fields, hb))
    raw = _annotation_only_edf(
        [(0.0, 60.0, "Sleep stage W"), (60.0, 30.0, "Sleep stage 1"), (90.0, 30.0, "Sleep stage R")]
    )
    fields, hb = _header_fields(raw)
    seeds.append(Seed("annonly", ".edf", raw, True, fields, hb))

    def scored(etype: str, concept: str, s: float, d: float) -> str:
        return (
            f"<ScoredEvent><EventType>{etype}</EventType><EventConcept>{concept}</EventConcept>"
            f"<Start>{s}</Start><Duration>{d}</Duration><SignalLocation>C3</SignalLocation></ScoredEvent>"
        )

    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<PSGAnnotation><EpochLength>30</EpochLength><ScoredEvents>'
        "<ScoredEvent><EventType/><EventConcept>Recording Start Time</EventConcept><Start>0</Start>"
        "<Duration>120</Duration><ClockTime>00.00.00 23.00.00</ClockTime></ScoredEvent>"
        + scored("Stages|Stages", "Wake|0", 0, 60)
        + scored("Stages|Stages", "Stage 2 sleep|2", 60, 30)
        + scored("Arousals|Arousals", "Arousal|Arousal ()", 10.5, 4)
        + scored("Limb Movement|Limb Movement", "Limb Movement (Left)|Limb Movement (Left)", 20, 2)
        + scored("Weird|Weird", "Mystery|Mystery", 30, 1)
        + "</ScoredEvents></PSGAnnotation>\n"
    )
    seeds.append(Seed("nsrr", ".xml", xml.encode(), False))
    cmp_xml = (
        "<CMPStudyConfig><EpochLength>30</EpochLength><ScoredEvents><ScoredEvent><Name>Hypopnea</Name>"
        "<Start>35.0</Start><Duration>12</Duration><Input>NASAL</Input></ScoredEvent></ScoredEvents>"
        "<SleepStages><SleepStage>0</SleepStage><SleepStage>2</SleepStage><SleepStage>5</SleepStage>"
        "</SleepStages></CMPStudyConfig>"
    )
    seeds.append(Seed("compumedics", ".xml", cmp_xml.encode(), False))
    seeds.append(
        Seed(
            "csv",
            ".csv",
            b"onset,duration,description\n0,30,Sleep stage W\n30,30,Sleep stage 2\n12.5,3,Arousal\n40,n/a,LM left\n",
            False,
        )
    )
    seeds.append(
        Seed("tsv", ".tsv", b"onset\tduration\ttrial_type\tchannel\n0\t30\tW\tn/a\n5\t0.5\tLeg movement\tLAT\n", False)
    )
    seeds.append(Seed("stages", ".txt", b"# hypnogram\nW\nW\nN1\nN2\n3\nR\n?\n", False))
    seeds.append(
        Seed(
            "hmc_txt",
            ".txt",
            b"Date, Time, Recording onset, Duration, Annotation, Linked channel\n"
            b"2001-01-01, 22:00:00, 0, 30, Sleep stage W, \n"
            b"2001-01-01, 22:00:30, 30, 30, Sleep stage N1, \n",
            False,
        )
    )
    # the sample width of the header not matching the body: BDF signature over 16-bit samples, and the reverse
    for s in [s for s in seeds if s.name in ("edfc", "bdfc")]:
        swapped = (b"0       " if s.name == "bdfc" else b"\xffBIOSEMI") + s.data[8:]
        seeds.append(Seed(f"{s.name}_width_swapped", s.ext, swapped, True, s.fields, s.data_start))
    tal = b"".join(
        [
            encode_tal(0, None, [""]),
            encode_tal(1.5, 2.0, ["Arousal", "LM"]),
            encode_tal(-3, None, ["x"]),
            encode_tal(4, 0.25, ["\u00e9v\u00e9nement"]),
        ]
    )
    seeds.append(Seed("tal", ".tal", tal, True))
    return seeds


# ----------------------------------------------------------------------------- mutation
def _mutate_binary(data: st.DataObject, seed: Seed) -> bytes:
    buf = bytearray(seed.data)
    for _ in range(data.draw(st.integers(1, 4), label="n_ops")):
        op = data.draw(
            st.sampled_from(["flip", "set", "field", "field", "truncate", "insert", "delete", "tal", "onset", "width"])
        )
        n = max(len(buf), 1)
        if op == "flip" and buf:
            i = data.draw(st.integers(0, len(buf) - 1))
            buf[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "set" and buf:
            i = data.draw(st.integers(0, len(buf) - 1))
            buf[i] = data.draw(st.integers(0, 255))
        elif op == "field" and seed.fields:
            off, w = data.draw(st.sampled_from(seed.fields))
            val = data.draw(st.one_of(st.sampled_from(AWKWARD), st.text(max_size=w)))
            b = val.encode("utf-8", errors="replace")[:w]
            pad = data.draw(st.sampled_from([b" ", b"\x00"]))
            if data.draw(st.booleans()):
                b = b.ljust(w, pad)
            else:
                b = b.rjust(w, pad)
            buf[off : off + w] = b[:w].ljust(w, b" ")
        elif op == "truncate":
            del buf[data.draw(st.integers(0, n)) :]
        elif op == "insert":
            i = data.draw(st.integers(0, len(buf)))
            buf[i:i] = data.draw(st.binary(min_size=1, max_size=64))
        elif op == "delete" and buf:
            i = data.draw(st.integers(0, len(buf) - 1))
            del buf[i : i + data.draw(st.integers(1, 64))]
        elif op == "onset":  # a TAL onset/duration number replaced (EDF+D record times, events)
            spans = [m.span() for m in re.finditer(rb"[+-]?\d+(?:\.\d*)?(?=[\x14\x15])", bytes(buf))]
            if spans:
                a, b = data.draw(st.sampled_from(spans))
                buf[a:b] = data.draw(
                    st.sampled_from(
                        [
                            b"+0",
                            b"-1",
                            b"+1e3",
                            b"+" + b"9" * 12,
                            b"+" + b"9" * 400,
                            b"+0.000001",
                            b"+86400",
                            b"+604801",
                            b"",
                            b"+",
                            b"--1",
                        ]
                    )
                )
        elif op == "width" and len(buf) >= 8:  # EDF <-> BDF signature: the header's sample width changes
            buf[:8] = b"0       " if bytes(buf[:8]) == b"\xffBIOSEMI" else b"\xffBIOSEMI"
        elif op == "tal":
            lo = min(seed.data_start, len(buf))
            i = data.draw(st.integers(lo, len(buf)))
            bit = data.draw(st.sampled_from(TAL_BITS))
            buf[i : i + len(bit)] = bit
    return bytes(buf)


def _mutate_text(data: st.DataObject, seed: Seed) -> bytes:
    text = seed.data.decode("utf-8")
    for _ in range(data.draw(st.integers(1, 4), label="n_ops")):
        op = data.draw(st.sampled_from(["token", "token", "line_drop", "line_dup", "insert", "truncate", "char"]))
        lines = text.split("\n")
        if op == "token":
            spans = [m.span() for m in re.finditer(r"[^\s,;\t<>|]+", text)]
            if spans:
                a, b = data.draw(st.sampled_from(spans))
                text = text[:a] + data.draw(st.one_of(st.sampled_from(TEXT_BITS), st.text(max_size=12))) + text[b:]
        elif op == "line_drop" and len(lines) > 1:
            del lines[data.draw(st.integers(0, len(lines) - 1))]
            text = "\n".join(lines)
        elif op == "line_dup":
            k = data.draw(st.integers(0, len(lines) - 1))
            lines.insert(k, lines[k] if data.draw(st.booleans()) else lines[0])
            text = "\n".join(lines)
        elif op == "insert":
            i = data.draw(st.integers(0, len(text)))
            text = text[:i] + data.draw(st.one_of(st.sampled_from(TEXT_BITS), st.text(max_size=20))) + text[i:]
        elif op == "truncate":
            text = text[: data.draw(st.integers(0, len(text)))]
        elif op == "char" and text:
            i = data.draw(st.integers(0, len(text) - 1))
            text = text[:i] + data.draw(st.characters()) + text[i + 1 :]
    enc = data.draw(st.sampled_from(["utf-8", "utf-8", "latin-1", "utf-16"]))
    return text.encode(enc, errors="replace")


# ----------------------------------------------------------------------------- running
class _TimeUp(BaseException):
    """Raised inside the hypothesis loop when the time budget is spent."""


class _Hang(Exception):
    pass


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Hang("call ran past the hang limit")


@dataclass
class Stats:
    iterations: Counter = field(default_factory=Counter)
    expected_errors: Counter = field(default_factory=Counter)
    crashes: dict[str, dict[str, Any]] = field(default_factory=dict)
    crash_hits: Counter = field(default_factory=Counter)


def _signature(target: str, err: BaseException) -> str:
    tb = traceback.extract_tb(err.__traceback__)
    own = [f for f in tb if "somnomyo" in f.filename] or tb
    where = f"{Path(own[-1].filename).name}:{own[-1].lineno}" if own else "?"
    return f"{target}|{type(err).__name__}|{where}"


def _call(target: str, path: Path, blob: bytes) -> Callable[[], Any]:
    if target == "read_header":
        return lambda: read_header(path)
    if target == "read_edf":
        return lambda: read_edf(path)
    if target == "read_annotations":
        return lambda: read_annotations(path)
    if target == "read_annotations_file":
        return lambda: read_annotations_file(path, duration_s=120.0)
    if target == "check_start":
        return lambda: check_start(REC_START, "recording.edf", path, tolerance_s=1.0)
    return lambda: parse_tal(blob)


def _run_one(target: str, path: Path, blob: bytes) -> BaseException | bool:
    """Call ``target``: the crash (see module docstring), else True for a clean SomnomyoError, False for none."""
    try:
        _call(target, path, blob)()
    except SomnomyoError as e:
        if target == "parse_tal" or str(path) not in str(e) or "\n" in str(e):
            return e
        return True
    except (Exception, RecursionError) as e:  # noqa: BLE001 - that is what we are hunting
        return e
    return False


FILE_TARGETS = tuple(t for t in TARGETS if t != "parse_tal")


def _sparse_edf(seed: Seed, path: Path, *, count: int, size: int) -> Path:
    """``seed`` (an EDF) with its record count set to ``count``, as a sparse file of ``size`` bytes."""
    raw = bytearray(seed.data[: seed.data_start])
    raw[236:244] = str(count).encode().ljust(8)
    with open(path, "wb") as fh:
        fh.write(bytes(raw))
        fh.truncate(size)
    return path


def fixed_cases(seeds: list[Seed], work: Path, hang_s: float) -> list[str]:
    """Run the inputs that once hung or crashed (see module docstring) through every file target;
    return one line per case that still does."""
    edf = next(s for s in seeds if s.name == "edfc")
    hb = edf.data_start
    record_bytes = (len(edf.data) - hb) // int(edf.data[236:244])
    cases: list[tuple[str, Path]] = []
    fifo = work / "fifo.edf"
    if hasattr(os, "mkfifo"):
        os.mkfifo(fifo)
        cases.append(("fifo", fifo))
    cases.append(
        ("million_records", _sparse_edf(edf, work / "million.edf", count=10**6, size=hb + 10**6 * record_bytes))
    )
    cases.append(("minus_one_8gb", _sparse_edf(edf, work / "minus1.edf", count=-1, size=8 * 2**30)))
    tiny = bytearray(edf.data)
    tiny[244:252] = b"1e-7    "
    (work / "tiny_record.edf").write_bytes(bytes(tiny))
    cases.append(("record_1e-7_s", work / "tiny_record.edf"))
    for s in seeds:
        if s.name.endswith("_width_swapped"):
            (work / f"{s.name}{s.ext}").write_bytes(s.data)
            cases.append((s.name, work / f"{s.name}{s.ext}"))
    bad = []
    for name, path in cases:
        for target in FILE_TARGETS:
            signal.setitimer(signal.ITIMER_REAL, hang_s)
            try:
                res = _run_one(target, path, b"")
            except _Hang as e:
                res = e
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            if isinstance(res, BaseException):
                bad.append(f"{name} {target}: {type(res).__name__}: {str(res)[:160]}")
    print(f"fixed cases: {len(cases)} inputs x {len(FILE_TARGETS)} targets, {len(bad)} crash(es)")
    for line in bad:
        print(f"  CRASH {line}")
    return bad


def replay(folder: Path) -> int:
    """Rerun every saved crashing input in ``folder``; 1 if any still crashes."""
    still = 0
    inputs = sorted(p for p in folder.iterdir() if p.suffix != ".txt" and p.name.split("-")[0] in TARGETS)
    for p in inputs:
        target = p.name.split("-")[0]
        res = _run_one(target, p, p.read_bytes())
        err = res if isinstance(res, BaseException) else None
        still += err is not None
        print(
            f"{'CRASH' if err else 'ok   '} {target:<22} {p.name}"
            + (f"  {type(err).__name__}: {str(err)[:120]}" if err else "")
        )
    print(f"{len(inputs)} saved input(s), {still} still crash")
    return 1 if still else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="how long to fuzz (default 60)")
    ap.add_argument("--out", default="/tmp/somnomyo-fuzz/crashes", help="folder for crashing inputs")
    ap.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    ap.add_argument("--hang-s", type=float, default=10.0, help="a call longer than this is a crash (hang)")
    ap.add_argument(
        "--max-memory-mb",
        type=int,
        default=3072,
        help="address-space limit, so a huge allocation is a MemoryError, not an OOM kill",
    )
    ap.add_argument("--replay", metavar="DIR", help="only rerun the crashing inputs saved in DIR")
    args = ap.parse_args(argv)

    if args.max_memory_mb > 0:
        lim = args.max_memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
    logger.setLevel(logging.CRITICAL)
    logging.getLogger("somnomyo").propagate = False
    np.seterr(all="ignore")
    signal.signal(signal.SIGALRM, _on_alarm)
    if args.replay:
        return replay(Path(args.replay))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="somnomyo-fuzz-"))
    seeds = build_seeds(work)
    edf_seeds = [s for s in seeds if s.binary and s.ext != ".tal"]
    plans = {
        "read_header": edf_seeds,
        "read_edf": edf_seeds,
        "read_annotations": edf_seeds,
        "read_annotations_file": [s for s in seeds if s.ext != ".tal"],
        "parse_tal": [s for s in seeds if s.ext == ".tal" or s.name in ("edfd", "annonly")],
        "check_start": [s for s in seeds if s.ext != ".tal"],
    }
    fixed_bad = fixed_cases(seeds, work, args.hang_s)
    stats = Stats()
    t0 = time.monotonic()
    deadline = t0 + args.seconds
    last_report = [t0]

    @settings(
        max_examples=10**9,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=False,
        print_blob=False,
    )
    @given(st.data())
    def one(data: st.DataObject) -> None:
        target = data.draw(st.sampled_from(args.targets), label="target")
        seed = data.draw(st.sampled_from(plans[target]), label="seed")
        blob = _mutate_binary(data, seed) if seed.binary else _mutate_text(data, seed)
        grow = (
            seed in edf_seeds
            and data.draw(st.integers(0, 49), label="grow") == 0
            and data.draw(st.sampled_from([2**31, 8 * 2**30]), label="grown size")
        )
        now = time.monotonic()
        if now >= deadline:  # after the draws, so hypothesis' replay of this example is consistent
            raise _TimeUp
        if now - last_report[0] > 60:
            last_report[0] = now
            print(
                f"[{now - t0:6.0f} s] {sum(stats.iterations.values())} iterations, "
                f"{len(stats.crashes)} distinct crash(es)",
                flush=True,
            )
        path = work / f"input{seed.ext}"
        path.write_bytes(blob)
        if grow:
            os.truncate(path, grow)  # a multi-GB sparse file behind the mutated header
        stats.iterations[target] += 1
        signal.setitimer(signal.ITIMER_REAL, args.hang_s)
        try:
            res = _run_one(target, path, blob)
        except _Hang as e:  # the alarm fired outside the call itself
            res = e
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        stats.expected_errors[target] += res is True
        err = res if isinstance(res, BaseException) else None
        if err is not None:
            sig = _signature(target, err)
            stats.crash_hits[sig] += 1
            if sig not in stats.crashes:
                name = f"{target}-{hashlib.sha1(sig.encode()).hexdigest()[:10]}"
                keep = out / f"{name}{seed.ext}"
                keep.write_bytes(blob)
                detail = "".join(traceback.format_exception(type(err), err, err.__traceback__))
                grown = f"grown (sparse) to {grow} bytes before the call\n" if grow else ""
                (out / f"{name}.txt").write_text(f"{sig}\nseed: {seed.name}\ninput: {keep}\n{grown}\n{detail}")
                stats.crashes[sig] = {"input": str(keep), "message": f"{type(err).__name__}: {err}"[:200]}
                print(f"CRASH {sig}: {stats.crashes[sig]['message']} -> {keep}", flush=True)

    try:
        one()
    except _TimeUp:
        pass
    elapsed = time.monotonic() - t0
    total = sum(stats.iterations.values())
    print(f"\nfuzzed {elapsed:.0f} s, {total} iterations ({total / max(elapsed, 1e-9):.0f}/s)")
    for t in args.targets:
        print(f"  {t:<22} {stats.iterations[t]:>8} iterations, {stats.expected_errors[t]:>8} clean SomnomyoError(s)")
    print(f"distinct crashes: {len(stats.crashes)}")
    for sig, info in stats.crashes.items():
        print(f"  {sig}  x{stats.crash_hits[sig]}  {info['message']}  ({info['input']})")
    return 1 if stats.crashes or fixed_bad else 0


if __name__ == "__main__":
    sys.exit(main())
