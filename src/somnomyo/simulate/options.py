"""Options of the night simulator: one frozen dataclass, every ingredient switchable.

Rates are "per hour of the stages where the ingredient may occur" unless named
otherwise; setting a rate (or probability, or amplitude) to 0 switches that
ingredient off. Ranges are ``(low, high)`` tuples drawn uniformly per event.
Amplitudes of EMG bursts are RMS values *after* the 10-100 Hz EMG conditioning
band (AASM EMG band-pass, ``Settings.conditioning``), so they compare directly
with the +8 µV LM onset rule (WASM 2016 and AASM).

Realism conditions (each off or at today's value by default, so the default night
is unchanged): ``emg_texture`` (EMG background and burst texture from a model fitted
to real surface EMG, :mod:`somnomyo.simulate.texture`), ``ecg_artifact_uv`` /
``ecg_leak_uv`` (ECG leak strength, per EMG channel), ``hr_bpm`` / ``infant_hr_bpm``
(heart rate 40-180 bpm), ``ecg_channel`` (record the ECG or not) and
``baseline_fluctuation`` (slow variation of the EMG background level). Fields added
for these are written by :meth:`SimOptions.to_dict` only when set, so that the
``truth.json`` of a default night stays byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from somnomyo.errors import check_choice
from somnomyo.settings import get_settings

POPULATIONS = ("adult", "infant")
MAINS = (50.0, 60.0, None)
EMG_FS_RANGE = (200.0, 512.0)
STAGE_NAMES = ("W", "N1", "N2", "N3", "R")
HR_RANGE_BPM = (40.0, 180.0)
TEXTURES = ("synthetic", "biosppy")
LEAK_CHANNELS = ("EMG Chin", "Leg L", "Leg R", "Arm L", "Arm R")


def _o(default: Any, doc: str, *, omit_default: bool = False) -> Any:
    return field(default=default, metadata={"doc": doc, "omit_default": omit_default})


def _new(default: Any, doc: str) -> Any:
    """A realism field: written to ``to_dict`` (truth.json) only when it differs from ``default``."""
    return _o(default, doc, omit_default=True)


@dataclass(frozen=True)
class SimOptions:
    """Everything the simulated night contains (see each field's ``metadata["doc"]``).

    Build variants with :meth:`with_` (``opts.with_(fm_per_min=8)``) or the presets
    :meth:`quiet` (clean background only), :meth:`short` (dense events for 10-30 min
    test nights) and :meth:`infant`.
    """

    # --- population and sampling -------------------------------------------------------
    population: str = _o(
        "adult",
        "'adult' or 'infant' (infant: faster heart and breathing, "
        "shorter sleep cycles with more REM, benign-sleep-myoclonus clusters)",
    )
    fs_emg: float | None = _o(None, "EMG rate (chin, legs, arms), 200-512 Hz; None = the fs argument")
    fs_eeg: float | None = _o(None, "EEG rate; None = the fs argument")
    fs_eog: float | None = _o(None, "EOG rate; None = the fs argument")
    fs_ecg: float | None = _o(None, "ECG rate; None = the fs argument")
    fs_resp: float | None = _o(None, "airflow rate; None = the fs argument")
    arms: bool = _o(True, "record 'Arm L' and 'Arm R' EMG channels")

    # --- artefacts ----------------------------------------------------------------------
    ecg_artifact_uv: float = _o(
        10.0,
        "peak of the raw QRS spike leaking into the leg channels, µV "
        "(chin and arms get fixed per-channel scales/polarities); 0 = off",
    )
    mains_hz: float | None = _o(50.0, "mains hum frequency (50, 60) or None = off")
    mains_uv: float = _o(2.0, "mains hum amplitude on every µV channel, µV")
    drift_uv: float = _o(15.0, "baseline drift (< 0.2 Hz random wander) standard deviation, µV; 0 = off")
    hr_bpm: tuple[float, float] = _o(
        (55.0, 70.0),
        "adult mean heart rate range, bpm, within 40-180 (one mean "
        "rate drawn per night; slow drift and respiratory sinus "
        "arrhythmia are added)",
    )
    infant_hr_bpm: tuple[float, float] = _new(
        (120.0, 150.0),
        "infant mean heart rate range, bpm, within 40-180 (used instead of hr_bpm when population is 'infant')",
    )
    ecg_leak_uv: tuple[tuple[str, float], ...] = _new(
        (),
        "per-channel peak of the QRS leak, µV, as (label, µV) pairs "
        "overriding ecg_artifact_uv x the channel's fixed scale "
        "(sign = polarity), e.g. (('Leg L', 40.0),)",
    )
    ecg_channel: bool = _new(
        True,
        "record the 'ECG II' channel (False: the heart still leaks into the EMG, "
        "but the scorer has no ECG to find the beats in)",
    )

    # --- EMG background (stage dependent) ------------------------------------------------
    emg_floor_uv: float = _o(0.8, "amplifier/electrode noise floor of every EMG channel, µV RMS")
    leg_rest_sleep_uv: float = _o(1.5, "resting tibialis activity in sleep, µV RMS (10-100 Hz)")
    leg_rest_wake_uv: float = _o(3.0, "resting tibialis activity in wake, µV RMS (10-100 Hz)")
    chin_tonic_wake_uv: float = _o(8.0, "chin tonic activity in wake, µV RMS")
    chin_tonic_nrem_uv: float = _o(4.0, "chin tonic activity in NREM, µV RMS")
    chin_tonic_rem_uv: float = _o(0.3, "chin tonic activity in REM (atonia), µV RMS")
    arm_tonic_wake_uv: float = _o(5.0, "arm tonic activity in wake, µV RMS")
    arm_tonic_sleep_uv: float = _o(1.0, "arm tonic activity in sleep, µV RMS")
    emg_texture: str = _new(
        "synthetic",
        "EMG background and burst texture: 'synthetic' (band-limited Gaussian "
        "noise) or 'biosppy' (spectrum and amplitude distribution fitted to real "
        "surface EMG, BioSPPy example recordings; somnomyo.simulate.texture)",
    )
    baseline_fluctuation: float = _new(
        0.0,
        "slow variation of the EMG background level: standard deviation of "
        "its natural log (0.5: x0.47-x1.28 of the stage level within +-1 SD; "
        "mean power kept); 0 = steady level",
    )
    baseline_fluctuation_s: float = _new(10.0, "correlation time of the background-level variation, s")
    baseline_fluctuation_stages: tuple[str, ...] = _new(STAGE_NAMES, "stages in which the background level varies")

    # --- hypnogram ------------------------------------------------------------------------
    lights_off_min: tuple[float, float] = _o((2.0, 5.0), "lights off after recording start, min")
    sleep_latency_min: tuple[float, float] = _o((8.0, 20.0), "sleep onset latency after lights off, min")
    lights_on_before_end_min: tuple[float, float] = _o((1.0, 3.0), "lights on before recording end, min")
    awakenings_per_h: float = _o(1.5, "brief awakenings (1-4 epochs of W) per hour of sleep")

    # --- leg movements ----------------------------------------------------------------
    leg_movements: bool = _o(
        True, "master switch for every designed LM (periodic, isolated, respiratory, long, bilateral)"
    )
    lm_amplitude_uv: tuple[float, float] = _o((30.0, 100.0), "LM burst RMS after 10-100 Hz, µV")
    lm_duration_s: tuple[float, float] = _o((0.8, 5.0), "LM duration (envelope start to end), s")
    lm_rise_s: float = _o(0.05, "LM envelope rise time, s")
    lm_fall_s: float = _o(0.08, "LM envelope fall time, s")
    plm_series_per_h: float = _o(0.8, "designed PLM series per hour of sleep")
    plm_series_length: tuple[int, int] = _o((4, 30), "LMs per designed PLM series")
    plm_imi_s: tuple[float, float] = _o(
        (20.0, 40.0),
        "IMI (onset to onset) inside series, s; must lie in [15, 60] so WASM 2016 (10-90 s) and AASM (5-90 s) agree",
    )
    plm_stages: tuple[str, ...] = _o(("N1", "N2", "N3"), "stages a PLM series may span")
    isolated_lm_per_h: float = _o(3.0, "isolated LMs in sleep per hour of sleep (> isolation_s from any LM)")
    wake_lm_per_h: float = _o(4.0, "isolated LMs in wake per hour of wake between lights off and on")
    long_lm_per_h: float = _o(0.5, "long LMs (> 10 s: not CLMs, WASM 2016) per hour of sleep")
    long_lm_duration_s: tuple[float, float] = _o((11.0, 20.0), "duration of long LMs, s")
    bilateral_pairs_per_h: float = _o(1.0, "bilateral pairs (both legs, overlapping) per hour of sleep")
    bilateral_lag_s: tuple[float, float] = _o((0.0, 0.4), "onset lag of the second leg in a pair, s")
    isolation_s: float = _o(
        95.0,
        "minimum onset distance between a non-series LM and any other LM, s (> 90 s IMI maximum of WASM 2016 and AASM)",
    )
    respiratory_lm_prob: float = _o(0.5, "probability an apnea/hypopnea ends with an LM 0-5 s after its end")
    respiratory_lm_delay_s: tuple[float, float] = _o((0.0, 5.0), "LM onset after the respiratory event end, s")
    lm_arousal_prob: float = _o(0.3, "probability an LM is followed by an arousal")
    lm_arousal_delay_s: tuple[float, float] = _o((0.0, 1.0), "arousal onset after LM onset, s")
    arousal_duration_s: tuple[float, float] = _o((3.0, 15.0), "duration of every arousal, s")
    twitches_per_h: float = _o(6.0, "sub-threshold leg twitches (must NOT be detected) per hour of sleep")
    twitch_uv: tuple[float, float] = _o((1.0, 2.5), "twitch RMS after 10-100 Hz, µV (< 8 µV above baseline)")
    twitch_duration_s: tuple[float, float] = _o((0.5, 3.0), "twitch duration, s")

    # --- respiration and arousals --------------------------------------------------------
    apneas_per_h: float = _o(4.0, "apneas + hypopneas per hour of sleep")
    hypopnea_fraction: float = _o(0.4, "fraction of respiratory events that are hypopneas")
    central_fraction: float = _o(0.2, "fraction of apneas that are central (others obstructive)")
    apnea_duration_s: tuple[float, float] = _o((10.0, 35.0), "respiratory event duration, s")
    apnea_min_gap_s: float = _o(100.0, "minimum gap between respiratory events (end to next onset), s")
    apnea_arousal_prob: float = _o(0.4, "probability of an arousal at the end of an event without an LM")
    spontaneous_arousals_per_h: float = _o(4.0, "arousals unrelated to LMs or breathing per hour of sleep")

    # --- myoclonus -----------------------------------------------------------------------
    fm_per_min: float = _o(
        2.0,
        "fragmentary myoclonus potentials per minute of fm_stages, all fm_channels "
        "together (AASM EFM: >= 5/min for >= 20 min of NREM)",
    )
    fm_stages: tuple[str, ...] = _o(("N1", "N2", "N3"), "stages with fragmentary myoclonus")
    fm_channels: tuple[str, ...] = _o(
        ("EMG Chin", "Leg L", "Leg R", "Arm L", "Arm R"), "channels receiving FM potentials (absent ones are skipped)"
    )
    fm_duration_ms: tuple[float, float] = _o((30.0, 140.0), "FM potential duration, ms (AASM: <= 150 ms)")
    fm_uv: tuple[float, float] = _o((50.0, 200.0), "FM potential peak amplitude, µV")
    efm_min_per_min: float = _o(5.0, "AASM EFM rule used for truth['expected']['efm']: potentials per minute")
    efm_min_minutes: float = _o(20.0, "AASM EFM rule: minutes of NREM (cumulative) with >= efm_min_per_min")
    hypnic_jerks: bool = _o(True, "hypnic jerk at sleep onset and after each return to sleep")
    hypnic_muscles: tuple[str, ...] = _o(
        ("EMG Chin", "Arm L", "Arm R", "Leg L", "Leg R"), "muscles of a hypnic jerk (absent ones are skipped)"
    )
    hypnic_duration_ms: tuple[float, float] = _o((100.0, 300.0), "hypnic jerk burst per muscle, ms")
    hypnic_lag_ms: tuple[float, float] = _o((0.0, 60.0), "onset lag per muscle after the first, ms")
    jerk_uv: tuple[float, float] = _o((50.0, 300.0), "peak amplitude of jerk bursts, µV")
    myoclonic_jerks_per_h: float = _o(10.0, "brief myoclonic jerks per hour of myoclonic_stages")
    myoclonic_stages: tuple[str, ...] = _o(("W", "N1", "N2"), "stages with myoclonic jerks")
    myoclonic_duration_ms: tuple[float, float] = _o((20.0, 250.0), "myoclonic jerk burst, ms")
    cortical_fraction: float = _o(0.5, "fraction of myoclonic jerks preceded by a cortical EEG transient")
    eeg_transient_uv: float = _o(
        8.0, "amplitude of the premyoclonic EEG transient, µV (invisible in single trials against ~30 µV EEG)"
    )
    eeg_lead_ms: tuple[float, float] = _o((10.0, 40.0), "EEG transient peak before EMG onset, ms")
    negative_myoclonus_per_h: float = _o(10.0, "silent periods in tonic chin/arm EMG per hour of W/N1")
    nm_duration_ms: tuple[float, float] = _o((50.0, 500.0), "silent period duration, ms")

    # --- infant --------------------------------------------------------------------------
    clusters_per_h: float = _o(4.0, "infant only: benign-sleep-myoclonus-like clusters per hour of sleep")
    cluster_rate_hz: tuple[float, float] = _o((1.0, 5.0), "jerk rate inside a cluster, Hz")
    cluster_duration_s: tuple[float, float] = _o((3.0, 20.0), "cluster duration, s (ends at an arousal)")
    cluster_jerk_ms: tuple[float, float] = _o(
        (50.0, 200.0),
        "single jerk burst in a cluster, ms, capped at half the jerk period [UNCONFIRMED: no stored source gives it]",
    )

    # --- EEG ---------------------------------------------------------------------------------
    eeg_uv: float = _o(30.0, "EEG background RMS, µV")
    spindles_per_min: float = _o(3.0, "sleep spindles per minute of N2/N3")

    def __post_init__(self) -> None:
        check_choice("population", self.population, POPULATIONS)
        if self.mains_hz not in MAINS:
            raise ValueError(f"mains_hz must be one of 50, 60, None; got {self.mains_hz!r}")
        if self.fs_emg is not None and not EMG_FS_RANGE[0] <= self.fs_emg <= EMG_FS_RANGE[1]:
            raise ValueError(f"fs_emg must be within {EMG_FS_RANGE[0]:g}-{EMG_FS_RANGE[1]:g} Hz; got {self.fs_emg!r}")
        for name in ("fs_eeg", "fs_eog", "fs_ecg", "fs_resp"):
            v = getattr(self, name)
            if v is not None and (v <= 0 or float(v) != int(v)):
                raise ValueError(f"{name} must be a positive whole number of Hz or None; got {v!r}")
        check_choice("emg_texture", self.emg_texture, TEXTURES)
        for name in ("hr_bpm", "infant_hr_bpm"):
            lo_hr, hi_hr = getattr(self, name)
            if not HR_RANGE_BPM[0] <= lo_hr <= hi_hr <= HR_RANGE_BPM[1]:
                raise ValueError(
                    f"{name} must lie within {HR_RANGE_BPM[0]:g}-{HR_RANGE_BPM[1]:g} bpm "
                    f"(low <= high); got {getattr(self, name)!r}"
                )
        for pair in self.ecg_leak_uv:
            if (
                not isinstance(pair, tuple)
                or len(pair) != 2
                or pair[0] not in LEAK_CHANNELS
                or isinstance(pair[1], bool)
                or not isinstance(pair[1], (int, float))
            ):
                raise ValueError(
                    f"ecg_leak_uv must hold (label, µV) pairs with a label from "
                    f"{', '.join(LEAK_CHANNELS)}; got {pair!r}"
                )
        if self.baseline_fluctuation_s <= 0:
            raise ValueError(f"baseline_fluctuation_s must be > 0; got {self.baseline_fluctuation_s!r}")
        for name in ("plm_stages", "fm_stages", "myoclonic_stages", "baseline_fluctuation_stages"):
            bad = set(getattr(self, name)) - set(STAGE_NAMES)
            if bad:
                raise ValueError(f"{name} must hold stages from {', '.join(STAGE_NAMES)}; got {sorted(bad)}")
        lo, hi = self.plm_imi_s
        if not 15.0 <= lo <= hi <= 60.0:
            raise ValueError(f"plm_imi_s must lie within 15-60 s (low <= high); got {self.plm_imi_s!r}")
        s = get_settings()
        if self.plm_series_length[0] < s.plm.min_series or self.plm_series_length[0] > self.plm_series_length[1]:
            raise ValueError(
                f"plm_series_length must be (low, high) with low >= {s.plm.min_series}; got {self.plm_series_length!r}"
            )
        if self.lm_duration_s[0] < s.lm.min_duration_s + 0.1 or self.lm_duration_s[1] > s.clm.mono_max_s:
            raise ValueError(
                f"lm_duration_s must lie within {s.lm.min_duration_s + 0.1:g}-{s.clm.mono_max_s:g} s; "
                f"got {self.lm_duration_s!r}"
            )
        if self.lm_duration_s[1] >= lo - 5.0:
            raise ValueError(f"lm_duration_s high must be < plm_imi_s low - 5 s; got {self.lm_duration_s!r}")
        if self.long_lm_duration_s[0] <= s.clm.mono_max_s + 0.5:
            raise ValueError(
                f"long_lm_duration_s must start above {s.clm.mono_max_s + 0.5:g} s; got {self.long_lm_duration_s!r}"
            )
        if self.isolation_s <= s.plm.imi_max_s:
            raise ValueError(f"isolation_s must exceed the {s.plm.imi_max_s:g}-s IMI maximum; got {self.isolation_s!r}")
        if self.fm_duration_ms[1] > 150.0:
            raise ValueError(f"fm_duration_ms must stay <= 150 ms (AASM FM maximum); got {self.fm_duration_ms!r}")
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v):
                if v[0] > v[1] or v[0] < 0:
                    raise ValueError(f"{f.name} must be (low, high) with 0 <= low <= high; got {v!r}")
            elif isinstance(v, (int, float)) and not isinstance(v, bool) and v is not None and v < 0:
                raise ValueError(f"{f.name} must be >= 0; got {v!r}")

    # --- presets and helpers ---------------------------------------------------------------
    def with_(self, **changes: Any) -> SimOptions:
        """Copy with some fields changed (validated again)."""
        names = {f.name for f in fields(self)}
        bad = set(changes) - names
        if bad:
            raise ValueError(f"unknown SimOptions field(s) {sorted(bad)}; allowed: {', '.join(sorted(names))}")
        return replace(self, **changes)

    @classmethod
    def quiet(cls, **changes: Any) -> SimOptions:
        """Background only: no events, no artefacts (turn single ingredients back on with ``changes``)."""
        base = cls(
            ecg_artifact_uv=0.0,
            mains_hz=None,
            drift_uv=0.0,
            leg_movements=False,
            twitches_per_h=0.0,
            apneas_per_h=0.0,
            spontaneous_arousals_per_h=0.0,
            fm_per_min=0.0,
            hypnic_jerks=False,
            myoclonic_jerks_per_h=0.0,
            negative_myoclonus_per_h=0.0,
            clusters_per_h=0.0,
            spindles_per_min=0.0,
            awakenings_per_h=0.0,
        )
        return base.with_(**changes)

    @classmethod
    def short(cls, **changes: Any) -> SimOptions:
        """Dense events for 10-30 min test nights: quick sleep onset, frequent events."""
        base = cls(
            lights_off_min=(0.5, 1.0),
            sleep_latency_min=(1.5, 3.0),
            lights_on_before_end_min=(0.5, 1.0),
            awakenings_per_h=0.0,
            plm_series_per_h=4.0,
            plm_series_length=(4, 8),
            isolated_lm_per_h=3.0,
            wake_lm_per_h=8.0,
            long_lm_per_h=2.0,
            bilateral_pairs_per_h=3.0,
            apneas_per_h=8.0,
            twitches_per_h=20.0,
            myoclonic_jerks_per_h=40.0,
            negative_myoclonus_per_h=60.0,
            spontaneous_arousals_per_h=6.0,
            isolation_s=92.0,
        )
        return base.with_(**changes)

    @classmethod
    def infant(cls, **changes: Any) -> SimOptions:
        """Infant night: BSMI-like clusters on, adult leg-movement and apnea ingredients off."""
        base = cls(
            population="infant",
            leg_movements=False,
            apneas_per_h=0.0,
            fm_per_min=0.0,
            hypnic_jerks=False,
            myoclonic_jerks_per_h=0.0,
            negative_myoclonus_per_h=0.0,
            twitches_per_h=0.0,
            lights_off_min=(0.5, 1.0),
            sleep_latency_min=(2.0, 6.0),
            awakenings_per_h=1.0,
            eeg_uv=50.0,
        )
        return base.with_(**changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists); realism fields only where they differ from their default."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.metadata.get("omit_default") and v == f.default:
                continue
            out[f.name] = _listed(v)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SimOptions:
        """Inverse of :meth:`to_dict` (missing fields take their defaults)."""
        return cls(**{k: _tupled(v) for k, v in d.items()})


def _listed(v: Any) -> Any:
    return [_listed(x) for x in v] if isinstance(v, tuple) else v


def _tupled(v: Any) -> Any:
    return tuple(_tupled(x) for x in v) if isinstance(v, list) else v
