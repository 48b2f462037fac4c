"""Browser tests: Playwright driving Debian's chromium against a live server.

Screenshots of each step are kept in var/test-artifacts/browser/ (TRICHOTRACK_ARTIFACTS to move them).
Skipped, with the reason, where chromium is not installed (``apt-get install chromium``).
"""

import datetime as dt
import os
import shutil
from contextlib import contextmanager
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


@contextmanager
def chromium(*extra_args: str):
    """Debian's chromium driven by Playwright, headless, with `extra_args` on its command line."""
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    old = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    *extra_args,
                ],
            )
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if old is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = old


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


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


def sign(page):
    """Draw a signature on the consent form's pad with pointer events (mouse, as a finger would)."""
    pad = page.get_by_role("img", name="Signature box")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 30, box["y"] + 150)
    page.mouse.down()
    for i in range(1, 30):
        page.mouse.move(box["x"] + 30 + i * 15, box["y"] + 100 + (40 if i % 2 else -40), steps=3)
    page.mouse.up()
    page.get_by_text("Signed.", exact=True).wait_for()


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
    page.get_by_role("heading", level=1, name="Recovery codes").wait_for()
    assert page.locator("ol.recovery-codes li").count() == 10
    page.shot("recovery-codes")
    page.get_by_role("link", name="I have kept them — continue").click()
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
    page.get_by_label("Patient's full name, typed by the patient").fill("Casey Browser")
    # In person without drawing: refused, nothing saved
    page.get_by_role("button", name="Record consent").click()
    page.get_by_text("A consent signed in person is not saved without it.").wait_for()
    for box in page.locator("fieldset.checklist input[type=checkbox]").all():
        box.check()
    page.get_by_label("Patient's full name, typed by the patient").fill("Casey Browser")
    sign(page)
    page.shot("consent")
    page.get_by_role("button", name="Record consent").click()
    page.get_by_text("Treatment consent v1.0 recorded.").wait_for()
    from trichotrack.web.consent.models import Consent

    assert Consent.objects.get().signature_sha256

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
    # Today, after the consent just signed: 3 h ago, or midnight when that would be yesterday.
    now = timezone.localtime()
    harvest = max(now - dt.timedelta(hours=3), now.replace(hour=0, minute=0)).strftime("%Y-%m-%dT%H:%M")
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


def test_patient_search_filters_as_you_type_and_flags_are_acknowledged_inline(page, clinic, settings):
    """htmx: the list narrows while typing (no submit, no page load), with no CSP violation on the way."""
    from trichotrack.web.patients import services
    from trichotrack.web.patients.models import ContraindicationScreen
    from trichotrack.web.test import make_patient

    settings.REQUIRE_MFA = False
    for i, name in enumerate(["Avery", "Blake", "Casey", "Devon"]):
        make_patient(clinic, f"S-{i:03d}", given_name=name)
    patient = clinic.patients.get(code="S-001")
    from django.contrib.auth import get_user_model

    screen = ContraindicationScreen(
        patient=patient, planned_on=timezone.localdate(), tobacco=True, height_cm=170, weight_kg=70
    )
    services.save_screen(screen, user=get_user_model().objects.get(username="alice"))
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(page)
    page.goto("/patients/")
    page.wait_for_function("() => window.htmx !== undefined")
    page.evaluate("() => { window.notReloaded = true; }")
    page.get_by_role("searchbox").press_sequentially("blak", delay=40)
    page.locator("#patient-results").get_by_role("link", name="S-001").wait_for()
    page.wait_for_function("() => document.querySelectorAll('#patient-results tbody tr').length === 1")
    assert page.evaluate("() => window.notReloaded") is True  # swapped in place, not a new page
    assert page.url.endswith("/patients/?q=blak")  # the address follows, for the back button and links
    page.shot("search-as-you-type")

    page.locator("#patient-results").get_by_role("link", name="S-001").click()
    page.evaluate("() => { window.notReloaded = true; }")
    flag = page.locator("li[id^=flag-]").first
    flag_id = flag.get_attribute("id")
    flag.get_by_label("Reason to proceed").fill("Counselled on smoking")
    flag.get_by_role("button", name="Acknowledge").click()
    page.locator(f"#{flag_id}").get_by_text("acknowledged by alice at").wait_for()
    assert page.locator("li[id^=flag-] form").count() >= 1  # the other flags are still open, untouched
    assert page.evaluate("() => window.notReloaded") is True
    page.shot("flag-acknowledged-inline")
    assert not violations, violations
