import copy
import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trichotrack.evidence import Measurement, PatientRecord, analyze_cohort, analyze_patient, check_claim

ENDPOINT = {"kind": "wash_test_count", "endpoint_days": 168, "window_days": 28, "fit_mixed_model": False}


def _one_patient():
    day = dt.date(2026, 3, 2)
    ms = [
        Measurement(day + dt.timedelta(days=d), v, "hairs", "wash_test_count", days_since_shampoo=5)
        for d, v in ((-7, 130), (0, 118), (60, 70))
    ]
    return analyze_patient(PatientRecord("P1", day, ms), kind="wash_test_count")


ONE_PATIENT = _one_patient()


@pytest.fixture
def patient():
    return ONE_PATIENT


@pytest.fixture
def rct(make_cohort):
    """Randomised, 30 + 30 patients, a clear favourable difference in shedding."""
    records = make_cohort(
        np.random.default_rng(7), n_treated=30, n_control=30, effect=-25.0, spontaneous=-20.0
    )
    return analyze_cohort(records, randomised=True, **ENDPOINT)


@pytest.mark.parametrize(
    ("sentence", "category"),
    [
        ("This treatment regrows hair.", "regrowth"),
        ("SVF cures hair loss", "absolute"),
        ("Clinically shown to stop shedding", "proof"),
        ("Proven results in 2 months", "proof"),
        ("Our FDA-approved stem-cell therapy", "regulatory"),
        ("Guaranteed thicker hair", "absolute"),
        ("It works.", "efficacy"),
        ("An effective treatment for telogen effluvium", "efficacy"),
        ("Reduces shedding after one session", "efficacy"),
        ("Hair growth restored", "regrowth"),
    ],
)
def test_efficacy_wording_is_refused_for_one_patient(patient, sentence, category):
    result = check_claim(sentence, patient)
    assert not result.allowed
    assert category in result.categories
    assert result.reasons and all(isinstance(r, str) and r for r in result.reasons)


def test_reasons_name_the_patients_own_warnings(patient):
    result = check_claim("This treatment regrows hair", patient)
    text = " ".join(result.reasons)
    assert "single patient" in text and "baseline.at_peak" in text and "shedding, not regrowth" in text


@pytest.mark.parametrize(
    "sentence",
    [
        "The wash-test count fell from 124 to 70 hairs in one patient, 9 weeks after treatment.",
        "One patient; no comparison group; the change may reflect the natural course of shedding.",
        "This treatment is experimental and unproven; results vary and are not typical.",
    ],
)
def test_descriptive_wording_is_allowed(patient, sentence):
    result = check_claim(sentence, patient)
    assert result.allowed and result.reasons == () and result.terms == ()


def test_a_randomised_favourable_cohort_supports_reduced_shedding_but_not_regrowth_or_cures(rct):
    assert check_claim("In a randomised trial the treatment reduced shedding.", rct).allowed
    regrow = check_claim("The treatment regrows hair", rct)
    assert not regrow.allowed and any("not regrowth" in r for r in regrow.reasons)
    assert not check_claim("The treatment cures shedding", rct).allowed
    assert not check_claim("FDA approved", rct).allowed


def test_cohort_without_control_refuses_efficacy(make_cohort):
    records = make_cohort(
        np.random.default_rng(1), n_treated=30, n_control=0, effect=-25.0, spontaneous=-20.0
    )
    c = analyze_cohort(records, **ENDPOINT)
    result = check_claim("Clinically proven to reduce shedding", c)
    assert not result.allowed and any("no untreated comparison group" in r for r in result.reasons)


def test_small_randomised_cohort_refuses_efficacy(make_cohort):
    records = make_cohort(np.random.default_rng(2), n_treated=6, n_control=6, effect=-60.0, spontaneous=0.0)
    c = analyze_cohort(records, randomised=True, **ENDPOINT)
    assert c.favourable_difference_shown
    result = check_claim("The treatment reduces shedding", c)
    assert not result.allowed and any("fewer than 10" in r for r in result.reasons)


def test_unfavourable_or_null_difference_refuses_efficacy(make_cohort):
    records = make_cohort(np.random.default_rng(3), n_treated=30, n_control=30, effect=+25.0, spontaneous=0.0)
    c = analyze_cohort(records, randomised=True, **ENDPOINT)
    result = check_claim("The treatment reduces shedding", c)
    assert not result.allowed and any("favourable side" in r for r in result.reasons)


def test_regrowth_wording_can_rest_on_a_randomised_density_trial(make_record):
    rng = np.random.default_rng(4)
    records = []
    for i in range(40):
        treated = i < 20
        level = rng.normal(150, 20)
        base = list(level + rng.normal(0, 5, 2))
        end = level + (25 if treated else 0) + rng.normal(0, 5)
        records.append(
            make_record(base, [(168, end)], pid=f"P{i}", group="treated" if treated else "untreated")
        )
    c = analyze_cohort(
        records,
        kind="density_per_cm2",
        endpoint_days=168,
        window_days=28,
        randomised=True,
        fit_mixed_model=False,
    )
    assert check_claim(
        "In a randomised trial, treated patients regrew hair compared with untreated ones", c
    ).allowed


_TERMS = [
    "regrows",
    "cures",
    "proven",
    "clinically shown",
    "works",
    "effective",
    "reduces shedding",
    "thicker",
]


@settings(max_examples=100, deadline=None)
@given(
    before=st.text(alphabet="abcdefghijklmnopqrstuvwxyz ,.", max_size=30),
    term=st.sampled_from(_TERMS),
    after=st.text(alphabet="abcdefghijklmnopqrstuvwxyz ,.", max_size=30),
    upper=st.booleans(),
)
def test_no_efficacy_wording_ever_passes_on_one_patients_data(before, term, after, upper):
    term = term.upper() if upper else term
    result = check_claim(f"{before} {term} {after}", ONE_PATIENT)
    assert not result.allowed
    assert any(term.casefold() in t.casefold() or t.casefold() in term.casefold() for t in result.terms)


def test_bad_inputs_raise_and_analysis_not_modified(patient):
    before = copy.deepcopy(patient)
    check_claim("It regrows hair", patient)
    assert patient == before
    with pytest.raises(ValueError, match="sentence"):
        check_claim("  ", patient)
    with pytest.raises(ValueError, match="analysis"):
        check_claim("fine", {"n": 3})
