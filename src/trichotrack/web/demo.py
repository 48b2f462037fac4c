"""Demo data: a reconstruction of the documented case plus synthetic patients, treated and untreated.

Everything goes through the same services as the web forms (consent gate, screen, chain of identity, audit).
Names are fictional. Seeded, so that two loads give the same clinic.
"""

import datetime as dt
import random

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from trichotrack.web.clinics.models import Clinic, Membership, Role
from trichotrack.web.consent.models import ConsentKind
from trichotrack.web.consent.services import create_default_definitions, give_consent
from trichotrack.web.followups.models import Visit, VisitStatus
from trichotrack.web.patients import services as patient_services
from trichotrack.web.patients.models import (
    ContraindicationScreen,
    LabResult,
    Medication,
    Patient,
    Staging,
)
from trichotrack.web.procedures import services as procedure_services
from trichotrack.web.procedures.models import SCALP_REGIONS, Procedure
from trichotrack.web.safety.models import AdverseEvent
from trichotrack.web.safety.services import create_adverse_event

CLINIC_NAME = "Demo clinic"
DEFAULT_PASSWORD = "trichotrack-demo"
# (username, role, full name) — the clinician logs in as "demo" (issue 3's CLI contract).
ACCOUNTS = [
    ("demo", Role.CLINICIAN, "Dana Demo"),
    ("nurse", Role.NURSE, "Noor Nurse"),
    ("lab", Role.LAB, "Lee Lab"),
    ("researcher", Role.RESEARCHER, "Ravi Researcher"),
    ("admin", Role.ADMIN, "Ada Admin"),
    ("patient", Role.PATIENT, "Case Patient"),
]


def demo_password() -> str:
    return settings.DEMO_PASSWORD or DEFAULT_PASSWORD


def is_loaded() -> bool:
    return Clinic.objects.filter(name=CLINIC_NAME).exists()


def _aware(day: dt.date, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


@transaction.atomic
def load(today: dt.date | None = None) -> Clinic:
    """Create the demo clinic; does nothing (returns the clinic) if it is already there."""
    existing = Clinic.objects.filter(name=CLINIC_NAME).first()
    if existing:
        return existing
    today = today or timezone.localdate()
    clinic = Clinic.objects.create(name=CLINIC_NAME, country="US", region="California")
    users = {}
    for username, role, full_name in ACCOUNTS:
        first, last = full_name.split()
        user = get_user_model().objects.create_user(
            username, f"{username}@demo.invalid", demo_password(), first_name=first, last_name=last
        )
        if role == Role.ADMIN:
            user.is_staff = user.is_superuser = True
            user.save()
        Membership.objects.create(user=user, clinic=clinic, role=role)
        users[username] = user
    create_default_definitions(clinic, valid_from=dt.date(2015, 1, 1))
    _documented_case(clinic, users)
    _shed_photos(users)
    _synthetic(clinic, users, today)
    _scalp_photos(users, today)
    return clinic


def _consent_all(patient, clinic, user, when, kinds):
    for kind in kinds:
        definition = clinic.consent_definitions.get(kind=kind)
        give_consent(
            patient,
            definition,
            user=user,
            signed_name=patient.full_name,
            acknowledged=[code for code, _ in definition.elements],
            given_at=when,
        )


def _screen(patient, user, planned_on, height_cm, weight_kg, screened_on, **answers):
    screen = ContraindicationScreen(
        patient=patient, planned_on=planned_on, height_cm=height_cm, weight_kg=weight_kg, **answers
    )
    patient_services.save_screen(screen, user=user)
    ContraindicationScreen.objects.filter(pk=screen.pk).update(screened_at=_aware(screened_on, 10))
    return screen


def _procedure(patient, user, day, rng, **overrides):
    nucleated = rng.uniform(1.5e7, 6e7)
    lipo_ml = rng.choice([60, 80, 100, 120])
    baseline = rng.uniform(180, 320)
    fields = {
        "patient": patient,
        "jurisdiction": "US, California",
        "pathway": "ethics_study",
        "ethics_approval": "DEMO-IRB-2015-017",
        "harvest_at": _aware(day, 9),
        "tumescent_recipe": "Klein: lidocaine 0.1%, epinephrine 1:1,000,000 in saline",
        "lidocaine_total_mg": rng.choice([800, 1000, 1200, 1500]),
        "patient_weight_kg": rng.uniform(55, 90),
        "epinephrine": "1:1,000,000",
        "cannula": "3 mm, syringe aspiration",
        "lipoaspirate_ml": lipo_ml,
        "lipoaspirate_g": lipo_ml * 0.92,
        "harvest_operator": "Dana Demo",
        "svf_method": "enzymatic",
        "svf_device": "Closed-system processor (demo)",
        "closed_system": True,
        "enzyme": "Collagenase NB6, GMP grade",
        "enzyme_lot": f"LOT-{rng.randint(1000, 9999)}",
        "centrifuge_g": 400,
        "centrifuge_min": 10,
        "processing_started_at": _aware(day, 9, 50),
        "processing_stopped_at": _aware(day, 11, 20),
        "processing_operator": "Lee Lab",
        "nucleated_cells": nucleated,
        "counting_method": "NucleoCounter",
        "viability_pct": round(rng.uniform(62, 92), 1),
        "cd45_pct": round(rng.uniform(20, 55), 1),
        "cd34_pct": round(rng.uniform(15, 40), 1),
        "cd31_pct": round(rng.uniform(8, 22), 1),
        "cd235a_pct": round(rng.uniform(0.5, 3), 1),
        "blood_ml": 60,
        "prp_anticoagulant": "ACD-A 1:9",
        "prp_device": "PRP kit (510(k) demo)",
        "spin1_g": 200,
        "spin1_min": 10,
        "spin2_g": 500,
        "spin2_min": 15,
        "prp_ml": 6,
        "baseline_platelets": round(baseline),
        "baseline_wbc": round(rng.uniform(4.5, 9), 1),
        "prp_platelets": round(baseline * rng.uniform(3, 6)),
        "prp_wbc": round(rng.uniform(1, 12), 1),
        "prp_rbc": round(rng.uniform(0.01, 0.3), 2),
        "mixture_prp_ml": 6,
        "mixture_ml": 8,
        "regions": [code for code, _ in SCALP_REGIONS],
        "area_cm2": 400,
        "depth": "subcutaneous",
        "needle": "30G",
        "injection_points": 160,
        "volume_per_point_ml": 0.05,
        "injected_at": _aware(day, 13, 30),
    }
    procedure = Procedure(**(fields | overrides))
    procedure_services.create_procedure(procedure, user=user)
    mixture = procedure.products.get(kind="MIX")
    procedure_services.confirm_injection(procedure, mixture.product_id, user=user)
    return procedure


def _documented_case(clinic, users):
    demo, nurse = users["demo"], users["nurse"]
    patient = Patient.objects.create(
        clinic=clinic,
        code="TT-0001",
        given_name="Casey",
        family_name="Example",
        date_of_birth=dt.date(1971, 6, 2),
        sex="F",
        occupation="Nurse practitioner",
        user=users["patient"],
        onset_date=dt.date(2015, 9, 1),
        suspected_trigger="Unknown (no illness, childbirth, diet or drug change found)",
        prior_treatments=(
            "Numerous, none lasting: topical minoxidil 2% then 5%, biotin, iron supplements, "
            "ketoconazole shampoo, a low-level laser cap, spironolactone (stopped: side effects)."
        ),
        hair_state="Heavy diffuse shedding and a receding frontal hairline.",
        history_notes=(
            "Self-taken shedding photos from January 2016: hair collected after each wash, laid out and "
            "photographed at home (not standardised: lighting and counting method varied)."
        ),
        treatment_plan=(
            "A second, 'prophylactic' treatment is planned at the patient's request. No published evidence "
            "supports a prophylactic repeat; the 6- and 12-month outcomes should come first."
        ),
    )
    Staging.objects.create(
        patient=patient, assessed_on=dt.date(2016, 1, 20), scale="ludwig", grade="I", recorded_by=demo
    )
    Staging.objects.create(
        patient=patient, assessed_on=dt.date(2016, 1, 20), scale="savin", grade="I-3", recorded_by=demo
    )
    LabResult.objects.create(
        patient=patient,
        taken_on=dt.date(2016, 1, 15),
        ferritin_ug_l=48,
        tsh_mu_l=1.9,
        haemoglobin_g_dl=13.4,
        platelets_10e3_per_ul=255,
        wbc_10e3_per_ul=6.1,
        recorded_by=nurse,
    )
    Medication.objects.create(
        patient=patient,
        name="Ibuprofen",
        category="nsaid",
        started_on=dt.date(2015, 11, 1),
        stopped_on=dt.date(2016, 1, 20),
        recorded_by=nurse,
    )
    Medication.objects.create(
        patient=patient,
        name="Minoxidil 5% foam",
        category="hair_loss",
        started_on=dt.date(2015, 10, 1),
        recorded_by=nurse,
    )
    _consent_all(
        patient,
        clinic,
        demo,
        _aware(dt.date(2016, 1, 25), 11),
        [ConsentKind.TREATMENT, ConsentKind.RESEARCH, ConsentKind.PHOTO_CLINICAL],
    )
    _screen(patient, demo, dt.date(2016, 2, 1), 168, 64, dt.date(2016, 1, 25))
    rng = random.Random(1)
    procedure = _procedure(
        patient,
        demo,
        dt.date(2016, 2, 1),
        rng,
        patient_weight_kg=64,
        lidocaine_total_mg=1200,
        lipoaspirate_ml=100,
        lipoaspirate_g=92,
        nucleated_cells=4.2e7,
        viability_pct=84,
        cd34_pct=27,
        cd45_pct=33,
        baseline_platelets=250,
        baseline_wbc=6.0,
        prp_platelets=1150,
        prp_wbc=1.2,
        prp_rbc=0.05,
        notes="Pellet diluted with PRP and injected subcutaneously over the whole scalp.",
    )
    visits = {v.kind: v for v in procedure.visits.all()}
    _record_visit(visits["2w"], dt.date(2016, 2, 15), nurse, {"harvest_bruising": True, "scalp_pain": True})
    _record_visit(
        visits["2m"],
        dt.date(2016, 4, 1),
        demo,
        {},
        notes="Patient reports less shedding. Telogen shedding often settles by itself: weak evidence.",
    )
    for kind in ("6m", "12m"):
        Visit.objects.filter(pk=visits[kind].pk).update(status=VisitStatus.MISSED)
    _ae(
        patient=patient,
        procedure=procedure,
        term="bruising",
        grade=1,
        description="Abdominal bruising at the harvest site.",
        onset_on=dt.date(2016, 2, 2),
        aware_on=dt.date(2016, 2, 15),
        resolved_on=dt.date(2016, 2, 20),
        expected=True,
        causality_liposuction="certain",
        causality_svf="unrelated",
        causality_prp="unrelated",
        causality_injection="unrelated",
        causality_anaesthetic="unlikely",
        outcome="recovered",
        recorded_by=nurse,
    )


def _ae(**fields):
    ae = AdverseEvent(**fields)
    create_adverse_event(ae, user=fields["recorded_by"], data={"source": "demo data"})
    return ae


def _record_visit(visit, day, user, solicited, notes=""):
    Visit.objects.filter(pk=visit.pk).update(
        status=VisitStatus.DONE, done_on=day, solicited=solicited, notes=notes, recorded_by=user
    )


GIVEN = [
    "Ana",
    "Ben",
    "Chloé",
    "Dev",
    "Eva",
    "Femi",
    "Gita",
    "Hugo",
    "Iris",
    "Jon",
    "Kai",
    "Lena",
    "Mo",
    "Nia",
]
FAMILY = [
    "Adler",
    "Brook",
    "Costa",
    "Dahl",
    "Ekwueme",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowal",
]


def _synthetic(clinic, users, today, n=20):
    rng = random.Random(2016)
    demo, nurse = users["demo"], users["nurse"]
    for i in range(n):
        sex = "F" if rng.random() < 0.65 else "M"
        onset = today - dt.timedelta(days=rng.randint(200, 2500))
        patient = Patient.objects.create(
            clinic=clinic,
            code=f"TT-{i + 2:04d}",
            given_name=rng.choice(GIVEN),
            family_name=rng.choice(FAMILY),
            date_of_birth=dt.date(rng.randint(1960, 1998), rng.randint(1, 12), rng.randint(1, 28)),
            sex=sex,
            onset_date=onset,
            suspected_trigger=rng.choice(
                ["Unknown", "Postpartum", "Illness with fever", "Androgenetic", "Stress"]
            ),
            prior_treatments=rng.choice(["Minoxidil", "Minoxidil, finasteride", "None", "PRP ×3 elsewhere"]),
            hair_state=rng.choice(
                ["Diffuse thinning", "Frontal recession", "Vertex thinning", "Heavy shedding"]
            ),
        )
        if sex == "F":
            scale, grade = rng.choice(
                [("ludwig", "I"), ("ludwig", "II"), ("savin", "I-3"), ("sinclair", "3")]
            )
        else:
            scale, grade = "norwood", rng.choice(["III", "III vertex", "IV", "V"])
        Staging.objects.create(
            patient=patient, assessed_on=onset + dt.timedelta(days=90), scale=scale, grade=grade
        )
        treated = i < 13
        if not treated:
            if i % 3 == 0:  # some untreated patients were screened and are waiting for a clinician
                LabResult.objects.create(
                    patient=patient,
                    taken_on=today - dt.timedelta(days=5),
                    platelets_10e3_per_ul=rng.uniform(90, 300),
                )
                Medication.objects.create(patient=patient, name="Apixaban", category="anticoagulant")
                _screen(patient, nurse, today + dt.timedelta(days=14), 165, rng.uniform(55, 120), today)
            continue
        # Treatments spread over the last 14 months; patient TT-0002 is at the 2-week visit today,
        # TT-0003 at 2 months, so the dashboard is never empty.
        days_ago = {0: 14, 1: 61}.get(i, rng.randint(20, 420))
        day = today - dt.timedelta(days=days_ago)
        LabResult.objects.create(
            patient=patient,
            taken_on=day - dt.timedelta(days=7),
            ferritin_ug_l=round(rng.uniform(15, 120)),
            tsh_mu_l=round(rng.uniform(0.5, 4), 1),
            haemoglobin_g_dl=round(rng.uniform(11.5, 15.5), 1),
            platelets_10e3_per_ul=round(rng.uniform(160, 380)),
            wbc_10e3_per_ul=round(rng.uniform(4, 10), 1),
        )
        _consent_all(
            patient,
            clinic,
            demo,
            _aware(day - dt.timedelta(days=7), 11),
            [ConsentKind.TREATMENT, ConsentKind.RESEARCH, ConsentKind.PHOTO_CLINICAL],
        )
        screen = _screen(
            patient,
            nurse,
            day,
            rng.uniform(155, 190),
            rng.uniform(50, 100),
            day - dt.timedelta(days=7),
            tobacco=i % 4 == 0,
        )
        for flag in screen.flags.all():
            patient_services.acknowledge_flag(flag, user=demo, note="Discussed; patient accepts the risk.")
        procedure = _procedure(patient, demo, day, rng)
        for visit in procedure.visits.all():
            if visit.window_end < today and rng.random() < 0.8:
                done = visit.due_on + dt.timedelta(days=rng.randint(-2, 2))
                positives = {"scalp_pain": True} if visit.kind == "2w" and rng.random() < 0.5 else {}
                _record_visit(visit, done, nurse, positives)
        if i == 4:
            _ae(
                patient=patient,
                procedure=procedure,
                term="skin_infection",
                grade=3,
                description="Scalp cellulitis needing admission for IV antibiotics.",
                onset_on=today - dt.timedelta(days=4),
                aware_on=today - dt.timedelta(days=3),
                hospitalisation=True,
                expected=False,
                causality_injection="probable",
                causality_svf="possible",
                causality_prp="possible",
                causality_liposuction="unrelated",
                causality_anaesthetic="unrelated",
                outcome="recovering",
                recorded_by=demo,
            )
        elif rng.random() < 0.4:
            _ae(
                patient=patient,
                procedure=procedure,
                term=rng.choice(["headache", "bruising", "edema_face", "pain"]),
                grade=1,
                onset_on=day + dt.timedelta(days=1),
                aware_on=day + dt.timedelta(days=1),
                resolved_on=day + dt.timedelta(days=4),
                expected=True,
                causality_injection="probable",
                outcome="recovered",
                recorded_by=nurse,
            )


# The documented case photographed her shed hair: three daily collections around the treatment (synthetic
# photos, measured by the task worker once `trichotrack serve` runs).
SHED_PHOTOS = [(dt.date(2016, 1, 20), 24), (dt.date(2016, 2, 20), 36), (dt.date(2016, 4, 1), 14)]


def _shed_photos(users):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from trichotrack.synth.shedding import shed_photo
    from trichotrack.web.photos import services as photo_services
    from trichotrack.web.photos.models import Protocol, Source, View

    patient = Patient.objects.get(user=users["patient"])
    for seed, (day, n_hairs) in enumerate(SHED_PHOTOS):
        image = shed_photo(seed, shape=(360, 480), n_hairs=n_hairs, background="white_paper").image
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=90)
        upload = SimpleUploadedFile(f"shed-{day}.jpg", buffer.getvalue(), content_type="image/jpeg")
        session = photo_services.new_session(
            patient, user=users["patient"], taken_on=day, hair_state=["dry"], source=Source.PORTAL
        )
        photo_services.store_photos(
            session,
            photo_services.check_files([upload]),
            user=users["patient"],
            view=View.SHED,
            protocol=Protocol.DAILY,
            days_since_shampoo=2,
        )


# Trichoscopy of a marked site and global views (synthetic, exact truth in trichotrack.synth), so that the
# timeline shows density, thin hairs, visible scalp and stage. Measured here, synchronously (about 5 s for
# all of them; the tasks enqueued after the commit then find them measured): the pages are full at once.
# Documented case: Ludwig-type crown thinning, before and two months after the treatment of 1 Feb 2016.
CASE_TRICHOSCOPY = [
    (dt.date(2016, 1, 20), 9, 0.35),
    (dt.date(2016, 2, 20), 8, 0.3),
    (dt.date(2016, 4, 1), 11, 0.2),
]
# (day, Ludwig grade drawn): the same grade twice, so her before/after pair shows what "no change beyond
# measurement error" looks like; the man below shows a change beyond it.
CASE_GLOBAL = [(dt.date(2016, 1, 20), 3), (dt.date(2016, 4, 1), 3)]
TRICHOSCOPY_FIELD_WIDTH_MM = 3.6  # a 70× dermatoscope's field, as in synth.trichoscopy
DEMO_IMAGE_SIDE_PX = 480


def _jpeg_upload(name, image):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=92)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def _store_measured(session, name, image, user, view, **options):
    from trichotrack.web.photos import services as photo_services

    (photo,) = photo_services.store_photos(
        session, photo_services.check_files([_jpeg_upload(name, image)]), user=user, view=view, **options
    )
    photo_services.run_measurement(photo.pk, photo.measure_request, worker="demo-data")
    return photo


def _pair(patient, baseline, followup, user):
    """A before/after pair as the pair form makes it (registration and verdict)."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from trichotrack.web.photos import services as photo_services
    from trichotrack.web.photos.models import Pair

    result = photo_services.compare_photos(baseline, followup)
    name = ""
    if result.registered_jpeg:
        name = default_storage.save("photos/registered/pair.jpg", ContentFile(result.registered_jpeg))
    return Pair.objects.create(
        patient=patient,
        baseline=baseline,
        followup=followup,
        verdict=result.verdict,
        reasons=list(result.reasons),
        measures=result.measures,
        registration=result.registration,
        registered=name,
        created_by=user,
    )


def _scalp_photos(users, today):
    from trichotrack.synth.scalp import render_head
    from trichotrack.synth.trichoscopy import trichoscopy_image
    from trichotrack.web.photos import services as photo_services
    from trichotrack.web.photos.models import View

    demo = users["demo"]
    side = DEMO_IMAGE_SIDE_PX
    case = Patient.objects.get(user=users["patient"])
    sessions = {}
    for seed, (day, n_units, vellus) in enumerate(CASE_TRICHOSCOPY):
        session = sessions[day] = photo_services.new_session(
            case, user=demo, taken_on=day, hair_state=["washed"]
        )
        site = photo_services.choose_target_site(
            case, label="Frontal, mid-line, 2 cm behind the hairline", x=100.0, y=70.0, user=demo
        )
        image = trichoscopy_image(
            100 + seed,
            shape=(round(side * 0.8), side),
            mm_per_px=TRICHOSCOPY_FIELD_WIDTH_MM / side,
            n_units=n_units,
            vellus_share=vellus,
        ).image
        _store_measured(
            session,
            f"trichoscopy-{day}.jpg",
            image,
            demo,
            View.TRICHOSCOPY,
            target_site=site,
            field_width_mm=TRICHOSCOPY_FIELD_WIDTH_MM,
        )
    vertex = []
    for seed, (day, grade) in enumerate(CASE_GLOBAL):
        session = sessions.get(day) or photo_services.new_session(case, user=demo, taken_on=day)
        top = render_head(200 + seed, view="top", shape=(side, side), ludwig_grade=grade).image
        front = render_head(210 + seed, view="front", shape=(side, side), hairline_depth_fraction=0.3).image
        vertex.append(_store_measured(session, f"vertex-{day}.jpg", top, demo, View.VERTEX))
        _store_measured(session, f"frontal-{day}.jpg", front, demo, View.FRONTAL)
    _pair(case, *vertex, demo)
    # A treated man of the synthetic cohort: vertex and frontal views at baseline and 6 months later.
    man = (
        Patient.objects.filter(sex="M", procedures__isnull=False, code__startswith="TT-")
        .order_by("code")
        .first()
    )
    if man is None:
        return
    treated_on = man.procedures.order_by("harvest_at").first().harvest_at
    treated_on = timezone.localdate(treated_on)
    for seed, (day, stage, depth) in enumerate(
        [(treated_on - dt.timedelta(days=3), 5, 0.22), (treated_on + dt.timedelta(days=180), 4, 0.25)]
    ):
        if day > today:
            continue
        session = photo_services.new_session(man, user=demo, taken_on=day, hair_state=["washed"])
        top = render_head(
            300 + seed, view="top", shape=(side, side), skin="medium", norwood_stage=stage
        ).image
        front = render_head(
            310 + seed, view="front", shape=(side, side), skin="medium", hairline_depth_fraction=depth
        ).image
        _store_measured(session, f"vertex-{day}.jpg", top, demo, View.VERTEX)
        _store_measured(session, f"frontal-{day}.jpg", front, demo, View.FRONTAL)
