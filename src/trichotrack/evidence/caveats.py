"""Warnings shown next to the numbers: a stable code for programs and a plain sentence for people."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CODES", "Caveat"]

#: Every code the evidence core emits, with a short title.
CODES: dict[str, str] = {
    "baseline.missing": "No baseline measurement",
    "baseline.too_few": "Fewer than 2 baseline days",
    "baseline.at_peak": "Baseline at the patient's own peak (regression to the mean)",
    "error.unknown": "Measurement error unknown",
    "error.counting_only": "Measurement error covers counting only",
    "error.poisson_floor": "Measurement error set to the chance variation of a count",
    "error.external_sd": "Measurement error from a test–retest study, not from this patient",
    "followup.missing": "No follow-up measurement",
    "followup.early": "Follow-up earlier than 16 weeks",
    "natural_course.acute_shedding": "Acute shedding resolves by itself",
    "natural_course.chronic_fluctuation": "Chronic shedding fluctuates by itself",
    "procedure.possible_trigger": "Surgery can itself trigger shedding",
    "trigger.possible": "Another possible trigger of shedding",
    "season.mismatch": "Before and after in different seasons",
    "concurrent_treatment.started": "Another hair-loss treatment started",
    "protocol.shampoo_interval_changed": "Shampoo interval changed",
    "protocol.shampoo_interval_unknown": "Shampoo interval not recorded",
    "protocol.hair_state_changed": "Hair length or colouring changed",
    "protocol.surface_changed": "Hairs photographed on another surface",
    "cohort.small_n": "Too few patients for any claim about efficacy",
    "cohort.lost_to_follow_up": "Patients lost to follow-up",
    "cohort.not_yet_due": "Patients whose endpoint is not yet due",
    "cohort.no_control": "No untreated comparison group",
    "cohort.not_randomised": "Comparison group not randomised",
    "cohort.early_endpoint": "Endpoint earlier than 16 weeks",
    "cohort.patient_caveats": "Warnings on individual patients",
    "model.not_fitted": "Mixed model not fitted",
    "model.not_converged": "Mixed model did not converge",
}


@dataclass(frozen=True)
class Caveat:
    """One warning to show next to the numbers it qualifies.

    Attributes
    ----------
    code : str
        One of `CODES`, e.g. ``"baseline.at_peak"``.
    message : str
        One or two plain sentences for the clinician or patient.
    details : dict
        The values behind the message (dates as ISO strings, numbers), for reports and exports.
    """

    code: str
    message: str
    details: dict = field(default_factory=dict, hash=False)

    def __post_init__(self):
        if self.code not in CODES:
            raise ValueError(f"unknown caveat code {self.code!r}")
