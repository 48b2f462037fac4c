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
        assert response["Location"] == reverse("mfa_recovery_codes")  # shown once, then on to /patients/
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


class RecoveryCodesTest(BaseTestCase):
    def enrol(self, user):
        """First sign-in: confirm the authenticator; returns the recovery codes page."""
        self.client.force_login(user)
        self.client.get(reverse("mfa"))
        device = TOTPDevice.objects.get(user=user, confirmed=False)
        self.client.post(reverse("mfa"), {"token": code(device), "next": "/patients/"})
        return self.client.get(reverse("mfa_recovery_codes"))

    def sign_in_again(self, user):
        self.client.logout()
        self.client.force_login(user)

    def test_ten_codes_are_shown_once_at_enrolment(self):
        response = self.enrol(self.bob)
        codes = response.context["codes"]
        assert len(codes) == 10 == len(set(codes))
        assert all(len(c) == 9 and c[4] == "-" for c in codes)
        for c in codes:
            assert c.encode() in response.content
        assert response["Cache-Control"] == "no-store"
        assert b'href="/patients/"' in response.content
        again = self.client.get(reverse("mfa_recovery_codes"))
        assert again.context["codes"] is None
        assert codes[0].encode() not in again.content
        assert AuditEvent.objects.filter(action="account.recovery_codes_made", actor=self.bob).exists()

    def test_a_recovery_code_signs_in_once(self):
        codes = self.enrol(self.bob).context["codes"]
        self.sign_in_again(self.bob)
        response = self.client.post(reverse("mfa"), {"token": codes[3].upper().replace("-", " ")})
        assert response.status_code == 302
        assert self.client.get(reverse("patients:list")).status_code == 200
        event = AuditEvent.objects.get(action="account.recovery_code_used", actor=self.bob)
        assert event.data == {"left": 9}
        self.sign_in_again(self.bob)
        response = self.client.post(reverse("mfa"), {"token": codes[3]})
        assert response.status_code == 200
        assert "not valid" in response.context["form"].errors["token"][0]
        assert self.client.get(reverse("patients:list")).status_code == 302

    def test_a_guessed_code_is_refused_and_throttled(self):
        from django_otp.plugins.otp_static.models import StaticDevice

        self.enrol(self.bob)
        self.sign_in_again(self.bob)
        response = self.client.post(reverse("mfa"), {"token": "aaaa-aaaa"})
        assert "not valid" in response.context["form"].errors["token"][0]
        assert StaticDevice.objects.get(user=self.bob).throttling_failure_count == 1

    def test_a_recovery_code_cannot_replace_the_first_enrolment(self):
        from trichotrack.web.clinics.mfa import new_recovery_codes

        codes = new_recovery_codes(self.bob)  # e.g. left from an earlier, reset authenticator
        self.client.force_login(self.bob)
        response = self.client.post(reverse("mfa"), {"token": codes[0]})
        assert response.status_code == 200
        assert self.client.get(reverse("patients:list")).status_code == 302

    def test_the_account_page_counts_the_codes_left_and_makes_a_new_set(self):
        codes = self.enrol(self.bob).context["codes"]
        self.sign_in_again(self.bob)
        self.client.post(reverse("mfa"), {"token": codes[0]})
        response = self.client.get(reverse("account_security"))
        assert response.context["n_codes"] == 9
        assert b"<strong>9</strong> of 10" in response.content
        response = self.client.post(reverse("account_security"))
        assert response["Location"] == reverse("mfa_recovery_codes")
        new = self.client.get(response["Location"]).context["codes"]
        assert len(new) == 10 and not set(new) & set(codes)
        assert self.client.get(reverse("account_security")).context["n_codes"] == 10
        self.sign_in_again(self.bob)
        response = self.client.post(reverse("mfa"), {"token": codes[1]})  # the old set no longer works
        assert response.status_code == 200
        from django_otp.plugins.otp_static.models import StaticDevice

        StaticDevice.objects.update(throttling_failure_count=0)  # the wrong code above delays the next try
        assert self.client.post(reverse("mfa"), {"token": new[1]}).status_code == 302

    def test_a_new_set_needs_the_second_factor_first(self):
        self.enrol(self.bob)
        self.sign_in_again(self.bob)
        response = self.client.post(reverse("account_security"))
        assert response["Location"] == "/accounts/mfa/?next=%2Faccounts%2Fsecurity%2F"
        assert self.client.get(reverse("mfa_recovery_codes")).context["codes"] is None

    def test_without_an_authenticator_there_are_no_codes(self):
        self.client.force_login(self.rita)
        response = self.client.get(reverse("account_security"))
        assert response.status_code == 200
        assert not response.context["has_totp"]
        response = self.client.post(reverse("account_security"), follow=True)
        assert b"Set up an authenticator app first" in response.content

    def test_account_pages_need_a_sign_in(self):
        for name in ("account_security", "mfa_recovery_codes"):
            response = self.client.get(reverse(name))
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/")
