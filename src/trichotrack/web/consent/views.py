from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from trichotrack.web import audit
from trichotrack.web.clinics.access import clinic_view, clinician_view, staff_view
from trichotrack.web.patients.access import get_patient_for_user

from . import services, snapshot
from .forms import ConsentForm, NewVersionForm, WithdrawForm
from .models import Consent, ConsentDefinition, ConsentKind


@clinic_view()
def definition_list(request):
    definitions = ConsentDefinition.objects.filter(clinic=request.membership.clinic)
    return render(request, "consent/definitions.html", {"definitions": definitions})


@clinician_view
def definition_new_version(request, definition_pk):
    """A clinician publishes a new version of a consent form (the elements stay; the text changes)."""
    previous = get_object_or_404(ConsentDefinition, pk=definition_pk, clinic=request.membership.clinic)
    initial = {"title": previous.title, "text": previous.text, "valid_from": timezone.localdate()}
    form = NewVersionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            new = services.publish_version(previous, user=request.user, **form.cleaned_data)
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, f"{new} in force from {new.valid_from:%d %b %Y}; earlier consents need renewal."
            )
            return redirect("consent:definitions")
    return render(request, "consent/new_version.html", {"form": form, "previous": previous})


@staff_view
def consent_create(request, pk, kind):
    patient = get_patient_for_user(request, pk)
    if kind not in ConsentKind.values:
        return redirect(patient)
    definition = services.current_definition(patient.clinic, kind, timezone.localdate())
    if definition is None:
        messages.error(request, f"No {ConsentKind(kind).label.lower()} consent form is in force today.")
        return redirect(patient)
    form = ConsentForm(request.POST or None, definition=definition)
    if request.method == "POST" and form.is_valid():
        services.give_consent(
            patient,
            definition,
            user=request.user,
            signed_name=form.cleaned_data["signed_name"],
            acknowledged=form.acknowledged(),
        )
        messages.success(request, f"{definition} recorded.")
        return redirect(patient)
    return render(request, "consent/form.html", {"form": form, "patient": patient, "definition": definition})


@clinic_view()
def consent_detail(request, pk, consent_pk):
    patient = get_patient_for_user(request, pk)
    consent = get_object_or_404(Consent.objects.select_related("definition"), pk=consent_pk, patient=patient)
    audit.record(request.user, "consent.viewed", consent)
    return render(
        request,
        "consent/detail.html",
        {"patient": patient, "consent": consent, "withdraw_form": WithdrawForm()},
    )


@require_POST
@staff_view
def consent_withdraw(request, pk, consent_pk):
    patient = get_patient_for_user(request, pk)
    consent = get_object_or_404(Consent, pk=consent_pk, patient=patient)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the reason for the withdrawal.")
        return redirect("consent:detail", pk=patient.pk, consent_pk=consent.pk)
    services.withdraw_consent(consent, user=request.user, reason=form.cleaned_data["reason"])
    messages.success(request, f"{consent.definition} withdrawn.")
    return redirect(patient)


@staff_view
def consent_pdf(request, pk, consent_pk):
    """The PDF snapshot, made now if the worker has not yet. An export of identifiable data: audited."""
    patient = get_patient_for_user(request, pk)
    consent = get_object_or_404(Consent.objects.select_related("definition"), pk=consent_pk, patient=patient)
    snapshot.make_snapshot(consent)
    if not snapshot.verify_snapshot(consent):
        audit.record(
            request.user, "consent.snapshot_mismatch", consent, data={"sha256": consent.snapshot_sha256}
        )
        messages.error(request, "The stored PDF no longer matches its recorded hash. Tell the administrator.")
        return redirect("consent:detail", pk=patient.pk, consent_pk=consent.pk)
    audit.record(request.user, "consent.exported", consent, data={"sha256": consent.snapshot_sha256})
    return FileResponse(
        consent.snapshot.open("rb"), as_attachment=True, filename=f"consent-{patient.code}-{consent.pk}.pdf"
    )
