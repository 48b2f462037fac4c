import copy
import datetime as dt
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trichotrack.evidence import (
    VERDICTS,
    Event,
    KindInfo,
    Measurement,
    PatientRecord,
    analyze_patient,
    check_claim,
)

INDEX = dt.date(2026, 3, 2)


def codes(caveats):
    return {c.code for c in caveats}


# ------------------------------------------------------------------------------------ baseline and error


def test_known_answer_with_sem_from_three_baseline_days(make_record):
    # Baseline 150, 160, 140: mean 150, SD 10 = SEM, MDC95 = 27.72. Change +40 at 24 weeks.
    # SE = 10 · √(1/3 + 1) = 11.547; t(2) = 4.3027 -> 40 ± 49.68: the interval includes 0, so even though
    # 40 > MDC95 the change is not called larger than the measurement error.
    a = analyze_patient(make_record([150, 160, 140], [(168, 190)]), kind="density_per_cm2")
    assert (
        a.baseline.value == 150 and a.baseline.n_days == 3 and a.baseline.sd_between_days == pytest.approx(10)
    )
    assert a.error.source == "baseline_repeats" and a.error.df == 2
    assert a.error.sem == pytest.approx(10) and a.error.mdc95 == pytest.approx(27.72, abs=0.01)
    (f,) = a.followups
    assert f.change == 40 and f.percent_change == pytest.approx(100 * 40 / 150)
    assert (f.low, f.high) == pytest.approx((40 - 49.68, 40 + 49.68), abs=0.01)
    assert f.verdict == "no_change_beyond_error"
    assert "no change beyond measurement error" in f.sentence


def test_known_answer_with_a_supplied_test_retest_sd(make_record):
    # A known SD of 12 beats the baseline SD of 10 and is taken as known (normal quantile):
    # SE = 12 · 1.1547 = 13.856 -> 40 ± 27.16; MDC95 = 33.26 < 40: an increase beyond the error.
    a = analyze_patient(make_record([150, 160, 140], [(168, 190)]), kind="density_per_cm2", test_retest_sd=12)
    assert a.error.source == "test_retest_sd" and a.error.df is None
    assert a.error.mdc95 == pytest.approx(33.26, abs=0.01)
    (f,) = a.followups
    assert (f.low, f.high) == pytest.approx((12.84, 67.16), abs=0.01)
    assert f.verdict == "increase_beyond_error"
    assert "an increase larger than the measurement error" in f.sentence
    assert "does not show what caused it" in f.sentence


def test_shed_counts_get_a_poisson_floor(make_record):
    # Baseline 100 and 102 (SD 1.4) cannot mean a wash test varies by 1 hair: the floor is √101.
    a = analyze_patient(make_record([100, 102], [(168, 80)], kind="wash_test_count"), kind="wash_test_count")
    assert a.error.source == "poisson_floor"
    assert a.error.sem == pytest.approx(math.sqrt(101))
    assert "error.poisson_floor" in codes(a.warnings)


def test_count_interval_as_error_model_warns_that_it_covers_counting_only(make_record):
    day = INDEX
    ms = [
        Measurement(day, 148, "hairs/cm2", "density_per_cm2", low=140, high=156, interval_level=0.8),
        Measurement(day + dt.timedelta(days=170), 120, "hairs/cm2", "density_per_cm2", low=112, high=128,
                    interval_level=0.8),
    ]  # fmt: skip
    a = analyze_patient(PatientRecord("P1", INDEX, ms), kind="density_per_cm2")
    assert a.error.source == "measurement_intervals"
    assert a.error.sem == pytest.approx(16 / (2 * 1.281552), rel=1e-4)
    assert {"baseline.too_few", "error.counting_only"} <= codes(a.warnings)


def test_unknown_error_gives_no_interval_and_no_verdict_beyond_it(make_record):
    a = analyze_patient(make_record([150], [(168, 60)]), kind="density_per_cm2")
    assert a.error is None
    (f,) = a.followups
    assert f.verdict == "error_unknown" and f.low is None and f.high is None
    assert f.change == -90
    assert "cannot be told apart" in f.sentence
    assert {"baseline.too_few", "error.unknown"} <= codes(a.warnings)


def test_identical_baseline_days_say_nothing_about_error(make_record):
    a = analyze_patient(make_record([150, 150], [(168, 100)]), kind="density_per_cm2")
    assert a.error is None
    assert "identical" in next(c.message for c in a.warnings if c.code == "error.unknown")


def test_no_baseline_and_no_followup(make_record):
    rec = PatientRecord(
        "P1", INDEX, [Measurement(INDEX + dt.timedelta(days=30), 90, "hairs/cm2", "density_per_cm2")]
    )
    a = analyze_patient(rec, kind="density_per_cm2")
    assert a.baseline is None and a.followups[0].verdict == "no_baseline"
    assert "baseline.missing" in codes(a.warnings)
    b = analyze_patient(make_record([150, 155]), kind="density_per_cm2")
    assert b.followups == () and "followup.missing" in codes(b.warnings)
    assert "No follow-up" in b.summary


def test_same_day_repeats_are_averaged_and_do_not_shrink_the_error(make_record):
    rec = make_record([150, 160, 140], [(168, 180), (168, 200)])
    a = analyze_patient(rec, kind="density_per_cm2")
    (f,) = a.followups
    assert f.value == 190 and f.n_measurements == 2
    assert (f.low, f.high) == pytest.approx((40 - 49.68, 40 + 49.68), abs=0.01)


# ----------------------------------------------------------------------------------------------- warnings


@settings(max_examples=150, deadline=None)
@given(
    baseline=st.lists(st.integers(20, 300), min_size=1, max_size=4),
    follow=st.lists(st.integers(20, 300), min_size=1, max_size=4),
    higher_is_better=st.booleans(),
)
def test_regression_to_the_mean_warning_exactly_when_baseline_holds_the_worst_value(
    baseline, follow, higher_is_better
):
    kind = "density_per_cm2" if higher_is_better else "wash_test_count"
    n = len(baseline)
    ms = [Measurement(INDEX - dt.timedelta(days=7 * i), v, "u", kind) for i, v in enumerate(baseline)]
    ms += [Measurement(INDEX + dt.timedelta(days=120 + 30 * i), v, "u", kind) for i, v in enumerate(follow)]
    a = analyze_patient(PatientRecord("P", INDEX, ms), kind=kind)
    worst = min(baseline + follow) if higher_is_better else max(baseline + follow)
    assert ("baseline.at_peak" in codes(a.warnings)) == (worst in baseline)
    assert n == a.baseline.n_days


def test_regression_to_the_mean_needs_a_followup(make_record):
    a = analyze_patient(make_record([200, 100], kind="wash_test_count"), kind="wash_test_count")
    assert "baseline.at_peak" not in codes(a.warnings)


def test_season_mismatch_between_march_and_october_but_not_a_year_later(make_record):
    rec = make_record([150, 152], [(213, 140), (368, 140)], kind="density_per_cm2")  # 2026-10-01, 2027-03-05
    a = analyze_patient(rec, kind="density_per_cm2")
    october, next_march = a.followups
    assert october.date == dt.date(2026, 10, 1) and next_march.date == dt.date(2027, 3, 5)
    message = next(c.message for c in october.warnings if c.code == "season.mismatch")
    assert "823 healthy women" in message and "July" in message and "autumn" in message
    assert "season.mismatch" not in codes(next_march.warnings)


def test_season_threshold_is_45_calendar_days(make_record):
    index = dt.date(2026, 1, 10)
    rec = make_record([150], [(409, 140), (411, 140)], index=index)  # 2027-02-23 (44 d), 2027-02-25 (46 d)
    a = analyze_patient(rec, kind="density_per_cm2", test_retest_sd=5)
    near, far = a.followups
    assert near.date == dt.date(2027, 2, 23)
    assert "season.mismatch" not in codes(near.warnings)
    assert "season.mismatch" in codes(far.warnings)


def test_season_names_autumn_per_hemisphere(make_record):
    rec = make_record([150, 152], [(213, 140)], baseline_gap_days=1)  # 1 and 2 March -> 1 October
    north = analyze_patient(rec, kind="density_per_cm2", hemisphere="north").followups[0].warnings
    south = analyze_patient(rec, kind="density_per_cm2", hemisphere="south").followups[0].warnings
    assert any("follow-up falls in the autumn" in c.message for c in north)
    assert any("baseline falls in the autumn" in c.message for c in south)


@pytest.mark.parametrize(("days", "warned"), [(29, False), (30, True), (75, True), (183, True), (184, False)])
def test_surgery_1_to_6_months_before_a_followup_is_a_possible_trigger(make_record, days, warned):
    lipo = Event(INDEX, "surgery", "liposuction for the fat harvest")
    a = analyze_patient(make_record([150, 155], [(days, 120)], events=(lipo,)), kind="density_per_cm2")
    assert ("procedure.possible_trigger" in codes(a.followups[0].warnings)) == warned


def test_surgery_before_the_baseline_warns_that_the_baseline_may_be_raised(make_record):
    operation = Event(INDEX - dt.timedelta(days=70), "surgery", "knee operation")
    rec = make_record([150, 155, 160], kind="wash_test_count", events=(operation,))
    a = analyze_patient(rec, kind="wash_test_count")
    found = [c for c in a.warnings if c.code == "procedure.possible_trigger"]
    assert len(found) == 1 and "baseline may be raised" in found[0].message


def test_other_trigger_is_flagged(make_record):
    fever = Event(INDEX + dt.timedelta(days=10), "trigger", "fever 39 °C")
    a = analyze_patient(make_record([150, 155], [(100, 120)], events=(fever,)), kind="density_per_cm2")
    assert "trigger.possible" in codes(a.followups[0].warnings)


def test_natural_course_of_acute_and_chronic_shedding(make_record):
    rec = make_record([150, 155], [(168, 100)], kind="wash_test_count")
    assert "natural_course.acute_shedding" in codes(analyze_patient(rec, kind="wash_test_count").warnings)
    recent = Event(INDEX - dt.timedelta(days=60), "shedding_onset")
    rec = make_record([150, 155], [(168, 100)], kind="wash_test_count", events=(recent,))
    found = [c for c in analyze_patient(rec, kind="wash_test_count").warnings if c.code.startswith("natural")]
    assert [c.code for c in found] == ["natural_course.acute_shedding"]
    assert "3–6 months" in found[0].message and "9 weeks" in found[0].message
    old = Event(INDEX - dt.timedelta(days=400), "shedding_onset")
    rec = make_record([150, 155], [(168, 100)], kind="wash_test_count", events=(old,))
    assert "natural_course.chronic_fluctuation" in codes(
        analyze_patient(rec, kind="wash_test_count").warnings
    )


def test_natural_course_for_density_only_with_a_recent_onset(make_record):
    rec = make_record([150, 155], [(168, 170)])
    assert not any(
        c.code.startswith("natural") for c in analyze_patient(rec, kind="density_per_cm2").warnings
    )
    recent = Event(INDEX - dt.timedelta(days=60), "shedding_onset")
    rec = make_record([150, 155], [(168, 170)], events=(recent,))
    assert "natural_course.acute_shedding" in codes(analyze_patient(rec, kind="density_per_cm2").warnings)


@pytest.mark.parametrize(
    ("start_days", "warned"),
    [(-400, False), (-100, True), (30, True), (200, False)],  # relative to the index; follow-up at 168
)
def test_concurrent_treatment_started(make_record, start_days, warned):
    minoxidil = Event(INDEX + dt.timedelta(days=start_days), "concurrent_treatment", "minoxidil 5 %")
    a = analyze_patient(make_record([150, 155], [(168, 170)], events=(minoxidil,)), kind="density_per_cm2")
    assert ("concurrent_treatment.started" in codes(a.followups[0].warnings)) == warned


def test_shampoo_interval_change_and_unknown_interval():
    def rec(base_days, follow_days):
        ms = [
            Measurement(INDEX - dt.timedelta(days=7 * i), 100 + i, "hairs", "wash_test_count",
                        days_since_shampoo=d)
            for i, d in enumerate(base_days)
        ]  # fmt: skip
        ms.append(
            Measurement(
                INDEX + dt.timedelta(days=168), 80, "hairs", "wash_test_count", days_since_shampoo=follow_days
            )
        )
        return analyze_patient(PatientRecord("P", INDEX, ms), kind="wash_test_count")

    changed = rec([5, 5], 3)
    assert "protocol.shampoo_interval_changed" in codes(changed.followups[0].warnings)
    assert any("5 days" in c.message for c in changed.followups[0].warnings)
    same = rec([5, 5], 5)
    assert "protocol.shampoo_interval_changed" not in codes(same.followups[0].warnings)
    assert "protocol.shampoo_interval_unknown" not in codes(same.warnings)
    unknown = rec([5, None], 5)
    assert "protocol.shampoo_interval_unknown" in codes(unknown.warnings)


def test_hair_state_change_ignores_case_and_spaces(make_record):
    ms = [
        Measurement(INDEX, 150, "hairs/cm2", "density_per_cm2", hair_state="Shoulder length, natural"),
        Measurement(INDEX + dt.timedelta(days=168), 160, "hairs/cm2", "density_per_cm2",
                    hair_state=" shoulder  length, natural "),
        Measurement(INDEX + dt.timedelta(days=200), 160, "hairs/cm2", "density_per_cm2",
                    hair_state="short, dyed"),
    ]  # fmt: skip
    a = analyze_patient(PatientRecord("P", INDEX, ms), kind="density_per_cm2", test_retest_sd=5)
    same, changed = a.followups
    assert "protocol.hair_state_changed" not in codes(same.warnings)
    assert "protocol.hair_state_changed" in codes(changed.warnings)


def test_a_count_on_another_surface_is_not_compared_as_like_with_like():
    # Light hair counted on the card's white field at baseline (the white hairs did not show) and on its
    # dark field later: the "rise" is the surface.
    def rec(follow_surface):
        ms = [
            Measurement(INDEX - dt.timedelta(days=d), 40, "hairs", "wash_test_count", days_since_shampoo=5,
                        surface="card, white field")
            for d in (30, 10)
        ]  # fmt: skip
        ms.append(
            Measurement(INDEX + dt.timedelta(days=168), 90, "hairs", "wash_test_count", days_since_shampoo=5,
                        surface=follow_surface)
        )  # fmt: skip
        return analyze_patient(PatientRecord("P", INDEX, ms), kind="wash_test_count")

    changed = rec("card, dark field").followups[0].warnings
    assert "protocol.surface_changed" in codes(changed)
    (caveat,) = [c for c in changed if c.code == "protocol.surface_changed"]
    assert "“card, white field”" in caveat.message and "“card, dark field”" in caveat.message
    assert "protocol.surface_changed" not in codes(rec("Card,  white field ").followups[0].warnings)
    assert "protocol.surface_changed" not in codes(rec(None).followups[0].warnings)  # not known: not judged
    with pytest.raises(ValueError, match="surface must be a string"):
        Measurement(INDEX, 40, "hairs", "wash_test_count", surface=3)


@pytest.mark.parametrize(("days", "warned"), [(60, True), (111, True), (112, False)])
def test_followup_earlier_than_16_weeks(make_record, days, warned):
    a = analyze_patient(make_record([150, 155], [(days, 170)]), kind="density_per_cm2")
    assert ("followup.early" in codes(a.followups[0].warnings)) == warned


def test_the_documented_case_two_months_after_liposuction(make_record):
    """One patient, shedding of unknown start, treated with a liposuction harvest, better at 2 months."""
    lipo = Event(INDEX, "surgery", "liposuction for the fat harvest")
    rec = make_record([180], [(60, 90)], kind="wash_test_count", events=(lipo,), days_since_shampoo=5)
    a = analyze_patient(rec, kind="wash_test_count")
    expected = {
        "baseline.too_few",
        "error.poisson_floor",
        "natural_course.acute_shedding",
        "baseline.at_peak",
        "followup.early",
        "procedure.possible_trigger",
        "season.mismatch",
    }
    assert expected <= codes(a.all_warnings())
    claim = check_claim("The treatment worked: her shedding stopped", a)
    assert not claim.allowed


# --------------------------------------------------------------------------------- wording and intervals

_OVERSTATEMENTS = re.compile(
    r"treatment (worked|works)|effective|efficacy|improv|cured?\b|proven|regrow|caused by the treatment",
    re.IGNORECASE,
)


@settings(max_examples=200, deadline=None)
@given(
    baseline=st.lists(st.floats(1, 400, allow_nan=False), min_size=1, max_size=5),
    follow=st.floats(0, 400, allow_nan=False),
    days=st.integers(1, 400),
    sd=st.one_of(st.none(), st.floats(0.5, 50)),
    kind=st.sampled_from(["density_per_cm2", "wash_test_count", "shaft_width_um"]),
)
def test_wording_never_claims_more_than_the_interval_allows(baseline, follow, days, sd, kind):
    ms = [Measurement(INDEX - dt.timedelta(days=3 * i), v, "u", kind) for i, v in enumerate(baseline)]
    ms.append(Measurement(INDEX + dt.timedelta(days=days), follow, "u", kind))
    a = analyze_patient(PatientRecord("P", INDEX, ms), kind=kind, test_retest_sd=sd)
    (f,) = a.followups
    assert VERDICTS[f.verdict] in f.sentence
    assert not _OVERSTATEMENTS.search(f.sentence)
    assert check_claim(f.sentence, a).allowed
    if f.verdict in ("decrease_beyond_error", "increase_beyond_error"):
        assert f.low > 0 or f.high < 0
        assert abs(f.change) > a.error.mdc95
        assert (f.change < 0) == (f.verdict == "decrease_beyond_error")
    elif a.error is not None:
        assert f.verdict == "no_change_beyond_error"
        assert "no change beyond measurement error" in f.sentence
        assert (f.low <= 0 <= f.high) or abs(f.change) <= a.error.mdc95
    else:
        assert f.verdict == "error_unknown" and f.low is None


@pytest.mark.parametrize(("n_baseline", "sd"), [(3, 10.0), (4, None)])
def test_change_interval_covers_the_true_change_95_percent_of_1000_patients(n_baseline, sd):
    """Known SD (normal quantile) or SD from the baseline days (t with n - 1 df): both cover 95 %."""
    rng = np.random.default_rng(5)
    true_change, hits = -15.0, 0
    for _ in range(1000):
        level = rng.normal(150, 30)
        values = level + rng.normal(0, 10.0, n_baseline + 1)
        values[-1] += true_change
        ms = [
            Measurement(INDEX - dt.timedelta(days=i), v, "u", "density_per_cm2")
            for i, v in enumerate(values[:-1])
        ]
        ms.append(Measurement(INDEX + dt.timedelta(days=168), values[-1], "u", "density_per_cm2"))
        (f,) = analyze_patient(
            PatientRecord("P", INDEX, ms), kind="density_per_cm2", test_retest_sd=sd
        ).followups
        hits += f.low <= true_change <= f.high
    assert 0.93 <= hits / 1000 <= 0.97


# --------------------------------------------------------------------------------------- inputs and errors


def test_input_not_modified(make_record):
    lipo = Event(INDEX, "surgery", "liposuction")
    rec = make_record([150, 160, 140], [(60, 120), (168, 190)], events=[lipo], days_since_shampoo=5)
    before = copy.deepcopy(rec)
    analyze_patient(rec, kind="density_per_cm2", test_retest_sd=4)
    assert rec == before


def test_other_kinds_are_ignored_and_units_must_agree(make_record):
    rec = make_record([150, 160], [(168, 190)])
    extra = Measurement(INDEX, 999, "hairs", "wash_test_count")
    a = analyze_patient(PatientRecord("P", INDEX, (*rec.measurements, extra)), kind="density_per_cm2")
    assert a.baseline.value == 155
    mixed = (*rec.measurements, Measurement(INDEX, 15, "hairs/mm2", "density_per_cm2"))
    with pytest.raises(ValueError, match="mix units"):
        analyze_patient(PatientRecord("P", INDEX, mixed), kind="density_per_cm2")


def test_unknown_kind_needs_kind_info(make_record):
    rec = make_record([4, 5], [(168, 3)], kind="sinclair_grade", unit="grade")
    with pytest.raises(ValueError, match="sinclair_grade"):
        analyze_patient(rec, kind="sinclair_grade")
    info = KindInfo("Sinclair shedding grade", higher_is_better=False, shedding=True, event_count=False)
    a = analyze_patient(rec, kind="sinclair_grade", kind_info=info)
    assert a.label == "Sinclair shedding grade" and a.followups[0].change == -1.5
    wrong = KindInfo("density", higher_is_better=False, shedding=False, event_count=False)
    with pytest.raises(ValueError, match="contradicts"):
        analyze_patient(rec, kind="density_per_cm2", kind_info=wrong)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"test_retest_sd": -1}, "test_retest_sd"),
        ({"hemisphere": "east"}, "hemisphere"),
        ({"kind": ""}, "kind"),
    ],
)
def test_bad_options_raise_naming_them(make_record, kwargs, match):
    args = {"kind": "density_per_cm2", **kwargs}
    with pytest.raises(ValueError, match=match):
        analyze_patient(make_record([150, 160]), **args)
    with pytest.raises(ValueError, match="PatientRecord"):
        analyze_patient([1, 2], kind="density_per_cm2")


# ------------------------------------------------------------------------------------ global-view kinds


@pytest.mark.parametrize(
    "kind",
    [
        "scalp_visible_pct_vertex",
        "scalp_visible_pct_frontal",
        "scalp_visible_pct_midpart",
        "scalp_visible_pct_temporal_left",
        "scalp_visible_pct_temporal_right",
        "hairline_recession_index",
        "part_width_mm",
    ],
)
def test_global_view_kinds_are_known_and_more_is_worse(kind):
    from trichotrack.evidence import KINDS

    info = KINDS[kind]
    assert not info.higher_is_better and not info.shedding and not info.event_count


def test_a_known_re_photography_sd_gives_the_interval_with_one_baseline_day(make_record):
    # Vertex, visible scalp 40 % before, 48 % and 60 % after; SD 4.9 points (bench/results/scalp.md).
    # One baseline day: SE = 4.9 · √2 = 6.93, MDC95 = 13.58; +8 is inside it, +20 is beyond it (interval
    # 20 ± 13.58 = 6.42 to 33.58, excludes 0).
    record = make_record([40], [(56, 48), (168, 60)], kind="scalp_visible_pct_vertex", unit="% of the region")
    a = analyze_patient(record, kind="scalp_visible_pct_vertex", test_retest_sd=4.9)
    assert a.error.source == "test_retest_sd" and a.error.df is None
    assert a.error.mdc95 == pytest.approx(13.58, abs=0.01)
    early, late = a.followups
    assert early.verdict == "no_change_beyond_error"
    assert late.verdict == "increase_beyond_error"
    assert (late.low, late.high) == (pytest.approx(6.42, abs=0.01), pytest.approx(33.58, abs=0.01))
    assert "an increase larger than the measurement error" in late.sentence
    assert "error.external_sd" in codes(a.warnings) and "baseline.too_few" in codes(a.warnings)
    # Without the known SD, one baseline day leaves the error unknown: nothing is claimed.
    bare = analyze_patient(record, kind="scalp_visible_pct_vertex")
    assert bare.error is None and {f.verdict for f in bare.followups} == {"error_unknown"}


def test_the_external_sd_warning_is_not_shown_when_the_patients_days_are_known(make_record):
    record = make_record([0.40, 0.41], [(168, 0.45)], kind="hairline_recession_index", unit="(0-1)")
    a = analyze_patient(record, kind="hairline_recession_index", test_retest_sd=0.083)
    assert a.error.source == "test_retest_sd" and "error.external_sd" not in codes(a.warnings)
    assert a.followups[0].verdict == "no_change_beyond_error"
