"""Infant night: the jerks of benign-sleep-myoclonus-of-infancy (BSMI) clusters are not FM.

BSMI (ICSD-3; Fernandez-Alvarez; docs/rules.md): repetitive jerks in clusters at 1-5 Hz. The
simulator designs them as jerk clusters only (no FM, no LM). Where the jerk grouping splits a
fast (~5 Hz) cluster, single-muscle bursts of <= 150 ms used to be scored as fragmentary
myoclonus (Frauscher 2014: FM potentials are sporadic and asynchronous); ``fm_exclude_in_clusters``
counts them as the cluster's jerks.
"""

from __future__ import annotations

import dataclasses

import pytest

from somnomyo.pipeline import score_night
from somnomyo.settings import get_settings
from somnomyo.simulate import SimOptions, simulate_night


@pytest.fixture(scope="module")
def infant(tmp_path_factory):
    night = simulate_night(seed=8, hours=1.0, fs=256.0, options=SimOptions.infant(clusters_per_h=12.0))
    edf = night.write(tmp_path_factory.mktemp("infant"))["edf"]
    return night, edf


def _fm(edf, *, exclude: bool):
    st = get_settings()
    st = dataclasses.replace(st, myoclonus=dataclasses.replace(st.myoclonus, fm_exclude_in_clusters=exclude))
    ev = score_night(edf, age="6m", settings=st).events
    return ev, ev[ev["trial_type"] == "fragmentary_myoclonus"]


def test_bsmi_cluster_jerks_are_not_fragmentary_myoclonus(infant) -> None:
    night, edf = infant
    assert night.truth["clusters"] and not night.truth["fragmentary_myoclonus"]
    ev, fm = _fm(edf, exclude=True)
    assert (ev["trial_type"] == "jerk_cluster").sum() >= len(night.truth["clusters"]) - 1
    assert len(fm) <= 1


def test_without_the_cluster_rule_the_cluster_jerks_are_read_as_fm(infant) -> None:
    """The condition the rule fixes is present on this night (the test above can fail)."""
    _, fm = _fm(infant[1], exclude=False)
    assert len(fm) >= 5
