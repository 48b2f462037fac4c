import datetime as dt

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from trichotrack.web import audit
from trichotrack.web.clinics.access import clinic_view, staff_view
from trichotrack.web.clinics.deidentify import set_first_treatments
from trichotrack.web.versioning import StaleEdit, save_versioned

from . import services
from .forms import VisitForm
from .models import Visit, VisitStatus

HORIZONS_DAYS = (7, 30, 90)


@clinic_view()
def visit_list(request):
    clinic, today = request.membership.clinic, timezone.localdate()
    # How far ahead "upcoming" looks; anything but the offered choices falls back to 30 days (no 500).
    horizon = request.GET.get("days", "30")
    horizon_days = int(horizon) if horizon in {str(d) for d in HORIZONS_DAYS} else 30
    upcoming = Visit.objects.filter(
        patient__clinic=clinic,
        status=VisitStatus.SCHEDULED,
        window_start__gt=today,
        window_start__lte=today + dt.timedelta(days=horizon_days),
    ).select_related("patient")
    context = {
        "today": today,
        "due": list(services.due_visits(clinic, today)),
        "overdue": list(services.overdue_visits(clinic, today)),
        "upcoming": list(upcoming),
        "horizon_days": horizon_days,
        "horizons": HORIZONS_DAYS,
    }
    if not request.membership.can_identify:  # day offsets from each patient's first treatment
        set_first_treatments(v.patient for rows in context.values() if isinstance(rows, list) for v in rows)
    return render(request, "followups/list.html", context)


@staff_view
def visit_record(request, pk):
    visit = get_object_or_404(
        Visit.objects.select_related("patient", "procedure"), pk=pk, patient__clinic=request.membership.clinic
    )
    form = VisitForm(request.POST or None, instance=visit)
    before = {"status": visit.status, "done_on": visit.done_on, "solicited": dict(visit.solicited)}
    if request.method == "POST" and form.is_valid():
        try:
            visit.recorded_by = request.user
            save_versioned(form.instance, form.cleaned_data["version"])
        except StaleEdit as exc:
            form.add_error(None, str(exc))
        else:
            after = {"status": visit.status, "done_on": visit.done_on, "solicited": dict(visit.solicited)}
            audit.record(
                request.user, "visit.recorded", visit, data={"changed": audit.changes(before, after)}
            )
            if visit.solicited_positive:
                messages.warning(
                    request,
                    "Solicited events reported: "
                    + ", ".join(visit.solicited_positive)
                    + ". Record each as an "
                    "adverse event.",
                )
            else:
                messages.success(request, "Visit saved.")
            return redirect(visit.patient)
    return render(request, "followups/visit.html", {"form": form, "visit": visit, "patient": visit.patient})
