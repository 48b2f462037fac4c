"""Trichoscopy and global views measured through the same task as shed hairs; target site, stage, timeline,
before/after change (issues 6 and 7, app part)."""

import datetime as dt
import io
import math

import pytest
from django.core.management import call_command
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone

from trichotrack.measure import scalp as scalp_core
from trichotrack.measure import trichoscopy as trichoscopy_core
from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.photos import analysis, charts, services
from trichotrack.web.photos.models import (
    CORE_VIEWS,
    HAIRLINE_RECESSION_SD,
    SCALP_FRACTION_SD,
    SCALP_FRACTION_SD_BY_VIEW,
    Measurement,
    MeasurementKind,
    MeasureStatus,
    Pair,
    Photo,
    StageEstimate,
    TargetSite,
    View,
)
from trichotrack.web.test import make_patient

from . import files
from .base import PhotoTestCase, give_photo_consent, run_queued_measurements

HALF_WIDTH = 1.959964 * math.sqrt(2) * SCALP_FRACTION_SD  # the pair interval's half-width


class TrichoscopyTest(PhotoTestCase):
    def test_a_trichoscopy_image_is_measured_with_the_device_scale(self):
        self.login(self.alice)
        data = files.jpeg(files.trichoscopy(3).image)
        photo = self.measured_photo(data=data, view=View.TRICHOSCOPY, field_width_mm=3.6)
        m = photo.current_measurement()
        assert photo.measure_status == MeasureStatus.DONE
        assert photo.mm_per_px == pytest.approx(3.6 / 320)
        assert m.kind == MeasurementKind.TRICHOSCOPY
        assert (m.algorithm, m.version) == (trichoscopy_core.ALGORITHM, trichoscopy_core.VERSION)
        assert m.params and m.overlay.name.endswith(".jpg")
        core = analysis.measure_trichoscopy_photo(data, mm_per_px=photo.mm_per_px).fields
        assert (m.hair_count, m.count_low, m.count_high) == (
            core["hair_count"],
            core["count_low"],
            core["count_high"],
        )
        assert m.hair_count > 0
        assert m.density_per_cm2 == core["density_per_cm2"]
        # Density is the count over the analysed field, and the count interval gives its interval.
        assert m.density_per_cm2 == pytest.approx(m.hair_count / (m.field_mm2 / 100), rel=0.01)
        low, high = m.density_interval_per_cm2
        assert low <= m.density_per_cm2 <= high
        assert m.thin_hair_fraction == core["thin_hair_fraction"] is not None
        assert {"hair_count", "density_per_cm2", "thin_hair_fraction", "vellus_fraction", "hairs"} <= set(
            m.report
        )
        page = self.client.get(photo.get_absolute_url()).content.decode()
        assert f"{m.density_per_cm2:.0f} hairs/cm²" in page
        assert "Thin hairs (&lt; 30 µm)" in page
        assert 'id="overlay-figure"' in page  # the hairs can be corrected as for shed hairs
        audit = AuditEvent.objects.get(action="photo.measured", target_id=str(photo.pk))
        assert audit.data["kind"] == "trichoscopy"

    def test_without_a_scale_it_counts_but_gives_no_density(self):
        self.login(self.alice)
        photo = self.measured_photo(data=files.jpeg(files.trichoscopy(4).image), view=View.TRICHOSCOPY)
        m = photo.current_measurement()
        assert m.hair_count is not None and m.density_per_cm2 is None and m.thin_hair_fraction is None
        assert m.scale_source == "none"
        page = self.client.get(photo.get_absolute_url()).content.decode()
        assert "not known: give the image width on the scalp" in page

    def test_a_corrected_count_corrects_the_density(self):
        photo = self.measured_photo(
            data=files.jpeg(files.trichoscopy(3).image), view=View.TRICHOSCOPY, field_width_mm=3.6
        )
        m = photo.current_measurement()
        services.correct_count(m, user=self.alice, removed=[1], added=[[10, 10], [20, 20]])
        assert m.final_count == m.hair_count + 1
        assert m.final_density_per_cm2 == pytest.approx((m.hair_count + 1) / (m.field_mm2 / 100))
        (row,) = services.trichoscopy_series(self.patient)
        assert row["count"] == m.hair_count + 1
        assert row["density"] == pytest.approx(m.final_density_per_cm2)


class GlobalViewTest(PhotoTestCase):
    def test_each_app_view_has_its_core_view(self):
        assert CORE_VIEWS == {
            View.FRONTAL: "front",
            View.VERTEX: "top",
            View.MIDPART: "part",
            View.TEMPORAL_LEFT: "left",
            View.TEMPORAL_RIGHT: "right",
        }
        assert set(CORE_VIEWS.values()) <= set(scalp_core.VIEWS)

    def test_a_vertex_photo_is_measured_as_the_core_top_view_with_its_error_band(self):
        self.login(self.alice)
        data = files.jpeg(files.head("top", norwood_stage=6).image)
        photo = self.measured_photo(data=data, view=View.VERTEX)
        m = photo.current_measurement()
        assert m.kind == MeasurementKind.SCALP
        assert (m.algorithm, m.version) == (scalp_core.ALGORITHM, scalp_core.VERSION)
        assert m.report["view"] == "top" and m.params
        core = analysis.measure_global_photo(data, view="top").fields
        assert m.scalp_visible_fraction == core["scalp_visible_fraction"]
        assert m.usable is True and m.hair_count is None
        low, high = m.scalp_fraction_interval
        assert low == pytest.approx(max(m.scalp_visible_fraction - 1.96 * SCALP_FRACTION_SD, 0))
        assert high == pytest.approx(min(m.scalp_visible_fraction + 1.96 * SCALP_FRACTION_SD, 1))
        assert m.overlay.name.endswith(".jpg")
        assert self.client.get(reverse("photos:image", args=[photo.pk, "overlay"])).status_code == 200
        status = self.client.get(reverse("photos:status", args=[photo.pk])).json()
        assert status["kind"] == "scalp" and status["hair_count"] is None
        assert status["scalp_visible_fraction"] == m.scalp_visible_fraction
        assert status["summary"].startswith(
            f"visible scalp {m.scalp_visible_fraction:.0%} ± {1.96 * SCALP_FRACTION_SD:.0%}"
        )
        page = self.client.get(photo.get_absolute_url()).content.decode()
        assert f"± 1.96 × SD {SCALP_FRACTION_SD}" in page
        assert "Overlay: visible scalp tinted" in page
        assert 'id="correction-form"' not in page  # nothing to correct in a global view

    def test_the_session_and_photo_pages_show_progress_then_the_results(self):
        self.login(self.alice)
        session = services.new_session(self.patient, user=self.alice)
        photo = self.add_photo(data=files.jpeg(files.head("top").image), view=View.VERTEX, session=session)
        status_url = reverse("photos:status", args=[photo.pk])
        page = self.client.get(session.get_absolute_url()).content.decode()
        assert f'data-poll-url="{status_url}"' in page and "Waiting for a worker" in page
        assert f'data-status-url="{status_url}"' in self.client.get(photo.get_absolute_url()).content.decode()
        run_queued_measurements()
        m = photo.current_measurement()
        page = self.client.get(session.get_absolute_url()).content.decode()
        assert "data-poll-url" not in page
        assert f"visible scalp {round(100 * m.scalp_visible_fraction)} %" in page
        assert "Estimated stage: <strong>Ludwig" in page

    def test_more_baldness_gives_a_larger_visible_scalp_fraction(self):
        full = self.measured_photo(
            data=files.jpeg(files.head("top", 2, norwood_stage=1).image), view=View.VERTEX
        )
        bald = self.measured_photo(
            data=files.jpeg(files.head("top", 2, norwood_stage=6).image), view=View.VERTEX
        )
        f_full = full.current_measurement().scalp_visible_fraction
        f_bald = bald.current_measurement().scalp_visible_fraction
        assert f_bald > f_full + 0.3

    def test_the_frontal_view_stores_the_hairline_and_the_midpart_its_part(self):
        self.login(self.alice)
        front = self.measured_photo(data=files.jpeg(files.head("front").image), view=View.FRONTAL)
        m = front.current_measurement()
        assert m.report["view"] == "front"
        assert m.hairline_recession_index == m.report["hairline"]["recession_index"] is not None
        assert m.hairline_midline_depth_fraction == m.report["hairline"]["midline_depth_fraction"]
        assert m.scalp_fraction_sd == SCALP_FRACTION_SD_BY_VIEW[View.FRONTAL] == 0.055
        low, high = m.hairline_recession_interval
        assert low == pytest.approx(max(m.hairline_recession_index - 1.96 * HAIRLINE_RECESSION_SD, 0))
        assert high == pytest.approx(min(m.hairline_recession_index + 1.96 * HAIRLINE_RECESSION_SD, 1))
        page = self.client.get(front.get_absolute_url()).content.decode()
        assert "recession index" in page and f"± 1.96 × SD {HAIRLINE_RECESSION_SD}" in page
        assert "± 1.96 × SD 0.055" in page
        part = self.measured_photo(data=files.jpeg(files.head("part").image), view=View.MIDPART)
        pm = part.current_measurement()
        assert pm.report["view"] == "part" and pm.part_width_mm is None  # no scale given
        assert "not in mm (no scale given)" in self.client.get(part.get_absolute_url()).content.decode()
        left = self.measured_photo(data=files.jpeg(files.head("front", 3).image), view=View.TEMPORAL_LEFT)
        assert left.current_measurement().report["view"] == "left"

    def test_a_failed_global_measurement_can_be_requested_again(self):
        self.login(self.alice)
        photo = self.add_photo(data=files.jpeg(files.head("top").image), view=View.VERTEX)
        from unittest import mock

        with mock.patch("trichotrack.web.photos.analysis.measure_global_photo", side_effect=ValueError("x")):
            assert run_queued_measurements() == ["failed"]
        with self.captureOnCommitCallbacks(execute=True):
            self.client.post(reverse("photos:measure", args=[photo.pk]))
        assert run_queued_measurements() == ["measured"]

    def test_remeasure_covers_trichoscopy_and_global_views_and_updates_the_stage(self):
        session = services.new_session(self.patient, user=self.alice)
        vertex = self.measured_photo(
            data=files.jpeg(files.head("top").image), view=View.VERTEX, session=session
        )
        tricho = self.measured_photo(
            data=files.jpeg(files.trichoscopy(2).image), view=View.TRICHOSCOPY, field_width_mm=3.6
        )
        Measurement.objects.update(version="0.0.1")
        out = io.StringIO()
        call_command("remeasure", stdout=out, stderr=io.StringIO())
        assert "2 photo(s) remeasured" in out.getvalue()
        assert "trichotrack.scalp" in out.getvalue() and "trichoscopy" in out.getvalue()
        for photo, version in ((vertex, scalp_core.VERSION), (tricho, trichoscopy_core.VERSION)):
            photo.refresh_from_db()
            assert photo.measurements.count() == 2
            assert photo.current_measurement().version == version
        estimate = StageEstimate.objects.get(session=session)
        assert estimate.source_measurements == [vertex.current_measurement().pk]


class StageTest(PhotoTestCase):
    def global_session(self, patient, *, stage=6):
        session = services.new_session(patient, user=self.alice)
        for view, image in (
            (View.VERTEX, files.head("top", norwood_stage=stage).image),
            (View.FRONTAL, files.head("front").image),
        ):
            checked = services.check_files([files.upload("p.jpg", files.jpeg(image))])
            with self.captureOnCommitCallbacks(execute=True):
                services.store_photos(session, checked, user=self.alice, view=view)
        run_queued_measurements()
        return session

    def test_a_man_gets_a_norwood_stage_from_his_global_views(self):
        man = make_patient(self.clinic, "A-002", sex="M")
        give_photo_consent(man, self.definitions, self.alice)
        session = self.global_session(man)
        estimate = StageEstimate.objects.get(session=session)
        vertex = session.photos.get(view=View.VERTEX).current_measurement()
        front = session.photos.get(view=View.FRONTAL).current_measurement()
        assert estimate.scale == "norwood" and estimate.patient == man
        assert estimate.measurements["top.scalp_visible_fraction"] == round(vertex.scalp_visible_fraction, 4)
        assert estimate.measurements["front.recession_index"] == round(front.hairline_recession_index, 4)
        assert sorted(estimate.source_measurements) == sorted([vertex.pk, front.pk])
        assert sum(estimate.probabilities.values()) == pytest.approx(1, abs=0.01)
        core = analysis.estimate_stage(
            {
                "top.scalp_visible_fraction": vertex.scalp_visible_fraction,
                "front.recession_index": front.hairline_recession_index,
            },
            sex="male",
        )
        assert estimate.stage == core.stage and estimate.stage >= 5  # a Norwood VI head seen from above
        self.login(self.alice)
        page = self.client.get(session.get_absolute_url()).content.decode()
        assert f"Norwood–Hamilton {estimate.stage_label}" in page
        assert "top.scalp_visible_fraction" in page and "Probability of each stage" in page
        timeline = self.client.get(reverse("photos:patient", args=[man.pk])).content.decode()
        assert 'class="chart small stage"' in timeline
        record = self.client.get(reverse("patients:detail", args=[man.pk])).content.decode()
        assert f"Estimated from photos ({session.taken_on:%d %b %Y}): " in record
        assert f"<strong>Norwood–Hamilton {estimate.stage_label}</strong>" in record

    def test_a_woman_gets_a_ludwig_grade(self):
        session = self.global_session(self.patient, stage=1)
        estimate = StageEstimate.objects.get(session=session)
        assert estimate.scale == "ludwig" and estimate.stage in (0, 1, 2, 3)
        assert set(estimate.probabilities) == {"0", "1", "2", "3"}

    def test_no_scale_applies_when_the_sex_is_not_recorded_as_female_or_male(self):
        other = make_patient(self.clinic, "A-003", sex="X")
        give_photo_consent(other, self.definitions, self.alice)
        session = self.global_session(other)
        estimate = StageEstimate.objects.get(session=session)
        assert estimate.stage is None and estimate.scale == ""
        assert "neither Norwood (men) nor Ludwig (women) applies" in estimate.problems[-1]
        self.login(self.alice)
        assert "neither Norwood" in self.client.get(session.get_absolute_url()).content.decode()


class TargetSiteTest(PhotoTestCase):
    def upload(self, session, **fields):
        data = files.jpeg(files.trichoscopy(1).image)
        post = {"view": "trichoscopy", "files": [files.upload("t.jpg", data)], "field_width_mm": "3.6"}
        return self.client.post(reverse("photos:upload", args=[session.pk]), post | fields, follow=True)

    def test_the_site_is_marked_once_and_reused_at_every_later_visit(self):
        self.login(self.alice)
        first = services.new_session(
            self.patient, user=self.alice, taken_on=timezone.localdate() - dt.timedelta(days=60)
        )
        page = self.client.get(first.get_absolute_url()).content.decode()
        assert 'id="scalp-diagram"' in page and "Click the scalp to mark the site" in page
        self.upload(first, site="Frontal mid-line", site_x="100", site_y="70")
        site = TargetSite.objects.get()
        assert (site.label, site.x, site.y) == ("Frontal mid-line", 100.0, 70.0)
        assert AuditEvent.objects.filter(action="photo.target_site_marked").count() == 1
        later = services.new_session(self.patient, user=self.alice)
        page = self.client.get(later.get_absolute_url()).content.decode()
        assert 'value="Frontal mid-line"' in page and 'value="100.0"' in page and 'value="70.0"' in page
        assert 'transform="translate(100.0,70.0)"' in page and "used again" in page
        assert 'value="3.6"' in page  # the device's field width, pre-filled too
        self.upload(later, site="Frontal mid-line", site_x="100.0", site_y="70.0")
        self.upload(later, site="")  # nothing given: the current site
        assert TargetSite.objects.count() == 1
        photos = Photo.objects.filter(view=View.TRICHOSCOPY)
        assert photos.count() == 3 and {p.target_site_id for p in photos} == {site.pk}
        assert {p.site for p in photos} == {"Frontal mid-line"}
        assert photos.first().mm_per_px == pytest.approx(3.6 / 320)
        timeline = self.client.get(reverse("photos:patient", args=[self.patient.pk])).content.decode()
        assert "Target site: <strong>Frontal mid-line</strong>" in timeline

    def test_moving_the_site_keeps_the_old_photos_at_theirs(self):
        self.login(self.alice)
        session = services.new_session(self.patient, user=self.alice)
        self.upload(session, site="Frontal mid-line", site_x="100", site_y="70")
        self.upload(session, site="Vertex", site_x="100", site_y="135")
        old, new = TargetSite.objects.order_by("id")
        assert services.current_target_site(self.patient) == new
        assert list(Photo.objects.order_by("id").values_list("target_site", flat=True)) == [old.pk, new.pk]

    def test_a_site_off_the_scalp_or_missing_is_refused_and_nothing_is_stored(self):
        self.login(self.alice)
        session = services.new_session(self.patient, user=self.alice)
        response = self.upload(session, site="Ear", site_x="2", site_y="2")
        assert "The target site must be on the scalp in the diagram." in response.content.decode()
        response = self.upload(session, site="Somewhere")
        assert "Mark the target site on the scalp diagram." in response.content.decode()
        response = self.upload(session, site="Half", site_x="100")
        assert "Give both coordinates of the site" in response.content.decode()
        assert not Photo.objects.exists() and not TargetSite.objects.exists()

    def test_the_session_page_with_a_site_and_a_stage_keeps_its_access_rules(self):
        session = services.new_session(self.patient, user=self.alice)
        services.choose_target_site(self.patient, label="Vertex", x=100, y=135, user=self.alice)
        url = session.get_absolute_url()
        for user, code in ((self.alice, 200), (self.bob, 200), (self.rita, 200), (self.charlie, 404)):
            self.login(user)
            assert self.client.get(url).status_code == code, user
        self.login(self.pat)
        assert self.client.get(url).status_code == 403
        self.client.logout()
        assert self.client.get(url)["Location"].startswith(reverse("login"))


class PairChangeTest(PhotoTestCase):
    def test_the_interval_is_one_point_nine_six_root_two_sd(self):
        inside = services.scalp_change(0.40, 0.45)
        assert inside["half_width"] == pytest.approx(HALF_WIDTH, rel=1e-4)
        assert (inside["low"], inside["high"]) == (
            pytest.approx(0.05 - HALF_WIDTH),
            pytest.approx(0.05 + HALF_WIDTH),
        )
        assert not inside["beyond_error"]
        assert inside["sentence"].startswith("No change beyond measurement error: +5 percentage points")
        beyond = services.scalp_change(0.40, 0.20)
        assert beyond["beyond_error"]
        assert beyond["sentence"].startswith(
            "Less scalp visible: −20 percentage points (95 % interval −33 to −7 percentage points)"
        )
        assert "says nothing yet about the cause" in beyond["sentence"]
        assert services.scalp_change(0.2, 0.5)["sentence"].startswith("More scalp visible: +30")

    def test_the_pair_page_shows_the_measured_change_beside_the_verdict(self):
        self.login(self.alice)
        image = files.head("top").image
        base = self.measured_photo(
            data=files.jpeg(image), view=View.VERTEX, taken_on=timezone.localdate() - dt.timedelta(days=90)
        )
        follow = self.measured_photo(data=files.jpeg(image), view=View.VERTEX)
        pair = Pair.objects.create(patient=self.patient, baseline=base, followup=follow, verdict="comparable")
        Measurement.objects.filter(photo=base).update(scalp_visible_fraction=0.40)
        Measurement.objects.filter(photo=follow).update(scalp_visible_fraction=0.42)
        page = self.client.get(pair.get_absolute_url()).content.decode()
        assert "Verdict: Comparable" in page
        assert "Measured change of the visible scalp</strong> (40 % → 42 %)" in page
        assert "No change beyond measurement error: +2 percentage points" in page
        Measurement.objects.filter(photo=follow).update(scalp_visible_fraction=0.15)
        Pair.objects.filter(pk=pair.pk).update(verdict="caution")
        page = self.client.get(pair.get_absolute_url()).content.decode()
        assert "Less scalp visible: −25 percentage points" in page
        assert "part of any change may come from how they were taken" in page
        front_base = self.measured_photo(data=files.jpeg(files.head("front").image), view=View.FRONTAL)
        front_follow = self.measured_photo(data=files.jpeg(files.head("front", 2).image), view=View.FRONTAL)
        front_pair = Pair.objects.create(
            patient=self.patient, baseline=front_base, followup=front_follow, verdict="comparable"
        )
        change = services.pair_change(front_pair)
        assert change["sd"] == 0.055 and change["half_width"] == pytest.approx(
            1.959964 * math.sqrt(2) * 0.055
        )
        Measurement.objects.filter(photo=follow).update(usable=False)
        page = self.client.get(pair.get_absolute_url()).content.decode()
        assert "appears when both photos are measured and usable" in page
        self.login(self.charlie)
        assert self.client.get(pair.get_absolute_url()).status_code == 404


class TrichoscopyPairTest(PhotoTestCase):
    def test_a_trichoscopy_pair_shows_both_densities_with_their_intervals(self):
        self.login(self.alice)
        earlier = timezone.localdate() - dt.timedelta(days=90)
        base = self.measured_photo(
            data=files.jpeg(files.trichoscopy(3).image),
            view=View.TRICHOSCOPY,
            field_width_mm=3.6,
            taken_on=earlier,
        )
        follow = self.measured_photo(
            data=files.jpeg(files.trichoscopy(4).image), view=View.TRICHOSCOPY, field_width_mm=3.6
        )
        pair = Pair.objects.create(patient=self.patient, baseline=base, followup=follow, verdict="comparable")
        b, f = base.current_measurement(), follow.current_measurement()
        page = self.client.get(pair.get_absolute_url()).content.decode()
        low, high = b.density_interval_per_cm2
        d = lambda v: floatformat(v, 0)  # noqa: E731 — as the template rounds
        expected = (
            f"{d(b.density_per_cm2)} hairs/cm² (count interval {d(low)}–{d(high)}) → {d(f.density_per_cm2)}"
        )
        assert expected in page
        assert "Measured change of the visible scalp" not in page


class TimelineTest(PhotoTestCase):
    def test_the_timeline_shows_density_thin_hairs_visible_scalp_and_treatments(self):
        self.login(self.alice)
        today = timezone.localdate()
        for days_ago, stage in ((120, 6), (10, 5)):
            self.measured_photo(
                data=files.jpeg(files.head("top", norwood_stage=stage).image),
                view=View.VERTEX,
                taken_on=today - dt.timedelta(days=days_ago),
            )
        self.measured_photo(
            data=files.jpeg(files.trichoscopy(5).image), view=View.TRICHOSCOPY, field_width_mm=3.6
        )
        page = self.client.get(reverse("photos:patient", args=[self.patient.pk])).content.decode()
        assert 'class="chart small density"' in page and 'class="chart small thin"' in page
        assert 'class="chart small scalp"' in page and 'class="error-band"' in page
        assert "Vertex · visible scalp" in page and "Trichoscopy · " in page and "/cm²" in page
        assert f"± {round(196 * SCALP_FRACTION_SD)} percentage points" in page

    def test_small_charts_mark_treatments_and_error_bars(self):
        day = dt.date(2026, 1, 10)
        rows = [
            {"day": day, "value": 0.4, "low": 0.3, "high": 0.5},
            {"day": day + dt.timedelta(days=60), "value": 0.3, "low": 0.2, "high": 0.4},
        ]
        svg = charts.scalp_fraction_svg(rows, treatments=[day + dt.timedelta(days=5)], view_label="Vertex")
        assert svg.count('class="error-bar"') == 2 and 'class="error-band"' in svg
        assert "Treatment 15 Jan 2026" in svg
        assert "10 Jan 2026: 40% (30%–50%)" in svg
        empty = charts.density_svg([], treatments=[])
        assert "No trichoscopy image with a scale yet." in empty

    def test_a_day_label_writes_every_date_of_a_chart(self):
        day = dt.date(2026, 1, 10)
        rows = [{"day": day, "value": 0.4, "low": 0.3, "high": 0.5}]
        treated = day + dt.timedelta(days=5)
        label = lambda d: f"day {(d - treated).days:+d}"  # noqa: E731
        small = charts.scalp_fraction_svg(rows, treatments=[treated], view_label="Vertex", day_label=label)
        shed = charts.shed_timeline_svg([(day, 40, "wash")], treatments=[treated], day_label=label)
        for svg in (small, shed):
            assert "Treatment day +0" in svg and "day -5: 40" in svg and ">day -12</text>" in svg
            assert "Jan" not in svg and "2026" not in svg


class DeidentifiedPhotoPagesTest(PhotoTestCase):
    def test_staff_see_the_dates_and_a_researcher_days_from_the_first_treatment(self):
        from trichotrack.web.procedures.models import Procedure

        day = dt.date(2025, 3, 14)
        image = files.jpeg(files.head("top").image)
        base = self.add_photo(data=image, view=View.VERTEX, taken_on=day)
        follow = self.add_photo(data=image, view=View.VERTEX, taken_on=day + dt.timedelta(days=40))
        pair = Pair.objects.create(patient=self.patient, baseline=base, followup=follow, verdict="comparable")
        moment = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=10), dt.time(9, 0)))
        Procedure.objects.create(clinic=self.clinic, patient=self.patient, harvest_at=moment)
        urls = [
            reverse("photos:patient", args=[self.patient.pk]),
            base.session.get_absolute_url(),
            base.get_absolute_url(),
            pair.get_absolute_url(),
        ]
        self.login(self.alice)
        for url in urls:
            page = self.client.get(url).content.decode()
            assert "14 Mar 2025" in page and "day −10" not in page, url
        self.login(self.rita)
        for url in urls:
            page = self.client.get(url).content.decode()
            assert "day −10" in page, url
            for date in ("14 Mar", "23 Apr", "Mar 2025", "2025-03-14", "2025-04-23"):
                assert date not in page, (url, date)
        page = self.client.get(urls[0]).content.decode()
        assert "Vertex: day −10 vs day +30" in page and "Treatment day 0" in page


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_shed_hair_measurements():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("photos", "0001_initial")])
    old = executor.loader.project_state([("photos", "0001_initial")]).apps
    clinic = old.get_model("clinics", "Clinic").objects.create(name="C", country="US", region="CA")
    patient = old.get_model("patients", "Patient").objects.create(
        clinic=clinic, code="P", given_name="A", family_name="B", date_of_birth=dt.date(1980, 1, 1), sex="F"
    )
    session = old.get_model("photos", "PhotoSession").objects.create(
        patient=patient, taken_on=dt.date(2026, 1, 1)
    )
    photo = old.get_model("photos", "Photo").objects.create(
        session=session,
        patient=patient,
        view="shed",
        original="o.jpg",
        original_sha256="0" * 64,
        original_format="jpeg",
        original_bytes=1,
        derived="d.jpg",
        width_px=4,
        height_px=3,
    )
    old.get_model("photos", "Measurement").objects.create(
        photo=photo,
        request_no=1,
        algorithm="trichotrack.shedding",
        version="0.1",
        hair_count=17,
        count_low=15,
        count_high=19,
        countable=True,
        scale_source="card",
        analysed_width_px=4,
        analysed_height_px=3,
        seconds=1,
    )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    m = Measurement.objects.get()
    assert (m.kind, m.hair_count, m.count_low, m.count_high, m.countable) == ("shed", 17, 15, 19, True)
    assert m.scalp_visible_fraction is None and m.density_per_cm2 is None
    assert str(m) == "17 hairs (trichotrack.shedding 0.1)"
