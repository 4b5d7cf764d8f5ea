"""Myoclonus (family ``myoclonus``): fragmentary myoclonus and the AASM EFM rule, myoclonic and
hypnic jerks, jerk clusters, negative myoclonus and REM phasic/tonic EMG
(:func:`somnomyo.detect.myoclonus.detect_myoclonus`; sources in each detector's module).

``from_events`` scores the given rows by the detectors' own scoring steps
(``fragmentary_from_events``, ``jerks_from_events``, ``hypnic_from_events``,
``negative_from_events``, ``rem_from_events``): the stage and arousal of each event are
recomputed from its onset (as the detectors set them), jerk clusters are found again from the
jerks (:func:`somnomyo.detect.clusters.detect_clusters`), and the REM phasic mini-epochs are
recomputed from the ``phasic_emg`` bursts; what only the signal gives (the channels looked at,
their unscorable time, the FM candidates rejected, the REM tonic epochs and levels) comes from
the context saved when the night was scored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from somnomyo.events import make_events
from somnomyo.io.channels import EMG_ROLES
from somnomyo.steps.base import Detector, Night, Scored

if TYPE_CHECKING:  # pragma: no cover
    from somnomyo.detect.myoclonus import MyoclonusResult
    from somnomyo.detect.rem_phasic import ChannelRem
    from somnomyo.io.annotations import Annotations, Hypnogram
    from somnomyo.rescore import ScoringContext
    from somnomyo.settings import Settings

TRIAL_TYPES = (
    "fragmentary_myoclonus",
    "myoclonic_jerk",
    "hypnic_jerk",
    "jerk_cluster",
    "negative_myoclonus",
    "phasic_emg",
)
BLOCKS = ("fragmentary_myoclonus", "jerks", "hypnic_jerks", "clusters", "negative_myoclonus", "rem_emg")
#: detector-specific columns of each event kind, with their dtypes (as the detectors make them)
EXTRA_COLUMNS: dict[str, dict[str, str]] = {
    "fragmentary_myoclonus": {"ptp_uv": "float64"},
    "myoclonic_jerk": {"burst_ms": "float64", "n_muscles": "int64", "axial": "bool", "limb": "bool"},
    "hypnic_jerk": {"burst_ms": "float64", "n_muscles": "int64", "axial": "bool", "limb": "bool"},
    "negative_myoclonus": {"depth": "float64"},
    "phasic_emg": {},
}
#: event kinds whose stage and arousal association are set from their onset and duration
_WITH_CONTEXT = ("fragmentary_myoclonus", "myoclonic_jerk", "hypnic_jerk", "negative_myoclonus")


def run(night: Night) -> Scored:
    """Every myoclonus detector on the night's EMG (the leg EMG conditioned for LM detection is
    handed over: its envelope memory is reused for the brief-burst envelope)."""
    from somnomyo.detect.myoclonus import detect_myoclonus, emg_traces

    night.progress("detecting myoclonus")
    traces = emg_traces(
        night.recording,
        night.roles,
        settings=night.settings,
        r_peaks=night.r_peaks,
        conditioned=night.conditioned,
        reuse_envelopes=True,
    )
    myo = detect_myoclonus(
        night.recording,
        night.roles,
        hypnogram=night.hypnogram,
        annotations=night.annotations,
        settings=night.settings,
        unscorable=night.unscorable,
        r_peaks=night.r_peaks,
        traces=traces,
    )
    return Scored(
        blocks=myo.summary(), results={"myoclonus": myo}, events=myo.events, context=_context(myo, night.hypnogram)
    )


def _context(myo: MyoclonusResult, hypnogram: Hypnogram) -> dict[str, Any]:
    """What only the signal gives, for :func:`from_events`: the channels looked at (label -> role),
    the FM candidates rejected per reason, and per REM channel its REM epochs (indices), tonic
    flags and levels."""
    return {
        "channels": dict(myo.channels),
        "rejected": {k: int(v) for k, v in myo.fragmentary.rejected.items()},
        "rem_channels": [
            {
                "label": c.label,
                "role": c.role,
                "epochs": [
                    int(i)
                    for i in np.rint((np.asarray(c.epoch_onsets, dtype=float) - hypnogram.start) / hypnogram.epoch_s)
                ],
                "tonic": None if c.tonic is None else [bool(v) for v in c.tonic],
                "background_uv": float(c.background_uv),
                "nrem_min_uv": None if c.nrem_min_uv is None else float(c.nrem_min_uv),
            }
            for c in myo.rem.channels
        ],
    }


def _coerce(col: pd.Series, dtype: str) -> Any:
    """``col`` as ``dtype`` (read from TSV text too); nullable where values are missing."""
    if dtype == "bool":
        vals = col.map(lambda v: {"true": True, "false": False}.get(v, v) if isinstance(v, str) else v)
        vals = vals.astype("boolean")
        return vals.astype("bool") if not vals.isna().any() else vals
    num = pd.to_numeric(col, errors="coerce")
    if dtype == "int64" and num.isna().any():
        return num.astype("Int64")
    return num.astype(dtype)


def event_rows(events: pd.DataFrame, kinds: tuple[str, ...]) -> pd.DataFrame:
    """The rows of ``kinds`` as their detector makes them: standard columns plus its own ones."""
    from somnomyo.events import COLUMNS

    tt = events["trial_type"].astype("object")
    rows = events.loc[tt.isin(kinds).to_numpy(dtype=bool)].reset_index(drop=True)
    extra = {k: v for kind in kinds for k, v in EXTRA_COLUMNS.get(kind, {}).items()}
    data = rows[[c for c in COLUMNS if c in rows.columns]].copy()
    for name, dtype in extra.items():
        data[name] = (
            _coerce(rows[name], dtype)
            if name in rows.columns
            else pd.Series(
                np.nan if dtype == "float64" else pd.NA,
                index=rows.index,
                dtype="Int64" if dtype == "int64" else ("boolean" if dtype == "bool" else dtype),
            )
        )
    if len(data) == 0:
        return make_events(None).assign(**{k: pd.Series(dtype=v) for k, v in extra.items()})
    return make_events(data)


def with_event_context(
    rows: pd.DataFrame, hypnogram: Hypnogram, annotations: Annotations, *, settings: Settings
) -> pd.DataFrame:
    """Stage at onset and arousal association (WASM 2016/AASM: overlap or < 0.5 s) of each row, as
    the myoclonus detectors set them (:func:`somnomyo.score.helpers.stages_at`,
    :func:`somnomyo.score.associations.arousal_flags`)."""
    from somnomyo.score.associations import arousal_flags
    from somnomyo.score.helpers import stages_at

    if len(rows) == 0:
        return rows
    on = rows["onset"].to_numpy(dtype=float)
    out = rows.copy()
    out["stage"] = pd.array(stages_at(on, hypnogram), dtype="string")
    ar = arousal_flags(on, rows["duration"].to_numpy(dtype=float), annotations, max_gap_s=settings.arousal.max_gap_s)
    out["arousal"] = pd.array(ar, dtype="boolean") if ar is not None else pd.array([pd.NA] * len(rows), dtype="boolean")
    return out


def _rem_channels(
    saved: list[dict[str, Any]], phasic: pd.DataFrame, hypnogram: Hypnogram, *, settings: Settings
) -> list[ChannelRem]:
    """The REM channels evaluated, their phasic mini-epochs recomputed from ``phasic`` bursts."""
    from somnomyo.detect.rem_phasic import ChannelRem, mini_epoch_activity

    out = []
    ch = phasic["channel"].astype("object").to_numpy()
    for c in saved:  # loop over channels
        mine = phasic.loc[ch == c["label"]]
        act = mini_epoch_activity(
            mine["onset"].to_numpy(dtype=float), mine["duration"].to_numpy(dtype=float), hypnogram, settings=settings
        )
        idx = np.asarray(c["epochs"], dtype=np.int64)
        out.append(
            ChannelRem(
                label=c["label"],
                role=c["role"],
                epoch_onsets=hypnogram.start + idx * hypnogram.epoch_s,
                phasic_mini=act[idx],
                tonic=None if c["tonic"] is None else np.asarray(c["tonic"], bool),
                background_uv=float(c["background_uv"]),
                nrem_min_uv=c["nrem_min_uv"],
            )
        )
    return out


def from_events(events: pd.DataFrame, context: ScoringContext, earlier: pd.DataFrame) -> Scored:
    """Score the given myoclonus rows by the detectors' own scoring steps (module docstring)."""
    from somnomyo.detect.clusters import detect_clusters
    from somnomyo.detect.fragmentary import fragmentary_from_events
    from somnomyo.detect.hypnic import hypnic_from_events
    from somnomyo.detect.jerks import jerks_from_events
    from somnomyo.detect.myoclonus import MyoclonusResult, add_gaps
    from somnomyo.detect.negative import negative_from_events
    from somnomyo.detect.rem_phasic import rem_from_events
    from somnomyo.signal.intervals import common_unscorable

    own = context.step("myoclonus")
    st, hyp, ann, dur = context.settings, context.hypnogram, context.annotations, context.duration_s
    channels: dict[str, str] = dict(own.get("channels", {}))
    labels = list(channels)
    unscorable = add_gaps(context.unscorable, context.gaps, labels)
    bad = common_unscorable(unscorable, labels)

    def rows(*kinds: str) -> pd.DataFrame:
        r = event_rows(events, kinds)
        return with_event_context(r, hyp, ann, settings=st) if set(kinds) <= set(_WITH_CONTEXT) else r

    fm = fragmentary_from_events(
        rows("fragmentary_myoclonus"),
        hypnogram=hyp,
        settings=st,
        unscorable=bad,
        duration_s=dur,
        rejected=own.get("rejected"),
    )
    jerk_rows = rows("myoclonic_jerk", "hypnic_jerk")
    jerks = jerks_from_events(jerk_rows, hypnogram=hyp, settings=st, unscorable=bad, duration_s=dur)
    is_hypnic = jerk_rows["trial_type"].astype("object").to_numpy() == "hypnic_jerk"
    hypnic = hypnic_from_events(make_events(jerk_rows.loc[is_hypnic]), hypnogram=hyp, settings=st)
    clusters = detect_clusters(jerks, settings=st)
    nm_labels = [lab for lab, role in channels.items() if role in st.myoclonus.nm_roles]
    negative = negative_from_events(
        rows("negative_myoclonus"),
        hypnogram=hyp,
        settings=st,
        unscorable=common_unscorable(unscorable, nm_labels),
        duration_s=dur,
        n_channels=len(nm_labels),
    )
    phasic = rows("phasic_emg")
    has_hyp = hyp.source != "none"
    rem = rem_from_events(
        phasic if has_hyp else make_events(None),
        _rem_channels(own.get("rem_channels", []), phasic, hyp, settings=st) if has_hyp else [],
        settings=st,
        has_hypnogram=has_hyp,
    )
    myo = MyoclonusResult(
        fragmentary=fm, jerks=jerks, hypnic=hypnic, clusters=clusters, negative=negative, rem=rem, channels=channels
    )
    return Scored(blocks=myo.summary(), results={"myoclonus": myo}, events=myo.events, context=own)


DETECTOR = Detector(
    name="myoclonus",
    family="myoclonus",
    roles=EMG_ROLES,
    trial_types=TRIAL_TYPES,
    blocks=BLOCKS,
    run=run,
    from_events=from_events,
)
