import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from trichotrack.evidence import (
    bootstrap_mean_interval,
    clopper_pearson_interval,
    mdc95,
    paired_change_interval,
    proportion_interval,
    sd_from_interval,
    welch_difference_interval,
    wilson_interval,
)

# ------------------------------------------------------------------------------------------ known answers


def test_mdc95_from_a_given_sem():
    # 1.96 · √2 · 10 = 27.72
    assert mdc95(10.0) == pytest.approx(27.72, abs=0.01)
    assert mdc95(0.0) == 0.0


@pytest.mark.parametrize("sem", [-1.0, math.nan, math.inf])
def test_mdc95_rejects_bad_sem(sem):
    with pytest.raises(ValueError, match="sem"):
        mdc95(sem)


def test_sd_from_an_80_percent_count_interval():
    # 44 .. 53 at 80 %: z(0.90) = 1.2816, SD = 9 / 2.5631 = 3.511
    assert sd_from_interval(44, 53, level=0.80) == pytest.approx(3.511, abs=0.001)
    assert sd_from_interval(40, 60, level=0.95) == pytest.approx(10 / 1.96, rel=1e-3)


def test_sd_from_interval_rejects_reversed_bounds_and_bad_level():
    with pytest.raises(ValueError, match="low"):
        sd_from_interval(5, 4, level=0.8)
    with pytest.raises(ValueError, match="level"):
        sd_from_interval(4, 5, level=1.0)


def test_wilson_textbook_example():
    # Newcombe, Stat Med 1998;17:857, example 81/263: Wilson interval 0.2553 to 0.3662.
    p = wilson_interval(81, 263)
    assert (p.low, p.high) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert p.estimate == pytest.approx(81 / 263)
    assert p.method == "wilson"


def test_wilson_zero_and_all_by_hand():
    z2 = 1.959964**2
    zero = wilson_interval(0, 10)
    assert zero.low == 0.0
    assert zero.high == pytest.approx(z2 / (10 + z2), abs=1e-6)  # 0.2775
    full = wilson_interval(10, 10)
    assert full.low == pytest.approx(10 / (10 + z2), abs=1e-6)
    assert full.high == 1.0


@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 7), (3, 12), (15, 40), (99, 100), (250, 1000)])
def test_wilson_and_clopper_pearson_match_statsmodels(k, n):
    w = wilson_interval(k, n)
    assert (w.low, w.high) == pytest.approx(proportion_confint(k, n, alpha=0.05, method="wilson"), abs=1e-9)
    cp = clopper_pearson_interval(k, n)
    assert (cp.low, cp.high) == pytest.approx(proportion_confint(k, n, alpha=0.05, method="beta"), abs=1e-9)


def test_clopper_pearson_zero_events_by_hand():
    # No event in n patients: upper limit 1 - 0.025^(1/n); 0.3085 for n = 10 (the "rule of 3.7/n").
    p = clopper_pearson_interval(0, 10)
    assert p.low == 0.0
    assert p.high == pytest.approx(1 - 0.025 ** (1 / 10), abs=1e-9)
    assert p.high == pytest.approx(0.3085, abs=1e-4)
    p = clopper_pearson_interval(12, 12)
    assert p.low == pytest.approx(0.025 ** (1 / 12), abs=1e-9)
    assert p.high == 1.0


def test_proportion_interval_uses_exact_for_rare_events():
    assert proportion_interval(2, 40).method == "clopper-pearson"
    assert proportion_interval(38, 40).method == "clopper-pearson"
    assert proportion_interval(20, 40).method == "wilson"


@pytest.mark.parametrize(("k", "n"), [(-1, 5), (6, 5), (0, 0), (1.5, 4), (True, 4)])
def test_proportions_reject_bad_counts(k, n):
    with pytest.raises(ValueError, match="k"):
        wilson_interval(k, n)


def test_paired_t_interval_by_hand_and_against_scipy():
    # 1..5: mean 3, SD 1.5811, SE 0.7071, t(4) = 2.7764 -> 3 ± 1.9632
    iv = paired_change_interval([1, 2, 3, 4, 5])
    assert (iv.estimate, iv.low, iv.high) == pytest.approx((3.0, 1.0368, 4.9632), abs=1e-4)
    x = np.random.default_rng(1).normal(-12, 9, 17)
    ci = stats.ttest_1samp(x, 0).confidence_interval(0.95)
    iv = paired_change_interval(x)
    assert (iv.low, iv.high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert iv.n == 17 and iv.method == "t"


def test_welch_interval_against_scipy():
    rng = np.random.default_rng(2)
    a, b = rng.normal(-20, 10, 12), rng.normal(-5, 25, 9)
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    iv = welch_difference_interval(a, b)
    assert iv.estimate == pytest.approx(a.mean() - b.mean())
    assert (iv.low, iv.high) == pytest.approx((ci.low, ci.high), rel=1e-10)


def test_bootstrap_is_reproducible_and_close_to_t_for_normal_data():
    x = np.random.default_rng(3).normal(5, 2, 40)
    a, b = bootstrap_mean_interval(x, seed=7), bootstrap_mean_interval(x, seed=7)
    assert a == b
    t = paired_change_interval(x)
    assert a.low < x.mean() < a.high
    assert (a.low, a.high) == pytest.approx((t.low, t.high), abs=0.2)


@pytest.mark.parametrize("values", [[1.0], [1.0, np.nan], [[1.0, 2.0]]])
def test_intervals_reject_too_few_or_bad_values(values):
    with pytest.raises(ValueError, match="changes"):
        paired_change_interval(values)


def test_inputs_not_modified():
    x = np.array([3.0, -1.0, 2.0, 8.0])
    y = np.array([1.0, 0.5, 2.0])
    x0, y0 = x.copy(), y.copy()
    paired_change_interval(x)
    bootstrap_mean_interval(x)
    welch_difference_interval(x, y)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


# ----------------------------------------------------------------------------------------------- coverage


def test_paired_t_interval_covers_the_true_change_95_percent_of_1000_cohorts():
    rng = np.random.default_rng(11)
    true_change = -15.0
    hits = 0
    for _ in range(1000):
        iv = paired_change_interval(rng.normal(true_change, 20.0, 12))
        hits += iv.low <= true_change <= iv.high
    assert 0.93 <= hits / 1000 <= 0.97


def test_welch_interval_covers_the_true_difference_95_percent_of_1000_cohorts():
    rng = np.random.default_rng(12)
    hits = 0
    for _ in range(1000):
        iv = welch_difference_interval(rng.normal(-25.0, 15.0, 10), rng.normal(-10.0, 30.0, 14))
        hits += iv.low <= -15.0 <= iv.high
    assert 0.93 <= hits / 1000 <= 0.97


def test_wilson_interval_covers_the_true_share_about_95_percent():
    rng = np.random.default_rng(13)
    ks = rng.binomial(40, 0.3, 2000)
    hits = sum(wilson_interval(int(k), 40).low <= 0.3 <= wilson_interval(int(k), 40).high for k in ks)
    assert 0.93 <= hits / 2000 <= 0.97
