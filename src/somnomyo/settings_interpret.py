"""Parameters of the interpretation layer: jerk-locked back-averaging (JLBA), EMG burst
duration, state dependence and the rule table. Part of :class:`somnomyo.settings.Settings`
as ``settings.interpret``; :mod:`somnomyo.interpret.settings` re-exports it.

Every field names its source (the papers and standards cited in docs/rules.md §15);
implementation choices say so and values whose source could not be checked carry
``unconfirmed=True``. Fields are flat (prefixes ``jlba_``, ``burst_``, ``state_``, ``pop_``,
``plms_``, ``wake_``, ``bsmi_``, ``spasm_``, ``rhythm_``, ``rising_``) so that
``Settings.with_overrides(interpret={...})`` works.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from somnomyo._param import param as _f

Population = Literal["adult", "child", "infant"]
POPULATIONS: tuple[str, ...] = get_args(Population)
POPULATION_CHOICES: tuple[str, ...] = POPULATIONS + ("auto",)


@dataclass(frozen=True)
class InterpretSettings:
    """Cortical-origin test, state dependence and interpretation thresholds (docs/rules.md §15)."""

    # -- jerk-locked back-averaging (Shibasaki 1992; Latorre 2023; docs/rules.md §15.1) --
    jlba_window_s: tuple[float, float] = _f(
        (-0.3, 0.2),
        "JLBA window around EMG onset; usual -200..+100 ms (Shibasaki 1992), widened to hold a baseline",
        unit="s",
        unconfirmed=True,
    )
    jlba_baseline_s: tuple[float, float] = _f(
        (-0.3, -0.1), "JLBA baseline window (-200..-100 ms is usual; implementation choice)", unit="s", unconfirmed=True
    )
    jlba_pre_window_s: tuple[float, float] = _f(
        (-0.1, 0.0),
        "premyoclonic window: cortical spike ~20 ms before EMG onset for hand muscles, ~30-40 ms "
        "for legs (Shibasaki 1992; leg value [UNCONFIRMED]); searched -100..0 ms",
        unit="s",
    )
    jlba_n_surrogates: int = _f(
        1000,
        "JLBA significance: shuffled-trigger surrogates, >= 1000 (docs/rules.md §15.1; "
        "implementation choice, no consensus)",
    )
    jlba_min_jerks: int = _f(50, "JLBA: >= 50 artefact-free jerks, typically 50-200 (Latorre 2023)")
    jlba_artifact_uv: float = _f(
        150.0, "implementation: epochs with EEG peak-to-peak above this are artefacts", unit="µV", unconfirmed=True
    )
    jlba_alpha: float = _f(0.05, "implementation: family-wise significance level (max statistic over channels)")
    jlba_highpass_hz: float | None = _f(
        5.0,
        "implementation: zero-phase high-pass before averaging; removes slow sleep EEG (delta) while "
        "keeping the 10-30 ms premyoclonic spike; None = off",
        unit="Hz",
        unconfirmed=True,
    )
    jlba_lowpass_hz: float | None = _f(
        45.0,
        "implementation: zero-phase low-pass before averaging; the premyoclonic spike lies below it and "
        "EMG leaking into the EEG above it; None = off",
        unit="Hz",
        unconfirmed=True,
    )
    jlba_exclusion_margin_s: float = _f(
        1.0, "implementation: surrogate triggers keep this far from every true jerk", unit="s"
    )
    jlba_pool_factor: int = _f(
        20,
        "implementation: surrogate epochs per stage = this x jerks in that stage (surrogates are random "
        "subsets of the pool)",
    )
    jlba_min_pool: int = _f(2000, "implementation: minimum size of the surrogate epoch pool")

    # -- EMG burst duration (Hallett 1979; van der Veen 2024; docs/rules.md §15.2) --
    burst_cortical_cutoff_ms: float = _f(
        45.0,
        "van der Veen 2024 (secondary summary): 45 ms separates cortical from non-cortical myoclonus "
        "(sens 100%, spec 89.5%, AUC 0.947)",
        unit="ms",
    )
    burst_min_bursts: int = _f(10, "van der Veen 2024: cut-off evaluated on >= 10 bursts")
    burst_short_ms: float = _f(50.0, "Hallett 1979: cortical bursts 10-50 ms", unit="ms")
    burst_long_ms: float = _f(
        100.0, "classic '< 100 ms' cut-off; MDS abstract: 100-ms cut-off NOT validated", unit="ms", unconfirmed=True
    )

    # -- state dependence (ICSD-3 BSMI criterion D; docs/rules.md §15.3) --
    state_window_s: float = _f(
        60.0, "implementation: jerk rate in the 60 s before vs after each arousal/awakening", unit="s"
    )
    state_stop_window_s: float = _f(
        10.0,
        "implementation: 'stops on waking' compares the 10 s before and after each arousal/awakening "
        "(BSMI jerks stop abruptly, within seconds of arousal; ICSD-3, Maurer 2010); a later "
        "cluster in the 60-s window does not count",
        unit="s",
        unconfirmed=True,
    )
    state_stop_ratio: float = _f(
        0.2,
        "implementation: 'stops on waking' = jerks after <= 20% of jerks before, within the stop window "
        "(BSMI stops abruptly at arousal, ICSD-3)",
        unconfirmed=True,
    )
    state_min_before: int = _f(
        5,
        "implementation: jerks needed in the stop windows before arousals to judge whether they stop",
        unconfirmed=True,
    )
    state_stimulus_window_s: float = _f(
        30.0,
        "implementation: window after a stimulus marker / position change (BSMI provoked by rocking, "
        "sound; Maurer 2010)",
        unit="s",
        unconfirmed=True,
    )
    state_stimulus_words: tuple[str, ...] = _f(
        ("sound", "noise", "touch", "stimul", "position", "rock", "tone", "click", "clap", "knock"),
        "implementation: marker labels that mean a stimulus or a position change",
    )
    state_position_change_fraction: float = _f(
        0.1, "implementation: a position change is a step larger than this fraction of the channel range"
    )
    state_position_min_dwell_s: float = _f(10.0, "implementation: a position must hold this long to count", unit="s")

    # -- populations (ICSD-3; AASM paediatric rules) --
    pop_infant_max_days: float = _f(
        730.5, "implementation: infant rules (BSMI, infant heart rates) apply below 2 years of age", unit="d"
    )
    pop_child_max_days: float = _f(
        6574.5, "implementation: child thresholds (ICSD-3 PLMD > 5/h) below 18 years", unit="d", unconfirmed=True
    )

    # -- PLMS range (ICSD-3 PLMD; docs/rules.md §15.5) --
    plms_adult_index: float = _f(15.0, "ICSD-3 PLMD: PLMS index > 15/h in adults", unit="/h")
    plms_child_index: float = _f(5.0, "ICSD-3 PLMD: PLMS index > 5/h in children", unit="/h")
    plms_infant_index: float | None = _f(
        None,
        "no published PLMS-index norm for infants (< 2 years): ICSD-3 sets > 5/h for children and > 15/h for "
        "adults only; None = the index is reported without a reference range, and the report says so",
        unit="/h",
    )

    # -- jerks in wakefulness --
    wake_mostly_fraction: float = _f(
        0.5, "implementation: adult myoclonus 'mostly in wakefulness' = more than half of jerks in W"
    )
    wake_infant_fraction: float = _f(
        0.1,
        "ICSD-3 BSMI: jerks only during sleep; tolerance for staging/detection error (implementation)",
        unconfirmed=True,
    )
    wake_min_jerks: int = _f(5, "implementation: jerks in W needed before a wake finding", unconfirmed=True)

    # -- benign sleep myoclonus of infancy (ICSD-3; Maurer 2010; docs/rules.md §15.7) --
    bsmi_rate_hz: tuple[float, float] = _f(
        (1.0, 5.0), "BSMI clusters at 1-5 Hz (Fernandez-Alvarez; MedLink 2-3/s)", unit="Hz"
    )
    bsmi_max_age_days: float = _f(
        183.0, "ICSD-3 BSMI: typically birth to 6 months; 95% resolved < 6 months (Maurer 2010)", unit="d"
    )
    bsmi_onset_days: float = _f(
        16.0, "BSMI onset day 1-16 (n = 38, median 3 d); first 15 days (Di Capua 1993)", unit="d"
    )

    # -- epileptic (infantile) spasms (ILAE; docs/rules.md §15.8) --
    spasm_duration_s: tuple[float, float] = _f(
        (0.5, 2.0), "ILAE epileptic spasm: contraction 0.5-2 s (1-2 s)", unit="s"
    )
    spasm_max_interval_s: float = _f(
        30.0, "ILAE epileptic spasms: every 5-30 s in a cluster", unit="s", unconfirmed=True
    )
    spasm_min_count: int = _f(3, "implementation: a spasm cluster has >= 3 spasms", unconfirmed=True)
    spasm_awakening_before_s: float = _f(
        60.0, "implementation: cluster may start up to 60 s (two epochs) before the scored awakening", unit="s"
    )
    spasm_awakening_after_s: float = _f(
        600.0, "ILAE: clusters on/after awakening; implementation: within 10 min", unit="s", unconfirmed=True
    )
    spasm_age_days: tuple[float, float] = _f(
        (91.0, 366.0), "infantile spasms typically start at 3-12 months (ILAE)", unit="d"
    )

    # -- rhythmic jerking with an EEG rhythm (clonic seizures 1-3 Hz with an EEG discharge; docs/rules.md §15.9) --
    rhythm_power_ratio: float = _f(
        3.0,
        "implementation: EEG power at the cluster jerk rate during clusters >= 3x the power before them",
        unconfirmed=True,
    )
    rhythm_min_cluster_s: float = _f(
        4.0, "implementation: clusters shorter than this are not tested for an EEG rhythm", unit="s"
    )
    rhythm_band_hz: float = _f(0.5, "implementation: +- band around the cluster rate", unit="Hz")
    rhythm_max_cv: float = _f(
        0.25,
        "implementation: 'rhythmic' jerking = CV of inter-jerk intervals <= 0.25 (BSMI irregular, "
        "clonic seizures rhythmic; ILAE)",
        unconfirmed=True,
    )

    # -- rising frequency across nights --
    rising_factor: float = _f(
        1.5, "implementation: jerk index rising every night and last/first >= 1.5 warrants review", unconfirmed=True
    )
