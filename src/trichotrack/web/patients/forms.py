from django import forms

from trichotrack.web.forms import DateInput, NoFutureDatesMixin, VersionedFormMixin

from .models import STAGING_GRADES, ContraindicationScreen, LabResult, Medication, Patient, Staging


class PatientForm(VersionedFormMixin, NoFutureDatesMixin, forms.ModelForm):
    no_future = ("date_of_birth", "onset_date")

    class Meta:
        model = Patient
        fields = [
            "code",
            "given_name",
            "family_name",
            "date_of_birth",
            "sex",
            "occupation",
            "onset_date",
            "suspected_trigger",
            "prior_treatments",
            "hair_state",
            "hair_colour",
            "history_notes",
            "treatment_plan",
        ]
        widgets = {"date_of_birth": DateInput, "onset_date": DateInput}

    def __init__(self, *args, clinic, **kwargs):
        self.clinic = clinic
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            del self.fields["version"]

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        clash = Patient.objects.filter(clinic=self.clinic, code=code).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("Another patient of this clinic has this code.")
        return code

    def clean(self):
        cleaned = super().clean()
        dob, onset = cleaned.get("date_of_birth"), cleaned.get("onset_date")
        if dob and onset and onset < dob:
            self.add_error("onset_date", "Onset cannot be before the date of birth.")
        return cleaned


class StagingForm(NoFutureDatesMixin, forms.ModelForm):
    no_future = ("assessed_on",)

    class Meta:
        model = Staging
        fields = ["assessed_on", "scale", "grade"]
        widgets = {"assessed_on": DateInput}
        help_texts = {"grade": "; ".join(f"{k.label}: {', '.join(v)}" for k, v in STAGING_GRADES.items())}

    def clean(self):
        cleaned = super().clean()
        scale, grade = cleaned.get("scale"), cleaned.get("grade")
        if scale and grade and grade not in STAGING_GRADES[scale]:
            self.add_error("grade", f"Not a {scale} grade; choose one of {', '.join(STAGING_GRADES[scale])}.")
        return cleaned


class LabResultForm(NoFutureDatesMixin, forms.ModelForm):
    no_future = ("taken_on",)

    class Meta:
        model = LabResult
        fields = [
            "taken_on",
            "ferritin_ug_l",
            "tsh_mu_l",
            "haemoglobin_g_dl",
            "platelets_10e3_per_ul",
            "wbc_10e3_per_ul",
            "notes",
        ]
        widgets = {"taken_on": DateInput}


class MedicationForm(NoFutureDatesMixin, forms.ModelForm):
    no_future = ("started_on",)

    class Meta:
        model = Medication
        fields = ["name", "category", "started_on", "stopped_on"]
        widgets = {"started_on": DateInput, "stopped_on": DateInput}

    def clean(self):
        cleaned = super().clean()
        start, stop = cleaned.get("started_on"), cleaned.get("stopped_on")
        if start and stop and stop < start:
            self.add_error("stopped_on", "The stop date is before the start date.")
        return cleaned


class MedicationStopForm(NoFutureDatesMixin, forms.Form):
    no_future = ("stopped_on",)
    stopped_on = forms.DateField(widget=DateInput, label="Stopped on")


class ScreenForm(forms.ModelForm):
    class Meta:
        model = ContraindicationScreen
        exclude = ["patient", "screened_at", "screened_by"]
        widgets = {"planned_on": DateInput, "notes": forms.Textarea(attrs={"rows": 2})}


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Reason to proceed"
    )
