"""End-to-end behaviour of ``score_night`` and ``somnomyo score`` beyond the known-truth checks."""

from __future__ import annotations

import json

import pytest

from somnomyo.cli import main
from somnomyo.pipeline import score_night
from somnomyo.simulate import simulate_short


@pytest.fixture(scope="module")
def short_night(tmp_path_factory):
    out = tmp_path_factory.mktemp("short")
    night = simulate_short(seed=4, minutes=12)
    return night, night.write(out)


def test_summary_names_the_standard_settings_channels_and_stage_source(short_night):
    _, paths = short_night
    result = score_night(paths["edf"], standard="aasm", detectors=("plm",))
    s = result.summary()
    json.dumps(s)
    assert s["plm"]["standard"] == "aasm" and s["settings"]["standard"] == "aasm"
    assert s["settings"]["plm"]["imi_min_s"] == 5.0
    assert s["channels"]["roles"]["leg_left"] == ["Leg L"]
    assert s["stages"]["source"] == "annotations"


def test_no_hypnogram_without_staging_leaves_epochs_unscored_and_says_so(short_night, tmp_path, monkeypatch):
    import somnomyo.pipeline as pipeline
    from somnomyo.io.edf import read_edf
    from somnomyo.io.edf_write import write_edf

    _, paths = short_night
    rec = read_edf(paths["edf"], annotations=False)
    bare = write_edf(tmp_path / "bare.edf", list(rec.signals.values()), start=rec.start)
    monkeypatch.setattr(pipeline, "_auto_staging_available", lambda: False)
    result = score_night(bare, detectors=("plm",))
    assert result.hypnogram.source == "none"
    assert result.blocks["plm"]["plms_index"] is None
    assert any("no hypnogram" in w for w in result.warnings)


def test_stages_auto_marks_every_output_as_automatic(short_night, tmp_path):
    pytest.importorskip("yasa", reason="automatic staging needs the 'staging' extra")
    _, paths = short_night
    out = tmp_path / "auto"
    rc = main(["score", str(paths["edf"]), "--out", str(out), "--stages", "auto", "-q"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stages"]["source"] == "auto"
    assert any("automatically" in w for w in summary["warnings"])
    assert "automatic" in (out / "report.html").read_text().lower()


def test_channel_override_is_used_and_reported(short_night, tmp_path):
    _, paths = short_night
    out = tmp_path / "swap"
    rc = main(
        [
            "score",
            str(paths["edf"]),
            "--out",
            str(out),
            "-q",
            "--channel",
            "leg_left=Leg R",
            "--channel",
            "leg_right=Leg L",
        ]
    )
    assert rc == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["channels"]["roles"]["leg_left"] == ["Leg R"]
    assert s["channels"]["overridden"]


def test_no_leg_channel_is_a_one_line_error_listing_the_channels(real_dir, tmp_path, capsys):
    rc = main(["score", str(real_dir / "sleep-edf" / "short_psg.edf"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "short_psg.edf" in err[0] and "EEG Fpz-Cz" in err[0] and "leg" in err[0]
    assert not (tmp_path / "o").exists()


def _with_slow_channel(paths, tmp_path, label: str):
    """The short night with ``label`` replaced by a 1-Hz envelope of itself (as Sleep-EDF's chin)."""
    import numpy as np

    from somnomyo.io.edf import read_edf
    from somnomyo.io.edf_write import write_edf
    from somnomyo.io.recording import Signal

    rec = read_edf(paths["edf"])
    sigs = []
    for lab, sig in rec.signals.items():
        if lab == label:
            per = int(sig.fs)
            env = np.abs(sig.data[: sig.data.size // per * per]).reshape(-1, per).mean(axis=1)
            sig = Signal(lab, env, 1.0, unit=sig.unit)
        sigs.append(sig)
    return write_edf(tmp_path / "slow.edf", sigs, start=rec.start, annotations=rec.annotations)


def test_emg_channel_sampled_too_slowly_for_the_emg_band_is_set_aside_with_a_warning(short_night, tmp_path):
    _, paths = short_night
    edf = _with_slow_channel(paths, tmp_path, "EMG Chin")
    result = score_night(edf, annotations=paths["annotations"])
    s = result.summary()
    assert "EMG Chin" in s["channels"]["roles"]["other"] and not s["channels"]["roles"]["chin"]
    assert any("EMG Chin: sampled at 1 Hz, too slow for EMG" in w for w in result.warnings)
    assert "EMG Chin" not in s["quality"]["channels"]
    assert s["plm"]["lm_count"] >= 0 and len(result.events)  # the legs are scored as before


def test_leg_channel_sampled_too_slowly_is_a_one_line_error_saying_so(short_night, tmp_path, capsys):
    from somnomyo.io.edf import read_edf
    from somnomyo.io.edf_write import write_edf

    _, paths = short_night
    edf = _with_slow_channel(paths, tmp_path, "Leg L")
    result = score_night(edf, annotations=paths["annotations"], detectors=("plm",))
    assert "Leg L" in result.summary()["channels"]["roles"]["other"]  # the other leg is still scored
    assert result.summary()["channels"]["roles"]["leg_right"] == ["Leg R"]
    rec = read_edf(edf)
    only = write_edf(
        tmp_path / "one-slow-leg.edf", [s for k, s in rec.signals.items() if k != "Leg R"], start=rec.start
    )
    code = main(["score", str(only), "--out", str(tmp_path / "out"), "--detectors", "plm", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert str(only) in err and "Leg L is sampled at 1 Hz, too slow for EMG" in err
    assert not (tmp_path / "out").exists()
