"""Photo.derived_sha256: stored at upload, backfilled by the migration, used by the exports."""

import datetime as dt
import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from trichotrack.web.photos.models import Photo
from trichotrack.web.reports import exports

from .base import PhotoTestCase, run_queued_measurements


class DerivedHashTest(PhotoTestCase):
    def test_the_upload_stores_the_hash_of_the_derived_copy_it_stored(self):
        photo = self.add_photo()
        with default_storage.open(photo.derived.name, "rb") as f:
            stored = f.read()
        assert photo.derived_sha256 == hashlib.sha256(stored).hexdigest()
        assert photo.derived_sha256 != photo.original_sha256  # re-encoded, not the original

    def test_the_exports_cite_the_stored_hash_without_reading_the_file(self):
        photo = self.add_photo()
        run_queued_measurements()
        # A stored value the file cannot give: the export must take it from the row.
        Photo.objects.filter(pk=photo.pk).update(derived_sha256="f" * 64)
        ctx = exports.build_context(self.clinic, deidentified=False)
        for hash_photos in (True, False):
            rows = [
                r for r in exports.measurement_rows(ctx, hash_photos=hash_photos) if r["photo_id"] == photo.pk
            ]
            assert rows and {r["photo_sha256"] for r in rows} == {"f" * 64}


@pytest.mark.django_db(transaction=True)
def test_the_migration_hashes_existing_derived_copies_and_skips_missing_files(settings, tmp_path):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    settings.MEDIA_ROOT = str(tmp_path)
    executor = MigrationExecutor(connection)
    executor.migrate([("photos", "0002_measure_every_kind")])
    old = executor.loader.project_state([("photos", "0002_measure_every_kind")]).apps
    clinic = old.get_model("clinics", "Clinic").objects.create(name="C", country="US", region="CA")
    patient = old.get_model("patients", "Patient").objects.create(
        clinic=clinic, code="P", given_name="A", family_name="B", date_of_birth=dt.date(1980, 1, 1), sex="F"
    )
    session = old.get_model("photos", "PhotoSession").objects.create(
        patient=patient, taken_on=dt.date(2026, 1, 1)
    )
    present = default_storage.save("photos/derived/present.jpg", ContentFile(b"derived bytes"))
    common = {
        "session": session,
        "patient": patient,
        "view": "shed",
        "original": "o.jpg",
        "original_sha256": "0" * 64,
        "original_format": "jpeg",
        "original_bytes": 1,
        "width_px": 4,
        "height_px": 3,
    }
    OldPhoto = old.get_model("photos", "Photo")
    with_file = OldPhoto.objects.create(derived=present, **common)
    without_file = OldPhoto.objects.create(derived="photos/derived/gone.jpg", **common)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert Photo.objects.get(pk=with_file.pk).derived_sha256 == hashlib.sha256(b"derived bytes").hexdigest()
    assert Photo.objects.get(pk=without_file.pk).derived_sha256 == ""
