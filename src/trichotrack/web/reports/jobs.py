"""Exports and cohort reports made in the background, with their progress, kept privately for a day.

A big clinic's export takes 20–40 s (bench/results/exports.md): too long for a web request behind a proxy.
`start_job` records a `ReportJob` and queues `tasks.build_report_job` after the commit (the ``default``
queue, which the worker of `trichotrack serve` reads, like every queue); the worker calls `run_job`, which
writes the files with a progress callback (the page polls `ReportJob.step` and `progress`), stores the ZIP or
PDF in the default storage under ``reports/`` (never served from a URL) and sets its expiry.

Who may download: only the user who asked, in the clinic they asked in, while their role still allows it
(researchers: de-identified only; identified exports: clinicians and administrators). Each download is in the
audit trail (``export.downloaded`` / ``report.downloaded``), besides the ``export.created`` and
``report.cohort_generated`` events written when the file was made.
"""

import datetime as dt
import hashlib
import logging
import secrets
import tempfile
import time
import zipfile
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from trichotrack.web import audit
from trichotrack.web.clinics.models import CLINICIAN_ROLES, READ_ROLES, Role

from .models import JobKind, JobStatus, ReportJob

logger = logging.getLogger(__name__)

#: A finished file is kept this long, then deleted (`expire_jobs`).
EXPIRY = dt.timedelta(hours=24)
#: The job row's progress is written at most this often (each write is one UPDATE).
PROGRESS_SECONDS = 0.5
FAILED_MESSAGE = "The file could not be made: {error}. Try again; if it fails again, tell the administrator."
STOPPED_MESSAGE = (
    "The worker stopped while making this file (it was restarted or ran out of time). Try again."
)


def refusal(membership, *, kind: str, deidentified: bool) -> str | None:
    """Why `membership` may not have this file, or None when it may."""
    if membership is None or membership.role not in READ_ROLES:
        return "Your role does not give access to reports."
    if deidentified:
        return None
    if membership.role == Role.RESEARCHER:
        return "Researchers get de-identified files only."
    if kind == JobKind.EXPORT and membership.role not in CLINICIAN_ROLES:
        return "Identified exports are for clinicians and administrators."
    return None


def start_job(membership, user, *, kind: str, fmt: str, deidentified: bool, options=None) -> ReportJob:
    """Record the job and queue it after the commit; raises PermissionDenied or ValueError."""
    from . import exports

    if kind == JobKind.EXPORT and fmt not in exports.FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if kind == JobKind.COHORT_PDF and fmt != "pdf":
        raise ValueError(f"a cohort report is a PDF, not {fmt!r}")
    if kind not in JobKind.values:
        raise ValueError(f"unknown job kind {kind!r}")
    reason = refusal(membership, kind=kind, deidentified=deidentified)
    if reason:
        raise PermissionDenied(reason)
    with transaction.atomic():
        job = ReportJob.objects.create(
            clinic=membership.clinic,
            user=user,
            kind=kind,
            format=fmt,
            deidentified=deidentified,
            options=options or {},
        )
        audit.record(user, "report_job.requested", job, data=_describe(job))
        transaction.on_commit(partial(enqueue, job.pk))
    return job


def retry_job(job: ReportJob, user) -> ReportJob:
    """Queue a failed job again (the same request, a new attempt)."""
    with transaction.atomic():
        locked = ReportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != JobStatus.FAILED:
            return locked
        locked.status, locked.progress, locked.step, locked.error = JobStatus.QUEUED, 0.0, "", ""
        locked.started_at = locked.finished_at = None
        locked.save(update_fields=["status", "progress", "step", "error", "started_at", "finished_at"])
        audit.record(user, "report_job.retried", locked, data=_describe(locked))
        transaction.on_commit(partial(enqueue, locked.pk))
    return locked


def enqueue(job_pk: int) -> None:
    from .tasks import build_report_job

    result = build_report_job.enqueue(job_pk)
    ReportJob.objects.filter(pk=job_pk).update(task_id=str(result.id)[:64])


def _describe(job: ReportJob) -> dict:
    return {"job": job.pk, "kind": job.kind, "format": job.format, "deidentified": job.deidentified}


class _Progress:
    """The callback `exports.write_export` calls: writes the step and fraction to the job row, throttled."""

    def __init__(self, job_pk: int, *, seconds: float = PROGRESS_SECONDS):
        self.job_pk, self.seconds, self.last = job_pk, seconds, 0.0

    def __call__(self, step: str, fraction: float) -> None:
        now = time.monotonic()
        if now - self.last < self.seconds and fraction < 1.0:
            return
        self.last = now
        fraction = min(max(float(fraction), 0.0), 0.99)  # 100 % only once the file is stored
        ReportJob.objects.filter(pk=self.job_pk, status=JobStatus.RUNNING).update(
            step=step[:200], progress=fraction
        )


def run_job(job_pk: int, *, progress_seconds: float = PROGRESS_SECONDS) -> str:
    """Make the job's file (the task's body); returns the job's status. Idempotent: a job that is not
    queued (already made, running elsewhere, failed) is left as it is."""
    expire_jobs()
    with transaction.atomic():
        job = ReportJob.objects.select_for_update().select_related("clinic", "user").filter(pk=job_pk).first()
        if job is None:
            return "missing"
        if job.status != JobStatus.QUEUED:
            return job.status
        job.status, job.started_at, job.attempts = JobStatus.RUNNING, timezone.now(), job.attempts + 1
        job.step, job.progress = "starting", 0.0
        job.save(update_fields=["status", "started_at", "attempts", "step", "progress"])
    progress = _Progress(job.pk, seconds=progress_seconds)
    try:
        with tempfile.TemporaryDirectory(prefix="trichotrack-job-") as folder:
            path, filename, counts = _make_file(job, Path(folder), progress)
            progress("storing the file", 0.99)
            name, size, sha256 = _store(job, path, filename)
    except Exception as error:  # any failure becomes a message on the job's page and a retry button
        logger.exception("report job %s failed", job.pk)
        text = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        ReportJob.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED, finished_at=timezone.now(), error=FAILED_MESSAGE.format(error=text)
        )
        audit.record(None, "report_job.failed", job, data=_describe(job) | {"error": text})
        return JobStatus.FAILED
    finished = timezone.now()
    # Only a job still RUNNING becomes DONE: one failed meanwhile (`check_stopped`: it ran past the limit)
    # stays failed, and its late file is deleted.
    done = ReportJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        status=JobStatus.DONE,
        step="ready",
        progress=1.0,
        file=name,
        filename=filename,
        size_bytes=size,
        sha256=sha256,
        finished_at=finished,
        expires_at=finished + EXPIRY,
        **counts,
    )
    if not done:
        storages["default"].delete(name)
        return ReportJob.objects.get(pk=job.pk).status
    return JobStatus.DONE


def _make_file(job: ReportJob, folder: Path, progress) -> tuple[Path, str, dict]:
    """(path of the file made, its download name, counts for the job row)."""
    from . import exports, pdf

    # a de-identified file's name carries no calendar date (the job's number instead)
    stamp = f"job{job.pk}" if job.deidentified else timezone.localdate().isoformat()
    kind = "deidentified" if job.deidentified else "identified"
    if job.kind == JobKind.COHORT_PDF:
        data = pdf.cohort_report_pdf(
            job.clinic,
            user=job.user,
            kind=job.options.get("kind"),
            deidentified=job.deidentified,
            via="web:background",
            progress=progress,
        )
        path = folder / "cohort.pdf"
        path.write_bytes(data)
        suffix = "-deidentified" if job.deidentified else ""
        return path, f"trichotrack-cohort{suffix}-{stamp}.pdf", {}
    result = exports.write_export(
        job.clinic,
        job.format,
        folder / "files",
        deidentified=job.deidentified,
        user=job.user,
        via="web:background",
        progress=lambda step, fraction: progress(step, 0.95 * fraction),  # then the ZIP
    )
    progress("compressing the ZIP", 0.97)
    archive = folder / "export.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for path in result.files:
            zipped.write(path, arcname=path.name)
    counts = {"n_patients": result.n_patients, "n_excluded": result.n_excluded}
    return archive, f"trichotrack-{job.format}-{kind}-{stamp}.zip", counts


def _store(job: ReportJob, path: Path, filename: str) -> tuple[str, int, str]:
    """Save the file privately (default storage, a random folder per job); (name, bytes, SHA-256)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
        handle.seek(0)
        name = storages["default"].save(f"reports/{job.pk}-{secrets.token_hex(8)}/{filename}", File(handle))
    return name, path.stat().st_size, digest.hexdigest()


def check_stopped(job: ReportJob, now=None) -> ReportJob:
    """Mark a job failed when its worker is gone: its task failed (the watchdog fails tasks of a killed
    worker) or it has been running longer than a task may (TASK_STUCK_MINUTES). Returns the job, fresh."""
    if not job.active:
        return job
    now = now or timezone.now()
    limit = dt.timedelta(minutes=getattr(settings, "TASK_STUCK_MINUTES", 15))
    stopped = job.status == JobStatus.RUNNING and job.started_at and now - job.started_at > limit
    if not stopped and job.task_id:
        stopped = _task_failed(job.task_id)
    if stopped:
        ReportJob.objects.filter(pk=job.pk, status=job.status).update(
            status=JobStatus.FAILED, finished_at=now, error=STOPPED_MESSAGE
        )
        job.refresh_from_db()
    return job


def _task_failed(task_id: str) -> bool:
    try:
        from django_tasks_db.models import DBTaskResult

        return DBTaskResult.objects.filter(pk=task_id, status="FAILED").exists()
    except (ImportError, ValueError, LookupError):  # another backend, or an id that is not the DB's
        return False


def downloadable(job: ReportJob, request, now=None) -> bool:
    """The job's file exists, is not expired, and `request`'s user asked for it and may still have it."""
    now = now or timezone.now()
    return (
        job.user_id == request.user.pk
        and request.membership is not None
        and job.clinic_id == request.membership.clinic_id
        and job.status == JobStatus.DONE
        and bool(job.file)
        and job.expires_at is not None
        and job.expires_at > now
        and refusal(request.membership, kind=job.kind, deidentified=job.deidentified) is None
    )


def record_download(job: ReportJob, user) -> None:
    action = "export.downloaded" if job.kind == JobKind.EXPORT else "report.downloaded"
    data = _describe(job) | {"sha256": job.sha256, "bytes": job.size_bytes, "patients": job.n_patients}
    audit.record(user, action, job, data=data)


def expire_jobs(now=None) -> int:
    """Delete the files of jobs past their expiry and mark them expired; returns how many."""
    now = now or timezone.now()
    storage = storages["default"]
    expired = 0
    for job in ReportJob.objects.filter(status=JobStatus.DONE, expires_at__lte=now):
        if job.file:
            try:
                storage.delete(job.file.name)
            except OSError:
                logger.warning("could not delete expired report file %s", job.file.name)
                continue
        done = ReportJob.objects.filter(pk=job.pk, status=JobStatus.DONE)
        if done.update(status=JobStatus.EXPIRED, file=""):
            audit.record(None, "report_job.expired", job, data=_describe(job))
            expired += 1
    return expired
