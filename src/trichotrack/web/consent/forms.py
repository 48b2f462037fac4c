from django import forms

from .models import ConsentKind
from .signature import SignatureError, decode_signature


class ConsentForm(forms.Form):
    """One required checkbox per disclosure element of `definition`, then the patient's typed full name and,
    when the patient signs here in person, the signature drawn on the pad (static/trichotrack/signature.js
    puts the canvas's PNG into the hidden `signature` field)."""

    def __init__(self, *args, definition, **kwargs):
        super().__init__(*args, **kwargs)
        self.definition = definition
        for code, label in definition.elements:
            self.fields[f"ack_{code}"] = forms.BooleanField(
                label=label, required=True, error_messages={"required": "Each element must be acknowledged."}
            )
        self.fields["signed_name"] = forms.CharField(
            max_length=200,
            label="Patient's full name, typed by the patient",
            error_messages={"required": "The patient must type their full name."},
        )
        self.fields["in_person"] = forms.BooleanField(
            required=False,
            initial=True,
            label="The patient signs here, in person",
            help_text="Untick only for a consent signed on paper elsewhere; keep the paper original.",
        )
        self.fields["signature"] = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        cleaned["signature_png"] = None
        if cleaned.get("in_person"):
            try:
                cleaned["signature_png"] = decode_signature(cleaned.get("signature", ""))
            except SignatureError as exc:
                self.add_error(None, f"{exc} A consent signed in person is not saved without it.")
        return cleaned

    def acknowledged(self) -> list[str]:
        return [code for code, _ in self.definition.elements if self.cleaned_data.get(f"ack_{code}")]


class ConsentKindForm(forms.Form):
    kind = forms.ChoiceField(choices=ConsentKind.choices)


class NewVersionForm(forms.Form):
    version = forms.CharField(max_length=20)
    title = forms.CharField(max_length=200)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 10}))
    valid_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="In force from")
    valid_to = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        label="Last day in force",
        required=False,
        help_text="Leave empty while the form is current; the next version will close it.",
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
