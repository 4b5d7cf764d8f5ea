"""Plain-language sentences for the reports.

Wording supports a clinician's review and never diagnoses: numbers are described
("were counted", "per hour of sleep"); comparisons with published ranges come only from
the ``interpretation`` block (``somnomyo.interpret``), which states its sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["fmt", "fmt_hours", "night_sentences", "CLOSING"]

CLOSING = (
    "These numbers describe this recording. They support, and do not replace, review of "
    "the recording and the clinical picture by a sleep clinician."
)


def fmt(value: Any, unit: str = "", *, digits: int = 1) -> str:
    """A number for people: ``None`` -> ``n/a``; floats with ``digits`` decimals; ints as is."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value}{unit}"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def fmt_hours(hours: float | None) -> str:
    """``7.25`` -> ``"7 h 15 min"``."""
    if hours is None:
        return "n/a"
    minutes = int(round(float(hours) * 60.0))
    h, m = divmod(minutes, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min"


def _plural(n: Any, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def night_sentences(summary: Mapping[str, Any]) -> list[str]:
    """Plain sentences about one night, from its ``summary.json`` content."""
    out: list[str] = []
    rec = summary.get("recording", {}) or {}
    stages = summary.get("stages", {}) or {}
    plm = summary.get("plm") or {}
    dur_h = (rec.get("duration_s") or 0.0) / 3600.0
    src = stages.get("source")
    first = f"The recording lasted {fmt_hours(dur_h)}"
    if plm.get("tst_h") is not None and src not in ("none", None):
        first += f"; {fmt_hours(plm.get('tst_h'))} of it was sleep"
    out.append(first + ".")
    if src == "none":
        out.append(
            "No sleep stages were available, so indices per hour of sleep could not be computed; "
            "a scored hypnogram would allow them."
        )
    elif src in ("auto", "emg_estimate"):
        out.append(
            "Sleep stages were estimated automatically, not scored by a person; the numbers per "
            "stage and per hour of sleep warrant review with the staging checked."
        )
    if plm:
        std = plm.get("standard", "")
        mono = plm.get("mono_lm_count")
        per_leg = (
            f"; a movement of both legs counts once, while the event table lists {mono} per-leg movements "
            "in sleep and wake"
            if mono is not None and mono != plm.get("lms_count")
            else ""
        )
        out.append(
            f"{_plural(plm.get('lms_count', 0), 'leg movement')} were counted during sleep "
            f"({fmt(plm.get('lm_index'), '/h')} of sleep{per_leg}); {fmt(plm.get('plms_count', 0))} of them were "
            f"part of periodic series, a PLMS index of {fmt(plm.get('plms_index'), '/h')} "
            f"(scored to {std.upper() if std == 'aasm' else 'WASM 2016' if std == 'wasm2016' else std})."
        )
        if plm.get("plmw_index") is not None:
            out.append(f"During wakefulness the PLMW index was {fmt(plm.get('plmw_index'), '/h')}.")
        if plm.get("plms_count"):
            out.append(
                f"{_plural(plm.get('plms_arousal_count', 0), 'periodic movement')} in sleep came with "
                f"an arousal ({fmt(plm.get('plms_arousal_index'), '/h')}); the periodicity index was "
                f"{fmt(plm.get('periodicity_index'), digits=2)} (0: no periodicity, 1: fully periodic)."
            )
        if plm.get("respiratory_lm_count"):
            out.append(
                f"{_plural(plm.get('respiratory_lm_count'), 'leg movement')} were related to "
                "breathing events and left out of the periodic analysis, as the standard asks."
            )
    fm = summary.get("fragmentary_myoclonus") or {}
    if fm:
        efm = fm.get("efm")
        efm_txt = (
            ""
            if efm is None
            else "; the AASM excessive fragmentary myoclonus criterion was " + ("met" if efm else "not met")
        )
        out.append(
            f"{_plural(fm.get('count', 0), 'fragmentary myoclonus potential')} were found "
            f"({fmt(fm.get('fm_index'), '/h')} of sleep){efm_txt}."
        )
    jerks = summary.get("jerks") or {}
    if jerks:
        ext = jerks.get("by_extent") or {}
        ext_txt = ", ".join(f"{v} {k}" for k, v in ext.items() if v)
        out.append(
            f"{_plural(jerks.get('count', 0), 'myoclonic jerk')} were detected "
            f"({fmt(jerks.get('index'), '/h')} of sleep{'; ' + ext_txt if ext_txt else ''})."
        )
    hyp = summary.get("hypnic_jerks") or {}
    if hyp:
        out.append(
            f"{_plural(hyp.get('count', 0), 'hypnic jerk')} occurred around "
            f"{_plural(hyp.get('n_sleep_onsets', 0), 'sleep onset')}."
        )
    cl = summary.get("clusters") or {}
    if cl.get("count"):
        out.append(
            f"{_plural(cl.get('count'), 'cluster')} of repeated jerks were found "
            f"(median rate {fmt(cl.get('median_rate_hz'), ' Hz')})."
        )
    nm = summary.get("negative_myoclonus") or {}
    if nm.get("count"):
        out.append(f"{_plural(nm.get('count'), 'brief silent period')} of muscle tone (negative myoclonus) were found.")
    cort = summary.get("cortical") or {}
    if cort:
        found = cort.get("transient_found")
        if found is True:
            out.append(
                f"A small EEG change before the jerks was found by back-averaging "
                f"({fmt(cort.get('latency_ms'), ' ms')} before the EMG onset, {cort.get('channel')}); "
                "this warrants review."
            )
        elif found is False:
            out.append("Back-averaging the EEG before the jerks showed no consistent change.")
        elif cort.get("reason"):
            out.append(f"EEG back-averaging gave no conclusion: {cort.get('reason')}.")
    q = (summary.get("quality") or {}).get("channels") or {}
    for label, qc in q.items():
        frac = qc.get("fraction_scorable")
        if frac is not None and frac < 1.0:
            why = ", ".join(k for k, v in (qc.get("unscorable_s") or {}).items() if v)
            out.append(
                f"{fmt(100.0 * (1.0 - frac))}% of the {label} signal could not be scored"
                f"{' (' + why + ')' if why else ''}."
            )
    if summary.get("interpretation"):
        out.append("The findings below set these numbers against published ranges, with their sources.")
    out.append(CLOSING)
    return out
