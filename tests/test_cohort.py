"""Cohort engine: manifests, Dask scoring, failures, reruns and resumption.

The engine tests inject a fast fake scorer (a text file stands for a night) and share one
in-process Dask cluster; one slow test runs the real pipeline on simulated nights on a
multi-process LocalCluster, as ``somnomyo cohort`` does.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

pytest.importorskip("distributed", reason="cohorts need the 'cohort' extra (dask[distributed])")
pytest.importorskip("pyarrow", reason="cohorts need the 'cohort' extra (pyarrow)")

from somnomyo.cli import main
from somnomyo.cohort import RUN_COLUMNS, Night, flatten_summary, read_manifest, resolve_inputs, run_cohort
from somnomyo.cohort.run import score_one
from somnomyo.errors import RecordingError, SomnomyoError
from somnomyo.events import make_events, write_events_tsv


# ------------------------------------------------------------------------------ a fake night
class FakeNight:
    """What a scorer returns: write(), summary(), events (like pipeline.NightResult)."""

    def __init__(self, n_lms: int, standard: str, age: str | None = None) -> None:
        self.standard = standard
        self.age = age
        self.events = make_events(
            [
                {
                    "onset": 10.0 + 20 * i,
                    "duration": 1.0,
                    "trial_type": "leg_movement",
                    "channel": "Leg L",
                    "side": "left",
                    "periodic": i % 2 == 0,
                    "imi_s": 20.0 if i else None,
                }
                for i in range(n_lms)
            ]
        )

    def summary(self) -> dict[str, Any]:
        n = len(self.events)
        return {
            "somnomyo_version": "x",
            "recording": {"duration_s": 3600.0, "gaps": []},
            "plm": {"plms_index": n / 2.0, "lm_index": float(n), "tst_h": 2.0, "plms_count": n // 2},
            "quality": {"channels": {"Leg L": {"role": "leg_left", "fraction_scorable": 0.9}}},
            "settings": {"standard": self.standard, "lm_min_duration_s": 0.5},
            "warnings": ["no hypnogram found"],
            "interpretation": {"age_given": self.age},
        }

    def write(self, out: Path) -> dict[str, Path]:
        out = Path(out)
        (out / "summary.json").write_text(json.dumps(self.summary()))
        return {"events": write_events_tsv(self.events, out / "events.tsv"), "summary": out / "summary.json"}


class FakeScorer:
    """A night is a text file 'LMS <n>'; anything else is a corrupt recording. Logs each call."""

    def __init__(self, log: Path) -> None:
        self.log = Path(log)

    def __call__(
        self,
        edf: str,
        *,
        annotations: Any = None,
        hypnogram: Any = None,
        standard: str = "wasm2016",
        age: str | None = None,
        channels: dict[str, list[str]] | None = None,
    ) -> FakeNight:
        with open(self.log, "a") as f:
            f.write(Path(edf).stem + "\n")
        if channels is not None:
            with open(str(self.log) + ".channels", "a") as f:
                f.write(json.dumps({Path(edf).stem: channels}) + "\n")
        text = Path(edf).read_text()
        if text.startswith("BUG"):
            raise ValueError("detector blew up")
        if not text.startswith("LMS "):
            raise RecordingError("not an EDF file (bad header)", edf)
        return FakeNight(int(text.split()[1]), standard, age=age)

    def calls(self) -> list[str]:
        return self.log.read_text().split() if self.log.exists() else []

    def channels(self) -> dict[str, Any]:
        """The channel overrides each night was last scored with."""
        p = Path(str(self.log) + ".channels")
        out: dict[str, Any] = {}
        for line in p.read_text().splitlines() if p.exists() else []:
            out.update(json.loads(line))
        return out


def make_fake_cohort(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name, text in [("n1", "LMS 3"), ("n2", "LMS 5"), ("n3", "LMS 0"), ("n4", "LMS 8"), ("bad", "garbage")]:
        p = folder / f"{name}.edf"
        p.write_text(text)
        files.append(p)
    return files


def identity(df: pd.DataFrame) -> pd.DataFrame:
    """The part of the nights table that must not change between runs."""
    return df.drop(columns=[c for c in RUN_COLUMNS if c in df.columns])


@pytest.fixture(scope="module")
def client() -> Any:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as c,
    ):
        yield c


# ------------------------------------------------------------------------------ manifests
def test_manifest_relative_paths_resolve_against_manifest_folder_and_ids_default_to_stem(
    tmp_path: Path, monkeypatch
) -> None:
    folder = tmp_path / "study"
    (folder / "edf").mkdir(parents=True)
    (folder / "manifest.csv").write_text(
        "id,edf,annotations,hypnogram,age,bmi,site\n"
        "s01,edf/a.edf,edf/a.xml,,34y,22.5,A\n"
        ",edf/b.edf,,/abs/b-hyp.txt,3m,31,B\n"
    )
    monkeypatch.chdir(tmp_path)  # relative to the manifest, not to the current folder
    nights = read_manifest("study/manifest.csv")
    assert [n.id for n in nights] == ["s01", "b"]
    assert nights[0].edf == str(folder / "edf" / "a.edf")
    assert nights[0].annotations == str(folder / "edf" / "a.xml")
    assert nights[0].hypnogram is None
    assert nights[1].annotations is None and nights[1].hypnogram == "/abs/b-hyp.txt"
    assert nights[0].extra == {"age": "34y", "bmi": 22.5, "site": "A"}  # numbers where a column is numeric
    assert nights[1].extra == {"age": "3m", "bmi": 31, "site": "B"}
    assert nights[1].options() == {"age": "3m"}  # passed to the scorer as given


def test_manifest_age_without_unit_or_unknown_population_is_refused_naming_the_row(tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_text("edf,age\na.edf,45y\nb.edf,45\n")  # a bare number would be read as days
    with pytest.raises(SomnomyoError, match="row 3: .*unit"):
        read_manifest(m)
    m.write_text("edf,population\na.edf,adult\nb.edf,elderly\n")
    with pytest.raises(SomnomyoError, match="row 3: population 'elderly' must be one of adult, child, infant, auto"):
        read_manifest(m)


def test_manifest_annotation_offset_and_force_annotations_become_score_night_options(tmp_path: Path) -> None:
    import inspect

    from somnomyo.pipeline import score_night

    m = tmp_path / "m.csv"
    m.write_text("edf,annotation_offset,force_annotations\na.edf,30,true\nb.edf,,no\nc.edf,-2.5,\n")
    nights = read_manifest(m)
    assert nights[0].options() == {"annotation_offset": 30.0, "force_annotations": True}
    assert nights[1].options() == {"force_annotations": False}
    assert nights[2].options() == {"annotation_offset": -2.5}
    for night in nights:  # the scorer takes them as keywords (as `score --annotation-offset/--force-annotations`)
        inspect.signature(score_night).bind(night.edf, **night.options())


def test_manifest_bad_annotation_offset_or_force_annotations_is_refused_naming_the_row(tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_text("edf,annotation_offset\na.edf,30\nb.edf,half a minute\n")
    with pytest.raises(SomnomyoError, match="row 3: annotation_offset 'half a minute' must be a number of seconds"):
        read_manifest(m)
    m.write_text("edf,force_annotations\na.edf,true\nb.edf,maybe\n")
    with pytest.raises(SomnomyoError, match="row 3: force_annotations 'maybe' must be true or false"):
        read_manifest(m)


def test_manifest_without_edf_column_is_refused_with_one_line_error(tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_text("id,recording\nx,x.edf\n")
    with pytest.raises(SomnomyoError, match="missing column 'edf'") as info:
        read_manifest(m)
    assert "\n" not in str(info.value) and str(m) in str(info.value)


def test_manifest_empty_edf_cell_is_refused_naming_the_row(tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_text("id,edf\na,a.edf\nb,\n")
    with pytest.raises(SomnomyoError, match="row 3: empty 'edf'"):
        read_manifest(m)


@pytest.mark.parametrize(
    "bad_id", ["../x", "/abs", "a/b", "a\\b", "..", ".hidden", "nights.csv", "events.parquet", "x.tmp-12ab", "c:evil"]
)
def test_unsafe_ids_that_would_write_outside_the_output_folder_are_refused(tmp_path: Path, bad_id: str) -> None:
    m = tmp_path / "m.csv"
    m.write_text(f"id,edf\n{bad_id},a.edf\n")
    with pytest.raises(SomnomyoError) as info:
        read_manifest(m)
    msg = str(info.value)
    assert "\n" not in msg and str(m) in msg and "id" in msg


def test_safe_ids_just_inside_the_rules_are_accepted(tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_text("id,edf\nshhs1-200001,a.edf\nx.y_z,b.edf\nnights,c.edf\nP 01,d.edf\n")
    assert [n.id for n in read_manifest(m)] == ["shhs1-200001", "x.y_z", "nights", "P 01"]


def test_id_length_limit_200_characters_accepted_201_refused(tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_text(f"id,edf\n{'a' * 200},a.edf\n")
    assert len(read_manifest(m)[0].id) == 200
    m.write_text(f"id,edf\n{'a' * 201},a.edf\n")
    with pytest.raises(SomnomyoError, match="longer than 200"):
        read_manifest(m)


def test_duplicate_ids_are_refused_even_when_they_differ_only_in_case(tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_text("id,edf\nAB,a.edf\nab,b.edf\n")
    with pytest.raises(SomnomyoError, match="duplicate night id"):
        read_manifest(m)


def test_glob_input_gives_one_night_per_file_sorted_and_refuses_no_match(tmp_path: Path) -> None:
    make_fake_cohort(tmp_path / "d")
    (tmp_path / "d" / "notes.txt").write_text("x")
    nights = resolve_inputs(str(tmp_path / "d" / "*.edf"))
    assert [n.id for n in nights] == ["bad", "n1", "n2", "n3", "n4"]
    assert all(os.path.isabs(n.edf) for n in nights)
    assert [n.id for n in resolve_inputs(tmp_path / "d")] == ["bad", "n1", "n2", "n3", "n4"]
    with pytest.raises(SomnomyoError, match="no file matches"):
        resolve_inputs(str(tmp_path / "d" / "*.bdf"))


def test_glob_of_same_stem_in_two_folders_is_a_duplicate_id(tmp_path: Path) -> None:
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "night.edf").write_text("LMS 1")
    with pytest.raises(SomnomyoError, match="duplicate night id"):
        resolve_inputs(str(tmp_path / "*" / "night.edf"))


# ------------------------------------------------------------------------------ tables
def test_flatten_summary_gives_plm_indices_quality_by_role_and_skips_settings() -> None:
    flat = flatten_summary(FakeNight(4, "aasm").summary())
    assert flat["plm.plms_index"] == 2.0 and flat["plm.lm_index"] == 4.0 and flat["plm.plms_count"] == 2
    assert flat["quality.leg_left.fraction_scorable"] == 0.9
    assert flat["recording.gaps.n"] == 0
    assert flat["warnings"] == "no hypnogram found"
    assert not any(k.startswith(("settings", "somnomyo_version")) for k in flat)


# ------------------------------------------------------------------------------ one night
def test_score_one_failure_leaves_no_night_folder_and_no_temp_folder(tmp_path: Path) -> None:
    files = make_fake_cohort(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    res = score_one(Night(id="bad", edf=str(files[-1])), out, score_fn=FakeScorer(tmp_path / "log"), figures=False)
    assert res["row"]["status"] == "failed" and res["events_path"] is None
    assert "not an EDF file" in res["row"]["reason"]
    assert list(out.iterdir()) == []


def test_score_one_success_writes_outputs_and_done_marker_last(tmp_path: Path) -> None:
    files = make_fake_cohort(tmp_path / "in")
    out = tmp_path / "out"
    res = score_one(Night(id="n2", edf=str(files[1])), out, score_fn=FakeScorer(tmp_path / "log"), figures=False)
    assert res["row"]["status"] == "ok" and res["row"]["n_events"] == 5
    assert sorted(p.name for p in (out / "n2").iterdir()) == ["done.json", "events.tsv", "summary.json"]
    assert [p.name for p in out.iterdir()] == ["n2"]
    assert json.loads((out / "n2" / "done.json").read_text())["row"]["plm.plms_index"] == 2.5


# ------------------------------------------------------------------------------ the engine
def test_cohort_scores_every_night_and_records_a_corrupt_file_as_failed(tmp_path: Path, client: Any) -> None:
    make_fake_cohort(tmp_path / "in")
    scorer = FakeScorer(tmp_path / "log")
    res = run_cohort(
        str(tmp_path / "in" / "*.edf"), tmp_path / "out", client=client, score_fn=scorer, figures=False, progress=False
    )
    df = res.nights
    assert list(df["id"]) == ["bad", "n1", "n2", "n3", "n4"]
    assert list(df["status"]) == ["failed", "ok", "ok", "ok", "ok"]
    assert list(res.failed["id"]) == ["bad"]
    assert "not an EDF file (bad header)" in res.failed["reason"].iloc[0]
    assert df.set_index("id")["plm.plms_index"].drop("bad").tolist() == [1.5, 2.5, 0.0, 4.0]
    assert (df.columns[:4] == ["id", "status", "reason", "edf"]).all()
    for night in ("n1", "n2", "n3", "n4"):
        assert (tmp_path / "out" / night / "summary.json").is_file()
        assert (tmp_path / "out" / night / "done.json").is_file()
    assert not (tmp_path / "out" / "bad").exists()
    # the three tables agree
    pd.testing.assert_frame_equal(pd.read_parquet(res.nights_path), df)
    csv = pd.read_csv(res.csv_path)
    assert list(csv["id"]) == list(df["id"]) and list(csv.columns) == list(df.columns)
    ev = res.events()
    assert ev.columns[0] == "id"
    assert ev.groupby("id").size().to_dict() == {"n1": 3, "n2": 5, "n4": 8}
    assert str(ev["periodic"].dtype) == "boolean" and str(ev["imi_s"].dtype) == "float64"
    assert res.n_scored == 5 and res.n_skipped == 0


def test_unexpected_exception_becomes_a_failed_row_with_type_and_message(tmp_path: Path, client: Any) -> None:
    make_fake_cohort(tmp_path / "in")
    (tmp_path / "in" / "bug.edf").write_text("BUG")
    res = run_cohort(
        str(tmp_path / "in" / "*.edf"),
        tmp_path / "out",
        client=client,
        score_fn=FakeScorer(tmp_path / "log"),
        figures=False,
        progress=False,
    )
    reasons = res.failed.set_index("id")["reason"]
    assert reasons["bug"] == "ValueError: detector blew up"
    assert (res.nights["status"] == "ok").sum() == 4


def test_rerun_skips_done_nights_retries_failed_ones_and_gives_identical_tables(tmp_path: Path, client: Any) -> None:
    make_fake_cohort(tmp_path / "in")
    scorer = FakeScorer(tmp_path / "log")
    kw = dict(client=client, score_fn=scorer, figures=False, progress=False)
    first = run_cohort(str(tmp_path / "in" / "*.edf"), tmp_path / "out", **kw)
    csv1 = first.csv_path.read_bytes()
    ev1 = first.events()
    assert sorted(scorer.calls()) == ["bad", "n1", "n2", "n3", "n4"]
    second = run_cohort(str(tmp_path / "in" / "*.edf"), tmp_path / "out", **kw)
    assert sorted(scorer.calls()) == ["bad", "bad", "n1", "n2", "n3", "n4"]  # only the failed night again
    assert second.n_skipped == 4 and second.n_scored == 1
    assert identity(second.nights).equals(identity(first.nights))
    ok1, ok2 = (r.nights[r.nights["status"] == "ok"].reset_index(drop=True) for r in (first, second))
    pd.testing.assert_frame_equal(ok2, ok1)  # skipped nights keep even their stored timings
    pd.testing.assert_frame_equal(identity(pd.read_csv(second.csv_path)), identity(pd.read_csv(io.BytesIO(csv1))))
    pd.testing.assert_frame_equal(second.events(), ev1)


def test_overwrite_rescores_every_night(tmp_path: Path, client: Any) -> None:
    make_fake_cohort(tmp_path / "in")
    scorer = FakeScorer(tmp_path / "log")
    kw = dict(client=client, score_fn=scorer, figures=False, progress=False)
    first = run_cohort(str(tmp_path / "in" / "*.edf"), tmp_path / "out", **kw)
    again = run_cohort(str(tmp_path / "in" / "*.edf"), tmp_path / "out", overwrite=True, **kw)
    assert len(scorer.calls()) == 10 and again.n_skipped == 0
    pd.testing.assert_frame_equal(identity(again.nights), identity(first.nights))


def test_changed_standard_or_inputs_rescore_the_night(tmp_path: Path, client: Any) -> None:
    files = make_fake_cohort(tmp_path / "in")
    scorer = FakeScorer(tmp_path / "log")
    kw = dict(client=client, score_fn=scorer, figures=False, progress=False)
    nights = [Night(id="n1", edf=str(files[0]))]
    run_cohort(nights, tmp_path / "out", **kw)
    run_cohort(nights, tmp_path / "out", standard="aasm", **kw)
    run_cohort(
        [Night(id="n1", edf=str(files[0]), hypnogram=str(tmp_path / "h.txt"))], tmp_path / "out", standard="aasm", **kw
    )
    res = run_cohort(
        [Night(id="n1", edf=str(files[0]), hypnogram=str(tmp_path / "h.txt"))], tmp_path / "out", standard="aasm", **kw
    )
    assert scorer.calls() == ["n1", "n1", "n1"] and res.n_skipped == 1
    assert res.nights["standard"].tolist() == ["aasm"]


def test_manifest_age_reaches_the_scorer_and_a_changed_age_rescores(tmp_path: Path, client: Any) -> None:
    make_fake_cohort(tmp_path)
    m = tmp_path / "m.csv"
    m.write_text("id,edf,age,site\nx1,n1.edf,45y,A\nx2,n2.edf,,B\n")
    scorer = FakeScorer(tmp_path / "log")
    kw = dict(client=client, score_fn=scorer, figures=False, progress=False)
    res = run_cohort(m, tmp_path / "out", **kw)
    df = res.nights.set_index("id")
    assert df.loc["x1", "interpretation.age_given"] == "45y" and pd.isna(df.loc["x2", "interpretation.age_given"])
    assert df["site"].tolist() == ["A", "B"] and list(res.nights.columns[8:10]) == ["age", "site"]
    m.write_text("id,edf,age,site\nx1,n1.edf,46y,A\nx2,n2.edf,,C\n")  # site is not a scoring input
    again = run_cohort(m, tmp_path / "out", **kw)
    assert sorted(scorer.calls()) == ["n1", "n1", "n2"]  # only x1 (new age) again
    assert again.n_skipped == 1 and again.nights["site"].tolist() == ["A", "C"]


def test_manifest_channels_reach_the_scorer_and_win_role_by_role_over_cohort_wide_channels(
    tmp_path: Path, client: Any
) -> None:
    make_fake_cohort(tmp_path)
    m = tmp_path / "m.csv"
    pd.DataFrame(
        {"id": ["x1", "x2"], "edf": ["n1.edf", "n2.edf"], "channels": ['leg_left=Tib sin; leg_right="Tib, dx"', None]}
    ).to_csv(m, index=False)
    scorer = FakeScorer(tmp_path / "log")
    kw = dict(client=client, score_fn=scorer, figures=False, progress=False)
    run_cohort(m, tmp_path / "out", channels={"leg_left": "L1", "chin": ["Chin 1"]}, **kw)
    assert scorer.channels() == {
        "n1": {"leg_left": ["Tib sin"], "leg_right": ["Tib, dx"], "chin": ["Chin 1"]},  # the night's own win
        "n2": {"leg_left": ["L1"], "chin": ["Chin 1"]},
    }
    again = run_cohort(m, tmp_path / "out", channels={"leg_left": "L1", "chin": ["Chin 1"]}, **kw)
    assert again.n_skipped == 2 and sorted(scorer.calls()) == ["n1", "n2"]  # same overrides: done
    changed = run_cohort(m, tmp_path / "out", channels={"leg_left": "L2", "chin": ["Chin 1"]}, **kw)
    # x1's own leg_left wins, so its overrides did not change: only x2 is scored again
    assert changed.n_skipped == 1 and sorted(scorer.calls()) == ["n1", "n2", "n2"]
    assert scorer.channels()["n2"] == {"leg_left": ["L2"], "chin": ["Chin 1"]}


@pytest.mark.parametrize(
    "cell, problem",
    [
        ("legg=Tib sin", "unknown channel role 'legg'"),
        ("leg_left", "must look like ROLE=LABEL"),
        ("leg_left=", "empty channel label"),
    ],
)
def test_manifest_channels_cell_that_is_not_role_equals_label_is_refused_naming_the_row(
    tmp_path: Path, cell: str, problem: str
) -> None:
    make_fake_cohort(tmp_path)
    m = tmp_path / "m.csv"
    m.write_text(f"id,edf,channels\nx1,n1.edf,leg_right=R\nx2,n2.edf,{cell}\n")
    with pytest.raises(SomnomyoError) as err:
        read_manifest(m)
    assert "row 3: channels:" in str(err.value) and problem in str(err.value) and "\n" not in str(err.value)


def test_cli_cohort_bad_channel_option_is_one_line_with_exit_2(tmp_path: Path, capsys) -> None:
    make_fake_cohort(tmp_path / "in")
    code = main(
        ["cohort", str(tmp_path / "in" / "*.edf"), "--out", str(tmp_path / "out"), "--channel", "leftleg=X", "--quiet"]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "unknown channel role 'leftleg'" in err
    assert not (tmp_path / "out").exists()


def test_tables_are_refreshed_during_the_run(tmp_path: Path, client: Any) -> None:
    make_fake_cohort(tmp_path / "in")
    seen: list[int] = []

    def check(row: dict[str, Any]) -> None:
        seen.append(len(pd.read_parquet(tmp_path / "out" / "nights.parquet")))

    run_cohort(
        str(tmp_path / "in" / "*.edf"),
        tmp_path / "out",
        client=client,
        score_fn=FakeScorer(tmp_path / "log"),
        figures=False,
        progress=False,
        refresh_s=0,
        on_night=check,
    )
    assert seen == [1, 2, 3, 4, 5]


def test_interrupted_run_leaves_valid_tables_and_resumes_identical_to_an_uninterrupted_one(
    tmp_path: Path, client: Any
) -> None:
    make_fake_cohort(tmp_path / "in")
    pattern = str(tmp_path / "in" / "*.edf")
    full = run_cohort(
        pattern, tmp_path / "full", client=client, score_fn=FakeScorer(tmp_path / "log0"), figures=False, progress=False
    )
    count = {"n": 0}

    def ctrl_c_after_two(row: dict[str, Any]) -> None:
        count["n"] += 1
        if count["n"] == 2:
            raise KeyboardInterrupt

    scorer = FakeScorer(tmp_path / "log")
    kw = dict(client=client, score_fn=scorer, figures=False, progress=False)
    with pytest.raises(KeyboardInterrupt):
        run_cohort(pattern, tmp_path / "out", on_night=ctrl_c_after_two, **kw)
    partial = pd.read_parquet(tmp_path / "out" / "nights.parquet")
    assert len(partial) == 2  # valid file with the nights finished so far
    done_before = {p.name for p in (tmp_path / "out").iterdir() if (p / "done.json").is_file()}
    n_calls = len(scorer.calls())
    resumed = run_cohort(pattern, tmp_path / "out", **kw)
    assert resumed.n_skipped == len(done_before)
    assert not set(scorer.calls()[n_calls:]) & done_before  # done nights were not scored again
    pd.testing.assert_frame_equal(identity(resumed.nights), identity(full.nights))
    pd.testing.assert_frame_equal(resumed.events(), full.events())


def test_killed_run_redoes_missing_and_half_written_nights_and_removes_stale_temp_folders(
    tmp_path: Path, client: Any
) -> None:
    make_fake_cohort(tmp_path / "in")
    pattern = str(tmp_path / "in" / "*.edf")
    scorer = FakeScorer(tmp_path / "log")
    kw = dict(client=client, score_fn=scorer, figures=False, progress=False)
    first = run_cohort(pattern, tmp_path / "out", **kw)
    out = tmp_path / "out"
    shutil.rmtree(out / "n2")  # killed before n2 was renamed
    (out / "n3" / "done.json").unlink()  # a folder that does not look done
    stale = out / "n4.tmp-0123abcd"  # a killed worker's temp folder
    stale.mkdir()
    (stale / "events.tsv").write_text("half")
    (out / "nights.parquet").unlink()
    half_table = out / ".events.parquet.k2j4_x.tmp"  # a table write cut short
    half_table.write_text("half")
    n_calls = len(scorer.calls())
    resumed = run_cohort(pattern, tmp_path / "out", **kw)
    assert sorted(scorer.calls()[n_calls:]) == ["bad", "n2", "n3"]
    assert not stale.exists() and not half_table.exists()
    pd.testing.assert_frame_equal(identity(resumed.nights), identity(first.nights))
    pd.testing.assert_frame_equal(resumed.events(), first.events())


def test_bad_option_values_list_the_allowed_values(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'wasm2016', 'aasm'"):
        run_cohort([], tmp_path, standard="aasm2007")
    with pytest.raises(ValueError, match="positive int or -1"):
        run_cohort([], tmp_path, n_jobs=0)


def test_cli_cohort_refuses_an_unsafe_manifest_with_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    m = tmp_path / "m.csv"
    m.write_text("id,edf\n../escape,a.edf\n")
    assert main(["cohort", str(m), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("somnomyo: error:") and "\n" not in err and "../escape" in err
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------ end to end
def _simulated_cohort(folder: Path, seeds: list[int]) -> Path:
    """Simulated 10-min nights in sim<seed>/ plus a corrupt file, listed in a manifest (relative paths)."""
    try:
        from somnomyo.simulate import simulate_short
    except ImportError as err:
        pytest.skip(f"simulator not available yet ({err})")
    lines = ["id,edf,annotations,age"]
    for seed in seeds:
        paths = simulate_short(seed, minutes=10).write(folder / f"sim{seed}")
        rel = {k: Path(v).relative_to(folder).as_posix() for k, v in paths.items()}
        lines.append(f"night{seed},{rel['edf']},{rel.get('annotations', '')},{40 + seed}y")
    (folder / "corrupt.edf").write_bytes(b"0       this is not an EDF header" + bytes(300))
    lines.append("corrupt,corrupt.edf,,50y")
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n")
    return folder / "manifest.csv"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Port .* is already in use")
def test_local_cluster_end_to_end_simulated_nights_corrupt_file_rerun_and_cli(tmp_path: Path) -> None:
    for module in ("somnomyo.pipeline", "somnomyo.io.channels", "somnomyo.detect.leg_movements", "somnomyo.score.plm"):
        pytest.importorskip(module, reason=f"the per-night pipeline is not importable yet ({module})")
    from distributed import Client, LocalCluster

    manifest = _simulated_cohort(tmp_path / "data", [1, 2, 3, 4])
    out = tmp_path / "out"
    nights = [f"night{s}" for s in (1, 2, 3, 4)]
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        res = run_cohort(manifest, out, client=client, progress=False)
        df = res.nights.set_index("id")
        assert sorted(df.index) == ["corrupt"] + nights
        assert df.loc["corrupt", "status"] == "failed" and (df.loc[nights, "status"] == "ok").all()
        reason = df.loc["corrupt", "reason"]
        assert "corrupt.edf" in reason and "\n" not in reason
        assert df.loc[nights, "plm.lm_index"].notna().all()
        assert df.loc[nights, "age"].tolist() == ["41y", "42y", "43y", "44y"]  # manifest columns carried
        assert df["worker"].str.startswith("tcp://127.0.0.1").all()
        assert (df.loc[nights, "peak_rss_mib"] > 0).all()
        for night in nights:
            assert {"events.tsv", "events.json", "summary.json", "done.json"} <= {
                p.name for p in (out / night).iterdir()
            }
        ev = res.events()
        assert (
            ev.groupby("id").size().to_dict()
            == df.loc[nights, "n_events"][df.loc[nights, "n_events"] > 0].astype(int).to_dict()
        )
        # the same cohort through the command line, on the same cluster: done nights are skipped
        assert (
            main(["cohort", str(manifest), "--out", str(out), "--scheduler", cluster.scheduler_address, "--quiet"]) == 0
        )
        again = pd.read_parquet(out / "nights.parquet")
        pd.testing.assert_frame_equal(identity(again), identity(res.nights))
        ok = again["status"] == "ok"
        pd.testing.assert_frame_equal(again[ok].reset_index(drop=True), res.nights[ok].reset_index(drop=True))
