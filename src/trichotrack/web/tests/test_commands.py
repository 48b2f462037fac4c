"""`trichotrack serve` and `trichotrack demo-data` (the CLI calls these functions)."""

import datetime as dt
from unittest import mock

import pytest

from trichotrack.web import commands, demo
from trichotrack.web.clinics.models import Clinic
from trichotrack.web.patients.models import Patient


@pytest.fixture
def data_dir(monkeypatch, tmp_path, settings):
    # Django is already set up in tests, so the key that _prepare() puts in the environment comes too late.
    settings.SECRET_KEY = "k" * 60
    path = tmp_path / "data"
    monkeypatch.setenv("TRICHOTRACK_DATA_DIR", str(path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("TRICHOTRACK_SECURE_COOKIES", raising=False)
    # One web server process (the default is one per CPU): nothing forks under the mocks.
    monkeypatch.setenv("TRICHOTRACK_WEB_PROCESSES", "1")
    return path


@pytest.mark.django_db
def test_serve_migrates_loads_demo_runs_worker_and_stops_it(data_dir, capsys):
    worker = mock.Mock()
    with (
        mock.patch("subprocess.Popen", return_value=worker) as popen,
        mock.patch("waitress.serve", side_effect=KeyboardInterrupt) as waitress_serve,
        mock.patch("signal.signal"),
    ):
        assert commands.serve(port=8123) == 0
    assert (data_dir / "media").is_dir()
    assert (data_dir / "secret_key").stat().st_mode & 0o777 == 0o600
    assert popen.call_args.args[0][1:4] == ["-m", "django", "photo_worker"]
    assert waitress_serve.call_args.kwargs["port"] == 8123
    worker.terminate.assert_called_once()
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8123/" in out
    assert "demo (clinician)" in out
    assert "authenticator app" in out
    assert Clinic.objects.filter(name=demo.CLINIC_NAME).exists()


@pytest.mark.django_db
def test_serve_does_not_load_demo_into_a_database_with_data(data_dir):
    Clinic.objects.create(name="Real clinic")
    with mock.patch("subprocess.Popen"), mock.patch("waitress.serve"), mock.patch("signal.signal"):
        commands.serve(port=8124)
    assert not Clinic.objects.filter(name=demo.CLINIC_NAME).exists()


def test_serve_rejects_a_bad_port():
    with pytest.raises(ValueError, match="port"):
        commands.serve(port=70000)


@pytest.mark.django_db
def test_demo_data_loads_once(data_dir, capsys, settings):
    settings.DEMO_PASSWORD = "a-long-demo-password"
    assert commands.demo_data() == 0
    assert "Demo data loaded." in capsys.readouterr().out
    assert commands.demo_data() == 0
    out = capsys.readouterr().out
    assert "already loaded" in out
    assert "TRICHOTRACK_DEMO_PASSWORD" in out
    assert Clinic.objects.filter(name=demo.CLINIC_NAME).count() == 1


@pytest.mark.django_db
def test_the_demo_login_uses_the_demo_password(client, settings):
    settings.DEMO_PASSWORD = "a-long-demo-password"
    demo.load()
    response = client.post("/accounts/login/", {"username": "demo", "password": "a-long-demo-password"})
    assert response["Location"] == "/"
    response = client.get("/patients/")
    assert response["Location"].startswith("/accounts/mfa/")  # staff give a one-time code next
    settings.REQUIRE_MFA = False
    response = client.get("/patients/")
    assert response.status_code == 200
    assert len(response.context["patients"]) == 21


@pytest.mark.django_db
def test_the_documented_case_is_reconstructed():
    demo.load()
    case = Patient.objects.get(code="TT-0001")
    assert case.occupation == "Nurse practitioner"
    assert case.suspected_trigger.startswith("Unknown")
    assert "January 2016" in case.history_notes
    assert "receding" in case.hair_state
    assert "prophylactic" in case.treatment_plan
    (procedure,) = case.procedures.all()
    assert procedure.harvest_at.date() == dt.date(2016, 2, 1)
    assert procedure.donor_site == "Abdomen"
    assert procedure.svf_method == "enzymatic"
    assert procedure.depth == "subcutaneous"
    assert len(procedure.regions) == 8  # the whole scalp
    assert procedure.injection_confirmed_at is not None
    two_months = procedure.visits.get(kind="2m")
    assert two_months.status == "done"
    assert two_months.done_on == dt.date(2016, 4, 1)


@pytest.mark.django_db
def test_the_demo_has_treated_and_untreated_patients_and_something_due_today():
    from trichotrack.web.followups.services import due_visits
    from trichotrack.web.safety.services import open_clocks

    clinic = demo.load()
    treated = Patient.objects.filter(clinic=clinic, procedures__isnull=False).distinct().count()
    assert Patient.objects.filter(clinic=clinic).count() == 21
    assert 10 <= treated <= 16
    assert due_visits(clinic, dt.date.today()).exists()
    assert len(open_clocks(clinic)) == 1
