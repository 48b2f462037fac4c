"""Exports and cohort reports in the background: start one, watch its progress, download it, retry it.

A researcher may start a job (a POST) although the role is read-only: a job writes no clinical data, only
its own row, and what a researcher may have (de-identified files) is checked by `jobs.refusal`. A job is
its requester's alone: anyone else, in the clinic or not, gets a 404.
"""

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from trichotrack.web.clinics.access import clinic_view
from trichotrack.web.clinics.models import READ_ROLES

from . import jobs
from .models import JobKind, ReportJob

# Login required and a reading role of a clinic; researchers may POST here too (to ask for a
# de-identified job), which plain clinic_view() keeps to staff.
reader_view = clinic_view(READ_ROLES, write_roles=READ_ROLES)


def _own_job(request, pk) -> ReportJob:
    """The job, when the signed-in user asked for it in their present clinic; else 404."""
    job = get_object_or_404(ReportJob, pk=pk, user=request.user, clinic=request.membership.clinic)
    return jobs.check_stopped(job)


@require_POST
@reader_view
def start(request):
    kind = request.POST.get("kind", JobKind.EXPORT)
    deidentified = request.POST.get("deidentified") == "1"
    fmt = "pdf" if kind == JobKind.COHORT_PDF else request.POST.get("format", "")
    options = {}
    if kind == JobKind.COHORT_PDF and request.POST.get("measure"):
        options["kind"] = request.POST["measure"][:40]
    try:
        job = jobs.start_job(
            request.membership, request.user, kind=kind, fmt=fmt, deidentified=deidentified, options=options
        )
    except ValueError as error:
        raise Http404(str(error)) from None
    return redirect("reports:job", job.pk)


@reader_view
def detail(request, pk):
    return render(request, "reports/job.html", {"job": _own_job(request, pk)})


@reader_view
def status(request, pk):
    """The progress fragment that the page polls (htmx) while the job is queued or running."""
    response = render(request, "reports/job_status.html", {"job": _own_job(request, pk)})
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@reader_view
def retry(request, pk):
    job = _own_job(request, pk)
    reason = jobs.refusal(request.membership, kind=job.kind, deidentified=job.deidentified)
    if reason:
        raise PermissionDenied(reason)
    jobs.retry_job(job, request.user)
    return redirect("reports:job", job.pk)


@reader_view
def download(request, pk):
    job = _own_job(request, pk)
    if not jobs.downloadable(job, request):
        raise Http404("No such file (it may have expired).")
    from django.core.files.storage import storages

    handle = storages["default"].open(job.file.name, "rb")
    jobs.record_download(job, request.user)
    response = FileResponse(handle, as_attachment=True, filename=job.filename)
    response["Cache-Control"] = "private, no-store"
    return response
