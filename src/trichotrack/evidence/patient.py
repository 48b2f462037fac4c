"""Per-patient analysis: baseline, measurement error, change at each follow-up, and what else explains it.

One patient's numbers cannot show that a treatment worked. What they can show is whether a change is larger
than the measurement error, and what else could have produced it (reference §4):

- acute shedding (telogen effluvium) resolves by itself within 3–6 months;
- patients come at their worst, so a value taken at a peak falls back without treatment;
- surgery, the liposuction of the fat harvest included, can itself trigger shedding 1–6 months later;
- shedding is seasonal;
- another treatment, a different shampoo interval or a change of hair length or colour changes the counts.

Method
------
Measurements of one kind are averaged per day (repeats on one day do not reduce day-to-day variation). Days on
or before the index date are the baseline; its value is the mean of its days. The standard error of
measurement (SEM, the error of one day's value) is the largest of those available:

``baseline_repeats``
    SD of the baseline days (needs ≥ 2 days, with degrees of freedom ``days - 1``);
``test_retest_sd``
    a known test–retest SD supplied by the caller;
``measurement_intervals``
    root mean square of the SDs implied by each measurement's own interval (``low`` .. ``high`` at
    ``interval_level``), e.g. the count interval of a shed-hair photo: counting error only;
``poisson_floor``
    for counts of shed hairs, ``√baseline``: the chance variation of a count.

``MDC95 = 1.96 · √2 · SEM``. The change at a follow-up day has the standard error ``SEM · √(1/k + 1)`` for a
baseline of k days, and a 95 % interval from the t distribution with ``k - 1`` degrees of freedom when the
SEM comes from the baseline days, otherwise from the normal distribution. A change is called larger than
the measurement error only when it exceeds the MDC95 *and* its interval excludes zero.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import stats

from trichotrack.evidence.caveats import Caveat
from trichotrack.evidence.intervals import LEVEL, Z95, mdc95, sd_from_interval
from trichotrack.evidence.records import KINDS, KindInfo, Measurement, PatientRecord

__all__ = [
    "ALGORITHM",
    "VERDICTS",
    "VERSION",
    "Baseline",
    "FollowUpChange",
    "MeasurementError",
    "PatientAnalysis",
    "analyze_patient",
]

ALGORITHM = "trichotrack.evidence.patient"
VERSION = "1.0"

#: Verdict of one follow-up, and the words each one is allowed to use.
VERDICTS = {
    "no_change_beyond_error": "no change beyond measurement error",
    "decrease_beyond_error": "a decrease larger than the measurement error",
    "increase_beyond_error": "an increase larger than the measurement error",
    "error_unknown": "the measurement error is unknown, so this change cannot be told apart from it",
    "no_baseline": "no baseline, so no change can be computed",
}

#: Hair-loss trials read out at 16–24 weeks or later (reference §4).
EARLY_FOLLOWUP_DAYS = 16 * 7
#: Shedding after surgery or another trigger starts 1–6 months later, usually 2–3 (reference §4).
TRIGGER_WINDOW_DAYS = (30, 183)
#: Acute telogen effluvium lasts under 6 months; chronic from 6 months on (reference §4).
ACUTE_SHEDDING_DAYS = 183
#: Before and after more than this far apart in the calendar year count as different seasons.
SEASON_TOLERANCE_DAYS = 45
#: A treatment started this long before the first baseline day is still counted as newly started.
CONCURRENT_LOOKBACK_DAYS = 183

_YEAR_DAYS = 365.2425
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True)
class Baseline:
    """The patient's baseline.

    Attributes
    ----------
    value : float
        Mean of the baseline days' values.
    n_days : int
    dates : tuple of datetime.date
    day_values : tuple of float
        Each baseline day's value (the mean of that day's measurements).
    sd_between_days : float or None
        SD of `day_values` (None with fewer than 2 days).
    """

    value: float
    n_days: int
    dates: tuple[dt.date, ...]
    day_values: tuple[float, ...]
    sd_between_days: float | None


@dataclass(frozen=True)
class MeasurementError:
    """The error of one day's value.

    Attributes
    ----------
    sem : float
        Standard error of measurement, in the measurement's unit.
    source : str
        Which estimate was used: ``"baseline_repeats"``, ``"test_retest_sd"``, ``"measurement_intervals"``
        or ``"poisson_floor"`` (the largest available).
    df : int or None
        Degrees of freedom when the SEM comes from the baseline days; None when it is taken as known.
    candidates : dict of str to float
        Every estimate that was available.
    mdc95 : float
        ``1.96 · √2 · sem``.
    """

    sem: float
    source: str
    df: int | None
    candidates: dict = field(hash=False)
    mdc95: float


@dataclass(frozen=True)
class FollowUpChange:
    """The change at one follow-up day.

    Attributes
    ----------
    date : datetime.date
    days_after_index : int
    value : float
        The day's value (mean of that day's measurements).
    n_measurements : int
    change : float or None
        ``value - baseline``; None without a baseline.
    low, high : float or None
        95 % interval of the change; None when the measurement error is unknown.
    percent_change : float or None
        Relative to the baseline; None without a baseline or with a baseline of 0.
    verdict : str
        One of `VERDICTS`.
    sentence : str
        The plain-language statement, never stronger than the verdict.
    warnings : tuple of Caveat
        Warnings that concern this follow-up (season, surgery, protocol, other treatments, timing).
    """

    date: dt.date
    days_after_index: int
    value: float
    n_measurements: int
    change: float | None
    low: float | None
    high: float | None
    percent_change: float | None
    verdict: str
    sentence: str
    warnings: tuple[Caveat, ...]


@dataclass(frozen=True)
class PatientAnalysis:
    """What `analyze_patient` found.

    Attributes
    ----------
    patient_id, group, kind, label, unit : str
        `unit` is None when the patient has no measurement of `kind`.
    higher_is_better : bool
    index_date : datetime.date
    baseline : Baseline or None
    error : MeasurementError or None
    followups : tuple of FollowUpChange
        In date order.
    warnings : tuple of Caveat
        Warnings about the patient as a whole; each follow-up carries its own as well (see `all_warnings`).
    summary : str
        One paragraph: the latest follow-up's sentence, or why there is none.
    algorithm, version : str
    params : dict
    """

    patient_id: str
    group: str
    kind: str
    label: str
    unit: str | None
    higher_is_better: bool
    index_date: dt.date
    baseline: Baseline | None
    error: MeasurementError | None
    followups: tuple[FollowUpChange, ...]
    warnings: tuple[Caveat, ...]
    summary: str
    algorithm: str = ALGORITHM
    version: str = VERSION
    params: dict = field(default_factory=dict, hash=False)

    def all_warnings(self) -> tuple[Caveat, ...]:
        """The patient's warnings and those of every follow-up, each (code, message) once."""
        seen, out = set(), []
        for caveat in (*self.warnings, *(w for f in self.followups for w in f.warnings)):
            if (caveat.code, caveat.message) not in seen:
                seen.add((caveat.code, caveat.message))
                out.append(caveat)
        return tuple(out)


@dataclass(frozen=True)
class _Day:
    date: dt.date
    value: float
    measurements: tuple[Measurement, ...]


# ----------------------------------------------------------------------------------------------- helpers


def _num(x: float) -> str:
    """A number for a sentence: 3 significant figures or whole numbers, ASCII minus."""
    if x == 0:
        return "0"
    ax = abs(x)
    if ax >= 100:
        text = f"{x:.0f}"
    elif ax >= 10:
        text = f"{x:.1f}"
    else:
        text = f"{x:.2f}"
    return "0" if text in ("-0", "-0.0", "-0.00") else text


def _signed(x: float) -> str:
    text = _num(x)
    return text if text.startswith("-") or text == "0" else "+" + text


@lru_cache(maxsize=64)
def _t_quantile(df: int) -> float:
    return float(stats.t.ppf(0.5 + LEVEL / 2, df))


def _weeks(days: int) -> str:
    weeks = days / 7
    return f"{weeks:.0f}" if weeks >= 2 else f"{weeks:.1f}"


def _doy_angle(day: dt.date) -> float:
    return 2 * math.pi * (day.timetuple().tm_yday - 1) / _YEAR_DAYS


def _calendar_distance_days(dates: tuple[dt.date, ...], day: dt.date) -> float:
    """Days between `day` and the circular mean of `dates` within the calendar year (0 .. 183)."""
    angles = [_doy_angle(d) for d in dates]
    mean = math.atan2(sum(math.sin(a) for a in angles), sum(math.cos(a) for a in angles))
    diff = abs((_doy_angle(day) - mean + math.pi) % (2 * math.pi) - math.pi)
    return diff * _YEAR_DAYS / (2 * math.pi)


def _months_text(dates) -> str:
    months = []
    for d in sorted(dates):
        name = _MONTHS[d.month - 1]
        if name not in months:
            months.append(name)
    return months[0] if len(months) == 1 else f"{months[0]}–{months[-1]}"


def _in_autumn(day: dt.date, hemisphere: str) -> bool:
    return day.month in ((9, 10, 11) if hemisphere == "north" else (3, 4, 5))


def _norm_state(state: str | None) -> str | None:
    return None if state is None else " ".join(state.split()).casefold()


def _caveat(code: str, message: str, **details) -> Caveat:
    return Caveat(
        code, message, {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in details.items()}
    )


# ------------------------------------------------------------------------------------------ the analysis


def analyze_patient(
    record: PatientRecord,
    *,
    kind: str,
    kind_info: KindInfo | None = None,
    test_retest_sd: float | None = None,
    hemisphere: str = "north",
) -> PatientAnalysis:
    """Baseline, measurement error and change at each follow-up of one patient, with the warnings that
    belong next to the numbers.

    Parameters
    ----------
    record : PatientRecord
        Not modified.
    kind : str
        Which measurements to analyse, e.g. ``"wash_test_count"``.
    kind_info : KindInfo, optional
        Required for a kind not in `KINDS`; must not contradict `KINDS` for a known kind.
    test_retest_sd : float, optional
        A known test–retest SD of one measurement of this kind, in its unit (a measurement-error model
        from outside this patient).
    hemisphere : {"north", "south"}
        Only names the autumn shedding season in the season warning; the season check itself compares
        calendar dates and needs no hemisphere.

    Returns
    -------
    PatientAnalysis
    """
    if not isinstance(record, PatientRecord):
        raise ValueError(f"record must be a PatientRecord, got {type(record).__name__}")
    info = _kind_info(kind, kind_info)
    if test_retest_sd is not None:
        test_retest_sd = float(test_retest_sd)
        if not math.isfinite(test_retest_sd) or test_retest_sd <= 0:
            raise ValueError(f"test_retest_sd must be a positive finite number, got {test_retest_sd}")
    if hemisphere not in ("north", "south"):
        raise ValueError(f"hemisphere must be 'north' or 'south', got {hemisphere!r}")

    measurements = tuple(m for m in record.measurements if m.kind == kind)
    units = sorted({m.unit for m in measurements})
    if len(units) > 1:
        raise ValueError(f"measurements of kind {kind!r} of patient {record.patient_id!r} mix units {units}")
    unit = units[0] if units else None
    params = {"kind": kind, "test_retest_sd": test_retest_sd, "hemisphere": hemisphere}
    index_word = "the treatment" if record.group == "treated" else "the start of observation"

    by_date = defaultdict(list)
    for m in measurements:
        by_date[m.date].append(m)
    days = [_Day(d, statistics.fmean(m.value for m in ms), tuple(ms)) for d, ms in sorted(by_date.items())]
    base_days = [d for d in days if d.date <= record.index_date]
    follow_days = [d for d in days if d.date > record.index_date]

    warnings: list[Caveat] = []
    baseline = None
    if base_days:
        values = tuple(d.value for d in base_days)
        baseline = Baseline(
            value=statistics.fmean(values),
            n_days=len(values),
            dates=tuple(d.date for d in base_days),
            day_values=values,
            sd_between_days=statistics.stdev(values) if len(values) >= 2 else None,
        )
    if baseline is None:
        warnings.append(
            _caveat(
                "baseline.missing",
                f"There is no baseline measurement on or before {record.index_date.isoformat()}, so no "
                "change can be computed.",
            )
        )
    elif baseline.n_days < 2:
        warnings.append(
            _caveat(
                "baseline.too_few",
                "The baseline rests on a single day. At least 2 baseline measurements on separate days are "
                "needed to estimate the patient's day-to-day variation and the minimal detectable change.",
                n_days=baseline.n_days,
            )
        )
    if not follow_days:
        warnings.append(_caveat("followup.missing", "There is no follow-up measurement yet."))

    error, error_warnings = _measurement_error(baseline, measurements, info, test_retest_sd)
    warnings.extend(error_warnings)
    warnings.extend(_natural_course(record, info, index_word))
    warnings.extend(_regression_to_mean(base_days, follow_days, info, unit))
    warnings.extend(_baseline_triggers(record, base_days))
    if info.shedding:
        unknown = sum(m.days_since_shampoo is None for m in measurements)
        if unknown:
            warnings.append(
                _caveat(
                    "protocol.shampoo_interval_unknown",
                    f"Days since the last shampoo are not recorded for {unknown} of {len(measurements)} "
                    "measurements. Counts rise with the interval, so whether before and after are "
                    "comparable cannot be checked.",
                    n_unknown=unknown,
                )
            )

    followups = tuple(
        _follow_up(day, baseline, error, record, base_days, info, unit, index_word, hemisphere)
        for day in follow_days
    )
    if baseline is None:
        summary = "No baseline measurement, so no change can be computed."
    elif not followups:
        summary = (
            f"Baseline {info.label}: {_num(baseline.value)} {unit} (mean of {baseline.n_days} "
            f"day{'s' if baseline.n_days != 1 else ''}). No follow-up measurement yet."
        )
    else:
        summary = followups[-1].sentence
    return PatientAnalysis(
        patient_id=record.patient_id,
        group=record.group,
        kind=kind,
        label=info.label,
        unit=unit,
        higher_is_better=info.higher_is_better,
        index_date=record.index_date,
        baseline=baseline,
        error=error,
        followups=followups,
        warnings=tuple(warnings),
        summary=summary,
        params=params,
    )


def _kind_info(kind, kind_info) -> KindInfo:
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"kind must be a non-empty string, got {kind!r}")
    if kind_info is not None and not isinstance(kind_info, KindInfo):
        raise ValueError(f"kind_info must be a KindInfo, got {type(kind_info).__name__}")
    known = KINDS.get(kind)
    if known is None and kind_info is None:
        raise ValueError(f"unknown kind {kind!r}: pass kind_info, or use one of {sorted(KINDS)}")
    if known is not None and kind_info is not None and kind_info != known:
        raise ValueError(f"kind_info {kind_info!r} contradicts the known kind {kind!r}: {known!r}")
    return known or kind_info


def _measurement_error(baseline, measurements, info, test_retest_sd):
    if baseline is None:
        return None, []
    candidates = {}
    if baseline.sd_between_days is not None and baseline.sd_between_days > 0:
        candidates["baseline_repeats"] = baseline.sd_between_days
    if test_retest_sd is not None:
        candidates["test_retest_sd"] = test_retest_sd
    interval_sds = [
        sd_from_interval(m.low, m.high, level=m.interval_level) for m in measurements if m.low is not None
    ]
    if interval_sds and max(interval_sds) > 0:
        candidates["measurement_intervals"] = float(np.sqrt(np.mean(np.square(interval_sds))))
    if info.event_count:
        candidates["poisson_floor"] = math.sqrt(max(baseline.value, 1.0))
    if not candidates:
        identical = baseline.sd_between_days == 0
        return None, [
            _caveat(
                "error.unknown",
                (
                    "The baseline days gave identical values, which says nothing about their spread"
                    if identical
                    else "There are fewer than 2 baseline days"
                )
                + ", and no test–retest SD or measurement interval was given: the measurement error is "
                "unknown, so no change can be told apart from it.",
            )
        ]
    source = max(candidates, key=candidates.get)
    sem = candidates[source]
    error = MeasurementError(
        sem=sem,
        source=source,
        df=baseline.n_days - 1 if source == "baseline_repeats" else None,
        candidates=dict(candidates),
        mdc95=mdc95(sem),
    )
    warnings = []
    if source == "test_retest_sd" and baseline.n_days < 2:
        warnings.append(
            _caveat(
                "error.external_sd",
                f"The measurement error is a test–retest SD measured outside this patient ({_num(sem)} per "
                "measurement, e.g. re-photographing the same head); this patient's own day-to-day variation "
                "is not known from one baseline day. Measure the baseline on at least 2 separate days.",
                sem=sem,
            )
        )
    elif source == "measurement_intervals":
        warnings.append(
            _caveat(
                "error.counting_only",
                "The measurement error comes only from the intervals of the measurements themselves (e.g. "
                "counting the hairs in a photo); day-to-day variation is not in it, so the minimal "
                "detectable change is too small. Measure the baseline on at least 2 separate days.",
                sem=sem,
            )
        )
    elif source == "poisson_floor":
        warnings.append(
            _caveat(
                "error.poisson_floor",
                f"The measurement error was set to the chance variation of a count (√{_num(baseline.value)} "
                f"≈ {_num(sem)}); real day-to-day variation in shedding is usually larger, so the minimal "
                "detectable change is a lower bound.",
                sem=sem,
            )
        )
    return error, warnings


def _natural_course(record, info, index_word):
    onsets = [e.date for e in record.events if e.kind == "shedding_onset" and e.date <= record.index_date]
    onset = max(onsets) if onsets else None
    if onset is None:
        if not info.shedding:
            return []
        return [
            _caveat(
                "natural_course.acute_shedding",
                "When this episode of shedding began is not recorded. Acute telogen effluvium, the "
                "commonest cause of shedding in women, starts 2–3 months after a trigger and resolves by "
                "itself within 3–6 months: a fall after a peak is expected without any treatment.",
                onset=None,
            )
        ]
    days = (record.index_date - onset).days
    if days < ACUTE_SHEDDING_DAYS:
        return [
            _caveat(
                "natural_course.acute_shedding",
                f"Shedding began {_weeks(days)} weeks before {index_word}. Acute telogen effluvium resolves "
                "by itself within 3–6 months and density recovers completely: a fall after a peak is "
                "expected without any treatment.",
                onset=onset,
                days_before_index=days,
            )
        ]
    if not info.shedding:
        return []
    return [
        _caveat(
            "natural_course.chronic_fluctuation",
            f"Shedding began {days / 30.44:.0f} months before {index_word}. Chronic telogen effluvium "
            "fluctuates for years without treatment (of 5 women followed for 7 years or more, 4 kept "
            "shedding on and off without visible loss of density; Sinclair 2005), so a single fall is not "
            "evidence of an effect.",
            onset=onset,
            days_before_index=days,
        )
    ]


def _regression_to_mean(base_days, follow_days, info, unit):
    if not base_days or not follow_days:
        return []
    values = [d.value for d in (*base_days, *follow_days)]
    worst = min(values) if info.higher_is_better else max(values)
    at_peak = [d for d in base_days if d.value == worst]
    if not at_peak:
        return []
    word = "lowest" if info.higher_is_better else "highest"
    return [
        _caveat(
            "baseline.at_peak",
            f"The baseline includes the patient's {word} {info.label} on record ({_num(worst)} {unit} on "
            f"{at_peak[0].date.isoformat()}). Patients come for treatment at their worst, and a value taken "
            "at a peak tends to move back towards the patient's usual level without any treatment "
            "(regression to the mean).",
            value=worst,
            date=at_peak[0].date,
        )
    ]


def _trigger_caveats(record, day: dt.date, what: str):
    lo, hi = TRIGGER_WINDOW_DAYS
    out = []
    for event in record.events:
        if event.kind not in ("surgery", "trigger"):
            continue
        days = (day - event.date).days
        if not lo <= days <= hi:
            continue
        label = f" ({event.label})" if event.label else ""
        if event.kind == "surgery":
            out.append(
                _caveat(
                    "procedure.possible_trigger",
                    f"Surgery on {event.date.isoformat()}{label} can itself trigger shedding, usually 2–3 "
                    f"months later (range 1–6); {what} on {day.isoformat()} falls {_weeks(days)} weeks after "
                    "it. (Shedding after surgery is well known; after liposuction it is a plausible "
                    "inference, not a published finding.)",
                    event_date=event.date,
                    measurement_date=day,
                    days_after_event=days,
                )
            )
        else:
            out.append(
                _caveat(
                    "trigger.possible",
                    f"A possible trigger of shedding on {event.date.isoformat()}{label}: shedding usually "
                    f"starts 2–3 months after a trigger (range 1–6); {what} on {day.isoformat()} falls "
                    f"{_weeks(days)} weeks after it.",
                    event_date=event.date,
                    measurement_date=day,
                    days_after_event=days,
                )
            )
    return out


def _baseline_triggers(record, base_days):
    out, seen_events = [], set()
    for day in base_days:
        for caveat in _trigger_caveats(record, day.date, "the baseline measurement"):
            if caveat.details["event_date"] in seen_events:
                continue
            seen_events.add(caveat.details["event_date"])
            out.append(
                Caveat(
                    caveat.code,
                    caveat.message + " The baseline may be raised by it, and a fall would follow without "
                    "treatment.",
                    caveat.details,
                )
            )
    return out


def _follow_up(day, baseline, error, record, base_days, info, unit, index_word, hemisphere):
    days_after = (day.date - record.index_date).days
    warnings = []
    if days_after < EARLY_FOLLOWUP_DAYS:
        warnings.append(
            _caveat(
                "followup.early",
                f"Measured {_weeks(days_after)} weeks after {index_word}. Hair grows about 1 cm a month and "
                "hair-loss trials read out at 16–24 weeks or later; a change this early says little.",
                days_after_index=days_after,
            )
        )
    warnings.extend(_trigger_caveats(record, day.date, "this follow-up"))
    if base_days:
        warnings.extend(_season(base_days, day, hemisphere))
        warnings.extend(_protocol(base_days, day, info))
        warnings.extend(_concurrent(record, base_days, day))

    head = f"{day.date.isoformat()}: {info.label} {_num(day.value)} {unit}"
    if baseline is None:
        return FollowUpChange(
            day.date, days_after, day.value, len(day.measurements), None, None, None, None,
            "no_baseline", f"{head}; {VERDICTS['no_baseline']}.", tuple(warnings),
        )  # fmt: skip
    change = day.value - baseline.value
    percent = 100.0 * change / baseline.value if baseline.value != 0 else None
    head += (
        f" against a baseline of {_num(baseline.value)} {unit} (mean of {baseline.n_days} "
        f"day{'s' if baseline.n_days != 1 else ''}): change {_signed(change)} {unit}"
    )
    if percent is not None:
        head += f" ({_signed(percent)} %)"
    if error is None:
        verdict, low, high = "error_unknown", None, None
        sentence = f"{head}; {VERDICTS[verdict]}."
    else:
        se = error.sem * math.sqrt(1.0 / baseline.n_days + 1.0)
        q = _t_quantile(error.df) if error.df is not None else Z95
        low, high = change - q * se, change + q * se
        beyond = abs(change) > error.mdc95 and (low > 0 or high < 0)
        if not beyond:
            verdict = "no_change_beyond_error"
        else:
            verdict = "decrease_beyond_error" if change < 0 else "increase_beyond_error"
        sentence = (
            f"{head}, 95 % interval {_num(low)} to {_num(high)} {unit}: {VERDICTS[verdict]} "
            f"(MDC95 {_num(error.mdc95)} {unit})."
        )
        if beyond:
            sentence += " A change in one patient does not show what caused it."
    return FollowUpChange(
        date=day.date,
        days_after_index=days_after,
        value=day.value,
        n_measurements=len(day.measurements),
        change=change,
        low=low,
        high=high,
        percent_change=percent,
        verdict=verdict,
        sentence=sentence,
        warnings=tuple(warnings),
    )


def _season(base_days, day, hemisphere):
    dates = tuple(d.date for d in base_days)
    distance = _calendar_distance_days(dates, day.date)
    if distance <= SEASON_TOLERANCE_DAYS:
        return []
    message = (
        f"The baseline ({_months_text(dates)}) and this follow-up ({_MONTHS[day.date.month - 1]}) are "
        f"{distance / 7:.0f} weeks apart in the calendar year. Shedding is seasonal: in 823 healthy women "
        "the share of resting (telogen) hairs peaked in July, with a smaller peak in April, and was lowest "
        "in late winter (Kunz, Seifert & Trüeb 2009); shedding follows about 100 days later, "
        "around October–November, and wash-test counts rise in autumn. Compare measurements from the same "
        "time of year."
    )
    base_autumn = all(_in_autumn(d, hemisphere) for d in dates)
    if base_autumn != _in_autumn(day.date, hemisphere):
        which = "baseline" if base_autumn else "follow-up"
        message += f" Here the {which} falls in the autumn shedding season ({hemisphere}ern hemisphere)."
    return [_caveat("season.mismatch", message, calendar_distance_days=round(distance, 1))]


def _protocol(base_days, day, info):
    out = []
    base_ms = [m for d in base_days for m in d.measurements]
    if info.shedding:
        base = sorted({m.days_since_shampoo for m in base_ms if m.days_since_shampoo is not None})
        now = sorted({m.days_since_shampoo for m in day.measurements if m.days_since_shampoo is not None})
        if base and now and set(base + now) != {base[0]}:
            out.append(
                _caveat(
                    "protocol.shampoo_interval_changed",
                    f"Days since the last shampoo differ: baseline {', '.join(map(str, base))}, this "
                    f"follow-up {', '.join(map(str, now))}. Shed-hair counts rise with the interval (the "
                    "modified wash test fixes it at 5 days), so these counts are not comparable.",
                    baseline=base,
                    follow_up=now,
                )
            )
    states = _descriptions_differ(base_ms, day.measurements, "hair_state")
    if states:
        base_states, now_states = states
        out.append(
            _caveat(
                "protocol.hair_state_changed",
                f"Hair length or colouring differ: baseline “{'; '.join(base_states)}”, this follow-up "
                f"“{'; '.join(now_states)}”. Compare like with like: same length, colour and styling.",
                baseline=base_states,
                follow_up=now_states,
            )
        )
    surfaces = _descriptions_differ(base_ms, day.measurements, "surface")
    if surfaces:
        base_surfaces, now_surfaces = surfaces
        out.append(
            _caveat(
                "protocol.surface_changed",
                f"The hairs were photographed on another surface: baseline “{'; '.join(base_surfaces)}”, "
                f"this follow-up “{'; '.join(now_surfaces)}”. Which hairs show depends on it (light hairs "
                "barely show on white, dark ones on a dark field), so the counts are not comparable: use "
                "the same card every time.",
                baseline=base_surfaces,
                follow_up=now_surfaces,
            )
        )
    return out


def _descriptions_differ(base_ms, now_ms, attribute) -> tuple[list[str], list[str]] | None:
    """The baseline's and the follow-up's descriptions in `attribute` (``hair_state``, ``surface``), ignoring
    case and spaces, when both are known and not all the same; else None."""
    base = sorted({_norm_state(v) for m in base_ms if (v := getattr(m, attribute)) is not None})
    now = sorted({_norm_state(v) for m in now_ms if (v := getattr(m, attribute)) is not None})
    return (base, now) if base and now and set(base + now) != {base[0]} else None


def _concurrent(record, base_days, day):
    first = base_days[0].date
    out = []
    for event in record.events:
        if event.kind != "concurrent_treatment":
            continue
        if not (first - dt.timedelta(days=CONCURRENT_LOOKBACK_DAYS) < event.date <= day.date):
            continue
        what = event.label or "Another hair-loss treatment"
        other = "that of the treatment" if record.group == "treated" else "the natural course"
        when = (
            f"{_weeks((first - event.date).days)} weeks before the first baseline measurement"
            if event.date < first
            else "between the first baseline measurement and this follow-up"
        )
        out.append(
            _caveat(
                "concurrent_treatment.started",
                f"{what} started on {event.date.isoformat()}, {when}. Its effect cannot be separated from "
                f"{other}; trials exclude other hair-loss treatments for 6–12 months before entry.",
                event_date=event.date,
                label=event.label,
            )
        )
    return out
