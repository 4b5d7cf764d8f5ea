"""Shared by the benchmark scripts: replace one ``## Heading`` section of RESULTS.md, keep the others."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def update_section(heading: str, section: str, results: Path = RESULTS) -> None:
    """Replace the section that starts with ``heading`` (e.g. ``"## Cohort"``) by ``section``,
    or append it; written atomically."""
    from somnomyo.io.atomic import write_text_atomic

    text = results.read_text(encoding="utf-8") if results.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(heading)}\s*$.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.rstrip("\n") + "\n\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    write_text_atomic(results, text.rstrip("\n") + "\n")
