"""Helpers for tests that run the ``somnomyo`` command in-process and check its one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from somnomyo.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``somnomyo ARGV``; return (exit code, stdout, stderr)."""
    rc = main(list(argv))
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def assert_clean_cli_error(rc: int, err: str, path: Path, *words: str) -> None:
    """Exit code 2 and exactly one ``somnomyo: error:`` line, last, naming ``path`` (and ``words``);
    no traceback, no internal error."""
    lines = err.strip().splitlines()
    assert rc == 2, err
    assert "Traceback" not in err and "internal error" not in err
    errors = [ln for ln in lines if ln.startswith("somnomyo: error:")]
    assert len(errors) == 1 and errors[0] == lines[-1], err
    assert str(path) in errors[0]
    for w in words:
        assert w.lower() in errors[0].lower(), errors[0]
