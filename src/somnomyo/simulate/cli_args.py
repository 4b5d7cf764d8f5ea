"""``somnomyo simulate`` options for the realism conditions (texture, ECG leak, heart rate, baseline).

:func:`add_arguments` registers them on the ``simulate`` subparser and
:func:`option_changes` turns parsed arguments into :class:`SimOptions` field changes;
the help of each option states its default, read from :class:`SimOptions` itself.
"""

from __future__ import annotations

import argparse
from typing import Any

from somnomyo.errors import SomnomyoError
from somnomyo.simulate.options import LEAK_CHANNELS, STAGE_NAMES, TEXTURES, SimOptions

_DEFAULTS = SimOptions()


def _fmt(v: Any) -> str:
    return " ".join(f"{x:g}" for x in v) if isinstance(v, tuple) else f"{v:g}" if isinstance(v, float) else str(v)


def add_arguments(sp: argparse.ArgumentParser) -> None:
    """Register the realism options on the ``simulate`` subparser."""
    d = _DEFAULTS
    g = sp.add_argument_group("realism conditions")
    g.add_argument(
        "--emg-texture",
        choices=TEXTURES,
        default=None,
        help="EMG background and burst texture: 'synthetic' (band-limited Gaussian noise) or 'biosppy' "
        "(spectrum and amplitude distribution fitted to real surface EMG) "
        f"(default {d.emg_texture})",
    )
    g.add_argument(
        "--ecg-leak",
        type=float,
        default=None,
        metavar="UV",
        help="peak of the ECG QRS leak into the leg EMG, µV; chin and arms get fixed scales "
        f"(0: no leak; default {_fmt(d.ecg_artifact_uv)})",
    )
    g.add_argument(
        "--ecg-leak-channel",
        action="append",
        default=None,
        metavar="LABEL=UV",
        help="QRS leak peak of one EMG channel, µV, sign = polarity, overriding --ecg-leak for it "
        f"(repeatable; labels: {', '.join(LEAK_CHANNELS)}; default none)",
    )
    g.add_argument(
        "--no-ecg-channel",
        action="store_true",
        help="leave out the 'ECG II' channel (the heart still leaks into the EMG; default: recorded)",
    )
    g.add_argument(
        "--hr-bpm",
        type=float,
        nargs=2,
        default=None,
        metavar=("LOW", "HIGH"),
        help="range of the night's mean heart rate, bpm, within 40-180 "
        f"(default {_fmt(d.hr_bpm)} for adults, {_fmt(d.infant_hr_bpm)} with --infant)",
    )
    g.add_argument(
        "--baseline-fluctuation",
        type=float,
        default=None,
        metavar="SD",
        help="slow variation of the EMG background level, standard deviation of its natural log "
        f"(0: steady; default {_fmt(d.baseline_fluctuation)})",
    )
    g.add_argument(
        "--baseline-fluctuation-s",
        type=float,
        default=None,
        metavar="S",
        help=f"correlation time of that variation, s (default {_fmt(d.baseline_fluctuation_s)})",
    )
    g.add_argument(
        "--baseline-fluctuation-stages",
        default=None,
        metavar="STAGES",
        help="comma-separated stages in which the background level varies "
        f"(default {','.join(d.baseline_fluctuation_stages)})",
    )


def _leak_pairs(items: list[str]) -> tuple[tuple[str, float], ...]:
    out = []
    for item in items:
        label, sep, value = item.partition("=")
        try:
            uv = float(value)
        except ValueError:
            uv = None
        if not sep or uv is None or label.strip() not in LEAK_CHANNELS:
            raise SomnomyoError(
                f"--ecg-leak-channel: expected LABEL=UV with a label from {', '.join(LEAK_CHANNELS)}; got {item!r}"
            )
        out.append((label.strip(), uv))
    return tuple(out)


def option_changes(args: argparse.Namespace, *, infant: bool) -> dict[str, Any]:
    """The :class:`SimOptions` fields the parsed realism options change (only those given)."""
    kw: dict[str, Any] = {}
    if args.emg_texture is not None:
        kw["emg_texture"] = args.emg_texture
    if args.ecg_leak is not None:
        kw["ecg_artifact_uv"] = args.ecg_leak
    if args.ecg_leak_channel:
        kw["ecg_leak_uv"] = _leak_pairs(args.ecg_leak_channel)
    if args.no_ecg_channel:
        kw["ecg_channel"] = False
    if args.hr_bpm is not None:
        kw["infant_hr_bpm" if infant else "hr_bpm"] = tuple(args.hr_bpm)
    if args.baseline_fluctuation is not None:
        kw["baseline_fluctuation"] = args.baseline_fluctuation
    if args.baseline_fluctuation_s is not None:
        kw["baseline_fluctuation_s"] = args.baseline_fluctuation_s
    if args.baseline_fluctuation_stages is not None:
        stages = tuple(s.strip() for s in args.baseline_fluctuation_stages.split(",") if s.strip())
        bad = [s for s in stages if s not in STAGE_NAMES]
        if bad or not stages:
            raise SomnomyoError(
                f"--baseline-fluctuation-stages: stages must come from {', '.join(STAGE_NAMES)}; "
                f"got {args.baseline_fluctuation_stages!r}"
            )
        kw["baseline_fluctuation_stages"] = stages
    return kw


def build_options(changes: dict[str, Any]) -> SimOptions:
    """``SimOptions(**changes)`` with a bad value reported as one line (:class:`SomnomyoError`)."""
    try:
        return SimOptions(**changes)
    except ValueError as err:
        raise SomnomyoError(f"simulate: {err}") from None
