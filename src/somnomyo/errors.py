"""User-facing errors.

Every problem with the user's input is raised as :class:`SomnomyoError` (or a
subclass): its ``str`` is one line naming the file and the problem. The CLI
prints that line and exits with code 2, without a traceback.
"""

from __future__ import annotations

from os import PathLike


class SomnomyoError(Exception):
    """An input problem the user can fix. ``str(err)`` is ``"<path>: <problem>"``."""

    exit_code = 2

    def __init__(self, problem: str, path: str | PathLike[str] | None = None) -> None:
        self.problem = " ".join(str(problem).split())  # always one line
        self.path = None if path is None else str(path)
        super().__init__(self.problem if self.path is None else f"{self.path}: {self.problem}")


class RecordingError(SomnomyoError):
    """The recording file is missing, unreadable or malformed."""


class AnnotationError(SomnomyoError):
    """An annotation/hypnogram file is unreadable or does not fit the recording."""


class ChannelError(SomnomyoError):
    """A channel role the job needs is missing or ambiguous."""


def check_choice(name: str, value: str, allowed: tuple[str, ...] | list[str]) -> str:
    """Return ``value`` if allowed, else raise ``ValueError`` listing the allowed values."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value
