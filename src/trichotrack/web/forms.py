"""Form helpers shared by the apps."""

import datetime as dt

from django import forms
from django.utils import timezone


class NoFutureDatesMixin:
    """Rejects dates and times after now in the fields named in ``no_future``, with a message per field."""

    no_future: tuple[str, ...] = ()

    def clean(self):
        cleaned = super().clean()
        now = timezone.now()
        for name in self.no_future:
            value = cleaned.get(name)
            if value is None:
                continue
            if isinstance(value, dt.datetime):
                future = value > now + dt.timedelta(minutes=5)
            else:
                future = value > timezone.localdate()
            if future:
                self.add_error(name, "This date is in the future.")
        return cleaned


class VersionedFormMixin:
    """Adds a hidden ``version`` field carrying the version the user started editing from."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"] = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
        if self.instance and self.instance.pk and not self.is_bound:
            self.initial["version"] = self.instance.version


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)
