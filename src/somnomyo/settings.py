"""All clinical-rule parameters in one typed settings object.

Each field carries its source in ``metadata["source"]``; ``Settings.sources()``
lists them. Two presets exist: ``wasm2016`` (default) and ``aasm``. Values that
``shared/docs/clinical_rules.md`` marks **[UNCONFIRMED]** are kept as settings and
flagged with ``unconfirmed=True`` in their metadata.

Sources (see docs/clinical_rules.md in ../shared):

* W16: Ferri R. et al., WASM 2016 standards for recording and scoring leg movements,
  Sleep Med 2016;26:86-95.
* AASM: AASM Manual for the Scoring of Sleep and Associated Events v2.x (movement rules).
* MATPLM: reference WASM 2016 implementation (rlslabgit/MATPLM).
* Ferri 2006: Ferri R. et al., Sleep 2006;29:759-769 (periodicity index, IMI histogram).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields, replace
from typing import Any

from somnomyo._param import param as _f
from somnomyo.errors import check_choice
from somnomyo.interpret.settings import InterpretSettings
from somnomyo.settings_myoclonus import MyoclonusSettings
from somnomyo.settings_quality import QualitySettings

STANDARDS = ("wasm2016", "aasm")




@dataclass(frozen=True)
class ConditioningSettings:
    """EMG conditioning (AASM technical specifications; MATPLM ``getInput2.m``)."""

    highpass_hz: float = _f(10.0, "AASM EMG band-pass 10-100 Hz", unit="Hz", unconfirmed=True)
    lowpass_hz: float = _f(100.0, "AASM EMG band-pass 10-100 Hz", unit="Hz", unconfirmed=True)
    lowpass_max_fraction_of_nyquist: float = _f(
        0.9, "implementation: keep the low-pass edge below Nyquist (MATPLM uses 0.45*fs)")
    filter_order: int = _f(4, "implementation: Butterworth order, zero-phase")
    mains_hz: float | None = _f(None, "implementation: mains frequency; None = detect 50 or 60 Hz", unit="Hz")
    mains_harmonics: int = _f(3, "implementation: number of mains harmonics removed")
    ecg_removal: bool = _f(True, "WASM 2016 recommends removing ECG artefact; MATPLM removeEKG.m")
    envelope_window_s: float = _f(0.05, "implementation: short moving-RMS/mean envelope", unit="s")
    # --- added for signal/filters.py (mains removal by a robust running sinusoid estimate) ---
    mains_removal: bool = _f(True, "implementation: remove mains hum (AASM allows a 50/60 Hz notch)", unconfirmed=True)
    mains_detect_min_db: float = _f(
        10.0, "implementation: a mains peak must stand this far above the neighbouring spectrum", unit="dB")
    mains_block_s: float = _f(0.1, "implementation: block for the per-block hum phasor fit (5 cycles at 50 Hz, "
                                   "6 at 60 Hz)", unit="s")
    mains_track_s: float = _f(1.1, "implementation: running-median span of the hum phasor (robust to brief "
                                   "potentials; no ringing beyond it)", unit="s")
    mains_harmonic_min_db: float = _f(
        3.0, "implementation: a mains harmonic (2x, 3x the mains frequency) is removed from a channel only when "
             "its spectral peak stands this far above the neighbouring spectrum (no hum there: nothing to "
             "remove; saves a fit per channel); the fundamental is always removed", unit="dB", unconfirmed=True)
    # --- added for signal/ecg.py (R peaks and QRS template subtraction) ---
    ecg_band_low_hz: float = _f(5.0, "implementation: ECG band-pass for R-peak detection", unit="Hz")
    ecg_band_high_hz: float = _f(30.0, "implementation: ECG band-pass for R-peak detection", unit="Hz")
    ecg_refractory_s: float = _f(0.25, "implementation: R-peak refractory period", unit="s")
    ecg_threshold_fraction: float = _f(0.4, "implementation: R-peak threshold as a fraction of the local "
                                            "R amplitude")
    ecg_half_window_s: float = _f(0.1, "MATPLM removeEKG.m: +-0.1 s around each R peak", unit="s")
    ecg_template_beats: int = _f(20, "implementation: beats in each local median QRS template")
    ecg_max_shift_s: float = _f(0.04, "implementation: max re-alignment of an R peak to its template", unit="s")
    ecg_self_window_s: float = _f(30.0, "MATPLM removeEKG.m: 30-s windows for ECG detection in EMG", unit="s")
    ecg_self_min_spacing_s: float = _f(0.15, "MATPLM removeEKG.m: peaks >= 150 ms apart", unit="s")
    ecg_self_min_peaks: int = _f(20, "MATPLM removeEKG.m: > 20 peaks per window")
    ecg_self_rr_min_s: float = _f(0.7, "MATPLM removeEKG.m: heart-like intervals 0.7-1.3 s", unit="s")
    ecg_self_rr_max_s: float = _f(1.3, "MATPLM removeEKG.m: heart-like intervals 0.7-1.3 s", unit="s")
    ecg_self_rr_child_s: tuple[float, float] = _f(
        (0.35, 1.2), "Fleming et al., Lancet 2011 (heart-rate centiles from birth to 18 years): children of "
                     "2-18 years lie at ~55-160 bpm; heart-like intervals for ECG found in a child's EMG, used "
                     "instead of ecg_self_rr_min_s/max_s when the population is 'child' (exact limits "
                     "[UNCONFIRMED], chosen with a margin)", unit="s", unconfirmed=True)
    ecg_self_rr_infant_s: tuple[float, float] = _f(
        (0.27, 0.75), "Fleming et al., Lancet 2011: infants (birth-1 year) lie at ~90-185 bpm (1st-99th "
                      "centiles; median 127 at birth, 145 at 1 month); heart-like intervals for ECG found in an "
                      "infant's EMG (80-220 bpm), used instead of ecg_self_rr_min_s/max_s when the population "
                      "is 'infant' (exact limits [UNCONFIRMED], chosen with a margin)", unit="s", unconfirmed=True)
    ecg_self_min_fraction: float = _f(0.2, "MATPLM removeEKG.m: > 20% of intervals heart-like")
    ecg_self_height_uv: float = _f(
        2.0, "MATPLM removeEKG.m: peaks above the low threshold (window median envelope + 2 µV here)", unit="µV")


@dataclass(frozen=True)
class BaselineSettings:
    """Noise-adaptive resting baseline (WASM 2016 noise-adapted thresholds; MATPLM ``dt_rev1.m``)."""

    smooth_s: float = _f(0.3, "MATPLM dt_rev1.m 0.3-s moving mean", unit="s")
    lookback_max_s: float = _f(0.5, "MATPLM dt_rev1.m 0.5-s look-back max filter", unit="s")
    lookback_min_s: float = _f(60.0, "MATPLM dt_rev1.m 60-s look-back min filter", unit="s")
    floor_uv: float = _f(0.5, "MATPLM: baseline below this is replaced", unit="µV")
    floor_replacement_uv: float = _f(3.0, "MATPLM: replacement for a baseline below the floor", unit="µV")
    max_scorable_uv: float = _f(15.0, "MATPLM dt_rev1.m: baseline > 15 µV switches detection off", unit="µV")
    adaptive: bool = _f(True, "WASM 2016 allows noise-adapted baselines for computer scoring")


@dataclass(frozen=True)
class LMSettings:
    """Single (monolateral) leg movement detection (WASM 2016; AASM; T3 table)."""

    onset_above_baseline_uv: float = _f(8.0, "WASM 2016 and AASM LM onset: +8 µV above resting baseline", unit="µV")
    offset_above_baseline_uv: float = _f(2.0, "WASM 2016 and AASM LM offset: EMG <= +2 µV above baseline", unit="µV")
    offset_quiet_s: float = _f(0.5, "WASM 2016 and AASM LM offset: quiet period >= 0.5 s", unit="s")
    min_duration_s: float = _f(0.5, "WASM 2016 and AASM: LM minimum duration 0.5 s", unit="s")
    max_duration_s: float | None = _f(None, "WASM 2016: no maximum for an LM (AASM: 10 s)", unit="s")
    morphology_rule: bool = _f(True, "WASM 2016 computer-scoring morphology criterion")
    morphology_window_s: float = _f(0.5, "WASM 2016 morphology: >= 0.5 s with median >= +2 µV", unit="s")
    morphology_above_baseline_uv: float = _f(2.0, "WASM 2016 morphology: median >= 2 µV above baseline", unit="µV")


@dataclass(frozen=True)
class CLMSettings:
    """Candidate LMs and bilateral combination (WASM 2016 CLM definition; AASM rule B.4)."""

    bilateral_rule: str = _f("gap", "WASM 2016: merge LMs that overlap or are < 0.5 s apart ('gap'); "
                                    "AASM: onsets < 5 s apart count as one ('onset')")
    bilateral_gap_s: float = _f(0.5, "WASM 2016: bilateral LMs overlap or are < 0.5 s apart (offset to onset)", unit="s")
    bilateral_onset_s: float = _f(5.0, "AASM: LMs on the two legs with onsets < 5 s apart count as one", unit="s")
    mono_max_s: float = _f(10.0, "WASM 2016 CLM: monolateral LM 0.5-10 s; AASM LM max 10 s", unit="s")
    bi_max_s: float | None = _f(15.0, "WASM 2016 CLM: bilateral LM 0.5-15 s (AASM: none)", unit="s")
    bi_max_lms: int | None = _f(4, "WASM 2016 / MATPLM maxcomb: at most 4 monolateral LMs (AASM: none)")
    min_duration_s: float = _f(0.5, "WASM 2016 CLM minimum duration 0.5 s", unit="s")


@dataclass(frozen=True)
class PLMSettings:
    """PLM series (WASM 2016 and AASM; MATPLM ``periodic_lms.m``)."""

    imi_min_s: float = _f(10.0, "WASM 2016: 10 <= IMI <= 90 s (AASM: 5 s)", unit="s")
    imi_max_s: float = _f(90.0, "WASM 2016 and AASM: IMI <= 90 s", unit="s")
    min_series: int = _f(4, "WASM 2016 and AASM: >= 4 consecutive (C)LMs")
    short_imi_may_start_series: bool = _f(
        True, "MATPLM candidate_lms.m (breakpoint line left commented); W16 intent", unconfirmed=True)
    non_clm_breaks_series: bool = _f(True, "WASM 2016 / MATPLM: an LM that is not a CLM breaks a series")
    wake_breaks_series_after_s: float | None = _f(
        None, "AASM: a wake period <= 90 s does not break a PLMS series; None = stage does not break",
        unit="s", unconfirmed=True)


@dataclass(frozen=True)
class RespiratorySettings:
    """Respiratory-related LMs (WASM 2016 T3/MATPLM lb1/ub1; AASM rule)."""

    anchor: str = _f("end", "WASM 2016: window around the END of the event; AASM: around the whole event ('event')")
    before_s: float = _f(2.0, "WASM 2016: 2.0 s before the end (AASM: 0.5 s before the onset)", unit="s")
    after_s: float = _f(10.25, "WASM 2016: 10.25 s after the end (AASM: 0.5 s after the end)", unit="s")
    event_kinds: tuple[str, ...] = _f(
        ("obstructive_apnea", "central_apnea", "mixed_apnea", "apnea", "hypopnea"),
        "WASM 2016: apneas and hypopneas (AASM adds RERA and other SDB events)")


@dataclass(frozen=True)
class ArousalSettings:
    """LM-arousal association (WASM 2016 and AASM; MATPLM lb2 = ub2 = 0.5)."""

    max_gap_s: float = _f(0.5, "WASM 2016 and AASM: overlap or < 0.5 s between end of one and onset of other", unit="s")


@dataclass(frozen=True)
class IndexSettings:
    """Indices, IMI histogram and periodicity (WASM 2016; Ferri 2006)."""

    histogram_bin_s: float = _f(2.0, "Ferri 2006 IMI histogram: 2-s bins", unit="s", unconfirmed=True)
    histogram_max_s: float = _f(90.0, "Ferri 2006 IMI histogram: 0-90 s, longer lumped", unit="s")
    histogram_log_min_s: float = _f(1.0, "Ferri's later papers: log-scaled IMI histogram; lower edge "
                                         "(implementation choice)", unit="s", unconfirmed=True)
    histogram_log_max_s: float = _f(900.0, "Ferri's later papers: log-scaled IMI histogram; upper edge "
                                           "(implementation choice)", unit="s", unconfirmed=True)
    histogram_log_bins: int = _f(30, "Ferri's later papers: log-scaled IMI histogram; number of bins "
                                     "(implementation choice)", unconfirmed=True)
    periodicity_min_run: int = _f(3, "Ferri 2006 periodicity index: runs of >= 3 IMIs in [10, 90] s", unconfirmed=True)
    periodicity_imi_min_s: float = _f(10.0, "Ferri 2006 periodicity index lower IMI bound", unit="s")
    periodicity_imi_max_s: float = _f(90.0, "Ferri 2006 periodicity index upper IMI bound", unit="s")
    plmw_denominator: str = _f("waso", "WASM 2016: wake time within the sleep period ('waso'); or 'wake'",
                               unconfirmed=True)


@dataclass(frozen=True)
class Settings:
    """Every scoring parameter, grouped by rule. Build with :func:`get_settings`."""

    standard: str = "wasm2016"
    conditioning: ConditioningSettings = field(default_factory=ConditioningSettings)
    baseline: BaselineSettings = field(default_factory=BaselineSettings)
    lm: LMSettings = field(default_factory=LMSettings)
    clm: CLMSettings = field(default_factory=CLMSettings)
    plm: PLMSettings = field(default_factory=PLMSettings)
    respiratory: RespiratorySettings = field(default_factory=RespiratorySettings)
    arousal: ArousalSettings = field(default_factory=ArousalSettings)
    indices: IndexSettings = field(default_factory=IndexSettings)
    myoclonus: MyoclonusSettings = field(default_factory=MyoclonusSettings)
    interpret: InterpretSettings = field(default_factory=InterpretSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (JSON-ready; tuples become lists)."""
        def conv(v: Any) -> Any:
            if isinstance(v, tuple):
                return list(v)
            return v
        out: dict[str, Any] = {"standard": self.standard}
        for f in fields(self):
            val = getattr(self, f.name)
            if dataclasses.is_dataclass(val):
                out[f.name] = {g.name: conv(getattr(val, g.name)) for g in fields(val)}
        return out

    def sources(self) -> list[dict[str, Any]]:
        """One row per parameter: group, name, value, unit, source, unconfirmed."""
        rows = []
        for f in fields(self):
            val = getattr(self, f.name)
            if dataclasses.is_dataclass(val):
                for g in fields(val):
                    rows.append({"group": f.name, "name": g.name, "value": getattr(val, g.name),
                                 "unit": g.metadata.get("unit", ""), "source": g.metadata.get("source", ""),
                                 "unconfirmed": g.metadata.get("unconfirmed", False)})
        return rows

    def for_population(self, population: str) -> "Settings":
        """These settings for a sleeper of ``population`` (``adult``, ``child``, ``infant``).

        Heart rates differ by age (Fleming et al., Lancet 2011), so ECG artefact looked for in the
        EMG itself (no ECG channel) uses the heart-like intervals of the population:
        ``conditioning.ecg_self_rr_child_s`` / ``ecg_self_rr_infant_s`` replace
        ``ecg_self_rr_min_s`` / ``ecg_self_rr_max_s`` (MATPLM's adult 0.7-1.3 s, 46-86 bpm, would
        miss an infant's 120-180 bpm heart and leave its artefact in the EMG). Adults: unchanged.
        """
        check_choice("population", population, ("adult", "child", "infant"))
        if population == "adult":
            return self
        lo, hi = (self.conditioning.ecg_self_rr_infant_s if population == "infant"
                  else self.conditioning.ecg_self_rr_child_s)
        return self.with_overrides(conditioning={"ecg_self_rr_min_s": float(lo), "ecg_self_rr_max_s": float(hi)})

    def with_overrides(self, **groups: dict[str, Any]) -> "Settings":
        """Return a copy with some parameters changed: ``s.with_overrides(plm={"imi_min_s": 5})``."""
        new = self
        for group, changes in groups.items():
            sub = getattr(self, group, None)
            if not dataclasses.is_dataclass(sub):
                allowed = [f.name for f in fields(self) if f.name != "standard"]
                raise ValueError(f"unknown settings group {group!r}; allowed: {', '.join(allowed)}")
            names = {g.name for g in fields(sub)}
            bad = set(changes) - names
            if bad:
                raise ValueError(f"unknown {group} setting(s) {sorted(bad)}; allowed: {', '.join(sorted(names))}")
            new = replace(new, **{group: replace(sub, **changes)})
        return new


def _aasm() -> Settings:
    """AASM preset (AASM Manual v2.x movement rules as quoted in the NSRR manual and T3)."""
    return Settings(
        standard="aasm",
        lm=LMSettings(max_duration_s=10.0, morphology_rule=False),
        clm=CLMSettings(bilateral_rule="onset", bi_max_s=None, bi_max_lms=None),
        plm=PLMSettings(imi_min_s=5.0, non_clm_breaks_series=False),
        respiratory=RespiratorySettings(
            anchor="event", before_s=0.5, after_s=0.5,
            event_kinds=("obstructive_apnea", "central_apnea", "mixed_apnea", "apnea", "hypopnea", "rera")),
    )


def get_settings(standard: str = "wasm2016") -> Settings:
    """Settings preset for ``standard`` (``"wasm2016"`` or ``"aasm"``)."""
    check_choice("standard", standard, STANDARDS)
    return Settings() if standard == "wasm2016" else _aasm()
