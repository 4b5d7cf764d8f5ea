"""ECG artefact in EMG: R-peak detection and adaptive QRS-template subtraction.

WASM 2016 recommends removing ECG artefact before computer scoring of leg movements; the
reference implementation (MATPLM ``removeEKG.m``) finds heart-like periodic spikes in 30-s
windows and replaces +-0.1 s around them. Here the artefact is **subtracted** instead of
blanked, so EMG activity that overlaps a heartbeat is kept:

* :func:`detect_r_peaks`: R peaks in an ECG channel (band-pass, polarity auto, refractory
  period, adaptive threshold). Compute once per night and reuse for every EMG channel.
* :func:`ecg_peaks_in_emg`: heart-like periodic spikes found in the EMG itself
  (MATPLM ``removeEKG.m`` criteria).
* :func:`subtract_ecg`: each beat minus a local median QRS template (median of the
  ``ecg_template_beats`` neighbouring beats, so it follows changes over the night), after
  re-aligning the beat to the template and fitting a sub-sample shift and a gain.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from somnomyo._logging import logger
from somnomyo.settings import ConditioningSettings
from somnomyo.signal import rolling
from somnomyo.signal.filters import butter_filtfilt
from somnomyo.signal.peaks import find_peaks, select_by_distance
from somnomyo.signal.rolling import median_filter, uniform_filter1d
from somnomyo.signal.windows import tukey

# Limits of the per-beat fit (implementation): the template may be scaled by 0.5-2 and shifted
# by at most one sample; beyond that the beat is most likely overlapped by true EMG.
_GAIN_LIMITS = (0.5, 2.0)
_MIN_BEATS = 5
_PEAK_CHUNK = 1 << 16  # samples per chunk of the R-peak candidate search (cache-sized; speed only)


def _block_max(x: np.ndarray, block: int) -> np.ndarray:
    nb = x.size // block
    return x[: nb * block].reshape(nb, block).max(axis=1) if nb else np.array([x.max()])


def _block_min(x: np.ndarray, block: int) -> np.ndarray:
    nb = x.size // block
    return x[: nb * block].reshape(nb, block).min(axis=1) if nb else np.array([x.min()])


def detect_r_peaks(
    ecg: np.ndarray, fs: float, *, settings: ConditioningSettings | None = None, max_rate_hz: float | None = None
) -> np.ndarray:
    """Sample indices (at ``fs``) of the R peaks of an ECG channel.

    Band-pass ``ecg_band_low_hz``-``ecg_band_high_hz`` (zero phase); polarity chosen as the sign
    whose 2-s block maxima are larger (median over the night); peaks at least
    ``ecg_refractory_s`` apart that exceed ``ecg_threshold_fraction`` of the local R amplitude
    (running median of 2-s block maxima over ~14 s, so an isolated artefact does not blind it).

    ``max_rate_hz`` (speed, e.g. 128): when ``fs`` is higher, the ECG is averaged over blocks of
    ``q = ceil(fs / max_rate_hz)`` samples (band-limiting it), the rules run at ``fs / q`` and
    each peak is refined to sub-block precision by a parabola through the filtered samples
    around it, then given as an index at ``fs`` (within a sample or so of the full-rate result;
    the ECG band ends far below ``fs / (2 q)``). ``None`` (default): everything at ``fs``.
    """
    st = settings if settings is not None else ConditioningSettings()
    x = np.asarray(ecg)  # cast to float32 as it is read (no full copy)
    if x.size < int(4 * fs):
        return np.zeros(0, np.int64)
    q = 1 if max_rate_hz is None or fs <= max_rate_hz else int(np.ceil(fs / max_rate_hz))
    if q > 1 and min(st.ecg_band_high_hz, 0.45 * fs) >= 0.45 * fs / q:
        q = 1  # the band does not fit the decimated rate
    if q == 1:
        y = _ecg_band(x, fs, st)
        peaks = _r_peaks_in_band(y, fs, st)
    else:
        m = x.size // q
        xd = x[0 : m * q : q].astype(np.float32)  # block mean (anti-alias), column by column
        for k in range(1, q):  # loop over the q block offsets
            np.add(xd, x[k : m * q : q], out=xd, dtype=np.float32)
        xd *= np.float32(1.0 / q)
        fs_d = fs / q
        y = _ecg_band(xd, fs_d, st)
        pd_ = _r_peaks_in_band(y, fs_d, st)
        inner = (pd_ > 0) & (pd_ < y.size - 1)
        frac = np.zeros(pd_.size)
        p_in = pd_[inner]
        y0, y1, y2 = (y[p_in - 1].astype(np.float64), y[p_in].astype(np.float64), y[p_in + 1].astype(np.float64))
        den = y0 - 2.0 * y1 + y2
        with np.errstate(divide="ignore", invalid="ignore"):
            frac[inner] = np.where(den < 0, np.clip(0.5 * (y0 - y2) / np.where(den < 0, den, -1.0), -0.5, 0.5), 0.0)
        # block k holds samples k*q .. k*q + q - 1: its centre is k*q + (q - 1) / 2
        peaks = np.round((pd_ + frac) * q + (q - 1) / 2.0).astype(np.int64)
        peaks = _sorted_unique(np.clip(peaks, 0, x.size - 1))
    logger.debug("ECG: %d R peaks (%.1f/min)", peaks.size, 60.0 * peaks.size / (x.size / fs))
    return peaks.astype(np.int64)


def _ecg_band(x: np.ndarray, fs: float, st: ConditioningSettings) -> np.ndarray:
    """The ECG band-pass used for R-peak detection (order 3, zero phase, float32)."""
    hi = min(st.ecg_band_high_hz, 0.45 * fs)
    return butter_filtfilt(x, fs, order=3, low_hz=st.ecg_band_low_hz, high_hz=hi)


def _peaks_above(y: np.ndarray, height: float, *, negate: bool = False) -> np.ndarray:
    """``find_peaks(-y if negate else y, height=height)``, the same indices, without a full-length
    negated copy or per-sample index arrays: only the samples at or above ``height`` (compared in
    float64, as ``find_peaks``) are examined, a cache-sized chunk at a time; a sample higher than
    both neighbours is a peak. Where a candidate has an equal neighbour (a plateau) the general
    :func:`somnomyo.signal.peaks.find_peaks` is used instead (the same definition)."""
    n = y.size
    h = np.float64(height)
    found = []
    for a in range(1, n - 1, _PEAK_CHUNK):  # loop over cache-sized chunks, not samples
        b = min(a + _PEAK_CHUNK, n - 1)
        seg = y[a:b]
        idx = np.flatnonzero(seg <= -h if negate else seg >= h)
        if not idx.size:
            continue
        v, lft, rgt = seg[idx], y[a - 1 + idx], y[a + 1 + idx]
        if np.any(v == lft) or np.any(v == rgt):
            return find_peaks(-y if negate else y, height=height)  # plateaus: the general rule
        peak = (lft > v) & (rgt > v) if negate else (lft < v) & (rgt < v)
        found.append(idx[peak] + a)
    return np.concatenate(found).astype(np.intp) if found else np.zeros(0, np.intp)


def _r_peaks_in_band(y: np.ndarray, fs: float, st: ConditioningSettings) -> np.ndarray:
    """R peaks of the band-passed ECG ``y``: polarity, adaptive threshold, refractory period.
    (The polarity is chosen as the sign whose block maxima are larger; the negative polarity is
    handled without a negated copy of ``y``.)"""
    block = int(round(2.0 * fs))
    bmin, bmax = _block_min(y, block), _block_max(y, block)
    negate = bool(np.median(-bmin) > np.median(bmax))
    if negate:
        bmax = -bmin
    level = median_filter(bmax, min(7, bmax.size))
    centres = (np.arange(level.size) + 0.5) * block
    # Same result as find_peaks(y, height=thr, distance=...) with the per-sample threshold
    # thr = fraction x interp(level): local maxima above the lowest threshold first, the exact
    # threshold at those only, then the refractory selection on just them (local maxima are
    # >= 2 samples apart, so each candidate alone would be a peak of a signal holding only them).
    cand = _peaks_above(y, st.ecg_threshold_fraction * float(level.min()), negate=negate)
    h = -y[cand] if negate else y[cand]
    keep = h >= st.ecg_threshold_fraction * np.interp(cand, centres, level)
    cand, h = cand[keep], h[keep]
    keep = select_by_distance(cand, h, max(1, int(round(st.ecg_refractory_s * fs))))
    return cand[keep].astype(np.int64)


def resample_peaks(peaks: np.ndarray, fs_from: float, fs_to: float, n_to: int) -> np.ndarray:
    """Peak indices at ``fs_from`` as indices at ``fs_to`` (rounded, inside ``[0, n_to)``, unique)."""
    p = np.round(np.asarray(peaks, dtype=np.float64) * (fs_to / fs_from)).astype(np.int64)
    return _sorted_unique(p[(p >= 0) & (p < n_to)])


_AC_ROWS = 128  # windows per batch of the autocorrelation (bounds its FFT memory; speed only)
_OCTAVE = 0.85  # the shortest lag whose autocorrelation peak is >= 85 % of the highest is the period


def heart_periods(env: np.ndarray, fs: float, win: int, *, settings: ConditioningSettings) -> np.ndarray:
    """The heart period (s) of each ``win``-sample window of ``env`` (the rectified, smoothed EMG
    at rate ``fs``), NaN where none stands out.

    The QRS leak makes the envelope periodic at the heart period: the autocorrelation of each
    window (mean removed, normalized at lag 0) is searched for peaks at lags of
    ``ecg_self_hr_range_bpm``; the shortest lag whose peak reaches 85 % of the highest is taken
    (the peaks at 2x, 3x the period are as high; a pitch-detection rule), when its
    autocorrelation is at least ``ecg_self_min_periodicity``."""
    st = settings
    nwin = env.size // win
    out = np.full(max(nwin, 0), np.nan)
    lo = max(1, int(np.ceil(fs * 60.0 / st.ecg_self_hr_range_bpm[1])))
    hi = min(win - 2, int(np.floor(fs * 60.0 / st.ecg_self_hr_range_bpm[0])))
    if nwin == 0 or hi <= lo:
        return out
    n_fft = 1 << int(np.ceil(np.log2(2 * win)))
    for a in range(0, nwin, _AC_ROWS):  # loop over batches of windows
        b = min(nwin, a + _AC_ROWS)
        seg = env[a * win : b * win].astype(np.float64).reshape(b - a, win)
        seg -= seg.mean(axis=1, keepdims=True)
        spec = np.fft.rfft(seg, n_fft, axis=1)
        ac = np.fft.irfft(spec.real**2 + spec.imag**2, n_fft, axis=1)[:, : hi + 2]
        zero = ac[:, :1]
        ac = np.divide(ac, zero, out=np.zeros_like(ac), where=zero > 0)
        mid = ac[:, lo : hi + 1]
        peak = (mid > ac[:, lo - 1 : hi]) & (mid >= ac[:, lo + 1 : hi + 2])
        best = np.where(peak, mid, -np.inf).max(axis=1)
        first = np.argmax(peak & (mid >= _OCTAVE * best[:, None]), axis=1)
        r = mid[np.arange(b - a), first]
        ok = np.isfinite(best) & (r >= st.ecg_self_min_periodicity)
        out[a:b] = np.where(ok, (first + lo) / fs, np.nan)
    return out


def _heart_like(
    ibi: np.ndarray, periods: Sequence[float], window_s: float, *, settings: ConditioningSettings
) -> np.ndarray | None:
    """Which intervals ``ibi`` (s) of a window's peaks are heart-like, or None when the window does
    not hold ECG: around each estimated period of ``periods`` in turn (the window's own, then its
    neighbours'; NaN: none), then, where those fail, in the prior window
    ``ecg_self_rr_min_s``-``ecg_self_rr_max_s`` (MATPLM's criteria), so an estimate never finds
    less ECG than the prior does."""
    st = settings
    for period in periods:
        if not np.isfinite(period):
            continue
        heart = (ibi >= period * (1.0 - st.ecg_self_rr_tolerance)) & (ibi <= period * (1.0 + st.ecg_self_rr_tolerance))
        # a heart beats all through the window: not a few bursts of close peaks
        if heart.mean() > st.ecg_self_min_fraction and heart.sum() >= st.ecg_self_min_beat_fraction * window_s / period:
            return heart
    heart = (ibi >= st.ecg_self_rr_min_s) & (ibi <= st.ecg_self_rr_max_s)
    return heart if heart.mean() > st.ecg_self_min_fraction else None


def neighbour_periods(period: np.ndarray, *, settings: ConditioningSettings) -> np.ndarray:
    """Per window, the median of its neighbours' heart-period estimates (``period``, s per window,
    NaN: none estimated; ``ecg_self_period_neighbours`` windows on each side, the window itself
    left out; NaN with fewer than two estimated). The heart rate changes little over minutes, and
    an LM or EMG burst in a window spoils its own autocorrelation: :func:`ecg_peaks_in_emg` tries
    this period where the window's own fails (implementation choice, [UNCONFIRMED])."""
    k = int(settings.ecg_self_period_neighbours)
    p = np.asarray(period, dtype=float)
    med = np.full(p.size, np.nan)
    if k <= 0 or p.size < 3:
        return med
    pad = np.r_[np.full(k, np.nan), p, np.full(k, np.nan)]
    idx = np.arange(p.size)[:, None] + np.r_[np.arange(k), np.arange(k + 1, 2 * k + 1)][None, :]
    nb = pad[idx]  # the neighbours of each window, itself left out
    enough = np.isfinite(nb).sum(axis=1) >= 2
    if enough.any():
        med[enough] = np.nanmedian(nb[enough], axis=1)
    return med


def ecg_peaks_in_emg(filtered: np.ndarray, fs: float, *, settings: ConditioningSettings) -> np.ndarray:
    """Heart-like periodic spikes found in the (band-passed) EMG itself, as sample indices.

    MATPLM ``removeEKG.m`` idea: per ``ecg_self_window_s`` window, peaks of the rectified,
    lightly smoothed EMG at least ``ecg_self_min_spacing_s`` apart and higher than the window
    median + ``ecg_self_height_uv``; the window holds ECG when there are more than
    ``ecg_self_min_peaks`` such peaks and more than ``ecg_self_min_fraction`` of their intervals
    are heart-like. Heart-like: within ``ecg_self_rr_tolerance`` of the window's heart period
    estimated from the data (:func:`heart_periods`; ``ecg_self_estimate_period``; then at least
    ``ecg_self_min_beat_fraction`` of the beats that period puts in the window) where that period
    lies outside ``ecg_self_rr_min_s``-``ecg_self_rr_max_s``; else, where no period stands out or
    it lies inside, in that window (MATPLM's 0.7-1.3 s for adults; the population's window,
    :meth:`somnomyo.settings.Settings.for_population`, is the prior). A peak is kept as a beat when its interval to the previous or next peak is at least
    0.6 x the window's typical heart-like interval and it is not much higher (> 3x) than the
    window's median beat; peaks inside EMG bursts are therefore not taken as beats.
    """
    st = settings
    x = np.abs(np.asarray(filtered, dtype=np.float32))
    # work on ~100-Hz block maxima of |x| (peak positions are refined later in subtract_ecg)
    step = max(1, int(fs // 100))
    m = x.size // step
    fs_d = fs / step
    bmax = x[0 : m * step : step].copy()
    for k in range(1, step):  # loop over the few block offsets
        np.maximum(bmax, x[k : m * step : step], out=bmax)
    env = uniform_filter1d(bmax, max(1, int(round(0.04 * fs_d))))
    win = max(1, int(round(st.ecg_self_window_s * fs_d)))
    nwin = max(1, env.size // win)
    edges = np.minimum(np.arange(nwin + 1) * win, env.size)
    edges[-1] = env.size
    med = np.array([np.median(env[a:b]) for a, b in zip(edges[:-1], edges[1:])])
    peaks = find_peaks(env, distance=max(1, int(round(st.ecg_self_min_spacing_s * fs_d))))
    w_of = np.minimum(peaks // win, nwin - 1)
    h = env[peaks]
    keep = h > med[w_of] + st.ecg_self_height_uv
    peaks, h, w_of = peaks[keep], h[keep], w_of[keep]
    out = []
    counts = np.bincount(w_of, minlength=nwin)
    period = heart_periods(env, fs_d, win, settings=st) if st.ecg_self_estimate_period else np.full(nwin, np.nan)
    if period.size < nwin:  # the last window holds the remainder: it takes the period before it
        period = np.r_[period, np.full(nwin - period.size, period[-1] if period.size else np.nan)]
    nb_period = neighbour_periods(period, settings=st)
    # a period inside the prior window changes nothing: the prior (MATPLM's criteria) is kept there
    for per in (period, nb_period):
        per[(per >= st.ecg_self_rr_min_s) & (per <= st.ecg_self_rr_max_s)] = np.nan
    for w in np.flatnonzero(counts > st.ecg_self_min_peaks):  # loop over 30-s windows only
        sel = w_of == w
        p, hh = peaks[sel], h[sel]
        ibi = np.diff(p) / fs_d
        heart = _heart_like(ibi, (period[w], nb_period[w]), win / fs_d, settings=st)
        if heart is None:
            continue
        # a beat is at least 0.6 typical RR from one neighbouring peak; peaks inside EMG bursts
        # (close neighbours on both sides) or far higher than the beats are not beats
        spaced = ibi >= 0.6 * np.median(ibi[heart])
        beat = np.zeros(p.size, bool)
        beat[1:] |= spaced
        beat[:-1] |= spaced
        beat &= hh <= 3.0 * np.median(hh[beat]) if beat.any() else beat
        out.append(p[beat] * step + step // 2)
    res = np.concatenate(out) if out else np.zeros(0, np.int64)
    logger.debug("ECG in EMG: %d heart-like peaks in %d of %d windows", res.size, len(out), nwin)
    return res.astype(np.int64)


_BEAT_CHUNK = 2048  # beats per chunk of the per-beat work in :func:`subtract_ecg` (cache-sized; speed only)
_RANK_CHUNK = 16384  # values per row per chunk of the template medians (cache-sized; speed only)


def _segments(x: np.ndarray, centres: np.ndarray, half: int) -> np.ndarray:
    """Rows ``x[c - half : c + half + 1]`` for every centre (a row gather from a strided view)."""
    return np.lib.stride_tricks.sliding_window_view(x, 2 * half + 1)[centres - half]


def _median_axis1(a: np.ndarray) -> np.ndarray:
    """``np.median(a, axis=1)`` for finite data, by sorting (much faster for a few beats per block)."""
    k = a.shape[1]
    srt = np.sort(a, axis=1)
    mid = k // 2
    return srt[:, mid] if k % 2 else np.mean(srt[:, mid - 1 : mid + 1], axis=1)


def _median_rows(g: np.ndarray) -> np.ndarray:
    """``_median_axis1(g[None])[0]``: the median over the rows of the 2-D ``g`` (finite data), the
    same values, by a selection network (:func:`somnomyo.signal.rolling.select_ranks`) a
    cache-sized chunk of columns at a time."""
    k = g.shape[0]
    mid = k // 2
    ranks = (mid,) if k % 2 else (mid - 1, mid)
    outs = tuple(np.empty(g.shape[1], g.dtype) for _ in ranks)
    for c0 in range(0, g.shape[1], _RANK_CHUNK):  # loop over cache-sized chunks of columns
        rolling.select_ranks(
            [row[c0 : c0 + _RANK_CHUNK] for row in g], ranks, tuple(o[c0 : c0 + _RANK_CHUNK] for o in outs)
        )
    return outs[0] if k % 2 else np.mean(np.stack(outs), axis=0)


def _sorted_unique(r: np.ndarray) -> np.ndarray:
    """``np.unique`` of a 1-D integer array (sorted, duplicates dropped) by one sort."""
    r = np.sort(r)
    return r[np.concatenate(([True], r[1:] != r[:-1]))] if r.size else r


def _block_templates(x: np.ndarray, r: np.ndarray, half: int, n_beats: int) -> tuple[np.ndarray, np.ndarray]:
    """Local median templates of the segments ``x[r_i - half : r_i + half + 1]``: (templates,
    block of each beat). The median over blocks of ``n_beats`` consecutive beats; leftover beats
    join the last block (whose template is the median of its ``n_beats`` beats and the
    leftovers), so block medians follow slow changes over the night. The segments are gathered
    rank-major (row ``i`` of the gather: beat ``i`` of every block), so each median is taken
    over contiguous rows (:func:`_median_rows`)."""
    nb = r.size
    width = 2 * half + 1
    win = np.lib.stride_tricks.sliding_window_view(x, width)
    size = max(1, min(n_beats, nb))
    nblk = max(1, nb // size)
    full = nblk * size
    if 2 <= size <= rolling._NETWORK_MAX:
        order = r[:full].reshape(nblk, size).T.reshape(-1)
        tpl = _median_rows(win[order - half].reshape(size, nblk * width)).reshape(nblk, width)
    else:
        tpl = _median_axis1(win[r[:full] - half].reshape(nblk, size, width))
    if full < nb:  # leftover beats join the last block
        last = win[r[full - size :] - half]
        tpl[-1] = _median_rows(last) if last.shape[0] <= rolling._NETWORK_MAX else _median_axis1(last[None])[0]
    return tpl, np.minimum(np.arange(nb) // size, nblk - 1)


def _templates(segs: np.ndarray, n_beats: int) -> np.ndarray:
    """The local median template of every beat (as :func:`_block_templates`, one row per beat) of
    the segments ``segs`` (beats x samples)."""
    nb = segs.shape[0]
    size = max(1, min(n_beats, nb))
    nblk = max(1, nb // size)
    full = nblk * size
    tpl = _median_axis1(segs[:full].reshape(nblk, size, -1))
    if full < nb:
        tpl[-1] = _median_axis1(segs[full - size :][None])[0]
    return tpl[np.minimum(np.arange(nb) // size, nblk - 1)]


def _realign(x: np.ndarray, r: np.ndarray, half: int, max_lag: int, tpl: np.ndarray, blk: np.ndarray) -> np.ndarray:
    """Each beat's lag in ``-max_lag .. max_lag`` (samples) that maximises the normalised
    correlation ``<seg, T> / sqrt(<seg, seg> + 1e-12)`` of its segment with its template
    ``tpl[blk]`` (float32 sums, as ``np.einsum``), the first on ties. A chunk of beats at a time
    (cache-sized; the same values), every lag in one ``np.einsum`` per sum."""
    width = 2 * half + 1
    win = np.lib.stride_tricks.sliding_window_view(x, width + 2 * max_lag)
    best = np.empty(r.size, np.int64)
    for c0 in range(0, r.size, _BEAT_CHUNK):  # loop over chunks of beats, not samples
        rc = r[c0 : c0 + _BEAT_CHUNK]
        wide = win[rc - half - max_lag]  # one gather; each lag is a window of it
        segs = np.lib.stride_tricks.sliding_window_view(wide, width, axis=1)  # beats x lags x width
        t = tpl[blk[c0 : c0 + _BEAT_CHUNK]]
        score = np.einsum("ikj,ij->ik", segs, t)
        score /= np.sqrt(np.einsum("ikj,ikj->ik", segs, segs) + 1e-12)
        best[c0 : c0 + rc.size] = np.argmax(score, axis=1)
    return best - max_lag


def subtract_ecg(
    filtered: np.ndarray, fs: float, r_peaks: np.ndarray, *, settings: ConditioningSettings, overwrite: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Subtract the ECG artefact around each R peak; returns (cleaned float32, peaks used).

    For every beat: a segment of +-``ecg_half_window_s`` around the peak; the local median
    template of ``ecg_template_beats`` neighbouring beats; the beat is re-aligned to its
    template (integer lag up to ``ecg_max_shift_s``, by normalised correlation), the template
    is re-estimated, and ``a*T + d*T'`` (gain ``a``, sub-sample shift ``d`` <= 1 sample, least
    squares) is subtracted under a Tukey taper; beats fitting with a gain below 0.5 are left
    alone (not a beat, or swamped by EMG), gains above 2 are capped. True EMG overlapping a beat is not blanked:
    only the part that repeats from beat to beat is removed. ``overwrite``: a float32 ``filtered``
    is cleaned in place (no copy; the caller owns it) and returned.

    The per-beat work is done on block templates (one per ``ecg_template_beats`` beats) and a
    cache-sized chunk of beats at a time; every value is computed as a whole-night pass would.
    """
    st = settings
    x = np.asarray(filtered, dtype=np.float32)
    if not (overwrite and x is filtered and x.flags.writeable and x.flags.c_contiguous):
        x = x.copy()
    half = max(1, int(round(st.ecg_half_window_s * fs)))
    shift = max(0, int(round(st.ecg_max_shift_s * fs)))
    r = _sorted_unique(np.asarray(r_peaks, dtype=np.int64))
    r = r[(r - half - 2 * shift >= 0) & (r + half + 2 * shift < x.size)]
    if r.size < _MIN_BEATS:
        return x, r
    tpl, blk = _block_templates(x, r, half, st.ecg_template_beats)
    # re-align every beat to its local template (normalised correlation), twice: the first pass
    # over +-ecg_max_shift_s fixes peaks found on the wrong QRS lobe, the second refines
    for max_lag in (shift, min(shift, 2)):
        if max_lag == 0:
            continue
        r = _sorted_unique(r + _realign(x, r, half, max_lag, tpl, blk))
        tpl, blk = _block_templates(x, r, half, st.ecg_template_beats)
    d = np.gradient(tpl, axis=1)  # per block template (a row-wise operation)
    # least squares seg ~ a*T + b*T' per beat (2x2 normal equations, vectorized); the template
    # sums per block, the beat sums a chunk of beats at a time
    tt = np.einsum("ij,ij->i", tpl, tpl)[blk]
    dd = np.einsum("ij,ij->i", d, d)[blk]
    td = np.einsum("ij,ij->i", tpl, d)[blk]
    st_ = np.empty(r.size, np.float32)
    sd = np.empty(r.size, np.float32)
    win = np.lib.stride_tricks.sliding_window_view(x, 2 * half + 1)
    for c0 in range(0, r.size, _BEAT_CHUNK):  # loop over chunks of beats, not samples
        segs = win[r[c0 : c0 + _BEAT_CHUNK] - half]
        bk = blk[c0 : c0 + _BEAT_CHUNK]
        st_[c0 : c0 + segs.shape[0]] = np.einsum("ij,ij->i", segs, tpl[bk])
        sd[c0 : c0 + segs.shape[0]] = np.einsum("ij,ij->i", segs, d[bk])
    det = tt * dd - td**2
    good = det > 1e-12 * np.maximum(tt * dd, 1e-30)
    a = np.ones(r.size)
    b = np.zeros(r.size)
    a[good] = (st_[good] * dd[good] - sd[good] * td[good]) / det[good]
    b[good] = (sd[good] * tt[good] - st_[good] * td[good]) / det[good]
    # a beat that does not look like its template (gain < 0.5: EMG burst, or not a beat) is left
    # alone; a larger one (> 2) gets the template at gain 2 without shift
    skip = ~good | (a < _GAIN_LIMITS[0])
    big = a > _GAIN_LIMITS[1]
    shift_samples = np.clip(np.where(skip, 0.0, b / np.where(skip, 1.0, a)), -1.0, 1.0)
    a = np.where(skip, 0.0, np.minimum(a, _GAIN_LIMITS[1]))
    b = np.where(big, 0.0, shift_samples * a)
    _subtract_beats(x, r, half, a, b, tpl, d, blk)
    return x, r


def _subtract_beats(
    x: np.ndarray,
    r: np.ndarray,
    half: int,
    a: np.ndarray,
    b: np.ndarray,
    tpl: np.ndarray,
    d: np.ndarray,
    blk: np.ndarray,
) -> None:
    """``x[r_i - half : r_i + half + 1] -= float32((a_i T + b_i T') w)`` for every beat ``i`` in
    order (``w``: Tukey 0.25 taper; ``T = tpl[blk_i]``, ``T' = d[blk_i]``), in place. Beats whose
    segments overlap no other are done by one gather and scatter per chunk of beats; beats that
    overlap a neighbour by ``np.subtract.at`` in beat order, so every sample sees the same
    float32 subtractions in the same order as one ``np.subtract.at`` over all beats."""
    width = 2 * half + 1
    taper = tukey(width, 0.25)
    close = np.diff(r) < width  # beat i and i + 1 overlap
    shared = np.zeros(r.size, bool)
    shared[:-1] |= close
    shared[1:] |= close
    offs = np.arange(-half, half + 1)
    rows = np.lib.stride_tricks.as_strided(
        x, shape=(x.size - width + 1, width), strides=(x.strides[0],) * 2, writeable=True
    )  # rows[i] = x[i : i + width] (a view)
    est = np.empty((min(_BEAT_CHUNK, r.size), width))
    tmp = np.empty_like(est)
    est32 = np.empty(est.shape, np.float32)
    for c0 in range(0, r.size, _BEAT_CHUNK):  # loop over chunks of beats, not samples
        c1 = min(c0 + _BEAT_CHUNK, r.size)
        m = c1 - c0
        bk = blk[c0:c1]
        e, t, e32 = est[:m], tmp[:m], est32[:m]
        np.multiply(a[c0:c1, None], tpl[bk], out=e)
        np.multiply(b[c0:c1, None], d[bk], out=t)
        e += t
        e *= taper[None, :]
        e32[...] = e
        sh = shared[c0:c1]
        own = ~sh
        if own.any():  # disjoint rows: gather, subtract, scatter
            start = r[c0:c1][own] - half
            seg = rows[start]
            seg -= e32[own]
            rows[start] = seg
        if sh.any():
            idx = r[c0:c1][sh, None] + offs
            np.subtract.at(x, idx.ravel(), e32[sh].ravel())
