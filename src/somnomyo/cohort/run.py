"""Score a cohort (thousands of nights) on a Dask cluster, resumably.

Each night is one Dask task (:func:`score_one`): the worker reads its own files, scores the
night, writes the outputs of ``somnomyo score`` into ``DIR/<id>.tmp-<hex>/``, writes
``done.json`` there last, then renames the folder to ``DIR/<id>/``. Only the small summary
row and the path of the night's events file travel back to the client, which writes the
cohort tables (:mod:`somnomyo.cohort.tables`) atomically as results arrive.

A rerun skips every night whose ``DIR/<id>/done.json`` matches its inputs and standard
(``overwrite=True`` rescores them); failed nights are retried. A killed run leaves no
half-written ``DIR/<id>/`` folder: stale ``*.tmp-*`` folders are removed on the next run and
their nights redone.

The client, the workers and the output folder must share a file system (workers read the
recordings and write ``DIR/<id>/``; the client reads ``done.json`` and the events files).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import logging
import os
import re
import shutil
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from somnomyo import __version__
from somnomyo._logging import logger, verbose
from somnomyo.cohort.manifest import TABLE_FILES, TEMP_MARKERS, Night, id_problem, resolve_inputs, with_channels
from somnomyo.cohort.tables import STATUS_FAILED, STATUS_OK, collect_events, flatten_summary, nights_frame, write_table
from somnomyo.errors import SomnomyoError, check_choice
from somnomyo.io.atomic import replace_dir, write_text_atomic
from somnomyo.settings import STANDARDS

DONE_FILE = "done.json"
EVENTS_FILE = "events.tsv"
ScoreFn = Callable[..., Any]
_STALE = re.compile("(" + "|".join(re.escape(m) for m in TEMP_MARKERS) + r")[0-9a-f]+$")
_STALE_TABLE = re.compile(r"^\.(" + "|".join(re.escape(t) for t in TABLE_FILES) + r")\..*\.tmp$")


# ------------------------------------------------------------------------------ worker side
def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


def _peak_rss_mib() -> float | None:
    """Peak resident memory of this (worker) process so far, MiB (None where unknown)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 1024), 1)


def _release_memory() -> None:
    """Give a finished night's memory back (worker side): collect cycles, return free heap to the OS.

    Without this, heap fragmentation lets a long-lived worker's footprint creep up night after night.
    """
    gc.collect()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def _one_line(err: BaseException) -> str:
    """The reason a night failed: one printable line (SomnomyoError's own message, else type: message)."""
    text = str(err) if isinstance(err, SomnomyoError) else f"{type(err).__name__}: {err}"
    text = " ".join(text.split())
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _install(tmp: Path, final: Path) -> None:
    """Move the finished ``tmp`` folder onto ``final`` (replacing an older one; ``<id>.old-<hex>``
    is what a killed run may leave, and the next run removes it)."""
    replace_dir(tmp, final, old_prefix="")


def _default_score_fn() -> ScoreFn:
    from somnomyo.pipeline import score_night

    return score_night


def _write_figures(result: Any, out: Path) -> dict[str, Path]:
    try:
        from somnomyo.report import write_report
    except ImportError:
        return {}
    return dict(write_report(result, out) or {})


def _write_night(result: Any, folder: Path, *, figures: bool) -> None:
    """The night's results folder (:mod:`somnomyo.io.results_folder`: its files, the figures when
    asked, then the manifest). A scorer whose ``write(folder)`` takes no ``extra`` gets the
    figures written after it."""
    import inspect

    try:
        takes_extra = "extra" in inspect.signature(result.write).parameters
    except (TypeError, ValueError):
        takes_extra = False
    if takes_extra:
        result.write(folder, extra=(lambda d: _write_figures(result, d)) if figures else None)
        return
    result.write(folder)
    if figures:
        _write_figures(result, folder)


def score_one(
    night: Night,
    out_dir: str | os.PathLike[str],
    *,
    standard: str = "wasm2016",
    score_fn: ScoreFn | None = None,
    figures: bool = True,
) -> dict[str, Any]:
    """Score one night into ``out_dir/<id>/`` (runs on a worker); return its row and events path.

    ``score_fn(edf, *, annotations, hypnogram, standard[, age, population, channels])`` (the last
    three only where the manifest or the cohort gives them) must return an object with
    ``write(folder)``, ``summary()`` and ``events`` (default
    :func:`somnomyo.pipeline.score_night`). A :class:`SomnomyoError` (corrupt file, no leg
    channel, ...) or any other exception becomes a row with status ``failed`` and a one-line
    reason. Returns ``{"row": {...}, "events_path": str | None}``.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    problem = id_problem(night.id)
    if problem is not None:
        raise SomnomyoError(problem, out)
    final = out / night.id
    tmp = out / f"{night.id}.tmp-{uuid.uuid4().hex[:12]}"
    row: dict[str, Any] = {"id": night.id, "status": STATUS_OK, "reason": None, **night.inputs(), "standard": standard}
    try:
        scorer = score_fn if score_fn is not None else _default_score_fn()
        result = scorer(
            night.edf, annotations=night.annotations, hypnogram=night.hypnogram, standard=standard, **night.options()
        )
        t1 = time.perf_counter()
        tmp.mkdir(parents=True)
        _write_night(result, tmp, figures=figures)
        events = getattr(result, "events", None)
        row["n_events"] = None if events is None else int(len(events))
        row.update(flatten_summary(result.summary()))
        t2 = time.perf_counter()
        row.update(
            {
                "time.score_s": round(t1 - t0, 3),
                "time.write_s": round(t2 - t1, 3),
                "time.total_s": round(t2 - t0, 3),
                "worker": _worker_name(),
                "peak_rss_mib": _peak_rss_mib(),
            }
        )
        marker = {
            "id": night.id,
            "inputs": night.inputs(),
            "options": night.options(),
            "standard": standard,
            "somnomyo_version": __version__,
            "row": row,
        }
        write_text_atomic(tmp / DONE_FILE, json.dumps(marker, indent=1, default=str))
        _install(tmp, final)
        return {"row": row, "events_path": str(final / EVENTS_FILE)}
    except Exception as err:  # a bad night must not stop the cohort: record why it failed
        if final.exists():  # outputs of an earlier scoring that this run set out to replace
            shutil.rmtree(final, ignore_errors=True)
        t2 = time.perf_counter()
        failed = {
            "id": night.id,
            "status": STATUS_FAILED,
            "reason": _one_line(err),
            **night.inputs(),
            "standard": standard,
            "time.total_s": round(t2 - t0, 3),
            "worker": _worker_name(),
            "peak_rss_mib": _peak_rss_mib(),
        }
        return {"row": failed, "events_path": None}
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        result = None
        _release_memory()


# ------------------------------------------------------------------------------ client side
def _folder_intact(night: Night, folder: Path) -> bool:
    """A night folder with a manifest is trusted only if every file it lists is there unchanged
    (:func:`somnomyo.io.results_folder.open_results`) and the recording has the size it had (its
    hash is not recomputed on every resume: thousands of nights)."""
    from somnomyo.io.results_folder import MANIFEST_FILE, open_results

    if not (folder / MANIFEST_FILE).exists():
        return True  # written without a manifest (a custom scorer): done.json decides
    try:
        res = open_results(folder, check_recording=False)
        size = Path(night.edf).stat().st_size
    except (SomnomyoError, OSError) as err:
        logger.info("%s: scored again: %s", night.id, err)
        return False
    if res.manifest["recording"].get("size") != size:
        logger.info("%s: scored again: the recording changed size since it was scored", night.id)
        return False
    return True


def done_row(night: Night, out_dir: str | os.PathLike[str], *, standard: str) -> dict[str, Any] | None:
    """The stored row of a night already scored from the same inputs, options and standard, with
    an intact results folder (its manifest checked), else None."""
    marker = Path(out_dir) / night.id / DONE_FILE
    try:
        done = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        not isinstance(done, dict)
        or done.get("inputs") != night.inputs()
        or done.get("standard") != standard
        or done.get("options", {}) != night.options()
        or not isinstance(done.get("row"), dict)
        or done["row"].get("status") != STATUS_OK
    ):
        return None
    if not _folder_intact(night, marker.parent):
        return None
    return dict(done["row"])


def clean_stale(out_dir: str | os.PathLike[str]) -> list[Path]:
    """Remove what a killed run left: night folders ``<id>.tmp-<hex>``/``<id>.old-<hex>``, table temp files."""
    removed = []
    for p in Path(out_dir).iterdir():
        if p.is_dir() and _STALE.search(p.name):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
        elif p.is_file() and _STALE_TABLE.match(p.name):  # a table write cut short
            p.unlink(missing_ok=True)
            removed.append(p)
    if removed:
        logger.info("removed %d temporary folder(s) left by an interrupted run", len(removed))
    return removed


@dataclass
class CohortResult:
    """What :func:`run_cohort` produced. ``nights`` is the ``nights.parquet`` table."""

    out_dir: Path
    nights: pd.DataFrame
    nights_path: Path
    csv_path: Path
    events_path: Path
    n_scored: int
    n_skipped: int

    @property
    def failed(self) -> pd.DataFrame:
        """The rows of the nights that failed (id, reason, ...)."""
        return self.nights[self.nights["status"] == STATUS_FAILED].reset_index(drop=True)

    def events(self) -> pd.DataFrame:
        """Every night's events (``events.parquet``) with a leading ``id`` column."""
        return pd.read_parquet(self.events_path)


class _Tables:
    """Client-side state: one row per finished night, written atomically on demand."""

    def __init__(self, out: Path, nights: list[Night]) -> None:
        self.out = out
        self.extra = {n.id: n.extra for n in nights}
        self.extra_cols = list(dict.fromkeys(c for n in nights for c in n.extra))
        self.rows: dict[str, dict[str, Any]] = {}
        self.events: dict[str, str] = {}

    def add(self, row: Mapping[str, Any], events_path: str | None) -> None:
        night_id = str(row["id"])
        extra = {k: v for k, v in self.extra.get(night_id, {}).items() if k not in row}
        self.rows[night_id] = {**row, **extra}
        if events_path is not None and row.get("status") == STATUS_OK:
            self.events[night_id] = events_path
        else:
            self.events.pop(night_id, None)

    def write(self) -> pd.DataFrame:
        df = nights_frame(self.rows.values(), extras=self.extra_cols)
        write_table(df, self.out / "nights.parquet")
        write_table(df, self.out / "nights.csv")
        write_table(collect_events(self.events), self.out / "events.parquet")
        return df


def _ignore_sigint() -> None:
    """In a local worker process: leave Ctrl-C to the client, which cancels the run and stops the cluster."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _sigint_plugin() -> Any:
    from distributed import WorkerPlugin

    class IgnoreSigint(WorkerPlugin):
        name = "somnomyo-ignore-sigint"

        def setup(self, worker: Any) -> None:
            _ignore_sigint()

    return IgnoreSigint()


@contextlib.contextmanager
def _dask_client(client: Any, scheduler: str | None, n_workers: int) -> Iterator[Any]:
    if client is not None:
        yield client
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SomnomyoError("cohorts need dask.distributed and pyarrow: pip install 'somnomyo[cohort]'") from None
    if scheduler:
        try:
            remote = Client(scheduler)
        except (OSError, TimeoutError, ValueError) as err:
            raise SomnomyoError(
                f"cannot connect to the Dask scheduler ({' '.join(str(err).split())})", scheduler
            ) from None
        try:
            yield remote
        finally:
            remote.close()
        return
    import dask

    # Dask's statistical profiler keeps a growing history in every worker (a few MiB per night
    # here); without it a worker's memory stays flat over thousands of nights.
    with dask.config.set({"distributed.worker.profile.enabled": False}):
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        local = Client(cluster)
        try:
            with contextlib.suppress(Exception):  # cosmetic: no traceback from every worker on Ctrl-C
                local.register_plugin(_sigint_plugin())
            yield local
        finally:
            local.close()
            cluster.close()


@verbose
def run_cohort(
    inputs: str | os.PathLike[str] | pd.DataFrame | Iterable[Any],
    out_dir: str | os.PathLike[str],
    *,
    n_jobs: int = 1,
    scheduler: str | None = None,
    overwrite: bool = False,
    standard: str = "wasm2016",
    client: Any = None,
    score_fn: ScoreFn | None = None,
    figures: bool = True,
    channels: Mapping[str, Sequence[str] | str] | None = None,
    refresh_s: float = 30.0,
    on_night: Callable[[dict[str, Any]], None] | None = None,
    progress: bool = True,
    verbose: bool | str | int | None = None,
) -> CohortResult:
    """Score every night of ``inputs`` into ``out_dir`` with Dask; resumable.

    Parameters
    ----------
    inputs : a manifest CSV, a glob pattern (quoted), a folder, or a list of paths /
        :class:`~somnomyo.cohort.manifest.Night` (see :func:`~somnomyo.cohort.manifest.resolve_inputs`).
    out_dir : gets ``<id>/`` per night (the outputs of ``somnomyo score`` plus ``done.json``),
        ``nights.parquet``, ``nights.csv`` and ``events.parquet``.
    n_jobs : local worker processes (one night at a time each); ``-1``: one per CPU.
    scheduler : address of an existing Dask scheduler (``tcp://host:8786``) instead of a local cluster.
    overwrite : rescore nights already done (default: skip them).
    standard : ``"wasm2016"`` or ``"aasm"``.
    client : an existing ``distributed.Client`` to use (not closed here).
    score_fn : per-night scorer (default :func:`somnomyo.pipeline.score_night`), see :func:`score_one`.
    figures : also write the figures ``somnomyo score`` writes, where the report module exists.
    channels : channel-role overrides for every night, e.g. ``{"leg_left": "Tib sin"}`` (as
        ``somnomyo score --channel``); a manifest's ``channels`` cell wins for its night, role by role.
    refresh_s : rewrite the tables every ``refresh_s`` seconds while the run goes on (stretched
        so that rewriting takes at most ~10% of the time); 0: after every night.
    on_night : called on the client with each finished night's row.
    progress : show a progress bar with ETA (stderr, terminals only).
    """
    check_choice("standard", standard, STANDARDS)
    if not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive int or -1 (one per CPU); got {n_jobs!r}")
    return _run(
        with_channels(resolve_inputs(inputs), channels),
        Path(out_dir),
        n_jobs=(os.cpu_count() or 1) if n_jobs == -1 else n_jobs,
        scheduler=scheduler,
        overwrite=overwrite,
        standard=standard,
        client=client,
        score_fn=score_fn,
        figures=figures,
        refresh_s=refresh_s,
        on_night=on_night,
        progress=progress,
    )


def _run(
    nights: list[Night],
    out: Path,
    *,
    n_jobs: int,
    scheduler: str | None,
    overwrite: bool,
    standard: str,
    client: Any,
    score_fn: ScoreFn | None,
    figures: bool,
    refresh_s: float,
    on_night: Callable[[dict[str, Any]], None] | None,
    progress: bool,
) -> CohortResult:
    out.mkdir(parents=True, exist_ok=True)
    clean_stale(out)
    tables = _Tables(out, nights)
    todo: list[Night] = []
    for night in nights:
        row = None if overwrite else done_row(night, out, standard=standard)
        if row is None:
            todo.append(night)
        else:
            tables.add(row, str(out / night.id / EVENTS_FILE))
    n_skipped = len(nights) - len(todo)
    logger.info("%d night(s): %d already done, %d to score", len(nights), n_skipped, len(todo))
    if todo:
        tables.write()  # valid tables from the start (the nights already done)
        _score_all(
            todo,
            out,
            tables,
            n_workers=min(n_jobs, len(todo)),
            scheduler=scheduler,
            standard=standard,
            client=client,
            score_fn=score_fn,
            figures=figures,
            refresh_s=refresh_s,
            on_night=on_night,
            progress=progress,
        )
    df = tables.write()
    return CohortResult(
        out_dir=out,
        nights=df,
        nights_path=out / "nights.parquet",
        csv_path=out / "nights.csv",
        events_path=out / "events.parquet",
        n_scored=len(todo),
        n_skipped=n_skipped,
    )


def _score_all(
    todo: list[Night],
    out: Path,
    tables: _Tables,
    *,
    n_workers: int,
    scheduler: str | None,
    standard: str,
    client: Any,
    score_fn: ScoreFn | None,
    figures: bool,
    refresh_s: float,
    on_night: Callable[[dict[str, Any]], None] | None,
    progress: bool,
) -> None:
    from distributed import as_completed
    from tqdm import tqdm

    by_key: dict[str, Night] = {}
    run = uuid.uuid4().hex[:8]
    with _dask_client(client, scheduler, n_workers) as dask_client:
        futures = []
        for night in todo:
            key = f"somnomyo-night-{run}-{night.id}"
            by_key[key] = night
            futures.append(
                dask_client.submit(
                    score_one,
                    night,
                    str(out),
                    standard=standard,
                    score_fn=score_fn,
                    figures=figures,
                    key=key,
                    pure=False,
                )
            )
        pending = as_completed(futures)
        del futures  # results are released as soon as they are read
        bar = tqdm(
            total=len(todo),
            desc="nights",
            unit="night",
            disable=None if progress else True,
            file=sys.stderr,
            dynamic_ncols=True,
        )
        n_failed = 0
        interval = refresh_s
        last = time.monotonic()
        try:
            for fut in pending:
                night = by_key[fut.key]
                try:
                    res = fut.result()
                except Exception as err:  # the task itself was lost (worker killed, out of memory, ...)
                    res = {
                        "row": {
                            "id": night.id,
                            "status": STATUS_FAILED,
                            "reason": _one_line(err),
                            **night.inputs(),
                            "standard": standard,
                        },
                        "events_path": None,
                    }
                fut.release()
                row = res["row"]
                tables.add(row, res["events_path"])
                if row["status"] != STATUS_OK:
                    n_failed += 1
                    logger.warning("%s failed: %s", night.id, row["reason"])
                bar.update(1)
                bar.set_postfix_str(f"{n_failed} failed" if n_failed else "", refresh=False)
                if time.monotonic() - last >= interval:
                    t = time.monotonic()
                    tables.write()
                    last = time.monotonic()
                    if refresh_s > 0:  # refreshing then costs at most ~10% of the run
                        interval = max(refresh_s, 10.0 * (last - t))
                if on_night is not None:
                    on_night(dict(tables.rows[night.id]))
        except BaseException:
            # interrupted (Ctrl-C, a callback raising): stop the remaining nights, keep valid tables
            with contextlib.suppress(Exception):
                dask_client.cancel(list(getattr(pending, "futures", ())))
            tables.write()
            raise
        finally:
            bar.close()
