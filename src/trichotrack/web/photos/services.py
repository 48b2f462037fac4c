"""Photo business rules: storing uploads, requesting and running measurements, corrections, pairs."""

import datetime as dt
import logging
import uuid
from functools import partial

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from trichotrack.web import audit
from trichotrack.web.consent.models import ConsentKind
from trichotrack.web.consent.services import consent_problems

from . import analysis
from .models import Correction, Measurement, MeasureStatus, Photo, PhotoSession, View

logger = logging.getLogger(__name__)


class PhotoRefused(ValueError):
    """An upload or an action that is not allowed; the message is for the person."""


def photo_problems(patient) -> list[str]:
    """Why photos of `patient` may not be taken now (clinical-photo consent)."""
    return consent_problems(patient, ConsentKind.PHOTO_CLINICAL)


def check_files(files) -> list[analysis.CheckedUpload]:
    """Read and check every uploaded file before anything is stored; all the refusals at once."""
    if not files:
        raise PhotoRefused("Choose at least one photo.")
    if len(files) > settings.PHOTO_MAX_FILES:
        raise PhotoRefused(f"At most {settings.PHOTO_MAX_FILES} photos at once.")
    checked, errors = [], []
    for f in files:
        if f.size is not None and f.size > settings.PHOTO_MAX_BYTES:
            errors.append(
                f"{f.name}: the file is larger than {settings.PHOTO_MAX_BYTES // (1024 * 1024)} MB."
            )
            continue
        data = f.read(settings.PHOTO_MAX_BYTES + 1)
        try:
            checked.append(
                analysis.check_upload(
                    f.name, data, max_bytes=settings.PHOTO_MAX_BYTES, max_pixels=settings.PHOTO_MAX_PIXELS
                )
            )
        except analysis.UploadRefused as error:
            errors.append(str(error))
    if errors:
        raise PhotoRefused(" ".join(errors))
    return checked


def store_photos(
    session: PhotoSession, uploads, *, user, view, protocol="", days_since_shampoo=None, site=""
):
    """Store checked uploads as photos of `session`: originals unchanged, derived copies without metadata.

    All or nothing: the rows are written in one transaction, and if anything fails the files already put in
    the storage are deleted again. Shed-hair photos are queued for measurement after the commit.
    """
    stored: list[str] = []
    try:
        with transaction.atomic():
            photos = []
            for upload in uploads:
                key = uuid.uuid4().hex
                ext = {"jpeg": "jpg", "png": "png", "heic": "heic"}[upload.format]
                original = default_storage.save(f"photos/originals/{key}.{ext}", ContentFile(upload.data))
                stored.append(original)
                derived = default_storage.save(
                    f"photos/derived/{key}.jpg", ContentFile(analysis.derived_jpeg(upload.image))
                )
                stored.append(derived)
                quality = analysis.quality_measures(upload.image)
                photo = Photo.objects.create(
                    session=session,
                    patient=session.patient,
                    view=view,
                    protocol=protocol if view == View.SHED else "",
                    days_since_shampoo=days_since_shampoo if view == View.SHED else None,
                    site=site if view == View.TRICHOSCOPY else "",
                    original=original,
                    original_sha256=upload.sha256,
                    original_format=upload.format,
                    original_bytes=len(upload.data),
                    derived=derived,
                    width_px=upload.image.shape[1],
                    height_px=upload.image.shape[0],
                    mean_brightness=quality["mean_brightness"],
                    sharpness=quality["sharpness"],
                    uploaded_by=user,
                )
                audit.record(
                    user,
                    "photo.uploaded",
                    photo,
                    data={"sha256": upload.sha256, "format": upload.format, "bytes": len(upload.data)},
                )
                if photo.is_shed:
                    request_measurement(photo)
                photos.append(photo)
            return photos
    except BaseException:
        for name in stored:
            try:
                default_storage.delete(name)
            except Exception:
                logger.exception("could not delete %s after a failed upload", name)
        raise


def request_measurement(photo: Photo, *, enqueue: bool = True) -> int:
    """Give `photo` a new measurement request and enqueue its task after the commit. Returns the number.

    With ``enqueue=False`` the caller runs `run_measurement` itself (``remeasure`` without workers).
    """
    from .tasks import measure_photo

    with transaction.atomic():
        locked = Photo.objects.select_for_update().get(pk=photo.pk)
        locked.measure_request += 1
        locked.measure_status = MeasureStatus.QUEUED
        locked.measure_error = ""
        locked.save(update_fields=["measure_request", "measure_status", "measure_error"])
        photo.measure_request, photo.measure_status = locked.measure_request, locked.measure_status
        if enqueue:
            transaction.on_commit(partial(measure_photo.enqueue, photo.pk, locked.measure_request))
    return photo.measure_request


def run_measurement(photo_id: int, request_no: int, *, worker: str = "") -> str:
    """Measure photo `photo_id` for request `request_no`, once. Returns what happened, in a word.

    Idempotent: the photo row is locked while measuring, and a request that already has its measurement is
    skipped, so two workers (or a task run twice) never measure the same request twice.
    """
    updated = Photo.objects.filter(pk=photo_id, measure_request=request_no).exclude(
        measure_status=MeasureStatus.DONE
    )
    updated.update(measure_status=MeasureStatus.RUNNING)  # shown on the page while the lock is held
    with transaction.atomic():
        photo = Photo.objects.select_for_update().filter(pk=photo_id).first()
        if photo is None:
            return "missing"
        if photo.measurements.filter(request_no=request_no).exists():
            _settle_status(photo)
            return "already measured"
        if request_no > photo.measure_request:
            return "unknown request"
        try:
            with default_storage.open(photo.original.name, "rb") as f:
                data = f.read()
            result = analysis.measure_shed_photo(data)
        except Exception as error:
            photo.measure_status = MeasureStatus.FAILED
            photo.measure_error = f"{type(error).__name__}: {error}"[:500]
            photo.save(update_fields=["measure_status", "measure_error"])
            audit.record(None, "photo.measure_failed", photo, data={"error": photo.measure_error})
            return "failed"
        key = uuid.uuid4().hex
        overlay = default_storage.save(f"photos/overlays/{key}.png", ContentFile(result.overlay_png))
        try:
            measurement = Measurement.objects.create(
                photo=photo, request_no=request_no, overlay=overlay, worker=worker[:100], **result.fields
            )
        except Exception:
            default_storage.delete(overlay)
            raise
        _settle_status(photo)
        audit.record(
            None,
            "photo.measured",
            photo,
            data={
                "measurement": measurement.pk,
                "hair_count": measurement.hair_count,
                "algorithm": measurement.algorithm,
                "version": measurement.version,
            },
        )
    return "measured"


def _settle_status(photo: Photo) -> None:
    latest = photo.measurements.order_by("-request_no").values_list("request_no", flat=True).first()
    status = MeasureStatus.DONE if latest == photo.measure_request else MeasureStatus.QUEUED
    if latest == photo.measure_request or photo.measure_status == MeasureStatus.RUNNING:
        Photo.objects.filter(pk=photo.pk).update(measure_status=status, measure_error="")


def mark_failed(photo_id: int, reason: str) -> None:
    Photo.objects.filter(pk=photo_id).exclude(measure_status=MeasureStatus.DONE).update(
        measure_status=MeasureStatus.FAILED, measure_error=reason[:500]
    )


def correct_count(measurement: Measurement, *, user, removed, added, note="") -> Correction:
    """Record a clinician's correction; the automatic count stays in the measurement. Audited."""
    n = len(measurement.report.get("hairs", []))
    removed = sorted({int(x) for x in removed})
    if any(not 1 <= x <= n for x in removed):
        raise PhotoRefused(f"Hair numbers must be between 1 and {n}.")
    points = []
    for point in added:
        r, c = float(point[0]), float(point[1])
        if not (0 <= r < measurement.analysed_height_px and 0 <= c < measurement.analysed_width_px):
            raise PhotoRefused("An added hair is outside the photo.")
        points.append([round(r, 1), round(c, 1)])
    count = measurement.hair_count - len(removed) + len(points)
    previous = measurement.final_count
    correction = Correction.objects.create(
        measurement=measurement,
        removed=removed,
        added=points,
        corrected_count=max(count, 0),
        note=note[:200],
        by=user,
    )
    audit.record(
        user,
        "photo.count_corrected",
        measurement.photo,
        data={
            "measurement": measurement.pk,
            "automatic": measurement.hair_count,
            "previous": previous,
            "corrected": correction.corrected_count,
            "removed": removed,
            "added": len(points),
        },
    )
    return correction


def shed_series(patient):
    """[(date, final count, protocol, photo)] of the patient's measured shed-hair photos, oldest first."""
    rows = []
    photos = (
        Photo.objects.filter(patient=patient, view=View.SHED)
        .select_related("session")
        .prefetch_related("measurements__corrections")
        .order_by("session__taken_on", "id")
    )
    for photo in photos:
        measurements = sorted(photo.measurements.all(), key=lambda m: -m.request_no)
        if measurements:
            m = measurements[0]
            corrections = sorted(m.corrections.all(), key=lambda c: -c.id)
            count = corrections[0].corrected_count if corrections else m.hair_count
            rows.append((photo.session.taken_on, count, photo.protocol, photo))
    return rows


def pair_facts(baseline: Photo, followup: Photo) -> dict:
    return {
        "baseline_view": baseline.view,
        "followup_view": followup.view,
        "baseline_tags": baseline.session.hair_state,
        "followup_tags": followup.session.hair_state,
        "baseline_date": baseline.session.taken_on,
        "followup_date": followup.session.taken_on,
    }


def compare_photos(baseline: Photo, followup: Photo) -> analysis.PairResult:
    with default_storage.open(baseline.derived.name, "rb") as f:
        base = f.read()
    with default_storage.open(followup.derived.name, "rb") as f:
        follow = f.read()
    return analysis.compare_pair(base, follow, facts=pair_facts(baseline, followup))


def new_session(patient, *, user, taken_on=None, visit=None, hair_state=(), notes="", source="clinic"):
    session = PhotoSession.objects.create(
        patient=patient,
        visit=visit,
        taken_on=taken_on or timezone.localdate(),
        hair_state=list(hair_state),
        notes=notes,
        source=source,
        created_by=user,
    )
    audit.record(user, "photo_session.created", session, data={"hair_state": list(hair_state)})
    return session


def stuck_before(now=None) -> dt.datetime:
    return (now or timezone.now()) - dt.timedelta(minutes=settings.TASK_STUCK_MINUTES)
