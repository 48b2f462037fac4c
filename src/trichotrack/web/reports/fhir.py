"""The export as one HL7 FHIR **R5** (5.0.0) Bundle of type ``collection``, in JSON.

R5 because fhir.resources (8.x), which the tests validate every resource with, ships R5 and R4B but no R4,
and because R5's BiologicallyDerivedProduct carries ``property`` (cell count, viability, platelets) and
``parent`` (mixture → SVF + PRP), and photos are DocumentReference (Media was removed; reference §7.1).

Codes: there are no LOINC terms for shed-hair counts, hair density, thin-hair share or the visible-scalp
fraction (reference §7.2), so these use a local CodeSystem that the bundle itself carries. The only standard
code used is SNOMED CT 41695006 Scalp structure (body site), plus UCUM units and HL7's own
adverse-event-seriousness codes.

The bundle is written entry by entry (no list of all resources in memory) from the same queries and the
same de-identification (`exports.ExportContext`) as the tables. Resource ids are keyed hashes, so a
de-identified bundle does not reveal record numbers.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from trichotrack.web.consent.models import Consent, ConsentKind
from trichotrack.web.photos.models import View
from trichotrack.web.safety.models import CTCAE_TERMS, SUSPECT_STEPS, Causality, Outcome

from . import exports

LOCAL = "urn:trichotrack:fhir:CodeSystem"
MEASURE_SYSTEM = f"{LOCAL}:measure"
PRODUCT_SYSTEM = f"{LOCAL}:product-property"
SUBJECT_SYSTEM = "urn:trichotrack:subject"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
SCALP = {"coding": [{"system": SNOMED, "code": "41695006", "display": "Scalp structure"}]}
SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
GRADE_EXTENSION = "urn:trichotrack:fhir:StructureDefinition:ctcae-grade"

# measure code → UCUM unit (code, human unit)
UNITS = {
    "shed_count": ("{hairs}", "hairs"),
    "trichoscopy_count": ("{hairs}", "hairs"),
    "density": ("{hairs}/cm2", "hairs/cm²"),
    "short_hair_share": ("1", "fraction"),
    "thin_hair_share": ("1", "fraction"),
    "vellus_share": ("1", "fraction"),
    "scalp_visible_fraction": ("1", "fraction"),
    "hairline_recession_index": ("1", "index"),
    "part_width_mm": ("mm", "mm"),
}
COMPONENTS = (
    ("interval-low", "Lower bound of the 95 % interval"),
    ("interval-high", "Upper bound of the 95 % interval"),
    ("automatic-value", "Automatic value before the clinician's correction"),
)
PRODUCT_PROPERTIES = (
    ("nucleated-cells", "Total nucleated cells", "{cells}"),
    ("viability", "Viability", "%"),
    ("cd34", "CD34+ cells", "%"),
    ("cd45", "CD45+ cells", "%"),
    ("platelets", "Platelet count", "10*3/uL"),
    ("platelet-fold", "Platelet concentration over whole blood", "1"),
    ("white-cells", "White-cell count", "10*3/uL"),
    ("red-cells", "Red-cell count", "10*6/uL"),
    ("volume", "Volume", "mL"),
    ("cells-per-ml", "Nucleated cells per mL", "{cells}/mL"),
    ("paw", "PAW class (DeLong 2012)", ""),
)


def resource_id(kind: str, key) -> str:
    """A UUID (version-4 layout) for a resource, keyed with SECRET_KEY (keyed BLAKE2b, a MAC): stable
    between exports, not a record number, and fast enough for hundreds of thousands of observations."""
    secret = settings.SECRET_KEY.encode()[:64]
    h = hashlib.blake2b(f"fhir:{kind}:{key}".encode(), key=secret, digest_size=16).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _ref(kind: str, key) -> dict:
    return {"reference": f"urn:uuid:{resource_id(kind, key)}"}


def _coding(system: str, code: str, display: str = "") -> dict:
    coding = {"system": system, "code": str(code)}
    if display:
        coding["display"] = display
    return {"coding": [coding], **({"text": display} if display else {})}


def _quantity(value, unit: str) -> dict:
    quantity = {"value": round(float(value), 6)}
    if unit:
        quantity |= {"unit": unit, "system": UCUM, "code": unit}
    return quantity


def _date(day) -> str | None:
    return None if day is None else day.isoformat()


def _entry(kind: str, key, resource: dict) -> dict:
    rid = resource_id(kind, key)
    return {"fullUrl": f"urn:uuid:{rid}", "resource": {"resourceType": kind, "id": rid, **resource}}


def code_system() -> dict:
    """The local CodeSystem of every local code the bundle uses, so a receiver can read them."""
    concepts = [{"code": code, "display": label} for code, label in exports.MEASURE_CODES]
    concepts += [{"code": code, "display": label} for code, label in COMPONENTS]
    concepts += [{"code": code, "display": label} for code, label, _ in PRODUCT_PROPERTIES]
    return _entry(
        "CodeSystem",
        "measure",
        {
            "url": MEASURE_SYSTEM,
            "name": "TrichotrackMeasures",
            "title": "trichotrack hair measures and product properties (local; no LOINC terms exist)",
            "status": "active",
            "content": "complete",
            "concept": concepts,
        },
    )


def patient_entries(ctx: exports.ExportContext) -> Iterator[dict]:
    gender = {"F": "female", "M": "male", "X": "unknown"}
    for pk, info in ctx.patients.items():
        resource = {
            "identifier": [{"system": SUBJECT_SYSTEM, "value": info.subject}],
            "gender": gender.get(info.sex, "unknown"),
        }
        if not ctx.deidentified:
            resource["identifier"].append(
                {"system": f"urn:trichotrack:clinic:{ctx.clinic.pk}:patient-code", "value": info.code}
            )
            resource["name"] = [{"family": info.family_name, "given": [info.given_name]}]
            resource["birthDate"] = info.date_of_birth.isoformat()
        yield _entry("Patient", pk, resource)


def consent_entries(ctx: exports.ExportContext) -> Iterator[dict]:
    kinds = dict(ConsentKind.choices)
    query = Consent.objects.filter(patient__clinic=ctx.clinic).order_by("patient_id", "given_at", "pk")
    fields = ("pk", "patient_id", "definition__kind", "definition__version", "given_at", "withdrawn_at")
    for pk, patient_id, kind, version, given_at, withdrawn_at in query.values_list(*fields).iterator(
        exports.CHUNK_ROWS
    ):
        info = ctx.patients.get(patient_id)
        if info is None:
            continue
        withdrawn = withdrawn_at is not None and timezone.localdate(withdrawn_at) <= ctx.today
        period = {"start": _date(ctx.date(info, given_at))}
        if withdrawn_at is not None:
            period["end"] = _date(ctx.date(info, withdrawn_at))
        yield _entry(
            "Consent",
            pk,
            {
                "status": "inactive" if withdrawn else "active",
                "category": [_coding(f"{LOCAL}:consent-kind", kind, kinds.get(kind, kind))],
                "subject": _ref("Patient", patient_id),
                "date": _date(ctx.date(info, given_at)),
                "period": period,
                "decision": "permit",
                "policyText": [{"display": f"{kinds.get(kind, kind)} consent, version {version}"}],
            },
        )


def _property(code: str, value) -> dict | None:
    if value is None:
        return None
    label, unit = next((label, unit) for c, label, unit in PRODUCT_PROPERTIES if c == code)
    prop = {"type": _coding(PRODUCT_SYSTEM, code, label)}
    if code == "paw":
        return prop | {"valueCodeableConcept": {"text": str(value)}}
    return prop | {"valueQuantity": _quantity(value, unit)}


def _product(pk, part: str, info, day, category: str, code_text: str, properties, parents=()) -> dict:
    resource = {
        "productCategory": {
            "system": "http://hl7.org/fhir/product-category",
            "code": category,
        },
        "productCode": {"text": code_text},
        "collection": {"source": _ref("Patient", info.pk), "collectedDateTime": _date(day)},
        "property": [p for p in properties if p is not None],
    }
    if parents:
        resource["parent"] = [_ref("BiologicallyDerivedProduct", f"{pk}:{p}") for p in parents]
    if not resource["property"]:
        del resource["property"]
    return _entry("BiologicallyDerivedProduct", f"{pk}:{part}", resource)


def procedure_entries(ctx: exports.ExportContext) -> Iterator[dict]:
    """Per treatment: the SVF, the PRP, the mixture (parents: both) and the Procedure that used it."""
    for row in exports.procedure_rows(ctx):
        pk, info = row["procedure_id"], _info(ctx, row["subject"])
        day = row["date"]
        svf = [
            _property("nucleated-cells", row["nucleated_cells"]),
            _property("viability", row["viability_pct"]),
            _property("cd34", row["cd34_pct"]),
            _property("cd45", row["cd45_pct"]),
        ]
        prp = [
            _property("platelets", row["prp_platelets"]),
            _property("platelet-fold", row["prp_fold_over_baseline"]),
            _property("white-cells", row["prp_wbc"]),
            _property("red-cells", row["prp_rbc"]),
            _property("volume", row["prp_ml"]),
            _property("paw", row["paw"]),
        ]
        mixture = [
            _property("volume", row["mixture_ml"]),
            _property(
                "cells-per-ml",
                row["nucleated_cells"] / row["mixture_ml"]
                if row["mixture_ml"] and row["nucleated_cells"] is not None
                else None,
            ),
        ]
        method = row["svf_method"] or "unknown method"
        yield _product(pk, "svf", info, day, "cells", f"Stromal vascular fraction ({method})", svf)
        yield _product(pk, "prp", info, day, "fluid", "Platelet-rich plasma", prp)
        yield _product(pk, "mix", info, day, "cells", "SVF + PRP mixture", mixture, parents=("svf", "prp"))
        yield _entry(
            "Procedure",
            pk,
            {
                "status": "completed",
                "code": {
                    "coding": [
                        {
                            "system": f"{LOCAL}:procedure",
                            "code": "svf-prp-scalp",
                            "display": "Autologous SVF + PRP scalp injection (liposuction harvest)",
                        }
                    ],
                    "text": "Autologous SVF + PRP scalp injection (unproven treatment)",
                },
                "subject": _ref("Patient", info.pk),
                "occurrenceDateTime": _date(day),
                "bodySite": [SCALP],
                "used": [{"reference": _ref("BiologicallyDerivedProduct", f"{pk}:mix")}],
            },
        )


def _info(ctx, subject: str):
    lookup = getattr(ctx, "_by_subject", None)
    if lookup is None:
        lookup = {info.subject: info for info in ctx.patients.values()}
        ctx._by_subject = lookup
    return lookup[subject]


def observation_entries(ctx: exports.ExportContext) -> Iterator[dict]:
    """A DocumentReference per photo (only the derived copy's hash) and an Observation per measure.

    The parts that repeat (codes, units, references to the patient and the photo) are made once."""
    views = dict(View.choices)
    labels = dict(exports.MEASURE_CODES)
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    codes_json = {measure: encode(_coding(MEASURE_SYSTEM, measure, labels[measure])) for measure in labels}
    bounds_json = {code: encode(_coding(MEASURE_SYSTEM, code)) for code, _ in COMPONENTS}
    measure_numbers = {code: i for i, (code, _) in enumerate(exports.MEASURE_CODES)}
    scalp_json = encode(SCALP)
    methods: dict[str, str] = {}
    patient_ref, photo, photo_json, observation_base = None, None, "", ""
    subject, patient_json = None, ""
    for row in exports.measurement_rows(ctx):
        if row["subject"] != subject:
            subject = row["subject"]
            patient_ref = _ref("Patient", _info(ctx, subject).pk)
            patient_json = encode(patient_ref)
        if row["photo_id"] != photo:
            photo = row["photo_id"]
            photo_json = encode(_ref("DocumentReference", photo))
            observation_base = resource_id("Observation", photo)
            document = {
                "status": "current",
                "type": {"text": f"Clinical photo: {views.get(row['view'], row['view'])}"},
                "subject": patient_ref,
                "period": {"start": _date(row["date"])},
                "bodySite": [{"concept": SCALP}],
                "content": [{"attachment": {"title": f"{row['view']} photo (derived copy, no metadata)"}}],
            }
            if row["photo_sha256"]:
                document["identifier"] = [
                    {"system": "urn:trichotrack:derived-sha256", "value": row["photo_sha256"]}
                ]
            yield _entry("DocumentReference", photo, document)
        measure = row["measure"]
        unit = UNITS.get(measure, ("1", ""))[0]
        parts = [
            '"status":"final","code":',
            codes_json.get(measure) or encode(_coding(MEASURE_SYSTEM, measure)),
            ',"subject":',
            patient_json,
            ',"effectiveDateTime":"',
            row["date"].isoformat(),
            '","valueQuantity":',
            _quantity_json(row["final_value"], unit),
            ',"bodySite":',
            scalp_json,
            ',"method":',
            methods.get(row["algorithm"])
            or methods.setdefault(row["algorithm"], encode({"text": row["algorithm"]})),
            ',"derivedFrom":[',
            photo_json,
            "]",
        ]
        components = [
            f'{{"code":{bounds_json[code]},"valueQuantity":{_quantity_json(bound, unit)}}}'
            for code, bound in (("interval-low", row["low"]), ("interval-high", row["high"]))
            if bound is not None
        ]
        if row["corrected_value"] is not None:
            automatic = _quantity_json(row["value"], unit)
            components.append(f'{{"code":{bounds_json["automatic-value"]},"valueQuantity":{automatic}}}')
        if components:
            parts += [',"component":[', ",".join(components), "]"]
        if row["countable"] is False:
            parts.append(',"note":[{"text":"Not reliably countable (see the photo\'s problems)."}]')
        # one keyed id per photo; its observations differ in the last byte (the measure's number)
        rid = f"{observation_base[:-2]}{measure_numbers[measure]:02x}"
        yield (
            "Observation",
            (
                f'{{"fullUrl":"urn:uuid:{rid}","resource":{{"resourceType":"Observation","id":"{rid}",'
                + "".join(parts)
                + "}}"
            ),
        )


def _quantity_json(value, unit: str) -> str:
    """`_quantity` as JSON text (the observations are written as text: there are hundreds of thousands)."""
    number = round(float(value), 6)
    if not math.isfinite(number):
        raise ValueError(f"not a finite measurement value: {value!r}")
    return f'{{"value":{number!r}{_unit_json(unit)}}}'


@functools.cache
def _unit_json(unit: str) -> str:
    if not unit:
        return ""
    return f',"unit":{json.dumps(unit)},"system":"{UCUM}","code":{json.dumps(unit)}'


def adverse_event_entries(ctx: exports.ExportContext) -> Iterator[dict]:
    terms, outcomes, causality = dict(CTCAE_TERMS), dict(Outcome.choices), dict(Causality.choices)
    procedures = {}
    for row in exports.procedure_rows(ctx):
        procedures[(row["subject"], row["treatment"])] = row["procedure_id"]
    for row in exports.adverse_event_rows(ctx):
        info = _info(ctx, row["subject"])
        label = terms.get(row["term"], row["term"])
        if row["term_other"] and not ctx.deidentified:
            label = f"{label}: {row['term_other']}"
        procedure = procedures.get((row["subject"], row["treatment"]))
        suspects = [{"instanceReference": _ref("Procedure", procedure)}] if procedure is not None else []
        for code, step in SUSPECT_STEPS:
            relatedness = _coding(f"{LOCAL}:causality", row[code], causality.get(row[code], row[code]))
            suspects.append(
                {"instanceCodeableConcept": {"text": step}, "causality": {"entityRelatedness": relatedness}}
            )
        serious = "serious" if row["serious"] else "non-serious"
        resource = {
            "extension": [{"url": GRADE_EXTENSION, "valueInteger": row["grade"]}],
            "status": "completed" if row["resolved_date"] else "in-progress",
            "actuality": "actual",
            "code": _coding(f"{LOCAL}:ctcae-term", row["term"], label),
            "subject": _ref("Patient", info.pk),
            "occurrenceDateTime": _date(row["onset_date"]),
            "detected": _date(row["aware_date"]),
            "seriousness": _coding(SERIOUSNESS, serious, serious.capitalize()),
            "outcome": [_coding(f"{LOCAL}:ae-outcome", row["outcome"], outcomes.get(row["outcome"], ""))],
            "suspectEntity": suspects,
            "expectedInResearchStudy": bool(row["expected"]),
        }
        yield _entry("AdverseEvent", row["adverse_event_id"], resource)


def codebook_rows() -> list[tuple]:
    """The bundle's codes in the codebook's columns: (where, code, meaning, value element, unit, allowed
    values, code system, note)."""
    rows = [
        ("Observation.code", code, label, "valueQuantity", UNITS.get(code, ("1", ""))[0], "", MEASURE_SYSTEM,
         "value after any clinician's correction")
        for code, label in exports.MEASURE_CODES
    ]  # fmt: skip
    rows += [
        ("Observation.component.code", code, label, "valueQuantity", "as above", "", MEASURE_SYSTEM, "")
        for code, label in COMPONENTS
    ]  # fmt: skip
    rows += [
        ("BiologicallyDerivedProduct.property.type", code, label,
         "valueCodeableConcept" if code == "paw" else "valueQuantity", unit, "", PRODUCT_SYSTEM, "")
        for code, label, unit in PRODUCT_PROPERTIES
    ]  # fmt: skip
    rows += [
        ("Consent.category", code, label, "", "", "", f"{LOCAL}:consent-kind", "")
        for code, label in ConsentKind.choices
    ]
    rows += [
        ("AdverseEvent.code", code, label, "", "", "", f"{LOCAL}:ctcae-term", "")
        for code, label in CTCAE_TERMS
    ]
    rows += [
        ("AdverseEvent.suspectEntity.causality", code, label, "", "", "", f"{LOCAL}:causality", "")
        for code, label in Causality.choices
    ]
    rows += [
        ("AdverseEvent.outcome", code, label, "", "", "", f"{LOCAL}:ae-outcome", "")
        for code, label in Outcome.choices
    ]
    rows.append(
        (
            "AdverseEvent.extension",
            "ctcae-grade",
            "CTCAE v5.0 grade",
            "valueInteger",
            "",
            "1-5",
            GRADE_EXTENSION,
            "",
        )
    )
    return rows


def write_bundle(ctx: exports.ExportContext, path: Path) -> dict[str, int]:
    """Write the bundle to `path` one entry at a time; returns the number of resources of each type."""
    counts: Counter = Counter()
    sources = (
        [code_system()],
        patient_entries(ctx),
        consent_entries(ctx),
        procedure_entries(ctx),
        observation_entries(ctx),
        adverse_event_entries(ctx),
    )
    with Path(path).open("w", encoding="utf-8") as handle:
        handle.write('{"resourceType":"Bundle","type":"collection","timestamp":')
        handle.write(json.dumps(f"{ctx.today.isoformat()}T00:00:00Z"))
        handle.write(',"entry":[')
        first = True
        encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        for source in sources:
            for entry in source:
                if not first:
                    handle.write(",\n")
                first = False
                if isinstance(entry, tuple):  # (resource type, the entry already as JSON text)
                    counts[entry[0]] += 1
                    handle.write(entry[1])
                else:
                    counts[entry["resource"]["resourceType"]] += 1
                    handle.write(encode(entry))
        handle.write("]}\n")
    return dict(counts)
