"""Channel roles: real-world label spellings, overrides, disambiguation, real files."""

from __future__ import annotations

import json
import logging

import pytest

from somnomyo.errors import ChannelError, SomnomyoError
from somnomyo.io.channels import ROLES, ChannelRoles, infer_roles, parse_overrides, role_from_label

SPELLINGS: dict[str, list[str]] = {
    "leg_left": [
        "Leg L",
        "LLeg",
        "L Leg",
        "LAT",
        "L-LEG",
        "Tib L",
        "LTIB",
        "TibAnt L",
        "LLEG1-LLEG2",
        "L-Leg1",
        "Leg 1",
        "EMG Leg L",
        "Left Leg",
        "Tibialis anterior sin",
        "Tibialis anterior links",
        "PLM L",
        "L Tib Ant",
        "EMG Ant Tib L",
        "Leg_L",
        "LLEG-Ref",
    ],
    "leg_right": [
        "Leg R",
        "RLeg",
        "R Leg",
        "RAT",
        "R-LEG",
        "Tib R",
        "RTIB",
        "TibAnt R",
        "RLEG1-RLEG2",
        "R-Leg1",
        "Leg 2",
        "EMG Leg R",
        "Right Leg",
        "Tibialis anterior dx",
        "Tibialis anterior rechts",
        "PLMr",
    ],
    "legs": ["Legs", "Leg/L-R", "LEGS", "Leg L-R", "LLeg-RLeg", "Leg1-Leg2"],
    "chin": [
        "EMG1-EMG2",
        "Chin1-Chin2",
        "Chin",
        "CHIN EMG",
        "EMG submental",
        "EMG Submental",
        "Subm",
        "EMG",
        "Ment",
        "EMG Chin",
        "Chin2-Chin3",
        "L Chin",
    ],
    "arm_left": ["Arm L", "L-ARM", "FDS L", "Left Arm", "Deltoid L", "Ext L", "EMG Arm L", "L FDS"],
    "arm_right": ["Arm R", "R-ARM", "EMG Arm R", "R FDS", "Biceps R", "Ext R", "Deltoid R", "Right Arm"],
    "ecg": ["EKG", "ECG", "ECG II", "ECG1-ECG2", "EKG1-EKG2", "ECG L"],
    "eeg": [
        "C3-M2",
        "C3-A2",
        "C4-M1",
        "C4:M1",
        "EEG Fpz-Cz",
        "EEG Pz-Oz",
        "Fp2-F4",
        "F4-C4",
        "C4-P4",
        "P4-O2",
        "F8-T4",
        "O1-M2",
        "F3-M2",
        "Cz",
        "EEG C3-A2",
        "EEG(sec)",
        "EEG 2",
        "C3M2",
        "O2-A1",
    ],
    "eog": ["E1-M2", "E2-M1", "LOC", "ROC", "EOG horizontal", "EOG(L)", "EOG L", "E1", "ROC-A1", "Left Eye"],
    "respiratory": [
        "Airflow",
        "Flow",
        "Nasal Pressure",
        "Resp oro-nasal",
        "Thor",
        "THOR RES",
        "ABDO RES",
        "Abdomen",
        "Chest",
        "SpO2",
        "SaO2",
        "Snore",
        "Therm",
        "Oral Therm",
    ],
    "position": ["Position", "POS", "Body position"],
    "other_emg": ["Arms", "EMG L", "EMG Masseter"],
    "other": ["Temp rectal", "Event marker", "Light", "HR", "Pulse", "Status", "xyz123", ""],
}
CASES = [(label, role) for role, labels in SPELLINGS.items() for label in labels]


@pytest.mark.parametrize(("label", "role"), CASES, ids=[f"{r}:{lab or 'empty'}" for lab, r in CASES])
def test_label_spelling_maps_to_role(label: str, role: str) -> None:
    assert (role_from_label(label) or "other") == role
    assert infer_roles([label]).role_of[label] == role


def test_matching_ignores_case_spaces_underscores_and_dots() -> None:
    for label in ("leg l", "LEG_L", "Leg.L", "  Leg  L "):
        assert role_from_label(label) == "leg_left"


def test_heart_rate_hr_is_not_ecg() -> None:
    roles = infer_roles(["ECG", "HR"])
    assert roles.get("ecg") == "ECG"
    assert roles.role_of["HR"] == "other"


# ------------------------------------------------------------------ real files
def _labels(path) -> list[str]:
    edfio = pytest.importorskip("edfio")
    return [s.label for s in edfio.read_edf(path).signals]


def test_sleep_edf_short_psg_labels_get_roles(real_dir) -> None:
    labels = _labels(real_dir / "sleep-edf" / "short_psg.edf")
    assert labels == [
        "EEG Fpz-Cz",
        "EEG Pz-Oz",
        "EOG horizontal",
        "Resp oro-nasal",
        "EMG submental",
        "Temp rectal",
        "Event marker",
    ]
    roles = infer_roles(labels)
    assert roles.all("eeg") == ["EEG Fpz-Cz", "EEG Pz-Oz"]
    assert roles.all("eog") == ["EOG horizontal"]
    assert roles.all("respiratory") == ["Resp oro-nasal"]
    assert roles.get("chin") == "EMG submental"
    assert roles.all("other") == ["Temp rectal", "Event marker"]
    assert roles.get("leg_left") is None and roles.get("leg_right") is None


def test_sleep_edf_transducers_do_not_turn_rectal_thermistor_into_respiratory(real_dir) -> None:
    edfio = pytest.importorskip("edfio")
    sigs = edfio.read_edf(real_dir / "sleep-edf" / "short_psg.edf").signals
    roles = infer_roles([s.label for s in sigs], types=[s.transducer_type for s in sigs])
    assert roles.role_of["Temp rectal"] == "other"
    assert roles.role_of["Resp oro-nasal"] == "respiratory"


def test_cap_brux2_bipolar_eeg_labels_are_eeg(real_dir) -> None:
    labels = _labels(real_dir / "cap" / "brux2-excerpt.edf")
    assert labels == ["Fp2-F4", "F4-C4", "C4-P4", "P4-O2", "F8-T4"]
    roles = infer_roles(labels)
    assert roles.all("eeg") == labels
    with pytest.raises(ChannelError, match="leg_left"):
        roles.require("leg_left", "leg_right", path=real_dir / "cap" / "brux2-excerpt.edf")


# ------------------------------------------------------------------ types
def test_types_place_unrecognized_labels_but_labels_come_first() -> None:
    roles = infer_roles(
        ["X1", "X2", "C3-M2", "X3"],
        types=["EMG electrode", "Nasal pressure transducer", "EMG electrode", "Rectal thermistor"],
    )
    assert roles.role_of == {"X1": "other_emg", "X2": "respiratory", "C3-M2": "eeg", "X3": "other"}


def test_types_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="one entry per label"):
        infer_roles(["A", "B"], types=["EMG"])


# ------------------------------------------------------------------ disambiguation
def test_two_left_leg_channels_keep_first_and_warn(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="somnomyo"):
        roles = infer_roles(["C3-M2", "Leg L", "LLeg", "Leg R"])
    assert roles.get("leg_left") == "Leg L"
    assert roles.role_of["LLeg"] == "other_emg"
    assert roles.all("other_emg") == ["LLeg"]
    assert roles.get("leg_right") == "Leg R"
    assert any("leg_left" in r.getMessage() and "LLeg" in r.getMessage() for r in caplog.records)


def test_nsrr_three_chin_derivations_keep_first() -> None:
    roles = infer_roles(["Chin1-Chin2", "Chin1-Chin3", "Chin2-Chin3"])
    assert roles.get("chin") == "Chin1-Chin2"
    assert roles.all("other_emg") == ["Chin1-Chin3", "Chin2-Chin3"]


def test_second_ecg_becomes_other_not_emg() -> None:
    roles = infer_roles(["ECG1-ECG2", "ECG II"])
    assert roles.get("ecg") == "ECG1-ECG2"
    assert roles.role_of["ECG II"] == "other"


def test_one_channel_per_label_in_file_order() -> None:
    labels = ["Leg R", "F4-M1", "C3-M2", "Leg L", "Chin", "Airflow", "SpO2", "EKG"]
    roles = infer_roles(labels)
    assert roles.all("eeg") == ["F4-M1", "C3-M2"]
    assert roles.all("respiratory") == ["Airflow", "SpO2"]
    assert sorted(x for r in ROLES for x in roles.by_role[r]) == sorted(labels)
    assert set(roles.by_role) == set(ROLES)


# ------------------------------------------------------------------ overrides
@pytest.mark.parametrize(
    "item",
    ['leg_left="Tib sin"', "leg_left=Tib sin", "leg_left='Tib sin'", ' leg_left = "Tib sin" ', "LEG_LEFT=Tib sin"],
)
def test_parse_override_quotes_and_spaces(item: str) -> None:
    assert parse_overrides([item]) == {"leg_left": ["Tib sin"]}


def test_parse_override_several_eeg_channels() -> None:
    assert parse_overrides(["eeg=C3-M2,C4-M1"]) == {"eeg": ["C3-M2", "C4-M1"]}
    assert parse_overrides(["eeg=C3-M2, C4-M1", "eeg=O1-M2"]) == {"eeg": ["C3-M2", "C4-M1", "O1-M2"]}
    assert parse_overrides(['eeg="A,B",C3-M2']) == {"eeg": ["A,B", "C3-M2"]}


def test_parse_override_unknown_role_lists_allowed_roles() -> None:
    with pytest.raises(ValueError) as err:
        parse_overrides(["left_leg=Tib sin"])
    msg = str(err.value)
    assert "left_leg" in msg and all(r in msg for r in ROLES)
    assert "\n" not in msg


@pytest.mark.parametrize("item", ["leg_left", "=Tib sin", "leg_left=", 'leg_left=""'])
def test_parse_override_malformed_item_is_an_error(item: str) -> None:
    with pytest.raises(ValueError):
        parse_overrides([item])


def test_override_places_label_and_removes_it_from_inferred_role() -> None:
    labels = ["C3-M2", "Tib sin", "Tib dx", "EMG"]
    roles = infer_roles(labels, overrides=parse_overrides(['leg_left="Tib sin"', "chin=Tib dx"]))
    assert roles.get("leg_left") == "Tib sin"
    assert roles.get("chin") == "Tib dx"
    assert "Tib dx" not in roles.all("other_emg") and roles.get("leg_right") is None
    # the inferred chin ("EMG") is displaced, not lost
    assert roles.role_of["EMG"] == "other_emg"
    assert roles.overridden == {"Tib sin", "Tib dx"}


def test_override_multiple_eeg_moves_labels_out_of_other() -> None:
    roles = infer_roles(["Ch1", "Ch2", "C3-M2", "Leg L"], overrides={"eeg": ["Ch1", "Ch2"]})
    assert roles.all("eeg") == ["Ch1", "Ch2", "C3-M2"]
    assert roles.all("other") == []


def test_override_string_value_and_case_insensitive_label() -> None:
    roles = infer_roles(["Tib sin", "X"], overrides={"leg_right": "x"})
    assert roles.get("leg_right") == "X"


def test_override_unknown_label_lists_file_channels() -> None:
    with pytest.raises(ChannelError) as err:
        infer_roles(["C3-M2", "Leg L"], overrides={"leg_right": "Leg R"}, path="night.edf")
    msg = str(err.value)
    assert msg.startswith("night.edf: ") and "'Leg R'" in msg and "'C3-M2'" in msg and "'Leg L'" in msg
    assert "\n" not in msg
    assert isinstance(err.value, SomnomyoError)


def test_override_unknown_role_in_mapping_lists_allowed_roles() -> None:
    with pytest.raises(ValueError, match="leg_left, leg_right"):
        infer_roles(["A"], overrides={"tibia": "A"})


def test_override_two_channels_into_single_role_is_an_error() -> None:
    with pytest.raises(ChannelError, match="leg_left takes one channel"):
        infer_roles(["A", "B"], overrides={"leg_left": ["A", "B"]})


# ------------------------------------------------------------------ ChannelRoles API
def test_require_names_missing_roles_and_file_channels_on_one_line() -> None:
    roles = infer_roles(["C3-M2", "Leg L", "Chin"])
    roles.require("leg_left", "chin")
    with pytest.raises(ChannelError) as err:
        roles.require("leg_left", "leg_right", "arm_left", path="rec.edf")
    msg = str(err.value)
    assert msg.startswith("rec.edf: ") and "leg_right" in msg and "arm_left" in msg and "'C3-M2'" in msg
    assert "\n" not in msg


def test_require_alternatives_accept_one_bipolar_legs_channel() -> None:
    roles = infer_roles(["Legs", "Chin"])
    roles.require("leg_left|legs")
    with pytest.raises(ChannelError, match="leg_left or leg_right"):
        roles.require("leg_left|leg_right")


def test_get_is_for_single_roles_and_all_checks_role_names() -> None:
    roles = infer_roles(["C3-M2", "C4-M1"])
    with pytest.raises(ValueError, match="all"):
        roles.get("eeg")
    with pytest.raises(ValueError, match="allowed roles"):
        roles.all("legz")
    assert roles.get("chin") is None


def test_to_dict_is_json_ready_and_describe_lists_mapping() -> None:
    roles = infer_roles(["C3-M2", "Leg L", "Tib dx"], overrides={"leg_right": "Tib dx"})
    d = roles.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["roles"]["leg_left"] == ["Leg L"] and d["overridden"] == ["Tib dx"]
    text = roles.describe()
    lines = text.splitlines()
    assert any(line.startswith("leg_left") and line.endswith("Leg L") for line in lines)
    assert any(line.startswith("leg_right") and "Tib dx (set by user)" in line for line in lines)
    assert any(line.startswith("chin") and "(none)" in line for line in lines)
    assert isinstance(roles, ChannelRoles)
