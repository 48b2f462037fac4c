from functools import cache
from io import BytesIO

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from trichotrack.web import audit
from trichotrack.web.clinics.access import clinic_view, clinician_view, staff_view
from trichotrack.web.clinics.deidentify import day_offset_label, first_treatment_on
from trichotrack.web.patients.access import get_patient_for_user

from . import analysis, charts, services
from .forms import CorrectionForm, OrientationForm, PairForm, SessionForm, UploadForm
from .models import (
    CARD_REMINDER,
    DIAGRAM_HEAD,
    GLOBAL_VIEWS,
    HAIRLINE_RECESSION_SD,
    LIGHT_HAIR_COLOURS,
    PROTOCOL_STEPS,
    SCALP_FRACTION_SD_BY_VIEW,
    MeasurementKind,
    MeasureStatus,
    Pair,
    Photo,
    PhotoSession,
    Protocol,
    View,
)

CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "heic": "image/heic"}
CARD_DPI = 300


@login_required
def card_pdf(request, paper, field):
    """The printable calibration card (no patient data: any signed-in user, patients included)."""
    from trichotrack.measure import card

    if paper not in card.PAPERS or field not in card.FIELDS:
        raise Http404("No such card.")
    response = HttpResponse(_card_pdf(paper, field), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="trichotrack-card-{paper}-{field}-field.pdf"'
    response["Cache-Control"] = "private, max-age=86400"
    return response


@cache
def _card_pdf(paper: str, field: str) -> bytes:
    from PIL import Image

    from trichotrack.measure import card

    page = card.render_card(card.card_layout(paper), px_per_mm=CARD_DPI / 25.4, field=field)
    out = BytesIO()
    Image.fromarray(page).save(out, format="PDF", resolution=float(CARD_DPI))
    return out.getvalue()


def card_links(hair_colour: str) -> list[dict]:
    """The cards to print, the one for the patient's hair colour first (the white field when not known)."""
    light = hair_colour in LIGHT_HAIR_COLOURS
    fields = ("dark", "white") if light else ("white", "dark")
    labels = {"white": "white field, for dark hair", "dark": "dark field, for light hair"}
    return [
        {
            "field": field,
            "label": labels[field],
            "suggested": i == 0 and bool(hair_colour),
            "urls": [(name, reverse("photos:card", args=[paper, field])) for paper, name in CARD_PAPERS],
        }
        for i, field in enumerate(fields)
    ]


CARD_PAPERS = (("a4", "A4"), ("letter", "Letter"))


def _session_for_user(request, pk) -> PhotoSession:
    return get_object_or_404(
        PhotoSession.objects.select_related("patient__clinic", "visit"),
        pk=pk,
        patient__clinic=request.membership.clinic,
    )


def _photo_for_user(request, pk) -> Photo:
    """A photo of the user's clinic; any other clinic's photo is a 404."""
    return get_object_or_404(
        Photo.objects.select_related("session", "patient__clinic"),
        pk=pk,
        patient__clinic=request.membership.clinic,
    )


def stream(name: str, content_type: str, *, download_name: str | None = None) -> HttpResponse:
    """A stored file, sent through Django after the access check (never a public media URL).

    Photos shown on pages (derived copies, overlays) are small and sent whole; an original may be large and is
    streamed as a download.
    """
    if not name or not default_storage.exists(name):
        raise Http404("No such file.")
    if download_name is not None:
        response = FileResponse(
            default_storage.open(name, "rb"),
            content_type=content_type,
            as_attachment=True,
            filename=download_name,
        )
    else:
        with default_storage.open(name, "rb") as f:
            response = HttpResponse(f.read(), content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def preview(request, name: str, turns: int) -> HttpResponse:
    """A stored JPEG made small and upright for a page (`analysis.preview_jpeg`).

    Which way is up can change (a person answers "Which way is up?"), so the browser revalidates every
    time; the tag names the file and the turns, and an unchanged preview costs no decoding.
    """
    if not name or not default_storage.exists(name):
        raise Http404("No such file.")
    etag = f'"{name.rsplit("/", 1)[-1]}-{turns % 4}"'
    if request is not None and request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        with default_storage.open(name, "rb") as f:
            response = HttpResponse(analysis.preview_jpeg(f.read(), turns=turns), content_type="image/jpeg")
        response["X-Content-Type-Options"] = "nosniff"
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


def status_payload(photo: Photo) -> dict:
    """The photo's measurement status for the page's polling (photos.js).

    ``finished`` once the numbers are stored (or the measurement failed): the page then reloads to show
    them. ``overlay`` (``drawing``, ``ready`` or ``failed``; None before the numbers) tells the page that
    shows the numbers when the overlay, drawn after them, is there.
    """
    m = None
    if photo.measure_status == MeasureStatus.DONE:
        # Without the report (a shed-hair report holds every hair's centre line: about 0.6 MB of JSON for a
        # 12-MP photo), which the summary needs only for a trichoscopy density (loaded then, on access).
        m = photo.measurements.defer("report", "params").order_by("-request_no").first()
    progress = {"none": 0, "queued": 15, "running": 60, "done": 100, "failed": 100}[photo.measure_status]
    overlay = None if m is None else m.overlay_state
    label = photo.get_measure_status_display()
    if overlay == "drawing":
        label += "; overlay being drawn"
    return {
        "status": photo.measure_status,
        "label": label,
        "progress": progress,
        "overlay": overlay,
        "error": photo.measure_error,
        "kind": photo.measurement_kind,
        "hair_count": None if m is None or not m.is_counted else m.final_count,
        "scalp_visible_fraction": None if m is None else m.scalp_visible_fraction,
        "summary": "" if m is None else measurement_summary(m),
        "finished": photo.measure_status
        in (MeasureStatus.DONE, MeasureStatus.FAILED, MeasureStatus.NOT_MEASURED),
    }


def measurement_summary(m) -> str:
    """One line for thumbnails and the status: the headline number of the measurement's kind."""
    if m.kind == MeasurementKind.SCALP:
        if m.scalp_visible_fraction is None:
            return "not measured" + ("" if m.usable else " (not usable)")
        text = f"visible scalp {m.scalp_visible_fraction:.0%} ± {1.96 * m.scalp_fraction_sd:.0%}"
        return text + ("" if m.usable else " (not usable)")
    text = f"{m.final_count} hairs"
    if m.kind == MeasurementKind.TRICHOSCOPY and m.final_density_per_cm2 is not None:
        text += f", {m.final_density_per_cm2:.0f}/cm²"
    return text + ("" if m.countable else " (not countable)")


def chart_day_label(patient, *, can_identify: bool):
    """How the charts write a date: the calendar date, or for a researcher the day offset from the patient's
    first treatment (clinics.deidentify), like the ``{% when %}`` tag on the page around them."""
    if can_identify:
        return charts.calendar_day
    anchor = first_treatment_on(patient)
    return lambda day: day_offset_label(day, anchor)


def timeline_context(patient, *, can_identify: bool = True):
    series = services.shed_series(patient)
    treatments = sorted({timezone.localdate(p.harvest_at) for p in patient.procedures.all()})
    tricho = services.trichoscopy_series(patient)
    scalp = services.scalp_series(patient)
    stages = services.stage_series(patient)
    label = chart_day_label(patient, can_identify=can_identify)
    scalp_charts = [
        (
            View(view).label,
            charts.scalp_fraction_svg(
                rows, treatments=treatments, view_label=View(view).label, day_label=label
            ),
            SCALP_FRACTION_SD_BY_VIEW[view],
            1.96 * SCALP_FRACTION_SD_BY_VIEW[view],
        )
        for view, rows in sorted(scalp.items(), key=lambda kv: GLOBAL_VIEWS.index(kv[0]))
    ]
    hairline = [row for row in scalp.get(View.FRONTAL, []) if row["recession"] is not None]
    return {
        "series": series,
        "chart": charts.shed_timeline_svg(series, treatments=treatments, day_label=label),
        "band": charts.baseline_band(series, treatments[0] if treatments else None),
        "reference_ranges": charts.REFERENCE_RANGES,
        "trichoscopy_rows": tricho,
        "density_chart": charts.density_svg(tricho, treatments=treatments, day_label=label) if tricho else "",
        "thin_chart": charts.thin_share_svg(tricho, treatments=treatments, day_label=label) if tricho else "",
        "scalp_charts": scalp_charts,
        "hairline_chart": (
            charts.hairline_svg(hairline, treatments=treatments, day_label=label) if hairline else ""
        ),
        "stage_chart": charts.stage_svg(stages, treatments=treatments, day_label=label) if stages else "",
        "stages": stages,
        "hairline_sd": HAIRLINE_RECESSION_SD,
    }


@clinic_view()
def patient_photos(request, pk):
    patient = get_patient_for_user(request, pk)
    sessions = patient.photo_sessions.prefetch_related("photos__measurements__corrections").select_related(
        "visit"
    )
    context = {
        "patient": patient,
        "target_site": services.current_target_site(patient),
        "diagram_head": DIAGRAM_HEAD,
        "sessions": sessions,
        "session_rows": [(session, [(p, _latest(p)) for p in session.photos.all()]) for session in sessions],
        "pairs": patient.photo_pairs.select_related("baseline__session", "followup__session"),
        "pair_form": PairForm(patient=patient),
        "consent_problems": services.photo_problems(patient),
        "can_write": request.membership.is_staff_role,
        "can_identify": request.membership.can_identify,
        "invitations": patient.portal_invitations.all() if request.membership.is_staff_role else [],
        **timeline_context(patient, can_identify=request.membership.can_identify),
    }
    return render(request, "photos/patient.html", context)


@staff_view
def session_create(request, pk):
    patient = get_patient_for_user(request, pk)
    problems = services.photo_problems(patient)
    form = SessionForm(request.POST or None, patient=patient)
    if request.method == "POST" and not problems and form.is_valid():
        session = services.new_session(
            patient,
            user=request.user,
            taken_on=form.cleaned_data["taken_on"],
            visit=form.cleaned_data["visit"],
            hair_state=form.cleaned_data["hair_state"],
            notes=form.cleaned_data["notes"],
        )
        return redirect(session)
    context = {"form": form, "patient": patient, "problems": problems, "can_identify": True}
    return render(request, "photos/session_form.html", context)


@clinic_view()
def session_detail(request, pk):
    session = _session_for_user(request, pk)
    patient = session.patient
    # The earliest photo of each view: shown as the framing to match (ghost) when taking the next one.
    baselines = {}
    for photo in (
        Photo.objects.filter(patient=patient).exclude(view=View.SHED).order_by("session__taken_on", "id")
    ):
        baselines.setdefault(photo.view, photo)
    target_site = services.current_target_site(patient)
    photos = list(session.photos.prefetch_related("measurements__corrections"))
    context = {
        "session": session,
        "patient": patient,
        "photos": photos,
        "photo_rows": [(p, _latest(p)) for p in photos],
        "stage": getattr(session, "stage_estimate", None),
        "target_site": target_site,
        "diagram_head": DIAGRAM_HEAD,
        "form": UploadForm(
            initial={"view": View.SHED, "protocol": Protocol.WASH},
            target_site=target_site,
            field_width_mm=services.last_field_width_mm(patient),
        ),
        "can_write": request.membership.is_staff_role,
        "can_identify": request.membership.can_identify,
        "protocol_steps": [(Protocol(k).label, steps) for k, steps in PROTOCOL_STEPS.items()],
        "card_reminder": CARD_REMINDER,
        "cards": card_links(patient.hair_colour),
        "baselines": [(View(v).label, p) for v, p in baselines.items() if v in GLOBAL_VIEWS],
        "ghosts": {v: reverse("photos:image", args=[p.pk, "derived"]) for v, p in baselines.items()},
        "consent_problems": services.photo_problems(patient),
    }
    return render(request, "photos/session.html", context)


def _latest(photo):
    """The current measurement from prefetched rows (None when not measured yet)."""
    measurements = sorted(photo.measurements.all(), key=lambda m: -m.request_no)
    return measurements[0] if measurements and photo.measure_status == MeasureStatus.DONE else None


@staff_view
@require_POST
def upload(request, pk):
    session = _session_for_user(request, pk)
    form = UploadForm(request.POST, request.FILES, target_site=services.current_target_site(session.patient))
    problems = services.photo_problems(session.patient)
    if problems:
        messages.error(request, " ".join(problems))
        return redirect(session)
    if not form.is_valid():
        errors = "; ".join(
            f"{k}: {' '.join(v)}" if k != "__all__" else " ".join(v) for k, v in form.errors.items()
        )
        messages.error(request, f"Nothing was stored. {errors}")
        return redirect(session)
    data = form.cleaned_data
    try:
        checked = services.check_files(request.FILES.getlist("files"))
        with transaction.atomic():
            site = None
            if data["view"] == View.TRICHOSCOPY:
                site = services.choose_target_site(
                    session.patient, label=data["site"], x=data["site_x"], y=data["site_y"], user=request.user
                )
            photos = services.store_photos(
                session,
                checked,
                user=request.user,
                view=data["view"],
                protocol=data["protocol"],
                days_since_shampoo=data["days_since_shampoo"],
                site=site.label if site else "",
                target_site=site,
                field_width_mm=data["field_width_mm"],
            )
    except services.PhotoRefused as error:
        messages.error(request, f"Nothing was stored. {error}")
        return redirect(session)
    messages.success(request, f"{len(photos)} photo(s) stored.")
    return redirect(photos[0] if len(photos) == 1 else session)


@clinic_view()
def photo_detail(request, pk):
    photo = _photo_for_user(request, pk)
    measurement = photo.current_measurement()
    correction = measurement.current_correction() if measurement else None
    context = {
        "photo": photo,
        "patient": photo.patient,
        "measurement": measurement,
        "correction": correction,
        "corrections": measurement.corrections.select_related("by") if measurement else [],
        "hairs": [
            {"n": h["number"], "rc": h["centerline_rc"]}
            for h in (measurement.report.get("hairs", []) if measurement else [])
        ],
        "correction_data": {
            "removed": correction.removed if correction else [],
            "added": correction.added if correction else [],
        },
        "status": status_payload(photo),
        "summary": measurement_summary(measurement) if measurement else "",
        "hairline_sd": HAIRLINE_RECESSION_SD,
        "stage": getattr(photo.session, "stage_estimate", None) if photo.is_global else None,
        "diagram_head": DIAGRAM_HEAD,
        "can_write": request.membership.is_staff_role,
        "can_correct": request.membership.is_clinician
        and measurement is not None
        and measurement.is_counted
        and measurement.overlay_state == "ready",  # the clicks are made on the overlay
        "can_identify": request.membership.can_identify,
        "orientation": orientation_context(photo, measurement),
    }
    return render(request, "photos/detail.html", context)


def orientation_context(photo, measurement) -> dict | None:
    """What the page says about which way is up (global views only): how the measurement shown was turned,
    who chose it, whether the core was unsure, and the four quarter turns to choose from."""
    if not photo.is_global:
        return None
    problems = measurement.problems if measurement is not None else []
    used = chosen = None
    if measurement is not None and measurement.kind == MeasurementKind.SCALP:
        used = (measurement.report or {}).get("quarter_turns")
        # The measurement's own record of how it was turned: an int when a person chose it, "auto" otherwise.
        chosen = (measurement.params or {}).get("orientation")
    return {
        "uncertain": any(str(p).startswith("orientation uncertain") for p in problems),
        "measured_as_set": isinstance(chosen, int) and not isinstance(chosen, bool),
        "turns": photo.orientation_turns,
        "set_by": photo.orientation_set_by,
        "set_at": photo.orientation_set_at,
        "used_turns": used,
        "used_degrees": None if used is None else 90 * used,
        "choices": [(n, 90 * n) for n in range(4)],
    }


@clinic_view()
def photo_status(request, pk):
    return JsonResponse(status_payload(_photo_for_user(request, pk)))


@clinic_view()
def photo_image(request, pk, variant):
    return image_response(_photo_for_user(request, pk), variant, request)


def image_response(photo, variant: str, request=None) -> HttpResponse:
    """The derived (metadata-free) copy, its upright preview, or the current overlay of a photo the caller
    may see."""
    if variant == "derived":
        return stream(photo.derived.name, "image/jpeg")
    if variant == "preview":
        return preview(request, photo.derived.name, services.upright_turns(photo))
    if variant == "overlay":
        m = photo.current_measurement()
        name = m.overlay.name if m else ""
        # JPEG since the latency work (bench/photo_latency.py); overlays stored before are PNG.
        return stream(name, "image/png" if name.endswith(".png") else "image/jpeg")
    raise Http404("No such image.")


@staff_view
def photo_original(request, pk):
    """The original file, byte for byte, as a download (staff only: it may hold GPS and other metadata)."""
    photo = _photo_for_user(request, pk)
    audit.record(request.user, "photo.original_downloaded", photo)
    ext = {"jpeg": "jpg"}.get(photo.original_format, photo.original_format)
    return stream(
        photo.original.name, CONTENT_TYPES[photo.original_format], download_name=f"photo-{photo.pk}.{ext}"
    )


@staff_view
@require_POST
def photo_measure(request, pk):
    photo = _photo_for_user(request, pk)
    services.request_measurement(photo)
    audit.record(request.user, "photo.measure_requested", photo)
    messages.success(request, "Measurement requested.")
    return redirect(photo)


@staff_view
@require_POST
def photo_orientation(request, pk):
    """Set which way is up for a global photo (a person's answer where the scalp core's is uncertain or
    wrong), and measure it again that way."""
    photo = _photo_for_user(request, pk)
    form = OrientationForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "Choose one of the four pictures (or “found from the photo”); nothing was changed."
        )
        return redirect(photo)
    turns = form.cleaned_data["turns"]
    try:
        services.set_orientation(photo, turns=turns, user=request.user)
    except services.PhotoRefused as error:
        messages.error(request, str(error))
        return redirect(photo)
    shown = "found from the photo" if turns is None else f"turned {90 * turns}° counter-clockwise"
    messages.success(request, f"Orientation set ({shown}); the photo is being measured again.")
    return redirect(photo)


@clinician_view
@require_POST
def photo_correct(request, pk):
    photo = _photo_for_user(request, pk)
    measurement = photo.current_measurement()
    form = CorrectionForm(request.POST)
    if measurement is None:
        messages.error(request, "There is no measurement to correct yet.")
    elif not measurement.is_counted:
        messages.error(request, "Only hair counts can be corrected.")
    elif not form.is_valid():
        messages.error(request, "The correction could not be read; nothing was saved.")
    else:
        try:
            correction = services.correct_count(
                measurement,
                user=request.user,
                removed=form.cleaned_data["removed"],
                added=form.cleaned_data["added"],
                note=form.cleaned_data["note"],
            )
        except services.PhotoRefused as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                f"Count corrected to {correction.corrected_count} (automatic: {measurement.hair_count}).",
            )
    return redirect(photo)


@staff_view
@require_POST
def pair_create(request, pk):
    patient = get_patient_for_user(request, pk)
    form = PairForm(request.POST, patient=patient)
    if not form.is_valid():
        messages.error(
            request, "Nothing was paired. " + " ".join(e for errs in form.errors.values() for e in errs)
        )
        return redirect("photos:patient", pk=patient.pk)
    baseline, followup = form.cleaned_data["baseline"], form.cleaned_data["followup"]
    result = services.compare_photos(baseline, followup)
    name = ""
    if result.registered_jpeg:
        name = default_storage.save("photos/registered/pair.jpg", ContentFile(result.registered_jpeg))
    try:
        with transaction.atomic():
            pair = Pair.objects.create(
                patient=patient,
                baseline=baseline,
                followup=followup,
                verdict=result.verdict,
                reasons=list(result.reasons),
                measures=result.measures,
                registration=result.registration,
                registered=name,
                created_by=request.user,
            )
            audit.record(request.user, "photo.pair_created", pair, data={"verdict": pair.verdict})
    except BaseException:
        if name:
            default_storage.delete(name)
        raise
    return redirect(pair)


def _pair_for_user(request, pk) -> Pair:
    return get_object_or_404(
        Pair.objects.select_related("baseline__session", "followup__session", "patient"),
        pk=pk,
        patient__clinic=request.membership.clinic,
    )


@clinic_view()
def pair_detail(request, pk):
    pair = _pair_for_user(request, pk)
    context = {
        "pair": pair,
        "patient": pair.patient,
        "change": services.pair_change(pair),
        "densities": services.pair_densities(pair),
        "is_global": pair.baseline.is_global,
        "can_identify": request.membership.can_identify,
    }
    return render(request, "photos/pair.html", context)


@clinic_view()
def pair_image(request, pk):
    pair = _pair_for_user(request, pk)
    if not pair.registered:
        raise Http404("This pair could not be aligned.")
    # (Registered in the baseline's frame: turned upright as the baseline is, to lie over its preview.)
    return preview(request, pair.registered.name, services.upright_turns(pair.baseline))
