"""Saving a procedure: consent and screen gates, chain-of-identity IDs, follow-up schedule, audit — all in one
transaction, so a refused or failed save leaves nothing behind."""

import secrets

from django.db import transaction
from django.utils import timezone

from trichotrack.web import audit
from trichotrack.web.consent.models import ConsentKind
from trichotrack.web.consent.services import consent_problems
from trichotrack.web.patients.services import screen_problems
from trichotrack.web.versioning import save_versioned

from .models import Procedure, Product, ProductKind


class ProcedureBlocked(Exception):
    """The procedure may not be saved; ``problems`` lists why, in words for the user."""

    def __init__(self, problems):
        super().__init__(" ".join(problems))
        self.problems = problems


def gate_problems(procedure: Procedure) -> list[str]:
    day = timezone.localdate(procedure.harvest_at)
    return consent_problems(procedure.patient, ConsentKind.TREATMENT, day) + screen_problems(
        procedure.patient, day
    )


def _new_product_id(kind: str) -> str:
    # Random, not sequential: a mistyped or guessed ID should not hit another patient's product.
    return f"{kind}-{secrets.token_hex(4).upper()}"


def _create_products(procedure: Procedure) -> dict[str, Product]:
    def make(kind, *parents):
        product = Product.objects.create(
            product_id=_new_product_id(kind), kind=kind, procedure=procedure, patient=procedure.patient
        )
        product.parents.set(parents)
        return product

    la = make(ProductKind.LIPOASPIRATE)
    svf = make(ProductKind.SVF, la)
    bl = make(ProductKind.BLOOD)
    prp = make(ProductKind.PRP, bl)
    mix = make(ProductKind.MIXTURE, svf, prp)
    return {p.kind: p for p in (la, svf, bl, prp, mix)}


def create_procedure(procedure: Procedure, *, user) -> Procedure:
    """Check the gates, then save the procedure, its products, its follow-up visits and the audit event."""
    from trichotrack.web.followups.services import schedule_visits

    problems = gate_problems(procedure)
    if problems:
        audit.record(user, "procedure.blocked", procedure.patient, data={"problems": problems})
        raise ProcedureBlocked(problems)
    with transaction.atomic():
        procedure.clinic = procedure.patient.clinic
        procedure.created_by = user
        procedure.save()
        products = _create_products(procedure)
        schedule_visits(procedure)
        audit.record(
            user,
            "procedure.created",
            procedure,
            data={"products": [p.product_id for p in products.values()], "svf_method": procedure.svf_method},
        )
    return procedure


def update_procedure(procedure: Procedure, expected_version: int, *, user, changed: dict) -> None:
    problems = gate_problems(procedure)
    if problems:
        raise ProcedureBlocked(problems)
    with transaction.atomic():
        save_versioned(procedure, expected_version)
        audit.record(user, "procedure.changed", procedure, data={"changed": changed})


class InjectionRefused(Exception):
    pass


def confirm_injection(procedure: Procedure, scanned_id: str, *, user) -> Product:
    """Confirm that the product in hand is this patient's mixture, right before it is injected.

    The scanned ID is looked up among *all* products, so that another patient's product is named as such.
    """
    scanned_id = scanned_id.strip().upper()
    product = Product.objects.filter(product_id=scanned_id).first()
    reason = None
    if product is None:
        reason = f"No product has the ID {scanned_id!r}."
    elif product.patient_id != procedure.patient_id:
        reason = f"{scanned_id} belongs to another patient. Do not inject."
    elif product.kind != ProductKind.MIXTURE:
        reason = f"{scanned_id} is the {product.get_kind_display()}, not the final SVF + PRP mixture."
    elif product.procedure_id != procedure.pk:
        reason = f"{scanned_id} belongs to another procedure of this patient."
    if reason:
        audit.record(user, "injection.refused", procedure, data={"scanned": scanned_id, "reason": reason})
        raise InjectionRefused(reason)
    with transaction.atomic():
        procedure.injection_confirmed_at = timezone.now()
        procedure.injection_confirmed_by = user
        procedure.save(update_fields=["injection_confirmed_at", "injection_confirmed_by"])
        audit.record(user, "injection.confirmed", procedure, data={"product": scanned_id})
    return product
