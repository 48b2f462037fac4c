"""Download an export as a ZIP made inside the request: the format's files and the codebook.

The reports page no longer links here: its buttons make the export in the background with a progress bar
(`job_views`, `jobs`), which a big clinic needs (20–45 s at 10,000 patients, bench/results/exports.md). This
URL stays for scripts and small clinics that want the file in one request.

De-identified exports: every role that may read the clinic's records (researchers included). Identified
exports: clinicians and administrators only. Each download is one export in the audit trail, with one entry
per patient included.
"""

import tempfile
import zipfile
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.utils import timezone

from trichotrack.web.clinics.access import clinic_view

from . import exports

KINDS = ("deidentified", "identified")


@clinic_view()
def download(request, fmt, kind):
    if fmt not in exports.FORMATS or kind not in KINDS:
        raise Http404("No such export.")
    deidentified = kind == "deidentified"
    if not deidentified and not request.membership.is_clinician:
        raise PermissionDenied("Identified exports are for clinicians and administrators.")
    with tempfile.TemporaryDirectory(prefix="trichotrack-export-") as folder:
        result = exports.write_export(
            request.membership.clinic, fmt, Path(folder), deidentified=deidentified, user=request.user
        )
        archive = Path(folder) / "export.zip"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
            for path in result.files:
                zipped.write(path, arcname=path.name)
        # Sent whole (not streamed): deflated, the text files shrink many times over.
        response = HttpResponse(archive.read_bytes(), content_type="application/zip")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="trichotrack-{fmt}-{kind}-{stamp}.zip"'
    response["X-Exported-Patients"] = str(result.n_patients)
    response["X-Excluded-Patients"] = str(result.n_excluded)
    return response
