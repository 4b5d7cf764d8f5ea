"""Property-based tests (hypothesis) of the input parsers: they never fail with anything but a
``SomnomyoError`` subclass, and the EDF writer/reader round trip keeps signals and annotations.

Bounded for speed: at most 60 examples per property, no deadline, no example database.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from somnomyo.errors import AnnotationError, RecordingError
from somnomyo.io.annotation_readers import read_annotations_file
from somnomyo.io.annotations import STAGES
from somnomyo.io.edf import read_annotations, read_edf, read_header
from somnomyo.io.edf_write import write_edf
from somnomyo.io.labels import normalize_label, normalize_stage, split_channel
from somnomyo.io.recording import Signal
from somnomyo.io.tal import encode_tal, parse_tal

BOUNDED = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
AWKWARD = [
    "-1",
    "0",
    "-0",
    "1",
    "99999999",
    "-9999999",
    "1e99",
    "9e9999",
    "1e-320",
    "nan",
    "inf",
    "-inf",
    "0.5",
    "1_0",
    "0x10",
    "",
    "abc",
    "32767",
    "-32768",
    "+1",
    "1e-9",
    "1,5",
    "1e308",
    "-1e308",
]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


@pytest.fixture(scope="module")
def base_edf(work: Path) -> tuple[bytes, list[tuple[int, int]]]:
    """A small valid EDF+C and the (offset, width) of every header field."""
    sigs = [Signal("Leg L", np.sin(np.arange(24) / 3.0) * 100, 8.0), Signal("SpO2", np.full(3, 97.0), 1.0, unit="%")]
    path = write_edf(work / "base.edf", sigs, annotations=[(0.5, 1.0, "Arousal"), (1.0, 30.0, "Sleep stage 2")])
    raw = path.read_bytes()
    ns = int(raw[252:256])
    fields = [(0, 8), (8, 80), (88, 80), (168, 8), (176, 8), (184, 8), (192, 44), (236, 8), (244, 8), (252, 4)]
    pos = 256
    for w in (16, 80, 8, 8, 8, 8, 8, 80, 8, 32):
        fields += [(pos + i * w, w) for i in range(ns)]
        pos += w * ns
    return raw, fields


# ----------------------------------------------------------------------------- EDF reader
@BOUNDED
@given(
    blob=st.one_of(
        st.binary(max_size=1500),
        st.binary(max_size=1500).map(lambda b: b"0       " + b),
        st.binary(max_size=1500).map(lambda b: b"\xffBIOSEMI" + b),
    )
)
def test_edf_reader_on_arbitrary_bytes_raises_only_recording_error(work: Path, blob: bytes) -> None:
    path = work / "arbitrary.edf"
    path.write_bytes(blob)
    for read in (read_header, read_edf, read_annotations):
        try:
            read(path)
        except RecordingError as err:
            assert str(err).startswith(str(path)) and "\n" not in str(err)


@BOUNDED
@given(data=st.data())
def test_edf_reader_on_valid_header_with_mutated_fields_raises_only_recording_error(
    work: Path, base_edf: tuple[bytes, list[tuple[int, int]]], data: st.DataObject
) -> None:
    raw, fields = base_edf
    buf = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 3))):
        off, w = data.draw(st.sampled_from(fields))
        value = data.draw(st.one_of(st.sampled_from(AWKWARD), st.text(max_size=w)))
        buf[off : off + w] = value.encode("utf-8", errors="replace")[:w].ljust(
            w, data.draw(st.sampled_from([b" ", b"\x00"]))
        )
    if data.draw(st.booleans()):
        del buf[data.draw(st.integers(0, len(buf))) :]
    path = work / "mutated.edf"
    path.write_bytes(bytes(buf))
    for read in (read_header, read_edf, read_annotations):
        try:
            read(path)
        except RecordingError as err:
            assert str(err).startswith(str(path)) and "\n" not in str(err)


@st.composite
def _recordings(draw: st.DrawFn) -> tuple[list[Signal], float, list[tuple[float, float, str]], bool]:
    record_duration = draw(st.sampled_from([0.5, 1.0, 2.0]))
    sigs = []
    for i in range(draw(st.integers(1, 3))):
        spr = draw(st.integers(1, 40))
        n = draw(st.integers(1, spr * 4))
        x = draw(hnp.arrays(np.float64, n, elements=st.floats(-5000, 5000, allow_nan=False, width=32)))
        x[draw(st.integers(0, n - 1))] = draw(st.floats(1.0, 5000.0)) * draw(st.sampled_from([-1, 1]))
        sigs.append(Signal(f"S{i}", x, spr / record_duration))
    end = max(s.data.size / s.fs for s in sigs)
    texts = st.text(alphabet=st.characters(categories=("L", "N", "P")), min_size=1, max_size=16)
    ann = draw(st.lists(st.tuples(st.floats(0, end, exclude_max=True), st.floats(0, 100), texts), max_size=5))
    return sigs, record_duration, ann, draw(st.booleans())


@BOUNDED
@given(case=_recordings())
def test_write_edf_read_edf_round_trip_keeps_signals_rates_and_annotations(
    work: Path, case: tuple[list[Signal], float, list[tuple[float, float, str]], bool]
) -> None:
    sigs, record_duration, ann, bdf = case
    path = write_edf(
        work / ("rt.bdf" if bdf else "rt.edf"),
        sigs,
        annotations=ann,
        record_duration=record_duration,
        bdf=bdf,
        start=dt.datetime(2023, 1, 2, 3, 4, 5),
    )
    rec = read_edf(path)
    n_records = max(int(np.ceil(s.data.size / (s.fs * record_duration) - 1e-9)) for s in sigs)
    assert rec.duration == pytest.approx(n_records * record_duration)
    assert rec.start == dt.datetime(2023, 1, 2, 3, 4, 5)
    assert rec.file_type == ("BDF+C" if bdf else "EDF+C")
    for s in sigs:
        got = rec[s.label]
        info = rec.channel(s.label)
        assert got.fs == pytest.approx(s.fs) and got.unit == "uV"
        assert got.data.size == round(n_records * record_duration * s.fs)
        quantum = (info.physical_max - info.physical_min) / (info.digital_max - info.digital_min)
        np.testing.assert_allclose(got.data[: s.data.size], s.data, rtol=0, atol=0.51 * quantum)
        assert np.all(np.abs(got.data[s.data.size :]) <= 0.51 * quantum)  # padding reads as 0
    expected = sorted(ann)
    assert len(rec.annotations) == len(expected)
    for (o, d, t), (go, gd, gt) in zip(expected, rec.annotations):
        assert gt == t and go == pytest.approx(o, abs=1e-6) and gd == pytest.approx(d, abs=1e-6)


# ----------------------------------------------------------------------------- TAL
@BOUNDED
@given(
    blob=st.one_of(
        st.binary(max_size=600),
        st.lists(
            st.sampled_from([b"+", b"-", b"1", b"0.", b"5", b"\x14", b"\x15", b"\x00", b"x", b"\xff", b"9" * 30]),
            max_size=60,
        ).map(b"".join),
    )
)
def test_parse_tal_on_arbitrary_bytes_returns_triples_and_never_raises(blob: bytes) -> None:
    out = parse_tal(blob)
    assert isinstance(out, list)
    for onset, duration, text in out:
        assert isinstance(onset, float) and isinstance(duration, float) and duration >= 0
        assert isinstance(text, str) and text == text.strip() and text


@BOUNDED
@given(
    onset=st.floats(-1e6, 1e6),
    duration=st.one_of(st.none(), st.floats(0, 1e5)),
    texts=st.lists(
        st.text(alphabet=st.characters(categories=("L", "N", "P", "Zs")), max_size=12), min_size=1, max_size=3
    ),
)
def test_encode_tal_then_parse_tal_gives_back_each_nonempty_text(
    onset: float, duration: float | None, texts: list[str]
) -> None:
    out = parse_tal(encode_tal(onset, duration, texts))
    kept = [t.strip() for t in texts if t.strip()]
    assert [t for _, _, t in out] == kept
    for o, d, _ in out:
        assert o == pytest.approx(onset, abs=1e-6)
        assert d == pytest.approx(duration or 0.0, abs=1e-6)


# ----------------------------------------------------------------------------- annotation readers
_CELL = st.one_of(
    st.sampled_from(AWKWARD + ["n/a", "W", "N2", "Sleep stage 4", "Arousal", "LM left", "@@C3"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=8),
)
_COLUMN = st.one_of(
    st.sampled_from(
        [
            "onset",
            "Onset",
            "duration",
            "description",
            "label",
            "trial_type",
            "channel",
            "start",
            "stage",
            "Recording onset",
        ]
    ),
    st.text(max_size=6),
)


@st.composite
def _tables(draw: st.DrawFn) -> str:
    sep = draw(st.sampled_from([",", "\t", ";"]))
    cols = draw(st.lists(_COLUMN, min_size=1, max_size=5))
    rows = draw(st.lists(st.lists(_CELL, min_size=len(cols), max_size=len(cols) + 1), max_size=6))
    return "\n".join(sep.join(r) for r in [cols] + rows)


@st.composite
def _nsrr_xml(draw: st.DrawFn) -> str:
    field = st.one_of(_CELL, st.sampled_from(["Stages|Stages", "Arousals|Arousals", "Wake|0", "Stage 2 sleep|2"]))
    events = []
    for _ in range(draw(st.integers(0, 5))):
        parts = {tag: draw(field) for tag in ("EventType", "EventConcept", "Start", "Duration")}
        events.append(
            "<ScoredEvent>"
            + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in parts.items() if draw(st.integers(0, 9)) > 0)
            + "</ScoredEvent>"
        )
    root = draw(st.sampled_from(["PSGAnnotation", "CMPStudyConfig", "Other"]))
    epoch = escape(draw(_CELL))
    stages = "".join(f"<SleepStage>{escape(draw(_CELL))}</SleepStage>" for _ in range(draw(st.integers(0, 4))))
    return (
        f"<{root}><EpochLength>{epoch}</EpochLength><ScoredEvents>{''.join(events)}</ScoredEvents>"
        f"<SleepStages>{stages}</SleepStages></{root}>"
    )


@BOUNDED
@given(
    text=st.one_of(_tables(), _nsrr_xml(), st.text(max_size=300)),
    ext=st.sampled_from([".csv", ".tsv", ".txt", ".xml", ".hyp"]),
    duration_s=st.one_of(st.none(), st.floats(1.0, 1e5)),
)
def test_annotation_readers_on_random_text_raise_only_annotation_error(
    work: Path, text: str, ext: str, duration_s: float | None
) -> None:
    path = work / f"random{ext}"
    path.write_text(text, encoding="utf-8")
    try:
        ann = read_annotations_file(path, duration_s=duration_s)
    except AnnotationError as err:
        assert str(err).startswith(str(path)) and "\n" not in str(err)
        return
    if ann.hypnogram is not None:
        assert set(ann.hypnogram.stages) <= set(STAGES)
    assert bool(np.isfinite(ann.events["onset"].to_numpy(dtype=float)).all())
    if duration_s is not None:
        assert bool((ann.events["onset"].to_numpy(dtype=float) < duration_s).all())


# ----------------------------------------------------------------------------- labels
@settings(max_examples=100, deadline=None, database=None)
@given(text=st.text(max_size=40))
def test_normalize_label_on_arbitrary_text_never_raises(text: str) -> None:
    norm = normalize_label(text)
    if isinstance(norm, str):
        assert norm in STAGES
    else:
        category, kind = norm
        assert category in ("respiratory", "arousal", "limb", "lights", "myoclonus", "marker") and isinstance(kind, str)
    stage = normalize_stage(text)
    assert stage is None or stage in STAGES
    assert isinstance(split_channel(text)[0], str)
