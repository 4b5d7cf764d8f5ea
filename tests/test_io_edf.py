"""EDF/EDF+/BDF reader (somnomyo.io.edf): round trips, units, real files, EDF+D, malformed input."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from somnomyo.errors import RecordingError
from somnomyo.io import edf as edf_mod
from somnomyo.io.edf import read_annotations, read_edf, read_header, unit_scale_to_uv
from somnomyo.io.edf_write import write_edf
from somnomyo.io.recording import Signal

START = dt.datetime(2021, 3, 4, 22, 15, 30)
# exact physical ranges (8-character header fields hold them without rounding)
RANGES = {"Leg L": (-250.0, 250.0), "Leg R": (-200.0, 200.0), "Chin": (-100.0, 100.0), "SpO2": (0.0, 100.0)}
# per-signal header fields (EDF spec): name -> (position in order, width)
_FIELDS = ["label", "transducer", "unit", "pmin", "pmax", "dmin", "dmax", "prefilter", "spr", "reserved"]
_WIDTHS = [16, 80, 8, 8, 8, 8, 8, 80, 8, 32]


# ----------------------------------------------------------------------------- helpers
def _signals(seconds: int = 6, seed: int = 0) -> list[Signal]:
    rng = np.random.default_rng(seed)
    return [
        Signal("Leg L", rng.normal(0, 40, 256 * seconds), 256.0),
        Signal("Leg R", rng.normal(0, 25, 200 * seconds), 200.0),
        Signal("Chin", np.sin(np.arange(100 * seconds) / 7.0) * 80.0, 100.0),
        Signal("SpO2", 90 + rng.uniform(0, 9, 1 * seconds), 1.0, unit="%"),
    ]


def _write(path: Path, *, bdf: bool = False, seconds: int = 6, **kw) -> tuple[Path, list[Signal]]:
    sigs = _signals(seconds)
    kw.setdefault("physical_ranges", RANGES)
    write_edf(path, sigs, start=START, bdf=bdf, **kw)
    return path, sigs


def _header_info(path: Path) -> dict:
    """Parse the header independently of the reader (offsets for patching)."""
    raw = path.read_bytes()
    ns = int(raw[252:256])
    spr = [int(raw[256 + ns * sum(_WIDTHS[:8]) + i * 8 : 256 + ns * sum(_WIDTHS[:8]) + (i + 1) * 8]) for i in range(ns)]
    width = 3 if raw[:1] == b"\xff" else 2
    return {
        "ns": ns,
        "spr": spr,
        "width": width,
        "header": 256 * (ns + 1),
        "record": sum(spr) * width,
        "n_records": int(raw[236:244]),
    }


def _patch(path: Path, offset: int, value: bytes) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset : offset + len(value)] = value
    path.write_bytes(bytes(raw))


def _patch_signal_field(path: Path, field: str, signal: int, text: bytes) -> None:
    ns = _header_info(path)["ns"]
    k = _FIELDS.index(field)
    w = _WIDTHS[k]
    _patch(path, 256 + ns * sum(_WIDTHS[:k]) + signal * w, text.ljust(w, b" ")[:w])


def _assert_one_line_error(exc: pytest.ExceptionInfo, path: Path, *words: str) -> None:
    msg = str(exc.value)
    assert "\n" not in msg
    assert str(path) in msg
    for w in words:
        assert w.lower() in msg.lower(), msg


def _quantum(sig: Signal, bdf: bool) -> float:
    lo, hi = RANGES[sig.label]
    return (hi - lo) / ((2**24 if bdf else 2**16) - 1)


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("bdf", [False, True], ids=["edf", "bdf"])
def test_round_trip_values_within_quantization_each_at_own_rate(tmp_path: Path, bdf: bool) -> None:
    path, sigs = _write(tmp_path / ("x.bdf" if bdf else "x.edf"), bdf=bdf)
    rec = read_edf(path)
    assert rec.file_type == ("BDF+C" if bdf else "EDF+C")
    assert rec.start == START
    assert rec.duration == 6.0
    assert rec.labels == [s.label for s in sigs]  # no annotation channel listed
    for s in sigs:
        got = rec[s.label]
        assert got.fs == s.fs and got.data.dtype == np.float64
        assert got.data.size == s.data.size
        err = np.max(np.abs(got.data - s.data))
        q = _quantum(s, bdf)
        assert q / 4 < err <= q / 2 * (1 + 1e-9)  # really quantized, never by more than half a step
    assert rec["SpO2"].unit == "%"
    assert rec["Leg L"].unit == "uV"
    # BDF negative values: 24-bit sign extension
    if bdf:
        neg = sigs[0].data < -50
        assert np.all(rec["Leg L"].data[neg] < 0)


def test_round_trip_header_channel_info(tmp_path: Path) -> None:
    path, sigs = _write(tmp_path / "x.edf")
    hdr = read_header(path)
    assert hdr.signals == {}
    c = hdr.channel("Leg R")
    assert (c.fs, c.samples_per_record, c.unit, c.digital_min, c.digital_max) == (200.0, 200, "uV", -32768, 32767)
    assert (c.physical_min, c.physical_max) == RANGES["Leg R"]
    assert hdr.duration == 6.0 and hdr.start == START and hdr.file_type == "EDF+C"


@pytest.mark.parametrize("bdf", [False, True], ids=["edf", "bdf"])
def test_round_trip_annotations_preserved(tmp_path: Path, bdf: bool) -> None:
    ann = [
        (0.0, 0.0, "+5"),
        (0.5, 0.0, "Lights off"),
        (2.25, 1.5, "LM left"),
        (3.0, 0.0, "+3"),
        (5.75, 0.25, "Arousal ÄÖ"),
    ]  # texts that look like onsets are kept too
    path, _ = _write(tmp_path / "a.edf", bdf=bdf, annotations=ann)
    assert read_edf(path).annotations == ann
    assert read_annotations(path) == ann
    assert read_edf(path, annotations=False).annotations == []


def test_record_duration_other_than_one_second(tmp_path: Path) -> None:
    sigs = [Signal("EMG", np.linspace(-100, 100, 512 * 3), 256.0), Signal("Resp", np.arange(30.0), 10.0)]
    path = write_edf(tmp_path / "r.edf", sigs, start=START, record_duration=2.0)
    rec = read_edf(path)
    assert rec.duration == 6.0
    assert rec.channel("EMG").samples_per_record == 512
    np.testing.assert_allclose(rec["EMG"].data[: 512 * 3], sigs[0].data, atol=0.01)
    np.testing.assert_allclose(rec["Resp"].data[:30], sigs[1].data, atol=0.01)


# ----------------------------------------------------------------------------- selection
def test_only_requested_channels_are_loaded_and_match_full_read(tmp_path: Path) -> None:
    path, _ = _write(tmp_path / "x.edf")
    full = read_edf(path)
    part = read_edf(path, ["Chin", " Leg L "])
    assert list(part.signals) == ["Chin", "Leg L"]
    assert part.labels == full.labels  # header still lists every channel
    np.testing.assert_array_equal(part["Chin"].data, full["Chin"].data)
    np.testing.assert_array_equal(part["Leg L"].data, full["Leg L"].data)


@pytest.mark.parametrize("kind", ["edf", "bdf", "edf+d"])
def test_float32_read_holds_the_float64_values_rounded_once(tmp_path: Path, kind: str) -> None:
    if kind == "edf+d":
        path, _ = _make_edfplus_d(tmp_path, [0, 1, 5, 6])
    else:
        path, _ = _write(tmp_path / f"x.{kind}", bdf=kind == "bdf")
    full = read_edf(path)
    half = read_edf(path, dtype="float32")
    same = read_edf(path, dtype=np.float32)
    assert list(half.signals) == list(full.signals) and half.gaps == full.gaps
    for label, sig in full.signals.items():
        assert half[label].data.dtype == np.float32 and half[label].unit == sig.unit
        np.testing.assert_array_equal(half[label].data, sig.data.astype(np.float32))
        np.testing.assert_array_equal(same[label].data, half[label].data)


@pytest.mark.parametrize("dtype", ["int16", "float16", "complex128", "nonsense"])
def test_read_dtype_other_than_float64_or_float32_is_refused_listing_both(tmp_path: Path, dtype: str) -> None:
    path, _ = _write(tmp_path / "x.edf")
    with pytest.raises(ValueError, match="'float64', 'float32'"):
        read_edf(path, dtype=dtype)


@pytest.mark.parametrize("bdf", [False, True], ids=["edf", "bdf"])
def test_only_requested_channels_are_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bdf: bool) -> None:
    path, _ = _write(tmp_path / "x.edf", bdf=bdf)
    seen: list[int] = []
    real = edf_mod._digital

    def spy(block: np.ndarray, is_bdf: bool) -> np.ndarray:
        seen.append(block.shape[1])  # samples per record of the decoded signal
        return real(block, is_bdf)

    monkeypatch.setattr(edf_mod, "_digital", spy)
    read_edf(path, ["Leg R"])
    assert set(seen) == {200}  # Leg R only; 256/100/1 never converted
    dtype = edf_mod._record_dtype(edf_mod._layout(path), [1])
    assert len(dtype.names) == 1 and dtype.itemsize == _header_info(path)["record"]


def test_unknown_channel_error_lists_file_channels(tmp_path: Path) -> None:
    path, _ = _write(tmp_path / "x.edf")
    with pytest.raises(RecordingError) as exc:
        read_edf(path, ["Leg L", "LAT"])
    _assert_one_line_error(exc, path, "'LAT'", "'Leg L'", "'Leg R'", "'Chin'", "'SpO2'")
    assert "Annotations" not in str(exc.value)


# ----------------------------------------------------------------------------- units
@pytest.mark.parametrize(
    "unit, factor",
    [
        ("V", 1e6),
        ("v", 1e6),
        ("mV", 1e3),
        ("MV", 1e3),
        ("uV", 1.0),
        ("UV", 1.0),
        ("\u00b5V", 1.0),
        ("\u03bcV", 1.0),
        ("micro V", 1.0),
        ("microvolt", 1.0),
        ("MicroVolt", 1.0),
        ("nV", 1e-3),
        (" mV ", 1e3),
        ("%", None),
        ("DegC", None),
        ("", None),
        ("bpm", None),
        ("mmHg", None),
        ("uA", None),
    ],
)
def test_unit_scale_to_uv_table(unit: str, factor: float | None) -> None:
    assert unit_scale_to_uv(unit) == factor


@pytest.mark.parametrize(
    "unit_bytes, factor",
    [
        (b"mV", 1e3),
        (b"V", 1e6),
        (b"nV", 1e-3),
        (b"uV", 1.0),
        ("\u00b5V".encode("latin-1"), 1.0),
        ("\u00b5V".encode("utf-8"), 1.0),
        ("\u03bcV".encode("utf-8"), 1.0),
    ],
)
def test_voltage_units_in_file_converted_to_uv(tmp_path: Path, unit_bytes: bytes, factor: float) -> None:
    path, _ = _write(tmp_path / "x.edf")
    ref = read_edf(path, ["Chin"])["Chin"].data
    _patch_signal_field(path, "unit", 2, unit_bytes)
    got = read_edf(path, ["Chin"])["Chin"]
    assert got.unit == "uV"
    np.testing.assert_allclose(got.data, ref * factor, rtol=1e-12)


def test_non_voltage_unit_kept_as_is(tmp_path: Path) -> None:
    path, sigs = _write(tmp_path / "x.edf")
    _patch_signal_field(path, "unit", 2, b"DegC")
    got = read_edf(path, ["Chin"])["Chin"]
    assert got.unit == "DegC"
    np.testing.assert_allclose(got.data, sigs[2].data, atol=_quantum(sigs[2], False))


# ----------------------------------------------------------------------------- start date
@pytest.mark.parametrize(
    "date, recfield, year",
    [
        (b"24.04.85", b"X", 1985),
        (b"24.04.99", b"X", 1999),
        (b"24.04.84", b"X", 2084),
        (b"24.04.00", b"X", 2000),
        (b"24.04.89", b"Startdate X X X X", 1989),
        (b"24.04.89", b"Startdate 24-APR-2089 X X X", 2089),
    ],
)
def test_start_year_century_rule_and_edfplus_startdate(tmp_path: Path, date: bytes, recfield: bytes, year: int) -> None:
    path, _ = _write(tmp_path / "x.edf")
    _patch(path, 168, date)
    _patch(path, 88, recfield.ljust(80))
    assert read_header(path).start == dt.datetime(year, 4, 24, 22, 15, 30)


# ----------------------------------------------------------------------------- EDF+D
def _make_edfplus_d(tmp_path: Path, onsets: list[int]) -> tuple[Path, list[Signal]]:
    """4 one-second records; patch EDF+D and the time-keeping TALs to ``onsets``."""
    sigs = [
        Signal("EMG", np.arange(1, 4 * 256 + 1, dtype=float) / 10, 256.0),
        Signal("Resp", np.arange(1, 4 * 4 + 1, dtype=float), 4.0),
    ]
    path = write_edf(tmp_path / "d.edf", sigs, start=START, annotations=[(2.5, 0.0, "event in record 2")])
    info = _header_info(path)
    _patch(path, 192, b"EDF+D".ljust(44))
    ann_offset = sum(info["spr"][:-1]) * 2
    for r, onset in enumerate(onsets):
        pos = info["header"] + r * info["record"] + ann_offset
        old = f"+{r}\x14\x14".encode()
        assert path.read_bytes()[pos : pos + len(old)] == old
        _patch(path, pos, f"+{onset}\x14\x14".encode())
    return path, sigs


def test_edfplus_d_gap_filled_with_zero_and_reported(tmp_path: Path) -> None:
    path, sigs = _make_edfplus_d(tmp_path, [0, 1, 5, 6])
    rec = read_edf(path)
    assert rec.file_type == "EDF+D"
    assert rec.gaps == [(2.0, 3.0)]
    assert rec.duration == 7.0
    emg = rec["EMG"].data
    assert emg.size == 7 * 256
    np.testing.assert_allclose(emg[:512], sigs[0].data[:512], atol=0.01)
    assert np.all(emg[512 : 5 * 256] == 0)
    np.testing.assert_allclose(emg[5 * 256 :], sigs[0].data[512:], atol=0.01)
    resp = rec["Resp"].data
    assert resp.size == 28 and np.all(resp[8:20] == 0)
    np.testing.assert_allclose(resp[20:], sigs[1].data[8:], atol=0.01)
    assert "event in record 2" in [a[2] for a in rec.annotations]


def test_edfplus_d_without_gap_reports_none(tmp_path: Path) -> None:
    path, sigs = _make_edfplus_d(tmp_path, [0, 1, 2, 3])
    rec = read_edf(path)
    assert rec.gaps == [] and rec.duration == 4.0
    np.testing.assert_allclose(rec["EMG"].data, sigs[0].data, atol=0.01)


def test_edfplus_d_leading_gap_when_first_record_starts_late(tmp_path: Path) -> None:
    path, _ = _make_edfplus_d(tmp_path, [1, 2, 3, 4])
    rec = read_edf(path)
    assert rec.gaps == [(0.0, 1.0)] and rec.duration == 5.0
    assert np.all(rec["EMG"].data[:256] == 0) and rec["EMG"].data[256] != 0


def test_edfplus_d_overlapping_records_raise(tmp_path: Path) -> None:
    path, _ = _make_edfplus_d(tmp_path, [0, 1, 1, 3])
    with pytest.raises(RecordingError) as exc:
        read_edf(path)
    _assert_one_line_error(exc, path, "overlap")


# ----------------------------------------------------------------------------- real files
def test_real_sleep_edf_short_psg_channels_and_rates(real_dir: Path) -> None:
    rec = read_header(real_dir / "sleep-edf" / "short_psg.edf")
    assert rec.file_type == "EDF"
    assert rec.start == dt.datetime(1989, 4, 24, 16, 13, 0)
    assert rec.duration == 300.0
    assert [(c.label, c.fs) for c in rec.channels] == [
        ("EEG Fpz-Cz", 100.0),
        ("EEG Pz-Oz", 100.0),
        ("EOG horizontal", 100.0),
        ("Resp oro-nasal", 1.0),
        ("EMG submental", 1.0),
        ("Temp rectal", 1.0),
        ("Event marker", 1.0),
    ]
    assert rec.channel("Temp rectal").unit == "DegC"


@pytest.mark.parametrize("name", ["sleep-edf/short_psg.edf", "cap/brux2-excerpt.edf"])
def test_real_files_match_edfio(real_dir: Path, name: str) -> None:
    edfio = pytest.importorskip("edfio")
    path = real_dir / name
    rec = read_edf(path)
    ref = edfio.read_edf(path)
    assert rec.labels == [s.label for s in ref.signals]
    for s in ref.signals:
        got = rec[s.label]
        assert got.fs == s.sampling_frequency
        factor = unit_scale_to_uv(s.physical_dimension) or 1.0
        np.testing.assert_allclose(got.data, s.data * factor, rtol=1e-12, atol=1e-9)


def test_real_cap_brux2_five_eeg_channels_256hz_100s(real_dir: Path) -> None:
    rec = read_edf(real_dir / "cap" / "brux2-excerpt.edf", ["Fp2-F4", "F8-T4"])
    assert rec.labels == ["Fp2-F4", "F4-C4", "C4-P4", "P4-O2", "F8-T4"]
    assert all(c.fs == 256.0 for c in rec.channels)
    assert rec.duration == 100.0
    assert rec["F8-T4"].data.size == 25600 and rec["F8-T4"].unit == "uV"
    assert list(rec.signals) == ["Fp2-F4", "F8-T4"]


def test_real_sleep_edf_hypnogram_annotations(real_dir: Path) -> None:
    path = real_dir / "sleep-edf" / "SC4001EC-Hypnogram.edf"
    ann = read_annotations(path)
    assert len(ann) == 154
    assert ann[0] == (0.0, 30630.0, "Sleep stage W")
    assert ann[1] == (30630.0, 120.0, "Sleep stage 1")
    stage = [a for a in ann if a[2].startswith("Sleep stage")]
    assert sum(a[1] for a in stage) == 2880 * 30
    assert read_header(path).channels == []
    edfio = pytest.importorskip("edfio")
    assert ann == [(a.onset, a.duration or 0.0, a.text) for a in edfio.read_edf(path).annotations]


def test_real_hmc_scoring_stage_counts(real_dir: Path) -> None:
    ann = read_annotations(real_dir / "hmc" / "SN001-scoring.edf")
    counts = Counter(a[2].split("Sleep stage ", 1)[1].split()[0] for a in ann if "Sleep stage" in a[2])
    assert counts == {"W": 151, "N1": 109, "N2": 430, "N3": 23, "R": 141}
    texts = " ".join(a[2] for a in ann)
    assert "Lights off" in texts and "Lights on" in texts


# ----------------------------------------------------------------------------- malformed input
def test_missing_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "nope.edf"
    with pytest.raises(RecordingError) as exc:
        read_edf(path)
    _assert_one_line_error(exc, path, "not found")


def test_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(RecordingError) as exc:
        read_header(tmp_path)
    _assert_one_line_error(exc, tmp_path, "directory")


def test_zero_length_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "empty.edf"
    path.write_bytes(b"")
    with pytest.raises(RecordingError) as exc:
        read_edf(path)
    _assert_one_line_error(exc, path, "empty")


def test_bad_version_field_raises(tmp_path: Path) -> None:
    path, _ = _write(tmp_path / "x.edf")
    _patch(path, 0, b"1       ")
    with pytest.raises(RecordingError) as exc:
        read_header(path)
    _assert_one_line_error(exc, path, "not an EDF/BDF", "version")


def test_non_ascii_header_raises(tmp_path: Path) -> None:
    path, _ = _write(tmp_path / "x.edf")
    _patch(path, 236, b"\x89\xfe\x00\x01")  # number-of-records field
    with pytest.raises(RecordingError) as exc:
        read_header(path)
    _assert_one_line_error(exc, path, "not ASCII")


@pytest.mark.parametrize("n_bytes", [10, 255])
def test_header_shorter_than_256_bytes_raises(tmp_path: Path, n_bytes: int) -> None:
    path = tmp_path / "short.edf"
    path.write_bytes(b"0       ".ljust(n_bytes, b" ")[:n_bytes])
    with pytest.raises(RecordingError) as exc:
        read_header(path)
    _assert_one_line_error(exc, path, "too short")


def test_signal_headers_cut_short_raise(tmp_path: Path) -> None:
    path, _ = _write(tmp_path / "x.edf")
    path.write_bytes(path.read_bytes()[: 256 + 256 * 5 - 1])  # one byte short of the full header
    with pytest.raises(RecordingError) as exc:
        read_header(path)
    _assert_one_line_error(exc, path, "too short")


def test_header_byte_count_inconsistent_raises(tmp_path: Path) -> None:
    path, _ = _write(tmp_path / "x.edf")
    _patch(path, 184, b"1536    ")  # 4 signals + annotations: 256 * 6
    read_header(path)  # just inside: the correct count is accepted
    _patch(path, 184, b"1280    ")
    with pytest.raises(RecordingError) as exc:
        read_header(path)
    _assert_one_line_error(exc, path, "header byte count", "1280", "1536")


def test_record_count_minus_one_computed_from_size_with_warning(tmp_path: Path, caplog) -> None:
    path, sigs = _write(tmp_path / "x.edf")
    _patch(path, 236, b"-1      ")
    with caplog.at_level(logging.WARNING, logger="somnomyo"):
        rec = read_edf(path, ["Leg L"])
    assert rec.duration == 6.0 and rec["Leg L"].data.size == 6 * 256
    assert any("-1" in r.getMessage() for r in caplog.records)


def test_truncated_file_reads_complete_records_with_warning(tmp_path: Path, caplog) -> None:
    path, sigs = _write(tmp_path / "x.edf")
    info = _header_info(path)
    path.write_bytes(path.read_bytes()[: info["header"] + 4 * info["record"] + info["record"] - 1])
    with caplog.at_level(logging.WARNING, logger="somnomyo"):
        rec = read_edf(path, ["Leg L"])
    assert rec.duration == 4.0
    np.testing.assert_allclose(rec["Leg L"].data, sigs[0].data[: 4 * 256], atol=_quantum(sigs[0], False))
    assert any("truncated" in r.getMessage() for r in caplog.records)


def test_truncated_file_with_exactly_one_record_is_read(tmp_path: Path) -> None:
    path, _ = _write(tmp_path / "x.edf")
    info = _header_info(path)
    path.write_bytes(path.read_bytes()[: info["header"] + info["record"]])
    assert read_edf(path).duration == 1.0


def test_truncated_file_without_one_complete_record_raises(tmp_path: Path) -> None:
    path, _ = _write(tmp_path / "x.edf")
    info = _header_info(path)
    path.write_bytes(path.read_bytes()[: info["header"] + info["record"] - 1])
    with pytest.raises(RecordingError) as exc:
        read_edf(path)
    _assert_one_line_error(exc, path, "truncated")


def test_extra_bytes_after_records_warn(tmp_path: Path, caplog) -> None:
    path, _ = _write(tmp_path / "x.edf")
    path.write_bytes(path.read_bytes() + b"\x00" * 7)
    with caplog.at_level(logging.WARNING, logger="somnomyo"):
        rec = read_edf(path)
    assert rec.duration == 6.0
    assert any("7 bytes" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("lo, hi", [(b"-32768", b"-32768"), (b"5", b"5")])
def test_digital_min_equal_max_raises_naming_channel(tmp_path: Path, lo: bytes, hi: bytes) -> None:
    path, _ = _write(tmp_path / "x.edf")
    _patch_signal_field(path, "dmin", 1, lo)
    _patch_signal_field(path, "dmax", 1, hi)
    read_edf(path, ["Leg L"])  # an unrequested bad channel does not matter
    with pytest.raises(RecordingError) as exc:
        read_edf(path, ["Leg R"])
    _assert_one_line_error(exc, path, "'Leg R'", "digital")


def test_digital_range_of_one_step_is_accepted(tmp_path: Path) -> None:
    path, _ = _write(tmp_path / "x.edf")
    _patch_signal_field(path, "dmin", 1, b"0")
    _patch_signal_field(path, "dmax", 1, b"1")
    assert np.isfinite(read_edf(path, ["Leg R"])["Leg R"].data).all()


def test_physical_min_equal_max_raises_naming_channel(tmp_path: Path) -> None:
    path, _ = _write(tmp_path / "x.edf")
    _patch_signal_field(path, "pmin", 2, b"100")
    _patch_signal_field(path, "pmax", 2, b"100")
    with pytest.raises(RecordingError) as exc:
        read_edf(path)
    _assert_one_line_error(exc, path, "'Chin'", "physical")


@pytest.mark.parametrize("spr", [b"0", b"-256"])
def test_samples_per_record_not_positive_raises(tmp_path: Path, spr: bytes) -> None:
    path, _ = _write(tmp_path / "x.edf")
    _patch_signal_field(path, "spr", 0, spr)
    with pytest.raises(RecordingError) as exc:
        read_header(path)
    _assert_one_line_error(exc, path, "'Leg L'", "samples per record")


def test_non_numeric_header_field_raises(tmp_path: Path) -> None:
    path, _ = _write(tmp_path / "x.edf")
    _patch(path, 244, b"one sec ")
    with pytest.raises(RecordingError) as exc:
        read_header(path)
    _assert_one_line_error(exc, path, "duration of a data record")


def test_annotations_only_file_has_no_channels_and_reads_with_read_edf(tmp_path: Path, real_dir: Path) -> None:
    path = real_dir / "hmc" / "SN001-scoring.edf"
    rec = read_edf(path)
    assert rec.channels == [] and rec.signals == {}
    assert len(rec.annotations) == len(read_annotations(path))


def test_read_annotations_of_plain_edf_is_empty(real_dir: Path) -> None:
    assert read_annotations(real_dir / "sleep-edf" / "short_psg.edf") == []


def test_records_holding_only_their_timekeeping_tal_are_skipped_with_the_same_annotations() -> None:
    from somnomyo.io.tal import parse_tal

    recs = [
        b"+0\x14\x14\x00",
        b"+1\x14\x14\x00+1.5\x150.5\x14Leg movement\x14\x00",
        b"+2.25\x14\x14\x00",
        b"+3\x14\x14\x00+3\x1530\x14\x14\x00",
        b"-0.5\x14\x14\x00",
        b"+4\x14\x14\x00+4\x14Arousal\x14\x00",
        b"\x00",
        b"+5\x14\x14\x00\x00+5\x14Late\x14\x00",
        b"+6\x14Lights off\x14\x00",
    ]
    width = 64
    rows = np.zeros((len(recs), width), np.uint8)
    for i, r in enumerate(recs):
        rows[i, : len(r)] = np.frombuffer(r, np.uint8)
    skipped = edf_mod._timekeeping_only(rows)
    assert skipped.tolist() == [True, False, True, False, True, False, False, False, False]
    plain = [a for a in parse_tal(edf_mod._TIMEKEEPING.sub(b"", rows.tobytes())) if a[2]]
    assert edf_mod._parse_annotations(rows) == plain
    assert [a[2] for a in plain] == ["Leg movement", "Arousal", "Late", "Lights off"]
