"""The evidence adapter (database → trichotrack.evidence records), the patient page's panel and the cohort
statistics page, with their access rules."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from trichotrack.web.clinics.models import Role
from trichotrack.web.patients.models import Medication
from trichotrack.web.reports import evidence, pdf
from trichotrack.web.safety.models import AdverseEvent
from trichotrack.web.test import make_patient, make_user

from .helpers import EvidenceTestCase
from .test_pdf_reports import pdf_text

START = dt.date(2026, 1, 5)


class AdapterTest(EvidenceTestCase):
    def test_it_builds_the_record_from_photos_procedures_history_and_medications(self):
        self.patient.onset_date = dt.date(2025, 11, 1)
        self.patient.save()
        self.documented_case()
        Medication.objects.create(
            patient=self.patient, name="Minoxidil 5 %", category="hair_loss", started_on=START
        )
        Medication.objects.create(
            patient=self.patient, name="Isotretinoin", category="other", started_on=START
        )
        record = evidence.patient_record(self.patient)
        assert record.group == "treated" and record.index_date == START + dt.timedelta(days=8)
        assert [m.value for m in record.measurements] == [130, 118, 100, 70]
        m = record.measurements[0]
        assert (m.kind, m.unit, m.low, m.high, m.interval_level, m.days_since_shampoo) == (
            "wash_test_count", "hairs", 128, 132, 0.80, 5,
        )  # fmt: skip
        kinds = sorted((e.kind, e.label) for e in record.events)
        assert kinds == [
            ("concurrent_treatment", "Minoxidil 5 %"),
            ("shedding_onset", "onset recorded in the history"),
            ("surgery", "liposuction for the fat harvest"),
            ("trigger", "new medication: Isotretinoin"),
        ]

    def test_a_clinicians_correction_replaces_the_count_and_an_uncountable_photo_is_left_out(self):
        self.shed(self.patient, START, 90, corrected=95)
        self.shed(self.patient, START + dt.timedelta(days=1), 40, countable=False)
        self.treat(self.patient, START + dt.timedelta(days=2))
        (m,) = evidence.patient_record(self.patient).measurements
        assert (m.value, m.low, m.high) == (95, None, None)

    def test_hair_state_tags_and_adverse_events_are_carried(self):
        self.shed(self.patient, START, 100, hair_state=["dyed", "dry"])
        self.treat(self.patient, START + dt.timedelta(days=1))
        AdverseEvent.objects.create(
            patient=self.patient, term="bruising", grade=1, onset_on=START, aware_on=START, expected=True,
            hospitalisation=True,
        )  # fmt: skip
        record = evidence.patient_record(self.patient)
        assert record.measurements[0].hair_state == "dry, dyed"
        (ae,) = record.adverse_events
        assert (ae.term, ae.serious) == ("Bruising", True)

    def test_the_cards_field_is_carried_as_the_surface(self):
        self.shed(self.patient, START, 40, field="white")
        self.shed(self.patient, START + dt.timedelta(days=1), 90, field="dark")
        self.shed(self.patient, START + dt.timedelta(days=2), 60)
        surfaces = [m.surface for m in evidence.patient_record(self.patient).measurements]
        assert surfaces == ["card, white field", "card, dark field", None]

    def test_an_untreated_patient_has_the_first_four_weeks_as_baseline(self):
        other = make_patient(self.clinic, "A-009")
        for days, count in ((0, 80), (10, 90), (40, 70)):
            self.shed(other, START + dt.timedelta(days=days), count)
        record = evidence.patient_record(other)
        assert record.group == "untreated" and record.index_date == START + dt.timedelta(days=10)
        assert evidence.patient_record(make_patient(self.clinic, "A-010")) is None

    def test_the_cohort_counts_every_treated_patient_and_untreated_controls(self):
        self.documented_case()
        lost = make_patient(self.clinic, "A-002")
        self.shed(lost, START, 100)
        self.shed(lost, START + dt.timedelta(days=7), 110)
        self.treat(lost, START + dt.timedelta(days=8))
        never_measured = make_patient(self.clinic, "A-003")
        self.treat(never_measured, START)
        control = make_patient(self.clinic, "A-004")
        for days, count in ((0, 100), (7, 96), (180, 60)):
            self.shed(control, START + dt.timedelta(days=days), count)
        make_patient(self.clinic, "A-005")  # no treatment, no measurement: not in the cohort
        charlies = self.charlies_patient
        self.shed(charlies, START, 100)
        self.treat(charlies, START + dt.timedelta(days=1))
        analysis, kind, kinds = evidence.cohort_analysis(self.clinic, as_of=dt.date(2026, 11, 1))
        assert kind == "wash_test_count" and kinds == ["wash_test_count"]
        t = analysis.treated
        assert (t.n_enrolled, t.n_complete, t.n_lost_to_follow_up, t.n_no_baseline) == (3, 1, 1, 1)
        assert set(t.missing_ids) == {"A-002", "A-003"}
        assert analysis.comparison.n_complete == 1
        assert [e.patient_id for e in analysis.endpoints] == ["A-001", "A-002", "A-003", "A-004"]

    def test_trichoscopy_densities_of_the_most_imaged_site_become_density_measurements(self):
        from trichotrack.web.photos.models import Measurement, Photo, PhotoSession, View

        def trichoscopy(day, count, site, corrected=None):
            session = PhotoSession.objects.create(patient=self.patient, taken_on=day)
            photo = Photo.objects.create(
                session=session, patient=self.patient, view=View.TRICHOSCOPY, site=site,
                measure_status="done", original="x.jpg", original_sha256="0" * 64, original_format="jpeg",
                original_bytes=1, derived="x.jpg", width_px=400, height_px=300,
            )  # fmt: skip
            m = Measurement.objects.create(
                photo=photo, kind="trichoscopy", request_no=1, algorithm="t", version="1", hair_count=count,
                count_low=count - 4, count_high=count + 4, countable=True, density_per_cm2=count * 4.0,
                report={"field_mm2": 25.0}, analysed_width_px=400, analysed_height_px=300, seconds=0.1,
            )  # fmt: skip
            if corrected is not None:
                from trichotrack.web.photos.models import Correction

                Correction.objects.create(measurement=m, corrected_count=corrected, by=self.alice)

        trichoscopy(START, 50, "vertex dot")
        trichoscopy(START + dt.timedelta(days=1), 52, "vertex dot", corrected=54)
        trichoscopy(START + dt.timedelta(days=2), 30, "temple")  # another patch of scalp: left out
        self.treat(self.patient, START + dt.timedelta(days=3))
        ms = evidence.patient_record(self.patient).measurements
        assert [(m.kind, m.unit, m.value, m.low, m.high) for m in ms] == [
            ("density_per_cm2", "hairs/cm2", 200.0, 184.0, 216.0),
            ("density_per_cm2", "hairs/cm2", 216.0, 200.0, 232.0),  # the interval moves with the correction
        ]
        _, analyses = evidence.patient_analyses(self.patient)
        assert [a.kind for a in analyses] == ["density_per_cm2"] and analyses[0].higher_is_better
        text = pdf_text(pdf.case_report_pdf(self.patient, user=self.alice))
        assert "Trichoscopy: hair density at the target site" in text
        assert "Baseline 208 hairs/cm2, mean of 2 days" in text

    def test_the_cohort_is_read_in_a_number_of_queries_that_does_not_grow_with_the_patients(self):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        def add(first, n):
            for i in range(first, first + n):
                patient = make_patient(self.clinic, f"Q-{i:02d}")
                self.quick_shed(patient, START, 100)
                self.quick_shed(patient, START + dt.timedelta(days=7), 90)
                self.treat(patient, START + dt.timedelta(days=8))

        def queries():
            with CaptureQueriesContext(connection) as captured:
                evidence.cohort_records(self.clinic)
            return len(captured.captured_queries)

        add(0, 2)
        few = queries()
        add(2, 4)
        assert queries() == few <= 8

    def test_the_southern_hemisphere_is_known_by_country(self):
        self.clinic.country = "Australia"
        assert evidence.hemisphere_of(self.clinic) == "south"
        self.clinic.country = "US"
        assert evidence.hemisphere_of(self.clinic) == "north"


class NoEffectSimulationTest(EvidenceTestCase):
    """The issue's check, end to end through the database: a cohort in which nobody responds to the treatment
    but every patient's shedding falls by itself (spontaneous recovery) must not be reported as a treatment
    effect, neither without controls nor with untreated controls who recover alike."""

    def cohort(self, rng, n, *, treated):
        for i in range(n):
            patient = make_patient(self.clinic, f"{'T' if treated else 'U'}-{i:02d}")
            level = rng.normal(120, 20)
            self.quick_shed(patient, START, round(level + rng.normal(0, 8)))
            self.quick_shed(patient, START + dt.timedelta(days=7), round(level + rng.normal(0, 8)))
            if treated:
                self.treat(patient, START + dt.timedelta(days=8))
            self.quick_shed(patient, START + dt.timedelta(days=176), round(level - 40 + rng.normal(0, 8)))

    def test_spontaneous_recovery_is_not_reported_as_a_treatment_effect(self):
        import numpy as np

        from trichotrack.evidence import check_claim

        rng = np.random.default_rng(5)
        self.cohort(rng, 12, treated=True)
        analysis, _, _ = evidence.cohort_analysis(self.clinic, as_of=dt.date(2026, 11, 1))
        assert analysis.treated.change_complete_case.high < 0  # shedding fell, clearly
        assert "cannot be attributed to the treatment" in analysis.summary
        assert not check_claim("The treatment reduces shedding", analysis).allowed
        self.cohort(rng, 12, treated=False)
        analysis, _, _ = evidence.cohort_analysis(self.clinic, as_of=dt.date(2026, 11, 1))
        assert analysis.comparison.n_complete == 12
        assert not analysis.favourable_difference_shown
        assert "No difference between treated and untreated patients was shown." in analysis.summary
        assert not check_claim("The treatment reduces shedding", analysis).allowed


class PanelTest(EvidenceTestCase):
    def page(self, user):
        self.login(user)
        return self.client.get(reverse("patients:detail", args=[self.patient.pk]))

    def test_the_patient_page_shows_baseline_mdc_change_interval_wording_and_caveats(self):
        self.documented_case()
        text = self.page(self.alice).content.decode()
        assert "What the numbers can say" in text
        assert "124 hairs (mean of 2 days" in text
        assert "30.9 hairs (SEM 11.1" in text
        assert "-54.0 (-80.7 to -27.3); MDC95 30.9</td>" in text
        assert "A decrease larger than the measurement error; a change in one patient does not show" in text
        assert "-24.0 (-50.7 to 2.73); MDC95 30.9</td>" in text
        assert "No change beyond measurement error." in text  # the 8-week follow-up
        for title in (
            "Surgery can itself trigger shedding",
            "Follow-up earlier than 16 weeks",
            "regression to the mean",
            "Before and after in different seasons",
        ):
            assert title in text
        assert reverse("reports:case_pdf", args=[self.patient.pk]) in text
        assert reverse("reports:publication", args=[self.patient.pk]) in text

    def test_a_nurse_gets_the_case_report_but_not_the_publication_export(self):
        text = self.page(self.bob).content.decode()
        assert reverse("reports:case_pdf", args=[self.patient.pk]) in text
        assert reverse("reports:publication", args=[self.patient.pk]) not in text

    def test_a_single_baseline_day_is_warned_about(self):
        self.shed(self.patient, START, 100)
        self.treat(self.patient, START + dt.timedelta(days=1))
        text = self.page(self.alice).content.decode()
        assert "fewer than 2 baseline days" in text
        assert "The baseline rests on a single day" in text

    def test_the_researcher_sees_numbers_but_no_case_report_button(self):
        self.documented_case()
        text = self.page(self.rita).content.decode()
        assert "What the numbers can say" in text and "Patricia" not in text
        assert reverse("reports:case_pdf", args=[self.patient.pk]) not in text
        assert reverse("reports:cohort") in text

    def test_staff_see_the_dates_and_the_researcher_days_from_the_first_treatment(self):
        self.documented_case()  # treated on START + 8 days
        Medication.objects.create(
            patient=self.patient, name="Minoxidil 5 %", category="hair_loss", started_on=START
        )

        def panel(user):
            return self.page(user).content.decode().split('class="panel evidence"')[1].split("</section>")[0]

        staff = panel(self.alice)
        assert "<td>10 Mar 2026</td>" in staff and "<td>30 Jun 2026</td>" in staff
        assert "Minoxidil 5 % started on 2026-01-05" in staff and "Surgery on 2026-01-13" in staff
        assert "The baseline (January) and this follow-up (June)" in staff
        researcher = panel(self.rita)
        assert "<td>day +56</td>" in researcher and "<td>day +168</td>" in researcher
        assert "Minoxidil 5 % started on day −8" in researcher and "Surgery on day 0" in researcher
        assert "The baseline and this follow-up are" in researcher
        for date in ("2026", "Mar", "Jun", "(January)", "(June)"):
            assert date not in researcher, date

    def test_a_patient_without_measurements_gets_a_plain_note(self):
        text = self.page(self.alice).content.decode()
        assert "No measured photo and no treatment yet" in text


class CohortPageTest(EvidenceTestCase):
    def setUp(self):
        self.documented_case()

    def get(self, user, **params):
        if user is not None:
            self.login(user)
        return self.client.get(reverse("reports:cohort"), params)

    def test_clinician_sees_itt_counts_change_responders_and_warnings(self):
        response = self.get(self.alice)
        assert response.status_code == 200
        text = response.content.decode()
        assert "1 treated patient: 1 with a measurement at 24 weeks, 0 lost to follow-up" in text
        assert "Only 1 treated patient has a measurement at the endpoint" in text
        assert "No untreated comparison group" in text
        assert "A-001" in text and "Patricia" not in text and self.patient.family_name not in text
        assert "1 of 1 (100 %; 95 % interval" in text  # responder share, with its interval

    def test_with_controls_it_shows_the_difference_and_the_mixed_model(self):
        for i, (a, b, end) in enumerate(((100, 104, 70), (90, 96, 88), (120, 110, 100))):
            treated = make_patient(self.clinic, f"T-{i}")
            self.shed(treated, START, a)
            self.shed(treated, START + dt.timedelta(days=7), b)
            self.treat(treated, START + dt.timedelta(days=8))
            self.shed(treated, START + dt.timedelta(days=176), end)
            control = make_patient(self.clinic, f"U-{i}")
            self.shed(control, START, a + 3)
            self.shed(control, START + dt.timedelta(days=7), b - 2)
            self.shed(control, START + dt.timedelta(days=7 + 168), end + 5)
        text = self.get(self.alice).content.decode()
        assert "Treated minus untreated difference in change" in text
        assert "Difference in change, complete cases (Welch t)" in text
        assert "value ~ post * treated" in text
        assert "Comparison group not randomised" in text

    def test_researcher_sees_hashed_subjects_only(self):
        from trichotrack.web.reports.services import subject_id

        text = self.get(self.rita).content.decode()
        assert subject_id(self.patient) not in text  # no research consent: counted, not listed
        assert "A-001" not in text and "Patricia" not in text
        assert "1 patient without a valid research consent is counted in every number above" in text

    def test_the_researcher_is_not_told_on_which_day_it_was_computed(self):
        today = f"{timezone.localdate():%d %b %Y}"
        assert f"Computed {today}" in self.get(self.alice).content.decode()
        text = self.get(self.rita).content.decode()
        assert "Computed today at " in text and today not in text

    def test_access(self):
        assert self.get(None).status_code == 302
        assert self.get(self.bob).status_code == 200  # a nurse: codes, never names
        assert self.get(self.pat).status_code == 403
        charlie = self.get(self.charlie)
        assert charlie.status_code == 200 and "A-001" not in charlie.content.decode()
        assert "No treated patient yet" in charlie.content.decode()

    def test_an_unknown_kind_falls_back_to_the_one_measured(self):
        response = self.get(self.alice, kind="nonsense<script>")
        assert response.status_code == 200 and "Wash-test count" in response.content.decode()

    def test_admin_may_see_it(self):
        admin = make_user("ada", self.clinic, Role.ADMIN)
        assert self.get(admin).status_code == 200
