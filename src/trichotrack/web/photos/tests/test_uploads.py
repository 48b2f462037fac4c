import hashlib
import io
from pathlib import Path
from unittest import mock

from django.conf import settings
from django.core.files.storage import default_storage
from django.test import override_settings
from django.urls import reverse
from PIL import Image

from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.photos import services
from trichotrack.web.photos.models import Photo, PhotoSession, View

from . import files
from .base import PhotoTestCase


def stored_files():
    root = Path(settings.MEDIA_ROOT) / "photos"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


class UploadTest(PhotoTestCase):
    def setUp(self):
        self.login(self.alice)
        self.session = services.new_session(self.patient, user=self.alice, hair_state=["washed", "dry"])
        self.files_before = stored_files()  # the media folder is shared by the class

    def post(self, *uploads, view=View.SHED, **extra):
        data = {"view": view, "protocol": "wash", "days_since_shampoo": "5", "files": list(uploads)} | extra
        with self.captureOnCommitCallbacks(execute=True):
            return self.client.post(reverse("photos:upload", args=[self.session.pk]), data, follow=True)

    def messages(self, response):
        return " ".join(str(m) for m in response.context["messages"])

    def test_it_stores_jpeg_png_and_heic_at_once(self):
        image = files.shed_image().image
        response = self.post(
            files.upload("a.jpg", files.jpeg(image)),
            files.upload("b.png", files.png(image), "image/png"),
            files.upload("c.heic", files.heic(image), "image/heic"),
        )
        assert "3 photo(s) stored." in self.messages(response)
        photos = Photo.objects.order_by("pk")
        assert [p.original_format for p in photos] == ["jpeg", "png", "heic"]
        for photo in photos:
            assert (photo.width_px, photo.height_px) == (400, 300)
            assert photo.measure_status == "queued"
        assert AuditEvent.objects.filter(action="photo.uploaded").count() == 3

    def test_the_original_is_kept_byte_for_byte_with_its_sha256(self):
        data = files.jpeg(files.shed_image().image, gps=True)
        self.post(files.upload("gps.jpg", data))
        photo = Photo.objects.get()
        with default_storage.open(photo.original.name, "rb") as f:
            kept = f.read()
        assert kept == data
        assert photo.original_sha256 == hashlib.sha256(data).hexdigest()
        assert photo.original_bytes == len(data)

    def test_the_derived_copy_is_upright_and_has_no_exif_or_gps(self):
        # Stored 200 wide × 120 high, EXIF says "rotate 90° clockwise to view" (orientation 6), with GPS.
        data = files.jpeg(files.asymmetric(), orientation=6, gps=True)
        assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the fixture has GPS
        self.post(files.upload("rotated.jpg", data), view=View.VERTEX)
        photo = Photo.objects.get()
        assert (photo.width_px, photo.height_px) == (120, 200)
        with default_storage.open(photo.derived.name, "rb") as f:
            derived = f.read()
        im = Image.open(io.BytesIO(derived))
        assert im.size == (120, 200)
        assert not im.getexif()
        assert b"Exif" not in derived
        assert b"PhoneMaker" not in derived
        assert "icc_profile" not in im.info
        top = im.convert("RGB").getpixel((60, 20))
        assert top[0] > 150 > top[2]  # the red (left) half is now on top: rotated clockwise

    def test_the_derived_view_never_serves_the_original(self):
        self.post(files.upload("gps.jpg", files.jpeg(files.shed_image().image, gps=True)))
        photo = Photo.objects.get()
        response = self.client.get(reverse("photos:image", args=[photo.pk, "derived"]))
        body = response.content
        assert response["Content-Type"] == "image/jpeg"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"PhoneMaker" not in body

    def test_the_original_downloads_as_an_attachment_and_is_audited(self):
        data = files.png(files.shed_image().image)
        self.post(files.upload("a.png", data, "image/png"))
        photo = Photo.objects.get()
        response = self.client.get(reverse("photos:original", args=[photo.pk]))
        assert b"".join(response.streaming_content) == data
        assert response["Content-Disposition"].startswith("attachment")
        assert AuditEvent.objects.filter(action="photo.original_downloaded").exists()

    def refused(self, name, data, expected):
        response = self.post(files.upload(name, data))
        text = self.messages(response)
        assert "Nothing was stored." in text, text
        assert expected in text, text
        assert not Photo.objects.exists()
        assert stored_files() == self.files_before
        return text

    def test_it_refuses_a_decompression_bomb(self):
        self.refused("bomb.png", files.png_bomb(), "too many pixels (decompression bomb)")
        with override_settings(PHOTO_MAX_PIXELS=100_000):
            self.refused("big.png", files.png(files.shed_image().image), "MP limit")

    def test_it_refuses_a_jpeg_zip_polyglot(self):
        self.refused("poly.jpg", files.jpeg_zip_polyglot(files.shed_image().image), "hides other content")

    def test_it_refuses_a_jpeg_with_html_in_a_comment(self):
        self.refused("poly.jpg", files.jpeg_html_polyglot(files.shed_image().image), "hides other content")

    def test_it_refuses_a_jpeg_with_html_after_its_end(self):
        self.refused("poly.jpg", files.jpeg_html_trailer(files.shed_image().image), "hides other content")

    def test_it_refuses_a_truncated_jpeg(self):
        self.refused("cut.jpg", files.truncated_jpeg(files.shed_image().image), "damaged or truncated")

    def test_it_refuses_a_truncated_jpeg_even_after_weasyprint_loosened_pillow(self):
        # WeasyPrint's import sets Pillow's process-wide LOAD_TRUNCATED_IMAGES (the consent PDFs import it).
        from PIL import ImageFile

        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = True
        try:
            self.refused("cut.jpg", files.truncated_jpeg(files.shed_image().image), "damaged or truncated")
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous

    def test_it_refuses_svg_and_html_renamed_jpg(self):
        self.refused("image.jpg", files.SVG, "not a JPEG, PNG or HEIC photo")
        self.refused("image.jpg", files.HTML, "not a JPEG, PNG or HEIC photo")

    def test_it_refuses_an_empty_file_and_a_too_large_one(self):
        self.refused("empty.jpg", b"", "")
        with override_settings(PHOTO_MAX_BYTES=1000):
            self.refused("big.jpg", files.jpeg(files.shed_image().image), "larger than")

    def test_one_bad_file_refuses_the_whole_upload(self):
        good = files.upload("good.jpg", files.jpeg(files.shed_image().image))
        bad = files.upload("bad.jpg", files.HTML)
        response = self.post(good, bad)
        text = self.messages(response)
        assert "bad.jpg: not a JPEG" in text
        assert not Photo.objects.exists()
        assert stored_files() == self.files_before

    def test_a_failure_while_storing_leaves_nothing_half_stored(self):
        image = files.shed_image().image
        checked = services.check_files([files.upload(f"{i}.jpg", files.jpeg(image)) for i in range(2)])
        real_create = Photo.objects.create
        calls = []

        def failing_create(**kwargs):
            calls.append(1)
            if len(calls) == 2:
                raise RuntimeError("database went away")
            return real_create(**kwargs)

        with mock.patch.object(Photo.objects, "create", side_effect=failing_create):
            try:
                services.store_photos(self.session, checked, user=self.alice, view=View.SHED, protocol="wash")
            except RuntimeError:
                pass
            else:
                raise AssertionError("expected the failure to propagate")
        assert not Photo.objects.exists()
        assert stored_files() == self.files_before

    def test_shed_photos_need_a_protocol_and_trichoscopy_a_site(self):
        image = files.jpeg(files.shed_image().image)
        text = self.messages(self.post(files.upload("a.jpg", image), protocol=""))
        assert "protocol" in text
        text = self.messages(self.post(files.upload("a.jpg", image), view=View.TRICHOSCOPY, site=""))
        assert "Mark the target site on the scalp diagram" in text and "Name the marked target site" in text
        self.post(
            files.upload("a.jpg", image),
            view=View.TRICHOSCOPY,
            site="Vertex tattoo dot",
            site_x=100,
            site_y=135,
        )
        photo = Photo.objects.get()
        assert photo.site == photo.target_site.label == "Vertex tattoo dot"

    def test_no_photos_without_clinical_photo_consent(self):
        from trichotrack.web.consent.services import withdraw_consent

        consent = self.patient.consents.get(definition__kind="photo_clinical")
        withdraw_consent(consent, user=self.alice, reason="changed mind")
        text = self.messages(self.post(files.upload("a.jpg", files.jpeg(files.shed_image().image))))
        assert "withdrew" in text
        assert not Photo.objects.exists()

    def test_a_session_is_created_with_its_hair_state_tags(self):
        url = reverse("photos:session_create", args=[self.patient.pk])
        response = self.client.post(url, {"taken_on": "2026-01-05", "hair_state": ["washed", "product"]})
        session = PhotoSession.objects.order_by("-pk").first()
        assert response["Location"] == session.get_absolute_url()
        assert session.hair_state == ["washed", "product"]
        page = self.client.get(session.get_absolute_url())
        assert b"Washed, Product in hair" in page.content
        assert b"60-second comb count" in page.content  # the protocol steps are on the page


class CaptureGuidanceAndStorageTest(PhotoTestCase):
    def test_the_session_page_offers_the_first_photo_of_each_view_as_a_ghost(self):
        first = self.add_photo(files.asymmetric(), view=View.VERTEX)
        self.add_photo(files.asymmetric(), view=View.VERTEX)
        session = services.new_session(self.patient, user=self.alice)
        self.login(self.alice)
        html = self.client.get(session.get_absolute_url()).content.decode()
        ghost = reverse("photos:image", args=[first.pk, "derived"])
        assert f'"vertex": "{ghost}"' in html
        assert 'id="ghost-check"' in html

    def test_s3_storage_without_django_storages_is_a_system_error(self):
        from trichotrack.web.photos.checks import check_photo_storage

        assert check_photo_storage(None) == []
        with override_settings(S3_BUCKET="photos"), mock.patch("importlib.util.find_spec", return_value=None):
            (error,) = check_photo_storage(None)
        assert error.id == "trichotrack.E020"
