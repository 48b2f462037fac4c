"""The PDF snapshot of a consent: the text and each element exactly as acknowledged (WeasyPrint)."""

import hashlib
import warnings

from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string

from trichotrack.web import audit

from .signature import data_url


def _html_class():
    with warnings.catch_warnings():
        # WeasyPrint warns at import when the optional HarfBuzz-Subset library is missing (fonts are then
        # embedded whole). Only this message, only around this import.
        warnings.filterwarnings("ignore", message="HarfBuzz-Subset", category=DeprecationWarning)
        from weasyprint import HTML
    return HTML


def snapshot_context(consent) -> dict:
    """What the snapshot shows; the drawn signature goes in as a data URL (no file path reaches
    WeasyPrint)."""
    context = {"consent": consent, "patient": consent.patient, "signature_url": ""}
    if consent.signature:
        with consent.signature.open("rb") as f:
            context["signature_url"] = data_url(f.read())
    return context


def render_pdf(consent) -> bytes:
    html = render_to_string("consent/snapshot.html", snapshot_context(consent))
    return _html_class()(string=html).write_pdf()


def make_snapshot(consent) -> bool:
    """Render and store the snapshot once; returns False if it already exists (idempotent)."""
    if consent.snapshot:
        return False
    pdf = render_pdf(consent)
    digest = hashlib.sha256(pdf).hexdigest()
    with transaction.atomic():
        consent.snapshot.save(f"consent-{consent.pk}-{digest[:12]}.pdf", ContentFile(pdf), save=False)
        consent.snapshot_sha256 = digest
        consent.save(update_fields=["snapshot", "snapshot_sha256"])
        audit.record(None, "consent.snapshot_created", consent, data={"sha256": digest, "bytes": len(pdf)})
    return True


def verify_snapshot(consent) -> bool:
    """True when the stored file still has the hash recorded when it was made."""
    if not consent.snapshot:
        return False
    with consent.snapshot.open("rb") as f:
        return hashlib.sha256(f.read()).hexdigest() == consent.snapshot_sha256
