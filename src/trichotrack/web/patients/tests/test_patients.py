import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.patients import services
from trichotrack.web.patients.models import ContraindicationScreen, LabResult, Medication, Patient, Staging
from trichotrack.web.test import BaseTestCase

NEW_PATIENT = {
    "code": "A-002",
    "given_name": "Maria",
    "family_name": "Example",
    "date_of_birth": "1980-04-01",
    "sex": "F",
    "onset_date": "2025-01-01",
}


class PatientViewsTest(BaseTestCase):
    def test_it_creates_a_patient_in_the_users_clinic(self):
        self.login(self.bob)
        response = self.client.post(reverse("patients:create"), NEW_PATIENT)
        patient = Patient.objects.get(code="A-002")
        assert response.status_code == 302
        assert patient.clinic == self.clinic
        assert AuditEvent.objects.filter(action="patient.created", patient=patient, actor=self.bob).exists()

    def test_it_rejects_a_future_date_of_birth_with_a_message(self):
        self.login(self.bob)
        tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
        response = self.client.post(reverse("patients:create"), NEW_PATIENT | {"date_of_birth": tomorrow})
        assert response.status_code == 200
        assert "This date is in the future." in response.context["form"].errors["date_of_birth"]
        assert not Patient.objects.filter(code="A-002").exists()

    def test_it_rejects_onset_before_birth(self):
        self.login(self.bob)
        response = self.client.post(reverse("patients:create"), NEW_PATIENT | {"onset_date": "1970-01-01"})
        assert "onset_date" in response.context["form"].errors

    def test_it_rejects_a_duplicate_code_in_the_clinic_but_not_across_clinics(self):
        self.login(self.bob)
        response = self.client.post(reverse("patients:create"), NEW_PATIENT | {"code": "A-001"})
        assert "code" in response.context["form"].errors
        self.client.logout()
        self.login(self.charlie)
        response = self.client.post(reverse("patients:create"), NEW_PATIENT | {"code": "A-001"})
        assert response.status_code == 302

    def test_garbage_input_gives_messages_not_a_500(self):
        self.login(self.bob)
        response = self.client.post(
            reverse("patients:create"),
            {"code": "", "date_of_birth": "not a date", "sex": "Q", "onset_date": "32/13"},
        )
        assert response.status_code == 200
        assert {"code", "date_of_birth", "sex", "onset_date"} <= set(response.context["form"].errors)

    def test_the_list_searches_by_code_and_name(self):
        self.login(self.alice)
        response = self.client.get(reverse("patients:list"), {"q": "Patricia"})
        assert list(response.context["patients"]) == [self.patient]

    def test_the_list_is_paginated(self):
        from trichotrack.web.patients.views import PAGE_SIZE
        from trichotrack.web.test import make_patient

        for i in range(PAGE_SIZE + 5):
            make_patient(self.clinic, f"Z-{i:03d}")
        self.login(self.rita)
        response = self.client.get(reverse("patients:list"), {"page": "2"})
        assert len(response.context["patients"]) == 6  # 106 patients
        assert b"Page 2 of 2" in response.content
        assert self.client.get(reverse("patients:list"), {"page": "junk"}).status_code == 200

    def test_a_researcher_cannot_search_by_name(self):
        self.login(self.rita)
        response = self.client.get(reverse("patients:list"), {"q": "Patricia"})
        assert list(response.context["patients"]) == []

    def test_edit_is_audited_with_the_change(self):
        self.login(self.alice)
        url = reverse("patients:edit", args=[self.patient.pk])
        data = self.client.get(url).context["form"].initial
        post = {k: v for k, v in data.items() if v is not None} | {"treatment_plan": "Review at 6 months"}
        post["date_of_birth"] = self.patient.date_of_birth.isoformat()
        response = self.client.post(url, post)
        assert response.status_code == 302, response.context["form"].errors
        event = AuditEvent.objects.get(action="patient.changed")
        assert event.data["changed"] == {"treatment_plan": ["", "Review at 6 months"]}

    def test_two_people_editing_never_silently_overwrite_each_other(self):
        url = reverse("patients:edit", args=[self.patient.pk])
        base = {
            "code": "A-001",
            "given_name": "Patricia",
            "family_name": self.patient.family_name,
            "date_of_birth": "1975-03-14",
            "sex": "F",
            "version": self.patient.version,
        }
        self.login(self.alice)
        assert self.client.post(url, base | {"hair_state": "Alice's note"}).status_code == 302
        self.client.logout()
        self.login(self.bob)
        response = self.client.post(url, base | {"hair_state": "Bob's note"})  # Bob opened the form before
        assert response.status_code == 200
        assert "changed by someone else" in str(response.context["form"].non_field_errors())
        self.patient.refresh_from_db()
        assert self.patient.hair_state == "Alice's note"
        assert self.patient.version == 2


class ChildRecordsTest(BaseTestCase):
    def test_it_adds_staging_with_a_valid_grade_only(self):
        self.login(self.bob)
        url = reverse("patients:staging_add", args=[self.patient.pk])
        response = self.client.post(url, {"assessed_on": "2025-01-01", "scale": "ludwig", "grade": "IV"})
        assert "grade" in response.context["form"].errors
        response = self.client.post(url, {"assessed_on": "2025-01-01", "scale": "ludwig", "grade": "II"})
        assert response.status_code == 302
        assert Staging.objects.get(patient=self.patient).grade == "II"

    def test_it_rejects_impossible_lab_values(self):
        self.login(self.bob)
        url = reverse("patients:lab_add", args=[self.patient.pk])
        response = self.client.post(
            url, {"taken_on": "2025-01-01", "ferritin_ug_l": "-3", "haemoglobin_g_dl": "99"}
        )
        assert response.status_code == 200
        assert {"ferritin_ug_l", "haemoglobin_g_dl"} <= set(response.context["form"].errors)
        assert self.patient.labs.count() == 1

    def test_it_rejects_a_medication_stopped_before_it_started(self):
        self.login(self.bob)
        url = reverse("patients:medication_add", args=[self.patient.pk])
        data = {
            "name": "Aspirin",
            "category": "antiplatelet",
            "started_on": "2025-02-01",
            "stopped_on": "2025-01-01",
        }
        response = self.client.post(url, data)
        assert "stopped_on" in response.context["form"].errors
        response = self.client.post(url, data | {"stopped_on": "2025-03-01"})
        assert response.status_code == 302
        assert AuditEvent.objects.filter(action="medication.created", patient=self.patient).exists()


class ScreenTest(BaseTestCase):
    def screen(self, **answers):
        screen = ContraindicationScreen(
            patient=self.patient,
            planned_on=answers.pop("planned_on", timezone.localdate()),
            height_cm=answers.pop("height_cm", 165),
            weight_kg=answers.pop("weight_kg", 60),
            **answers,
        )
        return services.save_screen(screen, user=self.bob)

    def codes(self, screen):
        return sorted(screen.flags.values_list("code", flat=True))

    def test_a_clean_screen_has_no_flags(self):
        assert self.codes(self.screen()) == []

    def test_answers_become_absolute_and_relative_flags(self):
        screen = self.screen(septicaemia=True, pregnant_or_breastfeeding=True)
        levels = dict(screen.flags.values_list("code", "level"))
        assert levels == {"septicaemia": "absolute", "pregnant_or_breastfeeding": "relative"}

    def test_bmi_of_40_is_flagged(self):
        assert self.codes(self.screen(height_cm=160, weight_kg=102.4)) == ["bmi"]  # BMI 40.0
        assert self.codes(self.screen(height_cm=160, weight_kg=102.0)) == []

    def test_low_platelets_and_haemoglobin_are_flagged(self):
        LabResult.objects.create(
            patient=self.patient,
            taken_on=timezone.localdate(),
            platelets_10e3_per_ul=95,
            haemoglobin_g_dl=9.5,
        )
        assert self.codes(self.screen()) == ["haemoglobin_low", "platelets_low"]

    def test_missing_labs_are_flagged(self):
        self.patient.labs.all().delete()
        assert self.codes(self.screen()) == ["labs_missing"]

    def test_anticoagulants_and_recent_nsaids_are_flagged_with_stop_dates(self):
        today = timezone.localdate()
        warfarin = Medication.objects.create(patient=self.patient, name="Warfarin", category="anticoagulant")
        ibuprofen = Medication.objects.create(
            patient=self.patient, name="Ibuprofen", category="nsaid", stopped_on=today - dt.timedelta(days=1)
        )
        Medication.objects.create(
            patient=self.patient, name="Naproxen", category="nsaid", stopped_on=today - dt.timedelta(days=3)
        )
        assert self.codes(self.screen()) == sorted([f"med_{warfarin.pk}", f"med_{ibuprofen.pk}"])

    def test_a_procedure_needs_every_flag_acknowledged(self):
        screen = self.screen(tobacco=True)
        today = timezone.localdate()
        assert "Tobacco use" in services.screen_problems(self.patient, today)[0]
        services.acknowledge_flag(screen.flags.get(), user=self.alice)
        assert services.screen_problems(self.patient, today) == []

    def test_no_screen_or_an_old_screen_blocks(self):
        today = timezone.localdate()
        assert services.screen_problems(self.patient, today) == [
            "No contraindication screen has been recorded."
        ]
        self.screen()
        assert "days old" in services.screen_problems(self.patient, today + dt.timedelta(days=45))[0]

    def test_an_absolute_flag_needs_a_reason(self):
        flag = self.screen(local_infection=True).flags.get()
        with pytest.raises(ValueError, match="reason"):
            services.acknowledge_flag(flag, user=self.alice)
        services.acknowledge_flag(flag, user=self.alice, note="Infection treated, cleared on review")
        flag.refresh_from_db()
        assert flag.acknowledged_by == self.alice
        assert flag.acknowledged_at is not None

    def test_the_clinician_acknowledges_by_name_and_time_through_the_page(self):
        flag = self.screen(tobacco=True).flags.get()
        self.login(self.alice)
        url = reverse("patients:flag_acknowledge", args=[self.patient.pk, flag.pk])
        assert self.client.post(url, {"note": "Counselled"}).status_code == 302
        response = self.client.get(reverse("patients:detail", args=[self.patient.pk]))
        assert b"acknowledged by alice at" in response.content
        assert AuditEvent.objects.filter(action="screen.flag_acknowledged", actor=self.alice).exists()

    def test_a_nurse_cannot_acknowledge(self):
        flag = self.screen(tobacco=True).flags.get()
        self.login(self.bob)
        url = reverse("patients:flag_acknowledge", args=[self.patient.pk, flag.pk])
        assert self.client.post(url).status_code == 403
        flag.refresh_from_db()
        assert flag.acknowledged_at is None

    def test_the_screen_form_saves_and_reports_the_flags(self):
        self.login(self.bob)
        url = reverse("patients:screen_add", args=[self.patient.pk])
        data = {
            "planned_on": timezone.localdate().isoformat(),
            "height_cm": "165",
            "weight_kg": "60",
            "tobacco": "on",
        }
        response = self.client.post(url, data, follow=True)
        assert b"1 flag to acknowledge" in response.content
        response = self.client.post(url, data | {"height_cm": "5"})
        assert "height_cm" in response.context["form"].errors


class MedicationStopTest(BaseTestCase):
    def setUp(self):
        self.med = Medication.objects.create(
            patient=self.patient, name="Aspirin", category="antiplatelet", started_on=dt.date(2025, 1, 1)
        )
        self.url = reverse("patients:medication_stop", args=[self.patient.pk, self.med.pk])
        self.login(self.bob)

    def test_it_records_the_stop_date_and_audits_it(self):
        self.client.post(self.url, {"stopped_on": "2025-06-01"})
        self.med.refresh_from_db()
        assert self.med.stopped_on == dt.date(2025, 6, 1)
        event = AuditEvent.objects.get(action="medication.stopped")
        assert event.data["changed"] == {"stopped_on": [None, "2025-06-01"]}

    def test_it_refuses_impossible_stop_dates(self):
        tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
        for bad in (tomorrow, "2024-12-31", "not a date"):
            response = self.client.post(self.url, {"stopped_on": bad}, follow=True)
            assert response.status_code == 200
            assert b'class="error"' in response.content
        self.med.refresh_from_db()
        assert self.med.stopped_on is None


class ResearcherSeesNoDatesTest(BaseTestCase):
    """Researchers get codes, ages and day offsets from the first treatment; staff get the dates."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        inst = cls()
        inst.alice = cls.alice
        cls.procedure = inst.make_procedure()
        cls.first_day = timezone.localdate(cls.procedure.harvest_at)
        Staging.objects.create(
            patient=cls.patient,
            scale="ludwig",
            grade="II",
            assessed_on=cls.first_day - dt.timedelta(days=30),
            recorded_by=cls.alice,
        )

    def test_day_offsets_count_from_the_first_treatment(self):
        from trichotrack.web.clinics.deidentify import day_offset_label

        anchor = dt.date(2016, 1, 20)
        assert day_offset_label(dt.date(2016, 1, 20), anchor) == "day 0"
        assert day_offset_label(dt.date(2016, 3, 21), anchor) == "day +61"
        assert day_offset_label(dt.date(2015, 12, 21), anchor) == "day −30"
        assert day_offset_label(dt.date(2015, 12, 21), None) == "date hidden (not treated)"

    def test_the_researcher_sees_the_age_and_day_offsets_on_the_patient_page(self):
        self.login(self.rita)
        html = self.client.get(reverse("patients:detail", args=[self.patient.pk])).content.decode()
        main = html.split('<main id="main">', 1)[1]
        assert f"<dd>{self.patient.age_on(self.first_day)}</dd>" in main
        assert "Ludwig II, day −30" in main
        assert "Procedure " + str(self.procedure.pk) + "</a>, day 0" in main
        assert "2 months visit due day +61" in main
        assert "1975" not in main and "Patricia" not in main
        assert str(self.first_day.year) not in main

    def test_the_researcher_is_not_told_how_old_an_old_screen_is(self):
        # "The latest screen is 3958 days old" with today's date is the screening date.
        screen = self.patient.screens.get()
        screen.screened_at = timezone.now() - dt.timedelta(days=3958)
        screen.save(update_fields=["screened_at"])
        url = reverse("patients:detail", args=[self.patient.pk])
        self.login(self.rita)
        main = self.client.get(url).content.decode().split('<main id="main">', 1)[1]
        assert "The latest screen is more than 30 days old; screen again." in main
        assert "days old (" not in main and "3958 days" not in main  # day −3957 (from the treatment) is fine
        self.login(self.bob)
        assert "The latest screen is 3958 days old (limit 30)" in self.client.get(url).content.decode()

    def test_staff_see_the_dates(self):
        self.login(self.bob)
        html = self.client.get(reverse("patients:detail", args=[self.patient.pk])).content.decode()
        assert f"{self.first_day - dt.timedelta(days=30):%d %b %Y}" in html
        assert "14 Mar 1975" in html
        assert "day +" not in html

    def test_the_researcher_list_shows_ages_with_one_query_for_them(self):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        self.login(self.rita)
        with CaptureQueriesContext(connection) as queries:
            response = self.client.get(reverse("patients:list"))
        html = response.content.decode().split('<main id="main">', 1)[1]
        assert "Age at first treatment" in html and "Born" not in html
        assert f"<td>{self.patient.age_on(self.first_day)}</td>" in html
        assert sum("procedures_procedure" in q["sql"] for q in queries.captured_queries) == 1


class HtmxTest(BaseTestCase):
    """htmx enhances the search and the flag acknowledgement; without it the same URLs give whole pages."""

    HX = {"HTTP_HX_REQUEST": "true"}

    def test_the_search_sends_only_the_results_to_htmx(self):
        from trichotrack.web.test import make_patient

        make_patient(self.clinic, "A-002", given_name="Quentin")
        self.login(self.bob)
        url = reverse("patients:list")
        response = self.client.get(url, {"q": "quent"}, **self.HX)
        html = response.content.decode()
        assert "<html" not in html and "<table>" in html
        assert "A-002" in html and "A-001" not in html
        assert "HX-Request" in response["Vary"]
        full = self.client.get(url, {"q": "quent"}).content.decode()
        assert "<html" in full and 'hx-get="/patients/"' in full and "A-002" in full
        restore = self.client.get(url, {"q": "quent"}, HTTP_HX_HISTORY_RESTORE_REQUEST="true", **self.HX)
        assert "<html" in restore.content.decode()  # the back button gets the whole page
        nothing = self.client.get(url, {"q": "zzz"}, **self.HX).content.decode()
        assert "No patient matches “zzz”." in nothing

    def test_the_researcher_searches_codes_only(self):
        self.login(self.rita)
        response = self.client.get(reverse("patients:list"), {"q": "Patricia"}, **self.HX)
        assert b"A-001" not in response.content
        response = self.client.get(reverse("patients:list"), {"q": "a-00"}, **self.HX)
        assert b"A-001" in response.content and b"Patricia" not in response.content

    def screen_with(self, **answers):
        screen = ContraindicationScreen(
            patient=self.patient, planned_on=timezone.localdate(), height_cm=168, weight_kg=64, **answers
        )
        return services.save_screen(screen, user=self.alice) or screen

    def test_a_flag_is_acknowledged_inline(self):
        flag = self.screen_with(tobacco=True).flags.get()
        self.login(self.alice)
        url = reverse("patients:flag_acknowledge", args=[self.patient.pk, flag.pk])
        page = self.client.get(reverse("patients:detail", args=[self.patient.pk])).content.decode()
        assert f'hx-post="{url}" hx-target="#flag-{flag.pk}"' in page
        response = self.client.post(url, {"note": "Counselled"}, **self.HX)
        assert response.status_code == 200
        html = response.content.decode()
        assert html.startswith(f'<li id="flag-{flag.pk}">')
        assert "acknowledged by alice at" in html and "Counselled" in html
        flag.refresh_from_db()
        assert flag.acknowledged_by == self.alice

    def test_an_absolute_flag_without_a_reason_stays_open_with_the_message(self):
        flag = self.screen_with(local_infection=True).flags.get(code="local_infection")
        self.login(self.alice)
        url = reverse("patients:flag_acknowledge", args=[self.patient.pk, flag.pk])
        response = self.client.post(url, {"note": ""}, **self.HX)
        html = response.content.decode()
        assert "An absolute contraindication needs a written reason to proceed." in html
        assert "<form" in html
        flag.refresh_from_db()
        assert flag.acknowledged_at is None
        response = self.client.post(url, {"note": ""}, follow=True)  # without JavaScript: a message
        assert b"needs a written reason" in response.content

    def test_inline_acknowledgement_keeps_the_access_rules(self):
        flag = self.screen_with(tobacco=True).flags.get()
        url = reverse("patients:flag_acknowledge", args=[self.patient.pk, flag.pk])
        for user, status in ((self.bob, 403), (self.rita, 403), (self.charlie, 404), (self.pat, 403)):
            self.client.logout()
            self.login(user)
            assert self.client.post(url, {"note": "x"}, **self.HX).status_code == status
        self.client.logout()
        assert self.client.post(url, {"note": "x"}, **self.HX)["Location"].startswith("/accounts/login/")
        flag.refresh_from_db()
        assert flag.acknowledged_at is None


class SupersededConsentTest(BaseTestCase):
    def test_the_patient_page_says_when_a_new_version_needs_reconsent(self):
        from trichotrack.web.consent.services import give_consent, publish_version

        self.give_treatment_consent(given_at=timezone.now() - dt.timedelta(days=3))
        new = publish_version(
            self.definitions["treatment"],
            user=self.alice,
            version="2.0",
            title="T",
            text="x",
            valid_from=timezone.localdate(),
        )
        self.login(self.bob)
        url = reverse("patients:detail", args=[self.patient.pk])
        html = self.client.get(url).content.decode()
        assert "superseded by v2.0" in html and "re-consent needed" in html
        assert reverse("consent:create", args=[self.patient.pk, "treatment"]) in html
        give_consent(
            self.patient, new, user=self.bob, signed_name="P", acknowledged=[c for c, _ in new.elements]
        )
        html = self.client.get(url).content.decode()
        assert "superseded by v2.0" in html  # the old row
        assert "re-consent needed" not in html
