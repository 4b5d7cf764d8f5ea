"""Is a jerk cortical? Jerk-locked EEG back-averaging (JLBA) with a surrogate test, EMG
burst durations, and an EEG-rhythm check during jerk clusters.

Sources (docs/rules.md §15.1, §15.2, §15.9):

* JLBA: trigger on the EMG burst onset and average the EEG; use
  >= 50 artefact-free jerks, typically 50-200 (Latorre 2023). A cortical premyoclonic
  spike peaks ~20 ms before the EMG onset for hand muscles (Shibasaki, J Clin
  Neurophysiol 1992), longer for legs (~30-40 ms, [UNCONFIRMED]). Significance: a
  shuffled-trigger surrogate test with >= 1000 surrogates; no consensus number exists,
  so the test here is an implementation choice: stage-matched random triggers (away
  from every true jerk), the maximum |average| in the pre-jerk window standardised
  per channel, family-wise over channels through the maximum statistic.
  No premyoclonic potential is expected in benign sleep myoclonus of infancy,
  propriospinal myoclonus, PLMS or hypnic jerks.
* EMG burst duration: cortical bursts 10-50 ms (Hallett 1979);
  a 45-ms cut-off separates cortical from non-cortical myoclonus with >= 10 bursts
  (van der Veen 2024, secondary summary); the classic 100-ms cut-off is NOT validated
  (MDS abstract).
* Rhythmic jerking with an EEG rhythm (ILAE): clonic seizures are rhythmic (1-3 Hz)
  with an EEG discharge; BSMI has a normal EEG. Tested as EEG power at the cluster
  jerk rate during clusters versus just before them (implementation choice).

Parameters: ``settings.interpret`` (:class:`somnomyo.settings_interpret.InterpretSettings`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict, cast

import numpy as np
import pandas as pd

from somnomyo._logging import logger, verbose
from somnomyo.events import empty_events
from somnomyo.io.annotations import Hypnogram
from somnomyo.io.recording import Signal
from somnomyo.result import Result
from somnomyo.settings import Settings, get_settings
from somnomyo.signal.filters import butter_filtfilt

ANY_STAGE = "ANY"


def _num(x: Any, nd: int = 3) -> float | None:
    """Plain rounded float, or None for None/NaN (JSON null)."""
    if x is None:
        return None
    v = float(x)
    return None if not np.isfinite(v) else round(v, nd)


def _as_signals(eeg: Mapping[str, Signal] | Sequence[Signal] | None) -> list[Signal]:
    if eeg is None:
        return []
    sigs = list(eeg.values()) if isinstance(eeg, Mapping) else list(eeg)
    for s in sigs:
        if not isinstance(s, Signal):
            raise TypeError(f"eeg must hold Signal objects; got {type(s).__name__}")
    return sigs


# --------------------------------------------------------------------------------------
def burst_duration_stats(durations_s: Any, *, settings: Settings | None = None) -> dict[str, Any]:
    """Median EMG burst duration and the fractions below 45, 50 and 100 ms.

    Cortical myoclonus bursts last 10-50 ms (Hallett 1979); a median below 45 ms with
    >= 10 bursts suggests a cortical generator (van der Veen 2024, secondary summary;
    sens 100%, spec 89.5%). The 100-ms cut-off is reported but NOT validated (MDS
    abstract; docs/rules.md §15.2).
    """
    s = (settings or get_settings()).interpret
    d = np.asarray([] if durations_s is None else durations_s, dtype=float) * 1000.0
    d = d[np.isfinite(d) & (d > 0)]
    n = int(d.size)
    med = float(np.median(d)) if n else None
    enough = n >= s.burst_min_bursts
    return {
        "n_bursts": n,
        "median_ms": _num(med, 1),
        "fraction_below_cutoff": _num((d < s.burst_cortical_cutoff_ms).mean()) if n else None,
        "fraction_below_50_ms": _num((d < s.burst_short_ms).mean()) if n else None,
        "fraction_below_100_ms": _num((d < s.burst_long_ms).mean()) if n else None,
        "cutoff_ms": s.burst_cortical_cutoff_ms,
        "suggests_cortical": (bool(med < s.burst_cortical_cutoff_ms) if enough and med is not None else None),
        "note": (
            "median < 45 ms suggests a cortical generator (van der Veen 2024, >= 10 bursts); "
            "the 100-ms cut-off is not validated"
        ),
    }


# --------------------------------------------------------------------------------------
class EegRhythmSummary(TypedDict):
    """``cortical.eeg_rhythm``: EEG power at the jerk rate during clusters (:func:`cluster_eeg_rhythm`)."""

    n_clusters: int
    median_power_ratio: float | None
    threshold: float
    found: bool


class CorticalSummary(TypedDict):
    """Block ``cortical`` of summary.json (nulls where undefined)."""

    transient_found: bool | None
    n_jerks: int
    n_rejected: int
    latency_ms: float | None
    amplitude_uv: float | None
    channel: str | None
    p_value: float | None
    n_surrogates: int
    channels: list[str]
    reason: str
    burst_duration_ms_median: float | None
    burst_n: int | None
    burst_fraction_below_45_ms: float | None
    burst_fraction_below_50_ms: float | None
    burst_fraction_below_100_ms: float | None
    burst_suggests_cortical: bool | None
    eeg_rhythm: EegRhythmSummary | None


@dataclass
class CorticalResult(Result):
    """Result of :func:`jerk_locked_average`.

    ``times_ms``, ``average``, ``band_lo``, ``band_hi`` map each EEG label to arrays over
    the window (ms relative to EMG onset; average in µV; band = 2.5-97.5 percentiles of
    the surrogate averages, empty when no surrogate test ran).
    """

    transient_found: bool | None
    n_jerks: int
    n_rejected: int
    latency_ms: float | None
    amplitude_uv: float | None
    channel: str | None
    p_value: float | None
    reason: str
    burst: dict[str, Any]
    n_surrogates: int = 0
    channels: list[str] = field(default_factory=list)
    times_ms: dict[str, np.ndarray] = field(default_factory=dict)
    average: dict[str, np.ndarray] = field(default_factory=dict)
    band_lo: dict[str, np.ndarray] = field(default_factory=dict)
    band_hi: dict[str, np.ndarray] = field(default_factory=dict)
    eeg_rhythm: dict[str, Any] | None = None
    events: pd.DataFrame = field(default_factory=empty_events, repr=False)
    """The jerks averaged on (``myoclonic_jerk`` rows), when given."""
    BLOCK = "cortical"
    Summary = CorticalSummary

    def summary_block(self) -> CorticalSummary:
        """The ``cortical`` block of summary.json (JSON-ready; nulls where undefined)."""
        b = self.burst
        return {
            "transient_found": self.transient_found,
            "n_jerks": int(self.n_jerks),
            "n_rejected": int(self.n_rejected),
            "latency_ms": _num(self.latency_ms, 1),
            "amplitude_uv": _num(self.amplitude_uv, 2),
            "channel": self.channel,
            "p_value": _num(self.p_value, 4),
            "n_surrogates": int(self.n_surrogates),
            "channels": list(self.channels),
            "reason": self.reason,
            "burst_duration_ms_median": b.get("median_ms"),
            "burst_n": b.get("n_bursts"),
            "burst_fraction_below_45_ms": b.get("fraction_below_cutoff"),
            "burst_fraction_below_50_ms": b.get("fraction_below_50_ms"),
            "burst_fraction_below_100_ms": b.get("fraction_below_100_ms"),
            "burst_suggests_cortical": b.get("suggests_cortical"),
            "eeg_rhythm": None if self.eeg_rhythm is None else cast("EegRhythmSummary", dict(self.eeg_rhythm)),
        }

    def plot(self, *, ax: Any = None) -> Any:
        """Jerk-locked average per channel with its surrogate 95% band; returns the Figure."""
        if ax is None:  # pyplot only when no axes are given (a report draws into its own figure)
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(7, 3.5))
        for i, lab in enumerate(self.channels):
            t, a = self.times_ms[lab], self.average[lab]
            color = f"C{i % 10}"
            if self.band_lo.get(lab) is not None and len(self.band_lo[lab]):
                ax.fill_between(t, self.band_lo[lab], self.band_hi[lab], color=color, alpha=0.2, lw=0)
            ax.plot(t, a, color=color, lw=1.2, label=lab)
        ax.axvline(0.0, color="k", lw=0.8, ls="--")
        ax.set_xlabel("time from EMG onset (ms)")
        ax.set_ylabel("EEG average (µV)")
        found = {True: "transient found", False: "no transient", None: "no conclusion"}[self.transient_found]
        p = "" if self.p_value is None else f", p = {self.p_value:.3f}"
        ax.set_title(f"Jerk-locked average (n = {self.n_jerks}): {found}{p}")
        if self.channels:
            ax.legend(loc="upper left", fontsize=8)
        return ax.figure


# --------------------------------------------------------------------------------------
def _bandpass(x: np.ndarray, fs: float, low_hz: float | None, high_hz: float | None) -> np.ndarray:
    """Zero-phase 2nd-order Butterworth band-/high-/low-pass (float64; the same numbers as
    ``scipy.signal.butter`` + ``sosfiltfilt``, see :func:`somnomyo.signal.filters.butter_filtfilt`);
    edges outside (0, 0.45 fs) are skipped."""
    x = np.asarray(x)
    lo = low_hz if low_hz is not None and 0 < low_hz < 0.45 * fs else None
    hi = high_hz if high_hz is not None and 0 < high_hz < 0.45 * fs else None
    if x.size < 64 or (lo is None and hi is None):
        return np.asarray(x, dtype=float)
    return butter_filtfilt(x, fs, order=2, low_hz=lo, high_hz=hi, double=True)


def _epochs(x: np.ndarray, idx: np.ndarray, offsets: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Epoch matrix (n x window) by fancy indexing, baseline-corrected."""
    ep = x[idx[:, None] + offsets[None, :]]
    return ep - ep[:, base].mean(axis=1, keepdims=True)


def _first_peak(z: np.ndarray, crit: float) -> int:
    """Index of the peak of the earliest run of samples with ``z >= crit`` (the first component of
    the premyoclonic potential); the overall maximum when nothing reaches ``crit``."""
    sig = z >= crit
    if not sig.any():
        return int(np.argmax(z))
    a = int(np.argmax(sig))
    run_end = a + (int(np.argmin(sig[a:])) if not sig[a:].all() else int(sig.size - a))
    return a + int(np.argmax(z[a:run_end]))


def _in_bounds(onsets: np.ndarray, sigs: list[Signal], w0: float, w1: float) -> np.ndarray:
    ok = np.isfinite(onsets)
    for s in sigs:
        i = np.round(np.where(ok, onsets, 0.0) * s.fs).astype(np.int64)
        ok &= (i + int(np.round(w0 * s.fs)) >= 0) & (i + int(np.round(w1 * s.fs)) < s.data.size)
    return ok


def _candidate_onsets(
    rng: np.random.Generator,
    stage: str,
    k: int,
    *,
    hypnogram: Hypnogram | None,
    duration: float,
    jerks_sorted: np.ndarray,
    margin: float,
) -> np.ndarray:
    """Up to ``k`` random trigger times in ``stage`` (whole recording for ANY), >= margin from jerks."""
    out: list[np.ndarray] = []
    have = 0
    if stage == ANY_STAGE or hypnogram is None:
        epochs = None
    else:
        epochs = np.flatnonzero(hypnogram.stages == stage)
        if epochs.size == 0:
            return np.empty(0)
    for _ in range(6):  # a few rounds of rejection sampling (vectorised inside)
        m = 3 * (k - have) + 16
        if epochs is None or hypnogram is None:
            t = rng.uniform(0.0, duration, m)
        else:
            t = (
                hypnogram.start
                + (epochs[rng.integers(0, epochs.size, m)] + rng.uniform(0.0, 1.0, m)) * hypnogram.epoch_s
            )
        if jerks_sorted.size:
            j = np.searchsorted(jerks_sorted, t)
            left = np.abs(t - jerks_sorted[np.clip(j - 1, 0, jerks_sorted.size - 1)])
            right = np.abs(jerks_sorted[np.clip(j, 0, jerks_sorted.size - 1)] - t)
            t = t[np.minimum(left, right) >= margin]
        t = t[(t >= 0) & (t < duration)]
        out.append(t[: k - have])
        have += out[-1].size
        if have >= k:
            break
    return np.concatenate(out) if out else np.empty(0)


@verbose
def jerk_locked_average(
    eeg: Mapping[str, Signal] | Sequence[Signal],
    jerk_onsets_s: Any,
    *,
    hypnogram: Hypnogram | None = None,
    stages_of_jerks: Sequence[str] | np.ndarray | None = None,
    burst_durations_s: Any = None,
    clusters: pd.DataFrame | None = None,
    window_s: tuple[float, float] | None = None,
    baseline_s: tuple[float, float] | None = None,
    pre_window_s: tuple[float, float] | None = None,
    n_surrogates: int | None = None,
    min_jerks: int | None = None,
    artifact_uv: float | None = None,
    seed: int = 0,
    settings: Settings | None = None,
    verbose: bool | str | int | None = None,
) -> CorticalResult:
    """Jerk-locked back-averaging of the EEG with a stage-matched surrogate test.

    JLBA (docs/rules.md §15.1; Shibasaki 1992; Latorre 2023): per EEG channel, epochs
    around each EMG onset (``window_s``), baseline-corrected (mean of ``baseline_s``),
    epochs whose peak-to-peak exceeds ``artifact_uv`` on any channel rejected, then
    averaged (after a zero-phase ``jlba_highpass_hz``-``jlba_lowpass_hz`` band-pass).
    Significance: ``n_surrogates`` sets of random triggers, as many as the
    usable jerks and drawn from the same stages (``stages_of_jerks`` or the
    ``hypnogram``), >= ``jlba_exclusion_margin_s`` from every true jerk; each surrogate
    average is a random subset of a large pool of pre-extracted random epochs. The
    statistic is the maximum over channels and over the pre-jerk window of |average|
    standardised by the surrogate SD, so the p value is family-wise over channels. The
    reported latency and amplitude are those of the peak of the EARLIEST run of samples
    above the family-wise critical value on the best channel (the first component of the
    premyoclonic potential; Shibasaki 1992 measures the positive peak before the EMG onset).

    With fewer than ``min_jerks`` usable jerks the result has ``transient_found = None``
    and ``reason`` says why. ``burst_durations_s`` (EMG burst durations, s) are
    summarised alongside (45-ms cut-off, van der Veen 2024); ``clusters`` (rows of
    trial_type ``jerk_cluster``) are checked for an EEG rhythm at the jerk rate
    (:func:`cluster_eeg_rhythm`). Parameters left None come from ``settings.interpret``.
    """
    settings = settings or get_settings()
    s = settings.interpret
    w0, w1 = window_s if window_s is not None else s.jlba_window_s
    b0, b1 = baseline_s if baseline_s is not None else s.jlba_baseline_s
    p0, p1 = pre_window_s if pre_window_s is not None else s.jlba_pre_window_s
    k_sur = int(s.jlba_n_surrogates if n_surrogates is None else n_surrogates)
    min_n = int(s.jlba_min_jerks if min_jerks is None else min_jerks)
    art = float(s.jlba_artifact_uv if artifact_uv is None else artifact_uv)
    if not (w0 <= b0 < b1 <= w1 and w0 <= p0 < p1 <= w1):
        raise ValueError(
            f"baseline_s {(b0, b1)} and pre_window_s {(p0, p1)} must lie inside window_s {(w0, w1)} with low < high"
        )
    if k_sur < 1:
        raise ValueError(f"n_surrogates must be >= 1; got {k_sur}")
    burst = burst_duration_stats(burst_durations_s, settings=settings)
    sigs = _as_signals(eeg)
    onsets = np.asarray(jerk_onsets_s, dtype=float).ravel()
    if stages_of_jerks is not None:
        stages = np.asarray(stages_of_jerks, dtype=object).astype(str).ravel()
        if stages.size != onsets.size:
            raise ValueError(f"stages_of_jerks has {stages.size} entries for {onsets.size} jerk onsets")
    elif hypnogram is not None and hypnogram.source != "none":
        stages = hypnogram.stage_at(np.where(np.isfinite(onsets), onsets, -1.0)).astype(object).astype(str)
    else:
        stages = np.full(onsets.size, ANY_STAGE, dtype=object).astype(str)
    if not sigs:
        return CorticalResult(None, 0, 0, None, None, None, None, "no EEG channel; no conclusion", burst)
    rhythm = cluster_eeg_rhythm(sigs, clusters, settings=settings)

    labels = [x.label for x in sigs]
    duration = min(x.duration for x in sigs)
    ok = _in_bounds(onsets, sigs, w0, w1)
    onsets, stages = onsets[ok], stages[ok]
    order = np.argsort(onsets, kind="stable")
    onsets, stages = onsets[order], stages[order]

    # filtered channels, per-channel sample grids
    data, grids = {}, {}
    for x in sigs:
        data[x.label] = _bandpass(x.data, x.fs, s.jlba_highpass_hz, s.jlba_lowpass_hz)
        off = np.arange(int(np.round(w0 * x.fs)), int(np.round(w1 * x.fs)) + 1)
        t = off / x.fs
        grids[x.label] = (off, t, (t >= b0 - 1e-9) & (t <= b1 + 1e-9), (t >= p0 - 1e-9) & (t <= p1 + 1e-9))

    def extract(times: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        eps, clean = {}, np.ones(times.size, dtype=bool)
        for x in sigs:
            off, _t, base, _pre = grids[x.label]
            e = _epochs(data[x.label], np.round(times * x.fs).astype(np.int64), off, base)
            if e.size:
                clean &= np.ptp(e, axis=1) <= art
            eps[x.label] = e
        return eps, clean

    ep, clean = extract(onsets)
    n_rej = int((~clean).sum())
    onsets, stages = onsets[clean], stages[clean]
    ep = {k: v[clean] for k, v in ep.items()}
    n = int(onsets.size)
    times_ms = {lab: grids[lab][1] * 1000.0 for lab in labels}
    average = {lab: (ep[lab].mean(axis=0) if n else np.full(grids[lab][0].size, np.nan)) for lab in labels}
    base: dict[str, Any] = dict(burst=burst, channels=labels, times_ms=times_ms, average=average, eeg_rhythm=rhythm)
    if n < min_n:
        reason = f"too few jerks: {n} < {min_n}; no conclusion"
        logger.info("JLBA: %s", reason)
        return CorticalResult(None, n, n_rej, None, None, None, None, reason, **base)

    # surrogate pool: stage-matched random epochs away from every jerk
    rng = np.random.default_rng(seed)
    all_jerks = np.sort(np.asarray(jerk_onsets_s, dtype=float).ravel())
    all_jerks = all_jerks[np.isfinite(all_jerks)]
    uniq, counts = np.unique(stages, return_counts=True)
    pool_t, pool_stage = [], []
    for st, c in zip(uniq, counts):  # loop over stages (<= 6)
        want = int(max(s.jlba_pool_factor * c, np.ceil(s.jlba_min_pool * c / n)))
        t = _candidate_onsets(
            rng,
            str(st),
            want,
            hypnogram=hypnogram,
            duration=duration,
            jerks_sorted=all_jerks,
            margin=s.jlba_exclusion_margin_s,
        )
        if t.size < c:  # not enough time in this stage: fall back to the whole recording
            logger.info("JLBA: stage %s has too little time for surrogates; drawing from any stage", st)
            t = _candidate_onsets(
                rng,
                ANY_STAGE,
                want,
                hypnogram=None,
                duration=duration,
                jerks_sorted=all_jerks,
                margin=s.jlba_exclusion_margin_s,
            )
        t = t[_in_bounds(t, sigs, w0, w1)]
        pool_t.append(t)
        pool_stage.append(np.full(t.size, st, dtype=object))
    pt = np.concatenate(pool_t)
    ps = np.concatenate(pool_stage).astype(str)
    pool, pclean = extract(pt)
    pool = {k: v[pclean] for k, v in pool.items()}
    ps = ps[pclean]
    cols = []
    for st, c in zip(uniq, counts):
        members = np.flatnonzero(ps == st)
        if members.size == 0:
            reason = f"no artefact-free surrogate epochs in stage {st}; no conclusion"
            return CorticalResult(None, n, n_rej, None, None, None, None, reason, **base)
        cols.append(members[rng.integers(0, members.size, (k_sur, c))])
    pick = np.concatenate(cols, axis=1)  # K x n indices into the pool
    from scipy import sparse  # only here: its import is not paid when no surrogate test runs

    sel = sparse.csr_matrix(
        (np.full(pick.size, 1.0 / n), (np.repeat(np.arange(k_sur), n), pick.ravel())), shape=(k_sur, int(ps.size))
    )

    t_obs, t_null, best = -np.inf, np.full(k_sur, -np.inf), labels[0]
    band_lo, band_hi, z = {}, {}, {}
    for lab in labels:  # loop over channels
        sur = np.asarray(sel @ pool[lab])  # K x window surrogate averages
        mu, sd = sur.mean(axis=0), sur.std(axis=0)
        sd = np.where(sd > 0, sd, np.inf)
        pre = grids[lab][3]
        z[lab] = np.where(pre, np.abs(average[lab] - mu) / sd, 0.0)
        t_null = np.maximum(t_null, (np.abs(sur - mu) / sd)[:, pre].max(axis=1))
        if z[lab].max() > t_obs:
            t_obs, best = float(z[lab].max()), lab
        band_lo[lab], band_hi[lab] = np.percentile(sur, [2.5, 97.5], axis=0)
    p = float((1 + np.sum(t_null >= t_obs)) / (k_sur + 1))
    found = bool(p < s.jlba_alpha)
    lab = best
    j = _first_peak(z[lab], float(np.quantile(t_null, 1.0 - s.jlba_alpha)))
    lat = float(-times_ms[lab][j])
    amp = float(average[lab][j])
    reason = (
        f"pre-jerk transient on {lab} {lat:.0f} ms before EMG onset (p = {p:.3f}, n = {n})"
        if found
        else f"no pre-jerk transient (largest on {lab}, p = {p:.3f}, n = {n})"
    )
    logger.info("JLBA: %s", reason)
    return CorticalResult(
        found,
        n,
        n_rej,
        lat if found else None,
        amp if found else None,
        lab if found else None,
        p,
        reason,
        n_surrogates=k_sur,
        band_lo=band_lo,
        band_hi=band_hi,
        **base,
    )


# --------------------------------------------------------------------------------------
def cluster_eeg_rhythm(
    eeg: Mapping[str, Signal] | Sequence[Signal], clusters: pd.DataFrame | None, *, settings: Settings | None = None
) -> dict[str, Any] | None:
    """EEG power at the jerk rate during jerk clusters versus just before them.

    Clonic seizures are rhythmic (1-3 Hz) with an EEG discharge; BSMI has a normal EEG
    (Di Capua 1993; docs/rules.md §15.9). For each cluster (``onset``, ``duration``, ``rate_hz``; rows of
    trial_type ``jerk_cluster``) lasting >= ``rhythm_min_cluster_s``, the periodogram
    power within +-``rhythm_band_hz`` of the rate is compared with the same band in the
    segment of equal length ending 2 s before the cluster (implementation choice). The
    loop runs over clusters. Returns None when no cluster can be tested.
    """
    s = (settings or get_settings()).interpret
    sigs = _as_signals(eeg)
    if clusters is None or len(clusters) == 0 or not sigs:
        return None
    cl = clusters
    if "trial_type" in cl.columns:
        cl = cl.loc[cl["trial_type"].astype(str) == "jerk_cluster"]
    rate_col = "peak_hz" if "peak_hz" in cl.columns and cl["peak_hz"].notna().any() else "rate_hz"
    if rate_col not in cl.columns:
        return None
    ratios = []
    for on, du, rate in zip(
        cl["onset"].astype(float),
        cl["duration"].astype(float),
        pd.to_numeric(cl[rate_col], errors="coerce").astype(float),
    ):  # loop over clusters
        if not (np.isfinite(rate) and du >= s.rhythm_min_cluster_s):
            continue
        best = np.nan
        for x in sigs:  # loop over channels
            i0, i1 = int(on * x.fs), int((on + du) * x.fs)
            r1 = i0 - int(2.0 * x.fs)
            r0 = r1 - (i1 - i0)
            if r0 < 0 or i1 > x.data.size:
                continue
            from scipy.signal import periodogram  # only when a cluster is tested (slow import)

            f, p_in = periodogram(x.data[i0:i1], fs=x.fs, window="hann", detrend="linear")
            _, p_ref = periodogram(x.data[r0:r1], fs=x.fs, window="hann", detrend="linear")
            band = (f >= rate - s.rhythm_band_hz) & (f <= rate + s.rhythm_band_hz)
            if band.any():
                ratio = float(p_in[band].sum() / max(float(p_ref[band].sum()), 1e-12))
                best = ratio if not np.isfinite(best) else max(best, ratio)
        if np.isfinite(best):
            ratios.append(best)
    if not ratios:
        return None
    med = float(np.median(ratios))
    return {
        "n_clusters": len(ratios),
        "median_power_ratio": _num(med, 2),
        "threshold": s.rhythm_power_ratio,
        "found": bool(med >= s.rhythm_power_ratio),
    }
