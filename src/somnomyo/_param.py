"""One way to declare a settings field with its source, and to check the fields whose type
lists the allowed values (``Literal[...]``); used by every settings dataclass."""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import field
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin

from somnomyo.errors import check_choice


def param(default: Any, source: str, *, unit: str = "", unconfirmed: bool = False) -> Any:
    """A dataclass field whose metadata names its ``source``, ``unit`` and whether the value is
    ``unconfirmed`` (its source could not be checked; marked [UNCONFIRMED] in docs/rules.md)."""
    return field(default=default, metadata={"source": source, "unit": unit, "unconfirmed": unconfirmed})


def _literal_values(tp: Any) -> tuple[Any, ...] | None:
    """The values of a ``Literal[...]`` type (with None added for ``Literal[...] | None``), else None."""
    if get_origin(tp) is Literal:
        return tuple(get_args(tp))
    if get_origin(tp) in (Union, types.UnionType):
        args = get_args(tp)
        for arg in args:
            values = _literal_values(arg)
            if values is not None:
                return values + ((None,) if type(None) in args else ())
    return None


@cache
def choice_fields(cls: type) -> tuple[tuple[str, tuple[Any, ...], bool], ...]:
    """``(name, allowed values, is_tuple)`` of each field of dataclass ``cls`` typed
    ``Literal[...]`` (``is_tuple=False``) or ``tuple[Literal[...], ...]`` (``is_tuple=True``)."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        values = _literal_values(tp)
        if values is not None:
            out.append((f.name, values, False))
        elif get_origin(tp) is tuple and get_args(tp):
            values = _literal_values(get_args(tp)[0])
            if values is not None:
                out.append((f.name, values, True))
    return tuple(out)


def check_choices(obj: object) -> None:
    """Raise ``ValueError`` listing the allowed values when a ``Literal``-typed field of the
    settings dataclass ``obj`` holds another value (call from ``__post_init__``)."""
    for name, allowed, is_tuple in choice_fields(type(obj)):  # type: ignore[arg-type]  # classes hash; mypy sees the unbound __hash__
        value = getattr(obj, name)
        for v in value if is_tuple else (value,):
            check_choice(name, v, allowed)
