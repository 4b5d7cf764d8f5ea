"""The CLI as a new user meets it: progress on stderr without -v (a bar on a
terminal, a line per step otherwise), -q/-v before or after the subcommand alike, ``info`` marks
the channels ``score`` sets aside, errors in words (no bytes repr), each warning said once, and
``simulate``/``demo``/``--age`` help that gives defaults and says what the age changes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_clean_cli_error, run_cli

from somnomyo.cli import _Steps, build_parser
from somnomyo.io.edf_write import write_edf
from somnomyo.io.recording import Signal
from somnomyo.settings import get_settings
from somnomyo.simulate import simulate_short


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli")
    files = simulate_short(seed=2, minutes=10).write(out / "sim")
    # a hypnogram running past the end of the recording: one warning, to be said once
    (out / "long-hypnogram.txt").write_text("\n".join(["W"] * 4 + ["N2"] * 40) + "\n")
    return Path(files["edf"])


# ----------------------------------------------------------------------------- item 6
@pytest.mark.parametrize("argv", [["-q", "score"], ["score", "-q"]])
def test_quiet_before_or_after_the_subcommand_is_the_same(argv: list[str]) -> None:
    a = build_parser().parse_args([*argv, "x.edf", "--out", "o"])
    assert a.quiet is True and a.verbose == 0


@pytest.mark.parametrize("argv", [["-v", "score"], ["score", "-v"]])
def test_verbose_before_or_after_the_subcommand_is_the_same(argv: list[str]) -> None:
    a = build_parser().parse_args([*argv, "x.edf", "--out", "o"])
    assert a.quiet is False and a.verbose == 1


def test_without_v_a_pipe_gets_one_progress_line_per_step_and_q_silences_it(
    night: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = run_cli(capsys, "score", str(night), "--out", str(tmp_path / "a"), "--no-report")
    assert rc == 0
    steps = [ln for ln in err.splitlines() if ln.startswith("somnomyo: scoring: ")]
    assert len(steps) >= 5 and steps[0].startswith("somnomyo: scoring: reading header (")
    assert steps[-1].startswith("somnomyo: scoring: writing outputs (")
    assert "PLMS index" in out
    for argv in (["-q", "score"], ["score", "-q"]):
        rc, out, err = run_cli(capsys, *argv, str(night), "--out", str(tmp_path / "q"), "--no-report", "--overwrite")
        assert rc == 0 and out == "" and err == "", (argv, out, err)


def test_on_a_terminal_the_steps_are_a_bar_not_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    s = _Steps(3, quiet=False, desc="scoring")
    assert s.bar.disable is False and s.lines is False
    s.close()
    assert _Steps(3, quiet=True, desc="scoring").bar.disable is True
    assert _Steps(3, quiet=False, desc="scoring", verbose=1).bar.disable is True  # -v: the log says each step


# ----------------------------------------------------------------------------- item 7
def test_info_marks_a_channel_that_score_sets_aside(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "slow-chin.edf"
    write_edf(
        path,
        [
            Signal("EEG C3-M2", np.zeros(60 * 100), 100.0, unit="uV"),
            Signal("EMG submental", np.zeros(60), 1.0, unit="uV"),  # a 1-Hz envelope, as in Sleep-EDF
            Signal("Leg L", np.zeros(60 * 256), 256.0, unit="uV"),
        ],
        record_duration=1.0,
    )
    rc, out, _ = run_cli(capsys, "info", str(path))
    assert rc == 0
    row = next(ln for ln in out.splitlines() if ln.strip().startswith("EMG submental"))
    assert "set aside by score: 1 Hz is too slow for EMG" in row and "chin" in row
    chin = next(ln for ln in out.splitlines() if ln.strip().startswith("chin "))
    assert "(none)" in chin  # the roles listing agrees with what score uses
    leg = next(ln for ln in out.splitlines() if ln.strip().startswith("Leg L"))
    assert "set aside" not in leg


def test_a_non_edf_file_is_reported_in_words_not_as_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.edf"
    path.write_bytes(b"xxxxxxxx" + b" " * 300)
    rc, _, err = run_cli(capsys, "info", str(path))
    assert_clean_cli_error(rc, err, path, 'reads "xxxxxxxx"', "version field")
    assert "b'" not in err and "\\x" not in err


def test_each_warning_is_said_once_on_stderr_only(
    night: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hyp = night.parent.parent / "long-hypnogram.txt"
    rc, out, err = run_cli(
        capsys, "score", str(night), "--out", str(tmp_path / "w"), "--no-report", "--hypnogram", str(hyp)
    )
    assert rc == 0
    said = [ln for ln in (out + err).splitlines() if "after the recording end" in ln]
    assert len(said) == 1 and said[0] in err.splitlines(), said


# ----------------------------------------------------------------------------- item 8
def _options(command: str) -> list[argparse.Action]:
    p = build_parser()
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    return [a for a in sub.choices[command]._actions if a.option_strings and a.dest not in ("help", "quiet", "verbose")]


@pytest.mark.parametrize("command", ["simulate", "demo"])
def test_simulate_and_demo_options_have_help_with_their_defaults(command: str) -> None:
    for a in _options(command):
        assert a.help, a.option_strings
        if not a.required:
            assert "default" in a.help, (command, a.option_strings, a.help)


def test_age_help_says_all_it_changes_with_the_settings_numbers() -> None:
    age = next(a for a in _options("score") if a.dest == "age")
    text = " ".join(age.help.split())
    c, i = get_settings().conditioning, get_settings().interpret
    assert "reference ranges" in text and f"> {i.plms_adult_index:g}/h adults" in text
    assert "heart-rate band" in text and "ECG" in text
    assert f"adult {60 / c.ecg_self_rr_max_s:.0f}-{60 / c.ecg_self_rr_min_s:.0f} bpm" in text
    lo, hi = c.ecg_self_rr_infant_s
    assert f"infant {60 / hi:.0f}-{60 / lo:.0f} bpm" in text
