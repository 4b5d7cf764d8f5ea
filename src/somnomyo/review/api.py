"""The JSON API of the review server (every endpoint is documented in docs/review.md).

Each handler takes the :class:`~somnomyo.review.session.ReviewSession` and the request and
returns a JSON response; bad parameters are answered 400 with one line that names the parameter
and the allowed values. Authentication, host checks and security headers are the server's
(:mod:`somnomyo.review.server`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from somnomyo.errors import SomnomyoError
from somnomyo.review.layer import STATUSES, EditError
from somnomyo.review.session import MAX_BODY_BYTES, ReviewSession
from somnomyo.review.state import event_records

__all__ = ["ROUTES", "ApiError", "json_response"]

STAGE_CHOICES = ("W", "N1", "N2", "N3", "R", "UNS")
MAX_LIMIT = 100_000


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def error_response(status: int, message: str) -> Response:
    return json_response({"error": message}, status=status)


# ------------------------------------------------------------------ parameters
def _float(
    req: Request, name: str, *, default: float | None = None, lo: float | None = None, hi: float | None = None
) -> float | None:
    raw = req.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        v = float(raw)
    except ValueError:
        raise ApiError(400, f"parameter {name} must be a number; got {raw!r}") from None
    if not math.isfinite(v) or (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"{lo:g}..{hi:g}" if lo is not None and hi is not None else (f">= {lo:g}" if lo is not None else "finite")
        raise ApiError(400, f"parameter {name} must be {rng}; got {raw!r}")
    return v


def _int(req: Request, name: str, *, default: int | None, lo: int, hi: int) -> int | None:
    raw = req.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        v = int(raw)
    except ValueError:
        raise ApiError(400, f"parameter {name} must be an integer {lo}..{hi}; got {raw!r}") from None
    if not lo <= v <= hi:
        raise ApiError(400, f"parameter {name} must be an integer {lo}..{hi}; got {raw!r}")
    return v


def _choices(req: Request, name: str, allowed: tuple[str, ...]) -> list[str]:
    vals = [v for v in req.query_params.getlist(name) if v != ""]
    bad = [v for v in vals if v not in allowed]
    if bad:
        raise ApiError(400, f"parameter {name}: {', '.join(map(repr, bad))} not allowed; allowed: {', '.join(allowed)}")
    return vals


def _bool(req: Request, name: str) -> bool | None:
    raw = req.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ApiError(400, f"parameter {name} must be true or false; got {raw!r}")


async def _body(req: Request, *, optional: bool = False) -> Any:
    raw = await req.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, f"request body over {MAX_BODY_BYTES // 1024} KiB")
    if optional and not raw.strip():
        return {}
    ctype = req.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise ApiError(415, "the body must be JSON (Content-Type: application/json)")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "the body is not valid JSON") from None


def _layer_param(session: ReviewSession, req: Request, name: str = "layer") -> str | None:
    return req.query_params.get(name) or None


# ------------------------------------------------------------------ handlers
async def get_events(session: ReviewSession, req: Request) -> Response:
    night = session.reviewed(_layer_param(session, req))
    if night is None:  # the automatic layer
        night = session.automatic_night()
    start = _float(req, "start", lo=0.0)
    end = _float(req, "end", lo=0.0)
    kinds = _choices(req, "kind", session.kinds)
    stages = _choices(req, "stage", STAGE_CHOICES)
    statuses = _choices(req, "status", STATUSES)
    channels = [c for c in req.query_params.getlist("channel") if c]
    limit = _int(req, "limit", default=None, lo=1, hi=MAX_LIMIT)
    offset = _int(req, "offset", default=0, lo=0, hi=10**9) or 0
    view = night.view  # one snapshot: an edit may replace the view meanwhile
    rows = night.select(
        start=start,
        end=end,
        kinds=kinds,
        channels=channels,
        stages=stages,
        statuses=statuses,
        periodic=_bool(req, "periodic"),
        view=view,
    )
    total = int(rows.size)
    rows = rows[offset : None if limit is None else offset + limit]
    return json_response(event_records(view, rows), headers={"X-Total-Count": str(total)})


async def get_event(session: ReviewSession, req: Request) -> Response:
    ev = session.night.event(req.path_params["eid"])
    if ev is None:
        raise ApiError(404, f"no event with id {req.path_params['eid']!r}")
    return json_response(ev)


async def patch_event(session: ReviewSession, req: Request) -> Response:
    body = await _body(req)
    return json_response(await _in_thread(session.patch, req.path_params["eid"], body))


async def post_event(session: ReviewSession, req: Request) -> Response:
    body = await _body(req)
    return json_response(await _in_thread(session.add, body), status=201)


async def post_undo(session: ReviewSession, req: Request) -> Response:
    await _body(req, optional=True)
    return json_response(await _in_thread(session.undo))


async def get_summary(session: ReviewSession, req: Request) -> Response:
    layer = _layer_param(session, req)
    if layer == "automatic":
        return json_response(session.automatic_summary)
    night = session.reviewed(layer)
    assert night is not None
    return json_response({**night.summary, "review": night.review_block()})


async def get_headline(session: ReviewSession, req: Request) -> Response:
    return json_response(session.night.headline())


async def get_overview(session: ReviewSession, req: Request) -> Response:
    from somnomyo.review.overview import overview

    bin_s = _float(req, "bin_s", lo=1.0, hi=3600.0)
    response = json_response(overview(session, bin_s=bin_s))
    session.overview_served.set()
    return response


async def get_signal(session: ReviewSession, req: Request) -> Response:
    from somnomyo.review.data import MAX_WINDOW_S, WIDTH_RANGE

    if session.signals is None:
        raise ApiError(404, "this session serves no signals")
    src = session.signals
    start = _float(req, "start", lo=0.0)
    if start is None:
        raise ApiError(400, "parameter start is required (seconds from the recording start)")
    duration = _float(req, "duration", default=30.0, lo=0.0, hi=MAX_WINDOW_S)
    if not duration or duration <= 0:
        raise ApiError(400, f"parameter duration must be > 0 and <= {MAX_WINDOW_S:g} s")
    width = _int(req, "width", default=1000, lo=WIDTH_RANGE[0], hi=WIDTH_RANGE[1])
    labels = src.reader.labels
    asked = [c for c in req.query_params.getlist("channels") if c != ""]
    if len(asked) == 1 and asked[0] not in labels and "," in asked[0]:
        asked = [c for c in asked[0].split(",") if c]
    if not asked:
        asked = src.default_channels()
    bad = [c for c in asked if c not in labels]
    if bad:
        raise ApiError(
            400, f"parameter channels: {', '.join(map(repr, bad))} not in the recording; channels: {', '.join(labels)}"
        )
    asked = list(dict.fromkeys(asked))
    body = await _in_thread(src.window, start=start, duration=duration, channels=asked, width=width)
    return json_response(body)


async def get_layers(session: ReviewSession, req: Request) -> Response:
    auto = session.automatic_layer()
    out = [
        {"slug": "automatic", "scorer": None, "current": False, "edits": 0, "last_edit": None, "counts": auto.counts()}
    ]
    for slug in session.layer_slugs():
        try:
            night = await _in_thread(session.reviewed, slug)
        except SomnomyoError as err:  # an unreadable layer is listed with its problem
            out.append({"slug": slug, "scorer": None, "current": False, "error": str(err)})
            continue
        assert night is not None
        lay = night.layer
        out.append(
            {
                "slug": slug,
                "scorer": lay.scorer,
                "current": slug == session.slug,
                "edits": lay.n_edits,
                "last_edit": lay.last_edit,
                "counts": lay.counts(),
            }
        )
    return json_response(out)


async def get_agreement(session: ReviewSession, req: Request) -> Response:
    from somnomyo.review.agreement import agreement

    a = req.query_params.get("a") or session.slug
    b = req.query_params.get("b")
    if not b:
        raise ApiError(
            400, f"parameter b is required: a layer slug; layers: automatic, {', '.join(session.layer_slugs())}"
        )

    def layer_of(slug: str):
        night = session.reviewed(slug)
        return session.automatic_layer() if night is None else night.layer

    la, lb = await _in_thread(layer_of, a), await _in_thread(layer_of, b)
    return json_response(agreement(la, lb))


async def _in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run blocking work (rescoring, reading the EDF) off the event loop."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args, **kwargs)


#: (method, path, handler)
ROUTES: tuple[tuple[str, str, Callable[..., Any]], ...] = (
    ("GET", "/api/events", get_events),
    ("POST", "/api/events", post_event),
    ("GET", "/api/events/{eid}", get_event),
    ("PATCH", "/api/events/{eid}", patch_event),
    ("POST", "/api/undo", post_undo),
    ("GET", "/api/summary", get_summary),
    ("GET", "/api/headline", get_headline),
    ("GET", "/api/overview", get_overview),
    ("GET", "/api/signal", get_signal),
    ("GET", "/api/layers", get_layers),
    ("GET", "/api/agreement", get_agreement),
)


def handle(session: ReviewSession, fn: Callable[..., Any]) -> Callable[[Request], Any]:
    """Wrap a handler: API errors, edit errors and input errors become JSON errors (one line)."""

    async def endpoint(req: Request) -> Response:
        try:
            return await fn(session, req)
        except ApiError as err:
            return error_response(err.status, err.message)
        except EditError as err:
            return error_response(err.status, str(err))
        except SomnomyoError as err:
            return error_response(400, str(err))

    return endpoint
