"""Rescoring from an event table (``somnomyo.rescore``): the same scoring code as ``score``."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from somnomyo.errors import SomnomyoError
from somnomyo.events import read_events_tsv, write_events_tsv
from somnomyo.pipeline import score_night
from somnomyo.rescore import ScoringContext, rescore, rescore_folder
from somnomyo.score.plm import score_plm
from somnomyo.simulate import SimOptions, simulate_night
from somnomyo.steps._context import intervals_from_json

DENSE = dict(fm_per_min=4.0, apneas_per_h=8.0, plm_series_per_h=4.0, respiratory_lm_prob=0.5)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    root = tmp_path_factory.mktemp("rescore")
    night = simulate_night(seed=12, hours=1.0, options=SimOptions().with_(**DENSE))
    paths = night.write(root / "sim")
    result = score_night(paths["edf"])
    result.write(root / "results")
    return result, root / "results"


def _flat(d, prefix=""):
    if isinstance(d, dict):
        out = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(d, list):
        out = {}
        for i, v in enumerate(d):
            out.update(_flat(v, f"{prefix}[{i}]"))
        return out
    return {prefix: d}


def _differences(expected: dict, got: dict) -> list[str]:
    """Every key of ``expected`` whose value ``got`` lacks or differs in (floats to 1e-9)."""
    a, b = _flat(expected), _flat(got)
    out = []
    for key, va in a.items():
        vb = b.get(key, "<missing>")
        if isinstance(va, float) and isinstance(vb, float):
            if not math.isclose(va, vb, rel_tol=0.0, abs_tol=1e-9):
                out.append(f"{key}: {va!r} -> {vb!r}")
        elif va != vb:
            out.append(f"{key}: {va!r} -> {vb!r}")
    return out


def test_rescoring_a_nights_own_events_gives_its_summary_and_events(scored):
    result, _ = scored
    again = rescore(result.events, result.context())
    assert _differences(result.summary(), again.summary()) == []
    pd.testing.assert_frame_equal(again.events, result.events)
    kinds = set(result.events["trial_type"].astype(str))
    assert {"leg_movement", "fragmentary_myoclonus"} <= kinds and result.blocks["plm"]["plms_count"] > 0


def test_rescoring_events_tsv_with_context_json_gives_summary_json(scored):
    _, folder = scored
    again = rescore_folder(folder, read_events_tsv(folder / "events.tsv"))
    assert _differences(json.loads((folder / "summary.json").read_text()), again.summary()) == []
    write_events_tsv(again.events, folder.parent / "again.tsv")
    assert (folder.parent / "again.tsv").read_text() == (folder / "events.tsv").read_text()


def test_scoring_context_survives_the_json_round_trip(scored):
    result, folder = scored
    ctx = result.context()
    back = ScoringContext.from_json(json.loads(json.dumps(ctx.to_json())))
    assert back.to_json() == ctx.to_json()
    assert back.settings == result.settings
    assert list(back.hypnogram.stages) == list(result.hypnogram.stages)
    assert back.hypnogram.epoch_s == result.hypnogram.epoch_s and back.hypnogram.source == result.hypnogram.source
    pd.testing.assert_frame_equal(back.annotations.respiratory, result.annotations.respiratory, check_dtype=False)
    assert back.annotations.lights_off == result.annotations.lights_off
    assert back.roles.to_dict() == result.roles.to_dict()
    assert ScoringContext.from_folder(folder).to_json() == ctx.to_json()


def test_review_reject_lm_breaks_plm_series_as_if_absent(scored):
    result, _ = scored
    ctx = result.context()
    ev = result.events
    lms = ev.loc[ev["trial_type"] == "leg_movement"]
    periodic = lms.index[lms["periodic"].fillna(False).to_numpy(dtype=bool)]
    row = periodic[len(periodic) // 2]
    got = rescore(ev.drop(index=[row]), ctx)
    absent = score_plm(
        lms.drop(index=[row]),
        duration_s=ctx.duration_s,
        hypnogram=ctx.hypnogram,
        annotations=ctx.annotations,
        unscorable=intervals_from_json(ctx.step("plm")["unscorable"]),
        settings=ctx.settings,
    )
    assert _differences(absent.summary(), got.summary()["plm"]) == []
    legs = got.events.loc[got.events["trial_type"] == "leg_movement"].reset_index(drop=True)
    pd.testing.assert_frame_equal(legs[absent.events.columns], absent.events)
    before = result.blocks["plm"]
    assert got.summary()["plm"]["plms_count"] < before["plms_count"]
    assert got.summary()["plm"]["lm_count"] == before["lm_count"] - (1 if not bool(lms.loc[row, "bilateral"]) else 0)


def test_review_added_event_gets_the_stage_and_arousal_of_its_onset(scored):
    result, _ = scored
    ctx = result.context()
    t = float(ctx.hypnogram.start + np.flatnonzero(ctx.hypnogram.stages == "N2")[3] * ctx.hypnogram.epoch_s + 7.0)
    chan = result.events.loc[result.events["trial_type"] == "fragmentary_myoclonus", "channel"].iloc[0]
    added = pd.DataFrame({"onset": [t], "duration": [0.1], "trial_type": ["fragmentary_myoclonus"], "channel": [chan]})
    got = rescore(pd.concat([result.events, added], ignore_index=True), ctx)
    row = got.events.loc[(got.events["onset"] == t) & (got.events["trial_type"] == "fragmentary_myoclonus")]
    assert len(row) == 1 and row["stage"].iloc[0] == "N2" and not pd.isna(row["arousal"].iloc[0])
    assert got.summary()["fragmentary_myoclonus"]["count"] == result.blocks["fragmentary_myoclonus"]["count"] + 1


def test_rescored_summary_names_the_cortical_block_as_not_recomputed_and_score_does_not(scored):
    result, _ = scored
    got = rescore(result.events, result.context()).summary()
    assert "cortical" in got["rescored"]["not_recomputed"]
    assert got["cortical"] == result.summary()["cortical"]
    assert "rescored" not in result.summary()


def test_rescore_refuses_an_event_kind_no_detector_run_scores(scored):
    result, _ = scored
    bad = pd.concat(
        [result.events, pd.DataFrame({"onset": [1.0], "duration": [1.0], "trial_type": ["sneeze"]})], ignore_index=True
    )
    with pytest.raises(SomnomyoError, match="sneeze.*allowed: leg_movement"):
        rescore(bad, result.context())
    with pytest.raises(SomnomyoError, match="fragmentary_myoclonus.*allowed: leg_movement$"):
        rescore(result.events, result.context(), detectors=("plm",))


def test_rescore_plm_only_scores_the_leg_movements_alone(scored):
    result, _ = scored
    legs = result.events.loc[result.events["trial_type"] == "leg_movement"]
    got = rescore(legs, result.context(), detectors=("plm",))
    assert _differences(result.blocks["plm"], got.summary()["plm"]) == []
    assert "fragmentary_myoclonus" not in got.summary()


def test_rescore_folder_without_context_is_a_one_line_error(tmp_path):
    with pytest.raises(SomnomyoError, match="no context.json") as err:
        rescore_folder(tmp_path, pd.DataFrame({"onset": [], "duration": [], "trial_type": []}))
    assert "\n" not in str(err.value)


@pytest.fixture(scope="module")
def short_edf(tmp_path_factory):
    from somnomyo.simulate import simulate_short

    return simulate_short(seed=4, minutes=12).write(tmp_path_factory.mktemp("short"))["edf"]


@pytest.mark.parametrize("how", ["aasm_infant", "no_hypnogram"])
def test_rescoring_own_events_gives_the_summary_for_other_standards_and_nights(short_edf, tmp_path, how, monkeypatch):
    import somnomyo.pipeline as pipeline

    if how == "no_hypnogram":
        from somnomyo.io.edf import read_edf
        from somnomyo.io.edf_write import write_edf

        rec = read_edf(short_edf, annotations=False)
        bare = write_edf(tmp_path / "bare.edf", list(rec.signals.values()), start=rec.start)
        monkeypatch.setattr(pipeline, "_auto_staging_available", lambda: False)
        result = score_night(bare)
        assert result.hypnogram.source == "none"
    else:
        result = score_night(short_edf, standard="aasm", age="3m")
        assert result.blocks["subject"]["population"] == "infant"
    ctx = ScoringContext.from_json(json.loads(json.dumps(result.context().to_json())))
    again = rescore(result.events, ctx)
    assert _differences(result.summary(), again.summary()) == []
    pd.testing.assert_frame_equal(again.events, result.events)
