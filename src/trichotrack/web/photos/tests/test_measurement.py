import datetime as dt
import io
from unittest import mock

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from trichotrack import cli
from trichotrack.web import commands
from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.photos import services
from trichotrack.web.photos.models import Measurement, MeasureStatus, View
from trichotrack.web.photos.watchdog import fail_stuck_tasks

from . import files
from .base import PhotoTestCase, run_queued_measurements


class MeasurementTest(PhotoTestCase):
    def test_a_shed_photo_is_queued_after_the_commit_with_primary_keys(self):
        photo = self.add_photo()
        task = DBTaskResult.objects.get(task_path__endswith="measure_photo")
        assert task.queue_name == "images"
        assert task.args_kwargs["args"] == [photo.pk, 1]
        assert photo.measure_status == MeasureStatus.QUEUED

    def test_global_views_and_trichoscopy_are_queued_too(self):
        for view in (View.VERTEX, View.TRICHOSCOPY):
            photo = self.add_photo(view=view)
            assert photo.measure_status == MeasureStatus.QUEUED
            task = DBTaskResult.objects.get(args_kwargs__args=[photo.pk, 1])
            assert task.queue_name == "images"

    def test_the_measurement_matches_the_synthetic_truth_and_records_version_and_parameters(self):
        from trichotrack.web.photos import analysis

        data = files.jpeg(files.shed_image(seed=3, n_hairs=4).image)
        photo = self.measured_photo(data=data)
        m = photo.current_measurement()
        assert photo.measure_status == MeasureStatus.DONE
        # The stored result is the core's result for the stored original (its accuracy is tested in tests/).
        assert m.hair_count == analysis.measure_shed_photo(data).fields["hair_count"]
        assert m.kind == "shed"
        assert m.algorithm == "trichotrack.shedding"
        assert m.version
        assert m.params
        assert m.report["hair_count"] == m.hair_count
        assert m.overlay.name.endswith(".jpg")
        assert (m.analysed_width_px, m.analysed_height_px) == (400, 300)
        assert AuditEvent.objects.filter(action="photo.measured", target_id=str(photo.pk)).exists()

    def test_the_task_is_idempotent(self):
        photo = self.add_photo()
        assert services.run_measurement(photo.pk, 1) == "measured"
        assert services.run_measurement(photo.pk, 1) == "already measured"
        assert Measurement.objects.filter(photo=photo).count() == 1
        photo.refresh_from_db()
        assert photo.measure_status == MeasureStatus.DONE
        assert services.run_measurement(photo.pk + 999, 1) == "missing"

    def test_the_status_is_json_for_the_page_to_poll(self):
        self.login(self.alice)
        photo = self.add_photo()
        url = reverse("photos:status", args=[photo.pk])
        assert self.client.get(url).json() | {} == {
            "status": "queued",
            "label": "Waiting for a worker",
            "progress": 15,
            "error": "",
            "kind": "shed",
            "hair_count": None,
            "scalp_visible_fraction": None,
            "summary": "",
            "finished": False,
            "overlay": None,
        }
        page = self.client.get(reverse("photos:detail", args=[photo.pk]))
        assert f'data-status-url="{url}"'.encode() in page.content
        assert b"<progress" in page.content
        run_queued_measurements()
        status = self.client.get(url).json()
        assert status["finished"] and status["status"] == "done" and status["hair_count"] is not None
        assert status["summary"].startswith(f"{status['hair_count']} hairs")
        assert status["overlay"] == "ready" and "overlay" not in status["label"]

    def test_a_failing_measurement_is_shown_and_can_be_requested_again(self):
        self.login(self.alice)
        photo = self.add_photo()
        with mock.patch("trichotrack.web.photos.analysis.measure_shed_photo", side_effect=ValueError("boom")):
            assert run_queued_measurements() == ["failed"]
        photo.refresh_from_db()
        assert photo.measure_status == MeasureStatus.FAILED
        assert "boom" in self.client.get(reverse("photos:status", args=[photo.pk])).json()["error"]
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(reverse("photos:measure", args=[photo.pk]))
        assert response.status_code == 302
        assert run_queued_measurements() == ["measured"]
        photo.refresh_from_db()
        assert photo.measure_status == MeasureStatus.DONE
        assert photo.measurements.get().request_no == 2

    def test_remeasure_reruns_outdated_photos_with_a_progress_bar(self):
        photo = self.measured_photo()
        Measurement.objects.filter(photo=photo).update(version="0.9")
        self.add_photo()  # never measured
        out, err = io.StringIO(), io.StringIO()
        call_command("remeasure", stdout=out, stderr=err)
        assert "2 photo(s) remeasured" in out.getvalue()
        assert "[###############################" not in err.getvalue()
        assert "] 2/2" in err.getvalue()
        photo.refresh_from_db()
        assert photo.current_measurement().version != "0.9"
        assert photo.measurements.count() == 2  # the old measurement is kept
        out = io.StringIO()
        call_command("remeasure", stdout=out, stderr=io.StringIO())
        assert "All photos are measured by the installed algorithms (trichotrack.shedding" in out.getvalue()

    def test_remeasure_all_and_enqueue_hand_the_work_to_the_workers(self):
        photo = self.measured_photo()
        out = io.StringIO()
        with self.captureOnCommitCallbacks(execute=True):
            call_command("remeasure", "--all", "--enqueue", stdout=out, stderr=io.StringIO())
        assert "1 photo(s) queued" in out.getvalue()
        task = DBTaskResult.objects.filter(status="READY").get()
        assert task.args_kwargs["args"] == [photo.pk, 2]

    def test_the_watchdog_fails_a_task_stuck_in_running(self):
        photo = self.add_photo()
        task = DBTaskResult.objects.get()
        task.claim("dead-worker")
        services.run_measurement  # noqa: B018 — the worker died before measuring
        DBTaskResult.objects.filter(pk=task.pk).update(started_at=timezone.now() - dt.timedelta(minutes=16))
        fresh = self.add_photo()
        DBTaskResult.objects.get(args_kwargs__args=[fresh.pk, 1]).claim("live-worker")
        assert fail_stuck_tasks() == [str(task.pk)]
        task.refresh_from_db()
        assert task.status == "FAILED"
        assert "watchdog" in task.traceback
        photo.refresh_from_db()
        assert photo.measure_status == MeasureStatus.FAILED
        assert "worker died" in photo.measure_error
        assert DBTaskResult.objects.get(args_kwargs__args=[fresh.pk, 1]).status == "RUNNING"
        out = io.StringIO()
        call_command("fail_stuck_tasks", stdout=out)
        assert "No stuck tasks." in out.getvalue()


@pytest.mark.django_db
def test_trichotrack_remeasure_calls_the_command(monkeypatch):
    calls = []
    monkeypatch.setattr(commands, "_prepare", lambda: None)
    monkeypatch.setattr("django.core.management.call_command", lambda *a, **k: calls.append((a, k)))
    assert cli.main(["remeasure", "--all"]) == 0
    assert calls == [(("remeasure",), {"all": True, "enqueue": False})]
    assert cli.main(["remeasure", "--enqueue"]) == 0
    assert calls[-1] == (("remeasure",), {"all": False, "enqueue": True})


def test_the_serve_watchdog_loop_runs_until_stopped(monkeypatch):
    import threading

    runs = []
    stop = threading.Event()

    def fake():
        runs.append(1)
        if len(runs) == 2:
            stop.set()
        if len(runs) == 1:
            raise RuntimeError("database restarting")

    monkeypatch.setattr("trichotrack.web.photos.watchdog.fail_stuck_tasks", fake)
    monkeypatch.setattr("django.db.connection.close", lambda: None)
    commands._watchdog_loop(stop, interval=0.01)
    assert len(runs) == 2


class HairColourTest(PhotoTestCase):
    def test_shed_photos_are_measured_with_the_patients_hair_colour(self):
        data = files.jpeg(files.shed_image(seed=3, n_hairs=4).image)
        plain = self.measured_photo(data=data).current_measurement()
        assert plain.report["hair_colour"] is None
        self.patient.hair_colour = "grey"
        self.patient.save()
        grey = self.measured_photo(data=data).current_measurement()
        assert grey.report["hair_colour"] == "grey"
        assert grey.params["hair_colour"] == "grey"
        assert not grey.countable
        assert grey.hair_count == plain.hair_count
        assert any(p.startswith("Grey hair mixes") for p in grey.problems)
        self.login(self.alice)
        page = self.client.get(reverse("photos:detail", args=[grey.photo.pk])).content.decode()
        assert "measured as grey hair" in page
        page = self.client.get(reverse("photos:detail", args=[plain.photo.pk])).content.decode()
        assert "not given (the patient record has none)" in page

    def test_changing_the_hair_colour_measures_the_shed_photos_again_but_keeps_corrected_counts(self):
        from trichotrack.web.patients.models import HairColour

        corrected = self.measured_photo()
        services.correct_count(
            corrected.current_measurement(), user=self.alice, removed=[], added=[[10, 10]], note="one missed"
        )
        plain = self.measured_photo()
        trichoscopy = self.measured_photo(view=View.TRICHOSCOPY)
        self.login(self.alice)
        url = reverse("patients:edit", args=[self.patient.pk])
        form = self.client.get(url).context["form"]
        assert [value for value, _ in form.fields["hair_colour"].choices if value] == list(HairColour.values)
        post = {k: v for k, v in form.initial.items() if v is not None} | {"hair_colour": HairColour.WHITE}
        post["date_of_birth"] = self.patient.date_of_birth.isoformat()
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(url, post, follow=True)
        said = [str(m) for m in response.context["messages"]]
        assert "Measuring 1 shed-hair photo(s) again with the new hair colour." in said
        assert any(s.startswith("1 shed-hair photo(s) with a count corrected by hand") for s in said)
        run_queued_measurements()
        for photo in (corrected, plain, trichoscopy):
            photo.refresh_from_db()
        assert plain.measure_request == 2
        assert plain.current_measurement().report["hair_colour"] == "white"
        assert corrected.measure_request == 1 and trichoscopy.measure_request == 1
        event = AuditEvent.objects.get(action="patient.changed")
        assert event.data["changed"] == {"hair_colour": ["", "white"]}
        # Saving again without a change measures nothing again.
        post["version"] = self.patient.__class__.objects.get(pk=self.patient.pk).version
        with self.captureOnCommitCallbacks(execute=True):
            self.client.post(url, post)
        plain.refresh_from_db()
        assert plain.measure_request == 2

    def test_the_hair_colours_are_those_the_engine_knows(self):
        from trichotrack.measure.shedding import HAIR_COLOURS
        from trichotrack.web.patients.models import HairColour

        assert tuple(HairColour.values) == HAIR_COLOURS
