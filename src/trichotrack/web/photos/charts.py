"""The shed-count timeline as a server-side SVG (no JavaScript, no build step; fits the page's CSP).

Drawn: the published reference ranges of the refined wash test (mean ± SD), the patient's own baseline band,
treatment dates as vertical lines, and the counts (filled dots for the wash test, open for other protocols).
Small charts of one measure each follow the same rules: trichoscopy density (count interval as error bars)
and thin-hair share, each global view's visible-scalp fraction with its re-photography error band, the
frontal hairline and the estimated stage, all with the treatment dates.

Every date written into a chart (axis ends, tooltips) goes through `day_label`: the calendar date by default,
the day offset from the first treatment for a researcher (`clinics.deidentify`, see `photos.views`).
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


def calendar_day(day: dt.date) -> str:
    """The default `day_label`: '20 Jan 2016'."""
    return f"{day:%d %b %Y}"


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


def shed_timeline_svg(series, *, treatments=(), title="Shed hairs over time", day_label=calendar_day) -> str:
    """`series`: [(date, count, protocol, …)] oldest first; `treatments`: dates; `day_label` writes a date.
    Returns safe SVG markup."""
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
            f'stroke-width="2" class="treatment"><title>Treatment {escape(day_label(day))}</title></line>'
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
            f'class="count"><title>{escape(day_label(day))}: {count} hairs '
            f"({escape(protocol or '—')})</title></circle>"
        )
    parts.append(
        f'<text x="{LEFT}" y="{HEIGHT - 10}" font-size="11" fill="#57606a">{escape(day_label(start))}</text>'
        f'<text x="{LEFT + plot_w}" y="{HEIGHT - 10}" font-size="11" text-anchor="end" fill="#57606a">'
        f"{escape(day_label(end))}</text>"
    )
    if not series:
        parts.append(
            f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" fill="#57606a">'
            "No measured shed-hair photos yet.</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


# --- small charts of one measure each (trichoscopy, global views, stage) ----------------------------------

SMALL_WIDTH, SMALL_HEIGHT = 360, 180
S_LEFT, S_RIGHT, S_TOP, S_BOTTOM = 44, 12, 14, 30


def small_chart_svg(
    points,
    *,
    treatments=(),
    title: str,
    y_min: float,
    y_max: float,
    y_ticks,
    tick_label=lambda v: f"{v:g}",
    value_label=lambda v: f"{v:g}",
    band: bool = False,
    css_class: str = "measure",
    empty: str = "No measurements yet.",
    day_label=calendar_day,
) -> str:
    """One measure over time as safe SVG markup: points ``(date, value, low, high, note)`` oldest first,
    treatments as vertical lines; `low`/`high` (or None) drawn as error bars, and with `band` also as a
    shaded band joining them (the measurement-error band of the global views); `day_label` writes a date."""
    days = [p[0] for p in points] + list(treatments)
    if not days:
        days = [timezone.localdate()]
    start, end = min(days) - dt.timedelta(days=7), max(days) + dt.timedelta(days=7)
    span = max((end - start).days, 1)
    plot_w, plot_h = SMALL_WIDTH - S_LEFT - S_RIGHT, SMALL_HEIGHT - S_TOP - S_BOTTOM
    y_span = (y_max - y_min) or 1.0

    def x(day):
        return S_LEFT + plot_w * (day - start).days / span

    def y(value):
        value = min(max(value, y_min), y_max)
        return S_TOP + plot_h * (1 - (value - y_min) / y_span)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SMALL_WIDTH} {SMALL_HEIGHT}" role="img" '
        f'class="chart small {css_class}"><title>{escape(title)}</title>',
        f'<rect x="{S_LEFT}" y="{S_TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#d0d7de"/>',
    ]
    for value in y_ticks:
        parts.append(
            f'<line x1="{S_LEFT}" x2="{S_LEFT + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="#eaeef2"/><text x="{S_LEFT - 5}" y="{y(value) + 4:.1f}" font-size="10" '
            f'text-anchor="end" fill="#57606a">{escape(tick_label(value))}</text>'
        )
    for day in treatments:
        parts.append(
            f'<line x1="{x(day):.1f}" x2="{x(day):.1f}" y1="{S_TOP}" y2="{S_TOP + plot_h}" stroke="#0d2c4d" '
            f'stroke-width="2" class="treatment"><title>Treatment {escape(day_label(day))}</title></line>'
        )
    ranged = [p for p in points if p[2] is not None and p[3] is not None]
    if band and len(ranged) > 1:
        upper = " ".join(f"{x(p[0]):.1f},{y(p[3]):.1f}" for p in ranged)
        lower = " ".join(f"{x(p[0]):.1f},{y(p[2]):.1f}" for p in reversed(ranged))
        parts.append(
            f'<polygon points="{upper} {lower}" fill="#0b5cad" fill-opacity="0.12" class="error-band"/>'
        )
    for day, _, low, high, _ in ranged:
        parts.append(
            f'<line x1="{x(day):.1f}" x2="{x(day):.1f}" y1="{y(high):.1f}" y2="{y(low):.1f}" '
            f'stroke="#0b5cad" stroke-width="1.5" class="error-bar"/>'
        )
    if len(points) > 1:
        path = " ".join(f"{x(p[0]):.1f},{y(p[1]):.1f}" for p in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1b1f24" stroke-width="1.5"/>')
    for day, value, low, high, note in points:
        shown = value_label(value)
        if low is not None and high is not None:
            shown += f" ({value_label(low)}–{value_label(high)})"
        parts.append(
            f'<circle cx="{x(day):.1f}" cy="{y(value):.1f}" r="4" fill="#1b1f24" class="value">'
            f"<title>{escape(day_label(day))}: {escape(shown)}{escape(note)}</title></circle>"
        )
        if len(points) <= 12:  # the value beside its dot, while there is room for it
            parts.append(
                f'<text x="{x(day) + 6:.1f}" y="{y(value) - 6:.1f}" font-size="10" fill="#1b1f24">'
                f"{escape(value_label(value))}</text>"
            )
    parts.append(
        f'<text x="{S_LEFT}" y="{SMALL_HEIGHT - 10}" font-size="10" fill="#57606a">'
        f"{escape(day_label(start))}</text>"
        f'<text x="{S_LEFT + plot_w}" y="{SMALL_HEIGHT - 10}" font-size="10" text-anchor="end" '
        f'fill="#57606a">{escape(day_label(end))}</text>'
    )
    if not points:
        parts.append(
            f'<text x="{S_LEFT + plot_w / 2}" y="{S_TOP + plot_h / 2}" text-anchor="middle" font-size="11" '
            f'fill="#57606a">{escape(empty)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _nice_top(values, floor: float) -> float:
    top = max([v for v in values if v is not None] + [floor])
    step = 10 ** max(len(str(int(top))) - 1, 0)
    return step * (int(top * 1.1 / step) + 1)


def density_svg(rows, *, treatments=(), day_label=calendar_day) -> str:
    """Trichoscopy density (hairs/cm²) with the count interval as error bars; rows from
    `services.trichoscopy_series` (images without a scale have no density and are left out)."""
    points = [
        (r["day"], r["density"], r["low"], r["high"], f" · {r['count']} hairs · {r['site']}")
        for r in rows
        if r["density"] is not None
    ]
    top = _nice_top([p[3] for p in points], 100)
    return small_chart_svg(
        points,
        treatments=treatments,
        day_label=day_label,
        title="Trichoscopy: hair density per cm²",
        y_min=0,
        y_max=top,
        y_ticks=[top * i / 4 for i in range(5)],
        tick_label=lambda v: f"{v:.0f}",
        value_label=lambda v: f"{v:.0f}/cm²",
        css_class="density",
        empty="No trichoscopy image with a scale yet.",
    )


def thin_share_svg(rows, *, treatments=(), day_label=calendar_day) -> str:
    """Trichoscopy: the share of thin hairs (< 30 µm), 0–100 %; the FPHL criterion line at 10 %."""
    points = [(r["day"], r["thin"], None, None, f" · {r['site']}") for r in rows if r["thin"] is not None]
    svg = small_chart_svg(
        points,
        treatments=treatments,
        day_label=day_label,
        title="Trichoscopy: share of thin hairs (< 30 µm)",
        y_min=0,
        y_max=max([0.5] + [p[1] for p in points]),
        y_ticks=[0, 0.1, 0.25, 0.5],
        tick_label=lambda v: f"{v:.0%}",
        value_label=lambda v: f"{v:.0%}",
        css_class="thin",
        empty="No trichoscopy image with a scale yet.",
    )
    return svg


def scalp_fraction_svg(rows, *, treatments=(), view_label: str, day_label=calendar_day) -> str:
    """A global view's visible-scalp fraction with its re-photography error band (± 1.96 SD)."""
    points = [(r["day"], r["value"], r["low"], r["high"], "") for r in rows]
    return small_chart_svg(
        points,
        treatments=treatments,
        day_label=day_label,
        title=f"{view_label}: visible-scalp fraction",
        y_min=0,
        y_max=1,
        y_ticks=[0, 0.25, 0.5, 0.75, 1],
        tick_label=lambda v: f"{v:.0%}",
        value_label=lambda v: f"{v:.0%}",
        band=True,
        css_class="scalp",
    )


def hairline_svg(rows, *, treatments=(), day_label=calendar_day) -> str:
    """Frontal hairline recession index (0 full hairline, 1 none) over time, with its re-photography band."""
    points = [(r["day"], r["recession"], r.get("recession_low"), r.get("recession_high"), "") for r in rows]
    return small_chart_svg(
        points,
        treatments=treatments,
        day_label=day_label,
        title="Frontal hairline: recession index (0 full, 1 none)",
        y_min=0,
        y_max=1,
        y_ticks=[0, 0.25, 0.5, 0.75, 1],
        tick_label=lambda v: f"{v:.2f}",
        value_label=lambda v: f"{v:.2f}",
        band=True,
        css_class="hairline",
    )


def stage_svg(estimates, *, treatments=(), day_label=calendar_day) -> str:
    """Estimated stage over time (Norwood I–VII or Ludwig 0–III), with the stage's probability."""
    ludwig = any(e.scale == "ludwig" for e in estimates)
    points = [
        (
            e.session.taken_on,
            e.stage,
            None,
            None,
            f" ({e.scale_label}, p = {e.probabilities.get(str(e.stage), 0):.2f})",
        )
        for e in estimates
    ]
    roman = {0: "0", 1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI", 7: "VII"}
    return small_chart_svg(
        points,
        treatments=treatments,
        day_label=day_label,
        title="Estimated stage (" + ("Ludwig" if ludwig else "Norwood–Hamilton") + ")",
        y_min=0 if ludwig else 1,
        y_max=3 if ludwig else 7,
        y_ticks=range(4) if ludwig else range(1, 8),
        tick_label=lambda v: roman.get(int(v), str(v)),
        value_label=lambda v: roman.get(int(v), str(v)),
        css_class="stage",
    )
