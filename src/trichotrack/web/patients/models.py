from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    OTHER = "X", "Other / not stated"


class HairColour(models.TextChoices):
    """The hair colours the shed-hair analysis knows (`trichotrack.measure.shedding.HAIR_COLOURS`)."""

    BLACK = "black", "Black"
    BROWN = "brown", "Brown"
    RED = "red", "Red or auburn"
    BLONDE = "blonde", "Blonde"
    GREY = "grey", "Grey (dark and white hairs mixed)"
    WHITE = "white", "White"


class Patient(models.Model):
    """Minimal identifying data plus the hair-loss history. Researchers see only ``code``."""

    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.PROTECT, related_name="patients")
    code = models.CharField(max_length=20, help_text="Pseudonymous study code, unique in the clinic.")
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices)
    occupation = models.CharField(max_length=100, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="patient_record",
        help_text="The patient's own login, if any.",
    )
    # Hair-loss history
    onset_date = models.DateField(null=True, blank=True, help_text="When the hair loss or shedding began.")
    suspected_trigger = models.CharField(max_length=200, blank=True)
    prior_treatments = models.TextField(
        blank=True, help_text="Treatments tried before, with dates and effect."
    )
    hair_state = models.TextField(blank=True, help_text="Pattern, shedding, hairline, as seen at intake.")
    hair_colour = models.CharField(
        max_length=10,
        choices=HairColour.choices,
        blank=True,
        default="",
        db_default="",  # (workers of the previous release, during an upgrade, insert patients without it)
        help_text="Of the shed hairs. Shed-hair photos are measured knowing it: light hair does not show on"
        " white paper, dark hair not on dark paper, and grey hair, a mix, never all on one surface.",
    )
    history_notes = models.TextField(blank=True)
    treatment_plan = models.TextField(blank=True, help_text="E.g. a planned repeat treatment.")
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "code"], name="patient_code_unique_in_clinic")
        ]

    def __str__(self):
        return self.code

    def get_absolute_url(self):
        return reverse("patients:detail", args=[self.pk])

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age_on(self, day) -> int:
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


class StagingScale(models.TextChoices):
    LUDWIG = "ludwig", "Ludwig"
    SAVIN = "savin", "Savin"
    SINCLAIR = "sinclair", "Sinclair"
    NORWOOD = "norwood", "Norwood–Hamilton"


STAGING_GRADES = {
    StagingScale.LUDWIG: ["I", "II", "III"],
    StagingScale.SAVIN: ["I-1", "I-2", "I-3", "I-4", "II-1", "II-2", "III", "advanced", "frontal"],
    StagingScale.SINCLAIR: ["1", "2", "3", "4", "5"],
    StagingScale.NORWOOD: [
        "I",
        "II",
        "IIa",
        "III",
        "IIIa",
        "III vertex",
        "IV",
        "IVa",
        "V",
        "Va",
        "VI",
        "VII",
    ],
}


class Staging(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="stagings")
    assessed_on = models.DateField()
    scale = models.CharField(max_length=20, choices=StagingScale.choices)
    grade = models.CharField(max_length=20)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-assessed_on", "scale"]

    def __str__(self):
        return f"{self.get_scale_display()} {self.grade} on {self.assessed_on}"


class LabResult(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="labs")
    taken_on = models.DateField()
    ferritin_ug_l = models.FloatField(
        "ferritin (µg/L)", null=True, blank=True, validators=[MinValueValidator(0)]
    )
    tsh_mu_l = models.FloatField("TSH (mU/L)", null=True, blank=True, validators=[MinValueValidator(0)])
    haemoglobin_g_dl = models.FloatField(
        "haemoglobin (g/dL)", null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(30)]
    )
    platelets_10e3_per_ul = models.FloatField(
        "platelets (10³/µL)",
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(5000)],
    )
    wbc_10e3_per_ul = models.FloatField(
        "white cells (10³/µL)",
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(500)],
    )
    notes = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-taken_on", "-id"]

    def __str__(self):
        return f"Labs of {self.taken_on}"


class MedicationCategory(models.TextChoices):
    ANTICOAGULANT = "anticoagulant", "Anticoagulant"
    ANTIPLATELET = "antiplatelet", "Antiplatelet"
    NSAID = "nsaid", "NSAID"
    SYSTEMIC_STEROID = "systemic_steroid", "Systemic corticosteroid"
    HAIR_LOSS = "hair_loss", "Hair-loss treatment"
    OTHER = "other", "Other"


class Medication(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="medications")
    name = models.CharField(max_length=100)
    category = models.CharField(max_length=20, choices=MedicationCategory.choices)
    started_on = models.DateField(null=True, blank=True)
    stopped_on = models.DateField(
        null=True, blank=True, help_text="Leave empty while the patient still takes it."
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["stopped_on", "name"]

    def __str__(self):
        return self.name

    def taken_within(self, day, days: int) -> bool:
        """Taken at any time in the `days` days before `day` (or still taken)."""
        if self.started_on and self.started_on > day:
            return False
        return self.stopped_on is None or (day - self.stopped_on).days < days


class ContraindicationScreen(models.Model):
    """Answers of the pre-procedure screen (reference §5.3, §6.9 item 9). Flags are derived on save."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="screens")
    screened_at = models.DateTimeField(auto_now_add=True)
    screened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    planned_on = models.DateField(
        help_text="Planned procedure date (for the NSAID 48-hour and steroid rules)."
    )
    height_cm = models.FloatField(validators=[MinValueValidator(50), MaxValueValidator(250)])
    weight_kg = models.FloatField(validators=[MinValueValidator(20), MaxValueValidator(350)])
    # PRP absolute contraindications
    platelet_dysfunction = models.BooleanField("platelet dysfunction syndrome", default=False)
    critical_thrombocytopenia = models.BooleanField(default=False)
    haemodynamic_instability = models.BooleanField(default=False)
    septicaemia = models.BooleanField(default=False)
    local_infection = models.BooleanField("infection at the scalp or harvest site", default=False)
    unwilling_to_accept_risks = models.BooleanField("patient unwilling to accept the risks", default=False)
    # Relative contraindications and protocol flags
    steroid_injection_at_site = models.BooleanField(
        "corticosteroid injection at the site within 1 month", default=False
    )
    tobacco = models.BooleanField("tobacco use", default=False)
    recent_fever = models.BooleanField("recent fever or illness", default=False)
    malignancy = models.BooleanField("active or recent malignancy", default=False)
    pregnant_or_breastfeeding = models.BooleanField(default=False)
    scalp_inflammatory_disease = models.BooleanField("active scalp inflammatory disease", default=False)
    autoimmune_alopecia = models.BooleanField(
        "autoimmune alopecia (e.g. active alopecia areata, SLE)", default=False
    )
    liposuction_risk = models.BooleanField(
        "liposuction risk (VTE history, abdominal surgery or hernia, lidocaine allergy)", default=False
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-screened_at", "-id"]

    def __str__(self):
        return f"Screen of {self.screened_at:%Y-%m-%d}"

    @property
    def bmi(self) -> float:
        """kg/m², to one decimal as charted (so 102.4 kg at 160 cm is 40.0, not 39.99…)."""
        return round(self.weight_kg / (self.height_cm / 100) ** 2, 1)


class FlagLevel(models.TextChoices):
    ABSOLUTE = "absolute", "Absolute"
    RELATIVE = "relative", "Relative"


class ContraindicationFlag(models.Model):
    screen = models.ForeignKey(ContraindicationScreen, on_delete=models.CASCADE, related_name="flags")
    code = models.CharField(max_length=50)
    label = models.CharField(max_length=200)
    level = models.CharField(max_length=10, choices=FlagLevel.choices)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement_note = models.TextField(blank=True)

    class Meta:
        ordering = ["level", "code"]
        constraints = [models.UniqueConstraint(fields=["screen", "code"], name="flag_once_per_screen")]
        # The dashboard's "flags awaiting a clinician" reads only the few open flags, however many are closed.
        indexes = [
            models.Index(
                fields=["screen"], condition=models.Q(acknowledged_at__isnull=True), name="flag_pending"
            )
        ]

    def __str__(self):
        return self.label

    @property
    def patient(self):
        return self.screen.patient
