"""Reports and exports of scored nights, and follow-up across nights.

* :func:`write_report` - ``report.html`` (self-contained, printable), ``figures/``,
  ``events.edf`` (EDF+ annotations) and ``events.xml`` (NSRR) of one night.
* :func:`to_mne_annotations`, :func:`write_events_edf`, :func:`write_events_xml` - exports.
* :func:`compare_nights` - indices across nights (table, sentences, plot, ``compare.html``).

matplotlib is imported only when a figure is drawn; MNE only by :func:`to_mne_annotations`.
"""

from __future__ import annotations

from somnomyo.report.compare import Comparison, compare_nights
from somnomyo.report.exports import to_mne_annotations, write_events_edf, write_events_xml, write_exports
from somnomyo.report.night import build_report, write_report
from somnomyo.report.options import ReportOptions

__all__ = [
    "write_report",
    "build_report",
    "ReportOptions",
    "to_mne_annotations",
    "write_events_edf",
    "write_events_xml",
    "write_exports",
    "compare_nights",
    "Comparison",
]
