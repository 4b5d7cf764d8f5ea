"""Figures of a PLM result (:class:`somnomyo.score.plm.PLMResult`; matplotlib, imported inside each
function). The figures read only what :class:`PLMView` declares, so this module does not import the
scoring engine (which imports these functions for its ``plot_*`` methods)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from somnomyo.settings import Settings


class PLMView(Protocol):
    """What the figures read from a PLM result: the event table, the settings, the recording length
    and the ``plm`` summary block."""

    events: pd.DataFrame
    settings: Settings
    duration_s: float

    def summary(self) -> dict[str, Any]: ...


_ROWS = ("left", "right", "bilateral")


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    if ax is None:
        return plt.subplots(figsize=figsize)
    return ax.figure, ax


def plot_imi_histogram(result: PLMView, *, ax: Axes | None = None) -> Figure:
    """Bar plot of the IMI histogram of the summary (Ferri 2006: 2-s bins, 0-90 s, longer lumped).

    The PLM IMI window (``imi_min_s``-``imi_max_s``) is shaded.
    """
    fig, ax = _axes(ax, (7.0, 3.5))
    hist = result.summary()["imi_histogram"]
    edges = np.asarray(hist["bin_edges_s"], dtype=float)
    counts = np.asarray(hist["counts"], dtype=float)
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color="0.35", edgecolor="white")
    plm = result.settings.plm
    ax.axvspan(
        plm.imi_min_s,
        plm.imi_max_s,
        color="tab:orange",
        alpha=0.12,
        lw=0,
        label=f"PLM window {plm.imi_min_s:g}-{plm.imi_max_s:g} s",
    )
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel("inter-movement interval (s)")
    ax.set_ylabel("count")
    ax.set_title(f"IMI histogram ({result.settings.standard}; > {edges[-1]:g} s: {hist['over_max']})")
    ax.legend(loc="upper right", frameon=False)
    return fig


def plot_raster(result: PLMView, *, ax: Axes | None = None) -> Figure:
    """LMs over time (hours), one row per leg (left, right, single both-legs channel);
    periodic ones (primary analysis) in colour, other CLMs grey, non-CLM LMs hollow."""
    fig, ax = _axes(ax, (10.0, 2.5))
    ev = result.events
    t = ev["onset"].to_numpy(dtype=float) / 3600.0
    side = ev["side"].astype(str).to_numpy()
    row = np.select([side == s for s in _ROWS], np.arange(len(_ROWS)), default=len(_ROWS) - 1)
    periodic = ev["periodic"].fillna(False).to_numpy(dtype=bool)
    is_clm = ev["is_clm"].fillna(False).to_numpy(dtype=bool)
    groups: list[tuple[np.ndarray, dict[str, Any]]] = [
        (periodic, dict(color="tab:red", label="PLM")),
        (is_clm & ~periodic, dict(color="0.4", label="CLM, not periodic")),
        (~is_clm, dict(color="0.7", label="not a CLM", alpha=0.6)),
    ]
    for sel, style in groups:
        if sel.any():
            ax.vlines(t[sel], row[sel] - 0.35, row[sel] + 0.35, lw=1.0, **style)
    ax.set_yticks(range(len(_ROWS)))
    ax.set_yticklabels(_ROWS)
    ax.set_ylim(-0.6, len(_ROWS) - 0.4)
    ax.set_xlim(0, max(result.duration_s / 3600.0, 1e-6))
    ax.set_xlabel("time from recording start (h)")
    ax.set_title(f"leg movements ({result.settings.standard})")
    if len(ev):
        ax.legend(loc="upper right", frameon=False, fontsize="small", ncol=3)
    return fig
