"""A results folder: one run of ``somnomyo score`` on one recording, with a manifest.

Every run builds the whole folder under a temporary sibling ``.<name>.tmp-<hex>``
(:func:`somnomyo.io.atomic.atomic_dir`), writes ``manifest.json`` last and swaps the folder in
with one rename, so the folder at ``--out`` always holds exactly one complete run.
``manifest.json``::

    {"format": "somnomyo-results", "format_version": 1, "somnomyo_version": "...",
     "created": "2026-01-01T00:00:00+00:00", "command": ["somnomyo", "score", ...] | null,
     "recording": {"path": "/abs/night.edf", "size": 123, "sha256": "..."},
     "inputs": [{"role": "annotations" | "hypnogram", "path": "/abs/...", "sha256": "..."}],
     "standard": "wasm2016",
     "files": {"events.tsv": {"size": 1, "sha256": "..."}, "figures/x.png": {...}, ...}}

:func:`open_results` checks a folder against its manifest before anyone trusts it (``compare``,
``cohort``, ``review``, ``validate``). Content added later by other commands (``review/``,
validation outputs) is not in the manifest and is not checked.

:func:`prepare_out` applies the rules for where a run may write (checked before the work):
an existing file is refused; an empty folder, or a results folder of the same recording
(same sha256), is replaced whole; a non-empty folder that is not somnomyo output, a results
folder of another recording, or one holding a review (``review/``) is refused unless
``overwrite``. The folder may never contain the recording or an input file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from somnomyo import __version__
from somnomyo.errors import SomnomyoError
from somnomyo.io.atomic import OWNER_FILE, atomic_dir, remove_stale, write_text_atomic

__all__ = [
    "MANIFEST_FILE",
    "FORMAT",
    "FORMAT_VERSION",
    "ResultsFolder",
    "OutPlan",
    "open_results",
    "prepare_out",
    "results_writer",
    "sha256_file",
    "build_manifest",
    "is_results_folder",
]

MANIFEST_FILE = "manifest.json"
FORMAT = "somnomyo-results"
FORMAT_VERSION = 1
#: top-level entries other commands add to a results folder; not part of the manifest's file check
EXTRA_ENTRIES = ("review",)
#: a folder holding one of these is not replaced without ``overwrite`` (a person's edits)
PROTECTED_ENTRIES = ("review",)
#: hashing reads files in blocks of this many bytes (streaming: memory stays flat)
HASH_BLOCK_BYTES = 1 << 20
InputSpec = tuple[str, "str | os.PathLike[str]"]


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, read in 1-MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(HASH_BLOCK_BYTES)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _files_of(folder: Path) -> dict[str, dict[str, Any]]:
    """``{relative posix path: {"size", "sha256"}}`` of every regular file under ``folder``
    (the manifest and the temporary owner file left out)."""
    out: dict[str, dict[str, Any]] = {}
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.is_symlink():
            continue
        rel = p.relative_to(folder).as_posix()
        if rel in (MANIFEST_FILE, OWNER_FILE):
            continue
        out[rel] = {"size": p.stat().st_size, "sha256": sha256_file(p)}
    return out


def build_manifest(
    folder: str | os.PathLike[str],
    *,
    recording: str | os.PathLike[str],
    recording_sha256: str | None = None,
    inputs: Sequence[InputSpec] = (),
    standard: str | None = None,
    command: Sequence[str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest of ``folder`` as it is now: every file in it, with sizes and hashes."""
    rec = Path(recording).absolute()
    seen: set[str] = set()
    ins = []
    for role, p in inputs:
        ap = str(Path(p).absolute())
        if ap in seen or ap == str(rec):
            continue
        seen.add(ap)
        ins.append({"role": role, "path": ap, "sha256": sha256_file(ap)})
    man: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "somnomyo_version": __version__,
        "created": _now(),
        "command": None if command is None else [str(c) for c in command],
        "recording": {"path": str(rec), "size": rec.stat().st_size, "sha256": recording_sha256 or sha256_file(rec)},
        "inputs": ins,
        "standard": standard,
        "files": _files_of(Path(folder)),
    }
    if extra:
        man.update(extra)
    return man


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of ``folder``; None when there is none; SomnomyoError when it is not one."""
    f = folder / MANIFEST_FILE
    if not f.is_file():
        return None
    try:
        man = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise SomnomyoError(f"unreadable {MANIFEST_FILE} ({type(err).__name__}: {err})", folder) from None
    if not isinstance(man, dict) or man.get("format") != FORMAT:
        raise SomnomyoError(f"not somnomyo output ({MANIFEST_FILE} is not a {FORMAT} manifest)", folder)
    version = man.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise SomnomyoError(
            f"{MANIFEST_FILE} has format_version {version!r}; this somnomyo reads up to "
            f"{FORMAT_VERSION} (upgrade somnomyo)",
            folder,
        )
    if not isinstance(man.get("files"), dict) or not isinstance(man.get("recording"), dict):
        raise SomnomyoError(f"{MANIFEST_FILE} lacks 'files' or 'recording'", folder)
    return man


def is_results_folder(path: str | os.PathLike[str]) -> bool:
    """True if ``path`` is a folder with a somnomyo ``manifest.json`` (not checked further)."""
    try:
        return Path(path).is_dir() and _read_manifest(Path(path)) is not None
    except SomnomyoError:
        return False


@dataclass
class ResultsFolder:
    """A results folder checked against its manifest (see :func:`open_results`)."""

    path: Path
    manifest: dict[str, Any]

    @property
    def recording_path(self) -> Path:
        """The recording the folder was scored from (absolute path, as it was when scored)."""
        return Path(str(self.manifest["recording"]["path"]))

    def file(self, name: str) -> Path:
        """The path of ``name`` (a relative path, e.g. ``"events.tsv"``) in the folder; raises
        SomnomyoError when it is not there."""
        p = self.path / name
        if not p.is_file():
            raise SomnomyoError(f"no {name} in this results folder", self.path)
        return p

    def summary(self) -> dict[str, Any]:
        """The content of ``summary.json``."""
        f = self.file("summary.json")
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise SomnomyoError(f"unreadable summary: {type(err).__name__}: {err}", f) from None
        if not isinstance(data, dict):
            raise SomnomyoError("not a somnomyo summary (expected a JSON object)", f)
        return data

    def events(self) -> pd.DataFrame:
        """The event table ``events.tsv`` with standard dtypes."""
        from somnomyo.events import read_events_tsv

        f = self.file("events.tsv")
        try:
            return read_events_tsv(f)
        except (OSError, ValueError, KeyError) as err:
            raise SomnomyoError(f"unreadable event table: {type(err).__name__}: {err}", f) from None


def open_results(
    path: str | os.PathLike[str], *, check_recording: bool = True, check_files: bool = True
) -> ResultsFolder:
    """Open a results folder after checking it against its ``manifest.json``.

    Raises :class:`SomnomyoError` (one line) when ``path`` is not a folder, is not somnomyo output
    (no manifest), a file the manifest lists is missing or changed (size or sha256;
    ``check_files``), or the recording is missing or changed (sha256; ``check_recording``).
    """
    p = Path(path)
    if not p.exists():
        raise SomnomyoError("not found (give a folder written by `somnomyo score`)", p)
    if not p.is_dir():
        raise SomnomyoError("not a folder (give a folder written by `somnomyo score`)", p)
    man = _read_manifest(p)
    if man is None:
        raise SomnomyoError(f"not somnomyo output (no {MANIFEST_FILE}; run `somnomyo score` first)", p)
    if check_files:
        for rel, info in man["files"].items():
            f = p / rel
            if not f.is_file():
                raise SomnomyoError(f"{rel}, listed in {MANIFEST_FILE}, is missing", p)
            size = f.stat().st_size
            if size != info.get("size") or sha256_file(f) != info.get("sha256"):
                raise SomnomyoError(
                    f"{rel} changed since somnomyo wrote it (size or sha256 differs from {MANIFEST_FILE})", p
                )
    if check_recording:
        rec = man["recording"]
        rp = Path(str(rec.get("path")))
        if not rp.is_file():
            raise SomnomyoError(f"the recording it was scored from, {rp}, is missing", p)
        if rp.stat().st_size != rec.get("size") or sha256_file(rp) != rec.get("sha256"):
            raise SomnomyoError(f"the recording {rp} changed since it was scored (sha256 differs)", p)
    return ResultsFolder(path=p, manifest=man)


# ----------------------------------------------------------------------------- writing
@dataclass
class OutPlan:
    """Where a run will write, checked (:func:`prepare_out`): the target and the recording's hash."""

    out: Path
    recording: Path
    recording_sha256: str | None  # computed only when ``out`` held results to compare with
    replaces: str | None = None  # "results" (same recording), "empty", "other" (with overwrite)
    removed_leftovers: list[Path] = field(default_factory=list)


def _nearest_existing(p: Path) -> Path:
    q = p
    while not q.exists() and q != q.parent:
        q = q.parent
    return q


def _inside(child: Path, folder: Path) -> bool:
    try:
        child.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError):
        return False


def _legacy_same_recording(out: Path, recording: Path) -> bool:
    """A folder written by a somnomyo without manifests (summary.json naming this recording)."""
    try:
        data = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        rp = Path(str(data["recording"]["path"]))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return False
    if "somnomyo_version" not in data:
        return False
    try:
        return rp.resolve() == recording.resolve()
    except OSError:
        return False


def prepare_out(
    out: str | os.PathLike[str],
    *,
    recording: str | os.PathLike[str],
    inputs: Iterable[str | os.PathLike[str]] = (),
    overwrite: bool = False,
    recording_sha256: str | None = None,
) -> OutPlan:
    """Check, before any work, that a run of ``recording`` may write to ``out``; raise
    :class:`SomnomyoError` (one line) if not. Removes what a killed run left beside ``out``.

    Refused: ``out`` is a file (or a path through a file); its parent cannot be written; ``out``
    holds the recording or an input; and, unless ``overwrite``: ``out`` is a non-empty folder
    that is not somnomyo output, a results folder of another recording (different sha256), or a
    folder holding a review (``review/``).
    """
    out = Path(out)
    rec = Path(recording)
    if out.is_symlink() and not out.exists():
        raise SomnomyoError("is a broken symbolic link", out)
    if out.exists() and not out.is_dir():
        raise SomnomyoError("exists and is a file, not a folder", out)
    base = _nearest_existing(out.absolute().parent)
    if not base.is_dir():
        raise SomnomyoError("exists and is a file, not a folder", base)
    if not os.access(base, os.W_OK | os.X_OK):
        raise SomnomyoError(f"cannot write the results here ({base} is not writable)", out)
    for p in (rec, *map(Path, inputs)):
        if out.exists() and _inside(p, out):
            raise SomnomyoError(
                f"holds {p}, an input of this run; choose another --out (a results folder is replaced whole)", out
            )
    if not rec.is_file():  # a pipe or device would block the hash below (the reader says more)
        raise SomnomyoError(
            "is not a regular file (a pipe, socket or device)" if rec.exists() else "file not found", rec
        )
    removed = remove_stale(out)
    sha = recording_sha256
    replaces = None
    if out.is_dir():
        entries = [e.name for e in out.iterdir()]
        if not entries:
            replaces = "empty"
        else:
            try:
                man = _read_manifest(out)
            except SomnomyoError:
                man = None
            protected = [e for e in PROTECTED_ENTRIES if e in entries]
            if man is not None and sha is None:
                sha = sha256_file(rec)
            if man is not None and man["recording"].get("sha256") == sha:
                replaces = "results"
            elif man is None and _legacy_same_recording(out, rec):
                replaces = "results"
            elif man is not None:
                if not overwrite:
                    old = Path(str(man["recording"].get("path")))
                    what = (
                        "an earlier version of this recording (its sha256 differs)"
                        if old == rec.absolute()
                        else f"another recording ({old})"
                    )
                    raise SomnomyoError(
                        f"holds the results of {what}; give --overwrite to replace them, or another --out", out
                    )
                replaces = "other"
            else:
                if not overwrite:
                    raise SomnomyoError(
                        "exists, is not empty and is not a somnomyo results folder (no "
                        f"{MANIFEST_FILE}); give --overwrite to replace it, or another --out",
                        out,
                    )
                replaces = "other"
            if protected and not overwrite:
                raise SomnomyoError(
                    f"holds a review ({'/, '.join(protected)}/) that a new run would delete; "
                    "give --overwrite to replace it, or another --out",
                    out,
                )
    return OutPlan(out=out, recording=rec, recording_sha256=sha, replaces=replaces, removed_leftovers=removed)


@contextlib.contextmanager
def results_writer(
    out: str | os.PathLike[str],
    *,
    recording: str | os.PathLike[str],
    inputs: Sequence[InputSpec] = (),
    standard: str | None = None,
    command: Sequence[str] | None = None,
    overwrite: bool = False,
    plan: OutPlan | None = None,
) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``out`` to write a whole run into; on success write
    ``manifest.json`` (listing every file in it) and swap it in as ``out`` in one step.

    The rules of :func:`prepare_out` are applied first (again, if ``plan`` is given: the
    folder may have changed while the night was scored). On error nothing changes at ``out``.
    """
    out = Path(out)
    if out.is_symlink() and out.is_dir():  # replace the folder the link points to, keep the link
        out = out.resolve()
    plan = prepare_out(
        out,
        recording=recording,
        inputs=[p for _, p in inputs],
        overwrite=overwrite,
        recording_sha256=plan.recording_sha256 if plan is not None else None,
    )
    with atomic_dir(out, overwrite=True) as tmp:
        try:
            yield tmp
            man = build_manifest(
                tmp,
                recording=recording,
                recording_sha256=plan.recording_sha256,
                inputs=inputs,
                standard=standard,
                command=command,
            )
            write_text_atomic(tmp / MANIFEST_FILE, json.dumps(man, indent=1))
        except OSError as err:  # name the file hit as the user knows it (in --out, not the temporary folder)
            name = err.filename
            if isinstance(name, (str, os.PathLike)) and str(name).startswith(str(tmp)):
                err.filename = str(out) + str(name)[len(str(tmp)) :]
            elif name is None:
                err.filename = str(out)
            raise
