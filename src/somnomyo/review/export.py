"""``somnomyo review RESULTS --export DIR``: the reviewed night as a results folder of its own.

Written (docs/review.md, "Export"): ``events_reviewed.tsv`` (the reviewed, rescored events
with their review id, status and whether adjusted), ``summary_reviewed.json`` (same keys as
summary.json plus ``review``), ``events_reviewed.edf`` (EDF+ annotations) and
``events_reviewed.xml`` (NSRR XML) by the exporters of ``score`` (:mod:`somnomyo.report.exports`),
``report_reviewed.html`` (reviewed by NAME, the counts, the automatic and the reviewed indices
side by side, the reviewed findings) built with the report's own HTML pieces
(:mod:`somnomyo.report.html`), the scorer's journal, and a ``manifest.json``
(:func:`somnomyo.io.results_folder.build_manifest`) that says ``reviewed_by``. The folder appears
whole or not at all (built under a temporary name, then renamed).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from somnomyo.errors import SomnomyoError
from somnomyo.review.session import ReviewSession
from somnomyo.review.state import HEADLINE, dotted

__all__ = ["export_review", "reviewed_events", "review_line", "REVIEWED_FILES"]

REVIEWED_FILES = {
    "events": "events_reviewed.tsv",
    "summary": "summary_reviewed.json",
    "events_edf": "events_reviewed.edf",
    "events_xml": "events_reviewed.xml",
    "report": "report_reviewed.html",
    "journal": "review_journal.jsonl",
}


def reviewed_events(session: ReviewSession) -> pd.DataFrame:
    """The reviewed night's events (rejected ones left out), rescored, in the events.tsv shape with
    ``id``, ``review_status`` and ``adjusted`` after the standard columns."""
    from somnomyo.events import COLUMNS, make_events

    v = session.night.view
    live = v.loc[v["status"].to_numpy(dtype=object) != "rejected"].reset_index(drop=True)
    table = live.drop(
        columns=[c for c in live.columns if c.startswith("_") or c.startswith("automatic_") or c in ("origin",)]
    )
    table = table.rename(columns={"status": "review_status"})
    extra = [c for c in table.columns if c not in COLUMNS]
    order = (
        list(COLUMNS)
        + [c for c in extra if c not in ("id", "review_status", "adjusted")]
        + ["id", "review_status", "adjusted"]
    )
    return make_events(
        table[[c for c in order if c in table.columns]], id="object", review_status="object", adjusted="boolean"
    )


def review_line(scorer: str, counts: Mapping[str, int]) -> str:
    """ "reviewed by NAME, N accepted / M rejected / K added / L adjusted" """
    return (
        f"reviewed by {scorer}, {counts.get('accepted', 0)} accepted / {counts.get('rejected', 0)} rejected / "
        f"{counts.get('added', 0)} added / {counts.get('adjusted', 0)} adjusted"
    )


def _start(session: ReviewSession) -> dt.datetime | None:
    s = session.context.start
    try:
        return dt.datetime.fromisoformat(s) if s else None
    except ValueError:
        return None


def _report(session: ReviewSession, events: pd.DataFrame) -> str:
    from somnomyo.report.html import esc, page, table
    from somnomyo.report.night import _event_counts, _findings_html, _stage_table

    night = session.night
    counts = session.layer.counts()
    auto, rev = session.automatic_summary, night.summary
    rows = []
    for key, label, unit in HEADLINE:
        a, r = dotted(auto, key), dotted(rev, key)
        if a is None and r is None:
            continue
        rows.append((label, a, r, unit))
    edits = [
        (
            e.get("time", ""),
            e.get("op", ""),
            e.get("id", ""),
            json.dumps(e.get("before"), ensure_ascii=False),
            json.dumps(e.get("after"), ensure_ascii=False),
        )
        for e in session.journal.entries
    ]
    rec = (auto.get("recording") or {}).get("path") or str(session.folder.recording_path)
    line = review_line(session.scorer, counts)
    sections = [
        (
            "review",
            "Review",
            f"<p><strong>{esc(line)}</strong>; {counts.get('unreviewed', 0)} events left "
            "unreviewed (kept as scored).</p>"
            + table(("index", "automatic", "reviewed", "unit"), rows)
            + '<p class="sub">Reviewed figures: the reviewed events rescored by the same scoring code as '
            "the automatic ones (somnomyo.rescore).</p>",
        ),
        (
            "findings",
            "Findings (reviewed)",
            _findings_html(list(rev.get("interpretation") or []))
            + "<details><summary>findings of the automatic scoring</summary>"
            + _findings_html(list(auto.get("interpretation") or []))
            + "</details>",
        ),
        ("stages", "By sleep stage (reviewed)", _stage_table(rev)),
        ("events", "Reviewed events", _event_counts(events)),
        (
            "edits",
            "Edits",
            table(("time (UTC)", "edit", "event", "before", "after"), edits)
            if edits
            else "<p>No edits: every event is as scored.</p>",
        ),
    ]
    banner = f'<div class="banner note">{esc(line)}</div>'
    return page("somnomyo: reviewed night", f"{rec} \u2014 {line}", sections, banners=[banner])


def export_review(session: ReviewSession, out: Path) -> dict[str, Path]:
    """Write the reviewed outputs of ``session`` into the new folder ``out`` (docs/review.md)."""
    from somnomyo.events import write_events_tsv
    from somnomyo.io.atomic import atomic_dir, write_text_atomic
    from somnomyo.io.results_folder import MANIFEST_FILE, _read_manifest, build_manifest, prepare_out, sha256_file
    from somnomyo.report.exports import write_events_edf, write_events_xml

    out = Path(out)
    src = session.path.resolve()
    target = out.resolve()
    if target == src or src in target.parents:
        raise SomnomyoError("is the results folder under review (or inside it); export to another folder", out)
    if out.is_dir() and any(out.iterdir()):
        try:
            man = _read_manifest(out)
        except SomnomyoError:
            man = None
        if man is None or "reviewed_by" not in man:
            raise SomnomyoError("exists and is not an earlier review export; choose an empty or new folder", out)
    rec = session.folder.recording_path
    man_src = session.folder.manifest
    prepare_out(out, recording=rec, recording_sha256=man_src["recording"]["sha256"], overwrite=True)
    events = reviewed_events(session)
    ctx = session.context
    start = _start(session)
    summary = {**session.night.summary, "review": session.night.review_block()}
    with atomic_dir(out, overwrite=True) as tmp:
        write_events_tsv(events, tmp / REVIEWED_FILES["events"])
        write_text_atomic(tmp / REVIEWED_FILES["summary"], json.dumps(summary, indent=2, allow_nan=False))
        write_events_edf(events, tmp / REVIEWED_FILES["events_edf"], duration_s=float(ctx.duration_s), start=start)
        write_events_xml(
            events,
            tmp / REVIEWED_FILES["events_xml"],
            hypnogram=ctx.hypnogram,
            duration_s=float(ctx.duration_s),
            start=start,
        )
        write_text_atomic(tmp / REVIEWED_FILES["report"], _report(session, events))
        journal = tmp / REVIEWED_FILES["journal"]
        journal.write_bytes(
            b"".join(
                (json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
                for e in session.journal.entries
            )
        )
        reviewed_by = {
            "scorer": session.scorer,
            "slug": session.slug,
            "edits": session.layer.n_edits,
            "counts": session.layer.counts(),
            "journal_sha256": sha256_file(journal),
            "source": str(src),
            "source_created": man_src.get("created"),
        }
        man = build_manifest(
            tmp,
            recording=rec,
            recording_sha256=man_src["recording"]["sha256"],
            standard=ctx.settings.standard,
            command=list(sys.argv) if sys.argv else None,
            extra={"reviewed_by": reviewed_by},
        )
        write_text_atomic(tmp / MANIFEST_FILE, json.dumps(man, indent=1))
    return {k: out / v for k, v in REVIEWED_FILES.items()} | {"manifest": out / MANIFEST_FILE}
