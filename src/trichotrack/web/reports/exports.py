"""Analysis-ready exports of a clinic's records: long and wide tables, procedures and adverse events, as CSV,
Parquet, SPSS (.sav) or Stata (.dta), each written with its codebook (codebook.csv and codebook.md).

The tables are built from ``values_list`` queries streamed in chunks (no model instance per row), so an
export of 10,000 patients with 20 measurements each fits in well under a gigabyte (bench/exports.py).

The identified export (clinicians and administrators) carries the patient's code, names and date of birth.
The de-identified export (``deidentified=True``) keeps only patients whose research consent is valid on the
export day, names them by a keyed hash (`services.subject_id`), shifts every date of a patient by the same
per-patient number of days (so intervals within a patient are kept; `date_shift_days`), gives ages instead of
birth dates (90 and over top-coded as 90), and drops names, date of birth, occupation and every free text.
Photos appear only as the SHA-256 of their derived copy (upright, no EXIF/GPS), never the original.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import math
import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from trichotrack.web import audit
from trichotrack.web.consent.models import Consent, ConsentElementAck, ConsentKind
from trichotrack.web.consent.services import current_definition
from trichotrack.web.followups.models import SCHEDULE, VisitStatus
from trichotrack.web.patients.models import (
    ContraindicationScreen,
    HairColour,
    LabResult,
    Medication,
    Patient,
    Sex,
    Staging,
    StagingScale,
)
from trichotrack.web.photos.models import (
    GLOBAL_VIEWS,
    HAIRLINE_RECESSION_SD,
    SCALP_FRACTION_SD_BY_VIEW,
    Correction,
    Measurement,
    Photo,
    Protocol,
    View,
)
from trichotrack.web.procedures.models import Activation, Depth, Procedure, SvfMethod
from trichotrack.web.safety.models import (
    CTCAE_TERMS,
    SERIOUSNESS,
    SUSPECT_STEPS,
    AdverseEvent,
    Causality,
    Outcome,
)

from .services import subject_id_for_pk

TABULAR_FORMATS = ("csv", "parquet", "spss", "stata")
FORMATS = (*TABULAR_FORMATS, "fhir")
CHUNK_ROWS = 5000
PROGRESS_PATIENTS = 250  # report progress every this many patients
MAX_SHIFT_DAYS = 180
AGE_TOP_CODE = 90  # HIPAA safe harbor: ages over 89 are reported as one group

YES_NO = ((1, "Yes"), (0, "No"))
GRADES = (
    (1, "Grade 1 (mild)"),
    (2, "Grade 2 (moderate)"),
    (3, "Grade 3 (severe)"),
    (4, "Grade 4 (life-threatening)"),
    (5, "Grade 5 (death)"),
)
TIMEPOINTS = (
    ("baseline", "Baseline (before the first treatment)"),
    *((kind.value, f"{kind.label} after a treatment") for kind, _, _ in SCHEDULE),
    ("other", "Between scheduled visits"),
)
TIMEPOINT_CODES = tuple(code for code, _ in TIMEPOINTS if code != "other")


@dataclass(frozen=True)
class Column:
    """One variable of a table, with what the codebook says of it.

    `type` is one of string, integer, float, date, boolean. `codes` lists the allowed values with labels
    (SPSS and Stata get them as value labels, string codes numbered 1, 2, … in this order). `identifying`
    columns are left out of de-identified exports.
    """

    name: str
    label: str
    type: str
    unit: str = ""
    codes: tuple = ()
    source: str = ""
    identifying: bool = False
    note: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    rows: Callable[[ExportContext], Iterator[dict]]

    def columns_for(self, deidentified: bool) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not (deidentified and c.identifying))


@dataclass
class PatientInfo:
    pk: int
    subject: str
    shift_days: int
    code: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    sex: str
    occupation: str
    onset_date: dt.date | None
    hair_colour: str = ""
    treatments: list[dt.date] = field(default_factory=list)


@dataclass
class ExportContext:
    """Who is exported and how: built once per export, shared by every table (and the FHIR bundle)."""

    clinic: object
    deidentified: bool
    today: dt.date
    patients: dict[int, PatientInfo]
    excluded: int = 0
    outcome_sums: dict = field(default_factory=dict)
    outcomes_complete: bool = False
    cache: dict = field(default_factory=dict)
    # How far the export is, for a progress bar: progress(step text, fraction 0–1 of the whole export).
    # `span` is the part of the whole that the table being written covers (set by `write_export`).
    progress: Callable[[str, float], None] | None = None
    span: tuple[float, float] = (0.0, 1.0)
    step: str = ""

    def report(self, text: str, done: int = 0, total: int = 0) -> None:
        """Tell the caller what is being done: `text`, `done` of `total` items of the current table."""
        if self.progress is not None:
            low, high = self.span
            self.progress(text, low + (high - low) * (min(done / total, 1.0) if total else 0.0))

    def report_patient(self, n: int) -> None:
        """Report the first, every `PROGRESS_PATIENTS`-th and the last patient ("…: patient 40 / 100")."""
        total = len(self.patients)
        if self.progress is not None and (n % PROGRESS_PATIENTS == 0 or n in (1, total)):
            self.report(f"{self.step}: patient {n:,} / {total:,}", n, total)

    def date(self, patient: PatientInfo, day: dt.date | dt.datetime | None) -> dt.date | None:
        """The date as exported: the true date, or shifted by the patient's offset when de-identified."""
        if day is None:
            return None
        if isinstance(day, dt.datetime):
            day = timezone.localtime(day).date() if timezone.is_aware(day) else day.date()
        return day + dt.timedelta(days=patient.shift_days) if self.deidentified else day

    def age(self, patient: PatientInfo, on: dt.date) -> int:
        dob = patient.date_of_birth
        years = on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))
        return min(years, AGE_TOP_CODE) if self.deidentified else years


@dataclass(frozen=True)
class ExportResult:
    format: str
    deidentified: bool
    files: tuple[Path, ...]
    n_patients: int
    n_excluded: int
    rows: dict


# ---------------------------------------------------------------------------------------------------------
# Who is exported


def date_shift_days(patient_pk: int) -> int:
    """The patient's date offset for de-identified exports: −180…−1 or +1…+180 days, never 0.

    Deterministic from SECRET_KEY and the patient, so two exports of one patient agree, and not computable
    without the key. The same offset moves every date of the patient, keeping the intervals between them.
    """
    mac = hmac.new(settings.SECRET_KEY.encode(), f"date-shift:{patient_pk}".encode(), hashlib.sha256)
    n = int.from_bytes(mac.digest()[:4], "big") % (2 * MAX_SHIFT_DAYS)
    return n - MAX_SHIFT_DAYS if n < MAX_SHIFT_DAYS else n - MAX_SHIFT_DAYS + 1


def research_consented_ids(clinic, on: dt.date) -> set[int]:
    """Ids of the clinic's patients whose research consent is valid on `on`, in three queries.

    The same rule as `consent.services.consent_problems(patient, RESEARCH, on)` (tested to agree), without a
    query per patient: the consent must be to the definition in force, given by `on`, not withdrawn by then,
    and its newest such consent must acknowledge every element of the definition.
    """
    definition = current_definition(clinic, ConsentKind.RESEARCH, on)
    if definition is None:
        return set()
    required = {code for code, _ in definition.elements}
    consents = Consent.objects.filter(definition=definition, patient__clinic=clinic).order_by("-given_at")
    newest_live: dict[int, int] = {}
    for pk, patient_id, given_at, withdrawn_at in consents.values_list(
        "pk", "patient_id", "given_at", "withdrawn_at"
    ):
        if timezone.localdate(given_at) > on or (
            withdrawn_at is not None and timezone.localdate(withdrawn_at) <= on
        ):
            continue
        newest_live.setdefault(patient_id, pk)
    acked: dict[int, set] = defaultdict(set)
    acks = ConsentElementAck.objects.filter(consent__definition=definition, consent__patient__clinic=clinic)
    for consent_id, code in acks.values_list("consent_id", "code"):
        acked[consent_id].add(code)
    return {patient_id for patient_id, pk in newest_live.items() if required <= acked[pk]}


def build_context(clinic, *, deidentified: bool, today: dt.date | None = None) -> ExportContext:
    """The patients to export (all of the clinic's, or the research-consented ones when de-identified)."""
    today = today or timezone.localdate()
    allowed = research_consented_ids(clinic, today) if deidentified else None
    patients: dict[int, PatientInfo] = {}
    excluded = 0
    rows = (
        Patient.objects.filter(clinic=clinic)
        .order_by("pk")
        .values_list(
            "pk",
            "code",
            "given_name",
            "family_name",
            "date_of_birth",
            "sex",
            "occupation",
            "onset_date",
            "hair_colour",
        )
    )
    for pk, code, given, family, dob, sex, occupation, onset, colour in rows.iterator(chunk_size=CHUNK_ROWS):
        if allowed is not None and pk not in allowed:
            excluded += 1
            continue
        patients[pk] = PatientInfo(
            pk,
            subject_id_for_pk(pk),
            date_shift_days(pk),
            code,
            given,
            family,
            dob,
            sex,
            occupation,
            onset,
            colour,
        )
    harvests = Procedure.objects.filter(clinic=clinic).order_by("patient_id", "harvest_at", "pk")
    for patient_id, harvest_at in harvests.values_list("patient_id", "harvest_at").iterator(CHUNK_ROWS):
        if patient_id in patients:
            patients[patient_id].treatments.append(timezone.localtime(harvest_at).date())
    return ExportContext(clinic, deidentified, today, patients, excluded)


def treatment_on(info: PatientInfo, day: dt.date) -> tuple[int, dt.date | None]:
    """(number of the latest treatment on or before `day`, its date); (0, None) before the first."""
    number, latest = 0, None
    for n, treated in enumerate(info.treatments, start=1):
        if treated <= day:
            number, latest = n, treated
    return number, latest


def timepoint(info: PatientInfo, day: dt.date, visit_kind: str | None) -> str:
    """The visit the session was taken for, else from the day: baseline before the first treatment, a
    scheduled visit when inside its window after the latest treatment, otherwise 'other'."""
    if visit_kind:
        return visit_kind
    number, treated = treatment_on(info, day)
    if number == 0 or (treated == day and number == 1):
        return "baseline"
    since = (day - treated).days
    for kind, days, half_width in SCHEDULE:
        if abs(since - days) <= half_width:
            return kind.value
    return "other"


#: {scheduled visit: (days after a treatment, half-width of its window)}
VISIT_WINDOWS = {kind.value: (days, half_width) for kind, days, half_width in SCHEDULE}
#: The wide table has columns for the visits after the first and the second treatment (the prophylactic
#: one, usually about a year later); a third or later treatment's visits are in the long table only.
WIDE_TREATMENTS = 2


def wide_slot(info: PatientInfo, day: dt.date, tp: str, number: int) -> str | None:
    """The wide table's timepoint for a measurement: ``baseline`` (before the first treatment), the visit
    (``2m``) after the first treatment, ``t2_2m`` after the second; None for anything else.

    A scheduled visit belongs to the latest of the first two treatments whose window holds the day (a
    session recorded for the first treatment's 12-month visit, taken after the second treatment, is still the
    first's when the day is in that visit's window); failing that, to the latest treatment on or before the
    day. There is no separate baseline before the second treatment: measurements before it are follow-ups of
    the first."""
    if tp == "baseline":
        return "baseline" if number <= 1 else None
    window = VISIT_WINDOWS.get(tp)
    if window is None:
        return None
    owner = None
    for n, treated in enumerate(info.treatments[:WIDE_TREATMENTS], start=1):
        if abs((day - treated).days - window[0]) <= window[1]:
            owner = n
    if owner is None:
        owner = number
    if owner == 1:
        return tp
    if owner == 2:
        return f"t2_{tp}"
    return None


# ---------------------------------------------------------------------------------------------------------
# The measurements (long table)

# (code, label, unit, value field, low field, high field, the photo views it applies to)
SHED, TRICHO = (View.SHED,), (View.TRICHOSCOPY,)
MEASURES = (
    ("shed_count", "Shed hairs counted on the photo", "hairs", "hair_count", "count_low", "count_high", SHED),
    ("short_hair_share", "Share of shed hairs shorter than 30 mm", "1", "short_hair_fraction", "", "", SHED),
    (
        "trichoscopy_count",
        "Hairs in the trichoscopy field",
        "hairs",
        "hair_count",
        "count_low",
        "count_high",
        TRICHO,
    ),
    ("density", "Hair density at the trichoscopy site", "hairs/cm2", "density_per_cm2", "", "", TRICHO),
    ("thin_hair_share", "Share of thin hairs (trichoscopy)", "1", "thin_hair_fraction", "", "", TRICHO),
    ("vellus_share", "Share of vellus hairs (trichoscopy)", "1", "vellus_fraction", "", "", TRICHO),
    (
        "scalp_visible_fraction",
        "Visible-scalp fraction of the view's region",
        "1",
        "scalp_visible_fraction",
        "",
        "",
        GLOBAL_VIEWS,
    ),
    (
        "hairline_recession_index",
        "Hairline recession index (0 full, 1 none)",
        "1",
        "hairline_recession_index",
        "",
        "",
        (View.FRONTAL,),
    ),
    ("part_width_mm", "Mid-line part width", "mm", "part_width_mm", "", "", (View.MIDPART,)),
)


def _measurement_fields() -> set[str]:
    return {f.name for f in Measurement._meta.concrete_fields}


def available_measures() -> tuple:
    """The measures whose value field the Measurement model has (photo measurement grows kind by kind)."""
    names = _measurement_fields()
    return tuple(m for m in MEASURES if m[3] in names)


def _scalp_sd() -> float | None:
    """The largest view's SD: for a global view the photos app has no SD of."""
    return max(SCALP_FRACTION_SD_BY_VIEW.values(), default=None)


#: {measure: {view (None: any): SD of one photo re-taken of the same head}} (photos.models, from
#: bench/results/scalp.md): the long table's low and high of the global views. The part width has none yet.
REPHOTOGRAPHY_SD = {
    "scalp_visible_fraction": dict(SCALP_FRACTION_SD_BY_VIEW),
    "hairline_recession_index": {None: HAIRLINE_RECESSION_SD},
}


def _latest_corrections(clinic) -> dict[int, int]:
    corrections = Correction.objects.filter(measurement__photo__patient__clinic=clinic).order_by("id")
    return dict(corrections.values_list("measurement_id", "corrected_count"))


def photo_hasher() -> Callable[[str], str | None]:
    """A function: derived-copy file name → its SHA-256 (upright, no metadata), None when unreadable.

    Reading every photo is the slow part of an export of many photos; on local storage the files are
    opened directly (the names come from the database, and '..' is refused), not through the storage's
    per-call path checks."""
    from django.core.files.storage import FileSystemStorage, storages

    storage = storages["default"]
    local = storage.location if isinstance(storage, FileSystemStorage) else None

    def sha256(name: str) -> str | None:
        if not name or ".." in name:
            return None
        try:
            opened = open(os.path.join(local, name), "rb") if local else storage.open(name, "rb")  # noqa: SIM115
            with opened as handle:
                digest = hashlib.sha256()
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
                return digest.hexdigest()
        except (OSError, ValueError):
            return None

    return sha256


def _trichoscopy_fields_mm2(clinic) -> dict[int, float]:
    """{measurement id: analysed field in mm²} of trichoscopy measurements (to turn counts into densities).

    A separate query, so that the JSON key is decoded only for trichoscopy rows, not for every row."""
    query = Measurement.objects.filter(photo__patient__clinic=clinic, photo__view=View.TRICHOSCOPY)
    return {pk: float(v) for pk, v in query.values_list("pk", "report__field_mm2") if v}


def measurement_rows(ctx: ExportContext, *, hash_photos: bool = True) -> Iterator[dict]:
    """One row per patient × photo × measure, from the photo's latest measurement; corrected counts given.

    While it runs it also sums the wide table's outcomes (`ctx.outcome_sums`), so that an export that writes
    this table first reads the measurements once. `hash_photos=False` leaves out the derived copies'
    SHA-256 (reading every photo file is the slow part of an export)."""
    measures = available_measures()
    value_fields = sorted(
        {m[3] for m in measures} | {m[4] for m in measures if m[4]} | {m[5] for m in measures if m[5]}
    )
    head = [
        "pk", "photo_id", "photo__patient_id", "photo__view", "photo__protocol", "photo__days_since_shampoo",
        "photo__session__taken_on", "photo__session__visit__kind", "photo__derived", "algorithm", "version",
        "countable",
    ]  # fmt: skip
    # A hash stored at upload (if the photos app keeps one) spares reading every derived copy again.
    stored_hash = "derived_sha256" in {f.name for f in Photo._meta.concrete_fields}
    has_usable = "usable" in _measurement_fields()
    names = head + value_fields + (["usable"] if has_usable else [])
    names += ["photo__derived_sha256"] if stored_hash else []
    index = {name: i for i, name in enumerate(names)}
    query = (
        Measurement.objects.filter(photo__patient__clinic=ctx.clinic)
        .order_by("photo__patient_id", "photo__session__taken_on", "photo_id", "-request_no")
        .values_list(*names)
    )
    corrections = _latest_corrections(ctx.clinic)
    derived_sha256 = photo_hasher() if hash_photos else (lambda name: None)
    areas_mm2 = _trichoscopy_fields_mm2(ctx.clinic)
    scalp_sd = _scalp_sd()
    # per view: (code, value index, low index, high index) of the measures that apply
    by_view: dict[str, list] = defaultdict(list)
    for code, _, _, value_field, low_field, high_field, views in measures:
        for view in views:
            by_view[view].append((code, index[value_field], index.get(low_field), index.get(high_field)))
    wide = _wide_outcomes_by_measure()
    sums = ctx.outcome_sums = defaultdict(lambda: [0.0, 0])
    i_low, i_high, i_usable = index.get("count_low"), index.get("count_high"), index.get("usable")
    previous_photo = previous_patient = None
    n_patients = 0
    for values in query.iterator(chunk_size=CHUNK_ROWS):
        (pk, photo_id, patient_id, view, protocol, shampoo, taken_on, visit_kind, derived, algorithm,
         version, countable) = values[:12]  # fmt: skip
        if photo_id == previous_photo:
            continue  # an older measurement of the same photo
        previous_photo = photo_id
        info = ctx.patients.get(patient_id)
        if info is None:
            continue
        if patient_id != previous_patient:
            previous_patient = patient_id
            n_patients += 1
            ctx.report_patient(n_patients)
        number, treated = treatment_on(info, taken_on)
        first = info.treatments[0] if info.treatments else None
        tp = timepoint(info, taken_on, visit_kind)
        common = {
            "subject": info.subject,
            "patient_code": info.code,
            "treatment": number,
            "date": ctx.date(info, taken_on),
            "day": (taken_on - first).days if first else None,
            "days_since_treatment": (taken_on - treated).days if treated else None,
            "timepoint": tp,
            "view": view,
            "protocol": protocol or None,
            "days_since_shampoo": shampoo,
            "photo_id": photo_id,
            "photo_sha256": (stored_hash and values[-1]) or derived_sha256(derived),
            "countable": countable,
            "algorithm": f"{algorithm} {version}",
        }
        corrected = corrections.get(pk)
        for code, i_value, i_lo, i_hi in by_view.get(view, ()):
            value = values[i_value]
            if value is None:
                continue
            low = None if i_lo is None else values[i_lo]
            high = None if i_hi is None else values[i_hi]
            final = None
            if corrected is not None and code in ("shed_count", "trichoscopy_count"):
                final = corrected
            elif code == "density" and pk in areas_mm2 and values[i_low] is not None:
                per_cm2 = 100.0 / areas_mm2[pk]
                low, high = values[i_low] * per_cm2, values[i_high] * per_cm2
                if corrected is not None:
                    final = corrected * per_cm2
            elif code in REPHOTOGRAPHY_SD:  # global views: ± 1.96 · the re-photography SD, within 0–1
                sds = REPHOTOGRAPHY_SD[code]
                sd = sds.get(view, sds.get(None, scalp_sd))
                if sd is not None:
                    low, high = max(value - 1.96 * sd, 0.0), min(value + 1.96 * sd, 1.0)
            final_value = float(value if final is None else final)
            row = dict(common)
            row["measure"] = code
            row["value"] = float(value)
            row["low"] = None if low is None else float(low)
            row["high"] = None if high is None else float(high)
            row["corrected_value"] = None if final is None else float(final)
            row["final_value"] = final_value
            # The wide means leave out what the measurement itself rejected: a count the algorithm called
            # not countable (unless a clinician corrected it), a global view it called not usable.
            rejected = (countable is False and final is None) or (
                has_usable and view in GLOBAL_VIEWS and values[i_usable] is False
            )
            slot = None if rejected else wide_slot(info, taken_on, tp, number)
            if slot is not None:  # the wide table: around the first and the second treatment
                for prefix, restriction in wide.get(code, ()):
                    if restriction is None or common[restriction[0]] == restriction[1]:
                        acc = sums[(patient_id, f"{prefix}_{slot}")]
                        acc[0] += final_value
                        acc[1] += 1
            yield row
    ctx.outcomes_complete = True


MEASURE_CODES = tuple((m[0], m[1] if m[2] == "1" else f"{m[1]} ({m[2]})") for m in MEASURES)
LONG_COLUMNS = (
    Column("subject", "Subject (keyed hash of the patient)", "string", source="services.subject_id"),
    Column(
        "patient_code", "Clinic's patient code", "string", source="patients.Patient.code", identifying=True
    ),
    Column("treatment", "Number of the latest treatment on or before the date (0: before any)", "integer"),
    Column(
        "date",
        "Date the photos were taken",
        "date",
        source="photos.PhotoSession.taken_on",
        note="Shifted by the patient's offset in de-identified exports",
    ),
    Column("day", "Days since the first treatment (negative before it)", "integer", "days"),
    Column("days_since_treatment", "Days since the latest treatment", "integer", "days"),
    Column("timepoint", "Visit / timepoint", "string", codes=TIMEPOINTS, source="followups.Visit.kind"),
    Column("view", "Photo view", "string", codes=tuple(View.choices), source="photos.Photo.view"),
    Column(
        "protocol",
        "Shed-hair collection protocol",
        "string",
        codes=tuple(Protocol.choices),
        source="photos.Photo.protocol",
    ),
    Column(
        "days_since_shampoo",
        "Days since the last shampoo",
        "integer",
        "days",
        source="photos.Photo.days_since_shampoo",
    ),
    Column("photo_id", "Photo record id", "integer", source="photos.Photo.id", identifying=True),
    Column(
        "photo_sha256",
        "SHA-256 of the photo's derived copy (no metadata; empty if unreadable)",
        "string",
        source="photos.Photo.derived",
    ),
    Column(
        "countable",
        "The photo could be measured reliably",
        "boolean",
        codes=YES_NO,
        source="photos.Measurement.countable",
    ),
    Column(
        "algorithm",
        "Algorithm and version that measured the photo",
        "string",
        source="photos.Measurement.algorithm, .version",
    ),
    Column("measure", "What was measured", "string", codes=MEASURE_CODES),
    Column("value", "Automatic value", "float", "see measure", source="photos.Measurement"),
    Column(
        "low",
        "Lower bound of the value's 95 % interval",
        "float",
        "see measure",
        source="photos.Measurement.count_low",
        note="Global views: value − 1.96 × the view's re-photography SD (bench/results/scalp.md), at "
        "least 0; empty for the part width (no SD measured yet)",
    ),
    Column(
        "high",
        "Upper bound of the value's 95 % interval",
        "float",
        "see measure",
        source="photos.Measurement.count_high",
    ),
    Column(
        "corrected_value",
        "Value after a clinician's correction (empty: not corrected)",
        "float",
        "see measure",
        source="photos.Correction.corrected_count",
    ),
    Column(
        "final_value", "Value for analysis: corrected if corrected, else automatic", "float", "see measure"
    ),
)


# ---------------------------------------------------------------------------------------------------------
# Procedures

PROCEDURE_FIELDS = (
    "pk",
    "patient_id",
    "harvest_at",
    "injected_at",
    "lipoaspirate_ml",
    "lipoaspirate_g",
    "svf_method",
    "nucleated_cells",
    "viability_pct",
    "cd45_pct",
    "cd34_pct",
    "cd31_pct",
    "cd235a_pct",
    "blood_ml",
    "prp_ml",
    "baseline_platelets",
    "baseline_wbc",
    "prp_platelets",
    "prp_wbc",
    "prp_rbc",
    "activation",
    "mixture_prp_ml",
    "mixture_ml",
    "area_cm2",
    "depth",
    "injection_points",
    "volume_per_point_ml",
    "lidocaine_total_mg",
    "patient_weight_kg",
    "closed_system",
)
# Copied straight from the record, with their labels and units (name, label, type, unit)
PROCEDURE_VALUES = (
    ("lipoaspirate_ml", "Lipoaspirate volume", "float", "mL"),
    ("lipoaspirate_g", "Lipoaspirate weight", "float", "g"),
    ("nucleated_cells", "Total nucleated cells (SVF)", "float", "cells"),
    ("viability_pct", "SVF viability", "float", "%"),
    ("cd45_pct", "CD45+ cells", "float", "%"),
    ("cd34_pct", "CD34+ cells", "float", "%"),
    ("cd31_pct", "CD31+ cells", "float", "%"),
    ("cd235a_pct", "CD235a+ cells", "float", "%"),
    ("blood_ml", "Blood drawn", "float", "mL"),
    ("prp_ml", "PRP volume", "float", "mL"),
    ("baseline_platelets", "Whole-blood platelets", "float", "10^3/uL"),
    ("baseline_wbc", "Whole-blood white cells", "float", "10^3/uL"),
    ("prp_platelets", "PRP platelets", "float", "10^3/uL"),
    ("prp_wbc", "PRP white cells", "float", "10^3/uL"),
    ("prp_rbc", "PRP red cells", "float", "10^6/uL"),
    ("mixture_prp_ml", "PRP in the mixture", "float", "mL"),
    ("mixture_ml", "Final mixture volume", "float", "mL"),
    ("area_cm2", "Scalp area treated", "float", "cm2"),
    ("injection_points", "Injection points", "integer", ""),
    ("volume_per_point_ml", "Volume per injection point", "float", "mL"),
)


class _Derived:
    """The values of one procedure with Procedure's own derived properties (PAW, DEPA, fold, flags), without
    the cost of a model instance per row."""

    def __init__(self, values: dict):
        self.__dict__.update(values)

    svf_flags = Procedure.svf_flags
    cells_per_ml_tissue = Procedure.cells_per_ml_tissue
    cells_per_cm2 = Procedure.cells_per_cm2
    fold_over_baseline = Procedure.fold_over_baseline
    paw = Procedure.paw
    depa = Procedure.depa
    lidocaine_mg_per_kg = Procedure.lidocaine_mg_per_kg


def procedure_rows(ctx: ExportContext) -> list[dict]:
    """One row per treatment (kept on the context: the wide table and the FHIR bundle use them too)."""
    if "procedures" not in ctx.cache:
        ctx.cache["procedures"] = list(_procedure_rows(ctx))
    return ctx.cache["procedures"]


def _procedure_rows(ctx: ExportContext) -> Iterator[dict]:
    query = Procedure.objects.filter(clinic=ctx.clinic).order_by("patient_id", "harvest_at", "pk")
    adverse = _ae_counts(ctx, by="procedure_id")
    numbers: dict[int, int] = defaultdict(int)
    for values in query.values_list(*PROCEDURE_FIELDS).iterator(chunk_size=CHUNK_ROWS):
        row = dict(zip(PROCEDURE_FIELDS, values, strict=True))
        info = ctx.patients.get(row["patient_id"])
        if info is None:
            continue
        numbers[info.pk] += 1
        p = _Derived(row)
        harvest_day = timezone.localtime(row["harvest_at"]).date()
        depa = p.depa
        lidocaine = p.lidocaine_mg_per_kg
        out = {
            "subject": info.subject,
            "patient_code": info.code,
            "procedure_id": row["pk"],
            "treatment": numbers[info.pk],
            "date": ctx.date(info, harvest_day),
            "day": (harvest_day - info.treatments[0]).days,
            "age_years": ctx.age(info, harvest_day),
            "svf_method": row["svf_method"] or None,
            "closed_system": row["closed_system"],
            "activation": row["activation"] or None,
            "depth": row["depth"] or None,
            "svf_flags": len(p.svf_flags),
            "cells_per_ml_tissue": p.cells_per_ml_tissue,
            "cells_per_cm2": p.cells_per_cm2,
            "prp_fold_over_baseline": p.fold_over_baseline,
            "paw": p.paw,
            "depa": depa["code"] if depa else None,
            "lidocaine_mg_per_kg": None if lidocaine is None else round(lidocaine, 2),
            "harvest_to_injection_min": (
                None
                if row["injected_at"] is None
                else round((row["injected_at"] - row["harvest_at"]).total_seconds() / 60)
            ),
        }
        out |= {name: row[name] for name, *_ in PROCEDURE_VALUES}
        out |= adverse.get(row["pk"], {"adverse_events": 0, "max_ae_grade": None, "serious_aes": 0})
        yield out


PROCEDURE_COLUMNS = (
    LONG_COLUMNS[0],
    LONG_COLUMNS[1],
    Column(
        "procedure_id", "Procedure record id", "integer", source="procedures.Procedure.id", identifying=True
    ),
    Column("treatment", "Treatment number of the patient (1 = first)", "integer"),
    Column(
        "date",
        "Harvest date",
        "date",
        source="procedures.Procedure.harvest_at",
        note="Shifted by the patient's offset in de-identified exports",
    ),
    Column("day", "Days since the patient's first treatment", "integer", "days"),
    Column(
        "age_years",
        "Age at this treatment",
        "integer",
        "years",
        source="patients.Patient.date_of_birth",
        note="90 and over reported as 90 when de-identified",
    ),
    Column(
        "svf_method",
        "SVF isolation method",
        "string",
        codes=tuple(SvfMethod.choices),
        source="procedures.Procedure.svf_method",
    ),
    Column(
        "closed_system",
        "Closed processing system",
        "boolean",
        codes=YES_NO,
        source="procedures.Procedure.closed_system",
    ),
    Column(
        "activation",
        "PRP activation",
        "string",
        codes=tuple(Activation.choices),
        source="procedures.Procedure.activation",
    ),
    Column(
        "depth", "Injection depth", "string", codes=tuple(Depth.choices), source="procedures.Procedure.depth"
    ),
    *(
        Column(name, label, kind, unit, source=f"procedures.Procedure.{name}")
        for name, label, kind, unit in PROCEDURE_VALUES
    ),
    Column(
        "svf_flags",
        "SVF values missing an IFATS/ISCT threshold",
        "integer",
        "count",
        source="procedures.calc.svf_flags",
    ),
    Column("cells_per_ml_tissue", "Nucleated cells per mL of lipoaspirate", "float", "cells/mL"),
    Column("cells_per_cm2", "Nucleated cells injected per cm2 of scalp", "float", "cells/cm2"),
    Column(
        "prp_fold_over_baseline",
        "PRP platelet concentration over whole blood",
        "float",
        "fold",
        source="procedures.calc.fold_over_baseline",
    ),
    Column("paw", "PAW class (DeLong 2012)", "string", source="procedures.calc.paw_class"),
    Column("depa", "DEPA class (Magalon 2016)", "string", source="procedures.calc.depa_class"),
    Column("lidocaine_mg_per_kg", "Lidocaine dose", "float", "mg/kg", source="procedures.calc"),
    Column("harvest_to_injection_min", "Harvest start to end of injection", "integer", "min"),
    Column("adverse_events", "Adverse events linked to this treatment", "integer", "count"),
    Column("max_ae_grade", "Highest CTCAE grade of those events", "integer", codes=GRADES),
    Column("serious_aes", "Serious adverse events linked to this treatment", "integer", "count"),
)


# ---------------------------------------------------------------------------------------------------------
# Adverse events

AE_FIELDS = (
    "pk",
    "patient_id",
    "procedure_id",
    "term",
    "term_other",
    "grade",
    "onset_on",
    "aware_on",
    "resolved_on",
    "expected",
    "outcome",
    "reported_on",
    *(code for code, _ in SERIOUSNESS),
    *(code for code, _ in SUSPECT_STEPS),
)


def _ae_values(ctx: ExportContext) -> list[dict]:
    if "adverse_events" not in ctx.cache:
        ctx.cache["adverse_events"] = list(_ae_query(ctx))
    return ctx.cache["adverse_events"]


def _ae_query(ctx: ExportContext) -> Iterator[dict]:
    query = AdverseEvent.objects.filter(patient__clinic=ctx.clinic).order_by("patient_id", "onset_on", "pk")
    for values in query.values_list(*AE_FIELDS).iterator(chunk_size=CHUNK_ROWS):
        row = dict(zip(AE_FIELDS, values, strict=True))
        if row["patient_id"] in ctx.patients:
            row["serious"] = any(row[code] for code, _ in SERIOUSNESS)
            yield row


def _ae_counts(ctx: ExportContext, *, by: str) -> dict:
    counts: dict = {}
    for row in _ae_values(ctx):
        key = row[by]
        c = counts.setdefault(key, {"adverse_events": 0, "max_ae_grade": None, "serious_aes": 0})
        c["adverse_events"] += 1
        c["max_ae_grade"] = max(c["max_ae_grade"] or 0, row["grade"])
        c["serious_aes"] += row["serious"]
    return counts


def adverse_event_rows(ctx: ExportContext) -> Iterator[dict]:
    procedure_numbers = {}
    query = Procedure.objects.filter(clinic=ctx.clinic).order_by("patient_id", "harvest_at", "pk")
    last_patient, n = None, 0
    for pk, patient_id in query.values_list("pk", "patient_id"):
        n = n + 1 if patient_id == last_patient else 1
        last_patient = patient_id
        procedure_numbers[pk] = n
    for row in _ae_values(ctx):
        info = ctx.patients[row["patient_id"]]
        first = info.treatments[0] if info.treatments else None
        out = {
            "subject": info.subject,
            "patient_code": info.code,
            "adverse_event_id": row["pk"],
            "treatment": procedure_numbers.get(row["procedure_id"]),
            "term": row["term"],
            "term_other": row["term_other"] or None,
            "grade": row["grade"],
            "serious": row["serious"],
            "expected": row["expected"],
            "outcome": row["outcome"],
            "onset_date": ctx.date(info, row["onset_on"]),
            "aware_date": ctx.date(info, row["aware_on"]),
            "resolved_date": ctx.date(info, row["resolved_on"]),
            "reported_date": ctx.date(info, row["reported_on"]),
            "onset_day": (row["onset_on"] - first).days if first else None,
            "duration_days": (row["resolved_on"] - row["onset_on"]).days if row["resolved_on"] else None,
        }
        out |= {code: row[code] for code, _ in SERIOUSNESS}
        out |= {code: row[code] for code, _ in SUSPECT_STEPS}
        yield out


AE_COLUMNS = (
    LONG_COLUMNS[0],
    LONG_COLUMNS[1],
    Column(
        "adverse_event_id",
        "Adverse-event record id",
        "integer",
        source="safety.AdverseEvent.id",
        identifying=True,
    ),
    Column(
        "treatment",
        "Treatment number the event is linked to (empty: none)",
        "integer",
        source="safety.AdverseEvent.procedure",
    ),
    Column("term", "CTCAE v5.0 term", "string", codes=tuple(CTCAE_TERMS), source="safety.AdverseEvent.term"),
    Column(
        "term_other",
        "Other term (as written)",
        "string",
        source="safety.AdverseEvent.term_other",
        identifying=True,
    ),
    Column("grade", "CTCAE grade", "integer", codes=GRADES, source="safety.AdverseEvent.grade"),
    Column("serious", "Serious (any ICH E2A criterion)", "boolean", codes=YES_NO),
    *(
        Column(code, f"Seriousness: {label}", "boolean", codes=YES_NO, source=f"safety.AdverseEvent.{code}")
        for code, label in SERIOUSNESS
    ),
    Column(
        "expected",
        "Expected (listed as a known risk)",
        "boolean",
        codes=YES_NO,
        source="safety.AdverseEvent.expected",
    ),
    *(
        Column(
            code,
            f"Causality: {label}",
            "string",
            codes=tuple(Causality.choices),
            source=f"safety.AdverseEvent.{code}",
        )
        for code, label in SUSPECT_STEPS
    ),
    Column(
        "outcome", "Outcome", "string", codes=tuple(Outcome.choices), source="safety.AdverseEvent.outcome"
    ),
    Column(
        "onset_date",
        "Onset date",
        "date",
        source="safety.AdverseEvent.onset_on",
        note="Shifted by the patient's offset in de-identified exports",
    ),
    Column("aware_date", "Date the clinic became aware", "date", source="safety.AdverseEvent.aware_on"),
    Column("resolved_date", "Date resolved", "date", source="safety.AdverseEvent.resolved_on"),
    Column(
        "reported_date", "Date reported to the authority", "date", source="safety.AdverseEvent.reported_on"
    ),
    Column("onset_day", "Onset, days since the first treatment", "integer", "days"),
    Column("duration_days", "Onset to resolution", "integer", "days"),
)


# ---------------------------------------------------------------------------------------------------------
# One row per patient (wide)

# (column prefix, measure, protocol or view it is restricted to, label)
WIDE_OUTCOMES = (
    ("comb60", "shed_count", ("protocol", Protocol.COMB_60S), "Shed hairs, 60-second comb count"),
    ("wash", "shed_count", ("protocol", Protocol.WASH), "Shed hairs, wash test"),
    ("density", "density", None, "Hair density at the trichoscopy site (hairs/cm2)"),
    ("thin", "thin_hair_share", None, "Share of thin hairs (trichoscopy)"),
    ("scalp_top", "scalp_visible_fraction", ("view", View.VERTEX), "Visible-scalp fraction, vertex view"),
    ("scalp_front", "scalp_visible_fraction", ("view", View.FRONTAL), "Visible-scalp fraction, frontal view"),
    ("hairline", "hairline_recession_index", None, "Hairline recession index (0 full, 1 none)"),
    ("part", "part_width_mm", None, "Mid-line part width"),
)
WIDE_UNITS = {"shed_count": "hairs", "density": "hairs/cm2", "part_width_mm": "mm"}
MEAN_NOTE = (
    "Counts the algorithm called not countable (and no clinician corrected) and global views it called not "
    "usable are left out of the mean."
)
T2_NOTE = (
    "After the second (prophylactic) treatment. No separate baseline before it: measurements before the "
    "second treatment are follow-ups of the first. Visits after a third or later treatment are only in the "
    "long table (measurements)."
)


def _sd_note(sd: float) -> str:
    mdc = 1.96 * math.sqrt(2) * sd
    return (
        f"Re-photography SD {sd:g} (bench/results/scalp.md): a change smaller than {mdc:.2f} (MDC95) is "
        "within measurement error"
    )


SD_NOTE = {
    "scalp_top": _sd_note(SCALP_FRACTION_SD_BY_VIEW[View.VERTEX]),
    "scalp_front": _sd_note(SCALP_FRACTION_SD_BY_VIEW[View.FRONTAL]),
    "hairline": _sd_note(HAIRLINE_RECESSION_SD),
}
FIRST_PROCEDURE = (
    "lipoaspirate_ml",
    "svf_method",
    "nucleated_cells",
    "viability_pct",
    "cd34_pct",
    "cd45_pct",
    "svf_flags",
    "cells_per_cm2",
    "prp_fold_over_baseline",
    "paw",
    "depa",
    "area_cm2",
)


def _wide_outcomes_by_measure() -> dict[str, list]:
    out: dict[str, list] = defaultdict(list)
    for prefix, measure, restriction, _ in WIDE_OUTCOMES:
        out[measure].append((prefix, restriction))
    return out


def outcome_means(ctx: ExportContext) -> dict[int, dict[str, float]]:
    """{patient pk: {"comb60_baseline": mean final value, …}}, summed while the long table was made (or
    now, without reading photo files, when it has not been)."""
    if not ctx.outcomes_complete:
        for _ in measurement_rows(ctx, hash_photos=False):
            pass
    out: dict[int, dict[str, float]] = defaultdict(dict)
    for (pk, name), (total, n) in ctx.outcome_sums.items():
        out[pk][name] = total / n
    return out


def _latest_before(rows, day: dt.date | None):
    """From (date, …) tuples sorted by date, the last on or before `day` (any when `day` is None)."""
    chosen = None
    for row in rows:
        if day is None or row[0] <= day:
            chosen = row
    return chosen


def patient_rows(ctx: ExportContext) -> Iterator[dict]:
    clinic = ctx.clinic
    stagings, labs, screens, meds = defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list)
    for pid, *rest in (
        Staging.objects.filter(patient__clinic=clinic)
        .order_by("assessed_on", "pk")
        .values_list("patient_id", "assessed_on", "scale", "grade")
    ):
        stagings[pid].append(rest)
    for pid, *rest in (
        LabResult.objects.filter(patient__clinic=clinic)
        .order_by("taken_on", "pk")
        .values_list(
            "patient_id", "taken_on", "ferritin_ug_l", "haemoglobin_g_dl", "platelets_10e3_per_ul", "tsh_mu_l"
        )
    ):
        labs[pid].append(rest)
    screened = ContraindicationScreen.objects.filter(patient__clinic=clinic).order_by("screened_at", "pk")
    for pid, at, height, weight in screened.values_list(
        "patient_id", "screened_at", "height_cm", "weight_kg"
    ):
        screens[pid].append((timezone.localtime(at).date(), round(weight / (height / 100) ** 2, 1)))
    hair_meds = Medication.objects.filter(patient__clinic=clinic, category="hair_loss")
    for pid, started, stopped in hair_meds.values_list("patient_id", "started_on", "stopped_on"):
        meds[pid].append((started, stopped))
    first_procedures = {}
    for row in procedure_rows(ctx):
        first_procedures.setdefault(row["subject"], row)
    adverse = _ae_counts(ctx, by="patient_id")
    visits = defaultdict(lambda: {"done": 0, "missed": 0})
    from trichotrack.web.followups.models import Visit

    for pid, status in Visit.objects.filter(patient__clinic=clinic).values_list("patient_id", "status"):
        if status in (VisitStatus.DONE, VisitStatus.MISSED):
            visits[pid][status] += 1
    outcomes = outcome_means(ctx)
    for n, (pk, info) in enumerate(ctx.patients.items(), start=1):
        ctx.report_patient(n)
        first = info.treatments[0] if info.treatments else None
        reference_day = first or ctx.today
        staging = _latest_before(stagings[pk], reference_day)
        lab = _latest_before(labs[pk], reference_day)
        screen = _latest_before(screens[pk], reference_day)
        on_hair_meds = any(
            (s is None or s <= reference_day) and (e is None or e >= reference_day) for s, e in meds[pk]
        )
        procedure = first_procedures.get(info.subject, {})
        row = {
            "subject": info.subject,
            "patient_code": info.code,
            "family_name": info.family_name,
            "given_name": info.given_name,
            "date_of_birth": info.date_of_birth,
            "occupation": info.occupation or None,
            "sex": info.sex,
            "hair_colour": info.hair_colour or None,
            "age_years": ctx.age(info, reference_day),
            "onset_date": ctx.date(info, info.onset_date),
            "months_from_onset": (
                round((reference_day - info.onset_date).days / 30.44, 1) if info.onset_date else None
            ),
            "stage_scale": staging[1] if staging else None,
            "stage_grade": staging[2] if staging else None,
            "ferritin_ug_l": lab[1] if lab else None,
            "haemoglobin_g_dl": lab[2] if lab else None,
            "platelets_10e3_per_ul": lab[3] if lab else None,
            "tsh_mu_l": lab[4] if lab else None,
            "bmi": screen[1] if screen else None,
            "hair_loss_medication": on_hair_meds,
            "treatments": len(info.treatments),
            "first_treatment_date": ctx.date(info, first),
            "visits_done": visits[pk]["done"],
            "visits_missed": visits[pk]["missed"],
        }
        row |= {name: procedure.get(name) for name in FIRST_PROCEDURE}
        row |= adverse.get(pk, {"adverse_events": 0, "max_ae_grade": None, "serious_aes": 0})
        row |= outcomes.get(pk, {})
        yield row


def _by_name(columns, name) -> Column:
    return next(c for c in columns if c.name == name)


WIDE_COLUMNS = (
    LONG_COLUMNS[0],
    LONG_COLUMNS[1],
    Column("family_name", "Family name", "string", source="patients.Patient.family_name", identifying=True),
    Column("given_name", "Given name", "string", source="patients.Patient.given_name", identifying=True),
    Column(
        "date_of_birth", "Date of birth", "date", source="patients.Patient.date_of_birth", identifying=True
    ),
    Column("occupation", "Occupation", "string", source="patients.Patient.occupation", identifying=True),
    Column("sex", "Sex", "string", codes=tuple(Sex.choices), source="patients.Patient.sex"),
    Column(
        "hair_colour",
        "Hair colour (of the shed hairs)",
        "string",
        codes=tuple(HairColour.choices),
        source="patients.Patient.hair_colour",
        note="grey: shed-hair counts are of the hairs that show on the surface, a lower bound",
    ),
    Column(
        "age_years",
        "Age at the first treatment (at the export date if untreated)",
        "integer",
        "years",
        source="patients.Patient.date_of_birth",
        note="90 and over reported as 90 when de-identified",
    ),
    Column(
        "onset_date",
        "Onset of the hair loss",
        "date",
        source="patients.Patient.onset_date",
        note="Shifted by the patient's offset in de-identified exports",
    ),
    Column(
        "months_from_onset", "Months from onset to the first treatment (or the export)", "float", "months"
    ),
    Column(
        "stage_scale",
        "Staging scale (latest staging before the first treatment)",
        "string",
        codes=tuple(StagingScale.choices),
        source="patients.Staging.scale",
    ),
    Column("stage_grade", "Stage on that scale", "string", source="patients.Staging.grade"),
    Column(
        "ferritin_ug_l",
        "Ferritin (latest before the first treatment)",
        "float",
        "ug/L",
        source="patients.LabResult.ferritin_ug_l",
    ),
    Column(
        "haemoglobin_g_dl",
        "Haemoglobin (latest before the first treatment)",
        "float",
        "g/dL",
        source="patients.LabResult.haemoglobin_g_dl",
    ),
    Column(
        "platelets_10e3_per_ul",
        "Blood platelets (latest before the first treatment)",
        "float",
        "10^3/uL",
        source="patients.LabResult.platelets_10e3_per_ul",
    ),
    Column(
        "tsh_mu_l",
        "TSH (latest before the first treatment)",
        "float",
        "mU/L",
        source="patients.LabResult.tsh_mu_l",
    ),
    Column(
        "bmi",
        "Body-mass index at the latest screen before the first treatment",
        "float",
        "kg/m2",
        source="patients.ContraindicationScreen",
    ),
    Column(
        "hair_loss_medication",
        "Taking a hair-loss medication at the first treatment",
        "boolean",
        codes=YES_NO,
        source="patients.Medication.category",
    ),
    Column("treatments", "Number of treatments", "integer", "count", source="procedures.Procedure"),
    Column(
        "first_treatment_date",
        "Date of the first treatment",
        "date",
        source="procedures.Procedure.harvest_at",
        note="Shifted by the patient's offset in de-identified exports",
    ),
    Column("visits_done", "Follow-up visits done", "integer", "count", source="followups.Visit.status"),
    Column("visits_missed", "Follow-up visits missed", "integer", "count", source="followups.Visit.status"),
    *(
        Column(c.name, f"First treatment: {c.label}", c.type, c.unit, c.codes, c.source)
        for c in (_by_name(PROCEDURE_COLUMNS, name) for name in FIRST_PROCEDURE)
    ),
    Column("adverse_events", "Adverse events (all)", "integer", "count", source="safety.AdverseEvent"),
    Column(
        "max_ae_grade", "Highest CTCAE grade", "integer", codes=GRADES, source="safety.AdverseEvent.grade"
    ),
    Column("serious_aes", "Serious adverse events", "integer", "count", source="safety.AdverseEvent"),
    *(
        Column(
            f"{prefix}_{tp}",
            f"{label}, {tp_label.lower().replace('a treatment', 'the first treatment')}: mean",
            "float",
            WIDE_UNITS.get(measure, "1"),
            source="long table, final_value",
            note=" ".join(filter(None, (MEAN_NOTE, SD_NOTE.get(prefix, "")))),
        )
        for prefix, measure, _, label in WIDE_OUTCOMES
        for tp, tp_label in TIMEPOINTS
        if tp != "other"
    ),
    *(
        Column(
            f"{prefix}_t2_{tp}",
            f"{label}, {tp_label.lower().replace('a treatment', 'the second treatment')}: mean",
            "float",
            WIDE_UNITS.get(measure, "1"),
            source="long table, final_value",
            note=" ".join(filter(None, (T2_NOTE, MEAN_NOTE, SD_NOTE.get(prefix, "")))),
        )
        for prefix, measure, _, label in WIDE_OUTCOMES
        for tp, tp_label in TIMEPOINTS
        if tp not in ("other", "baseline")
    ),
)


TABLES = (
    Table(
        "patients",
        "One row per patient (wide): baseline, first treatment, safety, outcome at each visit",
        WIDE_COLUMNS,
        patient_rows,
    ),
    Table("measurements", "One row per patient × photo × measure (long)", LONG_COLUMNS, measurement_rows),
    Table("procedures", "One row per treatment", PROCEDURE_COLUMNS, procedure_rows),
    Table("adverse_events", "One row per adverse event", AE_COLUMNS, adverse_event_rows),
)


# ---------------------------------------------------------------------------------------------------------
# Writers


def _csv_converter(column: Column):
    """The function that turns a value of `column` into its CSV text (None is empty)."""
    if column.type == "boolean":
        return lambda v: "" if v is None else int(bool(v))
    if column.type == "date":
        return lambda v: "" if v is None else v.isoformat()
    return lambda v: "" if v is None else v


def write_csv(table: Table, ctx: ExportContext, path: Path) -> int:
    columns = table.columns_for(ctx.deidentified)
    convert = [(c.name, _csv_converter(c)) for c in columns]
    n = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([c.name for c in columns])
        for row in table.rows(ctx):
            writer.writerow([f(row.get(name)) for name, f in convert])
            n += 1
    return n


def _arrow_type(column: Column):
    import pyarrow as pa

    return {
        "string": pa.string(),
        "integer": pa.int64(),
        "float": pa.float64(),
        "date": pa.date32(),
        "boolean": pa.bool_(),
    }[column.type]


def _chunks(rows: Iterator[dict], size: int) -> Iterator[list[dict]]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _arrow_value(column: Column, value):
    if value is None:
        return None
    if column.type == "boolean":
        return bool(value)
    if column.type == "integer":
        return int(value)
    if column.type == "float":
        return float(value)
    return value


def write_parquet(table: Table, ctx: ExportContext, path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = table.columns_for(ctx.deidentified)
    schema = pa.schema(
        [pa.field(c.name, _arrow_type(c), metadata={"label": c.label, "unit": c.unit}) for c in columns],
        metadata={"table": table.name, "deidentified": str(ctx.deidentified).lower()},
    )
    n = 0
    with pq.ParquetWriter(path, schema) as writer:
        for chunk in _chunks(table.rows(ctx), CHUNK_ROWS * 4):
            arrays = [
                pa.array([_arrow_value(c, r.get(c.name)) for r in chunk], type=_arrow_type(c))
                for c in columns
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            n += len(chunk)
        if n == 0:
            writer.write_table(schema.empty_table())
    return n


def numeric_codes(column: Column) -> dict:
    """{stored value: number} for a coded string column in SPSS/Stata (1, 2, … in the codebook's order)."""
    return {code: i for i, (code, _) in enumerate(column.codes, start=1)}


def _stat_frame(table: Table, ctx: ExportContext, *, stata: bool):
    """A pandas DataFrame for pyreadstat, with numeric codes, labels and value labels."""
    import pandas as pd

    columns = table.columns_for(ctx.deidentified)
    data: dict[str, list] = {c.name: [] for c in columns}
    converters = {}
    for c in columns:
        if c.type == "string" and c.codes:
            mapping = numeric_codes(c)
            converters[c.name] = mapping.get
        elif c.type == "boolean":
            converters[c.name] = lambda v: None if v is None else int(bool(v))
    n = 0
    for row in table.rows(ctx):
        for c in columns:
            value = row.get(c.name)
            convert = converters.get(c.name)
            data[c.name].append(convert(value) if convert and value is not None else value)
        n += 1
    frame = {}
    for c in columns:
        values = data.pop(c.name)
        if c.type in ("integer", "float", "boolean") or (c.type == "string" and c.codes):
            frame[c.name] = pd.Series(values, dtype="float64")
        elif c.type == "date" and all(v is None for v in values):
            # pyreadstat takes an all-empty object column for text: numeric, formatted as a date instead
            frame[c.name] = pd.Series([math.nan] * len(values), dtype="float64")
        elif c.type == "date":
            frame[c.name] = pd.Series(values, dtype="object")
        else:
            frame[c.name] = pd.Series(["" if v is None else str(v) for v in values], dtype="object")
    df = pd.DataFrame(frame)
    labels, value_labels = [], {}
    for c in columns:
        labels.append(c.label[:80] if stata else c.label)
        if c.type == "string" and c.codes:
            value_labels[c.name] = {
                float(i): str(label)[: 80 if stata else 120]
                for (_, label), i in zip(c.codes, numeric_codes(c).values(), strict=True)
            }
        elif c.codes:
            value_labels[c.name] = {float(code): str(label) for code, label in c.codes}
    return df, labels, value_labels, n


def _date_formats(table: Table, ctx: ExportContext, fmt: str) -> dict[str, str]:
    return {c.name: fmt for c in table.columns_for(ctx.deidentified) if c.type == "date"}


def write_spss(table: Table, ctx: ExportContext, path: Path) -> int:
    import pyreadstat

    df, labels, value_labels, n = _stat_frame(table, ctx, stata=False)
    ctx.report(f"writing SPSS {path.name}", 1, 1)
    measure = {
        c.name: "nominal" if (c.codes or c.type == "string") else "scale"
        for c in table.columns_for(ctx.deidentified)
    }
    pyreadstat.write_sav(
        df,
        str(path),
        column_labels=labels,
        variable_value_labels=value_labels,
        variable_measure=measure,
        variable_format=_date_formats(table, ctx, "DATE11"),
        file_label=f"trichotrack {table.name}",
    )
    return n


def write_stata(table: Table, ctx: ExportContext, path: Path) -> int:
    import pyreadstat

    df, labels, value_labels, n = _stat_frame(table, ctx, stata=True)
    ctx.report(f"writing Stata {path.name}", 1, 1)
    pyreadstat.write_dta(
        df,
        str(path),
        column_labels=labels,
        variable_value_labels=value_labels,
        version=15,
        variable_format=_date_formats(table, ctx, "%td"),
        file_label=f"trichotrack {table.name}"[:80],
    )
    return n


WRITERS = {
    "csv": (write_csv, "csv"),
    "parquet": (write_parquet, "parquet"),
    "spss": (write_spss, "sav"),
    "stata": (write_stata, "dta"),
}


def allowed_values(column: Column, fmt: str | None = None) -> str:
    """The codebook's 'allowed values': codes with labels (and the numbers SPSS/Stata store)."""
    if not column.codes:
        return ""
    numbered = column.type == "string" and fmt in ("spss", "stata")
    if numbered:
        return "; ".join(f"{i}={code} ({label})" for i, (code, label) in enumerate(column.codes, start=1))
    return "; ".join(f"{code}={label}" for code, label in column.codes)


CODEBOOK_HEADER = ("table", "variable", "label", "type", "unit", "allowed_values", "source", "note")


def codebook_rows(fmt: str, deidentified: bool) -> list[tuple]:
    rows = []
    for table in TABLES:
        for c in table.columns_for(deidentified):
            kind = c.type
            if fmt in ("spss", "stata") and (c.type == "boolean" or (c.type == "string" and c.codes)):
                kind = "integer (labelled)"
            rows.append((table.name, c.name, c.label, kind, c.unit, allowed_values(c, fmt), c.source, c.note))
    return rows


def write_codebook(out_dir: Path, fmt: str, ctx: ExportContext, counts: dict) -> list[Path]:
    """codebook.csv and codebook.md: the tables' variables, or for FHIR the bundle's local codes."""
    if fmt == "fhir":
        from .fhir import codebook_rows as fhir_codebook_rows

        rows = fhir_codebook_rows()
    else:
        rows = codebook_rows(fmt, ctx.deidentified)
    csv_path, md_path = out_dir / "codebook.csv", out_dir / "codebook.md"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CODEBOOK_HEADER)
        writer.writerows(rows)
    kind = "de-identified" if ctx.deidentified else "identified"
    lines = [
        f"# trichotrack export codebook ({fmt}, {kind})",
        "",
        # no calendar date in a de-identified export's text (the dates in its tables are shifted)
        f"Clinic: {ctx.clinic}. "
        + ("Exported" if ctx.deidentified else f"Exported on {ctx.today.isoformat()}")
        + f": {len(ctx.patients)} patients"
        + (f", {ctx.excluded} left out without a valid research consent." if ctx.deidentified else "."),
        "",
    ]
    if ctx.deidentified:
        lines += [
            "De-identified: subjects are keyed hashes; every date of a patient is shifted by the same "
            f"number of days (between −{MAX_SHIFT_DAYS} and +{MAX_SHIFT_DAYS}, never 0), so intervals "
            "within a patient are kept but calendar dates and seasons are not; ages of 90 and over are "
            "given as 90; names, date of birth, occupation, record ids and free text are left out; "
            "photos appear only as the SHA-256 of their metadata-free derived copy.",
            "",
        ]
    if fmt == "fhir":
        lines += _fhir_codebook_lines(rows, counts)
        md_path.write_text("\n".join(lines), encoding="utf-8")
        return [csv_path, md_path]
    lines += ["Missing values are empty (CSV), null (Parquet) or system-missing (SPSS, Stata).", ""]
    for table in TABLES:
        lines += [f"## {table.name} ({counts.get(table.name, 0)} rows)", "", table.description, ""]
        lines += ["| variable | label | type | unit | allowed values | source |", "|---|---|---|---|---|---|"]
        for t, name, label, kind_, unit, allowed, source, note in rows:
            if t == table.name:
                text = f"{label}. {note}" if note else label
                cells = [name, text, kind_, unit, allowed, source]
                lines.append("| " + " | ".join(v.replace("|", "/") for v in cells) + " |")
        lines.append("")
    md_path.write_text("\n".join(lines), encoding="utf-8")
    return [csv_path, md_path]


def _fhir_codebook_lines(rows: list[tuple], counts: dict) -> list[str]:
    found = ", ".join(f"{kind} {n}" for kind, n in counts.items())
    lines = [
        f"One HL7 FHIR R5 Bundle (collection), bundle.json: {found}. Elements without a value are left out.",
        "There are no LOINC terms for these hair measures (reference §7.2): they use the local code systems "
        "below, which the bundle also carries as a CodeSystem resource. Body site: SNOMED CT 41695006 "
        "Scalp structure; units: UCUM.",
        "",
    ]
    places = list(dict.fromkeys(row[0] for row in rows))
    for place in places:
        lines += [f"## {place}", "", "| code | meaning | value | unit | system |", "|---|---|---|---|---|"]
        for where, code, label, kind, unit, _, system, _ in rows:
            if where == place:
                cells = [code, label, kind, unit, system]
                lines.append("| " + " | ".join(str(v).replace("|", "/") for v in cells) + " |")
        lines.append("")
    return lines


# ---------------------------------------------------------------------------------------------------------
# The export


FORMAT_NAMES = {"csv": "CSV", "parquet": "Parquet", "spss": "SPSS", "stata": "Stata", "fhir": "FHIR"}
# The share of an export's time each table takes (bench/exports.py: the long table is most of it).
TABLE_WEIGHTS = {"measurements": 0.55, "patients": 0.25, "procedures": 0.08, "adverse_events": 0.07}


def write_export(
    clinic,
    fmt: str,
    out_dir: Path,
    *,
    deidentified: bool,
    user=None,
    via: str = "web",
    today: dt.date | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> ExportResult:
    """Write one export of `clinic` into `out_dir` and record it in the audit trail.

    One audit event for the export (who, format, identified or not, number of patients) and one per patient
    exported, like the research CSV. `progress(step, fraction)`, when given, is called as the export goes
    ("measurements: patient 4,000 / 10,000", "writing SPSS measurements.sav") with the fraction done, 0–1;
    the last call says 1.0.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if progress is not None:
        progress("choosing the patients", 0.0)
    ctx = build_context(clinic, deidentified=deidentified, today=today)
    ctx.progress = progress
    files: list[Path] = []
    counts: dict[str, int] = {}
    if fmt == "fhir":
        from .fhir import write_bundle

        path = out_dir / "bundle.json"
        ctx.span, ctx.step = (0.02, 0.95), "FHIR bundle"
        ctx.report("FHIR bundle")
        counts = write_bundle(ctx, path)
        files.append(path)
    else:
        writer, suffix = WRITERS[fmt]
        start = 0.02
        # the measurements first: the wide table's outcome means are summed while they are written
        for table in sorted(TABLES, key=lambda t: t.name != "measurements"):
            end = start + 0.93 * TABLE_WEIGHTS[table.name]
            ctx.span, ctx.step = (start, end), f"{table.name.replace('_', ' ')} ({FORMAT_NAMES[fmt]})"
            ctx.report(ctx.step)
            counts[table.name] = writer(table, ctx, out_dir / f"{table.name}.{suffix}")
            start = end
        files += [out_dir / f"{table.name}.{suffix}" for table in TABLES]
        counts = {table.name: counts[table.name] for table in TABLES}
    ctx.span = (0.95, 1.0)
    ctx.report("writing the codebook")
    files += write_codebook(out_dir, fmt, ctx, counts)
    _audit(ctx, user, fmt=fmt, via=via, counts=counts)
    ctx.report("done", 1, 1)
    return ExportResult(fmt, deidentified, tuple(files), len(ctx.patients), ctx.excluded, counts)


def _audit(ctx: ExportContext, user, *, fmt: str, via: str, counts: dict) -> None:
    kind = "deidentified" if ctx.deidentified else "identified"
    with transaction.atomic():
        audit.record(
            user,
            "export.created",
            clinic=ctx.clinic,
            data={
                "format": fmt,
                "kind": kind,
                "via": via,
                "patients": len(ctx.patients),
                "excluded_patients": ctx.excluded,
                "rows": counts,
            },
        )
        audit.record_many(
            user,
            "patient.exported",
            list(ctx.patients),
            clinic=ctx.clinic,
            data_for=lambda pk: {"export": fmt, "kind": kind, "subject": ctx.patients[pk].subject},
        )
