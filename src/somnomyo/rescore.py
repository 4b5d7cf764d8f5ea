"""Score a night again from an event table, without its signals: the seam a review uses.

``somnomyo score`` writes ``context.json`` into the results folder: what scoring needs beyond the
events - the recording's length and start, the hypnogram, the annotations used (respiratory
events, arousals, lights off/on, markers), the unscorable time per channel, the channel roles,
every setting, the sleeper's age and population, the detectors run, and per scoring step what
only the signal gives (e.g. the REM tonic epochs). :func:`rescore` then scores a given event
table through the registry's ``from_events`` steps (:mod:`somnomyo.registry`), i.e. by the same
scoring code as ``score``::

    from somnomyo.rescore import ScoringContext, rescore, rescore_folder
    from somnomyo.events import read_events_tsv

    ctx = ScoringContext.from_folder("results/")
    events = read_events_tsv("results/events.tsv")
    same = rescore(events, ctx)                         # == the night as scored
    without = rescore(events.drop(index=[17]), ctx)     # as if that event had not been detected
    without.summary()["plm"]["plms_index"]

Derived values are recomputed from the rows given: CLMs, PLM series, periodicity,
respiratory and arousal association and stage of the leg movements (WASM 2016 / AASM, per the
settings), the stage and arousal of every myoclonus event, jerk clusters, the FM index and the
AASM EFM rule, hypnic-jerk, negative-myoclonus and REM phasic indices, the state dependence
and the interpretation. The cortical (jerk-locked EEG) block needs the EEG signal: it is kept
as scored and named in the rescored summary's ``rescored.not_recomputed``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from somnomyo.errors import SomnomyoError
from somnomyo.io.annotations import EVENT_COLUMNS, Annotations, Hypnogram
from somnomyo.io.channels import ChannelRoles
from somnomyo.io.jsonable import jsonable as _jsonable
from somnomyo.result import Result
from somnomyo.settings import Settings, get_settings
from somnomyo.steps._context import intervals_from_json, intervals_to_json

FORMAT = "somnomyo-context"
FORMAT_VERSION = 1
CONTEXT_FILE = "context.json"
#: summary.json blocks that scoring does not compute (kept as the night was read)
NIGHT_BLOCKS = ("recording", "channels", "stages", "annotations", "quality", "warnings")


# ------------------------------------------------------------------ settings and roles
def _tuplify(v: Any) -> Any:
    return tuple(_tuplify(x) for x in v) if isinstance(v, list) else v


def _rebuild(obj: Any, values: Any) -> Any:
    """``obj`` (a settings dataclass) with the values of the nested dict ``values`` (as
    ``Settings.to_dict`` writes it: lists where the field holds a tuple)."""
    if dataclasses.is_dataclass(obj) and isinstance(values, dict):
        names = {f.name for f in dataclasses.fields(obj)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise SomnomyoError(
                f"unknown setting(s) {', '.join(unknown)}; allowed: {', '.join(sorted(names))}", CONTEXT_FILE
            )
        return dataclasses.replace(cast(Any, obj), **{k: _rebuild(getattr(obj, k), v) for k, v in values.items()})
    if isinstance(values, list):
        return list(values) if isinstance(obj, list) else _tuplify(values)
    return values


def settings_from_dict(values: dict[str, Any]) -> Settings:
    """The :class:`~somnomyo.settings.Settings` that ``Settings.to_dict`` wrote (``standard`` preset,
    every value as written)."""
    base = get_settings(str(values.get("standard", "wasm2016")))
    return _rebuild(base, {k: v for k, v in values.items() if k != "standard"})


def _roles_to_json(roles: ChannelRoles) -> dict[str, Any]:
    return {**roles.to_dict(), "labels": list(roles.role_of)}


def _roles_from_json(d: dict[str, Any]) -> ChannelRoles:
    by_role = {r: list(labs) for r, labs in d.get("roles", {}).items()}
    role_of = {lab: r for r, labs in by_role.items() for lab in labs}
    order = [lab for lab in d.get("labels", []) if lab in role_of] + [
        lab for lab in role_of if lab not in d.get("labels", [])
    ]
    return ChannelRoles(
        by_role=by_role, role_of={lab: role_of[lab] for lab in order}, overridden=set(d.get("overridden", []))
    )


# ------------------------------------------------------------------ tables
def _plain(v: Any) -> Any:
    if v is None or v is pd.NA or (isinstance(v, float) and not math.isfinite(v)):
        return None
    if isinstance(v, (np.floating,)):
        return _plain(float(v))
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    return v


def _annotations_to_json(ann: Annotations) -> dict[str, Any]:
    ev = ann.events
    return {
        "events": {c: [_plain(v) for v in ev[c].astype("object").tolist()] for c in ev.columns},
        "sources": list(ann.sources),
        "warnings": list(ann.warnings),
    }


def _annotations_from_json(d: dict[str, Any]) -> Annotations:
    cols = d.get("events", {}) or {}
    n = len(next(iter(cols.values()), []))
    data: dict[str, Any] = {}
    for c in list(EVENT_COLUMNS) + [c for c in cols if c not in EVENT_COLUMNS]:
        vals = cols.get(c, [None] * n)
        data[c] = (
            np.asarray([np.nan if v is None else v for v in vals], dtype=float)
            if c in ("onset", "duration")
            else pd.array(vals, dtype="string")
        )
    return _ContextAnnotations(
        hypnogram=None,
        events=pd.DataFrame(data),
        sources=list(d.get("sources", [])),
        warnings=list(d.get("warnings", [])),
    )


@dataclass
class _ContextAnnotations(Annotations):
    """The annotations of a scoring context: never changed while a night is rescored, so each
    selection (:meth:`Annotations.of`: arousals, respiratory events, lights) is made once and
    handed out as a (copy-on-write) copy."""

    _memo: dict[Any, pd.DataFrame] = field(default_factory=dict, init=False, repr=False, compare=False)

    def of(self, category: str, kinds: tuple[str, ...] | None = None) -> pd.DataFrame:
        key = (id(self.events), category, kinds)
        hit = self._memo.get(key)
        if hit is None:
            if len(self._memo) > 64:  # events replaced many times: start again
                self._memo.clear()
            hit = self._memo[key] = super().of(category, kinds)
        return hit.copy(deep=False)


def _hypnogram_to_json(h: Hypnogram) -> dict[str, Any]:
    return {
        "epoch_s": float(h.epoch_s),
        "start": float(h.start),
        "source": h.source,
        "path": h.path,
        "stages": [str(s) for s in h.stages],
    }


def _hypnogram_from_json(d: dict[str, Any]) -> Hypnogram:
    return Hypnogram(
        np.asarray(d.get("stages", []), dtype="<U3"),
        epoch_s=float(d["epoch_s"]),
        start=float(d.get("start", 0.0)),
        source=str(d.get("source", "annotations")),
        path=d.get("path"),
    )


# ------------------------------------------------------------------ the context
@dataclass
class ScoringContext:
    """What scoring a night needs besides its events (written as ``context.json`` by ``score``).

    ``unscorable``: unscorable time per EMG channel label from the quality checks (``onset``,
    ``duration``, ``reason``); ``gaps``: the recording's ``(onset, duration)`` gaps (EDF+D);
    ``population``: as asked (``auto`` or a population), ``subject_population``: the one used;
    ``detectors``: the detector families run; ``steps``: per registry entry, what it keeps from
    the signal (:attr:`somnomyo.registry.Scored.context`); ``night``: the summary blocks that
    scoring does not compute (recording, channels, stages, annotations, quality, warnings);
    ``event_times``: the exact ``onset`` and ``duration`` of the events scored (events.tsv keeps
    4 decimals), so that rows read back from events.tsv are scored with their exact times;
    ``signal``: what the review's windows need to be filtered as scored without reading whole
    channels (``mains_hz`` removed or None, ``mains_labels`` conditioned, optional
    ``mains_harmonics`` per label, ``r_peaks`` ``{"fs", "samples"}``); empty for older folders.
    """

    duration_s: float
    start: str | None
    hypnogram: Hypnogram
    annotations: Annotations
    settings: Settings
    roles: ChannelRoles
    unscorable: dict[str, pd.DataFrame] = field(default_factory=dict)
    gaps: list[tuple[float, float]] = field(default_factory=list)
    age_days: float | None = None
    population: str = "auto"
    subject_population: str = "adult"
    detectors: tuple[str, ...] = ("plm", "myoclonus")
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    night: dict[str, Any] = field(default_factory=dict)
    event_times: dict[str, list[float]] = field(default_factory=dict)
    signal: dict[str, Any] = field(default_factory=dict)
    #: what rescoring derives from the fields once (e.g. the keys of ``event_times``)
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def remembered_steps(self) -> tuple[str, ...]:
        """The scoring steps whose last inputs and result :func:`rescore` keeps with this context
        (a step asked the same inputs again gives that result without running)."""
        return tuple(self._cache.get("steps", {}))

    def step(self, name: str) -> dict[str, Any]:
        """What the registry entry ``name`` kept when the night was scored (raises when it did not run)."""
        if name not in self.steps:
            raise SomnomyoError(
                f"the night was scored without the {name!r} step (detectors: "
                f"{', '.join(self.detectors)}); score it again with it",
                CONTEXT_FILE,
            )
        return self.steps[name]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (:meth:`from_json` reads it back to an equal context)."""

        return _jsonable(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "duration_s": float(self.duration_s),
                "start": self.start,
                "hypnogram": _hypnogram_to_json(self.hypnogram),
                "annotations": _annotations_to_json(self.annotations),
                "unscorable": {lab: intervals_to_json(df) for lab, df in self.unscorable.items()},
                "gaps": [[float(a), float(b)] for a, b in self.gaps],
                "roles": _roles_to_json(self.roles),
                "settings": self.settings.to_dict(),
                "subject": {
                    "age_days": self.age_days,
                    "population": self.population,
                    "subject_population": self.subject_population,
                },
                "detectors": list(self.detectors),
                "steps": self.steps,
                "night": self.night,
                "event_times": {k: [float(v) for v in vals] for k, vals in self.event_times.items()},
                "signal": self.signal,
            }
        )

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ScoringContext:
        """The context :meth:`to_json` wrote; raises :class:`SomnomyoError` on another format."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise SomnomyoError(f"not a somnomyo scoring context (format {FORMAT!r} expected)", CONTEXT_FILE)
        if d.get("format_version") != FORMAT_VERSION:
            raise SomnomyoError(
                f"scoring context format_version {d.get('format_version')!r}; this somnomyo reads {FORMAT_VERSION}",
                CONTEXT_FILE,
            )
        try:
            subject = d.get("subject", {})
            return cls(
                duration_s=float(d["duration_s"]),
                start=d.get("start"),
                hypnogram=_hypnogram_from_json(d["hypnogram"]),
                annotations=_annotations_from_json(d.get("annotations", {})),
                settings=settings_from_dict(d["settings"]),
                roles=_roles_from_json(d.get("roles", {})),
                unscorable={lab: intervals_from_json(v) for lab, v in d.get("unscorable", {}).items()},
                gaps=[(float(a), float(b)) for a, b in d.get("gaps", [])],
                age_days=subject.get("age_days"),
                population=subject.get("population", "auto"),
                subject_population=subject.get("subject_population", "adult"),
                detectors=tuple(d.get("detectors", ())),
                steps=dict(d.get("steps", {})),
                night=dict(d.get("night", {})),
                event_times={k: [float(v) for v in vals] for k, vals in d.get("event_times", {}).items()},
                signal=dict(d.get("signal") or {}),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise SomnomyoError(
                f"scoring context is incomplete or malformed ({type(err).__name__}: {err})", CONTEXT_FILE
            ) from None

    @classmethod
    def from_folder(cls, path: str | os.PathLike[str]) -> ScoringContext:
        """The context of the results folder ``path`` (its ``context.json``)."""
        p = Path(path) / CONTEXT_FILE
        if not p.is_file():
            raise SomnomyoError(
                f"no {CONTEXT_FILE}: not somnomyo output, or scored by a version without it; score the night again",
                path,
            )
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise SomnomyoError(f"unreadable ({type(err).__name__})", p) from None
        try:
            return cls.from_json(d)
        except SomnomyoError as err:
            raise SomnomyoError(err.problem, p) from None


# ------------------------------------------------------------------ rescoring
@dataclass
class Rescored(Result):
    """A night scored again from an event table (a :class:`~somnomyo.result.Result`): ``events``
    (the full table, derived columns recomputed), ``blocks`` (summary blocks by name), ``results``
    (result objects by name) and ``not_recomputed`` (blocks kept as scored -> why)."""

    events: pd.DataFrame
    blocks: dict[str, Any]
    results: dict[str, Any]
    context: ScoringContext
    not_recomputed: dict[str, str] = field(default_factory=dict)

    def summary_block(self) -> dict[str, Any]:
        """The summary with the keys of summary.json, plus ``rescored`` (the rows scored and the
        blocks not recomputed)."""
        from somnomyo import __version__

        night = self.context.night
        out: dict[str, Any] = {"somnomyo_version": __version__}
        for k in ("recording", "channels", "stages", "annotations"):
            out[k] = night.get(k)
        out.update(self.blocks)
        out["quality"] = night.get("quality", {})
        out["settings"] = self.context.settings.to_dict()
        out["warnings"] = list(night.get("warnings", []))
        out["rescored"] = {
            "n_events": int(len(self.events)),
            "detectors": list(self.context.detectors),
            "not_recomputed": dict(self.not_recomputed),
        }
        return _jsonable(out)


def _tsv_key(onset: np.ndarray, duration: np.ndarray) -> list[tuple[str, str]]:
    return [(f"{a:.4f}", f"{b:.4f}") for a, b in zip(onset.tolist(), duration.tolist())]


_KEY_SCALE = 1e4  # events.tsv writes 4 decimals
_KEY_MAX = 2**31  # each part of a key below this (the recording below 214748 s): one int64 per row


def _tsv_ints(x: np.ndarray) -> np.ndarray | None:
    """``round(x, 4) * 1e4`` as integers, exactly as ``f"{x:.4f}"`` rounds (the decimal digits
    of the binary value, half to even), or None when some value is out of range. ``x * 1e4`` is
    off the exact product by at most an ulp, so only values within 1e-6 of a half step could
    round otherwise: those are formatted."""
    x = np.asarray(x, dtype=float)
    if not np.isfinite(x).all() or (x < 0).any():  # "-0.0000" is another text than "0.0000"
        return None
    y = x * _KEY_SCALE
    k = np.rint(y)
    if (np.abs(k) >= _KEY_MAX).any():
        return None
    near = np.flatnonzero(np.abs(np.abs(y - np.floor(y)) - 0.5) < 1e-6)
    for i in near.tolist():  # the rare values near a half step
        k[i] = float(f"{x[i]:.4f}".replace(".", ""))
    return k.astype(np.int64)


def _tsv_codes(onset: np.ndarray, duration: np.ndarray) -> np.ndarray | None:
    """One int64 per row: the 4-decimal onset and duration of :func:`_tsv_key` (None: out of range)."""
    on, du = _tsv_ints(onset), _tsv_ints(duration)
    if on is None or du is None or (du < 0).any():
        return None
    return on * _KEY_MAX + du


def _exact_lookup(times: dict[str, list[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The scored events' 4-decimal keys (sorted, unambiguous ones only) and their exact onset and
    duration, for :func:`_exact_times`; None when a key is out of range (then matched as text)."""
    on = np.asarray(times.get("onset", []), dtype=float)
    du = np.asarray(times.get("duration", []), dtype=float)
    codes = _tsv_codes(on, du)
    if codes is None:
        return None
    order = np.lexsort((du, on, codes))
    c, o, d = codes[order], on[order], du[order]
    first = np.r_[True, c[1:] != c[:-1]]
    grp = np.cumsum(first) - 1
    n_grp = int(first.sum())
    # a key whose rows do not all hold the same exact times is ambiguous: not used
    same = (o == o[first][grp]) & (d == d[first][grp])
    ok = np.ones(n_grp, dtype=bool)
    np.logical_and.at(ok, grp, same)
    keep = first.copy()
    keep[first] = ok
    return c[keep], o[keep], d[keep]


def _exact_times(
    table: pd.DataFrame, times: dict[str, list[float]], cache: dict[str, Any] | None = None
) -> pd.DataFrame:
    """``table`` with the exact onset/duration of every row that events.tsv wrote rounded (its
    4-decimal values match one scored event, unambiguously); other rows (added, moved) as given.
    ``cache``: where the scored events' keys are kept between calls (the context's)."""
    if not times or len(table) == 0:
        return table
    t_on = table["onset"].to_numpy(dtype=float).copy()
    t_du = table["duration"].to_numpy(dtype=float).copy()
    lookup = cache.get("exact") if cache is not None else None
    if lookup is None:
        lookup = _exact_lookup(times)
        if cache is not None and lookup is not None:
            cache["exact"] = lookup
    codes = _tsv_codes(t_on, t_du) if lookup is not None else None
    if lookup is None or codes is None:
        return _exact_times_text(table, times)
    keys, e_on, e_du = lookup
    pos = np.clip(np.searchsorted(keys, codes), 0, max(len(keys) - 1, 0))
    hit = (keys[pos] == codes) if len(keys) else np.zeros(len(codes), dtype=bool)
    t_on[hit], t_du[hit] = e_on[pos[hit]], e_du[pos[hit]]
    return table.assign(onset=t_on, duration=t_du)


def _exact_times_text(table: pd.DataFrame, times: dict[str, list[float]]) -> pd.DataFrame:
    """:func:`_exact_times` by formatted text (values out of the integer keys' range)."""
    on = np.asarray(times.get("onset", []), dtype=float)
    du = np.asarray(times.get("duration", []), dtype=float)
    exact: dict[tuple[str, str], tuple[float, float] | None] = {}
    for key, a, b in zip(_tsv_key(on, du), on.tolist(), du.tolist()):
        exact[key] = (a, b) if exact.get(key, (a, b)) == (a, b) else None  # None: ambiguous
    t_on = table["onset"].to_numpy(dtype=float).copy()
    t_du = table["duration"].to_numpy(dtype=float).copy()
    for i, key in enumerate(_tsv_key(t_on, t_du)):  # loop over rows
        hit = exact.get(key)
        if hit is not None:
            t_on[i], t_du[i] = hit
    return table.assign(onset=t_on, duration=t_du)


def _check_events(events: pd.DataFrame, allowed: Sequence[str]) -> pd.DataFrame:
    from somnomyo.events import make_events

    if not isinstance(events, pd.DataFrame):
        raise SomnomyoError(f"events must be a table (pandas DataFrame), got {type(events).__name__}", "rescore")
    missing = [c for c in ("onset", "duration", "trial_type") if c not in events.columns]
    if missing:
        raise SomnomyoError(f"event table lacks column(s) {', '.join(missing)}", "rescore")
    tt = pd.unique(events["trial_type"].astype("object").to_numpy())  # the few kinds, once each
    bad = sorted({str(t) for t in tt if t not in allowed})
    if bad:
        raise SomnomyoError(
            f"event kind(s) {', '.join(bad)} not scored by the detectors run; allowed: {', '.join(allowed)}", "rescore"
        )
    table = make_events(events.reset_index(drop=True))
    on = table["onset"].to_numpy(dtype=float)
    du = table["duration"].to_numpy(dtype=float)
    if not (np.isfinite(on).all() and np.isfinite(du).all()) or (du < 0).any():
        raise SomnomyoError("event onset/duration must be finite numbers and durations >= 0", "rescore")
    return table


def rescore(events: pd.DataFrame, context: ScoringContext, *, detectors: Sequence[str] | None = None) -> Rescored:
    """Score ``events`` (a standard event table, e.g. events.tsv as read, with rows removed,
    added or changed) as ``score`` scored the night of ``context``: the registry's
    ``from_events`` step of each detector run (or of ``detectors``, families among those run),
    then the interpretation. Rejecting an event is rescoring the table without its row.

    Each step is a pure function of what it reads (its own rows, ``earlier`` where it
    ``reads_earlier``, and ``context``), so a step whose inputs equal those of the previous call
    with this ``context`` gives the result it gave then, which is reused (an edit of a leg
    movement leaves the myoclonus rows as they were); the numbers are those of scoring again."""
    from somnomyo.events import concat_events
    from somnomyo.registry import FAMILIES, for_families, interpret_blocks, trial_types

    fams = tuple(context.detectors if detectors is None else detectors)
    for f in fams:
        if f not in context.detectors:
            allowed = ", ".join(context.detectors) or "none"
            raise SomnomyoError(f"detector {f!r} was not run on this night; allowed: {allowed}", "rescore")
    entries = for_families([f for f in FAMILIES if f in fams])
    table = _exact_times(_check_events(events, trial_types(entries)), context.event_times, context._cache)
    tt = table["trial_type"].astype("object").to_numpy()
    blocks: dict[str, Any] = {}
    results: dict[str, Any] = {}
    not_recomputed: dict[str, str] = {}
    tables: list[pd.DataFrame] = []
    earlier: pd.DataFrame | None = None  # the tables so far, concatenated once per change
    memo: dict[str, tuple[pd.DataFrame, pd.DataFrame | None, Any]] = context._cache.setdefault("steps", {})
    for entry in entries:  # loop over scoring steps
        mine = table.loc[np.isin(tt, entry.trial_types)].reset_index(drop=True)
        earlier = concat_events(tables) if earlier is None else earlier
        seen = memo.get(entry.name)
        if seen is not None and seen[0].equals(mine) and (not entry.reads_earlier or earlier.equals(seen[1])):
            scored = seen[2]  # the same inputs: the same result
        else:
            scored = entry.from_events(mine, context, earlier)
            memo[entry.name] = (mine, earlier if entry.reads_earlier else None, scored)
        blocks.update(scored.blocks)
        results.update(scored.results)
        not_recomputed.update(scored.not_recomputed)
        if scored.events is not None:
            tables.append(scored.events)
            earlier = None
    interpret_blocks(
        blocks,
        results,
        age_days=context.age_days,
        population=context.population,
        subject_population=context.subject_population,
        settings=context.settings,
    )
    return Rescored(
        events=concat_events(tables) if earlier is None else earlier,
        blocks=blocks,
        results=results,
        context=context,
        not_recomputed=not_recomputed,
    )


def rescore_folder(
    path: str | os.PathLike[str], events: pd.DataFrame, *, detectors: Sequence[str] | None = None
) -> Rescored:
    """:func:`rescore` ``events`` with the context of the results folder ``path``."""
    return rescore(events, ScoringContext.from_folder(path), detectors=detectors)
