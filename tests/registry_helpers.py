"""Helpers for tests of rescoring: count the calls of each registry step."""

from __future__ import annotations

import dataclasses

import pytest

from somnomyo import registry


def count_step_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count the calls of each registry step's ``from_events`` (the registry patched for the test)."""
    calls = {d.name: 0 for d in registry.DETECTORS}
    counted_entries = []
    for d in registry.DETECTORS:

        def counted(events, context, earlier, _f=d.from_events, _n=d.name):
            calls[_n] += 1
            return _f(events, context, earlier)

        counted_entries.append(dataclasses.replace(d, from_events=counted))
    monkeypatch.setattr(registry, "DETECTORS", tuple(counted_entries))
    return calls
