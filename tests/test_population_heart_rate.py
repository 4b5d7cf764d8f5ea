"""ECG artefact found in the EMG itself at the sleeper's heart rate (Fleming et al., Lancet 2011).

Without an ECG channel, MATPLM's adult heart-like intervals (0.7-1.3 s, 46-86 bpm) miss an
infant's 120-180 bpm heart: its QRS leak stays in the EMG and is read as thousands of
fragmentary-myoclonus potentials. The heart period is therefore estimated from the EMG itself
(``conditioning.ecg_self_estimate_period``); ``Settings.for_population`` and the pipeline's
``--age`` choose the population's intervals, the prior where no period stands out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from somnomyo.io.edf import read_edf
from somnomyo.io.edf_write import write_edf
from somnomyo.pipeline import score_night
from somnomyo.settings import get_settings
from somnomyo.simulate import simulate_night
from somnomyo.simulate.options import SimOptions


@pytest.mark.parametrize("standard", ["wasm2016", "aasm"])
def test_for_population_swaps_the_heart_like_intervals_of_ecg_found_in_emg(standard: str) -> None:
    s = get_settings(standard)
    assert s.for_population("adult") == s
    inf, child = s.for_population("infant").conditioning, s.for_population("child").conditioning
    assert (inf.ecg_self_rr_min_s, inf.ecg_self_rr_max_s) == s.conditioning.ecg_self_rr_infant_s
    assert (child.ecg_self_rr_min_s, child.ecg_self_rr_max_s) == s.conditioning.ecg_self_rr_child_s
    # an infant at 120-180 bpm (RR 0.33-0.5 s) is inside the infant window and outside the adult one
    for rr in (60 / 180, 60 / 120):
        assert inf.ecg_self_rr_min_s <= rr <= inf.ecg_self_rr_max_s
        assert not s.conditioning.ecg_self_rr_min_s <= rr <= s.conditioning.ecg_self_rr_max_s
    assert s.for_population("infant").lm == s.lm and s.for_population("infant").standard == standard
    with pytest.raises(ValueError, match="adult.*child.*infant"):
        s.for_population("toddler")


@pytest.fixture(scope="module")
def infant_without_ecg(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 1-h infant night (148 bpm, 30 µV QRS leak into the leg EMG, no fragmentary myoclonus
    designed) written again without its ECG channel."""
    out = tmp_path_factory.mktemp("infant")
    sim = simulate_night(seed=4, hours=1, options=SimOptions.infant(ecg_artifact_uv=30.0))
    sim.write(out / "night")
    assert sim.truth["ecg"]["hr_bpm"] > 120 and not sim.truth["fragmentary_myoclonus"]
    rec = read_edf(out / "night" / "night.edf")
    ecg = [k for k in rec.signals if k.upper().startswith("ECG")]
    assert ecg
    write_edf(
        out / "noecg.edf",
        [s for k, s in rec.signals.items() if k not in ecg],
        start=rec.start,
        annotations=rec.annotations,
    )
    return out / "noecg.edf", out / "night" / "night-annotations.tsv"


@pytest.mark.slow
def test_infant_without_ecg_channel_with_or_without_its_age_is_not_excessive_fragmentary_myoclonus(
    infant_without_ecg: tuple[Path, Path],
) -> None:
    edf, ann = infant_without_ecg
    infant = score_night(edf, annotations=ann, age="3m", detectors=("myoclonus",))
    adult_rates = score_night(edf, annotations=ann, detectors=("myoclonus",))
    fm_infant = infant.blocks["fragmentary_myoclonus"]
    fm_no_age = adult_rates.blocks["fragmentary_myoclonus"]
    assert infant.blocks["subject"]["population"] == "infant"
    assert infant.summary()["settings"]["conditioning"]["ecg_self_rr_max_s"] == 0.75
    assert fm_infant["efm"] is False and fm_infant["count"] < 60  # none designed: a few false ones
    # no age given: the heart period estimated from the EMG finds the infant's heart all the same
    assert fm_no_age["efm"] is False and fm_no_age["count"] < 60
    fixed = get_settings().with_overrides(conditioning={"ecg_self_estimate_period": False})
    matplm = score_night(edf, annotations=ann, settings=fixed, detectors=("myoclonus",))
    fm_matplm = matplm.blocks["fragmentary_myoclonus"]["count"]
    assert fm_matplm > 20 * max(fm_infant["count"], 1)  # MATPLM's fixed adult window: the QRS leak is "FM"
    said = " ".join(adult_rates.warnings)
    assert "no ECG channel" in said and "--age" in said
    assert not any("no ECG channel" in w for w in infant.warnings)
