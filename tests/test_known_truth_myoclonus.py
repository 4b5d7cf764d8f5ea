"""Known-truth simulated nights: myoclonus detectors end to end (their evidence bars).

Matching criteria (documented here, used by every test):

* FM potentials, jerks, hypnic jerks: a detection matches a designed event when its onset
  lies within ±50 ms of the designed onset (FM: on the same channel); one-to-one, nearest
  first. Brief events are shorter than the envelope's edge uncertainty, so temporal IoU
  is a poor criterion for them.
* Negative myoclonus: temporal IoU >= 0.5 on the same channel (silences last 50-500 ms;
  their edges in tonic noise are uncertain by tens of ms).

What the design makes ambiguous, and how it is scored (see each test):

* a single-muscle burst of <= 150 ms is an FM potential (AASM; docs/rules.md §6.2) even
  where the simulator designed it as a focal myoclonic jerk: detections on such designed
  jerk bursts are left out of the FM score (neither true nor false positives);
* negative myoclonus: every designed silence (W and N1) is scored. They are visible only
  once the 2-µV mains hum is removed on every channel (see the test below).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest

from somnomyo.detect.fragmentary import detect_fragmentary
from somnomyo.detect.myoclonus import detect_myoclonus, emg_traces
from somnomyo.io.channels import infer_roles
from somnomyo.settings import get_settings
from somnomyo.simulate import SimOptions, simulate_night, simulate_short

TOL_S = 0.05


def match_onsets(
    det_on: np.ndarray,
    ref_on: np.ndarray,
    *,
    det_key: Sequence[Any] | None = None,
    ref_key: Sequence[Any] | None = None,
    tol: float = TOL_S,
) -> list[tuple[int, int]]:
    """One-to-one (detected, reference) index pairs with onsets within ``tol`` (and equal keys),
    closest pairs first."""
    det_on, ref_on = np.asarray(det_on, float), np.asarray(ref_on, float)
    if det_on.size == 0 or ref_on.size == 0:
        return []
    d = np.abs(det_on[:, None] - ref_on[None, :])
    if det_key is not None and ref_key is not None:
        d = np.where(np.asarray(det_key, object)[:, None] == np.asarray(ref_key, object)[None, :], d, np.inf)
    i, j = np.nonzero(d <= tol)
    pairs, used_i, used_j = [], set(), set()
    for k in np.argsort(d[i, j], kind="stable"):
        if i[k] not in used_i and j[k] not in used_j:
            used_i.add(int(i[k]))
            used_j.add(int(j[k]))
            pairs.append((int(i[k]), int(j[k])))
    return pairs


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0


def run(night: Any) -> Any:
    rec = night.to_recording()
    return detect_myoclonus(rec, infer_roles(rec.labels), hypnogram=night.hypnogram, settings=get_settings())


def jerk_bursts_truth(truth: dict) -> pd.DataFrame:
    """Every designed jerk burst (myoclonic and hypnic) as (channel, onset, duration)."""
    rows = []
    for key in ("myoclonic_jerks", "hypnic_jerks"):
        for j in truth[key]:
            for m, lag, d in zip(j["muscles"], j["lags_ms"], j["durations_ms"]):
                rows.append(
                    {
                        "channel": m,
                        "onset": j["onset"] + lag / 1000.0,
                        "duration": d / 1000.0,
                        "n_muscles": len(j["muscles"]),
                    }
                )
    return pd.DataFrame(rows, columns=["channel", "onset", "duration", "n_muscles"])


# ------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def adult():
    """40-min dense adult night: strong ECG leak (30 µV), FM 6/min, 40 jerks/h, long sleep
    latency (wake with chin and arm tonic) and 120 silent periods per hour of W/N1."""
    opts = SimOptions.short(
        ecg_artifact_uv=30.0, fm_per_min=6.0, sleep_latency_min=(8.0, 10.0), negative_myoclonus_per_h=120.0
    )
    night = simulate_short(seed=7, minutes=40, options=opts)
    return night, run(night)


@pytest.fixture(scope="module")
def onsets():
    """Two 40-min nights with many returns to sleep (8 awakenings/h) and 10 myoclonic jerks/h."""
    out = []
    for seed in (1, 2):
        night = simulate_short(
            seed=seed,
            minutes=40,
            options=SimOptions.short(awakenings_per_h=8.0, myoclonic_jerks_per_h=10.0, ecg_artifact_uv=30.0),
        )
        out.append((night, run(night)))
    return out


# ---------------------------------------------------------------- fragmentary myoclonus
def test_fm_f1_at_least_0_90_with_strong_ecg_artefact(adult):
    night, res = adult
    fm = res.fragmentary.events
    truth = pd.DataFrame(night.truth["fragmentary_myoclonus"])
    assert len(truth) >= 150
    assert abs(night.truth["ecg"]["leak_uv"]["Leg L"]) >= 24.0
    pairs = match_onsets(fm["onset"], truth["onset"], det_key=fm["channel"].astype(str), ref_key=truth["channel"])
    matched = {i for i, _ in pairs}
    # detections on a designed single-muscle jerk burst: FM by the AASM definition, a jerk by design
    jb = jerk_bursts_truth(night.truth)
    rest = [i for i in range(len(fm)) if i not in matched]
    on_jerk = {
        rest[i]
        for i, _ in match_onsets(
            fm["onset"].to_numpy()[rest],
            jb["onset"],
            det_key=fm["channel"].astype(str).to_numpy()[rest],
            ref_key=jb["channel"],
        )
    }
    tp, fp, fn = len(pairs), len(fm) - len(pairs) - len(on_jerk), len(truth) - len(pairs)
    assert f1(tp, fp, fn) >= 0.90, (tp, fp, fn, res.fragmentary.rejected)


def test_fm_near_a_heartbeat_is_kept_unless_it_recurs(adult):
    # ~12% of true potentials fall within ±60 ms of an R peak; the recurrence test keeps them
    night, res = adult
    fm = res.fragmentary.events
    truth = pd.DataFrame(night.truth["fragmentary_myoclonus"])
    r = night.r_peaks
    t = truth["onset"].to_numpy()
    near = np.min(np.abs(t[:, None] - r[None, :]), axis=1) <= 0.06
    assert near.sum() >= 10
    pairs = match_onsets(
        fm["onset"], t[near], det_key=fm["channel"].astype(str), ref_key=truth["channel"].to_numpy()[near]
    )
    assert len(pairs) >= 0.9 * near.sum()


@pytest.mark.parametrize("fm_per_min, efm", [(10.0, True), (2.0, False)])
def test_efm_verdict_matches_truth_above_and_below_the_rule(fm_per_min: float, efm: bool):
    night = simulate_short(seed=3, minutes=30, options=SimOptions.short(fm_per_min=fm_per_min, ecg_artifact_uv=30.0))
    assert night.truth["expected"]["efm"] is efm
    rec = night.to_recording()
    s = get_settings()
    traces = emg_traces(rec, infer_roles(rec.labels), settings=s)
    summary = detect_fragmentary(traces, hypnogram=night.hypnogram, settings=s).summary()
    assert summary["efm"] is efm
    assert abs(summary["efm_minutes"] - night.truth["expected"]["efm_positive_minutes"]) <= 3


# ------------------------------------------------------------------------------ jerks
def test_every_burst_counted_once_fm_or_jerk_and_one_row_per_jerk(adult):
    night, res = adult
    ev = res.events
    jerk_rows = ev[ev["trial_type"].isin(["myoclonic_jerk", "hypnic_jerk"])]
    assert len(jerk_rows) == len(res.jerks.events)
    assert not jerk_rows["onset"].duplicated().any()
    # no FM potential starts where a detected jerk has a muscle burst
    fm = res.fragmentary.events
    rows = []
    for on, chans, lags in zip(jerk_rows["onset"], jerk_rows["channel"].astype(str), jerk_rows["lag_ms"].astype(str)):
        for c, lag in zip(chans.split(","), lags.split(",")):
            rows.append((c, on + float(lag) / 1000.0))
    jb = pd.DataFrame(rows, columns=["channel", "onset"])
    assert (
        match_onsets(fm["onset"], jb["onset"], det_key=fm["channel"].astype(str), ref_key=jb["channel"], tol=0.001)
        == []
    )


def test_multi_muscle_jerk_count_and_extent_match_truth(adult, onsets):
    n_truth = n_det = n_matched = n_extent_ok = 0
    for night, res in [adult, *onsets]:
        ev = res.jerks.events
        multi = ev[ev["n_muscles"] >= 2].reset_index(drop=True)
        truth = [
            dict(j, extent=j.get("extent", "generalized"))
            for j in night.truth["myoclonic_jerks"] + night.truth["hypnic_jerks"]
            if len(j["muscles"]) >= 2
        ]
        pairs = match_onsets(multi["onset"], [j["onset"] for j in truth])
        n_truth += len(truth)
        n_det += len(multi)
        n_matched += len(pairs)
        n_extent_ok += sum(multi.loc[i, "extent"] == truth[j]["extent"] for i, j in pairs)
    assert n_truth >= 25
    assert n_matched >= 0.85 * n_truth, (n_matched, n_truth)
    assert abs(n_det - n_truth) <= 0.15 * n_truth, (n_det, n_truth)
    assert n_extent_ok >= 0.90 * n_matched, (n_extent_ok, n_matched)


def test_myoclonic_jerk_index_is_not_inflated_by_fm(adult):
    night, res = adult
    n_fm = len(night.truth["fragmentary_myoclonus"])
    n_jerks = len(night.truth["myoclonic_jerks"])
    got = res.summary()["jerks"]["count"]
    assert n_fm > 5 * n_jerks
    assert got <= 1.3 * n_jerks, (got, n_jerks)


def test_hypnic_jerk_recall_and_precision_at_least_0_8(onsets):
    tp = n_truth = n_det = 0
    for night, res in onsets:
        hyp = res.jerks.events
        hyp = hyp[hyp["trial_type"] == "hypnic_jerk"]
        truth = [j["onset"] for j in night.truth["hypnic_jerks"]]
        tp += len(match_onsets(hyp["onset"], truth))
        n_truth += len(truth)
        n_det += len(hyp)
        assert res.summary()["hypnic_jerks"]["count"] == len(hyp)
    assert n_truth >= 6
    assert tp / n_truth >= 0.8 and tp / n_det >= 0.8, (tp, n_truth, n_det)


# --------------------------------------------------------------------------- clusters
def test_infant_cluster_rate_within_0_2_hz():
    night = simulate_night(seed=0, hours=0.5, fs=256.0, options=SimOptions.infant(clusters_per_h=16.0))
    res = run(night)
    cl = res.clusters.events
    truth = night.truth["clusters"]
    assert len(truth) >= 4
    found = 0
    for c in truth:
        ov = cl[(cl["onset"] < c["onset"] + c["duration"]) & (cl["onset"] + cl["duration"] > c["onset"])]
        if len(ov):
            found += 1
            best = ov.loc[ov["n_jerks"].idxmax()]
            assert abs(best["rate_hz"] - c["rate_hz"]) <= 0.2, (best["rate_hz"], c)
            # ~5-Hz clusters carried by the arms (the legs join a jerk only after 1 s of quiet, so
            # they never sum into an LM): the mains remover's 1.1-s running median sees burst energy
            # in every 0.1-s block, and its residue fuses some 40-100-ms gaps (seed 0: 73 of 85 jerks
            # at 4.96 Hz; 84 of 85 without mains hum) [known limitation of signal.filters.remove_mains]
            assert abs(best["n_jerks"] - c["n_jerks"]) <= max(2, 0.15 * c["n_jerks"])
    assert found >= 0.8 * len(truth)
    assert len(cl) <= len(truth) + 1


# ----------------------------------------------------------------- negative myoclonus
def _silence_depths(night: Any, res: Any) -> pd.DataFrame:
    """Per designed silence: mean envelope inside / median envelope in the second before."""
    s = get_settings()
    rec = night.to_recording()
    traces = {t.label: t for t in emg_traces(rec, infer_roles(rec.labels), settings=s)}
    rows = []
    for e in night.truth["negative_myoclonus"]:
        t = traces[e["channel"]]
        i0, i1 = int(round(e["onset"] * t.fs)), int(round((e["onset"] + e["duration"]) * t.fs))
        rows.append({**e, "depth": float(t.envelope[i0:i1].mean() / np.median(t.envelope[i0 - int(t.fs) : i0]))})
    return pd.DataFrame(rows)


def test_silences_are_deep_on_every_channel_once_mains_hum_is_removed_everywhere(adult):
    # 2-µV hum left on a channel (per-channel hum detection misses it under tonic EMG) fills a
    # silence to ~1.3 µV, 35-45% of a 4-µV tonic: emg_traces removes the recording's mains on
    # every channel, and then every designed silence drops well below the 35% criterion
    night, res = adult
    d = _silence_depths(night, res)
    drop = get_settings().myoclonus.nm_drop_fraction
    assert len(d) >= 15 and "N1" in set(d["stage"])
    for (ch, stage), g in d.groupby(["channel", "stage"]):
        assert g["depth"].median() < drop, (ch, stage, g["depth"].median())


def test_negative_myoclonus_f1_at_least_0_85(adult):
    from somnomyo.score.agreement import match_events

    night, res = adult
    truth = pd.DataFrame(night.truth["negative_myoclonus"])
    det = res.negative.events.reset_index(drop=True)
    ag = match_events(det, truth, min_iou=0.5, by="channel")
    assert len(truth) >= 15
    assert ag.f1 >= 0.85, ag.to_dict()


def test_negative_myoclonus_needs_tonic_activity_none_in_n2_n3_rem(adult):
    _, res = adult
    assert set(res.negative.events["stage"]) <= {"W", "N1"}
