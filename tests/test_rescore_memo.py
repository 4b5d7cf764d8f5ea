"""Rescoring reuses a step's result while everything the step reads is unchanged, and the numbers
are exactly those of scoring the table afresh (a new context, nothing reused)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from registry_helpers import count_step_calls

from somnomyo.events import read_events_tsv
from somnomyo.pipeline import score_night
from somnomyo.rescore import ScoringContext, rescore
from somnomyo.simulate import SimOptions, simulate_night


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("memo")
    night = simulate_night(seed=5, hours=1.0, options=SimOptions().with_(fm_per_min=3.0, plm_series_per_h=4.0))
    result = score_night(night.write(root / "sim")["edf"])
    result.write(root / "results")
    return root / "results"


_counting = count_step_calls


def _json(res) -> str:
    return json.dumps(res.summary(), sort_keys=True, default=str)


def test_rescore_after_an_lm_edit_reuses_the_myoclonus_step_and_equals_scoring_afresh(folder, monkeypatch):
    events = read_events_tsv(folder / "events.tsv")
    context = ScoringContext.from_folder(folder)
    calls = _counting(monkeypatch)
    rescore(events, context)
    assert calls["plm"] == 1 and calls["myoclonus"] == 1
    lm = np.flatnonzero(events["trial_type"].astype(object).to_numpy() == "leg_movement")
    without = events.drop(index=events.index[lm[len(lm) // 2]])
    edited = rescore(without, context)  # one LM rejected
    assert calls["plm"] == 2  # its rows changed: scored again
    assert calls["myoclonus"] == 1  # its rows did not: reused
    assert calls["cortical_state"] == 2  # reads what the steps before it scored: scored again
    fresh = rescore(without, ScoringContext.from_folder(folder))
    assert _json(edited) == _json(fresh)
    assert edited.events.equals(fresh.events)
    assert edited.summary()["plm"]["lm_count"] == fresh.summary()["plm"]["lm_count"]


def test_rescore_after_an_fm_edit_scores_the_myoclonus_rows_again_and_reuses_plm(folder, monkeypatch):
    events = read_events_tsv(folder / "events.tsv")
    context = ScoringContext.from_folder(folder)
    calls = _counting(monkeypatch)
    before = rescore(events, context)
    fm = np.flatnonzero(events["trial_type"].astype(object).to_numpy() == "fragmentary_myoclonus")
    assert fm.size > 10
    without = events.drop(index=events.index[fm[:5]])
    edited = rescore(without, context)
    assert calls["plm"] == 1 and calls["myoclonus"] == 2
    fresh = rescore(without, ScoringContext.from_folder(folder))
    assert _json(edited) == _json(fresh)
    fm_before = before.summary()["fragmentary_myoclonus"]["count"]
    assert 0 < fm_before - edited.summary()["fragmentary_myoclonus"]["count"] <= 5  # the rejected ones, in NREM
