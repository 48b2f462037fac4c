import csv

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from trichotrack.web.clinics.access import clinic_view

from . import services


@clinic_view()
def index(request):
    return render(request, "reports/index.html", {"columns": services.COLUMNS})


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
