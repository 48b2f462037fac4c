"""Shared test fixtures: Alice (clinician, owns a clinic), Bob (her teammate, a nurse), Charlie (clinician of
another clinic), Pat (a patient with a login) and Rita (a researcher of Alice's clinic)."""

import datetime as dt
import tempfile

from django.contrib.auth import get_user_model
from django.test import TestCase, override_settings
from django.utils import timezone

from trichotrack.web.clinics.models import Clinic, Membership, Role
from trichotrack.web.consent.models import ConsentKind
from trichotrack.web.consent.services import create_default_definitions, give_consent
from trichotrack.web.patients.models import LabResult, Patient

PASSWORD = "correct horse battery staple"


def make_user(username, clinic, role):
    user = get_user_model().objects.create_user(username, f"{username}@example.org", PASSWORD)
    Membership.objects.create(user=user, clinic=clinic, role=role)
    return user


def make_patient(clinic, code, **kwargs):
    defaults = {
        "given_name": "Jane",
        "family_name": f"Doe-{code}",
        "date_of_birth": dt.date(1975, 3, 14),
        "sex": "F",
    }
    return Patient.objects.create(clinic=clinic, code=code, **(defaults | kwargs))


def login_verified(client, user):
    """Sign in as `user`, with the second factor already given for staff (as after the TOTP step)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    membership = getattr(user, "membership", None)
    if membership is not None and membership.is_staff_role:
        device, _ = TOTPDevice.objects.get_or_create(user=user, confirmed=True, defaults={"name": "test"})
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()


class BaseTestCase(TestCase):
    @classmethod
    def setUpClass(cls):
        # Uploaded and generated files (consent PDFs) go to a folder that is removed after the class.
        cls._media_dir = tempfile.TemporaryDirectory()
        cls._media_override = override_settings(MEDIA_ROOT=cls._media_dir.name)
        cls._media_override.enable()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls._media_override.disable()
        cls._media_dir.cleanup()

    @classmethod
    def setUpTestData(cls):
        cls.clinic = Clinic.objects.create(name="Alice's clinic", country="US", region="CA")
        cls.other_clinic = Clinic.objects.create(name="Charlie's clinic", country="US", region="TX")
        cls.alice = make_user("alice", cls.clinic, Role.CLINICIAN)
        cls.bob = make_user("bob", cls.clinic, Role.NURSE)
        cls.charlie = make_user("charlie", cls.other_clinic, Role.CLINICIAN)
        cls.rita = make_user("rita", cls.clinic, Role.RESEARCHER)
        cls.pat = make_user("pat", cls.clinic, Role.PATIENT)
        since = dt.date(2015, 1, 1)
        cls.definitions = {d.kind: d for d in create_default_definitions(cls.clinic, valid_from=since)}
        create_default_definitions(cls.other_clinic, valid_from=since)
        cls.patient = make_patient(cls.clinic, "A-001", user=cls.pat, given_name="Patricia")
        cls.charlies_patient = make_patient(cls.other_clinic, "C-001")
        LabResult.objects.create(
            patient=cls.patient,
            taken_on=timezone.localdate(),
            platelets_10e3_per_ul=250,
            haemoglobin_g_dl=13.2,
        )

    def login(self, user):
        login_verified(self.client, user)

    def give_treatment_consent(self, patient=None, *, given_at=None):
        patient = patient or self.patient
        definition = self.definitions[ConsentKind.TREATMENT]
        return give_consent(
            patient,
            definition,
            user=self.alice,
            signed_name=patient.full_name,
            acknowledged=[code for code, _ in definition.elements],
            given_at=given_at or timezone.now() - dt.timedelta(days=1),
        )

    def clear_screen(self, patient=None, **answers):
        """A screen for today with its flags acknowledged by Alice."""
        from trichotrack.web.patients import services
        from trichotrack.web.patients.models import ContraindicationScreen

        patient = patient or self.patient
        screen = ContraindicationScreen(
            patient=patient, planned_on=timezone.localdate(), height_cm=168, weight_kg=64, **answers
        )
        services.save_screen(screen, user=self.alice)
        for flag in screen.flags.all():
            services.acknowledge_flag(flag, user=self.alice, note="Accepted")
        return screen

    def make_procedure(self, patient=None, **fields):
        """A consented, screened, saved procedure (through the service, like the form)."""
        from trichotrack.web.procedures.forms import ProcedureForm
        from trichotrack.web.procedures.services import create_procedure

        patient = patient or self.patient
        if not patient.consents.exists():
            self.give_treatment_consent(patient)
        if not patient.screens.exists():
            self.clear_screen(patient)
        form = ProcedureForm(data=procedure_post_data())
        assert form.is_valid(), form.errors
        procedure = form.save(commit=False)
        procedure.patient = patient
        for name, value in fields.items():
            setattr(procedure, name, value)
        return create_procedure(procedure, user=self.alice)


def procedure_post_data(**overrides):
    """A complete, valid procedure form submission (times relative to now)."""
    now = timezone.localtime()
    fmt = "%Y-%m-%dT%H:%M"
    data = {
        "indication": "Hair loss (hair growth)",
        "jurisdiction": "US, California",
        "pathway": "ethics_study",
        "pathway_reference": "",
        "ethics_approval": "IRB-2026-001",
        "harvest_at": (now - dt.timedelta(hours=5)).strftime(fmt),
        "donor_site": "Abdomen",
        "technique": "Tumescent liposuction",
        "tumescent_recipe": "Klein",
        "lidocaine_total_mg": "1000",
        "patient_weight_kg": "65",
        "anaesthesia": "Local",
        "lipoaspirate_ml": "100",
        "lipoaspirate_g": "92",
        "svf_method": "enzymatic",
        "enzyme": "Collagenase NB6",
        "enzyme_lot": "L123",
        "centrifuge_g": "400",
        "centrifuge_min": "10",
        "processing_started_at": (now - dt.timedelta(hours=4)).strftime(fmt),
        "processing_stopped_at": (now - dt.timedelta(hours=3)).strftime(fmt),
        "nucleated_cells": "40000000",
        "viability_pct": "85",
        "cd45_pct": "30",
        "cd34_pct": "25",
        "blood_ml": "60",
        "spin1_g": "200",
        "spin1_min": "10",
        "prp_ml": "6",
        "baseline_platelets": "250",
        "baseline_wbc": "6",
        "prp_platelets": "1200",
        "prp_wbc": "1",
        "prp_rbc": "0.05",
        "activation": "none",
        "mixture_prp_ml": "6",
        "mixture_ml": "8",
        "regions": ["frontal", "vertex"],
        "area_cm2": "400",
        "depth": "subcutaneous",
        "needle": "30G",
        "injection_points": "160",
        "volume_per_point_ml": "0.05",
        "injected_at": (now - dt.timedelta(hours=1)).strftime(fmt),
    }
    return data | overrides
