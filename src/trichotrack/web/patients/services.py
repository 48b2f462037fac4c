"""Business rules of the patient record: the contraindication screen and its acknowledgement."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from trichotrack.web import audit

from .models import ContraindicationFlag, ContraindicationScreen, FlagLevel, MedicationCategory, Patient

BMI_LIMIT = 40.0  # STYLE exclusion (reference §5.3)
PLATELETS_MIN_10E3_PER_UL = 100.0
HAEMOGLOBIN_MIN_G_DL = 10.0
LABS_MAX_AGE_DAYS = 90
SCREEN_MAX_AGE_DAYS = 30

# (answer field, level) for the yes/no questions; the label is the field's verbose name.
_ANSWER_FLAGS = [
    ("platelet_dysfunction", FlagLevel.ABSOLUTE),
    ("critical_thrombocytopenia", FlagLevel.ABSOLUTE),
    ("haemodynamic_instability", FlagLevel.ABSOLUTE),
    ("septicaemia", FlagLevel.ABSOLUTE),
    ("local_infection", FlagLevel.ABSOLUTE),
    ("unwilling_to_accept_risks", FlagLevel.ABSOLUTE),
    ("steroid_injection_at_site", FlagLevel.RELATIVE),
    ("tobacco", FlagLevel.RELATIVE),
    ("recent_fever", FlagLevel.RELATIVE),
    ("malignancy", FlagLevel.RELATIVE),
    ("pregnant_or_breastfeeding", FlagLevel.RELATIVE),
    ("scalp_inflammatory_disease", FlagLevel.RELATIVE),
    ("autoimmune_alopecia", FlagLevel.RELATIVE),
    ("liposuction_risk", FlagLevel.RELATIVE),
]


def derive_flags(screen: ContraindicationScreen) -> list[tuple[str, str, str]]:
    """The (code, label, level) flags of a screen, from its answers, the latest labs and the medications."""
    flags = []
    for field, level in _ANSWER_FLAGS:
        if getattr(screen, field):
            label = ContraindicationScreen._meta.get_field(field).verbose_name
            flags.append((field, label[0].upper() + label[1:], level))
    if screen.bmi >= BMI_LIMIT:
        flags.append(("bmi", f"BMI {screen.bmi:.1f} ≥ {BMI_LIMIT:.0f}", FlagLevel.RELATIVE))

    patient, day = screen.patient, screen.planned_on
    labs = patient.labs.filter(taken_on__lte=day, taken_on__gte=day - dt.timedelta(days=LABS_MAX_AGE_DAYS))
    platelets = labs.exclude(platelets_10e3_per_ul=None).first()
    hb = labs.exclude(haemoglobin_g_dl=None).first()
    if platelets is None or hb is None:
        flags.append(
            (
                "labs_missing",
                f"No platelet count or haemoglobin in the {LABS_MAX_AGE_DAYS} days before",
                "relative",
            )
        )
    if platelets is not None and platelets.platelets_10e3_per_ul < PLATELETS_MIN_10E3_PER_UL:
        flags.append(
            (
                "platelets_low",
                f"Platelets {platelets.platelets_10e3_per_ul:g} × 10³/µL < 100",
                FlagLevel.RELATIVE,
            )
        )
    if hb is not None and hb.haemoglobin_g_dl < HAEMOGLOBIN_MIN_G_DL:
        flags.append(
            ("haemoglobin_low", f"Haemoglobin {hb.haemoglobin_g_dl:g} g/dL < 10", FlagLevel.RELATIVE)
        )

    for med in patient.medications.all():
        if med.category in (MedicationCategory.ANTICOAGULANT, MedicationCategory.ANTIPLATELET):
            if med.taken_within(day, 7):
                flags.append(
                    (
                        f"med_{med.pk}",
                        f"{med.get_category_display()} {med.name} within 7 days",
                        FlagLevel.RELATIVE,
                    )
                )
        elif med.category == MedicationCategory.NSAID and med.taken_within(day, 2):
            flags.append((f"med_{med.pk}", f"NSAID {med.name} within 48 hours", FlagLevel.RELATIVE))
        elif med.category == MedicationCategory.SYSTEMIC_STEROID and med.taken_within(day, 14):
            flags.append(
                (f"med_{med.pk}", f"Systemic corticosteroid {med.name} within 2 weeks", FlagLevel.RELATIVE)
            )
    return flags


@transaction.atomic
def save_screen(screen: ContraindicationScreen, *, user) -> ContraindicationScreen:
    screen.screened_by = user
    screen.save()
    for code, label, level in derive_flags(screen):
        ContraindicationFlag.objects.create(screen=screen, code=code, label=label, level=level)
    audit.record(
        user,
        "screen.created",
        screen,
        data={"flags": list(screen.flags.values_list("code", flat=True)), "bmi": round(screen.bmi, 1)},
    )
    return screen


def acknowledge_flag(flag: ContraindicationFlag, *, user, note: str = "") -> None:
    """A clinician takes responsibility for proceeding despite `flag`; an absolute flag needs a reason."""
    if flag.acknowledged_at is not None:
        return
    if flag.level == FlagLevel.ABSOLUTE and not note.strip():
        raise ValueError("An absolute contraindication needs a written reason to proceed.")
    flag.acknowledged_by = user
    flag.acknowledged_at = timezone.now()
    flag.acknowledgement_note = note.strip()
    flag.save(update_fields=["acknowledged_by", "acknowledged_at", "acknowledgement_note"])
    audit.record(
        user, "screen.flag_acknowledged", flag, data={"code": flag.code, "note": flag.acknowledgement_note}
    )


_LATEST = object()


def screen_problems(patient: Patient, on: dt.date, screen=_LATEST, *, reveal_dates: bool = True) -> list[str]:
    """Why the screen does not yet allow a procedure on `on` (empty when it does).

    `screen` is the patient's latest screen (or None) when the caller has already loaded it, with its flags
    prefetched; by default it is looked up. With `reveal_dates` False (a researcher's page) the message does
    not say how many days old the screen is: with today's date that count is the screening date.
    """
    if screen is _LATEST:
        screen = patient.screens.first()
    if screen is None:
        return ["No contraindication screen has been recorded."]
    age_days = (on - timezone.localdate(screen.screened_at)).days  # local days, as `on` is
    if age_days > SCREEN_MAX_AGE_DAYS:
        if not reveal_dates:
            return [f"The latest screen is more than {SCREEN_MAX_AGE_DAYS} days old; screen again."]
        return [f"The latest screen is {age_days} days old (limit {SCREEN_MAX_AGE_DAYS}); screen again."]
    pending = [f.label for f in screen.flags.all() if f.acknowledged_at is None]
    if pending:
        return ["A clinician must acknowledge: " + "; ".join(pending) + "."]
    return []
