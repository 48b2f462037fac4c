import datetime as dt

import numpy as np
import pytest

from trichotrack.evidence import Measurement, PatientRecord

INDEX = dt.date(2026, 3, 2)


def build_record(
    baseline,
    followups=(),
    *,
    kind="density_per_cm2",
    unit=None,
    index=INDEX,
    baseline_gap_days=7,
    pid="P1",
    group="treated",
    events=(),
    adverse_events=(),
    **tags,
):
    """A record with baseline days ending on the index date (one every `baseline_gap_days`) and follow-ups
    given as ``(days_after_index, value)``."""
    unit = unit or ("hairs/cm2" if kind == "density_per_cm2" else "hairs")
    n = len(baseline)
    ms = [
        Measurement(index - dt.timedelta(days=baseline_gap_days * (n - 1 - i)), v, unit, kind, **tags)
        for i, v in enumerate(baseline)
    ]
    ms += [Measurement(index + dt.timedelta(days=d), v, unit, kind, **tags) for d, v in followups]
    return PatientRecord(pid, index, ms, group=group, events=events, adverse_events=adverse_events)


def simulated_cohort(
    rng, *, n_treated, n_control, effect, spontaneous, sd_between=20.0, sd_within=8.0, lost=0
):
    """Shedding counts: each patient's level, 2 baseline days, one endpoint at 24 weeks. Every patient's
    count changes by `spontaneous` (recovery without treatment); treated patients by `effect` on top. The
    first `lost` treated patients have no endpoint."""
    records = []
    for i in range(n_treated + n_control):
        treated = i < n_treated
        level = rng.normal(120.0, sd_between)
        base = [float(v) for v in level + rng.normal(0, sd_within, 2)]
        end = level + spontaneous + (effect if treated else 0.0) + rng.normal(0, sd_within)
        follow = [] if (treated and i < lost) else [(168, float(end))]
        records.append(
            build_record(
                base,
                follow,
                kind="wash_test_count",
                pid=f"{'T' if treated else 'C'}{i}",
                group="treated" if treated else "untreated",
                days_since_shampoo=5,
            )
        )
    return records


@pytest.fixture
def rng():
    return np.random.default_rng(20260302)


@pytest.fixture
def make_record():
    return build_record


@pytest.fixture
def make_cohort():
    return simulated_cohort
