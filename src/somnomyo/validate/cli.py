"""The ``somnomyo validate`` subcommand (registered by :func:`add_parser` from ``somnomyo.cli``)::

somnomyo validate results/ --reference night-expert.xml --out validation/
somnomyo validate results/ --reference reviewed/
somnomyo validate results/ --reference sim/truth.json
somnomyo validate --manifest nights.csv --out validation/      # columns: results, reference[, night, against]
somnomyo validate --reference a.xml --against b.xml --out inter/   # two scorers of one night
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from somnomyo.errors import SomnomyoError
from somnomyo.validate.settings import MATCH_METHODS, ValidateSettings

__all__ = ["add_parser", "cmd_validate", "text_summary", "demo_validation"]


def add_parser(sub: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Register ``validate`` on the subparsers ``sub`` (``common``: the shared -q/-v options)."""
    d = ValidateSettings()
    sp = sub.add_parser(
        "validate",
        parents=[common],
        help="agreement of somnomyo's scoring with a reference (an expert's, a review, the simulator's truth)",
    )
    sp.add_argument(
        "results", nargs="?", metavar="RESULTS", help="a folder written by `somnomyo score` (optional with --against)"
    )
    sp.add_argument(
        "--reference",
        metavar="REF",
        help="the reference: NSRR XML, EDF+ annotations, CSV/TSV, a results or reviewed folder, or "
        "the simulator's truth.json",
    )
    sp.add_argument(
        "--against",
        metavar="SCORING",
        help="compare this scoring (same formats) with --reference instead of somnomyo's "
        "(two-scorer mode; RESULTS then only gives the recording's stages and context)",
    )
    sp.add_argument(
        "--manifest",
        metavar="CSV",
        help="many nights: a CSV/TSV with columns results, reference (optional: night, against)",
    )
    sp.add_argument("--night", metavar="ID", help="night id in the outputs (default: the results folder name)")
    sp.add_argument(
        "--out",
        metavar="DIR",
        help="write agreement.tsv, pairs.tsv, indices.tsv, summary.json and validation.html here",
    )
    sp.add_argument(
        "--labels",
        metavar="FILE",
        help="label table (CSV/TSV: label, trial_type, side, periodic) added to the default spellings",
    )
    sp.add_argument(
        "--match",
        choices=MATCH_METHODS,
        default=d.match_method,
        help="matching rule: iou (temporal IoU >= --min-iou; default) or onset (onsets within --onset-tolerance)",
    )
    sp.add_argument(
        "--min-iou", type=float, default=d.min_iou, metavar="X", help=f"minimum IoU of a match (default {d.min_iou:g})"
    )
    sp.add_argument(
        "--onset-tolerance",
        type=float,
        default=d.onset_tolerance_s,
        metavar="S",
        help=f"largest onset difference of a match with --match onset, s (default {d.onset_tolerance_s:g})",
    )
    sp.add_argument(
        "--plms-threshold",
        type=float,
        default=d.plms_category_threshold,
        metavar="PER_H",
        help=f"PLMS index category threshold for kappa, /h (default {d.plms_category_threshold:g}, ICSD-3 adults)",
    )
    sp.add_argument("--no-html", dest="html", action="store_false", help="do not write validation.html")
    sp.set_defaults(func=cmd_validate)
    return sp


def _settings(args: argparse.Namespace) -> ValidateSettings:
    try:
        return ValidateSettings(
            match_method=args.match,
            min_iou=args.min_iou,
            onset_tolerance_s=args.onset_tolerance,
            plms_category_threshold=args.plms_threshold,
        )
    except ValueError as err:
        raise SomnomyoError(str(err)) from None


def _f(v: Any, digits: int = 2) -> str:
    return "n/a" if v is None else (f"{v:.{digits}f}" if isinstance(v, float) else str(v))


def text_summary(summary: dict[str, Any]) -> str:
    """The few lines ``validate`` prints: the rule, F1 per kind, index bias/ICC, unknown labels."""
    lines = [
        f"{summary['n_nights']} night(s); {summary['matching']['description']}",
        "event agreement (all nights):",
        f"  {'kind':<24}{'ref':>6}{'det':>6}{'TP':>6}{'FN':>6}{'FP':>6}{'prec':>7}{'recall':>7}{'F1':>7}",
    ]
    for kind, e in summary["events"].items():
        lines.append(
            f"  {kind:<24}{e['n_reference']:>6}{e['n_detected']:>6}{e['tp']:>6}{e['fn']:>6}{e['fp']:>6}"
            f"{_f(e['precision']):>7}{_f(e['recall']):>7}{_f(e['f1']):>7}"
        )
    lines.append("index agreement (detected - reference):")
    for name, e in summary["indices"].items():
        ci = e.get("icc_ci")
        cat = e.get("category")
        lines.append(
            f"  {name:<20} n {e['n_nights']:<3} bias {_f(e['bias'])}  LoA {_f(e['loa_low'])} to "
            f"{_f(e['loa_high'])}  ICC {_f(e['icc'])}"
            + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")
            + (f"  kappa(>= {cat['threshold']:g}/h) {_f(cat['kappa'])}" if cat else "")
        )
    if summary.get("unknown_labels"):
        lines.append(
            "unknown reference labels (not compared; add them with --labels FILE): "
            + ", ".join(f"{k!r} ({v})" for k, v in summary["unknown_labels"].items())
        )
    return "\n".join(lines)


def cmd_validate(args: argparse.Namespace) -> int:
    from somnomyo.validate.run import Validation, validate_manifest, validate_night

    settings = _settings(args)
    if args.manifest:
        if args.results or args.reference or args.against:
            raise SomnomyoError("--manifest lists the nights; give it without RESULTS, --reference or --against")
        v = validate_manifest(args.manifest, labels=args.labels, settings=settings)
    else:
        if not args.reference:
            raise SomnomyoError("give --reference REF (or --manifest CSV)")
        if not args.results and not args.against:
            raise SomnomyoError(
                "give the results folder to validate (somnomyo validate RESULTS --reference REF), "
                "or --against a second scoring"
            )
        night = validate_night(
            args.results, args.reference, against=args.against, night=args.night, labels=args.labels, settings=settings
        )
        v = Validation([night], settings=settings)
    summary = v.summary()
    if not args.quiet:
        print(text_summary(summary))  # notes and warnings went to stderr through the logger
    if args.out:
        paths = v.write(Path(args.out), html=args.html)
        if not args.quiet:
            print(f"outputs in {args.out}/")
            for k, p in paths.items():
                print(f"  {k:<15} {p}")
    return 0


def demo_validation(results: Path, truth: Path, out: Path) -> str:
    """``somnomyo demo``'s last step: validate the scored night against the simulator's truth,
    write the outputs to ``out`` and return the lines to print."""
    from somnomyo.validate.run import validate_night

    v = validate_night(results, truth)
    paths = v.write(out)
    lines = [
        f"\nvalidated against the simulator's truth (somnomyo validate {results} --reference {truth}):",
        "  " + text_summary(v.summary()).replace("\n", "\n  "),
        f"  validation outputs in {out}/",
    ]
    lines += [f"    {k:<13} {p}" for k, p in paths.items()]
    return "\n".join(lines)
