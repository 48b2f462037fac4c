"""Downloading exports from the reports page: who may download which export, and what the ZIP holds."""

import io
import zipfile

from django.urls import reverse

from trichotrack.web.audit.models import AuditEvent

from .test_exports import ExportFixture


class ExportDownloadTest(ExportFixture):
    def get(self, user, fmt="csv", kind="deidentified"):
        if user is not None:
            self.login(user)
        return self.client.get(reverse("reports:export", args=[fmt, kind]))

    def archive(self, response):
        return zipfile.ZipFile(io.BytesIO(response.content))

    def test_clinician_downloads_an_identified_zip_of_every_table_and_the_codebook(self):
        response = self.get(self.alice, "spss", "identified")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/zip"
        assert "trichotrack-spss-identified-" in response["Content-Disposition"]
        names = sorted(self.archive(response).namelist())
        assert names == sorted(
            [
                "patients.sav",
                "measurements.sav",
                "procedures.sav",
                "adverse_events.sav",
                "codebook.csv",
                "codebook.md",
            ]
        )
        assert response["X-Exported-Patients"] == "2"

    def test_researcher_gets_deidentified_only(self):
        self.consent_research()
        response = self.get(self.rita, "csv", "deidentified")
        assert response.status_code == 200
        patients = self.archive(response).read("patients.csv").decode()
        assert "A-001" not in patients and "Patricia" not in patients
        assert response["X-Exported-Patients"] == "1" and response["X-Excluded-Patients"] == "1"
        assert self.get(None, "csv", "identified").status_code == 403

    def test_nurse_may_not_download_identified(self):
        assert self.get(self.bob, "parquet", "identified").status_code == 403
        assert self.get(None, "parquet", "deidentified").status_code == 200

    def test_patient_is_refused_and_anonymous_sent_to_login(self):
        assert self.get(self.pat).status_code == 403
        assert self.get(self.pat, kind="identified").status_code == 403
        self.client.logout()
        response = self.client.get(reverse("reports:export", args=["csv", "identified"]))
        assert response.status_code == 302 and "login" in response["Location"]
        assert not AuditEvent.objects.filter(action="export.created").exists()

    def test_another_clinics_clinician_exports_only_his_own_clinic(self):
        response = self.get(self.charlie, "csv", "identified")
        assert response.status_code == 200
        patients = self.archive(response).read("patients.csv").decode()
        assert "C-001" in patients and "A-001" not in patients and "Patricia" not in patients

    def test_an_unknown_format_or_kind_is_404(self):
        assert self.get(self.alice, "xlsx").status_code == 404
        assert self.get(None, "csv", "everything").status_code == 404

    def test_a_download_is_audited(self):
        self.get(self.alice, "fhir", "identified")
        event = AuditEvent.objects.get(action="export.created")
        assert (event.actor, event.data["format"], event.data["kind"], event.data["patients"]) == (
            self.alice,
            "fhir",
            "identified",
            2,
        )
        assert AuditEvent.objects.filter(action="patient.exported", actor=self.alice).count() == 2

    def test_the_reports_page_offers_identified_exports_to_clinicians_only(self):
        # the buttons start background jobs (reports:job_start); the hidden field says which kind
        export = '<input type="hidden" name="kind" value="export">'
        identified = export + '<input type="hidden" name="deidentified" value="0">'
        deidentified = identified.replace('value="0"', 'value="1"')
        self.login(self.alice)
        page = self.client.get(reverse("reports:index")).content.decode()
        assert identified in page and deidentified in page and 'value="stata"' in page
        self.login(self.rita)
        page = self.client.get(reverse("reports:index")).content.decode()
        assert identified not in page and deidentified in page
