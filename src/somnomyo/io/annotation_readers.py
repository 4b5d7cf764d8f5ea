"""Readers of scored annotations -> the normalized :class:`~somnomyo.io.annotations.Annotations`.

Supported formats (``read_annotations_file`` dispatches by extension, then content):

* EDF+/BDF+ annotations (``.edf``/``.bdf``; e.g. Sleep-EDF ``*-Hypnogram.edf``, HMC
  ``*_sleepscoring.edf``), via ``somnomyo.io.edf.read_annotations``;
* NSRR XML (``<PSGAnnotation><ScoredEvents>``) and Compumedics Profusion XML
  (``<CMPStudyConfig>`` with a ``<SleepStages>`` per-epoch list), parsed with
  ``defusedxml`` only (entity declarations and external references are refused);
* CSV/TSV tables with ``onset``, ``duration`` and a label column (``label``,
  ``description``, ``annotation``, ``event``, ``trial_type``); delimiter sniffed;
* one-stage-per-line text (one label per epoch: W/N1/N2/N3/R/?/0-5/Wake/REM ...).

Every reader ends in the same assembly step: labels are normalized
(:mod:`somnomyo.io.labels`), events sorted, stage annotations expanded to epochs
(one annotation may span many epochs, as in Sleep-EDF), overlapping stages resolved
(the later one wins), and, when the recording duration is known, everything past
its end dropped or clipped. Each such repair is recorded in ``Annotations.warnings``
and logged.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from somnomyo._logging import logger
from somnomyo.errors import AnnotationError, SomnomyoError
from somnomyo.io.annotations import Annotations, Hypnogram, empty_annotation_events
from somnomyo.io.labels import _clean, normalize_label, normalize_stage, split_channel

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

__all__ = [
    "SUPPORTED_FORMATS",
    "from_edf_annotations",
    "read_nsrr_xml",
    "read_table",
    "read_stage_lines",
    "read_annotations_file",
    "merge_annotations",
]

SUPPORTED_FORMATS = (
    "EDF+/BDF+ annotations (.edf, .bdf)",
    "NSRR or Compumedics XML (.xml)",
    "CSV/TSV with onset, duration, label columns (.csv, .tsv, .txt)",
    "one stage per line, one line per epoch (.txt)",
)
DEFAULT_EPOCH_S = 30.0  # AASM Manual / R&K 1968: sleep is staged in 30-s epochs
_MAX_SPAN_S = 7 * 86400.0  # sanity limit on a hypnogram built from annotations
_GRID_TOL = 0.01  # fraction of an epoch tolerated as off-grid rounding

_LABEL_COLUMNS = ("label", "description", "annotation", "event", "trial_type", "event type", "stage")
_ONSET_COLUMNS = ("onset", "recording onset", "start", "onset_s", "start_s")
_DURATION_COLUMNS = ("duration", "duration_s", "dur")
_CHANNEL_COLUMNS = ("channel", "linked channel", "signallocation", "signal location", "input")


@dataclass
class _Raw:
    """Annotations as read, before normalization (one entry per annotation)."""

    onset: list[float] = field(default_factory=list)
    duration: list[float] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    channel: list[str | None] = field(default_factory=list)
    hint: list[str] = field(default_factory=list)  # "", "stage", "arousal", "respiratory", "limb"

    def add(self, onset: float, duration: float, text: str, channel: str | None = None, hint: str = "") -> None:
        self.onset.append(onset)
        self.duration.append(duration)
        self.text.append(text)
        self.channel.append(channel)
        self.hint.append(hint)


class _Notes:
    """Collects handled problems for ``Annotations.warnings`` and the logger."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[str] = []

    def warn(self, msg: str) -> None:
        self.items.append(msg)
        logger.warning("%s: %s", self.source, msg)


# --------------------------------------------------------------------------- assembly
def _normalize_all(raw: _Raw, notes: _Notes) -> list[str | tuple[str, str]]:
    """Normalize each text once per (text, hint) pair."""
    cache: dict[tuple[str, str], str | tuple[str, str]] = {}
    out: list[str | tuple[str, str]] = []
    for text, hint in zip(raw.text, raw.hint):
        key = (text, hint)
        if key not in cache:
            cache[key] = _normalize_one(text, hint, notes)
        out.append(cache[key])
    return out


def _normalize_one(text: str, hint: str, notes: _Notes) -> str | tuple[str, str]:
    if hint == "stage":
        stage = normalize_stage(text, stages_only=True)
        if stage is None:
            notes.warn(f"unknown stage label {text.strip()!r} read as UNS")
            return "UNS"
        return stage
    norm = normalize_label(text)
    if isinstance(norm, tuple) and norm[0] == "marker" and hint in ("arousal", "respiratory", "limb"):
        concept = split_channel(text)[0].partition("|")[0]
        kind = {"arousal": "arousal", "limb": "lm"}.get(hint, _clean(concept).replace(" ", "_"))
        return (hint, kind)
    return norm


def _hypnogram(
    onset: np.ndarray, duration: np.ndarray, stages: np.ndarray, *, epoch_s: float, path: str, notes: _Notes
) -> Hypnogram | None:
    """Expand stage annotations (sorted by onset) to epochs; later annotations win overlaps.

    The epoch grid starts at the first stage onset modulo ``epoch_s`` (hypnograms not
    aligned to the recording start keep their own grid, ``Hypnogram.start``); spans
    between stage annotations are UNS.
    """
    if onset.size == 0:
        return None
    if float((onset + duration).max()) > _MAX_SPAN_S:
        raise AnnotationError(
            f"stage annotations extend past {_MAX_SPAN_S / 86400:.0f} days "
            f"({float((onset + duration).max()):.0f} s); not a hypnogram of one night",
            path,
        )
    start = float(onset[0]) % epoch_s
    if min(start, epoch_s - start) < 1e-6 * epoch_s:
        start = 0.0
    pos = (onset - start) / epoch_s
    first = np.rint(pos).astype(np.int64)
    span = duration / epoch_s
    n_ep = np.maximum(np.rint(span), 1).astype(np.int64)
    off_grid = int((np.abs(pos - first) > _GRID_TOL).sum())
    if off_grid:
        notes.warn(f"{off_grid} stage annotation(s) not on the {epoch_s:g}-s epoch grid; rounded to the nearest epoch")
    odd = int(((duration > 0) & (np.abs(span - np.rint(span)) > _GRID_TOL)).sum())
    if odd:
        notes.warn(f"{odd} stage annotation(s) last a fraction of a {epoch_s:g}-s epoch; rounded to whole epochs")
    total = int(n_ep.sum())
    starts = np.repeat(first, n_ep)
    within = np.arange(total) - np.repeat(np.cumsum(n_ep) - n_ep, n_ep)
    epochs = starts + within
    values = np.repeat(stages, n_ep)
    # Later annotation wins: keep the last occurrence of each epoch index.
    rev_epochs = epochs[::-1]
    uniq, idx_rev = np.unique(rev_epochs, return_index=True)
    overlap = total - uniq.size
    if overlap:
        notes.warn(f"{overlap} epoch(s) covered by more than one stage annotation; the later annotation wins")
    out = np.full(int(uniq.max()) + 1, "UNS", dtype="<U3")
    out[uniq] = values[::-1][idx_rev]
    return Hypnogram(out, epoch_s=epoch_s, start=start, source="annotations", path=path)


def _fit_hypnogram(hyp: Hypnogram, duration_s: float, notes: _Notes) -> Hypnogram:
    """Fit ``hyp`` to a recording of ``duration_s``: missing epochs UNS, epochs past the end dropped."""
    past = int((hyp.start + np.arange(hyp.n_epochs) * hyp.epoch_s >= duration_s).sum())
    if past:
        notes.warn(f"{past} stage epoch(s) start after the recording end ({duration_s:g} s); dropped")
    if hyp.end < duration_s - 1e-6:
        notes.warn(f"hypnogram ends at {hyp.end:g} s, before the recording end ({duration_s:g} s); the rest is UNS")
    if hyp.start == 0.0:
        return hyp.fit_to(duration_s)
    notes.warn(
        f"hypnogram epochs start at {hyp.start:g} s, not aligned to the recording start; "
        f"kept on their own {hyp.epoch_s:g}-s grid"
    )
    n = max(int(math.ceil((duration_s - hyp.start - 1e-9) / hyp.epoch_s)), 0)
    stages = np.full(n, "UNS", dtype="<U3")
    keep = min(n, hyp.n_epochs)
    stages[:keep] = hyp.stages[:keep]
    return Hypnogram(stages, epoch_s=hyp.epoch_s, start=hyp.start, source=hyp.source, path=hyp.path)


def _assemble(
    raw: _Raw,
    *,
    source: str,
    duration_s: float | None,
    epoch_s: float,
    notes: _Notes | None = None,
    offset_s: float = 0.0,
) -> Annotations:
    """Normalize, sort, expand stages and fit to the recording (see module docstring).
    ``offset_s`` shifts every onset (the file's time 0 lies ``offset_s`` into the recording)."""
    notes = notes or _Notes(source)
    if not epoch_s > 0:
        raise ValueError(f"epoch_s must be > 0, got {epoch_s!r}")
    onset = np.asarray(raw.onset, dtype=float)
    if offset_s:
        onset = onset + float(offset_s)
    duration = np.asarray(raw.duration, dtype=float)
    if not (np.isfinite(onset).all() and np.isfinite(duration).all()):
        raise AnnotationError("annotation with a non-finite onset or duration", source)
    n_all = onset.size
    if duration_s is not None and n_all and bool((onset >= duration_s).all()):
        raise AnnotationError(
            f"annotation file does not fit the recording: all {n_all} annotations start at or after "
            f"its end ({duration_s:g} s; first at {onset.min():g} s)",
            source,
        )
    neg_dur = duration < 0
    if neg_dur.any():
        notes.warn(f"{int(neg_dur.sum())} annotation(s) with a negative duration; set to 0")
        duration = np.where(neg_dur, 0.0, duration)
    before = onset < 0
    if before.any():
        notes.warn(f"{int(before.sum())} annotation(s) start before the recording start; dropped")
    order = np.argsort(onset, kind="stable")
    if n_all and bool((np.diff(onset) < 0).any()):
        notes.warn("annotations were not sorted by onset; sorted")
    order = order[~before[order]]
    norm = _normalize_all(raw, notes)
    is_stage = np.array([isinstance(v, str) for v in norm], dtype=bool)

    st = order[is_stage[order]]
    hyp = _hypnogram(
        onset[st], duration[st], np.array([norm[i] for i in st], dtype="<U3"), epoch_s=epoch_s, path=source, notes=notes
    )
    ev = order[~is_stage[order]]
    ev_on, ev_dur = onset[ev], duration[ev]
    if duration_s is not None:
        if hyp is not None:
            hyp = _fit_hypnogram(hyp, duration_s, notes)
        past = ev_on >= duration_s
        if past.any():
            notes.warn(f"{int(past.sum())} event(s) start after the recording end ({duration_s:g} s); dropped")
        ev, ev_on, ev_dur = ev[~past], ev_on[~past], ev_dur[~past]
        over = ev_on + ev_dur > duration_s
        if over.any():
            notes.warn(f"{int(over.sum())} event(s) run past the recording end ({duration_s:g} s); clipped")
            ev_dur = np.where(over, duration_s - ev_on, ev_dur)
    events = empty_annotation_events()
    if ev.size:
        cats = [norm[i] for i in ev]
        events = pd.DataFrame(
            {
                "onset": ev_on,
                "duration": ev_dur,
                "category": pd.array([c[0] for c in cats], dtype="string"),
                "kind": pd.array([c[1] for c in cats], dtype="string"),
                "label": pd.array([raw.text[i].strip() for i in ev], dtype="string"),
                "channel": pd.array([raw.channel[i] for i in ev], dtype="string"),
            }
        )
    if n_all == 0:
        notes.warn("no annotations found")
    logger.info("%s: %d events, %s stage epochs", source, len(events), 0 if hyp is None else hyp.n_epochs)
    return Annotations(hypnogram=hyp, events=events, sources=[source], warnings=list(notes.items))


# --------------------------------------------------------------------------- EDF+
def from_edf_annotations(
    triples: Iterable[tuple[float, float, str]],
    *,
    source: str,
    duration_s: float | None = None,
    epoch_s: float = DEFAULT_EPOCH_S,
    offset_s: float = 0.0,
) -> Annotations:
    """Annotations from EDF+ ``(onset, duration, text)`` triples (EDF+ spec, TALs).

    Empty texts (time-keeping TALs) are skipped; a ``"label@@channel"`` text (HMC)
    gives the channel. Stage annotations spanning several epochs (Sleep-EDF) are
    expanded; R&K stages 3 and 4 become N3 (AASM Manual v2).
    """
    raw = _Raw()
    for onset, duration, text in triples:
        if not str(text).strip():
            continue
        label, channel = split_channel(text)
        raw.add(float(onset), float(duration or 0.0), str(text), channel)
    return _assemble(raw, source=source, duration_s=duration_s, epoch_s=epoch_s, offset_s=offset_s)


def _read_edf_triples(path: Path) -> list[tuple[float, float, str]]:
    from somnomyo.io.edf import read_annotations  # lazy: the EDF reader is heavier

    try:
        return list(read_annotations(path))
    except AnnotationError:
        raise
    except SomnomyoError as err:
        raise AnnotationError(err.problem, path) from err


# --------------------------------------------------------------------------- XML
def _parse_xml(path: Path) -> Element:
    import xml.etree.ElementTree as StdET

    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

    try:
        data = path.read_bytes()
    except OSError as err:
        raise AnnotationError(f"cannot read the file: {err.strerror or err}", path) from err
    try:
        root: Element = SafeET.fromstring(data)
        return root
    except DefusedXmlException as err:
        raise AnnotationError(
            f"XML refused: entity declarations or external references are not allowed ({type(err).__name__})", path
        ) from err
    except StdET.ParseError as err:
        raise AnnotationError(f"malformed XML: {err}", path) from err
    except (LookupError, ValueError) as err:  # e.g. an unknown encoding in the XML declaration
        raise AnnotationError(f"malformed XML: {err}", path) from err


def _text(elem: Element, tag: str) -> str:
    child = elem.find(tag)
    return "" if child is None or child.text is None else child.text.strip()


def _number(value: str, what: str, path: Path, *, default: float | None = None) -> float:
    if value == "" and default is not None:
        return default
    try:
        x = float(value)
    except ValueError:
        raise AnnotationError(f"{what}: {value!r} is not a number", path) from None
    if not math.isfinite(x):
        raise AnnotationError(f"{what}: {value!r} is not a finite number", path)
    return x


def _epoch_length(root: Element, path: Path, fallback: float) -> float:
    value = _text(root, "EpochLength")
    if not value:
        return fallback
    epoch = _number(value, "EpochLength", path)
    if epoch <= 0:
        raise AnnotationError(f"EpochLength must be > 0, got {value!r}", path)
    return epoch


def _type_hint(event_type: str) -> str:
    t = event_type.lower()
    for key, hint in (
        ("stage", "stage"),
        ("arous", "arousal"),
        ("respir", "respiratory"),
        ("limb", "limb"),
        ("leg", "limb"),
    ):
        if key in t:
            return hint
    return ""


def read_nsrr_xml(
    path: str | os.PathLike[str],
    *,
    duration_s: float | None = None,
    epoch_s: float = DEFAULT_EPOCH_S,
    offset_s: float = 0.0,
) -> Annotations:
    """Read an NSRR ``<PSGAnnotation>`` XML or a Compumedics ``<CMPStudyConfig>`` XML.

    NSRR: each ``<ScoredEvent>`` has ``EventType``, ``EventConcept``, ``Start``,
    ``Duration`` (s) and optionally ``SignalLocation``; stages are ScoredEvents
    with EventType ``Stages|Stages`` (e.g. ``Stage 4 sleep|4`` -> N3). Compumedics:
    ``<ScoredEvent><Name><Start><Duration><Input>`` plus ``<SleepStages>``, one
    numeric R&K code per epoch. ``<EpochLength>`` in the file overrides ``epoch_s``.
    Parsed with ``defusedxml`` (entity-expansion and external-entity attacks refused).
    Events whose concept is not recognized (and whose EventType gives no category) are kept
    as ``marker`` events, with one warning listing those concepts.
    """
    path = Path(path)
    root = _parse_xml(path)
    tag = root.tag
    epoch = _epoch_length(root, path, epoch_s)
    raw = _Raw()
    if tag == "PSGAnnotation":
        for i, ev in enumerate(root.iter("ScoredEvent"), start=1):
            concept = _text(ev, "EventConcept")
            etype = _text(ev, "EventType")
            if not concept or (not etype and concept.lower() == "recording start time"):
                continue
            onset = _number(_text(ev, "Start"), f"ScoredEvent {i} ({concept}) Start", path)
            dur = _number(_text(ev, "Duration"), f"ScoredEvent {i} ({concept}) Duration", path, default=0.0)
            raw.add(onset, dur, concept, _text(ev, "SignalLocation") or None, _type_hint(etype))
    elif tag == "CMPStudyConfig":
        for i, ev in enumerate(root.iter("ScoredEvent"), start=1):
            name = _text(ev, "Name")
            if not name:
                continue
            onset = _number(_text(ev, "Start"), f"ScoredEvent {i} ({name}) Start", path)
            dur = _number(_text(ev, "Duration"), f"ScoredEvent {i} ({name}) Duration", path, default=0.0)
            raw.add(onset, dur, name, _text(ev, "Input") or None)
        codes = [(s.text or "").strip() for s in root.iter("SleepStage")]
        for k, code in enumerate(codes):
            raw.add(k * epoch, epoch, code, None, "stage")
    else:
        raise AnnotationError(
            f"unsupported XML (root <{tag}>); expected NSRR <PSGAnnotation> or Compumedics <CMPStudyConfig>", path
        )
    notes = _Notes(str(path))
    unknown = sorted(
        {split_channel(t)[0] for t, h in set(zip(raw.text, raw.hint)) if not h and _is_marker(normalize_label(t))}
    )
    if unknown:
        n = sum(1 for t, h in zip(raw.text, raw.hint) if not h and split_channel(t)[0] in unknown)
        shown = ", ".join(map(repr, unknown[:5])) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        notes.warn(f"{n} event(s) with an unknown concept kept as markers: {shown}")
    return _assemble(raw, source=str(path), duration_s=duration_s, epoch_s=epoch, notes=notes, offset_s=offset_s)


def _is_marker(norm: str | tuple[str, str]) -> bool:
    return isinstance(norm, tuple) and norm[0] == "marker"


# --------------------------------------------------------------------------- text
def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise AnnotationError(f"cannot read the file: {err.strerror or err}", path) from err
    if b"\x00" in data[:4096]:
        raise AnnotationError("binary file, not a text annotation table", path)
    for enc in ("utf-8-sig", "latin-1"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise AnnotationError("cannot decode the text", path)  # pragma: no cover - latin-1 always decodes


def _content_lines(text: str) -> list[tuple[int, str]]:
    """(1-based line number, stripped line) of non-empty, non-comment lines."""
    return [
        (i, s)
        for i, line in enumerate(text.splitlines(), start=1)
        if (s := line.strip()) and not s.startswith(("#", "%"))
    ]


def _sniff_delimiter(lines: list[str], path: Path) -> str:
    sample = "\n".join(lines[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;").delimiter
    except csv.Error:
        if "\t" in lines[0]:
            return "\t"
        return "\t" if path.suffix.lower() == ".tsv" else ","


def _pick(columns: list[str], names: Sequence[str]) -> str | None:
    for name in names:
        if name in columns:
            return name
    return None


def _looks_like_table(lines: list[str], path: Path) -> bool:
    if not lines:
        return False
    delim = _sniff_delimiter(lines, path)
    header = [h.strip().lower() for h in lines[0].split(delim)]
    return _pick(header, _ONSET_COLUMNS) is not None


def read_table(
    path: str | os.PathLike[str],
    *,
    duration_s: float | None = None,
    epoch_s: float = DEFAULT_EPOCH_S,
    offset_s: float = 0.0,
) -> Annotations:
    """Read a CSV/TSV table of annotations (BIDS ``events.tsv`` style).

    Needs an onset column (``onset``; also ``start``, HMC ``Recording onset``) and a
    label column (``label``, ``description``, ``annotation``, ``event``,
    ``trial_type``); ``duration`` (``n/a`` or empty = 0) and ``channel`` are optional.
    Header names are case-insensitive; the delimiter (comma, tab, semicolon) is sniffed.
    """
    path = Path(path)
    numbered = _content_lines(_read_text(path))
    if not numbered:
        raise AnnotationError("empty annotation table", path)
    lines = [s for _, s in numbered]
    delim = _sniff_delimiter(lines, path)
    try:
        df = pd.read_csv(
            io.StringIO("\n".join(lines)), sep=delim, dtype=str, keep_default_na=False, skipinitialspace=True
        )
    except (pd.errors.ParserError, ValueError) as err:
        raise AnnotationError(f"malformed table: {' '.join(str(err).split())}", path) from err
    df.columns = [str(c).strip().lower() for c in df.columns]
    cols = list(df.columns)
    twice = sorted({c for c in cols if cols.count(c) > 1})
    if twice:
        raise AnnotationError(
            f"column(s) {', '.join(map(repr, twice))} appear more than once in the header (names are case-insensitive)",
            path,
        )
    c_on, c_lab = _pick(cols, _ONSET_COLUMNS), _pick(cols, _LABEL_COLUMNS)
    c_dur, c_ch = _pick(cols, _DURATION_COLUMNS), _pick(cols, _CHANNEL_COLUMNS)
    if c_on is None or c_lab is None:
        raise AnnotationError(
            f"table needs an onset column and a label column "
            f"({'/'.join(_LABEL_COLUMNS)}); found {', '.join(cols) or 'none'}",
            path,
        )
    line_no = np.array([n for n, _ in numbered[1:]])
    onset = _numeric_column(df[c_on], "onset", path, line_no, missing=None)
    dur = np.zeros(len(df)) if c_dur is None else _numeric_column(df[c_dur], "duration", path, line_no, missing=0.0)
    labels = df[c_lab].astype(str).str.strip()
    channels = df[c_ch].astype(str).str.strip() if c_ch is not None else pd.Series([""] * len(df))
    raw = _Raw()
    keep = np.flatnonzero((labels.ne("") & labels.str.lower().ne("n/a")).to_numpy())
    lab_list, ch_list = labels.tolist(), channels.tolist()  # plain lists: no per-row pandas indexing
    for i, on, du in zip(keep.tolist(), onset[keep].tolist(), dur[keep].tolist()):  # loop over annotations
        ch = ch_list[i]
        raw.add(on, du, lab_list[i], ch if ch and ch.lower() != "n/a" else split_channel(lab_list[i])[1])
    return _assemble(raw, source=str(path), duration_s=duration_s, epoch_s=epoch_s, offset_s=offset_s)


def _numeric_column(col: pd.Series, name: str, path: Path, line_no: np.ndarray, *, missing: float | None) -> np.ndarray:
    text = col.astype(str).str.strip()
    blank = text.eq("") | text.str.lower().eq("n/a")
    values: np.ndarray = pd.to_numeric(text.where(~blank, "nan"), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) & ~(blank.to_numpy() & (missing is not None))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AnnotationError(
            f"line {line_no[i]}: {name} {col.iloc[i]!r} is not a number "
            f"({int(bad.sum())} bad value(s) in column {col.name!r})",
            path,
        )
    if missing is not None:
        values = np.where(blank.to_numpy(), missing, values)
    return values


def read_stage_lines(
    path: str | os.PathLike[str],
    *,
    duration_s: float | None = None,
    epoch_s: float = DEFAULT_EPOCH_S,
    offset_s: float = 0.0,
) -> Annotations:
    """Read a hypnogram written one stage per line, one line per ``epoch_s`` epoch from 0 s.

    Labels: W/N1/N2/N3/R/?, R&K numeric codes 0-5 (0 W, 1-4 S1-S4, 5 REM; S3/S4 -> N3,
    AASM Manual v2), 6/9/movement/unscored -> UNS, words such as Wake or REM. Blank
    lines and lines starting with ``#`` are skipped; a line like ``12 W`` uses its last token.
    """
    path = Path(path)
    numbered = _content_lines(_read_text(path))
    if not numbered:
        raise AnnotationError("empty hypnogram file", path)
    cache: dict[str, str | None] = {}
    stages: list[str] = []
    for n, line in numbered:
        if line not in cache:
            st = normalize_stage(line, stages_only=True)
            if st is None and len(line.split()) > 1:
                st = normalize_stage(line.split()[-1], stages_only=True)
            cache[line] = st
        st = cache[line]
        if st is None:
            raise AnnotationError(
                f"line {n}: {line[:40]!r} is not a sleep stage; accepted: W, N1, N2, N3, "
                f"R, ?, 0-5, Wake, REM, S1-S4, Sleep stage W/1/2/3/4/R/?",
                path,
            )
        stages.append(st)
    k = np.arange(len(stages), dtype=float)
    raw = _Raw(
        onset=(k * epoch_s).tolist(),
        duration=[epoch_s] * len(stages),
        text=stages,
        channel=[None] * len(stages),
        hint=["stage"] * len(stages),
    )
    return _assemble(raw, source=str(path), duration_s=duration_s, epoch_s=epoch_s, offset_s=offset_s)


# --------------------------------------------------------------------------- dispatch
def _sniff_kind(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError as err:
        raise AnnotationError(f"cannot read the file: {err.strerror or err}", path) from err
    if head[:8] == b"0       " or head[:8] == b"\xffBIOSEMI":
        return "edf"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        return "xml"
    if b"\x00" in head:
        return None
    return "text"


def read_annotations_file(
    path: str | os.PathLike[str],
    *,
    duration_s: float | None = None,
    epoch_s: float = DEFAULT_EPOCH_S,
    offset_s: float = 0.0,
) -> Annotations:
    """Read any supported annotation file (see ``SUPPORTED_FORMATS``) into ``Annotations``.

    Dispatch by extension (``.edf``/``.bdf``, ``.xml``, ``.csv``/``.tsv``/``.txt``) and,
    for ``.txt`` or unknown extensions, by content. ``duration_s`` (the recording's
    duration) drops or clips what lies past the end and fits the hypnogram to it; ``offset_s``
    shifts every onset (the file's time 0 lies ``offset_s`` s into the recording). A pipe,
    socket or device is refused before it is opened (reading it could block forever).
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        raise AnnotationError("is not a regular file (a folder, pipe, socket or device)", path)
    if not path.is_file():
        raise AnnotationError("annotation file not found", path)
    ext = path.suffix.lower()
    kind = {".edf": "edf", ".bdf": "edf", ".rec": "edf", ".xml": "xml", ".csv": "table", ".tsv": "table"}.get(ext)
    if kind is None:
        sniffed = _sniff_kind(path)
        if sniffed == "text" and ext in (".txt", ".hyp", ".stages", ".hypnogram", ""):
            lines = [s for _, s in _content_lines(_read_text(path))]
            kind = "table" if _looks_like_table(lines, path) else "stages"
        elif sniffed in ("edf", "xml"):
            kind = sniffed
    if kind is None:
        raise AnnotationError(f"unsupported annotation format; supported: {'; '.join(SUPPORTED_FORMATS)}", path)
    logger.info("reading annotations from %s (%s)", path, kind)
    if kind == "edf":
        return from_edf_annotations(
            _read_edf_triples(path), source=str(path), duration_s=duration_s, epoch_s=epoch_s, offset_s=offset_s
        )
    if kind == "xml":
        return read_nsrr_xml(path, duration_s=duration_s, epoch_s=epoch_s, offset_s=offset_s)
    if kind == "table":
        return read_table(path, duration_s=duration_s, epoch_s=epoch_s, offset_s=offset_s)
    return read_stage_lines(path, duration_s=duration_s, epoch_s=epoch_s, offset_s=offset_s)


# --------------------------------------------------------------------------- merge
def merge_annotations(*anns: Annotations) -> Annotations:
    """Merge annotation sets (e.g. the EDF's own annotations and a separate hypnogram file).

    Events are concatenated, sorted by onset and exact duplicates dropped; the
    hypnogram comes from the last set that has one; sources and warnings are kept.
    """
    frames = [a.events for a in anns if len(a.events)]
    events = pd.concat(frames, ignore_index=True) if frames else empty_annotation_events()
    if len(events):
        events = events.sort_values("onset", kind="stable").drop_duplicates().reset_index(drop=True)
    hyps = [a for a in anns if a.hypnogram is not None]
    warnings = [w for a in anns for w in a.warnings]

    def same(a: Annotations, b: Annotations) -> bool:
        ha, hb = a.hypnogram, b.hypnogram
        return (
            ha is not None
            and hb is not None
            and ha.epoch_s == hb.epoch_s
            and ha.start == hb.start
            and np.array_equal(ha.stages, hb.stages)
        )

    if len(hyps) > 1 and not all(same(hyps[0], h) for h in hyps[1:]):
        names = [(h.hypnogram.path if h.hypnogram is not None else None) or "?" for h in hyps]
        msg = f"several hypnograms ({', '.join(names)}); using the one from {names[-1]}"
        warnings.append(msg)
        logger.warning(msg)
    sources = [s for a in anns for s in a.sources]
    return Annotations(
        hypnogram=hyps[-1].hypnogram if hyps else None,
        events=events,
        sources=list(dict.fromkeys(sources)),
        warnings=warnings,
    )
