from functools import partial

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from trichotrack.web import audit
from trichotrack.web.versioning import save_versioned

from .models import AdverseEvent
from .tasks import start_reporting_clock


def _after_save(ae):
    if ae.needs_expedited_report and ae.reported_on is None:
        transaction.on_commit(partial(start_reporting_clock.enqueue, ae.pk))


@transaction.atomic
def create_adverse_event(ae: AdverseEvent, *, user, data: dict) -> AdverseEvent:
    ae.recorded_by = user
    ae.save()
    audit.record(user, "adverse_event.created", ae, data=data)
    _after_save(ae)
    return ae


@transaction.atomic
def update_adverse_event(ae: AdverseEvent, expected_version: int, *, user, changed: dict) -> None:
    save_versioned(ae, expected_version)
    audit.record(user, "adverse_event.changed", ae, data={"changed": changed})
    _after_save(ae)


def open_clocks(clinic):
    """Serious unexpected events not yet reported, soonest due first (ties: latest onset first)."""
    today = timezone.localdate()
    # On the dashboard of every signed-in page view: usually no rows, so the query is kept cheap to build
    # (no join for the patients, no ORDER BY) and the patients of the few open clocks come in a second one.
    events = AdverseEvent.objects.filter(patient__clinic=clinic, reported_on=None, expected=False).order_by()
    events = sorted(events, key=lambda ae: (ae.onset_on, ae.pk), reverse=True)
    clocks = [(ae, ae.report_days_left(today)) for ae in events if ae.needs_expedited_report]
    prefetch_related_objects([ae for ae, _ in clocks], "patient")
    return sorted(clocks, key=lambda pair: pair[1])
