"""The shed-count timeline as a server-side SVG (no JavaScript, no build step; fits the page's CSP).

Drawn: the published reference ranges of the refined wash test (mean ± SD), the patient's own baseline band,
treatment dates as vertical lines, and the counts (filled dots for the wash test, open for other protocols).
"""

import datetime as dt
import statistics

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

# Refined wash test, hairs per wash: mean and SD (reference §3.3).
REFERENCE_RANGES = [
    ("Normal", 27.9, 12.2, "#1a7f37"),
    ("Androgenetic alopecia", 52.2, 28.5, "#9a6700"),
    ("Telogen effluvium", 125.5, 62.7, "#b42318"),
]

WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 48, 170, 16, 36


def baseline_band(series, first_treatment: dt.date | None):
    """(mean - SD, mean, mean + SD) of the counts before the first treatment (all, if untreated); None if
    there is no count before it. One count gives a band of zero width."""
    counts = [count for day, count, *_ in series if first_treatment is None or day < first_treatment]
    if first_treatment is None:
        counts = counts[:3]
    if not counts:
        return None
    mean = statistics.fmean(counts)
    sd = statistics.stdev(counts) if len(counts) > 1 else 0.0
    return (max(mean - sd, 0.0), mean, mean + sd)


def shed_timeline_svg(series, *, treatments=(), title="Shed hairs over time") -> str:
    """`series`: [(date, count, protocol, …)] oldest first; `treatments`: dates. Returns safe SVG markup."""
    days = [row[0] for row in series] + list(treatments)
    if not days:
        days = [timezone.localdate()]
    start, end = min(days) - dt.timedelta(days=7), max(days) + dt.timedelta(days=7)
    span = max((end - start).days, 1)
    band = baseline_band(series, min(treatments) if treatments else None)
    top_value = max([count for _, count, *_ in series] + [125.5 + 62.7, 60])
    y_max = 10 * int(top_value * 1.1 / 10 + 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day):
        return LEFT + plot_w * (day - start).days / span

    def y(value):
        return TOP + plot_h * (1 - value / y_max)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'class="chart" aria-labelledby="chart-title"><title id="chart-title">{escape(title)}</title>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#d0d7de"/>',
    ]
    for label, mean, sd, colour in REFERENCE_RANGES:
        low, high = max(mean - sd, 0), min(mean + sd, y_max)
        parts.append(
            f'<rect x="{LEFT}" y="{y(high):.1f}" width="{plot_w}" height="{y(low) - y(high):.1f}" '
            f'fill="{colour}" fill-opacity="0.08"><title>{escape(label)}: {mean} ± {sd}</title></rect>'
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(mean):.1f}" y2="{y(mean):.1f}" stroke="{colour}" '
            f'stroke-dasharray="4 4" stroke-opacity="0.7"/>'
            f'<text x="{LEFT + plot_w + 6}" y="{y(mean) + 4:.1f}" font-size="11" fill="{colour}">'
            f"{escape(label)} {mean:g} ± {sd:g}</text>"
        )
    if band is not None:
        low, mean, high = band
        parts.append(
            f'<rect x="{LEFT}" y="{y(high):.1f}" width="{plot_w}" height="{max(y(low) - y(high), 2):.1f}" '
            f'fill="#0b5cad" fill-opacity="0.15" class="baseline-band"><title>Baseline {mean:.0f} '
            f"({low:.0f}–{high:.0f})</title></rect>"
        )
    for value in range(0, y_max + 1, max(10, 10 * (y_max // 60))):
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" font-size="11" text-anchor="end" fill="#57606a">'
            f"{value}</text>"
        )
    for day in treatments:
        parts.append(
            f'<line x1="{x(day):.1f}" x2="{x(day):.1f}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#0d2c4d" '
            f'stroke-width="2" class="treatment"><title>Treatment {day:%d %b %Y}</title></line>'
            f'<text x="{x(day) + 3:.1f}" y="{TOP + 12}" font-size="11" fill="#0d2c4d">treated</text>'
        )
    points = [(x(day), y(count), day, count, protocol) for day, count, protocol, *_ in series]
    if len(points) > 1:
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py, *_ in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1b1f24" stroke-width="1.5"/>')
    for px, py, day, count, protocol in points:
        fill = "#1b1f24" if protocol == "wash" else "#fff"
        parts.append(
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4.5" fill="{fill}" stroke="#1b1f24" stroke-width="1.5" '
            f'class="count"><title>{day:%d %b %Y}: {count} hairs ({escape(protocol or "—")})</title></circle>'
        )
    parts.append(
        f'<text x="{LEFT}" y="{HEIGHT - 10}" font-size="11" fill="#57606a">{start:%d %b %Y}</text>'
        f'<text x="{LEFT + plot_w}" y="{HEIGHT - 10}" font-size="11" text-anchor="end" fill="#57606a">'
        f"{end:%d %b %Y}</text>"
    )
    if not series:
        parts.append(
            f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" fill="#57606a">'
            "No measured shed-hair photos yet.</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
