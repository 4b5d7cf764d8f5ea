import dataclasses
import json

import pytest

from somnomyo.settings import STANDARDS, Settings, get_settings


def test_wasm2016_defaults_match_the_standard():
    s = get_settings("wasm2016")
    assert s.lm.onset_above_baseline_uv == 8.0
    assert s.lm.offset_above_baseline_uv == 2.0
    assert s.lm.offset_quiet_s == 0.5
    assert s.lm.min_duration_s == 0.5
    assert s.lm.max_duration_s is None
    assert s.clm.bilateral_rule == "gap" and s.clm.bilateral_gap_s == 0.5
    assert (s.clm.mono_max_s, s.clm.bi_max_s, s.clm.bi_max_lms) == (10.0, 15.0, 4)
    assert (s.plm.imi_min_s, s.plm.imi_max_s, s.plm.min_series) == (10.0, 90.0, 4)
    assert (s.respiratory.anchor, s.respiratory.before_s, s.respiratory.after_s) == ("end", 2.0, 10.25)
    assert s.arousal.max_gap_s == 0.5


def test_aasm_defaults_match_the_standard():
    s = get_settings("aasm")
    assert s.lm.max_duration_s == 10.0
    assert s.clm.bilateral_rule == "onset" and s.clm.bilateral_onset_s == 5.0
    assert s.plm.imi_min_s == 5.0
    assert (s.respiratory.anchor, s.respiratory.before_s, s.respiratory.after_s) == ("event", 0.5, 0.5)


def test_every_parameter_names_its_source():
    for standard in STANDARDS:
        rows = get_settings(standard).sources()
        assert rows and all(r["source"] for r in rows), [r for r in rows if not r["source"]]


def test_unknown_standard_error_lists_allowed_values():
    with pytest.raises(ValueError, match="wasm2016.*aasm"):
        get_settings("rk1968")


def test_settings_to_dict_is_json_serializable():
    json.dumps(get_settings("aasm").to_dict())


def test_with_overrides_changes_one_value_and_rejects_unknown_names():
    s = get_settings().with_overrides(plm={"imi_min_s": 5.0})
    assert s.plm.imi_min_s == 5.0 and s.plm.imi_max_s == 90.0
    with pytest.raises(ValueError, match="allowed"):
        get_settings().with_overrides(plm={"imi_minimum": 5.0})
    with pytest.raises(ValueError, match="allowed"):
        get_settings().with_overrides(nonsense={"x": 1})


def test_quality_thresholds_are_a_settings_group_in_both_presets():
    from somnomyo.settings_quality import QualitySettings
    from somnomyo.signal.quality import QualitySettings as reexported

    assert reexported is QualitySettings
    names = [f.name for f in dataclasses.fields(QualitySettings)]
    for standard in STANDARDS:
        s = get_settings(standard)
        assert s.quality == QualitySettings()
        rows = [r for r in s.sources() if r["group"] == "quality"]
        assert [r["name"] for r in rows] == names
        assert all(r["source"] and r["unconfirmed"] for r in rows)  # implementation choices, not standards
        d = json.loads(json.dumps(s.to_dict()))
        assert d["quality"]["flat_std_uv"] == 0.05 and d["quality"]["mains_hz"] == [50.0, 60.0]


def test_with_overrides_changes_one_quality_threshold_and_rejects_unknown_names():
    s = get_settings("aasm").with_overrides(quality={"flat_std_uv": 0.2, "mains_unscorable": True})
    assert (s.quality.flat_std_uv, s.quality.mains_unscorable, s.quality.clip_fraction) == (0.2, True, 0.01)
    assert s.standard == "aasm" and s.clm.bilateral_rule == "onset"  # the rest of the preset kept
    with pytest.raises(ValueError, match="allowed: .*flat_std_uv"):
        get_settings().with_overrides(quality={"flat_sd_uv": 0.2})


@pytest.mark.parametrize("standard", STANDARDS)
def test_settings_to_dict_round_trips_through_with_overrides(standard):
    s = get_settings(standard).with_overrides(quality={"flat_std_uv": 0.125})
    d = s.to_dict()
    groups = {k: v for k, v in d.items() if k != "standard"}
    rebuilt = dataclasses.replace(Settings().with_overrides(**groups), standard=d["standard"])
    assert rebuilt.to_dict() == d
    assert rebuilt.quality.flat_std_uv == 0.125


# --------------------------------------------------------------------------- one settings tree


def test_every_settings_group_hangs_off_settings_and_is_listed_by_sources_and_to_dict():
    from somnomyo.settings_interpret import InterpretSettings
    from somnomyo.settings_myoclonus import MyoclonusSettings
    from somnomyo.settings_quality import QualitySettings
    from somnomyo.settings_staging import AutoStagingSettings, EmgWakeSettings

    s = get_settings()
    groups = {
        "myoclonus": MyoclonusSettings,
        "interpret": InterpretSettings,
        "quality": QualitySettings,
        "staging": AutoStagingSettings,
        "emg_wake": EmgWakeSettings,
    }
    rows = s.sources()
    d = json.loads(json.dumps(s.to_dict()))
    for group, cls in groups.items():
        assert isinstance(getattr(s, group), cls)
        names = [f.name for f in dataclasses.fields(cls)]
        assert [r["name"] for r in rows if r["group"] == group] == names
        assert list(d[group]) == names
    assert d["staging"]["epoch_s"] == 30.0 and d["emg_wake"]["wake_active_fraction"] == 0.5
    assert d["staging"]["eeg_preferred"] == ["C4-M1", "C3-M2", "C4-A1", "C3-A2"]


def test_existing_import_paths_give_the_same_settings_classes():
    from somnomyo.interpret import InterpretSettings as from_package
    from somnomyo.interpret.settings import POPULATIONS, InterpretSettings
    from somnomyo.settings_interpret import InterpretSettings as moved
    from somnomyo.settings_staging import AutoStagingSettings, EmgWakeSettings
    from somnomyo.stage import AutoStagingSettings as stage_auto_settings
    from somnomyo.stage import EmgWakeSettings as stage_emg_settings
    from somnomyo.stage.auto import AutoStagingSettings as auto_module
    from somnomyo.stage.emg_wake import EmgWakeSettings as emg_module

    assert InterpretSettings is moved is from_package and POPULATIONS == ("adult", "child", "infant")
    assert AutoStagingSettings is stage_auto_settings is auto_module
    assert EmgWakeSettings is stage_emg_settings is emg_module


def test_settings_import_neither_the_interpretation_layer_nor_staging():
    import subprocess
    import sys

    code = (
        "import sys, somnomyo.settings; "
        "print(sorted(m for m in sys.modules if m.startswith(('somnomyo.interpret', 'somnomyo.stage'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_options_with_a_fixed_set_of_values_are_literal_types():
    from somnomyo._param import choice_fields
    from somnomyo.settings import CLMSettings, IndexSettings, RespiratorySettings
    from somnomyo.settings_myoclonus import MyoclonusSettings

    found = {
        (cls.__name__, name): allowed
        for cls in (Settings, CLMSettings, RespiratorySettings, IndexSettings, MyoclonusSettings)
        for name, allowed, _ in choice_fields(cls)
    }
    assert found == {
        ("Settings", "standard"): ("wasm2016", "aasm"),
        ("CLMSettings", "bilateral_rule"): ("gap", "onset"),
        ("RespiratorySettings", "anchor"): ("end", "event"),
        ("IndexSettings", "plmw_denominator"): ("waso", "wake"),
        ("MyoclonusSettings", "fm_definition"): ("aasm", "research"),
        ("MyoclonusSettings", "fm_efm_mode"): ("cumulative", "contiguous"),
        ("MyoclonusSettings", "cluster_mode"): ("myoclonic", "spasm"),
        ("MyoclonusSettings", "hypnic_stages"): ("W", "N1", "N2", "N3", "R"),
        ("MyoclonusSettings", "nm_stages"): ("W", "N1", "N2", "N3", "R"),
    }


def test_scored_stage_choices_are_hypnogram_stages():
    from somnomyo.io.annotations import STAGES
    from somnomyo.settings_myoclonus import SCORED_STAGES

    assert set(SCORED_STAGES) == set(STAGES) - {"UNS"}


@pytest.mark.parametrize(
    "group, name, bad, allowed",
    [
        ("clm", "bilateral_rule", "both", "'gap', 'onset'"),
        ("respiratory", "anchor", "onset", "'end', 'event'"),
        ("indices", "plmw_denominator", "tib", "'waso', 'wake'"),
        ("myoclonus", "fm_definition", "lins", "'aasm', 'research'"),
        ("myoclonus", "fm_efm_mode", "consecutive", "'cumulative', 'contiguous'"),
        ("myoclonus", "cluster_mode", "bursts", "'myoclonic', 'spasm'"),
        ("myoclonus", "hypnic_stages", ("W", "S1"), "'W', 'N1', 'N2', 'N3', 'R'"),
    ],
)
def test_a_choice_outside_its_literal_is_refused_when_built_listing_the_allowed_values(group, name, bad, allowed):
    s = get_settings("aasm")
    with pytest.raises(ValueError, match=f"^{name} must be one of {allowed}; got"):
        dataclasses.replace(getattr(s, group), **{name: bad})
    with pytest.raises(ValueError, match=f"^{name} must be one of {allowed}"):
        s.with_overrides(**{group: {name: bad}})


def test_a_bad_standard_is_refused_when_settings_are_built():
    with pytest.raises(ValueError, match="^standard must be one of 'wasm2016', 'aasm'; got 'rk1968'"):
        dataclasses.replace(get_settings(), standard="rk1968")


def test_allowed_choices_are_accepted_and_kept():
    s = get_settings().with_overrides(
        clm={"bilateral_rule": "onset"}, myoclonus={"cluster_mode": "spasm", "nm_stages": ("W", "N1", "N2")}
    )
    assert (s.clm.bilateral_rule, s.myoclonus.cluster_mode, s.myoclonus.nm_stages) == (
        "onset",
        "spasm",
        ("W", "N1", "N2"),
    )


def test_automatic_staging_reads_its_parameters_from_settings_staging_and_emg_wake():
    from test_stage_auto import emg_night

    from somnomyo.stage import stage_auto

    rec, roles = emg_night()  # epoch 5: chin active 16 of 30 s
    assert stage_auto(rec, roles, settings=get_settings()).stages[5] == "W"
    stricter = get_settings().with_overrides(emg_wake={"wake_active_fraction": 0.6})
    assert stage_auto(rec, roles, settings=stricter).stages[5] == "N2"
    with pytest.raises(ValueError, match="epoch_s must be one of 20.0"):
        stage_auto(rec, roles, settings=get_settings().with_overrides(staging={"epoch_s": 20.0}))
