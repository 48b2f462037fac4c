from django.tasks import task

from trichotrack.web import audit


@task()
def start_reporting_clock(adverse_event_id: int) -> bool:
    """Record, once, that a serious unexpected event started a reporting clock (idempotent).

    Returns True if it wrote the event. A place for the e-mail to the safety officer once mail is configured.
    """
    from trichotrack.web.audit.models import AuditEvent

    from .models import AdverseEvent

    ae = AdverseEvent.objects.filter(pk=adverse_event_id).select_related("patient").first()
    if ae is None or ae.report_due_on is None:
        return False
    done = AuditEvent.objects.filter(
        action="safety.clock_started", target_type=ae._meta.label, target_id=str(ae.pk)
    ).exists()
    if done:
        return False
    audit.record(None, "safety.clock_started", ae, data={"due_on": ae.report_due_on.isoformat()})
    return True
