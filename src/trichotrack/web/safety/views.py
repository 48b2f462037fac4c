from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from trichotrack.web import audit
from trichotrack.web.clinics.access import clinic_view, staff_view
from trichotrack.web.clinics.deidentify import set_first_treatments
from trichotrack.web.patients.access import get_patient_for_user
from trichotrack.web.versioning import StaleEdit

from . import services
from .forms import AdverseEventForm
from .models import AdverseEvent


def _get_ae_for_user(request, pk):
    return get_object_or_404(
        AdverseEvent.objects.select_related("patient", "procedure"),
        pk=pk,
        patient__clinic=request.membership.clinic,
    )


@clinic_view()
def ae_list(request):
    events = list(
        AdverseEvent.objects.filter(patient__clinic=request.membership.clinic).select_related("patient")
    )
    clocks = services.open_clocks(request.membership.clinic)
    if not request.membership.can_identify:  # day offsets from each patient's first treatment, one query
        set_first_treatments([ae.patient for ae in events] + [ae.patient for ae, _ in clocks])
    return render(
        request, "safety/list.html", {"events": events, "clocks": clocks, "today": timezone.localdate()}
    )


@staff_view
def ae_create(request, pk):
    patient = get_patient_for_user(request, pk)
    form = AdverseEventForm(request.POST or None, patient=patient)
    if request.method == "POST" and form.is_valid():
        ae = form.save(commit=False)
        ae.patient = patient
        data = {k: None if v is None else str(v) for k, v in form.cleaned_data.items()}
        services.create_adverse_event(ae, user=request.user, data=data)
        if ae.needs_expedited_report:
            messages.warning(request, f"Serious and unexpected: report by {ae.report_due_on:%d %b %Y}.")
        else:
            messages.success(request, "Adverse event recorded.")
        return redirect(ae)
    return render(
        request, "safety/form.html", {"form": form, "patient": patient, "title": "New adverse event"}
    )


@clinic_view()
def ae_detail(request, pk):
    ae = _get_ae_for_user(request, pk)
    audit.record(request.user, "adverse_event.viewed", ae)
    today = timezone.localdate()
    return render(
        request,
        "safety/detail.html",
        {"ae": ae, "patient": ae.patient, "days_left": ae.report_days_left(today)},
    )


@staff_view
def ae_edit(request, pk):
    ae = _get_ae_for_user(request, pk)
    form = AdverseEventForm(request.POST or None, instance=ae, patient=ae.patient)
    before = {name: getattr(ae, name) for name in form.Meta.fields}
    if request.method == "POST" and form.is_valid():
        after = {name: getattr(form.instance, name) for name in form.Meta.fields}
        try:
            services.update_adverse_event(
                form.instance,
                form.cleaned_data["version"],
                user=request.user,
                changed=audit.changes(before, after),
            )
        except StaleEdit as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Saved.")
            return redirect(ae)
    return render(request, "safety/form.html", {"form": form, "patient": ae.patient, "title": f"Edit {ae}"})
