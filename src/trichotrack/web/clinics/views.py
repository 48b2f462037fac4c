from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.shortcuts import redirect, render
from django.utils import timezone

from trichotrack.web import audit
from trichotrack.web.consent.models import ConsentKind
from trichotrack.web.consent.services import consent_problems
from trichotrack.web.followups.models import VisitStatus
from trichotrack.web.followups.services import due_visits, overdue_visits
from trichotrack.web.patients.models import ContraindicationFlag
from trichotrack.web.safety.services import open_clocks

from .access import clinic_view, patient_view
from .deidentify import set_first_treatments
from .models import Role


@login_required
def home(request):
    m = request.membership
    if m is None:
        raise PermissionDenied("This account belongs to no clinic.")
    if m.role == Role.PATIENT:
        return redirect("portal")
    return redirect("dashboard")


DASHBOARD_ROWS = 25
# What tt.visit_rows shows of a visit and its patient.
VISIT_ROW_FIELDS = ("kind", "due_on", "window_start", "window_end", "status", "patient", "patient__code")


@clinic_view()
def dashboard(request):
    clinic, today = request.membership.clinic, timezone.localdate()
    # Only the columns the page shows, not each row's whole patient (history texts, notes).
    pending_flags = (
        ContraindicationFlag.objects.filter(screen__patient__clinic=clinic, acknowledged_at=None)
        .select_related("screen__patient")
        .only("label", "level", "screen", "screen__patient", "screen__patient__code")
    )
    due = due_visits(clinic, today).only(*VISIT_ROW_FIELDS)
    overdue = overdue_visits(clinic, today).only(*VISIT_ROW_FIELDS)
    clocks = open_clocks(clinic)
    due_rows, overdue_rows = list(due[:DASHBOARD_ROWS]), list(overdue[:DASHBOARD_ROWS])
    if not request.membership.can_identify:  # day offsets from each patient's first treatment
        set_first_treatments([x.patient for x in due_rows + overdue_rows] + [ae.patient for ae, _ in clocks])
    context = {
        "today": today,
        # The dashboard shows the first rows; the follow-up page has them all.
        "due": due_rows,
        "overdue": overdue_rows,
        **visit_counts(clinic, today),
        "clocks": clocks,
        "pending_flags": pending_flags,
        **patient_counts(clinic),
    }
    return render(request, "clinics/dashboard.html", context)


# The dashboard's five headline numbers, written out as SQL: built by the ORM, each of these two queries cost
# about 1 ms of CPU on every dashboard view, 20 times what the database took to answer it. The tables and
# columns are the models' (test_dashboard_counts checks the numbers against the ORM's).
VISIT_COUNTS_SQL = """
SELECT COUNT(CASE WHEN v.window_end >= %s THEN 1 END), COUNT(CASE WHEN v.window_end < %s THEN 1 END)
FROM followups_visit v INNER JOIN patients_patient p ON p.id = v.patient_id
WHERE p.clinic_id = %s AND v.status = %s AND v.window_start <= %s
"""
PATIENT_COUNTS_SQL = """
SELECT COUNT(DISTINCT p.id), COUNT(DISTINCT r.patient_id), COUNT(r.id)
FROM patients_patient p LEFT OUTER JOIN procedures_procedure r ON r.patient_id = p.id
WHERE p.clinic_id = %s
"""


def visit_counts(clinic, today) -> dict:
    """Scheduled visits of the clinic due today (window open) and overdue (window passed), in one query."""
    day = connection.ops.adapt_datefield_value(today)
    with connection.cursor() as cursor:
        cursor.execute(VISIT_COUNTS_SQL, [day, day, clinic.pk, VisitStatus.SCHEDULED.value, day])
        n_due, n_overdue = cursor.fetchone()
    return {"n_due": n_due, "n_overdue": n_overdue}


def patient_counts(clinic) -> dict:
    """Patients, treated patients and procedures of the clinic, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(PATIENT_COUNTS_SQL, [clinic.pk])
        n_patients, n_treated, n_procedures = cursor.fetchone()
    return {"n_patients": n_patients, "n_treated": n_treated, "n_procedures": n_procedures}


@patient_view
def portal(request):
    """The patient's own view: consents (and their state), upcoming visits."""
    patient = getattr(request.user, "patient_record", None)
    if patient is None:
        raise PermissionDenied("No record is linked to this account.")
    audit.record(request.user, "patient.viewed_own", patient)
    context = {
        "patient": patient,
        "consents": patient.consents.select_related("definition"),
        "visits": patient.visits.filter(status="scheduled"),
        "treatment_consent_ok": not consent_problems(patient, ConsentKind.TREATMENT),
    }
    return render(request, "clinics/portal.html", context)
