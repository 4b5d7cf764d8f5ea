"""One way to declare a settings field with its source (used by every settings dataclass)."""
from __future__ import annotations

from dataclasses import field
from typing import Any


def param(default: Any, source: str, *, unit: str = "", unconfirmed: bool = False) -> Any:
    """A dataclass field whose metadata names its ``source``, ``unit`` and whether the value is
    ``unconfirmed`` (see shared/docs/clinical_rules.md)."""
    return field(default=default, metadata={"source": source, "unit": unit, "unconfirmed": unconfirmed})
