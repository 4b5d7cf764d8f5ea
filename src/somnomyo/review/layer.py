"""One scorer's layer: the review state of every event, rebuilt from the journal's entries.

A layer never changes the automatic events; it holds, per automatic event (id ``"a<row>"``), the
scorer's status and adjusted values, and the events the scorer added (``"n-<hex>"``). Every
journal entry sets an event's state to the entry's ``after`` (an ``undo`` entry carries the
undone entry's ``before`` as its ``after``), so replaying a journal gives back the exact state.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from somnomyo.errors import SomnomyoError

__all__ = ["Layer", "STATUSES", "EDITABLE_FIELDS", "automatic_id", "new_added_id", "EditError"]

STATUSES = ("unreviewed", "accepted", "rejected", "added")
EDITABLE_FIELDS = ("onset", "duration", "trial_type")
ADDED_FIELDS = ("onset", "duration", "trial_type", "channel")


class EditError(SomnomyoError):
    """An edit that does not fit the event (answered 400/404/409 by the API)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def automatic_id(row: int) -> str:
    """Id of the automatic event on data row ``row`` (0-based) of events.tsv."""
    return f"a{row}"


def new_added_id() -> str:
    return f"n-{uuid.uuid4().hex[:12]}"


@dataclass
class Layer:
    """Review state of one scorer over the automatic events ``base`` (events.tsv, file order)."""

    base: pd.DataFrame
    scorer: str | None = None
    slug: str = "automatic"
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)  # automatic id -> status/fields
    added: dict[str, dict[str, Any]] = field(default_factory=dict)  # added id -> fields + status
    undo_stack: list[int] = field(default_factory=list)  # seq of entries still undoable
    entries: dict[int, dict[str, Any]] = field(default_factory=dict)  # seq -> entry
    n_edits: int = 0
    last_edit: str | None = None

    def __post_init__(self) -> None:
        self._row = {automatic_id(i): i for i in range(len(self.base))}
        self._base_on = self.base["onset"].to_numpy(dtype=float)
        self._base_du = self.base["duration"].to_numpy(dtype=float)
        self._base_tt = self.base["trial_type"].astype(object).to_numpy()

    # ------------------------------------------------------------------ reading
    def is_automatic(self, eid: str) -> bool:
        return eid in self._row

    def row(self, eid: str) -> int:
        return self._row[eid]

    def exists(self, eid: str) -> bool:
        return eid in self._row or eid in self.added

    def automatic_values(self, eid: str) -> dict[str, Any]:
        i = self._row[eid]
        return {
            "onset": float(self._base_on[i]),
            "duration": float(self._base_du[i]),
            "trial_type": str(self._base_tt[i]),
        }

    def status(self, eid: str) -> str:
        if eid in self.added:
            return str(self.added[eid].get("status", "added"))
        return str(self.overrides.get(eid, {}).get("status", "unreviewed"))

    def values(self, eid: str) -> dict[str, Any]:
        """Current onset, duration, trial_type (and channel for added events)."""
        if eid in self.added:
            return {k: self.added[eid][k] for k in ADDED_FIELDS}
        out = self.automatic_values(eid)
        for k in EDITABLE_FIELDS:
            if k in self.overrides.get(eid, {}):
                out[k] = self.overrides[eid][k]
        return out

    def adjusted(self, eid: str) -> bool:
        if eid in self.added:
            return False
        ov = self.overrides.get(eid, {})
        auto = self.automatic_values(eid)
        return any(k in ov and ov[k] != auto[k] for k in EDITABLE_FIELDS)

    def counts(self) -> dict[str, int]:
        """accepted (not adjusted), rejected, added (not rejected), adjusted (not rejected), unreviewed
        (docs/review.md, "Export")."""
        c = {"accepted": 0, "rejected": 0, "added": 0, "adjusted": 0, "unreviewed": 0}
        for eid, ov in self.overrides.items():
            st = ov.get("status", "unreviewed")
            if st == "rejected":
                c["rejected"] += 1
            elif self.adjusted(eid):
                c["adjusted"] += 1
            elif st == "accepted":
                c["accepted"] += 1
        c["added"] = sum(1 for a in self.added.values() if a.get("status") == "added")
        c["unreviewed"] = len(self.base) - c["accepted"] - c["rejected"] - c["adjusted"]
        return c

    def status_array(self) -> np.ndarray:
        """Status of every automatic event, in row order."""
        out = np.full(len(self.base), "unreviewed", dtype=object)
        for eid, ov in self.overrides.items():
            out[self._row[eid]] = ov.get("status", "unreviewed")
        return out

    # ------------------------------------------------------------------ applying entries
    def apply(self, entry: Mapping[str, Any]) -> None:
        """Apply one journal entry (replay or a new edit)."""
        seq = int(entry["seq"])
        op = entry["op"]
        eid = str(entry.get("id", ""))
        self.entries[seq] = dict(entry)
        self._set(eid, entry.get("after"))
        if op == "undo":
            target = int(entry["undoes"])
            if target in self.undo_stack:
                self.undo_stack.remove(target)
        else:
            self.undo_stack.append(seq)
        self.n_edits += 1
        self.last_edit = entry.get("time")

    def _set(self, eid: str, after: Mapping[str, Any] | None) -> None:
        if eid in self._row:
            ov = self.overrides.setdefault(eid, {})
            for k, v in (after or {}).items():
                if k == "status" or k in EDITABLE_FIELDS:
                    ov[k] = v
            auto = self.automatic_values(eid)
            for k in EDITABLE_FIELDS:  # an override equal to the automatic value is none
                if k in ov and ov[k] == auto[k]:
                    del ov[k]
            if ov.get("status") == "unreviewed":
                del ov["status"]
            if not ov:
                del self.overrides[eid]
        elif after is None:  # an add undone
            self.added.pop(eid, None)
        else:
            cur = self.added.setdefault(eid, {"status": "added"})
            cur.update({k: v for k, v in after.items() if k == "status" or k in ADDED_FIELDS})

    # ------------------------------------------------------------------ building edits
    def plan_status(self, eid: str, status: str) -> dict[str, Any] | None:
        """The journal entry (without seq) that sets ``status``; None when nothing changes."""
        self._known(eid)
        allowed = ("accepted", "rejected", "unreviewed")
        if status not in allowed:
            raise EditError(f"status must be one of {', '.join(map(repr, allowed))}; got {status!r}")
        if eid in self.added:
            status = "rejected" if status == "rejected" else "added"
        old = self.status(eid)
        if old == status:
            return None
        return {"op": "status", "id": eid, "before": {"status": old}, "after": {"status": status}}

    def plan_adjust(self, eid: str, changes: Mapping[str, Any]) -> dict[str, Any] | None:
        self._known(eid)
        cur = self.values(eid)
        new = {k: v for k, v in changes.items() if cur.get(k) != v}
        old_status = self.status(eid)
        new_status = "accepted" if old_status == "unreviewed" else old_status
        if not new:
            return None
        before = {k: cur[k] for k in new}
        after = dict(new)
        if new_status != old_status:
            before["status"], after["status"] = old_status, new_status
        return {"op": "adjust", "id": eid, "before": before, "after": after}

    def plan_add(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        after = {k: fields[k] for k in ADDED_FIELDS}
        after["status"] = "added"
        return {"op": "add", "id": new_added_id(), "before": None, "after": after}

    def plan_undo(self) -> dict[str, Any]:
        if not self.undo_stack:
            raise EditError("nothing to undo", status=409)
        target = self.entries[self.undo_stack[-1]]
        return {
            "op": "undo",
            "id": target["id"],
            "undoes": int(target["seq"]),
            "before": target.get("after"),
            "after": target.get("before"),
        }

    def _known(self, eid: str) -> None:
        if not self.exists(eid):
            raise EditError(f"no event with id {eid!r}", status=404)
