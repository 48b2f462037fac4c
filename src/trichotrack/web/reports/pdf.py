"""PDF reports (WeasyPrint): the case report of a patient, the cohort report, and the publication export.

Every report says that the treatment is unproven and summarises the published evidence (clinical reference
§1.4, §2.3, §4); every number comes with its interval and the warnings that qualify it. Each generation is
written to the audit trail with the PDF's SHA-256, so a report handed out can be matched to its record.

The publication/marketing export of a case (reference §6.8, §6.9 item 8) is refused unless

- the patient's consent to photos for publication is valid today,
- the before/after pair is not judged "not comparable", and both photos are the stored originals, unaltered
  (their SHA-256 still matches the one taken at upload; only JPEG and PNG can be embedded as they are),
- the caption passes `trichotrack.evidence.check_claim` against the patient's own analysis (no efficacy
  wording one patient's data cannot carry).

Originals are embedded with their pixels untouched: only metadata (EXIF with GPS, XMP, comments, text
chunks) is cut out, segment by segment, and the EXIF orientation is applied by turning the image's box on
the page, not its pixels.
"""

import base64
import hashlib
import io
import warnings

from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from django.utils import timezone

from trichotrack.evidence import PatientRecord, analyze_patient, check_claim
from trichotrack.web import audit

from . import evidence

THUMBNAIL_PX = 420
#: Width of each published photo on the page, upright.
PUBLISHED_WIDTH_MM = 80.0
#: EXIF orientation → (clockwise rotation in degrees, then a horizontal flip) to show the photo upright.
ORIENTATIONS = {
    1: (0, False),
    2: (0, True),
    3: (180, False),
    4: (180, True),
    5: (90, True),
    6: (90, False),
    7: (270, True),
    8: (270, False),
}


class PublicationRefused(Exception):
    """The publication export cannot be made; `problems` says why, one plain sentence each."""

    def __init__(self, problems):
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def _weasyprint():
    with warnings.catch_warnings():
        # WeasyPrint warns at import when the optional HarfBuzz-Subset library is missing (fonts are then
        # embedded whole). Only this message, only around this import.
        warnings.filterwarnings("ignore", message="HarfBuzz-Subset", category=DeprecationWarning)
        from weasyprint import HTML, URLFetcher
    return HTML, URLFetcher


def html_to_pdf(html: str) -> bytes:
    """The PDF of `html`. Only data: URIs are fetched (the images are embedded by this module), so no text
    that reaches a report can make the server read a file or call a URL."""
    html_class, fetcher_class = _weasyprint()
    return html_class(string=html, url_fetcher=fetcher_class(allowed_protocols={"data"})).write_pdf()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------------------------------ case report


def _thumbnail_data_uri(name: str) -> str | None:
    """A small JPEG of a stored derived copy (already upright and without metadata), as a data: URI."""
    from PIL import Image

    if not name or not default_storage.exists(name):
        return None
    with default_storage.open(name, "rb") as f, Image.open(f) as image:
        image = image.convert("RGB")
        image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def _procedure_rows(patient):
    rows = []
    for p in sorted(patient.procedures.prefetch_related("products"), key=lambda p: p.harvest_at):
        depa = p.depa
        rows.append(
            {
                "procedure": p,
                "date": evidence._local_date(p.harvest_at),
                "depa": depa["code"] if depa else None,
                "products": [str(product) for product in p.products.all()],
            }
        )
    return rows


def case_report_context(patient, *, identify: bool = True) -> dict:
    """Everything the case report shows; `identify` False leaves out the name and the date of birth."""
    from trichotrack.web.photos import charts
    from trichotrack.web.photos import services as photo_services
    from trichotrack.web.photos.services import shed_series

    record, analyses = evidence.patient_analyses(patient)
    series = shed_series(patient)
    treatments = evidence.treatment_dates(patient)
    density_chart = None
    if hasattr(photo_services, "trichoscopy_series") and hasattr(charts, "density_svg"):
        rows = photo_services.trichoscopy_series(patient)
        if any(r["density"] is not None for r in rows):
            density_chart = charts.density_svg(rows, treatments=treatments)
    global_charts = []
    if hasattr(photo_services, "scalp_series") and hasattr(charts, "scalp_fraction_svg"):
        from trichotrack.web.photos.models import View

        for view, rows in photo_services.scalp_series(patient).items():
            label = View(view).label
            global_charts.append(charts.scalp_fraction_svg(rows, treatments=treatments, view_label=label))
            if view == View.FRONTAL and any(r.get("recession") is not None for r in rows):
                hairline_rows = [r for r in rows if r.get("recession") is not None]
                global_charts.append(charts.hairline_svg(hairline_rows, treatments=treatments))
    pairs = []
    for pair in patient.photo_pairs.select_related("baseline__session", "followup__session"):
        pairs.append(
            {
                "pair": pair,
                "baseline_image": _thumbnail_data_uri(pair.baseline.derived.name),
                "followup_image": _thumbnail_data_uri(pair.followup.derived.name),
            }
        )
    return {
        "patient": patient,
        "identify": identify,
        "clinic": patient.clinic,
        "generated_at": timezone.localtime(),
        "record": record,
        "analyses": analyses,
        "chart": charts.shed_timeline_svg(series, treatments=treatments) if series or treatments else None,
        "density_chart": density_chart,
        "global_charts": global_charts,
        "pairs": pairs,
        "procedures": _procedure_rows(patient),
        "adverse_events": list(patient.adverse_events.all()),
    }


def case_report_pdf(patient, *, user, via: str = "web") -> bytes:
    """The case report of `patient` as PDF bytes; audited."""
    pdf = html_to_pdf(render_to_string("reports/pdf/case.html", case_report_context(patient)))
    audit.record(
        user, "report.case_generated", patient, data={"sha256": _sha256(pdf), "bytes": len(pdf), "via": via}
    )
    return pdf


# ---------------------------------------------------------------------------------------- cohort report


def _research_consented_subjects(clinic) -> set[str]:
    """Subject ids of the clinic's patients whose research consent is valid today."""
    from trichotrack.web.consent.models import ConsentKind
    from trichotrack.web.consent.services import consent_problems
    from trichotrack.web.patients.models import Patient

    from .services import subject_id

    patients = Patient.objects.filter(clinic=clinic, consents__definition__kind=ConsentKind.RESEARCH)
    return {
        subject_id(p)
        for p in patients.distinct().select_related("clinic")
        if not consent_problems(p, ConsentKind.RESEARCH)
    }


def cohort_context(clinic, *, kind=None, deidentified: bool = False) -> dict:
    """The cohort analysis and what the page and the PDF show around it.

    De-identified: keyed-hash subject ids instead of study codes (the same ids as the research export), and
    patient by patient only those whose research consent is valid today; every patient still counts in the
    statistics (intention to treat), the others are only not listed."""
    from .services import subject_id

    analysis, kind, available = evidence.cohort_analysis(
        clinic, kind=kind, pseudonym=subject_id if deidentified else None
    )
    listable = _research_consented_subjects(clinic) if deidentified else None
    rows, missing_ids, not_listed = [], [], 0
    if analysis is not None:
        for endpoint, patient in zip(analysis.endpoints, analysis.patients, strict=True):
            if listable is not None and endpoint.patient_id not in listable:
                not_listed += 1
                continue
            days = None if endpoint.date is None else (endpoint.date - patient.index_date).days
            rows.append({"endpoint": endpoint, "days_after_index": days})
        missing_ids = [i for i in analysis.treated.missing_ids if listable is None or i in listable]
    return {
        "clinic": clinic,
        "analysis": analysis,
        "rows": rows,
        "missing_ids": missing_ids,
        "not_listed": not_listed,
        "kind": kind,
        "kind_label": evidence.kind_label(kind),
        "kinds": [(k, evidence.kind_label(k)) for k in available],
        "deidentified": deidentified,
        "endpoint_weeks": evidence.ENDPOINT_DAYS // 7,
        "window_weeks": evidence.WINDOW_DAYS // 7,
        "generated_at": timezone.localtime(),
    }


def cohort_report_pdf(
    clinic, *, user, kind=None, deidentified: bool = False, via: str = "web", progress=None
) -> bytes:
    """The cohort report of `clinic` as PDF bytes; audited. `progress(step, fraction)` as in
    `exports.write_export`."""
    report = progress or (lambda step, fraction: None)
    report("analysing the cohort", 0.05)
    context = cohort_context(clinic, kind=kind, deidentified=deidentified)
    report("writing the PDF", 0.6)
    pdf = html_to_pdf(render_to_string("reports/pdf/cohort.html", context))
    analysis = context["analysis"]
    audit.record(
        user,
        "report.cohort_generated",
        clinic=clinic,
        data={
            "sha256": _sha256(pdf),
            "bytes": len(pdf),
            "kind": context["kind"],
            "deidentified": deidentified,
            "patients": 0 if analysis is None else len(analysis.endpoints),
            "via": via,
        },
    )
    return pdf


# ------------------------------------------------------------------------------------ publication export


def strip_jpeg_metadata(data: bytes) -> bytes:
    """The JPEG without EXIF/XMP (APP1), other application segments and comments; the entropy-coded image
    data, the tables, JFIF (APP0), the ICC profile (APP2) and Adobe (APP14) segments are kept byte for byte,
    so the decoded pixels are identical."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG file")
    out, i = [data[:2]], 2
    keep_app = {0xE0, 0xE2, 0xEE}
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ValueError(f"damaged JPEG: no marker at byte {i}")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xDA:  # start of scan: everything from here on is image data
            out.append(data[i:])
            return b"".join(out)
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            out.append(data[i : i + 2])
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        segment = data[i : i + 2 + length]
        if not ((0xE0 <= marker <= 0xEF and marker not in keep_app) or marker == 0xFE):
            out.append(segment)
        i += 2 + length
    raise ValueError("damaged JPEG: no image data")


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_METADATA = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}


def strip_png_metadata(data: bytes) -> bytes:
    """The PNG without text, EXIF and time chunks; image chunks kept byte for byte."""
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    out, i = [_PNG_SIGNATURE], len(_PNG_SIGNATURE)
    while i + 8 <= len(data):
        length = int.from_bytes(data[i : i + 4], "big")
        kind = data[i + 4 : i + 8]
        chunk = data[i : i + 12 + length]
        if kind not in _PNG_METADATA:
            out.append(chunk)
        i += 12 + length
        if kind == b"IEND":
            return b"".join(out)
    raise ValueError("damaged PNG: no end chunk")


def upright_style(data: bytes) -> str:
    """CSS that shows the photo upright by turning its box, not its pixels (WeasyPrint would re-encode a
    JPEG it rotates itself): a quarter turn swaps the box's sides, and the margins give the layout the
    turned size."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        width_px, height_px = image.size
        orientation = image.getexif().get(0x0112, 1)
    angle, flip = ORIENTATIONS.get(orientation, (0, False))
    transform = " ".join(
        t for t in ("scaleX(-1)" if flip else "", f"rotate({angle}deg)" if angle else "") if t
    )
    shown = PUBLISHED_WIDTH_MM
    if angle in (90, 270):
        long_mm = shown * width_px / height_px  # the box's width; its height is the upright width
        side, vertical = (shown - long_mm) / 2, (long_mm - shown) / 2
        size = f"width: {long_mm:.2f}mm; height: {shown:.2f}mm; margin: {vertical:.2f}mm {side:.2f}mm; "
    else:
        size = f"width: {shown:.2f}mm; "
    return size + (f"transform: {transform};" if transform else "")


def original_for_publication(photo) -> tuple[dict | None, str | None]:
    """({data_uri, sha256, style, taken_on, view}, None) for an unaltered original, or
    (None, why not)."""
    name = photo.original.name
    label = f"the {photo.get_view_display().lower()} photo of {photo.session.taken_on:%d %b %Y}"
    if not name or not default_storage.exists(name):
        return None, f"The original of {label} is missing from storage."
    with default_storage.open(name, "rb") as f:
        data = f.read()
    digest = _sha256(data)
    if digest != photo.original_sha256:
        return None, f"The original of {label} no longer matches its SHA-256 from upload: it was altered."
    if photo.original_format == "jpeg":
        clean, mime = strip_jpeg_metadata(data), "image/jpeg"
    elif photo.original_format == "png":
        clean, mime = strip_png_metadata(data), "image/png"
    else:
        return None, (
            f"The original of {label} is {photo.original_format.upper()}, which a PDF cannot hold unaltered; "
            "publish only photos taken as JPEG or PNG."
        )
    return {
        "data_uri": f"data:{mime};base64," + base64.b64encode(clean).decode(),
        "sha256": digest,
        "style": upright_style(data),
        "taken_on": photo.session.taken_on,
        "view": photo.get_view_display(),
    }, None


def primary_analysis(patient):
    """The patient's analysis of their most measured kind (an empty one when there is none), for the claim
    check."""
    record, analyses = evidence.patient_analyses(patient)
    if analyses:
        return analyses[0]
    record = record or PatientRecord(patient.code, timezone.localdate())
    return analyze_patient(record, kind="wash_test_count")


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def suggested_caption(analysis) -> str:
    """A caption that says what was measured and no more (it passes `check_claim`), from the patient's
    latest follow-up; a plain description when there is none."""
    follow = analysis.followups[-1] if analysis.followups else None
    if analysis.baseline is None or follow is None or follow.change is None:
        return "Photos before and after; one patient, no comparison group."
    text = (
        f"{analysis.label.capitalize()} {_number(analysis.baseline.value)} {analysis.unit} before and "
        f"{_number(follow.value)} {analysis.unit} {follow.days_after_index / 7:.0f} weeks after the procedure"
    )
    if follow.low is not None:
        bounds = f"{_number(follow.low)} to {_number(follow.high)}"
        text += f" (change {_number(follow.change)}, 95 % interval {bounds})"
    return text + "; one patient, no comparison group."


def publication_problems(patient, pair, caption: str) -> tuple[list[str], dict]:
    """(why the export is refused — empty when allowed, what the PDF needs)."""
    from trichotrack.web.consent.models import ConsentKind
    from trichotrack.web.consent.services import consent_problems
    from trichotrack.web.photos.models import Verdict

    problems = [f"Publication consent: {p}" for p in consent_problems(patient, ConsentKind.PHOTO_PUBLICATION)]
    if pair.patient_id != patient.pk:
        raise ValueError("the pair belongs to another patient")
    if pair.verdict == Verdict.NOT_COMPARABLE:
        problems.append(
            "The before/after pair is not comparable ("
            + ("; ".join(pair.reasons) if pair.reasons else "see the pair page")
            + "): it cannot be published as a before/after."
        )
    images = {}
    for role, photo in (("before", pair.baseline), ("after", pair.followup)):
        image, problem = original_for_publication(photo)
        if problem:
            problems.append(problem)
        images[role] = image
    analysis = primary_analysis(patient)
    claim = check_claim(caption, analysis) if caption.strip() else None
    if claim is None:
        problems.append("A caption is required: say what was measured, not what the treatment did.")
    elif not claim.allowed:
        problems.extend(f"Caption refused: {reason}" for reason in claim.reasons)
    return problems, {"images": images, "analysis": analysis, "claim": claim}


def publication_pdf(patient, pair, caption: str, *, user) -> bytes:
    """The publication export of a before/after pair, or `PublicationRefused`; audited either way."""
    problems, parts = publication_problems(patient, pair, caption)
    if problems:
        audit.record(
            user, "report.publication_refused", patient, data={"pair": pair.pk, "problems": problems}
        )
        raise PublicationRefused(problems)
    context = {
        "patient": patient,
        "pair": pair,
        "caption": caption.strip(),
        "generated_at": timezone.localtime(),
        **parts,
    }
    pdf = html_to_pdf(render_to_string("reports/pdf/publication.html", context))
    audit.record(
        user,
        "report.publication_generated",
        patient,
        data={
            "pair": pair.pk,
            "caption": caption.strip(),
            "sha256": _sha256(pdf),
            "originals": [parts["images"][r]["sha256"] for r in ("before", "after")],
        },
    )
    return pdf
