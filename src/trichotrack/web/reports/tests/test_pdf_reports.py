"""The PDF reports: their text (extracted with pypdf) holds the numbers, the disclosure and the caveats; the
downloads' access rules; the audit trail; the publication export's refusals; the command line."""

import base64
import datetime as dt
import io
import time

from django.urls import reverse
from pypdf import PdfReader

from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.photos.models import View
from trichotrack.web.photos.tests import files
from trichotrack.web.reports import pdf
from trichotrack.web.test import make_patient

from .helpers import EvidenceTestCase

START = dt.date(2026, 1, 5)


def pdf_text(data: bytes) -> str:
    """The PDF's text with runs of white space made single spaces (lines break anywhere in a table)."""
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


class CaseReportTest(EvidenceTestCase):
    def test_it_holds_the_numbers_intervals_disclosure_caveats_procedure_and_pairs(self):
        self.documented_case()
        before = self.store_photo(self.patient, START, view=View.FRONTAL)
        after = self.store_photo(self.patient, START + dt.timedelta(days=176), view=View.FRONTAL)
        self.pair(self.patient, before, after, verdict="caution", reasons=["Different hair state"])
        started = time.perf_counter()
        data = pdf.case_report_pdf(self.patient, user=self.alice)
        seconds = time.perf_counter() - started
        text = pdf_text(data)
        assert "Case report: Patricia Doe-A-001 (A-001)" in text
        assert "This treatment is unproven." in text
        assert "no statistical difference between any of its groups at 24 weeks" in text
        assert "No study has examined SVF for telogen effluvium" in text
        for number in (
            "124 hairs",
            "MDC95 = 1.96 · √2 · SEM) 30.9 hairs",
            "-80.7 to -27.3",
            "-54.0 (-43.5 %)",
        ):
            assert number in text, (number, text)
        assert "a decrease larger than the measurement error" in text
        assert "no change beyond measurement error" in text
        assert "Surgery can itself trigger shedding" in text
        assert "regression to the mean" in text
        assert "Compare with caution — Different hair state" in text
        assert "Treatment 1:" in text and "Collagenase" not in text  # the summary, not every field
        assert "PAW P3-B" in text
        assert "No adverse event recorded." in text
        assert seconds < 10  # about 1.5 s on an idle core; the test machine is shared

    def test_it_is_audited_with_its_hash(self):
        import hashlib

        data = pdf.case_report_pdf(self.patient, user=self.alice)
        event = AuditEvent.objects.get(action="report.case_generated")
        assert event.patient == self.patient and event.actor == self.alice
        assert event.data["sha256"] == hashlib.sha256(data).hexdigest()

    def test_a_patient_without_anything_still_gets_a_report_that_says_so(self):
        text = pdf_text(pdf.case_report_pdf(self.patient, user=self.alice))
        assert "No measured photo yet: no numbers to report." in text
        assert "No procedure recorded." in text and "This treatment is unproven." in text


def test_reports_fetch_nothing_but_data_uris(tmp_path):
    image = tmp_path / "secret.png"
    image.write_bytes(files.png(files.asymmetric()))
    embedded = files.png(files.asymmetric()[:, ::-1].copy())
    data_uri = "data:image/png;base64," + base64.b64encode(embedded).decode()
    html = f'<img src="file://{image}"><img src="http://127.0.0.1:9/x.png"><img src="{data_uri}">'
    reader = PdfReader(io.BytesIO(pdf.html_to_pdf(html)))
    assert len(reader.pages[0].images) == 1  # the data: URI only


class CaseDownloadTest(EvidenceTestCase):
    def get(self, user, pk=None):
        if user is not None:
            self.login(user)
        return self.client.get(reverse("reports:case_pdf", args=[pk or self.patient.pk]))

    def test_access(self):
        response = self.get(self.alice)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert "case-report-A-001" in response["Content-Disposition"]
        assert self.get(self.bob).status_code == 200  # a nurse of the clinic
        assert self.get(self.charlie).status_code == 404
        assert self.get(self.alice, pk=self.charlies_patient.pk).status_code == 404
        assert self.get(self.rita).status_code == 403  # researchers: the de-identified cohort report only
        assert self.get(self.pat).status_code == 403
        self.client.logout()
        assert self.get(None).status_code == 302


class CohortReportTest(EvidenceTestCase):
    def setUp(self):
        self.documented_case()
        lost = make_patient(self.clinic, "A-002", given_name="Lola")
        self.shed(lost, START, 100)
        self.shed(lost, START + dt.timedelta(days=7), 110)
        self.treat(lost, START + dt.timedelta(days=8))

    def get(self, user, **params):
        if user is not None:
            self.login(user)
        return self.client.get(reverse("reports:cohort_pdf"), params)

    def test_the_report_counts_the_lost_patient_and_states_the_intervals(self):
        response = self.get(self.alice)
        assert response.status_code == 200
        text = pdf_text(response.content)
        assert "2 treated patients: 1 with a measurement at 24 weeks, 1 lost to follow-up" in text
        assert "Treated patients without a change at the endpoint (kept in the counts): A-002" in text
        assert "Counting those lost as unchanged: -27.0 hairs" in text  # (-54 + 0) / 2
        assert "This treatment is unproven." in text
        assert "No untreated comparison group" in text
        assert "Patricia" not in text and "Lola" not in text
        event = AuditEvent.objects.get(action="report.cohort_generated")
        assert event.data["patients"] == 2 and event.data["deidentified"] is False

    def test_researchers_get_it_de_identified_listing_only_research_consented_patients(self):
        from trichotrack.web.consent.models import ConsentKind
        from trichotrack.web.consent.services import give_consent
        from trichotrack.web.patients.models import Patient
        from trichotrack.web.reports.services import subject_id

        definition = self.definitions[ConsentKind.RESEARCH]
        codes = [c for c, _ in definition.elements]
        give_consent(self.patient, definition, user=self.alice, signed_name="x", acknowledged=codes)
        lost = Patient.objects.get(code="A-002")
        response = self.get(self.rita)
        assert response.status_code == 200 and "deidentified" in response["Content-Disposition"]
        text = pdf_text(response.content)
        assert subject_id(self.patient) in text and "A-001" not in text and "A-002" not in text
        assert subject_id(lost) not in text  # no research consent: counted, not listed
        assert "2 treated patients: 1 with a measurement at 24 weeks, 1 lost to follow-up" in text
        assert "1 patient without a valid research consent is counted in every number above" in text
        assert AuditEvent.objects.get(action="report.cohort_generated").data["deidentified"] is True

    def test_access(self):
        assert self.get(self.bob).status_code == 200
        assert self.get(self.pat).status_code == 403
        charlie = self.get(self.charlie)
        assert charlie.status_code == 200 and "A-001" not in pdf_text(charlie.content)
        self.client.logout()
        assert self.get(None).status_code == 302
