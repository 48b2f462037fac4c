import datetime as dt

from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.safety.models import AdverseEvent
from trichotrack.web.safety.tasks import start_reporting_clock
from trichotrack.web.test import BaseTestCase

TODAY = dt.date.today()


def ae(patient, **fields):
    values = {
        "patient": patient,
        "term": "skin_infection",
        "grade": 3,
        "onset_on": TODAY - dt.timedelta(days=2),
        "aware_on": TODAY - dt.timedelta(days=1),
        "expected": False,
    }
    return AdverseEvent(**(values | fields))


class ReportingClockTest(BaseTestCase):
    def test_serious_unexpected_events_get_15_days(self):
        event = ae(self.patient, hospitalisation=True)
        assert event.serious
        assert event.report_due_on == event.aware_on + dt.timedelta(days=15)
        assert event.report_days_left(TODAY) == 14

    def test_fatal_or_life_threatening_events_get_7_days(self):
        assert ae(self.patient, life_threatening=True).report_due_on == TODAY + dt.timedelta(days=6)
        assert ae(self.patient, death=True, grade=5).report_due_on == TODAY + dt.timedelta(days=6)

    def test_severity_alone_is_not_seriousness(self):
        event = ae(self.patient, grade=4)  # severe, but no seriousness criterion ticked
        assert not event.serious
        assert event.report_due_on is None

    def test_expected_serious_events_start_no_clock(self):
        assert ae(self.patient, hospitalisation=True, expected=True).report_due_on is None

    def test_a_reported_event_stops_the_clock(self):
        event = ae(self.patient, hospitalisation=True, reported_on=TODAY)
        assert event.report_days_left(TODAY) is None


class AdverseEventViewsTest(BaseTestCase):
    def data(self, **extra):
        base = {
            "term": "skin_infection",
            "grade": "3",
            "onset_on": (TODAY - dt.timedelta(days=2)).isoformat(),
            "aware_on": (TODAY - dt.timedelta(days=1)).isoformat(),
            "expected": "False",
            "causality_liposuction": "unrelated",
            "causality_svf": "possible",
            "causality_prp": "possible",
            "causality_injection": "probable",
            "causality_anaesthetic": "unrelated",
            "outcome": "recovering",
        }
        return base | extra

    def post(self, **extra):
        self.login(self.bob)
        return self.client.post(reverse("safety:create", args=[self.patient.pk]), self.data(**extra))

    def test_it_records_an_event_with_causality_per_step(self):
        procedure = self.make_procedure()
        response = self.post(procedure=str(procedure.pk))
        event = AdverseEvent.objects.get()
        assert response["Location"] == event.get_absolute_url()
        assert event.procedure == procedure
        assert dict(event.causality) == {
            "Liposuction": "Not related",
            "SVF": "Possible",
            "PRP": "Possible",
            "Injection": "Probable / likely",
            "Anaesthetic": "Not related",
        }
        assert AuditEvent.objects.filter(action="adverse_event.created", patient=self.patient).exists()

    def test_a_serious_unexpected_event_enqueues_the_clock_task_and_shows_on_the_dashboard(self):
        with self.captureOnCommitCallbacks(execute=True):
            self.post(hospitalisation="on")
        event = AdverseEvent.objects.get()
        assert DBTaskResult.objects.filter(args_kwargs__args=[event.pk]).count() == 1
        self.login(self.alice)
        response = self.client.get(reverse("dashboard"))
        assert response.context["clocks"] == [(event, 14)]
        assert b"14 days left" in response.content

    def test_a_non_serious_event_enqueues_nothing(self):
        with self.captureOnCommitCallbacks(execute=True):
            self.post()
        assert not DBTaskResult.objects.exists()

    def test_the_clock_task_is_idempotent(self):
        event = ae(self.patient, hospitalisation=True)
        event.save()
        assert start_reporting_clock.call(event.pk) is True
        assert start_reporting_clock.call(event.pk) is False
        assert AuditEvent.objects.filter(action="safety.clock_started").count() == 1

    def test_it_rejects_impossible_dates_and_grades(self):
        future = (TODAY + dt.timedelta(days=3)).isoformat()
        errors = self.post(onset_on=future).context["form"].errors
        assert errors["onset_on"] == ["This date is in the future."]
        errors = self.post(resolved_on=(TODAY - dt.timedelta(days=5)).isoformat()).context["form"].errors
        assert "resolved_on" in errors
        errors = self.post(grade="5").context["form"].errors
        assert "grade" in errors
        errors = self.post(grade="9", term="gremlins").context["form"].errors
        assert {"grade", "term"} <= set(errors)
        errors = self.post(death="on").context["form"].errors
        assert "outcome" in errors
        assert not AdverseEvent.objects.exists()

    def test_other_needs_a_term(self):
        errors = self.post(term="other").context["form"].errors
        assert "term_other" in errors

    def test_another_patients_procedure_cannot_be_linked(self):
        from trichotrack.web.test import make_patient

        other = make_patient(self.clinic, "A-009")
        procedure = self.make_procedure(patient=other)
        errors = self.post(procedure=str(procedure.pk)).context["form"].errors
        assert "procedure" in errors

    def test_editing_is_versioned_and_audited(self):
        self.post()
        event = AdverseEvent.objects.get()
        url = reverse("safety:edit", args=[event.pk])
        data = self.data(version="1", outcome="recovered", resolved_on=TODAY.isoformat())
        assert self.client.post(url, data).status_code == 302
        response = self.client.post(url, data | {"outcome": "sequelae"})
        assert "changed by someone else" in str(response.context["form"].non_field_errors())
        event.refresh_from_db()
        assert event.outcome == "recovered"
        changed = AuditEvent.objects.get(action="adverse_event.changed").data["changed"]
        assert changed["outcome"] == ["recovering", "recovered"]
