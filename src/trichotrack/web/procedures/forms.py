from django import forms

from trichotrack.web.forms import DateTimeInput, NoFutureDatesMixin, VersionedFormMixin

from . import regulatory
from .models import SCALP_REGIONS, Procedure

SECTIONS = [
    (
        "Regulatory pathway",
        "Required before an SVF procedure is logged. Informational only, not legal advice.",
        [
            "indication",
            "jurisdiction",
            "pathway",
            "pathway_reference",
            "ethics_approval",
            "same_surgical_procedure_claimed",
            "payment_recorded",
        ],
    ),
    (
        "Liposuction harvest",
        "",
        [
            "harvest_at",
            "donor_site",
            "technique",
            "tumescent_recipe",
            "lidocaine_total_mg",
            "patient_weight_kg",
            "epinephrine",
            "cannula",
            "anaesthesia",
            "lipoaspirate_ml",
            "lipoaspirate_g",
            "harvest_operator",
        ],
    ),
    (
        "SVF processing",
        "Record relative centrifugal force (×g), not rpm.",
        [
            "svf_method",
            "svf_device",
            "closed_system",
            "enzyme",
            "enzyme_lot",
            "centrifuge_g",
            "centrifuge_min",
            "processing_started_at",
            "processing_stopped_at",
            "processing_operator",
        ],
    ),
    (
        "SVF quality",
        "IFATS/ISCT: viability >70%, CD34⁺ >20%, CD45⁺ <50% of nucleated cells.",
        [
            "nucleated_cells",
            "counting_method",
            "viability_pct",
            "cd45_pct",
            "cd34_pct",
            "cd31_pct",
            "cd235a_pct",
        ],
    ),
    (
        "Blood draw and PRP",
        "Counts: platelets and white cells in 10³/µL, red cells in 10⁶/µL.",
        [
            "blood_ml",
            "prp_anticoagulant",
            "prp_device",
            "spin1_g",
            "spin1_min",
            "spin2_g",
            "spin2_min",
            "prp_ml",
            "baseline_platelets",
            "baseline_wbc",
            "prp_platelets",
            "prp_wbc",
            "prp_rbc",
            "activation",
        ],
    ),
    ("Final mixture", "", ["mixture_prp_ml", "mixture_ml", "hold_temperature"]),
    (
        "Administration",
        "",
        [
            "regions",
            "area_cm2",
            "depth",
            "needle",
            "injection_points",
            "volume_per_point_ml",
            "scalp_anaesthesia",
            "injected_at",
        ],
    ),
    ("Notes", "", ["notes"]),
]
DATETIME_FIELDS = ["harvest_at", "processing_started_at", "processing_stopped_at", "injected_at"]


class ProcedureForm(VersionedFormMixin, NoFutureDatesMixin, forms.ModelForm):
    no_future = tuple(DATETIME_FIELDS)
    regions = forms.MultipleChoiceField(
        choices=SCALP_REGIONS, required=False, widget=forms.CheckboxSelectMultiple, label="Scalp regions"
    )

    class Meta:
        model = Procedure
        fields = [name for _, _, names in SECTIONS for name in names]
        widgets = {name: DateTimeInput() for name in DATETIME_FIELDS} | {
            "notes": forms.Textarea(attrs={"rows": 3})
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            del self.fields["version"]

    def sections(self):
        for title, help_text, names in SECTIONS:
            yield title, help_text, [self[name] for name in names]

    def clean(self):
        cleaned = super().clean()
        g = cleaned.get
        missing = regulatory.missing_for_svf(
            svf_method=g("svf_method") or "",
            jurisdiction=g("jurisdiction") or "",
            pathway=g("pathway") or "",
            reference=g("pathway_reference") or "",
            ethics=g("ethics_approval") or "",
        )
        if missing:
            self.add_error(None, "Before an SVF procedure is logged, record the " + ", ".join(missing) + ".")
        for earlier, later, message in [
            ("processing_started_at", "processing_stopped_at", "Processing stops before it starts."),
            ("harvest_at", "processing_started_at", "Processing starts before the harvest."),
            ("harvest_at", "injected_at", "The injection is before the harvest."),
        ]:
            if g(earlier) and g(later) and g(later) < g(earlier):
                self.add_error(later, message)
        if g("mixture_prp_ml") and g("prp_ml") is not None and g("mixture_prp_ml") > g("prp_ml"):
            self.add_error("mixture_prp_ml", "More PRP in the mixture than was prepared.")
        if g("mixture_prp_ml") and g("mixture_ml") is not None and g("mixture_prp_ml") > g("mixture_ml"):
            self.add_error("mixture_ml", "The mixture is smaller than the PRP it contains.")
        return cleaned


class ConfirmInjectionForm(forms.Form):
    product_id = forms.CharField(
        max_length=40,
        label="Scan or type the ID on the syringe label",
        widget=forms.TextInput(attrs={"autofocus": True}),
    )
