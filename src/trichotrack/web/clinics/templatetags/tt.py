import datetime as dt
import math

from django import template
from django.template.defaultfilters import date as date_filter
from django.utils import timezone

from trichotrack.web.clinics.deidentify import dates_as_day_offsets, day_offset_label, first_treatment_on

register = template.Library()

_SUP = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@register.filter
def sci(value, digits=2):
    """2300000 → '2.3 × 10⁶'; small numbers as they are; None → '—'."""
    if value is None or value == "":
        return "—"
    value = float(value)
    if value == 0 or 1e-2 <= abs(value) < 1e4:
        return f"{value:.{digits}g}" if abs(value) < 1e4 else f"{value:.0f}"
    exp = math.floor(math.log10(abs(value)))
    return f"{value / 10**exp:.{digits}g} × 10{str(exp).translate(_SUP)}"


@register.filter
def num(value, digits=1):
    if value is None or value == "":
        return "—"
    return f"{float(value):.{int(digits)}f}"


@register.filter
def state_on(visit, day):
    return visit.state_on(day)


# --- Dates for whoever may identify the patient; day offsets for researchers (see clinics.deidentify) ------


@register.simple_tag(takes_context=True)
def when(context, value, patient=None, fmt="d M Y"):
    """``{% when visit.due_on visit.patient %}``: the date for staff, the day offset for a researcher.

    `patient` defaults to the page's ``patient``. Without `can_identify` in the context (e.g. a PDF rendered
    for the clinic's records) the date is shown.
    """
    if value in (None, ""):
        return "—"
    if context.get("can_identify", True):
        if isinstance(value, dt.datetime) and timezone.is_aware(value):
            value = timezone.localtime(value)
        return date_filter(value, fmt)
    patient = patient if patient is not None else context.get("patient")
    return day_offset_label(value, first_treatment_on(patient))


@register.simple_tag(takes_context=True)
def dated_text(context, text, patient=None):
    """``{% dated_text caveat.message patient %}``: a sentence that may name dates (the evidence core's
    caveats), as it is for staff; for a researcher with its ISO dates as day offsets (clinics.deidentify).

    Like ``{% when %}``, `patient` defaults to the page's ``patient`` and the text is unchanged without
    `can_identify` in the context. The result is escaped on output like any variable.
    """
    if context.get("can_identify", True):
        return text
    patient = patient if patient is not None else context.get("patient")
    return dates_as_day_offsets(text, first_treatment_on(patient))


@register.simple_tag(takes_context=True)
def age(context, patient):
    """Age at the first treatment (or today, if untreated): what a researcher may know instead of the birth
    date."""
    day = first_treatment_on(patient) or timezone.localdate()
    return patient.age_on(day)
