import datetime as dt

from django.urls import reverse
from freezegun import freeze_time

from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.followups import services
from trichotrack.web.followups.models import Visit
from trichotrack.web.test import BaseTestCase


class ScheduleTest(BaseTestCase):
    def test_dates_are_local_dates_of_the_clinics_time_zone(self):
        # 23:30 on 19 Jan in Los Angeles is 07:30 UTC on 20 Jan: the clinic's treatment day is the 19th.
        harvest = dt.datetime(2016, 1, 20, 7, 30, tzinfo=dt.UTC)
        with self.settings(TIME_ZONE="America/Los_Angeles"), freeze_time(harvest + dt.timedelta(hours=1)):
            procedure = self.make_procedure(harvest_at=harvest)
            assert str(procedure) == f"Procedure {procedure.pk} on 2016-01-19"
            two_weeks = procedure.visits.get(kind="2w")
            assert two_weeks.due_on == dt.date(2016, 2, 2)
            self.login(self.bob)
            html = self.client.get(reverse("followups:visit", args=[two_weeks.pk])).content.decode()
            assert f"Procedure {procedure.pk}, 19 Jan 2016" in html and "20 Jan 2016" not in html

    def test_visits_at_2_weeks_2_6_and_12_months_with_windows(self):
        procedure = self.make_procedure()
        day = procedure.harvest_at.date()
        got = [
            (v.kind, (v.due_on - day).days, (v.window_end - v.window_start).days)
            for v in procedure.visits.all()
        ]
        assert got == [("2w", 14, 6), ("2m", 61, 28), ("6m", 183, 60), ("12m", 365, 60)]

    def test_due_and_overdue_follow_the_window(self):
        procedure = self.make_procedure()
        two_weeks = procedure.visits.get(kind="2w")
        day = procedure.harvest_at.date()
        assert list(services.due_visits(self.clinic, day + dt.timedelta(days=10))) == []
        assert list(services.due_visits(self.clinic, day + dt.timedelta(days=11))) == [two_weeks]
        assert list(services.due_visits(self.clinic, day + dt.timedelta(days=17))) == [two_weeks]
        assert list(services.overdue_visits(self.clinic, day + dt.timedelta(days=17))) == []
        assert list(services.overdue_visits(self.clinic, day + dt.timedelta(days=18))) == [two_weeks]
        assert two_weeks.state_on(day + dt.timedelta(days=18)) == "overdue"
        assert list(services.due_visits(self.other_clinic, day + dt.timedelta(days=14))) == []

    def test_the_list_page_shows_due_overdue_and_upcoming(self):
        procedure = self.make_procedure()
        with freeze_time(procedure.harvest_at + dt.timedelta(days=40)):
            self.login(self.rita)
            response = self.client.get(reverse("followups:list"))
        assert [v.kind for v in response.context["overdue"]] == ["2w"]
        assert [v.kind for v in response.context["upcoming"]] == ["2m"]


class RecordVisitTest(BaseTestCase):
    def setUp(self):
        self.visit = self.make_procedure().visits.get(kind="2w")
        self.url = reverse("followups:visit", args=[self.visit.pk])
        self.login(self.bob)

    def data(self, **extra):
        done_on = self.visit.due_on if self.visit.due_on <= dt.date.today() else dt.date.today()
        return {"status": "done", "done_on": done_on.isoformat(), "version": self.visit.version} | extra

    def test_it_records_the_solicited_checklist_and_asks_for_ae_reports(self):
        response = self.client.post(
            self.url, self.data(sol_scalp_pain="on", sol_harvest_bruising="on"), follow=True
        )
        self.visit.refresh_from_db()
        assert self.visit.status == "done"
        assert self.visit.solicited["scalp_pain"] is True
        assert self.visit.solicited["headache"] is False
        assert b"Record each as an adverse event" in response.content
        assert AuditEvent.objects.filter(action="visit.recorded", patient=self.patient).exists()

    def test_done_needs_a_date_and_a_date_means_done(self):
        response = self.client.post(self.url, self.data(done_on=""))
        assert "done_on" in response.context["form"].errors
        response = self.client.post(self.url, self.data(status="scheduled"))
        assert "status" in response.context["form"].errors

    def test_a_future_visit_date_is_refused(self):
        tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
        response = self.client.post(self.url, self.data(done_on=tomorrow))
        assert response.context["form"].errors["done_on"] == ["This date is in the future."]

    def test_two_people_recording_never_silently_overwrite_each_other(self):
        self.client.post(self.url, self.data(notes="Bob was here"))
        response = self.client.post(self.url, self.data(notes="stale"))
        assert "changed by someone else" in str(response.context["form"].non_field_errors())
        assert Visit.objects.get(pk=self.visit.pk).notes == "Bob was here"


class UpcomingHorizonTest(BaseTestCase):
    def test_the_look_ahead_widens_the_upcoming_list(self):
        procedure = self.make_procedure()
        url = reverse("followups:list")
        # 20 days after treatment: the 2-month window (day 47) opens in 27 days, the 6-month one in 133.
        with freeze_time(procedure.harvest_at + dt.timedelta(days=20)):
            self.login(self.bob)
            assert [v.kind for v in self.client.get(url, {"days": "7"}).context["upcoming"]] == []
            assert [v.kind for v in self.client.get(url).context["upcoming"]] == ["2m"]
            response = self.client.get(url, {"days": "90"}, HTTP_HX_REQUEST="true")
            assert [v.kind for v in response.context["upcoming"]] == ["2m"]
            assert b'hx-select="#upcoming"' in response.content
            assert b"Window opens in the next 90 days" in response.content
            assert self.client.get(url, {"days": "100000"}).context["horizon_days"] == 30  # no 500

    def test_the_researcher_sees_day_offsets_not_dates(self):
        procedure = self.make_procedure()
        with freeze_time(procedure.harvest_at + dt.timedelta(days=20)):
            self.login(self.rita)
            response = self.client.get(reverse("followups:list"))
        html = response.content.decode().split('<main id="main">', 1)[1]
        assert "day +61" in html and "day +47 to day +75" in html
        assert str(procedure.harvest_at.year) not in html
