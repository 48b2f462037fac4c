import csv

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from trichotrack.web.clinics.access import clinic_view

from . import jobs, services
from .models import ReportJob

RECENT_JOBS = 10


@clinic_view()
def index(request):
    recent = ReportJob.objects.filter(user=request.user, clinic=request.membership.clinic)[:RECENT_JOBS]
    context = {
        "columns": services.COLUMNS,
        "jobs": [jobs.check_stopped(job) for job in recent],
        "export_formats": [
            ("csv", "CSV"), ("parquet", "Parquet"), ("spss", "SPSS (.sav)"), ("stata", "Stata (.dta)"),
            ("fhir", "FHIR bundle"),
        ],
    }  # fmt: skip
    return render(request, "reports/index.html", context)


@clinic_view()
def research_export(request):
    """CSV for analysis; researchers may download it (it holds no identifiers)."""
    rows, excluded = services.research_rows(request.membership.clinic, user=request.user)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="trichotrack-research-{stamp}.csv"'
    response["X-Excluded-Patients"] = str(excluded)
    writer = csv.DictWriter(response, fieldnames=services.COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return response
