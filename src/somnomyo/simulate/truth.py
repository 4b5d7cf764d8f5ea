"""Expected results of a simulated night, derived from its designed events.

The numbers follow from the design, not from running a detector: e.g. a bilateral
pair is two monolateral LMs but one CLM (WASM 2016 bilateral rule; AASM onsets
< 5 s apart); a long LM (> 10 s) is not a CLM (WASM 2016) nor an LM (AASM); every
designed series has >= 4 LMs with IMIs in 15-60 s (WASM 2016 10-90 s; AASM 5-90 s).
EFM follows the AASM rule (>= ``efm_min_per_min`` potentials in a minute of NREM,
for >= ``efm_min_minutes`` minutes, cumulative [UNCONFIRMED: contiguity]).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from somnomyo.events import make_events
from somnomyo.io.annotations import NREM_STAGES, SLEEP_STAGES
from somnomyo.simulate.options import SimOptions
from somnomyo.simulate.synth import EPOCH_S


def efm_minutes(fm: list[dict[str, Any]], stages: np.ndarray, options: SimOptions, channel: str | None = None) -> int:
    """Whole NREM minutes (pairs of NREM epochs) with >= ``efm_min_per_min`` FM potentials."""
    n_min = stages.size // 2
    nrem = np.isin(stages[: 2 * n_min].reshape(n_min, 2), NREM_STAGES).all(axis=1)
    on = np.asarray([e["onset"] for e in fm if channel is None or e["channel"] == channel], dtype=float)
    counts = (
        np.bincount((on // (2 * EPOCH_S)).astype(np.int64), minlength=n_min)[:n_min]
        if on.size
        else np.zeros(n_min, dtype=np.int64)
    )
    return int(((counts >= options.efm_min_per_min) & nrem).sum())


def expected(truth: dict[str, Any], stages: np.ndarray, options: SimOptions) -> dict[str, Any]:
    """Counts and indices a correct scorer should find in the night (see module docstring)."""
    lms = truth["leg_movements"]
    tst_h = float(np.isin(stages, SLEEP_STAGES).sum()) * EPOCH_S / 3600.0
    nrem_min = float(np.isin(stages, NREM_STAGES).sum()) * EPOCH_S / 60.0
    n_long = sum(lm["kind"] == "long" for lm in lms)
    pairs = {lm["pair_id"] for lm in lms if lm["pair_id"] is not None}
    series = {lm["series_id"] for lm in lms if lm["series_id"] is not None}
    n_plm = sum(lm["kind"] == "periodic" for lm in lms)
    apneas = truth["apneas"]
    n_hyp = sum(a["kind"] == "hypopnea" for a in apneas)
    fm = truth["fragmentary_myoclonus"]
    pos = efm_minutes(fm, stages, options)
    per_ch = {c: efm_minutes(fm, stages, options, c) for c in sorted({e["channel"] for e in fm})}

    def per_h(n: int) -> float:
        return round(n / tst_h, 3) if tst_h > 0 else 0.0

    return {
        "tst_h": round(tst_h, 4),
        "nrem_min": nrem_min,
        "n_lm": len(lms),
        "n_lm_sleep": sum(lm["stage"] in SLEEP_STAGES for lm in lms),
        "n_lm_wake": sum(lm["stage"] == "W" for lm in lms),
        "n_long_lm": n_long,
        "n_bilateral_pairs": len(pairs),
        "n_clm": len(lms) - n_long - len(pairs),
        "plms_series": len(series),
        "n_plm": n_plm,
        "plms_index": per_h(n_plm),
        "n_rlm": sum(lm["respiratory"] for lm in lms),
        "n_rlm_aasm": sum(lm["respiratory_aasm"] for lm in lms),
        "n_lm_arousal": sum(lm["arousal"] for lm in lms),
        "n_plm_arousal": sum(lm["arousal"] and lm["kind"] == "periodic" for lm in lms),
        "n_apneas": len(apneas) - n_hyp,
        "n_hypopneas": n_hyp,
        "ahi": per_h(len(apneas)),
        "n_arousals": len(truth["arousals"]),
        "arousal_index": per_h(len(truth["arousals"])),
        "n_fm": len(fm),
        "fm_index_nrem": round(len(fm) / (nrem_min / 60.0), 3) if nrem_min else 0.0,
        "efm_positive_minutes": pos,
        "efm": bool(pos >= options.efm_min_minutes),
        "efm_positive_minutes_per_channel": per_ch,
        "efm_single_channel": bool(any(v >= options.efm_min_minutes for v in per_ch.values())),
        "n_hypnic_jerks": len(truth["hypnic_jerks"]),
        "n_myoclonic_jerks": len(truth["myoclonic_jerks"]),
        "n_cortical_jerks": sum(j["cortical"] for j in truth["myoclonic_jerks"]),
        "n_negative_myoclonus": len(truth["negative_myoclonus"]),
        "n_clusters": len(truth["clusters"]),
        "n_twitches": len(truth["twitches"]),
        "n_detectable_twitches": 0,
    }


def truth_events(truth: dict[str, Any]) -> pd.DataFrame:
    """The designed movement events as the standard event table (``somnomyo.events``)."""
    rows: list[dict[str, Any]] = []
    for lm in truth["leg_movements"]:
        rows.append(
            {
                "onset": lm["onset"],
                "duration": lm["duration"],
                "trial_type": "leg_movement",
                "channel": lm["channel"],
                "side": lm["side"],
                "stage": lm["stage"],
                "periodic": lm["kind"] == "periodic",
                "series_id": lm["series_id"],
                "respiratory": lm["respiratory"],
                "arousal": lm["arousal"],
                "amplitude_uv": lm["amplitude_uv"],
            }
        )
    for e in truth["fragmentary_myoclonus"]:
        rows.append(
            {
                "onset": e["onset"],
                "duration": e["duration"],
                "trial_type": "fragmentary_myoclonus",
                "channel": e["channel"],
                "amplitude_uv": e["amplitude_uv"],
            }
        )
    for kind, key in (("hypnic_jerk", "hypnic_jerks"), ("myoclonic_jerk", "myoclonic_jerks")):
        for j in truth[key]:
            rows.append(
                {
                    "onset": j["onset"],
                    "duration": j["duration"],
                    "trial_type": kind,
                    "channel": ",".join(j["muscles"]),
                    "muscles": ",".join(j["muscles"]),
                    "stage": j["stage"],
                    "extent": j.get("extent", "generalized"),
                    "lag_ms": ",".join(f"{x:g}" for x in j["lags_ms"]),
                }
            )
    for e in truth["negative_myoclonus"]:
        rows.append(
            {
                "onset": e["onset"],
                "duration": e["duration"],
                "trial_type": "negative_myoclonus",
                "channel": e["channel"],
                "stage": e["stage"],
            }
        )
    for c in truth["clusters"]:
        rows.append(
            {
                "onset": c["onset"],
                "duration": c["duration"],
                "trial_type": "jerk_cluster",
                "channel": ",".join(c["channels"]),
                "muscles": ",".join(c["channels"]),
                "stage": c["stage"],
            }
        )
    return make_events(rows) if rows else make_events(None)
