"""The de-identified research export: only patients whose research consent is valid today.

De-identification: a keyed hash instead of the clinic's code, ages instead of dates of birth, days since the
first treatment instead of calendar dates, no free text. Every export is audited per patient.
"""

import hashlib
import hmac

from django.conf import settings
from django.utils import timezone

from trichotrack.web import audit
from trichotrack.web.consent.models import ConsentKind
from trichotrack.web.consent.services import consent_problems
from trichotrack.web.patients.models import Patient

COLUMNS = [
    "subject",
    "sex",
    "age_at_treatment",
    "months_from_onset",
    "treatment",
    "day",
    "svf_method",
    "lipoaspirate_ml",
    "nucleated_cells",
    "viability_pct",
    "cd34_pct",
    "cd45_pct",
    "svf_flags",
    "prp_fold_over_baseline",
    "paw",
    "depa",
    "cells_per_cm2",
    "area_cm2",
    "visits_done",
    "visits_missed",
    "adverse_events",
    "max_ae_grade",
    "serious_aes",
]


def subject_id(patient) -> str:
    """Stable per patient and deployment, not reversible without the SECRET_KEY."""
    return subject_id_for_pk(patient.pk)


def subject_id_for_pk(patient_pk: int) -> str:
    """`subject_id` from the primary key alone, for exports that read patients with values_list."""
    mac = hmac.new(settings.SECRET_KEY.encode(), f"subject:{patient_pk}".encode(), hashlib.sha256)
    return "S-" + mac.hexdigest()[:10]


def _round(value, digits=1):
    return None if value is None else round(value, digits)


def research_rows(clinic, *, user):
    """(rows, n_excluded): one row per treatment of each research-consented patient; audits each patient."""
    today = timezone.localdate()
    rows, excluded = [], 0
    patients = Patient.objects.filter(clinic=clinic, procedures__isnull=False).distinct().order_by("pk")
    for patient in patients.prefetch_related("procedures__visits", "adverse_events"):
        if consent_problems(patient, ConsentKind.RESEARCH, today):
            excluded += 1
            continue
        procedures = sorted(patient.procedures.all(), key=lambda p: p.harvest_at)
        first = timezone.localdate(procedures[0].harvest_at)
        for number, p in enumerate(procedures, start=1):
            day = timezone.localdate(p.harvest_at)
            visits = list(p.visits.all())
            aes = [ae for ae in patient.adverse_events.all() if ae.procedure_id == p.pk]
            onset_months = None
            if patient.onset_date:
                onset_months = round((day - patient.onset_date).days / 30.44, 1)
            depa = p.depa
            rows.append(
                {
                    "subject": subject_id(patient),
                    "sex": patient.sex,
                    "age_at_treatment": patient.age_on(day),
                    "months_from_onset": onset_months,
                    "treatment": number,
                    "day": (day - first).days,
                    "svf_method": p.svf_method,
                    "lipoaspirate_ml": p.lipoaspirate_ml,
                    "nucleated_cells": p.nucleated_cells,
                    "viability_pct": p.viability_pct,
                    "cd34_pct": p.cd34_pct,
                    "cd45_pct": p.cd45_pct,
                    "svf_flags": len(p.svf_flags),
                    "prp_fold_over_baseline": _round(p.fold_over_baseline, 2),
                    "paw": p.paw,
                    "depa": depa["code"] if depa else None,
                    "cells_per_cm2": _round(p.cells_per_cm2, 0),
                    "area_cm2": p.area_cm2,
                    "visits_done": sum(v.status == "done" for v in visits),
                    "visits_missed": sum(v.status == "missed" for v in visits),
                    "adverse_events": len(aes),
                    "max_ae_grade": max((ae.grade for ae in aes), default=None),
                    "serious_aes": sum(ae.serious for ae in aes),
                }
            )
        audit.record(
            user, "patient.exported", patient, data={"export": "research", "subject": subject_id(patient)}
        )
    audit.record(
        user, "export.research", clinic=clinic, data={"rows": len(rows), "excluded_patients": excluded}
    )
    return rows, excluded
