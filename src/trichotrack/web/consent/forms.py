from django import forms

from .models import ConsentKind


class ConsentForm(forms.Form):
    """One required checkbox per disclosure element of `definition`, then the patient's typed name."""

    def __init__(self, *args, definition, **kwargs):
        super().__init__(*args, **kwargs)
        self.definition = definition
        for code, label in definition.elements:
            self.fields[f"ack_{code}"] = forms.BooleanField(
                label=label, required=True, error_messages={"required": "Each element must be acknowledged."}
            )
        self.fields["signed_name"] = forms.CharField(
            max_length=200, label="Patient's name, typed by the patient", help_text="Acts as the signature."
        )

    def acknowledged(self) -> list[str]:
        return [code for code, _ in self.definition.elements if self.cleaned_data.get(f"ack_{code}")]


class ConsentKindForm(forms.Form):
    kind = forms.ChoiceField(choices=ConsentKind.choices)


class NewVersionForm(forms.Form):
    version = forms.CharField(max_length=20)
    title = forms.CharField(max_length=200)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 10}))
    valid_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="In force from")


class WithdrawForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
