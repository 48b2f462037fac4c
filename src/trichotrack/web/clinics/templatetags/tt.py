import math

from django import template

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
