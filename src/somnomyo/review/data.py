"""Signal windows for the review page: read only the window, filter it as scored, decimate it.

A window of some channels is read from the recording with
:class:`somnomyo.io.edf_window.EdfWindowReader` (only the data records of the window, plus
padding, and only the channels asked for; the server never holds a whole channel). EMG channels
are conditioned by the scoring's own code (:func:`somnomyo.signal.conditioning.condition_recording`:
band-pass, mains, ECG removal with R peaks of the ECG channel found by
:func:`somnomyo.signal.ecg.detect_r_peaks`), on the window with padding on both sides so that
the zero-phase filters' edges fall outside it. For leg channels the noise-adaptive resting
baseline (:func:`somnomyo.signal.baseline.resting_level`, MATPLM ``dt_rev1.m``) is computed
with its whole look-back before the window, and the LM onset/offset thresholds (WASM 2016 and
AASM: baseline + 8 µV / + 2 µV, ``Settings.lm``) are drawn from it.

Long windows are decimated to the plot: per pixel column the smallest and the largest sample
(so no spike disappears); a window is sent at full rate only when it holds at most two samples
per column.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from somnomyo._logging import logger
from somnomyo.io.edf_window import EdfWindowReader
from somnomyo.io.recording import Recording, Signal

__all__ = ["SignalSource", "MAX_WINDOW_S", "WIDTH_RANGE", "LEG_ROLES", "EMG_ROLES"]

MAX_WINDOW_S = 1800.0  # longest window one request may ask for (s)
WIDTH_RANGE = (16, 8192)  # plot widths accepted (pixel columns)
MAINS_WAIT_S = 30.0  # a window waits at most this long for the night's mains frequency
TILE_S = 300.0  # EMG is conditioned in tiles of about this length, kept for reuse
ECG_BLOCK_PAD_S = 40.0  # more padding when the night's beats are used: whole template blocks
TILES_PER_CHANNEL = 8  # tiles kept per EMG channel (least recently used dropped)
EDGE_PAD_S = 5.0  # padding each side so the zero-phase filters' edges fall outside
LEG_ROLES = ("leg_left", "leg_right", "legs")
EMG_ROLES = ("leg_left", "leg_right", "legs", "chin", "arm_left", "arm_right", "other_emg")
# R peaks found on the ECG averaged down to this rate, as the pipeline does (somnomyo.pipeline; speed only)
ECG_RATE_HZ = 128.0


def _round(a: np.ndarray) -> list[float | None]:
    """Values rounded to 0.01 for JSON (non-finite -> None)."""
    r = np.round(np.asarray(a, dtype=np.float64), 2)
    if np.isfinite(r).all():
        return r.tolist()
    return [None if not math.isfinite(v) else v for v in r.tolist()]


@dataclass(frozen=True)
class _Tile:
    """One conditioned stretch of a channel from sample ``first`` (``None`` arrays: not a voltage)."""

    first: int
    filtered: np.ndarray | None
    envelope: np.ndarray | None
    baseline: np.ndarray | None
    desc: str


class SignalSource:
    """Windows of the recording of a results folder, filtered as scored.

    ``roles``: label -> role (from the scoring); ``settings``: the :class:`somnomyo.settings.Settings`
    the night was scored with (None: the defaults of ``standard``).
    """

    def __init__(
        self,
        recording: str | Path,
        *,
        roles: Mapping[str, str],
        settings: Any,
        night: Mapping[str, Any] | None = None,
    ) -> None:
        self.reader = EdfWindowReader(recording)
        self.roles = dict(roles)
        self.settings = settings
        self._lock = threading.Lock()
        self._ecg = next((lab for lab, r in self.roles.items() if r == "ecg" and lab in self.reader.labels), None)
        self._tiles: OrderedDict[tuple[str, int], _Tile] = OrderedDict()
        self._tiles_lock = threading.Lock()
        n_emg = sum(1 for r in self.roles.values() if r in EMG_ROLES)
        self._max_tiles = TILES_PER_CHANNEL * max(1, n_emg)
        self._mains_done = threading.Event()
        self._mains: float | None = settings.conditioning.mains_hz
        self._harmonics: dict[str, int] = {}
        self._night_r: tuple[np.ndarray, float] | None = None
        self._beats: dict[tuple[str, float], np.ndarray] = {}
        if night and "mains_hz" in night:  # kept by `score` in context.json: no channel is read whole
            self._use_night(night)
            self._mains_done.set()
        elif settings.conditioning.mains_removal and self._mains is None:
            # an older results folder: found from the whole channels, one at a time, in the background
            threading.Thread(target=self._find_night_mains, name="somnomyo-review-mains", daemon=True).start()
        else:
            self._mains_done.set()

    def _use_night(self, night: Mapping[str, Any]) -> None:
        """The night's mains frequency, harmonics per channel and R peaks as ``score`` found them
        (``context.json`` ``signal``, :class:`somnomyo.rescore.ScoringContext`)."""
        cs = self.settings.conditioning
        if cs.mains_removal and cs.mains_hz is None:
            mains = night.get("mains_hz")
            self._mains = None if mains is None else float(mains)
        self._harmonics = {str(k): int(v) for k, v in (night.get("mains_harmonics") or {}).items()}
        r = night.get("r_peaks")
        if isinstance(r, Mapping) and self._ecg and cs.ecg_removal:
            self._night_r = (np.asarray(r.get("samples", []), dtype=np.int64), float(r["fs"]))

    def _find_night_mains(self) -> None:
        """The night's mains frequency, decided as ``score`` decides it: the strongest evidence over
        every EMG channel of the whole night (:func:`somnomyo.signal.filters.choose_mains`), one
        channel in memory at a time. Runs once, in the background, when the server starts."""
        from somnomyo.io.edf import read_edf
        from somnomyo.signal.conditioning import _bandpassed
        from somnomyo.signal.filters import choose_mains, hum_harmonics, mains_evidence_db

        try:
            cs = self.settings.conditioning
            evidence = []
            per_freq: dict[str, dict[float, int]] = {}
            for c in self.reader.header.channels:
                if self.roles.get(c.label) in EMG_ROLES and _is_voltage(c.unit):
                    sig = read_edf(self.reader.path, channels=[c.label], annotations=False, dtype="float32").signals[
                        c.label
                    ]
                    y = _bandpassed(sig.data, sig.fs, settings=cs)
                    del sig
                    ev = mains_evidence_db(y, c.fs)
                    evidence.append(ev)
                    # harmonics that carry hum on the whole night, for either candidate frequency
                    per_freq[c.label] = {f: hum_harmonics(y, c.fs, mains_hz=f, settings=cs) for f in ev}
                    del y
            self._mains = choose_mains(evidence, settings=cs) if evidence else None
            if self._mains is not None:
                self._harmonics = {lab: h[self._mains] for lab, h in per_freq.items() if self._mains in h}
            self._find_night_r_peaks()
        except Exception as err:  # the windows then detect mains on their own data
            logger.warning(
                "%s: mains frequency of the night not found (%s); each window detects its own", self.reader.path, err
            )
        finally:
            self._mains_done.set()

    def _find_night_r_peaks(self) -> None:
        """The night's ECG R peaks, found as ``score`` finds them (the whole ECG channel,
        :func:`somnomyo.signal.ecg.detect_r_peaks` at the pipeline's rate), so that ECG artefact is
        removed with the scoring's beats and the scoring's blocks of beats for the templates."""
        from somnomyo.io.edf import read_edf
        from somnomyo.signal.ecg import detect_r_peaks

        cs = self.settings.conditioning
        if not (self._ecg and cs.ecg_removal):
            return
        sig = read_edf(self.reader.path, channels=[self._ecg], annotations=False, dtype="float32").signals[self._ecg]
        self._night_r = (detect_r_peaks(sig.data, sig.fs, settings=cs, max_rate_hz=ECG_RATE_HZ), float(sig.fs))

    def _block_beats(self, label: str, fs: float, p0: int, p1: int, cs: Any) -> np.ndarray | None:
        """The night's beats at this channel's rate that lie in whole template blocks inside the
        stretch ``[p0, p1)`` (samples), relative to ``p0``; None without the night's R peaks.

        :func:`somnomyo.signal.ecg.subtract_ecg` forms its local median templates from blocks of
        ``ecg_template_beats`` consecutive beats counted from the first beat of the night; giving
        a stretch only whole blocks makes its templates those of the scoring (unless beats merged
        when the night's beats were re-aligned, which is rare)."""
        from somnomyo.signal.ecg import resample_peaks

        if self._night_r is None:
            return None
        n = self.reader.n_samples(label)
        key = (label, fs)
        r = self._beats.get(key)
        if r is None:
            half = max(1, int(round(cs.ecg_half_window_s * fs)))
            shift = max(0, int(round(cs.ecg_max_shift_s * fs)))
            r = resample_peaks(self._night_r[0], self._night_r[1], fs, n)
            r = r[(r - half - 2 * shift >= 0) & (r + half + 2 * shift < n)]
            self._beats[key] = r
        half = max(1, int(round(cs.ecg_half_window_s * fs)))
        shift = max(0, int(round(cs.ecg_max_shift_s * fs)))
        size = max(1, min(cs.ecg_template_beats, r.size))
        nblk = max(1, r.size // size)
        cuts = np.r_[np.arange(nblk) * size, r.size]  # where blocks start (the last takes leftovers)
        inside_lo = np.flatnonzero(r - half - 2 * shift >= p0)
        inside_hi = np.flatnonzero(r + half + 2 * shift < p1)
        if not inside_lo.size or not inside_hi.size:
            return np.zeros(0, np.int64)
        j0 = cuts[np.searchsorted(cuts, inside_lo[0])] if inside_lo[0] <= cuts[-1] else r.size
        last = inside_hi[-1] + 1
        j1 = cuts[np.searchsorted(cuts, last, side="right") - 1]
        if j1 <= j0:
            return np.zeros(0, np.int64)
        return r[j0:j1] - p0

    def _conditioning(self) -> Any:
        """The scoring's conditioning settings with the night's mains frequency fixed."""
        cs = self.settings.conditioning
        self._mains_done.wait(timeout=MAINS_WAIT_S)
        if not cs.mains_removal or cs.mains_hz is not None or not self._mains_done.is_set():
            return cs
        if self._mains is None:
            return dataclasses.replace(cs, mains_removal=False)
        return dataclasses.replace(cs, mains_hz=self._mains)

    @property
    def duration(self) -> float:
        return self.reader.duration

    def channels(self) -> list[dict[str, Any]]:
        out = []
        for c in self.reader.header.channels:
            role = self.roles.get(c.label, "other")
            scale_unit = "uV" if _is_voltage(c.unit) else c.unit
            out.append(
                {
                    "label": c.label,
                    "role": role,
                    "fs": float(c.fs),
                    "unit": scale_unit,
                    "lm": role in LEG_ROLES,
                    "scored": role not in ("other",),
                }
            )
        return out

    def default_channels(self) -> list[str]:
        return [c["label"] for c in self.channels() if c["scored"]]

    def window(self, *, start: float, duration: float, channels: Sequence[str], width: int) -> dict[str, Any]:
        """The JSON body of GET /api/signal (docs/review.md). ``channels`` must be labels of the file."""
        emg = [lab for lab in channels if self.roles.get(lab) in EMG_ROLES]
        legs = [lab for lab in emg if self.roles.get(lab) in LEG_ROLES]
        other = [lab for lab in channels if lab not in emg]
        with self._lock:  # one window at a time: memory stays bounded
            out_ch: dict[str, dict[str, Any]] = {}
            if other:
                raw = self.reader.read(other, start=start, duration=duration)
                for lab, w in raw.items():
                    out_ch[lab] = self._pack(
                        lab, w.data, w.fs, w.first, start, duration, width, "none (raw)", unit=w.unit
                    )
            if emg:
                out_ch.update(self._emg(emg, legs, start=start, duration=duration, width=width))
        return {
            "start": start,
            "duration": duration,
            "width": width,
            "channels": [out_ch[lab] for lab in channels if lab in out_ch],
        }

    # ------------------------------------------------------------------ EMG
    def _emg(
        self, emg: Sequence[str], legs: Sequence[str], *, start: float, duration: float, width: int
    ) -> dict[str, dict[str, Any]]:
        """EMG channels conditioned as scored: made of tiles (``TILE_S`` long, aligned on the
        night's sample grids) conditioned once and kept (least recently used dropped), so paging
        through a night conditions each stretch once."""
        out: dict[str, dict[str, Any]] = {}
        for lab in emg:
            fs = self.reader.header.channel(lab).fs
            tile_n = self._tile_samples(fs)
            k0 = max(0, math.ceil(start * fs - 1e-9))
            k1 = max(k0, math.ceil((start + duration) * fs - 1e-9))
            parts = [self._tile(lab, t, lab in legs) for t in range(k0 // tile_n, max(k0, k1 - 1) // tile_n + 1)]
            first = parts[0].first
            if parts[0].filtered is None:  # not a voltage: shown raw
                w = self.reader.read([lab], start=start, duration=duration)[lab]
                out[lab] = self._pack(lab, w.data, w.fs, w.first, start, duration, width, "none (raw)", unit=w.unit)
                continue
            filt = np.concatenate([p.filtered for p in parts]) if len(parts) > 1 else parts[0].filtered
            lm = None
            if lab in legs:
                env = np.concatenate([p.envelope for p in parts]) if len(parts) > 1 else parts[0].envelope
                base = np.concatenate([p.baseline for p in parts]) if len(parts) > 1 else parts[0].baseline
                lm = None if env is None or base is None else (env, base)
            out[lab] = self._pack(lab, filt, fs, first, start, duration, width, parts[0].desc, unit="uV", lm=lm)
        return out

    def _grid(self, fs: float, cs: Any) -> int:
        """Samples the start of a conditioned stretch is aligned to: the baseline's decimation step,
        the mains blocks and the period of the mains sinusoid, all counted from sample 0 in the
        whole-night pass of ``score`` (so the same samples give the same values)."""
        from somnomyo.signal.baseline import _STEP_S

        grid = math.lcm(max(1, int(round(_STEP_S * fs))), max(2, int(round(cs.mains_block_s * fs))))
        mains = cs.mains_hz if cs.mains_removal else None
        if mains and float(fs).is_integer() and float(mains).is_integer():
            grid = math.lcm(grid, int(fs) // math.gcd(int(fs), int(mains)))
        return grid

    def _tile_samples(self, fs: float) -> int:
        grid = self._grid(fs, self._conditioning())
        return grid * max(1, math.ceil(TILE_S * fs / grid))

    def _tile(self, label: str, index: int, leg: bool) -> _Tile:
        key = (label, index)
        with self._tiles_lock:
            hit = self._tiles.get(key)
            if hit is not None:
                self._tiles.move_to_end(key)
                return hit
        tile = self._make_tile(label, index, leg)
        with self._tiles_lock:
            self._tiles[key] = tile
            while len(self._tiles) > self._max_tiles:
                self._tiles.popitem(last=False)
        return tile

    def _make_tile(self, label: str, index: int, leg: bool) -> _Tile:
        from somnomyo.signal.baseline import resting_level
        from somnomyo.signal.conditioning import condition_recording

        st = self.settings
        cs = self._conditioning()
        info = self.reader.header.channel(label)
        fs = float(info.fs)
        n_tile = self._tile_samples(fs)
        grid = self._grid(fs, cs)
        t0 = index * n_tile  # first sample of the tile
        if not _is_voltage(info.unit):
            return _Tile(first=t0, filtered=None, envelope=None, baseline=None, desc="none (raw)")
        bs = st.baseline
        night_beats = self._night_r is not None and cs.ecg_removal
        pad_s = EDGE_PAD_S + (ECG_BLOCK_PAD_S if night_beats else 0.0)
        pre_s = pad_s + ((bs.lookback_min_s + bs.lookback_max_s + bs.smooth_s) if leg else 0.0)
        p0 = max(0, (t0 - math.ceil(pre_s * fs)) // grid * grid)
        p1 = min(self.reader.n_samples(label), t0 + n_tile + math.ceil(pad_s * fs))
        labels = [label] + ([self._ecg] if self._ecg and cs.ecg_removal and not night_beats else [])
        win = self.reader.read(labels, start=p0 / fs, duration=(p1 - p0) / fs)
        w = win[label]
        rec = Recording(
            path=self.reader.path,
            start=self.reader.header.start,
            duration=w.data.size / fs,
            channels=list(self.reader.header.channels),
            file_type=self.reader.header.file_type,
        )
        rec.signals[label] = Signal(label=label, data=w.data, fs=fs, unit=w.unit)
        r_peaks = None
        e = win.get(self._ecg) if self._ecg else None
        if night_beats:
            beats = self._block_beats(label, fs, w.first, w.first + w.data.size, cs)
            r_peaks = None if beats is None else (beats, fs)
        elif e is not None and e.data.size and cs.ecg_removal:
            from somnomyo.signal.ecg import detect_r_peaks

            try:
                r_peaks = (detect_r_peaks(e.data, e.fs, settings=cs, max_rate_hz=ECG_RATE_HZ), e.fs)
            except Exception:  # too short a stretch for the R-peak detector: EMG search instead
                r_peaks = None
        h = self._harmonics.get(label) if cs.mains_hz is not None else None
        # the scoring's count of harmonics, all removed (no re-measure of hum on this stretch)
        cs_h = cs if h is None else dataclasses.replace(cs, mains_harmonics=h, mains_harmonic_min_db=-math.inf)
        c = condition_recording(rec, [label], settings=cs_h, r_peaks=r_peaks)[label]
        a, z = t0 - w.first, t0 - w.first + n_tile
        base = None
        if leg:
            level, step = resting_level(c.envelope, fs, settings=bs)
            base = np.repeat(level, step)[: c.envelope.size][a:z].copy()
        return _Tile(
            first=t0,
            filtered=c.filtered[a:z].copy(),
            envelope=c.envelope[a:z].copy() if leg else None,
            baseline=base,
            desc=_filter_text(c, cs),
        )

    def _pack(
        self,
        label: str,
        data: np.ndarray,
        fs: float,
        first: int,
        start: float,
        duration: float,
        width: int,
        filt: str,
        *,
        unit: str,
        lm: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> dict[str, Any]:
        """Cut the padded ``data`` (sample 0 at ``first / fs``) to the window and decimate it."""
        k0 = max(0, math.ceil(start * fs - 1e-9) - first)
        k1 = min(data.size, max(k0, math.ceil((start + duration) * fs - 1e-9) - first))
        x = data[k0:k1]
        t0 = (first + k0) / fs
        body: dict[str, Any] = {
            "label": label,
            "role": self.roles.get(label, "other"),
            "unit": unit,
            "fs": float(fs),
            "filter": filt,
        }
        n = x.size
        if n <= 2 * width:
            body.update(mode="raw", t0=t0, dt=1.0 / fs, y=_round(x))
        else:
            dt = duration / width
            # columns on the window's time grid: sample k (time t0 + k/fs) goes to column floor((t - start)/dt)
            col = np.floor(((first + k0 + np.arange(n)) / fs - start) / dt).astype(np.int64)
            col = np.clip(col, 0, width - 1)
            starts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
            body.update(
                mode="minmax",
                t0=start,
                dt=dt,
                columns=col[starts].tolist(),
                min=_round(np.minimum.reduceat(x, starts)),
                max=_round(np.maximum.reduceat(x, starts)),
            )
        if lm is not None:
            env, base = lm[0][k0:k1], lm[1][k0:k1]
            on, off = self.settings.lm.onset_above_baseline_uv, self.settings.lm.offset_above_baseline_uv
            if n <= 2 * width:
                e, b = env, base
            else:
                e = np.maximum.reduceat(env, starts)
                b = base[starts]
            body["lm"] = {
                "onset_above_uv": on,
                "offset_above_uv": off,
                "envelope": _round(e),
                "baseline": _round(b),
                "onset_threshold": _round(b + on),
                "offset_threshold": _round(b + off),
            }
        return body

    def close(self) -> None:
        self.reader.close()


def _is_voltage(unit: str) -> bool:
    from somnomyo.io.edf import unit_scale_to_uv

    return unit == "uV" or unit_scale_to_uv(unit) is not None


def _filter_text(cond: Any, cs: Any) -> str:
    parts = [f"band-pass {cs.highpass_hz:g}-{cs.lowpass_hz:g} Hz"]
    if cond.mains_hz:
        parts.append(f"mains {cond.mains_hz:g} Hz removed")
    if cond.ecg_source:
        parts.append("ECG removed")
    return ", ".join(parts) + " (as scored)"
