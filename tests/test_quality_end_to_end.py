"""Signal quality end to end: a leg channel that goes flat for an hour is flagged, excluded from the
denominators, and shown in the report."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from somnomyo.cli import main
from somnomyo.io.edf_write import write_edf
from somnomyo.settings_quality import QualitySettings
from somnomyo.simulate import simulate_night


@pytest.fixture(scope="module")
def flat_hour_night(tmp_path_factory):
    out = tmp_path_factory.mktemp("flat")
    night = simulate_night(seed=21, hours=2.5)
    signals = []
    for sig in night.signals:
        if sig.label == "Leg L":
            sig = type(sig)(sig.label, sig.data.copy(), sig.fs, sig.unit)
            a, b = int(3600 * sig.fs), int(7200 * sig.fs)
            sig.data[a:b] = 0.0  # electrode off: a flat line from 1 h to 2 h
        signals.append(sig)
    edf = write_edf(out / "night.edf", signals, start=dt_start(night), annotations=night.annotations)
    rc = main(["score", str(edf), "--out", str(out / "scored"), "-q"])
    assert rc == 0
    return night, out / "scored"


def dt_start(night):
    import datetime as dt

    return dt.datetime.fromisoformat(night.truth["start"]) if night.truth.get("start") else None


def test_flat_hour_is_flagged_on_that_channel_only(flat_hour_night):
    _, out = flat_hour_night
    q = json.loads((out / "summary.json").read_text())["quality"]["channels"]
    assert 3500 <= q["Leg L"]["unscorable_s"]["flat"] <= 3700
    assert not q["Leg R"]["unscorable_s"].get("flat")


def test_flat_hour_is_excluded_from_the_plm_denominators(flat_hour_night):
    night, out = flat_hour_night
    plm = json.loads((out / "summary.json").read_text())["plm"]
    hyp = night.hypnogram.stages
    sleep_in_flat_h = np.isin(hyp[120:240], ["N1", "N2", "N3", "R"]).sum() * 30 / 3600
    assert plm["scorable_tst_h"] == pytest.approx(plm["tst_h"] - sleep_in_flat_h, abs=0.05)
    assert plm["unscorable_h"] == pytest.approx(1.0, abs=0.05)


def test_report_shows_the_flat_flag(flat_hour_night):
    _, out = flat_hour_night
    html = (out / "report.html").read_text()
    assert "flat" in html and "Leg L" in html


# ------------------------------------------------------------------ thresholds from the one settings object
QUIET = (60.0, 120.0)  # a quiet Leg L stretch (SD ~0.5 µV) on whole 5-s quality windows


@pytest.fixture(scope="module")
def quiet_stretch_night(tmp_path_factory):
    """A short night whose Leg L holds 60 s of low-level noise, far above the default flat SD floor
    (0.05 µV) and far below the EMG background; and the SDs of its 5-s windows as stored in the EDF."""
    from somnomyo.io.edf import read_edf
    from somnomyo.simulate import simulate_short

    out = tmp_path_factory.mktemp("quiet")
    night = simulate_short(seed=7, minutes=4)
    signals = []
    for sig in night.signals:
        if sig.label == "Leg L":
            sig = type(sig)(sig.label, sig.data.copy(), sig.fs, sig.unit)
            a, b = int(QUIET[0] * sig.fs), int(QUIET[1] * sig.fs)
            sig.data[a:b] = np.random.default_rng(3).normal(0.0, 0.5, b - a)
        signals.append(sig)
    edf = write_edf(out / "night.edf", signals, start=dt_start(night), annotations=night.annotations)
    leg = read_edf(edf, channels=["Leg L"], annotations=False, dtype="float32").signals["Leg L"]
    w = int(5 * leg.fs)
    stretch = leg.data[int(QUIET[0] * leg.fs) : int(QUIET[1] * leg.fs)].astype(np.float64)
    sds = stretch.reshape(-1, w).std(axis=1)
    whole = leg.data[: leg.data.size // w * w].astype(np.float64).reshape(-1, w).std(axis=1)
    assert whole[whole > sds.max()].min() > 2 * sds.max()  # every other window is far above the stretch
    return edf, sds


def _flat_s(edf, **quality) -> tuple[float, dict]:
    from somnomyo.pipeline import score_night
    from somnomyo.settings import get_settings

    settings = get_settings().with_overrides(quality=quality) if quality else None
    s = score_night(edf, settings=settings, detectors=("plm",)).summary()
    return s["quality"]["channels"]["Leg L"]["flagged_s"]["flat"], s


def test_flat_sd_floor_from_settings_quality_flags_a_stretch_just_below_it(quiet_stretch_night):
    edf, sds = quiet_stretch_night
    flat, summary = _flat_s(edf, flat_std_uv=float(sds.max()) * 1.01)
    assert flat == pytest.approx(QUIET[1] - QUIET[0])
    assert summary["quality"]["channels"]["Leg L"]["unscorable_s"]["flat"] == pytest.approx(QUIET[1] - QUIET[0])
    assert summary["settings"]["quality"]["flat_std_uv"] == pytest.approx(float(sds.max()) * 1.01)
    assert not summary["quality"]["channels"]["Leg R"]["flagged_s"]["flat"]


def test_flat_sd_floor_from_settings_quality_leaves_a_stretch_just_above_it(quiet_stretch_night):
    edf, sds = quiet_stretch_night
    assert _flat_s(edf, flat_std_uv=float(sds.min()) * 0.99)[0] == 0.0
    flat, summary = _flat_s(edf)  # the default floor, 0.05 µV
    assert flat == 0.0
    assert summary["settings"]["quality"] == {
        k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(QualitySettings()).items()
    }
