import csv
import io

from django.urls import reverse

from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.consent.models import ConsentKind
from trichotrack.web.consent.services import give_consent, withdraw_consent
from trichotrack.web.reports.services import subject_id
from trichotrack.web.test import BaseTestCase, make_patient


class ResearchExportTest(BaseTestCase):
    def consent_research(self, patient):
        definition = self.definitions[ConsentKind.RESEARCH]
        codes = [c for c, _ in definition.elements]
        return give_consent(patient, definition, user=self.alice, signed_name="x", acknowledged=codes)

    def export(self, user=None):
        self.login(user or self.rita)
        response = self.client.get(reverse("reports:research_export"))
        assert response.status_code == 200
        return list(csv.DictReader(io.StringIO(response.content.decode()))), response

    def test_it_exports_only_research_consented_patients(self):
        self.make_procedure()
        other = make_patient(self.clinic, "A-002")
        self.make_procedure(patient=other)
        self.consent_research(other)
        rows, response = self.export()
        assert [r["subject"] for r in rows] == [subject_id(other)]
        assert response["X-Excluded-Patients"] == "1"

    def test_a_withdrawn_research_consent_removes_the_patient(self):
        self.make_procedure()
        consent = self.consent_research(self.patient)
        assert len(self.export()[0]) == 1
        withdraw_consent(consent, user=self.bob, reason="No longer")
        assert self.export()[0] == []

    def test_rows_hold_no_identifiers_and_relative_days(self):
        self.make_procedure()
        self.make_procedure()
        self.consent_research(self.patient)
        rows, response = self.export()
        text = response.content.decode()
        for identifier in ("A-001", "Patricia", self.patient.family_name, "1975"):
            assert identifier not in text
        assert [(r["treatment"], r["day"]) for r in rows] == [("1", "0"), ("2", "0")]
        assert rows[0]["paw"] == "P3-B"
        assert rows[0]["age_at_treatment"] == str(
            self.patient.age_on(self.patient.procedures.first().harvest_at.date())
        )

    def test_every_export_is_audited_per_patient(self):
        self.make_procedure()
        self.consent_research(self.patient)
        self.export()
        assert AuditEvent.objects.filter(
            action="patient.exported", patient=self.patient, actor=self.rita
        ).exists()
        event = AuditEvent.objects.get(action="export.research")
        assert event.data == {"rows": 1, "excluded_patients": 0}

    def test_another_clinic_exports_only_its_own(self):
        self.make_procedure()
        self.consent_research(self.patient)
        assert self.export(self.charlie)[0] == []

    def test_subject_ids_are_stable_and_distinct(self):
        other = make_patient(self.clinic, "A-002")
        assert subject_id(self.patient) == subject_id(self.patient)
        assert subject_id(self.patient) != subject_id(other)
