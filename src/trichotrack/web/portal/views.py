from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from trichotrack.web import audit
from trichotrack.web.clinics.access import patient_view, staff_view
from trichotrack.web.patients.access import get_patient_for_user
from trichotrack.web.patients.models import HairColour
from trichotrack.web.photos import services as photo_services
from trichotrack.web.photos.forms import PortalShedForm
from trichotrack.web.photos.models import CARD_REMINDER, PROTOCOL_STEPS, Photo, Protocol, Source, View
from trichotrack.web.photos.views import card_links, image_response, status_payload, timeline_context

from . import services
from .forms import JoinForm
from .models import Invitation


@staff_view
@require_POST
def invite(request, pk):
    patient = get_patient_for_user(request, pk)
    _, token = services.invite(patient, user=request.user)
    link = request.build_absolute_uri(reverse("portal:join", args=[token]))
    messages.success(
        request, f"Invitation link for {patient.code} (give it to the patient; shown once): {link}"
    )
    return redirect("photos:patient", pk=patient.pk)


@staff_view
@require_POST
def revoke(request, pk, invitation_pk):
    patient = get_patient_for_user(request, pk)
    invitation = get_object_or_404(Invitation, pk=invitation_pk, patient=patient)
    services.revoke(invitation, user=request.user)
    messages.success(request, "Invitation revoked; the patient can no longer sign in to the portal.")
    return redirect("photos:patient", pk=patient.pk)


def join(request, token):
    """Public: the invitation link. The patient chooses a name and a password, and is signed in."""
    try:
        invitation = services.invitation_for_token(token)
    except services.InvitationInvalid as error:
        return render(request, "portal/join_invalid.html", {"reason": str(error)}, status=410)
    existing = invitation.patient.user
    form = JoinForm(request.POST or None, existing_user=existing)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.accept(
                invitation, username=form.cleaned_data["username"], password=form.cleaned_data["password1"]
            )
        except services.InvitationInvalid as error:
            return render(request, "portal/join_invalid.html", {"reason": str(error)}, status=410)
        login(request, user, backend="trichotrack.web.clinics.backends.ModelBackend")
        return redirect("portal:shed")
    return render(request, "portal/join.html", {"form": form, "clinic": invitation.patient.clinic})


def _own_patient(request):
    patient = getattr(request.user, "patient_record", None)
    if patient is None:
        raise PermissionDenied("No record is linked to this account.")
    return patient


def _own_photo(request, pk) -> Photo:
    """One of the signed-in patient's own photos; anyone else's is a 404."""
    return get_object_or_404(Photo.objects.select_related("session"), pk=pk, patient=_own_patient(request))


@patient_view
def shed(request):
    """Mobile-first: today's shed-hair photo, with the protocol steps and the card reminder."""
    patient = _own_patient(request)
    problems = photo_services.photo_problems(patient)
    form = PortalShedForm(
        request.POST or None, request.FILES or None, initial={"protocol": Protocol.COMB_60S}
    )
    if request.method == "POST" and not problems and form.is_valid():
        try:
            checked = photo_services.check_files(request.FILES.getlist("files")[:1])
            from django.db import transaction

            with transaction.atomic():
                session = photo_services.new_session(
                    patient,
                    user=request.user,
                    hair_state=form.cleaned_data["hair_state"],
                    source=Source.PORTAL,
                )
                photos = photo_services.store_photos(
                    session,
                    checked,
                    user=request.user,
                    view=View.SHED,
                    protocol=form.cleaned_data["protocol"],
                    days_since_shampoo=form.cleaned_data["days_since_shampoo"],
                )
        except photo_services.PhotoRefused as error:
            form.add_error("files", str(error))
        else:
            return redirect("portal:photo", pk=photos[0].pk)
    context = {
        "form": form,
        "patient": patient,
        "problems": problems,
        "protocol_steps": [(Protocol(k).label, steps) for k, steps in PROTOCOL_STEPS.items()],
        "card_reminder": CARD_REMINDER,
        "cards": card_links(patient.hair_colour),
        "hair_colours": [] if patient.hair_colour else HairColour.choices,
        "recent": Photo.objects.filter(patient=patient, view=View.SHED).select_related("session")[:5],
    }
    return render(request, "portal/shed.html", context)


@patient_view
@require_POST
def hair_colour(request):
    """The patient says her hair colour, once: only while the record has none (then the clinic keeps it).
    Her shed-hair photos are measured again with it."""
    from django.db.models import F

    from trichotrack.web.patients.models import Patient

    patient = _own_patient(request)
    value = request.POST.get("hair_colour", "")
    if value not in HairColour.values:
        messages.error(request, "Choose one of the hair colours.")
        return redirect("portal:shed")
    # Set only if still blank, in one statement: a colour the clinic recorded meanwhile is not overwritten.
    updated = Patient.objects.filter(pk=patient.pk, hair_colour="").update(
        hair_colour=value, version=F("version") + 1
    )
    if not updated:
        messages.info(request, "Your clinic has recorded your hair colour; ask them if it should change.")
        return redirect("portal:shed")
    patient.refresh_from_db()
    audit.record(
        request.user,
        "patient.changed",
        patient,
        data={"changed": {"hair_colour": ["", value]}, "via": "patient portal"},
    )
    queued, _kept = photo_services.remeasure_shed_photos(patient)
    again = f" Measuring your {queued} photo(s) again with it." if queued else ""
    messages.success(request, f"Saved your hair colour: {HairColour(value).label}.{again}")
    return redirect("portal:shed")


@patient_view
def photo(request, pk):
    photo = _own_photo(request, pk)
    audit.record(request.user, "photo.viewed_own", photo)
    m = photo.current_measurement()
    context = {
        "photo": photo,
        "measurement": m,
        "status": status_payload(photo),
        "today": timezone.localdate(),
    }
    return render(request, "portal/photo.html", context)


@patient_view
def photo_status(request, pk):
    return JsonResponse(status_payload(_own_photo(request, pk)))


@patient_view
def photo_image(request, pk, variant):
    return image_response(_own_photo(request, pk), variant, request)


@patient_view
def history(request):
    patient = _own_patient(request)
    return render(request, "portal/history.html", {"patient": patient, **timeline_context(patient)})
