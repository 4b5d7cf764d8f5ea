"""One result shape (``somnomyo.result``), the detector registry (``somnomyo.registry``) and the
interpretation rules' declared inputs."""

from __future__ import annotations

import pandas as pd
import pytest

from somnomyo import registry
from somnomyo.events import TRIAL_TYPES
from somnomyo.interpret.rules import ALL, RULES, Rule, check_rule_inputs, interpret
from somnomyo.io.channels import infer_roles
from somnomyo.pipeline import score_night
from somnomyo.registry import Detector, Scored
from somnomyo.rescore import rescore
from somnomyo.result import STAGE_COLUMNS, Result, check_summary_key, night_summary, summary_keys, undeclared
from somnomyo.simulate import simulate_short


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    night = simulate_short(seed=4, minutes=12)
    paths = night.write(tmp_path_factory.mktemp("short"))
    return paths["edf"], score_night(paths["edf"])


def _results(result):
    myo = result.results["myoclonus"]
    return [
        result.results["plm"],
        myo,
        myo.fragmentary,
        myo.jerks,
        myo.hypnic,
        myo.clusters,
        myo.negative,
        myo.rem,
        result.results["cortical"],
        result.results["state"],
    ]


def test_every_result_summary_has_exactly_the_keys_its_block_declares(short):
    _, result = short
    for r in _results(result):
        assert undeclared(r.summary(), type(r).Summary) == [], type(r).__name__
        if r.BLOCK:
            assert list(r.summary()) == list(summary_keys(type(r).Summary))
    assert undeclared(result.summary(), night_summary()) == []


def test_a_summary_with_a_missing_or_extra_key_is_reported():
    from somnomyo.detect.hypnic import HypnicSummary

    block = HypnicSummary
    value = {k: None for k in summary_keys(block)}
    value.pop("count")
    value["cuont"] = 1
    assert undeclared(value, block) == ["-count", "+cuont"]


def test_every_result_is_a_result_with_events_and_a_per_stage_summary(short):
    _, result = short
    for r in _results(result):
        assert isinstance(r, Result)
        table = r.summary(grp_stage=True)
        assert list(table.columns) == list(STAGE_COLUMNS)
        assert int(table["count"].sum()) == len(r.events), type(r).__name__
    fm = result.results["myoclonus"].fragmentary
    assert set(fm.summary(grp_stage=True).index) == set(fm.events["stage"].astype(str))


def test_registry_families_are_the_cli_detectors_and_cover_every_event_kind():
    from somnomyo.cli import _detectors
    from somnomyo.errors import SomnomyoError

    assert registry.FAMILIES == _detectors(None) == ("plm", "myoclonus")
    assert _detectors("myoclonus") == ("myoclonus",)
    with pytest.raises(SomnomyoError, match="allowed: plm, myoclonus"):
        _detectors("plm,jerks")
    assert sorted(registry.trial_types()) == sorted(TRIAL_TYPES)
    declared = summary_keys(night_summary())
    for entry in registry.DETECTORS:
        assert set(entry.blocks) <= set(declared), entry.name
    with pytest.raises(ValueError, match="'plm', 'myoclonus'"):
        registry.for_families(["plm", "jerks"])


def test_each_registry_entry_writes_the_blocks_it_declares(short):
    _, result = short
    declared = [b for entry in registry.DETECTORS for b in entry.blocks]
    assert list(result.blocks) == declared + ["subject", "interpretation"]
    again = rescore(result.events, result.context())
    assert list(again.blocks) == declared + ["subject", "interpretation"]


def test_a_new_detector_is_one_registry_entry_run_by_score_and_rescore(short, monkeypatch):
    edf, _ = short
    calls = []

    def run(night):
        calls.append("run")
        return Scored(blocks={}, context={"n_before": len(night.events)})

    def from_events(events, context, earlier):
        calls.append("from_events")
        assert context.step("toy") == {"n_before": len(earlier)}
        return Scored(blocks={})

    toy = Detector(
        name="toy", family="myoclonus", roles=("chin",), trial_types=(), blocks=(), run=run, from_events=from_events
    )
    monkeypatch.setattr(registry, "DETECTORS", registry.DETECTORS + (toy,))
    result = score_night(edf)
    rescore(result.events, result.context())
    assert calls == ["run", "from_events"]


def test_channels_read_follow_the_roles_the_entries_name():
    roles = infer_roles(["Leg L", "Leg R", "Chin", "C3-M2", "F4-M1", "ECG", "Position"])
    plm_only = registry.labels_to_read(registry.for_families(["plm"]), roles, auto_staging=False)
    assert plm_only == ["Leg L", "Leg R", "ECG"]
    every = registry.labels_to_read(registry.for_families(["plm", "myoclonus"]), roles, auto_staging=False)
    assert every == ["Leg L", "Leg R", "Chin", "ECG", "Position", "C3-M2"]


def test_interpretation_rule_with_a_misspelt_input_fails_the_check():
    check_rule_inputs(RULES)
    bad = Rule("typo", "test", ("plm.plms_idx",), ALL, lambda ctx: None)
    with pytest.raises(ValueError, match="rule 'typo'.*plms_idx"):
        check_rule_inputs((bad,))
    with pytest.raises(ValueError, match="holds no keys"):
        check_summary_key("plm.plms_index.value")
    check_summary_key("state.waking.stops_on_waking")


def test_interpretation_rule_reading_a_key_it_does_not_declare_fails(monkeypatch):
    import somnomyo.interpret.rules as rules

    sneaky = Rule("sneaky", "test", ("plm.plms_index",), ALL, lambda ctx: ctx.get("plm.plmw_index"))
    monkeypatch.setattr(rules, "RULES", (sneaky,))
    with pytest.raises(KeyError, match="plm.plmw_index"):
        interpret({"plm": {"plms_index": 20.0, "plmw_index": 3.0}})


def test_channel_roles_move_sets_a_channel_aside_under_another_role():
    roles = infer_roles(["Leg L", "Leg R", "Chin"])
    roles.move("Chin", "other")
    assert roles.all("chin") == [] and roles.all("other") == ["Chin"] and roles.role_of["Chin"] == "other"
    with pytest.raises(ValueError, match="unknown channel role"):
        roles.move("Leg L", "elbow")


def test_state_result_keeps_its_events_and_cortical_its_jerks(short):
    _, result = short
    state, cortical = result.results["state"], result.results["cortical"]
    assert len(state.events) == len(result.events)
    assert set(cortical.events["trial_type"].astype(str)) <= {"myoclonic_jerk"}
    assert isinstance(cortical.events, pd.DataFrame)
