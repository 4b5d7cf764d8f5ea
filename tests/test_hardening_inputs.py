"""Inputs that used to hang or crash: a FIFO as the recording, impossible headers (GHz sampling
rates, more records than memory holds, a BDF signature over 16-bit samples and the reverse), and
``--out`` problems, which are now said in the first second, in one line, naming the file."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_clean_cli_error, run_cli

from somnomyo.errors import RecordingError, SomnomyoError
from somnomyo.io.edf import MAX_SAMPLING_RATE_HZ, read_edf, read_header
from somnomyo.io.edf_write import write_edf
from somnomyo.io.recording import Signal

FS = 256.0
START = dt.datetime(2000, 1, 1, 22, 0, 0)
GIB = 2**30


def _edf(path: Path, *, bdf: bool = False, seconds: int = 60) -> Path:
    rng = np.random.default_rng(2)
    sigs = [Signal(lab, rng.normal(0, 10, int(FS) * seconds), FS) for lab in ("Leg L", "Leg R")]
    return write_edf(path, sigs, start=START, bdf=bdf, physical_ranges={s.label: (-500.0, 500.0) for s in sigs})


def _set(path: Path, offset: int, width: int, text: bytes) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset : offset + width] = text.ljust(width)[:width]
    path.write_bytes(bytes(raw))


def _python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout)


_CLI_UNDER_LIMIT = (
    "import resource, sys; from somnomyo.cli import main; "
    "kind, n = sys.argv[1], int(sys.argv[2]); "
    "resource.setrlimit(getattr(resource, kind), (n, n)); sys.exit(main(sys.argv[3:]))"
)


def _one_error_line(proc: subprocess.CompletedProcess[str], *words: str) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("somnomyo: error:")]
    assert len(errors) == 1, proc.stderr
    for w in words:
        assert w in errors[0], errors[0]
    assert "somnomyo: error: somnomyo:" not in proc.stderr
    return errors[0]


# ----------------------------------------------------------------------------- FIFO
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
@pytest.mark.parametrize("where", ["recording", "hypnogram"])
def test_fifo_input_is_refused_before_opening_not_waited_on(tmp_path: Path, where: str) -> None:
    """Issue: a FIFO given as the recording hung forever (a cohort worker would hang with it).
    Run in a subprocess with a timeout, so that a regression fails instead of hanging the tests."""
    fifo = tmp_path / "pipe.edf"
    os.mkfifo(fifo)
    rec = fifo if where == "recording" else _edf(tmp_path / "night.edf")
    extra = [] if where == "recording" else [f"--{where}", str(fifo)]
    cmds = [["score", str(rec), *extra, "--out", str(tmp_path / "o")]]
    if where == "recording":
        cmds.append(["info", str(rec)])
    for cmd in cmds:
        proc = _python("import sys; from somnomyo.cli import main; sys.exit(main(sys.argv[1:]))", *cmd, timeout=60)
        _one_error_line(proc, str(fifo), "not a regular file")
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------------- impossible headers
def test_record_duration_of_1e_7_s_is_refused_as_an_absurd_sampling_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue: a record duration of 1e-7 s (2.56 GHz) ended in 'internal error: LinAlgError'."""
    path = _edf(tmp_path / "night.edf")
    _set(path, 244, 8, b"1e-7")
    with pytest.raises(RecordingError) as info:
        read_header(path)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(str(path)) and f"{MAX_SAMPLING_RATE_HZ:g} Hz" in msg, msg
    rc, _, err = run_cli(capsys, "score", str(path), "--out", str(tmp_path / "o"))
    assert_clean_cli_error(rc, err, path, "Hz", "corrupt header")
    assert not (tmp_path / "o").exists()


def test_highest_plausible_sampling_rate_still_reads(tmp_path: Path) -> None:
    path = _edf(tmp_path / "night.edf", seconds=4)
    _set(path, 244, 8, str(256 / MAX_SAMPLING_RATE_HZ).encode())  # exactly the limit
    assert read_header(path).channels[0].fs == pytest.approx(MAX_SAMPLING_RATE_HZ)


def _sparse_edf(
    path: Path,
    *,
    n_records: int,
    spr: int,
    header_count: int | None = None,
    size: int | None = None,
    plus: bool = False,
) -> Path:
    """A plain EDF with two signals of ``spr`` samples per 1-s record whose body is a sparse file
    (no disk used) sized for ``n_records`` records (or ``size`` bytes)."""
    rng = np.random.default_rng(2)
    sigs = [Signal(lab, rng.normal(0, 10, int(FS) * 2), FS) for lab in ("Leg L", "Leg R")]
    write_edf(path, sigs, start=START, physical_ranges={s.label: (-500.0, 500.0) for s in sigs})
    head = path.read_bytes()
    ns = int(head[252:256])  # the two legs and the EDF+ annotations signal
    raw = bytearray(head[: 256 * (ns + 1)])
    if not plus:
        raw[192:236] = b" " * 44  # plain EDF: the annotations signal is not read
    raw[236:244] = str(n_records if header_count is None else header_count).encode().ljust(8)
    spr_off = 256 + ns * (16 + 80 + 8 + 8 + 8 + 8 + 8 + 80)
    raw[spr_off : spr_off + 16] = str(spr).encode().ljust(8) * 2
    record_bytes = 2 * sum(int(raw[spr_off + 8 * i : spr_off + 8 * (i + 1)]) for i in range(ns))
    with open(path, "wb") as fh:
        fh.write(bytes(raw))
        fh.truncate(size if size is not None else len(raw) + n_records * record_bytes)
    return path


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux")
@pytest.mark.parametrize("case", ["million_records", "count_minus_one_8_gb"])
def test_recording_larger_than_memory_is_refused_up_front_naming_the_memory_needed(tmp_path: Path, case: str) -> None:
    """Issue: 10^6 records (file sized to match) or n_records=-1 on an 8-GB file ended in
    MemoryError under a 3-GB address-space limit."""
    if case == "million_records":
        path = _sparse_edf(tmp_path / "night.edf", n_records=10**6, spr=512)
    else:
        path = _sparse_edf(tmp_path / "night.edf", n_records=0, spr=256, header_count=-1, size=8 * GIB)
    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30)); "
        "from somnomyo.io.edf import read_edf; from somnomyo.errors import SomnomyoError\n"
        "try:\n    read_edf(sys.argv[1], dtype='float32')\n"
        "except SomnomyoError as e:\n    print(e); sys.exit(2)"
    )
    proc = _python(code, str(path))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout.startswith(str(path)) and "GiB of memory" in proc.stdout and "MemoryError" not in proc.stderr
    proc = _python(
        _CLI_UNDER_LIMIT,
        "RLIMIT_AS",
        str(3 * GIB),
        "score",
        str(path),
        "--out",
        str(tmp_path / "o"),
        "--detectors",
        "plm",
        "--no-report",
        timeout=300,
    )
    line = _one_error_line(proc, str(path), "needs", "GiB of memory")
    assert "MemoryError" not in line
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux")
def test_edf_plus_annotations_larger_than_memory_are_refused_up_front(tmp_path: Path) -> None:
    path = _sparse_edf(tmp_path / "night.edf", n_records=0, spr=1, header_count=-1, size=8 * GIB, plus=True)
    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30)); "
        "from somnomyo.io.edf import read_annotations; from somnomyo.errors import SomnomyoError\n"
        "try:\n    read_annotations(sys.argv[1])\n"
        "except SomnomyoError as e:\n    print(e); sys.exit(2)"
    )
    proc = _python(code, str(path))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout.startswith(str(path)) and "EDF+ annotations" in proc.stdout and "GiB of memory" in proc.stdout


@pytest.mark.parametrize("header, body", [("bdf", "edf"), ("edf", "bdf")])
def test_sample_width_of_the_header_not_matching_the_file_size_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], header: str, body: str
) -> None:
    """Issue: a BDF signature on an EDF body (16-bit samples under a 24-bit header) scored with exit 0."""
    path = _edf(tmp_path / "night.edf", bdf=(body == "bdf"))
    _set(path, 0, 8, b"\xffBIOSEMI" if header == "bdf" else b"0")
    with pytest.raises(RecordingError) as info:
        read_header(path)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(str(path))
    assert ("24-bit" if header == "bdf" else "16-bit") in msg and "file size" in msg, msg
    rc, _, err = run_cli(capsys, "score", str(path), "--out", str(tmp_path / "o"))
    assert_clean_cli_error(rc, err, path, "version field does not match the data")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("bdf", [False, True])
def test_matching_sample_width_still_reads(tmp_path: Path, bdf: bool) -> None:
    assert read_edf(_edf(tmp_path / "night.edf", bdf=bdf))["Leg L"].data.size == 60 * int(FS)


# ----------------------------------------------------------------------------- --out, before the work
@pytest.fixture()
def rec(tmp_path: Path) -> Path:
    return _edf(tmp_path / "in" / "night.edf", seconds=120)


def _no_scoring(monkeypatch: pytest.MonkeyPatch) -> None:
    import somnomyo.pipeline

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("the night was scored before --out was checked")

    monkeypatch.setattr(somnomyo.pipeline, "score_night", boom)


def test_out_that_is_a_file_is_refused_before_scoring(
    tmp_path: Path, rec: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_scoring(monkeypatch)
    f = tmp_path / "results"
    f.write_text("keep me")
    rc, _, err = run_cli(capsys, "score", str(rec), "--out", str(f))
    assert_clean_cli_error(rc, err, f, "exists and is a file, not a folder")
    rc, _, err = run_cli(capsys, "score", str(rec), "--out", str(f / "sub"))
    assert_clean_cli_error(rc, err, f, "exists and is a file, not a folder")
    assert f.read_text() == "keep me"


def _unwritable(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        d = tmp_path / "locked"
        d.mkdir()
        d.chmod(0o555)
        return d
    if sys.platform.startswith("linux") and not os.access("/proc/sys", os.W_OK):
        return Path("/proc/sys")  # root may write anywhere but there
    pytest.skip("no folder this user cannot write to")


def test_out_in_an_unwritable_place_is_refused_before_scoring(
    tmp_path: Path, rec: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_scoring(monkeypatch)
    out = _unwritable(tmp_path) / "somnomyo-results"
    try:
        rc, _, err = run_cli(capsys, "score", str(rec), "--out", str(out))
        assert_clean_cli_error(rc, err, out, "not writable")
    finally:
        if out.parent.parent == tmp_path:
            out.parent.chmod(0o755)


def test_os_error_without_a_file_name_is_not_prefixed_twice(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import somnomyo.cli

    def disk_full(args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(somnomyo.cli, "cmd_info", disk_full)
    rc, _, err = run_cli(capsys, "info", str(tmp_path / "x.edf"))
    assert rc == 2 and err.strip() == "somnomyo: error: No space left on device", err

    def prefixed(args: object) -> int:
        raise SomnomyoError("somnomyo: something the user can fix")

    monkeypatch.setattr(somnomyo.cli, "cmd_info", prefixed)
    rc, _, err = run_cli(capsys, "info", str(tmp_path / "x.edf"))
    assert rc == 2 and err.strip() == "somnomyo: error: something the user can fix", err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE as on Linux")
def test_write_failing_halfway_names_the_file_and_keeps_the_previous_run(tmp_path: Path, rec: Path) -> None:
    """Issue: a write that failed halfway (disk full, simulated by a file-size limit) left the new
    events.tsv beside the old summary.json, and the error said "File too large" without a file."""
    from somnomyo.io.results_folder import open_results

    out = tmp_path / "out"
    first = _python(
        _CLI_UNDER_LIMIT,
        "RLIMIT_FSIZE",
        str(2**30),
        "-q",
        "score",
        str(rec),
        "--out",
        str(out),
        "--detectors",
        "plm",
        "--no-report",
        timeout=300,
    )
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    summary_size = (out / "summary.json").stat().st_size
    proc = _python(
        _CLI_UNDER_LIMIT,
        "RLIMIT_FSIZE",
        str(summary_size // 2),
        "-q",
        "score",
        str(rec),
        "--out",
        str(out),
        "--detectors",
        "plm",
        "--no-report",
        timeout=300,
    )
    line = _one_error_line(proc, "File too large")
    print(line)
    named = line.removeprefix("somnomyo: error: ").rsplit(": File too large", 1)[0]
    assert Path(named).parent == out, line  # the file hit, as the user knows it
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]
    open_results(out)
    assert json.loads((out / "manifest.json").read_text())["command"][-1] == "--no-report"
