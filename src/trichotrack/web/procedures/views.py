from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from trichotrack.web import audit
from trichotrack.web.clinics.access import clinic_view, staff_view
from trichotrack.web.clinics.deidentify import set_first_treatments
from trichotrack.web.patients.access import get_patient_for_user
from trichotrack.web.versioning import StaleEdit

from . import regulatory, services
from .forms import ConfirmInjectionForm, ProcedureForm
from .models import Procedure


def _get_procedure_for_user(request, pk) -> Procedure:
    return get_object_or_404(
        Procedure.objects.select_related("patient", "clinic"), pk=pk, clinic=request.membership.clinic
    )


@clinic_view()
def procedure_list(request):
    procedures = list(Procedure.objects.filter(clinic=request.membership.clinic).select_related("patient"))
    if not request.membership.can_identify:  # researchers see day offsets: anchors in one query
        set_first_treatments(p.patient for p in procedures)
    return render(request, "procedures/list.html", {"procedures": procedures})


@staff_view
def procedure_create(request, pk):
    patient = get_patient_for_user(request, pk)
    form = ProcedureForm(request.POST or None)
    problems = [] if request.method == "POST" else _gate_preview(patient)
    if request.method == "POST" and form.is_valid():
        procedure = form.save(commit=False)
        procedure.patient = patient
        try:
            services.create_procedure(procedure, user=request.user)
        except services.ProcedureBlocked as exc:
            problems = exc.problems
            form.add_error(None, "The procedure was not saved.")
        else:
            messages.success(request, "Procedure saved. Print the labels before processing.")
            return redirect(procedure)
    return render(
        request,
        "procedures/form.html",
        {"form": form, "patient": patient, "problems": problems, "title": "New procedure"},
    )


def _gate_preview(patient):
    dummy = Procedure(patient=patient, harvest_at=timezone.now())
    return services.gate_problems(dummy)


@clinic_view()
def procedure_detail(request, pk):
    procedure = _get_procedure_for_user(request, pk)
    audit.record(request.user, "procedure.viewed", procedure)
    context = {
        "procedure": procedure,
        "patient": procedure.patient,
        "products": procedure.products.prefetch_related("parents"),
        "regulatory_flags": regulatory.flags(procedure),
        "disclaimer": regulatory.DISCLAIMER,
        "confirm_form": ConfirmInjectionForm(),
        "visits": procedure.visits.all(),
    }
    return render(request, "procedures/detail.html", context)


@staff_view
def procedure_edit(request, pk):
    procedure = _get_procedure_for_user(request, pk)
    form = ProcedureForm(request.POST or None, instance=procedure)
    before = {name: getattr(procedure, name) for name in form.Meta.fields}
    problems = []
    if request.method == "POST" and form.is_valid():
        after = {name: getattr(form.instance, name) for name in form.Meta.fields}
        try:
            services.update_procedure(
                form.instance,
                form.cleaned_data["version"],
                user=request.user,
                changed=audit.changes(before, after),
            )
        except StaleEdit as exc:
            form.add_error(None, str(exc))
        except services.ProcedureBlocked as exc:
            problems = exc.problems
            form.add_error(None, "The change was not saved.")
        else:
            messages.success(request, "Saved.")
            return redirect(procedure)
    return render(
        request,
        "procedures/form.html",
        {"form": form, "patient": procedure.patient, "problems": problems, "title": f"Edit {procedure}"},
    )


@clinic_view()
def procedure_labels(request, pk):
    procedure = _get_procedure_for_user(request, pk)
    audit.record(request.user, "procedure.labels_printed", procedure)
    products = procedure.products.prefetch_related("parents")
    return render(request, "procedures/labels.html", {"procedure": procedure, "products": products})


@require_POST
@staff_view
def confirm_injection(request, pk):
    procedure = _get_procedure_for_user(request, pk)
    form = ConfirmInjectionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Scan or type the product ID.")
    else:
        try:
            product = services.confirm_injection(
                procedure, form.cleaned_data["product_id"], user=request.user
            )
        except services.InjectionRefused as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{product} confirmed for {procedure.patient}. You may inject.")
    return redirect(procedure)
