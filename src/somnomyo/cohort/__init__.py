"""Cohorts: score thousands of nights on one machine or a Dask cluster, resumably.

::

    from somnomyo.cohort import run_cohort
    res = run_cohort("data/*.edf", "cohort-out/", n_jobs=2)
    res.nights            # one row per night: status, reason, plm.plms_index, ...
    res.failed            # the nights that could not be scored, with the reason
    res.events()          # every night's events with a leading ``id`` column

Needs the ``cohort`` extra (``dask[distributed]``, ``pyarrow``).
"""

from __future__ import annotations

from somnomyo.cohort.manifest import Night, glob_nights, read_manifest, resolve_inputs
from somnomyo.cohort.run import CohortResult, run_cohort, score_one
from somnomyo.cohort.tables import RUN_COLUMNS, flatten_summary, read_nights

__all__ = [
    "Night",
    "glob_nights",
    "read_manifest",
    "resolve_inputs",
    "CohortResult",
    "run_cohort",
    "score_one",
    "RUN_COLUMNS",
    "flatten_summary",
    "read_nights",
]
