"""Settings of ``somnomyo validate``: the matching rule, the indices compared, the statistics.

Every value names its source (``metadata["source"]``, as in :mod:`somnomyo.settings`);
``ValidateSettings.sources()`` lists them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any, Literal

from somnomyo._param import param as _f
from somnomyo.errors import check_choice

__all__ = ["ValidateSettings", "MATCH_METHODS", "DEFAULT_INDICES", "STAGES_REPORTED"]

MATCH_METHODS = ("iou", "onset")
MatchMethod = Literal["iou", "onset"]
#: summary.json keys compared across nights: (block, key)
DEFAULT_INDICES: tuple[str, ...] = ("plms_index", "plmw_index", "lm_index", "periodicity_index", "fm_index")
#: stages of the per-stage rows (AASM Manual: W, N1, N2, N3, R); "all" is the whole night
STAGES_REPORTED: tuple[str, ...] = ("W", "N1", "N2", "N3", "R")


@dataclass(frozen=True)
class ValidateSettings:
    """How detections are matched to a reference and how agreement is summarized."""

    match_method: MatchMethod = _f(
        "iou",
        "temporal intersection-over-union, the usual criterion of LM-detection papers "
        "(e.g. Carvelli et al. 2020, Sleep Med); 'onset': onset difference within a tolerance",
    )
    min_iou: float = _f(
        0.5, "IoU >= 0.5, the usual LM-detection criterion (Carvelli et al. 2020); as somnomyo.score.agreement"
    )
    onset_tolerance_s: float = _f(
        0.5,
        "implementation: onset rule tolerance; 0.5 s is the time resolution of the WASM 2016 LM rules "
        "(0.5-s offset, 0.5-s bilateral gap)",
        unit="s",
    )
    match_side: bool = _f(True, "WASM 2016: LMs are scored per leg; a left LM matches only a left LM")
    match_channel_kinds: tuple[str, ...] = _f(
        ("fragmentary_myoclonus",),
        "AASM EFM: fragmentary myoclonus potentials are scored per EMG channel; "
        "they match only on the same channel (when both sides name channels)",
    )
    indices: tuple[str, ...] = _f(
        DEFAULT_INDICES, "implementation: the indices validation studies report (summary.json keys, docs/summary.md)"
    )
    plms_category_threshold: float = _f(
        15.0, "ICSD-3 PLMD adult criterion: PLMS index 15/h; categories < 15 vs >= 15 /h", unit="/h"
    )
    loa_z: float = _f(1.96, "Bland & Altman 1986 (Lancet): 95 % limits of agreement = bias +/- 1.96 SD")
    ci_level: float = _f(0.95, "McGraw & Wong 1996: 95 % confidence interval of the ICC")

    def __post_init__(self) -> None:
        check_choice("match_method", self.match_method, MATCH_METHODS)
        if not 0.0 < self.min_iou <= 1.0:
            raise ValueError(f"min_iou must be in (0, 1]; got {self.min_iou!r}")
        if not self.onset_tolerance_s >= 0.0:
            raise ValueError(f"onset_tolerance_s must be >= 0; got {self.onset_tolerance_s!r}")
        if not 0.0 < self.ci_level < 1.0:
            raise ValueError(f"ci_level must be in (0, 1); got {self.ci_level!r}")

    def replace(self, **changes: Any) -> ValidateSettings:
        """A copy with ``changes`` (names listed in the error when unknown)."""
        names = [f.name for f in fields(self)]
        bad = [k for k in changes if k not in names]
        if bad:
            raise ValueError(f"unknown validate setting(s) {', '.join(bad)}; allowed: {', '.join(names)}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self)}

    def sources(self) -> list[dict[str, Any]]:
        return [
            {
                "name": f.name,
                "value": getattr(self, f.name),
                "unit": f.metadata.get("unit", ""),
                "source": f.metadata.get("source", ""),
            }
            for f in fields(self)
        ]
