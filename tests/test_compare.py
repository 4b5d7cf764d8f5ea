"""Follow-up across nights: compare_nights table, sentences, outputs, and `somnomyo compare`."""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from somnomyo.cli import main
from somnomyo.errors import SomnomyoError
from somnomyo.report.compare import compare_nights, scalar_indices
from somnomyo.simulate import simulate_short


def _summary(plms: float | None, *, standard: str = "wasm2016", hypnic: int = 2, source: str = "annotations") -> dict:
    return {
        "somnomyo_version": "0.1.0",
        "recording": {"path": "x.edf", "duration_s": 28800.0, "start": "2000-01-01T22:00:00"},
        "stages": {"source": source, "counts": {"W": 100}},
        "channels": {"roles": {"leg_left": ["Leg L"]}},
        "plm": {
            "standard": standard,
            "plms_index": plms,
            "plmw_index": 12.5,
            "lm_index": 50.0,
            "tst_h": 6.5,
            "periodicity_index": 0.62,
            "by_stage": {"N2": {"plm_index": 30.0, "minutes": 200.0}},
            "imi_histogram": {"bin_edges_s": [0.0, 2.0], "counts": [1], "over_max": 0},
        },
        "fragmentary_myoclonus": {"fm_index": 80.0, "efm": True, "definition": "aasm"},
        "hypnic_jerks": {"count": hypnic},
        "quality": {"channels": {"Leg L": {"fraction_scorable": 0.9}}},
        "settings": {"standard": standard, "plm": {"imi_min_s": 10.0}},
        "warnings": [],
    }


def _night_dir(root: Path, name: str, summary: dict) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return d


def test_scalar_indices_keep_every_number_of_the_index_blocks_only() -> None:
    idx = scalar_indices(_summary(42.0))
    assert idx["plm.plms_index"] == 42.0 and idx["plm.by_stage.N2.plm_index"] == 30.0
    assert idx["fragmentary_myoclonus.efm"] == 1.0 and idx["hypnic_jerks.count"] == 2.0
    assert not any(k.startswith(("settings", "quality", "recording", "stages", "channels")) for k in idx)
    assert not any("imi_histogram.counts" in k or "bin_edges" in k for k in idx)  # lists left out
    assert "plm.imi_histogram.over_max" in idx
    assert "fragmentary_myoclonus.definition" not in idx  # text left out
    assert math.isnan(scalar_indices(_summary(None))["plm.plms_index"])


def test_compare_two_nights_table_and_plain_sentences(tmp_path: Path) -> None:
    d1 = _night_dir(tmp_path, "a", _summary(42.0, hypnic=2))
    d2 = _night_dir(tmp_path, "b", _summary(9.0, hypnic=5))
    comp = compare_nights([d1, d2])
    assert comp.labels == ["night 1", "night 2"]
    t = comp.table
    assert list(t.columns) == ["night 1", "night 2", "change night 2 - night 1"]
    assert t.loc["plm.plms_index"].tolist() == [42.0, 9.0, -33.0]
    assert t.loc["plm.plmw_index", "change night 2 - night 1"] == 0.0
    s = comp.sentences
    assert "PLMS index fell from 42.0/h to 9.0/h between night 1 and night 2." in s
    assert "PLMW index stayed at 12.5/h between night 1 and night 2." in s
    assert "Hypnic jerk count rose from 2 to 5 between night 1 and night 2." in s
    assert "Periodicity index stayed at 0.62 between night 1 and night 2." in s
    assert not any(x.startswith("Caution") for x in s)
    assert "diagnos" not in " ".join(s).lower()
    main_rows = comp.main
    assert "PLMS index (/h)" in main_rows.index and "plm.by_stage.N2.plm_index" not in main_rows.index


def test_compare_three_nights_with_labels_has_consecutive_and_overall_changes(tmp_path: Path) -> None:
    dirs = [_night_dir(tmp_path, n, _summary(v)) for n, v in (("a", 30.0), ("b", 20.0), ("c", 25.0))]
    comp = compare_nights(dirs, labels=["baseline", "month 1", "month 3"])
    t = comp.table
    assert t.loc["plm.plms_index", "change month 1 - baseline"] == -10.0
    assert t.loc["plm.plms_index", "change month 3 - month 1"] == 5.0
    assert t.loc["plm.plms_index", "change month 3 - baseline"] == -5.0
    assert "PLMS index rose from 20.0/h to 25.0/h between month 1 and month 3." in comp.sentences
    assert "PLMS index fell from 30.0/h to 25.0/h overall, between baseline and month 3." in comp.sentences


def test_compare_a_missing_index_is_not_described(tmp_path: Path) -> None:
    d1 = _night_dir(tmp_path, "a", _summary(None))
    d2 = _night_dir(tmp_path, "b", _summary(9.0))
    comp = compare_nights([d1, d2])
    assert math.isnan(comp.table.loc["plm.plms_index", "change night 2 - night 1"])
    assert not any(s.startswith("PLMS index") for s in comp.sentences)


def test_compare_warns_when_standards_or_stage_sources_differ(tmp_path: Path) -> None:
    d1 = _night_dir(tmp_path, "a", _summary(42.0, standard="wasm2016"))
    d2 = _night_dir(tmp_path, "b", _summary(9.0, standard="aasm", source="auto"))
    comp = compare_nights([d1, d2])
    assert comp.sentences[0].startswith("Caution: the nights were scored to different standards")
    assert any("night 2 were not scored by a person" in s for s in comp.sentences)
    html = comp.html()
    assert 'class="banner note"' in html and "different standards" in html


def test_compare_errors_are_one_line_and_name_the_problem(tmp_path: Path) -> None:
    d1 = _night_dir(tmp_path, "a", _summary(42.0))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SomnomyoError, match=r"empty: no summary.json in this folder"):
        compare_nights([d1, empty])
    with pytest.raises(SomnomyoError, match="need at least two nights"):
        compare_nights([d1])
    with pytest.raises(SomnomyoError, match="1 label.*for 2 nights"):
        compare_nights([d1, d1], labels=["only one"])
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "summary.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SomnomyoError, match="unreadable summary") as err:
        compare_nights([d1, bad])
    assert "\n" not in str(err.value)


def test_comparison_write_outputs_csv_html_and_figure(tmp_path: Path) -> None:
    comp = compare_nights([_night_dir(tmp_path, "a", _summary(42.0)), _night_dir(tmp_path, "b", _summary(9.0))])
    paths = comp.write(tmp_path / "out")
    csv = pd.read_csv(paths["compare_csv"], index_col="index", na_values=["n/a"])
    assert csv.loc["plm.plms_index"].tolist() == [42.0, 9.0, -33.0]
    assert len(csv) == len(comp.table)
    html = paths["compare_html"].read_text(encoding="utf-8")
    imgs = re.findall(r'<img src="([^"]+)"', html)
    assert len(imgs) == 1 and imgs[0].startswith("data:image/svg+xml;base64,")
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "PLMS index fell from 42.0/h to 9.0/h" in html
    assert paths["compare_figure"].read_bytes()[:4] == b"\x89PNG"
    fig = comp.plot()
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_visible()]
    assert "PLMS index (/h)" in titles


def test_cli_score_writes_the_report_and_cli_compare_prints_and_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = simulate_short(seed=3, minutes=20)
    edf = sim.write(tmp_path / "sim")["edf"]
    d1 = tmp_path / "n1"
    assert main(["score", str(edf), "--out", str(d1), "-q"]) == 0
    for name in ("report.html", "events.edf", "events.xml", "figures/overview.png", "summary.json"):
        assert (d1 / name).is_file(), name
    s2 = json.loads((d1 / "summary.json").read_text(encoding="utf-8"))
    s1_plms = s2["plm"]["plms_index"]
    s2 = copy.deepcopy(s2)
    s2["plm"]["plms_index"] = 9.0
    d2 = _night_dir(tmp_path, "n2", s2)
    capsys.readouterr()
    assert main(["compare", str(d1), str(d2), "--labels", "before", "after", "--out", str(tmp_path / "cmp")]) == 0
    out = capsys.readouterr().out
    verb = "fell" if s1_plms > 9.0 else "rose"
    assert f"PLMS index {verb} from {s1_plms:.1f}/h to 9.0/h between before and after." in out
    assert "PLMS index (/h)" in out
    assert (tmp_path / "cmp" / "compare.html").is_file() and (tmp_path / "cmp" / "compare.csv").is_file()
    assert main(["compare", str(d1)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("somnomyo: error:") and "need at least two nights" in err and "\n" not in err


def test_compare_flags_jerks_rising_across_infant_nights(tmp_path):
    """Rising frequency across nights warrants review in infant mode (the rule needs the
    earlier nights, so `compare` judges the last night with the others as its history)."""
    import json as _json

    from somnomyo.report import compare_nights

    dirs = []
    for i, index in enumerate([5.0, 9.0, 20.0]):
        d = tmp_path / f"n{i}"
        d.mkdir()
        (d / "summary.json").write_text(
            _json.dumps(
                {
                    "subject": {"age_days": 40 + 30 * i, "population": "infant"},
                    "jerks": {"count": int(index * 8), "index": index},
                    "settings": {"standard": "wasm2016"},
                }
            )
        )
        dirs.append(d)
    comp = compare_nights(dirs)
    assert any("more frequent" in s for s in comp.sentences), comp.sentences
    assert not any("more frequent" in s for s in compare_nights([dirs[2], dirs[0]]).sentences)  # falling
