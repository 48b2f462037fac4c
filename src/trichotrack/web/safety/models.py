import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

# CTCAE v5.0 terms relevant to this protocol (reference §5.1, §5.2, §5.4).
CTCAE_TERMS = [
    ("injection_site_reaction", "Injection site reaction"),
    ("bruising", "Bruising"),
    ("hematoma", "Hematoma"),
    ("seroma", "Seroma"),
    ("skin_infection", "Skin infection"),
    ("pain", "Pain"),
    ("headache", "Headache"),
    ("edema_face", "Edema face"),
    ("alopecia", "Alopecia"),
    ("paresthesia", "Paresthesia"),
    ("thromboembolic_event", "Thromboembolic event"),
    ("other", "Other (describe)"),
]


class Causality(models.TextChoices):
    # WHO-UMC categories
    CERTAIN = "certain", "Certain"
    PROBABLE = "probable", "Probable / likely"
    POSSIBLE = "possible", "Possible"
    UNLIKELY = "unlikely", "Unlikely"
    UNRELATED = "unrelated", "Not related"
    UNASSESSABLE = "unassessable", "Unassessable"


class Outcome(models.TextChoices):
    RECOVERED = "recovered", "Recovered / resolved"
    RECOVERING = "recovering", "Recovering / resolving"
    NOT_RECOVERED = "not_recovered", "Not recovered / not resolved"
    SEQUELAE = "sequelae", "Recovered with sequelae"
    FATAL = "fatal", "Fatal"
    UNKNOWN = "unknown", "Unknown"


SUSPECT_STEPS = [
    ("causality_liposuction", "Liposuction"),
    ("causality_svf", "SVF"),
    ("causality_prp", "PRP"),
    ("causality_injection", "Injection"),
    ("causality_anaesthetic", "Anaesthetic"),
]
SERIOUSNESS = [
    ("death", "Death"),
    ("life_threatening", "Life-threatening"),
    ("hospitalisation", "Hospitalisation or prolonged hospitalisation"),
    ("disability", "Persistent or significant disability"),
    ("congenital_anomaly", "Congenital anomaly"),
    ("important_medical_event", "Important medical event"),
]
REPORT_DAYS = 15
REPORT_DAYS_FATAL = 7  # fatal or life-threatening (21 CFR 312.32)


def _causality():
    return models.CharField(max_length=15, choices=Causality.choices, default=Causality.UNASSESSABLE)


class AdverseEvent(models.Model):
    """Severity (CTCAE grade) and seriousness (ICH E2A criteria) are recorded apart: a grade-3 event need not
    be serious, and a serious one need not be severe."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="adverse_events")
    procedure = models.ForeignKey(
        "procedures.Procedure", null=True, blank=True, on_delete=models.PROTECT, related_name="adverse_events"
    )
    term = models.CharField("CTCAE term", max_length=40, choices=CTCAE_TERMS)
    term_other = models.CharField("other term", max_length=100, blank=True)
    grade = models.PositiveSmallIntegerField(
        "CTCAE grade",
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        choices=[(i, str(i)) for i in range(1, 6)],
    )
    description = models.TextField(blank=True)
    onset_on = models.DateField()
    aware_on = models.DateField("clinic aware on", help_text="Starts the reporting clock.")
    resolved_on = models.DateField(null=True, blank=True)
    # Seriousness criteria
    death = models.BooleanField(default=False)
    life_threatening = models.BooleanField(default=False)
    hospitalisation = models.BooleanField(default=False)
    disability = models.BooleanField(default=False)
    congenital_anomaly = models.BooleanField(default=False)
    important_medical_event = models.BooleanField(default=False)
    expected = models.BooleanField(help_text="Listed in the consent / protocol as a known risk.")
    causality_liposuction = _causality()
    causality_svf = _causality()
    causality_prp = _causality()
    causality_injection = _causality()
    causality_anaesthetic = _causality()
    action_taken = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=15, choices=Outcome.choices, default=Outcome.NOT_RECOVERED)
    reported_on = models.DateField(null=True, blank=True)
    report_route = models.CharField(
        max_length=100, blank=True, help_text="E.g. IND safety report, MedWatch 3500."
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["-onset_on", "-id"]

    def __str__(self):
        return f"{self.term_label}, grade {self.grade}"

    def get_absolute_url(self):
        return reverse("safety:detail", args=[self.pk])

    @property
    def term_label(self) -> str:
        return self.term_other if self.term == "other" and self.term_other else self.get_term_display()

    @property
    def serious(self) -> bool:
        return any(getattr(self, code) for code, _ in SERIOUSNESS)

    @property
    def seriousness_labels(self):
        return [label for code, label in SERIOUSNESS if getattr(self, code)]

    @property
    def causality(self):
        return [(label, getattr(self, f"get_{code}_display")()) for code, label in SUSPECT_STEPS]

    @property
    def needs_expedited_report(self) -> bool:
        return self.serious and not self.expected

    @property
    def report_due_on(self) -> dt.date | None:
        if not self.needs_expedited_report:
            return None
        days = REPORT_DAYS_FATAL if (self.death or self.life_threatening) else REPORT_DAYS
        return self.aware_on + dt.timedelta(days=days)

    def report_days_left(self, today: dt.date) -> int | None:
        due = self.report_due_on
        if due is None or self.reported_on is not None:
            return None
        return (due - today).days
