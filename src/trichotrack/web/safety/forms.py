from django import forms

from trichotrack.web.forms import DateInput, NoFutureDatesMixin, VersionedFormMixin

from .models import SERIOUSNESS, SUSPECT_STEPS, AdverseEvent, Outcome

DATES = ("onset_on", "aware_on", "resolved_on", "reported_on")


class AdverseEventForm(VersionedFormMixin, NoFutureDatesMixin, forms.ModelForm):
    no_future = DATES

    class Meta:
        model = AdverseEvent
        fields = [
            "procedure",
            "term",
            "term_other",
            "grade",
            "description",
            "onset_on",
            "aware_on",
            "resolved_on",
            *[code for code, _ in SERIOUSNESS],
            "expected",
            *[code for code, _ in SUSPECT_STEPS],
            "action_taken",
            "outcome",
            "reported_on",
            "report_route",
        ]
        widgets = {name: DateInput for name in DATES} | {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["procedure"].queryset = patient.procedures.all()
        self.fields["expected"].widget = forms.RadioSelect(
            choices=[(True, "Expected"), (False, "Unexpected")]
        )
        if not self.instance.pk:
            del self.fields["version"]

    def seriousness_fields(self):
        return [self[code] for code, _ in SERIOUSNESS]

    def causality_fields(self):
        return [self[code] for code, _ in SUSPECT_STEPS]

    def clean(self):
        cleaned = super().clean()
        g = cleaned.get
        if g("term") == "other" and not g("term_other"):
            self.add_error("term_other", "Name the event.")
        if g("onset_on") and g("resolved_on") and g("resolved_on") < g("onset_on"):
            self.add_error("resolved_on", "Resolved before onset.")
        if g("onset_on") and g("aware_on") and g("aware_on") < g("onset_on"):
            self.add_error("aware_on", "The clinic cannot learn of an event before its onset.")
        if g("grade") == 5 and not (g("death") and g("outcome") == Outcome.FATAL):
            self.add_error("grade", "Grade 5 is death: tick the death criterion and a fatal outcome.")
        if g("death") and g("outcome") != Outcome.FATAL:
            self.add_error("outcome", "Death is ticked: the outcome is fatal.")
        return cleaned
