"""Which reference label counts as which kind of event: the table of label spellings.

A reference scoring (an NSRR XML, an EDF+ annotation file, a CSV/TSV table) names its events
in its own words. :data:`DEFAULT_RULES` maps the spellings met in NSRR cohorts, clinical
exports and somnomyo's own exports (:mod:`somnomyo.report.exports`: ``Limb Movement (Left)``,
``Periodic leg movement - left|PLM (Left)``, ``Fragmentary myoclonus``, ...) to

* ``trial_type``: a :data:`somnomyo.events.TRIAL_TYPES` name (``leg_movement``, ...), or
  ``ignore`` for a label that is read and deliberately set aside (listed as ignored);
* ``side``: ``left``, ``right`` or ``both`` (one bipolar legs channel); empty = taken from the
  event's channel (``Leg L`` -> left, by :func:`somnomyo.io.channels.infer_roles`);
* ``periodic``: ``true`` for a label that marks a periodic LM (a PLM), ``false`` for one that
  says "not periodic", empty when the label says nothing about periodicity.

Labels are compared case-insensitively, with underscores read as spaces and runs of spaces
collapsed; an ``"A|B"`` NSRR concept matches when ``A|B``, ``A`` or ``B`` is in the table; an
EDF+ ``"label@@channel"`` text is split first. A label not in the table is *unknown*: it is
listed (count per label) in every output, never silently dropped, and can be added with a
table file (``somnomyo validate --labels FILE``; :meth:`LabelTable.from_file`): a CSV or TSV
with the columns ``label, trial_type, side, periodic`` whose rows add to, or replace, the
default rows of the same spelling.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from somnomyo.errors import SomnomyoError
from somnomyo.events import TRIAL_TYPES
from somnomyo.io.labels import split_channel

__all__ = ["LabelRule", "LabelTable", "DEFAULT_RULES", "IGNORE", "SIDES", "label_key", "default_table"]

IGNORE = "ignore"
SIDES = ("left", "right", "both")
Side = Literal["left", "right", "both"]
TABLE_COLUMNS = ("label", "trial_type", "side", "periodic")


@dataclass(frozen=True)
class LabelRule:
    """One spelling: what a reference event with this label is."""

    label: str
    trial_type: str
    side: Side | None = None
    periodic: bool | None = None

    def to_dict(self) -> dict[str, str | bool | None]:
        return {"label": self.label, "trial_type": self.trial_type, "side": self.side, "periodic": self.periodic}


def label_key(text: str) -> str:
    """The comparison form of a label: lower case, ``_`` as space, spaces collapsed."""
    return " ".join(str(text).replace("_", " ").lower().split())


def _lm(label: str, side: Side | None = None, periodic: bool | None = None) -> LabelRule:
    return LabelRule(label, "leg_movement", side, periodic)


def _sided(stems: Iterable[str], periodic: bool | None, forms: tuple[str, ...]) -> list[LabelRule]:
    """Each stem with no side and in each side form (``{s}`` = Left, ``{l}`` = left)."""
    out: list[LabelRule] = []
    for stem in stems:
        out.append(_lm(stem, None, periodic))
        for side in ("left", "right"):
            for form in forms:
                out.append(_lm(form.format(stem=stem, s=side.capitalize(), l=side), side, periodic))
    return out


_SIDE_FORMS = ("{stem} ({s})", "{stem} - {l}", "{stem} {l}", "{l} {stem}", "{stem}, {l}", "{stem} ({l} leg)")

#: the default table (see the module docstring); ``docs/validation.md`` lists it
DEFAULT_RULES: tuple[LabelRule, ...] = tuple(
    _sided(("Limb Movement", "Leg Movement", "LM", "Limb movement event", "LMS", "LMW"), None, _SIDE_FORMS)
    + _sided(
        (
            "PLM",
            "Periodic leg movement",
            "Periodic limb movement",
            "PLMS",
            "PLMW",
            "PLM event",
            "Periodic Limb Movement Event",
        ),
        True,
        _SIDE_FORMS,
    )
    + [
        _lm("Leg movement left leg", "left"),
        _lm("Leg movement right leg", "right"),
        _lm("Isolated leg movement", None, False),
        _lm("Isolated limb movement", None, False),
        _lm("Non-periodic leg movement", None, False),
        _lm("Bilateral leg movement", "both"),
        LabelRule("Fragmentary myoclonus", "fragmentary_myoclonus"),
        LabelRule("FM", "fragmentary_myoclonus"),
        LabelRule("Fragmentary myoclonus potential", "fragmentary_myoclonus"),
        LabelRule("Myoclonic jerk", "myoclonic_jerk"),
        LabelRule("Hypnic jerk", "hypnic_jerk"),
        LabelRule("Sleep start", "hypnic_jerk"),
        LabelRule("Jerk cluster", "jerk_cluster"),
        LabelRule("Negative myoclonus", "negative_myoclonus"),
        LabelRule("Phasic EMG", "phasic_emg"),
        LabelRule("Phasic EMG activity", "phasic_emg"),
    ]
)


class LabelTable:
    """Label spellings -> :class:`LabelRule`; later rules replace earlier ones of the same spelling."""

    def __init__(self, rules: Iterable[LabelRule]) -> None:
        self._rules: dict[str, LabelRule] = {}
        for r in rules:
            self._rules[label_key(r.label)] = r

    def __iter__(self) -> Iterator[LabelRule]:
        return iter(self._rules.values())

    def __len__(self) -> int:
        return len(self._rules)

    def lookup(self, text: str) -> LabelRule | None:
        """The rule for ``text`` (``"A|B"``: ``A|B``, then ``A``, then ``B``), or None if unknown."""
        label, _ = split_channel(text)
        key = label_key(label)
        if key in self._rules:
            return self._rules[key]
        if "|" in key:
            for part in key.split("|"):
                part = part.strip()
                if part in self._rules:
                    return self._rules[part]
        return None

    def with_rules(self, rules: Iterable[LabelRule]) -> LabelTable:
        """A copy with ``rules`` added (replacing rows of the same spelling)."""
        return LabelTable([*self, *rules])

    @classmethod
    def default(cls) -> LabelTable:
        """The documented default table (:data:`DEFAULT_RULES`)."""
        return cls(DEFAULT_RULES)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, base: LabelTable | None = None) -> LabelTable:
        """``base`` (default: the default table) with the rows of a CSV/TSV label file added.

        Columns ``label, trial_type`` (required), ``side``, ``periodic`` (optional); ``#`` starts
        a comment line. ``trial_type`` is a ``somnomyo.events.TRIAL_TYPES`` name or ``ignore``.
        """
        path = Path(path)
        return (base or cls.default()).with_rules(read_label_rules(path))

    def to_rows(self) -> list[dict[str, str | bool | None]]:
        return [r.to_dict() for r in self]


def default_table() -> LabelTable:
    """The default table (:data:`DEFAULT_RULES`)."""
    return LabelTable.default()


def _bool_cell(text: str, line: int, path: Path) -> bool | None:
    t = text.strip().lower()
    if t in ("", "n/a", "none"):
        return None
    if t in ("true", "yes", "1"):
        return True
    if t in ("false", "no", "0"):
        return False
    raise SomnomyoError(f"line {line}: periodic {text!r} must be true, false or empty", path)


def read_label_rules(path: Path) -> list[LabelRule]:
    """The rows of a label table file (see :meth:`LabelTable.from_file`)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SomnomyoError("label table not found", path) from None
    except (OSError, UnicodeDecodeError) as err:
        raise SomnomyoError(f"cannot read the label table: {err}", path) from None
    lines = [
        (i, ln) for i, ln in enumerate(text.splitlines(), start=1) if ln.strip() and not ln.lstrip().startswith("#")
    ]
    if not lines:
        raise SomnomyoError("empty label table; expected columns " + ", ".join(TABLE_COLUMNS), path)
    delim = "\t" if "\t" in lines[0][1] else ","
    rows = list(csv.reader(io.StringIO("\n".join(ln for _, ln in lines)), delimiter=delim))
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in ("label", "trial_type") if c not in header]
    if missing:
        raise SomnomyoError(
            f"label table needs the columns {', '.join(TABLE_COLUMNS[:2])} "
            f"(optional: side, periodic); found {', '.join(header) or 'none'}",
            path,
        )
    unknown = [h for h in header if h not in TABLE_COLUMNS]
    if unknown:
        raise SomnomyoError(
            f"unknown column(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(TABLE_COLUMNS)}", path
        )
    allowed_types = (*TRIAL_TYPES, IGNORE)
    out: list[LabelRule] = []
    for (line, _), row in zip(lines[1:], rows[1:]):
        cells = dict(zip(header, (c.strip() for c in row)))
        label, tt = cells.get("label", ""), cells.get("trial_type", "")
        if not label:
            raise SomnomyoError(f"line {line}: empty label", path)
        if tt not in allowed_types:
            raise SomnomyoError(f"line {line}: trial_type {tt!r} must be one of {', '.join(allowed_types)}", path)
        side = cells.get("side", "").lower()
        if side in ("n/a", "none"):
            side = ""
        if side and side not in SIDES:
            raise SomnomyoError(f"line {line}: side {side!r} must be one of {', '.join(SIDES)} or empty", path)
        out.append(LabelRule(label, tt, side or None, _bool_cell(cells.get("periodic", ""), line, path)))  # type: ignore[arg-type]
    return out
