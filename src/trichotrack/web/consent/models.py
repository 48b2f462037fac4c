from django.conf import settings
from django.db import models
from django.utils import timezone


class ConsentKind(models.TextChoices):
    TREATMENT = "treatment", "Treatment"
    RESEARCH = "research", "Research and registry use of data"
    PHOTO_CLINICAL = "photo_clinical", "Photos for the clinical record"
    PHOTO_PUBLICATION = "photo_publication", "Photos for publication or marketing"


# ISSCR Informed Consent Standard (2019) disclosure elements, reference §6.6. Each is acknowledged one by one.
ISSCR_ELEMENTS = [
    ("nature_source", "Nature and source of the cells and how they are processed"),
    ("regulatory_status", "Regulatory status: this intervention is not approved"),
    ("evidence", "Scientific rationale and the quality of the evidence"),
    ("procedure_risks", "Risks of the procedures: liposuction, anaesthesia, injections"),
    ("cell_risks", "Cell-specific risks, including unknown and long-term risks"),
    ("no_benefit", "Realistic probability of benefit, including none at all"),
    ("alternatives", "Alternatives: approved therapies (e.g. minoxidil) and clinical trials"),
    ("costs", "All costs, including follow-up and complications"),
    ("conflicts", "Financial interests and conflicts of the clinic"),
    ("withdrawal", "Participation is voluntary and I may withdraw at any time"),
    ("harm", "What happens if harm occurs"),
    ("data_followup", "Data collection and follow-up plans"),
    ("contacts", "Whom to contact with questions or problems"),
]
RESEARCH_ELEMENTS = [
    ("research_purpose", "This is research: its purpose, duration and procedures"),
    ("research_risks", "Foreseeable risks and discomforts"),
    ("confidentiality", "How my data are kept confidential and de-identified"),
    ("withdrawal", "Participation is voluntary and I may withdraw at any time"),
    ("contacts", "Whom to contact with questions or problems"),
]
PHOTO_ELEMENTS = [
    ("photo_use", "How and where the photos will be used"),
    ("withdrawal", "I may withdraw this consent at any time for future use"),
]
PUBLICATION_ELEMENTS = [
    *PHOTO_ELEMENTS,
    ("not_typical", "Published results may not be typical; photos are shown unaltered"),
]
DEFAULT_ELEMENTS = {
    ConsentKind.TREATMENT: ISSCR_ELEMENTS,
    ConsentKind.RESEARCH: RESEARCH_ELEMENTS,
    ConsentKind.PHOTO_CLINICAL: PHOTO_ELEMENTS,
    ConsentKind.PHOTO_PUBLICATION: PUBLICATION_ELEMENTS,
}
# Reference §6.9 item 6: a treatment consent never counts without these.
REQUIRED_TREATMENT_ELEMENTS = {"regulatory_status", "alternatives", "costs"}


class ConsentDefinition(models.Model):
    """One version of a consent text, valid from one date to another (edc-consent style).

    When a newer version becomes valid, consents to older versions no longer count: re-consent is needed.
    """

    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.PROTECT, related_name="consent_definitions")
    kind = models.CharField(max_length=20, choices=ConsentKind.choices)
    version = models.CharField(max_length=20)
    title = models.CharField(max_length=200)
    text = models.TextField()
    elements = models.JSONField(help_text="[[code, label], ...] — each acknowledged separately.")
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="Last day of validity; empty while current.")

    class Meta:
        ordering = ["kind", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "kind", "version"], name="consent_version_unique"),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=models.F("valid_from")),
                name="consent_validity_window_ordered",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} consent v{self.version}"

    def is_valid_on(self, day) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class Consent(models.Model):
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="consents")
    definition = models.ForeignKey(ConsentDefinition, on_delete=models.PROTECT, related_name="consents")
    given_at = models.DateTimeField()
    signed_name = models.CharField(max_length=200, help_text="The patient's name, as typed by the patient.")
    explained_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawal_reason = models.TextField(blank=True)
    # A PDF of exactly what was shown and acknowledged; its SHA-256 is also in the audit trail, so any later
    # change to the file can be detected. Made by the consent.tasks.render_snapshot task.
    snapshot = models.FileField(upload_to="consent-snapshots/%Y/", blank=True)
    snapshot_sha256 = models.CharField(max_length=64, blank=True)
    # Signed in the clinic on the signature pad: the drawn PNG is kept as received and embedded in the PDF
    # snapshot beside each acknowledged element. Empty for a consent not signed in person (e.g. on paper).
    signed_in_person = models.BooleanField(default=False)
    signature = models.FileField(upload_to="consent-signatures/%Y/", blank=True)
    signature_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-given_at"]

    def __str__(self):
        return f"{self.definition} given {timezone.localdate(self.given_at):%Y-%m-%d}"

    @property
    def kind(self):
        return self.definition.kind

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None


class ConsentElementAck(models.Model):
    consent = models.ForeignKey(Consent, on_delete=models.CASCADE, related_name="acks")
    code = models.CharField(max_length=50)
    label = models.CharField(max_length=200)
    acknowledged_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["consent", "code"], name="ack_once_per_element")]

    def __str__(self):
        return self.label
