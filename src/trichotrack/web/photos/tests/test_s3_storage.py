"""Photos on S3-compatible storage, as the README configures it (TRICHOTRACK_S3_* in the environment),
against moto's S3 server on 127.0.0.1: the original byte for byte, the derived copy and the overlay in the
bucket, private, and served only through the access-checked views. Skipped without moto/django-storages."""

import hashlib
import io
import runpy
import socket
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import reverse
from PIL import Image

from trichotrack.web.photos import checks
from trichotrack.web.photos.models import Photo
from trichotrack.web.test import login_verified

from . import files
from .base import PhotoTestCase, run_queued_measurements

moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")
pytest.importorskip("storages.backends.s3", reason="django-storages[s3] is not installed")
boto3 = pytest.importorskip("boto3")

BUCKET = "trichotrack-photos"
SETTINGS_FILE = Path(__file__).resolve().parents[2] / "settings.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3StorageTest(PhotoTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.port = free_port()
        cls.server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=cls.port, verbose=False)
        cls.server.start()
        cls.endpoint = f"http://127.0.0.1:{cls.port}"
        cls.env = pytest.MonkeyPatch()
        for name, value in {
            "TRICHOTRACK_S3_BUCKET": BUCKET,
            "TRICHOTRACK_S3_ENDPOINT_URL": cls.endpoint,
            "TRICHOTRACK_S3_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }.items():
            cls.env.setenv(name, value)
        # The settings module run again with that environment: the STORAGES it builds is the one under test.
        cls.configured = runpy.run_path(str(SETTINGS_FILE))
        cls.s3 = boto3.client("s3", endpoint_url=cls.endpoint, region_name="us-east-1")
        cls.s3.create_bucket(Bucket=BUCKET)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.env.undo()
        super().tearDownClass()

    def setUp(self):
        storages = self.configured["STORAGES"]
        assert storages["default"]["BACKEND"] == "storages.backends.s3.S3Storage"
        override = override_settings(STORAGES=storages, S3_BUCKET=self.configured["S3_BUCKET"])
        override.enable()
        self.addCleanup(override.disable)

    def object(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def test_an_upload_lands_in_the_private_bucket_and_is_served_only_through_the_views(self):
        assert checks.check_photo_storage(None) == []  # trichotrack.E020 is satisfied
        original = files.jpeg(files.shed_image(seed=5).image, gps=True)
        self.login(self.alice)
        session = self.new_session()
        with self.captureOnCommitCallbacks(execute=True):  # the measurement is queued after the commit
            response = self.client.post(
                reverse("photos:upload", args=[session.pk]),
                {"view": "shed", "protocol": "wash", "files": files.upload("shed.jpg", original)},
            )
        assert response.status_code == 302
        photo = Photo.objects.get(session=session)

        stored = self.object(photo.original.name)
        assert stored == original and hashlib.sha256(stored).hexdigest() == photo.original_sha256
        derived = self.object(photo.derived.name)
        assert hashlib.sha256(derived).hexdigest() == photo.derived_sha256
        assert not Image.open(io.BytesIO(derived)).getexif()  # no EXIF/GPS in the derived copy
        assert not list(Path(self._media_dir.name).rglob("*.jpg"))  # nothing in the local folder

        for key in (photo.original.name, photo.derived.name):  # private: only the owner is granted
            grants = self.s3.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
            assert all(g["Grantee"].get("Type") == "CanonicalUser" for g in grants), grants

        assert run_queued_measurements() == ["measured"]  # the worker reads the original from the bucket
        overlay_key = photo.current_measurement().overlay.name
        assert self.object(overlay_key).startswith(b"\xff\xd8\xff")

        page = self.client.get(photo.get_absolute_url()).content.decode()
        assert self.endpoint not in page and "X-Amz-Signature" not in page  # no direct bucket links
        image_url = reverse("photos:image", args=[photo.pk, "derived"])
        served = self.client.get(image_url)
        assert served.status_code == 200 and served.content == derived
        download = self.client.get(reverse("photos:original", args=[photo.pk]))
        assert b"".join(download.streaming_content) == original
        self.client.logout()
        assert self.client.get(image_url).status_code == 302  # to the sign-in page
        login_verified(self.client, self.charlie)
        assert self.client.get(image_url).status_code == 404
        assert self.client.get(reverse("photos:original", args=[photo.pk])).status_code == 404

    def new_session(self):
        from trichotrack.web.photos import services

        return services.new_session(self.patient, user=self.alice)
