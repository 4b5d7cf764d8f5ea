"""One shape for every detection result, and the declared keys of summary.json.

Every result (``PLMResult``, ``FragmentaryResult``, ``JerkResult``, ``HypnicResult``,
``ClusterResult``, ``NegativeResult``, ``RemEmgResult``, ``CorticalResult``, ``StateResult``,
``MyoclonusResult``) derives from :class:`Result`, the shape YASA's detection results share:

* ``.events``: its events in the BIDS-shaped event table (:mod:`somnomyo.events`);
* ``.summary()``: its summary.json block, a ``TypedDict`` declared once beside the result
  (``Result.Summary``) - ``summary(grp_stage=True)``: its events counted per sleep stage;
* ``.plot_*()``: its figures (matplotlib, optional extra ``plot``).

:class:`NightSummary` declares summary.json itself; :func:`check_summary_key` checks a dotted key
(``"plm.plms_index"``) against the declarations - the interpretation rules name their inputs that
way and are checked when :mod:`somnomyo.interpret.rules` is imported.
"""

from __future__ import annotations

import types
import typing
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from somnomyo.detect.clusters import ClusterSummary
    from somnomyo.detect.fragmentary import FragmentarySummary
    from somnomyo.detect.hypnic import HypnicSummary
    from somnomyo.detect.jerks import JerkSummary
    from somnomyo.detect.negative import NegativeSummary
    from somnomyo.detect.rem_phasic import RemEmgSummary
    from somnomyo.interpret.cortical import CorticalSummary
    from somnomyo.interpret.state import StateSummary
    from somnomyo.score.indices import PLMSummary

#: stages of the per-stage table, in report order
STAGE_ORDER = ("W", "N1", "N2", "N3", "R", "UNS")
STAGE_COLUMNS = ("count", "mean_duration_s", "mean_amplitude_uv")


class Result:
    """Base of every detection result (module docstring). A subclass sets ``BLOCK`` (its block of
    summary.json, empty for a result holding several) and ``Summary`` (the ``TypedDict`` of that
    block) and implements :meth:`summary_block`."""

    BLOCK: ClassVar[str] = ""
    Summary: ClassVar[Any] = dict
    events: pd.DataFrame

    def summary_block(self) -> Any:
        """The summary block (keys as declared by ``Summary``)."""
        raise NotImplementedError

    def summary(self, *, grp_stage: bool = False) -> Any:
        """The summary.json block of this result; ``grp_stage=True``: its events per sleep stage
        (:func:`events_by_stage`)."""
        if grp_stage:
            return events_by_stage(self.events)
        return self.summary_block()

    def to_dataframe(self) -> pd.DataFrame:
        """The event table (``self.events``)."""
        return self.events


def events_by_stage(events: pd.DataFrame | None) -> pd.DataFrame:
    """Per sleep stage at onset (W, N1, N2, N3, R, UNS): the number of events, their mean
    duration (s) and mean amplitude (µV); stages without events are left out."""
    cols = list(STAGE_COLUMNS)
    if events is None or len(events) == 0 or "stage" not in events.columns:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="stage"))
    stage = events["stage"].astype("object").where(events["stage"].notna(), "UNS")
    amp = (
        pd.to_numeric(events["amplitude_uv"], errors="coerce")
        if "amplitude_uv" in events.columns
        else pd.Series(float("nan"), index=events.index)
    )
    df = pd.DataFrame(
        {
            "stage": stage.to_numpy(),
            "duration": pd.to_numeric(events["duration"]).to_numpy(dtype=float),
            "amplitude": amp.to_numpy(dtype=float),
        }
    )
    g = df.groupby("stage", sort=False)
    out = pd.DataFrame(
        {"count": g.size(), "mean_duration_s": g["duration"].mean(), "mean_amplitude_uv": g["amplitude"].mean()}
    )
    order = [s for s in STAGE_ORDER if s in out.index] + [s for s in out.index if s not in STAGE_ORDER]
    out = out.loc[order]
    out.index.name = "stage"
    return out


# ------------------------------------------------------------------ summary.json declared
class SubjectSummary(TypedDict):
    """Block ``subject``: the sleeper's age (days, or null) and the population the rules used."""

    age_days: float | None
    population: str


class RecordingSummary(TypedDict):
    """Block ``recording``."""

    path: str
    file_type: str
    start: str | None
    duration_s: float
    gaps: list[list[float]]


class NightSummary(TypedDict, total=False):
    """summary.json (documented key by key in docs/summary.md); the detector blocks are present
    per the detectors run."""

    somnomyo_version: str
    recording: RecordingSummary
    channels: dict[str, Any]
    stages: dict[str, Any]
    annotations: dict[str, Any]
    plm: PLMSummary
    fragmentary_myoclonus: FragmentarySummary
    jerks: JerkSummary
    hypnic_jerks: HypnicSummary
    clusters: ClusterSummary
    negative_myoclonus: NegativeSummary
    rem_emg: RemEmgSummary
    cortical: CorticalSummary
    state: StateSummary
    subject: SubjectSummary
    interpretation: list[dict[str, Any]]
    quality: dict[str, Any]
    settings: dict[str, Any]
    warnings: list[str]


@lru_cache(maxsize=1)
def _blocks_namespace() -> dict[str, Any]:
    """The block ``TypedDict``s, declared beside their results (imported when first needed: the
    result modules import this one)."""
    from somnomyo.detect.clusters import ClusterSummary
    from somnomyo.detect.fragmentary import FragmentarySummary
    from somnomyo.detect.hypnic import HypnicSummary
    from somnomyo.detect.jerks import JerkSummary
    from somnomyo.detect.negative import NegativeSummary
    from somnomyo.detect.rem_phasic import RemEmgSummary
    from somnomyo.interpret.cortical import CorticalSummary
    from somnomyo.interpret.state import StateSummary
    from somnomyo.score.indices import PLMSummary

    return {
        "ClusterSummary": ClusterSummary,
        "FragmentarySummary": FragmentarySummary,
        "HypnicSummary": HypnicSummary,
        "JerkSummary": JerkSummary,
        "NegativeSummary": NegativeSummary,
        "RemEmgSummary": RemEmgSummary,
        "CorticalSummary": CorticalSummary,
        "StateSummary": StateSummary,
        "PLMSummary": PLMSummary,
    }


def _hints(block: Any) -> dict[str, Any]:
    return typing.get_type_hints(block, localns=_blocks_namespace())


def night_summary() -> type[NightSummary]:
    """The ``TypedDict`` of summary.json (:class:`NightSummary`)."""
    return NightSummary


def _is_typeddict(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, dict) and hasattr(t, "__total__")


def summary_keys(block: Any) -> tuple[str, ...]:
    """The declared keys of a summary ``TypedDict``, in declaration order."""
    return tuple(_hints(block))


def _alternatives(t: Any) -> list[Any]:
    if typing.get_origin(t) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(t) if a is not type(None)]
    return [t]


def _allows_any_key(t: Any) -> bool:
    """A value whose keys are data (``dict[str, ...]``, ``Any``), not declared names."""
    return any(a is Any or a is dict or typing.get_origin(a) is dict for a in _alternatives(t))


def _inner_typeddict(t: Any) -> Any:
    return next((a for a in _alternatives(t) if _is_typeddict(a)), None)


def undeclared(value: Any, block: Any, prefix: str = "") -> list[str]:
    """Where the summary ``value`` differs from its ``TypedDict`` ``block`` (recursively): keys
    missing (``-key``) or not declared (``+key``); empty when it matches."""
    if not isinstance(value, dict):
        return []
    hints = _hints(block)
    out = [f"-{prefix}{k}" for k in hints if k not in value and getattr(block, "__total__", True)]
    out += [f"+{prefix}{k}" for k in value if k not in hints]
    for k, t in hints.items():
        inner = _inner_typeddict(t)
        if inner is not None and isinstance(value.get(k), dict):
            out += undeclared(value[k], inner, f"{prefix}{k}.")
    return out


def check_summary_key(key: str) -> None:
    """Raise ``ValueError`` unless the dotted ``key`` (``"plm.plms_index"``,
    ``"state.waking.stops_on_waking"``) is declared in summary.json (:func:`night_summary`)."""
    current: Any = night_summary()
    path: list[str] = []
    for part in key.split("."):
        td = _inner_typeddict(current)
        if td is None:
            if _allows_any_key(current):
                return
            raise ValueError(f"summary key {key!r}: {'.'.join(path)} holds no keys")
        hints = _hints(td)
        if part not in hints:
            where = ".".join(path) or "summary.json"
            raise ValueError(f"unknown summary key {key!r}: {where} has {', '.join(hints)}")
        path.append(part)
        current = hints[part]
