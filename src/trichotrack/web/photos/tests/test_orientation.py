"""Which way is up: a person sets the quarter turns of a global photo when the scalp core cannot tell."""

import cv2
import numpy as np
from django.urls import reverse

from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.photos.models import Measurement, View

from . import files
from .base import PhotoTestCase, run_queued_measurements


def round_head():
    """A head with nothing that tells up from down: skin in a ring of hair on a plain wall."""
    image = np.full((240, 240, 3), (150, 170, 190), np.uint8)
    cv2.circle(image, (120, 120), 80, (40, 30, 25), -1)
    cv2.circle(image, (120, 120), 60, (205, 150, 120), -1)
    noise = np.random.default_rng(0).normal(0, 2, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


class OrientationTest(PhotoTestCase):
    def uncertain_photo(self):
        photo = self.measured_photo(data=files.jpeg(round_head()), view=View.TEMPORAL_LEFT)
        m = photo.current_measurement()
        assert m.usable is False
        assert any(p.startswith("orientation uncertain") for p in m.problems)
        return photo

    def choose(self, photo, turns, user=None):
        self.login(user or self.alice)
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(
                reverse("photos:orientation", args=[photo.pk]), {"turns": turns}, follow=True
            )
        run_queued_measurements()
        photo.refresh_from_db()
        return response

    def test_an_uncertain_photo_shows_the_four_turns_in_a_warning_box(self):
        photo = self.uncertain_photo()
        self.login(self.alice)
        html = self.client.get(photo.get_absolute_url()).content.decode()
        assert '<section class="panel note" id="orientation"><h2>Which way is up?</h2>' in html
        assert reverse("photos:orientation", args=[photo.pk]) in html
        for turns in range(4):
            assert f'name="turns" value="{turns}" class="turn turn-{turns}"' in html
        assert "found from the photo" in html
        assert 'value="auto"' not in html  # nothing set yet: nothing to undo

    def test_choosing_a_turn_measures_the_photo_again_that_way_and_is_audited(self):
        photo = self.uncertain_photo()
        before = photo.current_measurement()
        response = self.choose(photo, "0")
        assert "Orientation set (turned 0° counter-clockwise)" in response.content.decode()
        assert photo.orientation_turns == 0 and photo.orientation_set_by == self.alice
        assert photo.orientation_set_at is not None
        m = photo.current_measurement()
        assert m.request_no == before.request_no + 1
        assert m.params["orientation"] == 0 and m.report["quarter_turns"] == 0
        assert m.usable is True and m.problems == [] and m.scalp_visible_fraction is not None
        assert before.params["orientation"] == "auto"  # the old measurement is kept as it was
        event = AuditEvent.objects.get(action="photo.orientation_set", target_id=str(photo.pk))
        assert event.actor == self.alice and event.patient == self.patient
        assert event.data == {"changed": {"orientation_turns": [None, 0]}}
        html = self.client.get(photo.get_absolute_url()).content.decode()
        assert f"set by {self.alice}" in html and "upright as taken" in html
        assert 'id="orientation"><h2>' not in html  # no longer uncertain: a small link only
        assert '<details class="orientation" id="orientation">' in html
        assert 'value="0" class="turn turn-0" aria-pressed="true"' in html

    def test_a_turn_is_applied_and_can_be_given_back_to_the_picture(self):
        photo = self.measured_photo(data=files.jpeg(files.head("front").image), view=View.FRONTAL)
        found = photo.current_measurement()
        assert found.params["orientation"] == "auto"
        self.choose(photo, "1", user=self.bob)  # a nurse may set it too
        m = photo.current_measurement()
        assert m.params["orientation"] == 1 and m.report["quarter_turns"] == 1
        assert photo.orientation_set_by == self.bob
        self.choose(photo, "auto")
        assert photo.orientation_turns is None and photo.orientation_set_by is None
        m = photo.current_measurement()
        assert (
            m.params["orientation"] == "auto" and m.report["quarter_turns"] == found.report["quarter_turns"]
        )
        assert m.scalp_visible_fraction == found.scalp_visible_fraction
        changes = [
            e.data["changed"]["orientation_turns"]
            for e in AuditEvent.objects.filter(action="photo.orientation_set").order_by("id")
        ]
        assert changes == [[None, 1], [1, None]]
        html = self.client.get(photo.get_absolute_url()).content.decode()
        assert "found from the photo" in html and "set by" not in html

    def test_an_invalid_value_is_refused_with_a_message_and_changes_nothing(self):
        photo = self.uncertain_photo()
        for value in ("4", "-1", "1.5", "up", ""):
            response = self.choose(photo, value)
            assert "Choose one of the four pictures" in response.content.decode(), value
        assert photo.orientation_turns is None and photo.measure_request == 1
        assert Measurement.objects.filter(photo=photo).count() == 1
        assert not AuditEvent.objects.filter(action="photo.orientation_set").exists()

    def test_a_shed_hair_photo_has_no_orientation_to_set(self):
        photo = self.measured_photo()
        response = self.choose(photo, "1")
        assert "Only global-view photos have an orientation" in response.content.decode()
        assert photo.orientation_turns is None and photo.measure_request == 1
        assert "Which way is up?" not in response.content.decode()

    def test_researchers_see_the_orientation_used_but_not_the_control(self):
        photo = self.uncertain_photo()
        self.choose(photo, "2")
        self.client.logout()
        self.login(self.rita)
        html = self.client.get(photo.get_absolute_url()).content.decode()
        assert "turned 180° counter-clockwise" in html
        assert "Which way is up?" not in html
        assert reverse("photos:orientation", args=[photo.pk]) not in html
        assert (
            self.client.post(reverse("photos:orientation", args=[photo.pk]), {"turns": "0"}).status_code
            == 403
        )
        photo.refresh_from_db()
        assert photo.orientation_turns == 2

    def test_another_clinic_gets_404_and_changes_nothing(self):
        photo = self.uncertain_photo()
        self.login(self.charlie)
        response = self.client.post(reverse("photos:orientation", args=[photo.pk]), {"turns": "0"})
        assert response.status_code == 404
        photo.refresh_from_db()
        assert photo.orientation_turns is None and photo.measure_request == 1

    def test_a_get_is_not_allowed(self):
        photo = self.uncertain_photo()
        self.login(self.alice)
        assert self.client.get(reverse("photos:orientation", args=[photo.pk])).status_code == 405
