import datetime as dt
import re

from django.contrib.auth import get_user_model
from django.test import override_settings
from django.urls import reverse
from freezegun import freeze_time

from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.clinics.models import Role
from trichotrack.web.photos.models import Photo, PhotoSession, Source
from trichotrack.web.photos.tests import files
from trichotrack.web.photos.tests.base import PhotoTestCase, give_photo_consent, run_queued_measurements
from trichotrack.web.portal import services
from trichotrack.web.portal.models import Invitation
from trichotrack.web.test import make_patient, make_user

NEW_PASSWORD = "a long enough portal password"


class InvitationTest(PhotoTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.newcomer = make_patient(cls.clinic, "A-002", given_name="Nora")
        give_photo_consent(cls.newcomer, cls.definitions, cls.alice)

    def invite(self, patient=None):
        self.login(self.alice)
        response = self.client.post(
            reverse("portal:invite", args=[(patient or self.newcomer).pk]), follow=True
        )
        text = " ".join(str(m) for m in response.context["messages"])
        link = re.search(r"http://testserver(/portal/join/[^ ]+/)", text).group(1)
        self.client.logout()
        return link

    def join(self, link, username="nora"):
        data = {"username": username, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
        return self.client.post(link, data)

    def sign_in(self, username) -> bool:
        self.client.logout()
        response = self.client.post(reverse("login"), {"username": username, "password": NEW_PASSWORD})
        return response.status_code == 302

    def test_a_patient_joins_with_the_link_and_lands_on_the_upload_page(self):
        link = self.invite()
        assert self.client.get(link).status_code == 200
        response = self.join(link)
        assert response["Location"] == reverse("portal:shed")
        user = get_user_model().objects.get(username="nora")
        assert user.membership.role == Role.PATIENT
        assert user.membership.clinic == self.clinic
        self.newcomer.refresh_from_db()
        assert self.newcomer.user == user
        page = self.client.get(reverse("portal:shed"))
        assert b"Today's shedding photo" in page.content
        assert b"calibration card" in page.content
        assert AuditEvent.objects.filter(action="portal.joined").exists()

    def test_the_link_works_once(self):
        link = self.invite()
        self.join(link)
        self.client.logout()
        response = self.client.get(link)
        assert response.status_code == 410
        assert b"already been used" in response.content

    def test_a_tampered_or_expired_link_is_refused(self):
        link = self.invite()
        assert self.client.get(link[:-3] + "xx/").status_code == 410
        with override_settings(INVITE_DAYS=14), freeze_time(dt.datetime.now() + dt.timedelta(days=15)):
            response = self.client.get(link)
        assert response.status_code == 410
        assert b"expired" in response.content

    def test_revoking_the_invitation_ends_access(self):
        link = self.invite()
        self.join(link)
        assert self.client.get(reverse("portal:shed")).status_code == 200
        invitation = Invitation.objects.get()
        staff = self.client_class()
        from trichotrack.web.test import login_verified

        login_verified(staff, self.alice)
        staff.post(reverse("portal:revoke", args=[self.newcomer.pk, invitation.pk]))
        invitation.refresh_from_db()
        assert invitation.revoked_at is not None
        # The patient's open session no longer works, and signing in is refused.
        response = self.client.get(reverse("portal:shed"))
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        assert not self.sign_in("nora")
        assert AuditEvent.objects.filter(action="portal.revoked").exists()

    def test_a_revoked_unused_link_cannot_be_used(self):
        link = self.invite()
        services.revoke(Invitation.objects.get(), user=self.alice)
        response = self.client.get(link)
        assert response.status_code == 410
        assert b"withdrawn" in response.content

    def test_an_existing_patient_login_is_reactivated_by_a_new_invitation(self):
        link = self.invite(self.patient)
        response = self.client.get(link)
        assert b'value="pat"' in response.content
        self.client.post(link, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
        assert self.sign_in("pat")

    def test_the_name_must_be_free_and_the_password_strong(self):
        link = self.invite()
        response = self.client.post(link, {"username": "alice", "password1": "short", "password2": "short"})
        assert b"This name is taken" in response.content
        assert b"too short" in response.content


class PortalUploadTest(PhotoTestCase):
    def setUp(self):
        self.login(self.pat)

    def send(self, data, protocol="comb_60s"):
        payload = {
            "protocol": protocol,
            "days_since_shampoo": "2",
            "hair_state": ["dry"],
            "files": [files.upload("today.heic", data, "image/heic")],
        }
        with self.captureOnCommitCallbacks(execute=True):
            return self.client.post(reverse("portal:shed"), payload)

    def test_the_patient_uploads_and_sees_the_result_with_its_overlay(self):
        response = self.send(files.heic(files.shed_image().image))
        photo = Photo.objects.get()
        assert response["Location"] == reverse("portal:photo", args=[photo.pk])
        assert photo.session.source == Source.PORTAL
        assert photo.protocol == "comb_60s" and photo.days_since_shampoo == 2
        assert photo.session.hair_state == ["dry"]
        page = self.client.get(response["Location"]).content.decode()
        assert "Waiting for a worker" in page
        run_queued_measurements()
        page = self.client.get(response["Location"]).content.decode()
        count = photo.current_measurement().hair_count
        assert f'<span class="stat">{count}</span> hairs' in page
        # The overlay's address names the measurement: a re-measured photo never shows a cached overlay.
        request_no = photo.current_measurement().request_no
        assert f'{reverse("portal:image", args=[photo.pk, "overlay"])}?m={request_no}"' in page
        assert self.client.get(reverse("portal:status", args=[photo.pk])).json()["hair_count"] == count
        overlay = self.client.get(reverse("portal:image", args=[photo.pk, "overlay"]))
        assert overlay["Content-Type"] == "image/jpeg"
        assert overlay.content.startswith(b"\xff\xd8\xff")
        history = self.client.get(reverse("portal:history")).content.decode()
        assert 'class="count"' in history
        assert "27.9" in history

    def test_a_refused_file_says_why_and_stores_nothing(self):
        response = self.send(files.SVG)
        assert b"not a JPEG, PNG or HEIC photo" in response.content
        assert not Photo.objects.exists()
        assert not PhotoSession.objects.exists()

    def test_without_photo_consent_the_page_says_so(self):
        from trichotrack.web.consent.services import withdraw_consent

        withdraw_consent(self.patient.consents.get(), user=self.alice, reason="no")
        response = self.send(files.jpeg(files.shed_image().image))
        assert b"Ask the clinic to record your consent" in response.content
        assert not Photo.objects.exists()

    def test_a_patient_sees_only_their_own_photos(self):
        other = make_patient(self.clinic, "A-003")
        other_user = make_user("olga", self.clinic, Role.PATIENT)
        other.user = other_user
        other.save()
        give_photo_consent(other, self.definitions, self.alice)
        self.send(files.jpeg(files.shed_image().image))
        mine = Photo.objects.get()
        self.client.logout()
        self.login(other_user)
        for name in ("portal:photo", "portal:status"):
            assert self.client.get(reverse(name, args=[mine.pk])).status_code == 404
        for variant in ("derived", "preview"):
            assert self.client.get(reverse("portal:image", args=[mine.pk, variant])).status_code == 404
        assert b"A-001" not in self.client.get(reverse("portal:history")).content


class CalibrationCardTest(PhotoTestCase):
    def test_the_patient_prints_the_card_for_her_hair_colour(self):
        self.login(self.pat)
        page = self.client.get(reverse("portal:shed")).content.decode()
        # Hair colour not recorded: both cards, the white field first, none suggested.
        white, dark = (page.index(reverse("photos:card", args=["a4", f])) for f in ("white", "dark"))
        assert white < dark and "(for this hair colour)" not in page
        self.patient.hair_colour = "grey"
        self.patient.save()
        page = self.client.get(reverse("portal:shed")).content.decode()
        white, dark = (page.index(reverse("photos:card", args=["a4", f])) for f in ("white", "dark"))
        assert dark < white
        assert "<strong>dark field, for light hair</strong> (for this hair colour)" in page
        response = self.client.get(reverse("photos:card", args=["letter", "dark"]))
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        assert b"612" in response.content and b"792" in response.content  # Letter, in points
        assert "trichotrack-card-letter-dark-field.pdf" in response["Content-Disposition"]

    def test_staff_get_the_cards_too_and_nobody_an_unknown_one(self):
        self.login(self.alice)
        from trichotrack.web.photos.services import new_session

        session = new_session(self.patient, user=self.alice)
        page = self.client.get(reverse("photos:session", args=[session.pk])).content.decode()
        assert reverse("photos:card", args=["letter", "white"]) in page
        assert self.client.get(reverse("photos:card", args=["a4", "white"])).status_code == 200
        assert self.client.get(reverse("photos:card", args=["a5", "white"])).status_code == 404
        assert self.client.get(reverse("photos:card", args=["a4", "grey"])).status_code == 404
        self.client.logout()
        response = self.client.get(reverse("photos:card", args=["a4", "white"]))
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


class PortalHairColourTest(PhotoTestCase):
    def test_the_patient_says_her_hair_colour_once_and_her_photos_are_measured_again(self):
        photo = self.add_photo()
        run_queued_measurements()
        self.login(self.pat)
        page = self.client.get(reverse("portal:shed")).content.decode()
        assert 'name="hair_colour"' in page
        url = reverse("portal:hair_colour")
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(url, {"hair_colour": "grey"}, follow=True)
        said = [str(m) for m in response.context["messages"]]
        assert said == [
            "Saved your hair colour: Grey (dark and white hairs mixed)."
            " Measuring your 1 photo(s) again with it."
        ]
        self.patient.refresh_from_db()
        assert self.patient.hair_colour == "grey" and self.patient.version == 2
        event = AuditEvent.objects.get(action="patient.changed")
        assert event.actor == self.pat and event.data["changed"] == {"hair_colour": ["", "grey"]}
        run_queued_measurements()
        photo.refresh_from_db()
        assert photo.current_measurement().report["hair_colour"] == "grey"
        # Once recorded, the form is gone and a second answer changes nothing: the clinic keeps it.
        assert 'name="hair_colour"' not in self.client.get(reverse("portal:shed")).content.decode()
        response = self.client.post(url, {"hair_colour": "black"}, follow=True)
        assert "Your clinic has recorded your hair colour" in response.content.decode()
        self.patient.refresh_from_db()
        assert self.patient.hair_colour == "grey"

    def test_a_made_up_colour_staff_and_strangers_are_refused(self):
        url = reverse("portal:hair_colour")
        response = self.client.post(url, {"hair_colour": "grey"})
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        self.login(self.alice)
        assert self.client.post(url, {"hair_colour": "grey"}).status_code == 403
        self.client.logout()
        self.login(self.pat)
        assert self.client.get(url).status_code == 405
        response = self.client.post(url, {"hair_colour": "purple"}, follow=True)
        assert "Choose one of the hair colours." in response.content.decode()
        self.patient.refresh_from_db()
        assert self.patient.hair_colour == ""
