"""Monolateral leg-movement (LM) detection in tibialis anterior EMG (WASM 2016; AASM).

Rules (docs/rules.md §1.3; parameters from :class:`somnomyo.settings.LMSettings`):

* **Onset** (WASM 2016 and AASM): first sample where the envelope rises at least
  ``onset_above_baseline_uv`` (8 µV) above the resting baseline.
* **Offset** (WASM 2016 and AASM): start of a period of at least ``offset_quiet_s`` (0.5 s)
  during which the envelope stays at or below ``offset_above_baseline_uv`` (2 µV) above the
  baseline. Dips shorter than that do not end an LM (MATPLM ``findIndices.m``).
* **Duration** at least ``min_duration_s`` (0.5 s); at most ``max_duration_s`` where set (AASM
  10 s; WASM 2016 has no maximum: long LMs are kept and the CLM stage rejects them).
* **Morphology** (WASM 2016 computer-scoring criterion; MATPLM ``cutLowMedian.m``), when
  ``morphology_rule``: the LM must contain a window of ``morphology_window_s`` (0.5 s) whose
  median rectified EMG is at least ``morphology_above_baseline_uv`` (2 µV) above baseline.
* The baseline is the noise-adaptive resting level (:mod:`somnomyo.signal.baseline`), with its
  optional noise term (``baseline.noise_k``, MATPLM ``dt_rev1.m``: k x the moving SD of the
  rectified EMG) for the rules ``baseline.noise_applies_to`` names; where the level without the
  noise term exceeds ``max_scorable_uv`` the stretch is unscorable (reason ``"noisy_baseline"``).

**Unscorable stretches**: LMs that overlap any unscorable stretch (noisy baseline, recording
gaps, or stretches passed in by the caller) are **dropped** (logged); the stretches are
returned in ``LMDetection.unscorable`` so later stages can treat them as breaks.

Everything is run-length arithmetic on boolean arrays (``np.diff``/``np.flatnonzero``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from somnomyo._logging import logger, verbose
from somnomyo.errors import ChannelError, check_choice
from somnomyo.events import concat_events, make_events
from somnomyo.io.recording import Recording
from somnomyo.settings import LMSettings, Settings
from somnomyo.signal.baseline import (
    expanded_median,
    noisy_level_intervals,  # noqa: F401
    resting_levels,
)
from somnomyo.signal.conditioning import ConditionedEMG, condition_emg
from somnomyo.signal.ecg import detect_r_peaks, resample_peaks
from somnomyo.signal.intervals import overlaps_any, runs, spans_from

SIDES = ("left", "right", "both")
UNSCORABLE_COLUMNS = ("onset", "duration", "reason", "channel")
LM_COLUMNS = ("start", "stop", "onset", "duration", "amplitude_uv", "mean_uv")
_CHUNK = 1 << 16  # samples per chunk of the threshold masks in :func:`find_lms` (cache-sized; speed only)


@dataclass
class LMDetection:
    """Result of :func:`detect_lms` / :func:`detect_leg_movements`.

    ``events``: the standard event table (``somnomyo.events``), ``trial_type`` =
    ``"leg_movement"``, with ``onset, duration, channel, side, amplitude_uv`` (peak envelope
    minus baseline, µV) filled, plus an extra ``mean_uv`` column (mean envelope minus baseline).
    ``unscorable``: (onset, duration, reason, channel) in seconds. ``baseline_median_uv``: median
    resting baseline without the noise term (``baseline.noise_k``; for several legs: the largest
    of the legs' medians). ``conditioned``: the conditioned EMG of a single channel; ``level`` /
    ``level_step``: the baseline its LM onset, amplitude and morphology rules are relative to, one
    value per ``level_step`` samples (:attr:`baseline` gives one per sample); ``offset_level``:
    that of the offset rule where it differs (the noise term, ``baseline.noise_applies_to =
    "offset"``), else ``None``; ``None`` for a combined result, whose ``per_side`` holds the
    single-leg results.
    """

    events: pd.DataFrame
    unscorable: pd.DataFrame
    baseline_median_uv: float
    conditioned: ConditionedEMG | None
    level: np.ndarray | None = None
    level_step: int = 1
    per_side: dict[str, LMDetection] = field(default_factory=dict)
    offset_level: np.ndarray | None = None

    @property
    def baseline(self) -> np.ndarray | None:
        """The resting baseline (µV) at every sample of the conditioned EMG (built on demand)."""
        if self.level is None or self.conditioned is None:
            return None
        return np.repeat(self.level, self.level_step)[: self.conditioned.envelope.size]


def _samples(seconds: float, fs: float) -> int:
    """Smallest whole number of samples lasting at least ``seconds``."""
    return max(1, int(np.ceil(seconds * fs - 1e-6)))


def _long_runs(mask: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (exclusive) of the runs of True in ``mask`` at least ``length`` long.

    Such a run always covers an aligned block of ``b = ceil(length / 2)`` True samples, so only
    the runs of all-True blocks are looked at: each such run extends into the block before it
    and the block after it (which hold a False sample, or the record's end) and no further, so
    its ends are found in those two blocks alone (no pass over every sample, no index array of
    every False sample).
    """
    n = mask.size
    b = max(1, (length + 1) // 2)
    nb = n // b
    if nb == 0:
        s0, s1 = runs(mask)
        keep = (s1 - s0) >= length
        return s0[keep], s1[keep]
    blocks = mask[: nb * b].reshape(nb, b)
    full = np.asarray(blocks.all(axis=1))
    bs, be = runs(full)  # runs of all-True blocks [bs, be)
    if not bs.size:
        return bs, be
    start = bs * b
    has_prev = bs > 0
    prev = blocks[bs[has_prev] - 1]  # the block before: not all True
    last_false = b - 1 - np.argmin(prev[:, ::-1], axis=1)  # its last False sample
    start[has_prev] = (bs[has_prev] - 1) * b + last_false + 1
    # the block after the run: not all True (a full block) or the record's ragged end
    stop = be * b
    tail = mask[nb * b :]
    inner = be < nb
    nxt = blocks[be[inner]]
    stop[inner] += np.argmin(nxt, axis=1)  # its first False sample
    last = ~inner  # the run reaches the ragged end
    if last.any():
        stop[last] += int(np.argmin(tail)) if (tail.size and not tail.all()) else tail.size
    keep = (stop - start) >= length
    return start[keep], stop[keep]


def _gather(start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample indices of all the spans [start, stop) one after another, each sample's
    position inside its span, and where each span begins in the result."""
    length = stop - start
    first = (np.cumsum(length) - length).astype(np.int64)
    pos = np.arange(int(length.sum()), dtype=np.int64) - np.repeat(first, length)
    return np.repeat(start, length) + pos, pos, first


def _morphology_ok(
    rect_above: np.ndarray, length: np.ndarray, pos: np.ndarray, first: np.ndarray, fs: float, settings: LMSettings
) -> np.ndarray:
    """WASM 2016 morphology: some ``morphology_window_s`` window inside [start, stop) has a median
    rectified EMG >= ``morphology_above_baseline_uv`` above baseline (MATPLM ``cutLowMedian.m``).

    ``rect_above`` holds the samples of the candidate LMs one after another (see :func:`_gather`).
    For an odd window of w samples the median is >= t exactly when at least (w+1)/2 samples are
    >= t, so a running count (cumsum) replaces the running median.
    """
    w = _samples(settings.morphology_window_s, fs)
    w += (w + 1) % 2
    hit = np.concatenate([[0], np.cumsum(rect_above >= settings.morphology_above_baseline_uv)])
    total = rect_above.size
    good = np.zeros(total, bool)
    if total >= w:
        good[: total - w + 1] = (hit[w:] - hit[:-w]) >= (w + 1) // 2  # window [k, k+w) passes
    good &= pos <= np.repeat(length - w, length)  # the window lies inside its LM
    return np.logical_or.reduceat(good, first) if first.size else np.zeros(0, bool)


def find_lms(
    envelope: np.ndarray,
    baseline: np.ndarray | float,
    fs: float,
    *,
    settings: LMSettings,
    rectified: np.ndarray | None = None,
    step: int = 1,
    offset_baseline: np.ndarray | float | None = None,
) -> pd.DataFrame:
    """LMs in one envelope (µV) against its baseline (µV), WASM 2016 / AASM rules.

    ``baseline``: one value per sample (``step`` = 1; a scalar is a constant baseline) or one value
    per ``step`` samples (``baseline[i // step]`` is the baseline at sample ``i``, as
    :func:`somnomyo.signal.baseline.resting_level` gives it; ``ceil(n / step)`` values).
    ``rectified`` (|conditioned EMG|) is used for the morphology rule; the envelope when absent.
    ``offset_baseline``: the baseline of the offset rule only (same shape as ``baseline``; the
    baseline with its noise term, :class:`somnomyo.signal.baseline.BaselineLevels`); ``baseline``
    when absent.
    Returns a table with columns ``start, stop`` (samples, stop exclusive), ``onset, duration``
    (s), ``amplitude_uv`` (peak envelope minus baseline) and ``mean_uv``; one row per LM.

    Whole-record work is two threshold masks, made a cache-sized chunk at a time against the
    baseline (no full-length copy of the baseline or of envelope minus baseline), and the ends
    of the long quiet runs; the rest is done on the samples of the candidate LMs only. Computed
    in the inputs' precision (float32 envelopes stay float32).
    """
    st = settings
    dtype = np.result_type(np.asarray(envelope).dtype, np.asarray(baseline).dtype, np.float32)
    e = np.asarray(envelope, dtype=dtype)
    n = e.size
    b = np.asarray(baseline, dtype=dtype)
    bo = None if offset_baseline is None else np.asarray(offset_baseline, dtype=dtype)
    if bo is not None and bo.shape != b.shape:
        raise ValueError(f"offset_baseline must have the shape of baseline {b.shape}, got {bo.shape}")
    step = int(step)
    if n == 0:  # nothing to scan: an empty table
        b, step = b.reshape(-1)[:0], 1
        bo = None
    elif b.ndim == 0 or b.size == 1:  # one constant baseline
        b, step = b.reshape(1), n
        bo = None if bo is None else bo.reshape(1)
    if step < 1 or b.ndim != 1 or b.size != -(-n // step):
        raise ValueError(
            f"baseline must hold one value per {step} sample(s) of the envelope "
            f"({-(-n // max(step, 1))} values), got shape {b.shape}"
        )
    quiet = np.empty(n, bool)
    high = np.empty(n, bool)
    chunk = max(step, _CHUNK // step * step)  # whole baseline steps per chunk
    for a in range(0, n, chunk):  # loop over cache-sized chunks, not samples
        z = min(a + chunk, n)
        base = b[a // step : -(-z // step)]
        above = e[a:z] - (base if step == 1 else np.repeat(base, step)[: z - a])
        np.greater_equal(above, st.onset_above_baseline_uv, out=high[a:z])
        if bo is not None:  # the offset rule against its own baseline
            base = bo[a // step : -(-z // step)]
            np.subtract(e[a:z], base if step == 1 else np.repeat(base, step)[: z - a], out=above)
        np.less_equal(above, st.offset_above_baseline_uv, out=quiet[a:z])
    # long quiet runs end LMs (WASM 2016 / AASM offset rule)
    qs, qe = _long_runs(quiet, _samples(st.offset_quiet_s, fs))
    del quiet
    seg_start = np.concatenate([[0], qe])
    seg_stop = np.concatenate([qs, [n]])
    keep = seg_stop > seg_start
    seg_start, seg_stop = seg_start[keep], seg_stop[keep]
    # onset: first sample >= +8 µV inside each active segment
    hi = np.flatnonzero(high)
    del high
    pos = np.searchsorted(hi, seg_start)
    has = pos < hi.size
    has[has] = hi[pos[has]] < seg_stop[has]
    start = hi[pos[has]]
    stop = seg_stop[has]
    dur = stop - start
    ok = dur >= _samples(st.min_duration_s, fs)
    if st.max_duration_s is not None:
        ok &= dur / fs <= st.max_duration_s + 1e-9
    start, stop = start[ok].astype(np.int64), stop[ok].astype(np.int64)
    idx, pos, first = _gather(start, stop)
    b_idx = b[idx if step == 1 else idx // step]
    vals = (e[idx] - b_idx).astype(np.float64)
    if st.morphology_rule and start.size:
        rect = e[idx] if rectified is None else np.abs(np.asarray(rectified)[idx])
        morph = _morphology_ok(rect.astype(np.float64) - b_idx, stop - start, pos, first, fs, st)
        if (~morph).any():
            logger.debug("LM morphology rule rejected %d of %d events", int((~morph).sum()), start.size)
    else:
        morph = np.ones(start.size, bool)
    if start.size:
        peak = np.maximum.reduceat(vals, first)
        mean = np.add.reduceat(vals, first) / (stop - start)
    else:
        peak = mean = np.zeros(0)
    start, stop, peak, mean = start[morph], stop[morph], peak[morph], mean[morph]
    return pd.DataFrame(
        {
            "start": start.astype(np.int64),
            "stop": stop.astype(np.int64),
            "onset": start / fs,
            "duration": (stop - start) / fs,
            "amplitude_uv": peak.astype(np.float64),
            "mean_uv": mean.astype(np.float64),
        }
    )


def _empty_unscorable() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "onset": pd.Series(dtype="float64"),
            "duration": pd.Series(dtype="float64"),
            "reason": pd.Series(dtype="string"),
            "channel": pd.Series(dtype="string"),
        }
    )


def _as_unscorable(df: pd.DataFrame | None, channel: str) -> pd.DataFrame:
    if df is None or len(df) == 0:
        return _empty_unscorable()
    missing = {"onset", "duration"} - set(df.columns)
    if missing:
        raise ValueError(f"unscorable table needs columns onset, duration (reason optional); missing {sorted(missing)}")
    out = pd.DataFrame(
        {"onset": df["onset"].astype("float64").to_numpy(), "duration": df["duration"].astype("float64").to_numpy()}
    )
    out["reason"] = (
        df["reason"].astype("string").to_numpy()
        if "reason" in df.columns
        else pd.Series(["unscorable"] * len(df), dtype="string").to_numpy()
    )
    out["reason"] = out["reason"].astype("string")
    out["channel"] = pd.Series(
        df["channel"].astype("string").to_numpy() if "channel" in df.columns else [channel] * len(df), dtype="string"
    )
    return out


def _to_events(lms: pd.DataFrame, label: str, side: str) -> pd.DataFrame:
    rows = pd.DataFrame(
        {
            "onset": lms["onset"].to_numpy(float),
            "duration": lms["duration"].to_numpy(float),
            "trial_type": "leg_movement",
            "channel": label,
            "side": side,
            "amplitude_uv": lms["amplitude_uv"].to_numpy(float),
            "mean_uv": lms["mean_uv"].to_numpy(float),
        }
    )
    return make_events(rows, mean_uv="float64")


def detect_lms(
    data: np.ndarray,
    fs: float,
    *,
    settings: Settings,
    label: str = "",
    side: str = "",
    ecg: np.ndarray | None = None,
    ecg_fs: float | None = None,
    r_peaks: np.ndarray | None = None,
    unscorable: pd.DataFrame | None = None,
    conditioned: ConditionedEMG | None = None,
) -> LMDetection:
    """Detect LMs in one leg EMG channel (µV at ``fs``): condition, baseline, WASM/AASM LM rules.

    ``ecg``/``ecg_fs`` or ``r_peaks`` (indices at ``fs``) feed ECG removal
    (:func:`somnomyo.signal.conditioning.condition_emg`). ``unscorable`` (onset, duration[,
    reason]) adds stretches to exclude; LMs overlapping any unscorable stretch are dropped.
    ``conditioned``: this channel already conditioned with ``settings.conditioning`` (e.g. by
    :func:`somnomyo.signal.conditioning.condition_recording`, shared with other detectors); used
    as is instead of conditioning ``data`` again.
    """
    check_choice("side", side, ("",) + SIDES)
    cond = (
        conditioned
        if conditioned is not None
        else condition_emg(data, fs, settings=settings.conditioning, ecg=ecg, ecg_fs=ecg_fs, r_peaks=r_peaks)
    )
    # one value per step samples; the max_scorable_uv rule looks at the level without the noise term
    levels = resting_levels(cond.envelope, fs, settings=settings.baseline, rectified=cond.filtered)
    level, step = levels.onset, levels.step
    n = cond.envelope.size
    noisy = _as_unscorable(noisy_level_intervals(levels.resting, step, n, fs, settings=settings.baseline), label)
    given = _as_unscorable(unscorable, label)
    unsc = pd.concat([t for t in (noisy, given) if len(t)] or [_empty_unscorable()], ignore_index=True)
    unsc = unsc.sort_values("onset", kind="stable").reset_index(drop=True)
    offset = None if levels.offset is level else levels.offset
    lms = find_lms(
        cond.envelope, level, fs, settings=settings.lm, rectified=cond.filtered, step=step, offset_baseline=offset
    )
    drop = overlaps_any(
        lms["onset"].to_numpy(float),
        (lms["onset"] + lms["duration"]).to_numpy(float),
        *spans_from(unsc["onset"], unsc["duration"], clip_negative=False),
    )
    if drop.any():
        logger.info("%s: %d LM(s) overlapping unscorable stretches dropped", label or "EMG", int(drop.sum()))
    lms = lms[~drop]
    median = expanded_median(levels.resting, step, n) if n else float("nan")
    logger.info("%s: %d LM(s); baseline median %.2f µV", label or "EMG", len(lms), median)
    return LMDetection(
        events=_to_events(lms, label, side),
        unscorable=unsc,
        baseline_median_uv=median,
        conditioned=cond,
        level=level,
        level_step=step,
        offset_level=offset,
    )


def _signal(recording: Recording, label: str, role: str):
    where = recording.path if recording.path is not None else None
    if label not in recording.labels and label not in recording.signals:
        raise ChannelError(
            f"{role} channel {label!r} not in the recording; channels: {', '.join(recording.labels)}", path=where
        )
    if label not in recording.signals:
        raise ChannelError(f"{role} channel {label!r} was not loaded", path=where)
    sig = recording.signals[label]
    if sig.unit != "uV":
        logger.warning("%s channel %r has unit %r, not a voltage in µV", role, label, sig.unit)
    return sig


@verbose
def detect_leg_movements(
    recording: Recording,
    *,
    legs: dict[str, str],
    ecg_label: str | None = None,
    settings: Settings,
    r_peaks: tuple[np.ndarray, float] | None = None,
    conditioned: Mapping[str, ConditionedEMG] | None = None,
    verbose: bool | str | int | None = None,
) -> LMDetection:
    """LMs on each leg of ``recording`` (WASM 2016 / AASM per ``settings``), in one table.

    ``legs`` maps side to channel label: ``{"left": ..., "right": ...}`` (either may be
    omitted) or ``{"both": label}`` for one bipolar channel spanning both legs (side
    ``"both"``). ``ecg_label``: an ECG channel; its R peaks are found once and reused for each
    leg. ``r_peaks``: those R peaks already found, as ``(sample indices, ECG fs)`` (e.g. by the
    pipeline, which shares them with other detectors); used instead of ``ecg_label``.
    ``conditioned``: leg channels already conditioned with ``settings.conditioning``, by label
    (:func:`somnomyo.signal.conditioning.condition_recording`); those legs are not conditioned
    again. Recording gaps (EDF+D) are unscorable.
    """
    if not legs:
        raise ValueError(f"legs must map at least one of {', '.join(map(repr, SIDES))} to a channel label")
    for side in legs:
        check_choice("legs side", side, SIDES)
    if "both" in legs and len(legs) > 1:
        raise ValueError("legs: 'both' (one channel for both legs) cannot be combined with 'left'/'right'")
    ecg_peaks, ecg_fs = None, None
    if r_peaks is not None:
        ecg_peaks, ecg_fs = np.asarray(r_peaks[0], dtype=np.int64), float(r_peaks[1])
    elif ecg_label is not None:
        ecg_sig = _signal(recording, ecg_label, "ECG")
        ecg_fs = ecg_sig.fs
        ecg_peaks = detect_r_peaks(ecg_sig.data, ecg_fs, settings=settings.conditioning)
    gaps = pd.DataFrame(
        {
            "onset": [g[0] for g in recording.gaps],
            "duration": [g[1] for g in recording.gaps],
            "reason": pd.Series(["recording_gap"] * len(recording.gaps), dtype="string"),
        }
    )
    per: dict[str, LMDetection] = {}
    for side in [s for s in SIDES if s in legs]:
        sig = _signal(recording, legs[side], f"{side} leg EMG")
        peaks = None if ecg_peaks is None else resample_peaks(ecg_peaks, ecg_fs, sig.fs, sig.data.size)  # type: ignore[arg-type]
        per[side] = detect_lms(
            sig.data,
            sig.fs,
            settings=settings,
            label=sig.label,
            side=side,
            r_peaks=peaks,
            unscorable=gaps,
            conditioned=(conditioned or {}).get(legs[side]),
        )
    events = concat_events([d.events for d in per.values()])
    if "mean_uv" not in events.columns:
        events["mean_uv"] = pd.Series(dtype="float64")
    unsc = [d.unscorable for d in per.values() if len(d.unscorable)]
    unscorable = (
        pd.concat(unsc, ignore_index=True).sort_values("onset", kind="stable").reset_index(drop=True)
        if unsc
        else _empty_unscorable()
    )
    return LMDetection(
        events=events,
        unscorable=unscorable,
        baseline_median_uv=max(d.baseline_median_uv for d in per.values()),
        conditioned=None,
        per_side=per,
    )
