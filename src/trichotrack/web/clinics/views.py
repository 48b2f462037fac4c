from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone

from trichotrack.web import audit
from trichotrack.web.consent.models import ConsentKind
from trichotrack.web.consent.services import consent_problems
from trichotrack.web.followups.services import due_visits, overdue_visits
from trichotrack.web.patients.models import ContraindicationFlag
from trichotrack.web.safety.services import open_clocks

from .access import clinic_view, patient_view
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


@clinic_view()
def dashboard(request):
    clinic, today = request.membership.clinic, timezone.localdate()
    pending_flags = ContraindicationFlag.objects.filter(
        screen__patient__clinic=clinic, acknowledged_at=None
    ).select_related("screen__patient")
    due, overdue = due_visits(clinic, today), overdue_visits(clinic, today)
    context = {
        "today": today,
        # The dashboard shows the first rows; the follow-up page has them all.
        "due": due[:DASHBOARD_ROWS],
        "overdue": overdue[:DASHBOARD_ROWS],
        "n_due": due.count(),
        "n_overdue": overdue.count(),
        "clocks": open_clocks(clinic),
        "pending_flags": pending_flags,
        "n_patients": clinic.patients.count(),
        # DISTINCT on the key only, not on every patient column.
        "n_treated": clinic.patients.filter(procedures__isnull=False).values("pk").distinct().count(),
        "n_procedures": clinic.procedures.count(),
    }
    return render(request, "clinics/dashboard.html", context)


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
