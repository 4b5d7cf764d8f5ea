"""The review server's JSON API (docs/review.md), driven over HTTP against a real server.

A one-hour simulated night is scored once per module; each test reviews its own copy of the
results folder. Servers run in a thread (uvicorn on a free 127.0.0.1 port) or, for the crash
test, as a ``somnomyo review`` process that is killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the review server needs the 'review' extra (starlette, uvicorn)")
pytest.importorskip("uvicorn", reason="the review server needs the 'review' extra (starlette, uvicorn)")

from somnomyo.cli import main  # noqa: E402
from somnomyo.events import read_events_tsv  # noqa: E402
from somnomyo.rescore import ScoringContext, rescore  # noqa: E402
from somnomyo.review.journal import read_journal  # noqa: E402
from somnomyo.review.server import ReviewServer  # noqa: E402
from somnomyo.review.session import ReviewSession  # noqa: E402

ODD_LABEL = "<i>Air</i>\"&'"  # an EDF channel label that looks like markup (16-byte field)
SCORER = "A. Tech"


def _rename_channel(edf: Path, old: str, new: str) -> None:
    """Rewrite one label in an EDF header (16-byte field per signal, EDF spec 2.1.3)."""
    raw = bytearray(edf.read_bytes())
    ns = int(raw[252:256].decode().strip())
    for i in range(ns):
        a = 256 + 16 * i
        if raw[a : a + 16].decode("latin-1").strip() == old:
            raw[a : a + 16] = new.encode("latin-1").ljust(16)
            edf.write_bytes(bytes(raw))
            return
    raise AssertionError(f"no channel {old!r}")


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from somnomyo.simulate import simulate_night

    root = tmp_path_factory.mktemp("review")
    paths = simulate_night(seed=1, hours=1.0).write(root / "sim")
    edf = Path(paths["edf"]) if "edf" in paths else root / "sim" / "night.edf"
    _rename_channel(edf, "Airflow", ODD_LABEL)
    out = root / "results"
    assert main(["score", str(edf), "--out", str(out), "--no-report", "-q"]) == 0
    return out


@pytest.fixture()
def folder(scored: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "results"
    shutil.copytree(scored, dst)
    return dst


class Client:
    """A tiny HTTP client (urllib) that sends the token as a Bearer header."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = "default",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        hdrs = dict(headers or {})
        tok = self.token if token == "default" else token
        if tok is not None:
            hdrs["Authorization"] = f"Bearer {tok}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                raw, status, rh = r.read(), r.status, dict(r.headers)
        except urllib.error.HTTPError as err:
            raw, status, rh = err.read(), err.code, dict(err.headers)
        ctype = rh.get("content-type", rh.get("Content-Type", ""))
        return status, {k.lower(): v for k, v in rh.items()}, (json.loads(raw) if "json" in ctype else raw)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, _, data = self.call(method, path, body)
        assert status in (200, 201), (status, data)
        return data


@contextlib.contextmanager
def serve(folder: Path, scorer: str = SCORER) -> Iterator[Client]:
    session = ReviewSession(folder, scorer=scorer)
    server = ReviewServer(session)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    client = Client(f"http://127.0.0.1:{server.port}", server.token)
    try:
        for _ in range(200):
            with contextlib.suppress(OSError):
                if client.call("GET", "/api/layers")[0] == 200:
                    break
            time.sleep(0.05)
        yield client
    finally:
        server.stop()
        thread.join(timeout=20)
        session.close()


def _automatic_lm_ids(client: Client) -> list[dict[str, Any]]:
    return client.ok("GET", "/api/events?kind=leg_movement")


# ----------------------------------------------------------------------------- access
def test_review_api_refuses_requests_without_token_or_with_wrong_token(folder: Path) -> None:
    with serve(folder) as c:
        status, hdrs, body = c.call("GET", "/api/events", token=None)
        assert status == 401 and "error" in body and hdrs.get("www-authenticate") == "Bearer"
        assert c.call("GET", "/api/events", token="not-the-token")[0] == 403
        assert c.call("PATCH", "/api/events/a0", {"status": "rejected"}, token=None)[0] == 401
        assert c.call("POST", "/api/undo", {}, token="x" + c.token)[0] == 403
        # the token in the query string or a cookie is not enough for the API
        assert c.call("GET", f"/api/events?token={c.token}", token=None)[0] == 401
        assert c.call("GET", "/api/events", token=None, headers={"Cookie": f"token={c.token}"})[0] == 401
        # the page itself needs ?token=
        assert c.call("GET", "/", token=None)[0] == 403
        assert c.call("GET", "/?token=wrong", token=None)[0] == 403
        status, hdrs, page = c.call("GET", f"/?token={c.token}", token=None)
        assert status == 200 and b"<html" in page.lower()


def test_review_api_sends_security_headers_and_no_cors(folder: Path) -> None:
    with serve(folder) as c:
        status, hdrs, _ = c.call("GET", "/api/layers", headers={"Origin": "http://evil.example"})
        assert status == 200
        csp = hdrs["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert hdrs["x-content-type-options"] == "nosniff" and hdrs["referrer-policy"] == "no-referrer"
        assert not any(k.startswith("access-control-") for k in hdrs)
        # a write from another site is refused even with the token
        status, _, _ = c.call(
            "PATCH", "/api/events/a0", {"status": "rejected"}, headers={"Origin": "http://evil.example"}
        )
        assert status == 403
        # DNS rebinding: a Host that is not this server
        assert c.call("GET", "/api/layers", headers={"Host": "evil.example"})[0] == 403


def test_review_api_serves_only_packaged_static_files(folder: Path) -> None:
    with serve(folder) as c:
        assert c.call("GET", "/static/index.html", token=None)[0] == 200
        for path in (
            "/static/../../../../etc/passwd",
            "/static/%2e%2e/%2e%2e/events.tsv",
            "/static/../results/events.tsv",
            "/events.tsv",
            "/static/",
        ):
            assert c.call("GET", path, token=None)[0] == 404, path


# ----------------------------------------------------------------------------- events
def test_review_get_events_lists_every_automatic_event_with_id_status_and_columns(folder: Path) -> None:
    auto = read_events_tsv(folder / "events.tsv")
    with serve(folder) as c:
        status, hdrs, events = c.call("GET", "/api/events")
        assert status == 200 and int(hdrs["x-total-count"]) == len(auto) == len(events)
        ids = {e["id"] for e in events}
        assert ids == {f"a{i}" for i in range(len(auto))}
        for e in events[:20]:
            row = auto.iloc[int(e["id"][1:])]
            assert e["status"] == "unreviewed" and e["origin"] == "automatic"
            assert e["onset"] == pytest.approx(float(row["onset"])) and e["trial_type"] == row["trial_type"]
            assert e["channel"] == row["channel"]
            assert set(auto.columns) <= set(e)
        lms = c.ok("GET", "/api/events?kind=leg_movement&start=1000&end=2000")
        assert lms and all(x["trial_type"] == "leg_movement" and x["onset"] < 2000 for x in lms)
        page = c.call("GET", "/api/events?limit=5&offset=5")
        assert len(page[2]) == 5 and page[2][0]["id"] == events[5]["id"]
        status, _, err = c.call("GET", "/api/events?kind=nonsense")
        assert status == 400 and "leg_movement" in err["error"]


def _lm_whose_rejection_changes_plms(folder: Path) -> tuple[int, float]:
    events = read_events_tsv(folder / "events.tsv")
    ctx = ScoringContext.from_folder(folder)
    auto = json.loads((folder / "summary.json").read_text())["plm"]["plms_index"]
    rows = np.flatnonzero(
        (events["trial_type"] == "leg_movement").to_numpy() & events["periodic"].fillna(False).to_numpy(dtype=bool)
    )
    for row in rows:
        without = rescore(events.drop(index=[int(row)]), ctx).summary()["plm"]["plms_index"]
        if without != auto:
            return int(row), without
    raise AssertionError("no periodic LM whose rejection changes the PLMS index")


def test_review_reject_lm_gives_plms_index_of_rescoring_without_it(folder: Path) -> None:
    row, expected = _lm_whose_rejection_changes_plms(folder)
    with serve(folder) as c:
        before = c.ok("GET", "/api/summary")
        ev = c.ok("PATCH", f"/api/events/a{row}", {"status": "rejected"})
        assert ev["status"] == "rejected" and ev["id"] == f"a{row}"
        after = c.ok("GET", "/api/summary")
        assert after["plm"]["plms_index"] == expected != before["plm"]["plms_index"]
        assert after["plm"]["lm_count"] <= before["plm"]["lm_count"]
        assert c.ok("GET", "/api/summary?layer=automatic")["plm"]["plms_index"] == before["plm"]["plms_index"]
        head = c.ok("GET", "/api/headline")
        plms = next(x for x in head["indices"] if x["key"] == "plm.plms_index")
        assert plms["reviewed"] == expected and head["counts"]["rejected"] == 1
    # the automatic results are never changed
    assert json.loads((folder / "summary.json").read_text())["plm"]["plms_index"] == before["plm"]["plms_index"]


def test_review_server_warms_rescoring_after_overview_so_first_edit_rescores_only_its_steps(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first edit rescores only the steps whose inputs it changes (as every later edit does):
    the server warms the scoring memo once the overview is answered; the numbers are those of
    rescoring the table afresh."""
    from registry_helpers import count_step_calls

    from somnomyo import registry

    row, expected = _lm_whose_rejection_changes_plms(folder)
    session = ReviewSession(folder, scorer=SCORER)
    assert not session.context.remembered_steps  # an unedited layer is not rescored at start
    server = ReviewServer(session)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        client = Client(f"http://127.0.0.1:{server.port}", server.token)
        for _ in range(200):
            with contextlib.suppress(OSError):
                if client.call("GET", "/api/overview")[0] == 200:
                    break
            time.sleep(0.05)
        assert session.warmed.wait(60)
        assert set(session.context.remembered_steps) == {d.name for d in registry.DETECTORS}
        calls = count_step_calls(monkeypatch)
        client.ok("PATCH", f"/api/events/a{row}", {"status": "rejected"})
        assert calls == {"plm": 1, "myoclonus": 0, "cortical_state": 1}
        assert client.ok("GET", "/api/summary")["plm"]["plms_index"] == expected
    finally:
        server.stop()
        thread.join(timeout=20)
        session.close()


def test_review_accept_and_adjust_are_counted_and_rescored(folder: Path) -> None:
    with serve(folder) as c:
        lm = _automatic_lm_ids(c)[0]
        acc = c.ok("PATCH", f"/api/events/{lm['id']}", {"status": "accepted"})
        assert acc["status"] == "accepted" and not acc["adjusted"]
        other = _automatic_lm_ids(c)[1]
        adj = c.ok(
            "PATCH",
            f"/api/events/{other['id']}",
            {"onset": other["onset"] + 0.25, "duration": other["duration"] - 0.25},
        )
        assert adj["adjusted"] and adj["status"] == "accepted"
        assert adj["onset"] == pytest.approx(other["onset"] + 0.25)
        assert adj["automatic"]["onset"] == pytest.approx(other["onset"])
        counts = c.ok("GET", "/api/summary")["review"]["counts"]
        assert counts["accepted"] == 1 and counts["adjusted"] == 1
        status, _, err = c.call("PATCH", f"/api/events/{lm['id']}", {"duration": -1})
        assert status == 400 and "duration" in err["error"]
        assert c.call("PATCH", "/api/events/a999999", {"status": "accepted"})[0] == 404
        status, _, err = c.call("PATCH", f"/api/events/{lm['id']}", {"status": "maybe"})
        assert status == 400 and "accepted" in err["error"]


def test_review_add_event_returns_it_with_new_id_and_rescores_it(folder: Path) -> None:
    with serve(folder) as c:
        n0 = c.ok("GET", "/api/summary")["plm"]["lm_count"]
        status, _, ev = c.call(
            "POST", "/api/events", {"onset": 2000.0, "duration": 1.5, "trial_type": "leg_movement", "channel": "Leg L"}
        )
        assert status == 201 and ev["id"].startswith("n-") and ev["status"] == "added"
        assert ev["side"] == "left" and ev["stage"] is not None  # rescored: side from the role, stage looked up
        assert c.ok("GET", "/api/summary")["plm"]["lm_count"] == n0 + 1
        assert any(e["id"] == ev["id"] for e in c.ok("GET", "/api/events?status=added"))
        status, _, err = c.call(
            "POST",
            "/api/events",
            {"onset": 1, "duration": 1, "trial_type": "leg_movement", "channel": "No such channel"},
        )
        assert status == 400 and "Leg L" in err["error"]


def test_review_undo_restores_the_state_before_each_edit(folder: Path) -> None:
    with serve(folder) as c:
        s0 = c.ok("GET", "/api/summary")["plm"]
        lm = _automatic_lm_ids(c)[0]
        c.ok("PATCH", f"/api/events/{lm['id']}", {"status": "rejected"})
        added = c.ok(
            "POST", "/api/events", {"onset": 2100.0, "duration": 1.0, "trial_type": "leg_movement", "channel": "Leg R"}
        )
        undone = c.ok("POST", "/api/undo")
        assert undone["undone"]["op"] == "add" and undone["event"] is None
        assert not any(e["id"] == added["id"] for e in c.ok("GET", "/api/events"))
        undone = c.ok("POST", "/api/undo")
        assert undone["event"]["status"] == "unreviewed"
        assert c.ok("GET", "/api/summary")["plm"] == s0
        assert c.call("POST", "/api/undo")[0] == 409
    ops = [e["op"] for e in read_journal(folder / "review" / "a-tech" / "journal.jsonl")]
    assert ops == ["status", "add", "undo", "undo"]


# ----------------------------------------------------------------------------- durability
def _start_process(folder: Path, scorer: str) -> tuple[subprocess.Popen[str], Client]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from somnomyo.cli import main; sys.exit(main())",
            "review",
            str(folder),
            "--no-browser",
            "--scorer",
            scorer,
            "-q",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:") and "?token=" in url, (url, proc.stderr.read() if proc.poll() else "")
    base, token = url.split("/?token=")
    return proc, Client(base, token)


def test_review_kill_9_loses_no_acknowledged_edit(folder: Path) -> None:
    proc, c = _start_process(folder, SCORER)
    try:
        lms = _automatic_lm_ids(c)
        done = {}
        for i, lm in enumerate(lms[:5]):
            st = "rejected" if i % 2 else "accepted"
            assert c.call("PATCH", f"/api/events/{lm['id']}", {"status": st})[0] == 200
            done[lm["id"]] = st
        added = c.ok(
            "POST", "/api/events", {"onset": 2222.0, "duration": 1.0, "trial_type": "leg_movement", "channel": "Leg L"}
        )
        summary = c.ok("GET", "/api/summary")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    proc, c = _start_process(folder, SCORER)
    try:
        events = {e["id"]: e for e in c.ok("GET", "/api/events")}
        for eid, st in done.items():
            assert events[eid]["status"] == st
        assert events[added["id"]]["status"] == "added"
        assert c.ok("GET", "/api/summary")["plm"] == summary["plm"]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def test_review_journal_torn_last_line_is_ignored_on_replay(folder: Path) -> None:
    with serve(folder) as c:
        lm = _automatic_lm_ids(c)[0]
        c.ok("PATCH", f"/api/events/{lm['id']}", {"status": "rejected"})
    journal = folder / "review" / "a-tech" / "journal.jsonl"
    with open(journal, "ab") as fh:  # a crash in the middle of writing the next line
        fh.write(b'{"v":1,"seq":2,"op":"stat')
    with serve(folder) as c:
        assert c.ok("GET", f"/api/events/{lm['id']}")["status"] == "rejected"
        c.ok("PATCH", f"/api/events/{lm['id']}", {"status": "accepted"})
    entries = read_journal(journal)
    assert [e["seq"] for e in entries] == [1, 2] and entries[-1]["after"] == {"status": "accepted"}


def test_review_second_server_for_the_same_scorer_is_refused(folder: Path) -> None:
    from somnomyo.errors import SomnomyoError

    with serve(folder):
        with pytest.raises(SomnomyoError, match="another"):
            ReviewSession(folder, scorer=SCORER, signals=False)


# ----------------------------------------------------------------------------- layers
def test_review_two_scorers_have_separate_layers_and_agreement(folder: Path) -> None:
    with serve(folder, "A. Tech") as a:
        lms = _automatic_lm_ids(a)[:4]
        for lm, st in zip(lms, ("accepted", "accepted", "rejected", "rejected")):
            a.ok("PATCH", f"/api/events/{lm['id']}", {"status": st})
    with serve(folder, "B. Doc") as b:
        for lm, st in zip(lms, ("accepted", "rejected", "rejected", "rejected")):
            b.ok("PATCH", f"/api/events/{lm['id']}", {"status": st})
        # B's layer starts from the automatic events, not from A's edits
        assert b.ok("GET", "/api/summary")["review"]["counts"]["rejected"] == 3
        layers = {x["slug"]: x for x in b.ok("GET", "/api/layers")}
        assert set(layers) == {"automatic", "a-tech", "b-doc"} and layers["b-doc"]["current"]
        assert layers["a-tech"]["counts"]["rejected"] == 2 and layers["a-tech"]["scorer"] == "A. Tech"
        ag = b.ok("GET", "/api/agreement?a=a-tech&b=b-doc")
        assert ag["n_both_reviewed"] == 4 and ag["n_agree"] == 3
        assert ag["table"]["accepted"]["rejected"] == 1
        # Cohen's kappa: p_o = 3/4, p_e = (2/4)(1/4) + (2/4)(3/4) = 1/2 -> 0.5
        assert ag["kappa"] == pytest.approx(0.5)
        a_events = {e["id"]: e["status"] for e in b.ok("GET", "/api/events?layer=a-tech")}
        assert a_events[lms[1]["id"]] == "accepted"
        assert b.call("PATCH", f"/api/events/{lms[0]['id']}?layer=a-tech", {"status": "rejected"})[0] == 200
        assert {e["id"]: e["status"] for e in b.ok("GET", "/api/events?layer=a-tech")}[lms[0]["id"]] == "accepted"
        assert b.call("GET", "/api/agreement?b=nobody")[0] == 404


# ----------------------------------------------------------------------------- signal
def test_review_signal_decimates_long_windows_to_min_max_and_keeps_spikes(folder: Path) -> None:
    from somnomyo.io.edf_window import read_window

    rec = Path(json.loads((folder / "manifest.json").read_text())["recording"]["path"])
    with serve(folder) as c:
        body = c.ok("GET", "/api/signal?start=1200&duration=300&width=500&channels=EEG%20C3-M2&channels=Leg%20L")
        eeg, leg = body["channels"]
        assert eeg["mode"] == "minmax" and len(eeg["min"]) == len(eeg["max"]) == 500
        raw = read_window(rec, ["EEG C3-M2"], start=1200, duration=300)["EEG C3-M2"].data
        assert max(eeg["max"]) == pytest.approx(float(raw.max()), abs=0.01)  # the largest spike is kept
        assert min(eeg["min"]) == pytest.approx(float(raw.min()), abs=0.01)
        lm = leg["lm"]
        assert leg["filter"].startswith("band-pass") and len(lm["baseline"]) == 500
        assert np.allclose(np.array(lm["onset_threshold"]) - np.array(lm["baseline"]), lm["onset_above_uv"], atol=0.011)
        assert np.allclose(
            np.array(lm["offset_threshold"]) - np.array(lm["baseline"]), lm["offset_above_uv"], atol=0.011
        )
        short = c.ok("GET", "/api/signal?start=1200&duration=2&width=800&channels=EEG%20C3-M2")["channels"][0]
        assert short["mode"] == "raw" and len(short["y"]) == 512
        assert np.allclose(short["y"], np.round(raw[:512], 2), atol=0.006)
        assert c.call("GET", "/api/signal?start=0&duration=5000")[0] == 400
        status, _, err = c.call("GET", "/api/signal?start=0&duration=10&channels=Nope")
        assert status == 400 and "Leg L" in err["error"]


def test_review_labels_from_files_are_returned_as_text_never_interpreted(folder: Path) -> None:
    with serve(folder) as c:
        ov = c.ok("GET", "/api/overview")
        assert ODD_LABEL in [ch["label"] for ch in ov["channels"]]
        q = urllib.request.quote(ODD_LABEL)
        sig = c.ok("GET", f"/api/signal?start=100&duration=10&channels={q}")
        assert sig["channels"][0]["label"] == ODD_LABEL
        page = c.call("GET", f"/?token={c.token}", token=None)[2]
        assert ODD_LABEL.encode() not in page and b"<i>Air" not in page  # the page is static; data only via JSON


def test_review_overview_has_hypnogram_density_and_channels(folder: Path) -> None:
    with serve(folder) as c:
        ov = c.ok("GET", "/api/overview")
        assert ov["n_bins"] == len(ov["hypnogram"]["stages"]) == 120
        lm = [d for d in ov["density"] if d["trial_type"] == "leg_movement"]
        n_lm = len(c.ok("GET", "/api/events?kind=leg_movement"))
        assert sum(sum(d["counts"]) for d in lm) == n_lm
        assert {"Leg L", "Leg R"} <= {ch["label"] for ch in ov["channels"] if ch["lm"]}
        assert ov["arousals"] and ov["headline"]["indices"][0]["key"] == "plm.plms_index"


# ----------------------------------------------------------------------------- CLI
def test_review_export_writes_reviewed_outputs_with_manifest(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    row, expected = _lm_whose_rejection_changes_plms(folder)
    with serve(folder, "A. <b>Tech</b>") as c:
        c.ok("PATCH", f"/api/events/a{row}", {"status": "rejected"})
        c.ok(
            "POST", "/api/events", {"onset": 2000.0, "duration": 1.0, "trial_type": "leg_movement", "channel": "Leg L"}
        )
    out = tmp_path / "reviewed"
    assert main(["review", str(folder), "--scorer", "A. <b>Tech</b>", "--export", str(out), "-q"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {
        "events_reviewed.tsv",
        "summary_reviewed.json",
        "events_reviewed.edf",
        "events_reviewed.xml",
        "report_reviewed.html",
        "manifest.json",
    } <= names
    ev = read_events_tsv(out / "events_reviewed.tsv")
    auto = read_events_tsv(folder / "events.tsv")
    assert len(ev) == len(auto) and f"a{row}" not in set(ev["id"]) and (ev["review_status"] == "added").sum() == 1
    summary = json.loads((out / "summary_reviewed.json").read_text())
    assert summary["review"]["counts"]["rejected"] == 1 and set(summary) >= {"plm", "interpretation"}
    man = json.loads((out / "manifest.json").read_text())
    assert man["reviewed_by"]["scorer"] == "A. <b>Tech</b>" and "events_reviewed.tsv" in man["files"]
    html = (out / "report_reviewed.html").read_text()
    assert "reviewed by A. &lt;b&gt;Tech&lt;/b&gt;, 0 accepted / 1 rejected / 1 added / 0 adjusted" in html
    assert "<b>Tech</b>" not in html
    from somnomyo.io.edf import read_annotations

    texts = [t for _, _, t in read_annotations(out / "events_reviewed.edf")]
    # one EDF+ annotation per event and channel (EDFbrowser's "@@channel" convention)
    per_channel = [len(str(c).split(",")) if isinstance(c, str) and c else 1 for c in ev["channel"].astype(object)]
    assert len(texts) == sum(per_channel)


def test_review_refuses_a_folder_that_is_not_somnomyo_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x.txt").write_text("hello")
    assert main(["review", str(tmp_path), "--no-browser"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("somnomyo: error:") and "not somnomyo output" in err[0]


def test_review_refuses_a_folder_whose_recording_changed(
    scored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = tmp_path / "night.edf"
    shutil.copyfile(json.loads((scored / "manifest.json").read_text())["recording"]["path"], rec)
    out = tmp_path / "results"
    assert main(["score", str(rec), "--out", str(out), "--no-report", "-q"]) == 0
    with open(rec, "r+b") as fh:  # one sample changed
        fh.seek(-2, os.SEEK_END)
        b = fh.read(2)
        fh.seek(-2, os.SEEK_END)
        fh.write(bytes([b[0] ^ 1, b[1]]))
    capsys.readouterr()
    assert main(["review", str(out), "--no-browser"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "changed" in err[0] and "Traceback" not in err[0]
    rec.unlink()
    assert main(["review", str(out), "--export", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing" in err[0]
    assert not (tmp_path / "r").exists()


def test_review_signal_leg_channel_is_filtered_and_baselined_exactly_as_scored(folder: Path) -> None:
    from somnomyo.io.edf import read_edf
    from somnomyo.signal.baseline import resting_baseline
    from somnomyo.signal.conditioning import condition_recording
    from somnomyo.signal.ecg import detect_r_peaks

    ctx = ScoringContext.from_folder(folder)
    rec = read_edf(json.loads((folder / "manifest.json").read_text())["recording"]["path"], dtype="float32")
    st = ctx.settings
    emg = [
        lab
        for lab, role in ctx.roles.role_of.items()
        if role in ("leg_left", "leg_right", "chin", "arm_left", "arm_right")
    ]
    ecg = rec.signals[ctx.roles.get("ecg")]
    peaks = (detect_r_peaks(ecg.data, ecg.fs, settings=st.conditioning, max_rate_hz=128.0), ecg.fs)
    night = condition_recording(rec, emg, settings=st.conditioning, r_peaks=peaks)["Leg L"]
    base = resting_baseline(night.envelope, night.fs, settings=st.baseline)
    with serve(folder) as c:
        for start in (1397.0, 2403.3):
            leg = c.ok("GET", f"/api/signal?start={start}&duration=3&width=800&channels=Leg%20L")["channels"][0]
            k0 = int(round(leg["t0"] * 256))
            n = len(leg["y"])
            assert leg["mode"] == "raw" and "ECG removed" in leg["filter"]
            assert np.abs(np.array(leg["y"]) - night.filtered[k0 : k0 + n]).max() <= 0.0051
            assert np.abs(np.array(leg["lm"]["envelope"]) - night.envelope[k0 : k0 + n]).max() <= 0.0051
            assert np.abs(np.array(leg["lm"]["baseline"]) - base[k0 : k0 + n]).max() <= 0.0051


# ----------------------------------------------------------------------------- changing an event's kind
_BLOCKS = ("plm", "fragmentary_myoclonus", "jerks", "hypnic_jerks", "clusters", "negative_myoclonus", "rem_emg")


def _summary_blocks(summary: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps({k: summary.get(k) for k in _BLOCKS}))


def test_review_change_kind_to_every_editable_kind_answers_200_and_rescores_as_that_kind(folder: Path) -> None:
    """Changing an event's kind (docs/review.md, PATCH trial_type) to each kind the night's
    detectors score gives the summary of rescoring the table with that row's kind changed; an
    event made a jerk takes the role of its channel as its muscle (as the jerk detector names
    muscles), so the jerk summary counts it on that muscle."""
    events = read_events_tsv(folder / "events.tsv")
    ctx = ScoringContext.from_folder(folder)
    roles = ctx.roles.role_of
    tt = events["trial_type"].astype(object).to_numpy()
    chan = events["channel"].astype(object).to_numpy()
    on_leg = np.array([roles.get(str(c)) in ("leg_left", "leg_right") for c in chan])
    lm_row = int(np.flatnonzero(tt == "leg_movement")[0])
    fm_leg_row = int(np.flatnonzero((tt == "fragmentary_myoclonus") & on_leg)[0])
    with serve(folder) as c:
        ov = c.ok("GET", "/api/overview")
        kinds = ov["editable_kinds"]
        assert set(kinds) == set(ov["kinds"]) - {"jerk_cluster"} and "myoclonic_jerk" in kinds
        before = c.ok("GET", "/api/summary")
        for kind in kinds:
            row = fm_leg_row if kind == "leg_movement" else lm_row
            status, _, ev = c.call("PATCH", f"/api/events/a{row}", {"trial_type": kind})
            assert status == 200, (kind, ev)
            assert ev["trial_type"] == kind and ev["adjusted"] and ev["automatic"]["trial_type"] == tt[row]
            status, _, got = c.call("GET", "/api/summary")
            assert status == 200, (kind, got)
            table = events.copy()
            table.loc[row, "trial_type"] = kind
            if kind in ("myoclonic_jerk", "hypnic_jerk"):
                table.loc[row, "muscles"] = roles[str(chan[row])]
                table.loc[row, "extent"] = "focal"  # one muscle
            expected = rescore(table, ctx).summary()
            assert _summary_blocks(got) == _summary_blocks(expected), kind
            if kind == "myoclonic_jerk":
                muscle = roles[str(chan[row])]
                j0, j1 = before["jerks"], got["jerks"]
                assert j1["count"] == j0["count"] + 1
                assert j1["muscles"].get(muscle, 0) == j0["muscles"].get(muscle, 0) + 1
                assert j1["leading_muscle"].get(muscle, 0) == j0["leading_muscle"].get(muscle, 0) + 1
                assert j1["by_extent"]["focal"] == j0["by_extent"]["focal"] + 1  # one muscle: focal
                assert j1["median_lag_ms"] == j0["median_lag_ms"]  # a one-muscle jerk has no lag
                assert "nan" not in json.dumps(j1).lower()
            assert c.ok("POST", "/api/undo")["event"]["trial_type"] == tt[row]
        assert _summary_blocks(c.ok("GET", "/api/summary")) == _summary_blocks(before)
        status, _, err = c.call("PATCH", f"/api/events/a{lm_row}", {"trial_type": "jerk_cluster"})
        assert status == 400 and "derived" in err["error"]


def test_review_jerk_clusters_are_found_again_from_edited_jerks_and_cannot_be_edited(folder: Path) -> None:
    """Jerk clusters are derived from the jerks (>= cluster_min_jerks onsets, consecutive
    intervals <= cluster_max_interval_s): adding such jerks makes a cluster appear (origin
    ``rescored``), rejecting enough of them makes it disappear; the cluster itself cannot be edited."""
    ctx = ScoringContext.from_folder(folder)
    ms = ctx.settings.myoclonus
    n, step = int(ms.cluster_min_jerks), 0.5 * float(ms.cluster_max_interval_s)
    events = read_events_tsv(folder / "events.tsv")
    jerk_on = events.loc[events["trial_type"] == "myoclonic_jerk", "onset"].to_numpy(dtype=float)
    stages = np.asarray(ctx.hypnogram.stages)
    t0 = next(
        ctx.hypnogram.start + k * ctx.hypnogram.epoch_s + 5.0
        for k in np.flatnonzero(stages == "N2")
        if not (np.abs(jerk_on - (ctx.hypnogram.start + k * ctx.hypnogram.epoch_s + 5.0)) < 60).any()
    )
    leg = next(lab for lab, r in ctx.roles.role_of.items() if r == "leg_left")
    with serve(folder) as c:
        c0 = c.ok("GET", "/api/summary")["clusters"]["count"]
        added = [
            c.ok(
                "POST",
                "/api/events",
                {"onset": t0 + i * step, "duration": 0.2, "trial_type": "myoclonic_jerk", "channel": leg},
            )
            for i in range(n)
        ]
        assert all(a["status"] == "added" for a in added)
        assert c.ok("GET", "/api/summary")["clusters"]["count"] == c0 + 1
        cl = c.ok("GET", f"/api/events?kind=jerk_cluster&start={t0 - 1}&end={t0 + n * step}")
        assert len(cl) == 1 and cl[0]["origin"] == "rescored" and cl[0]["onset"] == pytest.approx(t0)
        status, _, err = c.call("PATCH", f"/api/events/{cl[0]['id']}", {"status": "rejected"})
        assert status == 409 and "derived" in err["error"]
        status, _, err = c.call(
            "POST", "/api/events", {"onset": t0, "duration": 1.0, "trial_type": "jerk_cluster", "channel": leg}
        )
        assert status == 400 and "derived" in err["error"]
        c.ok("PATCH", f"/api/events/{added[-1]['id']}", {"status": "rejected"})  # n - 1 jerks left
        assert c.ok("GET", "/api/summary")["clusters"]["count"] == c0
        assert not c.ok("GET", f"/api/events?kind=jerk_cluster&start={t0 - 1}&end={t0 + n * step}")


# ----------------------------------------------------------------------------- what score keeps for the windows
def _without_signal_context(folder: Path) -> None:
    """Make ``folder`` look like one written before context.json kept ``signal`` (manifest rebuilt)."""
    from somnomyo.io.results_folder import MANIFEST_FILE, build_manifest

    ctx_file = folder / "context.json"
    d = json.loads(ctx_file.read_text())
    del d["signal"]
    ctx_file.write_text(json.dumps(d))
    man = json.loads((folder / MANIFEST_FILE).read_text())
    new = build_manifest(
        folder,
        recording=man["recording"]["path"],
        recording_sha256=man["recording"]["sha256"],
        standard=man.get("standard"),
        command=man.get("command"),
    )
    new["inputs"] = man.get("inputs", [])
    (folder / MANIFEST_FILE).write_text(json.dumps(new, indent=1))


def test_review_windows_use_the_mains_and_r_peaks_kept_by_score_and_older_folders_still_work(
    folder: Path, tmp_path: Path
) -> None:
    """context.json ``signal`` holds the mains frequency removed and the night's R peaks (what the
    scoring found on the whole channels); the server uses them without reading any channel whole,
    and a folder without them (older somnomyo) gives the same windows (found in the background)."""
    from somnomyo.io.edf import read_edf
    from somnomyo.signal.ecg import detect_r_peaks

    ctx = ScoringContext.from_folder(folder)
    sig = ctx.signal
    assert sig["mains_hz"] in (50.0, 60.0) and "Leg L" in sig["mains_labels"]
    rec = read_edf(json.loads((folder / "manifest.json").read_text())["recording"]["path"], dtype="float32")
    ecg = rec.signals[ctx.roles.get("ecg")]
    peaks = detect_r_peaks(ecg.data, ecg.fs, settings=ctx.settings.conditioning, max_rate_hz=128.0)
    assert sig["r_peaks"]["fs"] == ecg.fs and sig["r_peaks"]["samples"] == peaks.tolist()
    session = ReviewSession(folder, scorer=SCORER)
    try:
        assert session.signals is not None and session.signals._mains_done.is_set()  # nothing to find
        assert session.signals._mains == sig["mains_hz"]
    finally:
        session.close()
    old = tmp_path / "old"
    shutil.copytree(folder, old)
    _without_signal_context(old)
    assert ScoringContext.from_folder(old).signal == {}
    q = "start=1397&duration=3&width=800&channels=Leg%20L&channels=EMG%20Chin"
    with serve(folder) as c:
        new_w = c.ok("GET", f"/api/signal?{q}")["channels"]
    with serve(old) as c:
        old_w = c.ok("GET", f"/api/signal?{q}")["channels"]
    for a, b in zip(new_w, old_w):
        assert a["filter"] == b["filter"] and "mains" in a["filter"]
        assert np.abs(np.array(a["y"]) - np.array(b["y"])).max() <= 0.0051


def test_score_keeps_the_mains_harmonics_removed_per_channel_and_the_review_windows_use_them(folder: Path) -> None:
    """context.json ``signal.mains_harmonics`` holds, per conditioned channel, the number of mains
    harmonics the scoring removed (what :func:`somnomyo.signal.filters.hum_harmonics` measured on the
    whole band-passed channel); the review session takes exactly that count for its windows."""
    from somnomyo.io.edf import read_edf
    from somnomyo.signal.conditioning import _bandpassed
    from somnomyo.signal.filters import hum_harmonics

    ctx = ScoringContext.from_folder(folder)
    sig = ctx.signal
    assert sig["mains_hz"] in (50.0, 60.0)
    assert set(sig["mains_harmonics"]) == set(sig["mains_labels"])
    cs = ctx.settings.conditioning
    rec = read_edf(json.loads((folder / "manifest.json").read_text())["recording"]["path"], dtype="float32")
    for lab in sig["mains_labels"]:
        y = _bandpassed(rec.signals[lab].data, rec.signals[lab].fs, settings=cs)
        want = hum_harmonics(y, rec.signals[lab].fs, mains_hz=sig["mains_hz"], settings=cs)
        assert sig["mains_harmonics"][lab] == want, lab
    session = ReviewSession(folder, scorer=SCORER)
    try:
        assert session.signals is not None and session.signals._harmonics == sig["mains_harmonics"]
    finally:
        session.close()


def test_review_accepts_between_rejections_keep_statuses_and_the_rescored_indices(folder: Path) -> None:
    """An accept leaves the reviewed table as it was (the same rescoring, only the status
    changes), whatever came before: accepting, rejecting, accepting another event and undoing
    give the statuses and the PLMS index of rescoring the events that are not rejected; the
    automatic layer lists every event unreviewed throughout."""
    row, expected = _lm_whose_rejection_changes_plms(folder)
    n = len(read_events_tsv(folder / "events.tsv"))
    with serve(folder) as c:
        auto = c.ok("GET", "/api/summary")["plm"]["plms_index"]
        lms = [e["id"] for e in c.ok("GET", "/api/events?kind=leg_movement") if e["id"] != f"a{row}"]
        assert c.ok("PATCH", f"/api/events/{lms[0]}", {"status": "accepted"})["status"] == "accepted"
        assert c.ok("GET", "/api/summary")["plm"]["plms_index"] == auto
        assert c.ok("PATCH", f"/api/events/a{row}", {"status": "rejected"})["status"] == "rejected"
        assert c.ok("PATCH", f"/api/events/{lms[1]}", {"status": "accepted"})["status"] == "accepted"
        assert c.ok("GET", "/api/summary")["plm"]["plms_index"] == expected != auto
        status = {e["id"]: e["status"] for e in c.ok("GET", "/api/events?kind=leg_movement")}
        assert (status[lms[0]], status[f"a{row}"], status[lms[1]]) == ("accepted", "rejected", "accepted")
        assert sum(s != "unreviewed" for s in status.values()) == 3
        automatic = c.ok("GET", "/api/events?layer=automatic")
        assert len(automatic) == n and {e["status"] for e in automatic} == {"unreviewed"}
        c.ok("POST", "/api/undo")  # the second accept
        c.ok("POST", "/api/undo")  # the rejection
        assert c.ok("GET", "/api/summary")["plm"]["plms_index"] == auto
        status = {e["id"]: e["status"] for e in c.ok("GET", "/api/events?kind=leg_movement")}
        assert (status[lms[0]], status[f"a{row}"], status[lms[1]]) == ("accepted", "unreviewed", "unreviewed")
