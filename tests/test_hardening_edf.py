"""Hardening of the EDF/EDF+/BDF reader: a battery of malformed recordings, read by the
library and through the CLI (``somnomyo info FILE``, ``somnomyo score FILE --out DIR``).

Every malformed file is built in the test from a small valid one (no binaries committed).
Unusable files give one line naming the file; through the CLI exit code 2, no traceback and
no output folder. Still-usable files give a warning and the data read.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_clean_cli_error, run_cli

from somnomyo.errors import RecordingError
from somnomyo.io.edf import read_annotations, read_edf, read_header
from somnomyo.io.edf_write import write_edf
from somnomyo.io.recording import Signal
from somnomyo.io.tal import encode_tal

FS = 256.0
SECONDS = 30
RANGE = (-500.0, 500.0)  # exact in an 8-character header field
START = dt.datetime(2022, 5, 6, 23, 0, 0)
_FIELDS = ["label", "transducer", "unit", "pmin", "pmax", "dmin", "dmax", "prefilter", "spr", "reserved"]
_WIDTHS = [16, 80, 8, 8, 8, 8, 8, 80, 8, 32]


# ----------------------------------------------------------------------------- builders
def _legs(seconds: int = SECONDS) -> list[Signal]:
    rng = np.random.default_rng(7)
    return [
        Signal("Leg L", rng.normal(0, 20, int(FS) * seconds), FS),
        Signal("Leg R", rng.normal(0, 20, int(FS) * seconds), FS),
    ]


def _write(
    path: Path,
    *,
    bdf: bool = False,
    seconds: int = SECONDS,
    annotations: tuple[tuple[float, float, str], ...] = ((0.0, 30.0, "Sleep stage 2"),),
) -> Path:
    sigs = _legs(seconds)
    return write_edf(
        path, sigs, start=START, bdf=bdf, annotations=annotations, physical_ranges={s.label: RANGE for s in sigs}
    )


def _ns(raw: bytes) -> int:
    return int(raw[252:256])


def _field_offset(raw: bytes, name: str, signal: int) -> tuple[int, int]:
    k = _FIELDS.index(name)
    return 256 + _ns(raw) * sum(_WIDTHS[:k]) + signal * _WIDTHS[k], _WIDTHS[k]


def _set_field(path: Path, name: str, signal: int, text: bytes, *, pad: bytes = b" ") -> None:
    raw = bytearray(path.read_bytes())
    off, w = _field_offset(bytes(raw), name, signal)
    raw[off : off + w] = text.ljust(w, pad)[:w]
    path.write_bytes(bytes(raw))


def _set_global(path: Path, offset: int, width: int, text: bytes) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset : offset + width] = text.ljust(width)[:width]
    path.write_bytes(bytes(raw))


def _layout(path: Path) -> tuple[int, int, int]:
    """(header bytes, record bytes, announced records) read independently of the reader."""
    raw = path.read_bytes()
    ns = _ns(raw)
    spr_off = 256 + ns * sum(_WIDTHS[:8])
    spr = [int(raw[spr_off + 8 * i : spr_off + 8 * (i + 1)]) for i in range(ns)]
    width = 3 if raw[:1] == b"\xff" else 2
    return 256 * (ns + 1), sum(spr) * width, int(raw[236:244])


def _annotation_only(path: Path, texts: list[tuple[float, float, str]]) -> Path:
    """An EDF+C whose only signal is 'EDF Annotations' (like a Sleep-EDF hypnogram)."""
    tal = encode_tal(0.0, None, [""]) + b"".join(encode_tal(o, d, [t]) for o, d, t in texts)
    spr = len(tal) // 2 + 2

    def f(v: object, w: int) -> bytes:
        return str(v).encode("ascii").ljust(w)

    hdr = (
        f("0", 8)
        + f("X X X X", 80)
        + f("Startdate 06-MAY-2022 X X X", 80)
        + f("06.05.22", 8)
        + f("23.00.00", 8)
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


_cli = run_cli
_assert_clean_cli_error = assert_clean_cli_error


# ----------------------------------------------------------------------------- unusable files
def _zero_length(p: Path) -> None:
    p.write_bytes(b"")


def _no_complete_record(p: Path) -> None:
    hb, rb, _ = _layout(p)
    p.write_bytes(p.read_bytes()[: hb + rb - 1])


def _count_minus_one_no_record(p: Path) -> None:
    _no_complete_record(p)
    _set_global(p, 236, 8, b"-1")


def _count_below_minus_one(p: Path) -> None:
    _set_global(p, 236, 8, b"-2")


def _count_not_a_number(p: Path) -> None:
    _set_global(p, 236, 8, b"thirty")


def _spr_too_big_for_file(p: Path) -> None:
    _set_field(p, "spr", 0, b"99999999")


def _spr_zero(p: Path) -> None:
    _set_field(p, "spr", 1, b"0")


def _spr_fraction(p: Path) -> None:
    _set_field(p, "spr", 0, b"255.5")


def _huge_signal_count(p: Path) -> None:
    _set_global(p, 252, 4, b"1e99")


def _huge_spr(p: Path) -> None:
    _set_field(p, "spr", 0, b"9e99")


def _zero_signals(p: Path) -> None:
    _set_global(p, 252, 4, b"0")


def _header_bytes_wrong(p: Path) -> None:
    _set_global(p, 184, 8, b"768")


def _version_wrong(p: Path) -> None:
    _set_global(p, 0, 8, b"1")


def _record_duration_zero(p: Path) -> None:
    _set_global(p, 244, 8, b"0")


def _non_ascii_number(p: Path) -> None:
    _set_field(p, "pmin", 0, "-500\u00b5".encode("utf-8"))


UNUSABLE: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "zero_length": (_zero_length, ("empty",)),
    "no_complete_record": (_no_complete_record, ("truncated", "not even one")),
    "count_minus_one_no_record": (_count_minus_one_no_record, ("-1", "no complete record")),
    "count_below_minus_one": (_count_below_minus_one, ("number of data records is -2",)),
    "count_not_a_number": (_count_not_a_number, ("number of data records", "'thirty'")),
    "spr_too_big_for_file": (_spr_too_big_for_file, ("truncated",)),
    "spr_zero": (_spr_zero, ("Leg R", "samples per record is 0")),
    "spr_fraction": (_spr_fraction, ("samples per record", "integer")),
    "huge_signal_count": (_huge_signal_count, ("number of signals",)),
    "huge_spr": (_huge_spr, ("samples per record",)),
    "zero_signals": (_zero_signals, ("number of signals is 0",)),
    "header_bytes_wrong": (_header_bytes_wrong, ("header byte count is 768", "need 1024")),
    "version_wrong": (_version_wrong, ("version field",)),
    "record_duration_zero": (_record_duration_zero, ("duration of a data record is 0",)),
    "non_ascii_number": (_non_ascii_number, ("not ASCII", "physical minimum")),
}


@pytest.mark.parametrize("case", sorted(UNUSABLE))
def test_malformed_recording_raises_one_line_recording_error_naming_file(tmp_path: Path, case: str) -> None:
    make, words = UNUSABLE[case]
    path = _write(tmp_path / "night.edf")
    make(path)
    with pytest.raises(RecordingError) as info:
        read_edf(path)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(str(path)), msg
    for w in words:
        assert w.lower() in msg.lower(), msg


@pytest.mark.parametrize("case", sorted(UNUSABLE))
def test_malformed_recording_cli_info_and_score_exit_2_without_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    make, words = UNUSABLE[case]
    path = _write(tmp_path / "night.edf")
    make(path)
    rc, out, err = _cli(capsys, "info", str(path))
    _assert_clean_cli_error(rc, err, path, *words)
    assert out == ""
    out_dir = tmp_path / "results"
    rc, out, err = _cli(capsys, "score", str(path), "--out", str(out_dir))
    _assert_clean_cli_error(rc, err, path, *words)
    assert not out_dir.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["night.edf"]  # no temp leftovers either


# scaling problems are only found when the channel is loaded: info (header only) works, score fails
@pytest.mark.parametrize(
    "field_lo, field_hi, value, words",
    [
        ("dmin", "dmax", b"100", ("digital minimum equals digital maximum",)),
        ("pmin", "pmax", b"250", ("physical minimum equals physical maximum",)),
    ],
)
def test_degenerate_scaling_fails_score_with_exit_2_and_no_output(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    field_lo: str,
    field_hi: str,
    value: bytes,
    words: tuple[str, ...],
) -> None:
    path = _write(tmp_path / "night.edf")
    _set_field(path, field_lo, 0, value)
    _set_field(path, field_hi, 0, value)
    with pytest.raises(RecordingError, match="'Leg L'"):
        read_edf(path, channels=["Leg L"])
    assert read_edf(path, channels=["Leg R"]).signals["Leg R"].data.size == int(FS) * SECONDS  # unloaded: fine
    rc, _, _ = _cli(capsys, "info", str(path))
    assert rc == 0
    out_dir = tmp_path / "out"
    rc, _, err = _cli(capsys, "score", str(path), "--out", str(out_dir))
    _assert_clean_cli_error(rc, err, path, "Leg L", *words)
    assert not out_dir.exists()


def test_digital_range_of_one_step_just_above_degenerate_reads(tmp_path: Path) -> None:
    path = _write(tmp_path / "night.edf")
    _set_field(path, "dmin", 0, b"0")
    _set_field(path, "dmax", 0, b"1")
    data = read_edf(path, channels=["Leg L"]).signals["Leg L"].data
    assert np.isfinite(data).all()


# ----------------------------------------------------------------------------- usable with a warning
def test_truncated_file_reads_complete_records_with_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _write(tmp_path / "night.edf")
    full = read_edf(path)
    hb, rb, n = _layout(path)
    path.write_bytes(path.read_bytes()[: hb + 10 * rb + rb // 2])  # 10 complete records and a half
    with caplog.at_level(logging.WARNING, logger="somnomyo"):
        rec = read_edf(path)
    assert rec.duration == 10.0
    np.testing.assert_array_equal(rec["Leg L"].data, full["Leg L"].data[: 10 * int(FS)])
    assert any("truncated" in r.getMessage() and f"announces {n}" in r.getMessage() for r in caplog.records)


def test_truncated_by_one_byte_drops_only_last_record(tmp_path: Path) -> None:
    path = _write(tmp_path / "night.edf")
    path.write_bytes(path.read_bytes()[:-1])
    assert read_header(path).duration == SECONDS - 1


def test_record_count_minus_one_counts_records_from_file_size(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _write(tmp_path / "night.edf")
    _set_global(path, 236, 8, b"-1")
    with caplog.at_level(logging.WARNING, logger="somnomyo"):
        rec = read_edf(path)
    assert rec.duration == SECONDS and rec["Leg R"].data.size == int(FS) * SECONDS
    assert any("-1" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("announced", [1, SECONDS - 1])
def test_record_count_smaller_than_file_reads_announced_records_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, announced: int
) -> None:
    path = _write(tmp_path / "night.edf")
    _set_global(path, 236, 8, str(announced).encode())
    with caplog.at_level(logging.WARNING, logger="somnomyo"):
        rec = read_edf(path)
    assert rec["Leg L"].data.size == announced * int(FS)
    assert any("bytes after the" in r.getMessage() for r in caplog.records)


def test_record_count_larger_than_file_reads_what_is_there(tmp_path: Path) -> None:
    path = _write(tmp_path / "night.edf")
    _set_global(path, 236, 8, str(SECONDS + 1).encode())
    assert read_edf(path)["Leg L"].data.size == SECONDS * int(FS)


def test_samples_per_record_mismatch_reads_whole_records_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Samples per record of one channel doubled: the records the header describes are longer than
    the ones written, so fewer are complete; those are read, with a 'truncated' warning."""
    path = _write(tmp_path / "night.edf")
    hb, rb, _ = _layout(path)
    _set_field(path, "spr", 0, b"512")
    with caplog.at_level(logging.WARNING, logger="somnomyo"):
        rec = read_edf(path)
    n = (path.stat().st_size - hb) // (rb + 2 * 256)
    assert 0 < n < SECONDS
    assert rec["Leg L"].fs == 512.0 and rec["Leg L"].data.size == n * 512
    assert any("truncated" in r.getMessage() for r in caplog.records)


def test_truncated_file_cli_info_exit_0_with_one_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "night.edf")
    hb, rb, _ = _layout(path)
    path.write_bytes(path.read_bytes()[: hb + 5 * rb + 3])
    rc, out, err = _cli(capsys, "info", str(path))
    assert rc == 0
    assert "duration   5.0 s" in out
    assert "warning" in err.lower() and "truncated" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "raw_label, expected",
    [
        ("Jambe gauche \u00e9".encode("latin-1"), "Jambe gauche \u00e9"),  # Latin-1 byte
        ("EMG \u00b5V jambe".encode("utf-8"), "EMG \u00b5V jambe"),  # UTF-8 sequence
        (b"   Leg L", "Leg L"),  # leading spaces
    ],
)
def test_non_ascii_and_padded_labels_are_read_and_selectable(tmp_path: Path, raw_label: bytes, expected: str) -> None:
    path = _write(tmp_path / "night.edf")
    _set_field(path, "label", 0, raw_label)
    rec = read_edf(path, channels=[expected])
    assert rec.labels[0] == expected
    assert rec[expected].data.size == int(FS) * SECONDS


def test_label_and_numbers_padded_with_nul_bytes_are_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "night.edf")
    full = read_edf(path)
    _set_field(path, "label", 0, b"Leg L", pad=b"\x00")
    _set_field(path, "pmin", 0, b"-500", pad=b"\x00")
    rec = read_edf(path, channels=["Leg L"])
    assert rec.labels == ["Leg L", "Leg R"]
    np.testing.assert_array_equal(rec["Leg L"].data, full["Leg L"].data)


def test_physical_min_above_max_reads_with_inverted_sign(tmp_path: Path) -> None:
    """EDF spec 2.1.3.5: physical = pmin + (digital - dmin) * (pmax - pmin) / (dmax - dmin); a
    physical maximum below the minimum is allowed (negative gain) and inverts the sign."""
    path = _write(tmp_path / "night.edf")
    full = read_edf(path)
    _set_field(path, "pmin", 0, b"500")
    _set_field(path, "pmax", 0, b"-500")
    rec = read_edf(path)
    np.testing.assert_allclose(rec["Leg L"].data, -full["Leg L"].data, atol=1e-9)
    np.testing.assert_array_equal(rec["Leg R"].data, full["Leg R"].data)
    info = rec.channel("Leg L")
    assert info.physical_min == 500.0 and info.physical_max == -500.0


def test_physical_min_above_max_written_and_read_back(tmp_path: Path) -> None:
    sig = Signal("Leg L", np.array([-400.0, -1.0, 0.0, 250.0] * 64), 256.0)
    path = write_edf(tmp_path / "inv.edf", [sig], physical_ranges={"Leg L": (500.0, -500.0)})
    q = 1000.0 / 65535
    np.testing.assert_allclose(read_edf(path)["Leg L"].data, sig.data, atol=q / 2 + 1e-9)


def test_bdf_24_bit_extremes_decode_to_physical_min_and_max(tmp_path: Path) -> None:
    x = np.tile([-500.0, 500.0, 0.0, -250.0], 64)
    path = write_edf(tmp_path / "x.bdf", [Signal("Leg L", x, 256.0)], bdf=True, physical_ranges={"Leg L": RANGE})
    raw = path.read_bytes()
    first = raw[256 * 3 : 256 * 3 + 6]
    assert first == b"\x00\x00\x80\xff\xff\x7f"  # -8388608, 8388607 little-endian 24-bit
    data = read_edf(path)["Leg L"].data
    assert data[0] == pytest.approx(-500.0, rel=1e-12) and data[1] == pytest.approx(500.0, rel=1e-12)
    assert data.min() == pytest.approx(-500.0, rel=1e-12) and data.max() == pytest.approx(500.0, rel=1e-12)
    q = 1000.0 / (2**24 - 1)
    assert abs(data[2]) <= q and abs(data[3] + 250.0) <= q


def test_bdf_negative_24_bit_values_keep_their_sign(tmp_path: Path) -> None:
    # -1 is 0xFFFFFF; 0x800000 with the top bit set must not read as +8388608
    x = np.array([-500.0 + 1000.0 / (2**24 - 1) * k for k in (0, 1, 8388607, 8388608)] * 64)
    path = write_edf(tmp_path / "y.bdf", [Signal("Leg L", x, 256.0)], bdf=True, physical_ranges={"Leg L": RANGE})
    data = read_edf(path)["Leg L"].data
    np.testing.assert_allclose(data[:4], x[:4], atol=1e-6)
    assert np.all(np.diff(data[:4]) > 0)


def _edf_d(tmp_path: Path, moved_to: int) -> Path:
    """EDF+D, 1-s records; record 1 carries time-keeping onset ``moved_to`` (later ones shifted too)."""
    path = _write(tmp_path / "d.edf", seconds=4, annotations=())
    raw = bytearray(path.read_bytes())
    raw[192:197] = b"EDF+D"
    for r in (3, 2, 1):  # last first: new onsets never clash
        i = raw.find(f"+{r}\x14\x14\x00".encode())
        raw[i : i + 2] = f"+{r + moved_to - 1}".encode()
    path.write_bytes(bytes(raw))
    return path


def test_edfplus_d_gap_is_reported_and_filled_with_zero(tmp_path: Path) -> None:
    path = _edf_d(tmp_path, moved_to=3)  # records at 0, 3, 4, 5 s: a 2-s gap
    rec = read_edf(path)
    assert rec.file_type == "EDF+D"
    assert rec.gaps == [(1.0, 2.0)]
    assert rec.duration == 6.0
    leg = rec["Leg L"].data
    assert leg.size == 6 * int(FS)
    assert np.all(leg[int(FS) : 3 * int(FS)] == 0.0) and np.any(leg[3 * int(FS) :] != 0.0)


def test_edfplus_d_without_gap_just_contiguous(tmp_path: Path) -> None:
    path = _edf_d(tmp_path, moved_to=1)
    assert read_edf(path).gaps == []


def test_edfplus_d_overlapping_records_fail_cleanly_through_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "d.edf", seconds=4, annotations=())
    raw = bytearray(path.read_bytes())
    raw[192:197] = b"EDF+D"
    i = raw.find(b"+2\x14\x14\x00")
    raw[i : i + 2] = b"+0"
    path.write_bytes(bytes(raw))
    with pytest.raises(RecordingError, match="overlap"):
        read_edf(path)
    rc, _, err = _cli(capsys, "score", str(path), "--out", str(tmp_path / "o"))
    _assert_clean_cli_error(rc, err, path, "overlap")
    assert not (tmp_path / "o").exists()


def test_edfplus_d_absurd_record_onset_fails_cleanly(tmp_path: Path) -> None:
    """A corrupt time-keeping TAL (onset 10^12 s) must not allocate a signal for 30,000 years."""
    path = _write(tmp_path / "d.edf", seconds=4, annotations=())
    raw = bytearray(path.read_bytes())
    raw[192:197] = b"EDF+D"
    assert raw[-16:].startswith(b"+3\x14\x14\x00")  # annotation signal of the last record: 16 bytes
    raw[-16:] = b"+999999999999\x14\x14\x00"
    path.write_bytes(bytes(raw))
    with pytest.raises(RecordingError, match="record 3"):
        read_edf(path)


def test_edfplus_d_gaps_shown_by_cli_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _edf_d(tmp_path, moved_to=3)
    rc, out, _ = _cli(capsys, "info", str(path))
    assert rc == 0 and "gaps       1 (EDF+D)" in out


def test_annotation_only_edf_has_no_channels_and_its_annotations_read(tmp_path: Path) -> None:
    path = _annotation_only(tmp_path / "hyp.edf", [(0.0, 30.0, "Sleep stage W"), (30.0, 60.0, "Sleep stage 2")])
    rec = read_header(path)
    assert rec.channels == [] and rec.file_type == "EDF+C"
    assert read_annotations(path) == [(0.0, 30.0, "Sleep stage W"), (30.0, 60.0, "Sleep stage 2")]
    assert read_edf(path).signals == {}


def test_annotation_only_edf_cli_info_ok_and_score_exit_2_without_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _annotation_only(tmp_path / "hyp.edf", [(0.0, 30.0, "Sleep stage W")])
    rc, out, err = _cli(capsys, "info", str(path))
    # an annotation-only EDF+ is listed: no channels, its annotations counted
    assert rc == 0 and "channels   0" in out and "hypnogram: 1 epochs" in out
    rc, _, err = _cli(capsys, "score", str(path), "--out", str(tmp_path / "out"))
    _assert_clean_cli_error(rc, err, path, "no usable leg EMG channel")
    assert not (tmp_path / "out").exists()


def test_valid_small_recording_scores_through_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Control for the battery above: the unmodified file scores and writes its outputs."""
    path = _write(tmp_path / "night.edf")
    rc, _, err = _cli(capsys, "-q", "score", str(path), "--out", str(tmp_path / "out"))
    assert rc == 0, err
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"events.tsv", "events.json", "summary.json"} <= names
    assert not [n for n in names if n.startswith(".")]  # no temporary leftovers
