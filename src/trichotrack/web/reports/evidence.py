"""From the clinic's rows to the evidence core's plain records (trichotrack.evidence), and back to pages.

The evidence core knows nothing of Django; this module is the one place that reads the database for it:

- a shed-hair photo's current measurement (a clinician's corrected count when there is one; an automatic
  count the algorithm called not countable is left out, since it is not a count) becomes a `Measurement`
  whose kind follows the photo's protocol, with the days since shampoo and the session's hair-state tags;
- a trichoscopy image's density (of the patient's most imaged target site) becomes a ``density_per_cm2``
  measurement with its count interval;
- a usable global view's visible-scalp fraction becomes a ``scalp_visible_pct_<view>`` measurement (in
  percent of the view's region, one kind per view), the frontal view's hairline a
  ``hairline_recession_index`` and the part view's width a ``part_width_mm``; their measurement error is the
  re-photography SD of bench/results/scalp.md (`TEST_RETEST_SD`: the same head re-shot with pose, light and
  distance changed), or the patient's own baseline days when these vary more;
- each procedure is a ``surgery`` event (the liposuction of the harvest can itself trigger shedding), the
  first one is the index date;
- the onset of hair loss is a ``shedding_onset`` event; a hair-loss medication started is a concurrent
  treatment, one stopped or any other new medication a possible trigger;
- adverse events are passed with their term and seriousness.

A patient without a procedure is an *untreated* patient, a control for the cohort when there are some. Their
index date (the start of observation) is the last measurement day within `UNTREATED_BASELINE_DAYS` of their
first measurement, so that their first days form the baseline just as a treated patient's pre-treatment
days do.
"""

import datetime as dt
from collections import Counter

from django.db.models import Prefetch
from django.utils import timezone

from trichotrack.evidence import (
    KINDS,
    AdverseEvent,
    Event,
    Measurement,
    PatientRecord,
    analyze_cohort,
    analyze_patient,
)

#: Which evidence kind a shed-hair photo's protocol measures (a photo without a protocol: the generic one).
KIND_BY_PROTOCOL = {
    "wash": "wash_test_count",
    "comb_60s": "comb_test_count",
    "daily": "daily_shed_count",
    "": "shed_photo_count",
}
#: The automatic count's interval holds the true count at least 80 % of the time (trichotrack.measure).
COUNT_INTERVAL_LEVEL = 0.80
#: Global-view kinds come after the shed-hair and trichoscopy kinds (the cohort's default, the case report's
#: first analysis): they are supporting measures, and a patient photographed in five views has five of them.
GLOBAL_KIND_PREFIXES = ("scalp_visible_pct_", "hairline_recession_index", "part_width_mm")


def _test_retest_sds() -> dict[str, float]:
    """{kind: SD of one measurement when the same head is photographed again}: the photos app's SDs (from
    bench/results/scalp.md, RMS over 42 heads: vertex 0.047, frontal 0.055, recession index 0.083), the
    fractions in percent like the measurements. The part width has no benchmarked SD yet."""
    from trichotrack.web.photos import models as photo_models

    by_view = getattr(photo_models, "SCALP_FRACTION_SD_BY_VIEW", {})
    sds = {f"scalp_visible_pct_{view}": 100.0 * sd for view, sd in by_view.items()}
    recession = getattr(photo_models, "HAIRLINE_RECESSION_SD", None)
    if recession is not None:
        sds["hairline_recession_index"] = recession
    return sds


def rephotography_sd(kind: str) -> float | None:
    """The known re-photography SD of one measurement of `kind` (None: only the patient's own days)."""
    return _test_retest_sds().get(kind)


#: An untreated patient's baseline: the measurement days within this many days of their first.
UNTREATED_BASELINE_DAYS = 28
#: The pre-specified cohort endpoint: 24 weeks (hair-loss trials read out at 16–24 weeks or later), ± 4 weeks.
ENDPOINT_DAYS = 168
WINDOW_DAYS = 28

# Countries (ISO code or name, lower case) of the southern hemisphere, to name the autumn shedding season.
_SOUTH = {
    "au", "australia", "nz", "new zealand", "za", "south africa", "ar", "argentina", "cl", "chile",
    "uy", "uruguay", "py", "paraguay", "br", "brazil", "bo", "bolivia", "pe", "peru",
}  # fmt: skip


def hemisphere_of(clinic) -> str:
    """``"south"`` for a clinic in a southern-hemisphere country, else ``"north"`` (the season warning only
    names the autumn months by it)."""
    return "south" if (clinic.country or "").strip().casefold() in _SOUTH else "north"


def _local_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date() if timezone.is_aware(moment) else moment.date()


def treatment_dates(patient) -> list[dt.date]:
    return sorted({_local_date(p.harvest_at) for p in patient.procedures.all()})


def measured_photos(patient=None):
    """Shed-hair, trichoscopy and global-view photos with their sessions, measurements and corrections, oldest
    first; of one patient, or (no patient) as the queryset to prefetch for a whole cohort."""
    from trichotrack.web.photos.models import GLOBAL_VIEWS, Photo, View

    photos = Photo.objects.filter(view__in=(View.SHED, View.TRICHOSCOPY, *GLOBAL_VIEWS))
    if patient is not None:
        photos = photos.filter(patient=patient)
    return (
        photos.select_related("session")
        .prefetch_related("measurements__corrections")
        .order_by("session__taken_on", "id")
    )


def _current(photo):
    """(current measurement, its latest correction or None), or None when the photo is not measured."""
    measurements = sorted(photo.measurements.all(), key=lambda m: -m.request_no)
    if not measurements:
        return None
    corrections = sorted(measurements[0].corrections.all(), key=lambda c: -c.id)
    return measurements[0], (corrections[0] if corrections else None)


def _hair_state(photo) -> str | None:
    tags = sorted(photo.session.hair_state or [])
    return ", ".join(tags) if tags else None


def _surface(m) -> str | None:
    """The card's field a shed photo was measured on ("card, dark field"); None without the card."""
    field = ((m.report or {}).get("card") or {}).get("field")
    return f"card, {field} field" if field else None


def shed_measurements(patient, photos=None) -> list[Measurement]:
    """The patient's measured shed-hair photos as evidence measurements, oldest first. `photos`: the
    patient's photos already loaded (`measured_photos`), to spare a query per patient in a cohort."""
    from trichotrack.web.photos.models import View

    out = []
    for photo in measured_photos(patient) if photos is None else photos:
        current = _current(photo) if photo.view == View.SHED else None
        if current is None:
            continue
        m, correction = current
        common = {
            "unit": "hairs",
            "kind": KIND_BY_PROTOCOL.get(photo.protocol, "shed_photo_count"),
            "days_since_shampoo": photo.days_since_shampoo,
            "hair_state": _hair_state(photo),
            "surface": _surface(m),
            "ref": f"photo:{photo.pk}",
        }
        if correction is not None:
            # A clinician's count: the automatic count's interval no longer describes it.
            out.append(Measurement(photo.session.taken_on, correction.corrected_count, **common))
        elif m.countable and m.count_low <= m.hair_count <= m.count_high:
            out.append(
                Measurement(
                    photo.session.taken_on,
                    m.hair_count,
                    low=m.count_low,
                    high=m.count_high,
                    interval_level=COUNT_INTERVAL_LEVEL,
                    **common,
                )
            )
    return out


def trichoscopy_measurements(patient, photos=None) -> list[Measurement]:
    """Trichoscopy densities (hairs/cm²: the count, a clinician's corrected one if any, over the analysed
    field, with the count interval moved along with a correction) of the patient's most imaged target site,
    oldest first: densities of different patches of scalp are not comparable. Images without a scale have no
    density and are left out."""
    from trichotrack.web.photos.models import View

    rows = []
    for photo in measured_photos(patient) if photos is None else photos:
        current = _current(photo) if photo.view == View.TRICHOSCOPY else None
        if current is None:
            continue
        m, correction = current
        field_mm2 = (getattr(m, "report", None) or {}).get("field_mm2")
        if getattr(m, "density_per_cm2", None) is None or not field_mm2 or m.hair_count is None:
            continue
        per_count = 100.0 / float(field_mm2)
        shift = 0 if correction is None else correction.corrected_count - m.hair_count
        site = getattr(photo, "target_site_id", None) or photo.site
        rows.append(
            (photo, site, (m.hair_count + shift) * per_count, m.count_low, m.count_high, shift, per_count)
        )
    if not rows:
        return []
    site = Counter(row[1] for row in rows).most_common(1)[0][0]
    out = []
    for photo, row_site, density, count_low, count_high, shift, per_count in rows:
        if row_site != site:
            continue
        interval = {}
        if count_low is not None and count_high is not None:
            low, high = max((count_low + shift) * per_count, 0.0), (count_high + shift) * per_count
            if low <= density <= high:
                interval = {"low": low, "high": high, "interval_level": COUNT_INTERVAL_LEVEL}
        out.append(
            Measurement(
                photo.session.taken_on,
                density,
                unit="hairs/cm2",
                kind="density_per_cm2",
                hair_state=_hair_state(photo),
                ref=f"photo:{photo.pk}",
                **interval,
            )
        )
    return out


def global_measurements(patient, photos=None) -> list[Measurement]:
    """The usable global-view measurements, oldest first: the visible-scalp fraction of each view (in
    percent), the frontal hairline's recession index and the part width. A view the measurement called not
    usable (wrong framing, blur, …) is left out, as on the photo timeline."""
    from trichotrack.web.photos.models import GLOBAL_VIEWS, View

    out = []
    for photo in measured_photos(patient) if photos is None else photos:
        current = _current(photo) if photo.view in GLOBAL_VIEWS else None
        if current is None:
            continue
        m = current[0]
        if getattr(m, "kind", "") != "scalp" or not getattr(m, "usable", False):
            continue
        common = {"hair_state": _hair_state(photo), "ref": f"photo:{photo.pk}"}
        day = photo.session.taken_on
        if m.scalp_visible_fraction is not None:
            out.append(
                Measurement(
                    day,
                    100.0 * m.scalp_visible_fraction,
                    unit="% of the region",
                    kind=f"scalp_visible_pct_{photo.view}",
                    **common,
                )
            )
        if photo.view == View.FRONTAL and m.hairline_recession_index is not None:
            out.append(
                Measurement(
                    day, m.hairline_recession_index, unit="(0–1)", kind="hairline_recession_index", **common
                )
            )
        if photo.view == View.MIDPART and m.part_width_mm is not None:
            out.append(Measurement(day, m.part_width_mm, unit="mm", kind="part_width_mm", **common))
    return out


def _events(patient, treatments) -> list[Event]:
    events = [Event(day, "surgery", label="liposuction for the fat harvest") for day in treatments]
    if patient.onset_date:
        events.append(Event(patient.onset_date, "shedding_onset", label="onset recorded in the history"))
    for med in patient.medications.all():
        if med.category == "hair_loss":
            if med.started_on:
                events.append(Event(med.started_on, "concurrent_treatment", label=med.name))
            if med.stopped_on:
                events.append(Event(med.stopped_on, "trigger", label=f"{med.name} stopped"))
        elif med.started_on:
            events.append(Event(med.started_on, "trigger", label=f"new medication: {med.name}"))
    return events


def patient_record(patient, *, patient_id: str | None = None) -> PatientRecord | None:
    """The patient as the evidence core sees them; None for an untreated patient without measurements (no
    index date). `patient_id` defaults to the study code. A patient from `cohort_records` comes with their
    photos already loaded (``evidence_photos``)."""
    treatments = treatment_dates(patient)
    photos = getattr(patient, "evidence_photos", None)
    if photos is None:
        photos = list(measured_photos(patient))
    measurements = (
        shed_measurements(patient, photos)
        + trichoscopy_measurements(patient, photos)
        + global_measurements(patient, photos)
    )
    if treatments:
        index, group = treatments[0], "treated"
    elif measurements:
        first = min(m.date for m in measurements)
        index = max(m.date for m in measurements if (m.date - first).days <= UNTREATED_BASELINE_DAYS)
        group = "untreated"
    else:
        return None
    adverse = [AdverseEvent(ae.onset_on, ae.term_label, ae.serious) for ae in patient.adverse_events.all()]
    return PatientRecord(
        patient_id=patient_id or patient.code,
        index_date=index,
        measurements=tuple(measurements),
        group=group,
        events=tuple(_events(patient, treatments)),
        adverse_events=tuple(adverse),
    )


def is_global_kind(kind: str) -> bool:
    return kind.startswith(GLOBAL_KIND_PREFIXES)


def kinds_of(records) -> list[str]:
    """Measurement kinds present: shed-hair and trichoscopy kinds first, then the global views'; within
    each, the most measured first."""
    counts = Counter(m.kind for r in records for m in r.measurements)
    return [kind for kind, _ in sorted(counts.items(), key=lambda kv: (is_global_kind(kv[0]), -kv[1], kv[0]))]


def patient_analyses(patient) -> tuple[PatientRecord | None, list]:
    """(record, [PatientAnalysis for each kind the patient has, the most measured first])."""
    record = patient_record(patient)
    if record is None:
        return None, []
    hemisphere = hemisphere_of(patient.clinic)
    return record, [
        analyze_patient(record, kind=k, hemisphere=hemisphere, test_retest_sd=rephotography_sd(k))
        for k in kinds_of([record])
    ]


def cohort_records(clinic, *, pseudonym=None) -> list[PatientRecord]:
    """Every treated patient of the clinic (with or without measurements: intention to treat) and every
    untreated patient with measurements. `pseudonym(patient)` replaces the study code (de-identification)."""
    from trichotrack.web.patients.models import Patient

    patients = Patient.objects.filter(clinic=clinic).select_related("clinic").order_by("code")
    patients = patients.prefetch_related(
        "procedures",
        "medications",
        "adverse_events",
        Prefetch("photos", queryset=measured_photos(), to_attr="evidence_photos"),
    )
    records = []
    for patient in patients:
        record = patient_record(patient, patient_id=pseudonym(patient) if pseudonym else None)
        if record is not None:
            records.append(record)
    return records


def cohort_kind(records, requested: str | None = None) -> str:
    """The requested kind if some patient has it, else the first of `kinds_of` the treated patients, else the
    wash test (the protocol the clinic is asked to use)."""
    available = kinds_of(records)
    if requested in available:
        return requested
    treated = kinds_of([r for r in records if r.group == "treated"])
    return (treated or available or ["wash_test_count"])[0]


def cohort_analysis(clinic, *, kind: str | None = None, pseudonym=None, as_of: dt.date | None = None):
    """(CohortAnalysis or None when the clinic has treated no one, kind, the kinds available)."""
    records = cohort_records(clinic, pseudonym=pseudonym)
    available = kinds_of(records)
    kind = cohort_kind(records, kind)
    if not any(r.group == "treated" for r in records):
        return None, kind, available
    analysis = analyze_cohort(
        records,
        kind=kind,
        endpoint_days=ENDPOINT_DAYS,
        window_days=WINDOW_DAYS,
        as_of=as_of or timezone.localdate(),
        hemisphere=hemisphere_of(clinic),
        test_retest_sd=rephotography_sd(kind),
    )
    return analysis, kind, available


def kind_label(kind: str) -> str:
    info = KINDS.get(kind)
    return info.label if info else kind.replace("_", " ")
