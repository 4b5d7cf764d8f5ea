"""Raw-EMG snippets of representative events (band-pass filtered, onset/offset marked).

The EMG is filtered with the project's band-pass (:func:`somnomyo.signal.filters.bandpass`,
edges from ``settings.conditioning``: AASM EMG 10-100 Hz) over the shown window plus a pad
on each side, and min/max-decimated for drawing when longer than ``max_trace_points``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from somnomyo.errors import SomnomyoError
from somnomyo.report.figures import TYPE_COLOURS, new_figure, set_margins
from somnomyo.report.options import ReportOptions

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from somnomyo.io.recording import Recording
    from somnomyo.settings import ConditioningSettings

__all__ = ["pick_representative", "filtered_segment", "decimate_minmax", "plot_snippets", "clock"]


def _channels(value: Any) -> list[str]:
    return [c.strip() for c in str(value if value is not None and not pd.isna(value) else "").split(",") if c.strip()]


def pick_representative(events: pd.DataFrame, n: int, *, loaded: Sequence[str]) -> pd.DataFrame:
    """Up to ``n`` typical events of ``events`` (one type), in time order.

    Only events whose channels are all loaded are eligible; periodic ones are preferred when
    there are enough, then candidate LMs (``is_clm``); among those, the ``n`` with amplitude
    closest to the median (typical, not extreme), spread over the night by the final sort.
    """
    if len(events) == 0 or n <= 0:
        return events.iloc[:0]
    ok = np.array([bool(ch) and all(c in loaded for c in ch) for ch in map(_channels, events["channel"])], dtype=bool)
    ev = events.loc[ok]
    for col in ("periodic", "is_clm"):
        if col in ev.columns:
            sel = ev[col].astype("boolean").fillna(False).to_numpy(dtype=bool)
            if sel.sum() >= n:
                ev = ev.loc[sel]
    if len(ev) == 0:
        return ev
    amp = ev["amplitude_uv"].to_numpy(dtype=float) if "amplitude_uv" in ev.columns else np.zeros(len(ev))
    med = np.nanmedian(amp) if np.isfinite(amp).any() else 0.0
    dist = np.where(np.isfinite(amp), np.abs(amp - med), np.inf)
    order = np.argsort(dist, kind="stable")[:n]
    return ev.iloc[np.sort(order)]


def filtered_segment(
    data: np.ndarray, fs: float, t0: float, t1: float, *, pad_s: float, settings: ConditioningSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Times (s from recording start) and band-pass-filtered samples of ``[t0, t1)``
    (:func:`somnomyo.signal.filters.bandpass`, its design cached per rate)."""
    from somnomyo.signal.filters import bandpass

    n = data.size
    a, b = max(int(np.floor(t0 * fs)), 0), min(int(np.ceil(t1 * fs)), n)
    pa, pb = max(a - int(pad_s * fs), 0), min(b + int(pad_s * fs), n)
    if b <= a:
        return np.zeros(0), np.zeros(0)
    seg = np.asarray(data[pa:pb], dtype=float)
    try:
        y = bandpass(seg, fs, settings=settings)
    except (ValueError, SomnomyoError):  # segment too short for the zero-phase filter: show it unfiltered
        y = seg - np.median(seg)
    y = y[a - pa : a - pa + (b - a)]
    return np.arange(a, b) / fs, y


def decimate_minmax(t: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep the min and max of each block so the drawn trace keeps its peaks (``<= max_points``)."""
    if y.size <= max_points or max_points < 4:
        return t, y
    k = int(np.ceil(y.size / (max_points // 2)))
    m = (y.size // k) * k
    yb, tb = y[:m].reshape(-1, k), t[:m].reshape(-1, k)
    lo, hi = yb.argmin(axis=1), yb.argmax(axis=1)
    first = np.minimum(lo, hi)
    second = np.maximum(lo, hi)
    rows = np.arange(yb.shape[0])
    tt = np.column_stack([tb[rows, first], tb[rows, second]]).ravel()
    yy = np.column_stack([yb[rows, first], yb[rows, second]]).ravel()
    return tt, yy


def clock(start: dt.datetime | None, t: float) -> str:
    """Clock time of ``t`` s after ``start`` (``hh:mm:ss``), or elapsed ``h:mm:ss`` without a start."""
    if start is not None:
        return (start + dt.timedelta(seconds=float(t))).strftime("%H:%M:%S")
    s = int(round(t))
    return f"+{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _title(row: Any, start: dt.datetime | None) -> str:
    bits = [str(row.get("trial_type", "event")).replace("_", " "), "at", clock(start, float(row["onset"]))]
    extra = []
    for col in ("stage", "side"):
        v = row.get(col)
        if v is not None and not pd.isna(v) and str(v):
            extra.append(str(v))
    per = row.get("periodic")
    if per is not None and not pd.isna(per) and bool(per):
        extra.append("periodic")
    amp = row.get("amplitude_uv")
    if amp is not None and not pd.isna(amp):
        extra.append(f"{float(amp):.0f} µV")
    return " ".join(bits) + (f" ({', '.join(extra)})" if extra else "")


def plot_snippets(
    events: pd.DataFrame,
    recording: Recording,
    *,
    settings: ConditioningSettings,
    margin_s: float,
    options: ReportOptions = ReportOptions(),
    context: Sequence[str] = (),
    title: str = "",
) -> Figure | None:
    """One panel per event: its channel(s) (then the ``context`` channels, e.g. the other leg),
    filtered, from ``margin_s`` before onset to ``margin_s`` after offset; event span shaded,
    onset (green) and offset (red) marked. None when ``events`` is empty."""
    if len(events) == 0:
        return None
    chans_per = []
    for value in events["channel"]:
        own = _channels(value)
        chans_per.append(
            (own + [c for c in context if c not in own and c in recording.signals])[: options.max_snippet_channels]
        )
    heights = [0.9 + 0.55 * len(c) for c in chans_per]
    fig = new_figure(options.figure_width_in, sum(heights) + 0.45 * len(heights) + 0.5)
    axes = np.atleast_1d(fig.subplots(len(heights), 1, squeeze=False, height_ratios=heights)[:, 0])
    for ax, chans, (_, row) in zip(axes, chans_per, events.iterrows()):
        on = float(row["onset"])
        off = on + float(np.nan_to_num(row["duration"]))
        own_set = set(_channels(row["channel"]))
        traces = []
        spread = 0.0
        for label in chans:
            sig = recording.signals[label]
            t, y = filtered_segment(
                sig.data, sig.fs, on - margin_s, off + margin_s, pad_s=options.filter_pad_s, settings=settings
            )
            t, y = decimate_minmax(t - on, y, options.max_trace_points)
            traces.append((label, t, y))
            if y.size:
                spread = max(spread, float(np.max(np.abs(y))))
        step = 2.1 * spread if spread > 0 else 1.0
        colour = TYPE_COLOURS.get(str(row.get("trial_type")), "0.2")
        for i, (label, t, y) in enumerate(traces):
            ax.plot(t, y - i * step, lw=0.6, color=colour if label in own_set else "0.45")
        ax.axvspan(0.0, off - on, color="tab:orange", alpha=0.13, lw=0)
        ax.axvline(0.0, color="tab:green", lw=1.0, ls="--", label="onset")
        ax.axvline(off - on, color="tab:red", lw=1.0, ls="--", label="offset")
        ax.set_xlim(-margin_s, off - on + margin_s)
        ax.set_ylim(-(len(traces) - 0.5) * step, 0.5 * step)
        ax.set_yticks([-i * step for i in range(len(traces))])
        ax.set_yticklabels([lab for lab, _, _ in traces], fontsize="small")
        ax.text(
            1.0,
            1.02,
            f"scale: ±{spread:.0f} µV per trace",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize="x-small",
            color="0.35",
        )
        ax.set_title(_title(row, recording.start), loc="left", fontsize="small")
        ax.grid(axis="x", color="0.92", lw=0.5)
    axes[-1].legend(loc="lower right", fontsize="x-small", frameon=False, ncol=2)
    axes[-1].set_xlabel("time from event onset (s)")
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize="medium")
    set_margins(fig, left=0.95, top=0.35 + (0.25 if title else 0.0), bottom=0.5, hspace=0.55)
    return fig
