"""A results folder holds one run of one recording: built aside, manifest last, swapped in whole.

Covers :mod:`somnomyo.io.results_folder` (manifest, ``open_results``, the refusal rules of
``prepare_out``), the leftovers of a killed run (:func:`somnomyo.io.atomic.remove_stale`),
``somnomyo score`` rerun into its own folder, and ``compare``/``cohort`` checking the manifest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_clean_cli_error, run_cli

from somnomyo.errors import SomnomyoError
from somnomyo.io.atomic import OWNER_FILE, make_temp_dir, remove_stale
from somnomyo.io.edf_write import write_edf
from somnomyo.io.recording import Signal
from somnomyo.io.results_folder import FORMAT, MANIFEST_FILE, open_results, prepare_out, results_writer, sha256_file

FS = 256.0
START = dt.datetime(2000, 1, 1, 22, 0, 0)


def _edf(path: Path, *, seed: int = 1, seconds: int = 120) -> Path:
    rng = np.random.default_rng(seed)
    sigs = [Signal(lab, rng.normal(0, 10, int(FS) * seconds), FS) for lab in ("Leg L", "Leg R")]
    return write_edf(path, sigs, start=START, physical_ranges={s.label: (-500.0, 500.0) for s in sigs})


def _fake_run(out: Path, recording: Path, **kw: object) -> Path:
    """A results folder written through the writer, without scoring (fast)."""
    with results_writer(out, recording=recording, standard="wasm2016", command=["somnomyo", "score"], **kw) as tmp:
        (tmp / "summary.json").write_text(json.dumps({"somnomyo_version": "x", "plm": {"plms_index": 1.0}}))
        (tmp / "events.tsv").write_text("onset\tduration\ttrial_type\n1.0000\t0.5000\tlm\n")
        (tmp / "figures").mkdir()
        (tmp / "figures" / "a.png").write_bytes(b"png")
        (tmp / "context.json").write_text("{}")  # any file present is listed (the rescoring context)
    return out


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture()
def rec(tmp_path: Path) -> Path:
    return _edf(tmp_path / "in" / "night.edf")


# ----------------------------------------------------------------------------- manifest
def test_manifest_lists_every_file_with_size_and_sha256_and_the_recording(tmp_path: Path, rec: Path) -> None:
    out = _fake_run(tmp_path / "out", rec)
    man = json.loads((out / MANIFEST_FILE).read_text())
    assert man["format"] == FORMAT and man["format_version"] == 1 and man["standard"] == "wasm2016"
    assert man["command"] == ["somnomyo", "score"]
    assert dt.datetime.fromisoformat(man["created"]).tzinfo is not None
    assert man["recording"] == {
        "path": str(rec.absolute()),
        "size": rec.stat().st_size,
        "sha256": hashlib.sha256(rec.read_bytes()).hexdigest(),
    }
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {MANIFEST_FILE}
    assert set(man["files"]) == on_disk == {"summary.json", "events.tsv", "figures/a.png", "context.json"}
    for rel, info in man["files"].items():
        assert info == {"size": (out / rel).stat().st_size, "sha256": sha256_file(out / rel)}
    assert _names(tmp_path) == ["in", "out"]  # no temporary folder left
    assert OWNER_FILE not in _names(out)


def test_manifest_records_annotation_and_hypnogram_inputs_with_their_hash(tmp_path: Path, rec: Path) -> None:
    ann = tmp_path / "in" / "a.tsv"
    ann.write_text("onset\tduration\tlabel\n")
    out = _fake_run(tmp_path / "out", rec, inputs=[("annotations", ann), ("hypnogram", ann)])
    man = json.loads((out / MANIFEST_FILE).read_text())
    assert man["inputs"] == [{"role": "annotations", "path": str(ann.absolute()), "sha256": sha256_file(ann)}]


def test_open_results_gives_manifest_summary_events_and_files(tmp_path: Path, rec: Path) -> None:
    res = open_results(_fake_run(tmp_path / "out", rec))
    assert res.recording_path == rec.absolute()
    assert res.summary()["plm"]["plms_index"] == 1.0
    assert list(res.events()["trial_type"]) == ["lm"]
    assert res.file("figures/a.png").read_bytes() == b"png"
    with pytest.raises(SomnomyoError, match="no report.html"):
        res.file("report.html")


@pytest.mark.parametrize(
    "case, words",
    [
        ("not_a_folder", "not a folder"),
        ("missing", "not found"),
        ("no_manifest", "not somnomyo output"),
        ("not_our_manifest", "not a somnomyo-results manifest"),
        ("file_missing", "events.tsv, listed in manifest.json, is missing"),
        ("file_changed", "summary.json changed since somnomyo wrote it"),
        ("recording_missing", "is missing"),
        ("recording_changed", "changed since it was scored"),
    ],
)
def test_open_results_refuses_with_one_line(tmp_path: Path, rec: Path, case: str, words: str) -> None:
    out = _fake_run(tmp_path / "out", rec)
    target = out
    if case == "not_a_folder":
        target = out / "summary.json"
    elif case == "missing":
        target = tmp_path / "nothing"
    elif case == "no_manifest":
        (out / MANIFEST_FILE).unlink()
    elif case == "not_our_manifest":
        (out / MANIFEST_FILE).write_text('{"format": "other"}')
    elif case == "file_missing":
        (out / "events.tsv").unlink()
    elif case == "file_changed":
        (out / "summary.json").write_text('{"plm": {"plms_index": 99.0}}')
    elif case == "recording_missing":
        rec.unlink()
    elif case == "recording_changed":
        raw = bytearray(rec.read_bytes())
        raw[-1] ^= 1
        rec.write_bytes(bytes(raw))
    with pytest.raises(SomnomyoError) as info:
        open_results(target)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(str(target)) and words in msg, msg


def test_open_results_without_recording_check_accepts_a_moved_recording(tmp_path: Path, rec: Path) -> None:
    out = _fake_run(tmp_path / "out", rec)
    rec.unlink()
    assert open_results(out, check_recording=False).summary()["plm"]["plms_index"] == 1.0


def test_review_subfolder_added_later_is_not_part_of_the_file_check(tmp_path: Path, rec: Path) -> None:
    out = _fake_run(tmp_path / "out", rec)
    (out / "review" / "ann").mkdir(parents=True)
    (out / "review" / "ann" / "journal.jsonl").write_text("{}\n")
    assert open_results(out).path == out


# ----------------------------------------------------------------------------- one run per folder
def test_failed_write_leaves_the_previous_run_whole_and_no_temporary_folder(tmp_path: Path, rec: Path) -> None:
    out = _fake_run(tmp_path / "out", rec)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(RuntimeError):
        with results_writer(out, recording=rec) as tmp:
            (tmp / "events.tsv").write_text("half a run")
            raise RuntimeError("disk full, say")
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert _names(tmp_path) == ["in", "out"]
    open_results(out)


def test_rerun_of_same_recording_replaces_the_whole_folder(tmp_path: Path, rec: Path) -> None:
    out = _fake_run(tmp_path / "out", rec)
    (out / "report.html").write_text("from the first run")
    with results_writer(out, recording=rec) as tmp:
        (tmp / "summary.json").write_text("{}")
    assert _names(out) == [MANIFEST_FILE, "summary.json"]
    assert _names(tmp_path) == ["in", "out"]


@pytest.mark.parametrize("content", ["not_ours", "other_recording", "review"])
def test_folder_of_something_else_is_refused_unless_overwrite(tmp_path: Path, rec: Path, content: str) -> None:
    out = tmp_path / "out"
    if content == "not_ours":
        out.mkdir()
        (out / "thesis.docx").write_text("precious")
        words = "not a somnomyo results folder"
    elif content == "other_recording":
        _fake_run(out, _edf(tmp_path / "in" / "other.edf", seed=2))
        words = "another recording"
    else:
        _fake_run(out, rec)
        (out / "review").mkdir()
        (out / "review" / "journal.jsonl").write_text("{}\n")
        words = "holds a review"
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    with pytest.raises(SomnomyoError) as info:
        prepare_out(out, recording=rec)
    assert words in str(info.value) and "--overwrite" in str(info.value) and str(out) in str(info.value)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    _fake_run(out, rec, overwrite=True)
    assert open_results(out).recording_path == rec.absolute()
    assert not (out / "thesis.docx").exists() and not (out / "review").exists()


def test_empty_folder_is_used(tmp_path: Path, rec: Path) -> None:
    (tmp_path / "out").mkdir()
    assert prepare_out(tmp_path / "out", recording=rec).replaces == "empty"


def test_out_holding_the_recording_is_refused_even_with_overwrite(tmp_path: Path, rec: Path) -> None:
    with pytest.raises(SomnomyoError, match="an input of this run"):
        prepare_out(rec.parent, recording=rec, overwrite=True)
    assert rec.exists()


def test_out_that_is_a_file_is_refused(tmp_path: Path, rec: Path) -> None:
    f = tmp_path / "results"
    f.write_text("x")
    with pytest.raises(SomnomyoError, match="exists and is a file, not a folder"):
        prepare_out(f, recording=rec, overwrite=True)
    with pytest.raises(SomnomyoError, match="exists and is a file, not a folder"):
        prepare_out(f / "deeper", recording=rec)


# ----------------------------------------------------------------------------- killed runs
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_leftover_of_a_killed_run_is_removed_by_the_next_run(tmp_path: Path, rec: Path) -> None:
    out = tmp_path / "out"
    code = (
        "import os, sys; from somnomyo.io.atomic import make_temp_dir; "
        "t = make_temp_dir(sys.argv[1]); (t / 'events.tsv').write_text('half'); os._exit(9)"
    )
    subprocess.run([sys.executable, "-c", code, str(out)], check=False, timeout=60)
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".out.tmp-")]
    assert len(left) == 1 and (left[0] / OWNER_FILE).exists()  # what a killed run leaves
    _fake_run(out, rec)
    assert _names(tmp_path) == ["in", "out"]


def test_temporary_folder_of_a_live_run_and_unrelated_names_are_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    live = make_temp_dir(out)  # this process: alive
    dead = make_temp_dir(out)
    (dead / OWNER_FILE).write_text(
        json.dumps({"pid": _dead_pid(), "host": os.uname().nodename, "created": "2000-01-01T00:00:00+00:00"})
    )
    other = tmp_path / ".out.tmp-notours"
    other.mkdir()
    unmarked = tmp_path / ".out.tmp-0123456789ab"  # right name, no owner file: not ours
    unmarked.mkdir()
    removed = remove_stale(out)
    assert removed == [dead]
    assert live.exists() and other.exists() and unmarked.exists() and not dead.exists()


def test_old_folder_of_a_swap_cut_short_is_put_back_when_out_is_missing(tmp_path: Path, rec: Path) -> None:
    out = _fake_run(tmp_path / "out", rec)
    os.replace(out, tmp_path / ".out.old-0123456789ab")  # killed between the two renames
    remove_stale(out)
    assert open_results(out).recording_path == rec.absolute()


# ----------------------------------------------------------------------------- the command
def test_cli_rerun_with_other_options_leaves_no_file_of_the_first_run(
    tmp_path: Path, rec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue: rerunning into the same --out with --detectors plm --no-report kept report.html,
    events.edf, events.xml and figures/ of the first run beside the new events and summary."""
    pytest.importorskip("matplotlib")
    out = tmp_path / "out"
    rc, _, err = run_cli(capsys, "-q", "score", str(rec), "--out", str(out))
    assert rc == 0, err
    assert {"report.html", "events.edf", "events.xml", "figures"} <= set(_names(out))
    rc, _, err = run_cli(capsys, "-q", "score", str(rec), "--out", str(out), "--detectors", "plm", "--no-report")
    assert rc == 0, err
    res = open_results(out)
    assert not {"report.html", "events.edf", "events.xml", "figures"} & set(_names(out))
    assert set(res.manifest["files"]) == set(_names(out)) - {MANIFEST_FILE}
    assert res.manifest["command"][-3:] == ["--detectors", "plm", "--no-report"]
    assert _names(tmp_path) == ["in", "out"]


def test_cli_refuses_a_foreign_folder_before_scoring(
    tmp_path: Path, rec: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import somnomyo.pipeline

    def no_scoring(*a: object, **k: object) -> None:
        raise AssertionError("scored before --out was checked")

    monkeypatch.setattr(somnomyo.pipeline, "score_night", no_scoring)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    rc, _, err = run_cli(capsys, "score", str(rec), "--out", str(out))
    assert_clean_cli_error(rc, err, out, "not a somnomyo results folder", "--overwrite")
    assert _names(out) == ["notes.txt"]
    _fake_run(tmp_path / "other", _edf(tmp_path / "in" / "b.edf", seed=5))
    rc, _, err = run_cli(capsys, "score", str(rec), "--out", str(tmp_path / "other"))
    assert_clean_cli_error(rc, err, tmp_path / "other", "another recording", "b.edf")
    f = tmp_path / "file"
    f.write_text("x")
    rc, _, err = run_cli(capsys, "score", str(rec), "--out", str(f))
    assert_clean_cli_error(rc, err, f, "exists and is a file, not a folder")


def test_cli_overwrite_replaces_a_foreign_folder(tmp_path: Path, rec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    rc, _, err = run_cli(
        capsys, "-q", "score", str(rec), "--out", str(out), "--detectors", "plm", "--no-report", "--overwrite"
    )
    assert rc == 0, err
    assert "notes.txt" not in _names(out) and open_results(out).summary()["plm"] is not None


def test_night_result_write_goes_through_the_results_folder(tmp_path: Path, rec: Path) -> None:
    from somnomyo.pipeline import score_night

    night = score_night(rec, detectors=("plm",))
    paths = night.write(tmp_path / "out", extra=lambda d: {"extra": _touch(d / "extra.txt")})
    res = open_results(tmp_path / "out")
    assert paths["extra"] == tmp_path / "out" / "extra.txt" and "extra.txt" in res.manifest["files"]
    assert {"events.tsv", "events.json", "summary.json"} <= set(res.manifest["files"])
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "x").write_text("x")
    with pytest.raises(SomnomyoError, match="not a somnomyo results folder"):
        night.write(tmp_path / "mine")


def _touch(p: Path) -> Path:
    p.write_text("extra")
    return p


# ----------------------------------------------------------------------------- readers of results
def test_compare_refuses_a_results_folder_whose_summary_changed(tmp_path: Path, rec: Path) -> None:
    from somnomyo.report.compare import compare_nights

    a = _fake_run(tmp_path / "a", rec)
    b = _fake_run(tmp_path / "b", rec)
    assert len(compare_nights([a, b]).labels) == 2
    (b / "summary.json").write_text(json.dumps({"plm": {"plms_index": 2.0}}))
    with pytest.raises(SomnomyoError, match="summary.json changed since somnomyo wrote it"):
        compare_nights([a, b])


def test_cohort_rescores_a_done_night_whose_folder_changed(tmp_path: Path, rec: Path) -> None:
    from somnomyo.cohort.manifest import Night
    from somnomyo.cohort.run import DONE_FILE, done_row

    night = Night(id="n1", edf=str(rec))
    folder = _fake_run(tmp_path / "c" / "n1", rec)
    row = {"id": "n1", "status": "ok"}
    (folder / DONE_FILE).write_text(
        json.dumps({"id": "n1", "inputs": night.inputs(), "options": {}, "standard": "wasm2016", "row": row})
    )
    assert done_row(night, tmp_path / "c", standard="wasm2016") == row
    (folder / "events.tsv").write_text("onset\tduration\ttrial_type\n")
    assert done_row(night, tmp_path / "c", standard="wasm2016") is None
