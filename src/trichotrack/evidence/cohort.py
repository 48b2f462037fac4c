"""Cohort analysis: every treated patient counted, with intervals, and a comparison group where one exists.

Method
------
Each patient is analysed with `analyze_patient`. The *endpoint* of a patient is the follow-up day closest to
`endpoint_days` after the index date within ± `window_days` (the earlier one on a tie). Each patient has one
status at the endpoint:

``complete``
    a baseline and an endpoint measurement;
``lost_to_follow_up``
    a baseline but no endpoint measurement although the endpoint is due;
``no_baseline``
    no baseline measurement (no change can be computed);
``not_yet_due``
    the endpoint window has not closed by `as_of` (only with `as_of`); not counted as missing.

For each group (treated; comparison = untreated and wait-list):

- the *complete-case* mean change with a t interval, a percentile-bootstrap interval and the Wilcoxon
  signed-rank p-value (for small or skewed samples);
- the *intention-to-treat* mean change, in which patients lost to follow-up are counted as unchanged
  (baseline carried forward, a conservative imputation; patients without a baseline cannot be imputed and
  are reported by count);
- the share of responders with a Wilson interval (exact when fewer than 5 on either side), among complete
  cases and among all patients due (ITT: a patient without an endpoint counts as a non-responder). A
  responder has a change larger than the measurement error in the favourable direction, or, with
  `responder_min_change`, a favourable change of at least that size.

With a comparison group, the treated-minus-comparison difference in change has a Welch t interval
(complete cases and ITT). A linear mixed model with a random intercept per patient uses every measurement
of every patient, the baselines of those lost to follow-up included: ``value ~ post`` for the treated alone,
``value ~ post * treated`` with a comparison group, where ``post`` is 1 after the index date. Adverse-event
rates are shares of patients with at least one event, per group, with intervals.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings as _warnings
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from trichotrack.evidence.caveats import CODES, Caveat
from trichotrack.evidence.intervals import (
    Interval,
    Proportion,
    bootstrap_mean_interval,
    paired_change_interval,
    proportion_interval,
    welch_difference_interval,
)
from trichotrack.evidence.patient import EARLY_FOLLOWUP_DAYS, PatientAnalysis, _num, _signed, analyze_patient
from trichotrack.evidence.records import KindInfo, PatientRecord

__all__ = [
    "ALGORITHM",
    "SMALL_N",
    "STATUSES",
    "VERSION",
    "AdverseEventRate",
    "CohortAnalysis",
    "GroupSummary",
    "MixedModelResult",
    "PatientEndpoint",
    "analyze_cohort",
]

ALGORITHM = "trichotrack.evidence.cohort"
VERSION = "1.0"

#: Fewer treated patients with an endpoint than this: no claim about efficacy can rest on the cohort.
SMALL_N = 10

STATUSES = ("complete", "lost_to_follow_up", "no_baseline", "not_yet_due")

ITT_METHOD = "t; lost to follow-up counted as unchanged (baseline carried forward)"


@dataclass(frozen=True)
class PatientEndpoint:
    """One patient at the endpoint.

    Attributes
    ----------
    patient_id, group : str
    status : str
        One of `STATUSES`.
    date : datetime.date or None
        The endpoint measurement's day.
    change : float or None
        Change from baseline at the endpoint (None unless complete).
    verdict : str or None
        The patient analysis's verdict at the endpoint.
    responder : bool or None
        None when not yet due; False for a patient without an endpoint (ITT).
    """

    patient_id: str
    group: str
    status: str
    date: dt.date | None
    change: float | None
    verdict: str | None
    responder: bool | None


@dataclass(frozen=True)
class GroupSummary:
    """Counts and changes of one group at the endpoint.

    Attributes
    ----------
    group : str
        ``"treated"`` or ``"comparison"`` (untreated and wait-list).
    n_enrolled, n_not_yet_due, n_due, n_complete, n_lost_to_follow_up, n_no_baseline : int
        ``n_due = n_enrolled - n_not_yet_due = n_complete + n_lost_to_follow_up + n_no_baseline``.
    missing_ids : tuple of str
        Patients due but without a change at the endpoint, never dropped silently.
    change_complete_case : Interval or None
        Mean change with a t interval (None with fewer than 2 complete cases).
    change_bootstrap : Interval or None
        Mean change with a percentile-bootstrap interval.
    wilcoxon_p : float or None
        Wilcoxon signed-rank test of the complete-case changes against 0.
    change_itt : Interval or None
        Mean change over all due patients with a baseline, those lost counted as unchanged.
    responders_complete_case, responders_itt : Proportion or None
    """

    group: str
    n_enrolled: int
    n_not_yet_due: int
    n_due: int
    n_complete: int
    n_lost_to_follow_up: int
    n_no_baseline: int
    missing_ids: tuple[str, ...]
    change_complete_case: Interval | None
    change_bootstrap: Interval | None
    wilcoxon_p: float | None
    change_itt: Interval | None
    responders_complete_case: Proportion | None
    responders_itt: Proportion | None


@dataclass(frozen=True)
class MixedModelResult:
    """A linear mixed model with a random intercept per patient.

    Attributes
    ----------
    formula : str
    term : str
        The coefficient of interest: ``"post"`` (after minus before, treated only) or ``"post:treated"``
        (treated minus comparison in the change).
    estimate, low, high, p_value : float or None
        None when the model could not be fitted or gave no finite value.
    fixed_effects : dict of str to float
    n_patients, n_observations : int
    fitted, converged : bool
    warnings : tuple of Caveat
    """

    formula: str
    term: str
    estimate: float | None
    low: float | None
    high: float | None
    p_value: float | None
    fixed_effects: dict = field(hash=False)
    n_patients: int
    n_observations: int
    fitted: bool
    converged: bool
    warnings: tuple[Caveat, ...]


@dataclass(frozen=True)
class AdverseEventRate:
    """Share of a group's enrolled patients with at least one such event.

    Attributes
    ----------
    group : str
    term : str
        ``"any adverse event"``, ``"any serious adverse event"`` or an event term (lower case).
    patients : Proportion
    n_events : int
    """

    group: str
    term: str
    patients: Proportion
    n_events: int


@dataclass(frozen=True)
class CohortAnalysis:
    """What `analyze_cohort` found.

    Attributes
    ----------
    kind, label, unit : str
    higher_is_better : bool
    endpoint_days, window_days : int
    randomised : bool
        As declared by the caller.
    treated : GroupSummary
    comparison : GroupSummary or None
        None when the cohort has no untreated or wait-list patients.
    difference_complete_case, difference_itt : Interval or None
        Treated minus comparison mean change, Welch t interval.
    mixed_model : MixedModelResult or None
        None when not requested.
    adverse_events : tuple of AdverseEventRate
    endpoints : tuple of PatientEndpoint
        Every patient, in input order.
    patients : tuple of PatientAnalysis
        Every patient, in input order.
    patient_caveat_counts : dict of str to int
        How many treated patients carry each warning code.
    warnings : tuple of Caveat
    summary : str
    responder_definition : str
    algorithm, version : str
    params : dict
    """

    kind: str
    label: str
    unit: str | None
    higher_is_better: bool
    endpoint_days: int
    window_days: int
    randomised: bool
    treated: GroupSummary
    comparison: GroupSummary | None
    difference_complete_case: Interval | None
    difference_itt: Interval | None
    mixed_model: MixedModelResult | None
    adverse_events: tuple[AdverseEventRate, ...]
    endpoints: tuple[PatientEndpoint, ...]
    patients: tuple[PatientAnalysis, ...]
    patient_caveat_counts: dict = field(hash=False)
    warnings: tuple[Caveat, ...]
    summary: str
    responder_definition: str
    algorithm: str = ALGORITHM
    version: str = VERSION
    params: dict = field(default_factory=dict, hash=False)

    @property
    def favourable_difference_shown(self) -> bool:
        """True when the ITT (else complete-case) treated-minus-comparison interval lies wholly on the
        favourable side of zero."""
        diff = self.difference_itt or self.difference_complete_case
        if diff is None:
            return False
        return diff.low > 0 if self.higher_is_better else diff.high < 0


def _whole(value, *, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def analyze_cohort(
    records,
    *,
    kind: str,
    endpoint_days: int,
    window_days: int,
    kind_info: KindInfo | None = None,
    test_retest_sd: float | None = None,
    responder_min_change: float | None = None,
    randomised: bool = False,
    as_of: dt.date | None = None,
    hemisphere: str = "north",
    seed: int = 0,
    fit_mixed_model: bool = True,
) -> CohortAnalysis:
    """Change at a pre-specified endpoint in every patient of a cohort, with intervals and the warnings a
    reader needs.

    Parameters
    ----------
    records : sequence of PatientRecord
        Treated patients, and untreated or wait-list patients where they exist. Not modified. Patient ids
        must be unique.
    kind : str
        Which measurements to analyse, e.g. ``"wash_test_count"``.
    endpoint_days : int
        The pre-specified endpoint, in days after the index date (e.g. 168 for 24 weeks).
    window_days : int
        A follow-up within ± this many days of the endpoint counts as the endpoint measurement.
    kind_info, test_retest_sd, hemisphere
        Passed to `analyze_patient`.
    responder_min_change : float, optional
        A responder improves by at least this much (in the measurement's unit, a positive number). By
        default, a responder's change is larger than the measurement error in the favourable direction.
    randomised : bool
        Whether patients were randomly allocated to treated and comparison groups.
    as_of : datetime.date, optional
        The day of the analysis: patients whose endpoint window is still open are reported as not yet due.
        Without it, every patient counts as due.
    seed : int
        Seed of the bootstrap.
    fit_mixed_model : bool
        False skips the mixed model (`mixed_model` is then None), e.g. in simulations.

    Returns
    -------
    CohortAnalysis
    """
    if isinstance(records, PatientRecord) or not hasattr(records, "__iter__"):
        raise ValueError(f"records must be a sequence of PatientRecord, got {type(records).__name__}")
    records = tuple(records)
    if not records:
        raise ValueError("records is empty: need at least one patient")
    for r in records:
        if not isinstance(r, PatientRecord):
            raise ValueError(f"records must hold PatientRecord objects, got {r!r}")
    duplicates = sorted(pid for pid, n in Counter(r.patient_id for r in records).items() if n > 1)
    if duplicates:
        raise ValueError(f"patient ids must be unique, got duplicates {duplicates}")
    endpoint_days = _whole(endpoint_days, name="endpoint_days", minimum=1)
    window_days = _whole(window_days, name="window_days", minimum=0)
    if window_days >= endpoint_days:
        raise ValueError(f"window_days ({window_days}) must be smaller than endpoint_days ({endpoint_days})")
    if responder_min_change is not None:
        responder_min_change = float(responder_min_change)
        if not math.isfinite(responder_min_change) or responder_min_change <= 0:
            raise ValueError(f"responder_min_change must be a positive number, got {responder_min_change}")
    if not isinstance(randomised, bool):
        raise ValueError(f"randomised must be True or False, got {randomised!r}")
    if as_of is not None and (isinstance(as_of, dt.datetime) or not isinstance(as_of, dt.date)):
        raise ValueError(f"as_of must be a datetime.date or None, got {as_of!r}")
    if not any(r.group == "treated" for r in records):
        raise ValueError("records holds no treated patient")

    analyses = tuple(
        analyze_patient(
            r, kind=kind, kind_info=kind_info, test_retest_sd=test_retest_sd, hemisphere=hemisphere
        )
        for r in records
    )
    first = analyses[0]
    units = sorted({a.unit for a in analyses if a.unit is not None})
    if len(units) > 1:
        raise ValueError(f"measurements of kind {kind!r} mix units across patients: {units}")
    unit = units[0] if units else None
    higher = first.higher_is_better
    if responder_min_change is None:
        favourable = "increase_beyond_error" if higher else "decrease_beyond_error"
        responder_definition = (
            f"{'an increase' if higher else 'a decrease'} larger than the measurement error at the endpoint"
        )
    else:
        responder_definition = (
            f"{'an increase' if higher else 'a decrease'} of at least {_num(responder_min_change)} {unit} "
            "at the endpoint"
        )

    endpoints = []
    for record, analysis in zip(records, analyses, strict=True):
        endpoints.append(_endpoint(record, analysis, endpoint_days, window_days, as_of))
    endpoints = [
        e
        if e.status != "complete"
        else PatientEndpoint(
            e.patient_id,
            e.group,
            e.status,
            e.date,
            e.change,
            e.verdict,
            (e.verdict == favourable)
            if responder_min_change is None
            else ((e.change >= responder_min_change) if higher else (-e.change >= responder_min_change)),
        )
        for e in endpoints
    ]

    treated_eps = [e for e in endpoints if e.group == "treated"]
    comparison_eps = [e for e in endpoints if e.group != "treated"]
    treated = _group_summary("treated", treated_eps, seed)
    comparison = _group_summary("comparison", comparison_eps, seed) if comparison_eps else None

    diff_cc = diff_itt = None
    if comparison is not None:
        t_cc = [e.change for e in treated_eps if e.status == "complete"]
        c_cc = [e.change for e in comparison_eps if e.status == "complete"]
        if len(t_cc) >= 2 and len(c_cc) >= 2:
            diff_cc = welch_difference_interval(t_cc, c_cc)
        t_itt = _itt_changes(treated_eps)
        c_itt = _itt_changes(comparison_eps)
        if len(t_itt) >= 2 and len(c_itt) >= 2:
            d = welch_difference_interval(t_itt, c_itt)
            diff_itt = Interval(d.estimate, d.low, d.high, n=d.n, method="welch " + ITT_METHOD)

    model = _mixed_model(analyses, with_comparison=comparison is not None) if fit_mixed_model else None
    adverse = _adverse_event_rates(records)

    counts = Counter()
    for a in analyses:
        if a.group == "treated":
            counts.update({c.code for c in a.all_warnings()})
    patient_caveat_counts = {code: counts[code] for code in CODES if counts[code]}

    warnings = _cohort_warnings(
        treated, diff_itt or diff_cc, randomised, endpoint_days, patient_caveat_counts, treated_eps, model
    )
    summary = _summary(
        first.label, unit, higher, endpoint_days, treated, comparison, diff_cc, diff_itt, randomised
    )
    return CohortAnalysis(
        kind=kind,
        label=first.label,
        unit=unit,
        higher_is_better=higher,
        endpoint_days=endpoint_days,
        window_days=window_days,
        randomised=randomised,
        treated=treated,
        comparison=comparison,
        difference_complete_case=diff_cc,
        difference_itt=diff_itt,
        mixed_model=model,
        adverse_events=adverse,
        endpoints=tuple(endpoints),
        patients=analyses,
        patient_caveat_counts=patient_caveat_counts,
        warnings=tuple(warnings),
        summary=summary,
        responder_definition=responder_definition,
        params={
            "kind": kind,
            "endpoint_days": endpoint_days,
            "window_days": window_days,
            "test_retest_sd": test_retest_sd,
            "responder_min_change": responder_min_change,
            "randomised": randomised,
            "as_of": as_of.isoformat() if as_of else None,
            "hemisphere": hemisphere,
            "seed": seed,
            "fit_mixed_model": fit_mixed_model,
        },
    )


def _endpoint(record, analysis, endpoint_days, window_days, as_of) -> PatientEndpoint:
    pid, group = record.patient_id, record.group
    if analysis.baseline is None:
        due = as_of is None or (as_of - record.index_date).days > endpoint_days + window_days
        return PatientEndpoint(pid, group, "no_baseline" if due else "not_yet_due", None, None, None, False)
    candidates = [f for f in analysis.followups if abs(f.days_after_index - endpoint_days) <= window_days]
    if candidates:
        best = min(candidates, key=lambda f: (abs(f.days_after_index - endpoint_days), f.days_after_index))
        return PatientEndpoint(pid, group, "complete", best.date, best.change, best.verdict, None)
    if as_of is not None and (as_of - record.index_date).days <= endpoint_days + window_days:
        return PatientEndpoint(pid, group, "not_yet_due", None, None, None, None)
    return PatientEndpoint(pid, group, "lost_to_follow_up", None, None, None, False)


def _itt_changes(endpoints) -> list[float]:
    out = []
    for e in endpoints:
        if e.status == "complete":
            out.append(e.change)
        elif e.status == "lost_to_follow_up":
            out.append(0.0)
    return out


def _group_summary(group, endpoints, seed) -> GroupSummary:
    by = Counter(e.status for e in endpoints)
    complete = [e.change for e in endpoints if e.status == "complete"]
    due = [e for e in endpoints if e.status != "not_yet_due"]
    cc = boot = p = itt = None
    if len(complete) >= 2:
        cc = paired_change_interval(complete)
        boot = bootstrap_mean_interval(complete, seed=seed)
        p = _wilcoxon_p(complete)
    itt_changes = _itt_changes(endpoints)
    if len(itt_changes) >= 2:
        i = paired_change_interval(itt_changes)
        itt = Interval(i.estimate, i.low, i.high, n=i.n, method=ITT_METHOD)
    n_resp = sum(bool(e.responder) for e in endpoints if e.status == "complete")
    return GroupSummary(
        group=group,
        n_enrolled=len(endpoints),
        n_not_yet_due=by["not_yet_due"],
        n_due=len(due),
        n_complete=by["complete"],
        n_lost_to_follow_up=by["lost_to_follow_up"],
        n_no_baseline=by["no_baseline"],
        missing_ids=tuple(e.patient_id for e in due if e.status != "complete"),
        change_complete_case=cc,
        change_bootstrap=boot,
        wilcoxon_p=p,
        change_itt=itt,
        responders_complete_case=proportion_interval(n_resp, len(complete)) if complete else None,
        responders_itt=proportion_interval(n_resp, len(due)) if due else None,
    )


def _wilcoxon_p(changes) -> float | None:
    x = np.asarray(changes, dtype=float)
    if not np.any(x != 0):
        return None
    # Ties and zeros make SciPy switch to the normal approximation and say so; the p-value is still valid.
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", UserWarning)
        _warnings.simplefilter("ignore", RuntimeWarning)
        p = float(stats.wilcoxon(x).pvalue)
    return p if math.isfinite(p) else None


def _mixed_model(analyses, *, with_comparison: bool) -> MixedModelResult:
    rows = []
    for a in analyses:
        if a.baseline is not None:
            rows += [(a.patient_id, 0, int(a.group == "treated"), v) for v in a.baseline.day_values]
        rows += [(a.patient_id, 1, int(a.group == "treated"), f.value) for f in a.followups]
    formula = "value ~ post * treated" if with_comparison else "value ~ post"
    term = "post:treated" if with_comparison else "post"
    patients = {r[0] for r in rows}
    empty = dict(
        formula=formula, term=term, fixed_effects={}, n_patients=len(patients), n_observations=len(rows)
    )

    cells = {(r[1], r[2]) for r in rows if with_comparison or r[2] == 1}
    needed = {(0, 0), (0, 1), (1, 0), (1, 1)} if with_comparison else {(0, 1), (1, 1)}
    if len(patients) < 3 or not needed <= cells or len(rows) <= len(patients) + len(needed):
        return MixedModelResult(
            estimate=None, low=None, high=None, p_value=None, fitted=False, converged=False,
            warnings=(Caveat("model.not_fitted", "Too few patients or measurements before and after for a "
                             "mixed model."),),
            **empty,
        )  # fmt: skip

    import pandas as pd
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    data = pd.DataFrame(rows, columns=["patient", "post", "treated", "value"])
    if not with_comparison:
        data = data[data["treated"] == 1]
    # Catch the fit's warnings here, locally, to report them next to the numbers.
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        try:
            fit = smf.mixedlm(formula, data, groups=data["patient"]).fit(reml=True)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            fit, failure = None, exc
    if fit is None:
        return MixedModelResult(
            estimate=None, low=None, high=None, p_value=None, fitted=False, converged=False,
            warnings=(Caveat("model.not_fitted", f"The mixed model could not be fitted: {failure}.",
                             {"error": str(failure)}),),
            **empty,
        )  # fmt: skip
    problems = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    converged = bool(getattr(fit, "converged", False)) and not problems

    def finite(x):
        x = float(x)
        return x if math.isfinite(x) else None

    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", RuntimeWarning)  # NaN standard errors of a singular fit
        ci = fit.conf_int()
        fe = {name: float(v) for name, v in fit.fe_params.items()}
        estimate = finite(fit.fe_params[term])
        low, high = finite(ci.loc[term, 0]), finite(ci.loc[term, 1])
        p_value = finite(fit.pvalues[term])
    caveats = ()
    if not converged or low is None:
        caveats = (
            Caveat(
                "model.not_converged",
                "The mixed model did not converge cleanly; its numbers are unreliable and the paired "
                "analysis should be read instead." + (f" ({'; '.join(problems)})" if problems else ""),
                {"problems": problems},
            ),
        )
    return MixedModelResult(
        formula=formula,
        term=term,
        estimate=estimate,
        low=low,
        high=high,
        p_value=p_value,
        fixed_effects=fe,
        n_patients=int(data["patient"].nunique()),
        n_observations=len(data),
        fitted=True,
        converged=converged,
        warnings=caveats,
    )


def _adverse_event_rates(records) -> tuple[AdverseEventRate, ...]:
    out = []
    for group, members in (
        ("treated", [r for r in records if r.group == "treated"]),
        ("comparison", [r for r in records if r.group != "treated"]),
    ):
        if not members:
            continue
        n = len(members)
        events_of = {r.patient_id: r.adverse_events for r in members}
        rows = [
            ("any adverse event", lambda ae: True),
            ("any serious adverse event", lambda ae: ae.serious),
        ]
        terms = sorted({ae.term.strip().casefold() for r in members for ae in r.adverse_events})
        rows += [(t, lambda ae, t=t: ae.term.strip().casefold() == t) for t in terms]
        for term, match in rows:
            k = sum(any(match(ae) for ae in evs) for evs in events_of.values())
            n_events = sum(match(ae) for evs in events_of.values() for ae in evs)
            out.append(AdverseEventRate(group, term, proportion_interval(k, n), n_events))
    return tuple(out)


def _cohort_warnings(treated, difference, randomised, endpoint_days, counts, treated_eps, model):
    out = []
    if treated.n_complete < SMALL_N:
        out.append(
            Caveat(
                "cohort.small_n",
                f"Only {treated.n_complete} treated patient{'s' if treated.n_complete != 1 else ''} "
                f"{'have' if treated.n_complete != 1 else 'has'} a measurement at the endpoint. No claim "
                f"about efficacy can rest on fewer than {SMALL_N}; these numbers describe these patients "
                "only.",
                {"n_complete": treated.n_complete},
            )
        )
    missing = treated.n_lost_to_follow_up + treated.n_no_baseline
    if missing:
        share = 100.0 * missing / treated.n_due
        out.append(
            Caveat(
                "cohort.lost_to_follow_up",
                f"{missing} of {treated.n_due} treated patients ({share:.0f} %) have no change at the "
                f"endpoint ({treated.n_lost_to_follow_up} lost to follow-up, {treated.n_no_baseline} "
                "without a baseline). They stay in the counts: in the intention-to-treat analysis those lost "
                "are counted as unchanged and every one of them as a non-responder. Patients who stop "
                "coming may differ from those who stay.",
                {"missing_ids": list(treated.missing_ids), "share_percent": share},
            )
        )
    if treated.n_not_yet_due:
        out.append(
            Caveat(
                "cohort.not_yet_due",
                f"{treated.n_not_yet_due} treated patients have not reached the endpoint yet and are not "
                "in the numbers.",
                {"n": treated.n_not_yet_due},
            )
        )
    if difference is None:
        out.append(
            Caveat(
                "cohort.no_control",
                "There is no untreated comparison group with enough endpoint measurements, so no change can "
                "be attributed to the treatment: acute shedding resolves by itself within 3–6 months, "
                "patients come at their worst, and shedding varies with the season.",
            )
        )
    elif not randomised:
        out.append(
            Caveat(
                "cohort.not_randomised",
                "Patients were not randomly allocated to treatment, so the groups may differ in ways that "
                "affect the outcome (e.g. Butt 2020's groups started at different baselines). Health claims "
                "generally need randomised controlled trials.",
            )
        )
    if endpoint_days < EARLY_FOLLOWUP_DAYS:
        out.append(
            Caveat(
                "cohort.early_endpoint",
                f"The endpoint is {endpoint_days / 7:.0f} weeks after the index date; hair-loss trials read "
                "out at 16–24 weeks or later.",
                {"endpoint_days": endpoint_days},
            )
        )
    if counts:
        parts = [f"{CODES[c].lower()}: {n} of {len(treated_eps)}" for c, n in counts.items()]
        out.append(
            Caveat(
                "cohort.patient_caveats",
                "Warnings on individual treated patients — " + "; ".join(parts) + ".",
                dict(counts),
            )
        )
    if model is not None:
        out.extend(model.warnings)
    return out


def _interval_text(iv: Interval, unit) -> str:
    return f"{_signed(iv.estimate)} {unit} (95 % interval {_num(iv.low)} to {_num(iv.high)})"


def _summary(label, unit, higher, endpoint_days, treated, comparison, diff_cc, diff_itt, randomised) -> str:
    weeks = f"{endpoint_days / 7:.0f} weeks"
    parts = [
        f"{treated.n_enrolled} treated patient{'s' if treated.n_enrolled != 1 else ''}: {treated.n_complete} "
        f"with a measurement at {weeks}, {treated.n_lost_to_follow_up} lost to follow-up, "
        f"{treated.n_no_baseline} without a baseline, {treated.n_not_yet_due} not yet due."
    ]
    if treated.change_complete_case is not None:
        parts.append(
            f"Mean change in {label} among complete cases: "
            f"{_interval_text(treated.change_complete_case, unit)}."
        )
    if treated.change_itt is not None and treated.n_lost_to_follow_up:
        parts.append(
            f"Counting those lost as unchanged: {_interval_text(treated.change_itt, unit)} "
            f"(n = {treated.change_itt.n})."
        )
    diff = diff_itt or diff_cc
    if diff is None:
        parts.append(
            "There is no untreated comparison group with enough patients at the endpoint, so this change "
            "cannot be attributed to the treatment."
        )
    else:
        parts.append(f"Treated minus untreated difference in change: {_interval_text(diff, unit)}.")
        favourable = diff.low > 0 if higher else diff.high < 0
        if not diff.excludes_zero:
            parts.append("No difference between treated and untreated patients was shown.")
        elif favourable:
            parts.append(
                f"The treated patients' {label} {'rose' if higher else 'fell'} more than the untreated "
                "patients'"
                + (
                    "."
                    if randomised
                    else "; the groups were not randomised, so they may differ in other ways."
                )
            )
        else:
            parts.append(
                f"The treated patients' {label} {'fell' if higher else 'rose'} more than the untreated "
                "patients'."
            )
    if treated.n_complete < SMALL_N:
        parts.append(f"With fewer than {SMALL_N} treated patients, no claim about efficacy can rest on this.")
    return " ".join(parts)
