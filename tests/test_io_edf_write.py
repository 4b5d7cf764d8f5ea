import datetime as dt

import numpy as np
import pytest

from somnomyo.io.edf_write import write_edf
from somnomyo.io.recording import Signal
from somnomyo.io.tal import encode_tal, parse_tal


def test_edf_plus_tal_round_trip_keeps_onset_duration_and_text():
    raw = encode_tal(0, None, [""]) + encode_tal(12.5, 30, ["Sleep stage W"]) + encode_tal(40.25, 0, ["Arousal", "LM"])
    assert parse_tal(raw) == [(12.5, 30.0, "Sleep stage W"), (40.25, 0.0, "Arousal"), (40.25, 0.0, "LM")]


def test_written_edf_is_read_by_edfio_with_its_rates_values_and_annotations(tmp_path):
    edfio = pytest.importorskip("edfio")
    rng = np.random.default_rng(0)
    leg = rng.normal(0, 20, 256 * 10)
    eeg = rng.normal(0, 30, 100 * 10)
    start = dt.datetime(2021, 3, 4, 22, 15, 0)
    p = write_edf(
        tmp_path / "x.edf",
        [Signal("Leg L", leg, 256.0), Signal("EEG C3-M2", eeg, 100.0)],
        start=start,
        annotations=[(0.0, 30.0, "Sleep stage W"), (3.5, 0.0, "Arousal")],
    )
    e = edfio.read_edf(p)
    assert [s.label for s in e.signals] == ["Leg L", "EEG C3-M2"]
    assert [s.sampling_frequency for s in e.signals] == [256.0, 100.0]
    q = (2 * np.abs(leg).max() * 1.001) / 65535
    assert np.max(np.abs(e.signals[0].data - leg)) <= q
    assert [(a.onset, a.text) for a in e.annotations] == [(0.0, "Sleep stage W"), (3.5, "Arousal")]
    assert e.startdate == start.date() and e.starttime == start.time()


def test_written_bdf_keeps_24_bit_resolution(tmp_path):
    edfio = pytest.importorskip("edfio")
    x = np.sin(np.arange(2560) / 7) * 100
    p = write_edf(tmp_path / "x.bdf", [Signal("Leg R", x, 256.0)], bdf=True)
    back = edfio.read_bdf(p).signals[0].data
    assert np.max(np.abs(back - x)) < 200.2 / 2**24 * 2
