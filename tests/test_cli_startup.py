"""The ``somnomyo`` command starts without the heavy libraries its subcommands may never use:
building the option parser (every subcommand's options, the simulator's included) imports
neither scipy.signal / scipy.stats (seconds of imports, which the simulator needs) nor
matplotlib; ``somnomyo review`` and ``score`` pay for them only where they use them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import somnomyo.simulate as simulate

HEAVY = ("scipy.signal", "scipy.stats", "matplotlib", "somnomyo.simulate.night")


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_building_the_cli_parser_imports_no_scipy_signal_stats_or_matplotlib() -> None:
    loaded = _modules_after("from somnomyo.cli import build_parser\nbuild_parser()")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_simulate_package_names_resolve_on_first_use_and_unknown_names_raise() -> None:
    loaded = _modules_after("import somnomyo.simulate")
    assert "somnomyo.simulate.night" not in loaded
    assert simulate.simulate_night.__name__ == "simulate_night"
    assert simulate.SimOptions().population == "adult"
    assert set(simulate.__all__) <= set(dir(simulate))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        simulate.nope  # noqa: B018
