"""The nights of a cohort: from a glob of recordings or a manifest CSV.

A manifest is a CSV with one row per night and the columns

``edf`` (required)
    the recording (EDF/EDF+/BDF); a relative path resolves against the manifest's folder.
``id``
    the night's id, which names its output folder ``DIR/<id>/``; empty or absent: the EDF stem.
``annotations``, ``hypnogram``
    optional annotation / hypnogram files (relative paths as for ``edf``).
``age``, ``population``
    optional per-night scoring options passed to ``score_night``: the age needs a unit
    (``"10d"``, ``"3m"``, ``"45y"``), the population is ``adult``, ``child``, ``infant`` or ``auto``.
``channels``
    optional per-night channel-role overrides, as ``somnomyo score --channel`` takes them,
    separated by ``;``: ``leg_left=Tib sin;leg_right=Tib dx`` (a label holding a comma is
    quoted: ``eeg="A,B"``). They take precedence, role by role, over ``somnomyo cohort --channel``.
``annotation_offset``, ``force_annotations``
    optional, as ``somnomyo score --annotation-offset SECONDS`` and ``--force-annotations`` take
    them: the seconds into the recording at which the night's separate annotation/hypnogram files
    start, and ``true``/``false`` to use those files although their start date-time differs
    from the recording's.
anything else (``age``, ``sex``, ``group``, ...)
    carried unchanged into the cohort table ``nights.csv``.

Ids must be unique (ignoring case, so that the folders do not collide on case-insensitive
file systems) and safe: an id is a folder name inside the output folder, so path
separators, a leading ``.``, ``..`` and the names of the cohort tables are refused.
"""

from __future__ import annotations

import glob
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from somnomyo.errors import SomnomyoError

#: Files the cohort writes beside the night folders: an id may not take these names.
TABLE_FILES = ("nights.parquet", "nights.csv", "events.parquet")
#: Path columns of a manifest (resolved against the manifest's folder).
PATH_COLUMNS = ("edf", "annotations", "hypnogram")
#: Manifest columns passed to the scorer as keyword options (kept as text).
OPTION_COLUMNS = ("age", "population", "channels", "annotation_offset", "force_annotations")
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0", "")
POPULATIONS = ("adult", "child", "infant", "auto")
#: Infixes of the temporary folders a run writes (``<id>.tmp-<hex>``, ``<id>.old-<hex>``).
TEMP_MARKERS = (".tmp-", ".old-")
RECORDING_SUFFIXES = (".edf", ".bdf", ".rec")
MAX_ID_LENGTH = 200
_GLOB_CHARS = re.compile(r"[*?\[]")
_UNSAFE_CHARS = re.compile(r"[/\\:\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Night:
    """One night of a cohort: its id, its files and any extra manifest columns."""

    id: str
    edf: str
    annotations: str | None = None
    hypnogram: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def inputs(self) -> dict[str, str | None]:
        """What the night was scored from (compared on a rerun to decide whether it is done)."""
        return {"edf": self.edf, "annotations": self.annotations, "hypnogram": self.hypnogram}

    def options(self) -> dict[str, Any]:
        """Scoring options from the manifest that are set: ``age`` and ``population`` as text,
        ``channels`` as ``{role: [labels]}`` (see :func:`parse_channels`), ``annotation_offset``
        in seconds and ``force_annotations`` as a boolean."""
        out: dict[str, Any] = {}
        for k in OPTION_COLUMNS:
            v = self.extra.get(k)
            if v is None:
                continue
            if k == "channels":
                out[k] = parse_channels(str(v))
            elif k == "annotation_offset":
                out[k] = float(v)
            elif k == "force_annotations":
                out[k] = str(v).strip().lower() in _TRUE
            else:
                out[k] = str(v)
        return out


def parse_channels(text: str) -> dict[str, list[str]]:
    """A manifest ``channels`` cell (``ROLE=LABEL[,LABEL...]`` items separated by ``;``) as
    ``{role: [labels]}``; raises ``ValueError`` (listing the allowed roles) for a bad item."""
    from somnomyo.io.channels import parse_overrides

    items = [x.strip() for x in str(text).split(";") if x.strip()]
    if not items:
        raise ValueError(f"channels cell {text!r} holds no ROLE=LABEL item")
    return parse_overrides(items)


def format_channels(channels: Mapping[str, Sequence[str]]) -> str:
    """``{role: [labels]}`` as a manifest ``channels`` cell (the inverse of :func:`parse_channels`)."""

    def label(x: str) -> str:
        return f'"{x}"' if ("," in x or x != x.strip()) else x

    return ";".join(f"{role}={','.join(label(x) for x in labels)}" for role, labels in channels.items())


def with_channels(nights: Sequence[Night], channels: Mapping[str, Sequence[str] | str] | None) -> list[Night]:
    """``nights`` with cohort-wide channel overrides added; a night's own ``channels`` cell wins,
    role by role."""
    if not channels:
        return list(nights)
    base = {role: [labels] if isinstance(labels, str) else list(labels) for role, labels in channels.items()}
    out = []
    for n in nights:
        own = n.options().get("channels", {})
        extra = dict(n.extra)
        extra["channels"] = format_channels({**base, **own})
        out.append(replace(n, extra=extra))
    return out


def id_problem(night_id: str) -> str | None:
    """Why ``night_id`` cannot name a folder inside the output folder, or None if it can."""
    if not isinstance(night_id, str) or not night_id.strip():
        return "empty id"
    if night_id != night_id.strip():
        return f"id {night_id!r} has leading or trailing spaces"
    if len(night_id) > MAX_ID_LENGTH:
        return f"id {night_id[:20]!r}... is longer than {MAX_ID_LENGTH} characters"
    if _UNSAFE_CHARS.search(night_id) or os.path.isabs(night_id):
        return f"unsafe id {night_id!r}: ids name output folders, so no path separators, ':' or control characters"
    if night_id.startswith("."):
        return f"unsafe id {night_id!r}: ids may not start with '.' (no '..', no hidden folders)"
    if night_id.lower() in TABLE_FILES:
        return f"id {night_id!r} is the name of a cohort table ({', '.join(TABLE_FILES)})"
    if any(m in night_id for m in TEMP_MARKERS):
        return f"id {night_id!r} contains {' or '.join(map(repr, TEMP_MARKERS))}, reserved for temporary folders"
    return None


def check_nights(nights: Sequence[Night], source: str | os.PathLike[str] | None) -> list[Night]:
    """Refuse unsafe or duplicate ids (one-line :class:`SomnomyoError` naming ``source``)."""
    for n in nights:
        problem = id_problem(n.id)
        if problem is not None:
            raise SomnomyoError(problem, source)
    seen: dict[str, str] = {}
    dupes: list[str] = []
    for n in nights:
        key = n.id.casefold()
        if key in seen:
            dupes.append(n.id if seen[key] == n.id else f"{seen[key]}/{n.id}")
        seen[key] = n.id
    if dupes:
        shown = ", ".join(sorted(set(dupes))[:5]) + (" ..." if len(set(dupes)) > 5 else "")
        raise SomnomyoError(
            f"duplicate night id(s) {shown}: ids must be unique (ignoring case); "
            "give explicit ids in a manifest's 'id' column",
            source,
        )
    return list(nights)


def _cell(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _extra_values(col: pd.Series) -> list[Any]:
    """An extra manifest column as plain values: numbers where every filled cell is one, else text."""
    cells = [_cell(v) for v in col]
    try:
        return [None if v is None else _number(v) for v in cells]
    except ValueError:
        return cells


def _check_options(values: dict[str, list[Any]], where: str | os.PathLike[str]) -> None:
    """Refuse an age or population the scorer would not accept (one line naming the row)."""
    for i, pop in enumerate(values.get("population", []), start=2):
        if pop is not None and pop not in POPULATIONS:
            raise SomnomyoError(f"row {i}: population {pop!r} must be one of {', '.join(POPULATIONS)}", where)
    for i, cell in enumerate(values.get("annotation_offset", []), start=2):
        if cell is not None:
            try:
                ok = math.isfinite(float(cell))
            except ValueError:
                ok = False
            if not ok:
                raise SomnomyoError(f"row {i}: annotation_offset {cell!r} must be a number of seconds", where)
    for i, cell in enumerate(values.get("force_annotations", []), start=2):
        if cell is not None and str(cell).strip().lower() not in _TRUE + _FALSE:
            raise SomnomyoError(f"row {i}: force_annotations {cell!r} must be true or false", where)
    for i, cell in enumerate(values.get("channels", []), start=2):
        if cell is not None:
            try:
                parse_channels(cell)
            except ValueError as err:
                raise SomnomyoError(f"row {i}: channels: {err}", where) from None
    try:
        from somnomyo.interpret.rules import parse_age
    except ImportError:
        return
    for i, age in enumerate(values.get("age", []), start=2):
        try:
            parse_age(age)
        except SomnomyoError as err:
            raise SomnomyoError(f"row {i}: {err.problem}", where) from None


def _resolve(path: str | None, base: Path) -> str | None:
    if path is None:
        return None
    p = Path(os.path.expanduser(path))
    return os.path.abspath(p if p.is_absolute() else base / p)


def read_manifest(path: str | os.PathLike[str]) -> list[Night]:
    """Read a manifest CSV (or ``.tsv``; see the module docstring) into :class:`Night` objects.

    Relative paths resolve against the manifest's folder. Raises :class:`SomnomyoError`
    (one line naming the manifest) when it is unreadable, lacks the ``edf`` column, has an
    empty ``edf`` cell, or has unsafe or duplicate ids.
    """
    path = Path(path)
    if not path.is_file():
        raise SomnomyoError("manifest not found", path)
    try:
        df = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
            sep="\t" if path.suffix.lower() == ".tsv" else ",",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise SomnomyoError(f"not a readable CSV manifest ({' '.join(str(err).split())})", path) from None
    return manifest_nights(df, base=path.parent, source=path)


def manifest_nights(
    df: pd.DataFrame, *, base: str | os.PathLike[str] = ".", source: str | os.PathLike[str] | None = None
) -> list[Night]:
    """Nights from a manifest table already in memory (paths relative to ``base``)."""
    where = source if source is not None else "manifest"
    df = df.rename(columns={c: str(c).strip().lower() for c in df.columns})
    if "edf" not in df.columns:
        have = ", ".join(map(str, df.columns)) or "none"
        raise SomnomyoError(
            f"missing column 'edf' (the recording of each night); columns found: {have}; "
            "expected id, edf, annotations, hypnogram, ...",
            where,
        )
    base_dir = Path(os.path.abspath(base))
    extras = [c for c in df.columns if c not in ("id",) + PATH_COLUMNS]
    values = {c: [_cell(v) for v in df[c]] if c in OPTION_COLUMNS else _extra_values(df[c]) for c in extras}
    _check_options(values, where)
    nights: list[Night] = []
    for i, rec in enumerate(df.to_dict("records"), start=2):  # row 1 is the header
        edf = _cell(rec.get("edf"))
        if edf is None:
            raise SomnomyoError(f"row {i}: empty 'edf' cell", where)
        night_id = _cell(rec.get("id")) or Path(edf).stem
        nights.append(
            Night(
                id=night_id,
                edf=str(_resolve(edf, base_dir)),
                annotations=_resolve(_cell(rec.get("annotations")), base_dir),
                hypnogram=_resolve(_cell(rec.get("hypnogram")), base_dir),
                extra={c: values[c][i - 2] for c in extras},
            )
        )
    if not nights:
        raise SomnomyoError("the manifest lists no nights", where)
    return check_nights(nights, where)


def glob_nights(pattern: str) -> list[Night]:
    """One night per file matching ``pattern`` (``**`` recurses), id = file stem, sorted by path."""
    files = sorted(p for p in glob.glob(os.path.expanduser(pattern), recursive=True) if os.path.isfile(p))
    if not files:
        raise SomnomyoError("no file matches this pattern", pattern)
    return check_nights([Night(id=Path(f).stem, edf=os.path.abspath(f)) for f in files], pattern)


def _is_manifest(path: str) -> bool:
    return path.lower().endswith((".csv", ".tsv")) and os.path.isfile(path)


def resolve_inputs(inputs: str | os.PathLike[str] | pd.DataFrame | Iterable[Any]) -> list[Night]:
    """The nights of ``inputs``, which may be

    * a manifest CSV path,
    * a glob pattern (``"data/*.edf"``, ``"data/**/*.edf"``),
    * a folder (every ``.edf``/``.bdf`` directly in it),
    * one recording path,
    * a manifest :class:`pandas.DataFrame` (relative paths against the current folder),
    * a sequence of recording paths and/or :class:`Night` objects.
    """
    if isinstance(inputs, pd.DataFrame):
        return manifest_nights(inputs, base=os.getcwd())
    if isinstance(inputs, (str, os.PathLike)):
        text = os.fspath(inputs)
        if _is_manifest(text):
            return read_manifest(text)
        if os.path.isdir(text):
            files = sorted(
                str(p) for p in Path(text).iterdir() if p.is_file() and p.suffix.lower() in RECORDING_SUFFIXES
            )
            if not files:
                raise SomnomyoError("no .edf/.bdf recording in this folder", text)
            return check_nights([Night(id=Path(f).stem, edf=os.path.abspath(f)) for f in files], text)
        if _GLOB_CHARS.search(text):
            return glob_nights(text)
        if not os.path.exists(text):
            raise SomnomyoError("no such file, folder or manifest", text)
        return check_nights([Night(id=Path(text).stem, edf=os.path.abspath(text))], text)
    nights: list[Night] = []
    for item in inputs:
        if isinstance(item, Night):
            nights.append(item)
        elif isinstance(item, (str, os.PathLike)):
            nights.append(Night(id=Path(item).stem, edf=os.path.abspath(os.fspath(item))))
        else:
            raise TypeError(f"inputs must be paths or Night objects, got {type(item).__name__}")
    if not nights:
        raise SomnomyoError("no nights given", "inputs")
    return check_nights(nights, "inputs")
