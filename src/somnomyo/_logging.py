"""The package logger (MNE style: one named logger, no ``logging.basicConfig``)."""
from __future__ import annotations

import logging

logger = logging.getLogger("somnomyo")
logger.addHandler(logging.NullHandler())

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR, "critical": logging.CRITICAL}


def set_log_level(verbose: bool | str | int | None = None) -> int:
    """Set the somnomyo logger's level and return the previous one.

    ``verbose`` may be ``True`` (INFO), ``False`` (WARNING), ``None`` (leave as is),
    an int level, or one of ``"debug"``, ``"info"``, ``"warning"``, ``"error"``, ``"critical"``.
    """
    old = logger.level
    if verbose is None:
        return old
    if isinstance(verbose, bool):
        level = logging.INFO if verbose else logging.WARNING
    elif isinstance(verbose, int):
        level = verbose
    elif isinstance(verbose, str) and verbose.lower() in _LEVELS:
        level = _LEVELS[verbose.lower()]
    else:
        raise ValueError(f"verbose must be a bool, an int or one of {sorted(_LEVELS)}, got {verbose!r}")
    logger.setLevel(level)
    return old
