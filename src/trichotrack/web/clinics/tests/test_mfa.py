from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from trichotrack.web.audit.models import AuditEvent
from trichotrack.web.test import BaseTestCase


def code(device):
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


class SecondFactorTest(BaseTestCase):
    def test_staff_without_a_code_are_sent_to_the_second_factor(self):
        self.client.force_login(self.bob)
        response = self.client.get(reverse("patients:list"))
        assert response.status_code == 302
        assert response["Location"] == "/accounts/mfa/?next=%2Fpatients%2F"

    def test_first_sign_in_enrols_an_authenticator(self):
        self.client.force_login(self.bob)
        response = self.client.get(reverse("mfa"))
        assert response.context["enrolling"]
        assert response.context["qr_svg"].startswith("data:image/svg+xml")
        device = TOTPDevice.objects.get(user=self.bob, confirmed=False)
        response = self.client.post(reverse("mfa"), {"token": code(device), "next": "/patients/"})
        assert response["Location"] == "/patients/"
        device.refresh_from_db()
        assert device.confirmed
        assert self.client.get(reverse("patients:list")).status_code == 200
        assert AuditEvent.objects.filter(action="account.mfa_enrolled", actor=self.bob).exists()

    def test_a_wrong_code_is_refused(self):
        TOTPDevice.objects.create(user=self.bob, name="app", confirmed=True)
        self.client.force_login(self.bob)
        response = self.client.post(reverse("mfa"), {"token": "000000"})
        assert response.status_code == 200
        assert "not valid" in response.context["form"].errors["token"][0]
        assert self.client.get(reverse("patients:list")).status_code == 302

    def test_an_enrolled_user_gives_a_code_from_the_same_device(self):
        device = TOTPDevice.objects.create(user=self.alice, name="app", confirmed=True)
        self.client.force_login(self.alice)
        response = self.client.get(reverse("mfa"))
        assert not response.context["enrolling"]
        self.client.post(reverse("mfa"), {"token": code(device)})
        assert self.client.get(reverse("dashboard")).status_code == 200

    def test_next_cannot_leave_the_site(self):
        device = TOTPDevice.objects.create(user=self.alice, name="app", confirmed=True)
        self.client.force_login(self.alice)
        response = self.client.post(reverse("mfa"), {"token": code(device), "next": "https://evil.example/"})
        assert response["Location"] == "/"

    def test_researchers_and_patients_need_no_second_factor(self):
        self.client.force_login(self.rita)
        assert self.client.get(reverse("patients:list")).status_code == 200
        self.client.force_login(self.pat)
        assert self.client.get(reverse("portal")).status_code == 200

    def test_it_can_be_switched_off(self):
        self.client.force_login(self.bob)
        with self.settings(REQUIRE_MFA=False):
            assert self.client.get(reverse("patients:list")).status_code == 200
