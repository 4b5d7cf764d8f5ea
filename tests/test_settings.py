import json

import pytest

from somnomyo.settings import STANDARDS, get_settings


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
