"""Myoclonus-detector parameters (fragmentary myoclonus, jerks, hypnic jerks, clusters,
negative myoclonus, REM phasic EMG). Part of :class:`somnomyo.settings.Settings`
as ``settings.myoclonus``. Every field names its source (AASM, ICSD-3 and the papers
cited in docs/rules.md §6-§11); implementation choices say so.

The fields are flat (prefixes ``burst_``, ``fm_``, ``jerk_``, ``hypnic_``, ``cluster_``,
``nm_``, ``rem_``) so that ``Settings.to_dict``, ``Settings.sources`` and
``Settings.with_overrides(myoclonus={...})`` work on them like on every other group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from somnomyo._param import check_choices
from somnomyo._param import param as _f

FmDefinition = Literal["aasm", "research"]
EfmMode = Literal["cumulative", "contiguous"]
ClusterMode = Literal["myoclonic", "spasm"]
ScoredStage = Literal["W", "N1", "N2", "N3", "R"]

FM_DEFINITIONS: tuple[str, ...] = get_args(FmDefinition)
EFM_MODES: tuple[str, ...] = get_args(EfmMode)
CLUSTER_MODES: tuple[str, ...] = get_args(ClusterMode)
SCORED_STAGES: tuple[str, ...] = get_args(ScoredStage)


@dataclass(frozen=True)
class MyoclonusSettings:
    """Brief-burst myoclonus detectors; the rules are in docs/rules.md §6-§11."""

    # -- generic brief-burst detection on a conditioned envelope (detect/bursts.py) --
    burst_envelope_window_s: float = _f(
        0.015, "implementation: short envelope window for brief potentials (FM <= 150 ms, AASM)", unit="s"
    )
    burst_background_block_s: float = _f(
        1.0, "implementation: block length for the robust (median) background", unit="s"
    )
    burst_background_window_s: float = _f(
        60.0, "implementation: rolling median of block medians = channel background", unit="s"
    )
    burst_background_samples_per_block: int = _f(
        64,
        "implementation (speed): each block median is taken on about this many evenly spaced samples of "
        "the smoothed envelope; 0 = every sample",
    )
    burst_background_floor_uv: float = _f(
        1.0, "implementation: background never taken below this (avoids k x 0)", unit="µV"
    )
    burst_k_background: float = _f(
        4.0, "implementation, by analogy with AASM phasic REM activity >= 4x background", unconfirmed=True
    )
    burst_merge_gap_s: float = _f(0.01, "implementation: bursts closer than this are one (envelope ripple)", unit="s")

    # -- fragmentary myoclonus (detect/fragmentary.py) --
    fm_definition: FmDefinition = _f(
        "aasm", "AASM EFM potential (<= 150 ms) or 'research' (Lins/Frauscher: 75-150 ms, > 50 µV)"
    )
    fm_max_duration_s: float = _f(0.15, "AASM EFM: potentials of maximum 150 ms duration", unit="s")
    fm_min_duration_s: float = _f(
        0.005, "implementation: shorter blips are not potentials (single-sample spikes)", unit="s"
    )
    fm_min_amplitude_uv: float = _f(
        20.0, "implementation floor; AASM: potentials typically 50 to a few hundred µV", unit="µV", unconfirmed=True
    )
    fm_min_background_ratio: float = _f(
        8.0,
        "implementation: a potential's amplitude (envelope peak above the channel's background) is at least "
        "this many times the background at its peak; AASM: potentials typically 50 to a few hundred µV, "
        "against a resting EMG of a few µV (bursts are found at burst_k_background x the background, "
        "where a fluctuating or textured background still crosses)",
        unconfirmed=True,
    )
    fm_clear_min_amplitude_uv: float = _f(
        10.0,
        "implementation: a potential below fm_min_amplitude_uv still counts from this amplitude when it stands "
        "fm_clear_background_ratio x above its background (brief potentials lose amplitude in the 15-ms "
        "envelope and, at high sampling rates, above the 100-Hz conditioning band)",
        unit="µV",
        unconfirmed=True,
    )
    fm_clear_background_ratio: float = _f(
        15.0,
        "implementation: amplitude / background from which a potential of fm_clear_min_amplitude_uv or more counts",
        unconfirmed=True,
    )
    fm_research_min_duration_s: float = _f(0.075, "Lins et al./Frauscher 2014 FM: 75-150 ms", unit="s")
    fm_research_min_amplitude_uv: float = _f(
        50.0, "Lins et al./Frauscher 2014 FM: > 50 µV (peak-to-peak where the filtered EMG is given)", unit="µV"
    )
    fm_ecg_window_s: float = _f(
        0.06,
        "implementation: potentials within ± this of an R peak may be ECG artefact (see fm_ecg_recur_fraction)",
        unit="s",
    )
    fm_ecg_neighbour_beats: int = _f(
        3,
        "implementation (after MATPLM removeEKG.m: ECG spikes are periodic): beats on each side checked "
        "for a burst at the same latency; 0 = every potential near an R peak is artefact",
    )
    fm_ecg_recur_fraction: float = _f(
        0.5,
        "implementation: a potential near an R peak is ECG artefact when bursts recur at the same "
        "latency after >= this fraction of the neighbouring beats",
        unconfirmed=True,
    )
    fm_ecg_latency_tol_s: float = _f(
        0.02, "implementation: latency tolerance (after the R peak) for a recurring burst", unit="s"
    )
    fm_pop_max_uv: float = _f(1000.0, "implementation: potentials above 1 mV are electrode pops / DC steps", unit="µV")
    fm_lm_exclusion_margin_s: float = _f(
        0.5, "WASM 2016/AASM LM offset quiet period 0.5 s: potentials this close to an LM belong to it", unit="s"
    )
    fm_exclude_synchronous: bool = _f(
        True,
        "Lins et al./Frauscher 2014: FM potentials are asynchronous; implementation: a burst that "
        "starts within jerk_group_window_s of a burst on another channel is part of a jerk, not FM",
    )
    fm_exclude_in_clusters: bool = _f(
        True,
        "ICSD-3/Fernandez-Alvarez BSMI: repetitive jerks in clusters at 1-5 Hz; Lins et al./Frauscher "
        "2014: FM potentials are sporadic and asynchronous; implementation: a potential within the span "
        "of a jerk cluster (cluster_max_interval_s, cluster_min_jerks, myoclonic cluster_mode) is one of "
        "the cluster's jerks, not FM",
    )
    fm_efm_min_per_minute: int = _f(5, "AASM EFM: >= 5 potentials per minute")
    fm_efm_min_minutes: float = _f(20.0, "AASM EFM: sustained for >= 20 minutes of NREM sleep", unit="min")
    fm_efm_window_s: float = _f(60.0, "AASM EFM: counted per 1-min NREM window", unit="s")
    fm_efm_mode: EfmMode = _f(
        "cumulative", "AASM EFM: 20 min cumulative ('cumulative') or consecutive ('contiguous')", unconfirmed=True
    )

    # -- myoclonic jerks across muscles (detect/jerks.py) --
    jerk_min_duration_s: float = _f(0.02, "Hallett 1979: myoclonic bursts from ~20 ms (cortical 10-50 ms)", unit="s")
    jerk_max_duration_s: float = _f(0.5, "WASM 2016/AASM: bursts >= 0.5 s are LMs, not jerks", unit="s")
    jerk_min_amplitude_uv: float = _f(
        20.0, "implementation: absolute floor for a jerk burst", unit="µV", unconfirmed=True
    )
    jerk_focal_excludes_fm: bool = _f(
        True,
        "AASM EFM: a potential of <= 150 ms (fm_max_duration_s) in one muscle is a fragmentary-"
        "myoclonus potential; implementation: such a single-muscle burst is FM, not a focal jerk, so a "
        "focal jerk lasts > fm_max_duration_s (subcortical/spinal bursts > 100 ms); multi-muscle "
        "jerks keep the jerk_min_duration_s floor",
    )
    jerk_join_k_background: float = _f(
        2.5,
        "implementation: once a jerk is found on >= 2 muscles, another muscle joins it when its envelope "
        "exceeds 2.5x its background within jerk_group_window_s (confirming threshold, like onset/offset "
        "hysteresis); 0 = off",
        unconfirmed=True,
    )
    jerk_group_window_s: float = _f(
        0.1, "implementation: bursts starting within 100 ms of the first are one jerk", unit="s"
    )

    # -- hypnic jerks / sleep starts (detect/hypnic.py) --
    hypnic_min_muscles: int = _f(
        2, "ICSD-3 sleep starts: simultaneous contraction of body or segments; implementation: >= 2 muscles"
    )
    hypnic_require_limb: bool = _f(True, "implementation: at least one limb muscle involved")
    hypnic_stages: tuple[ScoredStage, ...] = _f(("W", "N1"), "ICSD-3 sleep starts: at sleep onset (wake-N1 transition)")
    hypnic_before_s: float = _f(
        30.0,
        "implementation: window starts one 30-s epoch before the first sleep epoch (ICSD-3: at sleep "
        "onset, the wake-N1 transition)",
        unit="s",
    )
    hypnic_after_s: float = _f(
        60.0, "implementation: window ends two 30-s epochs after the first sleep epoch starts", unit="s"
    )
    hypnic_min_wake_epochs: int = _f(1, "implementation: a sleep onset is the first N1/N2 epoch after >= 1 W epoch")

    # -- clusters and series (detect/clusters.py) --
    cluster_mode: ClusterMode = _f(
        "myoclonic",
        "'myoclonic': BSMI-like 1-5 Hz clusters (ICSD-3; Fernandez-Alvarez); 'spasm': epileptic "
        "spasm series 5-30 s (ILAE)",
    )
    cluster_max_interval_s: float = _f(
        1.2,
        "BSMI clusters at 1-5 Hz (Fernandez-Alvarez): onsets <= 1 s apart, plus 20% for the jitter of a "
        "1-Hz train (implementation)",
        unit="s",
        unconfirmed=True,
    )
    cluster_min_jerks: int = _f(3, "implementation: a cluster has >= 3 jerks", unconfirmed=True)
    cluster_spasm_min_interval_s: float = _f(
        5.0, "ILAE: epileptic spasms every 5-30 s in a cluster", unit="s", unconfirmed=True
    )
    cluster_spasm_max_interval_s: float = _f(
        30.0, "ILAE: epileptic spasms every 5-30 s in a cluster", unit="s", unconfirmed=True
    )

    # -- negative myoclonus (detect/negative.py) --
    nm_min_duration_s: float = _f(0.05, "Clin Neurophysiol 2023 wearable NM: silent periods 50-500 ms", unit="s")
    nm_max_duration_s: float = _f(0.5, "Clin Neurophysiol 2023 wearable NM: silent periods 50-500 ms", unit="s")
    nm_drop_fraction: float = _f(
        0.35,
        "implementation: silent = mean envelope over the period < 35% of the preceding tonic level",
        unconfirmed=True,
    )
    nm_short_s: float = _f(
        0.1, "implementation: silent periods shorter than this need the stricter nm_short_drop_fraction", unit="s"
    )
    nm_short_drop_fraction: float = _f(
        0.25,
        "implementation: a 50-100 ms silence must average < 25% of tonic (tonic EMG noise alone dips to "
        "30-35% for 50-70 ms several times an hour; measured on simulated nights)",
        unconfirmed=True,
    )
    nm_stages: tuple[ScoredStage, ...] = _f(
        ("W", "N1"),
        "Rubboli 2006: NM needs sustained tonic activity, not measurable in atonic sleep; "
        "physiological NM at sleep onset; implementation: scored in these stages when a hypnogram "
        "is given",
    )
    nm_edge_fraction: float = _f(
        0.5,
        "implementation: the silent period runs while the envelope (smoothed over nm_smooth_s) is below "
        "50% of the tonic level (its edges)",
        unconfirmed=True,
    )
    nm_step_s: float = _f(
        0.01,
        "implementation (speed): silent-period candidates are looked for on the envelope every "
        "10 ms, then delimited sample by sample",
        unit="s",
    )
    nm_smooth_s: float = _f(
        0.03,
        "implementation: silences are found on the envelope smoothed over 30 ms (well under the 50-ms "
        "minimum silent period), then delimited sample by sample",
        unit="s",
    )
    nm_min_tonic_uv: float = _f(
        2.0,
        "implementation: tonic activity needed before a silent period (Rubboli 2006): median envelope "
        ">= 2 µV, about 3x the envelope of a quiet channel's noise floor",
        unit="µV",
        unconfirmed=True,
    )
    nm_resume_fraction: float = _f(
        0.5, "implementation: activity after the silent period >= 50% of the tonic level", unconfirmed=True
    )
    nm_after_window_s: float = _f(0.2, "implementation: window after the silent period checked for activity", unit="s")
    nm_jerk_ratio: float = _f(
        3.0,
        "Rubboli 2006: NM is not preceded by a positive jerk; peak > 3x tonic in the 100 ms before = jerk",
        unconfirmed=True,
    )
    nm_jerk_window_s: float = _f(0.1, "implementation: window before a silent period checked for a jerk", unit="s")
    nm_roles: tuple[str, ...] = _f(
        ("chin", "arm_left", "arm_right"), "Rubboli 2006: NM needs tonic background activity (chin, arms)"
    )

    # -- REM phasic / tonic EMG (detect/rem_phasic.py) --
    rem_mini_epoch_s: float = _f(3.0, "AASM RSWA: 30-s epoch split into ten 3-s mini-epochs", unit="s")
    rem_min_burst_s: float = _f(0.1, "AASM RSWA phasic: bursts 0.1-5.0 s", unit="s")
    rem_max_burst_s: float = _f(5.0, "AASM RSWA phasic: bursts 0.1-5.0 s", unit="s")
    rem_k_background: float = _f(4.0, "AASM RSWA phasic: amplitude >= 4x background")
    rem_background_percentile: float = _f(
        10.0, "implementation: REM background = this percentile of the REM envelope", unconfirmed=True
    )
    rem_stat_samples_per_s: int = _f(
        64,
        "implementation (speed): REM percentile and NREM epoch medians use about this many evenly spaced "
        "envelope samples per second; 0 = every sample",
    )
    rem_merge_gap_s: float = _f(0.25, "RBDtector: gaps < 0.25 s inside activity bridged", unit="s")
    rem_min_phasic_mini_epochs: int = _f(5, "AASM RSWA: >= 5 of 10 mini-epochs (50%) with phasic bursts")
    rem_tonic_fraction: float = _f(
        0.5, "AASM RSWA tonic: >= 50% of the epoch above the NREM minimum amplitude", unconfirmed=True
    )
    rem_tonic_factor: float = _f(
        1.0, "AASM tonic: chin EMG greater than the minimum NREM amplitude (x factor)", unconfirmed=True
    )
    rem_sinbar_any_pct: float = _f(18.0, "SINBAR (Frauscher 2012): 'any' mentalis in 3-s mini-epochs >= 18%", unit="%")
    rem_sinbar_combined_pct: float = _f(
        32.0, "SINBAR (Frauscher 2012): 'any' mentalis + phasic bilateral FDS in 3-s mini-epochs >= 32%", unit="%"
    )

    def __post_init__(self) -> None:
        check_choices(self)
