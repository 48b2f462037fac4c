import datetime as dt

from django.conf import settings
from django.db import models
from django.urls import reverse


class VisitKind(models.TextChoices):
    WEEK_2 = "2w", "2 weeks"
    MONTH_2 = "2m", "2 months"
    MONTH_6 = "6m", "6 months"
    MONTH_12 = "12m", "12 months"


# (kind, days after the treatment, half-width of the window in days)
SCHEDULE = [
    (VisitKind.WEEK_2, 14, 3),
    (VisitKind.MONTH_2, 61, 14),
    (VisitKind.MONTH_6, 183, 30),
    (VisitKind.MONTH_12, 365, 30),
]


class VisitStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    DONE = "done", "Done"
    MISSED = "missed", "Missed"


# Solicited adverse-event checklist (reference §5.1–5.2, ecosystem §7 point 1): asked at every visit.
SOLICITED = [
    ("harvest_bruising", "Harvest site: bruising"),
    ("harvest_seroma", "Harvest site: seroma"),
    ("harvest_infection", "Harvest site: infection"),
    ("harvest_numbness", "Harvest site: numbness"),
    ("scalp_pain", "Scalp: pain"),
    ("scalp_swelling", "Scalp: swelling"),
    ("scalp_infection", "Scalp: infection"),
    ("headache", "Headache"),
    ("increased_shedding", "Increased shedding"),
]


class Visit(models.Model):
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="visits")
    procedure = models.ForeignKey("procedures.Procedure", on_delete=models.CASCADE, related_name="visits")
    kind = models.CharField(max_length=3, choices=VisitKind.choices)
    due_on = models.DateField()
    window_start = models.DateField()
    window_end = models.DateField()
    status = models.CharField(max_length=10, choices=VisitStatus.choices, default=VisitStatus.SCHEDULED)
    done_on = models.DateField(null=True, blank=True)
    solicited = models.JSONField(
        default=dict, blank=True, help_text="{code: true/false} for each SOLICITED item."
    )
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["due_on", "id"]
        # The dashboard's due/overdue query: scheduled visits by window.
        indexes = [
            models.Index(fields=["status", "window_start", "window_end"], name="visit_due"),
            # overdue_visits: scheduled visits whose window ended before today (window_end alone, a range).
            models.Index(fields=["status", "window_end"], name="visit_overdue"),
        ]
        constraints = [models.UniqueConstraint(fields=["procedure", "kind"], name="visit_once_per_procedure")]

    def __str__(self):
        return f"{self.get_kind_display()} visit due {self.due_on}"

    def get_absolute_url(self):
        return reverse("followups:visit", args=[self.pk])

    def state_on(self, day: dt.date) -> str:
        """'done', 'missed', 'upcoming', 'due' (inside the window) or 'overdue' (window passed)."""
        if self.status != VisitStatus.SCHEDULED:
            return self.status
        if day < self.window_start:
            return "upcoming"
        if day <= self.window_end:
            return "due"
        return "overdue"

    @property
    def solicited_positive(self):
        labels = dict(SOLICITED)
        return [labels[k] for k, v in self.solicited.items() if v and k in labels]
