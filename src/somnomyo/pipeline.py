"""Score one night: read -> roles -> annotations -> quality -> detect -> score -> result.

This is the library entry point behind ``somnomyo score``::

    from somnomyo.pipeline import score_night
    night = score_night("night.edf", standard="aasm")
    night.events            # one BIDS-shaped table of every event
    night.summary()         # the dict written to summary.json
    night.write("out/")     # events.tsv, events.json, summary.json
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from somnomyo import __version__
from somnomyo._logging import logger, verbose
from somnomyo.errors import AnnotationError, ChannelError, SomnomyoError
from somnomyo.events import COLUMNS, concat_events, empty_events, write_events_tsv
from somnomyo.io.annotations import Annotations, Hypnogram
from somnomyo.io.atomic import write_text_atomic
from somnomyo.io.channels import ChannelRoles
from somnomyo.io.jsonable import jsonable as _jsonable
from somnomyo.io.recording import Recording
from somnomyo.registry import Night, emg_roles, for_families, interpret_blocks, labels_to_read
from somnomyo.result import Result
from somnomyo.settings import Settings, get_settings
from somnomyo.settings_quality import QualitySettings
from somnomyo.steps.plm import leg_unscorable as _leg_unscorable  # noqa: F401  (benchmarks import it here)

if TYPE_CHECKING:  # pragma: no cover
    from somnomyo.rescore import ScoringContext

EMG_ROLES = ("leg_left", "leg_right", "legs", "chin", "arm_left", "arm_right", "other_emg")
Progress = Callable[[str], None]
_VOLT_UNITS = ("uv", "µv", "μv")
# R peaks are found on the ECG averaged down to at most this rate (speed; the ECG band-pass ends at
# 30 Hz) and refined to the full rate (:func:`somnomyo.signal.ecg.detect_r_peaks`); not clinical.
_ECG_RATE_HZ = 128.0


@dataclass
class NightResult(Result):
    """Everything scored on one night. ``events`` is the one event table (see ``somnomyo.events``);
    ``summary()`` is summary.json (:class:`somnomyo.result.NightSummary`), ``summary(grp_stage=True)``
    the events per sleep stage."""

    path: Path
    recording: Recording
    roles: ChannelRoles
    annotations: Annotations
    hypnogram: Hypnogram
    settings: Settings
    events: pd.DataFrame
    blocks: dict[str, Any] = field(default_factory=dict)  # summary blocks by name (plm, fragmentary_myoclonus, ...)
    results: dict[str, Any] = field(default_factory=dict)  # detector result objects by name
    quality: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    unscorable: dict[str, pd.DataFrame] = field(default_factory=dict)  # per EMG label, from the quality checks
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  # what each scoring step keeps for rescoring
    detectors: tuple[str, ...] = ()  # the detector families run
    subject: dict[str, Any] = field(default_factory=dict)  # age_days, population (asked), subject_population
    signal: dict[str, Any] = field(default_factory=dict)  # for the review's windows: mains Hz, R peaks (context.json)

    def context(self) -> ScoringContext:
        """What scoring this night needs besides its events (``context.json``; :mod:`somnomyo.rescore`)."""
        from somnomyo.rescore import NIGHT_BLOCKS, ScoringContext

        summary = self.summary()
        rec = self.recording
        return ScoringContext(
            duration_s=float(rec.duration),
            start=rec.start.isoformat() if rec.start else None,
            hypnogram=self.hypnogram,
            annotations=self.annotations,
            settings=self.settings,
            roles=self.roles,
            unscorable=dict(self.unscorable),
            gaps=[(float(a), float(b)) for a, b in rec.gaps],
            age_days=self.subject.get("age_days"),
            population=self.subject.get("population", "auto"),
            subject_population=self.subject.get("subject_population", "adult"),
            detectors=tuple(self.detectors),
            steps=dict(self.steps),
            night={k: summary[k] for k in NIGHT_BLOCKS},
            event_times={"onset": self.events["onset"].tolist(), "duration": self.events["duration"].tolist()},
            signal=dict(self.signal),
        )

    def summary_block(self) -> dict[str, Any]:
        """The content of ``summary.json`` (documented key by key in docs/summary.md)."""
        rec = self.recording
        out: dict[str, Any] = {
            "somnomyo_version": __version__,
            "recording": {
                "path": str(self.path),
                "file_type": rec.file_type,
                "start": rec.start.isoformat() if rec.start else None,
                "duration_s": rec.duration,
                "gaps": [list(g) for g in rec.gaps],
            },
            "channels": self.roles.to_dict(),
            "stages": {
                "source": self.hypnogram.source,
                "path": self.hypnogram.path,
                "epoch_s": self.hypnogram.epoch_s,
                "counts": self.hypnogram.counts(),
            },
            "annotations": {
                "sources": list(self.annotations.sources),
                "counts": self.annotations.counts(),
                "warnings": list(self.annotations.warnings),
            },
        }
        out.update(self.blocks)
        out["quality"] = self.quality
        out["settings"] = self.settings.to_dict()
        out["warnings"] = list(self.warnings)
        return _jsonable(out)

    def write(
        self,
        out_dir: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        command: Sequence[str] | None = None,
        extra: Callable[[Path], Mapping[str, Path]] | None = None,
        plan: Any = None,
    ) -> dict[str, Path]:
        """Write the results folder ``out_dir``: one run of this night (:mod:`somnomyo.io.results_folder`).

        The whole folder is built under a temporary sibling, ``manifest.json`` is written last
        and the folder is swapped in as one step: ``out_dir`` then holds this run only (an
        earlier run of the same recording is replaced whole). A non-empty folder that is not
        somnomyo output, or results of another recording, are refused unless ``overwrite``.
        ``extra(folder)`` writes more files into the folder before the manifest (the report);
        ``command`` (argv) is recorded in the manifest; ``plan`` is what
        :func:`somnomyo.io.results_folder.prepare_out` returned when the place was checked
        before scoring (its recording hash is reused). Returns ``{name: final path}``.
        """
        from somnomyo.io.results_folder import results_writer

        out = Path(out_dir)
        with results_writer(
            out,
            recording=self.path,
            inputs=self.input_files(),
            standard=self.settings.standard,
            command=command,
            overwrite=overwrite,
            plan=plan,
        ) as tmp:
            paths = self.write_files(tmp)
            if extra is not None:
                paths.update(extra(tmp))
        return {k: out / Path(p).relative_to(tmp) for k, p in paths.items()}

    def write_files(self, folder: Path) -> dict[str, Path]:
        """Write the night's own files into the existing ``folder``: ``events.tsv``,
        ``events.json`` (BIDS sidecar) and ``summary.json`` (each atomically). Every file written
        here is listed in the manifest by :meth:`write`."""
        return {
            "events": write_events_tsv(self.events, folder / "events.tsv"),
            "events_sidecar": write_text_atomic(
                folder / "events.json", json.dumps(events_sidecar(self.events), indent=2)
            ),
            "summary": write_text_atomic(folder / "summary.json", json.dumps(self.summary(), indent=2)),
            "context": write_text_atomic(folder / "context.json", json.dumps(self.context().to_json(), indent=2)),
        }

    def input_files(self) -> list[tuple[str, Path]]:
        """``(role, path)`` of the annotation and hypnogram files scored with the recording."""
        return list(getattr(self.annotations, "inputs", []) or [])


def events_sidecar(events: pd.DataFrame) -> dict[str, Any]:
    """BIDS ``events.json``: a description of every column of ``events``."""
    side: dict[str, Any] = {}
    for c in events.columns:
        if c in COLUMNS:
            side[c] = {"Description": COLUMNS[c][1]}
            if c in ("onset", "duration"):
                side[c]["Units"] = "s"
            if c == "amplitude_uv":
                side[c]["Units"] = "uV"
        else:
            side[c] = {"Description": EXTRA_COLUMN_DOCS.get(c, "Detector-specific column.")}
    if "trial_type" in events.columns:
        side["trial_type"]["Levels"] = {t: t.replace("_", " ") for t in sorted(set(events["trial_type"].dropna()))}
    return side


EXTRA_COLUMN_DOCS: dict[str, str] = {
    "bilateral": "True if the LM was combined with an LM on the other leg.",
    "imi_s": "Inter-movement interval (onset to onset) from the previous candidate LM, s.",
    "is_clm": "True if the LM is part of a candidate LM (CLM).",
    "periodic_including_respiratory": "Periodic when respiratory-related LMs are kept in the analysis.",
    "mean_uv": "Mean envelope amplitude above baseline over the event, µV.",
    "burst_ms": "EMG burst duration of the leading (first) muscle of a jerk, ms (cortical myoclonus: short bursts).",
    "rate_hz": "Repetition rate of the jerks in a cluster, Hz.",
    "n_jerks": "Number of jerks in a cluster.",
    "cv": "Coefficient of variation of the intervals between jerks in a cluster.",
    "reason_not_clm": "Why the LM is not a candidate LM (e.g. too_short, monolateral_too_long, unscorable, "
    "outside_time_in_bed); empty when it is one.",
    "ptp_uv": "Peak-to-peak amplitude of the filtered EMG within the burst, µV.",
    "n_muscles": "Number of muscles (channels) involved in the jerk.",
    "axial": "True if an axial muscle (chin) is involved in the jerk.",
    "limb": "True if a limb muscle (arm or leg) is involved in the jerk.",
    "depth": "Negative myoclonus: mean EMG envelope during the silent period divided by the tonic level "
    "before it (0 = complete silence).",
}


# --------------------------------------------------------------------------------------
def load_annotations(
    edf_path: Path,
    recording: Recording,
    *,
    annotations: str | os.PathLike[str] | None = None,
    hypnogram: str | os.PathLike[str] | None = None,
    discover: bool = True,
    offset_s: float | None = None,
    force: bool = False,
    start_tolerance_s: float | None = None,
) -> Annotations:
    """Annotations of a night: the EDF's own, plus ``annotations`` (or a discovered sidecar), plus ``hypnogram``.

    A separate file that declares its own start date-time (EDF header, NSRR ClockTime) must start
    within ``start_tolerance_s`` (default ``settings.quality.annotation_start_tolerance_s``) of
    the recording, else :class:`AnnotationError` names both times
    (:func:`somnomyo.io.annotation_start.check_start`). ``offset_s`` shifts the separate files
    instead (their time 0 lies ``offset_s`` s into the recording; no start check); ``force``
    accepts them as they are.
    """
    from somnomyo.io.annotation_readers import from_edf_annotations, merge_annotations, read_annotations_file
    from somnomyo.io.annotation_start import check_start
    from somnomyo.io.discover import find_sidecar

    tolerance = (
        get_settings().quality.annotation_start_tolerance_s if start_tolerance_s is None else float(start_tolerance_s)
    )
    shift = 0.0 if offset_s is None else float(offset_s)
    inputs: list[tuple[str, Path]] = []

    def read(p: Path, role: str) -> Annotations:
        if p.exists() and not p.is_file():
            raise AnnotationError("is not a regular file (a folder, pipe, socket or device)", p)
        if not p.is_file():
            raise AnnotationError(f"{'annotation' if role == 'annotations' else role} file not found", p)
        if offset_s is None and not force:
            check_start(recording.start, edf_path, p, tolerance_s=tolerance)
        inputs.append((role, p))
        return read_annotations_file(p, duration_s=duration, offset_s=shift)

    parts: list[Annotations] = []
    # an annotation-only EDF+ (no signals) has no duration of its own to check events against
    duration = recording.duration if recording.channels else None
    if recording.annotations:
        parts.append(from_edf_annotations(recording.annotations, source=str(edf_path), duration_s=duration))
    ann_path = Path(annotations) if annotations is not None else (find_sidecar(edf_path) if discover else None)
    if annotations is None and ann_path is not None:
        logger.info("using annotations found beside the recording: %s", ann_path)
    if ann_path is not None:
        parts.append(read(ann_path, "annotations"))
    if hypnogram is not None:
        parts.append(read(Path(hypnogram), "hypnogram"))
    if not parts:
        return Annotations()
    out = merge_annotations(*parts) if len(parts) > 1 else parts[0]
    out.inputs = inputs
    return out


def _resolve_settings(standard: str, settings: Settings | None) -> Settings:
    if settings is not None:
        return settings
    return get_settings(standard)


@verbose
def score_night(
    path: str | os.PathLike[str],
    *,
    annotations: str | os.PathLike[str] | None = None,
    hypnogram: str | os.PathLike[str] | None = None,
    standard: str = "wasm2016",
    settings: Settings | None = None,
    channels: Mapping[str, str | Sequence[str]] | None = None,
    stages: str = "file",
    detectors: Sequence[str] = ("plm", "myoclonus"),
    progress: Progress | None = None,
    age: str | float | None = None,
    population: str = "auto",
    annotation_offset: float | None = None,
    force_annotations: bool = False,
    verbose: bool | str | int | None = None,
) -> NightResult:
    """Score one recording and return a :class:`NightResult`.

    Parameters
    ----------
    path : the EDF/EDF+/BDF recording.
    annotations : annotation file (NSRR XML, EDF+ annotations, CSV/TSV, stage text); when
        None a sidecar beside the recording is looked for.
    hypnogram : a separate hypnogram file.
    standard : ``"wasm2016"`` (default) or ``"aasm"``; ignored when ``settings`` is given.
    channels : role overrides, e.g. ``{"leg_left": "Tib sin"}``.
    stages : ``"file"`` (use the hypnogram found; none -> every epoch UNS, or automatic
        staging when the ``staging`` extra is installed) or ``"auto"`` (always stage
        automatically).
    detectors : which detector families to run (``"plm"``, ``"myoclonus"``).
    age : the sleeper's age (``"10d"``, ``"3m"``, ``"5y"``; numbers are days) for the
        interpretation rules (:mod:`somnomyo.interpret`).
    population : ``"adult"``, ``"child"``, ``"infant"`` or ``"auto"`` (from ``age``; adult without one).
    annotation_offset : shift the separate annotation/hypnogram files by this many seconds (their
        time 0 lies that far into the recording); their start time is then not checked.
    force_annotations : use separate annotation/hypnogram files even when the start date-time they
        declare differs from the recording's (by default refused, see :func:`load_annotations`).
    """
    from somnomyo.errors import check_choice
    from somnomyo.interpret.rules import parse_age
    from somnomyo.interpret.settings import POPULATION_CHOICES

    check_choice("population", population, POPULATION_CHOICES)
    age_days = parse_age(age)
    return _score_night(
        Path(path),
        annotations=annotations,
        hypnogram=hypnogram,
        settings=_resolve_settings(standard, settings),
        channels=channels,
        stages=stages,
        detectors=tuple(detectors),
        progress=progress,
        age_days=age_days,
        population=population,
        annotation_offset=annotation_offset,
        force_annotations=force_annotations,
    )


def _score_night(
    path: Path,
    *,
    annotations: Any,
    hypnogram: Any,
    settings: Settings,
    channels: Any,
    stages: str,
    detectors: tuple[str, ...],
    progress: Progress | None,
    age_days: float | None = None,
    population: str = "auto",
    annotation_offset: float | None = None,
    force_annotations: bool = False,
) -> NightResult:
    from somnomyo.io.channels import infer_roles
    from somnomyo.io.edf import read_edf, read_header

    if stages not in ("file", "auto"):
        raise ValueError(f"stages must be one of 'file', 'auto'; got {stages!r}")
    from somnomyo.interpret import population_for

    subject_population = population_for(age_days, settings=settings) if population == "auto" else population
    settings = settings.for_population(subject_population)  # e.g. an infant's heart rate for ECG in EMG
    step = progress or (lambda msg: logger.info(msg))
    warnings: list[str] = []

    step("reading header")
    header = read_header(path)
    roles = infer_roles(header.labels, overrides=channels)
    slow = _set_aside_slow_emg(header, roles, settings=settings)
    logger.info("channel roles:\n%s", roles.describe())
    entries = for_families(detectors)
    for entry in entries:
        if entry.required_any and not any(roles.all(r) for r in entry.required_any):
            why = "".join(
                f"; {lab} is sampled at {fs:g} Hz, too slow for EMG"
                for lab, (role, fs) in slow.items()
                if role in entry.required_any
            )
            raise ChannelError(f"{entry.missing}{why}; the file has: {', '.join(header.labels) or 'no signals'}", path)
    for label, (role, fs) in slow.items():  # said once the night is known to be scorable
        msg = (
            f"{label}: sampled at {fs:g} Hz, too slow for EMG (the EMG detectors need >= 200 Hz); "
            f"not used as {role} EMG"
        )
        logger.warning(msg)
        warnings.append(msg)
    step("reading annotations")
    if header.file_type.startswith(("EDF+", "BDF+")):
        from somnomyo.io.edf import read_annotations

        header.annotations = read_annotations(path)
    ann = load_annotations(
        path,
        header,
        annotations=annotations,
        hypnogram=hypnogram,
        offset_s=annotation_offset,
        force=force_annotations,
        start_tolerance_s=settings.quality.annotation_start_tolerance_s,
    )
    auto = stages == "auto" or (ann.hypnogram is None and _auto_staging_available() and bool(roles.all("eeg")))

    wanted = labels_to_read(entries, roles, auto_staging=auto)
    _check_memory(header, roles, entries, wanted, path)

    step(f"reading {len(wanted)} channel(s)")
    # float32: every detector conditions in float32; half the memory of float64 (fresh memory is slow)
    recording = read_edf(path, channels=wanted, annotations=False, dtype="float32")
    recording.annotations = header.annotations
    hyp = _stages(recording, roles, ann, auto=auto, path=path, warnings=warnings, settings=settings)

    step("conditioning EMG and checking signal quality")
    r_peaks = None
    ecg_label = roles.get("ecg")
    if ecg_label and ecg_label in recording.signals:
        from somnomyo.signal.ecg import detect_r_peaks

        sig = recording.signals[ecg_label]
        r_peaks = (
            detect_r_peaks(sig.data, sig.fs, settings=settings.conditioning, max_rate_hz=_ECG_RATE_HZ),
            sig.fs,
        )  # once per night
    elif settings.conditioning.ecg_removal and age_days is None and population == "auto":
        c = settings.conditioning
        prior = f"{60 / c.ecg_self_rr_max_s:.0f}-{60 / c.ecg_self_rr_min_s:.0f} bpm"
        if c.ecg_self_estimate_period:
            lo, hi = c.ecg_self_hr_range_bpm
            msg = (
                f"no ECG channel: ECG artefact is looked for in the EMG itself, its heart rate estimated from the "
                f"EMG ({lo:.0f}-{hi:.0f} bpm; adult {prior} where none stands out); for a child or an infant "
                f"give --age or --population"
            )
        else:
            msg = (
                f"no ECG channel: ECG artefact is looked for in the EMG itself at adult heart rates ({prior}, "
                f"MATPLM); for a child or an infant give --age or --population so that a faster heart is looked for"
            )
        logger.warning(msg)
        warnings.append(msg)
    # each EMG channel is band-passed once: the quality checks take it from the conditioning
    checked: dict[str, Any] = {}
    conditioned = _condition(
        recording,
        roles,
        emg_roles(entries),
        settings=settings,
        r_peaks=r_peaks,
        on_bandpassed=lambda lab, y: _check_channel(
            recording, roles, lab, checked, filtered=y, settings=settings.quality
        ),
    )
    quality, unscorable = _quality(recording, roles, checked=checked, settings=settings.quality)
    signal = _signal_context(conditioned, r_peaks)  # before the steps free the conditioned channels

    blocks: dict[str, Any] = {}
    results: dict[str, Any] = {}
    tables: list[pd.DataFrame] = []
    kept: dict[str, dict[str, Any]] = {}
    night = Night(
        path=path,
        recording=recording,
        roles=roles,
        hypnogram=hyp,
        annotations=ann,
        settings=settings,
        conditioned=conditioned,
        r_peaks=r_peaks,
        unscorable=unscorable,
        progress=step,
        events=empty_events(),
    )
    fresh = True  # night.events holds every table so far
    for entry in entries:  # loop over the registry's scoring steps
        if not fresh:
            night.events, fresh = concat_events(tables), True
        scored = entry.run(night)
        blocks.update(scored.blocks)
        results.update(scored.results)
        kept[entry.name] = scored.context
        if scored.events is not None:
            tables.append(scored.events)
            fresh = False
    interpret_blocks(
        blocks,
        results,
        age_days=age_days,
        population=population,
        subject_population=subject_population,
        settings=settings,
    )
    return NightResult(
        path=path,
        recording=recording,
        roles=roles,
        annotations=ann,
        hypnogram=hyp,
        settings=settings,
        events=night.events if fresh else concat_events(tables),
        blocks=blocks,
        results=results,
        quality=quality,
        warnings=warnings + list(ann.warnings),
        unscorable=unscorable,
        steps=kept,
        detectors=tuple(dict.fromkeys(e.family for e in entries)),
        subject={"age_days": age_days, "population": population, "subject_population": subject_population},
        signal=signal,
    )


def _check_memory(
    header: Recording, roles: ChannelRoles, entries: Sequence[Any], wanted: Sequence[str], path: Path
) -> None:
    """Refuse, before reading any signal, a recording whose scoring would need more memory than
    this process may use (:mod:`somnomyo.memory`): a one-line error, not a kill halfway."""
    from somnomyo.memory import check_memory, score_bytes

    def samples(lab: str) -> int:
        return int(round(header.channel(lab).fs * header.duration))

    emg = {lab for role in emg_roles(entries) for lab in roles.all(role) if lab in wanted}
    check_memory(score_bytes([samples(lab) for lab in wanted], [samples(lab) for lab in emg]), path)


def _signal_context(conditioned: dict[str, Any], r_peaks: tuple[np.ndarray, float] | None) -> dict[str, Any]:
    """What the review needs to filter a window as scored without reading whole channels
    (``context.json`` ``signal``): the mains frequency removed (None: none), the harmonics
    removed per channel where the conditioning says, and the night's R peaks (samples at ``fs``)."""
    mains = next((c.mains_hz for c in conditioned.values()), None)
    harmonics = {
        lab: int(h) for lab, c in conditioned.items() if (h := getattr(c, "mains_harmonics", None)) is not None
    }
    out: dict[str, Any] = {"mains_hz": None if mains is None else float(mains), "mains_labels": list(conditioned)}
    if harmonics:
        out["mains_harmonics"] = harmonics
    if r_peaks is not None:
        out["r_peaks"] = {"fs": float(r_peaks[1]), "samples": np.asarray(r_peaks[0], dtype=np.int64).tolist()}
    return out


def _condition(
    recording: Recording,
    roles: ChannelRoles,
    roles_used: Sequence[str],
    *,
    settings: Settings,
    r_peaks: tuple[np.ndarray, float] | None,
    on_bandpassed: Callable[[str, np.ndarray], None] | None = None,
) -> dict[str, Any]:
    """Condition every EMG channel the detectors use ONCE per night (band-pass, the recording's one
    mains frequency, ECG removal with the night's R peaks); shared by LM detection and the
    myoclonus detectors (:func:`somnomyo.signal.conditioning.condition_recording`). ``roles_used``:
    the EMG roles the scoring steps read (:func:`somnomyo.registry.emg_roles`)."""
    from somnomyo.signal.conditioning import condition_recording

    labels: list[str] = []
    for role in roles_used:
        for lab in roles.all(role):
            sig = recording.signals.get(lab)
            if lab in labels or sig is None or str(sig.unit).lower() not in _VOLT_UNITS:
                continue
            labels.append(lab)
    return condition_recording(
        recording, labels, settings=settings.conditioning, r_peaks=r_peaks, on_bandpassed=on_bandpassed
    )


def _set_aside_slow_emg(header: Recording, roles: ChannelRoles, *, settings: Settings) -> dict[str, tuple[str, float]]:
    """EMG-role channels sampled too slowly to hold the EMG band (``band_edges`` finds no band, e.g.
    Sleep-EDF's 1-Hz "EMG submental" envelope) are not EMG to the detectors: each is moved to the
    role ``other``. Returns ``{label: (role it had, fs)}`` (the caller says so)."""
    from somnomyo.signal.filters import band_edges

    slow: dict[str, tuple[str, float]] = {}
    for role in EMG_ROLES:
        for label in list(roles.by_role.get(role, [])):
            fs = header.channel(label).fs
            try:
                band_edges(fs, settings=settings.conditioning)
            except SomnomyoError:
                roles.move(label, "other")
                slow[label] = (role, fs)
    return slow


def _auto_staging_available() -> bool:
    """True when the optional ``staging`` extra (YASA) is installed."""
    import importlib.util

    return importlib.util.find_spec("yasa") is not None


def _stages(
    recording: Recording,
    roles: ChannelRoles,
    ann: Annotations,
    *,
    auto: bool,
    path: Path,
    warnings: list[str],
    settings: Settings | None = None,
) -> Hypnogram:
    """The hypnogram used: the annotated one, else automatic staging (said so), else all UNS."""
    if not auto and ann.hypnogram is not None:
        return ann.hypnogram.fit_to(recording.duration)
    if auto:
        from somnomyo.stage.auto import stage_auto

        if ann.hypnogram is None:
            msg = "no hypnogram found: sleep stages were scored automatically (YASA); review them"
        else:
            msg = "sleep stages were scored automatically (--stages auto); the file's hypnogram was not used"
        hyp = stage_auto(recording, roles, settings=settings)  # Settings.staging, .emg_wake
        if hyp.source == "emg_estimate":
            msg += "; no usable EEG, so only a rough wake/sleep estimate from EMG activity was possible"
        logger.warning(msg)
        warnings.append(msg)
        return hyp.fit_to(recording.duration)
    msg = (
        "no hypnogram found: every epoch is unscored (UNS) and sleep-stage indices are null; "
        "give --hypnogram FILE, or install the 'staging' extra and use --stages auto"
    )
    logger.warning(msg)
    warnings.append(msg)
    return Hypnogram.unscored(recording.duration)


def _check_channel(
    recording: Recording,
    roles: ChannelRoles,
    label: str,
    out: dict[str, Any],
    *,
    filtered: np.ndarray | None = None,
    settings: QualitySettings | None = None,
) -> None:
    """Quality of one EMG channel into ``out[label]`` (skipped for other channels); ``filtered``: the
    channel band-passed by the conditioning, reused by the ECG check (see ``assess_quality``);
    ``settings``: the thresholds (``Settings.quality``; None = defaults)."""
    from somnomyo.io.edf import unit_scale_to_uv
    from somnomyo.signal.quality import assess_quality

    sig = recording.signals[label]
    role = roles.role_of.get(label)
    if sig.unit != "uV" or role not in EMG_ROLES:
        return  # quality decides scorable EMG time; other channels are not scored here
    info = recording.channel(label)
    scale = unit_scale_to_uv(info.unit) or 1.0  # the header's range in the data's unit (µV)
    lo, hi = sorted((info.physical_min * scale, info.physical_max * scale))
    out[label] = assess_quality(
        sig.data,
        sig.fs,
        label=label,
        role=role,
        physical_min=lo,
        physical_max=hi,
        gaps=recording.gaps,
        filtered=filtered,
        settings=settings,
    )


def _quality(
    recording: Recording,
    roles: ChannelRoles,
    *,
    checked: Mapping[str, Any] | None = None,
    settings: QualitySettings | None = None,
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """Per-channel quality flags; returns (summary block, unscorable intervals by label).

    ``checked``: channels already assessed (during the conditioning, from its band-passed signal);
    the other EMG channels are assessed here from their raw data."""
    done = dict(checked or {})
    block: dict[str, Any] = {"channels": {}}
    unscorable: dict[str, pd.DataFrame] = {}
    for label in recording.signals:  # recording order, whichever way each was checked
        if label not in done:
            _check_channel(recording, roles, label, done, settings=settings)
        q = done.get(label)
        if q is None:
            continue
        unscorable[label] = q.unscorable
        block["channels"][label] = q.summary()
    return block, unscorable
