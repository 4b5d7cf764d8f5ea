"""End-to-end CLI hardening (the installed ``somnomyo`` command in a subprocess) and atomic outputs.

A bad input must end the command with exit code 2 and exactly one line on stderr naming the
file (no traceback), and leave nothing behind: no ``--out`` folder, no temporary files.
``somnomyo.io.atomic`` is what guarantees the latter for written files and folders.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from somnomyo.cli import main
from somnomyo.io.atomic import atomic_dir, atomic_path, write_text_atomic
from somnomyo.io.edf_write import write_edf
from somnomyo.io.recording import Signal

SOMNOMYO = Path(sys.executable).with_name("somnomyo")


def _recording(folder: Path) -> Path:
    rng = np.random.default_rng(1)
    sigs = [Signal(lab, rng.normal(0, 10, 60 * 128), 128.0) for lab in ("Leg L", "Leg R")]
    return write_edf(folder / "night.edf", sigs, physical_ranges={s.label: (-500.0, 500.0) for s in sigs})


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    if not SOMNOMYO.exists():
        pytest.skip(f"console script not installed beside {sys.executable}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return subprocess.run([str(SOMNOMYO), *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


def _assert_one_line_exit_2(proc: subprocess.CompletedProcess[str], path: Path, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    # the progress lines of the steps done before the problem (a line per step when stderr
    # is not a terminal) come first; the error itself is one line, the last
    lines = [ln for ln in proc.stderr.splitlines() if not re.match(r"somnomyo: [a-z ]+: .* \(\d+\.\d s\)$", ln)]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"somnomyo: error: {path}: ")
    for w in words:
        assert w in lines[0]
    assert proc.stdout == ""


# ----------------------------------------------------------------------------- the real command
def test_cli_info_on_zero_length_file_exit_2_one_line(tmp_path: Path) -> None:
    path = tmp_path / "empty.edf"
    path.write_bytes(b"")
    _assert_one_line_exit_2(_run("info", str(path), cwd=tmp_path), path, "file is empty")


def test_cli_score_on_truncated_header_exit_2_one_line_no_output(tmp_path: Path) -> None:
    path = _recording(tmp_path)
    path.write_bytes(path.read_bytes()[:300])
    out = tmp_path / "results"
    _assert_one_line_exit_2(_run("score", str(path), "--out", str(out), cwd=tmp_path), path, "header too short")
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["night.edf"]


def test_cli_score_with_broken_nsrr_xml_exit_2_one_line_no_output(tmp_path: Path) -> None:
    rec = _recording(tmp_path)
    xml = tmp_path / "night-nsrr.xml"
    xml.write_text("<PSGAnnotation><ScoredEvents><ScoredEvent><EventConcept>Arousal</EventConcept>")
    out = tmp_path / "results"
    proc = _run("score", str(rec), "--annotations", str(xml), "--out", str(out), cwd=tmp_path)
    _assert_one_line_exit_2(proc, xml, "malformed XML")
    assert not out.exists()


def test_cli_info_on_missing_file_exit_2_one_line(tmp_path: Path) -> None:
    path = tmp_path / "nope.edf"
    _assert_one_line_exit_2(_run("info", str(path), cwd=tmp_path), path, "not found")


# ----------------------------------------------------------------------------- in-process CLI
def test_cli_directory_given_as_recording_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["info", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and err.strip() == f"somnomyo: error: {tmp_path}: is a directory, not an EDF/BDF file"


def test_cli_bad_channel_override_exit_2_lists_file_channels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = _recording(tmp_path)
    rc = main(["score", str(rec), "--channel", "leg_left=Nope", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and "internal error" not in err
    assert err.strip().splitlines()[-1].startswith("somnomyo: error:") and "Nope" in err
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------------- atomic outputs
class Boom(Exception):
    pass


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_atomic_path_exception_leaves_no_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "events.tsv"
    with pytest.raises(Boom):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            assert tmp.parent == target.parent and tmp != target
            raise Boom
    assert not target.exists()
    assert _names(target.parent) == []


@pytest.mark.parametrize("exc", [Boom, KeyboardInterrupt])
def test_atomic_path_existing_file_kept_on_failure(tmp_path: Path, exc: type[BaseException]) -> None:
    target = tmp_path / "summary.json"
    target.write_text("old")
    with pytest.raises(exc):
        with atomic_path(target) as tmp:
            tmp.write_text("new but unfinished")
            raise exc
    assert target.read_text() == "old"
    assert _names(tmp_path) == ["summary.json"]


def test_atomic_path_existing_file_replaced_on_success(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"
    target.write_text("old")
    with atomic_path(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old"  # not replaced before the block ends
    assert target.read_text() == "new"
    assert _names(tmp_path) == ["summary.json"]


def test_write_text_atomic_writes_utf8_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b.txt"
    assert write_text_atomic(target, "µV ok\n") == target
    assert target.read_bytes() == "µV ok\n".encode()
    write_text_atomic(target, "second")
    assert target.read_text(encoding="utf-8") == "second" and _names(target.parent) == ["b.txt"]


def test_write_text_atomic_failure_keeps_old_content_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "b.txt"
    target.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(target, "bad \ud800 surrogate")  # cannot be encoded: fails while writing
    assert target.read_text() == "old" and _names(tmp_path) == ["b.txt"]


def test_atomic_dir_exception_leaves_no_dir_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "results"
    with pytest.raises(Boom):
        with atomic_dir(target) as tmp:
            (tmp / "events.tsv").write_text("half")
            raise Boom
    assert not target.exists()
    assert _names(tmp_path) == []


def test_atomic_dir_existing_replaced_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "results"
    target.mkdir()
    (target / "old.tsv").write_text("old")
    with pytest.raises(Boom):
        with atomic_dir(target) as tmp:
            (tmp / "new.tsv").write_text("new")
            raise Boom
    assert _names(target) == ["old.tsv"] and _names(tmp_path) == ["results"]
    with atomic_dir(target) as tmp:
        (tmp / "new.tsv").write_text("new")
        assert _names(target) == ["old.tsv"]  # untouched until the block succeeds
    assert _names(target) == ["new.tsv"]
    assert _names(tmp_path) == ["results"]  # no temp or .old leftovers


def test_atomic_dir_without_overwrite_refuses_existing_and_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "results"
    target.mkdir()
    (target / "old.tsv").write_text("old")
    with pytest.raises(FileExistsError):
        with atomic_dir(target, overwrite=False) as tmp:
            (tmp / "new.tsv").write_text("new")
    assert _names(target) == ["old.tsv"] and _names(tmp_path) == ["results"]


def test_atomic_dir_new_folder_created_on_success(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "results"
    with atomic_dir(target, overwrite=False) as tmp:
        (tmp / "summary.json").write_text("{}")
    assert _names(target) == ["summary.json"] and _names(target.parent) == ["results"]


def test_main_leaves_the_package_logger_as_it_found_it(tmp_path, capsys):
    import logging

    from somnomyo._logging import logger
    from somnomyo.cli import main

    before_handlers, before_level = list(logger.handlers), logger.level
    assert main(["score", str(tmp_path / "missing.edf"), "--out", str(tmp_path / "o"), "-v"]) == 2
    assert main(["info", str(tmp_path / "missing.edf"), "--quiet"]) == 2
    assert logger.handlers == before_handlers and logger.level == before_level
    logger.warning("after main: must not reach a stream closed by an earlier capture")  # no logging error
    assert "Logging error" not in capsys.readouterr().err
    assert all(not isinstance(h, logging.StreamHandler) or h.stream is not None for h in logger.handlers)
