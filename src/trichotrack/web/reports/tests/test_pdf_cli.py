"""``trichotrack report patient ID --out FILE.pdf`` and ``trichotrack report cohort --out FILE.pdf``: exit
codes, the one-line messages, the written PDF and its audit event."""

import contextlib
import io
import tempfile
from pathlib import Path

from trichotrack.cli import main
from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.clinics.models import Clinic

from .helpers import EvidenceTestCase
from .test_pdf_reports import pdf_text


class ReportCliTest(EvidenceTestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.addCleanup(self.folder.cleanup)

    def run_cli(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["report", *argv])
        return code, out.getvalue(), err.getvalue()

    def path(self, name="report.pdf") -> Path:
        return Path(self.folder.name) / name

    def test_patient_report_by_code_is_written_and_audited(self):
        self.documented_case()
        code, out, err = self.run_cli(
            "patient", "A-001", "--out", str(self.path()), "--clinic", "Alice's clinic"
        )
        assert (code, err) == (0, "")
        assert "case report of A-001" in out
        text = pdf_text(self.path().read_bytes())
        assert "Case report: Patricia Doe-A-001 (A-001)" in text and "-80.7 to -27.3" in text
        event = AuditEvent.objects.get(action="report.case_generated")
        assert event.actor is None and event.data["via"].startswith("cli")

    def test_patient_by_numeric_id_and_clinic_by_id(self):
        code, _, err = self.run_cli(
            "patient", str(self.patient.pk), "--out", str(self.path()), "--clinic", str(self.clinic.pk)
        )
        assert (code, err) == (0, "")

    def test_cohort_report(self):
        self.documented_case()
        code, out, err = self.run_cli("cohort", "--out", str(self.path()), "--clinic", "alice's CLINIC")
        assert (code, err) == (0, "") and "cohort report of Alice's clinic" in out
        assert "1 treated patient: 1 with a measurement at 24 weeks" in pdf_text(self.path().read_bytes())
        assert AuditEvent.objects.filter(action="report.cohort_generated").count() == 1

    def test_unknown_patient_or_clinic_is_one_line_and_exit_2(self):
        cases = [
            (
                ("patient", "A-999", "--clinic", "Alice's clinic"),
                "no patient 'A-999' in clinic \"Alice's clinic\"",
            ),
            (("patient", "C-001", "--clinic", "Alice's clinic"), "no patient 'C-001'"),  # another clinic's
            (("cohort", "--clinic", "Nowhere"), "no clinic with id or name 'Nowhere'"),
            (("cohort",), "several clinics; choose one with --clinic"),
        ]
        for argv, message in cases:
            code, _, err = self.run_cli(*argv, "--out", str(self.path()))
            assert code == 2, argv
            assert err.count("\n") == 1 and err.startswith("trichotrack: error: ") and message in err, err
            assert not self.path().exists()

    def test_the_only_clinic_needs_no_option(self):
        Clinic.objects.filter(pk=self.other_clinic.pk).update(name="Charlie's clinic")
        self.charlies_patient.delete()
        self.charlie.membership.delete()
        for definition in self.other_clinic.consent_definitions.all():
            definition.delete()
        self.other_clinic.delete()
        code, _, err = self.run_cli("cohort", "--out", str(self.path()))
        assert (code, err) == (0, "")

    def test_out_must_be_a_pdf_and_writable(self):
        code, _, err = self.run_cli("cohort", "--out", str(self.path("report.txt")), "--clinic", "1")
        assert code == 2 and "--out must end in .pdf" in err
        missing = Path(self.folder.name) / "no-such-folder" / "r.pdf"
        code, _, err = self.run_cli("cohort", "--out", str(missing), "--clinic", str(self.clinic.pk))
        assert code == 2 and err.startswith("trichotrack: error: cannot write") and err.count("\n") == 1
