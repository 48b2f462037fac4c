from django.contrib import messages
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from trichotrack.web import audit
from trichotrack.web.clinics.access import clinic_view, clinician_view, staff_view
from trichotrack.web.clinics.deidentify import set_first_treatments
from trichotrack.web.versioning import StaleEdit, save_versioned

from . import services
from .access import get_patient_for_user
from .forms import (
    AcknowledgeForm,
    LabResultForm,
    MedicationForm,
    MedicationStopForm,
    PatientForm,
    ScreenForm,
    StagingForm,
)
from .models import ContraindicationFlag, Medication, Patient

PAGE_SIZE = 100
LIST_FIELDS = ("clinic", "code", "given_name", "family_name", "date_of_birth", "sex", "onset_date")


@clinic_view()
def patient_list(request):
    # The columns of the rows (tt.patient_rows), not the history texts of 100 patients.
    patients = Patient.objects.filter(clinic=request.membership.clinic).only(*LIST_FIELDS)
    q = request.GET.get("q", "").strip()
    if q:
        match = Q(code__icontains=q)
        if request.membership.can_identify:
            match |= Q(given_name__icontains=q) | Q(family_name__icontains=q)
        patients = patients.filter(match)
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    if not request.membership.can_identify:
        set_first_treatments(page.object_list)  # researchers see ages and day offsets: one query per page
    context = {"patients": page, "page": page, "q": q}
    # Search as you type (htmx): only the results are sent back and swapped in; a history restore (the back
    # button) and every request without JavaScript get the whole page.
    template = "patients/list_results.html" if is_htmx_fragment(request) else "patients/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def is_htmx_fragment(request) -> bool:
    """An htmx request that wants only a fragment of the page."""
    return request.headers.get("HX-Request") == "true" and "HX-History-Restore-Request" not in request.headers


@staff_view
def patient_create(request):
    clinic = request.membership.clinic
    form = PatientForm(request.POST or None, clinic=clinic)
    if request.method == "POST" and form.is_valid():
        patient = form.save(commit=False)
        patient.clinic = clinic
        patient.save()
        audit.record(request.user, "patient.created", patient)
        messages.success(request, f"Patient {patient.code} created.")
        return redirect(patient)
    return render(request, "patients/form.html", {"form": form, "title": "New patient"})


#: The patient's rows the page shows, by related name: most patients (untreated, never photographed) have
#: none of most of them, and one hand-written query (`_present`) says which, instead of one ORM query each.
PAGE_RELATIONS = (
    "screens",
    "consents",
    "procedures",
    "stagings",
    "labs",
    "medications",
    "adverse_events",
    "stage_estimates",
    "target_sites",
    "photos",
)


def _present(patient) -> set[str]:
    """Which of `PAGE_RELATIONS` the patient has rows of, in one query (an ORM query costs about 0.5 ms of
    CPU here, mostly building the SQL; this one about a tenth of that)."""
    quote = connection.ops.quote_name
    probes = []
    for name in PAGE_RELATIONS:
        field = getattr(Patient, name).field  # the foreign key to the patient
        table = quote(field.model._meta.db_table)
        probes.append(f"EXISTS (SELECT 1 FROM {table} WHERE {quote(field.column)} = %s)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(probes), [patient.pk] * len(probes))
        row = cursor.fetchone()
    return {name for name, there in zip(PAGE_RELATIONS, row, strict=True) if there}


def _none_of(manager):
    """``manager.all()`` already evaluated as empty: the page loops over it and the evidence panel reuses it
    (reports.templatetags.evidence), with no query."""
    queryset = manager.all()
    queryset._result_cache, queryset._prefetch_done = [], True
    return queryset


@clinic_view()
def patient_detail(request, pk):
    patient = get_patient_for_user(request, pk)
    audit.record(request.user, "patient.viewed", patient)
    present = _present(patient)

    def rows(name):
        manager = getattr(patient, name)
        return manager.all() if name in present else _none_of(manager)

    screen = None
    if "screens" in present:
        screen = patient.screens.select_related("screened_by").first()
    if screen is not None:
        # The flags with who acknowledged them, put where screen.flags.all() finds them (a Prefetch object
        # cost more CPU than the query).
        flags = screen.flags.select_related("acknowledged_by")
        flags._fetch_all()
        screen._prefetched_objects_cache = {"flags": flags}
    # A queryset of the patient's own, not a list: the evidence panel (reports) reuses its rows, even none
    # (most untreated patients), instead of asking again. Only what the page and the panel read (link,
    # harvest day): a procedure row has some 70 columns.
    procedures = patient.procedures.only("id", "patient_id", "harvest_at")
    if "procedures" not in present:
        procedures._result_cache, procedures._prefetch_done = [], True
    if "photos" not in present:
        patient.evidence_photos = []  # nothing measured: the evidence panel asks nothing (reports.evidence)
    if not request.membership.can_identify:  # the day-offset anchor from the procedures already loaded
        set_first_treatments([patient], procedures=procedures)
    context = {
        "patient": patient,
        "screen": screen,
        "screen_problems": services.screen_problems(
            patient, timezone.localdate(), screen, reveal_dates=request.membership.can_identify
        ),
        "stagings": rows("stagings"),
        "labs": rows("labs"),
        "medications": rows("medications"),
        "consents": _with_superseded(patient) if "consents" in present else [],
        "procedures": procedures,
        # The list shows each visit's kind, due date, state and solicited answers: not its procedure or notes.
        # Visits belong to procedures: none without one (most untreated patients), and no query for them.
        "visits": patient.visits.defer("notes") if procedures else [],
        "adverse_events": rows("adverse_events"),
        # The photos summary (photos/patient_summary.html): the estimate with its session's day.
        "stage_estimate": (
            patient.stage_estimates.select_related("session").first()
            if "stage_estimates" in present
            else None
        ),
        "target_site": patient.target_sites.first() if "target_sites" in present else None,
    }
    return render(request, "patients/detail.html", context)


def _with_superseded(patient):
    """The patient's consents, each marked `superseded_by` the version now in force when it is not the one
    consented to: that consent no longer counts until the patient consents again (one query for the forms)."""
    from trichotrack.web.consent.services import current_definitions

    consents = list(
        patient.consents.select_related("definition").defer(
            "withdrawal_reason", "definition__text", "definition__elements"
        )
    )
    if not consents:
        return consents  # nothing to compare with the forms in force: no query for them
    current = current_definitions(patient.clinic, timezone.localdate())
    renewed = {c.definition_id for c in consents if c.withdrawn_at is None}
    for c in consents:
        now = current.get(c.definition.kind)
        c.superseded_by = now if now is not None and now.pk != c.definition_id else None
        c.reconsent_needed = c.superseded_by is not None and c.superseded_by.pk not in renewed
    return consents


@staff_view
def patient_edit(request, pk):
    patient = get_patient_for_user(request, pk)
    form = PatientForm(request.POST or None, instance=patient, clinic=patient.clinic)
    before = {name: getattr(patient, name) for name in form.Meta.fields}
    if request.method == "POST" and form.is_valid():
        try:
            save_versioned(form.instance, form.cleaned_data["version"])
        except StaleEdit as exc:
            form.add_error(None, str(exc))
        else:
            after = {name: getattr(patient, name) for name in form.Meta.fields}
            audit.record(
                request.user, "patient.changed", patient, data={"changed": audit.changes(before, after)}
            )
            messages.success(request, "Saved.")
            if before["hair_colour"] != after["hair_colour"]:
                _remeasure_for_hair_colour(request, patient)
            return redirect(patient)
    return render(
        request, "patients/form.html", {"form": form, "title": f"Edit {patient}", "patient": patient}
    )


def _remeasure_for_hair_colour(request, patient):
    from trichotrack.web.photos.services import remeasure_shed_photos

    queued, kept = remeasure_shed_photos(patient)
    if queued:
        messages.info(request, f"Measuring {queued} shed-hair photo(s) again with the new hair colour.")
    if kept:
        messages.info(
            request,
            f"{kept} shed-hair photo(s) with a count corrected by hand were left as they are: a new"
            " measurement would set the correction aside (“Measure again” on the photo's page does it).",
        )


@staff_view
def patient_audit(request, pk):
    patient = get_patient_for_user(request, pk)
    events = patient.audit_events.select_related("actor")
    return render(request, "patients/audit.html", {"patient": patient, "events": events})


def _add_child(request, pk, form_class, action, title):
    patient = get_patient_for_user(request, pk)
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        obj = form.save(commit=False)
        obj.patient = patient
        obj.recorded_by = request.user
        obj.save()
        audit.record(request.user, action, obj, data={"fields": _fields(form)})
        messages.success(request, f"{title} saved.")
        return redirect(patient)
    return render(request, "patients/child_form.html", {"form": form, "title": title, "patient": patient})


def _fields(form):
    return {k: None if v is None else str(v) for k, v in form.cleaned_data.items()}


@staff_view
def staging_add(request, pk):
    return _add_child(request, pk, StagingForm, "staging.created", "Staging")


@staff_view
def lab_add(request, pk):
    return _add_child(request, pk, LabResultForm, "labs.created", "Lab result")


@staff_view
def medication_add(request, pk):
    return _add_child(request, pk, MedicationForm, "medication.created", "Medication")


@require_POST
@staff_view
def medication_stop(request, pk, med_pk):
    patient = get_patient_for_user(request, pk)
    med = get_object_or_404(Medication, pk=med_pk, patient=patient)
    form = MedicationStopForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Stop date: " + " ".join(e for errs in form.errors.values() for e in errs))
    elif med.started_on and form.cleaned_data["stopped_on"] < med.started_on:
        messages.error(request, "The stop date is before the start date.")
    else:
        old = med.stopped_on
        med.stopped_on = form.cleaned_data["stopped_on"]
        med.save(update_fields=["stopped_on"])
        audit.record(
            request.user,
            "medication.stopped",
            med,
            data={"changed": audit.changes({"stopped_on": old}, {"stopped_on": med.stopped_on})},
        )
        messages.success(request, f"{med} stopped on {med.stopped_on:%d %b %Y}.")
    return redirect(patient)


@staff_view
def screen_add(request, pk):
    patient = get_patient_for_user(request, pk)
    form = ScreenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        screen = form.save(commit=False)
        screen.patient = patient
        services.save_screen(screen, user=request.user)
        n = screen.flags.count()
        messages.info(request, f"Screen saved with {n} flag{'s' if n != 1 else ''} to acknowledge.")
        return redirect(patient)
    title = "Contraindication screen"
    return render(request, "patients/child_form.html", {"form": form, "title": title, "patient": patient})


@require_POST
@clinician_view
def flag_acknowledge(request, pk, flag_pk):
    patient = get_patient_for_user(request, pk)
    flag = get_object_or_404(ContraindicationFlag, pk=flag_pk, screen__patient=patient)
    form = AcknowledgeForm(request.POST)
    form.is_valid()
    error = ""
    try:
        services.acknowledge_flag(flag, user=request.user, note=form.cleaned_data.get("note", ""))
    except ValueError as exc:
        error = str(exc)
    if is_htmx_fragment(request):
        # Inline acknowledgement (htmx): the flag's own list item, acknowledged or with the reason it is not.
        flag.refresh_from_db()
        return render(request, "patients/flag.html", {"f": flag, "patient": patient, "error": error})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Acknowledged: {flag.label}.")
    return redirect(patient)
