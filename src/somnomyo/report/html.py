"""Self-contained HTML: escaping, tables, figures as data URIs, and the page with its CSS.

No CDN, no external CSS or JavaScript: one file that opens offline and prints cleanly
(print CSS: no navigation, figures and tables kept whole on a page, folded sections unfolded).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from somnomyo import __version__
from somnomyo.report.figures import Rendered
from somnomyo.report.text import fmt

__all__ = ["esc", "table", "kv_table", "figure", "page", "json_script", "flatten", "LEVEL_ORDER"]

LEVEL_ORDER = ("review", "note", "info")

CSS = """
:root { --ink:#1b1f24; --muted:#5b6470; --line:#d7dce2; --soft:#f4f6f8; --accent:#2a5d8f;
        --review:#a4441b; --note:#8a6d00; --info:#2a5d8f; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); margin: 0; background: #fff; }
main { max-width: 1120px; margin: 0 auto; padding: 1.2rem 1.5rem 3rem; }
header.top { border-bottom: 3px solid var(--accent); margin-bottom: 1rem; padding-bottom: .4rem; }
h1 { font-size: 1.55rem; margin: .2rem 0; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; padding-bottom: .2rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.02rem; margin: 1.2rem 0 .4rem; }
.sub { color: var(--muted); font-size: .9rem; }
nav.toc { font-size: .88rem; margin: .6rem 0 1rem; }
nav.toc a { margin-right: .9rem; color: var(--accent); text-decoration: none; }
.banner { border-left: 6px solid var(--review); background: #fdf1ea; padding: .7rem 1rem; margin: .8rem 0;
          font-weight: 600; }
.banner.note { border-color: var(--note); background: #fbf6e0; }
ul.plain li { margin: .25rem 0; }
table { border-collapse: collapse; margin: .4rem 0 1rem; font-size: .88rem; }
th, td { border: 1px solid var(--line); padding: .22rem .55rem; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fbfcfd; }
.cols { display: flex; flex-wrap: wrap; gap: 0 2rem; }
figure { margin: .6rem 0 1.4rem; }
figure img { max-width: 100%; height: auto; display: block; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: .85rem; margin-top: .3rem; }
.finding { border: 1px solid var(--line); border-left: 6px solid var(--info); padding: .5rem .9rem; margin: .6rem 0; }
.finding.review { border-left-color: var(--review); }
.finding.note { border-left-color: var(--note); }
.level { display: inline-block; font-size: .75rem; font-weight: 700; text-transform: uppercase;
         letter-spacing: .04em; padding: 0 .4rem; border-radius: 3px; color: #fff; background: var(--info); }
.level.review { background: var(--review); } .level.note { background: var(--note); }
.clinical { color: var(--muted); font-size: .9rem; }
details { margin: .5rem 0; } summary { cursor: pointer; color: var(--accent); }
footer { margin-top: 3rem; color: var(--muted); font-size: .8rem; border-top: 1px solid var(--line); padding-top: .5rem; }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  nav.toc, summary, .noprint { display: none !important; }
  details > * { display: block; }
  details::details-content { content-visibility: visible; display: block; }
  h2 { break-after: avoid; }
  figure, table, .finding, .banner { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def esc(value: Any) -> str:
    """HTML-escaped text of ``value`` (numbers via :func:`somnomyo.report.text.fmt`)."""
    if isinstance(value, (int, float, bool)) or value is None:
        return html.escape(fmt(value, digits=2) if isinstance(value, float) else fmt(value))
    return html.escape(str(value))


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], *, cls: str = "") -> str:
    """An HTML table; numeric cells right-aligned."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for r in rows:
        body.append(
            "<tr>"
            + "".join(f'<td class="num">{esc(v)}</td>' if _is_num(v) else f"<td>{esc(v)}</td>" for v in r)
            + "</tr>"
        )
    c = f' class="{cls}"' if cls else ""
    return f"<table{c}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def flatten(block: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Scalars of a nested summary block as ``{"a.b.c": value}`` (lists are skipped)."""
    out: dict[str, Any] = {}
    for k, v in block.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, key + "."))
        elif v is None or isinstance(v, (int, float, str, bool)):
            out[key] = v
    return out


def kv_table(block: Mapping[str, Any], *, skip: Sequence[str] = ()) -> str:
    """Two-column table of the scalars of ``block`` (nested keys dotted); lists summarized."""
    rows: list[tuple[str, Any]] = []
    for k, v in block.items():
        if k in skip:
            continue
        if isinstance(v, Mapping):
            rows += [(f"{k}.{kk}", vv) for kk, vv in flatten(v).items()]
        elif isinstance(v, list):
            if v and all(isinstance(x, (int, float, str)) for x in v) and len(v) <= 8:
                rows.append((k, ", ".join(fmt(x, digits=3) for x in v)))
            elif v:
                rows.append((k, f"{len(v)} items (see summary.json)"))
        else:
            rows.append((k, v))
    return table(("quantity", "value"), rows, cls="kv")


def figure(rendered: Rendered, caption: str = "") -> str:
    """``<figure>`` with the SVG as a base64 data URI (an ``<img>``: self-contained, printable)."""
    data = base64.b64encode(rendered.svg).decode("ascii")
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return (
        f'<figure id="fig-{esc(rendered.name)}"><img src="data:image/svg+xml;base64,{data}" '
        f'alt="{esc(rendered.title)}">{cap}</figure>'
    )


def json_script(element_id: str, data: Any) -> str:
    """Machine-readable data embedded in the page (not executed)."""
    text = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return f'<script type="application/json" id="{esc(element_id)}">{text}</script>'


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str, str]], *, banners: Sequence[str] = ()) -> str:
    """The whole document. ``sections``: ``(id, heading, html)``; ``banners`` shown on top."""
    toc = " ".join(f'<a href="#{esc(sid)}">{esc(h)}</a>' for sid, h, _ in sections)
    body = "".join(f'<section id="{esc(sid)}"><h2>{esc(h)}</h2>{content}</section>' for sid, h, content in sections)
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="somnomyo {esc(__version__)}">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>"
        f'<header class="top"><h1>{esc(title)}</h1><div class="sub">{esc(subtitle)}</div></header>'
        + "".join(banners)
        + f'<nav class="toc">{toc}</nav>{body}'
        f"<footer>somnomyo {esc(__version__)}, {esc(now)}. Supports clinical review; it does not replace "
        "it.</footer></main></body></html>\n"
    )
