from django import forms
from django.utils import timezone

from trichotrack.web.forms import DateInput, NoFutureDatesMixin

from .models import (
    DIAGRAM_HEIGHT,
    DIAGRAM_WIDTH,
    GLOBAL_VIEWS,
    HairState,
    Photo,
    PhotoSession,
    Protocol,
    View,
    on_diagram_scalp,
)

SITE_INPUT = forms.NumberInput(attrs={"step": "0.1", "class": "short"})


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several files at once; each is checked by services.check_files, not by Django's ImageField."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/heic,.heic"})
        )
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class SessionForm(NoFutureDatesMixin, forms.ModelForm):
    no_future = ("taken_on",)
    hair_state = forms.MultipleChoiceField(
        choices=HairState.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Standard: washed, dried and combed, no product.",
    )

    class Meta:
        model = PhotoSession
        fields = ["taken_on", "visit", "hair_state", "notes"]
        widgets = {"taken_on": DateInput, "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["visit"].queryset = patient.visits.all()
        self.fields["visit"].required = False
        self.initial.setdefault("taken_on", timezone.localdate())


class UploadForm(forms.Form):
    view = forms.ChoiceField(choices=View.choices)
    protocol = forms.ChoiceField(choices=[("", "—"), *Protocol.choices], required=False)
    days_since_shampoo = forms.IntegerField(min_value=0, max_value=60, required=False)
    site = forms.CharField(max_length=100, required=False, label="Marked site (trichoscopy)")
    # Set by clicking the scalp diagram (photos.js); typed by hand without JavaScript.
    site_x = forms.FloatField(
        min_value=0, max_value=DIAGRAM_WIDTH, required=False, label="Site x (diagram)", widget=SITE_INPUT
    )
    site_y = forms.FloatField(
        min_value=0, max_value=DIAGRAM_HEIGHT, required=False, label="Site y (diagram)", widget=SITE_INPUT
    )
    field_width_mm = forms.FloatField(
        min_value=0.2,
        max_value=300,
        required=False,
        label="Image width on the scalp, mm",
        help_text="Trichoscopy: from the device (e.g. 3.6 mm at 70×). Needed for density and shaft widths.",
    )
    files = MultipleImageField(label="Photos (JPEG, PNG or HEIC; several at once)")

    def __init__(self, *args, target_site=None, field_width_mm=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.target_site = target_site
        if target_site is not None:
            self.initial.setdefault("site", target_site.label)
            self.initial.setdefault("site_x", target_site.x)
            self.initial.setdefault("site_y", target_site.y)
        if field_width_mm is not None:
            self.initial.setdefault("field_width_mm", round(field_width_mm, 3))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("view") == View.SHED and not cleaned.get("protocol"):
            self.add_error("protocol", "Shed-hair photos need their protocol.")
        if cleaned.get("view") == View.TRICHOSCOPY:
            x, y = cleaned.get("site_x"), cleaned.get("site_y")
            if (x is None) != (y is None):
                self.add_error("site_x", "Give both coordinates of the site, or click the diagram.")
            elif x is None and self.target_site is None:
                self.add_error("site", "Mark the target site on the scalp diagram.")
            elif x is not None and not on_diagram_scalp(x, y):
                self.add_error("site_x", "The target site must be on the scalp in the diagram.")
            if not cleaned.get("site") and self.target_site is None:
                self.add_error("site", "Name the marked target site.")
        return cleaned


class PortalShedForm(forms.Form):
    protocol = forms.ChoiceField(choices=Protocol.choices, widget=forms.RadioSelect)
    days_since_shampoo = forms.IntegerField(min_value=0, max_value=60, label="Days since the last shampoo")
    hair_state = forms.MultipleChoiceField(
        choices=HairState.choices, required=False, widget=forms.CheckboxSelectMultiple, label="Hair today"
    )
    files = MultipleImageField(label="Photo of the hairs on the card")


class CorrectionForm(forms.Form):
    removed = forms.JSONField(required=False)
    added = forms.JSONField(required=False)
    note = forms.CharField(max_length=200, required=False)

    def clean_removed(self):
        value = self.cleaned_data.get("removed") or []
        if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
            raise forms.ValidationError("A list of hair numbers.")
        return value

    def clean_added(self):
        value = self.cleaned_data.get("added") or []
        ok = isinstance(value, list) and all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(v, (int, float)) for v in p) for p in value
        )
        if not ok:
            raise forms.ValidationError("A list of [row, column] points.")
        return value


class OrientationForm(forms.Form):
    """Which way is up: the quarter turns counter-clockwise that make a global photo upright, or "auto"
    (found from the picture by the scalp core)."""

    turns = forms.TypedChoiceField(
        choices=[("auto", "found from the photo")]
        + [(str(n), f"{90 * n}° counter-clockwise") for n in range(4)],
        coerce=lambda value: None if value == "auto" else int(value),
        empty_value="",
    )


class PairForm(forms.Form):
    baseline = forms.ModelChoiceField(queryset=Photo.objects.none())
    followup = forms.ModelChoiceField(queryset=Photo.objects.none(), label="Follow-up")

    def __init__(self, *args, patient, **kwargs):
        super().__init__(*args, **kwargs)
        photos = Photo.objects.filter(patient=patient, view__in=(*GLOBAL_VIEWS, View.TRICHOSCOPY))
        photos = photos.select_related("session").order_by("session__taken_on", "id")
        self.fields["baseline"].queryset = self.fields["followup"].queryset = photos
        label = lambda p: f"{p.get_view_display()} · {p.session.taken_on:%d %b %Y} · #{p.pk}"  # noqa: E731
        self.fields["baseline"].label_from_instance = self.fields["followup"].label_from_instance = label

    def clean(self):
        cleaned = super().clean()
        b, f = cleaned.get("baseline"), cleaned.get("followup")
        if b and f:
            if b.pk == f.pk:
                raise forms.ValidationError("Choose two different photos.")
            if b.view != f.view:
                raise forms.ValidationError("Pair photos of the same view.")
            if f.session.taken_on < b.session.taken_on:
                cleaned["baseline"], cleaned["followup"] = f, b
        return cleaned
