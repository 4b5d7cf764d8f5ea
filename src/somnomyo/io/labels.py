"""Normalize real-world annotation labels to the model of :mod:`somnomyo.io.annotations`.

:func:`normalize_label` maps one annotation text to either a sleep stage (one of
``STAGES``) or an event ``(category, kind)``. Matching is case-insensitive and
tolerant of extra whitespace, underscores and the NSRR ``"Concept|Code"`` form.

Vocabulary of ``kind`` per category:

* stages: ``W, N1, N2, N3, R, UNS``. R&K stages 3 and 4 both become N3 (AASM
  Manual v2: N3 replaces R&K S3+S4); ``?``, movement time and unscored become UNS.
* ``respiratory``: ``obstructive_apnea``, ``central_apnea``, ``mixed_apnea``,
  ``apnea``, ``hypopnea`` (obstructive/central hypopneas too), ``rera``, ``unsure``
  (NSRR "Unsure|Unsure": a respiratory event the scorer could not type).
* ``arousal``: ``arousal``, ``respiratory_arousal``, ``lm_arousal``.
* ``limb``: ``lm``, ``lm_left``, ``lm_right``, ``plm``, ``plm_left``, ``plm_right``.
* ``lights``: ``lights_off``, ``lights_on``.
* ``myoclonus``: the event kinds somnomyo itself writes (``events.edf``, ``events.xml``:
  "Myoclonic jerk", "Hypnic jerk", "Fragmentary myoclonus", "Negative myoclonus", "Phasic
  EMG", "Jerk cluster"); ``kind`` is the ``trial_type`` (``myoclonic_jerk`` ...), so that the
  exports read back as what they are.
* ``marker``: anything else; ``kind`` is the label itself (channel suffix and NSRR
  ``|code`` removed).

Numeric stage codes (``0``-``5``, ``6`` movement, ``9`` unscored; the R&K/NSRR
convention 0 W, 1-4 S1-S4, 5 REM) are accepted only where the text is known to
be a stage: ``stages_only=True`` (stage-per-line files, NSRR ``Stages`` events),
after a ``Stage``/``Sleep stage`` prefix, or as the code of an NSRR ``|`` label.
"""

from __future__ import annotations

import re

from somnomyo.io.annotations import STAGES

__all__ = ["normalize_label", "normalize_stage", "split_channel", "is_stage"]

# --- stages ---------------------------------------------------------------------
# Tokens safe to read as a stage even without any context.
_STAGE_WORDS: dict[str, str] = {
    "w": "W",
    "wake": "W",
    "awake": "W",
    "wakefulness": "W",
    "n1": "N1",
    "n2": "N2",
    "n3": "N3",
    "n4": "N3",
    "nrem1": "N1",
    "nrem2": "N2",
    "nrem3": "N3",
    "nrem4": "N3",
    "s1": "N1",
    "s2": "N2",
    "s3": "N3",
    "s4": "N3",
    "r": "R",
    "rem": "R",
    "sr": "R",
    "srem": "R",
    "?": "UNS",
    "unscored": "UNS",
    "not scored": "UNS",
    "movement time": "UNS",
}
# Tokens read as a stage only in a stage context (numeric codes, M, unknown ...).
_STAGE_CONTEXT_WORDS: dict[str, str] = {
    "0": "W",
    "1": "N1",
    "2": "N2",
    "3": "N3",
    "4": "N3",
    "5": "R",
    "6": "UNS",
    "9": "UNS",
    "-1": "UNS",
    "m": "UNS",
    "mt": "UNS",
    "movement": "UNS",
    "u": "UNS",
    "uns": "UNS",
    "unk": "UNS",
    "unknown": "UNS",
    "nan": "UNS",
    "x": "UNS",
    "a": "UNS",
    "artifact": "UNS",
    "artefact": "UNS",
    "no stage": "UNS",
    "none": "UNS",
}
_STAGE_PREFIX = re.compile(r"^(?:sleep\s*stage|sleep\s*state|stage)\s*[:\-]?\s*")
_STAGE_SUFFIX = re.compile(r"\s*sleep$")

# --- events (order matters: RERA before arousal, arousal before limb) -----------
_RERA = re.compile(r"\brera\b|effort[\s\-]*related\s+arousal")
_APNEA = re.compile(r"apno?ea")
_HYPOPNEA = re.compile(r"hypopno?ea")
_AROUSAL = re.compile(r"arous")
_RESP_AROUSAL = re.compile(r"\bresp|\bapn|hypopn")
_LM_AROUSAL = re.compile(r"\bp?lms?\b|\blimb|\bleg\b")
_LIMB = re.compile(r"\b(?:limb|leg)\s*movement|^p?lms?\b|^p?lm[\s\-_(]|\bplm|periodic\s+(?:limb|leg)")
_PERIODIC = re.compile(r"periodic|\bplms?\b|^plm")
_LEFT = re.compile(r"\bleft\b|\(\s*l\s*\)|[\s\-_]l$|\bl(?:eft)?\s+leg\b|\blat\b")
_RIGHT = re.compile(r"\bright\b|\(\s*r\s*\)|[\s\-_]r$|\br(?:ight)?\s+leg\b|\brat\b")
_LIGHTS_OFF = re.compile(r"^lights?[\s\-_]*(?:off|out)\b")
_LIGHTS_ON = re.compile(r"^lights?[\s\-_]*on\b")


def _clean(text: str) -> str:
    """Lower-case, underscores to spaces, whitespace collapsed."""
    return " ".join(str(text).replace("_", " ").lower().split())


def split_channel(text: str) -> tuple[str, str | None]:
    """Split an ``"label@@channel"`` annotation (EDF+ channel-specific, e.g. HMC) into its parts."""
    label, sep, channel = str(text).partition("@@")
    channel = channel.strip()
    return label.strip(), (channel if sep and channel else None)


def normalize_stage(text: str, *, stages_only: bool = False) -> str | None:
    """The stage in ``STAGES`` that ``text`` names, or None when it is not a stage label.

    Accepts R&K and AASM spellings ("Sleep stage 4", "Sleep stage N3", "Stage 4",
    "S3", "NREM1", "REM", "Wake", "W", "?") and NSRR ``"Stage 2 sleep|2"``. R&K 3
    and 4 -> N3 (AASM Manual v2, stage N3 = R&K S3+S4); ``?``, movement time and
    unscored -> UNS. Numeric codes need a stage context (see module docstring).
    """
    raw, _ = split_channel(text)
    context = stages_only
    if "|" in raw:
        concept, _, code = raw.partition("|")
        code = _clean(code)
        if code in _STAGE_CONTEXT_WORDS and code.lstrip("-").isdigit():
            context = True
        raw = concept
    t = _clean(raw)
    if not t:
        return None
    stripped = _STAGE_PREFIX.sub("", t)
    if stripped != t:
        context = True
    t = _STAGE_SUFFIX.sub("", stripped) if stripped not in ("sleep",) else stripped
    t = t.strip(" .:-")
    t = re.sub(r"^(n|s|nrem)\s+(\d)$", r"\1\2", t)  # "NREM 1", "N 2", "S 3"
    if t in _STAGE_WORDS:
        return _STAGE_WORDS[t]
    if context and t in _STAGE_CONTEXT_WORDS:
        return _STAGE_CONTEXT_WORDS[t]
    return None


def is_stage(text: str) -> bool:
    """True when ``text`` is a sleep-stage label (see :func:`normalize_stage`)."""
    return normalize_stage(text) is not None


def _side(t: str) -> str:
    if _LEFT.search(t):
        return "_left"
    if _RIGHT.search(t):
        return "_right"
    return ""


#: somnomyo's own exported labels (cleaned) -> trial_type (read back as category ``myoclonus``)
OWN_KINDS: dict[str, str] = {
    "myoclonic jerk": "myoclonic_jerk",
    "hypnic jerk": "hypnic_jerk",
    "fragmentary myoclonus": "fragmentary_myoclonus",
    "negative myoclonus": "negative_myoclonus",
    "phasic emg": "phasic_emg",
    "jerk cluster": "jerk_cluster",
}


def _event(t: str) -> tuple[str, str] | None:
    """(category, kind) of a cleaned, non-stage label, or None for a marker."""
    if t in OWN_KINDS:
        return ("myoclonus", OWN_KINDS[t])
    if _RERA.search(t):
        return ("respiratory", "rera")
    if _HYPOPNEA.search(t):
        return ("respiratory", "hypopnea")
    if _APNEA.search(t):
        for kind in ("obstructive", "central", "mixed"):
            if kind in t:
                return ("respiratory", f"{kind}_apnea")
        return ("respiratory", "apnea")
    if t == "unsure":
        return ("respiratory", "unsure")
    if _AROUSAL.search(t):
        if _RESP_AROUSAL.search(t):
            return ("arousal", "respiratory_arousal")
        if _LM_AROUSAL.search(t):
            return ("arousal", "lm_arousal")
        return ("arousal", "arousal")
    if _LIGHTS_OFF.search(t):
        return ("lights", "lights_off")
    if _LIGHTS_ON.search(t):
        return ("lights", "lights_on")
    if _LIMB.search(t):
        base = "plm" if _PERIODIC.search(t) else "lm"
        return ("limb", base + _side(t))
    return None


def normalize_label(text: str, *, stages_only: bool = False) -> str | tuple[str, str]:
    """Normalize one annotation text: a stage name (``str``) or ``(category, kind)``.

    Stages follow :func:`normalize_stage` (R&K S3/S4 -> N3, AASM Manual v2). Events:
    respiratory (apneas, hypopneas, RERA, NSRR "Unsure"), arousals (ASDA 1992 /
    AASM arousal; respiratory and leg-movement arousals kept apart), human-scored
    limb movements (with side when written), lights off/on; anything else is a
    ``("marker", label)`` with the label as written (channel suffix removed).
    With ``stages_only=True`` the text must be a stage; otherwise ``ValueError``
    listing the accepted stage spellings.
    """
    stage = normalize_stage(text, stages_only=stages_only)
    if stage is not None:
        return stage
    if stages_only:
        raise ValueError(
            f"{str(text).strip()!r} is not a sleep stage; accepted: "
            f"{', '.join(STAGES)}, 0-5, ?, Sleep stage W/1/2/3/4/R/?, N1-N3, S1-S4, REM, Wake"
        )
    raw, _ = split_channel(text)
    concept = raw.partition("|")[0] if "|" in raw else raw
    found = _event(_clean(concept))
    if found is None and "|" in raw:  # NSRR: try the code part too
        found = _event(_clean(raw.partition("|")[2]))
    if found is not None:
        return found
    return ("marker", " ".join(concept.split()))
