"""Every view × every kind of user: owner clinician, teammate, other clinic, patient, researcher, anonymous.

Kinds of view:
  list   — clinic-wide GET pages: read roles 200; the other clinic sees only its own data
  read   — a GET of one object: read roles 200, other clinic 404, patient 403
  write  — a GET of a form for one object: staff 200, researcher 403, other clinic 404, patient 403
  new    — a GET of a form not tied to an object: staff 200 (any clinic), researcher and patient 403
  post   — a POST action on one object: staff acts, researcher 403, other clinic 404
  clinician — a GET for clinicians only: as write, and the nurse teammate gets 403
  clinician_post — a POST for clinicians only: as post, and the nurse teammate gets 403

The patient portal's own pages are in `portal_views`: the patient 200, every staff role 403, anonymous to
login, another patient 404.
"""

import datetime as dt

from django.urls import reverse

from trichotrack.web.followups.models import Visit
from trichotrack.web.patients.models import Medication
from trichotrack.web.safety.models import AdverseEvent
from trichotrack.web.test import BaseTestCase


class AccessMatrixTest(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        inst = cls()
        inst.alice = cls.alice
        cls.consent = inst.give_treatment_consent()
        cls.screen = inst.clear_screen(tobacco=True)
        cls.procedure = inst.make_procedure()
        cls.medication = Medication.objects.create(
            patient=cls.patient, name="Aspirin", category="antiplatelet"
        )
        cls.visit = Visit.objects.filter(procedure=cls.procedure).first()
        cls.ae = AdverseEvent.objects.create(
            patient=cls.patient,
            procedure=cls.procedure,
            term="headache",
            grade=1,
            onset_on=cls.procedure.harvest_at.date(),
            aware_on=cls.procedure.harvest_at.date(),
            expected=True,
        )
        cls.make_photos()

    @classmethod
    def make_photos(cls):
        from trichotrack.web.photos import services as photo_services
        from trichotrack.web.photos.models import Pair, View
        from trichotrack.web.photos.tests import files
        from trichotrack.web.photos.tests.base import give_photo_consent
        from trichotrack.web.portal.models import Invitation

        give_photo_consent(cls.patient, cls.definitions, cls.alice)
        cls.photo_session = photo_services.new_session(cls.patient, user=cls.alice)
        image = files.shed_image(n_hairs=3).image
        checked = photo_services.check_files([files.upload("a.jpg", files.jpeg(image))] * 1)
        (cls.photo,) = photo_services.store_photos(
            cls.photo_session, checked, user=cls.alice, view=View.SHED, protocol="wash"
        )
        photo_services.run_measurement(cls.photo.pk, cls.photo.measure_request)
        checked = photo_services.check_files([files.upload(f"{i}.jpg", files.jpeg(image)) for i in range(2)])
        vertex = photo_services.store_photos(cls.photo_session, checked, user=cls.alice, view=View.VERTEX)
        result = photo_services.compare_photos(*vertex)
        from django.core.files.base import ContentFile
        from django.core.files.storage import default_storage

        name = default_storage.save("photos/registered/m.jpg", ContentFile(result.registered_jpeg))
        cls.pair = Pair.objects.create(
            patient=cls.patient,
            baseline=vertex[0],
            followup=vertex[1],
            verdict=result.verdict,
            registration=result.registration,
            registered=name,
        )
        cls.invitation = Invitation.objects.create(
            patient=cls.patient, expires_at=cls.photo.uploaded_at + dt.timedelta(days=14)
        )

    def views(self):
        p, proc, c = self.patient.pk, self.procedure.pk, self.consent.pk
        flag = self.screen.flags.first().pk
        return [
            ("list", reverse("dashboard")),
            ("list", reverse("patients:list")),
            ("list", reverse("procedures:list")),
            ("list", reverse("followups:list")),
            ("list", reverse("safety:list")),
            ("list", reverse("consent:definitions")),
            ("list", reverse("reports:index")),
            ("list", reverse("reports:research_export")),
            ("list", reverse("reports:export", args=["csv", "deidentified"])),  # identified: reports/tests
            ("list", reverse("reports:cohort")),
            ("list", reverse("reports:cohort_pdf")),
            ("write", reverse("reports:case_pdf", args=[p])),
            ("clinician", reverse("reports:publication", args=[p])),
            ("read", reverse("patients:detail", args=[p])),
            ("read", reverse("consent:detail", args=[p, c])),
            ("read", reverse("consent:definition", args=[self.consent.definition_id])),
            ("read", reverse("procedures:detail", args=[proc])),
            ("read", reverse("procedures:labels", args=[proc])),
            ("read", reverse("safety:detail", args=[self.ae.pk])),
            ("new", reverse("patients:create")),
            ("write", reverse("patients:edit", args=[p])),
            ("write", reverse("patients:audit", args=[p])),
            ("write", reverse("patients:staging_add", args=[p])),
            ("write", reverse("patients:lab_add", args=[p])),
            ("write", reverse("patients:medication_add", args=[p])),
            ("write", reverse("patients:screen_add", args=[p])),
            ("write", reverse("consent:create", args=[p, "research"])),
            ("write", reverse("consent:pdf", args=[p, c])),
            ("clinician", reverse("consent:new_version", args=[self.consent.definition_id])),
            ("write", reverse("procedures:create", args=[p])),
            ("write", reverse("procedures:edit", args=[proc])),
            ("write", reverse("followups:visit", args=[self.visit.pk])),
            ("write", reverse("safety:create", args=[p])),
            ("write", reverse("safety:edit", args=[self.ae.pk])),
            ("post", reverse("patients:flag_acknowledge", args=[p, flag])),
            ("post", reverse("consent:withdraw", args=[p, c])),
            ("post", reverse("patients:medication_stop", args=[p, self.medication.pk])),
            ("post", reverse("procedures:confirm_injection", args=[proc])),
            *self.photo_views(),
        ]

    def photo_views(self):
        p, photo, pair = self.patient.pk, self.photo.pk, self.pair.pk
        return [
            ("read", reverse("photos:patient", args=[p])),
            ("write", reverse("photos:session_create", args=[p])),
            ("read", reverse("photos:session", args=[self.photo_session.pk])),
            ("read", reverse("photos:detail", args=[photo])),
            ("read", reverse("photos:status", args=[photo])),
            ("read", reverse("photos:image", args=[photo, "derived"])),
            ("read", reverse("photos:image", args=[photo, "preview"])),
            ("read", reverse("photos:image", args=[photo, "overlay"])),
            ("write", reverse("photos:original", args=[photo])),
            ("read", reverse("photos:pair", args=[pair])),
            ("read", reverse("photos:pair_image", args=[pair])),
            ("post", reverse("photos:upload", args=[self.photo_session.pk])),
            ("post", reverse("photos:measure", args=[photo])),
            ("post", reverse("photos:pair_create", args=[p])),
            ("clinician_post", reverse("photos:correct", args=[photo])),
            ("post", reverse("photos:orientation", args=[self.pair.baseline_id])),  # a vertex photo
            ("post", reverse("portal:invite", args=[p])),
            ("post", reverse("portal:revoke", args=[p, self.invitation.pk])),
        ]

    def portal_views(self):
        photo = self.photo.pk
        return [
            reverse("portal:shed"),
            reverse("portal:history"),
            reverse("portal:photo", args=[photo]),
            reverse("portal:status", args=[photo]),
            reverse("portal:image", args=[photo, "derived"]),
            reverse("portal:image", args=[photo, "preview"]),
            reverse("portal:image", args=[photo, "overlay"]),
        ]

    def fetch(self, kind, url):
        return self.client.post(url, {}) if kind in ("post", "clinician_post") else self.client.get(url)

    def expect(self, user, kind, url, status):
        self.client.logout()
        if user is not None:
            self.login(user)
        response = self.fetch(kind, url)
        if response.streaming:  # a file download: read it to the end so the test client closes the file
            b"".join(response.streaming_content)
        who = user.username if user else "anonymous"
        assert response.status_code == status, (
            f"{who} {kind} {url}: {response.status_code}, expected {status}"
        )
        return response

    def test_every_view_is_in_the_matrix(self):
        from trichotrack.web import urls

        names = set()
        for pattern in urls.urlpatterns:
            ns = getattr(pattern, "namespace", None)
            if ns == "admin":  # Django's own admin, staff superusers only
                continue
            for sub in getattr(pattern, "url_patterns", [pattern]):
                if getattr(sub, "name", None):
                    names.add(f"{ns}:{sub.name}" if ns else sub.name)
        tested = {reverse_name for reverse_name in self.view_names()}
        # Account pages: any signed-in user; tested in test_mfa, test_settings_and_checks and below.
        accounts = {"home", "login", "logout", "mfa", "portal", "password_change", "password_change_done"}
        accounts |= {"mfa_recovery_codes", "account_security"}  # tested in test_mfa
        accounts.add("portal:join")  # the public invitation link: tested in portal/tests
        accounts.add("photos:card")  # the printable card, no patient data, any signed-in user: portal/tests
        accounts.add("portal:hair_colour")  # a POST of the patient's own: tested in portal/tests
        # Background reports: a job is its requester's alone (a teammate gets 404, a researcher may start a
        # de-identified one): tested in reports/tests/test_jobs.py.
        accounts |= {f"reports:{n}" for n in ("job_start", "job", "job_status", "job_retry", "job_download")}
        untested = names - tested - accounts
        assert not untested, f"views missing from the access matrix: {sorted(untested)}"

    def view_names(self):
        from django.urls import resolve

        for url in [url for _, url in self.views()] + self.portal_views():
            match = resolve(url)
            yield match.view_name

    def test_anonymous_is_sent_to_login(self):
        for kind, url in self.views():
            response = self.expect(None, kind, url, 302)
            assert response["Location"].startswith("/accounts/login/"), url

    def test_owner_clinician_can_use_every_view(self):
        for kind, url in self.views():
            expected = 302 if kind in ("post", "clinician_post") else 200
            self.expect(self.alice, kind, url, expected)

    def test_teammate_can_use_every_view_but_clinician_actions(self):
        flag_url = reverse("patients:flag_acknowledge", args=[self.patient.pk, self.screen.flags.first().pk])
        for kind, url in self.views():
            if url == flag_url or kind in ("clinician", "clinician_post"):
                self.expect(
                    self.bob, kind, url, 403
                )  # acknowledging a contraindication is a clinician's call
            else:
                self.expect(self.bob, kind, url, 302 if kind == "post" else 200)

    def test_other_clinic_gets_404_for_every_object(self):
        for kind, url in self.views():
            if kind in ("list", "new"):
                response = self.expect(self.charlie, kind, url, 200)
                assert b"A-001" not in response.content, f"{url} shows another clinic's patient"
            else:
                self.expect(self.charlie, kind, url, 404)

    def test_researcher_reads_but_never_writes(self):
        for kind, url in self.views():
            expected = 200 if kind in ("list", "read") else 403
            self.expect(self.rita, kind, url, expected)

    def test_researcher_never_sees_names(self):
        self.login(self.rita)
        for kind, url in self.views():
            if kind in ("list", "read"):
                response = self.client.get(url)
                if response.streaming:  # a photo: read it so that the file is closed
                    b"".join(response.streaming_content)
                    continue
                assert self.patient.family_name.encode() not in response.content, url
                assert b"Patricia" not in response.content, url

    def test_patient_cannot_see_clinic_pages(self):
        for kind, url in self.views():
            self.expect(self.pat, kind, url, 403)

    def test_patient_sees_own_portal_only(self):
        self.login(self.pat)
        response = self.client.get(reverse("portal"))
        assert response.status_code == 200
        assert b"Patricia" in response.content
        for user in (self.alice, self.rita):
            self.client.logout()
            self.login(user)
            assert self.client.get(reverse("portal")).status_code == 403
        self.client.logout()
        assert self.client.get(reverse("portal")).status_code == 302

    def test_portal_pages_are_the_patients_only(self):
        for url in self.portal_views():
            self.expect(self.pat, "read", url, 200)
            for user in (self.alice, self.bob, self.rita, self.charlie):
                self.expect(user, "read", url, 403)
            response = self.expect(None, "read", url, 302)
            assert response["Location"].startswith("/accounts/login/")

    def test_another_patient_gets_404_for_every_portal_object(self):
        from trichotrack.web.clinics.models import Role
        from trichotrack.web.test import make_patient, make_user

        other = make_patient(self.clinic, "A-009")
        other.user = make_user("otto", self.clinic, Role.PATIENT)
        other.save()
        for url in self.portal_views():
            expected = 404 if "/photos/" in url else 200
            response = self.expect(other.user, "read", url, expected)
            assert b"A-001" not in response.content

    def test_home_sends_each_role_to_its_start_page(self):
        self.login(self.pat)
        assert self.client.get("/")["Location"] == reverse("portal")
        self.client.logout()
        self.login(self.bob)
        assert self.client.get("/")["Location"] == reverse("dashboard")

    def test_post_actions_did_nothing_for_refused_users(self):
        for user in (self.rita, self.charlie, self.pat):
            self.client.logout()
            self.login(user)
            self.client.post(
                reverse("procedures:confirm_injection", args=[self.procedure.pk]), {"product_id": "x"}
            )
            self.client.post(
                reverse("consent:withdraw", args=[self.patient.pk, self.consent.pk]), {"reason": "x"}
            )
        self.consent.refresh_from_db()
        assert self.consent.withdrawn_at is None
