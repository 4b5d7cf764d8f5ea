"""The interpretation rule table: summary blocks in, plain-language findings out.

Each :class:`Rule` has an ``id``, a ``source`` (citation), the summary keys it reads
(``inputs``, dotted: ``plm.plms_index``), the populations it applies to and a function
returning a :class:`~somnomyo.interpret.findings.Finding` or None. Thresholds come from
``settings.interpret`` (and ``settings.myoclonus`` for SINBAR). The rules and their sources are
listed in docs/rules.md §15.

Populations: ``adult``, ``child`` (< 18 years, ICSD-3 paediatric PLMS threshold) and
``infant`` (< 2 years: benign sleep myoclonus of infancy versus features that warrant
review). ``population="auto"`` derives it from the age (``parse_age``: ``"10d"``,
``"3m"``, ``"5y"``, ``"14 days"``, ``"3 months"``); without an age it is ``adult``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from somnomyo._logging import logger
from somnomyo.errors import SomnomyoError, check_choice
from somnomyo.interpret.findings import Finding, fmt
from somnomyo.interpret.settings import POPULATION_CHOICES, POPULATIONS
from somnomyo.settings import Settings, get_settings

_UNITS = {
    "d": 1.0,
    "day": 1.0,
    "days": 1.0,
    "w": 7.0,
    "wk": 7.0,
    "wks": 7.0,
    "week": 7.0,
    "weeks": 7.0,
    "m": 30.4375,
    "mo": 30.4375,
    "mos": 30.4375,
    "month": 30.4375,
    "months": 30.4375,
    "y": 365.25,
    "yr": 365.25,
    "yrs": 365.25,
    "year": 365.25,
    "years": 365.25,
}
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_age(age: str | float | int | None) -> float | None:
    """Age in days. Strings need a unit: ``"10d"``, ``"2w"``, ``"3m"``, ``"5y"``, ``"14 days"``,
    ``"3 months"``; numbers are taken as days. Raises :class:`SomnomyoError` on bad input."""
    if age is None:
        return None
    if isinstance(age, bool):
        raise SomnomyoError(f"age {age!r} is not an age; use e.g. 10d, 3m, 5y")
    if isinstance(age, (int, float)):
        if not age >= 0:
            raise SomnomyoError(f"age {age!r} must be >= 0 days")
        return float(age)
    m = _AGE.match(str(age))
    if m is None:
        raise SomnomyoError(f"age {age!r} is not understood; use a number and a unit (d, w, m, y), e.g. 10d, 3m, 5y")
    unit = m.group(2).lower()
    if unit not in _UNITS:
        raise SomnomyoError(f"age {age!r} needs a unit, one of: d, w, m, y (or days, weeks, months, years)")
    return float(m.group(1)) * _UNITS[unit]


def population_for(age_days: float | None, *, settings: Settings | None = None) -> str:
    """``infant`` below 2 years, ``child`` below 18 years, else ``adult`` (``adult`` without an age)."""
    s = (settings or get_settings()).interpret
    if age_days is None:
        return "adult"
    if age_days < s.pop_infant_max_days:
        return "infant"
    return "child" if age_days < s.pop_child_max_days else "adult"


# --------------------------------------------------------------------------------------
@dataclass
class Context:
    """What a rule sees: the summary blocks (with ``cortical`` and ``state``), population, age."""

    summary: dict[str, Any]
    population: str
    age_days: float | None
    settings: Settings
    prior: list[dict[str, Any]]
    inputs: tuple[str, ...] | None = None  # the keys the rule reading this context declared

    def get(self, key: str, default: Any = None) -> Any:
        """Dotted lookup, e.g. ``ctx.get("plm.plms_index")``; ``default`` where absent or null. A
        rule may read only the keys it declares (``Rule.inputs``, inside them, or the blocks
        holding them); another key is a programming error (``KeyError``)."""
        if self.inputs is not None and not any(
            key == k or k.startswith(key + ".") or key.startswith(k + ".") for k in self.inputs
        ):
            raise KeyError(f"interpretation rule reads {key!r}, which is not among its inputs {self.inputs}")
        cur: Any = self.summary
        for part in key.split("."):
            if not isinstance(cur, dict) or cur.get(part) is None:
                return default
            cur = cur[part]
        return cur


@dataclass(frozen=True)
class Rule:
    """One row of the rule table."""

    id: str
    source: str
    inputs: tuple[str, ...]
    populations: tuple[str, ...]
    check: Callable[[Context], Finding | None]

    def __call__(self, ctx: Context) -> Finding | None:
        if ctx.population not in self.populations:
            return None
        return self.check(replace(ctx, inputs=self.inputs))


def check_rule_inputs(rules: Sequence[Rule]) -> None:
    """Raise ``ValueError`` naming the rule when an input is not a key declared in summary.json
    (:func:`somnomyo.result.check_summary_key`); run on :data:`RULES` when this module is imported."""
    from somnomyo.result import check_summary_key

    for rule in rules:
        for key in rule.inputs:
            try:
                check_summary_key(key)
            except ValueError as err:
                raise ValueError(f"interpretation rule {rule.id!r}: {err}") from None


# --- rule functions ----------------------------------------------------------------------
SRC_PLMD = "ICSD-3 PLMD: PLMS index > 15/h adults, > 5/h children; no norm for infants (docs/rules.md §15.5)"
SRC_EFM = "AASM EFM: potentials <= 150 ms, >= 5/min, >= 20 min of NREM (ATS Quick Hits; docs/rules.md §6.2)"
SRC_HYPNIC = "ICSD-3 sleep starts: isolated symptoms and normal variants (docs/rules.md §8)"
SRC_SINBAR = "SINBAR, Frauscher et al. Sleep 2012: any mentalis >= 18%, + phasic FDS >= 32% (docs/rules.md §11)"
SRC_JLBA = (
    "JLBA: Shibasaki 1992 (premyoclonic spike ~20 ms), Latorre 2023 (>= 50 jerks); burst duration "
    "45 ms, van der Veen 2024 (docs/rules.md §15.1, §15.2)"
)
SRC_BSMI = (
    "ICSD-3 BSMI (sleep only, stops on arousal, birth-6 months); Fernandez-Alvarez clusters 1-5 Hz; "
    "Di Capua 1993 normal EEG; Maurer 2010 (docs/rules.md §15.7)"
)
SRC_SPASM = (
    "ILAE epileptic spasms: 0.5-2 s contractions in clusters on awakening, onset 3-12 months (docs/rules.md §15.8)"
)
SRC_RHYTHM = "Clonic/myoclonic seizures: rhythmic jerks with an EEG discharge; BSMI EEG normal (docs/rules.md §15.9)"
SRC_WAKE_ADULT = "Myoclonus mostly in wakefulness or with a cortical transient warrants review (docs/rules.md §15.6)"


def _plms_range(ctx: Context) -> Finding | None:
    idx = ctx.get("plm.plms_index")
    if idx is None:
        return None
    adult = ctx.population == "adult"
    thr = _plms_threshold(ctx)
    if thr is None or not float(idx) > thr:  # infants: no published norm (the reference row says so)
        return None
    who = "adults" if adult else "children"
    ev = {
        "plms_index": idx,
        "threshold": thr,
        "population": ctx.population,
        "plms_arousal_index": ctx.get("plm.plms_arousal_index"),
        "periodicity_index": ctx.get("plm.periodicity_index"),
        "plmw_index": ctx.get("plm.plmw_index"),
        "tst_h": ctx.get("plm.tst_h"),
        "standard": ctx.get("plm.standard"),
    }
    return Finding(
        "plms_range",
        "note",
        f"Repeated leg movements during sleep were frequent ({fmt(idx)} per hour). This is in the range of "
        "periodic limb movement disorder if clinically symptomatic; a sleep specialist can judge whether it matters.",
        f"PLMS index {fmt(idx)}/h > {fmt(thr)}/h ({who}, ICSD-3 PLMD threshold); PLMS-arousal index "
        f"{fmt(ev['plms_arousal_index'])}/h; periodicity index {fmt(ev['periodicity_index'], 2)}; TST "
        f"{fmt(ev['tst_h'], 2)} h. ICSD-3 PLMD also needs clinical sleep disturbance and no better explanation "
        "(RLS, narcolepsy, untreated OSA, RBD).",
        ev,
        SRC_PLMD,
    )


# --- where each headline index falls against its reference range -------------------------------------
SRC_PLMW = "WASM 2016 reports PLMW apart from PLMS; ICSD-3 and AASM give no PLMW criterion (docs/rules.md §15.5)"
SRC_PERIODICITY = (
    "Ferri et al. Sleep 2006 periodicity index (0-1); RLS with PLMS > 15/h: 0.86 +- 0.10 (Shin et al. JCSM 2016); "
    "no accepted cut-off (docs/rules.md §15.5)"
)
SRC_JERKS = "No published norm for myoclonic jerks per hour of sleep (docs/rules.md §15.6)"
SRC_POPULATION = {"adult": "adults", "child": "children (< 18 y)", "infant": "infants (< 2 y)"}
POSITIONS = ("below", "above", "no_norm")


def _plms_threshold(ctx: Context) -> float | None:
    """The ICSD-3 PLMD PLMS-index criterion for the population scored (None: no norm, infants)."""
    s = ctx.settings.interpret
    return {"adult": s.plms_adult_index, "child": s.plms_child_index}.get(ctx.population, s.plms_infant_index)


def _reference(
    ctx: Context,
    rid: str,
    quantity: str,
    value: Any,
    unit: str,
    threshold: float | None,
    *,
    criterion: str,
    source: str,
    inclusive: bool = False,
    nd: int = 1,
    context: str = "",
    any_population: bool = False,
) -> Finding | None:
    """One row of the reference table: ``value`` against ``threshold`` (``> threshold`` is above,
    ``>=`` with ``inclusive``), worded for the population scored (``any_population``: a criterion
    that is the same for every age); ``threshold=None``: no published norm for this population, and
    the finding says so."""
    if value is None:
        return None
    v = float(value)
    who = SRC_POPULATION.get(ctx.population, ctx.population)
    shown = f"{fmt(v, nd)}{unit}"
    op = ">=" if inclusive else ">"
    if threshold is None:
        position, level = "no_norm", "info"
        reference = f"no published norm for {who}"
        plain = f"{quantity} {shown}: no published reference range for {who}; the number is not graded."
    else:
        over = v >= threshold if inclusive else v > threshold
        position, level = ("above", "note") if over else ("below", "info")
        limit = f"{op} {threshold:g}{unit}"
        whose = "" if any_population else f"{ctx.population} "
        reference = f"{limit} ({whose}{criterion})"
        plain = f"{quantity} {shown}: {'above' if over else 'below'} the {whose}criterion of {limit} ({criterion})."
    clinical = f"{quantity} {shown}; reference: {reference}." + (f" {context}" if context else "")
    ev = {
        "quantity": quantity,
        "value": value,
        "unit": unit.strip(),
        "threshold": threshold,
        "comparison": op if threshold is not None else None,
        "reference": reference,
        "position": position,
        "population": ctx.population,
    }
    return Finding(rid, level, plain, clinical, ev, source)


def _plms_reference(ctx: Context) -> Finding | None:
    thr = _plms_threshold(ctx)
    return _reference(
        ctx,
        "plms_index_reference",
        "PLMS index",
        ctx.get("plm.plms_index"),
        "/h",
        thr,
        criterion="ICSD-3 PLMD",
        source=SRC_PLMD,
        context=(
            "The PLMS index alone is not a disorder: ICSD-3 PLMD also needs clinical sleep disturbance. Healthy "
            "adult sleepers: 36% have PLMS > 5/h and 18% > 15/h (Frauscher 2014)."
            if thr is not None
            else "ICSD-3 sets > 5/h for children and > 15/h for adults; infants move more in sleep and no "
            "criterion has been set for them, so neither applies."
        ),
    )


def _plmw_reference(ctx: Context) -> Finding | None:
    return _reference(
        ctx,
        "plmw_index_reference",
        "PLMW index",
        ctx.get("plm.plmw_index"),
        "/h",
        None,
        criterion="",
        source=SRC_PLMW,
        context="ICSD-3 and AASM set no PLMW criterion; it is reported beside the PLMS index (WASM 2016).",
    )


def _periodicity_reference(ctx: Context) -> Finding | None:
    return _reference(
        ctx,
        "periodicity_index_reference",
        "Periodicity index",
        ctx.get("plm.periodicity_index"),
        "",
        None,
        criterion="",
        source=SRC_PERIODICITY,
        nd=2,
        context="0: no periodicity, 1: fully periodic; RLS with PLMS > 15/h: 0.86 +- 0.10 (Shin 2016).",
    )


def _efm_reference(ctx: Context) -> Finding | None:
    m = ctx.settings.myoclonus
    minutes = ctx.get("fragmentary_myoclonus.efm_minutes")
    if minutes is None:
        return None
    return _reference(
        ctx,
        "efm_minutes_reference",
        "EFM minutes (NREM minutes with >= 5 fragmentary potentials)",
        minutes,
        " min",
        m.fm_efm_min_minutes,
        criterion="AASM excessive fragmentary myoclonus",
        source=SRC_EFM,
        inclusive=True,
        any_population=True,
        context=f"FM index {fmt(ctx.get('fragmentary_myoclonus.fm_index'))}/h of sleep; the AASM criterion counts "
        f"1-min NREM windows with >= {m.fm_efm_min_per_minute} potentials of <= {m.fm_max_duration_s * 1000:.0f} ms "
        "and gives no norm for the FM index itself; 9% of healthy sleepers meet EFM (Frauscher 2014).",
    )


def _jerk_reference(ctx: Context) -> Finding | None:
    return _reference(
        ctx,
        "jerk_index_reference",
        "Myoclonic jerk index",
        ctx.get("jerks.index"),
        "/h",
        None,
        criterion="",
        source=SRC_JERKS,
        context="Jerks per hour of sleep on two or more muscles (or one muscle, longer than a fragmentary "
        "potential); no published range separates normal from abnormal.",
    )


def _rem_reference(ctx: Context) -> Finding | None:
    m = ctx.settings.myoclonus
    infant = ctx.population == "infant"
    return _reference(
        ctx,
        "rem_emg_reference",
        "REM 'any' mentalis EMG",
        ctx.get("rem_emg.any_mini_epoch_pct"),
        "%",
        None if infant else m.rem_sinbar_any_pct,
        criterion="SINBAR cut-off",
        source=SRC_SINBAR,
        inclusive=True,
        context=(
            "SINBAR cut-offs were set in adults (Frauscher 2012); infants have much more phasic REM activity."
            if infant
            else f"Share of 3-s REM mini-epochs with any mentalis activity; mentalis + phasic FDS "
            f"{fmt(ctx.get('rem_emg.sinbar_combined_pct'))}% (cut-off >= {fmt(m.rem_sinbar_combined_pct, 0)}%)."
        ),
    )


def _efm(ctx: Context) -> Finding | None:
    if ctx.get("fragmentary_myoclonus.efm") is not True:
        return None
    m = ctx.settings.myoclonus
    ev = {
        "efm_minutes": ctx.get("fragmentary_myoclonus.efm_minutes"),
        "fm_index": ctx.get("fragmentary_myoclonus.fm_index"),
        "efm_mode": ctx.get("fragmentary_myoclonus.efm_mode"),
        "min_per_minute": m.fm_efm_min_per_minute,
        "min_minutes": m.fm_efm_min_minutes,
        "max_duration_s": m.fm_max_duration_s,
    }
    return Finding(
        "efm",
        "note",
        "Many very small, brief muscle twitches were seen during sleep (excessive fragmentary myoclonus). "
        "This is common and often harmless; it is worth mentioning to the sleep doctor.",
        f"AASM EFM criterion met: {fmt(ev['efm_minutes'])} min of NREM with >= {m.fm_efm_min_per_minute} "
        f"potentials/min (<= {m.fm_max_duration_s * 1000:.0f} ms) (needs >= {fmt(m.fm_efm_min_minutes, 0)} min, "
        f"{ev['efm_mode']}); FM index {fmt(ev['fm_index'])}/h. 9% of healthy sleepers meet EFM (Frauscher 2014).",
        ev,
        SRC_EFM,
    )


def _hypnic(ctx: Context) -> Finding | None:
    n = ctx.get("hypnic_jerks.count")
    if not n:
        return None
    ev = {
        "count": n,
        "n_sleep_onsets": ctx.get("hypnic_jerks.n_sleep_onsets"),
        "per_sleep_onset": ctx.get("hypnic_jerks.per_sleep_onset"),
    }
    return Finding(
        "hypnic_jerks",
        "info",
        f"{n} sudden jerk(s) happened while falling asleep (sleep starts). These are a normal variant.",
        f"{n} hypnic jerk(s) at {fmt(ev['n_sleep_onsets'])} sleep onset(s) (wake-N1 transition); ICSD-3 lists "
        "sleep starts among isolated symptoms and normal variants.",
        ev,
        SRC_HYPNIC,
    )


def _rem_phasic(ctx: Context) -> Finding | None:
    m = ctx.settings.myoclonus
    any_pct = ctx.get("rem_emg.any_mini_epoch_pct")
    comb = ctx.get("rem_emg.sinbar_combined_pct")
    over_any = any_pct is not None and float(any_pct) >= m.rem_sinbar_any_pct
    over_comb = comb is not None and float(comb) >= m.rem_sinbar_combined_pct
    if not (over_any or over_comb):
        return None
    ev = {
        "any_mini_epoch_pct": any_pct,
        "any_cutoff_pct": m.rem_sinbar_any_pct,
        "sinbar_combined_pct": comb,
        "combined_cutoff_pct": m.rem_sinbar_combined_pct,
        "n_rem_epochs": ctx.get("rem_emg.n_rem_epochs"),
        "phasic_mini_epoch_pct": ctx.get("rem_emg.phasic_mini_epoch_pct"),
    }
    return Finding(
        "rem_phasic",
        "review",
        "There was more muscle activity during dream (REM) sleep than usual. Normally muscles are relaxed in "
        "this stage; a sleep specialist should review it.",
        f"REM EMG above a published cut-off: 'any' mentalis {fmt(any_pct)}% of 3-s mini-epochs (SINBAR >= "
        f"{fmt(m.rem_sinbar_any_pct, 0)}%); mentalis + phasic FDS {fmt(comb)}% (SINBAR >= "
        f"{fmt(m.rem_sinbar_combined_pct, 0)}%); {fmt(ev['n_rem_epochs'])} REM epochs. Consider video review for "
        "REM sleep without atonia.",
        ev,
        SRC_SINBAR,
    )


def _cortical(ctx: Context) -> Finding | None:
    c = ctx.get("cortical")
    if not isinstance(c, dict):
        return None
    found, n = c.get("transient_found"), c.get("n_jerks") or 0
    ev = {
        k: c.get(k)
        for k in (
            "transient_found",
            "n_jerks",
            "latency_ms",
            "amplitude_uv",
            "channel",
            "p_value",
            "reason",
            "burst_duration_ms_median",
            "burst_suggests_cortical",
        )
    }
    burst = (
        (
            f"; median EMG burst {fmt(c.get('burst_duration_ms_median'))} ms (cortical < "
            f"{fmt(ctx.settings.interpret.burst_cortical_cutoff_ms, 0)} ms, van der Veen 2024; 100-ms cut-off not "
            "validated)"
        )
        if c.get("burst_duration_ms_median") is not None
        else ""
    )
    if found is True:
        return Finding(
            "cortical_transient",
            "review",
            "The brain-wave recording showed a small, consistent wave just before the jerks. This can mean the "
            "jerks start in the brain's surface (cortex); a neurologist should review it.",
            f"Jerk-locked back-averaging: premyoclonic EEG transient on {c.get('channel')} "
            f"{fmt(c.get('latency_ms'))} ms before EMG onset, {fmt(c.get('amplitude_uv'), 2)} µV, p = "
            f"{fmt(c.get('p_value'), 3)} (stage-matched surrogates, family-wise over channels), n = {n} jerks{burst}.",
            ev,
            SRC_JLBA,
        )
    if found is False:
        return Finding(
            "cortical_transient",
            "info",
            "No brain-wave change was found just before the jerks.",
            f"Jerk-locked back-averaging: no premyoclonic EEG transient (p = {fmt(c.get('p_value'), 3)}, n = {n} "
            f"jerks){burst}. Absence is expected in BSMI, propriospinal myoclonus, PLMS and hypnic jerks; JLBA "
            "confirms ~70% of clinically cortical myoclonus (Latorre 2023).",
            ev,
            SRC_JLBA,
        )
    if n > 0:
        return Finding(
            "cortical_transient",
            "info",
            "There were too few clean jerks to check the brain waves before them.",
            f"Jerk-locked back-averaging not conclusive: {c.get('reason')}{burst}.",
            ev,
            SRC_JLBA,
        )
    return None


def _wake_numbers(ctx: Context) -> tuple[Any, Any, Any]:
    return ctx.get("state.wake_fraction"), ctx.get("state.wake_count"), ctx.get("state.waking.stops_on_waking")


def _jerks_in_wake(ctx: Context) -> Finding | None:
    s = ctx.settings.interpret
    frac, n_w, stops = _wake_numbers(ctx)
    in_wake = frac is not None and n_w is not None and n_w >= s.wake_min_jerks and float(frac) > s.wake_infant_fraction
    continues = stops is False
    if not (in_wake or continues):
        return None
    ev = {
        "wake_fraction": frac,
        "wake_count": n_w,
        "wake_fraction_limit": s.wake_infant_fraction,
        "stops_on_waking": stops,
        "rate_before_per_min": ctx.get("state.waking.rate_before_per_min"),
        "rate_after_per_min": ctx.get("state.waking.rate_after_per_min"),
        "rate_per_stage_h": ctx.get("state.rate_per_stage_h"),
    }
    what = []
    if in_wake:
        what.append(
            f"{n_w} jerks in W ({fmt(100 * float(frac), 0)}% of jerks; limit {fmt(100 * s.wake_infant_fraction, 0)}%)"
        )
    if continues:
        what.append(
            f"jerks do not stop after arousal/awakening (rate {fmt(ev['rate_before_per_min'], 2)}/min before, "
            f"{fmt(ev['rate_after_per_min'], 2)}/min after)"
        )
    return Finding(
        "jerks_in_wake",
        "review",
        "Some jerks happened while the baby was awake, or went on after waking up. Benign sleep jerks of infancy "
        "happen only in sleep and stop on waking, so a doctor should review the recording (ideally with video).",
        "; ".join(what) + ". ICSD-3 BSMI: jerks only during sleep, stopping abruptly when the infant is aroused; "
        "myoclonic seizures occur in any state.",
        ev,
        SRC_BSMI,
    )


def _cluster_rate(ctx: Context) -> Any:
    r = ctx.get("state.clusters.median_rate_hz")
    return r if r is not None else ctx.get("clusters.median_rate_hz")


def _cluster_count(ctx: Context) -> int:
    n = ctx.get("state.clusters.count")
    return int(n if n is not None else (ctx.get("clusters.count") or 0))


def _bsmi(ctx: Context) -> Finding | None:
    s = ctx.settings.interpret
    frac, n_w, stops = _wake_numbers(ctx)
    rate, n_cl = _cluster_rate(ctx), _cluster_count(ctx)
    lo, hi = s.bsmi_rate_hz
    transient = ctx.get("cortical.transient_found")
    spasms = ctx.get("state.spasm_clusters.on_awakening") or 0
    rhythm = ctx.get("cortical.eeg_rhythm.found")
    age = ctx.age_days
    sleep_only = frac is not None and not (
        n_w is not None and n_w >= s.wake_min_jerks and float(frac) > s.wake_infant_fraction
    )
    ok = (
        n_cl >= 1
        and rate is not None
        and lo <= float(rate) <= hi
        and sleep_only
        and stops is not False
        and transient is not True
        and not spasms
        and rhythm is not True
        and (age is None or age <= s.bsmi_max_age_days)
    )
    if not ok:
        return None
    not_checked = [
        name
        for name, v in (
            ("stop on waking", stops),
            ("cortical transient", transient),
            ("EEG rhythm", rhythm),
            ("age", age),
        )
        if v is None
    ]
    ev = {
        "clusters": n_cl,
        "median_rate_hz": rate,
        "rate_range_hz": [lo, hi],
        "wake_fraction": frac,
        "stops_on_waking": stops,
        "cortical_transient": transient,
        "eeg_rhythm": rhythm,
        "age_days": age,
        "onset_window_days": s.bsmi_onset_days,
        "not_checked": not_checked,
    }
    extra = f" Not checked: {', '.join(not_checked)}." if not_checked else ""
    return Finding(
        "bsmi_consistent",
        "info",
        "The jerks look like benign sleep myoclonus of infancy: they come in runs during sleep only, stop when "
        "the baby wakes, and show no brain-wave change before them. This pattern is usually harmless and fades "
        "within months; share the result with your child's doctor.",
        f"Features consistent with BSMI: {n_cl} cluster(s) at median {fmt(rate, 2)} Hz (BSMI 1-5 Hz); jerks in "
        f"sleep (wake fraction {fmt(frac, 2)}); stop on waking: {fmt(stops)}; cortical transient: "
        f"{fmt(transient)}; age {fmt(age, 0)} d (typical onset <= {fmt(s.bsmi_onset_days, 0)} d, resolves by "
        f"~{fmt(s.bsmi_max_age_days / 30.4375, 0)} months). A normal EEG and examination are part of the ICSD-3 "
        "criteria." + extra,
        ev,
        SRC_BSMI,
    )


def _spasms(ctx: Context) -> Finding | None:
    s = ctx.settings.interpret
    n_on = ctx.get("state.spasm_clusters.on_awakening") or 0
    if n_on < 1:
        return None
    lo, hi = s.spasm_age_days
    age = ctx.age_days
    ev = {
        "clusters_on_awakening": n_on,
        "clusters": ctx.get("state.spasm_clusters.count"),
        "median_spasms_per_cluster": ctx.get("state.spasm_clusters.median_spasms_per_cluster"),
        "spasm_duration_s": list(s.spasm_duration_s),
        "age_days": age,
        "typical_age_days": [lo, hi],
        "age_in_typical_range": None if age is None else bool(lo <= age <= hi),
    }
    return Finding(
        "infantile_spasms_pattern",
        "review",
        "Series of longer stiffening movements (about 1-2 seconds each) appeared around waking up. This pattern "
        "needs prompt review by a doctor, ideally with video and EEG.",
        f"{n_on} cluster(s) of {s.spasm_duration_s[0]:g}-{s.spasm_duration_s[1]:g}-s contractions "
        f"<= {s.spasm_max_interval_s:g} s apart on/after awakening (infantile spasms pattern, ILAE); age "
        f"{fmt(age, 0)} d (typical onset 3-12 months).",
        ev,
        SRC_SPASM,
    )


def _rhythm(ctx: Context) -> Finding | None:
    if ctx.get("cortical.eeg_rhythm.found") is not True:
        return None
    r = ctx.get("cortical.eeg_rhythm")
    ev = {
        **r,
        "median_cv": ctx.get("state.clusters.median_cv") or ctx.get("clusters.median_cv"),
        "median_rate_hz": _cluster_rate(ctx),
    }
    return Finding(
        "rhythmic_eeg",
        "review",
        "During runs of jerks the brain waves showed a rhythm at the same pace as the jerks. A doctor should "
        "review this, ideally with video and EEG.",
        f"EEG power at the jerk rate during {r.get('n_clusters')} cluster(s) is {fmt(r.get('median_power_ratio'), 1)}x "
        f"the pre-cluster power (threshold {fmt(r.get('threshold'), 1)}x); rhythmic jerks with an EEG rhythm "
        f"suggest a clonic/myoclonic seizure pattern rather than BSMI (normal EEG); inter-jerk CV "
        f"{fmt(ev['median_cv'], 2)}.",
        ev,
        SRC_RHYTHM,
    )


def _night_index(summary: dict[str, Any]) -> float | None:
    for path in (("jerks", "index"), ("state", "sleep_rate_h")):
        cur: Any = summary
        for p in path:
            cur = cur.get(p) if isinstance(cur, dict) else None
        if cur is not None:
            return float(cur)
    return None


def _rising(ctx: Context) -> Finding | None:
    if not ctx.prior:
        return None
    s = ctx.settings.interpret
    maybe = [_night_index(p) for p in ctx.prior] + [_night_index(ctx.summary)]
    vals = [v for v in maybe if v is not None]
    if len(vals) < len(maybe) or vals[0] <= 0:
        return None
    rising = all(b > a for a, b in zip(vals, vals[1:])) and vals[-1] / vals[0] >= s.rising_factor
    if not rising:
        return None
    return Finding(
        "rising_frequency",
        "review",
        "The jerks became more frequent from night to night. A doctor should review this trend.",
        f"Jerk index rose over {len(vals)} nights: {', '.join(fmt(v) for v in vals)} /h (last/first "
        f"{fmt(vals[-1] / vals[0], 2)} >= {fmt(s.rising_factor, 2)}). BSMI typically fades over months.",
        {"jerk_index_by_night": vals, "factor": s.rising_factor},
        SRC_BSMI,
    )


def _adult_review(ctx: Context) -> Finding | None:
    s = ctx.settings.interpret
    frac, n_w, _ = _wake_numbers(ctx)
    mostly_wake = (
        frac is not None and n_w is not None and n_w >= s.wake_min_jerks and float(frac) > s.wake_mostly_fraction
    )
    transient = ctx.get("cortical.transient_found") is True
    if not (mostly_wake or transient):
        return None
    why = []
    if mostly_wake:
        why.append(
            f"{fmt(100 * float(frac), 0)}% of {fmt(ctx.get('state.n_jerks'))} jerks in wakefulness "
            f"(> {fmt(100 * s.wake_mostly_fraction, 0)}%)"
        )
    if transient:
        why.append(f"premyoclonic EEG transient (p = {fmt(ctx.get('cortical.p_value'), 3)})")
    ev = {"wake_fraction": frac, "wake_count": n_w, "mostly_in_wake": mostly_wake, "cortical_transient": transient}
    return Finding(
        "myoclonus_review",
        "review",
        "The jerks happened mostly while awake or came with a brain-wave change. Sleep-related jerks are usually "
        "harmless, but this pattern should be reviewed by a neurologist.",
        "Myoclonus warrants review: " + "; ".join(why) + ". Physiological sleep myoclonus is confined to sleep "
        "and has no premyoclonic potential.",
        ev,
        SRC_WAKE_ADULT,
    )


ALL = POPULATIONS
#: the reference rows come first: every headline index gets one (findings section, summary.json ``interpretation``)
REFERENCE_RULES: tuple[Rule, ...] = (
    Rule("plms_index_reference", SRC_PLMD, ("plm.plms_index",), ALL, _plms_reference),
    Rule("plmw_index_reference", SRC_PLMW, ("plm.plmw_index",), ALL, _plmw_reference),
    Rule("periodicity_index_reference", SRC_PERIODICITY, ("plm.periodicity_index",), ALL, _periodicity_reference),
    Rule(
        "efm_minutes_reference",
        SRC_EFM,
        ("fragmentary_myoclonus.efm_minutes", "fragmentary_myoclonus.fm_index"),
        ALL,
        _efm_reference,
    ),
    Rule("jerk_index_reference", SRC_JERKS, ("jerks.index",), ALL, _jerk_reference),
    Rule(
        "rem_emg_reference",
        SRC_SINBAR,
        ("rem_emg.any_mini_epoch_pct", "rem_emg.sinbar_combined_pct"),
        ALL,
        _rem_reference,
    ),
)
RULES: tuple[Rule, ...] = REFERENCE_RULES + (
    Rule(
        "plms_range",
        SRC_PLMD,
        (
            "plm.plms_index",
            "plm.plms_arousal_index",
            "plm.periodicity_index",
            "plm.plmw_index",
            "plm.tst_h",
            "plm.standard",
        ),
        ("adult", "child"),  # infants: no published norm (plms_index_reference says so)
        _plms_range,
    ),
    Rule(
        "efm",
        SRC_EFM,
        (
            "fragmentary_myoclonus.efm",
            "fragmentary_myoclonus.efm_minutes",
            "fragmentary_myoclonus.fm_index",
            "fragmentary_myoclonus.efm_mode",
        ),
        ALL,
        _efm,
    ),
    Rule(
        "hypnic_jerks",
        SRC_HYPNIC,
        ("hypnic_jerks.count", "hypnic_jerks.n_sleep_onsets", "hypnic_jerks.per_sleep_onset"),
        ALL,
        _hypnic,
    ),
    Rule(
        "rem_phasic",
        SRC_SINBAR,
        (
            "rem_emg.any_mini_epoch_pct",
            "rem_emg.sinbar_combined_pct",
            "rem_emg.n_rem_epochs",
            "rem_emg.phasic_mini_epoch_pct",
        ),
        ("adult", "child"),
        _rem_phasic,
    ),
    Rule(
        "cortical_transient",
        SRC_JLBA,
        (
            "cortical.transient_found",
            "cortical.p_value",
            "cortical.n_jerks",
            "cortical.latency_ms",
            "cortical.amplitude_uv",
            "cortical.channel",
            "cortical.reason",
            "cortical.burst_duration_ms_median",
            "cortical.burst_suggests_cortical",
        ),
        ALL,
        _cortical,
    ),
    Rule(
        "myoclonus_review",
        SRC_WAKE_ADULT,
        (
            "state.wake_fraction",
            "state.wake_count",
            "state.n_jerks",
            "state.waking.stops_on_waking",
            "cortical.transient_found",
            "cortical.p_value",
        ),
        ("adult", "child"),
        _adult_review,
    ),
    Rule(
        "jerks_in_wake",
        SRC_BSMI,
        (
            "state.wake_fraction",
            "state.wake_count",
            "state.waking.stops_on_waking",
            "state.waking.rate_before_per_min",
            "state.waking.rate_after_per_min",
            "state.rate_per_stage_h",
        ),
        ("infant",),
        _jerks_in_wake,
    ),
    Rule(
        "infantile_spasms_pattern",
        SRC_SPASM,
        (
            "state.spasm_clusters.on_awakening",
            "state.spasm_clusters.count",
            "state.spasm_clusters.median_spasms_per_cluster",
        ),
        ("infant",),
        _spasms,
    ),
    Rule(
        "rhythmic_eeg",
        SRC_RHYTHM,
        (
            "cortical.eeg_rhythm.found",
            "cortical.eeg_rhythm",
            "state.clusters.median_cv",
            "clusters.median_cv",
            "state.clusters.median_rate_hz",
            "clusters.median_rate_hz",
        ),
        ALL,
        _rhythm,
    ),
    Rule("rising_frequency", SRC_BSMI, ("jerks.index", "state.sleep_rate_h"), ("infant",), _rising),
    Rule(
        "bsmi_consistent",
        SRC_BSMI,
        (
            "state.clusters.median_rate_hz",
            "clusters.median_rate_hz",
            "state.clusters.count",
            "clusters.count",
            "state.wake_fraction",
            "state.wake_count",
            "state.waking.stops_on_waking",
            "cortical.transient_found",
            "state.spasm_clusters.on_awakening",
            "cortical.eeg_rhythm.found",
        ),
        ("infant",),
        _bsmi,
    ),
)
check_rule_inputs(RULES)  # an input that is no declared summary key fails here, at import


def _block(x: Any) -> dict[str, Any] | None:
    if x is None:
        return None
    return x.summary() if hasattr(x, "summary") else dict(x)


def interpret(
    summary: dict[str, Any],
    *,
    population: str = "adult",
    age_days: float | str | None = None,
    cortical: Any = None,
    state: Any = None,
    prior: Sequence[dict[str, Any]] | None = None,
    settings: Settings | None = None,
) -> list[Finding]:
    """Apply the rule table to a night's summary blocks; return the findings (rule-table order).

    summary : summary.json content or its blocks (``plm``, ``fragmentary_myoclonus``, ``jerks``,
        ``hypnic_jerks``, ``clusters``, ``rem_emg``; optional ``cortical``, ``state``).
    population : ``adult``, ``child``, ``infant`` or ``auto`` (from ``age_days``).
    age_days : age in days, or a text like ``"3m"`` (see :func:`parse_age`).
    cortical, state : :class:`CorticalResult` / :class:`StateResult` or their blocks (override
        the ones in ``summary``).
    prior : summaries of earlier nights, oldest first (for the rising-frequency rule).
    """
    settings = settings or get_settings()
    check_choice("population", population, POPULATION_CHOICES)
    age = parse_age(age_days)
    pop = population_for(age, settings=settings) if population == "auto" else population
    if population != "auto" and age is not None and population_for(age, settings=settings) != population:
        logger.info(
            "interpret: population %r given for age %.0f d (by age: %r); using %r",
            population,
            age,
            population_for(age, settings=settings),
            population,
        )
    merged = dict(summary)
    if cortical is not None:
        merged["cortical"] = _block(cortical)
    if state is not None:
        merged["state"] = _block(state)
    ctx = Context(
        summary=merged, population=pop, age_days=age, settings=settings, prior=[dict(p) for p in (prior or [])]
    )
    out = [f for f in (rule(ctx) for rule in RULES) if f is not None]
    logger.info("interpretation (%s): %s", pop, ", ".join(f"{f.id}[{f.level}]" for f in out) or "no findings")
    return out


def findings_block(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """The ``interpretation`` block of summary.json: one JSON-ready dict per finding."""
    return [f.to_dict() for f in findings]
