"""Issue 8 evidence: a leg channel that goes flat for an hour is flagged, excluded from the
denominators, and shown in the report."""
from __future__ import annotations

import json

import numpy as np
import pytest

from somnomyo.cli import main
from somnomyo.io.edf_write import write_edf
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
            sig.data[a:b] = 0.0          # electrode off: a flat line from 1 h to 2 h
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
