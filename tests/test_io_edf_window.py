"""The windowed EDF reader (somnomyo.io.edf_window) gives exactly read_edf's samples of the span."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from somnomyo.errors import RecordingError
from somnomyo.io.edf import read_edf
from somnomyo.io.edf_window import EdfWindowReader, read_window
from somnomyo.io.edf_write import write_edf
from somnomyo.io.recording import Signal

START = dt.datetime(2024, 1, 1, 22, 0, 0)
SPANS = [(0.0, 2.0), (1.3, 2.77), (0.999, 0.002), (5.5, 10.0), (3.0, 0.0), (-2.0, 3.0)]


def _file(tmp_path: Path, *, bdf: bool) -> Path:
    rng = np.random.default_rng(4)
    sigs = [
        Signal("Leg L", rng.normal(0, 40, 256 * 7), 256.0),
        Signal("Leg R", rng.normal(0, 25, 200 * 7), 200.0),
        Signal("SpO2", 90 + rng.uniform(0, 9, 14), 2.0, unit="%"),
    ]
    return write_edf(tmp_path / ("w.bdf" if bdf else "w.edf"), sigs, start=START, bdf=bdf, record_duration=0.5)


@pytest.mark.parametrize("bdf", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_window_read_equals_read_edf_on_the_same_span(tmp_path: Path, bdf: bool, dtype: str) -> None:
    path = _file(tmp_path, bdf=bdf)
    full = read_edf(path, dtype=dtype, annotations=False)
    with EdfWindowReader(path) as reader:
        for start, dur in SPANS:
            win = reader.read(["Leg L", "Leg R", "SpO2"], start=start, duration=dur, dtype=dtype)
            for label, w in win.items():
                ref = full.signals[label].data
                fs = full.signals[label].fs
                times = np.arange(ref.size) / fs
                want = ref[(times >= start - 1e-9) & (times < start + dur - 1e-9)]
                assert w.data.dtype == np.dtype(dtype)
                assert np.array_equal(w.data, want), (label, start, dur)
                if want.size:
                    assert w.t0 == pytest.approx(times[(times >= start - 1e-9)][0])
                assert w.unit == full.signals[label].unit


def test_window_read_decodes_only_the_records_of_the_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import somnomyo.io.edf_window as ew

    path = _file(tmp_path, bdf=False)
    seen: list[int] = []
    real = ew._edf._digital

    def spy(block: np.ndarray, bdf: bool) -> np.ndarray:
        seen.append(block.shape[0])
        return real(block, bdf)

    monkeypatch.setattr(ew._edf, "_digital", spy)
    read_window(path, ["Leg L"], start=2.0, duration=1.0)
    assert seen == [2]  # two half-second records, one channel


def test_window_read_places_edfplus_d_records_at_their_onsets(tmp_path: Path) -> None:
    sigs = [Signal("EMG", np.arange(1, 4 * 256 + 1, dtype=float) / 10, 256.0)]
    path = write_edf(tmp_path / "d.edf", sigs, start=START)
    raw = bytearray(path.read_bytes())
    raw[192:236] = b"EDF+D".ljust(44)
    ns = int(raw[252:256].decode().strip())
    header = 256 * (ns + 1)
    spr = [int(raw[256 + ns * 216 + 8 * i : 256 + ns * 216 + 8 * (i + 1)].decode()) for i in range(ns)]
    record = sum(spr) * 2
    for r, onset in enumerate([0, 1, 5, 6]):  # a 3-s gap after record 1
        pos = header + r * record + spr[0] * 2
        old = f"+{r}\x14\x14".encode()
        assert bytes(raw[pos : pos + len(old)]) == old
        raw[pos : pos + len(old)] = f"+{onset}\x14\x14".encode()
    path.write_bytes(bytes(raw))
    full = read_edf(path, annotations=False)
    with EdfWindowReader(path) as reader:
        assert reader.duration == full.duration == 7.0 and reader.gaps == full.gaps
        for start, dur in [(0.0, 7.0), (1.5, 4.0), (2.0, 1.0), (4.9, 1.3)]:
            w = reader.read(["EMG"], start=start, duration=dur, dtype="float64")["EMG"]
            assert np.array_equal(w.data, full.signals["EMG"].data[w.first : w.first + w.data.size])
            assert w.data.size == int(np.ceil((start + dur) * 256 - 1e-9)) - int(np.ceil(start * 256 - 1e-9))


def test_window_read_unknown_channel_is_one_line_listing_the_channels(tmp_path: Path) -> None:
    path = _file(tmp_path, bdf=False)
    with pytest.raises(RecordingError) as exc:
        read_window(path, ["Nope"], start=0, duration=1)
    assert "Leg L" in str(exc.value) and "\n" not in str(exc.value) and str(path) in str(exc.value)
