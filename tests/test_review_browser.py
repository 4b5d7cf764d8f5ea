"""The review page as a scorer uses it: the real ``somnomyo review`` server on a scored
simulated night, driven in headless Chromium through Playwright (pointed at the system
browser; no browser download). Paging with the keyboard, rejecting an LM and seeing the PLMS
index change, adding an event by dragging on a channel, adjusting one by dragging its edge,
undo, reload, a ``kill -9`` of the server mid-session, and the access token.

Skipped, with the reason, only where /usr/bin/chromium (Debian package ``chromium``) or the
Python packages of the ``review`` extra and ``playwright`` are missing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

CHROMIUM = Path("/usr/bin/chromium")
STATIC = Path(__file__).resolve().parents[1] / "src" / "somnomyo" / "review" / "static"

VIEWPORT = {"width": 1600, "height": 1000}
START_TIMEOUT_S = 60.0
UI_TIMEOUT_MS = 15000


# ---------------------------------------------------------------------------- the server
@dataclass
class Server:
    proc: subprocess.Popen[str]
    url: str  # the page URL printed on the first line of stdout, with ?token=
    base: str  # http://127.0.0.1:PORT
    token: str

    def api(
        self, method: str, path: str, body: Any = None, *, token: str | None = "", headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """One API request; ``token=None`` sends no Authorization header."""
        hdr = dict(headers or {})
        if token is not None:
            hdr["Authorization"] = "Bearer " + (token or self.token)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdr["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=hdr)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
                return r.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw.decode(errors="replace")

    def events(self, **params: Any) -> list[dict[str, Any]]:
        status, body = self.api("GET", "/api/events" + ("?" + urlencode(params, doseq=True) if params else ""))
        assert status == 200, body
        return body

    def summary(self, **params: Any) -> dict[str, Any]:
        status, body = self.api("GET", "/api/summary" + ("?" + urlencode(params) if params else ""))
        assert status == 200, body
        return body


def start_server(folder: Path, scorer: str) -> Server:
    """``somnomyo review FOLDER --scorer NAME --no-browser`` (a free port); the URL is the first
    line of its stdout."""
    cmd = [
        sys.executable,
        "-c",
        "import sys; from somnomyo.cli import main; sys.exit(main())",
        "review",
        str(folder),
        "--scorer",
        scorer,
        "--no-browser",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(proc.stdout.readline() if proc.stdout else ""), daemon=True)
    reader.start()
    reader.join(START_TIMEOUT_S)
    line = first[0].strip() if first else ""
    if not line.startswith("http"):
        proc.kill()
        err = proc.stderr.read() if proc.stderr else ""
        raise AssertionError(f"`somnomyo review` printed no URL (first line {line!r}); stderr: {err[-2000:]}")
    # keep draining the pipes so that the server never blocks on a full pipe
    for stream in (proc.stdout, proc.stderr):
        threading.Thread(target=lambda s=stream: [None for _ in s], daemon=True).start()
    u = urlparse(line)
    token = parse_qs(u.query)["token"][0]
    server = Server(proc=proc, url=line, base=f"{u.scheme}://{u.netloc}", token=token)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:  # the URL may be printed just before the socket listens
        try:
            if server.api("GET", "/api/layers")[0] == 200:
                return server
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the review server did not answer within a minute")


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGINT)
        try:
            server.proc.wait(10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(10)


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scored one-hour simulated night with several PLM series."""
    from somnomyo.pipeline import score_night
    from somnomyo.simulate import SimOptions, simulate_night

    out = tmp_path_factory.mktemp("review-browser")
    sim = simulate_night(seed=11, hours=1, options=SimOptions().with_(plm_series_per_h=3.0))
    edf = sim.write(out / "sim")["edf"]
    score_night(edf).write(out / "results")
    return out / "results"


def _need_server_extra() -> None:
    for mod in ("starlette", "uvicorn"):
        pytest.importorskip(mod, reason="the review server needs the review extra (pip install 'somnomyo[review]')")


@pytest.fixture(scope="module")
def server(results: Path) -> Iterator[Server]:
    _need_server_extra()
    s = start_server(results, "A. <b>Tech</b> & co")  # markup in a name must show as text
    yield s
    stop_server(s)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("browser tests need /usr/bin/chromium (apt-get install chromium)")
    playwright_api = pytest.importorskip(
        "playwright.sync_api", reason="browser tests need playwright (pip install playwright)"
    )
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


class Page:
    """One browser tab on the review page, with the console errors it logged."""

    def __init__(self, browser: Any, url: str) -> None:
        self.page = browser.new_page(viewport=VIEWPORT)
        self.page.set_default_timeout(UI_TIMEOUT_MS)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on(
            "console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None
        )
        self.page.on("response", lambda r: self.errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
        self.open(url)

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready=yes]")

    def reload(self) -> None:
        self.page.reload()
        self.page.wait_for_selector("body[data-ready=yes]")

    def window_start(self) -> float:
        return float(self.page.get_attribute("body", "data-window-start"))

    def draws(self) -> int:
        return int(self.page.get_attribute("body", "data-draws") or 0)

    def press(self, key: str) -> None:
        """Press a key on the epoch view and wait until the page drew again."""
        before = self.draws()
        self.page.focus("#epoch")
        self.page.keyboard.press(key)
        self.page.wait_for_function("(n) => +document.body.dataset.draws > n", arg=before)

    def saves(self) -> int:
        """Edits the API has acknowledged since the page was loaded."""
        return int(self.page.evaluate("window.somnomyoReview.saves"))

    def edit(self, action: Callable[[], None]) -> None:
        """Do ``action`` (an edit) and wait until the page shows it as saved by the API."""
        before = self.saves()
        action()
        self.page.wait_for_function("(n) => window.somnomyoReview.saves > n", arg=before)
        self.page.wait_for_selector("body[data-saved=ok]")
        assert self.page.locator("#saved").inner_text().startswith("Saved")

    def key_edit(self, key: str) -> None:
        self.page.focus("#epoch")
        self.edit(lambda: self.page.keyboard.press(key))

    def drag(self, x0: float, x1: float, y: float) -> None:
        self.page.mouse.move(x0, y)
        self.page.mouse.down()
        self.page.mouse.move((x0 + x1) / 2, y, steps=4)
        self.page.mouse.move(x1, y, steps=4)
        self.page.mouse.up()

    def select(self, event_id: str) -> None:
        """Select an event through the event list (filtered to its kind) and wait for the detail."""
        self.page.select_option("#f-status", "")
        kind = self.page.evaluate("(id) => window.somnomyoReview.event(id).trial_type", event_id)
        self.page.select_option("#f-kind", kind)
        self.page.evaluate("(id) => window.somnomyoReview.revealInList(id)", event_id)
        self.page.click(f'#list .row[data-id="{event_id}"]')
        self.page.wait_for_function("(id) => window.somnomyoReview.selected() === id", arg=event_id)

    def index_cells(self, key: str) -> tuple[str, str]:
        """The automatic and reviewed value shown for an index of the headline table."""
        row = self.page.locator(f'#indices-table tr[data-key="{key}"]')
        return row.locator("td.before").inner_text(), row.locator("td.after").inner_text()

    def channel_row_centre_y(self, label: str) -> float:
        box = self.page.locator(f'#labels .chan[data-channel="{label}"]').bounding_box()
        return box["y"] + box["height"] / 2

    def time_to_x(self, t: float) -> float:
        box = self.page.locator("#epoch").bounding_box()
        start = self.window_start()
        dur = float(self.page.get_attribute("body", "data-window-duration"))
        return box["x"] + (t - start) / dur * box["width"]

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Page]:
    p = Page(browser, server.url)
    yield p
    p.close()
    assert not p.errors, p.errors


def _fmt1(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}"


def _periodic_lm(server: Server) -> dict[str, Any]:
    """An unreviewed LM of a PLM series in sleep (so that rejecting it changes PLMS)."""
    cands = [
        e
        for e in server.events(kind="leg_movement", periodic="true", status="unreviewed")
        if e["stage"] in ("N1", "N2", "N3", "R") and not e.get("respiratory")
    ]
    assert cands, "the simulated night has no periodic LM in sleep"
    return cands[len(cands) // 2]


# ---------------------------------------------------------------------------- tests
def test_review_page_arrow_keys_page_through_epochs_and_measure_latency(page: Page) -> None:
    assert page.window_start() == 0.0
    assert (
        page.page.locator("#window-time").inner_text().startswith(page.page.evaluate("window.somnomyoReview.clock(0)"))
    )
    page.press("ArrowRight")
    page.press("ArrowRight")
    assert page.window_start() == 60.0
    page.press("ArrowLeft")
    assert page.window_start() == 30.0
    page.press("End")
    last = page.window_start()
    assert last > 30.0
    page.press("ArrowRight")  # past the end: stays on the last page
    assert page.window_start() == last
    page.press("Home")
    assert page.window_start() == 0.0
    lat = page.page.evaluate("window.somnomyoReview.latencies")
    assert len(lat) >= 6 and all(0 < x < 60000 for x in lat)
    assert "key → drawn" in page.page.locator("#latency").inner_text()


def test_review_page_window_sizes_and_long_windows_come_decimated(page: Page) -> None:
    page.press("5")  # 5 min
    assert page.page.get_attribute("body", "data-window-duration") == "300"
    assert page.page.input_value("#window-size") == "300"
    modes = page.page.evaluate("window.somnomyoReview.signalModes()")
    assert modes and set(modes) == {"minmax"}, modes  # 5 min at 256 Hz: never full rate
    page.press("1")  # 10 s
    assert page.page.get_attribute("body", "data-window-duration") == "10"
    page.press("2")
    assert page.page.get_attribute("body", "data-window-duration") == "30"


def test_review_page_reject_lm_changes_plms_index_by_rescoring(page: Page, server: Server) -> None:
    lm = _periodic_lm(server)
    before = server.summary()["plm"]["plms_index"]
    assert page.index_cells("plm.plms_index")[1] == _fmt1(before)
    page.select(lm["id"])
    page.page.uncheck("#advance")
    page.key_edit("r")
    after = server.summary()["plm"]["plms_index"]
    assert after < before  # one LM of a series fewer: fewer PLMS
    page.page.wait_for_function(
        "(v) => document.querySelector('#indices-table tr[data-key=\"plm.plms_index\"] td.after').textContent === v",
        arg=_fmt1(after),
    )
    automatic = server.summary(layer="automatic")["plm"]["plms_index"]
    assert page.index_cells("plm.plms_index") == (_fmt1(automatic), _fmt1(after))
    assert lm["id"] in {e["id"] for e in server.events(status="rejected")}
    page.key_edit("u")  # undo brings the index back
    page.page.wait_for_function(
        "(v) => document.querySelector('#indices-table tr[data-key=\"plm.plms_index\"] td.after').textContent === v",
        arg=_fmt1(before),
    )
    assert server.summary()["plm"]["plms_index"] == before


def _leg_left(server: Server) -> str:
    return next(c["label"] for c in server.api("GET", "/api/overview")[1]["channels"] if c["role"] == "leg_left")


def test_review_page_drag_on_channel_adds_event_and_edge_drag_adjusts_it(page: Page, server: Server) -> None:
    leg = _leg_left(server)
    page.press("ArrowRight")  # 30-60 s: lights are still on, nothing scored here
    y = page.channel_row_centre_y(leg)
    n_added = len(server.events(status="added"))
    page.edit(lambda: page.drag(page.time_to_x(40.0), page.time_to_x(42.0), y))
    added = server.events(status="added")
    assert len(added) == n_added + 1
    new = next(e for e in added if abs(e["onset"] - 40.0) < 0.2)
    assert new["channel"] == leg and new["trial_type"] == "leg_movement"
    assert abs(new["duration"] - 2.0) < 0.2
    assert page.page.evaluate("window.somnomyoReview.selected()") == new["id"]
    end = new["onset"] + new["duration"]  # drag its right edge 1 s further
    page.edit(lambda: page.drag(page.time_to_x(end), page.time_to_x(end + 1.0), y))
    status, ev = server.api("GET", "/api/events/" + new["id"])
    assert (
        status == 200 and abs(ev["duration"] - (new["duration"] + 1.0)) < 0.1 and abs(ev["onset"] - new["onset"]) < 1e-6
    )
    assert (
        abs(page.page.evaluate("(id) => window.somnomyoReview.event(id).duration", new["id"]) - ev["duration"]) < 1e-9
    )


def test_review_page_change_kind_of_selected_event(page: Page, server: Server) -> None:
    ev = next(e for e in server.events(kind="myoclonic_jerk", status="unreviewed"))
    page.select(ev["id"])
    page.edit(lambda: page.page.select_option("#detail-kind", "fragmentary_myoclonus"))
    status, now = server.api("GET", "/api/events/" + ev["id"])
    assert status == 200 and now["trial_type"] == "fragmentary_myoclonus" and now["adjusted"]
    assert page.page.evaluate("(id) => window.somnomyoReview.event(id).trial_type", ev["id"]) == "fragmentary_myoclonus"


def test_review_page_j_k_visit_only_unreviewed_events_of_a_kind(page: Page, server: Server) -> None:
    lms = server.events(kind="leg_movement", status="unreviewed")
    page.page.select_option("#jk-kind", "leg_movement")
    page.page.check("#jk-unreviewed")
    page.page.check("#advance")
    page.press("j")
    first = page.page.evaluate("window.somnomyoReview.selected()")
    assert first == lms[0]["id"]
    page.press("j")
    assert page.page.evaluate("window.somnomyoReview.selected()") == lms[1]["id"]
    page.press("k")
    assert page.page.evaluate("window.somnomyoReview.selected()") == first
    page.key_edit("a")  # accept, then on to the next unreviewed LM
    assert page.page.evaluate("window.somnomyoReview.selected()") == lms[1]["id"]
    assert server.api("GET", "/api/events/" + first)[1]["status"] == "accepted"


def test_review_page_reload_shows_the_saved_edits(page: Page, server: Server) -> None:
    ev = next(e for e in server.events(kind="leg_movement", status="unreviewed"))
    page.select(ev["id"])
    page.page.uncheck("#advance")
    page.key_edit("r")
    page.reload()
    assert page.page.evaluate("(id) => window.somnomyoReview.event(id).status", ev["id"]) == "rejected"
    page.page.select_option("#f-status", "rejected")
    page.page.evaluate("(id) => window.somnomyoReview.revealInList(id)", ev["id"])
    assert "rejected" in page.page.locator(f'#list .row[data-id="{ev["id"]}"]').inner_text()
    assert f"{len(server.events(status='rejected'))} rejected" in page.page.locator("#counts").inner_text()


def test_review_kill_9_of_the_server_loses_no_saved_edit(browser: Any, results: Path) -> None:
    _need_server_extra()
    srv = start_server(results, "Crash Test")
    try:
        p = Page(browser, srv.url)
        lms = srv.events(kind="leg_movement", status="unreviewed")[:3]
        p.page.uncheck("#advance")
        for e in lms:
            p.select(e["id"])
            p.key_edit("a")
        p.press("Home")
        p.press("ArrowRight")
        y = p.channel_row_centre_y(_leg_left(srv))
        p.edit(lambda: p.drag(p.time_to_x(35.0), p.time_to_x(37.0), y))
        saved = {e["id"]: (e["status"], e["onset"], e["duration"]) for e in srv.events()}
        assert sum(1 for v in saved.values() if v[0] == "added") == 1
        os.kill(srv.proc.pid, signal.SIGKILL)
        srv.proc.wait(10)
        srv2 = start_server(results, "Crash Test")
        try:
            assert {e["id"]: (e["status"], e["onset"], e["duration"]) for e in srv2.events()} == saved
            p.open(srv2.url)
            for e in lms:
                assert p.page.evaluate("(id) => window.somnomyoReview.event(id).status", e["id"]) == "accepted"
            counts = p.page.locator("#counts").inner_text()
            assert "3 accepted" in counts and "1 added" in counts
            p.close()
        finally:
            stop_server(srv2)
        # while the server was down the page's background refresh could not connect: expected
        assert not [x for x in p.errors if "ERR_CONNECTION_REFUSED" not in x], p.errors
    finally:
        if srv.proc.poll() is None:
            srv.proc.kill()


def test_review_request_without_token_refused(server: Server, browser: Any) -> None:
    assert server.api("GET", "/api/events", token=None)[0] == 401
    assert server.api("GET", "/api/events", token="wrong")[0] == 403
    assert server.api("POST", "/api/undo", {}, token=None)[0] == 401
    assert server.api("PATCH", "/api/events/a0", {"status": "rejected"}, token=None)[0] == 401
    tab = browser.new_page()
    try:
        resp = tab.goto(server.base + "/")
        assert resp is not None and resp.status in (401, 403)
        assert tab.locator("#epoch").count() == 0
    finally:
        tab.close()
    assert server.api("GET", "/api/events/a0")[1]["status"] != "rejected"


def test_review_page_shows_labels_as_text_and_lists_every_shortcut(page: Page) -> None:
    assert page.page.locator("#scorer-name").inner_text() == "A. <b>Tech</b> & co"
    assert page.page.locator("#top b").count() == 0
    page.page.focus("#epoch")
    page.page.keyboard.press("?")
    assert page.page.is_visible("#help")
    text = page.page.locator("#help").inner_text()
    for key in ("→", "←", "j", "k", "a", "r", "u", "?", "Home", "End", "Esc"):
        assert key in text
    page.page.keyboard.press("Escape")
    assert not page.page.is_visible("#help")


def test_review_page_overview_click_opens_that_moment(page: Page) -> None:
    page.page.wait_for_function("() => window.somnomyoReview.overviewX(1800) > 0")
    x = page.page.evaluate("window.somnomyoReview.overviewX(1815)")
    box = page.page.locator("#overview").bounding_box()
    before = page.draws()
    page.page.mouse.click(box["x"] + x, box["y"] + 20)
    page.page.wait_for_function("(n) => +document.body.dataset.draws > n", arg=before)
    assert page.window_start() == 1800.0


def test_review_event_list_filters_and_stays_virtualized(page: Page, server: Server) -> None:
    total = len(server.events())
    assert f"of {total})" in page.page.locator("#list-count").inner_text()
    rows = page.page.locator("#list .row:not([hidden])").count()
    assert 0 < rows < 80  # only the rows on screen exist
    page.page.select_option("#f-kind", "leg_movement")
    n_lm = len(server.events(kind="leg_movement"))
    assert page.page.locator("#list-count").inner_text() == f"({n_lm} of {total})"
    page.page.select_option("#f-stage", "N2")
    n = len([e for e in server.events(kind="leg_movement") if e["stage"] == "N2"])
    assert page.page.locator("#list-count").inner_text() == f"({n} of {total})"


def test_review_page_files_hold_no_inline_script_no_html_injection_and_no_network() -> None:
    """A strict CSP (script-src 'self', style-src 'self') holds, file labels cannot become
    markup, and the page loads nothing from another site (it works offline)."""
    import re

    html = (STATIC / "index.html").read_text(encoding="utf-8")
    js = (STATIC / "app.js").read_text(encoding="utf-8")
    css = (STATIC / "app.css").read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, flags=re.S | re.I)
    assert scripts and all(not body.strip() for body in scripts)  # only <script src=...>
    assert all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", html, flags=re.I))
    assert not re.search(r"<style\b", html, flags=re.I)
    assert not re.search(r"\s(on[a-z]+|style)\s*=", html, flags=re.I)  # no inline handlers or styles
    for bad in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert bad not in js, bad
    for text in (html, js, css):
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", text, flags=re.I)
        assert not re.search(r"url\(\s*[\"']?(https?:)?//", text, flags=re.I)
        assert not re.search(r"fetch\(\s*[\"'`]https?:", text)
