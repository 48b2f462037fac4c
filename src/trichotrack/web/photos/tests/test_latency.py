"""Upload to visible result (issue 4's 5-s target, bench/photo_latency.py): the numbers are stored before
the overlay is drawn, a JPEG's metadata is stripped without re-encoding its pixels, global views are decoded
reduced."""

import datetime as dt
import io
from unittest import mock

import numpy as np
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from trichotrack.measure.io import read_image
from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.photos import analysis, services
from trichotrack.web.photos.models import Measurement, MeasureStatus, Photo, View

from . import files
from .base import PhotoTestCase, run_queued_measurements


def checked(data: bytes) -> analysis.CheckedUpload:
    return analysis.check_upload("photo.jpg", data, max_bytes=20 << 20, max_pixels=50_000_000)


def noisy(shape=(96, 128), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)


class StrippedDerivedCopyTest(PhotoTestCase):
    def test_an_upright_jpeg_keeps_its_pixels_byte_for_byte_without_any_metadata(self):
        image = files.shed_image().image
        original = files.jpeg(image, gps=True, comment=b"shot at 12 Main Street")
        derived = analysis.derived_copy(checked(original))
        for marker in (b"Exif", b"PhoneMaker", b"Phone 12", b"Main Street", b"JFIF"):
            assert marker in original and marker not in derived
        assert np.array_equal(read_image(derived), read_image(original))  # not re-encoded
        with Image.open(io.BytesIO(derived)) as im:
            assert not im.getexif() and "icc_profile" not in im.info
        # The compressed pixels are the original's: its scan, from the start-of-scan marker, is in the copy.
        scan = original[original.index(b"\xff\xda") :]
        assert derived.endswith(scan)

    def test_a_progressive_jpeg_and_data_after_its_end_are_handled(self):
        buffer = io.BytesIO()
        Image.fromarray(noisy()).save(buffer, format="JPEG", quality=90, progressive=True)
        original = buffer.getvalue()
        assert original.count(b"\xff\xda") > 1  # several scans
        derived = analysis.strip_jpeg_metadata(original + b"\x00trailer", shape=(96, 128))
        assert derived is not None and derived.endswith(b"\xff\xd9") and b"trailer" not in derived
        assert np.array_equal(read_image(derived), read_image(original))

    def test_a_turned_jpeg_or_a_cmyk_one_is_re_encoded_upright(self):
        image = files.asymmetric()
        rotated = files.jpeg(image, orientation=6, gps=True)
        assert analysis.strip_jpeg_metadata(rotated, shape=(200, 120)) is None
        derived = analysis.derived_copy(checked(rotated))
        assert read_image(derived).shape == (200, 120, 3) and b"PhoneMaker" not in derived
        buffer = io.BytesIO()
        Image.fromarray(noisy()).convert("CMYK").save(buffer, format="JPEG")
        assert analysis.strip_jpeg_metadata(buffer.getvalue(), shape=(96, 128)) is None
        # The wrong size (the frame does not match what was decoded) is never stripped either.
        assert analysis.strip_jpeg_metadata(files.jpeg(noisy()), shape=(128, 96)) is None

    def test_the_stored_derived_copy_is_the_stripped_one_with_its_hash(self):
        import hashlib

        data = files.jpeg(files.shed_image().image, gps=True)
        photo = self.add_photo(data=data)
        with default_storage.open(photo.derived.name, "rb") as f:
            derived = f.read()
        assert derived == analysis.strip_jpeg_metadata(data, shape=(300, 400))
        assert photo.derived_sha256 == hashlib.sha256(derived).hexdigest()


class NumbersBeforeOverlayTest(PhotoTestCase):
    def test_the_numbers_are_committed_and_shown_before_the_overlay_is_drawn(self):
        self.login(self.alice)
        photo = self.add_photo()
        status_url = reverse("photos:status", args=[photo.pk])
        seen = {}
        real_store = services.store_overlay

        def store_overlay(measurement, result):
            # The moment the overlay starts: the photo is done and its numbers are on the page already.
            seen["status"] = self.client.get(status_url).json()
            seen["page"] = self.client.get(reverse("photos:detail", args=[photo.pk])).content.decode()
            seen["stored_overlay"] = Measurement.objects.get(pk=measurement.pk).overlay.name
            return real_store(measurement, result)

        with mock.patch.object(services, "store_overlay", side_effect=store_overlay):
            assert run_queued_measurements() == ["measured"]
        status = seen["status"]
        assert status["finished"] and status["status"] == "done" and status["overlay"] == "drawing"
        assert status["hair_count"] is not None and status["label"] == "Measured; overlay being drawn"
        assert "Overlay being drawn" in seen["page"] and f'data-overlay-poll="{status_url}"' in seen["page"]
        assert f'id="auto-count">{status["hair_count"]}<' in seen["page"]
        assert 'id="correction-form"' not in seen["page"]  # corrections are clicks on the overlay
        assert seen["stored_overlay"] == ""
        m = photo.current_measurement()
        assert m.overlay_state == "ready" and m.overlay.name.endswith(".jpg")
        assert self.client.get(status_url).json()["overlay"] == "ready"
        page = self.client.get(reverse("photos:detail", args=[photo.pk])).content.decode()
        assert "data-overlay-poll" not in page and 'id="correction-form"' in page
        overlay = self.client.get(reverse("photos:image", args=[photo.pk, "overlay"]))
        assert overlay.status_code == 200 and overlay["Content-Type"] == "image/jpeg"

    def test_an_overlay_that_cannot_be_drawn_leaves_the_numbers_and_no_file(self):
        self.login(self.alice)
        photo = self.add_photo()
        before = (
            set(default_storage.listdir("photos/overlays")[1]) if default_storage.exists("photos") else set()
        )
        broken = mock.patch.object(analysis.PhotoMeasurement, "overlay_bytes", side_effect=MemoryError("big"))
        with broken, self.assertLogs("trichotrack.web.photos.services", "ERROR"):
            assert run_queued_measurements() == ["measured"]
        photo.refresh_from_db()
        m = photo.current_measurement()
        assert photo.measure_status == MeasureStatus.DONE and m.hair_count is not None
        assert m.overlay.name == "" and m.overlay_state == "failed" and "big" in m.overlay_error
        after = (
            set(default_storage.listdir("photos/overlays")[1]) if default_storage.exists("photos") else set()
        )
        assert after == before
        assert AuditEvent.objects.filter(action="photo.overlay_failed", target_id=str(photo.pk)).exists()
        status = self.client.get(reverse("photos:status", args=[photo.pk])).json()
        assert status["overlay"] == "failed" and status["finished"]
        page = self.client.get(reverse("photos:detail", args=[photo.pk])).content.decode()
        assert "The overlay could not be drawn" in page and "data-overlay-poll" not in page
        assert self.client.get(reverse("photos:image", args=[photo.pk, "overlay"])).status_code == 404

    def test_an_overlay_missing_longer_than_a_task_may_run_is_reported_not_awaited(self):
        photo = self.measured_photo()
        m = photo.current_measurement()
        Measurement.objects.filter(pk=m.pk).update(overlay="")
        m.refresh_from_db()
        assert m.overlay_state == "drawing"
        with self.settings(TASK_STUCK_MINUTES=15):
            Measurement.objects.filter(pk=m.pk).update(created_at=m.created_at - dt.timedelta(minutes=16))
            m.refresh_from_db()
            assert m.overlay_state == "failed"

    def test_the_status_of_a_measured_photo_without_its_overlay_yet_is_finished_and_drawing(self):
        from trichotrack.web.photos.views import status_payload

        photo = self.measured_photo()
        Measurement.objects.filter(photo=photo).update(overlay="")
        payload = status_payload(Photo.objects.get(pk=photo.pk))
        assert payload["overlay"] == "drawing" and payload["finished"] and payload["summary"]


class GlobalViewDecodingTest(PhotoTestCase):
    def test_a_large_jpeg_is_decoded_reduced_but_not_below_the_asked_side(self):
        big = files.jpeg(noisy((1200, 1600)))
        assert read_image(big, reduce_to_px=700).shape == (600, 800, 3)  # 1/2: 800 ≥ 700 > 400
        assert read_image(big, reduce_to_px=300).shape == (300, 400, 3)  # 1/4
        assert read_image(big, reduce_to_px=1000).shape == (1200, 1600, 3)  # no halving fits
        assert read_image(files.png(noisy((400, 600))), reduce_to_px=100).shape == (400, 600, 3)  # JPEG only
        turned = files.jpeg(noisy((400, 800)), orientation=6)
        assert read_image(turned, reduce_to_px=150).shape == (200, 100, 3)  # still upright

    def test_a_global_view_is_measured_from_the_reduced_decode_like_from_the_full_one(self):
        import cv2

        from trichotrack.measure.scalp import measure_scalp

        head = cv2.resize(files.head(side_px=400).image, (3200, 3200), interpolation=cv2.INTER_CUBIC)
        data = files.jpeg(head)
        result = analysis.measure_global_photo(data, view="top")
        full = measure_scalp(read_image(data), view="top")
        assert abs(result.fields["scalp_visible_fraction"] - full.scalp_visible_fraction) < 0.005
        assert (
            result.fields["analysed_height_px"],
            result.fields["analysed_width_px"],
        ) == full.work_image.shape[:2]
        assert result.overlay_bytes().startswith(b"\xff\xd8\xff")

    def test_every_kind_is_measured_with_its_overlay_after_the_numbers(self):
        for view in (View.VERTEX, View.TRICHOSCOPY, View.SHED):
            options = {"field_width_mm": 3.6} if view == View.TRICHOSCOPY else {}
            data = files.jpeg(files.head(side_px=200).image) if view == View.VERTEX else None
            if view == View.TRICHOSCOPY:
                data = files.jpeg(files.trichoscopy().image)
            photo = self.measured_photo(view=view, data=data, **options)
            m = photo.current_measurement()
            assert photo.measure_status == MeasureStatus.DONE and m.overlay_state == "ready", view


class PriorityTest(PhotoTestCase):
    def test_an_upload_is_measured_before_older_default_and_remeasure_tasks(self):
        from django.core.management import call_command
        from django_tasks_db.models import DBTaskResult

        from trichotrack.web.photos.tasks import REMEASURE_PRIORITY, UPLOAD_PRIORITY, measure_photo

        old = self.measured_photo()
        with self.captureOnCommitCallbacks(execute=True):
            call_command("remeasure", "--all", "--enqueue", stdout=io.StringIO(), stderr=io.StringIO())
        measure_photo.using(priority=0).enqueue(old.pk, 999)  # an older task of the default priority
        new = self.add_photo()
        ready = list(DBTaskResult.objects.ready())
        assert [r.args_kwargs["args"] for r in ready] == [[new.pk, 1], [old.pk, 999], [old.pk, 2]]
        assert [r.priority for r in ready] == [UPLOAD_PRIORITY, 0, REMEASURE_PRIORITY]
