import datetime as dt

from django.utils import timezone

from .models import SCHEDULE, Visit, VisitStatus


def schedule_visits(procedure) -> list[Visit]:
    """The 2-week, 2-, 6- and 12-month visits of one treatment; a repeat treatment gets its own set."""
    day = timezone.localdate(procedure.harvest_at)
    visits = []
    for kind, days, half_width in SCHEDULE:
        due = day + dt.timedelta(days=days)
        visits.append(
            Visit(
                patient=procedure.patient,
                procedure=procedure,
                kind=kind,
                due_on=due,
                window_start=due - dt.timedelta(days=half_width),
                window_end=due + dt.timedelta(days=half_width),
            )
        )
    return Visit.objects.bulk_create(visits)


def due_visits(clinic, day: dt.date):
    """Scheduled visits whose window contains `day`."""
    return Visit.objects.filter(
        patient__clinic=clinic, status=VisitStatus.SCHEDULED, window_start__lte=day, window_end__gte=day
    ).select_related("patient")


def overdue_visits(clinic, day: dt.date):
    """Scheduled visits whose window has passed."""
    return Visit.objects.filter(
        patient__clinic=clinic, status=VisitStatus.SCHEDULED, window_end__lt=day
    ).select_related("patient")
