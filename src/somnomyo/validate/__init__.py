"""Agreement of somnomyo's detections with a reference scoring (``somnomyo validate``).

Per night (:func:`validate_night`) and across nights (:func:`validate_nights`,
:func:`validate_manifest`): event agreement per kind, leg and stage under a one-to-one
matching rule (:func:`match_events`, :class:`MatchRule`), index agreement (Bland-Altman,
ICC(2,1), correlations, PLMS category kappa; :mod:`somnomyo.validate.stats`), written as
agreement.tsv, pairs.tsv, indices.tsv, summary.json and validation.html. Reference labels are
read through a documented, overridable table (:mod:`somnomyo.validate.labels`). See
docs/validation.md.
"""

from __future__ import annotations

from somnomyo.validate.labels import DEFAULT_RULES, LabelRule, LabelTable
from somnomyo.validate.match import MatchRule, match_events, summarize_pairs
from somnomyo.validate.reference import Scoring, align, read_scoring
from somnomyo.validate.run import (
    NightValidation,
    Validation,
    index_value,
    validate_manifest,
    validate_night,
    validate_nights,
)
from somnomyo.validate.settings import ValidateSettings

__all__ = [
    "match_events",
    "summarize_pairs",
    "MatchRule",
    "LabelRule",
    "LabelTable",
    "DEFAULT_RULES",
    "Scoring",
    "read_scoring",
    "align",
    "validate_night",
    "validate_nights",
    "validate_manifest",
    "NightValidation",
    "Validation",
    "ValidateSettings",
    "index_value",
]
