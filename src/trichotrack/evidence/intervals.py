"""Small interval estimators with known answers: the building blocks of the patient and cohort analyses.

All intervals are two-sided 95 % intervals (`LEVEL`). Each returns a frozen `Interval` or `Proportion` that
names its method, so that a report can say how a number was computed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from scipy import stats

__all__ = [
    "LEVEL",
    "Z95",
    "Interval",
    "Proportion",
    "bootstrap_mean_interval",
    "clopper_pearson_interval",
    "mdc95",
    "paired_change_interval",
    "proportion_interval",
    "sd_from_interval",
    "welch_difference_interval",
    "wilson_interval",
]

#: Coverage of every interval the evidence core reports.
LEVEL = 0.95
#: The two-sided 95 % normal quantile (the "1.96" of the MDC formula).
Z95 = NormalDist().inv_cdf(0.5 + LEVEL / 2)


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95 % interval.

    Attributes
    ----------
    estimate, low, high : float
    n : int
        Number of values (patients) behind the estimate.
    method : str
        E.g. ``"t"``, ``"bootstrap percentile"``, ``"welch t"``.
    level : float
    """

    estimate: float
    low: float
    high: float
    n: int
    method: str
    level: float = LEVEL

    @property
    def excludes_zero(self) -> bool:
        """True when the whole interval lies on one side of zero."""
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class Proportion:
    """`k` of `n` with a 95 % interval for the share.

    Attributes
    ----------
    k, n : int
    estimate, low, high : float
        Shares between 0 and 1.
    method : str
        ``"wilson"`` or ``"clopper-pearson"``.
    level : float
    """

    k: int
    n: int
    estimate: float
    low: float
    high: float
    method: str
    level: float = LEVEL


def _values_1d(values, *, name: str, min_n: int) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if array.size < min_n:
        raise ValueError(f"{name} needs at least {min_n} values, got {array.size}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


def _counts(k, n) -> tuple[int, int]:
    if isinstance(k, bool) or isinstance(n, bool) or int(k) != k or int(n) != n:
        raise ValueError(f"k and n must be whole numbers, got k={k!r}, n={n!r}")
    k, n = int(k), int(n)
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n >= 1, got k={k}, n={n}")
    return k, n


def mdc95(sem: float) -> float:
    """Minimal detectable change at 95 %: ``1.96 · √2 · SEM``.

    The smallest difference between two single measurements that measurement error alone produces less
    than 5 % of the time.

    Parameters
    ----------
    sem : float
        Standard error of measurement (within-person SD of one measurement), in the measurement's unit.

    Returns
    -------
    mdc : float
        In the same unit.
    """
    sem = float(sem)
    if not math.isfinite(sem) or sem < 0:
        raise ValueError(f"sem must be a finite number >= 0, got {sem}")
    return Z95 * math.sqrt(2.0) * sem


def sd_from_interval(low: float, high: float, *, level: float) -> float:
    """The SD of a normal error whose central `level` interval is `low` .. `high`.

    E.g. a shed-hair count of 48 with an 80 % interval of 44 .. 53 has an SD of ``9 / (2 · 1.2816) = 3.5``.
    """
    low, high, level = float(low), float(high), float(level)
    if not (math.isfinite(low) and math.isfinite(high)) or high < low:
        raise ValueError(f"need finite low <= high, got low={low}, high={high}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    return (high - low) / (2.0 * NormalDist().inv_cdf(0.5 + level / 2))


def paired_change_interval(changes) -> Interval:
    """Mean of paired changes with its t-based 95 % interval.

    Parameters
    ----------
    changes : (n,) array_like of float
        One change (follow-up minus baseline) per patient; n >= 2. Not modified.
    """
    x = _values_1d(changes, name="changes", min_n=2)
    n = x.size
    mean = float(x.mean())
    half = float(stats.t.ppf(0.5 + LEVEL / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, n=n, method="t")


def bootstrap_mean_interval(values, *, n_resamples: int = 4000, seed: int = 0) -> Interval:
    """Mean with a percentile-bootstrap 95 % interval: an alternative to the t interval for small or skewed
    samples.

    Parameters
    ----------
    values : (n,) array_like of float
        n >= 2. Not modified.
    n_resamples : int
    seed : int
        The same seed gives the same interval.
    """
    x = _values_1d(values, name="values", min_n=2)
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 100:
        raise ValueError(f"n_resamples must be an int >= 100, got {n_resamples!r}")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_resamples, x.size))].mean(axis=1)
    low, high = np.quantile(means, [0.5 - LEVEL / 2, 0.5 + LEVEL / 2])
    return Interval(float(x.mean()), float(low), float(high), n=x.size, method="bootstrap percentile")


def welch_difference_interval(a, b) -> Interval:
    """Difference of means ``mean(a) - mean(b)`` with a Welch t 95 % interval (unequal variances).

    Parameters
    ----------
    a, b : (n,) array_like of float
        At least 2 values each. Not modified.
    """
    a = _values_1d(a, name="a", min_n=2)
    b = _values_1d(b, name="b", min_n=2)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    diff = float(a.mean() - b.mean())
    se = math.sqrt(va + vb)
    if se == 0.0:
        return Interval(diff, diff, diff, n=a.size + b.size, method="welch t")
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(stats.t.ppf(0.5 + LEVEL / 2, df) * se)
    return Interval(diff, diff - half, diff + half, n=a.size + b.size, method="welch t")


def wilson_interval(k: int, n: int) -> Proportion:
    """Share `k` / `n` with the Wilson score 95 % interval."""
    k, n = _counts(k, n)
    z = Z95
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return Proportion(k, n, p, low, high, method="wilson")


def clopper_pearson_interval(k: int, n: int) -> Proportion:
    """Share `k` / `n` with the exact (Clopper–Pearson) 95 % interval; for rare events such as adverse events.

    With ``k = 0`` the upper limit is ``1 - 0.025 ** (1 / n)`` (about 3.7 / n).
    """
    k, n = _counts(k, n)
    alpha = 1 - LEVEL
    low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return Proportion(k, n, k / n, low, high, method="clopper-pearson")


def proportion_interval(k: int, n: int) -> Proportion:
    """Wilson interval, or the exact Clopper–Pearson interval when fewer than 5 patients are on either side
    (rare events, or nearly all)."""
    k, n = _counts(k, n)
    if k < 5 or n - k < 5:
        return clopper_pearson_interval(k, n)
    return wilson_interval(k, n)
