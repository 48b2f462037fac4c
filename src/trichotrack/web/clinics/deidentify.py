"""De-identification for researchers: dates become days from the patient's first treatment.

Researchers are de-identified: a calendar date (of a visit, a photo, a lab) narrows down who a patient is as
surely as a name. They see each date as the number of days from the patient's first treatment instead,
which is also what a cohort analysis needs. Templates use the ``{% when %}`` and ``{% age %}`` tags (tt).
"""

import datetime as dt
import re

from django.db.models import Min
from django.utils import timezone


def first_treatment_on(patient) -> dt.date | None:
    """The day of the patient's first treatment (first harvest), cached on the instance for the request."""
    if patient is None:
        return None
    if not hasattr(patient, "_first_treatment_on"):
        first = patient.procedures.aggregate(first=Min("harvest_at"))["first"]
        patient._first_treatment_on = timezone.localdate(first) if first else None
    return patient._first_treatment_on


def set_first_treatments(patients, *, procedures=None) -> None:
    """Fill the cache of first_treatment_on for many patients with one query (lists shown to researchers),
    or with none when their `procedures` are already loaded."""
    from trichotrack.web.procedures.models import Procedure

    patients = [p for p in patients if p is not None and not hasattr(p, "_first_treatment_on")]
    if not patients:
        return
    if procedures is not None:
        firsts = {}
        for proc in procedures:
            firsts[proc.patient_id] = min(proc.harvest_at, firsts.get(proc.patient_id, proc.harvest_at))
    else:
        firsts = dict(
            Procedure.objects.filter(patient__in={p.pk for p in patients})
            .values_list("patient_id")
            .annotate(first=Min("harvest_at"))
        )
    for p in patients:
        first = firsts.get(p.pk)
        p._first_treatment_on = timezone.localdate(first) if first else None


def _as_day(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    return value


def day_offset_label(value, anchor: dt.date | None) -> str:
    """'day 0' is the first treatment; 'day +61' two months later, 'day −30' a month before."""
    if anchor is None:
        return "date hidden (not treated)"
    days = (_as_day(value) - anchor).days
    return "day 0" if days == 0 else f"day {'+' if days > 0 else '−'}{abs(days)}"


_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
# "(January–March)", "(April)": the months of the patient's own measurements, as the evidence core's season
# caveat names them; the months of the literature it cites stand outside brackets and stay.
_MONTHS_IN_BRACKETS = re.compile(rf" \({_MONTH}(?:[–-]{_MONTH})?\)")
# "Here the follow-up falls in the autumn shedding season (northern hemisphere).": the season of one of the
# patient's own dates, a date range as telling as the month; the rest of the caveat stands without it.
_OWN_SEASON = re.compile(
    r" ?Here the (?:baseline|follow-up) falls in the \w+ shedding season(?: \([^)]*\))?\."
)


def dates_as_day_offsets(text: str, anchor: dt.date | None) -> str:
    """`text` (e.g. a caveat of trichotrack.evidence) with each ISO date replaced by its day offset from
    `anchor` ("Minoxidil started on 2015-10-01" → "Minoxidil started on day −61"), and the months of the
    patient's measurements named in brackets, and the season one of them falls in, left out. Without an
    anchor (untreated) the dates are hidden."""

    def offset(match: re.Match) -> str:
        try:
            day = dt.date(*map(int, match.groups()))
        except ValueError:  # not a date after all (e.g. "2015-13-45"): hide it all the same
            return "[date hidden]"
        return day_offset_label(day, anchor) if anchor is not None else "[date hidden]"

    text = _MONTHS_IN_BRACKETS.sub("", _ISO_DATE.sub(offset, text or ""))
    return _OWN_SEASON.sub("", text)
