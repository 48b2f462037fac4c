import copy
import datetime as dt

import numpy as np
import pytest

from trichotrack.evidence import AdverseEvent, Measurement, PatientRecord, analyze_cohort, check_claim

INDEX = dt.date(2026, 3, 2)
ENDPOINT = {"kind": "wash_test_count", "endpoint_days": 168, "window_days": 28}


def codes(caveats):
    return {c.code for c in caveats}


# ----------------------------------------------------------------------------------- known true effects


def test_randomised_cohort_with_a_known_effect_is_recovered(make_cohort):
    # Everyone recovers by 20 hairs by themselves; the treatment removes 25 more. (One draw; coverage over
    # many draws is tested below and in test_evidence_intervals.)
    rng = np.random.default_rng(7)
    records = make_cohort(rng, n_treated=30, n_control=30, effect=-25.0, spontaneous=-20.0)
    c = analyze_cohort(records, randomised=True, **ENDPOINT)
    t = c.treated
    assert (t.n_enrolled, t.n_complete, t.n_lost_to_follow_up) == (30, 30, 0)
    assert t.change_complete_case.low <= -45.0 <= t.change_complete_case.high
    assert t.change_bootstrap.low <= -45.0 <= t.change_bootstrap.high
    assert t.wilcoxon_p < 0.001
    diff = c.difference_complete_case
    assert diff.low <= -25.0 <= diff.high and diff.high < 0
    assert c.favourable_difference_shown
    m = c.mixed_model
    assert m.fitted and m.converged and m.term == "post:treated" and m.formula == "value ~ post * treated"
    assert m.low <= -25.0 <= m.high and m.high < 0
    assert m.n_patients == 60 and m.n_observations == 180
    assert not {"cohort.small_n", "cohort.no_control", "cohort.not_randomised"} & codes(c.warnings)
    assert "fell more than the untreated" in c.summary
    assert check_claim("In our randomised cohort the treatment reduces shedding.", c).allowed


def test_spontaneous_recovery_without_a_control_is_not_reported_as_a_treatment_effect(rng, make_cohort):
    # No treatment effect at all, but shedding falls by 40 hairs by itself.
    records = make_cohort(rng, n_treated=25, n_control=0, effect=0.0, spontaneous=-40.0)
    c = analyze_cohort(records, **ENDPOINT)
    assert c.treated.change_complete_case.high < 0  # a clear fall ...
    assert c.comparison is None and c.difference_itt is None
    assert "cohort.no_control" in codes(c.warnings)  # ... that is not attributed to the treatment
    assert "cannot be attributed to the treatment" in c.summary
    assert c.mixed_model.term == "post" and c.mixed_model.high < 0
    claim = check_claim("Our treatment reduces shedding by 30 %", c)
    assert not claim.allowed
    assert any("comparison group" in r for r in claim.reasons)


def test_spontaneous_recovery_with_a_control_shows_no_difference(rng, make_cohort):
    records = make_cohort(rng, n_treated=20, n_control=20, effect=0.0, spontaneous=-40.0)
    c = analyze_cohort(records, randomised=True, **ENDPOINT)
    assert c.difference_itt.low <= 0.0 <= c.difference_itt.high
    assert c.mixed_model.low <= 0.0 <= c.mixed_model.high
    assert "No difference between treated and untreated patients was shown" in c.summary
    assert not check_claim("The treatment reduces shedding", c).allowed


def test_no_effect_cohorts_are_rarely_reported_as_a_difference(make_cohort):
    """Over 300 simulated no-effect cohorts with spontaneous recovery, the treated-minus-untreated interval
    excludes 0 about 5 % of the time (its coverage of the true 0 is about 95 %)."""
    rng = np.random.default_rng(99)
    covered = 0
    for _ in range(300):
        records = make_cohort(rng, n_treated=8, n_control=8, effect=0.0, spontaneous=-30.0)
        c = analyze_cohort(records, randomised=True, fit_mixed_model=False, **ENDPOINT)
        covered += c.difference_complete_case.low <= 0.0 <= c.difference_complete_case.high
    assert 0.92 <= covered / 300 <= 0.98


# ------------------------------------------------------------------------- intention to treat and counts


def test_lost_patients_are_counted_not_dropped(rng, make_cohort):
    records = make_cohort(rng, n_treated=12, n_control=0, effect=-10.0, spontaneous=0.0, lost=3)
    records.append(
        PatientRecord(
            "T-nobase", INDEX, [Measurement(INDEX + dt.timedelta(days=170), 60, "hairs", "wash_test_count")]
        )
    )
    c = analyze_cohort(records, **ENDPOINT)
    t = c.treated
    assert (t.n_enrolled, t.n_due, t.n_complete, t.n_lost_to_follow_up, t.n_no_baseline) == (13, 13, 9, 3, 1)
    assert set(t.missing_ids) == {"T0", "T1", "T2", "T-nobase"}
    complete = [e.change for e in c.endpoints if e.status == "complete"]
    # ITT: baseline carried forward for the 3 lost (change 0); the one without a baseline cannot be imputed.
    itt = np.array([*complete, 0.0, 0.0, 0.0])
    assert t.change_itt.n == 12
    assert t.change_itt.estimate == pytest.approx(itt.mean())
    assert "baseline carried forward" in t.change_itt.method
    assert t.change_complete_case.n == 9 and t.change_complete_case.estimate == pytest.approx(
        np.mean(complete)
    )
    # Responders: among complete cases, and ITT with every missing patient as a non-responder.
    k = sum(e.responder for e in c.endpoints if e.status == "complete")
    assert (t.responders_complete_case.k, t.responders_complete_case.n) == (k, 9)
    assert (t.responders_itt.k, t.responders_itt.n) == (k, 13)
    lost = next(w for w in c.warnings if w.code == "cohort.lost_to_follow_up")
    assert "4 of 13" in lost.message and set(lost.details["missing_ids"]) == set(t.missing_ids)
    assert "3 lost to follow-up" in c.summary


def test_patients_not_yet_due(rng, make_cohort):
    records = make_cohort(rng, n_treated=10, n_control=0, effect=-10.0, spontaneous=0.0, lost=2)
    recent = PatientRecord(
        "T-new", dt.date(2026, 8, 1), [Measurement(dt.date(2026, 8, 1), 100, "hairs", "wash_test_count")]
    )
    c = analyze_cohort([*records, recent], as_of=dt.date(2026, 10, 1), **ENDPOINT)
    t = c.treated
    assert (t.n_enrolled, t.n_not_yet_due, t.n_due, t.n_lost_to_follow_up) == (11, 1, 10, 2)
    assert "T-new" not in t.missing_ids
    assert "cohort.not_yet_due" in codes(c.warnings)


@pytest.mark.parametrize(("n", "warned"), [(9, True), (10, False)])
def test_small_n_guard(rng, make_cohort, n, warned):
    c = analyze_cohort(make_cohort(rng, n_treated=n, n_control=0, effect=-30, spontaneous=0), **ENDPOINT)
    assert ("cohort.small_n" in codes(c.warnings)) == warned
    assert ("no claim about efficacy" in c.summary) == warned


def test_responder_threshold(make_record):
    records = [
        make_record([100, 100], [(168, 100 - drop)], kind="wash_test_count", pid=f"P{drop}")
        for drop in (0, 10, 20, 30, 60)
    ]
    c = analyze_cohort(records, responder_min_change=20, fit_mixed_model=False, **ENDPOINT)
    assert [e.responder for e in c.endpoints] == [False, False, True, True, True]
    assert c.treated.responders_complete_case.k == 3
    assert "at least 20" in c.responder_definition
    d = analyze_cohort(records, fit_mixed_model=False, **ENDPOINT)  # default: beyond the error (MDC95 27.7)
    assert [e.responder for e in d.endpoints] == [False, False, False, True, True]


def test_endpoint_is_the_closest_followup_in_the_window(make_record):
    rec = make_record([100, 102], [(90, 50), (150, 70), (180, 80), (400, 10)], kind="wash_test_count")
    c = analyze_cohort([rec], fit_mixed_model=False, **ENDPOINT)
    (e,) = c.endpoints
    assert e.status == "complete" and e.date == INDEX + dt.timedelta(days=180) and e.change == -21


def test_not_randomised_and_early_endpoint_warnings(rng, make_cohort):
    records = make_cohort(rng, n_treated=12, n_control=12, effect=-30, spontaneous=0)
    c = analyze_cohort(records, kind="wash_test_count", endpoint_days=168, window_days=28)
    assert "cohort.not_randomised" in codes(c.warnings)
    assert "not randomised" in c.summary
    claim = check_claim("The treatment reduces shedding", c)
    assert not claim.allowed and any("not randomised" in r for r in claim.reasons)
    early = analyze_cohort(
        records, kind="wash_test_count", endpoint_days=60, window_days=14, fit_mixed_model=False
    )
    assert "cohort.early_endpoint" in codes(early.warnings)


def test_patient_caveats_are_counted(make_record):
    records = [
        make_record([150, 100], [(168, 90)], kind="wash_test_count", pid="peak"),
        make_record([100, 110], [(168, 150)], kind="wash_test_count", pid="no-peak"),
    ]
    c = analyze_cohort(records, fit_mixed_model=False, **ENDPOINT)
    assert c.patient_caveat_counts["baseline.at_peak"] == 1
    assert c.patient_caveat_counts["natural_course.acute_shedding"] == 2


def test_too_few_at_the_endpoint_for_a_comparison(make_record):
    records = [make_record([100, 101], [(168, 80)], kind="wash_test_count", pid="T1")]
    records += [
        make_record([100, 102], [(168, 99)], kind="wash_test_count", pid=f"C{i}", group="waitlist")
        for i in range(3)
    ]
    c = analyze_cohort(records, **ENDPOINT)
    assert c.comparison.n_complete == 3 and c.difference_complete_case is None and c.difference_itt is None
    assert "cohort.no_control" in codes(c.warnings) and "cannot be attributed" in c.summary
    assert not c.favourable_difference_shown
    assert not check_claim("It works", c).allowed


# ------------------------------------------------------------------------------------------ adverse events


def test_adverse_event_rates_with_intervals(make_record):
    records = []
    for i in range(12):
        aes = []
        if i < 6:
            aes.append(AdverseEvent(INDEX, "Bruising at the harvest site"))
        if i == 0:
            aes.append(AdverseEvent(INDEX + dt.timedelta(days=2), "bruising at the harvest site "))
        if i == 1:
            aes.append(AdverseEvent(INDEX, "infection", serious=True))
        records.append(
            make_record([100, 101], [(168, 90)], kind="wash_test_count", pid=f"P{i}", adverse_events=aes)
        )
    c = analyze_cohort(records, fit_mixed_model=False, **ENDPOINT)
    rates = {(r.group, r.term): r for r in c.adverse_events}
    bruising = rates[("treated", "bruising at the harvest site")]
    assert (bruising.patients.k, bruising.patients.n, bruising.n_events) == (6, 12, 7)
    assert bruising.patients.method == "wilson"
    assert (bruising.patients.low, bruising.patients.high) == pytest.approx((0.2538, 0.7462), abs=1e-4)
    serious = rates[("treated", "any serious adverse event")]
    assert serious.patients.k == 1 and serious.patients.method == "clopper-pearson"
    anyae = rates[("treated", "any adverse event")]
    assert (anyae.patients.k, anyae.n_events) == (6, 8)
    assert not any(r.group == "comparison" for r in c.adverse_events)


def test_no_serious_event_in_12_patients_has_the_exact_upper_limit(make_record):
    records = [make_record([100, 101], kind="wash_test_count", pid=f"P{i}") for i in range(12)]
    c = analyze_cohort(records, fit_mixed_model=False, **ENDPOINT)
    serious = next(r for r in c.adverse_events if r.term == "any serious adverse event")
    assert serious.patients.k == 0
    assert serious.patients.high == pytest.approx(1 - 0.025 ** (1 / 12))


# ----------------------------------------------------------------------------------------- mixed model


def test_mixed_model_that_does_not_converge_returns_a_warning_not_an_error(make_record):
    records = [make_record([100, 100], [(168, 100)], pid=f"P{i}", kind="wash_test_count") for i in range(5)]
    c = analyze_cohort(records, **ENDPOINT)
    m = c.mixed_model
    assert m.fitted and not m.converged
    assert "model.not_converged" in codes(c.warnings)


def test_mixed_model_not_fitted_with_too_little_data(make_record):
    records = [make_record([100, 104], pid=f"P{i}", kind="wash_test_count") for i in range(4)]
    c = analyze_cohort(records, **ENDPOINT)
    assert not c.mixed_model.fitted and c.mixed_model.estimate is None
    assert "model.not_fitted" in codes(c.warnings)


# --------------------------------------------------------------------------------------- inputs and errors


def test_input_not_modified(rng, make_cohort):
    records = make_cohort(rng, n_treated=6, n_control=4, effect=-10, spontaneous=0, lost=1)
    before = copy.deepcopy(records)
    analyze_cohort(records, **ENDPOINT)
    assert records == before


def test_same_seed_same_result(rng, make_cohort):
    records = make_cohort(rng, n_treated=6, n_control=0, effect=-10, spontaneous=0)
    a = analyze_cohort(records, seed=3, fit_mixed_model=False, **ENDPOINT)
    b = analyze_cohort(records, seed=3, fit_mixed_model=False, **ENDPOINT)
    assert a.treated == b.treated and a.summary == b.summary


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"endpoint_days": 0}, "endpoint_days"),
        ({"window_days": 200}, "window_days"),
        ({"window_days": -1}, "window_days"),
        ({"responder_min_change": -5}, "responder_min_change"),
        ({"randomised": "yes"}, "randomised"),
        ({"as_of": dt.datetime(2026, 1, 1)}, "as_of"),
    ],
)
def test_bad_options_raise_naming_them(make_record, kwargs, match):
    args = {**ENDPOINT, **kwargs}
    with pytest.raises(ValueError, match=match):
        analyze_cohort([make_record([100, 101], kind="wash_test_count")], **args)


def test_bad_records_raise(make_record):
    rec = make_record([100, 101], kind="wash_test_count")
    with pytest.raises(ValueError, match="empty"):
        analyze_cohort([], **ENDPOINT)
    with pytest.raises(ValueError, match="duplicates"):
        analyze_cohort([rec, rec], **ENDPOINT)
    with pytest.raises(ValueError, match="no treated"):
        analyze_cohort([make_record([100, 101], kind="wash_test_count", group="untreated")], **ENDPOINT)
    with pytest.raises(ValueError, match="sequence"):
        analyze_cohort(rec, **ENDPOINT)
