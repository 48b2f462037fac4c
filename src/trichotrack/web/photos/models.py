from django.conf import settings
from django.db import models
from django.urls import reverse


class View(models.TextChoices):
    """The standardized global views (ecosystem §2.1) plus shed-hair and trichoscopy photos."""

    FRONTAL = "frontal", "Frontal"
    VERTEX = "vertex", "Vertex"
    MIDPART = "midpart", "Mid-part"
    TEMPORAL_LEFT = "temporal_left", "Left temporal"
    TEMPORAL_RIGHT = "temporal_right", "Right temporal"
    SHED = "shed", "Shed hairs"
    TRICHOSCOPY = "trichoscopy", "Trichoscopy"


GLOBAL_VIEWS = (View.FRONTAL, View.VERTEX, View.MIDPART, View.TEMPORAL_LEFT, View.TEMPORAL_RIGHT)


class Protocol(models.TextChoices):
    COMB_60S = "comb_60s", "60-second comb count"
    WASH = "wash", "Wash test"
    DAILY = "daily", "Daily collection"


PROTOCOL_STEPS = {
    Protocol.COMB_60S: [
        "Before washing, bend forward over a dark towel or pillowcase.",
        "Comb from the back of the head to the front for 60 seconds.",
        "Collect every hair that fell and lay them apart on the printed card.",
    ],
    Protocol.WASH: [
        "Do not wash for 5 days before the test.",
        "Wash in the basin with the plug in (or a gauze over the drain), then collect every hair.",
        "Lay the hairs apart on the printed card.",
    ],
    Protocol.DAILY: [
        "Collect the hairs shed today: pillow, brush, clothes, shower.",
        "Lay the hairs apart on the printed card.",
    ],
}
CARD_REMINDER = (
    "Lay the hairs apart on the printed calibration card and photograph the whole card from straight above, "
    "in good light, without flash shadows."
)


class HairState(models.TextChoices):
    WASHED = "washed", "Washed"
    DRY = "dry", "Dry"
    PRODUCT = "product", "Product in hair"
    DYED = "dyed", "Dyed"
    RECENT_HAIRCUT = "recent_haircut", "Recent haircut"


class Source(models.TextChoices):
    CLINIC = "clinic", "Clinic"
    PORTAL = "portal", "Patient portal"


class PhotoSession(models.Model):
    """The photos taken at one sitting: a visit in the clinic, or a patient's upload at home."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="photo_sessions")
    visit = models.ForeignKey(
        "followups.Visit", null=True, blank=True, on_delete=models.SET_NULL, related_name="photo_sessions"
    )
    taken_on = models.DateField()
    # VISIA-style capture-condition tags: before/after is only comparable with the same hair state.
    hair_state = models.JSONField(default=list, blank=True, help_text="HairState values")
    notes = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CLINIC)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-taken_on", "-id"]

    def __str__(self):
        return f"Photo session of {self.taken_on:%d %b %Y}"

    def get_absolute_url(self):
        return reverse("photos:session", args=[self.pk])

    @property
    def hair_state_labels(self):
        labels = dict(HairState.choices)
        return [labels.get(v, v) for v in self.hair_state]


class MeasureStatus(models.TextChoices):
    NOT_MEASURED = "none", "Not measured"
    QUEUED = "queued", "Waiting for a worker"
    RUNNING = "running", "Measuring"
    DONE = "done", "Measured"
    FAILED = "failed", "Measurement failed"


class Photo(models.Model):
    """One uploaded photo. The original file is kept byte for byte (with its SHA-256) and never changed;
    the derived copy is what the app shows: upright, re-encoded, without EXIF, GPS or any other metadata."""

    session = models.ForeignKey(PhotoSession, on_delete=models.PROTECT, related_name="photos")
    # Denormalised from the session: the timeline and before/after pages query photos by patient.
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="photos")
    view = models.CharField(max_length=20, choices=View.choices)
    protocol = models.CharField(max_length=10, choices=Protocol.choices, blank=True)
    days_since_shampoo = models.PositiveSmallIntegerField(null=True, blank=True)
    site = models.CharField(
        max_length=100, blank=True, help_text="Trichoscopy: the marked target site (e.g. tattoo dot 2 cm …)"
    )
    original = models.FileField(max_length=200, editable=False)
    original_sha256 = models.CharField(max_length=64, editable=False)
    original_format = models.CharField(max_length=10, editable=False)  # jpeg, png, heic
    original_bytes = models.PositiveIntegerField(editable=False)
    derived = models.FileField(max_length=200, editable=False)
    width_px = models.PositiveIntegerField(editable=False)
    height_px = models.PositiveIntegerField(editable=False)
    # Measured on the derived copy when the photo is stored: for the comparability verdict.
    mean_brightness = models.FloatField(null=True, editable=False)
    sharpness = models.FloatField(null=True, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    # Background measurement: each request gets a new number, and a measurement is made once per number,
    # so a task run twice (two workers, a retry) never measures twice.
    measure_request = models.PositiveIntegerField(default=0)
    measure_status = models.CharField(
        max_length=10, choices=MeasureStatus.choices, default=MeasureStatus.NOT_MEASURED
    )
    measure_error = models.TextField(blank=True)

    class Meta:
        ordering = ["session", "view", "id"]
        # The timeline and before/after: a patient's photos of one view.
        indexes = [models.Index(fields=["patient", "view"], name="photo_patient_view")]

    def __str__(self):
        return f"{self.get_view_display()} photo {self.pk}"

    def get_absolute_url(self):
        return reverse("photos:detail", args=[self.pk])

    @property
    def taken_on(self):
        return self.session.taken_on

    @property
    def is_shed(self) -> bool:
        return self.view == View.SHED

    def current_measurement(self):
        return self.measurements.order_by("-request_no").first()


class Measurement(models.Model):
    """The automatic shed-hair measurement of a photo, with the algorithm version and parameters that made it.
    Never changed: a clinician's correction is a separate row, and a remeasure adds a new measurement."""

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="measurements")
    request_no = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    algorithm = models.CharField(max_length=100)
    version = models.CharField(max_length=20)
    params = models.JSONField(default=dict)
    hair_count = models.PositiveIntegerField()
    count_low = models.PositiveIntegerField()
    count_high = models.PositiveIntegerField()
    countable = models.BooleanField()
    problems = models.JSONField(default=list)
    scale_source = models.CharField(max_length=10)
    mm_per_px = models.FloatField(null=True)
    short_hair_fraction = models.FloatField(null=True)
    # The CLI's JSON contract (trichotrack measure shedding --json), hairs in analysed-image coordinates.
    report = models.JSONField(default=dict)
    overlay = models.FileField(max_length=200, blank=True)
    analysed_width_px = models.PositiveIntegerField()
    analysed_height_px = models.PositiveIntegerField()
    seconds = models.FloatField()
    worker = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-request_no"]
        constraints = [
            models.UniqueConstraint(fields=["photo", "request_no"], name="measurement_once_per_request")
        ]

    def __str__(self):
        return f"{self.hair_count} hairs ({self.algorithm} {self.version})"

    @property
    def patient(self):
        return self.photo.patient

    def current_correction(self):
        return self.corrections.order_by("-id").first()

    @property
    def final_count(self) -> int:
        correction = self.current_correction()
        return self.hair_count if correction is None else correction.corrected_count


class Correction(models.Model):
    """A clinician's correction of an automatic count: hairs removed (by number) and added (by point)."""

    measurement = models.ForeignKey(Measurement, on_delete=models.CASCADE, related_name="corrections")
    removed = models.JSONField(default=list, help_text="1-based hair numbers of false detections")
    added = models.JSONField(default=list, help_text="[row, col] of missed hairs, analysed-image pixels")
    corrected_count = models.PositiveIntegerField()
    note = models.CharField(max_length=200, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"Corrected to {self.corrected_count}"

    @property
    def patient(self):
        return self.measurement.photo.patient


class Verdict(models.TextChoices):
    COMPARABLE = "comparable", "Comparable"
    CAUTION = "caution", "Compare with caution"
    NOT_COMPARABLE = "not_comparable", "Not comparable"


class Pair(models.Model):
    """A before/after pair of the same view: the follow-up registered onto the baseline, and a verdict."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="photo_pairs")
    baseline = models.ForeignKey(Photo, on_delete=models.PROTECT, related_name="+")
    followup = models.ForeignKey(Photo, on_delete=models.PROTECT, related_name="+")
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    reasons = models.JSONField(default=list)
    measures = models.JSONField(default=dict)
    registration = models.JSONField(default=dict, help_text="method, inliers, scale, rotation, version")
    registered = models.FileField(max_length=200, blank=True, help_text="The follow-up on the baseline grid")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.baseline.get_view_display()}: {self.baseline.taken_on} vs {self.followup.taken_on}"

    def get_absolute_url(self):
        return reverse("photos:pair", args=[self.pk])
