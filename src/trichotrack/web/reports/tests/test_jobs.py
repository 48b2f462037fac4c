"""Exports and cohort reports in the background: the job, its progress, who may download it, expiry and
failure."""

import datetime as dt
import io
import zipfile
from unittest import mock

from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from trichotrack.web import commands
from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.clinics.models import Role
from trichotrack.web.reports import exports, jobs, tasks
from trichotrack.web.reports.models import JobStatus, ReportJob
from trichotrack.web.tests.test_crawl import DATE

from .test_exports import ExportFixture
from .test_pdf_reports import pdf_text


class JobFixture(ExportFixture):
    def start(self, user, *, fmt="csv", deidentified=False, kind="export", **extra):
        """POST the reports page's button as `user`; the response (a redirect to the job's page)."""
        self.login(user)
        data = {"kind": kind, "format": fmt, "deidentified": "1" if deidentified else "0", **extra}
        with self.captureOnCommitCallbacks(execute=True):
            return self.client.post(reverse("reports:job_start"), data)

    def job(self) -> ReportJob:
        return ReportJob.objects.latest("id")

    def run_queued(self) -> list[str]:
        """Run the queued jobs here, as the worker would (TestCase: no second process)."""
        outcomes = []
        queued = DBTaskResult.objects.filter(status="READY", task_path__endswith="build_report_job")
        for row in queued.order_by("enqueued_at"):
            outcomes.append(jobs.run_job(*row.args_kwargs["args"]))
            DBTaskResult.objects.filter(pk=row.pk).update(status="SUCCESSFUL")
        return outcomes

    def url(self, name, job):
        return reverse(f"reports:{name}", args=[job.pk])

    def download(self, job) -> bytes:
        """The downloaded file (the streamed response read and closed)."""
        response = self.client.get(self.url("job_download", job))
        assert response.status_code == 200, response.status_code
        return b"".join(response.streaming_content)  # read to the end: the test client then closes it


class BackgroundExportTest(JobFixture):
    def test_clinician_starts_an_export_that_a_worker_makes_and_she_downloads(self):
        response = self.start(self.alice, fmt="spss")
        job = self.job()
        self.assertRedirects(response, self.url("job", job))
        assert job.status == JobStatus.QUEUED and job.task_id
        page = self.client.get(self.url("job", job)).content.decode()
        assert "Waiting for the background worker" in page and 'hx-trigger="every 1s"' in page
        assert not AuditEvent.objects.filter(action="export.created").exists()  # nothing made yet

        assert self.run_queued() == [JobStatus.DONE]
        job.refresh_from_db()
        assert job.status == JobStatus.DONE and job.percent == 100 and job.n_patients == 2
        assert job.expires_at - job.finished_at == jobs.EXPIRY
        status = self.client.get(self.url("job_status", job)).content.decode()
        assert "hx-trigger" not in status  # polling stops once it is ready
        assert self.url("job_download", job) in status and job.filename in status

        response = self.client.get(self.url("job_download", job))
        assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
        assert f'filename="{job.filename}"' in response["Content-Disposition"]
        names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
        assert "measurements.sav" in names and "codebook.md" in names
        self.download(job)
        created = AuditEvent.objects.get(action="export.created")
        assert created.actor == self.alice and created.data["via"] == "web:background"
        downloads = AuditEvent.objects.filter(action="export.downloaded", actor=self.alice)
        assert downloads.count() == 2 and downloads.first().data["sha256"] == job.sha256

    def test_the_task_runs_the_job_with_the_immediate_backend(self):
        immediate = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
        with override_settings(TASKS=immediate):
            self.start(self.alice, fmt="csv")
        job = self.job()
        assert job.status == JobStatus.DONE and job.file
        assert default_storage.exists(job.file.name) and job.file.name.startswith("reports/")

    def test_a_job_runs_once(self):
        self.start(self.alice, fmt="csv")
        job = self.job()
        assert jobs.run_job(job.pk) == JobStatus.DONE
        assert jobs.run_job(job.pk) == JobStatus.DONE  # a duplicate task leaves it alone
        assert AuditEvent.objects.filter(action="export.created").count() == 1
        assert jobs.run_job(10**9) == "missing"

    def test_progress_moves_through_the_steps(self):
        self.start(self.alice, fmt="stata")
        job = self.job()
        seen = []
        original = jobs._Progress.__call__

        def watch(progress, step, fraction):
            original(progress, step, fraction)
            row = ReportJob.objects.get(pk=job.pk)
            seen.append((row.step, row.progress))

        with mock.patch.object(jobs._Progress, "__call__", watch):
            jobs.run_job(job.pk, progress_seconds=0)
        fractions = [f for _, f in seen]
        assert fractions == sorted(fractions) and fractions[0] < 0.05 and fractions[-1] == 0.99
        steps = [s for s, _ in seen]
        assert "measurements (Stata): patient 1 / 2" in steps
        assert "patients (Stata): patient 2 / 2" in steps
        assert "writing Stata patients.dta" in steps and "compressing the ZIP" in steps
        job.refresh_from_db()
        assert (job.status, job.step, job.percent) == (JobStatus.DONE, "ready", 100)

    def test_the_running_page_shows_the_step_and_the_bar(self):
        self.start(self.alice, fmt="csv")
        job = self.job()
        step = "measurements (CSV): patient 4,000 / 10,000"
        ReportJob.objects.filter(pk=job.pk).update(
            status=JobStatus.RUNNING, started_at=timezone.now(), step=step, progress=0.4
        )
        status = self.client.get(self.url("job_status", job)).content.decode()
        assert '<progress max="100" value="40"' in status
        assert "measurements (CSV): patient 4,000 / 10,000" in status and 'hx-trigger="every 1s"' in status

    def test_the_reports_page_lists_my_files_and_starts_jobs_by_post(self):
        self.start(self.alice, fmt="parquet")
        page = self.client.get(reverse("reports:index")).content.decode()
        assert "Identified export, Parquet" in page and reverse("reports:job_start") in page
        self.login(self.bob)
        assert "Identified export, Parquet" not in self.client.get(reverse("reports:index")).content.decode()
        assert self.client.get(reverse("reports:job_start")).status_code == 405


class JobAccessTest(JobFixture):
    def setUp(self):
        super().setUp()
        self.start(self.alice, fmt="csv")
        self.alices_job = self.job()
        jobs.run_job(self.alices_job.pk)
        self.alices_job.refresh_from_db()

    def test_another_user_gets_404_for_every_page_of_the_job(self):
        for user in (self.bob, self.charlie, self.rita):
            self.login(user)
            for name in ("job", "job_status", "job_download"):
                assert self.client.get(self.url(name, self.alices_job)).status_code == 404, (user, name)
            assert self.client.post(self.url("job_retry", self.alices_job)).status_code == 404
        assert not AuditEvent.objects.filter(action="export.downloaded").exists()

    def test_login_is_required(self):
        self.client.logout()
        response = self.client.get(self.url("job_download", self.alices_job))
        assert response.status_code == 302 and "login" in response["Location"]

    def test_a_researcher_gets_deidentified_only(self):
        self.consent_research()
        assert self.start(self.rita, fmt="csv", deidentified=False).status_code == 403
        assert self.start(self.rita, kind="cohort_pdf", deidentified=False).status_code == 403
        response = self.start(self.rita, fmt="csv", deidentified=True)
        job = self.job()
        self.assertRedirects(response, self.url("job", job))
        jobs.run_job(job.pk)
        archive = zipfile.ZipFile(io.BytesIO(self.download(job)))
        patients = archive.read("patients.csv").decode()
        assert "A-001" not in patients and "Patricia" not in patients and "S-" in patients
        # no calendar date in what a researcher sees: the page, the file name, the codebook
        page = self.client.get(self.url("job", job)).content.decode()
        assert not DATE.search(page) and "Download trichotrack-csv-deidentified-job" in page
        assert timezone.localdate().isoformat() not in archive.read("codebook.md").decode()
        job.refresh_from_db()
        assert (job.n_patients, job.n_excluded) == (1, 1)

    def test_a_nurse_may_not_start_an_identified_export(self):
        assert self.start(self.bob, fmt="csv", deidentified=False).status_code == 403
        assert self.start(self.bob, fmt="nonsense", deidentified=True).status_code == 404

    def test_a_user_whose_role_became_researcher_can_no_longer_download_an_identified_file(self):
        self.alice.membership.role = Role.RESEARCHER
        self.alice.membership.save()
        self.login(self.alice)
        assert self.client.get(self.url("job_download", self.alices_job)).status_code == 404

    def test_an_expired_file_is_refused_then_deleted(self):
        name = self.alices_job.file.name
        assert default_storage.exists(name)
        ReportJob.objects.filter(pk=self.alices_job.pk).update(
            expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
        self.login(self.alice)
        assert self.client.get(self.url("job_download", self.alices_job)).status_code == 404
        out = io.StringIO()
        call_command("expire_reports", stdout=out)
        assert out.getvalue().strip() == "1 expired file deleted"
        assert not default_storage.exists(name)
        self.alices_job.refresh_from_db()
        assert self.alices_job.status == JobStatus.EXPIRED and not self.alices_job.file
        assert "Expired and deleted" in self.client.get(self.url("job", self.alices_job)).content.decode()
        assert AuditEvent.objects.filter(action="report_job.expired").count() == 1

    def test_the_worker_deletes_expired_files_before_each_job(self):
        name = self.alices_job.file.name
        later = self.alices_job.expires_at + dt.timedelta(minutes=1)
        assert jobs.expire_jobs(now=later - dt.timedelta(hours=2)) == 0  # not yet
        self.start(self.alice, fmt="csv")
        with mock.patch("django.utils.timezone.now", return_value=later):
            jobs.run_job(self.job().pk)
        assert not default_storage.exists(name)


class JobFailureTest(JobFixture):
    def test_a_failure_is_shown_and_can_be_retried(self):
        self.start(self.alice, fmt="fhir")
        job = self.job()
        with mock.patch.object(exports, "write_export", side_effect=RuntimeError("disk full")):
            assert self.run_queued() == [JobStatus.FAILED]
        job.refresh_from_db()
        assert job.status == JobStatus.FAILED and "disk full" in job.error and not job.file
        page = self.client.get(self.url("job", job)).content.decode()
        assert "The file could not be made: disk full" in page and "Try again" in page
        assert "hx-trigger" not in page
        assert self.client.get(self.url("job_download", job)).status_code == 404
        assert AuditEvent.objects.filter(action="report_job.failed").count() == 1

        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(self.url("job_retry", job))
        self.assertRedirects(response, self.url("job", job))
        job.refresh_from_db()
        assert job.status == JobStatus.QUEUED and job.error == ""
        assert self.run_queued() == [JobStatus.DONE]
        job.refresh_from_db()
        assert job.status == JobStatus.DONE and job.attempts == 2

    def test_a_job_whose_worker_died_is_failed_when_looked_at(self):
        self.start(self.alice, fmt="csv")
        job = self.job()
        DBTaskResult.objects.filter(pk=job.task_id).update(status="FAILED")
        page = self.client.get(self.url("job_status", job)).content.decode()
        assert "The worker stopped while making this file" in page
        assert ReportJob.objects.get(pk=job.pk).status == JobStatus.FAILED

    def test_a_job_running_past_the_limit_is_failed(self):
        self.start(self.alice, fmt="csv")
        job = self.job()
        long_ago = timezone.now() - dt.timedelta(hours=1)
        ReportJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=long_ago)
        job.refresh_from_db()
        assert jobs.check_stopped(job).status == JobStatus.FAILED
        fresh = ReportJob.objects.create(
            clinic=self.clinic, user=self.alice, kind="export", format="csv", deidentified=False,
            status=JobStatus.RUNNING, started_at=timezone.now(),
        )  # fmt: skip
        assert jobs.check_stopped(fresh).status == JobStatus.RUNNING


class CohortJobTest(JobFixture):
    def test_a_researchers_cohort_report_is_made_in_the_background_without_a_date(self):
        self.start(self.rita, kind="cohort_pdf", deidentified=True)
        job = self.job()
        assert job.format == "pdf" and job.deidentified
        assert self.run_queued() == [JobStatus.DONE]
        data = self.download(self.job())
        assert data.startswith(b"%PDF")
        text = pdf_text(data)
        assert "De-identified" in text and "Generated" not in text
        today = timezone.localdate()
        assert today.strftime("%d %b %Y") not in text and today.isoformat() not in text
        assert AuditEvent.objects.filter(action="report.downloaded", actor=self.rita).count() == 1

    def test_an_identified_cohort_report_says_when_it_was_made(self):
        self.start(self.alice, kind="cohort_pdf", deidentified=False, measure="comb_test_count")
        job = self.job()
        assert job.options == {"kind": "comb_test_count"}
        jobs.run_job(job.pk)
        data = self.download(job)
        assert f"Generated {timezone.localdate().strftime('%d %b %Y')}" in pdf_text(data)


def test_the_task_is_on_a_queue_that_serves_worker_reads(settings):
    queues = settings.TASKS["default"].get("QUEUES", ["default"])
    assert tasks.build_report_job.queue_name == tasks.QUEUE and tasks.QUEUE in queues
    args = list(commands.WORKER_ARGS)
    read = args[args.index("--queue-name") + 1]
    assert read == "*" or tasks.QUEUE in read.split(",")


class LateFinishTest(JobFixture):
    def test_a_job_failed_while_running_stays_failed_and_its_late_file_is_deleted(self):
        self.start(self.alice, fmt="csv")
        job = self.job()
        stored = []
        original = jobs._store

        def store_after_the_watchdog(job_, path, filename):
            name = original(job_, path, filename)[0]
            stored.append(name)
            ReportJob.objects.filter(pk=job_.pk).update(status=JobStatus.FAILED, error=jobs.STOPPED_MESSAGE)
            return name, 1, "0" * 64

        with mock.patch.object(jobs, "_store", store_after_the_watchdog):
            assert jobs.run_job(job.pk) == JobStatus.FAILED
        assert stored and not default_storage.exists(stored[0])
        job.refresh_from_db()
        assert job.status == JobStatus.FAILED and not job.file
