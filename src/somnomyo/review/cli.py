"""``somnomyo review RESULTS_DIR``: the review page, or ``--export DIR`` without a server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from somnomyo.errors import SomnomyoError

__all__ = ["add_parser", "cmd_review"]


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Register the ``review`` subcommand on ``sub`` (the parser's subparsers)."""
    sp = sub.add_parser(
        "review",
        parents=[common],
        help="review a scored night in the browser: accept, reject, adjust, add; rescored live",
    )
    sp.add_argument("results", metavar="RESULTS_DIR", help="a folder written by `somnomyo score`")
    sp.add_argument("--scorer", metavar="NAME", help="who reviews (default: the user name); one layer per scorer")
    sp.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    sp.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    sp.add_argument(
        "--no-browser",
        action="store_true",
        help="do not open a browser; print the page address (with its token) on the first line",
    )
    sp.add_argument(
        "--export",
        metavar="DIR",
        help="write the reviewed outputs (events_reviewed.tsv, summary_reviewed.json, EDF+, NSRR XML, "
        "report_reviewed.html, manifest.json) to DIR and exit, without a server",
    )
    sp.set_defaults(func=cmd_review)
    return sp


def _need_extra() -> None:
    import importlib.util

    missing = [m for m in ("starlette", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise SomnomyoError(
            f"review needs the 'review' extra ({', '.join(missing)} missing): pip install 'somnomyo[review]'"
        )


class _RecordingCheck:
    """The recording's SHA-256 checked against the results folder's manifest in a thread, while
    the server's modules are imported and the session is read (hashlib and file reads release
    the GIL). Only the standard library, so that the thread does not wait on the imports.
    :meth:`wait` raises the :class:`SomnomyoError` of
    :func:`somnomyo.io.results_folder.open_results` for a missing or changed recording."""

    def __init__(self, folder: str) -> None:
        import threading

        self.folder = Path(folder)
        self.error: SomnomyoError | None = None
        self.done = False
        self._thread = threading.Thread(target=self._run, name="somnomyo-review-sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import hashlib
        import json

        try:
            man = json.loads((self.folder / "manifest.json").read_text(encoding="utf-8"))
            rec = man["recording"]
            rp = Path(str(rec.get("path")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return  # not a results folder: the session's own check says why
        try:
            if not rp.is_file():
                self.error = SomnomyoError(f"the recording it was scored from, {rp}, is missing", self.folder)
                return
            if rp.stat().st_size != rec.get("size"):
                self.error = SomnomyoError(
                    f"the recording {rp} changed since it was scored (sha256 differs)", self.folder
                )
                return
            h = hashlib.sha256()
            with open(rp, "rb") as fh:
                while block := fh.read(1 << 20):
                    h.update(block)
            if h.hexdigest() != rec.get("sha256"):
                self.error = SomnomyoError(
                    f"the recording {rp} changed since it was scored (sha256 differs)", self.folder
                )
                return
            self.done = True
        except OSError as err:
            self.error = SomnomyoError(f"the recording {rp} cannot be read ({err.strerror or err})", self.folder)

    def wait(self) -> None:
        self._thread.join()
        if self.error is not None:
            raise self.error
        if not self.done:  # the manifest could not be read here: check it the ordinary way
            from somnomyo.io.results_folder import open_results

            open_results(self.folder, check_recording=True, check_files=False)


def cmd_review(args: argparse.Namespace) -> int:
    check = None if args.export else _RecordingCheck(args.results)  # while the imports run
    from somnomyo.review.session import ReviewSession, default_scorer

    scorer = args.scorer or default_scorer()
    if not 0 <= args.port <= 65535:
        raise SomnomyoError(f"--port must be 0..65535; got {args.port}")
    if args.export:
        from somnomyo.review.export import export_review

        session = ReviewSession(args.results, scorer=scorer, signals=False, readonly=True)
        try:
            paths = export_review(session, Path(args.export))
        finally:
            session.close()
        if not args.quiet:
            print(f"reviewed outputs of {scorer} in {args.export}/")
            for k, p in paths.items():
                print(f"  {k:<22} {p}")
        return 0
    _need_extra()
    from somnomyo.review.server import ReviewServer

    assert check is not None
    # a missing or changed recording is refused (check.wait raises) before the page can be opened
    session = ReviewSession(args.results, scorer=scorer, recording_check=check.wait)
    try:
        server = ReviewServer(session, host=args.host, port=args.port)
        print(server.url, flush=True)
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            print(
                f"somnomyo: warning: listening on {args.host}: the page can be reached from other machines "
                "(anyone with the address and its token can edit)",
                file=sys.stderr,
                flush=True,
            )
        if not args.no_browser:
            import webbrowser

            webbrowser.open(server.url)
        if not args.quiet:
            print(
                f"reviewing {session.path} as {scorer!r}; edits are saved in {session.journal.path}; Ctrl-C to stop",
                file=sys.stderr,
                flush=True,
            )
        server.serve()
    finally:
        session.close()
    return 0
