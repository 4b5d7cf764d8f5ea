"""REM-sleep EMG: AASM phasic (transient) and tonic (sustained) activity, SINBAR percentages.

Sources (docs/rules.md §11):

* AASM RSWA, excessive transient (phasic) activity: a 30-s REM epoch split into ten 3-s
  mini-epochs is phasic when **>= 5 of 10** mini-epochs contain bursts of **0.1-5.0 s**
  with amplitude **>= 4x background** (confirmed in the French AASM translation).
* AASM RSWA, sustained (tonic) activity: **>= 50%** of the epoch with chin EMG greater than
  the minimum amplitude in NREM [UNCONFIRMED wording: ``rem_tonic_fraction``,
  ``rem_tonic_factor``].
* SINBAR (Frauscher et al., Sleep 2012): "any" mentalis activity in 3-s mini-epochs
  **>= 18%**; "any" mentalis + phasic bilateral flexor digitorum superficialis (arms)
  **>= 32%**. "Any" = phasic in the mini-epoch or the epoch tonic.
* RBDtector (Röthenbacher 2022): gaps < 0.25 s inside activity are bridged.

Implementation choices: the REM background of a channel is the ``rem_background_percentile``
(10th) percentile of its envelope over scorable REM; the NREM minimum is the lowest
median envelope of any scorable NREM epoch (both on ``rem_stat_samples_per_s`` evenly
spaced samples per second of the smoothed envelope). Only scorable REM epochs are evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from somnomyo._logging import logger, verbose
from somnomyo.detect.bursts import BlockBackground, EMGTrace, detect_bursts
from somnomyo.events import make_events
from somnomyo.io.annotations import NREM_STAGES, Hypnogram
from somnomyo.result import Result
from somnomyo.score.helpers import json_float, scorable_epochs
from somnomyo.settings import Settings, get_settings
from somnomyo.signal.intervals import IntervalsLike, channel_unscorable

ARM_ROLES = ("arm_left", "arm_right")


@dataclass
class ChannelRem:
    """Per-channel REM evaluation: ``phasic_mini`` (n_rem_epochs x 10 bool), ``tonic`` (n_rem_epochs bool)."""

    label: str
    role: str
    epoch_onsets: np.ndarray
    phasic_mini: np.ndarray
    tonic: np.ndarray | None
    background_uv: float
    nrem_min_uv: float | None


def _epoch_matrix(env: np.ndarray, fs: float, hypnogram: Hypnogram) -> tuple[np.ndarray, np.ndarray]:
    """Envelope cut into hypnogram epochs (n_epochs x samples per epoch) and, per epoch, whether
    it is fully recorded. A view (no copy) when the epochs start at a whole sample and fit the
    recording; otherwise a NaN-padded copy."""
    spe = int(round(hypnogram.epoch_s * fs))
    s0 = int(round(hypnogram.start * fs))
    ne = hypnogram.n_epochs
    total = ne * spe
    if s0 >= 0 and s0 + total <= env.size:
        return env[s0 : s0 + total].reshape(ne, spe), np.ones(ne, dtype=bool)
    out = np.full(total, np.nan, dtype=env.dtype)
    a, b = max(s0, 0), min(s0 + total, env.size)
    if b > a:
        out[a - s0 : b - s0] = env[a:b]
    mat = out.reshape(ne, spe)
    return mat, np.asarray(~np.isnan(mat).any(axis=1))


def _thin(mat: np.ndarray, fs: float, per_second: int) -> np.ndarray:
    """Every k-th sample of each row, about ``per_second`` per second (statistics on a night)."""
    step = max(1, int(fs // per_second)) if per_second > 0 else 1
    return mat[:, ::step]


def channel_rem(
    trace: EMGTrace, hypnogram: Hypnogram, *, settings: Settings, scorable: np.ndarray | None = None
) -> tuple[ChannelRem | None, pd.DataFrame]:
    """AASM phasic mini-epochs and tonic epochs of one channel, and its phasic bursts in REM.

    Percentiles and epoch medians are taken on about ``rem_stat_samples_per_s`` evenly spaced
    samples per second of the (smoothed) envelope (implementation, speed); bursts are looked
    for in scorable REM epochs only.
    """
    m = settings.myoclonus
    if scorable is None:
        scorable = np.ones(hypnogram.n_epochs, dtype=bool)
    mat, present = _epoch_matrix(trace.envelope, trace.fs, hypnogram)
    rem = (hypnogram.stages == "R") & scorable & present
    if not rem.any():
        return None, pd.DataFrame()
    thin_rem = _thin(mat[rem], trace.fs, m.rem_stat_samples_per_s)
    bg = max(float(np.percentile(thin_rem, m.rem_background_percentile)), m.burst_background_floor_uv)
    spe = mat.shape[1]
    s0 = int(round(hypnogram.start * trace.fs))
    thr_epoch = np.where(rem, m.rem_k_background * bg, np.inf)
    if s0 == 0:
        n_blocks = -(-trace.envelope.size // spe)
        vals = np.full(n_blocks, np.inf)
        vals[: min(n_blocks, rem.size)] = thr_epoch[:n_blocks]
        threshold: Any = BlockBackground(spe, vals, trace.envelope.size)
    else:
        ep = (np.arange(trace.envelope.size) - s0) // spe
        ok = (ep >= 0) & (ep < rem.size)
        threshold = np.where(ok, thr_epoch[np.clip(ep, 0, rem.size - 1)], np.inf)
    bursts = detect_bursts(
        trace,
        threshold=threshold,
        background=bg,
        merge_gap_s=m.rem_merge_gap_s,
        min_duration_s=m.rem_min_burst_s,
        max_duration_s=m.rem_max_burst_s,
    )
    mini = mini_epoch_activity(
        bursts["onset"].to_numpy(dtype=float), bursts["duration"].to_numpy(dtype=float), hypnogram, settings=settings
    )
    on = bursts["onset"].to_numpy(dtype=float) - hypnogram.start
    nrem_ok = np.isin(hypnogram.stages, NREM_STAGES) & scorable & present
    nrem_min = None
    if nrem_ok.any():
        thin_nrem = np.array(_thin(mat[nrem_ok], trace.fs, m.rem_stat_samples_per_s), dtype=float)
        k = thin_nrem.shape[1] // 2
        nrem_min = float(np.min(np.partition(thin_nrem, k, axis=1)[:, k]))
    tonic = None
    if nrem_min is not None:
        frac = np.mean(mat[rem] > m.rem_tonic_factor * nrem_min, axis=1)
        tonic = frac >= m.rem_tonic_fraction - 1e-12
    ep = np.floor(on / hypnogram.epoch_s).astype(np.int64)
    in_rem = (ep >= 0) & (ep < hypnogram.n_epochs)
    in_rem[in_rem] = rem[ep[in_rem]]
    cr = ChannelRem(
        label=trace.label,
        role=trace.role,
        epoch_onsets=hypnogram.start + np.flatnonzero(rem) * hypnogram.epoch_s,
        phasic_mini=mini[rem],
        tonic=tonic,
        background_uv=bg,
        nrem_min_uv=nrem_min,
    )
    return cr, bursts.loc[in_rem].reset_index(drop=True)


def mini_epoch_activity(
    onsets: np.ndarray, durations: np.ndarray, hypnogram: Hypnogram, *, settings: Settings
) -> np.ndarray:
    """Per epoch and 3-s mini-epoch (``rem_mini_epoch_s``; AASM RSWA), whether a burst
    (``onsets``, ``durations`` in s) covers part of it: an (n_epochs x mini-epochs per epoch)
    boolean array."""
    m = settings.myoclonus
    n_mini = int(round(hypnogram.epoch_s / m.rem_mini_epoch_s))
    total = hypnogram.n_epochs * n_mini
    on = np.asarray(onsets, dtype=float) - hypnogram.start
    end = on + np.asarray(durations, dtype=float)
    i0 = np.clip(np.floor(on / m.rem_mini_epoch_s + 1e-9).astype(np.int64), 0, total)
    i1 = np.clip(np.floor((end - 1e-9) / m.rem_mini_epoch_s).astype(np.int64) + 1, 0, total)
    delta = np.zeros(total + 1, dtype=np.int64)
    good = i1 > i0
    np.add.at(delta, i0[good], 1)
    np.add.at(delta, i1[good], -1)
    return (np.cumsum(delta[:-1]) > 0).reshape(hypnogram.n_epochs, n_mini)


class RemEmgSummary(TypedDict):
    """Block ``rem_emg`` of summary.json (chin for AASM/SINBAR mentalis, arms for the combined index)."""

    channel: str | None
    n_rem_epochs: int | None
    n_mini_epochs: int | None
    phasic_mini_epoch_pct: float | None
    phasic_epochs: int | None
    phasic_epoch_pct: float | None
    tonic_epochs: int | None
    tonic_epoch_pct: float | None
    any_mini_epoch_pct: float | None
    background_uv: float | None
    nrem_min_uv: float | None
    sinbar_any_mentalis_exceeds: bool | None
    sinbar_combined_pct: float | None
    sinbar_combined_exceeds: bool | None
    notes: list[str]


@dataclass
class RemEmgResult(Result):
    """Phasic EMG bursts in REM (``events``) and per-channel mini-epoch evaluation (``channels``)."""

    events: pd.DataFrame
    channels: list[ChannelRem]
    settings: Settings
    has_hypnogram: bool = True
    notes: list[str] = field(default_factory=list)

    def epochs(self) -> pd.DataFrame:
        """One row per channel and REM epoch: phasic mini-epochs, phasic and tonic flags."""
        rows = []
        for c in self.channels:
            n = c.phasic_mini.sum(axis=1)
            rows.append(
                pd.DataFrame(
                    {
                        "onset": c.epoch_onsets,
                        "channel": c.label,
                        "role": c.role,
                        "phasic_mini_epochs": n,
                        "phasic": n >= self.settings.myoclonus.rem_min_phasic_mini_epochs,
                        "tonic": c.tonic if c.tonic is not None else pd.NA,
                    }
                )
            )
        return (
            pd.concat(rows, ignore_index=True)
            if rows
            else pd.DataFrame(columns=["onset", "channel", "role", "phasic_mini_epochs", "phasic", "tonic"])
        )

    BLOCK = "rem_emg"
    Summary = RemEmgSummary

    def summary_block(self) -> RemEmgSummary:
        """JSON-ready block ``rem_emg`` (chin for AASM/SINBAR mentalis, arms for the combined index)."""
        m = self.settings.myoclonus
        chin = next((c for c in self.channels if c.role == "chin"), None)
        out: RemEmgSummary = {
            "channel": None,
            "n_rem_epochs": 0 if self.has_hypnogram else None,
            "n_mini_epochs": None,
            "phasic_mini_epoch_pct": None,
            "phasic_epochs": None,
            "phasic_epoch_pct": None,
            "tonic_epochs": None,
            "tonic_epoch_pct": None,
            "any_mini_epoch_pct": None,
            "background_uv": None,
            "nrem_min_uv": None,
            "sinbar_any_mentalis_exceeds": None,
            "sinbar_combined_pct": None,
            "sinbar_combined_exceeds": None,
            "notes": list(self.notes),
        }
        if chin is None:
            return out
        n_ep, n_mini = chin.phasic_mini.shape
        phasic_ep = chin.phasic_mini.sum(axis=1) >= m.rem_min_phasic_mini_epochs
        out.update(
            {
                "channel": chin.label,
                "n_rem_epochs": int(n_ep),
                "n_mini_epochs": int(n_ep * n_mini),
                "phasic_mini_epoch_pct": json_float(100.0 * chin.phasic_mini.mean()),
                "phasic_epochs": int(phasic_ep.sum()),
                "phasic_epoch_pct": json_float(100.0 * phasic_ep.mean()),
                "background_uv": json_float(chin.background_uv),
                "nrem_min_uv": json_float(chin.nrem_min_uv),
            }
        )
        any_mini = chin.phasic_mini.copy()
        if chin.tonic is not None:
            out["tonic_epochs"] = int(chin.tonic.sum())
            out["tonic_epoch_pct"] = json_float(100.0 * chin.tonic.mean())
            any_mini |= chin.tonic[:, None]
        any_pct = 100.0 * any_mini.mean()
        out["any_mini_epoch_pct"] = json_float(any_pct)
        out["sinbar_any_mentalis_exceeds"] = bool(any_pct >= m.rem_sinbar_any_pct)
        arms = [c for c in self.channels if c.role in ARM_ROLES and c.phasic_mini.shape == chin.phasic_mini.shape]
        if arms:
            comb = any_mini.copy()
            for a in arms:
                comb |= a.phasic_mini
            pct = 100.0 * comb.mean()
            out["sinbar_combined_pct"] = json_float(pct)
            out["sinbar_combined_exceeds"] = bool(pct >= m.rem_sinbar_combined_pct)
        return out


@verbose
def detect_rem_emg(
    traces: Sequence[EMGTrace],
    *,
    hypnogram: Hypnogram | None,
    settings: Settings | None = None,
    unscorable: IntervalsLike = None,
    verbose: bool | str | int | None = None,
) -> RemEmgResult:
    """AASM phasic/tonic REM EMG on ``traces`` (chin, and arms for SINBAR); needs a hypnogram."""
    settings = settings or get_settings()
    if hypnogram is None or hypnogram.source == "none":
        return rem_from_events(make_events(None), [], settings=settings, has_hypnogram=False)
    chans: list[ChannelRem] = []
    rows = []
    for tr in traces:  # loop over channels
        ok = scorable_epochs(hypnogram, channel_unscorable(unscorable, tr.label))
        cr, b = channel_rem(tr, hypnogram, settings=settings, scorable=ok)
        if cr is None:
            continue
        chans.append(cr)
        if len(b):
            rows.append(
                pd.DataFrame(
                    {
                        "onset": b["onset"],
                        "duration": b["duration"],
                        "trial_type": "phasic_emg",
                        "channel": tr.label,
                        "stage": "R",
                        "amplitude_uv": b["amplitude_uv"],
                        "muscles": tr.role,
                    }
                )
            )
    events = make_events(pd.concat(rows, ignore_index=True)) if rows else make_events(None)
    logger.info("REM EMG: %d phasic bursts on %d channel(s)", len(events), len(chans))
    return rem_from_events(events, chans, settings=settings)


def rem_from_events(
    events: pd.DataFrame, channels: Sequence[ChannelRem], *, settings: Settings, has_hypnogram: bool = True
) -> RemEmgResult:
    """The :class:`RemEmgResult` of the phasic bursts in ``events`` and the channels evaluated
    (each with its REM epochs, tonic flags and levels). Used by :func:`detect_rem_emg` and to
    score a reviewed event table (``somnomyo.rescore``), whose phasic mini-epochs are first
    recomputed from its bursts (:func:`mini_epoch_activity`)."""
    if not has_hypnogram:
        return RemEmgResult(
            events=make_events(None),
            channels=[],
            settings=settings,
            has_hypnogram=False,
            notes=["no hypnogram: REM EMG not evaluated"],
        )
    chans = list(channels)
    notes = [] if any(c.role == "chin" for c in chans) else ["no chin channel with REM sleep"]
    return RemEmgResult(events=events, channels=chans, settings=settings, notes=notes)
