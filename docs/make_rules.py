"""Write docs/rules.md: the scoring rules as somnomyo implements them, with their sources.

The prose of each rule is kept here; the parameter tables are generated from
``somnomyo.settings.Settings.sources()`` for both presets (``wasm2016`` and ``aasm``), so the
document cannot drift from the code: ``tests/test_docs_rules.py`` fails when docs/rules.md is
not what this script writes. Run from the repository root after changing a setting::

    .venv/bin/python docs/make_rules.py            # rewrite docs/rules.md
    .venv/bin/python docs/make_rules.py --check    # exit 1 when docs/rules.md is out of date

Every settings parameter is placed in one section by ``PLACEMENT`` (settings group and name
prefix); a parameter that no entry places makes :func:`render` fail, so a new setting must be
given its section here.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RULES_MD = HERE / "rules.md"
STANDARD_NAMES = {"wasm2016": "WASM 2016", "aasm": "AASM"}


@dataclass(frozen=True)
class Section:
    """One section of docs/rules.md: its number (``"4"``, ``"4.1"``), title and prose (Markdown)."""

    number: str
    title: str
    prose: str


#: (settings group, name prefix, section number): the first entry that matches places a parameter.
PLACEMENT: tuple[tuple[str, str, str], ...] = (
    ("conditioning", "ecg_", "13"),
    ("conditioning", "", "1.1"),
    ("baseline", "", "1.2"),
    ("lm", "", "1.3"),
    ("clm", "", "2"),
    ("plm", "", "3"),
    ("respiratory", "", "4.1"),
    ("arousal", "", "4.2"),
    ("indices", "", "5"),
    ("myoclonus", "burst_", "6.1"),
    ("myoclonus", "fm_", "6.2"),
    ("myoclonus", "jerk_", "7"),
    ("myoclonus", "hypnic_", "8"),
    ("myoclonus", "cluster_", "9"),
    ("myoclonus", "nm_", "10"),
    ("myoclonus", "rem_", "11"),
    ("quality", "", "12"),
    ("staging", "", "14.1"),
    ("emg_wake", "", "14.2"),
    ("interpret", "jlba_", "15.1"),
    ("interpret", "burst_", "15.2"),
    ("interpret", "state_", "15.3"),
    ("interpret", "pop_", "15.4"),
    ("interpret", "plms_", "15.5"),
    ("interpret", "wake_", "15.6"),
    ("interpret", "bsmi_", "15.7"),
    ("interpret", "spasm_", "15.8"),
    ("interpret", "rhythm_", "15.9"),
    ("interpret", "rising_", "15.10"),
)

INTRO = """\
# Scoring rules, as somnomyo implements them

This document lists the rules somnomyo applies, grouped as the clinical standards group them,
with the source of every rule and every number. **It is generated** by `docs/make_rules.py` from
the prose in that script and from `somnomyo.settings.Settings.sources()`; do not edit it by hand
(`tests/test_docs_rules.py` fails when it is out of date).

Each parameter table shows the value in the two presets, `get_settings("wasm2016")` (the
default) and `get_settings("aasm")`, its unit and its source. A parameter is written
`group.name`, which is where it lives in `Settings` (`settings.plm.imi_min_s`); change one with
`dataclasses.replace` or `Settings.with_overrides(plm={"imi_min_s": 5.0})`. Every value used is
recorded in the `settings` block of `summary.json`.

**[UNCONFIRMED]** marks a value whose source could not be checked against the text of the
standard or paper (a number quoted from memory or from a secondary source), or an
implementation choice that no standard fixes: treat it as a default to verify, not as a
standard. "implementation" in a source means the value is this project's choice.

The references (WASM 2016, AASM, ICSD-3, MATPLM, papers) are listed in full in
[§16](#16-references). Sections are cited in the code as `docs/rules.md §N`.
"""

SECTIONS: tuple[Section, ...] = (
    Section(
        "1",
        "Leg-movement (LM) detection",
        """\
Leg movements are scored on surface EMG of the tibialis anterior muscles, both legs on separate
channels (AASM; WASM 2016). somnomyo conditions each leg EMG (§1.1), follows its resting level
with a noise-adaptive baseline (§1.2) and detects monolateral LMs with the amplitude and
duration rules that WASM 2016 and the AASM Manual share (§1.3). Code: `somnomyo.signal.filters`,
`somnomyo.signal.baseline`, `somnomyo.detect.leg_movements`.
""",
    ),
    Section(
        "1.1",
        "EMG recording and conditioning",
        """\
* **Band-pass** 10-100 Hz (AASM technical specifications for EMG **[UNCONFIRMED]** in the text of
  the manual), zero-phase Butterworth; the
  low-pass edge is kept below Nyquist for slowly sampled channels. MATPLM (`getInput2.m`) uses
  20 Hz to 0.45 x fs instead.
* **Sampling**: AASM asks for at least 200 Hz (500 Hz desirable) **[UNCONFIRMED]**; channels
  sampled too slowly for the EMG band (e.g. 1-Hz envelopes) are set aside and reported.
* **Mains hum** (50 or 60 Hz, detected from the spectrum when not given) is removed by
  subtracting a running sinusoid estimate of the hum and its harmonics; AASM allows a notch
  filter **[UNCONFIRMED]**. Only harmonics that stand out of the spectrum are fitted.
* **ECG artefact** is removed before detection (WASM 2016 recommends it): see §13.
* The **envelope** is the rectified, conditioned EMG smoothed over a short window.
""",
    ),
    Section(
        "1.2",
        "Noise-adaptive baseline",
        """\
WASM 2016 allows noise-adapted thresholds for computer scoring. The resting level follows the
reference implementation MATPLM (`dt_rev1.m`): at each time, the minimum over the last 60 s of
the maximum over the last 0.5 s of the 0.3-s moving mean of the envelope. The look-back maximum
keeps brief spikes (ECG residue) from pulling the level down; the look-back minimum ignores
bursts shorter than a minute and follows slow drifts. A baseline below the floor is replaced;
where the baseline exceeds `baseline.max_scorable_uv` (MATPLM: 15 µV) the stretch is
**unscorable** (reason `noisy_baseline`): no LM is scored there and the time leaves every
denominator. **Noise term** (optional, off by default: `baseline.noise_k = 0`; MATPLM `dt_rev1.m`,
Ferri et al., Sleep 2005, adds 5 x a moving variance-like term): k x the moving standard
deviation of the rectified EMG over `baseline.noise_window_s` is added to the moving mean before
the look-back filters. With `baseline.noise_applies_to = "offset"` only the **offset** rule uses
the raised level (a fluctuating background then no longer holds LM offsets up), while the +8 µV
onset, the amplitude and the morphology rule stay relative to the resting level as WASM 2016
words them; `"onset_and_offset"` is MATPLM's form (one baseline for every rule). The
`max_scorable_uv` rule looks at the level without the noise term, so the term never switches
detection off. Why it is off: on simulated nights it helped (offset form) or lost small LMs
(MATPLM's form), and on a real recording it cut an activation into pieces too short to score
(benchmarks/RESULTS.md, "LM baseline noise term").
""",
    ),
    Section(
        "1.3",
        "Single (monolateral) leg movement",
        """\
| Rule | WASM 2016 | AASM |
|---|---|---|
| Onset | EMG rises 8 µV above the resting baseline | same |
| Offset | start of a period of at least 0.5 s with EMG at most 2 µV above baseline | same |
| Minimum duration | 0.5 s | 0.5 s |
| Maximum duration | none (only LMs of 0.5-10 s can be CLMs, §2; longer ones break PLM series) | 10 s |
| Morphology (computer scoring) | a 0.5-s stretch with median >= 2 µV above baseline (MATPLM) | not used |

Sources: WASM 2016 (Ferri et al. 2016) and the side-by-side table of WASM 2016 and AASM v2.5 (T3);
AASM rules as quoted in the NSRR reading-centre manual; MATPLM `findIndices.m` (dips shorter
than the 0.5-s quiet period do not end an LM). LMs are scored in sleep and in wake (PLMS and
PLMW are reported apart). An LM that overlaps an unscorable stretch (noisy baseline, recording
gap, flat or clipped signal, §12) is dropped and the stretch acts as a break (§3).
""",
    ),
    Section(
        "2",
        "Candidate LMs (CLM) and bilateral combination",
        """\
* **WASM 2016** (`clm.bilateral_rule = "gap"`): LMs on the two legs are combined into one
  bilateral LM when they overlap or less than 0.5 s separates the offset of one from the onset
  of the next; a further LM within 0.5 s of the combined movement joins it (MATPLM
  `candidate_lms.m`). A **CLM** is a monolateral LM of 0.5-10 s or a bilateral LM of 0.5-15 s
  made of at most 4 monolateral LMs. A monolateral LM over 10 s, a bilateral LM over 15 s or of
  more than 4 LMs, or a bilateral LM containing a monolateral LM over 10 s is **not** a CLM: it
  still counts as an LM and breaks a PLM series (MATPLM break codes).
* **AASM** (`clm.bilateral_rule = "onset"`, rule B.4 as quoted in the NSRR manual): LMs on the
  two legs whose onsets are less than 5 s apart count as one LM; no 15-s or 4-LM limit. An
  event longer than 10 s is not an LM at all.
* A single channel recording both legs gives LMs that are treated as monolateral movements.

Sources: WASM 2016; AASM Manual v2.x; MATPLM (`maxdur`, `bmaxdur`, `maxcomb`). Code:
`somnomyo.score.clm`.
""",
    ),
    Section(
        "3",
        "PLM series",
        """\
* The inter-movement interval (**IMI**) is measured onset to onset between consecutive CLMs
  (WASM 2016 and AASM; MATPLM `getIMI`).
* A **PLM series** is at least 4 consecutive CLMs each separated by an IMI of 10-90 s (WASM
  2016) or 5-90 s (AASM).
* A series ends at an IMI over 90 s; at an IMI under the minimum (the CLM after the short IMI
  is a breakpoint: it is kept, not deleted, and IMIs are not recomputed; MATPLM `inlm = true`);
  at an LM that is not a CLM (WASM 2016, MATPLM; `plm.non_clm_breaks_series`); at an unscorable
  stretch; and, optionally, at a wake period longer than `plm.wake_breaks_series_after_s` (AASM:
  a wake period of at most 90 s does not break a series **[UNCONFIRMED]**).
* Whether a CLM after a short IMI may *start* a new series is not settled by the WASM 2016 text:
  MATPLM lets it (`plm.short_imi_may_start_series = True`) **[UNCONFIRMED]**.
* Respiratory-related CLMs (§4.1): the primary analysis removes them and recomputes the IMIs
  (MATPLM `CLMnr`, `PLMnr`); the secondary analysis keeps them. WASM 2016 asks for both.

Code: `somnomyo.score.series`.
""",
    ),
    Section(
        "4",
        "Association with respiratory events and arousals",
        """\
Respiratory events and arousals are read from the annotations; somnomyo does not score them.
Code: `somnomyo.score.associations`.
""",
    ),
    Section(
        "4.1",
        "Respiratory-related LMs",
        """\
* **WASM 2016** (`respiratory.anchor = "end"`): a CLM is respiratory-related when any part of it
  overlaps the window from 2.0 s before to 10.25 s after the **end** of an apnea or hypopnea
  (WASM 2016 table; MATPLM `lb1 = 2`, `ub1 = 10.25`). WASM 2016 asks that PLM be reported both
  with and without respiratory-related LMs.
* **AASM** (`respiratory.anchor = "event"`): an LM is not scored when it occurs from 0.5 s before
  the onset to 0.5 s after the end of an apnea, hypopnea, RERA or other sleep-disordered
  breathing event (AASM Manual v2.x as quoted in the NSRR manual).
* somnomyo flags such movements `respiratory`; the primary analysis leaves them out of the PLM
  series and indices, the secondary analysis keeps them (§3, §5).
""",
    ),
    Section(
        "4.2",
        "LM-arousal association",
        """\
An LM and an arousal are associated when they overlap or when less than 0.5 s separates the end
of one from the onset of the other, whichever comes first (WASM 2016 and AASM; MATPLM
`lb2 = ub2 = 0.5`). Ferri et al. 2015 found 98.4% of PLMS-arousal pairs within 0.5 s.
""",
    ),
    Section(
        "5",
        "Indices, IMI histogram and periodicity",
        """\
* Time in bed runs from lights-off to lights-on when both are annotated, else over the whole
  recording; time outside it and unscorable time leave every denominator (WASM 2016 asks that
  artefact time be excluded from the time used for indices).
* **PLMS index** = periodic CLMs in sleep per hour of scorable total sleep time; the primary
  analysis excludes respiratory-related CLMs (§4.1). **PLMS-arousal index** = PLMS associated
  with an arousal per hour of sleep. **PLMW index** = periodic CLMs in wake per hour of wake:
  WASM 2016 uses wake within the sleep period (`indices.plmw_denominator = "waso"`)
  **[UNCONFIRMED]**, or all wake in bed (`"wake"`).
* Also reported (WASM 2016): LM and CLM counts and indices, the short-IMI count (IMI under the
  PLM minimum), isolated CLMs, respiratory-related LMs, and indices by stage and by hour of
  sleep. An index whose denominator is 0 is null.
* **IMI histogram** (Ferri 2006): 2-s bins from 0 to 90 s, longer IMIs lumped **[UNCONFIRMED
  bin width]**; a log-scaled histogram as in Ferri's later papers.
* **Periodicity index** (Ferri 2006): the IMIs that belong to a run of at least 3 consecutive
  IMIs each of 10-90 s, divided by all IMIs (0-1) **[UNCONFIRMED definition]**. In RLS with
  PLMS over 15/h it is about 0.86 (Shin et al., J Clin Sleep Med 2016).

Code: `somnomyo.score.indices`.
""",
    ),
    Section(
        "6",
        "Fragmentary myoclonus and excessive fragmentary myoclonus (EFM)",
        """\
Brief potentials are found on every EMG channel (§6.1) and scored as fragmentary-myoclonus (FM)
potentials (§6.2). Code: `somnomyo.detect.bursts`, `somnomyo.detect.fragmentary`.
""",
    ),
    Section(
        "6.1",
        "Brief-burst detection",
        """\
A burst is a stretch where the short-window envelope of the conditioned EMG exceeds a multiple of
the channel's robust background (a rolling median of block medians). The multiple follows the
AASM phasic REM rule (at least 4 x background) by analogy; all values here are implementation
choices.
""",
    ),
    Section(
        "6.2",
        "FM potentials and the AASM EFM rule",
        """\
* **AASM EFM** (optional rule, AASM Manual v2.x, as summarised by ATS Quick Hits, Cohen &
  Walters): EMG potentials of at most 150 ms, at least 5 per minute, sustained for at least 20
  minutes of NREM sleep, in any muscle; potentials are typically 50 to a few hundred µV.
  Whether the 20 minutes must be consecutive is not said (`myoclonus.fm_efm_mode`, default
  cumulative) **[UNCONFIRMED]**.
* **Research FM potential** (Lins et al.; Frauscher et al., Sleep 2014;
  `myoclonus.fm_definition = "research"`): 75-150 ms, over 50 µV, multifocal and asynchronous.
* **FM index** = potentials per hour, by stage (Frauscher 2014: healthy sleepers median 25.3/h).
* **How tall** (implementation choices, **[UNCONFIRMED]**): a potential's amplitude (envelope
  peak above the channel's background) is at least `myoclonus.fm_min_amplitude_uv` (20 µV) and
  at least `myoclonus.fm_min_background_ratio` (8) x its background; a brief potential that the
  15-ms envelope and the 100-Hz conditioning band lower below 20 µV still counts from
  `myoclonus.fm_clear_min_amplitude_uv` (10 µV) where it stands `fm_clear_background_ratio`
  (15) x above its background. The ratio sets aside crossings of a fluctuating or textured
  background, which stand 3-6 x above it where FM potentials stand 25-70 x (simulated nights,
  benchmarks/RESULTS.md, "Fragmentary myoclonus amplitude").
* Not FM (implementation choices): potentials near an ECG R peak whose burst recurs at the same
  latency after the neighbouring beats (cardiac artefact, after MATPLM `removeEKG.m`); potentials
  above 1 mV (electrode pops); bursts within the 0.5-s LM offset period of a leg movement (they
  belong to it, WASM 2016/AASM); bursts that are part of a multi-muscle jerk (§7). Each burst is
  counted once.
""",
    ),
    Section(
        "7",
        "Myoclonic jerks",
        """\
Myoclonic EMG bursts last from about 10-50 ms (cortical; Hallett 1979) to a few hundred ms
(subcortical or spinal **[UNCONFIRMED]**); a burst of 0.5 s or more is a leg movement (WASM
2016/AASM LM minimum duration), so a jerk burst lasts from `myoclonus.jerk_min_duration_s` up to
0.5 s. Bursts on different muscles starting within 100 ms of the first are one jerk
(implementation). A jerk involves at least 2 muscles, or is a single-muscle burst longer than the
FM maximum of 150 ms: a shorter single-muscle burst meets the AASM FM definition (§6.2) and is
scored as FM. Extent: *focal* (one muscle), *generalized* (left and right limbs and an axial
muscle, and arm and leg when both are recorded), *multifocal* (several muscles, not
generalized). Arousal association uses the LM-arousal rule (§4.2). Code: `somnomyo.detect.jerks`.
""",
    ),
    Section(
        "8",
        "Hypnic jerks (sleep starts)",
        """\
ICSD-3 lists sleep starts among isolated symptoms and normal variants: brief, simultaneous
contractions of the body or of one or more segments at sleep onset (the wake-N1 transition),
usually single, non-propagating and not repetitive in series. Implementation: a sleep onset is the
first N1 or N2 epoch after at least one W epoch; the transition window runs from one 30-s epoch
before to two epochs after it; a hypnic jerk is a jerk (§7) in that window, in W or N1, on at
least 2 muscles, one of them a limb. Hypnic jerks are left out of the myoclonic-jerk index.
Code: `somnomyo.detect.hypnic`.
""",
    ),
    Section(
        "9",
        "Clusters and series of jerks",
        """\
* **Myoclonic clusters** (`myoclonus.cluster_mode = "myoclonic"`): benign sleep myoclonus of
  infancy (BSMI; ICSD-3) shows repetitive jerks in clusters at 1-5 Hz (Fernandez-Alvarez; 2-3 per
  second, MedLink) over several seconds. Consecutive jerk onsets at most
  `myoclonus.cluster_max_interval_s` apart chain into a series **[UNCONFIRMED]**.
* **Spasm series** (`"spasm"`): epileptic spasms come in clusters, one every 5-30 s (ILAE)
  **[UNCONFIRMED interval]**.
* A series of at least 3 jerks is a cluster **[UNCONFIRMED]**; per cluster: rate (1 / median
  interval), CV of the intervals (rhythmicity) and the spectral peak of the jerk train.

Code: `somnomyo.detect.clusters`.
""",
    ),
    Section(
        "10",
        "Negative myoclonus",
        """\
Negative myoclonus is a brief, sudden interruption of tonic EMG activity (a silent period) not
preceded by a positive jerk (Rubboli & Tassinari 2006; Tassinari 1995). Silent periods of
50-500 ms are reported in bins of 50-69, 70-100 and 101-500 ms (wearable monitoring of positive
and negative myoclonus in EPM1, Clin Neurophysiol 2023). It needs sustained tonic activity, so it
is looked for on chin and arm EMG, in W and N1 when a hypnogram is given (physiological negative
myoclonus occurs at sleep onset). The tonic level, the depth and edges of a silence, the recovery
after it and the no-jerk-before-it test are implementation choices. Code:
`somnomyo.detect.negative`.
""",
    ),
    Section(
        "11",
        "REM-sleep EMG: phasic and tonic activity (RSWA)",
        """\
* **AASM phasic (excessive transient) activity**: a 30-s REM epoch is split into ten 3-s
  mini-epochs; the epoch is phasic when at least 5 of 10 mini-epochs contain bursts of 0.1-5.0 s
  with amplitude at least 4 x background (AASM Manual v2.x, French translation by the SFRMS).
* **AASM tonic (sustained) activity**: at least 50% of the epoch with chin EMG greater than the
  minimum amplitude in NREM **[UNCONFIRMED wording]**.
* **SINBAR** (Frauscher et al., Sleep 2012): "any" mentalis activity in 3-s mini-epochs at least
  18%, or "any" mentalis plus phasic bilateral flexor digitorum superficialis at least 32%, at
  100% specificity for RBD; "any" = phasic in the mini-epoch or the epoch tonic.
* Gaps under 0.25 s inside activity are bridged (RBDtector, Röthenbacher et al. 2022).
* The REM background is a low percentile of the REM envelope; the NREM minimum is the lowest
  median envelope of a NREM epoch (implementation). Only scorable REM epochs are evaluated.

Code: `somnomyo.detect.rem_phasic`.
""",
    ),
    Section(
        "12",
        "Signal quality",
        """\
Each EMG channel is checked in short windows for a **flat** or disconnected signal, **clipping**
at the amplifier's rails, **mains** interference (the 50/60 Hz band holding most of the 10-100 Hz
power), **ECG** contamination (periodic peaks 0.4-2 Hz apart) and **gaps** (EDF+D
discontinuities, missing samples); a whole-channel check warns about µV/V/nV mix-ups. Flat,
clipped and gap time is unscorable and leaves the denominators of the indices (WASM 2016 asks
that artefact time be excluded); mains time only when `quality.mains_unscorable`. Every threshold
is an implementation choice **[UNCONFIRMED]**; only the 10-100 Hz EMG band and the 10-Hz
high-pass come from the AASM. Code: `somnomyo.signal.quality`.
""",
    ),
    Section(
        "13",
        "ECG artefact in EMG",
        """\
WASM 2016 recommends removing ECG artefact before computer scoring. The reference
implementation (MATPLM `removeEKG.m`) finds heart-like periodic spikes in 30-s windows (more than
20 peaks at least 150 ms apart, more than 20% of the intervals 0.7-1.3 s) and blanks +-0.1 s
around each. somnomyo finds the R peaks in an ECG channel (band-pass, refractory period,
adaptive threshold) or, without one, the heart-like spikes in the EMG itself with the MATPLM
criteria, and **subtracts** a local median QRS template from each beat instead of blanking, so
EMG activity that overlaps a heartbeat is kept.

Heart rates depend on age (Fleming et al., Lancet 2011): for a child or an infant
(`Settings.for_population`), `conditioning.ecg_self_rr_child_s` or `ecg_self_rr_infant_s`
replace the adult heart-like intervals `ecg_self_rr_min_s`-`ecg_self_rr_max_s` when ECG is looked
for in the EMG. That window is a prior, not a requirement (implementation beyond MATPLM, whose
fixed 0.7-1.3 s misses hearts above ~86 bpm): each window's heart period is estimated from the
autocorrelation of the EMG's QRS envelope (`conditioning.ecg_self_estimate_period`, 40-220 bpm),
and the heart-like intervals are taken around it (within `ecg_self_rr_tolerance`, with beats all
through the window: `ecg_self_min_beat_fraction`); where the window's own estimate finds no heart
(an LM or EMG burst in it spoils the autocorrelation), the median of the estimates of
`ecg_self_period_neighbours` windows on each side is tried, then the prior **[UNCONFIRMED]**
(benchmarks/RESULTS.md, "Fast heart without an ECG channel"). Code: `somnomyo.signal.ecg`.
""",
    ),
    Section(
        "14",
        "Sleep staging without a hypnogram",
        """\
Sleep-stage denominators (total sleep time, wake) come from the hypnogram given with the
recording. Without one, `somnomyo score --stages auto` stages the night (§14.1), or, without a
usable EEG, estimates wake and sleep roughly from EMG (§14.2); the summary says which
(`stages.source`). Code: `somnomyo.stage`.
""",
    ),
    Section(
        "14.1",
        "Automatic staging (YASA)",
        """\
YASA's pre-trained classifier (Vallat & Walker, eLife 2021;10:e70092; LightGBM trained on about
3000 NSRR nights scored to AASM rules) runs on one EEG (a central EEG referenced to the
contralateral mastoid preferred), with one EOG and the chin EMG when present, resampled to
100 Hz, in 30-s epochs (the AASM epoch). Epochs whose top probability is low are flagged; the
stage is kept.
""",
    ),
    Section(
        "14.2",
        "Rough EMG wake/sleep estimate",
        """\
Not sleep staging: each chin/leg EMG is band-passed (§1.1), its RMS taken in short windows and
compared with its resting level (a low percentile of the night); an epoch is W when the most
active channel is active for more than half of it (the AASM epoch rule: an epoch takes the state
that occupies most of it), else sleep (labelled N2). A leg movement (0.5-10 s) thus never makes a
sleep epoch wake on its own. All values are implementation choices **[UNCONFIRMED]**.
""",
    ),
    Section(
        "15",
        "Interpretation",
        """\
The interpretation layer tests whether jerks look cortical (§15.1, §15.2), how they depend on
the sleep-wake state (§15.3), and turns the summary blocks into findings with a rule table
(§15.11) whose thresholds depend on the population (§15.4). Findings describe; they do not
diagnose. Code: `somnomyo.interpret`.
""",
    ),
    Section(
        "15.1",
        "Jerk-locked back-averaging (JLBA)",
        """\
The EEG is averaged around the onsets of the EMG bursts of the jerks; at least 50
artefact-free jerks are needed, typically 50-200 (Latorre et al. 2023). A cortical premyoclonic
spike peaks about 20 ms before the EMG onset for hand muscles (Shibasaki, J Clin Neurophysiol
1992), later for leg muscles (about 30-40 ms **[UNCONFIRMED]**); the usual window is -200 to
+100 ms **[UNCONFIRMED]**. No consensus fixes the significance test: somnomyo compares the
pre-jerk average with stage-matched random triggers away from every true jerk (at least 1000
surrogates), standardised per channel, family-wise over channels through the maximum statistic.
No premyoclonic potential is expected in BSMI, propriospinal myoclonus, PLMS or hypnic jerks.
""",
    ),
    Section(
        "15.2",
        "EMG burst duration",
        """\
Cortical myoclonus bursts last 10-50 ms (Hallett 1979); a median burst duration under 45 ms with
at least 10 bursts separates cortical from non-cortical myoclonus (sensitivity 100%,
specificity 89.5%; van der Veen et al. 2024, from a secondary summary). The classic 100-ms
cut-off is reported but is not validated (MDS Congress abstract) **[UNCONFIRMED]**.
""",
    ),
    Section(
        "15.3",
        "State dependence",
        """\
BSMI jerks occur only in sleep and stop abruptly and consistently when the infant is aroused
(ICSD-3 criteria C and D); rocking, sound or restraint can evoke them (Maurer et al. 2010). The
jerk rate is compared before and after each arousal and awakening, and after stimulus markers and
position changes; the windows and ratios are implementation choices.
""",
    ),
    Section(
        "15.4",
        "Populations",
        """\
Thresholds depend on the population: `adult`, `child` (under 18 years; ICSD-3 paediatric PLMS
threshold) and `infant` (under 2 years: BSMI versus features that warrant review). With
`population="auto"` it follows from the age; without an age it is `adult`.
""",
    ),
    Section(
        "15.5",
        "PLMS range (PLMD)",
        """\
ICSD-3 periodic limb movement disorder needs a PLMS index over 15/h in adults or over 5/h in
children, with clinically significant sleep disturbance and no better explanation (RLS,
narcolepsy, untreated OSA and RBD exclude the diagnosis; Stefani & Högl 2019). somnomyo reports
where the index lies; it does not diagnose PLMD.
""",
    ),
    Section(
        "15.6",
        "Jerks in wakefulness",
        """\
Myoclonus mostly in wakefulness in an adult or child, or jerks with a cortical transient, warrant
review. In an infant, BSMI jerks occur only in sleep (ICSD-3); a small fraction in W is
tolerated for staging and detection error (implementation).
""",
    ),
    Section(
        "15.7",
        "Benign sleep myoclonus of infancy (BSMI)",
        """\
ICSD-3: repetitive myoclonic jerks in early infancy, typically from birth to 6 months, only during
sleep, stopping when the infant is aroused, with a normal EEG (Di Capua et al. 1993) and no other
explanation. Onset in the first days of life (day 1-16, median 3 days); 95% resolved before
6 months (Maurer et al. 2010). Jerks come in clusters at 1-5 Hz (§9).
""",
    ),
    Section(
        "15.8",
        "Epileptic (infantile) spasms",
        """\
ILAE: contractions of 0.5-2 s, in clusters on or after awakening, one spasm every 5-30 s
**[UNCONFIRMED interval]**, typically starting at 3-12 months of age.
""",
    ),
    Section(
        "15.9",
        "Rhythmic jerking with an EEG rhythm",
        """\
Clonic seizures are rhythmic (1-3 Hz) with an EEG discharge; BSMI has a normal EEG (Di Capua et
al. 1993). Tested as EEG power at the cluster jerk rate during clusters versus just before them,
and rhythmicity as the CV of the inter-jerk intervals (implementation choices).
""",
    ),
    Section(
        "15.10",
        "Rising frequency across nights",
        """\
Comparing nights (`somnomyo compare`): a jerk index that rises every night warrants review in an
infant (BSMI resolves over weeks to months; Maurer et al. 2010); the factor is an implementation
choice.
""",
    ),
)

RULE_TABLE_SECTION = Section(
    "15.11",
    "The interpretation rule table",
    """\
Each rule reads summary keys (its `inputs`, documented in docs/summary.md), applies to some
populations and cites its source (`somnomyo.interpret.rules.RULES`; the citation is copied into each finding's
`source` in `summary.json`):
""",
)

REFERENCES = """\
## 16. References

* **WASM 2016** (also cited as W16): Ferri R, Fulda S, Allen RP, et al. World Association of
  Sleep Medicine (WASM) 2016 standards for recording and scoring leg movements in
  polysomnograms developed by a joint task force from the International and the European
  Restless Legs Syndrome Study Groups (IRLSSG and EURLSSG). Sleep Med 2016;26:86-95.
* **T3**: the side-by-side table of the AASM Manual v2.5 (Berry 2018) and WASM 2016 movement
  rules, https://pmc.ncbi.nlm.nih.gov/articles/PMC9619152/table/t0015
* **AASM**: Berry RB, et al. The AASM Manual for the Scoring of Sleep and Associated Events:
  Rules, Terminology and Technical Specifications, version 2.x (v2.5, 2018). American Academy of
  Sleep Medicine. Movement rules as quoted in the NSRR polysomnography reading-centre manual
  (`nsrr/chat-documentation`, "scoring periodic leg movements").
* **ICSD-3**: American Academy of Sleep Medicine. International Classification of Sleep
  Disorders, 3rd ed., 2014 (and ICSD-3-TR, 2023).
* **MATPLM**: the WASM 2016 reference implementation of the Johns Hopkins RLS laboratory,
  https://github.com/rlslabgit/MATPLM (`getInput2.m`, `candidate_lms.m`, `periodic_lms.m`,
  `dt_rev1.m`, `findIndices.m`, `cutLowMedian.m`, `removeEKG.m`).
* **WASM 2006**: Zucconi M, et al. The official World Association of Sleep Medicine (WASM)
  standards for recording and scoring periodic leg movements in sleep. Sleep Med 2006;7:175-183.
* **Ferri 2006**: Ferri R, Zucconi M, Manconi M, et al. New approaches to the study of periodic
  leg movements during sleep in restless legs syndrome. Sleep 2006;29:759-769.
* **Ferri 2015**: Ferri R, et al. Timing of PLMS and arousals (PMC4434558).
* **Shin 2016**: Shin JW, et al. Periodicity index in Korean RLS patients. J Clin Sleep Med 2016
  (PMC4957186).
* **Frauscher 2012 (SINBAR)**: Frauscher B, Iranzo A, Gaig C, et al. Normative EMG values during
  REM sleep for the diagnosis of REM sleep behavior disorder. Sleep 2012;35:835-847.
* **Frauscher 2014**: Frauscher B, et al. Motor events during healthy sleep: a quantitative
  polysomnographic study. Sleep 2014.
* **Lins et al.**: Assessment of fragmentary myoclonus in healthy sleepers (75-150 ms, > 50 µV).
* **ATS Quick Hits**: Cohen & Walters, Excessive fragmentary myoclonus (American Thoracic
  Society), summarising the AASM EFM rule.
* **RBDtector**: Röthenbacher A, et al. RBDtector: an open-source software to detect REM sleep
  without atonia according to visual scoring criteria. Sci Rep 2022.
* **Hallett 1979**: Hallett M, Chadwick D, Marsden CD. Cortical reflex myoclonus. Neurology 1979
  (EMG burst durations).
* **van der Veen 2024**: van der Veen S, et al. EMG burst duration in cortical and non-cortical
  myoclonus (45-ms cut-off; secondary summary).
* **Shibasaki 1992**: Shibasaki H. Premyoclonic cortical spikes; J Clin Neurophysiol 1992
  (PubMed 1464676).
* **Latorre 2023**: Latorre A, et al. Jerk-locked back-averaging in clinical practice (50-200
  jerks).
* **Rubboli & Tassinari 2006**: negative myoclonus, an overview of its clinical features,
  pathophysiological mechanisms and management (PubMed 17336779); Tassinari CA, et al. 1995.
* **Clin Neurophysiol 2023**: wearable monitoring of positive and negative myoclonus in
  progressive myoclonic epilepsy type 1 (PubMed 37952446).
* **Maurer 2010**: Maurer VO, et al. Benign neonatal sleep myoclonus: a review of the literature.
  Pediatrics 2010 (164 infants).
* **Di Capua 1993**: Di Capua M, et al. Benign neonatal sleep myoclonus: clinical features and
  video-polygraphic recordings. Mov Disord 1993;8:191-194.
* **Fernandez-Alvarez**: Fernandez-Alvarez E, Aicardi J. Movement disorders in children
  (benign neonatal sleep myoclonus: clusters at 1-5 Hz).
* **MedLink**: MedLink Neurology, benign sleep myoclonus of infancy (jerks at 2-3 per second).
* **ILAE**: International League Against Epilepsy, epileptic spasms,
  https://www.epilepsydiagnosis.org
* **SFRMS**: Société Française de Recherche et Médecine du Sommeil, French translation of the AASM
  rule for excessive transient (phasic) REM activity, https://sfrms-app.fr
* **Stefani & Högl 2019**: Stefani A, Högl B. Diagnostic criteria, differential diagnosis and
  treatment of minor motor activity and less well-known movement disorders of sleep (PubMed
  30661130).
* **Vallat & Walker 2021**: Vallat R, Walker MP. An open-source, high-performance tool for
  automated sleep staging. eLife 2021;10:e70092.
* **Fleming 2011**: Fleming S, et al. Normal ranges of heart rate and respiratory rate in
  children from birth to 18 years of age. Lancet 2011;377:1011-1018.
"""


# ------------------------------------------------------------------------------ tables


def format_value(value: Any) -> str:
    """A parameter value as printed in the tables (before the backticks)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(format_value(v) for v in value) + ")"
    return repr(value)


def format_source(row: dict[str, Any]) -> str:
    """The source column: the field's source, [UNCONFIRMED] first when so flagged."""
    text = " ".join(str(row["source"]).split()).replace("|", "\\|")
    return f"**[UNCONFIRMED]** {text}" if row["unconfirmed"] else text


def section_of(group: str, name: str) -> str:
    """The section number of parameter ``group.name`` (``PLACEMENT``); ValueError when none."""
    for g, prefix, number in PLACEMENT:
        if g == group and name.startswith(prefix):
            return number
    raise ValueError(f"docs/make_rules.py: no section for settings parameter {group}.{name}; add it to PLACEMENT")


def parameter_rows() -> dict[str, list[dict[str, Any]]]:
    """Rows of ``Settings.sources()`` by section, each with the value of every preset."""
    from somnomyo.settings import STANDARDS, get_settings

    presets = {standard: get_settings(standard).sources() for standard in STANDARDS}
    base = presets[STANDARDS[0]]
    by_section: dict[str, list[dict[str, Any]]] = {}
    for i, row in enumerate(base):
        values = {standard: rows[i]["value"] for standard, rows in presets.items()}
        by_section.setdefault(section_of(row["group"], row["name"]), []).append({**row, "values": values})
    return by_section


def table(rows: list[dict[str, Any]]) -> str:
    """The Markdown parameter table of one section."""
    from somnomyo.settings import STANDARDS

    head = "| Parameter | " + " | ".join(STANDARD_NAMES.get(s, s) for s in STANDARDS) + " | Unit | Source |"
    lines = [head, "|---|" + "---|" * len(STANDARDS) + "---|---|"]
    for r in rows:
        values = " | ".join(f"`{format_value(r['values'][s])}`" for s in STANDARDS)
        lines.append(f"| `{r['group']}.{r['name']}` | {values} | {r['unit']} | {format_source(r)} |")
    return "\n".join(lines) + "\n"


def rule_table() -> str:
    """The interpretation rules (``somnomyo.interpret.rules.RULES``): id, populations, source."""
    from somnomyo.interpret.rules import RULES

    lines = ["| Rule | Populations | Source |", "|---|---|---|"]
    for rule in RULES:
        pops = ", ".join(getattr(rule, "populations", ()))
        source = " ".join(str(getattr(rule, "source", "")).split()).replace("|", "\\|")
        lines.append(f"| `{rule.id}` | {pops} | {source} |")
    return "\n".join(lines) + "\n"


def anchor(section: Section) -> str:
    """The GitHub anchor of a section heading."""
    text = f"{section.number} {section.title}".lower()
    return "".join(c for c in text.replace(" ", "-") if c.isalnum() or c in "-_")


def render() -> str:
    """The full text of docs/rules.md."""
    rows = parameter_rows()
    known = {s.number for s in SECTIONS}
    unknown = sorted(set(rows) - known)
    if unknown:
        raise ValueError(f"docs/make_rules.py: PLACEMENT names sections that do not exist: {unknown}")
    parts = [
        INTRO,
        "## Contents\n\n"
        + "".join(
            f"{'  ' * s.number.count('.')}* [§{s.number} {s.title}](#{anchor(s)})\n"
            for s in SECTIONS + (RULE_TABLE_SECTION,)
        )
        + "* [§16 References](#16-references)\n",
    ]
    for s in SECTIONS + (RULE_TABLE_SECTION,):
        hashes = "#" * (2 + s.number.count("."))
        parts.append(f"{hashes} {s.number}. {s.title}\n\n{s.prose}")
        if s.number in rows:
            parts.append(table(rows[s.number]))
        if s is RULE_TABLE_SECTION:
            parts.append(rule_table())
    parts.append(REFERENCES)
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when docs/rules.md is out of date")
    args = ap.parse_args(argv)
    text = render()
    if args.check:
        same = RULES_MD.exists() and RULES_MD.read_text(encoding="utf-8") == text
        print("docs/rules.md is up to date" if same else "docs/rules.md is out of date: run docs/make_rules.py")
        return 0 if same else 1
    RULES_MD.write_text(text, encoding="utf-8")
    print(f"wrote {RULES_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
