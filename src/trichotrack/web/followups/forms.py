from django import forms

from trichotrack.web.forms import DateInput, NoFutureDatesMixin, VersionedFormMixin

from .models import SOLICITED, Visit, VisitStatus


class VisitForm(VersionedFormMixin, NoFutureDatesMixin, forms.ModelForm):
    no_future = ("done_on",)

    class Meta:
        model = Visit
        fields = ["status", "done_on", "notes"]
        widgets = {"done_on": DateInput, "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for code, label in SOLICITED:
            self.fields[f"sol_{code}"] = forms.BooleanField(label=label, required=False)
            if not self.is_bound:
                self.initial[f"sol_{code}"] = bool(self.instance.solicited.get(code))

    def solicited_fields(self):
        return [self[f"sol_{code}"] for code, _ in SOLICITED]

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("status") == VisitStatus.DONE
            and not cleaned.get("done_on")
            and "done_on" not in self.errors
        ):
            self.add_error("done_on", "Give the date of the visit.")
        if cleaned.get("status") != VisitStatus.DONE and cleaned.get("done_on"):
            self.add_error("status", "A visit with a date is done.")
        self.instance.solicited = {code: bool(cleaned.get(f"sol_{code}")) for code, _ in SOLICITED}
        return cleaned
