"""A finding of the interpretation rules, in plain and clinical wording.

Wording policy: findings describe what was measured and whether it is in a range that
deserves attention; they never state a diagnosis (a diagnosis needs the clinical history
and examination, e.g. ICSD-3 PLMD requires clinical sleep disturbance and the exclusion
of other causes). Every text is checked against :data:`FORBIDDEN_WORDS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

LEVELS = ("info", "note", "review")
FORBIDDEN_WORDS = re.compile(r"diagnos", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    """One interpretation finding.

    ``level``: ``info`` (reassuring or descriptive), ``note`` (worth mentioning),
    ``review`` (warrants review by a clinician). ``text_plain`` is short and for
    families; ``text_clinical`` gives numbers, thresholds and sources; ``evidence``
    holds the numbers used; ``source`` the citation of the rule.
    """

    id: str
    level: str
    text_plain: str
    text_clinical: str
    evidence: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(map(repr, LEVELS))}; got {self.level!r}")
        for name in ("text_plain", "text_clinical"):
            if FORBIDDEN_WORDS.search(getattr(self, name)):
                raise ValueError(f"finding {self.id!r}: {name} must not speak of a diagnosis")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (one entry of the ``interpretation`` block)."""
        return {
            "id": self.id,
            "level": self.level,
            "text_plain": self.text_plain,
            "text_clinical": self.text_clinical,
            "evidence": _plain(self.evidence),
            "source": self.source,
        }


def _plain(x: Any) -> Any:
    """Numpy scalars and containers -> plain JSON types (NaN -> None)."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        try:
            x = x.item()
        except (ValueError, AttributeError):
            return x
    if isinstance(x, float) and x != x:
        return None
    return x


def fmt(x: Any, nd: int = 1) -> str:
    """Number for a sentence: ``12.3``; ``n/a`` for None."""
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    try:
        return f"{float(x):.{nd}f}"
    except (TypeError, ValueError):
        return str(x)
