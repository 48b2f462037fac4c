"""Two real worker processes on PostgreSQL: every photo measured exactly once, none lost.

Run with django-tasks-db's `db_worker` and with `photo_worker` (what `trichotrack serve` starts: db_worker
polling faster, cores preloaded), whose overlays are stored after the numbers.

django-tasks-db claims each task row with SELECT … FOR UPDATE SKIP LOCKED; duplicate tasks for the same
measurement request (a retry, a double click) wait on the photo's row lock and then find the measurement made.
"""

import os
import subprocess
import sys
from functools import partial

import pytest
from django.db import connection, transaction
from django_tasks_db.models import DBTaskResult

from trichotrack.web.clinics.models import Clinic, Role
from trichotrack.web.consent.services import create_default_definitions
from trichotrack.web.photos import services
from trichotrack.web.photos.models import Measurement, MeasureStatus, Photo, View
from trichotrack.web.photos.tasks import measure_photo
from trichotrack.web.test import make_patient, make_user

from . import files
from .base import give_photo_consent

N_PHOTOS, N_DUPLICATES = 14, 6

pytestmark = [pytest.mark.postgresql, pytest.mark.slow]


def database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.mark.parametrize("command", ["db_worker", "photo_worker"])
def test_two_workers_never_measure_a_photo_twice_and_lose_none(command, transactional_db, settings, tmp_path):
    import datetime as dt

    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PHOTO_MAX_FILES = N_PHOTOS
    clinic = Clinic.objects.create(name="Worker clinic")
    alice = make_user("alice", clinic, Role.CLINICIAN)
    definitions = {d.kind: d for d in create_default_definitions(clinic, valid_from=dt.date(2015, 1, 1))}
    patient = make_patient(clinic, "W-001")
    give_photo_consent(patient, definitions, alice)
    session = services.new_session(patient, user=alice)
    images = [files.jpeg(files.shed_image(seed=i, n_hairs=3).image) for i in range(3)]
    checked = services.check_files([files.upload(f"{i}.jpg", images[i % 3]) for i in range(N_PHOTOS)])
    photos = services.store_photos(session, checked, user=alice, view=View.SHED, protocol="wash")
    for photo in photos[:N_DUPLICATES]:  # the same request enqueued again
        transaction.on_commit(partial(measure_photo.enqueue, photo.pk, 1))
    tasks = DBTaskResult.objects.filter(queue_name="images")
    assert tasks.filter(status="READY").count() == N_PHOTOS + N_DUPLICATES

    env = os.environ | {
        "DATABASE_URL": database_url(),
        "TRICHOTRACK_DATA_DIR": str(tmp_path),
        "SECRET_KEY": "k" * 60,
        "DJANGO_SETTINGS_MODULE": "trichotrack.web.settings",
    }
    env.pop("DEBUG", None)
    workers = [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "django", command, "--batch", "--queue-name", "images"),
                *("--worker-id", f"worker-{i}", "--no-startup-delay", "--interval", "0.05"),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for i in (1, 2)
    ]
    outputs = [w.communicate(timeout=180)[0].decode() for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs

    results = list(tasks.all())
    assert {r.status for r in results} == {"SUCCESSFUL"}, [r.traceback for r in results if r.traceback]
    assert all(len(r.worker_ids) == 1 for r in results)  # each task claimed once
    assert sorted(r.return_value for r in results).count("measured") == N_PHOTOS
    assert sorted(r.return_value for r in results).count("already measured") == N_DUPLICATES
    for photo in Photo.objects.all():
        assert Measurement.objects.filter(photo=photo).count() == 1
        assert photo.measure_status == MeasureStatus.DONE
        assert (
            photo.current_measurement().overlay_state == "ready"
        )  # drawn after the numbers, by the same task
    assert {m.worker for m in Measurement.objects.all()} == {"worker-1", "worker-2"}  # both did work
