"""Command-line interface (filled in by the pipeline work)."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("somnomyo: CLI under construction", file=sys.stderr)
    return 0
