from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from . import calc

PCT = [MinValueValidator(0), MaxValueValidator(100)]
NONNEG = [MinValueValidator(0)]


class Pathway(models.TextChoices):
    IND = "ind", "IND (US FDA) with IRB oversight"
    ETHICS_STUDY = "ethics_study", "Research study with IRB / ethics approval"
    HOSPITAL_EXEMPTION = "hospital_exemption", "EU hospital exemption"
    OTHER = "other", "Other (describe in the reference)"
    NONE = "none", "None declared"


class SvfMethod(models.TextChoices):
    ENZYMATIC = "enzymatic", "Enzymatic (collagenase)"
    MECHANICAL = "mechanical", "Mechanical"


class Depth(models.TextChoices):
    INTRADERMAL = "intradermal", "Intradermal"
    SUBCUTANEOUS = "subcutaneous", "Subcutaneous"


class Activation(models.TextChoices):
    NONE = "none", "None (endogenous)"
    CACL2 = "cacl2", "CaCl₂"
    THROMBIN = "thrombin", "Thrombin"
    OTHER = "other", "Other"


SCALP_REGIONS = [
    ("frontal", "Frontal / hairline"),
    ("temporal_left", "Left temporal"),
    ("temporal_right", "Right temporal"),
    ("midscalp", "Mid-scalp"),
    ("vertex", "Vertex (crown)"),
    ("parietal_left", "Left parietal"),
    ("parietal_right", "Right parietal"),
    ("occipital", "Occipital"),
]


class Procedure(models.Model):
    """One treatment: liposuction harvest → SVF → PRP → mixture → scalp injection (reference §1.3, §2.2).

    Saved only through ``services.save_procedure``, which refuses it without a valid treatment consent.
    """

    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.PROTECT, related_name="procedures")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="procedures")
    indication = models.CharField(max_length=200, default="Hair loss (hair growth)")
    # Regulatory (reference §6.9; informational, not legal advice)
    jurisdiction = models.CharField(max_length=100, blank=True, help_text="Country and state or region.")
    pathway = models.CharField(max_length=30, choices=Pathway.choices, blank=True)
    pathway_reference = models.CharField("IND or other pathway number", max_length=100, blank=True)
    ethics_approval = models.CharField("IRB / ethics approval number", max_length=100, blank=True)
    same_surgical_procedure_claimed = models.BooleanField(
        "justified as 'same surgical procedure' (21 CFR 1271.15(b))", default=False
    )
    payment_recorded = models.BooleanField("the patient pays for the product", default=False)
    # Harvest
    harvest_at = models.DateTimeField("harvest started")
    donor_site = models.CharField(max_length=100, default="Abdomen")
    technique = models.CharField(max_length=100, default="Tumescent liposuction")
    tumescent_recipe = models.CharField(max_length=200, blank=True)
    lidocaine_total_mg = models.FloatField(null=True, blank=True, validators=NONNEG)
    patient_weight_kg = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(20), MaxValueValidator(350)]
    )
    epinephrine = models.CharField(max_length=100, blank=True)
    cannula = models.CharField(max_length=100, blank=True, help_text="Size and aspiration pressure.")
    anaesthesia = models.CharField(max_length=100, default="Local (tumescent)")
    lipoaspirate_ml = models.FloatField("lipoaspirate (mL)", null=True, blank=True, validators=NONNEG)
    lipoaspirate_g = models.FloatField("lipoaspirate (g)", null=True, blank=True, validators=NONNEG)
    harvest_operator = models.CharField(max_length=100, blank=True)
    # SVF processing
    svf_method = models.CharField("SVF isolation", max_length=20, choices=SvfMethod.choices, blank=True)
    svf_device = models.CharField("device / system, model", max_length=200, blank=True)
    closed_system = models.BooleanField(default=False)
    enzyme = models.CharField("enzyme name and grade", max_length=100, blank=True)
    enzyme_lot = models.CharField(max_length=100, blank=True)
    centrifuge_g = models.FloatField("centrifugation (×g)", null=True, blank=True, validators=NONNEG)
    centrifuge_min = models.FloatField("centrifugation (min)", null=True, blank=True, validators=NONNEG)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    processing_stopped_at = models.DateTimeField(null=True, blank=True)
    processing_operator = models.CharField(max_length=100, blank=True)
    # SVF quality
    nucleated_cells = models.FloatField("total nucleated cells", null=True, blank=True, validators=NONNEG)
    counting_method = models.CharField(max_length=100, blank=True)
    viability_pct = models.FloatField("viability (%)", null=True, blank=True, validators=PCT)
    cd45_pct = models.FloatField("CD45⁺ (%)", null=True, blank=True, validators=PCT)
    cd34_pct = models.FloatField("CD34⁺ (%)", null=True, blank=True, validators=PCT)
    cd31_pct = models.FloatField("CD31⁺ (%)", null=True, blank=True, validators=PCT)
    cd235a_pct = models.FloatField("CD235a⁺ (%)", null=True, blank=True, validators=PCT)
    # Blood draw and PRP (counts in 10³/µL; red cells 10⁶/µL)
    blood_ml = models.FloatField("blood drawn (mL)", null=True, blank=True, validators=NONNEG)
    prp_anticoagulant = models.CharField("anticoagulant, lot and ratio", max_length=100, blank=True)
    prp_device = models.CharField("PRP kit / device (510(k) number)", max_length=200, blank=True)
    spin1_g = models.FloatField("spin 1 (×g)", null=True, blank=True, validators=NONNEG)
    spin1_min = models.FloatField("spin 1 (min)", null=True, blank=True, validators=NONNEG)
    spin2_g = models.FloatField("spin 2 (×g)", null=True, blank=True, validators=NONNEG)
    spin2_min = models.FloatField("spin 2 (min)", null=True, blank=True, validators=NONNEG)
    prp_ml = models.FloatField("PRP volume (mL)", null=True, blank=True, validators=NONNEG)
    baseline_platelets = models.FloatField(
        "whole-blood platelets (10³/µL)", null=True, blank=True, validators=NONNEG
    )
    baseline_wbc = models.FloatField("whole-blood WBC (10³/µL)", null=True, blank=True, validators=NONNEG)
    prp_platelets = models.FloatField("PRP platelets (10³/µL)", null=True, blank=True, validators=NONNEG)
    prp_wbc = models.FloatField("PRP WBC (10³/µL)", null=True, blank=True, validators=NONNEG)
    prp_rbc = models.FloatField("PRP RBC (10⁶/µL)", null=True, blank=True, validators=NONNEG)
    activation = models.CharField(max_length=10, choices=Activation.choices, default=Activation.NONE)
    # Final mixture
    mixture_prp_ml = models.FloatField("PRP in the mixture (mL)", null=True, blank=True, validators=NONNEG)
    mixture_ml = models.FloatField("final mixture volume (mL)", null=True, blank=True, validators=NONNEG)
    hold_temperature = models.CharField(max_length=50, blank=True)
    # Administration
    regions = models.JSONField("scalp regions", default=list, blank=True)
    area_cm2 = models.FloatField("area treated (cm²)", null=True, blank=True, validators=NONNEG)
    depth = models.CharField(max_length=20, choices=Depth.choices, blank=True)
    needle = models.CharField("needle gauge", max_length=20, blank=True)
    injection_points = models.PositiveIntegerField(null=True, blank=True)
    volume_per_point_ml = models.FloatField("volume per point (mL)", null=True, blank=True, validators=NONNEG)
    scalp_anaesthesia = models.CharField(max_length=100, blank=True)
    injected_at = models.DateTimeField("injection finished", null=True, blank=True)
    # Confirm-before-injection (chain of identity)
    injection_confirmed_at = models.DateTimeField(null=True, blank=True)
    injection_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["-harvest_at"]

    def __str__(self):
        # The local date (TIME_ZONE): a harvest late in the evening is not shown as the next day (UTC).
        day = self.harvest_at
        if day is not None and timezone.is_aware(day):
            day = timezone.localdate(day)
        return f"Procedure {self.pk} on {day:%Y-%m-%d}"

    def get_absolute_url(self):
        return reverse("procedures:detail", args=[self.pk])

    # Derived values (calc.py holds the arithmetic)
    @property
    def lidocaine_mg_per_kg(self):
        return calc.lidocaine_mg_per_kg(self.lidocaine_total_mg, self.patient_weight_kg)

    @property
    def lidocaine_over_limit(self) -> bool:
        v = self.lidocaine_mg_per_kg
        return v is not None and v > calc.LIDOCAINE_LIMIT_MG_PER_KG

    @property
    def svf_flags(self):
        return calc.svf_flags({name: getattr(self, name) for name, *_ in calc.SVF_THRESHOLDS})

    @property
    def cells_per_ml_tissue(self):
        return calc.per_unit(self.nucleated_cells, self.lipoaspirate_ml)

    @property
    def cells_per_g_tissue(self):
        return calc.per_unit(self.nucleated_cells, self.lipoaspirate_g)

    @property
    def fold_over_baseline(self):
        return calc.fold_over_baseline(self.prp_platelets, self.baseline_platelets)

    @property
    def paw(self):
        return calc.paw_class(
            self.prp_platelets,
            self.baseline_platelets,
            activated=self.activation != Activation.NONE,
            prp_wbc=self.prp_wbc,
            baseline_wbc=self.baseline_wbc,
        )

    @property
    def depa(self):
        return calc.depa_class(
            prp_platelets=self.prp_platelets,
            injected_prp_ml=self.mixture_prp_ml,
            baseline_platelets=self.baseline_platelets,
            blood_ml=self.blood_ml,
            prp_ml=self.prp_ml,
            prp_wbc=self.prp_wbc,
            prp_rbc_10e6=self.prp_rbc,
            activated=self.activation != Activation.NONE,
        )

    @property
    def mixture_cells_per_ml(self):
        return calc.per_unit(self.nucleated_cells, self.mixture_ml)

    @property
    def cells_per_cm2(self):
        return calc.per_unit(self.nucleated_cells, self.area_cm2)

    @property
    def harvest_to_injection(self):
        if self.injected_at is None:
            return None
        return self.injected_at - self.harvest_at

    @property
    def region_labels(self):
        names = dict(SCALP_REGIONS)
        return [names.get(r, r) for r in self.regions]


class ProductKind(models.TextChoices):
    LIPOASPIRATE = "LA", "Lipoaspirate"
    SVF = "SVF", "SVF pellet"
    BLOOD = "BL", "Whole blood"
    PRP = "PRP", "PRP"
    MIXTURE = "MIX", "SVF + PRP mixture"


class Product(models.Model):
    """Chain of identity: each material has a unique printed ID and links to what it was made from."""

    product_id = models.CharField(max_length=40, unique=True)
    kind = models.CharField(max_length=3, choices=ProductKind.choices)
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="products")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="products")
    parents = models.ManyToManyField("self", symmetrical=False, related_name="children", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.product_id
