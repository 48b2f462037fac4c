import json

from django.urls import reverse

from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.photos import charts, services
from trichotrack.web.photos.models import Correction, Pair, View

from . import files
from .base import PhotoTestCase


class ReviewTest(PhotoTestCase):
    def setUp(self):
        self.photo = self.measured_photo()
        self.m = self.photo.current_measurement()

    def correct(self, removed=(), added=(), user=None):
        self.login(user or self.alice)
        data = {"removed": json.dumps(list(removed)), "added": json.dumps(list(added)), "note": "checked"}
        return self.client.post(reverse("photos:correct", args=[self.photo.pk]), data, follow=True)

    def test_the_page_shows_the_overlay_beside_the_photo_with_the_hairs_for_clicking(self):
        self.login(self.alice)
        page = self.client.get(self.photo.get_absolute_url())
        html = page.content.decode()
        assert reverse("photos:image", args=[self.photo.pk, "overlay"]) in html
        assert reverse("photos:image", args=[self.photo.pk, "derived"]) in html
        assert 'id="hairs-data"' in html
        assert 'id="correction-data"' in html
        assert "photos.js" in html
        overlay = self.client.get(reverse("photos:image", args=[self.photo.pk, "overlay"]))
        assert overlay["Content-Type"] == "image/jpeg"
        assert overlay.content.startswith(b"\xff\xd8\xff")

    def test_an_overlay_stored_as_png_before_the_switch_to_jpeg_is_still_served_as_png(self):
        from django.core.files.base import ContentFile
        from django.core.files.storage import default_storage

        self.m.overlay = default_storage.save(
            "photos/overlays/old.png", ContentFile(files.png(files.asymmetric()))
        )
        self.m.save(update_fields=["overlay"])
        self.login(self.alice)
        overlay = self.client.get(reverse("photos:image", args=[self.photo.pk, "overlay"]))
        assert overlay["Content-Type"] == "image/png"
        assert overlay.content.startswith(b"\x89PNG")

    def test_a_clinician_corrects_the_count_and_the_automatic_value_is_kept(self):
        auto = self.m.hair_count
        response = self.correct(removed=[1], added=[[10, 12], [50.5, 60]])
        assert f"Count corrected to {auto + 1} (automatic: {auto})." in response.content.decode()
        self.m.refresh_from_db()
        assert self.m.hair_count == auto
        assert self.m.final_count == auto + 1
        event = AuditEvent.objects.get(action="photo.count_corrected")
        assert event.data["automatic"] == auto
        assert event.data["corrected"] == auto + 1
        assert event.patient == self.patient
        assert event.actor == self.alice
        # The timeline uses the corrected count
        assert services.shed_series(self.patient)[0][1] == auto + 1

    def test_a_nurse_and_a_researcher_cannot_correct(self):
        for user in (self.bob, self.rita):
            self.client.logout()
            assert self.correct(removed=[1], user=user).status_code == 403
        assert not Correction.objects.exists()

    def test_corrections_outside_the_photo_or_unknown_hairs_are_refused(self):
        n = len(self.m.report["hairs"])
        assert "between 1 and" in self.correct(removed=[n + 1]).content.decode()
        assert "outside the photo" in self.correct(added=[[-1, 5]]).content.decode()
        assert "could not be read" in self.correct(added=["x"]).content.decode()
        assert not Correction.objects.exists()


class TimelineAndPairsTest(PhotoTestCase):
    def test_the_timeline_shows_counts_treatments_baseline_band_and_reference_ranges(self):
        import datetime as dt

        self.give_treatment_consent()
        self.make_procedure()
        treated = self.patient.procedures.get().harvest_at.date()
        self.measured_photo(taken_on=treated - dt.timedelta(days=20))
        self.measured_photo(taken_on=treated - dt.timedelta(days=10))
        self.measured_photo(taken_on=treated)
        self.login(self.alice)
        html = self.client.get(reverse("photos:patient", args=[self.patient.pk])).content.decode()
        assert html.count('class="count"') == 3
        assert 'class="treatment"' in html
        assert 'class="baseline-band"' in html
        for label, mean, sd, _ in charts.REFERENCE_RANGES:
            assert f"{label} {mean:g} ± {sd:g}" in html
        assert "Normal 27.9 ± 12.2" in html and "Telogen effluvium 125.5 ± 62.7" in html

    def test_the_baseline_band_is_the_counts_before_the_first_treatment(self):
        import datetime as dt

        d = dt.date(2026, 1, 1)
        series = [
            (d, 30, "wash"),
            (d + dt.timedelta(days=5), 50, "wash"),
            (d + dt.timedelta(days=40), 90, "wash"),
        ]
        low, mean, high = charts.baseline_band(series, d + dt.timedelta(days=10))
        assert mean == 40
        assert (low, high) == (40 - 14.142135623730951, 40 + 14.142135623730951)
        assert charts.baseline_band(series, d) is None
        svg = charts.shed_timeline_svg([], treatments=[])
        assert "No measured shed-hair photos yet." in svg

    def test_a_before_after_pair_gets_registered_and_a_verdict(self):
        import datetime as dt

        base_image = files.shed_image(seed=7, n_hairs=12, shape=(360, 480)).image
        first = self.add_photo(
            base_image, view=View.VERTEX, taken_on=dt.date(2026, 1, 10), hair_state=["washed"]
        )
        second = self.add_photo(
            base_image[10:, 12:],
            view=View.VERTEX,
            taken_on=dt.date(2026, 3, 1),
            hair_state=["washed", "product"],
        )
        self.login(self.alice)
        response = self.client.post(
            reverse("photos:pair_create", args=[self.patient.pk]),
            {"baseline": second.pk, "followup": first.pk},
        )
        pair = Pair.objects.get()
        assert response["Location"] == pair.get_absolute_url()
        assert (pair.baseline, pair.followup) == (first, second)  # ordered by date
        assert pair.registration["found"]
        assert pair.verdict == "caution"
        assert any("Hair state differs" in r for r in pair.reasons)
        page = self.client.get(pair.get_absolute_url()).content.decode()
        assert "Verdict: Compare with caution" in page
        assert 'id="ba-range"' in page
        image = self.client.get(reverse("photos:pair_image", args=[pair.pk]))
        assert image["Content-Type"] == "image/jpeg"
        assert image.content.startswith(b"\xff\xd8")
        assert AuditEvent.objects.filter(action="photo.pair_created").exists()

    def test_a_follow_up_saved_sideways_is_turned_into_the_baselines_frame_before_registering(self):
        import datetime as dt

        import numpy as np

        upright = files.shed_image(seed=7, n_hairs=12, shape=(360, 480)).image
        first = self.add_photo(upright, view=View.VERTEX, taken_on=dt.date(2026, 1, 10))
        # Saved a quarter turn clockwise, no EXIF: one turn counter-clockwise makes it upright.
        second = self.add_photo(np.rot90(upright, k=-1), view=View.VERTEX, taken_on=dt.date(2026, 3, 1))
        assert services.compare_photos(first, second).registration["followup_quarter_turns"] == 0
        second.orientation_turns = 1  # as "Which way is up?" records it
        second.save(update_fields=["orientation_turns"])
        result = services.compare_photos(first, second)
        assert result.registration["followup_quarter_turns"] == 1
        assert result.registration["found"]
        assert abs(result.registration["rotation_deg"]) < 2
        assert abs(result.registration["scale"] - 1) < 0.02
        self.login(self.alice)
        self.client.post(
            reverse("photos:pair_create", args=[self.patient.pk]),
            {"baseline": first.pk, "followup": second.pk},
        )
        page = self.client.get(Pair.objects.get().get_absolute_url()).content.decode()
        assert "after turning the follow-up 90° counter-clockwise into the baseline's orientation" in page

    def test_the_pair_page_shows_both_photos_upright_and_small(self):
        import datetime as dt
        import io

        import numpy as np
        from PIL import Image

        upright = files.shed_image(seed=7, n_hairs=12, shape=(360, 480)).image
        first = self.add_photo(upright, view=View.VERTEX, taken_on=dt.date(2026, 1, 10))
        second = self.add_photo(np.rot90(upright, k=-1), view=View.VERTEX, taken_on=dt.date(2026, 3, 1))
        second.orientation_turns = 1
        second.save(update_fields=["orientation_turns"])
        self.login(self.alice)
        self.client.post(
            reverse("photos:pair_create", args=[self.patient.pk]),
            {"baseline": first.pk, "followup": second.pk},
        )
        page = self.client.get(Pair.objects.get().get_absolute_url()).content.decode()
        preview = reverse("photos:image", args=[second.pk, "preview"])
        assert preview in page and reverse("photos:image", args=[second.pk, "derived"]) not in page
        # Stored as a portrait (480 x 360 turned), shown as the landscape it was taken as.
        response = self.client.get(preview)
        shown = np.asarray(Image.open(io.BytesIO(response.content)).convert("L"), float)
        assert shown.shape == (360, 480)
        expected = np.asarray(Image.fromarray(upright).convert("L"), float)
        assert np.abs(shown - expected).mean() < 8  # the same picture, JPEG apart
        # Unchanged since: the browser's copy stands, nothing is decoded again.
        again = self.client.get(preview, headers={"If-None-Match": response["ETag"]})
        assert again.status_code == 304
        second.orientation_turns = 0  # someone says it was upright after all: a new picture
        second.save(update_fields=["orientation_turns"])
        changed = self.client.get(preview, headers={"If-None-Match": response["ETag"]})
        assert changed.status_code == 200 and changed["ETag"] != response["ETag"]

    def test_a_large_photo_is_previewed_small(self):
        import io

        import numpy as np
        from PIL import Image

        big = np.full((3000, 4000, 3), 200, np.uint8)
        photo = self.add_photo(big, view=View.SHED)
        self.login(self.alice)
        response = self.client.get(reverse("photos:image", args=[photo.pk, "preview"]))
        assert max(Image.open(io.BytesIO(response.content)).size) == 1600

    def test_upright_turns_come_from_a_person_first_then_a_usable_scalp_measurement(self):
        photo = self.add_photo(view=View.VERTEX)
        assert services.upright_turns(photo) == 0  # not measured yet: as stored
        sizes = {"kind": "scalp", "analysed_width_px": 640, "analysed_height_px": 480, "seconds": 0.1}
        photo.measurements.create(request_no=1, report={"usable": True, "quarter_turns": 3}, **sizes)
        assert services.upright_turns(photo) == 3
        photo.measurements.create(request_no=2, report={"usable": False, "quarter_turns": 1}, **sizes)
        assert services.upright_turns(photo) == 0  # an unusable measurement's guess is not used
        photo.orientation_turns = 2
        assert services.upright_turns(photo) == 2
        assert services.upright_turns(self.add_photo(view=View.SHED)) == 0

    def test_photos_of_different_views_are_not_paired(self):
        a = self.add_photo(view=View.VERTEX)
        b = self.add_photo(view=View.FRONTAL)
        self.login(self.alice)
        response = self.client.post(
            reverse("photos:pair_create", args=[self.patient.pk]),
            {"baseline": a.pk, "followup": b.pk},
            follow=True,
        )
        assert "Pair photos of the same view." in response.content.decode()
        assert not Pair.objects.exists()
