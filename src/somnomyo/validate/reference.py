"""Read a scoring to compare: a reference (an expert's) or the detections of a results folder.

:func:`read_scoring` accepts

* an annotation file (NSRR/Compumedics XML, EDF+/BDF+ annotations, CSV/TSV) read by
  :func:`somnomyo.io.annotation_readers.read_annotations_file`; each label is looked up in the
  label table (:mod:`somnomyo.validate.labels`); labels the annotation readers recognize as
  stages, respiratory events, arousals or lights are context, not events to match; labels the
  readers recognize as limb movements but the table does not list count as leg movements with
  the side and periodicity the reader gives (:mod:`somnomyo.io.labels`); every other label is
  *unknown* and listed (``Scoring.unknown_labels``);
* a results folder written by ``somnomyo score`` (``events.tsv``, ``summary.json``; opened by
  :func:`somnomyo.io.results_folder.open_results`);
* a reviewed folder exported by ``somnomyo review --export`` (``events_reviewed.tsv``,
  ``summary_reviewed.json``);
* the simulator's ``truth.json`` (:func:`somnomyo.simulate.truth.truth_events`).

:func:`align` puts a scoring on the time axis of the recording: by the start date-time
when both are known (NSRR XML gives only a clock time: aligned on the clock, within +/- 12 h),
as is when either start is unknown; it refuses with one line when the scoring then has no
event inside the recording, or has events past the recording end without a start date-time
to align it by. Events outside the recording after alignment are dropped with a warning.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from somnomyo._logging import logger
from somnomyo.errors import SomnomyoError
from somnomyo.events import make_events, read_events_tsv
from somnomyo.io.annotations import Hypnogram
from somnomyo.validate.labels import IGNORE, LabelRule, LabelTable

__all__ = ["Scoring", "read_scoring", "align", "FORMATS", "REVIEWED_EVENTS", "REVIEWED_SUMMARY"]

FORMATS = ("annotations", "results", "reviewed", "truth")
REVIEWED_EVENTS = "events_reviewed.tsv"
REVIEWED_SUMMARY = "summary_reviewed.json"
_SECONDS_PER_DAY = 86400.0
_CONTEXT_CATEGORIES = ("arousal", "respiratory", "lights")
_LIMB_KINDS = {
    "lm": (None, None),
    "lm_left": ("left", None),
    "lm_right": ("right", None),
    "plm": (None, True),
    "plm_left": ("left", True),
    "plm_right": ("right", True),
}
_ROLE_SIDE = {"leg_left": "left", "leg_right": "right", "legs": "both"}


@dataclass
class Scoring:
    """Events scored on one recording by one scorer (a person, the simulator, or somnomyo).

    ``events``: the standard event table (:mod:`somnomyo.events`) plus ``label`` (as written
    in the source). ``defined``: the event columns this scoring actually states (``side``,
    ``periodic``, ``clm_id``, ``arousal``, ``stage``); the others are not compared.
    ``start``: its start date-time (``start_clock_only``: a clock time without a date, NSRR).
    """

    path: Path
    format: str
    events: pd.DataFrame
    defined: frozenset[str]
    start: dt.datetime | None = None
    start_clock_only: bool = False
    duration_s: float | None = None
    hypnogram: Hypnogram | None = None
    summary: dict[str, Any] | None = None
    truth_expected: dict[str, Any] | None = None
    plm_labelled: bool = False
    unknown_labels: dict[str, int] = field(default_factory=dict)
    ignored_labels: dict[str, int] = field(default_factory=dict)
    labels_used: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    offset_s: float = 0.0

    @property
    def results_dir(self) -> Path | None:
        """The folder, for a results or reviewed folder (its scoring context)."""
        return self.path if self.format in ("results", "reviewed") else None

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)
        logger.warning("%s: %s", self.path, msg)

    def info(self) -> dict[str, Any]:
        """What summary.json says about this scoring."""
        return {
            "path": str(self.path),
            "format": self.format,
            "start": self.start.isoformat() if self.start else None,
            "start_clock_only": self.start_clock_only,
            "offset_s": self.offset_s,
            "n_events": int(len(self.events)),
            "events_by_kind": {str(k): int(v) for k, v in self.events["trial_type"].value_counts().items()},
            "defined": sorted(self.defined),
            "plm_labelled": self.plm_labelled,
            "unknown_labels": dict(self.unknown_labels),
            "ignored_labels": dict(self.ignored_labels),
            "labels_used": list(self.labels_used),
            "warnings": list(self.warnings),
        }


# ----------------------------------------------------------------------------- dispatch
def read_scoring(path: str | os.PathLike[str], *, labels: LabelTable | None = None) -> Scoring:
    """Read an annotation file, a results folder, a reviewed folder or a ``truth.json``."""
    p = Path(path)
    if not p.exists():
        raise SomnomyoError("not found (give an annotation file, a results or reviewed folder, or truth.json)", p)
    if p.is_dir():
        if (p / REVIEWED_EVENTS).is_file():
            return _reviewed(p)
        return _results(p)
    if p.suffix.lower() == ".json":
        return _truth(p)
    return _annotations(p, labels or LabelTable.default())


def _parse_start(text: Any) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise SomnomyoError(f"unreadable {what} ({type(err).__name__}: {err})", path) from None


def _from_summary(summary: dict[str, Any]) -> tuple[dt.datetime | None, float | None]:
    rec: dict[str, Any] = summary["recording"] if isinstance(summary.get("recording"), dict) else {}
    dur = rec.get("duration_s")
    return _parse_start(rec.get("start")), (float(dur) if isinstance(dur, (int, float)) else None)


_FOLDER_DEFINED = frozenset({"side", "periodic", "clm_id", "arousal", "stage"})


def _results(p: Path) -> Scoring:
    from somnomyo.io.results_folder import open_results

    rf = open_results(p, check_recording=False)
    summary = rf.summary()
    start, dur = _from_summary(summary)
    return Scoring(
        path=p,
        format="results",
        events=_with_label(rf.events()),
        defined=_FOLDER_DEFINED,
        start=start,
        duration_s=dur,
        summary=summary,
    )


def _reviewed(p: Path) -> Scoring:
    f = p / REVIEWED_EVENTS
    try:
        events = read_events_tsv(f)
    except (OSError, ValueError, KeyError) as err:
        raise SomnomyoError(f"unreadable reviewed event table: {type(err).__name__}: {err}", f) from None
    summary = _read_json(p / REVIEWED_SUMMARY, "reviewed summary") if (p / REVIEWED_SUMMARY).is_file() else None
    start, dur = _from_summary(summary) if isinstance(summary, dict) else (None, None)
    return Scoring(
        path=p,
        format="reviewed",
        events=_with_label(events),
        defined=_FOLDER_DEFINED,
        start=start,
        duration_s=dur,
        summary=summary if isinstance(summary, dict) else None,
    )


def _with_label(events: pd.DataFrame) -> pd.DataFrame:
    ev = events.reset_index(drop=True)
    if "label" not in ev.columns:
        ev["label"] = pd.array(ev["trial_type"].astype("string"), dtype="string")
    return ev


def _truth(p: Path) -> Scoring:
    from somnomyo.simulate.truth import truth_events

    truth = _read_json(p, "JSON")
    if not isinstance(truth, dict) or "leg_movements" not in truth or "duration_s" not in truth:
        raise SomnomyoError(
            "not a simulator truth.json (no 'leg_movements' / 'duration_s'); a reference is an "
            "annotation file (XML, EDF+, CSV/TSV), a results or reviewed folder, or truth.json",
            p,
        )
    try:
        events = truth_events(truth)
    except (KeyError, TypeError, ValueError) as err:
        raise SomnomyoError(f"malformed truth.json ({type(err).__name__}: {err})", p) from None
    stages = truth.get("stages") or []
    epoch = 30.0 if not stages else float(truth["duration_s"]) / len(stages)
    hyp = (
        Hypnogram(np.asarray(stages, dtype="<U3"), epoch_s=epoch, source="annotations", path=str(p)) if stages else None
    )
    return Scoring(
        path=p,
        format="truth",
        events=_with_label(events),
        defined=frozenset({"side", "periodic", "arousal", "stage"}),
        start=_parse_start(truth.get("start")),
        duration_s=float(truth["duration_s"]),
        hypnogram=hyp,
        truth_expected=truth.get("expected"),
        plm_labelled=True,
    )


# ----------------------------------------------------------------------------- annotation files
def _annotation_start(path: Path) -> tuple[dt.datetime | None, bool]:
    """Start of an annotation file: EDF+ header date-time, NSRR "Recording Start Time" clock time."""
    ext = path.suffix.lower()
    if ext in (".edf", ".bdf", ".rec"):
        from somnomyo.io.edf import read_header

        try:
            return read_header(path).start, False
        except SomnomyoError:
            return None, False
    if ext == ".xml":
        from somnomyo.io.annotation_readers import _parse_xml, _text

        root = _parse_xml(path)
        for ev in root.iter("ScoredEvent"):
            if _text(ev, "EventConcept").lower() == "recording start time":
                clock = _text(ev, "ClockTime").split()
                if clock:
                    try:
                        t = dt.datetime.strptime(clock[-1].replace(":", "."), "%H.%M.%S")
                    except ValueError:
                        return None, False
                    return t, True
        return None, False
    return None, False


def _side_of_channel(channel: Any, cache: dict[str, str | None]) -> str | None:
    if channel is None or channel is pd.NA or not str(channel).strip():
        return None
    ch = str(channel).strip()
    if ch not in cache:
        from somnomyo.io.channels import infer_roles

        cache[ch] = _ROLE_SIDE.get(infer_roles([ch]).role_of.get(ch, ""))
    return cache[ch]


def _annotations(p: Path, table: LabelTable) -> Scoring:
    from somnomyo.io.annotation_readers import read_annotations_file

    ann = read_annotations_file(p)
    ev = ann.events
    rows: list[dict[str, Any]] = []
    unknown: dict[str, int] = {}
    ignored: dict[str, int] = {}
    used: dict[str, dict[str, Any]] = {}
    side_cache: dict[str, str | None] = {}
    rules: dict[tuple[str, str, str], tuple[LabelRule | None, str]] = {}
    for on, du, cat, kind, label, ch in zip(
        ev["onset"].tolist(),
        ev["duration"].tolist(),
        ev["category"].tolist(),
        ev["kind"].tolist(),
        ev["label"].tolist(),
        ev["channel"].tolist(),
    ):
        text = str(label)
        key = (text, str(cat), str(kind))
        if key not in rules:
            rule = table.lookup(text)
            by = "label table"
            if rule is None and cat == "limb" and kind in _LIMB_KINDS:
                side, periodic = _LIMB_KINDS[kind]
                rule, by = LabelRule(text, "leg_movement", side, periodic), "somnomyo.io.labels"  # type: ignore[arg-type]
            rules[key] = (rule, by)
        rule, by = rules[key]
        if rule is None:
            if cat not in _CONTEXT_CATEGORIES:
                unknown[text] = unknown.get(text, 0) + 1
            continue
        if rule.trial_type == IGNORE:
            ignored[text] = ignored.get(text, 0) + 1
            continue
        u = used.setdefault(text, {**rule.to_dict(), "label": text, "matched_by": by, "count": 0})
        u["count"] += 1
        side = rule.side if rule.side is not None else _side_of_channel(ch, side_cache)
        rows.append(
            {
                "onset": float(on),
                "duration": float(du),
                "trial_type": rule.trial_type,
                "channel": None if ch is pd.NA else ch,
                "side": side,
                "periodic": rule.periodic,
                "label": text,
            }
        )
    events = make_events(rows, label="string") if rows else _with_label(make_events(None))
    lm = events["trial_type"] == "leg_movement"
    plm_labelled = bool(events.loc[lm, "periodic"].eq(True).any())  # pandas boolean: eq(True) keeps NA out
    start, clock_only = _annotation_start(p)
    dur = None
    if ann.hypnogram is not None:
        dur = float(ann.hypnogram.end)
    sc = Scoring(
        path=p,
        format="annotations",
        events=events,
        defined=frozenset(),
        start=start,
        start_clock_only=clock_only,
        duration_s=dur,
        hypnogram=ann.hypnogram,
        plm_labelled=plm_labelled,
        unknown_labels=dict(sorted(unknown.items())),
        ignored_labels=ignored,
        labels_used=sorted(used.values(), key=lambda u: -u["count"]),
        warnings=list(ann.warnings),
    )
    if plm_labelled:
        sc = _merge_plm_duplicates(sc)
    defined = set()
    lm_side = sc.events.loc[sc.events["trial_type"] == "leg_movement", "side"]
    if len(lm_side) and lm_side.notna().all():
        defined.add("side")
    if plm_labelled:
        defined.add("periodic")
    sc.defined = frozenset(defined)
    if unknown:
        shown = ", ".join(f"{k!r} ({v})" for k, v in list(sc.unknown_labels.items())[:8])
        more = f" and {len(unknown) - 8} more" if len(unknown) > 8 else ""
        sc.warn(
            f"{sum(unknown.values())} event(s) with label(s) not in the label table, not compared: {shown}{more} "
            "(add them with --labels FILE)"
        )
    return sc


def _merge_plm_duplicates(sc: Scoring) -> Scoring:
    """A PLM label written on top of an LM label (same leg, IoU >= 0.5) is one periodic LM."""
    from somnomyo.validate.match import match_events

    ev = sc.events
    lm = ev.index[(ev["trial_type"] == "leg_movement").to_numpy()]
    per = ev.loc[lm, "periodic"].fillna(False).astype(bool)
    plm_rows, other_rows = lm[per.to_numpy()], lm[~per.to_numpy()]
    pairs = match_events(ev.loc[plm_rows], ev.loc[other_rows], by="side" if ev.loc[lm, "side"].notna().all() else None)
    m = pairs[pairs["outcome"] == "match"]
    drop = other_rows[m["reference_index"].to_numpy(dtype=np.int64)]
    ev = ev.drop(index=drop)
    lm_left = ev["trial_type"] == "leg_movement"
    ev.loc[lm_left, "periodic"] = ev.loc[lm_left, "periodic"].fillna(False)
    sc = replace(sc, events=ev.reset_index(drop=True))
    if len(drop):
        sc.warn(
            f"{len(drop)} PLM label(s) lie on top of an LM label of the same leg; each pair counted as one periodic LM"
        )
    return sc


# ----------------------------------------------------------------------------- alignment
def _offset(sc: Scoring, start: dt.datetime | None) -> float | None:
    """Seconds from the recording start to the scoring's start; None when either is unknown."""
    if sc.start is None or start is None:
        return None
    if sc.start_clock_only:
        a = sc.start.hour * 3600 + sc.start.minute * 60 + sc.start.second
        b = start.hour * 3600 + start.minute * 60 + start.second + start.microsecond * 1e-6
        return ((a - b + _SECONDS_PER_DAY / 2) % _SECONDS_PER_DAY) - _SECONDS_PER_DAY / 2
    s0, s1 = sc.start, start
    if (s0.tzinfo is None) != (s1.tzinfo is None):
        s0, s1 = s0.replace(tzinfo=None), s1.replace(tzinfo=None)
    return (s0 - s1).total_seconds()


def align(sc: Scoring, *, start: dt.datetime | None, duration_s: float | None, what: str = "reference") -> Scoring:
    """``sc`` on the recording's time axis (see the module docstring); raises SomnomyoError (one line)."""
    ev = sc.events
    off = _offset(sc, start)
    if duration_s is None or not math.isfinite(duration_s) or len(ev) == 0:
        return sc if not off else _shift(sc, off)
    on = ev["onset"].to_numpy(dtype=float)
    if off is None:
        past = on >= duration_s
        if past.any():
            raise SomnomyoError(
                f"the {what} has events up to {float(on.max()):.0f} s, past the recording end "
                f"({duration_s:g} s), and no start date-time to align it by; is it the scoring of "
                "this recording?",
                sc.path,
            )
        return sc
    shifted = on + off
    inside = (shifted >= 0) & (shifted < duration_s)
    if not inside.any():
        stated = (
            sc.start.strftime("%H:%M:%S")
            if sc.start_clock_only and sc.start
            else (sc.start.isoformat() if sc.start else "?")
        )
        raise SomnomyoError(
            f"the {what} starts at {stated}, {off:+.0f} s from the recording start "
            f"({start.isoformat() if start else '?'}), and none of its events falls within the "
            f"recording ({duration_s:g} s); is it the scoring of this recording?",
            sc.path,
        )
    out = _shift(sc, off) if off else sc
    if not inside.all():
        n = int((~inside).sum())
        out = replace(out, events=out.events.loc[inside].reset_index(drop=True))
        out.warn(
            f"{n} event(s) of the {what} lie outside the recording (0-{duration_s:g} s) after alignment; not compared"
        )
    return out


def _shift(sc: Scoring, off: float) -> Scoring:
    ev = sc.events.copy()
    ev["onset"] = ev["onset"].to_numpy(dtype=float) + off
    hyp = sc.hypnogram
    if hyp is not None:
        hyp = Hypnogram(hyp.stages, epoch_s=hyp.epoch_s, start=hyp.start + off, source=hyp.source, path=hyp.path)
    out = replace(sc, events=ev, hypnogram=hyp, offset_s=float(off), warnings=list(sc.warnings))
    out.warn(f"aligned by start date-time: it starts {abs(off):g} s {'after' if off > 0 else 'before'} the recording")
    return out
