"""Photo business rules: storing uploads, requesting and running measurements, corrections, pairs."""

import datetime as dt
import hashlib
import logging
import uuid
from functools import partial

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from trichotrack.evidence.intervals import Z95, mdc95
from trichotrack.web import audit
from trichotrack.web.consent.models import ConsentKind
from trichotrack.web.consent.services import consent_problems

from . import analysis
from .models import (
    CORE_VIEWS,
    GLOBAL_VIEWS,
    SCALP_FRACTION_SD,
    SCALP_FRACTION_SD_BY_VIEW,
    Correction,
    Measurement,
    MeasurementKind,
    MeasureStatus,
    Photo,
    PhotoSession,
    StageEstimate,
    TargetSite,
    View,
    on_diagram_scalp,
)

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
    session: PhotoSession,
    uploads,
    *,
    user,
    view,
    protocol="",
    days_since_shampoo=None,
    site="",
    target_site: TargetSite | None = None,
    mm_per_px: float | None = None,
    field_width_mm: float | None = None,
):
    """Store checked uploads as photos of `session`: originals unchanged, derived copies without metadata.

    All or nothing: the rows are written in one transaction, and if anything fails the files already put in
    the storage are deleted again. Every photo is queued for measurement after the commit (shed hairs,
    trichoscopy and global views each by their own core). `target_site` and `site` (its label) belong to
    trichoscopy photos; `mm_per_px` is the scale the clinic gives, if known, or `field_width_mm` the width
    of a trichoscopy image on the scalp (the device's field of view), which gives each image its scale.
    """
    if view == View.TRICHOSCOPY and target_site is not None and not site:
        site = target_site.label
    stored: list[str] = []
    try:
        with transaction.atomic():
            photos = []
            for upload in uploads:
                key = uuid.uuid4().hex
                ext = {"jpeg": "jpg", "png": "png", "heic": "heic"}[upload.format]
                original = default_storage.save(f"photos/originals/{key}.{ext}", ContentFile(upload.data))
                stored.append(original)
                derived_bytes = analysis.derived_copy(upload)
                derived = default_storage.save(f"photos/derived/{key}.jpg", ContentFile(derived_bytes))
                stored.append(derived)
                quality = analysis.quality_measures(upload.image)
                photo = Photo.objects.create(
                    session=session,
                    patient=session.patient,
                    view=view,
                    protocol=protocol if view == View.SHED else "",
                    days_since_shampoo=days_since_shampoo if view == View.SHED else None,
                    site=site if view == View.TRICHOSCOPY else "",
                    target_site=target_site if view == View.TRICHOSCOPY else None,
                    mm_per_px=_scale(view, upload.image.shape[1], mm_per_px, field_width_mm),
                    original=original,
                    original_sha256=upload.sha256,
                    original_format=upload.format,
                    original_bytes=len(upload.data),
                    derived=derived,
                    derived_sha256=hashlib.sha256(derived_bytes).hexdigest(),
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


def _scale(view, width_px: int, mm_per_px, field_width_mm) -> float | None:
    if view == View.TRICHOSCOPY and field_width_mm:
        return float(field_width_mm) / width_px
    return mm_per_px


def last_field_width_mm(patient) -> float | None:
    """The field width of the patient's last scaled trichoscopy image: pre-filled at the next visit."""
    photo = (
        Photo.objects.filter(patient=patient, view=View.TRICHOSCOPY, mm_per_px__isnull=False)
        .order_by("-session__taken_on", "-id")
        .first()
    )
    return None if photo is None else photo.mm_per_px * photo.width_px


def request_measurement(photo: Photo, *, enqueue: bool = True, priority: int | None = None) -> int:
    """Give `photo` a new measurement request and enqueue its task after the commit. Returns the number.

    With ``enqueue=False`` the caller runs `run_measurement` itself (``remeasure`` without workers).
    `priority`: the task's, instead of `tasks.UPLOAD_PRIORITY` (``remeasure --enqueue`` queues below).
    """
    from .tasks import measure_photo

    if priority is not None:
        measure_photo = measure_photo.using(priority=priority)

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


def remeasure_shed_photos(patient) -> tuple[int, int]:
    """Measure the patient's shed-hair photos again (their hair colour changed), except those whose count a
    clinician corrected by hand: a new measurement would set the correction aside. Returns (queued, kept)."""
    queued = kept = 0
    for photo in Photo.objects.filter(patient=patient, view=View.SHED).order_by("pk"):
        current = photo.current_measurement()
        if current is not None and current.corrections.exists():
            kept += 1
            continue
        request_measurement(photo)
        queued += 1
    return queued, kept


def run_measurement(photo_id: int, request_no: int, *, worker: str = "") -> str:
    """Measure photo `photo_id` for request `request_no`, once. Returns what happened, in a word.

    Idempotent: the photo row is locked while measuring, and a request that already has its measurement is
    skipped, so two workers (or a task run twice) never measure the same request twice.

    The numbers come first: the measurement row is committed (and the photo is DONE, its numbers on the
    page) as soon as the core returns; the overlay is drawn, encoded and stored afterwards (`store_overlay`,
    about a second for a 12-MP shed-hair photo), and the page shows "overlay being drawn" meanwhile.
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
            result = measure_data(photo, data)
        except Exception as error:
            photo.measure_status = MeasureStatus.FAILED
            photo.measure_error = f"{type(error).__name__}: {error}"[:500]
            photo.save(update_fields=["measure_status", "measure_error"])
            audit.record(None, "photo.measure_failed", photo, data={"error": photo.measure_error})
            return "failed"
        measurement = Measurement.objects.create(
            photo=photo, request_no=request_no, worker=worker[:100], **result.fields
        )
        _settle_status(photo)
        audit.record(
            None,
            "photo.measured",
            photo,
            data={
                "measurement": measurement.pk,
                "kind": measurement.kind,
                "hair_count": measurement.hair_count,
                "scalp_visible_fraction": measurement.scalp_visible_fraction,
                "algorithm": measurement.algorithm,
                "version": measurement.version,
            },
        )
        if photo.is_global:
            update_stage(photo.session_id)
    store_overlay(measurement, result)
    return "measured"


def store_overlay(measurement: Measurement, result: analysis.PhotoMeasurement) -> bool:
    """Draw, encode and store the overlay of a measurement already stored; False when that failed.

    All or nothing: the file is attached to the measurement, or deleted again; a failure is written on the
    measurement (`overlay_error`, shown on the page) and in the audit trail, and the numbers stay.
    """
    name = ""
    try:
        content = result.overlay_bytes()
        name = default_storage.save(
            f"photos/overlays/{uuid.uuid4().hex}.{result.overlay_ext}", ContentFile(content)
        )
        attached = Measurement.objects.filter(pk=measurement.pk, overlay="").update(overlay=name)
        if not attached:
            raise RuntimeError("the measurement already has an overlay, or no longer exists")
    except Exception as error:
        logger.exception("overlay of measurement %s not stored", measurement.pk)
        if name:
            try:
                default_storage.delete(name)
            except Exception:
                logger.exception("could not delete %s after a failed overlay", name)
        reason = f"{type(error).__name__}: {error}"[:300]
        Measurement.objects.filter(pk=measurement.pk, overlay="").update(overlay_error=reason)
        audit.record(None, "photo.overlay_failed", measurement.photo, data={"error": reason})
        return False
    measurement.overlay = name
    return True


def measure_data(photo: Photo, data: bytes) -> analysis.PhotoMeasurement:
    """The measurement of a stored original by the core for the photo's kind."""
    if photo.view == View.SHED:
        return analysis.measure_shed_photo(data, hair_colour=photo.patient.hair_colour or None)
    if photo.view == View.TRICHOSCOPY:
        return analysis.measure_trichoscopy_photo(data, mm_per_px=photo.mm_per_px)
    orientation = "auto" if photo.orientation_turns is None else photo.orientation_turns
    return analysis.measure_global_photo(
        data, view=CORE_VIEWS[photo.view], mm_per_px=photo.mm_per_px, orientation=orientation
    )


def set_orientation(photo: Photo, *, turns: int | None, user) -> int:
    """Record which way is up for a global photo and measure it again that way. Audited with the old and
    new value; returns the new measurement request's number.

    `turns`: quarter turns counter-clockwise that make the photo upright (0-3), or None to let the scalp
    core find the orientation from the picture again.
    """
    if not photo.is_global:
        raise PhotoRefused("Only global-view photos have an orientation to set.")
    if turns is not None and (isinstance(turns, bool) or turns not in range(4)):
        raise PhotoRefused(f"The orientation must be 0, 1, 2 or 3 quarter turns, got {turns!r}.")
    with transaction.atomic():
        locked = Photo.objects.select_for_update().get(pk=photo.pk)
        old = locked.orientation_turns
        locked.orientation_turns = turns
        locked.orientation_set_by = None if turns is None else user
        locked.orientation_set_at = None if turns is None else timezone.now()
        locked.save(update_fields=["orientation_turns", "orientation_set_by", "orientation_set_at"])
        photo.orientation_turns = locked.orientation_turns
        photo.orientation_set_by = locked.orientation_set_by
        photo.orientation_set_at = locked.orientation_set_at
        audit.record(
            user, "photo.orientation_set", photo, data={"changed": {"orientation_turns": [old, turns]}}
        )
        return request_measurement(photo)


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


def upright_turns(photo: Photo) -> int:
    """Quarter turns counter-clockwise that make a global photo upright: a person's choice ("Which way is
    up?") first, else what the photo's latest usable scalp measurement found; 0 for other views or when
    nothing is known (the photo is then taken as stored, upright after its EXIF orientation)."""
    if not photo.is_global:
        return 0
    if photo.orientation_turns is not None:
        return photo.orientation_turns
    measurement = photo.current_measurement()
    report = (measurement.report or {}) if measurement is not None else {}
    turns = report.get("quarter_turns")
    return turns if report.get("usable") and turns in range(4) else 0


def compare_photos(baseline: Photo, followup: Photo) -> analysis.PairResult:
    """Register the follow-up onto the baseline and judge the pair. A follow-up stored a quarter turn away
    from its baseline (a phone held sideways, no EXIF) is first turned into the baseline's frame, so the
    verdict judges the pose of the head, not the way the file was saved."""
    with default_storage.open(baseline.derived.name, "rb") as f:
        base = f.read()
    with default_storage.open(followup.derived.name, "rb") as f:
        follow = f.read()
    turns = (upright_turns(followup) - upright_turns(baseline)) % 4
    return analysis.compare_pair(base, follow, facts=pair_facts(baseline, followup), followup_turns=turns)


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


# --- trichoscopy target site ---------------------------------------------------------------------------


def current_target_site(patient) -> TargetSite | None:
    """The patient's trichoscopy site: the one marked last (reused, pre-selected, at every later visit)."""
    return patient.target_sites.order_by("-created_at", "-id").first()


def choose_target_site(patient, *, label: str, x: float | None, y: float | None, user) -> TargetSite:
    """The target site for a trichoscopy upload: the current one when unchanged, else a new, audited row.

    Raises PhotoRefused when no site is marked yet or the mark is off the scalp diagram.
    """
    current = current_target_site(patient)
    label = (label or "").strip()
    if x is None or y is None:
        if current is None:
            raise PhotoRefused("Mark the trichoscopy target site on the scalp diagram.")
        x, y = current.x, current.y
    if not on_diagram_scalp(x, y):
        raise PhotoRefused("The target site must be on the scalp in the diagram.")
    label = label or (current.label if current else "")
    if not label:
        raise PhotoRefused("Name the marked target site (e.g. 'frontal, mid-line').")
    if (
        current is not None
        and current.label == label
        and abs(current.x - x) < 0.5
        and abs(current.y - y) < 0.5
    ):
        return current
    site = TargetSite.objects.create(
        patient=patient, label=label[:100], x=round(x, 1), y=round(y, 1), created_by=user
    )
    audit.record(
        user,
        "photo.target_site_marked",
        site,
        data={"label": site.label, "x": site.x, "y": site.y, "previous": current.pk if current else None},
    )
    return site


# --- stage from the global views ------------------------------------------------------------------------

SEX_TO_CORE = {"M": "male", "F": "female"}


def session_view_measurements(session) -> dict[str, Measurement]:
    """The current measurement of the latest measured photo of each global view of `session`."""
    chosen: dict[str, Measurement] = {}
    photos = session.photos.filter(view__in=GLOBAL_VIEWS, measure_status=MeasureStatus.DONE).order_by("id")
    for photo in photos.prefetch_related("measurements"):
        measurements = sorted(photo.measurements.all(), key=lambda m: -m.request_no)
        if measurements and measurements[0].kind == MeasurementKind.SCALP:
            chosen[photo.view] = measurements[0]
    return chosen


def staging_inputs(by_view: dict[str, Measurement]) -> tuple[dict[str, float], list[str], list[int]]:
    """(measurements keyed "<core view>.<measure>", problems, measurement ids) for the staging core.

    The same keys as `trichotrack.measure.staging.view_measurements`: unusable photos are left out and
    named in the problems."""
    values: dict[str, float] = {}
    problems: list[str] = []
    used: list[int] = []
    for view, m in sorted(by_view.items()):
        core = CORE_VIEWS[view]
        if not m.usable or m.scalp_visible_fraction is None:
            problems.extend(f"{core} view not used: {p}" for p in (m.problems or ["not usable"]))
            continue
        values[f"{core}.scalp_visible_fraction"] = m.scalp_visible_fraction
        if core == "front" and m.hairline_recession_index is not None:
            values["front.recession_index"] = m.hairline_recession_index
        used.append(m.pk)
    return values, problems, used


def update_stage(session_id: int) -> StageEstimate | None:
    """Estimate the stage of the session's patient from its measured global views; replaces the previous
    estimate of the session. Norwood for men, Ludwig for women; none when the sex is not recorded as either.
    The session row is locked so that two workers finishing two views of one session end with both used."""
    with transaction.atomic():
        session = PhotoSession.objects.select_for_update().select_related("patient").get(pk=session_id)
        by_view = session_view_measurements(session)
        if not by_view:
            StageEstimate.objects.filter(session=session).delete()
            return None
        values, problems, used = staging_inputs(by_view)
        sex = SEX_TO_CORE.get(session.patient.sex)
        if sex is None:
            fields = {
                "scale": "",
                "stage": None,
                "probabilities": {},
                "measurements": {k: round(v, 4) for k, v in values.items()},
                "problems": [
                    *problems,
                    "The patient's sex is not recorded as female or male, so neither Norwood (men) nor "
                    "Ludwig (women) applies.",
                ],
                "algorithm": "",
                "version": "",
                "params": {},
            }
        else:
            result = analysis.estimate_stage(values, sex=sex, problems=problems)
            fields = {
                "scale": result.scale,
                "stage": result.stage,
                "probabilities": result.probabilities,
                "measurements": result.measurements,
                "problems": list(result.problems),
                "algorithm": result.algorithm,
                "version": result.version,
                "params": result.params,
            }
        estimate, _ = StageEstimate.objects.update_or_create(
            session=session,
            defaults={"patient": session.patient, "source_measurements": used, **fields},
        )
        audit.record(
            None,
            "photo.stage_estimated",
            estimate,
            data={"scale": estimate.scale, "stage": estimate.stage, "measurements": used},
        )
    return estimate


# --- timeline series ------------------------------------------------------------------------------------


def _current_measurements(patient, views):
    """[(photo, its current measurement)] of the patient's measured photos of `views`, oldest first."""
    photos = (
        Photo.objects.filter(patient=patient, view__in=views, measure_status=MeasureStatus.DONE)
        .select_related("session", "target_site")
        .prefetch_related("measurements__corrections")
        .order_by("session__taken_on", "id")
    )
    rows = []
    for photo in photos:
        measurements = sorted(photo.measurements.all(), key=lambda m: -m.request_no)
        if measurements:
            rows.append((photo, measurements[0]))
    return rows


def _final_count(m: Measurement) -> int | None:
    corrections = sorted(m.corrections.all(), key=lambda c: -c.id)
    return corrections[0].corrected_count if corrections else m.hair_count


def trichoscopy_series(patient) -> list[dict]:
    """The patient's trichoscopy measurements, oldest first: density (corrected count over the field) with
    the count interval as its interval, and the thin-hair share. Photos without a scale have no density."""
    rows = []
    for photo, m in _current_measurements(patient, [View.TRICHOSCOPY]):
        area = m.field_mm2
        count = _final_count(m)
        density = low = high = None
        if area and m.density_per_cm2 is not None:
            per = 100.0 / area
            density, low, high = count * per, m.count_low * per, m.count_high * per
            if count != m.hair_count:  # a corrected count moves the interval with it
                low, high = low + (count - m.hair_count) * per, high + (count - m.hair_count) * per
        rows.append(
            {
                "day": photo.session.taken_on,
                "count": count,
                "density": density,
                "low": None if low is None else max(low, 0.0),
                "high": high,
                "thin": m.thin_hair_fraction,
                "vellus": m.vellus_fraction,
                "site": photo.target_site.label if photo.target_site else photo.site,
                "photo": photo,
                "measurement": m,
            }
        )
    return rows


def scalp_series(patient) -> dict[str, list[dict]]:
    """{view: rows} of the patient's usable global-view measurements, oldest first: the visible-scalp
    fraction with its re-photography band (± 1.96 · the view's SD) and, frontally, the hairline with its
    own band."""
    series: dict[str, list[dict]] = {}
    for photo, m in _current_measurements(patient, GLOBAL_VIEWS):
        if m.kind != MeasurementKind.SCALP or not m.usable or m.scalp_visible_fraction is None:
            continue
        low, high = m.scalp_fraction_interval
        recession_band = m.hairline_recession_interval or (None, None)
        series.setdefault(photo.view, []).append(
            {
                "day": photo.session.taken_on,
                "value": m.scalp_visible_fraction,
                "low": low,
                "high": high,
                "sd": m.scalp_fraction_sd,
                "recession": m.hairline_recession_index,
                "recession_low": recession_band[0],
                "recession_high": recession_band[1],
                "midline_depth": m.hairline_midline_depth_fraction,
                "part_width_mm": m.part_width_mm,
                "photo": photo,
                "measurement": m,
            }
        )
    return series


def stage_series(patient) -> list[StageEstimate]:
    """The patient's stage estimates with a stage, oldest first."""
    estimates = patient.stage_estimates.filter(stage__isnull=False).select_related("session")
    return sorted(estimates, key=lambda e: (e.session.taken_on, e.pk))


# --- before/after: the measured change --------------------------------------------------------------------


def scalp_change(baseline: float, followup: float, *, sd: float = SCALP_FRACTION_SD) -> dict:
    """The change of the visible-scalp fraction between two photos with its 95 % interval.

    Each photo's fraction carries the re-photography error `sd`; the difference of two carries √2 · sd, so
    the interval is change ± 1.96 · √2 · sd (the MDC95). Inside it, the photos show no change beyond
    measurement error: the wording says so instead of a direction.
    """
    change = followup - baseline
    half = mdc95(sd)
    beyond = abs(change) > half
    pp = lambda v: f"{100 * v:+.0f}".replace("-", "−")  # noqa: E731 — percentage points, signed
    interval = f"95 % interval {pp(change - half)} to {pp(change + half)} percentage points"
    if not beyond:
        sentence = (
            f"No change beyond measurement error: {pp(change)} percentage points ({interval}; "
            f"re-photographing the same head alone moves the fraction by up to ±{100 * half:.0f})."
        )
    else:
        direction = "Less" if change < 0 else "More"
        sentence = (
            f"{direction} scalp visible: {pp(change)} percentage points ({interval}), more than "
            f"re-photography alone explains (±{100 * half:.0f}). This says nothing yet about the cause."
        )
    return {
        "baseline": baseline,
        "followup": followup,
        "change": change,
        "low": change - half,
        "high": change + half,
        "half_width": half,
        "sd": sd,
        "z": Z95,
        "beyond_error": beyond,
        "sentence": sentence,
    }


def pair_change(pair) -> dict | None:
    """The measured change of a global-view pair (None until both photos have a usable measurement)."""
    if pair.baseline.view not in GLOBAL_VIEWS:
        return None
    base, follow = pair.baseline.current_measurement(), pair.followup.current_measurement()
    values = []
    for m in (base, follow):
        if m is None or m.kind != MeasurementKind.SCALP or not m.usable or m.scalp_visible_fraction is None:
            return None
        values.append(m.scalp_visible_fraction)
    return scalp_change(*values, sd=SCALP_FRACTION_SD_BY_VIEW[pair.baseline.view])


def pair_densities(pair) -> dict | None:
    """A trichoscopy pair's densities with their count intervals (None until both have a density).

    Shown side by side, without a verdict on the difference: the count intervals are per image, and the
    evidence panel (MDC from the patient's own series) is where a change is judged."""
    if pair.baseline.view != View.TRICHOSCOPY:
        return None
    rows = []
    for photo in (pair.baseline, pair.followup):
        m = photo.current_measurement()
        if m is None or m.final_density_per_cm2 is None:
            return None
        low, high = m.density_interval_per_cm2
        rows.append(
            {"density": m.final_density_per_cm2, "low": low, "high": high, "thin": m.thin_hair_fraction}
        )
    return {"baseline": rows[0], "followup": rows[1]}
