"""One entry point running every myoclonus detector on a recording.

Each EMG channel is conditioned once by :func:`somnomyo.signal.conditioning.condition_emg`
(the one conditioning module) with the short brief-burst envelope window
(``settings.myoclonus.burst_envelope_window_s``), then:

* fragmentary myoclonus and the AASM EFM rule (:mod:`.fragmentary`) - every EMG channel;
* myoclonic jerks across muscles (:mod:`.jerks`) - every EMG channel; a single-muscle burst
  of <= 150 ms is FM, not a jerk (``jerk_focal_excludes_fm``), so no burst is counted twice;
* hypnic jerks (:mod:`.hypnic`) and clusters/series (:mod:`.clusters`) - from the jerks; a
  hypnic jerk replaces its ``myoclonic_jerk`` row (one row per jerk in ``events``), and the
  jerk index counts myoclonic jerks only;
* negative myoclonus (:mod:`.negative`) - channels with roles in ``nm_roles`` (chin, arms);
* REM phasic/tonic EMG (:mod:`.rem_phasic`) - chin and arms.

The sources of every rule are in the sub-modules' docstrings and in the settings metadata.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from somnomyo._logging import logger, verbose
from somnomyo.detect.bursts import EMGTrace
from somnomyo.detect.clusters import ClusterResult, ClusterSummary, detect_clusters
from somnomyo.detect.fragmentary import FragmentaryResult, FragmentarySummary, detect_fragmentary
from somnomyo.detect.hypnic import HypnicResult, HypnicSummary, detect_hypnic
from somnomyo.detect.jerks import JerkResult, JerkSummary, detect_jerks
from somnomyo.detect.negative import NegativeResult, NegativeSummary, detect_negative
from somnomyo.detect.rem_phasic import ARM_ROLES, RemEmgResult, RemEmgSummary, detect_rem_emg
from somnomyo.errors import ChannelError
from somnomyo.events import concat_events
from somnomyo.io.annotations import Annotations, Hypnogram
from somnomyo.io.channels import ChannelRoles
from somnomyo.io.recording import Recording
from somnomyo.result import Result
from somnomyo.settings import Settings
from somnomyo.signal.intervals import IntervalsLike

EMG_ROLES = ("leg_left", "leg_right", "legs", "chin", "arm_left", "arm_right", "other_emg")
_VOLT_UNITS = ("uv", "µv", "μv")


def _peaks_seconds(r_peaks: Any) -> np.ndarray | None:
    """R peaks as times (s): a ``(sample_indices, fs)`` pair or a 1-D array of seconds."""
    if r_peaks is None:
        return None
    if isinstance(r_peaks, tuple) and len(r_peaks) == 2:
        idx, fs = r_peaks
        return np.asarray(idx, dtype=float) / float(fs)
    return np.asarray(r_peaks, dtype=float)


def emg_traces(
    recording: Recording,
    roles: ChannelRoles,
    *,
    settings: Settings,
    r_peaks: Any = None,
    conditioned: Mapping[str, Any] | None = None,
    reuse_envelopes: bool = False,
) -> list[EMGTrace]:
    """Condition every loaded EMG channel (roles ``EMG_ROLES``) with the brief-burst envelope window.

    ``conditioned``: channels already conditioned for the night, by label
    (:func:`somnomyo.signal.conditioning.condition_recording` with ``settings.conditioning``, e.g.
    shared with LM detection and made with the recording's one mains frequency): their filtered
    EMG is used as is and only the brief-burst envelope is computed; other channels are
    conditioned here. ``reuse_envelopes``: the ``conditioned`` channels are handed over - each is
    taken out of the (mutable) mapping given, and its brief-burst envelope is written into the
    memory of its own (float32) envelope instead of a new array (first touch of fresh memory costs
    more than the arithmetic: ~30 MB per 8-h channel); for a caller that no longer needs those
    envelopes (e.g. after leg-movement detection), which is left holding no overwritten array. A
    mapping that cannot be changed is not handed over (new arrays). The values are the same either way.

    ``r_peaks``: R peaks as ``(sample_indices, fs)`` or times in seconds; when None they are
    detected once on the ECG channel (role ``ecg``) if loaded, else looked for in each EMG by
    the conditioning module. Mains hum found on some channels is removed on every channel (one
    recording, one mains frequency).
    """
    from somnomyo.signal.conditioning import condition_emg, detect_r_peaks

    cond = replace(settings.conditioning, envelope_window_s=settings.myoclonus.burst_envelope_window_s)
    peaks_s = _peaks_seconds(r_peaks)
    ecg_label = roles.get("ecg")
    if peaks_s is None and ecg_label and ecg_label in recording.signals:
        ecg = recording.signals[ecg_label]
        peaks_s = detect_r_peaks(ecg.data, ecg.fs) / float(ecg.fs)
    items: list[tuple[str, str, Any, np.ndarray | None]] = []
    seen: set[str] = set()
    for role in EMG_ROLES:  # loop over channels
        for lab in roles.all(role):
            if lab in seen or lab not in recording.signals:
                continue
            seen.add(lab)
            sig = recording.signals[lab]
            if str(sig.unit).lower() not in _VOLT_UNITS:
                logger.warning("myoclonus: channel %r has unit %r, not a voltage; skipped", lab, sig.unit)
                continue
            rp = None
            if peaks_s is not None:
                idx = np.round(peaks_s * sig.fs).astype(np.int64)
                rp = np.unique(idx[(idx >= 0) & (idx < sig.data.size)])
            items.append((lab, role, sig, rp))
    shared = dict(conditioned or {})
    reuse = reuse_envelopes and isinstance(conditioned, MutableMapping)
    todo = [k for k, (lab, _, _, _) in enumerate(items) if lab not in shared]
    done: dict[int, Any] = {
        k: _brief_envelope(shared[lab], cond.envelope_window_s, reuse=reuse)
        for k, (lab, _, _, _) in enumerate(items)
        if lab in shared
    }
    if reuse and isinstance(conditioned, MutableMapping):
        for lab, _, _, _ in items:  # handed over: the caller keeps no envelope overwritten here
            conditioned.pop(lab, None)
    for k in todo:  # loop over channels
        _, _, sig, rp = items[k]
        done[k] = condition_emg(sig.data, sig.fs, settings=cond, r_peaks=rp)
    # the mains frequency is a property of the recording: where hum was found on some channels
    # and not on others (a weak hum under tonic EMG), remove it there too
    found = [c.mains_hz for c in done.values() if c.mains_hz is not None]
    if cond.mains_removal and cond.mains_hz is None and found:
        hz = max(set(found), key=found.count)
        redo = replace(cond, mains_hz=hz)
        for k in todo:  # loop over channels
            lab, _, sig, rp = items[k]
            if done[k].mains_hz is None and hz < 0.5 * sig.fs:
                logger.info("myoclonus: %g-Hz mains found on other channels; removed on %r too", hz, lab)
                done[k] = condition_emg(sig.data, sig.fs, settings=redo, r_peaks=rp)
    traces: list[EMGTrace] = []
    for (lab, role, _sig, _), c in zip(items, [done[k] for k in range(len(items))]):
        times = peaks_s if peaks_s is not None else np.asarray(c.r_peaks, dtype=float) / c.fs
        traces.append(
            EMGTrace(label=lab, envelope=c.envelope, fs=c.fs, role=role, filtered=c.filtered, r_peak_times=times)
        )
    return traces


def _brief_envelope(c: Any, window_s: float, *, reuse: bool) -> Any:
    """``c.with_envelope(window_s)``; with ``reuse`` written into ``c.envelope``'s memory when it is
    a writeable float32 array of the right size apart from ``c.filtered`` (else a new array)."""
    from somnomyo.signal.envelope import envelope

    old = getattr(c, "envelope", None)
    ok = (
        reuse
        and isinstance(old, np.ndarray)
        and old.dtype == np.float32
        and old.ndim == 1
        and old.size == np.asarray(c.filtered).size
        and old.flags.writeable
        and not np.may_share_memory(old, c.filtered)
    )
    if not ok:
        return c.with_envelope(window_s)
    return replace(c, envelope=envelope(c.filtered, c.fs, window_s=window_s, out=old))


class MyoclonusSummary(TypedDict):
    """The myoclonus blocks of summary.json, one per detector."""

    fragmentary_myoclonus: FragmentarySummary
    jerks: JerkSummary
    hypnic_jerks: HypnicSummary
    clusters: ClusterSummary
    negative_myoclonus: NegativeSummary
    rem_emg: RemEmgSummary


@dataclass
class MyoclonusResult(Result):
    """Results of every myoclonus detector; ``events`` is the combined event table."""

    Summary = MyoclonusSummary

    fragmentary: FragmentaryResult
    jerks: JerkResult
    hypnic: HypnicResult
    clusters: ClusterResult
    negative: NegativeResult
    rem: RemEmgResult
    channels: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent per step (``conditioning``, ``fragmentary``, ``jerks``, ``hypnic``,
    ``clusters``, ``negative``, ``rem``); for benchmarks and logs."""

    @property
    def events(self) -> pd.DataFrame:
        """All rows (fragmentary_myoclonus, myoclonic_jerk, hypnic_jerk, jerk_cluster,
        negative_myoclonus, phasic_emg), sorted by onset. One row per jerk: a jerk that qualifies
        as a hypnic jerk is listed once, as ``hypnic_jerk`` (``JerkResult.mark_hypnic``)."""
        return concat_events(
            [self.fragmentary.events, self.jerks.events, self.clusters.events, self.negative.events, self.rem.events]
        )

    def summary_block(self) -> MyoclonusSummary:
        """JSON-serializable blocks; nulls where undefined."""
        return {
            "fragmentary_myoclonus": self.fragmentary.summary(),
            "jerks": self.jerks.summary(),
            "hypnic_jerks": self.hypnic.summary(),
            "clusters": self.clusters.summary(),
            "negative_myoclonus": self.negative.summary(),
            "rem_emg": self.rem.summary(),
        }

    def plot_fm_per_minute(self, *, ax: Any = None) -> Any:
        """FM potentials per 1-min NREM window (AASM EFM rule)."""
        return self.fragmentary.plot_fm_per_minute(ax=ax)

    def plot_jerks(self, *, ax: Any = None) -> Any:
        """Jerks over time, one row per muscle, coloured by extent."""
        return self.jerks.plot_jerks(ax=ax)


@verbose
def detect_myoclonus(
    recording: Recording,
    roles: ChannelRoles,
    *,
    hypnogram: Hypnogram | None,
    annotations: Annotations | None = None,
    settings: Settings,
    r_peaks: Any = None,
    unscorable: IntervalsLike = None,
    lm_events: pd.DataFrame | None = None,
    traces: Sequence[EMGTrace] | None = None,
    verbose: bool | str | int | None = None,
) -> MyoclonusResult:
    """Run every myoclonus detector on the EMG channels of ``recording``.

    Parameters
    ----------
    roles : :class:`somnomyo.io.channels.ChannelRoles` of the recording.
    r_peaks : ECG R peaks as ``(sample_indices, fs)`` or times in seconds (default: detected).
    unscorable : ``(onset, duration)`` intervals for all channels, or a mapping label ->
        intervals; EDF+D gaps of the recording are added to every channel.
    lm_events : leg movements already scored (``onset``, ``duration``, ``channel``); brief
        bursts within 0.5 s of them belong to them (neither FM nor jerks).
    traces : EMG channels already conditioned (:func:`emg_traces`), e.g. shared with another
        step; default: conditioned here.
    """
    clock = time.perf_counter
    timings: dict[str, float] = {}
    t0 = clock()
    if traces is None:
        traces = emg_traces(recording, roles, settings=settings, r_peaks=r_peaks)
    traces = list(traces)
    timings["conditioning"] = clock() - t0
    if not traces:
        raise ChannelError(
            "no loaded EMG channel (roles " + ", ".join(EMG_ROLES) + ") for myoclonus detection", recording.path
        )
    unscorable = _with_gaps(unscorable, recording, [t.label for t in traces])
    common = dict(hypnogram=hypnogram, settings=settings, unscorable=unscorable)
    dur = float(recording.duration)

    def step(name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        t = clock()
        out = fn(*args, **kwargs)
        timings[name] = clock() - t
        return out

    fm = step(
        "fragmentary",
        detect_fragmentary,
        traces,
        annotations=annotations,
        duration_s=dur,
        lm_events=lm_events,
        **common,
    )
    jerks = step("jerks", detect_jerks, traces, annotations=annotations, duration_s=dur, lm_events=lm_events, **common)
    hyp = step("hypnic", detect_hypnic, jerks, hypnogram=hypnogram, settings=settings)
    jerks.mark_hypnic(hyp.events["onset"].to_numpy(dtype=float))
    clusters = step("clusters", detect_clusters, jerks, settings=settings)
    nm_traces = [t for t in traces if t.role in settings.myoclonus.nm_roles]
    nm = step("negative", detect_negative, nm_traces, annotations=annotations, duration_s=dur, **common)
    rem = step("rem", detect_rem_emg, [t for t in traces if t.role == "chin" or t.role in ARM_ROLES], **common)
    logger.debug("myoclonus timings (s): %s", {k: round(v, 3) for k, v in timings.items()})
    return MyoclonusResult(
        fragmentary=fm,
        jerks=jerks,
        hypnic=hyp,
        clusters=clusters,
        negative=nm,
        rem=rem,
        channels={t.label: t.role for t in traces},
        timings=timings,
    )


def _with_gaps(unscorable: IntervalsLike, recording: Recording, labels: Sequence[str]) -> IntervalsLike:
    """Add the recording's EDF+D gaps to the unscorable time of every channel."""
    return add_gaps(unscorable, recording.gaps, labels)


def add_gaps(unscorable: IntervalsLike, gaps: Sequence[tuple[float, float]], labels: Sequence[str]) -> IntervalsLike:
    """Add the ``(onset, duration)`` recording gaps (EDF+D) to the unscorable time of every channel of
    ``labels`` (a mapping label -> intervals comes back with exactly those labels)."""
    if not gaps:
        return unscorable
    table = pd.DataFrame(list(gaps), columns=["onset", "duration"])

    def add(iv: Any) -> pd.DataFrame:
        if iv is None:
            return table
        base = (
            iv[["onset", "duration"]]
            if isinstance(iv, pd.DataFrame)
            else pd.DataFrame(list(iv), columns=["onset", "duration"])
        )
        return pd.concat([base, table], ignore_index=True)

    if isinstance(unscorable, Mapping):
        return {lab: add(unscorable.get(lab)) for lab in labels}
    return add(unscorable)
