import datetime as dt

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


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
# The app's global views by the names the scalp core (trichotrack.measure.scalp.VIEWS) uses for them.
CORE_VIEWS = {
    View.FRONTAL: "front",
    View.VERTEX: "top",
    View.MIDPART: "part",
    View.TEMPORAL_LEFT: "left",
    View.TEMPORAL_RIGHT: "right",
}


class MeasurementKind(models.TextChoices):
    SHED = "shed", "Shed hairs"
    TRICHOSCOPY = "trichoscopy", "Trichoscopy"
    SCALP = "scalp", "Global view"


def measurement_kind(view: str) -> str:
    """Which measurement a photo of `view` gets: every view is measured, each by its own core."""
    if view == View.SHED:
        return MeasurementKind.SHED
    if view == View.TRICHOSCOPY:
        return MeasurementKind.TRICHOSCOPY
    return MeasurementKind.SCALP


# Re-photography SDs (the same head re-shot with pose, light and distance changed), from
# bench/results/scalp.md, "Repeatability under simulated re-photography", real photos of 42 men: the RMS of
# the per-photo SDs (the pooled SD, and larger than the median: an error band that is too wide never makes
# noise look like a change). Update them when the benchmark is rerun after trichotrack.measure.scalp changes.
SCALP_FRACTION_SD = 0.047  # top view (vertex): RMS 0.047 (median 0.018), scalp 0.5.0
SCALP_FRACTION_SD_BY_VIEW = {
    View.VERTEX: SCALP_FRACTION_SD,
    View.FRONTAL: 0.055,  # front view: RMS 0.055 (median 0.022)
    # Not benchmarked (the data set has no part view; its side views were not re-shot): the larger of the
    # two measured values, until the benchmark measures them.
    View.MIDPART: 0.055,
    View.TEMPORAL_LEFT: 0.055,
    View.TEMPORAL_RIGHT: 0.055,
}
HAIRLINE_RECESSION_SD = 0.083  # front view's hairline recession index: RMS 0.083 (median 0.028)


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
    "in good light, without flash shadows. Light hair (blonde, white, grey) goes on the card with the dark "
    "field: on white it barely shows."
)
#: Hair colours (`patients.HairColour`) that show on the card's dark field, not on its white one.
LIGHT_HAIR_COLOURS = ("blonde", "white", "grey")


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
    target_site = models.ForeignKey(
        "TargetSite", null=True, blank=True, on_delete=models.PROTECT, related_name="photos"
    )
    # The scale given at upload (trichoscopy: the device's, from its field of view); None: not known.
    mm_per_px = models.FloatField(null=True, blank=True)
    original = models.FileField(max_length=200, editable=False)
    original_sha256 = models.CharField(max_length=64, editable=False)
    original_format = models.CharField(max_length=10, editable=False)  # jpeg, png, heic
    original_bytes = models.PositiveIntegerField(editable=False)
    derived = models.FileField(max_length=200, editable=False)
    # SHA-256 of the derived copy, taken at upload (exports cite it without reading every file again);
    # empty for a photo whose derived file was missing when the field was added (migration 0003).
    derived_sha256 = models.CharField(max_length=64, blank=True, editable=False)
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
    # Global views: quarter turns counter-clockwise that make the photo upright, as a person set them when
    # the scalp core could not tell ("orientation uncertain") or got it wrong; None: found from the picture.
    # Passed to the core by services.measure_data.
    orientation_turns = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=[(n, f"{90 * n}° counter-clockwise") for n in range(4)]
    )
    orientation_set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    orientation_set_at = models.DateTimeField(null=True, blank=True)

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

    @property
    def is_global(self) -> bool:
        return self.view in GLOBAL_VIEWS

    @property
    def measurement_kind(self) -> str:
        return measurement_kind(self.view)

    def current_measurement(self):
        return self.measurements.order_by("-request_no").first()


class Measurement(models.Model):
    """The automatic measurement of a photo, with the algorithm version and parameters that made it.
    Never changed, except that its overlay file is added once drawn (after the numbers are stored): a
    clinician's correction is a separate row, and a remeasure adds a new measurement.

    One row per request for every kind (`MeasurementKind`): shed-hair counts, trichoscopy (count, density,
    thin and vellus shares) and global views (visible-scalp fraction, hairline, part width). The shed-hair
    fields keep their meaning; the count fields are also filled for trichoscopy and are empty for global
    views. `report` holds the CLI's JSON for the kind (``measure shedding|trichoscopy|scalp --json``)."""

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="measurements")
    kind = models.CharField(max_length=12, choices=MeasurementKind.choices, default=MeasurementKind.SHED)
    request_no = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    algorithm = models.CharField(max_length=100)
    version = models.CharField(max_length=20)
    params = models.JSONField(default=dict)
    hair_count = models.PositiveIntegerField(null=True)
    count_low = models.PositiveIntegerField(null=True)
    count_high = models.PositiveIntegerField(null=True)
    countable = models.BooleanField(null=True)
    problems = models.JSONField(default=list)
    scale_source = models.CharField(max_length=10, blank=True)
    mm_per_px = models.FloatField(null=True)
    short_hair_fraction = models.FloatField(null=True)
    # Trichoscopy (None without a scale, or without hairs for the shares).
    density_per_cm2 = models.FloatField(null=True)
    thin_hair_fraction = models.FloatField(null=True)
    vellus_fraction = models.FloatField(null=True)
    # Global views: the visible-scalp fraction of the view's region; the frontal hairline (depths relative to
    # head height, recession 0 full to 1 none); the mid-line part width (only with a scale).
    usable = models.BooleanField(null=True)
    scalp_visible_fraction = models.FloatField(null=True)
    hairline_midline_depth_fraction = models.FloatField(null=True)
    hairline_recession_index = models.FloatField(null=True)
    part_width_mm = models.FloatField(null=True)
    # The CLI's JSON contract for the kind; for shed hairs and trichoscopy the hairs in analysed-image pixels.
    report = models.JSONField(default=dict)
    # Drawn after the numbers are stored (they are shown while it is drawn): empty until then.
    overlay = models.FileField(max_length=200, blank=True)
    overlay_error = models.CharField(max_length=300, blank=True)  # why the overlay could not be drawn
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
        if self.kind == MeasurementKind.SCALP:
            shown = (
                "not measured"
                if self.scalp_visible_fraction is None
                else f"{self.scalp_visible_fraction:.0%}"
            )
            return f"visible scalp {shown} ({self.algorithm} {self.version})"
        return f"{self.hair_count} hairs ({self.algorithm} {self.version})"

    @property
    def patient(self):
        return self.photo.patient

    @property
    def is_counted(self) -> bool:
        """Shed-hair and trichoscopy measurements count hairs (and can be corrected); global views do not."""
        return self.kind in (MeasurementKind.SHED, MeasurementKind.TRICHOSCOPY)

    def current_correction(self):
        return self.corrections.order_by("-id").first()

    @property
    def overlay_state(self) -> str:
        """``ready``; ``drawing`` just after the numbers were stored; ``failed`` when drawing it raised, or
        when it is missing longer than a task may run (the worker stopped while drawing)."""
        if self.overlay:
            return "ready"
        if self.overlay_error:
            return "failed"
        if self.created_at and timezone.now() - self.created_at > dt.timedelta(
            minutes=settings.TASK_STUCK_MINUTES
        ):
            return "failed"
        return "drawing"

    @property
    def final_count(self) -> int | None:
        correction = self.current_correction()
        return self.hair_count if correction is None else correction.corrected_count

    @property
    def field_mm2(self) -> float | None:
        """Trichoscopy: the analysed field's area (from the report)."""
        value = self.report.get("field_mm2") if self.kind == MeasurementKind.TRICHOSCOPY else None
        return float(value) if value else None

    @property
    def final_density_per_cm2(self) -> float | None:
        """Trichoscopy density after the clinician's correction (the same field, the corrected count)."""
        area = self.field_mm2
        if self.density_per_cm2 is None or area is None:
            return self.density_per_cm2
        return self.final_count / (area / 100.0)

    @property
    def density_interval_per_cm2(self) -> tuple[float, float] | None:
        """The count interval (count_low–count_high) as a density interval; None without a scale."""
        area = self.field_mm2
        if area is None or self.count_low is None:
            return None
        return (self.count_low / (area / 100.0), self.count_high / (area / 100.0))

    @property
    def hairline(self) -> dict | None:
        """Global frontal view: the core's hairline values (depths, recession index), or None."""
        return self.report.get("hairline") if self.kind == MeasurementKind.SCALP else None

    @property
    def follicular_units(self) -> dict | None:
        return self.report.get("follicular_units") if self.kind == MeasurementKind.TRICHOSCOPY else None

    @property
    def scalp_fraction_sd(self) -> float | None:
        """Re-photography SD of this view's visible-scalp fraction (`SCALP_FRACTION_SD_BY_VIEW`)."""
        if self.kind != MeasurementKind.SCALP:
            return None
        return SCALP_FRACTION_SD_BY_VIEW.get(self.photo.view, max(SCALP_FRACTION_SD_BY_VIEW.values()))

    @property
    def scalp_fraction_interval(self) -> tuple[float, float] | None:
        """The visible-scalp fraction ± 1.96 · its view's re-photography SD, clipped to 0–1."""
        if self.scalp_visible_fraction is None:
            return None
        half = 1.96 * self.scalp_fraction_sd
        return (max(self.scalp_visible_fraction - half, 0.0), min(self.scalp_visible_fraction + half, 1.0))

    @property
    def hairline_recession_interval(self) -> tuple[float, float] | None:
        """The hairline recession index ± 1.96 · `HAIRLINE_RECESSION_SD`, clipped to 0–1."""
        if self.hairline_recession_index is None:
            return None
        half = 1.96 * HAIRLINE_RECESSION_SD
        return (
            max(self.hairline_recession_index - half, 0.0),
            min(self.hairline_recession_index + half, 1.0),
        )


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


# The scalp diagram (templates/photos/scalp_diagram.html): the head seen from above, the forehead at the top,
# the patient's left on the left. Site coordinates are in these units (SVG viewBox 0 0 200 240).
DIAGRAM_WIDTH, DIAGRAM_HEIGHT = 200, 240
DIAGRAM_HEAD = (100.0, 120.0, 80.0, 104.0)  # centre x, centre y, semi-axis x, semi-axis y


def on_diagram_scalp(x: float, y: float) -> bool:
    """True when (x, y) lies on the head outline of the scalp diagram."""
    cx, cy, ax, ay = DIAGRAM_HEAD
    return ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 <= 1.0


class TargetSite(models.Model):
    """The trichoscopy target site of a patient, marked on the scalp diagram once and reused at every visit,
    so that the same patch of scalp is imaged each time (reference §3.1: mark the site, use it every visit).

    Moving the site adds a row; photos keep the site they were taken at. The patient's current site is the
    latest row."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="target_sites")
    label = models.CharField(max_length=100, help_text="E.g. 'frontal, mid-line, 2 cm behind the hairline'")
    x = models.FloatField(help_text="Scalp diagram units (0–200, left to right)")
    y = models.FloatField(help_text="Scalp diagram units (0–240, forehead to nape)")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.label} ({self.x:.0f}, {self.y:.0f})"


class StageEstimate(models.Model):
    """The Norwood (men) or Ludwig (women) stage estimated from a session's measured global views, with the
    probabilities and the measurements it rests on (trichotrack.measure.staging). One per session, replaced
    when a measurement of the session changes; the clinician's own staging stays in patients.Staging."""

    session = models.OneToOneField(PhotoSession, on_delete=models.CASCADE, related_name="stage_estimate")
    # Denormalised from the session: the timeline queries a patient's estimates.
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="stage_estimates")
    scale = models.CharField(max_length=10, blank=True)  # norwood, ludwig; blank when none applies
    stage = models.PositiveSmallIntegerField(null=True)
    probabilities = models.JSONField(default=dict)  # {"4": 0.61, …}
    measurements = models.JSONField(default=dict)  # {"top.scalp_visible_fraction": 0.41, …}
    problems = models.JSONField(default=list)
    source_measurements = models.JSONField(default=list, help_text="Measurement ids the stage rests on")
    algorithm = models.CharField(max_length=100)
    version = models.CharField(max_length=20)
    params = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-session__taken_on", "-id"]

    def __str__(self):
        return f"{self.scale_label} {self.stage_label}"

    @property
    def scale_label(self) -> str:
        return {"norwood": "Norwood–Hamilton", "ludwig": "Ludwig"}.get(self.scale, "No scale")

    @property
    def stage_label(self) -> str:
        """Roman numerals as the scales write them (Ludwig 0 is 'no loss')."""
        if self.stage is None:
            return "not estimated"
        if self.scale == "ludwig" and self.stage == 0:
            return "0 (no loss)"
        return ROMAN.get(self.stage, str(self.stage))

    def probability_rows(self) -> list[tuple[str, float]]:
        """[(stage label, probability)] in stage order, for the page."""
        rows = sorted(((int(k), float(v)) for k, v in self.probabilities.items()), key=lambda kv: kv[0])
        return [(ROMAN.get(k, str(k)) if k else "0", p) for k, p in rows]


ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI", 7: "VII"}
