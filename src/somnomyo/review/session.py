"""A review session: one results folder, one scorer editing their layer, the other layers read-only.

:class:`ReviewSession` checks the folder (:func:`somnomyo.io.results_folder.open_results`: a
somnomyo results folder whose files and recording are unchanged), reads the automatic events
and the scoring context (:class:`somnomyo.rescore.ScoringContext`), opens the scorer's journal
and replays it. An edit is planned, applied and rescored in memory, then written to the journal
(fsync) and only then acknowledged; if rescoring or the write fails, the state is put back.
"""

from __future__ import annotations

import getpass
import math
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from somnomyo._logging import logger
from somnomyo.errors import SomnomyoError
from somnomyo.review.journal import JOURNAL_NAME, REVIEW_DIR, Journal, now_iso, read_journal, scorer_slug
from somnomyo.review.layer import EditError, Layer
from somnomyo.review.state import DERIVED_KINDS, ReviewedNight

__all__ = ["ReviewSession", "default_scorer", "open_session"]

MAX_BODY_BYTES = 64 * 1024


def default_scorer() -> str:
    """The user name of the account (the default ``--scorer``)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or os.environ.get("USERNAME") or "scorer"


class ReviewSession:
    """Everything the API serves for one results folder and one scorer."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        scorer: str,
        signals: bool = True,
        check: bool = True,
        readonly: bool = False,
        recording_check: Callable[[], None] | None = None,
    ) -> None:
        from somnomyo.io.results_folder import open_results
        from somnomyo.registry import FAMILIES, for_families, trial_types
        from somnomyo.rescore import ScoringContext

        # recording_check: the caller checks the recording (somnomyo review: hashed in a thread while
        # this reads the folder); called before the journal is opened, its error refuses the folder
        self.folder = open_results(folder, check_recording=check and recording_check is None, check_files=check)
        self.path = self.folder.path
        self.context = ScoringContext.from_folder(self.path)
        self.base = self.folder.events().reset_index(drop=True)
        self.automatic_summary = self.folder.summary()
        self.scorer = scorer
        self.slug = scorer_slug(scorer)
        self.kinds = tuple(trial_types(for_families([f for f in FAMILIES if f in self.context.detectors])))
        #: the kinds an edit may give an event (derived kinds are found again by rescoring)
        self.editable_kinds = tuple(k for k in self.kinds if k not in DERIVED_KINDS)
        self.roles: dict[str, str] = dict(self.context.roles.role_of)
        self._lock = threading.RLock()
        #: set once the night overview has been answered (the server then warms the rescoring)
        self.overview_served = threading.Event()
        #: set once the rescoring is warm (:meth:`warm`)
        self.warmed = threading.Event()
        if check and recording_check is not None:
            recording_check()
        self.journal = Journal(self.path / REVIEW_DIR / self.slug / JOURNAL_NAME, scorer=scorer, readonly=readonly)
        try:
            layer = Layer(self.base, scorer=scorer, slug=self.slug)
            for e in self.journal.entries:
                layer.apply(e)
            self.night = ReviewedNight(layer, self.context, self.automatic_summary, roles=self.roles)
            self.night.refresh()
        except Exception:
            self.journal.close()
            raise
        self._others: dict[str, tuple[tuple[int, int], ReviewedNight]] = {}
        self._automatic: ReviewedNight | None = None
        self.signals = None
        if signals:
            from somnomyo.review.data import SignalSource

            self.signals = SignalSource(
                self.folder.recording_path, roles=self.roles, settings=self.context.settings, night=self.context.signal
            )
        logger.info(
            "review of %s by %s: %d automatic events, %d journal entries replayed",
            self.path,
            scorer,
            len(self.base),
            len(self.journal.entries),
        )

    def warm(self) -> bool:
        """Prepare the rescoring of the first edit (:meth:`ReviewedNight.warm`), under the edit lock."""
        with self._lock:
            try:
                return self.night.warm()
            finally:
                self.warmed.set()

    def close(self) -> None:
        self.journal.close()
        if self.signals is not None:
            self.signals.close()

    @property
    def layer(self) -> Layer:
        return self.night.layer

    @property
    def duration(self) -> float:
        return float(self.context.duration_s)

    def labels(self) -> list[str]:
        if self.signals is not None:
            return self.signals.reader.labels
        return list(self.roles)

    # ------------------------------------------------------------------ layers
    def layer_slugs(self) -> list[str]:
        root = self.path / REVIEW_DIR
        if not root.is_dir():
            return [self.slug]
        found = sorted(p.parent.name for p in root.glob(f"*/{JOURNAL_NAME}") if p.is_file())
        return list(dict.fromkeys([self.slug] + found))

    def reviewed(self, slug: str | None) -> ReviewedNight | None:
        """The reviewed night of layer ``slug`` (None: this scorer's; ``automatic``: None)."""
        if slug in (None, "", self.slug):
            return self.night
        if slug == "automatic":
            return None
        p = self.path / REVIEW_DIR / slug / JOURNAL_NAME
        if not p.is_file() or "/" in slug or slug.startswith("."):
            raise EditError(f"no layer {slug!r}; layers: {', '.join(['automatic'] + self.layer_slugs())}", status=404)
        st = p.stat()
        key = (st.st_size, st.st_mtime_ns)
        cached = self._others.get(slug)
        if cached is not None and cached[0] == key:
            return cached[1]
        entries = read_journal(p)
        scorer = next((e.get("scorer") for e in entries if e.get("scorer")), slug)
        layer = Layer(self.base, scorer=scorer, slug=slug)
        for e in entries:
            layer.apply(e)
        night = ReviewedNight(layer, self.context, self.automatic_summary, roles=self.roles)
        night.refresh()
        self._others[slug] = (key, night)
        return night

    def automatic_layer(self) -> Layer:
        return Layer(self.base, scorer=None, slug="automatic")

    def automatic_night(self) -> ReviewedNight:
        """The automatic events as a (never edited) layer: every event unreviewed, the summary as scored."""
        if self._automatic is None:
            from somnomyo.review.state import ID_COLUMN

            night = ReviewedNight(self.automatic_layer(), self.context, self.automatic_summary, roles=self.roles)
            night.summary = self.automatic_summary
            table = self.base.copy()
            table[ID_COLUMN] = np.arange(len(table), dtype=np.int64)  # the row key (ids "a<row>")
            night.view = night._view(table)
            self._automatic = night
        return self._automatic

    # ------------------------------------------------------------------ edits
    def patch(self, eid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(body, Mapping) or not body:
            raise EditError('body must be a JSON object: {"status": ...}, {"onset", "duration"} or {"trial_type"}')
        keys = set(body)
        allowed = {"status", "onset", "duration", "trial_type"}
        if keys - allowed:
            raise EditError(
                f"unknown field(s) {', '.join(sorted(map(str, keys - allowed)))}; allowed: {', '.join(sorted(allowed))}"
            )
        if "status" in keys and len(keys) > 1:
            raise EditError("change the status in a request of its own (no other fields with 'status')")
        with self._lock:
            lay = self.layer
            if not lay.exists(eid):
                derived = self.night.event(eid)
                if derived is not None:  # a derived event found by rescoring
                    raise EditError(_derived_text(derived["trial_type"]), status=409)
                raise EditError(f"no event with id {eid!r}", status=404)
            if lay.values(eid)["trial_type"] in DERIVED_KINDS:
                raise EditError(_derived_text(lay.values(eid)["trial_type"]), status=409)
            if "status" in keys:
                entry = lay.plan_status(eid, _text(body["status"], "status"))
            else:
                cur = lay.values(eid)
                changes: dict[str, Any] = {}
                if "onset" in keys:
                    changes["onset"] = _number(body["onset"], "onset")
                if "duration" in keys:
                    changes["duration"] = _number(body["duration"], "duration")
                if "trial_type" in keys:
                    changes["trial_type"] = self._kind(body["trial_type"])
                if lay.status(eid) == "rejected" and not lay.is_automatic(eid):
                    raise EditError(
                        f"event {eid} was added and then rejected; accept it before adjusting it", status=409
                    )
                self._check_span(changes.get("onset", cur["onset"]), changes.get("duration", cur["duration"]))
                entry = lay.plan_adjust(eid, changes)
            if entry is not None:
                self._commit(entry)
            return self._event(eid)

    def add(self, body: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise EditError("body must be a JSON object with onset, duration, trial_type, channel")
        need = ("onset", "duration", "trial_type", "channel")
        missing = [k for k in need if k not in body]
        extra = sorted(set(map(str, body)) - set(need))
        if missing or extra:
            raise EditError(
                f"a new event needs exactly {', '.join(need)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(extra)}" if extra else "")
            )
        onset, duration = _number(body["onset"], "onset"), _number(body["duration"], "duration")
        self._check_span(onset, duration)
        fields = {
            "onset": onset,
            "duration": duration,
            "trial_type": self._kind(body["trial_type"]),
            "channel": self._channel(body["channel"]),
        }
        with self._lock:
            entry = self.layer.plan_add(fields)
            self._commit(entry)
            return self._event(entry["id"])

    def undo(self) -> dict[str, Any]:
        with self._lock:
            entry = self.layer.plan_undo()
            full = self._commit(entry)
            eid = full["id"]
            return {
                "undone": self.layer.entries[int(full["undoes"])],
                "event": self._event(eid) if self.layer.exists(eid) else None,
            }

    def _commit(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Apply ``entry`` and rescore; then write it to the journal (fsync). On failure the state
        before the edit is restored and nothing is written."""
        full = {"v": 1, "seq": self.journal.next_seq, "time": now_iso(), "scorer": self.scorer, **entry}
        lay = self.layer
        snapshot = (
            dict((k, dict(v)) for k, v in lay.overrides.items()),
            dict((k, dict(v)) for k, v in lay.added.items()),
            list(lay.undo_stack),
            dict(lay.entries),
            lay.n_edits,
            lay.last_edit,
        )
        old = (self.night.summary, self.night.view)
        try:
            lay.apply(full)
            self.night.refresh()
            self.journal.append_entry(full)
        except BaseException as err:
            (lay.overrides, lay.added, lay.undo_stack, lay.entries, lay.n_edits, lay.last_edit) = snapshot
            self.night.summary, self.night.view = old
            if isinstance(err, SomnomyoError):
                raise EditError(f"edit refused: {err}") from None
            raise
        return full

    def _event(self, eid: str) -> dict[str, Any]:
        ev = self.night.event(eid)
        if ev is None:
            raise EditError(f"no event with id {eid!r}", status=404)
        return ev

    def _kind(self, v: Any) -> str:
        k = _text(v, "trial_type")
        if k in DERIVED_KINDS:
            raise EditError(_derived_text(k))
        if k not in self.kinds:
            raise EditError(f"trial_type must be one of {', '.join(self.editable_kinds)}; got {k!r}")
        return k

    def _channel(self, v: Any) -> str:
        c = _text(v, "channel")
        labels = self.labels()
        parts = [p for p in c.split(",")] if c not in labels else [c]
        bad = [p for p in parts if p not in labels]
        if bad or not parts:
            raise EditError(f"channel {c!r} is not a channel of the recording; channels: {', '.join(labels)}")
        return c

    def _check_span(self, onset: float, duration: float) -> None:
        if onset < 0 or duration <= 0 or onset + duration > self.duration + 1e-6:
            raise EditError(
                f"an event must lie inside the recording (0 to {self.duration:g} s) with duration > 0; "
                f"got onset {onset:g} s, duration {duration:g} s"
            )


def _derived_text(kind: str) -> str:
    return (
        f"{kind} events are derived: rescoring finds them again from the jerks they group; "
        "accept, reject or adjust those jerks instead"
    )


def _number(v: Any, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        raise EditError(f"{name} must be a finite number of seconds; got {v!r}")
    return float(v)


def _text(v: Any, name: str) -> str:
    if not isinstance(v, str):
        raise EditError(f"{name} must be a string; got {type(v).__name__}")
    return v


def open_session(folder: str | os.PathLike[str], *, scorer: str | None = None, signals: bool = True) -> ReviewSession:
    """Open ``folder`` for review by ``scorer`` (default: the user name)."""
    return ReviewSession(folder, scorer=scorer or default_scorer(), signals=signals)
