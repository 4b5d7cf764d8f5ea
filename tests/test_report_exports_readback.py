"""events.edf follows EDFbrowser's ``@@channel`` convention (one annotation per channel, one stable
label per kind and channel), and somnomyo reads back what it writes: ``somnomyo info --annotations
events.xml`` names the project's own event kinds, with no "unknown concept" warning."""

from __future__ import annotations

import pytest

from somnomyo.cli import main
from somnomyo.events import make_events
from somnomyo.io.labels import normalize_label
from somnomyo.report.exports import EVENT_LABELS, edf_annotations, write_events_edf, write_events_xml
from somnomyo.simulate import simulate_short


def jerks() -> object:
    return make_events(
        [
            {"onset": 10.0, "duration": 0.2, "trial_type": "hypnic_jerk", "channel": "Arm R,Leg L,Arm L"},
            {"onset": 20.0, "duration": 0.2, "trial_type": "hypnic_jerk", "channel": "Leg L,Arm L"},
            {"onset": 30.0, "duration": 0.1, "trial_type": "myoclonic_jerk", "channel": "Arm L,Arm R"},
            {"onset": 40.0, "duration": 0.1, "trial_type": "fragmentary_myoclonus", "channel": "EMG Chin"},
        ]
    )


def test_a_multi_muscle_event_is_one_annotation_per_channel_with_a_stable_label() -> None:
    ann = edf_annotations(jerks())
    texts = [t for _, _, t in ann]
    assert all(t.count("@@") == 1 and "," not in t for t in texts)
    assert sorted({t for t in texts if t.startswith("Hypnic jerk")}) == [
        "Hypnic jerk@@Arm L",
        "Hypnic jerk@@Arm R",
        "Hypnic jerk@@Leg L",
    ]  # 3 labels for 5 annotations, whatever order the channels came in
    assert sum(t.startswith("Hypnic jerk") for t in texts) == 5
    assert [(o, d) for o, d, t in ann if t == "Myoclonic jerk@@Arm R"] == [(30.0, 0.1)]


@pytest.mark.parametrize("trial_type", sorted(EVENT_LABELS))
def test_every_exported_label_reads_back_as_its_own_kind(trial_type: str) -> None:
    assert normalize_label(f"{EVENT_LABELS[trial_type]}@@Arm L") == ("myoclonus", trial_type) or (
        trial_type == "leg_movement" and normalize_label("Leg movement@@Leg L")[0] == "limb"
    )
    concept = f"{EVENT_LABELS[trial_type]}|{EVENT_LABELS[trial_type]}"
    if trial_type != "leg_movement":
        assert normalize_label(concept) == ("myoclonus", trial_type)


def test_info_reads_the_exports_back_without_unknown_concepts(tmp_path, capsys) -> None:
    files = simulate_short(seed=1, minutes=2).write(tmp_path / "sim")
    xml = write_events_xml(jerks(), tmp_path / "events.xml", duration_s=120.0)
    edf = write_events_edf(jerks(), tmp_path / "events.edf", duration_s=120.0, record_s=30.0)
    for ann in (xml, edf):
        assert main(["info", str(files["edf"]), "--annotations", str(ann)]) == 0
        out = capsys.readouterr().out
        assert "unknown concept" not in out
        line = next(ln for ln in out.splitlines() if "marker" in ln or "myoclonus" in ln)
        n_own = 4 if ann == xml else 8  # events.edf: one annotation per channel (3 + 2 + 2 + 1)
        assert f"myoclonus {n_own}" in line, line
