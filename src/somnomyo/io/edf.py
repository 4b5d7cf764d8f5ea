"""Read EDF, EDF+ (C and D) and BDF files with numpy only.

Format: European Data Format (Kemp et al. 1992), EDF+ (Kemp & Olivan 2003) and
BioSemi BDF (24-bit samples). A file is a 256-byte ASCII header, 256 header bytes
per signal, then ``n_records`` data records; in each record every signal holds
``samples_per_record`` little-endian samples (16-bit EDF, 24-bit BDF), one signal
after the other. EDF+ files carry "EDF Annotations" signals of Time-stamped
Annotation Lists (TALs).

Only the channels asked for are decoded: the data records are visited in blocks
through :class:`numpy.memmap` with a structured record dtype, so each requested
channel is a strided view and the others are never converted; memory use is the
output arrays plus one block.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from somnomyo._logging import logger, verbose
from somnomyo.errors import RecordingError
from somnomyo.io.recording import ChannelInfo, Recording, Signal
from somnomyo.io.tal import parse_tal, record_onsets

__all__ = ["read_header", "read_edf", "read_annotations", "unit_scale_to_uv"]

_BDF_VERSION = b"\xffBIOSEMI"
_ANNOTATION_LABELS = ("EDF Annotations", "BDF Annotations")
_BLOCK_BYTES = 4 * 1024 * 1024  # data visited per memmap block (memory bound)
_MAX_FIELD_INT = 99_999_999  # largest integer an 8-character header field can spell out
_MAX_TIMELINE_S = 7 * 86400.0  # sanity limit on an EDF+D record onset (a corrupt TAL, not a night)
_PADDING = " \t\r\n\x00"  # header fields are space padded; some writers pad with NUL
#: highest sampling rate a channel may claim (Hz): above what any EMG, EEG or PSG amplifier records
#: (PSG systems sample at up to a few kHz; research EMG/EEG amplifiers such as BioSemi ActiveTwo reach
#: 16 kHz); a header claiming more (a record duration of 1e-7 s: GHz rates) is corrupt, not data
MAX_SAMPLING_RATE_HZ = 100_000.0
#: fraction of the memory available that the arrays of one read may take (the rest is left for
#: the processing that follows and for other processes)
MEMORY_FRACTION = 0.9
#: memory the EDF+ annotations take while they are read, as a multiple of their raw bytes (the
#: rows, their concatenation, the masks of the time-keeping check)
_ANNOTATION_WORK_FACTOR = 4
_MONTHS = {
    m: i
    for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)
}

# voltage units -> factor to µV (keys: lower case, spaces removed, micro signs -> "u")
_VOLT_TO_UV = {
    "v": 1e6,
    "volt": 1e6,
    "volts": 1e6,
    "mv": 1e3,
    "millivolt": 1e3,
    "millivolts": 1e3,
    "uv": 1.0,
    "microv": 1.0,
    "microvolt": 1.0,
    "microvolts": 1.0,
    "nv": 1e-3,
    "nanovolt": 1e-3,
    "nanovolts": 1e-3,
}

# per-signal header fields: (name, width)
_SIGNAL_FIELDS = (
    ("label", 16),
    ("transducer", 80),
    ("unit", 8),
    ("physical minimum", 8),
    ("physical maximum", 8),
    ("digital minimum", 8),
    ("digital maximum", 8),
    ("prefilter", 80),
    ("samples per record", 8),
    ("reserved", 32),
)


def unit_scale_to_uv(unit: str) -> float | None:
    """Factor that converts a value in ``unit`` to µV, or ``None`` if not a voltage.

    Accepts V, mV, uV, µV (micro sign U+00B5 or Greek mu U+03BC), "micro V",
    "microvolt", nV (and the spelled-out forms), case-insensitively.
    """
    key = "".join(unit.split()).lower().replace("\u00b5", "u").replace("\u03bc", "u")
    return _VOLT_TO_UV.get(key)


@dataclass(frozen=True)
class _Layout:
    """Everything the header says, plus where each signal lies inside a record."""

    path: Path
    bdf: bool
    file_type: str
    start: dt.datetime | None
    n_records: int  # complete records to read
    record_duration: float
    header_bytes: int
    record_bytes: int
    labels: tuple[str, ...]
    infos: tuple[ChannelInfo, ...]  # every signal, annotation channels included
    offsets: tuple[int, ...]  # byte offset of each signal inside a record
    annotation_index: tuple[int, ...]

    @property
    def width(self) -> int:
        return 3 if self.bdf else 2

    @property
    def ordinary_index(self) -> tuple[int, ...]:
        return tuple(i for i in range(len(self.labels)) if i not in self.annotation_index)


def _fail(problem: str, path: Path) -> RecordingError:
    return RecordingError(problem, path)


def _text(raw: bytes) -> str:
    """Decode a free-text header field (ASCII by the spec; tolerate UTF-8/Latin-1)."""
    try:
        return raw.decode("utf-8").strip(_PADDING)
    except UnicodeDecodeError:
        return raw.decode("latin-1").strip(_PADDING)


def _ascii(raw: bytes, name: str, path: Path) -> str:
    try:
        return raw.decode("ascii").strip(_PADDING)
    except UnicodeDecodeError:
        raise _fail(f"not an EDF/BDF file: header is not ASCII in field '{name}'", path) from None


def _number(raw: bytes, name: str, path: Path, *, integer: bool = False) -> float:
    s = _ascii(raw, name, path)
    try:
        x = float(s)
    except ValueError:
        raise _fail(f"header field '{name}' is not a number: {s!r}", path) from None
    if not np.isfinite(x) or (integer and x != int(x)):
        raise _fail(f"header field '{name}' is not {'an integer' if integer else 'a finite number'}: {s!r}", path)
    if integer and abs(x) > _MAX_FIELD_INT:
        raise _fail(f"header field '{name}' is out of range: {s!r}", path)
    return int(x) if integer else x


def _integer(raw: bytes, name: str, path: Path) -> int:
    """An integer header field (EDF spec: ASCII, left-aligned, space-padded)."""
    return int(_number(raw, name, path, integer=True))


def _start_datetime(date: str, time: str, recording_field: str, path: Path) -> dt.datetime | None:
    """Start date-time: EDF dd.mm.yy hh.mm.ss, years 85-99 -> 19xx, 00-84 -> 20xx.

    EDF+ (Kemp & Olivan 2003, section 2.1.3.3): when the recording field holds
    "Startdate dd-MMM-yyyy", that date (with its 4-digit year) is used.
    """
    d = re.fullmatch(r"(\d{1,2})\D(\d{1,2})\D(\d{1,2})", date)
    t = re.fullmatch(r"(\d{1,2})\D(\d{1,2})\D(\d{1,2})", time)
    if d is None or t is None:
        logger.warning("%s: start date/time %r %r not understood; start left unknown", path, date, time)
        return None
    day, month, yy = (int(g) for g in d.groups())
    year = 1900 + yy if yy >= 85 else 2000 + yy
    m = re.match(r"Startdate\s+(\d{1,2})-([A-Za-z]{3})-(\d{4})\b", recording_field)
    if m is not None and m.group(2).upper() in _MONTHS:
        day, month, year = int(m.group(1)), _MONTHS[m.group(2).upper()], int(m.group(3))
    try:
        hour, minute, second = (int(g) for g in t.groups())
        return dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        logger.warning("%s: start date/time %r %r is not a valid date; start left unknown", path, date, time)
        return None


def _layout(path: str | os.PathLike[str]) -> _Layout:
    """Read and check the header; work out record layout and the usable record count."""
    path = Path(path)
    if not path.exists():
        raise _fail("file not found", path)
    if path.is_dir():
        raise _fail("is a directory, not an EDF/BDF file", path)
    if not path.is_file():  # a FIFO, socket or device: opening or reading it could block forever
        raise _fail("is not a regular file (a pipe, socket or device); give an EDF/BDF file", path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(256)
            if size == 0:
                raise _fail("file is empty (0 bytes)", path)
            if len(head) < 256:
                raise _fail(f"not an EDF/BDF file: header too short ({len(head)} of 256 bytes)", path)
            version = head[:8]
            if version == _BDF_VERSION:
                bdf = True
            elif version == b"0       ":
                bdf = False
            else:
                shown = "".join(c if " " <= c <= "~" else "?" for c in version.decode("latin-1")).strip()
                raise _fail(
                    f'not an EDF/BDF file: its version field (the first 8 bytes) reads "{shown}"; an EDF file '
                    'has "0" there, a BDF file "BIOSEMI"',
                    path,
                )
            ns = _integer(head[252:256], "number of signals", path)
            if ns < 1:
                raise _fail(f"number of signals is {ns}; at least 1 is needed", path)
            sig = fh.read(256 * ns)
    except OSError as err:
        raise _fail(f"cannot read file: {err.strerror or err}", path) from None
    if len(sig) < 256 * ns:
        raise _fail(
            f"not an EDF/BDF file: header too short ({256 + len(sig)} bytes, "
            f"{256 * (ns + 1)} expected for {ns} signals)",
            path,
        )

    recording_field = _text(head[88:168])
    date = _ascii(head[168:176], "start date", path)
    time = _ascii(head[176:184], "start time", path)
    header_bytes = _integer(head[184:192], "number of bytes in header", path)
    reserved = _ascii(head[192:236], "reserved", path)
    n_records = _integer(head[236:244], "number of data records", path)
    record_duration = _number(head[244:252], "duration of a data record", path)
    if header_bytes != 256 * (ns + 1):
        raise _fail(f"header byte count is {header_bytes} but {ns} signals need {256 * (ns + 1)}", path)

    columns: dict[str, list[bytes]] = {}
    pos = 0
    for name, w in _SIGNAL_FIELDS:
        columns[name] = [sig[pos + i * w : pos + (i + 1) * w] for i in range(ns)]
        pos += w * ns
    labels = tuple(_text(b) for b in columns["label"])
    annotation_index = tuple(i for i, lab in enumerate(labels) if lab in _ANNOTATION_LABELS)

    base = "BDF" if bdf else "EDF"
    kind = reserved[:5].upper()
    file_type = base + (kind[3:] if kind in ("EDF+C", "EDF+D", "BDF+C", "BDF+D") else "")
    if file_type.endswith(("+C", "+D")) and not annotation_index:
        logger.warning("%s: %s file without an annotations signal", path, file_type)

    has_signals = len(annotation_index) < ns
    if record_duration < 0 or (record_duration == 0 and has_signals):
        raise _fail(f"duration of a data record is {record_duration} s; it must be > 0", path)

    infos = []
    spr_all = []
    for i, label in enumerate(labels):
        spr = _integer(columns["samples per record"][i], f"samples per record of {label!r}", path)
        if spr <= 0:
            raise _fail(f"channel {label!r}: samples per record is {spr}; it must be > 0", path)
        spr_all.append(spr)
        fs = spr / record_duration if record_duration > 0 else 0.0
        if not np.isfinite(fs):
            raise _fail(
                f"channel {label!r}: {spr} samples in a record of {record_duration:g} s is not a finite sampling rate",
                path,
            )
        infos.append(
            ChannelInfo(
                label=label,
                fs=fs,
                unit=_text(columns["unit"][i]),
                transducer=_text(columns["transducer"][i]),
                prefilter=_text(columns["prefilter"][i]),
                physical_min=_number(columns["physical minimum"][i], f"physical minimum of {label!r}", path),
                physical_max=_number(columns["physical maximum"][i], f"physical maximum of {label!r}", path),
                digital_min=_integer(columns["digital minimum"][i], f"digital minimum of {label!r}", path),
                digital_max=_integer(columns["digital maximum"][i], f"digital maximum of {label!r}", path),
                samples_per_record=spr,
            )
        )
    width = 3 if bdf else 2
    sizes = np.asarray(spr_all, dtype=np.int64) * width
    offsets = tuple(int(x) for x in np.concatenate([[0], np.cumsum(sizes)[:-1]]))
    record_bytes = int(sizes.sum())

    available, extra = divmod(size - header_bytes, record_bytes)
    if n_records > 0 and size != header_bytes + n_records * record_bytes:
        # the body's size fits the other sample width exactly: a BDF header over 16-bit samples or
        # an EDF header over 24-bit ones (the header's sample width is wrong, not the file truncated)
        other = 2 if bdf else 3
        if size == header_bytes + n_records * (record_bytes // width) * other:
            raise _fail(
                f"the header says {'BDF (24-bit' if bdf else 'EDF (16-bit'} samples) but the file size "
                f"({size} bytes) fits {n_records} records of {8 * other}-bit samples; the header's "
                "version field does not match the data",
                path,
            )
    if n_records == -1:
        if available < 1:
            raise _fail("number of data records is -1 and the file holds no complete record", path)
        logger.warning("%s: number of data records is -1; using %d computed from the file size", path, available)
        if extra:
            logger.warning("%s: %d bytes after the last complete record are ignored", path, extra)
        n_records = available
    elif n_records < -1:
        raise _fail(f"number of data records is {n_records}", path)
    elif available < n_records:
        if available < 1:
            raise _fail(
                f"file is truncated: the header announces {n_records} data records but not even one is complete", path
            )
        logger.warning(
            "%s: file is truncated: header announces %d data records, only %d are complete; reading those",
            path,
            n_records,
            available,
        )
        n_records = available
    elif size > header_bytes + n_records * record_bytes:
        logger.warning(
            "%s: %d bytes after the %d announced data records are ignored",
            path,
            size - header_bytes - n_records * record_bytes,
            n_records,
        )
    if n_records == 0 and has_signals:
        raise _fail("the file holds no data records", path)
    for i, c in enumerate(infos):
        if c.fs > MAX_SAMPLING_RATE_HZ and i not in annotation_index:
            raise _fail(
                f"channel {c.label!r}: {c.samples_per_record} samples in a record of {record_duration:g} s "
                f"is {c.fs:.4g} Hz, above the {MAX_SAMPLING_RATE_HZ:g} Hz any EMG/EEG amplifier records "
                "(corrupt header)",
                path,
            )

    return _Layout(
        path=path,
        bdf=bdf,
        file_type=file_type,
        start=_start_datetime(date, time, recording_field, path),
        n_records=n_records,
        record_duration=record_duration,
        header_bytes=header_bytes,
        record_bytes=record_bytes,
        labels=labels,
        infos=tuple(infos),
        offsets=offsets,
        annotation_index=annotation_index,
    )


def _record_dtype(lay: _Layout, index: Sequence[int]) -> np.dtype:
    """Structured dtype of one data record exposing only the signals in ``index``."""
    names, formats, offs = [], [], []
    for k, i in enumerate(index):
        spr = lay.infos[i].samples_per_record
        names.append(f"s{k}")
        formats.append(("<i2", (spr,)) if not lay.bdf else ("u1", (spr, 3)))
        offs.append(lay.offsets[i])
    return np.dtype({"names": names, "formats": formats, "offsets": offs, "itemsize": lay.record_bytes})


def _digital(block: np.ndarray, bdf: bool) -> np.ndarray:
    """Digital samples of one signal in a block: int16 view (EDF) or int32 from 3 bytes (BDF)."""
    if not bdf:
        return block
    out = block[..., 2].astype(np.int8).astype(np.int32) << 16
    out |= block[..., 1].astype(np.int32) << 8
    out |= block[..., 0]
    return out


def _iter_blocks(lay: _Layout, dtype: np.dtype) -> Iterator[tuple[int, np.memmap]]:
    """Yield ``(first_record, memmap block)`` over the data records, a bounded block at a time.

    Each block maps at most ``_BLOCK_BYTES`` of the file; a block's pages are
    released once the caller drops it, so memory stays bounded whatever the file size.
    """
    per_block = max(1, _BLOCK_BYTES // lay.record_bytes)
    for r0 in range(0, lay.n_records, per_block):
        n = min(per_block, lay.n_records - r0)
        yield (
            r0,
            np.memmap(lay.path, dtype=dtype, mode="r", offset=lay.header_bytes + r0 * lay.record_bytes, shape=(n,)),
        )


def _annotation_bytes(lay: _Layout) -> np.ndarray:
    """Raw bytes of all annotation signals: ``uint8`` array, one row per record."""
    if not lay.annotation_index or lay.n_records == 0:
        return np.zeros((0, 0), dtype=np.uint8)
    width = sum(lay.infos[i].samples_per_record * lay.width for i in lay.annotation_index)
    _check_bytes(
        lay, lay.n_records * width * _ANNOTATION_WORK_FACTOR, f"reading the EDF+ annotations of {lay.n_records} records"
    )
    dtype = np.dtype(
        {
            "names": [f"a{k}" for k in range(len(lay.annotation_index))],
            "formats": [("u1", (lay.infos[i].samples_per_record * lay.width,)) for i in lay.annotation_index],
            "offsets": [lay.offsets[i] for i in lay.annotation_index],
            "itemsize": lay.record_bytes,
        }
    )
    names = dtype.names or ()
    parts = [np.concatenate([mm[n] for n in names], axis=1) for _, mm in _iter_blocks(lay, dtype)]
    return np.concatenate(parts, axis=0)


# a TAL that only keeps time (empty text, nothing else): it opens a record's annotations
_TIMEKEEPING = re.compile(rb"(?:^|(?<=\x00))[+-]\d+(?:\.\d*)?\x14\x14\x00")


def _parse_annotations(rows: np.ndarray) -> list[tuple[float, float, str]]:
    """EDF+ annotations (EDF+ spec, section 2.2) of all records, empty time-keeping texts dropped."""
    rows = rows[~_timekeeping_only(rows)] if rows.ndim == 2 else rows
    raw = _TIMEKEEPING.sub(b"", rows.tobytes())  # the time-keeping TALs of the records left
    return [a for a in parse_tal(raw) if a[2]]


_TAL_TIME_BYTES = np.frombuffer(b"+-.0123456789", dtype=np.uint8)


def _timekeeping_only(rows: np.ndarray) -> np.ndarray:
    """Per record (row of annotation bytes): True when it holds nothing but its time-keeping TAL
    (``+<onset>\x14\x14\x00``, EDF+ spec 2.2.4) and NUL padding, as most records of a long
    file do; those rows are dropped before the byte-level parse (speed only)."""
    n, w = rows.shape
    if n == 0 or w < 4:
        return np.zeros(n, bool)
    end = (rows[:, 1:-2] == 0x14) & (rows[:, 2:-1] == 0x14) & (rows[:, 3:] == 0)  # TAL end after >= 1 char
    has = end.any(axis=1)
    stop = end.argmax(axis=1) + 1  # where the "\x14\x14\x00" starts
    cols = np.arange(w)
    timeish = np.isin(rows, _TAL_TIME_BYTES)
    prefix_ok = (timeish | (cols >= stop[:, None])).all(axis=1) & np.isin(rows[:, 0], _TAL_TIME_BYTES[:2])
    rest_empty = ((rows == 0) | (cols < stop[:, None] + 3)).all(axis=1)
    only: np.ndarray = has & prefix_ok & rest_empty
    return only


def _record_onsets(lay: _Layout, rows: np.ndarray) -> np.ndarray:
    """Onset (s from header start) of each record: EDF+D time-keeping TALs, else contiguous."""
    contiguous = np.arange(lay.n_records) * lay.record_duration
    if not lay.file_type.endswith("+D"):
        return contiguous
    if rows.size == 0:
        raise _fail(f"{lay.file_type} file has no annotations signal to time its records", lay.path)
    try:
        # the time-keeping TAL opens the first annotations signal of each record (EDF+ spec, 2.2.4)
        first = lay.infos[lay.annotation_index[0]].samples_per_record * lay.width
        onsets = np.asarray(record_onsets([r.tobytes() for r in rows[:, :first]]), dtype=float)
    except ValueError:
        raise _fail("a data record has no time-keeping annotation (EDF+D)", lay.path) from None
    return onsets


def _recording(lay: _Layout) -> Recording:
    return Recording(
        path=lay.path,
        start=lay.start,
        duration=lay.n_records * lay.record_duration,
        channels=[lay.infos[i] for i in lay.ordinary_index],
        file_type=lay.file_type,
    )


def read_header(path: str | os.PathLike[str]) -> Recording:
    """Read only the header of an EDF/EDF+/BDF file (no signal data).

    Returns a :class:`Recording` whose ``channels`` lists every ordinary signal
    (annotation signals excluded), with ``start``, ``file_type`` and ``duration``
    (number of complete records x record duration; for EDF+D the records' true
    timeline is only known after :func:`read_edf`).
    """
    return _recording(_layout(path))


def _select(lay: _Layout, channels: Sequence[str] | None) -> list[int]:
    ordinary = lay.ordinary_index
    first: dict[str, int] = {}
    for i in ordinary:
        if lay.labels[i] in first:
            logger.warning("%s: channel label %r appears more than once; the first is used", lay.path, lay.labels[i])
        first.setdefault(lay.labels[i], i)
    if channels is None:
        return list(first.values())
    if isinstance(channels, str):
        channels = [channels]
    wanted = list(dict.fromkeys(c.strip() for c in channels))
    missing = [c for c in wanted if c not in first]
    if missing:
        have = ", ".join(repr(lab) for lab in first) or "none"
        raise _fail(f"channel(s) {', '.join(map(repr, missing))} not in the file; it has: {have}", lay.path)
    return [first[c] for c in wanted]


def _check_scaling(lay: _Layout, i: int) -> tuple[float, float]:
    """Gain and offset from digital to physical values (EDF spec, section 2.1.3.5)."""
    c = lay.infos[i]
    if c.digital_max == c.digital_min:
        raise _fail(f"channel {c.label!r}: digital minimum equals digital maximum ({c.digital_min})", lay.path)
    if c.physical_max == c.physical_min:
        raise _fail(f"channel {c.label!r}: physical minimum equals physical maximum ({c.physical_min})", lay.path)
    gain = (c.physical_max - c.physical_min) / (c.digital_max - c.digital_min)
    offset = c.physical_min - c.digital_min * gain
    if not (np.isfinite(gain) and np.isfinite(offset)):
        raise _fail(
            f"channel {c.label!r}: physical range {c.physical_min:g} to {c.physical_max:g} overflows the scaling",
            lay.path,
        )
    return gain, offset


@verbose
def read_edf(
    path: str | os.PathLike[str],
    channels: Sequence[str] | None = None,
    *,
    annotations: bool = True,
    dtype: str | type | np.dtype = "float64",
    verbose: bool | str | int | None = None,
) -> Recording:
    """Read an EDF/EDF+/BDF file: the header, the requested channels and its annotations.

    Parameters
    ----------
    path
        The file.
    channels
        Labels (as in the file, surrounding spaces ignored) to load; ``None`` loads
        every ordinary signal. Unrequested signals are never decoded.
    annotations
        Also parse the file's EDF+ annotations into ``Recording.annotations`` as
        ``(onset, duration, text)``, onsets relative to the header start time.
    dtype
        ``"float64"`` (default) or ``"float32"``: the samples' type. Each sample is scaled in
        float64 and rounded once to float32, so float32 holds the same values a float64 read
        cast to float32 would, in half the memory (ample for 16-bit EDF and 24-bit BDF data;
        the scoring pipeline reads float32).
    verbose
        Log level for this call (see :func:`somnomyo._logging.set_log_level`).

    Each loaded channel is a :class:`Signal` (float64 unless ``dtype`` says otherwise) at its own
    sampling rate in physical units; voltages are converted to µV (``unit="uV"``), other units are
    kept. For EDF+D, each record is placed at its time-keeping onset, gaps are
    filled with 0 and listed in ``Recording.gaps``; ``duration`` is the end of the
    last record.

    Raises :class:`~somnomyo.errors.RecordingError` (one line: path and problem) for
    a missing, empty or malformed file, an unknown channel, or a loaded channel whose
    digital or physical minimum equals its maximum (unloaded channels are not checked).
    A record count of -1, a truncated file (complete records are read) or trailing
    bytes only log a warning.
    """
    try:
        out_type: np.dtype | None = np.dtype(dtype)
    except TypeError:
        out_type = None
    if out_type is None or out_type.name not in _DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(map(repr, _DTYPES))}; got {dtype!r}")
    return _read(path, channels, annotations=annotations, dtype=out_type)


_DTYPES = ("float64", "float32")


def available_memory_bytes() -> int | None:
    """Memory this process can still allocate, bytes (:func:`somnomyo.memory.available_bytes`:
    the smallest of the cgroup's, the system's, the address space's and a Dask worker's limits);
    None where none is known."""
    from somnomyo.memory import available_bytes

    return available_bytes()


def _needed_bytes(lay: _Layout, index: Sequence[int], dtype: np.dtype) -> int:
    """Bytes of the arrays a read of the signals ``index`` fills (one value per sample)."""
    samples = sum(lay.infos[i].samples_per_record for i in index) * lay.n_records
    return int(samples) * int(np.dtype(dtype).itemsize)


def _check_bytes(lay: _Layout, needed: int, what: str) -> None:
    """Refuse, before allocating, ``what`` when its ``needed`` bytes would not fit in memory (one
    line naming the memory needed), instead of ending in ``MemoryError`` (or the system's
    out-of-memory killer)."""
    if needed < 256 * 2**20:  # an ordinary read: no need to look
        return
    free = available_memory_bytes()
    if free is not None and needed > MEMORY_FRACTION * free:
        gib = 2.0**30
        raise _fail(
            f"{what} needs {needed / gib:.1f} GiB of memory; only {max(free, 0) / gib:.1f} GiB is "
            "available (read fewer channels, or on a machine with more memory)",
            lay.path,
        )


def _check_memory(lay: _Layout, index: Sequence[int], dtype: np.dtype) -> None:
    """Refuse a read whose channel arrays would not fit in memory (see :func:`_check_bytes`)."""
    _check_bytes(
        lay,
        _needed_bytes(lay, index, dtype),
        f"reading {len(index)} channel(s) of {lay.n_records} records ({np.dtype(dtype).name})",
    )


def _read(
    path: str | os.PathLike[str],
    channels: Sequence[str] | None,
    *,
    annotations: bool,
    dtype: np.dtype = np.dtype(np.float64),
) -> Recording:
    lay = _layout(path)
    rec = _recording(lay)
    index = _select(lay, channels)
    _check_memory(lay, index, dtype)
    scaling = []
    for i in index:
        gain, offset = _check_scaling(lay, i)
        scale = unit_scale_to_uv(lay.infos[i].unit)
        scaling.append((gain * (scale or 1.0), offset * (scale or 1.0), "uV" if scale else lay.infos[i].unit))

    rows = _annotation_bytes(lay) if (annotations or lay.file_type.endswith("+D")) else np.zeros((0, 0), dtype=np.uint8)
    onsets = _record_onsets(lay, rows)
    rec.gaps, starts = _timeline(lay, onsets)
    if starts is not None:
        rec.duration = float(starts[-1] + lay.record_duration)
    if annotations and rows.size:
        rec.annotations = _parse_annotations(rows)

    outs = []
    for i in index:
        spr = lay.infos[i].samples_per_record
        total = spr * lay.n_records if starts is None else int(round(starts[-1] * lay.infos[i].fs)) + spr
        outs.append(np.zeros(total, dtype=dtype))
    direct = dtype == np.float64  # else scaled in a float64 block buffer, rounded once
    if index:
        rec_dtype = _record_dtype(lay, index)
        for r0, mm in _iter_blocks(lay, rec_dtype):
            n = mm.shape[0]
            for k, i in enumerate(index):
                spr = lay.infos[i].samples_per_record
                gain, offset, _ = scaling[k]
                dig = _digital(mm[f"s{k}"], lay.bdf)
                if starts is None:
                    dst = outs[k][r0 * spr : (r0 + n) * spr].reshape(n, spr)
                    if direct:
                        np.multiply(dig, gain, out=dst)
                        dst += offset
                    else:
                        tmp = np.multiply(dig, gain, dtype=np.float64)
                        tmp += offset
                        dst[...] = tmp
                else:
                    first = np.round(starts[r0 : r0 + n] * lay.infos[i].fs).astype(np.int64)
                    idx = first[:, None] + np.arange(spr)
                    outs[k][idx] = dig * gain + offset
            del mm, dig  # unmap this block before the next one is mapped
    for k, i in enumerate(index):
        c = lay.infos[i]
        rec.signals[c.label] = Signal(label=c.label, data=outs[k], fs=c.fs, unit=scaling[k][2])
    logger.info(
        "%s: read %d of %d channels, %d records of %g s (%s)",
        lay.path,
        len(index),
        len(lay.ordinary_index),
        lay.n_records,
        lay.record_duration,
        lay.file_type,
    )
    return rec


def _timeline(lay: _Layout, onsets: np.ndarray) -> tuple[list[tuple[float, float]], np.ndarray | None]:
    """EDF+D gaps ``(onset, duration)`` and record onsets; ``None`` onsets when contiguous."""
    if not lay.file_type.endswith("+D") or lay.n_records == 0:
        return [], None
    ends = onsets + lay.record_duration
    tol = 1e-6 * max(lay.record_duration, 1.0)
    if onsets[0] < -tol or np.any(onsets[1:] < ends[:-1] - tol):
        r = 0 if onsets[0] < -tol else int(np.flatnonzero(onsets[1:] < ends[:-1] - tol)[0]) + 1
        raise _fail(
            f"EDF+D data record {r} starts at {onsets[r]:g} s, before the previous record ends "
            "(records must not overlap)",
            lay.path,
        )
    late = onsets > _MAX_TIMELINE_S
    if late.any():
        r = int(np.flatnonzero(late)[0])
        raise _fail(
            f"EDF+D data record {r} starts at {onsets[r]:g} s, more than "
            f"{_MAX_TIMELINE_S / 86400:.0f} days after the start (corrupt time-keeping annotation)",
            lay.path,
        )
    prev_end = np.concatenate([[0.0], ends[:-1]])
    gap = onsets - prev_end
    where = np.flatnonzero(gap > tol)
    gaps = [(float(prev_end[j]), float(gap[j])) for j in where]
    if gaps:
        logger.info("%s: %d gap(s) in the EDF+D recording, %.3f s in all", lay.path, len(gaps), sum(g[1] for g in gaps))
    return gaps, onsets


def read_annotations(path: str | os.PathLike[str]) -> list[tuple[float, float, str]]:
    """Read only the EDF+ annotations ``(onset, duration, text)`` of a file.

    Works for annotation-only files (e.g. hypnograms with no ordinary signals).
    Onsets are seconds from the header start time (EDF+ spec, section 2.2.4);
    the empty time-keeping annotations are dropped. A file without an
    annotations signal gives an empty list (and a warning).
    """
    lay = _layout(path)
    if not lay.annotation_index:
        logger.warning("%s: no EDF/BDF Annotations signal in the file", lay.path)
        return []
    return _parse_annotations(_annotation_bytes(lay))
