"""The review server: Starlette on uvicorn, bound to 127.0.0.1, with a Jupyter-style access token.

* ``GET /?token=TOKEN``: the page (``static/index.html``); without the right token 403.
* ``GET /static/NAME``: the page's packaged files, looked up in a table made at start-up from
  the package's ``static/`` folder (no request path reaches the file system).
* ``/api/...``: the JSON API (:mod:`somnomyo.review.api`); every request needs
  ``Authorization: Bearer TOKEN`` (none: 401, wrong: 403). The token is never accepted from a
  cookie or the query string by the API, so another site cannot make a write through a link or
  a form.
* The ``Host`` header must name this server (DNS-rebinding protection), a write whose ``Origin``
  is another site is refused, no CORS headers are sent, and every response carries a strict
  Content-Security-Policy (no inline scripts), ``nosniff``, ``no-referrer`` and ``DENY`` framing.
"""

from __future__ import annotations

import hmac
import mimetypes
import secrets
import socket
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from somnomyo._logging import logger
from somnomyo.review.session import ReviewSession

__all__ = ["ReviewServer", "build_app", "make_token", "SECURITY_HEADERS", "static_files"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
)
#: the longest the rescoring waits for the page's first overview before it is warmed, s
WARM_AFTER_S = 2.0
_WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
_WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def make_token() -> str:
    """A fresh random access token (32 bytes, URL-safe base64), as Jupyter makes one per server."""
    return secrets.token_urlsafe(32)


def static_files() -> dict[str, tuple[bytes, str]]:
    """The page's packaged files: ``{name: (content, media type)}`` read once from the package."""
    out: dict[str, tuple[bytes, str]] = {}
    root = resources.files("somnomyo.review").joinpath("static")
    if not root.is_dir():
        return out

    def walk(node: Any, prefix: str) -> None:
        for child in node.iterdir():
            name = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, name + "/")
            elif child.is_file() and not child.name.startswith("."):
                ctype = mimetypes.guess_type(child.name)[0] or "application/octet-stream"
                if ctype.startswith("text/") or ctype in ("application/javascript", "image/svg+xml"):
                    ctype += "; charset=utf-8"
                out[name] = (child.read_bytes(), ctype)

    walk(root, "")
    return out


@dataclass
class _Guard:
    """ASGI middleware: host check, token check for the API, security headers on every response."""

    app: Callable[[Scope, Receive, Send], Awaitable[None]]
    token: str
    allowed_hosts: frozenset[str] | None  # None: any Host (bound to a wildcard address)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        path = scope.get("path", "")
        host = headers.get("host", "")
        if self.allowed_hosts is not None and host.lower() not in self.allowed_hosts:
            await _plain(send, 403, "forbidden: unexpected Host header")
            return
        if scope.get("method") in _WRITE_METHODS:
            origin = headers.get("origin")
            if origin is not None and urlsplit(origin).netloc.lower() != host.lower():
                await _plain(send, 403, "forbidden: cross-origin write", json_body=path.startswith("/api/"))
                return
        if path.startswith("/api/") or path == "/api":
            auth = headers.get("authorization", "")
            scheme, _, given = auth.partition(" ")
            if not auth or scheme.lower() != "bearer":
                await _plain(
                    send,
                    401,
                    "unauthorized: send the access token as 'Authorization: Bearer TOKEN'",
                    json_body=True,
                    extra=[(b"www-authenticate", b"Bearer")],
                )
                return
            if not hmac.compare_digest(given.strip().encode(), self.token.encode()):
                await _plain(send, 403, "forbidden: wrong access token", json_body=True)
                return
        elif path == "/":
            qs = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = (qs.get("token") or [""])[0]
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                await _plain(
                    send, 403, "forbidden: open the address printed by `somnomyo review` (it carries the access token)"
                )
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                hdrs = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() not in (b"access-control-allow-origin",)
                ]
                hdrs += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS]
                if path.startswith("/api/") or path == "/":
                    hdrs.append((b"cache-control", b"no-store"))
                message["headers"] = hdrs
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _plain(
    send: Send, status: int, text: str, *, json_body: bool = False, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    import json

    body = (json.dumps({"error": text}) if json_body else text + "\n").encode("utf-8")
    ctype = b"application/json" if json_body else b"text/plain; charset=utf-8"
    hdrs = [(b"content-type", ctype), (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store")]
    hdrs += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS] + list(extra or [])
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body})


def build_app(session: ReviewSession, *, token: str, allowed_hosts: frozenset[str] | None) -> Any:
    """The ASGI application serving ``session``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from somnomyo.review.api import ROUTES, error_response, handle

    files = static_files()

    async def index(req: Request) -> Response:
        if "index.html" not in files:
            return Response(
                "the review page is not installed (somnomyo/review/static/index.html)\n", 500, media_type="text/plain"
            )
        body, ctype = files["index.html"]
        return Response(body, media_type=ctype)

    async def static(req: Request) -> Response:
        hit = files.get(req.path_params["name"])
        if hit is None:
            return Response("not found\n", 404, media_type="text/plain")
        return Response(hit[0], media_type=hit[1], headers={"cache-control": "no-cache"})

    async def api_missing(req: Request) -> Response:
        return error_response(404, f"no API endpoint {req.url.path!r}; see docs/review.md")

    routes = [Route("/", index, methods=["GET"]), Route("/static/{name:path}", static, methods=["GET"])]
    by_path: dict[str, list[tuple[str, Callable[..., Any]]]] = {}
    for method, path, fn in ROUTES:
        by_path.setdefault(path, []).append((method, fn))
    for path, items in by_path.items():
        for method, fn in items:
            routes.append(Route(path, handle(session, fn), methods=[method]))
    routes.append(Route("/api/{rest:path}", api_missing, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]))

    async def on_error(req: Request, exc: Exception) -> Response:
        return error_response(500, f"internal error: {type(exc).__name__}: {exc}")

    async def not_allowed(req: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        if req.url.path.startswith("/api/"):
            return error_response(status, "method not allowed" if status == 405 else "not found")
        return Response(
            ("method not allowed" if status == 405 else "not found") + "\n", status, media_type="text/plain"
        )

    from starlette.exceptions import HTTPException

    app = Starlette(routes=routes, exception_handlers={HTTPException: not_allowed, Exception: on_error})
    return _Guard(app, token=token, allowed_hosts=allowed_hosts)


@dataclass
class ReviewServer:
    """A bound server for ``session``: ``url`` is the page address with its token."""

    session: ReviewSession
    host: str = "127.0.0.1"
    port: int = 0
    token: str = field(default_factory=make_token)

    def __post_init__(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((self.host, self.port))
        except OSError as err:
            self.sock.close()
            from somnomyo.errors import SomnomyoError

            raise SomnomyoError(f"cannot listen on {self.host}:{self.port} ({err.strerror or err})") from None
        self.sock.listen(128)
        self.port = int(self.sock.getsockname()[1])
        self.app = build_app(self.session, token=self.token, allowed_hosts=self.allowed_hosts())
        self._server: Any = None

    def allowed_hosts(self) -> frozenset[str] | None:
        if self.host in _WILDCARD_HOSTS:
            return None
        names = (
            {self.host, "127.0.0.1", "localhost", "[::1]"}
            if self.host in ("127.0.0.1", "localhost", "::1")
            else {self.host if ":" not in self.host else f"[{self.host}]"}
        )
        return frozenset(f"{n}:{self.port}".lower() for n in names)

    @property
    def url(self) -> str:
        shown = self.host if self.host not in _WILDCARD_HOSTS else "127.0.0.1"
        if ":" in shown:
            shown = f"[{shown}]"
        return f"http://{shown}:{self.port}/?token={self.token}"

    def serve(self) -> None:
        """Serve until interrupted (Ctrl-C) or :meth:`stop`."""
        import uvicorn

        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", server_header=False, date_header=False
        )
        self._server = uvicorn.Server(config)
        threading.Thread(target=self._warm, name="somnomyo-review-warm", daemon=True).start()
        try:
            self._server.run(sockets=[self.sock])
        finally:
            self.sock.close()

    def _warm(self) -> None:
        """Warm the rescoring (:meth:`ReviewSession.warm`) once the page has its overview (or
        after ``WARM_AFTER_S``), so that the first edit is as fast as the others and the start-up
        is not slowed by it."""
        self.session.overview_served.wait(WARM_AFTER_S)
        try:
            self.session.warm()
        except Exception as err:  # an edit rescoring then does the same work and reports
            logger.debug("review: warming the rescoring failed: %s", err)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
