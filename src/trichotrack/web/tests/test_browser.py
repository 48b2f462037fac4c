"""Browser tests: Playwright driving Debian's chromium against a live server.

Screenshots of each step are kept in var/test-artifacts/browser/ (TRICHOTRACK_ARTIFACTS to move them).
Skipped, with the reason, where chromium is not installed (``apt-get install chromium``).
"""

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from django.utils import timezone

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("TRICHOTRACK_ARTIFACTS", "var/test-artifacts")) / "browser"
PASSWORD = "correct horse battery staple"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    old = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
            ],
        )
        yield browser
        browser.close()
    if old is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = old


@pytest.fixture
def page(browser, live_server, settings, request):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain http on loopback
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    shots = ARTIFACTS / request.node.name
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    counter = iter(range(1, 100))
    page.shot = lambda name: page.screenshot(path=shots / f"{next(counter):02d}-{name}.png", full_page=True)
    yield page
    context.close()


@pytest.fixture
def clinic(transactional_db):
    from trichotrack.web.clinics.models import Clinic, Role
    from trichotrack.web.consent.services import create_default_definitions
    from trichotrack.web.test import make_user

    clinic = Clinic.objects.create(name="Browser clinic", country="US", region="CA")
    make_user("alice", clinic, Role.CLINICIAN)
    create_default_definitions(clinic, valid_from=dt.date(2015, 1, 1))
    return clinic


def sign_in(page, username="alice"):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_login_with_a_second_factor(page, clinic):
    from django_otp.oath import TOTP

    sign_in(page)
    page.get_by_role("heading", name="Set up your second factor").wait_for()
    page.shot("enrol")
    secret = page.locator("main code").inner_text()
    import base64

    token = TOTP(base64.b32decode(secret + "=" * (-len(secret) % 8))).token()
    page.get_by_label("6-digit code").fill(f"{token:06d}")
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", level=1, name="Today").wait_for()
    page.shot("dashboard")


def test_new_patient_consent_and_procedure_blocked_then_saved(page, clinic, settings):
    settings.REQUIRE_MFA = False
    sign_in(page)
    page.get_by_role("link", name="Patients").click()
    page.get_by_role("link", name="New patient").click()
    page.get_by_label("Code").fill("B-001")
    page.get_by_label("Given name").fill("Casey")
    page.get_by_label("Family name").fill("Browser")
    page.get_by_label("Date of birth").fill("1971-06-02")
    page.get_by_label("Sex").select_option("F")
    page.shot("new-patient")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("heading", name="Casey Browser").wait_for()

    # A procedure without consent is refused, with the reason
    page.get_by_role("link", name="New procedure").click()
    fill_procedure(page)
    page.get_by_role("button", name="Save procedure").click()
    page.get_by_text("The patient has not given treatment consent.").wait_for()
    page.shot("procedure-blocked")
    from trichotrack.web.procedures.models import Procedure

    assert not Procedure.objects.exists()

    # Treatment consent, element by element
    page.get_by_text("← Casey Browser").click()
    page.get_by_role("link", name="treatment", exact=True).click()
    for box in page.locator("fieldset.checklist input[type=checkbox]").all():
        box.check()
    page.get_by_label("Patient's name, typed by the patient").fill("Casey Browser")
    page.shot("consent")
    page.get_by_role("button", name="Record consent").click()
    page.get_by_text("Treatment consent v1.0 recorded.").wait_for()

    # Contraindication screen
    page.get_by_role("link", name="New screen").click()
    page.get_by_label("Planned on").fill(timezone.localdate().isoformat())
    page.get_by_label("Height cm").fill("168")
    page.get_by_label("Weight kg").fill("64")
    page.get_by_role("button", name="Save").click()
    # No labs on file: a relative flag that the clinician acknowledges, by name and time
    page.get_by_text("Screen saved with 1 flag to acknowledge.").wait_for()
    page.get_by_label("Reason to proceed").fill("Labs taken today, results pending; accepted")
    page.get_by_role("button", name="Acknowledge").click()
    page.get_by_text("acknowledged by alice at").wait_for()
    page.shot("flag-acknowledged")

    # Now the procedure saves, with its chain of identity
    page.get_by_role("link", name="New procedure").click()
    fill_procedure(page)
    page.get_by_role("button", name="Save procedure").click()
    page.get_by_role("heading", name="Chain of identity").wait_for()
    page.shot("procedure-saved")
    mix = page.locator("tr", has_text="SVF + PRP mixture").locator("code").first.inner_text()
    page.get_by_label("Scan or type the ID on the syringe label").fill(mix)
    page.get_by_role("button", name="Confirm").click()
    page.get_by_text("You may inject.").wait_for()
    page.shot("injection-confirmed")
    assert Procedure.objects.get().injection_confirmed_at is not None


def fill_procedure(page):
    harvest = (timezone.localtime() - dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Jurisdiction").fill("US, California")
    page.locator("#id_pathway").select_option("ethics_study")
    page.get_by_label("IRB / ethics approval number").fill("IRB-1")
    page.get_by_label("Harvest started").fill(harvest)
    page.get_by_label("SVF isolation").select_option("enzymatic")
    page.get_by_label("Viability (%)").fill("84")
    page.get_by_label("Frontal / hairline").check()
    page.get_by_label("Vertex (crown)").check()


def test_adverse_event_entry_starts_a_reporting_clock(page, clinic, settings):
    from trichotrack.web.test import make_patient

    settings.REQUIRE_MFA = False
    patient = make_patient(clinic, "B-002")
    sign_in(page)
    page.goto(f"/patients/{patient.pk}/adverse-events/new/")
    page.get_by_label("CTCAE term").select_option("skin_infection")
    page.get_by_label("CTCAE grade").select_option("3")
    page.get_by_label("Onset on").fill((timezone.localdate() - dt.timedelta(days=2)).isoformat())
    page.get_by_label("Clinic aware on").fill((timezone.localdate() - dt.timedelta(days=1)).isoformat())
    page.get_by_label("Hospitalisation").check()
    page.get_by_label("Unexpected").check()
    page.shot("adverse-event")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Serious and unexpected: report by").first.wait_for()
    page.get_by_role("link", name="Today").click()
    page.get_by_text("14 days left").wait_for()
    page.shot("dashboard-clock")
