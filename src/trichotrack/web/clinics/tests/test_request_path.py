"""The hand-written queries of every signed-in request (session, user with membership and clinic) and of the
dashboard's counts give what the ORM gives (clinics.sessions, clinics.backends, clinics.views)."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from trichotrack.web.clinics.backends import ModelBackend, load_user
from trichotrack.web.clinics.models import Membership
from trichotrack.web.clinics.sessions import SessionStore
from trichotrack.web.clinics.views import patient_counts, visit_counts
from trichotrack.web.followups.models import Visit, VisitStatus
from trichotrack.web.patients.models import Patient
from trichotrack.web.test import BaseTestCase, make_patient


class SessionStoreTest(BaseTestCase):
    def test_it_loads_a_saved_session(self):
        store = SessionStore()
        store["answer"] = 42
        store.save()
        with self.assertNumQueries(1):
            loaded = SessionStore(store.session_key).load()
        assert loaded == {"answer": 42}

    def test_an_expired_session_is_empty_and_its_key_forgotten(self):
        store = SessionStore()
        store["answer"] = 42
        store.save()
        Session.objects.filter(pk=store.session_key).update(
            expire_date=timezone.now() - dt.timedelta(seconds=1)
        )
        again = SessionStore(store.session_key)
        assert again.load() == {}
        assert again.session_key is None

    def test_an_unknown_key_is_empty(self):
        store = SessionStore("x" * 32)
        assert store.load() == {}
        assert store.session_key is None


class UserBackendTest(BaseTestCase):
    def test_the_user_comes_with_membership_and_clinic_in_one_query(self):
        with self.assertNumQueries(1):
            user = load_user(self.bob.pk)
            assert user.membership.role == "nurse"
            assert user.membership.clinic.name == "Alice's clinic"
            assert user.membership.user is user

    def test_every_field_is_what_the_orm_loads(self):
        User = get_user_model()
        User.objects.filter(pk=self.bob.pk).update(last_login=timezone.now())
        user = load_user(self.bob.pk)
        orm = User.objects.select_related("membership__clinic").get(pk=self.bob.pk)
        for model, ours, theirs in [
            (User, user, orm),
            (Membership, user.membership, orm.membership),
            (type(orm.membership.clinic), user.membership.clinic, orm.membership.clinic),
        ]:
            for field in model._meta.concrete_fields:
                assert getattr(ours, field.attname) == getattr(theirs, field.attname), field.name
        assert timezone.is_aware(user.last_login) and timezone.is_aware(user.membership.clinic.created_at)
        assert user.is_active is True and user.is_superuser is False  # booleans, not 0/1

    def test_a_user_without_membership_has_none_without_a_query(self):
        User = get_user_model()
        loner = User.objects.create_user("loner", password="a long password 123")
        user = load_user(loner.pk)
        with self.assertNumQueries(0):
            assert getattr(user, "membership", None) is None

    def test_unknown_and_inactive_users_are_not_signed_in(self):
        assert ModelBackend().get_user(10**9) is None
        get_user_model().objects.filter(pk=self.bob.pk).update(is_active=False)
        assert ModelBackend().get_user(self.bob.pk) is None

    def test_a_signed_in_request_reads_session_and_user_in_two_queries(self):
        self.login(self.rita)  # staff add a third: their second-factor device (django-otp)
        self.client.get(reverse("dashboard"))  # warm: the session refresh
        with self.assertNumQueries(2):
            response = self.client.get("/healthz")
        assert response.status_code == 200
        assert response.wsgi_request.membership.role == "researcher"

    def test_staff_get_their_second_factor_device_in_one_more_query(self):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        self.login(self.bob)
        self.client.get(reverse("dashboard"))
        with self.assertNumQueries(3):
            response = self.client.get("/healthz")
        device = response.wsgi_request.user.otp_device
        assert device == TOTPDevice.objects.get(user=self.bob) and device.confirmed is True
        assert response.wsgi_request.user.is_verified()

    def test_a_device_of_another_user_or_unconfirmed_does_not_verify(self):
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        self.login(self.bob)
        alices = TOTPDevice.objects.create(user=self.alice, name="alice", confirmed=True)
        for persistent_id in [alices.persistent_id, "otp_totp.totpdevice/999999", "no.such/1", "garbage"]:
            session = self.client.session
            session[DEVICE_ID_SESSION_KEY] = persistent_id
            session.save()
            response = self.client.get(reverse("dashboard"))
            assert response.status_code == 302 and reverse("mfa") in response["Location"], persistent_id

    def test_a_password_change_still_signs_out_other_sessions(self):
        self.login(self.bob)
        assert self.client.get(reverse("dashboard")).status_code == 200
        self.bob.set_password("another long password 456")
        self.bob.save()
        response = self.client.get(reverse("dashboard"))
        assert response.status_code == 302 and reverse("login") in response["Location"]

    def test_a_session_of_the_former_backend_still_gets_its_membership(self):
        # Signed in before this backend (or through another one): the middleware asks the ORM.
        self.client.force_login(self.bob, backend="django.contrib.auth.backends.ModelBackend")
        with self.settings(
            AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.ModelBackend"], REQUIRE_MFA=False
        ):
            response = self.client.get(reverse("patients:list"))
        assert response.status_code == 200
        assert response.wsgi_request.membership.clinic == self.clinic


class DashboardCountsTest(BaseTestCase):
    def test_counts_are_the_orms(self):
        today = timezone.localdate()
        for i, (start, end, status) in enumerate(
            [
                (-1, 1, VisitStatus.SCHEDULED),  # due
                (0, 0, VisitStatus.SCHEDULED),  # due (last day)
                (-9, -1, VisitStatus.SCHEDULED),  # overdue
                (-9, -1, VisitStatus.DONE),  # done: neither
                (1, 5, VisitStatus.SCHEDULED),  # not yet open
            ]
        ):
            patient = make_patient(self.clinic, f"D-{i}")
            self.give_treatment_consent(patient)
            self.clear_screen(patient)
            procedure = self.make_procedure(patient)
            procedure.visits.filter(kind="2w").update(
                window_start=today + dt.timedelta(days=start),
                window_end=today + dt.timedelta(days=end),
                status=status,
            )
        make_patient(self.other_clinic, "O-1")  # another clinic's patient is not counted here
        orm_visits = Visit.objects.filter(
            patient__clinic=self.clinic, status=VisitStatus.SCHEDULED, window_start__lte=today
        ).aggregate(
            n_due=Count("pk", filter=Q(window_end__gte=today)),
            n_overdue=Count("pk", filter=Q(window_end__lt=today)),
        )
        orm_patients = Patient.objects.filter(clinic=self.clinic).aggregate(
            n_patients=Count("pk", distinct=True),
            n_treated=Count("pk", distinct=True, filter=Q(procedures__isnull=False)),
            n_procedures=Count("procedures"),
        )
        assert visit_counts(self.clinic, today) == orm_visits
        assert patient_counts(self.clinic) == orm_patients
        assert orm_visits["n_due"] >= 2 and orm_visits["n_overdue"] >= 1
        assert orm_patients["n_treated"] == 5 and orm_patients["n_patients"] == 6  # and A-001
