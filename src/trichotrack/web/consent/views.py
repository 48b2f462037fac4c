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
    """Every version of every consent form of the clinic, with how many patients must re-consent to each."""
    today = timezone.localdate()
    definitions = list(ConsentDefinition.objects.filter(clinic=request.membership.clinic))
    newest = {}
    for d in definitions:  # ordered by kind, newest first
        newest.setdefault(d.kind, d.pk)
    for d in definitions:
        d.is_newest = newest[d.kind] == d.pk  # only the newest version of a kind gets a successor
        d.in_force = d.is_valid_on(today)
        d.upcoming = d.valid_from > today
        # Only a version in force or still to come asks anyone to re-consent; one count query per version.
        d.n_reconsent = services.patients_to_reconsent(d).count() if d.in_force or d.upcoming else None
    return render(request, "consent/definitions.html", {"definitions": definitions, "today": today})


@clinic_view()
def definition_detail(request, definition_pk):
    """One version: its text and elements, and the patients who must consent again because of it."""
    definition = get_object_or_404(ConsentDefinition, pk=definition_pk, clinic=request.membership.clinic)
    versions = ConsentDefinition.objects.filter(clinic_id=definition.clinic_id, kind=definition.kind)
    context = {
        "definition": definition,
        "versions": versions,
        "reconsent": services.patients_to_reconsent(definition),
        "today": timezone.localdate(),
    }
    return render(request, "consent/definition.html", context)


@clinician_view
def definition_new_version(request, definition_pk):
    """A clinician publishes a new version of a consent form: the current text is copied to be edited, the
    disclosure elements stay, and the validity window is chosen."""
    previous = get_object_or_404(ConsentDefinition, pk=definition_pk, clinic=request.membership.clinic)
    initial = {
        "title": previous.title,
        "text": previous.text,
        "valid_from": timezone.localdate(),
        "version": _next_version(previous.version),
    }
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
            return redirect("consent:definition", definition_pk=new.pk)
    context = {
        "form": form,
        "previous": previous,
        # Everyone holding a live consent to this version (or an older one) must re-consent to the new one.
        "n_affected": services.patients_to_reconsent(previous).count()
        + previous.consents.filter(withdrawn_at__isnull=True).values("patient_id").distinct().count(),
    }
    return render(request, "consent/new_version.html", context)


def _next_version(version: str) -> str:
    """'1.0' → '2.0', '3' → '4'; anything else is left for the clinician to type."""
    major = version.split(".", 1)[0]
    if not major.isdigit():
        return ""
    return f"{int(major) + 1}.0" if "." in version else str(int(major) + 1)


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
            in_person=form.cleaned_data["in_person"],
            signature_png=form.cleaned_data["signature_png"],
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
