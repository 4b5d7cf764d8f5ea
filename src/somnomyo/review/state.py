"""A layer's reviewed night: the reviewed event table, rescored after every edit, and its views.

The reviewed table is the automatic events that are not rejected (with the scorer's adjusted
onset, duration and kind) plus the added events. It is rescored by
:func:`somnomyo.rescore.rescore`, the same registry code ``score`` runs (CLMs, PLM series,
respiratory and arousal association, stages, indices, interpretation), so rejecting an LM gives
exactly what scoring the night without it gives. The view table adds every rejected event (with
its automatic values) and the review columns (``id``, ``origin``, ``status``, ``adjusted``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from somnomyo._logging import logger
from somnomyo.events import COLUMNS, make_events
from somnomyo.review.layer import Layer

__all__ = ["ReviewedNight", "event_records", "ID_COLUMN", "HEADLINE"]

ID_COLUMN = "review_row"
_REVIEW_COLUMNS = ("id", "origin", "status", "adjusted")
#: indices shown before -> after on the page: (summary key, label, unit)
HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("plm.plms_index", "PLMS index", "/h"),
    ("plm.plmw_index", "PLMW index", "/h"),
    ("plm.plms_count", "PLMS", ""),
    ("plm.lm_index", "LM index", "/h"),
    ("plm.lm_count", "LMs", ""),
    ("plm.periodicity_index", "Periodicity index", ""),
    ("plm.plms_arousal_index", "PLMS-arousal index", "/h"),
    ("plm.respiratory_lm_count", "Respiratory-related LMs", ""),
    ("fragmentary_myoclonus.fm_index", "FM index", "/h"),
    ("fragmentary_myoclonus.efm", "EFM criterion met", ""),
    ("jerks.index", "Myoclonic jerk index", "/h"),
    ("hypnic_jerks.count", "Hypnic jerks", ""),
)


_MISSING = object()


def _walk(summary: Mapping[str, Any], key: str) -> Any:
    """``summary["a"]["b"]`` for ``"a.b"``; ``_MISSING`` when a part is absent."""
    cur: Any = summary
    for part in key.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return _MISSING
        cur = cur[part]
    return cur


def dotted(summary: Mapping[str, Any], key: str) -> Any:
    """``summary["a"]["b"]`` for ``"a.b"``; None when absent."""
    v = _walk(summary, key)
    return None if v is _MISSING else v


def has_dotted(summary: Mapping[str, Any], key: str) -> bool:
    """True when ``summary`` holds ``key`` (dotted), whatever its value (None included)."""
    return _walk(summary, key) is not _MISSING


def _cell(v: Any) -> Any:
    """A JSON value of one table cell (missing -> None)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(float(v)) else None
    return v if isinstance(v, (int, str)) else str(v)


def event_records(view: pd.DataFrame, rows: np.ndarray | Sequence[int]) -> list[dict[str, Any]]:
    """Event objects (docs/review.md) of the rows ``rows`` (positions) of a view table."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = [c for c in view.columns if not c.startswith("_")]
    if rows.size == 1:  # one event (after an edit): its cells, without taking a one-row table
        r = int(rows[0])
        data = {c: [_cell(view[c].iat[r])] for c in cols}
    else:
        sub = view.iloc[rows]
        data = {c: [_cell(v) for v in sub[c].astype(object).tolist()] for c in cols}
    n = rows.size
    out = []
    for i in range(n):
        rec = {c: data[c][i] for c in cols}
        auto = None
        if rec.get("adjusted"):
            auto = {
                "onset": rec.pop("automatic_onset", None),
                "duration": rec.pop("automatic_duration", None),
                "trial_type": rec.pop("automatic_trial_type", None),
            }
        else:
            for k in ("automatic_onset", "automatic_duration", "automatic_trial_type"):
                rec.pop(k, None)
        rec["automatic"] = auto
        rec.pop(ID_COLUMN, None)
        out.append(rec)
    return out


#: the ``origin`` of a view row: an automatic event, a derived event found by rescoring, an added one
_ORIGINS = np.array(["automatic", "rescored", "added"], dtype=object)


@dataclass
class ReviewedNight:
    """The reviewed state of one layer: rescored summary and the view table."""

    layer: Layer
    context: Any  # somnomyo.rescore.ScoringContext
    automatic_summary: dict[str, Any]
    summary: dict[str, Any] = field(default_factory=dict)
    view: pd.DataFrame = field(default_factory=pd.DataFrame)
    roles: Mapping[str, str] = field(default_factory=dict)  # channel label -> role
    rescore_ms: float = 0.0
    _pos: tuple[Any, dict[str, int]] = field(default=(None, {}), repr=False)
    _added_ids: list[str] = field(default_factory=list, repr=False)
    _auto_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object), repr=False)
    #: (content key, rescored table, summary) of the views built: a key seen again is rescored
    #: already (rescoring is a pure function of the reviewed table, which the key determines)
    _done: list[tuple[Any, pd.DataFrame, dict[str, Any]]] = field(default_factory=list, repr=False)
    _built: tuple[pd.DataFrame, Any] | None = field(default=None, repr=False)  # (view, its content key)
    #: (the layer's automatic table, its columns that rescoring reads), made once
    _scored_columns: tuple[pd.DataFrame, pd.DataFrame] | None = field(default=None, repr=False)

    def refresh(self) -> None:
        """Rescore the reviewed table and rebuild the view (after every edit).

        A layer without edits is the automatic night: its view is events.tsv and its summary
        summary.json (rescoring a night's own events gives its summary, somnomyo.rescore)."""
        t0 = time.perf_counter()
        lay = self.layer
        key = self.content_key()
        hit = next((d for d in self._done if d[0] == key), None)
        built = self._built
        if hit is not None and built is not None and built[0] is self.view and built[1] == key:
            # the reviewed table of the view shown (an accept): the same rescoring, new statuses
            view = self.view.copy(deep=False)
            view["status"] = self._status_of(view["_key"].to_numpy(dtype=np.int64))
            self.view, self.summary, self._built = view, dict(hit[2]), (view, key)
            self.rescore_ms = (time.perf_counter() - t0) * 1000.0
            return
        self._added_ids = list(lay.added)
        if hit is not None:
            scored, self.summary = hit[1], dict(hit[2])
        elif not lay.overrides and not lay.added:
            scored = lay.base.copy()
            scored[ID_COLUMN] = np.arange(len(lay.base), dtype=np.int64)
            self.summary = dict(self.automatic_summary)
        else:
            from somnomyo.rescore import rescore

            table = self.reviewed_table()
            res = rescore(table, self.context)
            scored = res.events
            if ID_COLUMN not in scored.columns:
                scored = scored.copy()
                scored[ID_COLUMN] = _match_rows(table, scored, len(lay.base) + len(lay.added))
            self.summary = dict(res.summary())
        self.view = self._view(scored)
        self._done = [d for d in self._done if d[0] != key][-3:] + [(key, scored, dict(self.summary))]
        self._built = (self.view, key)
        self.rescore_ms = (time.perf_counter() - t0) * 1000.0
        logger.debug("review %s: rescored %d events in %.0f ms", lay.slug, len(scored), self.rescore_ms)

    def warm(self) -> bool:
        """Rescore the reviewed table once so that the scoring steps' memo holds this night's
        inputs (:func:`somnomyo.rescore.rescore` reuses a step whose inputs are unchanged): the
        first edit then rescores only the steps it touches, as every later edit does. The view and
        summary are left as they are (an unedited layer shows events.tsv and summary.json, which
        rescoring its own table reproduces). False when the memo was warm already."""
        if self.context.remembered_steps:
            return False
        from somnomyo.rescore import rescore

        t0 = time.perf_counter()
        rescore(self.reviewed_table(), self.context)
        logger.debug("review %s: scoring memo warmed in %.0f ms", self.layer.slug, (time.perf_counter() - t0) * 1000.0)
        return True

    def content_key(self) -> tuple[Any, ...]:
        """What the reviewed table (:meth:`reviewed_table`) and the view's rows are made of: the
        rejected automatic rows, the adjusted values of the others, and the added events in order
        (their fields, whether rejected). Statuses that leave the table as it is (accepted,
        unreviewed) are not part of it."""
        lay = self.layer
        rejected, adjusted = [], []
        for eid, ov in lay.overrides.items():
            if ov.get("status") == "rejected":
                rejected.append(lay.row(eid))
            else:
                fields = tuple((k, ov[k]) for k in ("onset", "duration", "trial_type") if k in ov)
                if fields:
                    adjusted.append((lay.row(eid), fields))
        added = tuple(
            (eid, a.get("status") == "rejected", tuple(sorted((k, v) for k, v in a.items() if k != "status")))
            for eid, a in lay.added.items()
        )
        return (tuple(sorted(rejected)), tuple(sorted(adjusted)), added)

    def _status_of(self, key: np.ndarray, status: np.ndarray | None = None) -> np.ndarray:
        """Review status of the view rows with row keys ``key`` (automatic rows: their status,
        ``status`` when given (:meth:`Layer.status_array`); added: theirs; derived events found
        again by rescoring: unreviewed)."""
        lay = self.layer
        n = len(lay.base)
        status = lay.status_array() if status is None else status
        added_status = np.asarray([a.get("status", "added") for a in lay.added.values()] + [""], dtype=object)
        auto = key < n
        st = np.where(
            auto,
            status[np.minimum(key, max(n - 1, 0))] if n else "",
            added_status[np.clip(key - n, 0, len(added_status) - 1)],
        ).astype(object)
        st[key >= n + len(lay.added)] = "unreviewed"
        return st

    def _added_rows(self, status: str) -> pd.DataFrame | None:
        """Added events with ``status`` as event rows (their row key after the automatic rows)."""
        lay = self.layer
        n = len(lay.base)
        rows = [
            {**{k: v for k, v in a.items() if k != "status"}, ID_COLUMN: n + k}
            for k, (eid, a) in enumerate(lay.added.items())
            if a.get("status") == status
        ]
        return make_events(pd.DataFrame(rows), **{ID_COLUMN: "int64"}) if rows else None

    def reviewed_table(self) -> pd.DataFrame:
        """Automatic events not rejected (adjusted values applied) plus added events not rejected,
        in the standard event-table shape, with their row key in ``review_row`` (automatic: the
        events.tsv row; added: after them)."""
        from somnomyo.score.plm import EVENT_EXTRA_COLUMNS

        lay = self.layer
        rows = np.flatnonzero(lay.status_array() != "rejected")
        if self._scored_columns is None or self._scored_columns[0] is not lay.base:
            # the PLM scoring's own columns are recomputed for every LM and read by no scoring step
            cols = [c for c in lay.base.columns if c not in EVENT_EXTRA_COLUMNS]
            self._scored_columns = (lay.base, lay.base[cols])
        df = self._scored_columns[1].take(rows)
        df[ID_COLUMN] = rows.astype(np.int64)
        for eid, ov in lay.overrides.items():
            r = lay.row(eid)
            k = int(np.searchsorted(rows, r))  # rows are sorted
            if k < rows.size and rows[k] == r:
                for col in ("onset", "duration", "trial_type"):
                    if col in ov:
                        df.iloc[k, df.columns.get_loc(col)] = ov[col]
        added = self._added_rows("added")
        if added is not None:
            df = pd.concat([df, added], ignore_index=True)
        table = make_events(df.reset_index(drop=True), **{ID_COLUMN: "int64"})
        recorded = (self.context.steps.get("myoclonus") or {}).get("channels") or {}
        return _fill_jerk(_fill_side(table, self.roles), self.roles, set(recorded.values()) or None)

    def _view(self, scored: pd.DataFrame) -> pd.DataFrame:
        lay = self.layer
        base = lay.base
        n = len(base)
        status = lay.status_array()
        rej = np.flatnonzero(status == "rejected")
        parts = [scored]
        if rej.size:
            r = base.iloc[rej].copy()
            r[ID_COLUMN] = rej.astype(np.int64)
            parts.append(r)
        rej_added = self._added_rows("rejected")
        if rej_added is not None:
            parts.append(rej_added)
        view = pd.concat(parts, ignore_index=True) if len(parts) > 1 else scored.copy()
        key = view[ID_COLUMN].to_numpy(dtype=np.int64)
        auto = key < n
        found = key >= n + len(self._added_ids)  # derived events found again by rescoring only
        added_ids = np.asarray(self._added_ids + [""], dtype=object)
        if len(self._auto_ids) != n + 1:  # "a<row>" of every automatic row, made once
            self._auto_ids = np.asarray([f"a{i}" for i in range(n)] + [""], dtype=object)
        ids = np.where(
            auto,
            self._auto_ids[np.minimum(key, max(n - 1, 0))],
            added_ids[np.clip(key - n, 0, len(added_ids) - 1)],
        )
        st = self._status_of(key, status)
        ids = ids.astype(object)
        if found.any():  # id from the onset (ms), stable while the cluster stays
            ms = np.round(view["onset"].to_numpy(dtype=float)[found] * 1000.0).astype(np.int64)
            ids[found] = np.char.add("r", ms.astype(str)).astype(object)
        adjusted_rows = {lay.row(e) for e in lay.overrides if lay.adjusted(e)}
        adj = np.isin(key, np.fromiter(adjusted_rows, dtype=np.int64, count=len(adjusted_rows))) & auto
        view.insert(0, "id", ids)
        view.insert(1, "origin", _ORIGINS[np.where(auto, 0, np.where(found, 1, 2))])
        view.insert(2, "status", st.astype(object, copy=False))
        view.insert(3, "adjusted", adj)
        on = np.full(len(view), np.nan)
        du = np.full(len(view), np.nan)
        tt = np.full(len(view), None, dtype=object)
        for k in np.flatnonzero(adj):  # the few adjusted events
            a = lay.automatic_values(str(ids[k]))
            on[k], du[k], tt[k] = a["onset"], a["duration"], a["trial_type"]
        view["automatic_onset"], view["automatic_duration"], view["automatic_trial_type"] = on, du, tt
        view = view.rename(columns={ID_COLUMN: "_key"})  # the row key, kept (hidden) for the statuses
        on = view["onset"].to_numpy(dtype=float)
        if len(view) > 1 and not ((np.diff(on) > 0) | ((np.diff(on) == 0) & (np.diff(key) > 0))).all():
            order = np.lexsort((key, on))
            view = view.iloc[order].reset_index(drop=True)
        view["_end"] = view["onset"].to_numpy(dtype=float) + np.nan_to_num(view["duration"].to_numpy(dtype=float))
        return view

    # ------------------------------------------------------------------ queries
    def row_of(self, eid: str, view: pd.DataFrame | None = None) -> int | None:
        """Position of event ``eid`` in ``view`` (default: the current view)."""
        v = self.view if view is None else view
        if eid[:1] == "a" and eid[1:].isdigit() and "_key" in v.columns:  # an automatic event: its row key
            hits = np.flatnonzero(v["_key"].to_numpy(dtype=np.int64) == int(eid[1:]))
            return int(hits[0]) if hits.size else None
        key, pos = self._pos
        if key is not v:  # built once per view
            pos = {e: i for i, e in enumerate(v["id"].tolist())}
            self._pos = (v, pos)
        return pos.get(eid)

    def event(self, eid: str) -> dict[str, Any] | None:
        view = self.view
        r = self.row_of(eid, view)
        return None if r is None else event_records(view, [r])[0]

    def select(
        self,
        *,
        start: float | None = None,
        end: float | None = None,
        kinds: Iterable[str] = (),
        channels: Iterable[str] = (),
        stages: Iterable[str] = (),
        statuses: Iterable[str] = (),
        periodic: bool | None = None,
        view: pd.DataFrame | None = None,
    ) -> np.ndarray:
        """Positions of the rows of ``view`` (default: the current view) matching every filter given
        (docs/review.md, GET /api/events)."""
        v = self.view if view is None else view
        mask = np.ones(len(v), dtype=bool)
        if start is not None:
            mask &= (v["_end"].to_numpy() > start) | (v["onset"].to_numpy(dtype=float) >= start)
        if end is not None:
            mask &= v["onset"].to_numpy(dtype=float) < end
        for col, wanted in (("trial_type", kinds), ("stage", stages), ("status", statuses)):
            wanted = list(wanted)
            if wanted:
                mask &= v[col].astype(object).isin(wanted).to_numpy()
        chans = list(channels)
        if chans:
            want = set(chans)
            cells = v["channel"].astype(object).to_numpy()
            mask &= np.array(
                [isinstance(c, str) and (c in want or bool(want.intersection(c.split(",")))) for c in cells], dtype=bool
            )
        if periodic is not None:
            col = v["periodic"].astype("boolean").fillna(False).to_numpy(dtype=bool)
            mask &= col if periodic else ~col
        return np.flatnonzero(mask)

    def headline(self) -> dict[str, Any]:
        rows = []
        for key, label, unit in HEADLINE:
            if has_dotted(self.automatic_summary, key) or has_dotted(self.summary, key):
                rows.append(
                    {
                        "key": key,
                        "label": label,
                        "unit": unit,
                        "automatic": _cell(dotted(self.automatic_summary, key)),
                        "reviewed": _cell(dotted(self.summary, key)),
                    }
                )
        return {
            "indices": rows,
            "counts": self.layer.counts(),
            "interpretation": {
                "automatic": _findings_text(self.automatic_summary),
                "reviewed": _findings_text(self.summary),
            },
        }

    def review_block(self) -> dict[str, Any]:
        return {
            "scorer": self.layer.scorer,
            "slug": self.layer.slug,
            "counts": self.layer.counts(),
            "edits": self.layer.n_edits,
        }


_SIDE_OF_ROLE = {"leg_left": "left", "leg_right": "right", "legs": "both"}


def _fill_side(table: pd.DataFrame, roles: Mapping[str, str]) -> pd.DataFrame:
    """Leg movements without a side (added by the scorer, or changed into an LM) get the side of
    their channel's role (leg_left -> left, leg_right -> right, legs -> both), which CLM scoring
    (bilateral combination, WASM 2016) needs; other rows are left as they are."""
    lm = (table["trial_type"] == "leg_movement").to_numpy(dtype=bool, na_value=False)
    need = lm & table["side"].isna().to_numpy()
    if need.any():
        fill = [_SIDE_OF_ROLE.get(roles.get(str(c), ""), pd.NA) for c in table.loc[need, "channel"].astype(object)]
        table.loc[need, "side"] = pd.array(fill, dtype="string")
    return table


_JERK_KINDS = ("myoclonic_jerk", "hypnic_jerk")
#: event kinds that scoring derives from other events (jerk clusters: from the jerks,
#: somnomyo.detect.clusters); rescoring finds them again, so a scorer edits their members
DERIVED_KINDS = ("jerk_cluster",)


def _fill_jerk(table: pd.DataFrame, roles: Mapping[str, str], recorded: set[str] | None) -> pd.DataFrame:
    """Jerks without muscles (an event of another kind that the scorer made a jerk, or an added
    one) get what the jerk detector gives a jerk from its channels: ``muscles`` (the role of each
    channel, the label for ``other_emg``), ``n_muscles``, ``side``, ``axial``, ``limb`` and
    ``extent`` (:func:`somnomyo.detect.jerks.classify_extent`); the lags between muscles are not
    known without the signal and stay empty."""
    from somnomyo.detect.jerks import AXIAL_ROLES, LIMB_ROLES, _side, classify_extent

    need = table["trial_type"].isin(_JERK_KINDS).to_numpy(dtype=bool) & table["muscles"].isna().to_numpy()
    if not need.any():
        return table
    rows = np.flatnonzero(need)
    chans = table["channel"].astype(object).to_numpy()[rows]
    per_row = [[lab for lab in str(c).split(",") if lab] if isinstance(c, str) else [] for c in chans]
    rls = [[roles.get(lab, "other_emg") for lab in labs] for labs in per_row]
    muscles = [",".join(lab if r == "other_emg" else r for lab, r in zip(labs, rs)) for labs, rs in zip(per_row, rls)]
    out = table.copy()
    idx = out.index[rows]
    out.loc[idx, "muscles"] = pd.array([m or pd.NA for m in muscles], dtype="string")
    out.loc[idx, "extent"] = pd.array([classify_extent(rs, recorded=recorded) for rs in rls], dtype="string")
    no_side = out["side"].astype(object).isna().to_numpy()[rows]
    if no_side.any():
        out.loc[idx[no_side], "side"] = pd.array(
            [_side(rs) or pd.NA for rs, ns in zip(rls, no_side) if ns], dtype="string"
        )
    extra: dict[str, list[Any]] = {
        "n_muscles": [len(rs) for rs in rls],
        "axial": [bool(set(rs) & AXIAL_ROLES) for rs in rls],
        "limb": [bool(set(rs) & LIMB_ROLES) for rs in rls],
    }
    for col, vals in extra.items():  # columns as scored, or as text when read back from events.tsv
        if col not in out.columns:
            continue
        if pd.api.types.is_string_dtype(out[col].dtype):
            vals = [str(v).lower() if isinstance(v, bool) else f"{v:.4f}" for v in vals]
        out.loc[idx, col] = pd.array(vals, dtype=out[col].dtype)
    return out


def _event_keys(df: pd.DataFrame) -> pd.DataFrame:
    """What identifies a row through rescoring: kind, channel, onset and duration to the 4
    decimals events.tsv writes (rescoring puts the exact times back on rows read from it), and
    the how-manieth of identical rows (identical rows are interchangeable)."""
    k = pd.DataFrame(
        {
            "t": df["trial_type"].astype(object).to_numpy(),
            "c": df["channel"].astype(object).fillna("").to_numpy(),
            "o": np.round(df["onset"].to_numpy(dtype=float) * 1e4).astype(np.int64),
            "d": np.round(np.nan_to_num(df["duration"].to_numpy(dtype=float)) * 1e4).astype(np.int64),
        }
    )
    k["n"] = k.groupby(["t", "c", "o", "d"], sort=False).cumcount()
    return k


def _same_keys(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """True when the rows of ``a`` and ``b`` have, in order, the same kind, channel, and onset and
    duration to 4 decimals (the keys of :func:`_event_keys`)."""
    for col in ("onset", "duration"):
        x = np.round(np.nan_to_num(a[col].to_numpy(dtype=float)) * 1e4)
        y = np.round(np.nan_to_num(b[col].to_numpy(dtype=float)) * 1e4)
        if not np.array_equal(x, y):
            return False
    for col in ("trial_type", "channel"):
        x = a[col].to_numpy(dtype=object, na_value="")
        y = b[col].to_numpy(dtype=object, na_value="")
        if not (x == y).all():
            return False
    return True


def _match_rows(table: pd.DataFrame, scored: pd.DataFrame, first_new: int) -> np.ndarray:
    """The row key of every row of the rescored table (rescoring keeps each row's kind, channel,
    onset and duration, and recomputes the derived columns). Derived events (``DERIVED_KINDS``)
    are found again by rescoring: one that matches an automatic one keeps its key, a new one
    gets a key from ``first_new`` on, and one that is no longer found is gone."""
    if len(scored) == len(table) and _same_keys(table, scored):  # the usual case: rows in the same order
        return table[ID_COLUMN].to_numpy(dtype=np.int64)
    left = _event_keys(scored)
    right = _event_keys(table)
    right["key"] = table[ID_COLUMN].to_numpy(dtype=np.int64)
    merged = left.merge(right, on=["t", "c", "o", "d", "n"], how="left", sort=False)
    miss = merged["key"].isna().to_numpy()
    derived_l = np.isin(left["t"].to_numpy(), DERIVED_KINDS)
    derived_r = np.isin(right["t"].to_numpy(), DERIVED_KINDS)
    if int((~derived_l).sum()) != int((~derived_r).sum()) or (miss & ~derived_l).any():
        raise RuntimeError("rescoring did not keep the rows of the reviewed table (kind, channel, onset, duration)")
    keys = merged["key"].to_numpy(dtype=float, copy=True)
    keys[miss] = first_new + np.arange(int(miss.sum()))
    return keys.astype(np.int64)


def _findings_text(summary: Mapping[str, Any]) -> list[str]:
    block = summary.get("interpretation")
    items = block.get("findings", []) if isinstance(block, Mapping) else (block or [])
    out = []
    for f in items if isinstance(items, list) else []:
        if isinstance(f, Mapping):
            out.append(str(f.get("text_plain") or f.get("text") or f.get("id") or ""))
        else:
            out.append(str(f))
    return out


def standard_columns() -> list[str]:
    return list(COLUMNS)
