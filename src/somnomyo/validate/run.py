"""Validate detections against a reference: one night (:func:`validate_night`), a manifest of
nights (:func:`validate_manifest`), or two scorings of one night against each other
(``against``: e.g. two human scorers).

For each night: the reference is read (:func:`somnomyo.validate.reference.read_scoring`),
aligned to the recording by its start date-time, given the recording's stages, and, when it
has LMs but no CLMs or PLM series, rescored by somnomyo's rules on the results folder's
context (:mod:`somnomyo.validate.context`); events are matched kind by kind
(:mod:`somnomyo.validate.kinds`) and the indices of both sides are put side by side. Across
nights the indices are compared with the statistics of :mod:`somnomyo.validate.stats`.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from somnomyo._logging import logger, verbose
from somnomyo.errors import SomnomyoError
from somnomyo.io.annotations import SLEEP_STAGES, Hypnogram
from somnomyo.validate import stats
from somnomyo.validate.context import context_hypnogram, leg_channels, load_context, rescore_events, summary_hypnogram
from somnomyo.validate.kinds import AROUSAL, CLM, LM, PLM, compare_events
from somnomyo.validate.labels import LabelTable
from somnomyo.validate.match import MatchRule
from somnomyo.validate.reference import Scoring, align, read_scoring
from somnomyo.validate.settings import ValidateSettings

__all__ = [
    "NightValidation",
    "Validation",
    "validate_night",
    "validate_nights",
    "validate_manifest",
    "index_value",
    "INDEX_COLUMNS",
    "BASES",
]

#: where a reference index comes from, in order of preference for the statistics
BASES = ("scored", "rescored", "labelled", "truth")
INDEX_COLUMNS: dict[str, str] = {
    "night": "night id",
    "index": "the summary.json key (e.g. plms_index)",
    "detected": "the value somnomyo scored (in two-scorer mode: the --against scoring)",
    "reference": "the reference's value; empty when it cannot be had",
    "difference": "detected - reference",
    "reference_basis": "scored (the reference's own summary), rescored (its events scored by somnomyo's rules "
    "on the recording's context), labelled (counted from its PLM labels), truth (the "
    "simulator's expected value)",
}
_BLOCKS = ("plm", "fragmentary_myoclonus", "jerks", "hypnic_jerks", "negative_myoclonus", "clusters", "rem_emg")
_MANIFEST_RESULTS = ("results", "results_dir", "detected")
_MANIFEST_REFERENCE = ("reference", "expert", "reference_path")
_MANIFEST_NIGHT = ("night", "id", "night_id")
_MANIFEST_AGAINST = ("against",)


def index_value(summary: dict[str, Any] | None, name: str) -> float | None:
    """The value of index ``name`` in a summary.json dict (``block.key``, or a key searched for in
    the plm, fragmentary_myoclonus, ... blocks in that order); None when absent or not a number."""
    if not summary:
        return None
    if "." in name:
        v: Any = summary
        for part in name.split("."):
            v = v.get(part) if isinstance(v, dict) else None
    else:
        v = next((summary[b][name] for b in _BLOCKS if isinstance(summary.get(b), dict) and name in summary[b]), None)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) else None


@dataclass
class NightValidation:
    """One night's validation: ``agreement`` (kind x side x stage), ``pairs`` (with a ``side``
    column: every side's matching), ``indices`` (index x basis)."""

    night: str
    mode: str
    detected: Scoring
    reference: Scoring
    agreement: pd.DataFrame
    pairs: pd.DataFrame
    indices: pd.DataFrame
    rule: MatchRule
    settings: ValidateSettings
    notes: list[str] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        return {
            "night": self.night,
            "mode": self.mode,
            "detected": self.detected.info(),
            "reference": self.reference.info(),
            "notes": list(self.notes),
        }

    def summary(self) -> dict[str, Any]:
        return Validation([self], settings=self.settings).summary()

    def write(self, out_dir: str | os.PathLike[str], *, html: bool = True) -> dict[str, Path]:
        return Validation([self], settings=self.settings).write(out_dir, html=html)


@dataclass
class Validation:
    """Several nights' validations and the statistics across them."""

    nights: list[NightValidation]
    settings: ValidateSettings = field(default_factory=ValidateSettings)

    @property
    def rule(self) -> MatchRule:
        return MatchRule.from_settings(self.settings)

    @property
    def agreement(self) -> pd.DataFrame:
        """Every night's rows, then (with several nights) the pooled rows (``night`` = ``all``)."""
        from somnomyo.validate.outputs import pooled_agreement

        per = [n.agreement for n in self.nights]
        table = pd.concat(per, ignore_index=True) if per else pd.DataFrame()
        if len(self.nights) > 1:
            table = pd.concat([table, pooled_agreement(table, self.all_pairs, self.rule)], ignore_index=True)
        return table

    @property
    def all_pairs(self) -> pd.DataFrame:
        frames = [n.pairs for n in self.nights if len(n.pairs)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    @property
    def pairs(self) -> pd.DataFrame:
        """Every match, miss and false detection (the whole-night matching, side ``all``)."""
        p = self.all_pairs
        return p[p["side"] == "all"].drop(columns="side").reset_index(drop=True) if len(p) else p

    @property
    def indices(self) -> pd.DataFrame:
        frames = [n.indices for n in self.nights]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(INDEX_COLUMNS))

    def primary_indices(self) -> pd.DataFrame:
        """One row per night x index: the reference value of the preferred basis (``BASES`` order)."""
        t = self.indices
        if not len(t):
            return t
        t = t.assign(
            _rank=t["reference_basis"].map({b: i for i, b in enumerate(BASES)}).fillna(len(BASES)),
            _has=t["reference"].notna(),
        )
        t = t.sort_values(["night", "index", "_has", "_rank"], ascending=[True, True, False, True], kind="stable")
        return t.drop_duplicates(["night", "index"]).drop(columns=["_rank", "_has"]).reset_index(drop=True)

    def index_stats(self) -> dict[str, dict[str, Any]]:
        """Per index: Bland-Altman, ICC(2,1) with its CI, Pearson/Spearman; the PLMS category kappa."""
        t = self.primary_indices()
        s = self.settings
        out: dict[str, dict[str, Any]] = {}
        for name in s.indices:
            rows = t[t["index"] == name] if len(t) else t
            det = rows["detected"].tolist() if len(rows) else []
            ref = rows["reference"].tolist() if len(rows) else []
            ba = stats.bland_altman(det, ref, z=s.loa_z)
            a, b = stats._pairs(det, ref)
            icc = (
                stats.icc_a1(np.column_stack([a, b]), ci_level=s.ci_level)
                if a.size
                else {"icc": None, "icc_ci": None, "icc_form": stats.ICC_FORM}
            )
            entry: dict[str, Any] = {
                "n_nights": ba["n_nights"],
                "bias": ba["bias"],
                "sd": ba["sd"],
                "loa_low": ba["loa_low"],
                "loa_high": ba["loa_high"],
                "icc": icc["icc"],
                "icc_ci": icc["icc_ci"],
                "icc_form": icc["icc_form"],
                "ci_level": s.ci_level,
                "mean_detected": float(a.mean()) if a.size else None,
                "mean_reference": float(b.mean()) if b.size else None,
                "reference_basis": sorted(set(rows["reference_basis"][rows["reference"].notna()])) if len(rows) else [],
            }
            entry.update(stats.correlations(det, ref))
            if name == "plms_index":
                entry["category"] = stats.category_agreement(det, ref, threshold=s.plms_category_threshold)
            out[name] = entry
        return out

    def summary(self) -> dict[str, Any]:
        from somnomyo.validate.outputs import summary_dict

        return summary_dict(self)

    def write(self, out_dir: str | os.PathLike[str], *, html: bool = True) -> dict[str, Path]:
        """agreement.tsv, pairs.tsv, indices.tsv, summary.json and validation.html (see docs/validation.md)."""
        from somnomyo.validate.outputs import write_outputs

        return write_outputs(self, Path(out_dir), html=html)


# ----------------------------------------------------------------------------- one night
def _labels(labels: LabelTable | str | os.PathLike[str] | None) -> LabelTable:
    if labels is None:
        return LabelTable.default()
    if isinstance(labels, LabelTable):
        return labels
    return LabelTable.from_file(labels)


_MERGE_TOLERANCE_S = 1e-3  # rescoring may restore events.tsv's 4-decimal times to the exact ones


def _merge_from(target: pd.DataFrame, source: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    """Copy ``cols`` of ``source`` rows onto the ``target`` rows of the same trial_type and side
    with the nearest onset (within 1 ms); ``target``'s row order is kept."""
    cols = [c for c in cols if c in source.columns]
    tgt = target.drop(columns=[c for c in cols if c in target.columns])
    tgt = tgt.assign(
        _row=np.arange(len(tgt)),
        _side=tgt["side"].astype("string").fillna("").astype(object),
        _tt=tgt["trial_type"].astype("string").fillna("").astype(object),
        _on=tgt["onset"].astype(float),
    )
    src = source.assign(
        _side=source["side"].astype("string").fillna("").astype(object),
        _tt=source["trial_type"].astype("string").fillna("").astype(object),
        _on=source["onset"].astype(float),
    )[["_on", "_tt", "_side", *cols]]
    merged = pd.merge_asof(
        tgt.sort_values("_on", kind="stable"),
        src.sort_values("_on", kind="stable"),
        on="_on",
        by=["_tt", "_side"],
        direction="nearest",
        tolerance=_MERGE_TOLERANCE_S,
    )
    merged = merged.sort_values("_row", kind="stable").drop(columns=["_row", "_side", "_tt", "_on"])
    for c in cols:
        if str(source[c].dtype) != str(merged[c].dtype):
            merged[c] = merged[c].astype(source[c].dtype)
    return merged.reset_index(drop=True)


def _prepare(
    sc: Scoring, *, ctx: Any, why: str, channels: dict[str, str], hyp: Hypnogram | None, notes: list[str], what: str
) -> tuple[pd.DataFrame, frozenset[str], dict[str, Any] | None, dict[str, str]]:
    """The scoring's events ready to compare: stages, and CLM/PLM/arousal by rescoring where it lacks them."""
    ev = sc.events.copy()
    defined = set(sc.defined)
    basis: dict[str, str] = {}
    rsum: dict[str, Any] | None = None
    if sc.format == "truth":
        basis.update({PLM: "truth", AROUSAL: "truth"})
    elif sc.plm_labelled:
        basis[PLM] = "labelled"
    needs = {"clm_id", "periodic", "arousal"} - defined
    if sc.format in ("annotations", "truth") and len(ev):
        if ctx is not None:
            rescored, rsum = rescore_events(ev, ctx, channels=channels)
            cols = [c for c in ("clm_id", "periodic", "arousal", "respiratory", "series_id") if c not in defined]
            if "stage" not in defined:
                cols.append("stage")
            ev = _merge_from(ev, rescored, cols)
            for c in ("clm_id", "periodic", "arousal"):
                if c not in defined:
                    basis[{"clm_id": CLM, "periodic": PLM, "arousal": AROUSAL}[c]] = "rescored"
            defined |= {"clm_id", "periodic", "arousal", "stage"}
        elif needs & {"clm_id", "periodic"}:
            notes.append(
                f"the {what}'s CLMs and PLM series are not compared and its PLM indices not scored: "
                f"they need rescoring its LMs on the recording's context ({why})"
            )
    if hyp is not None and len(ev):  # stages the scoring does not state: the recording's
        st = (
            ev["stage"].astype("string")
            if "stage" in ev.columns and "stage" in defined
            else pd.Series(pd.NA, index=ev.index, dtype="string")
        )
        missing = st.isna().to_numpy()
        if missing.any():
            st[missing] = hyp.stage_at(ev["onset"].to_numpy(dtype=float)[missing])
        ev["stage"] = st.array
        defined.add("stage")
    return ev, frozenset(defined), rsum, basis


def _labelled_plms_index(events: pd.DataFrame, tst_h: float | None) -> float | None:
    """PLMS index as labelled: PLM-labelled LMs in sleep, left/right labels that overlap counted
    once, per hour of the recording's scorable TST."""
    if not tst_h or tst_h <= 0 or "periodic" not in events.columns:
        return None
    lm = events[(events["trial_type"] == LM) & events["periodic"].astype("boolean").fillna(False)]
    lm = lm[lm["stage"].astype("string").isin(SLEEP_STAGES).fillna(False)] if "stage" in lm.columns else lm.iloc[0:0]
    if not len(lm):
        return 0.0
    on = lm["onset"].to_numpy(float)
    end = on + np.nan_to_num(lm["duration"].to_numpy(float))
    order = np.argsort(on, kind="stable")
    on, end = on[order], end[order]
    n, reach = 0, -np.inf
    for a, b in zip(on.tolist(), end.tolist()):
        if a > reach:
            n += 1
        reach = max(reach, b)
    return n / tst_h


def _indices(
    night: str,
    settings: ValidateSettings,
    det: Scoring,
    det_sum: dict[str, Any] | None,
    ref: Scoring,
    ref_events: pd.DataFrame,
    ref_rsum: dict[str, Any] | None,
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    plm = (det_sum or {}).get("plm") or {}
    tst = plm.get("scorable_tst_h", plm.get("tst_h"))
    for name in settings.indices:
        d = index_value(det_sum, name)
        found = False
        if ref.summary is not None:
            rows.append(
                {"index": name, "detected": d, "reference": index_value(ref.summary, name), "reference_basis": "scored"}
            )
            found = True
        if ref_rsum is not None:
            rows.append(
                {"index": name, "detected": d, "reference": index_value(ref_rsum, name), "reference_basis": "rescored"}
            )
            found = True
        if name == "plms_index" and ref.format == "truth" and ref.truth_expected:
            rows.append(
                {
                    "index": name,
                    "detected": d,
                    "reference": index_value({"plm": ref.truth_expected}, name),
                    "reference_basis": "truth",
                }
            )
            found = True
        if name == "plms_index" and ref.format == "annotations" and ref.plm_labelled:
            rows.append(
                {
                    "index": name,
                    "detected": d,
                    "reference": _labelled_plms_index(ref_events, float(tst) if tst else None),
                    "reference_basis": "labelled",
                }
            )
            found = True
        if not found:
            rows.append({"index": name, "detected": d, "reference": None, "reference_basis": "unavailable"})
    t = pd.DataFrame(rows, columns=["index", "detected", "reference", "reference_basis"])
    t.insert(0, "night", night)
    t["detected"] = pd.to_numeric(t["detected"], errors="coerce").astype(float)
    t["reference"] = pd.to_numeric(t["reference"], errors="coerce").astype(float)
    t["difference"] = t["detected"] - t["reference"]
    return t[list(INDEX_COLUMNS)]


@verbose
def validate_night(
    results: str | os.PathLike[str] | None,
    reference: str | os.PathLike[str],
    *,
    against: str | os.PathLike[str] | None = None,
    night: str | None = None,
    labels: LabelTable | str | os.PathLike[str] | None = None,
    settings: ValidateSettings | None = None,
    verbose: bool | str | int | None = None,
) -> NightValidation:
    """Validate one night.

    ``results``: a results folder written by ``somnomyo score`` (or a reviewed folder).
    ``reference``: an annotation file (NSRR XML, EDF+, CSV/TSV), a results or reviewed folder, or
    the simulator's ``truth.json``. With ``against`` (two-scorer mode) ``against`` is compared
    with ``reference`` and ``results`` (optional) only gives the recording's start, duration,
    stages and context. ``labels``: a :class:`LabelTable` or a label-table file. Raises
    :class:`SomnomyoError` (one line) for bad input.
    """
    return _validate_night(
        results,
        reference,
        against=against,
        night=night,
        labels=_labels(labels),
        settings=settings or ValidateSettings(),
    )


def _validate_night(
    results: Any, reference: Any, *, against: Any, night: str | None, labels: LabelTable, settings: ValidateSettings
) -> NightValidation:
    frame = read_scoring(results, labels=labels) if results is not None else None
    if frame is not None and frame.format not in ("results", "reviewed"):
        raise SomnomyoError("not a results folder (give a folder written by `somnomyo score`)", frame.path)
    ref = read_scoring(reference, labels=labels)
    if against is not None:
        det, mode = read_scoring(against, labels=labels), "two-scorer"
    elif frame is not None:
        det, mode = frame, "results"
    else:
        raise SomnomyoError(
            "give a results folder to validate, or --against a second scoring of the reference's "
            "night (two-scorer mode)"
        )
    base = frame if frame is not None else ref
    start, duration = base.start, base.duration_s
    if base is ref and duration is None and len(ref.events):
        duration = float((ref.events["onset"] + ref.events["duration"].fillna(0)).max())
    ref = align(ref, start=start, duration_s=duration, what="reference")
    if det is not frame:
        det = align(det, start=start, duration_s=duration, what="compared scoring")
    notes: list[str] = []
    frame_summary = frame.summary if frame is not None else None
    ctx, why = load_context(frame.results_dir if frame is not None else None)
    hyp = (context_hypnogram(ctx) if ctx is not None else None) or summary_hypnogram(frame_summary) or ref.hypnogram
    if hyp is None:
        notes.append("no hypnogram for the recording: every event is in stage UNS")
    channels = leg_channels(frame_summary)
    ref_ev, ref_def, ref_rsum, basis = _prepare(
        ref, ctx=ctx, why=why, channels=channels, hyp=hyp, notes=notes, what="reference"
    )
    det_ev, det_def, det_rsum, _ = _prepare(
        det, ctx=ctx, why=why, channels=channels, hyp=hyp, notes=notes, what="compared scoring"
    )
    night = night or (Path(results).name if results is not None else Path(str(against)).stem)
    rule = MatchRule.from_settings(settings)
    agreement, pairs = compare_events(
        det_ev, det_def, ref_ev, ref_def, night=night, rule=rule, settings=settings, reference_basis=basis
    )
    det_sum = det.summary if det.summary is not None else det_rsum
    indices = _indices(night, settings, det, det_sum, ref, ref_ev, ref_rsum)
    for n in notes:
        logger.warning("%s: %s", night, n)
    return NightValidation(
        night=night,
        mode=mode,
        detected=det,
        reference=ref,
        agreement=agreement,
        pairs=pairs,
        indices=indices,
        rule=rule,
        settings=settings,
        notes=notes,
    )


# ----------------------------------------------------------------------------- many nights
@verbose
def validate_nights(
    items: Iterable[tuple[str | None, Any, Any, Any]],
    *,
    labels: LabelTable | str | os.PathLike[str] | None = None,
    settings: ValidateSettings | None = None,
    verbose: bool | str | int | None = None,
) -> Validation:
    """Validate ``(night, results, reference, against)`` tuples; night ids must be unique."""
    settings = settings or ValidateSettings()
    table = _labels(labels)
    out: list[NightValidation] = []
    for night, results, reference, against in items:
        out.append(_validate_night(results, reference, against=against, night=night, labels=table, settings=settings))
    ids = [n.night for n in out]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise SomnomyoError(f"night id(s) {', '.join(map(repr, twice))} appear more than once; give a night column")
    return Validation(out, settings=settings)


def read_manifest(path: str | os.PathLike[str]) -> list[tuple[str | None, Path | None, Path, Path | None]]:
    """Rows of a validation manifest: CSV/TSV with columns ``results``, ``reference`` and optional
    ``night`` (id) and ``against``; relative paths resolve against the manifest's folder."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SomnomyoError("manifest not found", p) from None
    except (OSError, UnicodeDecodeError) as err:
        raise SomnomyoError(f"cannot read the manifest: {err}", p) from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) < 2:
        raise SomnomyoError(
            "empty manifest; expected a header (results, reference[, night, against]) and a row per night", p
        )
    delim = "\t" if "\t" in lines[0] else ","
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delim))
    header = [h.strip().lower() for h in rows[0]]

    def col(names: Sequence[str]) -> int | None:
        return next((header.index(n) for n in names if n in header), None)

    ci_res, ci_ref, ci_night, ci_ag = (
        col(_MANIFEST_RESULTS),
        col(_MANIFEST_REFERENCE),
        col(_MANIFEST_NIGHT),
        col(_MANIFEST_AGAINST),
    )
    if ci_ref is None or (ci_res is None and ci_ag is None):
        raise SomnomyoError(
            f"manifest needs the columns results and reference (optional: night, against); found "
            f"{', '.join(header) or 'none'}",
            p,
        )

    def path_at(cells: list[str], ci: int | None) -> Path | None:
        if ci is None or not cells[ci]:
            return None
        q = Path(cells[ci])
        return q if q.is_absolute() else p.parent / q

    out = []
    for i, row in enumerate(rows[1:], start=2):
        cells = [c.strip() for c in row] + [""] * (len(header) - len(row))
        ref = path_at(cells, ci_ref)
        if ref is None:
            raise SomnomyoError(f"line {i}: empty reference", p)
        if path_at(cells, ci_res) is None and path_at(cells, ci_ag) is None:
            raise SomnomyoError(f"line {i}: empty results", p)
        out.append(
            (
                cells[ci_night] if ci_night is not None and cells[ci_night] else None,
                path_at(cells, ci_res),
                ref,
                path_at(cells, ci_ag),
            )
        )
    return out


def validate_manifest(
    manifest: str | os.PathLike[str],
    *,
    labels: LabelTable | str | os.PathLike[str] | None = None,
    settings: ValidateSettings | None = None,
    verbose: bool | str | int | None = None,
) -> Validation:
    """Validate every night of a manifest (see :func:`read_manifest`)."""
    return validate_nights(read_manifest(manifest), labels=labels, settings=settings, verbose=verbose)
