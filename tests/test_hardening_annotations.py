"""Hardening of the annotation readers: malformed NSRR XML / CSV / TSV / stage text, safe XML
parsing (entity bomb, external entities), and a scan of the source tree for unsafe calls.

Unusable files give one line naming the file (``AnnotationError``); through the CLI
(``somnomyo info REC --annotations FILE``, ``somnomyo score ... --out DIR``) exit code 2, no
traceback, nothing written. Usable ones give a warning and the data read.
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_clean_cli_error, run_cli

from somnomyo.errors import AnnotationError
from somnomyo.io.annotation_readers import read_annotations_file
from somnomyo.io.edf_write import write_edf
from somnomyo.io.recording import Signal

SRC = Path(__file__).resolve().parents[1] / "src" / "somnomyo"
REC_S = 120.0  # the recording used with every annotation file: 120 s, two leg channels


@pytest.fixture()
def recording(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    sigs = [Signal(lab, rng.normal(0, 10, int(REC_S) * 128), 128.0) for lab in ("Leg L", "Leg R")]
    folder = tmp_path / "rec"
    return write_edf(folder / "night.edf", sigs, physical_ranges={s.label: (-500.0, 500.0) for s in sigs})


def _scored(etype: str, concept: str, start: object, dur: object) -> str:
    return (
        f"<ScoredEvent><EventType>{etype}</EventType><EventConcept>{concept}</EventConcept>"
        f"<Start>{start}</Start><Duration>{dur}</Duration></ScoredEvent>"
    )


def _nsrr(*events: str, head: str = '<?xml version="1.0" encoding="UTF-8"?>\n') -> str:
    return (
        head
        + "<PSGAnnotation><EpochLength>30</EpochLength><ScoredEvents>"
        + "".join(events)
        + "</ScoredEvents></PSGAnnotation>"
    )


STAGES = [_scored("Stages|Stages", "Wake|0", 0, 60), _scored("Stages|Stages", "Stage 2 sleep|2", 60, 60)]
AROUSAL = _scored("Arousals|Arousals", "Arousal|Arousal ()", 40.5, 5)
BOMB = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>'
    + _nsrr(_scored("x", "&lol4;", 0, 1), head="")
)
XXE = '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + _nsrr(
    _scored("Arousals|Arousals", "&x;", 0, 1), head=""
)

# name -> (file name, content, words the one-line error must contain)
UNUSABLE: dict[str, tuple[str, str | bytes, tuple[str, ...]]] = {
    "nsrr_truncated": ("a.xml", _nsrr(*STAGES, AROUSAL)[:-40], ("malformed XML",)),
    "nsrr_not_closed": ("a.xml", "<PSGAnnotation><ScoredEvents><ScoredEvent>", ("malformed XML",)),
    "nsrr_bad_start": (
        "a.xml",
        _nsrr(_scored("Arousals|Arousals", "Arousal|Arousal ()", "12,5", 3)),
        ("ScoredEvent 1", "'12,5' is not a number"),
    ),
    "nsrr_infinite_duration": (
        "a.xml",
        _nsrr(_scored("Arousals|Arousals", "Arousal", 1, "inf")),
        ("Duration", "not a finite number"),
    ),
    "nsrr_unknown_encoding": (
        "a.xml",
        _nsrr(*STAGES, head='<?xml version="1.0" encoding="UT0-8"?>\n'),
        ("malformed XML", "encoding"),
    ),
    "nsrr_zero_epoch_length": (
        "a.xml",
        _nsrr(*STAGES).replace("<EpochLength>30", "<EpochLength>0"),
        ("EpochLength must be > 0",),
    ),
    "xml_entity_bomb": ("bomb.xml", BOMB, ("XML refused",)),
    "xml_external_entity": ("xxe.xml", XXE, ("XML refused",)),
    "xml_unknown_root": ("a.xml", "<Scoring><Event/></Scoring>", ("unsupported XML", "<Scoring>")),
    "csv_bad_onset": (
        "a.csv",
        "onset,duration,description\n0,30,Sleep stage W\n3O.5,1,Arousal\n",
        ("line 3", "onset", "'3O.5' is not a number"),
    ),
    "csv_bad_duration": ("a.csv", "onset,duration,description\n10,1..5,Arousal\n", ("line 2", "duration")),
    "csv_infinite_onset": ("a.csv", "onset,duration,description\ninf,1,Arousal\n", ("line 2", "'inf'")),
    "csv_missing_onset": ("a.csv", "onset,duration,description\n,1,Arousal\n", ("line 2", "onset")),
    "csv_comma_decimal": ("a.tsv", "onset\tduration\ttrial_type\n10,5\t1\tArousal\n", ("'10,5' is not a number",)),
    "csv_no_label_column": ("a.csv", "onset,duration,foo\n10,1,x\n", ("label column",)),
    "csv_duplicate_columns": ("a.csv", "onset,Onset,description\n30,30,Sleep stage 2\n", ("'onset'", "more than once")),
    "csv_empty": ("a.csv", "\n\n# only a comment\n", ("empty annotation table",)),
    "stage_text_garbage": ("hyp.txt", "W\nN2\nbanana\n", ("line 3", "'banana' is not a sleep stage")),
    "binary_text": ("hyp.txt", b"W\nN2\x00\x01\x02", ("unsupported annotation format",)),
    "all_after_end": (
        "a.csv",
        f"onset,duration,description\n{REC_S},1,Arousal\n{REC_S + 5},1,LM\n",
        ("does not fit the recording",),
    ),
}


def _make(folder: Path, case: str) -> Path:
    name, content, _ = UNUSABLE[case]
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


_cli = run_cli
_assert_clean_cli_error = assert_clean_cli_error


# ----------------------------------------------------------------------------- unusable files
@pytest.mark.parametrize("case", sorted(UNUSABLE))
def test_malformed_annotation_file_raises_one_line_error_naming_file(tmp_path: Path, case: str) -> None:
    path = _make(tmp_path, case)
    with pytest.raises(AnnotationError) as info:
        read_annotations_file(path, duration_s=REC_S)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(str(path)), msg
    for w in UNUSABLE[case][2]:
        assert w.lower() in msg.lower(), msg


@pytest.mark.parametrize("case", sorted(UNUSABLE))
def test_malformed_annotation_file_cli_exit_2_nothing_written(
    tmp_path: Path, recording: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    path = _make(tmp_path, case)
    rc, out, err = _cli(capsys, "info", str(recording), "--annotations", str(path))
    _assert_clean_cli_error(rc, err, path, *UNUSABLE[case][2])
    assert out == ""
    out_dir = tmp_path / "results"
    rc, out, err = _cli(capsys, "score", str(recording), "--annotations", str(path), "--out", str(out_dir))
    _assert_clean_cli_error(rc, err, path, *UNUSABLE[case][2])
    assert not out_dir.exists()
    assert "root:" not in out + err  # nothing of /etc/passwd leaks (XXE case)


def test_nsrr_hypnogram_given_with_hypnogram_option_fails_cleanly(
    tmp_path: Path, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _make(tmp_path, "nsrr_truncated")
    rc, _, err = _cli(capsys, "score", str(recording), "--hypnogram", str(path), "--out", str(tmp_path / "o"))
    _assert_clean_cli_error(rc, err, path, "malformed XML")
    assert not (tmp_path / "o").exists()


def test_missing_annotation_file_fails_cleanly(
    tmp_path: Path, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nope.xml"
    rc, _, err = _cli(capsys, "info", str(recording), "--annotations", str(path))
    _assert_clean_cli_error(rc, err, path, "not found")


# ----------------------------------------------------------------------------- usable with a warning
def test_nsrr_unknown_concept_becomes_marker_with_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "a.xml"
    path.write_text(
        _nsrr(
            *STAGES,
            AROUSAL,
            _scored("Weird|Weird", "Tooth grinding|Bruxism", 50, 2),
            _scored("Weird|Weird", "Tooth grinding|Bruxism", 70, 2),
        )
    )
    with caplog.at_level(logging.WARNING, logger="somnomyo"):
        ann = read_annotations_file(path, duration_s=REC_S)
    ev = ann.events
    markers = ev[ev["category"] == "marker"]
    assert list(markers["onset"]) == [50.0, 70.0] and set(markers["kind"]) == {"Tooth grinding"}
    assert ev.loc[ev["onset"] == 40.5, "kind"].item() == "arousal"  # known concept unaffected
    assert [w for w in ann.warnings if "unknown concept" in w] == [
        "2 event(s) with an unknown concept kept as markers: 'Tooth grinding|Bruxism'"
    ]
    assert any("unknown concept" in r.getMessage() for r in caplog.records)


def test_nsrr_known_concepts_only_give_no_unknown_concept_warning(tmp_path: Path) -> None:
    path = tmp_path / "a.xml"
    path.write_text(_nsrr(STAGES[0], AROUSAL, STAGES[1]))  # sorted by onset: no other warning either
    assert read_annotations_file(path, duration_s=REC_S).warnings == []


def test_nsrr_epochs_past_recording_end_dropped_with_warning(tmp_path: Path) -> None:
    """Recording of 120 s = 4 epochs; the hypnogram scores 6: the last 2 are dropped."""
    path = tmp_path / "a.xml"
    path.write_text(_nsrr(_scored("Stages|Stages", "Wake|0", 0, 60), _scored("Stages|Stages", "REM sleep|5", 60, 120)))
    ann = read_annotations_file(path, duration_s=REC_S)
    assert list(ann.hypnogram.stages) == ["W", "W", "R", "R"]
    assert any("2 stage epoch(s) start after the recording end" in w for w in ann.warnings)


def test_nsrr_epoch_starting_just_before_end_kept(tmp_path: Path) -> None:
    path = tmp_path / "a.xml"
    path.write_text(_nsrr(_scored("Stages|Stages", "Wake|0", 0, 120)))
    ann = read_annotations_file(path, duration_s=REC_S)
    assert list(ann.hypnogram.stages) == ["W"] * 4
    assert not any("after the recording end" in w for w in ann.warnings)


def test_nsrr_events_past_end_dropped_and_overrunning_clipped(tmp_path: Path) -> None:
    path = tmp_path / "a.xml"
    path.write_text(
        _nsrr(
            *STAGES,
            _scored("Arousals|Arousals", "Arousal|Arousal ()", 118, 5),
            _scored("Arousals|Arousals", "Arousal|Arousal ()", REC_S, 3),
        )
    )
    ann = read_annotations_file(path, duration_s=REC_S)
    assert ann.events["onset"].tolist() == [118.0]
    assert ann.events["duration"].tolist() == pytest.approx([2.0])
    assert any("1 event(s) start after the recording end" in w for w in ann.warnings)
    assert any("1 event(s) run past the recording end" in w and "clipped" in w for w in ann.warnings)


def test_nsrr_with_warnings_cli_info_exit_0_and_lists_warnings(
    tmp_path: Path, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "a.xml"
    path.write_text(_nsrr(_scored("Stages|Stages", "Wake|0", 0, 180), _scored("Weird|Weird", "Mystery|M", 10, 1)))
    rc, out, err = _cli(capsys, "info", str(recording), "--annotations", str(path))
    assert rc == 0, err
    assert "hypnogram: 4 epochs of 30 s" in out
    assert "warning: 2 stage epoch(s) start after the recording end" in out
    assert "unknown concept" in out and "Traceback" not in err


def test_csv_negative_duration_set_to_zero_with_warning(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("onset,duration,description\n10,-1,Arousal\n20,n/a,Arousal\n")
    ann = read_annotations_file(path, duration_s=REC_S)
    assert ann.events["duration"].tolist() == [0.0, 0.0]
    assert any("negative duration" in w for w in ann.warnings)


def test_csv_large_but_finite_onset_just_inside_recording_kept(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(f"onset,duration,description\n1e1,0,Arousal\n{REC_S - 1e-6},0,LM\n")
    assert read_annotations_file(path, duration_s=REC_S).events["onset"].tolist() == [10.0, REC_S - 1e-6]


# ----------------------------------------------------------------------------- safe parsing
def test_xml_entity_bomb_refused_before_expansion(tmp_path: Path) -> None:
    path = _make(tmp_path, "xml_entity_bomb")
    with pytest.raises(AnnotationError, match="XML refused"):
        read_annotations_file(path)


def test_xml_external_entity_not_resolved(tmp_path: Path) -> None:
    path = _make(tmp_path, "xml_external_entity")
    with pytest.raises(AnnotationError, match="XML refused") as info:
        read_annotations_file(path)
    assert "root:" not in str(info.value)


_UNSAFE_MODULE_CALLS = {
    ("pickle", "load"),
    ("pickle", "loads"),
    ("cPickle", "load"),
    ("cPickle", "loads"),
    ("dill", "load"),
    ("dill", "loads"),
    ("marshal", "load"),
    ("marshal", "loads"),
    ("shelve", "open"),
    ("joblib", "load"),
    ("pd", "read_pickle"),
    ("pandas", "read_pickle"),
}
_STD_XML = (
    "xml.etree.ElementTree",
    "xml.etree.cElementTree",
    "xml.dom.minidom",
    "xml.sax",
    "lxml.etree",
    "xml.dom.pulldom",
    "xml.etree",
)
_XML_PARSE = {"parse", "fromstring", "iterparse", "XML", "XMLParser", "parseString", "make_parser", "fromstringlist"}


def _unsafe_calls(source: str, name: str) -> list[str]:
    """Unsafe constructs in ``source``: eval/exec, pickle-like loads, yaml.load without a safe
    loader, np.load(allow_pickle=True), and standard-library XML parsing (defusedxml only)."""
    found = []
    xml_aliases: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            xml_aliases |= {a.asname or a.name for a in node.names if a.name.startswith(_STD_XML)}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(_STD_XML):
            xml_aliases |= {a.asname or a.name for a in node.names}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        where = f"{name}:{node.lineno}"
        kw = {k.arg: k.value for k in node.keywords}
        if isinstance(f, ast.Name) and f.id in ("eval", "exec", "__import__"):
            found.append(f"{where}: {f.id}()")
        if isinstance(f, ast.Name) and f.id in xml_aliases and f.id in _XML_PARSE:
            found.append(f"{where}: standard-library XML {f.id}()")
        if isinstance(f, ast.Attribute):
            base = ast.unparse(f.value)
            if (base.split(".")[-1], f.attr) in _UNSAFE_MODULE_CALLS:
                found.append(f"{where}: {base}.{f.attr}()")
            if f.attr == "load" and base == "yaml":
                loader = ast.unparse(kw["Loader"]) if "Loader" in kw else ""
                if "Safe" not in loader:
                    found.append(f"{where}: yaml.load() without SafeLoader")
            if f.attr == "load" and base in ("np", "numpy") and "allow_pickle" in kw:
                if not (isinstance(kw["allow_pickle"], ast.Constant) and kw["allow_pickle"].value is False):
                    found.append(f"{where}: np.load(allow_pickle=...)")
            if base in xml_aliases and f.attr in _XML_PARSE:
                found.append(f"{where}: standard-library XML {base}.{f.attr}()")
    return found


def test_source_tree_has_no_eval_pickle_unsafe_yaml_or_stdlib_xml_parsing() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 10
    problems = [p for f in files for p in _unsafe_calls(f.read_text(encoding="utf-8"), str(f.relative_to(SRC)))]
    assert problems == []
    text = "\n".join(f.read_text(encoding="utf-8") for f in files)  # the plain grep, belt and braces
    for needle in ("eval(", "pickle.load", "yaml.load(", "yaml.unsafe_load", "allow_pickle=True"):
        assert needle not in text.replace("literal_eval(", ""), needle


@pytest.mark.parametrize(
    "snippet",
    [
        "x = eval(s)",
        "exec(code)",
        "import pickle\npickle.loads(b)",
        "import yaml\nyaml.load(t)",
        "import yaml\nyaml.load(t, Loader=yaml.Loader)",
        "import numpy as np\nnp.load(p, allow_pickle=True)",
        "import xml.etree.ElementTree as ET\nET.parse(p)",
        "from xml.etree.ElementTree import fromstring\nfromstring(b)",
        "import pandas as pd\npd.read_pickle(p)",
    ],
)
def test_unsafe_call_scanner_flags_each_unsafe_construct(snippet: str) -> None:
    assert len(_unsafe_calls(snippet, "snippet")) == 1


@pytest.mark.parametrize(
    "snippet",
    [
        "import yaml\nyaml.load(t, Loader=yaml.SafeLoader)",
        "import defusedxml.ElementTree as ET\nET.fromstring(b)",
        "import xml.etree.ElementTree as StdET\nraise StdET.ParseError('x')",
        "import numpy as np\nnp.load(p)",
        "import ast\nast.literal_eval(s)",
    ],
)
def test_unsafe_call_scanner_passes_safe_constructs(snippet: str) -> None:
    assert _unsafe_calls(snippet, "snippet") == []
