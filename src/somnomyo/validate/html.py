"""validation.html: one self-contained page (figures embedded as SVG data URIs, no network),
in the style of the night report (:mod:`somnomyo.report.html`).

Sections: the matching rule and the nights; event agreement per kind (whole night) and per
stage; index agreement (Bland-Altman bias, limits of agreement, ICC with its CI and form,
correlations, PLMS category kappa); a Bland-Altman plot and a scatter plot per index; notes
and unknown labels. The rule is printed beside every table and figure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from somnomyo.report.html import esc, figure, json_script, page, table

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from somnomyo.validate.run import Validation

__all__ = ["validation_page", "plot_index", "plot_bland_altman", "plot_scatter"]

_DPI = 100
_STAGE_COLS = ("all", "W", "N1", "N2", "N3", "R")


def _f(v: Any, digits: int = 2) -> Any:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return None
    return round(float(v), digits) if isinstance(v, (float, np.floating)) else v


def plot_bland_altman(
    ax: Axes, detected: np.ndarray, reference: np.ndarray, entry: dict[str, Any], *, name: str
) -> None:
    """Difference (detected - reference) against the mean of both, with bias and limits of agreement."""
    mean, diff = (detected + reference) / 2.0, detected - reference
    ax.scatter(mean, diff, s=22, color="tab:blue", edgecolor="white", linewidth=0.5, zorder=3)
    for key, style, label in (("bias", "-", "bias"), ("loa_low", "--", "95 % LoA"), ("loa_high", "--", None)):
        v = entry.get(key)
        if v is not None:
            ax.axhline(
                v,
                color="tab:red" if key == "bias" else "0.4",
                linestyle=style,
                linewidth=1.0,
                label=label and f"{label} {v:.2f}",
            )
    ax.axhline(0.0, color="0.8", linewidth=0.8, zorder=1)
    ax.set_xlabel("mean of detected and reference")
    ax.set_ylabel("detected - reference")
    ax.set_title(f"{name}: Bland-Altman (n = {entry.get('n_nights', 0)})", fontsize=10)
    if entry.get("bias") is not None:
        ax.legend(fontsize=7, loc="best", frameon=False)


def plot_scatter(ax: Axes, detected: np.ndarray, reference: np.ndarray, entry: dict[str, Any], *, name: str) -> None:
    """Detected against reference with the identity line."""
    ax.scatter(reference, detected, s=22, color="tab:blue", edgecolor="white", linewidth=0.5, zorder=3)
    top = max([float(np.nanmax(x)) for x in (detected, reference) if x.size] or [0.0])
    hi = (top if top > 0 else 1.0) * 1.05
    ax.plot([0, hi], [0, hi], color="0.5", linewidth=0.8, linestyle=":", label="identity")
    ax.set_xlim(0, hi)
    ax.set_ylim(0, hi)
    ax.set_xlabel("reference")
    ax.set_ylabel("detected")
    icc = entry.get("icc")
    ax.set_title(f"{name}: detected vs reference" + (f" (ICC {icc:.2f})" if icc is not None else ""), fontsize=10)


def plot_index(detected: np.ndarray, reference: np.ndarray, entry: dict[str, Any], *, name: str, rule: str) -> Figure:
    """Bland-Altman plot (left) and scatter plot with the identity line (right) of one index."""
    from somnomyo.report.figures import new_figure, set_margins

    fig = new_figure(9.6, 3.4)
    plot_bland_altman(fig.add_subplot(1, 2, 1), detected, reference, entry, name=name)
    plot_scatter(fig.add_subplot(1, 2, 2), detected, reference, entry, name=name)
    fig.text(0.01, 0.01, rule, fontsize=6.5, color="0.4")
    set_margins(fig, left=0.75, bottom=0.65, top=0.35)
    fig.subplots_adjust(wspace=0.3)
    return fig


def _event_table(agreement: pd.DataFrame) -> str:
    a = agreement[(agreement["side"] == "all") & (agreement["stage"] == "all")]
    rows = [
        (
            r.night,
            r.kind,
            int(r.n_reference),
            int(r.n_detected),
            int(r.tp),
            int(r.fn),
            int(r.fp),
            _f(r.precision),
            _f(r.recall),
            _f(r.f1),
            _f(r.onset_diff_median_s),
            _f(r.offset_diff_median_s),
            r.reference_basis,
            r.note or "",
        )
        for r in a.itertuples(index=False)
    ]
    return table(
        (
            "night",
            "kind",
            "reference",
            "detected",
            "TP",
            "FN",
            "FP",
            "precision",
            "recall",
            "F1",
            "onset bias (s)",
            "offset bias (s)",
            "reference basis",
            "note",
        ),
        rows,
    )


def _side_table(agreement: pd.DataFrame) -> str:
    a = agreement[(agreement["side"] != "all") & (agreement["stage"] == "all")]
    if not len(a):
        return "<p>No per-leg rows.</p>"
    rows = [
        (r.night, r.kind, r.side, int(r.n_reference), int(r.n_detected), int(r.tp), int(r.fn), int(r.fp), _f(r.f1))
        for r in a.itertuples(index=False)
    ]
    return table(("night", "kind", "side", "reference", "detected", "TP", "FN", "FP", "F1"), rows)


def _stage_table(agreement: pd.DataFrame) -> str:
    a = agreement[agreement["side"] == "all"]
    rows = []
    for (night, kind), g in a.groupby(["night", "kind"], sort=False):
        by = {r.stage: r for r in g.itertuples(index=False)}
        cells: list[Any] = [night, kind]
        for st in _STAGE_COLS:
            r = by.get(st)
            cells.append(
                "n/a"
                if r is None or r.f1 is None or (isinstance(r.f1, float) and np.isnan(r.f1))
                else f"{r.f1:.2f} ({int(r.tp)}/{int(r.n_reference)})"
            )
        rows.append(cells)
    return (
        '<p class="sub">F1 per stage (matched / reference events); a match or a miss counts in the stage '
        "of the reference event, a false detection in the stage of the detection.</p>"
        + table(("night", "kind", *[f"F1 {s}" for s in _STAGE_COLS]), rows)
    )


def _index_table(summary: dict[str, Any]) -> str:
    rows = []
    for name, e in summary.get("indices", {}).items():
        ci = e.get("icc_ci")
        cat = e.get("category") or {}
        rows.append(
            (
                name,
                e.get("n_nights"),
                _f(e.get("mean_detected")),
                _f(e.get("mean_reference")),
                _f(e.get("bias")),
                f"{e['loa_low']:.2f} to {e['loa_high']:.2f}" if e.get("loa_low") is not None else "n/a",
                _f(e.get("icc")),
                f"{ci[0]:.2f} to {ci[1]:.2f}" if ci else "n/a",
                _f(e.get("pearson_r")),
                _f(e.get("spearman_rho")),
                _f(cat.get("kappa")) if cat else "",
            )
        )
    form = next((e.get("icc_form") for e in summary.get("indices", {}).values()), "")
    return (
        table(
            (
                "index",
                "nights",
                "mean detected",
                "mean reference",
                "bias",
                "95 % limits of agreement",
                "ICC",
                "ICC 95 % CI",
                "Pearson r",
                "Spearman rho",
                "kappa (PLMS category)",
            ),
            rows,
        )
        + f'<p class="sub">ICC: {esc(form)}. Bias and limits: Bland &amp; Altman 1986 (bias ± 1.96 SD of the '
        "differences). Kappa: Cohen 1960, PLMS index below vs at or above the threshold.</p>"
    )


def _night_table(v: Validation) -> str:
    rows = []
    for n in v.nights:
        ref = n.reference
        rows.append(
            (
                n.night,
                n.mode,
                str(n.detected.path),
                str(ref.path),
                ref.format,
                _f(ref.offset_s, 1),
                ", ".join(f"{k} ({c})" for k, c in ref.unknown_labels.items()) or "none",
                "; ".join([*n.notes, *ref.warnings]) or "",
            )
        )
    return table(
        ("night", "mode", "detected", "reference", "reference format", "offset (s)", "unknown labels", "notes"), rows
    )


def validation_page(v: Validation, *, agreement: pd.DataFrame, summary: dict[str, Any]) -> str:
    """The whole validation.html document."""
    from somnomyo.report.figures import render

    rule = v.rule.describe()
    prim = v.primary_indices()
    figs: list[str] = []
    for name, entry in summary.get("indices", {}).items():
        rows = (
            prim[(prim["index"] == name) & prim["detected"].notna() & prim["reference"].notna()] if len(prim) else prim
        )
        if not len(rows):
            continue
        d, r = rows["detected"].to_numpy(float), rows["reference"].to_numpy(float)
        rend = render(
            plot_index(d, r, entry, name=name, rule=rule), f"index-{name}", f"{name} agreement", dpi=_DPI, png=False
        )
        figs.append(figure(rend, f"{name}: Bland-Altman plot (left) and detected against reference (right); {rule}"))
    fig_html = "".join(figs) if figs else "<p>No index has both a detected and a reference value.</p>"
    unknown = summary.get("unknown_labels") or {}
    notes = (
        ('<ul class="plain">' + "".join(f"<li>{esc(k)}: {esc(c)} event(s)</li>" for k, c in unknown.items()) + "</ul>")
        if unknown
        else "<p>None: every reference label was recognized.</p>"
    )
    sections = [
        ("rule", "Matching rule", f"<p><strong>{esc(rule)}</strong>.</p>" + _night_table(v)),
        (
            "events",
            "Event agreement",
            f'<p class="sub">{esc(rule)}</p>' + _event_table(agreement) + "<h3>Per leg</h3>" + _side_table(agreement),
        ),
        ("stages", "Per stage", _stage_table(agreement)),
        ("indices", "Index agreement", _index_table(summary)),
        ("plots", "Bland-Altman and scatter plots", fig_html),
        ("labels", "Unknown reference labels", notes),
    ]
    data = {"matching": summary.get("matching"), "indices": summary.get("indices")}
    body = page("somnomyo validation", f"{len(v.nights)} night(s); {rule}", sections)
    return body.replace("</main>", json_script("somnomyo-validation", data) + "</main>", 1)
