"""The patient page's "What the numbers can say" panel and the number formats of the evidence pages and PDFs.

The patient page (owned by the patients app) adds the panel with one line, ``{% evidence_panel patient %}``,
so the analysis is computed here and the patients view needs no change.
"""

from django import template
from django.db.models import QuerySet

from trichotrack.evidence import CODES, VERDICTS

from .. import evidence

register = template.Library()


def _format(value, *, signed=False) -> str:
    """3 significant figures at most, whole numbers from 100 on, ASCII minus; None → '—'."""
    if value is None or value == "":
        return "—"
    value = float(value)
    magnitude = abs(value)
    text = f"{value:.0f}" if magnitude >= 100 else f"{value:.1f}" if magnitude >= 10 else f"{value:.2f}"
    if text.lstrip("-").strip("0.") == "":
        return "0"
    return ("+" + text) if signed and not text.startswith("-") else text


@register.filter
def evnum(value):
    return _format(value)


@register.filter
def evsigned(value):
    return _format(value, signed=True)


@register.filter
def share(proportion):
    """A Proportion as '3 of 10 (30 %; 95 % interval 11–60 %)'."""
    if proportion is None:
        return "—"
    p = proportion
    return (
        f"{p.k} of {p.n} ({100 * p.estimate:.0f} %; 95 % interval {100 * p.low:.0f}–{100 * p.high:.0f} %, "
        f"{p.method})"
    )


@register.filter
def interval(iv):
    """An Interval as '-12.0 (95 % interval -20.1 to -3.9; n = 8)'."""
    if iv is None:
        return "—"
    bounds = f"95 % interval {_format(iv.low)} to {_format(iv.high)}"
    return f"{_format(iv.estimate, signed=True)} ({bounds}; n = {iv.n})"


ERROR_SOURCES = {
    "baseline_repeats": "the spread of the baseline days",
    "test_retest_sd": "a known test–retest SD (for photos: re-photographing the same head)",
    "measurement_intervals": "the photos' count intervals (counting error only)",
    "poisson_floor": "the chance variation of a count",
}
VERDICT_BADGES = {
    "no_change_beyond_error": "within error",
    "decrease_beyond_error": "decrease",
    "increase_beyond_error": "increase",
    "error_unknown": "error unknown",
    "no_baseline": "no baseline",
}


STATUSES = {
    "complete": "measured",
    "lost_to_follow_up": "lost to follow-up",
    "no_baseline": "no baseline",
    "not_yet_due": "not yet due",
}


@register.filter
def status_label(status):
    return STATUSES.get(status, status)


@register.filter
def error_source(source):
    return ERROR_SOURCES.get(source, source)


@register.filter
def verdict_badge(verdict):
    return VERDICT_BADGES.get(verdict, verdict)


@register.filter
def verdict_text(verdict):
    """The words the evidence core allows for a verdict ("no change beyond measurement error", …)."""
    return VERDICTS.get(verdict, verdict)


@register.filter
def caveat_title(caveat):
    return CODES.get(caveat.code, caveat.code)


@register.filter
def weeks(days):
    return "—" if days is None else f"{days / 7:.0f}"


def _share_loaded_rows(context, patient) -> None:
    """Let the panel read the patient's procedures, medications and adverse events from the querysets the
    patient page has already put in its context (it shows them too), instead of querying each a second time.

    Only rows that are certainly this patient's are shared: the page's own ``patient`` object, and querysets
    of its related managers (``patient.medications.all()``) or a non-empty list of its procedures. The page's
    later loops over the same querysets then need no query either.
    """
    if context.get("patient") is not patient or patient.pk is None:
        return
    cache = patient.__dict__.setdefault("_prefetched_objects_cache", {})
    for name in ("procedures", "medications", "adverse_events"):
        rows = context.get(name)
        manager = getattr(patient, name)
        if name in cache or rows is None:
            continue
        if isinstance(rows, QuerySet):
            if rows.model is not manager.model or rows._hints.get("instance") is not patient:
                continue
            rows._fetch_all()
            cache[name] = rows
        elif isinstance(rows, list) and all(
            isinstance(row, manager.model) and row.patient_id == patient.pk for row in rows
        ):
            if not rows:
                continue  # an empty list proves nothing about where it came from: ask the database
            queryset = manager.all()
            queryset._result_cache, queryset._prefetch_done = rows, True
            cache[name] = queryset


@register.inclusion_tag("reports/evidence_panel.html", takes_context=True)
def evidence_panel(context, patient):
    _share_loaded_rows(context, patient)
    record, analyses = evidence.patient_analyses(patient)
    membership = context.get("membership")
    return {
        "patient": patient,
        "record": record,
        "analyses": analyses,
        # Staff see dates; a researcher days from the first treatment ({% when %}, {% dated_text %}).
        "can_identify": context.get("can_identify", True),
        "can_download_case": bool(membership and membership.is_staff_role),
        "can_publish": bool(membership and membership.is_clinician),
    }
