import datetime as dt

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from trichotrack.web import audit
from trichotrack.web.clinics.access import clinic_view, staff_view
from trichotrack.web.versioning import StaleEdit, save_versioned

from . import services
from .forms import VisitForm
from .models import Visit, VisitStatus


@clinic_view()
def visit_list(request):
    clinic, today = request.membership.clinic, timezone.localdate()
    upcoming = Visit.objects.filter(
        patient__clinic=clinic,
        status=VisitStatus.SCHEDULED,
        window_start__gt=today,
        window_start__lte=today + dt.timedelta(days=30),
    ).select_related("patient")
    context = {
        "today": today,
        "due": services.due_visits(clinic, today),
        "overdue": services.overdue_visits(clinic, today),
        "upcoming": upcoming,
    }
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
