"""Figures of the per-night report (matplotlib object API: no pyplot, no global backend).

Every function returns a :class:`matplotlib.figure.Figure`; :func:`render` turns one into
SVG and PNG bytes. The PLM plots of :mod:`somnomyo.score.plots` are reused, not redrawn.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from somnomyo.events import TRIAL_TYPES
from somnomyo.report.options import ReportOptions

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from somnomyo.io.annotations import Hypnogram

__all__ = [
    "Rendered",
    "render",
    "new_figure",
    "raster_rows",
    "plot_overview",
    "plot_imi",
    "plot_cortical",
    "set_margins",
    "TYPE_SHORT",
    "STAGE_ORDER",
]

#: short row names of the raster, by trial_type
TYPE_SHORT: dict[str, str] = {
    "leg_movement": "LM",
    "fragmentary_myoclonus": "FM",
    "myoclonic_jerk": "jerk",
    "hypnic_jerk": "hypnic jerk",
    "jerk_cluster": "jerk cluster",
    "negative_myoclonus": "neg. myoclonus",
    "phasic_emg": "phasic EMG",
}
TYPE_COLOURS: dict[str, str] = {
    "leg_movement": "tab:blue",
    "fragmentary_myoclonus": "tab:purple",
    "myoclonic_jerk": "tab:green",
    "hypnic_jerk": "tab:orange",
    "jerk_cluster": "tab:brown",
    "negative_myoclonus": "tab:cyan",
    "phasic_emg": "tab:pink",
}
PLM_COLOUR = "tab:red"
#: hypnogram rows, top to bottom
STAGE_ORDER = ("W", "R", "N1", "N2", "N3")


@dataclass
class Rendered:
    """One figure rendered: ``svg`` (UTF-8 bytes) and ``png`` bytes."""

    name: str
    title: str
    svg: bytes
    png: bytes


def new_figure(width: float, height: float) -> Figure:
    """A figure detached from pyplot (safe in servers and notebooks alike)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def set_margins(
    fig: Figure,
    *,
    left: float = 0.75,
    right: float = 0.2,
    top: float = 0.4,
    bottom: float = 0.5,
    hspace: float = 0.45,
) -> None:
    """Fixed margins in inches (much faster than a layout engine on every save)."""
    w, h = fig.get_size_inches()
    spec = fig.axes[0].get_subplotspec() if fig.axes else None
    n_rows = spec.get_gridspec().nrows if spec is not None else 1
    fig.subplots_adjust(
        left=left / w,
        right=1.0 - right / w,
        top=1.0 - top / h,
        bottom=bottom / h,
        hspace=hspace / max((h - top - bottom) / n_rows, 1e-3),
    )


def render(fig: Figure, name: str, title: str, *, dpi: int, png: bool = True) -> Rendered:
    """SVG (text kept as text: small and searchable) and PNG bytes of ``fig`` (``b""`` without ``png``)."""
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "somnomyo"}):
        buf = io.BytesIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
        svg = buf.getvalue()
    if not png:
        return Rendered(name=name, title=title, svg=svg, png=b"")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return Rendered(name=name, title=title, svg=svg, png=buf.getvalue())


# ------------------------------------------------------------------------------ raster
def raster_rows(events: pd.DataFrame, *, channel_order: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Rows of the event raster: one per (event type, channel); an event on several channels
    (``"A,B"``) appears in the row of each. Rows are ordered by ``TRIAL_TYPES`` then by
    ``channel_order`` (others alphabetically). Each row: ``label, trial_type, channel, onset,
    duration, periodic`` (lists; ``periodic`` is False for non-LM rows)."""
    if len(events) == 0:
        return []
    ch = events["channel"].astype("string").fillna("").str.split(",")
    df = pd.DataFrame(
        {
            "trial_type": events["trial_type"].astype("string").fillna("event").to_numpy(dtype=object),
            "channel": ch.to_numpy(dtype=object),
            "onset": events["onset"].to_numpy(dtype=float),
            "duration": np.nan_to_num(events["duration"].to_numpy(dtype=float), nan=0.0),
            "periodic": (
                events["periodic"].astype("boolean").fillna(False).to_numpy(dtype=bool)
                if "periodic" in events.columns
                else False
            ),
        }
    ).explode("channel")
    df["channel"] = df["channel"].astype(str).str.strip()
    df = df.drop_duplicates(subset=["trial_type", "channel", "onset", "duration"])
    type_rank = {t: i for i, t in enumerate(TRIAL_TYPES)}
    chan_rank = {c: i for i, c in enumerate(channel_order)}
    rows = []
    for (tt, chan), g in df.groupby(["trial_type", "channel"], sort=False):
        g = g.sort_values("onset", kind="stable")
        short = TYPE_SHORT.get(tt, str(tt).replace("_", " "))
        rows.append(
            {
                "label": f"{short} · {chan}" if chan else short,
                "trial_type": str(tt),
                "channel": str(chan),
                "onset": [round(float(x), 4) for x in g["onset"]],
                "duration": [round(float(x), 4) for x in g["duration"]],
                "periodic": [bool(x) for x in g["periodic"]],
                "_key": (type_rank.get(tt, len(type_rank)), chan_rank.get(chan, len(chan_rank)), str(chan)),
            }
        )
    rows.sort(key=lambda r: tuple(r["_key"]))  # (rank, rank, name)
    for r in rows:
        del r["_key"]
    return rows


def _plot_hypnogram(ax: Any, hyp: Hypnogram) -> None:
    level = {s: len(STAGE_ORDER) - 1 - i for i, s in enumerate(STAGE_ORDER)}
    st = np.asarray(hyp.stages)
    t = (hyp.start + np.arange(st.size + 1) * hyp.epoch_s) / 3600.0
    y = np.array([level.get(s, np.nan) for s in st], dtype=float)
    if st.size:
        ax.stairs(y, t, baseline=None, color="0.15", lw=1.0)
        rem = st == "R"
        if rem.any():
            ax.hlines(np.full(int(rem.sum()), level["R"]), t[:-1][rem], t[1:][rem], color="tab:red", lw=3.0)
        uns = st == "UNS"
        if uns.any():
            from somnomyo.signal.intervals import runs

            for a, b in zip(*runs(uns)):
                ax.axvspan(t[a], t[b], color="0.85", lw=0)
    ax.set_yticks([level[s] for s in STAGE_ORDER])
    ax.set_yticklabels(STAGE_ORDER)
    ax.set_ylim(-0.6, len(STAGE_ORDER) - 0.4)
    src = {
        "annotations": "scored",
        "auto": "AUTOMATIC",
        "emg_estimate": "EMG estimate (rough)",
        "none": "none: all unscored",
    }.get(hyp.source, hyp.source)
    ax.set_title(f"hypnogram ({src}) and detected events", loc="left", fontsize="medium")
    ax.grid(axis="x", color="0.9", lw=0.6)


def _time_axis(ax: Any, duration_s: float, start: dt.datetime | None) -> None:
    """Label a time axis in hours from the recording start as clock time (``22:00``) at whole
    clock hours; without a start time, as hours from the recording start."""
    if start is None:
        ax.set_xlabel("time from recording start (h)")
        return
    from matplotlib.ticker import FixedLocator, FuncFormatter

    dur_h = max(duration_s / 3600.0, 1e-6)
    first = (-(start.minute * 60 + start.second + start.microsecond / 1e6) / 3600.0) % 1.0
    step = 1.0 if dur_h <= 14 else 2.0
    ax.xaxis.set_major_locator(FixedLocator(np.arange(first, dur_h + 1e-9, step).tolist()))
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda h, _pos: (start + dt.timedelta(hours=float(h))).strftime("%H:%M"))
    )
    ax.set_xlabel(f"clock time (recording started {start.strftime('%Y-%m-%d %H:%M:%S')})")


def plot_overview(
    hyp: Hypnogram,
    rows: list[dict[str, Any]],
    *,
    duration_s: float,
    unscorable: tuple[np.ndarray, np.ndarray] | None = None,
    options: ReportOptions = ReportOptions(),
    start: dt.datetime | None = None,
) -> Figure:
    """Hypnogram with the event raster aligned under it (shared time axis, hours; clock time
    at whole hours when the recording's ``start`` is known, as clinicians read a night).

    One raster row per event type and channel (:func:`raster_rows`); periodic LMs in red;
    time unscorable for leg movements shaded grey."""
    n = max(len(rows), 1)
    fig = new_figure(options.figure_width_in, 1.9 + 0.24 * n)
    ax_h, ax_r = fig.subplots(2, 1, sharex=True, height_ratios=[1.9, 0.24 * n + 0.35])
    _plot_hypnogram(ax_h, hyp)
    for i, r in enumerate(rows):
        y = n - 1 - i
        on = np.asarray(r["onset"], dtype=float) / 3600.0
        per = np.asarray(r["periodic"], dtype=bool)
        colour = TYPE_COLOURS.get(r["trial_type"], "0.3")
        if (~per).any():
            ax_r.vlines(on[~per], y - 0.38, y + 0.38, color=colour, lw=0.8)
        if per.any():
            ax_r.vlines(on[per], y - 0.38, y + 0.38, color=PLM_COLOUR, lw=0.8)
    if unscorable is not None and len(unscorable[0]):
        for a, b in zip(*unscorable):
            ax_r.axvspan(a / 3600.0, b / 3600.0, color="0.88", lw=0, zorder=0)
    ax_r.set_yticks(range(n))
    ax_r.set_yticklabels([r["label"] for r in reversed(rows)] if rows else ["no events"], fontsize="small")
    ax_r.set_ylim(-0.6, n - 0.4)
    ax_r.set_xlim(0.0, max(duration_s / 3600.0, 1e-6))
    _time_axis(ax_r, duration_s, start)
    ax_r.grid(axis="x", color="0.9", lw=0.6)
    longest = max([len(r["label"]) for r in rows] + [8])
    set_margins(fig, left=0.25 + 0.062 * longest, top=0.3, bottom=0.5, hspace=0.15)
    if any(any(r["periodic"]) for r in rows):
        ax_h.set_title("red ticks: periodic leg movements (PLM)", loc="right", fontsize="small", color=PLM_COLOUR)
    return fig


# ------------------------------------------------------------------------------ IMI, cortical
def plot_imi(plm_result: Any, *, options: ReportOptions = ReportOptions()) -> Figure:
    """IMI histogram of the PLM result (:func:`somnomyo.score.plots.plot_imi_histogram`) with the
    periodicity index (Ferri 2006) written on it."""
    fig = new_figure(options.figure_width_in * 0.62, 3.3)
    ax = fig.subplots()
    plm_result.plot_imi_histogram(ax=ax)
    pi = plm_result.summary().get("periodicity_index")
    text = "periodicity index: n/a" if pi is None else f"periodicity index: {pi:.2f}"
    ax.text(0.99, 0.70, text, transform=ax.transAxes, ha="right", va="top", fontsize="small")
    set_margins(fig, left=0.7, top=0.35, bottom=0.5)
    return fig


def plot_cortical(cortical: Any, *, options: ReportOptions = ReportOptions()) -> Figure | None:
    """Jerk-locked EEG average: the result's own ``plot(ax=...)`` when it has one, else its
    ``times_ms`` and per-channel ``average`` arrays (with ``band_lo``/``band_hi`` when given).
    None when there is nothing to draw."""
    fig = new_figure(options.figure_width_in * 0.62, 3.4)
    ax = fig.subplots()
    set_margins(fig, left=0.7, top=0.35, bottom=0.5)
    if hasattr(cortical, "plot"):
        cortical.plot(ax=ax)
        return fig
    times = getattr(cortical, "times_ms", None)
    avg = getattr(cortical, "average", None)
    if times is None or avg is None:
        return None
    avg = avg if isinstance(avg, dict) else {"EEG": avg}
    for label, y in avg.items():
        ax.plot(np.asarray(times, dtype=float), np.asarray(y, dtype=float), lw=1.0, label=str(label))
    lo, hi = getattr(cortical, "band_lo", None), getattr(cortical, "band_hi", None)
    if lo is not None and hi is not None and np.ndim(lo) == 1:
        ax.fill_between(np.asarray(times, dtype=float), lo, hi, color="0.85", lw=0, label="surrogate 95%")
    ax.axvline(0.0, color="k", lw=0.8, ls="--")
    ax.set_xlabel("time from EMG onset (ms)")
    ax.set_ylabel("µV")
    ax.legend(loc="upper left", fontsize="small", frameon=False)
    return fig
