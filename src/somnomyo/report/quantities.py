"""Plain names and units of the summary quantities the report shows.

The report's Indices section shows, for each summary block, the quantities named here, with a
plain name, the value and its unit; every key of the block (``summary.json`` as written) stays
available behind a disclosure ("all values as in summary.json"). A key not named here is shown
only there. Counts say what they count: per leg or with bilateral movements merged, in sleep
or in the whole recording, in scorable time in bed or in every epoch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["QUANTITIES", "BLOCK_TITLES", "EVENT_TYPE_NAMES", "plain_rows", "event_type_name"]

#: section title of each summary block
BLOCK_TITLES: dict[str, str] = {
    "fragmentary_myoclonus": "Fragmentary myoclonus",
    "jerks": "Myoclonic jerks",
    "hypnic_jerks": "Hypnic jerks (sleep starts)",
    "clusters": "Clusters of repeated jerks",
    "negative_myoclonus": "Negative myoclonus (brief silent periods)",
    "rem_emg": "Muscle activity in REM sleep (SINBAR)",
    "state": "Jerks by sleep state",
    "subject": "Sleeper",
    "cortical": "Jerk-locked EEG average",
}

#: what each ``trial_type`` of the event table counts (one row of events.tsv = one of these)
EVENT_TYPE_NAMES: dict[str, str] = {
    "leg_movement": "leg movements (per leg: a movement of both legs is 2 rows), sleep and wake",
    "fragmentary_myoclonus": "fragmentary myoclonus potentials, sleep and wake",
    "myoclonic_jerk": "myoclonic jerks (one per jerk, on every muscle it reached)",
    "hypnic_jerk": "hypnic jerks (one per jerk, on every muscle it reached)",
    "jerk_cluster": "clusters of repeated jerks",
    "negative_myoclonus": "negative myoclonus (silent periods)",
    "phasic_emg": "phasic EMG bursts in REM",
}

#: ``block -> key (dotted for nested) -> (plain name, unit)``; the order is the order shown
QUANTITIES: dict[str, dict[str, tuple[str, str]]] = {
    "fragmentary_myoclonus": {
        "count": ("potentials, sleep and wake", ""),
        "fm_index": ("fragmentary myoclonus index (potentials per hour of sleep)", "/h"),
        "efm": ("AASM excessive fragmentary myoclonus criterion met", ""),
        "efm_minutes": ("NREM minutes with >= 5 potentials per minute (EFM minutes)", "min"),
        "efm_longest_run_minutes": ("longest run of consecutive EFM minutes", "min"),
        "nrem_minutes_evaluated": ("NREM minutes evaluated", "min"),
        "rejected.synchronous": ("bursts set aside: on several muscles at once (part of a jerk)", ""),
        "rejected.ecg": ("bursts set aside: ECG artefact", ""),
        "rejected.lm": ("bursts set aside: within a leg movement", ""),
        "rejected.pop": ("bursts set aside: electrode pops (> 1 mV)", ""),
    },
    "jerks": {
        "count": ("myoclonic jerks, sleep and wake", ""),
        "index": ("myoclonic jerk index (jerks per hour of sleep)", "/h"),
        "by_extent.focal": ("focal jerks (one muscle)", ""),
        "by_extent.multifocal": ("multifocal jerks (several muscles, not all)", ""),
        "by_extent.generalized": ("generalized jerks (all recorded muscles)", ""),
        "with_arousal": ("jerks with an arousal", ""),
        "median_lag_ms": ("median delay between the first and the other muscles", "ms"),
    },
    "hypnic_jerks": {
        "count": ("hypnic jerks", ""),
        "n_sleep_onsets": ("sleep onsets (wake to N1)", ""),
        "per_sleep_onset": ("hypnic jerks per sleep onset", ""),
        "index_per_h_tst": ("hypnic jerks per hour of sleep", "/h"),
        "index_per_h_transition": ("hypnic jerks per hour of wake-sleep transition", "/h"),
        "transition_hours": ("time in wake-sleep transitions", "h"),
    },
    "clusters": {
        "count": ("clusters", ""),
        "index": ("clusters per hour of sleep", "/h"),
        "jerks_in_clusters": ("jerks in clusters", ""),
        "fraction_of_jerks_in_clusters": ("share of jerks in clusters", ""),
        "median_rate_hz": ("median jerk rate in a cluster", "Hz"),
        "median_cv": ("median irregularity of intervals (coefficient of variation)", ""),
        "median_duration_s": ("median cluster duration", "s"),
        "max_duration_s": ("longest cluster", "s"),
    },
    "negative_myoclonus": {
        "count": ("silent periods", ""),
        "n_channels": ("muscles with silent periods", ""),
        "index": ("silent periods per hour of the stages searched", "/h"),
        "median_duration_ms": ("median silent-period duration", "ms"),
    },
    "rem_emg": {
        "channel": ("chin channel", ""),
        "n_rem_epochs": ("REM epochs (30 s) scored", ""),
        "any_mini_epoch_pct": ("REM 3-s mini-epochs with any chin activity", "%"),
        "phasic_mini_epoch_pct": ("REM 3-s mini-epochs with phasic chin activity", "%"),
        "tonic_epoch_pct": ("REM 30-s epochs with tonic chin activity", "%"),
        "sinbar_combined_pct": ("REM mini-epochs with chin or phasic arm (FDS) activity", "%"),
        "sinbar_any_mentalis_exceeds": ("SINBAR 'any' chin cut-off (>= 18%) reached", ""),
        "sinbar_combined_exceeds": ("SINBAR chin + arm cut-off (>= 32%) reached", ""),
    },
    "state": {
        "n_jerks": ("myoclonic jerks", ""),
        "wake_count": ("jerks in wake (W epochs)", ""),
        "wake_fraction": ("share of jerks in wake", ""),
        "sleep_rate_h": ("jerks per hour of sleep", "/h"),
        "waking.stops_on_waking": ("jerks stop on arousal or awakening", ""),
        "clusters.count": ("clusters of jerks", ""),
        "spasm_clusters.count": ("clusters of spasm-like contractions", ""),
    },
    "subject": {
        "population": ("reference population", ""),
        "age_days": ("age", "days"),
    },
    "cortical": {
        "transient_found": ("EEG transient before the jerks found", ""),
        "n_jerks": ("jerks averaged", ""),
        "n_rejected": ("jerks left out (EEG artefact)", ""),
        "latency_ms": ("transient before EMG onset", "ms"),
        "amplitude_uv": ("transient amplitude", "µV"),
        "channel": ("EEG channel of the transient", ""),
        "p_value": ("p value (stage-matched random onsets)", ""),
        "reason": ("why no conclusion", ""),
        "burst_duration_ms_median": ("median EMG burst duration", "ms"),
        "burst_fraction_below_45_ms": ("share of bursts shorter than 45 ms", ""),
        "burst_suggests_cortical": ("burst durations suggest a cortical origin (< 45 ms)", ""),
    },
}


def _get(block: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    cur: Any = block
    for part in key.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return False, None
        cur = cur[part]
    return True, cur


def plain_rows(name: str, block: Mapping[str, Any]) -> list[tuple[str, Any, str]]:
    """``(plain name, value, unit)`` of the quantities of ``block`` named in :data:`QUANTITIES`."""
    rows = []
    for key, (title, unit) in QUANTITIES.get(name, {}).items():
        present, value = _get(block, key)
        if present and not isinstance(value, (Mapping, list)):
            rows.append((title, value, unit))
    return rows


def event_type_name(trial_type: str) -> str:
    """What one row of ``trial_type`` in the event table counts, in words."""
    return EVENT_TYPE_NAMES.get(trial_type, trial_type.replace("_", " "))
