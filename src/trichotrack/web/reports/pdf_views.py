"""The evidence pages and the PDF downloads.

Who sees what: the cohort statistics page and the cohort report are for every reading role of the clinic
(they hold study codes, never names; a researcher's are always de-identified: keyed-hash subject ids); the
case report, which names the patient, is for the clinic's staff; the publication export is a clinician's
decision. Another clinic's patient is a 404.
"""

import re

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from trichotrack.web.clinics.access import clinic_view, clinician_view, staff_view
from trichotrack.web.clinics.models import Role
from trichotrack.web.patients.access import get_patient_for_user

from . import pdf


def _safe(text: str) -> str:
    """A study code as a file-name part: letters, digits, '.', '_' and '-' only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text) or "patient"


def _pdf_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _deidentified(request) -> bool:
    """Researchers only ever get de-identified cohort data; others may ask for it."""
    return request.membership.role == Role.RESEARCHER or request.GET.get("deidentified") == "1"


@clinic_view()
def cohort(request):
    context = pdf.cohort_context(
        request.membership.clinic, kind=request.GET.get("kind"), deidentified=_deidentified(request)
    )
    return render(request, "reports/cohort.html", context)


@clinic_view()
def cohort_pdf(request):
    deidentified = _deidentified(request)
    data = pdf.cohort_report_pdf(
        request.membership.clinic, user=request.user, kind=request.GET.get("kind"), deidentified=deidentified
    )
    stamp = timezone.localdate().isoformat()
    suffix = "-deidentified" if deidentified else ""
    return _pdf_response(data, f"trichotrack-cohort{suffix}-{stamp}.pdf")


@staff_view
def case_pdf(request, pk):
    patient = get_patient_for_user(request, pk)
    data = pdf.case_report_pdf(patient, user=request.user)
    return _pdf_response(data, f"case-report-{_safe(patient.code)}-{timezone.localdate().isoformat()}.pdf")


class PublicationForm(forms.Form):
    pair = forms.ModelChoiceField(queryset=None, label="Before/after pair", empty_label=None)
    caption = forms.CharField(
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Say what was measured (“wash-test count 130 → 70 hairs at 24 weeks; one patient, no "
        "comparison group”), not what the treatment did: efficacy wording is refused.",
    )

    def __init__(self, *args, patient, **kwargs):
        super().__init__(*args, **kwargs)
        pairs = patient.photo_pairs.select_related("baseline__session", "followup__session")
        self.fields["pair"].queryset = pairs
        self.fields["pair"].label_from_instance = lambda p: f"{p} ({p.get_verdict_display().lower()})"


@clinician_view
def publication(request, pk):
    """A form (GET); the PDF, or the page again with every reason for refusing it (POST)."""
    patient = get_patient_for_user(request, pk)
    suggestion = pdf.suggested_caption(pdf.primary_analysis(patient))
    form = PublicationForm(request.POST or None, patient=patient, initial={"caption": suggestion})
    problems = []
    if request.method == "POST" and form.is_valid():
        try:
            data = pdf.publication_pdf(
                patient, form.cleaned_data["pair"], form.cleaned_data["caption"], user=request.user
            )
        except pdf.PublicationRefused as refused:
            problems = refused.problems
        else:
            return _pdf_response(data, f"before-after-{_safe(patient.code)}.pdf")
    status = 422 if problems or form.errors else 200
    context = {"patient": patient, "form": form, "problems": problems, "suggestion": suggestion}
    return render(request, "reports/publication.html", context, status=status)
