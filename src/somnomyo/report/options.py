"""Display options of the reports (layout only: no clinical parameter lives here).

Clinical parameters (filters, thresholds, windows) come from :class:`somnomyo.settings.Settings`;
these options only say how much to show and how to draw it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReportOptions:
    """How the per-night and follow-up reports are drawn."""

    n_lm_snippets: int = 4  # representative leg movements shown as raw EMG
    lm_margin_s: float = 3.0  # EMG shown before onset and after offset of an LM, s
    brief_margin_s: float = 1.0  # ... of a brief event (jerk, fragmentary myoclonus), s
    filter_pad_s: float = 2.0  # extra signal filtered on each side (edge transients), s
    max_trace_points: int = 1200  # traces longer than this are min/max decimated for drawing
    max_snippet_channels: int = 5  # channels drawn for one multi-muscle event
    max_event_rows: int = 5000  # rows of the event list embedded in report.html
    dpi: int = 110  # PNG resolution of figures/*.png
    edf_record_s: float = 60.0  # data-record length of the annotations-only events.edf, s
    figure_width_in: float = 11.0  # width of full-width figures, inches
