import datetime as dt
import functools
import html
import math

from django import template
from django.template.defaultfilters import date as date_filter
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.safestring import mark_safe

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


# --- Table rows of the long lists (patient list, visit lists), rendered in Python ---------------------------
# One row through the template engine costs ~100 µs (a reverse() per link, a date filter per date, a dozen
# variable look-ups); a 100-row list was most of the server's CPU for the page. These tags write the same HTML
# (escaped the same way) at a fraction of the cost. Access checks and "today" stay per request.


def escape(value) -> str:
    """What autoescaping writes for `value` (django.utils.html.escape without its lazy-string wrapper)."""
    return html.escape(str(value))


def _display(rows_cache: dict, obj, field: str) -> str:
    """``obj.get_FIELD_display()``, once per value on a page (Django hashes the choices on each call)."""
    value = getattr(obj, field)
    key = (field, value)
    if key not in rows_cache:
        rows_cache[key] = escape(getattr(obj, f"get_{field}_display")())
    return rows_cache[key]


def _url_for(name: str):
    """``pk → URL`` of the view `name` (a ``<int:pk>`` route), with a single reverse() per page."""
    marker = 2_147_483_647
    head, _, tail = reverse(name, args=[marker]).rpartition(str(marker))
    return lambda pk: f"{head}{pk}{tail}"


# {% link %}: the links that every page repeats (the menu, a patient page's two dozen actions). {% url %} runs
# reverse() for each, about 30 µs; a route's URL pattern is the same for every request, so it is reversed
# once per process (and script prefix) with marker numbers in place of the integer arguments, then filled in.
_MARKERS = (2_147_483_641, 2_147_483_642, 2_147_483_643)


@functools.lru_cache(maxsize=1024)
def _link_pattern(prefix: str, name: str, shape: tuple) -> str:
    """``str.format`` pattern of route `name`'s URL; `shape` holds None for each integer argument (a
    placeholder) and other arguments as they are."""
    args = [_MARKERS[i] if value is None else value for i, value in enumerate(shape)]
    url = reverse(name, args=args).replace("{", "{{").replace("}", "}}")
    for i, value in enumerate(shape):
        if value is None:
            head, found, tail = url.rpartition(str(_MARKERS[i]))
            if not found:  # the route changes the number: no pattern, reverse every time
                return ""
            url = f"{head}{{{i}}}{tail}"
    return url


@register.simple_tag
def link(name, *args):
    """``{% link 'patients:edit' patient.pk %}``: what ``{% url 'patients:edit' patient.pk %}`` gives, without
    a reverse() per link (see above). Integer arguments are filled in; other arguments are part of the key."""
    shape = tuple(None if type(a) is int and a >= 0 else a for a in args)
    if len(shape) > len(_MARKERS):
        return reverse(name, args=args)
    pattern = _link_pattern(get_script_prefix(), name, shape)
    if not pattern:
        return reverse(name, args=args)
    return pattern.format(*(a if value is None else "" for a, value in zip(args, shape, strict=True)))


class _Dates:
    """Django's date filter for the formats of these rows ('d M Y', 'd M', 'M Y'), with the month names of
    the active language looked up once per page instead of once per date."""

    def __init__(self):
        self.months = {i: str(MONTHS_3[i]).title() for i in range(1, 13)}

    def __call__(self, value, fmt: str) -> str:
        if value in (None, ""):
            return ""
        if isinstance(value, dt.datetime):
            return date_filter(value, fmt)  # times need the time zone: the filter as it is
        month = self.months[value.month]
        if fmt == "d M Y":
            return f"{value.day:02d} {month} {value.year:04d}"
        if fmt == "d M":
            return f"{value.day:02d} {month}"
        if fmt == "M Y":
            return f"{month} {value.year:04d}"
        return date_filter(value, fmt)


def _when(can_identify: bool, dates: _Dates, value, patient) -> str:
    """``{% when value patient %}`` (above) for a row."""
    if value in (None, ""):
        return "—"
    if can_identify:
        return dates(value, "d M Y")
    return day_offset_label(value, first_treatment_on(patient))


@register.simple_tag(takes_context=True)
def patient_rows(context, patients):
    """The rows of patients/list_results.html: code (a link), then name and birth date for staff or the age at
    the first treatment for a researcher, sex, and onset (a date for staff, a day offset for a researcher)."""
    can_identify = context.get("can_identify", True)
    url, dates, labels, rows = _url_for("patients:detail"), _Dates(), {}, []
    for p in patients:
        if can_identify:
            who = f"<td>{escape(p.full_name)}</td><td>{dates(p.date_of_birth, 'd M Y')}</td>"
            onset = dates(p.onset_date, "M Y") or "—"
        else:
            who = f"<td>{escape(age(context, p))}</td>"
            onset = _when(False, dates, p.onset_date, p)
        rows.append(
            f'\n<tr><td><a href="{url(p.pk)}">{escape(p.code)}</a></td>{who}'
            f"<td>{_display(labels, p, 'sex')}</td><td>{escape(onset)}</td></tr>\n"
        )
    return mark_safe("".join(rows))


@register.simple_tag(takes_context=True)
def visit_rows(context, visits):
    """The rows of includes/visits.html: patient, visit (a link for staff), due date, window and the state
    on the page's ``today`` (dates for staff, day offsets for a researcher)."""
    can_identify, can_write = context.get("can_identify", True), context.get("can_write", False)
    today = context.get("today") or timezone.localdate()
    patient_url, visit_url = _url_for("patients:detail"), _url_for("followups:visit")
    dates, labels, rows = _Dates(), {}, []
    for v in visits:
        patient, kind = v.patient, _display(labels, v, "kind")
        visit = f'<a href="{visit_url(v.pk)}">{kind}</a>' if can_write else kind
        if can_identify:
            window = f"{dates(v.window_start, 'd M')} – {dates(v.window_end, 'd M Y')}"
        else:
            window = (
                f"{escape(_when(False, dates, v.window_start, patient))} to "
                f"{escape(_when(False, dates, v.window_end, patient))}"
            )
        state = v.state_on(today)
        badge = "bad" if state == "overdue" else "warn" if state == "due" else ""
        rows.append(
            f'\n<tr><td><a href="{patient_url(patient.pk)}">{escape(patient.code)}</a></td>\n'
            f"<td>{visit}</td>\n"
            f"<td>{escape(_when(can_identify, dates, v.due_on, patient))}</td><td>{window}</td>\n"
            f'<td><span class="badge {badge}">{escape(state)}</span></td></tr>\n'
        )
    return mark_safe("".join(rows))
