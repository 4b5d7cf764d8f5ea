"""
Score a simulated night and check it against its truth
======================================================

The simulator (:func:`somnomyo.simulate.simulate_night`) writes a polysomnogram whose every event
is known. Scoring it with :func:`somnomyo.pipeline.score_night` is what ``somnomyo demo`` does;
here the same steps in Python, on a 1.5-hour night so the example runs in seconds.
"""

# %%
# Simulate a night
# ----------------
# A seeded night: the same seed gives byte-identical files. ``write`` produces ``night.edf``
# (EDF+ with the hypnogram, respiratory events and arousals as annotations),
# ``night-annotations.tsv`` and ``truth.json``.

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from somnomyo.pipeline import score_night
from somnomyo.simulate import simulate_night

work = Path(tempfile.mkdtemp(prefix="somnomyo-example-"))
sim = simulate_night(seed=3, hours=1.5)
paths = sim.write(work / "simulated")
print({name: path.name for name, path in paths.items()})

# %%
# Score it
# --------
# ``score_night`` infers the channel roles from the EDF labels, reads the annotations embedded
# in the EDF+ and the sidecar TSV, and runs every detector (WASM 2016 by default;
# ``standard="aasm"`` for the AASM Manual).

night = score_night(paths["edf"])
for role, labels in night.roles.by_role.items():
    if labels:
        print(f"{role:<12} {', '.join(labels)}")

# %%
# The event table
# ---------------
# One row per event, the shape of BIDS ``events.tsv`` (columns: :doc:`/outputs`).

events = night.events
print(events["trial_type"].value_counts().to_string())
events[events["trial_type"] == "leg_movement"].head(8)[["onset", "duration", "channel", "stage", "periodic"]]

# %%
# The indices
# -----------
# ``summary()`` is ``summary.json`` (every key: :doc:`/summary`).

plm = night.summary()["plm"]
for key in ("plms_index", "plmw_index", "lm_index", "periodicity_index", "tst_h"):
    value = plm[key]
    print(f"{key:<20} {value:.2f}" if value is not None else f"{key:<20} n/a")

# %%
# Measured against the truth
# --------------------------
# The simulator knows which indices a correct scoring gives (``truth["expected"]``).

expected = sim.truth["expected"]
print(f"PLMS index (/h)   measured {plm['plms_index']:6.2f}   truth {expected['plms_index']:6.2f}")
print(f"total sleep (h)   measured {plm['tst_h']:6.2f}   truth {expected['tst_h']:6.2f}")
counts = events["trial_type"].value_counts()
print(f"hypnic jerks      measured {counts.get('hypnic_jerk', 0):6d}   truth {expected['n_hypnic_jerks']:6d}")

# %%
# Figures
# -------
# Every result has ``plot_*`` methods (matplotlib). The leg movements over the night, periodic
# ones highlighted, and the inter-movement-interval histogram with its periodicity index:

night.results["plm"].plot_raster()
night.results["plm"].plot_imi_histogram()
plt.show()

# %%
# Write the results folder
# ------------------------
# ``write`` produces what ``somnomyo score --out`` writes: events.tsv, events.json,
# summary.json, context.json and manifest.json (the report with
# :func:`somnomyo.report.write_report`).

written = night.write(work / "scored")
print(sorted(p.name for p in (work / "scored").iterdir()))
