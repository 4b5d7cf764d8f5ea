"""The per-night report: ``report.html`` (self-contained), ``figures/*.png|svg``, exports.

:func:`write_report` is what ``somnomyo score`` calls after writing the event table and
summary. Everything shown comes from the :class:`~somnomyo.pipeline.NightResult` (its
``summary()``, ``events``, ``hypnogram``, ``recording`` and result objects); blocks added by
new detectors (and the ``interpretation`` and ``cortical`` blocks) are rendered generically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from somnomyo._logging import logger, verbose
from somnomyo.io.atomic import atomic_path, write_text_atomic
from somnomyo.report import figures as F
from somnomyo.report.exports import event_labels, write_exports
from somnomyo.report.html import LEVEL_ORDER, esc, figure, json_script, kv_table, page, table
from somnomyo.report.options import ReportOptions
from somnomyo.report.quantities import BLOCK_TITLES, event_type_name, plain_rows
from somnomyo.report.snippets import clock, pick_representative, plot_snippets
from somnomyo.report.text import fmt, fmt_hours, night_sentences

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from somnomyo.io.channels import ChannelRoles
    from somnomyo.pipeline import NightResult

__all__ = ["write_report", "build_report", "NightReport", "RASTER_DATA_ID", "EVENTS_DATA_ID"]

RASTER_DATA_ID = "somnomyo-raster"
EVENTS_DATA_ID = "somnomyo-events"

#: blocks with their own section (not repeated in "other indices")
_OWN_SECTIONS = (
    "plm",
    "interpretation",
    "cortical",
    "quality",
    "settings",
    "recording",
    "channels",
    "stages",
    "annotations",
    "warnings",
    "somnomyo_version",
)
_PLM_MAIN = (
    ("plms_index", "PLMS index (periodic LMs per hour of sleep)", "/h"),
    ("plms_index_including_respiratory", "PLMS index, respiratory-related LMs kept", "/h"),
    ("plmw_index", "PLMW index (periodic LMs per hour of wake)", "/h"),
    ("lm_index", "LM index (LMs in sleep per hour of sleep)", "/h"),
    ("clm_index", "CLM index", "/h"),
    ("plms_arousal_index", "PLMS-arousal index", "/h"),
    ("respiratory_lm_index", "respiratory-related LM index", "/h"),
    ("short_imi_index", "short-IMI LM index (IMI below the PLM minimum)", "/h"),
    ("isolated_lm_index", "isolated LM index", "/h"),
    ("periodicity_index", "periodicity index (Ferri 2006)", ""),
    ("plm_index_time_in_bed", "PLM per hour in bed (no hypnogram needed)", "/h"),
    ("plms_count", "PLMS count", ""),
    ("plmw_count", "PLMW count", ""),
    ("lms_count", "leg movements in sleep (both legs merged: a bilateral movement counts once)", ""),
    ("lm_count", "leg movements in sleep and wake (both legs merged)", ""),
    ("mono_lm_count", "leg movements per leg, sleep and wake (leg-movement rows of the event table)", ""),
    ("plm_series_count", "PLM series", ""),
    ("mean_series_length", "mean series length (CLMs)", ""),
)
_TIME_BASE = (
    ("time_in_bed_h", "time in bed"),
    ("tst_h", "total sleep time"),
    ("scorable_tst_h", "scorable sleep time"),
    ("unscorable_h", "unscorable time"),
    ("sleep_period_h", "sleep period"),
    ("waso_h", "wake after sleep onset"),
    ("wake_h", "wake in bed"),
)
_STAGE_ROWS = ("W", "N1", "N2", "N3", "R")
_SOURCE_BANNER = {
    "auto": "Sleep stages were scored AUTOMATICALLY (not by a person). Review the hypnogram before relying on "
    "any number per stage or per hour of sleep.",
    "emg_estimate": "No usable EEG: sleep and wake were only ROUGHLY ESTIMATED from EMG activity. Numbers per "
    "hour of sleep warrant review against a scored hypnogram.",
    "none": "No hypnogram: every epoch is unscored, so indices per hour of sleep are not available. Give a "
    "scored hypnogram (--hypnogram FILE) or use automatic staging.",
}


@dataclass
class NightReport:
    """A built report: the HTML text, its rendered figures and the matplotlib figures."""

    html: str
    rendered: list[F.Rendered] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    raster: list[dict[str, Any]] = field(default_factory=list)


# ----------------------------------------------------------------------------- sections
_POSITION_TEXT = {
    "below": "below the criterion",
    "above": "ABOVE the criterion",
    "no_norm": "not graded: no published norm",
}


def _is_reference(f: Mapping[str, Any]) -> bool:
    ev = f.get("evidence")
    return str(f.get("id", "")).endswith("_reference") and isinstance(ev, Mapping) and "position" in ev


def _reference_table(refs: list[Mapping[str, Any]], population: str | None) -> str:
    """Every headline index of the night against its reference range for the population scored."""
    rows = []
    for f in refs:
        ev = f["evidence"]
        value = ev.get("value")
        shown = (
            "n/a" if value is None else f"{fmt(value, digits=2 if not ev.get('unit') else 1)} {ev.get('unit') or ''}"
        )
        rows.append(
            (
                ev.get("quantity", f.get("id")),
                shown.strip(),
                ev.get("reference", ""),
                _POSITION_TEXT["no_norm"]
                if ev.get("position") == "no_norm"
                else str(f.get("text_plain", "")).partition(": ")[2].rstrip(".")
                or _POSITION_TEXT.get(str(ev.get("position")), str(ev.get("position"))),
                f.get("source", ""),
            )
        )
    who = f" ({population})" if population else ""
    return (
        f"<h3>Where this night falls{esc(who)}</h3>"
        + table(("index", "this night", "reference range", "where this night falls", "source"), rows, cls="ranges")
        + '<p class="sub">Reference ranges are those of the population scored (set it with --age or --population); '
        "a number above a criterion is not a disorder on its own.</p>"
    )


def _findings_html(findings: list[Mapping[str, Any]], population: str | None = None) -> str:
    rank = {lev: i for i, lev in enumerate(LEVEL_ORDER)}
    refs = [f for f in findings if _is_reference(f)]
    out = [_reference_table(refs, population)] if refs else []
    rest = [f for f in findings if not _is_reference(f)]
    for f in sorted(rest, key=lambda f: rank.get(str(f.get("level")), len(rank))):
        level = str(f.get("level", "info"))
        ev = f.get("evidence") or {}
        ev_html = kv_table(ev) if isinstance(ev, Mapping) and ev else ""
        out.append(
            f'<div class="finding {esc(level)}"><span class="level {esc(level)}">{esc(level)}</span> '
            f"<strong>{esc(f.get('text_plain', ''))}</strong>"
            f'<p class="clinical">{esc(f.get("text_clinical", ""))}</p>'
            + (f'<p class="clinical">Source: {esc(f.get("source"))}</p>' if f.get("source") else "")
            + (f"<details><summary>evidence ({esc(f.get('id', ''))})</summary>{ev_html}</details>" if ev_html else "")
            + "</div>"
        )
    return "".join(out)


def _block_html(name: str, block: Mapping[str, Any], *, skip: list[str] | None = None, title: bool = True) -> str:
    """A summary block: its quantities with plain names and units, every value behind a disclosure."""
    rows = plain_rows(name, block)
    head = f"<h3>{esc(BLOCK_TITLES.get(name, name.replace('_', ' ').capitalize()))}</h3>" if title else ""
    return (
        "<div>"
        + head
        + (table(("quantity", "value", "unit"), rows) if rows else "")
        + f"<details><summary>all values of \u201c{esc(name)}\u201d as in summary.json</summary>"
        + kv_table(block, skip=skip or ())
        + "</details></div>"
    )


def _stage_table(summary: Mapping[str, Any]) -> str:
    """One row per stage; columns from ``plm.by_stage`` and every ``*by_stage`` dict of other blocks."""
    cols: list[tuple[str, dict[str, Any]]] = []
    by_stage = (summary.get("plm") or {}).get("by_stage") or {}
    for metric, title in (
        ("minutes", "scorable minutes in bed"),
        ("lm_count", "LMs (legs merged)"),
        ("lm_index", "LM /h"),
        ("plm_count", "PLMs"),
        ("plm_index", "PLM /h"),
    ):
        if by_stage:
            cols.append((title, {s: (v or {}).get(metric) for s, v in by_stage.items()}))
    for name, block in summary.items():
        if name in _OWN_SECTIONS or not isinstance(block, Mapping):
            continue
        for key, val in block.items():
            if (
                key.endswith("by_stage")
                and isinstance(val, Mapping)
                and val
                and all(not isinstance(v, (Mapping, list)) for v in val.values())
            ):
                what = BLOCK_TITLES.get(name, name.replace("_", " ")).split(" (")[0]
                cols.append((f"{what} /h" if "index" in key else f"{what} {key.replace('_', ' ')}", dict(val)))
    if not cols:
        return "<p>No per-stage numbers.</p>"
    stages = list(_STAGE_ROWS) + sorted({s for _, c in cols for s in c} - set(_STAGE_ROWS))
    rows = [[s] + [c.get(s) for _, c in cols] for s in stages]
    return table(["stage"] + [t for t, _ in cols], rows)


_HOUR_COLUMNS = {
    "hour": "hour of the night",
    "sleep_min": "sleep (min)",
    "plms_count": "PLMS",
    "plms_index": "PLMS /h",
}


def _hour_table(summary: Mapping[str, Any]) -> str:
    parts = []
    for name, block in summary.items():
        if not isinstance(block, Mapping):
            continue
        rows = block.get("by_hour")
        if isinstance(rows, list) and rows and isinstance(rows[0], Mapping):
            keys = list(rows[0].keys())
            names = [_HOUR_COLUMNS.get(k, k.replace("_", " ")) for k in keys]
            title = "Leg movements" if name == "plm" else BLOCK_TITLES.get(name, name.replace("_", " "))
            parts.append(
                f"<h3>{esc(title)} by hour of the night</h3>" + table(names, [[r.get(k) for k in keys] for r in rows])
            )
    return "".join(parts) or "<p>No per-hour numbers.</p>"


def _plm_tables(plm: Mapping[str, Any]) -> str:
    main = [(title, plm.get(key), unit) for key, title, unit in _PLM_MAIN if key in plm]
    tb = [(title, fmt_hours(plm.get(key))) for key, title in _TIME_BASE if key in plm]
    return (
        '<div class="cols"><div>'
        + table(("index", "value", "unit"), main)
        + "</div><div>"
        + table(("time base", "duration"), tb)
        + "</div></div>"
        + "<details><summary>all values of \u201cplm\u201d as in summary.json</summary>"
        + kv_table(plm, skip=("by_stage", "by_hour", "imi_histogram", "imi_histogram_log"))
        + "</details>"
    )


def _recording_html(night: NightResult, summary: Mapping[str, Any]) -> str:
    rec = summary.get("recording") or {}
    st = summary.get("stages") or {}
    ann = summary.get("annotations") or {}
    plm = summary.get("plm") or {}
    info = [
        ("file", rec.get("path")),
        ("type", rec.get("file_type")),
        ("start", rec.get("start") or "unknown"),
        ("duration", fmt_hours((rec.get("duration_s") or 0) / 3600.0)),
        ("gaps (EDF+D)", len(rec.get("gaps") or [])),
        ("scoring standard", night.settings.standard),
        ("sleep stages", f"{st.get('source')} ({st.get('path') or 'no file'})"),
        ("annotation files", ", ".join(ann.get("sources") or []) or "none"),
    ]
    if plm:
        info += [
            ("scorable sleep time", fmt_hours(plm.get("scorable_tst_h"))),
            ("unscorable time (legs)", fmt_hours(plm.get("unscorable_h"))),
        ]
    roles = (summary.get("channels") or {}).get("roles") or {}
    over = set((summary.get("channels") or {}).get("overridden") or [])
    role_rows = [
        (r, ", ".join(labs), "set by user" if r in over or any(x in over for x in labs) else "inferred")
        for r, labs in roles.items()
        if labs
    ]
    q = (summary.get("quality") or {}).get("channels") or {}
    q_rows = []
    total_s = float(rec.get("duration_s") or 0.0)
    for label, c in q.items():
        frac = c.get("fraction_scorable")
        uns = _quality_text(c.get("unscorable_s") or {}, total_s)
        flg = _quality_text(c.get("flagged_s") or {}, total_s)
        q_rows.append(
            (
                label,
                c.get("role") or "",
                None if frac is None else round(100.0 * frac, 1),
                uns or "none",
                flg or "none",
                c.get("unit_warning") or "",
            )
        )
    counts = st.get("counts") or {}
    epoch_s = float(getattr(night.hypnogram, "epoch_s", 30.0) or 30.0)
    warnings = summary.get("warnings") or []
    s_rows = [
        (
            s["group"],
            s["name"],
            s["value"] if not isinstance(s["value"], (list, tuple)) else ", ".join(map(str, s["value"])),
            s.get("unit", ""),
            s.get("source", ""),
            "UNCONFIRMED" if s.get("unconfirmed") else "",
        )
        for s in night.settings.sources()
    ]
    return (
        table(("item", "value"), info)
        + "<h3>Channels and roles used</h3>"
        + table(("role", "channel(s)", "how"), role_rows)
        + "<h3>Signal quality</h3>"
        + (
            table(
                (
                    "channel",
                    "role",
                    "% of the recording scorable",
                    "left out of scoring (why, how long)",
                    "flagged but scored (why, how long)",
                    "unit warning",
                ),
                q_rows,
            )
            + '<p class="sub">Left out: time excluded from the index denominators (WASM 2016). Flagged but '
            "scored: the stretch was scored after filtering (mains hum and ECG are removed from the EMG before "
            "detection); the flag says where to look twice.</p>"
            if q_rows
            else "<p>No quality check was run.</p>"
        )
        + "<h3>Sleep stages, every epoch of the recording</h3>"
        + table(
            ["", *counts],
            [
                ["epochs", *counts.values()],
                ["minutes", *(round(float(n) * epoch_s / 60.0, 1) for n in counts.values())],
            ],
        )
        + '<p class="sub">Every scored epoch, in and out of bed; the per-stage table under Indices counts the '
        "scorable time in bed that the leg-movement indices use.</p>"
        + (
            '<h3>Warnings</h3><ul class="plain">' + "".join(f"<li>{esc(w)}</li>" for w in warnings) + "</ul>"
            if warnings
            else ""
        )
        + "<details><summary>every setting, with its source</summary>"
        + table(("group", "name", "value", "unit", "source", ""), s_rows)
        + "</details>"
    )


#: what each signal-quality reason means (somnomyo.signal.quality)
_QUALITY_REASONS = {
    "flat": "flat signal (electrode off or dead)",
    "clipping": "amplifier clipping",
    "mains": "mains hum (50/60 Hz) dominates",
    "ecg": "heartbeat (ECG) artefact",
    "gap": "gap in the recording",
}


def _quality_text(seconds: Mapping[str, Any], total_s: float) -> str:
    """``{"ecg": 24975.0}`` -> ``"heartbeat (ECG) artefact: 6 h 56 min (87% of the recording)"``."""
    parts = []
    for reason, sec in seconds.items():
        if not sec:
            continue
        share = f" ({100.0 * float(sec) / total_s:.0f}% of the recording)" if total_s > 0 else ""
        when = fmt_hours(float(sec) / 3600.0) if float(sec) >= 60.0 else f"{float(sec):.0f} s"
        parts.append(f"{_QUALITY_REASONS.get(reason, reason)}: {when}{share}")
    return "; ".join(parts) or "none"


def _event_counts(events: pd.DataFrame) -> str:
    """Events per type and channel (an event on several channels counts on each) and in all."""
    if len(events) == 0:
        return "<p>No events were detected.</p>"
    df = pd.DataFrame(
        {
            "trial_type": events["trial_type"].astype("string").fillna("").to_numpy(dtype=object),
            "channel": events["channel"].astype("string").fillna("").str.split(",").to_numpy(dtype=object),
        }
    )
    total = df["trial_type"].value_counts()
    df = df.explode("channel")
    df["channel"] = df["channel"].astype(str).str.strip()
    tab = pd.crosstab(df["trial_type"], df["channel"])
    rows = [[event_type_name(str(t))] + [int(v) for v in tab.loc[t]] + [int(total.get(t, 0))] for t in tab.index]
    return (
        "<h3>Events by type and channel</h3>"
        + table(["event type (what one event is)"] + list(tab.columns) + ["events (rows of events.tsv)"], rows)
        + '<p class="sub">An event on several channels (a jerk seen in several muscles) is counted on each '
        "channel and once under \u201cevents\u201d. Leg movements are counted per leg here; the leg-movement "
        "indices merge a movement of both legs into one.</p>"
    )


def _event_list(night: NightResult, max_rows: int) -> str:
    ev = night.events
    if len(ev) == 0:
        return ""
    shown = ev.iloc[:max_rows]
    cols = [
        c
        for c in (
            "duration",
            "trial_type",
            "channel",
            "side",
            "stage",
            "periodic",
            "respiratory",
            "arousal",
            "amplitude_uv",
            "extent",
        )
        if c in shown.columns
    ]
    start = night.recording.start
    on = shown["onset"].to_numpy(dtype=float)
    data = {c: shown[c].astype(object).where(shown[c].notna(), None).tolist() for c in cols}
    rows = [
        [clock(start, t), round(float(t), 3)]
        + [(round(v, 3) if isinstance(v, float) else ("" if v is None else v)) for v in vals]
        for t, *vals in zip(on, *(data[c] for c in cols))
    ]
    note = f"<p>First {max_rows} of {len(ev)} events; all are in events.tsv.</p>" if len(ev) > max_rows else ""
    return (
        f'<p class="sub">{len(ev)} events; the list is left out of print (all are in events.tsv).</p>'
        f'<details class="noprint"><summary>list of all {len(shown)} events</summary>{note}'
        + table(["clock", "onset (s)"] + cols, rows)
        + "</details>"
    )


# ----------------------------------------------------------------------------- figures
def _role_labels(roles: ChannelRoles | None, role: str) -> list[str]:
    if roles is None:
        return []
    try:
        return list(roles.all(role))
    except (AttributeError, KeyError):
        return []


def _figures(
    night: NightResult, options: ReportOptions
) -> tuple[list[tuple[str, str, Figure, str]], list[dict[str, Any]]]:
    """(name, title, figure, caption) of every figure, and the raster rows."""
    out: list[tuple[str, str, Figure, str]] = []
    loaded = list(night.recording.signals)
    rows = F.raster_rows(night.events, channel_order=loaded)
    plm = night.results.get("plm")
    uns = getattr(getattr(plm, "timebase", None), "unscorable", None)
    overview = F.plot_overview(
        night.hypnogram,
        rows,
        duration_s=night.recording.duration,
        unscorable=uns,
        options=options,
        start=night.recording.start,
    )
    out.append(
        (
            "overview",
            "Hypnogram and detected events",
            overview,
            "Hypnogram (REM in red) with every detected event under it, one row per event type and "
            "channel; periodic leg movements in red"
            + ("; grey: time unscorable for leg movements" if uns is not None and len(uns[0]) else "")
            + (
                "; time axis: clock time."
                if night.recording.start is not None
                else "; time axis: hours from the recording start (the file gives no start time)."
            ),
        )
    )
    if plm is not None and hasattr(plm, "plot_imi_histogram"):
        out.append(
            (
                "imi_histogram",
                "Inter-movement intervals",
                F.plot_imi(plm, options=options),
                "Intervals between successive candidate leg movements in sleep (2-s bins, Ferri 2006); "
                "the shaded band is the PLM interval window of the standard used.",
            )
        )
    ev = night.events
    tt = ev["trial_type"].astype("string").fillna("")
    lm_rows = ev.loc[(tt == "leg_movement").to_numpy(dtype=bool)]
    if "clm_id" in lm_rows.columns:  # one panel per movement: a bilateral LM shows both legs anyway
        dup = lm_rows["clm_id"].notna().to_numpy(dtype=bool) & lm_rows["clm_id"].duplicated().to_numpy(dtype=bool)
        lm_rows = lm_rows.loc[~dup]
    lms = pick_representative(lm_rows, options.n_lm_snippets, loaded=loaded)
    legs = [lab for role in ("leg_left", "leg_right", "legs") for lab in _role_labels(night.roles, role)]
    fig: Figure | None = plot_snippets(
        lms,
        night.recording,
        settings=night.settings.conditioning,
        margin_s=options.lm_margin_s,
        options=options,
        context=legs,
    )
    if fig is not None:
        out.append(
            (
                "lm_examples",
                "Example leg movements",
                fig,
                f"Representative leg movements (amplitude near the median) with both legs shown, EMG band-pass "
                f"filtered "
                f"{night.settings.conditioning.highpass_hz:g}-{night.settings.conditioning.lowpass_hz:g} Hz; "
                "green: onset, red: offset as detected.",
            )
        )
    others = [
        pick_representative(ev.loc[(tt == t).to_numpy(dtype=bool)], 1, loaded=loaded)
        for t in pd.unique(tt)
        if t and t != "leg_movement"
    ]
    others = [o for o in others if len(o)]
    if others:
        fig = plot_snippets(
            pd.concat(others),
            night.recording,
            settings=night.settings.conditioning,
            margin_s=options.brief_margin_s,
            options=options,
        )
        if fig is not None:
            out.append(
                (
                    "other_examples",
                    "Example brief events",
                    fig,
                    "One representative event of each other type, on each muscle involved (filtered as "
                    "above); green: onset, red: offset.",
                )
            )
    cortical = night.results.get("cortical")
    if cortical is not None:
        try:
            fig = F.plot_cortical(cortical, options=options)
        except Exception as err:  # a drawing problem must not lose the report
            logger.warning("jerk-locked EEG average not drawn: %s: %s", type(err).__name__, err)
            fig = None
        if fig is not None:
            out.append(
                (
                    "jerk_locked_eeg",
                    "Jerk-locked EEG average",
                    fig,
                    "EEG averaged on the onsets of the myoclonic jerks (time 0: EMG onset)"
                    + (
                        ", with the band expected by chance from random onsets in the same stages."
                        if _has_band(cortical)
                        else "; no chance band is drawn: too few jerks for the surrogate test."
                    ),
                )
            )
    return out, rows


def _has_band(cortical: Any) -> bool:
    """Whether the jerk-locked average has a surrogate band to draw (the caption names it only then)."""
    lo = getattr(cortical, "band_lo", None)
    if isinstance(lo, Mapping):
        return any(v is not None and len(v) for v in lo.values())
    return lo is not None and np.ndim(lo) == 1 and len(lo) > 0


# ----------------------------------------------------------------------------- build / write
def build_report(night: NightResult, *, options: ReportOptions | None = None, png: bool = True) -> NightReport:
    """Build ``report.html`` in memory (figures rendered as SVG, and as PNG unless ``png=False``)."""
    options = options or ReportOptions()
    summary = night.summary()
    figs, rows = _figures(night, options)
    rendered = {name: F.render(fig, name, title, dpi=options.dpi, png=png) for name, title, fig, _ in figs}
    captions = {name: cap for name, _, _, cap in figs}

    def fig_html(name: str) -> str:
        return figure(rendered[name], captions[name]) if name in rendered else ""

    banners = []
    src = night.hypnogram.source
    if src != "annotations":
        banners.append(
            f'<div class="banner">{esc(_SOURCE_BANNER.get(src, f"Sleep stages from: {src}; review them."))}</div>'
        )
    sections: list[tuple[str, str, str]] = [
        (
            "summary",
            "Summary",
            '<ul class="plain">' + "".join(f"<li>{esc(s)}</li>" for s in night_sentences(summary)) + "</ul>",
        ),
    ]
    findings = summary.get("interpretation")
    if isinstance(findings, list) and findings:
        population = (summary.get("subject") or {}).get("population")
        sections.append(("findings", "Findings", _findings_html(findings, population)))
    events_data = {
        "onset": [round(float(x), 4) for x in night.events["onset"]],
        "duration": [round(float(x), 4) for x in np.nan_to_num(night.events["duration"].to_numpy(float))],
        "trial_type": night.events["trial_type"].astype("string").fillna("").tolist(),
        "channel": night.events["channel"].astype("string").fillna("").tolist(),
        "label": [str(x) for x in event_labels(night.events)],
    }
    sections.append(
        (
            "overview",
            "Night overview",
            fig_html("overview")
            + _event_counts(night.events)
            + json_script(RASTER_DATA_ID, rows)
            + json_script(EVENTS_DATA_ID, events_data),
        )
    )
    plm = summary.get("plm")
    idx = ""
    if plm:
        idx += "<h3>Leg movements</h3>" + _plm_tables(plm) + fig_html("imi_histogram")
    idx += "<h3>By sleep stage</h3>" + _stage_table(summary) + _hour_table(summary)
    blocks = []
    for name, block in summary.items():
        if name in _OWN_SECTIONS or not isinstance(block, Mapping):
            continue
        skip = ["by_hour"] + [
            k
            for k, v in block.items()
            if k.endswith("by_stage")
            and isinstance(v, Mapping)
            and v
            and all(not isinstance(x, (Mapping, list)) for x in v.values())
        ]
        blocks.append(_block_html(name, block, skip=skip))
    if blocks:
        idx += '<p class="sub">Per-stage values of these blocks are in the table above.</p>'
        idx += '<div class="cols">' + "".join(blocks) + "</div>"
    sections.append(("indices", "Indices", idx))
    examples = fig_html("lm_examples") + fig_html("other_examples")
    if examples:
        sections.append(("examples", "EMG examples", examples))
    cort = summary.get("cortical")
    if cort or "jerk_locked_eeg" in rendered:
        sections.append(
            (
                "cortical",
                "Jerk-locked EEG average",
                (_block_html("cortical", cort, title=False) if isinstance(cort, Mapping) else "")
                + fig_html("jerk_locked_eeg"),
            )
        )
    sections.append(("recording", "Recording and settings", _recording_html(night, summary)))
    ev_list = _event_list(night, options.max_event_rows)
    if ev_list:
        sections.append(("events", "Events", ev_list))
    rec = night.recording
    subtitle = (
        f"{Path(str(night.path)).name} · {rec.start.strftime('%Y-%m-%d %H:%M') if rec.start else 'start unknown'}"
        f" · {fmt_hours(rec.duration / 3600.0)} · {night.settings.standard}"
    )
    html = page("Sleep myoclonus report", subtitle, sections, banners=banners)
    return NightReport(html=html, rendered=list(rendered.values()), figures=[f for _, _, f, _ in figs], raster=rows)


def _write_pdf(report: NightReport, sentences: list[str], path: Path) -> Path:
    import textwrap

    from matplotlib.backends.backend_pdf import PdfPages

    first = F.new_figure(8.27, 11.69)
    text = "\n".join(textwrap.fill(s, 95) for s in sentences)
    first.text(0.06, 0.95, "Sleep myoclonus report", fontsize=16, va="top", weight="bold")
    first.text(0.06, 0.90, text, fontsize=9, va="top", linespacing=1.5)
    with atomic_path(path) as tmp:
        with PdfPages(tmp) as pdf:
            pdf.savefig(first)
            for fig in report.figures:
                pdf.savefig(fig)
    return path


@verbose
def write_report(
    night: NightResult,
    out_dir: str | os.PathLike[str],
    *,
    pdf: bool = False,
    exports: bool = True,
    options: ReportOptions | None = None,
    verbose: bool | str | int | None = None,
) -> dict[str, Path]:
    """Write ``report.html``, ``figures/<name>.png|.svg`` and (``exports``) ``events.edf`` and
    ``events.xml`` into ``out_dir``; with ``pdf`` also ``report.pdf``. Every file atomically.

    Returns ``{"report": ..., "figures": <folder>, "events_edf": ..., "events_xml": ...[, "report_pdf"]}``.
    """
    options = options or ReportOptions()
    out = Path(out_dir)
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    report = build_report(night, options=options)
    for r in report.rendered:
        with atomic_path(fig_dir / f"{r.name}.svg") as tmp:
            tmp.write_bytes(r.svg)
        with atomic_path(fig_dir / f"{r.name}.png") as tmp:
            tmp.write_bytes(r.png)
    paths = {"report": write_text_atomic(out / "report.html", report.html), "figures": fig_dir}
    if exports:
        paths.update(write_exports(night, out, record_s=options.edf_record_s))
    if pdf:
        paths["report_pdf"] = _write_pdf(report, night_sentences(night.summary()), out / "report.pdf")
    logger.info("report written to %s", paths["report"])
    return paths
