"""Pure statistics core: per-patient change beyond measurement error, cohort statistics that count every
patient, and a check of publication wording against what the data support.

No Django, no file access, no printing: plain frozen dataclasses in (`records`), frozen dataclasses out.
Every number comes with its interval and every result with the warnings that belong next to it
(`Caveat`: a code and a plain sentence).

Typical use::

    analysis = analyze_patient(record, kind="wash_test_count")
    for followup in analysis.followups:
        show(followup.sentence, followup.warnings)

    cohort = analyze_cohort(records, kind="wash_test_count", endpoint_days=168, window_days=28)
    check_claim("Our treatment regrows hair", cohort).allowed  # False without a randomised control
"""

from trichotrack.evidence.caveats import CODES, Caveat
from trichotrack.evidence.claims import ClaimCheck, check_claim
from trichotrack.evidence.cohort import (
    AdverseEventRate,
    CohortAnalysis,
    GroupSummary,
    MixedModelResult,
    PatientEndpoint,
    analyze_cohort,
)
from trichotrack.evidence.intervals import (
    Interval,
    Proportion,
    bootstrap_mean_interval,
    clopper_pearson_interval,
    mdc95,
    paired_change_interval,
    proportion_interval,
    sd_from_interval,
    welch_difference_interval,
    wilson_interval,
)
from trichotrack.evidence.patient import (
    VERDICTS,
    Baseline,
    FollowUpChange,
    MeasurementError,
    PatientAnalysis,
    analyze_patient,
)
from trichotrack.evidence.records import (
    EVENT_KINDS,
    GROUPS,
    KINDS,
    AdverseEvent,
    Event,
    KindInfo,
    Measurement,
    PatientRecord,
)

__all__ = [
    "CODES",
    "EVENT_KINDS",
    "GROUPS",
    "KINDS",
    "VERDICTS",
    "AdverseEvent",
    "AdverseEventRate",
    "Baseline",
    "Caveat",
    "ClaimCheck",
    "CohortAnalysis",
    "Event",
    "FollowUpChange",
    "GroupSummary",
    "Interval",
    "KindInfo",
    "Measurement",
    "MeasurementError",
    "MixedModelResult",
    "PatientAnalysis",
    "PatientEndpoint",
    "PatientRecord",
    "Proportion",
    "analyze_cohort",
    "analyze_patient",
    "bootstrap_mean_interval",
    "check_claim",
    "clopper_pearson_interval",
    "mdc95",
    "paired_change_interval",
    "proportion_interval",
    "sd_from_interval",
    "welch_difference_interval",
    "wilson_interval",
]
