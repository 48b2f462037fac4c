from django.conf import settings
from django.db import models
from django.utils import timezone


class JobKind(models.TextChoices):
    EXPORT = "export", "Export (ZIP)"
    COHORT_PDF = "cohort_pdf", "Cohort report (PDF)"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for a worker"
    RUNNING = "running", "Running"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


class ReportJob(models.Model):
    """An export or a cohort report made in the background (`jobs.run_job`), kept privately until it expires.

    Only the user who asked may download the file, while their role still allows it (`jobs.downloadable`);
    the file lives in the default storage under ``reports/``, never under a public URL, and is deleted when
    the job expires (`jobs.expire_jobs`, run by every job and by ``python -m django expire_reports``).
    """

    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="report_jobs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_jobs")
    kind = models.CharField(max_length=12, choices=JobKind.choices)
    format = models.CharField(max_length=10)  # exports.FORMATS, or "pdf"
    deidentified = models.BooleanField()
    options = models.JSONField(default=dict, blank=True)  # {"kind": cohort measure} for a cohort report
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    step = models.CharField(max_length=200, blank=True)  # "measurements (SPSS): patient 4,000 / 10,000"
    progress = models.FloatField(default=0.0)  # 0–1
    attempts = models.PositiveIntegerField(default=0)
    task_id = models.CharField(max_length=64, blank=True)  # the django-tasks result of the latest attempt
    file = models.FileField(max_length=300, blank=True)
    filename = models.CharField(max_length=120, blank=True)  # the download's name
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    n_patients = models.PositiveIntegerField(null=True, blank=True)
    n_excluded = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)  # shown to the user: what went wrong, in plain words
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # the reports page's "your recent exports" (clinic, user, newest first)
            models.Index(fields=["clinic", "user", "-created_at"], name="reports_job_user_recent"),
            # expire_jobs: finished jobs whose time is up
            models.Index(fields=["status", "expires_at"], name="reports_job_expiry"),
        ]

    def __str__(self):
        what = "cohort report" if self.kind == JobKind.COHORT_PDF else f"{self.format} export"
        kind = "de-identified" if self.deidentified else "identified"
        return f"{kind} {what} #{self.pk}"

    @property
    def active(self) -> bool:
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)

    @property
    def percent(self) -> int:
        return 100 if self.status == JobStatus.DONE else round(100 * min(max(self.progress, 0.0), 1.0))

    @property
    def label(self) -> str:
        if self.kind == JobKind.COHORT_PDF:
            return f"Cohort report (PDF{', de-identified' if self.deidentified else ''})"
        names = {"csv": "CSV", "parquet": "Parquet", "spss": "SPSS", "stata": "Stata", "fhir": "FHIR bundle"}
        kind = "De-identified" if self.deidentified else "Identified"
        return f"{kind} export, {names.get(self.format, self.format)}"
