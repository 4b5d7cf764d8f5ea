"""The files ``somnomyo validate`` writes (their column and key names are an interface):

* ``agreement.tsv``: one row per night x kind x side x stage (``kinds.AGREEMENT_COLUMNS``); with
  several nights, pooled rows with ``night`` = ``all`` follow (counts summed, then precision,
  recall and F1 of the sums; medians over every pooled match);
* ``pairs.tsv``: every match, miss and false detection of the whole-night matching
  (``PAIRS_COLUMNS``);
* ``indices.tsv``: one row per night x index x reference basis (``run.INDEX_COLUMNS``);
* ``summary.json``: the matching rule, per kind the pooled event agreement, per index
  ``bias``, ``sd``, ``loa_low``, ``loa_high``, ``icc``, ``icc_ci``, ``icc_form``, ``n_nights``,
  correlations (and for ``plms_index`` the category agreement), the nights and their notes;
* ``validation.html``: the same as a self-contained page (:mod:`somnomyo.validate.html`).

A new output folder appears only when complete (built under a temporary name, then renamed);
in an existing folder each file is replaced atomically.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from somnomyo import __version__
from somnomyo.io.jsonable import jsonable as _jsonable
from somnomyo.validate.kinds import AGREEMENT_COLUMNS
from somnomyo.validate.match import PAIR_COLUMNS, MatchRule, summarize_pairs
from somnomyo.validate.stats import median_iqr, prf

if TYPE_CHECKING:  # pragma: no cover
    from somnomyo.validate.run import Validation

__all__ = ["PAIRS_COLUMNS", "SUMMARY_KEYS", "pooled_agreement", "summary_dict", "write_outputs", "OUTPUT_FILES"]

OUTPUT_FILES = ("agreement.tsv", "pairs.tsv", "indices.tsv", "summary.json", "validation.html")
PAIRS_COLUMNS: dict[str, str] = {
    "night": "night id",
    "kind": "event kind (as in agreement.tsv)",
    **PAIR_COLUMNS,
    "stage": "stage of the reference event (of the detection for a false detection)",
    "detected_side": "leg of the detection",
    "reference_side": "leg of the reference event",
    "reference_label": "the reference event's label as written in the reference",
}
#: keys of an ``indices.<name>`` entry of summary.json
SUMMARY_KEYS: dict[str, str] = {
    "n_nights": "nights with both values",
    "bias": "mean of detected - reference",
    "sd": "SD of the differences (n - 1)",
    "loa_low": "bias - 1.96 SD (Bland-Altman lower limit)",
    "loa_high": "bias + 1.96 SD (upper limit)",
    "icc": "intraclass correlation (icc_form)",
    "icc_ci": "[lower, upper] confidence interval of the ICC (ci_level)",
    "icc_form": "which ICC",
    "ci_level": "confidence level of icc_ci",
    "mean_detected": "mean detected value",
    "mean_reference": "mean reference value",
    "reference_basis": "bases of the reference values used",
    "pearson_r": "Pearson's r",
    "pearson_p": "its two-sided p",
    "spearman_rho": "Spearman's rho",
    "spearman_p": "its two-sided p",
    "category": "plms_index only: threshold, n_nights, table (2 x 2 counts), percent_agreement, kappa",
}


def pooled_agreement(table: pd.DataFrame, pairs: pd.DataFrame, rule: MatchRule) -> pd.DataFrame:
    """Rows with ``night`` = ``all``: the nights' counts summed per kind x side x stage."""
    if not len(table):
        return table
    keys = ["kind", "side", "stage"]
    sums = table.groupby(keys, sort=False)[["tp", "fn", "fp"]].sum().reset_index()
    rows: list[dict[str, Any]] = []
    for r in sums.itertuples(index=False):
        tp, fn, fp = int(r.tp), int(r.fn), int(r.fp)
        row: dict[str, Any] = {
            "night": "all",
            "kind": r.kind,
            "side": r.side,
            "stage": r.stage,
            "n_reference": tp + fn,
            "n_detected": tp + fp,
            "tp": tp,
            "fn": fn,
            "fp": fp,
            **prf(tp=tp, fp=fp, fn=fn),
        }
        if len(pairs):
            m = pairs[(pairs["kind"] == r.kind) & (pairs["side"] == r.side) & (pairs["outcome"] == "match")]
            if r.stage != "all":
                m = m[m["stage"] == r.stage]
            for name in ("onset", "offset"):
                row[f"{name}_diff_median_s"], row[f"{name}_diff_iqr_s"] = median_iqr(
                    m[f"{name}_diff_s"].to_numpy(float)
                )
        first = table[(table["kind"] == r.kind) & (table["side"] == r.side)].iloc[0]
        row.update(
            matched_within=first["matched_within"],
            reference_basis=first["reference_basis"],
            rule=rule.describe(),
            note="" if tp + fn else f"the reference has no {r.kind} events: precision, recall and F1 undefined",
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS))


def _events_block(v: Validation) -> dict[str, Any]:
    """Per kind: the whole-night agreement pooled over nights (side all, stage all)."""
    out: dict[str, Any] = {}
    p = v.all_pairs
    for kind in dict.fromkeys(v.agreement["kind"]) if len(v.agreement) else []:
        sel = p[(p["kind"] == kind) & (p["side"] == "all")] if len(p) else p
        s: dict[str, Any] = (
            summarize_pairs(sel)
            if len(sel)
            else {"n_reference": 0, "n_detected": 0, "tp": 0, "fn": 0, "fp": 0, **prf(tp=0, fp=0, fn=0)}
        )
        if not s["n_reference"]:
            s["note"] = f"the reference has no {kind} events: precision, recall and F1 undefined"
        out[kind] = s
    return out


def summary_dict(v: Validation) -> dict[str, Any]:
    """The content of summary.json (documented key by key in docs/validation.md)."""
    unknown: dict[str, int] = {}
    for n in v.nights:
        for k, c in n.reference.unknown_labels.items():
            unknown[k] = unknown.get(k, 0) + c
        for k, c in n.detected.unknown_labels.items():
            unknown[k] = unknown.get(k, 0) + c
    modes = sorted({n.mode for n in v.nights})
    return _jsonable(
        {
            "somnomyo_version": __version__,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "mode": modes[0] if len(modes) == 1 else modes,
            "matching": {
                **v.rule.to_dict(),
                "within_side": v.settings.match_side,
                "within_channel_kinds": list(v.settings.match_channel_kinds),
            },
            "n_nights": len(v.nights),
            "events": _events_block(v),
            "indices": v.index_stats(),
            "unknown_labels": dict(sorted(unknown.items())),
            "settings": v.settings.to_dict(),
            "nights": [n.info() for n in v.nights],
        }
    )


def _tsv(df: pd.DataFrame, columns: list[str]) -> str:
    out = df.reindex(columns=columns)
    return out.to_csv(sep="\t", index=False, na_rep="n/a", float_format="%.6g", lineterminator="\n")


def write_outputs(v: Validation, out: Path, *, html: bool = True) -> dict[str, Path]:
    """Write every output of ``v`` into ``out`` (see the module docstring)."""
    from somnomyo.io.atomic import atomic_dir, write_text_atomic
    from somnomyo.validate.run import INDEX_COLUMNS

    agreement, pairs, indices = v.agreement, v.pairs, v.indices
    summary = v.summary()
    texts = {
        "agreement.tsv": _tsv(agreement, list(AGREEMENT_COLUMNS)),
        "pairs.tsv": _tsv(pairs, list(PAIRS_COLUMNS)),
        "indices.tsv": _tsv(indices, list(INDEX_COLUMNS)),
        "summary.json": json.dumps(summary, indent=1) + "\n",
    }
    if html:
        from somnomyo.validate.html import validation_page

        texts["validation.html"] = validation_page(v, agreement=agreement, summary=summary)

    def write(folder: Path) -> dict[str, Path]:
        return {name.rsplit(".", 1)[0]: write_text_atomic(folder / name, text) for name, text in texts.items()}

    if out.is_dir():
        return write(out)
    if out.exists():
        from somnomyo.errors import SomnomyoError

        raise SomnomyoError("exists and is not a folder", out)
    with atomic_dir(out, overwrite=False) as tmp:
        write(tmp)
    return {name.rsplit(".", 1)[0]: out / name for name in texts}
