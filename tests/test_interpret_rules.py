"""Interpretation rule table: thresholds just inside/outside each limit, infant nights built like
benign sleep myoclonus of infancy (BSMI) versus seizure-like nights, and the wording policy."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from somnomyo.errors import SomnomyoError
from somnomyo.events import make_events
from somnomyo.interpret import (
    RULES,
    Finding,
    cluster_eeg_rhythm,
    findings_block,
    interpret,
    jerk_locked_average,
    parse_age,
    population_for,
    state_dependence,
)
from somnomyo.io.annotations import Annotations, Hypnogram
from somnomyo.io.recording import Signal

FS = 128.0


def ids(findings) -> dict[str, str]:
    return {f.id: f.level for f in findings}


# --- age and population ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, days",
    [
        ("10d", 10.0),
        ("14 days", 14.0),
        ("2w", 14.0),
        ("3m", 3 * 30.4375),
        ("3 months", 3 * 30.4375),
        ("5y", 5 * 365.25),
        ("1.5 years", 1.5 * 365.25),
        (45, 45.0),
        (None, None),
    ],
)
def test_parse_age_units(text, days) -> None:
    assert parse_age(text) == pytest.approx(days) if days is not None else parse_age(text) is None


@pytest.mark.parametrize("text", ["5", "three months", "3 lightyears", "-2d", True])
def test_parse_age_rejects_bad_input_with_one_line(text) -> None:
    with pytest.raises(SomnomyoError) as err:
        parse_age(text)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "days, pop",
    [
        (None, "adult"),
        (10.0, "infant"),
        (730.0, "infant"),
        (731.0, "child"),
        (17 * 365.25, "child"),
        (18 * 365.25, "adult"),
    ],
)
def test_population_for_age(days, pop) -> None:
    assert population_for(days) == pop


def test_interpret_rejects_unknown_population_listing_allowed() -> None:
    with pytest.raises(ValueError, match="'adult', 'child', 'infant', 'auto'"):
        interpret({}, population="elderly")


# --- PLMS range (ICSD-3 PLMD) ---------------------------------------------------------------------
def plm(idx: float) -> dict:
    return {
        "plm": {
            "plms_index": idx,
            "plms_arousal_index": 3.2,
            "periodicity_index": 0.61,
            "tst_h": 7.0,
            "standard": "wasm2016",
        }
    }


@pytest.mark.parametrize("idx, fires", [(15.0, False), (15.1, True)])
def test_plms_range_adult_above_15(idx: float, fires: bool) -> None:
    f = [x for x in interpret(plm(idx), population="adult") if x.id == "plms_range"]
    assert bool(f) is fires
    if fires:
        assert f[0].level == "note"
        assert "in the range of periodic limb movement disorder if clinically symptomatic" in f[0].text_plain
        assert f[0].evidence["plms_arousal_index"] == 3.2 and f[0].evidence["periodicity_index"] == 0.61
        assert "ICSD-3" in f[0].source


@pytest.mark.parametrize("idx, fires", [(5.0, False), (5.1, True)])
@pytest.mark.parametrize("population", ["child"])
def test_plms_range_child_above_5(idx: float, fires: bool, population: str) -> None:
    assert ("plms_range" in ids(interpret(plm(idx), population=population))) is fires


def test_plms_range_infant_has_no_norm_so_never_fires() -> None:  # infants: no published norm
    assert "plms_range" not in ids(interpret(plm(40.0), population="infant"))


def test_plms_range_auto_population_from_age() -> None:
    assert "plms_range" in ids(interpret(plm(6.0), population="auto", age_days="8y"))
    assert "plms_range" not in ids(interpret(plm(6.0), population="auto", age_days="40y"))


# --- EFM, hypnic jerks, REM phasic -------------------------------------------------------------------
@pytest.mark.parametrize("efm, fires", [(True, True), (False, False), (None, False)])
def test_efm_rule_met_or_not(efm, fires) -> None:
    s = {
        "fragmentary_myoclonus": {
            "efm": efm,
            "efm_minutes": 25.0 if efm else 12.0,
            "fm_index": 300.0,
            "efm_mode": "cumulative",
        }
    }
    f = ids(interpret(s))
    assert ("efm" in f) is fires
    if fires:
        assert f["efm"] == "note"


def test_hypnic_jerks_are_a_normal_variant() -> None:
    assert ids(interpret({"hypnic_jerks": {"count": 2, "n_sleep_onsets": 3}})) == {"hypnic_jerks": "info"}
    assert ids(interpret({"hypnic_jerks": {"count": 0, "n_sleep_onsets": 3}})) == {}


@pytest.mark.parametrize("any_pct, comb, fires", [(17.9, 31.9, False), (18.0, None, True), (10.0, 32.0, True)])
def test_rem_phasic_sinbar_cutoffs(any_pct, comb, fires) -> None:
    s = {"rem_emg": {"any_mini_epoch_pct": any_pct, "sinbar_combined_pct": comb, "n_rem_epochs": 120}}
    f = ids(interpret(s, population="adult"))
    assert ("rem_phasic" in f) is fires
    if fires:
        assert f["rem_phasic"] == "review"


# --- cortical transient and adult review ---------------------------------------------------------------
def cortical(found, n=120, p=0.01) -> dict:
    return {
        "transient_found": found,
        "n_jerks": n,
        "latency_ms": 22.0 if found else None,
        "amplitude_uv": 4.0 if found else None,
        "channel": "C3" if found else None,
        "p_value": p if found is not None else None,
        "reason": "x",
        "burst_duration_ms_median": 40.0,
        "burst_suggests_cortical": True,
        "eeg_rhythm": None,
    }


@pytest.mark.parametrize("found, level", [(True, "review"), (False, "info"), (None, "info")])
def test_cortical_transient_levels(found, level) -> None:
    f = ids(interpret({}, cortical=cortical(found)))
    assert f["cortical_transient"] == level
    assert ("myoclonus_review" in f) is (found is True)


def state(wake_fraction: float, n: int = 100, stops=None) -> dict:
    return {
        "n_jerks": n,
        "wake_fraction": wake_fraction,
        "wake_count": int(round(wake_fraction * n)),
        "waking": {"stops_on_waking": stops},
        "clusters": {"count": 0},
        "spasm_clusters": {"on_awakening": 0},
    }


@pytest.mark.parametrize("frac, fires", [(0.5, False), (0.51, True)])
def test_adult_myoclonus_mostly_in_wake_warrants_review(frac: float, fires: bool) -> None:
    f = ids(interpret({}, population="adult", state=state(frac)))
    assert ("myoclonus_review" in f) is fires
    assert "jerks_in_wake" not in f  # the infant rule does not apply to adults


# --- infant nights ---------------------------------------------------------------------------------
HOURS = 1.0


def infant_night(
    *,
    wake_clusters: bool = False,
    continue_after: bool = False,
    spasms_on_waking: bool = False,
    rhythm_uv: float = 0.0,
    seed: int = 0,
):
    """A 1-h infant night: N2/R sleep with one awakening at 30 min (W for 5 min).

    BSMI-like by default: 12 clusters of 8-20 jerks at 2-4 Hz in sleep, each followed by an
    arousal 0.3 s after its last jerk and nothing in the next 60 s.
    """
    rng = np.random.default_rng(seed)
    stages = np.array(["N2"] * 30 + ["R"] * 30 + ["W"] * 10 + ["N2"] * 50)[: int(HOURS * 120)]
    hyp = Hypnogram(stages)
    rows, arousals = [], []
    starts = np.array([60.0, 300.0, 540.0, 780.0, 1020.0, 1260.0, 2220.0, 2460.0, 2700.0, 2940.0, 3180.0, 3420.0])
    if wake_clusters:
        starts = np.concatenate([starts, [1830.0, 1900.0, 1980.0, 2060.0]])  # in the W stretch (1800-2100 s)
    for s0 in starts:
        rate = rng.uniform(2.0, 4.0)
        k = int(rng.integers(8, 21))
        on = s0 + np.arange(k) / rate + rng.uniform(-0.05, 0.05, k)
        rows += [{"onset": t, "duration": 0.12, "trial_type": "myoclonic_jerk"} for t in on]
        iv = np.diff(on)
        rows.append(
            {
                "onset": on[0],
                "duration": on[-1] + 0.12 - on[0],
                "trial_type": "jerk_cluster",
                "rate_hz": 1.0 / iv.mean(),
                "cv": iv.std() / iv.mean(),
            }
        )
        arousals.append(on[-1] + 0.3)
        if continue_after:
            rows += [
                {"onset": on[-1] + 1.0 + i * 2.0, "duration": 0.12, "trial_type": "myoclonic_jerk"} for i in range(10)
            ]
    if spasms_on_waking:
        rows += [{"onset": 1830.0 + i * 12.0, "duration": 1.2, "trial_type": "leg_movement"} for i in range(6)]
    events = make_events(rows, rate_hz="float64", cv="float64")
    ann = Annotations(
        hypnogram=hyp,
        events=pd.DataFrame(
            {
                "onset": arousals,
                "duration": 5.0,
                "category": "arousal",
                "kind": "arousal",
                "label": "Arousal",
                "channel": "",
            }
        ).astype({"category": "string", "kind": "string", "label": "string", "channel": "string"}),
    )
    # EEG: 1/f-like background, optionally a rhythm at each cluster's rate during the cluster
    n = int(HOURS * 3600 * FS)
    x = np.cumsum(rng.standard_normal(n))
    x = 30.0 * (x - pd.Series(x).rolling(int(FS), center=True, min_periods=1).mean().to_numpy())
    x = 30.0 * x / x.std()
    if rhythm_uv:
        t = np.arange(n) / FS
        for _, c in events.loc[events["trial_type"] == "jerk_cluster"].iterrows():
            m = (t >= c["onset"]) & (t < c["onset"] + c["duration"])
            x[m] += rhythm_uv * np.sin(2 * np.pi * c["rate_hz"] * (t[m] - c["onset"]))
    eeg = [Signal("C3", x, FS)]
    return events, hyp, ann, eeg


def evaluate(events, hyp, ann, eeg, *, age="3w", prior=None):
    st = state_dependence(events, hypnogram=hyp, annotations=ann)
    jon = events.loc[events["trial_type"] == "myoclonic_jerk", "onset"].to_numpy()
    cr = jerk_locked_average(
        eeg, jon, hypnogram=hyp, clusters=events, n_surrogates=150, burst_durations_s=np.full(jon.size, 0.12)
    )
    return interpret({}, population="auto", age_days=age, cortical=cr, state=st, prior=prior), st, cr


def test_bsmi_like_infant_night_is_consistent_with_bsmi() -> None:
    f, st, cr = evaluate(*infant_night())
    assert st.summary()["waking"]["stops_on_waking"] is True
    assert cr.transient_found is False
    lv = ids(f)
    assert lv.get("bsmi_consistent") == "info"
    assert "review" not in lv.values()


def test_bsmi_not_claimed_above_6_months() -> None:
    f, _, _ = evaluate(*infant_night(), age="9m")
    assert "bsmi_consistent" not in ids(f)


def test_jerks_continuing_into_wake_warrant_review() -> None:
    f, st, _ = evaluate(*infant_night(wake_clusters=True, continue_after=True))
    lv = ids(f)
    assert lv.get("jerks_in_wake") == "review"
    assert st.summary()["waking"]["stops_on_waking"] is False
    assert "bsmi_consistent" not in lv


def test_jerks_not_stopping_at_arousal_alone_warrant_review() -> None:
    f, st, _ = evaluate(*infant_night(continue_after=True))
    assert st.summary()["wake_fraction"] == 0.0
    assert ids(f).get("jerks_in_wake") == "review"


def test_spasm_clusters_on_awakening_at_6_months_warrant_review() -> None:
    f, _, _ = evaluate(*infant_night(spasms_on_waking=True), age="6 months")
    lv = ids(f)
    assert lv.get("infantile_spasms_pattern") == "review"
    sp = [x for x in f if x.id == "infantile_spasms_pattern"][0]
    assert sp.evidence["age_in_typical_range"] is True
    assert "bsmi_consistent" not in lv


def test_rhythmic_jerking_with_eeg_rhythm_warrants_review() -> None:
    f, _, cr = evaluate(*infant_night(rhythm_uv=40.0))
    assert cr.eeg_rhythm["found"] is True
    lv = ids(f)
    assert lv.get("rhythmic_eeg") == "review"
    assert "bsmi_consistent" not in lv


def test_cortical_transient_excludes_bsmi() -> None:
    events, hyp, ann, _ = infant_night()
    st = state_dependence(events, hypnogram=hyp, annotations=ann)
    lv = ids(interpret({}, population="infant", age_days=20, cortical=cortical(True), state=st))
    assert lv.get("cortical_transient") == "review"
    assert "bsmi_consistent" not in lv
    assert "myoclonus_review" not in lv  # the adult rule does not apply to infants


@pytest.mark.parametrize("prior_idx, fires", [([10.0, 14.0], True), ([10.0, 9.0], False), ([12.0, 13.0], False)])
def test_rising_frequency_only_with_prior_nights(prior_idx, fires) -> None:
    s = {"jerks": {"index": 16.0}}
    prior = [{"jerks": {"index": v}} for v in prior_idx]
    assert ("rising_frequency" in ids(interpret(s, population="infant", prior=prior))) is fires
    assert "rising_frequency" not in ids(interpret(s, population="infant"))


def test_simulated_infant_night_with_truth_onsets_is_bsmi_consistent() -> None:
    from somnomyo.io.annotation_readers import from_edf_annotations
    from somnomyo.simulate import SimOptions, simulate_night

    night = simulate_night(seed=3, hours=1.0, options=SimOptions.infant(clusters_per_h=12.0))
    ann = from_edf_annotations(night.annotations, source="sim", duration_s=night.duration)
    rows = []
    for c in night.truth["clusters"]:
        on = np.asarray(c["jerk_onsets"])
        rows += [{"onset": t, "duration": 0.1, "trial_type": "myoclonic_jerk"} for t in on]
        iv = np.diff(on)
        rows.append(
            {
                "onset": c["onset"],
                "duration": c["duration"],
                "trial_type": "jerk_cluster",
                "rate_hz": 1.0 / iv.mean(),
                "cv": iv.std() / iv.mean(),
            }
        )
    events = make_events(rows, rate_hz="float64", cv="float64")
    eeg = [night.signal("EEG C3-M2"), night.signal("EEG C4-M1")]
    f, _, _ = evaluate(events, night.hypnogram, ann, eeg, age="10d")
    lv = ids(f)
    assert lv.get("bsmi_consistent") == "info"
    assert "review" not in lv.values()


# --- wording, structure, JSON ------------------------------------------------------------------------
def test_no_finding_ever_speaks_of_a_diagnosis() -> None:
    summary = {
        **plm(40.0),
        "fragmentary_myoclonus": {"efm": True, "efm_minutes": 30.0},
        "hypnic_jerks": {"count": 3},
        "rem_emg": {"any_mini_epoch_pct": 40.0, "sinbar_combined_pct": 50.0},
        "jerks": {"index": 30.0},
    }
    found: list[Finding] = []
    for pop in ("adult", "child", "infant"):
        for c in (cortical(True), cortical(False), cortical(None)):
            found += interpret(
                summary, population=pop, cortical=c, state=state(0.8, stops=False), prior=[{"jerks": {"index": 5.0}}]
            )
    for night in (infant_night(), infant_night(spasms_on_waking=True), infant_night(rhythm_uv=40.0)):
        found += evaluate(*night, age="6m")[0]
    assert {f.id for f in found} >= {
        "plms_range",
        "efm",
        "hypnic_jerks",
        "rem_phasic",
        "cortical_transient",
        "jerks_in_wake",
        "infantile_spasms_pattern",
        "myoclonus_review",
        "rhythmic_eeg",
        "rising_frequency",
    }
    for f in found:
        assert not re.search("diagnos", f.text_plain + " " + f.text_clinical, re.IGNORECASE), f.id
        assert f.text_plain and f.text_clinical and f.source


def test_finding_refuses_diagnosis_wording_and_bad_level() -> None:
    with pytest.raises(ValueError):
        Finding("x", "info", "You were diagnosed with it.", "ok")
    with pytest.raises(ValueError, match="'info', 'note', 'review'"):
        Finding("x", "urgent", "a", "b")


def test_findings_block_is_json_ready() -> None:
    block = findings_block(interpret({**plm(20.0), "hypnic_jerks": {"count": 1}}, cortical=cortical(True)))
    text = json.dumps(block)
    assert json.loads(text)[0].keys() == {"id", "level", "text_plain", "text_clinical", "evidence", "source"}


def test_rule_table_lists_id_source_and_inputs() -> None:
    assert {r.id for r in RULES} >= {
        "plms_range",
        "efm",
        "hypnic_jerks",
        "rem_phasic",
        "cortical_transient",
        "jerks_in_wake",
        "bsmi_consistent",
        "infantile_spasms_pattern",
    }
    for r in RULES:
        assert r.source and r.inputs and r.populations


def test_cluster_eeg_rhythm_is_reexported() -> None:
    assert callable(cluster_eeg_rhythm)
