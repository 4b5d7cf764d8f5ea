"""
Score again after an edit, with the same scoring code
=====================================================

A reviewer rejects a leg movement, or adds one the detector missed: the indices must come out
exactly as if the night had been scored that way. :func:`somnomyo.rescore.rescore_folder` runs
the same scoring steps as ``somnomyo score`` from an edited event table and the night's
``context.json`` (what ``somnomyo review`` does on every edit; :doc:`/rescore`).
"""

# %%
# A scored night
# --------------
# A short simulated night (20 minutes, dense in events), scored and written as a results folder.

import tempfile
from pathlib import Path

from somnomyo.events import read_events_tsv
from somnomyo.pipeline import score_night
from somnomyo.rescore import rescore_folder
from somnomyo.simulate import simulate_short

work = Path(tempfile.mkdtemp(prefix="somnomyo-rescore-"))
paths = simulate_short(seed=1).write(work / "simulated")
night = score_night(paths["edf"], detectors=("plm",))
night.write(work / "scored")
print(f"PLMS index as scored: {night.summary()['plm']['plms_index']:.2f}/h")

# %%
# Nothing changed: the same numbers
# ---------------------------------
# Rescoring the table as written gives summary.json back, key by key.

events = read_events_tsv(work / "scored" / "events.tsv")
same = rescore_folder(work / "scored", events)
print(f"PLMS index rescored:  {same.summary()['plm']['plms_index']:.2f}/h")

# %%
# Reject the periodic leg movements of one series
# -----------------------------------------------
# Dropping rows is what a rejection does. CLM ids, PLM series and every index are recomputed.

lms = events[events["trial_type"] == "leg_movement"]
first_series = lms["series_id"].dropna().min()
rejected = lms.index[lms["series_id"] == first_series]
edited = rescore_folder(work / "scored", events.drop(index=rejected))
before, after = same.summary()["plm"], edited.summary()["plm"]
for key in ("plms_index", "lm_index", "periodicity_index"):
    print(f"{key:<18} before {before[key]:6.2f}   after {after[key]:6.2f}")
print(f"{len(rejected)} LMs of series {first_series} rejected")
