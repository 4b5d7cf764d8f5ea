"""Find the annotation file (hypnogram, scored events) that sits beside a recording."""

from __future__ import annotations

import os
import re
from pathlib import Path

from somnomyo._logging import logger

__all__ = ["sidecar_candidates", "find_sidecar"]


def sidecar_candidates(edf_path: str | os.PathLike[str]) -> list[str]:
    """File names looked for beside ``edf_path``, in order of preference.

    ``<stem>.xml``, ``<stem>-nsrr.xml``, ``<stem>.edf.XML`` (NSRR), ``<stem>-profusion.xml``,
    ``<stem>.tsv``, ``<stem>.csv``, ``<stem>_events.tsv`` (BIDS), ``<stem>-annotations.tsv``,
    ``<stem>-annotations.edf``, ``<stem>-Hypnogram.edf``, the Sleep-EDF pattern (the
    entry ``"<sleep-edf>"``, see :func:`find_sidecar`), ``<stem>_sleepscoring.edf`` and
    ``<stem>_sleepscoring.txt`` (HMC), ``<stem>.txt``.
    """
    path = Path(edf_path)
    stem = path.stem
    return [
        f"{stem}.xml",
        f"{stem}-nsrr.xml",
        f"{path.name}.XML",
        f"{stem}-profusion.xml",
        f"{stem}.tsv",
        f"{stem}.csv",
        f"{stem}_events.tsv",
        f"{stem}-annotations.tsv",
        f"{stem}-annotations.edf",
        f"{stem}-Hypnogram.edf",
        "<sleep-edf>",
        f"{stem}_sleepscoring.edf",
        f"{stem}_sleepscoring.txt",
        f"{stem}.txt",
    ]


def find_sidecar(edf_path: str | os.PathLike[str]) -> Path | None:
    """The annotation file beside ``edf_path``, or None when there is none.

    Looks, in the order of :func:`sidecar_candidates`, for files in the same folder
    (names compared case-insensitively, an exact-case match preferred). The Sleep-EDF
    pattern pairs ``SC4001E0-PSG.edf`` with ``SC4001EC-Hypnogram.edf``: the same first
    6 characters, any 2 characters, then ``-Hypnogram.edf``. Logs (INFO) the file used.
    """
    path = Path(edf_path)
    folder = path.parent
    try:
        names = sorted(p.name for p in folder.iterdir() if p.is_file())
    except OSError:
        return None
    by_lower: dict[str, list[str]] = {}
    for name in names:
        by_lower.setdefault(name.lower(), []).append(name)
    own = path.name.lower()
    for cand in sidecar_candidates(path):
        if cand == "<sleep-edf>":
            found = _sleep_edf_hypnogram(path.stem, names, own)
        else:
            matches = [n for n in by_lower.get(cand.lower(), []) if n.lower() != own]
            found = cand if cand in matches else (matches[0] if matches else None)
        if found is not None:
            result = folder / found
            logger.info("annotations for %s: using %s", path.name, result)
            return result
    logger.debug("no annotation file found beside %s", path)
    return None


def _sleep_edf_hypnogram(stem: str, names: list[str], own: str) -> str | None:
    """Sleep-EDF: ``SC4001E0-PSG.edf`` -> ``SC4001EC-Hypnogram.edf`` (first 6 characters + any 2)."""
    if len(stem) < 6:
        return None
    pattern = re.compile(re.escape(stem[:6]) + r"..-hypnogram\.edf", re.IGNORECASE)
    matches = [n for n in names if pattern.fullmatch(n) and n.lower() != own]
    if len(matches) > 1:
        logger.warning("several Sleep-EDF hypnograms match %s: %s; using %s", stem, ", ".join(matches), matches[0])
    return matches[0] if matches else None
