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
        assert all(r["source"] and r["unconfirmed"] for r in rows)   # implementation choices, not standards
        d = json.loads(json.dumps(s.to_dict()))
        assert d["quality"]["flat_std_uv"] == 0.05 and d["quality"]["mains_hz"] == [50.0, 60.0]


def test_with_overrides_changes_one_quality_threshold_and_rejects_unknown_names():
    s = get_settings("aasm").with_overrides(quality={"flat_std_uv": 0.2, "mains_unscorable": True})
    assert (s.quality.flat_std_uv, s.quality.mains_unscorable, s.quality.clip_fraction) == (0.2, True, 0.01)
    assert s.standard == "aasm" and s.clm.bilateral_rule == "onset"   # the rest of the preset kept
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
