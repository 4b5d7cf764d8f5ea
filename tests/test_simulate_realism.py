"""Realism conditions of the simulator, measured from the generated signals.

* ``emg_texture="biosppy"``: the EMG background and bursts have the spectral shape (Welch)
  and heavy-tailed amplitude distribution of the model fitted to real surface EMG, and of
  the real recordings themselves where ../shared/data/real is present;
* ECG leak strength per channel, heart rate 40-180 bpm, no ECG channel: R-R intervals and
  beat-locked leak amplitudes measured in the signals;
* ``baseline_fluctuation``: the background level varies (SD of log 1-s RMS) where asked;
* the default night stays byte-identical to the simulator before these options existed.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli
from scipy import signal as sps
from scipy.stats import kurtosis

from somnomyo.simulate import SimOptions, SimulatedNight, simulate_night
from somnomyo.simulate.texture import (
    HIGHPASS_HZ,
    HIGHPASS_ORDER,
    activations,
    fit_texture,
    read_text_emg,
    shipped_model,
)

REPO = Path(__file__).resolve().parents[1]
_BASE_COMMIT = "93c2a40"  # the last commit before the realism options
BASE = REPO.parent / "base-93c2a40"  # the code before the realism options (the project's own checkout)
FS = 512.0
EPOCH = 30.0
SHAPE_BAND = (20.0, 100.0)  # spectra are compared after normalizing to their mean here
COMPARE = (15.0, 200.0)  # and compared over this range (below 0.45 fs at 512 Hz)
LINES = ((45.0, 65.0), (190.0, 210.0))  # mains and 200-Hz lines of the real files, left out of comparisons


# --- helpers --------------------------------------------------------------------------------------------
def shape_db(f: np.ndarray, p: np.ndarray) -> np.ndarray:
    sel = (f >= SHAPE_BAND[0]) & (f <= SHAPE_BAND[1])
    return 10.0 * np.log10(p / np.mean(p[sel]))


def compared(f: np.ndarray, *, drop_lines: bool = False) -> np.ndarray:
    sel = (f >= COMPARE[0]) & (f <= COMPARE[1])
    if drop_lines:
        for lo, hi in LINES:
            sel &= ~((f > lo) & (f < hi))
    return sel


def welch_parts(parts: list[np.ndarray], fs: float, nper: int) -> tuple[np.ndarray, np.ndarray]:
    acc, f = None, None
    for x in parts:
        if x.size < nper:
            continue
        f, p = sps.welch(x - np.mean(x), fs, nperseg=nper)
        acc = p if acc is None else acc + p
    assert acc is not None
    return f, acc


def sleep_samples(night: SimulatedNight, label: str) -> np.ndarray:
    s = night.signal(label)
    st = np.repeat(np.asarray(night.truth["stages"]), int(EPOCH * s.fs))[: s.data.size]
    return s.data[: st.size][st != "W"]


def bandpassed(x: np.ndarray, fs: float) -> np.ndarray:
    sos = sps.butter(4, [10.0, 100.0], "bandpass", fs=fs, output="sos")
    return sps.sosfiltfilt(sos, x)


def model_rest_psd(f: np.ndarray) -> np.ndarray:
    hp = 1.0 / (1.0 + (HIGHPASS_HZ / np.maximum(f, 1e-9)) ** (2 * HIGHPASS_ORDER))
    return shipped_model().rest.psd_at(f) * hp


def r_peaks_in(x: np.ndarray, fs: float, height: float) -> np.ndarray:
    peaks, _ = sps.find_peaks(x, height=height, distance=int(0.25 * fs))
    return peaks


def beat_locked_peak(x: np.ndarray, peaks: np.ndarray) -> float:
    """Signed value at the R sample of the beat-locked average (background averages out)."""
    peaks = peaks[(peaks > 10) & (peaks < x.size - 10)]
    return float(np.mean(x[peaks]) - np.mean(x))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- shared nights --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def quiet_texture() -> SimulatedNight:
    return simulate_night(seed=2, hours=0.5, fs=FS, options=SimOptions.quiet(emg_texture="biosppy"))


@pytest.fixture(scope="module")
def quiet_synthetic() -> SimulatedNight:
    return simulate_night(seed=2, hours=0.5, fs=FS, options=SimOptions.quiet())


@pytest.fixture(scope="module")
def lm_texture() -> SimulatedNight:
    return simulate_night(
        seed=2,
        hours=0.5,
        fs=FS,
        options=SimOptions.quiet(
            emg_texture="biosppy", leg_movements=True, isolated_lm_per_h=40.0, wake_lm_per_h=0.0, plm_series_per_h=4.0
        ),
    )


def burst_parts(night: SimulatedNight) -> list[np.ndarray]:
    """The plateau of every designed LM (0.1 s cut at both ends: the envelope edges)."""
    out = []
    for lm in night.truth["leg_movements"]:
        s = night.signal(lm["channel"])
        i0, i1 = int((lm["onset"] + 0.1) * s.fs), int((lm["onset"] + lm["duration"] - 0.1) * s.fs)
        out.append(s.data[i0:i1])
    return out


@pytest.fixture(scope="module")
def real_emg(real_dir: Path) -> dict[str, tuple[np.ndarray, float]]:
    d = real_dir / "biosppy"
    if not (d / "emg_rest.txt").is_file() or not (d / "emg_bursts.txt").is_file():
        pytest.skip(f"real surface EMG not found in {d}")
    return {"rest": read_text_emg(d / "emg_rest.txt"), "bursts": read_text_emg(d / "emg_bursts.txt")}


# --- texture: against the shipped model (always) --------------------------------------------------------
def test_texture_background_has_the_shipped_models_spectral_shape(
    quiet_texture: SimulatedNight, quiet_synthetic: SimulatedNight
) -> None:
    errs = {}
    for name, night in (("biosppy", quiet_texture), ("synthetic", quiet_synthetic)):
        f, p = sps.welch(sleep_samples(night, "Leg L"), FS, nperseg=int(0.256 * FS))
        sel = compared(f)
        errs[name] = np.abs(shape_db(f, p) - shape_db(f, model_rest_psd(f)))[sel]
    assert errs["biosppy"].mean() < 0.5 and errs["biosppy"].max() < 1.5, errs["biosppy"]
    assert errs["synthetic"].mean() > 0.5  # the tolerance tells the two textures apart


def test_texture_background_is_heavy_tailed_like_the_model(
    quiet_texture: SimulatedNight, quiet_synthetic: SimulatedNight
) -> None:
    k_tex = kurtosis(bandpassed(sleep_samples(quiet_texture, "Leg R"), FS), fisher=False)
    k_syn = kurtosis(bandpassed(sleep_samples(quiet_synthetic, "Leg R"), FS), fisher=False)
    assert k_tex == pytest.approx(shipped_model().rest.kurtosis, rel=0.25)
    assert k_syn == pytest.approx(3.0, abs=0.2)


def test_texture_background_level_varies_slowly_like_the_model(
    quiet_texture: SimulatedNight, quiet_synthetic: SimulatedNight
) -> None:
    """SD of log 1-s RMS in sleep: the model's slow variation (plus a little estimation noise)."""
    assert log_rms_sd(quiet_texture, "Leg L", wake=False) == pytest.approx(shipped_model().rest.slow_sd, rel=0.3)
    assert log_rms_sd(quiet_synthetic, "Leg L", wake=False) < 0.1


def test_texture_bursts_have_the_shipped_burst_spectrum(lm_texture: SimulatedNight) -> None:
    parts = burst_parts(lm_texture)
    assert len(parts) >= 10
    f, p = welch_parts(parts, FS, 131)
    err = np.abs(shape_db(f, p) - shape_db(f, shipped_model().burst.psd_at(f)))[compared(f)]
    assert err.mean() < 1.0, err


def test_texture_mode_changes_only_the_texture_not_the_design() -> None:
    a = simulate_night(seed=4, hours=0.25, options=SimOptions.short())
    b = simulate_night(seed=4, hours=0.25, options=SimOptions.short(emg_texture="biosppy"))
    for key in ("leg_movements", "fragmentary_myoclonus", "stages", "arousals", "expected"):
        assert a.truth[key] == b.truth[key], key
    assert not np.allclose(a.signal("Leg L").data, b.signal("Leg L").data)
    assert np.array_equal(a.signal("EEG C3-M2").data, b.signal("EEG C3-M2").data)


def test_texture_lm_amplitudes_are_calibrated_as_in_the_synthetic_mode(lm_texture: SimulatedNight) -> None:
    """Same design, other texture: each LM's RMS after 10-100 Hz (AASM EMG band) is the same."""
    synthetic = simulate_night(seed=2, hours=0.5, fs=FS, options=lm_texture.options.with_(emg_texture="synthetic"))
    ratios = []
    for lm in lm_texture.truth["leg_movements"]:
        i0, i1 = int((lm["onset"] + 0.1) * FS), int((lm["onset"] + lm["duration"] - 0.1) * FS)
        rms = [
            np.sqrt(np.mean(bandpassed(n.signal(lm["channel"]).data, FS)[i0:i1] ** 2)) for n in (lm_texture, synthetic)
        ]
        ratios.append(rms[0] / rms[1])
    assert np.median(ratios) == pytest.approx(1.0, abs=0.05) and min(ratios) > 0.8 and max(ratios) < 1.25, ratios


# --- texture: against the real recordings (where present) ------------------------------------------------
def test_shipped_texture_model_is_reproduced_by_fitting_the_real_files(real_emg) -> None:
    (rest, fs), (bursts, _) = real_emg["rest"], real_emg["bursts"]
    fitted = fit_texture(rest, bursts, fs, source=shipped_model().source)
    assert fitted == shipped_model()


def test_texture_background_has_the_real_resting_emgs_spectral_shape(
    real_emg, quiet_texture: SimulatedNight, quiet_synthetic: SimulatedNight
) -> None:
    rest, fs_real = real_emg["rest"]
    fr, pr = sps.welch(rest - rest.mean(), fs_real, nperseg=256)
    errs = {}
    for name, night in (("biosppy", quiet_texture), ("synthetic", quiet_synthetic)):
        f, p = sps.welch(sleep_samples(night, "Leg L"), FS, nperseg=int(0.256 * FS))
        sel = compared(f, drop_lines=True)
        errs[name] = np.abs(shape_db(f, p) - shape_db(f, np.interp(f, fr, pr)))[sel]
    assert errs["biosppy"].mean() < 0.5 and errs["biosppy"].max() < 1.5, errs["biosppy"]
    assert errs["synthetic"].mean() > 2 * errs["biosppy"].mean()


def test_texture_background_has_the_real_resting_emgs_amplitude_tail(
    real_emg, quiet_texture: SimulatedNight, quiet_synthetic: SimulatedNight
) -> None:
    """Quantiles of |x| / SD after 10-100 Hz: real resting EMG is heavier-tailed than Gaussian, and so is the texture."""
    rest, fs_real = real_emg["rest"]
    q = (99.0, 99.9)

    def tail(y: np.ndarray) -> np.ndarray:
        return np.percentile(np.abs(y), q) / np.std(y)

    real = tail(bandpassed(rest - rest.mean(), fs_real))
    tex = tail(bandpassed(sleep_samples(quiet_texture, "Leg L"), FS))
    syn = tail(bandpassed(sleep_samples(quiet_synthetic, "Leg L"), FS))
    assert tex == pytest.approx(real, rel=0.1), (tex, real)
    assert syn[1] < 0.7 * real[1]  # Gaussian: 3.3 SD at the 99.9th percentile


def test_texture_bursts_have_the_real_activations_spectral_shape(real_emg, lm_texture: SimulatedNight) -> None:
    bursts, fs_real = real_emg["bursts"]
    fr, pr = welch_parts([bursts[a:b] for a, b in activations(bursts, fs_real)], fs_real, 256)
    rest, _ = real_emg["rest"]
    fq, pq = sps.welch(rest - rest.mean(), fs_real, nperseg=256)
    f, p = welch_parts(burst_parts(lm_texture), FS, 131)
    sel = compared(f, drop_lines=True)
    err = np.abs(shape_db(f, p) - shape_db(f, np.interp(f, fr, pr)))[sel]
    rest_vs_burst = np.abs(shape_db(fq, pq) - shape_db(fr, pr))[compared(fr, drop_lines=True)]
    assert err.mean() < 2.0, err
    assert rest_vs_burst.mean() > err.mean()  # real rest and real activations differ more than that


# --- ECG leak, heart rate, ECG channel -------------------------------------------------------------------
@pytest.fixture(scope="module")
def leaky() -> SimulatedNight:
    return simulate_night(
        seed=3, hours=0.25, fs=256.0, options=SimOptions.quiet(ecg_artifact_uv=40.0, ecg_leak_uv=(("Leg L", 25.0),))
    )


def test_ecg_leak_amplitude_per_channel_is_what_was_asked(leaky: SimulatedNight) -> None:
    ecg = leaky.signal("ECG II")
    peaks = r_peaks_in(ecg.data, ecg.fs, 500.0)
    assert peaks.size == pytest.approx(leaky.truth["ecg"]["n_beats"], abs=2)
    assert beat_locked_peak(leaky.signal("Leg R").data, peaks) == pytest.approx(40.0, rel=0.1)  # scale 1
    assert beat_locked_peak(leaky.signal("Leg L").data, peaks) == pytest.approx(25.0, rel=0.1)  # override
    assert beat_locked_peak(leaky.signal("Arm L").data, peaks) == pytest.approx(-1.4 * 40.0, rel=0.1)
    assert leaky.truth["ecg"]["leak_uv"]["Leg L"] == 25.0


@pytest.mark.parametrize("hr", [(40.0, 42.0), (120.0, 125.0), (175.0, 180.0)], ids=["40bpm", "120bpm", "180bpm"])
def test_heart_rate_measured_from_r_r_intervals_matches_the_option(hr: tuple[float, float]) -> None:
    night = simulate_night(seed=5, hours=0.25, fs=256.0, options=SimOptions.quiet(hr_bpm=hr))
    ecg = night.signal("ECG II")
    rr = np.diff(r_peaks_in(ecg.data, ecg.fs, 500.0)) / ecg.fs
    bpm = 60.0 / float(np.mean(rr))
    assert hr[0] * 0.97 <= bpm <= hr[1] * 1.03, bpm
    assert bpm == pytest.approx(night.truth["ecg"]["hr_bpm"], rel=0.03)


def test_fast_heart_without_ecg_channel_still_leaks_into_the_legs_at_its_rate() -> None:
    night = simulate_night(
        seed=6,
        hours=0.25,
        fs=256.0,
        options=SimOptions.quiet(hr_bpm=(165.0, 170.0), ecg_channel=False, ecg_artifact_uv=30.0),
    )
    assert "ECG II" not in night.labels and "ECG II" not in night.truth["fs"]
    leg = night.signal("Leg R")
    rr = np.diff(r_peaks_in(leg.data, leg.fs, 15.0)) / leg.fs
    assert 60.0 / float(np.median(rr)) == pytest.approx(night.truth["ecg"]["hr_bpm"], rel=0.05)


def test_infant_heart_rate_default_is_unchanged_and_settable() -> None:
    assert SimOptions.infant().infant_hr_bpm == (120.0, 150.0)
    night = simulate_night(seed=7, hours=0.25, options=SimOptions.infant(infant_hr_bpm=(170.0, 175.0)))
    ecg = night.signal("ECG II")
    rr = np.diff(r_peaks_in(ecg.data, ecg.fs, 350.0)) / ecg.fs
    assert 170.0 * 0.97 <= 60.0 / float(np.mean(rr)) <= 175.0 * 1.03


def test_heart_rate_outside_40_180_bpm_is_refused_with_the_range() -> None:
    with pytest.raises(ValueError, match="40-180"):
        SimOptions(hr_bpm=(30.0, 60.0))
    with pytest.raises(ValueError, match="40-180"):
        SimOptions(infant_hr_bpm=(150.0, 200.0))


# --- baseline fluctuation --------------------------------------------------------------------------------
def log_rms_sd(night: SimulatedNight, label: str, wake: bool) -> float:
    s = night.signal(label)
    y = bandpassed(s.data, s.fs)
    n = int(s.fs)
    rms = np.sqrt(np.mean(y[: y.size // n * n].reshape(-1, n) ** 2, axis=1))
    st = np.asarray(night.truth["stages"])[(np.arange(rms.size) // int(EPOCH))]
    keep = (st == "W") if wake else (st != "W")
    return float(np.std(np.log(rms[keep])))


@pytest.mark.parametrize("sd", [0.3, 0.6])
def test_baseline_fluctuation_varies_the_background_level_by_the_asked_amount(sd: float) -> None:
    night = simulate_night(
        seed=8, hours=1.0, fs=256.0, options=SimOptions.quiet(baseline_fluctuation=sd, baseline_fluctuation_s=5.0)
    )
    assert log_rms_sd(night, "Leg L", wake=False) == pytest.approx(sd, rel=0.25)


def test_steady_background_and_stage_limited_fluctuation() -> None:
    steady = simulate_night(seed=8, hours=1.0, fs=256.0, options=SimOptions.quiet())
    wake_only = simulate_night(
        seed=8,
        hours=1.0,
        fs=256.0,
        options=SimOptions.quiet(
            baseline_fluctuation=0.6, baseline_fluctuation_s=5.0, baseline_fluctuation_stages=("W",)
        ),
    )
    assert log_rms_sd(steady, "Leg L", wake=False) < 0.1
    assert log_rms_sd(wake_only, "Leg L", wake=False) < 0.1
    assert log_rms_sd(wake_only, "Leg L", wake=True) > 0.4


# --- defaults unchanged, options recorded --------------------------------------------------------------
def test_default_options_write_the_same_truth_options_as_before() -> None:
    d = SimOptions().to_dict()
    for name in (
        "emg_texture",
        "ecg_leak_uv",
        "ecg_channel",
        "infant_hr_bpm",
        "baseline_fluctuation",
        "baseline_fluctuation_s",
        "baseline_fluctuation_stages",
    ):
        assert name not in d
    changed = SimOptions(emg_texture="biosppy", ecg_leak_uv=(("Leg R", 5.0),), baseline_fluctuation=0.2)
    assert changed.to_dict()["ecg_leak_uv"] == [["Leg R", 5.0]]
    assert SimOptions.from_dict(json.loads(json.dumps(changed.to_dict()))) == changed


_HASH_SCRIPT = """
import hashlib, pathlib, sys
from somnomyo.simulate import simulate_night
paths = simulate_night(seed=1, hours=0.25).write(sys.argv[1])
for k in ("edf", "truth", "annotations"):
    print(k, hashlib.sha256(pathlib.Path(paths[k]).read_bytes()).hexdigest())
"""


def test_default_night_is_byte_identical_to_the_simulator_before_the_realism_options(tmp_path: Path) -> None:
    base = BASE
    if not (base / "src" / "somnomyo" / "simulate").is_dir():
        # the commit before the realism options, taken from the repository's own history
        base = tmp_path / "base-src"
        base.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", _BASE_COMMIT, "src"], capture_output=True, timeout=60
        )
        if archive.returncode != 0:
            pytest.skip(f"the simulator before the realism options (commit {_BASE_COMMIT}) is not in this checkout")
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True, timeout=60)
    env = {**os.environ, "PYTHONPATH": str(base / "src")}
    out = subprocess.run(
        [sys.executable, "-c", _HASH_SCRIPT, str(tmp_path / "base")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    before = dict(line.split() for line in out.strip().splitlines())
    paths = simulate_night(seed=1, hours=0.25).write(tmp_path / "now")
    assert {k: sha(Path(paths[k])) for k in ("edf", "truth", "annotations")} == before


# --- command line ------------------------------------------------------------------------------------
def test_simulate_command_sets_every_realism_option(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, _, err = run_cli(
        capsys,
        "simulate",
        "--out",
        str(tmp_path),
        "--hours",
        "0.05",
        "--seed",
        "2",
        "--emg-texture",
        "biosppy",
        "--ecg-leak",
        "25",
        "--ecg-leak-channel",
        "Leg L=-12.5",
        "--no-ecg-channel",
        "--hr-bpm",
        "150",
        "160",
        "--baseline-fluctuation",
        "0.4",
        "--baseline-fluctuation-s",
        "3",
        "--baseline-fluctuation-stages",
        "W,N1",
    )
    assert rc == 0, err
    truth = json.loads((tmp_path / "truth.json").read_text())
    o = truth["options"]
    assert (o["emg_texture"], o["ecg_artifact_uv"], o["ecg_leak_uv"], o["ecg_channel"], o["hr_bpm"]) == (
        "biosppy",
        25.0,
        [["Leg L", -12.5]],
        False,
        [150.0, 160.0],
    )
    assert (o["baseline_fluctuation"], o["baseline_fluctuation_s"], o["baseline_fluctuation_stages"]) == (
        0.4,
        3.0,
        ["W", "N1"],
    )
    assert "ECG II" not in truth["fs"] and 150.0 <= truth["ecg"]["hr_bpm"] <= 160.0


@pytest.mark.parametrize(
    "args, words",
    [
        (("--hr-bpm", "20", "30"), ("hr_bpm", "40-180")),
        (("--ecg-leak-channel", "Leg X=3"), ("--ecg-leak-channel", "Leg L")),
        (("--baseline-fluctuation-stages", "W,REM"), ("stages", "N1")),
        (("--baseline-fluctuation", "-1"), ("baseline_fluctuation", ">= 0")),
    ],
)
def test_simulate_command_refuses_bad_realism_values_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args, words
) -> None:
    rc, _, err = run_cli(capsys, "simulate", "--out", str(tmp_path / "x"), "--hours", "0.05", *args)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("somnomyo: error:"), err
    assert all(w in lines[0] for w in words), lines[0]
    assert not (tmp_path / "x").exists()
