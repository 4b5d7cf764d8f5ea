"""The package logger (MNE style: one named logger, no ``logging.basicConfig``) and the
:func:`verbose` decorator (MNE's ``@verbose``): a function's ``verbose`` option sets the level
for that call only."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

logger = logging.getLogger("somnomyo")
logger.addHandler(logging.NullHandler())

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


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


def verbose(func: F) -> F:
    """Decorator: the ``verbose`` argument of ``func`` (see :func:`set_log_level`) sets the
    somnomyo logger's level while ``func`` runs; the previous level is restored afterwards, also
    when ``func`` raises (MNE's ``@verbose``). ``func`` must take a ``verbose`` parameter."""
    params = list(inspect.signature(func).parameters.values())
    names = [p.name for p in params]
    if "verbose" not in names:
        raise TypeError(f"@verbose needs a 'verbose' parameter; {func.__qualname__} has none")
    param = params[names.index("verbose")]
    position = names.index("verbose") if param.kind is param.POSITIONAL_OR_KEYWORD else None
    default = None if param.default is param.empty else param.default

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if "verbose" in kwargs:
            level = kwargs["verbose"]
        elif position is not None and position < len(args):
            level = args[position]
        else:
            level = default
        old = set_log_level(level)
        try:
            return func(*args, **kwargs)
        finally:
            set_log_level(old)

    return wrapper  # type: ignore[return-value]
