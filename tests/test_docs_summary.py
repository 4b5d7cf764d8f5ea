"""docs/summary.md documents every key that ``score_night(...).summary()`` writes to summary.json.

The doc is split into ``## `block` `` sections (``## Top level`` for the top-level keys and the
small header blocks). A key of a block must be the first cell of a table row of its section; a
key nested deeper must appear as ```key``` in a table row of that section. Dicts keyed by data
(stages, channel labels, muscles) are documented by what they hold, not key by key
(``DATA_KEYED``), and ``settings`` is documented by group. A detector that adds an undocumented
key fails :func:`test_every_summary_key_of_an_adult_night_is_documented` and its siblings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

from somnomyo.pipeline import score_night
from somnomyo.simulate import SimOptions, simulate_short

DOC = Path(__file__).resolve().parents[1] / "docs" / "summary.md"
TOP = "Top level"
BLOCKS = (
    "plm",
    "fragmentary_myoclonus",
    "jerks",
    "hypnic_jerks",
    "clusters",
    "negative_myoclonus",
    "rem_emg",
    "cortical",
    "state",
    "interpretation",
    "quality",
)
# dicts whose keys are data (stage names, channel labels, muscles): their keys are not listed one by one,
# but the dicts inside them are still walked (path segment "*")
DATA_KEYED = (
    "stages.counts",
    "annotations.counts",
    "plm.by_stage",
    "fragmentary_myoclonus.fm_index_by_stage",
    "jerks.index_by_stage",
    "jerks.muscles",
    "jerks.leading_muscle",
    "clusters.by_stage",
    "negative_myoclonus.index_by_stage",
    "state.count_per_stage",
    "state.hours_per_stage",
    "state.rate_per_stage_h",
    "quality.channels",
    "interpretation.evidence.*",
)
_TICK = re.compile(r"`([^`]+)`")


@dataclass
class Section:
    first_cell: set[str] = field(default_factory=set)  # keys naming a table row
    in_rows: set[str] = field(default_factory=set)  # every `token` in a table row


def doc_sections(text: str) -> dict[str, Section]:
    """Sections of the doc by name: ``## `plm` `` -> ``plm``, ``## Top level`` -> ``Top level``;
    ``###`` sub-sections belong to the ``##`` section above them."""
    out: dict[str, Section] = {}
    cur: Section | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            head = line[3:].strip()
            m = _TICK.match(head)
            cur = out.setdefault(m.group(1) if m else head, Section())
        elif cur is not None and line.startswith("|") and not re.match(r"^\|\s*-", line):
            cells = line.strip().strip("|").split("|")
            cur.first_cell.update(_TICK.findall(cells[0]))
            cur.in_rows.update(_TICK.findall(line))
    return out


def _is_data_keyed(path: str) -> bool:
    return any(fnmatch(path, pat) for pat in DATA_KEYED)


def _walk_nested(value: Any, path: str, sec: Section, name: str, missing: list[str]) -> None:
    """Keys of dicts below a block's first level must appear in a table row of the block's section."""
    if isinstance(value, list):
        for item in value:
            _walk_nested(item, path, sec, name, missing)
        return
    if not isinstance(value, dict):
        return
    keyed = _is_data_keyed(path)
    for k, v in value.items():
        if not keyed and k not in sec.in_rows:
            missing.append(f"{path}.{k} (section {name!r})")
        _walk_nested(v, f"{path}.{'*' if keyed else k}", sec, name, missing)


def undocumented_keys(summary: dict[str, Any], sections: dict[str, Section]) -> list[str]:
    """Every key of ``summary`` (to the depth the doc documents) missing from the doc."""
    missing: list[str] = []
    top = sections.get(TOP, Section())
    for key, value in summary.items():
        if key not in top.first_cell:
            missing.append(f"{key} (top level)")
        if key == "settings":  # documented by group; parameters are documented in Settings
            missing += [f"settings.{g} (top level)" for g in value if g not in top.in_rows]
            continue
        own = sections.get(key)
        if own is None:  # a small block described in its top-level row
            _walk_nested(value, key, top, TOP, missing)
            continue
        items = value if isinstance(value, list) else [value]
        for item in items:
            if not isinstance(item, dict):
                continue
            for k, v in item.items():
                if k not in own.first_cell:
                    missing.append(f"{key}.{k} (section {key!r})")
                _walk_nested(v, f"{key}.{k}", own, key, missing)
    return sorted(set(missing))


# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sections() -> dict[str, Section]:
    return doc_sections(DOC.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def adult_summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    paths = simulate_short(seed=3, minutes=10).write(tmp_path_factory.mktemp("adult"))
    return score_night(paths["edf"]).summary()


@pytest.fixture(scope="module")
def infant_summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    night = simulate_short(seed=2, minutes=10, options=SimOptions.short(population="infant", clusters_per_h=30.0))
    paths = night.write(tmp_path_factory.mktemp("infant"))
    return score_night(paths["edf"], age="3w").summary()


@pytest.fixture(scope="module")
def unstaged_summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A night without hypnogram or annotations (the null branches of every block)."""
    import somnomyo.pipeline as pipeline
    from somnomyo.io.edf_write import write_edf

    night = simulate_short(seed=5, minutes=10)
    edf = write_edf(tmp_path_factory.mktemp("bare") / "bare.edf", night.signals, start=night.start)
    mp = pytest.MonkeyPatch()
    mp.setattr(pipeline, "_auto_staging_available", lambda: False)
    try:
        return score_night(edf).summary()
    finally:
        mp.undo()


def test_doc_has_a_section_with_a_key_table_for_every_block(sections):
    for name in (TOP,) + BLOCKS:
        assert name in sections, f"docs/summary.md has no '## `{name}`' section"
        assert sections[name].first_cell, f"section {name!r} has no key table"


def test_every_summary_key_of_an_adult_night_is_documented(adult_summary, sections):
    assert set(BLOCKS) <= set(adult_summary)
    assert undocumented_keys(adult_summary, sections) == []


def test_every_summary_key_of_an_infant_night_with_clusters_is_documented(infant_summary, sections):
    # the infant night exercises the cluster, EEG-rhythm and infant-rule branches
    assert infant_summary["clusters"]["count"] >= 1
    assert infant_summary["cortical"]["eeg_rhythm"] is not None
    assert {"bsmi_consistent", "jerks_in_wake"} & {f["id"] for f in infant_summary["interpretation"]}
    assert undocumented_keys(infant_summary, sections) == []


def test_every_summary_key_of_a_night_without_hypnogram_is_documented(unstaged_summary, sections):
    assert unstaged_summary["stages"]["source"] == "none"
    assert unstaged_summary["hypnic_jerks"]["count"] is None
    assert undocumented_keys(unstaged_summary, sections) == []


def test_every_interpretation_finding_id_is_documented(adult_summary, infant_summary, sections):
    from somnomyo.interpret import RULES

    documented = sections["interpretation"].first_cell
    assert {r.id for r in RULES} <= documented
    for s in (adult_summary, infant_summary):
        assert {f["id"] for f in s["interpretation"]} <= documented


def test_checker_reports_a_key_a_detector_adds_without_documenting_it(adult_summary, sections):
    import copy

    s = copy.deepcopy(adult_summary)
    s["jerks"]["undocumented_new_index"] = 1.0
    s["state"]["waking"]["undocumented_nested"] = 2
    s["quality"]["channels"][next(iter(s["quality"]["channels"]))]["undocumented_flag"] = 0.0
    s["brand_new_block"] = {}
    missing = undocumented_keys(s, sections)
    assert any(m.startswith("jerks.undocumented_new_index") for m in missing)
    assert any(m.startswith("state.waking.undocumented_nested") for m in missing)
    assert any(m.startswith("quality.channels.*.undocumented_flag") for m in missing)
    assert any(m.startswith("brand_new_block") for m in missing)


def test_checker_needs_a_block_key_in_its_own_section_not_elsewhere(sections):
    # `count` is documented in several sections; a key of a block without its own row is still caught
    fake = {"clusters": {"count": 1, "efm_minutes": 2.0}}
    missing = undocumented_keys(fake, sections)
    assert "clusters.efm_minutes (section 'clusters')" in missing
    assert not any(m.startswith("clusters.count") for m in missing)
