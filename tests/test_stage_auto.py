"""Automatic staging (YASA), the EMG wake/sleep fallback, and hypnogram agreement."""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from somnomyo.errors import ChannelError, SomnomyoError
from somnomyo.io.annotations import Hypnogram
from somnomyo.io.recording import ChannelInfo, Recording, Signal
from somnomyo.stage import (
    AutoStagingSettings,
    EmgWakeSettings,
    agreement,
    epoch_activity,
    pick_eeg,
    stage_auto,
    stage_from_emg,
)
from somnomyo.stage.auto import MISSING_EXTRA

HAS_YASA = importlib.util.find_spec("yasa") is not None and importlib.util.find_spec("mne") is not None
needs_yasa = pytest.mark.skipif(not HAS_YASA, reason="yasa/mne not installed (the optional 'staging' extra)")


def make_recording(
    signals: dict[str, tuple[np.ndarray, float]],
    *,
    duration: float | None = None,
    extra_labels: tuple[str, ...] = (),
    gaps: list[tuple[float, float]] | None = None,
) -> Recording:
    sigs = {lab: Signal(lab, np.asarray(x, dtype=float), fs) for lab, (x, fs) in signals.items()}
    if duration is None:
        duration = max(s.duration for s in sigs.values())
    chans = [ChannelInfo(lab, s.fs, "uV") for lab, s in sigs.items()]
    chans += [ChannelInfo(lab, 1.0, "") for lab in extra_labels]
    return Recording(
        path=Path("night.edf"), start=None, duration=duration, channels=chans, signals=sigs, gaps=list(gaps or [])
    )


def synthetic_eeg(seconds: float, fs: float, seed: int) -> np.ndarray:
    """Awake-looking EEG: 1/f background plus a 10-Hz alpha rhythm, in µV."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * fs))
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / fs)
    spec[1:] /= np.sqrt(f[1:])
    spec[0] = 0
    bg = np.fft.irfft(spec, n)
    bg *= 15.0 / bg.std()
    t = np.arange(n) / fs
    return bg + 20.0 * np.sin(2 * np.pi * 10.0 * t)


# --------------------------------------------------------------------------- YASA staging


@needs_yasa
def test_yasa_staging_of_synthetic_eeg_runs_offline_with_probabilities_and_pads_partial_epoch():
    fs = 200.0  # resampled to YASA's 100 Hz
    rec = make_recording(
        {"C4-M1": (synthetic_eeg(345.0, fs, 1), fs), "E1-M2": (synthetic_eeg(345.0, fs, 2) * 0.5, fs)},
        gaps=[(65.0, 10.0)],
    )
    hyp = stage_auto(rec, {"eeg": ["C4-M1"], "eog": ["E1-M2"]}, min_confidence=0.5)
    assert hyp.source == "auto"
    assert hyp.epoch_s == 30.0
    assert hyp.n_epochs == 12  # ceil(345 / 30)
    assert hyp.stages[-1] == "UNS"  # 15-s tail cropped for YASA, padded as UNS
    assert hyp.stages[2] == "UNS"  # epoch 60-90 s overlaps the EDF+D gap
    scored = np.setdiff1d(np.arange(12), [2, 11])
    assert set(hyp.stages[scored]) <= {"W", "N1", "N2", "N3", "R"}
    p = hyp.probabilities
    assert list(p.columns) == ["W", "N1", "N2", "N3", "R", "confidence", "low_confidence"]
    assert len(p) == 12
    probs = p[["W", "N1", "N2", "N3", "R"]].to_numpy()
    np.testing.assert_allclose(probs[scored].sum(axis=1), 1.0, atol=1e-6)
    # the predicted stage is the most probable one, and confidence is its probability
    best = np.array(["W", "N1", "N2", "N3", "R"])[probs[scored].argmax(axis=1)]
    assert (best == hyp.stages[scored]).all()
    np.testing.assert_allclose(p["confidence"].to_numpy()[scored], probs[scored].max(axis=1))
    assert (p["low_confidence"].to_numpy()[scored] == (probs[scored].max(axis=1) < 0.5)).all()
    assert np.isnan(probs[[2, 11]]).all() and p["low_confidence"].iloc[[2, 11]].all()


@needs_yasa
def test_min_confidence_marks_epochs_below_it_as_low_confidence():
    fs = 100.0
    rec = make_recording({"C3-M2": (synthetic_eeg(300.0, fs, 3), fs)})
    hyp = stage_auto(rec, {"eeg": ["C3-M2"]}, min_confidence=1.0)  # nothing reaches certainty 1
    assert hyp.probabilities["low_confidence"].all()
    conf = hyp.probabilities["confidence"].to_numpy()
    cut = float(np.median(conf))
    hyp2 = stage_auto(rec, {"eeg": ["C3-M2"]}, min_confidence=cut)
    assert (hyp2.probabilities["low_confidence"].to_numpy() == (conf < cut)).all()
    assert not hyp2.probabilities["low_confidence"].to_numpy()[conf == conf.max()].any()


@needs_yasa
def test_yasa_needs_5_min_of_whole_epochs_299_s_is_too_short():
    fs = 100.0
    rec = make_recording({"C4-M1": (synthetic_eeg(299.0, fs, 4), fs)})  # 9 whole epochs = 4.5 min
    with pytest.raises(SomnomyoError) as err:
        stage_auto(rec, {"eeg": ["C4-M1"]})
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("night.edf: ") and "at least 5 min" in msg and "C4-M1" in msg
    assert AutoStagingSettings().min_duration_s == 300.0


def _expert_sleep_edf(path: Path, n_epochs: int) -> Hypnogram:
    from somnomyo.io.edf import read_annotations

    ann = read_annotations(path)  # [(onset, duration, "Sleep stage W"), ...]
    onsets = np.array([a[0] for a in ann])
    code = {"W": "W", "1": "N1", "2": "N2", "3": "N3", "4": "N3", "R": "R"}
    labels = np.array([code.get(a[2].replace("Sleep stage ", ""), "UNS") for a in ann])
    centres = (np.arange(n_epochs) + 0.5) * 30.0
    idx = np.searchsorted(onsets, centres, side="right") - 1
    return Hypnogram(labels[idx], epoch_s=30.0, source="annotations", path=str(path))


@needs_yasa
def test_yasa_on_real_sleep_edf_excerpt_agrees_with_expert_wake(real_dir):
    from somnomyo.io.edf import read_edf

    psg = real_dir / "sleep-edf" / "short_psg.edf"
    rec = read_edf(psg, ["EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal", "EMG submental"])
    assert rec.duration == 300.0  # exactly YASA's 5-min minimum
    roles = {"eeg": ["EEG Fpz-Cz", "EEG Pz-Oz"], "eog": ["EOG horizontal"], "chin": ["EMG submental"]}
    try:
        from somnomyo.io.channels import infer_roles

        roles = infer_roles(rec.labels)  # the ChannelRoles object the pipeline passes
    except ImportError:
        pass
    hyp = stage_auto(rec, roles)  # 1-Hz "EMG submental" envelope is skipped
    assert hyp.n_epochs == 10 and hyp.source == "auto"
    expert = _expert_sleep_edf(real_dir / "sleep-edf" / "SC4001EC-Hypnogram.edf", 10)
    assert (expert.stages == "W").all()  # the night starts awake
    res = agreement(hyp, expert)
    print("Sleep-EDF excerpt vs expert:", res["accuracy"], hyp.stages.tolist())
    assert res["n_epochs"] == 10
    assert res["accuracy"] >= 0.8
    assert sum(res["confusion"]["W"].values()) == 10


# --------------------------------------------------------------------------- errors and channel choice


def test_missing_staging_extra_gives_one_line_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "yasa", None)  # makes `import yasa` raise ImportError
    rec = make_recording({"C4-M1": (np.zeros(30000), 100.0)})
    with pytest.raises(SomnomyoError) as err:
        stage_auto(rec, {"eeg": ["C4-M1"]})
    assert str(err.value) == "automatic staging needs the 'staging' extra: pip install 'somnomyo[staging]'"
    assert str(err.value) == MISSING_EXTRA


def test_no_eeg_and_no_emg_raises_error_listing_the_channels():
    rec = make_recording({"Flow": (np.zeros(3000), 10.0)}, extra_labels=("SpO2", "Position"))
    with pytest.raises(ChannelError) as err:
        stage_auto(rec, {"respiratory": ["Flow", "SpO2"], "position": ["Position"]})
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("night.edf: ")
    assert "need a hypnogram" in msg and "Flow, SpO2, Position" in msg


def test_chin_envelope_at_1_hz_is_not_usable_emg_so_error():
    rec = make_recording({"EMG submental": (np.ones(600), 1.0)})
    with pytest.raises(ChannelError, match="EMG submental"):
        stage_auto(rec, {"chin": ["EMG submental"]})


def test_epoch_length_other_than_30_s_is_rejected_listing_the_allowed_value():
    rec = make_recording({"C4-M1": (np.zeros(30000), 100.0)})
    with pytest.raises(ValueError, match="30.0"):
        stage_auto(rec, {"eeg": ["C4-M1"]}, epoch_s=20.0)


@pytest.mark.parametrize(
    "labels, expected",
    [
        (["EEG Fpz-Cz", "EEG Pz-Oz"], "EEG Fpz-Cz"),  # Sleep-EDF: frontal over parietal
        (["Fp2-F4", "F4-C4", "C4-P4", "P4-O2", "F8-T4"], "C4-P4"),  # CAP: central first
        (["O1-M2", "F3-M2", "C3-M2", "C4-M1"], "C3-M2"),  # preferred, first in file order
        (["Pz-Oz", "EEG C4-A1"], "EEG C4-A1"),
        (["C4:M1", "Cz"], "C4:M1"),
        (["O1-M2", "O2-M1"], "O1-M2"),  # any EEG when nothing better
    ],
)
def test_eeg_choice_prefers_c4_m1_c3_m2_then_central_then_frontal(labels, expected):
    sigs = [Signal(lab, np.zeros(10), 100.0) for lab in labels]
    assert pick_eeg(sigs).label == expected


def test_eeg_sampled_too_slowly_falls_back_to_emg_estimate():
    fs = 200.0
    rng = np.random.default_rng(7)
    chin = rng.standard_normal(int(300 * fs)) * 3.0
    rec = make_recording({"EEG": (np.zeros(300 * 20), 20.0), "Chin": (chin, fs)})
    hyp = stage_auto(rec, {"eeg": ["EEG"], "chin": ["Chin"]})
    assert hyp.source == "emg_estimate"


# --------------------------------------------------------------------------- EMG fallback


def emg_night(fs: float = 200.0) -> tuple[Recording, dict[str, list[str]]]:
    """12 epochs + 10 s tail. Chin: epochs 0-2 active (wake), epoch 5 active 16 s, epoch 7 active 15 s.
    Leg: one 5-s leg movement in epoch 9 (sleep), else quiet."""
    rng = np.random.default_rng(11)
    dur = 12 * 30 + 10
    n = int(dur * fs)
    t = np.arange(n) / fs
    chin = rng.standard_normal(n) * 3.0
    leg = rng.standard_normal(n) * 2.0
    loud = (t < 90) | ((t >= 150) & (t < 166)) | ((t >= 210) & (t < 225))
    chin[loud] = rng.standard_normal(int(loud.sum())) * 30.0
    lm = (t >= 272) & (t < 277)
    leg[lm] = rng.standard_normal(int(lm.sum())) * 40.0
    rec = make_recording({"Chin1-Chin2": (chin, fs), "Leg L": (leg, fs)}, duration=dur)
    return rec, {"chin": ["Chin1-Chin2"], "leg_left": ["Leg L"], "eeg": []}


def test_emg_fallback_labels_active_epochs_wake_and_quiet_epochs_sleep(caplog):
    rec, roles = emg_night()
    with caplog.at_level(logging.WARNING, logger="somnomyo"):
        hyp = stage_auto(rec, roles)
    assert hyp.source == "emg_estimate" and hyp.probabilities is None
    assert hyp.n_epochs == 13
    expected = ["W", "W", "W", "N2", "N2", "W", "N2", "N2", "N2", "N2", "N2", "N2", "UNS"]
    assert hyp.stages.tolist() == expected
    assert any("ROUGHLY" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_emg_more_than_half_the_epoch_active_is_wake_16_s_yes_15_s_no():
    rec, roles = emg_night()
    frac = epoch_activity(rec["Chin1-Chin2"], 12)
    assert frac[5] == pytest.approx(16 / 30) and frac[7] == pytest.approx(15 / 30)
    hyp = stage_from_emg(rec, roles)
    assert EmgWakeSettings().wake_active_fraction == 0.5
    assert hyp.stages[5] == "W" and hyp.stages[7] == "N2"


def test_emg_leg_movement_in_sleep_does_not_make_the_epoch_wake():
    rec, roles = emg_night()
    frac = epoch_activity(rec["Leg L"], 12)
    assert frac[9] == pytest.approx(5 / 30)
    assert stage_from_emg(rec, roles).stages[9] == "N2"


def test_emg_sleep_label_is_a_documented_choice_and_checked():
    rec, roles = emg_night()
    hyp = stage_from_emg(rec, roles, sleep_stage="N1")
    assert set(hyp.stages[:12]) == {"W", "N1"}
    with pytest.raises(ValueError, match="'N1', 'N2', 'N3', 'R'"):
        stage_from_emg(rec, roles, sleep_stage="S")


def test_emg_estimate_epochs_overlapping_a_gap_are_unscored():
    rec, roles = emg_night()
    rec.gaps = [(95.0, 5.0)]
    hyp = stage_from_emg(rec, roles)
    assert hyp.stages[3] == "UNS" and hyp.stages[4] == "N2"


def test_emg_fallback_accepts_a_channel_roles_object():
    rec, roles = emg_night()

    class Roles:
        def all(self, role: str) -> list[str]:
            return list(roles.get(role, []))

    assert (stage_auto(rec, Roles()).stages == stage_auto(rec, roles).stages).all()


# --------------------------------------------------------------------------- agreement


def H(stages: list[str], **kw) -> Hypnogram:
    return Hypnogram(np.array(stages), **kw)


def test_agreement_accuracy_kappa_and_confusion_on_hand_made_hypnograms():
    expert = H(["W", "W", "N2", "N2", "R", "UNS"])
    auto = H(["W", "N2", "N2", "N2", "R", "W"])
    res = agreement(auto, expert)
    assert res["n_epochs"] == 5  # the expert's UNS epoch is left out
    assert res["accuracy"] == pytest.approx(4 / 5)
    # p_o = 0.8; p_e = (2*1 + 2*3 + 1*1) / 25 = 0.36; kappa = 0.44 / 0.64
    assert res["kappa"] == pytest.approx(0.6875)
    assert res["confusion"]["W"] == {"W": 1, "N1": 0, "N2": 1, "N3": 0, "R": 0}
    assert res["confusion"]["N2"]["N2"] == 2 and res["confusion"]["R"]["R"] == 1
    assert sum(sum(row.values()) for row in res["confusion"].values()) == 5


def test_agreement_perfect_is_kappa_1_and_constant_agreement_has_undefined_kappa():
    h = H(["W", "N1", "N2", "N3", "R"])
    assert agreement(h, h)["kappa"] == pytest.approx(1.0)
    assert agreement(h, h)["accuracy"] == 1.0
    w = H(["W"] * 4)
    res = agreement(w, w)
    assert res["accuracy"] == 1.0 and res["kappa"] is None


def test_agreement_chance_level_gives_kappa_0_and_nothing_in_common_gives_none():
    expert = H(["W", "W", "N2", "N2"])
    auto = H(["W", "N2", "W", "N2"])
    assert agreement(auto, expert)["kappa"] == pytest.approx(0.0)
    res = agreement(H(["UNS", "UNS"]), expert)
    assert res["n_epochs"] == 0 and res["accuracy"] is None and res["kappa"] is None


def test_agreement_aligns_epochs_by_time():
    expert = H(["W", "N1", "N2", "N3"], start=30.0)  # expert starts one epoch later
    auto = H(["R", "W", "N1", "N2", "N3"])
    res = agreement(auto, expert)
    assert res["n_epochs"] == 4 and res["accuracy"] == 1.0
