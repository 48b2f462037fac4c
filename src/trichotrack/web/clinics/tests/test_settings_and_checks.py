import datetime as dt

import dj_database_url
import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.test import override_settings

from trichotrack.web import settings as project_settings
from trichotrack.web.test import PASSWORD, BaseTestCase


def check_ids():
    return {m.id for m in run_checks()}


@override_settings(DEBUG=False, SECRET_KEY=project_settings.DEV_SECRET_KEY)
def test_it_refuses_the_development_key_in_production():
    assert "trichotrack.E001" in check_ids()


@override_settings(DEBUG=False, SECRET_KEY="x" * 60)
def test_a_real_key_passes_the_check():
    assert "trichotrack.E001" not in check_ids()


@override_settings(DEBUG=True, SECRET_KEY=project_settings.DEV_SECRET_KEY)
def test_the_development_key_is_fine_with_debug():
    assert "trichotrack.E001" not in check_ids()


@override_settings(DEBUG=False, SECRET_KEY="x" * 60, DEMO_PASSWORD="short")
def test_it_warns_about_a_short_demo_password():
    assert "trichotrack.W002" in check_ids()


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("true", True), ("Yes", True), ("0", False), ("", False)]
)
def test_envbool(monkeypatch, raw, expected):
    monkeypatch.setenv("TT_FLAG", raw)
    assert project_settings.envbool("TT_FLAG") is expected


def test_envint_default_and_value(monkeypatch):
    assert project_settings.envint("TT_MISSING", "30") == 30
    monkeypatch.setenv("TT_NUM", "45")
    assert project_settings.envint("TT_NUM", "30") == 45


def test_database_url_gives_postgresql():
    config = dj_database_url.parse("postgres://postgres@127.0.0.1:5432/trichotrack")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["NAME"] == "trichotrack"


def test_tasks_use_the_database_backend():
    assert settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"


def test_idle_sessions_expire():
    assert settings.SESSION_SAVE_EVERY_REQUEST
    assert settings.SESSION_COOKIE_AGE <= 60 * 60


class SecurityHeadersTest(BaseTestCase):
    def test_pages_send_a_content_security_policy(self):
        response = self.client.get("/accounts/login/")
        assert "default-src 'self'" in response["Content-Security-Policy"]
        assert response["X-Frame-Options"] == "DENY"

    def test_login_page_works_and_signs_in(self):
        response = self.client.post(
            "/accounts/login/", {"username": "alice", "password": "correct horse battery staple"}
        )
        assert response.status_code == 302
        assert response["Location"] == "/"
        assert self.client.get("/")["Location"] == "/dashboard/"

    def test_a_patient_signing_in_lands_on_the_portal(self):
        response = self.client.post(
            "/accounts/login/", {"username": "pat", "password": PASSWORD}, follow=True
        )
        assert response.status_code == 200
        assert response.redirect_chain[-1][0] == "/portal/"

    def test_static_files_are_served(self):
        from django.contrib.staticfiles import finders

        assert finders.find("trichotrack/site.css")

    def test_healthz(self):
        assert self.client.get("/healthz").content == b"ok"


class DashboardTest(BaseTestCase):
    def test_it_lists_visits_due_today_and_overdue(self):
        from freezegun import freeze_time

        procedure = self.make_procedure()
        harvest = procedure.harvest_at.date()
        with freeze_time(harvest + dt.timedelta(days=14)):
            self.login(self.alice)
            response = self.client.get("/dashboard/")
        assert list(response.context["due"]) == list(procedure.visits.filter(kind="2w"))
        assert not response.context["overdue"]
        with freeze_time(harvest + dt.timedelta(days=30)):
            self.login(self.alice)
            response = self.client.get("/dashboard/")
        assert [v.kind for v in response.context["overdue"]] == ["2w"]
        assert b"overdue" in response.content

    def test_it_shows_pending_contraindication_flags(self):
        from trichotrack.web.patients import services
        from trichotrack.web.patients.models import ContraindicationScreen

        screen = ContraindicationScreen(
            patient=self.patient, planned_on=dt.date.today(), height_cm=160, weight_kg=60, tobacco=True
        )
        services.save_screen(screen, user=self.bob)
        self.login(self.alice)
        response = self.client.get("/dashboard/")
        assert [f.code for f in response.context["pending_flags"]] == ["tobacco"]

    def test_it_counts_only_its_own_clinic(self):
        self.make_procedure()
        self.login(self.charlie)
        response = self.client.get("/dashboard/")
        assert response.context["n_patients"] == 1
        assert response.context["n_procedures"] == 0


class LoginLockoutTest(BaseTestCase):
    def attempt(self, password):
        return self.client.post("/accounts/login/", {"username": "alice", "password": password})

    def test_it_locks_out_after_five_failures_even_with_the_right_password(self):
        for _ in range(4):
            assert self.attempt("wrong").status_code == 200
        assert self.attempt("wrong").status_code == 429
        response = self.attempt("correct horse battery staple")
        assert response.status_code == 429
        assert b"Too many failed sign-in attempts" in response.content

    def test_a_success_resets_the_count(self):
        for _ in range(4):
            self.attempt("wrong")
        assert self.attempt("correct horse battery staple").status_code == 302
        self.client.logout()
        for _ in range(4):
            assert self.attempt("wrong").status_code == 200


class PasswordChangeTest(BaseTestCase):
    def test_it_enforces_the_password_validators(self):
        self.login(self.bob)
        old = "correct horse battery staple"
        data = {"old_password": old, "new_password1": "12345678", "new_password2": "12345678"}
        response = self.client.post("/accounts/password/", data)
        errors = " ".join(response.context["form"].errors["new_password2"])
        assert "too short" in errors and "too common" in errors and "entirely numeric" in errors
        data = {
            "old_password": old,
            "new_password1": "a new long passphrase",
            "new_password2": "a new long passphrase",
        }
        assert self.client.post("/accounts/password/", data)["Location"] == "/accounts/password/done/"


class IdleSessionRefreshTest(BaseTestCase):
    """The idle expiry moves forward as the user works, with at most one session write a minute."""

    def expire_date(self):
        from django.contrib.sessions.models import Session

        return Session.objects.get(session_key=self.client.session.session_key).expire_date

    def test_an_unchanged_session_is_saved_at_most_once_per_refresh_interval(self):
        from unittest import mock

        self.login(self.alice)
        start = 1_800_000_000
        with mock.patch("trichotrack.web.clinics.middleware.time.time", return_value=start):
            self.client.get("/patients/")
        first = self.expire_date()
        with mock.patch("trichotrack.web.clinics.middleware.time.time", return_value=start + 30):
            response = self.client.get("/patients/")
        assert response.status_code == 200
        assert settings.SESSION_COOKIE_NAME not in response.cookies
        assert self.expire_date() == first  # not written again within the interval
        with mock.patch("trichotrack.web.clinics.middleware.time.time", return_value=start + 61):
            self.client.get("/patients/")
        assert self.expire_date() > first  # pushed forward after it

    def test_the_patient_page_is_audited_on_every_view_in_a_fixed_number_of_queries(self):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from trichotrack.web.audit.models import AuditEvent

        self.login(self.alice)
        self.client.get(f"/patients/{self.patient.pk}/")
        before = AuditEvent.objects.filter(patient=self.patient, action="patient.viewed").count()
        with CaptureQueriesContext(connection) as queries:
            self.client.get(f"/patients/{self.patient.pk}/")
        self.client.get(f"/patients/{self.patient.pk}/")
        assert AuditEvent.objects.filter(patient=self.patient, action="patient.viewed").count() == before + 2
        assert len(queries) <= 16, [q["sql"][:80] for q in queries]
