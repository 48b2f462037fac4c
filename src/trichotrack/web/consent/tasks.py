from django.tasks import task


@task()
def render_snapshot(consent_id: int) -> bool:
    """Make the PDF snapshot of a consent (idempotent: a second run does nothing)."""
    from .models import Consent
    from .snapshot import make_snapshot

    consent = (
        Consent.objects.filter(pk=consent_id).select_related("patient", "definition", "explained_by").first()
    )
    return consent is not None and make_snapshot(consent)
