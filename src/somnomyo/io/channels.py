"""Channel roles: which EDF label is the left leg, the right leg, the chin, ...

:func:`infer_roles` maps every label of a recording to one role from the labels
real polysomnograms use (NSRR, Sleep-EDF, CAP, MASS, clinical systems), lets the
user override any of them (``leg_left="Tib sin"``) and returns a
:class:`ChannelRoles`. Matching ignores case, spaces, underscores and dots; the
reference after ``-``, ``/``, ``:`` or ``Ref`` does not matter (``C3-M2`` is EEG).

WASM 2016 / AASM: leg movements are recorded from the tibialis anterior of each leg
on *separate* channels; a single bipolar channel spanning both legs (``Legs``) is
accepted but discouraged, and gets its own role ``legs``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

from somnomyo._logging import logger
from somnomyo.errors import ChannelError

ROLES: tuple[str, ...] = (
    "leg_left",
    "leg_right",
    "legs",
    "chin",
    "arm_left",
    "arm_right",
    "eeg",
    "eog",
    "ecg",
    "respiratory",
    "position",
    "other_emg",
    "other",
)
# roles that hold at most one channel (the rest are lists)
SINGLE_ROLES: tuple[str, ...] = ("leg_left", "leg_right", "legs", "chin", "arm_left", "arm_right", "ecg", "position")
EMG_ROLES: tuple[str, ...] = ("leg_left", "leg_right", "legs", "chin", "arm_left", "arm_right", "other_emg")

# --------------------------------------------------------------------------- patterns
# All patterns run on the "compact" label: lower case, no spaces, underscores or dots.
_REF = r"(?:(?:[-/:]|ref).*)?"  # any reference part
_PRE = r"(?:emg[-:]?)?"  # optional modality prefix
_POST = r"(?:emg)?"  # optional modality suffix
_L = r"(?:left|lft|lt|l|sin(?:ist(?:ra|er|ro))?|links|li|gauche|izq(?:uierda)?)"
_R = r"(?:right|rght|rt|r|dx|dext(?:ra|er)?|destra|rechts|re|droite?|der(?:echa)?)"
_LEG = r"(?:legs?|plm|tib(?:ialis)?(?:ant(?:erior)?)?|anttib)"  # leg words usable without a side
_LEG_SIDED = rf"(?:{_LEG}|ta|at)"  # "LAT", "RAT", "TA L" need a side
_ARM = (
    r"(?:arms?|fds|fdp|fcr|ecr|edc|fdi|apb|deltoid|delt|biceps|bic|triceps|tric|"
    r"ext(?:ensor)?|flex(?:or)?|forearm|wrist|hand)"
)
_CHIN = r"(?:chin|submental\w*|subm|sub-?ment\w*|ment\w*|mylohyoid)"
_ELEC = (
    r"(?:fpz|fp[12]|af[z\d]+|f[z\d]+|fc[z\d]+|ft\d+|c[z\d]+|cp[z\d]+|tp\d+|t[3-8]|t\d\d|"
    r"p[z\d]+|po[z\d]+|o[z\d]+|a[12]|m[12]|iz)"
)


def _full(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?:{pattern}){_REF}")


# (role, compiled pattern, how) in priority order; how = "full" (re.fullmatch),
# "start" (re.match) or "search" (re.search). The first hit wins.
_RULES: list[tuple[str, re.Pattern[str], str]] = [
    # one bipolar channel over both legs: "LLeg-RLeg", "Leg/L-R", "Legs", "Leg1-Leg2"
    ("legs", re.compile(rf"{_PRE}{_L}-?{_LEG_SIDED}\d*-{_R}-?{_LEG_SIDED}\d*{_POST}"), "full"),
    ("legs", re.compile(rf"{_PRE}{_R}-?{_LEG_SIDED}\d*-{_L}-?{_LEG_SIDED}\d*{_POST}"), "full"),
    ("legs", _full(rf"{_PRE}{_LEG}[-/]?(?:{_L}[-/+]?{_R}|{_R}[-/+]?{_L}|bilat\w*|both){_POST}"), "full"),
    ("legs", re.compile(rf"{_PRE}{_LEG}1-{_LEG}2{_POST}"), "full"),
    # one leg: side before or after the muscle ("L Leg", "LTIB", "LAT", "Leg L", "TibAnt L", "Tibialis anterior sin")
    ("leg_left", _full(rf"{_PRE}{_L}-?{_LEG_SIDED}\d*{_POST}"), "full"),
    ("leg_right", _full(rf"{_PRE}{_R}-?{_LEG_SIDED}\d*{_POST}"), "full"),
    ("leg_left", _full(rf"{_PRE}{_LEG_SIDED}-?{_L}\d*{_POST}"), "full"),
    ("leg_right", _full(rf"{_PRE}{_LEG_SIDED}-?{_R}\d*{_POST}"), "full"),
    # NSRR "Leg 1" / "Leg 2" = left / right
    ("leg_left", _full(rf"{_PRE}{_LEG}-?1{_POST}"), "full"),
    ("leg_right", _full(rf"{_PRE}{_LEG}-?2{_POST}"), "full"),
    ("legs", _full(rf"{_PRE}{_LEG}\d*{_POST}"), "full"),
    # arms
    ("arm_left", _full(rf"{_PRE}{_L}-?{_ARM}\d*{_POST}"), "full"),
    ("arm_right", _full(rf"{_PRE}{_R}-?{_ARM}\d*{_POST}"), "full"),
    ("arm_left", _full(rf"{_PRE}{_ARM}-?{_L}\d*{_POST}"), "full"),
    ("arm_right", _full(rf"{_PRE}{_ARM}-?{_R}\d*{_POST}"), "full"),
    ("other_emg", _full(rf"{_PRE}{_ARM}\d*{_POST}"), "full"),
    # chin: "Chin1-Chin2", "CHIN EMG", "EMG submental", "Ment", and "EMG" alone
    ("chin", _full(rf"{_PRE}(?:{_L}|{_R})?-?{_CHIN}\w*"), "full"),
    ("chin", _full(r"emg\d*"), "full"),
    # ECG, but not "HR" (heart rate)
    ("ecg", re.compile(r"ecg|ekg"), "search"),
    # EOG before EEG ("E1-M2", "LOC", "EOG(L)")
    ("eog", re.compile(r"eog|eye"), "start"),
    ("eog", _full(r"e[12]|loc\d*|roc\d*|[lr]eog\w*|(?:left|right)eye\w*"), "full"),
    # EEG: "EEG ..." or a 10-20 electrode ("C3-M2", "C4:M1", "Fp2-F4", "Cz")
    ("eeg", re.compile(r"eeg"), "start"),
    ("eeg", _full(rf"{_ELEC}{_ELEC}?"), "full"),
    # known non-EMG, non-respiratory channels (types cannot move these)
    (
        "other",
        re.compile(
            r"temp|event|marker|light|lux|battery|status|accel|actig|annot|trigger|"
            r"pleth|sound|audio|heartrate|elevation"
        ),
        "search",
    ),
    ("other", _full(r"hr|pr|pulse\w*|rate|bpm|mic\w*|dc\d*"), "full"),
    # respiratory: airflow, pressure, effort belts, oximetry, snore
    (
        "respiratory",
        re.compile(
            r"resp|flow|nasal|oro|pres|cann|ptaf|thor|thx|chest|abd|spo2|sp02|sao2|"
            r"osat|satur|snor|therm|co2|effort|cpap"
        ),
        "search",
    ),
    ("respiratory", _full(r"rip\w*|sat|sum|ox\w*"), "full"),
    # body position
    ("position", _full(r"(?:body|sleep)?pos(?:ition)?\w*"), "full"),
    # any other EMG or a named muscle
    (
        "other_emg",
        re.compile(
            r"emg|masseter|mass|scm|sternocleido|intercost|paraspin|rectus|quadric|"
            r"hamstring|gastroc|soleus|orbicul|frontalis|temporalis|trapez"
        ),
        "search",
    ),
]
# hints from the EDF "transducer type" (or any type text) when the label says nothing
_TYPE_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("other", re.compile(r"temp|rectal")),
    ("other_emg", re.compile(r"emg")),
    ("eog", re.compile(r"eog")),
    ("eeg", re.compile(r"eeg")),
    ("ecg", re.compile(r"ecg|ekg")),
    ("respiratory", re.compile(r"therm|press|belt|effort|oxim|spo2|resp|flow|cannula|snor|inductance|piezo")),
    ("position", re.compile(r"position")),
]


def _compact(label: str) -> str:
    return re.sub(r"[\s_.]+", "", str(label)).lower()


def role_from_label(label: str) -> str | None:
    """The role a label alone suggests, or ``None`` when the label is not recognized."""
    text = _compact(label)
    if not text:
        return None
    for role, pattern, how in _RULES:
        hit = (
            pattern.fullmatch(text)
            if how == "full"
            else pattern.match(text)
            if how == "start"
            else pattern.search(text)
        )
        if hit:
            return role
    return None


def _role_from_type(text: str) -> str | None:
    t = _compact(text)
    for role, pattern in _TYPE_RULES:
        if t and pattern.search(t):
            return role
    return None


def _demoted(role: str) -> str:
    """Where an extra channel of a single-channel role goes."""
    return "other_emg" if role in EMG_ROLES else "other"


def _channel_list(labels: Sequence[str]) -> str:
    return ", ".join(repr(x) for x in labels) if labels else "(none)"


# --------------------------------------------------------------------------- overrides
def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


def parse_overrides(items: Sequence[str]) -> dict[str, list[str]]:
    """Parse CLI channel overrides ``ROLE=LABEL[,LABEL...]`` into ``{role: [labels]}``.

    Accepts ``leg_left="Tib sin"``, ``leg_left=Tib sin`` and ``eeg=C3-M2,C4-M1``; a label
    holding a comma must be quoted (``eeg="A,B",C3-M2``). Repeating a role adds labels.
    Raises ``ValueError`` for a malformed item or an unknown role (listing the allowed ones).
    """
    if isinstance(items, str):
        items = [items]
    out: dict[str, list[str]] = {}
    for item in items:
        role, sep, value = str(item).partition("=")
        role = _unquote(role).lower()
        if not sep or not role:
            raise ValueError(f'channel override {item!r} must look like ROLE=LABEL, e.g. leg_left="Tib sin"')
        if role not in ROLES:
            raise ValueError(f"unknown channel role {role!r} in {item!r}; allowed roles: {', '.join(ROLES)}")
        value = value.strip()
        parts = next(csv.reader([value], skipinitialspace=True)) if value else []
        labels = [_unquote(p) for p in parts]
        if not labels or any(not x for x in labels):
            raise ValueError(f"channel override {item!r} names an empty channel label")
        out.setdefault(role, []).extend(x for x in labels if x not in out.get(role, []))
    return out


# --------------------------------------------------------------------------- result
@dataclass
class ChannelRoles:
    """The role of every channel of one recording.

    ``by_role`` maps every role in :data:`ROLES` to its labels in file order,
    ``role_of`` maps every label to its role, ``overridden`` holds the labels the user
    placed explicitly.
    """

    by_role: dict[str, list[str]]
    role_of: dict[str, str]
    overridden: set[str] = field(default_factory=set)

    def get(self, role: str) -> str | None:
        """The channel of a single-channel role (``leg_left``, ``chin``, ``ecg``, ...) or ``None``."""
        if role not in SINGLE_ROLES:
            raise ValueError(
                f"get() is for single-channel roles ({', '.join(SINGLE_ROLES)}); use all({role!r}) for {role!r}"
            )
        found = self.by_role.get(role, [])
        return found[0] if found else None

    def all(self, role: str) -> list[str]:
        """Every channel of ``role`` in file order (empty if none)."""
        if role not in ROLES:
            raise ValueError(f"unknown channel role {role!r}; allowed roles: {', '.join(ROLES)}")
        return list(self.by_role.get(role, []))

    def move(self, label: str, role: str) -> None:
        """Give the channel ``label`` the role ``role`` instead of its own (appended to that role's
        channels), e.g. ``other`` for an EMG channel sampled too slowly to be scored as EMG."""
        if role not in ROLES:
            raise ValueError(f"unknown channel role {role!r}; allowed roles: {', '.join(ROLES)}")
        old = self.role_of.get(label)
        if old is None:
            raise ValueError(f"unknown channel {label!r}; the recording has: {', '.join(self.role_of)}")
        if label in self.by_role.get(old, []):
            self.by_role[old].remove(label)
        self.by_role.setdefault(role, []).append(label)
        self.role_of[label] = role

    def require(self, *roles: str, path: str | PathLike[str] | None = None) -> None:
        """Raise :class:`ChannelError` unless every role has a channel.

        A role may be given as alternatives, ``"leg_left|legs"``: any one of them will do.
        """
        missing: list[str] = []
        for spec in roles:
            options = [r.strip() for r in spec.split("|")]
            for r in options:
                if r not in ROLES:
                    raise ValueError(f"unknown channel role {r!r}; allowed roles: {', '.join(ROLES)}")
            if not any(self.by_role.get(r) for r in options):
                missing.append(" or ".join(options))
        if missing:
            labels = list(self.role_of)
            raise ChannelError(
                f"no channel found for role(s) {', '.join(missing)}; the file has channels {_channel_list(labels)}; "
                f"name one with an override such as {missing[0].split(' or ')[0]}=LABEL",
                path,
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form for ``summary.json``: ``{"roles": {role: [labels]}, "overridden": [labels]}``."""
        return {
            "roles": {r: list(self.by_role.get(r, [])) for r in ROLES},
            "overridden": [x for x in self.role_of if x in self.overridden],
        }

    def describe(self) -> str:
        """A readable multi-line mapping, one role a line (empty multi-channel roles left out)."""
        width = max(len(r) for r in ROLES)
        lines = []
        for role in ROLES:
            labels = self.by_role.get(role, [])
            if not labels and role not in ("leg_left", "leg_right", "chin"):
                continue
            shown = ", ".join(f"{x} (set by user)" if x in self.overridden else x for x in labels) or "(none)"
            lines.append(f"{role:<{width}} : {shown}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- inference
def _find_label(wanted: str, labels: Sequence[str]) -> str | None:
    if wanted in labels:
        return wanted
    key = _compact(wanted)
    hits = [x for x in labels if _compact(x) == key]
    return hits[0] if len(hits) == 1 else None


def infer_roles(
    labels: Sequence[str],
    *,
    types: Sequence[str] | None = None,
    overrides: Mapping[str, str | Sequence[str]] | None = None,
    path: str | PathLike[str] | None = None,
) -> ChannelRoles:
    """Assign a role to every channel label.

    Labels decide first; where a label is not recognized, ``types`` (e.g. the EDF
    transducer field, one per label) may place it, else it is ``other``. If two channels
    look like the same single-channel role (``leg_left``, ``chin``, ``ecg``, ...) the first
    keeps it and the rest become ``other_emg`` (``other`` for ``ecg``/``position``), with a
    warning. ``overrides`` (``{role: label or [labels]}``, see :func:`parse_overrides`)
    win over inference; an overridden label leaves any role it was inferred into.

    Raises ``ValueError`` for an unknown role or a mismatched ``types`` length, and
    :class:`ChannelError` (naming ``path``) when an override names a label the file lacks.
    """
    labels = [str(x) for x in labels]
    if types is not None and len(types) != len(labels):
        raise ValueError(f"types must have one entry per label ({len(labels)}), got {len(types)}")

    # 1. overrides: validate first
    forced: dict[str, str] = {}
    for role, value in (overrides or {}).items():
        role = str(role).strip().lower()
        if role not in ROLES:
            raise ValueError(f"unknown channel role {role!r}; allowed roles: {', '.join(ROLES)}")
        wanted = [value] if isinstance(value, str) else list(value)
        if role in SINGLE_ROLES and len(wanted) > 1:
            raise ChannelError(f"role {role} takes one channel, got {len(wanted)}: {_channel_list(wanted)}", path)
        for w in wanted:
            found = _find_label(str(w), labels)
            if found is None:
                raise ChannelError(
                    f"channel override {role}={w!r} names no channel of this file; "
                    f"the file has channels {_channel_list(labels)}",
                    path,
                )
            if found in forced and forced[found] != role:
                raise ChannelError(f"channel {found!r} is overridden to two roles, {forced[found]} and {role}", path)
            forced[found] = role

    # 2. inference from labels, then types
    role_of: dict[str, str] = {}
    for i, label in enumerate(labels):
        guess = role_from_label(label)
        if guess is None and types is not None:
            guess = _role_from_type(types[i])
        role_of[label] = guess or "other"

    # 3. single-channel roles: keep the first inferred channel, demote the rest
    taken = {r for r in forced.values() if r in SINGLE_ROLES}
    for role in SINGLE_ROLES:
        inferred = [x for x in labels if role_of[x] == role and x not in forced]
        keep = [] if role in taken else inferred[:1]
        extra = [x for x in inferred if x not in keep]
        if not extra:
            continue
        for x in extra:
            role_of[x] = _demoted(role)
        if role in taken:
            logger.info(
                "channel %s set to %s by override; %s now treated as %s",
                _channel_list([x for x, r in forced.items() if r == role]),
                role,
                _channel_list(extra),
                _demoted(role),
            )
        else:
            logger.warning(
                "several channels look like %s (%s); using %r, treating %s as %s; override the role to choose another",
                role,
                _channel_list(inferred),
                keep[0],
                _channel_list(extra),
                _demoted(role),
            )

    # 4. apply overrides
    role_of.update(forced)
    by_role: dict[str, list[str]] = {r: [] for r in ROLES}
    for label in labels:
        by_role[role_of[label]].append(label)
    return ChannelRoles(by_role=by_role, role_of=role_of, overridden=set(forced))
