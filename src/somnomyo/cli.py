"""The ``somnomyo`` command: info, simulate, score, cohort, demo.

Input problems print one line (``somnomyo: error: FILE: problem``) and exit 2,
without a traceback and without leaving partial outputs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from somnomyo import __version__
from somnomyo._logging import logger
from somnomyo.errors import SomnomyoError
from somnomyo.settings import STANDARDS

EXIT_INPUT = 2


class _Steps:
    """Progress over the named steps of a long job, on stderr without -v: a tqdm bar when stderr is
    a terminal, else one line per step (``somnomyo: scoring: reading header (0.1 s)``, for logs and
    pipes); with -v the log says each step instead; silent with --quiet.

    The lines wait until the job has run ``LINES_AFTER_S`` (then the ones held back come first) or
    has succeeded: an input refused in its first second ends with its one error line alone."""

    LINES_AFTER_S = 1.0

    def __init__(self, total: int, *, quiet: bool, desc: str, verbose: int = 0) -> None:
        from tqdm import tqdm

        tty = sys.stderr.isatty()
        self.bar = tqdm(
            total=total,
            desc=desc,
            disable=quiet or verbose > 0 or not tty,
            leave=False,
            bar_format="{desc}: {n}/{total} {bar} {elapsed}<{remaining} {postfix}",
        )
        self.lines = not (quiet or verbose > 0 or tty)
        self.desc = desc
        self.quiet = quiet
        self.t0 = time.perf_counter()
        self.held: list[str] = []

    def __call__(self, msg: str) -> None:
        if self.bar.n < self.bar.total:
            self.bar.update(1)
        self.bar.set_postfix_str(msg)
        elapsed = time.perf_counter() - self.t0
        if self.lines:
            self.held.append(f"somnomyo: {self.desc}: {msg} ({elapsed:.1f} s)")
            if elapsed >= self.LINES_AFTER_S:
                self._flush()
        logger.info("%s (%.1f s)", msg, elapsed)

    def _flush(self) -> None:
        for line in self.held:
            print(line, file=sys.stderr, flush=True)
        self.held.clear()

    def close(self, *, ok: bool = True) -> None:
        if ok:
            self._flush()
        self.held.clear()
        self.bar.close()


class _RememberingHandler(logging.StreamHandler):
    """A stderr handler that keeps the messages it printed (so the summary does not repeat them)."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage())
        super().emit(record)


def _not_logged(args: argparse.Namespace, warnings: Sequence[str]) -> list[str]:
    """The warnings not already printed by the log handler (each is said once)."""
    seen = getattr(args, "_logged", [])
    return [w for w in dict.fromkeys(warnings) if not any(w in m for m in seen)]


def _setup_logging(args: argparse.Namespace) -> Callable[[], None]:
    """Log to stderr at the level the options ask for; returns the function that undoes it (the
    handler removed, the level restored), so that ``main`` leaves the package logger as it found it
    when called from a long-lived process (a notebook, a test run)."""
    old_level = logger.level
    handler = _RememberingHandler(sys.stderr)
    args._logged = handler.seen
    handler.setFormatter(logging.Formatter("somnomyo: %(levelname)s: %(message)s"))
    for h in list(logger.handlers):
        if isinstance(h, logging.StreamHandler) and getattr(h, "_somnomyo_cli", False):
            logger.removeHandler(h)
    handler._somnomyo_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    if args.verbose:
        logger.setLevel(logging.DEBUG if args.verbose > 1 else logging.INFO)
    elif args.quiet:
        logger.setLevel(logging.ERROR)
    else:
        logger.setLevel(logging.WARNING)

    def undo() -> None:
        logger.removeHandler(handler)
        logger.setLevel(old_level)

    return undo


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(text)


def _channel_overrides(items: Sequence[str] | None) -> dict[str, list[str]] | None:
    if not items:
        return None
    from somnomyo.io.channels import parse_overrides

    try:
        return parse_overrides(items)
    except ValueError as err:
        raise SomnomyoError(f"--channel: {err}") from None


# ----------------------------------------------------------------------------- info
def cmd_info(args: argparse.Namespace) -> int:
    from somnomyo.io.channels import infer_roles
    from somnomyo.io.edf import read_annotations, read_edf, read_header
    from somnomyo.pipeline import _set_aside_slow_emg, load_annotations
    from somnomyo.settings import get_settings

    path = Path(args.recording)
    rec = read_header(path)
    roles = infer_roles(rec.labels, overrides=_channel_overrides(args.channel))
    # the channels `score` sets aside (an EMG role sampled too slowly for EMG, e.g. a 1-Hz envelope)
    slow = _set_aside_slow_emg(rec, roles, settings=get_settings()) if rec.channels else {}
    if rec.file_type.startswith(("EDF+", "BDF+")):
        # annotations and EDF+D gaps, without decoding any signal
        rec = read_edf(path, channels=[], annotations=True) if rec.channels else rec
        if not rec.channels:
            rec.annotations = read_annotations(path)
    ann = load_annotations(
        path,
        rec,
        annotations=args.annotations,
        hypnogram=args.hypnogram,
        offset_s=args.annotation_offset,
        force=args.force_annotations,
    )
    h, m = divmod(rec.duration / 60.0, 60)
    lines = [
        f"{path}",
        f"  type       {rec.file_type}",
        f"  start      {rec.start.isoformat(sep=' ') if rec.start else 'unknown'}",
        f"  duration   {rec.duration:.1f} s ({int(h)} h {m:04.1f} min)"
        if rec.channels
        else "  duration   none: an annotations-only file (no signals)",
    ]
    if rec.gaps:
        lines.append(f"  gaps       {len(rec.gaps)} (EDF+D), {sum(g[1] for g in rec.gaps):.1f} s in all")
    lines.append(f"  channels   {len(rec.channels)}")
    width = max([len(c.label) for c in rec.channels] + [5])
    for c in rec.channels:
        role = roles.role_of.get(c.label, "other")
        flag = " (set by --channel)" if c.label in roles.overridden else ""
        if c.label in slow:
            was, fs = slow[c.label]
            flag += f" (looks like {was}; set aside by score: {fs:g} Hz is too slow for EMG)"
        lines.append(f"    {c.label:<{width}}  {c.fs:8.2f} Hz  {c.unit or '-':<6}  {role}{flag}")
    lines.append("  roles")
    lines += ["    " + ln for ln in roles.describe().splitlines()]
    lines.append("  annotations")
    if ann.sources:
        lines += [f"    from {s}" for s in ann.sources]
    else:
        lines.append("    none found (give --annotations FILE)")
    counts = ann.counts()
    lines.append("    " + ", ".join(f"{k} {v}" for k, v in counts.items() if not k.startswith("stage_")))
    if ann.hypnogram is not None:
        hc = ann.hypnogram.counts()
        lines.append(
            f"    hypnogram: {ann.hypnogram.n_epochs} epochs of {ann.hypnogram.epoch_s:g} s: "
            + ", ".join(f"{k} {v}" for k, v in hc.items())
        )
    else:
        lines.append("    hypnogram: none")
    for w in dict.fromkeys(ann.warnings):  # the listing is the command's output: every warning, once
        lines.append(f"    warning: {w}")
    print("\n".join(lines))
    return 0


# ----------------------------------------------------------------------------- simulate
def cmd_simulate(args: argparse.Namespace) -> int:
    from somnomyo.simulate import simulate_night
    from somnomyo.simulate.cli_args import build_options, option_changes

    kw: dict[str, Any] = {}
    if args.infant:
        kw["population"] = "infant"
    if args.mains is not None:
        kw["mains_hz"] = None if args.mains == 0 else float(args.mains)
    kw.update(option_changes(args, infant=args.infant))
    opts = build_options(kw)
    night = simulate_night(seed=args.seed, hours=args.hours, fs=args.fs, options=opts)
    paths = night.write(args.out)
    _say(args, f"simulated {args.hours:g} h night (seed {args.seed}, {args.fs:g} Hz) written to {args.out}/")
    for k, p in paths.items():
        _say(args, f"  {k:<12} {p}")
    return 0


# ----------------------------------------------------------------------------- score
def _detectors(text: str | None) -> tuple[str, ...]:
    """The detector families named by ``--detectors`` (all of the registry's when not given)."""
    from somnomyo.registry import FAMILIES  # imported here: the registry imports pandas

    if not text:
        return FAMILIES
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    bad = [n for n in names if n not in FAMILIES]
    if bad or not names:
        raise SomnomyoError(
            f"--detectors: unknown {', '.join(map(repr, bad)) or 'empty list'}; allowed: {', '.join(FAMILIES)}"
        )
    return names


def _write_outputs(
    night: Any,
    out: Path,
    *,
    pdf: bool = False,
    report: bool = True,
    overwrite: bool = False,
    command: Sequence[str] | None = None,
    plan: Any = None,
) -> dict[str, Path]:
    """Write every output of a night as one results folder (:mod:`somnomyo.io.results_folder`):
    the night's files and the report/exports are built in one temporary folder, the manifest
    is written last and the folder is swapped in as ``out`` in one step."""

    def write_report_into(target: Path) -> dict[str, Path]:
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:
            logger.warning(
                "report, figures and exports skipped: they need the 'plot' extra (pip install 'somnomyo[plot]')"
            )
            return {}
        from somnomyo.report import write_report

        return dict(write_report(night, target, pdf=pdf))

    return night.write(
        out, overwrite=overwrite, command=command, plan=plan, extra=write_report_into if report else None
    )


def _check_out(args: argparse.Namespace, recording: Path, out: Path) -> Any:
    """Check the recording's header and the ``--out`` folder before any work (the first second):
    a file, an unwritable place, another recording's results are refused with one line."""
    from somnomyo.io.edf import read_header
    from somnomyo.io.results_folder import prepare_out

    read_header(recording)  # a missing, non-regular or malformed recording is said first
    inputs = [p for p in (getattr(args, "annotations", None), getattr(args, "hypnogram", None)) if p]
    return prepare_out(out, recording=recording, inputs=inputs, overwrite=getattr(args, "overwrite", False))


def _score(args: argparse.Namespace, recording: Path, out: Path) -> dict[str, Path]:
    from somnomyo.pipeline import score_night

    detectors = _detectors(getattr(args, "detectors", None))
    channels = _channel_overrides(args.channel)
    plan = _check_out(args, recording, out)
    steps = _Steps(10, quiet=args.quiet, desc="scoring", verbose=args.verbose)
    try:
        night = score_night(
            recording,
            annotations=args.annotations,
            hypnogram=args.hypnogram,
            standard=args.standard,
            channels=channels,
            stages=args.stages,
            progress=steps,
            detectors=detectors,
            age=getattr(args, "age", None),
            population=getattr(args, "population", "auto"),
            annotation_offset=getattr(args, "annotation_offset", None),
            force_annotations=getattr(args, "force_annotations", False),
        )
        steps("writing outputs")
        paths = _write_outputs(
            night,
            out,
            pdf=getattr(args, "pdf", False),
            report=getattr(args, "figures", True),
            overwrite=getattr(args, "overwrite", False),
            command=getattr(args, "_argv", None),
            plan=plan,
        )
    except BaseException:
        steps.close(ok=False)
        raise
    steps.close()
    _say(args, "channel roles used:\n" + "\n".join("  " + ln for ln in night.roles.describe().splitlines()))
    sources = ", ".join(night.annotations.sources) or "none"
    _say(args, f"annotations used: {sources}; sleep stages: {night.hypnogram.source}")
    plm = night.blocks.get("plm", {})
    if plm:

        def fmt(v: Any, unit: str = "") -> str:
            return "n/a" if v is None else f"{v:.1f}{unit}"

        ref = next((f for f in night.blocks.get("interpretation") or [] if f.get("id") == "plms_index_reference"), None)
        where = f", {str(ref.get('text_plain', '')).partition(': ')[2].rstrip('.')}" if ref else ""
        _say(
            args,
            f"{night.settings.standard}: PLMS index {fmt(plm.get('plms_index'), '/h')} "
            f"({plm.get('plms_count')} PLMS in {fmt(plm.get('tst_h'), ' h')} TST){where}; "
            f"PLMW index {fmt(plm.get('plmw_index'), '/h')}, LM index {fmt(plm.get('lm_index'), '/h')}",
        )
    for w in _not_logged(args, night.warnings):
        _say(args, f"warning: {w}")
    return paths


def cmd_score(args: argparse.Namespace) -> int:
    recording = Path(args.recording)
    paths = _score(args, recording, Path(args.out))
    _say(args, f"outputs in {args.out}/")
    for k, p in paths.items():
        _say(args, f"  {k:<15} {p}")
    return 0


def _truth_check(expected: dict[str, Any], summary: dict[str, Any]) -> str:
    """A small table: what somnomyo measured next to what the simulator put in."""
    plm = summary.get("plm", {})
    fm = summary.get("fragmentary_myoclonus", {})
    hj = summary.get("hypnic_jerks", {})
    rows = [
        ("PLMS index (/h)", plm.get("plms_index"), expected.get("plms_index")),
        ("PLMS count", plm.get("plms_count"), expected.get("n_plm")),
        ("respiratory-related LMs", plm.get("respiratory_lm_count"), expected.get("n_rlm")),
        ("total sleep time (h)", plm.get("tst_h"), expected.get("tst_h")),
        ("EFM rule met", fm.get("efm"), expected.get("efm")),
        ("hypnic jerks", hj.get("count"), expected.get("n_hypnic_jerks")),
    ]

    def f(v: Any) -> str:
        if v is None:
            return "n/a"
        if isinstance(v, bool):
            return "yes" if v else "no"
        return f"{v:.1f}" if isinstance(v, float) else str(v)

    lines = ["measured vs simulator truth:", f"  {'':<26}{'measured':>10}{'truth':>10}"]
    lines += [f"  {name:<26}{f(m):>10}{f(t):>10}" for name, m, t in rows if t is not None]
    return "\n".join(lines)


def cmd_demo(args: argparse.Namespace) -> int:
    from somnomyo.simulate import simulate_night

    out = Path(args.out)
    _say(args, f"simulating a {args.hours:g}-h night (seed {args.seed}) with known truth ...")
    night = simulate_night(seed=args.seed, hours=args.hours)
    sim_paths = night.write(out / "simulated")
    edf = sim_paths["edf"] if "edf" in sim_paths else out / "simulated" / "night.edf"
    args.annotations = None
    args.hypnogram = None
    args.channel = None
    args.stages = "file"
    _say(args, f"scoring {edf} ({args.standard}) ...")
    paths = _score(args, Path(edf), out / "scored")
    _say(args, _truth_check(night.truth.get("expected", {}), json.loads((out / "scored" / "summary.json").read_text())))
    from somnomyo.validate.cli import demo_validation

    _say(args, demo_validation(out / "scored", Path(sim_paths["truth"]), out / "validation"))
    _say(args, f"\ndemo outputs:\n  simulated night  {out / 'simulated'}/")
    for k, p in sim_paths.items():
        _say(args, f"    {k:<13} {p}")
    _say(args, f"  scored night     {out / 'scored'}/")
    for k, p in paths.items():
        _say(args, f"    {k:<13} {p}")
    _say(args, f"\nnext, review the scoring in your browser:\n  somnomyo review {out / 'scored'}")
    return 0


# ----------------------------------------------------------------------------- cohort
def cmd_cohort(args: argparse.Namespace) -> int:
    from somnomyo.cohort import run_cohort

    inputs = args.input[0] if len(args.input) == 1 else args.input  # an unquoted glob arrives expanded
    res = run_cohort(
        inputs,
        args.out,
        n_jobs=args.n_jobs,
        scheduler=args.scheduler,
        overwrite=args.overwrite,
        standard=args.standard,
        figures=not args.no_figures,
        channels=_channel_overrides(args.channel),
        progress=not args.quiet,
    )
    n_ok = int((res.nights["status"] == "ok").sum()) if len(res.nights) else 0
    _say(args, f"{len(res.nights)} night(s): {n_ok} ok ({res.n_skipped} already done), {len(res.failed)} failed")
    for _, row in res.failed.head(10).iterrows():
        _say(args, f"  failed {row['id']}: {row['reason']}")
    if len(res.failed) > 10:
        _say(args, f"  ... {len(res.failed) - 10} more in {res.csv_path}")
    _say(args, f"outputs in {args.out}/")
    for k, p in (("nights", res.nights_path), ("nights_csv", res.csv_path), ("events", res.events_path)):
        _say(args, f"  {k:<15} {p}")
    return 0


# ----------------------------------------------------------------------------- compare
def cmd_compare(args: argparse.Namespace) -> int:
    from somnomyo.report.compare import compare_nights

    labels = None
    if args.labels:
        labels = [x.strip() for item in args.labels for x in item.split(",") if x.strip()]
    comp = compare_nights(args.nights, labels=labels)
    _say(args, comp.to_text())
    if args.out:
        paths = comp.write(args.out)
        _say(args, f"\noutputs in {args.out}/")
        for k, p in paths.items():
            _say(args, f"  {k:<15} {p}")
    return 0


# ----------------------------------------------------------------------------- parser
def _seconds(text: str) -> float:
    """A finite number of seconds (argparse type)."""
    import math

    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(x):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number of seconds")
    return x


def _quiet_verbose(sub: bool) -> argparse.ArgumentParser:
    """The shared -q/-v options. On the subcommands their defaults are SUPPRESS, so that a
    subcommand's parser does not reset what was given before it: ``somnomyo -q score ...`` and
    ``somnomyo score -q ...`` are the same."""
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_mutually_exclusive_group()
    extra: dict[str, Any] = {"default": argparse.SUPPRESS} if sub else {}
    g.add_argument("-q", "--quiet", action="store_true", help="print errors only (no progress, no summary)", **extra)
    g.add_argument(
        "-v",
        "--verbose",
        action="count",
        help="log each step (-vv: debug); without it, progress shows on stderr",
        **({"default": 0} | extra),
    )
    return common


def _age_help() -> str:
    """The --age help: everything the age changes, with the numbers of the settings tree."""
    from somnomyo.settings import get_settings

    s = get_settings()
    c, i = s.conditioning, s.interpret

    def bpm(rr: tuple[float, float]) -> str:
        return f"{60.0 / rr[1]:.0f}-{60.0 / rr[0]:.0f} bpm"

    return (
        "age of the sleeper, e.g. 10d, 3m, 5y (default: none, read as an adult). It sets the population "
        f"(infant < {i.pop_infant_max_days / 365.25:g} y, child < {i.pop_child_max_days / 365.25:g} y, else adult; "
        "--population overrides), and with it: the reference ranges of the findings (PLMS index > "
        f"{i.plms_adult_index:g}/h adults, > {i.plms_child_index:g}/h children, no norm for infants), the infant "
        "rules (benign sleep myoclonus of infancy, spasms), and the heart-rate band used to find ECG in the EMG "
        f"when there is no ECG channel (adult {bpm((c.ecg_self_rr_min_s, c.ecg_self_rr_max_s))}, child "
        f"{bpm(c.ecg_self_rr_child_s)}, infant {bpm(c.ecg_self_rr_infant_s)})"
    )


def build_parser() -> argparse.ArgumentParser:
    common = _quiet_verbose(sub=True)

    p = argparse.ArgumentParser(
        prog="somnomyo",
        parents=[_quiet_verbose(sub=False)],
        description="Find and characterize sleep myoclonus in polysomnograms.",
    )
    p.add_argument("--version", action="version", version=f"somnomyo {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def add_inputs(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("recording", help="EDF, EDF+ or BDF recording")
        sp.add_argument(
            "--annotations",
            metavar="FILE",
            help="annotations: NSRR XML, EDF+ annotations, CSV/TSV or stage text "
            "(default: a sidecar beside the recording)",
        )
        sp.add_argument("--hypnogram", metavar="FILE", help="a separate hypnogram file")
        sp.add_argument(
            "--channel",
            action="append",
            metavar="ROLE=LABEL",
            help='set a channel role, e.g. --channel leg_left="Tib sin" (repeatable)',
        )
        sp.add_argument(
            "--annotation-offset",
            type=_seconds,
            metavar="SECONDS",
            default=None,
            help="shift the annotation and hypnogram files by SECONDS (their time 0 lies SECONDS "
            "into the recording); their start time is then not checked",
        )
        sp.add_argument(
            "--force-annotations",
            action="store_true",
            help="use annotation/hypnogram files whose start time differs from the recording's",
        )

    sp = sub.add_parser("info", parents=[common], help="channels, rates, roles and annotation counts")
    add_inputs(sp)
    sp.set_defaults(func=cmd_info)

    sp = sub.add_parser("simulate", parents=[common], help="simulate a night with known truth")
    sp.add_argument("--out", required=True, help="output folder (night.edf, truth.json, night-annotations.tsv)")
    sp.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same night (default 0)")
    sp.add_argument("--hours", type=float, default=8.0, help="length of the night, hours (default 8)")
    sp.add_argument("--fs", type=float, default=256.0, help="EMG sampling rate, Hz, 200-512 (default 256)")
    sp.add_argument(
        "--mains",
        type=float,
        default=None,
        help="mains hum in the EMG, 50 or 60 Hz (0: none; default 50)",
    )
    sp.add_argument(
        "--infant",
        action="store_true",
        help="an infant night: benign-sleep-myoclonus-like clusters, infant heart rate (default: an adult night)",
    )
    from somnomyo.simulate.cli_args import add_arguments as add_simulate_realism

    add_simulate_realism(sp)
    sp.set_defaults(func=cmd_simulate)

    def add_scoring(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--standard", choices=STANDARDS, default="wasm2016", help="scoring standard (default wasm2016)")

    sp = sub.add_parser("score", parents=[common], help="detect and score every event of one night")
    add_inputs(sp)
    sp.add_argument("--out", required=True, help="output folder")
    sp.add_argument(
        "--stages",
        choices=("file", "auto"),
        default="file",
        help="sleep stages from the annotations (default) or automatic staging",
    )
    add_scoring(sp)
    sp.add_argument("--pdf", action="store_true", help="also write report.pdf")
    sp.add_argument(
        "--detectors",
        default=None,
        metavar="LIST",
        help="detector families to run, comma-separated: plm, myoclonus (default: all of them)",
    )
    sp.add_argument(
        "--no-report",
        dest="figures",
        action="store_false",
        help="write events.tsv, events.json and summary.json only (no report, figures or exports)",
    )
    sp.add_argument("--age", metavar="AGE", help=_age_help())
    sp.add_argument(
        "--population",
        choices=("adult", "child", "infant", "auto"),
        default="auto",
        help="interpretation rules, reference ranges and ECG heart-rate band for adults, children or infants "
        "(default auto: from --age, adult without one)",
    )
    sp.add_argument(
        "--overwrite",
        action="store_true",
        help="replace --out even if it is not somnomyo output or holds another recording's results",
    )
    sp.set_defaults(func=cmd_score)

    sp = sub.add_parser(
        "cohort", parents=[common], help="score many nights (local processes or a Dask cluster), resumably"
    )
    sp.add_argument(
        "input",
        nargs="+",
        help='a manifest CSV (id, edf, annotations, hypnogram, ...), a quoted glob such as "data/*.edf", or recordings',
    )
    sp.add_argument("--out", required=True, help="output folder: <id>/ per night, nights.parquet/.csv, events.parquet")
    sp.add_argument("--n-jobs", type=int, default=1, help="local worker processes (default 1; -1: one per CPU)")
    sp.add_argument("--scheduler", metavar="ADDRESS", help="use a running Dask cluster, e.g. tcp://host:8786")
    sp.add_argument("--overwrite", action="store_true", help="rescore nights already done (default: skip them)")
    sp.add_argument("--no-figures", action="store_true", help="do not write per-night figures")
    sp.add_argument(
        "--channel",
        action="append",
        metavar="ROLE=LABEL",
        help='channel role override for every night (repeatable), e.g. leg_left="Tib sin"; '
        "a manifest's channels cell (ROLE=LABEL;ROLE=LABEL) wins for its night",
    )
    add_scoring(sp)
    sp.set_defaults(func=cmd_cohort)

    sp = sub.add_parser("compare", parents=[common], help="compare the indices of several scored nights")
    sp.add_argument("nights", nargs="+", metavar="DIR", help="folders written by `somnomyo score` (in night order)")
    sp.add_argument(
        "--labels",
        nargs="+",
        metavar="LABEL",
        help="a name per night (default: night 1, night 2, ...); space- or comma-separated",
    )
    sp.add_argument("--out", metavar="DIR", help="write compare.csv, compare.html and figures/ here")
    sp.set_defaults(func=cmd_compare)

    sp = sub.add_parser("demo", parents=[common], help="simulate a night and score it")
    sp.add_argument(
        "--out",
        default="demo-output",
        help="output folder: simulated/, scored/ and validation/ (default demo-output)",
    )
    sp.add_argument("--seed", type=int, default=3, help="random seed of the simulated night (default 3)")
    sp.add_argument("--hours", type=float, default=8.0, help="length of the simulated night, hours (default 8)")
    add_scoring(sp)
    sp.set_defaults(func=cmd_demo)

    from somnomyo.validate.cli import add_parser as add_validate

    add_validate(sub, common)
    from somnomyo.review.cli import add_parser as add_review

    add_review(sub, common)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_INPUT
    args._argv = ["somnomyo", *(sys.argv[1:] if argv is None else argv)]
    undo_logging = _setup_logging(args)
    try:
        return int(args.func(args) or 0)
    except SomnomyoError as err:
        print(f"somnomyo: error: {_no_prefix(str(err))}", file=sys.stderr)
        return EXIT_INPUT
    except OSError as err:  # missing file, a directory, no permission, a file where a folder should be, disk full
        what = err.strerror or str(err)
        where = err.filename
        text = f"{where}: {what}" if where is not None else what
        print(f"somnomyo: error: {_no_prefix(' '.join(text.split()))}", file=sys.stderr)
        return EXIT_INPUT
    except MemoryError:
        print(
            f"somnomyo: error: {getattr(args, 'recording', 'somnomyo')}: not enough memory to score this "
            "recording on this machine (give fewer --detectors, or a machine with more memory)",
            file=sys.stderr,
        )
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("somnomyo: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # an internal error: still one line unless --verbose
        if args.verbose:
            raise
        print(
            f"somnomyo: internal error: {type(err).__name__}: {err} (rerun with -v for the traceback)", file=sys.stderr
        )
        return 1
    finally:
        undo_logging()


def _no_prefix(text: str) -> str:
    """``text`` without a leading ``somnomyo:`` / ``somnomyo: error:`` (never printed twice)."""
    for prefix in ("somnomyo: error:", "somnomyo:"):
        if text.startswith(prefix):
            return text[len(prefix) :].lstrip()
    return text


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
