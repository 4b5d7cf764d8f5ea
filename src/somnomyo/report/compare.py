"""Follow-up across nights: every scalar index of each night's ``summary.json`` side by side.

``compare_nights(["night1/", "night2/"])`` reads each ``summary.json`` (written by
``somnomyo score``) and returns a :class:`Comparison` with a table (one row per index, one
column per night, then the change between consecutive nights), plain sentences about the
main indices, a plot and a self-contained ``compare.html``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from somnomyo.errors import SomnomyoError
from somnomyo.io.atomic import atomic_path, write_text_atomic
from somnomyo.report.html import esc, figure, page, table
from somnomyo.report.options import ReportOptions

CLOSING_NIGHTS = (
    "These numbers describe the recordings compared. They support, and do not replace, review "
    "of the recordings and the clinical picture by a sleep clinician."
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["compare_nights", "Comparison", "MAIN_INDICES", "read_summary", "scalar_indices"]

#: (dotted key, readable name, unit) of the indices described in sentences and plotted
MAIN_INDICES: tuple[tuple[str, str, str], ...] = (
    ("plm.plms_index", "PLMS index", "/h"),
    ("plm.plmw_index", "PLMW index", "/h"),
    ("plm.lm_index", "LM index", "/h"),
    ("plm.plms_arousal_index", "PLMS-arousal index", "/h"),
    ("plm.periodicity_index", "periodicity index", ""),
    ("fragmentary_myoclonus.fm_index", "fragmentary myoclonus index", "/h"),
    ("jerks.index", "myoclonic jerk index", "/h"),
    ("hypnic_jerks.count", "hypnic jerk count", ""),
    ("negative_myoclonus.index", "negative myoclonus index", "/h"),
    ("plm.tst_h", "total sleep time", " h"),
)
#: top-level keys of summary.json that are not indices
_NOT_INDICES = (
    "somnomyo_version",
    "recording",
    "channels",
    "stages",
    "annotations",
    "settings",
    "warnings",
    "quality",
    "interpretation",
)


def read_summary(path: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]]:
    """``(summary file, content)`` of a night folder (or of a ``summary.json`` path).

    A results folder with a ``manifest.json`` is checked against it first
    (:func:`somnomyo.io.results_folder.open_results`: every file it lists present and unchanged;
    the recording is not needed); a folder without one (written by an older somnomyo) is read
    with a warning that it could not be checked.
    """
    from somnomyo._logging import logger
    from somnomyo.io.results_folder import MANIFEST_FILE, open_results

    p = Path(path)
    if p.is_dir() and (p / MANIFEST_FILE).exists():
        res = open_results(p, check_recording=False)
        return res.file("summary.json"), res.summary()
    if p.is_dir() and (p / "summary.json").is_file():
        logger.warning("%s: no %s (written by an older somnomyo?): its files could not be checked", p, MANIFEST_FILE)
    f = p / "summary.json" if p.is_dir() else p
    if not f.is_file():
        what = (
            "no summary.json in this folder (run `somnomyo score` first)"
            if p.is_dir()
            else "not found (give a folder written by `somnomyo score`)"
        )
        raise SomnomyoError(what, p)
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SomnomyoError(f"unreadable summary: {type(err).__name__}: {err}", f) from None
    if not isinstance(data, dict):
        raise SomnomyoError("not a somnomyo summary (expected a JSON object)", f)
    return f, data


def scalar_indices(summary: Mapping[str, Any]) -> dict[str, float]:
    """Every numeric scalar of the index blocks, dotted keys (``plm.by_stage.N2.plm_index``).

    Lists (histograms, per-hour rows) and the non-index sections (recording, settings,
    quality, ...) are left out; booleans become 0/1 (e.g. ``fragmentary_myoclonus.efm``).
    """
    out: dict[str, float] = {}

    def walk(obj: Any, key: str) -> None:
        if isinstance(obj, Mapping):
            for k, v in obj.items():
                walk(v, f"{key}.{k}" if key else str(k))
        elif isinstance(obj, bool):
            out[key] = float(obj)
        elif isinstance(obj, (int, float)):
            out[key] = float(obj)
        elif obj is None:
            out[key] = math.nan

    for name, block in summary.items():
        if name not in _NOT_INDICES and isinstance(block, Mapping):
            walk(block, name)
    return out


def _direction(a: float, b: float, name: str, unit: str, la: str, lb: str) -> str:
    if unit == "" and float(a).is_integer() and float(b).is_integer():
        digits = 0
    else:
        digits = 2 if unit == "" and abs(max(a, b, key=abs)) < 10 else 1
    va, vb = f"{a:.{digits}f}{unit}", f"{b:.{digits}f}{unit}"
    if va == vb:
        return f"{name[0].upper() + name[1:]} stayed at {va} between {la} and {lb}."
    verb = "rose" if b > a else "fell"
    return f"{name[0].upper() + name[1:]} {verb} from {va} to {vb} between {la} and {lb}."


@dataclass
class Comparison:
    """Indices of several nights. ``table``: one row per index (dotted key), one column per
    night label, then ``change <label_i> - <label_i-1>`` columns. ``sentences``: plain text
    about the main indices (``MAIN_INDICES``) and anything that limits the comparison."""

    labels: list[str]
    paths: list[Path]
    summaries: list[dict[str, Any]]
    table: pd.DataFrame
    sentences: list[str] = field(default_factory=list)

    @property
    def main(self) -> pd.DataFrame:
        """The rows of ``table`` for the main indices present, with readable names."""
        keys = [k for k, _, _ in MAIN_INDICES if k in self.table.index]
        names = {k: f"{n} ({u.strip()})" if u.strip() else n for k, n, u in MAIN_INDICES}
        return self.table.loc[keys].rename(index=names)

    def plot(self, *, options: ReportOptions | None = None) -> Figure:
        """The main indices across nights, one small panel each."""
        from somnomyo.report.figures import new_figure, set_margins

        options = options or ReportOptions()
        present = [
            (k, n, u)
            for k, n, u in MAIN_INDICES
            if k in self.table.index and np.isfinite(self.table.loc[k, self.labels].to_numpy(float)).any()
        ]
        n = max(len(present), 1)
        ncols = min(3, n)
        nrows = int(math.ceil(n / ncols))
        fig = new_figure(options.figure_width_in, 2.0 * nrows + 0.4)
        axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
        x = np.arange(len(self.labels))
        for ax, (k, name, unit) in zip(axes, present):
            y = self.table.loc[k, self.labels].to_numpy(dtype=float)
            ax.plot(x, y, marker="o", color="tab:blue", lw=1.5)
            whole = bool(np.all(np.mod(y[np.isfinite(y)], 1.0) == 0.0))
            for xi, yi in zip(x, y):
                if np.isfinite(yi):
                    txt = f"{yi:.0f}" if whole else (f"{yi:.1f}" if abs(yi) >= 10 or unit else f"{yi:.2f}")
                    ax.annotate(
                        txt, (xi, yi), textcoords="offset points", xytext=(0, 5), ha="center", fontsize="x-small"
                    )
            ax.set_title(f"{name}{' (' + unit.strip() + ')' if unit.strip() else ''}", fontsize="small", loc="left")
            ax.set_xticks(x)
            ax.set_xticklabels(self.labels, fontsize="small")
            ax.set_xlim(-0.4, len(self.labels) - 0.6)
            finite = y[np.isfinite(y)]
            lo, hi = min(0.0, float(finite.min())), max(0.0, float(finite.max()))
            span = hi - lo if hi > lo else 1.0
            ax.set_ylim(lo - (0.08 * span if lo < 0 else 0.0), hi + 0.3 * span)  # room for the value labels
            ax.grid(axis="y", color="0.9", lw=0.6)
        for ax in axes[len(present) :]:
            ax.set_visible(False)
        if not present:
            axes[0].text(0.5, 0.5, "no index in common", ha="center", va="center", transform=axes[0].transAxes)
        set_margins(fig, left=0.6, top=0.35, bottom=0.4, hspace=0.8)
        fig.subplots_adjust(wspace=0.25)
        return fig

    def to_text(self) -> str:
        """The main-index table and the sentences, for a terminal."""
        main = self.main
        body = main.to_string(float_format=lambda v: f"{v:.2f}", na_rep="n/a") if len(main) else "(no index)"
        return body + "\n\n" + "\n".join(self.sentences)

    def html(self, *, options: ReportOptions | None = None) -> str:
        """``compare.html`` as text (self-contained, like the per-night report)."""
        from somnomyo.report.figures import render

        options = options or ReportOptions()
        rendered = render(self.plot(options=options), "compare", "Main indices across nights", dpi=options.dpi)
        nights = [
            (
                lab,
                str(p.parent),
                (s.get("recording") or {}).get("start") or "unknown",
                (s.get("plm") or {}).get("standard") or (s.get("settings") or {}).get("standard") or "",
                (s.get("stages") or {}).get("source") or "",
                s.get("somnomyo_version") or "",
            )
            for lab, p, s in zip(self.labels, self.paths, self.summaries)
        ]

        def rows(df: pd.DataFrame) -> list[list[Any]]:
            return [
                [str(k)] + [None if not np.isfinite(v) else float(v) for v in r.to_numpy(dtype=float)]
                for k, r in df.iterrows()
            ]

        sections = [
            (
                "summary",
                "Summary",
                '<ul class="plain">' + "".join(f"<li>{esc(s)}</li>" for s in self.sentences) + "</ul>",
            ),
            ("plot", "Main indices", figure(rendered, "Each panel: one index across the nights compared.")),
            ("main", "Main indices table", table(["index"] + list(self.main.columns), rows(self.main))),
            (
                "nights",
                "Nights compared",
                table(("label", "folder", "recording start", "standard", "stages", "somnomyo"), nights),
            ),
            (
                "all",
                "Every index",
                "<details><summary>all "
                + str(len(self.table))
                + " indices</summary>"
                + table(["index"] + list(self.table.columns), rows(self.table))
                + "</details>",
            ),
        ]
        banners = []
        if any(s.startswith("Caution") for s in self.sentences):
            banners.append(
                '<div class="banner note">' + esc(next(s for s in self.sentences if s.startswith("Caution"))) + "</div>"
            )
        return page("Sleep myoclonus follow-up", " · ".join(self.labels), sections, banners=banners)

    def write_html(self, path: str | os.PathLike[str], *, options: ReportOptions | None = None) -> Path:
        """Write ``compare.html`` atomically."""
        return write_text_atomic(path, self.html(options=options))

    def write(self, out_dir: str | os.PathLike[str], *, options: ReportOptions | None = None) -> dict[str, Path]:
        """Write ``compare.csv``, ``compare.html`` and ``figures/compare.png|.svg`` into ``out_dir``."""
        from somnomyo.report.figures import render

        options = options or ReportOptions()
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        with atomic_path(out / "compare.csv") as tmp:
            self.table.to_csv(tmp, index_label="index", float_format="%.6g", na_rep="n/a")
        r = render(self.plot(options=options), "compare", "Main indices across nights", dpi=options.dpi)
        figs = out / "figures"
        figs.mkdir(exist_ok=True)
        with atomic_path(figs / "compare.png") as tmp:
            tmp.write_bytes(r.png)
        with atomic_path(figs / "compare.svg") as tmp:
            tmp.write_bytes(r.svg)
        return {
            "compare_csv": out / "compare.csv",
            "compare_html": self.write_html(out / "compare.html", options=options),
            "compare_figure": figs / "compare.png",
        }


def _sentences(labels: list[str], table_: pd.DataFrame, summaries: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    standards = [(s.get("settings") or {}).get("standard") or (s.get("plm") or {}).get("standard") for s in summaries]
    if len(set(standards)) > 1:
        out.append(
            "Caution: the nights were scored to different standards ("
            + ", ".join(f"{lab}: {st}" for lab, st in zip(labels, standards))
            + "); their indices are not "
            "directly comparable."
        )
    sources = [(s.get("stages") or {}).get("source") for s in summaries]
    auto = [lab for lab, src in zip(labels, sources) if src not in ("annotations", None)]
    if auto:
        out.append(
            f"Sleep stages of {', '.join(auto)} were not scored by a person; changes in indices per hour "
            "of sleep warrant review with the staging checked."
        )
    for key, name, unit in MAIN_INDICES:
        if key not in table_.index:
            continue
        vals = table_.loc[key, labels].to_numpy(dtype=float)
        for i in range(1, len(labels)):
            a, b = vals[i - 1], vals[i]
            if np.isfinite(a) and np.isfinite(b):
                out.append(_direction(float(a), float(b), name, unit, labels[i - 1], labels[i]))
        if len(labels) > 2 and np.isfinite(vals[0]) and np.isfinite(vals[-1]):
            out.append(
                _direction(float(vals[0]), float(vals[-1]), name, unit, labels[0], labels[-1]).replace(
                    " between ", " overall, between "
                )
            )
    out.append(
        "Night-to-night variation of these indices is common; a change supports review of the clinical "
        "course and is not a conclusion by itself."
    )
    out.append(CLOSING_NIGHTS)
    return out


def compare_nights(dirs: Sequence[str | os.PathLike[str]], *, labels: Sequence[str] | None = None) -> Comparison:
    """Compare the nights scored into ``dirs`` (folders with ``summary.json``), in the order given.

    ``labels`` names the nights (default ``night 1``, ``night 2``, ...). Raises
    :class:`SomnomyoError` for a missing or unreadable summary, fewer than two nights, or a
    ``labels`` count that does not match.
    """
    dirs = list(dirs)
    if len(dirs) < 2:
        raise SomnomyoError(f"need at least two nights to compare, got {len(dirs)}", "compare")
    if labels is None:
        labels = [f"night {i}" for i in range(1, len(dirs) + 1)]
    labels = [str(x) for x in labels]
    if len(labels) != len(dirs):
        raise SomnomyoError(f"--labels: {len(labels)} label(s) for {len(dirs)} nights; give one per night", "compare")
    if len(set(labels)) != len(labels):
        raise SomnomyoError(f"--labels: labels must differ, got {', '.join(labels)}", "compare")
    read = [read_summary(d) for d in dirs]
    paths = [p for p, _ in read]
    summaries = [s for _, s in read]
    per_night = [scalar_indices(s) for s in summaries]
    keys: list[str] = []
    seen: set[str] = set()
    for d in per_night:
        for k in d:
            if k not in seen:
                seen.add(k)
                keys.append(k)
    tab = pd.DataFrame(
        {lab: [d.get(k, math.nan) for k in keys] for lab, d in zip(labels, per_night)},
        index=pd.Index(keys, name="index"),
        dtype=float,
    )
    for i in range(1, len(labels)):
        tab[f"change {labels[i]} - {labels[i - 1]}"] = tab[labels[i]] - tab[labels[i - 1]]
    if len(labels) > 2:
        tab[f"change {labels[-1]} - {labels[0]}"] = tab[labels[-1]] - tab[labels[0]]
    return Comparison(
        labels=labels,
        paths=paths,
        summaries=summaries,
        table=tab,
        sentences=_sentences(labels, tab, summaries) + _trend_findings(summaries),
    )


def _trend_findings(summaries: list[dict[str, Any]]) -> list[str]:
    """Findings that need several nights (the rising-frequency rule of the infant interpretation),
    judged on the last night with the earlier ones as its history."""
    from somnomyo.interpret import interpret

    subject = summaries[-1].get("subject") or {}
    findings = interpret(
        summaries[-1],
        population=subject.get("population") or "auto",
        age_days=subject.get("age_days"),
        prior=summaries[:-1],
    )
    return [f"{f.text_plain} ({f.text_clinical})" for f in findings if f.id == "rising_frequency"]
