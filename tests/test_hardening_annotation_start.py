"""Annotations of another recording are refused: an annotation or hypnogram file that declares
its own start date-time (EDF header, NSRR ClockTime) must start with the recording, within
``settings.quality.annotation_start_tolerance_s``; ``--annotation-offset`` shifts it instead,
``--force-annotations`` takes it as it is. Warnings are said once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_clean_cli_error, run_cli

from somnomyo.errors import AnnotationError
from somnomyo.io.edf import read_header
from somnomyo.io.edf_write import write_edf
from somnomyo.io.recording import Signal
from somnomyo.io.tal import encode_tal
from somnomyo.pipeline import load_annotations
from somnomyo.settings import get_settings

REC_START = dt.datetime(2000, 1, 1, 22, 0, 0)
SECONDS = 300


@pytest.fixture()
def recording(tmp_path: Path) -> Path:
    rng = np.random.default_rng(4)
    sigs = [Signal(lab, rng.normal(0, 10, 256 * SECONDS), 256.0) for lab in ("Leg L", "Leg R")]
    return write_edf(
        tmp_path / "rec" / "night.edf", sigs, start=REC_START, physical_ranges={s.label: (-500.0, 500.0) for s in sigs}
    )


def _hypnogram_edf(path: Path, start: dt.datetime, stages: list[str]) -> Path:
    """An annotation-only EDF+C hypnogram (like Sleep-EDF's and HMC's) starting at ``start``."""
    tal = encode_tal(0.0, None, [""]) + b"".join(
        encode_tal(30.0 * k, 30.0, [f"Sleep stage {s}"]) for k, s in enumerate(stages)
    )
    spr = len(tal) // 2 + 2

    def f(v: object, w: int) -> bytes:
        return str(v).encode("ascii").ljust(w)

    hdr = (
        f("0", 8)
        + f("X X X X", 80)
        + f(f"Startdate {start.strftime('%d-%b-%Y').upper()} X X X", 80)
        + f(start.strftime("%d.%m.%y"), 8)
        + f(start.strftime("%H.%M.%S"), 8)
        + f(512, 8)
        + f("EDF+C", 44)
        + f(1, 8)
        + f(0, 8)
        + f(1, 4)
        + f("EDF Annotations", 16)
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
    path.write_bytes(hdr + tal.ljust(2 * spr, b"\x00"))
    return path


def _nsrr(path: Path, clock: str) -> Path:
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<PSGAnnotation><EpochLength>30</EpochLength>'
        "<ScoredEvents><ScoredEvent><EventType/><EventConcept>Recording Start Time</EventConcept>"
        f"<Start>0</Start><Duration>300</Duration><ClockTime>{clock}</ClockTime></ScoredEvent>"
        "<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>Stage 2 sleep|2</EventConcept>"
        "<Start>0</Start><Duration>300</Duration></ScoredEvent></ScoredEvents></PSGAnnotation>"
    )
    return path


def test_tolerance_is_a_typed_setting_with_its_source() -> None:
    rows = [r for r in get_settings().sources() if r["name"] == "annotation_start_tolerance_s"]
    assert len(rows) == 1 and rows[0]["unit"] == "s" and rows[0]["source"].startswith("implementation")


def test_hypnogram_of_another_recording_is_refused_naming_both_times(
    tmp_path: Path, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue: a hypnogram starting 2001-01-01 23:59:30 replaced the stages of a recording that
    starts 2000-01-01 22:00:00 (PLMS and TST changed) with two warnings."""
    hyp = _hypnogram_edf(tmp_path / "other-hypnogram.edf", dt.datetime(2001, 1, 1, 23, 59, 30), ["2"] * 10)
    out = tmp_path / "out"
    for cmd in (
        ["score", str(recording), "--hypnogram", str(hyp), "--out", str(out)],
        ["info", str(recording), "--annotations", str(hyp)],
    ):
        rc, _, err = run_cli(capsys, *cmd)
        assert_clean_cli_error(
            rc, err, hyp, "2001-01-01 23:59:30", "2000-01-01 22:00:00", "--annotation-offset", "--force-annotations"
        )
    assert not out.exists()


def test_force_annotations_accepts_the_file_as_it_is(
    tmp_path: Path, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hyp = _hypnogram_edf(tmp_path / "h.edf", dt.datetime(2001, 1, 1, 23, 59, 30), ["2"] * 10)
    rc, out, err = run_cli(capsys, "info", str(recording), "--annotations", str(hyp), "--force-annotations")
    assert rc == 0, err
    assert "N2 10" in out


def test_annotation_offset_shifts_the_file_into_the_recording(tmp_path: Path, recording: Path) -> None:
    hyp = _hypnogram_edf(tmp_path / "h.edf", dt.datetime(2000, 1, 1, 22, 1, 0), ["W", "2", "2"])
    header = read_header(recording)
    with pytest.raises(AnnotationError, match="1 min later"):
        load_annotations(recording, header, annotations=hyp, discover=False)
    ann = load_annotations(recording, header, annotations=hyp, discover=False, offset_s=60.0)
    stages = list(ann.hypnogram.stages)
    assert stages[:5] == ["UNS", "UNS", "W", "N2", "N2"]  # the file's time 0 is 60 s in


def test_file_starting_with_the_recording_is_accepted(tmp_path: Path, recording: Path) -> None:
    hyp = _hypnogram_edf(tmp_path / "h.edf", REC_START, ["W", "2"])
    ann = load_annotations(recording, read_header(recording), annotations=hyp, discover=False)
    assert list(ann.hypnogram.stages[:2]) == ["W", "N2"]
    assert ann.inputs == [("annotations", hyp)]


@pytest.mark.parametrize(
    "clock, ok",
    [
        ("00.00.00 22.00.00", True),
        ("00.00.00 23.30.00", False),
        ("01.01.00 22.00.00", True),
        ("02.01.00 22.00.00", False),
    ],
)
def test_nsrr_clock_time_is_compared(tmp_path: Path, recording: Path, clock: str, ok: bool) -> None:
    """NSRR writes the date as 00.00.00: then only the time of day is compared."""
    xml = _nsrr(tmp_path / "a.xml", clock)
    header = read_header(recording)
    if ok:
        assert load_annotations(recording, header, annotations=xml, discover=False).hypnogram is not None
    else:
        with pytest.raises(AnnotationError) as info:
            load_annotations(recording, header, annotations=xml, discover=False)
        assert "ClockTime" in str(info.value) and "22:00:00" in str(info.value)


def test_sidecar_found_beside_the_recording_is_checked_too(tmp_path: Path, recording: Path) -> None:
    _nsrr(recording.with_suffix(".xml"), "00.00.00 03.00.00")
    with pytest.raises(AnnotationError, match="another recording"):
        load_annotations(recording, read_header(recording))


def test_table_without_clock_times_is_not_checked(tmp_path: Path, recording: Path) -> None:
    tsv = tmp_path / "a.tsv"
    tsv.write_text("onset\tduration\tlabel\n0\t30\tN2\n")
    assert load_annotations(recording, read_header(recording), annotations=tsv, discover=False).hypnogram is not None


def test_real_sleep_edf_hypnogram_fits_its_recording(real_dir: Path) -> None:
    psg, hyp = real_dir / "sleep-edf" / "short_psg.edf", real_dir / "sleep-edf" / "SC4001EC-Hypnogram.edf"
    ann = load_annotations(psg, read_header(psg), hypnogram=hyp, discover=False)
    assert ann.hypnogram is not None


def test_real_hmc_scoring_refused_for_a_recording_of_another_day(real_dir: Path, recording: Path) -> None:
    hmc = real_dir / "hmc" / "SN001-scoring.edf"
    with pytest.raises(AnnotationError, match="2001-01-01 23:59:30"):
        load_annotations(recording, read_header(recording), hypnogram=hmc, discover=False)


def test_each_warning_is_printed_once(tmp_path: Path, recording: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue: the two warnings of a run were each printed twice (log line and summary line)."""
    tsv = tmp_path / "a.tsv"
    tsv.write_text("onset\tduration\tlabel\n0\t30\tN2\n30\t30\tN2\n5000\t3\tarousal\n")
    rc, out, err = run_cli(
        capsys,
        "score",
        str(recording),
        "--annotations",
        str(tsv),
        "--out",
        str(tmp_path / "o"),
        "--detectors",
        "plm",
        "--no-report",
    )
    assert rc == 0, err
    text = out + err
    assert text.count("start after the recording end") == 1, text
    assert text.count("no ECG channel") == 1, text
