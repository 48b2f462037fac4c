"""Consent rules: which definition is current, and whether a patient holds a valid consent of a kind."""

import datetime as dt
import hashlib
from functools import partial

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from trichotrack.web import audit

from .models import REQUIRED_TREATMENT_ELEMENTS, Consent, ConsentDefinition, ConsentElementAck, ConsentKind
from .tasks import render_snapshot


def current_definition(clinic, kind, on: dt.date) -> ConsentDefinition | None:
    """The newest definition of `kind` valid on `on`."""
    return (
        ConsentDefinition.objects.filter(clinic=clinic, kind=kind, valid_from__lte=on)
        .exclude(valid_to__lt=on)
        .order_by("-valid_from", "-id")
        .first()
    )


def current_definitions(clinic, on: dt.date) -> dict[str, ConsentDefinition]:
    """The definition in force on `on` for every kind, in one query (same rule as current_definition)."""
    current = {}
    for d in (
        ConsentDefinition.objects.filter(clinic=clinic, valid_from__lte=on)
        .exclude(valid_to__lt=on)
        .order_by("-valid_from", "-id")
    ):
        current.setdefault(d.kind, d)
    return current


def consent_problems(patient, kind, on: dt.date | None = None) -> list[str]:
    """Why `patient` has no valid consent of `kind` on day `on` (empty list: it is valid)."""
    on = on or timezone.localdate()
    label = ConsentKind(kind).label.lower()
    definition = current_definition(patient.clinic, kind, on)
    if definition is None:
        return [f"No {label} consent form is in force on {on:%d %b %Y}."]
    consents = patient.consents.filter(definition__kind=kind)
    current = [c for c in consents.filter(definition=definition) if timezone.localdate(c.given_at) <= on]
    if not current:
        if consents.filter(definition=definition).exists():
            return [f"The patient gave {label} consent only after {on:%d %b %Y}."]
        if consents.exists():
            return [
                f"The {label} consent is for an older version; re-consent to v{definition.version} is needed."
            ]
        return [f"The patient has not given {label} consent."]
    live = [c for c in current if c.withdrawn_at is None or timezone.localdate(c.withdrawn_at) > on]
    if not live:
        return [f"The patient withdrew {label} consent."]
    consent = live[0]
    acked = set(consent.acks.values_list("code", flat=True))
    missing = [lbl for code, lbl in definition.elements if code not in acked]
    if kind == ConsentKind.TREATMENT:
        missing += [
            code for code in REQUIRED_TREATMENT_ELEMENTS - acked if code not in dict(definition.elements)
        ]
    if missing:
        return ["Not acknowledged: " + "; ".join(missing) + "."]
    return []


def valid_consent(patient, kind, on: dt.date | None = None) -> bool:
    return not consent_problems(patient, kind, on)


@transaction.atomic
def give_consent(
    patient,
    definition,
    *,
    user,
    signed_name: str,
    acknowledged: list[str],
    given_at=None,
    in_person: bool = False,
    signature_png: bytes | None = None,
) -> Consent:
    """Record a consent with one acknowledgement per element; every element of the definition must be in
    `acknowledged`. A patient who signs `in_person` must have drawn a signature (`signature_png`, checked
    by consent.signature.decode_signature); nothing is saved otherwise."""
    codes = [code for code, _ in definition.elements]
    missing = [code for code in codes if code not in acknowledged]
    if missing:
        raise ValueError(f"Elements not acknowledged: {', '.join(missing)}")
    if in_person and not signature_png:
        raise ValueError("The patient signs in person: the drawn signature is missing.")
    if not signed_name.strip():
        raise ValueError("The patient's typed full name is missing.")
    now = given_at or timezone.now()
    consent = Consent(
        patient=patient,
        definition=definition,
        given_at=now,
        signed_name=signed_name.strip(),
        explained_by=user,
        signed_in_person=in_person,
    )
    if signature_png:
        consent.signature_sha256 = hashlib.sha256(signature_png).hexdigest()
        name = f"signature-{patient.pk}-{consent.signature_sha256[:12]}.png"
        consent.signature.save(name, ContentFile(signature_png), save=False)
    consent.save()
    ConsentElementAck.objects.bulk_create(
        ConsentElementAck(consent=consent, code=code, label=label, acknowledged_at=now)
        for code, label in definition.elements
    )
    data = {"version": definition.version, "elements": codes, "in_person": in_person}
    if signature_png:
        data["signature_sha256"] = consent.signature_sha256
    audit.record(user, "consent.given", consent, data=data)
    transaction.on_commit(partial(render_snapshot.enqueue, consent.pk))
    return consent


@transaction.atomic
def withdraw_consent(consent: Consent, *, user, reason: str) -> None:
    if consent.withdrawn_at is not None:
        return
    consent.withdrawn_at = timezone.now()
    consent.withdrawn_by = user
    consent.withdrawal_reason = reason
    consent.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_reason"])
    audit.record(user, "consent.withdrawn", consent, data={"reason": reason})


def patients_to_reconsent(definition: ConsentDefinition):
    """Patients who gave (and did not withdraw) a consent of `definition`'s kind to an older version and have
    none to `definition` itself: from the day it comes into force they must consent again before any data
    collection or procedure that needs this kind of consent.

    One query, however many patients: the clinic's patients filtered with two subqueries.
    """
    from trichotrack.web.patients.models import Patient

    older = Consent.objects.filter(
        definition__clinic_id=definition.clinic_id,
        definition__kind=definition.kind,
        definition__valid_from__lt=definition.valid_from,
        withdrawn_at__isnull=True,
    )
    current = Consent.objects.filter(definition=definition, withdrawn_at__isnull=True)
    return (
        Patient.objects.filter(clinic_id=definition.clinic_id, pk__in=older.values("patient_id"))
        .exclude(pk__in=current.values("patient_id"))
        .order_by("code")
    )


@transaction.atomic
def publish_version(
    previous: ConsentDefinition,
    *,
    user,
    version: str,
    title: str,
    text: str,
    valid_from,
    valid_to=None,
):
    """A new version of `previous`'s form, in force from `valid_from` (to `valid_to`, last day, if given);
    the previous one ends the day before.

    From then on, consents to the previous version no longer count (consent_problems asks for re-consent).
    """
    if valid_from <= previous.valid_from:
        raise ValueError("The new version must start after the current one started.")
    if valid_to is not None and valid_to < valid_from:
        raise ValueError("The last day of validity must not be before the first.")
    if previous.valid_to is not None and previous.valid_to < valid_from - dt.timedelta(days=1):
        raise ValueError("Only the current version can be replaced: this one has already ended.")
    newer = ConsentDefinition.objects.filter(
        clinic_id=previous.clinic_id, kind=previous.kind, valid_from__gt=previous.valid_from
    ).first()
    if newer is not None:
        raise ValueError(
            f"v{newer.version} already follows v{previous.version}: make the new version from it."
        )
    if ConsentDefinition.objects.filter(clinic=previous.clinic, kind=previous.kind, version=version).exists():
        raise ValueError(f"Version {version} already exists.")
    previous.valid_to = valid_from - dt.timedelta(days=1)
    previous.save(update_fields=["valid_to"])
    new = ConsentDefinition.objects.create(
        clinic=previous.clinic,
        kind=previous.kind,
        version=version,
        title=title,
        text=text,
        elements=previous.elements,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    audit.record(
        user,
        "consent_definition.published",
        new,
        data={"replaces": previous.version, "from": str(valid_from), "to": valid_to and str(valid_to)},
    )
    return new


def create_default_definitions(
    clinic, *, valid_from: dt.date, version: str = "1.0"
) -> list[ConsentDefinition]:
    """The starting consent forms of a new clinic, one per kind."""
    from .models import DEFAULT_ELEMENTS
    from .texts import TEXTS

    return [
        ConsentDefinition.objects.create(
            clinic=clinic,
            kind=kind,
            version=version,
            title=TEXTS[kind][0],
            text=TEXTS[kind][1],
            elements=[list(e) for e in elements],
            valid_from=valid_from,
        )
        for kind, elements in DEFAULT_ELEMENTS.items()
    ]
